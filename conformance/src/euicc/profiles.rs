//! The profiles installed on the soft eUICC (SGP.22 v2.5 §2.4.4 ISD-P, §5.7.15 ProfileInfo): one entry per
//! ISD-P, keyed by ICCID, holding the metadata of StoreMetadata (§5.5.3) and the profile package as loaded,
//! plus the SGP.32 v1.2 §3.4.5 Fallback Attribute (`ProfileInfo.fallbackAttribute`, set by the
//! setFallbackAttribute PSMO §5.9.8).

use rsp_proto::codec::sgp22::StoreMetadataRequest;

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
    /// SGP.32 v1.2 Fallback Attribute: at most one profile on the eUICC carries it.
    pub fallback_attribute: bool,
}

impl InstalledProfile {
    /// A profile as if it had been downloaded, for tests that need a profile table without an SM-DP+:
    /// `iccid` is 19 or 20 digits; the metadata carries only the ICCID, names and `profile_class`
    /// operational(2).
    pub fn seeded(iccid: &str, isdp_number: u8, state: ProfileState) -> Result<Self, String> {
        let parsed = rsp_proto::profile::Iccid::new(iccid).map_err(|e| e.to_string())?;
        let metadata = StoreMetadataRequest {
            iccid: rsp_proto::codec::sgp22::Iccid(rasn::types::FixedOctetString::new(parsed.to_ef_iccid())),
            service_provider_name: "Seeded SP".into(),
            profile_name: format!("Seeded {iccid}"),
            icon_type: None,
            icon: None,
            profile_class: 2,
            notification_configuration_info: None,
            profile_owner: None,
            profile_policy_rules: None,
            service_specific_data_stored_in_euicc: None,
            service_specific_data_not_stored_in_euicc: None,
        };
        Ok(InstalledProfile {
            iccid: parsed.digits(),
            isdp_aid: isdp_aid(isdp_number),
            state,
            metadata,
            profile_package: Vec::new(),
            fallback_attribute: false,
        })
    }
}

/// The ISD-P AID for ISD-P number `n`: `A0000005591010FFFFFFFF890000nn00`, the ISD-P AIDs real eUICCs use
/// (the ISD-R is `…89000001 00`).
pub fn isdp_aid(n: u8) -> Vec<u8> {
    vec![0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, n, 0x00]
}
