//! The retention job (issue 10 item 8): every `retention.interval_secs`, finished rows older than their
//! `[retention]` age are deleted in batches ([`crate::config::RetentionAges`], `store::retention` lists what and
//! when): processed notifications (SGP.22 v2.5 §5.6.4), delivered BPPs of finished sessions (§3.1.3), finished eIM
//! orders and packages (SGP.32 v1.2 §2.11.2.1), ES2+ call records (§5.3) and delivered HandleDownloadProgressInfo
//! outbox rows (§5.3.5), operator `Idempotency-Key`s. Several nodes may run it at once (PostgreSQL batches skip
//! the rows another node holds).

use std::time::Duration;

use actix_web::web;

use crate::config::RetentionConfig;
use crate::store::Store;

/// Batches per kind of row in one round; what is left waits for the next round.
const MAX_BATCHES_PER_ROUND: usize = 100;

/// Runs a retention round every `retention.interval_secs` (the first one right at start).
pub async fn run(store: Store, config: RetentionConfig) {
    let mut ticker = tokio::time::interval(Duration::from_secs(config.interval_secs));
    let ages = config.ages();
    let batch = i64::try_from(config.batch_size).unwrap_or(1000);
    loop {
        ticker.tick().await;
        let store = store.clone();
        let round =
            web::block(move || store.run_retention(&ages, crate::clock::now_ms(), batch, MAX_BATCHES_PER_ROUND)).await;
        match round {
            Ok(Ok(report)) if report.total() == 0 => {}
            Ok(Ok(r)) => tracing::info!(
                notifications = r.notifications,
                bpps_cleared = r.bpps,
                eim_orders = r.eim_orders,
                eim_packages = r.eim_packages,
                es2_calls = r.es2_calls,
                outbox = r.outbox,
                idempotency_keys = r.idempotency_keys,
                "retention: old finished rows removed"
            ),
            Ok(Err(e)) => tracing::warn!(error = %e, "retention round failed"),
            Err(e) => tracing::warn!(error = %e, "retention round not run"),
        }
    }
}
