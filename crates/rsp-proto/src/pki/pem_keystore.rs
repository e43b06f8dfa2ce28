//! [`PemKeyStore`]: the [`KeyStore`] over PEM private-key files (PKCS#8 or SEC1 "EC PRIVATE KEY"),
//! one per [`KeyRef`] — SK.DPauth.ECDSA, SK.DPpb.ECDSA (SGP.22 v2.5 §4.5.1), the eIM key — and
//! in-memory one-time keys for ECKA-DH (SGP.22 v2.5 §2.6.4 / §3.1.3.x otSK.DP.ECKA; BSI TR-03111 §4.3.1).
//!
//! Private keys never leave the store: there is no getter, and `Debug` prints key references
//! and file names only.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use openssl::bn::BigNumContext;
use openssl::derive::Deriver;
use openssl::ec::{EcKey, EcPoint, PointConversionForm};
use openssl::pkey::{PKey, Private};
use openssl::rand::rand_bytes;

use crate::pki::ecdsa::{self, curve_of, EcPublicKey};
use crate::pki::keystore::{KeyRef, KeyStore, KeyStoreError, OneTimeKeyId, RawSignature};
use crate::pki::Curve;

/// Bytes of randomness in a one-time key id.
const ONE_TIME_KEY_ID_BYTES: usize = 16;

/// Why the store could not be built from its files.
#[derive(Debug, thiserror::Error)]
pub enum PemKeyStoreError {
    #[error("cannot read private key file {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} holds no PEM EC private key (PKCS#8 or SEC1): {reason}", .path.display())]
    NotAnEcPrivateKey { path: PathBuf, reason: String },
    #[error("{} holds a key on {found}, but {key:?} is configured for {expected}", .path.display())]
    WrongCurve { path: PathBuf, key: KeyRef, expected: Curve, found: String },
    #[error("{} holds an invalid EC key: {reason}", .path.display())]
    InvalidKey { path: PathBuf, reason: String },
    #[error("{key:?} is configured twice ({} and {})", .first.display(), .second.display())]
    DuplicateKeyRef { key: KeyRef, first: PathBuf, second: PathBuf },
}

/// One long-term key and where it came from.
struct LongTermKey {
    key: EcKey<Private>,
    /// PK as `04 || X || Y`.
    public_point: Vec<u8>,
    path: PathBuf,
}

/// A [`KeyStore`] over PEM files; one-time keys live in memory until forgotten.
pub struct PemKeyStore {
    keys: HashMap<KeyRef, LongTermKey>,
    one_time_keys: Mutex<HashMap<OneTimeKeyId, EcKey<Private>>>,
}

impl fmt::Debug for PemKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<_> = self.keys.iter().map(|(r, k)| (r, k.path.display().to_string())).collect();
        f.debug_struct("PemKeyStore")
            .field("keys", &keys)
            .field("one_time_keys", &self.lock_one_time_keys().len())
            .finish()
    }
}

impl PemKeyStore {
    /// Load one PEM private key per `(KeyRef, path)`; each key must be on its `KeyRef`'s curve.
    pub fn load<P: AsRef<Path>>(entries: &[(KeyRef, P)]) -> Result<Self, PemKeyStoreError> {
        let mut keys: HashMap<KeyRef, LongTermKey> = HashMap::new();
        for (key_ref, path) in entries {
            let path = path.as_ref();
            if let Some(existing) = keys.get(key_ref) {
                return Err(PemKeyStoreError::DuplicateKeyRef {
                    key: key_ref.clone(),
                    first: existing.path.clone(),
                    second: path.to_path_buf(),
                });
            }
            keys.insert(key_ref.clone(), load_key(key_ref, path)?);
        }
        Ok(PemKeyStore { keys, one_time_keys: Mutex::new(HashMap::new()) })
    }

    fn key(&self, key: &KeyRef) -> Result<&LongTermKey, KeyStoreError> {
        self.keys.get(key).ok_or_else(|| KeyStoreError::UnknownKey(format!("{:?} on {}", key.role, key.curve)))
    }

