//! ESipa, ASN.1 binding (SGP.32 v1.2 §6.3, functions §5.14): `POST /gsma/rsp2/asn1` on the device listener,
//! `Content-Type: application/x-gsma-rsp-asn1`, one DER `EsipaMessageFromIpaToEim` per request body and one
//! `EsipaMessageFromEimToIpa` per response. Translates bytes ↔ the calls of [`crate::eim::esipa_service::EimService`]
//! (shared with the JSON binding); no business rule lives here.
//!
//! - `X-Admin-Protocol` is required (INTEROP.md, ESipa): missing → HTTP 400; any `gsma/rsp/v2.x.y` or
//!   `v3.x.y` is accepted. A body that is not an ESipa request → HTTP 400. Responses carry
//!   `Content-Type: application/x-gsma-rsp-asn1` and `X-Admin-Protocol: gsma/rsp/v2.5.0`.
//! - GetEimPackage `BF4F`: the next queued package exactly as stored (`BF4F L BF51 …`, `BF52 …` or `BF54 …`),
//!   else `eimPackageError noEimPackageAvailable` (`BF4F 03 02 01 01`), or eidNotFound(2) / invalidEid(3) /
//!   undefinedError(127).
//! - ProvideEimPackageResult `BF50` with any EimPackageResult alternative (EuiccPackageResult alone or in
//!   EprAndNotifications, IpaEuiccDataResponse, ProfileDownloadTriggerResult, eimPackageResultResponseError):
//!   answered with EimAcknowledgements `BF50 { BF53 { 80 seqNumber } }` for a signed result (so the IPA can
//!   delete it from the eUICC), `emptyResponse` (`BF50 02 30 00`) otherwise, or `provideEimPackageResultError`
//!   eidNotFound(2) / invalidEid(3) / missingEid(4) / undefinedError(127) — a tampered or unmatched result is
//!   refused with undefinedError and changes no order.
//! - TransferEimPackageResponse `BF4E` (the IPA's answer to a package the eIM pushed): its result is recorded
//!   like ProvideEimPackageResult; answered HTTP 204 (no ESipa message answers it).
//! - Indirect download (§5.14.1–§5.14.3, §5.14.7, §5.14.8): `BF39`, `BF3B`, `BF3A`, `BF41` relayed in process to
//!   rspd's SM-DP+ ([`crate::eim::indirect`]) and answered with their `…ResponseEsipa` (`…OkEsipa [0]` or the
//!   function's error integer); HandleNotification `BF3D` → the SM-DP+ notification inbox (or, with a
//!   provideEimPackageResult, the eIM), answered HTTP 204.
//! - All database and crypto work runs on the blocking pool.
//! - rspd's abuse limits (issue 10 item 4, [`crate::http::limits`]): HTTP 429 with `Retry-After` (text body) for the
//!   per-EID rate (GetEimPackage, relayed AuthenticateClient), 503 for the open-session cap — not ESipa errors.

use crate::logging::pii;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::codec::encode;
use crate::codec::sgp32::{
    AuthenticateClientResponseEsipa, EimAcknowledgements, Empty, EsipaMessageFromIpaToEim,
    GetBoundProfilePackageResponseEsipa, GetEimPackageResponse, InitiateAuthenticationResponseEsipa,
    ProvideEimPackageResultResponse, SequenceNumber,
};
use crate::codec::tlv::{self, Tag, Tlv};
use crate::eim::error::EIM_PACKAGE_ERROR_UNDEFINED;
use crate::eim::esipa_service::{log_eim_error, EimService};
use crate::eim::indirect::RelayError;
use crate::eim::service::{ReceivedResult, RecordedResult};
use crate::eim::{DeviceContact, EimError};
use crate::http::binding::{self, ADMIN_PROTOCOL};

