//! ES10b.LoadEuiccPackage on the soft eUICC (SGP.32 v1.2 §5.9.1 ESep.ExecuteEuiccPackage, §2.11.1.1
//! EuiccPackageRequest, §2.11.2.1 EuiccPackageResult): the eIM checks in the order a result can be trusted,
//! then the operations, then the signed result.
//!
//! 1. `eimId` names an associated eIM — otherwise `euiccPackageErrorUnsigned` (nothing to sign for);
//! 2. `eimSignature` verifies with PK.EIM.ECDSA over the **received** `euiccPackageSigned || associationToken`
//!    (§2.11.1.1) — otherwise `euiccPackageErrorUnsigned` (the eUICC does not sign for an unauthenticated
//!    sender);
//! 3. `eidValue` is this eUICC's EID — otherwise `euiccPackageErrorSigned` `invalidEid(3)`;
//! 4. `counterValue` is within range (`counterValueOutOfRange(6)`) and strictly greater than the last accepted
//!    one (`replayError(4)`); the new value is stored before any operation runs;
//! 5. the PSMOs / eCOs run in order; the first failing one ends the package (its result is the last one);
//! 6. `euiccPackageResultDataSigned` (eimId, counterValue, eimTransactionId, seqNumber, euiccResult) is signed
//!    with SK.EUICC.ECDSA: `euiccSignEPR` over `euiccPackageResultDataSigned || associationToken` (§2.11.2.1,
//!    v1.1+ wording; see [`super::signature`] for the source), and kept until the eIM acknowledges its seqNumber.

use rasn::types::OctetString;
use rsp_proto::codec::sgp22::Signature;
use rsp_proto::codec::sgp32::{
    EuiccPackage, EuiccPackageErrorDataSigned, EuiccPackageErrorSigned, EuiccPackageErrorUnsigned, EuiccPackageRequest,
    EuiccPackageResult, EuiccPackageResultDataSigned, EuiccPackageResultSigned, EuiccPackageSigned, EuiccResultData,
};
use rsp_proto::codec::{decode, encode, Received};
use rsp_proto::pki::ecdsa;

use super::signature::signed_input;
use super::{StoredPackageResult, COUNTER_VALUE_MAX};
use crate::euicc::{Es10Error, SoftEuicc};

/// `EuiccPackageErrorCode` (SGP.32 v1.2 §2.11.2.1).
pub mod euicc_package_error_code {
    pub const INVALID_EID: i64 = 3;
    pub const REPLAY_ERROR: i64 = 4;
    pub const COUNTER_VALUE_OUT_OF_RANGE: i64 = 6;
    pub const SIZE_OVERFLOW: i64 = 15;
    pub const UNDEFINED_ERROR: i64 = 127;
}

/// `euiccPackageSigned` inside EuiccPackageRequest (`BF51 / 30`).
pub const PATH_EUICC_PACKAGE_SIGNED_IN_REQUEST: &[u32] = &[0xBF51, 0x30];

/// Why a package was refused as a whole, before any operation ran.
enum Refusal {
    /// Unknown eIM or bad eimSignature: `euiccPackageErrorUnsigned`.
    Unsigned { association_token: Option<i64> },
    /// `euiccPackageErrorSigned` with this `EuiccPackageErrorCode`.
    Signed { code: i64, association_token: Option<i64> },
}

impl SoftEuicc {
    /// ES10b.LoadEuiccPackage: `euicc_package_request` is the EuiccPackageRequest DER (`BF51 …`); the answer is
    /// the EuiccPackageResult DER (`BF51 …`) — a signed result, a signed error or an unsigned error.
    pub fn load_euicc_package(&mut self, euicc_package_request: &[u8]) -> Result<Vec<u8>, Es10Error> {
        let incorrect = |e: rsp_proto::codec::CodecError| Es10Error::IncorrectCommandData {
            function: "LoadEuiccPackage",
            detail: e.to_string(),
        };
        let request: EuiccPackageRequest = decode(euicc_package_request).map_err(incorrect)?;
        let euicc_package_signed: Received<EuiccPackageSigned> =
            Received::at(euicc_package_request, PATH_EUICC_PACKAGE_SIGNED_IN_REQUEST).map_err(incorrect)?;
        let signed = &euicc_package_signed.value;
        let association_token = match self.check_euicc_package(&euicc_package_signed, &request.eim_signature) {
            Ok(token) => token,
            Err(Refusal::Unsigned { association_token }) => {
                let error = EuiccPackageErrorUnsigned {
                    eim_id: signed.eim_id.clone(),
                    eim_transaction_id: signed.eim_transaction_id.clone(),
                    association_token,
                };
                return encode(&EuiccPackageResult::EuiccPackageErrorUnsigned(error)).map_err(Es10Error::internal);
            }
            Err(Refusal::Signed { code, association_token }) => {
                return self.euicc_package_error_signed(signed, code, association_token);
            }
        };
        let euicc_result = self.execute_euicc_package(&signed.euicc_package);
        self.euicc_package_result_signed(signed, euicc_result, association_token)
    }

