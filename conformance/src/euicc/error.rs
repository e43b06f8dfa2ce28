//! What the soft eUICC answers when a check fails: the SGP.22 v2.5 error codes of each ES10b function
//! (ASN.1 `AuthenticateErrorCode` §5.7.13, `DownloadErrorCode` §5.7.5, `ErrorReason` / `BppCommandId`
//! §5.7.6, `CancelSessionResponse` §5.7.14, `RemoveNotificationFromList` §5.7.11) and [`Es10Error`].
//!
//! Where the real eUICC answers with an error *response* (AuthenticateServer, PrepareDownload, CancelSession),
//! the error carries that response's DER: an LPA forwards it to the SM-DP+ (in AuthenticateClient,
//! GetBoundProfilePackage, CancelSession) exactly as it would forward a success.

/// `AuthenticateErrorCode` (SGP.22 v2.5 §5.7.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthenticateErrorCode {
    InvalidCertificate = 1,
    InvalidSignature = 2,
    UnsupportedCurve = 3,
    NoSessionContext = 4,
    InvalidOid = 5,
    EuiccChallengeMismatch = 6,
    CiPkUnknown = 7,
    UndefinedError = 127,
}

/// `DownloadErrorCode` (SGP.22 v2.5 §5.7.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DownloadErrorCode {
    InvalidCertificate = 1,
    InvalidSignature = 2,
    UnsupportedCurve = 3,
    NoSessionContext = 4,
    InvalidTransactionId = 5,
    UndefinedError = 127,
}

/// `cancelSessionResponseError` (SGP.22 v2.5 §5.7.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CancelSessionErrorCode {
    InvalidTransactionId = 5,
    UndefinedError = 127,
}

/// `ErrorReason` of a failed ProfileInstallationResult (SGP.22 v2.5 §5.7.6; the BSP ones come from
/// [`rsp_proto::bsp::BspError::error_reason`]).
pub mod error_reason {
    pub use rsp_proto::bsp::error::error_reason::*;
    pub const INVALID_TRANSACTION_ID: u8 = 3;
    pub const UNSUPPORTED_PROFILE_CLASS: u8 = 6;
    pub const INSTALL_FAILED_DUE_TO_ICCID_ALREADY_EXISTS_ON_EUICC: u8 = 9;
    pub const INSTALL_FAILED_DUE_TO_INSUFFICIENT_MEMORY_FOR_PROFILE: u8 = 10;
    pub const INSTALL_FAILED_DUE_TO_PE_PROCESSING_ERROR: u8 = 12;
    pub const INSTALL_FAILED_DUE_TO_DATA_MISMATCH: u8 = 13;
}

/// Why an ES10 function did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum Es10Error {
    /// AuthenticateServer answered `authenticateResponseError`; `response` is that AuthenticateServerResponse.
    #[error("AuthenticateServer: {code:?}: {detail}")]
    AuthenticateServer { code: AuthenticateErrorCode, detail: String, response: Vec<u8> },
    /// PrepareDownload answered `downloadResponseError`; `response` is that PrepareDownloadResponse.
    #[error("PrepareDownload: {code:?}: {detail}")]
    PrepareDownload { code: DownloadErrorCode, detail: String, response: Vec<u8> },
    /// CancelSession answered `cancelSessionResponseError`; `response` is that CancelSessionResponse.
    #[error("CancelSession: {code:?}")]
    CancelSession { code: CancelSessionErrorCode, response: Vec<u8> },
    /// RemoveNotificationFromList: `nothingToDelete(1)`.
    #[error("RemoveNotificationFromList: nothing to delete for seqNumber {seq_number}")]
    NothingToDelete { seq_number: i64 },
    /// The command data is not what the function takes (a card answers a status word such as '6A80').
    #[error("{function}: incorrect command data: {detail}")]
    IncorrectCommandData { function: &'static str, detail: String },
    /// LoadBoundProfilePackage outside a download session (no PrepareDownload succeeded before it).
    #[error("{function}: no RSP session in progress")]
    NoSession { function: &'static str },
    /// LPAd check before AuthenticateServer (SGP.22 v2.5 §3.1.2): serverSigned1 names another SM-DP+.
    #[error("serverAddress `{received}` is not the SM-DP+ address `{expected}`")]
    ServerAddressMismatch { expected: String, received: String },
    /// LPAd check before PrepareDownload (SGP.22 v2.5 §3.1.3): ccRequiredFlag is set and no code was given.
    #[error("the SM-DP+ requires a confirmation code and none was given")]
    ConfirmationCodeRequired,
    /// The soft eUICC itself failed (encoding, key generation): a bug or an OpenSSL failure, not a peer fault.
    #[error("internal eUICC failure: {0}")]
    Internal(String),
}

impl Es10Error {
    pub(crate) fn internal(e: impl std::fmt::Display) -> Self {
        Es10Error::Internal(e.to_string())
    }

    /// The error response the eUICC produced, when it produced one (to forward to the SM-DP+).
    pub fn response(&self) -> Option<&[u8]> {
        match self {
            Es10Error::AuthenticateServer { response, .. }
            | Es10Error::PrepareDownload { response, .. }
            | Es10Error::CancelSession { response, .. } => Some(response),
            _ => None,
        }
    }
}
