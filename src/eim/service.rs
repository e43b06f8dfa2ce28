//! The eIM's steps, independent of the binding (ASN.1 and JSON) — SGP.32 v1.2 §3.5 (eIM package
//! procedures), §5.14.x / §6.3 (ESipa.GetEimPackage, ESipa.ProvideEimPackageResult):
//! - [`queue_euicc_package`]: sign an EuiccPackage for one eUICC and queue it (operator side);
//! - [`get_eim_package`]: the next package for a polling IPA (Queued → Dispatched), recording the device's
//!   contact (last seen, rPLMN, stateChangeCause);
//! - [`provide_eim_package_result`]: verify a result over the received bytes, match it by (EID,
//!   eimTransactionId, counterValue) and finish the order (Dispatched → Succeeded | Failed), updating the
//!   device's profile inventory in the same transaction;
//! - [`record_eim_package_result`]: any EimPackageResult alternative (§6.3.2.x ProvideEimPackageResult, also
//!   TransferEimPackageResponse): signed EuiccPackageResults as above, ProfileDownloadTriggerResult /
//!   IpaEuiccDataResponse / eimPackageResultResponseError through [`super::ipa_result`];
//! - [`queue_download_trigger`], [`queue_ipa_euicc_data_request`]: the unsigned packages (§2.11.1.2, §2.11.1.4);
//! - [`expire_orders`]: dispatch and no-show timeouts (→ Expired).
//!
//! Both ESipa bindings (`http/esipa_asn1.rs`, `http/esipa_json.rs`) call these and only these.
//!
//! All blocking (store, key store): call from `web::block` or a worker thread.
//!
//! **What a poll costs.** IoT devices poll often and most polls find nothing. A GetEimPackage reads once
//! ([`EimRepository::poll_facts`]) and writes only when it has something to write ([`EimRepository::record_poll`],
//! one transaction): a package to hand out, a contact fact that changed (rPLMN, stateChangeCause), a first
//! contact, or a "last seen" older than [`CONTACT_RECORD_INTERVAL_MS`]. So the recorded "last seen" of a device
//! that keeps polling lags its real last poll by less than that interval (one minute); every other fact is
//! recorded at the poll that changed it.

use super::error::EimError;
use super::failure::FailureReason;
use super::inventory::profile_changes;
use super::order::{LiveOrder, PackageKind, PackageOrder};
use super::package::sign_euicc_package;
use super::registry::{eid_from_value, EimContext};
use super::repository::{DeviceContact, EimRepository, PollFacts};
use super::result::{verify_euicc_package_result, PackageOutcome};
use crate::codec::sgp32::{EuiccPackage, EuiccPackageResult};

/// How stale a polling device's recorded "last seen" may get before a poll that changes nothing else records it
/// again (Unix ms): a fleet operator's "last seen" is accurate to within this.
pub const CONTACT_RECORD_INTERVAL_MS: i64 = 60_000;

