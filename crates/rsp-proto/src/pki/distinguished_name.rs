//! Distinguished names compared as names, never as text (RFC 5280 §4.1.2.4, RFC 4514 string form).
//!
//! An operator identity configured as `subject = "CN=acme-backend,O=ACME"` must match only a certificate
//! whose subject is the RDN sequence {CN=acme-backend}, {O=ACME} — not a certificate with the one attribute
//! `CN=acme-backend, O=ACME` whose *rendering* happens to read the same. So the configured text is parsed
//! (RFC 4514 §3: `,` separates RDNs, `\` escapes, `\XX` hex pairs) and the certificate's subject is read
//! from its DER RDN sequence; both become a set of (attribute type OID, exact value) pairs and are
//! compared as such.
//!
//! Refused as ambiguous, on either side: multi-valued RDNs (`+`), an attribute type that occurs twice, a
//! value that is not a character string, an empty name. With those gone, the order of the RDNs does not
//! change who a name denotes for this purpose, so it is not compared (RFC 4514 text lists the RDNs in the
//! reverse of the DER order, and tools disagree about which one they print).

use std::collections::BTreeMap;
use std::fmt;

use x509_parser::prelude::{FromDer, X509Certificate};

/// Why a distinguished name cannot identify anyone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnError {
    #[error("the name is empty")]
    Empty,
    #[error("multi-valued RDN (`+`) is not accepted: it makes the name ambiguous")]
    MultiValued,
    #[error("attribute type {0} occurs more than once")]
    Repeated(String),
    #[error("unknown attribute type `{0}` (use CN, O, OU, C, L, ST, SERIALNUMBER, DC, UID, emailAddress, … or a dotted OID)")]
    UnknownType(String),
    #[error("`{0}` is not of the form TYPE=value")]
    NotTypeValue(String),
    #[error("bad escape in `{0}` (RFC 4514 §2.4: `\\` before a special character or two hex digits)")]
    BadEscape(String),
    #[error("value of {0} is not a character string")]
    NotAString(String),
    #[error("the certificate cannot be parsed")]
    BadCertificate,
}

/// A name as a set of single-valued attributes: attribute type OID (dotted) → exact value.
#[derive(Clone, PartialEq, Eq)]
pub struct DistinguishedName {
    attributes: BTreeMap<String, String>,
}

impl fmt::Debug for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.attributes.iter().map(|(t, v)| (short_name(t).unwrap_or(t), v))).finish()
    }
}

/// Short names of RFC 4514 §3 and the ones operator PKIs commonly use.
const ATTRIBUTE_TYPES: &[(&str, &str)] = &[
    ("CN", "2.5.4.3"),
    ("SN", "2.5.4.4"),
    ("SERIALNUMBER", "2.5.4.5"),
    ("C", "2.5.4.6"),
    ("L", "2.5.4.7"),
    ("ST", "2.5.4.8"),
    ("STREET", "2.5.4.9"),
    ("O", "2.5.4.10"),
    ("OU", "2.5.4.11"),
    ("TITLE", "2.5.4.12"),
    ("GIVENNAME", "2.5.4.42"),
    ("ORGANIZATIONIDENTIFIER", "2.5.4.97"),
    ("DC", "0.9.2342.19200300.100.1.25"),
    ("UID", "0.9.2342.19200300.100.1.1"),
    ("EMAILADDRESS", "1.2.840.113549.1.9.1"),
    ("E", "1.2.840.113549.1.9.1"),
];

fn oid_of(attribute_type: &str) -> Result<String, DnError> {
    let upper = attribute_type.to_ascii_uppercase();
    if let Some((_, oid)) = ATTRIBUTE_TYPES.iter().find(|(name, _)| *name == upper) {
        return Ok((*oid).to_owned());
    }
    let dotted = upper.strip_prefix("OID.").unwrap_or(&upper);
    let is_oid = dotted.split('.').count() >= 2
        && dotted.split('.').all(|arc| !arc.is_empty() && arc.chars().all(|c| c.is_ascii_digit()));
    if is_oid {
        Ok(dotted.to_owned())
    } else {
        Err(DnError::UnknownType(attribute_type.to_owned()))
    }
}

fn short_name(oid: &str) -> Option<&'static str> {
    ATTRIBUTE_TYPES.iter().find(|(_, o)| *o == oid).map(|(name, _)| *name)
}

