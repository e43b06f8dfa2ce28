//! ES10b.PrepareDownload (SGP.22 v2.5 §5.7.5; flow §3.1.3.2 and the confirmation code of §3.1.3.1): the eUICC
//! authenticates the SM-DP+'s binding key and answers with a one-time key agreement key signed by SK.EUICC.ECDSA.
//!
//! Checks, in order, each failing with the `DownloadErrorCode` a real eUICC returns:
//! 1. an authenticated session exists (AuthenticateServer succeeded) → `noSessionContext`;
//! 2. CERT.DPpb.ECDSA chains to a trusted CI, is valid and names the SM-DP+ of CERT.DPauth.ECDSA (same
//!    registeredID) → `invalidCertificate` (`unsupportedCurve` for a key on an unsupported curve);
//! 3. smdpSignature2 verifies with PK.DPpb.ECDSA over `smdpSigned2 || 5F37 40 || euiccSignature1` → `invalidSignature`;
//! 4. smdpSigned2.transactionId is the session's → `invalidTransactionId`.
//!
//! ccRequiredFlag (LPAd, §3.1.3.1): when set, the LPA must supply the confirmation code, and
//! `hashCc = SHA256(SHA256(confirmationCode) || transactionId)` goes into euiccSigned2; the SM-DP+ checks it.
//! bppEuiccOtpk: when present and equal to the otPK.EUICC.ECKA of this session (a retried download), that key
//! pair is reused; otherwise a new one is generated on the curve of CERT.DPpb.ECDSA.

use openssl::ec::{EcGroup, EcKey};
use openssl::sha::{sha256, Sha256};
use rasn::types::{FixedOctetString, OctetString};
use rsp_proto::bsp::ecka::uncompressed_point;
use rsp_proto::codec::sgp22::{
    EuiccSigned2, Otpk, PrepareDownloadResponse, PrepareDownloadResponseError, PrepareDownloadResponseOk, Signature,
    SmdpSigned2, TransactionId,
};
use rsp_proto::codec::tlv::{self, Tag};
use rsp_proto::codec::{decode, encode};
use rsp_proto::pki::ecdsa::{self, EcdsaError};
use rsp_proto::pki::{verify_dp_chain, CertificateError, ChainError, DpRole};

use super::error::DownloadErrorCode;
use super::session::DownloadContext;
use super::wire::{oid_from_contents, signature_value};
use super::{Es10Error, SoftEuicc};

const FUNCTION: &str = "PrepareDownload";

/// `hashCc = SHA256(SHA256(confirmationCode) || transactionId)` (SGP.22 v2.5 §3.1.3.1 / §5.7.5).
pub fn hash_confirmation_code(confirmation_code: &str, transaction_id: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(&sha256(confirmation_code.as_bytes()));
    hasher.update(transaction_id);
    hasher.finish()
}

