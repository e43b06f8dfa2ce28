//! ES9+ AuthenticateClient for [`MemoryStore`](super::MemoryStore) (SGP.22 v2.5 §5.6.3), with the semantics of
//! `store/smdp/authentication.rs` and the `claim_order!` of `store/smdp/downloads.rs`: one read
//! ([`DownloadRepository::authentication_facts`]) and one write
//! ([`DownloadRepository::record_authentication`]).
//!
//! The claim is a compare-and-set: the order's profile must be Released and the order unclaimed (or held by an
//! unfinished session of the same eUICC, which is cancelled: its LPA starts again), and the session still
//! Initiated. Everything is checked before anything changes, so a lost claim leaves nothing behind — as the SQL
//! savepoint does — but the session's cancellation (its serverChallenge is single-use) and the operator's event.
//!
//! [`DownloadRepository::authentication_facts`]: crate::smdp::DownloadRepository::authentication_facts
//! [`DownloadRepository::record_authentication`]: crate::smdp::DownloadRepository::record_authentication

use crate::smdp::download_repository::{AuthenticationFacts, AuthenticationOutcome, BindError, OrderFacts, OrderKey};
use crate::smdp::session::{AuthenticatedUpdate, SessionState};
use crate::smdp::{OrderRecord, ProfileNames, ProfileState, RepoError};

use super::State;

impl State {
    /// AuthenticateClient's claim (§5.6.3): the order claimed by the session and the session Initiated →
    /// Authenticated, or — changing nothing — why not: [`BindError::OrderTaken`] with the profile's state (Error when
    /// the operator has no such profile) when the profile left Released or another session holds the order,
    /// [`BindError::SessionGone`] when the session is no longer Initiated.
    pub(super) fn claim_order(
        &mut self,
        transaction_id: &str,
        order: &OrderRecord,
        u: &AuthenticatedUpdate,
    ) -> Result<(), BindError> {
        let profile = self.profile_state(&order.operator_id, &order.iccid);
        let taken = || BindError::OrderTaken { state: profile.unwrap_or(ProfileState::Error) };
        if profile != Some(ProfileState::Released) {
            return Err(taken());
        }
        // The order as stored now (the caller's copy was read before): missing, it cannot be claimed.
        let Some(stored) = self.order(&order.operator_id, order.id) else { return Err(taken()) };
        // Held by another session: only that eUICC's unfinished session (no BPP yet) is taken over.
        let abandoned = match stored.session_id.as_deref().filter(|old| *old != transaction_id) {
            None => None,
            Some(old) => {
                let unfinished = self.download_sessions.get(old).is_some_and(|s| {
                    s.eid.as_deref() == Some(u.eid.as_str())
                        && matches!(s.state, SessionState::Initiated | SessionState::Authenticated)
                });
                if !unfinished {
                    return Err(taken());
                }
                Some(old.to_owned())
            }
        };
        if self.download_sessions.get(transaction_id).is_none_or(|s| s.state != SessionState::Initiated) {
            return Err(BindError::SessionGone);
        }
        if let Some(old) = abandoned {
            self.move_session(&old, &[SessionState::Initiated, SessionState::Authenticated], SessionState::Cancelled);
        }
        if let Some(stored) = self.order_mut(&order.operator_id, order.id) {
            stored.session_id = Some(transaction_id.to_owned());
        }
        if let Some(session) = self.download_sessions.get_mut(transaction_id) {
            session.state = SessionState::Authenticated;
            session.eid = Some(u.eid.clone());
            session.order_id = Some(u.order_id);
            session.operator_id = Some(u.operator_id.clone());
            session.iccid = Some(u.iccid.clone());
            session.euicc_public_key = Some(u.euicc_public_key.clone());
            session.smdp_signature2 = Some(u.smdp_signature2.clone());
            session.cc_required = u.cc_required;
        }
        Ok(())
    }

    /// [`crate::smdp::DownloadRepository::authentication_facts`]: the session and the order the key names (by
    /// matchingId of any operator, or the oldest Released unclaimed order bound to the EID), with its profile's
    /// device lock and StoreMetadata names.
    pub(super) fn authentication_facts(
        &self,
        transaction_id: &str,
        order_key: Option<OrderKey<'_>>,
    ) -> Result<AuthenticationFacts, RepoError> {
        let session = self.download_sessions.get(transaction_id).cloned();
        let order = match order_key {
            None => None,
            Some(OrderKey::MatchingId(matching_id)) => self.order_by_matching_id(matching_id),
            Some(OrderKey::Eid(eid)) => self.released_order_for_eid(eid),
        };
        let Some(order) = order else { return Ok(AuthenticationFacts { session, order: None }) };
        let Some(profile) = self.smdp_profile(&order.operator_id, &order.iccid) else {
            return Err(RepoError::Backend("an order has no profile".into()));
        };
        // The names as imported; no profile type is held here to fill those left open.
        let names = self
            .profile_packages
            .get(&order.iccid)
            .filter(|p| p.operator_id == order.operator_id)
            .map(|p| ProfileNames::from(p).resolve(None));
        Ok(AuthenticationFacts {
            session,
            order: Some(OrderFacts {
                order: order.with_state(profile.record.state),
                device_lock: profile.lock.clone(),
                names,
                type_metadata: None,
            }),
        })
    }

    /// [`crate::smdp::DownloadRepository::record_authentication`]: bound (and `progress` enqueued), or — the claim
    /// lost, or a refusal — the session Initiated → Cancelled (a no-op if it moved on) and the event enqueued.
    pub(super) fn record_authentication(
        &mut self,
        transaction_id: &str,
        outcome: AuthenticationOutcome<'_>,
    ) -> Result<(), BindError> {
        match outcome {
            AuthenticationOutcome::Refuse { progress } => {
                self.move_session(transaction_id, &[SessionState::Initiated], SessionState::Cancelled);
                self.enqueue_if(progress);
                Ok(())
            }
            AuthenticationOutcome::Bind { order, update, progress, lost } => {
                match self.claim_order(transaction_id, order, update) {
                    Ok(()) => {
                        self.enqueue_if(progress);
                        Ok(())
                    }
                    // The serverChallenge is single-use: the session ends (a no-op if it moved on).
                    Err(why) => {
                        self.move_session(transaction_id, &[SessionState::Initiated], SessionState::Cancelled);
                        self.enqueue_if(lost(&why).as_ref());
                        Err(why)
                    }
                }
            }
        }
    }
}
