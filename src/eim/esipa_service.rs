//! The eIM's ESipa application service (SGP.32 v1.2 §5.14, §6.3/§6.4): what both ESipa bindings
//! (`http/device/esipa_asn1.rs`, `http/device/esipa_json.rs`), the operator's eIM API and the eIM jobs hold. It runs
//! the domain steps of [`super::service`] on the blocking pool and decides the indirect download's route (§3.2.3):
//! each relayed step goes to an [`SmdpRelay`] — rspd's own SM-DP+ in process, or an external one over ES9+ — and the
//! external session's transactionId is persisted ([`super::indirect::RelaySessions`]) so any node relays the next
//! step. It also learns eUICCs (`eim.learn_operator`) from the relay's verified result and forwards notifications
//! for external SM-DP+s through a durable outbox.

use crate::logging::pii;

use super::indirect::{self, RelayError, Route};
use super::notification_outbox;
use super::ports::EimPorts;
use super::relay::SmdpRelay;
use super::service::{self, ReceivedResult, RecordedResult};
use super::{DeviceContact, EimContext, EimError, PackageOrder};
use crate::smdp::es9::authenticate_client::AuthenticatedEuicc;
use crate::smdp::es9::{AuthenticateClientOk, Es9Error, InitiateAuthenticationOk};
use crate::smdp::service::SmdpService;
use crate::smdp::TransactionId;

/// Runs a blocking store / key store call off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, EimError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| EimError::Store(format!("blocking pool: {e}")))
}

/// What the ESipa handlers, the eIM API and the eIM jobs share (cheap to clone).
#[derive(Clone)]
pub struct EimService {
    pub ctx: EimContext,
    pub repo: std::sync::Arc<dyn EimPorts>,
    /// rspd's own SM-DP+, for the indirect download relay (§3.2.3); `None`: the relay answers
    /// [`RelayError::NoSmdp`].
    pub smdp: Option<SmdpService>,
    /// The relay to external SM-DP+s (ES9+ over TLS verified against `eim.smdp_tls_trust`); `None`: external
    /// addresses are refused.
    pub external: Option<std::sync::Arc<dyn SmdpRelay>>,
    /// `eim.smdp_allowed_addresses`: the external SM-DP+s the relay may call (`*`: any); empty: none.
    pub smdp_allowed_addresses: Vec<String>,
    /// `eim.learn_operator`: unknown eUICCs that authenticate are registered under it; `None`: off.
    pub learn_operator: Option<String>,
    /// `limits.eid_requests_per_min`, shared with the SM-DP+'s AuthenticateClient (issue 10 item 4); `None`: off.
    pub eid_rate: Option<std::sync::Arc<crate::rate_limit::KeyedLimiter<String>>>,
}

impl EimService {
    /// rspd's per-EID rate for GetEimPackage (issue 10 item 4), keyed like AuthenticateClient's (the 32 EID digits).
    /// The EID of a GetEimPackage is not authenticated: a caller claiming another device's EID spends that EID's
    /// budget too (the per-address rate bounds how fast).
    pub fn check_eid_rate(&self, eid_value: &[u8]) -> Result<(), std::time::Duration> {
        match &self.eid_rate {
            Some(limiter) => limiter.check(&hex::encode_upper(eid_value)),
            None => Ok(()),
        }
    }

    /// ESipa.GetEimPackage: the next package for the eUICC with `eid_value` (16 bytes), now Dispatched.
    pub async fn get_eim_package(
        &self,
        eid_value: Vec<u8>,
        contact: DeviceContact,
    ) -> Result<Option<PackageOrder>, EimError> {
        let now = crate::clock::now_ms();
        let eid = super::registry::eid_from_value(&eid_value)?;
        // Most polls find nothing to do: read in place when the store can answer at once, and go to the blocking
        // pool only to write.
        if let Some(facts) = self.repo.registry().poll_facts_now(&eid, now) {
            let Some(claim) = service::poll_write(&self.ctx, &eid, facts?, &contact, now)? else {
                return Ok(None);
            };
            let svc = self.clone();
            return blocking(move || svc.repo.registry().record_poll(&eid, &contact, now, claim)).await?;
        }
        let svc = self.clone();
        blocking(move || service::get_eim_package(svc.repo.registry(), &svc.ctx, &eid_value, &contact, now)).await?
    }

