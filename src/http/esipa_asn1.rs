//! ESipa, ASN.1 binding (SGP.32 v1.2 §6.3, functions §5.14): `POST /gsma/rsp2/asn1` on the device listener,
//! `Content-Type: application/x-gsma-rsp-asn1`, one DER `EsipaMessageFromIpaToEim` per request body and one
//! `EsipaMessageFromEimToIpa` per response. Translates bytes ↔ the domain steps in [`crate::eim::service`];
//! no business rule lives here.
//!
//! - `X-Admin-Protocol` is required (INTEROP.md, ESipa): missing → HTTP 400; any `gsma/rsp/v2.x.y` or
//!   `v3.x.y` is accepted. A body that is not an ESipa request → HTTP 400. Responses carry
//!   `Content-Type: application/x-gsma-rsp-asn1` and `X-Admin-Protocol: gsma/rsp/v2.5.0`.
//! - GetEimPackage `BF4F`: the next queued EuiccPackageRequest exactly as signed (`BF4F L BF51 …`), else
//!   `eimPackageError noEimPackageAvailable` (`BF4F 03 02 01 01`), or eidNotFound(2) / invalidEid(3) /
//!   undefinedError(127).
//! - ProvideEimPackageResult `BF50` with an EuiccPackageResult (alone or in EprAndNotifications): verified over
//!   the received `BF51` bytes and recorded; answered with EimAcknowledgements `BF50 { BF53 { 80 seqNumber } }`
//!   for a signed result (so the IPA can delete it from the eUICC), `emptyResponse` (`BF50 02 30 00`) otherwise,
//!   or `provideEimPackageResultError` eidNotFound(2) / invalidEid(3) / missingEid(4) / undefinedError(127) —
//!   a tampered or unmatched result is refused with undefinedError and changes no order. Without the OPTIONAL
//!   `eidValue` the order is found by the result's eimTransactionId.
//! - LATER(issue 6): TransferEimPackage `BF4E`, the indirect download functions (`BF39`, `BF3B`, `BF3A`,
//!   `BF41`, `BF3D`) relayed to the SM-DP+, IpaEuiccDataResponse / ProfileDownloadTriggerResult results, the
//!   notification list of EprAndNotifications — answered HTTP 501 / emptyResponse for now. The JSON binding
//!   (`/gsma/rsp2/esipa/<function>`) goes in `esipa_json.rs` over the same [`crate::eim::service`] calls.
//! - All database and crypto work runs in `web::block`.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::codec::encode;
use crate::codec::sgp32::{
    EimAcknowledgements, Empty, EsipaMessageFromIpaToEim, GetEimPackageResponse, ProvideEimPackageResultResponse,
    SequenceNumber,
};
use crate::codec::tlv::{self, Tag};
use crate::eim::error::EIM_PACKAGE_ERROR_UNDEFINED;
use crate::eim::{service, EimContext, EimError};
use crate::store::Store;

/// The ASN.1 binding's media type.
pub const CONTENT_TYPE_ASN1: &str = "application/x-gsma-rsp-asn1";
/// The protocol version rspd answers with.
pub const ADMIN_PROTOCOL: &str = "gsma/rsp/v2.5.0";
/// Largest accepted request body (an EprAndNotifications with notifications is a few KiB; a BPP is not
/// sent this way).
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// What the ESipa handlers share.
#[derive(Clone)]
pub struct EimService {
    pub ctx: EimContext,
    pub store: Store,
}

/// Routes of the ASN.1 binding (registered by [`super::device::configure`]).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/gsma/rsp2/asn1")
            .app_data(web::PayloadConfig::new(MAX_REQUEST_BYTES))
            .route(web::post().to(esipa_asn1)),
    );
}

async fn esipa_asn1(req: HttpRequest, body: web::Bytes, svc: Option<web::Data<EimService>>) -> HttpResponse {
    if let Err(message) = check_headers(&req) {
        return plain(StatusCode::BAD_REQUEST, message);
    }
    let Some(svc) = svc else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "the eIM is not configured".into());
    };
    let message = match EsipaMessageFromIpaToEim::from_der(&body) {
        Ok(m) => m,
        Err(e) => return plain(StatusCode::BAD_REQUEST, format!("not an ESipa request (SGP.32 v1.2 §6.3): {e}")),
    };
    match message {
        EsipaMessageFromIpaToEim::GetEimPackageRequest(request) => {
            let eid_value = request.eid_value.to_vec();
            let svc = svc.clone();
            let result =
                web::block(move || service::get_eim_package(&svc.store, &svc.ctx, &eid_value, service::now_ms())).await;
            get_eim_package_response(flatten(result))
        }
        EsipaMessageFromIpaToEim::ProvideEimPackageResult(request) => {
            let eid_value = request.eid_value.map(|e| e.to_vec());
            let Some(euicc_package_result) = euicc_package_result_bytes(&body) else {
                // LATER(issue 6): IpaEuiccDataResponse, ProfileDownloadTriggerResult, EimPackageResultResponseError.
                return asn1(encode(&ProvideEimPackageResultResponse::EmptyResponse(Empty {})));
            };
            let svc = svc.clone();
            let result = web::block(move || {
                service::provide_eim_package_result(
                    &svc.store,
                    &svc.ctx,
                    eid_value.as_deref(),
                    &euicc_package_result,
                    service::now_ms(),
                )
            })
            .await;
            provide_eim_package_result_response(flatten(result))
        }
        // LATER(issue 6): indirect download relay and TransferEimPackage.
        other => {
            plain(StatusCode::NOT_IMPLEMENTED, format!("ESipa function not served yet: {}", function_name(&other)))
        }
    }
}

