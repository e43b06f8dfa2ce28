//! The soft eUICC's identity (SGP.22 v2.5 §4.5.1 eUICC PKI, §4.5.2.1 CERT.EUICC.ECDSA / CERT.EUM.ECDSA,
//! §2.6.5 ECASD keys): the eUICC certificate and key, the EUM certificate, the EID and the trusted CIs
//! (whose key identifiers are `euiccCiPKIdListForVerification`, §5.7.8).
//!
//! Three sources:
//! - an SGP.26 directory: `CertificateIssuer/CERT_CI_ECDSA_{NIST,BRP}.der`, `EUM/CERT_EUM_ECDSA_*.der`,
//!   `eUICC/CERT_EUICC_ECDSA_*.der`, `eUICC/SK_EUICC_ECDSA_*.pem` ([`EuiccCredentials::from_sgp26_dir`]);
//! - an rspd test PKI (`rspd pki init`: `nist|brainpool/{ci,eum,euicc}.pem`, `euicc.key`)
//!   ([`EuiccCredentials::from_test_pki`]);
//! - a fresh test PKI generated into a directory ([`EuiccCredentials::generate`]).
//!
//! Every CI certificate of the source is trusted, whatever the curve: a real eUICC carries several.

use std::path::{Path, PathBuf};

use openssl::ec::EcKey;
use openssl::pkey::{PKey, Private};
use rsp_proto::pki::test_pki::{self, TestPkiPaths, TestPkiRequest};
use rsp_proto::pki::{Certificate, CiStore, Curve, EcPublicKey};

/// Why credentials could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a usable certificate: {reason}", .path.display())]
    Certificate { path: PathBuf, reason: String },
    #[error("{} holds no EC private key: {reason}", .path.display())]
    PrivateKey { path: PathBuf, reason: String },
    #[error("the eUICC private key does not belong to the eUICC certificate")]
    KeyMismatch,
    #[error("the eUICC certificate is on {found}, but {expected} was asked for")]
    WrongCurve { expected: Curve, found: Curve },
    #[error("the eUICC certificate has no EID (subject serialNumber)")]
    NoEid,
    #[error("no trusted CI certificate found in {}", .dir.display())]
    NoCi { dir: PathBuf },
    #[error("CI certificate {} is not acceptable: {reason}", .path.display())]
    Ci { path: PathBuf, reason: String },
    #[error("generating a test PKI in {}: {reason}", .dir.display())]
    Generate { dir: PathBuf, reason: String },
}

/// What the eUICC is: its certificates, its private key (SK.EUICC.ECDSA), its EID and the CIs it trusts.
#[derive(Debug, Clone)]
pub struct EuiccCredentials {
    /// 32 digits, the eUICC certificate's subject serialNumber.
    pub eid: String,
    /// CERT.EUICC.ECDSA, DER.
    pub euicc_cert_der: Vec<u8>,
    /// CERT.EUM.ECDSA, DER.
    pub eum_cert_der: Vec<u8>,
    /// SK.EUICC.ECDSA: signs euiccSigned1, euiccSigned2, ProfileInstallationResultData, …
    pub euicc_key: EcKey<Private>,
    /// The trusted CIs; their subjectKeyIdentifiers are `euiccCiPKIdListForVerification`.
    pub ci_certs: CiStore,
    /// The curve of the eUICC's own key.
    pub curve: Curve,
}

/// `NIST` or `BRP`: the SGP.26 file name suffix of a curve.
pub fn sgp26_suffix(curve: Curve) -> &'static str {
    match curve {
        Curve::NistP256 => "NIST",
        Curve::BrainpoolP256r1 => "BRP",
    }
}

