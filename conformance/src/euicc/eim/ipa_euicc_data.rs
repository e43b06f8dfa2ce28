//! What the eIM may ask the eUICC for besides packages, minimal: IpaEuiccDataRequest `BF52` (SGP.32 v1.2
//! §2.11.1.2 / §2.11.2.2 IpaEuiccDataResponse) and EimAcknowledgements `BF53` (§2.11.1.3), which releases the
//! package results (and notifications) the eIM has received.
//!
//! Supported `tagList` entries: `A0` notificationsList (the pending SGP.22 notifications), `81`
//! defaultSmdpAddress, `A2` euiccPackageResultList (all, or the one named by `searchCriteriaEuiccPackageResult`),
//! `A5` eumCertificate, `A6` euiccCertificate. Other tags are left out of the answer (EUICCInfo1/2, device
//! info and IPA capabilities belong to the IPA or are not modelled); eimTransactionId is echoed.

use rsp_proto::codec::sgp32::{
    EimAcknowledgements, ImplicitCertificate, IpaEuiccData, IpaEuiccDataRequest, IpaEuiccDataResponse,
    IpaEuiccDataResponseError, SearchCriteriaEuiccPackageResult, SearchCriteriaNotification,
};
use rsp_proto::codec::tlv::Tag;
use rsp_proto::codec::{decode, encode};

use crate::euicc::{Es10Error, SoftEuicc};

/// `IpaEuiccDataErrorCode` `incorrectTagList(1)`.
pub const INCORRECT_TAG_LIST: i64 = 1;
/// `IpaEuiccDataErrorCode` `undefinedError(127)`.
pub const UNDEFINED_ERROR: i64 = 127;

/// The tags of a `tagList` (one- or two-byte BER tags, concatenated).
fn tag_list(bytes: &[u8]) -> Option<Vec<u32>> {
    let mut tags = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let first = bytes[i];
        if first & 0x1F == 0x1F {
            let second = *bytes.get(i + 1)?;
            if second & 0x80 != 0 {
                return None;
            }
            tags.push(u32::from(first) << 8 | u32::from(second));
            i += 2;
        } else {
            tags.push(u32::from(first));
            i += 1;
        }
    }
    Some(tags)
}

impl SoftEuicc {
    /// IpaEuiccDataRequest → IpaEuiccDataResponse DER (SGP.32 v1.2 §2.11.1.2).
    pub fn get_ipa_euicc_data(&self, ipa_euicc_data_request: &[u8]) -> Result<Vec<u8>, Es10Error> {
        let request: IpaEuiccDataRequest = decode(ipa_euicc_data_request)
            .map_err(|e| Es10Error::IncorrectCommandData { function: "GetIpaEuiccData", detail: e.to_string() })?;
        let response = match self.ipa_euicc_data(&request) {
            Ok(data) => IpaEuiccDataResponse::IpaEuiccData(data),
            Err(code) => IpaEuiccDataResponse::IpaEuiccDataResponseError(IpaEuiccDataResponseError {
                eim_transaction_id: request.eim_transaction_id.clone(),
                ipa_euicc_data_error_code: code,
            }),
        };
        encode(&response).map_err(Es10Error::internal)
    }

    fn ipa_euicc_data(&self, request: &IpaEuiccDataRequest) -> Result<IpaEuiccData, i64> {
        let tags = tag_list(&request.tag_list).ok_or(INCORRECT_TAG_LIST)?;
        let mut data = IpaEuiccData { eim_transaction_id: request.eim_transaction_id.clone(), ..Default::default() };
        for tag in tags {
            match Tag(tag) {
                Tag(0xA0) => {
                    let list = self
                        .notifications
                        .iter()
                        .filter(|n| match &request.search_criteria_notification {
                            Some(SearchCriteriaNotification::SeqNumber(s)) => n.seq_number == *s,
                            Some(SearchCriteriaNotification::ProfileManagementOperation(_)) | None => true,
                        })
                        .map(|n| n.pending_notification.clone())
                        .collect();
                    data.notifications_list = Some(list);
                }
                Tag(0x81) => data.default_smdp_address = self.eim.default_dp_address.clone(),
                Tag(0xA2) => {
                    let mut list = Vec::new();
                    for stored in &self.eim.package_results {
                        let wanted = match &request.search_criteria_euicc_package_result {
                            Some(SearchCriteriaEuiccPackageResult::SeqNumber(s)) => stored.seq_number == *s,
                            None => true,
                        };
                        if wanted {
                            list.push(decode(&stored.der).map_err(|_| UNDEFINED_ERROR)?);
                        }
                    }
                    data.euicc_package_result_list = Some(list);
                }
                Tag(0xA5) => {
                    let cert =
                        ImplicitCertificate::from_der(&self.credentials.eum_cert_der).map_err(|_| UNDEFINED_ERROR)?;
                    data.eum_certificate = Some(cert);
                }
                Tag(0xA6) => {
                    let cert =
                        ImplicitCertificate::from_der(&self.credentials.euicc_cert_der).map_err(|_| UNDEFINED_ERROR)?;
                    data.euicc_certificate = Some(cert);
                }
                _ => {}
            }
        }
        Ok(data)
    }

    /// EimAcknowledgements (`BF53`, SGP.32 v1.2 §2.11.1.3): drops the package results and notifications whose
    /// seqNumbers the eIM has processed. Returns how many entries were released.
    pub fn acknowledge(&mut self, eim_acknowledgements: &[u8]) -> Result<usize, Es10Error> {
        let acks: EimAcknowledgements = decode(eim_acknowledgements)
            .map_err(|e| Es10Error::IncorrectCommandData { function: "EimAcknowledgements", detail: e.to_string() })?;
        let before = self.eim.package_results.len() + self.notifications.len();
        let acked = |s: i64| acks.0.iter().any(|a| a.0 == s);
        self.eim.package_results.retain(|r| !acked(r.seq_number));
        self.notifications.retain(|n| !acked(n.seq_number));
        Ok(before - self.eim.package_results.len() - self.notifications.len())
    }
}
