//! Errors of BPP protection (SGP.22 v2.5 §2.5.5, §2.6.4) and their mapping to the `errorReason` of
//! ProfileInstallationResult (SGP.22 §5.7.6 / ASN.1 `ErrorReason`), which is what an eUICC reports.

use crate::codec::tlv::{Tag, TlvError};
use crate::pki::keystore::KeyStoreError;

/// Everything that can go wrong while protecting or opening a bound profile package.
#[derive(Debug, thiserror::Error)]
pub enum BspError {
    /// The bytes are not strict DER TLVs.
    #[error("malformed TLV: {0}")]
    Tlv(#[from] TlvError),
    /// An element of the BPP structure is not the one SGP.22 §2.5.5 puts there.
    #[error("{context}: expected {expected}, found tag {found}")]
    UnexpectedElement { context: &'static str, expected: &'static str, found: Tag },
    /// A mandatory element is absent.
    #[error("{context}: {missing} is missing")]
    MissingElement { context: &'static str, missing: &'static str },
    /// A data object has a value SGP.22 does not allow.
    #[error("invalid {field}: {reason}")]
    InvalidField { field: &'static str, reason: String },
    /// remoteOpId is not installBoundProfilePackage(1).
    #[error("unsupported remoteOpId {0:02X?}")]
    UnsupportedRemoteOperation(Vec<u8>),
    /// keyType / keyLen of the control reference template are not AES-128 ('88' / '10').
    #[error("unsupported control reference template: keyType {key_type:02X?}, keyLen {key_len:02X?}")]
    UnsupportedCrt { key_type: Vec<u8>, key_len: Vec<u8> },
    /// smdpSign does not verify with PK.DPpb.ECDSA.
    #[error("smdpSign does not verify")]
    InvalidSignature,
    /// A segment (tag, length, data, MAC) is longer than 1020 bytes (SGP.22 §2.5.5).
    #[error("segment {tag} is {len} bytes long; at most 1020 are allowed")]
    SegmentTooLong { tag: Tag, len: usize },
    /// A segment cannot be an SCP03t segment (too short for the MAC, ciphertext not whole blocks).
    #[error("malformed segment {tag}: {reason}")]
    MalformedSegment { tag: Tag, reason: &'static str },
    /// The segment is itself wrapped in a TLV of the same tag, a known interoperability defect.
    #[error("segment {tag} is wrapped twice (tag and length repeated inside the value)")]
    DoubleWrappedSegment { tag: Tag },
    /// The C-MAC of a segment does not verify (SGP.22 §2.6.4.4).
    #[error("C-MAC of segment {tag} does not verify")]
    MacMismatch { tag: Tag },
    /// The decrypted data does not end in `80 00…` padding (SGP.22 §2.6.4.4).
    #[error("bad padding in segment {tag}")]
    BadPadding { tag: Tag },
    /// Caller error on the protecting side: more plaintext than one segment can carry.
    #[error("{len} plaintext bytes do not fit one segment (at most {max})")]
    PlaintextTooLong { len: usize, max: usize },
    /// The key store failed (unknown key, peer point not on the curve…).
    #[error("key store: {0}")]
    KeyStore(#[from] KeyStoreError),
    /// An OpenSSL operation failed (invalid point, unsupported curve…).
    #[error("crypto: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
}

/// ProfileInstallationResult `ErrorReason` values (SGP.22 §5.7.6, RSPDefinitions `ErrorReason`).
pub mod error_reason {
    pub const INCORRECT_INPUT_VALUES: u8 = 1;
    pub const INVALID_SIGNATURE: u8 = 2;
    pub const UNSUPPORTED_CRT_VALUES: u8 = 4;
    pub const UNSUPPORTED_REMOTE_OPERATION_TYPE: u8 = 5;
    pub const SCP03T_STRUCTURE_ERROR: u8 = 7;
    pub const SCP03T_SECURITY_ERROR: u8 = 8;
    pub const INSTALL_FAILED_DUE_TO_UNKNOWN_ERROR: u8 = 127;
}

impl BspError {
    /// The `errorReason` an eUICC puts in ProfileInstallationResult for this failure.
    pub fn error_reason(&self) -> u8 {
        use error_reason::*;
        match self {
            BspError::Tlv(_)
            | BspError::UnexpectedElement { .. }
            | BspError::MissingElement { .. }
            | BspError::SegmentTooLong { .. }
            | BspError::MalformedSegment { .. }
            | BspError::DoubleWrappedSegment { .. } => SCP03T_STRUCTURE_ERROR,
            BspError::InvalidField { .. } => INCORRECT_INPUT_VALUES,
            BspError::UnsupportedRemoteOperation(_) => UNSUPPORTED_REMOTE_OPERATION_TYPE,
            BspError::UnsupportedCrt { .. } => UNSUPPORTED_CRT_VALUES,
            BspError::InvalidSignature => INVALID_SIGNATURE,
            BspError::MacMismatch { .. } | BspError::BadPadding { .. } => SCP03T_SECURITY_ERROR,
            BspError::PlaintextTooLong { .. } | BspError::KeyStore(_) | BspError::Crypto(_) => {
                INSTALL_FAILED_DUE_TO_UNKNOWN_ERROR
            }
        }
    }
}
