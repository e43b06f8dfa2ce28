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
//!
//! The step, in four parts (issue 11):
//! 1. [`verify_authenticate_server_response`] — no I/O: the response decoded once, the chain and
//!    euiccSignature1 verified over the received euiccSigned1;
//! 2. one read phase, [`DownloadRepository::authentication_facts`]: the session and the order the verified
//!    MatchingID or EID names, with its profile's device lock and StoreMetadata facts;
//! 3. [`decide`] — no I/O: the checks of §5.6.3 in the order the specification lists them, smdpSigned2 signed;
//! 4. one write transaction, [`DownloadRepository::record_authentication`]: the order bound and the session
//!    Authenticated, or the session Cancelled; the operator's progress event with it. The write is
//!    compare-and-set: a session or order that moved since the read makes it lose cleanly (session cancelled,
//!    refusal reported), so two devices racing for one matchingId get one success and one clear error.
//!
//! A transactionId that names no usable session (unknown, used, expired) and a failure on rspd's side
//! ([`Es9Error::Internal`]) write nothing.

use crate::logging::pii;
use time::OffsetDateTime;

use super::context::SmdpContext;
use super::error::Es9Error;
use super::get_bound_profile_package::store_metadata_request;
use crate::codec::sgp22::{
    self, AuthenticateServerResponse, CtxParams1, EuiccSigned1, SmdpSigned2,
    PATH_EUICC_SIGNED1_IN_AUTHENTICATE_SERVER_RESPONSE,
};
use crate::codec::tlv::{self, Tag};
use crate::codec::{decode, encode};
use crate::pki::{verify_euicc_chain, CiStore, VerifiedEuicc};
use crate::smdp::device_lock::{DeviceIdentity, DeviceRefused};
use crate::smdp::download_repository::{AuthenticationFacts, AuthenticationOutcome, BindError, OrderFacts, OrderKey};
use crate::smdp::ids::{same_smdp_address, TransactionId};
use crate::smdp::progress::{NotificationPoint, PointStatus, ProgressEvent};
use crate::smdp::session::{AuthenticatedUpdate, Initiated};
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

/// The eUICC an AuthenticateServerResponse proved (§5.6.3): CI → EUM → eUICC verified, EID in the EUM's range,
/// euiccSignature1 verified over euiccSigned1 as received.
#[derive(Debug, Clone)]
pub struct AuthenticatedEuicc {
    pub verified: VerifiedEuicc,
    /// CERT.EUICC.ECDSA, DER as received.
    pub euicc_certificate: Vec<u8>,
    /// CERT.EUM.ECDSA, DER as received.
    pub eum_certificate: Vec<u8>,
}

/// An AuthenticateServerResponse (`BF38`) decoded once and verified: what [`decide`] works from.
#[derive(Debug, Clone)]
pub struct VerifiedAuthenticateServerResponse {
    pub euicc: AuthenticatedEuicc,
    pub euicc_signed1: EuiccSigned1,
    /// euiccSignature1 (the value of its `5F37` data object).
    pub euicc_signature1: Vec<u8>,
}

impl VerifiedAuthenticateServerResponse {
    /// The MatchingID of ctxParams1, absent when missing or empty (§3.1.1: then the EID names the order).
    pub fn matching_id(&self) -> Option<&str> {
        let CtxParams1::CtxParamsForCommonAuthentication(params) = &self.euicc_signed1.ctx_params1;
        params.matching_id.as_deref().filter(|m| !m.is_empty())
    }

    /// How the order is found (§3.1.1).
    pub fn order_key(&self) -> OrderKey<'_> {
        match self.matching_id() {
            Some(matching_id) => OrderKey::MatchingId(matching_id),
            None => OrderKey::Eid(&self.euicc.verified.eid),
        }
    }
}

/// §5.6.3 for the session `transaction_id`. `authenticate_server_response` is the received DER (`BF38…`).
pub fn authenticate_client(
    ctx: &SmdpContext,
    repo: &dyn DownloadRepository,
    transaction_id: &TransactionId,
    authenticate_server_response: &[u8],
    now: OffsetDateTime,
) -> Result<AuthenticateClientOk, Es9Error> {
    authenticate_client_verified(ctx, repo, transaction_id, authenticate_server_response, now).map(|(ok, _)| ok)
}

