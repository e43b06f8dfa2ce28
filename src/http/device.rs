//! The device listener's app: what LPAs (ES9+, SGP.22 §5.6) and IPAs (ESipa, SGP.32 §6) reach.
//! For now the probes; the ES9+ and ESipa bindings are added here as they land.

use actix_web::web;

use super::{health, not_found};

/// Routes of the device listener.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .default_service(web::to(not_found));
}
