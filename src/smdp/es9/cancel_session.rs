//! ES9+.CancelSession (SGP.22 v2.5 §5.6.5; flow §3.1.4).
//!
//! The SM-DP+ SHALL (§5.6.5, paraphrased): find the session; verify euiccCancelSessionSignature over
//! euiccCancelSessionSigned as received with PK.EUICC.ECDSA; check transactionId and smdpOid; end the
//! session. Before a BPP was delivered the order is released for a new attempt; after it, the profile
//! moves to Error and the operator decides (the eUICC may already hold a half-installed profile).
//!
//! The operator is told (ES2+.HandleDownloadProgressInfo, §5.3.5) at the point the download had reached:
//! "BPP download" (3) before the BPP, "BPP installation" (4) after it, status Failed, with the eUICC's reason.
//!
//! One read (the session), the checks with no I/O, one write transaction (the session ended with the event).

use time::OffsetDateTime;

use super::context::SmdpContext;
use super::error::Es9Error;
use crate::codec::sgp22::{
    CancelSessionResponse, EuiccCancelSessionSigned, PATH_CANCEL_SIGNED_IN_CANCEL_SESSION_RESPONSE,
};
use crate::codec::{decode, Received};
use crate::smdp::download_repository::OrderOutcome;
use crate::smdp::ids::TransactionId;
use crate::smdp::progress::{NotificationPoint, PointStatus, ProgressEvent};
use crate::smdp::session::SessionState;
use crate::smdp::DownloadRepository;

/// §5.6.5. `cancel_session_response` is the received DER (`BF41…`).
pub fn cancel_session(
    ctx: &SmdpContext,
    repo: &dyn DownloadRepository,
    transaction_id: &TransactionId,
    cancel_session_response: &[u8],
    _now: OffsetDateTime,
) -> Result<(), Es9Error> {
    let tx = transaction_id.to_hex();
    let session = repo
        .find_session(&tx)?
        .filter(|s| s.state.is_open())
        .ok_or_else(|| Es9Error::UnknownTransactionId { detail: "no open session".into() })?;
    let invalid =
        |e: crate::codec::CodecError| Es9Error::InvalidField { field: "cancelSessionResponse", detail: e.to_string() };
    let ok = match decode::<CancelSessionResponse>(cancel_session_response).map_err(invalid)? {
        CancelSessionResponse::CancelSessionResponseOk(ok) => ok,
        CancelSessionResponse::CancelSessionResponseError(code) => {
            return Err(Es9Error::EuiccReportedError { what: "CancelSessionResponse", code })
        }
    };
    let signed: Received<EuiccCancelSessionSigned> =
        Received::at(cancel_session_response, PATH_CANCEL_SIGNED_IN_CANCEL_SESSION_RESPONSE).map_err(invalid)?;
    if signed.value.transaction_id.0.as_ref() != transaction_id.as_bytes() {
        return Err(Es9Error::UnknownTransactionId {
            detail: "euiccCancelSessionSigned names another transactionId".into(),
        });
    }
    // Before AuthenticateClient the SM-DP+ does not know the eUICC's key yet; nothing is bound to the session.
    if let Some(key) = session.euicc_key() {
        key.verify(&signed.raw, &ok.euicc_cancel_session_signature.0)
            .map_err(|e| Es9Error::EuiccSignatureInvalid(format!("euiccCancelSessionSignature: {e}")))?;
        let credentials = ctx.credentials_for(&session.ci_pkid);
        if let Some(oid) = credentials.and_then(|c| c.smdp_oid.as_deref()) {
            if oid_content(&signed.value.smdp_oid) != oid {
                return Err(Es9Error::InvalidSmdpOid);
            }
        }
    }
    let outcome = match session.state {
        SessionState::BppDelivered => OrderOutcome::Error,
        SessionState::Authenticated => OrderOutcome::Release,
        _ => OrderOutcome::Keep,
    };
    let point = match session.state {
        SessionState::BppDelivered => Some(NotificationPoint::BppInstallation),
        SessionState::Authenticated => Some(NotificationPoint::BppDownload),
        _ => None,
    };
    let event = match (point, &session.operator_id, &session.iccid) {
        (Some(point), Some(operator_id), Some(iccid)) => {
            let message = format!("download cancelled by the eUICC/LPA (CancelSession reason {})", signed.value.reason);
            // Execution error of the eUICC (§5.2.6 subject 8.1, reason 4.2).
            let status = PointStatus::failed(("8.1", "4.2"), message);
            ctx.progress.for_transaction(ProgressEvent::new(
                operator_id,
                iccid,
                session.eid.as_deref(),
                point,
                status,
                format!("cancel:{tx}"),
            ))
        }
        _ => None,
    };
    // One write: the session ended, its order released or its profile in Error, the operator's event.
    if repo.end_session_reporting(&tx, &[session.state], SessionState::Cancelled, outcome, event.as_ref())? {
        ctx.progress.wake();
    }
    tracing::info!(transaction_id = %tx, reason = signed.value.reason, "ES9+ CancelSession");
    Ok(())
}

/// The DER content bytes of an OID (how [`crate::pki::Certificate::registered_id`] gives it).
fn oid_content(oid: &rasn::types::ObjectIdentifier) -> Vec<u8> {
    rasn::der::encode(oid).ok().and_then(|der| der.get(2..).map(<[u8]>::to_vec)).unwrap_or_default()
}
