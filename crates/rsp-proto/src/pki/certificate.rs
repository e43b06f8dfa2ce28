//! An X.509 certificate of the SGP.22 PKI, parsed into what an SM-DP+ checks (SGP.22 v2.5 §4.5.2
//! certificate profiles; RFC 5280 §4.1, §4.2): subject and issuer names, subject/authority key
//! identifiers, validity, key usage, basicConstraints cA, certificatePolicies (the id-rspRole OIDs),
//! the public key (curve and point), the subject `serialNumber` (the EID in an eUICC certificate) and
//! an EUM's permitted EID prefixes (`eid_range.rs`).
//!
//! Parsing is structural only; chain rules are in `chain.rs`. Certificates are ecdsa-with-SHA256
//! on an SGP.22 §2.6.5.1 curve; anything else is refused here. OIDs are compared as encoded bytes
//! (asn1-rs 0.7 prints arcs ≥ 2.40 wrongly). Nothing a peer sends can make this module panic.

use std::fmt;
use std::str::FromStr;

use openssl::x509::X509;
use time::OffsetDateTime;
use x509_parser::der_parser::oid::Oid;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{
    OID_KEY_TYPE_EC_PUBLIC_KEY, OID_SIG_ECDSA_WITH_SHA256, OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER,
    OID_X509_EXT_BASIC_CONSTRAINTS, OID_X509_EXT_CERTIFICATE_POLICIES, OID_X509_EXT_CRL_DISTRIBUTION_POINTS,
    OID_X509_EXT_EXTENDED_KEY_USAGE, OID_X509_EXT_KEY_USAGE, OID_X509_EXT_NAME_CONSTRAINTS,
    OID_X509_EXT_SUBJECT_ALT_NAME, OID_X509_EXT_SUBJECT_KEY_IDENTIFIER, OID_X509_SERIALNUMBER,
};
use x509_parser::prelude::{FromDer, X509Certificate, X509Version};

use crate::pki::curve::Curve;
use crate::pki::ecdsa::{EcPublicKey, EcdsaError};
use crate::pki::eid_range::{self, EidRangeError, ID_RSP_EXT_PERMITTED_EINS};
use crate::pki::role::Role;

