//! Order intents: what an operator asks for one eUICC, and its expansion into the eIM packages that carry it
//! out, in sequence (SGP.32 v1.2 §2.11.1: ProfileDownloadTriggerRequest `BF54` §2.11.1.4, EuiccPackageRequest
//! `BF51` with one PSMO (§5.9.2–§5.9.11) or eCO (§5.9.12–§5.9.15), IpaEuiccDataRequest `BF52` §2.11.1.3).
//!
//! An intent is JSON (`{"intent": "downloadAndEnable", "activationCode": "LPA:1$…", "iccid": "…",
//! "rollback": true}`); [`Intent::steps`] checks it and gives the [`Step`]s, each one package. Step `n + 1`
//! is queued only after step `n` succeeded (see [`super::orders`]). Composite intents:
//! - `downloadAndEnable` → ProfileDownloadTriggerRequest(activationCode), then `enable(iccid, rollbackFlag)`;
//! - `sequence` → the steps of each listed single intent, in order.

use serde::{Deserialize, Serialize};

use super::ipa_result::{download_trigger_request, ipa_euicc_data_request};
use crate::codec::decode;
use crate::codec::sgp22::Iccid as IccidDo;
use crate::codec::sgp32::{
    ConfigureImmediateEnable, DeleteEim, Eco, EimConfigurationData, Empty, EuiccPackage, ProfileInfoListRequest, Psmo,
    PsmoEnable, PsmoIccid, SetDefaultDpAddressRequest,
};
use crate::profile::Iccid;

/// The most steps one order may have.
pub const MAX_STEPS: usize = 16;

/// What an order asks for (the `intent` member names the variant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "intent", rename_all = "camelCase", deny_unknown_fields)]
pub enum Intent {
    /// ProfileDownloadTriggerRequest with the activation code, then enable the ICCID it installs.
    #[serde(rename_all = "camelCase")]
    DownloadAndEnable {
        activation_code: String,
        iccid: String,
        #[serde(default)]
        rollback: bool,
    },
    /// ProfileDownloadTriggerRequest alone.
    #[serde(rename_all = "camelCase")]
    Download {
        activation_code: String,
    },
    /// Several single intents run one after another.
    Sequence {
        steps: Vec<Intent>,
    },
    Enable {
        iccid: String,
        #[serde(default)]
        rollback: bool,
    },
    Disable {
        iccid: String,
    },
    Delete {
        iccid: String,
    },
    ListProfileInfo {},
    #[serde(rename = "getRAT")]
    GetRat {},
    #[serde(rename_all = "camelCase")]
    ConfigureImmediateEnable {
        #[serde(default)]
        immediate_enable: bool,
        #[serde(default)]
        default_smdp_address: Option<String>,
    },
    SetFallbackAttribute {
        iccid: String,
    },
    UnsetFallbackAttribute {},
    #[serde(rename_all = "camelCase")]
    SetDefaultDpAddress {
        default_dp_address: String,
    },
    /// `eimConfigurationData`: EimConfigurationData DER, hex.
    #[serde(rename_all = "camelCase")]
    AddEim {
        eim_configuration_data: String,
    },
    #[serde(rename_all = "camelCase")]
    UpdateEim {
        eim_configuration_data: String,
    },
    #[serde(rename_all = "camelCase")]
    DeleteEim {
        eim_id: String,
    },
    ListEim {},
    /// IpaEuiccDataRequest; `tagList` hex (e.g. `"BF20BF22"`).
    #[serde(rename_all = "camelCase")]
    IpaEuiccData {
        tag_list: String,
    },
}

/// One package of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// ProfileDownloadTriggerRequest `BF54` with an activation code (unsigned; no counterValue on the wire).
    DownloadTrigger { activation_code: String },
    /// An EuiccPackageRequest `BF51` carrying this package (signed).
    EuiccPackage { kind: &'static str, package: EuiccPackage },
    /// IpaEuiccDataRequest `BF52`.
    IpaEuiccData { tag_list: Vec<u8> },
}

