//! EuiccPackageResult verification (SGP.32 v1.2 §2.11.2.1): `euiccSignEPR` / `euiccSignEPE` are checked with
//! PK.EUICC.ECDSA over the **received** bytes of `euiccPackageResultDataSigned` / `euiccPackageErrorDataSigned`
//! followed by the `associationToken` data object (`84 L v`, `84 01 00` when none) — the v1.1+ coverage; v1.0
//! said "|| eimSignature" (sources in `conformance/src/euicc/eim/signature.rs`). The verified result is then
//! matched to the package it answers by (EID, eimTransactionId, counterValue) and read into a
//! [`PackageOutcome`], whose [`PackageOutcome::failure_reason`] decides Succeeded or Failed.

use crate::codec::sgp22::TransactionId;
use crate::codec::sgp32::{
    euicc_package_error_data_signed, euicc_package_result_data_signed, AddEimResult, EuiccPackageResult,
    EuiccResultData, ListEimResult,
};
use crate::codec::{decode, Received};
use crate::pki::EcPublicKey;

use super::error::EimError;
use super::failure::FailureReason;
use crate::codec::sgp32::signed_input;

/// What a verified EuiccPackageResult says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageOutcome {
    /// `euiccPackageResultSigned`: the package ran; one result per operation, in package order.
    Executed { seq_number: i64, euicc_result: Vec<EuiccResultData> },
    /// `euiccPackageErrorSigned` with its `EuiccPackageErrorCode` (replayError, counterValueOutOfRange, …).
    ErrorSigned { euicc_package_error_code: i64 },
    /// `euiccPackageErrorUnsigned` (unknown eIM or bad eimSignature): nothing to verify, by design.
    ErrorUnsigned,
}

impl PackageOutcome {
    /// `None` when every operation is ok; else why the order failed (the first failing operation).
    pub fn failure_reason(&self) -> Option<FailureReason> {
        match self {
            PackageOutcome::Executed { euicc_result, .. } => {
                euicc_result.iter().enumerate().find_map(|(index, r)| operation_failure(index, r))
            }
            PackageOutcome::ErrorSigned { euicc_package_error_code } => {
                Some(FailureReason::from_euicc_package_error_code(*euicc_package_error_code))
            }
            PackageOutcome::ErrorUnsigned => Some(FailureReason::UnsignedError),
        }
    }

    /// The eUICC's `seqNumber` to acknowledge (EimAcknowledgements `BF53`), signed results only.
    pub fn seq_number(&self) -> Option<i64> {
        match self {
            PackageOutcome::Executed { seq_number, .. } => Some(*seq_number),
            _ => None,
        }
    }
}

/// One operation's result → a failure, or `None` when it is `ok(0)` (or carries data, e.g. a profile list).
fn operation_failure(index: usize, result: &EuiccResultData) -> Option<FailureReason> {
    let (operation, code) = match result {
        EuiccResultData::EnableResult(c) => ("enable", *c),
        EuiccResultData::DisableResult(c) => ("disable", *c),
        EuiccResultData::DeleteResult(c) => ("delete", *c),
        EuiccResultData::ConfigureImmediateEnableResult(c) => ("configureImmediateEnable", *c),
        EuiccResultData::DeleteEimResult(c) => ("deleteEim", *c),
        EuiccResultData::UpdateEimResult(c) => ("updateEim", *c),
        EuiccResultData::RollbackResult(c) => ("rollback", *c),
        EuiccResultData::SetFallbackAttributeResult(c) => ("setFallbackAttribute", *c),
        EuiccResultData::UnsetFallbackAttributeResult(c) => ("unsetFallbackAttribute", *c),
        EuiccResultData::SetDefaultDpAddressResult(r) => ("setDefaultDpAddress", r.set_default_dp_address_result),
        EuiccResultData::AddEimResult(AddEimResult::AddEimResultCode(c)) => ("addEim", *c),
        EuiccResultData::AddEimResult(AddEimResult::AssociationToken(_)) => return None,
        EuiccResultData::ListEimResult(ListEimResult::ListEimError(c)) => ("listEim", *c),
        EuiccResultData::ListEimResult(ListEimResult::EimIdList(_)) => return None,
        EuiccResultData::ListProfileInfoResult(_) | EuiccResultData::GetRatResult(_) => return None,
        EuiccResultData::ProcessingTerminated(c) => return Some(FailureReason::ProcessingTerminated(*c)),
    };
    (code != 0).then_some(FailureReason::OperationFailed { index, operation, code })
}

