//! The download session state machine (SGP.22 v2.5 §3.1.2 common mutual authentication, §3.1.3 download):
//!
//! ```text
//! Initiated ──authenticateClient──▶ Authenticated ──getBoundProfilePackage──▶ BppDelivered ──PIR──▶ Completed
//!     └────────────┴──────── cancelSession ─────────────┴──▶ Cancelled        (timeout) ──▶ Expired
//! ```
//!
//! As in rustls, each state is a struct holding exactly what the next step needs; a step function consumes
//! the previous state and returns the next one, so an out-of-order request has no code path. The session is
//! persisted as one row ([`SessionRecord`]) keyed by transactionId, so any node can serve any step; the
//! `into_*` conversions are where a stored row becomes a typed state (or an "unknown transactionId" error).

use crate::clock::unix_ms;
use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

use super::es9::Es9Error;
use super::ids::{Eid, TransactionId};
use crate::pki::{Curve, EcPublicKey};

/// The stored state of a download session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    Initiated,
    Authenticated,
    BppDelivered,
    Completed,
    Cancelled,
    Expired,
}

impl SessionState {
    pub const ALL: [SessionState; 6] = [
        SessionState::Initiated,
        SessionState::Authenticated,
        SessionState::BppDelivered,
        SessionState::Completed,
        SessionState::Cancelled,
        SessionState::Expired,
    ];

    /// The stable string stored in the database (a CHECK constraint lists them).
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Initiated => "initiated",
            SessionState::Authenticated => "authenticated",
            SessionState::BppDelivered => "bpp_delivered",
            SessionState::Completed => "completed",
            SessionState::Cancelled => "cancelled",
            SessionState::Expired => "expired",
        }
    }

    /// Whether an LPA may still continue the session.
    pub fn is_open(self) -> bool {
        matches!(self, SessionState::Initiated | SessionState::Authenticated | SessionState::BppDelivered)
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SessionState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        SessionState::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| format!("unknown session state `{s}`"))
    }
}

/// A session row as stored (flat; optional columns fill in as the session advances).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Upper-case hex.
    pub transaction_id: String,
    pub state: SessionState,
    /// The SM-DP+ address the LPA used (and that went into serverSigned1).
    pub server_address: String,
    /// The curve of the DPauth/DPpb credentials chosen for this eUICC.
    pub curve: Curve,
    /// The CI (subjectKeyIdentifier) chosen in InitiateAuthentication.
    pub ci_pkid: Vec<u8>,
    pub server_challenge: Vec<u8>,
    pub euicc_challenge: Vec<u8>,
    pub eid: Option<String>,
    pub order_id: Option<i64>,
    pub operator_id: Option<String>,
    pub iccid: Option<String>,
    /// PK.EUICC.ECDSA as an uncompressed point.
    pub euicc_public_key: Option<Vec<u8>>,
    /// smdpSignature2 as its `5F37` data object (euiccSignature2 covers it).
    pub smdp_signature2: Option<Vec<u8>>,
    pub cc_required: bool,
    pub otpk_euicc: Option<Vec<u8>>,
    pub bpp: Option<Vec<u8>>,
    /// Unix ms.
    pub expires_at: i64,
}

/// A new session, as InitiateAuthentication stores it.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub transaction_id: TransactionId,
    pub server_address: String,
    pub curve: Curve,
    pub ci_pkid: Vec<u8>,
    pub server_challenge: [u8; 16],
    pub euicc_challenge: [u8; 16],
    pub expires_at: i64,
}

/// Waiting for AuthenticateClient (§5.6.3).
#[derive(Debug, Clone)]
pub struct Initiated {
    pub transaction_id: TransactionId,
    pub server_address: String,
    pub curve: Curve,
    pub ci_pkid: Vec<u8>,
    pub server_challenge: Vec<u8>,
}

/// Waiting for GetBoundProfilePackage (§5.6.2).
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub transaction_id: TransactionId,
    pub curve: Curve,
    pub eid: Eid,
    pub order_id: i64,
    pub operator_id: String,
    pub iccid: String,
    pub euicc_public_key: EcPublicKey,
    pub smdp_signature2: Vec<u8>,
    pub cc_required: bool,
}

/// The BPP is built and stored: a retry with the same otPK.EUICC gets the same bytes (§3.1.3).
#[derive(Debug, Clone)]
pub struct BppDelivered {
    pub authenticated: Authenticated,
    pub otpk_euicc: Vec<u8>,
    pub bpp: Vec<u8>,
}

