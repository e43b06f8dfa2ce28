//! Two-backend tests of the eIM store (SGP.32 v1.2 §2.11 package queue): every case runs on SQLite and, when
//! `RSPD_TEST_POSTGRES_URL` is set, on PostgreSQL in a throw-away schema. Covers strictly increasing
//! counterValues under concurrent queueing, single dispatch under concurrent claims, compare-and-set
//! transitions (a package is never dispatched again after its success), and the dispatch / no-show timeouts.

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use crate::common::postgres::SchemaGuard;
use rspd::config::{DatabaseSettings, DatabaseUrl};
use rspd::eim::order::{Dispatched, Queued};
use rspd::eim::{EimError, EimRepository, NewEuicc, OrderState, PackageOrder, PackageOutcome};
use rspd::pki::Curve;
use rspd::store::Store;

const EID: &str = "89049032123451234512345678901235";
const EIM_ID: &str = "rspd-eim";

fn settings(url: DatabaseUrl) -> DatabaseSettings {
    DatabaseSettings {
        url,
        pool_size: 12,
        connect_timeout: Duration::from_secs(10),
        sqlite_busy_timeout: Duration::from_secs(10),
    }
}

fn run_on_sqlite(case: fn(&Store)) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&settings(DatabaseUrl::Sqlite { path: dir.path().join("rspd.db") })).unwrap();
    store.migrate().unwrap();
    case(&store);
}

fn run_on_postgres(case: fn(&Store)) {
    let Ok(admin_url) = std::env::var("RSPD_TEST_POSTGRES_URL") else {
        eprintln!("eIM store tests: PostgreSQL skipped (RSPD_TEST_POSTGRES_URL unset)");
        return;
    };
    let schema = SchemaGuard::create(&admin_url);
    let store = Store::open(&settings(DatabaseUrl::Postgres { url: schema.url() })).unwrap();
    store.migrate().unwrap();
    case(&store);
    drop(store);
    drop(schema);
}

macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $case() { super::run_on_sqlite(super::$case) } )*
        }
        mod postgres {
            $( #[test] fn $case() { super::run_on_postgres(super::$case) } )*
        }
    };
}

on_both_backends!(
    register_find_and_duplicate,
    counter_values_strictly_increase_under_concurrent_queueing,
    a_signing_failure_consumes_no_counter_value,
    each_package_is_dispatched_once_in_counter_order,
    a_package_is_never_dispatched_again_after_its_success,
    timeouts_expire_queued_and_dispatched_orders,
    esipa_an_empty_poll_reads_once_and_writes_only_what_changed,
);

fn now() -> i64 {
    rspd::clock::now_ms()
}

fn register(store: &Store, counter_value: i64) {
    store
        .register_euicc(&NewEuicc {
            eid: EID.into(),
            euicc_certificate: vec![0x30, 0x00],
            eim_id: EIM_ID.into(),
            eim_key_curve: Curve::NistP256,
            counter_value,
            association_token: Some(1),
        })
        .unwrap();
}

/// Queues a package whose "DER" records the slot it was signed for.
fn queue(store: &Store, tid: u8, expires_at: i64) -> PackageOrder {
    let mut eim_transaction_id = [0u8; 16];
    eim_transaction_id[..8].copy_from_slice(&std::process::id().to_be_bytes().repeat(2));
    eim_transaction_id[15] = tid;
    eim_transaction_id[14] = (thread_tag() & 0xFF) as u8;
    store
        .queue_package(EID, eim_transaction_id, expires_at, &mut |slot| {
            assert_eq!(slot.association_token, Some(1));
            Ok(slot.counter_value.to_be_bytes().to_vec())
        })
        .unwrap()
}

fn thread_tag() -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    thread::current().id().hash(&mut h);
    h.finish()
}

fn register_find_and_duplicate(store: &Store) {
    assert!(store.find_euicc(EID).unwrap().is_none());
    register(store, 10);
    let e = store.find_euicc(EID).unwrap().unwrap();
    assert_eq!((e.counter_value, e.association_token, e.eim_key_curve), (10, Some(1), Curve::NistP256));
    let again = store.register_euicc(&NewEuicc {
        eid: EID.into(),
        euicc_certificate: vec![],
        eim_id: EIM_ID.into(),
        eim_key_curve: Curve::NistP256,
        counter_value: 0,
        association_token: None,
    });
    assert!(matches!(again, Err(EimError::AlreadyRegistered(_))), "{again:?}");
    store.set_association_token(EID, Some(7)).unwrap();
    assert_eq!(store.find_euicc(EID).unwrap().unwrap().association_token, Some(7));
    assert!(matches!(
        store.set_association_token("89049032123451234512345678909965", None),
        Err(EimError::UnknownEuicc(_))
    ));
}

