//! Fleet API, audit side: `GET /api/v1/audit` (the caller's audit trail) and `GET /api/v1/events`, a
//! Server-Sent-Events stream of the caller's state changes.
//!
//! The stream is stateless across nodes: it tails the audit trail's state rows by `seq` from the database with a
//! short poll, so a change made through any node reaches every subscriber. `seq` is the SSE event id; a client
//! resumes after a reconnect with the `Last-Event-ID` header (or `?lastEventId=`). Without one the stream starts
//! at the present. A comment line is sent every [`KEEPALIVE`] so proxies keep the connection open.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::fleet::{blocking, next_cursor, FleetError, Params};
use super::identity::OperatorIdentity;
use crate::audit::{AuditKind, AuditRecord};
use crate::store::{AuditQuery, Store, StoreError};

/// How often the events stream looks for new state rows.
pub const POLL: Duration = Duration::from_millis(500);
/// How often the events stream sends a keepalive comment when idle.
pub const KEEPALIVE: Duration = Duration::from_secs(15);
/// State rows read per poll.
const EVENTS_BATCH: i64 = 200;
/// At most this many history rows are returned with a profile or order.
const HISTORY_LIMIT: i64 = 1000;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/audit", web::get().to(list_audit)).route("/api/v1/events", web::get().to(events));
}

/// A state change as the fleet API shows it (history entries and SSE `data`).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateChange {
    pub seq: i64,
    pub at_ms: i64,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub iccid: Option<String>,
    pub eid: Option<String>,
    pub matching_id: Option<String>,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
}

impl From<AuditRecord> for StateChange {
    fn from(r: AuditRecord) -> Self {
        StateChange {
            seq: r.seq,
            at_ms: r.at_ms,
            target_kind: r.target_kind,
            target_id: r.target_id,
            iccid: r.iccid,
            eid: r.eid,
            matching_id: r.matching_id,
            from_state: r.from_state,
            to_state: r.to_state,
        }
    }
}

/// State history of a profile (`kind = "profile"`, key = ICCID) or an order (`kind = "order"`, key = matchingId:
/// the order's creation, its profile's transitions while it was current, its download sessions).
pub(crate) fn history(store: &Store, operator: &str, kind: &str, key: &str) -> Result<Vec<StateChange>, StoreError> {
    let q = AuditQuery {
        operator_id: operator.to_owned(),
        kind: Some(AuditKind::State),
        target: Some(key.to_owned()),
        target_kind: (kind == "profile").then(|| "profile".to_owned()),
        limit: HISTORY_LIMIT,
        ..AuditQuery::default()
    };
    Ok(store.audit_query(&q)?.into_iter().map(StateChange::from).collect())
}

/// `GET /api/v1/audit?from=&to=&actor=&target=&kind=&cursor=&limit=`.
async fn list_audit(
    identity: OperatorIdentity,
    store: web::Data<Store>,
    req: HttpRequest,
) -> Result<HttpResponse, FleetError> {
    let p = Params::parse(req.query_string(), &["from", "to", "actor", "target", "kind", "cursor", "limit"])?;
    let kind = match p.text("kind").as_deref() {
        None => None,
        Some("call") => Some(AuditKind::Call),
        Some("state") => Some(AuditKind::State),
        Some(_) => return Err(FleetError::BadRequest("kind must be `call` or `state`".into())),
    };
    let limit = p.limit()?;
    let q = AuditQuery {
        operator_id: identity.operator_id,
        kind,
        from_ms: p.millis("from")?,
        to_ms: p.millis("to")?,
        actor: p.text("actor"),
        target: p.text("target"),
        target_kind: None,
        after_seq: Some(p.cursor()?),
        limit,
    };
    let items = blocking(move || store.audit_query(&q)).await?;
    let next = next_cursor(items.len(), limit, items.last().map(|r| r.seq));
    Ok(HttpResponse::Ok().json(json!({ "items": items, "nextCursor": next })))
}

/// Where the stream starts: after `Last-Event-ID` / `lastEventId`, or at the chain head (only new events).
fn resume_point(req: &HttpRequest, p: &Params) -> Result<Option<i64>, FleetError> {
    let given = req
        .headers()
        .get("Last-Event-ID")
        .map(|v| v.to_str().map(str::to_owned).unwrap_or_default())
        .or_else(|| p.text("lastEventId"));
    given
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| FleetError::BadRequest("bad Last-Event-ID (pass back an event id)".into()))
        })
        .transpose()
}

struct Tail {
    store: web::Data<Store>,
    operator: String,
    after: i64,
    pending: VecDeque<StateChange>,
    last_sent: Instant,
    polled: bool,
}

fn sse_event(e: &StateChange) -> web::Bytes {
    let data = serde_json::to_string(e).unwrap_or_else(|_| "{}".to_owned());
    web::Bytes::from(format!("id: {}\nevent: state\ndata: {data}\n\n", e.seq))
}

/// `GET /api/v1/events`: `text/event-stream` of the caller's state changes.
async fn events(
    identity: OperatorIdentity,
    store: web::Data<Store>,
    req: HttpRequest,
) -> Result<HttpResponse, FleetError> {
    let p = Params::parse(req.query_string(), &["lastEventId"])?;
    let after = match resume_point(&req, &p)? {
        Some(after) => after,
        None => {
            let s = store.clone();
            blocking(move || s.audit_head()).await?.seq
        }
    };
    let tail = Tail {
        store,
        operator: identity.operator_id,
        after,
        pending: VecDeque::new(),
        last_sent: Instant::now(),
        polled: false,
    };
    let opening =
        futures_util::stream::once(async { Ok::<_, actix_web::Error>(web::Bytes::from_static(b"retry: 2000\n\n")) });
    let stream = futures_util::stream::unfold(tail, |mut t| async move {
        loop {
            if let Some(e) = t.pending.pop_front() {
                t.last_sent = Instant::now();
                return Some((Ok::<_, actix_web::Error>(sse_event(&e)), t));
            }
            if t.last_sent.elapsed() >= KEEPALIVE {
                t.last_sent = Instant::now();
                return Some((Ok(web::Bytes::from_static(b": keepalive\n\n")), t));
            }
            if t.polled {
                actix_web::rt::time::sleep(POLL).await;
            }
            t.polled = true;
            let q = AuditQuery {
                operator_id: t.operator.clone(),
                kind: Some(AuditKind::State),
                after_seq: Some(t.after),
                limit: EVENTS_BATCH,
                ..AuditQuery::default()
            };
            let store = t.store.clone();
            match web::block(move || store.audit_query(&q)).await {
                Ok(Ok(rows)) => {
                    if let Some(last) = rows.last() {
                        t.after = last.seq;
                    }
                    t.pending.extend(rows.into_iter().map(StateChange::from));
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "events stream: store error, retrying"),
                Err(e) => tracing::warn!(error = %e, "events stream: store error, retrying"),
            }
        }
    });
    use futures_util::StreamExt;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/event-stream"))
        .insert_header((CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(opening.chain(stream)))
}
