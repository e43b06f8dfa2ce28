//! The `[retention]` table (issue 10 item 8): how long finished rows are kept, and how often the retention job
//! runs (`jobs::retention`, `store::retention`). An age of 0 keeps those rows forever.

use serde::Deserialize;

use super::error::ConfigError;

/// The age (ms) after which each kind of finished row goes; `None` keeps it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionAges {
    pub processed_notifications_ms: Option<i64>,
    pub delivered_bpps_ms: Option<i64>,
    pub finished_eim_ms: Option<i64>,
    pub es2_calls_ms: Option<i64>,
    pub delivered_outbox_ms: Option<i64>,
    pub idempotency_keys_ms: Option<i64>,
}

const DAY: u64 = 86_400;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// How often the job runs.
    pub interval_secs: u64,
    /// Rows per delete transaction.
    pub batch_size: u64,
    /// HandleNotification inbox rows (SGP.22 v2.5 §5.6.4), counted from their processing.
    pub processed_notification_age_secs: u64,
    /// The stored BPP of a finished download session (installed, failed, cancelled or expired): it holds the
    /// subscriber's keys encrypted for one eUICC and is only kept for a retried GetBoundProfilePackage.
    pub delivered_bpp_grace_secs: u64,
    /// eIM orders and packages in a final state (SGP.32 v1.2 §2.11.2.1), counted from when they finished.
    pub finished_eim_package_age_secs: u64,
    /// ES2+ call records (the answer a retried functionCallIdentifier gets), counted from the call.
    pub es2_call_age_secs: u64,
    /// Delivered ES2+ HandleDownloadProgressInfo outbox rows, counted from their delivery.
    pub delivered_outbox_age_secs: u64,
    /// Operator API `Idempotency-Key`s and their answers, counted from the first request.
    pub idempotency_key_age_secs: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            interval_secs: 3600,
            batch_size: 1000,
            processed_notification_age_secs: 30 * DAY,
            delivered_bpp_grace_secs: DAY,
            finished_eim_package_age_secs: 90 * DAY,
            es2_call_age_secs: 30 * DAY,
            delivered_outbox_age_secs: 30 * DAY,
            idempotency_key_age_secs: 7 * DAY,
        }
    }
}

impl RetentionConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=86_400).contains(&self.interval_secs) {
            return Err(ConfigError::invalid("retention.interval_secs", "must be between 1 and 86400"));
        }
        if !(1..=100_000).contains(&self.batch_size) {
            return Err(ConfigError::invalid("retention.batch_size", "must be between 1 and 100000"));
        }
        let ten_years = 3650 * DAY;
        for (key, value) in [
            ("retention.processed_notification_age_secs", self.processed_notification_age_secs),
            ("retention.delivered_bpp_grace_secs", self.delivered_bpp_grace_secs),
            ("retention.finished_eim_package_age_secs", self.finished_eim_package_age_secs),
            ("retention.es2_call_age_secs", self.es2_call_age_secs),
            ("retention.delivered_outbox_age_secs", self.delivered_outbox_age_secs),
            ("retention.idempotency_key_age_secs", self.idempotency_key_age_secs),
        ] {
            if value > ten_years {
                return Err(ConfigError::invalid(key, "must be at most 315360000 (ten years); 0 keeps the rows"));
            }
        }
        Ok(())
    }

    /// The ages in the store's terms (ms; 0 → kept).
    pub fn ages(&self) -> RetentionAges {
        let ms = |secs: u64| (secs > 0).then(|| i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX));
        RetentionAges {
            processed_notifications_ms: ms(self.processed_notification_age_secs),
            delivered_bpps_ms: ms(self.delivered_bpp_grace_secs),
            finished_eim_ms: ms(self.finished_eim_package_age_secs),
            es2_calls_ms: ms(self.es2_call_age_secs),
            delivered_outbox_ms: ms(self.delivered_outbox_age_secs),
            idempotency_keys_ms: ms(self.idempotency_key_age_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_zero_keeps() {
        let mut c = RetentionConfig::default();
        c.validate().unwrap();
        assert_eq!(c.ages().delivered_bpps_ms, Some(86_400_000));
        c.es2_call_age_secs = 0;
        assert_eq!(c.ages().es2_calls_ms, None);
        c.interval_secs = 0;
        assert_eq!(c.validate().unwrap_err().to_string(), "retention.interval_secs: must be between 1 and 86400");
    }
}
