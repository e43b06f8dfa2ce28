//! The key store: every private-key operation of rspd goes through [`KeyStore`], so a PKCS#11
//! HSM can replace PEM files without touching domain code (ARCHITECTURE.md, "Rules of the house").
//!
//! Signatures are ECDSA with SHA-256 in the plain `r || s` form of BSI TR-03111 (64 bytes on
//! the 256-bit curves), as SGP.22 v2.5 §2.6.5 requires for `5F37` signatures. Key agreement is
//! ECKA-DH (BSI TR-03111) with a one-time key the store generates and keeps.

use crate::pki::Curve;

/// Which long-term key to use: its role and curve (SGP.22 §4.5.1: DPauth signs serverSigned1,
/// DPpb signs smdpSigned2 and the BPP InitialiseSecureChannel; eIM keys sign eUICC packages).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyRef {
    pub role: KeyRole,
    pub curve: Curve,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyRole {
    /// SK.DPauth.ECDSA (SGP.22 §4.5.1.x).
    DpAuth,
    /// SK.DPpb.ECDSA.
    DpPb,
    /// The eIM's signing key (SGP.32 §2.5: eimSignature).
    Eim,
    /// Anything else, by name (tests, future roles).
    Named(String),
}

/// A 64-byte `r || s` ECDSA-SHA256 signature.
#[derive(Clone, PartialEq, Eq)]
pub struct RawSignature(pub [u8; 64]);

impl std::fmt::Debug for RawSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RawSignature({})", hex::encode(self.0))
    }
}

/// Handle to a one-time (ephemeral) key pair held by the store, e.g. otSK.DP.ECKA for one
/// bound profile package (SGP.22 §3.1.3.x). The private half never leaves the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OneTimeKeyId(pub String);

#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    #[error("no key for {0:?}")]
    UnknownKey(String),
    #[error("invalid public key from the peer: {0}")]
    InvalidPeerKey(String),
    #[error("key operation failed: {0}")]
    Crypto(String),
}

/// Private-key operations. Implementations are cheap to share across threads.
pub trait KeyStore: Send + Sync {
    /// ECDSA-SHA256 over `message` with the long-term key `key`; `r || s`.
    fn sign(&self, key: &KeyRef, message: &[u8]) -> Result<RawSignature, KeyStoreError>;

    /// The public key of `key` as an uncompressed point (`04 || X || Y`).
    fn public_key(&self, key: &KeyRef) -> Result<Vec<u8>, KeyStoreError>;

    /// Generates a one-time key pair on `curve`; returns its id and public point (`04 || X || Y`).
    fn generate_one_time_key(&self, curve: Curve) -> Result<(OneTimeKeyId, Vec<u8>), KeyStoreError>;

    /// ECKA-DH: the shared secret (x-coordinate) of the one-time key `id` with `peer_point`
    /// (uncompressed, on the same curve). The one-time key stays usable until [`KeyStore::forget_one_time_key`].
    fn agree(&self, id: &OneTimeKeyId, peer_point: &[u8]) -> Result<Vec<u8>, KeyStoreError>;

    /// Destroys a one-time key (after the BPP is built, or when its session ends).
    fn forget_one_time_key(&self, id: &OneTimeKeyId);
}
