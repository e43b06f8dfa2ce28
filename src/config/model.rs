//! The configuration model: what each key means and its default.
//!
//! Values that default from another key (the database file and the PKI directory live under
//! `data_dir`; the SM-DP+ address follows the device port) are resolved by accessor methods, so
//! there is one place that knows each rule.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::database::{DatabaseSettings, DatabaseUrl};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Directory for the SQLite database and the generated test PKI.
    pub data_dir: PathBuf,
    /// actix-web worker threads per listener; 0 = one per CPU core.
    pub workers: usize,
    pub log: LogConfig,
    pub database: DatabaseConfig,
    pub smdp: SmdpConfig,
    pub eim: super::EimConfig,
    pub device: DeviceConfig,
    pub operator: OperatorConfig,
    pub metrics: MetricsConfig,
    pub pki: PkiConfig,
    pub secrets: SecretsConfig,
    /// How long finished rows are kept (`[retention]`).
    pub retention: super::RetentionConfig,
    /// Size caps on operator uploads (`[content]`).
    pub content: super::ContentConfig,
    /// Rates, timeouts and caps against anonymous growth and slow clients (issue 10 items 4–5).
    pub limits: super::LimitsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./rspd-data"),
            workers: 0,
            log: LogConfig::default(),
            database: DatabaseConfig::default(),
            smdp: SmdpConfig::default(),
            eim: super::EimConfig::default(),
            device: DeviceConfig::default(),
            operator: OperatorConfig::default(),
            metrics: MetricsConfig::default(),
            pki: PkiConfig::default(),
            secrets: SecretsConfig::default(),
            retention: super::RetentionConfig::default(),
            content: super::ContentConfig::default(),
            limits: super::LimitsConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter: `info`, `debug`, or per module, e.g. `info,rspd::store=debug`.
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { level: "info".to_owned(), format: LogFormat::Text }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://…`; default `sqlite://<data_dir>/rspd.db`.
    #[serde(deserialize_with = "de_database_url")]
    pub url: Option<DatabaseUrl>,
    pub pool_size: u32,
    pub connect_timeout_secs: u64,
    pub sqlite_busy_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig { url: None, pool_size: 8, connect_timeout_secs: 5, sqlite_busy_timeout_ms: 5000 }
    }
}

fn de_database_url<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<DatabaseUrl>, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().is_empty() {
        return Ok(None);
    }
    DatabaseUrl::parse(&s).map(Some).map_err(serde::de::Error::custom)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmdpConfig {
    /// The SM-DP+ address(es) devices use (`host` or `host:port`, SGP.22 §4.1 activation code);
    /// default `localhost:<device port>`.
    pub addresses: Vec<String>,
    /// How long a download session may take from InitiateAuthentication to the BPP (LPAs can be slow).
    pub session_timeout_secs: u64,
    /// How often expired sessions are cleaned up (and unprocessed notifications retried).
    pub expiry_interval_secs: u64,
    /// PEM/DER CI certificates whose eUICCs are accepted; default: the test PKI's CIs.
    pub trusted_ci: Vec<PathBuf>,
    /// DPauth/DPpb credentials on NIST P-256; default: the test PKI's.
    pub nist: DpCredentialsConfig,
    /// DPauth/DPpb credentials on brainpoolP256r1; default: the test PKI's.
    pub brainpool: DpCredentialsConfig,
}

impl Default for SmdpConfig {
    fn default() -> Self {
        SmdpConfig {
            addresses: Vec::new(),
            session_timeout_secs: 900,
            expiry_interval_secs: 30,
            trusted_ci: Vec::new(),
            nist: DpCredentialsConfig::default(),
            brainpool: DpCredentialsConfig::default(),
        }
    }
}

/// One curve's SM-DP+ signing credentials (SGP.22 §4.5.2.1): PEM certificates and PEM private keys.
/// All four set, or none (then the test PKI's are used when it is enabled).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DpCredentialsConfig {
    pub dpauth_cert: Option<PathBuf>,
    pub dpauth_key: Option<PathBuf>,
    pub dppb_cert: Option<PathBuf>,
    pub dppb_key: Option<PathBuf>,
}

impl DpCredentialsConfig {
    /// Whether any of the four files is configured.
    pub fn is_configured(&self) -> bool {
        self.dpauth_cert.is_some() || self.dpauth_key.is_some() || self.dppb_cert.is_some() || self.dppb_key.is_some()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeviceConfig {
    /// Device listener (ES9+, ESipa): server-authenticated TLS.
    pub listen: SocketAddr,
    /// Serve plain HTTP (only behind a TLS-terminating load balancer).
    pub plain_http: bool,
    /// PEM certificate chain (DP TLS first); default: the test PKI's NIST DP TLS certificate.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        DeviceConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            plain_http: false,
            tls_cert: None,
            tls_key: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OperatorConfig {
    /// Operator listener (ES2+, fleet API, admin): mutual TLS.
    pub listen: SocketAddr,
    /// PEM server certificate chain; default: the device listener's.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// PEM files with the CA certificates that issue operator client certificates.
    pub client_ca: Vec<PathBuf>,
    /// Which verified client certificate is which operator.
    pub identities: Vec<OperatorIdentityConfig>,
    /// ES2+.HandleDownloadProgressInfo callbacks to the operators (rspd as mutual-TLS client).
    pub progress: super::ProgressConfig,
}

impl Default for OperatorConfig {
    fn default() -> Self {
        OperatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8444)),
            tls_cert: None,
            tls_key: None,
            client_ca: Vec::new(),
            identities: Vec::new(),
            progress: super::ProgressConfig::default(),
        }
    }
}