/// What a step puts on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageBody {
    /// Sign as EuiccPackageRequest.
    Signed(EuiccPackage),
    /// Already the complete package (`BF54 …` / `BF52 …`) for this eimTransactionId.
    Unsigned(Vec<u8>),
}

impl Step {
    /// The step's name in the API (`profileDownloadTrigger`, `enable`, `addEim`, `ipaEuiccData`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Step::DownloadTrigger { .. } => "profileDownloadTrigger",
            Step::EuiccPackage { kind, .. } => kind,
            Step::IpaEuiccData { .. } => "ipaEuiccData",
        }
    }

    /// The package for `eim_transaction_id`.
    pub fn body(&self, eim_transaction_id: &[u8; 16]) -> Result<PackageBody, String> {
        match self {
            Step::EuiccPackage { package, .. } => Ok(PackageBody::Signed(package.clone())),
            Step::DownloadTrigger { activation_code } => {
                download_trigger_request(activation_code, eim_transaction_id).map(PackageBody::Unsigned)
            }
            Step::IpaEuiccData { tag_list } => {
                ipa_euicc_data_request(tag_list, eim_transaction_id).map(PackageBody::Unsigned)
            }
        }
        .map_err(|e| e.to_string())
    }
}

impl Intent {
    /// Parses the stored / received JSON.
    pub fn from_json(value: serde_json::Value) -> Result<Intent, String> {
        serde_json::from_value(value).map_err(|e| format!("intent: {e}"))
    }

    /// The intent as JSON (as stored and shown).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The packages, checked: every ICCID, activation code, address and DER is valid before anything is queued.
    pub fn steps(&self) -> Result<Vec<Step>, String> {
        let mut steps = Vec::new();
        self.push_steps(&mut steps, 0)?;
        if steps.is_empty() {
            return Err("the intent has no step".into());
        }
        if steps.len() > MAX_STEPS {
            return Err(format!("the intent has {} steps; at most {MAX_STEPS}", steps.len()));
        }
        Ok(steps)
    }