fn counter_values_strictly_increase_under_concurrent_queueing(store: &Store) {
    register(store, 100);
    let (threads, per_thread) = (6, 8);
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (store, barrier) = (store.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                (0..per_thread)
                    .map(|i| {
                        let order = queue(&store, (t * per_thread + i) as u8, now() + 60_000);
                        // The package was signed for exactly the counterValue stored with it.
                        assert_eq!(order.package_der, order.counter_value.to_be_bytes());
                        order.counter_value
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all = BTreeSet::new();
    for h in handles {
        let mine = h.join().unwrap();
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "one thread's counters increase: {mine:?}");
        for c in mine {
            assert!(all.insert(c), "counterValue {c} used twice");
        }
    }
    let expected: BTreeSet<i64> = (101..=100 + (threads * per_thread) as i64).collect();
    assert_eq!(all, expected);
    assert_eq!(store.find_euicc(EID).unwrap().unwrap().counter_value, 100 + (threads * per_thread) as i64);
}

fn a_signing_failure_consumes_no_counter_value(store: &Store) {
    register(store, 5);
    let failed = store.queue_package(EID, [1; 16], now() + 60_000, &mut |_| {
        Err(EimError::Encode { what: "test", reason: "no key".into() })
    });
    assert!(matches!(failed, Err(EimError::Encode { .. })), "{failed:?}");
    assert_eq!(store.find_euicc(EID).unwrap().unwrap().counter_value, 5);
    assert_eq!(queue(store, 2, now() + 60_000).counter_value, 6);
    let unknown = store.queue_package("89049032123451234512345678909965", [3; 16], now(), &mut |_| Ok(vec![]));
    assert!(matches!(unknown, Err(EimError::UnknownEuicc(_))), "{unknown:?}");
}

fn each_package_is_dispatched_once_in_counter_order(store: &Store) {
    register(store, 0);
    let count = 24;
    for i in 0..count {
        queue(store, i as u8, now() + 60_000);
    }
    let claimers = 6;
    let barrier = Arc::new(Barrier::new(claimers));
    let handles: Vec<_> = (0..claimers)
        .map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                let mut got = Vec::new();
                while let Some(order) = store.claim_next_queued(EID, now(), now() + 60_000).unwrap() {
                    assert_eq!(order.state, OrderState::Dispatched);
                    got.push(order.counter_value);
                }
                got
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        let mine = h.join().unwrap();
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "each claimer sees increasing counters: {mine:?}");
        all.extend(mine);
    }
    all.sort();
    assert_eq!(all, (1..=count as i64).collect::<Vec<_>>(), "every package dispatched exactly once");
}

fn a_package_is_never_dispatched_again_after_its_success(store: &Store) {
    register(store, 0);
    let queued = queue(store, 1, now() + 60_000);
    let dispatched = store.claim_next_queued(EID, now(), now() + 60_000).unwrap().unwrap();
    assert_eq!(dispatched.id, queued.id);
    let outcome = PackageOutcome::Executed { seq_number: 1, euicc_result: vec![] };
    let done =
        store.apply(&Dispatched { order_id: queued.id }.complete(&outcome, vec![0xBF, 0x51, 0x00]), now()).unwrap();
    assert_eq!((done.state, done.result_der.as_deref()), (OrderState::Succeeded, Some(&[0xBF, 0x51, 0x00][..])));
    assert_eq!(done.expires_at, None);
    // Not handed out again, not moved again, not expired.
    assert!(store.claim_next_queued(EID, now(), now() + 60_000).unwrap().is_none());
    let again = store.apply(&Queued { order_id: queued.id }.dispatch(now()), now());
    assert!(matches!(again, Err(EimError::StateConflict { .. })), "{again:?}");
    let late = store.apply(&Dispatched { order_id: queued.id }.expire(), now());
    assert!(matches!(late, Err(EimError::StateConflict { .. })), "{late:?}");
    assert_eq!(store.expire_due(now() + 10_000_000).unwrap(), 0);
    let found = store.find_order_by_transaction(EID, &queued.eim_transaction_id).unwrap().unwrap();
    assert_eq!(found.state, OrderState::Succeeded);
}

fn timeouts_expire_queued_and_dispatched_orders(store: &Store) {
    register(store, 0);
    let t = now();
    let stale = queue(store, 1, t - 1);
    let fresh = queue(store, 2, t + 60_000);
    // The stale one is skipped by dispatch: the fresh one goes out, with a no-show deadline in the past.
    let dispatched = store.claim_next_queued(EID, t, t - 1).unwrap().unwrap();
    assert_eq!(dispatched.id, fresh.id);
    assert_eq!(store.expire_due(t).unwrap(), 2);
    let stale = store.find_order(stale.id).unwrap().unwrap();
    assert_eq!((stale.state, stale.failure_reason.as_deref()), (OrderState::Expired, Some("not_fetched")));
    let fresh = store.find_order(fresh.id).unwrap().unwrap();
    assert_eq!((fresh.state, fresh.failure_reason.as_deref()), (OrderState::Expired, Some("no_result")));
    assert_eq!(store.expire_due(t).unwrap(), 0);
    // A result for an expired order cannot complete it.
    let outcome = PackageOutcome::Executed { seq_number: 1, euicc_result: vec![] };
    let late = store.apply(&Dispatched { order_id: fresh.id }.complete(&outcome, vec![1]), t);
    assert!(matches!(late, Err(EimError::StateConflict { .. })), "{late:?}");
}

