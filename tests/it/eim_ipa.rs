//! eIM end to end with the conformance IPA driver (SGP.32 v1.2) over HTTPS on localhost: `rspd serve` is the eIM
//! and the SM-DP+; the operator side is the `rspd eim …` commands; the device is `rsp_conformance::ipa::Ipa`
//! driving the verifying soft eUICC over ESipa in both bindings (ASN.1 §6.3, JSON §6.4).
//!
//! Cases (each on SQLite and, with `RSPD_TEST_POSTGRES_URL`, PostgreSQL):
//! - every PSMO and eCO, plus IpaEuiccDataRequest, through both bindings: each order Succeeded, the eUICC and
//!   rspd's profile inventory agree;
//! - ProfileDownloadTriggerRequest with an activation code of rspd's SM-DP+: a direct download (ES9+) and
//!   indirect ones (ESipa relayed in process, both bindings); the order Succeeded, the ICCID is in the
//!   inventory and Installed on the SM-DP+;
//! - a package signed with another key: the eUICC refuses it (euiccPackageErrorUnsigned) and the order fails;
//! - asn1play (an independent SGP.32 v1.2 codec) decodes every ESipa response rspd sent (packages,
//!   noEimPackageAvailable, EimAcknowledgements, emptyResponse, indirect-download answers and errors) and
//!   re-encodes the same bytes (skips with a reason when asn1play is missing).

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::es9_harness::*;
use rsp_conformance::euicc::profiles::{InstalledProfile, ProfileState as EuiccProfileState};
use rsp_conformance::euicc::SoftEuicc;
use rsp_conformance::ipa::{Binding, DownloadMode, EsipaClient, Ipa, PollOutcome};
use rsp_conformance::lpa::TrustAnchors;
use rspd::codec::decode;
use rspd::codec::sgp32::{AddInitialEimOkItem, AddInitialEimResponse, EuiccPackage, ProfileInfoListRequest, Psmo};
use rspd::codec::tlv::{self, Tag};
use rspd::eim::{service, EimContext, EimRepository, OrderState, PackageOrder};
use rspd::pki::{Curve, PemKeyStore};
use rspd::smdp::ProfileState;

const ICCID_A: &str = "89000123456789012341";
const ICCID_B: &str = "89000123456789012358";

