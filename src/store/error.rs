//! Store errors: one-line messages that name the cause, and their mapping to the domain's
//! [`RepoError`](crate::smdp::RepoError).

use std::path::PathBuf;

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::smdp::RepoError;

/// What went wrong opening, migrating or querying the store. `Display` is always one line and never
/// shows a password (URLs are printed through [`DatabaseUrl`](crate::config::DatabaseUrl)'s redacting `Display`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database server or file could not be opened.
    #[error("cannot connect to {url}: {message}")]
    Connect { url: String, message: String },
    /// The directory for the SQLite file could not be created.
    #[error("cannot create directory {} for the SQLite database {url}: {}", .dir.display(), one_line(&.source.to_string()))]
    CreateDir { url: String, dir: PathBuf, source: std::io::Error },
    /// No pooled connection became available in time (server down or pool exhausted).
    #[error("no database connection for {url}: {message}")]
    Pool { url: String, message: String },
    /// Applying the embedded migrations failed.
    #[error("migration failed on {url}: {message}")]
    Migration { url: String, message: String },
    /// A query failed.
    #[error("database error: {}", one_line(&.0.to_string()))]
    Query(#[from] DieselError),
    /// A row holds something the code cannot use (or a server key could not be made).
    #[error("unusable stored data: {0}")]
    Invalid(String),
}

impl StoreError {
    /// Whether a whole transaction should be retried: PostgreSQL serialization failure (SQLSTATE 40001) or
    /// deadlock (40P01; the audit chain's head row is locked by every transition, so two transactions that
    /// touch the same rows in different orders can meet there).
    pub(crate) fn is_serialization_failure(&self) -> bool {
        match self {
            StoreError::Query(DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _)) => true,
            StoreError::Query(DieselError::DatabaseError(DatabaseErrorKind::Unknown, info)) => {
                info.message().contains("deadlock detected")
            }
            _ => false,
        }
    }
}

impl From<StoreError> for RepoError {
    fn from(err: StoreError) -> RepoError {
        match err {
            StoreError::Query(e) => repo_error(e),
            StoreError::Pool { .. } | StoreError::Connect { .. } => RepoError::Unavailable(err.to_string()),
            StoreError::CreateDir { .. } | StoreError::Migration { .. } | StoreError::Invalid(_) => {
                RepoError::Backend(err.to_string())
            }
        }
    }
}

/// Maps a diesel error to the domain's terms: unique violations are conflicts, lost connections
/// mean the store is unavailable.
pub(crate) fn repo_error(err: DieselError) -> RepoError {
    match &err {
        DieselError::NotFound => RepoError::NotFound,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => RepoError::Conflict,
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _) => {
            RepoError::Unavailable(one_line(&err.to_string()))
        }
        _ => RepoError::Backend(one_line(&err.to_string())),
    }
}

/// Joins a multi-line message (libpq's come with a hint on a second line) into one line.
pub(crate) fn one_line(message: &str) -> String {
    message.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_messages_become_one_line() {
        let msg =
            "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server running?\n";
        assert_eq!(
            one_line(msg),
            "connection to server at \"127.0.0.1\", port 1 failed: Connection refused Is the server running?"
        );
    }

    #[test]
    fn unique_violation_is_a_conflict() {
        let e = DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, Box::new("dup".to_owned()));
        assert_eq!(repo_error(e), RepoError::Conflict);
        assert_eq!(repo_error(DieselError::NotFound), RepoError::NotFound);
    }
}
