//! Configuration errors: one line each, naming the key (and the environment variable or file
//! it came from) and the problem.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },

    #[error("config file {path} line {line}: {message}")]
    Syntax { path: PathBuf, line: usize, message: String },

    #[error("{key}: {message}{}", origin_suffix(.origin))]
    Invalid { key: String, message: String, origin: Option<String> },

    #[error(
        "unknown environment variable {var}: no config key of that name (see the README's configuration reference)"
    )]
    UnknownEnvVar { var: String },
}

fn origin_suffix(origin: &Option<String>) -> String {
    match origin {
        Some(o) => format!(" (from {o})"),
        None => String::new(),
    }
}

impl ConfigError {
    pub fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid { key: key.into(), message: message.into(), origin: None }
    }
}