fn rspd_ok(env: &Env, args: &[&str]) -> String {
    let out = env.rspd(args);
    assert!(out.status.success(), "rspd {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The test PKI eUICC of `curve`, optionally with profile A enabled and B disabled, registered with rspd's eIM
/// and associated (AddInitialEim with `rspd eim config`, associationToken recorded with `rspd eim associate`).
fn device(env: &Env, curve: Curve, seed: bool) -> (SoftEuicc, String) {
    associate(env, env.euicc(curve), seed)
}

/// [`device`] for a given eUICC (its certificate registered with its EUM chain verified).
fn associate(env: &Env, mut euicc: SoftEuicc, seed: bool) -> (SoftEuicc, String) {
    if seed {
        euicc.seed_profile(InstalledProfile::seeded(ICCID_A, 0x10, EuiccProfileState::Enabled).unwrap()).unwrap();
        euicc.seed_profile(InstalledProfile::seeded(ICCID_B, 0x11, EuiccProfileState::Disabled).unwrap()).unwrap();
    }
    let cert = env.dir.path().join(format!("euicc-{}.der", euicc.eid()));
    std::fs::write(&cert, &euicc.credentials().euicc_cert_der).unwrap();
    let eum = env.dir.path().join(format!("eum-{}.der", euicc.eid()));
    std::fs::write(&eum, &euicc.credentials().eum_cert_der).unwrap();
    let eid = rspd_ok(env, &["eim", "register", "--cert", cert.to_str().unwrap(), "--eum-cert", eum.to_str().unwrap()])
        .trim()
        .to_owned();
    assert_eq!(eid, euicc.eid());
    let cfg = env.dir.path().join(format!("cfg-{eid}.der"));
    rspd_ok(env, &["eim", "config", "--eid", &eid, "--out", cfg.to_str().unwrap()]);
    let response = euicc.add_initial_eim(&std::fs::read(&cfg).unwrap()).unwrap();
    let AddInitialEimResponse::AddInitialEimOk(items) = decode::<AddInitialEimResponse>(&response).unwrap() else {
        panic!("AddInitialEim refused");
    };
    let token = items
        .iter()
        .find_map(|i| match i {
            AddInitialEimOkItem::AssociationToken(t) => Some(*t),
            _ => None,
        })
        .expect("an associationToken");
    rspd_ok(env, &["eim", "associate", "--eid", &eid, "--association-token", &token.to_string()]);
    if seed {
        // rspd learns the profile table from a listProfileInfo, as an operator would.
        queue(env, &eid, &["--psmo", "list-profiles"]);
    }
    (euicc, eid)
}

fn anchors(env: &Env) -> TrustAnchors {
    let mut anchors = TrustAnchors::new();
    anchors.add_file(&env.pki().ci_cert(Curve::NistP256)).unwrap();
    anchors
}

fn ipa(env: &Env, euicc: SoftEuicc, binding: Binding, mode: DownloadMode) -> Ipa {
    let esipa =
        EsipaClient::new(&format!("https://{}", env.address), &anchors(env), binding).unwrap().record_exchanges();
    Ipa::new(euicc, esipa, anchors(env), mode)
}

/// `rspd eim queue --eid EID ARGS…` → the order id.
fn queue(env: &Env, eid: &str, args: &[&str]) -> i64 {
    let mut all = vec!["eim", "queue", "--eid", eid];
    all.extend_from_slice(args);
    let out = rspd_ok(env, &all);
    out.split_whitespace().nth(1).and_then(|id| id.parse().ok()).unwrap_or_else(|| panic!("{out}"))
}

fn order(env: &Env, id: i64) -> PackageOrder {
    env.store().find_order(id).unwrap().unwrap()
}

fn assert_succeeded(env: &Env, ids: &[i64]) {
    for id in ids {
        let o = order(env, *id);
        assert_eq!(o.state, OrderState::Succeeded, "order {id}: {:?}", o.failure_reason);
    }
}

fn known(env: &Env, eid: &str) -> Vec<(String, String, bool)> {
    let mut v: Vec<_> = env
        .store()
        .known_profiles(eid)
        .unwrap()
        .into_iter()
        .map(|p| (p.iccid, p.state, p.fallback_attribute))
        .collect();
    v.sort();
    v
}

#[test]
fn every_psmo_and_eco_end_to_end_through_both_bindings() {
    for pg in backends() {
        let env = Env::start(pg.as_deref());
        let (euicc, eid) = device(&env, Curve::NistP256, true);
        let smdp = env.address.clone();
        let first = vec![
            queue(&env, &eid, &["--psmo", &format!("disable:{ICCID_A}"), "--psmo", &format!("enable:{ICCID_B}")]),
            queue(
                &env,
                &eid,
                &[
                    "--psmo",
                    &format!("set-fallback:{ICCID_A}"),
                    "--psmo",
                    "unset-fallback",
                    "--psmo",
                    "get-rat",
                    "--psmo",
                    &format!("immediate-enable:{smdp}"),
                    "--psmo",
                    &format!("set-default-dp:{smdp}"),
                ],
            ),
            queue(&env, &eid, &["--psmo", &format!("enable-rollback:{ICCID_A}")]),
            queue(&env, &eid, &["--ipa-data", "A5A681"]),
        ];
        let mut device = ipa(&env, euicc, Binding::Asn1, DownloadMode::Direct);
        let outcomes = device.run(10).unwrap();
        // The listProfileInfo queued at registration, then the four above.
        assert_eq!(outcomes.len(), 5, "{outcomes:?}");
        assert_succeeded(&env, &first);
        assert_eq!(
            known(&env, &eid),
            vec![(ICCID_A.into(), "enabled".into(), false), (ICCID_B.into(), "disabled".into(), false)]
        );
        let data = order(&env, first[3]).result_der.unwrap();
        assert_eq!(&data[..2], &[0xBF, 0x52], "IpaEuiccDataResponse kept with the order");

        let second = vec![
            queue(&env, &eid, &["--psmo", &format!("delete:{ICCID_B}"), "--psmo", "list-profiles"]),
            queue(&env, &eid, &["--eco", "add-eim:eim.two.example:eim2.example.com", "--eco", "list-eim"]),
            queue(
                &env,
                &eid,
                &["--eco", "update-eim:eim.two.example:eim3.example.com", "--eco", "delete-eim:eim.two.example"],
            ),
        ];
        let mut device = ipa(&env, device.into_euicc(), Binding::Json, DownloadMode::Direct);
        let outcomes = device.run(10).unwrap();
        assert_eq!(outcomes.len(), 3, "{outcomes:?}");
        assert!(
            outcomes.iter().all(|o| matches!(o, PollOutcome::EuiccPackage { acknowledged: 1, .. })),
            "{outcomes:?}"
        );
        assert_succeeded(&env, &second);
        assert_eq!(known(&env, &eid), vec![(ICCID_A.into(), "enabled".into(), false)]);
        let euicc = device.into_euicc();
        assert_eq!(euicc.profiles().len(), 1);
        assert_eq!(euicc.eims().len(), 1, "eim.two was added, updated and deleted");
        assert!(euicc.pending_euicc_package_results().is_empty(), "every result was acknowledged");
    }
}

#[test]
fn download_triggered_over_esipa_direct_and_indirect() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let env = Env::start(pg.as_deref());
        let iccids = env.import_profiles(&template, 1..4);
        let (mut euicc, eid) = device(&env, Curve::NistP256, false);
        for (iccid, binding, mode) in [
            (&iccids[0], Binding::Asn1, DownloadMode::Direct),
            (&iccids[1], Binding::Json, DownloadMode::Indirect),
            (&iccids[2], Binding::Asn1, DownloadMode::Indirect),
        ] {
            let matching_id = env.create_order(iccid, &[]);
            let code = format!("LPA:1${}${matching_id}", env.address);
            let id = queue(&env, &eid, &["--download", &code]);
            let mut device = ipa(&env, euicc, binding, mode);
            let outcomes = device.run(5).unwrap();
            assert_eq!(outcomes, vec![PollOutcome::Download { iccid: Ok(iccid.clone()) }], "{binding:?} {mode:?}");
            assert_succeeded(&env, &[id]);
            assert!(known(&env, &eid).contains(&(iccid.clone(), "disabled".into(), false)), "{:?}", known(&env, &eid));
            let deadline = Instant::now() + Duration::from_secs(10);
            while env.order_state(&matching_id) != ProfileState::Installed {
                assert!(Instant::now() < deadline, "the PIR reached the SM-DP+ ({binding:?} {mode:?})");
                std::thread::sleep(Duration::from_millis(100));
            }
            euicc = device.into_euicc();
        }
        assert_eq!(euicc.profiles().len(), 3);
    }
}

