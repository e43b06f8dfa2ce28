//! The IPA's ESipa client (SGP.32 v1.2 §5.14, §6): every function the IPA calls on the eIM, in the ASN.1
//! binding (§6.3, `POST /gsma/rsp2/asn1`, one DER message per body) or the JSON binding (§6.4,
//! `POST /gsma/rsp2/esipa/<function>`, base64 DER fields, hex transactionIds, 32-digit `eidValue`). The eIM's
//! TLS certificate is verified against the given trust anchors.
//!
//! [`IndirectEs9`] carries the download procedure's ES9+ calls over ESipa (indirect download, §3.2.3), so the
//! LPA's download code runs unchanged whichever way the IPA reaches the SM-DP+.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use rsp_proto::codec::tlv::{self, Tag};
use serde_json::{json, Value};

use crate::lpa::es9_client::{
    tls_client_config, AuthenticateClientRequest, AuthenticateClientResponse, CancelSessionRequest, Es9Transport,
    GetBoundProfilePackageRequest, GetBoundProfilePackageResponse, HandleNotificationRequest,
    InitiateAuthenticationRequest, InitiateAuthenticationResponse, StatusCodeData,
};
use crate::lpa::{Es9Error, Es9Function, TrustAnchors};

/// Which ESipa binding the IPA speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// §6.3: `application/x-gsma-rsp-asn1`.
    Asn1,
    /// §6.4: JSON.
    Json,
}

impl std::str::FromStr for Binding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "asn1" => Ok(Binding::Asn1),
            "json" => Ok(Binding::Json),
            other => Err(format!("unknown ESipa binding `{other}` (asn1 or json)")),
        }
    }
}

/// Why an ESipa call did not return its response.
#[derive(Debug, thiserror::Error)]
pub enum EsipaError {
    #[error("TLS configuration: {0}")]
    TlsConfig(String),
    #[error("ESipa.{function}: transport failure: {detail}")]
    Transport { function: &'static str, detail: String },
    #[error("ESipa.{function}: HTTP {status}: {body}")]
    HttpStatus { function: &'static str, status: u16, body: String },
    #[error("ESipa.{function}: malformed response: {detail}")]
    Malformed { function: &'static str, detail: String },
    /// The eIM answered the function's error: the ASN.1 error integer, or the JSON status code.
    #[error("ESipa.{function}: failed {code}")]
    Failed { function: &'static str, code: String },
}

/// What GetEimPackage handed out (each the received DER, `BF51` / `BF52` / `BF54`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EimPackage {
    EuiccPackageRequest(Vec<u8>),
    IpaEuiccDataRequest(Vec<u8>),
    ProfileDownloadTriggerRequest(Vec<u8>),
}

/// One request and its response body, as sent and received (see [`EsipaClient::record_exchanges`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The ESipa function (`GetEimPackage`, `initiateAuthentication`, …).
    pub function: &'static str,
    pub request: Vec<u8>,
    pub response: Vec<u8>,
}

/// An ESipa client for one eIM.
pub struct EsipaClient {
    http: reqwest::blocking::Client,
    /// `https://host[:port]`.
    base: String,
    binding: Binding,
    recorded: Option<std::sync::Mutex<Vec<Exchange>>>,
}

const ASN1: &str = "application/x-gsma-rsp-asn1";
const ADMIN_PROTOCOL: &str = "gsma/rsp/v2.5.0";

impl EsipaClient {
    /// A client for the eIM at `eim` (`https://host:port`, or `host:port`), trusting only `anchors`.
    pub fn new(eim: &str, anchors: &TrustAnchors, binding: Binding) -> Result<Self, EsipaError> {
        let tls = tls_client_config(anchors).map_err(|e| EsipaError::TlsConfig(e.to_string()))?;
        let http = reqwest::blocking::Client::builder()
            .use_preconfigured_tls(tls)
            .user_agent("rsp-conformance-ipa")
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| EsipaError::TlsConfig(e.to_string()))?;
        let base = eim.trim_end_matches('/');
        let base = if base.starts_with("https://") { base.to_owned() } else { format!("https://{base}") };
        Ok(EsipaClient { http, base, binding, recorded: None })
    }

    pub fn binding(&self) -> Binding {
        self.binding
    }

    /// Keeps every request/response pair from now on (tests check the eIM's raw answers).
    pub fn record_exchanges(mut self) -> Self {
        self.recorded = Some(std::sync::Mutex::new(Vec::new()));
        self
    }

    /// The exchanges recorded so far (empty unless [`Self::record_exchanges`]).
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.recorded.as_ref().map(|r| r.lock().map(|v| v.clone()).unwrap_or_default()).unwrap_or_default()
    }

