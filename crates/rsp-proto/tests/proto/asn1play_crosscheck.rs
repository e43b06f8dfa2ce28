//! Independent cross-check of rspd's ASN.1 codec (`src/codec`) against asn1play (pycrate-compiled GSMA
//! modules: SGP.22 v2.5 `RSPDefinitions`, SGP.32 v1.2 `SGP32Definitions`, SAIP v2.3.1 `PEDefinitions`). SGP.32 cases
//! are in `asn1play_crosscheck/sgp32.rs`, SAIP cases in `asn1play_crosscheck/saip.rs`; the test prints the number of
//! distinct types per spec and per direction.
//!
//! Direction 1: rspd encodes a value → asn1play decodes it (and must re-encode the same bytes) → selected
//! field values are compared as JSON. Direction 2: asn1play encodes that JSON value → rspd decodes it and the
//! result must equal the original Rust value. Adding a type is one line in [`corpus`].
//! Skips (passes with a message) when python3 or asn1play is missing; helper: `conformance/py/asn1play_check.py`.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use rasn::types::{Any, BitString, FixedOctetString, ObjectIdentifier, OctetString};
use rsp_proto::codec::sgp22::*;
use rsp_proto::codec::{decode, encode, Message};
use serde_json::{json, Value};

#[path = "asn1play_crosscheck/saip.rs"]
mod saip;
#[path = "asn1play_crosscheck/sgp32.rs"]
mod sgp32;

use saip::saip_cases;
use sgp32::sgp32_cases;

type Check = Box<dyn Fn(&[u8]) -> Result<(), String>>;

struct Case {
    spec: &'static str,
    /// The message type counted in the summary (for SAIP: the PE type).
    name: &'static str,
    /// The asn1play type the DER is decoded as (for SAIP: `ProfileElement`, the CHOICE that tags each PE).
    py_type: &'static str,
    der: Vec<u8>,
    /// JSON pointer into asn1play's JER output → expected value.
    expect: Vec<(&'static str, Value)>,
    /// Decodes bytes with rspd and compares with the original value.
    check: Check,
    /// Why direction 2 cannot compare this case (`None`: it does).
    one_way: Option<&'static str>,
}

#[derive(Default)]
struct Corpus(Vec<Case>);

impl Corpus {
    fn add<T: Message + PartialEq + std::fmt::Debug + 'static>(&mut self, spec: &'static str, value: T) -> &mut Case {
        let der = encode(&value).unwrap();
        let check: Check = Box::new(move |bytes| {
            let got: T = decode(bytes).map_err(|e| e.to_string())?;
            if got == value {
                Ok(())
            } else {
                Err(format!("decoded {got:?}\n expected {value:?}"))
            }
        });
        self.0.push(Case { spec, name: T::NAME, py_type: T::NAME, der, expect: Vec::new(), check, one_way: None });
        self.0.last_mut().unwrap()
    }

    /// A case whose rspd side is not a typed [`Message`] (SAIP elements, read by `rsp_proto::profile`).
    fn add_raw(
        &mut self,
        spec: &'static str,
        name: &'static str,
        py_type: &'static str,
        der: Vec<u8>,
        check: Check,
    ) -> &mut Case {
        self.0.push(Case { spec, name, py_type, der, expect: Vec::new(), check, one_way: None });
        self.0.last_mut().unwrap()
    }
}

impl Case {
    fn expect(&mut self, pointer: &'static str, value: Value) -> &mut Self {
        self.expect.push((pointer, value));
        self
    }
    /// Direction 1 only: pycrate's JER keeps no type for open types (`ANY` inside X.509 certificates:
    /// attribute values, curve parameters), so a certificate does not survive JER → DER unchanged.
    fn with_certificates(&mut self) -> &mut Self {
        self.one_way = Some("X.509 open types do not survive pycrate JER");
        self
    }
    /// Direction 1 only, for another reason.
    fn one_way(&mut self, why: &'static str) -> &mut Self {
        self.one_way = Some(why);
        self
    }
}

