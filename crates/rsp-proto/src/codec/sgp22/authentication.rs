//! Common mutual authentication, SGP.22 v2.5 §3.1.2 and ES9+ §5.6.1/§5.6.3, ES10b §5.7.13: ServerSigned1,
//! CtxParams1 (DeviceInfo, DeviceCapabilities), EUICCInfo1/2, AuthenticateServerResponse / EuiccSigned1,
//! InitiateAuthentication and AuthenticateClient requests and responses.

use rasn::prelude::*;

use super::common::*;
use super::download::StoreMetadataRequest;
use crate::codec::der::Known;

/// `ServerSigned1 ::= SEQUENCE { transactionId [0], euiccChallenge [1] Octet16, serverAddress [3] UTF8String, serverChallenge [4] Octet16, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct ServerSigned1 {
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    #[rasn(tag(context, 1))]
    pub euicc_challenge: Octet16,
    #[rasn(tag(context, 3))]
    pub server_address: Utf8String,
    #[rasn(tag(context, 4))]
    pub server_challenge: Octet16,
}

/// `CtxParams1 ::= CHOICE { ctxParamsForCommonAuthentication [0] CtxParamsForCommonAuthentication, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
pub enum CtxParams1 {
    #[rasn(tag(context, 0))]
    CtxParamsForCommonAuthentication(CtxParamsForCommonAuthentication),
}

/// `CtxParamsForCommonAuthentication ::= SEQUENCE { matchingId [0] UTF8String OPTIONAL, deviceInfo [1] DeviceInfo, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct CtxParamsForCommonAuthentication {
    #[rasn(tag(context, 0))]
    pub matching_id: Option<Utf8String>,
    #[rasn(tag(context, 1))]
    pub device_info: DeviceInfo,
}

/// `DeviceInfo ::= SEQUENCE { tac [0] Octet4, deviceCapabilities [1] DeviceCapabilities, imei [2] Octet8 OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    #[rasn(tag(context, 0))]
    pub tac: Octet4,
    #[rasn(tag(context, 1))]
    pub device_capabilities: DeviceCapabilities,
    #[rasn(tag(context, 2))]
    pub imei: Option<Octet8>,
}

/// `DeviceCapabilities ::= SEQUENCE { gsmSupportedRelease [0] VersionType OPTIONAL, … deviceAdditionalFeatureSupport [14] …, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceCapabilities {
    #[rasn(tag(context, 0))]
    pub gsm_supported_release: Option<VersionType>,
    #[rasn(tag(context, 1))]
    pub utran_supported_release: Option<VersionType>,
    #[rasn(tag(context, 2))]
    pub cdma2000onex_supported_release: Option<VersionType>,
    #[rasn(tag(context, 3))]
    pub cdma2000hrpd_supported_release: Option<VersionType>,
    #[rasn(tag(context, 4))]
    pub cdma2000ehrpd_supported_release: Option<VersionType>,
    #[rasn(tag(context, 5))]
    pub eutran_epc_supported_release: Option<VersionType>,
    #[rasn(tag(context, 6))]
    pub contactless_supported_release: Option<VersionType>,
    #[rasn(tag(context, 7))]
    pub rsp_crl_supported_version: Option<VersionType>,
    #[rasn(tag(context, 8))]
    pub nr_epc_supported_release: Option<VersionType>,
    #[rasn(tag(context, 9))]
    pub nr5gc_supported_release: Option<VersionType>,
    #[rasn(tag(context, 10))]
    pub eutran5gc_supported_release: Option<VersionType>,
    #[rasn(tag(context, 11))]
    pub lpa_svn: Option<VersionType>,
    /// `CatSupportedClasses ::= BIT STRING`
    #[rasn(tag(context, 12))]
    pub cat_supported_classes: Option<BitString>,
    /// `EuiccFormFactorType ::= INTEGER`
    #[rasn(tag(context, 13))]
    pub euicc_form_factor_type: Option<i64>,
    #[rasn(tag(context, 14))]
    pub device_additional_feature_support: Option<DeviceAdditionalFeatureSupport>,
}

