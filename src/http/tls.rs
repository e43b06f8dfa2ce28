//! TLS for the two listeners (rustls 0.23, ring provider).
//!
//! - Device listener (ES9+, ESipa): server-authenticated TLS with the DP TLS certificate
//!   (SGP.22 v2.5 §2.6.6; TLS 1.2 ECDHE-ECDSA AES-128-GCM is what devices negotiate). rustls has
//!   neither brainpool nor CBC suites: a brainpool DP TLS certificate must be served by a TLS
//!   terminator in front of rspd (`device.plain_http = true`).
//! - Operator listener (ES2+, fleet API): mutual TLS. A client certificate that does not chain to
//!   a configured operator CA fails the handshake (the reason is logged here). A client that
//!   presents no certificate completes the handshake but every request is refused with 401 by
//!   `http::identity::RequireOperator`, so that refusal, too, is logged with the peer address.
//!
//! Files are read here, and a problem is reported as a [`ConfigError`] naming the key.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme};

use crate::config::ConfigError;

/// The crypto provider for every TLS configuration rspd builds (explicit, so another provider
/// linked in by a dependency never makes the choice ambiguous).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads a PEM certificate chain (end-entity first).
pub fn load_cert_chain(key: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let bytes = read(key, path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConfigError::invalid(key, format!("{}: not a PEM certificate file: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(ConfigError::invalid(key, format!("{}: no CERTIFICATE in the file", path.display())));
    }
    Ok(certs)
}

/// Reads a PEM private key (PKCS#8, SEC1 or PKCS#1).
pub fn load_private_key(key: &str, path: &Path) -> Result<PrivateKeyDer<'static>, ConfigError> {
    let bytes = read(key, path)?;
    PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|e| ConfigError::invalid(key, format!("{}: no usable PEM private key: {e}", path.display())))
}

fn read(key: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| ConfigError::invalid(key, format!("cannot read {}: {e}", path.display())))
}

/// Server-authenticated TLS for the device listener.
pub fn device_server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    key_name: &str,
) -> Result<ServerConfig, ConfigError> {
    ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::invalid(key_name, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| certificate_error(key_name, e))
}

/// Mutual TLS for the operator listener: a client certificate from one of `client_cas` is required.
pub fn operator_server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    key_name: &str,
    client_cas: Vec<CertificateDer<'static>>,
) -> Result<ServerConfig, ConfigError> {
    let mut roots = RootCertStore::empty();
    for ca in client_cas {
        roots
            .add(ca)
            .map_err(|e| ConfigError::invalid("operator.client_ca", format!("unusable CA certificate: {e}")))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .allow_unauthenticated()
        .build()
        .map_err(|e| ConfigError::invalid("operator.client_ca", e.to_string()))?;
    ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::invalid(key_name, e.to_string()))?
        .with_client_cert_verifier(Arc::new(LoggingClientVerifier { inner: verifier }))
        .with_single_cert(chain, key)
        .map_err(|e| certificate_error(key_name, e))
}

fn certificate_error(key_name: &str, e: rustls::Error) -> ConfigError {
    ConfigError::invalid(
        key_name,
        format!(
            "the certificate and key cannot be served by rustls ({e}); the key must match the certificate and be \
             NIST P-256/P-384, RSA or Ed25519 — a brainpool TLS certificate needs a TLS terminator in front \
             (device.plain_http = true)"
        ),
    )
}

/// Wraps the WebPKI client verifier so every refused operator certificate leaves a clear line in
/// the log (rustls itself only sends the alert).
#[derive(Debug)]
struct LoggingClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
}

impl ClientCertVerifier for LoggingClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.inner.verify_client_cert(end_entity, intermediates, now).inspect_err(|e| {
            tracing::warn!(
                subject = %crate::pki::distinguished_name::render_subject(end_entity),
                reason = %e,
                "operator listener: TLS handshake refused: client certificate not issued by a configured operator CA (operator.client_ca) or not valid"
            );
        })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
