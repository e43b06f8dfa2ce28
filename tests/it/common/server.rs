//! One builder for every test server: `rspd serve` in a fresh data dir, on SQLite or a throw-away PostgreSQL
//! schema, with the test PKI of this run copied in (generated once per test binary, not once per server), its
//! listeners on port 0 and their addresses read from the start-up banner.
//!
//! ```ignore
//! let s = TestServer::builder().postgres(pg.as_deref()).config_extra("[eim]\neim_id = \"x\"\n").start();
//! ```

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use rspd::config::DatabaseUrl;
use rspd::pki::test_pki::{TestPkiPaths, TestPkiRequest};
use rspd::pki::Curve;
use rspd::store::Store;

use super::postgres::SchemaGuard;
use super::{database, open_store, ServerProcess, StartFailure, TestDir};

/// What the config text of a server may depend on.
pub struct Setup<'a> {
    /// `<dir>/data`, where the server keeps its files (and the copied test PKI in `pki/`).
    pub data_dir: &'a Path,
    /// The device listener's port when the builder was told to pick it before the start
    /// ([`TestServerBuilder::device_port_in_config`]), else 0.
    pub device_port: u16,
}

type ConfigPart = Box<dyn Fn(&Setup) -> String>;

/// Builds a [`TestServer`].
pub struct TestServerBuilder {
    dir: TestDir,
    postgres: Option<String>,
    config: Vec<ConfigPart>,
    env: Vec<(String, String)>,
    copy_test_pki: bool,
    device_port_in_config: bool,
}

impl TestServerBuilder {
    /// PostgreSQL at this admin URL (a fresh schema per server); `None`: SQLite in the data dir.
    pub fn postgres(mut self, url: Option<&str>) -> Self {
        self.postgres = url.map(str::to_owned);
        self
    }

    /// More TOML for the config, in the order given (after the `[database]` table, if any).
    pub fn config_extra(self, toml: &str) -> Self {
        let toml = toml.to_owned();
        self.config_with(move |_| toml.clone())
    }

    /// More TOML computed from the data dir and the device port.
    pub fn config_with(mut self, part: impl Fn(&Setup) -> String + 'static) -> Self {
        self.config.push(Box::new(part));
        self
    }

    /// An environment variable for `rspd serve` (every inherited `RSPD_*` is cleared).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Let `rspd serve` create the data dir and generate its own test PKI (tests of what the start creates, or a
    /// second party that must not share the first one's certificates); default: copy this run's test PKI in.
    pub fn generate_test_pki(mut self) -> Self {
        self.copy_test_pki = false;
        self
    }

    /// The config must name the device port before the start (the SM-DP+ address `localhost:<port>` carries
    /// it, and rspd only defaults it to `localhost` without a port for port 0): a free port is chosen, given
    /// to [`Setup::device_port`], and the start is retried on another port if someone else took it meanwhile.
    pub fn device_port_in_config(mut self) -> Self {
        self.device_port_in_config = true;
        self
    }

    /// The data dir the server will have (for config values that name files in it).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.data_dir()
    }

    pub fn start(self) -> TestServer {
        let dir = self.dir;
        let schema = self.postgres.as_deref().map(SchemaGuard::create);
        let (db_url, db_line) = database(&dir, schema.as_ref());
        if self.copy_test_pki {
            // The data dir private, as `rspd serve` creates it (tests that check that use `generate_test_pki`).
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir.data_dir()).unwrap();
            copy_dir(shared_test_pki(), &dir.data_dir().join("pki"));
        }
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let device_port = if self.device_port_in_config { probe_free_port() } else { 0 };
            let data_dir = dir.data_dir();
            let setup = Setup { data_dir: &data_dir, device_port };
            let mut text = db_line.clone();
            for part in &self.config {
                text.push_str(&part(&setup));
                text.push('\n');
            }
            let config = dir.write_config(&text);
            match ServerProcess::try_start(&dir, &config, &env) {
                Ok(server) => {
                    return TestServer { dir, config, server: Some(server), db_url, device_port, schema, env: self.env }
                }
                // Only a port picked before the start can be taken by someone else; anything else is a failure.
                Err(StartFailure { port_taken: true, .. }) if self.device_port_in_config && attempts < 5 => continue,
                Err(failure) => panic!("{}", failure.message),
            }
        }
    }
}

