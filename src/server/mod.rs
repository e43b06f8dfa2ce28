//! `rspd serve`: everything between a validated config and answering listeners.
//!
//! Order of start: data dir → TLS material (configured or test PKI) → store (open, migrate) →
//! bind the sockets → start the actix-web servers → print where everything is. Any failure
//! before the first request is a [`StartError`]: one line, and the exit code says whose fault it is.

mod banner;
mod eim_keys;
mod smdp_keys;
mod tls_material;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::config::{Config, ConfigError};
use crate::http::identity::{capture_peer_certificate, require_operator, OperatorDirectory};
use crate::http::limits::{self, ConnectionTracker, ListenerLimits, Refusal};
use crate::http::metrics::{self, ListenerName, Metrics};
use crate::http::{device, health, not_found, operator};
use crate::pki::test_pki::TestPkiError;
use crate::rate_limit::{KeyedLimiter, Rate};
use crate::smdp::service::SmdpService;
use crate::store::{Store, StoreError};

pub use banner::Banner;
pub use eim_keys::{build_context as eim_context, default_eim_key_path};
pub use tls_material::{TestPkiUse, TEST_OPERATOR_ID};

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("config: {0}")]
    Config(#[from] ConfigError),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("test PKI: {0}")]
    TestPki(#[from] TestPkiError),
    #[error("{0}")]
    Secrets(#[from] crate::secrets::SecretsError),
    #[error("{what}: {reason}")]
    Io { what: String, reason: String },
    /// `rspd audit verify` found the chain broken (the message names the first bad row).
    #[error("{0}")]
    AuditBroken(String),
}

impl StartError {
    /// 2 for configuration problems (bad value, unreadable file), 3 for a broken audit chain, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            StartError::Config(_) | StartError::Secrets(crate::secrets::SecretsError::KeySource { .. }) => 2,
            StartError::AuditBroken(_) => 3,
            _ => 1,
        }
    }
}

/// A started server: its bound addresses and the handles that stop it.
pub struct RunningServer {
    pub device_addr: SocketAddr,
    pub operator_addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub banner: Banner,
    servers: Vec<actix_web::dev::Server>,
    /// Session expiry, the notification worker, the ES2+ progress delivery; aborted when the server stops.
    jobs: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    /// Runs until every listener stops (SIGINT/SIGTERM, or [`RunningServer::stop`]).
    pub async fn wait(self) -> std::io::Result<()> {
        let _jobs = AbortOnDrop(self.jobs);
        for result in futures_util::future::join_all(self.servers).await {
            result?;
        }
        Ok(())
    }

    /// Stops all listeners gracefully.
    pub async fn stop(self) {
        let handles: Vec<_> = self.servers.iter().map(|s| s.handle()).collect();
        for h in &handles {
            h.stop(true).await;
        }
        let _ = self.wait().await;
    }
}