impl EuiccCredentials {
    /// Loads the SGP.26 test eUICC of `curve` from `dir` (every `CertificateIssuer/CERT_CI_ECDSA_*.der` trusted).
    pub fn from_sgp26_dir(dir: &Path, curve: Curve) -> Result<Self, CredentialsError> {
        let suffix = sgp26_suffix(curve);
        let euicc_cert_der = read(&dir.join(format!("eUICC/CERT_EUICC_ECDSA_{suffix}.der")))?;
        let eum_cert_der = read(&dir.join(format!("EUM/CERT_EUM_ECDSA_{suffix}.der")))?;
        let key_path = dir.join(format!("eUICC/SK_EUICC_ECDSA_{suffix}.pem"));
        let euicc_key = read_key(&key_path)?;
        let ci_paths: Vec<PathBuf> = Curve::ALL
            .iter()
            .map(|c| dir.join(format!("CertificateIssuer/CERT_CI_ECDSA_{}.der", sgp26_suffix(*c))))
            .filter(|p| p.is_file())
            .collect();
        let ci_certs = trusted_cis(dir, &ci_paths, false)?;
        Self::assemble(euicc_cert_der, eum_cert_der, euicc_key, ci_certs, curve)
    }

    /// Loads the sample eUICC of `curve` from an rspd test PKI (every curve's `ci.pem` trusted).
    pub fn from_test_pki(paths: &TestPkiPaths, curve: Curve) -> Result<Self, CredentialsError> {
        let euicc_cert_der = read_pem_cert(&paths.euicc_cert(curve))?;
        let eum_cert_der = read_pem_cert(&paths.eum_cert(curve))?;
        let euicc_key = read_key(&paths.euicc_key(curve))?;
        let ci_paths: Vec<PathBuf> = Curve::ALL.iter().map(|c| paths.ci_cert(*c)).filter(|p| p.is_file()).collect();
        let ci_certs = trusted_cis(paths.root(), &ci_paths, true)?;
        Self::assemble(euicc_cert_der, eum_cert_der, euicc_key, ci_certs, curve)
    }

    /// A new eUICC issued on the fly by the test PKI's EUM of `curve` (EID = test prefix + `serial` + check
    /// digits; use `serial` ≥ 2, 1 is the PKI's sample eUICC), trusting the PKI's CIs: one of many distinct
    /// simulated devices (`rsp_proto::pki::test_pki::issue_test_euicc`).
    pub fn issue_from_test_pki(paths: &TestPkiPaths, curve: Curve, serial: u64) -> Result<Self, CredentialsError> {
        let issued = test_pki::issue_test_euicc(paths, curve, serial)
            .map_err(|e| CredentialsError::Generate { dir: paths.root().to_path_buf(), reason: e.to_string() })?;
        let euicc_cert_der = Certificate::from_pem(&issued.certificate_pem)
            .map_err(|e| CredentialsError::Certificate { path: PathBuf::from("issued eUICC"), reason: e.to_string() })?
            .der()
            .to_vec();
        let euicc_key = EcKey::private_key_from_pem(&issued.private_key_pem)
            .or_else(|_| PKey::private_key_from_pem(&issued.private_key_pem).and_then(|k| k.ec_key()))
            .map_err(|e| CredentialsError::PrivateKey { path: PathBuf::from("issued eUICC"), reason: e.to_string() })?;
        let eum_cert_der = read_pem_cert(&paths.eum_cert(curve))?;
        let ci_paths: Vec<PathBuf> = Curve::ALL.iter().map(|c| paths.ci_cert(*c)).filter(|p| p.is_file()).collect();
        let ci_certs = trusted_cis(paths.root(), &ci_paths, true)?;
        Self::assemble(euicc_cert_der, eum_cert_der, euicc_key, ci_certs, curve)
    }

    /// Generates a fresh rspd test PKI (both curves, DP TLS names from `smdp_addresses`) into `dir`, which
    /// must be missing or empty, and loads its eUICC of `curve`. The DPauth/DPpb keys a test server needs are
    /// in the returned [`TestPkiPaths`].
    pub fn generate(
        dir: &Path,
        curve: Curve,
        smdp_addresses: &[String],
    ) -> Result<(Self, TestPkiPaths), CredentialsError> {
        let request = TestPkiRequest {
            out: dir.to_path_buf(),
            curves: Curve::ALL.to_vec(),
            addresses: smdp_addresses.to_vec(),
            force: false,
        };
        let generated = test_pki::generate(&request)
            .map_err(|e| CredentialsError::Generate { dir: dir.to_path_buf(), reason: e.to_string() })?;
        let credentials = Self::from_test_pki(&generated.paths, curve)?;
        Ok((credentials, generated.paths))
    }

