//! `rsp-conformance`: run the LPA side of SGP.22 v2.5 against an SM-DP+.
//!
//! `rsp-conformance download --activation-code 'LPA:1$host:port$ID' --euicc-dir DIR` loads a soft eUICC
//! (SGP.26 directory or rspd test PKI), runs the download of §3.1.3 over ES9+ (§5.6, JSON binding §6.5.2),
//! prints every step with what was verified, and writes the installed profile package (UPP, SAIP DER).
//! Exit status 0 on success; otherwise one line `FAILED at <step> [<status code>]: <reason>` and status 1
//! (2 for usage or setup errors).
//!
//! `rsp-conformance euicc init|add-initial-eim|show --dir DIR` manages a persistent soft eUICC and
//! `rsp-conformance ipa --eim URL --euicc-dir DIR [--binding asn1|json] [--polls N]` runs an SGP.32 IPA with it
//! against an eIM (see `cli_ipa.rs`).
//!
//! `rsp-conformance load --pki DIR --operator HOST:PORT --smdp HOST:PORT --downloads N --eim URL --polls N` runs
//! many simulated eUICCs at once and reports throughput, latency percentiles and server CPU per operation (see
//! `cli_load.rs`).
#![forbid(unsafe_code)]

mod cli_ipa;
mod cli_load;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rsp_conformance::euicc::{EuiccCredentials, SoftEuicc};
use rsp_conformance::lpa::{
    download_profile, ActivationCode, DownloadError, DownloadRequest, Es9Client, Es9Options, TrustAnchors,
};
use rsp_proto::pki::test_pki::TestPkiPaths;
use rsp_proto::pki::Curve;

#[derive(Parser)]
#[command(name = "rsp-conformance", version, about = "Test-side tools for rspd (soft eUICC + LPA)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Download and install a profile with a soft eUICC (SGP.22 §3.1.3).
    Download(DownloadArgs),
    /// Run an SGP.32 IPA: poll an eIM over ESipa and execute what it hands out on a persistent soft eUICC.
    Ipa(cli_ipa::IpaArgs),
    /// Create or inspect a persistent soft eUICC directory.
    #[command(subcommand)]
    Euicc(cli_ipa::EuiccCommand),
    /// Load generator: many simulated eUICCs downloading and polling at once, with server CPU per operation.
    Load(cli_load::LoadArgs),
}

#[derive(clap::Args)]
struct DownloadArgs {
    /// Activation code, `LPA:1$<SM-DP+ address>$<matching ID>[$<OID>[$1]]` (SGP.22 §4.1).
    #[arg(long)]
    activation_code: String,
    /// The eUICC's credentials: an SGP.26 directory (CertificateIssuer/, EUM/, eUICC/) or an rspd test PKI
    /// (`rspd pki init` output: nist/, brainpool/).
    #[arg(long)]
    euicc_dir: PathBuf,
    /// The eUICC's curve.
    #[arg(long, default_value = "nist")]
    curve: Curve,
    /// TLS trust anchors (PEM or DER), repeatable. Default: the CI certificates the eUICC trusts.
    #[arg(long)]
    ca: Vec<PathBuf>,
    /// The confirmation code, when the SM-DP+ requires one.
    #[arg(long)]
    confirmation_code: Option<String>,
    /// Where to write the installed profile package (default `<ICCID>.der`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// X-Admin-Protocol version, e.g. `2.2.2` or `gsma/rsp/v2.2.2` (default v2.5.0).
    #[arg(long)]
    admin_protocol: Option<String>,
    /// Send no JSON `header` object in requests (as lpac).
    #[arg(long)]
    no_json_header: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Download(args) => download(&args),
        Command::Ipa(args) => cli_ipa::ipa(&args),
        Command::Euicc(command) => cli_ipa::euicc(command),
        Command::Load(args) => cli_load::load(&args),
    }
}

fn download(args: &DownloadArgs) -> ExitCode {
    let setup = match setup(args) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let (mut euicc, client, request) = setup;
    println!("eUICC {} ({}) → SM-DP+ {}", euicc.eid(), args.curve, client.smdp_address());
    match download_profile(&mut euicc, &client, &request) {
        Ok(report) => {
            for record in &report.steps {
                print_step(record.step, &record.verified);
            }
            let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("{}.der", report.iccid)));
            if let Err(e) = std::fs::write(&out, &report.profile_package) {
                eprintln!("error: cannot write {}: {e}", out.display());
                return ExitCode::from(2);
            }
            println!(
                "OK: ICCID {} installed (transactionId {}); profile package ({} bytes) written to {}",
                report.iccid,
                hex::encode_upper(&report.transaction_id),
                report.profile_package.len(),
                out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            report_failure(&e);
            ExitCode::from(1)
        }
    }
}

fn print_step(step: impl std::fmt::Display, verified: &[String]) {
    println!("✓ {step}");
    for v in verified {
        println!("    - {v}");
    }
}

fn report_failure(e: &DownloadError) {
    for record in &e.steps {
        print_step(record.step, &record.verified);
    }
    match &e.cancel_session {
        Some(Ok(())) => println!("  (ES9+.CancelSession sent)"),
        Some(Err(c)) => println!("  (ES9+.CancelSession failed too: {c})"),
        None => {}
    }
    println!("FAILED at {} [{}]: {}", e.step, e.failure.status_code(), e.failure);
}

fn setup(args: &DownloadArgs) -> Result<(SoftEuicc, Es9Client, DownloadRequest), String> {
    let code = ActivationCode::parse(&args.activation_code).map_err(|e| e.to_string())?;
    let credentials = load_credentials(&args.euicc_dir, args.curve)?;
    let mut anchors = TrustAnchors::new();
    for path in &args.ca {
        anchors.add_file(path).map_err(|e| e.to_string())?;
    }
    if anchors.is_empty() {
        // SGP.22 §2.6.6: the LPA accepts a CERT.DP.TLS that chains to a CI the eUICC trusts.
        for ci in credentials.ci_certs.iter() {
            anchors.add_der(ci.certificate.der());
        }
    }
    let mut options = Es9Options { json_header: !args.no_json_header, ..Es9Options::default() };
    if let Some(v) = &args.admin_protocol {
        options.admin_protocol = if v.starts_with("gsma/") { v.clone() } else { format!("gsma/rsp/v{v}") };
    }
    let client = Es9Client::new(&code.smdp_address, &anchors, options).map_err(|e| e.to_string())?;
    if code.confirmation_code_required && args.confirmation_code.is_none() {
        eprintln!("note: the activation code says a confirmation code is required; none given (--confirmation-code)");
    }
    let request = DownloadRequest {
        matching_id: code.matching_id.clone(),
        confirmation_code: args.confirmation_code.clone(),
        expected_smdp_oid: code.smdp_oid.clone(),
        ..DownloadRequest::default()
    };
    Ok((SoftEuicc::new(credentials), client, request))
}

/// An SGP.26 directory has `CertificateIssuer/`; an rspd test PKI has one folder per curve.
fn load_credentials(dir: &Path, curve: Curve) -> Result<EuiccCredentials, String> {
    let result = if dir.join("CertificateIssuer").is_dir() {
        EuiccCredentials::from_sgp26_dir(dir, curve)
    } else if TestPkiPaths::new(dir).curve_dir(curve).is_dir() {
        EuiccCredentials::from_test_pki(&TestPkiPaths::new(dir), curve)
    } else {
        return Err(format!(
            "{} is neither an SGP.26 directory (CertificateIssuer/) nor an rspd test PKI ({}/)",
            dir.display(),
            curve.short_name()
        ));
    };
    result.map_err(|e| e.to_string())
}
