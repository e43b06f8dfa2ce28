//! The fleet operator's view (issue 5 item 8, issue 10 item 7): what the fleet API reads — one operator's profiles
//! and ES2+ download orders, the audit trail — and the `Idempotency-Key` records of the operator API, behind one
//! port ([`FleetRepository`]) so the HTTP adapter holds no store type. Every call is scoped by the operator.

use crate::audit::{AuditQuery, AuditRecord, NewCall};
use crate::smdp::RepoError;

/// A profile as the fleet API shows it (no package, no secrets).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetProfile {
    #[serde(skip)]
    pub id: i64,
    pub iccid: String,
    pub profile_type: String,
    pub state: String,
    pub eid: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An order as the fleet API shows it: its state is its profile's (no confirmation code hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetOrder {
    pub id: i64,
    pub matching_id: String,
    pub iccid: String,
    pub eid: Option<String>,
    pub state: String,
    pub confirmation_code_required: bool,
    pub session_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Filters of `GET /api/v1/profiles`.
#[derive(Debug, Clone, Default)]
pub struct ProfileFilter {
    pub state: Option<String>,
    pub profile_type: Option<String>,
    pub iccid: Option<String>,
    pub eid: Option<String>,
}

/// Filters of `GET /api/v1/orders`.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub state: Option<String>,
    pub matching_id: Option<String>,
    pub iccid: Option<String>,
    pub eid: Option<String>,
}

/// A stored answer, as first sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// What a request with an `Idempotency-Key` may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First use of the key (or a takeover of a dead request's): run the request, then record its answer.
    Run,
    /// The key answered this same request before: send that answer again.
    Replay(StoredAnswer),
    /// The key was used for a different request.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}

/// What the fleet API, the audit of operator calls and the operator API's `Idempotency-Key`s need from storage.
pub trait FleetRepository: Send + Sync {
    /// One operator's profiles matching `f` with `id > after`, by id, at most `limit`.
    fn fleet_profiles(
        &self,
        operator_id: &str,
        f: &ProfileFilter,
        after: i64,
        limit: i64,
    ) -> Result<Vec<FleetProfile>, RepoError>;
    fn fleet_profile(&self, operator_id: &str, iccid: &str) -> Result<Option<FleetProfile>, RepoError>;
    /// One operator's ES2+ download orders matching `f` with `id > after`, by id, at most `limit`.
    fn fleet_orders(
        &self,
        operator_id: &str,
        f: &OrderFilter,
        after: i64,
        limit: i64,
    ) -> Result<Vec<FleetOrder>, RepoError>;
    fn fleet_order(&self, operator_id: &str, id: i64) -> Result<Option<FleetOrder>, RepoError>;
    /// Rows of one operator's audit trail.
    fn audit_query(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, RepoError>;
    /// The last appended audit `seq` (the SSE stream starts after it).
    fn audit_head_seq(&self) -> Result<i64, RepoError>;
    /// Appends an operator-listener call to the audit trail.
    fn append_call(&self, call: &NewCall) -> Result<(), RepoError>;
    /// Erases the clear identifiers naming `value` (GDPR); the number of rows erased.
    fn erase_audit_identifier(&self, operator: Option<&str>, value: &str, now_ms: i64) -> Result<usize, RepoError>;
    /// Claims `key` for the request with `digest`.
    fn claim_idempotency_key(
        &self,
        operator_id: &str,
        key: &str,
        digest: &[u8],
        now: i64,
        lease_ms: i64,
    ) -> Result<Claim, RepoError>;
    /// Records the answer of the request that claimed `key`.
    fn finish_idempotency_key(
        &self,
        operator_id: &str,
        key: &str,
        digest: &[u8],
        answer: &StoredAnswer,
    ) -> Result<(), RepoError>;
    /// Gives `key` up (the request ended without an answer worth keeping).
    fn release_idempotency_key(&self, operator_id: &str, key: &str, digest: &[u8]) -> Result<(), RepoError>;
}
