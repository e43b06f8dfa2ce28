//! Segmentation of the BSP (SGP.22 v2.5 §2.5.5): each block of data of a BPP (ConfigureISDP,
//! StoreMetadata, ReplaceSessionKeys, the profile package) is split into segments of at most 1020 bytes
//! including tag, length and C-MAC, each protected by the running [`Scp03tSession`].
//!
//! A block of zero bytes still yields one segment (only padding), so every sequence of a BPP holds at
//! least one element.

use crate::bsp::error::BspError;
use crate::bsp::scp03t::{Scp03tSession, MAX_ENCRYPTED_PLAIN, MAX_MAC_ONLY_PLAIN};
use crate::codec::tlv::Tlv;

/// Splits `data` into chunks of at most `max` bytes; an empty block gives one empty chunk.
fn chunks(data: &[u8], max: usize) -> Vec<&[u8]> {
    if data.is_empty() {
        vec![data]
    } else {
        data.chunks(max).collect()
    }
}

/// Encrypts and MACs `data` as `tag` segments (`87` ConfigureISDP / ReplaceSessionKeys, `86` profile).
pub fn encrypt_segments(session: &mut Scp03tSession, tag: u8, data: &[u8]) -> Result<Vec<Vec<u8>>, BspError> {
    chunks(data, MAX_ENCRYPTED_PLAIN).into_iter().map(|c| session.encrypt_and_mac(tag, c)).collect()
}

/// MACs `data` as `tag` segments without encryption (`88` StoreMetadata).
pub fn mac_only_segments(session: &mut Scp03tSession, tag: u8, data: &[u8]) -> Result<Vec<Vec<u8>>, BspError> {
    chunks(data, MAX_MAC_ONLY_PLAIN).into_iter().map(|c| session.mac_only(tag, c)).collect()
}

/// Verifies and decrypts the segments of one sequence; returns the reassembled block.
pub fn open_segments(session: &mut Scp03tSession, tag: u8, segments: &[Tlv<'_>]) -> Result<Vec<u8>, BspError> {
    let mut out = Vec::new();
    for s in segments {
        out.extend_from_slice(&session.open(tag, s.raw())?);
    }
    Ok(out)
}

/// Verifies the C-MAC of MAC-only segments; returns the reassembled block.
pub fn verify_mac_only_segments(
    session: &mut Scp03tSession,
    tag: u8,
    segments: &[Tlv<'_>],
) -> Result<Vec<u8>, BspError> {
    let mut out = Vec::new();
    for s in segments {
        out.extend_from_slice(&session.verify_mac_only(tag, s.raw())?);
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bsp::kdf::SessionKeys;
    use crate::bsp::scp03t::tests::keys;
    use crate::bsp::MAX_SEGMENT_LEN;
    use crate::codec::tlv;

    /// The copied known answers, see `testdata/bsp_vectors.json` (its `source` names the origin).
    pub(crate) fn vectors() -> serde_json::Value {
        serde_json::from_str(include_str!("testdata/bsp_vectors.json")).unwrap()
    }

    pub(crate) struct PpkVectors {
        pub keys: SessionKeys,
        pub steps: Vec<(Vec<u8>, Vec<u8>)>,
    }

    /// `segments_ppk`: two whole `86` segments under fixed PPKs, one session.
    pub(crate) fn ppk_vectors() -> PpkVectors {
        let v = &vectors()["segments_ppk"];
        let s = |k: &str| v[k].as_str().unwrap().to_owned();
        let steps = v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|st| {
                (hex::decode(st["plain"].as_str().unwrap()).unwrap(), hex::decode(st["out"].as_str().unwrap()).unwrap())
            })
            .collect();
        PpkVectors { keys: keys(&s("s_enc"), &s("s_mac"), &s("initial_mcv")), steps }
    }

    #[test]
    fn copied_vectors_match_the_constants() {
        let v = vectors();
        assert_eq!(v["kdf"][1]["s_enc"], crate::bsp::kdf::tests::KDF_VECTORS[1][4]);
        assert_eq!(
            v["segments_session_keys"]["steps"][0]["out"],
            "8718f6fe031e4b9cfe87c8e1e62f3fde85c49412d7722a6a2d89"
        );
    }

    #[test]
    fn splitting_the_ppk_vector_plaintext_reproduces_it() {
        let v = ppk_vectors();
        let data: Vec<u8> = v.steps.iter().flat_map(|(p, _)| p.clone()).collect();
        let segs = encrypt_segments(&mut Scp03tSession::new(&v.keys), 0x86, &data).unwrap();
        assert_eq!(segs.len(), 2);
        for (seg, (_, out)) in segs.iter().zip(&v.steps) {
            assert_eq!(seg, out);
        }
    }

    #[test]
    fn boundaries() {
        let k = keys(
            "00112233445566778899aabbccddeeff",
            "0f0e0d0c0b0a09080706050403020100",
            "00000000000000000000000000000001",
        );
        for (len, count) in [(0usize, 1usize), (1, 1), (1007, 1), (1008, 2), (2014, 2), (2015, 3), (100_000, 100)] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let segs = encrypt_segments(&mut Scp03tSession::new(&k), 0x86, &data).unwrap();
            assert_eq!(segs.len(), count, "len {len}");
            assert!(segs.iter().all(|s| s.len() <= MAX_SEGMENT_LEN));
            let joined: Vec<u8> = segs.concat();
            let tlvs = tlv::parse_all(&joined).unwrap();
            assert_eq!(open_segments(&mut Scp03tSession::new(&k), 0x86, &tlvs).unwrap(), data);

            let segs = mac_only_segments(&mut Scp03tSession::new(&k), 0x88, &data).unwrap();
            assert!(segs.iter().all(|s| s.len() <= MAX_SEGMENT_LEN));
            let joined: Vec<u8> = segs.concat();
            let tlvs = tlv::parse_all(&joined).unwrap();
            assert_eq!(verify_mac_only_segments(&mut Scp03tSession::new(&k), 0x88, &tlvs).unwrap(), data);
        }
    }

    #[test]
    fn reordered_segments_fail() {
        let k = keys(
            "00112233445566778899aabbccddeeff",
            "0f0e0d0c0b0a09080706050403020100",
            "00000000000000000000000000000001",
        );
        let segs = encrypt_segments(&mut Scp03tSession::new(&k), 0x86, &[7u8; 3000]).unwrap();
        let joined: Vec<u8> = [segs[1].clone(), segs[0].clone(), segs[2].clone()].concat();
        let tlvs = tlv::parse_all(&joined).unwrap();
        assert!(matches!(open_segments(&mut Scp03tSession::new(&k), 0x86, &tlvs), Err(BspError::MacMismatch { .. })));
    }
}
