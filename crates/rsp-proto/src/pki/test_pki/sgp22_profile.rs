//! The SGP.22 certificate profiles of the test PKI: for each RSP role, which extensions its
//! certificate carries (SGP.22 v2.5 §4.5.2, certificate profiles of the CI, EUM, eUICC,
//! SM-DP+ DPauth/DPpb and SM-DP+ TLS certificates; all ECDSA with SHA-256 on a §2.6.5.1 curve).
//!
//! Pure data: `x509_builder.rs` turns a [`Profile`] into X.509 extensions.
//! The public SGP.26 test certificates are the ground truth this table was checked against.
//!
//! Role policy OIDs (defined in [`crate::pki::role`]; id-rspRole, SGP.22 v2.5 §4.5.2, in certificatePolicies):
//! ```text
//! 2.23.146.1.2.1.0  id-rspRole-ci           CI              critical
//! 2.23.146.1.2.1.1  id-rspRole-euicc        eUICC           critical
//! 2.23.146.1.2.1.2  id-rspRole-eum          EUM             critical
//! 2.23.146.1.2.1.3  id-rspRole-dp-tls       SM-DP+ TLS      not critical (as in SGP.26)
//! 2.23.146.1.2.1.4  id-rspRole-dp-auth      SM-DP+ DPauth   critical
//! 2.23.146.1.2.1.5  id-rspRole-dp-pb        SM-DP+ DPpb     critical
//! ```
//! Entity identifiers (subjectAltName registeredID) use the test arc 2.999 as SGP.26 does:
//! CI 2.999.1, EUM 2.999.5, SM-DP+ 2.999.10. CRL distribution points are optional and omitted.

/// registeredID of the test CI (subjectAltName), as in SGP.26.
pub const TEST_CI_ID: &str = "2.999.1";
/// registeredID of the test EUM (subjectAltName), as in SGP.26.
pub const TEST_EUM_ID: &str = "2.999.5";
/// registeredID of the test SM-DP+ (subjectAltName of DPauth, DPpb and DP TLS), as in SGP.26.
pub const TEST_SMDP_ID: &str = "2.999.10";

/// KeyUsage bits an SGP.22 certificate may set; the extension is always critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyUsageBits {
    pub digital_signature: bool,
    pub key_cert_sign: bool,
    pub crl_sign: bool,
}

/// BasicConstraints of a CA certificate (always critical, cA TRUE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaConstraints {
    pub path_len: Option<u32>,
}

/// The extension set of one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// certificatePolicies: the role's id-rspRole OID.
    pub policy: &'static str,
    pub policy_critical: bool,
    pub key_usage: KeyUsageBits,
    /// `Some` for CA certificates; end-entity certificates carry no BasicConstraints.
    pub basic_constraints: Option<CaConstraints>,
    /// ExtendedKeyUsage serverAuth + clientAuth, critical (DP TLS only).
    pub tls_extended_key_usage: bool,
    /// AuthorityKeyIdentifier (every certificate but the self-signed CI).
    pub authority_key_id: bool,
    /// subjectAltName registeredID identifying the entity.
    pub registered_id: Option<&'static str>,
    /// NameConstraints with the permitted EID range (EUM only); its content is per EUM.
    pub eid_name_constraints: bool,
    /// Validity in days from notBefore.
    pub validity_days: u32,
}

use crate::pki::role::{
    Role, ID_RSP_ROLE_CI, ID_RSP_ROLE_DP_AUTH, ID_RSP_ROLE_DP_PB, ID_RSP_ROLE_DP_TLS, ID_RSP_ROLE_EUICC,
    ID_RSP_ROLE_EUM,
};

const fn years(n: u32) -> u32 {
    n * 365 + n / 4
}