/// Why bytes are not a certificate rspd can use.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("not a DER X.509 certificate: {0}")]
    Der(String),
    #[error("{0} trailing byte(s) after the certificate")]
    TrailingBytes(usize),
    #[error("not a PEM certificate: {0}")]
    Pem(String),
    #[error("X.509 version {0} (SGP.22 certificates are v3)")]
    NotVersion3(u32),
    #[error("signature algorithm is not ecdsa-with-SHA256 (SGP.22 §2.6.5)")]
    UnsupportedSignatureAlgorithm,
    #[error("public key: {0}")]
    PublicKey(#[source] EcdsaError),
    #[error("public key is not an EC key")]
    NotAnEcKey,
    #[error("extension {oid_hex} appears more than once")]
    DuplicateExtension { oid_hex: String },
    #[error("extension {name} cannot be decoded: {reason}")]
    BadExtension { name: &'static str, reason: String },
    #[error("unknown critical extension (OID bytes {oid_hex})")]
    UnknownCriticalExtension { oid_hex: String },
    #[error("permitted EID range: {0}")]
    EidRange(#[from] EidRangeError),
    #[error("subject serialNumber is not a string")]
    SerialNumberNotAString,
}

/// The KeyUsage bits SGP.22 certificates use (RFC 5280 §4.2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyUsage {
    pub digital_signature: bool,
    pub key_cert_sign: bool,
    pub crl_sign: bool,
}

/// A parsed certificate; owns its DER.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    x509: X509,
    subject: String,
    issuer: String,
    subject_der: Vec<u8>,
    issuer_der: Vec<u8>,
    subject_key_id: Option<Vec<u8>>,
    authority_key_id: Option<Vec<u8>>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    key_usage: Option<KeyUsage>,
    is_ca: bool,
    /// Encoded OID contents (no tag, no length) of each certificatePolicies entry.
    policies: Vec<Vec<u8>>,
    public_key: EcPublicKey,
    subject_serial_number: Option<String>,
    permitted_eid_prefixes: Vec<String>,
    /// Encoded OID contents of the first subjectAltName registeredID.
    registered_id: Option<Vec<u8>>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject)
            .field("issuer", &self.issuer)
            .field("subject_key_id", &self.subject_key_id.as_deref().map(hex::encode))
            .field("authority_key_id", &self.authority_key_id.as_deref().map(hex::encode))
            .field("not_after", &self.not_after)
            .field("curve", &self.public_key.curve())
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// Parse one DER certificate (no trailing bytes).
    pub fn from_der(der: &[u8]) -> Result<Self, CertificateError> {
        let (rest, cert) = X509Certificate::from_der(der).map_err(|e| CertificateError::Der(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CertificateError::TrailingBytes(rest.len()));
        }
        let der = &der[..der.len() - rest.len()];
        if cert.version() != X509Version::V3 {
            return Err(CertificateError::NotVersion3(cert.version().0.saturating_add(1)));
        }
        check_signature_algorithm(&cert)?;
        let extensions = Extensions::read(&cert)?;

        // OpenSSL holds the certificate for the signature check (`X509::verify`) and the key.
        let x509 = X509::from_der(der).map_err(|e| CertificateError::Der(e.to_string()))?;
        let pkey = x509.public_key().map_err(|e| {
            CertificateError::PublicKey(EcdsaError::Crypto { during: "reading the subject public key", source: e })
        })?;
        let ec_key = pkey.ec_key().map_err(|_| CertificateError::NotAnEcKey)?;
        let public_key = EcPublicKey::from_ec_key(&ec_key).map_err(CertificateError::PublicKey)?;

        let subject_serial_number = match cert.subject().iter_by_oid(&OID_X509_SERIALNUMBER).next() {
            Some(attribute) => {
                Some(attribute.as_str().map_err(|_| CertificateError::SerialNumberNotAString)?.to_string())
            }
            None => None,
        };

        Ok(Certificate {
            der: der.to_vec(),
            x509,
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            subject_der: cert.subject().as_raw().to_vec(),
            issuer_der: cert.issuer().as_raw().to_vec(),
            subject_key_id: extensions.subject_key_id,
            authority_key_id: extensions.authority_key_id,
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
            key_usage: extensions.key_usage,
            is_ca: extensions.is_ca,
            policies: extensions.policies,
            public_key,
            subject_serial_number,
            permitted_eid_prefixes: extensions.permitted_eid_prefixes,
            registered_id: extensions.registered_id,
        })
    }

    /// Parse one PEM certificate.
    pub fn from_pem(pem: &[u8]) -> Result<Self, CertificateError> {
        let x509 = X509::from_pem(pem).map_err(|e| CertificateError::Pem(e.to_string()))?;
        let der = x509.to_der().map_err(|e| CertificateError::Pem(e.to_string()))?;
        Self::from_der(&der)
    }

    /// The DER as received.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The OpenSSL view of the same certificate.
    pub fn x509(&self) -> &X509 {
        &self.x509
    }

    /// Subject name, RFC 4514-like text (for messages and logs).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// DER of the subject Name.
    pub fn subject_der(&self) -> &[u8] {
        &self.subject_der
    }

    /// DER of the issuer Name.
    pub fn issuer_der(&self) -> &[u8] {
        &self.issuer_der
    }

    /// subjectKeyIdentifier; for a CI this is the `euiccCiPKId` of SGP.22 (§4.5.2, §5.7.8 EUICCInfo1).
    pub fn subject_key_id(&self) -> Option<&[u8]> {
        self.subject_key_id.as_deref()
    }

    /// authorityKeyIdentifier keyIdentifier.
    pub fn authority_key_id(&self) -> Option<&[u8]> {
        self.authority_key_id.as_deref()
    }

    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// The KeyUsage extension, `None` when absent.
    pub fn key_usage(&self) -> Option<KeyUsage> {
        self.key_usage
    }

    /// basicConstraints cA.
    pub fn is_ca(&self) -> bool {
        self.is_ca
    }

    /// Whether certificatePolicies lists `dotted` (compared as encoded OID bytes).
    pub fn has_policy(&self, dotted: &str) -> bool {
        match Oid::from_str(dotted) {
            Ok(oid) => self.policies.iter().any(|p| p.as_slice() == oid.as_bytes()),
            Err(_) => false,
        }
    }

    /// Whether the certificate carries the id-rspRole policy of `role` (SGP.22 v2.5 §4.5.2).
    pub fn has_role(&self, role: Role) -> bool {
        self.has_policy(role.profile().policy)
    }

    pub fn public_key(&self) -> &EcPublicKey {
        &self.public_key
    }

    /// Only the subject public key of `der`, on an SGP.22 curve — for a certificate checked in full when it was
    /// registered (an eIM's stored CERT.EUICC.ECDSA, which verifies every package result): one parse, without the
    /// OpenSSL certificate decode [`Certificate::from_der`] also does.
    pub fn subject_public_key_of(der: &[u8]) -> Result<EcPublicKey, CertificateError> {
        let (_, cert) = X509Certificate::from_der(der).map_err(|e| CertificateError::Der(e.to_string()))?;
        let spki = cert.public_key();
        if spki.algorithm.algorithm != OID_KEY_TYPE_EC_PUBLIC_KEY {
            return Err(CertificateError::NotAnEcKey);
        }
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .and_then(|oid| Curve::from_named_curve_oid(oid.as_bytes()))
            .ok_or(CertificateError::PublicKey(EcdsaError::UnsupportedCurve))?;
        EcPublicKey::from_point(curve, &spki.subject_public_key.data).map_err(CertificateError::PublicKey)
    }

    /// The subject `serialNumber` attribute: the EID in an eUICC certificate.
    pub fn subject_serial_number(&self) -> Option<&str> {
        self.subject_serial_number.as_deref()
    }

    /// EID prefixes an EUM certificate permits (NameConstraints and/or permittedEins), in order.
    pub fn permitted_eid_prefixes(&self) -> &[String] {
        &self.permitted_eid_prefixes
    }

    /// The subjectAltName registeredID (the entity's OID, e.g. the SM-DP+ OID that an eUICC puts in
    /// `smdpOid`, SGP.22 v2.5 §4.5.2.2 / §5.7.6), as encoded OID contents (no tag, no length).
    pub fn registered_id(&self) -> Option<&[u8]> {
        self.registered_id.as_deref()
    }
}

