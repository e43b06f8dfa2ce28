//! ES9+ JSON binding (SGP.22 v2.5 §6.5; functions §5.6): `POST /gsma/rsp2/es9plus/<function>` on the device
//! listener. Translates JSON ↔ the domain functions in [`crate::smdp::es9`]; no business rule lives here.
//!
//! - Request bodies: the §6.5.2 field names; binary fields are base64 of DER, `transactionId` hex. The JSON
//!   `header` object is optional (some LPAs send none). Malformed JSON, base64 or ASN.1 → HTTP 200 with
//!   `"status":"Failed"` and a status code, never a 500.
//! - `X-Admin-Protocol`: any `gsma/rsp/v2.x.y` or `v3.x.y` is accepted, a missing one tolerated; other
//!   values → Failed 1.3.2/3.1. Responses carry `X-Admin-Protocol: gsma/rsp/v2.5.0` and
//!   `Content-Type: application/json;charset=UTF-8`.
//! - handleNotification stores the received bytes durably, answers 204 at once and is processed by the
//!   background worker ([`SmdpService::wake_notification_worker`]).
//! - Database and crypto work runs in `web::block`, never on an actix worker thread.
//! - rspd's abuse limits answer HTTP 429 (per-EID rate, checked in AuthenticateClient once the EID is proven) or 503
//!   (too many sessions without an order, InitiateAuthentication) with `Retry-After` ([`crate::http::limits`]).

use actix_web::http::header::{HeaderValue, CONTENT_TYPE};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::http::binding::{self, AdminProtocolError, ADMIN_PROTOCOL};
use crate::smdp::es9::{self, Es9Error, SmdpContext};
use crate::smdp::service::SmdpService;
use crate::smdp::{DownloadRepository, TransactionId};

/// Largest accepted request body (an AuthenticateClient with two certificates is a few KiB).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Routes of ES9+ (registered by [`crate::http::device::configure`] when an [`SmdpService`] is configured).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/gsma/rsp2/es9plus")
            .app_data(web::PayloadConfig::new(MAX_REQUEST_BYTES))
            .route("/initiateAuthentication", web::post().to(initiate_authentication))
            .route("/authenticateClient", web::post().to(authenticate_client))
            .route("/getBoundProfilePackage", web::post().to(get_bound_profile_package))
            .route("/handleNotification", web::post().to(handle_notification))
            .route("/cancelSession", web::post().to(cancel_session)),
    );
}

// ---- request bodies (§6.5.2) ----

