//! [`Es9Error`]: every way an ES9+ function fails, each tied to its SGP.22 v2.5 subjectCode/reasonCode
//! (§5.6.1–§5.6.5 status codes; subject and reason code lists in §5.2.6) in ONE place, [`Es9Error::status_code`].
//! The `Display` text is the `message` an LPA shows its user: it says what is wrong in plain words.

use crate::pki::ChainError;
use crate::smdp::RepoError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Es9Error {
    /// A field is not valid base64, hex or DER of the expected type.
    #[error("invalid {field}: {detail}")]
    InvalidField { field: &'static str, detail: String },
    /// A mandatory field is missing from the request.
    #[error("missing {field}")]
    MissingField { field: &'static str },
    /// §5.6.1: smdpAddress is not this SM-DP+.
    #[error("invalid SM-DP+ address `{received}`: this SM-DP+ serves {configured}")]
    InvalidSmdpAddress { received: String, configured: String },
    /// §5.6.1: the eUICC's SVN is not supported.
    #[error("unsupported eUICC specification version {svn}")]
    UnsupportedSvn { svn: String },
    /// §5.6.1: none of the eUICC's CI public key identifiers is one this SM-DP+ has credentials for.
    #[error("no common eSIM CA: the eUICC trusts {offered}, this SM-DP+ has certificates from none of them")]
    NoCommonCi { offered: String },
    /// transactionId unknown, already finished, or expired.
    #[error("unknown or finished transactionId: {detail}")]
    UnknownTransactionId { detail: String },
    /// §5.6.3: the EUM certificate names a CI this SM-DP+ does not trust.
    #[error("unknown eSIM CA public key: {0}")]
    UnknownCiPublicKey(String),
    #[error("EUM certificate invalid: {0}")]
    EumCertificateInvalid(String),
    #[error("EUM certificate expired: {0}")]
    EumCertificateExpired(String),
    #[error("eUICC certificate invalid: {0}")]
    EuiccCertificateInvalid(String),
    #[error("eUICC certificate expired: {0}")]
    EuiccCertificateExpired(String),
    /// The EID is outside the EUM's permitted range (INTEROP.md: 8.1.4/6.1).
    #[error("EID outside the EUM's permitted range: {0}")]
    EidOutsideEumRange(String),
    /// euiccSignature1/euiccSignature2/euiccSignPIR/… does not verify, or the serverChallenge is not ours.
    #[error("eUICC signature invalid: {0}")]
    EuiccSignatureInvalid(String),
    /// The eUICC reported an error instead of signing (authenticateResponseError, downloadResponseError…).
    #[error("the eUICC reported error {code} in {what}")]
    EuiccReportedError { what: &'static str, code: i64 },
    /// §5.6.3: no order has this matchingId.
    #[error("matching ID `{0}` refused: no download order with this activation code")]
    MatchingIdRefused(String),
    /// §5.6.3: no matchingId and no order for this EID.
    #[error("no download order for EID {0}")]
    NoOrderForEid(String),
    /// §5.6.3: the order is bound to another eUICC.
    #[error("EID doesn't match: this activation code is for another device (EID {received} is not the ordered EID)")]
    EidMismatch { received: String },
    /// The order's device lock (rspd's IMEI lock) refuses this device (deviceInfo of ctxParams1). Status
    /// 8.2.5/4.3 "No eligible Profile for this eUICC/Device" (SGP.22 v2.5 §5.6.3 AuthenticateClient status codes;
    /// also in lpac's SM-DP+ table `es9p_errors.c`). The message never names the operator.
    #[error("device not eligible for this profile: {}", .0.refusal)]
    DeviceRefused(Box<crate::smdp::device_lock::DeviceRefused>),
    /// The profile is not ready for download or another session holds it.
    #[error("profile not available for download: {0}")]
    ProfileNotAvailable(String),
    #[error("confirmation code missing: this download requires a confirmation code")]
    ConfirmationCodeMissing,
    #[error("confirmation code refused: {attempts_left} attempt(s) left")]
    ConfirmationCodeRefused { attempts_left: i32 },
    #[error("maximum number of confirmation code attempts exceeded: the order is blocked, contact your operator")]
    ConfirmationCodeAttemptsExceeded,
    /// §5.6.2: a retry with another otPK.EUICC: the BPP already bound cannot be bound again.
    #[error("bound profile package not available for a new binding (otPK.EUICC differs from the first request)")]
    BppUnavailableForNewBinding,
    /// §5.6.5: the smdpOid in euiccCancelSessionSigned is not this SM-DP+'s.
    #[error("invalid SM-DP+ OID in the eUICC's signed data")]
    InvalidSmdpOid,
    /// The request's `X-Admin-Protocol` names a version this SM-DP+ does not speak.
    #[error("unsupported protocol version `{0}` (this SM-DP+ speaks gsma/rsp/v2.x and v3.x)")]
    UnsupportedProtocol(String),
    /// Too many calls for this EID (rspd's per-EID limit `limits.eid_requests_per_min`, issue 10 item 4). The HTTP
    /// bindings answer 429 with `Retry-After`.
    #[error("too many requests for this eUICC: retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// Too many download sessions without an order (`limits.max_open_sessions`, issue 10 item 4). The HTTP
    /// bindings answer 503 with `Retry-After`.
    #[error("the SM-DP+ is busy (too many open download sessions): retry after {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    /// A fault on our side (database down, key store); no peer can cause it.
    #[error("SM-DP+ internal error, try again later")]
    Internal(String),
}

impl Es9Error {
    pub fn internal(e: impl std::fmt::Display) -> Es9Error {
        Es9Error::Internal(e.to_string())
    }

    /// `(subjectCode, reasonCode)` per SGP.22 v2.5 §5.6 (see the README status-code table).
    pub fn status_code(&self) -> (&'static str, &'static str) {
        use Es9Error::*;
        match self {
            InvalidField { .. } => ("1.6", "2.1"),
            MissingField { .. } => ("1.6", "2.2"),
            InvalidSmdpAddress { .. } => ("8.8.1", "3.8"),
            UnsupportedSvn { .. } => ("8.8.3", "3.1"),
            NoCommonCi { .. } => ("8.8.2", "3.1"),
            UnknownTransactionId { .. } => ("8.10.1", "3.9"),
            UnknownCiPublicKey(_) => ("8.11.1", "3.9"),
            EumCertificateInvalid(_) => ("8.1.2", "6.1"),
            EumCertificateExpired(_) => ("8.1.2", "6.3"),
            EuiccCertificateInvalid(_) => ("8.1.3", "6.1"),
            EuiccCertificateExpired(_) => ("8.1.3", "6.3"),
            EidOutsideEumRange(_) => ("8.1.4", "6.1"),
            EuiccSignatureInvalid(_) => ("8.1", "6.1"),
            EuiccReportedError { .. } => ("8.1", "4.2"),
            MatchingIdRefused(_) => ("8.2.6", "3.8"),
            NoOrderForEid(_) => ("8.1.1", "3.9"),
            EidMismatch { .. } => ("8.1.1", "3.8"),
            ProfileNotAvailable(_) => ("8.2", "1.2"),
            DeviceRefused(_) => ("8.2.5", "4.3"),
            ConfirmationCodeMissing => ("8.2.7", "2.2"),
            ConfirmationCodeRefused { .. } => ("8.2.7", "3.8"),
            ConfirmationCodeAttemptsExceeded => ("8.2.7", "6.4"),
            BppUnavailableForNewBinding => ("8.2", "3.7"),
            InvalidSmdpOid => ("8.8", "3.10"),
            UnsupportedProtocol(_) => ("1.3.2", "3.1"),
            // No SGP.22 code says "slow down": function / execution error, with the reason in the message. An LPA
            // sees the HTTP 429/503 first (INTEROP.md: any non-2xx is a transport failure to it).
            RateLimited { .. } | Busy { .. } | Internal(_) => ("1.2", "4.2"),
        }
    }

    /// Maps an eUICC chain failure (§5.6.3 "verify the eUICC certificate chain").
    pub fn from_euicc_chain(e: ChainError) -> Es9Error {
        use crate::pki::role::Role;
        let text = e.to_string();
        match e {
            ChainError::UnknownCi { .. } | ChainError::NoCommonCi { .. } => Es9Error::UnknownCiPublicKey(text),
            ChainError::EidOutsideEumRange { .. } | ChainError::EumWithoutEidRange => {
                Es9Error::EidOutsideEumRange(text)
            }
            ChainError::Expired { which: Role::Eum, .. } | ChainError::NotYetValid { which: Role::Eum, .. } => {
                Es9Error::EumCertificateExpired(text)
            }
            ChainError::Expired { .. } | ChainError::NotYetValid { .. } => Es9Error::EuiccCertificateExpired(text),
            ChainError::Malformed { which: Role::Eum, .. }
            | ChainError::MissingAuthorityKeyId { which: Role::Eum }
            | ChainError::MissingSubjectKeyId { which: Role::Eum }
            | ChainError::AkiMismatch { which: Role::Eum, .. }
            | ChainError::WrongIssuer { which: Role::Eum, .. }
            | ChainError::BadSignature { which: Role::Eum }
            | ChainError::WrongKeyUsage { which: Role::Eum, .. }
            | ChainError::NotACa { which: Role::Eum }
            | ChainError::WrongPolicy { which: Role::Eum } => Es9Error::EumCertificateInvalid(text),
            _ => Es9Error::EuiccCertificateInvalid(text),
        }
    }
}

impl From<RepoError> for Es9Error {
    fn from(e: RepoError) -> Es9Error {
        Es9Error::Internal(e.to_string())
    }
}
