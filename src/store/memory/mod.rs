//! Storage ports in memory: [`MemoryStore`] implements the eIM's [`EimRepository`](crate::eim::EimRepository)
//! (eUICC registry and package queue, SGP.32 v1.2 §2.11), [`RelaySessions`](crate::eim::indirect::RelaySessions)
//! and [`NotificationOutbox`](crate::eim::notification_outbox::NotificationOutbox) (indirect profile download
//! relay, §3.2.3) and [`OperatorEuiccs`](crate::eim::campaign::OperatorEuiccs) (which operator owns which eUICC);
//! and the SM-DP+'s [`ProfileRepository`](crate::smdp::ProfileRepository) (profile inventory, SGP.22 v2.5 §5.3),
//! [`DownloadRepository`](crate::smdp::DownloadRepository) (packages, orders, ES9+ download sessions and the
//! notification inbox, §3.1, §5.6), [`Es2Repository`](crate::smdp::es2::Es2Repository) (ES2+ steps recorded with
//! their answers, §5.3) and [`ProgressOutbox`](crate::smdp::progress::ProgressOutbox)
//! (ES2+.HandleDownloadProgressInfo, §5.3.5).
//!
//! It is the reference implementation of those ports' contracts and a test double, not a production backend:
//! nothing survives the process, and one node only sees its own state. The contract suites `tests/it/store_eim.rs`,
//! `tests/it/store_repository.rs` and `tests/it/es2_progress_outbox.rs` run the same cases on it, on SQLite and on
//! PostgreSQL.
//!
//! Every method takes the one lock over the whole state, reads, decides and writes under it, and releases it:
//! each call is atomic like the SQL implementation's transaction, and a call that fails changes nothing. The
//! semantics are the SQL implementations' (`store/eim/queue.rs`, `relay.rs`, `ownership.rs`, `store/smdp/`),
//! down to their edge cases; where the SQL code relies on a table constraint (a unique key), the check is written
//! out here. The ES2+ progress events the SM-DP+ steps report go into the same outbox state, under the lock of the
//! change they report.
//!
//! - `eim_queue`: the registry, the package queue, polls and the profile inventory kept from results.
//! - `relay`: the relay sessions and the notification outbox.
//! - `ownership`: operator-scoped eUICCs (another operator's eUICC answers exactly like an unknown one).
//! - `profiles`: the SM-DP+ profile inventory (another operator's profile answers exactly like an unknown one).
//! - `downloads`, `authentication`: packages, orders, download sessions, the notification inbox; AuthenticateClient's
//!   read and compare-and-set claim.
//! - `es2`: the ES2+ steps with their recorded answers.
//! - `progress`: the ES2+ progress outbox.
//!
//! Not held here: profile templates, personalization rows and profile types (the
//! [`InventoryRepository`](crate::smdp::inventory::InventoryRepository) port has no in-memory implementation yet),
//! so a stored package is always the prepared one, without a type definition.

mod authentication;
mod downloads;
mod eim_queue;
mod es2;
mod ownership;
mod profiles;
mod progress;
mod relay;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use crate::eim::inventory::DISABLED;
use crate::eim::{DeviceContact, EimError, EuiccRecord, PackageOrder};
use crate::smdp::es2::StoredCall;
use crate::smdp::inventory::ProfilePackageRecord;
use crate::smdp::session::SessionRecord;
use crate::smdp::RepoError;

/// The in-memory store of the eIM and SM-DP+ ports. Share it with an `Arc`; [`MemoryStore::new`]
/// is empty.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// The state, locked for one call. A thread that panicked while holding the lock may have left a half-made
    /// change: the store then refuses every call, as a database that lost its connection would.
    fn lock(&self) -> Result<MutexGuard<'_, State>, Poisoned> {
        self.state.lock().map_err(|_| Poisoned)
    }
}

/// The lock was poisoned: every call fails with the port's store error.
#[derive(Debug)]
struct Poisoned;

const POISONED: &str = "memory store: a thread panicked while holding the state lock";

impl From<Poisoned> for EimError {
    fn from(_: Poisoned) -> EimError {
        EimError::Store(POISONED.into())
    }
}

