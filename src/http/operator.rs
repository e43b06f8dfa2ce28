//! The operator listener's app (mutual TLS): ES2+ (SGP.22 §5.3), the fleet API and admin.
//! Every route sits behind [`super::identity::require_operator`].

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::identity::OperatorIdentity;
use super::{health, metrics, not_found};

/// Routes of the operator listener.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(metrics::metrics_endpoint))
        .route("/api/v1/whoami", web::get().to(whoami))
        .configure(super::inventory::configure)
        .configure(super::es2::configure)
        .configure(super::eim_api::configure)
        .configure(super::fleet::configure)
        .default_service(web::to(not_found));
}

/// `GET /api/v1/whoami`: which operator the client certificate maps to.
async fn whoami(identity: OperatorIdentity) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "operatorId": identity.operator_id,
        "subject": identity.subject,
        "fingerprintSha256": identity.fingerprint_sha256,
    }))
}