    fn push_steps(&self, out: &mut Vec<Step>, depth: usize) -> Result<(), String> {
        let psmo = |kind: &'static str, p: Psmo| Step::EuiccPackage { kind, package: EuiccPackage::PsmoList(vec![p]) };
        let eco = |kind: &'static str, e: Eco| Step::EuiccPackage { kind, package: EuiccPackage::EcoList(vec![e]) };
        match self {
            Intent::DownloadAndEnable { activation_code, iccid: digits, rollback } => {
                out.push(Step::DownloadTrigger { activation_code: checked_activation_code(activation_code)? });
                let rollback_flag = rollback.then_some(());
                out.push(psmo("enable", Psmo::Enable(PsmoEnable { iccid: iccid(digits)?, rollback_flag })));
            }
            Intent::Download { activation_code } => {
                out.push(Step::DownloadTrigger { activation_code: checked_activation_code(activation_code)? })
            }
            Intent::Sequence { steps } => {
                if depth > 0 {
                    return Err("a sequence cannot contain a sequence".into());
                }
                for s in steps {
                    s.push_steps(out, depth + 1)?;
                }
            }
            Intent::Enable { iccid: digits, rollback } => out.push(psmo(
                "enable",
                Psmo::Enable(PsmoEnable { iccid: iccid(digits)?, rollback_flag: rollback.then_some(()) }),
            )),
            Intent::Disable { iccid: d } => out.push(psmo("disable", Psmo::Disable(PsmoIccid { iccid: iccid(d)? }))),
            Intent::Delete { iccid: d } => out.push(psmo("delete", Psmo::Delete(PsmoIccid { iccid: iccid(d)? }))),
            Intent::ListProfileInfo {} => {
                out.push(psmo("listProfileInfo", Psmo::ListProfileInfo(ProfileInfoListRequest::default())))
            }
            Intent::GetRat {} => out.push(psmo("getRAT", Psmo::GetRat(Empty {}))),
            Intent::ConfigureImmediateEnable { immediate_enable, default_smdp_address } => {
                if let Some(a) = default_smdp_address {
                    checked_address("defaultSmdpAddress", a)?;
                }
                out.push(psmo(
                    "configureImmediateEnable",
                    Psmo::ConfigureImmediateEnable(ConfigureImmediateEnable {
                        immediate_enable_flag: immediate_enable.then_some(()),
                        default_smdp_oid: None,
                        default_smdp_address: default_smdp_address.clone(),
                    }),
                ))
            }
            Intent::SetFallbackAttribute { iccid: d } => {
                out.push(psmo("setFallbackAttribute", Psmo::SetFallbackAttribute(PsmoIccid { iccid: iccid(d)? })))
            }
            Intent::UnsetFallbackAttribute {} => {
                out.push(psmo("unsetFallbackAttribute", Psmo::UnsetFallbackAttribute(Empty {})))
            }
            Intent::SetDefaultDpAddress { default_dp_address } => {
                checked_address("defaultDpAddress", default_dp_address)?;
                out.push(psmo(
                    "setDefaultDpAddress",
                    Psmo::SetDefaultDpAddress(SetDefaultDpAddressRequest {
                        default_dp_address: default_dp_address.clone(),
                    }),
                ))
            }
            Intent::AddEim { eim_configuration_data } => {
                out.push(eco("addEim", Eco::AddEim(eim_config(eim_configuration_data)?)))
            }
            Intent::UpdateEim { eim_configuration_data } => {
                out.push(eco("updateEim", Eco::UpdateEim(eim_config(eim_configuration_data)?)))
            }
            Intent::DeleteEim { eim_id } => {
                if !(1..=128).contains(&eim_id.chars().count()) {
                    return Err("eimId must be 1 to 128 characters".into());
                }
                out.push(eco("deleteEim", Eco::DeleteEim(DeleteEim { eim_id: eim_id.clone() })))
            }
            Intent::ListEim {} => out.push(eco("listEim", Eco::ListEim(Empty {}))),
            Intent::IpaEuiccData { tag_list } => {
                let tag_list = hex::decode(tag_list).map_err(|e| format!("tagList is not hex: {e}"))?;
                if tag_list.is_empty() || tag_list.len() > 64 {
                    return Err("tagList must hold 1 to 64 bytes".into());
                }
                out.push(Step::IpaEuiccData { tag_list })
            }
        }
        Ok(())
    }
}

/// `"8900…"` → the `Iccid` DO of a PSMO; the digits are checked (length, `89`, Luhn).
fn iccid(digits: &str) -> Result<IccidDo, String> {
    let iccid = Iccid::new(digits).map_err(|e| format!("iccid {digits:?}: {e}"))?;
    Ok(IccidDo::from(&iccid))
}

/// An activation code `LPA:1$<SM-DP+ address>$<matchingId>[…]` (SGP.22 v2.5 §4.1), at most 255 characters
/// (ProfileDownloadData `activationCode [0] UTF8String (SIZE(0..255))`).
fn checked_activation_code(code: &str) -> Result<String, String> {
    let fields: Vec<&str> = code.strip_prefix("LPA:").unwrap_or(code).split('$').collect();
    let well_formed = code.starts_with("LPA:1$") || code.starts_with("1$");
    if !well_formed || fields.len() < 3 || fields[1].is_empty() || code.len() > 255 {
        return Err("activationCode must be LPA:1$<SM-DP+ address>$<matchingId> (SGP.22 §4.1), ≤ 255 characters".into());
    }
    checked_address("activationCode SM-DP+ address", fields[1])?;
    // The trigger carries the code without the "LPA:" scheme (as the eUICC's activation code).
    Ok(code.strip_prefix("LPA:").unwrap_or(code).to_owned())
}

fn checked_address(what: &str, address: &str) -> Result<(), String> {
    let ok = !address.is_empty()
        && address.len() <= 255
        && address.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!("{what} {address:?} is not a host name or host:port"))
    }
}

