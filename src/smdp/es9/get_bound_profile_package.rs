//! ES9+.GetBoundProfilePackage (SGP.22 v2.5 §5.6.2; flow §3.1.3 steps 1–7, confirmation code §3.1.3.1).
//!
//! The SM-DP+ SHALL (§5.6.2, paraphrased): find the session by transactionId; verify euiccSignature2 over
//! `euiccSigned2 || smdpSignature2 DO` with PK.EUICC.ECDSA; verify hashCc when a confirmation code is
//! required (limited attempts); generate the one-time key pair, derive the session keys with otPK.EUICC.ECKA
//! and build the Bound Profile Package. "If the SM-DP+ receives a new GetBoundProfilePackage for the same
//! transactionId with the same otPK.EUICC.ECKA, it SHALL return the same BPP"; with another otPK it refuses
//! ("BPP not available for a new binding"): a profile is bound at most once.
//!
//! The operator is told (ES2+.HandleDownloadProgressInfo, §5.3.5): point 2 "ConfirmationFailure" for each wrong
//! or missing confirmation code (reason 6.4 when the last attempt is used and the order is blocked), point 3
//! "BPP download" when the BPP is bound and stored or the step is refused for an authenticated session.

use crate::logging::pii;
use time::OffsetDateTime;

use super::context::SmdpContext;
use super::error::Es9Error;
use crate::bsp::{build_bpp, BppInputs, ReplaceSessionKeys};
use crate::codec::sgp22::{
    ConfigureIsdpRequest, EuiccSigned2, Iccid, PrepareDownloadResponse, StoreMetadataRequest,
    PATH_EUICC_SIGNED2_IN_PREPARE_DOWNLOAD_RESPONSE,
};
use crate::codec::{decode, encode, Received};
use crate::smdp::download_repository::OrderOutcome;
use crate::smdp::ids::TransactionId;
use crate::smdp::order::confirmation_code_matches;
use crate::smdp::progress::{NotificationPoint, PointStatus, ProgressEvent};
use crate::smdp::session::{Authenticated, BppDelivered, SessionState};
use crate::smdp::DownloadRepository;

/// §5.6.2. `prepare_download_response` is the received DER (`BF21…`). Returns the BPP (`BF36…`).
pub fn get_bound_profile_package(
    ctx: &SmdpContext,
    repo: &dyn DownloadRepository,
    transaction_id: &TransactionId,
    prepare_download_response: &[u8],
    now: OffsetDateTime,
) -> Result<Vec<u8>, Es9Error> {
    let tx = transaction_id.to_hex();
    let step = repo
        .find_session(&tx)?
        .ok_or_else(|| Es9Error::UnknownTransactionId { detail: "no such session".into() })?
        .into_download_step(now)?;
    let authenticated = match &step {
        Ok(a) => a,
        Err(delivered) => &delivered.authenticated,
    };
    let result = download(ctx, repo, transaction_id, &step, authenticated, prepare_download_response, now);
    let status = match &result {
        Ok(_) => PointStatus::Success,
        // Reported as point 2 by the confirmation code check; an internal fault is not the operator's business.
        Err(
            Es9Error::ConfirmationCodeMissing
            | Es9Error::ConfirmationCodeRefused { .. }
            | Es9Error::ConfirmationCodeAttemptsExceeded
            | Es9Error::Internal(_),
        ) => return result,
        Err(e) => PointStatus::failed(e.status_code(), e.to_string()),
    };
    // The success went in with the BPP (one per session); one failure per session and status code (the LPA may
    // retry a refused request and then succeed).
    if let PointStatus::Failed { subject_code, reason_code, .. } = &status {
        let key = format!("bpp:{tx}:{subject_code}/{reason_code}");
        ctx.progress.emit_logged(repo, download_event(authenticated, status.clone(), key));
    }
    result
}

/// A progress event at point 3 "BPP download" about the session's order.
fn download_event(session: &Authenticated, status: PointStatus, key: String) -> ProgressEvent {
    session_event(session, NotificationPoint::BppDownload, status, key)
}

fn session_event(session: &Authenticated, point: NotificationPoint, status: PointStatus, key: String) -> ProgressEvent {
    ProgressEvent::new(&session.operator_id, &session.iccid, Some(session.eid.as_str()), point, status, key)
}

