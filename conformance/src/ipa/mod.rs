//! The IPA (SGP.32 v1.2 §3.1 IoT Profile Assistant) driving a [`SoftEuicc`] against an eIM over ESipa, in
//! either binding ([`Binding`]):
//!
//! - [`Ipa::poll_once`]: ESipa.GetEimPackage (§5.14.5) and, for what it hands out,
//!   - EuiccPackageRequest → ES10b.LoadEuiccPackage (§5.9.1) → ESipa.ProvideEimPackageResult (§5.14.6) → the
//!     eIM's EimAcknowledgements back to the eUICC (§2.11.1.3); a package the eUICC cannot parse is reported
//!     as `eimPackageResultResponseError invalidPackageFormat(1)`;
//!   - IpaEuiccDataRequest → the eUICC's IpaEuiccDataResponse (§2.11.1.2) → ProvideEimPackageResult;
//!   - ProfileDownloadTriggerRequest (§2.11.1.4) → the SGP.22 download of the activation code, **direct**
//!     (ES9+ to the SM-DP+, the conformance LPA) or **indirect** (the same ES9+ calls over ESipa, relayed by the
//!     eIM, §3.2.3) per [`DownloadMode`] → ProfileDownloadTriggerResult (ProfileInstallationResult, or
//!     `profileDownloadError undefinedError(127)`) → ProvideEimPackageResult;
//! - [`Ipa::send_notifications`]: the eUICC's pending notifications to their SM-DP+ (direct: ES9+; indirect:
//!   ESipa.HandleNotification), removed once delivered;
//! - [`Ipa::run`]: up to N polls, stopping at the first empty queue.
//!
//! Public API for campaign tests: build an [`Ipa`] from a [`SoftEuicc`] and an [`EsipaClient`], call
//! [`Ipa::run`] / [`Ipa::poll_once`], read [`PollOutcome`]s, take the eUICC back with [`Ipa::into_euicc`].

pub mod esipa_client;

use rsp_proto::codec::sgp22::TransactionId;
use rsp_proto::codec::sgp32::{
    ProfileDownloadData, ProfileDownloadError, ProfileDownloadTriggerRequest, ProfileDownloadTriggerResult,
    ProfileDownloadTriggerResultData,
};
use rsp_proto::codec::tlv::{self, Tag};
use rsp_proto::codec::{decode, encode};

pub use esipa_client::{Binding, EimPackage, EsipaClient, EsipaError, Exchange, IndirectEs9};

use crate::euicc::SoftEuicc;
use crate::lpa::{download_profile, ActivationCode, DownloadRequest, Es9Client, Es9Options, TrustAnchors};

/// How a ProfileDownloadTriggerRequest is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownloadMode {
    /// ES9+ straight to the SM-DP+ of the activation code.
    Direct,
    /// ES9+ functions over ESipa through the eIM.
    Indirect,
}

impl std::str::FromStr for DownloadMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "direct" => Ok(DownloadMode::Direct),
            "indirect" => Ok(DownloadMode::Indirect),
            other => Err(format!("unknown download mode `{other}` (direct or indirect)")),
        }
    }
}

/// What one poll did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollOutcome {
    /// `noEimPackageAvailable`.
    NoPackage,
    /// An EuiccPackageRequest ran on the eUICC; `acknowledged`: result entries the eIM's acknowledgement released.
    EuiccPackage { result: Vec<u8>, acknowledged: usize },
    /// An IpaEuiccDataRequest was answered with this IpaEuiccDataResponse.
    IpaEuiccData { response: Vec<u8> },
    /// A download ran: the installed ICCID, or why it failed.
    Download { iccid: Result<String, String> },
    /// The package could not be handed to the eUICC (eimPackageResultResponseError reported).
    Refused { reason: String },
}

/// Why a poll could not complete (the eIM could not be reached or answered an error).
#[derive(Debug, thiserror::Error)]
pub enum IpaError {
    #[error(transparent)]
    Esipa(#[from] EsipaError),
    #[error("eUICC: {0}")]
    Euicc(String),
}

/// An IPA with its eUICC.
pub struct Ipa {
    euicc: SoftEuicc,
    esipa: EsipaClient,
    /// Trust anchors for direct ES9+ (SM-DP+ TLS certificates).
    es9_anchors: TrustAnchors,
    mode: DownloadMode,
}

impl Ipa {
    pub fn new(euicc: SoftEuicc, esipa: EsipaClient, es9_anchors: TrustAnchors, mode: DownloadMode) -> Ipa {
        Ipa { euicc, esipa, es9_anchors, mode }
    }

    pub fn euicc(&self) -> &SoftEuicc {
        &self.euicc
    }

    /// How the next ProfileDownloadTriggerRequests run.
    pub fn set_download_mode(&mut self, mode: DownloadMode) {
        self.mode = mode;
    }

    pub fn esipa(&self) -> &EsipaClient {
        &self.esipa
    }

    pub fn euicc_mut(&mut self) -> &mut SoftEuicc {
        &mut self.euicc
    }

    pub fn into_euicc(self) -> SoftEuicc {
        self.euicc
    }

    /// Polls until the eIM has nothing more (or `max_polls` were made); the outcome of each poll that found a
    /// package. Notifications are sent after each download.
    pub fn run(&mut self, max_polls: usize) -> Result<Vec<PollOutcome>, IpaError> {
        let mut outcomes = Vec::new();
        for _ in 0..max_polls {
            match self.poll_once()? {
                PollOutcome::NoPackage => break,
                outcome => outcomes.push(outcome),
            }
        }
        Ok(outcomes)
    }

