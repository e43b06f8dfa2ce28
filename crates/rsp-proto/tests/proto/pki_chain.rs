//! SGP.22 v2.5 §4.5 chain checks (`rsp_proto::pki::chain`): the public SGP.26 test chains and the rspd
//! test PKI verify on both curves, and each broken rule fails with its own `ChainError`.

use openssl::nid::Nid;
use rsp_proto::pki::role::Role;
use rsp_proto::pki::test_pki::TEST_EID_PREFIX;
use rsp_proto::pki::{verify_dp_chain, verify_euicc_chain, CertificateError, ChainError, CiStore, Curve, DpRole};
use time::OffsetDateTime;

use crate::pki_support::{fresh_test_pki, issue, new_key, sgp26_dir, sgp26_now, x509, Hierarchy, Spec};

const SGP26_EID: &str = "89049032123451234512345678901235";
/// Valid check digits, under another EUM's prefix (89033023).
const OTHER_EID: &str = "89033023000000000000000000000172";

fn store(cis: &[&[u8]]) -> CiStore {
    let mut store = CiStore::new();
    for ci in cis {
        store.add_der(ci).unwrap();
    }
    store
}

fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

/// Every chain of one hierarchy verifies at `now`, with the CI of the other curve in the store too.
fn assert_hierarchy_verifies(h: &Hierarchy, other_ci: &[u8], eid: &str, now: OffsetDateTime) {
    let cis = store(&[other_ci, &h.ci]);
    let ci_pkid = x509(&h.ci).subject_key_id().unwrap().as_slice().to_vec();

    let euicc = verify_euicc_chain(&cis, &h.eum, &h.euicc, now).unwrap_or_else(|e| panic!("{:?}: {e}", h.curve));
    assert_eq!(euicc.eid, eid);
    assert_eq!(euicc.curve, h.curve);
    assert_eq!(euicc.ci_pkid, ci_pkid);
    let euicc_point = x509(&h.euicc).public_key().unwrap().ec_key().unwrap();
    let mut ctx = openssl::bn::BigNumContext::new().unwrap();
    let point = euicc_point
        .public_key()
        .to_bytes(euicc_point.group(), openssl::ec::PointConversionForm::UNCOMPRESSED, &mut ctx)
        .unwrap();
    assert_eq!(euicc.public_key.uncompressed_point(), point.as_slice());

    for (der, role) in [(&h.dpauth, DpRole::DpAuth), (&h.dppb, DpRole::DpPb), (&h.dptls, DpRole::DpTls)] {
        let dp = verify_dp_chain(&cis, der, role, now).unwrap_or_else(|e| panic!("{:?} {role:?}: {e}", h.curve));
        assert_eq!(dp.curve, h.curve);
        assert_eq!(dp.ci_pkid, ci_pkid);
        assert_eq!(dp.role, role);
    }
}

#[test]
fn sgp26_chains_verify_on_both_curves() {
    let Some(dir) = sgp26_dir() else { return };
    let nist = Hierarchy::sgp26(&dir, Curve::NistP256);
    let brp = Hierarchy::sgp26(&dir, Curve::BrainpoolP256r1);
    assert_hierarchy_verifies(&nist, &brp.ci, SGP26_EID, sgp26_now());
    assert_hierarchy_verifies(&brp, &nist.ci, SGP26_EID, sgp26_now());
}

#[test]
fn sgp26_second_smdp_certificates_verify() {
    let Some(dir) = sgp26_dir() else { return };
    for curve in Curve::ALL {
        let h = Hierarchy::sgp26(&dir, curve);
        let cis = store(&[&h.ci]);
        let s = crate::pki_support::sgp26_suffix(curve);
        let dp2auth = std::fs::read(dir.join(format!("DPauth/CERT_S_SM_DP2auth_ECDSA_{s}.der"))).unwrap();
        let dp2pb = std::fs::read(dir.join(format!("DPpb/CERT_S_SM_DP2pb_ECDSA_{s}.der"))).unwrap();
        verify_dp_chain(&cis, &dp2auth, DpRole::DpAuth, sgp26_now()).unwrap();
        verify_dp_chain(&cis, &dp2pb, DpRole::DpPb, sgp26_now()).unwrap();
    }
}

