//! `rsp-conformance ipa` and `rsp-conformance euicc …`: a persistent soft eUICC in a directory and the IPA
//! that drives it against an eIM (SGP.32 v1.2 ESipa, §5.14).
//!
//! The directory holds the eUICC's credentials (`<curve>/{ci,eum,euicc}.pem`, `<curve>/euicc.key`, the layout
//! of an rspd test PKI, plus every CI the source trusts), `euicc.json` (the curve) and `state.json` (profiles,
//! notifications, associated eIMs and counters — [`SoftEuicc::save_state`]), so each run continues where the
//! previous one stopped.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rsp_conformance::euicc::{EuiccCredentials, SoftEuicc};
use rsp_conformance::ipa::{Binding, DownloadMode, EsipaClient, Ipa, PollOutcome};
use rsp_conformance::lpa::TrustAnchors;
use rsp_proto::codec::decode;
use rsp_proto::codec::sgp32::{AddInitialEimOkItem, AddInitialEimResponse};
use rsp_proto::pki::test_pki::TestPkiPaths;
use rsp_proto::pki::Curve;

#[derive(clap::Args)]
pub struct IpaArgs {
    /// The eIM: `https://host:port` (or `host:port`).
    #[arg(long)]
    eim: String,
    /// The soft eUICC's directory (`rsp-conformance euicc init`).
    #[arg(long)]
    euicc_dir: PathBuf,
    /// ESipa binding.
    #[arg(long, default_value = "asn1")]
    binding: Binding,
    /// How profile downloads run: `direct` (ES9+ to the SM-DP+) or `indirect` (through the eIM).
    #[arg(long, default_value = "direct")]
    download: DownloadMode,
    /// At most this many GetEimPackage polls (the run stops at the first empty answer).
    #[arg(long, default_value_t = 10)]
    polls: usize,
    /// TLS trust anchors (PEM or DER) for the eIM and SM-DP+, repeatable. Default: the CIs the eUICC trusts.
    #[arg(long)]
    ca: Vec<PathBuf>,
}

#[derive(clap::Subcommand)]
pub enum EuiccCommand {
    /// Create a soft eUICC directory from an rspd test PKI (`rspd pki init` / `rspd serve` output).
    Init {
        #[arg(long)]
        dir: PathBuf,
        /// The test PKI directory, e.g. `rspd-data/pki`.
        #[arg(long)]
        pki: PathBuf,
        #[arg(long, default_value = "nist")]
        curve: Curve,
        /// Issue a new eUICC (EID serial N ≥ 2) with the PKI's EUM instead of copying its sample eUICC: one
        /// directory per simulated device.
        #[arg(long, value_name = "N")]
        serial: Option<u64>,
    },
    /// ES10b.AddInitialEim with an AddInitialEimRequest (`rspd eim config` output: DER file or hex text);
    /// prints the associationToken the eUICC issued.
    AddInitialEim {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        file: PathBuf,
    },
    /// Print the EID, profiles and associated eIMs.
    Show {
        #[arg(long)]
        dir: PathBuf,
    },
}

fn state_path(dir: &Path) -> PathBuf {
    dir.join("state.json")
}

/// Loads the soft eUICC of `dir` with its saved state.
pub fn load_euicc(dir: &Path) -> Result<SoftEuicc, String> {
    let meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("euicc.json"))
            .map_err(|e| format!("{}: {e} (create it with `rsp-conformance euicc init`)", dir.display()))?,
    )
    .map_err(|e| format!("euicc.json: {e}"))?;
    let curve: Curve = meta
        .get("curve")
        .and_then(|c| c.as_str())
        .ok_or("euicc.json: no curve")?
        .parse()
        .map_err(|e| format!("euicc.json: {e}"))?;
    let credentials = EuiccCredentials::from_test_pki(&TestPkiPaths::new(dir), curve).map_err(|e| e.to_string())?;
    let mut euicc = SoftEuicc::new(credentials);
    let state = state_path(dir);
    if state.is_file() {
        euicc.load_state(&state).map_err(|e| e.to_string())?;
    }
    Ok(euicc)
}

fn save_euicc(euicc: &SoftEuicc, dir: &Path) -> Result<(), String> {
    euicc.save_state(&state_path(dir)).map_err(|e| e.to_string())
}

