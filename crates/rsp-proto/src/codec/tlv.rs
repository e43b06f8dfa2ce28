//! Strict DER tag-length-value walking and building (ISO/IEC 8825-1 §8.1, X.690 §10.1 DER
//! length rules), as used by SGP.22 data objects (`BF36` BPP, `5F37` signatures, `5F49` keys).
//!
//! - Parsing is strict: definite lengths only, minimal length octets, minimal high-tag-number
//!   form, no trailing bytes where a single element is expected. Every parsed [`Tlv`] borrows
//!   the input, so [`Tlv::raw`] is exactly what was received (sign/verify over it).
//! - Building ([`encode`], [`encode_into`]) always produces minimal DER headers.
//!
//! Tags are written as the integer of their encoded octets: `0x80`, `0x5F37`, `0xBF36`, `0x30`.

use std::fmt;

/// At most this many tag octets (class/number octet plus three continuation octets).
const MAX_TAG_OCTETS: usize = 4;
/// At most this many length octets after `0x8N` (lengths up to 4 GiB − 1).
const MAX_LENGTH_OCTETS: usize = 4;

/// An encoded BER tag, as the big-endian integer of its octets (e.g. `Tag(0xBF36)`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(pub u32);

impl Tag {
    /// The tag's octets as they appear on the wire.
    pub fn to_bytes(self) -> Vec<u8> {
        let bytes = self.0.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count().min(3);
        bytes[skip..].to_vec()
    }

    fn first_octet(self) -> u8 {
        self.to_bytes()[0]
    }

    /// Bit 6 of the first octet: the value is a series of TLVs.
    pub fn is_constructed(self) -> bool {
        self.first_octet() & 0x20 != 0
    }

    /// 0 universal, 1 application, 2 context-specific, 3 private.
    pub fn class(self) -> u8 {
        self.first_octet() >> 6
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({:02X?})", self.to_bytes())
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.to_bytes() {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// Why bytes are not strict DER TLVs. `offset` is counted from the start of the parsed input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlvError {
    #[error("truncated TLV at offset {offset}: need {needed} more byte(s)")]
    Truncated { offset: usize, needed: usize },
    #[error("tag at offset {offset} is longer than {MAX_TAG_OCTETS} octets")]
    TagTooLong { offset: usize },
    #[error("tag at offset {offset} is not minimally encoded")]
    NonMinimalTag { offset: usize },
    #[error("indefinite length at offset {offset} (DER needs definite lengths)")]
    IndefiniteLength { offset: usize },
    #[error("length at offset {offset} is not minimally encoded")]
    NonMinimalLength { offset: usize },
    #[error("length at offset {offset} is too large")]
    LengthTooLarge { offset: usize },
    #[error("{count} trailing byte(s) after the element at offset {offset}")]
    TrailingBytes { offset: usize, count: usize },
    #[error("expected tag {expected}, found {found} at offset {offset}")]
    UnexpectedTag { expected: Tag, found: Tag, offset: usize },
    #[error("tag {tag} at offset {offset} is primitive; its value holds no TLVs")]
    NotConstructed { tag: Tag, offset: usize },
}

/// One element as received: tag, value and the exact raw bytes (header + value).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    tag: Tag,
    raw: &'a [u8],
    header_len: usize,
    /// Offset of `raw` within the outermost parsed input (for error messages).
    offset: usize,
}

impl fmt::Debug for Tlv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tlv({} len {} @{})", self.tag, self.value().len(), self.offset)
    }
}

impl<'a> Tlv<'a> {
    pub fn tag(&self) -> Tag {
        self.tag
    }

    /// The value octets.
    pub fn value(&self) -> &'a [u8] {
        &self.raw[self.header_len..]
    }

    /// Tag, length and value exactly as received.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Offset of this element in the outermost input that was parsed.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The TLVs inside a constructed element (strict: they must fill the value exactly).
    pub fn children(&self) -> Result<Vec<Tlv<'a>>, TlvError> {
        if !self.tag.is_constructed() {
            return Err(TlvError::NotConstructed { tag: self.tag, offset: self.offset });
        }
        parse_all_at(self.value(), self.offset + self.header_len)
    }

    /// The first child with `tag`, if any.
    pub fn child(&self, tag: Tag) -> Result<Option<Tlv<'a>>, TlvError> {
        Ok(self.children()?.into_iter().find(|c| c.tag == tag))
    }

    /// The first child with `tag`, or [`TlvError::UnexpectedTag`] naming what was there.
    pub fn required_child(&self, tag: Tag) -> Result<Tlv<'a>, TlvError> {
        let children = self.children()?;
        match children.iter().find(|c| c.tag == tag) {
            Some(c) => Ok(*c),
            None => Err(TlvError::UnexpectedTag {
                expected: tag,
                found: children.first().map_or(Tag(0), |c| c.tag),
                offset: self.offset + self.header_len,
            }),
        }
    }

    /// Checks the tag.
    pub fn expect_tag(self, tag: Tag) -> Result<Self, TlvError> {
        if self.tag == tag {
            Ok(self)
        } else {
            Err(TlvError::UnexpectedTag { expected: tag, found: self.tag, offset: self.offset })
        }
    }
}

