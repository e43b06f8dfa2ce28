//! EIDs: 32 decimal digits (GSMA SGP.29; SGP.22 v2.5 §4.5.2 puts the EID in the eUICC
//! certificate's subject `serialNumber`) whose last two digits are check digits computed as in
//! ISO/IEC 7064 MOD 97-10 (the IBAN scheme): the whole number is ≡ 1 (mod 97).

/// The two MOD 97-10 check digits for the first 30 digits of an EID, or `None` when `body` is
/// not 30 decimal digits: append `00`, take the remainder modulo 97, check = 98 − remainder.
pub fn check_digits(body: &str) -> Option<String> {
    if body.len() != 30 || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let remainder = mod97(body.bytes().chain(*b"00"));
    Some(format!("{:02}", 98 - remainder))
}

/// Whether `eid` is 32 decimal digits whose value is ≡ 1 (mod 97).
pub fn has_valid_check_digits(eid: &str) -> bool {
    eid.len() == 32 && eid.bytes().all(|b| b.is_ascii_digit()) && mod97(eid.bytes()) == 1
}

fn mod97(digits: impl Iterator<Item = u8>) -> u32 {
    digits.fold(0u32, |acc, d| (acc * 10 + u32::from(d - b'0')) % 97)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The eUICC EID of the public SGP.26 test certificates.
    const SGP26_EID: &str = "89049032123451234512345678901235";

    #[test]
    fn sgp26_eid_is_valid() {
        assert!(has_valid_check_digits(SGP26_EID));
        assert_eq!(check_digits(&SGP26_EID[..30]).as_deref(), Some("35"));
    }

    #[test]
    fn any_single_digit_change_is_invalid() {
        for i in 0..32 {
            let mut digits = SGP26_EID.as_bytes().to_vec();
            digits[i] = if digits[i] == b'9' { b'0' } else { digits[i] + 1 };
            let changed = String::from_utf8(digits).unwrap();
            assert!(!has_valid_check_digits(&changed), "{changed}");
        }
    }

    #[test]
    fn rejects_malformed() {
        assert!(!has_valid_check_digits("8904903212345123451234567890123"));
        assert!(!has_valid_check_digits("8904903212345123451234567890123X"));
        assert_eq!(check_digits("12"), None);
    }
}
