//! The `[operator.progress]` table: where and how rspd calls each operator's ES2+.HandleDownloadProgressInfo
//! (SGP.22 v2.5 §5.3.5; JSON binding §6.5.2) as a mutual-TLS client, and how it retries.
//!
//! Delivery never gives up: an undeliverable event stays in the outbox and is retried at the maximum backoff
//! until the operator's endpoint takes it; after `alert_after_attempts` failures it counts as stuck (gauge
//! `rspd_es2_progress_stuck`, a warning per attempt). An operator without an endpoint gets no events.

use std::path::PathBuf;

use serde::Deserialize;

use super::error::ConfigError;

/// The path of the function under an operator's ES2+ base URL (SGP.22 v2.5 §6.5, ES2+ function paths).
pub const HANDLE_DOWNLOAD_PROGRESS_INFO_PATH: &str = "/gsma/rsp2/es2plus/handleDownloadProgressInfo";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProgressConfig {
    /// How often the outbox is polled for due events (new events also wake the worker at once).
    pub poll_interval_ms: u64,
    /// The first retry waits this long; each further failure doubles it …
    pub retry_initial_secs: u64,
    /// … up to this, then every retry waits this long (forever: nothing is dropped).
    pub retry_max_secs: u64,
    /// After this many failed attempts an event counts as stuck (gauge, warning log).
    pub alert_after_attempts: u32,
    /// Connect + response timeout of one call.
    pub request_timeout_secs: u64,
    /// One ES2+ callback endpoint per operator (file only: `[[operator.progress.endpoints]]`).
    pub endpoints: Vec<ProgressEndpointConfig>,
}

impl Default for ProgressConfig {
    fn default() -> Self {
        ProgressConfig {
            poll_interval_ms: 1000,
            retry_initial_secs: 5,
            retry_max_secs: 600,
            alert_after_attempts: 10,
            request_timeout_secs: 10,
            endpoints: Vec::new(),
        }
    }
}

/// One operator's ES2+ endpoint as rspd calls it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgressEndpointConfig {
    /// The operator whose profiles' events go here (as in `[[operator.identities]]`, `rspd order create --operator`).
    pub operator_id: String,
    /// The operator's ES2+ base URL, `https://host[:port][/prefix]`; rspd appends
    /// `/gsma/rsp2/es2plus/handleDownloadProgressInfo`.
    pub url: String,
    /// PEM certificate chain rspd presents to the operator (mutual TLS).
    pub client_cert: PathBuf,
    /// PEM private key of `client_cert`.
    pub client_key: PathBuf,
    /// PEM file(s) of the CA(s) that issue the operator's server certificate (no system roots are used).
    pub server_ca: Vec<PathBuf>,
    /// `functionRequesterIdentifier` in the request header; default `rspd`.
    #[serde(default)]
    pub function_requester_identifier: Option<String>,
}

impl ProgressEndpointConfig {
    /// The full function URL.
    pub fn function_url(&self) -> String {
        format!("{}{HANDLE_DOWNLOAD_PROGRESS_INFO_PATH}", self.url.trim_end_matches('/'))
    }
}

impl ProgressConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(10..=60_000).contains(&self.poll_interval_ms) {
            return Err(ConfigError::invalid("operator.progress.poll_interval_ms", "must be between 10 and 60000"));
        }
        if !(1..=86_400).contains(&self.retry_initial_secs) {
            return Err(ConfigError::invalid("operator.progress.retry_initial_secs", "must be between 1 and 86400"));
        }
        if self.retry_max_secs < self.retry_initial_secs || self.retry_max_secs > 86_400 {
            return Err(ConfigError::invalid(
                "operator.progress.retry_max_secs",
                "must be between operator.progress.retry_initial_secs and 86400",
            ));
        }
        if self.alert_after_attempts == 0 {
            return Err(ConfigError::invalid("operator.progress.alert_after_attempts", "must be at least 1"));
        }
        if !(1..=300).contains(&self.request_timeout_secs) {
            return Err(ConfigError::invalid("operator.progress.request_timeout_secs", "must be between 1 and 300"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, e) in self.endpoints.iter().enumerate() {
            let key = format!("operator.progress.endpoints[{i}]");
            if e.operator_id.is_empty()
                || !e.operator_id.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            {
                return Err(ConfigError::invalid(
                    format!("{key}.operator_id"),
                    "must be non-empty letters, digits, `.`, `_` or `-`",
                ));
            }
            if !seen.insert(e.operator_id.as_str()) {
                return Err(ConfigError::invalid(
                    format!("{key}.operator_id"),
                    format!("operator `{}` has two endpoints", e.operator_id),
                ));
            }
            check_base_url(&e.url).map_err(|m| ConfigError::invalid(format!("{key}.url"), m))?;
            if e.server_ca.is_empty() {
                return Err(ConfigError::invalid(
                    format!("{key}.server_ca"),
                    "give the CA file(s) of the operator's server certificate",
                ));
            }
            if let Some(id) = &e.function_requester_identifier {
                if id.trim().is_empty() {
                    return Err(ConfigError::invalid(
                        format!("{key}.function_requester_identifier"),
                        "must not be empty",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// `https://host[:port][/prefix]`, no query, fragment or credentials.
fn check_base_url(url: &str) -> Result<(), String> {
    let Some(rest) = url.strip_prefix("https://") else {
        return Err(format!("`{url}` must start with https:// (the call uses mutual TLS)"));
    };
    let authority = rest.split('/').next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err(format!("`{url}` has no host (or carries credentials)"));
    }
    if url.contains('?') || url.contains('#') || url.chars().any(char::is_whitespace) {
        return Err(format!("`{url}` must be a base URL without query, fragment or spaces"));
    }
    if url.trim_end_matches('/').ends_with("handleDownloadProgressInfo") {
        return Err(format!("`{url}`: give the base URL; rspd appends {HANDLE_DOWNLOAD_PROGRESS_INFO_PATH}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert!(check_base_url("https://es2.acme.example:8443").is_ok());
        assert!(check_base_url("https://es2.acme.example/aep/").is_ok());
        assert!(check_base_url("http://es2.acme.example").is_err());
        assert!(check_base_url("https://u:p@es2.acme.example").is_err());
        assert!(check_base_url("https://x/gsma/rsp2/es2plus/handleDownloadProgressInfo").is_err());
        let e = ProgressEndpointConfig {
            operator_id: "acme".into(),
            url: "https://h:1/p/".into(),
            client_cert: "c".into(),
            client_key: "k".into(),
            server_ca: vec!["ca".into()],
            function_requester_identifier: None,
        };
        assert_eq!(e.function_url(), "https://h:1/p/gsma/rsp2/es2plus/handleDownloadProgressInfo");
    }

    #[test]
    fn retry_bounds_are_checked() {
        let c = ProgressConfig { retry_initial_secs: 10, retry_max_secs: 5, ..ProgressConfig::default() };
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "operator.progress.retry_max_secs: must be between operator.progress.retry_initial_secs and 86400"
        );
    }
}
