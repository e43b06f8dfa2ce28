//! eIM Configuration Operations on the soft eUICC, SGP.32 v1.2 §5.9.12 addEim, §5.9.13 deleteEim, §5.9.14
//! updateEim, §5.9.15 listEim (the eCOs of an EuiccPackage `ecoList`, §2.11.1.1). Each returns its
//! EuiccResultData and whether it succeeded.

use rsp_proto::codec::sgp32::{AddEimResult, Eco, EimConfigurationData, EimIdInfo, EuiccResultData, ListEimResult};

use super::configuration::{associate, eim_public_key};
use super::COUNTER_VALUE_MAX;
use crate::euicc::SoftEuicc;

/// `DeleteEimResult` / `UpdateEimResult` codes (SGP.32 v1.2 §2.11.2.1).
pub mod eim_result_code {
    pub const OK: i64 = 0;
    pub const EIM_NOT_FOUND: i64 = 1;
    /// deleteEim: the last associated eIM was deleted (the operation is done; the eUICC has no eIM left).
    pub const LAST_EIM_DELETED: i64 = 2;
    pub const COUNTER_VALUE_OUT_OF_RANGE: i64 = 6;
    pub const COMMAND_ERROR: i64 = 7;
}

impl SoftEuicc {
    /// Executes one eCO; `(result, succeeded)`.
    pub(crate) fn execute_eco(&mut self, eco: &Eco) -> (EuiccResultData, bool) {
        match eco {
            Eco::AddEim(config) => match associate(&mut self.eim, config) {
                Ok(eim) => {
                    let result = match eim.association_token {
                        Some(token) => AddEimResult::AssociationToken(token),
                        None => AddEimResult::AddEimResultCode(eim_result_code::OK),
                    };
                    self.eim.eims.push(eim);
                    (EuiccResultData::AddEimResult(result), true)
                }
                Err(code) => (EuiccResultData::AddEimResult(AddEimResult::AddEimResultCode(code)), false),
            },
            Eco::DeleteEim(delete) => {
                let before = self.eim.eims.len();
                self.eim.eims.retain(|e| e.configuration.eim_id != delete.eim_id);
                let code = if self.eim.eims.len() == before {
                    eim_result_code::EIM_NOT_FOUND
                } else if self.eim.eims.is_empty() {
                    eim_result_code::LAST_EIM_DELETED
                } else {
                    eim_result_code::OK
                };
                (EuiccResultData::DeleteEimResult(code), code != eim_result_code::EIM_NOT_FOUND)
            }
            Eco::UpdateEim(config) => {
                let code = self.update_eim(config);
                (EuiccResultData::UpdateEimResult(code), code == eim_result_code::OK)
            }
            Eco::ListEim(_) => {
                let list = self
                    .eim
                    .eims
                    .iter()
                    .map(|e| EimIdInfo {
                        eim_id: e.configuration.eim_id.clone(),
                        eim_id_type: e.configuration.eim_id_type,
                    })
                    .collect();
                (EuiccResultData::ListEimResult(ListEimResult::EimIdList(list)), true)
            }
        }
    }

    /// updateEim (§5.9.14): replaces the fields present in `config` (absent optional fields keep their value,
    /// SGP.32 v1.2 CR12010); a new key must be usable and a new counterValue within range.
    fn update_eim(&mut self, config: &EimConfigurationData) -> i64 {
        let Some(eim) = self.eim.find_mut(&config.eim_id) else {
            return eim_result_code::EIM_NOT_FOUND;
        };
        let new_key = match &config.eim_public_key_data {
            Some(data) => match eim_public_key(data) {
                Ok(key) => Some(key),
                Err(_) => return eim_result_code::COMMAND_ERROR,
            },
            None => None,
        };
        if let Some(counter_value) = config.counter_value {
            if !(0..=COUNTER_VALUE_MAX).contains(&counter_value) {
                return eim_result_code::COUNTER_VALUE_OUT_OF_RANGE;
            }
            eim.counter_value = counter_value;
            eim.configuration.counter_value = Some(counter_value);
        }
        if let Some(key) = new_key {
            eim.eim_public_key = key;
            eim.configuration.eim_public_key_data = config.eim_public_key_data.clone();
        }
        let c = &mut eim.configuration;
        macro_rules! take {
            ($($field:ident),*) => { $( if config.$field.is_some() { c.$field = config.$field.clone(); } )* };
        }
        take!(
            eim_fqdn,
            eim_id_type,
            trusted_public_key_data_tls,
            eim_supported_protocol,
            euicc_ci_pkid,
            indirect_profile_download
        );
        eim_result_code::OK
    }
}
