//! ICCID and IMSI newtypes with checking constructors and their on-card encodings: EF.ICCID (ETSI TS 102 221
//! §13.2, ITU-T E.118: BCD, nibble-swapped, 'F'-padded, Luhn check digit), the ProfileHeader `iccid` field
//! (TCA SAIP v2.3 §8.3: the same digits in plain BCD order, 'F'-padded) and EF.IMSI (3GPP TS 31.102 §4.2.2:
//! length byte, then the parity/type nibble and the digits).

use std::fmt;

use super::error::ProfileError;

/// EF.ICCID and the header `iccid` are 10 bytes (SAIP: `OCTET STRING (SIZE (10))`).
pub const ICCID_LEN: usize = 10;
/// EF.IMSI is 9 bytes: the length byte and 8 bytes of digits (TS 31.102 §4.2.2).
pub const EF_IMSI_LEN: usize = 9;

/// An Integrated Circuit Card Identifier: 18 to 20 digits, starting with the telecom major industry
/// identifier `89`, whose last digit is the Luhn check digit (ITU-T E.118 §4.4). Stored as in EF.ICCID.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Iccid {
    /// EF.ICCID bytes: digit pairs nibble-swapped, unused nibbles 'F'.
    ef_iccid: [u8; ICCID_LEN],
    digit_count: u8,
}

impl Iccid {
    /// Checks and builds an ICCID from its decimal digits.
    pub fn new(digits: &str) -> Result<Self, ProfileError> {
        let invalid = |reason| ProfileError::InvalidIccid { reason };
        if !(18..=20).contains(&digits.len()) {
            return Err(invalid("an ICCID has 18 to 20 digits"));
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("an ICCID holds decimal digits only"));
        }
        if !digits.starts_with("89") {
            return Err(invalid("an ICCID starts with the telecom industry identifier 89 (E.118)"));
        }
        if !luhn_valid(digits) {
            return Err(invalid("the last digit is not the Luhn check digit (E.118)"));
        }
        let nibbles: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
        let mut ef_iccid = [0xFF_u8; ICCID_LEN];
        for (i, pair) in nibbles.chunks(2).enumerate() {
            let low = pair[0];
            let high = pair.get(1).copied().unwrap_or(0xF);
            ef_iccid[i] = (high << 4) | low;
        }
        Ok(Iccid { ef_iccid, digit_count: digits.len() as u8 })
    }

    /// The Luhn (E.118) check digit that completes the ICCID digits `body` (without its check digit); None
    /// when `body` holds anything but decimal digits.
    pub fn luhn_check_digit(body: &str) -> Option<u8> {
        if !body.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(((10 - luhn_sum(body, 0) % 10) % 10) as u8)
    }

    /// Reads EF.ICCID content (nibble-swapped BCD, 'F' padding), checking the ICCID rules of [`Iccid::new`].
    pub fn from_ef_iccid(bytes: &[u8]) -> Result<Self, ProfileError> {
        let digits = bcd_digits(bytes, true)?;
        Iccid::new(&digits)
    }

    /// Reads the ProfileHeader `iccid` field (plain BCD order, 'F' padding).
    pub fn from_header_bytes(bytes: &[u8]) -> Result<Self, ProfileError> {
        let digits = bcd_digits(bytes, false)?;
        Iccid::new(&digits)
    }

    /// The EF.ICCID file content.
    pub fn to_ef_iccid(&self) -> [u8; ICCID_LEN] {
        self.ef_iccid
    }

    /// The ProfileHeader `iccid` value: the EF.ICCID bytes with each byte's nibbles swapped back.
    pub fn to_header_bytes(&self) -> [u8; ICCID_LEN] {
        self.ef_iccid.map(|b| b.rotate_left(4))
    }

    /// The decimal digits.
    pub fn digits(&self) -> String {
        let mut out = String::with_capacity(usize::from(self.digit_count));
        for b in self.ef_iccid {
            for nibble in [b & 0x0F, b >> 4] {
                if out.len() < usize::from(self.digit_count) {
                    out.push(char::from(b'0' + nibble));
                }
            }
        }
        out
    }
}

impl fmt::Debug for Iccid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iccid({})", self.digits())
    }
}

impl fmt::Display for Iccid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digits())
    }
}