/// §5.6.2 for a session in Authenticated (or BppDelivered: a retry).
fn download(
    ctx: &SmdpContext,
    repo: &dyn DownloadRepository,
    transaction_id: &TransactionId,
    step: &Result<Authenticated, BppDelivered>,
    authenticated: &Authenticated,
    prepare_download_response: &[u8],
    now: OffsetDateTime,
) -> Result<Vec<u8>, Es9Error> {
    let tx = transaction_id.to_hex();

    let invalid = |e: crate::codec::CodecError| Es9Error::InvalidField {
        field: "prepareDownloadResponse",
        detail: e.to_string(),
    };
    let ok = match decode::<PrepareDownloadResponse>(prepare_download_response).map_err(invalid)? {
        PrepareDownloadResponse::DownloadResponseOk(ok) => ok,
        PrepareDownloadResponse::DownloadResponseError(e) => {
            return Err(Es9Error::EuiccReportedError { what: "PrepareDownloadResponse", code: e.download_error_code })
        }
    };
    let signed2: Received<EuiccSigned2> =
        Received::at(prepare_download_response, PATH_EUICC_SIGNED2_IN_PREPARE_DOWNLOAD_RESPONSE).map_err(invalid)?;
    let mut covered = signed2.raw.clone();
    covered.extend_from_slice(&authenticated.smdp_signature2);
    authenticated
        .euicc_public_key
        .verify(&covered, &ok.euicc_signature2.0)
        .map_err(|e| Es9Error::EuiccSignatureInvalid(format!("euiccSignature2: {e}")))?;
    if signed2.value.transaction_id.0.as_ref() != transaction_id.as_bytes() {
        return Err(Es9Error::UnknownTransactionId { detail: "euiccSigned2 names another transactionId".into() });
    }
    let otpk_euicc = signed2.value.euicc_otpk.0.to_vec();

    // A retry: the same BPP for the same otPK.EUICC, never a second binding.
    if let Err(delivered) = step {
        return if delivered.otpk_euicc == otpk_euicc {
            Ok(delivered.bpp.clone())
        } else {
            Err(Es9Error::BppUnavailableForNewBinding)
        };
    }

    if authenticated.cc_required {
        check_confirmation_code(ctx, repo, authenticated, signed2.value.hash_cc.as_ref().map(|h| h.as_slice()))?;
    }

    let bpp = bind_profile(ctx, repo, authenticated, &otpk_euicc)?;
    let progress =
        ctx.progress.for_transaction(download_event(authenticated, PointStatus::Success, format!("bpp:{tx}")));
    let (operator_id, iccid) = (&authenticated.operator_id, &authenticated.iccid);
    if repo.store_bpp_reporting(&tx, operator_id, iccid, &otpk_euicc, &bpp, progress.as_ref())? {
        ctx.progress.wake();
        tracing::info!(transaction_id = %tx, iccid = %pii(&authenticated.iccid), "ES9+ GetBoundProfilePackage: BPP delivered");
        return Ok(bpp);
    }
    // A concurrent request for the same session stored its BPP first: answer as a retry would.
    match repo
        .find_session(&tx)?
        .ok_or_else(|| Es9Error::UnknownTransactionId { detail: "no such session".into() })?
        .into_download_step(now)?
    {
        Err(delivered) if delivered.otpk_euicc == otpk_euicc => Ok(delivered.bpp),
        Err(_) => Err(Es9Error::BppUnavailableForNewBinding),
        Ok(_) => Err(Es9Error::internal("BPP could not be stored")),
    }
}

/// §3.1.3.1: hashCc = SHA256(SHA256(CC) || transactionId). A wrong or missing code ends the session (the
/// LPA starts again); each wrong code uses an attempt, and the last one blocks the order.
fn check_confirmation_code(
    ctx: &SmdpContext,
    repo: &dyn DownloadRepository,
    session: &Authenticated,
    hash_cc: Option<&[u8]>,
) -> Result<(), Es9Error> {
    let tx = session.transaction_id.to_hex();
    let order = repo
        .find_order_by_id(&session.operator_id, session.order_id)?
        .ok_or_else(|| Es9Error::internal("the session's order is gone"))?;
    let Some(stored) = order.cc_hash.as_deref() else {
        return Ok(());
    };
    let end = |outcome| repo.end_session(&tx, &[SessionState::Authenticated], SessionState::Cancelled, outcome);
    // Notification point 2 (§5.3.5): each wrong or missing code; 6.4 when the last attempt blocks the order
    // (issue 4 left "tell the operator" of a blocked order to this event).
    let failure_event = |e: &Es9Error| {
        let status = PointStatus::failed(e.status_code(), e.to_string());
        session_event(session, NotificationPoint::ConfirmationFailure, status, format!("cc:{tx}"))
    };
    let Some(hash_cc) = hash_cc else {
        end(OrderOutcome::Release)?;
        let e = Es9Error::ConfirmationCodeMissing;
        ctx.progress.emit_logged(repo, failure_event(&e));
        return Err(e);
    };
    if confirmation_code_matches(stored, session.transaction_id.as_bytes(), hash_cc) {
        return Ok(());
    }
    let refusal = |attempts_left: i32| {
        if attempts_left <= 0 {
            Es9Error::ConfirmationCodeAttemptsExceeded
        } else {
            Es9Error::ConfirmationCodeRefused { attempts_left }
        }
    };
    let progress = |left: i32| ctx.progress.for_transaction(failure_event(&refusal(left)));
    let attempts_left =
        repo.record_confirmation_code_failure_reporting(&session.operator_id, session.order_id, &progress)?;
    ctx.progress.wake();
    end(OrderOutcome::Release)?;
    if attempts_left <= 0 {
        tracing::warn!(operator = %session.operator_id, iccid = %pii(&session.iccid), order = session.order_id,
            "confirmation code attempts exhausted: order blocked, profile in Error; operator told");
    }
    Err(refusal(attempts_left))
}

