//! Resolves which certificates the listeners serve: the configured files, or — when none are
//! configured and `pki.generate_test_pki` allows it — the test PKI in `pki.dir`, generated on
//! first start. Using the test PKI is always announced.

use std::path::{Path, PathBuf};

use rustls::ServerConfig;

use crate::config::{Config, ConfigError, OperatorIdentityConfig};
use crate::http::tls;
use crate::pki::test_pki::{self, TestPkiPaths, TestPkiRequest};
use crate::pki::Curve;

use super::StartError;

pub use crate::pki::test_pki::TEST_OPERATOR_ID;

/// What the listeners will serve, ready to bind.
pub struct TlsMaterial {
    /// `None` when `device.plain_http = true`.
    pub device: Option<ServerConfig>,
    pub operator: ServerConfig,
    /// The identities in force (configured ones, or the test operator's).
    pub identities: Vec<OperatorIdentityConfig>,
    pub test_pki: Option<TestPkiUse>,
}

/// The test PKI is in use: where it is and whether this start created it.
pub struct TestPkiUse {
    pub paths: TestPkiPaths,
    pub generated_now: bool,
}

pub fn resolve(config: &Config) -> Result<TlsMaterial, StartError> {
    let needs_device_cert = !config.device.plain_http && config.device.tls_cert.is_none();
    let needs_operator_cert = config.operator.tls_cert.is_none() && config.device.tls_cert.is_none();
    let needs_client_ca =
        config.operator.client_ca.is_empty() && config.operator.identities.iter().all(|id| id.client_ca.is_none());
    let uses_test_pki = needs_device_cert || needs_operator_cert || needs_client_ca;

    let test_pki = if uses_test_pki {
        if !config.pki.generate_test_pki {
            let key = if needs_device_cert {
                "device.tls_cert"
            } else if needs_operator_cert {
                "operator.tls_cert"
            } else {
                "operator.client_ca"
            };
            return Err(ConfigError::invalid(key, "required when pki.generate_test_pki = false").into());
        }
        Some(ensure_test_pki(config)?)
    } else {
        None
    };
    let pki_paths = test_pki.as_ref().map(|t| t.paths.clone());

    // The device listener's certificate: configured, else the test PKI's NIST DP TLS.
    let device_files: Option<(&str, PathBuf, &str, PathBuf)> = match (&config.device.tls_cert, &config.device.tls_key) {
        (Some(c), Some(k)) => Some(("device.tls_cert", c.clone(), "device.tls_key", k.clone())),
        _ => pki_paths.as_ref().map(|p| {
            ("device.tls_cert", p.dptls_cert(Curve::NistP256), "device.tls_key", p.dptls_key(Curve::NistP256))
        }),
    };
    let device = match (&device_files, config.device.plain_http) {
        (_, true) => None,
        (Some((ck, c, kk, k)), false) => {
            Some(tls::device_server_config(tls::load_cert_chain(ck, c)?, tls::load_private_key(kk, k)?, ck)?)
        }
        (None, false) => {
            return Err(ConfigError::invalid("device.tls_cert", "required unless device.plain_http = true").into())
        }
    };

    // The operator listener's certificate: its own, else the device one.
    let (ock, oc, okk, ok) = match (&config.operator.tls_cert, &config.operator.tls_key) {
        (Some(c), Some(k)) => ("operator.tls_cert", c.clone(), "operator.tls_key", k.clone()),
        _ => device_files
            .clone()
            .ok_or_else(|| ConfigError::invalid("operator.tls_cert", "required when device.plain_http = true"))?,
    };

    let client_ca_files: Vec<PathBuf> = if config.operator.client_ca.is_empty() {
        pki_paths.iter().map(TestPkiPaths::operator_ca_cert).collect()
    } else {
        config.operator.client_ca.clone()
    };
    let mut client_cas = Vec::new();
    for f in &client_ca_files {
        client_cas.extend(tls::load_cert_chain("operator.client_ca", f)?);
    }
    // An identity's own CA is trusted for the handshake too (the identity then requires it).
    for (i, id) in config.operator.identities.iter().enumerate() {
        if let Some(f) = &id.client_ca {
            client_cas.extend(tls::load_cert_chain(&format!("operator.identities[{i}].client_ca"), f)?);
        }
    }
    let operator = tls::operator_server_config(
        tls::load_cert_chain(ock, &oc)?,
        tls::load_private_key(okk, &ok)?,
        ock,
        client_cas,
    )?;

    let mut identities = config.operator.identities.clone();
    if identities.is_empty() && needs_client_ca {
        if let Some(p) = &pki_paths {
            identities.push(test_operator_identity(&p.operator_client_cert())?);
        }
    }
    if identities.is_empty() {
        tracing::warn!("operator.identities is empty: every request on the operator listener will be refused (403)");
    }
    Ok(TlsMaterial { device, operator, identities, test_pki })
}

pub(super) fn ensure_test_pki(config: &Config) -> Result<TestPkiUse, StartError> {
    let paths = TestPkiPaths::new(config.pki_dir());
    if paths.exists() {
        return Ok(TestPkiUse { paths, generated_now: false });
    }
    let generated = test_pki::generate(&TestPkiRequest {
        out: config.pki_dir(),
        curves: Curve::ALL.to_vec(),
        addresses: config.smdp_addresses(),
        force: false,
    })?;
    Ok(TestPkiUse { paths: generated.paths, generated_now: true })
}

fn test_operator_identity(client_cert: &Path) -> Result<OperatorIdentityConfig, StartError> {
    let chain = tls::load_cert_chain("pki.dir", client_cert)?;
    let der = chain.first().ok_or_else(|| ConfigError::invalid("pki.dir", "operator client certificate missing"))?;
    Ok(OperatorIdentityConfig {
        operator_id: TEST_OPERATOR_ID.to_owned(),
        subject: None,
        fingerprint_sha256: Some(hex::encode(openssl::sha::sha256(der))),
        client_ca: None,
        // The test PKI's one operator runs this (development) server.
        admin: true,
    })
}
