//! SGP.22-specific certificate chain verification (SGP.22 v2.5 §4.5.1 PKI, §4.5.2 certificate
//! profiles; used by §3.1.2.x / §5.6.3 ES9+.AuthenticateClient "verify CERT.EUM.ECDSA and
//! CERT.EUICC.ECDSA", and for the SM-DP+'s own DPauth/DPpb/DP TLS chains).
//!
//! Two fixed shapes, CI → EUM → eUICC and CI → DPauth | DPpb | DP TLS, checked link by link:
//! - the child's authorityKeyIdentifier equals the issuer's subjectKeyIdentifier, and the child's
//!   issuer Name equals the issuer's subject Name (DER bytes);
//! - the child's signature verifies with the issuer's public key (ecdsa-with-SHA256);
//! - every certificate, the trusted CI included, is within its validity period at `now`;
//! - KeyUsage: keyCertSign for the CI and the EUM (both also cA), digitalSignature for signers;
//! - certificatePolicies: the role's id-rspRole OID (§4.5.2: CI .0, eUICC .1, EUM .2, DP TLS .3,
//!   DPauth .4, DPpb .5 under 2.23.146.1.2.1);
//! - the eUICC's EID (subject serialNumber) starts with a prefix the EUM permits (`eid_range.rs`).
//!
//! This is deliberately not RFC 5280 path validation: OpenSSL's rejects the SGP.26 EUM's name
//! constraint (INTEROP.md). Mixed curves along a chain are not forbidden (SGP.22 does not forbid them).
//! Revocation (CRLs, §4.6) is not checked here.
//!
//! A [`CiStore`] remembers the EUM certificates it has verified (the link to its CI: signature and profile), keyed by
//! the SHA-256 of their DER: every eUICC of one EUM presents the same EUM certificate, so later chains verify only
//! their own link, and the validity periods at `now`. (Revocation, once checked, must clear this memory.)

use time::OffsetDateTime;

use crate::pki::certificate::{Certificate, CertificateError};
use crate::pki::ecdsa::EcPublicKey;
use crate::pki::eid::has_valid_check_digits;
use crate::pki::eid_range::{eid_is_within, EID_DIGITS};
use crate::pki::role::Role;
use crate::pki::Curve;

/// Why a chain (or a CI offered as trusted) is not accepted. `which` names the certificate.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("{} certificate is malformed: {source}", .which.name())]
    Malformed {
        which: Role,
        #[source]
        source: CertificateError,
    },
    #[error("no trusted CI has the key identifier {aki} named by the {} certificate", .which.name())]
    UnknownCi { which: Role, aki: String },
    #[error("none of the eUICC's CI public key identifiers ({}) is a trusted CI here", .offered.join(", "))]
    NoCommonCi { offered: Vec<String> },
    #[error("{} certificate has no subjectKeyIdentifier", .which.name())]
    MissingSubjectKeyId { which: Role },
    #[error("{} certificate has no authorityKeyIdentifier", .which.name())]
    MissingAuthorityKeyId { which: Role },
    #[error("{} certificate's authorityKeyIdentifier {found} is not its issuer's key identifier {expected}", .which.name())]
    AkiMismatch { which: Role, expected: String, found: String },
    #[error("{} certificate's issuer `{found}` is not the subject of its issuer `{expected}`", .which.name())]
    WrongIssuer { which: Role, expected: String, found: String },
    #[error("{} certificate's signature does not verify with its issuer's key", .which.name())]
    BadSignature { which: Role },
    #[error("{} certificate expired at {not_after}", .which.name())]
    Expired { which: Role, not_after: OffsetDateTime },
    #[error("{} certificate is not valid before {not_before}", .which.name())]
    NotYetValid { which: Role, not_before: OffsetDateTime },
    #[error("{} certificate lacks the key usage {needed} (SGP.22 §4.5.2)", .which.name())]
    WrongKeyUsage { which: Role, needed: &'static str },
    #[error("{} certificate is not a CA (basicConstraints cA)", .which.name())]
    NotACa { which: Role },
    #[error("certificate does not carry the {} role policy {} (SGP.22 §4.5.2)", .which.name(), .which.profile().policy)]
    WrongPolicy { which: Role },
    #[error("eUICC certificate has no EID (subject serialNumber)")]
    MissingEid,
    #[error("eUICC certificate's EID `{eid}` is not 32 decimal digits with valid check digits")]
    InvalidEid { eid: String },
    #[error("EUM certificate permits no EID range (no nameConstraints serialNumber or permittedEins)")]
    EumWithoutEidRange,
    #[error("EID {eid} is outside the EUM's permitted range {}", .permitted.join(", "))]
    EidOutsideEumRange { eid: String, permitted: Vec<String> },
}

