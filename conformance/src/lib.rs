//! rsp-conformance: the test side of rspd.
//!
//! - [`euicc`]: a software eUICC (SGP.22 v2.5 ES10b: the eUICC side of a consumer download);
//! - [`lpa`]: the LPA: activation codes, an ES9+ HTTPS JSON client and the download procedure.
//!
//! Still to come: the SGP.32 IoT eUICC, the IPA driver that speaks ESipa to any eIM
//! URL, SGP.23-style test suites and the load generator. The crate depends on `rspd` only for shared codecs
//! and crypto, never for server internals, so what it checks is what a real peer sees on the wire.
#![forbid(unsafe_code)]

pub mod euicc;
pub mod ipa;
pub mod lpa;