/// What AuthenticateClient stores when it moves a session Initiated → Authenticated.
#[derive(Debug, Clone)]
pub struct AuthenticatedUpdate {
    pub eid: String,
    pub order_id: i64,
    pub operator_id: String,
    pub iccid: String,
    pub euicc_public_key: Vec<u8>,
    pub smdp_signature2: Vec<u8>,
    pub cc_required: bool,
}

/// otPK.EUICC and the BPP of a session, once stored.
struct StoredBinding {
    otpk_euicc: Option<Vec<u8>>,
    bpp: Option<Vec<u8>>,
}

impl SessionRecord {
    fn open_at(&self, now: OffsetDateTime) -> Result<TransactionId, Es9Error> {
        if self.expires_at <= unix_ms(now) {
            return Err(Es9Error::UnknownTransactionId { detail: "the session has expired".into() });
        }
        TransactionId::from_hex(&self.transaction_id).map_err(Es9Error::internal)
    }

    /// The session as AuthenticateClient needs it, looked up by `transaction_id` (so its hex key is not parsed
    /// again); any other state is an unknown (used) transactionId.
    pub fn into_initiated(self, transaction_id: &TransactionId, now: OffsetDateTime) -> Result<Initiated, Es9Error> {
        if self.state != SessionState::Initiated {
            return Err(Es9Error::UnknownTransactionId { detail: format!("the session is {}", self.state) });
        }
        if self.expires_at <= unix_ms(now) {
            return Err(Es9Error::UnknownTransactionId { detail: "the session has expired".into() });
        }
        if self.transaction_id != transaction_id.as_hex() {
            return Err(Es9Error::internal(format!("session {} read for {transaction_id}", self.transaction_id)));
        }
        Ok(Initiated {
            transaction_id: transaction_id.clone(),
            server_address: self.server_address,
            curve: self.curve,
            ci_pkid: self.ci_pkid,
            server_challenge: self.server_challenge,
        })
    }

    fn authenticated_parts(self, transaction_id: TransactionId) -> Result<(Authenticated, StoredBinding), Es9Error> {
        let missing = |what: &str| Es9Error::internal(format!("session {} lacks {what}", self.transaction_id));
        let eid = Eid::new(self.eid.as_deref().ok_or_else(|| missing("eid"))?).map_err(Es9Error::internal)?;
        let point = self.euicc_public_key.as_deref().ok_or_else(|| missing("euicc_public_key"))?;
        let euicc_public_key = EcPublicKey::from_point(self.curve, point).map_err(Es9Error::internal)?;
        let authenticated = Authenticated {
            transaction_id,
            curve: self.curve,
            eid,
            order_id: self.order_id.ok_or_else(|| missing("order_id"))?,
            operator_id: self.operator_id.clone().ok_or_else(|| missing("operator_id"))?,
            iccid: self.iccid.clone().ok_or_else(|| missing("iccid"))?,
            euicc_public_key,
            smdp_signature2: self.smdp_signature2.clone().ok_or_else(|| missing("smdp_signature2"))?,
            cc_required: self.cc_required,
        };
        Ok((authenticated, StoredBinding { otpk_euicc: self.otpk_euicc, bpp: self.bpp }))
    }

    /// The session as GetBoundProfilePackage needs it: Authenticated, or BppDelivered for a retry.
    pub fn into_download_step(self, now: OffsetDateTime) -> Result<Result<Authenticated, BppDelivered>, Es9Error> {
        let state = self.state;
        if !matches!(state, SessionState::Authenticated | SessionState::BppDelivered) {
            return Err(Es9Error::UnknownTransactionId { detail: format!("the session is {state}") });
        }
        let tx = self.open_at(now)?;
        let (authenticated, binding) = self.authenticated_parts(tx)?;
        match (state, binding.otpk_euicc, binding.bpp) {
            (SessionState::Authenticated, _, _) => Ok(Ok(authenticated)),
            (_, Some(otpk_euicc), Some(bpp)) => Ok(Err(BppDelivered { authenticated, otpk_euicc, bpp })),
            _ => Err(Es9Error::internal("bpp_delivered session without its BPP")),
        }
    }

    /// The eUICC key of a session that got as far as AuthenticateClient (for notifications and
    /// CancelSession, which may arrive after expiry).
    pub fn euicc_key(&self) -> Option<EcPublicKey> {
        EcPublicKey::from_point(self.curve, self.euicc_public_key.as_deref()?).ok()
    }
}
