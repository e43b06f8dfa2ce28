//! The ES2+ functions as idempotent calls (SGP.22 v2.5 §5.3.1 DownloadOrder, §5.3.2 ConfirmOrder, §5.3.3
//! CancelOrder, §5.3.4 ReleaseProfile): each checks its input against the operator's profile (for a clear status
//! code), then makes its one compare-and-set change **and records the call's answer in the same transaction**
//! ([`Es2Repository`]). Every lookup is scoped by the calling operator: another operator's ICCID is "unknown".

use super::error::OrderError;
use super::repository::{Answer, CallKey, Es2Repository, ProfileSelector, Recorded};
use crate::smdp::device_lock::DeviceLock;
use crate::smdp::order::{NewOrder, OrderRecord, DEFAULT_CC_ATTEMPTS};
use crate::smdp::{Eid, MatchingId, ProfileRecord, ProfileRepository, ProfileState, RepoError};

/// DownloadOrder input (§5.3.1) plus rspd's device lock extension.
#[derive(Debug, Clone, Default)]
pub struct DownloadOrderInput {
    pub eid: Option<Eid>,
    pub iccid: Option<String>,
    pub profile_type: Option<String>,
    /// rspd extension (`allowedImeis` / `allowedTacs`): only these devices may download.
    pub lock: DeviceLock,
}

/// ConfirmOrder input (§5.3.2) plus rspd's device lock extension.
#[derive(Debug, Clone)]
pub struct ConfirmOrderInput {
    pub iccid: String,
    pub eid: Option<Eid>,
    /// Given by the operator, or `None`: rspd generates one.
    pub matching_id: Option<MatchingId>,
    /// `SHA256(confirmationCode)` (`super::order::confirmation_code_digest`).
    pub cc_hash: Option<[u8; 32]>,
    pub smds_address: Option<String>,
    pub release: bool,
    /// Replaces the lock of DownloadOrder when given.
    pub lock: Option<DeviceLock>,
}

/// CancelOrder input (§5.3.3).
#[derive(Debug, Clone)]
pub struct CancelOrderInput {
    pub iccid: String,
    pub eid: Option<Eid>,
    pub matching_id: Option<String>,
    /// `finalProfileStatusIndicator`: Available or Unavailable.
    pub final_state: ProfileState,
}

/// The states CancelOrder may leave (an order exists and the profile is not installed).
const CANCELLABLE: [ProfileState; 6] = [
    ProfileState::Allocated,
    ProfileState::Linked,
    ProfileState::Confirmed,
    ProfileState::Released,
    ProfileState::Downloaded,
    ProfileState::Error,
];

fn profile<R: ProfileRepository + ?Sized>(
    repo: &R,
    operator_id: &str,
    iccid: &str,
) -> Result<ProfileRecord, OrderError> {
    repo.find_profile(operator_id, iccid)
        .map_err(OrderError::Repo)?
        .ok_or_else(|| OrderError::UnknownProfile { iccid: iccid.to_owned() })
}

/// Maps a storage refusal of `iccid`'s compare-and-set.
fn refused<'a>(iccid: &'a str, expected: &'static str) -> impl Fn(RepoError) -> OrderError + 'a {
    move |e| match e {
        RepoError::NotFound => OrderError::UnknownProfile { iccid: iccid.to_owned() },
        RepoError::StateConflict { actual } | RepoError::IllegalTransition { from: actual, .. } => {
            OrderError::WrongState { iccid: iccid.to_owned(), actual, expected }
        }
        other => OrderError::Repo(other),
    }
}

/// ES2+ DownloadOrder (§5.3.1): by ICCID, or the oldest Available profile of `profileType`; Linked with an EID,
/// else Allocated. The answer carries the ICCID.
pub fn download_order<R: ProfileRepository + Es2Repository + ?Sized>(
    repo: &R,
    call: &CallKey,
    input: &DownloadOrderInput,
    answer: Answer<'_, ProfileRecord>,
) -> Result<Recorded<ProfileRecord>, OrderError> {
    let operator_id = call.operator_id.as_str();
    let eid = input.eid.as_ref().map(Eid::as_str);
    let selector = match (&input.iccid, &input.profile_type) {
        (Some(iccid), profile_type) => {
            let p = profile(repo, operator_id, iccid)?;
            if let Some(t) = profile_type.as_ref().filter(|t| **t != p.profile_type) {
                return Err(OrderError::ProfileTypeMismatch { iccid: iccid.clone(), profile_type: t.clone() });
            }
            if p.state != ProfileState::Available {
                return Err(OrderError::NotAvailable { iccid: iccid.clone(), actual: p.state });
            }
            ProfileSelector::Iccid(iccid.clone())
        }
        (None, Some(t)) => ProfileSelector::ProfileType(t.clone()),
        (None, None) => return Err(OrderError::MissingField { field: "iccid or profileType" }),
    };
    let taken =
        repo.es2_download_order(call, &selector, eid, &input.lock, answer).map_err(|e| match (&selector, e) {
            (ProfileSelector::Iccid(iccid), RepoError::StateConflict { actual }) => {
                OrderError::NotAvailable { iccid: iccid.clone(), actual }
            }
            (ProfileSelector::Iccid(iccid), RepoError::NotFound) => OrderError::UnknownProfile { iccid: iccid.clone() },
            (_, other) => OrderError::Repo(other),
        })?;
    match (taken, selector) {
        (Some(recorded), _) => Ok(recorded),
        (None, ProfileSelector::ProfileType(t)) => {
            // The pool is empty: a type the operator never had is unknown, else it is sold out.
            let mut known = 0;
            for state in ProfileState::ALL {
                known += repo.count_profiles(operator_id, &t, state).map_err(OrderError::Repo)?;
            }
            Err(if known == 0 { OrderError::UnknownProfileType(t) } else { OrderError::ProfileTypeUnavailable(t) })
        }
        (None, ProfileSelector::Iccid(iccid)) => Err(OrderError::UnknownProfile { iccid }),
    }
}

