//! Indirect profile download through the eIM (SGP.32 v1.2 §3.2.3; ESipa §5.14.1 InitiateAuthentication,
//! §5.14.2 GetBoundProfilePackage, §5.14.3 AuthenticateClient, §5.14.7 HandleNotification, §5.14.8
//! CancelSession): the IPA talks ESipa to the eIM and the eIM relays each step to the SM-DP+ over ES9+.
//!
//! rspd relays **in process** to its own SM-DP+ (the ES9+ domain steps of [`crate::smdp::es9`], not a copy of
//! them): the SM-DP+ address named by the IPA (or, without one, rspd's first SM-DP+ address) must be one of
//! rspd's. Relaying to an external SM-DP+ over ES9+ is not implemented: such a request fails with
//! [`RelayError::ExternalSmdp`] (InitiateAuthentication `invalidDpAddress(1)` / status 8.8.1/3.8).
//!
//! Each ES9+ error keeps its SGP.22 status code for the JSON binding ([`RelayError::status_code`]) and maps to
//! the ESipa ASN.1 error integer of its function (`*_error_code`).

use time::OffsetDateTime;

use crate::smdp::es9::{self, AuthenticateClientOk, Es9Error, InitiateAuthenticationOk, SmdpContext};
use crate::smdp::ids::same_smdp_address;
use crate::smdp::{DownloadRepository, TransactionId};

/// Why a relayed step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    /// The SM-DP+ refused the step (its own status code and message).
    #[error(transparent)]
    Es9(#[from] Es9Error),
    /// The IPA named an SM-DP+ that is not rspd's own.
    #[error(
        "SM-DP+ `{0}` is not served by this rspd: relaying ESipa to an external SM-DP+ over ES9+ is not implemented"
    )]
    ExternalSmdp(String),
    /// This rspd runs no SM-DP+ (no DP credentials configured).
    #[error("this eIM has no SM-DP+ to relay the indirect download to")]
    NoSmdp,
}

impl RelayError {
    /// The SGP.22 v2.5 §5.2.6 `(subjectCode, reasonCode)` of the JSON binding.
    pub fn status_code(&self) -> (&'static str, &'static str) {
        match self {
            RelayError::Es9(e) => e.status_code(),
            RelayError::ExternalSmdp(_) => ("8.8.1", "3.8"),
            RelayError::NoSmdp => ("8.8.1", "3.8"),
        }
    }

    fn es9(&self) -> Option<&Es9Error> {
        match self {
            RelayError::Es9(e) => Some(e),
            _ => None,
        }
    }

    /// `initiateAuthenticationErrorEsipa`: invalidDpAddress(1), euiccVersionNotSupportedByDp(2),
    /// ciPKIdNotSupported(3), smdpAddressMismatch(50), undefinedError(127).
    pub fn initiate_authentication_error_code(&self) -> i64 {
        match self {
            RelayError::ExternalSmdp(_) | RelayError::NoSmdp => 1,
            RelayError::Es9(Es9Error::InvalidSmdpAddress { .. }) => 50,
            RelayError::Es9(Es9Error::UnsupportedSvn { .. }) => 2,
            RelayError::Es9(Es9Error::NoCommonCi { .. }) => 3,
            _ => 127,
        }
    }

    /// `authenticateClientErrorEsipa` (eumCertificateInvalid(1) … insufficientMemory(11), undefinedError(127)).
    pub fn authenticate_client_error_code(&self) -> i64 {
        use Es9Error::*;
        match self.es9() {
            Some(EumCertificateInvalid(_)) => 1,
            Some(EumCertificateExpired(_)) => 2,
            Some(EuiccCertificateInvalid(_)) | Some(EidOutsideEumRange(_)) => 3,
            Some(EuiccCertificateExpired(_)) => 4,
            Some(EuiccSignatureInvalid(_)) => 5,
            Some(MatchingIdRefused(_)) => 6,
            Some(EidMismatch { .. }) => 7,
            Some(NoOrderForEid(_)) | Some(ProfileNotAvailable(_)) => 8,
            Some(UnknownCiPublicKey(_)) => 9,
            Some(UnknownTransactionId { .. }) => 10,
            _ => 127,
        }
    }

    /// `getBoundProfilePackageErrorEsipa` (euiccSignatureInvalid(1) … invalidTransactionId(95),
    /// undefinedError(127)).
    pub fn get_bound_profile_package_error_code(&self) -> i64 {
        use Es9Error::*;
        match self.es9() {
            Some(EuiccSignatureInvalid(_)) => 1,
            Some(ConfirmationCodeMissing) => 2,
            Some(ConfirmationCodeRefused { .. }) => 3,
            Some(ConfirmationCodeAttemptsExceeded) => 4,
            Some(BppUnavailableForNewBinding) => 5,
            Some(UnknownTransactionId { .. }) => 95,
            _ => 127,
        }
    }

