//! Liveness and readiness probes.
//!
//! - `GET /healthz`: the process answers (no dependencies checked).
//! - `GET /readyz`: the database answers; 503 with the reason otherwise. The database call runs
//!   on the blocking pool, never on an actix worker.

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use serde_json::json;

/// What `/readyz` asks: whether the database answers (built by `server` over the store; the reason is logged,
/// never sent).
#[derive(Clone)]
pub struct Readiness(Arc<dyn Fn() -> Result<(), String> + Send + Sync>);

impl Readiness {
    pub fn new(check: impl Fn() -> Result<(), String> + Send + Sync + 'static) -> Self {
        Readiness(Arc::new(check))
    }
}

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn readyz(readiness: web::Data<Readiness>) -> HttpResponse {
    let check = readiness.0.clone();
    match web::block(move || check()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Ok(Err(e)) => {
            tracing::warn!(reason = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "reason": "database unreachable" }))
        }
        Err(_) => HttpResponse::ServiceUnavailable().json(json!({ "status": "unavailable", "reason": "busy" })),
    }
}