fn eim_config(hex_der: &str) -> Result<EimConfigurationData, String> {
    let der = hex::decode(hex_der).map_err(|e| format!("eimConfigurationData is not hex: {e}"))?;
    decode::<EimConfigurationData>(&der).map_err(|e| format!("eimConfigurationData is not EimConfigurationData: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::sgp32::{ProfileDownloadData, ProfileDownloadTriggerRequest};
    use serde_json::json;

    #[test]
    fn download_and_enable_is_a_trigger_then_an_enable_with_rollback() {
        let intent = Intent::from_json(json!({
            "intent": "downloadAndEnable", "activationCode": "LPA:1$smdp.example.com$ABC-123",
            "iccid": "89000123456789012341", "rollback": true
        }))
        .unwrap();
        let steps = intent.steps().unwrap();
        assert_eq!(steps.iter().map(Step::kind).collect::<Vec<_>>(), ["profileDownloadTrigger", "enable"]);
        let Step::EuiccPackage { package: EuiccPackage::PsmoList(p), .. } = &steps[1] else { panic!() };
        assert!(matches!(&p[0], Psmo::Enable(PsmoEnable { rollback_flag: Some(()), .. })));
        let PackageBody::Unsigned(der) = steps[0].body(&[7; 16]).unwrap() else { panic!() };
        assert_eq!(&der[..2], [0xBF, 0x54]);
        let back = decode::<ProfileDownloadTriggerRequest>(&der).unwrap();
        assert_eq!(
            back.profile_download_data,
            Some(ProfileDownloadData::ActivationCode("1$smdp.example.com$ABC-123".into()))
        );
        assert_eq!(intent.to_json()["intent"], "downloadAndEnable");
    }

    #[test]
    fn bad_intents_are_refused_with_a_reason() {
        for (bad, needle) in [
            (json!({"intent": "enable", "iccid": "123"}), "iccid"),
            (json!({"intent": "download", "activationCode": "http://x"}), "activationCode"),
            (json!({"intent": "sequence", "steps": []}), "no step"),
            (json!({"intent": "sequence", "steps": [{"intent": "sequence", "steps": []}]}), "sequence"),
            (json!({"intent": "ipaEuiccData", "tagList": "zz"}), "hex"),
            (json!({"intent": "addEim", "eimConfigurationData": "3000"}), "EimConfigurationData"),
            (json!({"intent": "setDefaultDpAddress", "defaultDpAddress": "a b"}), "host"),
        ] {
            let err = Intent::from_json(bad.clone()).and_then(|i| i.steps().map(|_| ())).unwrap_err();
            assert!(err.contains(needle), "{bad}: {err}");
        }
        assert!(Intent::from_json(json!({"intent": "reboot"})).is_err());
        assert!(Intent::from_json(json!({"intent": "getRAT", "x": 1})).is_err());
    }

    #[test]
    fn every_single_intent_expands_to_one_step() {
        for i in [
            json!({"intent": "enable", "iccid": "89000123456789012341"}),
            json!({"intent": "disable", "iccid": "89000123456789012341"}),
            json!({"intent": "delete", "iccid": "89000123456789012341"}),
            json!({"intent": "listProfileInfo"}),
            json!({"intent": "getRAT"}),
            json!({"intent": "configureImmediateEnable", "immediateEnable": true}),
            json!({"intent": "setFallbackAttribute", "iccid": "89000123456789012341"}),
            json!({"intent": "unsetFallbackAttribute"}),
            json!({"intent": "setDefaultDpAddress", "defaultDpAddress": "smdp.example.com"}),
            json!({"intent": "deleteEim", "eimId": "eim.example"}),
            json!({"intent": "listEim"}),
            json!({"intent": "ipaEuiccData", "tagList": "BF20"}),
        ] {
            assert_eq!(Intent::from_json(i.clone()).unwrap().steps().unwrap().len(), 1, "{i}");
        }
    }
}
