//! Profile states the SM-DP+ keeps per ICCID, and which transitions between them are allowed.
//!
//! Source: GSMA SGP.22 v2.5 §5.3 (ES2+: DownloadOrder §5.3.1, ConfirmOrder §5.3.2, CancelOrder §5.3.3,
//! ReleaseProfile §5.3.4, HandleDownloadProgressInfo §5.3.5) and §3.1.1 (Profile Download Initiation).
//! The states are stored as the lowercase strings of [`ProfileState::as_str`]; those strings are part
//! of the database schema (a CHECK constraint in the migrations) and must never change.
//!
//! Uncertain points, to re-check against the spec text:
//! - Whether `Error` may go back to `Available` directly (we allow it: an operator CancelOrder after a
//!   failed installation returns the profile to the pool) or only to `Unavailable`.
//! - Whether `Installed` is terminal for the SM-DP+. SGP.22 has no ES2+ step out of it; profile deletion
//!   notifications (§3.5) could later move it on. Terminal for now.
//! - `ConfirmOrder` with `releaseFlag = true` is modelled as two transitions (Confirmed, then Released),
//!   not a direct Allocated/Linked → Released edge.

use std::fmt;
use std::str::FromStr;

/// The state of one profile (one ICCID) in the SM-DP+ inventory (SGP.22 v2.5 §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProfileState {
    /// In the pool, not yet reserved by any order.
    Available,
    /// Reserved by ES2+ DownloadOrder without an EID (§5.3.1).
    Allocated,
    /// Reserved by ES2+ DownloadOrder for a given EID (§5.3.1).
    Linked,
    /// ES2+ ConfirmOrder accepted: MatchingID / EID fixed (§5.3.2).
    Confirmed,
    /// ES2+ ReleaseProfile (or ConfirmOrder with releaseFlag): the download may start (§5.3.4).
    Released,
    /// The Bound Profile Package was delivered to the LPA (ES9+ GetBoundProfilePackage, §5.6.2).
    Downloaded,
    /// The eUICC reported a successful installation (ProfileInstallationResult, §5.6.4).
    Installed,
    /// The download or installation failed; the operator decides what happens next.
    Error,
    /// Retired: CancelOrder with finalProfileStatusIndicator = Unavailable (§5.3.3).
    Unavailable,
}

impl ProfileState {
    /// Where ES2+ DownloadOrder (SGP.22 v2.5 §5.3.1) takes an Available profile: Linked when the order names the
    /// EID it is for, Allocated when it does not (the EID comes with ConfirmOrder or the download itself).
    pub fn ordered_for(eid: Option<&str>) -> ProfileState {
        if eid.is_some() {
            ProfileState::Linked
        } else {
            ProfileState::Allocated
        }
    }

    /// Every state, in life-cycle order.
    pub const ALL: [ProfileState; 9] = [
        ProfileState::Available,
        ProfileState::Allocated,
        ProfileState::Linked,
        ProfileState::Confirmed,
        ProfileState::Released,
        ProfileState::Downloaded,
        ProfileState::Installed,
        ProfileState::Error,
        ProfileState::Unavailable,
    ];

    /// The stable lowercase string stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileState::Available => "available",
            ProfileState::Allocated => "allocated",
            ProfileState::Linked => "linked",
            ProfileState::Confirmed => "confirmed",
            ProfileState::Released => "released",
            ProfileState::Downloaded => "downloaded",
            ProfileState::Installed => "installed",
            ProfileState::Error => "error",
            ProfileState::Unavailable => "unavailable",
        }
    }

    /// Whether the SM-DP+ may move a profile from `self` to `next` (SGP.22 v2.5 §5.3).
    ///
    /// Staying in the same state is not a transition and returns `false`.
    pub fn can_transition_to(self, next: ProfileState) -> bool {
        use ProfileState::*;
        match self {
            // DownloadOrder (§5.3.1): without EID → Allocated, with EID → Linked.
            Available => matches!(next, Allocated | Linked | Unavailable),
            // ConfirmOrder (§5.3.2) → Confirmed; CancelOrder (§5.3.3) → Available | Unavailable.
            Allocated | Linked => matches!(next, Confirmed | Available | Unavailable),
            // ReleaseProfile (§5.3.4) → Released; CancelOrder (§5.3.3).
            Confirmed => matches!(next, Released | Available | Unavailable),
            // BPP delivered (§5.6.2) → Downloaded; failure → Error; CancelOrder (§5.3.3).
            Released => matches!(next, Downloaded | Error | Available | Unavailable),
            // Installation result (§5.6.4) → Installed | Error; CancelOrder (§5.3.3).
            Downloaded => matches!(next, Installed | Error | Available | Unavailable),
            // Operator decision after a failure (see the module notes).
            Error => matches!(next, Available | Unavailable),
            // Terminal for now (see the module notes).
            Installed | Unavailable => false,
        }
    }
}

impl fmt::Display for ProfileState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of the stored profile state names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown profile state `{0}`")]
pub struct UnknownProfileState(pub String);

impl FromStr for ProfileState {
    type Err = UnknownProfileState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProfileState::ALL.into_iter().find(|state| state.as_str() == s).ok_or_else(|| UnknownProfileState(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::ProfileState::{self, *};

    #[test]
    fn strings_round_trip_and_are_lowercase() {
        for state in ProfileState::ALL {
            assert_eq!(state.as_str().parse::<ProfileState>().unwrap(), state);
            assert_eq!(state.as_str(), state.as_str().to_lowercase());
        }
        assert!("Available".parse::<ProfileState>().is_err());
        assert!("".parse::<ProfileState>().is_err());
    }

    #[test]
    fn happy_path_is_allowed() {
        let path = [Available, Linked, Confirmed, Released, Downloaded, Installed];
        for pair in path.windows(2) {
            assert!(pair[0].can_transition_to(pair[1]), "{} → {}", pair[0], pair[1]);
        }
        assert!(Available.can_transition_to(Allocated));
        assert!(Allocated.can_transition_to(Confirmed));
    }

    #[test]
    fn shortcuts_and_exits_from_terminal_states_are_rejected() {
        assert!(!Available.can_transition_to(Installed));
        assert!(!Available.can_transition_to(Confirmed));
        assert!(!Allocated.can_transition_to(Released));
        assert!(!Confirmed.can_transition_to(Downloaded));
        assert!(!Error.can_transition_to(Released));
        for next in ProfileState::ALL {
            assert!(!Installed.can_transition_to(next));
            assert!(!Unavailable.can_transition_to(next));
            assert!(!next.can_transition_to(next), "{next} → itself");
        }
    }

    #[test]
    fn cancel_order_reaches_available_or_unavailable_before_installation() {
        for from in [Allocated, Linked, Confirmed, Released, Downloaded, Error] {
            assert!(from.can_transition_to(Available), "{from}");
            assert!(from.can_transition_to(Unavailable), "{from}");
        }
    }
}