fn after(now: i64, d: std::time::Duration) -> i64 {
    now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Signs `euicc_package` for the eUICC `eid` with the next counterValue and a fresh eimTransactionId, and
/// queues it (SGP.32 v1.2 §2.11.1.1). The order expires unless fetched within the dispatch timeout.
pub fn queue_euicc_package(
    repo: &dyn EimRepository,
    ctx: &EimContext,
    eid: &str,
    euicc_package: EuiccPackage,
    now: i64,
) -> Result<PackageOrder, EimError> {
    let euicc = repo.find_euicc(eid)?.ok_or_else(|| EimError::UnknownEuicc(eid.to_owned()))?;
    let key = EimContext::key(euicc.eim_key_curve);
    let mut eim_transaction_id = [0u8; 16];
    openssl::rand::rand_bytes(&mut eim_transaction_id)
        .map_err(|e| EimError::Encode { what: "eimTransactionId", reason: e.to_string() })?;
    repo.queue_package(eid, eim_transaction_id, after(now, ctx.dispatch_timeout), &mut |slot| {
        sign_euicc_package(ctx.keys.as_ref(), &key, &euicc.eim_id, slot, euicc_package.clone())
    })
}

/// Queues a ProfileDownloadTriggerRequest `BF54` with `activation_code` (SGP.32 v1.2 §2.11.1.4) — an order of
/// rspd's own SM-DP+ or an activation code the operator got from another SM-DP+. Unsigned by design; it still
/// takes a counterValue (the eUICC only requires later packages to carry higher ones).
pub fn queue_download_trigger(
    repo: &dyn EimRepository,
    ctx: &EimContext,
    eid: &str,
    activation_code: &str,
    now: i64,
) -> Result<PackageOrder, EimError> {
    repo.find_euicc(eid)?.ok_or_else(|| EimError::UnknownEuicc(eid.to_owned()))?;
    let tid = fresh_transaction_id()?;
    repo.queue_package(eid, tid, after(now, ctx.dispatch_timeout), &mut |slot| {
        super::ipa_result::download_trigger_request(activation_code, &slot.eim_transaction_id)
    })
}

/// Queues an IpaEuiccDataRequest `BF52` for the IpaEuiccData fields of `tag_list` (SGP.32 v1.2 §2.11.1.2).
pub fn queue_ipa_euicc_data_request(
    repo: &dyn EimRepository,
    ctx: &EimContext,
    eid: &str,
    tag_list: &[u8],
    now: i64,
) -> Result<PackageOrder, EimError> {
    repo.find_euicc(eid)?.ok_or_else(|| EimError::UnknownEuicc(eid.to_owned()))?;
    let tid = fresh_transaction_id()?;
    repo.queue_package(eid, tid, after(now, ctx.dispatch_timeout), &mut |slot| {
        super::ipa_result::ipa_euicc_data_request(tag_list, &slot.eim_transaction_id)
    })
}

fn fresh_transaction_id() -> Result<[u8; 16], EimError> {
    let mut eim_transaction_id = [0u8; 16];
    openssl::rand::rand_bytes(&mut eim_transaction_id)
        .map_err(|e| EimError::Encode { what: "eimTransactionId", reason: e.to_string() })?;
    Ok(eim_transaction_id)
}

/// ESipa.GetEimPackage for the eUICC with `eid_value` (SGP.32 v1.2 §5.14.x): the next Queued package, now
/// Dispatched, or `None` (answered `noEimPackageAvailable`). An unknown EID is [`EimError::UnknownEuicc`]
/// (`eidNotFound`).
/// Every package kind is handed out here (EuiccPackageRequest, IpaEuiccDataRequest,
/// ProfileDownloadTriggerRequest), oldest counterValue first.
pub fn get_eim_package(
    repo: &dyn EimRepository,
    ctx: &EimContext,
    eid_value: &[u8],
    contact: &DeviceContact,
    now: i64,
) -> Result<Option<PackageOrder>, EimError> {
    let eid = eid_from_value(eid_value)?;
    match poll_write(ctx, &eid, repo.poll_facts(&eid, now)?, contact, now)? {
        None => Ok(None),
        Some(claim) => repo.record_poll(&eid, contact, now, claim),
    }
}

/// GetEimPackage's decision on its read phase ([`EimRepository::poll_facts`] of `eid`): `None` when there is
/// nothing to write (answer `noEimPackageAvailable`); `Some(claim)` to record the contact with
/// [`EimRepository::record_poll`], claiming the next package when `claim` (the no-show deadline) is set. An
/// unknown EID is [`EimError::UnknownEuicc`].
pub fn poll_write(
    ctx: &EimContext,
    eid: &str,
    facts: Option<PollFacts>,
    contact: &DeviceContact,
    now: i64,
) -> Result<Option<Option<i64>>, EimError> {
    let facts = facts.ok_or_else(|| EimError::UnknownEuicc(eid.to_owned()))?;
    if !facts.package_waiting && !contact_due(&facts, contact, now) {
        return Ok(None);
    }
    Ok(Some(facts.package_waiting.then(|| after(now, ctx.no_show_timeout))))
}

/// Whether a poll that hands out nothing must record the device's contact: a first contact, a changed rPLMN or
/// stateChangeCause (each recorded as sent, absent included), or a "last seen" [`CONTACT_RECORD_INTERVAL_MS`]
/// old or older.
pub fn contact_due(facts: &PollFacts, contact: &DeviceContact, now: i64) -> bool {
    match facts.last_seen {
        None => true,
        Some(last_seen) => facts.contact != *contact || now.saturating_sub(last_seen) >= CONTACT_RECORD_INTERVAL_MS,
    }
}

/// What a recorded result leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedResult {
    /// The order, now final.
    pub order: PackageOrder,
    /// The outcome read from the verified result (`Executed` / `ErrorSigned` / `ErrorUnsigned` for an
    /// EuiccPackageResult; `None` for the unsigned result kinds).
    pub outcome: Option<PackageOutcome>,
    /// True when this exact result had already been recorded (an IPA retry): nothing changed.
    pub repeated: bool,
}

