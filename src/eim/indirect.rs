//! Indirect profile download through the eIM (SGP.32 v1.2 §3.2.3; ESipa §5.14.1 InitiateAuthentication,
//! §5.14.2 GetBoundProfilePackage, §5.14.3 AuthenticateClient, §5.14.7 HandleNotification, §5.14.8
//! CancelSession): the IPA talks ESipa to the eIM and the eIM relays each step to the SM-DP+ over ES9+.
//!
//! The SM-DP+ named by the IPA (or, without one, rspd's first SM-DP+ address) decides the route ([`route`]):
//! one of rspd's own addresses is relayed **in process**, any other over ES9+ — the two implementations of
//! [`super::relay::SmdpRelay`]. The transactionId an external SM-DP+ gives is recorded with its address
//! ([`RelaySessions`]) so that every later step (AuthenticateClient, GetBoundProfilePackage, CancelSession)
//! reaches the same SM-DP+ from any rspd node. This file holds the routing rules and the error table.
//!
//! Each error keeps its SGP.22 status code for the JSON binding ([`RelayError::status_code`]) and maps, by that
//! code, to the ESipa ASN.1 error integer of its function (`*_error_code`) — the same table for rspd's own
//! SM-DP+ and an external one.

use crate::smdp::es9::{Es9Error, SmdpContext};
use crate::smdp::ids::same_smdp_address;
use crate::smdp::DownloadRepository;

use super::EimError;

/// Why a relayed step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    /// The SM-DP+ refused the step (its own status code and message).
    #[error(transparent)]
    Es9(#[from] Es9Error),
    /// The external SM-DP+ answered its ES9+ function with `Failed` (its status code and message).
    #[error("SM-DP+ {address} refused: {message} ({subject}/{reason})")]
    SmdpRefused { address: String, subject: String, reason: String, message: String },
    /// The external SM-DP+ could not be reached (network, TLS — e.g. an untrusted certificate — HTTP status,
    /// or an answer that is not ES9+ JSON).
    #[error("SM-DP+ {address} unreachable: {detail}")]
    SmdpUnreachable { address: String, detail: String },
    /// This rspd runs no SM-DP+ (no DP credentials configured).
    #[error("this eIM has no SM-DP+ to relay the indirect download to")]
    NoSmdp,
    /// The external SM-DP+ is not in `eim.smdp_allowed_addresses`: the eIM does not connect to it.
    #[error("SM-DP+ {address} is not an SM-DP+ this eIM relays to (eim.smdp_allowed_addresses)")]
    SmdpNotAllowed { address: String },
}

impl RelayError {
    /// The SGP.22 v2.5 §5.2.6 `(subjectCode, reasonCode)` of the JSON binding. An unreachable SM-DP+ is
    /// 8.8/5.1 (SM-DP+ / inaccessible).
    pub fn status_code(&self) -> (&str, &str) {
        match self {
            RelayError::Es9(e) => e.status_code(),
            RelayError::SmdpRefused { subject, reason, .. } => (subject, reason),
            RelayError::SmdpUnreachable { .. } => ("8.8", "5.1"),
            RelayError::NoSmdp | RelayError::SmdpNotAllowed { .. } => ("8.8.1", "3.8"),
        }
    }

    /// `initiateAuthenticationErrorEsipa`: invalidDpAddress(1), euiccVersionNotSupportedByDp(2),
    /// ciPKIdNotSupported(3), smdpAddressMismatch(50), undefinedError(127).
    pub fn initiate_authentication_error_code(&self) -> i64 {
        match self {
            RelayError::NoSmdp | RelayError::SmdpUnreachable { .. } | RelayError::SmdpNotAllowed { .. } => 1,
            _ => match self.status_code() {
                ("8.8.1", "3.8") => 50,
                ("8.8.3", "3.1") => 2,
                ("8.8.2", "3.1") => 3,
                _ => 127,
            },
        }
    }

