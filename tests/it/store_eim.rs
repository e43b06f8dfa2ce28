//! The contract suite of the eIM storage ports (SGP.32 v1.2): [`EimRepository`] (eUICC registry and §2.11 package
//! queue), [`RelaySessions`] and [`NotificationOutbox`] (§3.2.3 indirect download relay) and [`OperatorEuiccs`]
//! (which operator owns which eUICC). Every case runs on the in-memory reference implementation
//! ([`MemoryStore`]), on SQLite and, when `RSPD_TEST_POSTGRES_URL` is set, on PostgreSQL in a throw-away schema.
//!
//! Covers strictly increasing counterValues under concurrent queueing, single dispatch under concurrent claims,
//! compare-and-set transitions (a package is never dispatched again after its success), the dispatch / no-show
//! timeouts and what is handed out after them, tenant isolation (another operator's eUICC answers like an
//! unknown one), the notification outbox's claims, leases and retries, and the relay sessions.
//!
//! One case is about the SQL implementation rather than the contract: the round trips an ESipa poll costs
//! ([`Store::round_trips`]); it runs on SQLite and PostgreSQL only.

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use rspd::eim::campaign::{EuiccFilter, ImportOutcome, OperatorEuiccs};
use rspd::eim::indirect::RelaySessions;
use rspd::eim::notification_outbox::{NotificationOutbox, CLAIM_LEASE_MS};
use rspd::eim::order::{Dispatched, Queued};
use rspd::eim::{EimError, EimRepository, NewEuicc, OrderState, PackageOrder, PackageOutcome};
use rspd::pki::Curve;
use rspd::store::memory::MemoryStore;
use rspd::store::Store;

use crate::common::backends::{on_postgres, on_sqlite};

const EID: &str = "89049032123451234512345678901235";
const EIM_ID: &str = "rspd-eim";
/// A second and a third eUICC (valid check digits) and one that is never registered.
const EID_2: &str = "89049032123451234512345678910062";
const EID_3: &str = "89049032123451234512345678910159";
const UNKNOWN_EID: &str = "89049032123451234512345678909965";

/// The ports under contract, as one object: every backend implements all four.
trait Ports: EimRepository + RelaySessions + NotificationOutbox + OperatorEuiccs {}
impl<T: EimRepository + RelaySessions + NotificationOutbox + OperatorEuiccs + ?Sized> Ports for T {}

/// Which tests skipped PostgreSQL, in the skip line.
const SUITE: &str = "eIM store tests";

