//! Indirect profile download over ESipa, SGP.32 v1.2 §6.3.2.x / §5.14: the `…Esipa` forms of ES9+
//! InitiateAuthentication `BF39`, AuthenticateClient `BF3B`, GetBoundProfilePackage `BF3A`, CancelSession `BF41`
//! and HandleNotification `BF3D` (SGP.22 v2.5 §5.6), reusing the SGP.22 types inside; plus the SGP.22
//! BoundProfilePackage `BF36` (§2.5.5) typed, as the ESipa response carries it.
//!
//! Where an ESipa request is byte-identical to its ES9+ form, the ESipa type is a `delegate` newtype over the
//! SGP.22 type (same DER, its own name). Not covered: SGP.32's compact alternatives (`compact…` in
//! AuthenticateServerResponse, PrepareDownloadResponse, CancelSessionResponse, PendingNotification).

// Variant names are the spec's alternative names (`euiccPackageResultSigned`, `authenticateClientOkDPEsipa`, …);
// rasn's derive copies them into a helper enum, so the allow sits on the module.
#![allow(clippy::enum_variant_names)]

use rasn::prelude::*;

use super::download_trigger::ProfileDownloadTriggerRequest;
use super::esipa::{ProvideEimPackageResult, EIM_PACKAGE_RESULT_KNOWN};
use crate::codec::der::Known;
use crate::codec::sgp22::{
    AuthenticateClientRequest, CancelSessionRequestEs9, CancelSessionResponseEs9, Certificate, CtxParams1, EuiccInfo1,
    GetBoundProfilePackageRequest, Octet1, Octet16, Octet32, OctetTo16, Otpk, PendingNotification, ServerSigned1,
    Signature, SmdpSigned2, StoreMetadataRequest, SubjectKeyIdentifier, TransactionId,
    AUTHENTICATE_CLIENT_REQUEST_KNOWN, EUICC_INFO1_KNOWN,
};

/// `InitiateAuthenticationRequestEsipa ::= [57] SEQUENCE { euiccChallenge [1] Octet16, smdpAddress [3] UTF8String OPTIONAL,
/// euiccInfo1 EUICCInfo1 OPTIONAL, eimTransactionId [2] TransactionId OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 57))]
pub struct InitiateAuthenticationRequestEsipa {
    #[rasn(tag(context, 1))]
    pub euicc_challenge: Octet16,
    #[rasn(tag(context, 3))]
    pub smdp_address: Option<Utf8String>,
    pub euicc_info1: Option<EuiccInfo1>,
    #[rasn(tag(context, 2))]
    pub eim_transaction_id: Option<TransactionId>,
}

/// `InitiateAuthenticationResponseEsipa ::= [57] CHOICE { initiateAuthenticationOkEsipa [0], initiateAuthenticationErrorEsipa [1] INTEGER {…}, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice, tag(explicit(context, 57)))]
#[allow(clippy::large_enum_variant)] // one value per message; mirrors the spec CHOICE
pub enum InitiateAuthenticationResponseEsipa {
    #[rasn(tag(context, 0))]
    InitiateAuthenticationOkEsipa(InitiateAuthenticationOkEsipa),
    /// `invalidDpAddress(1), euiccVersionNotSupportedByDp(2), ciPKIdNotSupported(3), smdpAddressMismatch(50),
    /// smdpOidMismatch(51), invalidEimTransactionId(52), undefinedError(127)`
    #[rasn(tag(context, 1))]
    InitiateAuthenticationErrorEsipa(i64),
}

/// `InitiateAuthenticationOkEsipa ::= SEQUENCE { transactionId [0] OPTIONAL, serverSigned1, serverSignature1 [APPLICATION 55],
/// euiccCiPKIdentifierToBeUsed OCTET STRING, serverCertificate Certificate, matchingId UTF8String OPTIONAL, ctxParams1 [2] CtxParams1 OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct InitiateAuthenticationOkEsipa {
    #[rasn(tag(context, 0))]
    pub transaction_id: Option<TransactionId>,
    pub server_signed1: ServerSigned1,
    pub server_signature1: Signature,
    pub euicc_ci_pkid_to_be_used: SubjectKeyIdentifier,
    pub server_certificate: Certificate,
    pub matching_id: Option<Utf8String>,
    /// `[2] CtxParams1` — an untagged CHOICE behind a tag, so EXPLICIT (`A2 { A0 … }`).
    #[rasn(tag(explicit(context, 2)))]
    pub ctx_params1: Option<CtxParams1>,
}

/// `AuthenticateClientRequestEsipa ::= [59] SEQUENCE { transactionId [0], authenticateServerResponse [56], ... }` — the ES9+ bytes.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(delegate)]
pub struct AuthenticateClientRequestEsipa(pub AuthenticateClientRequest);

