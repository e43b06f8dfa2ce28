//! Wire formats rspd reads and writes: ASN.1 DER for SGP.22 v2.5 / SGP.32 v1.2 / SAIP.
//!
//! - [`tlv`]: a strict DER BER-TLV walker that hands out the exact received bytes of every
//!   element, so signatures are verified over what arrived (SGP.22 v2.5 §5.7 ES10 data objects,
//!   §2.6.4 BPP TLVs; ISO/IEC 8825-1 §8.1 encoding of tags and lengths).
//! - [`der`]: [`decode`] / [`encode`] for the typed messages (strict DER, tolerance for unknown
//!   extension fields where a newer peer extends a type) and [`Received`] (typed value + received bytes).
//! - [`sgp22`]: SGP.22 v2.5 `RSPDefinitions` types (ES9+, ES10b, ES8+).
//! - [`sgp32`]: SGP.32 v1.2 `SGP32Definitions` types: ESipa messages and wrappers, eIM packages (PSMOs, eCOs),
//!   signed package results (received bytes for `euiccSignEPR`), IPA/eUICC data, download triggers, eIM
//!   configuration.
//!
//! ## Crate choice: `rasn` (pinned `=0.30.0`, the newest 0.30.x)
//! SGP.22 / SGP.32 are `AUTOMATIC TAGS` modules full of CHOICEs (many of them tagged) and extensible
//! SEQUENCEs. `rasn` derives SEQUENCE, CHOICE, tags (implicit/explicit, all classes), SIZE and DEFAULT
//! from attributes, so each Rust type reads like its ASN.1 line. asn1-rs 0.7 has no CHOICE derive and its
//! derived sequences ignore leftover bytes; `der` 0.8 would need hand-written wrappers for every tagged
//! top-level type. rasn's own gaps are closed in [`der::decode`]: it runs the strict [`tlv`] walker first
//! (non-minimal lengths, indefinite lengths, trailing bytes), removes unknown extension TLVs for the types a
//! newer peer extends (rasn rejects them; `#[non_exhaustive]` is therefore not used), and re-encodes to
//! reject BER-only encodings such as an encoded DEFAULT. Tagged CHOICEs are written
//! `#[rasn(choice, tag(explicit(context, N)))]` (X.680 §31.2.7: a tagged CHOICE is always EXPLICIT).
//!
//! ## Agreement with `asn1/*.asn`
//! The Rust types are written by hand from `asn1/RSPDefinitions.asn` and `asn1/SGP32Definitions.asn`
//! (which are printed from asn1play's compiled GSMA modules by `conformance/py/asn1play_dump.py`); each
//! type's doc comment quotes its ASN.1 line. The test that they agree is `crates/rsp-proto/tests/proto/asn1play_crosscheck.rs`:
//! rspd-encoded values are decoded by asn1play (pycrate) and values encoded by asn1play are decoded here.
//!
//! Codec module rules: no business rules here — types, DER in and out, and byte access.
//! Nothing a peer sends can make this module panic.

pub mod der;
pub mod sgp22;
pub mod sgp32;
pub mod tlv;

#[cfg(test)]
mod tests;

pub use der::{decode, encode, CodecError, Known, Message, Received};

/// Implements [`Message`] for a type: `message!(Type, "AsnName")` or with an extension rule.
macro_rules! message {
    ($ty:ty, $name:literal) => {
        impl $crate::codec::der::Message for $ty {
            const NAME: &'static str = $name;
        }
    };
    ($ty:ty, $name:literal, $known:expr) => {
        impl $crate::codec::der::Message for $ty {
            const NAME: &'static str = $name;
            const KNOWN: Option<&'static $crate::codec::der::Known> = Some($known);
        }
    };
}
pub(crate) use message;
