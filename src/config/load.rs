//! Loading: defaults ← TOML file ← `RSPD_…` environment, then typed deserialization and
//! validation. Errors name the key and where its value came from.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::error::ConfigError;
use super::keys::{env_var_name, is_reserved_env_var, ValueKind, KEYS};
use super::model::Config;
use super::validate::validate;

/// Where the configuration comes from.
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    /// The TOML file, if any (no file: defaults and environment only).
    pub file: Option<PathBuf>,
    /// `RSPD_…` variables (normally `std::env::vars()`); a map so tests can pass their own.
    pub env: BTreeMap<String, String>,
}

impl ConfigSource {
    /// The file given on the command line and this process's environment.
    pub fn from_process(file: Option<PathBuf>) -> Self {
        let env = std::env::vars().filter(|(k, _)| k.starts_with("RSPD_")).collect();
        ConfigSource { file, env }
    }
}

/// Loads and validates the configuration.
pub fn load(source: &ConfigSource) -> Result<Config, ConfigError> {
    let mut table = match &source.file {
        Some(path) => read_file(path)?,
        None => Table::new(),
    };
    let from_env = apply_env(&mut table, &source.env)?;

    let config: Config = serde_path_to_error::deserialize(Value::Table(table)).map_err(|e| {
        let key = e.path().to_string();
        let origin = if from_env.contains(&key) {
            Some(env_var_name(&key))
        } else {
            source.file.as_ref().map(|p| p.display().to_string())
        };
        ConfigError::Invalid { key, message: e.into_inner().message().to_owned(), origin }
    })?;
    validate(&config).map_err(|e| match e {
        ConfigError::Invalid { key, message, origin: None } => {
            let origin = from_env.contains(&key).then(|| env_var_name(&key));
            ConfigError::Invalid { key, message, origin }
        }
        other => other,
    })?;
    Ok(config)
}

fn read_file(path: &Path) -> Result<Table, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Unreadable { path: path.to_owned(), reason: e.to_string() })?;
    text.parse::<Table>().map_err(|e| {
        let line = e.span().map(|s| text[..s.start.min(text.len())].lines().count().max(1)).unwrap_or(1);
        ConfigError::Syntax { path: path.to_owned(), line, message: one_line(e.message()) }
    })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Writes every `RSPD_…` variable into the table; returns the key paths it set.
fn apply_env(table: &mut Table, env: &BTreeMap<String, String>) -> Result<HashSet<String>, ConfigError> {
    let mut set = HashSet::new();
    for (var, raw) in env {
        if !var.starts_with("RSPD_") || is_reserved_env_var(var) {
            continue;
        }
        let key = KEYS
            .iter()
            .find(|k| env_var_name(k.path) == *var)
            .ok_or_else(|| ConfigError::UnknownEnvVar { var: var.clone() })?;
        let value = env_value(key.kind, raw).map_err(|message| ConfigError::Invalid {
            key: key.path.to_owned(),
            message,
            origin: Some(var.clone()),
        })?;
        insert_path(table, key.path, value).map_err(|message| ConfigError::Invalid {
            key: key.path.to_owned(),
            message,
            origin: Some(var.clone()),
        })?;
        set.insert(key.path.to_owned());
    }
    Ok(set)
}

fn env_value(kind: ValueKind, raw: &str) -> Result<Value, String> {
    let raw = raw.trim();
    Ok(match kind {
        ValueKind::String => Value::String(raw.to_owned()),
        ValueKind::Integer => Value::Integer(raw.parse::<i64>().map_err(|_| format!("`{raw}` is not a whole number"))?),
        ValueKind::Bool => Value::Boolean(match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => return Err(format!("`{raw}` is not true or false")),
        }),
        ValueKind::StringList => Value::Array(
            raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| Value::String(s.to_owned())).collect(),
        ),
    })
}

