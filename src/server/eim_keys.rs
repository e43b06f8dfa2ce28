//! The eIM's keys and context, read once at start (SGP.32 v1.2 §2.11.1.1 `eimSignature` with SK.EIM.ECDSA):
//! per curve the configured `eim.<curve>.key`, else — when the test PKI is enabled — a key generated once
//! beside the test PKI at [`default_eim_key_path`] (`<pki dir>/eim/<curve>/eim_key.pem`, never for production).
//! Keys are registered in a [`PemKeyStore`] under [`KeyRole::Eim`]; the eIM expiry job runs the dispatch /
//! no-show timeouts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use openssl::ec::{EcGroup, EcKey};
use openssl::pkey::PKey;

use crate::config::{Config, ConfigError};
use crate::eim::esipa_service::EimService;
use crate::eim::EimContext;
use crate::http::clients::es9::Es9Client;
use crate::pki::keystore::KeyRef;
use crate::pki::test_pki::TestPkiPaths;
use crate::pki::{Curve, PemKeyStore};

use super::StartError;

/// The ES9+ client of the indirect-download relay to external SM-DP+s (SGP.32 v1.2 §3.2.3): TLS trust is
/// `eim.smdp_tls_trust`, else the test PKI's CIs; `None` (external SM-DP+s refused) without either.
pub fn es9_client(config: &Config, test_pki: Option<&TestPkiPaths>) -> Result<Option<Es9Client>, StartError> {
    let files: Vec<PathBuf> = if config.eim.smdp_tls_trust.is_empty() {
        test_pki.map(|p| Curve::ALL.iter().map(|c| p.ci_cert(*c)).filter(|f| f.is_file()).collect()).unwrap_or_default()
    } else {
        config.eim.smdp_tls_trust.clone()
    };
    if files.is_empty() {
        return Ok(None);
    }
    let mut pems = Vec::new();
    for file in &files {
        let pem = std::fs::read(file)
            .map_err(|e| ConfigError::invalid("eim.smdp_tls_trust", format!("{}: {e}", file.display())))?;
        pems.push(pem);
    }
    let timeout = Duration::from_secs(config.eim.smdp_timeout_secs);
    Es9Client::new(&pems, timeout).map(Some).map_err(|e| ConfigError::invalid("eim.smdp_tls_trust", e).into())
}

/// Where the generated test eIM key of `curve` lives under the PKI directory.
pub fn default_eim_key_path(pki_dir: &Path, curve: Curve) -> PathBuf {
    crate::pki::test_pki::TestPkiPaths::new(pki_dir).eim_key(curve)
}

/// Builds the eIM context: keys per curve (configured, else generated test keys when allowed).
pub fn build_context(config: &Config) -> Result<EimContext, StartError> {
    let mut key_files: Vec<(KeyRef, PathBuf)> = Vec::new();
    for curve in Curve::ALL {
        let configured = match curve {
            Curve::NistP256 => &config.eim.nist,
            Curve::BrainpoolP256r1 => &config.eim.brainpool,
        };
        let path = match &configured.key {
            Some(path) => path.clone(),
            None if config.pki.generate_test_pki => {
                let path = default_eim_key_path(&config.pki_dir(), curve);
                ensure_key(&path, curve)?;
                path
            }
            None => continue,
        };
        key_files.push((EimContext::key(curve), path));
    }
    if key_files.is_empty() {
        return Err(ConfigError::invalid("eim.nist.key", "no eIM key configured and no test PKI").into());
    }
    let curves = key_files.iter().map(|(k, _)| k.curve).collect();
    let keys = PemKeyStore::load(&key_files).map_err(|e| ConfigError::invalid("eim", e.to_string()))?;
    Ok(EimContext {
        eim_id: config.eim.eim_id.clone(),
        eim_fqdn: config.eim_fqdn(),
        keys: Arc::new(keys),
        curves,
        dispatch_timeout: Duration::from_secs(config.eim.dispatch_timeout_secs),
        no_show_timeout: Duration::from_secs(config.eim.no_show_timeout_secs),
    })
}

/// Generates a PKCS#8 PEM key on `curve` at `path` unless the file exists (owner-only permissions).
fn ensure_key(path: &Path, curve: Curve) -> Result<(), StartError> {
    if path.is_file() {
        return Ok(());
    }
    let io = |e: String| StartError::Io { what: format!("eIM test key {}", path.display()), reason: e };
    let pem = EcGroup::from_curve_name(curve.nid())
        .and_then(|g| EcKey::generate(&g))
        .and_then(PKey::from_ec_key)
        .and_then(|k| k.private_key_to_pem_pkcs8())
        .map_err(|e| io(e.to_string()))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io(e.to_string()))?;
    }
    write_private(path, &pem).map_err(|e| io(e.to_string()))?;
    tracing::debug!(path = %path.display(), %curve, "generated a test eIM key");
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Applies the dispatch and no-show timeouts every `interval`.
pub async fn expire_orders(svc: EimService, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        let store = svc.repo.clone();
        match web::block(move || crate::eim::service::expire_orders(store.registry(), crate::clock::now_ms())).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "eIM order expiry failed"),
            Err(e) => tracing::warn!(error = %e, "eIM order expiry not run"),
        }
    }
}
