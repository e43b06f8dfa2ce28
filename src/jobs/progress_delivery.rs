//! Delivers the ES2+.HandleDownloadProgressInfo outbox (SGP.22 v2.5 §5.3.5) to each operator's endpoint, rspd
//! acting as a mutual-TLS client, in the JSON binding (§6.5: `POST <base>/gsma/rsp2/es2plus/handleDownloadProgressInfo`,
//! `X-Admin-Protocol`, the request `header` with functionRequesterIdentifier / functionCallIdentifier).
//!
//! - Any 2xx answer (the spec's is 204 No Content) delivers the event; anything else — no connection, TLS
//!   failure, timeout, 4xx, 5xx — is a failed attempt, retried after `retry_initial_secs · 2^(n−1)`, at most
//!   `retry_max_secs`, forever (nothing is dropped; see `config::progress`).
//! - The functionCallIdentifier is `rspd-progress-<outbox id>`, the same on every retry, so an operator can
//!   recognise a repeated call.
//! - Rows stay in the database until delivered: a restart (or another node) picks them up.
//! - Per ICCID in order: the store only hands out the oldest undelivered event of each ICCID, so one batch holds
//!   at most one event per ICCID and they are sent concurrently.
//! - Logs carry operator, ICCID, point and the error; never keys, certificates or `resultData`.

use crate::logging::pii;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use prometheus::{IntCounterVec, IntGauge, Opts};
use rustls::RootCertStore;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::clock::unix_ms;
use crate::config::{ConfigError, ProgressConfig, ProgressEndpointConfig};
use crate::http::binding::ADMIN_PROTOCOL;
use crate::http::tls::{load_cert_chain, load_private_key, provider};
use crate::smdp::progress::{backoff_ms, OutboxEntry, PointStatus, ProgressOutbox};
use crate::smdp::ProgressNotifier;
use crate::store::Store;

/// How often the pending/stuck gauges are counted in the database.
const GAUGE_INTERVAL: Duration = Duration::from_secs(5);

/// Events claimed per round (each a different ICCID, sent concurrently).
const BATCH: i64 = 32;

/// The protocol version rspd's ES2+ speaks (SGP.22 §6.5.1: `X-Admin-Protocol: gsma/rsp/v<x.y.z>`).

/// One operator's endpoint, ready to call.
struct Endpoint {
    url: String,
    requester: String,
    client: reqwest::Client,
}

#[derive(Clone)]
struct ProgressMetrics {
    delivered: IntCounterVec,
    failed: IntCounterVec,
    pending: IntGauge,
    stuck: IntGauge,
}

impl ProgressMetrics {
    fn register(registry: &prometheus::Registry) -> Result<Self, prometheus::Error> {
        let delivered = IntCounterVec::new(
            Opts::new("es2_progress_delivered_total", "HandleDownloadProgressInfo calls the operator accepted"),
            &["operator"],
        )?;
        let failed = IntCounterVec::new(
            Opts::new("es2_progress_failed_attempts_total", "HandleDownloadProgressInfo attempts that failed"),
            &["operator"],
        )?;
        let pending = IntGauge::new("es2_progress_pending", "ES2+ progress events not delivered yet")?;
        let stuck = IntGauge::new(
            "es2_progress_stuck",
            "ES2+ progress events that failed at least operator.progress.alert_after_attempts times",
        )?;
        registry.register(Box::new(delivered.clone()))?;
        registry.register(Box::new(failed.clone()))?;
        registry.register(Box::new(pending.clone()))?;
        registry.register(Box::new(stuck.clone()))?;
        Ok(ProgressMetrics { delivered, failed, pending, stuck })
    }
}

/// The delivery worker: built at start (files read, clients made), run as a background job.
pub struct ProgressDelivery {
    endpoints: Arc<HashMap<String, Endpoint>>,
    wake: Arc<tokio::sync::Notify>,
    poll_interval: Duration,
    retry_initial_ms: i64,
    retry_max_ms: i64,
    lease_ms: i64,
    alert_after_attempts: i32,
    metrics: Option<ProgressMetrics>,
}

