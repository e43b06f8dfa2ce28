//! [`RelaySessions`] and [`NotificationOutbox`] for [`MemoryStore`] (SGP.32 v1.2 §3.2.3 indirect profile
//! download), with the semantics of `store/eim/relay.rs`: a session is recorded once (a second record of the same
//! transactionId keeps the first), and a claimed notification is hidden for [`CLAIM_LEASE_MS`] while it is sent.

use crate::eim::indirect::RelaySessions;
use crate::eim::notification_outbox::{NotificationOutbox, OutboxNotification, CLAIM_LEASE_MS};
use crate::eim::EimError;

use super::{limit_rows, MemoryStore, OutboxRow, RelaySession};

impl RelaySessions for MemoryStore {
    fn record_relay_session(&self, transaction_id: &str, smdp_address: &str, now: i64) -> Result<(), EimError> {
        // The same answer recorded twice (a retried request): nothing to change.
        self.lock()?
            .relay_sessions
            .entry(transaction_id.to_owned())
            .or_insert_with(|| RelaySession { smdp_address: smdp_address.to_owned(), created_at: now });
        Ok(())
    }

    fn relay_session(&self, transaction_id: &str) -> Result<Option<String>, EimError> {
        Ok(self.lock()?.relay_sessions.get(transaction_id).map(|s| s.smdp_address.clone()))
    }

    fn purge_relay_sessions(&self, before: i64) -> Result<usize, EimError> {
        let mut state = self.lock()?;
        let count = state.relay_sessions.len();
        state.relay_sessions.retain(|_, s| s.created_at >= before);
        Ok(count - state.relay_sessions.len())
    }
}

impl NotificationOutbox for MemoryStore {
    fn enqueue_notification(&self, smdp_address: &str, pending_notification: &[u8], now: i64) -> Result<(), EimError> {
        let mut state = self.lock()?;
        state.last_outbox_id += 1;
        let id = state.last_outbox_id;
        state.outbox.insert(
            id,
            OutboxRow {
                smdp_address: smdp_address.to_owned(),
                pending_notification: pending_notification.to_vec(),
                attempts: 0,
                next_attempt_at: now,
                last_error: None,
                created_at: now,
            },
        );
        Ok(())
    }

    fn claim_due_notifications(&self, now: i64, limit: i64) -> Result<Vec<OutboxNotification>, EimError> {
        let mut state = self.lock()?;
        Ok(state
            .outbox
            .iter_mut()
            .filter(|(_, row)| row.next_attempt_at <= now)
            .take(limit_rows(limit))
            .map(|(&id, row)| {
                row.next_attempt_at = now.saturating_add(CLAIM_LEASE_MS);
                OutboxNotification {
                    id,
                    smdp_address: row.smdp_address.clone(),
                    pending_notification: row.pending_notification.clone(),
                    attempts: row.attempts,
                }
            })
            .collect())
    }

    fn remove_notification(&self, id: i64) -> Result<(), EimError> {
        self.lock()?.outbox.remove(&id);
        Ok(())
    }

    fn notification_attempt_failed(&self, id: i64, error: &str, next_attempt_at: i64) -> Result<(), EimError> {
        if let Some(row) = self.lock()?.outbox.get_mut(&id) {
            row.attempts += 1;
            row.last_error = Some(error.to_owned());
            row.next_attempt_at = next_attempt_at;
        }
        Ok(())
    }
}
