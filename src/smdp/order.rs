//! Download orders: which profile a matchingId (and optionally an EID) downloads, and the confirmation code
//! that guards it (SGP.22 v2.5 §3.1.1 profile download initiation, §3.1.3.1 / §5.6.2 confirmation code).
//!
//! The confirmation code is never stored: the order keeps `SHA256(cc)`, because the eUICC sends
//! `hashCc = SHA256(SHA256(cc) || transactionId)` (§3.1.3.1) and that is all the SM-DP+ needs to check it.
//! Wrong codes use up attempts ([`DEFAULT_CC_ATTEMPTS`]); with none left the order is blocked (profile → Error).

use openssl::sha::{sha256, Sha256};

use super::ids::{Eid, MatchingId};
use super::profile_state::ProfileState;

/// Confirmation code attempts an order starts with.
pub const DEFAULT_CC_ATTEMPTS: i32 = 3;

/// A download order to create (the `rspd order create` / ES2+ DownloadOrder+ConfirmOrder input).
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub operator_id: String,
    pub iccid: String,
    pub matching_id: MatchingId,
    /// Only this eUICC may download the profile.
    pub eid: Option<Eid>,
    /// `SHA256(confirmation code)`; see [`confirmation_code_digest`].
    pub cc_hash: Option<[u8; 32]>,
    pub cc_attempts: i32,
}

/// One stored order, with the state of its profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    pub id: i64,
    pub operator_id: String,
    pub iccid: String,
    pub matching_id: String,
    pub eid: Option<String>,
    pub cc_hash: Option<Vec<u8>>,
    pub cc_attempts_left: i32,
    /// The transactionId (hex) of the download session holding the order, if any.
    pub session_id: Option<String>,
    /// The profile's state (the order has no state of its own).
    pub state: ProfileState,
}

impl OrderRecord {
    pub fn cc_required(&self) -> bool {
        self.cc_hash.is_some()
    }
}

/// `SHA256(cc)`, what an order stores (§3.1.3.1).
pub fn confirmation_code_digest(confirmation_code: &str) -> [u8; 32] {
    sha256(confirmation_code.as_bytes())
}

/// Whether the eUICC's `hashCc` matches `SHA256(stored_digest || transactionId)` (§3.1.3.1, §5.6.2).
pub fn confirmation_code_matches(stored_digest: &[u8], transaction_id: &[u8], hash_cc: &[u8]) -> bool {
    let mut h = Sha256::new();
    h.update(stored_digest);
    h.update(transaction_id);
    let expected = h.finish();
    hash_cc.len() == expected.len() && openssl::memcmp::eq(&expected, hash_cc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_cc_check_follows_the_spec_formula() {
        let digest = confirmation_code_digest("1234");
        let tx = [1u8; 16];
        let mut h = Sha256::new();
        h.update(&sha256(b"1234"));
        h.update(&tx);
        let hash_cc = h.finish();
        assert!(confirmation_code_matches(&digest, &tx, &hash_cc));
        assert!(!confirmation_code_matches(&confirmation_code_digest("1235"), &tx, &hash_cc));
        assert!(!confirmation_code_matches(&digest, &tx, &hash_cc[..31]));
    }
}
