//! What ES9+ AuthenticateClient (SGP.22 v2.5 §5.6.3) costs the store (issue 11 item 1): one read phase and one
//! write transaction, whether it binds the order, is refused with the order known (IMEI lock: the operator's
//! refusal event goes in that transaction), is refused without one (unknown matchingId), or loses the order to
//! another device in the write itself. An unknown transactionId writes nothing. On SQLite and PostgreSQL.
//! GetBoundProfilePackage, the ProfileInstallationResult and CancelSession likewise: one read, one write.
//!
//! The server process of the ES9+ harness arranges profiles, orders and sessions; the step itself runs here, in
//! process, against a [`Store`] of its own whose [`Store::round_trips`] counts only this process's calls.

use std::sync::Arc;
use std::time::Duration;

use rsp_conformance::euicc::SoftEuicc;
use rspd::pki::keystore::{KeyRef, KeyRole};
use rspd::pki::{Certificate, CiStore, Curve, PemKeyStore};
use rspd::smdp::es9::{
    authenticate_client, cancel_session, get_bound_profile_package, process_notification, DpCredentials, Es9Error,
    SmdpContext,
};
use rspd::smdp::{DownloadRepository, ProfileNames, ProfileState, ProgressNotifier, SessionState, TransactionId};
use rspd::store::{RoundTrips, Store};
use time::OffsetDateTime;

use crate::es9_harness::*;

fn certificate(path: &std::path::Path) -> Certificate {
    let bytes = std::fs::read(path).unwrap();
    Certificate::from_pem(&bytes).or_else(|_| Certificate::from_der(&bytes)).unwrap()
}

/// The server's ES9+ context, rebuilt from the test PKI of its data dir; progress events for `operator`.
fn smdp_context(env: &Env, operator: &str) -> SmdpContext {
    let pki = env.pki();
    let (mut credentials, mut keys, mut cis) = (Vec::new(), Vec::new(), CiStore::new());
    for curve in Curve::ALL {
        if !pki.dpauth_cert(curve).is_file() {
            continue;
        }
        let dpauth = certificate(&pki.dpauth_cert(curve));
        let dppb = certificate(&pki.dppb_cert(curve));
        credentials.push(DpCredentials {
            curve,
            ci_pkid: dpauth.authority_key_id().unwrap().to_vec(),
            dpauth_certificate: dpauth.der().to_vec(),
            dppb_certificate: dppb.der().to_vec(),
            smdp_oid: dppb.registered_id().map(<[u8]>::to_vec),
        });
        keys.push((KeyRef { role: KeyRole::DpAuth, curve }, pki.dpauth_key(curve)));
        keys.push((KeyRef { role: KeyRole::DpPb, curve }, pki.dppb_key(curve)));
        cis.add(certificate(&pki.ci_cert(curve))).unwrap();
    }
    SmdpContext {
        addresses: vec![env.address.clone()],
        credentials,
        trusted_cis: Arc::new(cis),
        keys: Arc::new(PemKeyStore::load(&keys).unwrap()),
        session_timeout: Duration::from_secs(300),
        host_id: b"rspd".to_vec(),
        progress: ProgressNotifier::new([operator.to_owned()], None),
        eid_rate: None,
        max_unbound_sessions: None,
    }
}

/// AuthenticateClient in process: its answer and the round trips it made.
fn counted(
    ctx: &SmdpContext,
    store: &Store,
    tx: &str,
    asr: &[u8],
) -> (Result<rspd::smdp::es9::AuthenticateClientOk, Es9Error>, RoundTrips) {
    let before = store.round_trips();
    let answer = authenticate_client(ctx, store, &TransactionId::from_hex(tx).unwrap(), asr, OffsetDateTime::now_utc());
    (answer, store.round_trips() - before)
}

const ONE_READ_ONE_WRITE: RoundTrips = RoundTrips { read_phases: 1, write_transactions: 1 };

fn session_state(store: &Store, tx: &str) -> SessionState {
    store.find_session(tx).unwrap().unwrap().state
}

/// Events waiting in the ES2+ progress outbox.
fn pending_progress(store: &Store) -> i64 {
    use rspd::smdp::ProgressOutbox;
    store.progress_backlog(1_000).unwrap().pending
}

