//! The README's eIM acceptance over real HTTPS (issue 6 items 5 and 7): one operator API call queues
//! "download and enable" (`POST /api/v1/eim/orders`, intent `downloadAndEnable` with an activation code of
//! rspd's own SM-DP+) and the conformance IPA driver completes it: ProfileDownloadTriggerRequest → direct
//! download over ES9+ → ProfileDownloadTriggerResult, then — queued only after that succeeded — the enable PSMO
//! with rollbackFlag, in the same IPA run. Both backends; skipped (with a line) without the TS.48 profiles of `../shared`.

use crate::es9_harness::*;
use rsp_conformance::euicc::profiles::ProfileState as EuiccProfileState;
use rsp_conformance::ipa::{Binding, DownloadMode, EsipaClient, Ipa, PollOutcome};
use rsp_conformance::lpa::TrustAnchors;
use rspd::codec::decode;
use rspd::codec::sgp32::{AddInitialEimOkItem, AddInitialEimResponse};
use rspd::pki::Curve;
use serde_json::{json, Value};

fn rspd_ok(env: &Env, args: &[&str]) -> String {
    let out = env.rspd(args);
    assert!(out.status.success(), "rspd {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn operator_client(env: &Env) -> reqwest::blocking::Client {
    let pki = env.pki();
    let mut pem = std::fs::read(pki.operator_client_cert()).unwrap();
    pem.extend(std::fs::read(pki.operator_client_key()).unwrap());
    let ci = std::fs::read(pki.ci_cert(Curve::NistP256)).unwrap();
    reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ci).unwrap())
        .resolve("localhost", env.server.as_ref().unwrap().operator)
        .identity(reqwest::Identity::from_pem(&pem).unwrap())
        .build()
        .unwrap()
}

fn download_and_enable(postgres: Option<&str>, template: &[u8]) {
    let env = Env::start_full(postgres, |_| String::new(), "[eim]\norders_interval_ms = 60000\n");
    let iccid = env.import_profiles(template, 1..2).remove(0);
    let matching_id = env.create_order(&iccid, &[]);

    // The device: registered for the test operator, associated by AddInitialEim.
    let mut euicc = env.euicc(Curve::NistP256);
    let cert = env.dir.path().join("euicc.der");
    std::fs::write(&cert, &euicc.credentials().euicc_cert_der).unwrap();
    let eid = rspd_ok(&env, &["eim", "register", "--cert", cert.to_str().unwrap(), "--operator", "test-operator"])
        .trim()
        .to_owned();
    let cfg = env.dir.path().join("add_initial_eim.der");
    rspd_ok(&env, &["eim", "config", "--eid", &eid, "--out", cfg.to_str().unwrap()]);
    let response = euicc.add_initial_eim(&std::fs::read(&cfg).unwrap()).unwrap();
    let Ok(AddInitialEimResponse::AddInitialEimOk(items)) = decode::<AddInitialEimResponse>(&response) else {
        panic!("AddInitialEim refused");
    };
    let Some(AddInitialEimOkItem::AssociationToken(token)) = items.first() else { panic!("no associationToken") };
    rspd_ok(&env, &["eim", "associate", "--eid", &eid, "--association-token", &token.to_string()]);

    // One API call.
    let op = operator_client(&env);
    let operator_url = |p: &str| env.server.as_ref().unwrap().operator_url(p);
    let body = json!({
        "eid": eid, "intent": "downloadAndEnable", "activationCode": format!("LPA:1${}${matching_id}", env.address),
        "iccid": iccid, "rollback": true,
    });
    let r = op.post(operator_url("/api/v1/eim/orders")).json(&body).send().unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let order: Value = r.json().unwrap();
    assert_eq!(order["steps"][0]["kind"], "profileDownloadTrigger");
    let path = operator_url(&format!("/api/v1/eim/orders/{}", order["orderId"].as_str().unwrap()));

    // The IPA (second terminal in the README) polls until the order is done.
    let mut anchors = TrustAnchors::new();
    anchors.add_file(&env.pki().ci_cert(Curve::NistP256)).unwrap();
    let esipa = EsipaClient::new(&format!("https://{}", env.address), &anchors, Binding::Asn1).unwrap();
    let mut ipa = Ipa::new(euicc, esipa, anchors, DownloadMode::Direct);
    // One IPA run (`rsp-conformance ipa` in the README): the enable is queued as soon as the download's result is
    // recorded (the orders job here runs only once a minute), so the same run finds and executes it.
    let outcomes = ipa.run(10).unwrap();
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert!(matches!(&outcomes[0], PollOutcome::Download { iccid: Ok(i) } if *i == iccid), "{outcomes:?}");
    assert!(matches!(&outcomes[1], PollOutcome::EuiccPackage { .. }), "{outcomes:?}");
    let done: Value = op.get(&path).send().unwrap().json().unwrap();
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["steps"][0]["state"], "succeeded");
    assert_eq!(done["steps"][1]["kind"], "enable");
    assert_eq!(done["steps"][1]["state"], "succeeded");
    let euicc = ipa.into_euicc();
    let installed = euicc.profiles().iter().find(|p| p.iccid == iccid).expect("installed");
    assert_eq!(installed.state, EuiccProfileState::Enabled);
}

#[test]
fn download_and_enable_with_one_api_call_completes_through_the_ipa() {
    let Some(template) = ts48_template() else { return };
    for backend in backends() {
        download_and_enable(backend.as_deref(), &template);
    }
}