/// The ASN.1 binding's media type.
pub const CONTENT_TYPE_ASN1: &str = "application/x-gsma-rsp-asn1";
/// Largest accepted request body (an EprAndNotifications with notifications is a few KiB; a BPP is not
/// sent this way).
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// Routes of the ASN.1 binding (registered by [`crate::http::device::configure`]).
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
    // Received bytes of the parts that are signed or relayed as is (the typed decode above validated them).
    let Ok(top) = tlv::parse_single(&body) else {
        return plain(StatusCode::BAD_REQUEST, "not a single ESipa message".into());
    };
    let raw = |tag: u32| top.child(Tag(tag)).ok().flatten().map(|t| t.raw().to_vec());
    let value = |tag: u32| top.child(Tag(tag)).ok().flatten().map(|t| t.value().to_vec());
    match message {
        EsipaMessageFromIpaToEim::GetEimPackageRequest(request) => {
            let contact = DeviceContact {
                r_plmn: request.r_plmn.as_ref().map(|p| {
                    let mut plmn = [0u8; 3];
                    plmn.copy_from_slice(p.as_ref());
                    plmn
                }),
                state_change_cause: request.state_change_cause,
            };
            if let Err(wait) = svc.check_eid_rate(request.eid_value.as_ref()) {
                return crate::http::limits::rate_limited(wait, true);
            }
            get_eim_package_response(svc.get_eim_package(request.eid_value.to_vec(), contact).await)
        }
        EsipaMessageFromIpaToEim::ProvideEimPackageResult(request) => {
            let eid_value = request.eid_value.map(|e| e.to_vec());
            // ePRAndNotifications: the notifications go to their SM-DP+ (§3.2.3 / SGP.22 §5.6.4) once the result
            // is verified.
            let alternative = top
                .children()
                .ok()
                .and_then(|c| c.iter().find(|t| t.tag() != Tag(0x5A)).map(|t| t.raw().to_vec()))
                .unwrap_or_default();
            match eim_package_result_of_bf50(&top) {
                Ok(received) => provide_eim_package_result_response(
                    svc.record_result_and_forward(eid_value, received, &alternative).await,
                ),
                Err(e) => provide_eim_package_result_response(Err(e)),
            }
        }
        EsipaMessageFromIpaToEim::TransferEimPackageResponse(_) => {
            // `BF4E` is EXPLICIT: its one child is the alternative.
            let alternative = top.children().ok().and_then(|c| c.first().map(|t| (t.tag().0, t.raw().to_vec())));
            match alternative {
                Some((0x05, _)) => {}
                Some((0x02, code)) => {
                    tracing::warn!(code = ?code, "TransferEimPackage: the IPA reported eimPackageError")
                }
                Some((_, der)) => match ReceivedResult::from_eim_package_result(&der) {
                    Ok(received) => {
                        let _ = svc.record_result_and_forward(None, received, &der).await;
                    }
                    Err(e) => log_eim_error("TransferEimPackage", &e),
                },
                None => return plain(StatusCode::BAD_REQUEST, "empty TransferEimPackageResponse".into()),
            }
            no_content()
        }
        EsipaMessageFromIpaToEim::InitiateAuthenticationRequestEsipa(request) => {
            let challenge = request.euicc_challenge.to_vec();
            let address = request.smdp_address.map(|a| a.to_string());
            let info1 = raw(0xBF20);
            let result = svc.initiate_authentication(challenge, info1, address).await;
            if let Some(refused) = overload(&result) {
                return refused;
            }
            asn1(match result {
                Ok(ok) => Ok(ok_esipa(
                    0xBF39,
                    &[
                        &tlv::encode(Tag(0x80), ok.transaction_id.as_bytes()),
                        &ok.server_signed1,
                        &ok.server_signature1,
                        &ok.euicc_ci_pkid_to_be_used,
                        &ok.server_certificate,
                    ],
                )),
                Err(e) => encode(&InitiateAuthenticationResponseEsipa::InitiateAuthenticationErrorEsipa(
                    e.initiate_authentication_error_code(),
                )),
            })
        }
        EsipaMessageFromIpaToEim::AuthenticateClientRequestEsipa(_) => {
            let (Some(tx), Some(asr)) = (value(0x80), raw(0xBF38)) else {
                return plain(StatusCode::BAD_REQUEST, "AuthenticateClientRequestEsipa without its fields".into());
            };
            let result = svc.authenticate_client(tx, asr).await;
            if let Some(refused) = overload(&result) {
                return refused;
            }
            asn1(match result {
                Ok(ok) => Ok(ok_esipa(
                    0xBF3B,
                    &[
                        &tlv::encode(Tag(0x80), ok.transaction_id.as_bytes()),
                        &ok.profile_metadata,
                        &ok.smdp_signed2,
                        &ok.smdp_signature2,
                        &ok.smdp_certificate,
                    ],
                )),
                Err(e) => encode(&AuthenticateClientResponseEsipa::AuthenticateClientErrorEsipa(
                    e.authenticate_client_error_code(),
                )),
            })
        }
        EsipaMessageFromIpaToEim::GetBoundProfilePackageRequestEsipa(_) => {
            let (Some(tx), Some(pdr)) = (value(0x80), raw(0xBF21)) else {
                return plain(StatusCode::BAD_REQUEST, "GetBoundProfilePackageRequestEsipa without its fields".into());
            };
            let tx_do = tlv::encode(Tag(0x80), &tx);
            let result = svc.get_bound_profile_package(tx, pdr).await;
            asn1(match result {
                Ok(bpp) => Ok(ok_esipa(0xBF3A, &[&tx_do, &bpp])),
                Err(e) => encode(&GetBoundProfilePackageResponseEsipa::GetBoundProfilePackageErrorEsipa(
                    e.get_bound_profile_package_error_code(),
                )),
            })
        }
        EsipaMessageFromIpaToEim::CancelSessionRequestEsipa(_) => {
            let (Some(tx), Some(csr)) = (value(0x80), value(0xA1)) else {
                return plain(StatusCode::BAD_REQUEST, "CancelSessionRequestEsipa without its fields".into());
            };
            let result = svc.cancel_session(tx, csr).await;
            asn1(Ok(match result {
                // cancelSessionOk [0] CancelSessionOk (an empty SEQUENCE).
                Ok(()) => tlv::encode(Tag(0xBF41), &tlv::encode(Tag(0xA0), &[])),
                Err(e) => tlv::encode(Tag(0xBF41), &integer_do(0x81, e.cancel_session_error_code())),
            }))
        }
        EsipaMessageFromIpaToEim::HandleNotificationEsipa(_) => {
            if let Some(pending) = value(0xA0) {
                return match svc.handle_notification(pending).await {
                    Ok(_) => no_content(),
                    Err(e) => plain(StatusCode::BAD_REQUEST, e.to_string()),
                };
            }
            let Some(bf50) = top.child(Tag(0xBF50)).ok().flatten() else {
                return plain(StatusCode::BAD_REQUEST, "HandleNotificationEsipa without a notification".into());
            };
            let eid_value = bf50.child(Tag(0x5A)).ok().flatten().map(|t| t.value().to_vec());
            if let Ok(received) = eim_package_result_of_bf50(&bf50) {
                let _ = svc.record_result(eid_value, received).await;
            }
            no_content()
        }
    }
}