/// `AuthenticateClientResponseEsipa ::= [59] CHOICE { authenticateClientOkDPEsipa [0], authenticateClientOkDSEsipa [1], authenticateClientErrorEsipa [2] INTEGER {…}, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice, tag(explicit(context, 59)))]
#[allow(clippy::large_enum_variant)] // one value per message; mirrors the spec CHOICE
pub enum AuthenticateClientResponseEsipa {
    #[rasn(tag(context, 0))]
    AuthenticateClientOkDpEsipa(AuthenticateClientOkDpEsipa),
    #[rasn(tag(context, 1))]
    AuthenticateClientOkDsEsipa(AuthenticateClientOkDsEsipa),
    /// `eumCertificateInvalid(1), …, invalidTransactionId(10), insufficientMemory(11), pprNotAllowed(50), eventIdUnknown(56), undefinedError(127)`
    #[rasn(tag(context, 2))]
    AuthenticateClientErrorEsipa(i64),
}

/// `AuthenticateClientOkDPEsipa ::= SEQUENCE { transactionId [0] OPTIONAL, profileMetaData [37] StoreMetadataRequest OPTIONAL, smdpSigned2,
/// smdpSignature2 [APPLICATION 55], smdpCertificate Certificate, hashCc Octet32 OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct AuthenticateClientOkDpEsipa {
    #[rasn(tag(context, 0))]
    pub transaction_id: Option<TransactionId>,
    pub profile_meta_data: Option<StoreMetadataRequest>,
    pub smdp_signed2: SmdpSigned2,
    pub smdp_signature2: Signature,
    pub smdp_certificate: Certificate,
    pub hash_cc: Option<Octet32>,
}

/// `AuthenticateClientOkDSEsipa ::= SEQUENCE { transactionId [0] TransactionId, profileDownloadTrigger [84] ProfileDownloadTriggerRequest OPTIONAL, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct AuthenticateClientOkDsEsipa {
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    pub profile_download_trigger: Option<ProfileDownloadTriggerRequest>,
}

/// `GetBoundProfilePackageRequestEsipa ::= [58] SEQUENCE { transactionId [0], prepareDownloadResponse [33], ... }` — the ES9+ bytes.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(delegate)]
pub struct GetBoundProfilePackageRequestEsipa(pub GetBoundProfilePackageRequest);

/// `GetBoundProfilePackageResponseEsipa ::= [58] CHOICE { getBoundProfilePackageOkEsipa [0], getBoundProfilePackageErrorEsipa [1] INTEGER {…}, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice, tag(explicit(context, 58)))]
#[allow(clippy::large_enum_variant)] // one value per message; mirrors the spec CHOICE
pub enum GetBoundProfilePackageResponseEsipa {
    #[rasn(tag(context, 0))]
    GetBoundProfilePackageOkEsipa(GetBoundProfilePackageOkEsipa),
    /// `euiccSignatureInvalid(1), confirmationCodeMissing(2), …, metadataMismatch(50), invalidTransactionId(95), undefinedError(127)`
    #[rasn(tag(context, 1))]
    GetBoundProfilePackageErrorEsipa(i64),
}

/// `GetBoundProfilePackageOkEsipa ::= SEQUENCE { transactionId [0] TransactionId OPTIONAL, boundProfilePackage [54] BoundProfilePackage, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct GetBoundProfilePackageOkEsipa {
    #[rasn(tag(context, 0))]
    pub transaction_id: Option<TransactionId>,
    pub bound_profile_package: BoundProfilePackage,
}

/// `BoundProfilePackage ::= [54] SEQUENCE { initialiseSecureChannelRequest [35], firstSequenceOf87 [0] SEQUENCE OF [7] OCTET STRING,
/// sequenceOf88 [1] SEQUENCE OF [8] OCTET STRING, secondSequenceOf87 [2] … OPTIONAL, sequenceOf86 [3] SEQUENCE OF [6] OCTET STRING, ... }`
/// (SGP.22 v2.5 §2.5.5; built and opened by the `bsp` module).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 54))]
pub struct BoundProfilePackage {
    pub initialise_secure_channel_request: InitialiseSecureChannelRequest,
    #[rasn(tag(context, 0))]
    pub first_sequence_of87: SequenceOf<Segment87>,
    #[rasn(tag(context, 1))]
    pub sequence_of88: SequenceOf<Segment88>,
    #[rasn(tag(context, 2))]
    pub second_sequence_of87: Option<SequenceOf<Segment87>>,
    #[rasn(tag(context, 3))]
    pub sequence_of86: SequenceOf<Segment86>,
}

