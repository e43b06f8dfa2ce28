//! HTTP adapters (actix-web): one folder per listener, one file per interface binding; no rule lives here.
//!
//! - [`device`]: the device listener (server-authenticated TLS): ES9+ (SGP.22 §5.6, §6.5) and ESipa in both
//!   bindings (SGP.32 §6.3 ASN.1, §6.4 JSON), and what the two ESipa bindings share.
//! - [`operator`]: the operator listener (mutual TLS): ES2+ (SGP.22 §5.3), profile inventory, eIM orders and
//!   campaigns, the fleet API (profiles, orders, audit, SSE events, OpenAPI), `Idempotency-Key`, opaque ids, the
//!   audit of every call.
//! - [`clients`]: rspd as an HTTP client (ES9+ towards an external SM-DP+ for the eIM relay).
//! - [`binding`]: what every binding shares — `X-Admin-Protocol`, JSON bodies, base64/hex fields, blocking calls.
//! - [`tls`], [`identity`]: the TLS configurations and the client-certificate → operator mapping.
//! - [`health`], [`metrics`]: probes and Prometheus metrics, shared by the listeners.
//! - [`limits`]: per-address rate, body deadline, connection count and the 429/503 answers (issue 10 items 4–5).

pub mod binding;
pub mod clients;
pub mod device;
pub mod health;
pub mod identity;
pub mod limits;
pub mod metrics;
pub mod operator;
pub mod tls;

use actix_web::HttpResponse;

/// JSON 404 for paths no listener serves.
pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({ "error": "no such endpoint" }))
}
