//! The abuse limits of the listeners (issue 10 items 4 and 5), configured in `[limits]` (`crate::config::LimitsConfig`):
//!
//! - [`enforce`] (middleware): the per-source-address rate of the device listener (ES9+ SGP.22 v2.5 §5.6, ESipa
//!   SGP.32 v1.2 §5.14) → HTTP 429 with `Retry-After`; the request-body deadline of every listener → HTTP 408 and
//!   the connection closed (a body trickled one byte at a time no longer holds a connection open).
//! - [`ConnectionTracker`]: open connections per listener (gauge `rspd_connections_open`), counted when a listener
//!   reaches its cap (actix then stops accepting until one closes).
//! - [`overload_response`] / [`rate_limited`]: the 429/503 answers of refusals decided deeper down (per-EID rate in
//!   AuthenticateClient and GetEimPackage, the cap on sessions without an order). They carry their [`Refusal`] in
//!   the response extensions, and [`enforce`] counts them.
//!
//! Every refusal is counted in `rspd_refused_total{listener,reason}` with a [`Refusal`] reason and logged at debug
//! only (a flood must not grow the log either) — except a request head not sent within `limits.header_timeout_ms`,
//! which actix answers (408) and closes before any app code runs.
//!
//! The source address is the TCP peer. Behind a load balancer that is the balancer, so every device shares one
//! limit: list the balancer in `limits.trusted_proxies` and its `X-Forwarded-For` names the client (the right-most
//! entry that is not itself a trusted proxy). IPv6 clients are counted per /64 (one subscriber's prefix).
//!
//! The rate limits are kept in process: each node counts on its own.

use std::cell::Cell;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Extensions, Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpResponse};
use futures_util::Stream;

use super::metrics::{ListenerName, Metrics};
use crate::rate_limit::{retry_after_secs, KeyedLimiter};
use crate::smdp::es9::Es9Error;

/// Why a request or connection was refused: the `reason` label of `rspd_refused_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Over `limits.source_requests_per_sec` (HTTP 429).
    SourceRate,
    /// Over `limits.eid_requests_per_min` (HTTP 429).
    EidRate,
    /// `limits.max_open_sessions` sessions without an order exist (HTTP 503).
    OpenSessions,
    /// The body did not arrive within the listener's body timeout (HTTP 408, connection closed).
    BodyTimeout,
    /// The listener reached its connection cap (counted once per connection that reaches it).
    ConnectionLimit,
    /// A body larger than the route's limit (HTTP 413; operator uploads: `limits.operator_max_body_bytes`).
    BodyTooLarge,
}

impl Refusal {
    pub const ALL: [Refusal; 6] = [
        Refusal::SourceRate,
        Refusal::EidRate,
        Refusal::OpenSessions,
        Refusal::BodyTimeout,
        Refusal::ConnectionLimit,
        Refusal::BodyTooLarge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::SourceRate => "source_rate",
            Refusal::EidRate => "eid_rate",
            Refusal::OpenSessions => "open_sessions",
            Refusal::BodyTimeout => "body_timeout",
            Refusal::ConnectionLimit => "connection_limit",
            Refusal::BodyTooLarge => "body_too_large",
        }
    }
}

/// The limits one listener's app applies in [`enforce`] (app data).
#[derive(Clone)]
pub struct ListenerLimits {
    /// Per source address (device listener); `None`: off.
    pub source_rate: Option<Arc<KeyedLimiter<IpAddr>>>,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<Vec<IpAddr>>,
    /// Time allowed for the whole request body, from the end of the head.
    pub body_timeout: Duration,
}

