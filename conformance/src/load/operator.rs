//! The operator's side of a load run, over mutual TLS on rspd's operator listener:
//! - ES2+ DownloadOrder by profileType + ConfirmOrder with releaseFlag (SGP.22 v2.5 §5.3.1, §5.3.2; JSON binding
//!   §6.5), which gives the matchingId a device then downloads with;
//! - the eIM's bulk eUICC import (`POST /api/v1/eim/euiccs`), so the polling devices are known to the eIM;
//! - eIM campaigns (`POST /api/v1/eim/campaigns`, `GET …/{id}`), which queue the packages devices then poll for.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ClientConfig;
use serde_json::{json, Value};

use crate::lpa::TrustAnchors;

const ADMIN_PROTOCOL: &str = "gsma/rsp/v2.5.0";

/// A mutual-TLS client of one operator listener.
pub struct OperatorClient {
    http: reqwest::blocking::Client,
    /// `https://host:port`.
    base: String,
    requester: String,
}

/// ES2+ calls made by this process: the `functionCallIdentifier`s stay unique when several clients (one per node)
/// call for the same operator.
static CALLS: AtomicU64 = AtomicU64::new(0);

/// Why an operator call failed: its status code (`subject/reason` of a Failed ES2+ answer, `http <status>`, or
/// `transport`) and a message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct OperatorError {
    pub code: String,
    pub message: String,
}

impl OperatorError {
    fn transport(e: impl std::fmt::Display) -> OperatorError {
        OperatorError { code: "transport".into(), message: e.to_string() }
    }
}

