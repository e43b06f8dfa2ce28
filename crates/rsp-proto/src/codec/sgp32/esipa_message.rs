//! The ESipa message wrappers, SGP.32 v1.2 §6.3.2.1: `EsipaMessageFromIpaToEim` (every request body: the eIM package
//! transport of `esipa` and the indirect download of `esipa_download`) and `EsipaMessageFromEimToIpa` (every
//! response body).

use rasn::prelude::*;

use super::esipa::*;
use super::esipa_download::*;
use crate::codec::der::{decode, CodecError};
use crate::codec::tlv;

/// `EsipaMessageFromIpaToEim ::= CHOICE {…}` — every ESipa request body (SGP.32 v1.2 §6.3.2.1). Decode with
/// [`EsipaMessageFromIpaToEim::from_der`] so each alternative's extension rule applies.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
#[allow(clippy::large_enum_variant)] // one value per message; mirrors the spec CHOICE
pub enum EsipaMessageFromIpaToEim {
    InitiateAuthenticationRequestEsipa(InitiateAuthenticationRequestEsipa),
    AuthenticateClientRequestEsipa(AuthenticateClientRequestEsipa),
    GetBoundProfilePackageRequestEsipa(GetBoundProfilePackageRequestEsipa),
    CancelSessionRequestEsipa(CancelSessionRequestEsipa),
    #[rasn(tag(context, 61))]
    HandleNotificationEsipa(HandleNotificationEsipa),
    #[rasn(tag(context, 78))]
    TransferEimPackageResponse(TransferEimPackageResponse),
    GetEimPackageRequest(GetEimPackageRequest),
    ProvideEimPackageResult(ProvideEimPackageResult),
}

impl EsipaMessageFromIpaToEim {
    /// Decodes an ESipa request body by its top-level tag (`BF39`, `BF3B`, `BF3A`, `BF41`, `BF3D`, `BF4E`,
    /// `BF4F`, `BF50`), tolerating a newer IPA's extension fields where the alternative declares a rule.
    pub fn from_der(der: &[u8]) -> Result<Self, CodecError> {
        Ok(match top_tag(der)? {
            0xBF39 => Self::InitiateAuthenticationRequestEsipa(decode(der)?),
            0xBF3B => Self::AuthenticateClientRequestEsipa(decode(der)?),
            0xBF3A => Self::GetBoundProfilePackageRequestEsipa(decode(der)?),
            0xBF41 => Self::CancelSessionRequestEsipa(decode(der)?),
            0xBF3D => Self::HandleNotificationEsipa(decode(der)?),
            0xBF4E => Self::TransferEimPackageResponse(decode(der)?),
            0xBF4F => Self::GetEimPackageRequest(decode(der)?),
            0xBF50 => Self::ProvideEimPackageResult(decode(der)?),
            _ => return Err(unknown_alternative("EsipaMessageFromIpaToEim")),
        })
    }
}

/// `EsipaMessageFromEimToIpa ::= CHOICE {…}` — every ESipa response body (SGP.32 v1.2 §6.3.2.1).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
#[allow(clippy::large_enum_variant)] // one value per message; mirrors the spec CHOICE
pub enum EsipaMessageFromEimToIpa {
    #[rasn(tag(context, 57))]
    InitiateAuthenticationResponseEsipa(InitiateAuthenticationResponseEsipa),
    #[rasn(tag(context, 59))]
    AuthenticateClientResponseEsipa(AuthenticateClientResponseEsipa),
    #[rasn(tag(context, 58))]
    GetBoundProfilePackageResponseEsipa(GetBoundProfilePackageResponseEsipa),
    #[rasn(tag(context, 65))]
    CancelSessionResponseEsipa(CancelSessionResponseEsipa),
    #[rasn(tag(context, 78))]
    TransferEimPackageRequest(TransferEimPackageRequest),
    #[rasn(tag(context, 79))]
    GetEimPackageResponse(GetEimPackageResponse),
    #[rasn(tag(context, 80))]
    ProvideEimPackageResultResponse(ProvideEimPackageResultResponse),
}

fn top_tag(der: &[u8]) -> Result<u32, CodecError> {
    Ok(tlv::parse_single(der)?.tag().0)
}

fn unknown_alternative(type_name: &'static str) -> CodecError {
    CodecError::Decode { type_name, message: "unknown top-level tag".into() }
}

crate::codec::message!(EsipaMessageFromIpaToEim, "EsipaMessageFromIpaToEim");
crate::codec::message!(EsipaMessageFromEimToIpa, "EsipaMessageFromEimToIpa");
