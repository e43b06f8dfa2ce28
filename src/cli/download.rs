//! `rspd profile import` and `rspd order create`: operator conveniences for the download flow until the
//! ES2+ / fleet API lands, over the same repository code (SGP.22 v2.5 §5.3.1–§5.3.2 DownloadOrder +
//! ConfirmOrder with releaseFlag; activation code §4.1).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::config::{Config, ConfigError};
use crate::pki::test_pki::TEST_OPERATOR_ID;
use crate::profile::{pins, Iccid, Imsi, Personalization, PinValue, PukValue, Secret};
use crate::server::StartError;
use crate::smdp::inventory::BatchRow;
use crate::smdp::inventory_service::{self, BulkReport, UploadItem};
use crate::smdp::order::confirmation_code_digest;
use crate::smdp::{es2, ActivationCode, Eid, MatchingId};
use crate::store::Store;

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).multiple(true).args(["files", "dir"])))]
pub struct ProfileImportArgs {
    /// SAIP profile packages (DER), one profile per file.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Every regular file in this directory (sorted by name), as if each were given.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The operator owning the profiles.
    #[arg(long = "operator", default_value = TEST_OPERATOR_ID, value_name = "ID")]
    pub operator_id: String,
    /// The operator's profile type (ES2+ profileType); its definition (`rspd profile type`) gives the metadata.
    #[arg(long = "type", visible_alias = "profile-type", default_value = "default", value_name = "T")]
    pub profile_type: String,
    /// Write nothing unless every file is good.
    #[arg(long)]
    pub all_or_nothing: bool,
    /// Service provider name shown by the LPA (StoreMetadata, at most 32 bytes); default: the profile type's.
    #[arg(long = "spn", value_name = "NAME")]
    pub service_provider_name: Option<String>,
    /// Profile name shown by the LPA (at most 64 bytes); default: the type's, else `Profile <ICCID>`.
    #[arg(long, value_name = "NAME")]
    pub profile_name: Option<String>,
    /// Profile class; default: the type's (operational without a type definition).
    #[arg(long, value_enum)]
    pub profile_class: Option<ProfileClassArg>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProfileClassArg {
    Test,
    Provisioning,
    Operational,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["iccid", "template"])))]
pub struct OrderCreateArgs {
    /// ICCID of an imported, available profile.
    #[arg(long = "profile", value_name = "ICCID")]
    pub iccid: Option<String>,
    /// Name of an uploaded template (`rspd template upload`; by default the template's own ICCID): a new profile
    /// is generated from it with the values below (see `--iccid`).
    #[arg(long, value_name = "ICCID", requires = "new_iccid")]
    pub template: Option<String>,
    #[command(flatten)]
    pub personalize: PersonalizeArgs,
    #[arg(long = "operator", default_value = TEST_OPERATOR_ID, value_name = "ID")]
    pub operator_id: String,
    /// Only this eUICC may download the profile.
    #[arg(long, value_name = "EID")]
    pub eid: Option<String>,
    /// The matchingId of the activation code; generated when absent.
    #[arg(long, value_name = "ID")]
    pub matching_id: Option<String>,
    /// A confirmation code the end user must enter (stored hashed only).
    #[arg(long, value_name = "CC")]
    pub confirmation_code: Option<String>,
    /// IMEI lock: only a device with this IMEI (14 or 15 digits) may download; repeatable.
    #[arg(long = "allowed-imei", value_name = "IMEI")]
    pub allowed_imeis: Vec<String>,
    /// IMEI lock: only a device of this TAC (8 digits) may download; repeatable.
    #[arg(long = "allowed-tac", value_name = "TAC")]
    pub allowed_tacs: Vec<String>,
}

