//! Black-box tests of `rsp_proto::profile` against the public GSMA TS.48 generic test profiles (SAIP unprotected
//! profile packages, TCA SAIP v2.1–v2.3 §8) read from `../shared/interop/ts48` (skipped when absent), and an
//! independent cross-check of personalized output with asn1play/pycrate's SAIP decoder (`crates/rsp-proto/tests/py/saip_decode.py`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use rsp_proto::profile::pins::{ADM1, PIN_APPL1, PUK_APPL1, SECOND_PIN_APPL1, SECOND_PUK_APPL1};
use rsp_proto::profile::{
    AlgoConfiguration, Iccid, Imsi, Personalization, PinValue, ProfileElementKind, ProfilePackage, PukValue, Secret,
};

const TS48_ICCID: &str = "89000123456789012341";
const TS48_IMSI: &str = "001010123456063";
const TS48_KI: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

/// The TS.48 profiles, or `None` (with the reason printed) when `../shared` is not there.
fn ts48_profiles() -> Option<Vec<(String, Vec<u8>)>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/interop/ts48");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("SKIP: {} is absent (a fresh clone has no ../shared)", dir.display());
        return None;
    };
    let mut files: Vec<(String, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "der"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    if files.is_empty() {
        eprintln!("SKIP: no *.der in {}", dir.display());
        return None;
    }
    Some(files)
}

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

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn every_ts48_profile_parses_and_reencodes_identically() {
    let Some(profiles) = ts48_profiles() else { return };
    for (name, der) in &profiles {
        let package = ProfilePackage::parse(der).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(package.to_der(), *der, "{name}: re-encoding differs");
        assert_eq!(package.iccid().digits(), TS48_ICCID, "{name}");
        assert_eq!(package.ef_iccid().map(|i| i.digits()), Some(TS48_ICCID.to_owned()), "{name}");
        assert_eq!(package.imsi().map(|i| i.digits().to_owned()), Some(TS48_IMSI.to_owned()), "{name}");
        let keys: Vec<_> = package
            .aka_parameters()
            .iter()
            .filter_map(|a| match &a.algo_configuration {
                AlgoConfiguration::AlgoParameter(p) => Some(p.key.expose().clone()),
                AlgoConfiguration::MappingParameter { .. } => None,
            })
            .collect();
        assert!(!keys.is_empty() && keys.iter().all(|k| k == &TS48_KI), "{name}");
        assert!(package.pin_codes().iter().any(|p| p.key_reference == PIN_APPL1), "{name}");
        assert!(package.puk_codes().iter().any(|p| p.key_reference == PUK_APPL1), "{name}");
        // Nothing secret leaks through Debug.
        let shown = format!("{package:?}");
        assert!(!shown.contains("55555555") && !shown.contains("[0, 1, 2, 3"), "{name}: Debug shows secrets");
        println!(
            "{name}: {} bytes, {} elements, SAIP header v{}.{}, ICCID {}, IMSI {}: parse + re-encode identical",
            der.len(),
            package.elements().len(),
            package.header().major_version,
            package.header().minor_version,
            package.iccid(),
            package.imsi().map(|i| i.to_string()).unwrap_or_default(),
        );
    }
}