/// As [`authenticate_client`], also giving the eUICC the step authenticated (chain and euiccSignature1
/// verified), for a caller that learns it (the eIM's indirect download) without verifying it again.
pub fn authenticate_client_verified(
    ctx: &SmdpContext,
    repo: &dyn DownloadRepository,
    transaction_id: &TransactionId,
    authenticate_server_response: &[u8],
    now: OffsetDateTime,
) -> Result<(AuthenticateClientOk, AuthenticatedEuicc), Es9Error> {
    // No I/O: its error is reported after the session's own checks (`decide`).
    let verified = verify_authenticate_server_response(&ctx.trusted_cis, authenticate_server_response, now);
    let order_key = verified.as_ref().ok().map(VerifiedAuthenticateServerResponse::order_key);
    let facts = repo.authentication_facts(transaction_id, order_key)?;
    let decision = decide(ctx, transaction_id, facts, verified, now);
    record(ctx, repo, transaction_id, decision)
}

/// Decodes the response once and verifies it (§5.6.3): the eUICC's error answer, CI → EUM → eUICC and the EID
/// range, euiccSignature1 over the received euiccSigned1. No I/O.
pub fn verify_authenticate_server_response(
    trusted_cis: &CiStore,
    authenticate_server_response: &[u8],
    now: OffsetDateTime,
) -> Result<VerifiedAuthenticateServerResponse, Es9Error> {
    let invalid = |detail: String| Es9Error::InvalidField { field: "authenticateServerResponse", detail };
    let ok =
        match decode::<AuthenticateServerResponse>(authenticate_server_response).map_err(|e| invalid(e.to_string()))? {
            AuthenticateServerResponse::AuthenticateResponseOk(ok) => ok,
            AuthenticateServerResponse::AuthenticateResponseError(e) => {
                return Err(Es9Error::EuiccReportedError {
                    what: "AuthenticateServerResponse",
                    code: e.authenticate_error_code,
                })
            }
        };
    // The received bytes of euiccSigned1 (the signature covers them, never a re-encoding); already decoded above.
    let signed1_raw =
        received_element(authenticate_server_response, PATH_EUICC_SIGNED1_IN_AUTHENTICATE_SERVER_RESPONSE)
            .map_err(invalid)?;

    // CI → EUM → eUICC and the EID range.
    let euicc = verify_euicc_chain(trusted_cis, ok.eum_certificate.as_bytes(), ok.euicc_certificate.as_bytes(), now)
        .map_err(Es9Error::from_euicc_chain)?;
    // euiccSignature1 over euiccSigned1 as received.
    euicc
        .public_key
        .verify(signed1_raw, &ok.euicc_signature1.0)
        .map_err(|e| Es9Error::EuiccSignatureInvalid(format!("euiccSignature1: {e}")))?;
    Ok(VerifiedAuthenticateServerResponse {
        euicc: AuthenticatedEuicc {
            verified: euicc,
            euicc_certificate: ok.euicc_certificate.as_bytes().to_vec(),
            eum_certificate: ok.eum_certificate.as_bytes().to_vec(),
        },
        euicc_signed1: ok.euicc_signed1,
        euicc_signature1: ok.euicc_signature1.0.to_vec(),
    })
}

/// The received bytes of the element at `path` (each step: the first child with that tag), without decoding it.
fn received_element<'a>(der: &'a [u8], path: &[u32]) -> Result<&'a [u8], String> {
    let missing =
        || format!("no element at {}", path.iter().map(|t| Tag(*t).to_string()).collect::<Vec<_>>().join("/"));
    let (first, rest) = path.split_first().ok_or_else(missing)?;
    let mut cur = tlv::parse_single(der).map_err(|e| e.to_string())?;
    if cur.tag() != Tag(*first) {
        return Err(missing());
    }
    for step in rest {
        cur = cur.child(Tag(*step)).map_err(|e| e.to_string())?.ok_or_else(missing)?;
    }
    Ok(cur.raw())
}

