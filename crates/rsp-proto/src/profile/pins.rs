//! PE-PINCodes and PE-PUKCodes (TCA SAIP v2.3 §8.5 "PIN and PUK"): PIN/ADM and PUK values by key reference
//! (`PINKeyReferenceValue`, `PUKKeyReferenceValue`), read and rewritten for personalization. Values are
//! 8 bytes; PINs shorter than 8 digits are padded with 'FF' (ETSI TS 102 221 §9.5.1).

use std::fmt;

use crate::codec::tlv::{self, Tag, Tlv};

use super::elements::ProfileElement;
use super::error::ProfileError;
use super::secret::Secret;
use super::tree;

/// `PINKeyReferenceValue pinAppl1(1)`: PIN1, the universal PIN of the first application.
pub const PIN_APPL1: u8 = 0x01;
/// `PINKeyReferenceValue secondPINAppl1(129)`: PIN2 (the application's local PIN).
pub const SECOND_PIN_APPL1: u8 = 0x81;
/// `PINKeyReferenceValue adm1(10)`.
pub const ADM1: u8 = 0x0A;
/// `PINKeyReferenceValue adm2(11)`.
pub const ADM2: u8 = 0x0B;
/// `PUKKeyReferenceValue pukAppl1(1)`: PUK1.
pub const PUK_APPL1: u8 = 0x01;
/// `PUKKeyReferenceValue secondPUKAppl1(129)`: PUK2.
pub const SECOND_PUK_APPL1: u8 = 0x81;

/// `pinCodes [1]` of PE-PINCodes (a tagged CHOICE, hence explicit) and its `pinconfig [0]` alternative.
const PIN_CODES: Tag = Tag(0xA1);
const PINCONFIG: Tag = Tag(0xA0);
/// `pukCodes [1] SEQUENCE OF PUKConfiguration`.
const PUK_CODES: Tag = Tag(0xA1);
const SEQUENCE: Tag = Tag(0x30);
const KEY_REFERENCE: Tag = Tag(0x80);
/// `pinValue [1]` / `pukValue [1]`.
const VALUE: Tag = Tag(0x81);
const UNBLOCKING_PIN_REFERENCE: Tag = Tag(0x82);
const PIN_ATTRIBUTES: Tag = Tag(0x83);
const PIN_MAX_ATTEMPTS: Tag = Tag(0x84);
const PUK_MAX_ATTEMPTS: Tag = Tag(0x82);

/// A PIN or ADM value as stored: 8 bytes, digits padded with 'FF'. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct PinValue(Secret<[u8; 8]>);

impl PinValue {
    /// A PIN of 4 to 8 decimal digits (TS 102 221 §9.5.1), padded with 'FF'.
    pub fn new(digits: &str) -> Result<Self, ProfileError> {
        if !(4..=8).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ProfileError::InvalidPinValue { reason: "a PIN has 4 to 8 decimal digits" });
        }
        Ok(PinValue(Secret::new(padded(digits))))
    }

    /// Any 8-byte value (ADM keys are sometimes not digits).
    pub fn from_bytes(bytes: [u8; 8]) -> Self {
        PinValue(Secret::new(bytes))
    }

    pub fn expose(&self) -> &[u8; 8] {
        self.0.expose()
    }
}

impl fmt::Debug for PinValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinValue(redacted)")
    }
}

/// A PUK value: 8 decimal digits. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct PukValue(Secret<[u8; 8]>);

impl PukValue {
    pub fn new(digits: &str) -> Result<Self, ProfileError> {
        if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ProfileError::InvalidPinValue { reason: "a PUK has 8 decimal digits" });
        }
        Ok(PukValue(Secret::new(padded(digits))))
    }

    pub fn from_bytes(bytes: [u8; 8]) -> Self {
        PukValue(Secret::new(bytes))
    }

    pub fn expose(&self) -> &[u8; 8] {
        self.0.expose()
    }
}

impl fmt::Debug for PukValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PukValue(redacted)")
    }
}

