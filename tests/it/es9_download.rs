//! ES9+ end to end over real HTTPS: the `rspd` binary (test PKI, SQLite or PostgreSQL), operator commands
//! `rspd profile import` / `rspd order create`, and an LPA driven here in JSON (SGP.22 v2.5 §6.5) whose ES10
//! side is the verifying soft eUICC of `rsp-conformance`. NIST and brainpool; the BPP retry; negative cases
//! with their exact status codes; two devices racing for one matchingId.
//!
//! Every case runs on SQLite and, when `RSPD_TEST_POSTGRES_URL` is set, again on PostgreSQL (a throw-away
//! schema per case).

use std::path::Path;
use std::time::Duration;

use crate::es9_harness::*;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rsp_conformance::euicc::{EuiccCredentials, SoftEuicc};
use rspd::pki::test_pki::TestPkiPaths;
use rspd::pki::Curve;
use rspd::smdp::ProfileState;
use serde_json::{json, Value};

/// A whole download on `curve`: the profile ends installed on the eUICC and Installed at the SM-DP+; a
/// retried GetBoundProfilePackage returns the same BPP.
async fn full_download(curve: Curve, postgres: Option<&str>) {
    let env = Env::start(postgres);
    let Some(iccid) = env.import_profile(1) else { return };
    let matching_id = env.create_order(&iccid, &[]);
    assert_eq!(env.order_state(&matching_id), ProfileState::Released);

    let mut euicc = env.euicc(curve);
    let (tx, asr) = initiate(&env, &mut euicc, &matching_id).await;
    let pdr = prepare(&env, &mut euicc, &tx, &asr, None).await;
    let first = get_bpp_body(&env, &tx, &pdr).await;
    assert_eq!(status(&first), "Executed-Success", "{first}");
    assert_eq!(env.order_state(&matching_id), ProfileState::Downloaded);
    // The LPA retries (lost answer): same otPK.EUICC → byte-identical BPP, never a second binding.
    let retry = get_bpp_body(&env, &tx, &pdr).await;
    assert_eq!(retry["boundProfilePackage"], first["boundProfilePackage"]);

    let installation = euicc.load_bound_profile_package(&b64(&first, "boundProfilePackage")).unwrap();
    assert_eq!(installation.result.as_deref().ok(), Some(iccid.as_str()), "{:?}", installation.result);
    let pending = euicc.pending_notification_der(installation.seq_number).unwrap().to_vec();
    let (code, body) = handle_notification(&env, &pending).await;
    assert_eq!((code, body), (204, Value::Null));
    wait_for_state(&env, &matching_id, ProfileState::Installed).await;

    // A repeated notification changes nothing.
    let (code, _) = handle_notification(&env, &pending).await;
    assert_eq!(code, 204);
    // The finished session is gone for the LPA.
    assert_eq!(codes(&get_bpp_body(&env, &tx, &pdr).await), ("8.10.1".into(), "3.9".into()));
    // The repeated notification must change nothing, also once the background worker had its go at it: a
    // window of 300 ms (an absence of change has no condition to wait on).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.order_state(&matching_id), ProfileState::Installed);

    // Issue 10 item 9: at the default level the log shows subscriber identifiers only as keyed digests.
    let log = env.server.as_ref().unwrap().log.lock().unwrap().join("\n");
    let eid = euicc.eid().to_owned();
    for (what, value) in [("ICCID", iccid.as_str()), ("EID", eid.as_str()), ("matchingId", matching_id.as_str())] {
        assert!(!log.contains(value), "{what} {value} in clear in the log:\n{log}");
    }
    assert!(log.contains("order matched"), "{log}");
}

#[tokio::test]
async fn nist_download_end_to_end() {
    for pg in backends() {
        full_download(Curve::NistP256, pg.as_deref()).await;
    }
}

#[tokio::test]
async fn brainpool_download_end_to_end() {
    for pg in backends() {
        full_download(Curve::BrainpoolP256r1, pg.as_deref()).await;
    }
}

