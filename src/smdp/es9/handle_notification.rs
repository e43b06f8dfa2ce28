//! ES9+.HandleNotification (SGP.22 v2.5 §5.6.4; notifications §3.5, ProfileInstallationResult §5.7.6).
//!
//! The HTTP binding stores the received pendingNotification and answers at once (INTEROP.md: LPAs time out
//! after ~1 s); [`process_notification`] runs afterwards, from the durable inbox, and may run again for the
//! same bytes after a crash: every effect is idempotent.
//!
//! - ProfileInstallationResult: euiccSignPIR is verified over profileInstallationResultData **as received**
//!   with PK.EUICC.ECDSA of the session (transactionId); success → profile Installed, error → Error.
//! - Other notifications (install/enable/disable/delete, §3.5): CERT.EUM/CERT.EUICC are verified to a trusted
//!   CI and euiccNotificationSignature over tbsOtherNotification as received; the result is recorded.
//!
//! Each verified notification is passed on to the profile's operator (ES2+.HandleDownloadProgressInfo, §5.3.5)
//! with the received DER as `resultData`: the ProfileInstallationResult at point 4 "BPP installation", an
//! enable / disable / delete notification at point 6 / 7 / 5 — the latter only when this SM-DP+ delivered that
//! ICCID to that EID, so no operator hears about another operator's profile. The event is enqueued before the
//! inbox row is marked processed; a crash in between re-processes the row and the event key makes it a no-op.

use crate::logging::pii;
use time::OffsetDateTime;

use super::context::SmdpContext;
use super::error::Es9Error;
use crate::codec::sgp22::{
    FinalResult, NotificationMetadata, PendingNotification, ProfileInstallationResultData, PATH_PIR_DATA_IN_PIR,
};
use crate::codec::{decode, Received};
use crate::pki::verify_euicc_chain;
use crate::smdp::download_repository::InstallOutcome;
use crate::smdp::ids::TransactionId;
use crate::smdp::progress::{NotificationPoint, PointStatus, ProgressEvent};
use crate::smdp::DownloadRepository;

/// What processing a notification did (recorded as the inbox row's outcome).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationOutcome {
    /// A verified ProfileInstallationResult.
    Installation { transaction_id: String, success: bool, outcome: InstallOutcome },
    /// A verified other notification (event bits as sent), for the EID.
    Other { eid: String, seq_number: i64, iccid: Option<String> },
}

impl std::fmt::Display for NotificationOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotificationOutcome::Installation { transaction_id, success, outcome } => {
                write!(f, "PIR {transaction_id}: {} ({outcome:?})", if *success { "success" } else { "error" })
            }
            NotificationOutcome::Other { eid, seq_number, iccid } => {
                write!(f, "notification {seq_number} from {eid} (iccid {})", iccid.as_deref().unwrap_or("-"))
            }
        }
    }
}

/// §5.6.4 before the 204: the received pendingNotification must be one strict-DER `PendingNotification`
/// (`BF37` ProfileInstallationResult or `30` OtherSignedNotification, §5.6.4 / §2.5.5), else it is not stored
/// (issue 10 item 8: the inbox holds only what the worker can process). Signatures are checked afterwards, by
/// [`process_notification`].
pub fn check_pending_notification(pending_notification: &[u8]) -> Result<(), Es9Error> {
    decode::<PendingNotification>(pending_notification)
        .map(|_| ())
        .map_err(|e| Es9Error::InvalidField { field: "pendingNotification", detail: e.to_string() })
}

