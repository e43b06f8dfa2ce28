//! Profile download triggered by the eIM, SGP.32 v1.2 §2.11.1.4 / §3.2.x (ProfileDownloadTriggerRequest `BF54`:
//! activation code, default SM-DP+ or SM-DS) and §2.11.2.4 (ProfileDownloadTriggerResult `BF54`).

use rasn::prelude::*;

use crate::codec::sgp22::{ProfileInstallationResult, TransactionId};

/// `ProfileDownloadTriggerRequest ::= [84] SEQUENCE { profileDownloadData [0] ProfileDownloadData OPTIONAL, eimTransactionId [2] TransactionId OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
#[rasn(tag(context, 84))]
pub struct ProfileDownloadTriggerRequest {
    /// `[0] ProfileDownloadData` — a tagged CHOICE, so EXPLICIT (`A0 { 80 … | 81 00 | A2 … }`).
    #[rasn(tag(explicit(context, 0)))]
    pub profile_download_data: Option<ProfileDownloadData>,
    #[rasn(tag(context, 2))]
    pub eim_transaction_id: Option<TransactionId>,
}

/// `ProfileDownloadData ::= CHOICE { activationCode [0] UTF8String (SIZE(0..255)), contactDefaultSmdp [1] NULL, contactSmds [2] SEQUENCE {…}, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
pub enum ProfileDownloadData {
    #[rasn(tag(context, 0), size("0..=255"))]
    ActivationCode(Utf8String),
    #[rasn(tag(context, 1))]
    ContactDefaultSmdp(()),
    #[rasn(tag(context, 2))]
    ContactSmds(ContactSmds),
}

/// `contactSmds [2] SEQUENCE { smdsAddress [0] UTF8String OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
pub struct ContactSmds {
    #[rasn(tag(context, 0))]
    pub smds_address: Option<Utf8String>,
}

/// `ProfileDownloadTriggerResult ::= [84] SEQUENCE { eimTransactionId [2] TransactionId OPTIONAL, profileDownloadTriggerResultData CHOICE {…}, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 84))]
pub struct ProfileDownloadTriggerResult {
    #[rasn(tag(context, 2))]
    pub eim_transaction_id: Option<TransactionId>,
    pub profile_download_trigger_result_data: ProfileDownloadTriggerResultData,
}

/// `profileDownloadTriggerResultData CHOICE { profileInstallationResult [55] ProfileInstallationResult, profileDownloadError SEQUENCE {…}, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
#[allow(clippy::large_enum_variant)] // one value per message; mirrors the spec CHOICE
pub enum ProfileDownloadTriggerResultData {
    ProfileInstallationResult(ProfileInstallationResult),
    ProfileDownloadError(ProfileDownloadError),
}

/// `profileDownloadError SEQUENCE { profileDownloadErrorReason [0] INTEGER {ecallActive(104), undefinedError(127)}, errorResponse OCTET STRING OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct ProfileDownloadError {
    #[rasn(tag(context, 0))]
    pub profile_download_error_reason: i64,
    pub error_response: Option<OctetString>,
}

crate::codec::message!(ProfileDownloadTriggerRequest, "ProfileDownloadTriggerRequest");
crate::codec::message!(ProfileDownloadData, "ProfileDownloadData");
crate::codec::message!(ProfileDownloadTriggerResult, "ProfileDownloadTriggerResult");
