//! Why an eIM package order failed or expired (SGP.32 v1.2 §2.11.2.1 error results, and the dispatch and no-show
//! timeouts): produced by result verification ([`super::result`]), the IPA results ([`super::ipa_result`]) and the
//! expiry job, kept by the order ([`super::order`]).

use std::fmt;

/// Why an order failed or expired: one variant per error result of SGP.32 v1.2 §2.11.2.1 and per timeout.
/// Stored as text ([`FailureReason::as_string`]); `Display` is what an operator reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReason {
    /// `EuiccPackageErrorCode invalidEid(3)`: the package names another eUICC.
    InvalidEid,
    /// `replayError(4)`: the counterValue is not greater than the eUICC's (an old or replayed package).
    ReplayError,
    /// `counterValueOutOfRange(6)`.
    CounterValueOutOfRange,
    /// `sizeOverflow(15)`.
    SizeOverflow,
    /// `ecallActive(104)`.
    EcallActive,
    /// `undefinedError(127)` or a code v1.2 does not define.
    PackageError(i64),
    /// `euiccPackageErrorUnsigned`: the eUICC does not know this eIM or the eimSignature did not verify.
    UnsignedError,
    /// One operation's result is not ok, e.g. `enableResult iccidOrAidNotFound(1)` (index in package order).
    OperationFailed { index: usize, operation: &'static str, code: i64 },
    /// `processingTerminated` (resultSizeOverflow(1), unknownOrDamagedCommand(2), interruption(3), …).
    ProcessingTerminated(i64),
    /// The device never fetched the package (dispatch timeout).
    NotFetched,
    /// The device fetched the package but never reported a result (no-show timeout).
    NoResult,
    /// ProfileDownloadTriggerResult with a verified ProfileInstallationResult `errorResult`
    /// (SGP.22 v2.5 §5.7.6: bppCommandId, errorReason).
    InstallationFailed { bpp_command_id: i64, error_reason: i64 },
    /// ProfileDownloadTriggerResult `profileDownloadError` (ecallActive(104), undefinedError(127), …).
    DownloadError(i64),
    /// IpaEuiccDataResponse `ipaEuiccDataResponseError` (incorrectTagList(1), euiccCiPKIdNotFound(5), …).
    IpaEuiccDataError(i64),
    /// ProvideEimPackageResult `eimPackageResultResponseError` (invalidPackageFormat(1), unknownPackage(2), …):
    /// the IPA could not hand the package to the eUICC.
    IpaPackageError(i64),
}

impl FailureReason {
    /// `EuiccPackageErrorCode` → reason.
    pub fn from_euicc_package_error_code(code: i64) -> FailureReason {
        match code {
            3 => FailureReason::InvalidEid,
            4 => FailureReason::ReplayError,
            6 => FailureReason::CounterValueOutOfRange,
            15 => FailureReason::SizeOverflow,
            104 => FailureReason::EcallActive,
            other => FailureReason::PackageError(other),
        }
    }

    /// The stored form: a stable machine name, with the code where there is one (`operation_failed:0:enable:1`).
    pub fn as_string(&self) -> String {
        match self {
            FailureReason::InvalidEid => "invalid_eid".into(),
            FailureReason::ReplayError => "replay_error".into(),
            FailureReason::CounterValueOutOfRange => "counter_value_out_of_range".into(),
            FailureReason::SizeOverflow => "size_overflow".into(),
            FailureReason::EcallActive => "ecall_active".into(),
            FailureReason::PackageError(code) => format!("package_error:{code}"),
            FailureReason::UnsignedError => "unsigned_error".into(),
            FailureReason::OperationFailed { index, operation, code } => {
                format!("operation_failed:{index}:{operation}:{code}")
            }
            FailureReason::ProcessingTerminated(code) => format!("processing_terminated:{code}"),
            FailureReason::NotFetched => "not_fetched".into(),
            FailureReason::NoResult => "no_result".into(),
            FailureReason::InstallationFailed { bpp_command_id, error_reason } => {
                format!("installation_failed:{bpp_command_id}:{error_reason}")
            }
            FailureReason::DownloadError(code) => format!("download_error:{code}"),
            FailureReason::IpaEuiccDataError(code) => format!("ipa_euicc_data_error:{code}"),
            FailureReason::IpaPackageError(code) => format!("ipa_package_error:{code}"),
        }
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureReason::InvalidEid => f.write_str("the eUICC refused the package: invalidEid (another EID)"),
            FailureReason::ReplayError => {
                f.write_str("the eUICC refused the package: replayError (counterValue not above the eUICC's)")
            }
            FailureReason::CounterValueOutOfRange => {
                f.write_str("the eUICC refused the package: counterValueOutOfRange")
            }
            FailureReason::SizeOverflow => f.write_str("the eUICC refused the package: sizeOverflow"),
            FailureReason::EcallActive => f.write_str("the eUICC refused the package: ecallActive"),
            FailureReason::PackageError(code) => write!(f, "the eUICC refused the package: error code {code}"),
            FailureReason::UnsignedError => {
                f.write_str("the eUICC refused the package unsigned: unknown eIM or eimSignature did not verify")
            }
            FailureReason::OperationFailed { index, operation, code } => {
                write!(f, "operation {index} ({operation}) failed with result code {code}")
            }
            FailureReason::ProcessingTerminated(code) => write!(f, "the eUICC terminated processing (code {code})"),
            FailureReason::NotFetched => f.write_str("the device did not fetch the package in time"),
            FailureReason::NoResult => f.write_str("the device fetched the package but reported no result in time"),
            FailureReason::InstallationFailed { bpp_command_id, error_reason } => write!(
                f,
                "the profile download failed on the eUICC (bppCommandId {bpp_command_id}, errorReason {error_reason})"
            ),
            FailureReason::DownloadError(code) => write!(f, "the IPA reported profileDownloadError {code}"),
            FailureReason::IpaEuiccDataError(code) => write!(f, "the IPA reported ipaEuiccDataResponseError {code}"),
            FailureReason::IpaPackageError(code) => {
                write!(f, "the IPA could not process the package (eimPackageResultErrorCode {code})")
            }
        }
    }
}
