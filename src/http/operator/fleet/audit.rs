//! Fleet API, audit side: `GET /api/v1/audit` (the caller's audit trail) and `GET /api/v1/events`, a
//! Server-Sent-Events stream of the caller's state changes.
//!
//! The stream is stateless across nodes: it tails the audit trail's state rows by `seq` from the database with a
//! short poll, so a change made through any node reaches every subscriber. `seq` is the SSE event id; a client
//! resumes after a reconnect with the `Last-Event-ID` header (or `?lastEventId=`). Without one the stream starts
//! at the present. A comment line is sent every [`KEEPALIVE`] so proxies keep the connection open.
//!
//! `seq` and the numeric target ids (ES2+ and eIM orders, campaigns, packages) are global sequences: they are
//! shown as opaque tokens ([`crate::http::operator::opaque_ids`]), so one operator cannot count another's activity.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::query::{blocking, next_cursor, FleetError, Params};
use crate::audit::AuditQuery;
use crate::audit::{AuditKind, AuditRecord};
use crate::fleet::FleetRepository;
use crate::http::identity::OperatorIdentity;
use crate::http::operator::opaque_ids::{IdKind, OpaqueIds};
use crate::smdp::RepoError;

/// How often the events stream looks for new state rows.
pub const POLL: Duration = Duration::from_millis(500);
/// How often the events stream sends a keepalive comment when idle.
pub const KEEPALIVE: Duration = Duration::from_secs(15);
/// State rows read per poll.
const EVENTS_BATCH: i64 = 200;
/// At most this many history rows are returned with a profile or order.
const HISTORY_LIMIT: i64 = 1000;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/audit", web::get().to(list_audit))
        .route("/api/v1/audit/erasures", web::post().to(erase))
        .route("/api/v1/events", web::get().to(events));
}

/// A state change as the fleet API shows it (history entries and SSE `data`).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateChange {
    /// The audit `seq`, opaque.
    pub seq: String,
    pub at_ms: i64,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub iccid: Option<String>,
    pub eid: Option<String>,
    pub matching_id: Option<String>,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
}

/// The id kind of a numeric `target_id` of `target_kind`; `None` where the target id is not a sequence number
/// (ICCID, transactionId).
fn target_id_kind(target_kind: Option<&str>) -> Option<IdKind> {
    match target_kind? {
        "order" => Some(IdKind::Es2Order),
        "eim_order" => Some(IdKind::EimOrder),
        "eim_campaign" => Some(IdKind::Campaign),
        "eim_package" => Some(IdKind::EimPackage),
        _ => None,
    }
}

/// A target id as the operator sees it.
fn shown_target_id(ids: &OpaqueIds, target_kind: Option<&str>, target_id: Option<String>) -> Option<String> {
    match (target_id_kind(target_kind), target_id) {
        (Some(kind), Some(id)) => Some(id.parse::<i64>().map(|n| ids.encode(kind, n)).unwrap_or(id)),
        (_, id) => id,
    }
}

/// A `?target=` as stored: an opaque order, campaign or package id becomes its number; anything else (ICCID,
/// EID, matchingId, transactionId) stays as given.
fn stored_target(ids: &OpaqueIds, target: String) -> String {
    [IdKind::Es2Order, IdKind::EimOrder, IdKind::Campaign, IdKind::EimPackage]
        .into_iter()
        .find_map(|kind| ids.decode(kind, &target))
        .map(|n| n.to_string())
        .unwrap_or(target)
}

/// An audit row as the operator API shows it: `seq` and numeric target ids opaque.
fn audit_json(ids: &OpaqueIds, r: AuditRecord) -> serde_json::Value {
    let seq = ids.encode(IdKind::AuditEvent, r.seq);
    let target_id = shown_target_id(ids, r.target_kind.as_deref(), r.target_id.clone());
    let mut v = serde_json::to_value(r).unwrap_or_default();
    v["seq"] = json!(seq);
    v["targetId"] = json!(target_id);
    v
}