#[test]
fn rspd_test_pki_verifies_on_both_curves() {
    let (_dir, pki) = fresh_test_pki();
    let nist = Hierarchy::generated(&pki, Curve::NistP256);
    let brp = Hierarchy::generated(&pki, Curve::BrainpoolP256r1);
    let now = OffsetDateTime::now_utc();
    assert!(pki.eid.starts_with(TEST_EID_PREFIX));
    assert_hierarchy_verifies(&nist, &brp.ci, &pki.eid, now);
    assert_hierarchy_verifies(&brp, &nist.ci, &pki.eid, now);
}

/// The hierarchies the failure tests run on: SGP.26 when present, and always the rspd test PKI.
fn hierarchies() -> (Vec<(Hierarchy, OffsetDateTime)>, Option<tempfile::TempDir>) {
    let mut out = Vec::new();
    if let Some(dir) = sgp26_dir() {
        for curve in Curve::ALL {
            out.push((Hierarchy::sgp26(&dir, curve), sgp26_now()));
        }
    }
    let (tmp, pki) = fresh_test_pki();
    for curve in Curve::ALL {
        out.push((Hierarchy::generated(&pki, curve), OffsetDateTime::now_utc()));
    }
    (out, Some(tmp))
}

#[test]
fn chain_to_an_untrusted_ci_is_unknown_ci() {
    let Some(dir) = sgp26_dir() else { return };
    let nist = Hierarchy::sgp26(&dir, Curve::NistP256);
    let brp = Hierarchy::sgp26(&dir, Curve::BrainpoolP256r1);
    let only_brp = store(&[&brp.ci]);
    let err = verify_euicc_chain(&only_brp, &nist.eum, &nist.euicc, sgp26_now()).unwrap_err();
    assert!(matches!(err, ChainError::UnknownCi { which: Role::Eum, .. }), "{err}");
    let err = verify_dp_chain(&only_brp, &nist.dpauth, DpRole::DpAuth, sgp26_now()).unwrap_err();
    assert!(matches!(err, ChainError::UnknownCi { which: Role::DpAuth, .. }), "{err}");
    // And the list helper: the eUICC offers only the NIST CI.
    let nist_pkid = x509(&nist.ci).subject_key_id().unwrap().as_slice().to_vec();
    assert!(matches!(only_brp.choose_for_euicc(std::slice::from_ref(&nist_pkid)), Err(ChainError::NoCommonCi { .. })));
    let both = store(&[&brp.ci, &nist.ci]);
    assert_eq!(both.choose_for_euicc(&[vec![1, 2, 3], nist_pkid.clone()]).unwrap().ci_pkid, nist_pkid);
}

#[test]
fn expired_and_not_yet_valid_certificates() {
    let (hs, _tmp) = hierarchies();
    for (h, now) in &hs {
        let cis = store(&[&h.ci]);
        let not_after = rsp_proto::pki::Certificate::from_der(&h.dpauth).unwrap().not_after();
        verify_dp_chain(&cis, &h.dpauth, DpRole::DpAuth, not_after).unwrap();
        let after = not_after + time::Duration::seconds(1);
        let err = verify_dp_chain(&cis, &h.dpauth, DpRole::DpAuth, after).unwrap_err();
        assert!(matches!(err, ChainError::Expired { which: Role::DpAuth, .. }), "{err}");
        // Before the CI's notBefore, the CI itself is the first to fail.
        let err = verify_euicc_chain(&cis, &h.eum, &h.euicc, at(0)).unwrap_err();
        assert!(matches!(err, ChainError::NotYetValid { which: Role::Ci, .. }), "{err}");
        // An eUICC certificate that expired yesterday.
        let mut spec = Spec::euicc(&eid_of(h));
        spec.not_after = now.unix_timestamp() - 86_400;
        let euicc = issue(&spec, &new_key(h.curve), &x509(&h.eum), &h.eum_key);
        let err = verify_euicc_chain(&cis, &h.eum, &euicc, *now).unwrap_err();
        assert!(matches!(err, ChainError::Expired { which: Role::Euicc, .. }), "{err}");
    }
}

