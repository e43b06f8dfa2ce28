//! Helpers shared by the test PKI integration tests.
#![allow(dead_code)] // each test crate uses a subset

use std::path::{Path, PathBuf};

use openssl::x509::X509;
use rsp_proto::pki::test_pki::{generate, GeneratedTestPki, TestPkiRequest};
use rsp_proto::pki::Curve;

pub const ADDRESSES: [&str; 2] = ["smdp.example.com:8443", "192.0.2.7"];

pub fn request(out: &Path) -> TestPkiRequest {
    TestPkiRequest {
        out: out.to_path_buf(),
        curves: Curve::ALL.to_vec(),
        addresses: ADDRESSES.iter().map(|s| s.to_string()).collect(),
        force: false,
    }
}

/// A fresh test PKI (both curves) in a temporary directory.
pub fn fresh() -> (tempfile::TempDir, GeneratedTestPki) {
    let dir = tempfile::tempdir().unwrap();
    let pki = generate(&request(&dir.path().join("pki"))).unwrap();
    (dir, pki)
}

pub fn load(path: &Path) -> X509 {
    X509::from_pem(&std::fs::read(path).unwrap()).unwrap()
}

/// The six SGP.22 certificates of one curve, in the order CI, EUM, eUICC, DPauth, DPpb, DP TLS.
pub fn sgp22_paths(pki: &GeneratedTestPki, c: Curve) -> [(&'static str, PathBuf, PathBuf); 6] {
    let p = &pki.paths;
    [
        ("ci", p.ci_cert(c), p.ci_key(c)),
        ("eum", p.eum_cert(c), p.eum_key(c)),
        ("euicc", p.euicc_cert(c), p.euicc_key(c)),
        ("dpauth", p.dpauth_cert(c), p.dpauth_key(c)),
        ("dppb", p.dppb_cert(c), p.dppb_key(c)),
        ("dptls", p.dptls_cert(c), p.dptls_key(c)),
    ]
}

pub fn siblings(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}
