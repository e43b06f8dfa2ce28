//! `rspd profile type`, `rspd template …`, `rspd stock` and `rspd keys rotate`: the operator inventory from the
//! command line, over the same code as the operator API (`http::operator::inventory`): profile types with StoreMetadata
//! (SGP.22 v2.5 §5.5.3), templates and personalization batches, stock per type (§5.3.1 pool), secrets at rest.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::cli::download::{open_store, print_report, ProfileClassArg};
use crate::config::{Config, ConfigError};
use crate::pki::test_pki::TEST_OPERATOR_ID;
use crate::secrets::master_key::{read_key_file, write_key_file, KeySource};
use crate::secrets::{Keyring, MasterKey};
use crate::server::StartError;
use crate::smdp::inventory::{
    batch_rows_from_json, check_profile_type, parse_batch_csv, BatchRow, InventoryRepository, NumberedRows,
    ProfileMetadata, ProfileType,
};
use crate::smdp::inventory_service;
use crate::smdp::ProfileState;
use crate::store::Store;

#[derive(Debug, Args)]
pub struct ProfileTypeArgs {
    /// The profile type (ES2+ profileType).
    #[arg(value_name = "NAME")]
    pub name: String,
    #[arg(long = "operator", default_value = TEST_OPERATOR_ID, value_name = "ID")]
    pub operator_id: String,
    /// serviceProviderName (at most 32 bytes).
    #[arg(long = "spn", default_value = "", value_name = "NAME")]
    pub service_provider_name: String,
    /// profileName (at most 64 bytes); empty: `Profile <ICCID>`.
    #[arg(long, default_value = "", value_name = "NAME")]
    pub profile_name: String,
    #[arg(long, value_enum, default_value_t = ProfileClassArg::Operational)]
    pub profile_class: ProfileClassArg,
    /// profilePolicyRules bits: pprUpdateControl, ppr1, ppr2 (repeat or comma-separate).
    #[arg(long = "ppr", value_delimiter = ',', value_name = "RULE")]
    pub profile_policy_rules: Vec<String>,
    /// Warn (log and metric) when fewer profiles of this type are available.
    #[arg(long, value_name = "N")]
    pub low_stock_threshold: Option<i64>,
}

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Store a SAIP template for a profile type (validated; sealed; never ordered itself).
    Upload(TemplateUploadArgs),
    /// Add a personalization batch (CSV or JSON) for a template: each good row becomes an Available profile.
    Batch(TemplateBatchArgs),
}

#[derive(Debug, Args)]
pub struct TemplateUploadArgs {
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[arg(long = "type", value_name = "T")]
    pub profile_type: String,
    /// Template name; default: the template's own ICCID.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    #[arg(long = "operator", default_value = TEST_OPERATOR_ID, value_name = "ID")]
    pub operator_id: String,
}

#[derive(Debug, Args)]
pub struct TemplateBatchArgs {
    /// The template's name.
    #[arg(value_name = "TEMPLATE")]
    pub template: String,
    /// `.json` (`{"rows": [...]}` or `[...]`), anything else is read as CSV with a header line.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[arg(long)]
    pub all_or_nothing: bool,
    #[arg(long = "operator", default_value = TEST_OPERATOR_ID, value_name = "ID")]
    pub operator_id: String,
}

#[derive(Debug, Args)]
pub struct StockArgs {
    #[arg(long = "operator", default_value = TEST_OPERATOR_ID, value_name = "ID")]
    pub operator_id: String,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new master key active and re-encrypt every sealed row under it (resumes an unfinished rotation
    /// instead when rows under an older key remain).
    Rotate(KeysRotateArgs),
}

#[derive(Debug, Args)]
pub struct KeysRotateArgs {
    /// Rows per transaction.
    #[arg(long, default_value_t = 100)]
    pub batch_size: i64,
}

fn io(what: &str) -> impl Fn(String) -> StartError + '_ {
    move |reason| StartError::Io { what: what.to_owned(), reason }
}

pub fn profile_type(config: &Config, args: ProfileTypeArgs) -> Result<(), StartError> {
    let t = ProfileType {
        operator_id: args.operator_id,
        name: args.name,
        metadata: ProfileMetadata {
            service_provider_name: args.service_provider_name,
            profile_name: args.profile_name,
            profile_class: args.profile_class.value(),
            profile_policy_rules: args.profile_policy_rules,
            notification_configuration_info: Vec::new(),
        },
        low_stock_threshold: args.low_stock_threshold,
    };
    check_profile_type(&t).map_err(|m| ConfigError::invalid("profile type", m))?;
    let store = open_store(config)?;
    store.upsert_profile_type(&t).map_err(|e| io("profile type")(e.to_string()))?;
    println!("profile type {} of operator {} saved", t.name, t.operator_id);
    Ok(())
}