    /// ESipa.ProvideEimPackageResult / TransferEimPackage results / HandleNotification's provideEimPackageResult.
    pub async fn record_result(
        &self,
        eid_value: Option<Vec<u8>>,
        received: ReceivedResult,
    ) -> Result<RecordedResult, EimError> {
        let svc = self.clone();
        let result = blocking(move || {
            let recorded = service::record_eim_package_result(
                svc.repo.registry(),
                &svc.ctx,
                eid_value.as_deref(),
                &received,
                crate::clock::now_ms(),
            )?;
            if !recorded.repeated {
                // The next step of an operator order is queued before the IPA polls again.
                super::orders::advance_after_result(&*svc.repo, &svc.ctx, recorded.order.id, crate::clock::now_ms());
            }
            Ok(recorded)
        })
        .await
        .and_then(|r| r);
        match &result {
            Ok(recorded) => tracing::info!(
                eid = %pii(&recorded.order.eid),
                order = recorded.order.id,
                state = %recorded.order.state,
                reason = recorded.order.failure_reason.as_deref().unwrap_or(""),
                repeated = recorded.repeated,
                "eIM package result recorded"
            ),
            Err(e) => log_eim_error("ProvideEimPackageResult", e),
        }
        result
    }

    /// rspd's own SM-DP+ as a relay.
    fn own(&self) -> Result<&dyn SmdpRelay, RelayError> {
        self.smdp.as_ref().map(|s| s as &dyn SmdpRelay).ok_or(RelayError::NoSmdp)
    }

    /// The external SM-DP+ relay for `address`, if the eIM may connect to it.
    fn external(&self, address: &str) -> Result<&dyn SmdpRelay, RelayError> {
        if !indirect::external_address_allowed(&self.smdp_allowed_addresses, address) {
            return Err(RelayError::SmdpNotAllowed { address: address.to_owned() });
        }
        self.external.as_deref().ok_or_else(|| RelayError::SmdpUnreachable {
            address: address.to_owned(),
            detail: "this eIM relays to no external SM-DP+ (no eim.smdp_tls_trust)".into(),
        })
    }

    /// The relay of a session's later step: the external SM-DP+ recorded for its transactionId, else rspd's own.
    async fn session_relay(
        &self,
        transaction_id: &[u8],
    ) -> Result<(&dyn SmdpRelay, String, TransactionId), RelayError> {
        let tx = TransactionId::from_bytes(transaction_id)
            .map_err(|detail| RelayError::Es9(Es9Error::InvalidField { field: "transactionId", detail }))?;
        let (store, hex) = (self.repo.clone(), tx.to_hex());
        let address = blocking(move || store.relay_session(&hex))
            .await
            .and_then(|r| r)
            .map_err(|e| RelayError::Es9(Es9Error::internal(e)))?;
        match address {
            Some(address) => Ok((self.external(&address)?, address, tx)),
            None => {
                let own = self.own()?;
                let address = self.smdp.as_ref().and_then(|s| s.ctx.addresses.first().cloned()).unwrap_or_default();
                Ok((own, address, tx))
            }
        }
    }

    /// ESipa.InitiateAuthentication (§5.14.1): to rspd's own SM-DP+ or, by ES9+, to the external one named; the
    /// external session is recorded so that its later steps reach the same SM-DP+ from any node.
    pub async fn initiate_authentication(
        &self,
        euicc_challenge: Vec<u8>,
        euicc_info1: Option<Vec<u8>>,
        smdp_address: Option<String>,
    ) -> Result<InitiateAuthenticationOk, RelayError> {
        let route = indirect::route(self.smdp.as_ref().map(|s| &s.ctx), smdp_address.as_deref())?;
        let (relay, address, external) = match &route {
            Route::Own(address) => (self.own()?, address, false),
            Route::External(address) => (self.external(address)?, address, true),
        };
        let info1 = euicc_info1.ok_or(Es9Error::MissingField { field: "euiccInfo1" })?;
        let ok = relay.initiate_authentication(address, euicc_challenge, info1).await?;
        if external {
            let (store, tx, address) = (self.repo.clone(), ok.transaction_id.to_hex(), address.clone());
            blocking(move || store.record_relay_session(&tx, &address, crate::clock::now_ms()))
                .await
                .and_then(|r| r)
                .map_err(|e| RelayError::Es9(Es9Error::internal(e)))
                .inspect_err(|e| tracing::error!(error = %e, "recording the relayed ES9+ session failed"))?;
        }
        Ok(ok)
    }

