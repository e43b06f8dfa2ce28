//! The relational store: SQLite (embedded default) and PostgreSQL (scale-out) behind the domain's
//! repository traits (docs/ARCHITECTURE.md), one folder per role.
//!
//! - [`connection`]: the two-backend connection type, pool manager and SQLite pragmas — the one place that
//!   switches between PostgreSQL and SQLite (`dispatch!`, `write_transaction!`; a statement only one backend has,
//!   such as `FOR UPDATE SKIP LOCKED`, matches on [`DbConnection`] next to its portable twin).
//! - [`migrations`]: embedded migrations per backend; [`schema`]: diesel tables; [`error`]: [`StoreError`] and its
//!   mapping to the domain's `RepoError`.
//! - `smdp/`: profiles, packages and templates, ES2+ calls, download sessions, notification inbox, progress outbox.
//! - `eim/`: eUICC registry and package queue, eIM orders and campaigns, ownership, events, relay sessions.
//! - `operator/`: the audit trail, the fleet API's listings, `Idempotency-Key`s.
//! - [`memory`]: the eIM ports and the SM-DP+ profile, download, ES2+ and progress outbox ports in memory
//!   ([`memory::MemoryStore`]): the reference implementation of their contracts and a test double, checked by the
//!   same contract suites as SQLite and PostgreSQL.
//! - `server_keys`: secrets the server makes for itself and shares between nodes (opaque ids); `retention`: batched
//!   deletion of finished rows past their configured age (`jobs::retention`).
//!
//! Adding a table: a migration directory under both `migrations/sqlite` and `migrations/postgres`, a
//! `table!` in `schema.rs`, and one file in the role's folder implementing the domain's repository trait for [`Store`].
//! All calls are blocking: from actix handlers run them in `web::block`.

pub mod connection;
mod eim;
pub mod error;
pub mod memory;
pub mod migrations;
mod operator;
mod prepared;
mod retention;
pub mod schema;
mod server_keys;
mod smdp;

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use diesel::r2d2::{ManageConnection, Pool, PooledConnection};
use diesel::RunQueryDsl;

use connection::{dispatch, DbManager, SqlitePragmas, TracingErrorHandler};
use diesel::r2d2::CustomizeConnection;
use error::one_line;

use crate::config::{DatabaseSettings, DatabaseUrl};

pub use connection::{register_sqlite_functions, DbConnection};
pub use error::StoreError;
pub use operator::audit::AuditVerifyError;
pub use retention::RetentionReport;
pub use smdp::key_rotation::RotationReport;

/// How many times a whole write transaction is tried when PostgreSQL reports a serialization failure.
const SERIALIZATION_ATTEMPTS: u32 = 4;

/// The store: a connection pool over the configured backend. Clones share the pool.
#[derive(Clone)]
pub struct Store {
    pool: connection::DbPool,
    url: Arc<DatabaseUrl>,
    /// The master keys sealing packages, templates and personalization data (`crate::secrets`); without it,
    /// those rows can be neither written nor read.
    keyring: Option<Arc<KeyringCell>>,
    /// Server keys read so far (`server_keys`: they never change once made).
    server_keys: Arc<std::sync::Mutex<std::collections::HashMap<String, [u8; server_keys::SERVER_KEY_LEN]>>>,
    /// Round trips to the database made through this store (shared by clones).
    round_trips: Arc<RoundTripCounters>,
    /// Counts the write transactions committed through this store (and its clones): what background jobs wait
    /// on instead of a clock ([`Store::writes`]).
    wrote: Arc<tokio::sync::watch::Sender<u64>>,
}

/// Counts of what a [`Store`] asked of the database, since it was opened: what a step costs, for tests and
/// metrics (issue 11: "one read phase and one write transaction").
#[derive(Debug, Default)]
struct RoundTripCounters {
    read_phases: std::sync::atomic::AtomicU64,
    write_transactions: std::sync::atomic::AtomicU64,
}

/// A snapshot of a [`Store`]'s round-trip counters ([`Store::round_trips`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundTrips {
    /// Connections taken from the pool to read (each one read phase, however many statements it runs).
    pub read_phases: u64,
    /// Write transactions attempted (a PostgreSQL serialization retry counts again).
    pub write_transactions: u64,
}

impl std::ops::Sub for RoundTrips {
    type Output = RoundTrips;
    fn sub(self, earlier: RoundTrips) -> RoundTrips {
        RoundTrips {
            read_phases: self.read_phases.saturating_sub(earlier.read_phases),
            write_transactions: self.write_transactions.saturating_sub(earlier.write_transactions),
        }
    }
}

/// The keyring in use and, when it came from a key file, that file: re-read when a row names a key id the
/// keyring lacks (another process rotated) and by [`Store::reload_keyring`].
struct KeyringCell {
    current: std::sync::RwLock<Arc<crate::secrets::Keyring>>,
    file: Option<std::path::PathBuf>,
}

/// Pool gauges for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    /// Open connections (idle and in use).
    pub connections: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// Pool size limit.
    pub max: u32,
}