#[tokio::test]
async fn negative_cases_have_their_status_codes() {
    for pg in backends() {
        let env = Env::start(pg.as_deref());
        let Some(iccid) = env.import_profile(2) else { return };
        let matching_id = env.create_order(&iccid, &[]);
        let mut euicc = env.euicc(Curve::NistP256);

        // Wrong SM-DP+ address (port is significant).
        let challenge = euicc.get_euicc_challenge().unwrap();
        let info1 = B64.encode(euicc.get_euicc_info1().unwrap());
        let (_, r) = env
            .post(
                "initiateAuthentication",
                json!({ "euiccChallenge": B64.encode(challenge), "euiccInfo1": info1, "smdpAddress": "localhost:1" }),
            )
            .await;
        assert_eq!(codes(&r), ("8.8.1".into(), "3.8".into()));
        // Host case does not matter.
        let (_, r) = env
            .post(
                "initiateAuthentication",
                json!({ "euiccChallenge": B64.encode(challenge), "euiccInfo1": info1,
                        "smdpAddress": env.address.to_uppercase() }),
            )
            .await;
        assert_eq!(status(&r), "Executed-Success", "{r}");

        // Unknown transactionId.
        let r = authenticate_client_body(&env, "00112233445566778899AABBCCDDEEFF", b"\x30\x00").await;
        assert_eq!(codes(&r), ("8.10.1".into(), "3.9".into()));

        // Garbage base64 / JSON: Failed, never a 500.
        let (code, r) =
            env.post("authenticateClient", json!({ "transactionId": "00", "authenticateServerResponse": "%%%" })).await;
        assert_eq!(code, 200);
        assert_eq!(codes(&r).1, "2.1");
        let (code, r) = env.post("getBoundProfilePackage", json!("not an object")).await;
        assert_eq!(code, 200);
        assert_eq!(status(&r), "Failed");

        // Truncated and garbage payloads at every function: a Failed status, never a 500.
        for function in [
            "initiateAuthentication",
            "authenticateClient",
            "getBoundProfilePackage",
            "handleNotification",
            "cancelSession",
        ] {
            for body in [
                json!({ "transactionId": "AABB", "euiccChallenge": "AAAA", "euiccInfo1": "vyA=", "smdpAddress": env.address,
                        "authenticateServerResponse": "vzg=", "prepareDownloadResponse": "vyE=",
                        "pendingNotification": "!!", "cancelSessionResponse": "v0E=" }),
                json!([1, 2, 3]),
            ] {
                let (code, r) = env.post(function, body).await;
                assert_eq!(code, 200, "{function}: {r}");
                assert_eq!(status(&r), "Failed", "{function}: {r}");
            }
        }

        // Bad euiccSignature1: flip one bit of the signature value; the session is then used up.
        let (tx, mut asr) = initiate(&env, &mut euicc, &matching_id).await;
        let at = asr.windows(3).position(|w| w == [0x5F, 0x37, 0x40]).unwrap() + 3;
        asr[at] ^= 1;
        assert_eq!(codes(&authenticate_client_body(&env, &tx, &asr).await), ("8.1".into(), "6.1".into()));
        asr[at] ^= 1;
        assert_eq!(codes(&authenticate_client_body(&env, &tx, &asr).await), ("8.10.1".into(), "3.9".into()));

        // Unknown matchingId.
        let (tx, asr) = initiate(&env, &mut euicc, "NO-SUCH-ORDER").await;
        assert_eq!(codes(&authenticate_client_body(&env, &tx, &asr).await), ("8.2.6".into(), "3.8".into()));

        // An order bound to another EID: "EID doesn't match".
        let other_body = "890490320000000000000000000001";
        let other_eid = eid_from_body(other_body);
        let iccid3 = env.import_profile(3).unwrap();
        let bound = env.create_order(&iccid3, &["--eid", &other_eid]);
        let (tx, asr) = initiate(&env, &mut euicc, &bound).await;
        let r = authenticate_client_body(&env, &tx, &asr).await;
        assert_eq!(codes(&r), ("8.1.1".into(), "3.8".into()));
        assert!(r.to_string().contains("EID doesn't match"), "{r}");

        // Confirmation code: wrong, then right.
        let iccid4 = env.import_profile(4).unwrap();
        let with_cc = env.create_order(&iccid4, &["--confirmation-code", "1234"]);
        let (tx, asr) = initiate(&env, &mut euicc, &with_cc).await;
        let pdr = prepare(&env, &mut euicc, &tx, &asr, Some("9999")).await;
        assert_eq!(codes(&get_bpp_body(&env, &tx, &pdr).await), ("8.2.7".into(), "3.8".into()));
        let mut euicc = env.euicc(Curve::NistP256);
        let (tx, asr) = initiate(&env, &mut euicc, &with_cc).await;
        let pdr = prepare(&env, &mut euicc, &tx, &asr, Some("1234")).await;
        assert_eq!(status(&get_bpp_body(&env, &tx, &pdr).await), "Executed-Success");
        assert_eq!(env.order_state(&with_cc), ProfileState::Downloaded);

        // The first order was never downloaded and is still offered.
        assert_eq!(env.order_state(&matching_id), ProfileState::Released);
        drop(env);
    }
}

