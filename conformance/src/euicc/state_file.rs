//! Persisting the soft eUICC between runs (what a real eUICC keeps in its NVM): the profile table, pending
//! notifications and counters of SGP.22 v2.5 (§5.7.9 seqNumber, ISD-Ps), and the SGP.32 v1.2 eIM state
//! (§2.11.1.2 associated eIMs with counterValue and associationToken, unacknowledged package results,
//! configureImmediateEnable, default SM-DP+ address). ASN.1 values are kept as hex DER in one JSON file, so
//! a later run decodes exactly what an earlier run stored.

use std::path::Path;

use rsp_proto::codec::sgp22::{PendingNotification, StoreMetadataRequest};
use rsp_proto::codec::sgp32::{ConfigureImmediateEnable, EimConfigurationData};
use rsp_proto::codec::{decode, encode};
use serde::{Deserialize, Serialize};

use super::eim::{configuration::eim_public_key, AssociatedEim, EimState, StoredPackageResult};
use super::profiles::{InstalledProfile, ProfileState};
use super::{SoftEuicc, StoredNotification};

#[derive(Serialize, Deserialize, Default)]
struct StateFile {
    profiles: Vec<ProfileFile>,
    notifications: Vec<SeqDer>,
    next_seq_number: i64,
    next_isdp: Option<u8>,
    eims: Vec<EimFile>,
    package_results: Vec<PackageResultFile>,
    next_association_token: i64,
    immediate_enable: Option<String>,
    default_dp_address: Option<String>,
    rollback_iccid: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct ProfileFile {
    iccid: String,
    isdp_aid: String,
    enabled: bool,
    metadata: String,
    profile_package: String,
    fallback_attribute: bool,
}

#[derive(Serialize, Deserialize)]
struct SeqDer {
    seq_number: i64,
    der: String,
}

#[derive(Serialize, Deserialize)]
struct EimFile {
    configuration: String,
    counter_value: i64,
    association_token: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct PackageResultFile {
    seq_number: i64,
    eim_id: String,
    der: String,
}

/// Why the state could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
#[error("eUICC state {path}: {reason}")]
pub struct StateFileError {
    pub path: String,
    pub reason: String,
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    hex::decode(s).map_err(|e| e.to_string())
}

impl SoftEuicc {
    /// Writes the eUICC's state (not its credentials) to `path` as JSON, atomically (write then rename).
    pub fn save_state(&self, path: &Path) -> Result<(), StateFileError> {
        let err = |reason: String| StateFileError { path: path.display().to_string(), reason };
        let der = |r: Result<Vec<u8>, rsp_proto::codec::CodecError>| r.map(hex::encode).map_err(|e| err(e.to_string()));
        let file = StateFile {
            profiles: self
                .profiles
                .iter()
                .map(|p| {
                    Ok(ProfileFile {
                        iccid: p.iccid.clone(),
                        isdp_aid: hex::encode(&p.isdp_aid),
                        enabled: p.state == ProfileState::Enabled,
                        metadata: der(encode(&p.metadata))?,
                        profile_package: hex::encode(&p.profile_package),
                        fallback_attribute: p.fallback_attribute,
                    })
                })
                .collect::<Result<_, StateFileError>>()?,
            notifications: self
                .notifications
                .iter()
                .map(|n| SeqDer { seq_number: n.seq_number, der: hex::encode(&n.der) })
                .collect(),
            next_seq_number: self.next_seq_number,
            next_isdp: self.next_isdp,
            eims: self
                .eim
                .eims
                .iter()
                .map(|e| {
                    Ok(EimFile {
                        configuration: der(encode(&e.configuration))?,
                        counter_value: e.counter_value,
                        association_token: e.association_token,
                    })
                })
                .collect::<Result<_, StateFileError>>()?,
            package_results: self
                .eim
                .package_results
                .iter()
                .map(|r| PackageResultFile {
                    seq_number: r.seq_number,
                    eim_id: r.eim_id.clone(),
                    der: hex::encode(&r.der),
                })
                .collect(),
            next_association_token: self.eim.next_association_token,
            immediate_enable: self.eim.immediate_enable.as_ref().map(|c| der(encode(c))).transpose()?,
            default_dp_address: self.eim.default_dp_address.clone(),
            rollback_iccid: self.eim.rollback_iccid.clone(),
        };
        let text = serde_json::to_vec_pretty(&file).map_err(|e| err(e.to_string()))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
    }

    /// Replaces the eUICC's state with the one saved at `path`.
    pub fn load_state(&mut self, path: &Path) -> Result<(), StateFileError> {
        let err = |reason: String| StateFileError { path: path.display().to_string(), reason };
        let text = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let file: StateFile = serde_json::from_slice(&text).map_err(|e| err(e.to_string()))?;
        let mut profiles = Vec::new();
        for p in &file.profiles {
            let metadata: StoreMetadataRequest =
                decode(&unhex(&p.metadata).map_err(err)?).map_err(|e| err(e.to_string()))?;
            profiles.push(InstalledProfile {
                iccid: p.iccid.clone(),
                isdp_aid: unhex(&p.isdp_aid).map_err(err)?,
                state: if p.enabled { ProfileState::Enabled } else { ProfileState::Disabled },
                metadata,
                profile_package: unhex(&p.profile_package).map_err(err)?,
                fallback_attribute: p.fallback_attribute,
            });
        }
        let mut notifications = Vec::new();
        for n in &file.notifications {
            let der = unhex(&n.der).map_err(err)?;
            let pending: PendingNotification = decode(&der).map_err(|e| err(e.to_string()))?;
            let metadata = match &pending {
                PendingNotification::ProfileInstallationResult(pir) => {
                    pir.profile_installation_result_data.notification_metadata.clone()
                }
                PendingNotification::OtherSignedNotification(o) => o.tbs_other_notification.clone(),
            };
            notifications.push(StoredNotification {
                seq_number: n.seq_number,
                metadata,
                pending_notification: pending,
                der,
            });
        }
        let mut eim = EimState::new();
        for e in &file.eims {
            let configuration: EimConfigurationData =
                decode(&unhex(&e.configuration).map_err(err)?).map_err(|e| err(e.to_string()))?;
            let key_data =
                configuration.eim_public_key_data.as_ref().ok_or_else(|| err("an eIM without a public key".into()))?;
            let eim_public_key = eim_public_key(key_data).map_err(err)?;
            eim.eims.push(AssociatedEim {
                configuration,
                eim_public_key,
                counter_value: e.counter_value,
                association_token: e.association_token,
            });
        }
        for r in &file.package_results {
            eim.package_results.push(StoredPackageResult {
                seq_number: r.seq_number,
                eim_id: r.eim_id.clone(),
                der: unhex(&r.der).map_err(err)?,
            });
        }
        eim.next_association_token = file.next_association_token.max(1);
        eim.immediate_enable = match &file.immediate_enable {
            Some(h) => {
                Some(decode::<ConfigureImmediateEnable>(&unhex(h).map_err(err)?).map_err(|e| err(e.to_string()))?)
            }
            None => None,
        };
        eim.default_dp_address = file.default_dp_address;
        eim.rollback_iccid = file.rollback_iccid;
        self.profiles = profiles;
        self.notifications = notifications;
        self.next_seq_number = file.next_seq_number.max(1);
        self.next_isdp = file.next_isdp;
        self.eim = eim;
        Ok(())
    }
}