impl Store {
    /// Opens the store. For SQLite the file's parent directory is created. A first connection is made
    /// directly, so an unreachable server or unopenable file fails at once with the backend's own
    /// message; then the pool is built. Does not migrate (see [`Store::migrate`]).
    pub fn open(settings: &DatabaseSettings) -> Result<Store, StoreError> {
        Self::open_with_min_idle(settings, 1)
    }

    /// As [`Store::open`], for a short-lived command: the pool keeps no idle connection, so no background
    /// thread is still connecting when the process exits (libpq/OpenSSL torn down under a connecting
    /// thread crashed a CLI command at exit).
    pub fn open_for_command(settings: &DatabaseSettings) -> Result<Store, StoreError> {
        Self::open_with_min_idle(settings, 0)
    }

    fn open_with_min_idle(settings: &DatabaseSettings, min_idle: u32) -> Result<Store, StoreError> {
        let url = settings.url.to_string();
        if let DatabaseUrl::Sqlite { path } = &settings.url {
            if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                crate::private_files::create_private_dir(dir).map_err(|source| StoreError::CreateDir {
                    url: url.clone(),
                    dir: dir.to_owned(),
                    source,
                })?;
            }
            // Made 0600 before SQLite opens it (its -wal/-shm files take the same mode).
            crate::private_files::create_private_file_if_missing(path).map_err(|source| StoreError::CreateDir {
                url: url.clone(),
                dir: path.clone(),
                source,
            })?;
        }
        let connect_error = |message: String| StoreError::Connect { url: url.clone(), message: one_line(&message) };
        let manager = DbManager::new(settings).map_err(connect_error)?;
        let pragmas = SqlitePragmas { busy_timeout: settings.sqlite_busy_timeout };

        let mut first = manager.connect().map_err(|e| connect_error(e.to_string()))?;
        pragmas.on_acquire(&mut first).map_err(|e| connect_error(e.to_string()))?;
        drop(first);