    /// The eUICC certificate, parsed.
    pub fn euicc_certificate(&self) -> Result<Certificate, CredentialsError> {
        Certificate::from_der(&self.euicc_cert_der).map_err(|e| CredentialsError::Certificate {
            path: PathBuf::from("CERT.EUICC.ECDSA"),
            reason: e.to_string(),
        })
    }

    /// The CI key identifier the eUICC's own chain ends at (`euiccCiPKIdListForSigning`, §5.7.8):
    /// the authorityKeyIdentifier of the EUM certificate.
    pub fn signing_ci_pkid(&self) -> Result<Vec<u8>, CredentialsError> {
        let eum = Certificate::from_der(&self.eum_cert_der).map_err(|e| CredentialsError::Certificate {
            path: PathBuf::from("CERT.EUM.ECDSA"),
            reason: e.to_string(),
        })?;
        eum.authority_key_id().map(<[u8]>::to_vec).ok_or_else(|| CredentialsError::Certificate {
            path: PathBuf::from("CERT.EUM.ECDSA"),
            reason: "no authorityKeyIdentifier".into(),
        })
    }

    fn assemble(
        euicc_cert_der: Vec<u8>,
        eum_cert_der: Vec<u8>,
        euicc_key: EcKey<Private>,
        ci_certs: CiStore,
        curve: Curve,
    ) -> Result<Self, CredentialsError> {
        let cert = Certificate::from_der(&euicc_cert_der).map_err(|e| CredentialsError::Certificate {
            path: PathBuf::from("CERT.EUICC.ECDSA"),
            reason: e.to_string(),
        })?;
        let found = cert.public_key().curve();
        if found != curve {
            return Err(CredentialsError::WrongCurve { expected: curve, found });
        }
        let public = EcPublicKey::from_ec_key(&euicc_key).map_err(|_| CredentialsError::KeyMismatch)?;
        if &public != cert.public_key() {
            return Err(CredentialsError::KeyMismatch);
        }
        let eid = cert.subject_serial_number().ok_or(CredentialsError::NoEid)?.to_string();
        Ok(EuiccCredentials { eid, euicc_cert_der, eum_cert_der, euicc_key, ci_certs, curve })
    }
}

fn read(path: &Path) -> Result<Vec<u8>, CredentialsError> {
    std::fs::read(path).map_err(|source| CredentialsError::Read { path: path.to_path_buf(), source })
}

fn read_pem_cert(path: &Path) -> Result<Vec<u8>, CredentialsError> {
    let pem = read(path)?;
    Certificate::from_pem(&pem)
        .map(|c| c.der().to_vec())
        .map_err(|e| CredentialsError::Certificate { path: path.to_path_buf(), reason: e.to_string() })
}

/// A PEM EC private key, PKCS#8 or SEC1.
fn read_key(path: &Path) -> Result<EcKey<Private>, CredentialsError> {
    let pem = read(path)?;
    PKey::private_key_from_pem(&pem)
        .and_then(|k| k.ec_key())
        .or_else(|_| EcKey::private_key_from_pem(&pem))
        .map_err(|e| CredentialsError::PrivateKey { path: path.to_path_buf(), reason: e.to_string() })
}

fn trusted_cis(dir: &Path, paths: &[PathBuf], pem: bool) -> Result<CiStore, CredentialsError> {
    let mut store = CiStore::new();
    for path in paths {
        let der = if pem { read_pem_cert(path)? } else { read(path)? };
        store.add_der(&der).map_err(|e| CredentialsError::Ci { path: path.clone(), reason: e.to_string() })?;
    }
    if store.is_empty() {
        return Err(CredentialsError::NoCi { dir: dir.to_path_buf() });
    }
    Ok(store)
}
