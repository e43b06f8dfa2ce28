//! Writes the committed seed corpora under `seeds/<target>/`, built with rspd's own encoders: SGP.22 v2.5
//! messages (rasn DER), BPPs and SCP03t segments for the fixed fuzz keys (§2.5.5, §2.6.4), certificates and
//! chains of a freshly generated rspd test PKI (§4.5, both curves), raw `r || s` signatures (§2.6.5), a
//! minimal SAIP package and TOML configurations. Nothing is copied from `../shared`.
//!
//! `cargo run --manifest-path conformance/fuzz/Cargo.toml --example make_seeds` (from the repository root).
//! Certificates and signatures are new on every run, so only re-run it when seeds should change.

use std::path::{Path, PathBuf};

use openssl::ec::{EcGroup, EcKey};
use openssl::x509::X509;
use rasn::types::{FixedOctetString, OctetString};

use rspd::bsp::{Scp03tSession, SessionKeys};
use rspd::codec::encode;
use rspd::codec::sgp22::*;
use rspd::codec::tlv::{self, Tag};
use rspd::pki::test_pki::{self, TestPkiPaths, TestPkiRequest};
use rspd::pki::{ecdsa, Curve};
use rspd::profile::Iccid;
use rspd_fuzz::checks::{build_fuzz_bpp, SGP22_TYPES};

fn main() {
    let seeds = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds");
    tlv_seeds(&seeds.join("tlv"));
    codec_seeds(&seeds.join("codec_sgp22"));
    bpp_seeds(&seeds.join("bpp_open"));
    scp03t_seeds(&seeds.join("scp03t_open"));
    pki_seeds(&seeds);
    ecdsa_seeds(&seeds.join("ecdsa_verify"));
    saip_seeds(&seeds.join("saip_profile"));
    config_seeds(&seeds.join("config_toml"));
    seeds_reach_deep(&seeds);
    println!("seeds written under {}", seeds.display());
}