        // A pooled SQLite connection is a file handle: it cannot go stale, so it is not tested with a `SELECT 1` at
        // each checkout (one statement in two around a download). A PostgreSQL connection can (a server restart, an
        // idle timeout): it is still tested, so a request never fails on a dead connection the pool could replace.
        let test_on_check_out = matches!(settings.url, DatabaseUrl::Postgres { .. });
        let pool = Pool::builder()
            .max_size(settings.pool_size.max(1))
            .min_idle(Some(min_idle))
            .test_on_check_out(test_on_check_out)
            .connection_timeout(settings.connect_timeout)
            .connection_customizer(Box::new(pragmas))
            .error_handler(Box::new(TracingErrorHandler))
            .build(manager)
            .map_err(|e| StoreError::Pool { url: url.clone(), message: one_line(&e.to_string()) })?;
        tracing::debug!(url = %settings.url, pool_size = settings.pool_size, "database pool open");
        Ok(Store {
            pool,
            url: Arc::new(settings.url.clone()),
            keyring: None,
            server_keys: Arc::default(),
            round_trips: Arc::default(),
            wrote: Arc::new(tokio::sync::watch::Sender::new(0)),
        })
    }

    /// This store, sealing and opening secrets with `keyring`.
    pub fn with_keyring(self, keyring: crate::secrets::Keyring) -> Store {
        self.with_keyring_file(keyring, None)
    }

    /// As [`Store::with_keyring`], for a keyring read from `file`: the file is read again when a sealed row names
    /// a key the keyring lacks, and by [`Store::reload_keyring`] (a `rspd keys rotate` by another process).
    pub fn with_keyring_file(mut self, keyring: crate::secrets::Keyring, file: Option<std::path::PathBuf>) -> Store {
        self.keyring = Some(Arc::new(KeyringCell { current: std::sync::RwLock::new(Arc::new(keyring)), file }));
        self
    }

    /// The keyring, or the error every sealed read or write gives without one.
    pub(crate) fn keyring(&self) -> Result<Arc<crate::secrets::Keyring>, crate::smdp::RepoError> {
        let cell = self.keyring.as_deref().ok_or_else(|| {
            crate::smdp::RepoError::Backend(
                "no secrets master key loaded: sealed data cannot be read or written".into(),
            )
        })?;
        Ok(cell.current.read().map(|k| k.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone()))
    }

    /// Re-reads the key file (if the keyring came from one). Returns whether the keys changed.
    pub fn reload_keyring(&self) -> Result<bool, crate::secrets::SecretsError> {
        let Some(cell) = self.keyring.as_deref() else { return Ok(false) };
        let Some(file) = &cell.file else { return Ok(false) };
        let keyring = crate::secrets::Keyring::new(crate::secrets::master_key::read_key_file(file)?)?;
        let mut current = cell.current.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let ids = |k: &crate::secrets::Keyring| k.keys().iter().map(|k| k.id().clone()).collect::<Vec<_>>();
        let changed = ids(&current) != ids(&keyring);
        if changed {
            tracing::info!(active_key_id = %keyring.active().id(), keys = keyring.keys().len(), "secrets master keys reloaded");
        }
        *current = Arc::new(keyring);
        Ok(changed)
    }

    /// Opens a sealed value; a key id the keyring lacks makes it re-read its key file once first.
    pub(crate) fn open_sealed(
        &self,
        row: crate::secrets::RowBinding<'_>,
        key_id: &str,
        blob: &[u8],
    ) -> Result<Vec<u8>, crate::smdp::RepoError> {
        let mut keyring = self.keyring()?;
        if !keyring.contains(key_id) {
            self.reload_keyring().map_err(|e| crate::smdp::RepoError::Backend(e.to_string()))?;
            keyring = self.keyring()?;
        }
        keyring.open(row, key_id, blob).map_err(|e| crate::smdp::RepoError::Backend(e.to_string()))
    }

    /// Applies the pending embedded migrations; returns the versions applied (empty when up to date).
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        let applied = migrations::run_pending(&mut conn)
            .map_err(|message| StoreError::Migration { url: self.url.to_string(), message })?;
        if !applied.is_empty() {
            tracing::info!(url = %self.url, versions = ?applied, "database migrated");
        }
        Ok(applied)
    }

    /// Checks that the database answers `SELECT 1` (readiness probe).
    pub fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        dispatch!(&mut *conn, c => diesel::sql_query("SELECT 1").execute(c))?;
        Ok(())
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        self.url.backend_name()
    }

    /// Where the store lives (its `Display` hides any password).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Pool gauges for metrics.
    pub fn pool_state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState { connections: state.connections, idle: state.idle_connections, max: self.pool.max_size() }
    }

    /// The round trips made through this store (and its clones) so far.
    pub fn round_trips(&self) -> RoundTrips {
        use std::sync::atomic::Ordering::Relaxed;
        RoundTrips {
            read_phases: self.round_trips.read_phases.load(Relaxed),
            write_transactions: self.round_trips.write_transactions.load(Relaxed),
        }
    }

    /// A subscription to this node's writes through the store: a background job waits on it instead of waking on
    /// a clock when there is nothing to do (issue 12: idle nodes stay idle).
    pub fn writes(&self) -> Writes {
        Writes { seen: self.wrote.subscribe() }
    }

    /// A pooled connection to read with (one read phase), or [`StoreError::Pool`] after the connect timeout.
    pub(crate) fn conn(&self) -> Result<PooledConnection<DbManager>, StoreError> {
        self.round_trips.read_phases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.pooled()
    }

    /// A connection for a read that must not wait, to run on an async worker: only for an embedded database
    /// (SQLite: no network round trip; WAL readers never wait for the writer) and only a connection idle in the pool
    /// right now; `None` otherwise (read on the blocking pool instead). Counted as a read phase.
    pub(crate) fn conn_now(&self) -> Option<PooledConnection<DbManager>> {
        if !matches!(*self.url, DatabaseUrl::Sqlite { .. }) {
            return None;
        }
        let conn = self.pool.try_get()?;
        self.round_trips.read_phases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(conn)
    }

    /// A pooled connection not counted in [`Store::round_trips`] (the store's own housekeeping).
    fn pooled(&self) -> Result<PooledConnection<DbManager>, StoreError> {
        self.pool.get().map_err(|e| StoreError::Pool { url: self.url.to_string(), message: one_line(&e.to_string()) })
    }

    /// Runs a whole write transaction (`attempt` opens it with `write_transaction!`), trying again
    /// when PostgreSQL reports a serialization failure (SQLSTATE 40001).
    pub(crate) fn write<T>(
        &self,
        mut attempt: impl FnMut(&mut DbConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut tries = 1;
        loop {
            let mut conn = self.pooled()?;
            self.round_trips.write_transactions.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match attempt(&mut conn) {
                Err(e) if e.is_serialization_failure() && tries < SERIALIZATION_ATTEMPTS => {
                    tracing::debug!(tries, "serialization failure, retrying the transaction");
                    drop(conn);
                    thread::sleep(Duration::from_millis(5 * u64::from(tries)));
                    tries += 1;
                }
                result => {
                    if result.is_ok() {
                        self.wrote.send_modify(|n| *n = n.wrapping_add(1));
                    }
                    return result;
                }
            }
        }
    }
}

/// See [`Store::writes`].
pub struct Writes {
    seen: tokio::sync::watch::Receiver<u64>,
}

impl Writes {
    /// Resolves when a write transaction has committed through the store since this subscription last looked
    /// ([`Writes::wait`] or [`Writes::mark_seen`]), or after `fallback` (writes by other processes — another node,
    /// the CLI — are seen by time only).
    pub async fn wait(&mut self, fallback: Duration) {
        match tokio::time::timeout(fallback, self.seen.changed()).await {
            Ok(Ok(())) | Err(_) => {}
            // The store is gone (the server is stopping): do not spin.
            Ok(Err(_)) => tokio::time::sleep(fallback).await,
        }
    }

    /// Forgets the writes so far: a job calls it before a round that reads everything anyway, so that its own
    /// writes in the round, or those it already sees, do not wake it again.
    pub fn mark_seen(&mut self) {
        self.seen.borrow_and_update();
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("url", &self.url)
            .field("pool", &self.pool_state())
            .field("keyring", &self.keyring().ok().map(|k| k.active().id().to_string()))
            .finish()
    }
}
