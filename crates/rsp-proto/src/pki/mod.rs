//! Certificates and keys (SGP.22 v2.5 §4.5 PKI and certificate profiles, §2.6.5 signatures).
//!
//! - [`curve`]: the two SGP.22 curves.
//! - [`ecdsa`]: ECDSA-SHA256 sign/verify with raw `r || s` signatures (§2.6.5).
//! - [`certificate`]: an X.509 certificate parsed into what SGP.22 checks (§4.5.2).
//! - [`eid`]: EID check digits; [`eid_range`]: an EUM's permitted EID prefixes.
//! - [`distinguished_name`]: subject names compared RDN by RDN (operator identities).
//! - [`role`]: the RSP roles and their certificate-policy OIDs (§4.5.2).
//! - [`chain`]: SGP.22-specific chain verification (CI → EUM → eUICC, CI → DPauth/DPpb/DP TLS)
//!   and the trusted CI store indexed by `euiccCiPKId`.
//! - [`keystore`]: the private-key trait; [`pem_keystore`]: its PEM-file implementation.
//! - [`test_pki`]: the generator of a complete test PKI (`rspd pki init`).

pub mod certificate;
pub mod chain;
pub mod curve;
pub mod distinguished_name;
pub mod ecdsa;
pub mod eid;
pub mod eid_range;
pub mod keystore;
pub mod pem_keystore;
pub mod role;
pub mod test_pki;

pub use certificate::{Certificate, CertificateError};
pub use chain::{verify_dp_chain, verify_euicc_chain, ChainError, CiStore, DpRole, VerifiedDp, VerifiedEuicc};
pub use curve::Curve;
pub use ecdsa::{EcPublicKey, EcdsaError};
pub use pem_keystore::{PemKeyStore, PemKeyStoreError};
