//! Test harness: runs the real `rspd` binary on loopback ports in a temporary data dir and stops it at the end
//! (the process is killed when the guard drops). Servers are built with [`TestServer::builder`].
#![allow(dead_code)]

pub mod backends;
pub mod postgres;
mod server;

pub use server::{eventually, wait_until, Setup, TestServer, TestServerBuilder};

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const RSPD: &str = env!("CARGO_BIN_EXE_rspd");

/// A temporary directory with a config file that puts every listener on 127.0.0.1:0.
pub struct TestDir {
    pub dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> Self {
        TestDir { dir: tempfile::tempdir().expect("tempdir") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.path().join("data")
    }

    /// Writes `rspd.toml` with loopback listeners on free ports plus `extra` TOML.
    pub fn write_config(&self, extra: &str) -> PathBuf {
        let path = self.path().join("rspd.toml");
        let text = format!("data_dir = \"{}\"\nworkers = 1\n{extra}\n", self.data_dir().display());
        let text = ensure_listeners(&text);
        std::fs::write(&path, text).expect("write config");
        path
    }

    /// Runs `rspd ARGS` to completion (for commands that exit), with `env` added and RSPD_* cleared.
    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        command(args, env).current_dir(self.path()).output().expect("run rspd")
    }
}

/// Adds `listen = "127.0.0.1:0"` to the [device] and [operator] tables unless given.
fn ensure_listeners(text: &str) -> String {
    let mut out = text.to_owned();
    for table in ["device", "operator"] {
        let header = format!("[{table}]");
        if let Some(pos) = out.find(&header) {
            if !out[pos..].split("\n[").next().unwrap_or("").contains("listen") {
                out.insert_str(pos + header.len(), "\nlisten = \"127.0.0.1:0\"");
            }
        } else {
            out.push_str(&format!("\n{header}\nlisten = \"127.0.0.1:0\"\n"));
        }
    }
    out
}

fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(RSPD);
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("RSPD_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// A running `rspd serve`.
pub struct ServerProcess {
    child: Child,
    /// Every line the server wrote to standard error so far (its log).
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    pub device: SocketAddr,
    pub operator: SocketAddr,
    /// The metrics listener, when `metrics.listen` is configured.
    pub metrics: Option<SocketAddr>,
    pub banner: String,
}

/// Why [`ServerProcess::try_start`] got no banner.
#[derive(Debug)]
pub struct StartFailure {
    /// The server could not bind a configured port (another process took it).
    pub port_taken: bool,
    pub message: String,
}

impl ServerProcess {
    /// The server's process id (its CPU time is read from `/proc/<pid>/stat`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts `rspd --config CONFIG serve` and waits for its start-up banner.
    pub fn start(dir: &TestDir, config: &Path, env: &[(&str, &str)]) -> Self {
        ServerProcess::try_start(dir, config, env).unwrap_or_else(|failure| panic!("{}", failure.message))
    }

    /// As [`ServerProcess::start`], but a server that exits (or stays silent) before its banner is an `Err`.
    pub fn try_start(dir: &TestDir, config: &Path, env: &[(&str, &str)]) -> Result<Self, StartFailure> {
        let mut child = command(&["--config", config.to_str().unwrap(), "serve"], env)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rspd serve");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Keep draining stderr so the server never blocks on a full pipe; echo it for failures and keep it.
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = log.clone();
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[rspd] {line}");
                if let Ok(mut kept) = kept.lock() {
                    kept.push(line);
                }
            }
        });
        let (mut device, mut operator, mut metrics, mut banner) = (None, None, None, String::new());
        while device.is_none() || operator.is_none() {
            let line = match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => line,
                Err(_) => {
                    // Standard output closed (the server exited) or 60 s passed without the listeners.
                    let _ = child.kill();
                    let status = child.wait().ok();
                    let _ = stderr_reader.join();
                    let log = log.lock().map(|l| l.join("\n")).unwrap_or_default();
                    return Err(StartFailure {
                        port_taken: log.contains("cannot listen") && log.contains("in use"),
                        message: format!(
                            "rspd serve did not print its listeners (exit status {status:?}); banner so far:\n{banner}\nlog:\n{log}"
                        ),
                    });
                }
            };
            banner.push_str(&line);
            banner.push('\n');
            if line.contains("device listener") {
                device = Some(parse_addr(&line));
            }
            if line.contains("operator listener") {
                operator = Some(parse_addr(&line));
            }
            if line.contains("metrics listener") {
                metrics = Some(parse_addr(&line));
            }
        }
        // The rest of the banner follows at once, up to its last line (where the secrets master key is).
        while !banner.contains("secrets master key") {
            let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) else { break };
            if line.contains("metrics listener") {
                metrics = Some(parse_addr(&line));
            }
            banner.push_str(&line);
            banner.push('\n');
        }
        Ok(ServerProcess { child, log, device: device.unwrap(), operator: operator.unwrap(), metrics, banner })
    }

    /// The log so far, once a line contains `needle` (or after `within`): the server's stderr reaches the test
    /// through a reader thread, so a line logged just before an answer may still be on its way.
    pub fn log_with(&self, needle: &str, within: Duration) -> Vec<String> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let log = self.log.lock().map(|l| l.clone()).unwrap_or_default();
            if log.iter().any(|l| l.contains(needle)) || std::time::Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: the process gets no chance to flush, finish requests or run shutdown code.
    pub fn kill_9(mut self) {
        // `Child::kill` sends SIGKILL on Unix.
        self.child.kill().expect("SIGKILL rspd");
        let status = self.child.wait().expect("wait for rspd");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(9), "rspd ended by SIGKILL: {status:?}");
        }
    }

    pub fn device_url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.device.port())
    }

    pub fn operator_url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.operator.port())
    }
}

