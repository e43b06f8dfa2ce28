//! The real command lines against the real server, as the README walkthrough runs them: `rspd serve` (binary,
//! free ports, temporary data dir, generated test PKI), `rspd template upload` + `rspd order create --template`
//! (binary), then the `rsp-conformance download` binary with the printed activation code — once as a v2.5 LPA,
//! once as lpac (`--admin-protocol 2.2.2 --no-json-header`, an address with a port). Each must exit 0 and write
//! a UPP that parses with the new ICCID.
//!
//! The `rspd` binary is built here with `cargo build -p rspd --bin rspd` into this test's own target directory
//! and profile (a no-op when it is up to date), because `CARGO_BIN_EXE_rspd` exists only inside rspd's own
//! package. Skipped (with a printed reason) when `../shared/interop/ts48` is absent.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use rsp_proto::profile::{Iccid, ProfilePackage};

const RSP_CONFORMANCE: &str = env!("CARGO_BIN_EXE_rsp-conformance");
const TEMPLATE: &str = "TS48v5_SAIP2.3_NoBERTLV.der";

/// `<target>/<profile>/rspd`: the binary `cargo test --workspace` already built for rspd's own integration
/// tests, or — when it is missing or older than rspd's sources (e.g. `cargo test -p rsp-conformance` alone after
/// an edit) — built here by cargo. Building only when needed matters: `cargo build -p rspd` resolves features
/// without the test build's dev-dependencies and would compile a second copy of the dependency tree.
fn rspd_binary() -> PathBuf {
    // This test runs as <target>/<profile>/deps/<name>-<hash>.
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe.parent().and_then(Path::parent).expect("<target>/<profile>").to_path_buf();
    let target_dir = profile_dir.parent().expect("<target>").to_path_buf();
    let rspd = profile_dir.join(format!("rspd{}", std::env::consts::EXE_SUFFIX));
    if is_up_to_date(&rspd) {
        return rspd;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_owned());
    let mut build = Command::new(cargo);
    build
        .args(["build", "--quiet", "-p", "rspd", "--bin", "rspd", "--target-dir"])
        .arg(&target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            build.arg("--release");
        }
        Some(other) => {
            build.args(["--profile", other]);
        }
        None => panic!("unexpected test executable path {}", exe.display()),
    }
    let status = build.status().expect("run cargo build -p rspd");
    assert!(status.success(), "cargo build -p rspd failed: {status}");
    assert!(rspd.is_file(), "{} missing after cargo build", rspd.display());
    rspd
}

/// The binary exists and is newer than every file of rspd's package that goes into it.
fn is_up_to_date(binary: &Path) -> bool {
    let Ok(built) = std::fs::metadata(binary).and_then(|m| m.modified()) else { return false };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut pending: Vec<PathBuf> = [
        "src",
        "crates/rsp-proto/src",
        "crates/rsp-proto/Cargo.toml",
        "migrations",
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
    ]
    .iter()
    .map(|p| root.join(p))
    .collect();
    while let Some(path) = pending.pop() {
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                pending.extend(entries.filter_map(Result::ok).map(|e| e.path()));
            }
        } else if meta.modified().map_or(true, |m| m > built) {
            return false;
        }
    }
    true
}

