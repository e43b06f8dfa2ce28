//! EIDs of the test PKI: the EUM's permitted prefix and a sample eUICC EID with check digits
//! (computed by [`crate::pki::eid`]).
//!
//! An EID is 32 decimal digits (GSMA SGP.29; SGP.22 v2.5 §4.5.2 puts it in the eUICC
//! certificate's subject `serialNumber`). The last two digits are check digits computed as in
//! ISO/IEC 7064 MOD 97-10 (the IBAN scheme): the whole 32-digit number is ≡ 1 (mod 97).

use crate::pki::eid::check_digits;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::eid::has_valid_check_digits;

    #[test]
    fn sample_eid_is_valid_and_under_the_test_prefix() {
        let eid = sample_euicc_eid();
        assert_eq!(eid.len(), 32);
        assert!(eid.starts_with(TEST_EID_PREFIX));
        assert!(has_valid_check_digits(&eid));
    }
}