    fn record(&self, function: &'static str, request: &[u8], response: &[u8]) {
        if let Some(r) = &self.recorded {
            if let Ok(mut v) = r.lock() {
                v.push(Exchange { function, request: request.to_vec(), response: response.to_vec() });
            }
        }
    }

    /// Sends one raw ASN.1-binding body (`POST /gsma/rsp2/asn1`); the response body (empty for 204).
    pub fn send_asn1(&self, body: Vec<u8>) -> Result<Vec<u8>, EsipaError> {
        self.post_asn1("raw", body)
    }

    /// ESipa.GetEimPackage (§5.14.5): the next package, `None` for noEimPackageAvailable.
    pub fn get_eim_package(&self, eid: &str) -> Result<Option<EimPackage>, EsipaError> {
        const F: &str = "GetEimPackage";
        let eid_value = hex::decode(eid).map_err(|e| EsipaError::Malformed { function: F, detail: e.to_string() })?;
        match self.binding {
            Binding::Asn1 => {
                let body = self.post_asn1(F, tlv::encode(Tag(0xBF4F), &tlv::encode(Tag(0x5A), &eid_value)))?;
                let top = parse(F, &body, 0xBF4F)?;
                let child =
                    top.children().ok().and_then(|c| c.into_iter().next()).ok_or_else(|| malformed(F, "empty"))?;
                package_or_error(F, child.tag().0, child.raw(), || integer(child.value()))
            }
            Binding::Json => {
                let value = self.post_json(F, "getEimPackage", &json!({ "eidValue": eid }))?;
                for (field, make) in [
                    ("euiccPackageRequest", EimPackage::EuiccPackageRequest as fn(Vec<u8>) -> EimPackage),
                    ("ipaEuiccDataRequest", EimPackage::IpaEuiccDataRequest),
                    ("profileDownloadTriggerRequest", EimPackage::ProfileDownloadTriggerRequest),
                ] {
                    if let Some(b64) = value.get(field).and_then(Value::as_str) {
                        return Ok(Some(make(b64_decode(F, b64)?)));
                    }
                }
                match failure(&value) {
                    Some(code) if code.starts_with("8.1.1/3.7") => Ok(None),
                    Some(code) => Err(EsipaError::Failed { function: F, code }),
                    None if value.get("eimPackageError").and_then(Value::as_i64) == Some(1) => Ok(None),
                    None => Err(malformed(F, "no package and no error")),
                }
            }
        }
    }

    /// ESipa.ProvideEimPackageResult (§5.14.6) with one EimPackageResult alternative (`BF51`, `BF52`, `BF54`,
    /// `A0`); the EimAcknowledgements (`BF53 …`) the eIM returned, if any.
    pub fn provide_eim_package_result(
        &self,
        eid: &str,
        eim_package_result: &[u8],
    ) -> Result<Option<Vec<u8>>, EsipaError> {
        const F: &str = "ProvideEimPackageResult";
        match self.binding {
            Binding::Asn1 => {
                let eid_value =
                    hex::decode(eid).map_err(|e| EsipaError::Malformed { function: F, detail: e.to_string() })?;
                let body =
                    tlv::encode_constructed(Tag(0xBF50), [&tlv::encode(Tag(0x5A), &eid_value)[..], eim_package_result]);
                let response = self.post_asn1(F, body)?;
                let top = parse(F, &response, 0xBF50)?;
                let child =
                    top.children().ok().and_then(|c| c.into_iter().next()).ok_or_else(|| malformed(F, "empty"))?;
                match child.tag().0 {
                    0xBF53 => Ok(Some(child.raw().to_vec())),
                    0x30 => Ok(None),
                    0x02 => Err(EsipaError::Failed { function: F, code: integer(child.value()).to_string() }),
                    other => Err(malformed(F, &format!("unexpected tag {other:X}"))),
                }
            }
            Binding::Json => {
                let value = self.post_json(
                    F,
                    "provideEimPackageResult",
                    &json!({ "eidValue": eid, "eimPackageResult": BASE64.encode(eim_package_result) }),
                )?;
                if let Some(code) = failure(&value) {
                    return Err(EsipaError::Failed { function: F, code });
                }
                value.get("eimAcknowledgements").and_then(Value::as_str).map(|b| b64_decode(F, b)).transpose()
            }
        }
    }

