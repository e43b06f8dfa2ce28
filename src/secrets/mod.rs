//! Secrets at rest: profile packages, templates and personalization data (Ki, OPc, PINs) are sealed with
//! AES-256-GCM (NIST SP 800-38D) under a master key before they reach the database (issue 5 item 5; the data
//! protected is what SGP.22 v2.5 §2.5.5 puts in the Bound Profile Package).
//!
//! - A sealed value is `nonce (12 random bytes) ‖ ciphertext ‖ tag (16 bytes)`; the row stores it with the
//!   [`KeyId`] of the master key that sealed it.
//! - The additional authenticated data binds the value to its row ([`RowBinding`]: table and primary key) and to
//!   the key id, so a sealed value copied into another row, or relabelled with another key id, fails to open.
//! - [`Keyring`]: the master keys, the last one active (sealing); older ones only open rows not re-encrypted yet
//!   (`rspd keys rotate`). [`master_key`] loads them from a file or `RSPD_SECRETS_MASTER_KEY`.
//!
//! Nothing here prints key or plaintext bytes: `Debug` of a key shows only its id, errors name the row and key id.

pub mod master_key;

use std::fmt;

use openssl::rand::rand_bytes;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};

/// Master key length (AES-256).
pub const KEY_LEN: usize = 32;
/// GCM nonce length: 96 bits, random per sealed value.
pub const NONCE_LEN: usize = 12;
/// GCM tag length.
pub const TAG_LEN: usize = 16;
/// Domain separation of the AAD (format version 1).
const AAD_LABEL: &[u8] = b"rspd-sealed/v1";

/// Why sealing or opening failed. Messages name rows and key ids, never key or plaintext bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    /// The row was sealed under a master key that is not configured.
    #[error(
        "{row} is sealed under master key {key_id}, which is not configured (wrong or missing secrets master key)"
    )]
    UnknownKey { row: String, key_id: String },
    /// Authentication failed: wrong key, edited bytes, or a value moved from another row.
    #[error("{row} does not open under master key {key_id}: the sealed value was altered or belongs to another row")]
    Tampered { row: String, key_id: String },
    #[error("{row}: sealed value too short")]
    Malformed { row: String },
    /// A master key file or value that cannot be used.
    #[error("secrets master key ({source_name}): {reason}")]
    KeySource { source_name: String, reason: String },
    #[error("crypto: {0}")]
    Crypto(String),
}

/// A master key's id: the first 8 bytes of SHA-256("rspd master key id" ‖ key), hex. Derived from the key, so a
/// wrong key is recognised as such before any decryption is tried.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(String);

impl KeyId {
    fn of(key: &[u8; KEY_LEN]) -> KeyId {
        let mut input = b"rspd master key id".to_vec();
        input.extend_from_slice(key);
        KeyId(hex::encode(&openssl::sha::sha256(&input)[..8]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One AES-256 master key. `Debug` shows the id only.
#[derive(Clone)]
pub struct MasterKey {
    id: KeyId,
    key: [u8; KEY_LEN],
}

impl MasterKey {
    pub fn new(key: [u8; KEY_LEN]) -> MasterKey {
        MasterKey { id: KeyId::of(&key), key }
    }

    /// A fresh random key.
    pub fn generate() -> Result<MasterKey, SecretsError> {
        let mut key = [0u8; KEY_LEN];
        rand_bytes(&mut key).map_err(|e| SecretsError::Crypto(e.to_string()))?;
        Ok(MasterKey::new(key))
    }

    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// The key as lower-case hex, for writing the key file only.
    pub(crate) fn to_hex(&self) -> String {
        hex::encode(self.key)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({}, redacted)", self.id)
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.key.iter_mut().for_each(|b| *b = 0);
    }
}

/// The row a sealed value belongs to: its table and primary key (authenticated, not encrypted).
#[derive(Debug, Clone, Copy)]
pub struct RowBinding<'a> {
    pub table: &'static str,
    pub primary_key: &'a str,
}

impl RowBinding<'_> {
    fn aad(&self, key_id: &str) -> Vec<u8> {
        let mut aad = AAD_LABEL.to_vec();
        for part in [self.table.as_bytes(), self.primary_key.as_bytes(), key_id.as_bytes()] {
            aad.push(0);
            aad.extend_from_slice(part);
        }
        aad
    }
}

impl fmt::Display for RowBinding<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} row {}", self.table, self.primary_key)
    }
}

