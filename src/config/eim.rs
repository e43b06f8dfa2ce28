//! The `[eim]` table: the eIM's identity, its signing keys per curve and its order timeouts
//! (SGP.32 v1.2 §2.11.1.2 EimConfigurationData: eimId, eimFqdn, PK.EIM.ECDSA).

use std::path::PathBuf;

use serde::Deserialize;

use super::error::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EimConfig {
    /// `eimId` (1 to 128 characters) in every signed package and in EimConfigurationData.
    pub eim_id: String,
    /// `eimFqdn` given to devices; default: the first SM-DP+ address (same device listener).
    pub fqdn: Option<String>,
    /// How long a queued package waits for the device's GetEimPackage before it expires.
    pub dispatch_timeout_secs: u64,
    /// How long a dispatched package waits for ProvideEimPackageResult before it expires.
    pub no_show_timeout_secs: u64,
    /// How often the dispatch / no-show timeouts are applied.
    pub expiry_interval_secs: u64,
    /// How often the orders job runs (campaign release, next steps, completion), in milliseconds.
    pub orders_interval_ms: u64,
    /// The eIM key on NIST P-256; default: generated under `<pki dir>/eim/`.
    pub nist: EimKeyConfig,
    /// The eIM key on brainpoolP256r1; default: generated under `<pki dir>/eim/`.
    pub brainpool: EimKeyConfig,
    /// Trust anchors (PEM certificates) for the TLS certificate of an external SM-DP+ the eIM relays an indirect
    /// download to over ES9+ (SGP.32 v1.2 §3.2.3); default: the test PKI's CIs while `pki.generate_test_pki` is on.
    pub smdp_tls_trust: Vec<PathBuf>,
    /// Timeout of one ES9+ request to an external SM-DP+, in seconds.
    pub smdp_timeout_secs: u64,
    /// External SM-DP+ addresses (`host[:port]`, case-insensitive host) the eIM may relay indirect downloads and
    /// notifications to; `["*"]`: any address with a trusted TLS chain. Default: none — a device cannot make the
    /// eIM open connections to hosts of its choosing unless the operator lists them.
    pub smdp_allowed_addresses: Vec<String>,
    /// Operator that eUICCs learned at their first authenticated contact are registered under; `None`: off.
    pub learn_operator: Option<String>,
}

impl Default for EimConfig {
    fn default() -> Self {
        EimConfig {
            eim_id: "rspd-eim".to_owned(),
            fqdn: None,
            dispatch_timeout_secs: 7 * 86_400,
            no_show_timeout_secs: 86_400,
            expiry_interval_secs: 30,
            orders_interval_ms: 1000,
            nist: EimKeyConfig::default(),
            brainpool: EimKeyConfig::default(),
            smdp_tls_trust: Vec::new(),
            smdp_timeout_secs: 30,
            smdp_allowed_addresses: Vec::new(),
            learn_operator: None,
        }
    }
}

/// One curve's eIM signing key (PEM private key) and, optionally, its certificate (PEM), which SGP.32 lets
/// an eIM hand out instead of a bare public key (`eimPublicKeyData eimCertificate`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct EimKeyConfig {
    pub key: Option<PathBuf>,
    pub cert: Option<PathBuf>,
}

impl EimConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let n = self.eim_id.chars().count();
        if !(1..=128).contains(&n) {
            return Err(ConfigError::invalid("eim.eim_id", "must be 1 to 128 characters (SGP.32 eimId)"));
        }
        if self.dispatch_timeout_secs == 0 {
            return Err(ConfigError::invalid("eim.dispatch_timeout_secs", "must be at least 1"));
        }
        if self.no_show_timeout_secs == 0 {
            return Err(ConfigError::invalid("eim.no_show_timeout_secs", "must be at least 1"));
        }
        if !(1..=3600).contains(&self.expiry_interval_secs) {
            return Err(ConfigError::invalid("eim.expiry_interval_secs", "must be between 1 and 3600"));
        }
        if !(10..=60_000).contains(&self.orders_interval_ms) {
            return Err(ConfigError::invalid("eim.orders_interval_ms", "must be between 10 and 60000"));
        }
        if !(1..=600).contains(&self.smdp_timeout_secs) {
            return Err(ConfigError::invalid("eim.smdp_timeout_secs", "must be between 1 and 600"));
        }
        if self.smdp_allowed_addresses.iter().any(|a| a.trim().is_empty() || a.contains('/')) {
            return Err(ConfigError::invalid(
                "eim.smdp_allowed_addresses",
                "each entry must be host[:port] or \"*\" (no scheme, no path)",
            ));
        }
        if self.learn_operator.as_deref().is_some_and(|o| o.trim().is_empty()) {
            return Err(ConfigError::invalid("eim.learn_operator", "must not be empty (omit it to turn learning off)"));
        }
        for (name, k) in [("nist", &self.nist), ("brainpool", &self.brainpool)] {
            if k.cert.is_some() && k.key.is_none() {
                return Err(ConfigError::invalid(format!("eim.{name}.cert"), format!("needs eim.{name}.key")));
            }
        }
        Ok(())
    }
}
