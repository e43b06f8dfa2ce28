//! ES2+.HandleDownloadProgressInfo (SGP.22 v2.5 §5.3.5) end to end: the real `rspd` binary, a download by the
//! soft eUICC, and a mock operator endpoint that requires rspd's client certificate (mutual TLS) and records
//! each call. Covers the notification points in order with their fields, an endpoint that is down for a while
//! (retries, then delivery in order), a restart with undelivered events, one failing ICCID not holding up
//! another, and the operator being told when the confirmation code attempts run out.
//!
//! Every case runs on SQLite and, when `RSPD_TEST_POSTGRES_URL` is set, on PostgreSQL.

use std::time::Duration;

use crate::common::eventually;
use crate::es2_mock::{es2_iccid, points, MockOperator};
use crate::es9_harness::*;
use rspd::pki::Curve;
use rspd::smdp::ProfileState;
use serde_json::Value;

const OPERATOR: &str = rspd::server::TEST_OPERATOR_ID;

fn success(point: u64) -> (u64, String) {
    (point, "Executed-Success".to_owned())
}

/// A whole download of `iccid` (order `matching_id`) by a new soft eUICC; returns its EID.
async fn download(env: &Env, matching_id: &str) -> String {
    let mut euicc = env.euicc(Curve::NistP256);
    let eid = env.credentials(Curve::NistP256).eid;
    let (tx, asr) = initiate(env, &mut euicc, matching_id).await;
    let pdr = prepare(env, &mut euicc, &tx, &asr, None).await;
    let bpp = get_bpp_body(env, &tx, &pdr).await;
    assert_eq!(status(&bpp), "Executed-Success", "{bpp}");
    let installation = euicc.load_bound_profile_package(&b64(&bpp, "boundProfilePackage")).unwrap();
    let pending = euicc.pending_notification_der(installation.seq_number).unwrap().to_vec();
    assert_eq!(handle_notification(env, &pending).await.0, 204);
    wait_for_state(env, matching_id, ProfileState::Installed).await;
    eid
}

/// Undelivered rows in the server's outbox.
fn undelivered(env: &Env) -> usize {
    let store = env.store();
    use rspd::smdp::ProgressOutbox;
    store.progress_backlog(i32::MAX).unwrap().pending as usize
}

