//! HTTP adapters (actix-web): one app per listener, TLS, operator identity, health and metrics.
//!
//! - [`device`]: ES9+ / ESipa (SGP.22 §5.6, SGP.32 §6), server-authenticated TLS; [`esipa_asn1`]: ESipa ASN.1 binding.
//! - [`operator`]: ES2+ (SGP.22 §5.3; binding in [`es2`]), fleet API and admin, mutual TLS; [`eim_api`]: eIM orders
//!   and campaigns.
//! - [`fleet`]: the fleet API (profiles, orders, audit, SSE events, OpenAPI document).
//! - [`binding`]: what the bindings share — `X-Admin-Protocol`, JSON bodies, base64/hex fields, blocking calls.
//! - [`audit_middleware`]: records every operator-listener call in the audit trail.
//! - [`idempotency`]: `Idempotency-Key` on the operator API's state-changing calls (replay of the first answer).
//! - [`inventory`]: profile types, bulk upload, templates and batches, stock (operator listener).
//! - [`tls`], [`identity`]: the TLS configurations and the client-certificate → operator mapping.
//! - [`health`], [`metrics`]: probes and Prometheus metrics, shared by the listeners.
//! - [`limits`]: per-address rate, body deadline, connection count and the 429/503 answers (issue 10 items 4–5).

pub mod audit_middleware;
pub mod binding;
pub mod device;
pub mod eim_api;
pub mod eim_events;
pub mod es2;
pub mod es9;
pub mod es9_client;
pub mod esipa;
pub mod esipa_asn1;
pub mod esipa_json;
pub mod fleet;
pub mod health;
pub mod idempotency;
pub mod identity;
pub mod inventory;
pub mod limits;
pub mod metrics;
pub mod opaque_ids;
pub mod operator;
pub mod tls;

use actix_web::HttpResponse;

/// JSON 404 for paths no listener serves.
pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({ "error": "no such endpoint" }))
}