impl SoftEuicc {
    /// ES10b.PrepareDownload. Inputs are the AuthenticateClient response fields as bytes (`smdpSigned2` DER,
    /// `smdpSignature2` as its `5F37` data object, `smdpCertificate` DER) and the confirmation code the end user
    /// typed, if any. Returns the PrepareDownloadResponse DER (`BF21…`) for ES9+.GetBoundProfilePackage.
    pub fn prepare_download(
        &mut self,
        smdp_signed2: &[u8],
        smdp_signature2: &[u8],
        smdp_certificate: &[u8],
        confirmation_code: Option<&str>,
    ) -> Result<Vec<u8>, Es10Error> {
        let signed: SmdpSigned2 = decode(smdp_signed2)
            .map_err(|e| Es10Error::IncorrectCommandData { function: FUNCTION, detail: e.to_string() })?;
        let fail = |code: DownloadErrorCode, detail: String| error_response(&signed.transaction_id, code, detail);
        let now = self.now();
        let Some(session) = self.session.as_mut() else {
            return Err(fail(
                DownloadErrorCode::NoSessionContext,
                "no AuthenticateServer before PrepareDownload".into(),
            ));
        };

        let dppb = verify_dp_chain(&self.credentials.ci_certs, smdp_certificate, DpRole::DpPb, now)
            .map_err(|e| fail(certificate_error_code(&e), e.to_string()))?;
        let dppb_oid = dppb.certificate.registered_id().and_then(oid_from_contents);
        if dppb_oid.as_ref() != Some(&session.smdp_oid) {
            return Err(fail(
                DownloadErrorCode::InvalidCertificate,
                "CERT.DPpb.ECDSA does not name the SM-DP+ OID of CERT.DPauth.ECDSA".into(),
            ));
        }

        let signature = signature_value(smdp_signature2)
            .map_err(|e| fail(DownloadErrorCode::InvalidSignature, format!("smdpSignature2: {e}")))?;
        let mut signed_data = smdp_signed2.to_vec();
        tlv::encode_into(Tag(0x5F37), &session.euicc_signature1, &mut signed_data);
        ecdsa::verify(&dppb.public_key, &signed_data, signature)
            .map_err(|e| fail(DownloadErrorCode::InvalidSignature, format!("smdpSignature2 does not verify: {e}")))?;

        if *signed.transaction_id.0 != *session.transaction_id {
            return Err(fail(
                DownloadErrorCode::InvalidTransactionId,
                format!(
                    "smdpSigned2.transactionId {} is not the session's {}",
                    hex::encode(&signed.transaction_id.0),
                    hex::encode(&session.transaction_id)
                ),
            ));
        }

        let hash_cc = match (signed.cc_required_flag, confirmation_code) {
            (true, None) => return Err(Es10Error::ConfirmationCodeRequired),
            (true, Some(code)) => Some(FixedOctetString::from(hash_confirmation_code(code, &session.transaction_id))),
            // Without ccRequiredFlag the LPA does not ask for a code, and no hashCc is sent.
            (false, _) => None,
        };

        // A retry names the otPK.EUICC.ECKA of the earlier attempt: keep that key pair if it is still ours.
        let reuse = match (&signed.bpp_euicc_otpk, session.download.take()) {
            (Some(Otpk(wanted)), Some(previous)) if **wanted == *previous.otpk_euicc_ecka => Some(previous),
            _ => None,
        };
        let download = match reuse {
            Some(previous) => DownloadContext { pk_dppb_ecdsa: dppb.public_key.clone(), ..previous },
            None => {
                let group = EcGroup::from_curve_name(dppb.curve.nid()).map_err(Es10Error::internal)?;
                let otsk_euicc_ecka = EcKey::generate(&group).map_err(Es10Error::internal)?;
                let otpk_euicc_ecka = uncompressed_point(&otsk_euicc_ecka).map_err(Es10Error::internal)?;
                DownloadContext { pk_dppb_ecdsa: dppb.public_key.clone(), otsk_euicc_ecka, otpk_euicc_ecka }
            }
        };

        let euicc_signed2 = EuiccSigned2 {
            transaction_id: signed.transaction_id.clone(),
            euicc_otpk: Otpk(OctetString::from(download.otpk_euicc_ecka.clone())),
            hash_cc,
        };
        let euicc_signed2_der = encode(&euicc_signed2).map_err(Es10Error::internal)?;
        // euiccSignature2 over euiccSigned2 || smdpSignature2 data object (as received).
        let mut to_sign = euicc_signed2_der;
        to_sign.extend_from_slice(smdp_signature2);
        let euicc_signature2 = ecdsa::sign(&self.credentials.euicc_key, &to_sign).map_err(Es10Error::internal)?;

        let response = PrepareDownloadResponse::DownloadResponseOk(PrepareDownloadResponseOk {
            euicc_signed2,
            euicc_signature2: Signature(OctetString::from(euicc_signature2.0.to_vec())),
        });
        let response = encode(&response).map_err(Es10Error::internal)?;
        session.download = Some(download);
        Ok(response)
    }
}

fn certificate_error_code(e: &ChainError) -> DownloadErrorCode {
    match e {
        ChainError::Malformed { source: CertificateError::PublicKey(EcdsaError::UnsupportedCurve), .. } => {
            DownloadErrorCode::UnsupportedCurve
        }
        _ => DownloadErrorCode::InvalidCertificate,
    }
}

fn error_response(transaction_id: &TransactionId, code: DownloadErrorCode, detail: String) -> Es10Error {
    let value = PrepareDownloadResponse::DownloadResponseError(PrepareDownloadResponseError {
        transaction_id: transaction_id.clone(),
        download_error_code: code as i64,
    });
    match encode(&value) {
        Ok(response) => Es10Error::PrepareDownload { code, detail, response },
        Err(e) => Es10Error::internal(e),
    }
}