async fn round_trips(pg: Option<&str>, template: &[u8]) {
    let backend = backend_name(&pg.map(str::to_owned));
    let env = Env::start(pg);
    let iccids = env.import_profiles(template, 600..603);
    let store = env.store();
    let matching_id = env.create_order(&iccids[0], &[]);
    let ctx = smdp_context(&env, &env.order(&matching_id).operator_id);

    // Success: the order is bound, the session Authenticated, the operator's point-1 event enqueued with it.
    let mut a = env.euicc(Curve::NistP256);
    let (tx_a, asr_a) = initiate(&env, &mut a, &matching_id).await;
    let events = pending_progress(&store);
    let (answer, cost) = counted(&ctx, &store, &tx_a, &asr_a);
    let ok = answer.unwrap_or_else(|e| panic!("{backend}: {e}"));
    assert_eq!(cost, ONE_READ_ONE_WRITE, "{backend}: a successful AuthenticateClient");
    assert_eq!(ok.transaction_id.as_hex(), tx_a);
    assert!(!ok.profile_metadata.is_empty() && !ok.smdp_signature2.is_empty());
    assert_eq!(session_state(&store, &tx_a), SessionState::Authenticated);
    assert_eq!(env.order(&matching_id).session_id.as_deref(), Some(tx_a.as_str()), "{backend}");
    assert_eq!(pending_progress(&store), events + 1, "{backend}: the success event, in the bind's transaction");

    // The same response again: the challenge was used, the session is no longer Initiated; nothing is written.
    let (answer, cost) = counted(&ctx, &store, &tx_a, &asr_a);
    assert!(matches!(answer, Err(Es9Error::UnknownTransactionId { .. })), "{backend}: {answer:?}");
    assert_eq!(cost, RoundTrips { read_phases: 1, write_transactions: 0 }, "{backend}: a used transactionId");

    // Another device for the same order loses in the write (the order is held by the first session): its session
    // is cancelled and the operator told, in that one transaction.
    let other_eid = eid_from_body("899999990000000000000000000611");
    let mut b = SoftEuicc::new(euicc_with_eid(&env.pki(), Curve::NistP256, &other_eid));
    let (tx_b, asr_b) = initiate(&env, &mut b, &matching_id).await;
    let events = pending_progress(&store);
    let (answer, cost) = counted(&ctx, &store, &tx_b, &asr_b);
    assert!(matches!(answer, Err(Es9Error::ProfileNotAvailable(_))), "{backend}: {answer:?}");
    assert_eq!(cost, ONE_READ_ONE_WRITE, "{backend}: a claim lost in the write");
    assert_eq!(session_state(&store, &tx_b), SessionState::Cancelled, "{backend}: the challenge is single-use");
    assert_eq!(env.order(&matching_id).session_id.as_deref(), Some(tx_a.as_str()), "{backend}: the winner keeps it");
    assert_eq!(pending_progress(&store), events + 1, "{backend}: the refusal event");

    // Refused with the order known (its IMEI lock; the harness's device sends no IMEI): cancelled + event.
    let locked = env.create_order(&iccids[1], &["--allowed-imei", "356938035643809"]);
    let mut c = env.euicc(Curve::NistP256);
    let (tx_c, asr_c) = initiate(&env, &mut c, &locked).await;
    let events = pending_progress(&store);
    let (answer, cost) = counted(&ctx, &store, &tx_c, &asr_c);
    assert!(matches!(answer, Err(Es9Error::DeviceRefused(_))), "{backend}: {answer:?}");
    assert_eq!(cost, ONE_READ_ONE_WRITE, "{backend}: a refusal with the order known");
    assert_eq!(session_state(&store, &tx_c), SessionState::Cancelled);
    assert_eq!(env.order_state(&locked), ProfileState::Released, "{backend}: the order waits for the right device");
    assert_eq!(pending_progress(&store), events + 1, "{backend}: the refusal event, in the cancel's transaction");

    // Refused with no order (unknown matchingId): cancelled, no event.
    let mut d = env.euicc(Curve::NistP256);
    let (tx_d, asr_d) = initiate(&env, &mut d, "NO-SUCH-MATCHING-ID").await;
    let (answer, cost) = counted(&ctx, &store, &tx_d, &asr_d);
    assert!(matches!(answer, Err(Es9Error::MatchingIdRefused(_))), "{backend}: {answer:?}");
    assert_eq!(cost, ONE_READ_ONE_WRITE, "{backend}: a refusal without an order");
    assert_eq!(session_state(&store, &tx_d), SessionState::Cancelled);

    // Default SM-DP+ (§3.1.1): no matchingId, so the EID names the order. None bound to it yet: refused, cancelled.
    let mut e = env.euicc(Curve::NistP256);
    let (tx_e, asr_e) = initiate(&env, &mut e, "").await;
    let (answer, cost) = counted(&ctx, &store, &tx_e, &asr_e);
    assert!(matches!(answer, Err(Es9Error::NoOrderForEid(_))), "{backend}: {answer:?}");
    assert_eq!(cost, ONE_READ_ONE_WRITE, "{backend}: no order for the EID");
    assert_eq!(session_state(&store, &tx_e), SessionState::Cancelled);
    // With a released order bound to its EID: bound.
    let by_eid = env.create_order(&iccids[2], &["--eid", e.eid()]);
    let (tx_f, asr_f) = initiate(&env, &mut e, "").await;
    let (answer, cost) = counted(&ctx, &store, &tx_f, &asr_f);
    answer.unwrap_or_else(|err| panic!("{backend}: {err}"));
    assert_eq!(cost, ONE_READ_ONE_WRITE, "{backend}: the order found by EID");
    assert_eq!(env.order(&by_eid).session_id.as_deref(), Some(tx_f.as_str()), "{backend}");

    // An unknown transactionId: one read, nothing written.
    let (answer, cost) = counted(&ctx, &store, "00112233445566778899AABBCCDDEEFF", &asr_d);
    assert!(matches!(answer, Err(Es9Error::UnknownTransactionId { .. })), "{backend}: {answer:?}");
    assert_eq!(cost, RoundTrips { read_phases: 1, write_transactions: 0 }, "{backend}: an unknown transactionId");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es9_authenticate_client_is_one_read_phase_and_one_write_transaction() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        round_trips(pg.as_deref(), &template).await;
    }
}

