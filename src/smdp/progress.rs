//! ES2+.HandleDownloadProgressInfo (SGP.22 v2.5 §5.3.5): the SM-DP+ tells the operator how a download order
//! progresses, at each **notification point**, from a durable outbox (delivery: `jobs::progress_delivery`,
//! JSON binding §6.5.2).
//!
//! Fields of the function (§5.3.5): `eid` (when the SM-DP+ knows it), `iccid`, `profileType`, `timestamp`,
//! `notificationPointId`, `notificationPointStatus` (a FunctionExecutionStatus: `status` Executed-Success |
//! Failed | Expired, with `statusCodeData` subjectCode/reasonCode/message on failure) and `resultData` (the
//! ProfileInstallationResult or the eUICC's notification, base64 of its DER).
//!
//! Notification points and where rspd reaches them:
//!
//! | id | point (§5.3.5) | where |
//! | -- | -- | -- |
//! | 1 | Eligibility and retry limit check | ES9+.AuthenticateClient, order matched (success or refusal) |
//! | 2 | ConfirmationFailure | ES9+.GetBoundProfilePackage, wrong/missing confirmation code (6.4: attempts exhausted, order blocked) |
//! | 3 | BPP download | ES9+.GetBoundProfilePackage (BPP bound and stored, or refused); CancelSession / expiry before the BPP |
//! | 4 | BPP installation | ES9+.HandleNotification with ProfileInstallationResult; CancelSession / expiry after the BPP |
//! | 5 | Profile deletion | ES9+.HandleNotification, OtherSignedNotification notificationDelete |
//! | 6 | Profile enabled | ES9+.HandleNotification, OtherSignedNotification notificationEnable |
//! | 7 | Profile disabled | ES9+.HandleNotification, OtherSignedNotification notificationDisable |
//!
//! Points 1–4 are the spec's download procedure points. Points 5–7 follow the numbering the operator back ends
//! we know use for the eUICC's other notifications (§3.5); re-check them against the spec text.
//!
//! **Enqueueing.** Every event carries an [`ProgressEvent::event_key`] unique per operator: enqueueing it again
//! is a no-op.
//! - In the same transaction as the state change it reports (the `*_reporting` repository methods): the order
//!   claimed by AuthenticateClient (point 1 success), the BPP stored (point 3 success), a confirmation code
//!   failure (point 2, including the one that blocks the order).
//! - Right after, idempotently: the notification inbox is marked processed only after its event is enqueued, so
//!   a crash in between re-processes the notification and the key makes the second enqueue a no-op (point 4,
//!   5–7); session expiry likewise (the expiry job's events are keyed by transactionId).
//! - Right after, best effort: refusals (point 1/3 Failed) and CancelSession, which end in a state that no retry
//!   revisits; a crash between the state change and the enqueue loses that one event, and an enqueue failure is
//!   logged, never turned into an LPA error.

use crate::logging::pii;
use std::collections::HashSet;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::RepoError;

/// A notification point of §5.3.5 (the value is `notificationPointId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NotificationPoint {
    EligibilityAndRetryLimitCheck,
    ConfirmationFailure,
    BppDownload,
    BppInstallation,
    ProfileDeletion,
    ProfileEnabled,
    ProfileDisabled,
}

impl NotificationPoint {
    /// `notificationPointId`.
    pub fn id(self) -> u32 {
        match self {
            NotificationPoint::EligibilityAndRetryLimitCheck => 1,
            NotificationPoint::ConfirmationFailure => 2,
            NotificationPoint::BppDownload => 3,
            NotificationPoint::BppInstallation => 4,
            NotificationPoint::ProfileDeletion => 5,
            NotificationPoint::ProfileEnabled => 6,
            NotificationPoint::ProfileDisabled => 7,
        }
    }
}

/// `notificationPointStatus` (a FunctionExecutionStatus, §5.3.5 / §6.5.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PointStatus {
    /// `Executed-Success`.
    Success,
    /// `Failed` with its statusCodeData (subjectCode, reasonCode and a message for people).
    Failed { subject_code: String, reason_code: String, message: String },
    /// `Expired`: the download session timed out.
    Expired { subject_code: String, reason_code: String, message: String },
}