    /// ESipa.HandleNotification (§5.14.7) with a pendingNotification.
    pub fn handle_notification(&self, pending_notification: &[u8]) -> Result<(), EsipaError> {
        const F: &str = "HandleNotification";
        match self.binding {
            Binding::Asn1 => {
                let body = tlv::encode(Tag(0xBF3D), &tlv::encode(Tag(0xA0), pending_notification));
                self.post_asn1(F, body).map(|_| ())
            }
            Binding::Json => self
                .post_json(
                    F,
                    "handleNotification",
                    &json!({ "pendingNotification": BASE64.encode(pending_notification) }),
                )
                .and_then(|v| match failure(&v) {
                    Some(code) => Err(EsipaError::Failed { function: F, code }),
                    None => Ok(()),
                }),
        }
    }

    fn post_asn1(&self, function: &'static str, body: Vec<u8>) -> Result<Vec<u8>, EsipaError> {
        let response = self
            .http
            .post(format!("{}/gsma/rsp2/asn1", self.base))
            .header(reqwest::header::CONTENT_TYPE, ASN1)
            .header("X-Admin-Protocol", ADMIN_PROTOCOL)
            .body(body.clone())
            .send()
            .map_err(|e| EsipaError::Transport { function, detail: e.to_string() })?;
        let bytes = read(function, response)?;
        self.record(function, &body, &bytes);
        Ok(bytes)
    }

