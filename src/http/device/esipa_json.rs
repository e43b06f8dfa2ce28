//! ESipa, JSON binding (SGP.32 v1.2 §6.4, functions §5.14): `POST /gsma/rsp2/esipa/<function>` on the device
//! listener for every function the ASN.1 binding serves. Translates JSON ↔ the calls of
//! [`crate::eim::esipa_service::EimService`] (shared with [`super::esipa_asn1`]); no business rule lives here.
//!
//! Wire rules (§6.4.1, INTEROP.md): binary fields are base64 of DER; `transactionId` / `eimTransactionId` are
//! hex; `eidValue` is the 32-digit EID; `euiccChallenge` is base64 of the 16 raw bytes; requests carry no JSON
//! header (one is tolerated). Every answer is HTTP 200 with `header.functionExecutionStatus` — `Failed` with
//! `statusCodeData` (subjectCode, reasonCode, message) on error — except handleNotification and
//! transferEimPackage, answered 204. Malformed JSON / base64 / hex / DER → `Failed` 1.6/2.1 (2.2 for a missing
//! field), never a 500.
//!
//! Function-specific status codes (SGP.32 v1.2 §5.14.5 Table 18, §5.14.6 Table 21): eidNotFound 8.1.1/3.9,
//! invalidEid 8.1.1/2.1, missingEid 8.1.1/2.2, noEimPackageAvailable 8.1.1/3.7 (getEimPackage also carries the
//! `eimPackageError` integer of its `oneOf` body); relayed SM-DP+ errors keep their SGP.22 code.
//!
//! rspd's abuse limits (issue 10 item 4, [`crate::http::limits`]) answer outside the function status: HTTP 429 with
//! `Retry-After` for the per-EID rate (GetEimPackage, relayed AuthenticateClient), 503 for the open-session cap.

use crate::logging::pii;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::codec::encode;
use crate::codec::sgp32::{EimAcknowledgements, SequenceNumber};
use crate::eim::error::{
    EIM_PACKAGE_ERROR_EID_NOT_FOUND, EIM_PACKAGE_ERROR_INVALID_EID, EIM_PACKAGE_ERROR_MISSING_EID,
};
use crate::eim::esipa_service::EimService;
use crate::eim::indirect::RelayError;
use crate::eim::service::ReceivedResult;
use crate::eim::{DeviceContact, EimError, PackageKind};
use crate::http::binding::{self, ADMIN_PROTOCOL};
use crate::http::device::es9::InitiateAuthenticationRequest;

/// Largest accepted request body.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// `eimPackageError noEimPackageAvailable(1)`.
const NO_EIM_PACKAGE_AVAILABLE: i64 = 1;

/// Routes of the JSON binding (registered by [`crate::http::device::configure`]).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/gsma/rsp2/esipa")
            .app_data(web::PayloadConfig::new(MAX_REQUEST_BYTES))
            .route("/getEimPackage", web::post().to(get_eim_package))
            .route("/provideEimPackageResult", web::post().to(provide_eim_package_result))
            .route("/transferEimPackage", web::post().to(transfer_eim_package))
            .route("/initiateAuthentication", web::post().to(initiate_authentication))
            .route("/authenticateClient", web::post().to(authenticate_client))
            .route("/getBoundProfilePackage", web::post().to(get_bound_profile_package))
            .route("/handleNotification", web::post().to(handle_notification))
            .route("/cancelSession", web::post().to(cancel_session)),
    );
}

/// A failed function: `(subjectCode, reasonCode, message)` plus extra body fields.
struct Failure {
    subject: String,
    reason: String,
    message: String,
    body: Map<String, Value>,
    /// A refusal by rspd's abuse limits: this HTTP answer (429/503) instead of a function failure.
    refused: Option<Box<HttpResponse>>,
}

impl Failure {
    fn new(subject: &str, reason: &str, message: impl Into<String>) -> Failure {
        Failure {
            subject: subject.to_owned(),
            reason: reason.to_owned(),
            message: message.into(),
            body: Map::new(),
            refused: None,
        }
    }
    fn invalid(field: &str, detail: impl std::fmt::Display) -> Failure {
        Failure::new("1.6", "2.1", format!("invalid {field}: {detail}"))
    }
    fn missing(field: &str) -> Failure {
        Failure::new("1.6", "2.2", format!("missing {field}"))
    }
}

impl From<RelayError> for Failure {
    fn from(e: RelayError) -> Failure {
        let (subject, reason) = e.status_code();
        let mut failure = Failure::new(subject, reason, e.to_string());
        if let RelayError::Es9(e) = &e {
            failure.refused = crate::http::limits::overload_response(e, false).map(Box::new);
        }
        failure
    }
}

