//! Finding and rewriting values inside one DER-encoded profile element (TCA SAIP v2.3 §8: every
//! ProfileElement is a DER TLV tree). A rewrite re-encodes only the changed value and the elements that
//! enclose it, with their lengths recomputed; every other sub-element is copied from its raw bytes.

use crate::codec::tlv::{self, Tag, Tlv, TlvError};

/// All elements reached from `root` by following `path` (one tag per level; every matching child is followed).
pub(crate) fn find_all<'a>(root: &Tlv<'a>, path: &[Tag]) -> Result<Vec<Tlv<'a>>, TlvError> {
    let Some((first, rest)) = path.split_first() else {
        return Ok(vec![*root]);
    };
    let mut found = Vec::new();
    if !root.tag().is_constructed() {
        return Ok(found);
    }
    for child in root.children()?.iter().filter(|c| c.tag() == *first) {
        found.extend(find_all(child, rest)?);
    }
    Ok(found)
}

/// The first element reached from `root` by `path`.
#[cfg(test)]
pub(crate) fn find_first<'a>(root: &Tlv<'a>, path: &[Tag]) -> Result<Option<Tlv<'a>>, TlvError> {
    Ok(find_all(root, path)?.into_iter().next())
}

/// An edit of one element: its complete new encoding, or `None` to keep it.
pub(crate) type Edit<'e, E> = dyn FnMut(&Tlv<'_>) -> Result<Option<Vec<u8>>, E> + 'e;

/// Rewrites every element reached from `root` by `path`: `edit` gets the element and returns its complete
/// new encoding (tag, length, value), or `None` to leave it as it is. Returns the new encoding of `root` and
/// how many elements `edit` replaced. When nothing is replaced the result is `root`'s raw bytes.
pub(crate) fn rewrite<E>(
    root: &Tlv<'_>,
    path: &[Tag],
    edit: &mut Edit<'_, E>,
    wrap: &dyn Fn(TlvError) -> E,
) -> Result<(Vec<u8>, usize), E> {
    let Some((first, rest)) = path.split_first() else {
        return Ok(match edit(root)? {
            Some(new) => (new, 1),
            None => (root.raw().to_vec(), 0),
        });
    };
    if !root.tag().is_constructed() {
        return Ok((root.raw().to_vec(), 0));
    }
    let mut replaced = 0;
    let mut value = Vec::with_capacity(root.value().len() + 16);
    for child in root.children().map_err(wrap)? {
        if child.tag() == *first {
            let (bytes, n) = rewrite(&child, rest, edit, wrap)?;
            replaced += n;
            value.extend_from_slice(&bytes);
        } else {
            value.extend_from_slice(child.raw());
        }
    }
    if replaced == 0 {
        return Ok((root.raw().to_vec(), 0));
    }
    Ok((tlv::encode(root.tag(), &value), replaced))
}

/// Checks that every constructed element below `root` holds well-formed TLVs (the strict DER walker).
/// Depth first in document order, with an explicit stack: nesting depth cannot overflow the thread's stack.
/// Parsers use [`check_deep_bounded`], which also caps the depth.
#[cfg(test)]
pub(crate) fn check_deep(root: &Tlv<'_>) -> Result<(), TlvError> {
    let mut pending = vec![*root];
    while let Some(t) = pending.pop() {
        if t.tag().is_constructed() {
            pending.extend(t.children()?.into_iter().rev());
        }
    }
    Ok(())
}

/// Why [`check_deep_bounded`] refused an element.
#[derive(Debug)]
pub(crate) enum DeepError {
    Tlv(TlvError),
    /// Constructed elements nest deeper than the limit.
    TooDeep,
}

