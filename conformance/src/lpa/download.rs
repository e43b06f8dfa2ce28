//! The LPA side of a profile download (SGP.22 v2.5 §3.1.2 common mutual authentication, §3.1.3 download and
//! installation, §3.1.3.1 confirmation code, §3.5 notifications), driving a [`SoftEuicc`] (ES10b, §5.7) and an
//! SM-DP+ over ES9+ (§5.6, [`super::es9_client::Es9Transport`]: ES9+ itself or ESipa relayed by an eIM).
//!
//! The sequence, one function per step:
//! 1. ES10b.GetEUICCInfo (EUICCInfo1) and GetEUICCChallenge (§5.7.8, §5.7.7);
//! 2. ES9+.InitiateAuthentication (§5.6.1);
//! 3. ES10b.AuthenticateServer with ctxParams1 {matchingId, deviceInfo} (§5.7.13);
//! 4. ES9+.AuthenticateClient (§5.6.3) → profileMetadata, smdpSigned2;
//! 5. ES10b.PrepareDownload, with the confirmation code when ccRequiredFlag is set (§5.7.5, §3.1.3.1);
//! 6. ES9+.GetBoundProfilePackage (§5.6.2);
//! 7. ES10b.LoadBoundProfilePackage (§5.7.6) → ProfileInstallationResult;
//! 8. ES9+.HandleNotification with that result (§5.6.4), then ES10b.RemoveNotificationFromList (§5.7.11).
//!
//! When the eUICC refuses a step, the LPA asks it for a CancelSessionResponse (ES10b.CancelSession, §5.7.14) and
//! sends it with ES9+.CancelSession (§5.6.5, §3.1.4). An ES9+ failure ends the download (the SM-DP+ has already
//! ended its side). Every step records what was verified, so a report says what the SM-DP+ was checked for.

use std::fmt;

use rasn::types::{FixedOctetString, Utf8String};
use rsp_proto::codec::decode;
use rsp_proto::codec::encode;
use rsp_proto::codec::sgp22::{
    CancelSessionReason, CtxParams1, CtxParamsForCommonAuthentication, DeviceCapabilities, DeviceInfo, ServerSigned1,
    SmdpSigned2, StoreMetadataRequest,
};
use rsp_proto::pki::Certificate;

use super::es9_client::{
    AuthenticateClientRequest, CancelSessionRequest, Es9Error, Es9Transport, GetBoundProfilePackageRequest,
    HandleNotificationRequest, InitiateAuthenticationRequest,
};
use crate::euicc::{Es10Error, InstallFailure, SoftEuicc};

/// `CancelSessionReason` values (§5.7.14).
pub mod cancel_reason {
    use super::CancelSessionReason;
    pub const END_USER_REJECTION: CancelSessionReason = 0;
    pub const LOAD_BPP_EXECUTION_ERROR: CancelSessionReason = 5;
    pub const UNDEFINED_REASON: CancelSessionReason = 127;
}

/// The steps of the download, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    GetEuiccInfo1,
    GetEuiccChallenge,
    InitiateAuthentication,
    AuthenticateServer,
    AuthenticateClient,
    PrepareDownload,
    GetBoundProfilePackage,
    LoadBoundProfilePackage,
    HandleNotification,
    RemoveNotification,
    CancelSession,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::GetEuiccInfo1 => "ES10b.GetEUICCInfo(EUICCInfo1)",
            Step::GetEuiccChallenge => "ES10b.GetEUICCChallenge",
            Step::InitiateAuthentication => "ES9+.InitiateAuthentication",
            Step::AuthenticateServer => "ES10b.AuthenticateServer",
            Step::AuthenticateClient => "ES9+.AuthenticateClient",
            Step::PrepareDownload => "ES10b.PrepareDownload",
            Step::GetBoundProfilePackage => "ES9+.GetBoundProfilePackage",
            Step::LoadBoundProfilePackage => "ES10b.LoadBoundProfilePackage",
            Step::HandleNotification => "ES9+.HandleNotification",
            Step::RemoveNotification => "ES10b.RemoveNotificationFromList",
            Step::CancelSession => "ES9+.CancelSession",
        })
    }
}

