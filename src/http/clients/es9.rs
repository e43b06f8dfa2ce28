//! The eIM as an ES9+ client (SGP.22 v2.5 §5.6 ES9+, §6.5 JSON binding; SGP.32 v1.2 §3.2.3 indirect profile
//! download): each ESipa step of an indirect download whose SM-DP+ is not rspd's own is sent to that SM-DP+ as
//! `POST https://{smdpAddress}/gsma/rsp2/es9plus/{function}` with base64 DER fields and a hex transactionId.
//! The SM-DP+'s TLS certificate is verified against `eim.smdp_tls_trust` (webpki, host name included).
//!
//! A `Failed` function execution status becomes [`RelayError::SmdpRefused`] with the SM-DP+'s own status code;
//! anything else that goes wrong (DNS, TCP, TLS, timeout, non-2xx status, an answer that is not ES9+ JSON)
//! becomes [`RelayError::SmdpUnreachable`] with a one-line reason.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::{json, Value};

use crate::eim::indirect::RelayError;
use crate::eim::relay::{RelayFuture, SmdpRelay};
use crate::smdp::es9::authenticate_client::AuthenticatedEuicc;
use crate::smdp::es9::{AuthenticateClientOk, InitiateAuthenticationOk};
use crate::smdp::TransactionId;

/// The `X-Admin-Protocol` rspd sends as an ES9+ client.
pub const CLIENT_ADMIN_PROTOCOL: &str = "gsma/rsp/v2.5.0";

/// Largest ES9+ answer accepted (a bound profile package is at most a few hundred kB).
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// An ES9+ client whose TLS trust is the configured anchors only.
#[derive(Clone)]
pub struct Es9Client {
    http: reqwest::Client,
}

