//! Repository test suite for the relational store, run on both backends.
//!
//! Every case in `on_both_backends!` becomes two tests: `sqlite::<case>` (a migrated database file in
//! a temporary directory, always) and `postgres::<case>` (a fresh schema in the database named by
//! `RSPD_TEST_POSTGRES_URL`, dropped afterwards even when the case fails; skipped when the variable
//! is unset). The cases cover the SGP.22 v2.5 §5.3 profile inventory: compare-and-set transitions,
//! operator scoping, and pool claims racing across threads.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Barrier, Once};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::postgres::SchemaGuard;
use diesel::{Connection, PgConnection, RunQueryDsl};
use rspd::config::{DatabaseSettings, DatabaseUrl};
use rspd::smdp::{NewProfile, ProfileRepository, ProfileState, RepoError};
use rspd::store::Store;

const POSTGRES_URL_VAR: &str = "RSPD_TEST_POSTGRES_URL";
const POOL_SIZE: u32 = 12;

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// A migrated store for one test; cleans up after itself (fields drop in order: pool first).
struct TestDb {
    store: Store,
    /// What the harness's own `migrate()` applied on the empty database.
    first_migration: Vec<String>,
    _schema: Option<SchemaGuard>,
    _dir: Option<tempfile::TempDir>,
}

fn settings(url: DatabaseUrl) -> DatabaseSettings {
    DatabaseSettings {
        url,
        pool_size: POOL_SIZE,
        connect_timeout: Duration::from_secs(10),
        sqlite_busy_timeout: Duration::from_secs(10),
    }
}

/// Writes to the real stderr, past libtest's output capture, so it shows in a normal `cargo test`.
fn notice(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// A fixed master key for sealed packages.
fn test_keyring() -> rspd::secrets::Keyring {
    rspd::secrets::Keyring::new(vec![rspd::secrets::MasterKey::new([7; 32])]).unwrap()
}

fn run_on_sqlite(case: fn(&TestDb)) {
    let dir = tempfile::tempdir().unwrap();
    // A missing parent directory: `Store::open` creates it.
    let path = dir.path().join("data").join("rspd.db");
    let store = Store::open(&settings(DatabaseUrl::Sqlite { path })).unwrap().with_keyring(test_keyring());
    let first_migration = store.migrate().unwrap();
    let db = TestDb { store, first_migration, _schema: None, _dir: Some(dir) };
    case(&db);
}

fn run_on_postgres(name: &str, case: fn(&TestDb)) {
    static BANNER: Once = Once::new();
    let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
        BANNER.call_once(|| notice(&format!("store tests: PostgreSQL skipped ({POSTGRES_URL_VAR} unset)")));
        return;
    };
    BANNER.call_once(|| {
        let shown = DatabaseUrl::parse(&admin_url).map(|u| u.to_string()).unwrap_or_default();
        notice(&format!("store tests: running on PostgreSQL {shown}"));
    });
    let schema = SchemaGuard::create(&admin_url);
    let url = schema.url();
    let store = Store::open(&settings(DatabaseUrl::Postgres { url })).unwrap().with_keyring(test_keyring());
    let first_migration = store.migrate().unwrap();
    let schema_name = schema.name.clone();
    let db = TestDb { store, first_migration, _schema: Some(schema), _dir: None };
    case(&db);
    println!("{name}: ran on postgres (schema {schema_name})");
}

/// Generates `sqlite::<case>` and `postgres::<case>` tests for each case function.
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $case() { super::run_on_sqlite(super::$case) } )*
        }
        mod postgres {
            $( #[test] fn $case() { super::run_on_postgres(stringify!($case), super::$case) } )*
        }
    };
}

on_both_backends!(
    insert_and_find,
    duplicate_iccid_is_a_conflict,
    operators_cannot_see_each_others_profiles,
    transitions_follow_the_life_cycle,
    transition_from_the_wrong_state_reports_the_actual_state,
    illegal_transitions_are_rejected_by_the_domain_rule,
    racing_transitions_have_exactly_one_winner,
    more_claimers_than_profiles_each_profile_claimed_once,
    fewer_claimers_than_profiles_each_claimer_served,
    back_to_available_clears_the_eid,
    migrate_twice_is_a_no_op,
    ping_and_pool_state,
    orders_release_the_profile_and_matching_ids_are_unique,
    es2_steps_walk_the_profile_states,
    racing_sessions_bind_one_order_once,
    bpp_is_stored_once_and_installation_is_idempotent,
    expiry_releases_orders_of_unfinished_sessions,
    confirmation_code_failures_block_the_order,
    notification_inbox_round_trip,
);

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