impl OperatorClient {
    /// A client for the operator listener `address` (`host:port`) that presents `cert`/`key` (PEM) and trusts
    /// only `anchors`.
    pub fn new(address: &str, anchors: &TrustAnchors, cert: &Path, key: &Path) -> Result<Arc<Self>, String> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<_, _>>())
            .map_err(|e| format!("{}: {e}", cert.display()))?;
        let private_key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(anchors.root_store().map_err(|e| e.to_string())?)
            .with_client_auth_cert(chain, private_key)
            .map_err(|e| e.to_string())?;
        let http = reqwest::blocking::Client::builder()
            .use_preconfigured_tls(tls)
            .user_agent("rsp-conformance-load")
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| e.to_string())?;
        let base = address.trim_end_matches('/');
        let base = if base.starts_with("https://") { base.to_owned() } else { format!("https://{base}") };
        Ok(Arc::new(OperatorClient { http, base, requester: "rsp-conformance-load".into() }))
    }

    /// One ES2+ function (§6.5): the answer's JSON object when Executed-Success.
    fn es2(&self, function: &str, mut body: Value) -> Result<Value, OperatorError> {
        let n = CALLS.fetch_add(1, Ordering::Relaxed);
        body["header"] = json!({
            "functionRequesterIdentifier": self.requester,
            "functionCallIdentifier": format!("load-{}-{n}", std::process::id()),
        });
        let response = self
            .http
            .post(format!("{}/gsma/rsp2/es2plus/{function}", self.base))
            .header("Content-Type", "application/json")
            .header("X-Admin-Protocol", ADMIN_PROTOCOL)
            .body(body.to_string())
            .send()
            .map_err(OperatorError::transport)?;
        let status = response.status();
        let bytes = response.bytes().map_err(OperatorError::transport)?;
        let answer: Value = serde_json::from_slice(&bytes).map_err(|e| OperatorError {
            code: format!("http {}", status.as_u16()),
            message: format!("not ES2+ JSON: {e}"),
        })?;
        let execution = &answer["header"]["functionExecutionStatus"];
        if execution["status"].as_str().is_some_and(|s| s.starts_with("Executed-")) {
            return Ok(answer);
        }
        let data = &execution["statusCodeData"];
        Err(OperatorError {
            code: format!(
                "{}/{}",
                data["subjectCode"].as_str().unwrap_or("?"),
                data["reasonCode"].as_str().unwrap_or("?")
            ),
            message: data["message"].as_str().unwrap_or("Failed").to_owned(),
        })
    }

    /// ES2+ DownloadOrder of one profile of `profile_type` for `eid` (§5.3.1): its ICCID.
    pub fn download_order(&self, profile_type: &str, eid: &str) -> Result<String, OperatorError> {
        let answer = self.es2("downloadOrder", json!({ "eid": eid, "profileType": profile_type }))?;
        answer["iccid"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| OperatorError { code: "malformed".into(), message: "no iccid in the answer".into() })
    }

    /// ES2+ ConfirmOrder with a generated matchingId and releaseFlag (§5.3.2): the matchingId.
    pub fn confirm_order(&self, iccid: &str, eid: &str) -> Result<String, OperatorError> {
        let answer = self.es2("confirmOrder", json!({ "iccid": iccid, "eid": eid, "releaseFlag": true }))?;
        answer["matchingId"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| OperatorError { code: "malformed".into(), message: "no matchingId in the answer".into() })
    }

    /// Registers eUICCs with the eIM by their certificates (DER), at most 20,000 per request: how many are
    /// registered now or were already.
    pub fn import_euiccs(&self, euiccs: &[EuiccImport]) -> Result<u64, OperatorError> {
        let mut known = 0;
        for chunk in euiccs.chunks(20_000) {
            let items: Vec<Value> = chunk
                .iter()
                .map(|e| {
                    let mut item = json!({ "certificate": B64.encode(&e.certificate) });
                    if let Some(token) = e.association_token {
                        item["associationToken"] = json!(token);
                    }
                    if let Some(label) = &e.label {
                        item["label"] = json!(label);
                    }
                    item
                })
                .collect();
            let report = self.api("POST", "/api/v1/eim/euiccs", Some(json!({ "euiccs": items })))?;
            known += report["registered"].as_u64().unwrap_or(0) + report["alreadyRegistered"].as_u64().unwrap_or(0);
        }
        Ok(known)
    }

    /// Starts an eIM campaign (`POST /api/v1/eim/campaigns`) of `intent` over the eUICCs labelled `label`, releasing
    /// up to `rate_per_minute` orders a minute with at most `max_in_flight` running: its view.
    pub fn create_campaign(
        &self,
        name: &str,
        intent: Value,
        label: &str,
        rate_per_minute: i64,
        max_in_flight: i64,
    ) -> Result<Value, OperatorError> {
        let body = json!({
            "name": name, "intent": intent, "filter": { "label": label },
            "ratePerMinute": rate_per_minute, "maxInFlight": max_in_flight,
        });
        self.api("POST", "/api/v1/eim/campaigns", Some(body))
    }

    /// A campaign's view (`GET /api/v1/eim/campaigns/{id}`): state and progress counts.
    pub fn campaign(&self, campaign_id: &str) -> Result<Value, OperatorError> {
        self.api("GET", &format!("/api/v1/eim/campaigns/{campaign_id}"), None)
    }

    /// One call of rspd's operator API: the JSON answer of a 2xx.
    fn api(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, OperatorError> {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url),
        };
        let request = match body {
            Some(b) => request.header("Content-Type", "application/json").body(b.to_string()),
            None => request,
        };
        let response = request.send().map_err(OperatorError::transport)?;
        let status = response.status();
        let bytes = response.bytes().map_err(OperatorError::transport)?;
        let answer: Value = serde_json::from_slice(&bytes).map_err(OperatorError::transport)?;
        if !status.is_success() {
            return Err(OperatorError { code: format!("http {}", status.as_u16()), message: answer.to_string() });
        }
        Ok(answer)
    }
}

/// One eUICC for the eIM's bulk import.
#[derive(Debug, Clone)]
pub struct EuiccImport {
    /// CERT.EUICC.ECDSA (DER).
    pub certificate: Vec<u8>,
    /// The associationToken the eUICC issued to this eIM at AddInitialEim, if any.
    pub association_token: Option<i64>,
    pub label: Option<String>,
}