/// Maps one client certificate to an operator id: by subject (compared RDN by RDN, see
/// `pki::distinguished_name`) or by SHA-256 fingerprint.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OperatorIdentityConfig {
    pub operator_id: String,
    /// Subject distinguished name as RFC 4514 text, e.g. `CN=acme-backend,O=ACME`; one value per RDN,
    /// each attribute type once.
    #[serde(default)]
    pub subject: Option<String>,
    /// SHA-256 of the certificate DER, hex (colons allowed).
    #[serde(default)]
    pub fingerprint_sha256: Option<String>,
    /// PEM file with the CA that must have issued this identity's certificate (recommended with
    /// `subject`: a subject then only counts when this operator's own CA vouches for it). It is added
    /// to the listener's trusted client CAs.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// An administrator of this rspd (not of one operator): may read `/metrics` on the operator
    /// listener, which shows every operator's series.
    #[serde(default)]
    pub admin: bool,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Optional plain-HTTP listener for `/metrics`, `/healthz`, `/readyz` (e.g. `127.0.0.1:9464`).
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PkiConfig {
    /// Where the test PKI is generated and read; default `<data_dir>/pki`.
    pub dir: Option<PathBuf>,
    /// Generate a test PKI on first start when no TLS certificates are configured.
    pub generate_test_pki: bool,
}

impl Default for PkiConfig {
    fn default() -> Self {
        PkiConfig { dir: None, generate_test_pki: true }
    }
}

/// Secrets at rest (profile packages, templates, personalization data): the AES-256-GCM master key(s).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsConfig {
    /// Key file, one 32-byte key (hex or base64) per line, the last active; default
    /// `<data_dir>/secrets/master.key`, generated (mode 0600) when that default file is missing.
    pub master_key_file: Option<PathBuf>,
    /// The key(s) themselves, comma-separated, the last active (normally `RSPD_SECRETS_MASTER_KEY`); wins over
    /// the file.
    pub master_key: Option<RedactedString>,
}

/// A string that `Debug` never shows (a key in the config).
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct RedactedString(pub String);

impl std::fmt::Debug for RedactedString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Config {
    /// Where the secrets master keys come from.
    pub fn secrets_settings(&self) -> crate::secrets::master_key::SecretsSettings {
        let default_file = self.data_dir.join("secrets").join("master.key");
        crate::secrets::master_key::SecretsSettings {
            master_key: self.secrets.master_key.as_ref().map(|k| k.0.clone()).filter(|k| !k.trim().is_empty()),
            file_is_default: self.secrets.master_key_file.is_none(),
            master_key_file: self.secrets.master_key_file.clone().unwrap_or(default_file),
        }
    }

    pub fn database_url(&self) -> DatabaseUrl {
        self.database.url.clone().unwrap_or_else(|| DatabaseUrl::Sqlite { path: self.data_dir.join("rspd.db") })
    }

    pub fn database_settings(&self) -> DatabaseSettings {
        DatabaseSettings {
            url: self.database_url(),
            pool_size: self.database.pool_size,
            connect_timeout: Duration::from_secs(self.database.connect_timeout_secs),
            sqlite_busy_timeout: Duration::from_millis(self.database.sqlite_busy_timeout_ms),
        }
    }

    pub fn pki_dir(&self) -> PathBuf {
        self.pki.dir.clone().unwrap_or_else(|| self.data_dir.join("pki"))
    }

    /// The SM-DP+ addresses, defaulting to `localhost:<device port>` (`localhost` when the
    /// device port is 0, i.e. chosen at bind time).
    pub fn smdp_addresses(&self) -> Vec<String> {
        if self.smdp.addresses.is_empty() {
            match self.device.listen.port() {
                0 => vec!["localhost".to_owned()],
                port => vec![format!("localhost:{port}")],
            }
        } else {
            self.smdp.addresses.clone()
        }
    }
}

impl Config {
    /// The eIM's `eimFqdn`: configured, else the first SM-DP+ address.
    pub fn eim_fqdn(&self) -> String {
        self.eim.fqdn.clone().unwrap_or_else(|| self.smdp_addresses().into_iter().next().unwrap_or_default())
    }
}
