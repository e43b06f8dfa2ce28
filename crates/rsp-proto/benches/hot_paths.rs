//! Criterion micro-benchmarks of the hot pieces of one SGP.22 v2.5 download (issue 12 item 2), each named
//! after the function it times:
//!
//! - `build_bpp`: the SM-DP+ binding a TS.48 profile package to one eUICC (§2.5.5 Bound Profile Package, §2.6.4
//!   key agreement and SCP03t segments, §5.5.1 InitialiseSecureChannel signed with SK.DPpb.ECDSA, §5.5.4
//!   ReplaceSessionKeys as ES9+.GetBoundProfilePackage does it, §5.6.2).
//! - `verify_euicc_chain/{nist,brainpool}`: CI → EUM → eUICC, as ES9+.AuthenticateClient verifies
//!   CERT.EUM.ECDSA and CERT.EUICC.ECDSA (§5.6.3; certificate profiles §4.5.2), with the SGP.26 test PKI.
//! - `decode_authenticate_server_response`: strict DER decoding of the `BF38` AuthenticateServerResponse
//!   (ES10b.AuthenticateServer §5.7.13) that ES9+.AuthenticateClient receives.
//! - `personalize`: writing one row of values (ICCID, IMSI, Ki, OPc, PINs, PUKs) into the TS.48 template (the
//!   SM-DP+ profile generation behind ES2+.DownloadOrder, §3.1.1; TCA SAIP v2.3 §8.3, §8.5, §8.6).
//!
//! The TS.48 profile and the SGP.26 certificates and DPpb key are read from `../shared/interop` beside the
//! repository, never copied into it. A case whose files are absent prints `SKIP <bench>: <reason>` to stderr
//! and is not registered. The decode case needs none of them: without the SGP.26 certificates it carries
//! generated ones.
//!
//! Run: `cargo bench -p rsp-proto --bench hot_paths` (add `-- --quick` for a short run).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use openssl::ec::{EcGroup, EcKey};
use rasn::types::{Any, BitString, FixedOctetString, OctetString};
use rsp_proto::bsp::ecka::uncompressed_point;
use rsp_proto::bsp::{build_bpp, BppInputs, ReplaceSessionKeys};
use rsp_proto::codec::{decode, encode, sgp22};
use rsp_proto::pki::keystore::{KeyRef, KeyRole, KeyStore};
use rsp_proto::pki::{verify_euicc_chain, CiStore, Curve, PemKeyStore};
use rsp_proto::profile::pins::{ADM1, PIN_APPL1, PUK_APPL1, SECOND_PIN_APPL1, SECOND_PUK_APPL1};
use rsp_proto::profile::{Iccid, Imsi, Personalization, PinValue, ProfilePackage, PukValue, Secret};
use time::OffsetDateTime;

/// The TS.48 profile the ES9+ integration tests import as their template (SAIP v2.3, no BER-TLV files).
const TS48: &str = "TS48v5_SAIP2.3_NoBERTLV.der";

/// The EID of the SGP.26 test eUICC certificate, as it enters the BSP key derivation (§2.6.4.2).
const EID: [u8; 16] = [0x89, 0x04, 0x90, 0x32, 0x12, 0x34, 0x51, 0x23, 0x45, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x35];
/// ConfigureISDPRequest without dpProprietaryData (`BF24 00`), as the SM-DP+ sends it.
const CONFIGURE_ISDP: &[u8] = &[0xBF, 0x24, 0x00];
/// The StoreMetadataRequest (`BF25`: ICCID `5A`, serviceProviderName `91` "SPN") of the BSP unit tests; the
/// builder only MACs it.
const STORE_METADATA: &[u8] = &[
    0xBF, 0x25, 0x11, 0x5A, 0x0A, 0x98, 0x00, 0x10, 0x32, 0x54, 0x76, 0x98, 0x10, 0x32, 0x14, 0x91, 0x03, 0x53, 0x50,
    0x4E,
];

/// `../shared/interop` beside the repository.
fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/interop")
}

