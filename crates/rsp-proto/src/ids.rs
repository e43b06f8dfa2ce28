//! The checked identifiers of remote SIM provisioning (STYLE.md "parse, don't validate"): once a value exists
//! it is valid. [`MatchingId`], [`TransactionId`], [`Eid`], [`Iccid`] and the [`ActivationCode`] an end user
//! scans (SGP.22 v2.5 §4.1 activation code, §2.5.3 transactionId; SGP.29 EID; ITU-T E.118 ICCID).

use std::fmt;

/// The ICCID lives with the profile encodings it is read from and written to (EF.ICCID, ProfileHeader).
pub use crate::profile::Iccid;

/// Characters of generated matching ids: upper-case letters and digits without the look-alikes 0/O, 1/I/L.
const UNAMBIGUOUS: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Length of a generated matching id.
const GENERATED_LEN: usize = 20;

/// A matchingId (SGP.22 v2.5 §4.1: "MatchingID", at most 255 characters of `0-9 A-Z -`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MatchingId(String);

impl MatchingId {
    /// Checks a matchingId given by an operator or received from an LPA.
    pub fn new(s: &str) -> Result<Self, String> {
        if s.is_empty() || s.len() > 255 {
            return Err(format!("matchingId must be 1 to 255 characters (got {})", s.len()));
        }
        if !s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-') {
            return Err("matchingId may contain only 0-9, A-Z and '-'".to_owned());
        }
        Ok(MatchingId(s.to_owned()))
    }

    /// A fresh random matchingId of unambiguous upper-case alphanumerics.
    pub fn generate() -> Result<Self, String> {
        let mut random = [0u8; GENERATED_LEN];
        openssl::rand::rand_bytes(&mut random).map_err(|e| e.to_string())?;
        // 256 is not a multiple of 31: the bias (< 1 %) does not matter for an identifier.
        Ok(MatchingId(random.iter().map(|b| UNAMBIGUOUS[usize::from(*b) % UNAMBIGUOUS.len()] as char).collect()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MatchingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An RSP session's transactionId (SGP.22 v2.5 §2.5.3: OCTET STRING (SIZE(1..16)); hex text in the JSON binding).
///
/// Both forms are kept: the bytes (ASN.1, euiccSigned1 / smdpSigned2) and the upper-case hex (JSON binding,
/// database key), each made once when the value is built, so a step never converts back and forth.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransactionId {
    bytes: Vec<u8>,
    hex: String,
}

impl TransactionId {
    /// 16 random bytes, for a new session.
    pub fn generate() -> Result<Self, String> {
        let mut random = [0u8; 16];
        openssl::rand::rand_bytes(&mut random).map_err(|e| e.to_string())?;
        Self::from_bytes(&random)
    }

    /// From the bytes of the ASN.1 value.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        if bytes.is_empty() || bytes.len() > 16 {
            return Err(format!("transactionId must be 1 to 16 bytes (got {})", bytes.len()));
        }
        Ok(TransactionId { bytes: bytes.to_vec(), hex: hex::encode_upper(bytes) })
    }

    /// From hex text (either case), as the JSON binding carries it.
    pub fn from_hex(s: &str) -> Result<Self, String> {
        let bytes = hex::decode(s).map_err(|_| "transactionId is not hexadecimal".to_owned())?;
        Self::from_bytes(&bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Upper-case hex: the JSON form and the database key (made once, with the value).
    pub fn as_hex(&self) -> &str {
        &self.hex
    }

    /// [`TransactionId::as_hex`], owned.
    pub fn to_hex(&self) -> String {
        self.hex.clone()
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex)
    }
}

/// An EID: 32 decimal digits with valid check digits (SGP.29 / SGP.22 v2.5 §4.5.2.1.0.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Eid(String);

impl Eid {
    pub fn new(s: &str) -> Result<Self, String> {
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err("an EID is 32 decimal digits".to_owned());
        }
        if !crate::pki::eid::has_valid_check_digits(s) {
            return Err(format!("EID {s} has wrong check digits"));
        }
        Ok(Eid(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 16 bytes of the EID (BCD), as it enters the BPP key derivation (SGP.22 v2.5 §2.6.4.2).
    pub fn to_bytes(&self) -> Vec<u8> {
        hex::decode(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for Eid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An activation code `LPA:1$<SM-DP+ address>$<matchingId>` (SGP.22 v2.5 §4.1), kept minimal on purpose:
/// optional fields break some LPA parsers (INTEROP.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationCode {
    pub smdp_address: String,
    pub matching_id: MatchingId,
}

impl fmt::Display for ActivationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LPA:1${}${}", self.smdp_address, self.matching_id)
    }
}

/// The checked identifiers to and from their ASN.1 data objects (`codec::sgp22`), so no caller converts by hand.
mod wire {
    use rasn::types::{FixedOctetString, OctetString};

    use super::{Iccid, TransactionId};
    use crate::codec::sgp22;
    use crate::profile::ProfileError;

    impl From<&TransactionId> for sgp22::TransactionId {
        fn from(t: &TransactionId) -> Self {
            sgp22::TransactionId(OctetString::from(t.as_bytes().to_vec()))
        }
    }

    impl TryFrom<&sgp22::TransactionId> for TransactionId {
        type Error = String;
        fn try_from(t: &sgp22::TransactionId) -> Result<Self, String> {
            TransactionId::from_bytes(&t.0)
        }
    }

    /// `Iccid ::= [APPLICATION 26] OCTET STRING (SIZE(10))` carries the EF.ICCID bytes.
    impl From<&Iccid> for sgp22::Iccid {
        fn from(i: &Iccid) -> Self {
            sgp22::Iccid(FixedOctetString::new(i.to_ef_iccid()))
        }
    }

    impl TryFrom<&sgp22::Iccid> for Iccid {
        type Error = ProfileError;
        fn try_from(i: &sgp22::Iccid) -> Result<Self, ProfileError> {
            Iccid::from_ef_iccid(i.0.as_slice())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_matching_ids_are_unambiguous() {
        let id = MatchingId::generate().unwrap();
        assert_eq!(id.as_str().len(), GENERATED_LEN);
        assert!(id.as_str().bytes().all(|b| UNAMBIGUOUS.contains(&b)));
        assert!(MatchingId::new(id.as_str()).is_ok());
        assert!(MatchingId::new("abc").is_err());
        assert!(MatchingId::new("").is_err());
    }

    #[test]
    fn transaction_ids_round_trip_hex() {
        let t = TransactionId::generate().unwrap();
        assert_eq!(TransactionId::from_hex(&t.to_hex().to_lowercase()).unwrap(), t);
        assert!(TransactionId::from_hex("zz").is_err());
        assert!(TransactionId::from_hex("").is_err());
    }

    #[test]
    fn activation_code_is_minimal() {
        let ac =
            ActivationCode { smdp_address: "localhost:8443".into(), matching_id: MatchingId::new("AB-12").unwrap() };
        assert_eq!(ac.to_string(), "LPA:1$localhost:8443$AB-12");
    }

    #[test]
    fn identifiers_convert_to_and_from_their_data_objects() {
        let t = TransactionId::generate().unwrap();
        let wire = crate::codec::sgp22::TransactionId::from(&t);
        assert_eq!(TransactionId::try_from(&wire).unwrap(), t);
        let body = "8949000000000000001";
        let iccid = Iccid::new(&format!("{body}{}", Iccid::luhn_check_digit(body).unwrap())).unwrap();
        let wire = crate::codec::sgp22::Iccid::from(&iccid);
        assert_eq!(Iccid::try_from(&wire).unwrap(), iccid);
    }
}