/// A store remembers the EUM certificates it verified: the next chain of the same EUM still checks every validity
/// period and its own eUICC link, and a forged EUM with the same subject is not mistaken for it.
#[test]
fn a_remembered_eum_is_still_checked_for_time_and_not_confused() {
    let (hs, _tmp) = hierarchies();
    for (h, now) in &hs {
        let cis = store(&[&h.ci]);
        verify_euicc_chain(&cis, &h.eum, &h.euicc, *now).unwrap();
        // Remembered now: the CI's and the EUM's validity periods still apply.
        let err = verify_euicc_chain(&cis, &h.eum, &h.euicc, at(0)).unwrap_err();
        assert!(matches!(err, ChainError::NotYetValid { which: Role::Ci, .. }), "{err}");
        let eum_end = rsp_proto::pki::Certificate::from_der(&h.eum).unwrap().not_after();
        let ci_end = rsp_proto::pki::Certificate::from_der(&h.ci).unwrap().not_after();
        if eum_end < ci_end {
            let err = verify_euicc_chain(&cis, &h.eum, &h.euicc, eum_end + time::Duration::seconds(1)).unwrap_err();
            assert!(matches!(err, ChainError::Expired { which: Role::Eum | Role::Euicc, .. }), "{err}");
        }
        // The eUICC link is checked every time.
        let forged = issue(&Spec::euicc(&eid_of(h)), &new_key(h.curve), &x509(&h.eum), &new_key(h.curve));
        let err = verify_euicc_chain(&cis, &h.eum, &forged, *now).unwrap_err();
        assert!(matches!(err, ChainError::BadSignature { which: Role::Euicc }), "{err}");
        // An EUM certificate with one signature byte changed is another certificate, verified on its own.
        let mut eum = h.eum.clone();
        let last = eum.len() - 1;
        eum[last] ^= 0x01;
        let err = verify_euicc_chain(&cis, &eum, &h.euicc, *now).unwrap_err();
        assert!(matches!(err, ChainError::BadSignature { which: Role::Eum }), "{err}");
        // Forgotten (e.g. once revocation changes): verified in full again.
        cis.forget_verified_eums();
        verify_euicc_chain(&cis, &h.eum, &h.euicc, *now).unwrap();
    }
}

#[test]
fn sgp26_dp_tls_validity_window() {
    let Some(dir) = sgp26_dir() else { return };
    let h = Hierarchy::sgp26(&dir, Curve::NistP256);
    let cis = store(&[&h.ci]);
    let err = verify_dp_chain(&cis, &h.dptls, DpRole::DpTls, at(1_803_859_200)).unwrap_err(); // 2027-03-01
    assert!(matches!(err, ChainError::Expired { which: Role::DpTls, .. }), "{err}");
    let err = verify_dp_chain(&cis, &h.dptls, DpRole::DpTls, at(1_767_225_600)).unwrap_err(); // 2026-01-01
    assert!(matches!(err, ChainError::NotYetValid { which: Role::DpTls, .. }), "{err}");
}

fn eid_of(h: &Hierarchy) -> String {
    rsp_proto::pki::Certificate::from_der(&h.euicc).unwrap().subject_serial_number().unwrap().to_string()
}

#[test]
fn eid_outside_the_eum_range() {
    let (hs, _tmp) = hierarchies();
    for (h, now) in &hs {
        let cis = store(&[&h.ci]);
        // Signed by the right EUM key, correct in every other respect.
        let euicc = issue(&Spec::euicc(OTHER_EID), &new_key(h.curve), &x509(&h.eum), &h.eum_key);
        let err = verify_euicc_chain(&cis, &h.eum, &euicc, *now).unwrap_err();
        match err {
            ChainError::EidOutsideEumRange { eid, permitted } => {
                assert_eq!(eid, OTHER_EID);
                assert_eq!(permitted.len(), 1);
                assert!(eid_of(h).starts_with(&permitted[0]));
            }
            other => panic!("{:?}: {other}", h.curve),
        }
        // The same with the EUM's own prefix verifies: only the EID was wrong.
        let good = issue(&Spec::euicc(&eid_of(h)), &new_key(h.curve), &x509(&h.eum), &h.eum_key);
        verify_euicc_chain(&cis, &h.eum, &good, *now).unwrap();
    }
}