/// Also ESipa.InitiateAuthentication's JSON body (SGP.32 v1.2 §6.4.1 uses the same three fields).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct InitiateAuthenticationRequest {
    pub(super) euicc_challenge: Option<String>,
    pub(super) euicc_info1: Option<String>,
    pub(super) smdp_address: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthenticateClientRequest {
    transaction_id: Option<String>,
    authenticate_server_response: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetBoundProfilePackageRequest {
    transaction_id: Option<String>,
    prepare_download_response: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HandleNotificationRequest {
    pending_notification: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CancelSessionRequest {
    transaction_id: Option<String>,
    cancel_session_response: Option<String>,
}

// ---- handlers ----

async fn initiate_authentication(req: HttpRequest, body: web::Bytes, svc: web::Data<SmdpService>) -> HttpResponse {
    respond(async {
        check_admin_protocol(&req)?;
        let r: InitiateAuthenticationRequest = parse_json(&body)?;
        let challenge = base64_field("euiccChallenge", r.euicc_challenge)?;
        let info1 = base64_field("euiccInfo1", r.euicc_info1)?;
        let address = r.smdp_address.ok_or(Es9Error::MissingField { field: "smdpAddress" })?;
        let ok = blocking(&svc, move |ctx, repo| {
            es9::initiate_authentication(ctx, repo, &challenge, &info1, &address, OffsetDateTime::now_utc())
        })
        .await?;
        Ok(binding::initiate_authentication_fields(&ok, "euiccCiPKIdToBeUsed"))
    })
    .await
}

async fn authenticate_client(req: HttpRequest, body: web::Bytes, svc: web::Data<SmdpService>) -> HttpResponse {
    respond(async {
        check_admin_protocol(&req)?;
        let r: AuthenticateClientRequest = parse_json(&body)?;
        let tx = transaction_id_field(r.transaction_id)?;
        let asr = base64_field("authenticateServerResponse", r.authenticate_server_response)?;
        let ok =
            blocking(&svc, move |ctx, repo| es9::authenticate_client(ctx, repo, &tx, &asr, OffsetDateTime::now_utc()))
                .await?;
        Ok(binding::authenticate_client_fields(&ok))
    })
    .await
}

async fn get_bound_profile_package(req: HttpRequest, body: web::Bytes, svc: web::Data<SmdpService>) -> HttpResponse {
    respond(async {
        check_admin_protocol(&req)?;
        let r: GetBoundProfilePackageRequest = parse_json(&body)?;
        let tx = transaction_id_field(r.transaction_id)?;
        let pdr = base64_field("prepareDownloadResponse", r.prepare_download_response)?;
        let hex_tx = tx.to_hex();
        let bpp = blocking(&svc, move |ctx, repo| {
            es9::get_bound_profile_package(ctx, repo, &tx, &pdr, OffsetDateTime::now_utc())
        })
        .await?;
        Ok(json!({ "transactionId": hex_tx, "boundProfilePackage": BASE64.encode(&bpp) }))
    })
    .await
}

/// §5.6.4 / §6.5.2.4: 204 for every notification that arrives (the LPA then deletes it; an error would only make it
/// send the same bytes again). One that is not a DER PendingNotification is answered 204 too but not stored.
async fn handle_notification(req: HttpRequest, body: web::Bytes, svc: web::Data<SmdpService>) -> HttpResponse {
    let stored = async {
        check_admin_protocol(&req)?;
        let r: HandleNotificationRequest = parse_json(&body)?;
        let pending = base64_field("pendingNotification", r.pending_notification)?;
        if let Err(e) = es9::check_pending_notification(&pending) {
            tracing::info!(error = %e, "ES9+ HandleNotification: not a PendingNotification, not stored");
            return Ok(None);
        }
        blocking(&svc, move |_, repo| repo.insert_notification(&pending).map_err(Es9Error::from)).await.map(Some)
    }
    .await;
    match stored {
        Ok(id) => {
            if let Some(id) = id {
                tracing::debug!(notification = id, "ES9+ HandleNotification stored");
                (svc.wake_notification_worker)();
            }
            let mut response = HttpResponse::NoContent().finish();
            response.headers_mut().insert(
                actix_web::http::header::HeaderName::from_static("x-admin-protocol"),
                HeaderValue::from_static(ADMIN_PROTOCOL),
            );
            response
        }
        Err(e) => failed(&e),
    }
}

async fn cancel_session(req: HttpRequest, body: web::Bytes, svc: web::Data<SmdpService>) -> HttpResponse {
    respond(async {
        check_admin_protocol(&req)?;
        let r: CancelSessionRequest = parse_json(&body)?;
        let tx = transaction_id_field(r.transaction_id)?;
        let csr = base64_field("cancelSessionResponse", r.cancel_session_response)?;
        blocking(&svc, move |ctx, repo| es9::cancel_session(ctx, repo, &tx, &csr, OffsetDateTime::now_utc())).await?;
        Ok(json!({}))
    })
    .await
}

// ---- helpers ----

/// Runs a domain call on the blocking pool.
async fn blocking<T: Send + 'static>(
    svc: &SmdpService,
    f: impl FnOnce(&SmdpContext, &dyn DownloadRepository) -> Result<T, Es9Error> + Send + 'static,
) -> Result<T, Es9Error> {
    let (ctx, repo) = (svc.ctx.clone(), svc.repo.clone());
    binding::blocking(move || f(&ctx, repo.downloads()), Es9Error::internal).await
}

/// Any `gsma/rsp/v2.x.y` or `v3.x.y` (INTEROP.md); absent is tolerated.
fn check_admin_protocol(req: &HttpRequest) -> Result<(), Es9Error> {
    binding::check_admin_protocol(req, false).map_err(|e| match e {
        AdminProtocolError::Unsupported(value) => Es9Error::UnsupportedProtocol(value),
        AdminProtocolError::Missing => Es9Error::UnsupportedProtocol(String::new()),
    })
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Es9Error> {
    binding::parse_json(body).map_err(|e| Es9Error::InvalidField { field: "JSON body", detail: e.error.to_string() })
}

fn base64_field(field: &'static str, value: Option<String>) -> Result<Vec<u8>, Es9Error> {
    let value = value.ok_or(Es9Error::MissingField { field })?;
    binding::base64_bytes(&value).map_err(|detail| Es9Error::InvalidField { field, detail })
}

fn transaction_id_field(value: Option<String>) -> Result<TransactionId, Es9Error> {
    let value = value.ok_or(Es9Error::MissingField { field: "transactionId" })?;
    TransactionId::from_hex(value.trim()).map_err(|detail| Es9Error::InvalidField { field: "transactionId", detail })
}

/// Wraps a handler body: its fields on success, a Failed status otherwise (always HTTP 200).
async fn respond(f: impl std::future::Future<Output = Result<Value, Es9Error>>) -> HttpResponse {
    match f.await {
        Ok(mut fields) => {
            if let Value::Object(map) = &mut fields {
                map.insert("header".into(), json!({ "functionExecutionStatus": { "status": "Executed-Success" } }));
            }
            json_response(&fields)
        }
        Err(e) => failed(&e),
    }
}

fn failed(e: &Es9Error) -> HttpResponse {
    // Per-EID rate and open-session cap: HTTP 429/503 with Retry-After, not a function failure (issue 10 item 4).
    if let Some(response) = crate::http::limits::overload_response(e, false) {
        return response;
    }
    let (subject, reason) = e.status_code();
    match e {
        Es9Error::Internal(detail) => tracing::error!(%detail, "ES9+ internal error"),
        // Above debug the error's kind only: its text may name a matchingId or an EID (issue 10 item 9).
        _ => {
            tracing::info!(subject, reason, error = %crate::logging::variant(e), "ES9+ function failed");
            tracing::debug!(subject, reason, error = %e, "ES9+ function failed (detail)");
        }
    }
    json_response(&json!({
        "header": { "functionExecutionStatus": {
            "status": "Failed",
            "statusCodeData": { "subjectCode": subject, "reasonCode": reason, "message": e.to_string() },
        } }
    }))
}

fn json_response(body: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json;charset=UTF-8"))
        .insert_header(("X-Admin-Protocol", ADMIN_PROTOCOL))
        .body(body.to_string())
}
