//! The test PKI of `rspd pki init`: a complete SGP.22 §4.5 hierarchy for development and tests.
//! NEVER production keys.
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
//! Certificates are PEM, private keys PKCS#8 PEM.

mod paths;

pub use paths::TestPkiPaths;
mod stub;
pub use stub::{generate, GeneratedTestPki, TestPkiError, TestPkiRequest};