/// What the step writes, decided with no I/O.
enum Decision {
    /// Nothing is written: the transactionId names no usable session, or rspd failed ([`Es9Error::Internal`]).
    Reject(Es9Error),
    /// The session is cancelled (single-use challenge); the operator hears of it once the order was known.
    Refuse { error: Es9Error, matched: Option<(OrderRecord, String)> },
    /// The order is bound to the session, which becomes Authenticated.
    Bind(Box<Binding>),
}

/// What [`Decision::Bind`] writes and answers.
struct Binding {
    ok: AuthenticateClientOk,
    euicc: AuthenticatedEuicc,
    order: OrderRecord,
    update: AuthenticatedUpdate,
}

/// The checks of §5.6.3 over what was read and what was verified; no I/O.
fn decide(
    ctx: &SmdpContext,
    transaction_id: &TransactionId,
    facts: AuthenticationFacts,
    verified: Result<VerifiedAuthenticateServerResponse, Es9Error>,
    now: OffsetDateTime,
) -> Decision {
    let session = match facts
        .session
        .ok_or_else(|| Es9Error::UnknownTransactionId { detail: "no such session".into() })
        .and_then(|s| s.into_initiated(transaction_id, now))
    {
        Ok(session) => session,
        Err(e) => return Decision::Reject(e),
    };
    // The order and EID, once matched: the operator hears of the outcome from then on.
    let mut matched: Option<(OrderRecord, String)> = None;
    match authenticate(ctx, session, facts.order, verified, &mut matched) {
        Ok(binding) => Decision::Bind(Box::new(binding)),
        Err(e @ Es9Error::Internal(_)) => Decision::Reject(e),
        Err(error) => Decision::Refuse { error, matched },
    }
}

fn authenticate(
    ctx: &SmdpContext,
    session: Initiated,
    order: Option<OrderFacts>,
    verified: Result<VerifiedAuthenticateServerResponse, Es9Error>,
    matched: &mut Option<(OrderRecord, String)>,
) -> Result<Binding, Es9Error> {
    let verified = verified?;
    let euicc = &verified.euicc.verified;
    let signed = &verified.euicc_signed1;
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
    let Some(facts) = order else {
        return Err(match verified.matching_id() {
            Some(matching_id) => Es9Error::MatchingIdRefused(matching_id.to_owned()),
            None => Es9Error::NoOrderForEid(euicc.eid.clone()),
        });
    };
    let order = facts.order;
    *matched = Some((order.clone(), euicc.eid.clone()));
    check_order(&order, &euicc.eid)?;
    let CtxParams1::CtxParamsForCommonAuthentication(params) = &signed.ctx_params1;
    check_device(&facts.device_lock, &order, &euicc.eid, &params.device_info)?;

    let names = facts
        .names
        .ok_or_else(|| Es9Error::ProfileNotAvailable(format!("no profile package for ICCID {}", order.iccid)))?;
    let profile_metadata =
        encode(&store_metadata_request(&names, facts.type_metadata.as_ref())?).map_err(Es9Error::internal)?;

    // smdpSigned2 and smdpSignature2 over smdpSigned2 || 5F37 40 euiccSignature1 (§5.6.3).
    let credentials = ctx
        .credentials_for(&session.ci_pkid)
        .ok_or_else(|| Es9Error::internal("the session's DP credentials are no longer configured"))?;
    let smdp_signed2 = encode(&SmdpSigned2 {
        transaction_id: (&session.transaction_id).into(),
        cc_required_flag: order.cc_required(),
        bpp_euicc_otpk: None,
    })
    .map_err(Es9Error::internal)?;
    let mut signed_data = smdp_signed2.clone();
    tlv::encode_into(Tag(0x5F37), &verified.euicc_signature1, &mut signed_data);
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
    let ok = AuthenticateClientOk {
        transaction_id: session.transaction_id,
        profile_metadata,
        smdp_signed2,
        smdp_signature2,
        smdp_certificate: credentials.dppb_certificate.clone(),
    };
    Ok(Binding { ok, euicc: verified.euicc, order, update })
}

