//! ES9+.AuthenticateClient (SGP.22 v2.5 §5.6.3; flow §3.1.2 steps 14–21, order matching §3.1.1/§3.1.3.1).
//!
//! The SM-DP+ SHALL (§5.6.3, paraphrased): find the session by transactionId; verify CERT.EUM and
//! CERT.EUICC up to a trusted CI and the EID against the EUM's range; verify euiccSignature1 over
//! euiccSigned1 **as received**; check that transactionId and serverChallenge are the session's (the
//! challenge is single-use: the session leaves Initiated whatever the outcome); match the download order by
//! MatchingID (or by EID when there is none) and check its EID binding; generate smdpSigned2 with
//! ccRequiredFlag and sign `smdpSigned2 || euiccSignature1 DO` with SK.DPpb.ECDSA.
//!
//! Once an order is matched, the operator is told the outcome of the "eligibility and retry limit check"
//! (ES2+.HandleDownloadProgressInfo notification point 1, §5.3.5), success or refusal.

use crate::logging::pii;
use rasn::types::OctetString;
use time::OffsetDateTime;

use super::context::SmdpContext;
use super::error::Es9Error;
use super::get_bound_profile_package::store_metadata_request;
use crate::codec::sgp22::{
    self, AuthenticateServerResponse, CtxParams1, EuiccSigned1, SmdpSigned2,
    PATH_EUICC_SIGNED1_IN_AUTHENTICATE_SERVER_RESPONSE,
};
use crate::codec::tlv::{self, Tag};
use crate::codec::{decode, encode, Received};
use crate::pki::verify_euicc_chain;
use crate::smdp::device_lock::{DeviceIdentity, DeviceRefused};
use crate::smdp::download_repository::{BindError, OrderOutcome};
use crate::smdp::ids::{same_smdp_address, TransactionId};
use crate::smdp::progress::{NotificationPoint, PointStatus, ProgressEvent};
use crate::smdp::session::{AuthenticatedUpdate, Initiated, SessionState};
use crate::smdp::{DownloadRepository, OrderRecord, ProfileState};

/// The response fields (§6.5.2.8), as bytes.
#[derive(Debug, Clone)]
pub struct AuthenticateClientOk {
    pub transaction_id: TransactionId,
    /// StoreMetadataRequest DER (`BF25…`).
    pub profile_metadata: Vec<u8>,
    pub smdp_signed2: Vec<u8>,
    /// smdpSignature2 as its `5F37` data object.
    pub smdp_signature2: Vec<u8>,
    /// CERT.DPpb.ECDSA, DER.
    pub smdp_certificate: Vec<u8>,
}

/// §5.6.3. `authenticate_server_response` is the received DER (`BF38…`).
pub fn authenticate_client(
    ctx: &SmdpContext,
    repo: &dyn DownloadRepository,
    transaction_id: &TransactionId,
    authenticate_server_response: &[u8],
    now: OffsetDateTime,
) -> Result<AuthenticateClientOk, Es9Error> {
    let tx = transaction_id.to_hex();
    let session = repo
        .find_session(&tx)?
        .ok_or_else(|| Es9Error::UnknownTransactionId { detail: "no such session".into() })?
        .into_initiated(now)?;
    // The order and EID, once matched: the operator hears of the outcome from then on.
    let mut matched: Option<(OrderRecord, String)> = None;
    let result = authenticate(ctx, repo, session, authenticate_server_response, now, &mut matched);
    if let Err(e) = &result {
        // The IMEI lock refused the device: the operator is told below (point 1, Failed, the refusal's code).
        if let Es9Error::DeviceRefused(refused) = e {
            tracing::warn!(operator = %refused.operator_id, iccid = %pii(&refused.iccid), eid = %pii(&refused.eid),
                tac = %refused.device.tac, imei = %pii(refused.device.imei.as_deref().unwrap_or("-")),
                reason = %crate::logging::variant(&refused.refusal), "ES9+ AuthenticateClient: device refused by the order's IMEI lock");
        }
        // The serverChallenge is single-use: a failed attempt ends the session (a no-op if it moved on).
        if !matches!(e, Es9Error::Internal(_)) {
            repo.end_session(&tx, &[SessionState::Initiated], SessionState::Cancelled, OrderOutcome::Keep)?;
        }
    }
    // A refusal once the order was known (the success was enqueued with the binding).
    if let (Some((order, eid)), Err(e)) = (&matched, &result) {
        if !matches!(e, Es9Error::Internal(_)) {
            let status = PointStatus::failed(e.status_code(), e.to_string());
            ctx.progress.emit_logged(repo, eligibility_event(order, eid, &tx, status));
        }
    }
    result
}

