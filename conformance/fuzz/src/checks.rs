//! The invariants every fuzz target asserts, one `pub fn <target>(data: &[u8])` per target, over rspd's
//! decoders of peer input: the strict DER walker (ISO/IEC 8825-1 §8.1), the SGP.22 v2.5 typed messages
//! (§5.6 ES9+, §5.7 ES10), the BPP and its SCP03t segments (§2.5.5, §2.6.4), the §4.5 certificates and
//! chains, raw `r || s` ECDSA (§2.6.5), SAIP profile packages and the TOML configuration.
//!
//! Shared without a dependency: the fuzz crate compiles it as `rspd_fuzz::checks`, and the main crate's
//! `tests/it/fuzz_regressions.rs` includes this file with `#[path]` to replay seeds and reproducers under
//! `cargo test` (so it may only use `rspd`, `openssl`, `time` and `std`).
//!
//! Every check: never panics on any input unless rspd breaks an invariant — the panics here are the
//! findings. Deterministic (fixed keys and times), so a reproducer stays a reproducer.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::OnceLock;

use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::pkey::Private;
use time::{Duration, OffsetDateTime};

use rspd::bsp::ecka::{shared_secret_euicc, uncompressed_point};
use rspd::bsp::scp03t::{MAX_ENCRYPTED_PLAIN, MAX_MAC_ONLY_PLAIN};
use rspd::bsp::{build_bpp, open_bpp, BppInputs, ReplaceSessionKeys, Scp03tSession, SessionKeys};
use rspd::codec::sgp22::*;
use rspd::codec::sgp32;
use rspd::codec::tlv::{self, Tlv};
use rspd::codec::{decode, encode, Message, Received};
use rspd::config::{self, ConfigSource};
use rspd::pki::keystore::{KeyRef, KeyRole, KeyStore, KeyStoreError, OneTimeKeyId, RawSignature};
use rspd::pki::{ecdsa, verify_dp_chain, verify_euicc_chain, Certificate, CiStore, Curve, DpRole, EcPublicKey};
use rspd::profile::{Iccid, Imsi, Personalization, ProfilePackage, Secret};

