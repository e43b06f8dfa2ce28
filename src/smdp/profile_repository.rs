//! The storage port the SM-DP+ domain uses for its profile inventory (SGP.22 v2.5 §5.3, ES2+).
//!
//! The domain calls these synchronous methods; `crate::store` implements them over SQLite or
//! PostgreSQL. Callers on an async runtime run them on a blocking thread (`actix_web::web::block`).
//! State changes are compare-and-set: a transition names the state it expects to leave, so two
//! requests racing for one profile get exactly one success (see ARCHITECTURE.md, "State machines").

use super::profile_state::ProfileState;

/// A profile to add to the inventory (normally in [`ProfileState::Available`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProfile {
    /// The operator (MNO) that owns the profile; every lookup is scoped by it.
    pub operator_id: String,
    /// The profile's ICCID, unique across the whole SM-DP+.
    pub iccid: String,
    /// The operator's profile type (ES2+ `profileType`, §5.3.1).
    pub profile_type: String,
    /// The initial state.
    pub state: ProfileState,
    /// The EID the profile is bound to, if any.
    pub eid: Option<String>,
}

impl NewProfile {
    /// A profile entering the pool as [`ProfileState::Available`], bound to no EID.
    pub fn available(operator_id: &str, iccid: &str, profile_type: &str) -> NewProfile {
        NewProfile {
            operator_id: operator_id.to_owned(),
            iccid: iccid.to_owned(),
            profile_type: profile_type.to_owned(),
            state: ProfileState::Available,
            eid: None,
        }
    }
}

/// One stored profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRecord {
    /// Surrogate key, assigned by the store.
    pub id: i64,
    pub operator_id: String,
    pub iccid: String,
    pub profile_type: String,
    pub state: ProfileState,
    /// Set when the profile is claimed for an EID (ES2+ DownloadOrder with EID → Linked).
    pub eid: Option<String>,
    /// Creation time, milliseconds since the Unix epoch (UTC).
    pub created_at: i64,
    /// Time of the last change, milliseconds since the Unix epoch (UTC).
    pub updated_at: i64,
}

/// Why a repository call failed, in terms the domain can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoError {
    /// No such profile for this operator.
    #[error("not found")]
    NotFound,
    /// A unique key is already taken (e.g. the ICCID exists).
    #[error("already exists")]
    Conflict,
    /// The compare-and-set failed: the profile is not in the expected state.
    #[error("profile is in state {actual}")]
    StateConflict { actual: ProfileState },
    /// The transition breaks the SGP.22 state machine ([`ProfileState::can_transition_to`]).
    #[error("transition {from} → {to} is not allowed")]
    IllegalTransition { from: ProfileState, to: ProfileState },
    /// The database cannot be reached (retry later; maps to a temporary failure).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Any other storage failure.
    #[error("store error: {0}")]
    Backend(String),
}

/// Profile inventory operations (SGP.22 v2.5 §5.3).
pub trait ProfileRepository {
    /// Adds a profile. A duplicate ICCID gives [`RepoError::Conflict`].
    fn insert_profile(&self, p: &NewProfile) -> Result<ProfileRecord, RepoError>;

    /// Finds a profile by ICCID among the given operator's profiles only.
    fn find_profile(&self, operator_id: &str, iccid: &str) -> Result<Option<ProfileRecord>, RepoError>;

    /// Moves a profile from `from` to `to` if, and only if, it is still in `from`.
    ///
    /// Errors: [`RepoError::IllegalTransition`] when `from → to` is not allowed;
    /// [`RepoError::StateConflict`] with the actual state when the profile has moved on;
    /// [`RepoError::NotFound`] when the operator has no such profile.
    /// Moving back to [`ProfileState::Available`] clears the EID binding.
    fn transition_profile(
        &self,
        operator_id: &str,
        iccid: &str,
        from: ProfileState,
        to: ProfileState,
    ) -> Result<ProfileRecord, RepoError>;

    /// ES2+ DownloadOrder for a given ICCID (§5.3.1): Available → Linked (bound to `eid`) or Allocated (no EID),
    /// compare-and-set. [`RepoError::StateConflict`] when the profile is not Available any more.
    fn reserve_profile(&self, operator_id: &str, iccid: &str, eid: Option<&str>) -> Result<ProfileRecord, RepoError>;

    /// Takes one [`ProfileState::Available`] profile of the given type out of the pool and moves it
    /// to `to` (Allocated, or Linked with `eid`), as ES2+ DownloadOrder does without an ICCID (§5.3.1).
    /// `Ok(None)` when the pool is empty. Each profile is claimed at most once, even across nodes.
    fn claim_available_profile(
        &self,
        operator_id: &str,
        profile_type: &str,
        to: ProfileState,
        eid: Option<&str>,
    ) -> Result<Option<ProfileRecord>, RepoError>;

    /// How many of the operator's profiles of this type are in `state` (pool levels, metrics).
    fn count_profiles(&self, operator_id: &str, profile_type: &str, state: ProfileState) -> Result<i64, RepoError>;
}
