//! Fleet API, inventory side: `GET /api/v1/profiles[/{iccid}]`, `GET /api/v1/orders[/{id}]` (one operator's profiles
//! and ES2+ orders, each with its state history) and `GET /api/v1/openapi.json`.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::audit::history;
use super::query::{blocking, next_cursor, FleetError, Params};
use super::OPENAPI_JSON;
use crate::fleet::{FleetOrder, FleetRepository, OrderFilter, ProfileFilter};
use crate::http::identity::OperatorIdentity;
use crate::http::operator::opaque_ids::{IdKind, OpaqueIds};

/// An ES2+ order as the fleet API shows it: its id opaque.
fn order_json(ids: &OpaqueIds, order: &FleetOrder) -> Value {
    let mut v = serde_json::to_value(order).unwrap_or_default();
    v["id"] = json!(ids.encode(IdKind::Es2Order, order.id));
    v
}

/// `GET /api/v1/profiles?state=&profileType=&iccid=&eid=&cursor=&limit=`.
pub(super) async fn list_profiles(
    identity: OperatorIdentity,
    store: web::Data<dyn FleetRepository>,
    ids: web::Data<OpaqueIds>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, FleetError> {
    let p = Params::parse(req.query_string(), &["state", "profileType", "iccid", "eid", "cursor", "limit"])?;
    let filter = ProfileFilter {
        state: p.state()?,
        profile_type: p.text("profileType"),
        iccid: p.text("iccid"),
        eid: p.text("eid"),
    };
    let (after, limit) = (p.cursor(&ids, IdKind::Profile)?, p.limit()?);
    let operator = identity.operator_id;
    let items = blocking(move || store.fleet_profiles(&operator, &filter, after, limit)).await?;
    let next = next_cursor(&ids, IdKind::Profile, items.len(), limit, items.last().map(|p| p.id));
    Ok(HttpResponse::Ok().json(json!({ "items": items, "nextCursor": next })))
}

/// `GET /api/v1/profiles/{iccid}`: the profile and its state history.
pub(super) async fn get_profile(
    identity: OperatorIdentity,
    store: web::Data<dyn FleetRepository>,
    ids: web::Data<OpaqueIds>,
    path: web::Path<String>,
) -> Result<HttpResponse, FleetError> {
    let iccid = path.into_inner();
    let operator = identity.operator_id;
    let (profile, history) = blocking(move || {
        let Some(profile) = store.fleet_profile(&operator, &iccid)? else { return Ok((None, Vec::new())) };
        let history = history(&**store, &ids, &operator, "profile", &iccid)?;
        Ok((Some(profile), history))
    })
    .await?;
    let profile = profile.ok_or(FleetError::NotFound("profile"))?;
    Ok(HttpResponse::Ok().json(json!({ "profile": profile, "history": history })))
}

/// `GET /api/v1/orders?state=&matchingId=&iccid=&eid=&cursor=&limit=`.
pub(super) async fn list_orders(
    identity: OperatorIdentity,
    store: web::Data<dyn FleetRepository>,
    ids: web::Data<OpaqueIds>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, FleetError> {
    let p = Params::parse(req.query_string(), &["state", "matchingId", "iccid", "eid", "cursor", "limit"])?;
    let filter = OrderFilter {
        state: p.state()?,
        matching_id: p.text("matchingId"),
        iccid: p.text("iccid"),
        eid: p.text("eid"),
    };
    let (after, limit) = (p.cursor(&ids, IdKind::Es2Order)?, p.limit()?);
    let operator = identity.operator_id;
    let items = blocking(move || store.fleet_orders(&operator, &filter, after, limit)).await?;
    let next = next_cursor(&ids, IdKind::Es2Order, items.len(), limit, items.last().map(|o| o.id));
    let items: Vec<Value> = items.iter().map(|o| order_json(&ids, o)).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "nextCursor": next })))
}

/// `GET /api/v1/orders/{id}`: the order and its state history (its profile's transitions while it was the
/// profile's current order, its download sessions).
pub(super) async fn get_order(
    identity: OperatorIdentity,
    store: web::Data<dyn FleetRepository>,
    ids: web::Data<OpaqueIds>,
    path: web::Path<String>,
) -> Result<HttpResponse, FleetError> {
    // A malformed or foreign token cannot name any order: it answers like an unknown one.
    let Some(id) = ids.decode(IdKind::Es2Order, &path.into_inner()) else { return Err(FleetError::NotFound("order")) };
    let operator = identity.operator_id;
    let history_ids = ids.clone();
    let (order, history) = blocking(move || {
        let Some(order) = store.fleet_order(&operator, id)? else { return Ok((None, Vec::new())) };
        let history = history(&**store, &history_ids, &operator, "order", &order.matching_id)?;
        Ok((Some(order), history))
    })
    .await?;
    let order = order.ok_or(FleetError::NotFound("order"))?;
    Ok(HttpResponse::Ok().json(json!({ "order": order_json(&ids, &order), "history": history })))
}

/// `GET /api/v1/openapi.json`.
pub(super) async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(OPENAPI_JSON)
}
