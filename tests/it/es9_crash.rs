//! Process-level robustness of ES9+ (SGP.22 v2.5 §3.1.2–§3.1.3, §5.6), on the real `rspd serve` binary over HTTPS:
//!
//! - SIGKILL between every pair of download steps and a restart on the same data dir / database: the LPA's next
//!   step (same transactionId) finishes, a retried GetBoundProfilePackage returns the same BPP bytes, a
//!   notification answered 204 is processed after the restart, and a session that timed out while the server was
//!   down is expired and its order re-offered.
//! - Two eUICCs (two EIDs under the test EUM) racing AuthenticateClient for one matchingId: exactly one wins.
//!
//! SQLite always; PostgreSQL too when `RSPD_TEST_POSTGRES_URL` is set.

use crate::es9_harness::*;
use rsp_conformance::euicc::SoftEuicc;
use rspd::pki::Curve;
use rspd::smdp::{DownloadRepository, ProfileState};

/// Kill -9 after each step; the LPA carries on with what it received.
async fn crash_between_steps(pg: Option<&str>, template: &[u8]) {
    let mut env = Env::start(pg);
    let iccids = env.import_profiles(template, 200..203);
    let order = env.create_order(&iccids[0], &[]);
    let mut euicc = env.euicc(Curve::NistP256);

    let (tx, asr) = initiate(&env, &mut euicc, &order).await;
    env.kill_9();
    env.restart();
    // After InitiateAuthentication: the session (serverChallenge) survived.
    let (code, ac) = authenticate_client(&env, &tx, &asr).await;
    assert_eq!(outcome(code, &ac), "Executed-Success", "{ac}");
    assert_eq!(env.order(&order).session_id.as_deref(), Some(tx.as_str()));
    env.kill_9();
    env.restart();
    // After AuthenticateClient: the binding to the order and smdpSignature2 survived.
    let pdr = prepare_with(&mut euicc, &ac, None);
    let (code, first) = get_bpp(&env, &tx, &pdr).await;
    assert_eq!(outcome(code, &first), "Executed-Success", "{first}");
    assert_eq!(env.order_state(&order), ProfileState::Downloaded);
    env.kill_9();
    env.restart();
    // After GetBoundProfilePackage: a retry (lost answer) gets the same BPP bytes, never a second binding.
    let (code, retry) = get_bpp(&env, &tx, &pdr).await;
    assert_eq!(outcome(code, &retry), "Executed-Success", "{retry}");
    assert_eq!(retry["boundProfilePackage"], first["boundProfilePackage"], "same BPP after a restart");
    let installation = euicc.load_bound_profile_package(&b64(&retry, "boundProfilePackage")).unwrap();
    assert_eq!(installation.result.as_deref().ok(), Some(iccids[0].as_str()), "{:?}", installation.result);
    // After HandleNotification answered 204: killed at once, the stored notification is processed after restart.
    let pending = euicc.pending_notification_der(installation.seq_number).unwrap().to_vec();
    assert_eq!(outcome(handle_notification(&env, &pending).await.0, &serde_json::Value::Null), "HTTP 204");
    env.kill_9();
    env.restart();
    wait_for_state(&env, &order, ProfileState::Installed).await;
    assert_eq!(outcome_of(get_bpp(&env, &tx, &pdr).await), "Failed 8.10.1/3.9");

    // Answered 204, killed before processing: the inbox row (what the handler stores before answering) is
    // processed by the restarted server.
    let order = env.create_order(&iccids[1], &[]);
    let mut euicc = env.euicc(Curve::BrainpoolP256r1);
    let (tx, asr) = initiate(&env, &mut euicc, &order).await;
    let pdr = prepare(&env, &mut euicc, &tx, &asr, None).await;
    let (_, bpp) = get_bpp(&env, &tx, &pdr).await;
    let installation = euicc.load_bound_profile_package(&b64(&bpp, "boundProfilePackage")).unwrap();
    let pending = euicc.pending_notification_der(installation.seq_number).unwrap().to_vec();
    env.kill_9();
    env.store().insert_notification(&pending).unwrap();
    assert_eq!(env.order_state(&order), ProfileState::Downloaded);
    env.restart();
    wait_for_state(&env, &order, ProfileState::Installed).await;
    assert!(env.store().unprocessed_notifications(10).unwrap().is_empty(), "inbox drained");

    // The LPA lost the AuthenticateClient answer in the crash: its retry finds the challenge used and it starts
    // over; the same eUICC's new session takes the order over and finishes.
    let order = env.create_order(&iccids[2], &[]);
    let mut euicc = env.euicc(Curve::NistP256);
    let (tx, asr) = initiate(&env, &mut euicc, &order).await;
    let _ = authenticate_client(&env, &tx, &asr).await;
    env.kill_9();
    env.restart();
    assert_eq!(outcome_of(authenticate_client(&env, &tx, &asr).await), "Failed 8.10.1/3.9");
    let (tx, asr) = initiate(&env, &mut euicc, &order).await;
    let pdr = prepare(&env, &mut euicc, &tx, &asr, None).await;
    assert_eq!(outcome_of(get_bpp(&env, &tx, &pdr).await), "Executed-Success");
}