/// ES2+ ConfirmOrder (§5.3.2): Allocated | Linked → Confirmed (→ Released with `releaseFlag`) under the given or a
/// generated matchingId; the confirmation code is kept hashed; smdsAddress is stored. The answer carries
/// eid / matchingId / smdpAddress (rendered by the binding).
pub fn confirm_order<R: ProfileRepository + Es2Repository + ?Sized>(
    repo: &R,
    call: &CallKey,
    input: &ConfirmOrderInput,
    answer: Answer<'_, OrderRecord>,
) -> Result<Recorded<OrderRecord>, OrderError> {
    let iccid = input.iccid.as_str();
    let expected = "allocated or linked";
    let p = profile(repo, &call.operator_id, iccid)?;
    if !matches!(p.state, ProfileState::Allocated | ProfileState::Linked) {
        return Err(OrderError::WrongState { iccid: iccid.to_owned(), actual: p.state, expected });
    }
    let eid = match (p.eid.as_deref(), &input.eid) {
        (Some(linked), Some(given)) if linked != given.as_str() => {
            return Err(OrderError::EidMismatch { iccid: iccid.to_owned() })
        }
        (Some(linked), None) => Some(Eid::new(linked).map_err(|e| OrderError::Repo(RepoError::Backend(e)))?),
        (_, given) => given.clone(),
    };
    if input.smds_address.is_some() && eid.is_none() {
        return Err(OrderError::EidMissing { iccid: iccid.to_owned() });
    }
    let matching_id = match &input.matching_id {
        Some(m) => m.clone(),
        None => MatchingId::generate().map_err(|e| OrderError::Repo(RepoError::Backend(e)))?,
    };
    let order = NewOrder {
        operator_id: call.operator_id.clone(),
        iccid: iccid.to_owned(),
        matching_id: matching_id.clone(),
        eid,
        cc_hash: input.cc_hash,
        cc_attempts: DEFAULT_CC_ATTEMPTS,
    };
    repo.es2_confirm_order(
        call,
        &order,
        p.state,
        input.smds_address.as_deref(),
        input.lock.as_ref(),
        input.release,
        answer,
    )
    .map_err(|e| match e {
        RepoError::Conflict => OrderError::MatchingIdInUse(matching_id.to_string()),
        other => refused(iccid, expected)(other),
    })
}

/// ES2+ CancelOrder (§5.3.3): the profile → Available (back in the pool, unbound) or Unavailable (retired); its
/// orders are withdrawn and an open download session for them is cancelled.
pub fn cancel_order<R: ProfileRepository + Es2Repository + ?Sized>(
    repo: &R,
    call: &CallKey,
    input: &CancelOrderInput,
    answer: Answer<'_, ProfileRecord>,
) -> Result<Recorded<ProfileRecord>, OrderError> {
    let iccid = input.iccid.as_str();
    let expected = "ordered (allocated, linked, confirmed, released, downloaded or error)";
    let p = profile(repo, &call.operator_id, iccid)?;
    if let Some(given) = &input.eid {
        if p.eid.as_deref() != Some(given.as_str()) {
            return Err(OrderError::EidMismatch { iccid: iccid.to_owned() });
        }
    }
    if let Some(matching_id) = &input.matching_id {
        let orders = repo.orders_of_profile(&call.operator_id, iccid).map_err(OrderError::Repo)?;
        if !orders.iter().any(|o| &o.matching_id == matching_id) {
            return Err(OrderError::UnknownMatchingId { iccid: iccid.to_owned(), matching_id: matching_id.clone() });
        }
    }
    if !CANCELLABLE.contains(&p.state) {
        return Err(OrderError::WrongState { iccid: iccid.to_owned(), actual: p.state, expected });
    }
    repo.es2_cancel_order(call, iccid, p.state, input.final_state, answer).map_err(refused(iccid, expected))
}

/// ES2+ ReleaseProfile (§5.3.4): Confirmed → Released.
pub fn release_profile<R: ProfileRepository + Es2Repository + ?Sized>(
    repo: &R,
    call: &CallKey,
    iccid: &str,
    answer: Answer<'_, ProfileRecord>,
) -> Result<Recorded<ProfileRecord>, OrderError> {
    repo.es2_release_profile(call, iccid, answer).map_err(refused(iccid, "confirmed"))
}
