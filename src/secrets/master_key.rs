//! Where the master keys come from: `secrets.master_key` (usually `RSPD_SECRETS_MASTER_KEY`) or the key file
//! `secrets.master_key_file` (default `<data_dir>/secrets/master.key`, created with mode 0600 on first use).
//!
//! Each key is 32 bytes in hex (64 digits) or standard base64. The file holds one key per line (`#` comments);
//! the variable holds one or more keys separated by commas. In both, the **last** key is the active one; the
//! others only open rows that `rspd keys rotate` has not re-encrypted yet.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::{Keyring, MasterKey, SecretsError, KEY_LEN};

/// Where the keys are configured (built from the config, see `Config::secrets_settings`).
#[derive(Clone)]
pub struct SecretsSettings {
    /// Keys given as a value (`secrets.master_key` / `RSPD_SECRETS_MASTER_KEY`); wins over the file.
    pub master_key: Option<String>,
    /// The key file.
    pub master_key_file: PathBuf,
    /// Whether the file path is the default under `data_dir` (only then is a missing file created).
    pub file_is_default: bool,
}

impl std::fmt::Debug for SecretsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsSettings")
            .field("master_key", &self.master_key.as_ref().map(|_| "<redacted>"))
            .field("master_key_file", &self.master_key_file)
            .finish()
    }
}

/// Where a loaded keyring came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `secrets.master_key` (environment or config file value): cannot be changed by rspd.
    Value,
    File(PathBuf),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Value => f.write_str("secrets.master_key"),
            KeySource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A keyring and where it came from; `created` when this call generated the key file.
#[derive(Debug, Clone)]
pub struct LoadedKeyring {
    pub keyring: Keyring,
    pub source: KeySource,
    pub created: bool,
}

/// Loads the keyring; when the default key file is missing, generates a key and writes it (mode 0600).
pub fn load_or_create(settings: &SecretsSettings) -> Result<LoadedKeyring, SecretsError> {
    if let Some(value) = &settings.master_key {
        let keys = parse_keys(value, ',').map_err(|reason| key_source_error(&KeySource::Value, reason))?;
        return Ok(LoadedKeyring { keyring: Keyring::new(keys)?, source: KeySource::Value, created: false });
    }
    let path = &settings.master_key_file;
    let source = KeySource::File(path.clone());
    if !path.exists() {
        if !settings.file_is_default {
            return Err(key_source_error(&source, "file not found".into()));
        }
        let key = MasterKey::generate()?;
        write_key_file(path, std::slice::from_ref(&key))?;
        tracing::debug!(file = %path.display(), key_id = %key.id(), "generated a new secrets master key");
        return Ok(LoadedKeyring { keyring: Keyring::new(vec![key])?, source, created: true });
    }
    let keys = read_key_file(path)?;
    Ok(LoadedKeyring { keyring: Keyring::new(keys)?, source, created: false })
}

/// The keys of a key file.
pub fn read_key_file(path: &Path) -> Result<Vec<MasterKey>, SecretsError> {
    let source = KeySource::File(path.to_owned());
    let text = std::fs::read_to_string(path).map_err(|e| key_source_error(&source, format!("cannot read: {e}")))?;
    let keys = parse_keys(&text, '\n').map_err(|reason| key_source_error(&source, reason))?;
    if keys.is_empty() {
        return Err(key_source_error(&source, "no key in the file".into()));
    }
    Ok(keys)
}

/// Writes the key file atomically (temporary file with mode 0600, fsync, rename); the last key is active.
pub fn write_key_file(path: &Path, keys: &[MasterKey]) -> Result<(), SecretsError> {
    let source = KeySource::File(path.to_owned());
    let fail = |what: &str, e: std::io::Error| key_source_error(&source, format!("cannot {what}: {e}"));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail("create its directory", e))?;
    }
    let mut text = String::from(
        "# rspd secrets master keys (AES-256, hex), one per line; the LAST line is the active key.\n\
         # Keep this file secret and backed up: sealed profiles cannot be read without it.\n",
    );
    for key in keys {
        text.push_str(&format!("{}  # key id {}\n", key.to_hex(), key.id()));
    }
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(|e| fail("write", e))?;
    file.write_all(text.as_bytes()).map_err(|e| fail("write", e))?;
    file.sync_all().map_err(|e| fail("sync", e))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(|e| fail("replace", e))?;
    Ok(())
}

/// Keys separated by `separator` (and by new lines); `#` starts a comment; blank entries are skipped.
pub fn parse_keys(text: &str, separator: char) -> Result<Vec<MasterKey>, String> {
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        for item in line.split(separator).map(str::trim).filter(|s| !s.is_empty()) {
            let key = parse_key(item).map_err(|reason| format!("key {} (line {}): {reason}", keys.len() + 1, n + 1))?;
            keys.push(key);
        }
    }
    if keys.is_empty() {
        return Err("no key given".into());
    }
    Ok(keys)
}

/// One key: 64 hex digits or base64 of 32 bytes. The error never repeats the value.
pub fn parse_key(text: &str) -> Result<MasterKey, String> {
    let bytes = if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).map_err(|_| "not hex".to_owned())?
    } else {
        B64.decode(text).map_err(|_| "neither 64 hex digits nor base64".to_owned())?
    };
    let key: [u8; KEY_LEN] = bytes.try_into().map_err(|_| format!("must be {KEY_LEN} bytes"))?;
    Ok(MasterKey::new(key))
}

fn key_source_error(source: &KeySource, reason: String) -> SecretsError {
    SecretsError::KeySource { source_name: source.to_string(), reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base64_keys_last_one_active() {
        let hex_key = "11".repeat(32);
        let b64_key = B64.encode([0x22u8; 32]);
        let keys = parse_keys(&format!("{hex_key}, {b64_key}"), ',').unwrap();
        assert_eq!(keys.len(), 2);
        let ring = Keyring::new(keys).unwrap();
        assert_eq!(ring.active().id(), MasterKey::new([0x22; 32]).id());
    }

    #[test]
    fn bad_keys_are_refused_without_echo() {
        for bad in ["abcd", &"zz".repeat(32), &B64.encode([1u8; 16])] {
            let err = parse_keys(bad, ',').unwrap_err();
            assert!(!err.contains(bad), "{err}");
        }
    }

    #[test]
    fn default_file_is_created_with_0600_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets/master.key");
        let settings = SecretsSettings { master_key: None, master_key_file: path.clone(), file_is_default: true };
        let first = load_or_create(&settings).unwrap();
        assert!(first.created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let second = load_or_create(&settings).unwrap();
        assert!(!second.created);
        assert_eq!(first.keyring.active().id(), second.keyring.active().id());
        let configured =
            SecretsSettings { file_is_default: false, master_key_file: dir.path().join("none"), ..settings };
        assert!(load_or_create(&configured).unwrap_err().to_string().contains("not found"));
    }
}
