//! `rspd eim …`: operator conveniences for the eIM until the fleet API lands, over the same domain and
//! repository code (SGP.32 v1.2 §2.11): register an eUICC from its certificate, emit the AddInitialEim a
//! device factory loads (§5.9.4), record the associationToken the eUICC issued, queue a package — signed PSMOs
//! (§5.9.2–§5.9.11) or eCOs (§5.9.12–§5.9.15), a ProfileDownloadTriggerRequest (§2.11.1.4) or an
//! IpaEuiccDataRequest (§2.11.1.2) — and show an order.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::codec::sgp22::Iccid as IccidDo;
use crate::codec::sgp32::{
    ConfigureImmediateEnable, DeleteEim, Eco, Empty, EuiccPackage, ProfileInfoListRequest, Psmo, PsmoEnable, PsmoIccid,
    SetDefaultDpAddressRequest,
};
use crate::config::{Config, ConfigError};
use crate::eim::campaign::{ImportOutcome, OperatorEuiccs};
use crate::eim::registry::{add_initial_eim_request, eim_configuration_data};
use crate::eim::{service, EimError, EimRepository, NewEuicc};
use crate::pki::test_pki::TestPkiPaths;
use crate::pki::{Certificate, CiStore, Curve};
use crate::profile::Iccid;
use crate::server::StartError;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum EimCommand {
    /// Register an eUICC from its certificate (CERT.EUICC.ECDSA, PEM or DER); prints its EID.
    Register(RegisterArgs),
    /// Write the AddInitialEimRequest (BF57, DER) with this eIM's configuration for a registered eUICC.
    Config(ConfigArgs),
    /// Record the associationToken the eUICC issued in its AddInitialEimResponse.
    Associate(AssociateArgs),
    /// Queue a package for an eUICC (signed PSMOs or eCOs, a profile download trigger, or an IPA/eUICC data
    /// request); prints the order id and counterValue.
    Queue(QueueArgs),
    /// Show an order: state, counterValue, failure reason.
    Show(ShowArgs),
    /// Register many eUICCs for an operator from certificate files; prints one line per file.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The operator the eUICCs belong to (an operator id of `[[operator.identities]]`).
    #[arg(long, value_name = "ID")]
    pub operator: String,
    /// A label for campaign filters.
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// CERT.EUM.ECDSA: verify CI → EUM → eUICC for every file first.
    #[arg(long, value_name = "FILE")]
    pub eum_cert: Option<PathBuf>,
    /// Trusted CI certificate(s) for `--eum-cert`; default: the test PKI's CIs.
    #[arg(long = "ci-cert", value_name = "FILE")]
    pub ci_certs: Vec<PathBuf>,
    /// CERT.EUICC.ECDSA files (PEM or DER).
    #[arg(required = true, value_name = "CERT")]
    pub certs: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// CERT.EUICC.ECDSA (PEM or DER).
    #[arg(long, value_name = "FILE")]
    pub cert: PathBuf,
    /// CERT.EUM.ECDSA (PEM or DER): verify CI → EUM → eUICC before registering.
    #[arg(long, value_name = "FILE")]
    pub eum_cert: Option<PathBuf>,
    /// Trusted CI certificate(s) for `--eum-cert`; default: the test PKI's CIs.
    #[arg(long = "ci-cert", value_name = "FILE")]
    pub ci_certs: Vec<PathBuf>,
    /// The initial counterValue (the one the AddInitialEim will carry).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub counter_value: i64,
    /// The operator the eUICC belongs to (only that operator sees it in the eIM API).
    #[arg(long, value_name = "ID")]
    pub operator: Option<String>,
    /// A label for campaign filters (with `--operator`).
    #[arg(long, value_name = "TEXT", requires = "operator")]
    pub label: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[arg(long, value_name = "EID")]
    pub eid: String,
    /// Do not ask the eUICC for an associationToken.
    #[arg(long)]
    pub no_association_token: bool,
    /// Output file (DER); default: hex on standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AssociateArgs {
    #[arg(long, value_name = "EID")]
    pub eid: String,
    #[arg(long, value_name = "N")]
    pub association_token: i64,
}