impl StateChange {
    pub fn new(r: AuditRecord, ids: &OpaqueIds) -> Self {
        StateChange {
            seq: ids.encode(IdKind::AuditEvent, r.seq),
            at_ms: r.at_ms,
            target_id: shown_target_id(ids, r.target_kind.as_deref(), r.target_id),
            target_kind: r.target_kind,
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
pub(crate) fn history(
    store: &dyn FleetRepository,
    ids: &OpaqueIds,
    operator: &str,
    kind: &str,
    key: &str,
) -> Result<Vec<StateChange>, RepoError> {
    let q = AuditQuery {
        operator_id: operator.to_owned(),
        kind: Some(AuditKind::State),
        target: Some(key.to_owned()),
        target_kind: (kind == "profile").then(|| "profile".to_owned()),
        limit: HISTORY_LIMIT,
        ..AuditQuery::default()
    };
    Ok(store.audit_query(&q)?.into_iter().map(|r| StateChange::new(r, ids)).collect())
}

/// `GET /api/v1/audit?from=&to=&actor=&target=&kind=&cursor=&limit=`.
async fn list_audit(
    identity: OperatorIdentity,
    store: web::Data<dyn FleetRepository>,
    ids: web::Data<OpaqueIds>,
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
        target: p.text("target").map(|t| stored_target(&ids, t)),
        target_kind: None,
        after_seq: Some(p.cursor(&ids, IdKind::AuditEvent)?),
        limit,
    };
    let items = blocking(move || store.audit_query(&q)).await?;
    let next = next_cursor(&ids, IdKind::AuditEvent, items.len(), limit, items.last().map(|r| r.seq));
    let items: Vec<serde_json::Value> = items.into_iter().map(|r| audit_json(&ids, r)).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "nextCursor": next })))
}

/// `POST /api/v1/audit/erasures` with `{"identifier": "<ICCID, EID or matchingId>"}`: the caller's audit rows
/// that name it lose its clear value (GDPR); the chain, which holds only its keyed digest, stays verifiable. The
/// body key is deliberately not `iccid`/`eid`/`matchingId`, so the call's own audit row does not record it.
async fn erase(
    identity: OperatorIdentity,
    store: web::Data<dyn FleetRepository>,
    body: web::Bytes,
) -> Result<HttpResponse, FleetError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Erasure {
        identifier: String,
    }
    let request: Erasure = serde_json::from_slice(&body)
        .map_err(|e| FleetError::BadRequest(format!("request body: {e} (send {{\"identifier\": \"…\"}})")))?;
    let value = request.identifier.trim().to_owned();
    if value.is_empty() || value.len() > 64 {
        return Err(FleetError::BadRequest("identifier must be 1 to 64 characters".into()));
    }
    let operator = identity.operator_id;
    let now = crate::clock::unix_ms(time::OffsetDateTime::now_utc());
    let erased = blocking(move || store.erase_audit_identifier(Some(&operator), &value, now)).await?;
    Ok(HttpResponse::Ok().json(json!({ "erased": erased })))
}

/// Where the stream starts: after `Last-Event-ID` / `lastEventId` (an event id, or `0` for the whole trail), or at
/// the chain head (only new events).
fn resume_point(req: &HttpRequest, p: &Params, ids: &OpaqueIds) -> Result<Option<i64>, FleetError> {
    let given = req
        .headers()
        .get("Last-Event-ID")
        .map(|v| v.to_str().map(str::to_owned).unwrap_or_default())
        .or_else(|| p.text("lastEventId"));
    given
        .map(|v| {
            // `0` is "from the beginning of the caller's trail"; any other value is an event id given out before.
            let from_start = (v.trim() == "0").then_some(0);
            from_start
                .or_else(|| ids.decode(IdKind::AuditEvent, &v))
                .filter(|n| *n >= 0)
                .ok_or_else(|| FleetError::BadRequest("bad Last-Event-ID (pass back an event id)".into()))
        })
        .transpose()
}

struct Tail {
    store: web::Data<dyn FleetRepository>,
    ids: web::Data<OpaqueIds>,
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
    store: web::Data<dyn FleetRepository>,
    ids: web::Data<OpaqueIds>,
    req: HttpRequest,
) -> Result<HttpResponse, FleetError> {
    let p = Params::parse(req.query_string(), &["lastEventId"])?;
    let after = match resume_point(&req, &p, &ids)? {
        Some(after) => after,
        None => {
            let s = store.clone();
            blocking(move || s.audit_head_seq()).await?
        }
    };
    let tail = Tail {
        store,
        ids,
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
                    let ids = t.ids.clone();
                    t.pending.extend(rows.into_iter().map(|r| StateChange::new(r, &ids)));
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