impl ProgressDelivery {
    /// Reads each endpoint's certificate, key and CA files (a problem names the key) and builds its client.
    pub fn new(config: &ProgressConfig) -> Result<ProgressDelivery, ConfigError> {
        let mut endpoints = HashMap::new();
        for (i, e) in config.endpoints.iter().enumerate() {
            let client = client_for(&format!("operator.progress.endpoints[{i}]"), e, config.request_timeout_secs)?;
            let requester = e.function_requester_identifier.clone().unwrap_or_else(|| "rspd".to_owned());
            endpoints.insert(e.operator_id.clone(), Endpoint { url: e.function_url(), requester, client });
        }
        let secs_ms = |s: u64| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX);
        Ok(ProgressDelivery {
            endpoints: Arc::new(endpoints),
            wake: Arc::new(tokio::sync::Notify::new()),
            poll_interval: Duration::from_millis(config.poll_interval_ms),
            retry_initial_ms: secs_ms(config.retry_initial_secs),
            retry_max_ms: secs_ms(config.retry_max_secs),
            // Long enough for one call and its answer; a node that dies mid-call frees its rows after this.
            lease_ms: secs_ms(config.request_timeout_secs.saturating_mul(2).saturating_add(30)),
            alert_after_attempts: i32::try_from(config.alert_after_attempts).unwrap_or(i32::MAX),
            metrics: None,
        })
    }

    /// Registers the outbox metrics in rspd's registry.
    pub fn with_metrics(mut self, registry: &prometheus::Registry) -> Result<Self, prometheus::Error> {
        self.metrics = Some(ProgressMetrics::register(registry)?);
        Ok(self)
    }

    /// What the ES9+ steps emit through: the operators with an endpoint, and a wake-up for this worker.
    pub fn notifier(&self) -> ProgressNotifier {
        let wake = self.wake.clone();
        ProgressNotifier::new(self.endpoints.keys().cloned(), Some(Arc::new(move || wake.notify_one())))
    }

    pub fn is_enabled(&self) -> bool {
        !self.endpoints.is_empty()
    }

    /// Delivers due events until the server stops: when woken by a new event, and every poll interval.
    pub async fn run(self, store: Store) {
        let mut gauges_at: Option<tokio::time::Instant> = None;
        loop {
            let claimed = {
                let store = store.clone();
                let lease = self.lease_ms;
                web::block(move || store.claim_progress(unix_ms(OffsetDateTime::now_utc()), lease, BATCH)).await
            };
            let batch = match claimed {
                Ok(Ok(batch)) => batch,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "ES2+ progress outbox: claim failed");
                    Vec::new()
                }
                Err(e) => {
                    tracing::warn!(error = %e, "ES2+ progress outbox: claim not run");
                    Vec::new()
                }
            };
            // After a round with work, look again at once: the next event of a delivered ICCID is due now.
            let idle = batch.is_empty();
            futures_util::future::join_all(batch.into_iter().map(|entry| self.deliver(&store, entry))).await;
            if gauges_at.is_none_or(|at| at.elapsed() >= GAUGE_INTERVAL) {
                self.update_gauges(&store).await;
                gauges_at = Some(tokio::time::Instant::now());
            }
            if idle {
                let _ = tokio::time::timeout(self.poll_interval, self.wake.notified()).await;
            }
        }
    }

    async fn update_gauges(&self, store: &Store) {
        let Some(metrics) = &self.metrics else { return };
        let (store, after) = (store.clone(), self.alert_after_attempts);
        if let Ok(Ok(backlog)) = web::block(move || store.progress_backlog(after)).await {
            metrics.pending.set(backlog.pending);
            metrics.stuck.set(backlog.stuck);
        }
    }

    /// One call; the outcome recorded in the outbox.
    async fn deliver(&self, store: &Store, entry: OutboxEntry) {
        let operator = entry.event.operator_id.clone();
        let outcome = match self.endpoints.get(&operator) {
            Some(endpoint) => call(endpoint, &entry).await,
            None => Err("no ES2+ endpoint configured for this operator any more".to_owned()),
        };
        let now = unix_ms(OffsetDateTime::now_utc());
        let (id, iccid, point) = (entry.id, entry.event.iccid.clone(), entry.event.point.id());
        let store = store.clone();
        let recorded = match outcome {
            Ok(()) => {
                tracing::info!(operator = %operator, iccid = %pii(&iccid), point, outbox = id,
                    "ES2+ HandleDownloadProgressInfo delivered");
                if let Some(m) = &self.metrics {
                    m.delivered.with_label_values(&[&operator]).inc();
                }
                web::block(move || store.progress_delivered(id, now)).await
            }
            Err(error) => {
                let attempts = entry.attempts.saturating_add(1);
                let delay = backoff_ms(attempts, self.retry_initial_ms, self.retry_max_ms);
                if attempts >= self.alert_after_attempts {
                    tracing::warn!(operator = %operator, iccid = %pii(&iccid), point, outbox = id, attempts,
                        retry_in_secs = delay / 1000, error = %error,
                        "ES2+ HandleDownloadProgressInfo still failing; later events of this ICCID wait");
                } else {
                    tracing::info!(operator = %operator, iccid = %pii(&iccid), point, outbox = id, attempts,
                        retry_in_secs = delay / 1000, error = %error, "ES2+ HandleDownloadProgressInfo failed");
                }
                if let Some(m) = &self.metrics {
                    m.failed.with_label_values(&[&operator]).inc();
                }
                web::block(move || store.progress_failed(id, now.saturating_add(delay), &error)).await
            }
        };
        match recorded {
            Ok(Ok(())) => {}
            // The lease runs out and the event is sent again: the operator sees the same functionCallIdentifier.
            Ok(Err(e)) => tracing::warn!(outbox = id, error = %e, "ES2+ progress outbox: outcome not recorded"),
            Err(e) => tracing::warn!(outbox = id, error = %e, "ES2+ progress outbox: outcome not recorded"),
        }
    }
}

