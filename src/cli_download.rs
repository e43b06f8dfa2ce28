//! `rspd profile import` and `rspd order create`: operator conveniences for the download flow until the
//! ES2+ / fleet API lands, over the same repository code (SGP.22 v2.5 §5.3.1–§5.3.2 DownloadOrder +
//! ConfirmOrder with releaseFlag; activation code §4.1).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::config::{Config, ConfigError};
use crate::pki::test_pki::TEST_OPERATOR_ID;
use crate::profile::ProfilePackage;
use crate::server::StartError;
use crate::smdp::order::{confirmation_code_digest, DEFAULT_CC_ATTEMPTS};
use crate::smdp::{ActivationCode, DownloadRepository, Eid, MatchingId, NewOrder, ProfilePackageRecord, RepoError};
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
pub struct OrderCreateArgs {
    /// ICCID of an imported, available profile.
    #[arg(long = "profile", value_name = "ICCID")]
    pub iccid: String,
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

/// Creates a released order and prints its activation code.
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
    let store = open_store(config)?;
    let order = NewOrder {
        operator_id: args.operator_id.clone(),
        iccid: args.iccid.clone(),
        matching_id: matching_id.clone(),
        eid,
        cc_hash: args.confirmation_code.as_deref().map(confirmation_code_digest),
        cc_attempts: DEFAULT_CC_ATTEMPTS,
    };
    let io = |reason: String| StartError::Io { what: "order create".into(), reason };
    match store.create_order(&order) {
        Ok(_) => {}
        Err(RepoError::NotFound) => {
            return Err(io(format!("operator {} has no profile {}", args.operator_id, args.iccid)))
        }
        Err(RepoError::StateConflict { actual }) => {
            return Err(io(format!("profile {} is {actual}, not available", args.iccid)))
        }
        Err(RepoError::Conflict) => return Err(io(format!("matchingId {matching_id} is already in use"))),
        Err(e) => return Err(io(e.to_string())),
    }
    let address = config.smdp_addresses().into_iter().next().unwrap_or_default();
    println!("{}", ActivationCode { smdp_address: address, matching_id });
    Ok(())
}
