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
//!
//! The step, as AuthenticateClient's (issue 11): the request decoded once (no I/O); one read phase,
//! [`DownloadRepository::download_facts`] (the session, its order's confirmation code hash, its profile's package);
//! [`decide`] with no I/O (euiccSignature2, transactionId, a retry, the confirmation code); the BPP built with the
//! key store; one write transaction — the BPP stored with the operator's event
//! ([`DownloadRepository::store_bpp_reporting`]), or a refused code with its event
//! ([`DownloadRepository::refuse_confirmation_code`]), or only the refusal event. A retry of a delivered BPP
//! writes nothing.

use crate::logging::pii;
use time::OffsetDateTime;

use super::context::SmdpContext;
use super::error::Es9Error;
use crate::bsp::{build_bpp, BppInputs, ReplaceSessionKeys};
use crate::codec::sgp22::{
    ConfigureIsdpRequest, EuiccSigned2, Iccid, PrepareDownloadResponse, PrepareDownloadResponseOk,
    StoreMetadataRequest, PATH_EUICC_SIGNED2_IN_PREPARE_DOWNLOAD_RESPONSE,
};
use crate::codec::{decode, encode, Received};
use crate::smdp::download_repository::DownloadFacts;
use crate::smdp::ids::TransactionId;
use crate::smdp::order::confirmation_code_matches;
use crate::smdp::progress::{NotificationPoint, PointStatus, ProgressEvent};
use crate::smdp::session::{Authenticated, SessionRecord};
use crate::smdp::{DownloadRepository, ProfilePackageRecord};

/// A PrepareDownloadResponse (`BF21`) decoded once, with euiccSigned2 as received (euiccSignature2 covers it).
pub struct ReceivedPrepareDownload {
    pub ok: PrepareDownloadResponseOk,
    pub euicc_signed2: Received<EuiccSigned2>,
}

/// Decodes the received PrepareDownloadResponse (no I/O); the eUICC's error answer is an error here.
pub fn decode_prepare_download_response(der: &[u8]) -> Result<ReceivedPrepareDownload, Es9Error> {
    let invalid = |e: crate::codec::CodecError| Es9Error::InvalidField {
        field: "prepareDownloadResponse",
        detail: e.to_string(),
    };
    let ok = match decode::<PrepareDownloadResponse>(der).map_err(invalid)? {
        PrepareDownloadResponse::DownloadResponseOk(ok) => ok,
        PrepareDownloadResponse::DownloadResponseError(e) => {
            return Err(Es9Error::EuiccReportedError { what: "PrepareDownloadResponse", code: e.download_error_code })
        }
    };
    let euicc_signed2 = Received::at(der, PATH_EUICC_SIGNED2_IN_PREPARE_DOWNLOAD_RESPONSE).map_err(invalid)?;
    Ok(ReceivedPrepareDownload { ok, euicc_signed2 })
}

/// What [`decide`] concluded, before anything is written.
pub enum Decision {
    /// The session is not one to download on (unknown, used, expired): refused, nothing written.
    NoSession(Es9Error),
    /// Refused for an authenticated session: the operator is told at point 3 "BPP download".
    Refuse { session: Box<Authenticated>, error: Es9Error },
    /// A retry with the same otPK.EUICC: the BPP already delivered (§5.6.2), nothing written.
    Retry(Vec<u8>),
    /// A wrong (`wrong_code`) or missing confirmation code (§3.1.3.1): the session ends, an attempt is used.
    RefuseCode { session: Box<Authenticated>, wrong_code: bool },
    /// Bind the profile to otPK.EUICC.ECKA and deliver it.
    Bind {
        session: Box<Authenticated>,
        otpk_euicc: Vec<u8>,
        package: Box<ProfilePackageRecord>,
        store_metadata: Vec<u8>,
    },
}