/// Parses the first element of `input`; returns it and the bytes after it.
pub fn parse_first(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    parse_first_at(input, 0)
}

/// Parses `input` as exactly one element (no trailing bytes).
pub fn parse_single(input: &[u8]) -> Result<Tlv<'_>, TlvError> {
    let (tlv, rest) = parse_first(input)?;
    if rest.is_empty() {
        Ok(tlv)
    } else {
        Err(TlvError::TrailingBytes { offset: tlv.raw.len(), count: rest.len() })
    }
}

/// Parses `input` as a series of elements that fills it exactly.
pub fn parse_all(input: &[u8]) -> Result<Vec<Tlv<'_>>, TlvError> {
    parse_all_at(input, 0)
}

fn parse_all_at(mut input: &[u8], mut offset: usize) -> Result<Vec<Tlv<'_>>, TlvError> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (tlv, rest) = parse_first_at(input, offset)?;
        offset += tlv.raw.len();
        out.push(tlv);
        input = rest;
    }
    Ok(out)
}

fn parse_first_at(input: &[u8], offset: usize) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let (tag, tag_len) = parse_tag(input, offset)?;
    let (len, len_len) = parse_length(&input[tag_len..], offset + tag_len)?;
    let header_len = tag_len + len_len;
    let total = header_len.checked_add(len).ok_or(TlvError::LengthTooLarge { offset: offset + tag_len })?;
    if input.len() < total {
        return Err(TlvError::Truncated { offset, needed: total - input.len() });
    }
    let (raw, rest) = input.split_at(total);
    Ok((Tlv { tag, raw, header_len, offset }, rest))
}

fn parse_tag(input: &[u8], offset: usize) -> Result<(Tag, usize), TlvError> {
    let first = *input.first().ok_or(TlvError::Truncated { offset, needed: 2 })?;
    if first & 0x1F != 0x1F {
        return Ok((Tag(u32::from(first)), 1));
    }
    // High tag number form: continuation octets with bit 8 set, the last with bit 8 clear.
    let mut value = u32::from(first);
    for i in 1..MAX_TAG_OCTETS {
        let b = *input.get(i).ok_or(TlvError::Truncated { offset, needed: 1 })?;
        if i == 1 && (b == 0x80 || b < 0x1F) {
            // Leading zero bits, or a number that fits the low form.
            return Err(TlvError::NonMinimalTag { offset });
        }
        value = (value << 8) | u32::from(b);
        if b & 0x80 == 0 {
            return Ok((Tag(value), i + 1));
        }
    }
    Err(TlvError::TagTooLong { offset })
}

fn parse_length(input: &[u8], offset: usize) -> Result<(usize, usize), TlvError> {
    let first = *input.first().ok_or(TlvError::Truncated { offset, needed: 1 })?;
    if first < 0x80 {
        return Ok((usize::from(first), 1));
    }
    if first == 0x80 {
        return Err(TlvError::IndefiniteLength { offset });
    }
    let n = usize::from(first & 0x7F);
    if n > MAX_LENGTH_OCTETS {
        return Err(TlvError::LengthTooLarge { offset });
    }
    let octets = input.get(1..=n).ok_or(TlvError::Truncated { offset, needed: n + 1 - input.len().min(n + 1) })?;
    if octets[0] == 0 {
        return Err(TlvError::NonMinimalLength { offset });
    }
    let len = octets.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    if len < 0x80 {
        return Err(TlvError::NonMinimalLength { offset });
    }
    Ok((len, n + 1))
}

/// Appends the minimal DER length octets for `len`.
pub fn encode_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Appends `tag || length || value`.
pub fn encode_into(tag: Tag, value: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&tag.to_bytes());
    encode_length(value.len(), out);
    out.extend_from_slice(value);
}

/// `tag || length || value` as a new vector.
pub fn encode(tag: Tag, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    encode_into(tag, value, &mut out);
    out
}

/// A constructed element from already-encoded children: `tag || length || child1 || child2 …`.
pub fn encode_constructed<'c>(tag: Tag, children: impl IntoIterator<Item = &'c [u8]>) -> Vec<u8> {
    let value: Vec<u8> = children.into_iter().flatten().copied().collect();
    encode(tag, &value)
}

