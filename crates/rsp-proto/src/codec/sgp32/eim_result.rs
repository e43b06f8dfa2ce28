//! Results of eUICC packages, SGP.32 v1.2 §2.11.2 (eUICC package result), §5.9.1 ESep.ExecuteEuiccPackage
//! response, §6.3.2.x acknowledgements: EuiccPackageResult `BF51` (signed result / signed error / unsigned
//! error), EuiccPackageResultDataSigned (`euiccSignEPR` is verified over its **received** bytes:
//! [`euicc_package_result_data_signed`]), EuiccResultData per PSMO/eCO, EimAcknowledgements `BF53`.

// Variant names are the spec's alternative names (`euiccPackageResultSigned`, `authenticateClientOkDPEsipa`, …);
// rasn's derive copies them into a helper enum, so the allow sits on the module.
#![allow(clippy::enum_variant_names)]

use rasn::prelude::*;

use super::common::*;
use crate::codec::der::{CodecError, Known, Received};
use crate::codec::sgp22::{Signature, TransactionId};

/// `EuiccPackageResult ::= [81] CHOICE { euiccPackageResultSigned [0], euiccPackageErrorSigned [1], euiccPackageErrorUnsigned [2], ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice, tag(explicit(context, 81)))]
pub enum EuiccPackageResult {
    #[rasn(tag(context, 0))]
    EuiccPackageResultSigned(EuiccPackageResultSigned),
    #[rasn(tag(context, 1))]
    EuiccPackageErrorSigned(EuiccPackageErrorSigned),
    #[rasn(tag(context, 2))]
    EuiccPackageErrorUnsigned(EuiccPackageErrorUnsigned),
}

/// `EuiccPackageResultSigned ::= SEQUENCE { euiccPackageResultDataSigned, euiccSignEPR [APPLICATION 55] OCTET STRING, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct EuiccPackageResultSigned {
    pub euicc_package_result_data_signed: EuiccPackageResultDataSigned,
    pub euicc_sign_epr: Signature,
}

/// `EuiccPackageResultDataSigned ::= SEQUENCE { eimId [0] UTF8String (SIZE(1..128)), counterValue [1] INTEGER,
/// eimTransactionId [2] TransactionId OPTIONAL, seqNumber [3] INTEGER, euiccResult SEQUENCE OF EuiccResultData, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct EuiccPackageResultDataSigned {
    #[rasn(tag(context, 0), size("1..=128"))]
    pub eim_id: Utf8String,
    #[rasn(tag(context, 1))]
    pub counter_value: i64,
    #[rasn(tag(context, 2))]
    pub eim_transaction_id: Option<TransactionId>,
    /// The eUICC's own sequence number for this result; the eIM acknowledges it in [`EimAcknowledgements`].
    #[rasn(tag(context, 3))]
    pub seq_number: i64,
    pub euicc_result: SequenceOf<EuiccResultData>,
}