/// One completed step and what it verified.
#[derive(Debug, Clone)]
pub struct StepRecord {
    pub step: Step,
    pub verified: Vec<String>,
}

/// DeviceInfo for ctxParams1 (§5.7.13): the TAC is required, the IMEI optional (many LPAs send none).
#[derive(Debug, Clone)]
pub struct DeviceIdentity {
    pub tac: [u8; 4],
    pub imei: Option<[u8; 8]>,
}

impl Default for DeviceIdentity {
    fn default() -> Self {
        // A test TAC; no IMEI.
        DeviceIdentity { tac: [0x35, 0x29, 0x06, 0x11], imei: None }
    }
}

/// What the download needs beyond the eUICC and the ES9+ client.
#[derive(Debug, Clone, Default)]
pub struct DownloadRequest {
    /// AC_Token of the activation code.
    pub matching_id: String,
    /// The confirmation code the end user would type (§3.1.3.1), if any.
    pub confirmation_code: Option<String>,
    pub device: DeviceIdentity,
    /// The SM-DP+ OID the activation code names, if any: CERT.DPauth.ECDSA must carry it.
    pub expected_smdp_oid: Option<String>,
}

/// A successful download.
#[derive(Debug, Clone)]
pub struct DownloadReport {
    pub steps: Vec<StepRecord>,
    pub transaction_id: Vec<u8>,
    /// The installed ICCID, digits.
    pub iccid: String,
    /// The unprotected profile package (SAIP DER) as the eUICC installed it.
    pub profile_package: Vec<u8>,
    /// profileMetadata from AuthenticateClient, as DER.
    pub profile_metadata: Vec<u8>,
    /// The ProfileInstallationResult (`BF37 …`) sent to the SM-DP+, as DER (an IPA reports it to the eIM in a
    /// ProfileDownloadTriggerResult, SGP.32 v1.2 §2.11.2.4).
    pub profile_installation_result: Vec<u8>,
}

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepFailure {
    #[error(transparent)]
    Es9(#[from] Es9Error),
    #[error(transparent)]
    Es10(#[from] Es10Error),
    /// The eUICC rejected the BPP; the ProfileInstallationResult reported it to the SM-DP+.
    #[error("installation failed: bppCommandId {:?}, errorReason {}: {}", .0.bpp_command_id, .0.error_reason, .0.detail)]
    Install(InstallFailure),
    /// An LPA-side check (§3.1.2/§3.1.3) failed.
    #[error("{0}")]
    Lpa(String),
}

impl StepFailure {
    /// A short status code: ES9+ `subject/reason`, the ES10b error code, or the installation errorReason.
    pub fn status_code(&self) -> String {
        match self {
            StepFailure::Es9(e) => e.status_code(),
            StepFailure::Es10(e) => match e {
                Es10Error::AuthenticateServer { code, .. } => {
                    format!("authenticateErrorCode {code:?}({})", *code as i64)
                }
                Es10Error::PrepareDownload { code, .. } => format!("downloadErrorCode {code:?}({})", *code as i64),
                Es10Error::CancelSession { code, .. } => format!("cancelSessionError {code:?}({})", *code as i64),
                Es10Error::ServerAddressMismatch { .. } => "serverAddress-mismatch".into(),
                Es10Error::ConfirmationCodeRequired => "confirmation-code-required".into(),
                Es10Error::NothingToDelete { .. } => "nothingToDelete(1)".into(),
                Es10Error::IncorrectCommandData { .. } => "incorrect-command-data".into(),
                Es10Error::NoSession { .. } => "no-session".into(),
                Es10Error::Internal(_) => "internal".into(),
            },
            StepFailure::Install(f) => format!("errorReason {}", f.error_reason),
            StepFailure::Lpa(_) => "lpa-check".into(),
        }
    }
}

/// A download that did not complete.
#[derive(Debug, thiserror::Error)]
#[error("{step} failed [{}]: {failure}", failure.status_code())]
pub struct DownloadError {
    pub step: Step,
    pub failure: StepFailure,
    /// The steps completed before it.
    pub steps: Vec<StepRecord>,
    /// The ES9+.CancelSession sent after an eUICC refusal, and its outcome.
    pub cancel_session: Option<Result<(), Es9Error>>,
}

/// The download procedure over one eUICC and one SM-DP+.
pub struct Download<'a> {
    euicc: &'a mut SoftEuicc,
    es9: &'a dyn Es9Transport,
    steps: Vec<StepRecord>,
    profile_installation_result: Vec<u8>,
}

/// Runs the whole download (§3.1.3): see the module documentation.
pub fn download_profile(
    euicc: &mut SoftEuicc,
    es9: &dyn Es9Transport,
    request: &DownloadRequest,
) -> Result<DownloadReport, Box<DownloadError>> {
    Download { euicc, es9, steps: Vec::new(), profile_installation_result: Vec::new() }.run(request)
}

type StepResult<T> = Result<T, (Step, StepFailure)>;

impl Download<'_> {
    fn run(mut self, request: &DownloadRequest) -> Result<DownloadReport, Box<DownloadError>> {
        let mut transaction_id: Option<Vec<u8>> = None;
        let outcome = self.steps_in_order(request, &mut transaction_id);
        match outcome {
            Ok(report) => Ok(report),
            Err((step, failure)) => {
                let cancel_session = match (&failure, &transaction_id) {
                    (StepFailure::Es10(_) | StepFailure::Lpa(_), Some(tid)) => Some(self.cancel(tid, &failure)),
                    _ => None,
                };
                Err(Box::new(DownloadError { step, failure, steps: self.steps, cancel_session }))
            }
        }
    }

    fn record(&mut self, step: Step, verified: Vec<String>) {
        self.steps.push(StepRecord { step, verified });
    }

    fn steps_in_order(
        &mut self,
        request: &DownloadRequest,
        transaction_id: &mut Option<Vec<u8>>,
    ) -> StepResult<DownloadReport> {
        let (euicc_info1, euicc_challenge) = self.get_euicc_info1_and_challenge()?;
        let ia = self.initiate_authentication(euicc_info1, euicc_challenge, request)?;
        *transaction_id = Some(ia.transaction_id.clone());
        let tid = ia.transaction_id.clone();
        let asr = self.authenticate_server(&ia, request)?;
        let ac = self.authenticate_client(&tid, asr)?;
        let pdr = self.prepare_download(&ac, request)?;
        let bpp = self.get_bound_profile_package(&tid, pdr)?;
        let (iccid, seq_number, install) = self.load_bound_profile_package(&bpp, &ac.profile_metadata)?;
        self.handle_notification(seq_number)?;
        self.remove_notification(seq_number)?;
        if let Err(failure) = install {
            return Err((Step::LoadBoundProfilePackage, StepFailure::Install(failure)));
        }
        let profile_package = self
            .euicc
            .profiles()
            .iter()
            .find(|p| p.iccid == iccid)
            .map(|p| p.profile_package.clone())
            .unwrap_or_default();
        Ok(DownloadReport {
            steps: std::mem::take(&mut self.steps),
            transaction_id: tid,
            iccid,
            profile_package,
            profile_metadata: ac.profile_metadata,
            profile_installation_result: std::mem::take(&mut self.profile_installation_result),
        })
    }

    /// Step 1 (§3.1.2 steps 1–3).
    fn get_euicc_info1_and_challenge(&mut self) -> StepResult<(Vec<u8>, [u8; 16])> {
        let info1 = self.euicc.get_euicc_info1().map_err(|e| (Step::GetEuiccInfo1, e.into()))?;
        self.record(Step::GetEuiccInfo1, vec![format!("EUICCInfo1 {} bytes", info1.len())]);
        let challenge = self.euicc.get_euicc_challenge().map_err(|e| (Step::GetEuiccChallenge, e.into()))?;
        self.record(Step::GetEuiccChallenge, vec![format!("euiccChallenge {}", hex::encode_upper(challenge))]);
        Ok((info1, challenge))
    }

    /// Step 2 (§5.6.1). The LPA checks that the JSON transactionId is serverSigned1's, and the SM-DP+ OID of
    /// the activation code when it names one.
    fn initiate_authentication(
        &mut self,
        euicc_info1: Vec<u8>,
        euicc_challenge: [u8; 16],
        request: &DownloadRequest,
    ) -> StepResult<super::es9_client::InitiateAuthenticationResponse> {
        const STEP: Step = Step::InitiateAuthentication;
        let response = self
            .es9
            .initiate_authentication(&InitiateAuthenticationRequest {
                euicc_challenge: euicc_challenge.to_vec(),
                euicc_info1,
                smdp_address: self.es9.smdp_address().to_string(),
            })
            .map_err(|e| (STEP, e.into()))?;
        let signed: ServerSigned1 = decode(&response.server_signed1)
            .map_err(|e| (STEP, StepFailure::Lpa(format!("serverSigned1 does not decode: {e}"))))?;
        if *signed.transaction_id.0 != *response.transaction_id {
            return Err((
                STEP,
                StepFailure::Lpa(format!(
                    "transactionId {} is not serverSigned1.transactionId {}",
                    hex::encode_upper(&response.transaction_id),
                    hex::encode_upper(&*signed.transaction_id.0)
                )),
            ));
        }
        let mut verified = vec![
            format!("transactionId {} = serverSigned1.transactionId", hex::encode_upper(&response.transaction_id)),
            format!("serverSigned1.serverAddress `{}`", signed.server_address),
        ];
        if let Some(expected) = &request.expected_smdp_oid {
            let oid = Certificate::from_der(&response.server_certificate)
                .ok()
                .and_then(|c| c.registered_id().and_then(crate::euicc::wire::oid_from_contents));
            match oid {
                Some(oid) if oid.to_string() == *expected => {
                    verified.push(format!("CERT.DPauth.ECDSA names SM-DP+ OID {expected} (activation code)"))
                }
                other => {
                    return Err((
                        STEP,
                        StepFailure::Lpa(format!(
                            "activation code SM-DP+ OID {expected} is not CERT.DPauth.ECDSA's {}",
                            other.map_or("(none)".to_string(), |o| o.to_string())
                        )),
                    ))
                }
            }
        }
        self.record(STEP, verified);
        Ok(response)
    }

    /// Step 3 (§5.7.13): the eUICC authenticates the SM-DP+.
    fn authenticate_server(
        &mut self,
        ia: &super::es9_client::InitiateAuthenticationResponse,
        request: &DownloadRequest,
    ) -> StepResult<Vec<u8>> {
        const STEP: Step = Step::AuthenticateServer;
        let ctx_params1 = ctx_params1(&request.matching_id, &request.device)
            .map_err(|e| (STEP, StepFailure::Lpa(format!("ctxParams1: {e}"))))?;
        let response = self
            .euicc
            .authenticate_server(
                &ia.server_signed1,
                &ia.server_signature1,
                &ia.euicc_ci_pkid_to_be_used,
                &ia.server_certificate,
                &ctx_params1,
                self.es9.smdp_address(),
            )
            .map_err(|e| (STEP, e.into()))?;
        self.record(
            STEP,
            vec![
                format!("serverSigned1.serverAddress = `{}` (LPAd)", self.es9.smdp_address()),
                format!("euiccCiPKIdToBeUsed {} is a trusted CI", ci_pkid_text(&ia.euicc_ci_pkid_to_be_used)),
                "CERT.DPauth.ECDSA chains to that CI, is valid, has id-rspRole-dp-auth and an SM-DP+ OID".into(),
                "serverSignature1 verifies over serverSigned1 with PK.DPauth.ECDSA".into(),
                "serverSigned1.euiccChallenge = the eUICC's challenge".into(),
                format!("ctxParams1 matchingId `{}`", request.matching_id),
            ],
        );
        Ok(response)
    }

    /// Step 4 (§5.6.3): the SM-DP+ authenticates the eUICC and sends profileMetadata and smdpSigned2.
    fn authenticate_client(
        &mut self,
        transaction_id: &[u8],
        authenticate_server_response: Vec<u8>,
    ) -> StepResult<super::es9_client::AuthenticateClientResponse> {
        const STEP: Step = Step::AuthenticateClient;
        let response = self
            .es9
            .authenticate_client(&AuthenticateClientRequest {
                transaction_id: transaction_id.to_vec(),
                authenticate_server_response,
            })
            .map_err(|e| (STEP, e.into()))?;
        check_transaction_id(STEP, transaction_id, &response.transaction_id)?;
        let metadata: StoreMetadataRequest = decode(&response.profile_metadata)
            .map_err(|e| (STEP, StepFailure::Lpa(format!("profileMetadata does not decode: {e}"))))?;
        let iccid = iccid_digits(&metadata.iccid.0[..]);
        self.record(
            STEP,
            vec![
                "transactionId unchanged".into(),
                format!(
                    "profileMetadata: ICCID {iccid}, `{}` by `{}`",
                    metadata.profile_name, metadata.service_provider_name
                ),
            ],
        );
        Ok(response)
    }

    /// Step 5 (§5.7.5, §3.1.3.1).
    fn prepare_download(
        &mut self,
        ac: &super::es9_client::AuthenticateClientResponse,
        request: &DownloadRequest,
    ) -> StepResult<Vec<u8>> {
        const STEP: Step = Step::PrepareDownload;
        let cc_required = decode::<SmdpSigned2>(&ac.smdp_signed2).map(|s| s.cc_required_flag).unwrap_or(false);
        let response = self
            .euicc
            .prepare_download(
                &ac.smdp_signed2,
                &ac.smdp_signature2,
                &ac.smdp_certificate,
                request.confirmation_code.as_deref(),
            )
            .map_err(|e| (STEP, e.into()))?;
        let mut verified = vec![
            "CERT.DPpb.ECDSA chains to a trusted CI, is valid and names the same SM-DP+ OID as DPauth".into(),
            "smdpSignature2 verifies over smdpSigned2 || 5F37 euiccSignature1 with PK.DPpb.ECDSA".into(),
            "smdpSigned2.transactionId = the session's".into(),
        ];
        if cc_required {
            verified.push("ccRequiredFlag set: hashCc sent".into());
        }
        self.record(STEP, verified);
        Ok(response)
    }

    /// Step 6 (§5.6.2).
    fn get_bound_profile_package(
        &mut self,
        transaction_id: &[u8],
        prepare_download_response: Vec<u8>,
    ) -> StepResult<Vec<u8>> {
        const STEP: Step = Step::GetBoundProfilePackage;
        let response = self
            .es9
            .get_bound_profile_package(&GetBoundProfilePackageRequest {
                transaction_id: transaction_id.to_vec(),
                prepare_download_response,
            })
            .map_err(|e| (STEP, e.into()))?;
        check_transaction_id(STEP, transaction_id, &response.transaction_id)?;
        self.record(
            STEP,
            vec!["transactionId unchanged".into(), format!("BPP {} bytes", response.bound_profile_package.len())],
        );
        Ok(response.bound_profile_package)
    }

    /// Step 7 (§5.7.6). Returns the ICCID, the notification seqNumber and the installation outcome; a failed
    /// installation is still reported to the SM-DP+ before the download fails.
    #[allow(clippy::type_complexity)]
    fn load_bound_profile_package(
        &mut self,
        bpp: &[u8],
        profile_metadata: &[u8],
    ) -> StepResult<(String, i64, Result<(), InstallFailure>)> {
        const STEP: Step = Step::LoadBoundProfilePackage;
        let outcome = self.euicc.load_bound_profile_package(bpp).map_err(|e| (STEP, e.into()))?;
        match outcome.result {
            Ok(iccid) => {
                let metadata_iccid = decode::<StoreMetadataRequest>(profile_metadata)
                    .map(|m| iccid_digits(&m.iccid.0[..]))
                    .unwrap_or_default();
                if metadata_iccid != iccid {
                    return Err((
                        STEP,
                        StepFailure::Lpa(format!("installed ICCID {iccid} is not profileMetadata's {metadata_iccid}")),
                    ));
                }
                self.record(
                    STEP,
                    vec![
                        "smdpSign over InitialiseSecureChannel verifies with PK.DPpb.ECDSA".into(),
                        "session keys derived (ECKA otSK.EUICC × otPK.DP, X9.63 KDF); every C-MAC verifies".into(),
                        "InitialiseSecureChannel.transactionId = the session's".into(),
                        "profile package parses as SAIP; StoreMetadata ICCID = profile ICCID".into(),
                        format!("installed ICCID {iccid} = profileMetadata ICCID"),
                    ],
                );
                Ok((iccid, outcome.seq_number, Ok(())))
            }
            Err(failure) => Ok((String::new(), outcome.seq_number, Err(failure))),
        }
    }

    /// Step 8 (§5.6.4): the ProfileInstallationResult goes to the SM-DP+.
    fn handle_notification(&mut self, seq_number: i64) -> StepResult<()> {
        const STEP: Step = Step::HandleNotification;
        let pending_notification = self
            .euicc
            .pending_notification_der(seq_number)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| (STEP, StepFailure::Lpa(format!("no pending notification {seq_number}"))))?;
        self.profile_installation_result = pending_notification.clone();
        self.es9
            .handle_notification(&HandleNotificationRequest { pending_notification })
            .map_err(|e| (STEP, e.into()))?;
        self.record(STEP, vec![format!("ProfileInstallationResult (seqNumber {seq_number}) accepted")]);
        Ok(())
    }

    /// Step 8, end (§5.7.11): delivered notifications are removed.
    fn remove_notification(&mut self, seq_number: i64) -> StepResult<()> {
        self.euicc.remove_notification(seq_number).map_err(|e| (Step::RemoveNotification, e.into()))?;
        self.record(Step::RemoveNotification, vec![format!("seqNumber {seq_number} removed")]);
        Ok(())
    }

    /// §3.1.4: ES10b.CancelSession, then ES9+.CancelSession with whatever CancelSessionResponse the eUICC gave
    /// (a cancelSessionResponseError too: the SM-DP+ still learns the LPA gave up).
    fn cancel(&mut self, transaction_id: &[u8], failure: &StepFailure) -> Result<(), Es9Error> {
        let reason = match failure {
            StepFailure::Es10(Es10Error::ConfirmationCodeRequired) => cancel_reason::END_USER_REJECTION,
            StepFailure::Install(_) => cancel_reason::LOAD_BPP_EXECUTION_ERROR,
            _ => cancel_reason::UNDEFINED_REASON,
        };
        let cancel_session_response = match self.euicc.cancel_session(transaction_id, reason) {
            Ok(response) => response,
            Err(e) => match e.response() {
                Some(response) => response.to_vec(),
                None => return Ok(()),
            },
        };
        let result = self
            .es9
            .cancel_session(&CancelSessionRequest { transaction_id: transaction_id.to_vec(), cancel_session_response });
        if result.is_ok() {
            self.record(Step::CancelSession, vec![format!("session cancelled (reason {reason})")]);
        }
        result
    }
}

