//! Helpers for the `src/pki/` integration tests: the SGP.26 test certificates (when present), a
//! fresh rspd test PKI, and an X.509 builder to make certificates that break one SGP.22 rule each.
#![allow(dead_code)] // each test crate uses a subset

use std::path::{Path, PathBuf};

use openssl::asn1::{Asn1Object, Asn1OctetString, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier};
use openssl::x509::{X509Extension, X509NameBuilder, X509Ref, X509};
use rsp_proto::pki::test_pki::{generate, GeneratedTestPki, TestPkiRequest};
use rsp_proto::pki::Curve;
use time::OffsetDateTime;

/// 2026-09-01T00:00:00Z: every SGP.26 certificate is valid (the DP TLS one from 2026-07-21 to 2027-02-06).
pub fn sgp26_now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_788_220_800).unwrap()
}

/// The SGP.26 test certificate directory, or `None` (with the reason printed) when it is absent.
pub fn sgp26_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/interop/sgp26");
    if dir.join("CertificateIssuer").is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP: SGP.26 test certificates not found at {}", dir.display());
        None
    }
}

/// `NIST` or `BRP`, the SGP.26 file name suffix of a curve.
pub fn sgp26_suffix(curve: Curve) -> &'static str {
    match curve {
        Curve::NistP256 => "NIST",
        Curve::BrainpoolP256r1 => "BRP",
    }
}

/// One curve's hierarchy: certificates as DER, and the CA keys to issue more.
pub struct Hierarchy {
    pub curve: Curve,
    pub ci: Vec<u8>,
    pub ci_key: PKey<Private>,
    pub eum: Vec<u8>,
    pub eum_key: PKey<Private>,
    pub euicc: Vec<u8>,
    pub euicc_key: PKey<Private>,
    pub dpauth: Vec<u8>,
    pub dpauth_key: PKey<Private>,
    pub dppb: Vec<u8>,
    pub dptls: Vec<u8>,
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn key(path: &Path) -> PKey<Private> {
    PKey::private_key_from_pem(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn pem_to_der(path: &Path) -> Vec<u8> {
    X509::from_pem(&read(path)).unwrap().to_der().unwrap()
}

impl Hierarchy {
    pub fn sgp26(dir: &Path, curve: Curve) -> Self {
        let s = sgp26_suffix(curve);
        Hierarchy {
            curve,
            ci: read(&dir.join(format!("CertificateIssuer/CERT_CI_ECDSA_{s}.der"))),
            ci_key: key(&dir.join(format!("CertificateIssuer/SK_CI_ECDSA_{s}.pem"))),
            eum: read(&dir.join(format!("EUM/CERT_EUM_ECDSA_{s}.der"))),
            eum_key: key(&dir.join(format!("EUM/SK_EUM_ECDSA_{s}.pem"))),
            euicc: read(&dir.join(format!("eUICC/CERT_EUICC_ECDSA_{s}.der"))),
            euicc_key: key(&dir.join(format!("eUICC/SK_EUICC_ECDSA_{s}.pem"))),
            dpauth: read(&dir.join(format!("DPauth/CERT_S_SM_DPauth_ECDSA_{s}.der"))),
            dpauth_key: key(&dir.join(format!("DPauth/SK_S_SM_DPauth_ECDSA_{s}.pem"))),
            dppb: read(&dir.join(format!("DPpb/CERT_S_SM_DPpb_ECDSA_{s}.der"))),
            dptls: read(&dir.join(format!("DPtls/CERT_S_SM_DP_VARO_TLS_{s}.der"))),
        }
    }

    pub fn generated(pki: &GeneratedTestPki, curve: Curve) -> Self {
        let p = &pki.paths;
        Hierarchy {
            curve,
            ci: pem_to_der(&p.ci_cert(curve)),
            ci_key: key(&p.ci_key(curve)),
            eum: pem_to_der(&p.eum_cert(curve)),
            eum_key: key(&p.eum_key(curve)),
            euicc: pem_to_der(&p.euicc_cert(curve)),
            euicc_key: key(&p.euicc_key(curve)),
            dpauth: pem_to_der(&p.dpauth_cert(curve)),
            dpauth_key: key(&p.dpauth_key(curve)),
            dppb: pem_to_der(&p.dppb_cert(curve)),
            dptls: pem_to_der(&p.dptls_cert(curve)),
        }
    }
}

/// A fresh rspd test PKI (both curves) in a temporary directory.
pub fn fresh_test_pki() -> (tempfile::TempDir, GeneratedTestPki) {
    let dir = tempfile::tempdir().unwrap();
    let req = TestPkiRequest {
        out: dir.path().join("pki"),
        curves: Curve::ALL.to_vec(),
        addresses: vec!["smdp.example.com".into()],
        force: false,
    };
    let pki = generate(&req).unwrap();
    (dir, pki)
}

pub fn new_key(curve: Curve) -> PKey<Private> {
    PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(curve.nid()).unwrap()).unwrap()).unwrap()
}

/// What a test certificate looks like; defaults to an SGP.22 eUICC certificate.
pub struct Spec {
    pub subject: Vec<(Nid, String)>,
    /// Last arc of the id-rspRole policy (2.23.146.1.2.1.x); `None`: no certificatePolicies.
    pub role_arc: Option<u8>,
    pub digital_signature: bool,
    pub key_cert_sign: bool,
    pub ca: bool,
    pub not_before: i64,
    pub not_after: i64,
    /// Overrides the issuer Name (default: the issuer certificate's subject).
    pub issuer_name: Option<Vec<(Nid, String)>>,
    /// More extensions: (dotted OID, critical, DER value).
    pub extra_extensions: Vec<(&'static str, bool, Vec<u8>)>,
}

impl Spec {
    pub fn euicc(eid: &str) -> Self {
        Spec {
            subject: vec![
                (Nid::COUNTRYNAME, "ES".into()),
                (Nid::ORGANIZATIONNAME, "RSP Test EUM".into()),
                (Nid::SERIALNUMBER, eid.into()),
                (Nid::COMMONNAME, "Test eUICC".into()),
            ],
            role_arc: Some(1),
            digital_signature: true,
            key_cert_sign: false,
            ca: false,
            not_before: 1_585_731_600, // 2020-04-01
            not_after: 2_524_608_000,  // 2050-01-01
            issuer_name: None,
            extra_extensions: Vec::new(),
        }
    }