    /// Steps 1–4; on success the counter is advanced and the eIM's associationToken returned.
    fn check_euicc_package(
        &mut self,
        euicc_package_signed: &Received<EuiccPackageSigned>,
        eim_signature: &Signature,
    ) -> Result<Option<i64>, Refusal> {
        let signed = &euicc_package_signed.value;
        let eid = hex::decode(&self.credentials.eid).unwrap_or_default();
        let eim = self.eim.find_mut(&signed.eim_id).ok_or(Refusal::Unsigned { association_token: None })?;
        let association_token = eim.association_token;
        let input = signed_input(&euicc_package_signed.raw, association_token);
        ecdsa::verify(&eim.eim_public_key, &input, &eim_signature.0)
            .map_err(|_| Refusal::Unsigned { association_token })?;
        if signed.eid_value.as_slice() != eid.as_slice() {
            return Err(Refusal::Signed { code: euicc_package_error_code::INVALID_EID, association_token });
        }
        if !(0..=COUNTER_VALUE_MAX).contains(&signed.counter_value) {
            return Err(Refusal::Signed {
                code: euicc_package_error_code::COUNTER_VALUE_OUT_OF_RANGE,
                association_token,
            });
        }
        if signed.counter_value <= eim.counter_value {
            return Err(Refusal::Signed { code: euicc_package_error_code::REPLAY_ERROR, association_token });
        }
        eim.counter_value = signed.counter_value;
        eim.configuration.counter_value = Some(signed.counter_value);
        Ok(association_token)
    }

    /// Step 5: the operations in order, up to and including the first that fails.
    fn execute_euicc_package(&mut self, euicc_package: &EuiccPackage) -> Vec<EuiccResultData> {
        let mut results = Vec::new();
        match euicc_package {
            EuiccPackage::PsmoList(psmos) => {
                for psmo in psmos {
                    let (result, ok) = self.execute_psmo(psmo);
                    results.push(result);
                    if !ok {
                        break;
                    }
                }
            }
            EuiccPackage::EcoList(ecos) => {
                for eco in ecos {
                    let (result, ok) = self.execute_eco(eco);
                    results.push(result);
                    if !ok {
                        break;
                    }
                }
            }
        }
        results
    }

    /// Step 6: EuiccPackageResultSigned, kept for the eIM until acknowledged.
    fn euicc_package_result_signed(
        &mut self,
        signed: &EuiccPackageSigned,
        euicc_result: Vec<EuiccResultData>,
        association_token: Option<i64>,
    ) -> Result<Vec<u8>, Es10Error> {
        let seq_number = self.next_seq_number;
        self.next_seq_number += 1;
        let data = EuiccPackageResultDataSigned {
            eim_id: signed.eim_id.clone(),
            counter_value: signed.counter_value,
            eim_transaction_id: signed.eim_transaction_id.clone(),
            seq_number,
            euicc_result,
        };
        let data = Received::from_value(data).map_err(Es10Error::internal)?;
        let euicc_sign_epr = self.euicc_sign(&data.raw, association_token)?;
        let result = EuiccPackageResult::EuiccPackageResultSigned(EuiccPackageResultSigned {
            euicc_package_result_data_signed: data.value,
            euicc_sign_epr,
        });
        let der = encode(&result).map_err(Es10Error::internal)?;
        self.eim.package_results.push(StoredPackageResult {
            seq_number,
            eim_id: signed.eim_id.clone(),
            der: der.clone(),
        });
        Ok(der)
    }

    /// EuiccPackageErrorSigned: `euiccSignEPE` over `euiccPackageErrorDataSigned || associationToken`.
    fn euicc_package_error_signed(
        &self,
        signed: &EuiccPackageSigned,
        code: i64,
        association_token: Option<i64>,
    ) -> Result<Vec<u8>, Es10Error> {
        let data = EuiccPackageErrorDataSigned {
            eim_id: signed.eim_id.clone(),
            counter_value: signed.counter_value,
            eim_transaction_id: signed.eim_transaction_id.clone(),
            euicc_package_error_code: code,
        };
        let data = Received::from_value(data).map_err(Es10Error::internal)?;
        let euicc_sign_epe = self.euicc_sign(&data.raw, association_token)?;
        let result = EuiccPackageResult::EuiccPackageErrorSigned(EuiccPackageErrorSigned {
            euicc_package_error_data_signed: data.value,
            euicc_sign_epe,
        });
        encode(&result).map_err(Es10Error::internal)
    }

    fn euicc_sign(&self, signed_part: &[u8], association_token: Option<i64>) -> Result<Signature, Es10Error> {
        let input = signed_input(signed_part, association_token);
        let raw = ecdsa::sign(&self.credentials.euicc_key, &input).map_err(Es10Error::internal)?;
        Ok(Signature(OctetString::from(raw.0.to_vec())))
    }

    /// The signed package results not yet acknowledged, oldest first.
    pub fn pending_euicc_package_results(&self) -> &[StoredPackageResult] {
        &self.eim.package_results
    }
}
