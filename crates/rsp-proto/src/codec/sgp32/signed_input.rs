//! The signed inputs of SGP.32 v1.2 eUICC packages and their results — wire facts shared by rspd's eIM
//! (`crate::eim`) and the conformance eUICC:
//!
//! - `eimSignature` (§2.11.1.1): ECDSA over `euiccPackageSigned || associationToken`;
//! - `euiccSignEPR` / `euiccSignEPE` (§2.11.2.1): ECDSA over `euiccPackageResultDataSigned || associationToken`
//!   (resp. `euiccPackageErrorDataSigned || associationToken`).
//!
//! `associationToken` is the data object `84 L <INTEGER contents>` (`[4] INTEGER` as in EimConfigurationData);
//! when the eIM has no association token it is `84 01 00` (value 0).
//!
//! Source for the result side: SGP.32 v1.0 said "euiccPackageResultDataSigned || eimSignature"; v1.1 changed it
//! (CR in §2.11.2.1) to "|| associationToken", and v1.2 keeps that. The GSMA text itself is not in our
//! reference corpora; the change is recorded in the public onomondo-ipa v1.0→v1.2 migration notes
//! (`MIGRATION` table row "2.11.2.1 Signing input changed: euiccSignEPR/EPE now over (data ||
//! associationToken) instead of (data || eimSignature)") and in an independent IPA's DER writer comment
//! ("eimSignature over euiccPackageSigned || associationToken, euiccSignEPR over euiccPackageResultDataSigned ||
//! associationToken"). Facts only; no code was taken from either.

/// The `associationToken` data object `84 L v` (DER INTEGER contents, minimal two's complement); `84 01 00`
/// when there is none.
pub fn association_token_do(association_token: Option<i64>) -> Vec<u8> {
    let value = association_token.unwrap_or(0);
    let bytes = value.to_be_bytes();
    // Minimal two's complement: drop a leading 00 (FF) while the next byte keeps the sign.
    let mut start = 0;
    while start < bytes.len() - 1 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    let contents = &bytes[start..];
    let mut out = Vec::with_capacity(2 + contents.len());
    out.push(0x84);
    out.push(contents.len() as u8);
    out.extend_from_slice(contents);
    out
}

/// `signed_part || associationToken`: what `eimSignature`, `euiccSignEPR` and `euiccSignEPE` cover.
pub fn signed_input(signed_part: &[u8], association_token: Option<i64>) -> Vec<u8> {
    let mut input = signed_part.to_vec();
    input.extend_from_slice(&association_token_do(association_token));
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn association_token_data_objects() {
        assert_eq!(association_token_do(None), [0x84, 0x01, 0x00]);
        assert_eq!(association_token_do(Some(1)), [0x84, 0x01, 0x01]);
        assert_eq!(association_token_do(Some(0x80)), [0x84, 0x02, 0x00, 0x80]);
        assert_eq!(association_token_do(Some(0x1234)), [0x84, 0x02, 0x12, 0x34]);
        assert_eq!(association_token_do(Some(-1)), [0x84, 0x01, 0xFF]);
        assert_eq!(association_token_do(Some(-129)), [0x84, 0x02, 0xFF, 0x7F]);
    }
}
