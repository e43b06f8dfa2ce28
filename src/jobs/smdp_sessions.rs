//! Background jobs of the SM-DP+: session expiry (sessions past `smdp.session_timeout_secs` → Expired, their
//! orders re-offered, their operators told; sessions that never bound an order are deleted instead, issue 10
//! item 4) and the HandleNotification inbox worker (SGP.22 v2.5 §5.6.4: the 204 goes out first,
//! the notification is verified and applied here; unprocessed rows from before a restart are picked up at
//! start). Both run their database work on the blocking pool.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use actix_web::web;
use time::OffsetDateTime;

use crate::clock::unix_ms;
use crate::smdp::es9::{process_notification, Es9Error};
use crate::smdp::progress::expired_session_event;
use crate::smdp::service::{SmdpRepository, SmdpService};

/// Notifications handled per database round.
const BATCH: i64 = 100;

/// Expires sessions every `interval`.
pub async fn expire_sessions(svc: SmdpService, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        let (store, progress) = (svc.repo.clone(), svc.ctx.progress.clone());
        let expire = move || {
            let now = unix_ms(OffsetDateTime::now_utc());
            let deleted = store.delete_unbound_sessions(now)?;
            if deleted > 0 {
                tracing::debug!(sessions = deleted, "expired download sessions without an order deleted");
            }
            let expired = store.expire_sessions_reporting(now)?;
            // Tell the operators whose downloads timed out (ES2+ HandleDownloadProgressInfo, status Expired).
            for event in expired.iter().filter_map(expired_session_event) {
                progress.emit_logged(&*store, event);
            }
            Ok::<_, crate::smdp::RepoError>(expired.len())
        };
        match web::block(expire).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(sessions = n, "download sessions expired"),
            Ok(Err(e)) => tracing::warn!(error = %e, "session expiry failed"),
            Err(e) => tracing::warn!(error = %e, "session expiry not run"),
        }
    }
}

/// Processes stored notifications when woken, and every `interval` (retries after a database failure).
pub async fn process_notifications(svc: SmdpService, woken: Arc<Notify>, interval: Duration) {
    loop {
        let (ctx, store) = (svc.ctx.clone(), svc.repo.clone());
        match web::block(move || drain(&ctx, &*store)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "notification processing interrupted"),
            Err(e) => tracing::warn!(error = %e, "notification processing not run"),
        }
        let _ = tokio::time::timeout(interval, woken.notified()).await;
    }
}

/// Handles every unprocessed notification. A rejected notification (bad signature, unknown transaction) is
/// recorded as processed with its reason; an internal error leaves it for the next round.
fn drain(ctx: &crate::smdp::es9::SmdpContext, store: &dyn SmdpRepository) -> Result<(), crate::smdp::RepoError> {
    loop {
        let batch = store.unprocessed_notifications(BATCH)?;
        if batch.is_empty() {
            return Ok(());
        }
        for n in &batch {
            let outcome = match process_notification(ctx, store, &n.pending_notification, OffsetDateTime::now_utc()) {
                Ok(outcome) => {
                    tracing::info!(notification = n.id, %outcome, "notification processed");
                    outcome.to_string()
                }
                Err(Es9Error::Internal(e)) => return Err(crate::smdp::RepoError::Unavailable(e)),
                Err(e) => {
                    let (subject, reason) = e.status_code();
                    tracing::warn!(notification = n.id, subject, reason, error = %e, "notification rejected");
                    format!("rejected {subject}/{reason}: {e}")
                }
            };
            store.mark_notification_processed(n.id, &outcome)?;
        }
    }
}