impl DistinguishedName {
    /// Parses RFC 4514 text such as `CN=acme-backend, O=ACME Mobile`. Spaces around `,` and `=` are
    /// ignored; a value keeps inner spaces and escaped characters (`\,`, `\+`, `\2C`).
    pub fn parse(text: &str) -> Result<Self, DnError> {
        let mut attributes = BTreeMap::new();
        for rdn in split_unescaped(text, ',')? {
            if split_unescaped(&rdn, '+')?.len() > 1 {
                return Err(DnError::MultiValued);
            }
            let (attribute_type, raw_value) =
                split_once_unescaped(&rdn, '=').ok_or_else(|| DnError::NotTypeValue(rdn.trim().to_owned()))?;
            let oid = oid_of(attribute_type.trim())?;
            let value = unescape(raw_value.trim())?;
            if attributes.insert(oid.clone(), value).is_some() {
                return Err(DnError::Repeated(short_name(&oid).unwrap_or(&oid).to_owned()));
            }
        }
        if attributes.is_empty() {
            return Err(DnError::Empty);
        }
        Ok(DistinguishedName { attributes })
    }

    /// The subject of a DER certificate, read from its RDN sequence.
    pub fn subject_of_certificate(der: &[u8]) -> Result<Self, DnError> {
        let (_, cert) = X509Certificate::from_der(der).map_err(|_| DnError::BadCertificate)?;
        let mut attributes = BTreeMap::new();
        for rdn in cert.subject().iter() {
            let mut values = rdn.iter();
            let (Some(attribute), None) = (values.next(), values.next()) else {
                return Err(DnError::MultiValued);
            };
            let oid = attribute.attr_type().to_id_string();
            let label = short_name(&oid).unwrap_or(&oid).to_owned();
            let value = attribute.as_str().map_err(|_| DnError::NotAString(label.clone()))?;
            if attributes.insert(oid, value.to_owned()).is_some() {
                return Err(DnError::Repeated(label));
            }
        }
        if attributes.is_empty() {
            return Err(DnError::Empty);
        }
        Ok(DistinguishedName { attributes })
    }
}

/// A certificate's subject as RFC 4514 text in DER order, with every special character escaped (`\,`, `\+`, …)
/// and every control character as `\XX`, so the text shows where one attribute ends: the spoof
/// `CN=acme\, O=ACME` cannot be read as two attributes, and a name cannot forge a log line.
pub fn render_subject(der: &[u8]) -> String {
    let Ok((_, cert)) = X509Certificate::from_der(der) else { return "<unparsable certificate>".to_owned() };
    let rdns: Vec<String> = cert
        .subject()
        .iter()
        .map(|rdn| {
            let attributes: Vec<String> = rdn
                .iter()
                .map(|a| {
                    let oid = a.attr_type().to_id_string();
                    let name = short_name(&oid).map(str::to_owned).unwrap_or(oid);
                    match a.as_str() {
                        Ok(value) => format!("{name}={}", escape(value)),
                        Err(_) => format!("{name}=#{}", hex::encode(a.as_slice())),
                    }
                })
                .collect();
            attributes.join("+")
        })
        .collect();
    rdns.join(", ")
}

