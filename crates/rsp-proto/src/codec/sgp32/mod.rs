//! SGP.32 v1.2 ESipa / eIM package types (module `SGP32Definitions`, subset in `asn1/SGP32Definitions.asn`):
//! SGP.32 v1.2 §2.11 (eIM packages and results), §5.9 (ESep PSMOs / eCOs), §5.14 (ES10b eIM functions),
//! §6.3 (ESipa functions and their ASN.1 binding).
//!
//! One file per area, a `message!` registration per top-level type, a [`crate::codec::Known`] rule where a
//! newer IPA / eUICC may extend a type:
//! - [`eim_package`]: EuiccPackageRequest `BF51`, EuiccPackageSigned, EuiccPackage (`psmoList` `A0` /
//!   `ecoList` `A1`), PSMOs enable [3], disable [4], delete [5], listProfileInfo `BF2D`, getRAT [6],
//!   configureImmediateEnable [7], setFallbackAttribute [8], unsetFallbackAttribute [9], setDefaultDpAddress
//!   `BF65`; eCOs addEim [8], deleteEim [9], updateEim [10], listEim [11].
//! - [`eim_result`]: EuiccPackageResult `BF51` (signed result / signed error / unsigned error),
//!   EuiccPackageResultDataSigned (received bytes for `euiccSignEPR` via [`euicc_package_result_data_signed`]),
//!   EuiccResultData for every PSMO/eCO, EimAcknowledgements `BF53` of `seqNumber`s.
//! - [`ipa_data`]: IpaEuiccDataRequest `BF52`, IpaEuiccDataResponse `BF52`, IpaEuiccData, IpaCapabilities.
//! - [`download_trigger`]: ProfileDownloadTriggerRequest / ProfileDownloadTriggerResult `BF54`.
//! - [`eim_config`]: EimConfigurationData (`counterValue [3]`, `eimPublicKeyData [5]` = `A5 { A0 <SPKI> }`),
//!   GetEimConfigurationData `BF55`, AddInitialEim `BF57`.
//! - [`esipa`]: GetEimPackage `BF4F` (`noEimPackageAvailable` = `BF4F 03 02 01 01`), ProvideEimPackageResult `BF50`
//!   (response `emptyResponse` = `BF50 02 30 00`), TransferEimPackage `BF4E`, `EsipaMessageFromIpaToEim` /
//!   `EsipaMessageFromEimToIpa` (decode requests with [`EsipaMessageFromIpaToEim::from_der`]).
//! - [`esipa_download`]: indirect profile download, the `…Esipa` forms of InitiateAuthentication `BF39`,
//!   AuthenticateClient `BF3B`, GetBoundProfilePackage `BF3A` (with a typed BoundProfilePackage `BF36`),
//!   CancelSession `BF41`, HandleNotification `BF3D`, reusing [`crate::codec::sgp22`] types inside.
//! - [`common`]: EID, implicitly re-tagged SubjectPublicKeyInfo / Certificate, SGP.32 ProfileInfo (fallback
//!   fields), ProfileInfoListRequest/Response, RulesAuthorisationTable.
//!
//! rasn 0.30 trap: an explicitly tagged CHOICE type used as an *untagged* alternative of another CHOICE loses
//! its tag on encode (e.g. `EimPackageResult.euiccPackageResult` came out as `BF50 { A0 … }`). Such
//! alternatives repeat the type's tag (`#[rasn(tag(context, 81))]`), which rasn then applies EXPLICITLY:
//! `BF50 { BF51 { A0 … } }`, as X.680 §31.2.7 requires; the known-answer tests pin this.
//!
//! Not covered: the `compact…` alternatives SGP.32 adds to SGP.22 CHOICEs (AuthenticateServerResponse,
//! PrepareDownloadResponse, CancelSessionResponse, PendingNotification), and the SGP.32 additions to
//! EUICCInfo2 (`ipaMode`, `iotSpecificInfo`, …) and StoreMetadataRequest (`ecallIndication`, `fallbackAllowed`),
//! which decode through the SGP.22 v2.5 types (extension fields dropped) and cannot be sent.

pub mod common;
pub mod download_trigger;
pub mod eim_config;
pub mod eim_package;
pub mod eim_result;
pub mod esipa;
pub mod esipa_download;
pub mod esipa_message;
pub mod ipa_data;
pub mod signed_input;

pub use common::*;
pub use download_trigger::*;
pub use eim_config::*;
pub use eim_package::*;
pub use eim_result::*;
pub use esipa::*;
pub use esipa_download::*;
pub use esipa_message::*;
pub use ipa_data::*;
pub use signed_input::{association_token_do, signed_input};

#[cfg(test)]
mod tests;
