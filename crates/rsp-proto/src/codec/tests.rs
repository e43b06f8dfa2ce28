//! Strictness and robustness tests for the typed codec (X.690 DER rules; SGP.22 v2.5 extensibility of
//! EUICCInfo2 as sent by v3 eUICCs): malformed input is an error, never a panic; round trips are exact.

use proptest::prelude::*;
use rasn::types::{FixedOctetString, OctetString};

use super::sgp22::*;
use super::tlv::{encode as tlv, Tag};
use super::{decode, encode, CodecError, Message, Received};

fn server_signed1() -> ServerSigned1 {
    ServerSigned1 {
        transaction_id: TransactionId(OctetString::from(vec![1, 2, 3])),
        euicc_challenge: FixedOctetString::new([0x33; 16]),
        server_address: "smdp.example".into(),
        server_challenge: FixedOctetString::new([0x22; 16]),
    }
}

fn euicc_info2() -> EuiccInfo2 {
    EuiccInfo2 {
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
    }
}

#[test]
fn encodes_known_bytes() {
    let der = encode(&CancelSessionRequest { transaction_id: TransactionId(OctetString::from(vec![0xAB])), reason: 1 })
        .unwrap();
    assert_eq!(der, [0xBF, 0x41, 0x06, 0x80, 0x01, 0xAB, 0x81, 0x01, 0x01]);
    // A tagged CHOICE: BF41 wraps the chosen alternative, here `[1] INTEGER` (81 01 05).
    let der = encode(&CancelSessionResponse::CancelSessionResponseError(5)).unwrap();
    assert_eq!(der, [0xBF, 0x41, 0x03, 0x81, 0x01, 0x05]);
}

/// Found by the `codec_sgp22` fuzz target (with long inputs): the strict-DER walk recursed once per nesting
/// level, so ~0.5 MB of `30 83 …` overflowed an 8 MB stack (far less on a worker thread's). It must be an
/// error, whatever the depth and however small the stack.
#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let der = super::tlv::deeply_nested(Tag(0x30), 200_000);
    let outcome = std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(move || decode::<ServerSigned1>(&der).is_err())
        .unwrap()
        .join();
    assert_eq!(outcome.ok(), Some(true));
}

#[test]
fn rejects_wrong_tag() {
    let mut der = encode(&server_signed1()).unwrap();
    der[0] = 0x31;
    assert!(decode::<ServerSigned1>(&der).is_err());
    let info1 =
        encode(&CancelSessionRequest { transaction_id: TransactionId(OctetString::from(vec![1])), reason: 0 }).unwrap();
    assert!(decode::<EuiccInfo1>(&info1).is_err());
}

#[test]
fn rejects_non_minimal_and_indefinite_lengths_and_trailing_bytes() {
    let der = encode(&server_signed1()).unwrap();
    assert!(der[1] < 0x80);
    // 30 81 LL … : a long form for a short length.
    let mut long = vec![0x30, 0x81, der[1]];
    long.extend_from_slice(&der[2..]);
    assert!(matches!(decode::<ServerSigned1>(&long), Err(CodecError::Tlv(_))));
    // Non-minimal length deep inside (the transactionId).
    let inner = [&[0x80, 0x81, 0x03, 1, 2, 3][..], &der[7..]].concat();
    let nested = tlv(Tag(0x30), &inner);
    assert!(matches!(decode::<ServerSigned1>(&nested), Err(CodecError::Tlv(_))));
    // Indefinite length.
    let indefinite = [&[0x30, 0x80][..], &der[2..], &[0, 0][..]].concat();
    assert!(decode::<ServerSigned1>(&indefinite).is_err());
    // Trailing bytes.
    let trailing = [&der[..], &[0x00][..]].concat();
    assert!(matches!(decode::<ServerSigned1>(&trailing), Err(CodecError::Tlv(_))));
    assert_eq!(decode::<ServerSigned1>(&der).unwrap(), server_signed1());
}

#[test]
fn rejects_size_violations() {
    // euiccChallenge [1] Octet16 with 15 bytes.
    let bad = tlv(
        Tag(0x30),
        &[tlv(Tag(0x80), &[1]), tlv(Tag(0x81), &[0x33; 15]), tlv(Tag(0x83), b"a"), tlv(Tag(0x84), &[0x22; 16])]
            .concat(),
    );
    assert!(matches!(decode::<ServerSigned1>(&bad), Err(CodecError::Decode { .. })));
    // TransactionId of 17 bytes and of 0 bytes.
    for len in [0usize, 17] {
        let bad = tlv(Tag(0xBF41), &[tlv(Tag(0x80), &vec![1; len]), tlv(Tag(0x81), &[0])].concat());
        assert!(decode::<CancelSessionRequest>(&bad).is_err(), "len {len}");
    }
}

