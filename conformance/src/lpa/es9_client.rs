//! An ES9+ client (LPA → SM-DP+), HTTPS JSON binding (SGP.22 v2.5 §6.1 HTTP transport, §6.5 JSON binding,
//! §6.5.2 ES9+ functions; function semantics §5.6.1–§5.6.5).
//!
//! - URL: `POST https://{smdpAddress}/gsma/rsp2/es9plus/{function}`, the address exactly as in the activation
//!   code (port included), which is also the `smdpAddress` sent in InitiateAuthentication.
//! - Headers (§6.1.1): `Content-Type: application/json;charset=UTF-8`, `X-Admin-Protocol: gsma/rsp/v<x.y.z>`
//!   (v2.5.0 unless told otherwise; lpac sends v2.2.2), `User-Agent: gsma-rsp-lpad`.
//! - Body: binary fields are base64 of DER, `transactionId` is hex text (§6.5.1.2). The JSON `header`
//!   (§6.5.1.3: functionRequesterIdentifier, functionCallIdentifier) is sent unless
//!   [`Es9Options::json_header`] is off, as lpac does.
//! - Responses (§6.5.1.4): `header.functionExecutionStatus.status` `Executed-Success` (or `Executed-WithWarning`)
//!   → the typed response; `Failed` → [`Es9Error::Failed`] with statusCodeData (subjectCode, reasonCode,
//!   message). HandleNotification answers 204 with no body (§6.5.2.4). Any non-2xx HTTP status is a transport
//!   failure ([`Es9Error::HttpStatus`]).
//!
//! TLS (§2.6.6): rustls with the ring provider chosen explicitly, and only the trust anchors given (the CI
//! certificates an eUICC trusts, or a test CI): no system roots.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use serde::{Deserialize, Serialize};

/// `X-Admin-Protocol` for SGP.22 v2.5.0.
pub const ADMIN_PROTOCOL_V2_5: &str = "gsma/rsp/v2.5.0";
/// `X-Admin-Protocol` lpac sends.
pub const ADMIN_PROTOCOL_V2_2_2: &str = "gsma/rsp/v2.2.2";
/// The User-Agent real LPAs send.
pub const USER_AGENT: &str = "gsma-rsp-lpad";

/// The five ES9+ functions (SGP.22 v2.5 §5.6), named as in their URL path (§6.5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Es9Function {
    InitiateAuthentication,
    AuthenticateClient,
    GetBoundProfilePackage,
    HandleNotification,
    CancelSession,
}

impl Es9Function {
    /// The last path segment of the function's URL.
    pub fn path_name(self) -> &'static str {
        match self {
            Es9Function::InitiateAuthentication => "initiateAuthentication",
            Es9Function::AuthenticateClient => "authenticateClient",
            Es9Function::GetBoundProfilePackage => "getBoundProfilePackage",
            Es9Function::HandleNotification => "handleNotification",
            Es9Function::CancelSession => "cancelSession",
        }
    }
}

impl fmt::Display for Es9Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ES9+.{}", self.path_name())
    }
}

/// `statusCodeData` of a Failed function execution (SGP.22 v2.5 §6.5.1.4; codes in §5.6 per function).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusCodeData {
    pub subject_code: String,
    pub reason_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl fmt::Display for StatusCodeData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.subject_code, self.reason_code)?;
        if let Some(m) = &self.message {
            write!(f, " ({m})")?;
        }
        Ok(())
    }
}

/// Why an ES9+ call did not return its response.
#[derive(Debug, thiserror::Error)]
pub enum Es9Error {
    /// The trust anchors or TLS settings could not be built.
    #[error("TLS configuration: {0}")]
    TlsConfig(String),
    /// Connecting, TLS, sending or reading failed.
    #[error("{function}: transport failure: {detail}")]
    Transport { function: Es9Function, detail: String },
    /// The server answered with a non-2xx HTTP status (a transport failure for an LPA, §6.1).
    #[error("{function}: HTTP {status}: {body}")]
    HttpStatus { function: Es9Function, status: u16, body: String },
    /// The server answered `functionExecutionStatus.status = Failed`.
    #[error("{function}: Failed {status_code_data}")]
    Failed { function: Es9Function, status_code_data: Box<StatusCodeData> },
    /// The response is not the JSON the function returns.
    #[error("{function}: malformed response: {detail}")]
    Malformed { function: Es9Function, detail: String },
}