/// 2026-09-01T00:00:00Z: every SGP.26 certificate is valid (as in `tests/proto/pki_support`).
fn sgp26_now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_788_220_800).unwrap()
}

/// `NIST` or `BRP`, the SGP.26 file name suffix of a curve.
fn sgp26_suffix(curve: Curve) -> &'static str {
    match curve {
        Curve::NistP256 => "NIST",
        Curve::BrainpoolP256r1 => "BRP",
    }
}

/// The bytes of a file under `../shared/interop`, or why not (for the `SKIP` line).
fn read_interop(relative: &str) -> Result<Vec<u8>, String> {
    let path = interop_dir().join(relative);
    std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
}

fn skip(bench: &str, reason: &str) {
    eprintln!("SKIP {bench}: {reason}");
}

/// The TS.48 template, parsed.
fn ts48_template() -> Result<(Vec<u8>, ProfilePackage), String> {
    let der = read_interop(&format!("ts48/{TS48}"))?;
    let package = ProfilePackage::parse(&der).map_err(|e| format!("{TS48}: {e}"))?;
    Ok((der, package))
}

/// One row of personalization values (as in `tests/proto/profile_ts48.rs`).
fn personalization() -> Personalization {
    Personalization {
        iccid: Some(Iccid::new("8944501234567890124").unwrap()),
        imsi: Some(Imsi::new("262019876543210").unwrap()),
        ki: Some(Secret::new([0xA5; 16])),
        opc: Some(Secret::new([0x5A; 16])),
        pins: BTreeMap::from([
            (PIN_APPL1, PinValue::new("4321").unwrap()),
            (SECOND_PIN_APPL1, PinValue::new("8765").unwrap()),
            (ADM1, PinValue::new("13572468").unwrap()),
        ]),
        puks: BTreeMap::from([
            (PUK_APPL1, PukValue::new("24681357").unwrap()),
            (SECOND_PUK_APPL1, PukValue::new("97531864").unwrap()),
        ]),
    }
}

/// `build_bpp` of the personalized TS.48 profile on NIST P-256, with the SGP.26 SK.DPpb.ECDSA in a
/// [`PemKeyStore`] and ReplaceSessionKeys with random PPKs (what ES9+.GetBoundProfilePackage does). The one-time
/// keys are made once: `build_bpp` does not consume otSK.DP.ECKA.
fn bench_build_bpp(c: &mut Criterion) {
    const NAME: &str = "build_bpp";
    let profile = match ts48_template().and_then(|(_, t)| t.personalize(&personalization()).map_err(|e| e.to_string()))
    {
        Ok(package) => package.to_der(),
        Err(reason) => return skip(NAME, &reason),
    };
    let curve = Curve::NistP256;
    let dppb_key = KeyRef { role: KeyRole::DpPb, curve };
    let pem = interop_dir().join(format!("sgp26/DPpb/SK_S_SM_DPpb_ECDSA_{}.pem", sgp26_suffix(curve)));
    let key_store = match PemKeyStore::load(&[(dppb_key.clone(), &pem)]) {
        Ok(store) => store,
        Err(e) => return skip(NAME, &e.to_string()),
    };
    let (otsk_dp_ecka, otpk_dp_ecka) = key_store.generate_one_time_key(curve).unwrap();
    let otsk_euicc = EcKey::generate(&EcGroup::from_curve_name(curve.nid()).unwrap()).unwrap();
    let otpk_euicc_ecka = uncompressed_point(&otsk_euicc).unwrap();
    let inputs = BppInputs {
        transaction_id: &[0x11; 16],
        otsk_dp_ecka: &otsk_dp_ecka,
        otpk_dp_ecka: &otpk_dp_ecka,
        otpk_euicc_ecka: &otpk_euicc_ecka,
        host_id: b"rspd-host",
        eid: &EID,
        dppb_key: &dppb_key,
        configure_isdp: CONFIGURE_ISDP,
        store_metadata: STORE_METADATA,
        profile: &profile,
        replace_session_keys: ReplaceSessionKeys::Random,
    };
    build_bpp(&key_store, &inputs).expect("build_bpp");
    eprintln!("{NAME}: {TS48}, {} bytes personalized", profile.len());
    c.bench_function(NAME, |b| b.iter(|| build_bpp(black_box(&key_store), black_box(&inputs)).unwrap()));
}