#[test]
fn missing_or_malformed_eid() {
    let (hs, _tmp) = hierarchies();
    for (h, now) in &hs {
        let cis = store(&[&h.ci]);
        let mut spec = Spec::euicc("");
        spec.subject.retain(|(nid, _)| *nid != Nid::SERIALNUMBER);
        let euicc = issue(&spec, &new_key(h.curve), &x509(&h.eum), &h.eum_key);
        let err = verify_euicc_chain(&cis, &h.eum, &euicc, *now).unwrap_err();
        assert!(matches!(err, ChainError::MissingEid), "{err}");
        // Right prefix, wrong check digits.
        let mut eid = eid_of(h);
        eid.replace_range(30.., if eid.ends_with("00") { "01" } else { "00" });
        let euicc = issue(&Spec::euicc(&eid), &new_key(h.curve), &x509(&h.eum), &h.eum_key);
        let err = verify_euicc_chain(&cis, &h.eum, &euicc, *now).unwrap_err();
        assert!(matches!(err, ChainError::InvalidEid { .. }), "{err}");
    }
}

#[test]
fn flipped_signature_byte_is_bad_signature() {
    let (hs, _tmp) = hierarchies();
    for (h, now) in &hs {
        let cis = store(&[&h.ci]);
        let mut euicc = h.euicc.clone();
        let last = euicc.len() - 1;
        euicc[last] ^= 0x01; // inside s of the signature value
        let err = verify_euicc_chain(&cis, &h.eum, &euicc, *now).unwrap_err();
        assert!(matches!(err, ChainError::BadSignature { which: Role::Euicc }), "{err}");
        let mut dppb = h.dppb.clone();
        let last = dppb.len() - 1;
        dppb[last] ^= 0x80;
        let err = verify_dp_chain(&cis, &dppb, DpRole::DpPb, *now).unwrap_err();
        assert!(matches!(err, ChainError::BadSignature { which: Role::DpPb }), "{err}");
        // Signed by another key that claims to be the EUM.
        let forged = issue(&Spec::euicc(&eid_of(h)), &new_key(h.curve), &x509(&h.eum), &new_key(h.curve));
        let err = verify_euicc_chain(&cis, &h.eum, &forged, *now).unwrap_err();
        assert!(matches!(err, ChainError::BadSignature { which: Role::Euicc }), "{err}");
    }
}

#[test]
fn wrong_key_usage_and_wrong_policy() {
    let (hs, _tmp) = hierarchies();
    for (h, now) in &hs {
        let cis = store(&[&h.ci]);
        // A DPauth-role certificate with keyCertSign only.
        let mut spec = Spec::dp(4);
        spec.digital_signature = false;
        spec.key_cert_sign = true;
        let dpauth = issue(&spec, &new_key(h.curve), &x509(&h.ci), &h.ci_key);
        let err = verify_dp_chain(&cis, &dpauth, DpRole::DpAuth, *now).unwrap_err();
        assert!(matches!(err, ChainError::WrongKeyUsage { which: Role::DpAuth, needed: "digitalSignature" }), "{err}");
        // A DPpb certificate offered as DPauth.
        let err = verify_dp_chain(&cis, &h.dppb, DpRole::DpAuth, *now).unwrap_err();
        assert!(matches!(err, ChainError::WrongPolicy { which: Role::DpAuth }), "{err}");
        // A DPauth certificate in the EUM's place: no keyCertSign.
        let err = verify_euicc_chain(&cis, &h.dpauth, &h.euicc, *now).unwrap_err();
        assert!(matches!(err, ChainError::WrongKeyUsage { which: Role::Eum, needed: "keyCertSign" }), "{err}");
        // An eUICC certificate with the EUM role.
        let mut spec = Spec::euicc(&eid_of(h));
        spec.role_arc = Some(2);
        let euicc = issue(&spec, &new_key(h.curve), &x509(&h.eum), &h.eum_key);
        let err = verify_euicc_chain(&cis, &h.eum, &euicc, *now).unwrap_err();
        assert!(matches!(err, ChainError::WrongPolicy { which: Role::Euicc }), "{err}");
    }
}

