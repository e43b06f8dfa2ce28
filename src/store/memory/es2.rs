//! [`Es2Repository`] for [`MemoryStore`]: ES2+ steps (SGP.22 v2.5 §5.3) whose state change and recorded answer are
//! made together, with the semantics of `store/smdp/es2.rs`: each step checks what the SQL transaction checks, in
//! the same order, and then — unless a copy of the call was answered first ([`Recorded::Replayed`], nothing
//! changed) — applies the change and records the answer under the one lock.

use crate::clock::now_ms;
use crate::smdp::device_lock::DeviceLock;
use crate::smdp::es2::{Answer, CallKey, Es2Repository, ProfileSelector, Recorded, StoredCall};
use crate::smdp::session::SessionState;
use crate::smdp::{NewOrder, OrderRecord, ProfileRecord, ProfileState, RepoError};

use super::downloads::OPEN_STATES;
use super::{MemoryStore, State};

/// The key of `es2_calls`: (operator, functionRequesterIdentifier, functionCallIdentifier).
pub(super) type CallId = (String, String, String);

fn call_id(call: &CallKey) -> CallId {
    (call.operator_id.clone(), call.requester.clone(), call.call_id.clone())
}

impl State {
    /// The answer stored for the call's key, if a copy of it was answered already.
    fn stored_call(&self, call: &CallKey) -> Option<StoredCall> {
        self.es2_calls.get(&call_id(call)).cloned()
    }

    /// Records a call's answer (the caller checked the key is free).
    fn insert_call(&mut self, call: &CallKey, answer: String) {
        let stored = StoredCall {
            function: call.function.to_owned(),
            request_digest: call.request_digest.to_vec(),
            response: answer,
        };
        self.es2_calls.insert(call_id(call), stored);
    }
}

impl Es2Repository for MemoryStore {
    fn find_call(&self, call: &CallKey) -> Result<Option<StoredCall>, RepoError> {
        Ok(self.lock()?.stored_call(call))
    }

    fn record_call(&self, call: &CallKey, answer: &str) -> Result<StoredCall, RepoError> {
        let mut state = self.lock()?;
        if let Some(stored) = state.stored_call(call) {
            return Ok(stored);
        }
        state.insert_call(call, answer.to_owned());
        state.stored_call(call).ok_or_else(|| RepoError::Backend("memory store: a recorded call is gone".into()))
    }

    fn es2_download_order(
        &self,
        call: &CallKey,
        selector: &ProfileSelector,
        eid: Option<&str>,
        lock: &DeviceLock,
        answer: Answer<'_, ProfileRecord>,
    ) -> Result<Option<Recorded<ProfileRecord>>, RepoError> {
        let to = if eid.is_some() { ProfileState::Linked } else { ProfileState::Allocated };
        let now = now_ms();
        let operator = call.operator_id.as_str();
        let mut state = self.lock()?;
        let iccid = match selector {
            ProfileSelector::Iccid(iccid) => {
                if state.profile_state(operator, iccid) != Some(ProfileState::Available) {
                    return Err(state.refusal(operator, iccid));
                }
                iccid.clone()
            }
            // By profile type: the oldest Available one.
            ProfileSelector::ProfileType(t) => match state.pool_head(operator, t) {
                Some(iccid) => iccid,
                None => return Ok(None),
            },
        };
        if let Some(stored) = state.stored_call(call) {
            return Ok(Some(Recorded::Replayed(stored)));
        }
        let Some(profile) = state.smdp_profile_mut(operator, &iccid) else { return Err(RepoError::NotFound) };
        profile.record.state = to;
        profile.record.eid = eid.map(str::to_owned);
        profile.lock = lock.clone();
        profile.record.updated_at = now;
        let value = profile.record.clone();
        let text = answer(&value);
        state.insert_call(call, text.clone());
        Ok(Some(Recorded::Applied { value, answer: text }))
    }

