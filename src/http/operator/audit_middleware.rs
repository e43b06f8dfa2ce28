//! The operator listener's audit middleware (issue 5 item 7): one [`NewCall`] row per request — who (operator id,
//! client certificate subject and SHA-256 fingerprint), what (method, path, ICCID/EID/matchingId when known),
//! when, from where (peer address) and the outcome (HTTP status; for ES2+ JSON answers, SGP.22 v2.5 §6.5.2,
//! the `header.functionExecutionStatus.status`).
//!
//! It wraps the whole operator app outside [`crate::http::identity::require_operator`], so every route — including
//! routes added later — and every 401/403 refusal is recorded with no code in the handlers. Request bodies are
//! never stored: for ES2+ JSON requests only the top-level `iccid`, `eid` and `matchingId` strings are read.
//! The hash chain keeps the route pattern and keyed digests of those identifiers; their clear values and the path
//! as received live outside it (`audit_identifiers`, erasable).

use crate::clock::now_ms;
use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use serde_json::Value;

use crate::audit::NewCall;
use crate::fleet::FleetRepository;
use crate::http::identity::{OperatorIdentity, PeerCertificate};
use crate::pki::distinguished_name::render_subject;

/// Paths whose JSON bodies follow the ES2+/ESipa binding (`header`, `functionExecutionStatus`).
const FUNCTION_PREFIX: &str = "/gsma/";
/// Larger bodies are not looked into (they are passed on untouched).
const SNIFF_LIMIT: usize = 64 * 1024;

fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("application/json"))
}

/// The identifiers a request is about: path parameters, then top-level fields of an ES2+ JSON body.
#[derive(Default)]
struct Targets {
    iccid: Option<String>,
    eid: Option<String>,
    matching_id: Option<String>,
}

impl Targets {
    fn from_json(&mut self, body: &[u8]) {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else { return };
        let text = |key: &str| map.get(key).and_then(Value::as_str).map(|s| s.chars().take(64).collect::<String>());
        self.iccid = self.iccid.take().or_else(|| text("iccid"));
        self.eid = self.eid.take().or_else(|| text("eid"));
        self.matching_id = self.matching_id.take().or_else(|| text("matchingId"));
    }
}

/// `header.functionExecutionStatus.status` of an ES2+/ESipa JSON answer.
fn function_execution_status(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.pointer("/header/functionExecutionStatus/status").and_then(Value::as_str).map(str::to_owned)
}

/// Middleware for the whole operator listener: records the call in the audit trail once it is answered.
pub async fn record_call(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(store) = req.app_data::<web::Data<dyn FleetRepository>>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let mut call = NewCall {
        at_ms: now_ms(),
        peer: req.peer_addr().map(|a| a.to_string()),
        method: req.method().to_string(),
        path: req.path().chars().take(512).collect(),
        ..NewCall::default()
    };
    if let Some(cert) = req.conn_data::<PeerCertificate>() {
        call.actor_subject = Some(render_subject(&cert.0));
        call.actor_fingerprint = Some(hex::encode(openssl::sha::sha256(&cert.0)));
    }
    let function_call = req.path().starts_with(FUNCTION_PREFIX);
    let mut targets = Targets::default();
    let small = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n <= SNIFF_LIMIT);
    if function_call && small && is_json(req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok())) {
        if let Ok(bytes) = req.extract::<web::Bytes>().await {
            targets.from_json(&bytes);
            req.set_payload(Payload::from(bytes));
        }
    }

    let res = match next.call(req).await {
        Ok(res) => res,
        // An error no inner service turned into a response: still one row, with the status it will get.
        Err(e) => {
            call.status = e.as_response_error().status_code().as_u16();
            append(store, call).await;
            return Err(e);
        }
    };

    // The hashed row keeps the route pattern; the path as received (it may name an ICCID or EID) goes outside the
    // chain, where it can be erased (issue 10 item 9).
    if let Some(pattern) = res.request().resource_map().match_pattern(&call.path) {
        if pattern != call.path {
            call.path_detail = Some(std::mem::replace(&mut call.path, pattern));
        }
    }
    let info = res.request().match_info();
    let param = |names: &[&str]| names.iter().find_map(|n| info.get(n)).map(|v| v.chars().take(64).collect());
    call.iccid = param(&["iccid"]).or(targets.iccid);
    call.eid = param(&["eid"]).or(targets.eid);
    call.matching_id = param(&["matchingId", "matching_id"]).or(targets.matching_id);
    let identity = res.request().extensions().get::<OperatorIdentity>().cloned();
    call.operator_id = identity.map(|i| i.operator_id);
    call.status = res.status().as_u16();

    let json_answer = is_json(res.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()));
    let res = if function_call && json_answer {
        let (request, response) = res.into_parts();
        let (response, body) = response.into_parts();
        let bytes = body::to_bytes_limited(body, SNIFF_LIMIT).await;
        match bytes {
            Ok(Ok(bytes)) => {
                call.outcome = function_execution_status(&bytes);
                ServiceResponse::new(request, response.set_body(BoxBody::new(bytes)))
            }
            // Too large or failed: the answer cannot be replayed; say so rather than pretend.
            _ => {
                tracing::warn!(path = %call.path, "audit: an ES2+ answer body could not be read back");
                ServiceResponse::new(request, response.set_body(BoxBody::new(web::Bytes::new())))
            }
        }
    } else {
        res.map_into_boxed_body()
    };
    if call.operator_id.is_none() && call.outcome.is_none() && matches!(call.status, 401 | 403) {
        call.outcome = Some(
            if call.actor_fingerprint.is_none() {
                "refused: no client certificate"
            } else {
                "refused: certificate not mapped to an operator"
            }
            .to_owned(),
        );
    }

    append(store, call).await;
    Ok(res)
}

/// Appends the row before the answer leaves; a store failure is logged (the answer is already decided).
async fn append(store: web::Data<dyn FleetRepository>, call: NewCall) {
    let path = call.path.clone();
    match web::block(move || store.append_call(&call)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(path = %path, error = %e, "audit: the call could not be recorded"),
        Err(e) => tracing::error!(path = %path, error = %e, "audit: the call could not be recorded"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_identifiers_are_taken_from_a_body() {
        let mut t = Targets::default();
        t.from_json(br#"{"header":{"functionCallIdentifier":"1"},"iccid":"8949","eid":"8904","matchingId":"AB-1","confirmationCode":"SECRET"}"#);
        assert_eq!(
            (t.iccid.as_deref(), t.eid.as_deref(), t.matching_id.as_deref()),
            (Some("8949"), Some("8904"), Some("AB-1"))
        );
        // A path parameter wins over the body; garbage and non-strings are ignored.
        let mut t = Targets { iccid: Some("path".into()), ..Targets::default() };
        t.from_json(br#"{"iccid":"body","eid":5}"#);
        assert_eq!((t.iccid.as_deref(), t.eid.as_deref()), (Some("path"), None));
        Targets::default().from_json(b"\xff not json");
    }

    #[test]
    fn function_execution_status_of_an_es2_answer() {
        let answer = br#"{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"8.2.1","reasonCode":"3.8"}}}}"#;
        assert_eq!(function_execution_status(answer).as_deref(), Some("Failed"));
        assert_eq!(function_execution_status(br#"{"items":[]}"#), None);
        assert_eq!(function_execution_status(b"<html>"), None);
    }
}
