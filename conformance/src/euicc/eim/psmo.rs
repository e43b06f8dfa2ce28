//! Profile State Management Operations on the soft eUICC's profile table, SGP.32 v1.2 §5.9.2–§5.9.11 (the
//! PSMOs of an EuiccPackage `psmoList`, §2.11.1.1): enable (§5.9.3), disable (§5.9.4… as ES10c.DisableProfile),
//! delete, listProfileInfo, getRAT, configureImmediateEnable, setFallbackAttribute / unsetFallbackAttribute
//! (§3.4.5 Fallback Mechanism), setDefaultDpAddress. Each returns its EuiccResultData and whether it succeeded
//! (the package stops at the first failure, see [`super::load_euicc_package`]).

use rsp_proto::codec::sgp22::{Iccid, OctetTo16};
use rsp_proto::codec::sgp32::{
    EuiccResultData, ProfileInfo, ProfileInfoListRequest, ProfileInfoListResponse, ProfileInfoSearchCriteria, Psmo,
    PsmoEnable, SetDefaultDpAddressResponse,
};

use crate::euicc::profiles::{InstalledProfile, ProfileState};
use crate::euicc::SoftEuicc;

/// Result codes shared by the PSMO results (SGP.32 v1.2 §2.11.2.1 `EnableProfileResult`, `DisableProfileResult`,
/// `DeleteProfileResult`, `SetFallbackAttributeResult`, `UnsetFallbackAttributeResult`).
pub mod result_code {
    pub const OK: i64 = 0;
    pub const ICCID_OR_AID_NOT_FOUND: i64 = 1;
    /// enable / delete: `profileNotInDisabledState(2)`; disable: `profileNotInEnabledState(2)`;
    /// unsetFallbackAttribute: `noFallbackAttribute(2)`; setFallbackAttribute: `fallbackNotAllowed(2)`.
    pub const WRONG_STATE: i64 = 2;
    pub const DISALLOWED_BY_POLICY: i64 = 3;
    /// set/unsetFallbackAttribute: `fallbackProfileEnabled(3)`.
    pub const FALLBACK_PROFILE_ENABLED: i64 = 3;
    pub const UNDEFINED_ERROR: i64 = 127;
}

impl SoftEuicc {
    /// Executes one PSMO; `(result, succeeded)`.
    pub(crate) fn execute_psmo(&mut self, psmo: &Psmo) -> (EuiccResultData, bool) {
        match psmo {
            Psmo::Enable(enable) => ok_if(EuiccResultData::EnableResult, self.psmo_enable(enable)),
            Psmo::Disable(p) => ok_if(EuiccResultData::DisableResult, self.psmo_disable(&p.iccid)),
            Psmo::Delete(p) => ok_if(EuiccResultData::DeleteResult, self.psmo_delete(&p.iccid)),
            Psmo::ListProfileInfo(request) => {
                (EuiccResultData::ListProfileInfoResult(self.list_profile_info(request)), true)
            }
            // getRAT (§5.9.6): the soft eUICC has no Rules Authorisation Table entries.
            Psmo::GetRat(_) => (EuiccResultData::GetRatResult(Vec::new()), true),
            Psmo::ConfigureImmediateEnable(c) => {
                self.eim.immediate_enable = Some(c.clone());
                (EuiccResultData::ConfigureImmediateEnableResult(result_code::OK), true)
            }
            Psmo::SetFallbackAttribute(p) => {
                ok_if(EuiccResultData::SetFallbackAttributeResult, self.psmo_set_fallback_attribute(&p.iccid))
            }
            Psmo::UnsetFallbackAttribute(_) => {
                ok_if(EuiccResultData::UnsetFallbackAttributeResult, self.psmo_unset_fallback_attribute())
            }
            Psmo::SetDefaultDpAddress(request) => {
                self.eim.default_dp_address = Some(request.default_dp_address.clone());
                let response = SetDefaultDpAddressResponse { set_default_dp_address_result: result_code::OK };
                (EuiccResultData::SetDefaultDpAddressResult(response), true)
            }
        }
    }

    fn profile_index(&self, iccid: &Iccid) -> Option<usize> {
        self.profiles.iter().position(|p| p.metadata.iccid == *iccid)
    }