    /// `authenticateClientErrorEsipa` (eumCertificateInvalid(1) … insufficientMemory(11), undefinedError(127)).
    pub fn authenticate_client_error_code(&self) -> i64 {
        match self.status_code() {
            ("8.1.2", "6.1") => 1,
            ("8.1.2", "6.3") => 2,
            ("8.1.3", "6.1") | ("8.1.4", "6.1") => 3,
            ("8.1.3", "6.3") => 4,
            ("8.1", "6.1") => 5,
            ("8.2.6", "3.8") => 6,
            ("8.1.1", "3.8") => 7,
            ("8.1.1", "3.9") | ("8.2", "1.2") => 8,
            ("8.11.1", "3.9") => 9,
            ("8.10.1", "3.9") => 10,
            _ => 127,
        }
    }

    /// `getBoundProfilePackageErrorEsipa` (euiccSignatureInvalid(1) … invalidTransactionId(95),
    /// undefinedError(127)).
    pub fn get_bound_profile_package_error_code(&self) -> i64 {
        match self.status_code() {
            ("8.1", "6.1") => 1,
            ("8.2.7", "2.2") => 2,
            ("8.2.7", "3.8") => 3,
            ("8.2.7", "6.4") => 4,
            ("8.2", "3.7") => 5,
            ("8.10.1", "3.9") => 95,
            _ => 127,
        }
    }

    /// `cancelSessionError`: invalidTransactionId(1), euiccSignatureInvalid(2), undefinedError(127).
    pub fn cancel_session_error_code(&self) -> i64 {
        match self.status_code() {
            ("8.10.1", "3.9") => 1,
            ("8.1", "6.1") => 2,
            _ => 127,
        }
    }

    /// Whether the fault is ours rather than the peer's.
    pub fn is_internal(&self) -> bool {
        matches!(self, RelayError::Es9(Es9Error::Internal(_)))
    }
}

/// Where an indirect download goes (§3.2.3): rspd's own SM-DP+ or an external one, by its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Own(String),
    External(String),
}

/// The route of InitiateAuthentication: `smdp_address` (OPTIONAL on ESipa) or, without one, rspd's first
/// SM-DP+ address; an address that is none of rspd's is external.
pub fn route(smdp: Option<&SmdpContext>, smdp_address: Option<&str>) -> Result<Route, RelayError> {
    let own = smdp.map(|s| s.addresses.as_slice()).unwrap_or_default();
    let address = match smdp_address {
        Some(a) => a.trim().to_owned(),
        None => own.first().cloned().ok_or(RelayError::NoSmdp)?,
    };
    if own.iter().any(|a| same_smdp_address(a, &address)) {
        Ok(Route::Own(address))
    } else if smdp.is_none() && smdp_address.is_none() {
        Err(RelayError::NoSmdp)
    } else {
        Ok(Route::External(address))
    }
}

/// Which external SM-DP+ each relayed ES9+ session belongs to (table `eim_relay_sessions`), shared by every
/// rspd node. Transaction ids are upper-case hex.
pub trait RelaySessions: Send + Sync {
    /// Records that `transaction_id` was opened on the external SM-DP+ `smdp_address` (idempotent).
    fn record_relay_session(&self, transaction_id: &str, smdp_address: &str, now: i64) -> Result<(), EimError>;
    /// The external SM-DP+ of `transaction_id`; `None`: not relayed externally (rspd's own SM-DP+).
    fn relay_session(&self, transaction_id: &str) -> Result<Option<String>, EimError>;
    /// Forgets sessions recorded before `before` (Unix ms); how many.
    fn purge_relay_sessions(&self, before: i64) -> Result<usize, EimError>;
}

/// How long a relayed session's route is kept: far beyond any SM-DP+ session timeout.
pub const RELAY_SESSION_RETENTION_MS: i64 = 7 * 86_400_000;

/// The `notificationAddress` of a PendingNotification (SGP.22 v2.5 §5.6.4: the SM-DP+ it is for), checked to
/// be a PendingNotification.
pub fn notification_address(pending_notification: &[u8]) -> Result<String, RelayError> {
    use crate::codec::sgp22::PendingNotification;
    let decoded = crate::codec::decode::<PendingNotification>(pending_notification).map_err(|_| {
        RelayError::Es9(Es9Error::InvalidField {
            field: "pendingNotification",
            detail: "not a PendingNotification".into(),
        })
    })?;
    let metadata = match &decoded {
        PendingNotification::ProfileInstallationResult(pir) => {
            &pir.profile_installation_result_data.notification_metadata
        }
        PendingNotification::OtherSignedNotification(other) => &other.tbs_other_notification,
    };
    Ok(metadata.notification_address.as_str().to_owned())
}

