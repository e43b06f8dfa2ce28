//! [`DownloadRepository`] for [`MemoryStore`]: profile packages, orders, ES9+ download sessions and the
//! notification inbox (SGP.22 v2.5 §3.1, §5.6), with the semantics of `store/smdp/downloads.rs`:
//!
//! - an order's state is its profile's; matchingIds are unique across operators; an order is looked up by id
//!   within its operator only;
//! - every session and profile change is a compare-and-set on the state, made with the order changes it brings and
//!   the ES2+ progress event (§5.3.5) the caller gives, in the same progress outbox state [`ProgressOutbox`] reads,
//!   under one lock: the event is stored if and only if the change is;
//! - a session that expires before its BPP releases its order for a new session (the download is offered again);
//!   one that expires after its BPP keeps it;
//! - a ProfileInstallationResult is applied once; repeating it changes nothing.
//!
//! Packages are held as imported: nothing is at rest here, so nothing is sealed. There are no templates or profile
//! types (they belong to the inventory port): a stored package is the prepared one, with no type definition.
//!
//! [`ProgressOutbox`]: crate::smdp::ProgressOutbox

use crate::clock::now_ms;
use crate::smdp::download_repository::{
    AuthenticationFacts, AuthenticationOutcome, BindError, DownloadFacts, DownloadRepository, ExpiredSession,
    InstallOutcome, OrderKey, OrderOutcome, StoredNotification, StoredPackage,
};
use crate::smdp::inventory::ProfilePackageRecord;
use crate::smdp::package_to_bind::PackageSource;
use crate::smdp::progress::ProgressEvent;
use crate::smdp::session::{AuthenticatedUpdate, NewSession, SessionRecord, SessionState};
use crate::smdp::{NewOrder, NewProfile, OrderRecord, ProfileState, RepoError, TransactionId};

use super::{limit_rows, MemoryStore, State};

/// One row of `orders` (its state is the profile's).
#[derive(Debug, Clone)]
pub(super) struct Order {
    pub(super) id: i64,
    pub(super) operator_id: String,
    pub(super) iccid: String,
    pub(super) matching_id: String,
    pub(super) eid: Option<String>,
    pub(super) cc_hash: Option<Vec<u8>>,
    pub(super) cc_attempts_left: i32,
    /// The transactionId of the session holding the order.
    pub(super) session_id: Option<String>,
    /// Given by ES2+ ConfirmOrder; kept as the table keeps it, though no port reads it back.
    #[allow(dead_code)]
    pub(super) smds_address: Option<String>,
}

impl Order {
    /// The order with its profile's `state`.
    pub(super) fn with_state(&self, state: ProfileState) -> OrderRecord {
        OrderRecord {
            id: self.id,
            operator_id: self.operator_id.clone(),
            iccid: self.iccid.clone(),
            matching_id: self.matching_id.clone(),
            eid: self.eid.clone(),
            cc_hash: self.cc_hash.clone(),
            cc_attempts_left: self.cc_attempts_left,
            session_id: self.session_id.clone(),
            state,
        }
    }
}

/// One row of `notifications`.
#[derive(Debug, Clone)]
pub(super) struct Notification {
    pending_notification: Vec<u8>,
    received_at: i64,
    processed_at: Option<i64>,
    /// Kept as the table keeps it, though no port reads it back.
    #[allow(dead_code)]
    outcome: Option<String>,
}

/// The session states in which an LPA may still continue (`OPEN_STATES`).
pub(super) const OPEN_STATES: [SessionState; 3] =
    [SessionState::Initiated, SessionState::Authenticated, SessionState::BppDelivered];

impl State {
    /// An order with its profile's state; an order whose profile is gone is the store's fault, as in SQL.
    pub(super) fn order_record(&self, order: &Order) -> Result<OrderRecord, RepoError> {
        let state = self
            .profile_state(&order.operator_id, &order.iccid)
            .ok_or_else(|| RepoError::Backend(format!("order {} has no profile", order.id)))?;
        Ok(order.with_state(state))
    }

    /// The operator's order `id`: `None` for an unknown id and for another operator's order.
    pub(super) fn order(&self, operator_id: &str, id: i64) -> Option<&Order> {
        self.orders.get(&id).filter(|o| o.operator_id == operator_id)
    }

    pub(super) fn order_mut(&mut self, operator_id: &str, id: i64) -> Option<&mut Order> {
        self.orders.get_mut(&id).filter(|o| o.operator_id == operator_id)
    }

