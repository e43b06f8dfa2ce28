//! The LPA (SGP.22 v2.5 §3.1.3) end to end over HTTPS: the ES9+ JSON client (§6.5.2) and the soft eUICC against a
//! mock SM-DP+ on 127.0.0.1 (both curves), the lpac-style variant, Failed statuses as typed errors, the
//! confirmation code, and the `rsp-conformance` binary.

mod support;

use std::process::Command;

use rsp_conformance::euicc::{Es10Error, EuiccCredentials, SoftEuicc};
use rsp_conformance::lpa::download::StepFailure;
use rsp_conformance::lpa::{
    download_profile, ActivationCode, DownloadError, DownloadReport, DownloadRequest, Es9Client, Es9Error, Es9Function,
    Es9Options, Step, TrustAnchors,
};
use rsp_proto::codec::decode;
use rsp_proto::codec::sgp22::{CancelSessionResponse, FinalResult, PendingNotification};
use rsp_proto::pki::test_pki::TestPkiPaths;
use rsp_proto::pki::Curve;
use rsp_proto::profile::Iccid;
use support::es9_mock::MockEs9;
use support::{synthetic_profile, ADDRESS};

const ICCID: &str = "89000123456789012341";
const MATCHING_ID: &str = "QR-G-5C-1LS-1W1Z9P7";

struct Setup {
    dir: tempfile::TempDir,
    paths: TestPkiPaths,
    euicc: SoftEuicc,
    server: MockEs9,
}

fn setup(curve: Curve, host: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (credentials, paths) = EuiccCredentials::generate(&dir.path().join("pki"), curve, &[ADDRESS.into()]).unwrap();
    let server = MockEs9::start(&paths, curve, host, MATCHING_ID, ICCID);
    Setup { dir, paths, euicc: SoftEuicc::new(credentials), server }
}

/// Trusts only the test CI whose DP TLS certificate the mock serves (NIST; rustls has no brainpool TLS).
fn client(s: &Setup, options: Es9Options) -> Es9Client {
    let mut anchors = TrustAnchors::new();
    anchors.add_file(&s.paths.ci_cert(Curve::NistP256)).unwrap();
    Es9Client::new(&s.server.address, &anchors, options).unwrap()
}

fn request(cc: Option<&str>) -> DownloadRequest {
    DownloadRequest {
        matching_id: MATCHING_ID.into(),
        confirmation_code: cc.map(str::to_string),
        ..DownloadRequest::default()
    }
}

fn check_success(s: &Setup, report: &DownloadReport) {
    assert_eq!(report.iccid, ICCID);
    assert_eq!(report.profile_package, synthetic_profile(&Iccid::new(ICCID).unwrap()));
    let steps: Vec<Step> = report.steps.iter().map(|r| r.step).collect();
    assert_eq!(
        steps,
        [
            Step::GetEuiccInfo1,
            Step::GetEuiccChallenge,
            Step::InitiateAuthentication,
            Step::AuthenticateServer,
            Step::AuthenticateClient,
            Step::PrepareDownload,
            Step::GetBoundProfilePackage,
            Step::LoadBoundProfilePackage,
            Step::HandleNotification,
            Step::RemoveNotification,
        ]
    );
    assert!(report.steps.iter().all(|r| !r.verified.is_empty()));
    assert_eq!(s.euicc.profiles().len(), 1);
    assert!(s.euicc.list_notifications().is_empty(), "the delivered PIR is removed");
    s.server.with_state(|st| {
        assert_eq!(st.notifications.len(), 1);
        let PendingNotification::ProfileInstallationResult(pir) =
            decode::<PendingNotification>(&st.notifications[0]).unwrap()
        else {
            panic!("not a PIR")
        };
        assert!(matches!(pir.profile_installation_result_data.final_result, FinalResult::SuccessResult(_)));
        assert!(st.cancel_session_responses.is_empty());
        let functions: Vec<&str> = st.requests.iter().map(|r| r.function.as_str()).collect();
        assert_eq!(
            functions,
            ["initiateAuthentication", "authenticateClient", "getBoundProfilePackage", "handleNotification"]
        );
        for r in &st.requests {
            assert_eq!(r.user_agent.as_deref(), Some("gsma-rsp-lpad"));
            assert!(r.content_type.as_deref().unwrap_or_default().starts_with("application/json"));
        }
        assert_eq!(st.requests[0].body["smdpAddress"], s.server.address.as_str());
    });
}