    /// POSTs a JSON body; the parsed response (`{}` for 204).
    fn post_json(&self, function: &'static str, path: &str, body: &Value) -> Result<Value, EsipaError> {
        let response = self
            .http
            .post(format!("{}/gsma/rsp2/esipa/{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Admin-Protocol", ADMIN_PROTOCOL)
            .body(body.to_string())
            .send()
            .map_err(|e| EsipaError::Transport { function, detail: e.to_string() })?;
        let bytes = read(function, response)?;
        self.record(function, body.to_string().as_bytes(), &bytes);
        if bytes.is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_slice(&bytes).map_err(|e| malformed(function, &format!("not JSON: {e}")))
    }
}

fn read(function: &'static str, response: reqwest::blocking::Response) -> Result<Vec<u8>, EsipaError> {
    let status = response.status().as_u16();
    let bytes = response.bytes().map_err(|e| EsipaError::Transport { function, detail: e.to_string() })?.to_vec();
    if !(200..300).contains(&status) {
        let body = String::from_utf8_lossy(&bytes).chars().take(300).collect();
        return Err(EsipaError::HttpStatus { function, status, body });
    }
    Ok(bytes)
}

fn malformed(function: &'static str, detail: &str) -> EsipaError {
    EsipaError::Malformed { function, detail: detail.to_owned() }
}

fn parse<'a>(function: &'static str, body: &'a [u8], tag: u32) -> Result<tlv::Tlv<'a>, EsipaError> {
    let top = tlv::parse_single(body).map_err(|e| malformed(function, &e.to_string()))?;
    if top.tag().0 != tag {
        return Err(malformed(function, &format!("tag {:X}, expected {tag:X}", top.tag().0)));
    }
    Ok(top)
}

fn package_or_error(
    function: &'static str,
    tag: u32,
    raw: &[u8],
    code: impl Fn() -> i64,
) -> Result<Option<EimPackage>, EsipaError> {
    match tag {
        0xBF51 => Ok(Some(EimPackage::EuiccPackageRequest(raw.to_vec()))),
        0xBF52 => Ok(Some(EimPackage::IpaEuiccDataRequest(raw.to_vec()))),
        0xBF54 => Ok(Some(EimPackage::ProfileDownloadTriggerRequest(raw.to_vec()))),
        0x02 if code() == 1 => Ok(None),
        0x02 => Err(EsipaError::Failed { function, code: format!("eimPackageError {}", code()) }),
        other => Err(malformed(function, &format!("unexpected tag {other:X}"))),
    }
}

/// A DER INTEGER's value (contents), saturating; 0 when empty.
fn integer(contents: &[u8]) -> i64 {
    let mut v: i64 = if contents.first().is_some_and(|b| b & 0x80 != 0) { -1 } else { 0 };
    for b in contents.iter().take(8) {
        v = (v << 8) | i64::from(*b);
    }
    v
}

fn b64_decode(function: &'static str, text: &str) -> Result<Vec<u8>, EsipaError> {
    BASE64.decode(text.trim()).map_err(|e| malformed(function, &format!("not base64: {e}")))
}

/// `subject/reason (message)` of a Failed JSON header, `None` on success.
fn failure(value: &Value) -> Option<String> {
    let status = value.pointer("/header/functionExecutionStatus")?;
    if status.get("status").and_then(Value::as_str) != Some("Failed") {
        return None;
    }
    let data = status.get("statusCodeData");
    let field = |n: &str| data.and_then(|d| d.get(n)).and_then(Value::as_str).unwrap_or("?").to_owned();
    Some(format!("{}/{} ({})", field("subjectCode"), field("reasonCode"), field("message")))
}

/// The ES9+ calls of a download carried over ESipa to the eIM (indirect download, SGP.32 v1.2 §3.2.3).
pub struct IndirectEs9<'a> {
    pub esipa: &'a EsipaClient,
    /// The SM-DP+ address of the activation code.
    pub smdp_address: String,
}

impl IndirectEs9<'_> {
    fn asn1(&self, function: Es9Function, body: Vec<u8>, tag: u32) -> Result<Vec<u8>, Es9Error> {
        let name = function.path_name();
        let response = self.esipa.post_asn1(name, body).map_err(|e| to_es9(function, e))?;
        if response.is_empty() {
            return Ok(response);
        }
        let top = parse(name, &response, tag).map_err(|e| to_es9(function, e))?;
        let child = top
            .children()
            .ok()
            .and_then(|c| c.into_iter().next())
            .ok_or_else(|| Es9Error::Malformed { function, detail: "empty response".into() })?;
        if child.tag().0 == 0xA0 {
            Ok(child.value().to_vec())
        } else {
            Err(Es9Error::Failed {
                function,
                status_code_data: Box::new(StatusCodeData {
                    subject_code: "ESipa".into(),
                    reason_code: integer(child.value()).to_string(),
                    subject_identifier: None,
                    message: Some(format!("{name} error {}", integer(child.value()))),
                }),
            })
        }
    }

    fn json(&self, function: Es9Function, body: Value) -> Result<Value, Es9Error> {
        let value =
            self.esipa.post_json(function.path_name(), function.path_name(), &body).map_err(|e| to_es9(function, e))?;
        if let Some(status) = value.pointer("/header/functionExecutionStatus") {
            if status.get("status").and_then(Value::as_str) == Some("Failed") {
                let data: StatusCodeData = status
                    .get("statusCodeData")
                    .and_then(|d| serde_json::from_value(d.clone()).ok())
                    .unwrap_or(StatusCodeData {
                        subject_code: "?".into(),
                        reason_code: "?".into(),
                        subject_identifier: None,
                        message: None,
                    });
                return Err(Es9Error::Failed { function, status_code_data: Box::new(data) });
            }
        }
        Ok(value)
    }

    fn field(function: Es9Function, value: &Value, name: &str) -> Result<Vec<u8>, Es9Error> {
        let text = value
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| Es9Error::Malformed { function, detail: format!("no {name}") })?;
        BASE64.decode(text.trim()).map_err(|e| Es9Error::Malformed { function, detail: format!("{name}: {e}") })
    }

    fn hex_field(function: Es9Function, value: &Value, name: &str) -> Result<Vec<u8>, Es9Error> {
        let text = value.get(name).and_then(Value::as_str).unwrap_or_default();
        hex::decode(text.trim()).map_err(|e| Es9Error::Malformed { function, detail: format!("{name}: {e}") })
    }
}