impl ChainError {
    fn malformed(which: Role) -> impl FnOnce(CertificateError) -> ChainError {
        move |source| ChainError::Malformed { which, source }
    }
}

/// Roles of the SM-DP+'s own certificates, all issued directly by a CI (SGP.22 v2.5 §4.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DpRole {
    DpAuth,
    DpPb,
    DpTls,
}

impl DpRole {
    pub fn role(self) -> Role {
        match self {
            DpRole::DpAuth => Role::DpAuth,
            DpRole::DpPb => Role::DpPb,
            DpRole::DpTls => Role::DpTls,
        }
    }
}

/// A CI certificate trusted by configuration; its subjectKeyIdentifier is its `euiccCiPKId`.
#[derive(Debug, Clone)]
pub struct TrustedCi {
    pub certificate: Certificate,
    pub ci_pkid: Vec<u8>,
}

/// The trusted CIs (several at once: e.g. GSMA RSP2 Root CI1 and OISTE GSMA CI G1 in production,
/// the SGP.26 test CIs in tests), indexed by subjectKeyIdentifier = `euiccCiPKId`
/// (SGP.22 v2.5 §5.7.8 `euiccCiPKIdListForVerification` / `euiccCiPKIdListForSigning`).
#[derive(Debug, Clone, Default)]
pub struct CiStore {
    cis: Vec<TrustedCi>,
    /// EUM certificates verified against one of `cis`, by SHA-256 of their DER (shared by clones; emptied when a CI
    /// is added, and when full).
    verified_eums: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<[u8; 32], std::sync::Arc<Certificate>>>>,
}

/// How many verified EUM certificates a [`CiStore`] remembers (a deployment sees a handful).
const VERIFIED_EUMS: usize = 1024;

impl CiStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Trust the CI certificate `der`: it must be a self-signed CA with keyCertSign, the
    /// id-rspRole-ci policy and a subjectKeyIdentifier. Adding the same key identifier again
    /// replaces the earlier certificate. Returns its `euiccCiPKId`.
    pub fn add_der(&mut self, der: &[u8]) -> Result<Vec<u8>, ChainError> {
        let ci = Certificate::from_der(der).map_err(ChainError::malformed(Role::Ci))?;
        self.add(ci)
    }

    /// As [`CiStore::add_der`], for a parsed certificate.
    pub fn add(&mut self, ci: Certificate) -> Result<Vec<u8>, ChainError> {
        let ci_pkid = ci.subject_key_id().ok_or(ChainError::MissingSubjectKeyId { which: Role::Ci })?.to_vec();
        check_profile(&ci, Role::Ci)?;
        check_issued_by(&ci, Role::Ci, &ci)?;
        self.cis.retain(|t| t.ci_pkid != ci_pkid);
        self.cis.push(TrustedCi { certificate: ci, ci_pkid: ci_pkid.clone() });
        self.forget_verified_eums();
        Ok(ci_pkid)
    }

    /// The EUM certificate with this DER, if this store verified it against its CI before.
    fn verified_eum(&self, key: &[u8; 32]) -> Option<std::sync::Arc<Certificate>> {
        self.verified_eums.lock().ok()?.get(key).cloned()
    }

    fn remember_verified_eum(&self, key: [u8; 32], eum: Certificate) {
        if let Ok(mut eums) = self.verified_eums.lock() {
            if eums.len() >= VERIFIED_EUMS {
                eums.clear();
            }
            eums.insert(key, std::sync::Arc::new(eum));
        }
    }

    /// Verified EUM certificates are verified again on their next use.
    pub fn forget_verified_eums(&self) {
        if let Ok(mut eums) = self.verified_eums.lock() {
            eums.clear();
        }
    }

    /// The trusted CI with this `euiccCiPKId` (subjectKeyIdentifier).
    pub fn get(&self, ci_pkid: &[u8]) -> Option<&TrustedCi> {
        self.cis.iter().find(|t| t.ci_pkid == ci_pkid)
    }

    /// All trusted CIs, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &TrustedCi> {
        self.cis.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.cis.is_empty()
    }

    /// The first CI of the eUICC's list (`euiccCiPKIdListForSigning`/`…ForVerification`, in the
    /// eUICC's order of preference) that is trusted here; [`ChainError::NoCommonCi`] when none is
    /// (SGP.22 v2.5 §5.6.1: "Unsupported Public Key Identifiers", 8.8.2/3.1).
    pub fn choose_for_euicc<P: AsRef<[u8]>>(&self, euicc_ci_pkids: &[P]) -> Result<&TrustedCi, ChainError> {
        choose_for_euicc(euicc_ci_pkids, &self.cis, |t| &t.ci_pkid)
    }
}