/// Status codes of GetEimPackage / ProvideEimPackageResult (SGP.32 v1.2 Tables 18 and 21).
fn eim_failure(e: &EimError) -> Failure {
    crate::eim::esipa_service::log_eim_error("ESipa JSON", e);
    match e.esipa_error_code() {
        EIM_PACKAGE_ERROR_EID_NOT_FOUND => Failure::new("8.1.1", "3.9", e.to_string()),
        EIM_PACKAGE_ERROR_INVALID_EID => Failure::new("8.1.1", "2.1", e.to_string()),
        EIM_PACKAGE_ERROR_MISSING_EID => Failure::new("8.1.1", "2.2", e.to_string()),
        _ if matches!(e, EimError::BadEuiccSignature(_)) => Failure::new("8.1", "6.1", e.to_string()),
        _ if e.is_internal() => Failure::new("1.2", "4.2", "eIM internal error, try again later"),
        _ => Failure::new("1.2", "4.2", e.to_string()),
    }
}

// ---- request bodies (§6.4.1; InitiateAuthentication's is ES9+'s) ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetEimPackageRequest {
    eid_value: Option<String>,
    /// `rPLMN`: the 3 bytes as hex (6 digits) or base64.
    #[serde(rename = "rPLMN")]
    r_plmn: Option<String>,
    state_change_cause: Option<i64>,
}

