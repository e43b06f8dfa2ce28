//! eUICC packages from the eIM, SGP.32 v1.2 §2.11.1 (eIM package), §5.9.1 ESep.ExecuteEuiccPackage (PSMOs,
//! §5.9.2–§5.9.11) and §5.9.12–§5.9.15 (eCOs): EuiccPackageRequest `BF51`, the signed EuiccPackageSigned, the
//! EuiccPackage CHOICE (`psmoList [0]` = `A0`, `ecoList [1]` = `A1`), every PSMO and eCO of v1.2.
//!
//! `eimSignature` (§2.11.1.1) is ECDSA over `DER(euiccPackageSigned) || associationToken` — the eIM is the
//! signer, so [`crate::codec::Received::from_value`] gives the bytes to sign.

use rasn::prelude::*;

use super::common::*;
use super::eim_config::EimConfigurationData;
use crate::codec::sgp22::{Iccid, Signature, TransactionId};

/// `EuiccPackageRequest ::= [81] SEQUENCE { euiccPackageSigned EuiccPackageSigned, eimSignature [APPLICATION 55] OCTET STRING, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 81))]
pub struct EuiccPackageRequest {
    pub euicc_package_signed: EuiccPackageSigned,
    pub eim_signature: Signature,
}

/// `EuiccPackageSigned ::= SEQUENCE { eimId [0] UTF8String (SIZE(1..128)), eidValue [APPLICATION 26] Octet16,
/// counterValue [1] INTEGER, eimTransactionId [2] TransactionId OPTIONAL, euiccPackage EuiccPackage, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct EuiccPackageSigned {
    #[rasn(tag(context, 0), size("1..=128"))]
    pub eim_id: Utf8String,
    #[rasn(tag(application, 26))]
    pub eid_value: EidValue,
    #[rasn(tag(context, 1))]
    pub counter_value: i64,
    #[rasn(tag(context, 2))]
    pub eim_transaction_id: Option<TransactionId>,
    pub euicc_package: EuiccPackage,
}

/// `EuiccPackage ::= CHOICE { psmoList [0] SEQUENCE OF Psmo, ecoList [1] SEQUENCE OF Eco, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
pub enum EuiccPackage {
    #[rasn(tag(context, 0))]
    PsmoList(SequenceOf<Psmo>),
    #[rasn(tag(context, 1))]
    EcoList(SequenceOf<Eco>),
}

/// `Psmo ::= CHOICE {…}` — Profile State Management Operations (SGP.32 v1.2 §5.9.2–§5.9.11).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
pub enum Psmo {
    /// `enable [3] SEQUENCE { iccid Iccid, rollbackFlag NULL OPTIONAL, ... }`
    #[rasn(tag(context, 3))]
    Enable(PsmoEnable),
    /// `disable [4] SEQUENCE { iccid Iccid, ... }`
    #[rasn(tag(context, 4))]
    Disable(PsmoIccid),
    /// `delete [5] SEQUENCE { iccid Iccid, ... }`
    #[rasn(tag(context, 5))]
    Delete(PsmoIccid),
    /// `listProfileInfo [45] ProfileInfoListRequest`
    ListProfileInfo(ProfileInfoListRequest),
    /// `getRAT [6] SEQUENCE { ... }`
    #[rasn(tag(context, 6))]
    GetRat(Empty),
    /// `configureImmediateEnable [7] SEQUENCE {…}` (new in v1.2 numbering)
    #[rasn(tag(context, 7))]
    ConfigureImmediateEnable(ConfigureImmediateEnable),
    /// `setFallbackAttribute [8] SEQUENCE { iccid Iccid, ... }`
    #[rasn(tag(context, 8))]
    SetFallbackAttribute(PsmoIccid),
    /// `unsetFallbackAttribute [9] SEQUENCE { ... }`
    #[rasn(tag(context, 9))]
    UnsetFallbackAttribute(Empty),
    /// `setDefaultDpAddress [101] SetDefaultDpAddressRequest`
    SetDefaultDpAddress(SetDefaultDpAddressRequest),
}

/// `enable [3] SEQUENCE { iccid [APPLICATION 26] Iccid, rollbackFlag NULL OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PsmoEnable {
    pub iccid: Iccid,
    pub rollback_flag: Option<()>,
}

/// `SEQUENCE { iccid [APPLICATION 26] Iccid, ... }` — the body of `disable`, `delete` and `setFallbackAttribute`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PsmoIccid {
    pub iccid: Iccid,
}

/// `SEQUENCE { ... }` — the body of `getRAT`, `unsetFallbackAttribute`, `listEim` and `emptyResponse`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
pub struct Empty {}

/// `configureImmediateEnable [7] SEQUENCE { immediateEnableFlag [0] NULL OPTIONAL, defaultSmdpOid [1] OBJECT IDENTIFIER OPTIONAL, defaultSmdpAddress [2] UTF8String OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigureImmediateEnable {
    #[rasn(tag(context, 0))]
    pub immediate_enable_flag: Option<()>,
    #[rasn(tag(context, 1))]
    pub default_smdp_oid: Option<ObjectIdentifier>,
    #[rasn(tag(context, 2))]
    pub default_smdp_address: Option<Utf8String>,
}

/// `SetDefaultDpAddressRequest ::= [101] SEQUENCE { defaultDpAddress [0] UTF8String, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 101))]
pub struct SetDefaultDpAddressRequest {
    #[rasn(tag(context, 0))]
    pub default_dp_address: Utf8String,
}

/// `Eco ::= CHOICE {…}` — eIM Configuration Operations (SGP.32 v1.2 §5.9.12–§5.9.15).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
pub enum Eco {
    /// `addEim [8] EimConfigurationData`
    #[rasn(tag(context, 8))]
    AddEim(EimConfigurationData),
    /// `deleteEim [9] SEQUENCE { eimId [0] UTF8String, ... }`
    #[rasn(tag(context, 9))]
    DeleteEim(DeleteEim),
    /// `updateEim [10] EimConfigurationData`
    #[rasn(tag(context, 10))]
    UpdateEim(EimConfigurationData),
    /// `listEim [11] SEQUENCE { ... }`
    #[rasn(tag(context, 11))]
    ListEim(Empty),
}

/// `deleteEim [9] SEQUENCE { eimId [0] UTF8String, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct DeleteEim {
    #[rasn(tag(context, 0))]
    pub eim_id: Utf8String,
}

crate::codec::message!(EuiccPackageRequest, "EuiccPackageRequest");
crate::codec::message!(EuiccPackageSigned, "EuiccPackageSigned");
crate::codec::message!(EuiccPackage, "EuiccPackage");
crate::codec::message!(Psmo, "Psmo");
crate::codec::message!(Eco, "Eco");
crate::codec::message!(SetDefaultDpAddressRequest, "SetDefaultDpAddressRequest");
crate::codec::message!(ConfigureImmediateEnable, "ConfigureImmediateEnable");