/// rspd's abuse limits refusing a relayed step (per-EID rate, open-session cap): HTTP 429/503, not an ESipa error.
fn overload<T>(result: &Result<T, RelayError>) -> Option<HttpResponse> {
    match result {
        Err(RelayError::Es9(e)) => crate::http::limits::overload_response(e, true),
        _ => None,
    }
}

/// The EimPackageResult alternative inside ProvideEimPackageResult `BF50 { [5A eid] alternative }`.
fn eim_package_result_of_bf50(bf50: &Tlv<'_>) -> Result<ReceivedResult, EimError> {
    let malformed = |reason: String| EimError::Malformed { what: "ProvideEimPackageResult", reason };
    let children = bf50.children().map_err(|e| malformed(e.to_string()))?;
    let alternative =
        children.iter().find(|c| c.tag() != Tag(0x5A)).ok_or_else(|| malformed("no eimPackageResult".into()))?;
    ReceivedResult::from_eim_package_result(alternative.raw())
}

/// `TAG { A0 { parts… } }`: an `…OkEsipa [0]` inside its EXPLICIT response CHOICE.
fn ok_esipa(tag: u32, parts: &[&[u8]]) -> Vec<u8> {
    tlv::encode(Tag(tag), &tlv::encode_constructed(Tag(0xA0), parts.iter().copied()))
}

