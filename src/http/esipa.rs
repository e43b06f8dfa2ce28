//! What the two ESipa bindings share (SGP.32 v1.2 §6.3 ASN.1 binding in [`super::esipa_asn1`], §6.4 JSON binding
//! in [`super::esipa_json`]): the [`EimService`] handle and its calls into the eIM domain
//! ([`crate::eim::service`], [`crate::eim::indirect`]) on the blocking pool, plus the header check. A binding
//! only translates its wire format to these calls and their results back; no rule lives in a binding.

use actix_web::{web, HttpRequest};

use crate::eim::indirect::RelayError;
use crate::eim::service::{self, ReceivedResult, RecordedResult};
use crate::eim::{EimContext, EimError, PackageOrder};
use crate::http::es9::Es9Service;
use crate::smdp::es9::SmdpContext;
use crate::smdp::DownloadRepository;
use crate::store::Store;

/// What the ESipa handlers share.
#[derive(Clone)]
pub struct EimService {
    pub ctx: EimContext,
    pub store: Store,
    /// rspd's own SM-DP+, for the indirect download relay (§3.2.3); `None`: the relay answers
    /// [`RelayError::NoSmdp`].
    pub smdp: Option<Es9Service>,
}

impl EimService {
    /// ESipa.GetEimPackage: the next package for the eUICC with `eid_value` (16 bytes), now Dispatched.
    pub async fn get_eim_package(&self, eid_value: Vec<u8>) -> Result<Option<PackageOrder>, EimError> {
        let svc = self.clone();
        flatten(web::block(move || service::get_eim_package(&svc.store, &svc.ctx, &eid_value, service::now_ms())).await)
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
                    &svc.store,
                    &svc.ctx,
                    eid_value.as_deref(),
                    &received,
                    service::now_ms(),
                )?;
                if !recorded.repeated {
                    // The next step of an operator order is queued before the IPA polls again.
                    crate::eim::orders::advance_after_result(
                        &svc.store,
                        &svc.ctx,
                        recorded.order.id,
                        service::now_ms(),
                    );
                }
                Ok(recorded)
            })
            .await,
        );
        match &result {
            Ok(recorded) => tracing::info!(
                eid = %recorded.order.eid,
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
        let result = web::block(move || f(&smdp.ctx, &smdp.store))
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

    /// Stores a pendingNotification in the SM-DP+ inbox and wakes its worker (answer 204 at once).
    pub async fn handle_notification(&self, pending_notification: Vec<u8>) -> Result<i64, RelayError> {
        let id = self
            .relay("HandleNotification", move |_, repo| {
                crate::eim::indirect::handle_notification(repo, &pending_notification)
            })
            .await?;
        if let Some(smdp) = &self.smdp {
            smdp.notifications.notify_one();
        }
        Ok(id)
    }
}

fn flatten<T>(r: Result<Result<T, EimError>, actix_web::error::BlockingError>) -> Result<T, EimError> {
    r.map_err(|e| EimError::Store(format!("blocking pool: {e}")))?
}

/// Logs an eIM error at error level when it is ours, warn when the peer's.
pub fn log_eim_error(function: &str, e: &EimError) {
    if e.is_internal() {
        tracing::error!(function, error = %e, "ESipa request failed");
    } else {
        tracing::warn!(function, error = %e, "ESipa request refused");
    }
}

/// `X-Admin-Protocol`: any `gsma/rsp/v2.x.y` or `v3.x.y`; a missing header is an error only when `required`
/// (ASN.1 binding, INTEROP.md).
pub fn check_admin_protocol(req: &HttpRequest, required: bool) -> Result<(), String> {
    let Some(value) = req.headers().get("x-admin-protocol") else {
        return if required { Err("X-Admin-Protocol header missing (SGP.32 v1.2 §6.3)".into()) } else { Ok(()) };
    };
    let value = value.to_str().unwrap_or_default().trim();
    let supported = value
        .strip_prefix("gsma/rsp/v")
        .and_then(|v| v.split('.').next())
        .is_some_and(|major| major == "2" || major == "3");
    if supported {
        Ok(())
    } else {
        Err(format!("unsupported X-Admin-Protocol {value:?}"))
    }
}
