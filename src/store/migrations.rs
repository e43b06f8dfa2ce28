//! Embedded schema migrations, one set per backend (`migrations/sqlite`, `migrations/postgres` at the
//! repository root; same tables, backend-specific DDL).

use diesel::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::connection::DbConnection;
use super::error::one_line;

/// Migrations for SQLite.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
/// Migrations for PostgreSQL.
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Key of the PostgreSQL advisory lock that keeps two nodes from migrating at the same time.
const MIGRATION_LOCK_KEY: i64 = 0x0072_7370_646d_6967; // "rspdmig" in ASCII

/// Applies the pending migrations for the connection's backend and returns their versions, oldest
/// first (empty when the schema is up to date).
pub(crate) fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, String> {
    match conn {
        DbConnection::Sqlite(c) => versions(c.run_pending_migrations(SQLITE_MIGRATIONS)),
        DbConnection::Pg(c) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .execute(c)
                .map_err(|e| format!("cannot take the migration lock: {}", one_line(&e.to_string())))?;
            let result = versions(c.run_pending_migrations(POSTGRES_MIGRATIONS));
            let unlocked = diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")).execute(c);
            let applied = result?;
            unlocked.map_err(|e| format!("cannot release the migration lock: {}", one_line(&e.to_string())))?;
            Ok(applied)
        }
    }
}

/// The applied versions as strings, or the harness error on one line.
fn versions(
    result: diesel::migration::Result<Vec<diesel::migration::MigrationVersion<'_>>>,
) -> Result<Vec<String>, String> {
    result
        .map(|applied| applied.into_iter().map(|version| version.to_string()).collect())
        .map_err(|e| one_line(&e.to_string()))
}