#[test]
fn package_signed_with_another_key_is_refused_and_the_order_fails() {
    for pg in backends() {
        let env = Env::start(pg.as_deref());
        let (euicc, eid) = device(&env, Curve::NistP256, false);
        // Another eIM key of the same curve, same eimId: the eUICC's eimSignature check must fail.
        let key = openssl::ec::EcKey::generate(
            &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
        )
        .unwrap();
        let path = env.dir.path().join("rogue.pem");
        std::fs::write(&path, openssl::pkey::PKey::from_ec_key(key).unwrap().private_key_to_pem_pkcs8().unwrap())
            .unwrap();
        let rogue = EimContext {
            eim_id: "rspd-eim".into(),
            eim_fqdn: env.address.clone(),
            keys: Arc::new(PemKeyStore::load(&[(EimContext::key(Curve::NistP256), path)]).unwrap()),
            curves: vec![Curve::NistP256],
            dispatch_timeout: Duration::from_secs(600),
            no_show_timeout: Duration::from_secs(600),
        };
        let package = EuiccPackage::PsmoList(vec![Psmo::ListProfileInfo(ProfileInfoListRequest::default())]);
        let forged =
            service::queue_euicc_package(&env.store(), &rogue, &eid, package, rspd::clock::now_ms()).unwrap().id;
        let mut device = ipa(&env, euicc, Binding::Json, DownloadMode::Direct);
        device.run(3).unwrap();
        let o = order(&env, forged);
        assert_eq!((o.state, o.failure_reason.as_deref()), (OrderState::Failed, Some("unsigned_error")));
        // The genuine eIM still gets through afterwards.
        let genuine = queue(&env, &eid, &["--psmo", "list-profiles"]);
        device.run(3).unwrap();
        assert_succeeded(&env, &[genuine]);
    }
}