/// GetBoundProfilePackage, HandleNotification (the PIR) and CancelSession, each as AuthenticateClient: one read
/// phase and one write transaction (a retry of a delivered BPP and an unknown transactionId write nothing).
async fn download_round_trips(pg: Option<&str>, template: &[u8]) {
    let backend = backend_name(&pg.map(str::to_owned));
    let env = Env::start(pg);
    let iccids = env.import_profiles(template, 650..652);
    let store = env.store();
    let delivered = env.create_order(&iccids[0], &[]);
    let ctx = smdp_context(&env, &env.order(&delivered).operator_id);
    let cost_of = |f: &mut dyn FnMut()| {
        let before = store.round_trips();
        f();
        store.round_trips() - before
    };

    // GetBoundProfilePackage: the facts in one read, the BPP and the operator's point-3 event in one write.
    let mut a = env.euicc(Curve::NistP256);
    let (tx_a, asr_a) = initiate(&env, &mut a, &delivered).await;
    let ok = counted(&ctx, &store, &tx_a, &asr_a).0.unwrap_or_else(|e| panic!("{backend}: {e}"));
    let pdr = a.prepare_download(&ok.smdp_signed2, &ok.smdp_signature2, &ok.smdp_certificate, None).unwrap();
    let tid = TransactionId::from_hex(&tx_a).unwrap();
    let events = pending_progress(&store);
    let mut bpp = Vec::new();
    let cost = cost_of(&mut || {
        bpp = get_bound_profile_package(&ctx, &store, &tid, &pdr, OffsetDateTime::now_utc())
            .unwrap_or_else(|e| panic!("{backend}: {e}"))
    });
    assert_eq!(cost, ONE_READ_ONE_WRITE, "{backend}: a delivered BPP");
    assert_eq!(session_state(&store, &tx_a), SessionState::BppDelivered);
    assert_eq!(env.order_state(&delivered), ProfileState::Downloaded, "{backend}");
    assert_eq!(pending_progress(&store), events + 1, "{backend}: the point-3 event, in the BPP's transaction");
    // The same request again: the same BPP, read, nothing written.
    let cost = cost_of(&mut || {
        let again = get_bound_profile_package(&ctx, &store, &tid, &pdr, OffsetDateTime::now_utc()).unwrap();
        assert_eq!(again, bpp, "{backend}: a retry gets the same BPP");
    });
    assert_eq!(cost, RoundTrips { read_phases: 1, write_transactions: 0 }, "{backend}: a retry");

    // HandleNotification (processed from the inbox): the PIR's session in one read, Installed and the point-4
    // event in one write.
    let installation = a.load_bound_profile_package(&bpp).unwrap();
    let events = pending_progress(&store);
    let cost = cost_of(&mut || {
        process_notification(&ctx, &store, &installation.profile_installation_result, OffsetDateTime::now_utc())
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
    });
    assert_eq!(cost, ONE_READ_ONE_WRITE, "{backend}: a ProfileInstallationResult");
    assert_eq!(env.order_state(&delivered), ProfileState::Installed, "{backend}");
    assert_eq!(pending_progress(&store), events + 1, "{backend}: the point-4 event, in the same transaction");

    // CancelSession after AuthenticateClient: the session in one read; Cancelled, the order released and the
    // operator's event in one write.
    let cancelled = env.create_order(&iccids[1], &[]);
    let mut b = env.euicc(Curve::NistP256);
    let (tx_b, asr_b) = initiate(&env, &mut b, &cancelled).await;
    counted(&ctx, &store, &tx_b, &asr_b).0.unwrap_or_else(|e| panic!("{backend}: {e}"));
    let csr = b.cancel_session(&hex::decode(&tx_b).unwrap(), 0).unwrap();
    let events = pending_progress(&store);
    let cost = cost_of(&mut || {
        let tid = TransactionId::from_hex(&tx_b).unwrap();
        cancel_session(&ctx, &store, &tid, &csr, OffsetDateTime::now_utc()).unwrap_or_else(|e| panic!("{backend}: {e}"))
    });
    assert_eq!(cost, ONE_READ_ONE_WRITE, "{backend}: a CancelSession");
    assert_eq!(session_state(&store, &tx_b), SessionState::Cancelled);
    assert_eq!(env.order(&cancelled).session_id, None, "{backend}: the order is free for a new attempt");
    assert_eq!(pending_progress(&store), events + 1, "{backend}: the cancel event, in the same transaction");

    // An unknown transactionId: one read, nothing written.
    let cost = cost_of(&mut || {
        let unknown = TransactionId::from_hex("00112233445566778899AABBCCDDEEFF").unwrap();
        let answer = get_bound_profile_package(&ctx, &store, &unknown, &pdr, OffsetDateTime::now_utc());
        assert!(matches!(answer, Err(Es9Error::UnknownTransactionId { .. })), "{backend}: {answer:?}");
    });
    assert_eq!(cost, RoundTrips { read_phases: 1, write_transactions: 0 }, "{backend}: an unknown transactionId");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es9_download_notification_and_cancel_are_one_read_phase_and_one_write_transaction() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        download_round_trips(pg.as_deref(), &template).await;
    }
}