/// [`check_deep`] that also refuses nesting deeper than `max_depth` levels below `root` (issue 10 item 8).
pub(crate) fn check_deep_bounded(root: &Tlv<'_>, max_depth: usize) -> Result<(), DeepError> {
    let mut pending = vec![(*root, 0usize)];
    while let Some((t, depth)) = pending.pop() {
        if t.tag().is_constructed() {
            if depth >= max_depth {
                return Err(DeepError::TooDeep);
            }
            pending.extend(t.children().map_err(DeepError::Tlv)?.into_iter().rev().map(|c| (c, depth + 1)));
        }
    }
    Ok(())
}

/// A non-negative DER INTEGER value (content octets) that fits a `u32`; `None` otherwise.
pub(crate) fn uint(content: &[u8]) -> Option<u32> {
    let (&first, _) = content.split_first()?;
    if first & 0x80 != 0 {
        return None;
    }
    let significant = content.iter().skip_while(|b| **b == 0).count();
    if significant > 4 {
        return None;
    }
    Some(content.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrite_recomputes_enclosing_lengths_and_keeps_the_rest() {
        // A4 { A0 { 81 01 05 } A1 { A1 { 82 02 AA BB, 83 01 CC } } }
        let bytes = hex::decode("A410A003810105A109A1078202AABB8301CC").unwrap();
        let root = tlv::parse_single(&bytes).unwrap();
        let path = [Tag(0xA1), Tag(0xA1), Tag(0x82)];
        let mut edit =
            |t: &Tlv<'_>| -> Result<Option<Vec<u8>>, TlvError> { Ok(Some(tlv::encode(t.tag(), &[0x11; 200]))) };
        let (out, n) = rewrite(&root, &path, &mut edit, &|e| e).unwrap();
        assert_eq!(n, 1);
        let new_root = tlv::parse_single(&out).unwrap();
        assert_eq!(new_root.children().unwrap()[0].raw(), &bytes[2..7]);
        assert_eq!(find_first(&new_root, &path).unwrap().unwrap().value(), &[0x11; 200]);
        assert_eq!(find_first(&new_root, &[Tag(0xA1), Tag(0xA1), Tag(0x83)]).unwrap().unwrap().value(), &[0xCC]);
        let mut keep = |_: &Tlv<'_>| -> Result<Option<Vec<u8>>, TlvError> { Ok(None) };
        assert_eq!(rewrite(&root, &path, &mut keep, &|e| e).unwrap(), (bytes.clone(), 0));
    }

    /// Found by the `saip_profile` fuzz-target review: `check_deep` recursed once per nesting level, so a
    /// deeply nested element overflowed the stack. Any depth must be walked on a small stack.
    #[test]
    fn check_deep_walks_any_depth_without_recursion() {
        let der = tlv::deeply_nested(Tag(0xA1), 200_000);
        let outcome = std::thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn(move || check_deep(&tlv::parse_single(&der).unwrap()).is_ok())
            .unwrap()
            .join();
        assert_eq!(outcome.ok(), Some(true));
        let mut bad = tlv::deeply_nested(Tag(0xA1), 1000);
        let inner = bad.len() - 2;
        // The innermost `05 00` becomes `30 80`: an indefinite length at the bottom is still found.
        bad[inner..].copy_from_slice(&[0x30, 0x80]);
        assert!(check_deep(&tlv::parse_single(&bad).unwrap()).is_err());
    }

    #[test]
    fn check_deep_bounded_refuses_deep_nesting() {
        let ok = tlv::deeply_nested(Tag(0xA1), 10);
        assert!(check_deep_bounded(&tlv::parse_single(&ok).unwrap(), 10).is_ok());
        let deep = tlv::deeply_nested(Tag(0xA1), 11);
        assert!(matches!(check_deep_bounded(&tlv::parse_single(&deep).unwrap(), 10), Err(DeepError::TooDeep)));
    }

    #[test]
    fn uint_values() {
        assert_eq!(uint(&[0x00, 0x81]), Some(129));
        assert_eq!(uint(&[0x0A]), Some(10));
        assert_eq!(uint(&[0x81]), None);
        assert_eq!(uint(&[]), None);
        assert_eq!(uint(&[0x01, 0, 0, 0, 0]), None);
    }
}
