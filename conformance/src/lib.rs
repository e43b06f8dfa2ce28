//! rsp-conformance: the test side of rspd.
//!
//! This crate will hold the software eUICC (SGP.22 ES10 and SGP.32 IoT), the LPA and IPA
//! drivers that speak ES9+ and ESipa to any SM-DP+/eIM URL, SGP.23-style test suites and the
//! load generator. It depends on `rspd` only for shared codecs and crypto, never for server
//! internals, so what it checks is what a real peer sees on the wire.
#![forbid(unsafe_code)]
