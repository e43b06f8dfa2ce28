//! eUICC / IPA data requested by the eIM, SGP.32 v1.2 §2.11.1.3 (IpaEuiccDataRequest `BF52`), §2.11.2.3
//! (IpaEuiccDataResponse `BF52`), §5.14.x IpaCapabilities: notifications, pending package results, EUICCInfo1/2,
//! certificates, device info.

use rasn::prelude::*;

use super::common::*;
use super::eim_result::EuiccPackageResult;
use crate::codec::der::Known;
use crate::codec::sgp22::{
    DeviceInfo, EuiccInfo1, EuiccInfo2, NotificationEvent, PendingNotification, TransactionId, DEVICE_INFO_KNOWN,
    EUICC_INFO1_KNOWN, EUICC_INFO2_KNOWN,
};

/// `PendingNotificationList ::= SEQUENCE OF PendingNotification`
pub type PendingNotificationList = SequenceOf<PendingNotification>;
/// `EuiccPackageResultList ::= SEQUENCE OF EuiccPackageResult`
pub type EuiccPackageResultList = SequenceOf<EuiccPackageResult>;

/// `IpaEuiccDataRequest ::= [82] SEQUENCE { tagList [APPLICATION 28] OCTET STRING, euiccCiPKIdentifierToBeUsed OCTET STRING OPTIONAL,
/// searchCriteriaNotification [1] CHOICE {…} OPTIONAL, searchCriteriaEuiccPackageResult [2] CHOICE {…} OPTIONAL,
/// eimTransactionId [3] TransactionId OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 82))]
pub struct IpaEuiccDataRequest {
    /// The tags of the requested `IpaEuiccData` fields (e.g. `80 BF20 BF22`).
    #[rasn(tag(application, 28))]
    pub tag_list: OctetString,
    pub euicc_ci_pkid_to_be_used: Option<OctetString>,
    #[rasn(tag(explicit(context, 1)))]
    pub search_criteria_notification: Option<SearchCriteriaNotification>,
    #[rasn(tag(explicit(context, 2)))]
    pub search_criteria_euicc_package_result: Option<SearchCriteriaEuiccPackageResult>,
    #[rasn(tag(context, 3))]
    pub eim_transaction_id: Option<TransactionId>,
}

/// `searchCriteriaNotification [1] CHOICE { seqNumber [0] INTEGER, profileManagementOperation [1] NotificationEvent, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
pub enum SearchCriteriaNotification {
    #[rasn(tag(context, 0))]
    SeqNumber(i64),
    #[rasn(tag(context, 1))]
    ProfileManagementOperation(NotificationEvent),
}

/// `searchCriteriaEuiccPackageResult [2] CHOICE { seqNumber [0] INTEGER, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
pub enum SearchCriteriaEuiccPackageResult {
    #[rasn(tag(context, 0))]
    SeqNumber(i64),
}

/// `IpaEuiccDataResponse ::= [82] CHOICE { ipaEuiccData [0] IpaEuiccData, ipaEuiccDataResponseError [1] IpaEuiccDataResponseError, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice, tag(explicit(context, 82)))]
#[allow(clippy::large_enum_variant)] // one value per message; mirrors the spec CHOICE
pub enum IpaEuiccDataResponse {
    #[rasn(tag(context, 0))]
    IpaEuiccData(IpaEuiccData),
    #[rasn(tag(context, 1))]
    IpaEuiccDataResponseError(IpaEuiccDataResponseError),
}

/// `IpaEuiccData ::= SEQUENCE {…}` (SGP.32 v1.2 §2.11.2.3); certificates are IMPLICIT `[5]` / `[6]`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
pub struct IpaEuiccData {
    #[rasn(tag(context, 0))]
    pub notifications_list: Option<PendingNotificationList>,
    #[rasn(tag(context, 1))]
    pub default_smdp_address: Option<Utf8String>,
    #[rasn(tag(context, 2))]
    pub euicc_package_result_list: Option<EuiccPackageResultList>,
    pub euicc_info1: Option<EuiccInfo1>,
    pub euicc_info2: Option<EuiccInfo2>,
    #[rasn(tag(context, 3))]
    pub root_smds_address: Option<Utf8String>,
    #[rasn(tag(context, 4))]
    pub association_token: Option<i64>,
    #[rasn(tag(context, 5))]
    pub eum_certificate: Option<ImplicitCertificate>,
    #[rasn(tag(context, 6))]
    pub euicc_certificate: Option<ImplicitCertificate>,
    #[rasn(tag(context, 7))]
    pub eim_transaction_id: Option<TransactionId>,
    #[rasn(tag(context, 8))]
    pub ipa_capabilities: Option<IpaCapabilities>,
    #[rasn(tag(context, 9))]
    pub device_info: Option<DeviceInfo>,
}

/// `IpaCapabilities ::= SEQUENCE { ipaFeatures [0] BIT STRING {directRspServerCommunication(0), indirectRspServerCommunication(1),
/// eimDownloadDataHandling(2), eimCtxParams1Generation(3), eimProfileMetadataVerification(4), minimizeEsipaBytes(5)},
/// ipaSupportedProtocols [1] BIT STRING {ipaRetrieveHttps(0), ipaRetrieveCoaps(1), ipaInjectHttps(2), ipaInjectCoaps(3), ipaProprietary(4)} OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct IpaCapabilities {
    #[rasn(tag(context, 0))]
    pub ipa_features: BitString,
    #[rasn(tag(context, 1))]
    pub ipa_supported_protocols: Option<BitString>,
}

/// `IpaEuiccDataResponseError ::= SEQUENCE { eimTransactionId [0] TransactionId OPTIONAL, ipaEuiccDataErrorCode IpaEuiccDataErrorCode, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct IpaEuiccDataResponseError {
    #[rasn(tag(context, 0))]
    pub eim_transaction_id: Option<TransactionId>,
    /// `IpaEuiccDataErrorCode ::= INTEGER {incorrectTagList(1), euiccCiPKIdNotFound(5), ecallActive(104), undefinedError(127)}`
    pub ipa_euicc_data_error_code: i64,
}

/// `IpaEuiccData` tags of v1.2; EUICCInfo1/2 and DeviceInfo keep the SGP.22 v2.5 fields (SGP.22 v3 / SGP.32
/// additions such as `ipaMode [16]` are dropped from the typed value).
pub static IPA_EUICC_DATA_KNOWN: Known = Known {
    tags: Some(&[0xA0, 0x81, 0xA2, 0xBF20, 0xBF22, 0x83, 0x84, 0xA5, 0xA6, 0x87, 0xA8, 0xA9]),
    nested: &[(0xBF20, &EUICC_INFO1_KNOWN), (0xBF22, &EUICC_INFO2_KNOWN), (0xA9, &DEVICE_INFO_KNOWN)],
};
pub static IPA_EUICC_DATA_RESPONSE_KNOWN: Known = Known { tags: None, nested: &[(0xA0, &IPA_EUICC_DATA_KNOWN)] };

crate::codec::message!(IpaEuiccDataRequest, "IpaEuiccDataRequest");
crate::codec::message!(IpaEuiccDataResponse, "IpaEuiccDataResponse", &IPA_EUICC_DATA_RESPONSE_KNOWN);
crate::codec::message!(IpaEuiccData, "IpaEuiccData", &IPA_EUICC_DATA_KNOWN);
crate::codec::message!(IpaCapabilities, "IpaCapabilities");
crate::codec::message!(IpaEuiccDataResponseError, "IpaEuiccDataResponseError");