/// Persists the decision in one write transaction (none for [`Decision::Reject`]) and answers.
fn record(
    ctx: &SmdpContext,
    repo: &dyn DownloadRepository,
    transaction_id: &TransactionId,
    decision: Decision,
) -> Result<(AuthenticateClientOk, AuthenticatedEuicc), Es9Error> {
    let tx = transaction_id.as_hex();
    match decision {
        Decision::Reject(e) => Err(e),
        Decision::Refuse { error, matched } => {
            // The IMEI lock refused the device: the operator is told (point 1, Failed, the refusal's code).
            if let Es9Error::DeviceRefused(refused) = &error {
                tracing::warn!(operator = %refused.operator_id, iccid = %pii(&refused.iccid), eid = %pii(&refused.eid),
                    tac = %refused.device.tac, imei = %pii(refused.device.imei.as_deref().unwrap_or("-")),
                    reason = %crate::logging::variant(&refused.refusal), "ES9+ AuthenticateClient: device refused by the order's IMEI lock");
            }
            let progress = matched.as_ref().and_then(|(order, eid)| {
                ctx.progress.for_transaction(eligibility_event(order, eid, tx, refused_status(&error)))
            });
            repo.record_authentication(transaction_id, AuthenticationOutcome::Refuse { progress: progress.as_ref() })?
                .map_err(|e| Es9Error::internal(format!("a refusal lost its write: {e}")))?;
            if progress.is_some() {
                ctx.progress.wake();
            }
            Err(error)
        }
        Decision::Bind(binding) => {
            let Binding { ok, euicc, order, update } = *binding;
            let eid = update.eid.as_str();
            let progress = ctx.progress.for_transaction(eligibility_event(&order, eid, tx, PointStatus::Success));
            let lost = |why: &BindError| {
                ctx.progress.for_transaction(eligibility_event(&order, eid, tx, refused_status(&lost_claim(why))))
            };
            let outcome = AuthenticationOutcome::Bind {
                order: &order,
                update: &update,
                progress: progress.as_ref(),
                lost: &lost,
            };
            match repo.record_authentication(transaction_id, outcome)? {
                Ok(()) => {
                    if progress.is_some() {
                        ctx.progress.wake();
                    }
                    tracing::info!(transaction_id = %transaction_id, eid = %pii(eid), iccid = %pii(&order.iccid),
                        operator = %order.operator_id, "ES9+ AuthenticateClient: order matched");
                    Ok((ok, euicc))
                }
                Err(why) => {
                    if ctx.progress.is_enabled(&order.operator_id) {
                        ctx.progress.wake();
                    }
                    Err(lost_claim(&why))
                }
            }
        }
    }
}

/// The answer when the write found the session or the order moved since the read.
fn lost_claim(why: &BindError) -> Es9Error {
    match why {
        BindError::SessionGone => {
            Es9Error::UnknownTransactionId { detail: "the serverChallenge was already used".into() }
        }
        BindError::OrderTaken { state } => Es9Error::ProfileNotAvailable(format!(
            "another device is downloading this profile or has downloaded it (state {state})"
        )),
        BindError::Repo(e) => Es9Error::internal(e),
    }
}

fn refused_status(error: &Es9Error) -> PointStatus {
    PointStatus::failed(error.status_code(), error.to_string())
}

/// Notification point 1, "eligibility and retry limit check", of one session (one event per session).
fn eligibility_event(order: &OrderRecord, eid: &str, tx: &str, status: PointStatus) -> ProgressEvent {
    let point = NotificationPoint::EligibilityAndRetryLimitCheck;
    ProgressEvent::new(&order.operator_id, &order.iccid, Some(eid), point, status, format!("eligibility:{tx}"))
}

/// rspd's IMEI lock: the order's allowed IMEIs/TACs against deviceInfo (absent IMEI with an IMEI-only lock: refused).
fn check_device(
    lock: &crate::smdp::device_lock::DeviceLock,
    order: &OrderRecord,
    eid: &str,
    device_info: &sgp22::DeviceInfo,
) -> Result<(), Es9Error> {
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
