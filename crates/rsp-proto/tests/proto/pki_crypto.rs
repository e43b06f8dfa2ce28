//! ECDSA r||s (SGP.22 v2.5 §2.6.5) and the PEM key store against the SGP.26 keys and certificates,
//! cross-checked with OpenSSL's own DER-signature API.

use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::sign::{Signer, Verifier};
use rsp_proto::pki::ecdsa::{self, EcdsaError};
use rsp_proto::pki::keystore::{KeyRef, KeyRole, KeyStore};
use rsp_proto::pki::{Certificate, Curve, EcPublicKey, PemKeyStore};

use crate::pki_support::{fresh_test_pki, new_key, sgp26_dir, sgp26_suffix, Hierarchy};

/// DER ECDSA-Sig-Value → r || s.
fn der_to_raw(der: &[u8]) -> Vec<u8> {
    let sig = EcdsaSig::from_der(der).unwrap();
    [sig.r().to_vec_padded(32).unwrap(), sig.s().to_vec_padded(32).unwrap()].concat()
}

fn check_hierarchy(h: &Hierarchy) {
    let euicc = Certificate::from_der(&h.euicc).unwrap();
    let message = b"euiccSigned1 as received";

    // Signed by OpenSSL (DER), verified by rspd (r||s).
    let mut signer = Signer::new(MessageDigest::sha256(), &h.euicc_key).unwrap();
    let der = signer.sign_oneshot_to_vec(message).unwrap();
    let raw = der_to_raw(&der);
    euicc.public_key().verify(message, &raw).unwrap();

    // Signed by rspd, verified by OpenSSL.
    let ours = ecdsa::sign(&h.euicc_key.ec_key().unwrap(), message).unwrap();
    let as_der = EcdsaSig::from_private_components(
        openssl::bn::BigNum::from_slice(&ours.0[..32]).unwrap(),
        openssl::bn::BigNum::from_slice(&ours.0[32..]).unwrap(),
    )
    .unwrap()
    .to_der()
    .unwrap();
    let mut verifier = Verifier::new(MessageDigest::sha256(), &h.euicc_key).unwrap();
    assert!(verifier.verify_oneshot(&as_der, message).unwrap());

    // Wrong key, wrong message, malformed.
    let dpauth = Certificate::from_der(&h.dpauth).unwrap();
    assert!(matches!(dpauth.public_key().verify(message, &raw), Err(EcdsaError::SignatureMismatch)));
    assert!(matches!(euicc.public_key().verify(b"other", &raw), Err(EcdsaError::SignatureMismatch)));
    assert!(matches!(euicc.public_key().verify(message, &der), Err(EcdsaError::WrongSignatureLength { .. })));
    let mut zero_s = raw.clone();
    zero_s[32..].fill(0);
    assert!(matches!(euicc.public_key().verify(message, &zero_s), Err(EcdsaError::ScalarOutOfRange { .. })));

    // A key rebuilt from the certificate's point verifies the same signature.
    let from_point = EcPublicKey::from_point(h.curve, euicc.public_key().uncompressed_point()).unwrap();
    from_point.verify(message, &raw).unwrap();
    assert_eq!(euicc.public_key().curve(), h.curve);
}

#[test]
fn sgp26_euicc_key_signatures_cross_check_with_openssl() {
    let Some(dir) = sgp26_dir() else { return };
    for curve in Curve::ALL {
        check_hierarchy(&Hierarchy::sgp26(&dir, curve));
    }
}

#[test]
fn test_pki_euicc_key_signatures_cross_check_with_openssl() {
    let (_tmp, pki) = fresh_test_pki();
    for curve in Curve::ALL {
        check_hierarchy(&Hierarchy::generated(&pki, curve));
    }
}

#[test]
fn pem_key_store_signs_with_sgp26_dpauth_and_dppb() {
    let Some(dir) = sgp26_dir() else { return };
    for curve in Curve::ALL {
        let s = sgp26_suffix(curve);
        let auth = KeyRef { role: KeyRole::DpAuth, curve };
        let pb = KeyRef { role: KeyRole::DpPb, curve };
        // SEC1 files with an EC PARAMETERS block in front, as SGP.26 ships them.
        let store = PemKeyStore::load(&[
            (auth.clone(), dir.join(format!("DPauth/SK_S_SM_DPauth_ECDSA_{s}.pem"))),
            (pb.clone(), dir.join(format!("DPpb/SK_S_SM_DPpb_ECDSA_{s}.pem"))),
        ])
        .unwrap();
        for (key, cert) in [(&auth, "DPauth/CERT_S_SM_DPauth_ECDSA"), (&pb, "DPpb/CERT_S_SM_DPpb_ECDSA")] {
            let cert = Certificate::from_der(&std::fs::read(dir.join(format!("{cert}_{s}.der"))).unwrap()).unwrap();
            let sig = store.sign(key, b"serverSigned1").unwrap();
            cert.public_key().verify(b"serverSigned1", &sig.0).unwrap();
            assert_eq!(store.public_key(key).unwrap(), cert.public_key().uncompressed_point());
        }
    }
}

#[test]
fn pem_key_store_with_the_test_pki_and_key_agreement() {
    let (_tmp, pki) = fresh_test_pki();
    for curve in Curve::ALL {
        let auth = KeyRef { role: KeyRole::DpAuth, curve };
        let store = PemKeyStore::load(&[(auth.clone(), pki.paths.dpauth_key(curve))]).unwrap();
        let cert = Certificate::from_pem(&std::fs::read(pki.paths.dpauth_cert(curve)).unwrap()).unwrap();
        let sig = store.sign(&auth, b"serverSigned1").unwrap();
        cert.public_key().verify(b"serverSigned1", &sig.0).unwrap();

        // ECKA: the store's one-time key against an OpenSSL key on the eUICC side.
        let (id, ot_pk_dp) = store.generate_one_time_key(curve).unwrap();
        let euicc = new_key(curve);
        let ot_pk_euicc = EcPublicKey::from_ec_key(&euicc.ec_key().unwrap()).unwrap();
        let shared_dp = store.agree(&id, ot_pk_euicc.uncompressed_point()).unwrap();
        let dp_public = EcPublicKey::from_point(curve, &ot_pk_dp).unwrap();
        let mut deriver = openssl::derive::Deriver::new(&euicc).unwrap();
        deriver.set_peer(dp_public.pkey()).unwrap();
        assert_eq!(shared_dp, deriver.derive_to_vec().unwrap());
        store.forget_one_time_key(&id);
        assert!(store.agree(&id, ot_pk_euicc.uncompressed_point()).is_err());
    }
}
