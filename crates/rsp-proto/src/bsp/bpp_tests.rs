//! Whole-BPP tests (SGP.22 v2.5 §2.5.5): round trips builder → eUICC opener on both curves, with and
//! without ReplaceSessionKeys, at segment boundaries; tampering; the `full_bpp` interop vector; proptest.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::pkey::Private;
use openssl::sha::sha256;
use proptest::prelude::*;

use crate::bsp::ecka::{shared_secret_euicc, uncompressed_point};
use crate::bsp::error::error_reason;
use crate::bsp::kdf::SessionKeys;
use crate::bsp::scp03t::tests::keys;
use crate::bsp::*;
use crate::codec::tlv::{self, Tag};
use crate::pki::keystore::{KeyRef, KeyRole, KeyStore, KeyStoreError, OneTimeKeyId, RawSignature};
use crate::pki::Curve;

/// A key store over openssl keys: DPpb from the SGP.26 test PKI when present, else a fresh key.
struct TestKeyStore {
    dppb: EcKey<Private>,
    one_time: Mutex<HashMap<String, EcKey<Private>>>,
    next: AtomicU32,
}

fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/interop")
}

impl TestKeyStore {
    fn new(curve: Curve) -> Self {
        let name = match curve {
            Curve::NistP256 => "NIST",
            Curve::BrainpoolP256r1 => "BRP",
        };
        let pem = shared_dir().join(format!("sgp26/DPpb/SK_S_SM_DPpb_ECDSA_{name}.pem"));
        let dppb = match std::fs::read(&pem) {
            Ok(bytes) => EcKey::private_key_from_pem(&bytes).unwrap(),
            Err(_) => {
                eprintln!("{} absent: using a fresh DPpb key", pem.display());
                EcKey::generate(&EcGroup::from_curve_name(curve.nid()).unwrap()).unwrap()
            }
        };
        TestKeyStore { dppb, one_time: Mutex::new(HashMap::new()), next: AtomicU32::new(0) }
    }
}

impl KeyStore for TestKeyStore {
    fn sign(&self, _key: &KeyRef, message: &[u8]) -> Result<RawSignature, KeyStoreError> {
        let sig = EcdsaSig::sign(&sha256(message), &self.dppb).map_err(|e| KeyStoreError::Crypto(e.to_string()))?;
        let mut raw = [0u8; 64];
        raw[..32].copy_from_slice(&sig.r().to_vec_padded(32).unwrap());
        raw[32..].copy_from_slice(&sig.s().to_vec_padded(32).unwrap());
        Ok(RawSignature(raw))
    }

    fn public_key(&self, _key: &KeyRef) -> Result<Vec<u8>, KeyStoreError> {
        uncompressed_point(&self.dppb).map_err(|e| KeyStoreError::Crypto(e.to_string()))
    }

    fn generate_one_time_key(&self, curve: Curve) -> Result<(OneTimeKeyId, Vec<u8>), KeyStoreError> {
        let key = EcKey::generate(&EcGroup::from_curve_name(curve.nid()).unwrap()).unwrap();
        let point = uncompressed_point(&key).unwrap();
        let id = format!("ot-{}", self.next.fetch_add(1, Ordering::Relaxed));
        self.one_time.lock().unwrap().insert(id.clone(), key);
        Ok((OneTimeKeyId(id), point))
    }

    fn agree(&self, id: &OneTimeKeyId, peer_point: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
        let map = self.one_time.lock().unwrap();
        let key = map.get(&id.0).ok_or_else(|| KeyStoreError::UnknownKey(id.0.clone()))?;
        shared_secret_euicc(key, peer_point).map_err(|e| KeyStoreError::InvalidPeerKey(e.to_string()))
    }

    fn forget_one_time_key(&self, id: &OneTimeKeyId) {
        self.one_time.lock().unwrap().remove(&id.0);
    }
}

