//! Retention (issue 10 item 8): rows that are finished and older than their configured age are deleted in
//! batches, so nothing a peer or operator sends is kept forever.
//!
//! | what | finished when | removed |
//! |---|---|---|
//! | HandleNotification inbox (SGP.22 v2.5 §5.6.4) | `processed_at` set | the row |
//! | delivered BPPs (§3.1.3: kept only so a retried GetBoundProfilePackage gets the same bytes) | session `completed` (PIR received, installed or failed), `cancelled` or `expired` | the `bpp` column (the session row stays) |
//! | eIM orders (SGP.32 v1.2 §2.11.2.1) | final state (and, for a campaign's order, the campaign finished) | order, steps and their packages |
//! | eIM packages without an order | `succeeded`, `failed`, `expired` | the row |
//! | ES2+ call records (§5.3, functionCallIdentifier) | always (a retry comes within minutes) | the row |
//! | ES2+ HandleDownloadProgressInfo outbox (§5.3.5) | `delivered_at` set | the row |
//! | operator API `Idempotency-Key`s | always | the row |
//!
//! Each batch is one short transaction; on PostgreSQL the rows of a batch are picked `FOR UPDATE SKIP LOCKED`, so
//! several nodes running the job at once share the work instead of waiting on one another. Ages are compared with
//! the `now` passed in (Unix ms), so tests choose the instant.

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::connection::{write_transaction, DbConnection};
use super::schema::{eim_order_steps as eos, eim_orders as eo, eim_packages as ep};
use super::Store;
use crate::config::RetentionAges;
use crate::smdp::RepoError;

/// How many rows one retention round removed (BPPs: how many were cleared).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub notifications: usize,
    pub bpps: usize,
    pub eim_orders: usize,
    pub eim_packages: usize,
    pub es2_calls: usize,
    pub outbox: usize,
    pub idempotency_keys: usize,
}

impl RetentionReport {
    pub fn total(&self) -> usize {
        self.notifications
            + self.bpps
            + self.eim_orders
            + self.eim_packages
            + self.es2_calls
            + self.outbox
            + self.idempotency_keys
    }
}

/// eIM order states after which nothing more happens.
const FINAL_ORDERS: [&str; 4] = ["succeeded", "failed", "expired", "cancelled"];
/// eIM package states after which nothing more happens.
const FINAL_PACKAGES: [&str; 3] = ["succeeded", "failed", "expired"];

/// A batch statement: `$1` is the cutoff (Unix ms), `$2` the batch size, `{lock}` where PostgreSQL takes
/// `FOR UPDATE SKIP LOCKED` (SQLite has one writer at a time and no row locks).
const NOTIFICATIONS: &str = "DELETE FROM notifications WHERE id IN (SELECT id FROM notifications \
     WHERE processed_at IS NOT NULL AND processed_at < $1 ORDER BY id LIMIT $2 {lock})";
const BPPS: &str = "UPDATE download_sessions SET bpp = NULL WHERE transaction_id IN (SELECT transaction_id \
     FROM download_sessions WHERE bpp IS NOT NULL AND state IN ('completed', 'cancelled', 'expired') \
     AND updated_at < $1 LIMIT $2 {lock})";
const ES2_CALLS: &str = "DELETE FROM es2_calls WHERE (operator_id, function_requester_identifier, \
     function_call_identifier) IN (SELECT operator_id, function_requester_identifier, function_call_identifier \
     FROM es2_calls WHERE created_at < $1 LIMIT $2 {lock})";
const OUTBOX: &str = "DELETE FROM es2_progress_outbox WHERE id IN (SELECT id FROM es2_progress_outbox \
     WHERE delivered_at IS NOT NULL AND delivered_at < $1 ORDER BY id LIMIT $2 {lock})";
const IDEMPOTENCY_KEYS: &str = "DELETE FROM operator_idempotency WHERE (operator_id, idempotency_key) IN \
     (SELECT operator_id, idempotency_key FROM operator_idempotency WHERE created_at < $1 LIMIT $2 {lock})";
const EIM_ORDERS: &str = "SELECT o.id FROM eim_orders o \
     WHERE o.state IN ('succeeded', 'failed', 'expired', 'cancelled') AND o.finished_at IS NOT NULL \
     AND o.finished_at < $1 AND (o.campaign_id IS NULL OR EXISTS (SELECT 1 FROM eim_campaigns c \
     WHERE c.id = o.campaign_id AND c.state IN ('cancelled', 'completed') AND c.finished_at IS NOT NULL \
     AND c.finished_at < $1)) ORDER BY o.id LIMIT $2 {lock}";
const EIM_PACKAGES: &str = "DELETE FROM eim_packages WHERE id IN (SELECT p.id FROM eim_packages p \
     WHERE p.state IN ('succeeded', 'failed', 'expired') AND COALESCE(p.finished_at, p.updated_at) < $1 \
     AND NOT EXISTS (SELECT 1 FROM eim_order_steps s WHERE s.package_id = p.id) \
     AND NOT EXISTS (SELECT 1 FROM eim_orders o WHERE o.current_package_id = p.id) ORDER BY p.id LIMIT $2 {lock})";

