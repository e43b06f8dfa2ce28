//! The audit sealer (issue 12 item 3): chains the audit rows written since it last ran ([`Store::seal_audit_trail`],
//! migration `…_audit_sealing`). It sleeps until this node commits a write, waits [`SETTLE`] so that one sealing
//! transaction takes the rows of many writes, and seals; a slow fallback round also chains rows written by other
//! processes (another node, the CLI) when this node writes nothing. Readers of the trail seal first anyway, so
//! the job only keeps the unsealed tail short. Safe on every node (the head row lock orders sealers).

use std::time::Duration;

use actix_web::web;

use crate::store::{Store, Writes};

/// How long after a write the sealer waits, gathering more writes into one sealing transaction.
pub const SETTLE: Duration = Duration::from_millis(200);

/// The fallback round when this node writes nothing.
pub const FALLBACK: Duration = Duration::from_secs(30);

pub async fn run(store: Store, mut writes: Writes) {
    loop {
        // The sealer's own transactions do not count as writes (they would wake it again).
        writes.wait(FALLBACK).await;
        tokio::time::sleep(SETTLE).await;
        let s = store.clone();
        match web::block(move || s.seal_audit_trail()).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::trace!(rows = n, "audit rows sealed"),
            Ok(Err(e)) => tracing::warn!(error = %e, "audit sealing failed"),
            Err(e) => tracing::warn!(error = %e, "audit sealing not run"),
        }
    }
}