    /// The order with this matchingId, of any operator.
    pub(super) fn order_by_matching_id(&self, matching_id: &str) -> Option<&Order> {
        self.orders.values().find(|o| o.matching_id == matching_id)
    }

    /// The oldest unclaimed order bound to `eid` whose profile is Released (§3.1.1 default SM-DP+).
    pub(super) fn released_order_for_eid(&self, eid: &str) -> Option<&Order> {
        self.orders.values().find(|o| {
            o.eid.as_deref() == Some(eid)
                && o.session_id.is_none()
                && self.profile_state(&o.operator_id, &o.iccid) == Some(ProfileState::Released)
        })
    }

    /// Inserts an order row (ids from 1, as an autoincrement key); the caller checked the matchingId is free.
    pub(super) fn insert_order(&mut self, order: &NewOrder, smds_address: Option<&str>) -> &Order {
        self.last_order_id += 1;
        let id = self.last_order_id;
        self.orders.entry(id).or_insert(Order {
            id,
            operator_id: order.operator_id.clone(),
            iccid: order.iccid.clone(),
            matching_id: order.matching_id.as_str().to_owned(),
            eid: order.eid.as_ref().map(|e| e.as_str().to_owned()),
            cc_hash: order.cc_hash.map(|h| h.to_vec()),
            cc_attempts_left: order.cc_attempts,
            session_id: None,
            smds_address: smds_address.map(str::to_owned),
        })
    }

    /// Moves the session to `to` if it is in one of `from`; whether it moved.
    pub(super) fn move_session(&mut self, transaction_id: &str, from: &[SessionState], to: SessionState) -> bool {
        match self.download_sessions.get_mut(transaction_id).filter(|s| from.contains(&s.state)) {
            Some(session) => {
                session.state = to;
                true
            }
            None => false,
        }
    }

    /// Frees the operator's order `order_id` if `transaction_id` holds it.
    fn release_order(&mut self, operator_id: &str, order_id: i64, transaction_id: &str) {
        if let Some(order) =
            self.order_mut(operator_id, order_id).filter(|o| o.session_id.as_deref() == Some(transaction_id))
        {
            order.session_id = None;
        }
    }

    /// The package held for the operator's profile (`read_package_rows!` and `open_package_rows`): the prepared
    /// one as imported; no template or profile type is held here.
    pub(super) fn stored_package(&self, operator_id: &str, iccid: &str) -> Option<StoredPackage> {
        let package = self.profile_packages.get(iccid).filter(|p| p.operator_id == operator_id)?;
        Some(StoredPackage {
            operator_id: operator_id.to_owned(),
            iccid: iccid.to_owned(),
            source: PackageSource::Prepared(package.clone()),
            profile_type: None,
        })
    }

    /// Enqueues the caller's progress event, if it gave one (`insert_progress!`).
    pub(super) fn enqueue_if(&mut self, progress: Option<&ProgressEvent>) {
        if let Some(event) = progress {
            self.enqueue_progress(event);
        }
    }
}

impl DownloadRepository for MemoryStore {
    // As `InventoryRepository::import_packages` with one package, all or nothing.
    fn import_profile_package(&self, package: &ProfilePackageRecord, profile_type: &str) -> Result<(), RepoError> {
        let now = now_ms();
        let mut state = self.lock()?;
        if state.smdp_profiles.contains_key(&package.iccid) || state.profile_packages.contains_key(&package.iccid) {
            return Err(RepoError::Conflict);
        }
        let profile = NewProfile::available(&package.operator_id, &package.iccid, profile_type);
        state.insert_smdp_profile(&profile, now)?;
        state.profile_packages.insert(package.iccid.clone(), package.clone());
        Ok(())
    }

    fn stored_package(&self, operator_id: &str, iccid: &str) -> Result<Option<StoredPackage>, RepoError> {
        Ok(self.lock()?.stored_package(operator_id, iccid))
    }

