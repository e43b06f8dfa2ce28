//! `rspd profile import` and `rspd order create`: operator conveniences for the download flow until the
//! ES2+ / fleet API lands, over the same repository code (SGP.22 v2.5 §5.3.1–§5.3.2 DownloadOrder +
//! ConfirmOrder with releaseFlag; activation code §4.1).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::config::{Config, ConfigError};
use crate::pki::test_pki::TEST_OPERATOR_ID;
use crate::profile::{pins, Iccid, Imsi, Personalization, PinValue, ProfilePackage, PukValue, Secret};
use crate::server::StartError;
use crate::smdp::order::{confirmation_code_digest, DEFAULT_CC_ATTEMPTS};
use crate::smdp::{
    es2, ActivationCode, DownloadRepository, Eid, MatchingId, ProfilePackageRecord, ProfileRepository, RepoError,
};
use crate::store::Store;

#[derive(Debug, Args)]
pub struct ProfileImportArgs {
    /// SAIP profile packages (DER), one profile per file.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The operator owning the profiles.
    #[arg(long = "operator", default_value = TEST_OPERATOR_ID, value_name = "ID")]
    pub operator_id: String,
    /// The operator's profile type (ES2+ profileType).
    #[arg(long, default_value = "default", value_name = "T")]
    pub profile_type: String,
    /// Service provider name shown by the LPA (StoreMetadata, at most 32 bytes).
    #[arg(long = "spn", default_value = "rspd", value_name = "NAME")]
    pub service_provider_name: String,
    /// Profile name shown by the LPA (at most 64 bytes); default `Profile <ICCID>`.
    #[arg(long, value_name = "NAME")]
    pub profile_name: Option<String>,
    #[arg(long, value_enum, default_value_t = ProfileClassArg::Operational)]
    pub profile_class: ProfileClassArg,
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
    /// ICCID of an imported profile used as a template: a new profile is personalized from it (see `--iccid`).
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

fn open_store(config: &Config) -> Result<Store, StartError> {
    let store = Store::open_for_command(&config.database_settings())?;
    store.migrate()?;
    Ok(store)
}

/// Imports each file on its own: a bad file is reported and the others still go in. Fails (exit 1) when
/// any file failed.
pub fn profile_import(config: &Config, args: ProfileImportArgs) -> Result<(), StartError> {
    if args.service_provider_name.len() > 32 {
        return Err(ConfigError::invalid("--spn", "at most 32 bytes").into());
    }
    let store = open_store(config)?;
    let class = match args.profile_class {
        ProfileClassArg::Test => 0,
        ProfileClassArg::Provisioning => 1,
        ProfileClassArg::Operational => 2,
    };
    let mut failed = 0usize;
    for file in &args.files {
        let result = import_one(&store, &args, class, file);
        match result {
            Ok(iccid) => println!("imported  {}  ICCID {iccid}", file.display()),
            Err(reason) => {
                failed += 1;
                println!("FAILED    {}  {reason}", file.display());
            }
        }
    }
    println!("{} imported, {failed} failed", args.files.len() - failed);
    if failed > 0 {
        return Err(StartError::Io { what: "profile import".into(), reason: format!("{failed} file(s) failed") });
    }
    Ok(())
}

fn import_one(store: &Store, args: &ProfileImportArgs, class: i64, file: &PathBuf) -> Result<String, String> {
    let der = std::fs::read(file).map_err(|e| format!("cannot read: {e}"))?;
    let package = ProfilePackage::parse(&der).map_err(|e| format!("not a valid SAIP profile package: {e}"))?;
    let iccid = package.iccid().digits();
    let profile_name = args.profile_name.clone().unwrap_or_else(|| format!("Profile {iccid}"));
    if profile_name.len() > 64 {
        return Err("profile name longer than 64 bytes".into());
    }
    let record = ProfilePackageRecord {
        iccid: iccid.clone(),
        operator_id: args.operator_id.clone(),
        package_der: der,
        service_provider_name: args.service_provider_name.clone(),
        profile_name,
        profile_class: class,
    };
    match store.import_profile_package(&record, &args.profile_type) {
        Ok(()) => Ok(iccid),
        Err(RepoError::Conflict) => Err(format!("ICCID {iccid} is already imported")),
        Err(e) => Err(e.to_string()),
    }
}

/// Creates a released order and prints its activation code: with `--template`, first a new profile personalized
/// from the template; then ES2+ DownloadOrder → ConfirmOrder with releaseFlag (Available → Allocated | Linked →
/// Confirmed → Released), each a compare-and-set step of [`crate::smdp::es2`].
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
    let personalization = args.personalize.to_personalization()?;
    let io = |reason: String| StartError::Io { what: "order create".into(), reason };
    let store = open_store(config)?;
    let iccid = match (&args.template, &args.iccid) {
        (Some(template), _) => {
            let iccid = personalize_template(&store, &args.operator_id, template, &personalization).map_err(io)?;
            eprintln!("personalized {iccid} from template {template}");
            iccid
        }
        (None, Some(iccid)) => iccid.clone(),
        (None, None) => return Err(invalid("--profile", "give --profile or --template".into())),
    };
    es2::download_order(&store, &args.operator_id, &iccid, eid.as_ref()).map_err(|e| io(e.to_string()))?;
    if lock.is_locked() {
        store.set_device_lock(&args.operator_id, &iccid, &lock).map_err(|e| io(e.to_string()))?;
    }
    let confirmation = es2::Confirmation {
        matching_id: matching_id.clone(),
        eid,
        cc_hash: args.confirmation_code.as_deref().map(confirmation_code_digest),
        cc_attempts: DEFAULT_CC_ATTEMPTS,
        release: true,
    };
    es2::confirm_order(&store, &args.operator_id, &iccid, &confirmation).map_err(|e| io(e.to_string()))?;
    let address = config.smdp_addresses().into_iter().next().unwrap_or_default();
    println!("{}", ActivationCode { smdp_address: address, matching_id });
    Ok(())
}