impl Es9Error {
    /// The function that failed, if the error is about a call.
    pub fn function(&self) -> Option<Es9Function> {
        match self {
            Es9Error::TlsConfig(_) => None,
            Es9Error::Transport { function, .. }
            | Es9Error::HttpStatus { function, .. }
            | Es9Error::Failed { function, .. }
            | Es9Error::Malformed { function, .. } => Some(*function),
        }
    }

    /// A short status code for one-line reports: `subject/reason` for Failed, `HTTP nnn`, or `transport`.
    pub fn status_code(&self) -> String {
        match self {
            Es9Error::Failed { status_code_data, .. } => {
                format!("{}/{}", status_code_data.subject_code, status_code_data.reason_code)
            }
            Es9Error::HttpStatus { status, .. } => format!("HTTP {status}"),
            Es9Error::Malformed { .. } => "malformed-response".into(),
            Es9Error::Transport { .. } | Es9Error::TlsConfig(_) => "transport".into(),
        }
    }
}

/// How the client talks: the toggles that let a test mimic a given LPA.
#[derive(Debug, Clone)]
pub struct Es9Options {
    /// `X-Admin-Protocol` value (default [`ADMIN_PROTOCOL_V2_5`]).
    pub admin_protocol: String,
    /// Send the JSON `header` object in requests (lpac does not).
    pub json_header: bool,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Dial this socket address for this host name instead of resolving it (as `curl --resolve`): tests reach a
    /// server whose TLS certificate names a host that does not resolve (SGP.26 `testsmdpplus1.example.com`).
    pub resolve: Option<(String, std::net::SocketAddr)>,
}

impl Default for Es9Options {
    fn default() -> Self {
        Es9Options {
            admin_protocol: ADMIN_PROTOCOL_V2_5.into(),
            json_header: true,
            timeout: Duration::from_secs(60),
            resolve: None,
        }
    }
}

impl Es9Options {
    /// What lpac sends: `X-Admin-Protocol: gsma/rsp/v2.2.2` and no JSON `header`.
    pub fn lpac() -> Self {
        Es9Options { admin_protocol: ADMIN_PROTOCOL_V2_2_2.into(), json_header: false, ..Self::default() }
    }
}

/// The TLS trust anchors: certificates whose chains the client accepts for CERT.DP.TLS.
#[derive(Debug, Clone, Default)]
pub struct TrustAnchors {
    certs: Vec<CertificateDer<'static>>,
}

impl TrustAnchors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every certificate of a PEM file, or the certificate of a DER file.
    pub fn add_file(&mut self, path: &Path) -> Result<(), Es9Error> {
        let bytes = std::fs::read(path)
            .map_err(|e| Es9Error::TlsConfig(format!("cannot read trust anchors {}: {e}", path.display())))?;
        let pem: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&bytes).collect();
        match pem {
            Ok(certs) if !certs.is_empty() => self.certs.extend(certs),
            _ if bytes.first() == Some(&0x30) => self.certs.push(CertificateDer::from(bytes)),
            _ => {
                return Err(Es9Error::TlsConfig(format!("{}: no PEM or DER certificate", path.display())));
            }
        }
        Ok(())
    }

    /// Adds one DER certificate.
    pub fn add_der(&mut self, der: &[u8]) {
        self.certs.push(CertificateDer::from(der.to_vec()));
    }

    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    pub(crate) fn root_store(&self) -> Result<RootCertStore, Es9Error> {
        let mut roots = RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(self.certs.iter().cloned());
        if added == 0 {
            return Err(Es9Error::TlsConfig(format!("no usable trust anchor ({ignored} rejected)")));
        }
        Ok(roots)
    }
}

