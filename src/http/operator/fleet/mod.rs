//! The fleet API (issue 5 item 8) on the operator listener: REST JSON over one operator's profiles and orders with
//! their state history, the audit trail and a Server-Sent-Events stream of state changes; the OpenAPI document
//! (`schemas/openapi.json`) at `GET /api/v1/openapi.json`.
//!
//! Every query is scoped by the caller's [`OperatorIdentity`](crate::http::identity::OperatorIdentity): another operator's ICCID or order id answers exactly
//! like an unknown one (404 `{"error": …}`). Bad input (unknown parameter, bad filter, bad cursor, limit outside
//! 1..=[`MAX_LIMIT`]) is a 400 with `{"error": …}`, never a 500. Lists use keyset pagination: each page carries
//! `nextCursor` (opaque; `null` on the last page), passed back as `?cursor=`.
//!
//! - [`profiles`]: profiles and ES2+ orders with their state history, the OpenAPI document.
//! - [`audit`]: the audit trail, erasures and the SSE events stream.
//! - [`query`]: parameters, pagination, errors.

mod audit;
mod profiles;
mod query;

use actix_web::web;

pub use query::FleetError;

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// The largest page a client may ask for (`limit`).
pub const MAX_LIMIT: i64 = 500;

/// The OpenAPI 3.0 document of the operator listener.
pub const OPENAPI_JSON: &str = include_str!("../../../../schemas/openapi.json");

/// Fleet API routes (registered by [`super::operator::configure`]).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/profiles", web::get().to(profiles::list_profiles))
        .route("/api/v1/profiles/{iccid}", web::get().to(profiles::get_profile))
        .route("/api/v1/orders", web::get().to(profiles::list_orders))
        .route("/api/v1/orders/{id}", web::get().to(profiles::get_order))
        .route("/api/v1/openapi.json", web::get().to(profiles::openapi));
    audit::configure(cfg);
}
