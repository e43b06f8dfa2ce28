//! The `[database]` settings: which backend, where, and how the connection pool behaves (read by `store`).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Where the relational store lives. SQLite (embedded, one node) or PostgreSQL (many nodes).
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An SQLite database file; created (with its parent directory) when missing.
    Sqlite { path: PathBuf },
    /// A PostgreSQL connection URL (`postgres://` or `postgresql://`), passed to libpq as is.
    Postgres { url: String },
}

impl DatabaseUrl {
    /// Parses `sqlite://PATH`, `sqlite:PATH`, `postgres://…` or `postgresql://…`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres { url: s.to_owned() });
        }
        let path = s
            .strip_prefix("sqlite://")
            .or_else(|| s.strip_prefix("sqlite:"))
            .ok_or_else(|| format!("`{s}` is neither sqlite://PATH nor postgres://…"))?;
        if path.is_empty() {
            return Err("sqlite:// needs a file path".to_owned());
        }
        Ok(DatabaseUrl::Sqlite { path: PathBuf::from(path) })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite { .. } => "sqlite",
            DatabaseUrl::Postgres { .. } => "postgres",
        }
    }
}

/// Shows the URL without any password (safe for logs and start-up output).
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite { path } => write!(f, "sqlite://{}", path.display()),
            DatabaseUrl::Postgres { url } => f.write_str(&redact_password(url)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// Everything the store needs to open its pool.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: DatabaseUrl,
    /// Maximum connections in the pool.
    pub pool_size: u32,
    /// How long to wait for a connection (and for PostgreSQL to answer at start).
    pub connect_timeout: Duration,
    /// SQLite `busy_timeout`: how long a writer waits for the database lock.
    pub sqlite_busy_timeout: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_backends_and_hides_passwords() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://./rspd-data/rspd.db").unwrap(),
            DatabaseUrl::Sqlite { path: "./rspd-data/rspd.db".into() }
        );
        let pg = DatabaseUrl::parse("postgres://rspd:s3cret@db:5432/rspd").unwrap();
        assert_eq!(pg.backend_name(), "postgres");
        assert_eq!(pg.to_string(), "postgres://rspd:***@db:5432/rspd");
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }
}
