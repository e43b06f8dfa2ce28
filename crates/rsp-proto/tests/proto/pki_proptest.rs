//! Garbage in → error, never a panic: certificate parsing, chain checks, ECDSA verification and
//! the permittedEins decoder on arbitrary and on mutated real certificates.

use proptest::prelude::*;
use rsp_proto::pki::eid_range::prefixes_from_permitted_eins;
use rsp_proto::pki::{verify_dp_chain, verify_euicc_chain, Certificate, CiStore, Curve, DpRole, EcPublicKey};
use time::OffsetDateTime;

use crate::pki_support::{sgp26_dir, Hierarchy};

/// The SGP.26 NIST hierarchy, `None` (skipped) when the files are absent.
fn sgp26() -> Option<Hierarchy> {
    sgp26_dir().map(|dir| Hierarchy::sgp26(&dir, Curve::NistP256))
}

fn now() -> OffsetDateTime {
    crate::pki_support::sgp26_now()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Certificate::from_der(&bytes);
        let _ = Certificate::from_pem(&bytes);
        let _ = prefixes_from_permitted_eins(&bytes);
        let mut store = CiStore::new();
        let _ = store.add_der(&bytes);
        let _ = verify_euicc_chain(&store, &bytes, &bytes, now());
        let _ = verify_dp_chain(&store, &bytes, DpRole::DpAuth, now());
        for curve in Curve::ALL {
            let _ = EcPublicKey::from_point(curve, &bytes);
        }
    }

    #[test]
    fn arbitrary_signatures_never_panic(sig in proptest::collection::vec(any::<u8>(), 0..80), msg in any::<Vec<u8>>()) {
        let key = crate::pki_support::new_key(Curve::BrainpoolP256r1);
        let public = EcPublicKey::from_ec_key(&key.ec_key().unwrap()).unwrap();
        prop_assert!(public.verify(&msg, &sig).is_err());
    }

    #[test]
    fn mutated_sgp26_certificates_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let Some(h) = sgp26() else { return Ok(()) };
        let mut store = CiStore::new();
        store.add_der(&h.ci).unwrap();
        let mut eum = h.eum.clone();
        let mut euicc = h.euicc.clone();
        let mut ci = h.ci.clone();
        let target = match which { 0 => &mut eum, 1 => &mut euicc, _ => &mut ci };
        for (at, value) in &edits {
            let i = at.index(target.len());
            target[i] = *value;
        }
        if truncate {
            let len = cut.index(target.len());
            target.truncate(len);
        }
        let _ = verify_euicc_chain(&store, &eum, &euicc, now());
        let _ = verify_dp_chain(&store, &euicc, DpRole::DpTls, now());
        let mut other = CiStore::new();
        let _ = other.add_der(&ci);
        let _ = verify_euicc_chain(&other, &eum, &euicc, now());
    }
}
