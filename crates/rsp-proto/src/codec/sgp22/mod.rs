//! SGP.22 v2.5 ASN.1 types (module `RSPDefinitions`, subset in `asn1/RSPDefinitions.asn`) for ES9+ / ES10b
//! / ES8+, and where the signed parts sit inside each message (§5.6, §5.7).
//!
//! Signed parts: use [`Received::at`] with one of the paths below; each step is the first child with that
//! tag, and the bytes are the ones received (SGP.22 v2.5 §5.7.13 euiccSignature1, §5.7.5 euiccSignature2,
//! §5.7.7 euiccSignPIR, §5.7.14 euiccCancelSessionSignature, §5.7.10 euiccNotificationSignature).

pub mod authentication;
pub mod cancel;
pub mod common;
pub mod download;
pub mod notification;

pub use authentication::*;
pub use cancel::*;
pub use common::*;
pub use download::*;
pub use notification::*;

use super::der::{CodecError, Received};

/// `euiccSigned1` inside `AuthenticateServerResponse` (`BF38 / A0 / 30`).
pub const PATH_EUICC_SIGNED1_IN_AUTHENTICATE_SERVER_RESPONSE: &[u32] = &[0xBF38, 0xA0, 0x30];
/// `euiccSigned1` inside the ES9+ `AuthenticateClientRequest` (`BF3B / BF38 / A0 / 30`).
pub const PATH_EUICC_SIGNED1_IN_AUTHENTICATE_CLIENT: &[u32] = &[0xBF3B, 0xBF38, 0xA0, 0x30];
/// `euiccSigned2` inside `PrepareDownloadResponse` (`BF21 / A0 / 30`).
pub const PATH_EUICC_SIGNED2_IN_PREPARE_DOWNLOAD_RESPONSE: &[u32] = &[0xBF21, 0xA0, 0x30];
/// `euiccSigned2` inside the ES9+ `GetBoundProfilePackageRequest` (`BF3A / BF21 / A0 / 30`).
pub const PATH_EUICC_SIGNED2_IN_GET_BPP: &[u32] = &[0xBF3A, 0xBF21, 0xA0, 0x30];
/// `profileInstallationResultData` inside `ProfileInstallationResult` (`BF37 / BF27`).
pub const PATH_PIR_DATA_IN_PIR: &[u32] = &[0xBF37, 0xBF27];
/// `profileInstallationResultData` inside the ES9+ `HandleNotification` (`BF3D / A0 / BF37 / BF27`).
pub const PATH_PIR_DATA_IN_HANDLE_NOTIFICATION: &[u32] = &[0xBF3D, 0xA0, 0xBF37, 0xBF27];
/// `tbsOtherNotification` inside the ES9+ `HandleNotification` (`BF3D / A0 / 30 / BF2F`).
pub const PATH_OTHER_NOTIFICATION_IN_HANDLE_NOTIFICATION: &[u32] = &[0xBF3D, 0xA0, 0x30, 0xBF2F];
/// `euiccCancelSessionSigned` inside `CancelSessionResponse` (`BF41 / A0 / 30`).
pub const PATH_CANCEL_SIGNED_IN_CANCEL_SESSION_RESPONSE: &[u32] = &[0xBF41, 0xA0, 0x30];
/// `euiccCancelSessionSigned` inside the ES9+ `CancelSessionRequestEs9` (`BF41 / A1 / BF41 / A0 / 30`).
pub const PATH_CANCEL_SIGNED_IN_CANCEL_SESSION_ES9: &[u32] = &[0xBF41, 0xA1, 0xBF41, 0xA0, 0x30];

/// The received `euiccSigned1` of an ES9+ AuthenticateClient request (SGP.22 v2.5 §5.6.3).
pub fn euicc_signed1(authenticate_client_request: &[u8]) -> Result<Received<EuiccSigned1>, CodecError> {
    Received::at(authenticate_client_request, PATH_EUICC_SIGNED1_IN_AUTHENTICATE_CLIENT)
}

/// The received `euiccSigned2` of an ES9+ GetBoundProfilePackage request (SGP.22 v2.5 §5.6.2).
pub fn euicc_signed2(get_bound_profile_package_request: &[u8]) -> Result<Received<EuiccSigned2>, CodecError> {
    Received::at(get_bound_profile_package_request, PATH_EUICC_SIGNED2_IN_GET_BPP)
}

/// The received `profileInstallationResultData` of a ProfileInstallationResult (SGP.22 v2.5 §5.7.7).
pub fn profile_installation_result_data(
    profile_installation_result: &[u8],
) -> Result<Received<ProfileInstallationResultData>, CodecError> {
    Received::at(profile_installation_result, PATH_PIR_DATA_IN_PIR)
}

/// The received `euiccCancelSessionSigned` of an ES9+ CancelSession request (SGP.22 v2.5 §5.6.5).
pub fn euicc_cancel_session_signed(
    cancel_session_request_es9: &[u8],
) -> Result<Received<EuiccCancelSessionSigned>, CodecError> {
    Received::at(cancel_session_request_es9, PATH_CANCEL_SIGNED_IN_CANCEL_SESSION_ES9)
}