impl PointStatus {
    pub fn failed(codes: (&str, &str), message: impl Into<String>) -> PointStatus {
        PointStatus::Failed {
            subject_code: codes.0.to_owned(),
            reason_code: codes.1.to_owned(),
            message: message.into(),
        }
    }

    /// The JSON `status` value.
    pub fn status(&self) -> &'static str {
        match self {
            PointStatus::Success => "Executed-Success",
            PointStatus::Failed { .. } => "Failed",
            PointStatus::Expired { .. } => "Expired",
        }
    }
}

/// One HandleDownloadProgressInfo call to make. The store adds `profileType` from the profile inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressEvent {
    /// The operator that owns the profile: only its endpoint receives the event.
    pub operator_id: String,
    pub iccid: String,
    /// The EID, when the SM-DP+ knows it.
    pub eid: Option<String>,
    pub point: NotificationPoint,
    pub status: PointStatus,
    /// `resultData`: base64 of the ProfileInstallationResult / notification DER.
    pub result_data: Option<String>,
    /// When the point was reached (Unix ms, UTC).
    pub timestamp_ms: i64,
    /// What makes this event unique for the operator (e.g. `pir:<transactionId>`): enqueued at most once.
    pub event_key: String,
}

impl ProgressEvent {
    /// An event at `point` for an operator's profile, reached now.
    pub fn new(
        operator_id: &str,
        iccid: &str,
        eid: Option<&str>,
        point: NotificationPoint,
        status: PointStatus,
        event_key: String,
    ) -> ProgressEvent {
        ProgressEvent {
            operator_id: operator_id.to_owned(),
            iccid: iccid.to_owned(),
            eid: eid.map(str::to_owned),
            point,
            status,
            result_data: None,
            timestamp_ms: crate::clock::unix_ms(time::OffsetDateTime::now_utc()),
            event_key,
        }
    }

    /// Adds `resultData` (the DER the eUICC sent).
    pub fn with_result_data(mut self, der: &[u8]) -> ProgressEvent {
        self.result_data = Some(B64.encode(der));
        self
    }
}

/// One stored event awaiting delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: i64,
    /// The operator's profile type (ES2+ `profileType`), as stored with the profile.
    pub profile_type: String,
    pub event: ProgressEvent,
    /// Failed attempts so far.
    pub attempts: i32,
}

/// Outbox levels for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProgressBacklog {
    /// Events not delivered yet.
    pub pending: i64,
    /// Of those, events that failed at least `alert_after_attempts` times.
    pub stuck: i64,
}

/// The storage port of the outbox. Per (operator, ICCID) events are claimed in enqueue order, and a later event is
/// not claimed while an earlier one is undelivered; other ICCIDs are not held up.
pub trait ProgressOutbox {
    /// Stores an event (with its profile's type); `Ok(false)` when an event with the same key exists already.
    fn enqueue_progress(&self, event: &ProgressEvent) -> Result<bool, RepoError>;

    /// The operator whose profile `iccid` was downloaded to `eid` by this SM-DP+ (a BPP was delivered), if any.
    fn downloaded_profile_owner(&self, iccid: &str, eid: &str) -> Result<Option<String>, RepoError>;

    /// Up to `limit` due events (head of their ICCID's queue, `next_attempt_at <= now`, not leased), leased to the
    /// caller for `lease_ms` so another node does not send them meanwhile.
    fn claim_progress(&self, now_ms: i64, lease_ms: i64, limit: i64) -> Result<Vec<OutboxEntry>, RepoError>;

    fn progress_delivered(&self, id: i64, now_ms: i64) -> Result<(), RepoError>;

    /// One failed attempt: attempts + 1, retry at `next_attempt_at`, `error` kept (one line, no secrets).
    fn progress_failed(&self, id: i64, next_attempt_at: i64, error: &str) -> Result<(), RepoError>;

    fn progress_backlog(&self, stuck_after_attempts: i32) -> Result<ProgressBacklog, RepoError>;
}

/// What the ES9+ steps use to emit events: knows which operators have an endpoint (others get no rows) and wakes
/// the delivery worker. Cheap to clone; the default reports nothing.
#[derive(Clone, Default)]
pub struct ProgressNotifier {
    operators: Arc<HashSet<String>>,
    wake: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for ProgressNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgressNotifier").field("operators", &self.operators).finish_non_exhaustive()
    }
}