    fn es2_confirm_order(
        &self,
        call: &CallKey,
        order: &NewOrder,
        from: ProfileState,
        smds_address: Option<&str>,
        lock: Option<&DeviceLock>,
        release: bool,
        answer: Answer<'_, OrderRecord>,
    ) -> Result<Recorded<OrderRecord>, RepoError> {
        let to = if release { ProfileState::Released } else { ProfileState::Confirmed };
        if !from.can_transition_to(ProfileState::Confirmed) {
            return Err(RepoError::IllegalTransition { from, to: ProfileState::Confirmed });
        }
        let now = now_ms();
        let mut state = self.lock()?;
        // A matchingId in use changes nothing.
        if state.order_by_matching_id(order.matching_id.as_str()).is_some() {
            return Err(RepoError::Conflict);
        }
        if state.profile_state(&order.operator_id, &order.iccid) != Some(from) {
            return Err(state.refusal(&order.operator_id, &order.iccid));
        }
        if let Some(stored) = state.stored_call(call) {
            return Ok(Recorded::Replayed(stored));
        }
        if let Some(profile) = state.smdp_profile_mut(&order.operator_id, &order.iccid) {
            profile.record.state = to;
            profile.record.eid = order.eid.as_ref().map(|e| e.as_str().to_owned());
            profile.record.updated_at = now;
            if let Some(lock) = lock {
                profile.lock = lock.clone();
            }
        }
        let value = state.insert_order(order, smds_address).with_state(to);
        let text = answer(&value);
        state.insert_call(call, text.clone());
        Ok(Recorded::Applied { value, answer: text })
    }

    fn es2_cancel_order(
        &self,
        call: &CallKey,
        iccid: &str,
        from: ProfileState,
        to: ProfileState,
        answer: Answer<'_, ProfileRecord>,
    ) -> Result<Recorded<ProfileRecord>, RepoError> {
        if !from.can_transition_to(to) {
            return Err(RepoError::IllegalTransition { from, to });
        }
        let now = now_ms();
        let operator = call.operator_id.as_str();
        let mut state = self.lock()?;
        if state.profile_state(operator, iccid) != Some(from) {
            return Err(state.refusal(operator, iccid));
        }
        if let Some(stored) = state.stored_call(call) {
            return Ok(Recorded::Replayed(stored));
        }
        let Some(profile) = state.smdp_profile_mut(operator, iccid) else { return Err(RepoError::NotFound) };
        profile.record.state = to;
        profile.record.updated_at = now;
        // Back in the pool: bound to no EID, locked to no device.
        if to == ProfileState::Available {
            profile.record.eid = None;
            profile.lock = DeviceLock::default();
        }
        let value = profile.record.clone();
        // The orders of this profile are withdrawn with their open download sessions.
        let order_ids: Vec<i64> =
            state.orders.values().filter(|o| o.operator_id == operator && o.iccid == iccid).map(|o| o.id).collect();
        for session in state.download_sessions.values_mut() {
            let withdrawn = session.operator_id.as_deref() == Some(operator)
                && session.order_id.is_some_and(|id| order_ids.contains(&id));
            if withdrawn && OPEN_STATES.contains(&session.state) {
                session.state = SessionState::Cancelled;
            }
        }
        state.orders.retain(|id, _| !order_ids.contains(id));
        let text = answer(&value);
        state.insert_call(call, text.clone());
        Ok(Recorded::Applied { value, answer: text })
    }

    fn es2_release_profile(
        &self,
        call: &CallKey,
        iccid: &str,
        answer: Answer<'_, ProfileRecord>,
    ) -> Result<Recorded<ProfileRecord>, RepoError> {
        let now = now_ms();
        let operator = call.operator_id.as_str();
        let mut state = self.lock()?;
        if state.profile_state(operator, iccid) != Some(ProfileState::Confirmed) {
            return Err(state.refusal(operator, iccid));
        }
        if let Some(stored) = state.stored_call(call) {
            return Ok(Recorded::Replayed(stored));
        }
        let Some(profile) = state.smdp_profile_mut(operator, iccid) else { return Err(RepoError::NotFound) };
        profile.record.state = ProfileState::Released;
        profile.record.updated_at = now;
        let value = profile.record.clone();
        let text = answer(&value);
        state.insert_call(call, text.clone());
        Ok(Recorded::Applied { value, answer: text })
    }

    fn orders_of_profile(&self, operator_id: &str, iccid: &str) -> Result<Vec<OrderRecord>, RepoError> {
        let state = self.lock()?;
        let Some(profile) = state.profile_state(operator_id, iccid) else { return Ok(Vec::new()) };
        Ok(state
            .orders
            .values()
            .rev()
            .filter(|o| o.operator_id == operator_id && o.iccid == iccid)
            .map(|o| o.with_state(profile))
            .collect())
    }
}