/// The StoreMetadata names the read phase resolves without opening the package are the ones GetBoundProfilePackage
/// binds from the opened package.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es9_authenticate_client_reads_the_names_the_package_binds() {
    let Some(template) = ts48_template() else { return };
    let env = Env::start(None);
    let iccid = env.import_profiles(&template, 640..641).remove(0);
    let store = env.store();
    let order = env.order(&env.create_order(&iccid, &[]));
    let facts = store
        .authentication_facts(
            &TransactionId::from_hex("00").unwrap(),
            Some(rspd::smdp::OrderKey::MatchingId(&order.matching_id)),
        )
        .unwrap();
    let package = store.find_profile_package(&order.operator_id, &iccid).unwrap().unwrap();
    assert_eq!(facts.order.unwrap().names, Some(ProfileNames::from(&package)));
}

/// Issue 11 item 4: the eIM learns the eUICC rspd's SM-DP+ authenticated from that result, without verifying it
/// again; the record is the one verifying the chain itself gives.
#[tokio::test]
async fn esipa_learning_from_the_smdp_result_registers_what_verifying_again_would() {
    let env = Env::start(None);
    let pki = env.pki();
    let mut checked = 0;
    for curve in Curve::ALL {
        if !pki.euicc_cert(curve).is_file() {
            continue;
        }
        checked += 1;
        let (euicc, eum) = (certificate(&pki.euicc_cert(curve)), certificate(&pki.eum_cert(curve)));
        let mut cis = CiStore::new();
        cis.add(certificate(&pki.ci_cert(curve))).unwrap();
        let now = OffsetDateTime::now_utc();
        let authenticated = rspd::smdp::es9::authenticate_client::AuthenticatedEuicc {
            verified: rspd::pki::verify_euicc_chain(&cis, eum.der(), euicc.der(), now).unwrap(),
            euicc_certificate: euicc.der().to_vec(),
            eum_certificate: eum.der().to_vec(),
        };
        assert_eq!(
            rspd::eim::NewEuicc::from_authenticated(&authenticated, "rspd-eim", 0),
            rspd::eim::NewEuicc::from_verified_chain(&cis, eum.der(), euicc.der(), "rspd-eim", 0, now).unwrap(),
            "{curve:?}"
        );
    }
    assert!(checked > 0, "the test PKI has an eUICC");
}
