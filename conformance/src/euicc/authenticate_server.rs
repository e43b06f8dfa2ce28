//! ES10b.AuthenticateServer (SGP.22 v2.5 §5.7.13; flow §3.1.2 steps 10–13): the eUICC authenticates the SM-DP+
//! and answers with euiccSigned1 signed by SK.EUICC.ECDSA.
//!
//! Checks, in order, each failing with the `AuthenticateErrorCode` a real eUICC returns:
//! 1. (LPAd, §3.1.2) serverSigned1.serverAddress is the SM-DP+ address the LPA contacted → [`Es10Error::ServerAddressMismatch`];
//! 2. euiccCiPKIdToBeUsed is one of the eUICC's CIs for verification → `ciPKUnknown`;
//! 3. CERT.DPauth.ECDSA chains to that CI and is valid → `invalidCertificate` (`unsupportedCurve` when its key is
//!    on a curve the eUICC does not support, `invalidOid` when it lacks the id-rspRole-dp-auth policy);
//! 4. serverSignature1 verifies with PK.DPauth.ECDSA over serverSigned1 **as received** → `invalidSignature`;
//! 5. serverSigned1.euiccChallenge is the challenge of the last GetEUICCChallenge → `euiccChallengeMismatch`.
//!
//! Then euiccSigned1 = { transactionId, serverAddress, serverChallenge, euiccInfo2, ctxParams1 (as received) }
//! and euiccSignature1 over its DER; the response carries CERT.EUICC.ECDSA and CERT.EUM.ECDSA.

use rsp_proto::codec::sgp22::{
    AuthenticateResponseError, AuthenticateServerResponse, CtxParams1, EuiccSigned1, ServerSigned1, TransactionId,
};
use rsp_proto::codec::tlv::{self, Tag};
use rsp_proto::codec::{decode, encode};
use rsp_proto::pki::ecdsa::{self, EcdsaError};
use rsp_proto::pki::{verify_dp_chain, CertificateError, ChainError, DpRole};

use super::error::AuthenticateErrorCode;
use super::session::Session;
use super::wire::{octet_string_value, oid_from_contents, signature_value};
use super::{Es10Error, SoftEuicc};

const FUNCTION: &str = "AuthenticateServer";

