//! ES10b.LoadBoundProfilePackage (SGP.22 v2.5 §5.7.6; flow §3.1.3.3; ES8+ §5.5.1–§5.5.5) and the
//! ProfileInstallationResult it leaves (§5.7.6, ASN.1 `ProfileInstallationResult`, a pending notification §3.5).
//!
//! The BPP is opened with [`rsp_proto::bsp::open_bpp_staged`] (smdpSign with PK.DPpb.ECDSA, ECKA with
//! otSK.EUICC.ECKA, every C-MAC, decryption, ReplaceSessionKeys), then:
//! - InitialiseSecureChannel's transactionId must be the session's → `invalidTransactionId`;
//! - StoreMetadataRequest must decode → `incorrectInputValues`;
//! - the profile package must parse as SAIP (header first, PE-End last) → `installFailedDueToPEProcessingError`;
//! - StoreMetadata's ICCID must be the profile's → `installFailedDueToDataMismatch`;
//! - the ICCID must not be installed already → `installFailedDueToIccidAlreadyExistsOnEuicc`.
//!
//! Success or failure, the eUICC signs ProfileInstallationResultData (euiccSignPIR over its DER), queues the
//! result as a pending notification and ends the session.

use rasn::types::{BitString, OctetString};
use rsp_proto::bsp::{open_bpp_staged, BppCommandId};
use rsp_proto::codec::encode;
use rsp_proto::codec::sgp22::{
    ErrorResult, FinalResult, Iccid, NotificationMetadata, PendingNotification, ProfileInstallationResult,
    ProfileInstallationResultData, Signature, StoreMetadataRequest, SuccessResult, TransactionId,
};
use rsp_proto::pki::ecdsa;
use rsp_proto::profile::ProfilePackage;

use super::error::error_reason;
use super::profiles::{isdp_aid, InstalledProfile, ProfileState};
use super::session::Session;
use super::{Es10Error, SoftEuicc, StoredNotification};

const FUNCTION: &str = "LoadBoundProfilePackage";

/// SAIP `EUICCResponse` with one `peStatus { status ok(0) }`: the simaResponse of a successful installation.
const SIMA_RESPONSE_OK: [u8; 9] = [0x30, 0x07, 0xA0, 0x05, 0x30, 0x03, 0x80, 0x01, 0x00];

/// Why an installation failed, as ErrorResult reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallFailure {
    pub bpp_command_id: BppCommandId,
    /// `ErrorReason` (see [`error_reason`]).
    pub error_reason: u8,
    /// For people: what exactly was wrong.
    pub detail: String,
}

/// The outcome of LoadBoundProfilePackage.
#[derive(Debug, Clone)]
pub struct ProfileInstallation {
    /// ProfileInstallationResult DER (`BF37…`), also queued as a pending notification.
    pub profile_installation_result: Vec<u8>,
    /// Its notification seqNumber.
    pub seq_number: i64,
    /// The installed ICCID (digits), or why the installation failed.
    pub result: Result<String, InstallFailure>,
}

/// What a successful installation produced before the PIR is signed.
struct Installed {
    profile: InstalledProfile,
    iccid: Iccid,
}

impl SoftEuicc {
    /// ES10b.LoadBoundProfilePackage with the whole BPP (`BF36…`) as received from ES9+.GetBoundProfilePackage.
    pub fn load_bound_profile_package(&mut self, bpp: &[u8]) -> Result<ProfileInstallation, Es10Error> {
        let session = match self.session.take() {
            Some(s) if s.download.is_some() => s,
            other => {
                self.session = other;
                return Err(Es10Error::NoSession { function: FUNCTION });
            }
        };
        let (iccid, final_result, installed) = match self.install(&session, bpp) {
            Ok(installed) => {
                let aid = installed.profile.isdp_aid.clone();
                let result = FinalResult::SuccessResult(SuccessResult {
                    aid: OctetString::from(aid),
                    sima_response: OctetString::from(SIMA_RESPONSE_OK.to_vec()),
                });
                (Some(installed.iccid.clone()), result, Ok(installed))
            }
            Err((iccid, failure)) => {
                let result = FinalResult::ErrorResult(ErrorResult {
                    bpp_command_id: failure.bpp_command_id as i64,
                    error_reason: i64::from(failure.error_reason),
                    sima_response: None,
                });
                (iccid, result, Err(failure))
            }
        };

        let seq_number = self.next_seq_number;
        let metadata = NotificationMetadata {
            seq_number,
            // NotificationEvent: notificationInstall(0).
            profile_management_operation: BitString::repeat(true, 1),
            notification_address: session.server_address.clone(),
            iccid,
        };
        let data = ProfileInstallationResultData {
            transaction_id: TransactionId(OctetString::from(session.transaction_id.clone())),
            notification_metadata: metadata.clone(),
            smdp_oid: session.smdp_oid.clone(),
            final_result,
        };
        let data_der = encode(&data).map_err(Es10Error::internal)?;
        let euicc_sign_pir = ecdsa::sign(&self.credentials.euicc_key, &data_der).map_err(Es10Error::internal)?;
        let pir = ProfileInstallationResult {
            profile_installation_result_data: data,
            euicc_sign_pir: Signature(OctetString::from(euicc_sign_pir.0.to_vec())),
        };
        let pir_der = encode(&pir).map_err(Es10Error::internal)?;

        self.next_seq_number += 1;
        self.notifications.push(StoredNotification {
            seq_number,
            metadata,
            pending_notification: PendingNotification::ProfileInstallationResult(pir),
            der: pir_der.clone(),
        });
        let result = installed.map(|i| {
            let digits = i.profile.iccid.clone();
            self.profiles.push(i.profile);
            digits
        });
        Ok(ProfileInstallation { profile_installation_result: pir_der, seq_number, result })
    }