/// `EuiccResultData ::= CHOICE {…}` — one result per PSMO / eCO, in package order.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
pub enum EuiccResultData {
    /// `EnableProfileResult ::= INTEGER {ok(0), iccidOrAidNotFound(1), profileNotInDisabledState(2), disallowedByPolicy(3), catBusy(5), rollbackNotAvailable(20), undefinedError(127)}`
    #[rasn(tag(context, 3))]
    EnableResult(i64),
    /// `DisableProfileResult ::= INTEGER {ok(0), iccidOrAidNotFound(1), profileNotInEnabledState(2), disallowedByPolicy(3), catBusy(5), undefinedError(127)}`
    #[rasn(tag(context, 4))]
    DisableResult(i64),
    /// `DeleteProfileResult ::= INTEGER {ok(0), iccidOrAidNotFound(1), profileNotInDisabledState(2), disallowedByPolicy(3), rollbackNotAvailable(20), returnFallbackProfile(21), undefinedError(127)}`
    #[rasn(tag(context, 5))]
    DeleteResult(i64),
    #[rasn(tag(context, 45))]
    ListProfileInfoResult(ProfileInfoListResponse),
    #[rasn(tag(context, 6))]
    GetRatResult(RulesAuthorisationTable),
    /// `ConfigureImmediateEnableResult ::= INTEGER {ok(0), insufficientMemory(1), commandError(7), undefinedError(127)}`
    #[rasn(tag(context, 7))]
    ConfigureImmediateEnableResult(i64),
    /// `[8] AddEimResult` — a tagged CHOICE, so EXPLICIT (`A8 { 84 … | 02 … }`).
    #[rasn(tag(explicit(context, 8)))]
    AddEimResult(AddEimResult),
    /// `DeleteEimResult ::= INTEGER {ok(0), eimNotFound(1), lastEimDeleted(2), commandError(7), undefinedError(127)}`
    #[rasn(tag(context, 9))]
    DeleteEimResult(i64),
    /// `UpdateEimResult ::= INTEGER {ok(0), eimNotFound(1), ciPKUnknown(3), counterValueOutOfRange(6), commandError(7), undefinedError(127)}`
    #[rasn(tag(context, 10))]
    UpdateEimResult(i64),
    /// `[11] ListEimResult` — EXPLICIT (`AB { A0 … | 81 … }`).
    #[rasn(tag(explicit(context, 11)))]
    ListEimResult(ListEimResult),
    /// `RollbackProfileResult ::= INTEGER {ok(0), undefinedError(127)}`
    #[rasn(tag(context, 12))]
    RollbackResult(i64),
    /// `SetFallbackAttributeResult ::= INTEGER {ok(0), iccidOrAidNotFound(1), fallbackNotAllowed(2), fallbackProfileEnabled(3), undefinedError(127)}`
    #[rasn(tag(context, 13))]
    SetFallbackAttributeResult(i64),
    /// `UnsetFallbackAttributeResult ::= INTEGER {ok(0), noFallbackAttribute(2), fallbackProfileEnabled(3), commandError(7), undefinedError(127)}`
    #[rasn(tag(context, 14))]
    UnsetFallbackAttributeResult(i64),
    /// `processingTerminated INTEGER {resultSizeOverflow(1), unknownOrDamagedCommand(2), interruption(3), undefinedError(127)}` (`02`)
    ProcessingTerminated(i64),
    SetDefaultDpAddressResult(SetDefaultDpAddressResponse),
}

/// `AddEimResult ::= CHOICE { associationToken [4] INTEGER, addEimResultCode INTEGER {ok(0), insufficientMemory(1), …}, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
pub enum AddEimResult {
    #[rasn(tag(context, 4))]
    AssociationToken(i64),
    AddEimResultCode(i64),
}

/// `ListEimResult ::= CHOICE { eimIdList [0] SEQUENCE OF EimIdInfo, listEimError [1] INTEGER {undefinedError(127)}, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
pub enum ListEimResult {
    #[rasn(tag(context, 0))]
    EimIdList(SequenceOf<EimIdInfo>),
    #[rasn(tag(context, 1))]
    ListEimError(i64),
}

/// `EimIdInfo ::= SEQUENCE { eimId [0] UTF8String (SIZE(1..128)), eimIdType [2] EimIdType OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct EimIdInfo {
    #[rasn(tag(context, 0), size("1..=128"))]
    pub eim_id: Utf8String,
    #[rasn(tag(context, 2))]
    pub eim_id_type: Option<EimIdType>,
}

/// `SetDefaultDpAddressResponse ::= [101] SEQUENCE { setDefaultDpAddressResult [0] INTEGER {ok(0), undefinedError(127)}, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 101))]
pub struct SetDefaultDpAddressResponse {
    #[rasn(tag(context, 0))]
    pub set_default_dp_address_result: i64,
}

/// `EuiccPackageErrorSigned ::= SEQUENCE { euiccPackageErrorDataSigned, euiccSignEPE [APPLICATION 55] OCTET STRING, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct EuiccPackageErrorSigned {
    pub euicc_package_error_data_signed: EuiccPackageErrorDataSigned,
    pub euicc_sign_epe: Signature,
}

/// `EuiccPackageErrorDataSigned ::= SEQUENCE { eimId [0], counterValue [1] INTEGER, eimTransactionId [2] OPTIONAL, euiccPackageErrorCode, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct EuiccPackageErrorDataSigned {
    #[rasn(tag(context, 0), size("1..=128"))]
    pub eim_id: Utf8String,
    #[rasn(tag(context, 1))]
    pub counter_value: i64,
    #[rasn(tag(context, 2))]
    pub eim_transaction_id: Option<TransactionId>,
    /// `EuiccPackageErrorCode ::= INTEGER {invalidEid(3), replayError(4), counterValueOutOfRange(6), sizeOverflow(15), ecallActive(104), undefinedError(127)}`
    pub euicc_package_error_code: i64,
}

/// `EuiccPackageErrorUnsigned ::= SEQUENCE { eimId [0] UTF8String (SIZE(1..128)), eimTransactionId [2] OPTIONAL, associationToken [4] INTEGER OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct EuiccPackageErrorUnsigned {
    #[rasn(tag(context, 0), size("1..=128"))]
    pub eim_id: Utf8String,
    #[rasn(tag(context, 2))]
    pub eim_transaction_id: Option<TransactionId>,
    #[rasn(tag(context, 4))]
    pub association_token: Option<i64>,
}

