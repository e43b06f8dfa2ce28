//! The eIM order life cycle (ARCHITECTURE.md "State machines"; SGP.32 v1.2 §3.5 eIM package procedures):
//!
//! ```text
//! Queued ──GetEimPackage──▶ Dispatched ──ProvideEimPackageResult (verified)──▶ Succeeded | Failed
//!   │                           │
//!   └─dispatch timeout──▶ Expired ◀──no-show timeout──┘
//! ```
//!
//! In the style of rustls' handshake states, each live state is a type ([`Queued`], [`Dispatched`]) whose
//! methods consume it and return the next: an out-of-order event has no path. Each method yields a
//! [`Transition`] that the repository applies as a compare-and-set (`UPDATE … WHERE state = <from>`), so two
//! nodes racing on one order get one winner. A package is never dispatched twice: only `Queued` orders are
//! handed out, and a Dispatched order whose result is lost expires instead of being re-sent (the eUICC would
//! answer a re-sent package with replayError anyway, SGP.32 v1.2 §2.11.1.1).

use std::fmt;
use std::str::FromStr;

use super::failure::FailureReason;
use super::inventory::ProfileChange;
use super::result::PackageOutcome;

/// A persisted eIM order state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderState {
    /// Signed and waiting for the device's next GetEimPackage.
    Queued,
    /// Handed to the IPA; waiting for ProvideEimPackageResult.
    Dispatched,
    /// A verified result says every operation succeeded.
    Succeeded,
    /// A verified result (or an unsigned error) says the package or an operation failed: see [`FailureReason`].
    Failed,
    /// Not fetched in time (dispatch timeout) or no result in time (no-show timeout).
    Expired,
}

impl OrderState {
    pub const ALL: [OrderState; 5] =
        [OrderState::Queued, OrderState::Dispatched, OrderState::Succeeded, OrderState::Failed, OrderState::Expired];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Queued => "queued",
            OrderState::Dispatched => "dispatched",
            OrderState::Succeeded => "succeeded",
            OrderState::Failed => "failed",
            OrderState::Expired => "expired",
        }
    }

    /// Whether no transition leaves this state.
    pub fn is_final(self) -> bool {
        matches!(self, OrderState::Succeeded | OrderState::Failed | OrderState::Expired)
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        OrderState::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| format!("unknown eIM order state {s:?}"))
    }
}

/// One queued eUICC package and its order state, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageOrder {
    pub id: i64,
    /// The eUICC (32 digits).
    pub eid: String,
    pub state: OrderState,
    /// The package's `counterValue` (strictly increasing per eUICC).
    pub counter_value: i64,
    /// `eimTransactionId` (16 random bytes).
    pub eim_transaction_id: Vec<u8>,
    /// The EuiccPackageRequest `BF51 …` exactly as signed and sent.
    pub package_der: Vec<u8>,
    /// The EuiccPackageResult `BF51 …` exactly as received, once one was verified.
    pub result_der: Option<Vec<u8>>,
    /// Stored [`FailureReason::as_string`] of a Failed or Expired order.
    pub failure_reason: Option<String>,
    /// Unix ms: when the order leaves its current state by timeout (Queued: dispatch timeout; Dispatched:
    /// no-show timeout); `None` once final.
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What an order hands to the IPA, read from the first tag of its stored package (SGP.32 v1.2 §6.3.2.x
/// GetEimPackageResponse alternatives).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageKind {
    /// EuiccPackageRequest `BF51`: signed PSMOs / eCOs for the eUICC.
    EuiccPackageRequest,
    /// IpaEuiccDataRequest `BF52`: data the IPA reads from the eUICC.
    IpaEuiccDataRequest,
    /// ProfileDownloadTriggerRequest `BF54`: a profile download the IPA runs.
    ProfileDownloadTriggerRequest,
}

impl PackageKind {
    /// The kind of a stored package (`None` for bytes no order should hold).
    pub fn of(package_der: &[u8]) -> Option<PackageKind> {
        match package_der {
            [0xBF, 0x51, ..] => Some(PackageKind::EuiccPackageRequest),
            [0xBF, 0x52, ..] => Some(PackageKind::IpaEuiccDataRequest),
            [0xBF, 0x54, ..] => Some(PackageKind::ProfileDownloadTriggerRequest),
            _ => None,
        }
    }
}

impl PackageOrder {
    /// What this order hands to the IPA.
    pub fn kind(&self) -> Option<PackageKind> {
        PackageKind::of(&self.package_der)
    }

    /// The live state as a typed value, or `None` when the order is final.
    pub fn live(&self) -> Option<LiveOrder> {
        match self.state {
            OrderState::Queued => Some(LiveOrder::Queued(Queued { order_id: self.id })),
            OrderState::Dispatched => Some(LiveOrder::Dispatched(Dispatched { order_id: self.id })),
            _ => None,
        }
    }
}

/// An order in a state with a way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveOrder {
    Queued(Queued),
    Dispatched(Dispatched),
}