    // ES2+ ConfirmOrder (§5.3.2). The caller checked `from` ∈ {Allocated, Linked}; the compare-and-set re-checks it.
    fn confirm_order(&self, order: &NewOrder, from: ProfileState) -> Result<OrderRecord, RepoError> {
        if !from.can_transition_to(ProfileState::Confirmed) {
            return Err(RepoError::IllegalTransition { from, to: ProfileState::Confirmed });
        }
        let now = now_ms();
        let mut state = self.lock()?;
        if state.profile_state(&order.operator_id, &order.iccid) != Some(from) {
            return Err(state.refusal(&order.operator_id, &order.iccid));
        }
        // The UNIQUE matchingId: the SQL insert fails after the profile moved, and the transaction rolls back.
        if state.order_by_matching_id(order.matching_id.as_str()).is_some() {
            return Err(RepoError::Conflict);
        }
        if let Some(profile) = state.smdp_profile_mut(&order.operator_id, &order.iccid) {
            profile.record.state = ProfileState::Confirmed;
            profile.record.eid = order.eid.as_ref().map(|e| e.as_str().to_owned());
            profile.record.updated_at = now;
        }
        Ok(state.insert_order(order, None).with_state(ProfileState::Confirmed))
    }

    fn find_order_by_matching_id(&self, matching_id: &str) -> Result<Option<OrderRecord>, RepoError> {
        let state = self.lock()?;
        state.order_by_matching_id(matching_id).map(|o| state.order_record(o)).transpose()
    }

    fn find_order_by_id(&self, operator_id: &str, id: i64) -> Result<Option<OrderRecord>, RepoError> {
        let state = self.lock()?;
        state.order(operator_id, id).map(|o| state.order_record(o)).transpose()
    }

    fn device_lock(&self, operator_id: &str, iccid: &str) -> Result<crate::smdp::device_lock::DeviceLock, RepoError> {
        let state = self.lock()?;
        state.smdp_profile(operator_id, iccid).map(|p| p.lock.clone()).ok_or(RepoError::NotFound)
    }

    fn find_order_for_eid(&self, eid: &str) -> Result<Option<OrderRecord>, RepoError> {
        let state = self.lock()?;
        for order in state.orders.values().filter(|o| o.eid.as_deref() == Some(eid) && o.session_id.is_none()) {
            let order = state.order_record(order)?;
            if order.state == ProfileState::Released {
                return Ok(Some(order));
            }
        }
        Ok(None)
    }

    fn record_confirmation_code_failure_reporting(
        &self,
        operator_id: &str,
        order_id: i64,
        progress: &dyn Fn(i32) -> Option<ProgressEvent>,
    ) -> Result<i32, RepoError> {
        let now = now_ms();
        let mut state = self.lock()?;
        let order = state.order_mut(operator_id, order_id).ok_or(RepoError::NotFound)?;
        order.cc_attempts_left -= 1;
        let (left, iccid) = (order.cc_attempts_left, order.iccid.clone());
        if left <= 0 {
            state.move_profile(operator_id, &iccid, &[ProfileState::Released], ProfileState::Error, now);
        }
        state.enqueue_if(progress(left).as_ref());
        Ok(left)
    }

    fn insert_session(&self, s: &NewSession) -> Result<(), RepoError> {
        let mut state = self.lock()?;
        let transaction_id = s.transaction_id.to_hex();
        if state.download_sessions.contains_key(&transaction_id) {
            return Err(RepoError::Conflict);
        }
        let session = SessionRecord {
            transaction_id: transaction_id.clone(),
            state: SessionState::Initiated,
            server_address: s.server_address.clone(),
            curve: s.curve,
            ci_pkid: s.ci_pkid.clone(),
            server_challenge: s.server_challenge.to_vec(),
            euicc_challenge: s.euicc_challenge.to_vec(),
            eid: None,
            order_id: None,
            operator_id: None,
            iccid: None,
            euicc_public_key: None,
            smdp_signature2: None,
            cc_required: false,
            otpk_euicc: None,
            bpp: None,
            expires_at: s.expires_at,
        };
        state.download_sessions.insert(transaction_id, session);
        Ok(())
    }

    fn count_unbound_sessions(&self) -> Result<u64, RepoError> {
        let unbound = self.lock()?.download_sessions.values().filter(|s| s.order_id.is_none()).count();
        Ok(u64::try_from(unbound).unwrap_or(0))
    }

    fn delete_unbound_sessions(&self, now_ms: i64) -> Result<usize, RepoError> {
        let mut state = self.lock()?;
        let before = state.download_sessions.len();
        state.download_sessions.retain(|_, s| s.order_id.is_some() || s.expires_at > now_ms);
        Ok(before - state.download_sessions.len())
    }