/// The rustls client configuration: ring provider (explicit), TLS 1.2/1.3, only `anchors`.
pub fn tls_client_config(anchors: &TrustAnchors) -> Result<ClientConfig, Es9Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Es9Error::TlsConfig(e.to_string()))?
        .with_root_certificates(anchors.root_store()?)
        .with_no_client_auth())
}

// ---- Request and response bodies (§6.5.2). Binary fields are base64 of DER, transactionId hex. ----

/// The request `header` (§6.5.1.3).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestHeader {
    function_requester_identifier: String,
    function_call_identifier: String,
}

/// ES9+.InitiateAuthentication request (§6.5.2.6 / §5.6.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitiateAuthenticationRequest {
    /// euiccChallenge, 16 bytes.
    #[serde(with = "b64")]
    pub euicc_challenge: Vec<u8>,
    /// EUICCInfo1 DER (`BF20…`).
    #[serde(with = "b64")]
    pub euicc_info1: Vec<u8>,
    pub smdp_address: String,
}

/// ES9+.InitiateAuthentication response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitiateAuthenticationResponse {
    #[serde(with = "hex_text")]
    pub transaction_id: Vec<u8>,
    /// ServerSigned1 DER.
    #[serde(with = "b64")]
    pub server_signed1: Vec<u8>,
    /// serverSignature1 as its `5F37` data object.
    #[serde(with = "b64")]
    pub server_signature1: Vec<u8>,
    /// euiccCiPKIdToBeUsed as its `04` OCTET STRING.
    #[serde(rename = "euiccCiPKIdToBeUsed", with = "b64")]
    pub euicc_ci_pkid_to_be_used: Vec<u8>,
    /// CERT.DPauth.ECDSA DER.
    #[serde(with = "b64")]
    pub server_certificate: Vec<u8>,
}

/// ES9+.AuthenticateClient request (§6.5.2.7 / §5.6.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticateClientRequest {
    #[serde(with = "hex_text")]
    pub transaction_id: Vec<u8>,
    /// AuthenticateServerResponse DER (`BF38…`).
    #[serde(with = "b64")]
    pub authenticate_server_response: Vec<u8>,
}

/// ES9+.AuthenticateClient response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticateClientResponse {
    #[serde(with = "hex_text")]
    pub transaction_id: Vec<u8>,
    /// StoreMetadataRequest DER (`BF25…`), for the end user's consent.
    #[serde(with = "b64")]
    pub profile_metadata: Vec<u8>,
    /// SmdpSigned2 DER.
    #[serde(with = "b64")]
    pub smdp_signed2: Vec<u8>,
    /// smdpSignature2 as its `5F37` data object.
    #[serde(with = "b64")]
    pub smdp_signature2: Vec<u8>,
    /// CERT.DPpb.ECDSA DER.
    #[serde(with = "b64")]
    pub smdp_certificate: Vec<u8>,
}

/// ES9+.GetBoundProfilePackage request (§6.5.2.8 / §5.6.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetBoundProfilePackageRequest {
    #[serde(with = "hex_text")]
    pub transaction_id: Vec<u8>,
    /// PrepareDownloadResponse DER (`BF21…`).
    #[serde(with = "b64")]
    pub prepare_download_response: Vec<u8>,
}

/// ES9+.GetBoundProfilePackage response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetBoundProfilePackageResponse {
    #[serde(with = "hex_text")]
    pub transaction_id: Vec<u8>,
    /// BoundProfilePackage DER (`BF36…`).
    #[serde(with = "b64")]
    pub bound_profile_package: Vec<u8>,
}

/// ES9+.HandleNotification request (§6.5.2.9 / §5.6.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandleNotificationRequest {
    /// PendingNotification DER (`BF37…` ProfileInstallationResult or `BF2F…` OtherSignedNotification).
    #[serde(with = "b64")]
    pub pending_notification: Vec<u8>,
}

/// ES9+.CancelSession request (§6.5.2.10 / §5.6.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelSessionRequest {
    #[serde(with = "hex_text")]
    pub transaction_id: Vec<u8>,
    /// CancelSessionResponse DER (`BF41…`).
    #[serde(with = "b64")]
    pub cancel_session_response: Vec<u8>,
}