/// A client that presents the configured certificate and trusts only the configured CAs.
fn client_for(key: &str, e: &ProgressEndpointConfig, timeout_secs: u64) -> Result<reqwest::Client, ConfigError> {
    let chain = load_cert_chain(&format!("{key}.client_cert"), &e.client_cert)?;
    let private_key = load_private_key(&format!("{key}.client_key"), &e.client_key)?;
    let mut roots = RootCertStore::empty();
    for path in &e.server_ca {
        for ca in load_cert_chain(&format!("{key}.server_ca"), path)? {
            roots.add(ca).map_err(|err| {
                ConfigError::invalid(format!("{key}.server_ca"), format!("{}: {err}", path.display()))
            })?;
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|err| ConfigError::invalid(key, err.to_string()))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, private_key)
        .map_err(|err| ConfigError::invalid(format!("{key}.client_key"), format!("does not fit client_cert: {err}")))?;
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .connect_timeout(Duration::from_secs(timeout_secs))
        .timeout(Duration::from_secs(timeout_secs))
        .user_agent(concat!("rspd/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| ConfigError::invalid(key, format!("HTTP client: {err}")))
}

/// POSTs one event; `Err` carries a one-line reason (no secrets: URL, status, TLS/IO cause).
async fn call(endpoint: &Endpoint, entry: &OutboxEntry) -> Result<(), String> {
    let body = request_body(&endpoint.requester, entry);
    let response = endpoint
        .client
        .post(&endpoint.url)
        .header("Content-Type", "application/json;charset=UTF-8")
        .header("X-Admin-Protocol", ADMIN_PROTOCOL)
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| error_chain(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {} from {}", status.as_u16(), endpoint.url));
    }
    // A 200 with a JSON header may carry the operator's own refusal: it was received, retrying changes nothing.
    if let Ok(text) = response.text().await {
        if let Ok(answer) = serde_json::from_str::<Value>(&text) {
            let execution = &answer["header"]["functionExecutionStatus"];
            if execution["status"].as_str() == Some("Failed") {
                tracing::warn!(operator = %entry.event.operator_id, iccid = %pii(&entry.event.iccid), outbox = entry.id,
                    subject = %execution["statusCodeData"]["subjectCode"], reason = %execution["statusCodeData"]["reasonCode"],
                    "the operator answered HandleDownloadProgressInfo with Failed; not retried");
            }
        }
    }
    Ok(())
}

/// The error and its causes on one line (the TLS or IO reason is in the sources).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The request body of §5.3.5 in the JSON binding.
pub fn request_body(requester: &str, entry: &OutboxEntry) -> Value {
    let event = &entry.event;
    let mut body = Map::new();
    body.insert(
        "header".into(),
        json!({
            "functionRequesterIdentifier": requester,
            "functionCallIdentifier": format!("rspd-progress-{}", entry.id),
        }),
    );
    if let Some(eid) = &event.eid {
        body.insert("eid".into(), json!(eid));
    }
    body.insert("iccid".into(), json!(es2_iccid(&event.iccid)));
    body.insert("profileType".into(), json!(entry.profile_type));
    body.insert("timestamp".into(), json!(w3c_timestamp(event.timestamp_ms)));
    body.insert("notificationPointId".into(), json!(event.point.id()));
    let mut status = Map::new();
    status.insert("status".into(), json!(event.status.status()));
    if let PointStatus::Failed { subject_code, reason_code, message }
    | PointStatus::Expired { subject_code, reason_code, message } = &event.status
    {
        status.insert(
            "statusCodeData".into(),
            json!({ "subjectCode": subject_code, "reasonCode": reason_code, "message": message }),
        );
    }
    body.insert("notificationPointStatus".into(), Value::Object(status));
    if let Some(result_data) = &event.result_data {
        body.insert("resultData".into(), json!(result_data));
    }
    Value::Object(body)
}

/// ES2+ ICCIDs are 20 characters: a 19-digit ICCID is padded with `F` (INTEROP.md).
fn es2_iccid(iccid: &str) -> String {
    if iccid.len() == 19 {
        format!("{iccid}F")
    } else {
        iccid.to_owned()
    }
}

/// `YYYY-MM-DDThh:mm:ssZ` (§5.3.5: W3C date/time, e.g. `2001-12-17T09:30:47Z`).
fn w3c_timestamp(unix_ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix_ms.div_euclid(1000)).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smdp::progress::{NotificationPoint, ProgressEvent};

    #[test]
    fn body_has_the_spec_fields() {
        let mut event = ProgressEvent::new(
            "acme",
            "8988239000001000017",
            Some("89049032123451234512345678901235"),
            NotificationPoint::ConfirmationFailure,
            PointStatus::failed(("8.2.7", "6.4"), "blocked"),
            "cc:1".into(),
        );
        event.timestamp_ms = 1_008_581_447_000;
        let entry = OutboxEntry { id: 7, profile_type: "iot".into(), event, attempts: 0 };
        let body = request_body("rspd", &entry);
        assert_eq!(body["header"]["functionCallIdentifier"], "rspd-progress-7");
        assert_eq!(body["iccid"], "8988239000001000017F");
        assert_eq!(body["timestamp"], "2001-12-17T09:30:47Z");
        assert_eq!(body["notificationPointId"], 2);
        assert_eq!(body["notificationPointStatus"]["status"], "Failed");
        assert_eq!(body["notificationPointStatus"]["statusCodeData"]["reasonCode"], "6.4");
        assert!(body.get("resultData").is_none());
    }
}