    fn find_session(&self, transaction_id: &str) -> Result<Option<SessionRecord>, RepoError> {
        Ok(self.lock()?.download_sessions.get(transaction_id).cloned())
    }

    fn bind_session_to_order_reporting(
        &self,
        transaction_id: &str,
        order: &OrderRecord,
        update: &AuthenticatedUpdate,
        progress: Option<&ProgressEvent>,
    ) -> Result<(), BindError> {
        let mut state = self.lock().map_err(RepoError::from)?;
        state.claim_order(transaction_id, order, update)?;
        state.enqueue_if(progress);
        Ok(())
    }

    fn authentication_facts(
        &self,
        transaction_id: &TransactionId,
        order_key: Option<OrderKey<'_>>,
    ) -> Result<AuthenticationFacts, RepoError> {
        self.lock()?.authentication_facts(transaction_id.as_hex(), order_key)
    }

    fn record_authentication(
        &self,
        transaction_id: &TransactionId,
        outcome: AuthenticationOutcome<'_>,
    ) -> Result<Result<(), BindError>, RepoError> {
        Ok(self.lock()?.record_authentication(transaction_id.as_hex(), outcome))
    }

    fn download_facts(&self, transaction_id: &TransactionId) -> Result<DownloadFacts, RepoError> {
        let state = self.lock()?;
        let session = state.download_sessions.get(transaction_id.as_hex()).cloned();
        let bound = session
            .as_ref()
            .filter(|s| s.state == SessionState::Authenticated)
            .and_then(|s| Some((s.operator_id.as_deref()?, s.iccid.as_deref()?, s.order_id?, s.cc_required)));
        let Some((operator_id, iccid, order_id, cc_required)) = bound else {
            return Ok(DownloadFacts { session, cc_hash: None, package: None });
        };
        let cc_hash =
            if cc_required { state.order(operator_id, order_id).and_then(|o| o.cc_hash.clone()) } else { None };
        let package = state.stored_package(operator_id, iccid);
        Ok(DownloadFacts { session, cc_hash, package })
    }

    fn refuse_confirmation_code(
        &self,
        transaction_id: &str,
        operator_id: &str,
        order_id: i64,
        wrong_code: bool,
        progress: &dyn Fn(i32) -> Option<ProgressEvent>,
    ) -> Result<i32, RepoError> {
        let now = now_ms();
        let mut state = self.lock()?;
        let order = state.order_mut(operator_id, order_id).ok_or(RepoError::NotFound)?;
        if wrong_code {
            order.cc_attempts_left -= 1;
        }
        let (left, iccid) = (order.cc_attempts_left, order.iccid.clone());
        if wrong_code && left <= 0 {
            state.move_profile(operator_id, &iccid, &[ProfileState::Released], ProfileState::Error, now);
        }
        // The session ends (the LPA starts again) and its order is free for the next attempt.
        if state.move_session(transaction_id, &[SessionState::Authenticated], SessionState::Cancelled) {
            state.release_order(operator_id, order_id, transaction_id);
        }
        state.enqueue_if(progress(left).as_ref());
        Ok(left)
    }

    fn store_bpp_reporting(
        &self,
        transaction_id: &str,
        operator_id: &str,
        iccid: &str,
        otpk_euicc: &[u8],
        bpp: &[u8],
        progress: Option<&ProgressEvent>,
    ) -> Result<bool, RepoError> {
        let now = now_ms();
        let mut state = self.lock()?;
        let Some(session) =
            state.download_sessions.get_mut(transaction_id).filter(|s| s.state == SessionState::Authenticated)
        else {
            return Ok(false);
        };
        session.state = SessionState::BppDelivered;
        session.otpk_euicc = Some(otpk_euicc.to_vec());
        session.bpp = Some(bpp.to_vec());
        state.move_profile(operator_id, iccid, &[ProfileState::Released], ProfileState::Downloaded, now);
        state.enqueue_if(progress);
        Ok(true)
    }