#[tokio::test]
async fn a_download_reaches_the_operator_point_by_point() {
    for pg in backends() {
        let scratch = tempfile::tempdir().unwrap();
        let mock = MockOperator::start(scratch.path()).await;
        let env = Env::start_with(pg.as_deref(), |_| {
            format!(
                "{}
[metrics]
listen = \"127.0.0.1:0\"\n",
                mock.config(OPERATOR)
            )
        });
        let metrics_port = env.server.as_ref().unwrap().metrics.expect("metrics listener in the banner").port();
        let Some(iccid) = env.import_profile(1) else { return };
        let matching_id = env.create_order(&iccid, &[]);
        let eid = download(&env, &matching_id).await;

        let calls = mock.wait_accepted(&es2_iccid(&iccid), 3).await;
        assert_eq!(points(&calls), vec![success(1), success(3), success(4)], "{calls:#?}");
        for (i, c) in calls.iter().enumerate() {
            assert_eq!(c["eid"], eid.as_str());
            assert_eq!(c["profileType"].as_str().map(str::is_empty), Some(false), "{c}");
            let ts = c["timestamp"].as_str().unwrap();
            assert!(ts.len() == 20 && ts.ends_with('Z') && &ts[10..11] == "T", "W3C timestamp: {ts}");
            assert_eq!(c["header"]["functionRequesterIdentifier"], "smdp.rspd.test");
            assert!(c["header"]["functionCallIdentifier"].as_str().unwrap().starts_with("rspd-progress-"));
            assert!(c.get("statusCodeData").is_none());
            // Only the installation result carries resultData: the eUICC's ProfileInstallationResult (BF37…).
            assert_eq!(c.get("resultData").is_some(), i == 2, "{c}");
        }
        let pir = base64_decode(calls[2]["resultData"].as_str().unwrap());
        assert_eq!(&pir[..2], &[0xBF, 0x37]);
        let call = mock.calls().into_iter().next().unwrap();
        assert!(call.admin_protocol.unwrap().starts_with("gsma/rsp/v2"));
        assert_eq!(call.content_type.as_deref(), Some("application/json;charset=UTF-8"));
        // No fourth call may follow: a window of 300 ms to see one (an absence has no condition to wait on).
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(mock.calls().len(), 3, "each event once");
        eventually("every event marked delivered", Duration::from_secs(15), || undelivered(&env) == 0).await;
        assert_eq!(undelivered(&env), 0);
        let metrics =
            reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics")).await.unwrap().text().await.unwrap();
        assert!(metrics.contains("rspd_es2_progress_delivered_total{operator=\"test-operator\"} 3"), "{metrics}");
        assert!(metrics.contains("rspd_es2_progress_pending"), "{metrics}");
        mock.stop().await;
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

#[tokio::test]
async fn an_endpoint_down_gets_retries_and_a_restart_loses_nothing() {
    for pg in backends() {
        let scratch = tempfile::tempdir().unwrap();
        let mock = MockOperator::start(scratch.path()).await;
        mock.fail_all(true);
        let mut env = Env::start_with(pg.as_deref(), |_| mock.config(OPERATOR));
        let Some(iccid) = env.import_profile(2) else { return };
        let matching_id = env.create_order(&iccid, &[]);
        download(&env, &matching_id).await;
        let es2 = es2_iccid(&iccid);

        // The first event is retried (backoff 1 s, 2 s); the later ones wait behind it.
        let attempts = mock.wait_attempts(&es2, 2).await;
        assert!(attempts.iter().all(|c| c.body["notificationPointId"] == 1), "in order: {attempts:#?}");
        assert_eq!(undelivered(&env), 3);

        // rspd dies with all three undelivered; the endpoint comes back; a new rspd delivers them in order.
        env.kill_9();
        mock.fail_all(false);
        env.restart();
        let calls = mock.wait_accepted(&es2, 3).await;
        assert_eq!(points(&calls), vec![success(1), success(3), success(4)]);
        // The retried call kept its functionCallIdentifier.
        assert_eq!(calls[0]["header"]["functionCallIdentifier"], attempts[0].body["header"]["functionCallIdentifier"]);
        eventually("every event marked delivered", Duration::from_secs(15), || undelivered(&env) == 0).await;
        assert_eq!(undelivered(&env), 0);
        mock.stop().await;
    }
}

#[tokio::test]
async fn a_failing_iccid_does_not_hold_up_another() {
    for pg in backends() {
        let scratch = tempfile::tempdir().unwrap();
        let mock = MockOperator::start(scratch.path()).await;
        let env = Env::start_with(pg.as_deref(), |_| mock.config(OPERATOR));
        let Some(template) = ts48_template() else { return };
        let iccids = env.import_profiles(&template, 3..5);
        let (stuck, fine) = (es2_iccid(&iccids[0]), es2_iccid(&iccids[1]));
        mock.fail_iccid(&stuck, true);

        let first = env.create_order(&iccids[0], &[]);
        download(&env, &first).await;
        let second = env.create_order(&iccids[1], &[]);
        download(&env, &second).await;

        assert_eq!(points(&mock.wait_accepted(&fine, 3).await), vec![success(1), success(3), success(4)]);
        assert!(mock.accepted(&stuck).is_empty());
        assert!(mock.attempts(&stuck).iter().all(|c| c.body["notificationPointId"] == 1));

        mock.fail_iccid(&stuck, false);
        assert_eq!(points(&mock.wait_accepted(&stuck, 3).await), vec![success(1), success(3), success(4)]);
        mock.stop().await;
    }
}

#[tokio::test]
async fn exhausted_confirmation_code_attempts_tell_the_operator() {
    for pg in backends() {
        let scratch = tempfile::tempdir().unwrap();
        let mock = MockOperator::start(scratch.path()).await;
        let env = Env::start_with(pg.as_deref(), |_| mock.config(OPERATOR));
        let Some(iccid) = env.import_profile(5) else { return };
        let matching_id = env.create_order(&iccid, &["--confirmation-code", "1234"]);
        let mut euicc = env.euicc(Curve::NistP256);
        for _ in 0..3 {
            let (tx, asr) = initiate(&env, &mut euicc, &matching_id).await;
            let pdr = prepare(&env, &mut euicc, &tx, &asr, Some("9999")).await;
            let refused = get_bpp_body(&env, &tx, &pdr).await;
            assert_eq!(codes(&refused).0, "8.2.7");
        }
        assert_eq!(env.order_state(&matching_id), ProfileState::Error);

        // Three eligibility checks passed, three confirmation failures; the last says the order is blocked.
        let calls = mock.wait_accepted(&es2_iccid(&iccid), 6).await;
        let failed = |reason: &str| (2u64, "Failed".to_owned(), reason.to_owned());
        let seen: Vec<(u64, String, String)> = calls
            .iter()
            .map(|c| {
                let s = &c["notificationPointStatus"];
                (
                    c["notificationPointId"].as_u64().unwrap(),
                    s["status"].as_str().unwrap().to_owned(),
                    s["statusCodeData"]["reasonCode"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        let ok = (1u64, "Executed-Success".to_owned(), String::new());
        assert_eq!(seen, vec![ok.clone(), failed("3.8"), ok.clone(), failed("3.8"), ok, failed("6.4")]);
        let last = &calls[5]["notificationPointStatus"]["statusCodeData"];
        assert_eq!(last["subjectCode"], "8.2.7");
        assert!(!last["message"].as_str().unwrap().is_empty());
        let _: &Value = last;
        mock.stop().await;
    }
}

/// An enable/disable/delete notification (`bit` of NotificationEvent) for `iccid`, signed by the eUICC (§3.5).
fn other_notification(env: &Env, iccid: &str, bit: usize, seq: i64) -> Vec<u8> {
    use rasn::types::{Any, BitString, FixedOctetString, OctetString};
    use rspd::codec::sgp22::{Iccid, NotificationMetadata, OtherSignedNotification, PendingNotification, Signature};
    let creds = env.credentials(Curve::NistP256);
    let mut operation = BitString::repeat(false, 4);
    operation.set(bit, true);
    let ef = rspd::profile::Iccid::new(iccid).unwrap().to_ef_iccid();
    let tbs = NotificationMetadata {
        seq_number: seq,
        profile_management_operation: operation,
        notification_address: env.address.as_str().into(),
        iccid: Some(Iccid(FixedOctetString::from(ef))),
    };
    let signature = rspd::pki::ecdsa::sign(&creds.euicc_key, &rspd::codec::encode(&tbs).unwrap()).unwrap();
    rspd::codec::encode(&PendingNotification::OtherSignedNotification(OtherSignedNotification {
        tbs_other_notification: tbs,
        euicc_notification_signature: Signature(OctetString::from(signature.0.to_vec())),
        euicc_certificate: Any::new(creds.euicc_cert_der.clone()),
        eum_certificate: Any::new(creds.eum_cert_der.clone()),
    }))
    .unwrap()
}

#[tokio::test]
async fn cancel_expiry_and_later_notifications_reach_the_operator() {
    for pg in backends() {
        let scratch = tempfile::tempdir().unwrap();
        let mock = MockOperator::start(scratch.path()).await;
        let env = Env::start_with(pg.as_deref(), |_| mock.config(OPERATOR));
        let Some(template) = ts48_template() else { return };
        let iccids = env.import_profiles(&template, 6..8);
        let (iccid, never_downloaded) = (&iccids[0], &iccids[1]);
        let es2 = es2_iccid(iccid);
        let matching_id = env.create_order(iccid, &[]);
        let mut euicc = env.euicc(Curve::NistP256);

        // The end user declines after authenticateClient: CancelSession before the BPP.
        let (tx, asr) = initiate(&env, &mut euicc, &matching_id).await;
        let _ = prepare(&env, &mut euicc, &tx, &asr, None).await;
        let csr = euicc.cancel_session(&hex::decode(&tx).unwrap(), 0).unwrap();
        assert_eq!(cancel(&env, &tx, &csr).await.1["header"]["functionExecutionStatus"]["status"], "Executed-Success");
        mock.wait_accepted(&es2, 2).await;

        // The LPA goes silent: the session times out.
        let (tx, asr) = initiate(&env, &mut euicc, &matching_id).await;
        let _ = prepare(&env, &mut euicc, &tx, &asr, None).await;
        env.expire_session(&tx);
        mock.wait_accepted(&es2, 4).await;

        // A new attempt succeeds; later the device deletes the profile.
        let eid = download(&env, &matching_id).await;
        assert_eq!(handle_notification(&env, &other_notification(&env, iccid, 3, 900)).await.0, 204);
        // A (validly signed) notification about an ICCID this SM-DP+ never delivered to this eUICC tells no one.
        assert_eq!(handle_notification(&env, &other_notification(&env, never_downloaded, 3, 901)).await.0, 204);

        let calls = mock.wait_accepted(&es2, 8).await;
        let seen: Vec<(u64, String, String)> = calls
            .iter()
            .map(|c| {
                let s = &c["notificationPointStatus"];
                let code = format!(
                    "{}/{}",
                    s["statusCodeData"]["subjectCode"].as_str().unwrap_or(""),
                    s["statusCodeData"]["reasonCode"].as_str().unwrap_or("")
                );
                (c["notificationPointId"].as_u64().unwrap(), s["status"].as_str().unwrap().to_owned(), code)
            })
            .collect();
        let p = |id: u64, status: &str, code: &str| (id, status.to_owned(), code.to_owned());
        assert_eq!(
            seen,
            vec![
                p(1, "Executed-Success", "/"),
                p(3, "Failed", "8.1/4.2"),
                p(1, "Executed-Success", "/"),
                p(3, "Expired", "8.10.1/3.9"),
                p(1, "Executed-Success", "/"),
                p(3, "Executed-Success", "/"),
                p(4, "Executed-Success", "/"),
                p(5, "Executed-Success", "/"),
            ]
        );
        assert_eq!(calls[7]["eid"], eid.as_str());
        assert_eq!(&base64_decode(calls[7]["resultData"].as_str().unwrap())[..1], &[0x30]);
        // Nothing may ever be sent for the order never downloaded: 500 ms to see a stray call (an absence has no
        // condition to wait on).
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(mock.attempts(&es2_iccid(never_downloaded)).is_empty());
        mock.stop().await;
    }
}

#[tokio::test]
async fn a_device_refused_by_the_imei_lock_is_reported() {
    for pg in backends() {
        let scratch = tempfile::tempdir().unwrap();
        let mock = MockOperator::start(scratch.path()).await;
        let env = Env::start_with(pg.as_deref(), |_| mock.config(OPERATOR));
        let Some(iccid) = env.import_profile(9) else { return };
        // The harness's device has TAC 35290611 and no IMEI.
        let matching_id = env.create_order(&iccid, &["--allowed-tac", "12345678"]);
        let mut euicc = env.euicc(Curve::NistP256);
        let (tx, asr) = initiate(&env, &mut euicc, &matching_id).await;
        assert_eq!(codes(&authenticate_client_body(&env, &tx, &asr).await), ("8.2.5".into(), "4.3".into()));

        let calls = mock.wait_accepted(&es2_iccid(&iccid), 1).await;
        let status = &calls[0]["notificationPointStatus"];
        assert_eq!((calls[0]["notificationPointId"].as_u64(), status["status"].as_str()), (Some(1), Some("Failed")));
        assert_eq!(
            (status["statusCodeData"]["subjectCode"].as_str(), status["statusCodeData"]["reasonCode"].as_str()),
            (Some("8.2.5"), Some("4.3"))
        );
        assert_eq!(calls[0]["eid"], env.credentials(Curve::NistP256).eid.as_str());
        mock.stop().await;
    }
}
