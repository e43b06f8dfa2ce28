//! The store backends a contract case runs on: SQLite in a temporary directory and PostgreSQL in a throw-away
//! schema (when `RSPD_TEST_POSTGRES_URL` is set; otherwise the case says it skipped), both migrated.

use std::time::Duration;

use rspd::config::{DatabaseSettings, DatabaseUrl};
use rspd::store::Store;

use super::postgres::SchemaGuard;

/// Settings for a test store at `url`: a pool large enough for the concurrency cases.
pub fn settings(url: DatabaseUrl) -> DatabaseSettings {
    DatabaseSettings {
        url,
        pool_size: 12,
        connect_timeout: Duration::from_secs(10),
        sqlite_busy_timeout: Duration::from_secs(10),
    }
}

/// Runs `case` on a migrated SQLite store in a temporary directory.
pub fn on_sqlite(case: impl FnOnce(&Store)) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&settings(DatabaseUrl::Sqlite { path: dir.path().join("rspd.db") })).unwrap();
    store.migrate().unwrap();
    case(&store);
}

/// Runs `case` on a migrated PostgreSQL store in a throw-away schema; without `RSPD_TEST_POSTGRES_URL`, prints that
/// `what` skipped PostgreSQL and returns.
pub fn on_postgres(what: &str, case: impl FnOnce(&Store)) {
    let Ok(admin_url) = std::env::var("RSPD_TEST_POSTGRES_URL") else {
        eprintln!("{what}: PostgreSQL skipped (RSPD_TEST_POSTGRES_URL unset)");
        return;
    };
    let schema = SchemaGuard::create(&admin_url);
    let store = Store::open(&settings(DatabaseUrl::Postgres { url: schema.url() })).unwrap();
    store.migrate().unwrap();
    case(&store);
    drop(store);
    drop(schema);
}