pub fn template(config: &Config, command: TemplateCommand) -> Result<(), StartError> {
    match command {
        TemplateCommand::Upload(args) => {
            let der = std::fs::read(&args.file)
                .map_err(|e| ConfigError::invalid("FILE", format!("{}: {e}", args.file.display())))?;
            let store = open_store(config)?;
            let t = inventory_service::upload_template(
                &store,
                &args.operator_id,
                args.name.as_deref(),
                &args.profile_type,
                der,
            )
            .map_err(|e| io("template upload")(e.to_string()))?;
            println!("template {} stored for profile type {}", t.name, t.profile_type);
            Ok(())
        }
        TemplateCommand::Batch(args) => {
            let text = std::fs::read_to_string(&args.file)
                .map_err(|e| ConfigError::invalid("FILE", format!("{}: {e}", args.file.display())))?;
            let rows = if args.file.extension().is_some_and(|e| e == "json") {
                batch_from_json(&text).map_err(|m| ConfigError::invalid("FILE", m))?
            } else {
                parse_batch_csv(&text).map_err(|m| ConfigError::invalid("FILE", m))?
            };
            let store = open_store(config)?;
            let report =
                inventory_service::upload_batch(&store, &args.operator_id, &args.template, rows, args.all_or_nothing)
                    .map_err(|e| io("template batch")(e.to_string()))?;
            if let Some(id) = report.batch_id {
                println!("batch {id}");
            }
            let labels: Vec<String> = report.items.iter().map(|i| format!("row {}", i.index)).collect();
            print_report("template batch", &labels, &report)
        }
    }
}

/// `{"rows": [...]}` or a bare array of rows. The error names the position, never a value.
fn batch_from_json(text: &str) -> Result<NumberedRows, String> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Batch {
        Wrapped { rows: Vec<BatchRow> },
        Bare(Vec<BatchRow>),
    }
    match serde_json::from_str::<Batch>(text) {
        Ok(Batch::Wrapped { rows } | Batch::Bare(rows)) => Ok(batch_rows_from_json(rows)),
        Err(e) => Err(format!("not a JSON batch (line {}): rows need iccid and known fields only", e.line())),
    }
}

pub fn stock(config: &Config, args: StockArgs) -> Result<(), StartError> {
    let store = open_store(config)?;
    let levels = store.stock(&args.operator_id).map_err(|e| io("stock")(e.to_string()))?;
    let header: Vec<&str> = ProfileState::ALL.iter().map(|s| s.as_str()).collect();
    println!("{:<24} {}  low", "profile type", header.iter().map(|h| format!("{h:>11}")).collect::<String>());
    for level in &levels {
        let counts: String = level.counts.iter().map(|(_, n)| format!("{n:>11}")).collect();
        let low = match level.low_stock_threshold {
            Some(t) if level.is_low() => format!("LOW (< {t})"),
            Some(t) => format!("ok (>= {t})"),
            None => "-".into(),
        };
        println!("{:<24} {counts}  {low}", level.profile_type);
    }
    Ok(())
}

/// Key rotation: (1) unless rows under an older key remain (an unfinished rotation, resumed instead), the keys no
/// row uses any more are dropped from the key file and a new key is appended and becomes active — written before
/// any row changes, so a crash loses nothing; (2) every sealed row is re-encrypted under the active key in
/// batches. The previous key stays in the file until the next rotation (a running `rspd serve` re-reads the file
/// within `smdp.expiry_interval_secs` and may seal with the previous key until then). With `secrets.master_key`
/// (environment) rspd cannot edit the keys: put the new key last, keep the old ones, run this, then drop them.
pub fn keys_rotate(config: &Config, args: KeysRotateArgs) -> Result<(), StartError> {
    let settings = config.secrets_settings();
    let loaded = crate::secrets::master_key::load_or_create(&settings)?;
    let store = Store::open_for_command(&config.database_settings())?;
    store.migrate()?;
    let fail = io("keys rotate");
    let probe = store.clone().with_keyring(loaded.keyring.clone());
    let in_use = probe.key_ids_in_use().map_err(|e| fail(e.to_string()))?;
    let active = loaded.keyring.active().id().to_string();
    let clear = probe.clear_package_count().map_err(|e| fail(e.to_string()))?;
    let unfinished = in_use.iter().any(|id| *id != active) || clear > 0;
    let keyring = match (&loaded.source, unfinished) {
        (KeySource::File(path), false) => {
            let old = read_key_file(path)?;
            let dropped = old.len() - 1;
            let mut keys: Vec<MasterKey> = old.into_iter().filter(|k| k.id().as_str() == active).collect();
            let new = MasterKey::generate()?;
            println!(
                "new master key {} added to {} (active now; previous key {active} kept)",
                new.id(),
                path.display()
            );
            if dropped > 0 {
                println!("{dropped} older key(s) no row uses any more removed");
            }
            keys.push(new);
            write_key_file(path, &keys)?;
            Keyring::new(keys)?
        }
        (KeySource::File(_), true) => {
            println!("resuming: rows remain under older keys or in clear; re-encrypting them under {active}");
            loaded.keyring.clone()
        }
        (KeySource::Value, _) => {
            println!("keys from secrets.master_key: re-encrypting under its last key {active}");
            loaded.keyring.clone()
        }
    };
    if let Some(missing) = in_use.iter().find(|id| !keyring.contains(id)) {
        return Err(fail(format!(
            "rows are sealed under master key {missing}, which is not configured: cannot re-encrypt them"
        )));
    }
    let store = store.with_keyring(keyring.clone());
    let report = store.reseal_all(args.batch_size).map_err(|e| fail(e.to_string()))?;
    for (table, n) in &report.resealed {
        println!("  {table}: {n} row(s) re-encrypted");
    }
    let still = store.key_ids_in_use().map_err(|e| fail(e.to_string()))?;
    println!(
        "{} row(s) re-encrypted; active key {}; keys in use: {}",
        report.total(),
        keyring.active().id(),
        still.iter().cloned().collect::<Vec<_>>().join(", ")
    );
    Ok(())
}
