//! A load generator for rspd (`rsp-conformance load`): many simulated eUICCs — each its own EID, key and
//! certificate, issued on the fly by the EUM of an rspd test PKI — driving an SM-DP+ and an eIM at once, to
//! measure what a download and a poll cost the server.
//!
//! A run has up to three phases, each timed on its own so its server CPU time is its own:
//! 1. **orders** — ES2+ DownloadOrder by profileType with the device's EID, then ConfirmOrder with releaseFlag
//!    (SGP.22 v2.5 §5.3.1, §5.3.2) over mutual TLS: one matchingId per download;
//! 2. **downloads** — the full LPA download of SGP.22 §3.1.3 over ES9+ (§5.6: InitiateAuthentication,
//!    AuthenticateClient, GetBoundProfilePackage, the installation on the soft eUICC, HandleNotification of the
//!    ProfileInstallationResult);
//! 3. **polls** — ESipa GetEimPackage (SGP.32 v1.2 §5.14.5, ASN.1 or JSON binding) from eUICCs registered with
//!    the eIM through its bulk import, spread evenly over them: empty polls;
//! 4. **campaign** and **packages** — polls that find a queued package, run it on the eUICC and report the
//!    result ([`eim_packages`]).
//!
//! Work is bounded by count and by time (`max_duration`: no new operation starts after it). With server PIDs
//! given, each phase reports the servers' CPU seconds ([`server_cpu`]) and the CPU time per operation.
//! Several servers (one PostgreSQL database, several nodes): the SM-DP+ addresses and eIM URLs are used in turn,
//! device by device.

pub mod eim_packages;
pub mod operator;
pub mod server_cpu;
pub mod stats;

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rsp_proto::pki::test_pki::TestPkiPaths;
use rsp_proto::pki::Curve;
use serde::Serialize;

use crate::euicc::{EuiccCredentials, SoftEuicc};
use crate::ipa::esipa_client::{Binding, EsipaClient, EsipaError};
use crate::lpa::download::Step;
use crate::lpa::es9_client::{
    AuthenticateClientRequest, AuthenticateClientResponse, CancelSessionRequest, Es9Function,
    GetBoundProfilePackageRequest, GetBoundProfilePackageResponse, HandleNotificationRequest,
    InitiateAuthenticationRequest, InitiateAuthenticationResponse,
};
use crate::lpa::{download_profile, DownloadRequest, Es9Client, Es9Error, Es9Options, Es9Transport, TrustAnchors};
pub use eim_packages::EimIdentity;
use operator::{EuiccImport, OperatorClient};
use stats::{FunctionStats, Recorder};

/// What to run.
pub struct LoadConfig {
    /// The rspd test PKI whose EUM issues the simulated eUICCs (and whose CIs they trust).
    pub pki: TestPkiPaths,
    pub curve: Curve,
    /// TLS trust anchors for every listener.
    pub anchors: TrustAnchors,
    /// SM-DP+ addresses (`host:port`, as in activation codes) for downloads, used in turn.
    pub smdp: Vec<String>,
    /// The operator listener (`host:port`) and the client certificate and key (PEM) it knows.
    pub operator: Option<OperatorTarget>,
    /// The profile type ES2+ DownloadOrder takes from stock.
    pub profile_type: String,
    pub downloads: u64,
    /// Orders without downloads (ordering at scale from stock that has no packages); polls still run.
    pub orders_only: bool,
    /// Downloads stop after AuthenticateClient (no GetBoundProfilePackage, no CancelSession): each leaves a download
    /// session open on the server until it expires — the memory of many sessions in flight.
    pub hold_sessions: bool,
    /// eIM URLs for polls, used in turn.
    pub eim: Vec<String>,
    pub binding: Binding,
    pub polls: u64,
    /// How many eUICCs poll (registered with the eIM before the polls start).
    pub poll_devices: u64,
    /// Devices that each poll once for a package a campaign queued for them, run it and report the result.
    pub packages: u64,
    /// The eIM as AddInitialEim loads it into the package devices (needed with `packages`).
    pub eim_identity: Option<EimIdentity>,
    /// Concurrent simulated devices (worker threads).
    pub concurrency: usize,
    /// No new operation starts after this.
    pub max_duration: Duration,
    /// Server processes whose CPU time is measured.
    pub server_pids: Vec<u32>,
    /// Also measure the database's CPU: every process named `postgres` on this machine (a PostgreSQL on the same
    /// machine, used by nothing else meanwhile).
    pub database_cpu: bool,
    /// Serial of the first issued eUICC (EIDs of one run must not collide with an earlier run's: the SM-DP+
    /// binds profiles to EIDs and the eIM registers them once).
    pub first_serial: u64,
    /// Show a progress line on stderr when it is a terminal.
    pub progress: bool,
}