/// base64 (standard alphabet, padded) of bytes; whitespace in received text is tolerated.
pub mod b64 {
    use super::*;

    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&BASE64.encode(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        BASE64.decode(compact.as_bytes()).map_err(|e| serde::de::Error::custom(format!("not base64: {e}")))
    }
}

/// Hex text (upper case sent, either case accepted) of bytes: the transactionId form (§6.5.1.2).
pub mod hex_text {
    use super::*;

    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode_upper(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text.trim()).map_err(|e| serde::de::Error::custom(format!("not hex: {e}")))
    }
}

// ---- The client ----

/// The five ES9+ calls the download procedure makes, whatever carries them: [`Es9Client`] (ES9+ over HTTPS,
/// a direct download) or the IPA's ESipa client (an indirect download relayed by the eIM, SGP.32 v1.2 §3.2.3).
pub trait Es9Transport {
    /// The SM-DP+ address sent as `smdpAddress` and checked against `serverSigned1.serverAddress`.
    fn smdp_address(&self) -> &str;
    fn initiate_authentication(
        &self,
        request: &InitiateAuthenticationRequest,
    ) -> Result<InitiateAuthenticationResponse, Es9Error>;
    fn authenticate_client(&self, request: &AuthenticateClientRequest) -> Result<AuthenticateClientResponse, Es9Error>;
    fn get_bound_profile_package(
        &self,
        request: &GetBoundProfilePackageRequest,
    ) -> Result<GetBoundProfilePackageResponse, Es9Error>;
    fn handle_notification(&self, request: &HandleNotificationRequest) -> Result<(), Es9Error>;
    fn cancel_session(&self, request: &CancelSessionRequest) -> Result<(), Es9Error>;
}

impl Es9Transport for Es9Client {
    fn smdp_address(&self) -> &str {
        Es9Client::smdp_address(self)
    }
    fn initiate_authentication(
        &self,
        request: &InitiateAuthenticationRequest,
    ) -> Result<InitiateAuthenticationResponse, Es9Error> {
        Es9Client::initiate_authentication(self, request)
    }
    fn authenticate_client(&self, request: &AuthenticateClientRequest) -> Result<AuthenticateClientResponse, Es9Error> {
        Es9Client::authenticate_client(self, request)
    }
    fn get_bound_profile_package(
        &self,
        request: &GetBoundProfilePackageRequest,
    ) -> Result<GetBoundProfilePackageResponse, Es9Error> {
        Es9Client::get_bound_profile_package(self, request)
    }
    fn handle_notification(&self, request: &HandleNotificationRequest) -> Result<(), Es9Error> {
        Es9Client::handle_notification(self, request)
    }
    fn cancel_session(&self, request: &CancelSessionRequest) -> Result<(), Es9Error> {
        Es9Client::cancel_session(self, request)
    }
}

/// An ES9+ client bound to one SM-DP+ address.
#[derive(Debug)]
pub struct Es9Client {
    http: reqwest::blocking::Client,
    smdp_address: String,
    options: Es9Options,
}

impl Es9Client {
    /// A client for `smdp_address` (`host[:port]`, as in the activation code), trusting only `anchors`.
    pub fn new(smdp_address: &str, anchors: &TrustAnchors, options: Es9Options) -> Result<Self, Es9Error> {
        let tls = tls_client_config(anchors)?;
        let mut builder = reqwest::blocking::Client::builder()
            .use_preconfigured_tls(tls)
            .user_agent(USER_AGENT)
            .timeout(options.timeout);
        if let Some((host, addr)) = &options.resolve {
            builder = builder.resolve(host, *addr);
        }
        let http = builder.build().map_err(|e| Es9Error::TlsConfig(e.to_string()))?;
        Ok(Es9Client { http, smdp_address: smdp_address.to_string(), options })
    }

    /// The SM-DP+ address this client dials (and sends as `smdpAddress`).
    pub fn smdp_address(&self) -> &str {
        &self.smdp_address
    }