/// Runs conformance/py/asn1play_check.py on `(label, der)` pairs as SGP.32 `EsipaMessageFromEimToIpa`; `None`
/// when asn1play is unavailable.
fn asn1play_check(responses: &[(String, Vec<u8>)]) -> Option<Vec<String>> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/py/asn1play_check.py");
    let cases: Vec<_> = responses
        .iter()
        .enumerate()
        .map(|(i, (_, der))| {
            serde_json::json!({ "id": i, "spec": "sgp32", "type": "EsipaMessageFromEimToIpa", "der": hex::encode(der) })
        })
        .collect();
    let mut child = match Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("SKIP asn1play check: python3 not runnable ({e})");
            return None;
        }
    };
    child.stdin.take().unwrap().write_all(serde_json::to_string(&cases).unwrap().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.code() == Some(3) {
        eprintln!("SKIP asn1play check: {}", String::from_utf8_lossy(&out.stderr).trim());
        return None;
    }
    assert!(out.status.success(), "asn1play_check.py: {}", String::from_utf8_lossy(&out.stderr));
    let results: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut problems = Vec::new();
    for r in results {
        let i = r["id"].as_u64().unwrap() as usize;
        let (label, der) = &responses[i];
        if r["ok"] != true {
            problems.push(format!("{label}: asn1play refused: {}", r["error"]));
        } else if r["reencoded"].as_str() != Some(&hex::encode(der)) {
            problems.push(format!("{label}: asn1play re-encodes differently: {}", r["reencoded"]));
        }
    }
    Some(problems)
}

/// A request with its transactionId `80` field replaced (an unknown session).
fn with_other_transaction_id(request: &[u8]) -> Vec<u8> {
    let top = tlv::parse_single(request).unwrap();
    let parts: Vec<Vec<u8>> = top
        .children()
        .unwrap()
        .iter()
        .map(|c| if c.tag() == Tag(0x80) { tlv::encode(Tag(0x80), &[0x42; 16]) } else { c.raw().to_vec() })
        .collect();
    tlv::encode_constructed(top.tag(), parts.iter().map(Vec::as_slice))
}

#[test]
fn asn1play_decodes_rspd_esipa_responses() {
    for pg in backends() {
        asn1play_decodes_rspd_esipa_responses_on(pg.as_deref());
    }
}

