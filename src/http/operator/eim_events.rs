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

use crate::eim::esipa_service::EimService;
use crate::eim::events::EventCursor;
use crate::eim::EimError;
use crate::http::identity::OperatorIdentity;
use crate::http::operator::opaque_ids::{IdKind, OpaqueIds};

/// How often the tables are read for changes.
const POLL: Duration = Duration::from_millis(250);
/// Idle polls between two keep-alive comments (about 15 s).
const KEEPALIVE_POLLS: u32 = 60;
/// Most rows read per poll and kind.
const BATCH: i64 = 500;

struct Stream {
    svc: web::Data<EimService>,
    ids: web::Data<OpaqueIds>,
    operator_id: String,
    cursor: EventCursor,
    pending: VecDeque<Bytes>,
    idle: u32,
    first: bool,
}

/// The SSE id of a cursor: `o<at>-<order token>.s<at>-<package token>` (times in clear, ids opaque).
fn cursor_id(ids: &OpaqueIds, c: &EventCursor) -> String {
    format!(
        "o{}-{}.s{}-{}",
        c.order.0,
        ids.encode(IdKind::EimOrder, c.order.1),
        c.step.0,
        ids.encode(IdKind::EimPackage, c.step.1)
    )
}

/// The cursor behind a `Last-Event-ID`; `None` when it is not one of ours.
fn parse_cursor_id(ids: &OpaqueIds, text: &str) -> Option<EventCursor> {
    let (o, s) = text.trim().split_once('.')?;
    let pair = |t: &str, prefix: char, kind: IdKind| -> Option<(i64, i64)> {
        let (at, id) = t.strip_prefix(prefix)?.split_once('-')?;
        Some((at.parse().ok()?, ids.decode(kind, id)?))
    };
    Some(EventCursor { order: pair(o, 'o', IdKind::EimOrder)?, step: pair(s, 's', IdKind::EimPackage)? })
}

fn frame(ids: &OpaqueIds, cursor: &EventCursor, event: &str, data: &serde_json::Value) -> Bytes {
    Bytes::from(format!("id: {}\nevent: {event}\ndata: {data}\n\n", cursor_id(ids, cursor)))
}

/// Reads what changed after `cursor`: the frames and the new cursor.
fn poll(
    svc: &EimService,
    ids: &OpaqueIds,
    operator_id: &str,
    mut cursor: EventCursor,
) -> Result<(Vec<Bytes>, EventCursor), EimError> {
    let campaign = |c: Option<i64>| c.map(|c| ids.encode(IdKind::Campaign, c));
    let mut frames = Vec::new();
    for s in svc.repo.step_events(operator_id, cursor.step, BATCH)? {
        cursor.step = (s.package.updated_at, s.package.id);
        let data = json!({
            "orderId": ids.encode(IdKind::EimOrder, s.order_id), "campaignId": campaign(s.campaign_id),
            "eid": s.package.eid, "step": s.step_index,
            "kind": s.kind, "state": s.package.state.as_str(), "counterValue": s.package.counter_value,
            "failureReason": s.package.failure_reason, "at": s.package.updated_at,
        });
        frames.push(frame(ids, &cursor, "step", &data));
    }
    for (o, package) in svc.repo.order_events(operator_id, cursor.order, BATCH)? {
        cursor.order = (o.updated_at, o.id);
        let data = json!({
            "orderId": ids.encode(IdKind::EimOrder, o.id), "campaignId": campaign(o.campaign_id), "eid": o.eid,
            "state": o.shown_state(package),
            "currentStep": o.current_step, "stepCount": o.step_count, "failureReason": o.failure_reason,
            "at": o.updated_at,
        });
        frames.push(frame(ids, &cursor, "order", &data));
    }
    Ok((frames, cursor))
}

pub async fn events(
    identity: OperatorIdentity,
    req: HttpRequest,
    svc: web::Data<EimService>,
    ids: web::Data<OpaqueIds>,
) -> HttpResponse {
    let resume =
        match req.headers().get("last-event-id").map(|v| v.to_str().ok().and_then(|t| parse_cursor_id(&ids, t))) {
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
            match web::block(move || svc.repo.event_head(&op)).await {
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
        ids,
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
            let (svc, ids, op, cursor) = (st.svc.clone(), st.ids.clone(), st.operator_id.clone(), st.cursor);
            match web::block(move || poll(&svc, &ids, &op, cursor)).await {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_ids_round_trip_and_refuse_garbage() {
        let ids = OpaqueIds::new([3; 32]);
        let c = EventCursor { order: (1_700_000_000_000, 42), step: (1_700_000_000_001, 7) };
        let text = cursor_id(&ids, &c);
        assert!(!text.contains("-42.") && !text.ends_with("-7"), "ids are opaque: {text}");
        assert_eq!(parse_cursor_id(&ids, &text), Some(c));
        for bad in ["", "x", "o1-2", "o1-2.s3", "o1-2.sx-1", "s1-2.o3-4", "o1700000000000-42.s1700000000001-7"] {
            assert_eq!(parse_cursor_id(&ids, bad), None, "{bad}");
        }
    }
}
