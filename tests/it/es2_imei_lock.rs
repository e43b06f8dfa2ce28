//! The IMEI lock (rspd extension of ES2+ DownloadOrder/ConfirmOrder: `allowedImeis` / `allowedTacs`; CLI
//! `--allowed-imei` / `--allowed-tac`) checked against ctxParams1.deviceInfo in ES9+ AuthenticateClient
//! (SGP.22 v2.5 §5.6.3): allowed, refused (8.2.5/4.3, the session ends, the order stays for the right device) and
//! absent IMEI — with the conformance soft eUICC, on SQLite and PostgreSQL.

use crate::es2_support::*;
use crate::es9_harness::{b64, backend_name, backends, initiate_body, ts48_template, Env};
use rsp_conformance::euicc::SoftEuicc;
use rspd::codec::encode;
use rspd::codec::sgp22::{CtxParams1, CtxParamsForCommonAuthentication, DeviceCapabilities, DeviceInfo};
use rspd::pki::Curve;
use rspd::smdp::device_lock::{encode_imei, encode_tac};
use rspd::smdp::ProfileState;
use serde_json::json;

const ALLOWED_IMEI: &str = "356938035643809";
const OTHER_IMEI: &str = "490154203237518";

fn ctx_params1(matching_id: &str, tac: &str, imei: Option<&str>) -> Vec<u8> {
    encode(&CtxParams1::CtxParamsForCommonAuthentication(CtxParamsForCommonAuthentication {
        matching_id: Some(matching_id.into()),
        device_info: DeviceInfo {
            tac: encode_tac(tac).unwrap().into(),
            device_capabilities: DeviceCapabilities::default(),
            imei: imei.map(|i| encode_imei(i).unwrap().into()),
        },
    }))
    .unwrap()
}

/// InitiateAuthentication + AuthenticateServer with this device, then AuthenticateClient: (transactionId, answer).
async fn authenticate(
    env: &Env,
    euicc: &mut SoftEuicc,
    matching_id: &str,
    tac: &str,
    imei: Option<&str>,
) -> (String, Vec<u8>, serde_json::Value) {
    let (_, ia) = env.post("initiateAuthentication", initiate_body(euicc, &env.address)).await;
    let asr = euicc
        .authenticate_server(
            &b64(&ia, "serverSigned1"),
            &b64(&ia, "serverSignature1"),
            &b64(&ia, "euiccCiPKIdToBeUsed"),
            &b64(&ia, "serverCertificate"),
            &ctx_params1(matching_id, tac, imei),
            &env.address,
        )
        .unwrap();
    let tx = ia["transactionId"].as_str().unwrap().to_owned();
    let (_, ac) = crate::es9_harness::authenticate_client(env, &tx, &asr).await;
    (tx, asr, ac)
}

/// ES2+ DownloadOrder (with the lock) + ConfirmOrder (released) for `iccid`; returns the matchingId.
async fn order(t: &Es2Env, iccid: &str, lock: serde_json::Value) -> String {
    let mut body = json!({ "iccid": iccid });
    for (k, v) in lock.as_object().unwrap() {
        body[k] = v.clone();
    }
    assert_success(&t.a("downloadOrder", body).await);
    let r = t.a("confirmOrder", json!({ "iccid": iccid, "releaseFlag": true })).await;
    assert_success(&r);
    r["matchingId"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticate_client_enforces_the_orders_imei_lock() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let backend = backend_name(&pg);
        let t = Es2Env::start(pg.as_deref());
        let env = &t.env;
        let iccids = import(env, &template, 500..504, OPERATOR_A, "default");
        let lock = json!({ "allowedImeis": [ALLOWED_IMEI] });

        // Allowed IMEI → the download goes on.
        let m = order(&t, &iccids[0], lock.clone()).await;
        let mut euicc = env.euicc(Curve::NistP256);
        let (_, _, ac) = authenticate(env, &mut euicc, &m, "11112222", Some(ALLOWED_IMEI)).await;
        assert_eq!(crate::es9_harness::status(&ac), "Executed-Success", "{backend}: {ac}");

        // Another IMEI → refused with 8.2.5/4.3, the session is over, the order waits for the right device.
        let m = order(&t, &iccids[1], lock.clone()).await;
        let mut euicc = env.euicc(Curve::NistP256);
        let (tx, asr, ac) = authenticate(env, &mut euicc, &m, "49015420", Some(OTHER_IMEI)).await;
        assert_eq!(crate::es9_harness::codes(&ac), ("8.2.5".to_owned(), "4.3".to_owned()), "{backend}: {ac}");
        assert!(ac.to_string().contains("not eligible"), "{ac}");
        assert!(!ac.to_string().contains(OPERATOR_A), "the operator is not named to the device: {ac}");
        let (_, again) = crate::es9_harness::authenticate_client(env, &tx, &asr).await;
        assert_eq!(
            crate::es9_harness::codes(&again),
            ("8.10.1".to_owned(), "3.9".to_owned()),
            "session ended: {again}"
        );
        assert_eq!(env.order_state(&m), ProfileState::Released);
        let mut euicc = env.euicc(Curve::NistP256);
        let (_, _, ac) = authenticate(env, &mut euicc, &m, "35693803", Some(ALLOWED_IMEI)).await;
        assert_eq!(crate::es9_harness::status(&ac), "Executed-Success", "{backend}: the right device still can: {ac}");

        // No IMEI in deviceInfo while the order is IMEI-locked → refused.
        let m = order(&t, &iccids[2], lock).await;
        let mut euicc = env.euicc(Curve::NistP256);
        let (_, _, ac) = authenticate(env, &mut euicc, &m, "35693803", None).await;
        assert_eq!(crate::es9_harness::codes(&ac), ("8.2.5".to_owned(), "4.3".to_owned()), "{backend}: {ac}");

        // A TAC lock from the CLI: that TAC passes (no IMEI needed); the TAC check reads deviceInfo.tac.
        let m = env.create_order(&iccids[3], &["--allowed-tac", "35290611", "--allowed-imei", ALLOWED_IMEI]);
        let mut euicc = env.euicc(Curve::NistP256);
        let (_, _, ac) = authenticate(env, &mut euicc, &m, "99990000", None).await;
        assert_eq!(crate::es9_harness::codes(&ac), ("8.2.5".to_owned(), "4.3".to_owned()), "{backend}: {ac}");
        let mut euicc = env.euicc(Curve::NistP256);
        let (_, _, ac) = authenticate(env, &mut euicc, &m, "35290611", None).await;
        assert_eq!(crate::es9_harness::status(&ac), "Executed-Success", "{backend}: {ac}");

        // A malformed lock is refused at order time.
        let bad = json!({ "iccid": iccids[3], "allowedImeis": ["12345"] });
        assert_failed(&t.a("downloadOrder", bad).await, "1.6", "2.1");
    }
}
