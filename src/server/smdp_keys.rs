//! The SM-DP+'s ES9+ material, read once at start: DPauth/DPpb certificates and keys per curve (configured
//! files, else the test PKI's), the trusted CIs, and the [`SmdpContext`] the ES9+ handlers share
//! (SGP.22 v2.5 §4.5.2.1 SM-DP+ certificates; keys only through the key store).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, ConfigError, DpCredentialsConfig};
use crate::pki::keystore::{KeyRef, KeyRole};
use crate::pki::test_pki::TestPkiPaths;
use crate::pki::{Certificate, CiStore, Curve, PemKeyStore};
use crate::smdp::es9::{DpCredentials, SmdpContext};

use super::StartError;

/// hostId of the BPP control reference template (SGP.22 v2.5 §5.5.1, 1 to 16 bytes).
const HOST_ID: &[u8] = b"rspd";

/// Builds the ES9+ context. `test_pki` is the test PKI when one is in use or may be used.
pub fn build_context(config: &Config, test_pki: Option<&TestPkiPaths>) -> Result<SmdpContext, StartError> {
    let mut key_files: Vec<(KeyRef, PathBuf)> = Vec::new();
    let mut credentials = Vec::new();
    for curve in Curve::ALL {
        let (key, configured) = match curve {
            Curve::NistP256 => ("smdp.nist", &config.smdp.nist),
            Curve::BrainpoolP256r1 => ("smdp.brainpool", &config.smdp.brainpool),
        };
        let Some(files) = credential_files(configured, test_pki, curve) else { continue };
        let dpauth = read_certificate(key, &files.dpauth_cert)?;
        let dppb = read_certificate(key, &files.dppb_cert)?;
        let ci_pkid = dpauth
            .authority_key_id()
            .ok_or_else(|| ConfigError::invalid(key, "the DPauth certificate has no authorityKeyIdentifier"))?
            .to_vec();
        credentials.push(DpCredentials {
            curve,
            ci_pkid,
            dpauth_certificate: dpauth.der().to_vec(),
            dppb_certificate: dppb.der().to_vec(),
            smdp_oid: dppb.registered_id().map(<[u8]>::to_vec),
        });
        key_files.push((KeyRef { role: KeyRole::DpAuth, curve }, files.dpauth_key));
        key_files.push((KeyRef { role: KeyRole::DpPb, curve }, files.dppb_key));
    }
    if credentials.is_empty() {
        return Err(ConfigError::invalid("smdp.nist", "no DPauth/DPpb credentials configured and no test PKI").into());
    }
    let keys = PemKeyStore::load(&key_files).map_err(|e| ConfigError::invalid("smdp", e.to_string()))?;

    let ci_files: Vec<PathBuf> = if config.smdp.trusted_ci.is_empty() {
        test_pki.map(|p| Curve::ALL.iter().map(|c| p.ci_cert(*c)).filter(|f| f.is_file()).collect()).unwrap_or_default()
    } else {
        config.smdp.trusted_ci.clone()
    };
    let mut trusted_cis = CiStore::new();
    for file in &ci_files {
        let ci = read_certificate("smdp.trusted_ci", file)?;
        trusted_cis.add(ci).map_err(|e| ConfigError::invalid("smdp.trusted_ci", format!("{}: {e}", file.display())))?;
    }
    if trusted_cis.is_empty() {
        return Err(ConfigError::invalid("smdp.trusted_ci", "no trusted CI certificate").into());
    }

    Ok(SmdpContext {
        addresses: config.smdp_addresses(),
        credentials,
        trusted_cis: Arc::new(trusted_cis),
        keys: Arc::new(keys),
        session_timeout: Duration::from_secs(config.smdp.session_timeout_secs),
        host_id: HOST_ID.to_vec(),
        progress: crate::smdp::ProgressNotifier::default(),
        // Shared with the eIM's GetEimPackage: built in `server::start`.
        eid_rate: None,
        max_unbound_sessions: (config.limits.max_open_sessions > 0).then_some(config.limits.max_open_sessions),
    })
}

struct Files {
    dpauth_cert: PathBuf,
    dpauth_key: PathBuf,
    dppb_cert: PathBuf,
    dppb_key: PathBuf,
}

/// The configured files of a curve, else the test PKI's (when it has that curve).
fn credential_files(configured: &DpCredentialsConfig, test_pki: Option<&TestPkiPaths>, curve: Curve) -> Option<Files> {
    if let (Some(ac), Some(ak), Some(pc), Some(pk)) =
        (&configured.dpauth_cert, &configured.dpauth_key, &configured.dppb_cert, &configured.dppb_key)
    {
        return Some(Files {
            dpauth_cert: ac.clone(),
            dpauth_key: ak.clone(),
            dppb_cert: pc.clone(),
            dppb_key: pk.clone(),
        });
    }
    let p = test_pki?;
    p.dpauth_cert(curve).is_file().then(|| Files {
        dpauth_cert: p.dpauth_cert(curve),
        dpauth_key: p.dpauth_key(curve),
        dppb_cert: p.dppb_cert(curve),
        dppb_key: p.dppb_key(curve),
    })
}

/// A certificate file, PEM or DER.
fn read_certificate(key: &str, path: &Path) -> Result<Certificate, StartError> {
    let bytes =
        std::fs::read(path).map_err(|e| ConfigError::invalid(key, format!("cannot read {}: {e}", path.display())))?;
    Certificate::from_pem(&bytes)
        .or_else(|_| Certificate::from_der(&bytes))
        .map_err(|e| ConfigError::invalid(key, format!("{}: {e}", path.display())).into())
}