/// `verify_euicc_chain` of the SGP.26 EUM and eUICC certificates, one case per curve, against a store holding
/// both SGP.26 CIs.
fn bench_verify_euicc_chain(c: &mut Criterion) {
    const NAME: &str = "verify_euicc_chain";
    let mut trusted = CiStore::new();
    let mut chains = Vec::new();
    for (curve, case) in [(Curve::NistP256, "nist"), (Curve::BrainpoolP256r1, "brainpool")] {
        let s = sgp26_suffix(curve);
        let files = (|| {
            let ci = read_interop(&format!("sgp26/CertificateIssuer/CERT_CI_ECDSA_{s}.der"))?;
            let eum = read_interop(&format!("sgp26/EUM/CERT_EUM_ECDSA_{s}.der"))?;
            let euicc = read_interop(&format!("sgp26/eUICC/CERT_EUICC_ECDSA_{s}.der"))?;
            Ok::<_, String>((ci, eum, euicc))
        })();
        match files {
            Ok((ci, eum, euicc)) => {
                trusted.add_der(&ci).unwrap_or_else(|e| panic!("SGP.26 CI {s}: {e}"));
                chains.push((case, eum, euicc));
            }
            Err(reason) => skip(&format!("{NAME}/{case}"), &reason),
        }
    }
    let now = sgp26_now();
    let mut group = c.benchmark_group(NAME);
    for (case, eum, euicc) in &chains {
        verify_euicc_chain(&trusted, eum, euicc, now).unwrap_or_else(|e| panic!("{NAME}/{case}: {e}"));
        group.bench_function(*case, |b| {
            b.iter(|| verify_euicc_chain(black_box(&trusted), black_box(eum), black_box(euicc), now).unwrap())
        });
    }
    group.finish();
}

fn os(bytes: &[u8]) -> OctetString {
    OctetString::from(bytes.to_vec())
}

fn bits(bytes: &[u8], len: usize) -> BitString {
    let mut b = BitString::from_slice(bytes);
    b.truncate(len);
    b
}

/// The eUICC and EUM certificates of the response: SGP.26 NIST when present, else a generated self-signed P-256
/// certificate for both (decoding does not look inside them).
fn response_certificates() -> (Vec<u8>, Vec<u8>, &'static str) {
    match (read_interop("sgp26/eUICC/CERT_EUICC_ECDSA_NIST.der"), read_interop("sgp26/EUM/CERT_EUM_ECDSA_NIST.der")) {
        (Ok(euicc), Ok(eum)) => (euicc, eum, "SGP.26 NIST certificates"),
        (Err(reason), _) | (_, Err(reason)) => {
            eprintln!("decode_authenticate_server_response: generated certificates ({reason})");
            let params = rcgen::CertificateParams::new(vec!["euicc.example".to_string()]).unwrap();
            let key = rcgen::KeyPair::generate().unwrap();
            let der = params.self_signed(&key).unwrap().der().to_vec();
            (der.clone(), der, "generated certificates")
        }
    }
}

