//! [`RelaySessions`] for [`Store`]: the external SM-DP+ of each ES9+ session the eIM relays (SGP.32 v1.2 §3.2.3
//! indirect profile download), table `eim_relay_sessions`, so that any node continues a session.

use diesel::prelude::*;

use super::connection::{dispatch, write_transaction};
use super::eim_orders::is_unique_violation;
use super::schema::eim_relay_sessions as rs;
use super::Store;
use crate::eim::indirect::RelaySessions;
use crate::eim::EimError;

impl RelaySessions for Store {
    fn record_relay_session(&self, transaction_id: &str, smdp_address: &str, now: i64) -> Result<(), EimError> {
        let attempt = self.write(|conn| {
            write_transaction!(conn, c => diesel::insert_into(rs::table)
                .values((rs::transaction_id.eq(transaction_id), rs::smdp_address.eq(smdp_address), rs::created_at.eq(now)))
                .execute(c))
        });
        match attempt {
            // The same answer recorded twice (a retried request): nothing to change.
            Err(e) if is_unique_violation(&e) => Ok(()),
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    fn relay_session(&self, transaction_id: &str) -> Result<Option<String>, EimError> {
        let mut conn = self.conn()?;
        Ok(dispatch!(&mut *conn, c => rs::table
            .find(transaction_id)
            .select(rs::smdp_address)
            .first::<String>(c)
            .optional())?)
    }
}
