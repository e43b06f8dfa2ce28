//! The eIM orders job (issue 6 item 5): [`crate::eim::orders::tick`] releases campaign orders within their rate,
//! queues the next package of each order and finishes orders and campaigns — every `eim.orders_interval_ms` while
//! a campaign runs or a round did something; otherwise only after this node writes something (an order created, a
//! result recorded, a package expired) or after [`IDLE_FALLBACK`] (issue 12: an idle node stays idle). Safe to run
//! on every node (row claims with `FOR UPDATE SKIP LOCKED` on PostgreSQL, version-guarded changes everywhere).

use std::time::{Duration, Instant};

use actix_web::web;

use crate::clock::now_ms;
use crate::eim::esipa_service::EimService;
use crate::eim::orders::tick;
use crate::store::Writes;

/// How long an idle node's jobs sleep when nothing is written on this node (work another node or the CLI wrote is
/// found then at the latest).
pub const IDLE_FALLBACK: Duration = Duration::from_secs(5);

/// How often the relay sessions past their retention are purged.
const RELAY_PURGE_EVERY: Duration = Duration::from_secs(600);

pub async fn run(svc: EimService, mut writes: Writes, interval: Duration) {
    loop {
        // Writes up to here are seen by this round.
        writes.mark_seen();
        let round = svc.clone();
        let busy = match web::block(move || tick(&*round.repo, &round.ctx, now_ms())).await {
            Ok(Ok(report)) => {
                if report.did_something() {
                    tracing::debug!(?report, "eIM orders job");
                }
                report.did_something() || report.campaigns_running > 0
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "eIM orders job failed");
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "eIM orders job not run");
                true
            }
        };
        tokio::time::sleep(interval).await;
        if !busy {
            writes.wait(IDLE_FALLBACK).await;
        }
    }
}

/// The notification outbox job (SGP.32 v1.2 §3.2.3 / SGP.22 v2.5 §5.6.4): forwards notifications for external
/// SM-DP+s — at most every `interval`, after this node writes something (a notification queued) or after
/// `retry_fallback` (a retry come due; another node's rows) — and purges old relay sessions now and then. Safe on
/// every node (rows are claimed by compare-and-set).
pub async fn forward_notifications(svc: EimService, mut writes: Writes, interval: Duration, retry_fallback: Duration) {
    let mut last_purge: Option<Instant> = None;
    loop {
        writes.mark_seen();
        if last_purge.is_none_or(|at| at.elapsed() >= RELAY_PURGE_EVERY) {
            if let Err(e) = svc.purge_relay_sessions().await {
                tracing::warn!(error = %e, "relay session purge failed");
            }
            last_purge = Some(Instant::now());
            writes.mark_seen();
        }
        match svc.forward_due_notifications().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(delivered = n, "notifications forwarded to external SM-DP+s"),
            Err(e) => tracing::warn!(error = %e, "eIM notification outbox job failed"),
        }
        tokio::time::sleep(interval).await;
        writes.wait(retry_fallback).await;
    }
}