/// `[7] OCTET STRING` — an encrypted and MACed segment (`87`).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 7), delegate)]
pub struct Segment87(pub OctetString);
/// `[8] OCTET STRING` — a MAC-only segment (`88`).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 8), delegate)]
pub struct Segment88(pub OctetString);
/// `[6] OCTET STRING` — a profile segment (`86`).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 6), delegate)]
pub struct Segment86(pub OctetString);

/// `InitialiseSecureChannelRequest ::= [35] SEQUENCE { remoteOpId RemoteOpId, transactionId [0], controlRefTemplate [6] ControlRefTemplate,
/// smdpOtpk [APPLICATION 73] OCTET STRING, smdpSign [APPLICATION 55] OCTET STRING, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 35))]
pub struct InitialiseSecureChannelRequest {
    /// `RemoteOpId ::= [2] INTEGER {installBoundProfilePackage(1)}`
    #[rasn(tag(context, 2))]
    pub remote_op_id: i64,
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    #[rasn(tag(context, 6))]
    pub control_ref_template: ControlRefTemplate,
    pub smdp_otpk: Otpk,
    pub smdp_sign: Signature,
}

/// `ControlRefTemplate ::= SEQUENCE { keyType [0] Octet1, keyLen [1] Octet1, hostId [4] OctetTo16, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct ControlRefTemplate {
    #[rasn(tag(context, 0))]
    pub key_type: Octet1,
    #[rasn(tag(context, 1))]
    pub key_len: Octet1,
    #[rasn(tag(context, 4))]
    pub host_id: OctetTo16,
}

/// `CancelSessionRequestEsipa ::= [65] SEQUENCE { transactionId [0], cancelSessionResponse [1] EXPLICIT CancelSessionResponse, ... }` — the ES9+ bytes.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(delegate)]
pub struct CancelSessionRequestEsipa(pub CancelSessionRequestEs9);

/// `CancelSessionResponseEsipa ::= [65] CHOICE { cancelSessionOk [0] CancelSessionOk, cancelSessionError [1] INTEGER {…}, ... }` — the ES9+ bytes.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(delegate)]
pub struct CancelSessionResponseEsipa(pub CancelSessionResponseEs9);

/// `HandleNotificationEsipa ::= [61] CHOICE { pendingNotification [0] PendingNotification, provideEimPackageResult [80] ProvideEimPackageResult, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice, tag(explicit(context, 61)))]
#[allow(clippy::large_enum_variant)] // one value per message; mirrors the spec CHOICE
pub enum HandleNotificationEsipa {
    /// `[0] PendingNotification` — an untagged CHOICE behind a tag, so EXPLICIT (`A0 { BF37 … | 30 … }`).
    #[rasn(tag(explicit(context, 0)))]
    PendingNotification(PendingNotification),
    ProvideEimPackageResult(ProvideEimPackageResult),
}

pub static INITIATE_AUTHENTICATION_REQUEST_ESIPA_KNOWN: Known =
    Known { tags: Some(&[0x81, 0x83, 0xBF20, 0x82]), nested: &[(0xBF20, &EUICC_INFO1_KNOWN)] };
pub static HANDLE_NOTIFICATION_ESIPA_KNOWN: Known =
    Known { tags: None, nested: &[(0xBF50, &EIM_PACKAGE_RESULT_KNOWN)] };

crate::codec::message!(
    InitiateAuthenticationRequestEsipa,
    "InitiateAuthenticationRequestEsipa",
    &INITIATE_AUTHENTICATION_REQUEST_ESIPA_KNOWN
);
crate::codec::message!(InitiateAuthenticationResponseEsipa, "InitiateAuthenticationResponseEsipa");
crate::codec::message!(InitiateAuthenticationOkEsipa, "InitiateAuthenticationOkEsipa");
crate::codec::message!(
    AuthenticateClientRequestEsipa,
    "AuthenticateClientRequestEsipa",
    &AUTHENTICATE_CLIENT_REQUEST_KNOWN
);
crate::codec::message!(AuthenticateClientResponseEsipa, "AuthenticateClientResponseEsipa");
crate::codec::message!(AuthenticateClientOkDpEsipa, "AuthenticateClientOkDPEsipa");
crate::codec::message!(AuthenticateClientOkDsEsipa, "AuthenticateClientOkDSEsipa");
crate::codec::message!(GetBoundProfilePackageRequestEsipa, "GetBoundProfilePackageRequestEsipa");
crate::codec::message!(GetBoundProfilePackageResponseEsipa, "GetBoundProfilePackageResponseEsipa");
crate::codec::message!(BoundProfilePackage, "BoundProfilePackage");
crate::codec::message!(CancelSessionRequestEsipa, "CancelSessionRequestEsipa");
crate::codec::message!(CancelSessionResponseEsipa, "CancelSessionResponseEsipa");
crate::codec::message!(HandleNotificationEsipa, "HandleNotificationEsipa", &HANDLE_NOTIFICATION_ESIPA_KNOWN);
