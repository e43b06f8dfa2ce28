//! [`EimError`]: everything that can go wrong in the eIM domain, and what each means on ESipa
//! (SGP.32 v1.2 §6.3: `eimPackageError` of GetEimPackage, `provideEimPackageResultError` of
//! ProvideEimPackageResult).

use crate::pki::keystore::KeyStoreError;

/// One error type for the eIM domain. `Display` is one readable line.
#[derive(Debug, thiserror::Error)]
pub enum EimError {
    /// The EID is not in the registry.
    #[error("eUICC {0} is not registered with this eIM")]
    UnknownEuicc(String),
    /// The EID is not 32 decimal digits with valid check digits (or `eidValue` is not 16 bytes).
    #[error("invalid EID: {0}")]
    InvalidEid(String),
    /// The request carries no EID and none can be derived.
    #[error("the request carries no eidValue")]
    MissingEid,
    /// CERT.EUICC.ECDSA does not chain to a trusted CI through its EUM (SGP.22 v2.5 §4.5.2, checks of
    /// [`crate::pki::verify_euicc_chain`]).
    #[error("eUICC certificate chain: {0}")]
    UntrustedCertificate(String),
    /// The eUICC is already registered.
    #[error("eUICC {0} is already registered")]
    AlreadyRegistered(String),
    /// A received message is not the ASN.1 it should be.
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
    /// `euiccSignEPR` / `euiccSignEPE` does not verify with PK.EUICC.ECDSA (SGP.32 v1.2 §2.11.2.1).
    #[error("eUICC signature over the package result does not verify: {0}")]
    BadEuiccSignature(String),
    /// No dispatched package of this eUICC matches (eimTransactionId, counterValue) — a late, replayed or
    /// foreign result.
    #[error("no dispatched package of eUICC {eid} matches eimTransactionId {eim_transaction_id}, counterValue {counter_value:?}")]
    NoMatchingPackage { eid: String, eim_transaction_id: String, counter_value: Option<i64> },
    /// The result names another eIM.
    #[error("the result is addressed to eIM {0}, not this one")]
    OtherEim(String),
    /// A transition the order state machine does not allow.
    #[error("order {order_id}: {from} → {to} is not allowed")]
    IllegalTransition { order_id: i64, from: &'static str, to: &'static str },
    /// The compare-and-set lost: the order moved on (another node recorded it first, or it expired).
    #[error("order {order_id} is no longer {expected}")]
    StateConflict { order_id: i64, expected: &'static str },
    /// The eIM signing key failed.
    #[error("eIM key: {0}")]
    Key(#[from] KeyStoreError),
    /// Encoding our own message failed (a bug, not peer input).
    #[error("encoding {what}: {reason}")]
    Encode { what: &'static str, reason: String },
    /// The store failed or is unreachable.
    #[error("store: {0}")]
    Store(String),
}

/// `GetEimPackageResponse.eimPackageError` (SGP.32 v1.2 §6.3.2.x): `eidNotFound(2)`.
pub const EIM_PACKAGE_ERROR_EID_NOT_FOUND: i64 = 2;
/// `invalidEid(3)`, in both `eimPackageError` and `provideEimPackageResultError`.
pub const EIM_PACKAGE_ERROR_INVALID_EID: i64 = 3;
/// `missingEid(4)`.
pub const EIM_PACKAGE_ERROR_MISSING_EID: i64 = 4;
/// `undefinedError(127)`.
pub const EIM_PACKAGE_ERROR_UNDEFINED: i64 = 127;

impl EimError {
    /// The ESipa error code (`eimPackageError` / `provideEimPackageResultError`, same numbering: eidNotFound(2),
    /// invalidEid(3), missingEid(4), undefinedError(127)) this error is answered with.
    pub fn esipa_error_code(&self) -> i64 {
        match self {
            EimError::UnknownEuicc(_) => EIM_PACKAGE_ERROR_EID_NOT_FOUND,
            EimError::InvalidEid(_) => EIM_PACKAGE_ERROR_INVALID_EID,
            EimError::MissingEid => EIM_PACKAGE_ERROR_MISSING_EID,
            _ => EIM_PACKAGE_ERROR_UNDEFINED,
        }
    }

    /// Whether the fault is ours (store, key, encoding) rather than the peer's: logged at error level.
    pub fn is_internal(&self) -> bool {
        matches!(self, EimError::Store(_) | EimError::Key(_) | EimError::Encode { .. })
    }
}