impl SoftEuicc {
    /// ES10b.AuthenticateServer. Inputs are the InitiateAuthentication response fields as bytes, plus the
    /// `ctxParams1` DER the LPA builds and the SM-DP+ address it contacted. Returns the
    /// AuthenticateServerResponse DER (`BF38…`) for ES9+.AuthenticateClient.
    pub fn authenticate_server(
        &mut self,
        server_signed1: &[u8],
        server_signature1: &[u8],
        euicc_ci_pkid_to_be_used: &[u8],
        server_certificate: &[u8],
        ctx_params1: &[u8],
        expected_smdp_address: &str,
    ) -> Result<Vec<u8>, Es10Error> {
        let incorrect = |detail: String| Es10Error::IncorrectCommandData { function: FUNCTION, detail };
        let signed: ServerSigned1 = decode(server_signed1).map_err(|e| incorrect(e.to_string()))?;
        decode::<CtxParams1>(ctx_params1).map_err(|e| incorrect(e.to_string()))?;
        let ci_pkid = octet_string_value(euicc_ci_pkid_to_be_used).map_err(incorrect)?;

        // §3.1.2: the LPAd compares serverAddress with the address it contacted (host case-insensitive).
        if !signed.server_address.eq_ignore_ascii_case(expected_smdp_address) {
            return Err(Es10Error::ServerAddressMismatch {
                expected: expected_smdp_address.to_string(),
                received: signed.server_address.clone(),
            });
        }
        let fail = |code: AuthenticateErrorCode, detail: String| error_response(&signed.transaction_id, code, detail);

        // §5.7.13: the CI named by euiccCiPKIdToBeUsed must be one the eUICC verifies with.
        if self.credentials.ci_certs.get(ci_pkid).is_none() {
            return Err(fail(
                AuthenticateErrorCode::CiPkUnknown,
                format!("euiccCiPKIdToBeUsed {} is not a CI of this eUICC", hex::encode(ci_pkid)),
            ));
        }
        let dpauth = verify_dp_chain(&self.credentials.ci_certs, server_certificate, DpRole::DpAuth, self.now())
            .map_err(|e| fail(certificate_error_code(&e), e.to_string()))?;
        if dpauth.ci_pkid != ci_pkid {
            return Err(fail(
                AuthenticateErrorCode::InvalidCertificate,
                format!(
                    "CERT.DPauth.ECDSA is issued by CI {}, not by euiccCiPKIdToBeUsed {}",
                    hex::encode(&dpauth.ci_pkid),
                    hex::encode(ci_pkid)
                ),
            ));
        }
        let smdp_oid = dpauth.certificate.registered_id().and_then(oid_from_contents).ok_or_else(|| {
            fail(
                AuthenticateErrorCode::InvalidCertificate,
                "CERT.DPauth.ECDSA carries no SM-DP+ OID (registeredID)".into(),
            )
        })?;

        let signature = signature_value(server_signature1)
            .map_err(|e| fail(AuthenticateErrorCode::InvalidSignature, format!("serverSignature1: {e}")))?;
        ecdsa::verify(&dpauth.public_key, server_signed1, signature).map_err(|e| {
            fail(AuthenticateErrorCode::InvalidSignature, format!("serverSignature1 does not verify: {e}"))
        })?;

        if self.euicc_challenge.as_ref() != Some(&*signed.euicc_challenge) {
            return Err(fail(
                AuthenticateErrorCode::EuiccChallengeMismatch,
                "serverSigned1.euiccChallenge is not the challenge this eUICC issued".into(),
            ));
        }
        self.euicc_challenge = None;

        // euiccSigned1, built from the received ctxParams1 bytes (a real eUICC signs what the LPA sent).
        let euicc_info2 = self.get_euicc_info2()?;
        let fields: [Vec<u8>; 5] = [
            tlv::encode(Tag(0x80), &signed.transaction_id.0),
            tlv::encode(Tag(0x83), signed.server_address.as_bytes()),
            tlv::encode(Tag(0x84), &*signed.server_challenge),
            euicc_info2,
            ctx_params1.to_vec(),
        ];
        let euicc_signed1 = tlv::encode_constructed(Tag(0x30), fields.iter().map(Vec::as_slice));
        decode::<EuiccSigned1>(&euicc_signed1).map_err(Es10Error::internal)?;
        let euicc_signature1 = ecdsa::sign(&self.credentials.euicc_key, &euicc_signed1).map_err(Es10Error::internal)?;

        let ok = tlv::encode_constructed(
            Tag(0xA0),
            [
                euicc_signed1.as_slice(),
                &tlv::encode(Tag(0x5F37), &euicc_signature1.0),
                &self.credentials.euicc_cert_der,
                &self.credentials.eum_cert_der,
            ],
        );
        let response = tlv::encode(Tag(0xBF38), &ok);
        decode::<AuthenticateServerResponse>(&response).map_err(Es10Error::internal)?;

        self.session = Some(Session {
            transaction_id: signed.transaction_id.0.to_vec(),
            server_address: signed.server_address.clone(),
            smdp_oid,
            euicc_signature1: euicc_signature1.0.to_vec(),
            download: None,
        });
        Ok(response)
    }
}

/// The AuthenticateErrorCode for a CERT.DPauth.ECDSA that does not verify.
fn certificate_error_code(e: &ChainError) -> AuthenticateErrorCode {
    match e {
        ChainError::Malformed { source: CertificateError::PublicKey(EcdsaError::UnsupportedCurve), .. } => {
            AuthenticateErrorCode::UnsupportedCurve
        }
        ChainError::WrongPolicy { .. } => AuthenticateErrorCode::InvalidOid,
        _ => AuthenticateErrorCode::InvalidCertificate,
    }
}

/// `authenticateResponseError` with this transactionId and code, as an [`Es10Error`].
fn error_response(transaction_id: &TransactionId, code: AuthenticateErrorCode, detail: String) -> Es10Error {
    let value = AuthenticateServerResponse::AuthenticateResponseError(AuthenticateResponseError {
        transaction_id: transaction_id.clone(),
        authenticate_error_code: code as i64,
    });
    match encode(&value) {
        Ok(response) => Es10Error::AuthenticateServer { code, detail, response },
        Err(e) => Es10Error::internal(e),
    }
}
