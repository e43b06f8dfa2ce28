//! Results that reach the eIM without an eUICC package signature of their own (SGP.32 v1.2 §2.11.2.3
//! IpaEuiccDataResponse, §2.11.2.4 ProfileDownloadTriggerResult, §6.3.2.x `eimPackageResultResponseError`), and
//! the unsigned packages that ask for them (ProfileDownloadTriggerRequest `BF54`, IpaEuiccDataRequest `BF52`).
//!
//! - A ProfileDownloadTriggerResult carrying a ProfileInstallationResult is trusted only when `euiccSignPIR`
//!   verifies with the registered eUICC's PK.EUICC.ECDSA over the received `profileInstallationResultData`
//!   (SGP.22 v2.5 §5.7.6); a success adds the installed ICCID (disabled) to the device's inventory.
//! - Each result names its order by `eimTransactionId`; it must be the eUICC's Dispatched order of the matching
//!   kind, else nothing changes ([`EimError::NoMatchingPackage`]).

use rasn::types::{OctetString, Utf8String};

use super::error::EimError;
use super::failure::FailureReason;
use super::inventory::ProfileChange;
use super::order::PackageKind;
use crate::codec::sgp22::{FinalResult, TransactionId};
use crate::codec::sgp32::{
    IpaEuiccDataRequest, IpaEuiccDataResponse, ProfileDownloadData, ProfileDownloadTriggerRequest,
    ProfileDownloadTriggerResult, ProfileDownloadTriggerResultData,
};
use crate::codec::tlv::{self, Tag};
use crate::codec::{decode, encode};
use crate::pki::EcPublicKey;

/// The ProfileDownloadTriggerRequest `BF54` for an activation code (SGP.32 v1.2 §2.11.1.4).
pub fn download_trigger_request(activation_code: &str, eim_transaction_id: &[u8; 16]) -> Result<Vec<u8>, EimError> {
    if activation_code.is_empty() || activation_code.len() > 255 {
        return Err(EimError::Malformed {
            what: "activation code",
            reason: "must be 1 to 255 characters (SGP.32 v1.2 §2.11.1.4)".into(),
        });
    }
    encode(&ProfileDownloadTriggerRequest {
        profile_download_data: Some(ProfileDownloadData::ActivationCode(Utf8String::from(activation_code))),
        eim_transaction_id: Some(TransactionId(OctetString::from(eim_transaction_id.to_vec()))),
    })
    .map_err(|e| EimError::Encode { what: "ProfileDownloadTriggerRequest", reason: e.to_string() })
}

/// The IpaEuiccDataRequest `BF52` asking for the IpaEuiccData fields of `tag_list` (SGP.32 v1.2 §2.11.1.2).
pub fn ipa_euicc_data_request(tag_list: &[u8], eim_transaction_id: &[u8; 16]) -> Result<Vec<u8>, EimError> {
    encode(&IpaEuiccDataRequest {
        tag_list: OctetString::from(tag_list.to_vec()),
        euicc_ci_pkid_to_be_used: None,
        search_criteria_notification: None,
        search_criteria_euicc_package_result: None,
        eim_transaction_id: Some(TransactionId(OctetString::from(eim_transaction_id.to_vec()))),
    })
    .map_err(|e| EimError::Encode { what: "IpaEuiccDataRequest", reason: e.to_string() })
}

/// What an unsigned result says about its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedOutcome {
    /// The order it names.
    pub eim_transaction_id: Vec<u8>,
    /// The kind of package it answers.
    pub answers: PackageKind,
    pub failure: Option<FailureReason>,
    pub profile_changes: Vec<ProfileChange>,
}

fn malformed(what: &'static str) -> impl Fn(crate::codec::CodecError) -> EimError {
    move |e| EimError::Malformed { what, reason: e.to_string() }
}

fn no_transaction(what: &'static str) -> EimError {
    EimError::Malformed { what, reason: "no eimTransactionId: the result names no package".into() }
}