    /// `cancelSessionError`: invalidTransactionId(1), euiccSignatureInvalid(2), undefinedError(127).
    pub fn cancel_session_error_code(&self) -> i64 {
        match self.es9() {
            Some(Es9Error::UnknownTransactionId { .. }) => 1,
            Some(Es9Error::EuiccSignatureInvalid(_)) => 2,
            _ => 127,
        }
    }

    /// Whether the fault is ours rather than the peer's.
    pub fn is_internal(&self) -> bool {
        matches!(self, RelayError::Es9(Es9Error::Internal(_)))
    }
}

/// ESipa.InitiateAuthentication (§5.14.1) → ES9+.InitiateAuthentication (SGP.22 v2.5 §5.6.1). `smdp_address`
/// is OPTIONAL on ESipa; without it rspd's first SM-DP+ address is used. `euicc_info1` (`BF20`, received DER)
/// is required by the SM-DP+.
pub fn initiate_authentication(
    smdp: &SmdpContext,
    repo: &dyn DownloadRepository,
    euicc_challenge: &[u8],
    euicc_info1: Option<&[u8]>,
    smdp_address: Option<&str>,
    now: OffsetDateTime,
) -> Result<InitiateAuthenticationOk, RelayError> {
    let address = match smdp_address {
        Some(a) => a.to_owned(),
        None => smdp.addresses.first().cloned().ok_or(RelayError::NoSmdp)?,
    };
    if !smdp.addresses.iter().any(|a| same_smdp_address(a, &address)) {
        return Err(RelayError::ExternalSmdp(address));
    }
    let euicc_info1 = euicc_info1.ok_or(Es9Error::MissingField { field: "euiccInfo1" })?;
    Ok(es9::initiate_authentication(smdp, repo, euicc_challenge, euicc_info1, &address, now)?)
}

/// ESipa.AuthenticateClient (§5.14.3) → ES9+.AuthenticateClient (SGP.22 v2.5 §5.6.3).
pub fn authenticate_client(
    smdp: &SmdpContext,
    repo: &dyn DownloadRepository,
    transaction_id: &[u8],
    authenticate_server_response: &[u8],
    now: OffsetDateTime,
) -> Result<AuthenticateClientOk, RelayError> {
    let tx = transaction_id_of(transaction_id)?;
    Ok(es9::authenticate_client(smdp, repo, &tx, authenticate_server_response, now)?)
}

/// ESipa.GetBoundProfilePackage (§5.14.2) → ES9+.GetBoundProfilePackage (SGP.22 v2.5 §5.6.2); the BPP `BF36`.
pub fn get_bound_profile_package(
    smdp: &SmdpContext,
    repo: &dyn DownloadRepository,
    transaction_id: &[u8],
    prepare_download_response: &[u8],
    now: OffsetDateTime,
) -> Result<Vec<u8>, RelayError> {
    let tx = transaction_id_of(transaction_id)?;
    Ok(es9::get_bound_profile_package(smdp, repo, &tx, prepare_download_response, now)?)
}

/// ESipa.CancelSession (§5.14.8) → ES9+.CancelSession (SGP.22 v2.5 §5.6.5).
pub fn cancel_session(
    smdp: &SmdpContext,
    repo: &dyn DownloadRepository,
    transaction_id: &[u8],
    cancel_session_response: &[u8],
    now: OffsetDateTime,
) -> Result<(), RelayError> {
    let tx = transaction_id_of(transaction_id)?;
    Ok(es9::cancel_session(smdp, repo, &tx, cancel_session_response, now)?)
}

/// ESipa.HandleNotification with a `pendingNotification` (§5.14.7) → the SM-DP+'s durable notification inbox
/// (processed by its background worker as ES9+.HandleNotification, SGP.22 v2.5 §5.6.4); the inbox row id.
pub fn handle_notification(repo: &dyn DownloadRepository, pending_notification: &[u8]) -> Result<i64, RelayError> {
    if crate::codec::decode::<crate::codec::sgp22::PendingNotification>(pending_notification).is_err() {
        return Err(Es9Error::InvalidField {
            field: "pendingNotification",
            detail: "not a PendingNotification".into(),
        }
        .into());
    }
    repo.insert_notification(pending_notification).map_err(|e| RelayError::Es9(e.into()))
}

fn transaction_id_of(bytes: &[u8]) -> Result<TransactionId, RelayError> {
    TransactionId::from_bytes(bytes)
        .map_err(|detail| RelayError::Es9(Es9Error::InvalidField { field: "transactionId", detail }))
}