/// `EimAcknowledgements ::= [83] SEQUENCE OF SequenceNumber` — the `seqNumber`s the eIM has processed.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
#[rasn(tag(context, 83), delegate)]
pub struct EimAcknowledgements(pub SequenceOf<SequenceNumber>);

/// `SequenceNumber ::= [0] INTEGER`
#[derive(AsnType, Decode, Encode, Debug, Clone, Copy, PartialEq, Eq)]
#[rasn(tag(context, 0), delegate)]
pub struct SequenceNumber(pub i64);

/// `EuiccPackageResultDataSigned` tags in v1.2; a newer eUICC's extra fields are dropped from the typed value
/// (the signature is still checked over the received bytes).
pub static EPR_DATA_SIGNED_KNOWN: Known = Known { tags: Some(&[0x80, 0x81, 0x82, 0x83, 0x30]), nested: &[] };
pub static EPR_SIGNED_KNOWN: Known = Known { tags: None, nested: &[(0x30, &EPR_DATA_SIGNED_KNOWN)] };
pub static EPE_DATA_SIGNED_KNOWN: Known = Known { tags: Some(&[0x80, 0x81, 0x82, 0x02]), nested: &[] };
pub static EPE_SIGNED_KNOWN: Known = Known { tags: None, nested: &[(0x30, &EPE_DATA_SIGNED_KNOWN)] };
pub static EUICC_PACKAGE_RESULT_KNOWN: Known =
    Known { tags: None, nested: &[(0xA0, &EPR_SIGNED_KNOWN), (0xA1, &EPE_SIGNED_KNOWN)] };

/// `euiccPackageResultDataSigned` inside `EuiccPackageResult` (`BF51 / A0 / 30`).
pub const PATH_EPR_DATA_SIGNED_IN_EUICC_PACKAGE_RESULT: &[u32] = &[0xBF51, 0xA0, 0x30];
/// `euiccPackageErrorDataSigned` inside `EuiccPackageResult` (`BF51 / A1 / 30`).
pub const PATH_EPE_DATA_SIGNED_IN_EUICC_PACKAGE_RESULT: &[u32] = &[0xBF51, 0xA1, 0x30];

/// The received `euiccPackageResultDataSigned` of one EuiccPackageResult (`BF51 …`), for `euiccSignEPR`
/// (SGP.32 v1.2 §2.11.2).
pub fn euicc_package_result_data_signed(
    euicc_package_result: &[u8],
) -> Result<Received<EuiccPackageResultDataSigned>, CodecError> {
    Received::at(euicc_package_result, PATH_EPR_DATA_SIGNED_IN_EUICC_PACKAGE_RESULT)
}

/// The received `euiccPackageErrorDataSigned` of one EuiccPackageResult (`BF51 …`), for `euiccSignEPE`.
pub fn euicc_package_error_data_signed(
    euicc_package_result: &[u8],
) -> Result<Received<EuiccPackageErrorDataSigned>, CodecError> {
    Received::at(euicc_package_result, PATH_EPE_DATA_SIGNED_IN_EUICC_PACKAGE_RESULT)
}

crate::codec::message!(EuiccPackageResult, "EuiccPackageResult", &EUICC_PACKAGE_RESULT_KNOWN);
crate::codec::message!(EuiccPackageResultSigned, "EuiccPackageResultSigned", &EPR_SIGNED_KNOWN);
crate::codec::message!(EuiccPackageResultDataSigned, "EuiccPackageResultDataSigned", &EPR_DATA_SIGNED_KNOWN);
crate::codec::message!(EuiccResultData, "EuiccResultData");
crate::codec::message!(EuiccPackageErrorSigned, "EuiccPackageErrorSigned", &EPE_SIGNED_KNOWN);
crate::codec::message!(EuiccPackageErrorDataSigned, "EuiccPackageErrorDataSigned", &EPE_DATA_SIGNED_KNOWN);
crate::codec::message!(EuiccPackageErrorUnsigned, "EuiccPackageErrorUnsigned");
crate::codec::message!(EimAcknowledgements, "EimAcknowledgements");
crate::codec::message!(SetDefaultDpAddressResponse, "SetDefaultDpAddressResponse");
crate::codec::message!(AddEimResult, "AddEimResult");
crate::codec::message!(ListEimResult, "ListEimResult");
