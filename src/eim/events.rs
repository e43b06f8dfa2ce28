//! eIM order events for the operator's live stream (`GET /api/v1/eim/events`, Server-Sent Events): an
//! `order` event whenever an order row changes (created, released, next step queued, finished) and a `step`
//! event whenever a step's package changes state (queued, dispatched by GetEimPackage, succeeded / failed by
//! a verified ProvideEimPackageResult, expired; SGP.32 v1.2 §2.11.2.1). Read from the tables by
//! `(updated_at, id)` position, so a client resumes with `Last-Event-ID`; the order resource stays the
//! authority (rows changed within one millisecond out of id order may be reported late or not at all).

use super::campaign::EimOrder;
use super::error::EimError;
use super::order::{OrderState as PackageState, PackageOrder};

/// Where a stream stands: the last order row and the last step package reported, each as
/// `(updated_at, id)`. Its text form (the SSE event id, ids opaque) is the HTTP layer's (`http::operator::eim_events`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventCursor {
    pub order: (i64, i64),
    pub step: (i64, i64),
}

/// A step package change, with its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepEvent {
    pub order_id: i64,
    pub campaign_id: Option<i64>,
    pub step_index: i64,
    pub kind: String,
    pub package: PackageOrder,
}

/// What the event stream reads. Scoped by operator.
pub trait EventSource: Send + Sync {
    /// The operator's orders changed after `after` (`(updated_at, id)` order), with their current package's
    /// state.
    fn order_events(
        &self,
        operator_id: &str,
        after: (i64, i64),
        limit: i64,
    ) -> Result<Vec<(EimOrder, Option<PackageState>)>, EimError>;
    /// The operator's step packages changed after `after` (`(package updated_at, package id)` order).
    fn step_events(&self, operator_id: &str, after: (i64, i64), limit: i64) -> Result<Vec<StepEvent>, EimError>;
    /// The newest positions now (a stream without `Last-Event-ID` starts here).
    fn event_head(&self, operator_id: &str) -> Result<EventCursor, EimError>;
}