impl ProgressNotifier {
    /// Reports for these operators; `wake` is called after each new event.
    pub fn new(operators: impl IntoIterator<Item = String>, wake: Option<Arc<dyn Fn() + Send + Sync>>) -> Self {
        ProgressNotifier { operators: Arc::new(operators.into_iter().collect()), wake }
    }

    pub fn is_enabled(&self, operator_id: &str) -> bool {
        self.operators.contains(operator_id)
    }

    /// `event` when its operator has an endpoint, for a repository method that enqueues it in the same
    /// transaction as its state change; call [`ProgressNotifier::wake`] after that method succeeded.
    pub fn for_transaction(&self, event: ProgressEvent) -> Option<ProgressEvent> {
        self.is_enabled(&event.operator_id).then_some(event)
    }

    /// Tells the delivery worker that an event was enqueued.
    pub fn wake(&self) {
        if let Some(wake) = &self.wake {
            wake();
        }
    }

    /// Enqueues `event` when its operator has an endpoint. Idempotent by `event_key`.
    pub fn emit<R: ProgressOutbox + ?Sized>(&self, repo: &R, event: ProgressEvent) -> Result<(), RepoError> {
        if !self.is_enabled(&event.operator_id) {
            return Ok(());
        }
        if repo.enqueue_progress(&event)? {
            tracing::debug!(operator = %event.operator_id, iccid = %event.iccid, point = event.point.id(),
                status = event.status.status(), "ES2+ progress event queued");
            self.wake();
        }
        Ok(())
    }

    /// [`ProgressNotifier::emit`] on a request path: a failure is logged, the request goes on.
    pub fn emit_logged<R: ProgressOutbox + ?Sized>(&self, repo: &R, event: ProgressEvent) {
        let (operator, iccid, point) = (event.operator_id.clone(), event.iccid.clone(), event.point.id());
        if let Err(e) = self.emit(repo, event) {
            tracing::error!(operator = %operator, iccid = %pii(&iccid), point, error = %e,
                "ES2+ progress event could not be queued");
        }
    }
}

/// The event for a session that expired after AuthenticateClient matched an order: status Expired at "BPP
/// download" (no BPP yet) or "BPP installation" (BPP delivered, no result); `None` for a session without an order.
pub fn expired_session_event(s: &super::ExpiredSession) -> Option<ProgressEvent> {
    use super::SessionState;
    let point = match s.state {
        SessionState::Authenticated => NotificationPoint::BppDownload,
        SessionState::BppDelivered => NotificationPoint::BppInstallation,
        _ => return None,
    };
    let (operator_id, iccid) = (s.operator_id.as_deref()?, s.iccid.as_deref()?);
    // As ES9+ answers a late request on an expired session (8.10.1 transactionId, 3.9 unknown).
    let status = PointStatus::Expired {
        subject_code: "8.10.1".into(),
        reason_code: "3.9".into(),
        message: "the download session timed out".into(),
    };
    let key = format!("expired:{}", s.transaction_id);
    Some(ProgressEvent::new(operator_id, iccid, s.eid.as_deref(), point, status, key))
}

/// The retry delay after `attempts` failures: `initial · 2^(attempts−1)`, at most `max` (milliseconds).
pub fn backoff_ms(attempts: i32, initial_ms: i64, max_ms: i64) -> i64 {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    initial_ms.saturating_mul(1_i64 << exponent).min(max_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_ids_follow_the_spec_table() {
        assert_eq!(NotificationPoint::EligibilityAndRetryLimitCheck.id(), 1);
        assert_eq!(NotificationPoint::ConfirmationFailure.id(), 2);
        assert_eq!(NotificationPoint::BppDownload.id(), 3);
        assert_eq!(NotificationPoint::BppInstallation.id(), 4);
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        assert_eq!(backoff_ms(1, 1000, 60_000), 1000);
        assert_eq!(backoff_ms(2, 1000, 60_000), 2000);
        assert_eq!(backoff_ms(4, 1000, 60_000), 8000);
        assert_eq!(backoff_ms(100, 1000, 60_000), 60_000);
        assert_eq!(backoff_ms(0, 1000, 60_000), 1000);
    }
}