/// §5.6.2. `prepare_download_response` is the received DER (`BF21…`). Returns the BPP (`BF36…`).
pub fn get_bound_profile_package(
    ctx: &SmdpContext,
    repo: &dyn DownloadRepository,
    transaction_id: &TransactionId,
    prepare_download_response: &[u8],
    now: OffsetDateTime,
) -> Result<Vec<u8>, Es9Error> {
    // No I/O: its error is reported after the session's own checks (`decide`).
    let received = decode_prepare_download_response(prepare_download_response);
    let facts = repo.download_facts(transaction_id)?;
    match decide(transaction_id, facts, received, now) {
        Decision::NoSession(e) | Decision::Refuse { error: e @ Es9Error::Internal(_), .. } => Err(e),
        Decision::Refuse { session, error } => Err(refuse(ctx, repo, &session, error)),
        Decision::Retry(bpp) => Ok(bpp),
        Decision::RefuseCode { session, wrong_code } => Err(refuse_code(ctx, repo, &session, wrong_code)),
        Decision::Bind { session, otpk_euicc, package, store_metadata } => {
            let bpp = match bind_profile(ctx, &session, &otpk_euicc, &package, &store_metadata) {
                Ok(bpp) => bpp,
                Err(e @ Es9Error::Internal(_)) => return Err(e),
                Err(e) => return Err(refuse(ctx, repo, &session, e)),
            };
            deliver(ctx, repo, transaction_id, &session, &otpk_euicc, bpp, now)
        }
    }
}

/// The checks of §5.6.2 in the order the specification lists them, on what was read. No I/O.
pub fn decide(
    transaction_id: &TransactionId,
    facts: DownloadFacts,
    received: Result<ReceivedPrepareDownload, Es9Error>,
    now: OffsetDateTime,
) -> Decision {
    let Some(session) = facts.session else {
        return Decision::NoSession(Es9Error::UnknownTransactionId { detail: "no such session".into() });
    };
    let step = match session.into_download_step(now) {
        Ok(step) => step,
        Err(e) => return Decision::NoSession(e),
    };
    let (authenticated, delivered) = match step {
        Ok(a) => (a, None),
        Err(d) => (d.authenticated, Some((d.otpk_euicc, d.bpp))),
    };
    let session = Box::new(authenticated);
    let refuse = |session: Box<Authenticated>, error: Es9Error| Decision::Refuse { session, error };
    let received = match received {
        Ok(r) => r,
        Err(e) => return refuse(session, e),
    };
    let mut covered = received.euicc_signed2.raw.clone();
    covered.extend_from_slice(&session.smdp_signature2);
    if let Err(e) = session.euicc_public_key.verify(&covered, &received.ok.euicc_signature2.0) {
        return refuse(session, Es9Error::EuiccSignatureInvalid(format!("euiccSignature2: {e}")));
    }
    let signed2 = &received.euicc_signed2.value;
    if signed2.transaction_id.0.as_ref() != transaction_id.as_bytes() {
        let detail = "euiccSigned2 names another transactionId".into();
        return refuse(session, Es9Error::UnknownTransactionId { detail });
    }
    let otpk_euicc = signed2.euicc_otpk.0.to_vec();

    // A retry: the same BPP for the same otPK.EUICC, never a second binding.
    if let Some((stored_otpk, bpp)) = delivered {
        return if stored_otpk == otpk_euicc {
            Decision::Retry(bpp)
        } else {
            refuse(session, Es9Error::BppUnavailableForNewBinding)
        };
    }

    // §3.1.3.1: hashCc = SHA256(SHA256(CC) || transactionId), when the order holds a code.
    if session.cc_required {
        if let Some(stored) = facts.cc_hash.as_deref() {
            match signed2.hash_cc.as_ref().map(|h| h.as_slice()) {
                None => return Decision::RefuseCode { session, wrong_code: false },
                Some(hash_cc) if !confirmation_code_matches(stored, session.transaction_id.as_bytes(), hash_cc) => {
                    return Decision::RefuseCode { session, wrong_code: true }
                }
                Some(_) => {}
            }
        }
    }

    let Some(stored) = facts.package else {
        let e = Es9Error::ProfileNotAvailable(format!("no profile package for ICCID {}", session.iccid));
        return refuse(session, e);
    };
    let package = match stored.to_package() {
        Ok(p) => p,
        Err(e) => return refuse(session, Es9Error::internal(e)),
    };
    let store_metadata = match store_metadata_request(&(&package).into(), stored.type_metadata())
        .and_then(|m| encode(&m).map_err(Es9Error::internal))
    {
        Ok(m) => m,
        Err(e) => return refuse(session, e),
    };
    Decision::Bind { session, otpk_euicc, package: Box::new(package), store_metadata }
}

/// One write: the operator told of a refusal at point 3 "BPP download" — once per session and status code (the
/// LPA may retry a refused request and then succeed). Returns `error`.
fn refuse(ctx: &SmdpContext, repo: &dyn DownloadRepository, session: &Authenticated, error: Es9Error) -> Es9Error {
    let status = PointStatus::failed(error.status_code(), error.to_string());
    if let PointStatus::Failed { subject_code, reason_code, .. } = &status {
        let key = format!("bpp:{}:{subject_code}/{reason_code}", session.transaction_id.as_hex());
        ctx.progress.emit_logged(repo, download_event(session, status.clone(), key));
    }
    error
}