/// A port that was free a moment ago. The SM-DP+ address in the activation code carries the device port, and rspd
/// defaults it to `localhost` without a port when the listener is on port 0, so the config must name the port;
/// [`Setup::start`] retries on another one if someone else took it meanwhile.
fn probe_free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn rspd_command(rspd: &Path, config: &Path) -> Command {
    let mut cmd = Command::new(rspd);
    cmd.arg("--config").arg(config);
    for (k, _) in std::env::vars() {
        if k.starts_with("RSPD_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `rspd serve`, killed on drop; its output goes to files in the temporary directory.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    /// Starts `rspd serve` and waits for the last line of its start-up banner; `Err(log)` when it exits first.
    fn start(rspd: &Path, config: &Path, dir: &Path) -> Result<Server, String> {
        let log = dir.join("serve.log");
        let out = File::create(&log).unwrap();
        let child = rspd_command(rspd, config)
            .arg("serve")
            .current_dir(dir)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("spawn rspd serve");
        let mut server = Server { child, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        // The banner is printed once the sockets are bound; its last line names the secrets master key.
        while !server.log_text().contains("secrets master key") {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("rspd serve exited ({status}):\n{}", server.log_text()));
            }
            assert!(Instant::now() < deadline, "rspd serve printed no banner:\n{}", server.log_text());
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `rspd serve` on the defaults (test PKI, SQLite) in a temporary directory, with the TS.48 template at hand;
/// `None` (the test skips) without the TS.48 file.
struct Setup {
    ts48: PathBuf,
    rspd: PathBuf,
    _tmp: tempfile::TempDir,
    data: PathBuf,
    port: u16,
    config: PathBuf,
    server: Server,
}

impl Setup {
    fn start() -> Option<Setup> {
        let ts48 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/interop/ts48").join(TEMPLATE);
        if !ts48.is_file() {
            eprintln!("SKIP: TS.48 test profile not found at {}", ts48.display());
            return None;
        }
        let rspd = rspd_binary();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let data = dir.join("rspd-data");
        let config = dir.join("rspd.toml");
        let mut attempts = 0;
        let (port, server) = loop {
            attempts += 1;
            let port = probe_free_port();
            std::fs::write(
                &config,
                format!(
                    "data_dir = \"{}\"\nworkers = 1\n[smdp]\naddresses = [\"localhost:{port}\"]\n\
                     [device]\nlisten = \"127.0.0.1:{port}\"\n[operator]\nlisten = \"127.0.0.1:0\"\n",
                    data.display()
                ),
            )
            .unwrap();
            match Server::start(&rspd, &config, dir) {
                Ok(server) => break (port, server),
                Err(log) if log.contains("cannot listen") && attempts < 5 => continue,
                Err(log) => panic!("{log}"),
            }
        };
        Some(Setup { ts48, rspd, _tmp: tmp, data, port, config, server })
    }
}

#[test]
fn rsp_conformance_download_against_rspd_serve_default_and_lpac_style() {
    let Some(setup) = Setup::start() else { return };
    let Setup { ts48, rspd, _tmp: ref tmp, data, port, config, server } = setup;
    let dir = tmp.path();

    let out =
        rspd_command(&rspd, &config).args(["template", "upload", "--type", "default"]).arg(&ts48).output().unwrap();
    assert!(out.status.success(), "template upload: {}", text(&out));
    let template = ProfilePackage::parse(&std::fs::read(&ts48).unwrap()).unwrap().iccid().digits();

    let lpas: [(&str, &[&str]); 2] =
        [("default", &[]), ("lpac-like", &["--admin-protocol", "2.2.2", "--no-json-header"])];
    for (n, (name, lpa_args)) in lpas.into_iter().enumerate() {
        let iccid = ["89882390000000009913", "89882390000000009921"][n];
        let out = rspd_command(&rspd, &config)
            .args(["order", "create", "--template", &template, "--iccid", iccid])
            .output()
            .unwrap();
        assert!(out.status.success(), "order create: {}", text(&out));
        let activation_code = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        assert!(activation_code.starts_with(&format!("LPA:1$localhost:{port}$")), "{activation_code}");

        let upp = dir.join(format!("{name}.der"));
        let out = Command::new(RSP_CONFORMANCE)
            .args(["download", "--activation-code", &activation_code, "--euicc-dir"])
            .arg(data.join("pki"))
            .arg("--ca")
            .arg(data.join("pki/nist/ci.pem"))
            .arg("--out")
            .arg(&upp)
            .args(lpa_args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name} LPA ({}):\n{}\nserver log:\n{}",
            out.status,
            text(&out),
            server.log_text()
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("OK: ICCID {iccid} installed")),
            "{}",
            text(&out)
        );
        let installed = ProfilePackage::parse(&std::fs::read(&upp).unwrap()).unwrap();
        let want = Iccid::new(iccid).unwrap();
        assert_eq!((installed.iccid(), installed.ef_iccid()), (&want, Some(&want)), "{name}");
    }
}

/// The README's eIM walkthrough: a persistent soft eUICC (`rsp-conformance euicc init`), registered and
/// associated with rspd's eIM (`rspd eim register|config|associate`), gets "download and enable" queued
/// (`rspd eim queue --download`, `--psmo enable:ICCID`) and `rsp-conformance ipa` completes both, in each
/// binding, the state surviving between runs.
#[test]
fn rsp_conformance_ipa_against_rspd_serve_readme_walkthrough() {
    let Some(setup) = Setup::start() else { return };
    let Setup { ts48, rspd, _tmp: ref tmp, data, port, config, server } = setup;
    let dir = tmp.path();
    let rspd_ok = |args: &[&str]| {
        let out = rspd_command(&rspd, &config).args(args).output().unwrap();
        assert!(out.status.success(), "rspd {args:?}: {}", text(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let conformance_ok = |args: &[&str]| {
        let out = Command::new(RSP_CONFORMANCE).args(args).output().unwrap();
        assert!(out.status.success(), "rsp-conformance {args:?}: {}\nserver log:\n{}", text(&out), server.log_text());
        String::from_utf8(out.stdout).unwrap()
    };
    let device = dir.join("device1");
    let device_s = device.to_str().unwrap();
    let pki = data.join("pki");
    conformance_ok(&["euicc", "init", "--dir", device_s, "--pki", pki.to_str().unwrap()]);
    let eid = rspd_ok(&["eim", "register", "--cert", device.join("nist/euicc.pem").to_str().unwrap()]);
    let cfg = dir.join("cfg.der");
    rspd_ok(&["eim", "config", "--eid", &eid, "--out", cfg.to_str().unwrap()]);
    let token = conformance_ok(&["euicc", "add-initial-eim", "--dir", device_s, "--file", cfg.to_str().unwrap()]);
    let token = token.trim().strip_prefix("associationToken ").expect("an associationToken").to_owned();
    rspd_ok(&["eim", "associate", "--eid", &eid, "--association-token", &token]);

    rspd_ok(&["template", "upload", ts48.to_str().unwrap(), "--type", "default"]);
    let template = ProfilePackage::parse(&std::fs::read(&ts48).unwrap()).unwrap().iccid().digits();
    let eim = format!("https://localhost:{port}");
    for (binding, iccid) in [("asn1", "89882390000000009939"), ("json", "89882390000000009947")] {
        let code = rspd_ok(&["order", "create", "--template", &template, "--iccid", iccid]);
        let download = rspd_ok(&["eim", "queue", "--eid", &eid, "--download", &code]);
        let enable = rspd_ok(&["eim", "queue", "--eid", &eid, "--psmo", &format!("enable:{iccid}")]);
        let out =
            conformance_ok(&["ipa", "--eim", &eim, "--euicc-dir", device_s, "--binding", binding, "--polls", "5"]);
        assert!(out.contains(&format!("ICCID {iccid} installed")), "{out}");
        for queued in [download, enable] {
            let id = queued.split_whitespace().nth(1).unwrap();
            let shown = rspd_ok(&["eim", "show", "--order", id]);
            assert!(shown.contains("state succeeded"), "{shown}");
        }
        let shown = conformance_ok(&["euicc", "show", "--dir", device_s]);
        assert!(shown.contains(&format!("profile {iccid} Enabled")), "{shown}");
    }
}
