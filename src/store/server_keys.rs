//! Secrets the server generates for itself and every node shares through the database: the first node that
//! asks for a key by name creates it (random, 32 bytes); all later calls, on any node, read that one.

use diesel::prelude::*;

use super::connection::{dispatch, write_transaction};
use super::schema::server_keys as sk;
use super::{Store, StoreError};

/// Length of a server key.
pub const SERVER_KEY_LEN: usize = 32;

impl Store {
    /// The server key called `name`, created on first use (read once per process, then from memory).
    pub fn server_key(&self, name: &str) -> Result<[u8; SERVER_KEY_LEN], StoreError> {
        if let Some(key) = self.server_keys.lock().ok().and_then(|keys| keys.get(name).copied()) {
            return Ok(key);
        }
        let key = self.load_or_create_server_key(name)?;
        if let Ok(mut keys) = self.server_keys.lock() {
            keys.insert(name.to_owned(), key);
        }
        Ok(key)
    }

    fn load_or_create_server_key(&self, name: &str) -> Result<[u8; SERVER_KEY_LEN], StoreError> {
        let mut fresh = [0u8; SERVER_KEY_LEN];
        openssl::rand::rand_bytes(&mut fresh)
            .map_err(|e| StoreError::Invalid(format!("no random bytes for server key `{name}`: {e}")))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        self.write(|conn| {
            write_transaction!(conn, c => diesel::insert_into(sk::table)
                .values((sk::name.eq(name), sk::secret.eq(&fresh[..]), sk::created_at.eq(now)))
                .on_conflict_do_nothing()
                .execute(c))
        })?;
        let mut conn = self.conn()?;
        let stored: Vec<u8> = dispatch!(&mut *conn, c => sk::table.find(name).select(sk::secret).first(c))?;
        stored.try_into().map_err(|_| {
            StoreError::Invalid(format!("server key `{name}` in the database is not {SERVER_KEY_LEN} bytes"))
        })
    }
}
