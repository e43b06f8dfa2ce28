//! The storage port of the ES2+ binding (SGP.22 v2.5 §5.3): each ES2+ state change is applied **in the same
//! transaction** as the record of the call's answer, keyed by (operator, functionRequesterIdentifier,
//! functionCallIdentifier) — the request `header` of §6.5.1.3. A retried call therefore either finds the answer
//! (and changes nothing), or finds no trace of the first attempt (which then changed nothing either): a crash
//! between the change and the record cannot happen, because there is no "between".
//!
//! Implemented by `crate::store` (SQLite, PostgreSQL). The answer is the JSON text the binding sends; the
//! domain passes a renderer (`answer`) and never looks inside.

use crate::smdp::device_lock::DeviceLock;
use crate::smdp::order::{NewOrder, OrderRecord};
use crate::smdp::{ProfileRecord, ProfileState, RepoError};

/// Identifies one ES2+ call of one operator, and what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallKey {
    pub operator_id: String,
    /// `header.functionRequesterIdentifier`.
    pub requester: String,
    /// `header.functionCallIdentifier`.
    pub call_id: String,
    /// `downloadOrder`, `confirmOrder`, `cancelOrder`, `releaseProfile`.
    pub function: &'static str,
    /// SHA-256 of the canonical request (function name and JSON body).
    pub request_digest: [u8; 32],
}

impl CallKey {
    /// A call made on the server itself (`rspd order create`), not over the ES2+ binding: requester `rspd`, a fresh
    /// random functionCallIdentifier (`local-…`), so it is recorded like any call and never replays another.
    pub fn local(operator_id: &str, function: &'static str) -> Result<Self, RepoError> {
        let mut random = [0u8; 16];
        openssl::rand::rand_bytes(&mut random).map_err(|e| RepoError::Backend(e.to_string()))?;
        Ok(CallKey {
            operator_id: operator_id.to_owned(),
            requester: "rspd".to_owned(),
            call_id: format!("local-{}", hex::encode(random)),
            function,
            request_digest: openssl::sha::sha256(function.as_bytes()),
        })
    }
}

/// A call answered before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCall {
    pub function: String,
    pub request_digest: Vec<u8>,
    /// The answer, byte for byte as sent the first time.
    pub response: String,
}

impl StoredCall {
    /// Whether `call` asks the same as the stored call (else the functionCallIdentifier was reused).
    pub fn same_request(&self, call: &CallKey) -> bool {
        self.function == call.function && self.request_digest == call.request_digest
    }
}

/// The outcome of an idempotent ES2+ step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded<T> {
    /// The change was made and `answer` recorded with it.
    Applied { value: T, answer: String },
    /// The call had been answered already (a concurrent copy won): nothing changed.
    Replayed(StoredCall),
}

/// Which profile a DownloadOrder takes (§5.3.1: iccid, or profileType, or both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileSelector {
    Iccid(String),
    ProfileType(String),
}

/// Renders the answer of a successful step.
pub type Answer<'a, T> = &'a dyn Fn(&T) -> String;

pub trait Es2Repository {
    /// The stored answer of a call with this key, if any.
    fn find_call(&self, call: &CallKey) -> Result<Option<StoredCall>, RepoError>;

    /// Records the answer of a call that changed nothing (a function failure). Returns what is stored for the key:
    /// this answer, or the one a concurrent copy of the call stored first.
    fn record_call(&self, call: &CallKey, answer: &str) -> Result<StoredCall, RepoError>;

    /// DownloadOrder (§5.3.1): Available → Linked (with `eid`) or Allocated, the device lock set, and the answer
    /// recorded, in one transaction. By profile type the oldest Available profile is claimed (`FOR UPDATE SKIP
    /// LOCKED` on PostgreSQL): `Ok(None)` when none is left. By ICCID: NotFound / StateConflict.
    fn es2_download_order(
        &self,
        call: &CallKey,
        selector: &ProfileSelector,
        eid: Option<&str>,
        lock: &DeviceLock,
        answer: Answer<'_, ProfileRecord>,
    ) -> Result<Option<Recorded<ProfileRecord>>, RepoError>;

    /// ConfirmOrder (§5.3.2): the profile `from` → Confirmed (→ Released when `release`), bound to `order.eid`, the
    /// order row inserted with `smds_address`, the lock replaced when `lock` is given, the answer recorded; one
    /// transaction. Conflict when the matchingId exists; StateConflict / NotFound as in `transition_profile`.
    #[allow(clippy::too_many_arguments)]
    fn es2_confirm_order(
        &self,
        call: &CallKey,
        order: &NewOrder,
        from: ProfileState,
        smds_address: Option<&str>,
        lock: Option<&DeviceLock>,
        release: bool,
        answer: Answer<'_, OrderRecord>,
    ) -> Result<Recorded<OrderRecord>, RepoError>;

    /// CancelOrder (§5.3.3): the profile `from` → `to` (Available: EID binding and lock cleared), the orders of the
    /// ICCID withdrawn (their matchingIds no longer download) and their open download sessions cancelled, the
    /// answer recorded; one transaction.
    fn es2_cancel_order(
        &self,
        call: &CallKey,
        iccid: &str,
        from: ProfileState,
        to: ProfileState,
        answer: Answer<'_, ProfileRecord>,
    ) -> Result<Recorded<ProfileRecord>, RepoError>;

    /// ReleaseProfile (§5.3.4): Confirmed → Released and the answer recorded; one transaction.
    fn es2_release_profile(
        &self,
        call: &CallKey,
        iccid: &str,
        answer: Answer<'_, ProfileRecord>,
    ) -> Result<Recorded<ProfileRecord>, RepoError>;

    /// The operator's orders of this ICCID (newest first).
    fn orders_of_profile(&self, operator_id: &str, iccid: &str) -> Result<Vec<OrderRecord>, RepoError>;
}
