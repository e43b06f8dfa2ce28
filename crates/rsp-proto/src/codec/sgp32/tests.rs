//! Known answers and robustness for the SGP.32 v1.2 codec (SGP.32 v1.2 §2.11, §6.3; X.690 DER; the AUTOMATIC
//! TAGS facts in `docs/INTEROP.md` § ESipa): exact bytes for the encodings peers depend on, strict DER,
//! tolerance of a newer peer's extension fields, garbage in → error, never a panic.

use proptest::prelude::*;
use rasn::types::{BitString, FixedOctetString, ObjectIdentifier, OctetString};

use super::*;
use crate::codec::sgp22::{Iccid, Signature, TransactionId};
use crate::codec::tlv::{encode as tlv, Tag};
use crate::codec::{decode, encode, CodecError, Message};

const EID: [u8; 16] = [0x89, 0x04, 0x90, 0x32, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34];

fn iccid() -> Iccid {
    Iccid(FixedOctetString::new([0x98, 0x10, 0x32, 0x54, 0x76, 0x98, 0x10, 0x32, 0x54, 0xF6]))
}

fn tid() -> TransactionId {
    TransactionId(OctetString::from(vec![0x42; 4]))
}

fn package_signed(package: EuiccPackage) -> EuiccPackageSigned {
    EuiccPackageSigned {
        eim_id: "eim.example".into(),
        eid_value: FixedOctetString::new(EID),
        counter_value: 7,
        eim_transaction_id: Some(tid()),
        euicc_package: package,
    }
}

fn result_data_signed() -> EuiccPackageResultDataSigned {
    EuiccPackageResultDataSigned {
        eim_id: "eim.example".into(),
        counter_value: 7,
        eim_transaction_id: Some(tid()),
        seq_number: 3,
        euicc_result: vec![EuiccResultData::EnableResult(0), EuiccResultData::ProcessingTerminated(3)],
    }
}

fn epr() -> EuiccPackageResult {
    EuiccPackageResult::EuiccPackageResultSigned(EuiccPackageResultSigned {
        euicc_package_result_data_signed: result_data_signed(),
        euicc_sign_epr: Signature(OctetString::from(vec![0x5A; 64])),
    })
}

/// A P-256 SubjectPublicKeyInfo (RFC 5480): `30 59 30 13 06 07 2A8648CE3D0201 06 08 2A8648CE3D030107 03 42 00 04 …`.
fn spki_der() -> Vec<u8> {
    let alg = tlv(
        Tag(0x30),
        &[
            tlv(Tag(0x06), &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]),
            tlv(Tag(0x06), &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]),
        ]
        .concat(),
    );
    let mut point = vec![0x00, 0x04];
    point.extend_from_slice(&[0x11; 64]);
    tlv(Tag(0x30), &[alg, tlv(Tag(0x03), &point)].concat())
}

#[test]
fn no_eim_package_available_is_bf4f_03_02_01_01() {
    let der = encode(&GetEimPackageResponse::NO_EIM_PACKAGE_AVAILABLE).unwrap();
    assert_eq!(der, [0xBF, 0x4F, 0x03, 0x02, 0x01, 0x01]);
    assert_eq!(decode::<GetEimPackageResponse>(&der).unwrap(), GetEimPackageResponse::EimPackageError(1));
}

#[test]
fn empty_response_is_30_00_inside_bf50() {
    let der = encode(&ProvideEimPackageResultResponse::EmptyResponse(Empty {})).unwrap();
    assert_eq!(der, [0xBF, 0x50, 0x02, 0x30, 0x00]);
    let acks = ProvideEimPackageResultResponse::EimAcknowledgements(EimAcknowledgements(vec![
        SequenceNumber(1),
        SequenceNumber(300),
    ]));
    let der = encode(&acks).unwrap();
    assert_eq!(der, [0xBF, 0x50, 0x0A, 0xBF, 0x53, 0x07, 0x80, 0x01, 0x01, 0x80, 0x02, 0x01, 0x2C]);
    assert_eq!(decode::<ProvideEimPackageResultResponse>(&der).unwrap(), acks);
    assert_eq!(
        encode(&ProvideEimPackageResultResponse::ProvideEimPackageResultError(2)).unwrap(),
        [0xBF, 0x50, 0x03, 0x02, 0x01, 0x02]
    );
}

