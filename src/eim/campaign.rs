//! eIM orders and campaigns as stored and shown (issue 6 item 5, over SGP.32 v1.2 §3.5 eIM package
//! procedures): an order runs one [`Intent`](super::intent::Intent) on one eUICC as a sequence of packages; a
//! campaign is one intent over many eUICCs of one operator, released at a rate.
//!
//! Three things are called "order" in rspd, so each has its own name: an ES2+ **download order**
//! (`smdp::OrderRecord`, SGP.22 §5.3), an **eIM order** ([`EimOrder`], here: an operator's intent on one eUICC) and
//! an **eIM package order** (`eim::PackageOrder`: one signed package in a device's queue, SGP.32 §2.11).
//!
//! ```text
//! order:    Pending ──release──▶ Running(step 0 … n-1) ──last step Succeeded──▶ Succeeded
//!                                   │ step Failed / Expired ──▶ Failed / Expired (that step's reason)
//!           Pending / Running(step queued) ──campaign cancel──▶ Cancelled
//! campaign: Running ⇄ Paused;  Running | Paused ──cancel──▶ Cancelled;  Running ──no order left──▶ Completed
//! ```
//!
//! Release rate: at most `rate_per_minute` orders leave Pending per one-minute window, and at most
//! `max_in_flight` orders of the campaign are Running at once ([`release_allowance`]). Later steps of a
//! released order are not rate limited.

use std::fmt;
use std::str::FromStr;

use super::error::EimError;
use super::order::{OrderState as PackageState, PackageOrder};
use super::package::QueueSlot;
use super::registry::NewEuicc;

macro_rules! named_states {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s)
                    .ok_or_else(|| format!("unknown {} {s:?}", stringify!($name)))
            }
        }
    };
}

named_states!(
    /// The stored state of an order (see the module diagram).
    EimOrderStatus { Pending = "pending", Running = "running", Succeeded = "succeeded", Failed = "failed",
        Expired = "expired", Cancelled = "cancelled" }
);

named_states!(
    /// The state of a campaign.
    CampaignState { Running = "running", Paused = "paused", Cancelled = "cancelled", Completed = "completed" }
);

impl EimOrderStatus {
    pub fn is_final(self) -> bool {
        !matches!(self, EimOrderStatus::Pending | EimOrderStatus::Running)
    }
}

/// Why something in the orders API was refused. `Display` is the one line the API answers with.
#[derive(Debug, thiserror::Error)]
pub enum EimOrderError {
    /// The request is not acceptable (bad JSON member, bad intent, bad limit): 400.
    #[error("{0}")]
    Invalid(String),
    /// No such order / campaign / eUICC **for this operator** (a foreign one looks the same): 404.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The state does not allow it (resume a cancelled campaign): 409.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Eim(#[from] EimError),
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EimOrder {
    pub id: i64,
    pub operator_id: String,
    pub eid: String,
    pub campaign_id: Option<i64>,
    /// The intent JSON as given.
    pub intent: String,
    pub step_count: i64,
    pub status: EimOrderStatus,
    pub current_step: i64,
    /// The package of `current_step`, once queued.
    pub current_package_id: Option<i64>,
    /// Incremented by every change: changes are compare-and-set on it.
    pub version: i64,
    pub failure_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

impl EimOrder {
    /// The state an operator sees: `queued` / `dispatched` (the current step's package waits in the device's
    /// queue / was handed out), `pending` (not released yet, or its next package not queued yet), `succeeded`,
    /// `failed`, `expired`, `cancelled`.
    pub fn shown_state(&self, current_package: Option<PackageState>) -> &'static str {
        match (self.status, current_package) {
            (EimOrderStatus::Running, Some(PackageState::Dispatched)) => "dispatched",
            (EimOrderStatus::Running, Some(PackageState::Queued)) => "queued",
            (EimOrderStatus::Running, _) => "pending",
            (s, _) => s.as_str(),
        }
    }
}

/// A step of an order as queued: its package and that package's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRecord {
    pub step_index: i64,
    pub kind: String,
    pub package: PackageOrder,
}

/// A new order (one transaction; `idempotency_key` makes a retried create return the first order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEimOrder {
    pub operator_id: String,
    pub eid: String,
    pub intent: String,
    pub step_count: i64,
    pub idempotency_key: Option<String>,
}

/// A stored campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRecord {
    pub id: i64,
    pub operator_id: String,
    pub name: String,
    pub intent: String,
    pub state: CampaignState,
    pub rate_per_minute: i64,
    pub max_in_flight: i64,
    pub window_start: i64,
    pub window_released: i64,
    pub device_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

