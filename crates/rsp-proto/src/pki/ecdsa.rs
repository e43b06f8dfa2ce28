//! ECDSA with SHA-256 in the plain `r || s` signature format (BSI TR-03111 §5.2.1, 64 bytes on the
//! 256-bit curves), as SGP.22 v2.5 §2.6.5 requires for every `5F37` signature (serverSignature1,
//! euiccSignature1/2, smdpSignature2, the BPP's InitialiseSecureChannel), on the two curves of
//! §2.6.5.1: NIST P-256 and brainpoolP256r1.
//!
//! Verification takes an [`EcPublicKey`] — from a certificate ([`crate::pki::Certificate::public_key`])
//! or from an uncompressed point and its curve — and checks the signature's shape before the maths:
//! exactly 64 bytes, `0 < r < n` and `0 < s < n`. Nothing a peer sends can make this module panic.

use std::fmt;

use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcKey, EcKeyRef, EcPoint, PointConversionForm};
use openssl::ecdsa::EcdsaSig;
use openssl::error::ErrorStack;
use openssl::pkey::{HasPublic, PKey, Private, Public};
use openssl::sha::sha256;

use crate::pki::keystore::RawSignature;
use crate::pki::Curve;

/// Length in bytes of one scalar (r or s) and of one coordinate on the 256-bit curves.
pub const SCALAR_LEN: usize = 32;
/// Length of a raw `r || s` signature.
pub const RAW_SIGNATURE_LEN: usize = 2 * SCALAR_LEN;
/// Length of an uncompressed point `04 || X || Y`.
pub const UNCOMPRESSED_POINT_LEN: usize = 1 + 2 * SCALAR_LEN;

/// Why a signature could not be made or was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum EcdsaError {
    #[error("ECDSA signature is {len} bytes; r || s on a 256-bit curve is {RAW_SIGNATURE_LEN}")]
    WrongSignatureLength { len: usize },
    #[error("ECDSA signature component {component} is zero or not below the curve order")]
    ScalarOutOfRange { component: &'static str },
    #[error("ECDSA signature does not verify with this public key")]
    SignatureMismatch,
    #[error("public key is not a point on {curve}: {reason}")]
    PointNotOnCurve { curve: Curve, reason: String },
    #[error("key is not on an SGP.22 curve (NIST P-256 or brainpoolP256r1)")]
    UnsupportedCurve,
    #[error("OpenSSL failed while {during}: {source}")]
    Crypto {
        during: &'static str,
        #[source]
        source: ErrorStack,
    },
}

fn crypto(during: &'static str) -> impl FnOnce(ErrorStack) -> EcdsaError {
    move |source| EcdsaError::Crypto { during, source }
}

/// An EC public key on an SGP.22 curve (PK.EUICC.ECDSA, PK.DPauth.ECDSA, otPK.EUICC.ECKA, …).
#[derive(Clone)]
pub struct EcPublicKey {
    curve: Curve,
    /// `04 || X || Y`.
    point: Vec<u8>,
    pkey: PKey<Public>,
}

impl EcPublicKey {
    /// A public key from a point encoding (uncompressed `04 || X || Y`, or compressed) on `curve`.
    /// Rejects points that are not on the curve, including the point at infinity.
    pub fn from_point(curve: Curve, point: &[u8]) -> Result<Self, EcdsaError> {
        let group = curve.group().map_err(crypto("loading the curve"))?;
        let mut ctx = BigNumContext::new().map_err(crypto("allocating"))?;
        let not_on_curve = |e: ErrorStack| EcdsaError::PointNotOnCurve { curve, reason: e.to_string() };
        let p = EcPoint::from_bytes(group, point, &mut ctx).map_err(not_on_curve)?;
        let key = EcKey::from_public_key(group, &p).map_err(not_on_curve)?;
        Self::from_ec_key(&key)
    }