/// A context-tagged INTEGER data object (`81 01 7F` …), minimal two's complement.
fn integer_do(tag: u32, value: i64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let mut start = 0;
    while start < 7
        && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
            || (bytes[start] == 0xFF && bytes[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    tlv::encode(Tag(tag), &bytes[start..])
}

fn get_eim_package_response(result: Result<Option<crate::eim::PackageOrder>, EimError>) -> HttpResponse {
    match result {
        // The stored package as signed, inside the EXPLICIT [79] CHOICE.
        Ok(Some(order)) => {
            tracing::info!(eid = %pii(&order.eid), order = order.id, counter_value = order.counter_value, "eIM package dispatched");
            asn1(Ok(tlv::encode(Tag(0xBF4F), &order.package_der)))
        }
        Ok(None) => asn1(encode(&GetEimPackageResponse::NO_EIM_PACKAGE_AVAILABLE)),
        Err(e) => {
            log_eim_error("GetEimPackage", &e);
            asn1(encode(&GetEimPackageResponse::EimPackageError(e.esipa_error_code())))
        }
    }
}

fn provide_eim_package_result_response(result: Result<RecordedResult, EimError>) -> HttpResponse {
    match result {
        Ok(recorded) => {
            let response = match recorded.acknowledged_seq_number() {
                Some(seq) => {
                    ProvideEimPackageResultResponse::EimAcknowledgements(EimAcknowledgements(vec![SequenceNumber(seq)]))
                }
                None => ProvideEimPackageResultResponse::EmptyResponse(Empty {}),
            };
            asn1(encode(&response))
        }
        Err(e) => {
            let code = match e.esipa_error_code() {
                c @ 2..=4 => c,
                _ => EIM_PACKAGE_ERROR_UNDEFINED,
            };
            asn1(encode(&ProvideEimPackageResultResponse::ProvideEimPackageResultError(code)))
        }
    }
}

/// `X-Admin-Protocol` present and `gsma/rsp/v2.x.y` or `v3.x.y`; `Content-Type` the ASN.1 one (parameters
/// tolerated).
fn check_headers(req: &HttpRequest) -> Result<(), String> {
    binding::check_admin_protocol(req, true).map_err(|e| e.to_string())?;
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

fn no_content() -> HttpResponse {
    HttpResponse::NoContent().insert_header(("X-Admin-Protocol", ADMIN_PROTOCOL)).finish()
}

fn plain(status: StatusCode, message: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("X-Admin-Protocol", ADMIN_PROTOCOL))
        .content_type("text/plain")
        .body(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_data_objects_are_minimal() {
        assert_eq!(integer_do(0x81, 1), [0x81, 0x01, 0x01]);
        assert_eq!(integer_do(0x81, 127), [0x81, 0x01, 0x7F]);
        assert_eq!(integer_do(0x81, 128), [0x81, 0x02, 0x00, 0x80]);
        assert_eq!(integer_do(0x81, 0), [0x81, 0x01, 0x00]);
        assert_eq!(integer_do(0x81, -1), [0x81, 0x01, 0xFF]);
    }

    #[test]
    fn ok_responses_wrap_their_parts_in_a0() {
        assert_eq!(ok_esipa(0xBF41, &[]), [0xBF, 0x41, 0x02, 0xA0, 0x00]);
        assert_eq!(ok_esipa(0xBF3A, &[&[0x80, 0x01, 0x07]]), [0xBF, 0x3A, 0x05, 0xA0, 0x03, 0x80, 0x01, 0x07]);
    }

    #[test]
    fn eim_package_result_alternatives_are_told_apart() {
        let epr = [0xBF, 0x51, 0x00];
        let bf50 = tlv::encode_constructed(Tag(0xBF50), [&[0x5A, 0x01, 0x00][..], &epr]);
        let top = tlv::parse_single(&bf50).unwrap();
        assert_eq!(eim_package_result_of_bf50(&top).unwrap(), ReceivedResult::EuiccPackageResult(epr.to_vec()));
        let wrapped = tlv::encode(Tag(0x30), &epr);
        assert_eq!(
            ReceivedResult::from_eim_package_result(&wrapped).unwrap(),
            ReceivedResult::EuiccPackageResult(epr.to_vec())
        );
        for (der, kind) in [
            (vec![0xBF, 0x52, 0x00], "ipa"),
            (vec![0xBF, 0x54, 0x00], "trigger"),
            (vec![0xA0, 0x03, 0x02, 0x01, 0x01], "error"),
        ] {
            let r = ReceivedResult::from_eim_package_result(&der).unwrap();
            let matches = match kind {
                "ipa" => matches!(r, ReceivedResult::IpaEuiccDataResponse(_)),
                "trigger" => matches!(r, ReceivedResult::ProfileDownloadTriggerResult(_)),
                _ => matches!(r, ReceivedResult::ResponseError(_)),
            };
            assert!(matches, "{kind}: {r:?}");
        }
        assert!(ReceivedResult::from_eim_package_result(&[0x04, 0x00]).is_err());
        assert!(ReceivedResult::from_eim_package_result(&[0xBF]).is_err());
    }
}