#[test]
fn euicc_package_signed_layout_and_psmo_list_is_a0() {
    let signed = package_signed(EuiccPackage::PsmoList(vec![Psmo::Enable(PsmoEnable {
        iccid: iccid(),
        rollback_flag: Some(()),
    })]));
    let der = encode(&signed).unwrap();
    let top = crate::codec::tlv::parse_single(&der).unwrap();
    let tags: Vec<u32> = top.children().unwrap().iter().map(|c| c.tag().0).collect();
    // eimId [0], eidValue 5A, counterValue [1], eimTransactionId [2], euiccPackage psmoList [0] constructed.
    assert_eq!(tags, [0x80, 0x5A, 0x81, 0x82, 0xA0]);
    let psmo_list = top.child(Tag(0xA0)).unwrap().unwrap();
    // enable [3] { 5A iccid, 05 00 rollbackFlag }
    let mut enable = vec![0xA3, 0x0E, 0x5A, 0x0A];
    enable.extend_from_slice(&iccid().0[..]);
    enable.extend_from_slice(&[0x05, 0x00]);
    assert_eq!(psmo_list.value(), &enable[..]);
    assert_eq!(decode::<EuiccPackageSigned>(&der).unwrap(), signed);

    let ecos = encode(&EuiccPackage::EcoList(vec![Eco::ListEim(Empty {})])).unwrap();
    assert_eq!(ecos, [0xA1, 0x02, 0xAB, 0x00]);
}

#[test]
fn v1_2_psmo_tags() {
    let cases: Vec<(Psmo, Vec<u8>)> = vec![
        (Psmo::ConfigureImmediateEnable(ConfigureImmediateEnable::default()), vec![0xA7, 0x00]),
        (
            Psmo::ConfigureImmediateEnable(ConfigureImmediateEnable {
                immediate_enable_flag: Some(()),
                ..Default::default()
            }),
            vec![0xA7, 0x02, 0x80, 0x00],
        ),
        (Psmo::UnsetFallbackAttribute(Empty {}), vec![0xA9, 0x00]),
        (Psmo::GetRat(Empty {}), vec![0xA6, 0x00]),
        (Psmo::ListProfileInfo(ProfileInfoListRequest::default()), vec![0xBF, 0x2D, 0x00]),
        (
            Psmo::SetDefaultDpAddress(SetDefaultDpAddressRequest { default_dp_address: "a".into() }),
            vec![0xBF, 0x65, 0x03, 0x80, 0x01, b'a'],
        ),
    ];
    for (psmo, want) in cases {
        assert_eq!(encode(&psmo).unwrap(), want, "{psmo:?}");
        assert_eq!(decode::<Psmo>(&want).unwrap(), psmo);
    }
    let fallback = encode(&Psmo::SetFallbackAttribute(PsmoIccid { iccid: iccid() })).unwrap();
    assert_eq!(&fallback[..4], [0xA8, 0x0C, 0x5A, 0x0A]);
}

#[test]
fn eim_public_key_data_carries_the_spki_as_a0() {
    let spki = spki_der();
    let mut config = EimConfigurationData::new("eim.example");
    config.counter_value = Some(1);
    config.eim_public_key_data = Some(EimPublicKeyData::EimPublicKey(SubjectPublicKeyInfo::from_der(&spki).unwrap()));
    let der = encode(&config).unwrap();
    let top = crate::codec::tlv::parse_single(&der).unwrap();
    assert_eq!(top.child(Tag(0x83)).unwrap().unwrap().raw(), [0x83, 0x01, 0x01]);
    let a5 = top.child(Tag(0xA5)).unwrap().unwrap();
    let mut want = spki.clone();
    want[0] = 0xA0;
    assert_eq!(a5.value(), &want[..], "A5 {{ A0 <SPKI contents> }}");
    let back = decode::<EimConfigurationData>(&der).unwrap();
    let Some(EimPublicKeyData::EimPublicKey(k)) = &back.eim_public_key_data else { panic!("{back:?}") };
    assert_eq!(k.to_der().unwrap(), spki);
}

