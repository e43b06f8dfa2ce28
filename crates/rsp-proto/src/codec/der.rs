//! Strict DER in and out for the typed ASN.1 messages (X.690 §10 DER; SGP.22 v2.5 §5.7 / §6.6,
//! SGP.32 v1.2 §6.3 bindings carry DER), plus exact received bytes of signed parts.
//!
//! [`decode`] = the strict [`tlv`] walk over every constructed element (definite, minimal lengths, no
//! trailing bytes) → removal of extension fields a newer peer added that rspd does not know (only for
//! types that declare [`Message::KNOWN`], e.g. `EUICCInfo2`) → the typed `rasn` DER decode → a re-encode
//! that must reproduce the input byte for byte, which rejects what rasn alone lets through (encoded
//! DEFAULT values, non-minimal INTEGERs, wrong SET OF order).
//!
//! [`Received`] keeps a signed part's bytes exactly as received, next to its typed value: signatures are
//! verified over those bytes (SGP.22 v2.5 §5.7.13 `euiccSigned1`, §5.7.5 `euiccSigned2`, …).

use super::tlv::{self, Tag, TlvError};

/// Why bytes are not an acceptable DER encoding of the expected type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("malformed DER: {0}")]
    Tlv(#[from] TlvError),
    #[error("{type_name}: {message}")]
    Decode { type_name: &'static str, message: String },
    #[error("{type_name}: valid BER but not DER (re-encoding differs, e.g. an encoded DEFAULT value)")]
    NotCanonical { type_name: &'static str },
    #[error("{type_name}: cannot encode: {message}")]
    Encode { type_name: &'static str, message: String },
    #[error("missing element {path} in the received message")]
    MissingElement { path: String },
    #[error("constructed elements nest more than {max} levels deep")]
    NestedTooDeep { max: usize },
}

/// Deepest nesting of constructed elements accepted in a received message (issue 10 item 8). SGP.22/SGP.32
/// messages with their certificates nest about fifteen levels.
pub const MAX_NESTING_DEPTH: usize = 64;

/// Which child tags of a constructed element rspd knows; the others are extension fields from a
/// newer spec version and are dropped before the typed decode. `nested` applies a rule to the
/// **first** child with that tag (later siblings with the same tag, e.g. certificates, are kept as is).
#[derive(Debug)]
pub struct Known {
    /// `None`: keep every child (only recurse through `nested`).
    pub tags: Option<&'static [u32]>,
    pub nested: &'static [(u32, &'static Known)],
}

/// A top-level (or signed-part) ASN.1 type rspd decodes from a peer.
pub trait Message: rasn::Decode + rasn::Encode {
    /// The ASN.1 type name as in the spec (for errors and the asn1play cross-check).
    const NAME: &'static str;
    /// Extension tolerance rule for types a newer peer extends (`None`: decode as is).
    const KNOWN: Option<&'static Known> = None;
}

/// DER-encodes a value.
pub fn encode<T: Message>(value: &T) -> Result<Vec<u8>, CodecError> {
    rasn::der::encode(value).map_err(|e| CodecError::Encode { type_name: T::NAME, message: e.to_string() })
}

/// Decodes exactly one strict-DER `T` from `bytes` (see the module doc for the steps).
pub fn decode<T: Message>(bytes: &[u8]) -> Result<T, CodecError> {
    let top = tlv::parse_single(bytes)?;
    check_tree(top, MAX_NESTING_DEPTH)?;
    let pruned;
    let input = match T::KNOWN {
        Some(rule) => {
            pruned = prune(top, rule)?;
            &pruned[..]
        }
        None => bytes,
    };
    let value: T =
        rasn::der::decode(input).map_err(|e| CodecError::Decode { type_name: T::NAME, message: e.to_string() })?;
    if encode(&value)? != input {
        return Err(CodecError::NotCanonical { type_name: T::NAME });
    }
    Ok(value)
}

/// Walks every constructed element so that any non-DER header anywhere is an error. Depth first, in
/// document order (the first bad header is the one reported), with an explicit stack rather than recursion:
/// a peer's nesting depth (two bytes a level) must not be able to overflow the thread's stack, and nesting past
/// `max_depth` is refused (the typed decode after this walk recurses per level).
fn check_tree(top: tlv::Tlv<'_>, max_depth: usize) -> Result<(), CodecError> {
    let mut pending = vec![(top, 0usize)];
    while let Some((t, depth)) = pending.pop() {
        if t.tag().is_constructed() {
            if depth >= max_depth {
                return Err(CodecError::NestedTooDeep { max: max_depth });
            }
            pending.extend(t.children()?.into_iter().rev().map(|c| (c, depth + 1)));
        }
    }
    Ok(())
}

/// Rebuilds `t` without the children its rule does not know.
fn prune(t: tlv::Tlv<'_>, rule: &Known) -> Result<Vec<u8>, TlvError> {
    if !t.tag().is_constructed() {
        return Ok(t.raw().to_vec());
    }
    let mut value = Vec::with_capacity(t.value().len());
    let mut seen: Vec<u32> = Vec::new();
    for c in t.children()? {
        let tag = c.tag().0;
        if rule.tags.is_some_and(|known| !known.contains(&tag)) {
            continue;
        }
        let first = !seen.contains(&tag);
        seen.push(tag);
        match rule.nested.iter().find(|(n, _)| *n == tag) {
            Some((_, inner)) if first => value.extend_from_slice(&prune(c, inner)?),
            _ => value.extend_from_slice(c.raw()),
        }
    }
    Ok(tlv::encode(t.tag(), &value))
}

/// A message (or a signed part of one) decoded once, next to its bytes exactly as received: signatures are
/// verified over `raw`, never over a re-encoding of `value` (SGP.22 v2.5 §5.7.13, §5.7.5). Where rspd is the
/// signer, [`Received::from_value`] gives the bytes it signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received<T> {
    pub value: T,
    pub raw: Vec<u8>,
}

impl<T: Message> Received<T> {
    /// Decodes a whole received message once and keeps its bytes.
    pub fn decode(der: &[u8]) -> Result<Self, CodecError> {
        Ok(Received { value: decode(der)?, raw: der.to_vec() })
    }

    /// Finds the element at `path` inside `der` (each step: the first child with that tag; `path[0]`
    /// is the outermost tag), keeps its raw bytes and decodes it as `T`.
    pub fn at(der: &[u8], path: &[u32]) -> Result<Self, CodecError> {
        let missing = || CodecError::MissingElement {
            path: path.iter().map(|t| Tag(*t).to_string()).collect::<Vec<_>>().join("/"),
        };
        let (first, rest) = path.split_first().ok_or_else(missing)?;
        let mut cur = tlv::parse_single(der)?;
        if cur.tag() != Tag(*first) {
            return Err(missing());
        }
        for step in rest {
            cur = cur.child(Tag(*step))?.ok_or_else(missing)?;
        }
        let raw = cur.raw().to_vec();
        Ok(Received { value: decode(&raw)?, raw })
    }

    /// Builds a signed part locally (rspd is the signer): `raw` is the DER of `value`.
    pub fn from_value(value: T) -> Result<Self, CodecError> {
        let raw = encode(&value)?;
        Ok(Received { value, raw })
    }
}