#[test]
fn personalized_ts48_profiles_hold_the_new_values_and_no_trace_of_the_old() {
    let Some(profiles) = ts48_profiles() else { return };
    let p = personalization();
    for (name, der) in &profiles {
        let template = ProfilePackage::parse(der).unwrap();
        let out = template.personalize(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        let bytes = out.to_der();
        assert_eq!(ProfilePackage::parse(&bytes).unwrap().to_der(), bytes, "{name}: output re-encodes");

        // New values read back.
        assert_eq!(out.iccid().digits(), "8944501234567890124");
        assert_eq!(out.ef_iccid(), Some(out.iccid()));
        assert_eq!(out.imsi().unwrap().digits(), "262019876543210");
        for aka in out.aka_parameters() {
            if let AlgoConfiguration::AlgoParameter(a) = &aka.algo_configuration {
                assert_eq!(a.key.expose(), &vec![0xA5; 16], "{name}");
                assert_eq!(a.opc.expose(), &vec![0x5A; 16], "{name}");
            }
        }
        for pin in out.pin_codes() {
            if let Some(v) = p.pins.get(&pin.key_reference) {
                assert_eq!(pin.pin_value, *v, "{name}: PIN {}", pin.key_reference);
            }
        }
        for puk in out.puk_codes() {
            assert_eq!(Some(&puk.puk_value), p.puks.get(&puk.key_reference), "{name}: PUK {}", puk.key_reference);
        }

        // No trace of the old ICCID (both encodings) or IMSI (EF.IMSI bytes) anywhere.
        for old in [&hex::decode("98001032547698103214").unwrap(), &hex::decode("89000123456789012341").unwrap()] {
            assert!(!contains(&bytes, old), "{name}: old ICCID still present");
        }
        assert!(!contains(&bytes, &hex::decode("080910101032540636").unwrap()), "{name}: old EF.IMSI still present");
        assert!(!contains(&bytes, b"55555555") && !contains(&bytes, b"11111111"), "{name}: old ADM1/PUK1");
        // The old Ki: gone from every element except PE-SecurityDomain, whose SCP80/81 test keys happen to use
        // the same 00..0F pattern in some TS.48 versions (not AKA material; not personalized here).
        for element in out.elements() {
            if element.kind() != ProfileElementKind::SecurityDomain {
                assert!(!contains(element.raw(), &TS48_KI), "{name}: old Ki in {:?}", element);
            }
        }

        // Only personalized elements changed; the rest are byte-identical and in the same order.
        assert_eq!(template.elements().len(), out.elements().len());
        for (before, after) in template.elements().iter().zip(out.elements()) {
            assert_eq!(before.kind(), after.kind());
            let personalized = matches!(
                before.kind(),
                ProfileElementKind::Header
                    | ProfileElementKind::Mf
                    | ProfileElementKind::Usim
                    | ProfileElementKind::AkaParameter
                    | ProfileElementKind::PinCodes
                    | ProfileElementKind::PukCodes
            );
            if !personalized {
                assert_eq!(before.raw(), after.raw(), "{name}: {:?} changed", before);
            }
        }

        // Personalizing again with the same values changes nothing; back to the old values restores the template
        // for the fields that differ only by value (same lengths).
        assert_eq!(out.personalize(&p).unwrap().to_der(), bytes, "{name}: idempotent");
        println!("{name}: personalized ({} bytes), no trace of the old ICCID/IMSI/Ki/PINs", bytes.len());
    }
}

#[test]
fn personalization_with_nothing_set_is_the_identity() {
    let Some(profiles) = ts48_profiles() else { return };
    for (name, der) in &profiles {
        let out = ProfilePackage::parse(der).unwrap().personalize(&Personalization::default()).unwrap();
        assert_eq!(out.to_der(), *der, "{name}");
    }
}

#[test]
fn personalization_refuses_what_the_template_lacks() {
    let Some(profiles) = ts48_profiles() else { return };
    let template = ProfilePackage::parse(&profiles[0].1).unwrap();
    let p = Personalization { pins: BTreeMap::from([(0x8C, PinValue::new("1234").unwrap())]), ..Default::default() };
    assert!(matches!(template.personalize(&p), Err(rsp_proto::profile::ProfileError::NotInTemplate { .. })));
}

/// Runs `tests/py/saip_decode.py` (of this crate) (asn1play's pycrate SAIP codec) on `der`; `None` (reason printed) to skip.
fn pycrate_decode(der: &[u8]) -> Option<serde_json::Value> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/saip_decode.py");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("package.der");
    std::fs::write(&path, der).unwrap();
    let output = match Command::new("python3").arg(&script).arg(&path).output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("SKIP: python3 cannot be run ({e})");
            return None;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.code() == Some(3) {
        eprintln!("{}", stdout.trim());
        return None;
    }
    assert!(output.status.success(), "saip_decode.py failed: {}", String::from_utf8_lossy(&output.stderr));
    Some(serde_json::from_str(&stdout).unwrap())
}

#[test]
fn pycrate_decodes_the_personalized_values() {
    let Some(profiles) = ts48_profiles() else { return };
    let p = personalization();
    for (name, der) in &profiles {
        let out = ProfilePackage::parse(der).unwrap().personalize(&p).unwrap().to_der();
        let Some(decoded) = pycrate_decode(&out) else { return };
        assert_eq!(decoded["header_iccid"], "8944501234567890124f", "{name}");
        assert_eq!(decoded["ef_iccid"], "984405214365870921f4", "{name}");
        assert_eq!(decoded["ef_imsi"], "082926108967452301", "{name}");
        let aka = decoded["aka"].as_array().unwrap();
        assert!(!aka.is_empty());
        for a in aka {
            assert_eq!(a["key"], "a5".repeat(16), "{name}");
            assert_eq!(a["opc"], "5a".repeat(16), "{name}");
        }
        for pin in decoded["pins"].as_array().unwrap() {
            let expected = match pin["keyReference"].as_u64().unwrap() {
                1 => Some(hex::encode(b"4321\xFF\xFF\xFF\xFF")),
                129 => Some(hex::encode(b"8765\xFF\xFF\xFF\xFF")),
                10 => Some(hex::encode(b"13572468")),
                _ => None,
            };
            if let Some(expected) = expected {
                assert_eq!(pin["pinValue"], expected.as_str(), "{name}");
            }
        }
        for puk in decoded["puks"].as_array().unwrap() {
            let expected = if puk["keyReference"] == 1 { hex::encode(b"24681357") } else { hex::encode(b"97531864") };
            assert_eq!(puk["pukValue"], expected.as_str(), "{name}");
        }
        // pycrate's own DER encoding of every element equals rspd's bytes.
        assert_eq!(decoded["reencode_identical"], true, "{name}");
        println!("{name}: pycrate decodes ICCID/IMSI/Ki/OPc/PINs/PUKs as personalized; its re-encoding is identical");
    }
}
