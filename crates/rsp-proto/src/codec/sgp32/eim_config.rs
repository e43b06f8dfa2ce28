//! eIM configuration, SGP.32 v1.2 §2.11.1.2 (eIM configuration data), §5.9.12 addEim / §5.9.14 updateEim,
//! §5.14.x ES10b.GetEimConfigurationData (`BF55`) and ES10b.AddInitialEim (`BF57`).
//!
//! `counterValue [3]` is the initial replay counter the eUICC accepts from this eIM; `eimPublicKeyData [5]` is a
//! tagged CHOICE, hence EXPLICIT: `A5 { A0 <SPKI contents> }` (the SPKI's `30` becomes `A0`) or
//! `A5 { A1 <certificate contents> }`.

use rasn::prelude::*;

use super::common::*;
use crate::codec::sgp22::SubjectKeyIdentifier;

/// `EimSupportedProtocol ::= BIT STRING {eimRetrieveHttps(0), eimRetrieveCoaps(1), eimInjectHttps(2), eimInjectCoaps(3), eimProprietary(4)}`
pub type EimSupportedProtocol = BitString;

/// `EimConfigurationData ::= SEQUENCE {…}` (SGP.32 v1.2 §2.11.1.2).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct EimConfigurationData {
    #[rasn(tag(context, 0), size("1..=128"))]
    pub eim_id: Utf8String,
    #[rasn(tag(context, 1))]
    pub eim_fqdn: Option<Utf8String>,
    #[rasn(tag(context, 2))]
    pub eim_id_type: Option<EimIdType>,
    #[rasn(tag(context, 3))]
    pub counter_value: Option<i64>,
    #[rasn(tag(context, 4))]
    pub association_token: Option<i64>,
    #[rasn(tag(explicit(context, 5)))]
    pub eim_public_key_data: Option<EimPublicKeyData>,
    #[rasn(tag(explicit(context, 6)))]
    pub trusted_public_key_data_tls: Option<TrustedPublicKeyDataTls>,
    #[rasn(tag(context, 7))]
    pub eim_supported_protocol: Option<EimSupportedProtocol>,
    #[rasn(tag(context, 8))]
    pub euicc_ci_pkid: Option<SubjectKeyIdentifier>,
    #[rasn(tag(context, 9))]
    pub indirect_profile_download: Option<()>,
}

impl EimConfigurationData {
    /// Only the mandatory `eimId`; set the other fields as needed.
    pub fn new(eim_id: impl Into<Utf8String>) -> Self {
        EimConfigurationData {
            eim_id: eim_id.into(),
            eim_fqdn: None,
            eim_id_type: None,
            counter_value: None,
            association_token: None,
            eim_public_key_data: None,
            trusted_public_key_data_tls: None,
            eim_supported_protocol: None,
            euicc_ci_pkid: None,
            indirect_profile_download: None,
        }
    }

    /// What a device factory loads with AddInitialEim, or addEim carries (§2.11.1.2): `eimId`, `eimFqdn`,
    /// `eimIdType` fqdn, the initial `counterValue [3]`, `associationToken [4]` when the eUICC is asked to issue
    /// one (present = "please issue one"), and PK.EIM.ECDSA as `eimPublicKeyData [5] { eimPublicKey [0] SPKI }`
    /// from its SubjectPublicKeyInfo DER.
    pub fn for_fqdn(
        eim_id: &str,
        eim_fqdn: &str,
        eim_public_key_spki_der: &[u8],
        counter_value: i64,
        ask_association_token: bool,
    ) -> Result<Self, crate::codec::CodecError> {
        let mut config = EimConfigurationData::new(eim_id);
        config.eim_fqdn = Some(eim_fqdn.into());
        config.eim_id_type = Some(EIM_ID_TYPE_FQDN);
        config.counter_value = Some(counter_value);
        config.association_token = ask_association_token.then_some(0);
        config.eim_public_key_data =
            Some(EimPublicKeyData::EimPublicKey(SubjectPublicKeyInfo::from_der(eim_public_key_spki_der)?));
        Ok(config)
    }
}

