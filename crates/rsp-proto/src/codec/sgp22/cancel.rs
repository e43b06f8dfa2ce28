//! Session cancellation, SGP.22 v2.5 §3.1.4, ES9+ §5.6.5 CancelSession, ES10b §5.7.14: CancelSessionRequest /
//! CancelSessionResponse with the eUICC-signed `euiccCancelSessionSigned`.

use rasn::prelude::*;

use super::common::*;

/// `CancelSessionReason ::= INTEGER {endUserRejection(0), postponed(1), timeout(2), pprNotAllowed(3), metadataMismatch(4), loadBppExecutionError(5), undefinedReason(127)}`
pub type CancelSessionReason = i64;

/// `CancelSessionRequest ::= [65] SEQUENCE { transactionId [0], reason [1] CancelSessionReason, ... }` (ES10b)
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 65))]
pub struct CancelSessionRequest {
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    #[rasn(tag(context, 1))]
    pub reason: CancelSessionReason,
}

/// `CancelSessionResponse ::= [65] CHOICE { cancelSessionResponseOk [0], cancelSessionResponseError [1] INTEGER {invalidTransactionId(5), undefinedError(127)}, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice, tag(explicit(context, 65)))]
pub enum CancelSessionResponse {
    #[rasn(tag(context, 0))]
    CancelSessionResponseOk(CancelSessionResponseOk),
    #[rasn(tag(context, 1))]
    CancelSessionResponseError(i64),
}

/// `CancelSessionResponseOk ::= SEQUENCE { euiccCancelSessionSigned, euiccCancelSessionSignature [APPLICATION 55], ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct CancelSessionResponseOk {
    pub euicc_cancel_session_signed: EuiccCancelSessionSigned,
    pub euicc_cancel_session_signature: Signature,
}

/// `EuiccCancelSessionSigned ::= SEQUENCE { transactionId [0], smdpOid [1] OBJECT IDENTIFIER, reason [2] CancelSessionReason, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct EuiccCancelSessionSigned {
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    #[rasn(tag(context, 1))]
    pub smdp_oid: ObjectIdentifier,
    #[rasn(tag(context, 2))]
    pub reason: CancelSessionReason,
}

/// `CancelSessionRequestEs9 ::= [65] SEQUENCE { transactionId [0], cancelSessionResponse [1] EXPLICIT CancelSessionResponse, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(context, 65))]
pub struct CancelSessionRequestEs9 {
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    #[rasn(tag(explicit(context, 1)))]
    pub cancel_session_response: CancelSessionResponse,
}

/// `CancelSessionResponseEs9 ::= [65] CHOICE { cancelSessionOk [0] CancelSessionOk, cancelSessionError [1] INTEGER {invalidTransactionId(1), euiccSignatureInvalid(2), undefinedError(127)}, ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice, tag(explicit(context, 65)))]
pub enum CancelSessionResponseEs9 {
    #[rasn(tag(context, 0))]
    CancelSessionOk(CancelSessionOk),
    #[rasn(tag(context, 1))]
    CancelSessionError(i64),
}

/// `CancelSessionOk ::= SEQUENCE { ... }`
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
pub struct CancelSessionOk {}

crate::codec::message!(CancelSessionRequest, "CancelSessionRequest");
crate::codec::message!(CancelSessionResponse, "CancelSessionResponse");
crate::codec::message!(CancelSessionResponseOk, "CancelSessionResponseOk");
crate::codec::message!(EuiccCancelSessionSigned, "EuiccCancelSessionSigned");
crate::codec::message!(CancelSessionRequestEs9, "CancelSessionRequestEs9");
crate::codec::message!(CancelSessionResponseEs9, "CancelSessionResponseEs9");
crate::codec::message!(CancelSessionOk, "CancelSessionOk");