/// Decodes 'F'-padded BCD; `swapped` means the first digit is the low nibble (EF.ICCID order).
/// After the first 'F' only 'F' may follow.
fn bcd_digits(bytes: &[u8], swapped: bool) -> Result<String, ProfileError> {
    let invalid = |reason| ProfileError::InvalidIccid { reason };
    if bytes.len() != ICCID_LEN {
        return Err(invalid("the encoded ICCID is not 10 bytes"));
    }
    let mut digits = String::with_capacity(2 * ICCID_LEN);
    let mut padded = false;
    for b in bytes {
        let (first, second) = if swapped { (b & 0x0F, b >> 4) } else { (b >> 4, b & 0x0F) };
        for nibble in [first, second] {
            match nibble {
                0..=9 if !padded => digits.push(char::from(b'0' + nibble)),
                0xF => padded = true,
                _ => return Err(invalid("the encoded ICCID holds a nibble that is neither a digit nor F padding")),
            }
        }
    }
    Ok(digits)
}

/// Luhn (mod 10) check over all digits, the last one being the check digit.
fn luhn_valid(digits: &str) -> bool {
    luhn_sum(digits, 1) % 10 == 0
}

/// The Luhn weighted digit sum of `digits` (ASCII decimal digits), doubling every second digit from the
/// right, the first doubled one at index `first_doubled` (0 or 1) counted from the right.
fn luhn_sum(digits: &str, first_doubled: usize) -> u32 {
    digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == first_doubled {
                let dd = d * 2;
                if dd > 9 {
                    dd - 9
                } else {
                    dd
                }
            } else {
                d
            }
        })
        .sum()
}

/// An International Mobile Subscriber Identity: 6 to 15 decimal digits (3GPP TS 23.003 §2.2; TS 31.102 §4.2.2
/// allows EF.IMSI to hold up to 15). MCC and MNC are its first digits; no further structure is checked.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Imsi(String);

impl Imsi {
    pub fn new(digits: &str) -> Result<Self, ProfileError> {
        let invalid = |reason| ProfileError::InvalidImsi { reason };
        if !(6..=15).contains(&digits.len()) {
            return Err(invalid("an IMSI has 6 to 15 digits"));
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("an IMSI holds decimal digits only"));
        }
        Ok(Imsi(digits.to_owned()))
    }

    pub fn digits(&self) -> &str {
        &self.0
    }

    /// EF.IMSI content per TS 31.102 §4.2.2: byte 1 the number of bytes that follow; byte 2 low nibble the
    /// identity type and parity (`1001` odd digit count, `0001` even), high nibble digit 1; then digits
    /// low-nibble first, an unused high nibble 'F'; unused bytes 'FF'.
    pub fn to_ef_imsi(&self) -> [u8; EF_IMSI_LEN] {
        let digits: Vec<u8> = self.0.bytes().map(|b| b - b'0').collect();
        let parity: u8 = if digits.len() % 2 == 1 { 0b1001 } else { 0b0001 };
        // The parity nibble counts as the first "digit".
        let mut nibbles = Vec::with_capacity(16);
        nibbles.push(parity);
        nibbles.extend_from_slice(&digits);
        if nibbles.len() % 2 == 1 {
            nibbles.push(0xF);
        }
        let mut out = [0xFF_u8; EF_IMSI_LEN];
        out[0] = (nibbles.len() / 2) as u8;
        for (i, pair) in nibbles.chunks(2).enumerate() {
            out[1 + i] = (pair[1] << 4) | pair[0];
        }
        out
    }

    /// Reads EF.IMSI content (TS 31.102 §4.2.2), checking the length byte and the parity nibble.
    pub fn from_ef_imsi(bytes: &[u8]) -> Result<Self, ProfileError> {
        let invalid = |reason| ProfileError::InvalidImsi { reason };
        let (&len, rest) = bytes.split_first().ok_or(invalid("EF.IMSI is empty"))?;
        let len = usize::from(len);
        if !(1..=8).contains(&len) {
            return Err(invalid("the EF.IMSI length byte is not 1 to 8"));
        }
        let body = rest.get(..len).ok_or(invalid("EF.IMSI is shorter than its length byte says"))?;
        let mut nibbles = body.iter().flat_map(|b| [b & 0x0F, b >> 4]);
        let odd = match nibbles.next() {
            Some(0b1001) => true,
            Some(0b0001) => false,
            _ => return Err(invalid("the EF.IMSI type/parity nibble is not 1001 or 0001")),
        };
        let mut digits = String::with_capacity(15);
        for (i, nibble) in nibbles.enumerate() {
            let last = i == 2 * len - 2;
            match nibble {
                0..=9 => digits.push(char::from(b'0' + nibble)),
                0xF if last && !odd => {}
                _ => return Err(invalid("EF.IMSI holds a nibble that is not a digit")),
            }
        }
        if (digits.len() % 2 == 1) != odd {
            return Err(invalid("the EF.IMSI parity nibble does not match the digit count"));
        }
        Imsi::new(&digits)
    }
}