    /// One ESipa.GetEimPackage and its processing.
    pub fn poll_once(&mut self) -> Result<PollOutcome, IpaError> {
        let eid = self.euicc.eid().to_owned();
        let Some(package) = self.esipa.get_eim_package(&eid)? else { return Ok(PollOutcome::NoPackage) };
        match package {
            EimPackage::EuiccPackageRequest(request) => match self.euicc.load_euicc_package(&request) {
                Ok(result) => {
                    let acks = self.esipa.provide_eim_package_result(&eid, &result)?;
                    let acknowledged = match acks {
                        Some(acks) => self.euicc.acknowledge(&acks).map_err(|e| IpaError::Euicc(e.to_string()))?,
                        None => 0,
                    };
                    Ok(PollOutcome::EuiccPackage { result, acknowledged })
                }
                Err(e) => self.refuse(&eid, None, e.to_string()),
            },
            EimPackage::IpaEuiccDataRequest(request) => match self.euicc.get_ipa_euicc_data(&request) {
                Ok(response) => {
                    self.esipa.provide_eim_package_result(&eid, &response)?;
                    Ok(PollOutcome::IpaEuiccData { response })
                }
                Err(e) => self.refuse(&eid, None, e.to_string()),
            },
            EimPackage::ProfileDownloadTriggerRequest(request) => {
                let trigger: ProfileDownloadTriggerRequest = match decode(&request) {
                    Ok(t) => t,
                    Err(e) => return self.refuse(&eid, None, e.to_string()),
                };
                let tid = trigger.eim_transaction_id.clone();
                let Some(ProfileDownloadData::ActivationCode(code)) = &trigger.profile_download_data else {
                    return self.refuse(&eid, tid, "only activation codes are supported".into());
                };
                let (result_data, iccid) = self.download(code);
                let result = encode(&ProfileDownloadTriggerResult {
                    eim_transaction_id: tid,
                    profile_download_trigger_result_data: result_data,
                })
                .map_err(|e| IpaError::Euicc(e.to_string()))?;
                self.esipa.provide_eim_package_result(&eid, &result)?;
                if iccid.is_ok() {
                    self.send_notifications();
                }
                Ok(PollOutcome::Download { iccid })
            }
        }
    }

    /// Runs the download of `activation_code`; the trigger result data and the ICCID (or the failure).
    fn download(&mut self, activation_code: &str) -> (ProfileDownloadTriggerResultData, Result<String, String>) {
        let failed = |reason: String| {
            (
                ProfileDownloadTriggerResultData::ProfileDownloadError(ProfileDownloadError {
                    profile_download_error_reason: 127,
                    error_response: None,
                }),
                Err(reason),
            )
        };
        let code = match ActivationCode::parse(activation_code) {
            Ok(c) => c,
            Err(e) => return failed(e.to_string()),
        };
        let request = DownloadRequest {
            matching_id: code.matching_id.clone(),
            expected_smdp_oid: code.smdp_oid.clone(),
            ..DownloadRequest::default()
        };
        let outcome = match self.mode {
            DownloadMode::Direct => {
                match Es9Client::new(&code.smdp_address, &self.es9_anchors, Es9Options::default()) {
                    Ok(client) => download_profile(&mut self.euicc, &client, &request),
                    Err(e) => return failed(e.to_string()),
                }
            }
            DownloadMode::Indirect => {
                let transport = IndirectEs9 { esipa: &self.esipa, smdp_address: code.smdp_address.clone() };
                download_profile(&mut self.euicc, &transport, &request)
            }
        };
        match outcome {
            Ok(report) => match decode(&report.profile_installation_result) {
                Ok(pir) => (ProfileDownloadTriggerResultData::ProfileInstallationResult(pir), Ok(report.iccid)),
                Err(e) => failed(format!("ProfileInstallationResult: {e}")),
            },
            Err(e) => failed(e.to_string()),
        }
    }

    /// Reports a package the eUICC could not take: `eimPackageResultResponseError { eimTransactionId,
    /// invalidPackageFormat(1) }`.
    fn refuse(&mut self, eid: &str, tid: Option<TransactionId>, reason: String) -> Result<PollOutcome, IpaError> {
        let mut contents = Vec::new();
        if let Some(t) = tid {
            contents.extend(tlv::encode(Tag(0x80), &t.0));
        }
        contents.extend([0x02, 0x01, 0x01]);
        self.esipa.provide_eim_package_result(eid, &tlv::encode(Tag(0xA0), &contents))?;
        Ok(PollOutcome::Refused { reason })
    }

    /// Sends every pending notification of the eUICC (direct: ES9+ HandleNotification to its
    /// notificationAddress; indirect: ESipa.HandleNotification) and removes the delivered ones; how many.
    pub fn send_notifications(&mut self) -> usize {
        let mut sent = 0;
        for metadata in self.euicc.list_notifications() {
            let Some(der) = self.euicc.pending_notification_der(metadata.seq_number).map(<[u8]>::to_vec) else {
                continue;
            };
            let delivered = match self.mode {
                DownloadMode::Indirect => self.esipa.handle_notification(&der).is_ok(),
                DownloadMode::Direct => {
                    Es9Client::new(&metadata.notification_address, &self.es9_anchors, Es9Options::default())
                        .and_then(|c| {
                            c.handle_notification(&crate::lpa::es9_client::HandleNotificationRequest {
                                pending_notification: der,
                            })
                        })
                        .is_ok()
                }
            };
            if delivered && self.euicc.remove_notification(metadata.seq_number).is_ok() {
                sent += 1;
            }
        }
        sent
    }
}