impl Es9Client {
    /// `trust_anchors`: PEM certificates (one or more per entry). Errors are one line, for the start-up check.
    pub fn new(trust_anchors: &[Vec<u8>], timeout: Duration) -> Result<Es9Client, String> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("rspd-eim/", env!("CARGO_PKG_VERSION")));
        for pem in trust_anchors {
            for cert in reqwest::Certificate::from_pem_bundle(pem).map_err(|e| e.to_string())? {
                builder = builder.add_root_certificate(cert);
            }
        }
        Ok(Es9Client { http: builder.build().map_err(|e| e.to_string())? })
    }

    /// ES9+.InitiateAuthentication (§5.6.1).
    pub async fn initiate_authentication(
        &self,
        address: &str,
        euicc_challenge: &[u8],
        euicc_info1: &[u8],
    ) -> Result<InitiateAuthenticationOk, RelayError> {
        let body = json!({
            "euiccChallenge": BASE64.encode(euicc_challenge),
            "euiccInfo1": BASE64.encode(euicc_info1),
            "smdpAddress": address,
        });
        let v = self.call(address, "initiateAuthentication", body).await?.unwrap_or_default();
        Ok(InitiateAuthenticationOk {
            transaction_id: transaction_id(address, &v)?,
            server_signed1: b64(address, &v, "serverSigned1")?,
            server_signature1: b64(address, &v, "serverSignature1")?,
            euicc_ci_pkid_to_be_used: b64(address, &v, "euiccCiPKIdToBeUsed")?,
            server_certificate: b64(address, &v, "serverCertificate")?,
        })
    }

    /// ES9+.AuthenticateClient (§5.6.3).
    pub async fn authenticate_client(
        &self,
        address: &str,
        tx: &TransactionId,
        authenticate_server_response: &[u8],
    ) -> Result<AuthenticateClientOk, RelayError> {
        let body = json!({
            "transactionId": tx.to_hex(),
            "authenticateServerResponse": BASE64.encode(authenticate_server_response),
        });
        let v = self.call(address, "authenticateClient", body).await?.unwrap_or_default();
        Ok(AuthenticateClientOk {
            transaction_id: transaction_id(address, &v)?,
            profile_metadata: b64(address, &v, "profileMetadata")?,
            smdp_signed2: b64(address, &v, "smdpSigned2")?,
            smdp_signature2: b64(address, &v, "smdpSignature2")?,
            smdp_certificate: b64(address, &v, "smdpCertificate")?,
        })
    }

    /// ES9+.GetBoundProfilePackage (§5.6.2): the BPP `BF36`.
    pub async fn get_bound_profile_package(
        &self,
        address: &str,
        tx: &TransactionId,
        prepare_download_response: &[u8],
    ) -> Result<Vec<u8>, RelayError> {
        let body = json!({
            "transactionId": tx.to_hex(),
            "prepareDownloadResponse": BASE64.encode(prepare_download_response),
        });
        let v = self.call(address, "getBoundProfilePackage", body).await?.unwrap_or_default();
        b64(address, &v, "boundProfilePackage")
    }

    /// ES9+.CancelSession (§5.6.5).
    pub async fn cancel_session(
        &self,
        address: &str,
        tx: &TransactionId,
        cancel_session_response: &[u8],
    ) -> Result<(), RelayError> {
        let body = json!({
            "transactionId": tx.to_hex(),
            "cancelSessionResponse": BASE64.encode(cancel_session_response),
        });
        self.call(address, "cancelSession", body).await.map(|_| ())
    }

    /// ES9+.HandleNotification (§5.6.4): `pending_notification` is the PendingNotification DER.
    pub async fn handle_notification(&self, address: &str, pending_notification: &[u8]) -> Result<(), RelayError> {
        let body = json!({ "pendingNotification": BASE64.encode(pending_notification) });
        self.call(address, "handleNotification", body).await.map(|_| ())
    }

    /// One ES9+ call: the answer's JSON object (`None` for 204), or the SM-DP+'s refusal, or why it failed.
    async fn call(&self, address: &str, function: &str, mut body: Value) -> Result<Option<Value>, RelayError> {
        let unreachable = |detail: String| RelayError::SmdpUnreachable { address: address.to_owned(), detail };
        check_address(address).map_err(unreachable)?;
        if let Value::Object(map) = &mut body {
            map.insert(
                "header".into(),
                json!({ "functionRequesterIdentifier": "rspd-eim", "functionCallIdentifier": function }),
            );
        }
        let url = format!("https://{address}/gsma/rsp2/es9plus/{function}");
        let response = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Admin-Protocol", CLIENT_ADMIN_PROTOCOL)
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| unreachable(format!("{function}: {}", error_chain(&e))))?;
        let status = response.status();
        if status == reqwest::StatusCode::NO_CONTENT {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(unreachable(format!("{function}: HTTP status {status}")));
        }
        if response.content_length().is_some_and(|n| n > MAX_RESPONSE_BYTES as u64) {
            return Err(unreachable(format!("{function}: answer larger than {MAX_RESPONSE_BYTES} bytes")));
        }
        let bytes = response.bytes().await.map_err(|e| unreachable(format!("{function}: {}", error_chain(&e))))?;
        if bytes.len() > MAX_RESPONSE_BYTES {
            return Err(unreachable(format!("{function}: answer larger than {MAX_RESPONSE_BYTES} bytes")));
        }
        if bytes.is_empty() {
            return Ok(None);
        }
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| unreachable(format!("{function}: the answer is not JSON ({e})")))?;
        let status = &v["header"]["functionExecutionStatus"];
        match status["status"].as_str() {
            Some("Executed-Success") | Some("Executed-WithWarning") | None => Ok(Some(v)),
            Some(_) => {
                let data = &status["statusCodeData"];
                let text = |k: &str| data[k].as_str().unwrap_or_default().to_owned();
                Err(RelayError::SmdpRefused {
                    address: address.to_owned(),
                    subject: text("subjectCode"),
                    reason: text("reasonCode"),
                    message: one_line(&text("message")),
                })
            }
        }
    }
}

/// An SM-DP+ address is a host name with an optional port (SGP.22 FQDN): nothing that changes the URL.
fn check_address(address: &str) -> Result<(), String> {
    let ok = !address.is_empty()
        && address.len() <= 255
        && address.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if ok {
        Ok(())
    } else {
        Err(format!("{address:?} is not an SM-DP+ address (host[:port])"))
    }
}