#[test]
fn downloads_over_https_on_both_curves() {
    for curve in Curve::ALL {
        let mut s = setup(curve, "127.0.0.1");
        let es9 = client(&s, Es9Options::default());
        let report = download_profile(&mut s.euicc, &es9, &request(None)).unwrap_or_else(|e| panic!("{curve}: {e}"));
        check_success(&s, &report);
        s.server.with_state(|st| {
            for r in &st.requests {
                assert_eq!(r.admin_protocol.as_deref(), Some("gsma/rsp/v2.5.0"));
                assert!(r.json_header, "{}: JSON header expected", r.function);
                // transactionId is hex text (§6.5.1.2).
                if let Some(t) = r.body.get("transactionId") {
                    assert!(hex::decode(t.as_str().unwrap()).is_ok());
                }
            }
        });
    }
}

#[test]
fn lpac_style_requests_v2_2_2_no_json_header_address_with_port() {
    let mut s = setup(Curve::NistP256, "localhost");
    assert!(s.server.address.starts_with("localhost:"));
    let code = ActivationCode::parse(&format!("LPA:1${}${MATCHING_ID}", s.server.address)).unwrap();
    let es9 = client(&s, Es9Options::lpac());
    assert_eq!(
        es9.url(Es9Function::HandleNotification),
        format!("https://{}/gsma/rsp2/es9plus/handleNotification", code.smdp_address)
    );
    let report = download_profile(&mut s.euicc, &es9, &request(None)).unwrap();
    check_success(&s, &report);
    s.server.with_state(|st| {
        for r in &st.requests {
            assert_eq!(r.admin_protocol.as_deref(), Some("gsma/rsp/v2.2.2"));
            assert!(!r.json_header, "{}: no JSON header expected", r.function);
        }
        assert_eq!(st.requests[0].body["smdpAddress"], code.smdp_address.as_str());
    });
}

#[test]
fn a_failed_status_is_a_typed_error_with_its_codes() {
    let mut s = setup(Curve::NistP256, "127.0.0.1");
    s.server.with_state(|st| {
        st.fail_on = Some(("authenticateClient".into(), "8.1.1".into(), "3.8".into(), "EID refused".into()))
    });
    let es9 = client(&s, Es9Options::default());
    let e: Box<DownloadError> = download_profile(&mut s.euicc, &es9, &request(None)).unwrap_err();
    assert_eq!(e.step, Step::AuthenticateClient);
    let StepFailure::Es9(Es9Error::Failed { function, status_code_data }) = &e.failure else {
        panic!("expected Failed, got {:?}", e.failure)
    };
    assert_eq!(*function, Es9Function::AuthenticateClient);
    assert_eq!(status_code_data.subject_code, "8.1.1");
    assert_eq!(status_code_data.reason_code, "3.8");
    assert_eq!(status_code_data.message.as_deref(), Some("EID refused"));
    assert_eq!(e.failure.status_code(), "8.1.1/3.8");
    assert!(e.cancel_session.is_none(), "the SM-DP+ ended the session itself");
    assert_eq!(e.steps.len(), 4, "info1, challenge, initiateAuthentication, authenticateServer");
}

#[test]
fn a_wrong_smdp_address_is_refused_by_the_server_with_8_8_1_3_8() {
    let mut s = setup(Curve::NistP256, "127.0.0.1");
    s.server.with_state(|st| st.sim.address = "other.example:8443".into());
    let es9 = client(&s, Es9Options::default());
    let e = download_profile(&mut s.euicc, &es9, &request(None)).unwrap_err();
    assert_eq!(e.step, Step::InitiateAuthentication);
    assert_eq!(e.failure.status_code(), "8.8.1/3.8");
}

#[test]
fn a_non_2xx_answer_is_a_transport_error() {
    let mut s = setup(Curve::NistP256, "127.0.0.1");
    s.server.with_state(|st| st.http_status_on = Some(("getBoundProfilePackage".into(), 503)));
    let es9 = client(&s, Es9Options::default());
    let e = download_profile(&mut s.euicc, &es9, &request(None)).unwrap_err();
    assert_eq!(e.step, Step::GetBoundProfilePackage);
    assert!(matches!(&e.failure, StepFailure::Es9(Es9Error::HttpStatus { status: 503, .. })), "{e}");
    assert_eq!(e.failure.status_code(), "HTTP 503");
}

#[test]
fn an_untrusted_tls_certificate_is_a_transport_error() {
    let mut s = setup(Curve::NistP256, "127.0.0.1");
    // Trust only another test PKI's CI: the mock's DP TLS certificate does not chain to it.
    let other = tempfile::tempdir().unwrap();
    let (_, other_paths) = EuiccCredentials::generate(&other.path().join("pki"), Curve::NistP256, &[]).unwrap();
    let mut anchors = TrustAnchors::new();
    anchors.add_file(&other_paths.ci_cert(Curve::NistP256)).unwrap();
    let es9 = Es9Client::new(&s.server.address, &anchors, Es9Options::default()).unwrap();
    let e = download_profile(&mut s.euicc, &es9, &request(None)).unwrap_err();
    assert!(matches!(e.failure, StepFailure::Es9(Es9Error::Transport { .. })), "{e}");
    assert!(s.server.with_state(|st| st.requests.is_empty()));
}