/// ESipa.GetEimPackage (SGP.32 v1.2 §5.14.x) through the eIM service, with the store round trips it made.
fn poll(
    store: &Store,
    eid: &str,
    contact: &rspd::eim::DeviceContact,
    at: i64,
) -> (Result<Option<PackageOrder>, EimError>, rspd::store::RoundTrips) {
    let ctx = rspd::eim::EimContext {
        eim_id: EIM_ID.into(),
        eim_fqdn: "eim.example".into(),
        keys: Arc::new(rspd::pki::PemKeyStore::load::<std::path::PathBuf>(&[]).unwrap()),
        curves: vec![Curve::NistP256],
        dispatch_timeout: Duration::from_secs(600),
        no_show_timeout: Duration::from_secs(600),
    };
    let before = store.round_trips();
    let answer = rspd::eim::service::get_eim_package(store, &ctx, &hex::decode(eid).unwrap(), contact, at);
    (answer, store.round_trips() - before)
}

/// Issue 11 item 2: a poll that finds nothing reads once and writes nothing unless the contact must be recorded
/// (first contact, rPLMN or stateChangeCause changed, last seen `CONTACT_RECORD_INTERVAL_MS` old); a poll that
/// hands out a package writes once (contact and claim together).
fn esipa_an_empty_poll_reads_once_and_writes_only_what_changed(store: &Store) {
    use rspd::eim::service::CONTACT_RECORD_INTERVAL_MS as INTERVAL;
    use rspd::eim::DeviceContact;
    use rspd::store::RoundTrips;
    let read_only = RoundTrips { read_phases: 1, write_transactions: 0 };
    let read_write = RoundTrips { read_phases: 1, write_transactions: 1 };
    register(store, 0);
    let quiet = DeviceContact::default();
    let roaming = DeviceContact { r_plmn: Some([0x13, 0x00, 0x14]), state_change_cause: None };
    let fell_back = DeviceContact { r_plmn: Some([0x13, 0x00, 0x14]), state_change_cause: Some(1) };
    let t0 = now();
    let last_seen = |at: i64| store.poll_facts(EID, at).unwrap().unwrap().last_seen;

    // Unknown EID: one read, an error, nothing written.
    let (answer, cost) = poll(store, "89049032123451234512345678909965", &quiet, t0);
    assert!(matches!(answer, Err(EimError::UnknownEuicc(_))), "{answer:?}");
    assert_eq!(cost, read_only);

    let steps: [(&DeviceContact, i64, RoundTrips, &str); 8] = [
        (&quiet, t0, read_write, "first contact"),
        (&quiet, t0 + 1_000, read_only, "nothing changed"),
        (&roaming, t0 + 2_000, read_write, "rPLMN changed"),
        (&roaming, t0 + 3_000, read_only, "nothing changed"),
        (&fell_back, t0 + 4_000, read_write, "stateChangeCause reported"),
        (&roaming, t0 + 5_000, read_write, "no stateChangeCause any more (recorded as absent, as before)"),
        (&roaming, t0 + 5_000 + INTERVAL - 1, read_only, "last seen not yet an interval old"),
        (&roaming, t0 + 5_000 + INTERVAL, read_write, "last seen an interval old"),
    ];
    for (contact, at, expected, why) in steps {
        let (answer, cost) = poll(store, EID, contact, at);
        assert_eq!(answer.unwrap(), None, "{why}");
        assert_eq!(cost, expected, "{why}");
        let facts = store.poll_facts(EID, at).unwrap().unwrap();
        assert_eq!(&facts.contact, contact, "{why}: the contact as sent is what is recorded");
    }
    assert_eq!(last_seen(t0), Some(t0 + 5_000 + INTERVAL));

    // A package waits: one read, one write (contact recorded with the claim); then empty again: no write.
    let queued = queue(store, 1, t0 + 3_600_000);
    let at = t0 + 5_000 + INTERVAL + 1_000;
    let (answer, cost) = poll(store, EID, &roaming, at);
    assert_eq!(answer.unwrap().map(|o| (o.id, o.state)), Some((queued.id, OrderState::Dispatched)));
    assert_eq!(cost, read_write, "a package handed out");
    assert_eq!(last_seen(at), Some(at), "a poll that writes anyway records its contact");
    let (answer, cost) = poll(store, EID, &roaming, at + 1_000);
    assert_eq!(answer.unwrap(), None);
    assert_eq!(cost, read_only, "the package is Dispatched: nothing waits");
}