/// Middleware: the source-address rate (before anything is read or stored) and the body deadline.
pub async fn enforce(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(limits) = req.app_data::<ListenerLimits>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let listener = req.app_data::<ListenerName>().map(|l| l.0).unwrap_or("unknown");
    let metrics = req.app_data::<actix_web::web::Data<Metrics>>().cloned();
    let count = |reason: Refusal| {
        if let Some(m) = &metrics {
            m.refused(listener, reason.as_str()).inc();
        }
    };

    let probe = matches!(req.path(), "/healthz" | "/readyz");
    if let (Some(limiter), false) = (&limits.source_rate, probe) {
        let source = req.peer_addr().map(|peer| source_key(client_ip(peer.ip(), &req, &limits.trusted_proxies)));
        if let Some(source) = source {
            if let Err(wait) = limiter.check(&source) {
                count(Refusal::SourceRate);
                let asn1 = req.path().starts_with("/gsma/rsp2/asn1");
                let response = refusal_response(
                    Refusal::SourceRate,
                    StatusCode::TOO_MANY_REQUESTS,
                    retry_after_secs(wait),
                    "too many requests from this address",
                    asn1,
                );
                return Ok(req.into_response(response));
            }
        }
    }

    let timed_out = Rc::new(Cell::new(false));
    let payload = req.take_payload();
    let deadline = BodyDeadline {
        inner: payload,
        sleep: Box::pin(tokio::time::sleep(limits.body_timeout)),
        timed_out: timed_out.clone(),
        finished: false,
    };
    let boxed: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(deadline);
    req.set_payload(Payload::from(boxed));
    let res = next.call(req).await?.map_into_boxed_body();
    if !timed_out.get() {
        // A refusal decided by a handler (per-EID rate, open-session cap).
        if let Some(reason) = res.response().extensions().get::<Refusal>().copied() {
            count(reason);
        } else if res.status() == StatusCode::PAYLOAD_TOO_LARGE {
            count(Refusal::BodyTooLarge);
        }
        return Ok(res);
    }
    count(Refusal::BodyTimeout);
    tracing::debug!(listener, path = %res.request().path(), "request body not received in time: connection closed");
    // The SourceRate counter above already ran for a refused request; nothing else counts a body timeout.
    let mut response = HttpResponse::RequestTimeout()
        .insert_header((CONTENT_TYPE, "application/json"))
        .body(serde_json::json!({ "error": "request body not received in time" }).to_string());
    response.head_mut().set_connection_type(ConnectionType::Close);
    let (http_req, _) = res.into_parts();
    Ok(ServiceResponse::new(http_req, response))
}

/// The request body, cut off with an error once the deadline passes.
struct BodyDeadline {
    inner: Payload,
    sleep: Pin<Box<tokio::time::Sleep>>,
    timed_out: Rc<Cell<bool>>,
    finished: bool,
}

impl Stream for BodyDeadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut this.inner).poll_next(cx) {
            if item.is_none() {
                this.finished = true;
            }
            return Poll::Ready(item);
        }
        if this.sleep.as_mut().poll(cx).is_ready() {
            this.finished = true;
            this.timed_out.set(true);
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "request body not received in time",
            )))));
        }
        Poll::Pending
    }
}

/// The client: the peer, or — when the peer is a trusted proxy — the right-most `X-Forwarded-For` entry that is
/// not a trusted proxy (entries further left are the client's own claims). An unparsable entry stops the walk.
fn client_ip(peer: IpAddr, req: &ServiceRequest, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let entries: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        let Ok(ip) = entry.parse::<IpAddr>() else { break };
        client = ip;
        if !trusted.contains(&ip) {
            break;
        }
    }
    client
}

/// The rate-limit key of an address: IPv4 as is (also when mapped into IPv6), IPv6 by its /64 prefix.
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

/// A 429/503 with `Retry-After`: JSON `{"error": …}`, or text for the ESipa ASN.1 binding; `reason` rides in the
/// response extensions for [`enforce`] to count.
fn refusal_response(
    reason: Refusal,
    status: StatusCode,
    retry_after_secs: u64,
    what: &str,
    asn1: bool,
) -> HttpResponse {
    let message = format!("{what}: retry after {retry_after_secs} s");
    let mut builder = HttpResponse::build(status);
    builder.insert_header((RETRY_AFTER, HeaderValue::from(retry_after_secs)));
    builder.insert_header(("X-Admin-Protocol", super::binding::ADMIN_PROTOCOL));
    let mut response = if asn1 {
        builder.content_type("text/plain").body(message)
    } else {
        builder
            .insert_header((CONTENT_TYPE, "application/json"))
            .body(serde_json::json!({ "error": message }).to_string())
    };
    response.extensions_mut().insert(reason);
    response
}

/// HTTP 429 for a per-EID refusal decided in a binding (ESipa GetEimPackage).
pub fn rate_limited(wait: Duration, asn1: bool) -> HttpResponse {
    tracing::debug!("request refused: limits.eid_requests_per_min reached for this EID");
    refusal_response(
        Refusal::EidRate,
        StatusCode::TOO_MANY_REQUESTS,
        retry_after_secs(wait),
        "too many requests for this eUICC",
        asn1,
    )
}