/// A sealed value as stored: the key id column and the `nonce ‖ ciphertext ‖ tag` column.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub blob: Vec<u8>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed(key {}, {} bytes)", self.key_id, self.blob.len())
    }
}

/// The configured master keys; the last is active. Cloning shares nothing mutable.
#[derive(Clone, Debug)]
pub struct Keyring {
    keys: Vec<MasterKey>,
}

impl Keyring {
    /// A keyring with these keys, the last one active. At least one key.
    pub fn new(keys: Vec<MasterKey>) -> Result<Keyring, SecretsError> {
        if keys.is_empty() {
            return Err(SecretsError::KeySource { source_name: "keyring".into(), reason: "no master key".into() });
        }
        Ok(Keyring { keys })
    }

    /// The key new values are sealed under.
    pub fn active(&self) -> &MasterKey {
        // `new` refuses an empty list.
        &self.keys[self.keys.len() - 1]
    }

    pub fn keys(&self) -> &[MasterKey] {
        &self.keys
    }

    pub fn contains(&self, key_id: &str) -> bool {
        self.keys.iter().any(|k| k.id.0 == key_id)
    }

    /// Seals `plaintext` for `row` under the active key with a fresh random nonce.
    pub fn seal(&self, row: RowBinding<'_>, plaintext: &[u8]) -> Result<Sealed, SecretsError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand_bytes(&mut nonce).map_err(|e| SecretsError::Crypto(e.to_string()))?;
        self.seal_with_nonce(row, plaintext, nonce)
    }

    fn seal_with_nonce(
        &self,
        row: RowBinding<'_>,
        plaintext: &[u8],
        nonce: [u8; NONCE_LEN],
    ) -> Result<Sealed, SecretsError> {
        let key = self.active();
        let aad = row.aad(key.id.as_str());
        let mut tag = [0u8; TAG_LEN];
        let ciphertext = encrypt_aead(Cipher::aes_256_gcm(), &key.key, Some(&nonce), &aad, plaintext, &mut tag)
            .map_err(|e| SecretsError::Crypto(e.to_string()))?;
        let mut blob = Vec::with_capacity(NONCE_LEN + ciphertext.len() + TAG_LEN);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        blob.extend_from_slice(&tag);
        Ok(Sealed { key_id: key.id.0.clone(), blob })
    }

    /// Opens a value sealed for `row` under `key_id`.
    pub fn open(&self, row: RowBinding<'_>, key_id: &str, blob: &[u8]) -> Result<Vec<u8>, SecretsError> {
        let key = self
            .keys
            .iter()
            .find(|k| k.id.0 == key_id)
            .ok_or_else(|| SecretsError::UnknownKey { row: row.to_string(), key_id: key_id.to_owned() })?;
        if blob.len() < NONCE_LEN + TAG_LEN {
            return Err(SecretsError::Malformed { row: row.to_string() });
        }
        let (nonce, rest) = blob.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        decrypt_aead(Cipher::aes_256_gcm(), &key.key, Some(nonce), &row.aad(key_id), ciphertext, tag)
            .map_err(|_| SecretsError::Tampered { row: row.to_string(), key_id: key_id.to_owned() })
    }