fn transaction_id(address: &str, v: &Value) -> Result<TransactionId, RelayError> {
    let hex = v["transactionId"].as_str().unwrap_or_default();
    TransactionId::from_hex(hex.trim()).map_err(|e| RelayError::SmdpUnreachable {
        address: address.to_owned(),
        detail: format!("the answer's transactionId: {e}"),
    })
}

fn b64(address: &str, v: &Value, field: &str) -> Result<Vec<u8>, RelayError> {
    let bad = |detail: String| RelayError::SmdpUnreachable { address: address.to_owned(), detail };
    let text = v[field].as_str().ok_or_else(|| bad(format!("the answer has no {field}")))?;
    BASE64.decode(text.trim()).map_err(|e| bad(format!("the answer's {field}: {e}")))
}

/// The error with its sources (rustls' "invalid peer certificate: UnknownIssuer" is a source of reqwest's).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    one_line(&text)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An external SM-DP+ as the target of the eIM's indirect download relay (SGP.32 v1.2 §3.2.3): each step is its
/// ES9+ function over HTTPS. An external SM-DP+ cannot hand over the eUICC it verified.
impl SmdpRelay for Es9Client {
    fn initiate_authentication<'a>(
        &'a self,
        address: &'a str,
        euicc_challenge: Vec<u8>,
        euicc_info1: Vec<u8>,
    ) -> RelayFuture<'a, InitiateAuthenticationOk> {
        Box::pin(async move {
            logged(
                "InitiateAuthentication",
                Es9Client::initiate_authentication(self, address, &euicc_challenge, &euicc_info1).await,
            )
        })
    }

    fn authenticate_client<'a>(
        &'a self,
        address: &'a str,
        transaction_id: TransactionId,
        authenticate_server_response: Vec<u8>,
    ) -> RelayFuture<'a, (AuthenticateClientOk, Option<Box<AuthenticatedEuicc>>)> {
        Box::pin(async move {
            let ok =
                Es9Client::authenticate_client(self, address, &transaction_id, &authenticate_server_response).await;
            logged("AuthenticateClient", ok).map(|ok| (ok, None))
        })
    }

    fn get_bound_profile_package<'a>(
        &'a self,
        address: &'a str,
        transaction_id: TransactionId,
        prepare_download_response: Vec<u8>,
    ) -> RelayFuture<'a, Vec<u8>> {
        Box::pin(async move {
            let bpp = Es9Client::get_bound_profile_package(self, address, &transaction_id, &prepare_download_response);
            logged("GetBoundProfilePackage", bpp.await)
        })
    }

    fn cancel_session<'a>(
        &'a self,
        address: &'a str,
        transaction_id: TransactionId,
        cancel_session_response: Vec<u8>,
    ) -> RelayFuture<'a, ()> {
        Box::pin(async move {
            let done = Es9Client::cancel_session(self, address, &transaction_id, &cancel_session_response).await;
            logged("CancelSession", done)
        })
    }

    fn handle_notification<'a>(&'a self, address: &'a str, pending_notification: Vec<u8>) -> RelayFuture<'a, ()> {
        Box::pin(async move { Es9Client::handle_notification(self, address, &pending_notification).await })
    }
}

/// Logs a relayed ES9+ step's failure (refusals at info, unreachable SM-DP+s at warn).
fn logged<T>(function: &'static str, result: Result<T, RelayError>) -> Result<T, RelayError> {
    match &result {
        Err(e @ RelayError::SmdpUnreachable { .. }) => tracing::warn!(function, error = %e, "ES9+ relay failed"),
        Err(e) => tracing::info!(function, error = %e, "ES9+ relay: the SM-DP+ refused"),
        Ok(_) => {}
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_that_would_change_the_url_are_refused() {
        assert!(check_address("smdp.example.com:8443").is_ok());
        assert!(check_address("localhost:1234").is_ok());
        for bad in ["", "a/b", "user@host", "host?x", "host#f", "a b"] {
            assert!(check_address(bad).is_err(), "{bad}");
        }
    }
}
