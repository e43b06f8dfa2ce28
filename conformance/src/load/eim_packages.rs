//! The eIM package phases of a load run: polls that find a queued package, run it on the eUICC and report the
//! result (SGP.32 v1.2 §3.1 IPA, §5.14.5 ESipa.GetEimPackage, §5.9.1 ES10b.LoadEuiccPackage, §5.14.6
//! ESipa.ProvideEimPackageResult, §2.11.1.3 EimAcknowledgements).
//!
//! Set-up (not measured): each simulated eUICC holds an enabled and a disabled profile and is associated with
//! the eIM the way a device factory does it — ES10b.AddInitialEim (§5.9.4) with EimConfigurationData built
//! from the eIM's public key ([`EimIdentity`]), asking for an `associationToken`; the eUICCs are then imported
//! through the eIM's bulk import with that token and a label of their own for this run.
//!
//! 1. **campaign** — one campaign "enable the disabled profile" over the run's label at the highest release
//!    rate, measured until every device's package is queued: the eIM building and signing one
//!    EuiccPackageRequest per device;
//! 2. **packages** — each device polls once: GetEimPackage hands out its package, the eUICC verifies and runs
//!    it, ProvideEimPackageResult reports the signed result and the eIM's acknowledgement goes back to the
//!    eUICC. Afterwards the campaign's counts must be exact: as many orders succeeded as packages ran.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openssl::pkey::PKey;
use rsp_proto::codec::sgp32::{AddInitialEimOkItem, AddInitialEimRequest, AddInitialEimResponse, EimConfigurationData};
use rsp_proto::codec::{decode, encode};
use serde_json::{json, Value};

use super::operator::{EuiccImport, OperatorClient, OperatorError};
use super::stats::Recorder;
use super::{esipa_code, issue, measure, measured, register, LoadConfig, PhaseReport};
use crate::euicc::profiles::ProfileState;
use crate::euicc::{InstalledProfile, SoftEuicc};
use crate::ipa::{EimPackage, EsipaClient};

/// The profile each simulated device has enabled, and the one the campaign enables.
const ENABLED_ICCID: &str = "89000123456789012341";
const DISABLED_ICCID: &str = "89000123456789012358";

/// The eIM as a device factory knows it: what AddInitialEim loads into each eUICC.
#[derive(Debug, Clone)]
pub struct EimIdentity {
    /// `eimId` (rspd's `eim.eim_id`).
    pub eim_id: String,
    /// `eimFqdn`: where the IPA reaches the eIM (`host:port`).
    pub eim_fqdn: String,
    /// PK.EIM.ECDSA as SubjectPublicKeyInfo DER.
    pub public_key_spki: Vec<u8>,
}

impl EimIdentity {
    /// From the eIM's key file: a PEM private key (as rspd keeps its test eIM key) or public key.
    pub fn from_key_file(eim_id: &str, eim_fqdn: &str, path: &Path) -> Result<Self, String> {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let spki = match PKey::private_key_from_pem(&pem) {
            Ok(key) => key.public_key_to_der(),
            Err(_) => PKey::public_key_from_pem(&pem).and_then(|k| k.public_key_to_der()),
        }
        .map_err(|e| format!("{}: neither a private nor a public key in PEM: {e}", path.display()))?;
        Ok(EimIdentity { eim_id: eim_id.to_owned(), eim_fqdn: eim_fqdn.to_owned(), public_key_spki: spki })
    }

    /// AddInitialEimRequest (`BF57`) with this eIM alone, initial counterValue 0, asking for an associationToken.
    fn add_initial_eim_request(&self) -> Result<Vec<u8>, String> {
        let config = EimConfigurationData::for_fqdn(&self.eim_id, &self.eim_fqdn, &self.public_key_spki, 0, true)
            .map_err(|e| format!("EimConfigurationData: {e}"))?;
        encode(&AddInitialEimRequest { eim_configuration_data_list: vec![config] })
            .map_err(|e| format!("AddInitialEimRequest: {e}"))
    }
}