fn padded(digits: &str) -> [u8; 8] {
    let mut out = [0xFF; 8];
    out[..digits.len()].copy_from_slice(digits.as_bytes());
    out
}

/// One `PINConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinConfiguration {
    /// Index of the PE-PINCodes element in the package.
    pub element_index: usize,
    /// `keyReference` (`PINKeyReferenceValue`).
    pub key_reference: u8,
    pub pin_value: PinValue,
    pub unblocking_pin_reference: Option<u8>,
    /// `pinAttributes` when present (DEFAULT 7).
    pub pin_attributes: Option<u8>,
    /// `maxNumOfAttemps-retryNumLeft` when present (DEFAULT 51).
    pub max_attempts_retry_left: Option<u8>,
}

/// One `PUKConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PukConfiguration {
    /// Index of the PE-PUKCodes element in the package.
    pub element_index: usize,
    /// `keyReference` (`PUKKeyReferenceValue`).
    pub key_reference: u8,
    pub puk_value: PukValue,
    /// `maxNumOfAttemps-retryNumLeft` when present (DEFAULT 170).
    pub max_attempts_retry_left: Option<u8>,
}

struct Fields<'a> {
    index: usize,
    element: &'static str,
    config: &'a Tlv<'a>,
    malformed: &'a dyn Fn(tlv::TlvError) -> ProfileError,
}

impl Fields<'_> {
    fn optional_u8(&self, tag: Tag, field: &'static str) -> Result<Option<u8>, ProfileError> {
        match self.config.child(tag).map_err(self.malformed)? {
            None => Ok(None),
            Some(t) => {
                tree::uint(t.value()).and_then(|v| u8::try_from(v).ok()).map(Some).ok_or(ProfileError::BadField {
                    element_index: self.index,
                    element: self.element,
                    field,
                    reason: "not an INTEGER 0..255",
                })
            }
        }
    }

    fn required_u8(&self, tag: Tag, field: &'static str) -> Result<u8, ProfileError> {
        self.optional_u8(tag, field)?.ok_or(ProfileError::MissingField {
            element_index: self.index,
            element: self.element,
            field,
        })
    }

    fn value8(&self, field: &'static str) -> Result<[u8; 8], ProfileError> {
        let t = self.config.child(VALUE).map_err(self.malformed)?.ok_or(ProfileError::MissingField {
            element_index: self.index,
            element: self.element,
            field,
        })?;
        <[u8; 8]>::try_from(t.value()).map_err(|_| ProfileError::BadField {
            element_index: self.index,
            element: self.element,
            field,
            reason: "not 8 bytes",
        })
    }
}

/// Reads every PINConfiguration of a PE-PINCodes element (none when it names a `filePath` instead).
pub(crate) fn read_pin_codes(element: &ProfileElement, index: usize) -> Result<Vec<PinConfiguration>, ProfileError> {
    let malformed = ProfileError::malformed(index, element.offset());
    let pe = element.tlv().map_err(malformed)?;
    if pe.child(PIN_CODES).map_err(malformed)?.is_none() {
        return Err(ProfileError::MissingField { element_index: index, element: "PE-PINCodes", field: "pinCodes" });
    }
    let configs = tree::find_all(&pe, &[PIN_CODES, PINCONFIG, SEQUENCE]).map_err(malformed)?;
    configs
        .iter()
        .map(|config| {
            let f = Fields { index, element: "PE-PINCodes", config, malformed: &malformed };
            Ok(PinConfiguration {
                element_index: index,
                key_reference: f.required_u8(KEY_REFERENCE, "keyReference")?,
                pin_value: PinValue::from_bytes(f.value8("pinValue")?),
                unblocking_pin_reference: f.optional_u8(UNBLOCKING_PIN_REFERENCE, "unblockingPINReference")?,
                pin_attributes: f.optional_u8(PIN_ATTRIBUTES, "pinAttributes")?,
                max_attempts_retry_left: f.optional_u8(PIN_MAX_ATTEMPTS, "maxNumOfAttemps-retryNumLeft")?,
            })
        })
        .collect()
}