    /// The one-time keys; a panic elsewhere while holding the lock leaves the map usable.
    fn lock_one_time_keys(&self) -> MutexGuard<'_, HashMap<OneTimeKeyId, EcKey<Private>>> {
        self.one_time_keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn load_key(key_ref: &KeyRef, path: &Path) -> Result<LongTermKey, PemKeyStoreError> {
    let pem = std::fs::read(path).map_err(|source| PemKeyStoreError::Read { path: path.to_path_buf(), source })?;
    // PKCS#8 ("PRIVATE KEY") first, then SEC1 ("EC PRIVATE KEY", possibly after "EC PARAMETERS").
    let key = PKey::private_key_from_pem(&pem)
        .and_then(|k| k.ec_key())
        .or_else(|_| EcKey::private_key_from_pem(&pem))
        .map_err(|e| PemKeyStoreError::NotAnEcPrivateKey { path: path.to_path_buf(), reason: e.to_string() })?;
    let found = curve_of(key.group()).map_err(|_| PemKeyStoreError::WrongCurve {
        path: path.to_path_buf(),
        key: key_ref.clone(),
        expected: key_ref.curve,
        found: "a curve SGP.22 does not use".into(),
    })?;
    if found != key_ref.curve {
        return Err(PemKeyStoreError::WrongCurve {
            path: path.to_path_buf(),
            key: key_ref.clone(),
            expected: key_ref.curve,
            found: found.to_string(),
        });
    }
    key.check_key().map_err(|e| PemKeyStoreError::InvalidKey { path: path.to_path_buf(), reason: e.to_string() })?;
    let public_point = EcPublicKey::from_ec_key(&key)
        .map_err(|e| PemKeyStoreError::InvalidKey { path: path.to_path_buf(), reason: e.to_string() })?
        .uncompressed_point()
        .to_vec();
    Ok(LongTermKey { key, public_point, path: path.to_path_buf() })
}

fn crypto(e: impl fmt::Display) -> KeyStoreError {
    KeyStoreError::Crypto(e.to_string())
}

impl KeyStore for PemKeyStore {
    fn sign(&self, key: &KeyRef, message: &[u8]) -> Result<RawSignature, KeyStoreError> {
        let k = self.key(key)?;
        ecdsa::sign(&k.key, message).map_err(|e| KeyStoreError::Crypto(format!("{} ({})", e, k.path.display())))
    }

    fn public_key(&self, key: &KeyRef) -> Result<Vec<u8>, KeyStoreError> {
        Ok(self.key(key)?.public_point.clone())
    }

    fn generate_one_time_key(&self, curve: Curve) -> Result<(OneTimeKeyId, Vec<u8>), KeyStoreError> {
        let group = curve.group().map_err(crypto)?;
        let key = EcKey::generate(group).map_err(crypto)?;
        let mut ctx = BigNumContext::new().map_err(crypto)?;
        let point = key.public_key().to_bytes(group, PointConversionForm::UNCOMPRESSED, &mut ctx).map_err(crypto)?;
        let mut id_bytes = [0u8; ONE_TIME_KEY_ID_BYTES];
        rand_bytes(&mut id_bytes).map_err(crypto)?;
        let id = OneTimeKeyId(hex::encode(id_bytes));
        self.lock_one_time_keys().insert(id.clone(), key);
        Ok((id, point))
    }

    fn agree(&self, id: &OneTimeKeyId, peer_point: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
        let key = self
            .lock_one_time_keys()
            .get(id)
            .cloned()
            .ok_or_else(|| KeyStoreError::UnknownKey(format!("one-time key {}", id.0)))?;
        let group = key.group();
        let mut ctx = BigNumContext::new().map_err(crypto)?;
        let invalid = |e: openssl::error::ErrorStack| KeyStoreError::InvalidPeerKey(e.to_string());
        // Decoding checks the point is on the one-time key's curve; check_key refuses infinity.
        let point = EcPoint::from_bytes(group, peer_point, &mut ctx).map_err(invalid)?;
        let peer = EcKey::from_public_key(group, &point).map_err(invalid)?;
        peer.check_key().map_err(invalid)?;
        let ours = PKey::from_ec_key(key).map_err(crypto)?;
        let theirs = PKey::from_ec_key(peer).map_err(crypto)?;
        let mut deriver = Deriver::new(&ours).map_err(crypto)?;
        deriver.set_peer(&theirs).map_err(invalid)?;
        deriver.derive_to_vec().map_err(crypto)
    }

