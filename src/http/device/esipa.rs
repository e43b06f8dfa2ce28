//! What the two ESipa bindings share (SGP.32 v1.2 §6.3 ASN.1 binding in [`super::esipa_asn1`], §6.4 JSON binding
//! in [`super::esipa_json`]): the [`EimService`] handle and its calls into the eIM domain
//! ([`crate::eim::service`], [`crate::eim::indirect`]) on the blocking pool, plus the header check. A binding
//! only translates its wire format to these calls and their results back; no rule lives in a binding.
//!
//! The indirect download (§3.2.3) goes to rspd's own SM-DP+ in process or, for any other SM-DP+ address, over
//! ES9+ with [`Es9Client`]; the external session's transactionId is persisted (`eim_relay_sessions`) so any node
//! relays the next step. Learning (`eim.learn_operator`) and the forwarding of notifications also live here.

use crate::logging::pii;
use actix_web::web;

use crate::eim::indirect::{self, RelayError, Route};
use crate::eim::notification_outbox;
use crate::eim::ports::EimPorts;
use crate::eim::service::{self, ReceivedResult, RecordedResult};
use crate::eim::{DeviceContact, EimContext, EimError, PackageOrder};
use crate::http::clients::es9::Es9Client;
use crate::smdp::es9::authenticate_client::AuthenticatedEuicc;
use crate::smdp::es9::{AuthenticateClientOk, Es9Error, InitiateAuthenticationOk, SmdpContext};
use crate::smdp::service::SmdpService;
use crate::smdp::{DownloadRepository, TransactionId};