/// Reads every PUKConfiguration of a PE-PUKCodes element.
pub(crate) fn read_puk_codes(element: &ProfileElement, index: usize) -> Result<Vec<PukConfiguration>, ProfileError> {
    let malformed = ProfileError::malformed(index, element.offset());
    let pe = element.tlv().map_err(malformed)?;
    if pe.child(PUK_CODES).map_err(malformed)?.is_none() {
        return Err(ProfileError::MissingField { element_index: index, element: "PE-PUKCodes", field: "pukCodes" });
    }
    let configs = tree::find_all(&pe, &[PUK_CODES, SEQUENCE]).map_err(malformed)?;
    configs
        .iter()
        .map(|config| {
            let f = Fields { index, element: "PE-PUKCodes", config, malformed: &malformed };
            Ok(PukConfiguration {
                element_index: index,
                key_reference: f.required_u8(KEY_REFERENCE, "keyReference")?,
                puk_value: PukValue::from_bytes(f.value8("pukValue")?),
                max_attempts_retry_left: f.optional_u8(PUK_MAX_ATTEMPTS, "maxNumOfAttemps-retryNumLeft")?,
            })
        })
        .collect()
}

/// Replaces the `pinValue`/`pukValue` of every configuration whose `keyReference` has a new value.
/// `new_value(key_reference)` gives it. Returns the new element bytes (`None`: nothing changed) and the key
/// references that were rewritten.
fn with_values(
    element: &ProfileElement,
    index: usize,
    path: &[Tag],
    new_value: &dyn Fn(u8) -> Option<[u8; 8]>,
) -> Result<(Option<Vec<u8>>, Vec<u8>), ProfileError> {
    let malformed = ProfileError::malformed(index, element.offset());
    let pe = element.tlv().map_err(malformed)?;
    let mut rewritten = Vec::new();
    let mut edit = |config: &Tlv<'_>| -> Result<Option<Vec<u8>>, ProfileError> {
        let Some(key_ref) = config.child(KEY_REFERENCE).map_err(malformed)? else { return Ok(None) };
        let Some(key_ref) = tree::uint(key_ref.value()).and_then(|v| u8::try_from(v).ok()) else {
            return Ok(None);
        };
        let Some(value) = new_value(key_ref) else { return Ok(None) };
        rewritten.push(key_ref);
        let mut replace =
            |t: &Tlv<'_>| -> Result<Option<Vec<u8>>, ProfileError> { Ok(Some(tlv::encode(t.tag(), &value))) };
        let (bytes, _) = tree::rewrite(config, &[VALUE], &mut replace, &malformed)?;
        Ok(Some(bytes))
    };
    let (bytes, n) = tree::rewrite(&pe, path, &mut edit, &malformed)?;
    Ok(((n > 0).then_some(bytes), rewritten))
}

pub(crate) fn with_pin_values(
    element: &ProfileElement,
    index: usize,
    new_value: &dyn Fn(u8) -> Option<[u8; 8]>,
) -> Result<(Option<Vec<u8>>, Vec<u8>), ProfileError> {
    with_values(element, index, &[PIN_CODES, PINCONFIG, SEQUENCE], new_value)
}

pub(crate) fn with_puk_values(
    element: &ProfileElement,
    index: usize,
    new_value: &dyn Fn(u8) -> Option<[u8; 8]>,
) -> Result<(Option<Vec<u8>>, Vec<u8>), ProfileError> {
    with_values(element, index, &[PUK_CODES, SEQUENCE], new_value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_and_puk_values() {
        assert_eq!(PinValue::new("0000").unwrap().expose(), b"0000\xFF\xFF\xFF\xFF");
        assert_eq!(PinValue::new("12345678").unwrap().expose(), b"12345678");
        assert!(PinValue::new("123").is_err());
        assert!(PinValue::new("123456789").is_err());
        assert!(PinValue::new("12a4").is_err());
        assert!(PukValue::new("1234567").is_err());
        assert_eq!(PukValue::new("87654321").unwrap().expose(), b"87654321");
        assert_eq!(format!("{:?}", PinValue::new("1234").unwrap()), "PinValue(redacted)");
    }
}