    /// `https://{smdpAddress}/gsma/rsp2/es9plus/{function}`.
    pub fn url(&self, function: Es9Function) -> String {
        format!("https://{}/gsma/rsp2/es9plus/{}", self.smdp_address, function.path_name())
    }

    /// §5.6.1.
    pub fn initiate_authentication(
        &self,
        request: &InitiateAuthenticationRequest,
    ) -> Result<InitiateAuthenticationResponse, Es9Error> {
        self.call(Es9Function::InitiateAuthentication, request)
    }

    /// §5.6.3.
    pub fn authenticate_client(
        &self,
        request: &AuthenticateClientRequest,
    ) -> Result<AuthenticateClientResponse, Es9Error> {
        self.call(Es9Function::AuthenticateClient, request)
    }

    /// §5.6.2.
    pub fn get_bound_profile_package(
        &self,
        request: &GetBoundProfilePackageRequest,
    ) -> Result<GetBoundProfilePackageResponse, Es9Error> {
        self.call(Es9Function::GetBoundProfilePackage, request)
    }

    /// §5.6.4: 204 No Content on success (a 200 with a Success header is tolerated).
    pub fn handle_notification(&self, request: &HandleNotificationRequest) -> Result<(), Es9Error> {
        let (status, body) = self.post(Es9Function::HandleNotification, request)?;
        if status == 204 || body.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        parse_response::<serde_json::Value>(Es9Function::HandleNotification, &body).map(|_| ())
    }

    /// §5.6.5: the response carries only the header.
    pub fn cancel_session(&self, request: &CancelSessionRequest) -> Result<(), Es9Error> {
        let (status, body) = self.post(Es9Function::CancelSession, request)?;
        if status == 204 {
            return Ok(());
        }
        parse_response::<serde_json::Value>(Es9Function::CancelSession, &body).map(|_| ())
    }

    fn call<Req: Serialize, Resp: for<'de> Deserialize<'de>>(
        &self,
        function: Es9Function,
        request: &Req,
    ) -> Result<Resp, Es9Error> {
        let (_, body) = self.post(function, request)?;
        parse_response(function, &body)
    }

    /// Sends one request; returns the 2xx status and the body.
    fn post<Req: Serialize>(&self, function: Es9Function, request: &Req) -> Result<(u16, Vec<u8>), Es9Error> {
        let body = self.request_body(function, request)?;
        let response = self
            .http
            .post(self.url(function))
            .header(reqwest::header::CONTENT_TYPE, "application/json;charset=UTF-8")
            .header("X-Admin-Protocol", &self.options.admin_protocol)
            .body(body)
            .send()
            .map_err(|e| Es9Error::Transport { function, detail: error_chain(&e) })?;
        let status = response.status().as_u16();
        let bytes = response.bytes().map_err(|e| Es9Error::Transport { function, detail: error_chain(&e) })?.to_vec();
        if !(200..300).contains(&status) {
            let body = String::from_utf8_lossy(&bytes).chars().take(500).collect();
            return Err(Es9Error::HttpStatus { function, status, body });
        }
        Ok((status, bytes))
    }

    /// The request JSON: the function's fields, plus `header` unless turned off.
    fn request_body<Req: Serialize>(&self, function: Es9Function, request: &Req) -> Result<Vec<u8>, Es9Error> {
        let malformed = |e: serde_json::Error| Es9Error::Malformed { function, detail: e.to_string() };
        let mut value = serde_json::to_value(request).map_err(malformed)?;
        if self.options.json_header {
            if let serde_json::Value::Object(fields) = &mut value {
                let header = RequestHeader {
                    function_requester_identifier: USER_AGENT.into(),
                    function_call_identifier: function.path_name().into(),
                };
                fields.insert("header".into(), serde_json::to_value(header).map_err(malformed)?);
            }
        }
        serde_json::to_vec(&value).map_err(malformed)
    }
}