/// Notification point 1, "eligibility and retry limit check", of one session (one event per session).
fn eligibility_event(order: &OrderRecord, eid: &str, tx: &str, status: PointStatus) -> ProgressEvent {
    let point = NotificationPoint::EligibilityAndRetryLimitCheck;
    ProgressEvent::new(&order.operator_id, &order.iccid, Some(eid), point, status, format!("eligibility:{tx}"))
}

fn authenticate(
    ctx: &SmdpContext,
    repo: &dyn DownloadRepository,
    session: Initiated,
    authenticate_server_response: &[u8],
    now: OffsetDateTime,
    matched: &mut Option<(OrderRecord, String)>,
) -> Result<AuthenticateClientOk, Es9Error> {
    let invalid = |e: crate::codec::CodecError| Es9Error::InvalidField {
        field: "authenticateServerResponse",
        detail: e.to_string(),
    };
    let ok = match decode::<AuthenticateServerResponse>(authenticate_server_response).map_err(invalid)? {
        AuthenticateServerResponse::AuthenticateResponseOk(ok) => ok,
        AuthenticateServerResponse::AuthenticateResponseError(e) => {
            return Err(Es9Error::EuiccReportedError {
                what: "AuthenticateServerResponse",
                code: e.authenticate_error_code,
            })
        }
    };
    let signed1: Received<EuiccSigned1> =
        Received::at(authenticate_server_response, PATH_EUICC_SIGNED1_IN_AUTHENTICATE_SERVER_RESPONSE)
            .map_err(invalid)?;

    // CI → EUM → eUICC and the EID range.
    let euicc =
        verify_euicc_chain(&ctx.trusted_cis, ok.eum_certificate.as_bytes(), ok.euicc_certificate.as_bytes(), now)
            .map_err(Es9Error::from_euicc_chain)?;
    // euiccSignature1 over euiccSigned1 as received.
    euicc
        .public_key
        .verify(&signed1.raw, &ok.euicc_signature1.0)
        .map_err(|e| Es9Error::EuiccSignatureInvalid(format!("euiccSignature1: {e}")))?;

    let signed = &signed1.value;
    if signed.transaction_id.0.as_ref() != session.transaction_id.as_bytes() {
        return Err(Es9Error::UnknownTransactionId { detail: "euiccSigned1 names another transactionId".into() });
    }
    if signed.server_challenge.as_slice() != session.server_challenge.as_slice() {
        return Err(Es9Error::EuiccSignatureInvalid("serverChallenge is not this session's".into()));
    }
    if !same_smdp_address(&session.server_address, &signed.server_address) {
        return Err(Es9Error::InvalidSmdpAddress {
            received: signed.server_address.to_string(),
            configured: session.server_address.clone(),
        });
    }

    // The EID is proven now (chain and euiccSignature1 over our serverChallenge): rspd's per-EID rate (issue 10
    // item 4) is applied before any order is looked at.
    if let Some(limiter) = &ctx.eid_rate {
        limiter
            .check(&euicc.eid)
            .map_err(|wait| Es9Error::RateLimited { retry_after_secs: crate::rate_limit::retry_after_secs(wait) })?;
    }

    // Order matching (§3.1.1): by MatchingID, or by EID when the MatchingID is absent or empty.
    let CtxParams1::CtxParamsForCommonAuthentication(params) = &signed.ctx_params1;
    let order = match params.matching_id.as_deref().filter(|m| !m.is_empty()) {
        Some(matching_id) => repo
            .find_order_by_matching_id(matching_id)?
            .ok_or_else(|| Es9Error::MatchingIdRefused(matching_id.to_owned()))?,
        None => repo.find_order_for_eid(&euicc.eid)?.ok_or_else(|| Es9Error::NoOrderForEid(euicc.eid.clone()))?,
    };
    *matched = Some((order.clone(), euicc.eid.clone()));
    check_order(&order, &euicc.eid)?;
    check_device(repo, &order, &euicc.eid, &params.device_info)?;

    let package = repo
        .find_profile_package(&order.operator_id, &order.iccid)?
        .ok_or_else(|| Es9Error::ProfileNotAvailable(format!("no profile package for ICCID {}", order.iccid)))?;
    let type_metadata = repo.profile_type_metadata(&order.operator_id, &order.iccid)?;
    let profile_metadata =
        encode(&store_metadata_request(&package, type_metadata.as_ref())?).map_err(Es9Error::internal)?;

    // smdpSigned2 and smdpSignature2 over smdpSigned2 || 5F37 40 euiccSignature1 (§5.6.3).
    let credentials = ctx
        .credentials_for(&session.ci_pkid)
        .ok_or_else(|| Es9Error::internal("the session's DP credentials are no longer configured"))?;
    let smdp_signed2 = encode(&SmdpSigned2 {
        transaction_id: sgp22::TransactionId(OctetString::from(session.transaction_id.as_bytes().to_vec())),
        cc_required_flag: order.cc_required(),
        bpp_euicc_otpk: None,
    })
    .map_err(Es9Error::internal)?;
    let mut signed_data = smdp_signed2.clone();
    tlv::encode_into(Tag(0x5F37), &ok.euicc_signature1.0, &mut signed_data);
    let signature = ctx.keys.sign(&credentials.dppb_key(), &signed_data).map_err(Es9Error::internal)?;
    let smdp_signature2 = tlv::encode(Tag(0x5F37), &signature.0);

    let update = AuthenticatedUpdate {
        eid: euicc.eid.clone(),
        order_id: order.id,
        operator_id: order.operator_id.clone(),
        iccid: order.iccid.clone(),
        euicc_public_key: euicc.public_key.uncompressed_point().to_vec(),
        smdp_signature2: smdp_signature2.clone(),
        cc_required: order.cc_required(),
    };
    let tx = session.transaction_id.to_hex();
    let progress = ctx.progress.for_transaction(eligibility_event(&order, &euicc.eid, &tx, PointStatus::Success));
    match repo.bind_session_to_order_reporting(&tx, &order, &update, progress.as_ref()) {
        Ok(()) => ctx.progress.wake(),
        Err(BindError::SessionGone) => {
            return Err(Es9Error::UnknownTransactionId { detail: "the serverChallenge was already used".into() })
        }
        Err(BindError::OrderTaken { state }) => {
            return Err(Es9Error::ProfileNotAvailable(format!(
                "another device is downloading this profile or has downloaded it (state {state})"
            )))
        }
        Err(BindError::Repo(e)) => return Err(e.into()),
    }
    tracing::info!(transaction_id = %session.transaction_id, eid = %pii(euicc.eid.as_str()), iccid = %pii(&order.iccid),
        operator = %order.operator_id, "ES9+ AuthenticateClient: order matched");

    Ok(AuthenticateClientOk {
        transaction_id: session.transaction_id,
        profile_metadata,
        smdp_signed2,
        smdp_signature2,
        smdp_certificate: credentials.dppb_certificate.clone(),
    })
}