#[test]
fn signed_result_bytes_are_the_received_ones_even_with_extensions() {
    let der = encode(&epr()).unwrap();
    let signed = euicc_package_result_data_signed(&der).unwrap();
    assert_eq!(signed.raw, encode(&result_data_signed()).unwrap());
    assert_eq!(signed.value, result_data_signed());
    assert!(matches!(euicc_package_error_data_signed(&der), Err(CodecError::MissingElement { .. })));

    // A newer eUICC appends a field [9] to EuiccPackageResultDataSigned: decoded without it, bytes kept.
    let data = crate::codec::tlv::parse_single(&signed.raw).unwrap();
    let mut kids: Vec<u8> = data.children().unwrap().iter().flat_map(|c| c.raw().to_vec()).collect();
    kids.extend_from_slice(&[0x89, 0x01, 0x01]);
    let extended = tlv(Tag(0x30), &kids);
    let full = tlv(Tag(0xBF51), &tlv(Tag(0xA0), &[extended.clone(), tlv(Tag(0x5F37), &[0x5A; 64])].concat()));
    let signed = euicc_package_result_data_signed(&full).unwrap();
    assert_eq!(signed.raw, extended);
    assert_eq!(signed.value, result_data_signed());
    assert_eq!(decode::<EuiccPackageResult>(&full).unwrap(), epr());
    let provide = tlv(Tag(0xBF50), &[tlv(Tag(0x5A), &EID), full].concat());
    let got = decode::<ProvideEimPackageResult>(&provide).unwrap();
    assert_eq!(got.eim_package_result, EimPackageResult::EuiccPackageResult(epr()));
}

#[test]
fn esipa_wrappers_dispatch_on_the_top_tag() {
    let req = GetEimPackageRequest {
        eid_value: FixedOctetString::new(EID),
        notify_state_change: None,
        state_change_cause: None,
        r_plmn: None,
    };
    let der = encode(&req).unwrap();
    assert_eq!(&der[..4], [0xBF, 0x4F, 0x12, 0x5A]);
    assert_eq!(EsipaMessageFromIpaToEim::from_der(&der).unwrap(), EsipaMessageFromIpaToEim::GetEimPackageRequest(req));
    let wrapped = EsipaMessageFromIpaToEim::ProvideEimPackageResult(ProvideEimPackageResult {
        eid_value: None,
        eim_package_result: EimPackageResult::EuiccPackageResult(epr()),
    });
    let der = encode(&wrapped).unwrap();
    // A tagged CHOICE nested in an untagged one keeps its own tag: BF50 { BF51 { A0 … } }.
    assert_eq!([der[0], der[1], der[3], der[4], der[6]], [0xBF, 0x50, 0xBF, 0x51, 0xA0]);
    assert_eq!(decode::<EsipaMessageFromIpaToEim>(&der).unwrap(), wrapped);
    assert_eq!(EsipaMessageFromIpaToEim::from_der(&der).unwrap(), wrapped);
    assert!(EsipaMessageFromIpaToEim::from_der(&[0xBF, 0x51, 0x00]).is_err());
    let down = EsipaMessageFromEimToIpa::GetEimPackageResponse(GetEimPackageResponse::NO_EIM_PACKAGE_AVAILABLE);
    assert_eq!(encode(&down).unwrap(), [0xBF, 0x4F, 0x03, 0x02, 0x01, 0x01]);
}

