//! The two elliptic curves of SGP.22 §2.6.5.1: NIST P-256 and brainpoolP256r1.

use std::fmt;
use std::str::FromStr;

use openssl::nid::Nid;

/// An SGP.22 curve. Every RSP key (CI, EUM, eUICC, DPauth, DPpb, DP TLS) lives on one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    /// NIST P-256 (secp256r1, prime256v1).
    NistP256,
    /// brainpoolP256r1 (RFC 5639).
    BrainpoolP256r1,
}

impl Curve {
    pub const ALL: [Curve; 2] = [Curve::NistP256, Curve::BrainpoolP256r1];

    /// The OpenSSL curve identifier.
    pub fn nid(self) -> Nid {
        match self {
            Curve::NistP256 => Nid::X9_62_PRIME256V1,
            Curve::BrainpoolP256r1 => Nid::BRAINPOOL_P256R1,
        }
    }

    /// Short lower-case name used on the CLI and in directory names: `nist` or `brainpool`.
    pub fn short_name(self) -> &'static str {
        match self {
            Curve::NistP256 => "nist",
            Curve::BrainpoolP256r1 => "brainpool",
        }
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Curve::NistP256 => "NIST P-256",
            Curve::BrainpoolP256r1 => "brainpoolP256r1",
        })
    }
}

impl FromStr for Curve {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "nist" | "p-256" | "p256" | "prime256v1" | "secp256r1" => Ok(Curve::NistP256),
            "brainpool" | "brainpoolp256r1" => Ok(Curve::BrainpoolP256r1),
            other => Err(format!("unknown curve `{other}` (expected nist or brainpool)")),
        }
    }
}