    /// A public key from an OpenSSL EC key (public or private half; only the public part is kept).
    pub fn from_ec_key<T: HasPublic>(key: &EcKeyRef<T>) -> Result<Self, EcdsaError> {
        let curve = curve_of(key.group())?;
        let group = key.group();
        let mut ctx = BigNumContext::new().map_err(crypto("allocating"))?;
        let point = key
            .public_key()
            .to_bytes(group, PointConversionForm::UNCOMPRESSED, &mut ctx)
            .map_err(crypto("encoding the public point"))?;
        let public = EcKey::from_public_key(group, key.public_key()).map_err(crypto("copying the public key"))?;
        // Rejects the point at infinity and points off the curve.
        public.check_key().map_err(|e| EcdsaError::PointNotOnCurve { curve, reason: e.to_string() })?;
        let pkey = PKey::from_ec_key(public).map_err(crypto("wrapping the public key"))?;
        Ok(EcPublicKey { curve, point, pkey })
    }

    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// The uncompressed point `04 || X || Y` (65 bytes).
    pub fn uncompressed_point(&self) -> &[u8] {
        &self.point
    }

    /// The OpenSSL key, for certificate signature checks and key agreement.
    pub fn pkey(&self) -> &PKey<Public> {
        &self.pkey
    }

    /// ECDSA-SHA256 verification of a raw `r || s` signature over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), EcdsaError> {
        verify(self, message, signature)
    }
}

impl PartialEq for EcPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.curve == other.curve && self.point == other.point
    }
}

impl Eq for EcPublicKey {}

impl fmt::Debug for EcPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EcPublicKey({}, {})", self.curve, hex::encode(&self.point))
    }
}

/// The SGP.22 curve of an OpenSSL group; keys with explicit parameters or on other curves are refused.
pub fn curve_of(group: &openssl::ec::EcGroupRef) -> Result<Curve, EcdsaError> {
    let nid = group.curve_name().ok_or(EcdsaError::UnsupportedCurve)?;
    Curve::ALL.into_iter().find(|c| c.nid() == nid).ok_or(EcdsaError::UnsupportedCurve)
}

/// ECDSA-SHA256 over `message` with `key`, as `r || s` with each half left-padded to 32 bytes.
pub fn sign(key: &EcKeyRef<Private>, message: &[u8]) -> Result<RawSignature, EcdsaError> {
    curve_of(key.group())?;
    let sig = EcdsaSig::sign(&sha256(message), key).map_err(crypto("signing"))?;
    let r = sig.r().to_vec_padded(SCALAR_LEN as i32).map_err(crypto("encoding r"))?;
    let s = sig.s().to_vec_padded(SCALAR_LEN as i32).map_err(crypto("encoding s"))?;
    let mut raw = [0u8; RAW_SIGNATURE_LEN];
    raw[..SCALAR_LEN].copy_from_slice(&r);
    raw[SCALAR_LEN..].copy_from_slice(&s);
    Ok(RawSignature(raw))
}

/// Verify the raw `r || s` ECDSA-SHA256 `signature` over `message` with `public_key`.
pub fn verify(public_key: &EcPublicKey, message: &[u8], signature: &[u8]) -> Result<(), EcdsaError> {
    if signature.len() != RAW_SIGNATURE_LEN {
        return Err(EcdsaError::WrongSignatureLength { len: signature.len() });
    }
    let (r_bytes, s_bytes) = signature.split_at(SCALAR_LEN);
    let ec_key = public_key.pkey.ec_key().map_err(crypto("reading the public key"))?;
    let order = curve_order(ec_key.group())?;
    let r = scalar_in_range(r_bytes, &order, "r")?;
    let s = scalar_in_range(s_bytes, &order, "s")?;
    let sig = EcdsaSig::from_private_components(r, s).map_err(crypto("building the signature"))?;
    match sig.verify(&sha256(message), &ec_key) {
        Ok(true) => Ok(()),
        Ok(false) => Err(EcdsaError::SignatureMismatch),
        Err(source) => Err(EcdsaError::Crypto { during: "verifying", source }),
    }
}

