//! BPP protection (BSP, formerly SCP03t): how the SM-DP+ binds a profile package to one eUICC and how
//! the eUICC opens it again (SGP.22 v2.5 §2.5.5 Bound Profile Package, §2.6.4 key agreement,
//! derivation and SCP03t segments, §5.5.1–§5.5.4 the ES8+ functions carried in a BPP).
//!
//! One job per file:
//! - [`kdf`]: X9.63 derivation of `initial_mcv`, `s_enc`, `s_mac` from the ECKA shared secret (§2.6.4.2).
//! - [`ecka`]: the ECKA-DH shared secret, SM-DP+ side (through the [`KeyStore`](crate::pki::keystore::KeyStore))
//!   and eUICC side (an openssl private key), §2.6.4.1.
//! - [`scp03t`]: one stateful session: encrypt-and-MAC, MAC-only and their inverses (§2.6.4.3–§2.6.4.5).
//! - [`segment`]: splitting a block of data into segments of at most [`MAX_SEGMENT_LEN`] bytes (§2.5.5).
//! - [`bpp_builder`]: the SM-DP+ building `BF36` (§2.5.5, §5.5.1 InitialiseSecureChannel, §5.5.4 ReplaceSessionKeys).
//! - [`bpp_open`]: the eUICC side, for the conformance eUICC: verify, derive, check every MAC, decrypt.
//! - [`error`]: [`BspError`], with its mapping to the ProfileInstallationResult `errorReason`.

pub mod bpp_builder;
pub mod bpp_open;
#[cfg(test)]
mod bpp_tests;
pub mod ecka;
pub mod error;
pub mod kdf;
pub mod scp03t;
pub mod segment;

pub use bpp_builder::{build_bpp, BppInputs, ReplaceSessionKeys};
pub use bpp_open::{open_bpp, open_bpp_staged, BppCommandId, BppOpenError, OpenedBpp};
pub use error::BspError;
pub use kdf::{derive_session_keys, SessionKeys};
pub use scp03t::Scp03tSession;

/// keyType of the control reference template: AES (SGP.22 §5.5.1, GlobalPlatform key type '88').
pub const KEY_TYPE_AES: u8 = 0x88;
/// keyLen of the control reference template: 16 bytes (AES-128).
pub const KEY_LEN_AES128: u8 = 0x10;
/// remoteOpId `installBoundProfilePackage` (SGP.22 §5.5.1, RemoteOpId ::= [2] INTEGER).
pub const REMOTE_OP_ID_INSTALL_BPP: u8 = 1;
/// "That block of data is split into segments of a maximum size of 1020 bytes (including the tag,
/// length field and MAC)" (SGP.22 §2.5.5).
pub const MAX_SEGMENT_LEN: usize = 1020;