#[test]
fn rejects_an_encoded_default() {
    let smr = StoreMetadataRequest {
        iccid: Iccid(FixedOctetString::new([0x98; 10])),
        service_provider_name: "sp".into(),
        profile_name: "p".into(),
        icon_type: None,
        icon: None,
        profile_class: 2,
        notification_configuration_info: None,
        profile_owner: None,
        profile_policy_rules: None,
        service_specific_data_stored_in_euicc: None,
        service_specific_data_not_stored_in_euicc: None,
    };
    let der = encode(&smr).unwrap();
    assert_eq!(decode::<StoreMetadataRequest>(&der).unwrap(), smr);
    let top = super::tlv::parse_single(&der).unwrap();
    let mut kids: Vec<u8> = top.children().unwrap().iter().flat_map(|c| c.raw().to_vec()).collect();
    kids.extend_from_slice(&[0x95, 0x01, 0x02]); // profileClass operational(2) = the DEFAULT
    let with_default = tlv(Tag(0xBF25), &kids);
    assert_eq!(
        decode::<StoreMetadataRequest>(&with_default),
        Err(CodecError::NotCanonical { type_name: "StoreMetadataRequest" })
    );
}

/// An SGP.22 v3 eUICC adds fields to EUICCInfo2 (e.g. `lpaMode [16]`, `euiccCiPKIdListForSigningV3 [17]`,
/// `additionalEuiccInfo [18]`, `highestSvn [19]`): they are ignored, the v2.5 fields decode, and the
/// signed bytes stay as received.
#[test]
fn tolerates_v3_extension_fields_in_euicc_info2() {
    let der = encode(&euicc_info2()).unwrap();
    let top = super::tlv::parse_single(&der).unwrap();
    let mut kids: Vec<u8> = top.children().unwrap().iter().flat_map(|c| c.raw().to_vec()).collect();
    kids.extend_from_slice(&[0x90, 0x01, 0x01]);
    kids.extend_from_slice(&tlv(Tag(0xB1), &tlv(Tag(0x04), &[0xC0; 20])));
    kids.extend_from_slice(&[0x92, 0x02, 0x12, 0x34, 0x93, 0x03, 3, 1, 0]);
    let v3 = tlv(Tag(0xBF22), &kids);
    assert_eq!(decode::<EuiccInfo2>(&v3).unwrap(), euicc_info2());

    // Nested: inside euiccSigned1 of an AuthenticateClientRequest.
    let signed1 = tlv(
        Tag(0x30),
        &[
            tlv(Tag(0x80), &[1, 2, 3]),
            tlv(Tag(0x83), b"smdp.example"),
            tlv(Tag(0x84), &[0x22; 16]),
            v3.clone(),
            tlv(Tag(0xA0), &tlv(Tag(0xA1), &[tlv(Tag(0x80), &[1, 2, 3, 4]), tlv(Tag(0xA1), &[])].concat())),
        ]
        .concat(),
    );
    let signed = Received::<EuiccSigned1>::at(&signed1, &[0x30]).unwrap();
    assert_eq!(signed.raw, signed1, "signature input must be the received bytes");
    assert_eq!(signed.value.euicc_info2, euicc_info2());
    // Malformed DER is still rejected inside the tolerated part.
    let mut broken = v3.clone();
    let at = broken.len() - 9;
    broken[at + 1] = 0x81; // 92 81 … where 92 02 was: a non-minimal/truncated length
    assert!(decode::<EuiccInfo2>(&broken).is_err());
}

#[test]
fn signed_parts_are_found_by_path() {
    let pir = ProfileInstallationResultData {
        transaction_id: TransactionId(OctetString::from(vec![1])),
        notification_metadata: NotificationMetadata {
            seq_number: 1,
            profile_management_operation: rasn::types::BitString::from_slice(&[0x80]),
            notification_address: "a".into(),
            iccid: None,
        },
        smdp_oid: rasn::types::ObjectIdentifier::new(vec![2, 999, 10]).unwrap(),
        final_result: FinalResult::ErrorResult(ErrorResult {
            bpp_command_id: 1,
            error_reason: 12,
            sima_response: None,
        }),
    };
    let full = encode(&ProfileInstallationResult {
        profile_installation_result_data: pir.clone(),
        euicc_sign_pir: Signature(OctetString::from(vec![0; 64])),
    })
    .unwrap();
    let signed = profile_installation_result_data(&full).unwrap();
    assert_eq!(signed.value, pir);
    assert_eq!(signed.raw, encode(&pir).unwrap());
    assert!(matches!(euicc_signed2(&full), Err(CodecError::MissingElement { .. })));
}

