//! rspd's own SM-DP+ ([`SmdpService`]) as the target of the eIM's indirect download relay (SGP.32 v1.2 §3.2.3): each relayed step is
//! the ES9+ step itself ([`super::es9`], SGP.22 v2.5 §5.6) run on the blocking pool — not a copy of it. A
//! notification is stored in the SM-DP+'s durable inbox and its worker woken (§5.6.4: processed afterwards).

use time::OffsetDateTime;

use super::{RelayFuture, SmdpRelay};
use crate::eim::indirect::{self, RelayError};
use crate::smdp::es9::{self, Es9Error};
use crate::smdp::service::SmdpService;
use crate::smdp::TransactionId;

/// Runs `f` with the service on the blocking pool (store and key store calls block).
async fn blocking<T: Send + 'static>(
    svc: &SmdpService,
    function: &'static str,
    f: impl FnOnce(&SmdpService) -> Result<T, RelayError> + Send + 'static,
) -> Result<T, RelayError> {
    let svc = svc.clone();
    let result = tokio::task::spawn_blocking(move || f(&svc))
        .await
        .map_err(|e| RelayError::Es9(Es9Error::internal(e)))
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

impl SmdpRelay for SmdpService {
    fn initiate_authentication<'a>(
        &'a self,
        address: &'a str,
        euicc_challenge: Vec<u8>,
        euicc_info1: Vec<u8>,
    ) -> RelayFuture<'a, es9::InitiateAuthenticationOk> {
        let address = address.to_owned();
        Box::pin(blocking(self, "InitiateAuthentication", move |svc| {
            let now = OffsetDateTime::now_utc();
            Ok(es9::initiate_authentication(
                &svc.ctx,
                svc.repo.downloads(),
                &euicc_challenge,
                &euicc_info1,
                &address,
                now,
            )?)
        }))
    }

    fn authenticate_client<'a>(
        &'a self,
        _address: &'a str,
        transaction_id: TransactionId,
        authenticate_server_response: Vec<u8>,
    ) -> RelayFuture<'a, (es9::AuthenticateClientOk, Option<Box<es9::authenticate_client::AuthenticatedEuicc>>)> {
        Box::pin(blocking(self, "AuthenticateClient", move |svc| {
            let (ok, euicc) = es9::authenticate_client::authenticate_client_verified(
                &svc.ctx,
                svc.repo.downloads(),
                &transaction_id,
                &authenticate_server_response,
                OffsetDateTime::now_utc(),
            )?;
            Ok((ok, Some(Box::new(euicc))))
        }))
    }

    fn get_bound_profile_package<'a>(
        &'a self,
        _address: &'a str,
        transaction_id: TransactionId,
        prepare_download_response: Vec<u8>,
    ) -> RelayFuture<'a, Vec<u8>> {
        Box::pin(blocking(self, "GetBoundProfilePackage", move |svc| {
            let now = OffsetDateTime::now_utc();
            Ok(es9::get_bound_profile_package(
                &svc.ctx,
                svc.repo.downloads(),
                &transaction_id,
                &prepare_download_response,
                now,
            )?)
        }))
    }

    fn cancel_session<'a>(
        &'a self,
        _address: &'a str,
        transaction_id: TransactionId,
        cancel_session_response: Vec<u8>,
    ) -> RelayFuture<'a, ()> {
        Box::pin(blocking(self, "CancelSession", move |svc| {
            let now = OffsetDateTime::now_utc();
            Ok(es9::cancel_session(&svc.ctx, svc.repo.downloads(), &transaction_id, &cancel_session_response, now)?)
        }))
    }

    fn handle_notification<'a>(&'a self, _address: &'a str, pending_notification: Vec<u8>) -> RelayFuture<'a, ()> {
        Box::pin(async move {
            blocking(self, "HandleNotification", move |svc| {
                indirect::handle_notification(svc.repo.downloads(), &pending_notification)
            })
            .await?;
            (self.wake_notification_worker)();
            Ok(())
        })
    }
}
