//! [`ProgressOutbox`] for [`MemoryStore`]: the ES2+.HandleDownloadProgressInfo outbox (SGP.22 v2.5 §5.3.5), with
//! the semantics of `store/smdp/progress.rs`: an event is stored once per (operator, event key); a claim hands
//! out only the oldest undelivered event of each (operator, ICCID), due and not leased, oldest first, and leases
//! it; a later event never overtakes an earlier one, and a stuck ICCID holds up nobody else.

use std::collections::BTreeMap;

use crate::smdp::progress::{OutboxEntry, ProgressBacklog, ProgressEvent, ProgressOutbox};
use crate::smdp::RepoError;

use super::{limit_rows, MemoryStore, State};

/// Longest `last_error` kept, in characters (as the SQL implementation cuts it).
const LAST_ERROR_CHARS: usize = 500;

/// One row of `es2_progress_outbox`.
#[derive(Debug, Clone)]
pub(super) struct ProgressRow {
    profile_type: String,
    event: ProgressEvent,
    attempts: i32,
    next_attempt_at: i64,
    leased_until: Option<i64>,
    delivered_at: Option<i64>,
    /// The last failed attempt's error: kept as the table keeps it, though no port reads it back.
    #[allow(dead_code)]
    last_error: Option<String>,
}

impl State {
    /// Stores an event unless one with its (operator, event key) is stored already (`insert_progress!`): whether it
    /// was stored. Its `profileType` is the profile's, read now (empty without one). The SM-DP+ steps call this
    /// under the lock of the change the event reports, so both are made or neither.
    pub(super) fn enqueue_progress(&mut self, event: &ProgressEvent) -> bool {
        if self
            .progress
            .values()
            .any(|row| row.event.operator_id == event.operator_id && row.event.event_key == event.event_key)
        {
            return false;
        }
        let profile_type = self
            .smdp_profile(&event.operator_id, &event.iccid)
            .map(|p| p.record.profile_type.clone())
            .unwrap_or_default();
        self.last_progress_id += 1;
        let id = self.last_progress_id;
        self.progress.insert(
            id,
            ProgressRow {
                profile_type,
                event: event.clone(),
                attempts: 0,
                next_attempt_at: event.timestamp_ms,
                leased_until: None,
                delivered_at: None,
                last_error: None,
            },
        );
        true
    }
}

impl ProgressOutbox for MemoryStore {
    fn enqueue_progress(&self, event: &ProgressEvent) -> Result<bool, RepoError> {
        Ok(self.lock()?.enqueue_progress(event))
    }

    // The operator of a session that delivered this ICCID's BPP to this EID (any one, as the SQL `first`).
    fn downloaded_profile_owner(&self, iccid: &str, eid: &str) -> Result<Option<String>, RepoError> {
        Ok(self
            .lock()?
            .download_sessions
            .values()
            .find(|s| s.iccid.as_deref() == Some(iccid) && s.eid.as_deref() == Some(eid) && s.bpp.is_some())
            .and_then(|s| s.operator_id.clone()))
    }

    fn claim_progress(&self, now_ms: i64, lease_ms: i64, limit: i64) -> Result<Vec<OutboxEntry>, RepoError> {
        let leased_until = now_ms.saturating_add(lease_ms);
        let mut state = self.lock()?;
        // The head of each (operator, ICCID) queue: its oldest undelivered event, due or not.
        let mut heads: BTreeMap<(&str, &str), i64> = BTreeMap::new();
        for (&id, row) in state.progress.iter().filter(|(_, row)| row.delivered_at.is_none()) {
            heads.entry((&row.event.operator_id, &row.event.iccid)).or_insert(id);
        }
        let mut ids: Vec<i64> = heads
            .into_values()
            .filter(|id| {
                state.progress.get(id).is_some_and(|row| {
                    row.next_attempt_at <= now_ms && row.leased_until.is_none_or(|until| until <= now_ms)
                })
            })
            .collect();
        ids.sort_unstable();
        ids.truncate(limit_rows(limit));
        Ok(ids
            .into_iter()
            .filter_map(|id| {
                let row = state.progress.get_mut(&id)?;
                row.leased_until = Some(leased_until);
                Some(OutboxEntry {
                    id,
                    profile_type: row.profile_type.clone(),
                    event: row.event.clone(),
                    attempts: row.attempts,
                })
            })
            .collect())
    }

    fn progress_delivered(&self, id: i64, now_ms: i64) -> Result<(), RepoError> {
        if let Some(row) = self.lock()?.progress.get_mut(&id) {
            row.delivered_at = Some(now_ms);
            row.leased_until = None;
        }
        Ok(())
    }

    fn progress_failed(&self, id: i64, next_attempt_at: i64, error: &str) -> Result<(), RepoError> {
        if let Some(row) = self.lock()?.progress.get_mut(&id).filter(|row| row.delivered_at.is_none()) {
            row.attempts += 1;
            row.next_attempt_at = next_attempt_at;
            row.last_error = Some(error.chars().take(LAST_ERROR_CHARS).collect());
            row.leased_until = None;
        }
        Ok(())
    }

    fn progress_backlog(&self, stuck_after_attempts: i32) -> Result<ProgressBacklog, RepoError> {
        let state = self.lock()?;
        let pending = state.progress.values().filter(|row| row.delivered_at.is_none());
        let (pending, stuck) = pending.fold((0, 0), |(pending, stuck), row| {
            (pending + 1, stuck + i64::from(row.attempts >= stuck_after_attempts))
        });
        Ok(ProgressBacklog { pending, stuck })
    }
}