fn os(b: &[u8]) -> OctetString {
    OctetString::from(b.to_vec())
}
fn tid() -> TransactionId {
    TransactionId(os(&[0x11; 16]))
}
fn bits(bytes: &[u8], len: usize) -> BitString {
    let mut b = BitString::from_slice(bytes);
    b.truncate(len);
    b
}
fn oid(arcs: &[u32]) -> ObjectIdentifier {
    ObjectIdentifier::new(arcs.to_vec()).unwrap()
}
fn cert() -> Any {
    // A small serial number: JSON numbers in the helper's output must stay exact in serde_json.
    let mut params = rcgen::CertificateParams::new(vec!["smdp.example".to_string()]).unwrap();
    params.serial_number = Some(rcgen::SerialNumber::from(0x1234u64));
    let key = rcgen::KeyPair::generate().unwrap();
    Any::new(params.self_signed(&key).unwrap().der().to_vec())
}
fn sig() -> Signature {
    Signature(os(&[0x5A; 64]))
}

fn euicc_info2() -> EuiccInfo2 {
    EuiccInfo2 {
        profile_version: FixedOctetString::new([2, 3, 1]),
        svn: FixedOctetString::new([2, 5, 0]),
        euicc_firmware_ver: FixedOctetString::new([1, 0, 0]),
        ext_card_resource: os(&[0x81, 0x01, 0x00, 0x82, 0x04, 0x00, 0x01, 0x00, 0x00]),
        uicc_capability: bits(&[0x7F, 0xFF, 0x00], 19),
        ts102241_version: Some(FixedOctetString::new([9, 2, 0])),
        globalplatform_version: Some(FixedOctetString::new([2, 3, 0])),
        rsp_capability: bits(&[0x70], 4),
        euicc_ci_pkid_list_for_verification: vec![os(&[0xF5; 20])],
        euicc_ci_pkid_list_for_signing: vec![os(&[0xF5; 20]), os(&[0xC0; 20])],
        euicc_category: Some(2),
        forbidden_profile_policy_rules: Some(bits(&[0x60], 3)),
        pp_version: FixedOctetString::new([0, 0, 1]),
        sas_acreditation_number: "GI-BA-UP-0419".into(),
        certification_data_object: Some(CertificationDataObject {
            platform_label: "1.2.3".into(),
            discovery_base_url: "https://d.example".into(),
        }),
        tre_properties: None,
        tre_product_reference: None,
        additional_euicc_profile_package_versions: Some(vec![FixedOctetString::new([3, 1, 0])]),
    }
}

fn euicc_info1() -> EuiccInfo1 {
    EuiccInfo1 {
        svn: FixedOctetString::new([2, 5, 0]),
        euicc_ci_pkid_list_for_verification: vec![os(&[0xF5; 20])],
        euicc_ci_pkid_list_for_signing: vec![os(&[0xF5; 20])],
    }
}

fn device_info() -> DeviceInfo {
    DeviceInfo {
        tac: FixedOctetString::new([0x35, 0x29, 0x06, 0x11]),
        device_capabilities: DeviceCapabilities {
            gsm_supported_release: Some(FixedOctetString::new([15, 0, 0])),
            eutran_epc_supported_release: Some(FixedOctetString::new([15, 0, 0])),
            lpa_svn: Some(FixedOctetString::new([2, 5, 0])),
            euicc_form_factor_type: Some(1),
            ..Default::default()
        },
        imei: Some(FixedOctetString::new([0x35, 0x29, 0x06, 0x11, 0x22, 0x33, 0x44, 0x05])),
    }
}

fn euicc_signed1() -> EuiccSigned1 {
    EuiccSigned1 {
        transaction_id: tid(),
        server_address: "smdp.example:8443".into(),
        server_challenge: FixedOctetString::new([0x22; 16]),
        euicc_info2: euicc_info2(),
        ctx_params1: CtxParams1::CtxParamsForCommonAuthentication(CtxParamsForCommonAuthentication {
            matching_id: Some("MATCH-1".into()),
            device_info: device_info(),
        }),
    }
}

fn authenticate_server_response() -> AuthenticateServerResponse {
    AuthenticateServerResponse::AuthenticateResponseOk(AuthenticateResponseOk {
        euicc_signed1: euicc_signed1(),
        euicc_signature1: sig(),
        euicc_certificate: cert(),
        eum_certificate: cert(),
    })
}

fn notification_metadata() -> NotificationMetadata {
    NotificationMetadata {
        seq_number: 7,
        profile_management_operation: bits(&[0x80], 1),
        notification_address: "smdp.example".into(),
        iccid: Some(Iccid(FixedOctetString::new([0x98, 0x10, 0x32, 0x54, 0x76, 0x98, 0x10, 0x32, 0x54, 0xF6]))),
    }
}