/// The seeds are only useful if they pass the checks a fuzzer cannot forge (signatures, MACs, chains).
fn seeds_reach_deep(seeds: &Path) {
    let keys = rspd_fuzz::checks::fuzz_keys();
    let bpp = std::fs::read(seeds.join("bpp_open/open_replace_session_keys")).unwrap();
    let opened = rspd::bsp::open_bpp(&bpp[1..], &keys.dppb, &keys.otsk_euicc_ecka, &rspd_fuzz::checks::FUZZ_EID);
    assert_eq!(opened.expect("BPP seed opens").profile, b"profile");
    for curve in ["nist", "brainpool"] {
        let seed = std::fs::read(seeds.join(format!("euicc_chain/{curve}_euicc"))).unwrap();
        let ci_len = usize::from(u16::from_be_bytes([seed[1], seed[2]]));
        let ci = &seed[3..3 + ci_len];
        let rest = &seed[3 + ci_len..];
        let eum_len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let (eum, euicc) = rest[2..].split_at(eum_len);
        let mut store = rspd::pki::CiStore::new();
        store.add_der(ci).unwrap();
        let now = time::OffsetDateTime::now_utc();
        rspd::pki::verify_euicc_chain(&store, eum, euicc, now).expect("eUICC chain seed verifies");
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn tlv_seeds(dir: &Path) {
    let inner = tlv::encode_constructed(Tag(0xBF23), [tlv::encode(Tag(0x82), &[1]).as_slice()]);
    let bf36 = tlv::encode_constructed(Tag(0xBF36), [inner.as_slice(), &tlv::encode(Tag(0x5F37), &[0xAA; 64])]);
    write(dir, "bf36_nested", &bf36);
    write(dir, "long_length", &tlv::encode(Tag(0x04), &[0x5A; 300]));
    write(dir, "series", &[tlv::encode(Tag(0x80), &[1]), tlv::encode(Tag(0xA1), &[0x81, 0x00])].concat());
}

/// `type index || DER`, the index found by the ASN.1 name in `SGP22_TYPES`.
fn codec_seed(dir: &Path, name: &str, der: Vec<u8>) {
    let index = SGP22_TYPES.iter().position(|(n, _)| *n == name).unwrap_or_else(|| panic!("{name} not in SGP22_TYPES"));
    write(dir, name, &[&[index as u8][..], &der].concat());
}

fn codec_seeds(dir: &Path) {
    let info1 = EuiccInfo1 {
        svn: FixedOctetString::new([2, 5, 0]),
        euicc_ci_pkid_list_for_verification: vec![OctetString::from(vec![0xF5; 20])],
        euicc_ci_pkid_list_for_signing: vec![OctetString::from(vec![0xF5; 20])],
    };
    codec_seed(dir, "EuiccInfo1", encode(&info1).unwrap());
    let request = InitiateAuthenticationRequest {
        euicc_challenge: FixedOctetString::new([0x33; 16]),
        smdp_address: "smdp.example".into(),
        euicc_info1: info1,
    };
    codec_seed(dir, "InitiateAuthenticationRequest", encode(&request).unwrap());
    let signed1 = ServerSigned1 {
        transaction_id: TransactionId(OctetString::from(vec![1, 2, 3])),
        euicc_challenge: FixedOctetString::new([0x33; 16]),
        server_address: "smdp.example".into(),
        server_challenge: FixedOctetString::new([0x22; 16]),
    };
    codec_seed(dir, "ServerSigned1", encode(&signed1).unwrap());
    let cancel = CancelSessionRequest { transaction_id: TransactionId(OctetString::from(vec![0xAB; 16])), reason: 1 };
    codec_seed(dir, "CancelSessionRequest", encode(&cancel).unwrap());
    codec_seed(dir, "CancelSessionResponse", encode(&CancelSessionResponse::CancelSessionResponseError(5)).unwrap());
    let info2 = EuiccInfo2 {
        profile_version: FixedOctetString::new([2, 3, 1]),
        svn: FixedOctetString::new([2, 5, 0]),
        euicc_firmware_ver: FixedOctetString::new([1, 0, 0]),
        ext_card_resource: OctetString::from(vec![0x81, 0x01, 0x00]),
        uicc_capability: rasn::types::BitString::from_slice(&[0x7F, 0xFF]),
        ts102241_version: None,
        globalplatform_version: None,
        rsp_capability: rasn::types::BitString::from_slice(&[0x70]),
        euicc_ci_pkid_list_for_verification: vec![OctetString::from(vec![0xF5; 20])],
        euicc_ci_pkid_list_for_signing: vec![OctetString::from(vec![0xF5; 20])],
        euicc_category: None,
        forbidden_profile_policy_rules: None,
        pp_version: FixedOctetString::new([0, 0, 1]),
        sas_acreditation_number: "SAS".into(),
        certification_data_object: None,
        tre_properties: None,
        tre_product_reference: None,
        additional_euicc_profile_package_versions: None,
    };
    codec_seed(dir, "EuiccInfo2", encode(&info2).unwrap());
}

fn bpp_seeds(dir: &Path) {
    // Mode 0: complete BPPs for the fixed keys (two 86 segments; with ReplaceSessionKeys).
    write(dir, "open_two_segments", &[&[0u8][..], &build_fuzz_bpp(&[0x5A; 1100], false)].concat());
    write(dir, "open_replace_session_keys", &[&[0u8][..], &build_fuzz_bpp(b"profile", true)].concat());
    // Mode 1: a profile to build around, with ReplaceSessionKeys (0x80 | 1).
    write(dir, "round_trip", &[&[0x81u8][..], b"A0 profile bytes"].concat());
    // Mode 2: flip one bit of the BF23 signature and one of the last segment.
    write(dir, "tamper", &[2, 0x00, 0x60, 0x01, 0xFF, 0xFF, 0x80]);
}

fn scp03t_seeds(dir: &Path) {
    let keys = SessionKeys { s_enc: [0x11; 16], s_mac: [0x22; 16], initial_mcv: [0x33; 16] };
    let segment = Scp03tSession::new(&keys).encrypt_and_mac(0x86, b"profile element").unwrap();
    write(dir, "open_valid_86", &[&[0u8, 0][..], &segment].concat());
    write(dir, "forged_mac_ciphertext", &[&[1u8, 1][..], &[0xC1; 32]].concat());
    write(dir, "round_trip", &[&[2u8, 1][..], b"ConfigureISDP"].concat());
    write(dir, "mac_only", &[&[3u8, 2][..], b"StoreMetadata"].concat());
}

fn der_of(pem_path: &Path) -> Vec<u8> {
    X509::from_pem(&std::fs::read(pem_path).unwrap()).unwrap().to_der().unwrap()
}

fn prefixed(bytes: &[u8]) -> Vec<u8> {
    [&(bytes.len() as u16).to_be_bytes()[..], bytes].concat()
}

/// `certificate` and `euicc_chain` seeds from a fresh rspd test PKI (both curves).
fn pki_seeds(seeds: &Path) {
    let out = std::env::temp_dir().join(format!("rspd-fuzz-seeds-pki-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    test_pki::generate(&TestPkiRequest {
        out: out.clone(),
        curves: Curve::ALL.to_vec(),
        addresses: vec!["smdp.example.com".into()],
        force: false,
    })
    .unwrap();
    let paths = TestPkiPaths::new(&out);
    let (certs, chains) = (seeds.join("certificate"), seeds.join("euicc_chain"));
    for curve in Curve::ALL {
        let tag = match curve {
            Curve::NistP256 => "nist",
            Curve::BrainpoolP256r1 => "brainpool",
        };
        let ci = der_of(&paths.ci_cert(curve));
        let eum = der_of(&paths.eum_cert(curve));
        let euicc = der_of(&paths.euicc_cert(curve));
        write(&certs, &format!("{tag}_ci.der"), &ci);
        write(&certs, &format!("{tag}_eum.der"), &eum);
        write(&certs, &format!("{tag}_euicc.der"), &euicc);
        write(&certs, &format!("{tag}_dptls.der"), &der_of(&paths.dptls_cert(curve)));
        write(&chains, &format!("{tag}_euicc"), &[vec![0], prefixed(&ci), prefixed(&eum), euicc].concat());
        for (mode, name, path) in [
            (1u8, "dpauth", paths.dpauth_cert(curve)),
            (2, "dppb", paths.dppb_cert(curve)),
            (3, "dptls", paths.dptls_cert(curve)),
        ] {
            write(&chains, &format!("{tag}_{name}"), &[vec![mode], prefixed(&ci), prefixed(&der_of(&path))].concat());
        }
    }
    write(&certs, "nist_euicc.pem", &std::fs::read(paths.euicc_cert(Curve::NistP256)).unwrap());
    std::fs::remove_dir_all(&out).unwrap();
}

fn ecdsa_seeds(dir: &Path) {
    for (mode, curve) in [(0u8, Curve::NistP256), (1, Curve::BrainpoolP256r1)] {
        let key = EcKey::generate(&EcGroup::from_curve_name(curve.nid()).unwrap()).unwrap();
        let point = rspd::bsp::ecka::uncompressed_point(&key).unwrap();
        let message = b"euiccSigned1 bytes";
        let sig = ecdsa::sign(&key, message).unwrap();
        write(dir, &format!("peer_{curve:?}"), &[&[mode, 65][..], &point, message, &sig.0].concat());
        write(dir, &format!("own_{curve:?}"), &[&[mode | 2, 0][..], message].concat());
    }
}

/// A minimal SAIP package (TCA SAIP v2.3 §8.1): ProfileHeader, PE-MF with EF.ICCID, PE-End.
fn saip_seeds(dir: &Path) {
    let iccid = Iccid::new("89000123456789012341").unwrap();
    let header = tlv::encode_constructed(
        Tag(0xA0),
        [
            tlv::encode(Tag(0x80), &[2]),
            tlv::encode(Tag(0x81), &[3]),
            tlv::encode(Tag(0x83), &iccid.to_header_bytes()),
            tlv::encode(Tag(0xA5), &[]),
            tlv::encode(Tag(0xA6), &[]),
        ]
        .iter()
        .map(Vec::as_slice),
    );
    let pe_header = |id: u8| tlv::encode(Tag(0xA0), &tlv::encode(Tag(0x81), &[id]));
    let ef_iccid = tlv::encode(Tag(0xA4), &tlv::encode(Tag(0x83), &iccid.to_ef_iccid()));
    let mf = tlv::encode_constructed(Tag(0xB0), [pe_header(1).as_slice(), &ef_iccid]);
    let end = tlv::encode(Tag(0xAA), &pe_header(9));
    write(dir, "minimal", &[header.clone(), mf, end.clone()].concat());
    write(dir, "header_end", &[header, end].concat());
}

fn config_seeds(dir: &Path) {
    write(dir, "empty.toml", b"");
    write(
        dir,
        "full.toml",
        br#"data_dir = "/var/lib/rspd"
workers = 2

[log]
level = "info"
format = "json"

[database]
url = "sqlite:///var/lib/rspd/rspd.db"
pool_size = 4

[smdp]
addresses = ["smdp.example.com"]

[device]
listen = "0.0.0.0:8443"
plain_http = false

[pki]
generate_test_pki = true
"#,
    );
    write(dir, "bad_type.toml", b"workers = \"two\"\n[device]\nplain_http = 1\n");
}
