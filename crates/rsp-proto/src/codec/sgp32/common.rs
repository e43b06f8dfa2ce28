//! Types shared by the SGP.32 v1.2 ESipa / eIM package messages (SGP.32 v1.2 §2.11.1, §6.3; X.509 parts that
//! SGP.32 re-tags IMPLICITLY, RFC 5280 §4.1): EID, eIM identifiers, SubjectPublicKeyInfo and Certificate
//! in their `[n] IMPLICIT` forms, SGP.32 `ProfileInfo` (with the fallback fields), ES10c
//! ProfileInfoListRequest / Response and RulesAuthorisationTable as SGP.32 v1.2 imports them.

use rasn::prelude::*;

use crate::codec::der::CodecError;
use crate::codec::sgp22::{
    DpProprietaryData, Iccid, IconType, NotificationConfigurationInformation, OctetTo16, OperatorId, PprIds,
    ProfileClass, ProfileState, VendorSpecificExtension,
};

/// `eidValue [APPLICATION 26] Octet16` — the 16-byte EID (`5A 10 …`) as carried in ESipa messages.
pub type EidValue = FixedOctetString<16>;

/// `EimIdType ::= INTEGER {eimIdTypeOid(1), eimIdTypeFqdn(2), eimIdTypeProprietary(3)}`
pub type EimIdType = i64;

/// `SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }`
/// (RFC 5280 §4.1.2.7). SGP.32 carries it IMPLICITLY tagged (`eimPublicKey [0]`: the SPKI with its `30`
/// replaced by `A0`), so it is a real SEQUENCE type here; `algorithm` stays opaque (its DER as received).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct SubjectPublicKeyInfo {
    pub algorithm: Any,
    pub subject_public_key: BitString,
}

impl SubjectPublicKeyInfo {
    /// Splits the DER of a plain (`30 …`) SubjectPublicKeyInfo, e.g. from a PEM public key.
    pub fn from_der(spki: &[u8]) -> Result<Self, CodecError> {
        rasn::der::decode(spki)
            .map_err(|e| CodecError::Decode { type_name: "SubjectPublicKeyInfo", message: e.to_string() })
    }

    /// The plain (`30 …`) DER, as openssl and the `pki` module expect it.
    pub fn to_der(&self) -> Result<Vec<u8>, CodecError> {
        rasn::der::encode(self)
            .map_err(|e| CodecError::Encode { type_name: "SubjectPublicKeyInfo", message: e.to_string() })
    }
}

/// `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature BIT STRING }` (RFC 5280 §4.1)
/// for fields that re-tag a certificate IMPLICITLY (`eimCertificate [1]`, `IpaEuiccData.eumCertificate [5]`):
/// the three parts stay opaque; [`ImplicitCertificate::to_der`] gives the usual `30 …` certificate back.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct ImplicitCertificate {
    pub tbs_certificate: Any,
    pub signature_algorithm: Any,
    pub signature: BitString,
}

impl ImplicitCertificate {
    /// Splits the DER of a plain (`30 …`) X.509 certificate.
    pub fn from_der(cert: &[u8]) -> Result<Self, CodecError> {
        rasn::der::decode(cert).map_err(|e| CodecError::Decode { type_name: "Certificate", message: e.to_string() })
    }

    /// The plain (`30 …`) certificate DER.
    pub fn to_der(&self) -> Result<Vec<u8>, CodecError> {
        rasn::der::encode(self).map_err(|e| CodecError::Encode { type_name: "Certificate", message: e.to_string() })
    }
}

/// `ProfileInfoListRequest ::= [45] SEQUENCE { searchCriteria [0] CHOICE {…} OPTIONAL, tagList [APPLICATION 28] OCTET STRING OPTIONAL, ... }`
/// (SGP.22 v2.5 §5.7.15 ES10c.GetProfilesInfo; the `listProfileInfo` PSMO, SGP.32 v1.2 §5.9.4).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
#[rasn(tag(context, 45))]
pub struct ProfileInfoListRequest {
    #[rasn(tag(explicit(context, 0)))]
    pub search_criteria: Option<ProfileInfoSearchCriteria>,
    #[rasn(tag(application, 28))]
    pub tag_list: Option<OctetString>,
}

/// `searchCriteria [0] CHOICE { isdpAid [APPLICATION 15] OctetTo16, iccid Iccid, profileClass [21] ProfileClass, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
pub enum ProfileInfoSearchCriteria {
    #[rasn(tag(application, 15))]
    IsdpAid(OctetTo16),
    Iccid(Iccid),
    #[rasn(tag(context, 21))]
    ProfileClass(ProfileClass),
}

/// `ProfileInfoListResponse ::= [45] CHOICE { profileInfoListOk [0] SEQUENCE OF ProfileInfo, profileInfoListError [1] ProfileInfoListError, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice, tag(explicit(context, 45)))]
pub enum ProfileInfoListResponse {
    #[rasn(tag(context, 0))]
    ProfileInfoListOk(SequenceOf<ProfileInfo>),
    /// `ProfileInfoListError ::= INTEGER {incorrectInputValues(1), profileChangeOngoing(11), undefinedError(127)}`
    #[rasn(tag(context, 1))]
    ProfileInfoListError(i64),
}

fn default_fallback_attribute() -> bool {
    false
}

/// `ProfileInfo ::= [PRIVATE 3] SEQUENCE {…}` as SGP.32 v1.2 §2.11.1.1 extends it (`ecallIndication [123]`,
/// `fallbackAttribute [38] BOOLEAN DEFAULT FALSE`, `fallbackAllowed [103]`).
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
    #[rasn(tag(context, 123))]
    pub ecall_indication: Option<bool>,
    #[rasn(tag(context, 38), default = "default_fallback_attribute")]
    pub fallback_attribute: bool,
    #[rasn(tag(context, 103))]
    pub fallback_allowed: Option<bool>,
}

/// `RulesAuthorisationTable ::= SEQUENCE OF ProfilePolicyAuthorisationRule` (SGP.22 v2.5 §2.9.2.2; `getRAT`).
pub type RulesAuthorisationTable = SequenceOf<ProfilePolicyAuthorisationRule>;

/// `ProfilePolicyAuthorisationRule ::= SEQUENCE { pprIds [0] PprIds, allowedOperators [1] SEQUENCE OF OperatorId, pprFlags [2] BIT STRING {consentRequired(0)}, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct ProfilePolicyAuthorisationRule {
    #[rasn(tag(context, 0))]
    pub ppr_ids: PprIds,
    #[rasn(tag(context, 1))]
    pub allowed_operators: SequenceOf<OperatorId>,
    #[rasn(tag(context, 2))]
    pub ppr_flags: BitString,
}

crate::codec::message!(SubjectPublicKeyInfo, "SubjectPublicKeyInfo");
crate::codec::message!(ProfileInfoListRequest, "ProfileInfoListRequest");
crate::codec::message!(ProfileInfoListResponse, "ProfileInfoListResponse");
crate::codec::message!(ProfileInfo, "ProfileInfo");
crate::codec::message!(ProfilePolicyAuthorisationRule, "ProfilePolicyAuthorisationRule");