#[test]
fn confirmation_code_is_hashed_and_checked_and_its_absence_cancels_the_session() {
    // With the code: hashCc reaches the SM-DP+ and matches.
    let mut s = setup(Curve::NistP256, "127.0.0.1");
    s.server.with_state(|st| st.confirmation_code = Some("7913".into()));
    let es9 = client(&s, Es9Options::default());
    let report = download_profile(&mut s.euicc, &es9, &request(Some("7913"))).unwrap();
    assert!(report.steps.iter().any(|r| r.verified.iter().any(|v| v.contains("hashCc"))));

    // Without it: the LPA stops at PrepareDownload and cancels with endUserRejection.
    let mut s = setup(Curve::NistP256, "127.0.0.1");
    s.server.with_state(|st| st.confirmation_code = Some("7913".into()));
    let es9 = client(&s, Es9Options::default());
    let e = download_profile(&mut s.euicc, &es9, &request(None)).unwrap_err();
    assert_eq!(e.step, Step::PrepareDownload);
    assert!(matches!(e.failure, StepFailure::Es10(Es10Error::ConfirmationCodeRequired)));
    assert!(matches!(e.cancel_session, Some(Ok(()))));
    s.server.with_state(|st| {
        assert_eq!(st.cancel_session_responses.len(), 1);
        let CancelSessionResponse::CancelSessionResponseOk(ok) = decode(&st.cancel_session_responses[0]).unwrap()
        else {
            panic!("not cancelSessionResponseOk")
        };
        assert_eq!(ok.euicc_cancel_session_signed.reason, 0);
        assert_eq!(*ok.euicc_cancel_session_signed.transaction_id.0, *st.sim.transaction_id);
    });

    // A wrong code: the SM-DP+ refuses GetBoundProfilePackage.
    let mut s = setup(Curve::NistP256, "127.0.0.1");
    s.server.with_state(|st| st.confirmation_code = Some("7913".into()));
    let es9 = client(&s, Es9Options::default());
    let e = download_profile(&mut s.euicc, &es9, &request(Some("0000"))).unwrap_err();
    assert_eq!(e.step, Step::GetBoundProfilePackage);
    assert_eq!(e.failure.status_code(), "8.2.7/2.2");
}

#[test]
fn cli_downloads_and_writes_the_profile_then_reports_a_failure_in_one_line() {
    let s = setup(Curve::NistP256, "127.0.0.1");
    let out = s.dir.path().join("profile.der");
    let run = |matching_id: &str, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rsp-conformance"))
            .arg("download")
            .args(["--activation-code", &format!("LPA:1${}${matching_id}", s.server.address)])
            .arg("--euicc-dir")
            .arg(s.paths.root())
            .args(["--curve", "nist", "--admin-protocol", "2.2.2", "--no-json-header"])
            .arg("--ca")
            .arg(s.paths.ci_cert(Curve::NistP256))
            .args(extra)
            .output()
            .unwrap()
    };
    let ok = run(MATCHING_ID, &["--out", out.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&ok.stderr));
    assert!(stdout.contains("ES10b.AuthenticateServer") && stdout.contains("serverSignature1 verifies"), "{stdout}");
    assert!(stdout.contains(&format!("ICCID {ICCID} installed")), "{stdout}");
    assert_eq!(std::fs::read(&out).unwrap(), synthetic_profile(&Iccid::new(ICCID).unwrap()));
    s.server.with_state(|st| {
        assert!(st.requests.iter().all(|r| r.admin_protocol.as_deref() == Some("gsma/rsp/v2.2.2") && !r.json_header))
    });

    // A new session on the same mock with a matching ID it does not know: 8.2.6/3.8, exit status 1.
    let bad = run("UNKNOWN-ID", &["--out", out.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{stdout}");
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.starts_with("FAILED at ES9+.AuthenticateClient [8.2.6/3.8]"), "{last}");

    // A malformed activation code: usage error, exit status 2.
    let usage = Command::new(env!("CARGO_BIN_EXE_rsp-conformance"))
        .args(["download", "--activation-code", "LPA:2$x$y", "--euicc-dir"])
        .arg(s.paths.root())
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("format `2`"));
}
