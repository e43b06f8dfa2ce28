//! [`ProgressOutbox`] for [`Store`]: the ES2+.HandleDownloadProgressInfo outbox (SGP.22 v2.5 §5.3.5).
//!
//! Claiming takes the oldest undelivered row of each (operator, ICCID) only — a later event never overtakes
//! an earlier one, and a stuck ICCID holds up nobody else — and leases it (`leased_until`) so that another
//! node does not send it while this one does. On PostgreSQL the claim is `FOR UPDATE SKIP LOCKED`, so nodes
//! claiming at the same moment take different rows instead of waiting for each other.

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sql_types::BigInt;

use crate::smdp::progress::{OutboxEntry, ProgressBacklog, ProgressEvent, ProgressOutbox};
use crate::smdp::RepoError;
use crate::store::connection::{dispatch, write_transaction, DbConnection};
use crate::store::error::StoreError;
use crate::store::prepared::PreparedExt;
use crate::store::schema::{download_sessions as ds, es2_progress_outbox as ob};
use crate::store::Store;

/// Due rows at the head of their (operator, ICCID) queue, oldest first.
const CLAIM_WHERE: &str = "FROM es2_progress_outbox o \
     WHERE o.delivered_at IS NULL AND o.next_attempt_at <= {now} \
       AND (o.leased_until IS NULL OR o.leased_until <= {now2}) \
       AND NOT EXISTS (SELECT 1 FROM es2_progress_outbox p WHERE p.operator_id = o.operator_id \
                       AND p.iccid = o.iccid AND p.delivered_at IS NULL AND p.id < o.id) \
     ORDER BY o.id LIMIT {limit}";

fn claim_sql(postgres: bool) -> String {
    let (now, now2, limit, lock) =
        if postgres { ("$1", "$2", "$3", " FOR UPDATE SKIP LOCKED") } else { ("?", "?", "?", "") };
    format!(
        "SELECT o.id AS id {}{lock}",
        CLAIM_WHERE.replace("{now}", now).replace("{now2}", now2).replace("{limit}", limit)
    )
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = ob)]
struct OutboxRow {
    id: i64,
    profile_type: String,
    event: String,
    attempts: i32,
}

/// The stored form of an event (its JSON), as a diesel error when it cannot be made (inside a transaction).
pub(in crate::store) fn event_json(event: &ProgressEvent) -> Result<String, DieselError> {
    serde_json::to_string(event).map_err(|e| DieselError::SerializationError(Box::new(e)))
}

/// Inserts an event inside the caller's write transaction (so it commits with the state change it reports);
/// an event whose (operator, key) is stored already is skipped. Yields the rows inserted (0 or 1).
macro_rules! insert_progress {
    ($c:expr, $event:expr) => {{
        let event: &$crate::smdp::progress::ProgressEvent = $event;
        let json = $crate::store::smdp::progress::event_json(event)?;
        let profile_type: String = $crate::store::schema::profiles::table
            .filter($crate::store::schema::profiles::operator_id.eq(&event.operator_id))
            .filter($crate::store::schema::profiles::iccid.eq(&event.iccid))
            .select($crate::store::schema::profiles::profile_type)
            .first::<String>($c)
            .optional()?
            .unwrap_or_default();
        use $crate::store::schema::es2_progress_outbox as outbox;
        diesel::insert_into(outbox::table)
            .values((
                outbox::operator_id.eq(&event.operator_id),
                outbox::iccid.eq(&event.iccid),
                outbox::profile_type.eq(&profile_type),
                outbox::event_key.eq(&event.event_key),
                outbox::event.eq(&json),
                outbox::attempts.eq(0),
                outbox::next_attempt_at.eq(event.timestamp_ms),
                outbox::created_at.eq(event.timestamp_ms),
            ))
            .on_conflict_do_nothing()
            .execute($c)
    }};
}

pub(crate) use insert_progress;

impl ProgressOutbox for Store {
    fn enqueue_progress(&self, event: &ProgressEvent) -> Result<bool, RepoError> {
        let inserted = self.write(|conn| write_transaction!(conn, c => insert_progress!(c, event)))?;
        Ok(inserted == 1)
    }