    /// ESipa.AuthenticateClient (§5.14.3) to the SM-DP+ of the session; on success, learns the eUICC when
    /// `eim.learn_operator` is set — from what rspd's own SM-DP+ verified, or, for an external SM-DP+, by verifying
    /// the response here.
    pub async fn authenticate_client(
        &self,
        transaction_id: Vec<u8>,
        authenticate_server_response: Vec<u8>,
    ) -> Result<AuthenticateClientOk, RelayError> {
        let (relay, address, tx) = self.session_relay(&transaction_id).await?;
        let to_verify = self.learn_operator.as_ref().map(|_| authenticate_server_response.clone());
        let (ok, verified) = relay.authenticate_client(&address, tx, authenticate_server_response).await?;
        match (verified, to_verify) {
            (Some(euicc), _) => self.learn(Learn::Verified(euicc)).await,
            (None, Some(asr)) => self.learn(Learn::Verify(asr)).await,
            (None, None) => {}
        }
        Ok(ok)
    }

    /// ESipa.GetBoundProfilePackage (§5.14.2) to the SM-DP+ of the session.
    pub async fn get_bound_profile_package(
        &self,
        transaction_id: Vec<u8>,
        prepare_download_response: Vec<u8>,
    ) -> Result<Vec<u8>, RelayError> {
        let (relay, address, tx) = self.session_relay(&transaction_id).await?;
        relay.get_bound_profile_package(&address, tx, prepare_download_response).await
    }

    /// ESipa.CancelSession (§5.14.8) to the SM-DP+ of the session.
    pub async fn cancel_session(
        &self,
        transaction_id: Vec<u8>,
        cancel_session_response: Vec<u8>,
    ) -> Result<(), RelayError> {
        let (relay, address, tx) = self.session_relay(&transaction_id).await?;
        relay.cancel_session(&address, tx, cancel_session_response).await
    }

    /// ESipa.HandleNotification with a `pendingNotification` (§5.14.7): a notification for rspd's own SM-DP+ goes to
    /// its inbox; one for another SM-DP+ is stored in the eIM's notification outbox and sent over ES9+ by
    /// [`Self::forward_due_notifications`], so the IPA is answered at once.
    pub async fn handle_notification(&self, pending_notification: Vec<u8>) -> Result<(), RelayError> {
        let address = indirect::notification_address(&pending_notification)?;
        if indirect::is_own_address(self.smdp.as_ref().map(|s| &s.ctx), &address) {
            return self.own()?.handle_notification(&address, pending_notification).await;
        }
        self.external(&address)?;
        let store = self.repo.clone();
        blocking(move || store.enqueue_notification(&address, &pending_notification, crate::clock::now_ms()))
            .await
            .and_then(|r| r)
            .map_err(|e| RelayError::Es9(Es9Error::internal(e)))
    }

    /// Forgets relay sessions older than [`indirect::RELAY_SESSION_RETENTION_MS`] (run now and then by the
    /// notification outbox job); how many.
    pub async fn purge_relay_sessions(&self) -> Result<usize, EimError> {
        let store = self.repo.clone();
        blocking(move || store.purge_relay_sessions(crate::clock::now_ms() - indirect::RELAY_SESSION_RETENTION_MS))
            .await?
    }

