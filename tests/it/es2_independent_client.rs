//! Acceptance: an ES2+ client written from the spec, not from rspd (`conformance/py/es2_client.py`, Python stdlib),
//! places DownloadOrder + ConfirmOrder over mutual TLS; the activation code it prints downloads with the
//! conformance soft eUICC + LPA; the profile ends Installed. SQLite and PostgreSQL. Skipped (with a printed reason)
//! without `python3` or the TS.48 template.
//!
//! The operator's ES2+ endpoint (a mock requiring rspd's client certificate) receives HandleDownloadProgressInfo
//! (§5.3.5) for the download, point by point and in order.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::es2_support::*;
use crate::es9_harness::{backend_name, backends, ts48_template};
use rsp_conformance::lpa::{download_profile, ActivationCode, DownloadRequest, Es9Client, Es9Options, TrustAnchors};
use rspd::pki::Curve;
use rspd::smdp::ProfileState;

fn python3() -> Option<&'static str> {
    match Command::new("python3").arg("--version").output() {
        Ok(out) if out.status.success() => Some("python3"),
        _ => {
            eprintln!("SKIP: python3 not found; the independent ES2+ client cannot run");
            None
        }
    }
}

#[test]
fn an_independent_es2_client_orders_and_the_soft_euicc_installs_the_profile() {
    let Some(python) = python3() else { return };
    let Some(template) = ts48_template() else { return };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/py/es2_client.py");
    for pg in backends() {
        let backend = backend_name(&pg);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let mock = runtime.block_on(crate::es2_mock::MockOperator::start(scratch.path()));
        let t = Es2Env::start_with(pg.as_deref(), |_| mock.config(OPERATOR_A));
        let env = &t.env;
        let iccids = import(env, &template, 600..601, OPERATOR_A, "iot-fleet");
        let pki = env.pki();
        let operator_port = env.server.as_ref().unwrap().operator.port();

        // The independent client: DownloadOrder by profile type, ConfirmOrder with releaseFlag.
        let out = Command::new(python)
            .arg(&script)
            .args(["--host", "localhost", "--port", &operator_port.to_string()])
            .arg("--ca")
            .arg(pki.ci_cert(Curve::NistP256))
            .arg("--cert")
            .arg(pki.operator_client_cert())
            .arg("--key")
            .arg(pki.operator_client_key())
            .args(["--profile-type", "iot-fleet"])
            .output()
            .expect("run es2_client.py");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{backend}: es2_client.py failed: {stderr}");
        let code = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        assert!(stderr.contains(&iccids[0]), "{backend}: ordered {}: {stderr}", iccids[0]);
        let ac = ActivationCode::parse(&code).unwrap_or_else(|e| panic!("{backend}: `{code}`: {e}"));
        assert_eq!(ac.smdp_address, env.address, "{backend}");
        assert_eq!(env.order_state(&ac.matching_id), ProfileState::Released, "{backend}");

        // The soft eUICC + LPA download with that activation code (ES9+ on the device listener).
        let mut euicc = env.euicc(Curve::NistP256);
        let euicc_eid = env.credentials(Curve::NistP256).eid;
        let mut anchors = TrustAnchors::new();
        anchors.add_file(&pki.ci_cert(Curve::NistP256)).unwrap();
        let options = Es9Options {
            resolve: Some(("localhost".to_owned(), env.server.as_ref().unwrap().device)),
            ..Es9Options::default()
        };
        let es9 = Es9Client::new(&ac.smdp_address, &anchors, options).unwrap();
        let request = DownloadRequest { matching_id: ac.matching_id.clone(), ..DownloadRequest::default() };
        let report = download_profile(&mut euicc, &es9, &request).unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(report.iccid, iccids[0], "{backend}");

        // The PIR (handleNotification) is processed in the background: wait for Installed.
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let state = env.order_state(&ac.matching_id);
            if state == ProfileState::Installed {
                break;
            }
            assert!(Instant::now() < deadline, "{backend}: profile stayed {state}");
            std::thread::sleep(Duration::from_millis(50));
        }

        // The operator was told, in order: eligibility check passed (1), BPP downloaded (3), BPP installed (4).
        let calls = runtime.block_on(mock.wait_accepted(&crate::es2_mock::es2_iccid(&iccids[0]), 3));
        assert_eq!(
            crate::es2_mock::points(&calls),
            [1, 3, 4].map(|p| (p, "Executed-Success".to_owned())),
            "{backend}: {calls:#?}"
        );
        assert!(calls.iter().all(|c| c["eid"] == euicc_eid && c["profileType"] == "iot-fleet"), "{backend}");
        runtime.block_on(mock.stop());
    }
}