fn asn1play_decodes_rspd_esipa_responses_on(pg: Option<&str>) {
    let env = Env::start(pg);
    let (euicc, eid) = device(&env, Curve::NistP256, true);
    queue(&env, &eid, &["--ipa-data", "A5"]);
    let template = ts48_template();
    if let Some(template) = &template {
        let iccid = env.import_profiles(template, 7..8).remove(0);
        let matching_id = env.create_order(&iccid, &[]);
        queue(&env, &eid, &["--download", &format!("LPA:1${}${matching_id}", env.address)]);
    }
    let mut device = ipa(&env, euicc, Binding::Asn1, DownloadMode::Indirect);
    device.run(10).unwrap();
    let exchanges = device.esipa().exchanges();
    let esipa = device.esipa();
    let mut responses: Vec<(String, Vec<u8>)> = exchanges
        .iter()
        .filter(|e| !e.response.is_empty())
        .map(|e| (format!("{} answer {}", e.function, hex::encode_upper(&e.response[..2])), e.response.clone()))
        .collect();
    // Error answers.
    let unknown_eid =
        tlv::encode(Tag(0xBF4F), &tlv::encode(Tag(0x5A), &hex::decode("89049032123451234512345678901235").unwrap()));
    responses.push(("GetEimPackage eidNotFound".into(), esipa.send_asn1(unknown_eid).unwrap()));
    // A recorded signed result with its last signature byte flipped: refused (provideEimPackageResultError).
    if let Some(e) = exchanges
        .iter()
        .find(|e| e.function == "ProvideEimPackageResult" && e.request.windows(2).any(|w| w == [0xBF, 0x51]))
    {
        let mut tampered = e.request.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 0x01;
        }
        let answer = esipa.send_asn1(tampered).unwrap();
        assert_eq!(answer, [0xBF, 0x50, 0x03, 0x02, 0x01, 0x7F], "undefinedError(127)");
        responses.push(("ProvideEimPackageResult error".into(), answer));
    }
    let other_smdp = tlv::encode_constructed(
        Tag(0xBF39),
        [&tlv::encode(Tag(0x81), &[1; 16])[..], &tlv::encode(Tag(0x83), b"smdp.elsewhere.example")],
    );
    responses.push(("InitiateAuthentication invalidDpAddress".into(), esipa.send_asn1(other_smdp).unwrap()));
    for e in &exchanges {
        let replay = match e.function {
            "authenticateClient" => Some(e.request.clone()),
            "getBoundProfilePackage" => Some(with_other_transaction_id(&e.request)),
            _ => None,
        };
        if let Some(body) = replay {
            responses.push((format!("{} error", e.function), esipa.send_asn1(body).unwrap()));
        }
    }
    if template.is_some() {
        assert!(
            responses.iter().any(|(l, _)| l.starts_with("getBoundProfilePackage answer")),
            "the indirect download ran: {:?}",
            responses.iter().map(|(l, _)| l).collect::<Vec<_>>()
        );
    }
    let labels: Vec<_> = responses.iter().map(|(l, _)| l.clone()).collect();
    match asn1play_check(&responses) {
        None => {}
        Some(problems) => {
            assert!(problems.is_empty(), "{problems:#?}");
            eprintln!("asn1play decoded {} ESipa responses of rspd: {labels:?}", responses.len());
        }
    }
}

#[tokio::test]
async fn json_binding_answers_errors_with_status_codes_never_500() {
    for pg in backends() {
        json_binding_answers_errors_with_status_codes_never_500_on(pg.as_deref()).await;
    }
}

async fn json_binding_answers_errors_with_status_codes_never_500_on(pg: Option<&str>) {
    let env = Env::start(pg);
    let url = |f: &str| format!("https://{}/gsma/rsp2/esipa/{f}", env.address);
    let post = |f: &'static str, body: String| {
        let request = env.client.post(url(f)).header("Content-Type", "application/json").body(body);
        async move {
            let r = request.send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            (status, serde_json::from_str::<serde_json::Value>(&text).unwrap_or(serde_json::Value::Null))
        }
    };
    let codes = |v: &serde_json::Value| {
        let d = &v["header"]["functionExecutionStatus"];
        (
            d["status"].as_str().unwrap_or_default().to_owned(),
            format!(
                "{}/{}",
                d["statusCodeData"]["subjectCode"].as_str().unwrap_or_default(),
                d["statusCodeData"]["reasonCode"].as_str().unwrap_or_default()
            ),
        )
    };
    let unknown = "89049032123451234512345678901235";
    for (function, body, expected) in [
        ("getEimPackage", format!("{{\"eidValue\":\"{unknown}\"}}"), None),
        ("getEimPackage", "{\"eidValue\":\"12AB\"}".to_owned(), Some("8.1.1/2.1")),
        ("getEimPackage", "{}".to_owned(), Some("8.1.1/2.2")),
        ("getEimPackage", "not json".to_owned(), Some("1.6/2.1")),
        ("provideEimPackageResult", "{\"eimPackageResult\":\"***\"}".to_owned(), Some("1.6/2.1")),
        ("provideEimPackageResult", "{\"eimPackageResult\":\"vlEA\"}".to_owned(), Some("1.6/2.1")),
        (
            "initiateAuthentication",
            // An external SM-DP+ not in eim.smdp_allowed_addresses (none by default): refused as an SM-DP+ address
            // this eIM does not serve, before any connection (relay over ES9+: tests/eim_relay.rs).
            "{\"euiccChallenge\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"euiccInfo1\":\"vyAA\",\"smdpAddress\":\"127.0.0.1:1\"}"
                .to_owned(),
            Some("8.8.1/3.8"),
        ),
        (
            "authenticateClient",
            "{\"transactionId\":\"00112233\",\"authenticateServerResponse\":\"vzgA\"}".to_owned(),
            None,
        ),
        ("getBoundProfilePackage", "{\"transactionId\":\"zz\"}".to_owned(), Some("1.6/2.1")),
        ("cancelSession", "{}".to_owned(), Some("1.6/2.2")),
    ] {
        let (status, v) = post(function, body.clone()).await;
        assert_eq!(status, 200, "{function} {body}");
        let (state, code) = codes(&v);
        assert_eq!(state, "Failed", "{function} {body}: {v}");
        if let Some(expected) = expected {
            assert_eq!(code, expected, "{function} {body}: {v}");
        }
    }
    // An unknown (well-formed) EID is eidNotFound 8.1.1/3.9 or, with bad check digits, invalidEid 8.1.1/2.1.
    let (_, v) = post("getEimPackage", format!("{{\"eidValue\":\"{unknown}\"}}")).await;
    assert!(["8.1.1/3.9", "8.1.1/2.1"].contains(&codes(&v).1.as_str()), "{v}");
    assert!(v["eimPackageError"].is_i64(), "{v}");
}

