//! ES10b.CancelSession (SGP.22 v2.5 §5.7.14; flow §3.1.4): the eUICC ends the RSP session in progress and signs
//! `euiccCancelSessionSigned { transactionId, smdpOid, reason }` for the SM-DP+ (ES9+.CancelSession, §5.6.5).
//! A transactionId that is not the session's answers `invalidTransactionId(5)`.

use rasn::types::OctetString;
use rsp_proto::codec::encode;
use rsp_proto::codec::sgp22::{
    CancelSessionReason, CancelSessionResponse, CancelSessionResponseOk, EuiccCancelSessionSigned, Signature,
    TransactionId,
};
use rsp_proto::pki::ecdsa;

use super::error::CancelSessionErrorCode;
use super::{Es10Error, SoftEuicc};

impl SoftEuicc {
    /// ES10b.CancelSession for `transaction_id` with `reason` (`CancelSessionReason`: endUserRejection(0),
    /// postponed(1), timeout(2), pprNotAllowed(3), metadataMismatch(4), loadBppExecutionError(5),
    /// undefinedReason(127)). Returns the CancelSessionResponse DER (`BF41…`).
    pub fn cancel_session(&mut self, transaction_id: &[u8], reason: CancelSessionReason) -> Result<Vec<u8>, Es10Error> {
        let session = match self.session.take() {
            Some(s) if s.transaction_id == transaction_id => s,
            other => {
                self.session = other;
                let code = CancelSessionErrorCode::InvalidTransactionId;
                let response = encode(&CancelSessionResponse::CancelSessionResponseError(code as i64))
                    .map_err(Es10Error::internal)?;
                return Err(Es10Error::CancelSession { code, response });
            }
        };
        let signed = EuiccCancelSessionSigned {
            transaction_id: TransactionId(OctetString::from(session.transaction_id)),
            smdp_oid: session.smdp_oid,
            reason,
        };
        let signed_der = encode(&signed).map_err(Es10Error::internal)?;
        let signature = ecdsa::sign(&self.credentials.euicc_key, &signed_der).map_err(Es10Error::internal)?;
        let response = CancelSessionResponse::CancelSessionResponseOk(CancelSessionResponseOk {
            euicc_cancel_session_signed: signed,
            euicc_cancel_session_signature: Signature(OctetString::from(signature.0.to_vec())),
        });
        encode(&response).map_err(Es10Error::internal)
    }
}