/// A new campaign and its devices (all written in one transaction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCampaign {
    pub operator_id: String,
    pub name: String,
    pub intent: String,
    pub step_count: i64,
    pub rate_per_minute: i64,
    pub max_in_flight: i64,
    pub idempotency_key: Option<String>,
}

/// Which of the operator's eUICCs (a campaign's filter, the eUICC list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EuiccFilter {
    pub eid_prefix: Option<String>,
    pub label: Option<String>,
}

/// A registered eUICC as its operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedEuicc {
    pub eid: String,
    pub label: Option<String>,
    pub counter_value: i64,
    pub associated: bool,
    pub created_at: i64,
    /// When its IPA last polled (Unix ms), with what it reported then.
    pub last_seen: Option<i64>,
    pub contact: super::DeviceContact,
}

/// What a bulk import did with one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    Registered,
    /// Already registered to this operator: nothing changed.
    AlreadyRegistered,
    /// Registered to someone else (or unowned): refused.
    Refused,
}

/// Live progress of a campaign, by the state each device's order shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressCounts {
    pub total: i64,
    pub pending: i64,
    pub queued: i64,
    pub dispatched: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub expired: i64,
    pub cancelled: i64,
}

impl ProgressCounts {
    /// Adds `n` orders showing `state` ([`EimOrder::shown_state`]).
    pub fn add(&mut self, state: &str, n: i64) {
        self.total += n;
        match state {
            "pending" => self.pending += n,
            "queued" => self.queued += n,
            "dispatched" => self.dispatched += n,
            "succeeded" => self.succeeded += n,
            "failed" => self.failed += n,
            "expired" => self.expired += n,
            _ => self.cancelled += n,
        }
    }
}

/// One minute, the rate window.
pub const RATE_WINDOW_MS: i64 = 60_000;

/// How many pending orders a campaign may release at `now`, and the window to store afterwards:
/// `(allowance, window_start)`; the caller adds what it released to `window_released` (reset when the window
/// restarts).
pub fn release_allowance(c: &CampaignRecord, in_flight: i64, now: i64) -> (i64, i64, i64) {
    let (window_start, released) =
        if now - c.window_start >= RATE_WINDOW_MS { (now, 0) } else { (c.window_start, c.window_released) };
    let allowance = (c.rate_per_minute - released).min(c.max_in_flight - in_flight).max(0);
    (allowance, window_start, released)
}

