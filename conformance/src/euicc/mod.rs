//! A software eUICC: the ES10b side of a consumer profile download (SGP.22 v2.5 §3.1.2 common mutual
//! authentication, §3.1.3 download and installation, §5.7 ES10b), verifying everything a real eUICC verifies.
//!
//! One file per ES10 function:
//! - [`info`]: GetEUICCInfo (§5.7.8) and GetEUICCChallenge (§5.7.7);
//! - [`authenticate_server`]: AuthenticateServer (§5.7.13);
//! - [`prepare_download`]: PrepareDownload (§5.7.5);
//! - [`load_bpp`]: LoadBoundProfilePackage (§5.7.6) and the ProfileInstallationResult it leaves;
//! - [`notifications`]: ListNotification (§5.7.9), RetrieveNotificationsList (§5.7.10),
//!   RemoveNotificationFromList (§5.7.11);
//! - [`cancel_session`]: CancelSession (§5.7.14);
//! - [`eim`]: the SGP.32 v1.2 IoT side — AddInitialEim, GetEimConfigurationData, LoadEuiccPackage (PSMOs, eCOs,
//!   signed EuiccPackageResult), IpaEuiccData, EimAcknowledgements.
//!
//! Support: [`credentials`] (who the eUICC is), [`error`] (the SGP.22 error codes), [`session`]
//! (the state of the RSP session in progress), [`profiles`] (the installed profiles), `wire` (data object
//! helpers).
//!
//! Inputs are the bytes an LPA has after base64-decoding the ES9+ JSON fields (`serverSigned1`,
//! `serverSignature1` as its `5F37` data object, `euiccCiPKIdToBeUsed` as its `04` OCTET STRING, certificates
//! as DER, …); outputs are the DER an LPA base64-encodes into the next ES9+ request. All state is in memory.

pub mod authenticate_server;
pub mod cancel_session;
pub mod credentials;
pub mod eim;
pub mod error;
pub mod info;
pub mod load_bpp;
pub mod notifications;
pub mod prepare_download;
pub mod profiles;
pub mod session;
pub mod state_file;
pub(crate) mod wire;

use time::OffsetDateTime;

pub use credentials::{CredentialsError, EuiccCredentials};
pub use error::{AuthenticateErrorCode, CancelSessionErrorCode, DownloadErrorCode, Es10Error};
pub use load_bpp::{InstallFailure, ProfileInstallation};
pub use profiles::InstalledProfile;

use rsp_proto::codec::sgp22::PendingNotification;
use session::Session;

/// A notification waiting for the LPA (§5.7.9–§5.7.11), kept as DER of its `PendingNotification`.
#[derive(Debug, Clone)]
pub(crate) struct StoredNotification {
    pub seq_number: i64,
    pub metadata: rsp_proto::codec::sgp22::NotificationMetadata,
    pub pending_notification: PendingNotification,
    pub der: Vec<u8>,
}

/// The soft eUICC: credentials plus in-memory state.
#[derive(Debug)]
pub struct SoftEuicc {
    credentials: EuiccCredentials,
    /// Fixed time for certificate validity checks; `None`: the system clock.
    clock: Option<OffsetDateTime>,
    /// The challenge of the last GetEUICCChallenge, until AuthenticateServer uses it.
    euicc_challenge: Option<[u8; 16]>,
    session: Option<Session>,
    profiles: Vec<InstalledProfile>,
    notifications: Vec<StoredNotification>,
    /// The next notification seqNumber (§5.7.9: an eUICC-wide counter).
    next_seq_number: i64,
    /// The next ISD-P number (see [`profiles::isdp_aid`]); `None` once all are used (no memory left).
    next_isdp: Option<u8>,
    /// SGP.32 v1.2: associated eIMs, package results awaiting acknowledgement, IoT settings.
    eim: eim::EimState,
}

impl SoftEuicc {
    /// A blank eUICC (no profiles, no notifications) with these credentials.
    pub fn new(credentials: EuiccCredentials) -> Self {
        SoftEuicc {
            credentials,
            clock: None,
            euicc_challenge: None,
            session: None,
            profiles: Vec::new(),
            notifications: Vec::new(),
            next_seq_number: 1,
            next_isdp: Some(0x10),
            eim: eim::EimState::new(),
        }
    }

    /// Checks certificate validity at `now` instead of the system clock (e.g. SGP.26 DP certificates end in 2030).
    pub fn with_clock(mut self, now: OffsetDateTime) -> Self {
        self.clock = Some(now);
        self
    }

    pub fn credentials(&self) -> &EuiccCredentials {
        &self.credentials
    }

    /// The EID, 32 digits.
    pub fn eid(&self) -> &str {
        &self.credentials.eid
    }

    /// The installed profiles, in installation order.
    pub fn profiles(&self) -> &[InstalledProfile] {
        &self.profiles
    }

    /// Adds a profile to the profile table without a download (tests of profile state management; see
    /// [`InstalledProfile::seeded`]). ICCIDs already present are refused.
    pub fn seed_profile(&mut self, profile: InstalledProfile) -> Result<(), String> {
        if self.profiles.iter().any(|p| p.iccid == profile.iccid) {
            return Err(format!("ICCID {} is already installed", profile.iccid));
        }
        self.profiles.push(profile);
        Ok(())
    }

    /// The transactionId of the RSP session in progress, if any.
    pub fn transaction_id(&self) -> Option<&[u8]> {
        self.session.as_ref().map(|s| s.transaction_id.as_slice())
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.unwrap_or_else(OffsetDateTime::now_utc)
    }
}
