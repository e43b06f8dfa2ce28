//! The eUICC registry and association (SGP.32 v1.2 §2.11.1.2 EimConfigurationData, §5.9.4 AddInitialEim):
//! per eUICC its EID, certificate (PK.EUICC.ECDSA verifies results), the eIM it is associated with and the
//! eIM key curve, the last `counterValue` used, the `associationToken` the eUICC issued, and the profiles
//! known from results. [`EimContext`] is the eIM's own identity; [`eim_configuration_data`] is what a device
//! factory loads into the eUICC with AddInitialEim.

use std::sync::Arc;
use std::time::Duration;

use crate::codec::encode;
use crate::codec::sgp32::{AddInitialEimRequest, EimConfigurationData};
use crate::pki::keystore::{KeyRef, KeyRole, KeyStore};
use crate::pki::{verify_euicc_chain, Certificate, CiStore, Curve, EcPublicKey};

use super::error::EimError;

/// The eIM itself: who it is, where devices reach it, its keys and its timeouts.
#[derive(Clone)]
pub struct EimContext {
    /// `eimId` (1..128 characters) in every EuiccPackageSigned and EimConfigurationData.
    pub eim_id: String,
    /// `eimFqdn`: the ESipa address (host or host:port) the IPA connects to.
    pub eim_fqdn: String,
    /// Signs `eimSignature` ([`KeyRole::Eim`]).
    pub keys: Arc<dyn KeyStore>,
    /// The curves with an eIM key in `keys`.
    pub curves: Vec<Curve>,
    /// How long a queued package waits for the device's GetEimPackage before it expires.
    pub dispatch_timeout: Duration,
    /// How long a dispatched package waits for ProvideEimPackageResult before it expires.
    pub no_show_timeout: Duration,
}

impl std::fmt::Debug for EimContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EimContext")
            .field("eim_id", &self.eim_id)
            .field("eim_fqdn", &self.eim_fqdn)
            .field("curves", &self.curves)
            .field("dispatch_timeout", &self.dispatch_timeout)
            .field("no_show_timeout", &self.no_show_timeout)
            .finish_non_exhaustive()
    }
}

impl EimContext {
    /// The eIM key on `curve`.
    pub fn key(curve: Curve) -> KeyRef {
        KeyRef { role: KeyRole::Eim, curve }
    }

    /// PK.EIM.ECDSA on `curve`.
    pub fn public_key(&self, curve: Curve) -> Result<EcPublicKey, EimError> {
        let point = self.keys.public_key(&Self::key(curve))?;
        EcPublicKey::from_point(curve, &point)
            .map_err(|e| EimError::Encode { what: "eIM public key", reason: e.to_string() })
    }
}

/// EimConfigurationData for AddInitialEim / addEim with this eIM's identity and PK.EIM.ECDSA on `curve`
/// ([`EimConfigurationData::for_fqdn`], SGP.32 v1.2 §2.11.1.2).
pub fn eim_configuration_data(
    ctx: &EimContext,
    curve: Curve,
    counter_value: i64,
    ask_association_token: bool,
) -> Result<EimConfigurationData, EimError> {
    let spki_der = ctx
        .public_key(curve)?
        .pkey()
        .public_key_to_der()
        .map_err(|e| EimError::Encode { what: "eIM public key", reason: e.to_string() })?;
    EimConfigurationData::for_fqdn(&ctx.eim_id, &ctx.eim_fqdn, &spki_der, counter_value, ask_association_token)
        .map_err(|e| EimError::Encode { what: "EimConfigurationData", reason: e.to_string() })
}

/// AddInitialEimRequest `BF57` DER with rspd's configuration alone (ES10b.AddInitialEim, §5.9.4).
pub fn add_initial_eim_request(config: EimConfigurationData) -> Result<Vec<u8>, EimError> {
    encode(&AddInitialEimRequest { eim_configuration_data_list: vec![config] })
        .map_err(|e| EimError::Encode { what: "AddInitialEimRequest", reason: e.to_string() })
}

/// A registered eUICC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EuiccRecord {
    /// 32 digits.
    pub eid: String,
    /// CERT.EUICC.ECDSA (DER): PK.EUICC.ECDSA verifies `euiccSignEPR` / `euiccSignEPE`.
    pub euicc_certificate: Vec<u8>,
    /// The eIM this record is associated with (rspd's `eim_id` when registered).
    pub eim_id: String,
    /// The eIM key curve used for this eUICC.
    pub eim_key_curve: Curve,
    /// The last `counterValue` used (initially the one in EimConfigurationData); the next package gets +1.
    pub counter_value: i64,
    /// The `associationToken` the eUICC issued for this eIM, if any.
    pub association_token: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl EuiccRecord {
    /// `eidValue` (16 bytes, BCD) of this eUICC.
    pub fn eid_value(&self) -> Result<[u8; 16], EimError> {
        eid_value(&self.eid)
    }

    /// PK.EUICC.ECDSA from the stored certificate.
    pub fn euicc_public_key(&self) -> Result<EcPublicKey, EimError> {
        // Verified in full at registration; only its key is needed here.
        Certificate::subject_public_key_of(&self.euicc_certificate)
            .map_err(|e| EimError::Store(format!("stored certificate of eUICC {}: {e}", self.eid)))
    }
}