fn flatten<T>(r: Result<Result<T, EimError>, actix_web::error::BlockingError>) -> Result<T, EimError> {
    r.map_err(|e| EimError::Store(format!("blocking pool: {e}")))?
}

fn get_eim_package_response(result: Result<Option<crate::eim::PackageOrder>, EimError>) -> HttpResponse {
    match result {
        // The stored EuiccPackageRequest as signed, inside the EXPLICIT [79] CHOICE.
        Ok(Some(order)) => {
            tracing::info!(eid = %order.eid, order = order.id, counter_value = order.counter_value, "eIM package dispatched");
            asn1(Ok(tlv::encode(Tag(0xBF4F), &order.package_der)))
        }
        Ok(None) => asn1(encode(&GetEimPackageResponse::NO_EIM_PACKAGE_AVAILABLE)),
        Err(e) => {
            log_error("GetEimPackage", &e);
            asn1(encode(&GetEimPackageResponse::EimPackageError(e.esipa_error_code())))
        }
    }
}

fn provide_eim_package_result_response(result: Result<service::RecordedResult, EimError>) -> HttpResponse {
    match result {
        Ok(recorded) => {
            tracing::info!(
                eid = %recorded.order.eid,
                order = recorded.order.id,
                state = %recorded.order.state,
                reason = recorded.order.failure_reason.as_deref().unwrap_or(""),
                repeated = recorded.repeated,
                "eIM package result recorded"
            );
            let response = match recorded.outcome.seq_number() {
                Some(seq) => {
                    ProvideEimPackageResultResponse::EimAcknowledgements(EimAcknowledgements(vec![SequenceNumber(seq)]))
                }
                None => ProvideEimPackageResultResponse::EmptyResponse(Empty {}),
            };
            asn1(encode(&response))
        }
        Err(e) => {
            log_error("ProvideEimPackageResult", &e);
            let code = match e.esipa_error_code() {
                c @ 2..=4 => c,
                _ => EIM_PACKAGE_ERROR_UNDEFINED,
            };
            asn1(encode(&ProvideEimPackageResultResponse::ProvideEimPackageResultError(code)))
        }
    }
}

/// The received EuiccPackageResult `BF51 …` inside ProvideEimPackageResult `BF50`: directly
/// (`euiccPackageResult`) or inside `ePRAndNotifications` (`30 { BF51 …, … }`).
fn euicc_package_result_bytes(body: &[u8]) -> Option<Vec<u8>> {
    let top = tlv::parse_single(body).ok()?;
    if let Ok(Some(epr)) = top.child(Tag(0xBF51)) {
        return Some(epr.raw().to_vec());
    }
    let and_notifications = top.child(Tag(0x30)).ok()??;
    Some(and_notifications.child(Tag(0xBF51)).ok()??.raw().to_vec())
}

fn log_error(function: &str, e: &EimError) {
    if e.is_internal() {
        tracing::error!(function, error = %e, "ESipa request failed");
    } else {
        tracing::warn!(function, error = %e, "ESipa request refused");
    }
}

/// `X-Admin-Protocol` present and `gsma/rsp/v2.x.y` or `v3.x.y`; `Content-Type` the ASN.1 one (parameters
/// tolerated).
fn check_headers(req: &HttpRequest) -> Result<(), String> {
    let Some(value) = req.headers().get("x-admin-protocol") else {
        return Err("X-Admin-Protocol header missing (SGP.32 v1.2 §6.3 ASN.1 binding)".into());
    };
    let value = value.to_str().unwrap_or_default().trim();
    let supported = value
        .strip_prefix("gsma/rsp/v")
        .and_then(|v| v.split('.').next())
        .is_some_and(|major| major == "2" || major == "3");
    if !supported {
        return Err(format!("unsupported X-Admin-Protocol {value:?}"));
    }
    let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case(CONTENT_TYPE_ASN1) {
        return Err(format!("Content-Type must be {CONTENT_TYPE_ASN1}, not {content_type:?}"));
    }
    Ok(())
}

fn asn1(der: Result<Vec<u8>, crate::codec::CodecError>) -> HttpResponse {
    match der {
        Ok(der) => HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, CONTENT_TYPE_ASN1))
            .insert_header(("X-Admin-Protocol", ADMIN_PROTOCOL))
            .body(der),
        Err(e) => {
            tracing::error!(error = %e, "encoding an ESipa response failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
        }
    }
}

fn plain(status: StatusCode, message: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("X-Admin-Protocol", ADMIN_PROTOCOL))
        .content_type("text/plain")
        .body(message)
}

fn function_name(m: &EsipaMessageFromIpaToEim) -> &'static str {
    match m {
        EsipaMessageFromIpaToEim::InitiateAuthenticationRequestEsipa(_) => "InitiateAuthentication",
        EsipaMessageFromIpaToEim::AuthenticateClientRequestEsipa(_) => "AuthenticateClient",
        EsipaMessageFromIpaToEim::GetBoundProfilePackageRequestEsipa(_) => "GetBoundProfilePackage",
        EsipaMessageFromIpaToEim::CancelSessionRequestEsipa(_) => "CancelSession",
        EsipaMessageFromIpaToEim::HandleNotificationEsipa(_) => "HandleNotification",
        EsipaMessageFromIpaToEim::TransferEimPackageResponse(_) => "TransferEimPackage",
        EsipaMessageFromIpaToEim::GetEimPackageRequest(_) => "GetEimPackage",
        EsipaMessageFromIpaToEim::ProvideEimPackageResult(_) => "ProvideEimPackageResult",
    }
}