#[derive(Debug, Args)]
pub struct QueueArgs {
    #[arg(long, value_name = "EID")]
    pub eid: String,
    /// One PSMO, in package order: `enable:ICCID`, `enable-rollback:ICCID`, `disable:ICCID`, `delete:ICCID`,
    /// `list-profiles`, `get-rat`, `set-fallback:ICCID`, `unset-fallback`, `immediate-enable[:SMDP]`,
    /// `set-default-dp:ADDRESS`.
    #[arg(long = "psmo", value_name = "OP[:ARG]", group = "package")]
    pub psmos: Vec<String>,
    /// One eCO, in package order: `list-eim`, `delete-eim:EIMID`, `add-eim:EIMID[:FQDN]`,
    /// `update-eim:EIMID[:FQDN]` (added/updated eIMs get this eIM's public key and counterValue 0).
    #[arg(long = "eco", value_name = "OP[:ARG]", group = "package")]
    pub ecos: Vec<String>,
    /// Queue a ProfileDownloadTriggerRequest with this activation code (`LPA:1$address$matchingId`, e.g. the
    /// one `rspd order create` printed, or one from another SM-DP+).
    #[arg(long, value_name = "ACTIVATION_CODE", group = "package")]
    pub download: Option<String>,
    /// Queue an IpaEuiccDataRequest for these IpaEuiccData tags, hex (e.g. `BF20BF22A0` = EUICCInfo1,
    /// EUICCInfo2, notifications).
    #[arg(long, value_name = "TAGS_HEX", group = "package")]
    pub ipa_data: Option<String>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[arg(long, value_name = "ID")]
    pub order: i64,
}

/// Runs one `rspd eim` command.
pub fn run(config: &Config, command: EimCommand) -> Result<(), StartError> {
    let store = Store::open_for_command(&config.database_settings())?;
    store.migrate()?;
    match command {
        EimCommand::Register(args) => {
            let bytes = read(&args.cert)?;
            let cert = Certificate::from_pem(&bytes)
                .or_else(|_| Certificate::from_der(&bytes))
                .map_err(|e| ConfigError::invalid("--cert", format!("{}: {e}", args.cert.display())))?;
            let new = match &args.eum_cert {
                Some(eum_file) => {
                    let eum = read_certificate("--eum-cert", eum_file)?;
                    let cis = trusted_cis(config, &args.ci_certs)?;
                    let now = time::OffsetDateTime::now_utc();
                    NewEuicc::from_verified_chain(
                        &cis,
                        eum.der(),
                        cert.der(),
                        &config.eim.eim_id,
                        args.counter_value,
                        now,
                    )
                }
                None => NewEuicc::from_certificate(cert.der(), &config.eim.eim_id, args.counter_value),
            }
            .map_err(eim)?;
            let record = store.register_euicc(&new).map_err(eim)?;
            if let Some(operator) = &args.operator {
                store.assign_operator(&record.eid, operator, args.label.as_deref()).map_err(eim)?;
            }
            println!("{}", record.eid);
        }
        EimCommand::Config(args) => {
            let euicc = registered(&store, &args.eid)?;
            let ctx = crate::server::eim_context(config)?;
            let data =
                eim_configuration_data(&ctx, euicc.eim_key_curve, euicc.counter_value, !args.no_association_token)
                    .and_then(add_initial_eim_request)
                    .map_err(eim)?;
            match args.out {
                Some(path) => std::fs::write(&path, &data)
                    .map_err(|e| StartError::Io { what: format!("{}", path.display()), reason: e.to_string() })?,
                None => println!("{}", hex::encode_upper(&data)),
            }
        }
        EimCommand::Associate(args) => {
            store.set_association_token(&args.eid, Some(args.association_token)).map_err(eim)?;
        }
        EimCommand::Queue(args) => {
            let euicc = registered(&store, &args.eid)?;
            let ctx = crate::server::eim_context(config)?;
            let now = crate::clock::now_ms();
            let order = if let Some(code) = &args.download {
                service::queue_download_trigger(&store, &ctx, &args.eid, code.trim(), now)
            } else if let Some(tags) = &args.ipa_data {
                let tags = hex::decode(tags.trim())
                    .map_err(|e| ConfigError::invalid("--ipa-data", format!("not hex: {e}")))?;
                service::queue_ipa_euicc_data_request(&store, &ctx, &args.eid, &tags, now)
            } else if !args.ecos.is_empty() {
                let ecos =
                    args.ecos.iter().map(|e| parse_eco(&ctx, euicc.eim_key_curve, e)).collect::<Result<_, _>>()?;
                service::queue_euicc_package(&store, &ctx, &args.eid, EuiccPackage::EcoList(ecos), now)
            } else if !args.psmos.is_empty() {
                let psmos = args.psmos.iter().map(|p| parse_psmo(p)).collect::<Result<Vec<_>, _>>()?;
                service::queue_euicc_package(&store, &ctx, &args.eid, EuiccPackage::PsmoList(psmos), now)
            } else {
                return Err(ConfigError::invalid("eim queue", "give --psmo, --eco, --download or --ipa-data").into());
            }
            .map_err(eim)?;
            println!("order {} counterValue {}", order.id, order.counter_value);
        }
        EimCommand::Import(args) => import(config, &store, &args)?,
        EimCommand::Show(args) => {
            let order = store
                .find_order(args.order)
                .map_err(eim)?
                .ok_or_else(|| ConfigError::invalid("--order", format!("no eIM order {}", args.order)))?;
            println!(
                "order {} eid {} state {} counterValue {} reason {}",
                order.id,
                order.eid,
                order.state,
                order.counter_value,
                order.failure_reason.as_deref().unwrap_or("-")
            );
        }
    }
    Ok(())
}