/// What registration stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEuicc {
    pub eid: String,
    pub euicc_certificate: Vec<u8>,
    pub eim_id: String,
    pub eim_key_curve: Curve,
    pub counter_value: i64,
    pub association_token: Option<i64>,
}

impl NewEuicc {
    /// A record from CERT.EUICC.ECDSA verified CI → EUM → eUICC at `now` (signatures, validity, key
    /// identifiers, certificate profiles, EID within the EUM's range): the way to register eUICCs from an
    /// untrusted source.
    pub fn from_verified_chain(
        trusted_cis: &CiStore,
        eum_certificate: &[u8],
        euicc_certificate: &[u8],
        eim_id: &str,
        counter_value: i64,
        now: time::OffsetDateTime,
    ) -> Result<NewEuicc, EimError> {
        let verified = verify_euicc_chain(trusted_cis, eum_certificate, euicc_certificate, now)
            .map_err(|e| EimError::UntrustedCertificate(e.to_string()))?;
        let new = NewEuicc::from_certificate(euicc_certificate, eim_id, counter_value)?;
        debug_assert_eq!(new.eid, verified.eid);
        Ok(new)
    }

    /// A record for the eUICC an ES9+ AuthenticateClient authenticated (CI → EUM → eUICC and euiccSignature1
    /// verified there, SGP.22 v2.5 §5.6.3): nothing is verified or parsed again.
    pub fn from_authenticated(
        euicc: &crate::smdp::es9::authenticate_client::AuthenticatedEuicc,
        eim_id: &str,
        counter_value: i64,
    ) -> NewEuicc {
        NewEuicc {
            eid: euicc.verified.eid.clone(),
            euicc_certificate: euicc.euicc_certificate.clone(),
            eim_id: eim_id.to_owned(),
            eim_key_curve: euicc.verified.public_key.curve(),
            counter_value,
            association_token: None,
        }
    }

    /// A record from CERT.EUICC.ECDSA alone, trusted as given (the operator vouches for it): the EID is its
    /// subject serialNumber, the eIM key is on the certificate's curve. See [`NewEuicc::from_verified_chain`].
    pub fn from_certificate(euicc_certificate: &[u8], eim_id: &str, counter_value: i64) -> Result<NewEuicc, EimError> {
        let cert = Certificate::from_der(euicc_certificate)
            .map_err(|e| EimError::Malformed { what: "eUICC certificate", reason: e.to_string() })?;
        let eid = cert
            .subject_serial_number()
            .ok_or_else(|| EimError::InvalidEid("the eUICC certificate has no subject serialNumber".into()))?;
        check_eid(eid)?;
        Ok(NewEuicc {
            eid: eid.to_owned(),
            euicc_certificate: euicc_certificate.to_vec(),
            eim_id: eim_id.to_owned(),
            eim_key_curve: cert.public_key().curve(),
            counter_value,
            association_token: None,
        })
    }
}

/// A profile the eIM knows on an eUICC, from listProfileInfo and PSMO results ([`super::inventory`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownProfile {
    pub eid: String,
    pub iccid: String,
    /// [`super::inventory::ENABLED`] or [`super::inventory::DISABLED`].
    pub state: String,
    pub fallback_attribute: bool,
    pub last_seen: i64,
}

/// Checks a 32-digit EID with valid check digits.
pub fn check_eid(eid: &str) -> Result<(), EimError> {
    crate::smdp::Eid::new(eid).map(|_| ()).map_err(EimError::InvalidEid)
}

/// EID digits → `eidValue` (16 bytes).
pub fn eid_value(eid: &str) -> Result<[u8; 16], EimError> {
    let bytes = hex::decode(eid).map_err(|e| EimError::InvalidEid(format!("{eid}: {e}")))?;
    bytes.try_into().map_err(|_| EimError::InvalidEid(format!("{eid}: not 32 digits")))
}

/// `eidValue` (16 bytes) → EID digits, checked.
pub fn eid_from_value(eid_value: &[u8]) -> Result<String, EimError> {
    let eid = hex::encode_upper(eid_value);
    if eid.len() != 32 {
        return Err(EimError::InvalidEid(format!("eidValue of {} bytes", eid_value.len())));
    }
    check_eid(&eid)?;
    Ok(eid)
}