/// §3.1.3 steps 4–6: one-time key pair in the key store, ECKA with otPK.EUICC.ECKA, session keys, BPP.
fn bind_profile(
    ctx: &SmdpContext,
    repo: &dyn DownloadRepository,
    session: &Authenticated,
    otpk_euicc: &[u8],
) -> Result<Vec<u8>, Es9Error> {
    let package = repo
        .find_profile_package(&session.operator_id, &session.iccid)?
        .ok_or_else(|| Es9Error::ProfileNotAvailable(format!("no profile package for ICCID {}", session.iccid)))?;
    let type_metadata = repo.profile_type_metadata(&session.operator_id, &session.iccid)?;
    let store_metadata =
        encode(&store_metadata_request(&(&package).into(), type_metadata.as_ref())?).map_err(Es9Error::internal)?;
    let configure_isdp = encode(&ConfigureIsdpRequest { dp_proprietary_data: None }).map_err(Es9Error::internal)?;
    let dppb_key = crate::pki::keystore::KeyRef { role: crate::pki::keystore::KeyRole::DpPb, curve: session.curve };
    let (otsk, otpk_dp) = ctx.keys.generate_one_time_key(session.curve).map_err(Es9Error::internal)?;
    let bpp = build_bpp(
        ctx.keys.as_ref(),
        &BppInputs {
            transaction_id: session.transaction_id.as_bytes(),
            otsk_dp_ecka: &otsk,
            otpk_dp_ecka: &otpk_dp,
            otpk_euicc_ecka: otpk_euicc,
            host_id: &ctx.host_id,
            eid: &session.eid.to_bytes(),
            dppb_key: &dppb_key,
            configure_isdp: &configure_isdp,
            store_metadata: &store_metadata,
            profile: &package.package_der,
            replace_session_keys: ReplaceSessionKeys::Random,
        },
    );
    ctx.keys.forget_one_time_key(&otsk);
    bpp.map_err(|e| match e {
        crate::bsp::BspError::KeyStore(crate::pki::keystore::KeyStoreError::InvalidPeerKey(detail)) => {
            Es9Error::InvalidField { field: "euiccOtpk", detail }
        }
        other => Es9Error::internal(other),
    })
}

/// The StoreMetadataRequest (profileMetadata, §5.5.3) of a stored package: name, service provider and class as
/// resolved by the store (package override, else the profile type's), profile policy rules and notification
/// configuration from the profile type.
pub(crate) fn store_metadata_request(
    package: &crate::smdp::ProfileNames,
    type_metadata: Option<&crate::smdp::inventory::ProfileMetadata>,
) -> Result<StoreMetadataRequest, Es9Error> {
    let iccid = crate::profile::Iccid::new(&package.iccid).map_err(Es9Error::internal)?;
    Ok(StoreMetadataRequest {
        iccid: Iccid(iccid.to_ef_iccid().into()),
        service_provider_name: package.service_provider_name.as_str().into(),
        profile_name: package.profile_name.as_str().into(),
        icon_type: None,
        icon: None,
        profile_class: package.profile_class,
        notification_configuration_info: type_metadata.and_then(|m| m.notification_configuration_info()),
        profile_owner: None,
        profile_policy_rules: type_metadata.and_then(|m| m.ppr_ids()),
        service_specific_data_stored_in_euicc: None,
        service_specific_data_not_stored_in_euicc: None,
    })
}