    fn downloaded_profile_owner(&self, iccid: &str, eid: &str) -> Result<Option<String>, RepoError> {
        let mut conn = self.conn()?;
        let owner = dispatch!(&mut *conn, c => ds::table
            .filter(ds::iccid.eq(iccid))
            .filter(ds::eid.eq(eid))
            .filter(ds::bpp.is_not_null())
            .select(ds::operator_id)
            .first::<Option<String>>(c)
            .optional())
        .map_err(StoreError::from)?;
        Ok(owner.flatten())
    }

    fn claim_progress(&self, now_ms: i64, lease_ms: i64, limit: i64) -> Result<Vec<OutboxEntry>, RepoError> {
        let leased_until = now_ms.saturating_add(lease_ms);
        let rows = self.write(|conn| {
            let sql = claim_sql(matches!(conn, DbConnection::Pg(_)));
            write_transaction!(conn, c => {
                let ids: Vec<i64> = diesel::sql_query(&sql)
                    .bind::<BigInt, _>(now_ms)
                    .bind::<BigInt, _>(now_ms)
                    .bind::<BigInt, _>(limit)
                    .load::<IdRow>(c)?
                    .into_iter()
                    .map(|r| r.id)
                    .collect();
                if ids.is_empty() {
                    return Ok::<_, DieselError>(Vec::new());
                }
                diesel::update(ob::table.filter(ob::id.eq_any(&ids)))
                    .set(ob::leased_until.eq(leased_until))
                    .execute(c)?;
                ob::table.filter(ob::id.eq_any(&ids)).order(ob::id).select(OutboxRow::as_select()).load(c)
            })
        })?;
        rows.into_iter()
            .map(|r| {
                let event: ProgressEvent = serde_json::from_str(&r.event)
                    .map_err(|e| RepoError::Backend(format!("es2_progress_outbox.event {}: {e}", r.id)))?;
                Ok(OutboxEntry { id: r.id, profile_type: r.profile_type, event, attempts: r.attempts })
            })
            .collect()
    }

    fn progress_delivered(&self, id: i64, now_ms: i64) -> Result<(), RepoError> {
        self.write(|conn| {
            write_transaction!(conn, c => diesel::update(ob::table.find(id))
                .set((ob::delivered_at.eq(now_ms), ob::leased_until.eq(None::<i64>)))
                .prepared().execute(c))
        })?;
        Ok(())
    }

    fn progress_failed(&self, id: i64, next_attempt_at: i64, error: &str) -> Result<(), RepoError> {
        let error: String = error.chars().take(500).collect();
        self.write(|conn| {
            write_transaction!(conn, c => diesel::update(ob::table.find(id).filter(ob::delivered_at.is_null()))
                .set((
                    ob::attempts.eq(ob::attempts + 1),
                    ob::next_attempt_at.eq(next_attempt_at),
                    ob::last_error.eq(&error),
                    ob::leased_until.eq(None::<i64>),
                ))
                .prepared().execute(c))
        })?;
        Ok(())
    }

    fn progress_backlog(&self, stuck_after_attempts: i32) -> Result<ProgressBacklog, RepoError> {
        let mut conn = self.conn()?;
        let pending: i64 =
            dispatch!(&mut *conn, c => ob::table.filter(ob::delivered_at.is_null()).count().get_result(c))
                .map_err(StoreError::from)?;
        let stuck: i64 = dispatch!(&mut *conn, c => ob::table
            .filter(ob::delivered_at.is_null())
            .filter(ob::attempts.ge(stuck_after_attempts))
            .count()
            .get_result(c))
        .map_err(StoreError::from)?;
        Ok(ProgressBacklog { pending, stuck })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn claim_sql_per_backend() {
        let pg = super::claim_sql(true);
        assert!(pg.contains("<= $1") && pg.contains("LIMIT $3") && pg.ends_with("FOR UPDATE SKIP LOCKED"));
        let lite = super::claim_sql(false);
        assert!(!lite.contains('$') && lite.matches('?').count() == 3);
    }
}