/// rspd's IMEI lock: the order's allowed IMEIs/TACs against deviceInfo (absent IMEI with an IMEI-only lock: refused).
fn check_device(
    repo: &dyn DownloadRepository,
    order: &OrderRecord,
    eid: &str,
    device_info: &sgp22::DeviceInfo,
) -> Result<(), Es9Error> {
    let lock = repo.device_lock(&order.operator_id, &order.iccid)?;
    let device = DeviceIdentity::decode(device_info.tac.as_slice(), device_info.imei.as_ref().map(|i| i.as_slice()));
    lock.check(&device).map_err(|refusal| {
        Es9Error::DeviceRefused(Box::new(DeviceRefused {
            operator_id: order.operator_id.clone(),
            iccid: order.iccid.clone(),
            eid: eid.to_owned(),
            device,
            refusal,
        }))
    })
}

/// The order may be downloaded by this eUICC in this session.
fn check_order(order: &OrderRecord, eid: &str) -> Result<(), Es9Error> {
    if order.eid.as_deref().is_some_and(|bound| bound != eid) {
        return Err(Es9Error::EidMismatch { received: eid.to_owned() });
    }
    if order.cc_required() && order.cc_attempts_left <= 0 {
        return Err(Es9Error::ConfirmationCodeAttemptsExceeded);
    }
    if order.state != ProfileState::Released {
        return Err(Es9Error::ProfileNotAvailable(format!("the profile is {}", order.state)));
    }
    // A session already holding the order is checked by the store: the same eUICC may start over.
    Ok(())
}