/// `contract` cases take `&dyn Ports` and run on every backend; `sql_only` cases take `&Store`.
macro_rules! on_every_backend {
    (contract: [$($case:ident),* $(,)?], sql_only: [$($sql_case:ident),* $(,)?] $(,)?) => {
        mod memory {
            $( #[test] fn $case() { super::$case(&super::MemoryStore::new()) } )*
        }
        mod sqlite {
            $( #[test] fn $case() { super::on_sqlite(|store| super::$case(store)) } )*
            $( #[test] fn $sql_case() { super::on_sqlite(super::$sql_case) } )*
        }
        mod postgres {
            $( #[test] fn $case() { super::on_postgres(super::SUITE, |store| super::$case(store)) } )*
            $( #[test] fn $sql_case() { super::on_postgres(super::SUITE, super::$sql_case) } )*
        }
    };
}

on_every_backend!(
    contract: [
        register_find_and_duplicate,
        counter_values_strictly_increase_under_concurrent_queueing,
        a_signing_failure_consumes_no_counter_value,
        each_package_is_dispatched_once_in_counter_order,
        a_package_is_never_dispatched_again_after_its_success,
        timeouts_expire_queued_and_dispatched_orders,
        a_package_without_result_expires_at_its_no_show_deadline_and_the_next_goes_out,
        an_expired_queued_package_is_never_handed_out,
        another_operators_euicc_answers_like_an_unknown_one,
        the_outbox_hands_out_due_notifications_and_retries_failed_ones,
        relay_sessions_are_recorded_once_and_purged_by_age,
    ],
    sql_only: [esipa_an_empty_poll_reads_once_and_writes_only_what_changed],
);

fn now() -> i64 {
    rspd::clock::now_ms()
}

/// Runs `work(i)` on `n` threads at once (scoped: they borrow the store); their results, in thread order.
fn in_threads<T: Send>(n: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    thread::scope(|s| {
        let work = &work;
        let handles: Vec<_> = (0..n).map(|i| s.spawn(move || work(i))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn register(store: &dyn Ports, counter_value: i64) {
    register_eid(store, EID, counter_value);
}

fn register_eid(store: &dyn Ports, eid: &str, counter_value: i64) {
    store.register_euicc(&new_euicc(eid, counter_value)).unwrap();
}

fn new_euicc(eid: &str, counter_value: i64) -> NewEuicc {
    NewEuicc {
        eid: eid.into(),
        euicc_certificate: vec![0x30, 0x00],
        eim_id: EIM_ID.into(),
        eim_key_curve: Curve::NistP256,
        counter_value,
        association_token: Some(1),
    }
}

/// Queues a package whose "DER" records the slot it was signed for.
fn queue(store: &dyn Ports, tid: u8, expires_at: i64) -> PackageOrder {
    queue_for(store, EID, tid, expires_at)
}

fn queue_for(store: &dyn Ports, eid: &str, tid: u8, expires_at: i64) -> PackageOrder {
    let mut eim_transaction_id = [0u8; 16];
    eim_transaction_id[..8].copy_from_slice(&std::process::id().to_be_bytes().repeat(2));
    eim_transaction_id[15] = tid;
    eim_transaction_id[14] = (thread_tag() & 0xFF) as u8;
    store
        .queue_package(eid, eim_transaction_id, expires_at, &mut |slot| {
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

fn register_find_and_duplicate(store: &dyn Ports) {
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

fn counter_values_strictly_increase_under_concurrent_queueing(store: &dyn Ports) {
    register(store, 100);
    let (threads, per_thread) = (6, 8);
    let barrier = Barrier::new(threads);
    let results = in_threads(threads, |t| {
        barrier.wait();
        (0..per_thread)
            .map(|i| {
                let order = queue(store, (t * per_thread + i) as u8, now() + 60_000);
                // The package was signed for exactly the counterValue stored with it.
                assert_eq!(order.package_der, order.counter_value.to_be_bytes());
                order.counter_value
            })
            .collect::<Vec<_>>()
    });
    let mut all = BTreeSet::new();
    for mine in results {
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "one thread's counters increase: {mine:?}");
        for c in mine {
            assert!(all.insert(c), "counterValue {c} used twice");
        }
    }
    let expected: BTreeSet<i64> = (101..=100 + (threads * per_thread) as i64).collect();
    assert_eq!(all, expected);
    assert_eq!(store.find_euicc(EID).unwrap().unwrap().counter_value, 100 + (threads * per_thread) as i64);
}

fn a_signing_failure_consumes_no_counter_value(store: &dyn Ports) {
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

fn each_package_is_dispatched_once_in_counter_order(store: &dyn Ports) {
    register(store, 0);
    let count = 24;
    for i in 0..count {
        queue(store, i as u8, now() + 60_000);
    }
    let claimers = 6;
    let barrier = Barrier::new(claimers);
    let results = in_threads(claimers, |_| {
        barrier.wait();
        let mut got = Vec::new();
        while let Some(order) = store.claim_next_queued(EID, now(), now() + 60_000).unwrap() {
            assert_eq!(order.state, OrderState::Dispatched);
            got.push(order.counter_value);
        }
        got
    });
    let mut all = Vec::new();
    for mine in results {
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "each claimer sees increasing counters: {mine:?}");
        all.extend(mine);
    }
    all.sort();
    assert_eq!(all, (1..=count as i64).collect::<Vec<_>>(), "every package dispatched exactly once");
}

fn a_package_is_never_dispatched_again_after_its_success(store: &dyn Ports) {
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

fn timeouts_expire_queued_and_dispatched_orders(store: &dyn Ports) {
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

/// Queue redelivery (SGP.32 v1.2 §2.11, §3.5.1): a package handed out whose result does not come back by its
/// no-show deadline is expired (`no_result`) by the timeout job, not handed out again; the next Queued package
/// is handed out at the next claim; a late result cannot complete the expired one.
fn a_package_without_result_expires_at_its_no_show_deadline_and_the_next_goes_out(store: &dyn Ports) {
    register(store, 0);
    register_eid(store, EID_2, 0);
    let t = now();
    let first = queue(store, 1, t + 60_000);
    let second = queue(store, 2, t + 60_000);
    let other_euicc = queue_for(store, EID_2, 3, t + 60_000);

    let dispatched = store.claim_next_queued(EID, t, t + 1_000).unwrap().unwrap();
    assert_eq!(
        (dispatched.id, dispatched.state, dispatched.expires_at),
        (first.id, OrderState::Dispatched, Some(t + 1_000))
    );
    assert_eq!(store.expire_due(t + 999).unwrap(), 0, "before the no-show deadline nothing expires");
    assert_eq!(store.find_order(first.id).unwrap().unwrap().state, OrderState::Dispatched);

    assert_eq!(store.expire_due(t + 1_000).unwrap(), 1, "at the no-show deadline the dispatched package expires");
    let expired = store.find_order(first.id).unwrap().unwrap();
    assert_eq!(
        (expired.state, expired.failure_reason.as_deref(), expired.expires_at),
        (OrderState::Expired, Some("no_result"), None)
    );

    let next = store.claim_next_queued(EID, t + 1_000, t + 2_000).unwrap().unwrap();
    assert_eq!((next.id, next.counter_value, next.state), (second.id, second.counter_value, OrderState::Dispatched));
    assert!(
        store.claim_next_queued(EID, t + 1_000, t + 2_000).unwrap().is_none(),
        "the expired one is not redelivered"
    );
    let facts = store.poll_facts(EID, t + 1_000).unwrap().unwrap();
    assert!(!facts.package_waiting);

    // The other eUICC's package was never this eUICC's to take, and is still there for its own.
    assert_eq!(store.find_order(other_euicc.id).unwrap().unwrap().state, OrderState::Queued);
    let theirs = store.claim_next_queued(EID_2, t + 1_000, t + 2_000).unwrap().unwrap();
    assert_eq!(theirs.id, other_euicc.id);

    let outcome = PackageOutcome::Executed { seq_number: 1, euicc_result: vec![] };
    let late = store.apply(&Dispatched { order_id: first.id }.complete(&outcome, vec![0xBF, 0x51, 0x00]), t + 1_500);
    assert!(matches!(late, Err(EimError::StateConflict { .. })), "{late:?}");
    assert_eq!(store.find_order(first.id).unwrap().unwrap().result_der, None);
}

/// A Queued package past its dispatch deadline is never handed out: not at the deadline, and not after the
/// timeout job expired it (`not_fetched`), whatever clock the claimer has.
fn an_expired_queued_package_is_never_handed_out(store: &dyn Ports) {
    register(store, 0);
    let t = now();
    let stale = queue(store, 1, t + 1_000);
    assert!(store.poll_facts(EID, t + 999).unwrap().unwrap().package_waiting);
    assert!(!store.poll_facts(EID, t + 1_000).unwrap().unwrap().package_waiting, "live means expires_at > now");
    // Read in place (when the backend can), the same facts.
    for at in [t + 999, t + 1_000] {
        if let Some(now) = store.poll_facts_now(EID, at) {
            assert_eq!(now.unwrap(), store.poll_facts(EID, at).unwrap());
        }
    }
    assert!(store.claim_next_queued(EID, t + 1_000, t + 60_000).unwrap().is_none());
    assert!(store.record_poll(EID, &Default::default(), t + 1_000, Some(t + 60_000)).unwrap().is_none());

    assert_eq!(store.expire_due(t + 1_000).unwrap(), 1);
    let expired = store.find_order(stale.id).unwrap().unwrap();
    assert_eq!((expired.state, expired.failure_reason.as_deref()), (OrderState::Expired, Some("not_fetched")));
    assert!(store.claim_next_queued(EID, t, t + 60_000).unwrap().is_none(), "expired is final, even to an early clock");
    let again = store.apply(&Queued { order_id: stale.id }.dispatch(t + 60_000), t);
    assert!(matches!(again, Err(EimError::StateConflict { .. })), "{again:?}");

    // A package queued after it goes out, with the next counterValue.
    let fresh = queue(store, 2, t + 60_000);
    let claimed = store.claim_next_queued(EID, t + 1_000, t + 60_000).unwrap().unwrap();
    assert_eq!((claimed.id, claimed.counter_value), (fresh.id, stale.counter_value + 1));
}

/// Tenant isolation: operator B never sees operator A's eUICC — not by EID, not in a list, not in a bulk lookup —
/// and gets exactly the answers an unknown EID gets; B cannot import or take it over, and an eUICC registered
/// without an operator belongs to none until assigned.
fn another_operators_euicc_answers_like_an_unknown_one(store: &dyn Ports) {
    let (a, b) = ("operator-a", "operator-b");
    assert_eq!(store.import_euicc(&new_euicc(EID, 7), a, Some("fleet-1")).unwrap(), ImportOutcome::Registered);
    assert_eq!(store.import_euicc(&new_euicc(EID_2, 0), b, Some("fleet-1")).unwrap(), ImportOutcome::Registered);

    let mine = store.owned_euicc(a, EID).unwrap().unwrap();
    assert_eq!(
        (mine.eid.as_str(), mine.label.as_deref(), mine.counter_value, mine.associated),
        (EID, Some("fleet-1"), 7, true)
    );
    assert_eq!(store.owned_euicc(b, EID).unwrap(), None);
    assert_eq!(store.owned_euicc(b, EID).unwrap(), store.owned_euicc(b, UNKNOWN_EID).unwrap());

    let asked = [EID.to_owned(), EID_2.to_owned(), UNKNOWN_EID.to_owned()];
    assert_eq!(store.owned_eids(a, &asked).unwrap(), [EID]);
    assert_eq!(store.owned_eids(b, &asked).unwrap(), [EID_2]);
    assert_eq!(
        store.owned_eids(b, &[EID.to_owned()]).unwrap(),
        store.owned_eids(b, &[UNKNOWN_EID.to_owned()]).unwrap()
    );

    let eids = |operator: &str, filter: &EuiccFilter, after: Option<&str>| -> Vec<String> {
        store.list_euiccs(operator, filter, after, 100).unwrap().into_iter().map(|e| e.eid).collect()
    };
    let everything = EuiccFilter::default();
    let same_label = EuiccFilter { eid_prefix: None, label: Some("fleet-1".into()) };
    let a_prefix = EuiccFilter { eid_prefix: Some(EID[..31].into()), label: None };
    assert_eq!(eids(a, &everything, None), [EID]);
    assert_eq!(eids(b, &everything, None), [EID_2]);
    assert_eq!(eids(b, &same_label, None), [EID_2], "a shared label does not reach across operators");
    assert!(eids(b, &a_prefix, None).is_empty(), "nor does an EID prefix");

    // B can neither import A's eUICC nor take it over; A's record is unchanged.
    assert_eq!(store.import_euicc(&new_euicc(EID, 0), b, Some("stolen")).unwrap(), ImportOutcome::Refused);
    let taken = store.assign_operator(EID, b, None);
    assert!(matches!(taken, Err(EimError::AlreadyRegistered(_))), "{taken:?}");
    assert_eq!(store.owned_euicc(a, EID).unwrap(), Some(mine));
    assert_eq!(store.owned_euicc(b, EID).unwrap(), None);
    assert_eq!(store.import_euicc(&new_euicc(EID, 0), a, None).unwrap(), ImportOutcome::AlreadyRegistered);
    assert_eq!(store.find_euicc(EID).unwrap().unwrap().counter_value, 7, "a repeated import changes nothing");

    // Registered without an operator (ESipa, `rspd eim register`): nobody's, not importable, assignable once.
    register_eid(store, EID_3, 0);
    assert_eq!(store.owned_euicc(a, EID_3).unwrap(), None);
    assert!(eids(a, &everything, None).iter().all(|eid| eid != EID_3));
    assert_eq!(store.import_euicc(&new_euicc(EID_3, 0), a, None).unwrap(), ImportOutcome::Refused);
    store.assign_operator(EID_3, a, Some("fleet-2")).unwrap();
    assert_eq!(store.owned_euicc(a, EID_3).unwrap().and_then(|e| e.label), Some("fleet-2".into()));
    assert_eq!(eids(a, &everything, None), [EID, EID_3]);
    assert_eq!(eids(a, &everything, Some(EID)), [EID_3], "paging after an EID");
    assert!(matches!(store.assign_operator(EID_3, b, None), Err(EimError::AlreadyRegistered(_))));
    assert!(matches!(store.assign_operator(UNKNOWN_EID, a, None), Err(EimError::AlreadyRegistered(_))));
}

/// The notification outbox (SGP.32 v1.2 §3.2.3: notifications relayed to an external SM-DP+): a claim returns
/// only due notifications, oldest first, and hides them for [`CLAIM_LEASE_MS`]; a failed attempt counts and makes
/// the notification due again at the time given; one claimed and never reported back (a sender that died)
/// is due again when its lease ends; a removed one never comes back.
fn the_outbox_hands_out_due_notifications_and_retries_failed_ones(store: &dyn Ports) {
    let t = now();
    store.enqueue_notification("smdp-a.example", &[0xBF, 0x37, 0x01], t).unwrap();
    store.enqueue_notification("smdp-b.example", &[0xBF, 0x37, 0x02], t + 10).unwrap();

    let claimed = store.claim_due_notifications(t, 10).unwrap();
    assert_eq!(claimed.len(), 1, "only the one due at t: {claimed:?}");
    let a = claimed[0].clone();
    assert_eq!(
        (a.smdp_address.as_str(), a.pending_notification.as_slice(), a.attempts),
        ("smdp-a.example", &[0xBF, 0x37, 0x01][..], 0)
    );
    assert!(store.claim_due_notifications(t, 10).unwrap().is_empty(), "claimed: hidden from the next claim");

    store.notification_attempt_failed(a.id, "SM-DP+ unreachable", t + 5_000).unwrap();
    let b = store.claim_due_notifications(t + 4_999, 10).unwrap();
    assert_eq!(
        b.iter().map(|n| n.smdp_address.as_str()).collect::<Vec<_>>(),
        ["smdp-b.example"],
        "a waits for its retry"
    );
    let retried = store.claim_due_notifications(t + 5_000, 10).unwrap();
    assert_eq!(retried.iter().map(|n| (n.id, n.attempts)).collect::<Vec<_>>(), [(a.id, 1)]);
    assert_eq!(retried[0].pending_notification, a.pending_notification);

    // b was claimed at t + 4_999 and never reported back: due again when the lease ends.
    assert!(store.claim_due_notifications(t + 4_999 + CLAIM_LEASE_MS - 1, 10).unwrap().iter().all(|n| n.id != b[0].id));
    let redelivered = store.claim_due_notifications(t + 4_999 + CLAIM_LEASE_MS, 10).unwrap();
    assert_eq!(redelivered.iter().map(|n| (n.id, n.attempts)).collect::<Vec<_>>(), [(b[0].id, 0)]);

    // The limit takes the oldest first.
    store.enqueue_notification("smdp-c.example", &[3], t).unwrap();
    store.enqueue_notification("smdp-d.example", &[4], t).unwrap();
    let far = t + 100 * CLAIM_LEASE_MS;
    let first = store.claim_due_notifications(far, 1).unwrap();
    assert_eq!(first.iter().map(|n| n.id).collect::<Vec<_>>(), [a.id]);
    let rest = store.claim_due_notifications(far, 10).unwrap();
    assert_eq!(
        rest.iter().map(|n| n.smdp_address.as_str()).collect::<Vec<_>>(),
        ["smdp-b.example", "smdp-c.example", "smdp-d.example"]
    );

    for n in first.iter().chain(&rest) {
        store.remove_notification(n.id).unwrap();
    }
    assert!(store.claim_due_notifications(far + 100 * CLAIM_LEASE_MS, 10).unwrap().is_empty(), "removed for good");
    store.remove_notification(a.id).unwrap();
    store.notification_attempt_failed(a.id, "gone", far).unwrap();
    assert!(store.claim_due_notifications(far + 100 * CLAIM_LEASE_MS, 10).unwrap().is_empty());
}

/// Relay sessions (SGP.32 v1.2 §3.2.3): which external SM-DP+ an ES9+ session was opened on, recorded once (a
/// retried record keeps the first), looked up by transactionId, purged by age (recorded strictly before the cut).
fn relay_sessions_are_recorded_once_and_purged_by_age(store: &dyn Ports) {
    let t = now();
    assert_eq!(store.relay_session("0A1B").unwrap(), None);
    store.record_relay_session("0A1B", "smdp-a.example", t).unwrap();
    store.record_relay_session("0A1B", "smdp-a.example", t + 1).unwrap();
    store.record_relay_session("0A1B", "smdp-b.example", t + 2).unwrap();
    assert_eq!(store.relay_session("0A1B").unwrap().as_deref(), Some("smdp-a.example"), "the first record stands");
    store.record_relay_session("0C2D", "smdp-b.example", t + 100).unwrap();
    assert_eq!(store.relay_session("0C2D").unwrap().as_deref(), Some("smdp-b.example"));
    assert_eq!(store.relay_session("0c2d").unwrap(), None, "transactionIds are compared as recorded");

    assert_eq!(store.purge_relay_sessions(t).unwrap(), 0, "recorded at the cut: kept");
    assert_eq!(store.purge_relay_sessions(t + 1).unwrap(), 1);
    assert_eq!(store.relay_session("0A1B").unwrap(), None);
    assert_eq!(store.relay_session("0C2D").unwrap().as_deref(), Some("smdp-b.example"));
    assert_eq!(store.purge_relay_sessions(t + 101).unwrap(), 1);
    assert_eq!(store.purge_relay_sessions(t + 101).unwrap(), 0);
    assert_eq!(store.relay_session("0C2D").unwrap(), None);
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
