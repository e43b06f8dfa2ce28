//! Profile download, SGP.22 v2.5 §3.1.3 and ES9+ §5.6.2, ES10b §5.7.5 PrepareDownload, ES8+ §5.5
//! (ConfigureISDP, StoreMetadata), §5.7.15 ProfileInfo, §5.7.5/§2.5.6 ProfileInstallationResult.

use rasn::prelude::*;

use super::common::*;
use crate::codec::der::Known;

/// `SmdpSigned2 ::= SEQUENCE { transactionId [0], ccRequiredFlag BOOLEAN, bppEuiccOtpk [APPLICATION 73] OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct SmdpSigned2 {
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    pub cc_required_flag: bool,
    pub bpp_euicc_otpk: Option<Otpk>,
}

/// `PrepareDownloadResponse ::= [33] CHOICE { downloadResponseOk [0], downloadResponseError [1], ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice, tag(explicit(context, 33)))]
pub enum PrepareDownloadResponse {
    #[rasn(tag(context, 0))]
    DownloadResponseOk(PrepareDownloadResponseOk),
    #[rasn(tag(context, 1))]
    DownloadResponseError(PrepareDownloadResponseError),
}

/// `PrepareDownloadResponseOk ::= SEQUENCE { euiccSigned2 EUICCSigned2, euiccSignature2 [APPLICATION 55], ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PrepareDownloadResponseOk {
    pub euicc_signed2: EuiccSigned2,
    pub euicc_signature2: Signature,
}

/// `EUICCSigned2 ::= SEQUENCE { transactionId [0], euiccOtpk [APPLICATION 73], hashCc Octet32 OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct EuiccSigned2 {
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    pub euicc_otpk: Otpk,
    pub hash_cc: Option<Octet32>,
}

/// `PrepareDownloadResponseError ::= SEQUENCE { transactionId [0], downloadErrorCode DownloadErrorCode, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PrepareDownloadResponseError {
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    /// `DownloadErrorCode ::= INTEGER {invalidCertificate(1), …, invalidTransactionId(5), undefinedError(127)}`
    pub download_error_code: i64,
}

/// `GetBoundProfilePackageRequest ::= [58] SEQUENCE { transactionId [0], prepareDownloadResponse [33], ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 58))]
pub struct GetBoundProfilePackageRequest {
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    pub prepare_download_response: PrepareDownloadResponse,
}

fn default_profile_class() -> ProfileClass {
    2
}

/// `StoreMetadataRequest ::= [37] SEQUENCE {…}` (SGP.22 v2.5 §5.5.3; `profileClass DEFAULT operational`).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 37))]
pub struct StoreMetadataRequest {
    pub iccid: Iccid,
    #[rasn(tag(context, 17), size("0..=32"))]
    pub service_provider_name: Utf8String,
    #[rasn(tag(context, 18), size("0..=64"))]
    pub profile_name: Utf8String,
    #[rasn(tag(context, 19))]
    pub icon_type: Option<IconType>,
    #[rasn(tag(context, 20), size("0..=1024"))]
    pub icon: Option<OctetString>,
    #[rasn(tag(context, 21), default = "default_profile_class")]
    pub profile_class: ProfileClass,
    #[rasn(tag(context, 22))]
    pub notification_configuration_info: Option<SequenceOf<NotificationConfigurationInformation>>,
    #[rasn(tag(context, 23))]
    pub profile_owner: Option<OperatorId>,
    #[rasn(tag(context, 25))]
    pub profile_policy_rules: Option<PprIds>,
    #[rasn(tag(context, 34))]
    pub service_specific_data_stored_in_euicc: Option<VendorSpecificExtension>,
    #[rasn(tag(context, 35))]
    pub service_specific_data_not_stored_in_euicc: Option<VendorSpecificExtension>,
}

/// `ConfigureISDPRequest ::= [36] SEQUENCE { dpProprietaryData [24] DpProprietaryData OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 36))]
pub struct ConfigureIsdpRequest {
    #[rasn(tag(context, 24))]
    pub dp_proprietary_data: Option<DpProprietaryData>,
}

/// `ProfileInfo ::= [PRIVATE 3] SEQUENCE {…}` (ES10c §5.7.15); a newer eUICC's extra fields are dropped.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
#[rasn(tag(private, 3))]
pub struct ProfileInfo {
    pub iccid: Option<Iccid>,
    #[rasn(tag(application, 15))]
    pub isdp_aid: Option<OctetTo16>,
    #[rasn(tag(context, 112))]
    pub profile_state: Option<ProfileState>,
    #[rasn(tag(context, 16), size("0..=64"))]
    pub profile_nickname: Option<Utf8String>,
    #[rasn(tag(context, 17), size("0..=32"))]
    pub service_provider_name: Option<Utf8String>,
    #[rasn(tag(context, 18), size("0..=64"))]
    pub profile_name: Option<Utf8String>,
    #[rasn(tag(context, 19))]
    pub icon_type: Option<IconType>,
    #[rasn(tag(context, 20), size("0..=1024"))]
    pub icon: Option<OctetString>,
    #[rasn(tag(context, 21))]
    pub profile_class: Option<ProfileClass>,
    #[rasn(tag(context, 22))]
    pub notification_configuration_info: Option<SequenceOf<NotificationConfigurationInformation>>,
    #[rasn(tag(context, 23))]
    pub profile_owner: Option<OperatorId>,
    #[rasn(tag(context, 24))]
    pub dp_proprietary_data: Option<DpProprietaryData>,
    #[rasn(tag(context, 25))]
    pub profile_policy_rules: Option<PprIds>,
    #[rasn(tag(context, 34))]
    pub service_specific_data_stored_in_euicc: Option<VendorSpecificExtension>,
}