fn curve_order(group: &openssl::ec::EcGroupRef) -> Result<BigNum, EcdsaError> {
    let mut order = BigNum::new().map_err(crypto("allocating"))?;
    let mut ctx = BigNumContext::new().map_err(crypto("allocating"))?;
    group.order(&mut order, &mut ctx).map_err(crypto("reading the curve order"))?;
    Ok(order)
}

/// `bytes` as an integer in `[1, n-1]` (ANSI X9.62 / TR-03111 signature verification step 1).
fn scalar_in_range(bytes: &[u8], order: &BigNum, component: &'static str) -> Result<BigNum, EcdsaError> {
    let value = BigNum::from_slice(bytes).map_err(crypto("reading a signature component"))?;
    if value.num_bits() == 0 || value >= *order {
        return Err(EcdsaError::ScalarOutOfRange { component });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(curve: Curve) -> EcKey<Private> {
        EcKey::generate(curve.group().unwrap()).unwrap()
    }

    #[test]
    fn round_trip_on_both_curves() {
        for curve in Curve::ALL {
            let k = key(curve);
            let public = EcPublicKey::from_ec_key(&k).unwrap();
            assert_eq!(public.curve(), curve);
            assert_eq!(public.uncompressed_point().len(), UNCOMPRESSED_POINT_LEN);
            let sig = sign(&k, b"serverSigned1").unwrap();
            public.verify(b"serverSigned1", &sig.0).unwrap();
            assert!(matches!(public.verify(b"serverSigned2", &sig.0), Err(EcdsaError::SignatureMismatch)));
            // The same key rebuilt from its point verifies too.
            let again = EcPublicKey::from_point(curve, public.uncompressed_point()).unwrap();
            again.verify(b"serverSigned1", &sig.0).unwrap();
        }
    }

    #[test]
    fn malformed_signatures_are_errors() {
        let k = key(Curve::NistP256);
        let public = EcPublicKey::from_ec_key(&k).unwrap();
        let sig = sign(&k, b"m").unwrap().0;
        assert!(matches!(public.verify(b"m", &sig[..63]), Err(EcdsaError::WrongSignatureLength { len: 63 })));
        assert!(matches!(public.verify(b"m", &[]), Err(EcdsaError::WrongSignatureLength { len: 0 })));
        let mut zero_r = sig;
        zero_r[..32].fill(0);
        assert!(matches!(public.verify(b"m", &zero_r), Err(EcdsaError::ScalarOutOfRange { component: "r" })));
        let mut big_s = sig;
        big_s[32..].fill(0xFF);
        assert!(matches!(public.verify(b"m", &big_s), Err(EcdsaError::ScalarOutOfRange { component: "s" })));
    }

    #[test]
    fn points_off_the_curve_are_rejected() {
        let k = key(Curve::BrainpoolP256r1);
        let public = EcPublicKey::from_ec_key(&k).unwrap();
        let mut bad = public.uncompressed_point().to_vec();
        bad[64] ^= 1;
        assert!(matches!(
            EcPublicKey::from_point(Curve::BrainpoolP256r1, &bad),
            Err(EcdsaError::PointNotOnCurve { .. })
        ));
        // A brainpool point is (almost surely) not on P-256.
        assert!(EcPublicKey::from_point(Curve::NistP256, public.uncompressed_point()).is_err());
        assert!(EcPublicKey::from_point(Curve::NistP256, &[0x04]).is_err());
        assert!(EcPublicKey::from_point(Curve::NistP256, &[0x00]).is_err());
    }

    #[test]
    fn other_curves_are_refused() {
        let other =
            EcKey::generate(&openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::SECP384R1).unwrap()).unwrap();
        assert!(matches!(sign(&other, b"m"), Err(EcdsaError::UnsupportedCurve)));
        assert!(matches!(EcPublicKey::from_ec_key(&other), Err(EcdsaError::UnsupportedCurve)));
    }
}
