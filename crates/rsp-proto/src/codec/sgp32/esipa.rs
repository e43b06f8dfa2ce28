//! ESipa eIM package transport, SGP.32 v1.2 §6.3.2 (ASN.1 binding, one message per HTTP body) and §5.14.x:
//! GetEimPackage `BF4F` (incl. `eimPackageError noEimPackageAvailable` = `BF4F 03 02 01 01`),
//! ProvideEimPackageResult `BF50` and its response (incl. `emptyResponse` = `BF50 02 30 00`),
//! TransferEimPackage `BF4E` (the `EsipaMessage…` wrappers of every body are in `esipa_message`).

use rasn::prelude::*;

use super::common::*;
use super::download_trigger::{ProfileDownloadTriggerRequest, ProfileDownloadTriggerResult};
use super::eim_package::{Empty, EuiccPackageRequest};
use super::eim_result::{EimAcknowledgements, EuiccPackageResult, EUICC_PACKAGE_RESULT_KNOWN};
use super::ipa_data::{
    IpaEuiccDataRequest, IpaEuiccDataResponse, PendingNotificationList, IPA_EUICC_DATA_RESPONSE_KNOWN,
};
use crate::codec::der::Known;
use crate::codec::sgp22::TransactionId;

/// `GetEimPackageRequest ::= [79] SEQUENCE { eidValue [APPLICATION 26] Octet16, notifyStateChange [0] NULL OPTIONAL,
/// stateChangeCause [1] StateChangeCause OPTIONAL, rPLMN [2] OCTET STRING (SIZE(3)) OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 79))]
pub struct GetEimPackageRequest {
    #[rasn(tag(application, 26))]
    pub eid_value: EidValue,
    #[rasn(tag(context, 0))]
    pub notify_state_change: Option<()>,
    /// `StateChangeCause ::= INTEGER {otherEim(0), fallback(1), emergencyProfile(2), local(3), reset(4), immediateEnableProfile(5), deviceChange(6), undefined(127)}`
    #[rasn(tag(context, 1))]
    pub state_change_cause: Option<i64>,
    #[rasn(tag(context, 2))]
    pub r_plmn: Option<FixedOctetString<3>>,
}

/// `GetEimPackageResponse ::= [79] CHOICE { euiccPackageRequest [81], ipaEuiccDataRequest [82], profileDownloadTriggerRequest [84],
/// eimPackageError INTEGER {noEimPackageAvailable(1), eidNotFound(2), invalidEid(3), missingEid(4), undefinedError(127)}, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice, tag(explicit(context, 79)))]
pub enum GetEimPackageResponse {
    EuiccPackageRequest(EuiccPackageRequest),
    IpaEuiccDataRequest(IpaEuiccDataRequest),
    ProfileDownloadTriggerRequest(ProfileDownloadTriggerRequest),
    /// Untagged INTEGER (`02`): `noEimPackageAvailable` is `BF4F 03 02 01 01`.
    EimPackageError(i64),
}

impl GetEimPackageResponse {
    /// `eimPackageError noEimPackageAvailable(1)`
    pub const NO_EIM_PACKAGE_AVAILABLE: GetEimPackageResponse = GetEimPackageResponse::EimPackageError(1);
}

/// `ProvideEimPackageResult ::= [80] SEQUENCE { eidValue [APPLICATION 26] Octet16 OPTIONAL, eimPackageResult EimPackageResult, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 80))]
pub struct ProvideEimPackageResult {
    #[rasn(tag(application, 26))]
    pub eid_value: Option<EidValue>,
    pub eim_package_result: EimPackageResult,
}

/// `EimPackageResult ::= CHOICE { euiccPackageResult [81], ePRAndNotifications SEQUENCE {…}, ipaEuiccDataResponse [82],
/// profileDownloadTriggerResult [84], eimPackageResultResponseError [0] EimPackageResultResponseError, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
#[allow(clippy::large_enum_variant)] // one value per message; mirrors the spec CHOICE
pub enum EimPackageResult {
    #[rasn(tag(context, 81))]
    EuiccPackageResult(EuiccPackageResult),
    EprAndNotifications(EprAndNotifications),
    #[rasn(tag(context, 82))]
    IpaEuiccDataResponse(IpaEuiccDataResponse),
    ProfileDownloadTriggerResult(ProfileDownloadTriggerResult),
    #[rasn(tag(context, 0))]
    EimPackageResultResponseError(EimPackageResultResponseError),
}

/// `ePRAndNotifications SEQUENCE { euiccPackageResult [81] EuiccPackageResult, notificationList [0] PendingNotificationList, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct EprAndNotifications {
    pub euicc_package_result: EuiccPackageResult,
    #[rasn(tag(context, 0))]
    pub notification_list: PendingNotificationList,
}