const OP_A: &str = "operator-a";
const OP_B: &str = "operator-b";
const TYPE: &str = "iot-m2m";
const EID: &str = "89049032123451234512345678901235";

fn iccid(n: u32) -> String {
    format!("89882390000000{n:05}")
}

fn add(db: &TestDb, operator: &str, n: u32) -> rspd::smdp::ProfileRecord {
    db.store.insert_profile(&NewProfile::available(operator, &iccid(n), TYPE)).unwrap()
}

fn state_of(db: &TestDb, operator: &str, n: u32) -> ProfileState {
    db.store.find_profile(operator, &iccid(n)).unwrap().unwrap().state
}

fn insert_and_find(db: &TestDb) {
    let inserted = add(db, OP_A, 1);
    assert!(inserted.id > 0);
    assert_eq!(inserted.operator_id, OP_A);
    assert_eq!(inserted.iccid, iccid(1));
    assert_eq!(inserted.profile_type, TYPE);
    assert_eq!(inserted.state, ProfileState::Available);
    assert_eq!(inserted.eid, None);
    assert!(inserted.created_at > 1_700_000_000_000, "unix ms: {}", inserted.created_at);
    assert_eq!(inserted.created_at, inserted.updated_at);

    assert_eq!(db.store.find_profile(OP_A, &iccid(1)).unwrap(), Some(inserted.clone()));
    assert_eq!(db.store.find_profile(OP_A, &iccid(2)).unwrap(), None);

    let linked = NewProfile {
        state: ProfileState::Linked,
        eid: Some(EID.to_owned()),
        ..NewProfile::available(OP_A, &iccid(2), TYPE)
    };
    let second = db.store.insert_profile(&linked).unwrap();
    assert!(second.id > inserted.id);
    assert_eq!(second.eid.as_deref(), Some(EID));
    assert_eq!(db.store.count_profiles(OP_A, TYPE, ProfileState::Available).unwrap(), 1);
    assert_eq!(db.store.count_profiles(OP_A, TYPE, ProfileState::Linked).unwrap(), 1);
    assert_eq!(db.store.count_profiles(OP_A, "other-type", ProfileState::Available).unwrap(), 0);
}

fn duplicate_iccid_is_a_conflict(db: &TestDb) {
    add(db, OP_A, 1);
    let again = db.store.insert_profile(&NewProfile::available(OP_A, &iccid(1), TYPE));
    assert_eq!(again, Err(RepoError::Conflict));
    // ICCIDs are unique across operators too.
    let other = db.store.insert_profile(&NewProfile::available(OP_B, &iccid(1), "x"));
    assert_eq!(other, Err(RepoError::Conflict));
    assert_eq!(db.store.count_profiles(OP_A, TYPE, ProfileState::Available).unwrap(), 1);
}

fn operators_cannot_see_each_others_profiles(db: &TestDb) {
    add(db, OP_A, 1);
    assert_eq!(db.store.find_profile(OP_B, &iccid(1)).unwrap(), None);
    let hijack = db.store.transition_profile(OP_B, &iccid(1), ProfileState::Available, ProfileState::Unavailable);
    assert_eq!(hijack, Err(RepoError::NotFound));
    assert_eq!(db.store.count_profiles(OP_B, TYPE, ProfileState::Available).unwrap(), 0);
    assert_eq!(db.store.claim_available_profile(OP_B, TYPE, ProfileState::Allocated, None).unwrap(), None);
    assert_eq!(state_of(db, OP_A, 1), ProfileState::Available);
}

fn transitions_follow_the_life_cycle(db: &TestDb) {
    let created = add(db, OP_A, 1);
    use ProfileState::*;
    let mut last = created;
    for (from, to) in [
        (Available, Allocated),
        (Allocated, Confirmed),
        (Confirmed, Released),
        (Released, Downloaded),
        (Downloaded, Installed),
    ] {
        let moved = db.store.transition_profile(OP_A, &iccid(1), from, to).unwrap();
        assert_eq!(moved.state, to);
        assert_eq!((moved.id, moved.created_at), (last.id, last.created_at));
        assert!(moved.updated_at >= last.updated_at);
        assert_eq!(db.store.find_profile(OP_A, &iccid(1)).unwrap(), Some(moved.clone()));
        last = moved;
    }
}