const EID: [u8; 16] = [0x89, 0x04, 0x90, 0x32, 0x12, 0x34, 0x51, 0x23, 0x45, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x35];
const CONFIGURE_ISDP: &[u8] = &[0xBF, 0x24, 0x00];
const STORE_METADATA: &[u8] = &[
    0xBF, 0x25, 0x11, 0x5A, 0x0A, 0x98, 0x00, 0x10, 0x32, 0x54, 0x76, 0x98, 0x10, 0x32, 0x14, 0x91, 0x03, 0x53, 0x50,
    0x4E,
];

/// One SM-DP+ and one eUICC on `curve`; builds a BPP and returns it with what opens it.
struct Fixture {
    ks: TestKeyStore,
    dppb_ref: KeyRef,
    otsk_euicc: EcKey<Private>,
    curve: Curve,
}

impl Fixture {
    fn new(curve: Curve) -> Self {
        let otsk_euicc = EcKey::generate(&EcGroup::from_curve_name(curve.nid()).unwrap()).unwrap();
        Fixture { ks: TestKeyStore::new(curve), dppb_ref: KeyRef { role: KeyRole::DpPb, curve }, otsk_euicc, curve }
    }

    fn build(&self, profile: &[u8], rsk: ReplaceSessionKeys) -> Vec<u8> {
        let (ot_id, otpk_dp) = self.ks.generate_one_time_key(self.curve).unwrap();
        let otpk_euicc = uncompressed_point(&self.otsk_euicc).unwrap();
        let bpp = build_bpp(
            &self.ks,
            &BppInputs {
                transaction_id: &[0x11; 16],
                otsk_dp_ecka: &ot_id,
                otpk_dp_ecka: &otpk_dp,
                otpk_euicc_ecka: &otpk_euicc,
                host_id: b"rspd-host",
                eid: &EID,
                dppb_key: &self.dppb_ref,
                configure_isdp: CONFIGURE_ISDP,
                store_metadata: STORE_METADATA,
                profile,
                replace_session_keys: rsk,
            },
        )
        .unwrap();
        self.ks.forget_one_time_key(&ot_id);
        bpp
    }

    fn open(&self, bpp: &[u8]) -> Result<OpenedBpp, BspError> {
        open_bpp(bpp, &self.ks.dppb, &self.otsk_euicc, &EID)
    }
}

/// Every segment of every sequence, as raw bytes.
fn all_segments(bpp: &[u8]) -> Vec<(Tag, usize)> {
    let top = tlv::parse_single(bpp).unwrap();
    let mut out = Vec::new();
    for seq in top.children().unwrap().iter().skip(1) {
        for s in seq.children().unwrap() {
            out.push((s.tag(), s.raw().len()));
        }
    }
    out
}

#[test]
fn round_trips_on_both_curves_with_and_without_replace_session_keys() {
    for curve in Curve::ALL {
        let fx = Fixture::new(curve);
        for size in [0usize, 1, 1007, 1008, 100 * 1024] {
            let profile: Vec<u8> = (0..size).map(|i| (i * 7 + 3) as u8).collect();
            for rsk in [false, true] {
                let bpp = fx.build(&profile, if rsk { ReplaceSessionKeys::Random } else { ReplaceSessionKeys::No });
                let segs = all_segments(&bpp);
                assert!(segs.iter().all(|(_, len)| *len <= MAX_SEGMENT_LEN), "{curve} size {size}");
                let n86 = segs.iter().filter(|(t, _)| *t == Tag(0x86)).count();
                assert_eq!(n86, size.div_ceil(1007).max(1), "{curve} size {size}");
                let opened = fx.open(&bpp).unwrap();
                assert_eq!(opened.profile, profile, "{curve} size {size} rsk {rsk}");
                assert_eq!(opened.configure_isdp, CONFIGURE_ISDP);
                assert_eq!(opened.store_metadata, STORE_METADATA);
                assert_eq!(opened.transaction_id, [0x11; 16]);
                assert_eq!(opened.host_id, b"rspd-host");
                assert_eq!(opened.replace_session_keys.is_some(), rsk);
            }
        }
    }
}

