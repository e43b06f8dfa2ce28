//! [`ProfileRepository`] for [`MemoryStore`]: the SM-DP+ profile inventory (SGP.22 v2.5 §5.3, ES2+), with the
//! semantics of `store/smdp/profiles.rs`:
//!
//! - an ICCID is unique across the whole SM-DP+: a second insert, by any operator, is [`RepoError::Conflict`];
//! - every lookup is scoped by the operator, so another operator's profile answers exactly like an unknown one
//!   ([`RepoError::NotFound`], `None`, a count of 0);
//! - a transition is a compare-and-set on the state: [`RepoError::IllegalTransition`] when
//!   [`ProfileState::can_transition_to`] forbids it, [`RepoError::StateConflict`] with the actual state when the
//!   profile moved on; back to Available, the EID binding is cleared;
//! - a pool claim takes the operator's oldest Available profile of the type (lowest id), at most once.

use crate::clock::now_ms;
use crate::smdp::device_lock::DeviceLock;
use crate::smdp::{NewProfile, ProfileRecord, ProfileRepository, ProfileState, RepoError};

use super::{MemoryStore, State};

/// One row of `profiles`: the record and the device lock (`allowed_imeis`, `allowed_tacs`) ES2+ sets.
#[derive(Debug, Clone)]
pub(super) struct SmdpProfile {
    pub(super) record: ProfileRecord,
    pub(super) lock: DeviceLock,
}

impl State {
    /// The operator's profile `iccid`: `None` for an unknown ICCID and for another operator's.
    pub(super) fn smdp_profile(&self, operator_id: &str, iccid: &str) -> Option<&SmdpProfile> {
        self.smdp_profiles.get(iccid).filter(|p| p.record.operator_id == operator_id)
    }

    pub(super) fn smdp_profile_mut(&mut self, operator_id: &str, iccid: &str) -> Option<&mut SmdpProfile> {
        self.smdp_profiles.get_mut(iccid).filter(|p| p.record.operator_id == operator_id)
    }

    /// The state of the operator's profile, if it has one (`profile_state!`).
    pub(super) fn profile_state(&self, operator_id: &str, iccid: &str) -> Option<ProfileState> {
        self.smdp_profile(operator_id, iccid).map(|p| p.record.state)
    }

    /// Moves the operator's profile to `to` if it is in one of `from` (`move_profile!`); whether it moved.
    pub(super) fn move_profile(
        &mut self,
        operator_id: &str,
        iccid: &str,
        from: &[ProfileState],
        to: ProfileState,
        now: i64,
    ) -> bool {
        match self.smdp_profile_mut(operator_id, iccid).filter(|p| from.contains(&p.record.state)) {
            Some(profile) => {
                profile.record.state = to;
                profile.record.updated_at = now;
                true
            }
            None => false,
        }
    }

    /// Why a compare-and-set on the operator's profile changed nothing: it moved on, or there is no such profile
    /// for this operator (`compare_and_set_outcome`).
    pub(super) fn refusal(&self, operator_id: &str, iccid: &str) -> RepoError {
        match self.profile_state(operator_id, iccid) {
            Some(actual) => RepoError::StateConflict { actual },
            None => RepoError::NotFound,
        }
    }

    /// The ICCID of the operator's oldest Available profile of this type (lowest id: the head of the pool).
    pub(super) fn pool_head(&self, operator_id: &str, profile_type: &str) -> Option<String> {
        self.smdp_profiles
            .values()
            .filter(|p| {
                p.record.operator_id == operator_id
                    && p.record.profile_type == profile_type
                    && p.record.state == ProfileState::Available
            })
            .min_by_key(|p| p.record.id)
            .map(|p| p.record.iccid.clone())
    }

    /// Inserts a profile row; an ICCID known to any operator is [`RepoError::Conflict`] (the column is UNIQUE).
    pub(super) fn insert_smdp_profile(&mut self, p: &NewProfile, now: i64) -> Result<ProfileRecord, RepoError> {
        if self.smdp_profiles.contains_key(&p.iccid) {
            return Err(RepoError::Conflict);
        }
        self.last_profile_id += 1;
        let record = ProfileRecord {
            id: self.last_profile_id,
            operator_id: p.operator_id.clone(),
            iccid: p.iccid.clone(),
            profile_type: p.profile_type.clone(),
            state: p.state,
            eid: p.eid.clone(),
            created_at: now,
            updated_at: now,
        };
        self.smdp_profiles.insert(p.iccid.clone(), SmdpProfile { record: record.clone(), lock: DeviceLock::default() });
        Ok(record)
    }
}

impl ProfileRepository for MemoryStore {
    fn insert_profile(&self, p: &NewProfile) -> Result<ProfileRecord, RepoError> {
        let now = now_ms();
        self.lock()?.insert_smdp_profile(p, now)
    }

    fn find_profile(&self, operator_id: &str, iccid: &str) -> Result<Option<ProfileRecord>, RepoError> {
        Ok(self.lock()?.smdp_profile(operator_id, iccid).map(|p| p.record.clone()))
    }

    fn transition_profile(
        &self,
        operator_id: &str,
        iccid: &str,
        from: ProfileState,
        to: ProfileState,
    ) -> Result<ProfileRecord, RepoError> {
        if !from.can_transition_to(to) {
            return Err(RepoError::IllegalTransition { from, to });
        }
        let now = now_ms();
        let mut state = self.lock()?;
        let Some(profile) = state.smdp_profile_mut(operator_id, iccid).filter(|p| p.record.state == from) else {
            return Err(state.refusal(operator_id, iccid));
        };
        profile.record.state = to;
        profile.record.updated_at = now;
        // Back in the pool, the profile is bound to no EID any more.
        if to == ProfileState::Available {
            profile.record.eid = None;
        }
        Ok(profile.record.clone())
    }

    fn reserve_profile(&self, operator_id: &str, iccid: &str, eid: Option<&str>) -> Result<ProfileRecord, RepoError> {
        let to = if eid.is_some() { ProfileState::Linked } else { ProfileState::Allocated };
        let now = now_ms();
        let mut state = self.lock()?;
        let Some(profile) =
            state.smdp_profile_mut(operator_id, iccid).filter(|p| p.record.state == ProfileState::Available)
        else {
            return Err(state.refusal(operator_id, iccid));
        };
        profile.record.state = to;
        profile.record.eid = eid.map(str::to_owned);
        profile.record.updated_at = now;
        Ok(profile.record.clone())
    }

    fn claim_available_profile(
        &self,
        operator_id: &str,
        profile_type: &str,
        to: ProfileState,
        eid: Option<&str>,
    ) -> Result<Option<ProfileRecord>, RepoError> {
        if !matches!(to, ProfileState::Allocated | ProfileState::Linked) {
            return Err(RepoError::IllegalTransition { from: ProfileState::Available, to });
        }
        let now = now_ms();
        let mut state = self.lock()?;
        let Some(iccid) = state.pool_head(operator_id, profile_type) else { return Ok(None) };
        Ok(state.smdp_profiles.get_mut(&iccid).map(|profile| {
            profile.record.state = to;
            profile.record.eid = eid.map(str::to_owned);
            profile.record.updated_at = now;
            profile.record.clone()
        }))
    }

    fn count_profiles(&self, operator_id: &str, profile_type: &str, state: ProfileState) -> Result<i64, RepoError> {
        let count = self
            .lock()?
            .smdp_profiles
            .values()
            .filter(|p| {
                p.record.operator_id == operator_id && p.record.profile_type == profile_type && p.record.state == state
            })
            .count();
        i64::try_from(count).map_err(|e| RepoError::Backend(e.to_string()))
    }
}
