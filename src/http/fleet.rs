//! The fleet API (issue 5 item 8) on the operator listener: REST JSON over one operator's profiles and orders with
//! their state history, the audit trail and a Server-Sent-Events stream of state changes; the OpenAPI document
//! (`schemas/openapi.json`) at `GET /api/v1/openapi.json`.
//!
//! Every query is scoped by the caller's [`OperatorIdentity`]: another operator's ICCID or order id answers exactly
//! like an unknown one (404 `{"error": …}`). Bad input (unknown parameter, bad filter, bad cursor, limit outside
//! 1..=[`MAX_LIMIT`]) is a 400 with `{"error": …}`, never a 500. Lists use keyset pagination: each page carries
//! `nextCursor` (opaque; `null` on the last page), passed back as `?cursor=`.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::fleet_audit::{self, history};
use super::identity::OperatorIdentity;
use super::opaque_ids::{IdKind, OpaqueIds};
use crate::smdp::ProfileState;
use crate::store::{FleetOrder, OrderFilter, ProfileFilter, Store, StoreError};

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// The largest page a client may ask for (`limit`).
pub const MAX_LIMIT: i64 = 500;

/// The OpenAPI 3.0 document of the operator listener.
pub const OPENAPI_JSON: &str = include_str!("../../schemas/openapi.json");

/// Fleet API routes (registered by [`super::operator::configure`]).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/profiles", web::get().to(list_profiles))
        .route("/api/v1/profiles/{iccid}", web::get().to(get_profile))
        .route("/api/v1/orders", web::get().to(list_orders))
        .route("/api/v1/orders/{id}", web::get().to(get_order))
        .route("/api/v1/openapi.json", web::get().to(openapi));
    fleet_audit::configure(cfg);
}

/// A fleet API failure: 400/404 with `{"error": …}`, 503 when the store is unavailable.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("{0}")]
    BadRequest(String),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("the store is unavailable")]
    Store(#[from] StoreError),
}

impl actix_web::ResponseError for FleetError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        use actix_web::http::StatusCode;
        match self {
            FleetError::BadRequest(_) => StatusCode::BAD_REQUEST,
            FleetError::NotFound(_) => StatusCode::NOT_FOUND,
            FleetError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let FleetError::Store(e) = self {
            tracing::error!(error = %e, "fleet API: store error");
        }
        HttpResponse::build(self.status_code()).json(json!({ "error": self.to_string() }))
    }
}

/// Query parameters, checked against the names an endpoint accepts.
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    pub(crate) fn parse(query: &str, allowed: &[&str]) -> Result<Params, FleetError> {
        let pairs: HashMap<String, String> = web::Query::<Vec<(String, String)>>::from_query(query)
            .map_err(|_| FleetError::BadRequest("malformed query string".into()))?
            .into_inner()
            .into_iter()
            .collect();
        if let Some(unknown) = pairs.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(FleetError::BadRequest(format!(
                "unknown query parameter `{}` (accepted: {})",
                unknown.chars().take(40).collect::<String>(),
                allowed.join(", ")
            )));
        }
        Ok(Params(pairs))
    }

    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    /// `limit`: 1..=MAX_LIMIT, default DEFAULT_LIMIT.
    pub(crate) fn limit(&self) -> Result<i64, FleetError> {
        match self.0.get("limit") {
            None => Ok(DEFAULT_LIMIT),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| FleetError::BadRequest(format!("limit must be an integer from 1 to {MAX_LIMIT}"))),
        }
    }

    /// `cursor`: the `nextCursor` of an earlier page (an opaque id of `kind`).
    pub(crate) fn cursor(&self, ids: &OpaqueIds, kind: IdKind) -> Result<i64, FleetError> {
        match self.0.get("cursor") {
            None => Ok(0),
            Some(v) => ids
                .decode(kind, v)
                .filter(|n| *n >= 0)
                .ok_or_else(|| FleetError::BadRequest("bad cursor (pass back a nextCursor value)".into())),
        }
    }

    /// An integer parameter (milliseconds since the Unix epoch).
    pub(crate) fn millis(&self, name: &str) -> Result<Option<i64>, FleetError> {
        self.0
            .get(name)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| FleetError::BadRequest(format!("{name} must be milliseconds since the Unix epoch")))
            })
            .transpose()
    }

    /// A profile/order `state` filter (the stable state names).
    fn state(&self) -> Result<Option<String>, FleetError> {
        match self.0.get("state") {
            None => Ok(None),
            Some(v) => v.parse::<ProfileState>().map(|s| Some(s.as_str().to_owned())).map_err(|_| {
                let names: Vec<&str> = ProfileState::ALL.iter().map(|s| s.as_str()).collect();
                FleetError::BadRequest(format!("unknown state (one of: {})", names.join(", ")))
            }),
        }
    }
}

