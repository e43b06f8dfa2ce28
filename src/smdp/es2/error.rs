//! Why an ES2+ function failed (SGP.22 v2.5 §5.3.1–§5.3.4).
//!
//! [`OrderError::status_code`] is the ONE place where an ES2+ failure gets its subjectCode/reasonCode.
//! Sources for the codes: SGP.22 v2.5 §5.3.1–§5.3.4 "specific status codes" and the reason code list §5.2.6.2
//! (2.1 Invalid, 2.2 Mandatory Element Missing, 3.3 Already in Use, 3.5 Invalid Transition, 3.7 Unavailable,
//! 3.8 Refused, 3.9 Unknown, 3.10 Invalid Association, 4.2 Execution Error), cross-checked against the
//! SM-DP+ status code table lpac ships (`euicc/es9p_errors.c`: 8.2.1/3.9 "Profile, identified by this ICCID is
//! unknown", 8.2.1/3.3 "Profile identified by the provided ICCID is not available", 8.2.1/3.5 "target Profile
//! cannot be released", 8.2.5/3.7 "No more Profile available for the requested Profile Type", 8.2.5/3.8 "Profile
//! Type not aligned with the Profile identified by the ICCID", 8.2.5/3.9 "Profile Type unknown", 8.2.6/3.3
//! "Conflicting MatchingID value", 8.1.1/3.10 "a different EID is already associated with this ICCID",
//! 8.1.1/2.2 "EID is missing in the context of this order").

use crate::smdp::{ProfileState, RepoError};

/// Why an ES2+ order step failed; [`OrderError::status_code`] gives its ES2+ status code (§5.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// The operator has no profile with this ICCID (§5.3.1–§5.3.4: Profile ICCID — Unknown). Another operator's
    /// profile is reported exactly so: its existence never leaks.
    #[error("the operator has no profile {iccid}")]
    UnknownProfile { iccid: String },
    /// DownloadOrder by ICCID: the profile is not Available (§5.3.1: Profile ICCID — Already in use).
    #[error("profile {iccid} is not available (it is {actual})")]
    NotAvailable { iccid: String, actual: ProfileState },
    /// The profile is not in a state this step starts from (§5.3.2–§5.3.4: Profile ICCID — Invalid transition).
    #[error("profile {iccid} is {actual}, expected {expected}")]
    WrongState { iccid: String, actual: ProfileState, expected: &'static str },
    /// ConfirmOrder/CancelOrder names another EID than the one the profile is bound to (EID — Invalid association).
    #[error("profile {iccid} is linked to another EID")]
    EidMismatch { iccid: String },
    /// ConfirmOrder with an smdsAddress but no EID given or linked (§5.3.2: EID — Mandatory element missing).
    #[error("an EID is required for this order (smdsAddress given, and no EID is linked to profile {iccid})")]
    EidMissing { iccid: String },
    /// The matchingId is already used by another order (§5.3.2: Matching ID — Already in use).
    #[error("matchingId {0} is already in use")]
    MatchingIdInUse(String),
    /// CancelOrder names a matchingId the profile's order does not have (§5.3.3: Matching ID — Unknown).
    #[error("no order of profile {iccid} has matchingId {matching_id}")]
    UnknownMatchingId { iccid: String, matching_id: String },
    /// DownloadOrder by profileType: the operator has no profile of this type at all (Profile Type — Unknown).
    #[error("unknown profile type `{0}`")]
    UnknownProfileType(String),
    /// DownloadOrder by profileType: none of this type is Available any more (Profile Type — Unavailable).
    #[error("no more profile available for profile type `{0}` (stock exhausted)")]
    ProfileTypeUnavailable(String),
    /// DownloadOrder with both: the ICCID's profile is of another type (Profile Type — Refused).
    #[error("profile {iccid} is not of profile type `{profile_type}`")]
    ProfileTypeMismatch { iccid: String, profile_type: String },
    /// A malformed EID (EID — Invalid).
    #[error("invalid eid: {0}")]
    InvalidEid(String),
    /// A malformed matchingId (Matching ID — Invalid).
    #[error("invalid matchingId: {0}")]
    InvalidMatchingId(String),
    /// A malformed field of the request (function parameter — Invalid).
    #[error("invalid {field}: {detail}")]
    InvalidField { field: &'static str, detail: String },
    /// A mandatory field is missing (function parameter — Mandatory element missing).
    #[error("missing {field}")]
    MissingField { field: &'static str },
    /// The functionCallIdentifier was used before for a different request (rspd: header — Already in use).
    #[error("functionCallIdentifier `{0}` was already used for a different request")]
    CallIdReused(String),
    /// The request's `X-Admin-Protocol` names a version rspd does not speak.
    #[error("unsupported protocol version `{0}` (rspd speaks gsma/rsp/v2.x and v3.x)")]
    UnsupportedProtocol(String),
    #[error(transparent)]
    Repo(RepoError),
}

impl OrderError {
    /// `(subjectCode, reasonCode)` per SGP.22 v2.5 §5.3 (sources in the module documentation). Generic request
    /// errors use the same codes as the ES9+ binding (`Es9Error::status_code`): 1.6/2.1, 1.6/2.2, 1.3.2/3.1, 1.2/4.2.
    pub fn status_code(&self) -> (&'static str, &'static str) {
        use OrderError::*;
        match self {
            UnknownProfile { .. } => ("8.2.1", "3.9"),
            NotAvailable { .. } => ("8.2.1", "3.3"),
            WrongState { .. } => ("8.2.1", "3.5"),
            EidMismatch { .. } => ("8.1.1", "3.10"),
            EidMissing { .. } => ("8.1.1", "2.2"),
            MatchingIdInUse(_) => ("8.2.6", "3.3"),
            UnknownMatchingId { .. } => ("8.2.6", "3.9"),
            UnknownProfileType(_) => ("8.2.5", "3.9"),
            ProfileTypeUnavailable(_) => ("8.2.5", "3.7"),
            ProfileTypeMismatch { .. } => ("8.2.5", "3.8"),
            InvalidEid(_) => ("8.1.1", "2.1"),
            InvalidMatchingId(_) => ("8.2.6", "2.1"),
            InvalidField { .. } => ("1.6", "2.1"),
            MissingField { .. } => ("1.6", "2.2"),
            CallIdReused(_) => ("1.6", "3.3"),
            UnsupportedProtocol(_) => ("1.3.2", "3.1"),
            Repo(_) => ("1.2", "4.2"),
        }
    }

    /// A fault on rspd's side (database): not the caller's, never recorded as the call's answer.
    pub fn is_internal(&self) -> bool {
        matches!(self, OrderError::Repo(_))
    }

    /// What the caller may read: internal details stay in the log.
    pub fn public_message(&self) -> String {
        match self {
            OrderError::Repo(_) => "SM-DP+ internal error, try again later".to_owned(),
            other => other.to_string(),
        }
    }
}
