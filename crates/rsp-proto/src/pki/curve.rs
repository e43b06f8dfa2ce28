//! The two elliptic curves of SGP.22 §2.6.5.1: NIST P-256 and brainpoolP256r1.

use std::fmt;
use std::str::FromStr;

use std::sync::OnceLock;

use openssl::ec::EcGroup;
use openssl::error::ErrorStack;
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

    /// The curve's OpenSSL group, built once per process (building one is a measurable part of every key
    /// decoded or generated).
    pub fn group(self) -> Result<&'static EcGroup, ErrorStack> {
        static NIST: OnceLock<EcGroup> = OnceLock::new();
        static BRAINPOOL: OnceLock<EcGroup> = OnceLock::new();
        let cell = match self {
            Curve::NistP256 => &NIST,
            Curve::BrainpoolP256r1 => &BRAINPOOL,
        };
        if let Some(group) = cell.get() {
            return Ok(group);
        }
        let group = EcGroup::from_curve_name(self.nid())?;
        Ok(cell.get_or_init(|| group))
    }

    /// The curve named by an `ECParameters namedCurve` OID (its DER content bytes, RFC 5480 §2.1.1.1 / RFC 5639
    /// §4.1): prime256v1 `1.2.840.10045.3.1.7`, brainpoolP256r1 `1.3.36.3.3.2.8.1.1.7`.
    pub fn from_named_curve_oid(oid_content: &[u8]) -> Option<Curve> {
        match oid_content {
            [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07] => Some(Curve::NistP256),
            [0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07] => Some(Curve::BrainpoolP256r1),
            _ => None,
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
