//! `rsp-conformance load`: the load generator ([`rsp_conformance::load`]) on the command line. Prints a table per
//! phase (or the report as JSON with `--json`); exit status 0 when every operation succeeded, 1 when some failed,
//! 2 for a set-up error (one line naming it).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rsp_conformance::ipa::Binding;
use rsp_conformance::load::{self, EimIdentity, LoadConfig, LoadReport, OperatorTarget};
use rsp_conformance::lpa::TrustAnchors;
use rsp_proto::pki::test_pki::TestPkiPaths;
use rsp_proto::pki::Curve;

#[derive(clap::Args)]
pub struct LoadArgs {
    /// The rspd test PKI (`rspd-data/pki`): its EUM issues the simulated eUICCs; its operator client certificate
    /// signs in to the operator listener unless --operator-cert is given.
    #[arg(long)]
    pki: PathBuf,
    /// The eUICCs' curve.
    #[arg(long, default_value = "nist")]
    curve: Curve,
    /// SM-DP+ address (`host:port`, as in activation codes), repeatable: devices use them in turn.
    #[arg(long)]
    smdp: Vec<String>,
    /// The operator listener (`host:port`): ES2+ orders and eUICC registration.
    #[arg(long)]
    operator: Option<String>,
    /// Operator client certificate and key (PEM); default: the test PKI's.
    #[arg(long, requires = "operator_key")]
    operator_cert: Option<PathBuf>,
    #[arg(long, requires = "operator_cert")]
    operator_key: Option<PathBuf>,
    /// The profile type ES2+ DownloadOrder takes from stock.
    #[arg(long, default_value = "load")]
    profile_type: String,
    /// Full downloads (each with its own ES2+ order and its own new eUICC).
    #[arg(long, default_value_t = 0)]
    downloads: u64,
    /// With --downloads: place the orders only, no downloads (ES2+ cost at scale; the stock needs no packages).
    #[arg(long)]
    orders_only: bool,
    /// With --downloads: stop each download after AuthenticateClient, leaving its session open on the server (the
    /// memory of many sessions in flight); they expire after `smdp.session_timeout_secs`.
    #[arg(long, conflicts_with = "orders_only")]
    hold_sessions: bool,
    /// eIM URL (`https://host:port`), repeatable: devices use them in turn.
    #[arg(long)]
    eim: Vec<String>,
    /// ESipa binding of the polls.
    #[arg(long, default_value = "asn1")]
    binding: Binding,
    /// GetEimPackage polls, spread over --poll-devices eUICCs.
    #[arg(long, default_value_t = 0)]
    polls: u64,
    #[arg(long, default_value_t = 100)]
    poll_devices: u64,
    /// Devices that each poll once for a package: they are associated with the eIM (AddInitialEim) and imported,
    /// one campaign queues an enable for each, and each runs its package and reports the result.
    #[arg(long, default_value_t = 0)]
    packages: u64,
    /// With --packages: the eIM's `eimId` (rspd's `eim.eim_id`).
    #[arg(long, default_value = "rspd-eim")]
    eim_id: String,
    /// With --packages: the eIM's key (PEM, private or public); default: rspd's test eIM key in the test PKI.
    #[arg(long)]
    eim_key: Option<PathBuf>,
    /// Concurrent simulated devices.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// No new operation starts after this many seconds.
    #[arg(long, default_value_t = 300)]
    max_seconds: u64,
    /// A server process whose CPU time is measured (repeatable, one per node).
    #[arg(long)]
    server_pid: Vec<u32>,
    /// Also measure PostgreSQL's CPU time (every `postgres` process of this machine; use a PostgreSQL that nothing
    /// else uses during the run).
    #[arg(long)]
    database_cpu: bool,
    /// Serial of the first issued eUICC; default: from the clock, so runs against one database do not collide.
    #[arg(long)]
    first_serial: Option<u64>,
    /// TLS trust anchors (PEM or DER), repeatable. Default: the test PKI's CI certificates.
    #[arg(long)]
    ca: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn load(args: &LoadArgs) -> ExitCode {
    let config = match config(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rsp-conformance load: {e}");
            return ExitCode::from(2);
        }
    };
    let report = match load::run(&config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rsp-conformance load: {e}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("rsp-conformance load: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        print!("{}", table(&report));
    }
    if report.failures() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn config(args: &LoadArgs) -> Result<LoadConfig, String> {
    let pki = TestPkiPaths::new(&args.pki);
    if !pki.exists() {
        return Err(format!("{} is not an rspd test PKI", args.pki.display()));
    }
    let mut anchors = TrustAnchors::new();
    if args.ca.is_empty() {
        for curve in Curve::ALL {
            if pki.ci_cert(curve).is_file() {
                anchors.add_file(&pki.ci_cert(curve)).map_err(|e| e.to_string())?;
            }
        }
    }
    for ca in &args.ca {
        anchors.add_file(ca).map_err(|e| e.to_string())?;
    }
    let operator = args.operator.as_ref().map(|address| OperatorTarget {
        address: address.clone(),
        client_cert: args.operator_cert.clone().unwrap_or_else(|| pki.operator_client_cert()),
        client_key: args.operator_key.clone().unwrap_or_else(|| pki.operator_client_key()),
    });
    // 1,000,000 serials per second of the clock: consecutive runs never overlap.
    let first_serial = args.first_serial.unwrap_or_else(|| {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        2 + (secs % 1_000_000) * 1_000_000
    });
    let eim_identity = match (args.packages, args.eim.first()) {
        (0, _) => None,
        (_, None) => return Err("--packages needs --eim".into()),
        (_, Some(url)) => {
            let fqdn = url.trim_start_matches("https://").trim_end_matches('/');
            let key = args.eim_key.clone().unwrap_or_else(|| pki.eim_key(args.curve));
            Some(EimIdentity::from_key_file(&args.eim_id, fqdn, &key)?)
        }
    };
    Ok(LoadConfig {
        pki,
        curve: args.curve,
        anchors,
        smdp: args.smdp.clone(),
        operator,
        profile_type: args.profile_type.clone(),
        downloads: args.downloads,
        orders_only: args.orders_only,
        hold_sessions: args.hold_sessions,
        eim: args.eim.clone(),
        binding: args.binding,
        polls: args.polls,
        poll_devices: args.poll_devices,
        packages: args.packages,
        eim_identity,
        concurrency: args.concurrency,
        max_duration: Duration::from_secs(args.max_seconds),
        server_pids: args.server_pid.clone(),
        database_cpu: args.database_cpu,
        first_serial,
        progress: true,
    })
}

/// The report as text: one block per phase.
fn table(report: &LoadReport) -> String {
    let mut out = String::new();
    for p in &report.phases {
        out.push_str(&format!(
            "{}: {} completed, {} failed in {:.2} s",
            p.phase, p.completed, p.failed, p.wall_seconds
        ));
        if let (Some(cpu), Some(per_op)) = (p.server_cpu_seconds, p.server_cpu_ms_per_operation) {
            out.push_str(&format!("; server CPU {cpu:.2} s = {per_op:.3} ms per operation"));
        }
        if let (Some(cpu), Some(per_op)) = (p.database_cpu_seconds, p.database_cpu_ms_per_operation) {
            out.push_str(&format!("; database CPU {cpu:.2} s = {per_op:.3} ms per operation"));
        }
        out.push('\n');
        out.push_str(&format!(
            "  {:<30} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}  errors\n",
            "function", "ok", "per s", "p50 ms", "p95 ms", "p99 ms", "max ms"
        ));
        for f in &p.functions {
            let errors: Vec<String> = f.errors.iter().map(|(code, n)| format!("{code}×{n}")).collect();
            out.push_str(&format!(
                "  {:<30} {:>8} {:>9.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2}  {}\n",
                f.function,
                f.ok,
                f.per_second,
                f.p50_ms,
                f.p95_ms,
                f.p99_ms,
                f.max_ms,
                errors.join(", ")
            ));
        }
    }
    out
}
