//! The storage port of ES9+ downloads: profile packages, orders, download sessions, the notification inbox
//! (SGP.22 v2.5 §3.1, §5.6). Implemented by `crate::store` for SQLite and PostgreSQL; synchronous (call it
//! from `web::block`). Every transition is compare-and-set in one transaction, so two nodes or two devices
//! racing get exactly one success.

use super::ids::TransactionId;
use super::inventory::ProfilePackageRecord;
use super::order::{NewOrder, OrderRecord};
use super::profile_repository::RepoError;
use super::progress::ProgressEvent;
use super::session::{AuthenticatedUpdate, NewSession, SessionRecord, SessionState};
use super::ProfileState;

/// What happens to an order when its session ends without a BPP being installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderOutcome {
    /// The order is free again (session released; the profile stays Released): a new session may claim it.
    Release,
    /// The profile moves to Error (operator decides, e.g. after a failed installation or a cancelled BPP).
    Error,
    /// Leave the order alone.
    Keep,
}

/// Why binding a session to an order failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    /// The session is no longer Initiated (serverChallenge already used, or expired).
    #[error("session no longer awaiting authentication")]
    SessionGone,
    /// Another session holds the order, or its profile left Released.
    #[error("order already taken (profile {state})")]
    OrderTaken { state: ProfileState },
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// Outcome of a ProfileInstallationResult for a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallOutcome {
    /// The profile moved to the given state now.
    Applied(ProfileState),
    /// It was already in a final state (a repeated notification): nothing changed.
    AlreadyFinal(ProfileState),
}

/// A session that [`DownloadRepository::expire_sessions_reporting`] moved to Expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredSession {
    pub transaction_id: String,
    /// The state it was in.
    pub state: SessionState,
    /// Set once AuthenticateClient matched an order.
    pub operator_id: Option<String>,
    pub iccid: Option<String>,
    pub eid: Option<String>,
}

/// A notification in the durable inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNotification {
    pub id: i64,
    pub pending_notification: Vec<u8>,
    pub received_at: i64,
}

/// How ES9+ AuthenticateClient finds the download order (SGP.22 v2.5 §3.1.1): by the MatchingID of ctxParams1,
/// or — without one — the oldest Released, unclaimed order bound to the (verified) EID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKey<'a> {
    MatchingId(&'a str),
    Eid(&'a str),
}

pub use super::package_to_bind::{PackageSource, ProfileNames, StoredPackage};

/// The candidate order of an AuthenticateClient and what is decided about it, read with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFacts {
    pub order: OrderRecord,
    /// The profile's IMEI lock (rspd's extension, checked against deviceInfo).
    pub device_lock: super::device_lock::DeviceLock,
    /// `None` when the profile has neither a prepared package nor a template and personalization row.
    pub names: Option<ProfileNames>,
    /// The profile type's metadata (profile policy rules, notification configuration); `None` without a type.
    pub type_metadata: Option<super::inventory::ProfileMetadata>,
}

/// Everything ES9+ AuthenticateClient decides on (§5.6.3), read in one phase by
/// [`DownloadRepository::authentication_facts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationFacts {
    /// The session of the transactionId, in whatever state.
    pub session: Option<SessionRecord>,
    /// The order found by the [`OrderKey`] (none asked or none found: `None`).
    pub order: Option<OrderFacts>,
}

/// Everything ES9+ GetBoundProfilePackage decides on (§5.6.2), read in one phase by
/// [`DownloadRepository::download_facts`].
#[derive(Debug, Clone)]
pub struct DownloadFacts {
    /// The session of the transactionId, in whatever state.
    pub session: Option<SessionRecord>,
    /// For an Authenticated session with `ccRequired`: its order's stored confirmation code hash (§3.1.3.1), `None`
    /// when the order holds none.
    pub cc_hash: Option<Vec<u8>>,
    /// For an Authenticated session: its profile's package as held (a retry of a delivered BPP needs none).
    pub package: Option<StoredPackage>,
}

/// What AuthenticateClient writes, in one transaction ([`DownloadRepository::record_authentication`]).
#[derive(Clone, Copy)]
pub enum AuthenticationOutcome<'a> {
    /// Initiated → Authenticated with the order claimed (see [`DownloadRepository::bind_session_to_order`]) and
    /// `progress` enqueued. If the claim loses (the session or the order moved meanwhile), the session is
    /// cancelled instead (its challenge is single-use) and `lost(why)` is enqueued, in the same transaction.
    Bind {
        order: &'a OrderRecord,
        update: &'a AuthenticatedUpdate,
        progress: Option<&'a ProgressEvent>,
        lost: &'a dyn Fn(&BindError) -> Option<ProgressEvent>,
    },
    /// Refused: the session Initiated → Cancelled (a no-op if it moved on) and `progress` (the operator told of
    /// the refusal) enqueued.
    Refuse { progress: Option<&'a ProgressEvent> },
}

/// Every download store is also the progress outbox, so the ES9+ steps can emit ES2+ progress events (§5.3.5).
pub trait DownloadRepository: super::progress::ProgressOutbox {
    // ---- profile packages (rspd profile import) ----

