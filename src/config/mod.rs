//! rspd's one typed configuration: a TOML file (`--config`) plus `RSPD_…` environment
//! overrides, validated before anything starts.
//!
//! Every key, its default and its environment variable is listed in [`keys::KEYS`] and documented
//! in the README ("Configuration reference"). A bad value stops the process with exit code 2 and
//! one line that names the key and the problem ([`ConfigError`]).

mod content;
mod database;
mod eim;
mod error;
mod keys;
mod limits;
mod load;
mod model;
mod progress;
mod retention;
mod validate;

pub use content::ContentConfig;
pub use database::{DatabaseSettings, DatabaseUrl};
pub use eim::{EimConfig, EimKeyConfig};
pub use error::ConfigError;
pub use keys::{env_var_name, ConfigKey, ValueKind, KEYS};
pub use limits::LimitsConfig;
pub use load::{load, ConfigSource};
pub use model::{
    Config, DatabaseConfig, DeviceConfig, DpCredentialsConfig, LogConfig, LogFormat, MetricsConfig, OperatorConfig,
    OperatorIdentityConfig, PkiConfig, SmdpConfig,
};
pub use progress::{ProgressConfig, ProgressEndpointConfig, HANDLE_DOWNLOAD_PROGRESS_INFO_PATH};
pub use retention::{RetentionAges, RetentionConfig};
pub use validate::normalize_fingerprint;