#[test]
fn bpp_layout_follows_sgp22() {
    let fx = Fixture::new(Curve::NistP256);
    let ppk = keys(
        "010102030405060708090a0b0c0d0e0f",
        "020102030405060708090a0b0c0d0e0f",
        "000102030405060708090a0b0c0d0e0f",
    );
    let bpp = fx.build(b"\xA0\x00", ReplaceSessionKeys::With(ppk.clone()));
    let top = tlv::parse_single(&bpp).unwrap().expect_tag(Tag(0xBF36)).unwrap();
    let tags: Vec<Tag> = top.children().unwrap().iter().map(|c| c.tag()).collect();
    assert_eq!(tags, [Tag(0xBF23), Tag(0xA0), Tag(0xA1), Tag(0xA2), Tag(0xA3)]);
    let isc = top.children().unwrap()[0];
    let kids = isc.children().unwrap();
    assert_eq!(kids[0].raw(), [0x82, 0x01, 0x01]);
    assert_eq!(kids[2].raw(), b"\xA6\x11\x80\x01\x88\x81\x01\x10\x84\x09rspd-host");
    assert_eq!(kids[3].tag(), Tag(0x5F49));
    assert_eq!(kids[4].value().len(), 64);
    assert_eq!(fx.open(&bpp).unwrap().replace_session_keys, Some(ppk));
}

#[test]
fn smdp_sign_needs_the_euicc_one_time_key() {
    // Signed over the four data objects followed by 5F49 otPK.EUICC: another eUICC's key fails.
    let fx = Fixture::new(Curve::BrainpoolP256r1);
    let bpp = fx.build(b"profile", ReplaceSessionKeys::No);
    let other =
        Fixture { otsk_euicc: EcKey::generate(&EcGroup::from_curve_name(fx.curve.nid()).unwrap()).unwrap(), ..fx };
    let err = other.open(&bpp).unwrap_err();
    assert!(matches!(err, BspError::InvalidSignature));
    assert_eq!(err.error_reason(), error_reason::INVALID_SIGNATURE);
}

#[test]
fn every_flipped_byte_is_a_typed_error() {
    let fx = Fixture::new(Curve::NistP256);
    let bpp = fx.build(&[0x5A; 1500], ReplaceSessionKeys::Random);
    let sign_at = bpp.windows(3).position(|w| w == [0x5F, 0x37, 0x40]).unwrap() + 3;
    let a3_at = tlv::parse_single(&bpp).unwrap().children().unwrap()[4].offset();
    for i in 0..bpp.len() {
        let mut bad = bpp.clone();
        bad[i] ^= 0x01;
        let err = fx.open(&bad).expect_err(&format!("byte {i} flipped"));
        if (sign_at..sign_at + 64).contains(&i) {
            assert_eq!(err.error_reason(), error_reason::INVALID_SIGNATURE, "byte {i}: {err}");
        }
        if i > a3_at + 4 {
            // Segment headers give structure errors, everything else fails the C-MAC.
            let reason = err.error_reason();
            assert!(
                reason == error_reason::SCP03T_SECURITY_ERROR || reason == error_reason::SCP03T_STRUCTURE_ERROR,
                "byte {i}: {err}"
            );
        }
        if i >= bpp.len() - 8 {
            assert_eq!(err.error_reason(), error_reason::SCP03T_SECURITY_ERROR, "byte {i}: {err}");
        }
    }
    for cut in [0, 1, 10, bpp.len() / 2, bpp.len() - 1] {
        assert!(fx.open(&bpp[..cut]).is_err());
    }
}