impl From<Poisoned> for RepoError {
    fn from(_: Poisoned) -> RepoError {
        RepoError::Backend(POISONED.into())
    }
}

/// Everything the store holds: one map per table of the SQL schema.
#[derive(Debug, Default)]
struct State {
    /// `eim_euiccs`, by EID.
    euiccs: BTreeMap<String, Euicc>,
    /// `eim_packages`, by id.
    packages: BTreeMap<i64, PackageOrder>,
    /// The last package id given (ids start at 1, as an autoincrement key does).
    last_package_id: i64,
    /// `eim_profiles`: EID → ICCID → profile.
    profiles: BTreeMap<String, BTreeMap<String, Profile>>,
    /// `eim_relay_sessions`, by ES9+ transactionId.
    relay_sessions: BTreeMap<String, RelaySession>,
    /// `eim_notification_outbox`, by id.
    outbox: BTreeMap<i64, OutboxRow>,
    /// The last outbox id given.
    last_outbox_id: i64,
    /// `es2_progress_outbox`, by id.
    progress: BTreeMap<i64, progress::ProgressRow>,
    /// The last progress outbox id given.
    last_progress_id: i64,
    /// `profiles` (the SM-DP+'s), by ICCID: ICCIDs are unique across operators.
    smdp_profiles: BTreeMap<String, profiles::SmdpProfile>,
    /// The last profile id given.
    last_profile_id: i64,
    /// `profile_packages`, by ICCID, as imported (nothing is at rest here: nothing is sealed).
    profile_packages: BTreeMap<String, ProfilePackageRecord>,
    /// `orders`, by id.
    orders: BTreeMap<i64, downloads::Order>,
    /// The last order id given.
    last_order_id: i64,
    /// `download_sessions`, by transactionId (upper-case hex).
    download_sessions: BTreeMap<String, SessionRecord>,
    /// `notifications` (the HandleNotification inbox), by id.
    notifications: BTreeMap<i64, downloads::Notification>,
    /// The last notification id given.
    last_notification_id: i64,
    /// `es2_calls`: the answer of each ES2+ call.
    es2_calls: BTreeMap<es2::CallId, StoredCall>,
}

/// One row of `eim_euiccs`.
#[derive(Debug, Clone)]
struct Euicc {
    record: EuiccRecord,
    /// `""` for an eUICC registered without an operator (ESipa registration, `rspd eim register`).
    operator_id: String,
    label: Option<String>,
    /// When a poll was last recorded, and what it reported.
    last_seen: Option<i64>,
    contact: DeviceContact,
}

/// One row of `eim_profiles`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Profile {
    /// [`ENABLED`](crate::eim::inventory::ENABLED) or [`DISABLED`].
    state: String,
    fallback_attribute: bool,
    last_seen: i64,
}

impl Profile {
    /// A profile row as first inserted by an inventory change: disabled, without the fallback attribute.
    fn new(now: i64) -> Profile {
        Profile { state: DISABLED.to_owned(), fallback_attribute: false, last_seen: now }
    }
}

/// One row of `eim_relay_sessions`.
#[derive(Debug, Clone)]
struct RelaySession {
    smdp_address: String,
    created_at: i64,
}

/// One row of `eim_notification_outbox`.
#[derive(Debug, Clone)]
struct OutboxRow {
    smdp_address: String,
    pending_notification: Vec<u8>,
    attempts: i64,
    next_attempt_at: i64,
    /// The last failed attempt's error and when the row was made: kept as the table keeps them, though no port
    /// reads them back.
    #[allow(dead_code)]
    last_error: Option<String>,
    #[allow(dead_code)]
    created_at: i64,
}

/// How many rows a SQL `LIMIT` of `limit` lets through here: a negative limit gives none.
fn limit_rows(limit: i64) -> usize {
    usize::try_from(limit).unwrap_or(0)
}

/// EIDs per lookup in [`OperatorEuiccs::owned_eids`](crate::eim::campaign::OperatorEuiccs::owned_eids), as the SQL
/// implementation chunks its `IN` lists.
const OWNED_EIDS_CHUNK: usize = 500;
