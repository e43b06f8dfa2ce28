//! One complete SGP.22 test hierarchy on one curve (SGP.22 v2.5 §4.5.1 PKI, §4.5.2 certificate
//! profiles): CI → EUM → sample eUICC, and CI → DPauth, DPpb, DP TLS. Keys and certificates are
//! built in memory; `write.rs` puts them on disk.

use openssl::error::ErrorStack;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::{X509Name, X509};

use super::addresses::TlsName;
use super::eid::TEST_EID_PREFIX;
use super::x509_builder::{generate_key, issue, name, CertRequest, Issuer};
use super::TestPkiError;
use crate::pki::role::Role;
use crate::pki::Curve;

/// Organisation of the test EUM: the eUICC subject's O, and the O of the EUM's permitted subtree.
pub const TEST_EUM_ORGANIZATION: &str = "RSPD Test EUM";
/// Organisation in the SM-DP+ certificates' subjects.
pub const TEST_SMDP_ORGANIZATION: &str = "RSPD TEST";
/// ISO 3166 user-assigned code: no real country, clearly a test value.
const TEST_COUNTRY: &str = "XX";

/// A private key and its certificate.
pub(crate) struct Issued {
    pub cert: X509,
    pub key: PKey<Private>,
}

impl Issued {
    fn as_issuer(&self) -> Issuer<'_> {
        Issuer { cert: &self.cert, key: &self.key }
    }
}

/// The six certificates of one curve.
pub(crate) struct Sgp22Hierarchy {
    pub ci: Issued,
    pub eum: Issued,
    pub euicc: Issued,
    pub dpauth: Issued,
    pub dppb: Issued,
    pub dptls: Issued,
}

/// Build the hierarchy on `curve`; `eid` is the sample eUICC's EID (under [`TEST_EID_PREFIX`]),
/// `tls_names` the DP TLS subjectAltName entries (the first is its CN).
pub(crate) fn build(
    curve: Curve,
    eid: &str,
    tls_names: &[TlsName],
    not_before_unix: i64,
) -> Result<Sgp22Hierarchy, TestPkiError> {
    let names = SubjectNames::new(eid, tls_names).map_err(TestPkiError::openssl(format!("{curve} subject names")))?;

    let req =
        |role, subject| CertRequest { role, curve, subject, tls_names: &[], permitted_subtree: None, not_before_unix };
    let new = |req: CertRequest<'_>, issuer: Option<&Issued>| -> Result<Issued, TestPkiError> {
        let key = generate_key(curve)?;
        let issuer = issuer.map(Issued::as_issuer);
        let cert = issue(&req, &key, issuer.as_ref())?;
        Ok(Issued { cert, key })
    };

    let ci = new(req(Role::Ci, &names.ci), None)?;
    let eum = new(CertRequest { permitted_subtree: Some(&names.eum_range), ..req(Role::Eum, &names.eum) }, Some(&ci))?;
    let euicc = new(req(Role::Euicc, &names.euicc), Some(&eum))?;
    let dpauth = new(req(Role::DpAuth, &names.smdp), Some(&ci))?;
    let dppb = new(req(Role::DpPb, &names.smdp), Some(&ci))?;
    let dptls = new(CertRequest { tls_names, ..req(Role::DpTls, &names.dptls) }, Some(&ci))?;
    Ok(Sgp22Hierarchy { ci, eum, euicc, dpauth, dppb, dptls })
}

/// Subjects of the hierarchy, laid out like those of the SGP.26 test certificates.
struct SubjectNames {
    ci: X509Name,
    eum: X509Name,
    /// The EUM's permitted subtree: O = EUM organisation, serialNumber = EID prefix.
    eum_range: X509Name,
    euicc: X509Name,
    smdp: X509Name,
    dptls: X509Name,
}

impl SubjectNames {
    fn new(eid: &str, tls_names: &[TlsName]) -> Result<Self, ErrorStack> {
        let tls_cn = tls_names
            .first()
            .map(TlsName::text)
            .filter(|cn| cn.len() <= 64) // ub-common-name
            .unwrap_or_else(|| "localhost".to_string());
        Ok(SubjectNames {
            ci: name(&[
                (Nid::COMMONNAME, "RSPD Test CI"),
                (Nid::ORGANIZATIONALUNITNAME, "TESTCERT"),
                (Nid::ORGANIZATIONNAME, "RSPDTEST"),
                (Nid::COUNTRYNAME, TEST_COUNTRY),
            ])?,
            eum: name(&[
                (Nid::COUNTRYNAME, TEST_COUNTRY),
                (Nid::ORGANIZATIONNAME, TEST_EUM_ORGANIZATION),
                (Nid::COMMONNAME, "RSPD Test EUM"),
            ])?,
            eum_range: name(&[(Nid::ORGANIZATIONNAME, TEST_EUM_ORGANIZATION), (Nid::SERIALNUMBER, TEST_EID_PREFIX)])?,
            euicc: name(&[
                (Nid::COUNTRYNAME, TEST_COUNTRY),
                (Nid::ORGANIZATIONNAME, TEST_EUM_ORGANIZATION),
                (Nid::SERIALNUMBER, eid),
                (Nid::COMMONNAME, "RSPD Test eUICC"),
            ])?,
            smdp: name(&[(Nid::ORGANIZATIONNAME, TEST_SMDP_ORGANIZATION), (Nid::COMMONNAME, "RSPD TEST SM-DP+")])?,
            dptls: name(&[(Nid::ORGANIZATIONNAME, TEST_SMDP_ORGANIZATION), (Nid::COMMONNAME, &tls_cn)])?,
        })
    }
}

/// One more test eUICC (SGP.22 v2.5 §4.5.2.1 CERT.EUICC.ECDSA) issued by an existing EUM: `eid` in the subject
/// serialNumber, a fresh key on the EUM's curve. For simulated fleets (many distinct EIDs under one test PKI).
pub fn issue_euicc(
    curve: Curve,
    eum_cert: &openssl::x509::X509Ref,
    eum_key: &PKey<Private>,
    eid: &str,
    not_before_unix: i64,
) -> Result<(X509, PKey<Private>), TestPkiError> {
    let subject = name(&[
        (Nid::COUNTRYNAME, TEST_COUNTRY),
        (Nid::ORGANIZATIONNAME, TEST_EUM_ORGANIZATION),
        (Nid::SERIALNUMBER, eid),
        (Nid::COMMONNAME, "RSPD Test eUICC"),
    ])
    .map_err(TestPkiError::openssl(format!("{curve} eUICC subject")))?;
    let req = CertRequest {
        role: Role::Euicc,
        curve,
        subject: &subject,
        tls_names: &[],
        permitted_subtree: None,
        not_before_unix,
    };
    let key = generate_key(curve)?;
    let cert = issue(&req, &key, Some(&Issuer { cert: eum_cert, key: eum_key }))?;
    Ok((cert, key))
}