/// `rPLMN` of a JSON GetEimPackage: 6 hex digits or base64 of the 3 bytes.
fn r_plmn_field(value: Option<String>) -> Result<Option<[u8; 3]>, Failure> {
    let Some(text) = value else { return Ok(None) };
    let bytes = if text.len() == 6 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(&text).ok()
    } else {
        BASE64.decode(&text).ok()
    };
    bytes
        .and_then(|b| <[u8; 3]>::try_from(b.as_slice()).ok())
        .map(Some)
        .ok_or_else(|| Failure::new("1.6", "2.1", "rPLMN must be 3 bytes (6 hex digits or base64)"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProvideEimPackageResultRequest {
    eid_value: Option<String>,
    eim_package_result: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransactionRequest {
    transaction_id: Option<String>,
    authenticate_server_response: Option<String>,
    prepare_download_response: Option<String>,
    cancel_session_response: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HandleNotificationRequest {
    pending_notification: Option<String>,
    provide_eim_package_result: Option<String>,
}

// ---- handlers ----

async fn get_eim_package(req: HttpRequest, body: web::Bytes, svc: Option<web::Data<EimService>>) -> HttpResponse {
    respond(async {
        let svc = prelude(&req, svc)?;
        let r: GetEimPackageRequest = parse_json(&body)?;
        let eid_value = eid_field(r.eid_value)?.ok_or_else(|| Failure::new("8.1.1", "2.2", "missing eidValue"))?;
        if let Err(wait) = svc.check_eid_rate(&eid_value) {
            let mut f = Failure::new("1.2", "4.2", "too many requests for this eUICC");
            f.refused = Some(Box::new(crate::http::limits::rate_limited(wait, false)));
            return Err(f);
        }
        let contact = DeviceContact { r_plmn: r_plmn_field(r.r_plmn)?, state_change_cause: r.state_change_cause };
        match svc.get_eim_package(eid_value, contact).await {
            Ok(Some(order)) => {
                tracing::info!(eid = %pii(&order.eid), order = order.id, counter_value = order.counter_value, "eIM package dispatched");
                let field = match order.kind() {
                    Some(PackageKind::IpaEuiccDataRequest) => "ipaEuiccDataRequest",
                    Some(PackageKind::ProfileDownloadTriggerRequest) => "profileDownloadTriggerRequest",
                    _ => "euiccPackageRequest",
                };
                let mut body = Map::new();
                body.insert(field.into(), json!(BASE64.encode(&order.package_der)));
                Ok(Value::Object(body))
            }
            Ok(None) => {
                let mut f = Failure::new("8.1.1", "3.7", "no eIM package available");
                f.body.insert("eimPackageError".into(), json!(NO_EIM_PACKAGE_AVAILABLE));
                Err(f)
            }
            Err(e) => {
                let mut f = eim_failure(&e);
                f.body.insert("eimPackageError".into(), json!(e.esipa_error_code()));
                Err(f)
            }
        }
    })
    .await
}

async fn provide_eim_package_result(
    req: HttpRequest,
    body: web::Bytes,
    svc: Option<web::Data<EimService>>,
) -> HttpResponse {
    respond(async {
        let svc = prelude(&req, svc)?;
        let r: ProvideEimPackageResultRequest = parse_json(&body)?;
        let eid_value = eid_field(r.eid_value)?;
        let der = base64_field("eimPackageResult", r.eim_package_result)?;
        let received =
            ReceivedResult::from_eim_package_result(&der).map_err(|e| Failure::invalid("eimPackageResult", e))?;
        // ePRAndNotifications: the notifications go to their SM-DP+ (§3.2.3 / SGP.22 §5.6.4) once the result is
        // verified.
        let recorded = svc.record_result_and_forward(eid_value, received, &der).await.map_err(|e| eim_failure(&e))?;
        Ok(match recorded.acknowledged_seq_number() {
            Some(seq) => {
                let acks = encode(&EimAcknowledgements(vec![SequenceNumber(seq)]))
                    .map_err(|e| Failure::new("1.2", "4.2", e.to_string()))?;
                json!({ "eimAcknowledgements": BASE64.encode(acks) })
            }
            None => json!({}),
        })
    })
    .await
}

/// The IPA's TransferEimPackageResponse (§6.4.1.4): one of `euiccPackageResult`, `ePRAndNotifications`
/// (`{euiccPackageResult, notificationList}`), `ipaEuiccDataResponse`, `eimPackageReceived`, `eimPackageError`.
async fn transfer_eim_package(req: HttpRequest, body: web::Bytes, svc: Option<web::Data<EimService>>) -> HttpResponse {
    let outcome = async {
        let svc = prelude(&req, svc)?;
        let r: Map<String, Value> = parse_json(&body)?;
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let result = r
            .get("euiccPackageResult")
            .and_then(text)
            .or_else(|| r.get("ePRAndNotifications").and_then(|e| e.get("euiccPackageResult")).and_then(text))
            .or_else(|| r.get("ipaEuiccDataResponse").and_then(text));
        if let Some(b64) = result {
            let der = base64_field("euiccPackageResult", Some(b64))?;
            let received = ReceivedResult::from_eim_package_result(&der).map_err(|e| Failure::invalid("result", e))?;
            svc.record_result(None, received).await.map_err(|e| eim_failure(&e))?;
        } else if let Some(code) = r.get("eimPackageError") {
            tracing::warn!(%code, "TransferEimPackage: the IPA reported eimPackageError");
        } else if r.get("eimPackageReceived").is_none() {
            return Err(Failure::missing("TransferEimPackageResponse alternative"));
        }
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => no_content(),
        Err(f) => failed(f),
    }
}

async fn initiate_authentication(
    req: HttpRequest,
    body: web::Bytes,
    svc: Option<web::Data<EimService>>,
) -> HttpResponse {
    respond(async {
        let svc = prelude(&req, svc)?;
        let r: InitiateAuthenticationRequest = parse_json(&body)?;
        let challenge = base64_field("euiccChallenge", r.euicc_challenge)?;
        let info1 = r.euicc_info1.map(|v| base64_field("euiccInfo1", Some(v))).transpose()?;
        let address = r.smdp_address;
        let ok = svc.initiate_authentication(challenge, info1, address).await?;
        Ok(binding::initiate_authentication_fields(&ok, "euiccCiPKIdentifierToBeUsed"))
    })
    .await
}

async fn authenticate_client(req: HttpRequest, body: web::Bytes, svc: Option<web::Data<EimService>>) -> HttpResponse {
    respond(async {
        let svc = prelude(&req, svc)?;
        let r: TransactionRequest = parse_json(&body)?;
        let tx = hex_field("transactionId", r.transaction_id)?;
        let asr = base64_field("authenticateServerResponse", r.authenticate_server_response)?;
        let ok = svc.authenticate_client(tx, asr).await?;
        Ok(binding::authenticate_client_fields(&ok))
    })
    .await
}

async fn get_bound_profile_package(
    req: HttpRequest,
    body: web::Bytes,
    svc: Option<web::Data<EimService>>,
) -> HttpResponse {
    respond(async {
        let svc = prelude(&req, svc)?;
        let r: TransactionRequest = parse_json(&body)?;
        let tx = hex_field("transactionId", r.transaction_id)?;
        let pdr = base64_field("prepareDownloadResponse", r.prepare_download_response)?;
        let hex_tx = hex::encode_upper(&tx);
        let bpp = svc.get_bound_profile_package(tx, pdr).await?;
        Ok(json!({ "transactionId": hex_tx, "boundProfilePackage": BASE64.encode(&bpp) }))
    })
    .await
}

async fn cancel_session(req: HttpRequest, body: web::Bytes, svc: Option<web::Data<EimService>>) -> HttpResponse {
    respond(async {
        let svc = prelude(&req, svc)?;
        let r: TransactionRequest = parse_json(&body)?;
        let tx = hex_field("transactionId", r.transaction_id)?;
        let csr = base64_field("cancelSessionResponse", r.cancel_session_response)?;
        svc.cancel_session(tx, csr).await?;
        Ok(json!({}))
    })
    .await
}

async fn handle_notification(req: HttpRequest, body: web::Bytes, svc: Option<web::Data<EimService>>) -> HttpResponse {
    let outcome = async {
        let svc = prelude(&req, svc)?;
        let r: HandleNotificationRequest = parse_json(&body)?;
        if let Some(pending) = r.pending_notification {
            let pending = base64_field("pendingNotification", Some(pending))?;
            svc.handle_notification(pending).await?;
            return Ok(());
        }
        // provideEimPackageResult: base64 of ProvideEimPackageResult `BF50 { [5A eid] result }`.
        let der = base64_field("pendingNotification", r.provide_eim_package_result)?;
        let top = crate::codec::tlv::parse_single(&der).map_err(|e| Failure::invalid("provideEimPackageResult", e))?;
        let children = top.children().map_err(|e| Failure::invalid("provideEimPackageResult", e))?;
        let eid = children.iter().find(|c| c.tag().0 == 0x5A).map(|c| c.value().to_vec());
        if let Some(result) = children.iter().find(|c| c.tag().0 != 0x5A) {
            let received = ReceivedResult::from_eim_package_result(result.raw())
                .map_err(|e| Failure::invalid("provideEimPackageResult", e))?;
            let _ = svc.record_result_and_forward(eid, received, result.raw()).await;
        }
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => no_content(),
        Err(f) => failed(f),
    }
}

// ---- helpers ----

fn prelude(req: &HttpRequest, svc: Option<web::Data<EimService>>) -> Result<web::Data<EimService>, Failure> {
    binding::check_admin_protocol(req, false).map_err(|e| Failure::new("1.3.2", "3.1", e.to_string()))?;
    svc.ok_or_else(|| Failure::new("1.2", "4.2", "the eIM is not configured"))
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    binding::parse_json(body).map_err(|e| Failure::invalid("JSON body", e.error))
}

fn base64_field(field: &'static str, value: Option<String>) -> Result<Vec<u8>, Failure> {
    let value = value.ok_or_else(|| Failure::missing(field))?;
    binding::base64_bytes(&value).map_err(|detail| Failure::invalid(field, detail))
}

fn hex_field(field: &'static str, value: Option<String>) -> Result<Vec<u8>, Failure> {
    let value = value.ok_or_else(|| Failure::missing(field))?;
    binding::hex_bytes(&value).map_err(|detail| Failure::invalid(field, detail))
}

/// `eidValue` "^[0-9]{32}$" → the 16 `eidValue` bytes (the EID digits read as hex).
fn eid_field(value: Option<String>) -> Result<Option<Vec<u8>>, Failure> {
    let Some(value) = value else { return Ok(None) };
    let value = value.trim();
    if value.len() != 32 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Failure::new("8.1.1", "2.1", format!("invalid eidValue {value:?}: 32 decimal digits expected")));
    }
    Ok(Some(hex::decode(value).map_err(|e| Failure::invalid("eidValue", e))?))
}

async fn respond<T: Into<Value>>(f: impl std::future::Future<Output = Result<T, Failure>>) -> HttpResponse {
    match f.await {
        Ok(fields) => {
            let mut fields: Value = fields.into();
            if !fields.is_object() {
                fields = json!({});
            }
            if let Value::Object(map) = &mut fields {
                map.insert("header".into(), json!({ "functionExecutionStatus": { "status": "Executed-Success" } }));
            }
            json_response(&fields)
        }
        Err(f) => failed(f),
    }
}

fn failed(f: Failure) -> HttpResponse {
    if let Some(response) = f.refused {
        return *response;
    }
    tracing::info!(subject = %f.subject, reason = %f.reason, "ESipa JSON function failed");
    tracing::debug!(subject = %f.subject, reason = %f.reason, message = %f.message, "ESipa JSON function failed (detail)");
    let mut body = f.body;
    body.insert(
        "header".into(),
        json!({ "functionExecutionStatus": {
            "status": "Failed",
            "statusCodeData": { "subjectCode": f.subject, "reasonCode": f.reason, "message": f.message },
        } }),
    );
    json_response(&Value::Object(body))
}

fn json_response(body: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json;charset=UTF-8"))
        .insert_header(("X-Admin-Protocol", ADMIN_PROTOCOL))
        .body(body.to_string())
}

fn no_content() -> HttpResponse {
    HttpResponse::NoContent().insert_header(("X-Admin-Protocol", ADMIN_PROTOCOL)).finish()
}