impl Role {
    /// The SGP.22 v2.5 §4.5.2 profile of this role's certificate.
    pub fn profile(self) -> Profile {
        let signer = KeyUsageBits { digital_signature: true, ..KeyUsageBits::default() };
        match self {
            // CI: self-signed; keyCertSign + cRLSign; CA without path length.
            Role::Ci => Profile {
                policy: ID_RSP_ROLE_CI,
                policy_critical: true,
                key_usage: KeyUsageBits { key_cert_sign: true, crl_sign: true, ..KeyUsageBits::default() },
                basic_constraints: Some(CaConstraints { path_len: None }),
                tls_extended_key_usage: false,
                authority_key_id: false,
                registered_id: Some(TEST_CI_ID),
                eid_name_constraints: false,
                validity_days: years(30),
            },
            // EUM: signs eUICCs only (pathLen 0), restricted to its EID prefix.
            Role::Eum => Profile {
                policy: ID_RSP_ROLE_EUM,
                policy_critical: true,
                key_usage: KeyUsageBits { key_cert_sign: true, ..KeyUsageBits::default() },
                basic_constraints: Some(CaConstraints { path_len: Some(0) }),
                tls_extended_key_usage: false,
                authority_key_id: true,
                registered_id: Some(TEST_EUM_ID),
                eid_name_constraints: true,
                validity_days: years(30),
            },
            // eUICC: the card's signing key (euiccSignature1/2).
            Role::Euicc => Profile {
                policy: ID_RSP_ROLE_EUICC,
                policy_critical: true,
                key_usage: signer,
                basic_constraints: None,
                tls_extended_key_usage: false,
                authority_key_id: true,
                registered_id: None,
                eid_name_constraints: false,
                validity_days: years(30),
            },
            Role::DpAuth => Profile {
                policy: ID_RSP_ROLE_DP_AUTH,
                policy_critical: true,
                key_usage: signer,
                basic_constraints: None,
                tls_extended_key_usage: false,
                authority_key_id: true,
                registered_id: Some(TEST_SMDP_ID),
                eid_name_constraints: false,
                validity_days: years(5),
            },
            Role::DpPb => Profile {
                policy: ID_RSP_ROLE_DP_PB,
                policy_critical: true,
                key_usage: signer,
                basic_constraints: None,
                tls_extended_key_usage: false,
                authority_key_id: true,
                registered_id: Some(TEST_SMDP_ID),
                eid_name_constraints: false,
                validity_days: years(5),
            },
            // DP TLS: server and client auth; SAN dNSName/iPAddress per address + registeredID.
            Role::DpTls => Profile {
                policy: ID_RSP_ROLE_DP_TLS,
                policy_critical: false,
                key_usage: signer,
                basic_constraints: None,
                tls_extended_key_usage: true,
                authority_key_id: true,
                registered_id: Some(TEST_SMDP_ID),
                eid_name_constraints: false,
                validity_days: years(2),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cas_sign_certificates_and_only_end_entities_sign_data() {
        for role in Role::ALL {
            let p = role.profile();
            let is_ca = p.basic_constraints.is_some();
            assert_eq!(p.key_usage.key_cert_sign, is_ca, "{role:?}");
            assert_eq!(p.key_usage.digital_signature, !is_ca, "{role:?}");
            assert_eq!(p.key_usage.crl_sign, role == Role::Ci, "{role:?}");
        }
    }

    #[test]
    fn policies_are_distinct_rsp_roles_and_critical_except_tls() {
        let mut seen = std::collections::HashSet::new();
        for role in Role::ALL {
            let p = role.profile();
            assert!(p.policy.starts_with("2.23.146.1.2.1."), "{role:?}");
            assert!(seen.insert(p.policy), "{role:?} reuses {}", p.policy);
            assert_eq!(p.policy_critical, role != Role::DpTls, "{role:?}");
            assert_eq!(p.tls_extended_key_usage, role == Role::DpTls, "{role:?}");
        }
    }

    #[test]
    fn only_the_self_signed_ci_lacks_an_authority_key_identifier() {
        for role in Role::ALL {
            assert_eq!(role.profile().authority_key_id, role != Role::Ci, "{role:?}");
        }
        assert_eq!(Role::Eum.profile().basic_constraints, Some(CaConstraints { path_len: Some(0) }));
        assert!(Role::Eum.profile().eid_name_constraints);
    }
}
