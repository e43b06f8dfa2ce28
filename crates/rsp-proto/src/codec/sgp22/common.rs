//! Basic SGP.22 v2.5 types shared by every function (SGP.22 v2.5 §2.5.3 data types, ASN.1 module
//! `RSPDefinitions`: TransactionId, OctetN, VersionType, Iccid, capability bit strings, OperatorId, NotificationMetadata).

use rasn::prelude::*;

/// `TransactionId ::= OCTET STRING (SIZE(1..16))`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Hash)]
#[rasn(delegate, size("1..=16"))]
pub struct TransactionId(pub OctetString);

/// `Octet1 ::= OCTET STRING (SIZE(1))` … `Octet32` (fixed sizes are checked on decode).
pub type Octet1 = FixedOctetString<1>;
pub type Octet2 = FixedOctetString<2>;
pub type Octet4 = FixedOctetString<4>;
pub type Octet8 = FixedOctetString<8>;
pub type Octet16 = FixedOctetString<16>;
pub type Octet32 = FixedOctetString<32>;

/// `OctetTo16 ::= OCTET STRING (SIZE(1..16))`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(delegate, size("1..=16"))]
pub struct OctetTo16(pub OctetString);

/// `VersionType ::= OCTET STRING (SIZE(3))` — major, minor, revision.
pub type VersionType = FixedOctetString<3>;

/// `Iccid ::= [APPLICATION 26] OCTET STRING (SIZE(10))` — BCD, nibble-swapped, `F`-padded.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Hash)]
#[rasn(tag(application, 26), delegate)]
pub struct Iccid(pub FixedOctetString<10>);

/// `SubjectKeyIdentifier ::= OCTET STRING` (RFC 5280, a CI public key identifier).
pub type SubjectKeyIdentifier = OctetString;

/// `UICCCapability ::= BIT STRING {…}` (SAIP `PEDefinitions`).
pub type UiccCapability = BitString;
/// `RspCapability ::= BIT STRING {additionalProfile(0), crlSupport(1), rpmSupport(2), testProfileSupport(3), …}`
pub type RspCapability = BitString;
/// `PprIds ::= BIT STRING {pprUpdateControl(0), ppr1(1), ppr2(2)}`
pub type PprIds = BitString;
/// `NotificationEvent ::= BIT STRING {notificationInstall(0), notificationEnable(1), notificationDisable(2), notificationDelete(3)}`
pub type NotificationEvent = BitString;

/// `ProfileClass ::= INTEGER {test(0), provisioning(1), operational(2)}`
pub type ProfileClass = i64;
/// `ProfileState ::= INTEGER {disabled(0), enabled(1)}`
pub type ProfileState = i64;
/// `IconType ::= INTEGER {jpg(0), png(1)}`
pub type IconType = i64;

/// `Certificate` (X.509, RFC 5280) carried verbatim; parse it with the `pki` module.
pub type Certificate = Any;

/// `[APPLICATION 55] OCTET STRING` — an ECDSA signature `r || s` (`5F37`).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(application, 55), delegate)]
pub struct Signature(pub OctetString);

/// `[APPLICATION 73] OCTET STRING` — a one-time public key (`5F49`).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(application, 73), delegate)]
pub struct Otpk(pub OctetString);

/// `[APPLICATION 15] OCTET STRING` — an AID (`4F`).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(application, 15), delegate)]
pub struct Aid(pub OctetString);

/// `CertificationDataObject ::= SEQUENCE { platformLabel [0] UTF8String, discoveryBaseURL [1] UTF8String, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct CertificationDataObject {
    #[rasn(tag(context, 0))]
    pub platform_label: Utf8String,
    #[rasn(tag(context, 1))]
    pub discovery_base_url: Utf8String,
}

/// `OperatorId ::= SEQUENCE { mccMnc [0] OCTET STRING (SIZE(3)), gid1 [1] …, gid2 [2] …, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct OperatorId {
    #[rasn(tag(context, 0))]
    pub mcc_mnc: FixedOctetString<3>,
    #[rasn(tag(context, 1))]
    pub gid1: Option<OctetString>,
    #[rasn(tag(context, 2))]
    pub gid2: Option<OctetString>,
}

/// `DpProprietaryData ::= SEQUENCE { dpOid [0] OBJECT IDENTIFIER, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct DpProprietaryData {
    #[rasn(tag(context, 0))]
    pub dp_oid: ObjectIdentifier,
}

/// `VendorSpecificExtension ::= SEQUENCE OF SEQUENCE { vendorOid [0] VENDOR-SPECIFIC.&id, vendorSpecificData [1] VENDOR-SPECIFIC.&Type }`
/// — open types, so both tags are EXPLICIT (X.680 §31.2.7); the data stays opaque.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct VendorSpecificExtensionItem {
    #[rasn(tag(explicit(context, 0)))]
    pub vendor_oid: ObjectIdentifier,
    #[rasn(tag(explicit(context, 1)))]
    pub vendor_specific_data: Any,
}
pub type VendorSpecificExtension = SequenceOf<VendorSpecificExtensionItem>;

/// `NotificationMetadata ::= [47] SEQUENCE { seqNumber [0] INTEGER, profileManagementOperation [1], notificationAddress UTF8String, iccid OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 47))]
pub struct NotificationMetadata {
    #[rasn(tag(context, 0))]
    pub seq_number: i64,
    #[rasn(tag(context, 1))]
    pub profile_management_operation: NotificationEvent,
    pub notification_address: Utf8String,
    pub iccid: Option<Iccid>,
}

crate::codec::message!(NotificationMetadata, "NotificationMetadata");
