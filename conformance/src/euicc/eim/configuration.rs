//! eIM configuration on the eUICC, SGP.32 v1.2 §5.9.4 ES10b.AddInitialEim (`BF57`), §5.9.18
//! ES10b.GetEimConfigurationData (`BF55`) and the EimConfigurationData rules of §2.11.1.2 shared with the
//! addEim / updateEim eCOs (§5.9.12, §5.9.14).

use openssl::pkey::PKey;
use rsp_proto::codec::sgp32::{
    AddInitialEimOkItem, AddInitialEimRequest, AddInitialEimResponse, EimConfigurationData, EimPublicKeyData,
    EimSearchCriteria, GetEimConfigurationDataRequest, GetEimConfigurationDataResponse,
};
use rsp_proto::codec::{decode, encode};
use rsp_proto::pki::{Certificate, EcPublicKey};

use super::{AssociatedEim, EimState, COUNTER_VALUE_MAX};
use crate::euicc::{Es10Error, SoftEuicc};

/// `AddInitialEimError` / `AddEimResultCode` values (SGP.32 v1.2 §5.9.4, §5.9.12).
pub mod add_eim_error {
    pub const INSUFFICIENT_MEMORY: i64 = 1;
    pub const ASSOCIATED_EIM_ALREADY_EXISTS: i64 = 2;
    pub const CI_PK_UNKNOWN: i64 = 3;
    pub const INVALID_ASSOCIATION_TOKEN: i64 = 5;
    pub const COUNTER_VALUE_OUT_OF_RANGE: i64 = 6;
    pub const COMMAND_ERROR: i64 = 7;
    pub const UNDEFINED_ERROR: i64 = 127;
}

/// How many eIMs the soft eUICC can hold (beyond: insufficientMemory).
pub const MAX_EIMS: usize = 8;

/// PK.EIM.ECDSA from `eimPublicKeyData` (a bare SubjectPublicKeyInfo or an eIM certificate).
pub fn eim_public_key(data: &EimPublicKeyData) -> Result<EcPublicKey, String> {
    match data {
        EimPublicKeyData::EimPublicKey(spki) => {
            let der = spki.to_der().map_err(|e| e.to_string())?;
            let pkey = PKey::public_key_from_der(&der).map_err(|e| e.to_string())?;
            let ec = pkey.ec_key().map_err(|e| e.to_string())?;
            EcPublicKey::from_ec_key(&ec).map_err(|e| e.to_string())
        }
        EimPublicKeyData::EimCertificate(cert) => {
            let der = cert.to_der().map_err(|e| e.to_string())?;
            let cert = Certificate::from_der(&der).map_err(|e| e.to_string())?;
            Ok(cert.public_key().clone())
        }
    }
}

/// Checks one EimConfigurationData for association (AddInitialEim, addEim) and builds the stored eIM: the
/// eIM needs a public key and an initial `counterValue` within range. When the request carries an
/// `associationToken`, the eUICC issues a fresh one (the request's value only asks for it).
pub(crate) fn associate(state: &mut EimState, config: &EimConfigurationData) -> Result<AssociatedEim, i64> {
    if state.find(&config.eim_id).is_some() {
        return Err(add_eim_error::ASSOCIATED_EIM_ALREADY_EXISTS);
    }
    if state.eims.len() >= MAX_EIMS {
        return Err(add_eim_error::INSUFFICIENT_MEMORY);
    }
    let counter_value = config.counter_value.ok_or(add_eim_error::COMMAND_ERROR)?;
    if !(0..=COUNTER_VALUE_MAX).contains(&counter_value) {
        return Err(add_eim_error::COUNTER_VALUE_OUT_OF_RANGE);
    }
    let key_data = config.eim_public_key_data.as_ref().ok_or(add_eim_error::COMMAND_ERROR)?;
    let eim_public_key = eim_public_key(key_data).map_err(|_| add_eim_error::COMMAND_ERROR)?;
    let association_token = config.association_token.map(|_| state.issue_association_token());
    let mut configuration = config.clone();
    configuration.counter_value = Some(counter_value);
    configuration.association_token = association_token;
    Ok(AssociatedEim { configuration, eim_public_key, counter_value, association_token })
}

impl SoftEuicc {
    /// ES10b.AddInitialEim (SGP.32 v1.2 §5.9.4): associates the first eIM(s) without a signature. Refused with
    /// `associatedEimAlreadyExists` once any eIM is configured; all-or-nothing over the list.
    pub fn add_initial_eim(&mut self, add_initial_eim_request: &[u8]) -> Result<Vec<u8>, Es10Error> {
        let request: AddInitialEimRequest = decode(add_initial_eim_request)
            .map_err(|e| Es10Error::IncorrectCommandData { function: "AddInitialEim", detail: e.to_string() })?;
        let response = match self.associate_initial(&request) {
            Ok(items) => AddInitialEimResponse::AddInitialEimOk(items),
            Err(code) => AddInitialEimResponse::AddInitialEimError(code),
        };
        encode(&response).map_err(Es10Error::internal)
    }

    fn associate_initial(&mut self, request: &AddInitialEimRequest) -> Result<Vec<AddInitialEimOkItem>, i64> {
        if !self.eim.eims.is_empty() {
            return Err(add_eim_error::ASSOCIATED_EIM_ALREADY_EXISTS);
        }
        if request.eim_configuration_data_list.is_empty() {
            return Err(add_eim_error::COMMAND_ERROR);
        }
        let mut staged = EimState { next_association_token: self.eim.next_association_token, ..EimState::default() };
        let mut items = Vec::new();
        for config in &request.eim_configuration_data_list {
            let eim = associate(&mut staged, config)?;
            items.push(match eim.association_token {
                Some(token) => AddInitialEimOkItem::AssociationToken(token),
                None => AddInitialEimOkItem::AddOk(()),
            });
            staged.eims.push(eim);
        }
        self.eim.next_association_token = staged.next_association_token;
        self.eim.eims = staged.eims;
        Ok(items)
    }

    /// ES10b.GetEimConfigurationData (SGP.32 v1.2 §5.9.18): the stored EimConfigurationData (with the current
    /// counterValue), all or the one named by `searchCriteria`.
    pub fn get_eim_configuration_data(&self, request: &[u8]) -> Result<Vec<u8>, Es10Error> {
        let request: GetEimConfigurationDataRequest = decode(request).map_err(|e| Es10Error::IncorrectCommandData {
            function: "GetEimConfigurationData",
            detail: e.to_string(),
        })?;
        let list = self
            .eim
            .eims
            .iter()
            .filter(|e| match &request.search_criteria {
                Some(EimSearchCriteria::EimId(id)) => e.configuration.eim_id == *id,
                None => true,
            })
            .map(|e| {
                let mut c = e.configuration.clone();
                c.counter_value = Some(e.counter_value);
                c
            })
            .collect();
        encode(&GetEimConfigurationDataResponse { eim_configuration_data_list: list }).map_err(Es10Error::internal)
    }

    /// The associated eIMs (for tests and the IPA's view).
    pub fn eims(&self) -> &[AssociatedEim] {
        &self.eim.eims
    }
}