/// The operator side of the run.
pub struct OperatorTarget {
    pub address: String,
    pub client_cert: std::path::PathBuf,
    pub client_key: std::path::PathBuf,
}

/// What a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub phases: Vec<PhaseReport>,
}

impl LoadReport {
    /// Failures in every phase.
    pub fn failures(&self) -> u64 {
        self.phases.iter().map(|p| p.failed).sum()
    }

    /// The phase named `name`.
    pub fn phase(&self, name: &str) -> Option<&PhaseReport> {
        self.phases.iter().find(|p| p.phase == name)
    }
}

/// One phase's figures.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    pub phase: String,
    /// Operations that completed.
    pub completed: u64,
    /// Operations that failed (each counted once, at its first failing function).
    pub failed: u64,
    pub wall_seconds: f64,
    /// CPU seconds the server processes used during the phase (`None` without PIDs).
    pub server_cpu_seconds: Option<f64>,
    /// Server CPU milliseconds per completed operation.
    pub server_cpu_ms_per_operation: Option<f64>,
    /// Completed operations per server CPU second.
    pub operations_per_server_cpu_second: Option<f64>,
    /// CPU seconds PostgreSQL's processes used during the phase (`None` unless asked for).
    pub database_cpu_seconds: Option<f64>,
    /// Database CPU milliseconds per completed operation.
    pub database_cpu_ms_per_operation: Option<f64>,
    pub functions: Vec<FunctionStats>,
}