/// Checks `header.functionExecutionStatus` and decodes the function's fields (§6.5.1.4).
pub fn parse_response<Resp: for<'de> Deserialize<'de>>(function: Es9Function, body: &[u8]) -> Result<Resp, Es9Error> {
    let malformed = |detail: String| Es9Error::Malformed { function, detail };
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| malformed(format!("not JSON: {e}")))?;
    let status = value
        .pointer("/header/functionExecutionStatus")
        .ok_or_else(|| malformed("no header.functionExecutionStatus".into()))?;
    match status.get("status").and_then(serde_json::Value::as_str) {
        Some("Executed-Success") | Some("Executed-WithWarning") => {}
        Some("Failed") | Some("Expired") => {
            let data = status
                .get("statusCodeData")
                .cloned()
                .ok_or_else(|| malformed("status Failed without statusCodeData".into()))?;
            let status_code_data: StatusCodeData =
                serde_json::from_value(data).map_err(|e| malformed(format!("statusCodeData: {e}")))?;
            return Err(Es9Error::Failed { function, status_code_data: Box::new(status_code_data) });
        }
        other => return Err(malformed(format!("unknown functionExecutionStatus.status {other:?}"))),
    }
    serde_json::from_value(value).map_err(|e| malformed(e.to_string()))
}

/// An error and its sources on one line (reqwest hides the TLS reason in the chain).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: Es9Function = Es9Function::AuthenticateClient;

    #[test]
    fn success_decodes_the_function_fields() {
        let body = br#"{"header":{"functionExecutionStatus":{"status":"Executed-Success"}},
            "transactionId":"0a1B","boundProfilePackage":"vzYA"}"#;
        let r: GetBoundProfilePackageResponse = parse_response(F, body).unwrap();
        assert_eq!(r.transaction_id, [0x0A, 0x1B]);
        assert_eq!(r.bound_profile_package, [0xBF, 0x36, 0x00]);
    }

    #[test]
    fn failed_carries_its_status_code_data() {
        let body = br#"{"header":{"functionExecutionStatus":{"status":"Failed",
            "statusCodeData":{"subjectCode":"8.10.1","reasonCode":"3.9","message":"Unknown"}}}}"#;
        let e = parse_response::<serde_json::Value>(F, body).unwrap_err();
        let Es9Error::Failed { function, status_code_data } = &e else { panic!("{e}") };
        assert_eq!(*function, F);
        assert_eq!((status_code_data.subject_code.as_str(), status_code_data.reason_code.as_str()), ("8.10.1", "3.9"));
        assert_eq!(e.status_code(), "8.10.1/3.9");
    }

    #[test]
    fn malformed_responses_are_errors_not_panics() {
        for body in [
            &b"not json"[..],
            br#"{}"#,
            br#"{"header":{"functionExecutionStatus":{"status":"Maybe"}}}"#,
            br#"{"header":{"functionExecutionStatus":{"status":"Failed"}}}"#,
            br#"{"header":{"functionExecutionStatus":{"status":"Executed-Success"}},"transactionId":"zz",
                "boundProfilePackage":"AA=="}"#,
            br#"{"header":{"functionExecutionStatus":{"status":"Executed-Success"}},"transactionId":"00",
                "boundProfilePackage":"%%"}"#,
        ] {
            let e = parse_response::<GetBoundProfilePackageResponse>(F, body).unwrap_err();
            assert!(matches!(e, Es9Error::Malformed { .. }), "{e}");
        }
    }

    #[test]
    fn request_field_names_are_the_spec_names() {
        let v = serde_json::to_value(InitiateAuthenticationResponse {
            transaction_id: vec![1],
            server_signed1: vec![2],
            server_signature1: vec![3],
            euicc_ci_pkid_to_be_used: vec![4],
            server_certificate: vec![5],
        })
        .unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["euiccCiPKIdToBeUsed", "serverCertificate", "serverSignature1", "serverSigned1", "transactionId"]
        );
        assert_eq!(v["transactionId"], "01");
        let v =
            serde_json::to_value(CancelSessionRequest { transaction_id: vec![0xAB], cancel_session_response: vec![] })
                .unwrap();
        assert_eq!(v, serde_json::json!({"transactionId": "AB", "cancelSessionResponse": ""}));
    }
}