#[test]
fn eum_must_be_a_certificate_signing_ca() {
    let (hs, _tmp) = hierarchies();
    for (h, now) in &hs {
        let cis = store(&[&h.ci]);
        // An "EUM" with digitalSignature only, then one with keyCertSign but no cA.
        let eum_key = new_key(h.curve);
        let mut spec = Spec::euicc("");
        spec.subject = vec![(Nid::ORGANIZATIONNAME, "Rogue EUM".into())];
        spec.role_arc = Some(2);
        let eum = issue(&spec, &eum_key, &x509(&h.ci), &h.ci_key);
        let euicc = issue(&Spec::euicc(&eid_of(h)), &new_key(h.curve), &x509(&eum), &eum_key);
        let err = verify_euicc_chain(&cis, &eum, &euicc, *now).unwrap_err();
        assert!(matches!(err, ChainError::WrongKeyUsage { which: Role::Eum, needed: "keyCertSign" }), "{err}");
        spec.key_cert_sign = true;
        let eum = issue(&spec, &eum_key, &x509(&h.ci), &h.ci_key);
        let euicc = issue(&Spec::euicc(&eid_of(h)), &new_key(h.curve), &x509(&eum), &eum_key);
        let err = verify_euicc_chain(&cis, &eum, &euicc, *now).unwrap_err();
        assert!(matches!(err, ChainError::NotACa { which: Role::Eum }), "{err}");
        // A proper CA EUM but without any permitted EID range.
        spec.ca = true;
        let eum = issue(&spec, &eum_key, &x509(&h.ci), &h.ci_key);
        let euicc = issue(&Spec::euicc(&eid_of(h)), &new_key(h.curve), &x509(&eum), &eum_key);
        let err = verify_euicc_chain(&cis, &eum, &euicc, *now).unwrap_err();
        assert!(matches!(err, ChainError::EumWithoutEidRange), "{err}");
    }
}

#[test]
fn issuer_name_must_match() {
    let (hs, _tmp) = hierarchies();
    for (h, now) in &hs {
        let cis = store(&[&h.ci]);
        let mut spec = Spec::euicc(&eid_of(h));
        spec.issuer_name = Some(vec![(Nid::COMMONNAME, "Somebody else".into())]);
        let euicc = issue(&spec, &new_key(h.curve), &x509(&h.eum), &h.eum_key);
        let err = verify_euicc_chain(&cis, &h.eum, &euicc, *now).unwrap_err();
        assert!(matches!(err, ChainError::WrongIssuer { which: Role::Euicc, .. }), "{err}");
    }
}

#[test]
fn ci_store_refuses_non_ci_certificates() {
    let (hs, _tmp) = hierarchies();
    for (h, _) in &hs {
        let mut cis = CiStore::new();
        let err = cis.add_der(&h.eum).unwrap_err();
        assert!(matches!(err, ChainError::WrongPolicy { which: Role::Ci } | ChainError::WrongIssuer { .. }), "{err}");
        let err = cis.add_der(&h.dpauth).unwrap_err();
        assert!(matches!(err, ChainError::WrongKeyUsage { which: Role::Ci, .. }), "{err}");
        assert!(matches!(cis.add_der(b"junk"), Err(ChainError::Malformed { which: Role::Ci, .. })));
        assert!(cis.is_empty());
        let pkid = cis.add_der(&h.ci).unwrap();
        assert_eq!(cis.add_der(&h.ci).unwrap(), pkid, "adding twice replaces");
        assert_eq!(cis.iter().count(), 1);
    }
}

#[test]
fn malformed_chain_inputs_name_the_certificate() {
    let (hs, _tmp) = hierarchies();
    for (h, now) in &hs {
        let cis = store(&[&h.ci]);
        let err = verify_euicc_chain(&cis, b"", &h.euicc, *now).unwrap_err();
        assert!(matches!(err, ChainError::Malformed { which: Role::Eum, .. }), "{err}");
        let mut trailing = h.euicc.clone();
        trailing.push(0);
        let err = verify_euicc_chain(&cis, &h.eum, &trailing, *now).unwrap_err();
        assert!(matches!(err, ChainError::Malformed { which: Role::Euicc, .. }), "{err}");
        let err = verify_dp_chain(&cis, &h.dpauth[..h.dpauth.len() - 1], DpRole::DpAuth, *now).unwrap_err();
        assert!(matches!(err, ChainError::Malformed { which: Role::DpAuth, .. }), "{err}");
    }
}