fn insert_path(table: &mut Table, path: &str, value: Value) -> Result<(), String> {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap_or(path);
    let mut current = table;
    for part in parts {
        let entry = current.entry(part.to_owned()).or_insert_with(|| Value::Table(Table::new()));
        current = entry.as_table_mut().ok_or_else(|| format!("`{part}` in the config file is not a table"))?;
    }
    current.insert(last.to_owned(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn defaults_work_without_a_file() {
        let c = load(&ConfigSource::default()).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("./rspd-data"));
        assert_eq!(c.database_url().to_string(), "sqlite://./rspd-data/rspd.db");
        assert_eq!(c.pki_dir(), PathBuf::from("./rspd-data/pki"));
        assert_eq!(c.smdp_addresses(), vec!["localhost:8443".to_owned()]);
        assert!(!c.device.plain_http);
    }

    #[test]
    fn env_overrides_file() {
        let f = file("data_dir = \"/srv/rspd\"\n[device]\nlisten = \"127.0.0.1:9000\"\n");
        let src = ConfigSource {
            file: Some(f.path().to_owned()),
            env: env(&[
                ("RSPD_DEVICE_PLAIN_HTTP", "true"),
                ("RSPD_DATABASE_URL", "postgres://u:pw@db/rspd"),
                ("RSPD_SMDP_ADDRESSES", "a.example.com, b.example.com:8443"),
                ("RSPD_TEST_POSTGRES_URL", "ignored"),
            ]),
        };
        let c = load(&src).unwrap();
        assert!(c.device.plain_http);
        assert_eq!(c.device.listen.port(), 9000);
        assert_eq!(c.database_url().backend_name(), "postgres");
        assert_eq!(c.smdp_addresses(), vec!["a.example.com", "b.example.com:8443"]);
        assert_eq!(c.pki_dir(), PathBuf::from("/srv/rspd/pki"));
    }

    #[test]
    fn bad_values_name_the_key_and_origin() {
        let f = file("[device]\nlisten = \"not an address\"\n");
        let err = load(&ConfigSource { file: Some(f.path().to_owned()), env: BTreeMap::new() }).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("device.listen: "), "{msg}");
        assert!(!msg.contains('\n'));

        let err = load(&ConfigSource { file: None, env: env(&[("RSPD_DATABASE_POOL_SIZE", "many")]) }).unwrap_err();
        assert_eq!(err.to_string(), "database.pool_size: `many` is not a whole number (from RSPD_DATABASE_POOL_SIZE)");

        let err = load(&ConfigSource { file: None, env: env(&[("RSPD_DATABASE_URL", "mysql://x")]) }).unwrap_err();
        assert!(err.to_string().starts_with("database.url: "), "{err}");
        assert!(err.to_string().ends_with("(from RSPD_DATABASE_URL)"), "{err}");

        let err = load(&ConfigSource { file: None, env: env(&[("RSPD_DEVICE_LISTN", "x")]) }).unwrap_err();
        assert!(err.to_string().contains("RSPD_DEVICE_LISTN"), "{err}");
    }

    #[test]
    fn unknown_keys_and_syntax_errors_are_one_line() {
        let f = file("[device]\nlisen = \"127.0.0.1:1\"\n");
        let msg =
            load(&ConfigSource { file: Some(f.path().to_owned()), env: BTreeMap::new() }).unwrap_err().to_string();
        assert!(msg.starts_with("device.lisen: unknown field `lisen`"), "{msg}");

        let f = file("data_dir = \"x\"\n[device\n");
        let msg =
            load(&ConfigSource { file: Some(f.path().to_owned()), env: BTreeMap::new() }).unwrap_err().to_string();
        assert!(msg.contains("line 2"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");

        let missing = ConfigSource { file: Some("/nonexistent/rspd.toml".into()), env: BTreeMap::new() };
        assert!(load(&missing).unwrap_err().to_string().starts_with("cannot read config file /nonexistent/rspd.toml"));
    }
}