/// `DeviceAdditionalFeatureSupport ::= SEQUENCE { naiSupport [0] VersionType OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct DeviceAdditionalFeatureSupport {
    #[rasn(tag(context, 0))]
    pub nai_support: Option<VersionType>,
}

/// `EUICCInfo1 ::= [32] SEQUENCE { svn [2] VersionType, euiccCiPKIdListForVerification [9] …, euiccCiPKIdListForSigning [10] …, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 32))]
pub struct EuiccInfo1 {
    #[rasn(tag(context, 2))]
    pub svn: VersionType,
    #[rasn(tag(context, 9))]
    pub euicc_ci_pkid_list_for_verification: SequenceOf<SubjectKeyIdentifier>,
    #[rasn(tag(context, 10))]
    pub euicc_ci_pkid_list_for_signing: SequenceOf<SubjectKeyIdentifier>,
}

/// `EUICCInfo2 ::= [34] SEQUENCE {…}` (SGP.22 v2.5 §5.7.8); v3 fields are dropped on decode.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 34))]
pub struct EuiccInfo2 {
    #[rasn(tag(context, 1))]
    pub profile_version: VersionType,
    #[rasn(tag(context, 2))]
    pub svn: VersionType,
    #[rasn(tag(context, 3))]
    pub euicc_firmware_ver: VersionType,
    #[rasn(tag(context, 4))]
    pub ext_card_resource: OctetString,
    #[rasn(tag(context, 5))]
    pub uicc_capability: UiccCapability,
    #[rasn(tag(context, 6))]
    pub ts102241_version: Option<VersionType>,
    #[rasn(tag(context, 7))]
    pub globalplatform_version: Option<VersionType>,
    #[rasn(tag(context, 8))]
    pub rsp_capability: RspCapability,
    #[rasn(tag(context, 9))]
    pub euicc_ci_pkid_list_for_verification: SequenceOf<SubjectKeyIdentifier>,
    #[rasn(tag(context, 10))]
    pub euicc_ci_pkid_list_for_signing: SequenceOf<SubjectKeyIdentifier>,
    /// `INTEGER {other(0), basicEuicc(1), mediumEuicc(2), contactlessEuicc(3)}`
    #[rasn(tag(context, 11))]
    pub euicc_category: Option<i64>,
    #[rasn(tag(context, 25))]
    pub forbidden_profile_policy_rules: Option<PprIds>,
    pub pp_version: VersionType,
    #[rasn(size("0..=64"))]
    pub sas_acreditation_number: Utf8String,
    #[rasn(tag(context, 12))]
    pub certification_data_object: Option<CertificationDataObject>,
    /// `BIT STRING {isDiscrete(0), isIntegrated(1), usesRemoteMemory(2)}`
    #[rasn(tag(context, 13))]
    pub tre_properties: Option<BitString>,
    #[rasn(tag(context, 14))]
    pub tre_product_reference: Option<Utf8String>,
    #[rasn(tag(context, 15))]
    pub additional_euicc_profile_package_versions: Option<SequenceOf<VersionType>>,
}

/// `AuthenticateServerResponse ::= [56] CHOICE { authenticateResponseOk [0], authenticateResponseError [1], ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice, tag(explicit(context, 56)))]
#[allow(clippy::large_enum_variant)] // one value per request; mirrors the spec CHOICE
pub enum AuthenticateServerResponse {
    #[rasn(tag(context, 0))]
    AuthenticateResponseOk(AuthenticateResponseOk),
    #[rasn(tag(context, 1))]
    AuthenticateResponseError(AuthenticateResponseError),
}

/// `AuthenticateResponseOk ::= SEQUENCE { euiccSigned1, euiccSignature1 [APPLICATION 55], euiccCertificate, eumCertificate, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct AuthenticateResponseOk {
    pub euicc_signed1: EuiccSigned1,
    pub euicc_signature1: Signature,
    pub euicc_certificate: Certificate,
    pub eum_certificate: Certificate,
}