fn transition_from_the_wrong_state_reports_the_actual_state(db: &TestDb) {
    add(db, OP_A, 1);
    let stale = db.store.transition_profile(OP_A, &iccid(1), ProfileState::Allocated, ProfileState::Confirmed);
    assert_eq!(stale, Err(RepoError::StateConflict { actual: ProfileState::Available }));
    assert_eq!(state_of(db, OP_A, 1), ProfileState::Available);
    let missing = db.store.transition_profile(OP_A, &iccid(9), ProfileState::Allocated, ProfileState::Confirmed);
    assert_eq!(missing, Err(RepoError::NotFound));
}

fn illegal_transitions_are_rejected_by_the_domain_rule(db: &TestDb) {
    use ProfileState::*;
    add(db, OP_A, 1);
    let skip = db.store.transition_profile(OP_A, &iccid(1), Available, Installed);
    assert_eq!(skip, Err(RepoError::IllegalTransition { from: Available, to: Installed }));
    assert_eq!(state_of(db, OP_A, 1), Available);
    let claim = db.store.claim_available_profile(OP_A, TYPE, Confirmed, None);
    assert_eq!(claim, Err(RepoError::IllegalTransition { from: Available, to: Confirmed }));
    assert_eq!(db.store.count_profiles(OP_A, TYPE, Available).unwrap(), 1);
    // Terminal: nothing leaves Installed.
    for (from, to) in [
        (Available, Allocated),
        (Allocated, Confirmed),
        (Confirmed, Released),
        (Released, Downloaded),
        (Downloaded, Installed),
    ] {
        db.store.transition_profile(OP_A, &iccid(1), from, to).unwrap();
    }
    let back = db.store.transition_profile(OP_A, &iccid(1), Installed, Available);
    assert_eq!(back, Err(RepoError::IllegalTransition { from: Installed, to: Available }));
}

