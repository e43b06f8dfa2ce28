//! The list of scalar configuration keys that an `RSPD_…` environment variable may set.
//!
//! The variable for key `a.b_c` is `RSPD_A_B_C` (upper case, `.` → `_`). Lists are written
//! comma-separated. Tables of tables (`[[operator.identities]]`, `[[operator.progress.endpoints]]`) are file-only.
//! `RSPD_CONFIG` names the config file; `RSPD_TEST_…` variables belong to the test suite.

/// How an environment value is turned into a TOML value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    String,
    Integer,
    Bool,
    /// Comma-separated strings.
    StringList,
}

/// One settable key.
#[derive(Debug, Clone, Copy)]
pub struct ConfigKey {
    pub path: &'static str,
    pub kind: ValueKind,
}

const fn key(path: &'static str, kind: ValueKind) -> ConfigKey {
    ConfigKey { path, kind }
}

/// Every scalar key of [`super::Config`]. Keep in step with the model and the README.
pub const KEYS: &[ConfigKey] = &[
    key("data_dir", ValueKind::String),
    key("workers", ValueKind::Integer),
    key("log.level", ValueKind::String),
    key("log.format", ValueKind::String),
    key("database.url", ValueKind::String),
    key("database.pool_size", ValueKind::Integer),
    key("database.connect_timeout_secs", ValueKind::Integer),
    key("database.sqlite_busy_timeout_ms", ValueKind::Integer),
    key("smdp.addresses", ValueKind::StringList),
    key("smdp.session_timeout_secs", ValueKind::Integer),
    key("smdp.expiry_interval_secs", ValueKind::Integer),
    key("smdp.trusted_ci", ValueKind::StringList),
    key("smdp.nist.dpauth_cert", ValueKind::String),
    key("smdp.nist.dpauth_key", ValueKind::String),
    key("smdp.nist.dppb_cert", ValueKind::String),
    key("smdp.nist.dppb_key", ValueKind::String),
    key("smdp.brainpool.dpauth_cert", ValueKind::String),
    key("smdp.brainpool.dpauth_key", ValueKind::String),
    key("smdp.brainpool.dppb_cert", ValueKind::String),
    key("smdp.brainpool.dppb_key", ValueKind::String),
    key("eim.eim_id", ValueKind::String),
    key("eim.fqdn", ValueKind::String),
    key("eim.dispatch_timeout_secs", ValueKind::Integer),
    key("eim.no_show_timeout_secs", ValueKind::Integer),
    key("eim.expiry_interval_secs", ValueKind::Integer),
    key("eim.nist.key", ValueKind::String),
    key("eim.nist.cert", ValueKind::String),
    key("eim.brainpool.key", ValueKind::String),
    key("eim.brainpool.cert", ValueKind::String),
    key("eim.smdp_tls_trust", ValueKind::StringList),
    key("eim.smdp_timeout_secs", ValueKind::Integer),
    key("eim.smdp_allowed_addresses", ValueKind::StringList),
    key("eim.learn_operator", ValueKind::String),
    key("device.listen", ValueKind::String),
    key("device.plain_http", ValueKind::Bool),
    key("device.tls_cert", ValueKind::String),
    key("device.tls_key", ValueKind::String),
    key("operator.listen", ValueKind::String),
    key("operator.tls_cert", ValueKind::String),
    key("operator.tls_key", ValueKind::String),
    key("operator.client_ca", ValueKind::StringList),
    key("operator.progress.poll_interval_ms", ValueKind::Integer),
    key("operator.progress.retry_initial_secs", ValueKind::Integer),
    key("operator.progress.retry_max_secs", ValueKind::Integer),
    key("operator.progress.alert_after_attempts", ValueKind::Integer),
    key("operator.progress.request_timeout_secs", ValueKind::Integer),
    key("retention.interval_secs", ValueKind::Integer),
    key("retention.batch_size", ValueKind::Integer),
    key("retention.processed_notification_age_secs", ValueKind::Integer),
    key("retention.delivered_bpp_grace_secs", ValueKind::Integer),
    key("retention.finished_eim_package_age_secs", ValueKind::Integer),
    key("retention.es2_call_age_secs", ValueKind::Integer),
    key("retention.delivered_outbox_age_secs", ValueKind::Integer),
    key("retention.idempotency_key_age_secs", ValueKind::Integer),
    key("content.max_package_bytes", ValueKind::Integer),
    key("content.max_upload_items", ValueKind::Integer),
    key("metrics.listen", ValueKind::String),
    key("pki.dir", ValueKind::String),
    key("pki.generate_test_pki", ValueKind::Bool),
    key("secrets.master_key_file", ValueKind::String),
    key("secrets.master_key", ValueKind::String),
    key("limits.source_requests_per_sec", ValueKind::Integer),
    key("limits.source_burst", ValueKind::Integer),
    key("limits.eid_requests_per_min", ValueKind::Integer),
    key("limits.eid_burst", ValueKind::Integer),
    key("limits.max_tracked_keys", ValueKind::Integer),
    key("limits.trusted_proxies", ValueKind::StringList),
    key("limits.max_open_sessions", ValueKind::Integer),
    key("limits.header_timeout_ms", ValueKind::Integer),
    key("limits.device_body_timeout_secs", ValueKind::Integer),
    key("limits.operator_body_timeout_secs", ValueKind::Integer),
    key("limits.device_max_connections", ValueKind::Integer),
    key("limits.operator_max_connections", ValueKind::Integer),
    key("limits.max_tls_handshakes", ValueKind::Integer),
    key("limits.operator_max_body_bytes", ValueKind::Integer),
];

/// `database.url` → `RSPD_DATABASE_URL`.
pub fn env_var_name(path: &str) -> String {
    format!("RSPD_{}", path.replace('.', "_").to_ascii_uppercase())
}

/// Environment variables with the `RSPD_` prefix that are not config keys.
pub(crate) fn is_reserved_env_var(var: &str) -> bool {
    var == "RSPD_CONFIG" || var.starts_with("RSPD_TEST_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn env_names_are_unique() {
        let names: HashSet<_> = KEYS.iter().map(|k| env_var_name(k.path)).collect();
        assert_eq!(names.len(), KEYS.len());
        assert_eq!(env_var_name("device.plain_http"), "RSPD_DEVICE_PLAIN_HTTP");
    }
}