fn parse_addr(line: &str) -> SocketAddr {
    let url = line.split_whitespace().find(|w| w.contains("://")).expect("url in banner line");
    let rest = url.split("://").nth(1).unwrap();
    rest.split('/').next().unwrap().parse().expect("socket address")
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The one line a failed command printed on stderr.
pub fn stderr_line(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    assert_eq!(text.lines().count(), 1, "expected exactly one line on stderr, got:\n{text}");
    text
}

/// The backends to run on: SQLite always (None), PostgreSQL when `RSPD_TEST_POSTGRES_URL` is set.
pub fn backends() -> Vec<Option<String>> {
    let mut b = vec![None];
    if let Ok(url) = std::env::var("RSPD_TEST_POSTGRES_URL") {
        b.push(Some(url));
    }
    b
}

/// The database of a test server: its URL and the config lines that select it (a `[database]` table for a
/// PostgreSQL schema, nothing for the default SQLite file in `dir`'s data dir).
pub fn database(dir: &TestDir, schema: Option<&postgres::SchemaGuard>) -> (rspd::config::DatabaseUrl, String) {
    match schema {
        Some(s) => {
            (rspd::config::DatabaseUrl::Postgres { url: s.url() }, format!("[database]\nurl = \"{}\"\n", s.url()))
        }
        None => (rspd::config::DatabaseUrl::Sqlite { path: dir.data_dir().join("rspd.db") }, String::new()),
    }
}

/// The store at `url`, opened as an operator command would (pool of 2, 5 s timeouts), with the secrets master
/// key `rspd serve` generated in `data_dir`.
pub fn open_store(url: &rspd::config::DatabaseUrl, data_dir: &Path) -> rspd::store::Store {
    let keys = rspd::secrets::master_key::read_key_file(&data_dir.join("secrets/master.key")).unwrap();
    rspd::store::Store::open_for_command(&rspd::config::DatabaseSettings {
        url: url.clone(),
        pool_size: 2,
        connect_timeout: Duration::from_secs(5),
        sqlite_busy_timeout: Duration::from_secs(5),
    })
    .unwrap()
    .with_keyring(rspd::secrets::Keyring::new(keys).unwrap())
}

/// An HTTPS client builder that trusts only the test PKI's NIST CI of `data_dir` and resolves `localhost` to
/// `device`.
pub fn test_pki_client(data_dir: &Path, device: SocketAddr) -> reqwest::ClientBuilder {
    let ci = rspd::pki::test_pki::TestPkiPaths::new(data_dir.join("pki")).ci_cert(rspd::pki::Curve::NistP256);
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(ci).unwrap()).unwrap())
        .resolve("localhost", device)
}

/// An ICCID (`prefix` + `n` in 6 digits + its Luhn check digit).
pub fn iccid(prefix: &str, n: u32) -> String {
    let body = format!("{prefix}{n:06}");
    format!("{body}{}", rspd::profile::Iccid::luhn_check_digit(&body).unwrap())
}

/// A P-256 TLS client certificate `CN=<cn>` (with `O=<org>` when given) issued by the test PKI's operator CA
/// (`ca_cert`, `ca_key`): (certificate, private key) PEM. Tests map it to an operator by its subject.
pub fn issue_operator_client(ca_cert: &Path, ca_key: &Path, cn: &str, org: Option<&str>) -> (Vec<u8>, Vec<u8>) {
    use openssl::asn1::Asn1Time;
    use openssl::bn::{BigNum, MsbOption};
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, KeyUsage};
    use openssl::x509::{X509Builder, X509NameBuilder, X509};

    let ca = X509::from_pem(&std::fs::read(ca_cert).unwrap()).unwrap();
    let ca_key = PKey::private_key_from_pem(&std::fs::read(ca_key).unwrap()).unwrap();
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
    if let Some(org) = org {
        name.append_entry_by_nid(Nid::ORGANIZATIONNAME, org).unwrap();
    }
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(ca.subject_name()).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap()).unwrap();
    b.append_extension(BasicConstraints::new().critical().build().unwrap()).unwrap();
    b.append_extension(KeyUsage::new().critical().digital_signature().build().unwrap()).unwrap();
    b.append_extension(ExtendedKeyUsage::new().client_auth().build().unwrap()).unwrap();
    b.sign(&ca_key, MessageDigest::sha256()).unwrap();
    (b.build().to_pem().unwrap(), key.private_key_to_pem_pkcs8().unwrap())
}