fn store_metadata() -> StoreMetadataRequest {
    StoreMetadataRequest {
        iccid: Iccid(FixedOctetString::new([0x98, 0x10, 0x32, 0x54, 0x76, 0x98, 0x10, 0x32, 0x54, 0xF6])),
        service_provider_name: "rspd".into(),
        profile_name: "Test profile".into(),
        icon_type: None,
        icon: None,
        profile_class: 2,
        notification_configuration_info: Some(vec![NotificationConfigurationInformation {
            profile_management_operation: bits(&[0xF0], 4),
            notification_address: "smdp.example".into(),
        }]),
        profile_owner: Some(OperatorId { mcc_mnc: FixedOctetString::new([0x00, 0xF1, 0x10]), gid1: None, gid2: None }),
        profile_policy_rules: None,
        service_specific_data_stored_in_euicc: None,
        service_specific_data_not_stored_in_euicc: None,
    }
}

fn pir_data(success: bool) -> ProfileInstallationResultData {
    ProfileInstallationResultData {
        transaction_id: tid(),
        notification_metadata: notification_metadata(),
        smdp_oid: oid(&[2, 999, 10]),
        final_result: if success {
            FinalResult::SuccessResult(SuccessResult {
                aid: os(&[0xA0, 0, 0, 5, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0, 0, 0x10, 0]),
                sima_response: os(&[0x30, 0x03, 0xA0, 0x01, 0x00]),
            })
        } else {
            FinalResult::ErrorResult(ErrorResult { bpp_command_id: 5, error_reason: 12, sima_response: None })
        },
    }
}

fn cancel_signed() -> EuiccCancelSessionSigned {
    EuiccCancelSessionSigned { transaction_id: tid(), smdp_oid: oid(&[2, 999, 10]), reason: 0 }
}

