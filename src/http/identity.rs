//! Operator identity on the operator listener: the verified client certificate → an operator id.
//!
//! rustls has already checked the chain against `operator.client_ca` during the handshake;
//! here the end-entity certificate (`peer_certificates()[0]`, never the last one) is mapped to
//! an operator by SHA-256 fingerprint or by subject (`[[operator.identities]]`). Handlers take
//! [`OperatorIdentity`] as an extractor; [`require_operator`] refuses every request on the
//! listener that has none, with a log line naming the reason and the peer address.

use std::any::Any;
use std::collections::HashMap;
use std::future::{ready, Ready};

use actix_tls::accept::rustls_0_23::TlsStream;
use actix_web::body::MessageBody;
use actix_web::dev::{Extensions, Payload, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::rt::net::TcpStream;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use rustls::pki_types::CertificateDer;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::config::{normalize_fingerprint, OperatorIdentityConfig};

/// The client's end-entity certificate, stored per connection by [`capture_peer_certificate`].
#[derive(Clone)]
pub struct PeerCertificate(pub CertificateDer<'static>);

/// `HttpServer::on_connect` hook: keeps the verified client certificate with the connection.
pub fn capture_peer_certificate(connection: &dyn Any, data: &mut Extensions) {
    if let Some(tls) = connection.downcast_ref::<TlsStream<TcpStream>>() {
        if let Some(end_entity) = tls.get_ref().1.peer_certificates().and_then(|chain| chain.first()) {
            data.insert(PeerCertificate(end_entity.clone().into_owned()));
        }
    }
}

/// A verified operator: who is calling the operator listener. Every query is scoped by
/// `operator_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorIdentity {
    pub operator_id: String,
    /// Subject of the client certificate, for the audit trail and logs.
    pub subject: String,
    /// SHA-256 of the client certificate DER, lower-case hex.
    pub fingerprint_sha256: String,
}

/// The configured mapping from client certificates to operator ids.
#[derive(Debug, Default)]
pub struct OperatorDirectory {
    by_fingerprint: HashMap<String, String>,
    by_subject: Vec<(Vec<(String, String)>, String)>,
}

impl OperatorDirectory {
    /// Builds the directory from validated config (see `config::validate`).
    pub fn new(identities: &[OperatorIdentityConfig]) -> Self {
        let mut dir = OperatorDirectory::default();
        for id in identities {
            if let Some(fp) = id.fingerprint_sha256.as_deref().and_then(|fp| normalize_fingerprint(fp).ok()) {
                dir.by_fingerprint.insert(fp, id.operator_id.clone());
            }
            if let Some(subject) = &id.subject {
                dir.by_subject.push((normalize_dn(subject), id.operator_id.clone()));
            }
        }
        dir
    }

    pub fn is_empty(&self) -> bool {
        self.by_fingerprint.is_empty() && self.by_subject.is_empty()
    }

    /// The operator this certificate belongs to, if it is mapped.
    pub fn resolve(&self, cert: &CertificateDer<'_>) -> Result<OperatorIdentity, Refusal> {
        let fingerprint_sha256 = hex::encode(openssl::sha::sha256(cert));
        let subject = subject_of(cert);
        let operator_id = self.by_fingerprint.get(&fingerprint_sha256).cloned().or_else(|| {
            let dn = normalize_dn(&subject);
            self.by_subject.iter().find(|(s, _)| *s == dn).map(|(_, id)| id.clone())
        });
        match operator_id {
            Some(operator_id) => Ok(OperatorIdentity { operator_id, subject, fingerprint_sha256 }),
            None => Err(Refusal::Unmapped { subject, fingerprint_sha256 }),
        }
    }
}

/// Why a request on the operator listener was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Refusal {
    #[error("no client certificate presented")]
    NoCertificate,
    #[error("client certificate `{subject}` (sha256 {fingerprint_sha256}) is not mapped to an operator in [[operator.identities]]")]
    Unmapped { subject: String, fingerprint_sha256: String },
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Refusal::NoCertificate => StatusCode::UNAUTHORIZED,
            Refusal::Unmapped { .. } => StatusCode::FORBIDDEN,
        }
    }

    fn public_message(&self) -> &'static str {
        match self {
            Refusal::NoCertificate => "a client certificate is required on this listener",
            Refusal::Unmapped { .. } => "this client certificate is not mapped to an operator",
        }
    }
}

fn identify(req: &HttpRequest) -> Result<OperatorIdentity, Refusal> {
    let cert = req.conn_data::<PeerCertificate>().ok_or(Refusal::NoCertificate)?;
    match req.app_data::<web::Data<OperatorDirectory>>() {
        Some(directory) => directory.resolve(&cert.0),
        None => Err(Refusal::Unmapped { subject: subject_of(&cert.0), fingerprint_sha256: String::new() }),
    }
}

/// Middleware for the whole operator listener: no mapped identity, no service.
pub async fn require_operator(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    match identify(req.request()) {
        Ok(identity) => {
            req.extensions_mut().insert(identity);
            next.call(req).await.map(ServiceResponse::map_into_left_body)
        }
        Err(refusal) => {
            let peer = req.peer_addr().map(|a| a.to_string()).unwrap_or_else(|| "unknown".into());
            tracing::warn!(peer = %peer, path = req.path(), reason = %refusal, "operator listener: request refused");
            let response =
                HttpResponse::build(refusal.status()).json(serde_json::json!({ "error": refusal.public_message() }));
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}

impl FromRequest for OperatorIdentity {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let found = req.extensions().get::<OperatorIdentity>().cloned();
        ready(match found {
            Some(identity) => Ok(identity),
            None => {
                identify(req).map_err(|r| actix_web::error::InternalError::new(r.public_message(), r.status()).into())
            }
        })
    }
}

/// The subject of a certificate as RFC 4514-style text (`CN=…, O=…`), or a placeholder.
pub fn subject_of(cert: &CertificateDer<'_>) -> String {
    match X509Certificate::from_der(cert) {
        Ok((_, parsed)) => parsed.subject().to_string(),
        Err(_) => "<unparsable certificate>".to_owned(),
    }
}

/// `CN=a, O=b` → sorted `[("CN","a"), ("O","b")]`: order- and space-insensitive comparison of
/// simple distinguished names (escaped commas are not supported in configured subjects).
fn normalize_dn(dn: &str) -> Vec<(String, String)> {
    let mut parts: Vec<(String, String)> = dn
        .split([',', '+'])
        .filter_map(|part| {
            let (k, v) = part.split_once('=')?;
            Some((k.trim().to_ascii_uppercase(), v.trim().to_owned()))
        })
        .collect();
    parts.sort();
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinguished_names_compare_without_order_or_spaces() {
        assert_eq!(normalize_dn("CN=acme-backend, O=ACME"), normalize_dn("o=ACME,CN = acme-backend"));
        assert_ne!(normalize_dn("CN=acme-backend,O=ACME"), normalize_dn("CN=acme-backend,O=Other"));
    }
}
