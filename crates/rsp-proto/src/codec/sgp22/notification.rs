//! Notifications, SGP.22 v2.5 §3.5 and ES9+ §5.6.4 HandleNotification, ES10b §5.7.10: PendingNotification,
//! OtherSignedNotification (NotificationMetadata, shared with the ProfileInstallationResult, is in `common`).

use rasn::prelude::*;

use super::common::*;
use super::download::ProfileInstallationResult;

/// `OtherSignedNotification ::= SEQUENCE { tbsOtherNotification NotificationMetadata, euiccNotificationSignature [APPLICATION 55], euiccCertificate, eumCertificate, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct OtherSignedNotification {
    pub tbs_other_notification: NotificationMetadata,
    pub euicc_notification_signature: Signature,
    pub euicc_certificate: Certificate,
    pub eum_certificate: Certificate,
}

/// `PendingNotification ::= CHOICE { profileInstallationResult [55], otherSignedNotification, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
pub enum PendingNotification {
    ProfileInstallationResult(ProfileInstallationResult),
    OtherSignedNotification(OtherSignedNotification),
}

/// `HandleNotification ::= [61] SEQUENCE { pendingNotification [0] EXPLICIT PendingNotification, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 61))]
pub struct HandleNotification {
    #[rasn(tag(explicit(context, 0)))]
    pub pending_notification: PendingNotification,
}

crate::codec::message!(OtherSignedNotification, "OtherSignedNotification");
crate::codec::message!(PendingNotification, "PendingNotification");
crate::codec::message!(HandleNotification, "HandleNotification");
