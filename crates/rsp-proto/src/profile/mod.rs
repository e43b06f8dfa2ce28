//! SAIP profile packages: parse, check, read, personalize and re-encode unprotected profile packages
//! (TCA "eUICC Profile Package: Interoperable Format Technical Specification" v2.3 / v3.x §8, the subset in
//! `asn1/PEDefinitions.asn`; EF.ICCID per ETSI TS 102 221 §13.2, EF.IMSI per 3GPP TS 31.102 §4.2.2).
//!
//! - [`package`]: the ProfileElement sequence (§8.1), raw bytes kept, byte-identical re-encoding.
//! - [`elements`]: the ProfileElement alternatives by tag.
//! - [`header`]: ProfileHeader (§8.3).
//! - `files`: File content (§8.3.2) — EF.ICCID in PE-MF, EF.IMSI in PE-USIM.
//! - [`aka`]: PE-AKAParameter (§8.6). [`pins`]: PE-PINCodes / PE-PUKCodes (§8.5).
//! - [`identities`]: [`Iccid`] and [`Imsi`]. [`secret`]: values that never show in `Debug`.
//! - [`personalize`]: writing ICCID, IMSI, Ki/OPc and PIN/PUK values into a template.
//!
//! Encoding rule: the strict DER walker of [`crate::codec::tlv`] is used as is — the public TS.48 profiles
//! are minimal DER throughout, so no lenient mode exists.

pub mod aka;
pub mod elements;
pub mod error;
pub(crate) mod files;
pub mod header;
pub mod identities;
pub mod package;
pub mod personalize;
pub mod pins;
pub mod secret;
pub(crate) mod tree;

pub use aka::{AkaParameter, AlgoConfiguration, AlgoParameter, AlgorithmId};
pub use elements::{ProfileElement, ProfileElementKind};
pub use error::ProfileError;
pub use header::ProfileHeader;
pub use identities::{Iccid, Imsi};
pub use package::ProfilePackage;
pub use personalize::Personalization;
pub use pins::{PinConfiguration, PinValue, PukConfiguration, PukValue};
pub use secret::Secret;