/// A result whose signature verified (or an unsigned error), with the fields that match it to its package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedResult {
    pub eim_id: String,
    /// Absent in `euiccPackageErrorUnsigned`.
    pub counter_value: Option<i64>,
    pub eim_transaction_id: Option<Vec<u8>>,
    pub outcome: PackageOutcome,
}

impl VerifiedResult {
    /// Whether this result answers the package (eimTransactionId, counterValue) — SGP.32 v1.2 §2.11.2.1;
    /// an unsigned error has no counterValue and matches on the eimTransactionId alone.
    pub fn answers(&self, counter_value: i64, eim_transaction_id: &[u8]) -> bool {
        self.eim_transaction_id.as_deref() == Some(eim_transaction_id)
            && self.counter_value.is_none_or(|c| c == counter_value)
    }
}

/// Verifies one EuiccPackageResult (`BF51 …`, the received bytes) from the eUICC whose key is
/// `euicc_public_key`, for the association identified by `association_token`.
pub fn verify_euicc_package_result(
    euicc_package_result: &[u8],
    euicc_public_key: &EcPublicKey,
    association_token: Option<i64>,
) -> Result<VerifiedResult, EimError> {
    let malformed =
        |e: crate::codec::CodecError| EimError::Malformed { what: "EuiccPackageResult", reason: e.to_string() };
    let result: EuiccPackageResult = decode(euicc_package_result).map_err(malformed)?;
    let tid = |t: Option<TransactionId>| t.map(|t| t.0.to_vec());
    let verify = |raw: &[u8], signature: &[u8]| {
        euicc_public_key
            .verify(&signed_input(raw, association_token), signature)
            .map_err(|e| EimError::BadEuiccSignature(e.to_string()))
    };
    match result {
        EuiccPackageResult::EuiccPackageResultSigned(signed) => {
            let Received { value, raw } = euicc_package_result_data_signed(euicc_package_result).map_err(malformed)?;
            verify(&raw, &signed.euicc_sign_epr.0)?;
            Ok(VerifiedResult {
                eim_id: value.eim_id,
                counter_value: Some(value.counter_value),
                eim_transaction_id: tid(value.eim_transaction_id),
                outcome: PackageOutcome::Executed { seq_number: value.seq_number, euicc_result: value.euicc_result },
            })
        }
        EuiccPackageResult::EuiccPackageErrorSigned(signed) => {
            let Received { value, raw } = euicc_package_error_data_signed(euicc_package_result).map_err(malformed)?;
            verify(&raw, &signed.euicc_sign_epe.0)?;
            Ok(VerifiedResult {
                eim_id: value.eim_id,
                counter_value: Some(value.counter_value),
                eim_transaction_id: tid(value.eim_transaction_id),
                outcome: PackageOutcome::ErrorSigned { euicc_package_error_code: value.euicc_package_error_code },
            })
        }
        EuiccPackageResult::EuiccPackageErrorUnsigned(unsigned) => Ok(VerifiedResult {
            eim_id: unsigned.eim_id,
            counter_value: None,
            eim_transaction_id: tid(unsigned.eim_transaction_id),
            outcome: PackageOutcome::ErrorUnsigned,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::sgp32::SetDefaultDpAddressResponse;

    #[test]
    fn every_non_ok_operation_fails_the_order() {
        let ok = PackageOutcome::Executed {
            seq_number: 3,
            euicc_result: vec![EuiccResultData::EnableResult(0), EuiccResultData::DisableResult(0)],
        };
        assert_eq!(ok.failure_reason(), None);
        assert_eq!(ok.seq_number(), Some(3));
        let bad = PackageOutcome::Executed {
            seq_number: 4,
            euicc_result: vec![
                EuiccResultData::DisableResult(0),
                EuiccResultData::EnableResult(1),
                EuiccResultData::SetDefaultDpAddressResult(SetDefaultDpAddressResponse {
                    set_default_dp_address_result: 127,
                }),
            ],
        };
        assert_eq!(
            bad.failure_reason(),
            Some(FailureReason::OperationFailed { index: 1, operation: "enable", code: 1 })
        );
        assert_eq!(PackageOutcome::ErrorUnsigned.failure_reason(), Some(FailureReason::UnsignedError));
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let key = crate::pki::EcPublicKey::from_point(crate::pki::Curve::NistP256, &[4; 65]);
        // Any key will do for a decode failure; an invalid point only matters after decoding.
        if let Ok(key) = key {
            for garbage in [&[][..], &[0xBF, 0x51], &[0xBF, 0x51, 0x02, 0xA0, 0x00], &[0x30, 0x00]] {
                assert!(matches!(verify_euicc_package_result(garbage, &key, None), Err(EimError::Malformed { .. })));
            }
        }
    }
}
