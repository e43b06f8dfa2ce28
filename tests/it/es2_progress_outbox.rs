//! The ES2+ progress outbox port (SGP.22 v2.5 §5.3.5 HandleDownloadProgressInfo), one contract on the in-memory
//! reference implementation, SQLite and — when `RSPD_TEST_POSTGRES_URL` is set — PostgreSQL: idempotent enqueue,
//! per-ICCID order, a failing ICCID not holding up another, leases, two nodes claiming at once, the backlog gauges.

use std::collections::HashSet;
use std::sync::{Arc, Barrier};

use crate::common::postgres::SchemaGuard;
use rspd::config::{DatabaseSettings, DatabaseUrl};
use rspd::smdp::progress::{NotificationPoint, PointStatus, ProgressEvent, ProgressOutbox};
use rspd::smdp::{NewProfile, ProfileRepository};
use rspd::store::memory::MemoryStore;
use rspd::store::Store;

/// What a case needs of a backend: the outbox port, and a way to add a profile with its ES2+ `profileType`
/// (which an enqueued event carries).
trait Backend: ProgressOutbox + Send + Sync {
    fn insert_profile(&self, operator_id: &str, iccid: &str, profile_type: &str);
}

impl<T: ProfileRepository + ProgressOutbox + Send + Sync> Backend for T {
    fn insert_profile(&self, operator_id: &str, iccid: &str, profile_type: &str) {
        ProfileRepository::insert_profile(self, &NewProfile::available(operator_id, iccid, profile_type)).unwrap();
    }
}

fn open(url: DatabaseUrl) -> Arc<dyn Backend> {
    let store = Store::open(&DatabaseSettings {
        url,
        pool_size: 4,
        connect_timeout: std::time::Duration::from_secs(10),
        sqlite_busy_timeout: std::time::Duration::from_secs(10),
    })
    .unwrap();
    store.migrate().unwrap();
    Arc::new(store)
}

/// Runs `case` with a fresh store factory (same database; in memory, the same store: one node's view) per
/// backend.
fn on_every_backend(case: impl Fn(&dyn Fn() -> Arc<dyn Backend>)) {
    let memory: Arc<dyn Backend> = Arc::new(MemoryStore::new());
    case(&|| memory.clone());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rspd.db");
    case(&|| open(DatabaseUrl::Sqlite { path: path.clone() }));
    if let Ok(admin) = std::env::var("RSPD_TEST_POSTGRES_URL") {
        let schema = SchemaGuard::create(&admin);
        let url = schema.url();
        case(&|| open(DatabaseUrl::Postgres { url: url.clone() }));
    } else {
        eprintln!("ES2+ progress outbox tests: PostgreSQL skipped (RSPD_TEST_POSTGRES_URL unset)");
    }
}

fn event(operator: &str, iccid: &str, point: NotificationPoint, key: &str, at: i64) -> ProgressEvent {
    let mut e = ProgressEvent::new(operator, iccid, None, point, PointStatus::Success, key.to_owned());
    e.timestamp_ms = at;
    e
}

const T0: i64 = 1_000_000;
const LEASE: i64 = 60_000;

#[test]
fn per_iccid_order_and_no_head_of_line_blocking_across_iccids() {
    on_every_backend(|open| {
        let store = open();
        for iccid in ["89000000000000000011", "89000000000000000029"] {
            store.insert_profile("acme", iccid, "iot-basic");
        }
        let (a, b) = ("89000000000000000011", "89000000000000000029");
        assert!(store
            .enqueue_progress(&event("acme", a, NotificationPoint::EligibilityAndRetryLimitCheck, "a1", T0))
            .unwrap());
        assert!(store.enqueue_progress(&event("acme", a, NotificationPoint::BppDownload, "a2", T0)).unwrap());
        assert!(store
            .enqueue_progress(&event("acme", b, NotificationPoint::EligibilityAndRetryLimitCheck, "b1", T0))
            .unwrap());
        // The same event again (a re-processed notification) is not stored twice.
        assert!(!store.enqueue_progress(&event("acme", a, NotificationPoint::BppDownload, "a2", T0)).unwrap());

        // Only the head of each ICCID's queue is handed out.
        let claimed = store.claim_progress(T0, LEASE, 10).unwrap();
        let keys: Vec<&str> = claimed.iter().map(|e| e.event.event_key.as_str()).collect();
        assert_eq!(keys, ["a1", "b1"]);
        assert_eq!(claimed[0].profile_type, "iot-basic");
        // Leased: nothing more to claim now.
        assert!(store.claim_progress(T0, LEASE, 10).unwrap().is_empty());

        // a1 fails (retry in 5 s), b1 is delivered: a2 still waits behind a1.
        store.progress_failed(claimed[0].id, T0 + 5_000, "HTTP 503").unwrap();
        store.progress_delivered(claimed[1].id, T0).unwrap();
        assert!(store.claim_progress(T0 + 1_000, LEASE, 10).unwrap().is_empty());
        let backlog = store.progress_backlog(1).unwrap();
        assert_eq!((backlog.pending, backlog.stuck), (2, 1));

        let retry = store.claim_progress(T0 + 5_000, LEASE, 10).unwrap();
        assert_eq!(retry.len(), 1);
        assert_eq!((retry[0].event.event_key.as_str(), retry[0].attempts), ("a1", 1));
        store.progress_delivered(retry[0].id, T0 + 5_000).unwrap();
        let next = store.claim_progress(T0 + 5_000, LEASE, 10).unwrap();
        assert_eq!(next.iter().map(|e| e.event.event_key.as_str()).collect::<Vec<_>>(), ["a2"]);

        // A node that died holding a lease: the event is handed out again once the lease ran out.
        assert!(store.claim_progress(T0 + 5_000 + LEASE - 1, LEASE, 10).unwrap().is_empty());
        let again = store.claim_progress(T0 + 5_000 + LEASE, LEASE, 10).unwrap();
        assert_eq!(again.len(), 1);
        store.progress_delivered(again[0].id, T0 + 5_000 + LEASE).unwrap();
        assert_eq!(store.progress_backlog(1).unwrap().pending, 0);
    });
}

#[test]
fn two_nodes_claiming_at_once_never_share_an_event() {
    on_every_backend(|open| {
        let setup = open();
        let iccids: Vec<String> = (0..40).map(|n| format!("8900000000000{n:06}1")).collect();
        for iccid in &iccids {
            setup.insert_profile("acme", iccid, "t");
            setup.enqueue_progress(&event("acme", iccid, NotificationPoint::BppDownload, iccid, T0)).unwrap();
        }
        let nodes = [open(), open()];
        let barrier = Arc::new(Barrier::new(2));
        let claimed: Vec<Vec<i64>> = std::thread::scope(|s| {
            let handles: Vec<_> = nodes
                .iter()
                .map(|node| {
                    let barrier = barrier.clone();
                    s.spawn(move || {
                        barrier.wait();
                        let mut ids = Vec::new();
                        for _ in 0..10 {
                            ids.extend(node.claim_progress(T0, LEASE, 3).unwrap().into_iter().map(|e| e.id));
                        }
                        ids
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let all: Vec<i64> = claimed.concat();
        let distinct: HashSet<i64> = all.iter().copied().collect();
        assert_eq!(all.len(), distinct.len(), "an event was claimed twice: {claimed:?}");
        assert_eq!(distinct.len(), 40);
    });
}