/// A running (or killed, restartable) `rspd serve` with its data dir and database.
pub struct TestServer {
    pub dir: TestDir,
    pub config: PathBuf,
    /// `None` between [`TestServer::kill_9`] and [`TestServer::restart`].
    pub server: Option<ServerProcess>,
    pub db_url: DatabaseUrl,
    /// The configured device port ([`TestServerBuilder::device_port_in_config`]), else 0.
    pub device_port: u16,
    pub schema: Option<SchemaGuard>,
    env: Vec<(String, String)>,
}

impl TestServer {
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder {
            dir: TestDir::new(),
            postgres: None,
            config: Vec::new(),
            env: Vec::new(),
            copy_test_pki: true,
            device_port_in_config: false,
        }
    }

    pub fn server(&self) -> &ServerProcess {
        self.server.as_ref().expect("the server is running")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.data_dir()
    }

    pub fn pki(&self) -> TestPkiPaths {
        TestPkiPaths::new(self.data_dir().join("pki"))
    }

    pub fn store(&self) -> Store {
        open_store(&self.db_url, &self.data_dir())
    }

    /// `rspd --config <config> ARGS` to completion.
    pub fn rspd(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["--config", self.config.to_str().unwrap()];
        all.extend_from_slice(args);
        self.dir.run(&all, &[])
    }

    /// SIGKILL the server (no shutdown hook runs).
    pub fn kill_9(&mut self) {
        if let Some(server) = self.server.take() {
            server.kill_9();
        }
    }

    /// Starts `rspd serve` again on the same config, data dir and database.
    pub fn restart(&mut self) {
        assert!(self.server.is_none(), "kill the server first");
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.server = Some(ServerProcess::start(&self.dir, &self.config, &env));
    }
}

/// The test PKI of this test binary's run, generated on first use (every curve, DP TLS for `localhost`).
pub fn shared_test_pki() -> &'static Path {
    static PKI: OnceLock<PathBuf> = OnceLock::new();
    PKI.get_or_init(|| {
        // Under cargo's per-target scratch dir (removed by `cargo clean`); one per run, as the PKI is per run.
        // Those of runs over an hour old go (a run still going is younger).
        remove_old_test_pkis(Path::new(env!("CARGO_TARGET_TMPDIR")), Duration::from_secs(3600));
        let root = tempfile::Builder::new()
            .prefix("rspd-test-pki-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("temp dir for the test PKI")
            .keep();
        let out = root.join("pki");
        rspd::pki::test_pki::generate(&TestPkiRequest {
            out: out.clone(),
            curves: Curve::ALL.to_vec(),
            addresses: vec!["localhost".to_owned()],
            force: false,
        })
        .expect("generate the test PKI");
        out
    })
}

fn remove_old_test_pkis(scratch: &Path, age: Duration) {
    let Ok(entries) = std::fs::read_dir(scratch) else { return };
    for entry in entries.flatten() {
        let old =
            entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok()).is_some_and(|e| e > age);
        if old && entry.file_name().to_string_lossy().starts_with("rspd-test-pki-") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Copies `from` into `to` (created), files with their permissions (private keys stay 0600).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::set_permissions(to, std::fs::metadata(from).unwrap().permissions()).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A port that was free a moment ago (only for configs that must name it; see `device_port_in_config`).
fn probe_free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `condition` every 20 ms until it holds; panics with `what` after `within`.
pub fn wait_until(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "waited {within:?} for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// [`wait_until`] for async tests: polls every 20 ms without blocking the runtime (mock peers may run on it).
pub async fn eventually(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "waited {within:?} for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
