//! The `[limits]` table: what an anonymous or slow caller may cost (issue 10 items 4 and 5).
//!
//! - Rates (item 4): per source address on the device listener (ES9+, ESipa) and per EID where the EID becomes
//!   known (ES9+ AuthenticateClient after the eUICC's signature verified, SGP.22 v2.5 §5.6.3; ESipa GetEimPackage,
//!   SGP.32 v1.2 §5.14.5). Over the rate: HTTP 429 with `Retry-After`. `0` turns a limit off.
//! - Sessions (item 4): download sessions that have not bound an order are capped (InitiateAuthentication is
//!   refused with HTTP 503 while the cap is reached) and deleted once expired.
//! - Slow clients and connections (item 5): header and body read timeouts, connections per listener,
//!   concurrent TLS handshakes, the operator's largest request body.
//!
//! Defaults are far above what an honest fleet sends; every refusal is counted in `rspd_refused_total{listener,reason}`.

use serde::Deserialize;

use super::error::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Device-listener requests per second from one source address (IPv6: one /64); 0 = off.
    pub source_requests_per_sec: u32,
    /// Requests one source address may send at once before `source_requests_per_sec` applies.
    pub source_burst: u32,
    /// ES9+ AuthenticateClient / ESipa GetEimPackage calls per minute for one EID; 0 = off.
    pub eid_requests_per_min: u32,
    /// Calls one EID may make at once before `eid_requests_per_min` applies.
    pub eid_burst: u32,
    /// Most addresses (or EIDs) each limiter tracks; past it, new keys share one bucket (memory stays bounded).
    pub max_tracked_keys: usize,
    /// Load balancers / reverse proxies (IP addresses) whose `X-Forwarded-For` names the client. Empty: the
    /// TCP peer is the client (behind a balancer that means one limit for all devices — list the balancer).
    pub trusted_proxies: Vec<String>,
    /// Download sessions without a bound order (InitiateAuthentication done, no AuthenticateClient yet, or
    /// refused), kept until their expiry; InitiateAuthentication is refused while this many exist; 0 = off.
    pub max_open_sessions: u64,
    /// Time allowed to send the request head (line and headers), in milliseconds.
    pub header_timeout_ms: u64,
    /// Time allowed to send a device-listener request body, from the end of the headers.
    pub device_body_timeout_secs: u64,
    /// Time allowed to send an operator-listener request body (uploads are large).
    pub operator_body_timeout_secs: u64,
    /// Open connections on the device listener (all workers); new ones wait in the accept queue past it.
    pub device_max_connections: usize,
    /// Open connections on the operator listener (all workers).
    pub operator_max_connections: usize,
    /// TLS handshakes in progress per worker thread (each listener).
    pub max_tls_handshakes: usize,
    /// Largest operator-listener request body in bytes (inventory uploads, eIM imports); bodies are buffered whole.
    pub operator_max_body_bytes: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            source_requests_per_sec: 100,
            source_burst: 1_000,
            eid_requests_per_min: 60,
            eid_burst: 30,
            max_tracked_keys: 100_000,
            trusted_proxies: Vec::new(),
            max_open_sessions: 50_000,
            header_timeout_ms: 5_000,
            device_body_timeout_secs: 30,
            operator_body_timeout_secs: 300,
            device_max_connections: 10_000,
            operator_max_connections: 1_000,
            max_tls_handshakes: 256,
            operator_max_body_bytes: 32 * 1024 * 1024,
        }
    }
}

impl LimitsConfig {
    /// The trusted proxies, parsed (validation already checked them).
    pub fn trusted_proxy_addrs(&self) -> Vec<std::net::IpAddr> {
        self.trusted_proxies.iter().filter_map(|p| p.trim().parse().ok()).collect()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.source_requests_per_sec > 0 && self.source_burst == 0 {
            return Err(ConfigError::invalid("limits.source_burst", "must be at least 1 when the rate is on"));
        }
        if self.eid_requests_per_min > 0 && self.eid_burst == 0 {
            return Err(ConfigError::invalid("limits.eid_burst", "must be at least 1 when the rate is on"));
        }
        if !(1..=10_000_000).contains(&self.max_tracked_keys) {
            return Err(ConfigError::invalid("limits.max_tracked_keys", "must be between 1 and 10000000"));
        }
        for p in &self.trusted_proxies {
            if p.trim().parse::<std::net::IpAddr>().is_err() {
                return Err(ConfigError::invalid(
                    "limits.trusted_proxies",
                    format!("`{p}` is not an IP address (one address per entry, no ranges)"),
                ));
            }
        }
        if !(100..=600_000).contains(&self.header_timeout_ms) {
            return Err(ConfigError::invalid("limits.header_timeout_ms", "must be between 100 and 600000"));
        }
        for (key, v) in [
            ("limits.device_body_timeout_secs", self.device_body_timeout_secs),
            ("limits.operator_body_timeout_secs", self.operator_body_timeout_secs),
        ] {
            if !(1..=86_400).contains(&v) {
                return Err(ConfigError::invalid(key, "must be between 1 and 86400"));
            }
        }
        for (key, v) in [
            ("limits.device_max_connections", self.device_max_connections),
            ("limits.operator_max_connections", self.operator_max_connections),
        ] {
            if !(1..=1_000_000).contains(&v) {
                return Err(ConfigError::invalid(key, "must be between 1 and 1000000"));
            }
        }
        if !(1..=65_536).contains(&self.max_tls_handshakes) {
            return Err(ConfigError::invalid("limits.max_tls_handshakes", "must be between 1 and 65536"));
        }
        if !(64 * 1024..=1024 * 1024 * 1024).contains(&self.operator_max_body_bytes) {
            return Err(ConfigError::invalid("limits.operator_max_body_bytes", "must be between 65536 and 1073741824"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        LimitsConfig::default().validate().unwrap();
        let c = LimitsConfig { trusted_proxies: vec!["10.0.0.0/8".into()], ..LimitsConfig::default() };
        assert!(c.validate().unwrap_err().to_string().starts_with("limits.trusted_proxies: "));
        let c = LimitsConfig { device_body_timeout_secs: 0, ..LimitsConfig::default() };
        assert!(c.validate().unwrap_err().to_string().starts_with("limits.device_body_timeout_secs: "));
        let c = LimitsConfig { source_requests_per_sec: 0, source_burst: 0, ..LimitsConfig::default() };
        c.validate().unwrap();
        let c = LimitsConfig { trusted_proxies: vec![" 10.1.2.3".into(), "::1".into()], ..LimitsConfig::default() };
        assert_eq!(c.trusted_proxy_addrs().len(), 2);
    }
}
