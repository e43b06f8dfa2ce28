//! The RSP roles of SGP.22 v2.5 §4.5 and their certificate-policy OIDs (id-rspRole, §4.5.2):
//! which certificate is a CI, an EUM, an eUICC, or one of the SM-DP+'s DPauth, DPpb and TLS
//! certificates. Chain checks ([`super::chain`]) and the test-PKI generator both use this table.

/// id-rspRole-ci.
pub const ID_RSP_ROLE_CI: &str = "2.23.146.1.2.1.0";
/// id-rspRole-euicc.
pub const ID_RSP_ROLE_EUICC: &str = "2.23.146.1.2.1.1";
/// id-rspRole-eum.
pub const ID_RSP_ROLE_EUM: &str = "2.23.146.1.2.1.2";
/// id-rspRole-dp-tls.
pub const ID_RSP_ROLE_DP_TLS: &str = "2.23.146.1.2.1.3";
/// id-rspRole-dp-auth.
pub const ID_RSP_ROLE_DP_AUTH: &str = "2.23.146.1.2.1.4";
/// id-rspRole-dp-pb.
pub const ID_RSP_ROLE_DP_PB: &str = "2.23.146.1.2.1.5";

/// A certificate of the SGP.22 hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Certificate Issuer: the self-signed root.
    Ci,
    /// eUICC Manufacturer: signs eUICC certificates within its permitted EID range.
    Eum,
    /// One eUICC; subject serialNumber = its EID.
    Euicc,
    /// SM-DP+ authentication (signs serverSigned1, ES9+ AuthenticateServer).
    DpAuth,
    /// SM-DP+ profile binding (signs smdpSigned2 and the bound profile package).
    DpPb,
    /// SM-DP+ TLS server certificate (ES9+ over HTTPS).
    DpTls,
}

impl Role {
    pub const ALL: [Role; 6] = [Role::Ci, Role::Eum, Role::Euicc, Role::DpAuth, Role::DpPb, Role::DpTls];

    /// Human name used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Role::Ci => "CI",
            Role::Eum => "EUM",
            Role::Euicc => "eUICC",
            Role::DpAuth => "DPauth",
            Role::DpPb => "DPpb",
            Role::DpTls => "DP TLS",
        }
    }
}
