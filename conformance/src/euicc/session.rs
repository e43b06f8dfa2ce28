//! The state of one RSP session on the eUICC (SGP.22 v2.5 §3.1.2–§3.1.3): what AuthenticateServer (§5.7.13)
//! established and what PrepareDownload (§5.7.5) added, used by LoadBoundProfilePackage (§5.7.6) and
//! CancelSession (§5.7.14). A new GetEUICCChallenge (§5.7.7) or the end of an installation discards it.

use openssl::ec::EcKey;
use openssl::pkey::Private;
use rasn::types::ObjectIdentifier;
use rsp_proto::pki::EcPublicKey;

/// An authenticated session with one SM-DP+.
#[derive(Debug)]
pub struct Session {
    /// transactionId of serverSigned1.
    pub transaction_id: Vec<u8>,
    /// serverAddress of serverSigned1.
    pub server_address: String,
    /// The SM-DP+ OID (subjectAltName registeredID of CERT.DPauth.ECDSA): `smdpOid` in PIR and CancelSession.
    pub smdp_oid: ObjectIdentifier,
    /// euiccSignature1 as sent (the 64 bytes): smdpSignature2 covers it.
    pub euicc_signature1: Vec<u8>,
    /// Set by PrepareDownload.
    pub download: Option<DownloadContext>,
}

/// What PrepareDownload keeps for LoadBoundProfilePackage.
#[derive(Debug)]
pub struct DownloadContext {
    /// PK.DPpb.ECDSA: verifies smdpSign in the BPP.
    pub pk_dppb_ecdsa: EcPublicKey,
    /// otSK.EUICC.ECKA.
    pub otsk_euicc_ecka: EcKey<Private>,
    /// otPK.EUICC.ECKA, uncompressed point.
    pub otpk_euicc_ecka: Vec<u8>,
}