    /// Opens under the old key and seals again under the active key (key rotation). Values already under the
    /// active key come back unchanged (`None`).
    pub fn reseal(&self, row: RowBinding<'_>, key_id: &str, blob: &[u8]) -> Result<Option<Sealed>, SecretsError> {
        if key_id == self.active().id.0 {
            return Ok(None);
        }
        let plaintext = self.open(row, key_id, blob)?;
        self.seal(row, &plaintext).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROW: RowBinding<'static> = RowBinding { table: "profile_packages", primary_key: "89882390000000000011" };

    fn ring(byte: u8) -> Keyring {
        Keyring::new(vec![MasterKey::new([byte; KEY_LEN])]).unwrap()
    }

    /// Known answer: AES-256-GCM of the McGrew–Viega test case 13 (all-zero key and IV, no AAD, empty
    /// plaintext → tag 530f8afbc74536b9a963b4f1c4cb738b) checks that the openssl primitive is the one meant.
    #[test]
    fn aes_256_gcm_known_answer() {
        let mut tag = [0u8; 16];
        let ct = encrypt_aead(Cipher::aes_256_gcm(), &[0; 32], Some(&[0; 12]), &[], &[], &mut tag).unwrap();
        assert!(ct.is_empty());
        assert_eq!(hex::encode(tag), "530f8afbc74536b9a963b4f1c4cb738b");
        // Test case 14: one zero block → cea7403d4d606b6e074ec5d3baf39d18, tag d0d1c8a799996bf0265b98b5d48ab919.
        let ct = encrypt_aead(Cipher::aes_256_gcm(), &[0; 32], Some(&[0; 12]), &[], &[0; 16], &mut tag).unwrap();
        assert_eq!(hex::encode(ct), "cea7403d4d606b6e074ec5d3baf39d18");
        assert_eq!(hex::encode(tag), "d0d1c8a799996bf0265b98b5d48ab919");
    }

    /// Known answer for rspd's framing: fixed key and nonce give fixed bytes (format changes are deliberate).
    #[test]
    fn sealed_format_known_answer() {
        let keyring = ring(0x11);
        assert_eq!(keyring.active().id().as_str(), KeyId::of(&[0x11; 32]).as_str());
        let sealed = keyring.seal_with_nonce(ROW, b"profile", [0x22; 12]).unwrap();
        assert_eq!(&sealed.blob[..12], &[0x22; 12]);
        assert_eq!(sealed.blob.len(), 12 + 7 + 16);
        let again = keyring.seal_with_nonce(ROW, b"profile", [0x22; 12]).unwrap();
        assert_eq!(sealed, again, "deterministic for a fixed nonce");
        assert_eq!(keyring.open(ROW, &sealed.key_id, &sealed.blob).unwrap(), b"profile");
    }

    #[test]
    fn round_trip_with_random_nonces() {
        let keyring = ring(1);
        let a = keyring.seal(ROW, b"secret").unwrap();
        let b = keyring.seal(ROW, b"secret").unwrap();
        assert_ne!(a.blob, b.blob, "a fresh nonce per value");
        assert_eq!(keyring.open(ROW, &a.key_id, &a.blob).unwrap(), b"secret");
        assert!(!a.blob.windows(6).any(|w| w == b"secret"));
    }

    #[test]
    fn tampering_is_detected() {
        let keyring = ring(1);
        let sealed = keyring.seal(ROW, b"secret value").unwrap();
        for i in [0, 12, sealed.blob.len() - 1] {
            let mut edited = sealed.blob.clone();
            edited[i] ^= 1;
            assert!(matches!(keyring.open(ROW, &sealed.key_id, &edited), Err(SecretsError::Tampered { .. })));
        }
        // Moved to another row, or to another table.
        let other = RowBinding { table: "profile_packages", primary_key: "89882390000000000029" };
        assert!(matches!(keyring.open(other, &sealed.key_id, &sealed.blob), Err(SecretsError::Tampered { .. })));
        let table = RowBinding { table: "profile_templates", primary_key: ROW.primary_key };
        assert!(matches!(keyring.open(table, &sealed.key_id, &sealed.blob), Err(SecretsError::Tampered { .. })));
        assert!(matches!(keyring.open(ROW, &sealed.key_id, &sealed.blob[..20]), Err(SecretsError::Malformed { .. })));
    }

    #[test]
    fn wrong_key_is_a_clear_error() {
        let sealed = ring(1).seal(ROW, b"secret").unwrap();
        let err = ring(2).open(ROW, &sealed.key_id, &sealed.blob).unwrap_err();
        assert!(matches!(err, SecretsError::UnknownKey { .. }));
        assert!(err.to_string().contains("not configured"), "{err}");
    }

    #[test]
    fn rotation_reseals_under_the_active_key() {
        let old = MasterKey::new([1; 32]);
        let new = MasterKey::new([2; 32]);
        let sealed = Keyring::new(vec![old.clone()]).unwrap().seal(ROW, b"secret").unwrap();
        let both = Keyring::new(vec![old, new.clone()]).unwrap();
        let resealed = both.reseal(ROW, &sealed.key_id, &sealed.blob).unwrap().unwrap();
        assert_eq!(resealed.key_id, new.id().as_str());
        assert!(both.reseal(ROW, &resealed.key_id, &resealed.blob).unwrap().is_none(), "idempotent");
        let only_new = Keyring::new(vec![new]).unwrap();
        assert_eq!(only_new.open(ROW, &resealed.key_id, &resealed.blob).unwrap(), b"secret");
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let key = MasterKey::new([0xAB; 32]);
        let shown = format!("{key:?} {:?}", Keyring::new(vec![key.clone()]).unwrap());
        assert!(!shown.to_lowercase().contains("abab"), "{shown}");
    }
}