pub fn euicc(command: EuiccCommand) -> ExitCode {
    match run_euicc(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run_euicc(command: EuiccCommand) -> Result<(), String> {
    match command {
        EuiccCommand::Init { dir, pki, curve, serial } => {
            let source = TestPkiPaths::new(&pki);
            let target = TestPkiPaths::new(&dir);
            if dir.join("euicc.json").exists() {
                return Err(format!("{} already holds a soft eUICC", dir.display()));
            }
            for c in Curve::ALL {
                if source.ci_cert(c).is_file() {
                    std::fs::create_dir_all(target.curve_dir(c)).map_err(|e| e.to_string())?;
                    copy(&source.ci_cert(c), &target.ci_cert(c))?;
                }
            }
            copy(&source.eum_cert(curve), &target.eum_cert(curve))?;
            match serial {
                Some(serial) => {
                    let issued = rsp_proto::pki::test_pki::issue_test_euicc(&source, curve, serial)
                        .map_err(|e| e.to_string())?;
                    std::fs::write(target.euicc_cert(curve), &issued.certificate_pem).map_err(|e| e.to_string())?;
                    std::fs::write(target.euicc_key(curve), &issued.private_key_pem).map_err(|e| e.to_string())?;
                }
                None => {
                    copy(&source.euicc_cert(curve), &target.euicc_cert(curve))?;
                    copy(&source.euicc_key(curve), &target.euicc_key(curve))?;
                }
            }
            std::fs::write(dir.join("euicc.json"), format!("{{\"curve\":\"{}\"}}\n", curve.short_name()))
                .map_err(|e| e.to_string())?;
            let euicc = load_euicc(&dir)?;
            save_euicc(&euicc, &dir)?;
            println!("eUICC {} ({}) in {}", euicc.eid(), curve.short_name(), dir.display());
            println!("certificate: {}", target.euicc_cert(curve).display());
        }
        EuiccCommand::AddInitialEim { dir, file } => {
            let mut euicc = load_euicc(&dir)?;
            let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let der = match std::str::from_utf8(&bytes).ok().and_then(|t| hex::decode(t.trim()).ok()) {
                Some(der) => der,
                None => bytes,
            };
            let response = euicc.add_initial_eim(&der).map_err(|e| e.to_string())?;
            match decode::<AddInitialEimResponse>(&response).map_err(|e| e.to_string())? {
                AddInitialEimResponse::AddInitialEimOk(items) => {
                    save_euicc(&euicc, &dir)?;
                    match items.iter().find_map(|i| match i {
                        AddInitialEimOkItem::AssociationToken(t) => Some(*t),
                        _ => None,
                    }) {
                        Some(token) => println!("associationToken {token}"),
                        None => println!("associated (no associationToken)"),
                    }
                }
                AddInitialEimResponse::AddInitialEimError(code) => {
                    return Err(format!("AddInitialEim refused: {code}"))
                }
            }
        }
        EuiccCommand::Show { dir } => {
            let euicc = load_euicc(&dir)?;
            println!("EID {}", euicc.eid());
            for p in euicc.profiles() {
                println!("profile {} {:?}{}", p.iccid, p.state, if p.fallback_attribute { " fallback" } else { "" });
            }
            for e in euicc.eims() {
                println!("eIM {} counterValue {}", e.configuration.eim_id, e.counter_value);
            }
        }
    }
    Ok(())
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to).map(|_| ()).map_err(|e| format!("{} → {}: {e}", from.display(), to.display()))
}

pub fn ipa(args: &IpaArgs) -> ExitCode {
    let euicc = match load_euicc(&args.euicc_dir) {
        Ok(e) => e,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let mut anchors = TrustAnchors::new();
    for path in &args.ca {
        if let Err(e) = anchors.add_file(path) {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    if anchors.is_empty() {
        for ci in euicc.credentials().ci_certs.iter() {
            anchors.add_der(ci.certificate.der());
        }
    }
    let esipa = match EsipaClient::new(&args.eim, &anchors, args.binding) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "IPA for eUICC {} → eIM {} ({:?} binding, {:?} downloads)",
        euicc.eid(),
        args.eim,
        args.binding,
        args.download
    );
    let mut ipa = Ipa::new(euicc, esipa, anchors, args.download);
    let mut status = ExitCode::SUCCESS;
    for poll in 1..=args.polls {
        match ipa.poll_once() {
            Ok(PollOutcome::NoPackage) => {
                println!("poll {poll}: no eIM package");
                break;
            }
            Ok(outcome) => println!("poll {poll}: {}", describe(&outcome)),
            Err(e) => {
                println!("poll {poll}: FAILED: {e}");
                status = ExitCode::from(1);
                break;
            }
        }
    }
    let euicc = ipa.into_euicc();
    if let Err(e) = save_euicc(&euicc, &args.euicc_dir) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    status
}

fn describe(outcome: &PollOutcome) -> String {
    match outcome {
        PollOutcome::NoPackage => "no eIM package".into(),
        PollOutcome::EuiccPackage { result, acknowledged } => {
            format!("EuiccPackageRequest executed, result {} bytes reported, {acknowledged} acknowledged", result.len())
        }
        PollOutcome::IpaEuiccData { response } => format!("IpaEuiccDataRequest answered ({} bytes)", response.len()),
        PollOutcome::Download { iccid: Ok(iccid) } => format!("profile download: ICCID {iccid} installed"),
        PollOutcome::Download { iccid: Err(e) } => format!("profile download failed: {e}"),
        PollOutcome::Refused { reason } => format!("package refused: {reason}"),
    }
}