/// `rspd eim import`: each file registered for the operator (or found already there), one line each.
fn import(config: &Config, store: &Store, args: &ImportArgs) -> Result<(), StartError> {
    let chain = match &args.eum_cert {
        Some(f) => Some((read_certificate("--eum-cert", f)?, trusted_cis(config, &args.ci_certs)?)),
        None => None,
    };
    let now = time::OffsetDateTime::now_utc();
    let mut failed = 0;
    for file in &args.certs {
        let new = read_certificate("CERT", file).map_err(|e| e.to_string()).and_then(|cert| {
            match &chain {
                Some((eum, cis)) => {
                    NewEuicc::from_verified_chain(cis, eum.der(), cert.der(), &config.eim.eim_id, 0, now)
                }
                None => NewEuicc::from_certificate(cert.der(), &config.eim.eim_id, 0),
            }
            .map_err(|e| e.to_string())
        });
        let line = match new {
            Err(e) => Err(e),
            Ok(new) => match store.import_euicc(&new, &args.operator, args.label.as_deref()).map_err(eim)? {
                ImportOutcome::Registered => Ok(format!("{} registered", new.eid)),
                ImportOutcome::AlreadyRegistered => Ok(format!("{} already registered", new.eid)),
                ImportOutcome::Refused => Err(format!("{} is registered with another operator", new.eid)),
            },
        };
        match line {
            Ok(l) => println!("{l}"),
            Err(e) => {
                failed += 1;
                println!("{}: refused: {e}", file.display());
            }
        }
    }
    if failed > 0 {
        return Err(ConfigError::invalid("eim import", format!("{failed} of {} not imported", args.certs.len())).into());
    }
    Ok(())
}

fn registered(store: &Store, eid: &str) -> Result<crate::eim::EuiccRecord, StartError> {
    store
        .find_euicc(eid)
        .map_err(eim)?
        .ok_or_else(|| ConfigError::invalid("--eid", format!("eUICC {eid} is not registered")).into())
}

/// `enable:ICCID` → PSMO.
fn parse_psmo(text: &str) -> Result<Psmo, StartError> {
    let invalid = |m: String| StartError::from(ConfigError::invalid("--psmo", m));
    let (op, iccid) = match text.split_once(':') {
        Some((op, iccid)) => (op, Some(iccid)),
        None => (text, None),
    };
    let arg = iccid;
    let iccid = || -> Result<IccidDo, StartError> {
        let digits = iccid.ok_or_else(|| invalid(format!("`{op}` needs :ICCID")))?;
        let parsed = Iccid::new(digits).map_err(|e| invalid(format!("{digits}: {e}")))?;
        Ok(IccidDo::from(&parsed))
    };
    Ok(match op {
        "enable" => Psmo::Enable(PsmoEnable { iccid: iccid()?, rollback_flag: None }),
        "enable-rollback" => Psmo::Enable(PsmoEnable { iccid: iccid()?, rollback_flag: Some(()) }),
        "disable" => Psmo::Disable(PsmoIccid { iccid: iccid()? }),
        "delete" => Psmo::Delete(PsmoIccid { iccid: iccid()? }),
        "list-profiles" => Psmo::ListProfileInfo(ProfileInfoListRequest::default()),
        "get-rat" => Psmo::GetRat(Empty {}),
        "set-fallback" => Psmo::SetFallbackAttribute(PsmoIccid { iccid: iccid()? }),
        "unset-fallback" => Psmo::UnsetFallbackAttribute(Empty {}),
        "immediate-enable" => Psmo::ConfigureImmediateEnable(ConfigureImmediateEnable {
            immediate_enable_flag: Some(()),
            default_smdp_oid: None,
            default_smdp_address: arg.map(Into::into),
        }),
        "set-default-dp" => Psmo::SetDefaultDpAddress(SetDefaultDpAddressRequest {
            default_dp_address: arg.ok_or_else(|| invalid("`set-default-dp` needs :ADDRESS".into()))?.into(),
        }),
        other => {
            return Err(invalid(format!(
                "unknown PSMO `{other}` (enable, enable-rollback, disable, delete, list-profiles, get-rat, \
                 set-fallback, unset-fallback, immediate-enable, set-default-dp)"
            )))
        }
    })
}