/// ctxParams1 for a download (§5.7.13): `ctxParamsForCommonAuthentication { matchingId, deviceInfo }`.
pub fn ctx_params1(matching_id: &str, device: &DeviceIdentity) -> Result<Vec<u8>, rsp_proto::codec::CodecError> {
    encode(&CtxParams1::CtxParamsForCommonAuthentication(CtxParamsForCommonAuthentication {
        matching_id: Some(Utf8String::from(matching_id)),
        device_info: DeviceInfo {
            tac: FixedOctetString::from(device.tac),
            device_capabilities: DeviceCapabilities::default(),
            imei: device.imei.map(FixedOctetString::from),
        },
    }))
}

fn check_transaction_id(step: Step, expected: &[u8], received: &[u8]) -> StepResult<()> {
    if expected == received {
        Ok(())
    } else {
        Err((
            step,
            StepFailure::Lpa(format!(
                "transactionId {} is not the session's {}",
                hex::encode_upper(received),
                hex::encode_upper(expected)
            )),
        ))
    }
}

/// ICCID digits from its EF_ICCID form (nibble-swapped, F padding dropped).
fn iccid_digits(ef_iccid: &[u8]) -> String {
    rsp_proto::profile::Iccid::from_ef_iccid(ef_iccid)
        .map(|i| i.digits())
        .unwrap_or_else(|_| hex::encode_upper(ef_iccid))
}

fn ci_pkid_text(octet_string: &[u8]) -> String {
    rsp_proto::codec::tlv::parse_single(octet_string)
        .map(|t| hex::encode_upper(t.value()))
        .unwrap_or_else(|_| hex::encode_upper(octet_string))
}
