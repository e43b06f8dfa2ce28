//! ECKA-DH shared secret of the BSP (SGP.22 v2.5 §2.6.4.1, BSI TR-03111 §4.3.1): the SM-DP+ one-time
//! key otSK.DP.ECKA with otPK.EUICC.ECKA, or (eUICC side, conformance) otSK.EUICC.ECKA with otPK.DP.ECKA.

use openssl::bn::BigNumContext;
use openssl::derive::Deriver;
use openssl::ec::{EcGroupRef, EcKey, EcKeyRef, EcPoint, PointConversionForm};
use openssl::pkey::{PKey, Private};

use crate::bsp::error::BspError;
use crate::pki::keystore::{KeyStore, OneTimeKeyId};

/// SM-DP+ side: Z from the key store's one-time key and `otpk_euicc_ecka` (the value of `5F49`
/// in PrepareDownloadResponse, an uncompressed point). The private key never leaves the store.
pub fn shared_secret_smdp(
    key_store: &dyn KeyStore,
    otsk_dp_ecka: &OneTimeKeyId,
    otpk_euicc_ecka: &[u8],
) -> Result<Vec<u8>, BspError> {
    if otpk_euicc_ecka.first() != Some(&0x04) {
        return Err(BspError::InvalidField {
            field: "otPK.EUICC.ECKA",
            reason: "not an uncompressed point".to_owned(),
        });
    }
    Ok(key_store.agree(otsk_dp_ecka, otpk_euicc_ecka)?)
}

/// eUICC side: Z from `otsk_euicc_ecka` and `otpk_dp_ecka` (the value of `5F49` in
/// InitialiseSecureChannelRequest), on the private key's curve.
pub fn shared_secret_euicc(otsk_euicc_ecka: &EcKeyRef<Private>, otpk_dp_ecka: &[u8]) -> Result<Vec<u8>, BspError> {
    let group = otsk_euicc_ecka.group();
    let peer = peer_public_key(group, otpk_dp_ecka, "smdpOtpk")?;
    let own = PKey::from_ec_key(otsk_euicc_ecka.to_owned())?;
    let mut deriver = Deriver::new(&own)?;
    deriver.set_peer(&peer)?;
    Ok(deriver.derive_to_vec()?)
}

/// The uncompressed encoding (`04 || X || Y`) of a key's public point, as `5F49` carries it.
pub fn uncompressed_point<T: openssl::pkey::HasPublic>(key: &EcKeyRef<T>) -> Result<Vec<u8>, BspError> {
    let mut ctx = BigNumContext::new()?;
    Ok(key.public_key().to_bytes(key.group(), PointConversionForm::UNCOMPRESSED, &mut ctx)?)
}

/// Parses a peer's uncompressed point on `group` and checks it is a valid public key.
fn peer_public_key(
    group: &EcGroupRef,
    point: &[u8],
    field: &'static str,
) -> Result<PKey<openssl::pkey::Public>, BspError> {
    let invalid = |reason: &str| BspError::InvalidField { field, reason: reason.to_owned() };
    if point.first() != Some(&0x04) {
        return Err(invalid("not an uncompressed point"));
    }
    let mut ctx = BigNumContext::new()?;
    let p = EcPoint::from_bytes(group, point, &mut ctx).map_err(|_| invalid("not a point of the curve"))?;
    let key = EcKey::from_public_key(group, &p).map_err(|_| invalid("not a point of the curve"))?;
    key.check_key().map_err(|_| invalid("not a valid public key"))?;
    Ok(PKey::from_ec_key(key)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::Curve;
    use openssl::ec::EcGroup;

    #[test]
    fn both_sides_agree_on_both_curves() {
        for curve in Curve::ALL {
            let group = EcGroup::from_curve_name(curve.nid()).unwrap();
            let a = EcKey::generate(&group).unwrap();
            let b = EcKey::generate(&group).unwrap();
            let z1 = shared_secret_euicc(&a, &uncompressed_point(&b).unwrap()).unwrap();
            let z2 = shared_secret_euicc(&b, &uncompressed_point(&a).unwrap()).unwrap();
            assert_eq!(z1, z2);
            assert_eq!(z1.len(), 32);
        }
    }

    #[test]
    fn rejects_bad_points() {
        let group = EcGroup::from_curve_name(Curve::NistP256.nid()).unwrap();
        let a = EcKey::generate(&group).unwrap();
        assert!(matches!(shared_secret_euicc(&a, &[]), Err(BspError::InvalidField { .. })));
        let mut p = uncompressed_point(&a).unwrap();
        p[40] ^= 1;
        assert!(matches!(shared_secret_euicc(&a, &p), Err(BspError::InvalidField { .. })));
    }
}
