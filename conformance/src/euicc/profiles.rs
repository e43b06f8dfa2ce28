//! The profiles installed on the soft eUICC (SGP.22 v2.5 §2.4.4 ISD-P, §5.7.15 ProfileInfo): one entry per
//! ISD-P, keyed by ICCID, holding the metadata of StoreMetadata (§5.5.3) and the profile package as loaded.

use rspd::codec::sgp22::StoreMetadataRequest;

/// `ProfileState` (SGP.22 v2.5 §5.7.15): a freshly installed profile is disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileState {
    Disabled = 0,
    Enabled = 1,
}

/// One installed profile.
#[derive(Debug, Clone)]
pub struct InstalledProfile {
    /// ICCID digits (ProfileHeader `iccid`).
    pub iccid: String,
    /// AID of its ISD-P (16 bytes).
    pub isdp_aid: Vec<u8>,
    pub state: ProfileState,
    /// StoreMetadataRequest as received in the BPP.
    pub metadata: StoreMetadataRequest,
    /// The unprotected profile package, as decrypted.
    pub profile_package: Vec<u8>,
}

/// The ISD-P AID for ISD-P number `n`: `A0000005591010FFFFFFFF890000nn00`, the ISD-P AIDs real eUICCs use
/// (the ISD-R is `…89000001 00`).
pub fn isdp_aid(n: u8) -> Vec<u8> {
    vec![0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, n, 0x00]
}
