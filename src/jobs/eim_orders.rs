//! The eIM orders job (issue 6 item 5): every `eim.orders_interval_ms`, [`crate::eim::orders::tick`] releases
//! campaign orders within their rate, queues the next package of each order and finishes orders and
//! campaigns. Safe to run on every node (row claims with `FOR UPDATE SKIP LOCKED` on PostgreSQL,
//! version-guarded changes everywhere).

use std::time::Duration;

use actix_web::web;

use crate::clock::now_ms;
use crate::eim::esipa_service::EimService;
use crate::eim::orders::tick;

pub async fn run(svc: EimService, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let svc = svc.clone();
        match web::block(move || tick(&*svc.repo, &svc.ctx, now_ms())).await {
            Ok(Ok(report)) => {
                if !report.released.is_empty() || report.queued > 0 || report.finished > 0 {
                    tracing::debug!(?report, "eIM orders job");
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "eIM orders job failed"),
            Err(e) => tracing::warn!(error = %e, "eIM orders job not run"),
        }
    }
}

/// The notification outbox job (SGP.32 v1.2 §3.2.3 / SGP.22 v2.5 §5.6.4): forwards notifications for external
/// SM-DP+s every `interval`. Safe on every node (rows are claimed by compare-and-set).
pub async fn forward_notifications(svc: EimService, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match svc.forward_due_notifications().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(delivered = n, "notifications forwarded to external SM-DP+s"),
            Err(e) => tracing::warn!(error = %e, "eIM notification outbox job failed"),
        }
    }
}