/// `sql` for the connection's backend (numbered `?N` parameters and no row locks on SQLite).
fn for_backend(conn: &DbConnection, sql: &str) -> String {
    match conn {
        DbConnection::Pg(_) => sql.replace("{lock}", "FOR UPDATE SKIP LOCKED"),
        DbConnection::Sqlite(_) => sql.replace("{lock}", "").replace('$', "?"),
    }
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

impl Store {
    /// One batch of `statement` (see the constants above): how many rows it changed.
    fn retention_batch(&self, statement: &str, cutoff: i64, batch: i64) -> Result<usize, RepoError> {
        Ok(self.write(|conn| {
            let sql = for_backend(conn, statement);
            write_transaction!(conn, c => diesel::sql_query(&sql)
                .bind::<BigInt, _>(cutoff)
                .bind::<BigInt, _>(batch)
                .execute(c))
        })?)
    }

    /// Repeats batches until one comes back short (or `max_batches` ran); the rows changed in all.
    fn retention_sweep(
        &self,
        mut one: impl FnMut() -> Result<usize, RepoError>,
        batch: i64,
        max_batches: usize,
    ) -> Result<usize, RepoError> {
        let mut total = 0;
        for _ in 0..max_batches {
            let n = one()?;
            total += n;
            if (n as i64) < batch {
                break;
            }
        }
        Ok(total)
    }

    /// One batch of finished eIM orders (with their steps and packages) older than `cutoff`: (orders, packages).
    fn purge_eim_orders_batch(&self, cutoff: i64, batch: i64) -> Result<(usize, usize), RepoError> {
        Ok(self.write(|conn| {
            let sql = for_backend(conn, EIM_ORDERS);
            write_transaction!(conn, c => {
                let ids: Vec<i64> = diesel::sql_query(&sql)
                    .bind::<BigInt, _>(cutoff)
                    .bind::<BigInt, _>(batch)
                    .load::<IdRow>(c)?
                    .into_iter()
                    .map(|r| r.id)
                    .collect();
                if ids.is_empty() {
                    return Ok((0, 0));
                }
                let packages: Vec<i64> =
                    eos::table.filter(eos::order_id.eq_any(&ids)).select(eos::package_id).load(c)?;
                diesel::delete(eos::table.filter(eos::order_id.eq_any(&ids))).execute(c)?;
                let orders = diesel::delete(eo::table.filter(eo::id.eq_any(&ids)).filter(eo::state.eq_any(FINAL_ORDERS)))
                    .execute(c)?;
                // A package still running (an order cancelled under it) stays until it finishes; then the
                // package sweep below takes it.
                let packages = diesel::delete(
                    ep::table.filter(ep::id.eq_any(&packages)).filter(ep::state.eq_any(FINAL_PACKAGES)),
                )
                .execute(c)?;
                Ok::<_, diesel::result::Error>((orders, packages))
            })
        })?)
    }

    /// Deletes (or, for BPPs, clears) every finished row older than its age at `now` (Unix ms), `batch` rows per
    /// transaction and at most `max_batches` transactions per kind (the rest waits for the next round).
    pub fn run_retention(
        &self,
        ages: &RetentionAges,
        now: i64,
        batch: i64,
        max_batches: usize,
    ) -> Result<RetentionReport, RepoError> {
        let mut report = RetentionReport::default();
        let cutoff = |age: i64| now.saturating_sub(age);
        let simple = [
            (ages.processed_notifications_ms, NOTIFICATIONS, &mut report.notifications),
            (ages.delivered_bpps_ms, BPPS, &mut report.bpps),
            (ages.es2_calls_ms, ES2_CALLS, &mut report.es2_calls),
            (ages.delivered_outbox_ms, OUTBOX, &mut report.outbox),
            (ages.idempotency_keys_ms, IDEMPOTENCY_KEYS, &mut report.idempotency_keys),
        ];
        for (age, statement, count) in simple {
            if let Some(age) = age {
                *count =
                    self.retention_sweep(|| self.retention_batch(statement, cutoff(age), batch), batch, max_batches)?;
            }
        }
        if let Some(age) = ages.finished_eim_ms {
            let mut packages = 0;
            report.eim_orders = self.retention_sweep(
                || {
                    let (o, p) = self.purge_eim_orders_batch(cutoff(age), batch)?;
                    packages += p;
                    Ok(o)
                },
                batch,
                max_batches,
            )?;
            report.eim_packages = packages
                + self.retention_sweep(
                    || self.retention_batch(EIM_PACKAGES, cutoff(age), batch),
                    batch,
                    max_batches,
                )?;
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_adapted_per_backend() {
        let sqlite = NOTIFICATIONS.replace("{lock}", "").replace('$', "?");
        assert!(sqlite.contains("processed_at < ?1") && sqlite.contains("LIMIT ?2 )"), "{sqlite}");
        assert!(!sqlite.contains("FOR UPDATE"));
        for s in [NOTIFICATIONS, BPPS, ES2_CALLS, OUTBOX, IDEMPOTENCY_KEYS, EIM_ORDERS, EIM_PACKAGES] {
            assert!(s.contains("{lock}") && s.contains("$1") && s.contains("$2"), "{s}");
        }
    }
}
