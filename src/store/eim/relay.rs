//! [`RelaySessions`] for [`Store`]: the external SM-DP+ of each ES9+ session the eIM relays (SGP.32 v1.2 §3.2.3
//! indirect profile download), table `eim_relay_sessions`, so that any node continues a session; and
//! [`NotificationOutbox`], the notifications waiting for an external SM-DP+ (`eim_notification_outbox`).

use diesel::prelude::*;

use crate::eim::indirect::RelaySessions;
use crate::eim::notification_outbox::{NotificationOutbox, OutboxNotification, CLAIM_LEASE_MS};
use crate::eim::EimError;
use crate::store::connection::{dispatch, write_transaction};
use crate::store::eim::orders::is_unique_violation;
use crate::store::prepared::PreparedExt;
use crate::store::schema::eim_notification_outbox as no;
use crate::store::schema::eim_relay_sessions as rs;
use crate::store::Store;

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

    fn purge_relay_sessions(&self, before: i64) -> Result<usize, EimError> {
        Ok(self.write(|conn| {
            write_transaction!(conn, c => diesel::delete(rs::table.filter(rs::created_at.lt(before))).execute(c))
        })?)
    }
}

impl NotificationOutbox for Store {
    fn enqueue_notification(&self, smdp_address: &str, pending_notification: &[u8], now: i64) -> Result<(), EimError> {
        self.write(|conn| {
            write_transaction!(conn, c => diesel::insert_into(no::table)
                    .values((
                        no::smdp_address.eq(smdp_address),
                        no::pending_notification.eq(pending_notification),
                        no::attempts.eq(0i64),
                        no::next_attempt_at.eq(now),
                        no::created_at.eq(now),
                    ))
                    .execute(c))
        })?;
        Ok(())
    }

    fn claim_due_notifications(&self, now: i64, limit: i64) -> Result<Vec<OutboxNotification>, EimError> {
        let due: Vec<(i64, String, Vec<u8>, i64, i64)> = {
            let mut conn = self.conn()?;
            dispatch!(&mut *conn, c => no::table
                .filter(no::next_attempt_at.le(now))
                .order(no::id)
                .limit(limit)
                .select((no::id, no::smdp_address, no::pending_notification, no::attempts, no::next_attempt_at))
                .load(c))?
        };
        let mut claimed = Vec::new();
        for (id, smdp_address, pending_notification, attempts, next_attempt_at) in due {
            let changed = self.write(|conn| {
                write_transaction!(conn, c => diesel::update(
                    no::table.find(id).filter(no::next_attempt_at.eq(next_attempt_at)),
                )
                .set(no::next_attempt_at.eq(now + CLAIM_LEASE_MS))
                .prepared().execute(c))
            })?;
            if changed == 1 {
                claimed.push(OutboxNotification { id, smdp_address, pending_notification, attempts });
            }
        }
        Ok(claimed)
    }

    fn remove_notification(&self, id: i64) -> Result<(), EimError> {
        self.write(|conn| write_transaction!(conn, c => diesel::delete(no::table.find(id)).execute(c)))?;
        Ok(())
    }

    fn notification_attempt_failed(&self, id: i64, error: &str, next_attempt_at: i64) -> Result<(), EimError> {
        self.write(|conn| {
            write_transaction!(conn, c => diesel::update(no::table.find(id))
                .set((
                    no::attempts.eq(no::attempts + 1),
                    no::last_error.eq(error),
                    no::next_attempt_at.eq(next_attempt_at),
                ))
                .prepared().execute(c))
        })?;
        Ok(())
    }
}
