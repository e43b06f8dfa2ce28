//! The ES2+ order steps as service functions over the repository ports (SGP.22 v2.5 §5.3.1 DownloadOrder,
//! §5.3.2 ConfirmOrder, §5.3.4 ReleaseProfile). `rspd order create` calls them today; the ES2+ binding will call
//! the same functions. Each step is one compare-and-set transition, scoped by the operator:
//! Available → Allocated | Linked → Confirmed → Released.

use super::order::{NewOrder, OrderRecord};
use super::{DownloadRepository, Eid, MatchingId, ProfileRecord, ProfileRepository, ProfileState, RepoError};

/// Why an ES2+ order step failed (mapped to ES2+ status codes by the ES2+ binding, §5.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// The operator has no profile with this ICCID (§5.3.1: Profile ICCID — Unknown).
    #[error("the operator has no profile {iccid}")]
    UnknownProfile { iccid: String },
    /// The profile is not in a state this step starts from (§5.3: Profile ICCID — Invalid transition).
    #[error("profile {iccid} is {actual}, expected {expected}")]
    WrongState { iccid: String, actual: ProfileState, expected: &'static str },
    /// ConfirmOrder names another EID than the one DownloadOrder linked (§5.3.2: EID — Invalid association).
    #[error("profile {iccid} is linked to another EID")]
    EidMismatch { iccid: String },
    /// The matchingId is already used by another order (§5.3.2: Matching ID — Already in use).
    #[error("matchingId {0} is already in use")]
    MatchingIdInUse(String),
    #[error(transparent)]
    Repo(RepoError),
}

fn state_error<'a>(iccid: &'a str, expected: &'static str) -> impl Fn(RepoError) -> OrderError + 'a {
    move |e| match e {
        RepoError::NotFound => OrderError::UnknownProfile { iccid: iccid.to_owned() },
        RepoError::StateConflict { actual } => OrderError::WrongState { iccid: iccid.to_owned(), actual, expected },
        RepoError::IllegalTransition { from, .. } => {
            OrderError::WrongState { iccid: iccid.to_owned(), actual: from, expected }
        }
        other => OrderError::Repo(other),
    }
}

/// ES2+ DownloadOrder for a known ICCID (§5.3.1): Available → Linked when an EID is given, else Allocated.
pub fn download_order<R: ProfileRepository + ?Sized>(
    repo: &R,
    operator_id: &str,
    iccid: &str,
    eid: Option<&Eid>,
) -> Result<ProfileRecord, OrderError> {
    repo.reserve_profile(operator_id, iccid, eid.map(Eid::as_str)).map_err(state_error(iccid, "available"))
}

/// The ConfirmOrder input (§5.3.2), beyond the ICCID.
#[derive(Debug, Clone)]
pub struct Confirmation {
    pub matching_id: MatchingId,
    /// Must equal the EID of a Linked profile; binds an Allocated one.
    pub eid: Option<Eid>,
    /// `SHA256(confirmation code)` ([`super::order::confirmation_code_digest`]); the code itself is never kept.
    pub cc_hash: Option<[u8; 32]>,
    pub cc_attempts: i32,
    /// `releaseFlag`: release the profile for download in the same call (§5.3.2).
    pub release: bool,
}

/// ES2+ ConfirmOrder (§5.3.2): Allocated | Linked → Confirmed with the order's matchingId, then → Released when
/// `releaseFlag` is set. A crash between the two leaves a Confirmed order that [`release_profile`] finishes.
pub fn confirm_order<R: ProfileRepository + DownloadRepository + ?Sized>(
    repo: &R,
    operator_id: &str,
    iccid: &str,
    confirmation: &Confirmation,
) -> Result<OrderRecord, OrderError> {
    let expected = "allocated or linked";
    let profile = repo
        .find_profile(operator_id, iccid)
        .map_err(OrderError::Repo)?
        .ok_or_else(|| OrderError::UnknownProfile { iccid: iccid.to_owned() })?;
    if !matches!(profile.state, ProfileState::Allocated | ProfileState::Linked) {
        return Err(OrderError::WrongState { iccid: iccid.to_owned(), actual: profile.state, expected });
    }
    let eid = match (profile.eid.as_deref(), &confirmation.eid) {
        (Some(linked), Some(given)) if linked != given.as_str() => {
            return Err(OrderError::EidMismatch { iccid: iccid.to_owned() })
        }
        (Some(linked), None) => Some(Eid::new(linked).map_err(|e| OrderError::Repo(RepoError::Backend(e)))?),
        (_, given) => given.clone(),
    };
    let order = NewOrder {
        operator_id: operator_id.to_owned(),
        iccid: iccid.to_owned(),
        matching_id: confirmation.matching_id.clone(),
        eid,
        cc_hash: confirmation.cc_hash,
        cc_attempts: confirmation.cc_attempts,
    };
    let mut record = repo.confirm_order(&order, profile.state).map_err(|e| match e {
        RepoError::Conflict => OrderError::MatchingIdInUse(confirmation.matching_id.to_string()),
        other => state_error(iccid, expected)(other),
    })?;
    if confirmation.release {
        record.state = release_profile(repo, operator_id, iccid)?.state;
    }
    Ok(record)
}

/// ES2+ ReleaseProfile (§5.3.4): Confirmed → Released; from then on ES9+ may download it.
pub fn release_profile<R: ProfileRepository + ?Sized>(
    repo: &R,
    operator_id: &str,
    iccid: &str,
) -> Result<ProfileRecord, OrderError> {
    repo.transition_profile(operator_id, iccid, ProfileState::Confirmed, ProfileState::Released)
        .map_err(state_error(iccid, "confirmed"))
}
