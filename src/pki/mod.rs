//! Certificates and keys (SGP.22 §4.5 certificate profiles, §2.6.5 signatures).
//!
//! For now: the curves rspd supports and the generator of a complete test PKI
//! (`rspd pki init`). Chain checks and the key store follow with the codec issue.

pub mod curve;
pub mod keystore;
pub mod test_pki;

pub use curve::Curve;
