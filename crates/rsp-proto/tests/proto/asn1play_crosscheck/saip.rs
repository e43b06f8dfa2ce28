//! SAIP cases for the asn1play cross-check (TCA PEDefinitions v2.3.1): a small hand-built profile package
//! (ProfileHeader, PE-PINCodes, PE-PUKCodes, PE-AKAParameter, PE-End, with non-default values) is personalized
//! by `rsp_proto::profile`, and each element of the result is checked both ways: asn1play decodes rspd's bytes as a
//! `ProfileElement` (direction 1); asn1play's re-encoding from JSON, put back in the package, must parse in rspd
//! to the same header, PIN/PUK and AKA values and the same bytes (direction 2). No TS.48 files are needed.

use std::collections::BTreeMap;

use rsp_proto::codec::tlv::{encode as tlv, Tag};
use rsp_proto::profile::pins::{ADM1, PIN_APPL1, PUK_APPL1};
use rsp_proto::profile::{Iccid, Personalization, PinValue, ProfilePackage, PukValue, Secret};
use serde_json::json;

use super::*;

fn pe_header(identification: u8) -> Vec<u8> {
    tlv(Tag(0xA0), &tlv(Tag(0x81), &[identification]))
}

/// The template: every element with the fields `rsp_proto::profile` reads and a few it keeps as is.
fn template() -> Vec<u8> {
    let header = tlv(
        Tag(0xA0),
        &[
            tlv(Tag(0x80), &[2]),
            tlv(Tag(0x81), &[3]),
            tlv(Tag(0x82), b"rspd cross-check"),
            tlv(Tag(0x83), &Iccid::new("89000123456789012341").unwrap().to_header_bytes()),
            tlv(Tag(0xA5), &[tlv(Tag(0x81), &[]), tlv(Tag(0x84), &[])].concat()),
            tlv(Tag(0xA6), &tlv(Tag(0x06), &[0x67, 0x81, 0x0F, 0x01, 0x02, 0x01])),
        ]
        .concat(),
    );
    let pin = |key: u8, value: &[u8], unblock: Option<u8>| {
        let mut f = vec![tlv(Tag(0x80), &[key]), tlv(Tag(0x81), value)];
        if let Some(u) = unblock {
            f.push(tlv(Tag(0x82), &[u]));
        }
        f.push(tlv(Tag(0x83), &[6]));
        tlv(Tag(0x30), &f.concat())
    };
    let pins = tlv(
        Tag(0xA2),
        &[
            pe_header(1),
            tlv(
                Tag(0xA1),
                &tlv(
                    Tag(0xA0),
                    &[pin(PIN_APPL1, b"0000\xFF\xFF\xFF\xFF", Some(PUK_APPL1)), pin(ADM1, b"55555555", None)].concat(),
                ),
            ),
        ]
        .concat(),
    );
    let puks = tlv(
        Tag(0xA3),
        &[
            pe_header(2),
            tlv(
                Tag(0xA1),
                &tlv(
                    Tag(0x30),
                    &[tlv(Tag(0x80), &[PUK_APPL1]), tlv(Tag(0x81), b"11111111"), tlv(Tag(0x82), &[0x55])].concat(),
                ),
            ),
        ]
        .concat(),
    );
    let aka = tlv(
        Tag(0xA4),
        &[
            pe_header(3),
            tlv(
                Tag(0xA1),
                &tlv(
                    Tag(0xA1),
                    &[
                        tlv(Tag(0x80), &[1]),
                        tlv(Tag(0x81), &[0]),
                        tlv(Tag(0x82), &[0x01; 16]),
                        tlv(Tag(0x83), &[0x02; 16]),
                    ]
                    .concat(),
                ),
            ),
            tlv(Tag(0x82), &[0x0A]),
        ]
        .concat(),
    );
    let end = tlv(Tag(0xAA), &pe_header(4));
    [header, pins, puks, aka, end].concat()
}

fn personalized() -> ProfilePackage {
    let template = ProfilePackage::parse(&template()).unwrap();
    template
        .personalize(&Personalization {
            iccid: None, // writing the ICCID needs a PE-MF with EF.ICCID, which this template lacks
            imsi: None,
            ki: Some(Secret::new([0xA5; 16])),
            opc: Some(Secret::new([0x5A; 16])),
            pins: BTreeMap::from([
                (PIN_APPL1, PinValue::new("1234").unwrap()),
                (ADM1, PinValue::new("87654321").unwrap()),
            ]),
            puks: BTreeMap::from([(PUK_APPL1, PukValue::new("12345678").unwrap())]),
        })
        .unwrap()
}

/// Direction 2: element `index` replaced by asn1play's bytes must read back to the same package.
fn element_check(index: usize) -> Check {
    Box::new(move |bytes| {
        let want = personalized();
        let mut elements: Vec<Vec<u8>> = want.elements().iter().map(|e| e.raw().to_vec()).collect();
        elements[index] = bytes.to_vec();
        let got = ProfilePackage::parse(&elements.concat()).map_err(|e| e.to_string())?;
        if got.header() != want.header()
            || got.pin_codes() != want.pin_codes()
            || got.puk_codes() != want.puk_codes()
            || got.aka_parameters() != want.aka_parameters()
        {
            return Err(format!("rspd reads the element differently: {:?} vs {:?}", got.header(), want.header()));
        }
        if got.to_der() != want.to_der() {
            return Err("the package bytes differ".into());
        }
        Ok(())
    })
}

pub fn saip_cases(c: &mut Corpus) {
    let package = personalized();
    let names = ["ProfileHeader", "PE-PINCodes", "PE-PUKCodes", "PE-AKAParameter", "PE-End"];
    assert_eq!(package.elements().len(), names.len());
    let der = |i: usize| package.elements()[i].raw().to_vec();
    c.add_raw("saip", names[0], "ProfileElement", der(0), element_check(0))
        .expect("/header/iccid", json!("89000123456789012341"))
        .expect("/header/major-version", json!(2))
        .expect("/header/profileType", json!("rspd cross-check"));
    c.add_raw("saip", names[1], "ProfileElement", der(1), element_check(1))
        .expect("/pinCodes/pinCodes/pinconfig/0/pinValue", json!("31323334ffffffff"))
        .expect("/pinCodes/pinCodes/pinconfig/1/pinValue", json!("3837363534333231"))
        .expect("/pinCodes/pinCodes/pinconfig/0/pinAttributes", json!(6));
    c.add_raw("saip", names[2], "ProfileElement", der(2), element_check(2))
        .expect("/pukCodes/pukCodes/0/pukValue", json!("3132333435363738"))
        .expect("/pukCodes/pukCodes/0/maxNumOfAttemps-retryNumLeft", json!(0x55));
    c.add_raw("saip", names[3], "ProfileElement", der(3), element_check(3))
        .expect("/akaParameter/algoConfiguration/algoParameter/key", json!(hex::encode([0xA5; 16])))
        .expect("/akaParameter/algoConfiguration/algoParameter/opc", json!(hex::encode([0x5A; 16])))
        .expect("/akaParameter/sqnOptions", json!("0a"));
    c.add_raw("saip", names[4], "ProfileElement", der(4), element_check(4))
        .expect("/end/end-header/identification", json!(4));
}
