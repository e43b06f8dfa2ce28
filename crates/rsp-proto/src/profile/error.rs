//! Why a SAIP profile package was rejected or could not be personalized (TCA SAIP v2.3 §8 "Profile Elements",
//! 3GPP TS 31.102 §4.2.2 EF.IMSI, ETSI TS 102 221 §13.2 EF.ICCID). One enum for the whole `profile` domain.

use crate::codec::tlv::{Tag, TlvError};

/// Everything that can go wrong reading, checking or personalizing an unprotected profile package.
///
/// `element_index` counts profile elements from 0 (the ProfileHeader); `offset` is a byte offset in the package.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("empty input: a profile package holds at least a ProfileHeader and a PE-End")]
    Empty,
    /// The bytes of element `element_index`, starting at `offset`, are not strict DER; the TLV error's own
    /// offset counts from `offset`.
    #[error("profile element #{element_index} at offset {offset} is not a valid TLV: {source}")]
    Malformed {
        element_index: usize,
        offset: usize,
        #[source]
        source: TlvError,
    },
    #[error("profile element #{element_index} at offset {offset} has tag {tag}, not a ProfileElement alternative")]
    NotAProfileElement { element_index: usize, offset: usize, tag: Tag },
    /// SAIP §8.1: the first element shall be the ProfileHeader (`A0`).
    #[error("the first profile element is {found}, not the ProfileHeader (A0)")]
    MissingHeader { found: Tag },
    #[error("a second ProfileHeader appears as element #{element_index}")]
    DuplicateHeader { element_index: usize },
    /// SAIP §8.1: the last element shall be PE-End (`AA`).
    #[error("the package ends without a PE-End (AA) element")]
    MissingEnd,
    #[error("more than {max} profile elements: not a profile package this server accepts")]
    TooManyElements { max: usize },
    #[error("profile element #{element_index} at offset {offset} nests TLVs more than {max} levels deep")]
    NestedTooDeep { element_index: usize, offset: usize, max: usize },
    #[error("{count} byte(s) after PE-End at offset {offset}")]
    TrailingData { offset: usize, count: usize },
    #[error("{element} (element #{element_index}) lacks the mandatory field {field}")]
    MissingField { element_index: usize, element: &'static str, field: &'static str },
    #[error("{element} (element #{element_index}): field {field} is invalid: {reason}")]
    BadField { element_index: usize, element: &'static str, field: &'static str, reason: &'static str },
    /// An ICCID in the package (ProfileHeader `iccid` or EF.ICCID) is not a valid ICCID.
    #[error("bad ICCID in {field} (element #{element_index}): {reason}")]
    BadIccid { element_index: usize, field: &'static str, reason: &'static str },
    #[error("bad IMSI in EF.IMSI (element #{element_index}): {reason}")]
    BadImsi { element_index: usize, reason: &'static str },
    #[error("EF.ICCID holds {ef_iccid}, the ProfileHeader names {header}")]
    IccidMismatch { header: String, ef_iccid: String },
    #[error("invalid ICCID: {reason}")]
    InvalidIccid { reason: &'static str },
    #[error("invalid IMSI: {reason}")]
    InvalidImsi { reason: &'static str },
    #[error("invalid PIN/PUK value: {reason}")]
    InvalidPinValue { reason: &'static str },
    /// Personalization asked for a value the template has no place for.
    #[error("the template has no {what} to personalize")]
    NotInTemplate { what: &'static str },
    #[error("{field} in element #{element_index} is {template_len} bytes; the new value is {new_len}")]
    KeyLengthMismatch { element_index: usize, field: &'static str, template_len: usize, new_len: usize },
}

impl ProfileError {
    /// Wraps a TLV error found inside element `element_index` (which starts at `offset`).
    pub(crate) fn malformed(element_index: usize, offset: usize) -> impl Fn(TlvError) -> Self + Copy {
        move |source| ProfileError::Malformed { element_index, offset, source }
    }
}
