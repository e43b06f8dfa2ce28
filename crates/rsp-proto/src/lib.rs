//! rsp-proto — the wire formats of remote SIM provisioning, apart from any server (issue 11 item 1; modelled on
//! hickory-dns' `crates/proto`): what travels between an SM-DP+ / eIM, an LPA / IPA and an eUICC, and the
//! crypto that protects it. No HTTP, database or async runtime here.
//!
//! - [`codec`]: ASN.1 DER for SGP.22 v2.5 / SGP.32 v1.2 messages, a strict TLV walker, and
//!   [`codec::Received`] (a message decoded once, next to the bytes its signature covers).
//! - [`pki`]: SGP.22 §4.5 certificate chains, raw `r||s` ECDSA on both curves, the key-store trait and its PEM
//!   implementation, the test PKI generator.
//! - [`bsp`]: SGP.22 §2.6.4 BPP protection — the SM-DP+ builder and the eUICC-side opener.
//! - [`profile`]: SAIP (TCA) profile packages: parse, check, personalize, re-encode.
//! - [`ids`]: the checked identifiers — [`ids::Eid`], [`ids::Iccid`], [`ids::MatchingId`],
//!   [`ids::TransactionId`], [`ids::ActivationCode`].
#![forbid(unsafe_code)]

pub mod bsp;
pub mod codec;
pub mod ids;
pub mod pki;
pub mod profile;
