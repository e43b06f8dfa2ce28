//! rsp-conformance: the test side of rspd.
//!
//! - [`euicc`]: a software eUICC (SGP.22 v2.5 ES10b: the eUICC side of a consumer download);
//! - [`lpa`]: the LPA: activation codes, an ES9+ HTTPS JSON client and the download procedure;
//! - [`ipa`]: the SGP.32 v1.2 IPA driver: ESipa (both bindings) to any eIM URL, eUICC packages, IPA/eUICC data,
//!   direct and indirect profile downloads (the soft eUICC's SGP.32 side is in [`euicc::eim`]).
//!
//! Still to come: SGP.23-style test suites and the load generator. The crate depends on `rspd` only for shared codecs
//! and crypto, never for server internals, so what it checks is what a real peer sees on the wire.
#![forbid(unsafe_code)]

pub mod euicc;
pub mod ipa;
pub mod load;
pub mod lpa;
