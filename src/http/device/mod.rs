//! The device listener's app: what LPAs (ES9+, SGP.22 §5.6) and IPAs (ESipa, SGP.32 §6) reach:
//! the probes, the ES9+ JSON binding ([`es9`]) and the ESipa ASN.1 and JSON bindings ([`esipa_asn1`],
//! [`esipa_json`]), which share [`esipa`].

pub mod es9;

pub mod esipa_asn1;
pub mod esipa_json;

use actix_web::web;

use crate::http::{health, not_found};

/// Routes of the device listener.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz)).route("/readyz", web::get().to(health::readyz));
    es9::configure(cfg);
    esipa_asn1::configure(cfg);
    esipa_json::configure(cfg);
    cfg.default_service(web::to(not_found));
}
