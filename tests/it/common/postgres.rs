//! A throw-away PostgreSQL schema per test, so tests on one database never see each other.

use diesel::{Connection, PgConnection, RunQueryDsl};

/// A throw-away PostgreSQL schema, dropped (with everything in it) when the guard drops — also
/// while a failing test unwinds.
pub struct SchemaGuard {
    admin_url: String,
    pub name: String,
}

impl SchemaGuard {
    /// Creates `rspd_t_<random>` in the database `admin_url` names.
    pub fn create(admin_url: &str) -> SchemaGuard {
        let mut random = [0u8; 6];
        openssl::rand::rand_bytes(&mut random).unwrap();
        let name = format!("rspd_t_{}", hex::encode(random));
        let mut admin = PgConnection::establish(admin_url).unwrap();
        diesel::sql_query(format!("CREATE SCHEMA {name}")).execute(&mut admin).unwrap();
        SchemaGuard { admin_url: admin_url.to_owned(), name }
    }

    /// The admin URL with `search_path` set to this schema (libpq `options`).
    pub fn url(&self) -> String {
        let separator = if self.admin_url.contains('?') { '&' } else { '?' };
        format!("{}{separator}options=-c%20search_path%3D{}", self.admin_url, self.name)
    }
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let dropped = PgConnection::establish(&self.admin_url).map_err(|e| e.to_string()).and_then(|mut admin| {
            diesel::sql_query(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))
                .execute(&mut admin)
                .map_err(|e| e.to_string())
        });
        if let Err(e) = dropped {
            eprintln!("tests: could not drop schema {}: {e}", self.name);
        }
    }
}