    fn forget_one_time_key(&self, id: &OneTimeKeyId) {
        self.lock_one_time_keys().remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::keystore::KeyRole;

    fn write_key(dir: &Path, name: &str, curve: Curve, pkcs8: bool) -> (PathBuf, EcKey<Private>) {
        let key = EcKey::generate(curve.group().unwrap()).unwrap();
        let pem = if pkcs8 {
            PKey::from_ec_key(key.clone()).unwrap().private_key_to_pem_pkcs8().unwrap()
        } else {
            key.private_key_to_pem().unwrap()
        };
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        (path, key)
    }

    #[test]
    fn signs_with_pkcs8_and_sec1_keys_and_hides_them() {
        let dir = tempfile::tempdir().unwrap();
        let (p1, _) = write_key(dir.path(), "dpauth.key", Curve::NistP256, true);
        let (p2, _) = write_key(dir.path(), "dppb.key", Curve::BrainpoolP256r1, false);
        let auth = KeyRef { role: KeyRole::DpAuth, curve: Curve::NistP256 };
        let pb = KeyRef { role: KeyRole::DpPb, curve: Curve::BrainpoolP256r1 };
        let store = PemKeyStore::load(&[(auth.clone(), p1), (pb.clone(), p2)]).unwrap();
        for k in [&auth, &pb] {
            let sig = store.sign(k, b"serverSigned1").unwrap();
            let public = EcPublicKey::from_point(k.curve, &store.public_key(k).unwrap()).unwrap();
            public.verify(b"serverSigned1", &sig.0).unwrap();
        }
        let eim = KeyRef { role: KeyRole::Eim, curve: Curve::NistP256 };
        assert!(matches!(store.sign(&eim, b"x"), Err(KeyStoreError::UnknownKey(_))));
        let debug = format!("{store:?}");
        assert!(debug.contains("dpauth.key") && !debug.contains("PRIVATE"), "{debug}");
    }

    #[test]
    fn load_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _) = write_key(dir.path(), "brainpool.key", Curve::BrainpoolP256r1, true);
        let as_nist = KeyRef { role: KeyRole::DpAuth, curve: Curve::NistP256 };
        let err = PemKeyStore::load(&[(as_nist.clone(), &p)]).unwrap_err();
        assert!(matches!(err, PemKeyStoreError::WrongCurve { .. }) && err.to_string().contains("brainpool.key"));
        let missing = dir.path().join("missing.key");
        let err = PemKeyStore::load(&[(as_nist.clone(), &missing)]).unwrap_err();
        assert!(matches!(err, PemKeyStoreError::Read { .. }) && err.to_string().contains("missing.key"));
        let junk = dir.path().join("junk.key");
        std::fs::write(&junk, "not a key").unwrap();
        let err = PemKeyStore::load(&[(as_nist, &junk)]).unwrap_err();
        assert!(matches!(err, PemKeyStoreError::NotAnEcPrivateKey { .. }) && err.to_string().contains("junk.key"));
    }

    #[test]
    fn one_time_key_agreement_matches_openssl_and_is_forgotten() {
        let store = PemKeyStore::load::<PathBuf>(&[]).unwrap();
        for curve in Curve::ALL {
            let (id, ot_pk_dp) = store.generate_one_time_key(curve).unwrap();
            let group = openssl::ec::EcGroup::from_curve_name(curve.nid()).unwrap();
            let euicc = EcKey::generate(&group).unwrap();
            let mut ctx = BigNumContext::new().unwrap();
            let ot_pk_euicc = euicc.public_key().to_bytes(&group, PointConversionForm::UNCOMPRESSED, &mut ctx).unwrap();
            let ours = store.agree(&id, &ot_pk_euicc).unwrap();

            let dp_point = EcPoint::from_bytes(&group, &ot_pk_dp, &mut ctx).unwrap();
            let dp_public = PKey::from_ec_key(EcKey::from_public_key(&group, &dp_point).unwrap()).unwrap();
            let euicc_pkey = PKey::from_ec_key(euicc).unwrap();
            let mut deriver = Deriver::new(&euicc_pkey).unwrap();
            deriver.set_peer(&dp_public).unwrap();
            assert_eq!(ours, deriver.derive_to_vec().unwrap());
            assert_eq!(ours.len(), 32);

            let mut bad = ot_pk_euicc.clone();
            bad[64] ^= 1;
            assert!(matches!(store.agree(&id, &bad), Err(KeyStoreError::InvalidPeerKey(_))));
            store.forget_one_time_key(&id);
            assert!(matches!(store.agree(&id, &ot_pk_euicc), Err(KeyStoreError::UnknownKey(_))));
        }
    }
}
