//! The SM-DP+ an indirect profile download is relayed to (SGP.32 v1.2 §3.2.3; ESipa §5.14.1–§5.14.3, §5.14.7,
//! §5.14.8 → ES9+ SGP.22 v2.5 §5.6), behind one trait with two implementations:
//! - rspd's own SM-DP+, in process (`impl SmdpRelay for SmdpService`, [`in_process`]): the ES9+ steps of
//!   [`crate::smdp::es9`] run on the blocking pool, and AuthenticateClient hands back the eUICC it verified, so the
//!   eIM learns it without verifying it again;
//! - an external SM-DP+ over ES9+ (`impl SmdpRelay for Es9Client`, `http/clients/es9.rs`), TLS verified against
//!   `eim.smdp_tls_trust`.
//!
//! Which one serves a step — and whether the eIM may connect to an external address at all — is the eIM
//! service's decision ([`super::esipa_service`]), from [`super::indirect::route`] and the persisted relay sessions.
//! Errors keep their SGP.22 status code ([`RelayError`]), whichever implementation answered.

pub mod in_process;

use std::future::Future;
use std::pin::Pin;

use super::indirect::RelayError;
use crate::smdp::es9::authenticate_client::AuthenticatedEuicc;
use crate::smdp::es9::{AuthenticateClientOk, InitiateAuthenticationOk};
use crate::smdp::TransactionId;

/// What a relayed step returns.
pub type RelayFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, RelayError>> + Send + 'a>>;

/// One SM-DP+ the eIM relays ES9+ steps to. `address` is the SM-DP+ address the step is for.
pub trait SmdpRelay: Send + Sync {
    /// ES9+.InitiateAuthentication (§5.6.1). `euicc_info1` is the received `BF20` DER.
    fn initiate_authentication<'a>(
        &'a self,
        address: &'a str,
        euicc_challenge: Vec<u8>,
        euicc_info1: Vec<u8>,
    ) -> RelayFuture<'a, InitiateAuthenticationOk>;

    /// ES9+.AuthenticateClient (§5.6.3), with the eUICC the SM-DP+ verified when it can say (rspd's own: chain and
    /// euiccSignature1 verified; an external one: `None`).
    fn authenticate_client<'a>(
        &'a self,
        address: &'a str,
        transaction_id: TransactionId,
        authenticate_server_response: Vec<u8>,
    ) -> RelayFuture<'a, (AuthenticateClientOk, Option<Box<AuthenticatedEuicc>>)>;

    /// ES9+.GetBoundProfilePackage (§5.6.2): the BPP `BF36`.
    fn get_bound_profile_package<'a>(
        &'a self,
        address: &'a str,
        transaction_id: TransactionId,
        prepare_download_response: Vec<u8>,
    ) -> RelayFuture<'a, Vec<u8>>;

    /// ES9+.CancelSession (§5.6.5).
    fn cancel_session<'a>(
        &'a self,
        address: &'a str,
        transaction_id: TransactionId,
        cancel_session_response: Vec<u8>,
    ) -> RelayFuture<'a, ()>;

    /// ES9+.HandleNotification (§5.6.4): `pending_notification` is the PendingNotification DER.
    fn handle_notification<'a>(&'a self, address: &'a str, pending_notification: Vec<u8>) -> RelayFuture<'a, ()>;
}