impl RecordedResult {
    /// The eUICC `seqNumber` the eIM acknowledges (EimAcknowledgements `BF53`), if any.
    pub fn acknowledged_seq_number(&self) -> Option<i64> {
        self.outcome.as_ref().and_then(PackageOutcome::seq_number)
    }
}

/// One `EimPackageResult` alternative as received (SGP.32 v1.2 §6.3.2.x), each with its exact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceivedResult {
    /// `euiccPackageResult [81]`, alone or from `ePRAndNotifications` (whose notifications the eIM forwards to
    /// their SM-DP+: [`epr_notifications`]).
    EuiccPackageResult(Vec<u8>),
    /// `ipaEuiccDataResponse [82]`.
    IpaEuiccDataResponse(Vec<u8>),
    /// `profileDownloadTriggerResult [84]`.
    ProfileDownloadTriggerResult(Vec<u8>),
    /// `eimPackageResultResponseError [0]` (`A0 { [80 tid] 02 code }`).
    ResponseError(Vec<u8>),
}

impl ReceivedResult {
    /// Splits one DER `EimPackageResult` (a CHOICE: `BF51`, `30 { BF51 … }`, `BF52`, `BF54`, `A0`).
    pub fn from_eim_package_result(der: &[u8]) -> Result<ReceivedResult, EimError> {
        let malformed = |reason: String| EimError::Malformed { what: "EimPackageResult", reason };
        let top = crate::codec::tlv::parse_single(der).map_err(|e| malformed(e.to_string()))?;
        Ok(match top.tag().0 {
            0xBF51 => ReceivedResult::EuiccPackageResult(der.to_vec()),
            0x30 => {
                let epr = top
                    .child(crate::codec::tlv::Tag(0xBF51))
                    .map_err(|e| malformed(e.to_string()))?
                    .ok_or_else(|| malformed("ePRAndNotifications without euiccPackageResult".into()))?;
                ReceivedResult::EuiccPackageResult(epr.raw().to_vec())
            }
            0xBF52 => ReceivedResult::IpaEuiccDataResponse(der.to_vec()),
            0xBF54 => ReceivedResult::ProfileDownloadTriggerResult(der.to_vec()),
            0xA0 => ReceivedResult::ResponseError(der.to_vec()),
            other => return Err(malformed(format!("unknown alternative with tag {other:X}"))),
        })
    }
}