/// `AuthenticateResponseError ::= SEQUENCE { transactionId [0], authenticateErrorCode AuthenticateErrorCode, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct AuthenticateResponseError {
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    /// `AuthenticateErrorCode ::= INTEGER {invalidCertificate(1), …, undefinedError(127)}`
    pub authenticate_error_code: i64,
}

/// `EuiccSigned1 ::= SEQUENCE { transactionId [0], serverAddress [3], serverChallenge [4], euiccInfo2 [34], ctxParams1, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct EuiccSigned1 {
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    #[rasn(tag(context, 3))]
    pub server_address: Utf8String,
    #[rasn(tag(context, 4))]
    pub server_challenge: Octet16,
    pub euicc_info2: EuiccInfo2,
    pub ctx_params1: CtxParams1,
}

/// `InitiateAuthenticationRequest ::= [57] SEQUENCE { euiccChallenge [1] Octet16, smdpAddress [3] UTF8String, euiccInfo1, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 57))]
pub struct InitiateAuthenticationRequest {
    #[rasn(tag(context, 1))]
    pub euicc_challenge: Octet16,
    #[rasn(tag(context, 3))]
    pub smdp_address: Utf8String,
    pub euicc_info1: EuiccInfo1,
}

/// `InitiateAuthenticationResponse ::= [57] CHOICE { initiateAuthenticationOk [0], initiateAuthenticationError [1] INTEGER {…}, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice, tag(explicit(context, 57)))]
pub enum InitiateAuthenticationResponse {
    #[rasn(tag(context, 0))]
    InitiateAuthenticationOk(InitiateAuthenticationOkEs9),
    /// `invalidDpAddress(1), euiccVersionNotSupportedByDp(2), ciPKNotSupported(3)`
    #[rasn(tag(context, 1))]
    InitiateAuthenticationError(i64),
}

/// `InitiateAuthenticationOkEs9 ::= SEQUENCE { transactionId [0], serverSigned1, serverSignature1 [APPLICATION 55], euiccCiPKIdToBeUsed, serverCertificate, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct InitiateAuthenticationOkEs9 {
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    pub server_signed1: ServerSigned1,
    pub server_signature1: Signature,
    pub euicc_ci_pkid_to_be_used: SubjectKeyIdentifier,
    pub server_certificate: Certificate,
}

/// `AuthenticateClientRequest ::= [59] SEQUENCE { transactionId [0], authenticateServerResponse [56], ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 59))]
pub struct AuthenticateClientRequest {
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    pub authenticate_server_response: AuthenticateServerResponse,
}

/// `AuthenticateClientResponseEs9 ::= [59] CHOICE { authenticateClientOk [0], authenticateClientError [1] INTEGER {…}, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice, tag(explicit(context, 59)))]
#[allow(clippy::large_enum_variant)] // one value per request; mirrors the spec CHOICE
pub enum AuthenticateClientResponseEs9 {
    #[rasn(tag(context, 0))]
    AuthenticateClientOk(AuthenticateClientOk),
    /// `eumCertificateInvalid(1), …, insufficientMemory(11), undefinedError(127)`
    #[rasn(tag(context, 1))]
    AuthenticateClientError(i64),
}

/// `AuthenticateClientOk ::= SEQUENCE { transactionId [0], profileMetaData [37], smdpSigned2, smdpSignature2 [APPLICATION 55], smdpCertificate, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct AuthenticateClientOk {
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    pub profile_meta_data: StoreMetadataRequest,
    pub smdp_signed2: super::download::SmdpSigned2,
    pub smdp_signature2: Signature,
    pub smdp_certificate: Certificate,
}