impl fmt::Debug for Imsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Imsi({})", self.0)
    }
}

impl fmt::Display for Imsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ts48_iccid_encodings() {
        let iccid = Iccid::new("89000123456789012341").unwrap();
        assert_eq!(hex::encode(iccid.to_ef_iccid()), "98001032547698103214");
        assert_eq!(hex::encode(iccid.to_header_bytes()), "89000123456789012341");
        assert_eq!(Iccid::from_ef_iccid(&iccid.to_ef_iccid()).unwrap(), iccid);
        assert_eq!(Iccid::from_header_bytes(&iccid.to_header_bytes()).unwrap(), iccid);
        assert_eq!(iccid.digits(), "89000123456789012341");
    }

    #[test]
    fn nineteen_digit_iccid_is_f_padded() {
        // 894400000000000001 + Luhn digit.
        let digits = (0..10).map(|d| format!("894400000000000001{d}")).find(|s| luhn_valid(s)).unwrap();
        let iccid = Iccid::new(&digits).unwrap();
        assert_eq!(iccid.to_ef_iccid()[9] >> 4, 0xF);
        assert_eq!(iccid.to_header_bytes()[9] & 0x0F, 0xF);
        assert_eq!(Iccid::from_ef_iccid(&iccid.to_ef_iccid()).unwrap().digits(), digits);
    }

    #[test]
    fn luhn_check_digit_completes_a_valid_iccid() {
        for body in ["8988239000000000001", "894400000000000001", "8901260000000000000"] {
            let d = Iccid::luhn_check_digit(body).unwrap();
            assert!(luhn_valid(&format!("{body}{d}")), "{body}{d}");
        }
        assert_eq!(Iccid::luhn_check_digit("89x"), None);
    }

    #[test]
    fn iccid_rejections() {
        assert!(Iccid::new("89000123456789012342").is_err(), "Luhn");
        assert!(Iccid::new("8900012345678901").is_err(), "too short");
        assert!(Iccid::new("890001234567890123410").is_err(), "too long");
        assert!(Iccid::new("1900012345678901234").is_err(), "not 89");
        assert!(Iccid::new("8900012345678901234a").is_err(), "not digits");
        assert!(Iccid::from_ef_iccid(&hex::decode("98001032547698103A14").unwrap()).is_err());
        assert!(Iccid::from_ef_iccid(&hex::decode("98001032547698F032F4").unwrap()).is_err(), "digit after F");
        assert!(Iccid::from_ef_iccid(&[0x98; 9]).is_err());
    }

    #[test]
    fn ts48_imsi_ef_imsi() {
        // EF.IMSI of the TS.48 profiles: IMSI 001010123456063.
        let ef = hex::decode("080910101032540636").unwrap();
        let imsi = Imsi::from_ef_imsi(&ef).unwrap();
        assert_eq!(imsi.digits(), "001010123456063");
        assert_eq!(imsi.to_ef_imsi().to_vec(), ef);
    }

    #[test]
    fn even_and_short_imsi() {
        let imsi = Imsi::new("12345678901234").unwrap();
        let ef = imsi.to_ef_imsi();
        assert_eq!(hex::encode(ef), "0811325476981032f4");
        assert_eq!(Imsi::from_ef_imsi(&ef).unwrap(), imsi);
        let short = Imsi::new("262011").unwrap();
        assert_eq!(hex::encode(short.to_ef_imsi()), "04212610f1ffffffff");
        assert_eq!(Imsi::from_ef_imsi(&short.to_ef_imsi()).unwrap(), short);
    }

    #[test]
    fn imsi_rejections() {
        assert!(Imsi::new("12345").is_err());
        assert!(Imsi::new("1234567890123456").is_err());
        assert!(Imsi::new("12345a").is_err());
        assert!(Imsi::from_ef_imsi(&[]).is_err());
        assert!(Imsi::from_ef_imsi(&hex::decode("09091010103254063600").unwrap()).is_err(), "length 9");
        assert!(Imsi::from_ef_imsi(&hex::decode("080110101032540636").unwrap()).is_err(), "parity");
        assert!(Imsi::from_ef_imsi(&hex::decode("0809101010").unwrap()).is_err(), "short");
    }
}
