//! What every ES9+ step needs besides its request and the repository: the SM-DP+ addresses, its DPauth/DPpb
//! credentials (one set per CI / curve), the trusted CIs and the key store. Built once at start.

use std::sync::Arc;
use std::time::Duration;

use crate::pki::keystore::{KeyRef, KeyRole, KeyStore};
use crate::pki::{CiStore, Curve};

/// One DPauth + DPpb pair issued by one CI (SGP.22 v2.5 §4.5.2.1: CERT.DPauth.ECDSA, CERT.DPpb.ECDSA).
#[derive(Debug, Clone)]
pub struct DpCredentials {
    pub curve: Curve,
    /// subjectKeyIdentifier of the issuing CI: offered to eUICCs that list it.
    pub ci_pkid: Vec<u8>,
    pub dpauth_certificate: Vec<u8>,
    pub dppb_certificate: Vec<u8>,
    /// The SM-DP+ OID (registeredID in the DPpb certificate's subjectAltName), as DER content bytes.
    pub smdp_oid: Option<Vec<u8>>,
}

impl DpCredentials {
    pub fn dpauth_key(&self) -> KeyRef {
        KeyRef { role: KeyRole::DpAuth, curve: self.curve }
    }
    pub fn dppb_key(&self) -> KeyRef {
        KeyRef { role: KeyRole::DpPb, curve: self.curve }
    }
}

/// The SM-DP+ side of ES9+, shared by all requests (cheap to clone).
#[derive(Clone)]
pub struct SmdpContext {
    /// Addresses LPAs may use (`host` or `host:port`).
    pub addresses: Vec<String>,
    pub credentials: Vec<DpCredentials>,
    /// CIs whose eUICC chains are accepted.
    pub trusted_cis: Arc<CiStore>,
    pub keys: Arc<dyn KeyStore>,
    /// How long a session may take from InitiateAuthentication to the BPP.
    pub session_timeout: Duration,
    /// hostId of the BPP control reference template (§5.5.1).
    pub host_id: Vec<u8>,
    /// ES2+.HandleDownloadProgressInfo events to the operators (§5.3.5); the default reports nothing.
    pub progress: crate::smdp::ProgressNotifier,
    /// AuthenticateClient calls per EID, checked once the eUICC proved its EID (`limits.eid_requests_per_min`,
    /// issue 10 item 4); `None`: unlimited.
    pub eid_rate: Option<Arc<crate::rate_limit::KeyedLimiter<String>>>,
    /// Most download sessions without a bound order (`limits.max_open_sessions`); `None`: unlimited.
    pub max_unbound_sessions: Option<u64>,
}

impl std::fmt::Debug for SmdpContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmdpContext")
            .field("addresses", &self.addresses)
            .field(
                "credentials",
                &self.credentials.iter().map(|c| (c.curve, hex::encode(&c.ci_pkid))).collect::<Vec<_>>(),
            )
            .field("session_timeout", &self.session_timeout)
            .field("progress", &self.progress)
            .finish_non_exhaustive()
    }
}

impl SmdpContext {
    /// The credentials issued by this CI.
    pub fn credentials_for(&self, ci_pkid: &[u8]) -> Option<&DpCredentials> {
        self.credentials.iter().find(|c| c.ci_pkid == ci_pkid)
    }
}