/// Values written into a `--template` (TCA SAIP §8.3, §8.5, §8.6). Absent values keep the template's.
#[derive(Debug, Args)]
pub struct PersonalizeArgs {
    /// ICCID of the new profile (ProfileHeader and EF.ICCID); required with `--template`.
    #[arg(long = "iccid", value_name = "ICCID", requires = "template")]
    pub new_iccid: Option<String>,
    /// IMSI written to EF.IMSI.
    #[arg(long, value_name = "IMSI", requires = "template")]
    pub imsi: Option<String>,
    /// Ki (16 bytes hex) for every AKA parameter with an algorithm.
    #[arg(long, value_name = "HEX", requires_all = ["template", "opc"])]
    pub ki: Option<String>,
    /// OPc (16 bytes hex).
    #[arg(long, value_name = "HEX", requires_all = ["template", "ki"])]
    pub opc: Option<String>,
    /// PIN1 (4–8 digits).
    #[arg(long, value_name = "DIGITS", requires = "template")]
    pub pin1: Option<String>,
    /// PIN2 (second PIN of application 1).
    #[arg(long, value_name = "DIGITS", requires = "template")]
    pub pin2: Option<String>,
    /// PUK1 (8 digits).
    #[arg(long, value_name = "DIGITS", requires = "template")]
    pub puk1: Option<String>,
    /// PUK2.
    #[arg(long, value_name = "DIGITS", requires = "template")]
    pub puk2: Option<String>,
    /// ADM1 (8 digits).
    #[arg(long, value_name = "DIGITS", requires = "template")]
    pub adm1: Option<String>,
}

impl PersonalizeArgs {
    /// The values as a personalization batch row (checked by [`PersonalizeArgs::to_personalization`] first).
    fn to_batch_row(&self) -> BatchRow {
        BatchRow {
            iccid: self.new_iccid.clone().unwrap_or_default(),
            imsi: self.imsi.clone(),
            ki: self.ki.clone(),
            opc: self.opc.clone(),
            pin1: self.pin1.clone(),
            pin2: self.pin2.clone(),
            puk1: self.puk1.clone(),
            puk2: self.puk2.clone(),
            adm1: self.adm1.clone(),
        }
    }

    /// The checked values. Error messages name the option, never its value (keys and PINs are secrets).
    fn to_personalization(&self) -> Result<Personalization, ConfigError> {
        let mut p = Personalization::default();
        if let Some(iccid) = &self.new_iccid {
            p.iccid = Some(Iccid::new(iccid).map_err(|e| ConfigError::invalid("--iccid", e.to_string()))?);
        }
        if let Some(imsi) = &self.imsi {
            p.imsi = Some(Imsi::new(imsi).map_err(|e| ConfigError::invalid("--imsi", e.to_string()))?);
        }
        let key = |name: &str, v: &Option<String>| -> Result<Option<Secret<[u8; 16]>>, ConfigError> {
            v.as_deref()
                .map(|h| {
                    hex::decode(h)
                        .ok()
                        .and_then(|b| <[u8; 16]>::try_from(b).ok())
                        .map(Secret::new)
                        .ok_or_else(|| ConfigError::invalid(name, "must be 16 bytes in hex"))
                })
                .transpose()
        };
        p.ki = key("--ki", &self.ki)?;
        p.opc = key("--opc", &self.opc)?;
        for (name, reference, value) in [
            ("--pin1", pins::PIN_APPL1, &self.pin1),
            ("--pin2", pins::SECOND_PIN_APPL1, &self.pin2),
            ("--adm1", pins::ADM1, &self.adm1),
        ] {
            if let Some(v) = value {
                p.pins.insert(
                    reference,
                    PinValue::new(v).map_err(|_| ConfigError::invalid(name, "4 to 8 decimal digits"))?,
                );
            }
        }
        for (name, reference, value) in
            [("--puk1", pins::PUK_APPL1, &self.puk1), ("--puk2", pins::SECOND_PUK_APPL1, &self.puk2)]
        {
            if let Some(v) = value {
                p.puks.insert(reference, PukValue::new(v).map_err(|_| ConfigError::invalid(name, "8 decimal digits"))?);
            }
        }
        Ok(p)
    }
}

/// The configured store with the secrets master key attached (generated on a fresh data dir, like `serve`).
pub(crate) fn open_store(config: &Config) -> Result<Store, StartError> {
    let secrets = crate::secrets::master_key::load_or_create(&config.secrets_settings())?;
    if secrets.created {
        eprintln!(
            "generated a new secrets master key in {} (mode 0600): back it up, sealed profiles need it",
            secrets.source
        );
    }
    let store = Store::open_for_command(&config.database_settings())?.with_keyring(secrets.keyring);
    store.migrate()?;
    Ok(store)
}