    /// §3.1.3.3: open, check and install. On failure: the ICCID if StoreMetadata named one, and the reason.
    fn install(&mut self, session: &Session, bpp: &[u8]) -> Result<Installed, (Option<Iccid>, InstallFailure)> {
        let fail = |iccid: Option<Iccid>, bpp_command_id, error_reason, detail: String| {
            Err((iccid, InstallFailure { bpp_command_id, error_reason, detail }))
        };
        let Some(download) = session.download.as_ref() else {
            return fail(
                None,
                BppCommandId::InitialiseSecureChannel,
                error_reason::INSTALL_FAILED_DUE_TO_UNKNOWN_ERROR,
                "no PrepareDownload".into(),
            );
        };
        let eid = match hex::decode(&self.credentials.eid) {
            Ok(eid) if eid.len() == 16 => eid,
            _ => {
                return fail(
                    None,
                    BppCommandId::InitialiseSecureChannel,
                    error_reason::INSTALL_FAILED_DUE_TO_UNKNOWN_ERROR,
                    "the EID is not 32 digits".into(),
                )
            }
        };
        let pk_dppb = match download.pk_dppb_ecdsa.pkey().ec_key() {
            Ok(k) => k,
            Err(e) => {
                return fail(
                    None,
                    BppCommandId::InitialiseSecureChannel,
                    error_reason::INSTALL_FAILED_DUE_TO_UNKNOWN_ERROR,
                    e.to_string(),
                )
            }
        };
        let opened = match open_bpp_staged(bpp, &pk_dppb, &download.otsk_euicc_ecka, &eid) {
            Ok(opened) => opened,
            Err(e) => return fail(None, e.command, e.error.error_reason(), e.error.to_string()),
        };
        if opened.transaction_id != session.transaction_id {
            return fail(
                None,
                BppCommandId::InitialiseSecureChannel,
                error_reason::INVALID_TRANSACTION_ID,
                format!(
                    "InitialiseSecureChannel transactionId {} is not the session's {}",
                    hex::encode(&opened.transaction_id),
                    hex::encode(&session.transaction_id)
                ),
            );
        }
        let metadata: StoreMetadataRequest = match rsp_proto::codec::decode(&opened.store_metadata) {
            Ok(m) => m,
            Err(e) => {
                return fail(None, BppCommandId::StoreMetadata, error_reason::INCORRECT_INPUT_VALUES, e.to_string())
            }
        };
        let iccid = Some(metadata.iccid.clone());
        let package = match ProfilePackage::parse(&opened.profile) {
            Ok(p) => p,
            Err(e) => {
                return fail(
                    iccid,
                    BppCommandId::LoadProfileElements,
                    error_reason::INSTALL_FAILED_DUE_TO_PE_PROCESSING_ERROR,
                    e.to_string(),
                )
            }
        };
        if *metadata.iccid.0 != package.iccid().to_ef_iccid() {
            return fail(
                iccid,
                BppCommandId::LoadProfileElements,
                error_reason::INSTALL_FAILED_DUE_TO_DATA_MISMATCH,
                format!(
                    "StoreMetadata ICCID {} is not the profile's {}",
                    hex::encode(*metadata.iccid.0),
                    package.iccid().digits()
                ),
            );
        }
        let digits = package.iccid().digits();
        if self.profiles.iter().any(|p| p.iccid == digits) {
            return fail(
                iccid,
                BppCommandId::StoreMetadata,
                error_reason::INSTALL_FAILED_DUE_TO_ICCID_ALREADY_EXISTS_ON_EUICC,
                format!("ICCID {digits} is already installed"),
            );
        }
        let Some(n) = self.next_isdp else {
            return fail(
                iccid,
                BppCommandId::ConfigureIsdp,
                error_reason::INSTALL_FAILED_DUE_TO_INSUFFICIENT_MEMORY_FOR_PROFILE,
                "no ISD-P left".into(),
            );
        };
        self.next_isdp = n.checked_add(1);
        Ok(Installed {
            iccid: metadata.iccid.clone(),
            profile: InstalledProfile {
                iccid: digits,
                isdp_aid: isdp_aid(n),
                state: ProfileState::Disabled,
                metadata,
                profile_package: opened.profile,
                fallback_attribute: false,
            },
        })
    }
}