/// What the ESipa handlers share.
#[derive(Clone)]
pub struct EimService {
    pub ctx: EimContext,
    pub repo: std::sync::Arc<dyn EimPorts>,
    /// rspd's own SM-DP+, for the indirect download relay (§3.2.3); `None`: the relay answers
    /// [`RelayError::NoSmdp`].
    pub smdp: Option<SmdpService>,
    /// ES9+ client for external SM-DP+s (`eim.smdp_tls_trust`); `None`: external addresses are refused.
    pub es9_client: Option<Es9Client>,
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
        let svc = self.clone();
        flatten(
            web::block(move || {
                service::get_eim_package(svc.repo.registry(), &svc.ctx, &eid_value, &contact, crate::clock::now_ms())
            })
            .await,
        )
    }

    /// ESipa.ProvideEimPackageResult / TransferEimPackage results / HandleNotification's provideEimPackageResult.
    pub async fn record_result(
        &self,
        eid_value: Option<Vec<u8>>,
        received: ReceivedResult,
    ) -> Result<RecordedResult, EimError> {
        let svc = self.clone();
        let result = flatten(
            web::block(move || {
                let recorded = service::record_eim_package_result(
                    svc.repo.registry(),
                    &svc.ctx,
                    eid_value.as_deref(),
                    &received,
                    crate::clock::now_ms(),
                )?;
                if !recorded.repeated {
                    // The next step of an operator order is queued before the IPA polls again.
                    crate::eim::orders::advance_after_result(
                        &*svc.repo,
                        &svc.ctx,
                        recorded.order.id,
                        crate::clock::now_ms(),
                    );
                }
                Ok(recorded)
            })
            .await,
        );
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

    /// Runs one indirect-download step against rspd's own SM-DP+ on the blocking pool.
    pub async fn relay<T: Send + 'static>(
        &self,
        function: &'static str,
        f: impl FnOnce(&SmdpContext, &dyn DownloadRepository) -> Result<T, RelayError> + Send + 'static,
    ) -> Result<T, RelayError> {
        let Some(smdp) = self.smdp.clone() else { return Err(RelayError::NoSmdp) };
        let result = web::block(move || f(&smdp.ctx, smdp.repo.downloads()))
            .await
            .map_err(|e| RelayError::Es9(crate::smdp::es9::Es9Error::internal(e)))
            .and_then(|r| r);
        if let Err(e) = &result {
            if e.is_internal() {
                tracing::error!(function, error = %e, "ESipa relay to the SM-DP+ failed");
            } else {
                tracing::info!(function, error = %e, "ESipa relay: the SM-DP+ refused");
            }
        }
        result
    }

    /// ESipa.InitiateAuthentication (§5.14.1): to rspd's own SM-DP+ or, by ES9+, to the external one named.
    pub async fn initiate_authentication(
        &self,
        euicc_challenge: Vec<u8>,
        euicc_info1: Option<Vec<u8>>,
        smdp_address: Option<String>,
    ) -> Result<InitiateAuthenticationOk, RelayError> {
        let route = indirect::route(self.smdp.as_ref().map(|s| &s.ctx), smdp_address.as_deref());
        match route {
            Err(e) => Err(e),
            Ok(Route::Own(_)) => {
                self.relay("InitiateAuthentication", move |ctx, repo| {
                    indirect::initiate_authentication(
                        ctx,
                        repo,
                        &euicc_challenge,
                        euicc_info1.as_deref(),
                        smdp_address.as_deref(),
                        time::OffsetDateTime::now_utc(),
                    )
                })
                .await
            }
            Ok(Route::External(address)) => {
                let client = self.external_client(&address)?;
                let info1 = euicc_info1.ok_or(Es9Error::MissingField { field: "euiccInfo1" })?;
                let ok = logged(
                    "InitiateAuthentication",
                    client.initiate_authentication(&address, &euicc_challenge, &info1).await,
                )?;
                let (store, tx) = (self.repo.clone(), ok.transaction_id.to_hex());
                let recorded =
                    web::block(move || store.record_relay_session(&tx, &address, crate::clock::now_ms())).await;
                match recorded {
                    Ok(Ok(())) => Ok(ok),
                    Ok(Err(e)) => Err(RelayError::Es9(Es9Error::internal(e))),
                    Err(e) => Err(RelayError::Es9(Es9Error::internal(e))),
                }
                .inspect_err(|e| tracing::error!(error = %e, "recording the relayed ES9+ session failed"))
            }
        }
    }

    /// ESipa.AuthenticateClient (§5.14.3) to the SM-DP+ of the session; on success, learns the eUICC when
    /// `eim.learn_operator` is set — from what rspd's own SM-DP+ verified, or, for an external SM-DP+, by verifying
    /// the response here.
    pub async fn authenticate_client(
        &self,
        transaction_id: Vec<u8>,
        authenticate_server_response: Vec<u8>,
    ) -> Result<AuthenticateClientOk, RelayError> {
        match self.external_session(&transaction_id).await? {
            Some((address, tx)) => {
                let client = self.external_client(&address)?;
                let result = logged(
                    "AuthenticateClient",
                    client.authenticate_client(&address, &tx, &authenticate_server_response).await,
                );
                if result.is_ok() {
                    self.learn(Learn::Verify(authenticate_server_response)).await;
                }
                result
            }
            None => {
                let (ok, euicc) = self
                    .relay("AuthenticateClient", move |ctx, repo| {
                        indirect::authenticate_client(
                            ctx,
                            repo,
                            &transaction_id,
                            &authenticate_server_response,
                            time::OffsetDateTime::now_utc(),
                        )
                    })
                    .await?;
                self.learn(Learn::Verified(Box::new(euicc))).await;
                Ok(ok)
            }
        }
    }

    /// ESipa.GetBoundProfilePackage (§5.14.2) to the SM-DP+ of the session.
    pub async fn get_bound_profile_package(
        &self,
        transaction_id: Vec<u8>,
        prepare_download_response: Vec<u8>,
    ) -> Result<Vec<u8>, RelayError> {
        match self.external_session(&transaction_id).await? {
            Some((address, tx)) => {
                let client = self.external_client(&address)?;
                logged(
                    "GetBoundProfilePackage",
                    client.get_bound_profile_package(&address, &tx, &prepare_download_response).await,
                )
            }
            None => {
                self.relay("GetBoundProfilePackage", move |ctx, repo| {
                    indirect::get_bound_profile_package(
                        ctx,
                        repo,
                        &transaction_id,
                        &prepare_download_response,
                        time::OffsetDateTime::now_utc(),
                    )
                })
                .await
            }
        }
    }

    /// ESipa.CancelSession (§5.14.8) to the SM-DP+ of the session.
    pub async fn cancel_session(
        &self,
        transaction_id: Vec<u8>,
        cancel_session_response: Vec<u8>,
    ) -> Result<(), RelayError> {
        match self.external_session(&transaction_id).await? {
            Some((address, tx)) => {
                let client = self.external_client(&address)?;
                logged("CancelSession", client.cancel_session(&address, &tx, &cancel_session_response).await)
            }
            None => {
                self.relay("CancelSession", move |ctx, repo| {
                    indirect::cancel_session(
                        ctx,
                        repo,
                        &transaction_id,
                        &cancel_session_response,
                        time::OffsetDateTime::now_utc(),
                    )
                })
                .await
            }
        }
    }

    /// ESipa.HandleNotification with a `pendingNotification` (§5.14.7): a notification for rspd's own SM-DP+ is
    /// stored in its inbox (worker woken); one for another SM-DP+ is stored in the eIM's notification outbox and
    /// sent over ES9+ by [`Self::forward_due_notifications`], so the IPA is answered at once.
    pub async fn handle_notification(&self, pending_notification: Vec<u8>) -> Result<(), RelayError> {
        let address = indirect::notification_address(&pending_notification)?;
        if indirect::is_own_address(self.smdp.as_ref().map(|s| &s.ctx), &address) {
            self.relay("HandleNotification", move |_, repo| indirect::handle_notification(repo, &pending_notification))
                .await?;
            if let Some(smdp) = &self.smdp {
                (smdp.wake_notification_worker)();
            }
            return Ok(());
        }
        self.external_client(&address)?;
        let store = self.repo.clone();
        web::block(move || store.enqueue_notification(&address, &pending_notification, crate::clock::now_ms()))
            .await
            .map_err(|e| RelayError::Es9(Es9Error::internal(e)))?
            .map_err(|e| RelayError::Es9(Es9Error::internal(e)))
    }

    /// One round of the notification outbox job (which also forgets relay sessions older than
    /// [`indirect::RELAY_SESSION_RETENTION_MS`]): sends every due notification to its external SM-DP+ over
    /// ES9+ handleNotification; a failure is retried with backoff, dropped (logged) after
    /// [`notification_outbox::MAX_ATTEMPTS`].
    pub async fn forward_due_notifications(&self) -> Result<usize, EimError> {
        let store = self.repo.clone();
        let due = web::block(move || {
            let now = crate::clock::now_ms();
            store.purge_relay_sessions(now - indirect::RELAY_SESSION_RETENTION_MS)?;
            store.claim_due_notifications(now, 50)
        })
        .await
        .map_err(|e| EimError::Store(format!("blocking pool: {e}")))??;
        let mut delivered = 0;
        for n in due {
            let sent = match &self.es9_client {
                Some(client) => client.handle_notification(&n.smdp_address, &n.pending_notification).await,
                None => Err(RelayError::SmdpUnreachable {
                    address: n.smdp_address.clone(),
                    detail: "no ES9+ client (eim.smdp_tls_trust)".into(),
                }),
            };
            let store = self.repo.clone();
            let outcome = match sent {
                // A refusal is the SM-DP+'s final word on this notification: do not send it again.
                Ok(()) | Err(RelayError::SmdpRefused { .. }) => {
                    if let Err(e) = &sent {
                        tracing::warn!(error = %e, "notification refused by the external SM-DP+");
                    } else {
                        delivered += 1;
                    }
                    web::block(move || store.remove_notification(n.id)).await
                }
                Err(e) if n.attempts + 1 >= notification_outbox::MAX_ATTEMPTS => {
                    tracing::error!(error = %e, attempts = n.attempts + 1, "notification dropped after its last attempt");
                    web::block(move || store.remove_notification(n.id)).await
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempts = n.attempts + 1, "notification forwarding failed; will retry");
                    let next = crate::clock::now_ms() + notification_outbox::retry_delay_ms(n.attempts + 1);
                    let error = e.to_string();
                    web::block(move || store.notification_attempt_failed(n.id, &error, next)).await
                }
            };
            outcome.map_err(|e| EimError::Store(format!("blocking pool: {e}")))??;
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

    fn external_client(&self, address: &str) -> Result<Es9Client, RelayError> {
        if !indirect::external_address_allowed(&self.smdp_allowed_addresses, address) {
            return Err(RelayError::SmdpNotAllowed { address: address.to_owned() });
        }
        self.es9_client.clone().ok_or_else(|| RelayError::SmdpUnreachable {
            address: address.to_owned(),
            detail: "this eIM relays to no external SM-DP+ (no eim.smdp_tls_trust)".into(),
        })
    }

    /// The external SM-DP+ of a relayed session, with its transactionId; `None`: rspd's own SM-DP+.
    async fn external_session(&self, transaction_id: &[u8]) -> Result<Option<(String, TransactionId)>, RelayError> {
        let tx = TransactionId::from_bytes(transaction_id)
            .map_err(|detail| RelayError::Es9(Es9Error::InvalidField { field: "transactionId", detail }))?;
        let (store, hex) = (self.repo.clone(), tx.to_hex());
        let address = web::block(move || store.relay_session(&hex))
            .await
            .map_err(|e| RelayError::Es9(Es9Error::internal(e)))?
            .map_err(|e| RelayError::Es9(Es9Error::internal(e)))?;
        Ok(address.map(|a| (a, tx)))
    }

    /// Registers the authenticated eUICC under `eim.learn_operator` if unknown (see [`crate::eim::learn`]).
    async fn learn(&self, what: Learn) {
        let (Some(operator), Some(smdp)) = (self.learn_operator.clone(), self.smdp.clone()) else { return };
        let svc = self.clone();
        let learned = web::block(move || match what {
            Learn::Verified(euicc) => {
                crate::eim::learn::learn_authenticated(&*svc.repo, &svc.ctx.eim_id, &operator, &euicc)
            }
            Learn::Verify(authenticate_server_response) => crate::eim::learn::learn_from_authenticate_server_response(
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
            Ok(Ok(crate::eim::learn::Learned::Registered { eid })) => {
                tracing::info!(eid = %pii(&eid), "eUICC learned at its first authenticated contact")
            }
            Ok(Ok(crate::eim::learn::Learned::Known { .. })) => {}
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

/// Logs a relayed ES9+ step's failure (refusals at info, unreachable SM-DP+s at warn).
fn logged<T>(function: &'static str, result: Result<T, RelayError>) -> Result<T, RelayError> {
    match &result {
        Err(e @ RelayError::SmdpUnreachable { .. }) => tracing::warn!(function, error = %e, "ES9+ relay failed"),
        Err(e) => tracing::info!(function, error = %e, "ES9+ relay: the SM-DP+ refused"),
        Ok(_) => {}
    }
    result
}

fn flatten<T>(r: Result<Result<T, EimError>, actix_web::error::BlockingError>) -> Result<T, EimError> {
    r.map_err(|e| EimError::Store(format!("blocking pool: {e}")))?
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