fn no_panic<T: Message>(bytes: &[u8]) {
    let _ = decode::<T>(bytes);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), tag in prop::sample::select(vec![
        Vec::<u8>::new(), vec![0x30], vec![0xBF, 0x22], vec![0xBF, 0x20], vec![0xBF, 0x38], vec![0xBF, 0x39], vec![0xBF, 0x3B],
        vec![0xBF, 0x21], vec![0xBF, 0x3A], vec![0xBF, 0x37], vec![0xBF, 0x27], vec![0xBF, 0x3D], vec![0xBF, 0x41],
        vec![0xBF, 0x2F], vec![0xBF, 0x25], vec![0xBF, 0x24], vec![0xE3]])) {
        // Random bytes behind a plausible tag and length, so decoding gets past the first header.
        let input = if tag.is_empty() { bytes } else { tlv(Tag(tag.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b))), &bytes) };
        no_panic::<ServerSigned1>(&input);
        no_panic::<EuiccInfo1>(&input);
        no_panic::<EuiccInfo2>(&input);
        no_panic::<EuiccSigned1>(&input);
        no_panic::<AuthenticateServerResponse>(&input);
        no_panic::<InitiateAuthenticationRequest>(&input);
        no_panic::<InitiateAuthenticationResponse>(&input);
        no_panic::<AuthenticateClientRequest>(&input);
        no_panic::<AuthenticateClientResponseEs9>(&input);
        no_panic::<PrepareDownloadResponse>(&input);
        no_panic::<GetBoundProfilePackageRequest>(&input);
        no_panic::<StoreMetadataRequest>(&input);
        no_panic::<ConfigureIsdpRequest>(&input);
        no_panic::<ProfileInfo>(&input);
        no_panic::<ProfileInstallationResult>(&input);
        no_panic::<HandleNotification>(&input);
        no_panic::<PendingNotification>(&input);
        no_panic::<CancelSessionRequest>(&input);
        no_panic::<CancelSessionResponse>(&input);
        no_panic::<CancelSessionRequestEs9>(&input);
        no_panic::<CancelSessionResponseEs9>(&input);
        let _ = euicc_signed1(&input);
        let _ = euicc_signed2(&input);
        let _ = euicc_cancel_session_signed(&input);
    }

    #[test]
    fn encode_decode_is_identity(
        tid in proptest::collection::vec(any::<u8>(), 1..=16),
        challenge in any::<[u8; 16]>(),
        address in "[a-z0-9.:-]{0,40}",
        reason in any::<i64>(),
        seq in any::<i64>(),
        otpk in proptest::collection::vec(any::<u8>(), 0..100),
        hash in proptest::option::of(any::<[u8; 32]>()),
    ) {
        let t = TransactionId(OctetString::from(tid));
        let s1 = ServerSigned1 { transaction_id: t.clone(), euicc_challenge: FixedOctetString::new(challenge),
            server_address: address.clone(), server_challenge: FixedOctetString::new(challenge) };
        prop_assert_eq!(decode::<ServerSigned1>(&encode(&s1).unwrap()).unwrap(), s1);
        let c = CancelSessionRequest { transaction_id: t.clone(), reason };
        prop_assert_eq!(decode::<CancelSessionRequest>(&encode(&c).unwrap()).unwrap(), c);
        let n = NotificationMetadata { seq_number: seq, profile_management_operation: rasn::types::BitString::from_slice(&[0x40]),
            notification_address: address, iccid: None };
        prop_assert_eq!(decode::<NotificationMetadata>(&encode(&n).unwrap()).unwrap(), n);
        let e2 = EuiccSigned2 { transaction_id: t.clone(), euicc_otpk: Otpk(OctetString::from(otpk)), hash_cc: hash.map(FixedOctetString::new) };
        prop_assert_eq!(decode::<EuiccSigned2>(&encode(&e2).unwrap()).unwrap(), e2);
        let r = CancelSessionResponseEs9::CancelSessionError(reason);
        prop_assert_eq!(decode::<CancelSessionResponseEs9>(&encode(&r).unwrap()).unwrap(), r);
    }
}

/// Issue 10 item 8: nesting is capped, not only walked safely: past `MAX_NESTING_DEPTH` levels a message is refused
/// before the typed decode (which recurses per level).
#[test]
fn nesting_past_the_cap_is_refused() {
    let der = super::tlv::deeply_nested(Tag(0x30), super::der::MAX_NESTING_DEPTH + 1);
    assert_eq!(
        decode::<ServerSigned1>(&der).unwrap_err(),
        super::CodecError::NestedTooDeep { max: super::der::MAX_NESTING_DEPTH }
    );
}