/// `EimPackageResultResponseError ::= SEQUENCE { eimTransactionId [0] TransactionId OPTIONAL, eimPackageResultErrorCode EimPackageResultErrorCode, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct EimPackageResultResponseError {
    #[rasn(tag(context, 0))]
    pub eim_transaction_id: Option<TransactionId>,
    /// `EimPackageResultErrorCode ::= INTEGER {invalidPackageFormat(1), unknownPackage(2), undefinedError(127)}`
    pub eim_package_result_error_code: i64,
}

/// `ProvideEimPackageResultResponse ::= [80] CHOICE { eimAcknowledgements [83] EimAcknowledgements, emptyResponse SEQUENCE { ... },
/// provideEimPackageResultError INTEGER {eidNotFound(2), invalidEid(3), missingEid(4), undefinedError(127)}, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice, tag(explicit(context, 80)))]
pub enum ProvideEimPackageResultResponse {
    EimAcknowledgements(EimAcknowledgements),
    /// `BF50 02 30 00`
    EmptyResponse(Empty),
    ProvideEimPackageResultError(i64),
}

/// `TransferEimPackageRequest ::= [78] CHOICE { euiccPackageRequest [81], ipaEuiccDataRequest [82], eimAcknowledgements [83], profileDownloadTriggerRequest [84], ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice, tag(explicit(context, 78)))]
pub enum TransferEimPackageRequest {
    EuiccPackageRequest(EuiccPackageRequest),
    IpaEuiccDataRequest(IpaEuiccDataRequest),
    EimAcknowledgements(EimAcknowledgements),
    ProfileDownloadTriggerRequest(ProfileDownloadTriggerRequest),
}

/// `TransferEimPackageResponse ::= [78] CHOICE { euiccPackageResult [81], ePRAndNotifications SEQUENCE {…}, ipaEuiccDataResponse [82],
/// eimPackageReceived NULL, eimPackageError INTEGER {invalidPackageFormat(1), unknownPackage(2), undefinedError(127)}, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice, tag(explicit(context, 78)))]
#[allow(clippy::large_enum_variant)] // one value per message; mirrors the spec CHOICE
pub enum TransferEimPackageResponse {
    #[rasn(tag(context, 81))]
    EuiccPackageResult(EuiccPackageResult),
    EprAndNotifications(EprAndNotifications),
    #[rasn(tag(context, 82))]
    IpaEuiccDataResponse(IpaEuiccDataResponse),
    EimPackageReceived(()),
    EimPackageError(i64),
}

/// Unknown trailing tags are tolerated only below the result parts a newer eUICC extends.
pub static EPR_AND_NOTIFICATIONS_KNOWN: Known = Known { tags: None, nested: &[(0xBF51, &EUICC_PACKAGE_RESULT_KNOWN)] };
/// The result alternatives a newer eUICC / IPA extends, one level below `BF50` (ProvideEimPackageResult) and
/// below the EXPLICIT `BF4E` (TransferEimPackageResponse).
pub static EIM_PACKAGE_RESULT_KNOWN: Known = Known {
    tags: None,
    nested: &[
        (0xBF51, &EUICC_PACKAGE_RESULT_KNOWN),
        (0x30, &EPR_AND_NOTIFICATIONS_KNOWN),
        (0xBF52, &IPA_EUICC_DATA_RESPONSE_KNOWN),
    ],
};
/// `GetEimPackageRequest` fields of v1.2 (a newer IPA may add more).
pub static GET_EIM_PACKAGE_REQUEST_KNOWN: Known = Known { tags: Some(&[0x5A, 0x80, 0x81, 0x82]), nested: &[] };

crate::codec::message!(GetEimPackageRequest, "GetEimPackageRequest", &GET_EIM_PACKAGE_REQUEST_KNOWN);
crate::codec::message!(GetEimPackageResponse, "GetEimPackageResponse");
crate::codec::message!(ProvideEimPackageResult, "ProvideEimPackageResult", &EIM_PACKAGE_RESULT_KNOWN);
crate::codec::message!(EimPackageResult, "EimPackageResult");
crate::codec::message!(EimPackageResultResponseError, "EimPackageResultResponseError");
crate::codec::message!(ProvideEimPackageResultResponse, "ProvideEimPackageResultResponse");
crate::codec::message!(TransferEimPackageRequest, "TransferEimPackageRequest");
crate::codec::message!(TransferEimPackageResponse, "TransferEimPackageResponse", &EIM_PACKAGE_RESULT_KNOWN);