/// Two different eUICCs (the SGP.26 NIST eUICC and the test PKI's brainpool one: two EIDs) race for one
/// matchingId: exactly one gets it.
#[tokio::test]
async fn two_devices_racing_for_one_matching_id_one_wins() {
    let sgp26 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/interop/sgp26");
    if !sgp26.join("CertificateIssuer").is_dir() {
        eprintln!("SKIP: SGP.26 certificates not found at {}", sgp26.display());
        return;
    }
    let g = sgp26.display().to_string();
    for pg in backends() {
        // NIST: the SGP.26 DPauth/DPpb and CI; brainpool: the test PKI's.
        let env = Env::start_with(pg.as_deref(), |data| {
            format!(
                "trusted_ci = [\"{g}/CertificateIssuer/CERT_CI_ECDSA_NIST.der\", \"{}\"]\n\
                 nist = {{ dpauth_cert = \"{g}/DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der\", \
                 dpauth_key = \"{g}/DPauth/SK_S_SM_DPauth_ECDSA_NIST.pem\", \
                 dppb_cert = \"{g}/DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der\", \
                 dppb_key = \"{g}/DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem\" }}",
                TestPkiPaths::new(data.join("pki")).ci_cert(Curve::BrainpoolP256r1).display()
            )
        });
        let Some(iccid) = env.import_profile(5) else { return };
        let matching_id = env.create_order(&iccid, &[]);
        let mut a = SoftEuicc::new(EuiccCredentials::from_sgp26_dir(&sgp26, Curve::NistP256).unwrap());
        let mut b = env.euicc(Curve::BrainpoolP256r1);
        assert_ne!(a.eid(), b.eid());
        let (tx_a, asr_a) = initiate(&env, &mut a, &matching_id).await;
        let (tx_b, asr_b) = initiate(&env, &mut b, &matching_id).await;
        let (ra, rb) =
            tokio::join!(authenticate_client_body(&env, &tx_a, &asr_a), authenticate_client_body(&env, &tx_b, &asr_b));
        let wins = [&ra, &rb].iter().filter(|r| status(r) == "Executed-Success").count();
        assert_eq!(wins, 1, "exactly one winner:\n{ra}\n{rb}");
        let loser = if status(&ra) == "Executed-Success" { &rb } else { &ra };
        assert_eq!(codes(loser), ("8.2".into(), "1.2".into()));
    }
}

/// An LPA that lost its session starts over at once; a second otPK for a bound profile is refused;
/// cancelSession before the BPP re-offers the order.
#[tokio::test]
async fn restart_other_otpk_and_cancel_session() {
    for pg in backends() {
        let env = Env::start(pg.as_deref());
        let Some(iccid) = env.import_profile(6) else { return };
        let matching_id = env.create_order(&iccid, &[]);
        let mut euicc = env.euicc(Curve::NistP256);

        // Session 1 gets as far as AuthenticateClient, then the LPA loses it.
        let (tx1, asr1) = initiate(&env, &mut euicc, &matching_id).await;
        let _ = prepare(&env, &mut euicc, &tx1, &asr1, None).await;
        // Session 2 of the same eUICC takes the order over.
        let (tx2, asr2) = initiate(&env, &mut euicc, &matching_id).await;
        let ac = authenticate_client_body(&env, &tx2, &asr2).await;
        assert_eq!(status(&ac), "Executed-Success", "{ac}");
        let fields = (b64(&ac, "smdpSigned2"), b64(&ac, "smdpSignature2"), b64(&ac, "smdpCertificate"));
        let pdr = euicc.prepare_download(&fields.0, &fields.1, &fields.2, None).unwrap();
        assert_eq!(status(&get_bpp_body(&env, &tx2, &pdr).await), "Executed-Success");
        // The abandoned session is over.
        assert_eq!(codes(&get_bpp_body(&env, &tx1, &pdr).await), ("8.10.1".into(), "3.9".into()));
        // A second PrepareDownload (new otPK.EUICC) for the same transaction: never a second binding.
        if let Ok(pdr2) = euicc.prepare_download(&fields.0, &fields.1, &fields.2, None) {
            assert_ne!(pdr2, pdr);
            assert_eq!(codes(&get_bpp_body(&env, &tx2, &pdr2).await), ("8.2".into(), "3.7".into()));
        }

        // cancelSession (postponed) after AuthenticateClient: the order is offered again.
        let iccid7 = env.import_profile(7).unwrap();
        let second = env.create_order(&iccid7, &[]);
        let mut euicc = env.euicc(Curve::BrainpoolP256r1);
        let (tx, asr) = initiate(&env, &mut euicc, &second).await;
        let _ = prepare(&env, &mut euicc, &tx, &asr, None).await;
        let csr = euicc.cancel_session(&hex::decode(&tx).unwrap(), 1).unwrap();
        let (_, r) = cancel(&env, &tx, &csr).await;
        assert_eq!(status(&r), "Executed-Success", "{r}");
        let order = env.order(&second);
        assert_eq!((order.state, order.session_id), (ProfileState::Released, None));
        let (_, r) = cancel(&env, &tx, &csr).await;
        assert_eq!(codes(&r), ("8.10.1".into(), "3.9".into()));
        // And it downloads afterwards.
        let mut euicc = env.euicc(Curve::NistP256);
        let (tx, asr) = initiate(&env, &mut euicc, &second).await;
        let pdr = prepare(&env, &mut euicc, &tx, &asr, None).await;
        assert_eq!(status(&get_bpp_body(&env, &tx, &pdr).await), "Executed-Success");
    }
}