/// `eimIdType` (§2.11.1.2): `eimIdTypeFqdn(2)`.
pub const EIM_ID_TYPE_FQDN: i64 = 2;

/// `eimPublicKeyData [5] CHOICE { eimPublicKey [0] SubjectPublicKeyInfo, eimCertificate [1] Certificate, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
pub enum EimPublicKeyData {
    #[rasn(tag(context, 0))]
    EimPublicKey(SubjectPublicKeyInfo),
    #[rasn(tag(context, 1))]
    EimCertificate(ImplicitCertificate),
}

/// `trustedPublicKeyDataTls [6] CHOICE { trustedEimPkTls [0] SubjectPublicKeyInfo, trustedCertificateTls [1] Certificate, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
pub enum TrustedPublicKeyDataTls {
    #[rasn(tag(context, 0))]
    TrustedEimPkTls(SubjectPublicKeyInfo),
    #[rasn(tag(context, 1))]
    TrustedCertificateTls(ImplicitCertificate),
}

/// `GetEimConfigurationDataRequest ::= [85] SEQUENCE { searchCriteria [0] EXPLICIT CHOICE { eimId [0] UTF8String (SIZE(1..128)), ... } OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
#[rasn(tag(context, 85))]
pub struct GetEimConfigurationDataRequest {
    #[rasn(tag(explicit(context, 0)))]
    pub search_criteria: Option<EimSearchCriteria>,
}

/// `searchCriteria CHOICE { eimId [0] UTF8String (SIZE(1..128)), ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
pub enum EimSearchCriteria {
    #[rasn(tag(context, 0), size("1..=128"))]
    EimId(Utf8String),
}

/// `GetEimConfigurationDataResponse ::= [85] SEQUENCE { eimConfigurationDataList [0] SEQUENCE OF EimConfigurationData, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 85))]
pub struct GetEimConfigurationDataResponse {
    #[rasn(tag(context, 0))]
    pub eim_configuration_data_list: SequenceOf<EimConfigurationData>,
}

/// `AddInitialEimRequest ::= [87] SEQUENCE { eimConfigurationDataList [0] SEQUENCE OF EimConfigurationData, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 87))]
pub struct AddInitialEimRequest {
    #[rasn(tag(context, 0))]
    pub eim_configuration_data_list: SequenceOf<EimConfigurationData>,
}

/// `AddInitialEimResponse ::= [87] CHOICE { addInitialEimOk [0] SEQUENCE OF CHOICE {…}, addInitialEimError [1] INTEGER {…}, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice, tag(explicit(context, 87)))]
pub enum AddInitialEimResponse {
    #[rasn(tag(context, 0))]
    AddInitialEimOk(SequenceOf<AddInitialEimOkItem>),
    /// `insufficientMemory(1), associatedEimAlreadyExists(2), ciPKUnknown(3), invalidAssociationToken(5),
    /// counterValueOutOfRange(6), commandError(7), undefinedError(127)`
    #[rasn(tag(context, 1))]
    AddInitialEimError(i64),
}

/// `CHOICE { associationToken [4] INTEGER, addOk NULL, ... }` — one per eIM in the request.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
pub enum AddInitialEimOkItem {
    #[rasn(tag(context, 4))]
    AssociationToken(i64),
    AddOk(()),
}

crate::codec::message!(EimConfigurationData, "EimConfigurationData");
crate::codec::message!(GetEimConfigurationDataRequest, "GetEimConfigurationDataRequest");
crate::codec::message!(GetEimConfigurationDataResponse, "GetEimConfigurationDataResponse");
crate::codec::message!(AddInitialEimRequest, "AddInitialEimRequest");
crate::codec::message!(AddInitialEimResponse, "AddInitialEimResponse");