/// An AuthenticateResponseOk as a commercial eUICC answers (EUICCInfo2 and DeviceInfo filled in as in
/// `tests/proto/asn1play_crosscheck.rs`), encoded once.
fn authenticate_server_response() -> (Vec<u8>, &'static str) {
    let (euicc_certificate, eum_certificate, which) = response_certificates();
    let euicc_info2 = sgp22::EuiccInfo2 {
        profile_version: FixedOctetString::new([2, 3, 1]),
        svn: FixedOctetString::new([2, 5, 0]),
        euicc_firmware_ver: FixedOctetString::new([1, 0, 0]),
        ext_card_resource: os(&[0x81, 0x01, 0x00, 0x82, 0x04, 0x00, 0x01, 0x00, 0x00]),
        uicc_capability: bits(&[0x7F, 0xFF, 0x00], 19),
        ts102241_version: Some(FixedOctetString::new([9, 2, 0])),
        globalplatform_version: Some(FixedOctetString::new([2, 3, 0])),
        rsp_capability: bits(&[0x70], 4),
        euicc_ci_pkid_list_for_verification: vec![os(&[0xF5; 20]), os(&[0xC0; 20])],
        euicc_ci_pkid_list_for_signing: vec![os(&[0xF5; 20]), os(&[0xC0; 20])],
        euicc_category: Some(2),
        forbidden_profile_policy_rules: Some(bits(&[0x60], 3)),
        pp_version: FixedOctetString::new([0, 0, 1]),
        sas_acreditation_number: "GI-BA-UP-0419".into(),
        certification_data_object: Some(sgp22::CertificationDataObject {
            platform_label: "1.2.3".into(),
            discovery_base_url: "https://d.example".into(),
        }),
        tre_properties: None,
        tre_product_reference: None,
        additional_euicc_profile_package_versions: Some(vec![FixedOctetString::new([3, 1, 0])]),
    };
    let device_info = sgp22::DeviceInfo {
        tac: FixedOctetString::new([0x35, 0x29, 0x06, 0x11]),
        device_capabilities: sgp22::DeviceCapabilities {
            gsm_supported_release: Some(FixedOctetString::new([15, 0, 0])),
            eutran_epc_supported_release: Some(FixedOctetString::new([15, 0, 0])),
            lpa_svn: Some(FixedOctetString::new([2, 5, 0])),
            euicc_form_factor_type: Some(1),
            ..Default::default()
        },
        imei: Some(FixedOctetString::new([0x35, 0x29, 0x06, 0x11, 0x22, 0x33, 0x44, 0x05])),
    };
    let response = sgp22::AuthenticateServerResponse::AuthenticateResponseOk(sgp22::AuthenticateResponseOk {
        euicc_signed1: sgp22::EuiccSigned1 {
            transaction_id: sgp22::TransactionId(os(&[0x11; 16])),
            server_address: "smdp.example:8443".into(),
            server_challenge: FixedOctetString::new([0x22; 16]),
            euicc_info2,
            ctx_params1: sgp22::CtxParams1::CtxParamsForCommonAuthentication(sgp22::CtxParamsForCommonAuthentication {
                matching_id: Some("MATCH-1".into()),
                device_info,
            }),
        },
        euicc_signature1: sgp22::Signature(os(&[0x5A; 64])),
        euicc_certificate: Any::new(euicc_certificate),
        eum_certificate: Any::new(eum_certificate),
    });
    let der = encode(&response).unwrap();
    assert_eq!(decode::<sgp22::AuthenticateServerResponse>(&der).unwrap(), response);
    (der, which)
}

/// `decode::<AuthenticateServerResponse>` of one `BF38`, as ES9+.AuthenticateClient decodes it.
fn bench_decode_authenticate_server_response(c: &mut Criterion) {
    const NAME: &str = "decode_authenticate_server_response";
    let (der, which) = authenticate_server_response();
    eprintln!("{NAME}: {} bytes, {which}", der.len());
    c.bench_function(NAME, |b| b.iter(|| decode::<sgp22::AuthenticateServerResponse>(black_box(&der)).unwrap()));
}

/// `ProfilePackage::personalize` of the parsed TS.48 template with one row of values.
fn bench_personalize(c: &mut Criterion) {
    const NAME: &str = "personalize";
    let (der, template) = match ts48_template() {
        Ok(t) => t,
        Err(reason) => return skip(NAME, &reason),
    };
    let row = personalization();
    template.personalize(&row).expect("personalize");
    eprintln!("{NAME}: {TS48}, {} bytes, {} elements", der.len(), template.elements().len());
    c.bench_function(NAME, |b| b.iter(|| black_box(&template).personalize(black_box(&row)).unwrap()));
}

criterion_group!(
    hot_paths,
    bench_build_bpp,
    bench_verify_euicc_chain,
    bench_decode_authenticate_server_response,
    bench_personalize
);
criterion_main!(hot_paths);
