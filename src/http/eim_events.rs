//! `GET /api/v1/eim/events`: the operator's live eIM stream as Server-Sent Events (see
//! [`crate::eim::events`]): `event: step` when a step's package changes state (queued, dispatched,
//! succeeded, failed, expired — SGP.32 v1.2 §2.11.2.1), `event: order` when an order changes (created,
//! released, next step, finished). Each event's `id` is a cursor: reconnect with `Last-Event-ID` to resume.
//! Only the caller's operator's orders are streamed. A comment line keeps idle connections open.

use std::collections::VecDeque;
use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::esipa::EimService;
use super::identity::OperatorIdentity;
use crate::eim::events::{EventCursor, EventSource};
use crate::eim::EimError;

/// How often the tables are read for changes.
const POLL: Duration = Duration::from_millis(250);
/// Idle polls between two keep-alive comments (about 15 s).
const KEEPALIVE_POLLS: u32 = 60;
/// Most rows read per poll and kind.
const BATCH: i64 = 500;

struct Stream {
    svc: web::Data<EimService>,
    operator_id: String,
    cursor: EventCursor,
    pending: VecDeque<Bytes>,
    idle: u32,
    first: bool,
}

fn frame(cursor: &EventCursor, event: &str, data: &serde_json::Value) -> Bytes {
    Bytes::from(format!("id: {cursor}\nevent: {event}\ndata: {data}\n\n"))
}

/// Reads what changed after `cursor`: the frames and the new cursor.
fn poll(svc: &EimService, operator_id: &str, mut cursor: EventCursor) -> Result<(Vec<Bytes>, EventCursor), EimError> {
    let mut frames = Vec::new();
    for s in svc.store.step_events(operator_id, cursor.step, BATCH)? {
        cursor.step = (s.package.updated_at, s.package.id);
        let data = json!({
            "orderId": s.order_id, "campaignId": s.campaign_id, "eid": s.package.eid, "step": s.step_index,
            "kind": s.kind, "state": s.package.state.as_str(), "counterValue": s.package.counter_value,
            "failureReason": s.package.failure_reason, "at": s.package.updated_at,
        });
        frames.push(frame(&cursor, "step", &data));
    }
    for (o, package) in svc.store.order_events(operator_id, cursor.order, BATCH)? {
        cursor.order = (o.updated_at, o.id);
        let data = json!({
            "orderId": o.id, "campaignId": o.campaign_id, "eid": o.eid, "state": o.shown_state(package),
            "currentStep": o.current_step, "stepCount": o.step_count, "failureReason": o.failure_reason,
            "at": o.updated_at,
        });
        frames.push(frame(&cursor, "order", &data));
    }
    Ok((frames, cursor))
}

pub async fn events(identity: OperatorIdentity, req: HttpRequest, svc: web::Data<EimService>) -> HttpResponse {
    let resume = match req.headers().get("last-event-id").map(|v| v.to_str().ok().and_then(EventCursor::parse)) {
        Some(None) => {
            return HttpResponse::BadRequest()
                .json(json!({ "error": "Last-Event-ID is not an event id of this stream" }))
        }
        Some(Some(c)) => Some(c),
        None => None,
    };
    let cursor = match resume {
        Some(c) => c,
        None => {
            let (svc, op) = (svc.clone(), identity.operator_id.clone());
            match web::block(move || svc.store.event_head(&op)).await {
                Ok(Ok(c)) => c,
                _ => {
                    return HttpResponse::ServiceUnavailable()
                        .json(json!({ "error": "the eIM store is unavailable; try again" }))
                }
            }
        }
    };
    let state = Stream {
        svc,
        operator_id: identity.operator_id,
        cursor,
        pending: VecDeque::from([Bytes::from_static(b": eIM events\n\n")]),
        idle: 0,
        first: true,
    };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(b) = st.pending.pop_front() {
                return Some((Ok::<_, actix_web::Error>(b), st));
            }
            if !st.first {
                tokio::time::sleep(POLL).await;
            }
            st.first = false;
            let (svc, op, cursor) = (st.svc.clone(), st.operator_id.clone(), st.cursor);
            match web::block(move || poll(&svc, &op, cursor)).await {
                Ok(Ok((frames, cursor))) => {
                    st.cursor = cursor;
                    st.pending.extend(frames);
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "eIM event stream: read failed; retrying"),
                Err(e) => tracing::warn!(error = %e, "eIM event stream: not read; retrying"),
            }
            if st.pending.is_empty() {
                st.idle += 1;
                if st.idle >= KEEPALIVE_POLLS {
                    st.idle = 0;
                    st.pending.push_back(Bytes::from_static(b": keep-alive\n\n"));
                }
            } else {
                st.idle = 0;
            }
        }
    });
    HttpResponse::Ok().content_type("text/event-stream").insert_header(("Cache-Control", "no-cache")).streaming(stream)
}
