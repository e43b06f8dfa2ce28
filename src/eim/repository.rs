//! [`EimRepository`]: what the eIM domain needs from storage. Implemented for
//! [`Store`](crate::store::Store) in `store/eim/queue.rs` on SQLite and PostgreSQL.
//!
//! Guarantees the implementation gives (and the two-backend tests in `tests/it/store_eim.rs` check):
//! - [`EimRepository::queue_package`] takes the next `counterValue` of the eUICC and inserts the signed
//!   package in **one** transaction, so counters are strictly increasing and never reused, even under
//!   concurrent queueing on several nodes;
//! - [`EimRepository::claim_next_queued`] hands out each Queued package once (compare-and-set, `FOR UPDATE
//!   SKIP LOCKED` on PostgreSQL), lowest counterValue first, skipping expired ones;
//! - [`EimRepository::apply`] is a compare-and-set: it fails with [`EimError::StateConflict`] when the order
//!   is no longer in `transition.from`.

use super::error::EimError;
use super::order::{PackageOrder, Transition};
use super::package::QueueSlot;
use super::registry::{EuiccRecord, KnownProfile, NewEuicc};

/// What a received EimPackageResult is checked against, read in one phase ([`EimRepository::result_facts`]).
#[derive(Debug, Clone, Default)]
pub struct ResultFacts {
    /// The eUICC the result is for: as given, or found by the claimed eimTransactionId; `None`: not found.
    pub eid: Option<String>,
    pub euicc: Option<EuiccRecord>,
    /// The eUICC's order with the claimed eimTransactionId, in any state.
    pub order: Option<PackageOrder>,
}

/// Storage of the eUICC registry and the package queue. All calls block: run them off the async workers.
pub trait EimRepository: Send + Sync {
    /// Registers an eUICC; [`EimError::AlreadyRegistered`] when the EID is known.
    fn register_euicc(&self, new: &NewEuicc) -> Result<EuiccRecord, EimError>;

    /// The eUICC with this EID, if registered.
    fn find_euicc(&self, eid: &str) -> Result<Option<EuiccRecord>, EimError>;

    /// Records what a poll told about the eUICC (last seen, rPLMN, stateChangeCause); unknown EID: no-op.
    fn record_contact(&self, eid: &str, contact: &DeviceContact, now: i64) -> Result<(), EimError>;

    /// GetEimPackage's read phase (SGP.32 v1.2 §5.14.x), one statement: the eUICC's contact as last recorded and
    /// whether a live Queued package waits for it at `now`; `None` for an unknown EID.
    fn poll_facts(&self, eid: &str, now: i64) -> Result<Option<PollFacts>, EimError>;

    /// [`EimRepository::poll_facts`] when it can be answered without waiting — an embedded database with a
    /// connection free right now — so that an async caller may run it in place rather than hand it to a thread
    /// and back (an empty poll is the eIM's most frequent request, and that hand-off was its largest cost).
    /// `None`: not possible now; call `poll_facts` on the blocking pool.
    fn poll_facts_now(&self, _eid: &str, _now: i64) -> Option<Result<Option<PollFacts>, EimError>> {
        None
    }

    /// GetEimPackage's write, one transaction: records `contact` (as [`EimRepository::record_contact`]) and, with
    /// `claim = Some(no_show_deadline)`, claims the next Queued package (as [`EimRepository::claim_next_queued`]).
    fn record_poll(
        &self,
        eid: &str,
        contact: &DeviceContact,
        now: i64,
        claim: Option<i64>,
    ) -> Result<Option<PackageOrder>, EimError>;

    /// Records the `associationToken` the eUICC issued (AddInitialEim / addEim response).
    fn set_association_token(&self, eid: &str, association_token: Option<i64>) -> Result<(), EimError>;

