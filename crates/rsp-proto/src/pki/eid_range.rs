//! The EID range an EUM may certify, and the check that an eUICC's EID lies in it
//! (SGP.22 v2.5 §4.5.2.1.0.2 EUM certificate: NameConstraints; §4.5.2.1.0.3 eUICC certificate:
//! subject serialNumber = EID; §3.1.3 / §5.6.3 "verify that the EID is within the permitted range").
//!
//! Two encodings of the range are read:
//! - SGP.22 v2: `nameConstraints` (critical) with `permittedSubtrees` holding a `directoryName`
//!   whose `serialNumber` attribute is an EID prefix, e.g. `DirName: O=RSP Test EUM, serialNumber=89049032`
//!   in the SGP.26 test EUM. Generic RFC 5280 path validation treats this as a subtree on the whole
//!   subject name and rejects the eUICC; here only the `serialNumber` prefix is used.
//! - SGP.22 v3 style: the GSMA extension `permittedEins` (OID 2.23.146.1.2.2.0),
//!   `PermittedEins ::= SEQUENCE OF PrintableString`, each string an EID prefix (the IIN/EIN).
//!   TODO(spec): this definition comes from public open-source readings of SGP.22 v3.x and the
//!   SGP.26 v3 test certificates, not from the spec text in this repository; confirm the OID, the
//!   string type and whether prefixes may be of other lengths than 8 digits before relying on it.
//!
//! Excluded subtrees carry no EID meaning in SGP.22 and are ignored.

use x509_parser::extensions::{GeneralName, NameConstraints};
use x509_parser::oid_registry::OID_X509_SERIALNUMBER;

use crate::codec::tlv::{self, Tag};

/// `id-rsp-ext-permittedEins` (see the module documentation for how sure this is).
pub const ID_RSP_EXT_PERMITTED_EINS: &str = "2.23.146.1.2.2.0";

/// An EID is 32 decimal digits (SGP.29).
pub const EID_DIGITS: usize = 32;

const SEQUENCE: Tag = Tag(0x30);
const PRINTABLE_STRING: Tag = Tag(0x13);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EidRangeError {
    #[error("permittedEins is not a DER SEQUENCE OF PrintableString: {0}")]
    PermittedEinsEncoding(String),
    #[error("permitted EID prefix `{0}` is not 1 to 32 decimal digits")]
    InvalidPrefix(String),
}

/// Permitted EID prefixes from the `permittedSubtrees` of a NameConstraints extension: the
/// `serialNumber` of every `directoryName` subtree. Subtrees without one are not EID constraints.
pub fn prefixes_from_name_constraints(nc: &NameConstraints<'_>) -> Result<Vec<String>, EidRangeError> {
    let mut prefixes = Vec::new();
    for subtree in nc.permitted_subtrees.iter().flatten() {
        let GeneralName::DirectoryName(name) = &subtree.base else { continue };
        for attribute in name.iter_by_oid(&OID_X509_SERIALNUMBER) {
            let value = attribute.as_str().map_err(|_| EidRangeError::InvalidPrefix("<not a string>".into()))?;
            prefixes.push(checked_prefix(value)?);
        }
    }
    Ok(prefixes)
}

/// Permitted EID prefixes from the value (extnValue contents) of a `permittedEins` extension.
pub fn prefixes_from_permitted_eins(value: &[u8]) -> Result<Vec<String>, EidRangeError> {
    let encoding = |e: tlv::TlvError| EidRangeError::PermittedEinsEncoding(e.to_string());
    let sequence = tlv::parse_single(value).and_then(|t| t.expect_tag(SEQUENCE)).map_err(encoding)?;
    let mut prefixes = Vec::new();
    for item in sequence.children().map_err(encoding)? {
        let item = item.expect_tag(PRINTABLE_STRING).map_err(encoding)?;
        let text = std::str::from_utf8(item.value())
            .map_err(|_| EidRangeError::InvalidPrefix(String::from_utf8_lossy(item.value()).into_owned()))?;
        prefixes.push(checked_prefix(text)?);
    }
    Ok(prefixes)
}

fn checked_prefix(value: &str) -> Result<String, EidRangeError> {
    if value.is_empty() || value.len() > EID_DIGITS || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EidRangeError::InvalidPrefix(value.chars().take(64).collect()));
    }
    Ok(value.to_string())
}

/// Whether `eid` starts with one of `prefixes`.
pub fn eid_is_within(eid: &str, prefixes: &[String]) -> bool {
    prefixes.iter().any(|p| eid.starts_with(p.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permitted_eins_sequence_of_printable_strings() {
        // SEQUENCE { PrintableString "89049032", PrintableString "89033023" }
        let mut value = vec![0x30, 20];
        for p in ["89049032", "89033023"] {
            value.extend([0x13, 8]);
            value.extend(p.as_bytes());
        }
        assert_eq!(prefixes_from_permitted_eins(&value).unwrap(), ["89049032", "89033023"]);
    }

    #[test]
    fn permitted_eins_rejects_other_shapes() {
        assert!(prefixes_from_permitted_eins(&[]).is_err());
        assert!(prefixes_from_permitted_eins(&[0x30, 0x03, 0x0C, 0x01, b'8']).is_err()); // UTF8String
        assert!(prefixes_from_permitted_eins(&[0x30, 0x03, 0x13, 0x01, b'X']).is_err()); // not a digit
        assert!(prefixes_from_permitted_eins(&[0x30, 0x00, 0x00]).is_err()); // trailing byte
        assert_eq!(prefixes_from_permitted_eins(&[0x30, 0x00]).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn within() {
        let p = vec!["89049032".to_string()];
        assert!(eid_is_within("89049032123451234512345678901235", &p));
        assert!(!eid_is_within("89999999000000000000000000000123", &p));
        assert!(!eid_is_within("8904", &p));
    }
}