#[test]
fn strictness_wrong_tag_trailing_bytes_non_minimal_length() {
    let der = encode(&GetEimPackageResponse::NO_EIM_PACKAGE_AVAILABLE).unwrap();
    // Wrong tag: BF50 instead of BF4F; a context [0] INTEGER instead of the universal one.
    assert!(decode::<GetEimPackageResponse>(&[0xBF, 0x50, 0x03, 0x02, 0x01, 0x01]).is_err());
    assert!(decode::<GetEimPackageResponse>(&[0xBF, 0x4F, 0x03, 0x80, 0x01, 0x01]).is_err());
    // Trailing bytes.
    assert!(matches!(decode::<GetEimPackageResponse>(&[&der[..], &[0][..]].concat()), Err(CodecError::Tlv(_))));
    // Non-minimal lengths, outside and inside.
    assert!(decode::<GetEimPackageResponse>(&[0xBF, 0x4F, 0x81, 0x03, 0x02, 0x01, 0x01]).is_err());
    assert!(decode::<GetEimPackageResponse>(&[0xBF, 0x4F, 0x04, 0x02, 0x81, 0x01, 0x01]).is_err());
    // Non-minimal INTEGER (02 02 00 01).
    assert!(decode::<GetEimPackageResponse>(&[0xBF, 0x4F, 0x04, 0x02, 0x02, 0x00, 0x01]).is_err());
    // emptyResponse with content it does not declare, and an encoded DEFAULT (fallbackAttribute FALSE).
    assert!(decode::<ProvideEimPackageResultResponse>(&[0xBF, 0x50, 0x05, 0x30, 0x03, 0x80, 0x01, 0x00]).is_err());
    let with_default = [0xDF, 0x03, 0x03, 0x9F, 0x26, 0x00];
    assert!(decode::<ProfileInfo>(&[&with_default[..3], &[0x01, 0x01, 0x00]].concat()).is_err());
    // eimId of 0 and 129 characters (SIZE(1..128)).
    for len in [0usize, 129] {
        let bad = tlv(Tag(0x30), &[tlv(Tag(0x80), &vec![b'a'; len]), tlv(Tag(0x81), &[1])].concat());
        assert!(decode::<EimConfigurationData>(&bad).is_err(), "len {len}");
    }
}