/// `delete-eim:ID` → eCO.
fn parse_eco(ctx: &crate::eim::EimContext, curve: Curve, text: &str) -> Result<Eco, StartError> {
    let invalid = |m: String| StartError::from(ConfigError::invalid("--eco", m));
    let mut parts = text.splitn(3, ':');
    let op = parts.next().unwrap_or_default();
    let eim_id = parts.next();
    let fqdn = parts.next();
    let config = || -> Result<crate::codec::sgp32::EimConfigurationData, StartError> {
        let id = eim_id.ok_or_else(|| invalid(format!("`{op}` needs :EIMID")))?;
        let mut config = eim_configuration_data(ctx, curve, 0, false).map_err(eim)?;
        config.eim_id = id.into();
        config.eim_fqdn = fqdn.map(Into::into).or(config.eim_fqdn);
        Ok(config)
    };
    Ok(match op {
        "list-eim" => Eco::ListEim(Empty {}),
        "delete-eim" => Eco::DeleteEim(DeleteEim {
            eim_id: eim_id.ok_or_else(|| invalid("`delete-eim` needs :EIMID".into()))?.into(),
        }),
        "add-eim" => Eco::AddEim(config()?),
        "update-eim" => {
            let mut c = config()?;
            // updateEim carries no counterValue reset unless asked (§5.9.14).
            c.counter_value = None;
            Eco::UpdateEim(c)
        }
        other => return Err(invalid(format!("unknown eCO `{other}` (list-eim, delete-eim, add-eim, update-eim)"))),
    })
}

fn read_certificate(key: &str, path: &PathBuf) -> Result<Certificate, StartError> {
    let bytes = read(path)?;
    Certificate::from_pem(&bytes)
        .or_else(|_| Certificate::from_der(&bytes))
        .map_err(|e| ConfigError::invalid(key, format!("{}: {e}", path.display())).into())
}

/// The given CI certificates, else the test PKI's.
fn trusted_cis(config: &Config, files: &[PathBuf]) -> Result<CiStore, StartError> {
    let files: Vec<PathBuf> = if files.is_empty() {
        let pki = TestPkiPaths::new(config.pki_dir());
        Curve::ALL.iter().map(|c| pki.ci_cert(*c)).filter(|f| f.is_file()).collect()
    } else {
        files.to_vec()
    };
    let mut cis = CiStore::new();
    for file in &files {
        let ci = read_certificate("--ci-cert", file)?;
        cis.add(ci).map_err(|e| ConfigError::invalid("--ci-cert", format!("{}: {e}", file.display())))?;
    }
    if cis.is_empty() {
        return Err(ConfigError::invalid("--ci-cert", "no trusted CI certificate").into());
    }
    Ok(cis)
}

fn read(path: &PathBuf) -> Result<Vec<u8>, StartError> {
    std::fs::read(path).map_err(|e| StartError::Io { what: format!("{}", path.display()), reason: e.to_string() })
}

/// eIM errors on the command line: the peer-independent ones are usage errors (exit 2), the rest exit 1.
fn eim(e: EimError) -> StartError {
    match e {
        EimError::UnknownEuicc(_)
        | EimError::InvalidEid(_)
        | EimError::AlreadyRegistered(_)
        | EimError::UntrustedCertificate(_)
        | EimError::Malformed { .. } => ConfigError::invalid("eim", e.to_string()).into(),
        other => StartError::Io { what: "eim".into(), reason: other.to_string() },
    }
}