/// A state change for the repository to apply atomically, only if the order is still in `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub order_id: i64,
    pub from: OrderState,
    pub to: OrderState,
    /// The new `expires_at` (Unix ms), `None` for a final state.
    pub expires_at: Option<i64>,
    /// The received EuiccPackageResult, kept with the order.
    pub result_der: Option<Vec<u8>>,
    pub failure_reason: Option<FailureReason>,
    /// Changes to the eUICC's profile inventory, applied in the same transaction.
    pub profile_changes: Vec<ProfileChange>,
}

impl Transition {
    /// Adds the inventory changes a verified result implies ([`super::inventory::profile_changes`]).
    pub fn with_profile_changes(mut self, profile_changes: Vec<ProfileChange>) -> Transition {
        self.profile_changes = profile_changes;
        self
    }
}

/// Queued: signed, waiting for the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    pub order_id: i64,
}

impl Queued {
    /// GetEimPackage handed the package to the IPA (SGP.32 v1.2 §3.5.1); the no-show clock starts.
    pub fn dispatch(self, no_show_deadline_ms: i64) -> Transition {
        Transition {
            order_id: self.order_id,
            from: OrderState::Queued,
            to: OrderState::Dispatched,
            expires_at: Some(no_show_deadline_ms),
            result_der: None,
            failure_reason: None,
            profile_changes: Vec::new(),
        }
    }

    /// The dispatch timeout passed.
    pub fn expire(self) -> Transition {
        expire(self.order_id, OrderState::Queued, FailureReason::NotFetched)
    }
}

/// Dispatched: with the IPA, waiting for its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dispatched {
    pub order_id: i64,
}

impl Dispatched {
    /// A verified result arrived (SGP.32 v1.2 §3.5.1 ProvideEimPackageResult): Succeeded when every operation
    /// is ok, else Failed with the first failure.
    pub fn complete(self, outcome: &PackageOutcome, result_der: Vec<u8>) -> Transition {
        let failure = outcome.failure_reason();
        Transition {
            order_id: self.order_id,
            from: OrderState::Dispatched,
            to: if failure.is_none() { OrderState::Succeeded } else { OrderState::Failed },
            expires_at: None,
            result_der: Some(result_der),
            failure_reason: failure,
            profile_changes: Vec::new(),
        }
    }

    /// A result that carries no eUICC package signature arrived (ProfileDownloadTriggerResult,
    /// IpaEuiccDataResponse, eimPackageResultResponseError — SGP.32 v1.2 §2.11.2.3–§2.11.2.4): Succeeded without
    /// a failure, else Failed.
    pub fn finish(self, failure: Option<FailureReason>, result_der: Vec<u8>) -> Transition {
        Transition {
            order_id: self.order_id,
            from: OrderState::Dispatched,
            to: if failure.is_none() { OrderState::Succeeded } else { OrderState::Failed },
            expires_at: None,
            result_der: Some(result_der),
            failure_reason: failure,
            profile_changes: Vec::new(),
        }
    }

    /// The no-show timeout passed.
    pub fn expire(self) -> Transition {
        expire(self.order_id, OrderState::Dispatched, FailureReason::NoResult)
    }
}

fn expire(order_id: i64, from: OrderState, reason: FailureReason) -> Transition {
    Transition {
        order_id,
        from,
        to: OrderState::Expired,
        expires_at: None,
        result_der: None,
        failure_reason: Some(reason),
        profile_changes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_names() {
        for s in OrderState::ALL {
            assert_eq!(s.as_str().parse::<OrderState>(), Ok(s));
        }
        assert!("done".parse::<OrderState>().is_err());
    }

    #[test]
    fn error_codes_map_to_reasons() {
        assert_eq!(FailureReason::from_euicc_package_error_code(4), FailureReason::ReplayError);
        assert_eq!(FailureReason::from_euicc_package_error_code(6), FailureReason::CounterValueOutOfRange);
        assert_eq!(FailureReason::from_euicc_package_error_code(3), FailureReason::InvalidEid);
        assert_eq!(FailureReason::from_euicc_package_error_code(127), FailureReason::PackageError(127));
        assert_eq!(FailureReason::ReplayError.as_string(), "replay_error");
    }

    #[test]
    fn transitions_leave_only_live_states() {
        let t = Queued { order_id: 7 }.dispatch(1000);
        assert_eq!((t.from, t.to, t.expires_at), (OrderState::Queued, OrderState::Dispatched, Some(1000)));
        let t = Dispatched { order_id: 7 }.expire();
        assert_eq!((t.to, t.failure_reason), (OrderState::Expired, Some(FailureReason::NoResult)));
        let ok = PackageOutcome::Executed { seq_number: 1, euicc_result: vec![] };
        assert_eq!(Dispatched { order_id: 7 }.complete(&ok, vec![1]).to, OrderState::Succeeded);
        let replay = PackageOutcome::ErrorSigned { euicc_package_error_code: 4 };
        let t = Dispatched { order_id: 7 }.complete(&replay, vec![1]);
        assert_eq!((t.to, t.failure_reason), (OrderState::Failed, Some(FailureReason::ReplayError)));
    }
}