/// §5.6.4: verifies and applies one received pendingNotification (DER of `PendingNotification`).
pub fn process_notification(
    ctx: &SmdpContext,
    repo: &dyn DownloadRepository,
    pending_notification: &[u8],
    now: OffsetDateTime,
) -> Result<NotificationOutcome, Es9Error> {
    let invalid =
        |e: crate::codec::CodecError| Es9Error::InvalidField { field: "pendingNotification", detail: e.to_string() };
    match decode::<PendingNotification>(pending_notification).map_err(invalid)? {
        PendingNotification::ProfileInstallationResult(pir) => {
            let data: Received<ProfileInstallationResultData> =
                Received::at(pending_notification, PATH_PIR_DATA_IN_PIR).map_err(invalid)?;
            let transaction_id = TransactionId::try_from(&data.value.transaction_id).map_err(|detail| {
                Es9Error::InvalidField { field: "profileInstallationResultData.transactionId", detail }
            })?;
            let tx = transaction_id.to_hex();
            let session = repo
                .find_session(&tx)?
                .ok_or_else(|| Es9Error::UnknownTransactionId { detail: "no such session".into() })?;
            let key = session
                .euicc_key()
                .ok_or_else(|| Es9Error::UnknownTransactionId { detail: "the session never authenticated".into() })?;
            key.verify(&data.raw, &pir.euicc_sign_pir.0)
                .map_err(|e| Es9Error::EuiccSignatureInvalid(format!("euiccSignPIR: {e}")))?;
            let success = matches!(data.value.final_result, FinalResult::SuccessResult(_));
            if let FinalResult::ErrorResult(e) = &data.value.final_result {
                tracing::warn!(transaction_id = %tx, iccid = %pii(session.iccid.as_deref().unwrap_or("-")),
                    bpp_command_id = e.bpp_command_id, error_reason = e.error_reason,
                    "profile installation failed on the eUICC");
            }
            let event = match (&session.operator_id, &session.iccid) {
                (Some(operator_id), Some(iccid)) => {
                    let status = match &data.value.final_result {
                        FinalResult::SuccessResult(_) => PointStatus::Success,
                        FinalResult::ErrorResult(e) => PointStatus::failed(
                            ("8.1", "4.2"),
                            format!(
                                "installation failed on the eUICC: bppCommandId {}, errorReason {}",
                                e.bpp_command_id, e.error_reason
                            ),
                        ),
                    };
                    let event = ProgressEvent::new(
                        operator_id,
                        iccid,
                        session.eid.as_deref(),
                        NotificationPoint::BppInstallation,
                        status,
                        format!("pir:{tx}"),
                    )
                    .with_result_data(pending_notification);
                    ctx.progress.for_transaction(event)
                }
                _ => None,
            };
            // One write: the session Completed, the profile Installed or Error, the operator's point 4 event.
            let outcome = repo.record_installation_reporting(&tx, success, event.as_ref())?;
            if event.is_some() {
                ctx.progress.wake();
            }
            Ok(NotificationOutcome::Installation { transaction_id: tx, success, outcome })
        }
        PendingNotification::OtherSignedNotification(other) => {
            let tbs: Received<NotificationMetadata> =
                Received::at(pending_notification, &[0x30, 0xBF2F]).map_err(invalid)?;
            let euicc = verify_euicc_chain(
                &ctx.trusted_cis,
                other.eum_certificate.as_bytes(),
                other.euicc_certificate.as_bytes(),
                now,
            )
            .map_err(Es9Error::from_euicc_chain)?;
            euicc
                .public_key
                .verify(&tbs.raw, &other.euicc_notification_signature.0)
                .map_err(|e| Es9Error::EuiccSignatureInvalid(format!("euiccNotificationSignature: {e}")))?;
            let iccid = tbs.value.iccid.as_ref().map(|i| {
                crate::profile::Iccid::try_from(i).map(|i| i.digits()).unwrap_or_else(|_| hex::encode(i.0.as_slice()))
            });
            let operation = &tbs.value.profile_management_operation;
            let bit = |i: usize| operation.get(i).is_some_and(|b| *b);
            // notificationEnable(1), notificationDisable(2), notificationDelete(3); install is the PIR's.
            let point = [
                (1, NotificationPoint::ProfileEnabled),
                (2, NotificationPoint::ProfileDisabled),
                (3, NotificationPoint::ProfileDeletion),
            ]
            .into_iter()
            .find_map(|(i, p)| bit(i).then_some(p));
            if let (Some(point), Some(iccid)) = (point, &iccid) {
                if let Some(operator_id) = repo.downloaded_profile_owner(iccid, &euicc.eid)? {
                    let key = format!("notification:{}:{}", euicc.eid, tbs.value.seq_number);
                    let event =
                        ProgressEvent::new(&operator_id, iccid, Some(&euicc.eid), point, PointStatus::Success, key)
                            .with_result_data(pending_notification);
                    ctx.progress.emit(repo, event)?;
                }
            }
            Ok(NotificationOutcome::Other { eid: euicc.eid, seq_number: tbs.value.seq_number, iccid })
        }
    }
}