/// The HTTP answer of an ES9+ refusal that is not a function failure: 429 for the per-EID rate, 503 for the
/// open-session cap. `None` for every other error.
pub fn overload_response(e: &Es9Error, asn1: bool) -> Option<HttpResponse> {
    match e {
        Es9Error::RateLimited { retry_after_secs } => {
            tracing::debug!("AuthenticateClient refused: limits.eid_requests_per_min reached for this EID");
            Some(refusal_response(
                Refusal::EidRate,
                StatusCode::TOO_MANY_REQUESTS,
                *retry_after_secs,
                "too many requests for this eUICC",
                asn1,
            ))
        }
        Es9Error::Busy { retry_after_secs } => {
            tracing::debug!(
                "InitiateAuthentication refused: limits.max_open_sessions reached (counted in rspd_refused_total)"
            );
            Some(refusal_response(
                Refusal::OpenSessions,
                StatusCode::SERVICE_UNAVAILABLE,
                *retry_after_secs,
                "too many open download sessions",
                asn1,
            ))
        }
        _ => None,
    }
}

/// Counts one listener's open connections (`on_connect`); see the module docs.
#[derive(Clone)]
pub struct ConnectionTracker(Arc<TrackerInner>);

struct TrackerInner {
    open: AtomicUsize,
    max: usize,
    gauge: prometheus::IntGauge,
    at_cap: prometheus::IntCounter,
}

/// Lives in the connection's extensions: dropped when the connection closes.
struct OpenConnection(Arc<TrackerInner>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
        self.0.gauge.dec();
    }
}

impl ConnectionTracker {
    pub fn new(metrics: &Metrics, listener: &str, max: usize) -> ConnectionTracker {
        ConnectionTracker(Arc::new(TrackerInner {
            open: AtomicUsize::new(0),
            max,
            gauge: metrics.connections_open(listener),
            at_cap: metrics.refused(listener, Refusal::ConnectionLimit.as_str()),
        }))
    }

    /// Call from `HttpServer::on_connect`.
    pub fn on_connect(&self, extensions: &mut Extensions) {
        let open = self.0.open.fetch_add(1, Ordering::Relaxed) + 1;
        self.0.gauge.inc();
        if open >= self.0.max {
            self.0.at_cap.inc();
            tracing::debug!(open, max = self.0.max, "listener at its connection cap: new connections wait");
        }
        extensions.insert(OpenConnection(self.0.clone()));
    }
}

/// actix applies `max_connections` per worker thread: the listener's cap split over its workers (at least 1 each).
pub fn per_worker(total: usize, workers: usize) -> usize {
    total.div_ceil(workers.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn ipv6_sources_count_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(source_key(a), source_key(b));
        assert_ne!(source_key(a), source_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(source_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn forwarded_for_is_believed_from_trusted_proxies_only() {
        let lb: IpAddr = "10.0.0.1".parse().unwrap();
        let inner_lb: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = [lb, inner_lb];
        let req = TestRequest::default()
            .insert_header(("X-Forwarded-For", "6.6.6.6, 198.51.100.9, 10.0.0.2"))
            .to_srv_request();
        // From the balancer: the right-most untrusted entry (the client's own "6.6.6.6" claim is ignored).
        assert_eq!(client_ip(lb, &req, &trusted), "198.51.100.9".parse::<IpAddr>().unwrap());
        // From anyone else: the peer.
        let stranger: IpAddr = "203.0.113.5".parse().unwrap();
        assert_eq!(client_ip(stranger, &req, &trusted), stranger);
        // Garbage stops the walk at the last good hop.
        let req = TestRequest::default().insert_header(("X-Forwarded-For", "not-an-ip")).to_srv_request();
        assert_eq!(client_ip(lb, &req, &trusted), lb);
    }

    #[test]
    fn connection_caps_are_split_over_workers() {
        assert_eq!(per_worker(10_000, 4), 2_500);
        assert_eq!(per_worker(10, 4), 3);
        assert_eq!(per_worker(1, 8), 1);
        assert_eq!(per_worker(5, 0), 5);
    }
}
