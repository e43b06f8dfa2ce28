//! Where each file of a test PKI lives (the layout is documented in the module above).

use std::path::{Path, PathBuf};

use crate::pki::Curve;

/// The file layout of a test PKI rooted at one directory.
#[derive(Debug, Clone)]
pub struct TestPkiPaths {
    root: PathBuf,
}

impl TestPkiPaths {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The marker file written last by the generator; its presence means the PKI is complete.
    pub fn marker(&self) -> PathBuf {
        self.root.join("TEST-PKI.txt")
    }

    pub fn exists(&self) -> bool {
        self.marker().is_file()
    }

    pub fn curve_dir(&self, curve: Curve) -> PathBuf {
        self.root.join(curve.short_name())
    }

    fn file(&self, curve: Curve, name: &str) -> PathBuf {
        self.curve_dir(curve).join(name)
    }

    pub fn ci_cert(&self, curve: Curve) -> PathBuf {
        self.file(curve, "ci.pem")
    }
    pub fn ci_key(&self, curve: Curve) -> PathBuf {
        self.file(curve, "ci.key")
    }
    pub fn eum_cert(&self, curve: Curve) -> PathBuf {
        self.file(curve, "eum.pem")
    }
    pub fn eum_key(&self, curve: Curve) -> PathBuf {
        self.file(curve, "eum.key")
    }
    pub fn euicc_cert(&self, curve: Curve) -> PathBuf {
        self.file(curve, "euicc.pem")
    }
    pub fn euicc_key(&self, curve: Curve) -> PathBuf {
        self.file(curve, "euicc.key")
    }
    pub fn dpauth_cert(&self, curve: Curve) -> PathBuf {
        self.file(curve, "dpauth.pem")
    }
    pub fn dpauth_key(&self, curve: Curve) -> PathBuf {
        self.file(curve, "dpauth.key")
    }
    pub fn dppb_cert(&self, curve: Curve) -> PathBuf {
        self.file(curve, "dppb.pem")
    }
    pub fn dppb_key(&self, curve: Curve) -> PathBuf {
        self.file(curve, "dppb.key")
    }
    pub fn dptls_cert(&self, curve: Curve) -> PathBuf {
        self.file(curve, "dptls.pem")
    }
    pub fn dptls_key(&self, curve: Curve) -> PathBuf {
        self.file(curve, "dptls.key")
    }

    /// Where rspd keeps its generated test eIM key (PEM) for `curve`. Not issued by the test CI: the eIM signs
    /// with a bare key that devices learn as `eimPublicKey` (SGP.32 v1.2 §2.11.1.2).
    pub fn eim_key(&self, curve: Curve) -> PathBuf {
        self.root.join("eim").join(curve.short_name()).join("eim_key.pem")
    }

    pub fn operator_dir(&self) -> PathBuf {
        self.root.join("operator")
    }
    pub fn operator_ca_cert(&self) -> PathBuf {
        self.operator_dir().join("ca.pem")
    }
    pub fn operator_ca_key(&self) -> PathBuf {
        self.operator_dir().join("ca.key")
    }
    pub fn operator_client_cert(&self) -> PathBuf {
        self.operator_dir().join("client.pem")
    }
    pub fn operator_client_key(&self) -> PathBuf {
        self.operator_dir().join("client.key")
    }
}