    /// enable (§5.9.3, as ES10c.EnableProfile SGP.22 v2.5 §5.7.16): only a disabled profile can be enabled; the
    /// profile enabled so far is disabled in the same step (one enabled profile at a time). With `rollbackFlag`
    /// the previously enabled profile is remembered for ES10b.ProfileRollback.
    fn psmo_enable(&mut self, enable: &PsmoEnable) -> i64 {
        let Some(index) = self.profile_index(&enable.iccid) else {
            return result_code::ICCID_OR_AID_NOT_FOUND;
        };
        if self.profiles[index].state != ProfileState::Disabled {
            return result_code::WRONG_STATE;
        }
        let previous = self.profiles.iter().position(|p| p.state == ProfileState::Enabled);
        if let Some(previous) = previous {
            self.profiles[previous].state = ProfileState::Disabled;
        }
        self.profiles[index].state = ProfileState::Enabled;
        self.eim.rollback_iccid = match (enable.rollback_flag, previous) {
            (Some(()), Some(previous)) => Some(self.profiles[previous].iccid.clone()),
            _ => None,
        };
        result_code::OK
    }

    /// disable (as ES10c.DisableProfile, SGP.22 v2.5 §5.7.17): only the enabled profile.
    fn psmo_disable(&mut self, iccid: &Iccid) -> i64 {
        let Some(index) = self.profile_index(iccid) else {
            return result_code::ICCID_OR_AID_NOT_FOUND;
        };
        if self.profiles[index].state != ProfileState::Enabled {
            return result_code::WRONG_STATE;
        }
        self.profiles[index].state = ProfileState::Disabled;
        result_code::OK
    }

    /// delete (as ES10c.DeleteProfile, SGP.22 v2.5 §5.7.18): an enabled profile is not deleted
    /// (`profileNotInDisabledState`).
    fn psmo_delete(&mut self, iccid: &Iccid) -> i64 {
        let Some(index) = self.profile_index(iccid) else {
            return result_code::ICCID_OR_AID_NOT_FOUND;
        };
        if self.profiles[index].state != ProfileState::Disabled {
            return result_code::WRONG_STATE;
        }
        self.profiles.remove(index);
        result_code::OK
    }

    /// setFallbackAttribute (§5.9.8, §3.4.5): moves the Fallback Attribute to this profile, unless the profile
    /// holding it now is enabled (`fallbackProfileEnabled`).
    fn psmo_set_fallback_attribute(&mut self, iccid: &Iccid) -> i64 {
        let Some(index) = self.profile_index(iccid) else {
            return result_code::ICCID_OR_AID_NOT_FOUND;
        };
        if self
            .profiles
            .iter()
            .enumerate()
            .any(|(i, p)| i != index && p.fallback_attribute && p.state == ProfileState::Enabled)
        {
            return result_code::FALLBACK_PROFILE_ENABLED;
        }
        for (i, p) in self.profiles.iter_mut().enumerate() {
            p.fallback_attribute = i == index;
        }
        result_code::OK
    }

    /// unsetFallbackAttribute (§5.9.9): `noFallbackAttribute` when no profile has it, `fallbackProfileEnabled`
    /// when the profile that has it is enabled.
    fn psmo_unset_fallback_attribute(&mut self) -> i64 {
        let Some(profile) = self.profiles.iter_mut().find(|p| p.fallback_attribute) else {
            return result_code::WRONG_STATE;
        };
        if profile.state == ProfileState::Enabled {
            return result_code::FALLBACK_PROFILE_ENABLED;
        }
        profile.fallback_attribute = false;
        result_code::OK
    }

    /// listProfileInfo (§5.9.5, as ES10c.GetProfilesInfo SGP.22 v2.5 §5.7.15): every field the soft eUICC has,
    /// whatever the tagList.
    fn list_profile_info(&self, request: &ProfileInfoListRequest) -> ProfileInfoListResponse {
        let infos = self
            .profiles
            .iter()
            .filter(|p| match &request.search_criteria {
                None => true,
                Some(ProfileInfoSearchCriteria::Iccid(iccid)) => p.metadata.iccid == *iccid,
                Some(ProfileInfoSearchCriteria::IsdpAid(aid)) => p.isdp_aid == aid.0.to_vec(),
                Some(ProfileInfoSearchCriteria::ProfileClass(class)) => p.metadata.profile_class == *class,
            })
            .map(profile_info)
            .collect();
        ProfileInfoListResponse::ProfileInfoListOk(infos)
    }
}

/// The SGP.32 ProfileInfo of one installed profile.
pub fn profile_info(p: &InstalledProfile) -> ProfileInfo {
    ProfileInfo {
        iccid: Some(p.metadata.iccid.clone()),
        isdp_aid: Some(OctetTo16(p.isdp_aid.clone().into())),
        profile_state: Some(p.state as i64),
        service_provider_name: Some(p.metadata.service_provider_name.clone()),
        profile_name: Some(p.metadata.profile_name.clone()),
        profile_class: Some(p.metadata.profile_class),
        fallback_attribute: p.fallback_attribute,
        ..ProfileInfo::default()
    }
}

fn ok_if(wrap: fn(i64) -> EuiccResultData, code: i64) -> (EuiccResultData, bool) {
    (wrap(code), code == result_code::OK)
}