/// RFC 4514 §2.4 escaping, plus control characters as `\XX`.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let edge_space = c == ' ' && (i == 0 || i == last);
        if ",+\"<>;=".contains(c) || edge_space || (i == 0 && c == '#') {
            out.push('\\');
            out.push(c);
        } else if c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Splits on `separator` where it is not escaped by `\`; an escape is kept for [`unescape`].
fn split_unescaped(text: &str, separator: char) -> Result<Vec<String>, DnError> {
    let mut parts = vec![String::new()];
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next().ok_or_else(|| DnError::BadEscape(text.to_owned()))?;
                let last = parts.last_mut().ok_or(DnError::Empty)?;
                last.push('\\');
                last.push(next);
            }
            c if c == separator => parts.push(String::new()),
            c => parts.last_mut().ok_or(DnError::Empty)?.push(c),
        }
    }
    if parts.len() == 1 && parts[0].trim().is_empty() {
        return Ok(Vec::new());
    }
    Ok(parts)
}

fn split_once_unescaped(text: &str, separator: char) -> Option<(&str, &str)> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            c if c == separator => return Some((&text[..i], &text[i + c.len_utf8()..])),
            _ => {}
        }
    }
    None
}

/// RFC 4514 §2.4 escapes: `\` + special character, or `\` + two hex digits (UTF-8 bytes).
fn unescape(value: &str) -> Result<String, DnError> {
    if value.starts_with('#') {
        return Err(DnError::BadEscape(format!("{value} (BER-encoded #values are not accepted)")));
    }
    let bad = || DnError::BadEscape(value.to_owned());
    let mut bytes = Vec::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let first = chars.next().ok_or_else(bad)?;
        if first.is_ascii_hexdigit() {
            let second = chars.next().filter(char::is_ascii_hexdigit).ok_or_else(bad)?;
            let pair = [first as u8, second as u8];
            let text = std::str::from_utf8(&pair).map_err(|_| bad())?;
            bytes.push(u8::from_str_radix(text, 16).map_err(|_| bad())?);
        } else if " \"#+,;<=>\\".contains(first) {
            bytes.push(first as u8);
        } else {
            return Err(bad());
        }
    }
    String::from_utf8(bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dn(text: &str) -> DistinguishedName {
        DistinguishedName::parse(text).unwrap()
    }

    #[test]
    fn order_spaces_and_type_case_do_not_matter() {
        assert_eq!(dn("CN=acme-backend, O=ACME"), dn("o=ACME,CN = acme-backend"));
        assert_ne!(dn("CN=acme-backend,O=ACME"), dn("CN=acme-backend,O=Other"));
        assert_ne!(dn("CN=acme"), dn("CN=ACME"), "values are exact");
    }

    #[test]
    fn an_escaped_comma_is_part_of_the_value() {
        let one_attribute = dn(r"CN=acme-es2-backend\, O=ACME Mobile");
        assert_ne!(one_attribute, dn("CN=acme-es2-backend,O=ACME Mobile"));
        assert_eq!(one_attribute, dn(r"CN=acme-es2-backend\2C O=ACME Mobile"));
        assert_eq!(format!("{one_attribute:?}"), r#"{"CN": "acme-es2-backend, O=ACME Mobile"}"#);
    }

    #[test]
    fn ambiguous_names_are_refused() {
        assert_eq!(DistinguishedName::parse("CN=a+O=b"), Err(DnError::MultiValued));
        assert_eq!(DistinguishedName::parse("OU=a,OU=b"), Err(DnError::Repeated("OU".into())));
        assert_eq!(DistinguishedName::parse(""), Err(DnError::Empty));
        assert!(matches!(DistinguishedName::parse("XX=a"), Err(DnError::UnknownType(_))));
        assert!(matches!(DistinguishedName::parse("CN"), Err(DnError::NotTypeValue(_))));
        assert!(matches!(DistinguishedName::parse(r"CN=a\"), Err(DnError::BadEscape(_))));
        assert!(matches!(DistinguishedName::parse(r"CN=a\q"), Err(DnError::BadEscape(_))));
        assert!(matches!(DistinguishedName::parse("CN=#0403616263"), Err(DnError::BadEscape(_))));
    }

    #[test]
    fn dotted_oids_name_the_same_attribute() {
        assert_eq!(dn("2.5.4.3=x"), dn("CN=x"));
        assert_eq!(dn("OID.2.5.4.10=y,CN=x"), dn("CN=x,O=y"));
    }

    fn certificate(attributes: &[(rcgen::DnType, &str)]) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (t, v) in attributes {
            params.distinguished_name.push(t.clone(), *v);
        }
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn certificate_subjects_are_read_rdn_by_rdn() {
        use rcgen::DnType::{CommonName, OrganizationName};
        let two = certificate(&[(CommonName, "acme-es2-backend"), (OrganizationName, "ACME Mobile")]);
        let spoof = certificate(&[(CommonName, "acme-es2-backend, O=ACME Mobile")]);
        let configured = dn("CN=acme-es2-backend,O=ACME Mobile");
        assert_eq!(DistinguishedName::subject_of_certificate(&two).unwrap(), configured);
        assert_ne!(DistinguishedName::subject_of_certificate(&spoof).unwrap(), configured);
        assert_eq!(DistinguishedName::subject_of_certificate(b"junk"), Err(DnError::BadCertificate));
        assert_eq!(render_subject(&two), "CN=acme-es2-backend, O=ACME Mobile");
        assert_eq!(render_subject(&spoof), r"CN=acme-es2-backend\, O\=ACME Mobile");
        let forged = certificate(&[(CommonName, "x\n2026-12-03T07:00:00Z  INFO forged")]);
        assert_eq!(render_subject(&forged), r"CN=x\0A2026-12-03T07:00:00Z  INFO forged");
        assert_eq!(
            DistinguishedName::parse(&render_subject(&spoof)).unwrap(),
            DistinguishedName::subject_of_certificate(&spoof).unwrap()
        );
    }
}