/// Runs a store read off the actix worker.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, FleetError> {
    web::block(f)
        .await
        .map_err(|e| FleetError::Store(StoreError::Pool { url: String::new(), message: e.to_string() }))?
        .map_err(FleetError::from)
}

/// `nextCursor`: the last item's key, opaque, when the page is full.
pub(crate) fn next_cursor(ids: &OpaqueIds, kind: IdKind, len: usize, limit: i64, last: Option<i64>) -> Option<String> {
    (i64::try_from(len).unwrap_or(i64::MAX) >= limit).then_some(last).flatten().map(|k| ids.encode(kind, k))
}

/// An ES2+ order as the fleet API shows it: its id opaque.
fn order_json(ids: &OpaqueIds, order: &FleetOrder) -> Value {
    let mut v = serde_json::to_value(order).unwrap_or_default();
    v["id"] = json!(ids.encode(IdKind::Es2Order, order.id));
    v
}

/// `GET /api/v1/profiles?state=&profileType=&iccid=&eid=&cursor=&limit=`.
async fn list_profiles(
    identity: OperatorIdentity,
    store: web::Data<Store>,
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
async fn get_profile(
    identity: OperatorIdentity,
    store: web::Data<Store>,
    ids: web::Data<OpaqueIds>,
    path: web::Path<String>,
) -> Result<HttpResponse, FleetError> {
    let iccid = path.into_inner();
    let operator = identity.operator_id;
    let (profile, history) = blocking(move || {
        let Some(profile) = store.fleet_profile(&operator, &iccid)? else { return Ok((None, Vec::new())) };
        let history = history(&store, &ids, &operator, "profile", &iccid)?;
        Ok((Some(profile), history))
    })
    .await?;
    let profile = profile.ok_or(FleetError::NotFound("profile"))?;
    Ok(HttpResponse::Ok().json(json!({ "profile": profile, "history": history })))
}

/// `GET /api/v1/orders?state=&matchingId=&iccid=&eid=&cursor=&limit=`.
async fn list_orders(
    identity: OperatorIdentity,
    store: web::Data<Store>,
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
async fn get_order(
    identity: OperatorIdentity,
    store: web::Data<Store>,
    ids: web::Data<OpaqueIds>,
    path: web::Path<String>,
) -> Result<HttpResponse, FleetError> {
    // A malformed or foreign token cannot name any order: it answers like an unknown one.
    let Some(id) = ids.decode(IdKind::Es2Order, &path.into_inner()) else { return Err(FleetError::NotFound("order")) };
    let operator = identity.operator_id;
    let history_ids = ids.clone();
    let (order, history) = blocking(move || {
        let Some(order) = store.fleet_order(&operator, id)? else { return Ok((None, Vec::new())) };
        let history = history(&store, &history_ids, &operator, "order", &order.matching_id)?;
        Ok((Some(order), history))
    })
    .await?;
    let order = order.ok_or(FleetError::NotFound("order"))?;
    Ok(HttpResponse::Ok().json(json!({ "order": order_json(&ids, &order), "history": history })))
}

/// `GET /api/v1/openapi.json`.
async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(OPENAPI_JSON)
}
