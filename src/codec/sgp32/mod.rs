//! SGP.32 v1.2 ESipa / eIM package types (module `SGP32Definitions`, subset in `asn1/SGP32Definitions.asn`,
//! SGP.32 v1.2 §6.3 ESipa, §2.11 eIM packages).
//!
//! Not written yet — the ASN.1 subset to implement is already in `asn1/SGP32Definitions.asn`:
//! ESipa wrappers (`EsipaMessageFromIpaToEim` / `FromEimToIpa`, GetEimPackage BF4F, ProvideEimPackageResult
//! BF50, TransferEimPackage BF4E, the `…Esipa` indirect-download functions), EuiccPackageRequest BF51 /
//! EuiccPackageSigned with PSMOs and eCOs, EuiccPackageResult, IpaEuiccDataRequest BF52, EimAcknowledgements
//! BF53, ProfileDownloadTriggerRequest BF54, GetEimConfigurationData BF55, AddInitialEim BF57,
//! EimConfigurationData. Follow `sgp22/`: one file per area, `message!` per top-level type, a `Known` rule
//! for types a newer IPA extends, and one line per type in `tests/asn1play_crosscheck.rs` (spec `"sgp32"`).
