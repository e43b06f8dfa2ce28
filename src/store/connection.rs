//! Connections and the r2d2 pool: one [`DbConnection`] type over PostgreSQL or SQLite, a connection
//! manager that reports the backend's own connect error, and the per-connection SQLite pragmas.

use std::fmt;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{CustomizeConnection, HandleError, ManageConnection, Pool, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, ConnectionError};

use super::error::one_line;
use crate::config::{DatabaseSettings, DatabaseUrl};

/// A connection to either backend. Plain queries can use it directly; backend-specific SQL
/// (`FOR UPDATE SKIP LOCKED`, SQLite immediate transactions) matches on the variant.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// The pool the store uses.
pub(crate) type DbPool = Pool<DbManager>;

/// Opens connections for the configured backend only. (The `MultiConnection` derive's own
/// `establish` tries every backend in turn and hides the real error, so it is not used.)
pub(crate) struct DbManager {
    url: DatabaseUrl,
    /// What is passed to libpq / SQLite (the PostgreSQL URL may carry `connect_timeout`).
    target: String,
}

impl DbManager {
    pub(crate) fn new(settings: &DatabaseSettings) -> Result<DbManager, String> {
        let target = match &settings.url {
            DatabaseUrl::Postgres { url } => with_connect_timeout(url, settings.connect_timeout),
            DatabaseUrl::Sqlite { path } => path
                .to_str()
                .ok_or_else(|| format!("the SQLite path {} is not valid UTF-8", path.display()))?
                .to_owned(),
        };
        Ok(DbManager { url: settings.url.clone(), target })
    }
}

impl fmt::Debug for DbManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbManager").field("url", &self.url).finish_non_exhaustive()
    }
}

impl ManageConnection for DbManager {
    type Connection = DbConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<DbConnection, ConnectionError> {
        match self.url {
            DatabaseUrl::Postgres { .. } => PgConnection::establish(&self.target).map(DbConnection::Pg),
            DatabaseUrl::Sqlite { .. } => SqliteConnection::establish(&self.target).map(DbConnection::Sqlite),
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectionError> {
        conn.ping().map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

/// Adds libpq's `connect_timeout` (whole seconds, at least 1) unless the URL already sets one, so an
/// unanswering host does not hang start-up.
fn with_connect_timeout(url: &str, timeout: Duration) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}connect_timeout={}", timeout.as_secs().max(1))
}

/// SQLite settings that hold per connection, applied whenever the pool opens one:
/// `busy_timeout` (writers wait for the lock), `journal_mode=WAL` (readers do not block the writer),
/// `synchronous=NORMAL` (safe with WAL), `foreign_keys=ON`, and the `rspd_sha256_hex` SQL function the audit
/// chain's triggers use (PostgreSQL has `sha256` built in). No-op on PostgreSQL.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SqlitePragmas {
    pub(crate) busy_timeout: Duration,
}

impl CustomizeConnection<DbConnection, ConnectionError> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), ConnectionError> {
        let DbConnection::Sqlite(conn) = conn else {
            return Ok(());
        };
        // busy_timeout first: switching to WAL needs a lock another connection may hold.
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON;",
            self.busy_timeout.as_millis()
        ))
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
        register_sqlite_functions(conn).map_err(ConnectionError::CouldntSetupConfiguration)
    }
}

/// Registers the SQL functions rspd's SQLite schema needs (`rspd_sha256_hex`, used by the audit chain's triggers)
/// on a connection opened outside the pool — a test or tool that changes a state column through its own
/// `SqliteConnection` must call this first, or the trigger fails with "no such function".
pub fn register_sqlite_functions(conn: &mut SqliteConnection) -> diesel::QueryResult<()> {
    rspd_sha256_hex_utils::register_impl(conn, |text: String| hex::encode(openssl::sha::sha256(text.as_bytes())))
}

diesel::define_sql_function! {
    /// SHA-256 of the UTF-8 text, lower-case hex: the audit chain's hash function on SQLite (migration `…_audit`).
    fn rspd_sha256_hex(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Sends r2d2's background connection errors to `tracing` (r2d2 logs to `log` by default).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TracingErrorHandler;

impl HandleError<ConnectionError> for TracingErrorHandler {
    fn handle_error(&self, error: ConnectionError) {
        tracing::warn!(error = %one_line(&error.to_string()), "database connection failed");
    }
}

/// Runs `$body` with `$c` bound to the backend's own connection type, so one piece of diesel code
/// is compiled once per backend.
macro_rules! dispatch {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::store::connection::DbConnection::Pg($c) => $body,
            $crate::store::connection::DbConnection::Sqlite($c) => $body,
        }
    };
}

/// Runs `$body` in a write transaction: `BEGIN` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite (a
/// deferred SQLite transaction that reads then writes fails at once with "database is locked" when
/// another writer is active; an immediate one waits `busy_timeout` for the lock).
/// `$body` returns `Result<_, diesel::result::Error>`; the macro yields `Result<_, StoreError>`.
macro_rules! write_transaction {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::store::connection::DbConnection::Pg(conn) => conn.build_transaction().read_write().run(|$c| $body),
            $crate::store::connection::DbConnection::Sqlite(conn) => conn.immediate_transaction(|$c| $body),
        }
        .map_err($crate::store::error::StoreError::from)
    };
}

pub(crate) use {dispatch, write_transaction};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_timeout_is_added_once() {
        let t = Duration::from_millis(2500);
        assert_eq!(with_connect_timeout("postgres://h/db", t), "postgres://h/db?connect_timeout=2");
        assert_eq!(
            with_connect_timeout("postgres://h/db?sslmode=disable", t),
            "postgres://h/db?sslmode=disable&connect_timeout=2"
        );
        assert_eq!(with_connect_timeout("postgres://h/db?connect_timeout=9", t), "postgres://h/db?connect_timeout=9");
        assert_eq!(with_connect_timeout("postgres://h/db", Duration::ZERO), "postgres://h/db?connect_timeout=1");
    }

    /// `.cargo/config.toml` builds the bundled SQLite with `SQLITE_ENABLE_QPSG`: statements are planned once, not
    /// re-prepared whenever a bound LIMIT changes.
    #[test]
    fn bundled_sqlite_is_built_with_query_planner_stability() {
        use diesel::sql_types::Text;
        use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
        #[derive(QueryableByName)]
        struct CompileOption {
            #[diesel(sql_type = Text)]
            compile_options: String,
        }
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let options: Vec<CompileOption> = diesel::sql_query("PRAGMA compile_options").load(&mut conn).unwrap();
        assert!(options.iter().any(|o| o.compile_options == "ENABLE_QPSG"), "SQLite built without ENABLE_QPSG");
    }
}
