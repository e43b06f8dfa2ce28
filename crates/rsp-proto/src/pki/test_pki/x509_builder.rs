//! OpenSSL mechanics of the SGP.22 hierarchy: EC keys on an SGP.22 §2.6.5.1 curve and X.509 v3
//! certificates signed ecdsa-with-SHA256 carrying the extensions of a
//! [`Profile`](super::sgp22_profile::Profile) (SGP.22 v2.5 §4.5.2). One code path for NIST
//! P-256 and brainpoolP256r1.

use openssl::asn1::{Asn1Integer, Asn1Object, Asn1OctetString, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{Asn1Flag, EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName, SubjectKeyIdentifier,
};
use openssl::x509::{X509Extension, X509Name, X509NameBuilder, X509NameRef, X509Ref, X509};

use super::addresses::TlsName;
use super::der;
use super::sgp22_profile::Profile;
use super::TestPkiError;
use crate::pki::role::Role;
use crate::pki::Curve;

/// RFC 5280 §4.2.1.4.
const ID_CE_CERTIFICATE_POLICIES: &str = "2.5.29.32";
/// RFC 5280 §4.2.1.10.
const ID_CE_NAME_CONSTRAINTS: &str = "2.5.29.30";

/// Seconds in a day.
const DAY: i64 = 24 * 60 * 60;

/// What distinguishes one certificate from another of the same role.
pub(crate) struct CertRequest<'a> {
    pub role: Role,
    pub curve: Curve,
    pub subject: &'a X509NameRef,
    /// subjectAltName dNSName / iPAddress entries (DP TLS).
    pub tls_names: &'a [TlsName],
    /// The permitted directoryName of the NameConstraints (EUM: O and serialNumber = EID prefix).
    pub permitted_subtree: Option<&'a X509NameRef>,
    /// notBefore as Unix time; notAfter = notBefore + the profile's validity.
    pub not_before_unix: i64,
}

/// The signer of a certificate; `None` in [`issue`] means self-signed.
pub(crate) struct Issuer<'a> {
    pub cert: &'a X509Ref,
    pub key: &'a PKey<Private>,
}

/// A fresh EC key pair on `curve`, with the curve encoded as a named curve (OID), never as
/// explicit parameters.
pub(crate) fn generate_key(curve: Curve) -> Result<PKey<Private>, TestPkiError> {
    let inner = || -> Result<PKey<Private>, ErrorStack> {
        let mut group = EcGroup::from_curve_name(curve.nid())?;
        group.set_asn1_flag(Asn1Flag::NAMED_CURVE);
        PKey::from_ec_key(EcKey::generate(&group)?)
    };
    inner().map_err(TestPkiError::openssl(format!("{curve} key")))
}

/// A distinguished name from (attribute, value) pairs, in that order.
pub(crate) fn name(entries: &[(Nid, &str)]) -> Result<X509Name, ErrorStack> {
    let mut builder = X509NameBuilder::new()?;
    for (nid, value) in entries {
        builder.append_entry_by_nid(*nid, value)?;
    }
    Ok(builder.build())
}

/// Issue the certificate of `req.role` for `subject_key`, signed by `issuer` (or self-signed).
pub(crate) fn issue(
    req: &CertRequest<'_>,
    subject_key: &PKey<Private>,
    issuer: Option<&Issuer<'_>>,
) -> Result<X509, TestPkiError> {
    let profile = req.role.profile();
    let policies = der::certificate_policies(profile.policy)
        .ok_or_else(|| TestPkiError::InvalidOid { oid: profile.policy.to_string() })?;
    build(req, &profile, &policies, subject_key, issuer).map_err(TestPkiError::openssl(format!(
        "{} {} certificate",
        req.curve,
        req.role.name()
    )))
}

fn build(
    req: &CertRequest<'_>,
    profile: &Profile,
    policies_der: &[u8],
    subject_key: &PKey<Private>,
    issuer: Option<&Issuer<'_>>,
) -> Result<X509, ErrorStack> {
    let mut b = X509::builder()?;
    b.set_version(2)?; // X.509 v3
    let serial = random_serial()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(req.subject)?;
    b.set_issuer_name(issuer.map_or(req.subject, |i| i.cert.subject_name()))?;
    b.set_pubkey(subject_key)?;
    let not_after = req.not_before_unix + i64::from(profile.validity_days) * DAY;
    let (not_before, not_after) = (Asn1Time::from_unix(req.not_before_unix)?, Asn1Time::from_unix(not_after)?);
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;

    // Extensions in the order of the SGP.26 certificates: key identifiers first.
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
    let aki = if profile.authority_key_id {
        let issuer_cert = issuer.map(|i| i.cert);
        Some(AuthorityKeyIdentifier::new().keyid(true).build(&b.x509v3_context(issuer_cert, None))?)
    } else {
        None
    };
    if let Some(aki) = aki {
        b.append_extension(aki)?;
    }
    b.append_extension(ski)?;

    if let Some(ca) = profile.basic_constraints {
        let mut bc = BasicConstraints::new();
        bc.critical().ca();
        if let Some(n) = ca.path_len {
            bc.pathlen(n);
        }
        b.append_extension(bc.build()?)?;
    }

    let mut ku = KeyUsage::new();
    ku.critical();
    if profile.key_usage.digital_signature {
        ku.digital_signature();
    }
    if profile.key_usage.key_cert_sign {
        ku.key_cert_sign();
    }
    if profile.key_usage.crl_sign {
        ku.crl_sign();
    }
    b.append_extension(ku.build()?)?;

    if profile.tls_extended_key_usage {
        b.append_extension(ExtendedKeyUsage::new().critical().server_auth().client_auth().build()?)?;
    }

    b.append_extension(extension_from_der(ID_CE_CERTIFICATE_POLICIES, profile.policy_critical, policies_der)?)?;

    if !req.tls_names.is_empty() || profile.registered_id.is_some() {
        let mut san = SubjectAlternativeName::new();
        for n in req.tls_names {
            match n {
                TlsName::Dns(d) => san.dns(d),
                TlsName::Ip(ip) => san.ip(&ip.to_string()),
            };
        }
        if let Some(rid) = profile.registered_id {
            san.rid(rid);
        }
        let ext = san.build(&b.x509v3_context(issuer.map(|i| i.cert), None))?;
        b.append_extension(ext)?;
    }

    if profile.eid_name_constraints {
        if let Some(permitted) = req.permitted_subtree {
            let value = der::name_constraints_permitted_dir_name(&permitted.to_der()?);
            b.append_extension(extension_from_der(ID_CE_NAME_CONSTRAINTS, true, &value)?)?;
        }
    }

    b.sign(issuer.map_or(subject_key, |i| i.key), MessageDigest::sha256())?;
    Ok(b.build())
}

/// An extension whose value is already DER encoded.
fn extension_from_der(oid: &str, critical: bool, value: &[u8]) -> Result<X509Extension, ErrorStack> {
    let oid = Asn1Object::from_str(oid)?;
    let value = Asn1OctetString::new_from_bytes(value)?;
    X509Extension::new_from_der(&oid, critical, &value)
}

/// A positive random serial of exactly 127 bits (16 DER octets, top bit clear; RFC 5280 §4.1.2.2).
fn random_serial() -> Result<Asn1Integer, ErrorStack> {
    let mut bn = BigNum::new()?;
    bn.rand(127, MsbOption::ONE, false)?;
    bn.to_asn1_integer()
}