/// Tags of `EUICCInfo2` in SGP.22 v2.5; anything else (v3: `ipaMode`, `iotSpecificInfo`, …) is dropped.
pub static EUICC_INFO2_KNOWN: Known = Known {
    tags: Some(&[
        0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0xA9, 0xAA, 0x8B, 0x99, 0x04, 0x0C, 0xAC, 0x8D, 0x8E, 0xAF,
    ]),
    nested: &[],
};
/// Tags of `EUICCInfo1` in SGP.22 v2.5.
pub static EUICC_INFO1_KNOWN: Known = Known { tags: Some(&[0x82, 0xA9, 0xAA]), nested: &[] };
/// `DeviceCapabilities` [0]…[14] (a newer LPA reports more releases).
pub static DEVICE_CAPABILITIES_KNOWN: Known = Known {
    tags: Some(&[0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8B, 0x8C, 0x8D, 0xAE]),
    nested: &[],
};
pub static DEVICE_INFO_KNOWN: Known =
    Known { tags: Some(&[0x80, 0xA1, 0x82]), nested: &[(0xA1, &DEVICE_CAPABILITIES_KNOWN)] };
pub static CTX_PARAMS_COMMON_KNOWN: Known = Known { tags: Some(&[0x80, 0xA1]), nested: &[(0xA1, &DEVICE_INFO_KNOWN)] };
pub static EUICC_SIGNED1_KNOWN: Known = Known {
    tags: Some(&[0x80, 0x83, 0x84, 0xBF22, 0xA0]),
    nested: &[(0xBF22, &EUICC_INFO2_KNOWN), (0xA0, &CTX_PARAMS_COMMON_KNOWN)],
};
pub static AUTHENTICATE_RESPONSE_OK_KNOWN: Known = Known { tags: None, nested: &[(0x30, &EUICC_SIGNED1_KNOWN)] };
pub static AUTHENTICATE_SERVER_RESPONSE_KNOWN: Known =
    Known { tags: None, nested: &[(0xA0, &AUTHENTICATE_RESPONSE_OK_KNOWN)] };
pub static AUTHENTICATE_CLIENT_REQUEST_KNOWN: Known =
    Known { tags: None, nested: &[(0xBF38, &AUTHENTICATE_SERVER_RESPONSE_KNOWN)] };
pub static INITIATE_AUTHENTICATION_REQUEST_KNOWN: Known = Known { tags: None, nested: &[(0xBF20, &EUICC_INFO1_KNOWN)] };

crate::codec::message!(ServerSigned1, "ServerSigned1");
crate::codec::message!(CtxParams1, "CtxParams1", &CTX_PARAMS_COMMON_KNOWN);
crate::codec::message!(DeviceInfo, "DeviceInfo", &DEVICE_INFO_KNOWN);
crate::codec::message!(DeviceCapabilities, "DeviceCapabilities", &DEVICE_CAPABILITIES_KNOWN);
crate::codec::message!(EuiccInfo1, "EUICCInfo1", &EUICC_INFO1_KNOWN);
crate::codec::message!(EuiccInfo2, "EUICCInfo2", &EUICC_INFO2_KNOWN);
crate::codec::message!(EuiccSigned1, "EuiccSigned1", &EUICC_SIGNED1_KNOWN);
crate::codec::message!(AuthenticateServerResponse, "AuthenticateServerResponse", &AUTHENTICATE_SERVER_RESPONSE_KNOWN);
crate::codec::message!(AuthenticateResponseOk, "AuthenticateResponseOk", &AUTHENTICATE_RESPONSE_OK_KNOWN);
crate::codec::message!(AuthenticateResponseError, "AuthenticateResponseError");
crate::codec::message!(
    InitiateAuthenticationRequest,
    "InitiateAuthenticationRequest",
    &INITIATE_AUTHENTICATION_REQUEST_KNOWN
);
crate::codec::message!(InitiateAuthenticationResponse, "InitiateAuthenticationResponse");
crate::codec::message!(InitiateAuthenticationOkEs9, "InitiateAuthenticationOkEs9");
crate::codec::message!(AuthenticateClientRequest, "AuthenticateClientRequest", &AUTHENTICATE_CLIENT_REQUEST_KNOWN);
crate::codec::message!(AuthenticateClientResponseEs9, "AuthenticateClientResponseEs9");
crate::codec::message!(AuthenticateClientOk, "AuthenticateClientOk");