/// The first of `candidates` (e.g. the SM-DP+'s DPauth chains, one per CI) whose CI key identifier
/// comes first in the eUICC's list. [`ChainError::NoCommonCi`] when none matches (8.8.2/3.1).
pub fn choose_for_euicc<'c, P: AsRef<[u8]>, T>(
    euicc_ci_pkids: &[P],
    candidates: &'c [T],
    ci_pkid_of: impl Fn(&T) -> &[u8],
) -> Result<&'c T, ChainError> {
    euicc_ci_pkids.iter().find_map(|wanted| candidates.iter().find(|c| ci_pkid_of(c) == wanted.as_ref())).ok_or_else(
        || ChainError::NoCommonCi { offered: euicc_ci_pkids.iter().map(|p| hex::encode(p.as_ref())).collect() },
    )
}

/// A verified eUICC: what the SM-DP+ needs from CERT.EUICC.ECDSA after §5.6.3 step "verify the certificates".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEuicc {
    /// 32 digits, from the eUICC certificate's subject serialNumber.
    pub eid: String,
    pub curve: Curve,
    /// PK.EUICC.ECDSA: verifies euiccSignature1 / euiccSignature2.
    pub public_key: EcPublicKey,
    /// subjectKeyIdentifier of the CI the chain ends at.
    pub ci_pkid: Vec<u8>,
}

/// A verified SM-DP+ certificate (DPauth, DPpb or DP TLS).
#[derive(Debug, Clone)]
pub struct VerifiedDp {
    pub role: DpRole,
    pub curve: Curve,
    pub public_key: EcPublicKey,
    /// subjectKeyIdentifier of the issuing CI: pick this certificate for eUICCs listing it.
    pub ci_pkid: Vec<u8>,
    pub certificate: Certificate,
}

/// Verify CI → EUM → eUICC (SGP.22 v2.5 §5.6.3 ES9+.AuthenticateClient; §4.5.2 profiles) at `now`.
pub fn verify_euicc_chain(
    trusted_cis: &CiStore,
    eum_der: &[u8],
    euicc_der: &[u8],
    now: OffsetDateTime,
) -> Result<VerifiedEuicc, ChainError> {
    // The checks in the same order whether or not the EUM was verified before; one verified before skips only the
    // checks it passed then (its signature by the CI and its profile), never a validity period.
    let key = openssl::sha::sha256(eum_der);
    let remembered = trusted_cis.verified_eum(&key);
    let parsed;
    let eum: &Certificate = match &remembered {
        Some(eum) => eum,
        None => {
            parsed = Certificate::from_der(eum_der).map_err(ChainError::malformed(Role::Eum))?;
            &parsed
        }
    };
    let euicc = Certificate::from_der(euicc_der).map_err(ChainError::malformed(Role::Euicc))?;

    let ci = issuing_ci(trusted_cis, eum, Role::Eum)?;
    check_validity(&ci.certificate, Role::Ci, now)?;
    if remembered.is_none() {
        check_issued_by(eum, Role::Eum, &ci.certificate)?;
    }
    check_validity(eum, Role::Eum, now)?;
    if remembered.is_none() {
        check_profile(eum, Role::Eum)?;
        trusted_cis.remember_verified_eum(key, eum.clone());
    }

    check_issued_by(&euicc, Role::Euicc, eum)?;
    check_validity(&euicc, Role::Euicc, now)?;
    check_profile(&euicc, Role::Euicc)?;

    let eid = check_eid(&euicc, eum)?;
    Ok(VerifiedEuicc {
        eid,
        curve: euicc.public_key().curve(),
        public_key: euicc.public_key().clone(),
        ci_pkid: ci.ci_pkid.clone(),
    })
}

/// Verify CI → `expected_role` (DPauth, DPpb or DP TLS) at `now`.
pub fn verify_dp_chain(
    trusted_cis: &CiStore,
    cert_der: &[u8],
    expected_role: DpRole,
    now: OffsetDateTime,
) -> Result<VerifiedDp, ChainError> {
    let role = expected_role.role();
    let cert = Certificate::from_der(cert_der).map_err(ChainError::malformed(role))?;
    let ci = issuing_ci(trusted_cis, &cert, role)?;
    check_validity(&ci.certificate, Role::Ci, now)?;
    check_issued_by(&cert, role, &ci.certificate)?;
    check_validity(&cert, role, now)?;
    check_profile(&cert, role)?;
    Ok(VerifiedDp {
        role: expected_role,
        curve: cert.public_key().curve(),
        public_key: cert.public_key().clone(),
        ci_pkid: ci.ci_pkid.clone(),
        certificate: cert,
    })
}

