//! Wire formats rspd reads and writes: ASN.1 DER for SGP.22 / SGP.32 / SAIP.
//!
//! - [`tlv`]: a strict DER BER-TLV walker that hands out the exact received bytes of every
//!   element, so signatures are verified over what arrived (SGP.22 v2.5 §5.7 ES10 data objects,
//!   §2.6.4 BPP TLVs; ISO/IEC 8825-1 §8.1 encoding of tags and lengths).
//!
//! Codec module rules: no business rules here — types, DER in and out, and byte access.
//! Nothing a peer sends can make this module panic.

pub mod tlv;