/// One write (§3.1.3.1): a wrong or missing code ends the session (the LPA starts again); each wrong code uses
/// an attempt, and the last one blocks the order. The operator is told at point 2 "ConfirmationFailure" (6.4 when
/// the last attempt blocks the order).
fn refuse_code(
    ctx: &SmdpContext,
    repo: &dyn DownloadRepository,
    session: &Authenticated,
    wrong_code: bool,
) -> Es9Error {
    let tx = session.transaction_id.as_hex();
    let refusal = |attempts_left: i32| match (wrong_code, attempts_left) {
        (false, _) => Es9Error::ConfirmationCodeMissing,
        (true, left) if left <= 0 => Es9Error::ConfirmationCodeAttemptsExceeded,
        (true, left) => Es9Error::ConfirmationCodeRefused { attempts_left: left },
    };
    let progress = |left: i32| {
        let e = refusal(left);
        let status = PointStatus::failed(e.status_code(), e.to_string());
        ctx.progress.for_transaction(session_event(
            session,
            NotificationPoint::ConfirmationFailure,
            status,
            format!("cc:{tx}"),
        ))
    };
    match repo.refuse_confirmation_code(tx, &session.operator_id, session.order_id, wrong_code, &progress) {
        Ok(attempts_left) => {
            ctx.progress.wake();
            if wrong_code && attempts_left <= 0 {
                tracing::warn!(operator = %session.operator_id, iccid = %pii(&session.iccid), order = session.order_id,
                    "confirmation code attempts exhausted: order blocked, profile in Error; operator told");
            }
            refusal(attempts_left)
        }
        Err(e) => e.into(),
    }
}

/// One write: the BPP stored and the profile Downloaded, with the operator's point 3 success. A concurrent
/// request for the same session that stored its BPP first is answered as a retry would be.
fn deliver(
    ctx: &SmdpContext,
    repo: &dyn DownloadRepository,
    transaction_id: &TransactionId,
    session: &Authenticated,
    otpk_euicc: &[u8],
    bpp: Vec<u8>,
    now: OffsetDateTime,
) -> Result<Vec<u8>, Es9Error> {
    let tx = transaction_id.as_hex();
    let progress = ctx.progress.for_transaction(download_event(session, PointStatus::Success, format!("bpp:{tx}")));
    let (operator_id, iccid) = (&session.operator_id, &session.iccid);
    if repo.store_bpp_reporting(tx, operator_id, iccid, otpk_euicc, &bpp, progress.as_ref())? {
        ctx.progress.wake();
        tracing::info!(transaction_id = %tx, iccid = %pii(iccid), "ES9+ GetBoundProfilePackage: BPP delivered");
        return Ok(bpp);
    }
    let lost = repo.find_session(tx)?.map(|s: SessionRecord| s.into_download_step(now));
    match lost {
        None => Err(Es9Error::UnknownTransactionId { detail: "no such session".into() }),
        Some(Err(e)) => Err(e),
        Some(Ok(Err(delivered))) if delivered.otpk_euicc == otpk_euicc => Ok(delivered.bpp),
        Some(Ok(Err(_))) => Err(Es9Error::BppUnavailableForNewBinding),
        Some(Ok(Ok(_))) => Err(Es9Error::internal("BPP could not be stored")),
    }
}

/// A progress event at point 3 "BPP download" about the session's order.
fn download_event(session: &Authenticated, status: PointStatus, key: String) -> ProgressEvent {
    session_event(session, NotificationPoint::BppDownload, status, key)
}

fn session_event(session: &Authenticated, point: NotificationPoint, status: PointStatus, key: String) -> ProgressEvent {
    ProgressEvent::new(&session.operator_id, &session.iccid, Some(session.eid.as_str()), point, status, key)
}

/// §3.1.3 steps 4–6: one-time key pair in the key store, ECKA with otPK.EUICC.ECKA, session keys, BPP. No store
/// I/O.
fn bind_profile(
    ctx: &SmdpContext,
    session: &Authenticated,
    otpk_euicc: &[u8],
    package: &ProfilePackageRecord,
    store_metadata: &[u8],
) -> Result<Vec<u8>, Es9Error> {
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
            store_metadata,
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
