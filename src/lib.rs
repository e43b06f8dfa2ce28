//! rspd — a remote SIM provisioning server: an SM-DP+ (GSMA SGP.22 v2.5) and an eIM
//! (GSMA SGP.32 v1.2) for IoT fleets.
//!
//! Module map (and the direction of imports: `docs/ARCHITECTURE.md`):
//! - [`config`]: one typed configuration (TOML file + `RSPD_…` environment), validated at start.
//! - [`audit`]: the hash-chained audit trail of operator calls and state transitions.
//! - [`store`]: the relational store (SQLite embedded, PostgreSQL to scale out) behind repository traits.
//! - [`codec`], [`pki`], [`bsp`], [`profile`], [`ids`]: the wire formats, from the `rsp-proto` crate.
//! - [`smdp`]: SM-DP+ domain: profile states, ES2+ orders, ES9+ download sessions, inventory, progress events.
//! - [`eim`]: eIM domain (SGP.32 v1.2): eUICC registry, signed eUICC packages, results, order life cycle.
//! - [`fleet`]: the fleet operator's view (profiles, orders, audit trail, `Idempotency-Key`s) behind one port.
//! - [`secrets`]: secrets at rest — AES-256-GCM sealing of packages and personalization data, master keys.
//! - [`server`]: `rspd serve` start-up: TLS material, store, listeners, banner.
//! - [`jobs`]: the background jobs (session expiry, notification inbox, outboxes, eIM orders, retention).
//! - [`http`]: the actix-web listeners (device: ES9+/ESipa; operator: ES2+/fleet API over mutual TLS).
//! - [`rate_limit`]: the keyed token bucket behind the per-address and per-EID limits (bounded memory).
//! - [`cli`]: the `rspd` command line, one file per command group.
//! - [`clock`]: time as rspd stores it (Unix milliseconds).
//! - [`logging`]: the process log (text lines escape control characters).
#![forbid(unsafe_code)]

/// The wire formats (codec, PKI, BSP, profile packages, identifiers) live in their own crate, `rsp-proto`;
/// they are re-exported so `crate::codec::…` reads the same everywhere in the server.
pub use rsp_proto::{bsp, codec, ids, pki, profile};

pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod eim;
pub mod fleet;
pub mod http;
pub mod jobs;
pub mod logging;
pub mod private_files;
pub mod rate_limit;
pub mod secrets;
pub mod server;
pub mod smdp;
pub mod store;
