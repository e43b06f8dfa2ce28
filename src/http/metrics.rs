//! Prometheus metrics (text exposition format): request counts and latencies per listener and
//! function, database pool gauges, build info, and what the abuse limits refused (`rspd_refused_total{listener,reason}`,
//! `rspd_connections_open{listener}`; issue 10 items 4–5, see [`super::limits`]).
//!
//! The `function` label is the matched route pattern (e.g. `/gsma/rsp2/es9plus/initiateAuthentication`),
//! or `unmatched`, so a client cannot grow the label set with arbitrary paths.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The database pool's gauges, read at scrape time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolReading {
    /// Open connections (idle and in use).
    pub connections: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// Pool size limit.
    pub max: u32,
}

/// Reads [`PoolReading`] (built by `server` over the store).
#[derive(Clone)]
pub struct PoolGauges(std::sync::Arc<dyn Fn() -> PoolReading + Send + Sync>);

impl PoolGauges {
    pub fn new(read: impl Fn() -> PoolReading + Send + Sync + 'static) -> Self {
        PoolGauges(std::sync::Arc::new(read))
    }
}

/// All of rspd's metrics, in one registry (no process-global state, so tests can run servers side by side).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    pool_max: IntGauge,
    /// Profiles per operator, profile type and state (`rspd stock`).
    profile_stock: IntGaugeVec,
    /// 1 when a profile type's available profiles are below its low-stock threshold.
    profile_stock_low: IntGaugeVec,
    /// Requests and connections refused by a limit, by listener and reason (`super::limits::Refusal`).
    refused: IntCounterVec,
    /// Connections open per listener.
    connections_open: IntGaugeVec,
}

impl Metrics {
    pub fn new(database_backend: &str) -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("rspd".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by listener, function and status code"),
            &["listener", "function", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by listener and function")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["listener", "function"],
        )?;
        let pool_connections = IntGauge::new("db_pool_connections", "Open database connections in the pool")?;
        let pool_idle = IntGauge::new("db_pool_idle_connections", "Idle database connections in the pool")?;
        let pool_max = IntGauge::new("db_pool_max_connections", "Configured maximum pool size")?;
        let build_info = IntGaugeVec::new(
            Opts::new("build_info", "rspd build information (value is always 1)"),
            &["version", "database"],
        )?;
        build_info.with_label_values(&[env!("CARGO_PKG_VERSION"), database_backend]).set(1);

        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool_connections.clone()))?;
        registry.register(Box::new(pool_idle.clone()))?;
        registry.register(Box::new(pool_max.clone()))?;
        registry.register(Box::new(build_info))?;
        let profile_stock = IntGaugeVec::new(
            Opts::new("profile_stock", "Profiles by operator, profile type and state"),
            &["operator", "profile_type", "state"],
        )?;
        let profile_stock_low = IntGaugeVec::new(
            Opts::new("profile_stock_low", "1 when available profiles of the type are below its low-stock threshold"),
            &["operator", "profile_type"],
        )?;
        registry.register(Box::new(profile_stock.clone()))?;
        registry.register(Box::new(profile_stock_low.clone()))?;
        let refused = IntCounterVec::new(
            Opts::new("refused_total", "Requests or connections refused by a limit, by listener and reason"),
            &["listener", "reason"],
        )?;
        let connections_open =
            IntGaugeVec::new(Opts::new("connections_open", "Open connections by listener"), &["listener"])?;
        registry.register(Box::new(refused.clone()))?;
        registry.register(Box::new(connections_open.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            pool_connections,
            pool_idle,
            pool_max,
            profile_stock,
            profile_stock_low,
            refused,
            connections_open,
        })
    }

    /// The refusal counter of one listener and reason (`rspd_refused_total{listener,reason}`).
    pub fn refused(&self, listener: &str, reason: &str) -> prometheus::IntCounter {
        self.refused.with_label_values(&[listener, reason])
    }

    /// The open-connections gauge of one listener (`rspd_connections_open{listener}`).
    pub fn connections_open(&self, listener: &str) -> IntGauge {
        self.connections_open.with_label_values(&[listener])
    }

    /// Publishes one profile type's stock.
    pub fn set_stock(&self, operator_id: &str, level: &crate::smdp::inventory::StockLevel) {
        for (state, n) in &level.counts {
            self.profile_stock.with_label_values(&[operator_id, &level.profile_type, state.as_str()]).set(*n);
        }
        self.profile_stock_low.with_label_values(&[operator_id, &level.profile_type]).set(i64::from(level.is_low()));
    }

    /// The registry, for metrics that live with their subsystem (e.g. the ES2+ progress outbox).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn observe(&self, listener: &str, function: &str, status: u16, seconds: f64) {
        self.requests.with_label_values(&[listener, function, &status.to_string()]).inc();
        self.latency.with_label_values(&[listener, function]).observe(seconds);
    }

    /// The text exposition, with the pool gauges read at scrape time.
    pub fn render(&self, pool: &PoolGauges) -> String {
        let pool = (pool.0)();
        self.pool_connections.set(i64::from(pool.connections));
        self.pool_idle.set(i64::from(pool.idle));
        self.pool_max.set(i64::from(pool.max));
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metric families.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// Which listener a request came in on (the `listener` label).
#[derive(Debug, Clone, Copy)]
pub struct ListenerName(pub &'static str);

/// Middleware: count and time every request.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let listener = req.app_data::<ListenerName>().map(|l| l.0).unwrap_or("unknown");
    let function = req.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let res = next.call(req).await?;
    if let Some(metrics) = metrics {
        metrics.observe(listener, &function, res.status().as_u16(), started.elapsed().as_secs_f64());
    }
    Ok(res)
}

/// `GET /metrics`.
pub async fn metrics_endpoint(metrics: web::Data<Metrics>, pool: web::Data<PoolGauges>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(metrics.render(&pool))
}