/// Every cross-checked type: one line each (SAIP cases go under `"saip"`).
fn corpus() -> Corpus {
    let mut c = Corpus::default();
    c.add("sgp22", euicc_info2()).expect("/svn", json!("020500")).expect("/euiccCategory", json!(2));
    c.add("sgp22", euicc_info1()).expect("/svn", json!("020500"));
    c.add("sgp22", device_info()).expect("/tac", json!("35290611")).expect("/imei", json!("3529061122334405"));
    c.add("sgp22", device_info().device_capabilities);
    c.add(
        "sgp22",
        ServerSigned1 {
            transaction_id: tid(),
            euicc_challenge: FixedOctetString::new([0x33; 16]),
            server_address: "smdp.example".into(),
            server_challenge: FixedOctetString::new([0x22; 16]),
        },
    )
    .expect("/serverAddress", json!("smdp.example"));
    c.add("sgp22", euicc_signed1()).expect("/serverAddress", json!("smdp.example:8443"));
    c.add(
        "sgp22",
        CtxParams1::CtxParamsForCommonAuthentication(CtxParamsForCommonAuthentication {
            matching_id: None,
            device_info: device_info(),
        }),
    );
    c.add("sgp22", authenticate_server_response()).with_certificates();
    c.add(
        "sgp22",
        AuthenticateServerResponse::AuthenticateResponseError(AuthenticateResponseError {
            transaction_id: tid(),
            authenticate_error_code: 127,
        }),
    )
    .expect("/authenticateResponseError/authenticateErrorCode", json!(127));
    c.add(
        "sgp22",
        InitiateAuthenticationRequest {
            euicc_challenge: FixedOctetString::new([0x33; 16]),
            smdp_address: "smdp.example".into(),
            euicc_info1: euicc_info1(),
        },
    )
    .expect("/smdpAddress", json!("smdp.example"));
    c.add(
        "sgp22",
        InitiateAuthenticationResponse::InitiateAuthenticationOk(InitiateAuthenticationOkEs9 {
            transaction_id: tid(),
            server_signed1: ServerSigned1 {
                transaction_id: tid(),
                euicc_challenge: FixedOctetString::new([0x33; 16]),
                server_address: "smdp.example".into(),
                server_challenge: FixedOctetString::new([0x22; 16]),
            },
            server_signature1: sig(),
            euicc_ci_pkid_to_be_used: os(&[0xF5; 20]),
            server_certificate: cert(),
        }),
    )
    .with_certificates();
    c.add("sgp22", InitiateAuthenticationResponse::InitiateAuthenticationError(1))
        .expect("/initiateAuthenticationError", json!(1));
    c.add(
        "sgp22",
        AuthenticateClientRequest {
            transaction_id: tid(),
            authenticate_server_response: authenticate_server_response(),
        },
    )
    .with_certificates();
    c.add(
        "sgp22",
        AuthenticateClientResponseEs9::AuthenticateClientOk(AuthenticateClientOk {
            transaction_id: tid(),
            profile_meta_data: store_metadata(),
            smdp_signed2: SmdpSigned2 { transaction_id: tid(), cc_required_flag: false, bpp_euicc_otpk: None },
            smdp_signature2: sig(),
            smdp_certificate: cert(),
        }),
    )
    .with_certificates();
    c.add("sgp22", AuthenticateClientResponseEs9::AuthenticateClientError(8))
        .expect("/authenticateClientError", json!(8));
    c.add(
        "sgp22",
        SmdpSigned2 { transaction_id: tid(), cc_required_flag: true, bpp_euicc_otpk: Some(Otpk(os(&[0x04; 65]))) },
    )
    .expect("/ccRequiredFlag", json!(true));
    let euicc_signed2 = EuiccSigned2 {
        transaction_id: tid(),
        euicc_otpk: Otpk(os(&[0x04; 65])),
        hash_cc: Some(FixedOctetString::new([7; 32])),
    };
    c.add("sgp22", euicc_signed2.clone());
    let pdr = PrepareDownloadResponse::DownloadResponseOk(PrepareDownloadResponseOk {
        euicc_signed2: euicc_signed2.clone(),
        euicc_signature2: sig(),
    });
    c.add("sgp22", pdr.clone());
    c.add(
        "sgp22",
        PrepareDownloadResponse::DownloadResponseError(PrepareDownloadResponseError {
            transaction_id: tid(),
            download_error_code: 5,
        }),
    );
    c.add("sgp22", GetBoundProfilePackageRequest { transaction_id: tid(), prepare_download_response: pdr });
    c.add("sgp22", store_metadata()).expect("/serviceProviderName", json!("rspd"));
    c.add(
        "sgp22",
        ConfigureIsdpRequest { dp_proprietary_data: Some(DpProprietaryData { dp_oid: oid(&[2, 999, 10]) }) },
    );
    c.add("sgp22", ConfigureIsdpRequest { dp_proprietary_data: None });
    c.add(
        "sgp22",
        ProfileInfo {
            iccid: Some(store_metadata().iccid),
            isdp_aid: Some(OctetTo16(os(&[0xA0, 0, 0, 5, 0x59, 0x10, 0x10, 1]))),
            profile_state: Some(1),
            profile_nickname: Some("work".into()),
            profile_class: Some(2),
            ..Default::default()
        },
    )
    .expect("/profileState", json!(1));
    c.add("sgp22", pir_data(true));
    c.add("sgp22", pir_data(false)).expect("/finalResult/errorResult/errorReason", json!(12));
    c.add(
        "sgp22",
        ProfileInstallationResult { profile_installation_result_data: pir_data(true), euicc_sign_pir: sig() },
    );
    c.add("sgp22", notification_metadata()).expect("/seqNumber", json!(7));
    let other = OtherSignedNotification {
        tbs_other_notification: notification_metadata(),
        euicc_notification_signature: sig(),
        euicc_certificate: cert(),
        eum_certificate: cert(),
    };
    c.add("sgp22", other.clone()).with_certificates();
    c.add(
        "sgp22",
        HandleNotification {
            pending_notification: PendingNotification::ProfileInstallationResult(ProfileInstallationResult {
                profile_installation_result_data: pir_data(false),
                euicc_sign_pir: sig(),
            }),
        },
    );
    c.add("sgp22", HandleNotification { pending_notification: PendingNotification::OtherSignedNotification(other) })
        .with_certificates();
    c.add("sgp22", CancelSessionRequest { transaction_id: tid(), reason: 1 }).expect("/reason", json!(1));
    let csr = CancelSessionResponse::CancelSessionResponseOk(CancelSessionResponseOk {
        euicc_cancel_session_signed: cancel_signed(),
        euicc_cancel_session_signature: sig(),
    });
    c.add("sgp22", csr.clone());
    c.add("sgp22", CancelSessionResponse::CancelSessionResponseError(5));
    c.add("sgp22", cancel_signed());
    c.add("sgp22", CancelSessionRequestEs9 { transaction_id: tid(), cancel_session_response: csr });
    c.add("sgp22", CancelSessionResponseEs9::CancelSessionOk(CancelSessionOk {}));
    c.add("sgp22", CancelSessionResponseEs9::CancelSessionError(2)).expect("/cancelSessionError", json!(2));
    sgp32_cases(&mut c);
    saip_cases(&mut c);
    c
}