/// A new Available profile: the operator's `template` package personalized (new ICCID in the header and
/// EF.ICCID, and whatever else is given), re-parsed as a check, stored with the template's metadata.
/// Returns the new ICCID. Errors never contain key or PIN values.
fn personalize_template(
    store: &Store,
    operator_id: &str,
    template: &str,
    personalization: &Personalization,
) -> Result<String, String> {
    let record = store
        .find_profile_package(operator_id, template)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("operator {operator_id} has no imported profile {template}"))?;
    let profile_type = store
        .find_profile(operator_id, template)
        .map_err(|e| e.to_string())?
        .map(|p| p.profile_type)
        .ok_or_else(|| format!("operator {operator_id} has no profile {template}"))?;
    let package = ProfilePackage::parse(&record.package_der).map_err(|e| format!("template {template}: {e}"))?;
    let personalized = package.personalize(personalization).map_err(|e| format!("personalization failed: {e}"))?;
    let der = personalized.to_der();
    // Validate what will be served: it must parse and carry the new ICCID in the header and EF.ICCID.
    let check = ProfilePackage::parse(&der).map_err(|e| format!("personalized package is invalid: {e}"))?;
    let iccid = check.iccid().digits();
    if personalization.iccid.as_ref().is_some_and(|want| want != check.iccid() || check.ef_iccid() != Some(want)) {
        return Err("personalized package does not carry the new ICCID".into());
    }
    let profile_name = if record.profile_name == format!("Profile {template}") {
        format!("Profile {iccid}")
    } else {
        record.profile_name.clone()
    };
    let new = ProfilePackageRecord {
        iccid: iccid.clone(),
        operator_id: operator_id.to_owned(),
        // TODO(encryption at rest): the personalized package holds Ki/OPc/PIN/PUK in clear; encrypt it before
        // storing once the key store offers a data-encryption key.
        package_der: der,
        service_provider_name: record.service_provider_name,
        profile_name,
        profile_class: record.profile_class,
    };
    match store.import_profile_package(&new, &profile_type) {
        Ok(()) => Ok(iccid),
        Err(RepoError::Conflict) => Err(format!("ICCID {iccid} already exists")),
        Err(e) => Err(e.to_string()),
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