/// Prepares everything and starts the listeners. Must run inside an actix/tokio runtime.
pub async fn start(mut config: Config) -> Result<RunningServer, StartError> {
    crate::private_files::create_private_dir(&config.data_dir).map_err(|e| StartError::Io {
        what: format!("data_dir {}", config.data_dir.display()),
        reason: format!("cannot create: {e}"),
    })?;
    crate::private_files::warn_if_shared(&config.data_dir, "data_dir");
    if let crate::config::DatabaseUrl::Sqlite { path } = config.database_url() {
        crate::private_files::warn_if_shared(&path, "the SQLite database");
    }

    // The sockets first: with `device.listen` on port 0 (tests, ad-hoc runs) the SM-DP+ address and the eIM FQDN
    // default to `localhost:<the port actually bound>`, which LPAs and IPAs must send back (SGP.22 §5.6.1).
    let device_listener = bind("device.listen", config.device.listen)?;
    let operator_listener = bind("operator.listen", config.operator.listen)?;
    let metrics_listener = config.metrics.listen.map(|a| bind("metrics.listen", a)).transpose()?;
    if config.device.listen.port() == 0 {
        config.device.listen = local_addr("device.listen", &device_listener)?;
    }

    let tls = tls_material::resolve(&config)?;
    let secrets = crate::secrets::master_key::load_or_create(&config.secrets_settings())?;

    // ES9+ keys and certificates: parsed once, here.
    let test_pki_paths = match &tls.test_pki {
        Some(t) => Some(t.paths.clone()),
        None if config.pki.generate_test_pki => Some(tls_material::ensure_test_pki(&config)?.paths),
        None => None,
    };
    let mut smdp_context = smdp_keys::build_context(&config, test_pki_paths.as_ref())?;
    // Issue 10 item 4: one per-EID budget for ES9+ AuthenticateClient and ESipa GetEimPackage.
    let eid_rate = KeyedLimiter::new(
        Rate { per_sec: f64::from(config.limits.eid_requests_per_min) / 60.0, burst: config.limits.eid_burst },
        config.limits.max_tracked_keys,
    )
    .map(Arc::new);
    smdp_context.eid_rate = eid_rate.clone();
    // ES2+ HandleDownloadProgressInfo: client certificates and CAs read now, so a bad file stops the start.
    let progress = crate::jobs::progress_delivery::ProgressDelivery::new(&config.operator.progress)?;
    smdp_context.progress = progress.notifier();
    let eim_context = eim_keys::build_context(&config)?;

    let settings = config.database_settings();
    let keyring = secrets.keyring.clone();
    let key_file = match &secrets.source {
        crate::secrets::master_key::KeySource::File(path) => Some(path.clone()),
        crate::secrets::master_key::KeySource::Value => None,
    };
    let (store, applied, in_use) = web::block(move || -> Result<_, StoreError> {
        let store = Store::open(&settings)?.with_keyring_file(keyring, key_file);
        let applied = store.migrate()?;
        let in_use = store.key_ids_in_use().map_err(|e| StoreError::Migration {
            url: store.url().to_string(),
            message: format!("reading the sealed rows' key ids: {e}"),
        })?;
        Ok((store, applied, in_use))
    })
    .await
    .map_err(|e| StartError::Io { what: "database".into(), reason: e.to_string() })??;
    // A wrong master key is refused here, not at the first download.
    let missing: Vec<String> = in_use.into_iter().filter(|id| !secrets.keyring.contains(id)).collect();
    if !missing.is_empty() {
        return Err(crate::secrets::SecretsError::KeySource {
            source_name: secrets.source.to_string(),
            reason: format!(
                "the database has rows sealed under master key id(s) {} which this key source does not hold \
                 (wrong key, or an old key removed before `rspd keys rotate` finished)",
                missing.join(", ")
            ),
        }
        .into());
    }

    let metrics = Metrics::new(store.backend_name())
        .map_err(|e| StartError::Io { what: "metrics".into(), reason: e.to_string() })?;
    let progress = progress
        .with_metrics(metrics.registry())
        .map_err(|e| StartError::Io { what: "metrics".into(), reason: e.to_string() })?;
    let directory = web::Data::new(OperatorDirectory::new(&tls.identities)?);
    let opaque_ids = {
        use crate::http::operator::opaque_ids::{OpaqueIds, KEY_NAME};
        web::Data::new(OpaqueIds::new(store.server_key(KEY_NAME)?))
    };
    crate::logging::set_identifier_key(store.server_key(crate::logging::IDENTIFIER_KEY_NAME)?);
    let notification_worker = Arc::new(tokio::sync::Notify::new());
    let es9 = SmdpService::new(smdp_context, Arc::new(store.clone())).waking({
        let worker = notification_worker.clone();
        move || worker.notify_one()
    });
    let interval = std::time::Duration::from_secs(config.smdp.expiry_interval_secs);
    let eim = crate::eim::esipa_service::EimService {
        ctx: eim_context,
        repo: Arc::new(store.clone()),
        smdp: Some(es9.clone()),
        external: eim_keys::es9_client(&config, test_pki_paths.as_ref())?
            .map(|c| Arc::new(c) as Arc<dyn crate::eim::relay::SmdpRelay>),
        smdp_allowed_addresses: config.eim.smdp_allowed_addresses.clone(),
        learn_operator: config.eim.learn_operator.clone(),
        eid_rate,
    };
    let mut jobs = vec![
        actix_web::rt::spawn(crate::jobs::smdp_sessions::expire_sessions(es9.clone(), interval)),
        actix_web::rt::spawn(crate::jobs::smdp_sessions::process_notifications(
            es9.clone(),
            notification_worker.clone(),
            interval,
        )),
        actix_web::rt::spawn(eim_keys::expire_orders(
            eim.clone(),
            std::time::Duration::from_secs(config.eim.expiry_interval_secs),
        )),
        actix_web::rt::spawn(crate::jobs::eim_orders::forward_notifications(
            eim.clone(),
            store.writes(),
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(5),
        )),
        actix_web::rt::spawn(crate::jobs::eim_orders::run(
            eim.clone(),
            store.writes(),
            std::time::Duration::from_millis(config.eim.orders_interval_ms),
        )),
    ];
    jobs.push(actix_web::rt::spawn(crate::jobs::inventory::run(store.clone(), metrics.clone(), interval)));
    jobs.push(actix_web::rt::spawn(crate::jobs::retention::run(store.clone(), config.retention.clone())));
    jobs.push(actix_web::rt::spawn(crate::jobs::audit_sealer::run(store.clone(), store.writes())));
    if progress.is_enabled() {
        jobs.push(actix_web::rt::spawn(progress.run(store.clone())));
    }
    let eim_data = web::Data::new(eim);
    let es9_data = web::Data::new(es9);
    let readiness = web::Data::new(health::Readiness::new({
        let store = store.clone();
        move || store.ping().map_err(|e| e.to_string())
    }));
    let fleet_data: web::Data<dyn crate::fleet::FleetRepository> =
        web::Data::from(Arc::new(store.clone()) as Arc<dyn crate::fleet::FleetRepository>);
    let pool_gauges = web::Data::new(metrics::PoolGauges::new({
        let store = store.clone();
        move || {
            let p = store.pool_state();
            metrics::PoolReading { connections: p.connections, idle: p.idle, max: p.max }
        }
    }));
    // Issue 10 items 4–5: the listeners' limits, and every refusal series present (at 0) from the start.
    for listener in ["device", "operator"] {
        for reason in Refusal::ALL {
            metrics.refused(listener, reason.as_str());
        }
        metrics.connections_open(listener);
    }
    let trusted_proxies = Arc::new(config.limits.trusted_proxy_addrs());
    let device_limits = ListenerLimits {
        source_rate: KeyedLimiter::new(
            Rate { per_sec: f64::from(config.limits.source_requests_per_sec), burst: config.limits.source_burst },
            config.limits.max_tracked_keys,
        )
        .map(Arc::new),
        trusted_proxies: trusted_proxies.clone(),
        body_timeout: Duration::from_secs(config.limits.device_body_timeout_secs),
    };
    let operator_limits = ListenerLimits {
        source_rate: None,
        trusted_proxies,
        body_timeout: Duration::from_secs(config.limits.operator_body_timeout_secs),
    };
    let device_connections = ConnectionTracker::new(&metrics, "device", config.limits.device_max_connections);
    let operator_connections = ConnectionTracker::new(&metrics, "operator", config.limits.operator_max_connections);
    let header_timeout = Duration::from_millis(config.limits.header_timeout_ms);
    let workers = worker_count(config.workers);
    let operator_max_body = config.limits.operator_max_body_bytes;
    let metrics_data = web::Data::new(metrics);
    let content_data = web::Data::new(config.content.clone());

    let device_addr = local_addr("device.listen", &device_listener)?;
    let operator_addr = local_addr("operator.listen", &operator_listener)?;
    let metrics_addr = metrics_listener.as_ref().map(|l| local_addr("metrics.listen", l)).transpose()?;

    let io_err = |what: &str| {
        let what = what.to_owned();
        move |e: std::io::Error| StartError::Io { what, reason: e.to_string() }
    };

    let (m, e, i, r) = (metrics_data.clone(), es9_data.clone(), eim_data.clone(), readiness.clone());
    let device_server = HttpServer::new(move || {
        App::new()
            .app_data(r.clone())
            .app_data(m.clone())
            .app_data(e.clone())
            .app_data(i.clone())
            .app_data(ListenerName("device"))
            .app_data(device_limits.clone())
            .wrap(from_fn(limits::enforce))
            .wrap(from_fn(metrics::record))
            .configure(device::configure)
    })
    .on_connect(move |_, extensions| device_connections.on_connect(extensions))
    .client_request_timeout(header_timeout)
    .max_connections(limits::per_worker(config.limits.device_max_connections, workers))
    .max_connection_rate(config.limits.max_tls_handshakes)
    .workers(workers)
    .shutdown_timeout(10);
    let device_server = match tls.device {
        Some(tls_config) => device_server.listen_rustls_0_23(device_listener, tls_config),
        None => device_server.listen(device_listener),
    }
    .map_err(io_err("device.listen"))?
    .run();

    let (m, d, e, i, o, c, r) = (
        metrics_data.clone(),
        directory.clone(),
        es9_data.clone(),
        eim_data.clone(),
        opaque_ids.clone(),
        content_data.clone(),
        readiness.clone(),
    );
    let (fleet, pool) = (fleet_data.clone(), pool_gauges.clone());
    let operator_server = HttpServer::new(move || {
        App::new()
            .app_data(pool.clone())
            .app_data(r.clone())
            // The fleet API, the audit of every call and `Idempotency-Key`s (http::operator::{fleet, audit_middleware,
            // idempotency}).
            .app_data(fleet.clone())
            // Upload caps (http::inventory).
            .app_data(c.clone())
            // ES2+ (http::es2) uses the store and the SM-DP+ address of the ES9+ service.
            .app_data(e.clone())
            // The eIM API (http::eim_api) uses the eIM service.
            .app_data(i.clone())
            .app_data(m.clone())
            .app_data(d.clone())
            // Every id the operator API shows that would otherwise be a global sequence number.
            .app_data(o.clone())
            .app_data(ListenerName("operator"))
            .app_data(operator_limits.clone())
            // Uploads are buffered whole: `limits.operator_max_body_bytes` (ES2+ keeps its own 64 KiB).
            .app_data(web::PayloadConfig::new(operator_max_body))
            .wrap(from_fn(require_operator))
            .wrap(from_fn(limits::enforce))
            .wrap(from_fn(crate::http::operator::audit_middleware::record_call))
            .wrap(from_fn(metrics::record))
            .configure(operator::configure)
    })
    .on_connect(move |connection, extensions| {
        capture_peer_certificate(connection, extensions);
        operator_connections.on_connect(extensions);
    });
    let operator_server = operator_server
        .client_request_timeout(header_timeout)
        .max_connections(limits::per_worker(config.limits.operator_max_connections, workers))
        .max_connection_rate(config.limits.max_tls_handshakes)
        .workers(workers)
        .shutdown_timeout(10)
        .listen_rustls_0_23(operator_listener, tls.operator)
        .map_err(io_err("operator.listen"))?
        .run();

    let mut servers = vec![device_server, operator_server];
    if let Some(listener) = metrics_listener {
        let (m, r, p) = (metrics_data.clone(), readiness.clone(), pool_gauges.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(p.clone())
                .app_data(r.clone())
                .app_data(m.clone())
                .route("/metrics", web::get().to(metrics::metrics_endpoint))
                .route("/healthz", web::get().to(health::healthz))
                .route("/readyz", web::get().to(health::readyz))
                .default_service(web::to(not_found))
        })
        .workers(1)
        .listen(listener)
        .map_err(io_err("metrics.listen"))?
        .run();
        servers.push(server);
    }

    let mut banner = Banner::new(&config, &applied, device_addr, operator_addr, metrics_addr, tls.test_pki.as_ref());
    banner.push(format!(
        "  secrets master key {} (active key id {}){}",
        secrets.source,
        secrets.keyring.active().id(),
        if secrets.created { " — generated now, mode 0600: back it up, sealed profiles need it" } else { "" }
    ));
    Ok(RunningServer { device_addr, operator_addr, metrics_addr, banner, servers, jobs })
}

/// Aborts the background jobs when the server is done.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for job in &self.0 {
            job.abort();
        }
    }
}

/// Worker threads per listener: configured, or one per core.
fn worker_count(configured: usize) -> usize {
    if configured > 0 {
        configured
    } else {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    }
}

fn bind(key: &str, addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .map_err(|e| StartError::Io { what: format!("{key} {addr}"), reason: format!("cannot listen: {e}") })
}

fn local_addr(key: &str, l: &TcpListener) -> Result<SocketAddr, StartError> {
    l.local_addr().map_err(|e| StartError::Io { what: key.to_owned(), reason: e.to_string() })
}