/// Runs `f(i)` on `n` threads that start together; returns the results in thread order.
fn race<T: Send + 'static>(n: usize, f: impl Fn(usize) -> T + Send + Sync + 'static) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(n));
    let f = Arc::new(f);
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (barrier, f) = (barrier.clone(), f.clone());
            thread::spawn(move || {
                barrier.wait();
                f(i)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn racing_transitions_have_exactly_one_winner(db: &TestDb) {
    use ProfileState::*;
    for round in 0..5 {
        add(db, OP_A, round);
        db.store.transition_profile(OP_A, &iccid(round), Available, Allocated).unwrap();
        let store = db.store.clone();
        let results = race(4, move |_| store.transition_profile(OP_A, &iccid(round), Allocated, Confirmed));
        let winners = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(winners, 1, "round {round}: {results:?}");
        for lost in results.iter().filter(|r| r.is_err()) {
            assert_eq!(lost, &Err(RepoError::StateConflict { actual: Confirmed }));
        }
        assert_eq!(state_of(db, OP_A, round), Confirmed);
    }
}

/// `claimers` threads claim from a pool of `profiles`; checks each profile went to one claimer.
fn claim_race(db: &TestDb, profiles: u32, claimers: usize) {
    for n in 0..profiles {
        add(db, OP_A, n);
    }
    // Decoys: another operator's pool and another type must stay untouched.
    add(db, OP_B, 1000);
    db.store.insert_profile(&NewProfile::available(OP_A, &iccid(1001), "other-type")).unwrap();

    let store = db.store.clone();
    let results = race(claimers, move |i| {
        let (to, eid) = if i % 2 == 0 { (ProfileState::Allocated, None) } else { (ProfileState::Linked, Some(EID)) };
        store.claim_available_profile(OP_A, TYPE, to, eid).map(|claimed| (claimed, to, eid))
    });
    let mut claimed = HashSet::new();
    for result in &results {
        let (profile, to, eid) = result.as_ref().unwrap();
        if let Some(profile) = profile {
            assert_eq!((profile.state, profile.eid.as_deref()), (*to, *eid));
            assert_eq!((profile.operator_id.as_str(), profile.profile_type.as_str()), (OP_A, TYPE));
            assert!(claimed.insert(profile.iccid.clone()), "{} claimed twice", profile.iccid);
        }
    }
    let expected = claimers.min(profiles as usize);
    assert_eq!(claimed.len(), expected, "{results:?}");
    let left = i64::from(profiles) - expected as i64;
    assert_eq!(db.store.count_profiles(OP_A, TYPE, ProfileState::Available).unwrap(), left);
    let taken = db.store.count_profiles(OP_A, TYPE, ProfileState::Allocated).unwrap()
        + db.store.count_profiles(OP_A, TYPE, ProfileState::Linked).unwrap();
    assert_eq!(taken, expected as i64);
    assert_eq!(state_of(db, OP_B, 1000), ProfileState::Available);
    assert_eq!(state_of(db, OP_A, 1001), ProfileState::Available);
}

fn more_claimers_than_profiles_each_profile_claimed_once(db: &TestDb) {
    claim_race(db, 5, 8);
}

fn fewer_claimers_than_profiles_each_claimer_served(db: &TestDb) {
    claim_race(db, 10, 6);
}

fn back_to_available_clears_the_eid(db: &TestDb) {
    add(db, OP_A, 1);
    let linked = db.store.claim_available_profile(OP_A, TYPE, ProfileState::Linked, Some(EID)).unwrap().unwrap();
    assert_eq!(linked.eid.as_deref(), Some(EID));
    // ES2+ CancelOrder (§5.3.3) with finalProfileStatusIndicator = Available.
    let back = db.store.transition_profile(OP_A, &iccid(1), ProfileState::Linked, ProfileState::Available).unwrap();
    assert_eq!((back.state, back.eid), (ProfileState::Available, None));
    assert_eq!(
        db.store.claim_available_profile(OP_A, TYPE, ProfileState::Allocated, None).unwrap().map(|p| p.iccid),
        Some(iccid(1))
    );
}

fn migrate_twice_is_a_no_op(db: &TestDb) {
    // Every embedded migration, in order (later slices add theirs after these).
    assert!(
        db.first_migration.starts_with(&["20261124000000".to_owned(), "20261125000000".to_owned()]),
        "{:?}",
        db.first_migration
    );
    assert!(db.first_migration.contains(&"20261126000000".to_owned()), "the eIM migration: {:?}", db.first_migration);
    assert!(db.first_migration.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(db.store.migrate().unwrap(), Vec::<String>::new());
    add(db, OP_A, 1);
    assert_eq!(db.store.migrate().unwrap(), Vec::<String>::new());
    assert_eq!(state_of(db, OP_A, 1), ProfileState::Available);
}

fn ping_and_pool_state(db: &TestDb) {
    db.store.ping().unwrap();
    let state = db.store.pool_state();
    assert_eq!(state.max, POOL_SIZE);
    assert!(state.connections >= 1 && state.idle <= state.connections, "{state:?}");
    let expected = if db._dir.is_some() { "sqlite" } else { "postgres" };
    assert_eq!(db.store.backend_name(), expected);
}

// ---------------------------------------------------------------------------------------------
// Opening failures (need no server)
// ---------------------------------------------------------------------------------------------

fn open_error(url: DatabaseUrl) -> String {
    let mut settings = settings(url);
    settings.connect_timeout = Duration::from_secs(5);
    match Store::open(&settings) {
        Ok(_) => panic!("opened {}", settings.url),
        Err(e) => e.to_string(),
    }
}

static FAILED_CASE_SCHEMA: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

fn failing_case(db: &TestDb) {
    let schema = db._schema.as_ref().map(|s| s.name.clone());
    *FAILED_CASE_SCHEMA.lock().unwrap() = schema;
    add(db, OP_A, 1);
    panic!("deliberate failure: checks that the schema is dropped while unwinding");
}

#[test]
fn postgres_schema_is_dropped_when_a_case_fails() {
    let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
        return run_on_postgres("schema_is_dropped_when_a_case_fails", failing_case);
    };
    let unwound = std::panic::catch_unwind(|| run_on_postgres("schema_is_dropped_when_a_case_fails", failing_case));
    assert!(unwound.is_err());
    let schema = FAILED_CASE_SCHEMA.lock().unwrap().clone().unwrap();
    let mut admin = PgConnection::establish(&admin_url).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let left: Count = diesel::sql_query("SELECT count(*) AS n FROM pg_namespace WHERE nspname = $1")
        .bind::<diesel::sql_types::Text, _>(&schema)
        .get_result(&mut admin)
        .unwrap();
    assert_eq!(left.n, 0, "schema {schema} left behind");
    println!("schema_is_dropped_when_a_case_fails: ran on postgres (schema {schema} dropped)");
}

#[test]
fn postgres_unreachable_server_fails_fast_with_a_one_line_error() {
    let started = Instant::now();
    let message = open_error(DatabaseUrl::parse("postgres://postgres@127.0.0.1:1/test").unwrap());
    println!("{message}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert!(message.starts_with("cannot connect to postgres://postgres@127.0.0.1:1/test: "), "{message}");
    assert!(message.contains("127.0.0.1") && message.contains('1'), "{message}");
    assert!(!message.contains('\n'), "{message:?}");
}

#[test]
fn postgres_connect_error_hides_the_password() {
    let message = open_error(DatabaseUrl::parse("postgres://rspd:s3cret@127.0.0.1:1/test").unwrap());
    assert!(message.starts_with("cannot connect to postgres://rspd:***@127.0.0.1:1/test: "), "{message}");
    assert!(!message.contains("s3cret"), "{message}");
}

#[test]
fn sqlite_database_file_is_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rspd.db");
    let store = Store::open(&settings(DatabaseUrl::Sqlite { path: path.clone() })).unwrap();
    store.migrate().unwrap();
    drop(store);
    #[derive(diesel::QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    let mode: Mode = diesel::sql_query("PRAGMA journal_mode").get_result(&mut conn).unwrap();
    assert_eq!(mode.journal_mode, "wal");
}

#[test]
fn sqlite_unwritable_location_fails_with_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    // The parent "directory" is a regular file, so it cannot be created (even as root).
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let path = blocker.join("sub").join("rspd.db");
    let message = open_error(DatabaseUrl::Sqlite { path: path.clone() });
    println!("{message}");
    assert!(message.starts_with("cannot create directory "), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(!message.contains('\n'), "{message:?}");
}

#[test]
fn sqlite_path_that_is_a_directory_fails_with_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let message = open_error(DatabaseUrl::Sqlite { path: dir.path().to_owned() });
    println!("{message}");
    let expected = format!("cannot connect to sqlite://{}: ", dir.path().display());
    assert!(message.starts_with(&expected), "{message}");
    assert!(!message.contains('\n'), "{message:?}");
    assert!(Path::new(dir.path()).is_dir());
}

// ---------------------------------------------------------------------------------------------
// ES9+ download cases (orders, sessions, inbox)
// ---------------------------------------------------------------------------------------------

use rspd::smdp::session::{AuthenticatedUpdate, NewSession};
use rspd::smdp::{
    es2, BindError, DownloadRepository, InstallOutcome, MatchingId, OrderOutcome, ProfilePackageRecord, SessionState,
    TransactionId,
};

fn import(db: &TestDb, n: u32) -> String {
    let package = ProfilePackageRecord {
        iccid: iccid(n),
        operator_id: OP_A.into(),
        package_der: vec![0xA0, 0x00],
        service_provider_name: "sp".into(),
        profile_name: "p".into(),
        profile_class: 2,
    };
    db.store.import_profile_package(&package, TYPE).unwrap();
    iccid(n)
}

fn order(db: &TestDb, n: u32, matching_id: &str, cc: Option<&str>) -> rspd::smdp::OrderRecord {
    download_order(&db.store, OP_A, &iccid(n), None).unwrap();
    confirm_order(&db.store, OP_A, &iccid(n), &confirmation(matching_id, cc, true)).unwrap()
}

/// ConfirmOrder's input beyond the ICCID.
struct Confirmation {
    matching_id: MatchingId,
    eid: Option<rspd::smdp::Eid>,
    cc_hash: Option<[u8; 32]>,
    release: bool,
}

fn confirmation(matching_id: &str, cc: Option<&str>, release: bool) -> Confirmation {
    Confirmation {
        matching_id: MatchingId::new(matching_id).unwrap(),
        eid: None,
        cc_hash: cc.map(rspd::smdp::order::confirmation_code_digest),
        release,
    }
}

/// The value a fresh ES2+ call applied (a fresh functionCallIdentifier never replays).
fn applied<T>(result: Result<es2::Recorded<T>, es2::OrderError>) -> Result<T, es2::OrderError> {
    match result? {
        es2::Recorded::Applied { value, .. } => Ok(value),
        es2::Recorded::Replayed(call) => panic!("a fresh call was answered from {call:?}"),
    }
}

/// ES2+ DownloadOrder by ICCID, as the binding and `rspd order create` call it.
fn download_order(
    store: &Store,
    operator_id: &str,
    iccid: &str,
    eid: Option<&rspd::smdp::Eid>,
) -> Result<rspd::smdp::ProfileRecord, es2::OrderError> {
    let input = es2::DownloadOrderInput {
        eid: eid.cloned(),
        iccid: Some(iccid.to_owned()),
        profile_type: None,
        lock: Default::default(),
    };
    let call = es2::CallKey::local(operator_id, "downloadOrder").unwrap();
    applied(es2::download_order(store, &call, &input, &|_| String::new()))
}

/// ES2+ ConfirmOrder.
fn confirm_order(
    store: &Store,
    operator_id: &str,
    iccid: &str,
    c: &Confirmation,
) -> Result<rspd::smdp::OrderRecord, es2::OrderError> {
    let input = es2::ConfirmOrderInput {
        iccid: iccid.to_owned(),
        eid: c.eid.clone(),
        matching_id: Some(c.matching_id.clone()),
        cc_hash: c.cc_hash,
        smds_address: None,
        release: c.release,
        lock: None,
    };
    let call = es2::CallKey::local(operator_id, "confirmOrder").unwrap();
    applied(es2::confirm_order(store, &call, &input, &|_| String::new()))
}

/// ES2+ ReleaseProfile.
fn release_profile(
    store: &Store,
    operator_id: &str,
    iccid: &str,
) -> Result<rspd::smdp::ProfileRecord, es2::OrderError> {
    let call = es2::CallKey::local(operator_id, "releaseProfile").unwrap();
    applied(es2::release_profile(store, &call, iccid, &|_| String::new()))
}

fn session(db: &TestDb, expires_at: i64) -> String {
    let tx = TransactionId::generate().unwrap();
    db.store
        .insert_session(&NewSession {
            transaction_id: tx.clone(),
            server_address: "localhost:8443".into(),
            curve: rspd::pki::Curve::NistP256,
            ci_pkid: vec![1; 20],
            server_challenge: [2; 16],
            euicc_challenge: [3; 16],
            expires_at,
        })
        .unwrap();
    tx.to_hex()
}

fn update(order: &rspd::smdp::OrderRecord) -> AuthenticatedUpdate {
    update_for(order, EID)
}

fn update_for(order: &rspd::smdp::OrderRecord, eid: &str) -> AuthenticatedUpdate {
    AuthenticatedUpdate {
        eid: eid.into(),
        order_id: order.id,
        operator_id: order.operator_id.clone(),
        iccid: order.iccid.clone(),
        euicc_public_key: vec![4; 65],
        smdp_signature2: vec![5; 67],
        cc_required: order.cc_hash.is_some(),
    }
}

const FAR: i64 = i64::MAX / 2;

fn orders_release_the_profile_and_matching_ids_are_unique(db: &TestDb) {
    import(db, 10);
    import(db, 11);
    let o = order(db, 10, "MATCH-10", None);
    assert_eq!(o.state, ProfileState::Released);
    assert_eq!(db.store.find_order_by_matching_id("MATCH-10").unwrap().unwrap(), o);
    assert_eq!(db.store.find_profile(OP_A, &iccid(10)).unwrap().unwrap().state, ProfileState::Released);
    // The profile is no longer available for a second order.
    let not_available = |actual| es2::OrderError::NotAvailable { iccid: iccid(10), actual };
    assert_eq!(download_order(&db.store, OP_A, &iccid(10), None), Err(not_available(ProfileState::Released)));
    // A used matchingId is a conflict, and the failed ConfirmOrder rolled back: still Allocated, no order.
    download_order(&db.store, OP_A, &iccid(11), None).unwrap();
    assert_eq!(
        confirm_order(&db.store, OP_A, &iccid(11), &confirmation("MATCH-10", None, true)),
        Err(es2::OrderError::MatchingIdInUse("MATCH-10".into()))
    );
    assert_eq!(db.store.find_profile(OP_A, &iccid(11)).unwrap().unwrap().state, ProfileState::Allocated);
    // Another operator can neither order nor confirm this operator's profile.
    let unknown = es2::OrderError::UnknownProfile { iccid: iccid(11) };
    assert_eq!(download_order(&db.store, OP_B, &iccid(11), None), Err(unknown.clone()));
    assert_eq!(confirm_order(&db.store, OP_B, &iccid(11), &confirmation("MATCH-B", None, true)), Err(unknown));
}

/// DownloadOrder → ConfirmOrder → ReleaseProfile one step at a time (SGP.22 §5.3.1, §5.3.2, §5.3.4).
fn es2_steps_walk_the_profile_states(db: &TestDb) {
    import(db, 12);
    import(db, 13);
    // Without EID: Allocated; ConfirmOrder without release: Confirmed, not yet downloadable.
    assert_eq!(download_order(&db.store, OP_A, &iccid(12), None).unwrap().state, ProfileState::Allocated);
    let o = confirm_order(&db.store, OP_A, &iccid(12), &confirmation("STEP-12", None, false)).unwrap();
    assert_eq!((o.state, o.eid), (ProfileState::Confirmed, None));
    assert_eq!(db.store.find_order_for_eid(EID).unwrap(), None);
    // A second ConfirmOrder is refused; ReleaseProfile moves on, once.
    assert!(matches!(
        confirm_order(&db.store, OP_A, &iccid(12), &confirmation("STEP-12B", None, false)),
        Err(es2::OrderError::WrongState { actual: ProfileState::Confirmed, .. })
    ));
    assert_eq!(release_profile(&db.store, OP_A, &iccid(12)).unwrap().state, ProfileState::Released);
    assert!(release_profile(&db.store, OP_A, &iccid(12)).is_err());
    // With EID: Linked; ConfirmOrder keeps that EID, and refuses another one.
    let eid = rspd::smdp::Eid::new(EID).unwrap();
    let linked = download_order(&db.store, OP_A, &iccid(13), Some(&eid)).unwrap();
    assert_eq!((linked.state, linked.eid.as_deref()), (ProfileState::Linked, Some(EID)));
    let other_body = "890490320000000000000000000009";
    let other = format!("{other_body}{}", rspd::pki::eid::check_digits(other_body).unwrap());
    let mut c = confirmation("STEP-13", None, true);
    c.eid = Some(rspd::smdp::Eid::new(&other).unwrap());
    assert_eq!(confirm_order(&db.store, OP_A, &iccid(13), &c), Err(es2::OrderError::EidMismatch { iccid: iccid(13) }));
    let o = confirm_order(&db.store, OP_A, &iccid(13), &confirmation("STEP-13", None, true)).unwrap();
    assert_eq!((o.state, o.eid.as_deref()), (ProfileState::Released, Some(EID)));
    assert_eq!(db.store.find_order_for_eid(EID).unwrap().map(|o| o.matching_id), Some("STEP-13".into()));
}

fn racing_sessions_bind_one_order_once(db: &TestDb) {
    import(db, 20);
    let o = order(db, 20, "RACE", None);
    let sessions: Vec<String> = (0..8).map(|_| session(db, FAR)).collect();
    let barrier = Arc::new(Barrier::new(sessions.len()));
    // Eight different eUICCs (EIDs).
    let handles: Vec<_> = sessions
        .into_iter()
        .enumerate()
        .map(|(i, tx)| {
            let (store, barrier, o) = (db.store.clone(), barrier.clone(), o.clone());
            thread::spawn(move || {
                barrier.wait();
                store.bind_session_to_order(&tx, &o, &update_for(&o, &format!("8904903200000000000000000000000{i}")))
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().all(|r| r.is_ok() || matches!(r, Err(BindError::OrderTaken { .. }))), "{results:?}");

    // The winner's eUICC starting over takes the order over; the abandoned session is cancelled.
    let holder = db.store.find_order_by_matching_id("RACE").unwrap().unwrap().session_id.unwrap();
    let winner_eid = db.store.find_session(&holder).unwrap().unwrap().eid.unwrap();
    let again = session(db, FAR);
    db.store.bind_session_to_order(&again, &o, &update_for(&o, &winner_eid)).unwrap();
    assert_eq!(db.store.find_session(&holder).unwrap().unwrap().state, SessionState::Cancelled);
    // Another eUICC cannot.
    let other = session(db, FAR);
    assert!(
        matches!(db.store.bind_session_to_order(&other, &o, &update_for(&o, EID)), Err(BindError::OrderTaken { .. }))
            || winner_eid == EID
    );
}

fn bpp_is_stored_once_and_installation_is_idempotent(db: &TestDb) {
    import(db, 30);
    let o = order(db, 30, "BPP", None);
    let tx = session(db, FAR);
    db.store.bind_session_to_order(&tx, &o, &update(&o)).unwrap();
    // The challenge is single-use: binding again fails.
    assert_eq!(db.store.bind_session_to_order(&tx, &o, &update(&o)), Err(BindError::SessionGone));
    assert!(db.store.store_bpp(&tx, OP_A, &iccid(30), b"otpk", b"bpp").unwrap());
    assert!(!db.store.store_bpp(&tx, OP_A, &iccid(30), b"otpk2", b"bpp2").unwrap());
    let s = db.store.find_session(&tx).unwrap().unwrap();
    assert_eq!((s.state, s.bpp.as_deref()), (SessionState::BppDelivered, Some(&b"bpp"[..])));
    assert_eq!(db.store.find_profile(OP_A, &iccid(30)).unwrap().unwrap().state, ProfileState::Downloaded);
    assert_eq!(db.store.record_installation(&tx, true).unwrap(), InstallOutcome::Applied(ProfileState::Installed));
    assert_eq!(db.store.record_installation(&tx, true).unwrap(), InstallOutcome::AlreadyFinal(ProfileState::Installed));
    assert_eq!(db.store.find_session(&tx).unwrap().unwrap().state, SessionState::Completed);
}

fn expiry_releases_orders_of_unfinished_sessions(db: &TestDb) {
    import(db, 40);
    let o = order(db, 40, "EXP", None);
    let tx = session(db, 1_000);
    let fresh = session(db, FAR);
    db.store.bind_session_to_order(&tx, &o, &update(&o)).unwrap();
    assert_eq!(db.store.find_order_by_matching_id("EXP").unwrap().unwrap().session_id.as_deref(), Some(tx.as_str()));
    assert_eq!(db.store.expire_sessions(2_000).unwrap(), 1);
    assert_eq!(db.store.expire_sessions(2_000).unwrap(), 0);
    assert_eq!(db.store.find_session(&tx).unwrap().unwrap().state, SessionState::Expired);
    assert_eq!(db.store.find_session(&fresh).unwrap().unwrap().state, SessionState::Initiated);
    let o = db.store.find_order_by_matching_id("EXP").unwrap().unwrap();
    assert_eq!((o.session_id, o.state), (None, ProfileState::Released), "re-offered");
    // An ended session cannot be ended again.
    assert!(!db
        .store
        .end_session(&tx, &[SessionState::Authenticated], SessionState::Cancelled, OrderOutcome::Release)
        .unwrap());
}

fn confirmation_code_failures_block_the_order(db: &TestDb) {
    import(db, 50);
    let o = order(db, 50, "CC", Some("1234"));
    assert_eq!(db.store.record_confirmation_code_failure(OP_A, o.id).unwrap(), 2);
    assert_eq!(db.store.record_confirmation_code_failure(OP_A, o.id).unwrap(), 1);
    assert_eq!(db.store.find_order_by_matching_id("CC").unwrap().unwrap().state, ProfileState::Released);
    assert_eq!(db.store.record_confirmation_code_failure(OP_A, o.id).unwrap(), 0);
    assert_eq!(db.store.find_order_by_matching_id("CC").unwrap().unwrap().state, ProfileState::Error);
}

fn notification_inbox_round_trip(db: &TestDb) {
    let a = db.store.insert_notification(b"first").unwrap();
    let b = db.store.insert_notification(b"second").unwrap();
    let pending = db.store.unprocessed_notifications(10).unwrap();
    assert_eq!(pending.iter().map(|n| n.id).collect::<Vec<_>>(), vec![a, b]);
    assert_eq!(pending[0].pending_notification, b"first");
    db.store.mark_notification_processed(a, "ok").unwrap();
    assert_eq!(db.store.unprocessed_notifications(10).unwrap().len(), 1);
}