/// Reads a ProfileDownloadTriggerResult `BF54` (received bytes), verifying a ProfileInstallationResult with
/// `euicc_public_key`.
pub fn download_trigger_outcome(result: &[u8], euicc_public_key: &EcPublicKey) -> Result<UnsignedOutcome, EimError> {
    const WHAT: &str = "ProfileDownloadTriggerResult";
    let decoded: ProfileDownloadTriggerResult = decode(result).map_err(malformed(WHAT))?;
    let tid = decoded.eim_transaction_id.ok_or_else(|| no_transaction(WHAT))?.0.to_vec();
    let (failure, profile_changes) = match decoded.profile_download_trigger_result_data {
        ProfileDownloadTriggerResultData::ProfileInstallationResult(pir) => {
            let pir_bytes = tlv::parse_single(result)
                .ok()
                .and_then(|t| t.child(Tag(0xBF37)).ok().flatten())
                .map(|t| t.raw().to_vec())
                .ok_or_else(|| EimError::Malformed { what: WHAT, reason: "no ProfileInstallationResult".into() })?;
            let data = crate::codec::sgp22::profile_installation_result_data(&pir_bytes).map_err(malformed(WHAT))?;
            euicc_public_key
                .verify(&data.raw, &pir.euicc_sign_pir.0)
                .map_err(|e| EimError::BadEuiccSignature(format!("euiccSignPIR: {e}")))?;
            match &data.value.final_result {
                FinalResult::SuccessResult(_) => {
                    let iccid = data.value.notification_metadata.iccid.as_ref().map(|i| iccid_digits(i.0.as_ref()));
                    (None, iccid.into_iter().flatten().map(ProfileChange::Installed).collect())
                }
                FinalResult::ErrorResult(e) => (
                    Some(FailureReason::InstallationFailed {
                        bpp_command_id: e.bpp_command_id,
                        error_reason: e.error_reason,
                    }),
                    Vec::new(),
                ),
            }
        }
        ProfileDownloadTriggerResultData::ProfileDownloadError(e) => {
            (Some(FailureReason::DownloadError(e.profile_download_error_reason)), Vec::new())
        }
    };
    Ok(UnsignedOutcome {
        eim_transaction_id: tid,
        answers: PackageKind::ProfileDownloadTriggerRequest,
        failure,
        profile_changes,
    })
}

/// Reads an IpaEuiccDataResponse `BF52` (received bytes). The data itself stays with the order (`result_der`).
pub fn ipa_euicc_data_outcome(result: &[u8]) -> Result<UnsignedOutcome, EimError> {
    const WHAT: &str = "IpaEuiccDataResponse";
    let (tid, failure) = match decode::<IpaEuiccDataResponse>(result).map_err(malformed(WHAT))? {
        IpaEuiccDataResponse::IpaEuiccData(data) => (data.eim_transaction_id, None),
        IpaEuiccDataResponse::IpaEuiccDataResponseError(e) => {
            (e.eim_transaction_id, Some(FailureReason::IpaEuiccDataError(e.ipa_euicc_data_error_code)))
        }
    };
    Ok(UnsignedOutcome {
        eim_transaction_id: tid.ok_or_else(|| no_transaction(WHAT))?.0.to_vec(),
        answers: PackageKind::IpaEuiccDataRequest,
        failure,
        profile_changes: Vec::new(),
    })
}

/// ICCID digits from the EF.ICCID bytes (nibble-swapped, `F` padding dropped).
fn iccid_digits(ef_iccid: &[u8]) -> Option<String> {
    let mut digits = String::new();
    for b in ef_iccid {
        for nibble in [b & 0x0F, b >> 4] {
            match nibble {
                0..=9 => digits.push(char::from(b'0' + nibble)),
                0x0F => {}
                _ => return None,
            }
        }
    }
    Some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iccid_digits_swap_nibbles_and_drop_padding() {
        assert_eq!(
            iccid_digits(&[0x98, 0x10, 0x32, 0x54, 0x76, 0x98, 0x10, 0x32, 0x54, 0xF6]).as_deref(),
            Some("8901234567890123456")
        );
        assert_eq!(iccid_digits(&[0xAB]), None);
    }

    #[test]
    fn requests_carry_their_transaction_id() {
        let der = download_trigger_request("LPA:1$localhost:8443$ABC", &[7; 16]).unwrap();
        assert_eq!(&der[..2], &[0xBF, 0x54]);
        assert!(download_trigger_request("", &[7; 16]).is_err());
        let der = ipa_euicc_data_request(&[0x80, 0xBF, 0x20], &[7; 16]).unwrap();
        assert_eq!(PackageKind::of(&der), Some(PackageKind::IpaEuiccDataRequest));
    }
}