/// Both AlgorithmIdentifiers (outer and in tbsCertificate) must be ecdsa-with-SHA256 without parameters.
fn check_signature_algorithm(cert: &X509Certificate<'_>) -> Result<(), CertificateError> {
    for alg in [&cert.signature_algorithm, &cert.tbs_certificate.signature] {
        if alg.algorithm != OID_SIG_ECDSA_WITH_SHA256 || alg.parameters.is_some() {
            return Err(CertificateError::UnsupportedSignatureAlgorithm);
        }
    }
    Ok(())
}

/// What the extensions say, read once.
#[derive(Default)]
struct Extensions {
    subject_key_id: Option<Vec<u8>>,
    authority_key_id: Option<Vec<u8>>,
    key_usage: Option<KeyUsage>,
    is_ca: bool,
    policies: Vec<Vec<u8>>,
    permitted_eid_prefixes: Vec<String>,
    registered_id: Option<Vec<u8>>,
}

impl Extensions {
    fn read(cert: &X509Certificate<'_>) -> Result<Self, CertificateError> {
        let permitted_eins = Oid::from_str(ID_RSP_EXT_PERMITTED_EINS).ok();
        let mut seen: Vec<&[u8]> = Vec::new();
        let mut out = Extensions::default();
        for ext in cert.extensions() {
            let oid = ext.oid.as_bytes();
            if seen.contains(&oid) {
                return Err(CertificateError::DuplicateExtension { oid_hex: hex::encode(oid) });
            }
            seen.push(oid);
            let bad = |name: &'static str, reason: String| CertificateError::BadExtension { name, reason };
            match ext.parsed_extension() {
                ParsedExtension::ParseError { error } => return Err(bad(extension_name(&ext.oid), error.to_string())),
                ParsedExtension::SubjectKeyIdentifier(ki) => out.subject_key_id = Some(ki.0.to_vec()),
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    out.authority_key_id = aki.key_identifier.as_ref().map(|ki| ki.0.to_vec())
                }
                ParsedExtension::KeyUsage(ku) => {
                    out.key_usage = Some(KeyUsage {
                        digital_signature: ku.digital_signature(),
                        key_cert_sign: ku.key_cert_sign(),
                        crl_sign: ku.crl_sign(),
                    })
                }
                ParsedExtension::BasicConstraints(bc) => out.is_ca = bc.ca,
                ParsedExtension::CertificatePolicies(policies) => {
                    out.policies = policies.iter().map(|p| p.policy_id.as_bytes().to_vec()).collect()
                }
                ParsedExtension::NameConstraints(nc) => {
                    out.permitted_eid_prefixes.extend(eid_range::prefixes_from_name_constraints(nc)?)
                }
                ParsedExtension::SubjectAlternativeName(san) => {
                    out.registered_id = san.general_names.iter().find_map(|name| match name {
                        GeneralName::RegisteredID(oid) => Some(oid.as_bytes().to_vec()),
                        _ => None,
                    })
                }
                ParsedExtension::ExtendedKeyUsage(_) | ParsedExtension::CRLDistributionPoints(_) => {}
                _ if permitted_eins.as_ref() == Some(&ext.oid) => {
                    out.permitted_eid_prefixes.extend(eid_range::prefixes_from_permitted_eins(ext.value)?)
                }
                // RFC 5280 §4.2: a critical extension that is not understood fails the certificate.
                _ if ext.critical => {
                    return Err(CertificateError::UnknownCriticalExtension { oid_hex: hex::encode(oid) })
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

fn extension_name(oid: &Oid<'_>) -> &'static str {
    [
        (OID_X509_EXT_SUBJECT_KEY_IDENTIFIER, "subjectKeyIdentifier"),
        (OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER, "authorityKeyIdentifier"),
        (OID_X509_EXT_KEY_USAGE, "keyUsage"),
        (OID_X509_EXT_BASIC_CONSTRAINTS, "basicConstraints"),
        (OID_X509_EXT_CERTIFICATE_POLICIES, "certificatePolicies"),
        (OID_X509_EXT_NAME_CONSTRAINTS, "nameConstraints"),
        (OID_X509_EXT_EXTENDED_KEY_USAGE, "extKeyUsage"),
        (OID_X509_EXT_SUBJECT_ALT_NAME, "subjectAltName"),
        (OID_X509_EXT_CRL_DISTRIBUTION_POINTS, "cRLDistributionPoints"),
    ]
    .into_iter()
    .find(|(known, _)| known == oid)
    .map_or("extension", |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error() {
        assert!(matches!(Certificate::from_der(&[]), Err(CertificateError::Der(_))));
        assert!(matches!(Certificate::from_der(&[0x30, 0x00]), Err(CertificateError::Der(_))));
        assert!(Certificate::from_pem(b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n").is_err());
    }
}