fn to_es9(function: Es9Function, e: EsipaError) -> Es9Error {
    match e {
        EsipaError::HttpStatus { status, body, .. } => Es9Error::HttpStatus { function, status, body },
        EsipaError::Transport { detail, .. } => Es9Error::Transport { function, detail },
        other => Es9Error::Malformed { function, detail: other.to_string() },
    }
}

/// Positional children of an `…OkEsipa` body.
fn children(function: Es9Function, contents: &[u8]) -> Result<Vec<(u32, Vec<u8>, Vec<u8>)>, Es9Error> {
    tlv::parse_all(contents)
        .map(|all| all.iter().map(|t| (t.tag().0, t.raw().to_vec(), t.value().to_vec())).collect())
        .map_err(|e| Es9Error::Malformed { function, detail: e.to_string() })
}

impl Es9Transport for IndirectEs9<'_> {
    fn smdp_address(&self) -> &str {
        &self.smdp_address
    }

    fn initiate_authentication(
        &self,
        r: &InitiateAuthenticationRequest,
    ) -> Result<InitiateAuthenticationResponse, Es9Error> {
        const F: Es9Function = Es9Function::InitiateAuthentication;
        match self.esipa.binding {
            Binding::Asn1 => {
                let body = tlv::encode_constructed(
                    Tag(0xBF39),
                    [
                        &tlv::encode(Tag(0x81), &r.euicc_challenge)[..],
                        &tlv::encode(Tag(0x83), r.smdp_address.as_bytes()),
                        &r.euicc_info1,
                    ],
                );
                let ok = children(F, &self.asn1(F, body, 0xBF39)?)?;
                let get = |tag: u32, nth: usize| {
                    ok.iter().filter(|c| c.0 == tag).nth(nth).cloned().ok_or_else(|| Es9Error::Malformed {
                        function: F,
                        detail: format!("InitiateAuthenticationOkEsipa without {tag:X}"),
                    })
                };
                Ok(InitiateAuthenticationResponse {
                    transaction_id: get(0x80, 0)?.2,
                    server_signed1: get(0x30, 0)?.1,
                    server_signature1: get(0x5F37, 0)?.1,
                    euicc_ci_pkid_to_be_used: get(0x04, 0)?.1,
                    server_certificate: get(0x30, 1)?.1,
                })
            }
            Binding::Json => {
                let v = self.json(
                    F,
                    json!({
                        "euiccChallenge": BASE64.encode(&r.euicc_challenge),
                        "euiccInfo1": BASE64.encode(&r.euicc_info1),
                        "smdpAddress": r.smdp_address,
                    }),
                )?;
                Ok(InitiateAuthenticationResponse {
                    transaction_id: Self::hex_field(F, &v, "transactionId")?,
                    server_signed1: Self::field(F, &v, "serverSigned1")?,
                    server_signature1: Self::field(F, &v, "serverSignature1")?,
                    euicc_ci_pkid_to_be_used: Self::field(F, &v, "euiccCiPKIdentifierToBeUsed")?,
                    server_certificate: Self::field(F, &v, "serverCertificate")?,
                })
            }
        }
    }

    fn authenticate_client(&self, r: &AuthenticateClientRequest) -> Result<AuthenticateClientResponse, Es9Error> {
        const F: Es9Function = Es9Function::AuthenticateClient;
        match self.esipa.binding {
            Binding::Asn1 => {
                let body = tlv::encode_constructed(
                    Tag(0xBF3B),
                    [&tlv::encode(Tag(0x80), &r.transaction_id)[..], &r.authenticate_server_response],
                );
                let ok = children(F, &self.asn1(F, body, 0xBF3B)?)?;
                let get = |tag: u32, nth: usize| {
                    ok.iter().filter(|c| c.0 == tag).nth(nth).cloned().ok_or_else(|| Es9Error::Malformed {
                        function: F,
                        detail: format!("AuthenticateClientOkDPEsipa without {tag:X}"),
                    })
                };
                Ok(AuthenticateClientResponse {
                    transaction_id: get(0x80, 0)?.2,
                    profile_metadata: get(0xBF25, 0)?.1,
                    smdp_signed2: get(0x30, 0)?.1,
                    smdp_signature2: get(0x5F37, 0)?.1,
                    smdp_certificate: get(0x30, 1)?.1,
                })
            }
            Binding::Json => {
                let v = self.json(
                    F,
                    json!({
                        "transactionId": hex::encode_upper(&r.transaction_id),
                        "authenticateServerResponse": BASE64.encode(&r.authenticate_server_response),
                    }),
                )?;
                Ok(AuthenticateClientResponse {
                    transaction_id: Self::hex_field(F, &v, "transactionId")?,
                    profile_metadata: Self::field(F, &v, "profileMetadata")?,
                    smdp_signed2: Self::field(F, &v, "smdpSigned2")?,
                    smdp_signature2: Self::field(F, &v, "smdpSignature2")?,
                    smdp_certificate: Self::field(F, &v, "smdpCertificate")?,
                })
            }
        }
    }

    fn get_bound_profile_package(
        &self,
        r: &GetBoundProfilePackageRequest,
    ) -> Result<GetBoundProfilePackageResponse, Es9Error> {
        const F: Es9Function = Es9Function::GetBoundProfilePackage;
        match self.esipa.binding {
            Binding::Asn1 => {
                let body = tlv::encode_constructed(
                    Tag(0xBF3A),
                    [&tlv::encode(Tag(0x80), &r.transaction_id)[..], &r.prepare_download_response],
                );
                let ok = children(F, &self.asn1(F, body, 0xBF3A)?)?;
                let bpp = ok.iter().find(|c| c.0 == 0xBF36).ok_or_else(|| Es9Error::Malformed {
                    function: F,
                    detail: "GetBoundProfilePackageOkEsipa without BF36".into(),
                })?;
                Ok(GetBoundProfilePackageResponse {
                    transaction_id: r.transaction_id.clone(),
                    bound_profile_package: bpp.1.clone(),
                })
            }
            Binding::Json => {
                let v = self.json(
                    F,
                    json!({
                        "transactionId": hex::encode_upper(&r.transaction_id),
                        "prepareDownloadResponse": BASE64.encode(&r.prepare_download_response),
                    }),
                )?;
                Ok(GetBoundProfilePackageResponse {
                    transaction_id: Self::hex_field(F, &v, "transactionId")?,
                    bound_profile_package: Self::field(F, &v, "boundProfilePackage")?,
                })
            }
        }
    }

    fn handle_notification(&self, r: &HandleNotificationRequest) -> Result<(), Es9Error> {
        self.esipa.handle_notification(&r.pending_notification).map_err(|e| to_es9(Es9Function::HandleNotification, e))
    }

    fn cancel_session(&self, r: &CancelSessionRequest) -> Result<(), Es9Error> {
        const F: Es9Function = Es9Function::CancelSession;
        match self.esipa.binding {
            Binding::Asn1 => {
                let body = tlv::encode_constructed(
                    Tag(0xBF41),
                    [
                        &tlv::encode(Tag(0x80), &r.transaction_id)[..],
                        &tlv::encode(Tag(0xA1), &r.cancel_session_response),
                    ],
                );
                self.asn1(F, body, 0xBF41).map(|_| ())
            }
            Binding::Json => self
                .json(
                    F,
                    json!({
                        "transactionId": hex::encode_upper(&r.transaction_id),
                        "cancelSessionResponse": BASE64.encode(&r.cancel_session_response),
                    }),
                )
                .map(|_| ()),
        }
    }
}
