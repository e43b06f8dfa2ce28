//! The operator listener's app (mutual TLS): ES2+ (SGP.22 §5.3), the fleet API and admin.
//! Every route sits behind [`crate::http::identity::require_operator`].

pub mod audit_middleware;
pub mod eim_api;
pub mod eim_events;
pub mod es2;
pub mod fleet;
pub mod idempotency;
pub mod inventory;
pub mod opaque_ids;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::http::health;
use crate::http::identity::OperatorIdentity;
use crate::http::metrics::{self, Metrics};
use crate::http::not_found;

/// Routes of the operator listener.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(admin_metrics))
        .route("/api/v1/whoami", web::get().to(whoami))
        .configure(crate::http::operator::inventory::configure)
        .configure(crate::http::operator::es2::configure)
        .configure(crate::http::operator::eim_api::configure)
        .configure(crate::http::operator::fleet::configure)
        .default_service(web::to(not_found));
}

/// `GET /metrics` on the operator listener: every operator's series, so administrators only
/// (`admin = true` on the identity). Operators' own figures are in the fleet API; the unauthenticated
/// `metrics.listen` listener is for a scraper on a private network.
async fn admin_metrics(
    identity: OperatorIdentity,
    metrics: web::Data<Metrics>,
    pool: web::Data<metrics::PoolGauges>,
) -> HttpResponse {
    if !identity.admin {
        return HttpResponse::Forbidden().json(json!({
            "error": "metrics show every operator's figures: only administrator identities (admin = true) may read them here"
        }));
    }
    metrics::metrics_endpoint(metrics, pool).await
}

/// `GET /api/v1/whoami`: which operator the client certificate maps to.
async fn whoami(identity: OperatorIdentity) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "operatorId": identity.operator_id,
        "subject": identity.subject,
        "fingerprintSha256": identity.fingerprint_sha256,
        "admin": identity.admin,
    }))
}