/// `NotificationConfigurationInformation ::= SEQUENCE { profileManagementOperation [0] NotificationEvent, notificationAddress [1] UTF8String, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct NotificationConfigurationInformation {
    #[rasn(tag(context, 0))]
    pub profile_management_operation: NotificationEvent,
    #[rasn(tag(context, 1))]
    pub notification_address: Utf8String,
}

/// `ProfileInstallationResult ::= [55] SEQUENCE { profileInstallationResultData [39], euiccSignPIR EuiccSignPIR, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 55))]
pub struct ProfileInstallationResult {
    pub profile_installation_result_data: ProfileInstallationResultData,
    /// `EuiccSignPIR ::= [APPLICATION 55] OCTET STRING`
    pub euicc_sign_pir: Signature,
}

/// `ProfileInstallationResultData ::= [39] SEQUENCE { transactionId [0], notificationMetadata [47], smdpOid, finalResult [2] CHOICE {…}, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 39))]
pub struct ProfileInstallationResultData {
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    pub notification_metadata: NotificationMetadata,
    pub smdp_oid: ObjectIdentifier,
    #[rasn(tag(explicit(context, 2)))]
    pub final_result: FinalResult,
}

/// `finalResult [2] CHOICE { successResult [0] SuccessResult, errorResult [1] ErrorResult, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
pub enum FinalResult {
    #[rasn(tag(context, 0))]
    SuccessResult(SuccessResult),
    #[rasn(tag(context, 1))]
    ErrorResult(ErrorResult),
}

/// `SuccessResult ::= SEQUENCE { aid [APPLICATION 15] OCTET STRING (SIZE(5..16)), simaResponse OCTET STRING, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct SuccessResult {
    #[rasn(tag(application, 15), size("5..=16"))]
    pub aid: OctetString,
    pub sima_response: OctetString,
}

/// `ErrorResult ::= SEQUENCE { bppCommandId [0] BppCommandId, errorReason [1] ErrorReason, simaResponse [2] OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct ErrorResult {
    /// `BppCommandId ::= INTEGER {initialiseSecureChannel(0), configureISDP(1), storeMetadata(2), …}`
    #[rasn(tag(context, 0))]
    pub bpp_command_id: i64,
    /// `ErrorReason ::= INTEGER {incorrectInputValues(1), … installFailedDueToUnknownError(127)}`
    #[rasn(tag(context, 1))]
    pub error_reason: i64,
    #[rasn(tag(context, 2))]
    pub sima_response: Option<OctetString>,
}

/// `ProfileInfo` tags in SGP.22 v2.5 (`5A`, `4F`, `9F70`, `90`…`99`, `BF22`).
pub static PROFILE_INFO_KNOWN: Known = Known {
    tags: Some(&[0x5A, 0x4F, 0x9F70, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0xB6, 0xB7, 0xB8, 0x99, 0xBF22]),
    nested: &[],
};

crate::codec::message!(SmdpSigned2, "SmdpSigned2");
crate::codec::message!(PrepareDownloadResponse, "PrepareDownloadResponse");
crate::codec::message!(PrepareDownloadResponseOk, "PrepareDownloadResponseOk");
crate::codec::message!(EuiccSigned2, "EUICCSigned2");
crate::codec::message!(PrepareDownloadResponseError, "PrepareDownloadResponseError");
crate::codec::message!(GetBoundProfilePackageRequest, "GetBoundProfilePackageRequest");
crate::codec::message!(StoreMetadataRequest, "StoreMetadataRequest");
crate::codec::message!(ConfigureIsdpRequest, "ConfigureISDPRequest");
crate::codec::message!(ProfileInfo, "ProfileInfo", &PROFILE_INFO_KNOWN);
crate::codec::message!(NotificationConfigurationInformation, "NotificationConfigurationInformation");
crate::codec::message!(ProfileInstallationResult, "ProfileInstallationResult");
crate::codec::message!(ProfileInstallationResultData, "ProfileInstallationResultData");
crate::codec::message!(SuccessResult, "SuccessResult");
crate::codec::message!(ErrorResult, "ErrorResult");
