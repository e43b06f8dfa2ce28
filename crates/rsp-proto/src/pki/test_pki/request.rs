//! What `rspd pki init` asks for ([`TestPkiRequest`]) and what it produced ([`GeneratedTestPki`]).

use std::path::PathBuf;

use super::TestPkiPaths;
use crate::pki::Curve;

/// A request to generate a test PKI.
#[derive(Debug, Clone)]
pub struct TestPkiRequest {
    /// Output directory; created if missing (its parent must exist).
    pub out: PathBuf,
    /// One SGP.22 hierarchy per curve (SGP.22 §2.6.5.1); duplicates are ignored.
    pub curves: Vec<Curve>,
    /// SM-DP+ addresses, `host` or `host:port` (`[v6]:port` for an IPv6 literal with a port).
    /// Their hosts go into the DP TLS certificate's subjectAltName.
    pub addresses: Vec<String>,
    /// Replace an existing test PKI in `out`.
    pub force: bool,
}

/// The result of [`generate`](super::generate).
#[derive(Debug, Clone)]
pub struct GeneratedTestPki {
    /// Where every file is.
    pub paths: TestPkiPaths,
    /// The curves generated, in request order, without duplicates.
    pub curves: Vec<Curve>,
    /// EID of the sample eUICC (32 digits, valid check digits, under the test EUM's prefix).
    pub eid: String,
    /// Common name of the operator client certificate.
    pub operator_id: String,
    /// Lower-case hex SHA-256 over the DER of the operator client certificate.
    pub operator_client_fingerprint_sha256: String,
}
