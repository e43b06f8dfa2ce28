//! The device listener's app: what LPAs (ES9+, SGP.22 §5.6) and IPAs (ESipa, SGP.32 §6) reach:
//! the probes, the ES9+ JSON binding ([`super::es9`]) and the ESipa ASN.1 and JSON bindings ([`super::esipa_asn1`],
//! [`super::esipa_json`]).

use actix_web::web;

use super::{es9, esipa_asn1, esipa_json, health, not_found};

/// Routes of the device listener.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz)).route("/readyz", web::get().to(health::readyz));
    es9::configure(cfg);
    esipa_asn1::configure(cfg);
    esipa_json::configure(cfg);
    cfg.default_service(web::to(not_found));
}