    /// Stores a package and adds its profile to the inventory as Available, in one transaction.
    /// A known ICCID gives [`RepoError::Conflict`].
    fn import_profile_package(&self, package: &ProfilePackageRecord, profile_type: &str) -> Result<(), RepoError>;

    /// The profile's package as held (prepared and unsealed, or its template and personalization row), with its
    /// type definition; `None` when it has neither.
    fn stored_package(&self, operator_id: &str, iccid: &str) -> Result<Option<StoredPackage>, RepoError>;

    /// The package to bind for this profile ([`StoredPackage::to_package`]): a prepared one, or — for a
    /// template-backed profile — generated now from its template and personalization row; StoreMetadata names
    /// left open filled from its profile type.
    fn find_profile_package(&self, operator_id: &str, iccid: &str) -> Result<Option<ProfilePackageRecord>, RepoError> {
        self.stored_package(operator_id, iccid)?.map(|p| p.to_package().map_err(RepoError::Backend)).transpose()
    }

    // ---- orders ----

    /// ES2+ ConfirmOrder (§5.3.2): the profile `from` (Allocated or Linked, as last read) → Confirmed, bound to
    /// `order.eid`, and the order row (matchingId, hashed confirmation code) inserted, in one transaction.
    /// Conflict when the matchingId exists; StateConflict when the profile left `from`; NotFound when the
    /// operator has no such profile. Release is a separate step ([`super::ProfileRepository::transition_profile`]).
    fn confirm_order(&self, order: &NewOrder, from: ProfileState) -> Result<OrderRecord, RepoError>;

    /// The order with this matchingId (matchingIds are unique across operators).
    fn find_order_by_matching_id(&self, matching_id: &str) -> Result<Option<OrderRecord>, RepoError>;

    /// The order with this id among the operator's orders.
    fn find_order_by_id(&self, operator_id: &str, id: i64) -> Result<Option<OrderRecord>, RepoError>;

    /// The device lock of the operator's profile (rspd's IMEI lock, checked in AuthenticateClient §5.6.3).
    fn device_lock(&self, operator_id: &str, iccid: &str) -> Result<super::device_lock::DeviceLock, RepoError>;

    /// The oldest released, unclaimed order bound to this EID (download without matchingId, §3.1.1 default SM-DP+).
    fn find_order_for_eid(&self, eid: &str) -> Result<Option<OrderRecord>, RepoError>;

    /// One wrong confirmation code: attempts − 1; at 0 the profile moves Released → Error and the order is
    /// released from its session. Returns the attempts left.
    fn record_confirmation_code_failure(&self, operator_id: &str, order_id: i64) -> Result<i32, RepoError> {
        self.record_confirmation_code_failure_reporting(operator_id, order_id, &|_| None)
    }

    /// As [`DownloadRepository::record_confirmation_code_failure`], enqueueing `progress(attempts_left)` (an ES2+
    /// progress event, §5.3.5) in the same transaction.
    fn record_confirmation_code_failure_reporting(
        &self,
        operator_id: &str,
        order_id: i64,
        progress: &dyn Fn(i32) -> Option<ProgressEvent>,
    ) -> Result<i32, RepoError>;

    // ---- sessions ----

    fn insert_session(&self, session: &NewSession) -> Result<(), RepoError>;

    /// Sessions that have not bound an order (any state), until [`DownloadRepository::delete_unbound_sessions`]
    /// removes them: what anonymous InitiateAuthentication calls have left in the store (issue 10 item 4).
    fn count_unbound_sessions(&self) -> Result<u64, RepoError>;

    /// Deletes sessions past `expires_at` (Unix ms) that never bound an order: they left no audit row and no
    /// operator knows them. Returns how many were deleted.
    fn delete_unbound_sessions(&self, now_ms: i64) -> Result<usize, RepoError>;

    fn find_session(&self, transaction_id: &str) -> Result<Option<SessionRecord>, RepoError>;

    /// Initiated → Authenticated and the order claimed by this session (its profile Released and unclaimed),
    /// in one transaction. An order held by an unfinished session (no BPP yet) of the **same EID** is taken
    /// over and that session cancelled: an LPA that lost its session can start again at once.
    fn bind_session_to_order(
        &self,
        transaction_id: &str,
        order: &OrderRecord,
        update: &AuthenticatedUpdate,
    ) -> Result<(), BindError> {
        self.bind_session_to_order_reporting(transaction_id, order, update, None)
    }

    /// As [`DownloadRepository::bind_session_to_order`], enqueueing `progress` in the same transaction.
    fn bind_session_to_order_reporting(
        &self,
        transaction_id: &str,
        order: &OrderRecord,
        update: &AuthenticatedUpdate,
        progress: Option<&ProgressEvent>,
    ) -> Result<(), BindError>;