/// Runs the helper; `None` (skip) when python3 or asn1play is unavailable.
fn python(input: &Value) -> Option<Vec<Value>> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../conformance/py/asn1play_check.py");
    let mut child = match Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("skip: python3 not runnable ({e})");
            return None;
        }
    };
    child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.code() == Some(3) {
        eprintln!("skip: {}", String::from_utf8_lossy(&out.stderr).trim());
        return None;
    }
    assert!(out.status.success(), "helper failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn rspd_and_asn1play_agree_both_directions() {
    let corpus = corpus();
    let to_decode: Vec<Value> = corpus
        .0
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"id": i, "spec": c.spec, "type": c.py_type, "der": hex::encode(&c.der)}))
        .collect();
    let Some(decoded) = python(&Value::Array(to_decode)) else { return };

    let mut failures = Vec::new();
    let mut to_encode = Vec::new();
    // Distinct (spec, type) pairs that passed each direction.
    let mut dir1: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut dir2: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (case, res) in corpus.0.iter().zip(&decoded) {
        let label = format!("{} {}", case.spec, case.name);
        if res["ok"] != json!(true) {
            failures.push(format!("{label}: asn1play cannot decode rspd's DER: {}", res["error"]));
            continue;
        }
        if res["reencoded"].as_str() != Some(&hex::encode(&case.der)) {
            failures.push(format!(
                "{label}: asn1play re-encodes differently:\n rspd {}\n py   {}",
                hex::encode(&case.der),
                res["reencoded"]
            ));
        }
        let before = failures.len();
        for (ptr, want) in &case.expect {
            if res["jer"].pointer(ptr) != Some(want) {
                failures.push(format!("{label}: {ptr} is {:?}, expected {want}", res["jer"].pointer(ptr)));
            }
        }
        if failures.len() == before {
            dir1.insert((case.spec, case.name));
        }
        to_encode.push(json!({"id": res["id"], "spec": case.spec, "type": case.py_type, "jer": res["jer"]}));
    }
    let encoded = python(&Value::Array(to_encode)).unwrap_or_default();
    let mut both = 0;
    for res in &encoded {
        let Some(case) = res["id"].as_u64().and_then(|i| corpus.0.get(i as usize)) else { continue };
        let label = format!("{} {}", case.spec, case.name);
        if case.one_way.is_some() {
            continue;
        }
        let der = res["der"].as_str().and_then(|h| hex::decode(h).ok());
        match der {
            None => failures.push(format!("{label}: asn1play cannot encode the JSON value: {}", res["error"])),
            Some(der) => match (case.check)(&der) {
                Ok(()) => {
                    both += 1;
                    dir2.insert((case.spec, case.name));
                }
                Err(e) => failures.push(format!("{label}: rspd decode of asn1play DER: {e}")),
            },
        }
    }
    let one_way: Vec<String> =
        corpus.0.iter().filter_map(|c| c.one_way.map(|why| format!("{} {} ({why})", c.spec, c.name))).collect();
    eprintln!(
        "asn1play cross-check: {} cases; {both} agree in both directions; direction 1 only: {}",
        corpus.0.len(),
        one_way.join(", ")
    );
    let all: BTreeSet<(&str, &str)> = corpus.0.iter().map(|c| (c.spec, c.name)).collect();
    for spec in ["sgp22", "sgp32", "saip"] {
        let n = |set: &BTreeSet<(&str, &str)>| set.iter().filter(|(s, _)| *s == spec).count();
        eprintln!("  {spec}: {} types; rspd→asn1play {}; asn1play→rspd {}", n(&all), n(&dir1), n(&dir2));
    }
    eprintln!("  total: {} distinct types; rspd→asn1play {}; asn1play→rspd {}", all.len(), dir1.len(), dir2.len());
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n"));
    assert!(all.len() >= 40, "the cross-check should cover at least 40 distinct types");
}
