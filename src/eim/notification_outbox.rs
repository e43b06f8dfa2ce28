//! Durable forwarding of notifications to an external SM-DP+ (SGP.32 v1.2 §3.2.3 indirect download: the eIM
//! relays ESipa.HandleNotification §5.14.7 and the notifications of `ePRAndNotifications` as ES9+
//! HandleNotification, SGP.22 v2.5 §5.6.4): the IPA is answered at once, the notification is kept in the
//! outbox and sent by a background job, retried with exponential backoff until delivered or given up.

use super::EimError;

/// One notification waiting for its SM-DP+.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxNotification {
    pub id: i64,
    pub smdp_address: String,
    /// PendingNotification DER, as received from the IPA.
    pub pending_notification: Vec<u8>,
    /// Failed attempts so far.
    pub attempts: i64,
}

/// Attempts after which a notification is dropped (logged): about a day and a half of retries.
pub const MAX_ATTEMPTS: i64 = 40;

/// How long a claimed notification is hidden from other nodes while it is sent (Unix ms).
pub const CLAIM_LEASE_MS: i64 = 120_000;

/// Delay before the next attempt after `attempts` failures: 5 s doubling, at most one hour.
pub fn retry_delay_ms(attempts: i64) -> i64 {
    let exponent = attempts.clamp(1, 20) as u32 - 1;
    (5_000i64.saturating_mul(1i64 << exponent)).min(3_600_000)
}

/// Storage of the outbox (table `eim_notification_outbox`). All calls block.
pub trait NotificationOutbox: Send + Sync {
    /// Keeps `pending_notification` for `smdp_address`, due at `now`.
    fn enqueue_notification(&self, smdp_address: &str, pending_notification: &[u8], now: i64) -> Result<(), EimError>;
    /// Claims up to `limit` notifications due at `now` (compare-and-set of their next attempt to
    /// `now + CLAIM_LEASE_MS`, so another node does not send them meanwhile).
    fn claim_due_notifications(&self, now: i64, limit: i64) -> Result<Vec<OutboxNotification>, EimError>;
    /// Removes a delivered (or given up) notification.
    fn remove_notification(&self, id: i64) -> Result<(), EimError>;
    /// Records a failed attempt and when to try again.
    fn notification_attempt_failed(&self, id: i64, error: &str, next_attempt_at: i64) -> Result<(), EimError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_seconds_up_to_an_hour() {
        assert_eq!(retry_delay_ms(1), 5_000);
        assert_eq!(retry_delay_ms(2), 10_000);
        assert_eq!(retry_delay_ms(5), 80_000);
        assert_eq!(retry_delay_ms(30), 3_600_000);
    }
}
