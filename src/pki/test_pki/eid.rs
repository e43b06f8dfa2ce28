//! EIDs of the test PKI: the EUM's permitted prefix and a sample eUICC EID with check digits.
//!
//! An EID is 32 decimal digits (GSMA SGP.29; SGP.22 v2.5 §4.5.2 puts it in the eUICC
//! certificate's subject `serialNumber`). The last two digits are check digits computed as in
//! ISO/IEC 7064 MOD 97-10 (the IBAN scheme): the whole 32-digit number is ≡ 1 (mod 97).

/// EID prefix of the test EUM, written into its NameConstraints as the permitted
/// `serialNumber` (SGP.22 v2.5 §4.5.2, EUM certificate). `89` is the telecom MII; country code `999` is not
/// assigned by ITU-T E.164, so no real eUICC carries this prefix: it is clearly a test EID.
pub const TEST_EID_PREFIX: &str = "89999999";

/// The 22 digits that follow the prefix in the sample eUICC's EID, before the check digits
/// (SGP.29: platform/OS version info and individual identification number).
const SAMPLE_EUICC_SERIAL: &str = "0000000000000000000001";

/// The sample eUICC EID: [`TEST_EID_PREFIX`], a serial, and the two check digits.
pub(crate) fn sample_euicc_eid() -> String {
    // Both parts are fixed digit strings of 8 + 22 = 30 digits, so this cannot fail.
    let body = format!("{TEST_EID_PREFIX}{SAMPLE_EUICC_SERIAL}");
    let check = check_digits(&body).unwrap_or_default();
    format!("{body}{check}")
}

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
    fn sample_eid_is_valid_and_under_the_test_prefix() {
        let eid = sample_euicc_eid();
        assert_eq!(eid.len(), 32);
        assert!(eid.starts_with(TEST_EID_PREFIX));
        assert!(has_valid_check_digits(&eid));
    }

    #[test]
    fn rejects_malformed() {
        assert!(!has_valid_check_digits("8904903212345123451234567890123"));
        assert!(!has_valid_check_digits("8904903212345123451234567890123X"));
        assert_eq!(check_digits("12"), None);
    }
}