/// A session that times out while the server is down: after the restart it is expired, the order is re-offered
/// and a fresh download succeeds.
async fn crash_then_session_expires(pg: Option<&str>, template: &[u8]) {
    let mut env = Env::start(pg);
    let iccid = env.import_profiles(template, 210..211).remove(0);
    let order = env.create_order(&iccid, &[]);
    let mut euicc = env.euicc(Curve::NistP256);
    let (tx, asr) = initiate(&env, &mut euicc, &order).await;
    let pdr = prepare(&env, &mut euicc, &tx, &asr, None).await;
    env.kill_9();
    // The timeout (≥ 60 s by configuration) runs out while the server is down.
    env.expire_session(&tx);
    env.restart();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while env.order(&order).session_id.is_some() {
        assert!(std::time::Instant::now() < deadline, "the expiry job never released the order");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let session = env.store().find_session(&tx).unwrap().unwrap();
    assert_eq!(session.state.as_str(), "expired");
    assert_eq!(env.order_state(&order), ProfileState::Released);
    assert_eq!(outcome_of(get_bpp(&env, &tx, &pdr).await), "Failed 8.10.1/3.9");

    let mut euicc = env.euicc(Curve::NistP256);
    let (tx, asr) = initiate(&env, &mut euicc, &order).await;
    let pdr = prepare(&env, &mut euicc, &tx, &asr, None).await;
    let (_, bpp) = get_bpp(&env, &tx, &pdr).await;
    let installation = euicc.load_bound_profile_package(&b64(&bpp, "boundProfilePackage")).unwrap();
    let pending = euicc.pending_notification_der(installation.seq_number).unwrap().to_vec();
    assert_eq!(handle_notification(&env, &pending).await.0, 204);
    wait_for_state(&env, &order, ProfileState::Installed).await;
}

fn outcome_of(r: (u16, serde_json::Value)) -> String {
    outcome(r.0, &r.1)
}

#[tokio::test]
async fn sigkill_between_every_step_loses_nothing() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        eprintln!("backend {}", backend_name(&pg));
        crash_between_steps(pg.as_deref(), &template).await;
    }
}

#[tokio::test]
async fn session_expired_during_a_crash_is_reoffered() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        eprintln!("backend {}", backend_name(&pg));
        crash_then_session_expires(pg.as_deref(), &template).await;
    }
}

/// Two eUICCs with different EIDs (the test PKI's and one crafted under the same EUM) race AuthenticateClient
/// for one matchingId, five rounds: exactly one wins each time and the other gets "profile not available".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_euiccs_race_for_one_matching_id() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let env = Env::start(pg.as_deref());
        let iccids = env.import_profiles(&template, 220..225);
        let other_eid = eid_from_body("899999990000000000000000000555");
        for (round, iccid) in iccids.iter().enumerate() {
            let order = env.create_order(iccid, &[]);
            let mut a = env.euicc(Curve::NistP256);
            let mut b = SoftEuicc::new(euicc_with_eid(&env.pki(), Curve::NistP256, &other_eid));
            assert_ne!(a.eid(), b.eid());
            let (tx_a, asr_a) = initiate(&env, &mut a, &order).await;
            let (tx_b, asr_b) = initiate(&env, &mut b, &order).await;
            let (ra, rb) = if round % 2 == 0 {
                tokio::join!(authenticate_client(&env, &tx_a, &asr_a), authenticate_client(&env, &tx_b, &asr_b))
            } else {
                let (rb, ra) =
                    tokio::join!(authenticate_client(&env, &tx_b, &asr_b), authenticate_client(&env, &tx_a, &asr_a));
                (ra, rb)
            };
            let (oa, ob) = (outcome(ra.0, &ra.1), outcome(rb.0, &rb.1));
            let wins = [&oa, &ob].iter().filter(|o| o.as_str() == "Executed-Success").count();
            assert_eq!(wins, 1, "round {round}: exactly one winner:\n{}\n{}", ra.1, rb.1);
            let (winner_tx, winner, loser) =
                if oa == "Executed-Success" { (&tx_a, &ra, &rb) } else { (&tx_b, &rb, &ra) };
            assert_eq!(outcome(loser.0, &loser.1), "Failed 8.2/1.2", "{}", loser.1);
            assert!(loser.1.to_string().contains("another device"), "{}", loser.1);
            let o = env.order(&order);
            assert_eq!(o.session_id.as_deref(), Some(winner_tx.as_str()), "round {round}");
            assert_eq!(winner.1["transactionId"], winner_tx.as_str());
            eprintln!(
                "[{}] round {round}: {} won",
                backend_name(&pg),
                if oa == "Executed-Success" { "A" } else { "B" }
            );
        }
    }
}