/// `depth` constructed `tag` elements nested in one another around `05 00`, built without quadratic copying
/// (tests of walkers that must not recurse per level).
#[cfg(test)]
pub(crate) fn deeply_nested(tag: Tag, depth: usize) -> Vec<u8> {
    let mut headers = Vec::with_capacity(depth);
    let mut len = 2;
    for _ in 0..depth {
        let mut header = tag.to_bytes();
        encode_length(len, &mut header);
        len += header.len();
        headers.push(header);
    }
    let mut out: Vec<u8> = headers.into_iter().rev().flatten().collect();
    out.extend_from_slice(&[0x05, 0x00]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_elements_and_keeps_raw_bytes() {
        // BF36 { BF23 { 82 01 01 } 5F37 02 AA BB }
        let bytes = [0xBF, 0x36, 0x0B, 0xBF, 0x23, 0x03, 0x82, 0x01, 0x01, 0x5F, 0x37, 0x02, 0xAA, 0xBB];
        let bpp = parse_single(&bytes).unwrap().expect_tag(Tag(0xBF36)).unwrap();
        let kids = bpp.children().unwrap();
        assert_eq!(kids.len(), 2);
        assert_eq!(kids[0].tag(), Tag(0xBF23));
        assert_eq!(kids[0].raw(), &bytes[3..9]);
        assert_eq!(kids[1].tag(), Tag(0x5F37));
        assert_eq!(kids[1].value(), &[0xAA, 0xBB]);
        assert_eq!(kids[1].offset(), 9);
        assert_eq!(bpp.required_child(Tag(0x5F37)).unwrap().value(), &[0xAA, 0xBB]);
        assert!(bpp.required_child(Tag(0x5F49)).is_err());
    }

    #[test]
    fn rejects_what_der_forbids() {
        assert_eq!(parse_single(&[0x30, 0x80, 0x00, 0x00]), Err(TlvError::IndefiniteLength { offset: 1 }));
        assert_eq!(parse_single(&[0x04, 0x81, 0x01, 0x00]), Err(TlvError::NonMinimalLength { offset: 1 }));
        assert_eq!(parse_single(&[0x04, 0x82, 0x00, 0x81]), Err(TlvError::NonMinimalLength { offset: 1 }));
        assert_eq!(parse_single(&[0x9F, 0x05, 0x00]), Err(TlvError::NonMinimalTag { offset: 0 }));
        assert_eq!(parse_single(&[0x9F, 0x80, 0x21, 0x00]), Err(TlvError::NonMinimalTag { offset: 0 }));
        assert_eq!(parse_single(&[0x04, 0x02, 0x00]), Err(TlvError::Truncated { offset: 0, needed: 1 }));
        assert_eq!(parse_single(&[0x04, 0x00, 0x00]), Err(TlvError::TrailingBytes { offset: 2, count: 1 }));
        assert!(matches!(parse_single(&[0x04, 0x85, 1, 1, 1, 1, 1]), Err(TlvError::LengthTooLarge { .. })));
        assert!(matches!(parse_single(&[]), Err(TlvError::Truncated { .. })));
        assert!(matches!(parse_single(&[0x04, 0x00]).unwrap().children(), Err(TlvError::NotConstructed { .. })));
    }

    #[test]
    fn encodes_minimal_headers() {
        assert_eq!(encode(Tag(0x80), &[1]), vec![0x80, 0x01, 0x01]);
        assert_eq!(encode(Tag(0x5F37), &[0u8; 64])[..4], [0x5F, 0x37, 0x40, 0x00]);
        assert_eq!(encode(Tag(0xBF36), &[0u8; 200])[..5], [0xBF, 0x36, 0x81, 0xC8, 0x00]);
        assert_eq!(encode(Tag(0x86), &[0u8; 1000])[..4], [0x86, 0x82, 0x03, 0xE8]);
        let built = encode_constructed(Tag(0xA0), [&[0x80, 0x00][..], &[0x81, 0x00][..]]);
        assert_eq!(built, vec![0xA0, 0x04, 0x80, 0x00, 0x81, 0x00]);
        let parsed = parse_single(&built).unwrap();
        assert_eq!(parsed.children().unwrap().len(), 2);
    }

    #[test]
    fn round_trips_lengths() {
        for len in [0usize, 1, 127, 128, 255, 256, 1020, 65535, 65536, 70000] {
            let value = vec![0x5Au8; len];
            let enc = encode(Tag(0x04), &value);
            let t = parse_single(&enc).unwrap();
            assert_eq!(t.value().len(), len);
            assert_eq!(t.raw(), &enc[..]);
        }
    }
}