#[test]
fn structure_errors() {
    let fx = Fixture::new(Curve::NistP256);
    let bpp = fx.build(b"p", ReplaceSessionKeys::No);
    let top = tlv::parse_single(&bpp).unwrap();
    let kids = top.children().unwrap();
    let rebuild = |parts: &[&[u8]]| tlv::encode_constructed(Tag(0xBF36), parts.iter().copied());
    // Missing A3, A1 and A0 swapped, an extra element at the end.
    let missing = rebuild(&[kids[0].raw(), kids[1].raw(), kids[2].raw()]);
    assert!(matches!(fx.open(&missing), Err(BspError::MissingElement { .. })));
    let swapped = rebuild(&[kids[0].raw(), kids[2].raw(), kids[1].raw(), kids[3].raw()]);
    assert!(matches!(fx.open(&swapped), Err(BspError::UnexpectedElement { .. })));
    let extra = rebuild(&[kids[0].raw(), kids[1].raw(), kids[2].raw(), kids[3].raw(), &[0x04, 0x00]]);
    assert!(matches!(fx.open(&extra), Err(BspError::UnexpectedElement { .. })));
    // Empty A3.
    let empty = rebuild(&[kids[0].raw(), kids[1].raw(), kids[2].raw(), &[0xA3, 0x00]]);
    assert!(matches!(fx.open(&empty), Err(BspError::MissingElement { .. })));
}

#[test]
fn builder_rejects_bad_inputs() {
    let fx = Fixture::new(Curve::NistP256);
    let (ot_id, otpk_dp) = fx.ks.generate_one_time_key(Curve::NistP256).unwrap();
    let otpk_euicc = uncompressed_point(&fx.otsk_euicc).unwrap();
    let inputs = |tid: &'static [u8], cfg: &'static [u8]| BppInputs {
        transaction_id: tid,
        otsk_dp_ecka: &ot_id,
        otpk_dp_ecka: &otpk_dp,
        otpk_euicc_ecka: &otpk_euicc,
        host_id: b"h",
        eid: &EID,
        dppb_key: &fx.dppb_ref,
        configure_isdp: cfg,
        store_metadata: STORE_METADATA,
        profile: b"",
        replace_session_keys: ReplaceSessionKeys::No,
    };
    assert!(matches!(build_bpp(&fx.ks, &inputs(b"", CONFIGURE_ISDP)), Err(BspError::InvalidField { .. })));
    assert!(matches!(build_bpp(&fx.ks, &inputs(&[1; 17], CONFIGURE_ISDP)), Err(BspError::InvalidField { .. })));
    assert!(build_bpp(&fx.ks, &inputs(b"t", STORE_METADATA)).is_err());
    assert!(build_bpp(&fx.ks, &inputs(b"t", CONFIGURE_ISDP)).is_ok());
}

// ---- the `full_bpp` interop vector (read from the shared tree, never copied) ----