/// Whether the eIM may connect to the external SM-DP+ `address`: it is listed in `allowed`
/// (`eim.smdp_allowed_addresses`, compared as SM-DP+ addresses are) or `allowed` holds `*`.
pub fn external_address_allowed(allowed: &[String], address: &str) -> bool {
    allowed.iter().any(|a| a.trim() == "*" || same_smdp_address(a.trim(), address.trim()))
}

/// Whether `address` is one of rspd's own SM-DP+ addresses.
pub fn is_own_address(smdp: Option<&SmdpContext>, address: &str) -> bool {
    smdp.is_some_and(|s| s.addresses.iter().any(|a| same_smdp_address(a, address)))
}

/// ESipa.HandleNotification with a `pendingNotification` (§5.14.7) for rspd's own SM-DP+ → its durable
/// notification inbox (processed by its background worker as ES9+.HandleNotification, SGP.22 v2.5 §5.6.4); the
/// inbox row id.
pub fn handle_notification(repo: &dyn DownloadRepository, pending_notification: &[u8]) -> Result<i64, RelayError> {
    notification_address(pending_notification)?;
    repo.insert_notification(pending_notification).map_err(|e| RelayError::Es9(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(subject: &str, reason: &str) -> RelayError {
        RelayError::SmdpRefused {
            address: "smdp.example.com".into(),
            subject: subject.into(),
            reason: reason.into(),
            message: "no".into(),
        }
    }

    #[test]
    fn external_smdps_are_reached_only_when_listed() {
        let listed = vec!["SMDP.example.com:8443".to_owned()];
        assert!(external_address_allowed(&listed, "smdp.example.com:8443"));
        assert!(!external_address_allowed(&listed, "smdp.example.com:9443"));
        assert!(!external_address_allowed(&listed, "169.254.169.254"));
        assert!(!external_address_allowed(&[], "smdp.example.com"));
        assert!(external_address_allowed(&["*".to_owned()], "anything.example"));
        let not_allowed = RelayError::SmdpNotAllowed { address: "x".into() };
        assert_eq!(not_allowed.status_code(), ("8.8.1", "3.8"));
        assert_eq!(not_allowed.initiate_authentication_error_code(), 1);
    }

    #[test]
    fn without_own_smdp_every_named_address_is_external() {
        assert_eq!(route(None, Some("smdp.example.com")), Ok(Route::External("smdp.example.com".into())));
        assert_eq!(route(None, None), Err(RelayError::NoSmdp));
    }

    #[test]
    fn external_refusals_map_to_the_esipa_error_of_each_function_by_status_code() {
        assert_eq!(refused("8.10.1", "3.9").authenticate_client_error_code(), 10);
        assert_eq!(refused("8.10.1", "3.9").get_bound_profile_package_error_code(), 95);
        assert_eq!(refused("8.10.1", "3.9").cancel_session_error_code(), 1);
        assert_eq!(refused("8.8.1", "3.8").initiate_authentication_error_code(), 50);
        assert_eq!(refused("8.1.3", "6.1").authenticate_client_error_code(), 3);
        assert_eq!(refused("9.9", "9.9").authenticate_client_error_code(), 127);
        let unreachable = RelayError::SmdpUnreachable { address: "x".into(), detail: "tls".into() };
        assert_eq!(unreachable.initiate_authentication_error_code(), 1);
        assert_eq!(unreachable.get_bound_profile_package_error_code(), 127);
        assert_eq!(unreachable.status_code(), ("8.8", "5.1"));
        // rspd's own SM-DP+ errors go through the same table.
        let own = RelayError::Es9(Es9Error::UnknownTransactionId { detail: "00".into() });
        assert_eq!(own.authenticate_client_error_code(), 10);
    }
}