    /// In one transaction: increments the eUICC's counterValue, calls `sign` with the slot, and stores the
    /// package as a Queued order that expires at `expires_at` (Unix ms) unless dispatched.
    fn queue_package(
        &self,
        eid: &str,
        eim_transaction_id: [u8; 16],
        expires_at: i64,
        sign: &mut dyn FnMut(&QueueSlot) -> Result<Vec<u8>, EimError>,
    ) -> Result<PackageOrder, EimError>;

    /// Claims the eUICC's oldest live Queued package (not expired at `now`) and moves it to Dispatched with
    /// the no-show deadline `no_show_deadline` (Unix ms); `None` when there is none.
    fn claim_next_queued(&self, eid: &str, now: i64, no_show_deadline: i64) -> Result<Option<PackageOrder>, EimError>;

    /// ProvideEimPackageResult's read phase (SGP.32 v1.2 §5.14.x): the eUICC `eid` — or, without one (eidValue is
    /// OPTIONAL), the only eUICC with an order of the claimed eimTransactionId — and its order with that
    /// eimTransactionId. What is claimed is not verified yet: the eUICC's key then verifies the whole result.
    /// The SQL implementation reads on one connection; this default composes the single lookups.
    fn result_facts(&self, eid: Option<&str>, claimed_transaction_id: Option<&[u8]>) -> Result<ResultFacts, EimError> {
        let eid = match (eid, claimed_transaction_id) {
            (Some(eid), _) => Some(eid.to_owned()),
            (None, Some(tid)) => self.find_eid_by_transaction(tid)?,
            (None, None) => None,
        };
        let Some(eid) = eid else { return Ok(ResultFacts::default()) };
        let euicc = self.find_euicc(&eid)?;
        let order = match (&euicc, claimed_transaction_id) {
            (Some(_), Some(tid)) => self.find_order_by_transaction(&eid, tid)?,
            _ => None,
        };
        Ok(ResultFacts { eid: Some(eid), euicc, order })
    }

    /// The eUICC's order with this eimTransactionId, in any state.
    fn find_order_by_transaction(&self, eid: &str, eim_transaction_id: &[u8])
        -> Result<Option<PackageOrder>, EimError>;

    /// The EID of the order with this eimTransactionId (16 random bytes, unique in practice), for a
    /// ProvideEimPackageResult without eidValue.
    fn find_eid_by_transaction(&self, eim_transaction_id: &[u8]) -> Result<Option<String>, EimError>;

    /// An order by id.
    fn find_order(&self, order_id: i64) -> Result<Option<PackageOrder>, EimError>;

    /// Applies a transition as a compare-and-set at time `now`, with its profile inventory changes in the
    /// same transaction; returns the updated order.
    fn apply(&self, transition: &Transition, now: i64) -> Result<PackageOrder, EimError>;

    /// The profiles known on the eUICC, by ICCID.
    fn known_profiles(&self, eid: &str) -> Result<Vec<KnownProfile>, EimError>;

    /// Expires every Queued / Dispatched order whose deadline is at or before `now` (dispatch and no-show
    /// timeouts); returns how many.
    fn expire_due(&self, now: i64) -> Result<usize, EimError>;
}

/// What GetEimPackage reads before it decides whether to write ([`EimRepository::poll_facts`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollFacts {
    /// When a poll was last recorded (Unix ms); `None`: never.
    pub last_seen: Option<i64>,
    /// The rPLMN and stateChangeCause recorded then.
    pub contact: DeviceContact,
    /// A live Queued package waits for the eUICC.
    pub package_waiting: bool,
}

/// What an IPA's GetEimPackageRequest says about its device besides the EID (SGP.32 v1.2 §5.14.x / §6.3.2):
/// `rPLMN [2]` and, with `notifyStateChange [0]`, `stateChangeCause [1]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceContact {
    /// The registered PLMN, 3 bytes as sent (MCC/MNC in BCD, 3GPP TS 24.008 §10.5.1.13).
    pub r_plmn: Option<[u8; 3]>,
    /// `StateChangeCause` (otherEim(0), fallback(1), emergencyProfile(2), local(3), reset(4), …).
    pub state_change_cause: Option<i64>,
}