    /// One round of the notification outbox job: sends every due notification to its external SM-DP+ over ES9+
    /// handleNotification; a failure is retried with backoff, dropped (logged) after
    /// [`notification_outbox::MAX_ATTEMPTS`].
    pub async fn forward_due_notifications(&self) -> Result<usize, EimError> {
        let store = self.repo.clone();
        let due = blocking(move || store.claim_due_notifications(crate::clock::now_ms(), 50)).await??;
        let mut delivered = 0;
        for n in due {
            let sent = match &self.external {
                Some(relay) => relay.handle_notification(&n.smdp_address, n.pending_notification.clone()).await,
                None => Err(RelayError::SmdpUnreachable {
                    address: n.smdp_address.clone(),
                    detail: "no ES9+ client (eim.smdp_tls_trust)".into(),
                }),
            };
            let store = self.repo.clone();
            match sent {
                // A refusal is the SM-DP+'s final word on this notification: do not send it again.
                Ok(()) | Err(RelayError::SmdpRefused { .. }) => {
                    if let Err(e) = &sent {
                        tracing::warn!(error = %e, "notification refused by the external SM-DP+");
                    } else {
                        delivered += 1;
                    }
                    blocking(move || store.remove_notification(n.id)).await??;
                }
                Err(e) if n.attempts + 1 >= notification_outbox::MAX_ATTEMPTS => {
                    tracing::error!(error = %e, attempts = n.attempts + 1, "notification dropped after its last attempt");
                    blocking(move || store.remove_notification(n.id)).await??;
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempts = n.attempts + 1, "notification forwarding failed; will retry");
                    let next = crate::clock::now_ms() + notification_outbox::retry_delay_ms(n.attempts + 1);
                    let error = e.to_string();
                    blocking(move || store.notification_attempt_failed(n.id, &error, next)).await??;
                }
            }
        }
        Ok(delivered)
    }

    /// ProvideEimPackageResult / TransferEimPackage (SGP.32 v1.2 §5.14.3, §5.14.2): records `received` (an
    /// EuiccPackageResult only once its eUICC signature is verified, [`Self::record_result`]), and only then
    /// forwards the PendingNotifications of an `ePRAndNotifications` result (`eim_package_result`, §6.3.2.x) to
    /// their SM-DP+ ([`Self::handle_notification`]), best effort: a notification that cannot be forwarded is
    /// logged. A result that is refused forwards nothing (issue 10 item 8: an unverified result must not make
    /// the eIM deliver the notifications it carries).
    pub async fn record_result_and_forward(
        &self,
        eid_value: Option<Vec<u8>>,
        received: ReceivedResult,
        eim_package_result: &[u8],
    ) -> Result<RecordedResult, EimError> {
        let notifications = service::epr_notifications(eim_package_result);
        let recorded = self.record_result(eid_value, received).await?;
        for pending in notifications {
            if let Err(e) = self.handle_notification(pending).await {
                tracing::warn!(error = %e, "a notification from ePRAndNotifications was not forwarded");
            }
        }
        Ok(recorded)
    }

    /// Registers the authenticated eUICC under `eim.learn_operator` if unknown (see [`crate::eim::learn`]).
    async fn learn(&self, what: Learn) {
        let (Some(operator), Some(smdp)) = (self.learn_operator.clone(), self.smdp.clone()) else { return };
        let svc = self.clone();
        let learned = blocking(move || match what {
            Learn::Verified(euicc) => super::learn::learn_authenticated(&*svc.repo, &svc.ctx.eim_id, &operator, &euicc),
            Learn::Verify(authenticate_server_response) => super::learn::learn_from_authenticate_server_response(
                &*svc.repo,
                &smdp.ctx.trusted_cis,
                &svc.ctx.eim_id,
                &operator,
                &authenticate_server_response,
                time::OffsetDateTime::now_utc(),
            ),
        })
        .await;
        match learned {
            Ok(Ok(super::learn::Learned::Registered { eid })) => {
                tracing::info!(eid = %pii(&eid), "eUICC learned at its first authenticated contact")
            }
            Ok(Ok(super::learn::Learned::Known { .. })) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "eUICC not learned"),
            Err(e) => tracing::error!(error = %e, "eUICC learning: blocking pool"),
        }
    }
}

/// What [`EimService::learn`] learns from.
enum Learn {
    /// The eUICC rspd's own SM-DP+ authenticated (nothing to verify again).
    Verified(Box<AuthenticatedEuicc>),
    /// An AuthenticateServerResponse an external SM-DP+ accepted: verified here first.
    Verify(Vec<u8>),
}

/// Logs an eIM error at error level when it is ours, warn when the peer's.
pub fn log_eim_error(function: &str, e: &EimError) {
    if e.is_internal() {
        tracing::error!(function, error = %e, "ESipa request failed");
    } else {
        tracing::warn!(function, error = %crate::logging::variant(e), "ESipa request refused");
        tracing::debug!(function, error = %e, "ESipa request refused (detail)");
    }
}