/// The PendingNotifications of an `ePRAndNotifications` EimPackageResult (`30 { BF51 …, A0 notificationList }`,
/// SGP.32 v1.2 §6.3.2.x), each as received; empty for any other alternative or a malformed list.
pub fn epr_notifications(eim_package_result: &[u8]) -> Vec<Vec<u8>> {
    use crate::codec::tlv::{parse_single, Tag};
    let Ok(top) = parse_single(eim_package_result) else { return Vec::new() };
    if top.tag().0 != 0x30 {
        return Vec::new();
    }
    match top.child(Tag(0xA0)) {
        Ok(Some(list)) => list.children().map(|c| c.iter().map(|n| n.raw().to_vec()).collect()).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// ESipa.ProvideEimPackageResult (and the results of TransferEimPackage) for any result kind: see
/// [`provide_eim_package_result`] for signed EuiccPackageResults; the unsigned kinds are matched to the
/// eUICC's Dispatched order of their kind by eimTransactionId and finish it.
pub fn record_eim_package_result(
    repo: &dyn EimRepository,
    ctx: &EimContext,
    eid_value: Option<&[u8]>,
    received: &ReceivedResult,
    now: i64,
) -> Result<RecordedResult, EimError> {
    use super::ipa_result::{download_trigger_outcome, ipa_euicc_data_outcome, UnsignedOutcome};
    let (der, eid_hint) = match received {
        ReceivedResult::EuiccPackageResult(der) => {
            return provide_eim_package_result(repo, ctx, eid_value, der, now);
        }
        ReceivedResult::IpaEuiccDataResponse(der)
        | ReceivedResult::ProfileDownloadTriggerResult(der)
        | ReceivedResult::ResponseError(der) => (der, eid_value),
    };
    let claimed = claimed_unsigned_transaction_id(received).ok_or(EimError::Malformed {
        what: "EimPackageResult",
        reason: "no eimTransactionId: the result names no package".into(),
    })?;
    let hint = eid_hint.map(eid_from_value).transpose()?;
    // One read: the eUICC and its order with the claimed eimTransactionId.
    let facts = repo.result_facts(hint.as_deref(), Some(&claimed))?;
    let eid = facts.eid.ok_or(EimError::MissingEid)?;
    let euicc = facts.euicc.ok_or_else(|| EimError::UnknownEuicc(eid.clone()))?;
    let outcome: UnsignedOutcome = match received {
        ReceivedResult::ProfileDownloadTriggerResult(der) => download_trigger_outcome(der, &euicc.euicc_public_key()?)?,
        ReceivedResult::IpaEuiccDataResponse(der) => ipa_euicc_data_outcome(der)?,
        _ => UnsignedOutcome {
            eim_transaction_id: claimed.clone(),
            answers: PackageKind::EuiccPackageRequest,
            failure: Some(FailureReason::IpaPackageError(response_error_code(der).unwrap_or(127))),
            profile_changes: Vec::new(),
        },
    };
    let no_match = || EimError::NoMatchingPackage {
        eid: eid.clone(),
        eim_transaction_id: hex::encode(&outcome.eim_transaction_id),
        counter_value: None,
    };
    let order = facts.order.filter(|o| o.eim_transaction_id == outcome.eim_transaction_id).ok_or_else(no_match)?;
    // eimPackageResultResponseError may answer any kind; the others only their own.
    let kind_matches = matches!(received, ReceivedResult::ResponseError(_)) || order.kind() == Some(outcome.answers);
    if !kind_matches {
        return Err(no_match());
    }
    match order.live() {
        Some(LiveOrder::Dispatched(dispatched)) => {
            let transition =
                dispatched.finish(outcome.failure.clone(), der.clone()).with_profile_changes(outcome.profile_changes);
            match repo.apply(&transition, now) {
                Ok(order) => Ok(RecordedResult { order, outcome: None, repeated: false }),
                Err(EimError::StateConflict { .. }) => match repo.find_order(order.id)? {
                    Some(order) if order.result_der.as_deref() == Some(der) => {
                        Ok(RecordedResult { order, outcome: None, repeated: true })
                    }
                    _ => Err(no_match()),
                },
                Err(e) => Err(e),
            }
        }
        None if order.result_der.as_deref() == Some(der) => Ok(RecordedResult { order, outcome: None, repeated: true }),
        _ => Err(no_match()),
    }
}

/// The eimTransactionId an unsigned result claims (`[2]` in BF54, `[7]` in IpaEuiccData / `[0]` in its error,
/// `[0]` in eimPackageResultResponseError).
fn claimed_unsigned_transaction_id(received: &ReceivedResult) -> Option<Vec<u8>> {
    use crate::codec::sgp32::{EimPackageResultResponseError, IpaEuiccDataResponse, ProfileDownloadTriggerResult};
    use crate::codec::tlv::{self, Tag};
    let tid = match received {
        ReceivedResult::ProfileDownloadTriggerResult(der) => {
            crate::codec::decode::<ProfileDownloadTriggerResult>(der).ok()?.eim_transaction_id
        }
        ReceivedResult::IpaEuiccDataResponse(der) => match crate::codec::decode::<IpaEuiccDataResponse>(der).ok()? {
            IpaEuiccDataResponse::IpaEuiccData(d) => d.eim_transaction_id,
            IpaEuiccDataResponse::IpaEuiccDataResponseError(e) => e.eim_transaction_id,
        },
        ReceivedResult::ResponseError(der) => {
            // `[0] EimPackageResultResponseError` is IMPLICIT: re-tag as a SEQUENCE to decode.
            let inner = tlv::parse_single(der).ok()?;
            let sequence = tlv::encode(Tag(0x30), inner.value());
            crate::codec::decode::<EimPackageResultResponseError>(&sequence).ok()?.eim_transaction_id
        }
        ReceivedResult::EuiccPackageResult(_) => return None,
    };
    tid.map(|t| t.0.to_vec())
}

fn response_error_code(der: &[u8]) -> Option<i64> {
    use crate::codec::sgp32::EimPackageResultResponseError;
    use crate::codec::tlv::{self, Tag};
    let inner = tlv::parse_single(der).ok()?;
    let sequence = tlv::encode(Tag(0x30), inner.value());
    Some(crate::codec::decode::<EimPackageResultResponseError>(&sequence).ok()?.eim_package_result_error_code)
}

/// ESipa.ProvideEimPackageResult with an EuiccPackageResult (SGP.32 v1.2 §5.14.x, §2.11.2.1): verifies
/// `euicc_package_result` (`BF51 …`, received bytes) with the eUICC's key and association token, matches it to
/// the eUICC's Dispatched order by (eimTransactionId, counterValue) and finishes that order.
///
/// A result that does not verify or matches no order changes nothing (the order keeps waiting for a genuine
/// result until its no-show timeout). The same verified result sent again is answered as before.
pub fn provide_eim_package_result(
    repo: &dyn EimRepository,
    ctx: &EimContext,
    eid_value: Option<&[u8]>,
    euicc_package_result: &[u8],
    now: i64,
) -> Result<RecordedResult, EimError> {
    // eidValue is OPTIONAL in ProvideEimPackageResult: the (unverified) eimTransactionId names the order, whose
    // eUICC's key then verifies the whole result. One read: the eUICC and that order.
    let hint = eid_value.map(eid_from_value).transpose()?;
    let claimed = claimed_eim_transaction_id(euicc_package_result);
    if hint.is_none() && claimed.is_none() {
        return Err(EimError::MissingEid);
    }
    let facts = repo.result_facts(hint.as_deref(), claimed.as_deref())?;
    let eid = facts.eid.ok_or(EimError::MissingEid)?;
    let euicc = facts.euicc.ok_or_else(|| EimError::UnknownEuicc(eid.clone()))?;
    let verified =
        verify_euicc_package_result(euicc_package_result, &euicc.euicc_public_key()?, euicc.association_token)?;
    if verified.eim_id != ctx.eim_id && verified.eim_id != euicc.eim_id {
        return Err(EimError::OtherEim(verified.eim_id));
    }
    let no_match = || EimError::NoMatchingPackage {
        eid: eid.clone(),
        eim_transaction_id: verified.eim_transaction_id.as_deref().map(hex::encode).unwrap_or_default(),
        counter_value: verified.counter_value,
    };
    let tid = verified.eim_transaction_id.clone().ok_or_else(no_match)?;
    let order = facts.order.filter(|o| o.eim_transaction_id == tid).ok_or_else(no_match)?;
    if !verified.answers(order.counter_value, &order.eim_transaction_id) {
        return Err(no_match());
    }
    match order.live() {
        Some(LiveOrder::Dispatched(dispatched)) => {
            let transition = dispatched
                .complete(&verified.outcome, euicc_package_result.to_vec())
                .with_profile_changes(profile_changes(&order.package_der, &verified.outcome));
            match repo.apply(&transition, now) {
                Ok(order) => Ok(RecordedResult { order, outcome: Some(verified.outcome), repeated: false }),
                // The same report racing on another connection or node: the winner recorded it.
                Err(EimError::StateConflict { .. }) => match repo.find_order(order.id)? {
                    Some(order) if order.result_der.as_deref() == Some(euicc_package_result) => {
                        Ok(RecordedResult { order, outcome: Some(verified.outcome), repeated: true })
                    }
                    _ => Err(no_match()),
                },
                Err(e) => Err(e),
            }
        }
        // A retry of a result already recorded: same answer, nothing changes.
        None if order.result_der.as_deref() == Some(euicc_package_result) => {
            Ok(RecordedResult { order, outcome: Some(verified.outcome), repeated: true })
        }
        // Never dispatched, expired, or a different result for a finished order.
        _ => Err(no_match()),
    }
}

/// The eimTransactionId a result claims, read without verification (only to find the eUICC whose key then
/// verifies it).
fn claimed_eim_transaction_id(euicc_package_result: &[u8]) -> Option<Vec<u8>> {
    let tid = match crate::codec::decode::<EuiccPackageResult>(euicc_package_result).ok()? {
        EuiccPackageResult::EuiccPackageResultSigned(r) => r.euicc_package_result_data_signed.eim_transaction_id,
        EuiccPackageResult::EuiccPackageErrorSigned(e) => e.euicc_package_error_data_signed.eim_transaction_id,
        EuiccPackageResult::EuiccPackageErrorUnsigned(u) => u.eim_transaction_id,
    };
    tid.map(|t| t.0.to_vec())
}

/// Dispatch and no-show timeouts: expires every order past its deadline; returns how many.
pub fn expire_orders(repo: &dyn EimRepository, now: i64) -> Result<usize, EimError> {
    repo.expire_due(now)
}