    fn end_session_reporting(
        &self,
        transaction_id: &str,
        from: &[SessionState],
        to: SessionState,
        outcome: OrderOutcome,
        progress: Option<&ProgressEvent>,
    ) -> Result<bool, RepoError> {
        let now = now_ms();
        let mut state = self.lock()?;
        let Some(session) = state.download_sessions.get(transaction_id).filter(|s| from.contains(&s.state)) else {
            return Ok(false);
        };
        let bound = (session.order_id, session.operator_id.clone(), session.iccid.clone());
        state.move_session(transaction_id, from, to);
        if let (Some(order_id), Some(operator_id), Some(iccid)) = bound {
            match outcome {
                OrderOutcome::Release => state.release_order(&operator_id, order_id, transaction_id),
                OrderOutcome::Error => {
                    let from = [ProfileState::Released, ProfileState::Downloaded];
                    state.move_profile(&operator_id, &iccid, &from, ProfileState::Error, now);
                }
                OrderOutcome::Keep => {}
            }
        }
        state.enqueue_if(progress);
        Ok(true)
    }

    fn record_installation_reporting(
        &self,
        transaction_id: &str,
        success: bool,
        progress: Option<&ProgressEvent>,
    ) -> Result<InstallOutcome, RepoError> {
        let now = now_ms();
        let target = if success { ProfileState::Installed } else { ProfileState::Error };
        let mut state = self.lock()?;
        let bound = state
            .download_sessions
            .get(transaction_id)
            .filter(|s| s.bpp.is_some())
            .and_then(|s| Some((s.operator_id.clone()?, s.iccid.clone()?)));
        let Some((operator_id, iccid)) = bound else { return Err(RepoError::NotFound) };
        state.move_session(
            transaction_id,
            &[SessionState::BppDelivered, SessionState::Expired],
            SessionState::Completed,
        );
        let moved = state.move_profile(&operator_id, &iccid, &[ProfileState::Downloaded], target, now);
        let actual = state.profile_state(&operator_id, &iccid);
        state.enqueue_if(progress);
        match (moved, actual) {
            (true, _) => Ok(InstallOutcome::Applied(target)),
            (false, Some(actual)) => Ok(InstallOutcome::AlreadyFinal(actual)),
            // The SQL store reads an empty state here and fails to parse it.
            (false, None) => Err(RepoError::Backend(format!("profile {iccid} of session {transaction_id} is gone"))),
        }
    }

    fn expire_sessions_reporting(&self, now_ms: i64) -> Result<Vec<ExpiredSession>, RepoError> {
        let mut state = self.lock()?;
        let due: Vec<ExpiredSession> = state
            .download_sessions
            .values()
            .filter(|s| OPEN_STATES.contains(&s.state) && s.expires_at <= now_ms)
            .map(|s| ExpiredSession {
                transaction_id: s.transaction_id.clone(),
                state: s.state,
                operator_id: s.operator_id.clone(),
                iccid: s.iccid.clone(),
                eid: s.eid.clone(),
            })
            .collect();
        for expired in &due {
            state.move_session(&expired.transaction_id, &OPEN_STATES, SessionState::Expired);
        }
        // Orders of sessions without a BPP go back to the pool of claimable orders (profile stays Released).
        let unbound: Vec<&str> =
            due.iter().filter(|d| d.state != SessionState::BppDelivered).map(|d| d.transaction_id.as_str()).collect();
        for order in state.orders.values_mut() {
            if order.session_id.as_deref().is_some_and(|held| unbound.contains(&held)) {
                order.session_id = None;
            }
        }
        Ok(due)
    }

    fn insert_notification(&self, pending_notification: &[u8]) -> Result<i64, RepoError> {
        let now = now_ms();
        let mut state = self.lock()?;
        state.last_notification_id += 1;
        let id = state.last_notification_id;
        let notification = Notification {
            pending_notification: pending_notification.to_vec(),
            received_at: now,
            processed_at: None,
            outcome: None,
        };
        state.notifications.insert(id, notification);
        Ok(id)
    }

    fn unprocessed_notifications(&self, limit: i64) -> Result<Vec<StoredNotification>, RepoError> {
        Ok(self
            .lock()?
            .notifications
            .iter()
            .filter(|(_, n)| n.processed_at.is_none())
            .take(limit_rows(limit))
            .map(|(&id, n)| StoredNotification {
                id,
                pending_notification: n.pending_notification.clone(),
                received_at: n.received_at,
            })
            .collect())
    }

    fn mark_notification_processed(&self, id: i64, outcome: &str) -> Result<(), RepoError> {
        let now = now_ms();
        if let Some(n) = self.lock()?.notifications.get_mut(&id).filter(|n| n.processed_at.is_none()) {
            n.processed_at = Some(now);
            n.outcome = Some(outcome.to_owned());
        }
        Ok(())
    }
}