/// The trusted CI named by the authorityKeyIdentifier of `cert`.
fn issuing_ci<'s>(store: &'s CiStore, cert: &Certificate, which: Role) -> Result<&'s TrustedCi, ChainError> {
    let aki = cert.authority_key_id().ok_or(ChainError::MissingAuthorityKeyId { which })?;
    store.get(aki).ok_or_else(|| ChainError::UnknownCi { which, aki: hex::encode(aki) })
}

/// One link: `child` (of role `which`) names `issuer` (AKI = SKI, issuer Name = subject Name) and
/// carries a signature that verifies with the issuer's key. A self-signed CI is its own issuer.
fn check_issued_by(child: &Certificate, which: Role, issuer: &Certificate) -> Result<(), ChainError> {
    if which != Role::Ci {
        let found = child.authority_key_id().ok_or(ChainError::MissingAuthorityKeyId { which })?;
        let expected = issuer.subject_key_id().ok_or(ChainError::MissingSubjectKeyId { which: issuer_role(which) })?;
        if found != expected {
            return Err(ChainError::AkiMismatch { which, expected: hex::encode(expected), found: hex::encode(found) });
        }
    }
    if child.issuer_der() != issuer.subject_der() {
        return Err(ChainError::WrongIssuer {
            which,
            expected: issuer.subject().to_string(),
            found: child.issuer().to_string(),
        });
    }
    match child.x509().verify(issuer.public_key().pkey()) {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(ChainError::BadSignature { which }),
    }
}

fn issuer_role(child: Role) -> Role {
    match child {
        Role::Euicc => Role::Eum,
        _ => Role::Ci,
    }
}

/// notBefore ≤ now ≤ notAfter (RFC 5280 §4.1.2.5: both inclusive).
fn check_validity(cert: &Certificate, which: Role, now: OffsetDateTime) -> Result<(), ChainError> {
    if now < cert.not_before() {
        return Err(ChainError::NotYetValid { which, not_before: cert.not_before() });
    }
    if now > cert.not_after() {
        return Err(ChainError::Expired { which, not_after: cert.not_after() });
    }
    Ok(())
}

/// KeyUsage, basicConstraints and the role policy of SGP.22 v2.5 §4.5.2 for `which`.
fn check_profile(cert: &Certificate, which: Role) -> Result<(), ChainError> {
    let issues_certificates = matches!(which, Role::Ci | Role::Eum);
    let usage = cert.key_usage().unwrap_or_default();
    if issues_certificates {
        if !usage.key_cert_sign {
            return Err(ChainError::WrongKeyUsage { which, needed: "keyCertSign" });
        }
        if !cert.is_ca() {
            return Err(ChainError::NotACa { which });
        }
    } else if !usage.digital_signature {
        return Err(ChainError::WrongKeyUsage { which, needed: "digitalSignature" });
    }
    if !cert.has_role(which) {
        return Err(ChainError::WrongPolicy { which });
    }
    Ok(())
}

/// The eUICC's EID, checked for form and against the EUM's permitted prefixes.
fn check_eid(euicc: &Certificate, eum: &Certificate) -> Result<String, ChainError> {
    let eid = euicc.subject_serial_number().ok_or(ChainError::MissingEid)?;
    if eid.len() != EID_DIGITS || !has_valid_check_digits(eid) {
        return Err(ChainError::InvalidEid { eid: eid.chars().take(64).collect() });
    }
    let permitted = eum.permitted_eid_prefixes();
    if permitted.is_empty() {
        return Err(ChainError::EumWithoutEidRange);
    }
    if !eid_is_within(eid, permitted) {
        return Err(ChainError::EidOutsideEumRange { eid: eid.to_string(), permitted: permitted.to_vec() });
    }
    Ok(eid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choose_takes_the_euicc_preference_order() {
        let candidates = [(vec![1u8], "one"), (vec![2u8], "two")];
        let chosen = choose_for_euicc(&[vec![9u8], vec![2], vec![1]], &candidates, |c| &c.0).unwrap();
        assert_eq!(chosen.1, "two");
        let none = choose_for_euicc(&[vec![9u8]], &candidates, |c| &c.0);
        assert!(matches!(none, Err(ChainError::NoCommonCi { offered }) if offered == ["09"]));
        let empty: [Vec<u8>; 0] = [];
        assert!(choose_for_euicc(&empty, &candidates, |c| &c.0).is_err());
    }
}