    /// ES9+ AuthenticateClient's read phase (§5.6.3), on one connection: the session of `transaction_id` and,
    /// when `order_key` is given, the order it names with its profile's state, device lock, StoreMetadata names
    /// and type metadata.
    fn authentication_facts(
        &self,
        transaction_id: &TransactionId,
        order_key: Option<OrderKey<'_>>,
    ) -> Result<AuthenticationFacts, RepoError>;

    /// ES9+ AuthenticateClient's write (§5.6.3), one transaction: `Ok(Ok(()))` bound, `Ok(Err(why))` the claim
    /// lost (the session was cancelled and `lost(why)` enqueued), and for [`AuthenticationOutcome::Refuse`]
    /// always `Ok(Ok(()))`. Compare-and-set throughout: two devices racing for one order get one success.
    fn record_authentication(
        &self,
        transaction_id: &TransactionId,
        outcome: AuthenticationOutcome<'_>,
    ) -> Result<Result<(), BindError>, RepoError>;

    /// ES9+ GetBoundProfilePackage's read phase (§5.6.2), on one connection: the session and, when it is
    /// Authenticated, its order's confirmation code hash and its profile's package.
    fn download_facts(&self, transaction_id: &TransactionId) -> Result<DownloadFacts, RepoError>;

    /// Authenticated → BppDelivered storing otPK.EUICC and the BPP; the profile Released → Downloaded.
    /// `Ok(false)` when the session was not Authenticated any more (a concurrent retry won).
    fn store_bpp(
        &self,
        transaction_id: &str,
        operator_id: &str,
        iccid: &str,
        otpk_euicc: &[u8],
        bpp: &[u8],
    ) -> Result<bool, RepoError> {
        self.store_bpp_reporting(transaction_id, operator_id, iccid, otpk_euicc, bpp, None)
    }

    /// As [`DownloadRepository::store_bpp`], enqueueing `progress` in the same transaction when the BPP is stored.
    fn store_bpp_reporting(
        &self,
        transaction_id: &str,
        operator_id: &str,
        iccid: &str,
        otpk_euicc: &[u8],
        bpp: &[u8],
        progress: Option<&ProgressEvent>,
    ) -> Result<bool, RepoError>;

    /// Ends a session that is in one of `from` (compare-and-set), applying `outcome` to its order.
    /// `Ok(false)` when it was not in any of them.
    fn end_session(
        &self,
        transaction_id: &str,
        from: &[SessionState],
        to: SessionState,
        outcome: OrderOutcome,
    ) -> Result<bool, RepoError> {
        self.end_session_reporting(transaction_id, from, to, outcome, None)
    }

    /// As [`DownloadRepository::end_session`], enqueueing `progress` in the same transaction when the session ended.
    fn end_session_reporting(
        &self,
        transaction_id: &str,
        from: &[SessionState],
        to: SessionState,
        outcome: OrderOutcome,
        progress: Option<&ProgressEvent>,
    ) -> Result<bool, RepoError>;

    /// A wrong or missing confirmation code (§3.1.3.1), one transaction: the Authenticated session → Cancelled and
    /// its order released for a new attempt; for a wrong code (`wrong_code`) one attempt used first — at 0 the
    /// profile moves Released → Error. Enqueues `progress(attempts_left)`. Returns the attempts left (unchanged
    /// for a missing code).
    fn refuse_confirmation_code(
        &self,
        transaction_id: &str,
        operator_id: &str,
        order_id: i64,
        wrong_code: bool,
        progress: &dyn Fn(i32) -> Option<ProgressEvent>,
    ) -> Result<i32, RepoError>;

    /// ProfileInstallationResult: the session → Completed (if still BppDelivered/Expired) and the profile
    /// Downloaded → Installed (`success`) or Error. Idempotent.
    fn record_installation(&self, transaction_id: &str, success: bool) -> Result<InstallOutcome, RepoError> {
        self.record_installation_reporting(transaction_id, success, None)
    }

    /// As [`DownloadRepository::record_installation`], enqueueing `progress` in the same transaction.
    fn record_installation_reporting(
        &self,
        transaction_id: &str,
        success: bool,
        progress: Option<&ProgressEvent>,
    ) -> Result<InstallOutcome, RepoError>;

    /// Sessions past `expires_at` (Unix ms) that are still open → Expired; orders of sessions that had no
    /// BPP yet are released for a new attempt. Returns how many sessions expired.
    fn expire_sessions(&self, now_ms: i64) -> Result<usize, RepoError> {
        Ok(self.expire_sessions_reporting(now_ms)?.len())
    }

    /// As [`DownloadRepository::expire_sessions`], returning the sessions that expired.
    fn expire_sessions_reporting(&self, now_ms: i64) -> Result<Vec<ExpiredSession>, RepoError>;

    // ---- notification inbox ----

    /// Stores a received pendingNotification durably; returns its id.
    fn insert_notification(&self, pending_notification: &[u8]) -> Result<i64, RepoError>;

    /// Up to `limit` notifications not processed yet, oldest first.
    fn unprocessed_notifications(&self, limit: i64) -> Result<Vec<StoredNotification>, RepoError>;

    fn mark_notification_processed(&self, id: i64, outcome: &str) -> Result<(), RepoError>;
}