/// Runs both phases for `config.packages` new devices (serials from `first_serial`).
pub fn run(
    config: &LoadConfig,
    operator: &OperatorClient,
    first_serial: u64,
    deadline: Instant,
) -> Result<Vec<PhaseReport>, String> {
    let identity = config.eim_identity.as_ref().ok_or("package polls need the eIM's identity (its public key)")?;
    let add_initial_eim = identity.add_initial_eim_request()?;
    let label = format!("load-{first_serial}");
    let mut devices = Vec::new();
    let mut imports = Vec::new();
    for credentials in issue(config, first_serial, config.packages)? {
        let certificate = credentials.euicc_cert_der.clone();
        let mut euicc = SoftEuicc::new(credentials);
        for (iccid, isdp, state) in
            [(ENABLED_ICCID, 0x10, ProfileState::Enabled), (DISABLED_ICCID, 0x11, ProfileState::Disabled)]
        {
            euicc.seed_profile(InstalledProfile::seeded(iccid, isdp, state)?)?;
        }
        let response = euicc.add_initial_eim(&add_initial_eim).map_err(|e| format!("AddInitialEim: {e}"))?;
        let association_token = association_token(&response)?;
        imports.push(EuiccImport { certificate, association_token, label: Some(label.clone()) });
        devices.push(Mutex::new(Some(euicc)));
    }
    register(operator, &imports)?;
    let clients = config
        .eim
        .iter()
        .map(|url| EsipaClient::new(url, &config.anchors, config.binding).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;

    // Phase 1: the campaign queues one package per device.
    let total = devices.len() as u64;
    let mut campaign_id = None;
    let campaign = measured(config, "campaign", || {
        let mut rec = Recorder::default();
        let code = |e: &OperatorError| e.code.clone();
        let began = Instant::now();
        let intent = json!({ "intent": "enable", "iccid": DISABLED_ICCID });
        let created = rec
            .time("eIM campaign create", code, || operator.create_campaign(&label, intent, &label, 1_000_000, 100_000));
        let Ok(created) = created else { return (0, total, rec) };
        campaign_id = created["campaignId"].as_str().map(str::to_owned);
        let Some(id) = campaign_id.as_deref() else {
            rec.record("eIM campaign create", Duration::ZERO, Err("no campaignId".into()));
            return (0, total, rec);
        };
        // `queued`: the package waits in the device's queue (a released order whose package is being built is
        // still `pending`).
        let queued = wait_for(operator, id, deadline, |p| count(p, "queued") >= total);
        let queued = queued.map_or(0, |p| count(&p, "queued"));
        let outcome = if queued == total { Ok(()) } else { Err(format!("{queued} of {total} queued")) };
        rec.record("every package queued", began.elapsed(), outcome);
        (queued, total - queued, rec)
    });

    // Phase 2: each device polls once and runs what it finds.
    let packages = measure(config, "packages", total, deadline, |i, rec| {
        let Some(mut euicc) = devices[i].lock().ok().and_then(|mut e| e.take()) else {
            return Err("device in use".to_owned());
        };
        let eid = euicc.eid().to_owned();
        let client = &clients[i % clients.len()];
        let package = rec.time("ESipa.GetEimPackage", esipa_code, || client.get_eim_package(&eid));
        let request = match package {
            Ok(Some(EimPackage::EuiccPackageRequest(request))) => request,
            Ok(other) => {
                let what = if other.is_none() { "no package" } else { "not an EuiccPackageRequest" };
                rec.record("eUICC package", Duration::ZERO, Err(what.into()));
                return Err(what.to_owned());
            }
            Err(e) => return Err(e.to_string()),
        };
        let result = euicc.load_euicc_package(&request).map_err(|e| {
            rec.record("eUICC package", Duration::ZERO, Err("refused by the eUICC".into()));
            e.to_string()
        })?;
        let acks = rec
            .time("ESipa.ProvideEimPackageResult", esipa_code, || client.provide_eim_package_result(&eid, &result))
            .map_err(|e| e.to_string())?;
        if let Some(acks) = acks {
            euicc.acknowledge(&acks).map_err(|e| e.to_string())?;
        }
        Ok::<_, String>(())
    });

    // The campaign's counts are exact: every package that ran is one succeeded order, nothing else moved.
    let mut phases = vec![campaign, packages];
    if let Some(id) = campaign_id {
        let ran = phases[1].completed;
        let settled = wait_for(operator, &id, Instant::now() + Duration::from_secs(30), |p| {
            count(p, "succeeded") + count(p, "failed") >= ran
        });
        let succeeded = settled.as_ref().map_or(0, |p| count(p, "succeeded"));
        let failed = settled.as_ref().map_or(0, |p| count(p, "failed"));
        if succeeded != ran || failed != 0 {
            let phase = &mut phases[1];
            phase.failed += 1;
            let mut rec = Recorder::default();
            rec.record("campaign counts", Duration::ZERO, Err(format!("{succeeded} succeeded, {failed} failed")));
            phase.functions.extend(rec.summarize(Duration::from_secs(1)));
        }
    }
    Ok(phases)
}

/// The associationToken in an AddInitialEimResponse, if the eUICC issued one.
fn association_token(response: &[u8]) -> Result<Option<i64>, String> {
    match decode::<AddInitialEimResponse>(response).map_err(|e| format!("AddInitialEimResponse: {e}"))? {
        AddInitialEimResponse::AddInitialEimOk(items) => Ok(items.iter().find_map(|i| match i {
            AddInitialEimOkItem::AssociationToken(t) => Some(*t),
            _ => None,
        })),
        AddInitialEimResponse::AddInitialEimError(code) => Err(format!("AddInitialEim refused: error {code}")),
    }
}

/// A progress count of a campaign view.
fn count(progress: &Value, state: &str) -> u64 {
    progress[state].as_u64().unwrap_or(0)
}

/// Reads the campaign until `done(progress)` or `deadline`: the last progress read.
fn wait_for(
    operator: &OperatorClient,
    campaign_id: &str,
    deadline: Instant,
    done: impl Fn(&Value) -> bool,
) -> Option<Value> {
    let mut last = None;
    loop {
        if let Ok(view) = operator.campaign(campaign_id) {
            let progress = view["progress"].clone();
            if done(&progress) {
                return Some(progress);
            }
            last = Some(progress);
        }
        if Instant::now() >= deadline {
            return last;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