/// Runs the configured phases; an error is a set-up failure (a test PKI that cannot issue, a listener that
/// cannot be reached for registration), not a failed operation (those are counted in the report).
pub fn run(config: &LoadConfig) -> Result<LoadReport, String> {
    let started = Instant::now();
    let deadline = started + config.max_duration;
    let operator = match &config.operator {
        Some(t) => Some(OperatorClient::new(&t.address, &config.anchors, &t.client_cert, &t.client_key)?),
        None => None,
    };
    let mut phases = Vec::new();
    if config.downloads > 0 {
        let operator = operator.clone().ok_or("downloads need the operator listener (ES2+ orders)")?;
        if config.smdp.is_empty() {
            return Err("downloads need an SM-DP+ address".into());
        }
        let devices = issue(config, config.first_serial, config.downloads)?;
        // Phase 1: one order per device.
        let orders: Vec<Mutex<Option<String>>> = devices.iter().map(|_| Mutex::new(None)).collect();
        let phase = measure(config, "orders", devices.len() as u64, deadline, |i, rec| {
            let eid = devices[i].eid.clone();
            let code = |e: &operator::OperatorError| e.code.clone();
            let iccid = rec.time("ES2+.DownloadOrder", code, || operator.download_order(&config.profile_type, &eid))?;
            let matching_id = rec.time("ES2+.ConfirmOrder", code, || operator.confirm_order(&iccid, &eid))?;
            if let Ok(mut slot) = orders[i].lock() {
                *slot = Some(matching_id);
            }
            Ok::<_, operator::OperatorError>(())
        });
        phases.push(phase);
        if !config.orders_only {
            // Phase 2: each device downloads its order.
            let euiccs: Vec<Mutex<Option<SoftEuicc>>> =
                devices.into_iter().map(|c| Mutex::new(Some(SoftEuicc::new(c)))).collect();
            let clients = config
                .smdp
                .iter()
                .map(|a| Es9Client::new(a, &config.anchors, Es9Options::default()).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            let phase = measure(config, "downloads", euiccs.len() as u64, deadline, |i, rec| {
                let matching_id = orders[i].lock().ok().and_then(|m| m.clone());
                let Some(matching_id) = matching_id else {
                    rec.record("download", Duration::ZERO, Err("no order".into()));
                    return Err("no order".to_owned());
                };
                let Some(mut euicc) = euiccs[i].lock().ok().and_then(|mut e| e.take()) else {
                    return Err("device in use".to_owned());
                };
                let timed = Timed {
                    inner: &clients[i % clients.len()],
                    rec: std::cell::RefCell::new(Recorder::default()),
                    hold: config.hold_sessions,
                };
                let request = DownloadRequest { matching_id, ..Default::default() };
                let began = Instant::now();
                let outcome = download_profile(&mut euicc, &timed, &request);
                rec.merge(timed.rec.into_inner());
                match outcome {
                    Ok(_) => {
                        rec.record("download", began.elapsed(), Ok(()));
                        Ok(())
                    }
                    Err(e) if config.hold_sessions && e.step == Step::GetBoundProfilePackage => {
                        rec.record("session held open", began.elapsed(), Ok(()));
                        Ok(())
                    }
                    Err(e) => {
                        let code = format!("{}: {}", e.step, e.failure.status_code());
                        rec.record("download", began.elapsed(), Err(code.clone()));
                        Err(code)
                    }
                }
            });
            phases.push(phase);
        }
    }
    if config.polls > 0 {
        if config.eim.is_empty() {
            return Err("polls need an eIM URL".into());
        }
        let operator = operator.clone().ok_or("polls need the operator listener (eUICC registration)")?;
        let devices = issue(config, config.first_serial + config.downloads, config.poll_devices.max(1))?;
        let imports: Vec<EuiccImport> = devices
            .iter()
            .map(|c| EuiccImport { certificate: c.euicc_cert_der.clone(), association_token: None, label: None })
            .collect();
        register(&operator, &imports)?;
        let eids: Vec<String> = devices.iter().map(|c| c.eid.clone()).collect();
        let clients = config
            .eim
            .iter()
            .map(|url| EsipaClient::new(url, &config.anchors, config.binding).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let phase = measure(config, "polls", config.polls, deadline, |i, rec| {
            let device = i % eids.len();
            let (eid, client) = (&eids[device], &clients[device % clients.len()]);
            rec.time("ESipa.GetEimPackage", esipa_code, || client.get_eim_package(eid)).map(|_| ())
        });
        phases.push(phase);
    }
    if config.packages > 0 {
        if config.eim.is_empty() {
            return Err("package polls need an eIM URL".into());
        }
        let operator = operator.ok_or("package polls need the operator listener (eUICCs and the campaign)")?;
        let first_serial = config.first_serial + config.downloads + config.poll_devices.max(1);
        phases.extend(eim_packages::run(config, &operator, first_serial, deadline)?);
    }
    Ok(LoadReport { phases })
}

/// Registers eUICCs with the eIM; every one must be known to it afterwards.
fn register(operator: &OperatorClient, euiccs: &[EuiccImport]) -> Result<(), String> {
    let known = operator.import_euiccs(euiccs).map_err(|e| format!("registering eUICCs: {e}"))?;
    if known != euiccs.len() as u64 {
        return Err(format!("the eIM registered {known} of {} eUICCs", euiccs.len()));
    }
    Ok(())
}

/// An ESipa failure's short code.
fn esipa_code(e: &EsipaError) -> String {
    match e {
        EsipaError::Failed { code, .. } => code.clone(),
        EsipaError::HttpStatus { status, .. } => format!("http {status}"),
        EsipaError::Transport { .. } => "transport".into(),
        EsipaError::Malformed { .. } => "malformed".into(),
        EsipaError::TlsConfig(_) => "tls-config".into(),
    }
}

/// Issues `count` eUICCs from `first_serial` on, in parallel (key generation and signing are the slow part).
fn issue(config: &LoadConfig, first_serial: u64, count: u64) -> Result<Vec<EuiccCredentials>, String> {
    let next = AtomicU64::new(0);
    let issued: Mutex<Vec<(u64, EuiccCredentials)>> = Mutex::new(Vec::with_capacity(count as usize));
    let failure: Mutex<Option<String>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..config.concurrency.clamp(1, 16) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return;
                }
                match EuiccCredentials::issue_from_test_pki(&config.pki, config.curve, first_serial + i) {
                    Ok(c) => issued.lock().map(|mut v| v.push((i, c))).unwrap_or(()),
                    Err(e) => {
                        if let Ok(mut f) = failure.lock() {
                            *f = Some(format!("issuing eUICC {}: {e}", first_serial + i));
                        }
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    let mut issued = issued.into_inner().map_err(|_| "a worker panicked while issuing eUICCs".to_owned())?;
    issued.sort_by_key(|(i, _)| *i);
    Ok(issued.into_iter().map(|(_, c)| c).collect())
}

/// Runs `total` operations on `config.concurrency` threads (operation `i` once each, none started after
/// `deadline`) and measures them: wall time, the servers' CPU time, every function's latency.
fn measure<E>(
    config: &LoadConfig,
    name: &str,
    total: u64,
    deadline: Instant,
    operation: impl Fn(usize, &mut Recorder) -> Result<(), E> + Sync,
) -> PhaseReport {
    measured(config, name, || {
        let next = AtomicU64::new(0);
        let (completed, failed) = (AtomicU64::new(0), AtomicU64::new(0));
        let merged = Mutex::new(Recorder::default());
        let show = config.progress && std::io::stderr().is_terminal();
        std::thread::scope(|s| {
            for _ in 0..config.concurrency.max(1) {
                s.spawn(|| {
                    let mut rec = Recorder::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= total || Instant::now() >= deadline {
                            break;
                        }
                        match operation(i as usize, &mut rec) {
                            Ok(()) => completed.fetch_add(1, Ordering::Relaxed),
                            Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                    if let Ok(mut m) = merged.lock() {
                        m.merge(rec);
                    }
                });
            }
            if show {
                s.spawn(|| loop {
                    let done = completed.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed);
                    eprint!("\r{name}: {done}/{total}");
                    if done >= total || Instant::now() >= deadline {
                        eprintln!();
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(250));
                });
            }
        });
        (completed.into_inner(), failed.into_inner(), merged.into_inner().unwrap_or_default())
    })
}

/// Measures one phase: `run` does its work and says how many operations completed and failed, with what it
/// recorded; around it, the wall time and the servers' (and the database's) CPU time.
fn measured(config: &LoadConfig, name: &str, run: impl FnOnce() -> (u64, u64, Recorder)) -> PhaseReport {
    let cpu = |pids: &[u32]| -> Option<f64> {
        if pids.is_empty() {
            return None;
        }
        pids.iter().map(|p| server_cpu::cpu_seconds(*p).ok()).sum()
    };
    let database = || config.database_cpu.then(|| server_cpu::processes_named("postgres"));
    let database_before = database();
    let cpu_before = cpu(&config.server_pids);
    let began = Instant::now();
    let (completed, failed, recorded) = run();
    let wall = began.elapsed();
    let cpu_after = cpu(&config.server_pids);
    let database_cpu_seconds = database_before.zip(database()).map(|(a, b)| server_cpu::used_between(&a, &b));
    let server_cpu_seconds = cpu_before.zip(cpu_after).map(|(a, b)| b - a);
    let per_op = |cpu: f64| (completed > 0).then(|| cpu * 1000.0 / completed as f64);
    PhaseReport {
        phase: name.to_owned(),
        completed,
        failed,
        wall_seconds: wall.as_secs_f64(),
        server_cpu_seconds,
        server_cpu_ms_per_operation: server_cpu_seconds.and_then(per_op),
        operations_per_server_cpu_second: server_cpu_seconds.filter(|c| *c > 0.0).map(|c| completed as f64 / c),
        database_cpu_seconds,
        database_cpu_ms_per_operation: database_cpu_seconds.and_then(per_op),
        functions: recorded.summarize(wall),
    }
}

/// An ES9+ transport that times every call.
struct Timed<'a> {
    inner: &'a Es9Client,
    rec: std::cell::RefCell<Recorder>,
    /// Stop before GetBoundProfilePackage and send no CancelSession ([`LoadConfig::hold_sessions`]).
    hold: bool,
}

impl Timed<'_> {
    fn time<T>(&self, function: &'static str, f: impl FnOnce() -> Result<T, Es9Error>) -> Result<T, Es9Error> {
        self.rec.borrow_mut().time(function, Es9Error::status_code, f)
    }
}

impl Es9Transport for Timed<'_> {
    fn smdp_address(&self) -> &str {
        self.inner.smdp_address()
    }
    fn initiate_authentication(
        &self,
        request: &InitiateAuthenticationRequest,
    ) -> Result<InitiateAuthenticationResponse, Es9Error> {
        self.time("ES9+.InitiateAuthentication", || self.inner.initiate_authentication(request))
    }
    fn authenticate_client(&self, request: &AuthenticateClientRequest) -> Result<AuthenticateClientResponse, Es9Error> {
        self.time("ES9+.AuthenticateClient", || self.inner.authenticate_client(request))
    }
    fn get_bound_profile_package(
        &self,
        request: &GetBoundProfilePackageRequest,
    ) -> Result<GetBoundProfilePackageResponse, Es9Error> {
        if self.hold {
            let detail = "held: the load generator keeps this session open".to_owned();
            return Err(Es9Error::Transport { function: Es9Function::GetBoundProfilePackage, detail });
        }
        self.time("ES9+.GetBoundProfilePackage", || self.inner.get_bound_profile_package(request))
    }
    fn handle_notification(&self, request: &HandleNotificationRequest) -> Result<(), Es9Error> {
        self.time("ES9+.HandleNotification", || self.inner.handle_notification(request))
    }
    fn cancel_session(&self, request: &CancelSessionRequest) -> Result<(), Es9Error> {
        if self.hold {
            return Ok(());
        }
        self.time("ES9+.CancelSession", || self.inner.cancel_session(request))
    }
}