#[test]
fn transfer_eim_package_response_records_the_result() {
    for pg in backends() {
        transfer_eim_package_response_records_the_result_on(pg.as_deref());
    }
}

fn transfer_eim_package_response_records_the_result_on(pg: Option<&str>) {
    let env = Env::start(pg);
    let (mut euicc, eid) = device(&env, Curve::NistP256, false);
    let id = queue(&env, &eid, &["--psmo", "list-profiles"]);
    let esipa = EsipaClient::new(&format!("https://{}", env.address), &anchors(&env), Binding::Asn1).unwrap();
    let Some(rsp_conformance::ipa::EimPackage::EuiccPackageRequest(request)) = esipa.get_eim_package(&eid).unwrap()
    else {
        panic!("a package")
    };
    let result = euicc.load_euicc_package(&request).unwrap();
    // TransferEimPackageResponse `BF4E` (EXPLICIT CHOICE) carrying the euiccPackageResult: answered 204.
    let answer = esipa.send_asn1(tlv::encode(Tag(0xBF4E), &result)).unwrap();
    assert!(answer.is_empty());
    assert_succeeded(&env, &[id]);
}

#[test]
fn issued_test_euiccs_are_distinct_devices_of_one_fleet() {
    for pg in backends() {
        issued_test_euiccs_are_distinct_devices_of_one_fleet_on(pg.as_deref());
    }
}

fn issued_test_euiccs_are_distinct_devices_of_one_fleet_on(pg: Option<&str>) {
    let env = Env::start(pg);
    let mut ids = Vec::new();
    let mut devices = Vec::new();
    for serial in 2..5u64 {
        let credentials =
            rsp_conformance::euicc::EuiccCredentials::issue_from_test_pki(&env.pki(), Curve::NistP256, serial).unwrap();
        let (euicc, eid) = associate(&env, SoftEuicc::new(credentials), false);
        ids.push(queue(&env, &eid, &["--psmo", "list-profiles"]));
        devices.push(ipa(
            &env,
            euicc,
            if serial % 2 == 0 { Binding::Asn1 } else { Binding::Json },
            DownloadMode::Direct,
        ));
    }
    let eids: std::collections::BTreeSet<_> = devices.iter().map(|d| d.euicc().eid().to_owned()).collect();
    assert_eq!(eids.len(), 3, "{eids:?}");
    for device in &mut devices {
        assert_eq!(device.run(3).unwrap().len(), 1);
    }
    assert_succeeded(&env, &ids);
}