impl ProfileClassArg {
    pub(crate) fn value(self) -> i64 {
        match self {
            ProfileClassArg::Test => 0,
            ProfileClassArg::Provisioning => 1,
            ProfileClassArg::Operational => 2,
        }
    }
}

/// The files of `--dir` (regular files, sorted) after the ones named.
fn import_files(args: &ProfileImportArgs) -> Result<Vec<PathBuf>, StartError> {
    let mut files = args.files.clone();
    if let Some(dir) = &args.dir {
        let read = std::fs::read_dir(dir)
            .map_err(|e| StartError::from(ConfigError::invalid("--dir", format!("{}: {e}", dir.display()))))?;
        let mut found: Vec<PathBuf> = read.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect();
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// Prints a per-item report (`imported`/`FAILED` lines and a summary); an error (exit 1) when any item failed.
pub(crate) fn print_report(what: &str, labels: &[String], report: &BulkReport) -> Result<(), StartError> {
    for item in &report.items {
        let label = labels.get(item.index - 1).map(String::as_str).unwrap_or("");
        let iccid = item.iccid.as_deref().unwrap_or("-");
        match &item.outcome {
            Ok(()) => println!("imported  {label}  ICCID {iccid}"),
            Err(reason) => println!("FAILED    {label}  ICCID {iccid}  {reason}"),
        }
    }
    println!("{} imported, {} failed", report.written(), report.failed());
    if report.failed() > 0 {
        return Err(StartError::Io { what: what.into(), reason: format!("{} item(s) failed", report.failed()) });
    }
    Ok(())
}

/// Imports the files as prepared profiles of `--type`, each on its own unless `--all-or-nothing`; the same
/// per-item report as `POST /api/v1/profiles`. Fails (exit 1) when any file failed.
pub fn profile_import(config: &Config, args: ProfileImportArgs) -> Result<(), StartError> {
    if args.service_provider_name.as_ref().is_some_and(|s| s.len() > 32) {
        return Err(ConfigError::invalid("--spn", "at most 32 bytes").into());
    }
    if args.profile_name.as_ref().is_some_and(|s| s.len() > 64) {
        return Err(ConfigError::invalid("--profile-name", "at most 64 bytes").into());
    }
    crate::smdp::inventory::check_type_name(&args.profile_type).map_err(|m| ConfigError::invalid("--type", m))?;
    let files = import_files(&args)?;
    let store = open_store(config)?;
    let items = files
        .iter()
        .map(|f| UploadItem {
            der: std::fs::read(f).map_err(|e| format!("cannot read: {e}")),
            service_provider_name: args.service_provider_name.clone().unwrap_or_default(),
            profile_name: args.profile_name.clone().unwrap_or_default(),
            profile_class: args.profile_class.map_or(-1, ProfileClassArg::value),
        })
        .collect();
    let report =
        inventory_service::upload_packages(&store, &args.operator_id, &args.profile_type, items, args.all_or_nothing)
            .map_err(|e| StartError::Io { what: "profile import".into(), reason: e.to_string() })?;
    let labels: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    print_report("profile import", &labels, &report)
}

/// Creates a released order and prints its activation code: with `--template`, first a new profile personalized
/// from the template; then ES2+ DownloadOrder → ConfirmOrder with releaseFlag (Available → Allocated | Linked →
/// Confirmed → Released), the same ES2+ functions as the binding ([`crate::smdp::es2`]).
pub fn order_create(config: &Config, args: OrderCreateArgs) -> Result<(), StartError> {
    let invalid = |key: &str, m: String| StartError::from(ConfigError::invalid(key, m));
    let eid = args.eid.as_deref().map(Eid::new).transpose().map_err(|m| invalid("--eid", m))?;
    let matching_id = match &args.matching_id {
        Some(m) => MatchingId::new(m).map_err(|m| invalid("--matching-id", m))?,
        None => MatchingId::generate().map_err(|m| invalid("--matching-id", m))?,
    };
    if args.confirmation_code.as_deref().is_some_and(str::is_empty) {
        return Err(invalid("--confirmation-code", "must not be empty".into()));
    }
    let lock = crate::smdp::device_lock::DeviceLock::new(&args.allowed_imeis, &args.allowed_tacs)
        .map_err(|m| invalid("--allowed-imei/--allowed-tac", m))?;
    // Checked here so a bad value is a usage error (exit 2) naming the option.
    args.personalize.to_personalization()?;
    let row = args.personalize.to_batch_row();
    let io = |reason: String| StartError::Io { what: "order create".into(), reason };
    let store = open_store(config)?;
    let iccid = match (&args.template, &args.iccid) {
        (Some(template), _) => {
            let iccid = personalize_template(&store, &args.operator_id, template, row).map_err(io)?;
            eprintln!("personalized {iccid} from template {template}");
            iccid
        }
        (None, Some(iccid)) => iccid.clone(),
        (None, None) => return Err(invalid("--profile", "give --profile or --template".into())),
    };
    // The ES2+ functions themselves (one path with the ES2+ binding), recorded as calls of requester `rspd`.
    let call = |function| es2::CallKey::local(&args.operator_id, function).map_err(|e| io(e.to_string()));
    let recorded = |_: &_| "{}".to_owned();
    let download = es2::DownloadOrderInput { eid: eid.clone(), iccid: Some(iccid.clone()), profile_type: None, lock };
    es2::download_order(&store, &call("downloadOrder")?, &download, &recorded).map_err(|e| io(e.to_string()))?;
    let confirm = es2::ConfirmOrderInput {
        iccid,
        eid,
        matching_id: Some(matching_id.clone()),
        cc_hash: args.confirmation_code.as_deref().map(confirmation_code_digest),
        smds_address: None,
        release: true,
        lock: None,
    };
    let recorded = |_: &_| "{}".to_owned();
    es2::confirm_order(&store, &call("confirmOrder")?, &confirm, &recorded).map_err(|e| io(e.to_string()))?;
    let address = config.smdp_addresses().into_iter().next().unwrap_or_default();
    println!("{}", ActivationCode { smdp_address: address, matching_id });
    Ok(())
}

/// A new Available profile generated from the operator's template `template` (a one-row personalization
/// batch: the row is checked against the template and stored sealed; the package is generated when it is bound).
/// Returns the new ICCID. Errors never contain key or PIN values.
fn personalize_template(store: &Store, operator_id: &str, template: &str, row: BatchRow) -> Result<String, String> {
    let iccid = row.iccid.clone();
    let report = inventory_service::upload_batch(store, operator_id, template, vec![(1, Ok(row))], true)
        .map_err(|e| e.to_string())?;
    match report.items.into_iter().next().map(|i| i.outcome) {
        Some(Ok(())) => Ok(iccid),
        Some(Err(reason)) => Err(reason),
        None => Err("nothing stored".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(ki: &str, pin1: &str) -> PersonalizeArgs {
        PersonalizeArgs {
            new_iccid: Some("89882390000000000011".into()),
            imsi: None,
            ki: Some(ki.into()),
            opc: Some("00112233445566778899AABBCCDDEEFF".into()),
            pin1: Some(pin1.into()),
            pin2: None,
            puk1: None,
            puk2: None,
            adm1: None,
        }
    }

    #[test]
    fn bad_secrets_are_named_never_shown() {
        for (ki, pin1, option) in
            [("0BADC0FFEE", "1234", "--ki"), ("00112233445566778899AABBCCDDEEFF", "12X4567", "--pin1")]
        {
            let message = args(ki, pin1).to_personalization().unwrap_err().to_string();
            assert!(message.contains(option), "{message}");
            assert!(!message.contains(ki) && !message.contains(pin1), "{message}");
        }
        let p = args("00112233445566778899AABBCCDDEEFF", "1234").to_personalization().unwrap();
        assert!(!format!("{p:?}").contains("00112233"), "Debug hides keys");
    }
}
