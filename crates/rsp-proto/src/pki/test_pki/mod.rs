//! The test PKI of `rspd pki init`: a complete SGP.22 §4.5 hierarchy for development and tests.
//! NEVER production keys.
//!
//! Per curve (SGP.22 v2.5 §2.6.5.1: NIST P-256, brainpoolP256r1) the SGP.22 v2.5 §4.5.1 PKI with
//! the §4.5.2 certificate profiles ([`sgp22_profile`]): CI → EUM → one sample eUICC, and
//! CI → DPauth, DPpb, DP TLS. Besides it, an operator CA and client certificate for mutual TLS
//! on the operator listener (not SGP.22). How the files are written: `write.rs`.
//!
//! Layout under the output directory (see [`TestPkiPaths`]):
//! ```text
//! TEST-PKI.txt                   marker: says this is a test PKI and how it was made
//! nist/ brainpool/               one hierarchy per curve
//!   ci.pem ci.key                CI (root)
//!   eum.pem eum.key              EUM, with the permitted EID range
//!   euicc.pem euicc.key          one sample eUICC
//!   dpauth.pem dpauth.key        SM-DP+ authentication (DPauth)
//!   dppb.pem dppb.key            SM-DP+ profile binding (DPpb)
//!   dptls.pem dptls.key          SM-DP+ TLS server certificate (SAN = the addresses)
//! operator/
//!   ca.pem ca.key                operator CA (mutual TLS on the operator listener)
//!   client.pem client.key        one operator client certificate
//! ```
//! Certificates are PEM, private keys PKCS#8 PEM (mode 0600).
//!
//! Files, one job each: `request.rs` (API types), `addresses.rs` (SM-DP+ addresses → TLS
//! names), `eid.rs` (EID check digits), `sgp22_profile.rs` (extensions per role), `der.rs` (the
//! two hand-encoded extensions), `x509_builder.rs` (OpenSSL keys and certificates),
//! `sgp22_hierarchy.rs` (one curve's six certificates), `operator.rs` (rcgen operator PKI),
//! `marker.rs` (TEST-PKI.txt), `write.rs` (staged, all-or-nothing writing), `error.rs`.

mod addresses;
mod der;
pub mod eid;
mod error;
mod marker;
mod operator;
mod paths;
mod request;
pub mod sgp22_hierarchy;
pub mod sgp22_profile;
mod write;
mod x509_builder;

use std::path::PathBuf;

use openssl::sha::sha256;
use time::{Duration, OffsetDateTime};

pub use eid::TEST_EID_PREFIX;
pub use error::TestPkiError;
pub use operator::TEST_OPERATOR_ID;
pub use paths::TestPkiPaths;
pub use request::{GeneratedTestPki, TestPkiRequest};
pub use sgp22_hierarchy::{TEST_EUM_ORGANIZATION, TEST_SMDP_ORGANIZATION};

use crate::pki::Curve;

/// How far in the past notBefore lies, to tolerate clock skew between hosts.
const CLOCK_SKEW_ALLOWANCE: Duration = Duration::hours(1);

/// Generate a test PKI as `req` asks, into `req.out`.
///
/// Refuses to touch an existing test PKI unless `req.force`, and never replaces a non-empty
/// directory that is not a test PKI. On error nothing is left at `req.out` that looks complete.
pub fn generate(req: &TestPkiRequest) -> Result<GeneratedTestPki, TestPkiError> {
    let curves = unique_curves(&req.curves);
    if curves.is_empty() {
        return Err(TestPkiError::NoCurve);
    }
    let tls_names = addresses::tls_names(&req.addresses)?;
    let out = resolve_out(&req.out)?;
    let destination = write::check_destination(&out, req.force)?;

    let now = OffsetDateTime::now_utc();
    let not_before = now - CLOCK_SKEW_ALLOWANCE;
    let eid = eid::sample_euicc_eid();
    let hierarchies = curves
        .iter()
        .map(|&curve| sgp22_hierarchy::build(curve, &eid, &tls_names, not_before.unix_timestamp()).map(|h| (curve, h)))
        .collect::<Result<Vec<_>, _>>()?;
    let operator = operator::build(TEST_OPERATOR_ID, not_before)?;
    let fingerprint = hex::encode(sha256(&operator.client_cert_der));

    let marker = marker::marker_text(&marker::MarkerFacts {
        generated_at: now,
        curves: &curves,
        addresses: &req.addresses,
        tls_names: &tls_names,
        eid: &eid,
        operator_id: TEST_OPERATOR_ID,
        operator_client_fingerprint_sha256: &fingerprint,
    });
    write::write_pki(&out, destination, &write::Contents { hierarchies: &hierarchies, operator: &operator, marker })?;

    Ok(GeneratedTestPki {
        paths: TestPkiPaths::new(req.out.clone()),
        curves,
        eid,
        operator_id: TEST_OPERATOR_ID.to_string(),
        operator_client_fingerprint_sha256: fingerprint,
    })
}

fn unique_curves(curves: &[Curve]) -> Vec<Curve> {
    let mut unique = Vec::new();
    for &c in curves {
        if !unique.contains(&c) {
            unique.push(c);
        }
    }
    unique
}

/// An existing output path is made absolute (so `.` has a name to stage next to); a missing one
/// is used as given.
fn resolve_out(out: &std::path::Path) -> Result<PathBuf, TestPkiError> {
    if out.exists() {
        out.canonicalize().map_err(|e| TestPkiError::io("resolve", out, e))
    } else {
        Ok(out.to_path_buf())
    }
}

/// A test eUICC issued by [`issue_test_euicc`]: EID, CERT.EUICC.ECDSA and SK.EUICC.ECDSA as PEM.
#[derive(Debug, Clone)]
pub struct TestEuicc {
    pub eid: String,
    pub certificate_pem: Vec<u8>,
    pub private_key_pem: Vec<u8>,
}

/// Issues another eUICC under the test PKI at `paths` (its EUM of `curve` signs): EID = [`TEST_EID_PREFIX`] +
/// `serial` as 22 digits + check digits. Distinct serials give distinct devices (simulated fleets).
pub fn issue_test_euicc(paths: &TestPkiPaths, curve: Curve, serial: u64) -> Result<TestEuicc, TestPkiError> {
    let read = |path: PathBuf| std::fs::read(&path).map_err(|e| TestPkiError::io("read", path, e));
    let eum_cert = openssl::x509::X509::from_pem(&read(paths.eum_cert(curve))?)
        .map_err(TestPkiError::openssl(format!("{curve} EUM certificate")))?;
    let eum_key = openssl::pkey::PKey::private_key_from_pem(&read(paths.eum_key(curve))?)
        .map_err(TestPkiError::openssl(format!("{curve} EUM key")))?;
    let body = format!("{TEST_EID_PREFIX}{serial:022}");
    let eid = format!("{body}{}", crate::pki::eid::check_digits(&body).unwrap_or_default());
    let not_before = (OffsetDateTime::now_utc() - CLOCK_SKEW_ALLOWANCE).unix_timestamp();
    let (cert, key) = sgp22_hierarchy::issue_euicc(curve, &eum_cert, &eum_key, &eid, not_before)?;
    Ok(TestEuicc {
        eid,
        certificate_pem: cert.to_pem().map_err(TestPkiError::openssl("eUICC certificate PEM"))?,
        private_key_pem: key.private_key_to_pem_pkcs8().map_err(TestPkiError::openssl("eUICC key PEM"))?,
    })
}