fn no_panic<T: Message>(bytes: &[u8]) {
    let _ = decode::<T>(bytes);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), tag in prop::sample::select(vec![
        0u32, 0x30, 0xA0, 0xBF39, 0xBF3A, 0xBF3B, 0xBF3D, 0xBF41, 0xBF4E, 0xBF4F, 0xBF50, 0xBF51, 0xBF52, 0xBF53,
        0xBF54, 0xBF55, 0xBF57, 0xBF36, 0xBF2D, 0xDF03])) {
        let input = if tag == 0 { bytes } else { tlv(Tag(tag), &bytes) };
        no_panic::<EuiccPackageRequest>(&input);
        no_panic::<EuiccPackageSigned>(&input);
        no_panic::<EuiccPackage>(&input);
        no_panic::<Psmo>(&input);
        no_panic::<Eco>(&input);
        no_panic::<EuiccPackageResult>(&input);
        no_panic::<EuiccPackageResultDataSigned>(&input);
        no_panic::<EuiccPackageErrorDataSigned>(&input);
        no_panic::<EuiccResultData>(&input);
        no_panic::<EimAcknowledgements>(&input);
        no_panic::<IpaEuiccDataRequest>(&input);
        no_panic::<IpaEuiccDataResponse>(&input);
        no_panic::<ProfileDownloadTriggerRequest>(&input);
        no_panic::<ProfileDownloadTriggerResult>(&input);
        no_panic::<EimConfigurationData>(&input);
        no_panic::<GetEimConfigurationDataRequest>(&input);
        no_panic::<GetEimConfigurationDataResponse>(&input);
        no_panic::<AddInitialEimRequest>(&input);
        no_panic::<AddInitialEimResponse>(&input);
        no_panic::<GetEimPackageRequest>(&input);
        no_panic::<GetEimPackageResponse>(&input);
        no_panic::<ProvideEimPackageResult>(&input);
        no_panic::<ProvideEimPackageResultResponse>(&input);
        no_panic::<TransferEimPackageRequest>(&input);
        no_panic::<TransferEimPackageResponse>(&input);
        no_panic::<InitiateAuthenticationRequestEsipa>(&input);
        no_panic::<InitiateAuthenticationResponseEsipa>(&input);
        no_panic::<AuthenticateClientRequestEsipa>(&input);
        no_panic::<AuthenticateClientResponseEsipa>(&input);
        no_panic::<GetBoundProfilePackageRequestEsipa>(&input);
        no_panic::<GetBoundProfilePackageResponseEsipa>(&input);
        no_panic::<BoundProfilePackage>(&input);
        no_panic::<CancelSessionRequestEsipa>(&input);
        no_panic::<CancelSessionResponseEsipa>(&input);
        no_panic::<HandleNotificationEsipa>(&input);
        no_panic::<EsipaMessageFromIpaToEim>(&input);
        no_panic::<EsipaMessageFromEimToIpa>(&input);
        no_panic::<ProfileInfoListResponse>(&input);
        no_panic::<ProfileInfo>(&input);
        let _ = EsipaMessageFromIpaToEim::from_der(&input);
        let _ = euicc_package_result_data_signed(&input);
        let _ = euicc_package_error_data_signed(&input);
    }

    #[test]
    fn encode_decode_is_identity(
        eim_id in "[a-z0-9.]{1,128}",
        eid in any::<[u8; 16]>(),
        counter in any::<i64>(),
        seq in any::<i64>(),
        tid in proptest::option::of(proptest::collection::vec(any::<u8>(), 1..=16)),
        acks in proptest::collection::vec(any::<i64>(), 0..20),
        code in any::<i64>(),
        address in "[a-z0-9.:-]{0,60}",
    ) {
        let t = tid.map(|t| TransactionId(OctetString::from(t)));
        let s = EuiccPackageSigned { eim_id: eim_id.clone(), eid_value: FixedOctetString::new(eid), counter_value: counter,
            eim_transaction_id: t.clone(), euicc_package: EuiccPackage::EcoList(vec![Eco::DeleteEim(DeleteEim { eim_id: eim_id.clone() })]) };
        prop_assert_eq!(decode::<EuiccPackageSigned>(&encode(&s).unwrap()).unwrap(), s);
        let r = EuiccPackageResultDataSigned { eim_id: eim_id.clone(), counter_value: counter, eim_transaction_id: t.clone(),
            seq_number: seq, euicc_result: vec![EuiccResultData::AddEimResult(AddEimResult::AssociationToken(code))] };
        prop_assert_eq!(decode::<EuiccPackageResultDataSigned>(&encode(&r).unwrap()).unwrap(), r);
        let a = EimAcknowledgements(acks.into_iter().map(SequenceNumber).collect());
        prop_assert_eq!(decode::<EimAcknowledgements>(&encode(&a).unwrap()).unwrap(), a);
        let g = GetEimPackageResponse::EimPackageError(code);
        prop_assert_eq!(decode::<GetEimPackageResponse>(&encode(&g).unwrap()).unwrap(), g);
        let p = ProfileDownloadTriggerRequest { profile_download_data: Some(ProfileDownloadData::ActivationCode(address.clone())),
            eim_transaction_id: t };
        prop_assert_eq!(decode::<ProfileDownloadTriggerRequest>(&encode(&p).unwrap()).unwrap(), p);
        let mut c = EimConfigurationData::new(eim_id);
        c.counter_value = Some(counter);
        c.eim_fqdn = Some(address);
        c.eim_supported_protocol = Some(BitString::from_slice(&[0x80]));
        c.eim_public_key_data = Some(EimPublicKeyData::EimPublicKey(SubjectPublicKeyInfo::from_der(&spki_der()).unwrap()));
        prop_assert_eq!(decode::<EimConfigurationData>(&encode(&c).unwrap()).unwrap(), c);
    }
}

#[test]
fn configure_immediate_enable_with_oid_round_trips() {
    let c = Psmo::ConfigureImmediateEnable(ConfigureImmediateEnable {
        immediate_enable_flag: None,
        default_smdp_oid: Some(ObjectIdentifier::new(vec![2, 999, 10]).unwrap()),
        default_smdp_address: Some("smdp.example".into()),
    });
    assert_eq!(decode::<Psmo>(&encode(&c).unwrap()).unwrap(), c);
}
