//! The operator PKI: a CA and one client certificate for mutual TLS on the operator listener
//! (ES2+ and the fleet API). Generic web PKI (RFC 5280), not an SGP.22 profile: P-256,
//! ecdsa-with-SHA256, built with rcgen so that rustls/webpki accept it as a client certificate
//! (end entity with CA:FALSE, extendedKeyUsage clientAuth, subject/authority key identifiers).

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber, PKCS_ECDSA_P256_SHA256,
};
use time::{Duration, OffsetDateTime};

use super::TestPkiError;

/// Common name of the operator client certificate: the operator id rspd sees on the listener.
pub const TEST_OPERATOR_ID: &str = "test-operator";

/// Operator CA and client certificate, PEM encoded, plus the client certificate's DER.
pub(crate) struct OperatorPki {
    pub ca_cert_pem: String,
    pub ca_key_pem: String,
    pub client_cert_pem: String,
    pub client_cert_der: Vec<u8>,
    pub client_key_pem: String,
}

/// Build the operator CA (about 30 years) and a client certificate for `operator_id`
/// (about 2 years), both valid from `not_before`.
pub(crate) fn build(operator_id: &str, not_before: OffsetDateTime) -> Result<OperatorPki, TestPkiError> {
    let ca_err = |source| TestPkiError::Rcgen { what: "operator CA certificate", source };
    let client_err = |source| TestPkiError::Rcgen { what: "operator client certificate", source };

    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(ca_err)?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name = dn(&[
        (DnType::CommonName, "RSPD Test Operator CA"),
        (DnType::OrganizationalUnitName, "TESTCERT"),
        (DnType::OrganizationName, "RSPDTEST"),
    ]);
    ca.serial_number = Some(random_serial()?);
    ca.not_before = not_before;
    ca.not_after = not_before + Duration::days(30 * 365 + 7);
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).map_err(ca_err)?;

    let client_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(client_err)?;
    let mut client = CertificateParams::default();
    client.distinguished_name = dn(&[(DnType::CommonName, operator_id), (DnType::OrganizationName, "RSPDTEST")]);
    client.serial_number = Some(random_serial()?);
    client.not_before = not_before;
    client.not_after = not_before + Duration::days(2 * 365);
    client.is_ca = IsCa::ExplicitNoCa; // BasicConstraints CA:FALSE, and rcgen then writes the SKI
    client.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    client.use_authority_key_identifier_extension = true;
    let issuer = Issuer::from_params(&ca, &ca_key);
    let client_cert = client.signed_by(&client_key, &issuer).map_err(client_err)?;

    Ok(OperatorPki {
        ca_cert_pem: ca_cert.pem(),
        ca_key_pem: ca_key.serialize_pem(),
        client_cert_pem: client_cert.pem(),
        client_cert_der: client_cert.der().to_vec(),
        client_key_pem: client_key.serialize_pem(),
    })
}

fn dn(entries: &[(DnType, &str)]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (ty, value) in entries {
        dn.push(ty.clone(), *value);
    }
    dn
}

/// 16 random octets with the top bit clear and never all zero: a positive serial.
fn random_serial() -> Result<SerialNumber, TestPkiError> {
    let mut bytes = [0u8; 16];
    openssl::rand::rand_bytes(&mut bytes).map_err(TestPkiError::openssl("operator certificate serial number"))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}
