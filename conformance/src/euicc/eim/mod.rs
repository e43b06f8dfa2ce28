//! The SGP.32 v1.2 (IoT) side of the soft eUICC: eIM configuration and eUICC packages.
//!
//! One file per job:
//! - [`configuration`]: ES10b.AddInitialEim (§5.9.4, `BF57`) and ES10b.GetEimConfigurationData (§5.9.18, `BF55`);
//! - [`load_euicc_package`]: ES10b.LoadEuiccPackage / ESep.ExecuteEuiccPackage (§5.9.1, §2.11.1.1): the eIM
//!   checks (eimId, `eimSignature`, eidValue, `counterValue`) and the signed EuiccPackageResult (§2.11.2.1);
//! - [`psmo`]: the Profile State Management Operations (§5.9.2–§5.9.11) on the profile table;
//! - [`eco`]: the eIM Configuration Operations addEim / deleteEim / updateEim / listEim (§5.9.12–§5.9.15);
//! - [`ipa_euicc_data`]: ES10b.GetEimPackage's companion IpaEuiccDataRequest `BF52` (§2.11.1.2), minimal;
//! - [`signature`]: the signed inputs shared by both sides: `… || associationToken` (§2.11.1.1, §2.11.2.1).
//!
//! Responses the spec defines (including error results such as replayError) are returned as DER in `Ok`;
//! `Err` is reserved for command data that is not the function's ASN.1 (a card answers a status word) and
//! for internal failures.

pub mod configuration;
pub mod eco;
pub mod ipa_euicc_data;
pub mod load_euicc_package;
pub mod psmo;
pub mod signature;

use rsp_proto::codec::sgp32::EimConfigurationData;
use rsp_proto::pki::EcPublicKey;

/// The largest `counterValue` this soft eUICC stores (a 31-bit card counter). SGP.32 v1.2 leaves the range to
/// the eUICC; a value beyond it is answered with `counterValueOutOfRange(6)`.
pub const COUNTER_VALUE_MAX: i64 = 0x7FFF_FFFF;

/// One eIM the eUICC is associated with (SGP.32 v1.2 §2.11.1.2 EimConfigurationData, as stored).
#[derive(Debug, Clone)]
pub struct AssociatedEim {
    /// The configuration as last received (AddInitialEim, addEim, updateEim); `counter_value` and
    /// `association_token` are the eUICC's current values, not the request's.
    pub configuration: EimConfigurationData,
    /// PK.EIM.ECDSA: verifies `eimSignature`.
    pub eim_public_key: EcPublicKey,
    /// The last accepted `counterValue` (initially `EimConfigurationData.counterValue`); a package must carry
    /// a strictly greater one.
    pub counter_value: i64,
    /// The association token the eUICC issued for this eIM, if the eIM asked for one.
    pub association_token: Option<i64>,
}

/// A signed EuiccPackageResult kept until the eIM acknowledges its seqNumber (SGP.32 v1.2 §2.11.2.1,
/// EimAcknowledgements `BF53`).
#[derive(Debug, Clone)]
pub struct StoredPackageResult {
    pub seq_number: i64,
    pub eim_id: String,
    /// The EuiccPackageResult DER (`BF51 …`), exactly as returned.
    pub der: Vec<u8>,
}

/// The eIM state of the soft eUICC (part of [`super::SoftEuicc`]).
#[derive(Debug, Default)]
pub struct EimState {
    pub eims: Vec<AssociatedEim>,
    pub package_results: Vec<StoredPackageResult>,
    /// The next association token to issue (eUICC-wide, never reused).
    pub next_association_token: i64,
    /// `configureImmediateEnable` (§5.9.7): the flag and the default SM-DP+ it names.
    pub immediate_enable: Option<rsp_proto::codec::sgp32::ConfigureImmediateEnable>,
    /// `setDefaultDpAddress` (§5.9.11).
    pub default_dp_address: Option<String>,
    /// The profile that was enabled before the last `enable` with `rollbackFlag` (§5.9.3), for a rollback.
    pub rollback_iccid: Option<String>,
}

impl EimState {
    pub fn new() -> Self {
        EimState { next_association_token: 1, ..Default::default() }
    }

    pub fn find(&self, eim_id: &str) -> Option<&AssociatedEim> {
        self.eims.iter().find(|e| e.configuration.eim_id == eim_id)
    }

    pub fn find_mut(&mut self, eim_id: &str) -> Option<&mut AssociatedEim> {
        self.eims.iter_mut().find(|e| e.configuration.eim_id == eim_id)
    }

    pub fn issue_association_token(&mut self) -> i64 {
        let token = self.next_association_token;
        self.next_association_token = token.saturating_add(1);
        token
    }
}