/// Which operator owns which eUICC. Another operator's eUICC is treated as absent. All calls block.
pub trait OperatorEuiccs: Send + Sync {
    /// Registers `new` for `operator_id` (with `label`), or reports it already there.
    fn import_euicc(&self, new: &NewEuicc, operator_id: &str, label: Option<&str>) -> Result<ImportOutcome, EimError>;
    /// Gives an unowned or own registered eUICC to `operator_id` (the CLI's `--operator`).
    fn assign_operator(&self, eid: &str, operator_id: &str, label: Option<&str>) -> Result<(), EimError>;
    fn owned_euicc(&self, operator_id: &str, eid: &str) -> Result<Option<OwnedEuicc>, EimError>;
    /// The operator's eUICCs matching `filter`, EID order, after `after`, at most `limit`.
    fn list_euiccs(
        &self,
        operator_id: &str,
        filter: &EuiccFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OwnedEuicc>, EimError>;
    /// Which of `eids` the operator owns.
    fn owned_eids(&self, operator_id: &str, eids: &[String]) -> Result<Vec<String>, EimError>;
}

/// What storage must do for orders and campaigns. Every operator-facing call takes the operator id and
/// treats another operator's rows as absent. All calls block.
pub trait EimOrderRepository: OperatorEuiccs {
    /// Inserts a Running order at step 0 (no package yet); with an idempotency key already used, returns that
    /// order and `false`.
    fn create_order(&self, new: &NewEimOrder, now: i64) -> Result<(EimOrder, bool), EimError>;
    fn find_eim_order(&self, operator_id: &str, order_id: i64) -> Result<Option<EimOrder>, EimError>;
    fn order_steps(&self, order_id: i64) -> Result<Vec<StepRecord>, EimError>;
    /// The operator's orders (optionally of one campaign), id order after `after`, with the state of their
    /// current package.
    fn list_orders(
        &self,
        operator_id: &str,
        campaign_id: Option<i64>,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Vec<(EimOrder, Option<PackageState>)>, EimError>;
    /// Running orders whose current step has no package yet.
    fn orders_to_queue(&self, limit: i64) -> Result<Vec<EimOrder>, EimError>;
    /// Running orders whose current package is final, with that package.
    fn orders_to_advance(&self, limit: i64) -> Result<Vec<(EimOrder, PackageOrder)>, EimError>;
    /// The Running order whose current package is `package_id`, with that package.
    fn order_for_package(&self, package_id: i64) -> Result<Option<(EimOrder, PackageOrder)>, EimError>;
    /// In one transaction, only if the order still has `order.version` (PostgreSQL: the order row claimed
    /// `FOR UPDATE SKIP LOCKED`): takes the eUICC's next counterValue, builds the package with `build`, stores
    /// it Queued (expiring at `expires_at`) as step `step_index` and makes it the order's current package.
    /// `None` when another node got there first.
    #[allow(clippy::too_many_arguments)]
    fn queue_order_step(
        &self,
        order: &EimOrder,
        step_index: i64,
        kind: &str,
        eim_transaction_id: [u8; 16],
        expires_at: i64,
        build: &mut dyn FnMut(&QueueSlot) -> Result<Vec<u8>, EimError>,
        now: i64,
    ) -> Result<Option<i64>, EimError>;
    /// Finishes the order if it still has `version`; whether it did.
    fn finish_order(
        &self,
        order_id: i64,
        version: i64,
        status: EimOrderStatus,
        failure_reason: Option<&str>,
        now: i64,
    ) -> Result<bool, EimError>;
}

/// What storage must do for campaigns (over [`EimOrderRepository`]). Scoped by operator where an operator asks.
pub trait CampaignRepository: EimOrderRepository {
    /// Inserts the campaign and one Pending order per EID in one transaction (idempotent as above).
    fn create_campaign(&self, new: &NewCampaign, eids: &[String], now: i64)
        -> Result<(CampaignRecord, bool), EimError>;
    fn find_campaign(&self, operator_id: &str, campaign_id: i64) -> Result<Option<CampaignRecord>, EimError>;
    fn campaign_counts(&self, campaign_id: i64) -> Result<ProgressCounts, EimError>;
    /// Moves the campaign from one of `from` to `to`; `None` when it is not in one of them (or not the
    /// operator's).
    fn set_campaign_state(
        &self,
        operator_id: &str,
        campaign_id: i64,
        from: &[CampaignState],
        to: CampaignState,
        now: i64,
    ) -> Result<Option<CampaignRecord>, EimError>;
    /// Cancels a running or paused campaign in one transaction: Pending orders and orders whose package is
    /// still Queued are Cancelled (the package Expired, reason `cancelled`); dispatched ones finish.
    fn cancel_campaign(
        &self,
        operator_id: &str,
        campaign_id: i64,
        now: i64,
    ) -> Result<Option<CampaignRecord>, EimError>;

    /// Releases Pending orders of every Running campaign within its rate ([`release_allowance`]), one campaign
    /// at a time under a row claim (PostgreSQL: `FOR UPDATE SKIP LOCKED`); returns (campaign id, released).
    fn release_campaigns(&self, now: i64) -> Result<Vec<(i64, i64)>, EimError>;
    /// Running campaigns without a Pending or Running order become Completed; returns how many.
    fn complete_campaigns(&self, now: i64) -> Result<usize, EimError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign(rate: i64, max: i64, window_start: i64, released: i64) -> CampaignRecord {
        CampaignRecord {
            id: 1,
            operator_id: "op".into(),
            name: "c".into(),
            intent: "{}".into(),
            state: CampaignState::Running,
            rate_per_minute: rate,
            max_in_flight: max,
            window_start,
            window_released: released,
            device_count: 1000,
            created_at: 0,
            updated_at: 0,
            finished_at: None,
        }
    }

    #[test]
    fn allowance_follows_the_minute_window_and_in_flight_cap() {
        assert_eq!(release_allowance(&campaign(100, 1000, 0, 0), 0, 1), (100, 0, 0));
        assert_eq!(release_allowance(&campaign(100, 1000, 0, 100), 100, 59_999), (0, 0, 100));
        assert_eq!(release_allowance(&campaign(100, 1000, 0, 100), 100, 60_000), (100, 60_000, 0));
        assert_eq!(release_allowance(&campaign(100, 10, 0, 0), 4, 5), (6, 0, 0));
        assert_eq!(release_allowance(&campaign(100, 10, 0, 0), 12, 5).0, 0);
    }

    #[test]
    fn states_round_trip_and_counts_add_up() {
        for s in EimOrderStatus::ALL {
            assert_eq!(s.as_str().parse::<EimOrderStatus>().unwrap(), *s);
        }
        assert!("paused".parse::<CampaignState>().is_ok());
        let mut c = ProgressCounts::default();
        c.add("queued", 2);
        c.add("succeeded", 3);
        assert_eq!((c.total, c.queued, c.succeeded), (5, 2, 3));
    }
}