/// A named check: a fuzz target, or one message type of a dispatching target.
pub type Check = (&'static str, fn(&[u8]));

/// Every target by name, as the directories under `seeds/` and `regressions/` are named.
pub const TARGETS: &[Check] = &[
    ("tlv", tlv),
    ("codec_sgp22", codec_sgp22),
    ("codec_sgp32", codec_sgp32),
    ("bpp_open", bpp_open),
    ("scp03t_open", scp03t_open),
    ("certificate", certificate),
    ("euicc_chain", euicc_chain),
    ("ecdsa_verify", ecdsa_verify),
    ("saip_profile", saip_profile),
    ("config_toml", config_toml),
];

// ---------------------------------------------------------------------------------------------------------
// tlv: parse_single / parse_all / parse_first / Tlv::children

/// Strict DER TLVs: every element's `raw()` is the subslice of the input at its `offset()`, its value is the
/// tail of `raw()`, and re-encoding tag + value gives `raw()` back (DER headers are minimal).
pub fn tlv(data: &[u8]) {
    if let Ok(t) = tlv::parse_single(data) {
        assert_eq!(t.raw(), data, "parse_single: raw() is the whole input");
        walk_tlv(t, data, 0);
    }
    if let Ok(all) = tlv::parse_all(data) {
        let joined: Vec<u8> = all.iter().flat_map(|t| t.raw().iter().copied()).collect();
        assert_eq!(joined, data, "parse_all: the elements fill the input exactly, in order");
        for t in all {
            walk_tlv(t, data, 0);
        }
    }
    if let Ok((t, rest)) = tlv::parse_first(data) {
        assert_eq!(t.raw().len() + rest.len(), data.len());
        walk_tlv(t, data, 0);
    }
}

/// Nesting deeper than this is not walked by the checker (rspd's own walk is what is under test).
const MAX_CHECK_DEPTH: usize = 64;

fn walk_tlv(t: Tlv<'_>, input: &[u8], depth: usize) {
    let raw = t.raw();
    let start = (raw.as_ptr() as usize).wrapping_sub(input.as_ptr() as usize);
    assert!(start <= input.len() && raw.len() <= input.len() - start, "raw() is not a subslice of the input");
    assert_eq!(start, t.offset(), "offset() is where raw() sits in the input");
    assert!(raw.ends_with(t.value()), "value() is the tail of raw()");
    assert_eq!(tlv::encode(t.tag(), t.value()), raw, "re-encoding {:?} differs from the received bytes", t.tag());
    if depth >= MAX_CHECK_DEPTH {
        return;
    }
    if let Ok(children) = t.children() {
        assert!(t.tag().is_constructed());
        for c in children {
            walk_tlv(c, input, depth + 1);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// codec_sgp22: decode::<T> for every SGP.22 message type; Received::at path helpers

/// decode → encode → decode gives the same value; without an extension rule (`KNOWN`) the re-encoding is the
/// input byte for byte (strict DER); with one, it is never longer than the input (unknown fields dropped).
pub fn der_round_trip<T: Message + PartialEq + Debug>(data: &[u8]) {
    let Ok(value) = decode::<T>(data) else { return };
    let der = encode(&value).unwrap_or_else(|e| panic!("{}: a decoded value does not re-encode: {e}", T::NAME));
    let again = decode::<T>(&der).unwrap_or_else(|e| panic!("{}: the re-encoding does not decode: {e}", T::NAME));
    assert_eq!(value, again, "{}: decode(encode(v)) != v", T::NAME);
    if T::KNOWN.is_none() {
        assert_eq!(der, data, "{}: strict DER decode accepted a non-canonical encoding", T::NAME);
    } else {
        assert!(der.len() <= data.len(), "{}: pruning unknown fields made the value longer", T::NAME);
    }
}

/// The SGP.22 v2.5 message types. A seed/reproducer's first byte picks one (index modulo the length), so
/// **append only**: reordering would change what committed seeds mean.
pub const SGP22_TYPES: &[Check] = &[
    ("InitiateAuthenticationRequest", der_round_trip::<InitiateAuthenticationRequest>),
    ("AuthenticateClientRequest", der_round_trip::<AuthenticateClientRequest>),
    ("GetBoundProfilePackageRequest", der_round_trip::<GetBoundProfilePackageRequest>),
    ("HandleNotification", der_round_trip::<HandleNotification>),
    ("CancelSessionRequestEs9", der_round_trip::<CancelSessionRequestEs9>),
    ("AuthenticateServerResponse", der_round_trip::<AuthenticateServerResponse>),
    ("AuthenticateResponseOk", der_round_trip::<AuthenticateResponseOk>),
    ("AuthenticateResponseError", der_round_trip::<AuthenticateResponseError>),
    ("PrepareDownloadResponse", der_round_trip::<PrepareDownloadResponse>),
    ("PrepareDownloadResponseOk", der_round_trip::<PrepareDownloadResponseOk>),
    ("PrepareDownloadResponseError", der_round_trip::<PrepareDownloadResponseError>),
    ("ProfileInstallationResult", der_round_trip::<ProfileInstallationResult>),
    ("ProfileInstallationResultData", der_round_trip::<ProfileInstallationResultData>),
    ("CancelSessionResponse", der_round_trip::<CancelSessionResponse>),
    ("CancelSessionResponseOk", der_round_trip::<CancelSessionResponseOk>),
    ("EuiccCancelSessionSigned", der_round_trip::<EuiccCancelSessionSigned>),
    ("EuiccSigned1", der_round_trip::<EuiccSigned1>),
    ("EuiccSigned2", der_round_trip::<EuiccSigned2>),
    ("EuiccInfo1", der_round_trip::<EuiccInfo1>),
    ("EuiccInfo2", der_round_trip::<EuiccInfo2>),
    ("DeviceInfo", der_round_trip::<DeviceInfo>),
    ("DeviceCapabilities", der_round_trip::<DeviceCapabilities>),
    ("CtxParams1", der_round_trip::<CtxParams1>),
    ("ServerSigned1", der_round_trip::<ServerSigned1>),
    ("SmdpSigned2", der_round_trip::<SmdpSigned2>),
    ("StoreMetadataRequest", der_round_trip::<StoreMetadataRequest>),
    ("ConfigureIsdpRequest", der_round_trip::<ConfigureIsdpRequest>),
    ("ProfileInfo", der_round_trip::<ProfileInfo>),
    ("NotificationConfigurationInformation", der_round_trip::<NotificationConfigurationInformation>),
    ("SuccessResult", der_round_trip::<SuccessResult>),
    ("ErrorResult", der_round_trip::<ErrorResult>),
    ("NotificationMetadata", der_round_trip::<NotificationMetadata>),
    ("OtherSignedNotification", der_round_trip::<OtherSignedNotification>),
    ("PendingNotification", der_round_trip::<PendingNotification>),
    ("InitiateAuthenticationResponse", der_round_trip::<InitiateAuthenticationResponse>),
    ("InitiateAuthenticationOkEs9", der_round_trip::<InitiateAuthenticationOkEs9>),
    ("AuthenticateClientResponseEs9", der_round_trip::<AuthenticateClientResponseEs9>),
    ("AuthenticateClientOk", der_round_trip::<AuthenticateClientOk>),
    ("CancelSessionRequest", der_round_trip::<CancelSessionRequest>),
    ("CancelSessionResponseEs9", der_round_trip::<CancelSessionResponseEs9>),
    ("CancelSessionOk", der_round_trip::<CancelSessionOk>),
];

/// The SGP.32 v1.2 message types (ESipa, eIM packages and results). Same selector rule as
/// [`SGP22_TYPES`]: **append only**.
pub const SGP32_TYPES: &[Check] = &[
    ("SubjectPublicKeyInfo", der_round_trip::<sgp32::SubjectPublicKeyInfo>),
    ("ProfileInfoListRequest", der_round_trip::<sgp32::ProfileInfoListRequest>),
    ("ProfileInfoListResponse", der_round_trip::<sgp32::ProfileInfoListResponse>),
    ("ProfileInfo", der_round_trip::<sgp32::ProfileInfo>),
    ("ProfilePolicyAuthorisationRule", der_round_trip::<sgp32::ProfilePolicyAuthorisationRule>),
    ("ProfileDownloadTriggerRequest", der_round_trip::<sgp32::ProfileDownloadTriggerRequest>),
    ("ProfileDownloadData", der_round_trip::<sgp32::ProfileDownloadData>),
    ("ProfileDownloadTriggerResult", der_round_trip::<sgp32::ProfileDownloadTriggerResult>),
    ("EimConfigurationData", der_round_trip::<sgp32::EimConfigurationData>),
    ("GetEimConfigurationDataRequest", der_round_trip::<sgp32::GetEimConfigurationDataRequest>),
    ("GetEimConfigurationDataResponse", der_round_trip::<sgp32::GetEimConfigurationDataResponse>),
    ("AddInitialEimRequest", der_round_trip::<sgp32::AddInitialEimRequest>),
    ("AddInitialEimResponse", der_round_trip::<sgp32::AddInitialEimResponse>),
    ("EuiccPackageRequest", der_round_trip::<sgp32::EuiccPackageRequest>),
    ("EuiccPackageSigned", der_round_trip::<sgp32::EuiccPackageSigned>),
    ("EuiccPackage", der_round_trip::<sgp32::EuiccPackage>),
    ("Psmo", der_round_trip::<sgp32::Psmo>),
    ("Eco", der_round_trip::<sgp32::Eco>),
    ("SetDefaultDpAddressRequest", der_round_trip::<sgp32::SetDefaultDpAddressRequest>),
    ("EuiccPackageResult", der_round_trip::<sgp32::EuiccPackageResult>),
    ("EuiccPackageResultSigned", der_round_trip::<sgp32::EuiccPackageResultSigned>),
    ("EuiccPackageResultDataSigned", der_round_trip::<sgp32::EuiccPackageResultDataSigned>),
    ("EuiccResultData", der_round_trip::<sgp32::EuiccResultData>),
    ("EuiccPackageErrorSigned", der_round_trip::<sgp32::EuiccPackageErrorSigned>),
    ("EuiccPackageErrorDataSigned", der_round_trip::<sgp32::EuiccPackageErrorDataSigned>),
    ("EuiccPackageErrorUnsigned", der_round_trip::<sgp32::EuiccPackageErrorUnsigned>),
    ("EimAcknowledgements", der_round_trip::<sgp32::EimAcknowledgements>),
    ("SetDefaultDpAddressResponse", der_round_trip::<sgp32::SetDefaultDpAddressResponse>),
    ("AddEimResult", der_round_trip::<sgp32::AddEimResult>),
    ("ListEimResult", der_round_trip::<sgp32::ListEimResult>),
    ("GetEimPackageRequest", der_round_trip::<sgp32::GetEimPackageRequest>),
    ("GetEimPackageResponse", der_round_trip::<sgp32::GetEimPackageResponse>),
    ("ProvideEimPackageResult", der_round_trip::<sgp32::ProvideEimPackageResult>),
    ("EimPackageResult", der_round_trip::<sgp32::EimPackageResult>),
    ("EimPackageResultResponseError", der_round_trip::<sgp32::EimPackageResultResponseError>),
    ("ProvideEimPackageResultResponse", der_round_trip::<sgp32::ProvideEimPackageResultResponse>),
    ("TransferEimPackageRequest", der_round_trip::<sgp32::TransferEimPackageRequest>),
    ("TransferEimPackageResponse", der_round_trip::<sgp32::TransferEimPackageResponse>),
    ("EsipaMessageFromIpaToEim", der_round_trip::<sgp32::EsipaMessageFromIpaToEim>),
    ("EsipaMessageFromEimToIpa", der_round_trip::<sgp32::EsipaMessageFromEimToIpa>),
    ("InitiateAuthenticationRequestEsipa", der_round_trip::<sgp32::InitiateAuthenticationRequestEsipa>),
    ("InitiateAuthenticationResponseEsipa", der_round_trip::<sgp32::InitiateAuthenticationResponseEsipa>),
    ("InitiateAuthenticationOkEsipa", der_round_trip::<sgp32::InitiateAuthenticationOkEsipa>),
    ("AuthenticateClientRequestEsipa", der_round_trip::<sgp32::AuthenticateClientRequestEsipa>),
    ("AuthenticateClientResponseEsipa", der_round_trip::<sgp32::AuthenticateClientResponseEsipa>),
    ("AuthenticateClientOkDpEsipa", der_round_trip::<sgp32::AuthenticateClientOkDpEsipa>),
    ("AuthenticateClientOkDsEsipa", der_round_trip::<sgp32::AuthenticateClientOkDsEsipa>),
    ("GetBoundProfilePackageRequestEsipa", der_round_trip::<sgp32::GetBoundProfilePackageRequestEsipa>),
    ("GetBoundProfilePackageResponseEsipa", der_round_trip::<sgp32::GetBoundProfilePackageResponseEsipa>),
    ("BoundProfilePackage", der_round_trip::<sgp32::BoundProfilePackage>),
    ("CancelSessionRequestEsipa", der_round_trip::<sgp32::CancelSessionRequestEsipa>),
    ("CancelSessionResponseEsipa", der_round_trip::<sgp32::CancelSessionResponseEsipa>),
    ("HandleNotificationEsipa", der_round_trip::<sgp32::HandleNotificationEsipa>),
    ("IpaEuiccDataRequest", der_round_trip::<sgp32::IpaEuiccDataRequest>),
    ("IpaEuiccDataResponse", der_round_trip::<sgp32::IpaEuiccDataResponse>),
    ("IpaEuiccData", der_round_trip::<sgp32::IpaEuiccData>),
    ("IpaCapabilities", der_round_trip::<sgp32::IpaCapabilities>),
    ("IpaEuiccDataResponseError", der_round_trip::<sgp32::IpaEuiccDataResponseError>),
];

/// Input: `type index || DER` over [`SGP32_TYPES`]. Also runs the eIM signed-part helpers (SGP.32 §2.11:
/// the eUICC signs `euiccPackageResultDataSigned` / `euiccPackageErrorDataSigned`; their `raw` must be
/// a subslice of the input and decode to the same value).
pub fn codec_sgp32(data: &[u8]) {
    dispatch(SGP32_TYPES, data);
    let Some((_, der)) = data.split_first() else { return };
    signed_part(der, sgp32::euicc_package_result_data_signed(der));
    signed_part(der, sgp32::euicc_package_error_data_signed(der));
}

/// Input: `type index || DER`. Also runs the ES9+ signed-part helpers on the DER (their `raw` is a
/// subslice of the input and decodes to the same value).
pub fn codec_sgp22(data: &[u8]) {
    dispatch(SGP22_TYPES, data);
    let Some((_, der)) = data.split_first() else { return };
    signed_part(der, euicc_signed1(der));
    signed_part(der, euicc_signed2(der));
    signed_part(der, profile_installation_result_data(der));
    signed_part(der, euicc_cancel_session_signed(der));
    for path in [
        PATH_EUICC_SIGNED1_IN_AUTHENTICATE_SERVER_RESPONSE,
        PATH_EUICC_SIGNED2_IN_PREPARE_DOWNLOAD_RESPONSE,
        PATH_PIR_DATA_IN_HANDLE_NOTIFICATION,
        PATH_CANCEL_SIGNED_IN_CANCEL_SESSION_RESPONSE,
    ] {
        let _ = Received::<EuiccSigned1>::at(der, path);
    }
    let _ = Received::<OtherSignedNotification>::at(der, PATH_OTHER_NOTIFICATION_IN_HANDLE_NOTIFICATION);
}

/// Runs `types[data[0] % len]` on `data[1..]`.
pub fn dispatch(types: &[Check], data: &[u8]) {
    if let (Some((&selector, rest)), false) = (data.split_first(), types.is_empty()) {
        (types[usize::from(selector) % types.len()].1)(rest);
    }
}

fn signed_part<T: Message + PartialEq + Debug>(input: &[u8], part: Result<Received<T>, rspd::codec::CodecError>) {
    let Ok(part) = part else { return };
    assert!(input.windows(part.raw.len()).any(|w| w == part.raw), "{}: raw is not in the input", T::NAME);
    assert_eq!(decode::<T>(&part.raw).ok().as_ref(), Some(&part.value), "{}: raw does not decode to value", T::NAME);
}

// ---------------------------------------------------------------------------------------------------------
// bpp_open / scp03t_open: fixed keys, so inputs built by `examples/make_seeds.rs` open here

/// The EID the fuzz eUICC uses in the key derivation (SGP.22 §2.6.4.2 shared info).
pub const FUZZ_EID: [u8; 16] = [0x89, 0x99, 0x99, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x23];
/// ConfigureISDPRequest and StoreMetadataRequest of the built BPPs (structure only, as the builder checks).
pub const FUZZ_CONFIGURE_ISDP: &[u8] = &[0xBF, 0x24, 0x00];
pub const FUZZ_STORE_METADATA: &[u8] = &[0xBF, 0x25, 0x03, 0x5A, 0x01, 0x00];

/// The deterministic keys of the BPP targets, all on NIST P-256.
pub struct FuzzKeys {
    pub dppb: EcKey<Private>,
    pub otsk_dp_ecka: EcKey<Private>,
    pub otsk_euicc_ecka: EcKey<Private>,
}

/// A private key with scalar `d` (so every run and every seed agree on the keys).
fn fixed_key(curve: Curve, d: u32) -> EcKey<Private> {
    let group = EcGroup::from_curve_name(curve.nid()).expect("curve");
    let d = BigNum::from_u32(d).expect("scalar");
    let mut ctx = BigNumContext::new().expect("ctx");
    let mut point = EcPoint::new(&group).expect("point");
    point.mul_generator2(&group, &d, &mut ctx).expect("d·G");
    EcKey::from_private_components(&group, &d, &point).expect("key")
}

pub fn fuzz_keys() -> &'static FuzzKeys {
    static KEYS: OnceLock<FuzzKeys> = OnceLock::new();
    KEYS.get_or_init(|| FuzzKeys {
        dppb: fixed_key(Curve::NistP256, 0x0D99_B000),
        otsk_dp_ecka: fixed_key(Curve::NistP256, 0x07D9_0001),
        otsk_euicc_ecka: fixed_key(Curve::NistP256, 0x07E1_CC01),
    })
}

/// The SM-DP+ side of the fixed keys, for `build_bpp`.
struct FixedKeyStore(&'static FuzzKeys);

impl KeyStore for FixedKeyStore {
    fn sign(&self, _key: &KeyRef, message: &[u8]) -> Result<RawSignature, KeyStoreError> {
        ecdsa::sign(&self.0.dppb, message).map_err(|e| KeyStoreError::Crypto(e.to_string()))
    }
    fn public_key(&self, _key: &KeyRef) -> Result<Vec<u8>, KeyStoreError> {
        uncompressed_point(&self.0.dppb).map_err(|e| KeyStoreError::Crypto(e.to_string()))
    }
    fn generate_one_time_key(&self, _curve: Curve) -> Result<(OneTimeKeyId, Vec<u8>), KeyStoreError> {
        let point = uncompressed_point(&self.0.otsk_dp_ecka).map_err(|e| KeyStoreError::Crypto(e.to_string()))?;
        Ok((OneTimeKeyId("fuzz".into()), point))
    }
    fn agree(&self, _id: &OneTimeKeyId, peer_point: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
        shared_secret_euicc(&self.0.otsk_dp_ecka, peer_point).map_err(|e| KeyStoreError::InvalidPeerKey(e.to_string()))
    }
    fn forget_one_time_key(&self, _id: &OneTimeKeyId) {}
}

/// A BPP for the fuzz eUICC, built by rspd's own builder with the fixed keys.
pub fn build_fuzz_bpp(profile: &[u8], replace_session_keys: bool) -> Vec<u8> {
    let keys = fuzz_keys();
    let store = FixedKeyStore(keys);
    let (ot_id, otpk_dp) = store.generate_one_time_key(Curve::NistP256).expect("one-time key");
    let otpk_euicc = uncompressed_point(&keys.otsk_euicc_ecka).expect("point");
    let rsk = if replace_session_keys {
        ReplaceSessionKeys::With(SessionKeys { s_enc: [0x51; 16], s_mac: [0x52; 16], initial_mcv: [0x53; 16] })
    } else {
        ReplaceSessionKeys::No
    };
    let inputs = BppInputs {
        transaction_id: &[0x7F; 16],
        otsk_dp_ecka: &ot_id,
        otpk_dp_ecka: &otpk_dp,
        otpk_euicc_ecka: &otpk_euicc,
        host_id: b"rspd-fuzz",
        eid: &FUZZ_EID,
        dppb_key: &KeyRef { role: KeyRole::DpPb, curve: Curve::NistP256 },
        configure_isdp: FUZZ_CONFIGURE_ISDP,
        store_metadata: FUZZ_STORE_METADATA,
        profile,
        replace_session_keys: rsk,
    };
    build_bpp(&store, &inputs).expect("rspd builds a BPP from valid inputs")
}

/// Profiles larger than this are cut in the round-trip mode (keeps executions fast).
const MAX_ROUND_TRIP_PROFILE: usize = 8 * 1024;

/// `mode || rest`, mode % 3:
/// - 0: `rest` is a BPP from the network; open it (any error is fine, a panic is not).
/// - 1: build a BPP around `rest` as the profile (bit 0x80 of the mode: with ReplaceSessionKeys), open it:
///   every plaintext comes back.
/// - 2: `rest` is a list of `(u16 position, xor)` triples applied to a valid BPP: a changed BPP never opens.
pub fn bpp_open(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let keys = fuzz_keys();
    let open = |bpp: &[u8]| open_bpp(bpp, &keys.dppb, &keys.otsk_euicc_ecka, &FUZZ_EID);
    match mode % 3 {
        0 => {
            let _ = open(rest);
        }
        1 => {
            let profile = &rest[..rest.len().min(MAX_ROUND_TRIP_PROFILE)];
            let bpp = build_fuzz_bpp(profile, mode & 0x80 != 0);
            let opened = open(&bpp).unwrap_or_else(|e| panic!("a BPP rspd built does not open: {e}"));
            assert_eq!(opened.profile, profile);
            assert_eq!(opened.configure_isdp, FUZZ_CONFIGURE_ISDP);
            assert_eq!(opened.store_metadata, FUZZ_STORE_METADATA);
            assert_eq!(opened.transaction_id, [0x7F; 16]);
            assert_eq!(opened.replace_session_keys.is_some(), mode & 0x80 != 0);
        }
        _ => {
            static VALID: OnceLock<Vec<u8>> = OnceLock::new();
            let valid = VALID.get_or_init(|| build_fuzz_bpp(&[0x5A; 1100], false));
            let mut bpp = valid.clone();
            for t in rest.chunks_exact(3) {
                let pos = usize::from(u16::from_be_bytes([t[0], t[1]])) % bpp.len();
                bpp[pos] ^= t[2];
            }
            if bpp != *valid {
                assert!(open(&bpp).is_err(), "a tampered BPP opened");
            }
        }
    }
}

const FUZZ_SESSION_KEYS: SessionKeys = SessionKeys { s_enc: [0x11; 16], s_mac: [0x22; 16], initial_mcv: [0x33; 16] };

/// `mode || tag selector || rest`, tag = 86, 87 or 88; mode % 4:
/// - 0: open `rest` as a segment; on error the session state (MCV, block counter) is unchanged.
/// - 1: `rest` as ciphertext with a valid C-MAC (built with `mac_only`): the MAC passes, so decryption and
///   padding removal see arbitrary bytes; if it opens, re-encrypting the plaintext gives the segment back.
/// - 2: encrypt `rest` and open it: the plaintext comes back and the state advances by one.
/// - 3: `mac_only(rest)` then `verify_mac_only`: the data comes back.
pub fn scp03t_open(data: &[u8]) {
    let [mode, tag_selector, rest @ ..] = data else { return };
    let tag = [0x86, 0x87, 0x88][usize::from(*tag_selector) % 3];
    let mut s = Scp03tSession::new(&FUZZ_SESSION_KEYS);
    let before = (s.mcv(), s.block_counter());
    match mode % 4 {
        0 => {
            if s.open(tag, rest).is_err() {
                assert_eq!((s.mcv(), s.block_counter()), before, "a failed open changed the session state");
            }
            let before = (s.mcv(), s.block_counter());
            if s.verify_mac_only(tag, rest).is_err() {
                assert_eq!((s.mcv(), s.block_counter()), before, "a failed verify changed the session state");
            }
        }
        1 => {
            let Ok(segment) = Scp03tSession::new(&FUZZ_SESSION_KEYS).mac_only(tag, rest) else { return };
            match s.open(tag, &segment) {
                Ok(plain) => {
                    let again = Scp03tSession::new(&FUZZ_SESSION_KEYS).encrypt_and_mac(tag, &plain);
                    assert_eq!(again.ok(), Some(segment), "re-encrypting an opened segment differs");
                    assert_eq!(s.block_counter(), before.1 + 1);
                }
                Err(_) => assert_eq!((s.mcv(), s.block_counter()), before, "a failed open changed the state"),
            }
        }
        2 => {
            let plain = &rest[..rest.len().min(MAX_ENCRYPTED_PLAIN)];
            let segment = Scp03tSession::new(&FUZZ_SESSION_KEYS).encrypt_and_mac(tag, plain).expect("encrypt");
            assert_eq!(s.open(tag, &segment).expect("own segment opens"), plain);
            assert_eq!(s.block_counter(), before.1 + 1);
        }
        _ => {
            let plain = &rest[..rest.len().min(MAX_MAC_ONLY_PLAIN)];
            let segment = Scp03tSession::new(&FUZZ_SESSION_KEYS).mac_only(tag, plain).expect("mac");
            assert_eq!(s.verify_mac_only(tag, &segment).expect("own segment verifies"), plain);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// certificate / euicc_chain / ecdsa_verify

/// `Certificate::from_der` and `from_pem`; an accepted certificate's `der()` is the input and parses again
/// to the same names, keys and identifiers.
pub fn certificate(data: &[u8]) {
    if let Ok(c) = Certificate::from_der(data) {
        assert_eq!(c.der(), data, "der() is the input");
        let again = Certificate::from_der(c.der()).expect("an accepted certificate parses again");
        assert_eq!(again.subject_der(), c.subject_der());
        assert_eq!(again.public_key(), c.public_key());
        assert_eq!(again.subject_key_id(), c.subject_key_id());
        let _ = (c.has_role(rspd::pki::role::Role::Euicc), c.subject_serial_number());
    }
    if let Ok(c) = Certificate::from_pem(data) {
        assert!(Certificate::from_der(c.der()).is_ok(), "PEM certificate's DER does not parse");
    }
}

/// Splits `u16 length || bytes` off the front.
fn take_prefixed(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let [hi, lo, rest @ ..] = data else { return None };
    let len = usize::from(u16::from_be_bytes([*hi, *lo]));
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// `mode || u16 len || CI || u16 len || cert A || cert B`. The CI is trusted (operator configuration);
/// `now` is one minute after the latest notBefore of the three. mode % 4 = 0: `verify_euicc_chain(EUM = A,
/// eUICC = B)`; 1–3: `verify_dp_chain(A)` as DPauth, DPpb, DP TLS. A verified chain names the key of its
/// leaf certificate.
pub fn euicc_chain(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Some((ci, rest)) = take_prefixed(rest) else { return };
    let Some((a, b)) = take_prefixed(rest) else { return };
    let mut store = CiStore::new();
    if store.add_der(ci).is_err() {
        return;
    }
    let not_before = [ci, a, b].iter().filter_map(|d| Certificate::from_der(d).ok()).map(|c| c.not_before()).max();
    let now = not_before.unwrap_or(OffsetDateTime::UNIX_EPOCH) + Duration::minutes(1);
    match mode % 4 {
        0 => {
            if let Ok(v) = verify_euicc_chain(&store, a, b, now) {
                assert_eq!(Some(&v.public_key), Certificate::from_der(b).ok().as_ref().map(Certificate::public_key));
                assert_eq!(v.eid.len(), 32, "EID of a verified eUICC");
            }
        }
        m => {
            let role = [DpRole::DpAuth, DpRole::DpPb, DpRole::DpTls][usize::from(m - 1)];
            if let Ok(v) = verify_dp_chain(&store, a, role, now) {
                assert_eq!(v.certificate.der(), a);
                assert_eq!(v.public_key, *v.certificate.public_key());
            }
        }
    }
}

/// `mode || point length || point || message`; mode bit 0: the curve (P-256 / brainpoolP256r1).
/// mode bit 1 clear: the last 64 bytes of `message` (or all of it) are an `r || s` signature from a peer,
/// verified with the point — an accepted point round-trips through its uncompressed form.
/// mode bit 1 set: a fixed key signs the message; the signature verifies, and not over another message.
pub fn ecdsa_verify(data: &[u8]) {
    let [mode, point_len, rest @ ..] = data else { return };
    let curve = if mode & 1 == 0 { Curve::NistP256 } else { Curve::BrainpoolP256r1 };
    let (point, message) = rest.split_at(usize::from(*point_len).min(rest.len()));
    if mode & 2 == 0 {
        let Ok(key) = EcPublicKey::from_point(curve, point) else { return };
        let again = EcPublicKey::from_point(curve, key.uncompressed_point()).expect("own point parses");
        assert_eq!(again, key);
        let (message, signature) = message.split_at(message.len().saturating_sub(64));
        let _ = key.verify(message, signature);
        let _ = ecdsa::verify(&key, signature, message);
    } else {
        static KEYS: OnceLock<[EcKey<Private>; 2]> = OnceLock::new();
        let keys = KEYS.get_or_init(|| [fixed_key(Curve::NistP256, 0xEC_0001), fixed_key(Curve::BrainpoolP256r1, 2)]);
        let key = &keys[usize::from(mode & 1)];
        let public = EcPublicKey::from_ec_key(key).expect("public half");
        let sig = ecdsa::sign(key, message).expect("sign");
        public.verify(message, &sig.0).expect("own signature verifies");
        let other = [message, b"!"].concat();
        assert!(public.verify(&other, &sig.0).is_err(), "a signature verified over another message");
    }
}

// ---------------------------------------------------------------------------------------------------------
// saip_profile

/// `ProfilePackage::parse`: an accepted package re-encodes byte-identically and parses again; personalizing
/// it (ICCID, IMSI, Ki/OPc) either fails cleanly or gives a package that parses and carries the new ICCID.
pub fn saip_profile(data: &[u8]) {
    let Ok(p) = ProfilePackage::parse(data) else { return };
    assert_eq!(p.to_der(), data, "a parsed package re-encodes byte for byte");
    let again = ProfilePackage::parse(&p.to_der()).expect("re-encoded package parses");
    assert_eq!(again.iccid(), p.iccid());

    let iccid = Iccid::new("89000123456789012341").expect("test ICCID");
    let imsi = Imsi::new("001010123456789").expect("test IMSI");
    let full = Personalization {
        iccid: Some(iccid),
        imsi: Some(imsi),
        ki: Some(Secret::new([0x4B; 16])),
        opc: Some(Secret::new([0x0C; 16])),
        pins: BTreeMap::new(),
        puks: BTreeMap::new(),
    };
    let iccid_only = Personalization { iccid: Some(iccid), ..Personalization::default() };
    for personalization in [&full, &iccid_only] {
        if let Ok(new) = p.personalize(personalization) {
            let reparsed = ProfilePackage::parse(&new.to_der()).expect("a personalized package parses");
            assert_eq!(reparsed.iccid(), &iccid);
            assert_eq!(reparsed.elements().len(), p.elements().len());
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// config_toml

/// `config::load` on `data` as the TOML file (no environment): an error or a config, never a panic.
pub fn config_toml(data: &[u8]) {
    thread_local! {
        static PATH: std::path::PathBuf =
            std::env::temp_dir().join(format!("rspd-fuzz-config-{}-{:?}.toml", std::process::id(), std::thread::current().id()));
    }
    PATH.with(|path| {
        std::fs::write(path, data).expect("write the temporary config file");
        let _ = config::load(&ConfigSource { file: Some(path.clone()), env: BTreeMap::new() });
    });
}