    pub fn dp(role_arc: u8) -> Self {
        Spec {
            subject: vec![(Nid::ORGANIZATIONNAME, "ACME".into()), (Nid::COMMONNAME, "TEST SM-DP+".into())],
            role_arc: Some(role_arc),
            ..Spec::euicc("")
        }
    }
}

fn name(entries: &[(Nid, String)]) -> openssl::x509::X509Name {
    let mut b = X509NameBuilder::new().unwrap();
    for (nid, value) in entries {
        b.append_entry_by_nid(*nid, value).unwrap();
    }
    b.build()
}

/// Issue a certificate for `subject_key` as `spec` says, signed by `issuer_key` on behalf of `issuer`.
pub fn issue(spec: &Spec, subject_key: &PKey<Private>, issuer: &X509Ref, issuer_key: &PKey<Private>) -> Vec<u8> {
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(64, MsbOption::ONE, false).unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&name(&spec.subject)).unwrap();
    match &spec.issuer_name {
        Some(n) => b.set_issuer_name(&name(n)).unwrap(),
        None => b.set_issuer_name(issuer.subject_name()).unwrap(),
    }
    b.set_pubkey(subject_key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(spec.not_before).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::from_unix(spec.not_after).unwrap()).unwrap();
    let aki = AuthorityKeyIdentifier::new().keyid(true).build(&b.x509v3_context(Some(issuer), None)).unwrap();
    b.append_extension(aki).unwrap();
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None)).unwrap();
    b.append_extension(ski).unwrap();
    let mut ku = KeyUsage::new();
    ku.critical();
    if spec.digital_signature {
        ku.digital_signature();
    }
    if spec.key_cert_sign {
        ku.key_cert_sign();
    }
    b.append_extension(ku.build().unwrap()).unwrap();
    if spec.ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap()).unwrap();
    }
    if let Some(arc) = spec.role_arc {
        // certificatePolicies: SEQUENCE { SEQUENCE { OID 2.23.146.1.2.1.arc } }
        let value = [0x30, 0x0B, 0x30, 0x09, 0x06, 0x07, 0x67, 0x81, 0x12, 0x01, 0x02, 0x01, arc];
        let oid = Asn1Object::from_str("2.5.29.32").unwrap();
        let ext = X509Extension::new_from_der(&oid, true, &Asn1OctetString::new_from_bytes(&value).unwrap()).unwrap();
        b.append_extension(ext).unwrap();
    }
    for (oid, critical, value) in &spec.extra_extensions {
        let oid = Asn1Object::from_str(oid).unwrap();
        let value = Asn1OctetString::new_from_bytes(value).unwrap();
        b.append_extension(X509Extension::new_from_der(&oid, *critical, &value).unwrap()).unwrap();
    }
    b.sign(issuer_key, MessageDigest::sha256()).unwrap();
    b.build().to_der().unwrap()
}

pub fn x509(der: &[u8]) -> X509 {
    X509::from_der(der).unwrap()
}
