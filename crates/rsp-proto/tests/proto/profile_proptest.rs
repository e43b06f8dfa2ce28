//! Property tests for `rsp_proto::profile` (TCA SAIP v2.3 §8 profile packages): garbage in gives an error, never a
//! panic; parse∘encode is the identity on TS.48-derived packages personalized with random values; and
//! personalizing back to a template's own values restores the template byte for byte.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use proptest::prelude::*;
use rsp_proto::profile::pins::{ADM1, ADM2, PIN_APPL1, PUK_APPL1, SECOND_PIN_APPL1, SECOND_PUK_APPL1};
use rsp_proto::profile::{AlgoConfiguration, Iccid, Imsi, Personalization, PinValue, ProfilePackage, PukValue, Secret};

/// The TS.48 profiles from `../shared` (empty, with the reason printed once, when absent).
fn ts48() -> &'static [Vec<u8>] {
    static FILES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/interop/ts48");
        let mut paths: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries.filter_map(Result::ok).map(|e| e.path()).collect(),
            Err(_) => Vec::new(),
        };
        paths.retain(|p| p.extension().is_some_and(|x| x == "der"));
        paths.sort();
        if paths.is_empty() {
            eprintln!("SKIP (TS.48 properties): {} is absent", dir.display());
        }
        paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
    })
}

fn luhn_digit(body: &str) -> char {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let dd = d * 2;
                if dd > 9 {
                    dd - 9
                } else {
                    dd
                }
            } else {
                d
            }
        })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

fn iccid() -> impl Strategy<Value = Iccid> {
    "[0-9]{15,17}".prop_map(|rest| {
        let body = format!("89{rest}");
        let check = luhn_digit(&body);
        Iccid::new(&format!("{body}{check}")).unwrap()
    })
}

fn personalization() -> impl Strategy<Value = Personalization> {
    (iccid(), "[0-9]{6,15}", any::<[u8; 16]>(), any::<[u8; 16]>(), "[0-9]{4,8}", "[0-9]{4,8}", "[0-9]{8}", "[0-9]{8}")
        .prop_map(|(iccid, imsi, ki, opc, pin1, adm1, puk1, puk2)| Personalization {
            iccid: Some(iccid),
            imsi: Some(Imsi::new(&imsi).unwrap()),
            ki: Some(Secret::new(ki)),
            opc: Some(Secret::new(opc)),
            pins: BTreeMap::from([(PIN_APPL1, PinValue::new(&pin1).unwrap()), (ADM1, PinValue::new(&adm1).unwrap())]),
            puks: BTreeMap::from([
                (PUK_APPL1, PukValue::new(&puk1).unwrap()),
                (SECOND_PUK_APPL1, PukValue::new(&puk2).unwrap()),
            ]),
        })
}

/// The values the TS.48 profiles carry.
fn ts48_values() -> Personalization {
    Personalization {
        iccid: Some(Iccid::new("89000123456789012341").unwrap()),
        imsi: Some(Imsi::new("001010123456063").unwrap()),
        ki: Some(Secret::new([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])),
        opc: Some(Secret::new([0; 16])),
        pins: BTreeMap::from([
            (PIN_APPL1, PinValue::new("0000").unwrap()),
            (SECOND_PIN_APPL1, PinValue::new("9999").unwrap()),
            (ADM1, PinValue::new("55555555").unwrap()),
            (ADM2, PinValue::new("66666666").unwrap()),
        ]),
        puks: BTreeMap::from([
            (PUK_APPL1, PukValue::new("11111111").unwrap()),
            (SECOND_PUK_APPL1, PukValue::new("22222222").unwrap()),
        ]),
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = ProfilePackage::parse(&bytes);
    }

    #[test]
    fn bytes_after_a_header_tag_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut der = vec![0xA0];
        der.extend_from_slice(&bytes);
        if let Ok(p) = ProfilePackage::parse(&der) {
            prop_assert_eq!(p.to_der(), der);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn mutated_ts48_bytes_never_panic(
        pick in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let files = ts48();
        if files.is_empty() { return Ok(()); }
        let mut der = files[pick.index(files.len())].clone();
        for (at, value) in flips {
            let i = at.index(der.len());
            der[i] = value;
        }
        if truncate {
            der.truncate(cut.index(der.len()));
        }
        if let Ok(p) = ProfilePackage::parse(&der) {
            prop_assert_eq!(p.to_der(), der);
        }
    }

    #[test]
    fn personalized_ts48_parses_and_encodes_to_itself(pick in any::<prop::sample::Index>(), p in personalization()) {
        let files = ts48();
        if files.is_empty() { return Ok(()); }
        let template_der = &files[pick.index(files.len())];
        let template = ProfilePackage::parse(template_der).unwrap();
        let out = template.personalize(&p).unwrap();
        let der = out.to_der();
        let reparsed = ProfilePackage::parse(&der).unwrap();
        prop_assert_eq!(reparsed.to_der(), der.clone());
        prop_assert_eq!(reparsed.iccid(), p.iccid.as_ref().unwrap());
        prop_assert_eq!(reparsed.ef_iccid(), p.iccid.as_ref());
        prop_assert_eq!(reparsed.imsi(), p.imsi.as_ref());
        for aka in reparsed.aka_parameters() {
            if let AlgoConfiguration::AlgoParameter(a) = &aka.algo_configuration {
                prop_assert_eq!(a.key.expose().as_slice(), p.ki.as_ref().unwrap().expose().as_slice());
                prop_assert_eq!(a.opc.expose().as_slice(), p.opc.as_ref().unwrap().expose().as_slice());
            }
        }
        // And back: writing the template's own values restores it byte for byte.
        prop_assert_eq!(&reparsed.personalize(&ts48_values()).unwrap().to_der(), template_der);
    }
}
