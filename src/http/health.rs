//! Liveness and readiness probes.
//!
//! - `GET /healthz`: the process answers (no dependencies checked).
//! - `GET /readyz`: the database answers; 503 with the reason otherwise. The database call runs
//!   on the blocking pool, never on an actix worker.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::store::Store;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn readyz(store: web::Data<Store>) -> HttpResponse {
    let store = store.get_ref().clone();
    match web::block(move || store.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Ok(Err(e)) => {
            tracing::warn!(reason = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "reason": "database unreachable" }))
        }
        Err(_) => HttpResponse::ServiceUnavailable().json(json!({ "status": "unavailable", "reason": "busy" })),
    }
}
