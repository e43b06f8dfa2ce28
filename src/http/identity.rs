//! Operator identity on the operator listener: the verified client certificate → an operator id.
//!
//! rustls has already checked the chain against `operator.client_ca` during the handshake;
//! here the end-entity certificate (`peer_certificates()[0]`, never the last one) is mapped to
//! an operator by SHA-256 fingerprint or by subject (`[[operator.identities]]`). A subject is compared
//! as a parsed distinguished name, RDN by RDN ([`DistinguishedName`]), never as rendered text, and
//! only counts when the identity's own `client_ca` (if it names one) issued the certificate. Handlers take
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
use openssl::x509::X509;
use rustls::pki_types::CertificateDer;

use crate::config::{normalize_fingerprint, ConfigError, OperatorIdentityConfig};
use crate::pki::distinguished_name::{render_subject, DistinguishedName};

/// The client's verified certificate chain, end entity first, stored per connection by
/// [`capture_peer_certificate`].
#[derive(Clone)]
pub struct PeerCertificate(pub CertificateDer<'static>, pub Vec<CertificateDer<'static>>);

/// `HttpServer::on_connect` hook: keeps the verified client certificate (and the intermediates it
/// came with) with the connection.
pub fn capture_peer_certificate(connection: &dyn Any, data: &mut Extensions) {
    if let Some(tls) = connection.downcast_ref::<TlsStream<TcpStream>>() {
        if let Some(chain) = tls.get_ref().1.peer_certificates() {
            if let Some((end_entity, intermediates)) = chain.split_first() {
                let intermediates = intermediates.iter().map(|c| c.clone().into_owned()).collect();
                data.insert(PeerCertificate(end_entity.clone().into_owned(), intermediates));
            }
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
    /// An administrator of the server (`admin = true`): may read every operator's metrics.
    pub admin: bool,
}

/// One `[[operator.identities]]` entry matched by subject.
#[derive(Debug)]
struct SubjectRule {
    subject: DistinguishedName,
    /// The CA that must have issued the certificate, when the identity names one.
    issuer: Option<Vec<X509>>,
    operator_id: String,
    admin: bool,
}

/// The configured mapping from client certificates to operator ids.
#[derive(Debug, Default)]
pub struct OperatorDirectory {
    by_fingerprint: HashMap<String, (String, bool)>,
    by_subject: Vec<SubjectRule>,
}

impl OperatorDirectory {
    /// Builds the directory from validated config (see `config::validate`); reads each identity's
    /// `client_ca`.
    pub fn new(identities: &[OperatorIdentityConfig]) -> Result<Self, ConfigError> {
        let mut dir = OperatorDirectory::default();
        for (i, id) in identities.iter().enumerate() {
            let key = format!("operator.identities[{i}]");
            if let Some(fp) = id.fingerprint_sha256.as_deref().and_then(|fp| normalize_fingerprint(fp).ok()) {
                dir.by_fingerprint.insert(fp, (id.operator_id.clone(), id.admin));
            }
            if let Some(subject) = &id.subject {
                let subject = DistinguishedName::parse(subject)
                    .map_err(|e| ConfigError::invalid(format!("{key}.subject"), e.to_string()))?;
                let issuer = match &id.client_ca {
                    Some(path) => {
                        let ca_key = format!("{key}.client_ca");
                        let certs = super::tls::load_cert_chain(&ca_key, path)?
                            .iter()
                            .map(|der| X509::from_der(der).map_err(|e| ConfigError::invalid(&ca_key, e.to_string())))
                            .collect::<Result<Vec<_>, _>>()?;
                        Some(certs)
                    }
                    None => None,
                };
                dir.by_subject.push(SubjectRule {
                    subject,
                    issuer,
                    operator_id: id.operator_id.clone(),
                    admin: id.admin,
                });
            }
        }
        Ok(dir)
    }

    pub fn is_empty(&self) -> bool {
        self.by_fingerprint.is_empty() && self.by_subject.is_empty()
    }

    /// The operator this certificate belongs to, if it is mapped: by fingerprint, else by subject
    /// (RDN by RDN, never by its text) and, where the identity names one, by issuing CA. A subject that
    /// matches two identities is refused as ambiguous.
    pub fn resolve(&self, peer: &PeerCertificate) -> Result<OperatorIdentity, Refusal> {
        let cert = &peer.0;
        let fingerprint_sha256 = hex::encode(openssl::sha::sha256(cert));
        let subject = render_subject(cert);
        if let Some((operator_id, admin)) = self.by_fingerprint.get(&fingerprint_sha256) {
            return Ok(OperatorIdentity {
                operator_id: operator_id.clone(),
                subject,
                fingerprint_sha256,
                admin: *admin,
            });
        }
        let unmapped = |why: String| Refusal::Unmapped {
            subject: subject.clone(),
            fingerprint_sha256: fingerprint_sha256.clone(),
            why,
        };
        if self.by_subject.is_empty() {
            return Err(unmapped("no identity matches its fingerprint".into()));
        }
        let name =
            DistinguishedName::subject_of_certificate(cert).map_err(|e| unmapped(format!("subject refused: {e}")))?;
        let mut matches = self
            .by_subject
            .iter()
            .filter(|rule| rule.subject == name)
            .filter(|rule| rule.issuer.as_deref().is_none_or(|cas| issued_by(peer, cas)));
        match (matches.next(), matches.next()) {
            (Some(rule), None) => Ok(OperatorIdentity {
                operator_id: rule.operator_id.clone(),
                subject,
                fingerprint_sha256,
                admin: rule.admin,
            }),
            (Some(_), Some(_)) => Err(unmapped("its subject matches more than one identity".into())),
            (None, _) => Err(unmapped("no identity matches its subject (RDN by RDN) and issuer".into())),
        }
    }
}

/// Whether one of `cas` signed the end-entity certificate, directly or through the presented
/// intermediates (each link checked by signature; rustls has already validated the whole path).
fn issued_by(peer: &PeerCertificate, cas: &[X509]) -> bool {
    let Ok(mut current) = X509::from_der(&peer.0) else { return false };
    let intermediates: Vec<X509> = peer.1.iter().filter_map(|der| X509::from_der(der).ok()).collect();
    for _ in 0..=intermediates.len() {
        let signed_by = |issuer: &X509| {
            issuer.subject_name().try_cmp(current.issuer_name()).is_ok_and(|o| o.is_eq())
                && issuer.public_key().and_then(|k| current.verify(&k)).unwrap_or(false)
        };
        if cas.iter().any(signed_by) {
            return true;
        }
        match intermediates.iter().find(|i| signed_by(i)) {
            Some(next) => current = next.clone(),
            None => return false,
        }
    }
    false
}

/// Why a request on the operator listener was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Refusal {
    #[error("no client certificate presented")]
    NoCertificate,
    #[error("client certificate `{subject}` (sha256 {fingerprint_sha256}) is not mapped to an operator in [[operator.identities]]: {why}")]
    Unmapped { subject: String, fingerprint_sha256: String, why: String },
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
        Some(directory) => directory.resolve(cert),
        None => Err(Refusal::Unmapped {
            subject: render_subject(&cert.0),
            fingerprint_sha256: String::new(),
            why: "no identities configured".into(),
        }),
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