/// `PermittedEins ::= SEQUENCE OF PrintableString` (the SGP.22 v3-style EUM extension).
fn permitted_eins(prefixes: &[&str]) -> Vec<u8> {
    let mut items = Vec::new();
    for p in prefixes {
        items.extend([0x13, p.len() as u8]);
        items.extend(p.as_bytes());
    }
    [vec![0x30, items.len() as u8], items].concat()
}

/// An EUM (CA, keyCertSign, EUM role) issued by the hierarchy's CI with `extra` extensions.
fn eum_with(
    h: &Hierarchy,
    extra: Vec<(&'static str, bool, Vec<u8>)>,
) -> (Vec<u8>, openssl::pkey::PKey<openssl::pkey::Private>) {
    let key = new_key(h.curve);
    let mut spec = Spec::euicc("");
    spec.subject = vec![(Nid::ORGANIZATIONNAME, "v3 EUM".into())];
    spec.role_arc = Some(2);
    spec.digital_signature = false;
    spec.key_cert_sign = true;
    spec.ca = true;
    spec.extra_extensions = extra;
    (issue(&spec, &key, &x509(&h.ci), &h.ci_key), key)
}

#[test]
fn permitted_eins_extension_gives_the_eid_range() {
    let (hs, _tmp) = hierarchies();
    for (h, now) in &hs {
        let cis = store(&[&h.ci]);
        let prefix = &eid_of(h)[..8];
        let (eum, eum_key) = eum_with(h, vec![("2.23.146.1.2.2.0", false, permitted_eins(&["89000001", prefix]))]);
        let euicc = issue(&Spec::euicc(&eid_of(h)), &new_key(h.curve), &x509(&eum), &eum_key);
        assert_eq!(verify_euicc_chain(&cis, &eum, &euicc, *now).unwrap().eid, eid_of(h));
        let other = issue(&Spec::euicc(OTHER_EID), &new_key(h.curve), &x509(&eum), &eum_key);
        let err = verify_euicc_chain(&cis, &eum, &other, *now).unwrap_err();
        assert!(matches!(err, ChainError::EidOutsideEumRange { ref permitted, .. } if permitted.len() == 2), "{err}");
    }
}

#[test]
fn unknown_critical_extension_is_malformed() {
    let (hs, _tmp) = hierarchies();
    for (h, now) in &hs {
        let cis = store(&[&h.ci]);
        let (eum, eum_key) = eum_with(h, vec![("1.3.6.1.4.1.99999.1", true, vec![0x05, 0x00])]);
        let euicc = issue(&Spec::euicc(&eid_of(h)), &new_key(h.curve), &x509(&eum), &eum_key);
        let err = verify_euicc_chain(&cis, &eum, &euicc, *now).unwrap_err();
        assert!(
            matches!(
                err,
                ChainError::Malformed { which: Role::Eum, source: CertificateError::UnknownCriticalExtension { .. } }
            ),
            "{err}"
        );
    }
}

/// `Certificate::subject_public_key_of` (the eIM's per-result key read) gives the key the full decode gives, on
/// both curves and for every certificate of each hierarchy, and names what it cannot read.
#[test]
fn subject_public_key_alone_equals_the_full_decode() {
    use rsp_proto::pki::Certificate;
    let (hierarchies, _tmp) = hierarchies();
    for (h, _) in &hierarchies {
        for der in [&h.ci, &h.eum, &h.euicc, &h.dpauth, &h.dppb] {
            let full = Certificate::from_der(der).unwrap();
            let alone = Certificate::subject_public_key_of(der).unwrap();
            assert_eq!((alone.curve(), alone.uncompressed_point()), (h.curve, full.public_key().uncompressed_point()));
        }
    }
    assert!(matches!(Certificate::subject_public_key_of(&[0x30, 0x00]), Err(CertificateError::Der(_))));
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    let pkey = openssl::pkey::PKey::from_rsa(rsa).unwrap();
    let mut b = openssl::x509::X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_pubkey(&pkey).unwrap();
    b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(1).unwrap()).unwrap();
    b.sign(&pkey, openssl::hash::MessageDigest::sha256()).unwrap();
    let rsa_cert = b.build().to_der().unwrap();
    let refused = Certificate::subject_public_key_of(&rsa_cert);
    assert!(matches!(refused, Err(CertificateError::NotAnEcKey)), "{refused:?}");
}