fn b64(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let n = chunk.iter().fold(0u32, |acc, c| (acc << 6) | val(*c)) << (6 * (4 - chunk.len()));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

#[test]
fn full_bpp_vector() {
    let path = shared_dir().join("vectors/bsp.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipping full_bpp_vector: {} is absent", path.display());
        return;
    };
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let v = &v["full_bpp"];
    let ks = |o: &serde_json::Value| {
        keys(o["s_enc"].as_str().unwrap(), o["s_mac"].as_str().unwrap(), o["initial_mcv"].as_str().unwrap())
    };
    let session_keys: SessionKeys = ks(&v["session"]);
    let ppk: SessionKeys = ks(&v["ppk"]);
    let bpp = b64(v["bpp_b64"].as_str().unwrap());
    let upp = b64(v["upp_b64"].as_str().unwrap());
    let cfg = hex::decode(v["configure_isdp_plain"].as_str().unwrap()).unwrap();
    let smd = hex::decode(v["store_metadata_plain"].as_str().unwrap()).unwrap();

    let top = tlv::parse_single(&bpp).unwrap().expect_tag(Tag(0xBF36)).unwrap();
    let kids = top.children().unwrap();
    let tags: Vec<Tag> = kids.iter().map(|c| c.tag()).collect();
    // No A2 in the vector, yet A3 is under the PPKs (its note says so).
    assert_eq!(tags, [Tag(0xBF23), Tag(0xA0), Tag(0xA1), Tag(0xA3)]);

    // The vector's generator wraps every segment twice (`87 1A 87 18 …`); a conforming opener says so.
    let a0 = kids[1].children().unwrap();
    let mut strict = Scp03tSession::new(&session_keys);
    assert!(matches!(strict.open(0x87, a0[0].raw()), Err(BspError::DoubleWrappedSegment { .. })));
    let inner = |t: &tlv::Tlv<'_>| t.value().to_vec();

    let mut rx = Scp03tSession::new(&session_keys);
    let mut tx = Scp03tSession::new(&session_keys);
    let a0_inner = inner(&a0[0]);
    assert_eq!(rx.open(0x87, &a0_inner).unwrap(), cfg);
    assert_eq!(tx.encrypt_and_mac(0x87, &cfg).unwrap(), a0_inner);
    let a1 = kids[2].children().unwrap();
    let a1_inner = inner(&a1[0]);
    assert_eq!(rx.verify_mac_only(0x88, &a1_inner).unwrap(), smd);
    assert_eq!(tx.mac_only(0x88, &smd).unwrap(), a1_inner);

    // A3: a fresh session under the PPKs (block counter 1 again). Its segments are 1036 bytes,
    // over the 1020 limit: the conforming opener refuses them.
    let a3 = kids[3].children().unwrap();
    let first = inner(&a3[0]);
    assert_eq!(first.len(), 1036);
    assert!(matches!(Scp03tSession::new(&ppk).open(0x86, &first), Err(BspError::SegmentTooLong { len: 1036, .. })));
    let mut rx = Scp03tSession::new(&ppk);
    let mut tx = Scp03tSession::new(&ppk);
    let mut profile = Vec::new();
    for seg in &a3 {
        let seg = inner(seg);
        let plain = rx.open_over_long(0x86, &seg).unwrap();
        // Same chunk, same keys, same counter and chaining: byte for byte the vector's segment.
        assert_eq!(tx.encrypt_and_mac_over_long(0x86, &plain).unwrap(), seg);
        profile.extend_from_slice(&plain);
    }
    assert_eq!(profile, upp);

    // Our own segmentation of the same profile stays within 1020 bytes and opens again.
    let ours = segment::encrypt_segments(&mut Scp03tSession::new(&ppk), 0x86, &upp).unwrap();
    assert!(ours.iter().all(|s| s.len() <= MAX_SEGMENT_LEN));
    let joined = ours.concat();
    let tlvs = tlv::parse_all(&joined).unwrap();
    assert_eq!(segment::open_segments(&mut Scp03tSession::new(&ppk), 0x86, &tlvs).unwrap(), upp);
}

// ---- garbage in → error, never a panic ----

fn fixture_bpp() -> &'static (Fixture, Vec<u8>) {
    static CELL: std::sync::OnceLock<(Fixture, Vec<u8>)> = std::sync::OnceLock::new();
    CELL.get_or_init(|| {
        let fx = Fixture::new(Curve::NistP256);
        let bpp = fx.build(&[0x42; 1100], ReplaceSessionKeys::Random);
        (fx, bpp)
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let (fx, _) = fixture_bpp();
        let _ = fx.open(&bytes);
        let mut with_header = vec![0xBF, 0x36];
        tlv::encode_length(bytes.len(), &mut with_header);
        with_header.extend_from_slice(&bytes);
        prop_assert!(fx.open(&with_header).is_err());
    }

    #[test]
    fn mutated_bpps_never_open(edits in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
                                cut in any::<prop::sample::Index>()) {
        let (fx, bpp) = fixture_bpp();
        let mut bad = bpp.clone();
        for (i, x) in &edits {
            let i = i.index(bad.len());
            bad[i] ^= x;
        }
        prop_assert!(fx.open(&bad).is_err());
        prop_assert!(fx.open(&bpp[..cut.index(bpp.len())]).is_err());
    }

    #[test]
    fn segments_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1100)) {
        let k = keys("00112233445566778899aabbccddeeff", "0f0e0d0c0b0a09080706050403020100", "000102030405060708090a0b0c0d0e0f");
        let mut s = Scp03tSession::new(&k);
        prop_assert!(s.open(0x86, &bytes).is_err());
        prop_assert!(s.verify_mac_only(0x88, &bytes).is_err());
    }
}
