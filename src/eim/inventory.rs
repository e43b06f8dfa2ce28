//! The per-device profile inventory the eIM keeps from verified results (SGP.32 v1.2 §5.9.2–§5.9.10 PSMO
//! results, §5.9.5 listProfileInfo): which profiles an eUICC holds, which is enabled, which carries the
//! fallback attribute. Only operations whose result is `ok(0)` change it; a `listProfileInfo` result replaces
//! it. The eUICC is modelled with one enabled profile at a time (SGP.32 eUICCs enable a profile by disabling
//! the current one), so enabling one marks the others disabled.

use crate::codec::decode;
use crate::codec::sgp22::Iccid as IccidDo;
use crate::codec::sgp32::{
    EuiccPackage, EuiccPackageRequest, EuiccResultData, ProfileInfo, ProfileInfoListResponse, Psmo,
};
use crate::profile::Iccid;

use super::result::PackageOutcome;

/// `ProfileState ::= INTEGER {disabled(0), enabled(1)}` as stored.
pub const ENABLED: &str = "enabled";
/// See [`ENABLED`].
pub const DISABLED: &str = "disabled";

/// One profile as listed by the eUICC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedProfile {
    pub iccid: String,
    /// [`ENABLED`] or [`DISABLED`].
    pub state: &'static str,
    pub fallback_attribute: bool,
}

/// A change to one eUICC's inventory, applied in the transaction that records the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileChange {
    /// listProfileInfo: the eUICC's complete list.
    Snapshot(Vec<ListedProfile>),
    /// enable ok: this one enabled, every other disabled.
    Enabled(String),
    /// disable ok.
    Disabled(String),
    /// delete ok.
    Deleted(String),
    /// setFallbackAttribute ok: this one carries it, no other does.
    FallbackSet(String),
    /// unsetFallbackAttribute ok.
    FallbackUnset,
    /// A profile download the eIM triggered installed this ICCID (disabled, SGP.22 v2.5 §3.1.3).
    Installed(String),
}

/// The inventory changes a verified result implies for the package it answers (`package_der`, the
/// EuiccPackageRequest as sent). Results pair with operations by position; an undecodable package or ICCID
/// yields no change for that operation (the order outcome is unaffected).
pub fn profile_changes(package_der: &[u8], outcome: &PackageOutcome) -> Vec<ProfileChange> {
    let PackageOutcome::Executed { euicc_result, .. } = outcome else { return Vec::new() };
    let Ok(request) = decode::<EuiccPackageRequest>(package_der) else { return Vec::new() };
    let EuiccPackage::PsmoList(psmos) = request.euicc_package_signed.euicc_package else { return Vec::new() };
    psmos.iter().zip(euicc_result).filter_map(|(psmo, result)| change(psmo, result)).collect()
}

fn change(psmo: &Psmo, result: &EuiccResultData) -> Option<ProfileChange> {
    match (psmo, result) {
        (Psmo::Enable(p), EuiccResultData::EnableResult(0)) => Some(ProfileChange::Enabled(digits(&p.iccid)?)),
        (Psmo::Disable(p), EuiccResultData::DisableResult(0)) => Some(ProfileChange::Disabled(digits(&p.iccid)?)),
        (Psmo::Delete(p), EuiccResultData::DeleteResult(0)) => Some(ProfileChange::Deleted(digits(&p.iccid)?)),
        (Psmo::SetFallbackAttribute(p), EuiccResultData::SetFallbackAttributeResult(0)) => {
            Some(ProfileChange::FallbackSet(digits(&p.iccid)?))
        }
        (Psmo::UnsetFallbackAttribute(_), EuiccResultData::UnsetFallbackAttributeResult(0)) => {
            Some(ProfileChange::FallbackUnset)
        }
        // A filtered list (searchCriteria) is not the whole inventory.
        (
            Psmo::ListProfileInfo(request),
            EuiccResultData::ListProfileInfoResult(ProfileInfoListResponse::ProfileInfoListOk(list)),
        ) if request.search_criteria.is_none() => snapshot(list).map(ProfileChange::Snapshot),
        _ => None,
    }
}

/// The inventory a complete ProfileInfoListOk gives; `None` when it names an ICCID twice — not a coherent
/// inventory, so it changes nothing (the order's outcome stands: the eUICC answered and signed it).
fn snapshot(list: &[ProfileInfo]) -> Option<Vec<ListedProfile>> {
    let listed: Vec<ListedProfile> = list
        .iter()
        .filter_map(|p| {
            Some(ListedProfile {
                iccid: digits(p.iccid.as_ref()?)?,
                state: if p.profile_state == Some(1) { ENABLED } else { DISABLED },
                fallback_attribute: p.fallback_attribute,
            })
        })
        .collect();
    let mut iccids: Vec<&str> = listed.iter().map(|p| p.iccid.as_str()).collect();
    iccids.sort_unstable();
    if iccids.windows(2).any(|w| w[0] == w[1]) {
        tracing::warn!(
            "listProfileInfo result names an ICCID twice; the eIM's inventory of the eUICC is left as it was"
        );
        return None;
    }
    Some(listed)
}

fn digits(iccid: &IccidDo) -> Option<String> {
    Iccid::try_from(iccid).ok().map(|i| i.digits())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(iccid: &str, enabled: bool) -> ProfileInfo {
        let iccid = Iccid::new(iccid).unwrap();
        ProfileInfo {
            iccid: Some(IccidDo::from(&iccid)),
            profile_state: Some(i64::from(enabled)),
            ..ProfileInfo::default()
        }
    }

    #[test]
    fn a_list_naming_an_iccid_twice_changes_nothing() {
        let (a, b) = ("89000123456789012341", "89000123456789012358");
        let listed = snapshot(&[info(a, true), info(b, false)]).unwrap();
        assert_eq!(
            listed.iter().map(|p| (p.iccid.as_str(), p.state)).collect::<Vec<_>>(),
            [(a, ENABLED), (b, DISABLED)]
        );
        assert_eq!(snapshot(&[info(a, true), info(b, false), info(a, false)]), None);
        assert_eq!(snapshot(&[]), Some(Vec::new()));
    }
}
