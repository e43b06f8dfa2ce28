//! The contract suite of the SM-DP+ storage ports (SGP.22 v2.5): [`ProfileRepository`] (the §5.3 profile
//! inventory), [`DownloadRepository`] (packages, orders, ES9+ download sessions and the notification inbox, §3.1,
//! §5.6) and [`Es2Repository`] (ES2+ steps recorded with their answers, §5.3).
//!
//! Every `contract` case of `on_every_backend!` becomes three tests: `memory::<case>` (the in-memory reference
//! implementation, [`MemoryStore`]), `sqlite::<case>` (a migrated database file in a temporary directory, always)
//! and `postgres::<case>` (a fresh schema in the database named by `RSPD_TEST_POSTGRES_URL`, dropped afterwards even
//! when the case fails; skipped when the variable is unset). The cases cover compare-and-set transitions, operator
//! scoping (another operator's profile or order answers like an unknown one), pool claims racing across threads,
//! orders and sessions racing for one order, the redelivery of an order whose session expired before its BPP, and
//! the ES2+ progress events written with the changes they report. `sql_only` cases are about the SQL store itself
//! (migrations, the pool), as are the plain tests below them (opening failures, WAL mode, schema clean-up).

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::sync::{Barrier, Once};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::postgres::SchemaGuard;
use diesel::{Connection, PgConnection, RunQueryDsl};
use rspd::config::{DatabaseSettings, DatabaseUrl};
use rspd::smdp::es2::Es2Repository;
use rspd::smdp::{NewProfile, ProfileRepository, ProfileState, RepoError};
use rspd::store::memory::MemoryStore;
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

/// The ports under contract, as one object: every backend implements all of them.
trait Ports: ProfileRepository + DownloadRepository + Es2Repository + Sync {}
impl<T: ProfileRepository + DownloadRepository + Es2Repository + Sync + ?Sized> Ports for T {}

/// `contract` cases take `&dyn Ports` and become `memory::<case>`, `sqlite::<case>` and `postgres::<case>`;
/// `sql_only` cases take the SQL [`TestDb`] and become `sqlite::<case>` and `postgres::<case>`.
macro_rules! on_every_backend {
    (contract: [$($case:ident),* $(,)?], sql_only: [$($sql_case:ident),* $(,)?] $(,)?) => {
        mod memory {
            $( #[test] fn $case() { super::$case(&super::MemoryStore::new()) } )*
        }
        mod sqlite {
            $( #[test] fn $case() { super::run_on_sqlite(|db| super::$case(&db.store)) } )*
            $( #[test] fn $sql_case() { super::run_on_sqlite(super::$sql_case) } )*
        }
        mod postgres {
            $( #[test] fn $case() { super::run_on_postgres(stringify!($case), |db| super::$case(&db.store)) } )*
            $( #[test] fn $sql_case() { super::run_on_postgres(stringify!($sql_case), super::$sql_case) } )*
        }
    };
}

on_every_backend!(
    contract: [
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
        orders_release_the_profile_and_matching_ids_are_unique,
        es2_steps_walk_the_profile_states,
        racing_sessions_bind_one_order_once,
        bpp_is_stored_once_and_installation_is_idempotent,
        expiry_releases_orders_of_unfinished_sessions,
        confirmation_code_failures_block_the_order,
        notification_inbox_round_trip,
        another_operators_profile_and_order_answer_like_unknown_ones,
        a_session_expiring_before_its_bpp_hands_the_order_to_a_new_session,
        authentication_races_for_one_order_bind_one_session_and_report_the_other,
        download_facts_and_confirmation_code_refusals,
    ],
    sql_only: [migrate_twice_is_a_no_op, ping_and_pool_state],
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

fn add(store: &dyn Ports, operator: &str, n: u32) -> rspd::smdp::ProfileRecord {
    store.insert_profile(&NewProfile::available(operator, &iccid(n), TYPE)).unwrap()
}

fn state_of(store: &dyn Ports, operator: &str, n: u32) -> ProfileState {
    store.find_profile(operator, &iccid(n)).unwrap().unwrap().state
}

fn insert_and_find(store: &dyn Ports) {
    let inserted = add(store, OP_A, 1);
    assert!(inserted.id > 0);
    assert_eq!(inserted.operator_id, OP_A);
    assert_eq!(inserted.iccid, iccid(1));
    assert_eq!(inserted.profile_type, TYPE);
    assert_eq!(inserted.state, ProfileState::Available);
    assert_eq!(inserted.eid, None);
    assert!(inserted.created_at > 1_700_000_000_000, "unix ms: {}", inserted.created_at);
    assert_eq!(inserted.created_at, inserted.updated_at);

    assert_eq!(store.find_profile(OP_A, &iccid(1)).unwrap(), Some(inserted.clone()));
    assert_eq!(store.find_profile(OP_A, &iccid(2)).unwrap(), None);

    let linked = NewProfile {
        state: ProfileState::Linked,
        eid: Some(EID.to_owned()),
        ..NewProfile::available(OP_A, &iccid(2), TYPE)
    };
    let second = store.insert_profile(&linked).unwrap();
    assert!(second.id > inserted.id);
    assert_eq!(second.eid.as_deref(), Some(EID));
    assert_eq!(store.count_profiles(OP_A, TYPE, ProfileState::Available).unwrap(), 1);
    assert_eq!(store.count_profiles(OP_A, TYPE, ProfileState::Linked).unwrap(), 1);
    assert_eq!(store.count_profiles(OP_A, "other-type", ProfileState::Available).unwrap(), 0);
}

fn duplicate_iccid_is_a_conflict(store: &dyn Ports) {
    add(store, OP_A, 1);
    let again = store.insert_profile(&NewProfile::available(OP_A, &iccid(1), TYPE));
    assert_eq!(again, Err(RepoError::Conflict));
    // ICCIDs are unique across operators too.
    let other = store.insert_profile(&NewProfile::available(OP_B, &iccid(1), "x"));
    assert_eq!(other, Err(RepoError::Conflict));
    assert_eq!(store.count_profiles(OP_A, TYPE, ProfileState::Available).unwrap(), 1);
}

fn operators_cannot_see_each_others_profiles(store: &dyn Ports) {
    add(store, OP_A, 1);
    assert_eq!(store.find_profile(OP_B, &iccid(1)).unwrap(), None);
    let hijack = store.transition_profile(OP_B, &iccid(1), ProfileState::Available, ProfileState::Unavailable);
    assert_eq!(hijack, Err(RepoError::NotFound));
    assert_eq!(store.count_profiles(OP_B, TYPE, ProfileState::Available).unwrap(), 0);
    assert_eq!(store.claim_available_profile(OP_B, TYPE, ProfileState::Allocated, None).unwrap(), None);
    assert_eq!(state_of(store, OP_A, 1), ProfileState::Available);
}

fn transitions_follow_the_life_cycle(store: &dyn Ports) {
    let created = add(store, OP_A, 1);
    use ProfileState::*;
    let mut last = created;
    for (from, to) in [
        (Available, Allocated),
        (Allocated, Confirmed),
        (Confirmed, Released),
        (Released, Downloaded),
        (Downloaded, Installed),
    ] {
        let moved = store.transition_profile(OP_A, &iccid(1), from, to).unwrap();
        assert_eq!(moved.state, to);
        assert_eq!((moved.id, moved.created_at), (last.id, last.created_at));
        assert!(moved.updated_at >= last.updated_at);
        assert_eq!(store.find_profile(OP_A, &iccid(1)).unwrap(), Some(moved.clone()));
        last = moved;
    }
}

fn transition_from_the_wrong_state_reports_the_actual_state(store: &dyn Ports) {
    add(store, OP_A, 1);
    let stale = store.transition_profile(OP_A, &iccid(1), ProfileState::Allocated, ProfileState::Confirmed);
    assert_eq!(stale, Err(RepoError::StateConflict { actual: ProfileState::Available }));
    assert_eq!(state_of(store, OP_A, 1), ProfileState::Available);
    let missing = store.transition_profile(OP_A, &iccid(9), ProfileState::Allocated, ProfileState::Confirmed);
    assert_eq!(missing, Err(RepoError::NotFound));
}

fn illegal_transitions_are_rejected_by_the_domain_rule(store: &dyn Ports) {
    use ProfileState::*;
    add(store, OP_A, 1);
    let skip = store.transition_profile(OP_A, &iccid(1), Available, Installed);
    assert_eq!(skip, Err(RepoError::IllegalTransition { from: Available, to: Installed }));
    assert_eq!(state_of(store, OP_A, 1), Available);
    let claim = store.claim_available_profile(OP_A, TYPE, Confirmed, None);
    assert_eq!(claim, Err(RepoError::IllegalTransition { from: Available, to: Confirmed }));
    assert_eq!(store.count_profiles(OP_A, TYPE, Available).unwrap(), 1);
    // Terminal: nothing leaves Installed.
    for (from, to) in [
        (Available, Allocated),
        (Allocated, Confirmed),
        (Confirmed, Released),
        (Released, Downloaded),
        (Downloaded, Installed),
    ] {
        store.transition_profile(OP_A, &iccid(1), from, to).unwrap();
    }
    let back = store.transition_profile(OP_A, &iccid(1), Installed, Available);
    assert_eq!(back, Err(RepoError::IllegalTransition { from: Installed, to: Available }));
}

/// Runs `f(i)` on `n` threads that start together (scoped: they borrow the store); returns the results in thread
/// order.
fn race<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(n);
    thread::scope(|s| {
        let (barrier, f) = (&barrier, &f);
        let handles: Vec<_> = (0..n)
            .map(|i| {
                s.spawn(move || {
                    barrier.wait();
                    f(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn racing_transitions_have_exactly_one_winner(store: &dyn Ports) {
    use ProfileState::*;
    for round in 0..5 {
        add(store, OP_A, round);
        store.transition_profile(OP_A, &iccid(round), Available, Allocated).unwrap();
        let results = race(4, |_| store.transition_profile(OP_A, &iccid(round), Allocated, Confirmed));
        let winners = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(winners, 1, "round {round}: {results:?}");
        for lost in results.iter().filter(|r| r.is_err()) {
            assert_eq!(lost, &Err(RepoError::StateConflict { actual: Confirmed }));
        }
        assert_eq!(state_of(store, OP_A, round), Confirmed);
    }
}

/// `claimers` threads claim from a pool of `profiles`; checks each profile went to one claimer.
fn claim_race(store: &dyn Ports, profiles: u32, claimers: usize) {
    for n in 0..profiles {
        add(store, OP_A, n);
    }
    // Decoys: another operator's pool and another type must stay untouched.
    add(store, OP_B, 1000);
    store.insert_profile(&NewProfile::available(OP_A, &iccid(1001), "other-type")).unwrap();

    let results = race(claimers, |i| {
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
    assert_eq!(store.count_profiles(OP_A, TYPE, ProfileState::Available).unwrap(), left);
    let taken = store.count_profiles(OP_A, TYPE, ProfileState::Allocated).unwrap()
        + store.count_profiles(OP_A, TYPE, ProfileState::Linked).unwrap();
    assert_eq!(taken, expected as i64);
    assert_eq!(state_of(store, OP_B, 1000), ProfileState::Available);
    assert_eq!(state_of(store, OP_A, 1001), ProfileState::Available);
}

fn more_claimers_than_profiles_each_profile_claimed_once(store: &dyn Ports) {
    claim_race(store, 5, 8);
}

fn fewer_claimers_than_profiles_each_claimer_served(store: &dyn Ports) {
    claim_race(store, 10, 6);
}

fn back_to_available_clears_the_eid(store: &dyn Ports) {
    add(store, OP_A, 1);
    let linked = store.claim_available_profile(OP_A, TYPE, ProfileState::Linked, Some(EID)).unwrap().unwrap();
    assert_eq!(linked.eid.as_deref(), Some(EID));
    // ES2+ CancelOrder (§5.3.3) with finalProfileStatusIndicator = Available.
    let back = store.transition_profile(OP_A, &iccid(1), ProfileState::Linked, ProfileState::Available).unwrap();
    assert_eq!((back.state, back.eid), (ProfileState::Available, None));
    assert_eq!(
        store.claim_available_profile(OP_A, TYPE, ProfileState::Allocated, None).unwrap().map(|p| p.iccid),
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
    add(&db.store, OP_A, 1);
    assert_eq!(db.store.migrate().unwrap(), Vec::<String>::new());
    assert_eq!(state_of(&db.store, OP_A, 1), ProfileState::Available);
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
    add(&db.store, OP_A, 1);
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

fn import(store: &dyn Ports, n: u32) -> String {
    import_for(store, OP_A, n)
}

fn import_for(store: &dyn Ports, operator_id: &str, n: u32) -> String {
    let package = ProfilePackageRecord {
        iccid: iccid(n),
        operator_id: operator_id.into(),
        package_der: vec![0xA0, 0x00],
        service_provider_name: "sp".into(),
        profile_name: "p".into(),
        profile_class: 2,
    };
    store.import_profile_package(&package, TYPE).unwrap();
    iccid(n)
}

fn order(store: &dyn Ports, n: u32, matching_id: &str, cc: Option<&str>) -> rspd::smdp::OrderRecord {
    download_order(store, OP_A, &iccid(n), None).unwrap();
    confirm_order(store, OP_A, &iccid(n), &confirmation(matching_id, cc, true)).unwrap()
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
    store: &dyn Ports,
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
    store: &dyn Ports,
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
    store: &dyn Ports,
    operator_id: &str,
    iccid: &str,
) -> Result<rspd::smdp::ProfileRecord, es2::OrderError> {
    let call = es2::CallKey::local(operator_id, "releaseProfile").unwrap();
    applied(es2::release_profile(store, &call, iccid, &|_| String::new()))
}

fn session(store: &dyn Ports, expires_at: i64) -> String {
    let tx = TransactionId::generate().unwrap();
    store
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

fn orders_release_the_profile_and_matching_ids_are_unique(store: &dyn Ports) {
    import(store, 10);
    import(store, 11);
    let o = order(store, 10, "MATCH-10", None);
    assert_eq!(o.state, ProfileState::Released);
    assert_eq!(store.find_order_by_matching_id("MATCH-10").unwrap().unwrap(), o);
    assert_eq!(store.find_profile(OP_A, &iccid(10)).unwrap().unwrap().state, ProfileState::Released);
    // The profile is no longer available for a second order.
    let not_available = |actual| es2::OrderError::NotAvailable { iccid: iccid(10), actual };
    assert_eq!(download_order(store, OP_A, &iccid(10), None), Err(not_available(ProfileState::Released)));
    // A used matchingId is a conflict, and the failed ConfirmOrder rolled back: still Allocated, no order.
    download_order(store, OP_A, &iccid(11), None).unwrap();
    assert_eq!(
        confirm_order(store, OP_A, &iccid(11), &confirmation("MATCH-10", None, true)),
        Err(es2::OrderError::MatchingIdInUse("MATCH-10".into()))
    );
    assert_eq!(store.find_profile(OP_A, &iccid(11)).unwrap().unwrap().state, ProfileState::Allocated);
    // Another operator can neither order nor confirm this operator's profile.
    let unknown = es2::OrderError::UnknownProfile { iccid: iccid(11) };
    assert_eq!(download_order(store, OP_B, &iccid(11), None), Err(unknown.clone()));
    assert_eq!(confirm_order(store, OP_B, &iccid(11), &confirmation("MATCH-B", None, true)), Err(unknown));
}

/// DownloadOrder → ConfirmOrder → ReleaseProfile one step at a time (SGP.22 §5.3.1, §5.3.2, §5.3.4).
fn es2_steps_walk_the_profile_states(store: &dyn Ports) {
    import(store, 12);
    import(store, 13);
    // Without EID: Allocated; ConfirmOrder without release: Confirmed, not yet downloadable.
    assert_eq!(download_order(store, OP_A, &iccid(12), None).unwrap().state, ProfileState::Allocated);
    let o = confirm_order(store, OP_A, &iccid(12), &confirmation("STEP-12", None, false)).unwrap();
    assert_eq!((o.state, o.eid), (ProfileState::Confirmed, None));
    assert_eq!(store.find_order_for_eid(EID).unwrap(), None);
    // A second ConfirmOrder is refused; ReleaseProfile moves on, once.
    assert!(matches!(
        confirm_order(store, OP_A, &iccid(12), &confirmation("STEP-12B", None, false)),
        Err(es2::OrderError::WrongState { actual: ProfileState::Confirmed, .. })
    ));
    assert_eq!(release_profile(store, OP_A, &iccid(12)).unwrap().state, ProfileState::Released);
    assert!(release_profile(store, OP_A, &iccid(12)).is_err());
    // With EID: Linked; ConfirmOrder keeps that EID, and refuses another one.
    let eid = rspd::smdp::Eid::new(EID).unwrap();
    let linked = download_order(store, OP_A, &iccid(13), Some(&eid)).unwrap();
    assert_eq!((linked.state, linked.eid.as_deref()), (ProfileState::Linked, Some(EID)));
    let other_body = "890490320000000000000000000009";
    let other = format!("{other_body}{}", rspd::pki::eid::check_digits(other_body).unwrap());
    let mut c = confirmation("STEP-13", None, true);
    c.eid = Some(rspd::smdp::Eid::new(&other).unwrap());
    assert_eq!(confirm_order(store, OP_A, &iccid(13), &c), Err(es2::OrderError::EidMismatch { iccid: iccid(13) }));
    let o = confirm_order(store, OP_A, &iccid(13), &confirmation("STEP-13", None, true)).unwrap();
    assert_eq!((o.state, o.eid.as_deref()), (ProfileState::Released, Some(EID)));
    assert_eq!(store.find_order_for_eid(EID).unwrap().map(|o| o.matching_id), Some("STEP-13".into()));
}

fn racing_sessions_bind_one_order_once(store: &dyn Ports) {
    import(store, 20);
    let o = order(store, 20, "RACE", None);
    let sessions: Vec<String> = (0..8).map(|_| session(store, FAR)).collect();
    // Eight different eUICCs (EIDs).
    let results = race(sessions.len(), |i| {
        store.bind_session_to_order(&sessions[i], &o, &update_for(&o, &format!("8904903200000000000000000000000{i}")))
    });
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().all(|r| r.is_ok() || matches!(r, Err(BindError::OrderTaken { .. }))), "{results:?}");

    // The winner's eUICC starting over takes the order over; the abandoned session is cancelled.
    let holder = store.find_order_by_matching_id("RACE").unwrap().unwrap().session_id.unwrap();
    let winner_eid = store.find_session(&holder).unwrap().unwrap().eid.unwrap();
    let again = session(store, FAR);
    store.bind_session_to_order(&again, &o, &update_for(&o, &winner_eid)).unwrap();
    assert_eq!(store.find_session(&holder).unwrap().unwrap().state, SessionState::Cancelled);
    // Another eUICC cannot.
    let other = session(store, FAR);
    assert!(
        matches!(store.bind_session_to_order(&other, &o, &update_for(&o, EID)), Err(BindError::OrderTaken { .. }))
            || winner_eid == EID
    );
}

fn bpp_is_stored_once_and_installation_is_idempotent(store: &dyn Ports) {
    import(store, 30);
    let o = order(store, 30, "BPP", None);
    let tx = session(store, FAR);
    store.bind_session_to_order(&tx, &o, &update(&o)).unwrap();
    // The challenge is single-use: binding again fails.
    assert_eq!(store.bind_session_to_order(&tx, &o, &update(&o)), Err(BindError::SessionGone));
    assert!(store.store_bpp(&tx, OP_A, &iccid(30), b"otpk", b"bpp").unwrap());
    assert!(!store.store_bpp(&tx, OP_A, &iccid(30), b"otpk2", b"bpp2").unwrap());
    let s = store.find_session(&tx).unwrap().unwrap();
    assert_eq!((s.state, s.bpp.as_deref()), (SessionState::BppDelivered, Some(&b"bpp"[..])));
    assert_eq!(store.find_profile(OP_A, &iccid(30)).unwrap().unwrap().state, ProfileState::Downloaded);
    assert_eq!(store.record_installation(&tx, true).unwrap(), InstallOutcome::Applied(ProfileState::Installed));
    assert_eq!(store.record_installation(&tx, true).unwrap(), InstallOutcome::AlreadyFinal(ProfileState::Installed));
    assert_eq!(store.find_session(&tx).unwrap().unwrap().state, SessionState::Completed);
}

fn expiry_releases_orders_of_unfinished_sessions(store: &dyn Ports) {
    import(store, 40);
    let o = order(store, 40, "EXP", None);
    let tx = session(store, 1_000);
    let fresh = session(store, FAR);
    store.bind_session_to_order(&tx, &o, &update(&o)).unwrap();
    assert_eq!(store.find_order_by_matching_id("EXP").unwrap().unwrap().session_id.as_deref(), Some(tx.as_str()));
    assert_eq!(store.expire_sessions(2_000).unwrap(), 1);
    assert_eq!(store.expire_sessions(2_000).unwrap(), 0);
    assert_eq!(store.find_session(&tx).unwrap().unwrap().state, SessionState::Expired);
    assert_eq!(store.find_session(&fresh).unwrap().unwrap().state, SessionState::Initiated);
    let o = store.find_order_by_matching_id("EXP").unwrap().unwrap();
    assert_eq!((o.session_id, o.state), (None, ProfileState::Released), "re-offered");
    // An ended session cannot be ended again.
    assert!(!store
        .end_session(&tx, &[SessionState::Authenticated], SessionState::Cancelled, OrderOutcome::Release)
        .unwrap());
}

fn confirmation_code_failures_block_the_order(store: &dyn Ports) {
    import(store, 50);
    let o = order(store, 50, "CC", Some("1234"));
    assert_eq!(store.record_confirmation_code_failure(OP_A, o.id).unwrap(), 2);
    assert_eq!(store.record_confirmation_code_failure(OP_A, o.id).unwrap(), 1);
    assert_eq!(store.find_order_by_matching_id("CC").unwrap().unwrap().state, ProfileState::Released);
    assert_eq!(store.record_confirmation_code_failure(OP_A, o.id).unwrap(), 0);
    assert_eq!(store.find_order_by_matching_id("CC").unwrap().unwrap().state, ProfileState::Error);
}

fn notification_inbox_round_trip(store: &dyn Ports) {
    let a = store.insert_notification(b"first").unwrap();
    let b = store.insert_notification(b"second").unwrap();
    let pending = store.unprocessed_notifications(10).unwrap();
    assert_eq!(pending.iter().map(|n| n.id).collect::<Vec<_>>(), vec![a, b]);
    assert_eq!(pending[0].pending_notification, b"first");
    store.mark_notification_processed(a, "ok").unwrap();
    assert_eq!(store.unprocessed_notifications(10).unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Tenant isolation, redelivery, AuthenticateClient's write, GetBoundProfilePackage's read
// ---------------------------------------------------------------------------------------------

use rspd::smdp::download_repository::{AuthenticationOutcome, ExpiredSession, OrderKey, PackageSource};
use rspd::smdp::progress::{NotificationPoint, PointStatus, ProgressEvent};
use rspd::smdp::ProfileNames;

/// An ES2+ progress event (§5.3.5) of `OP_A`'s profile `iccid`, unique by `key`.
fn progress_event(iccid: &str, key: &str) -> ProgressEvent {
    let point = NotificationPoint::EligibilityAndRetryLimitCheck;
    ProgressEvent::new(OP_A, iccid, Some(EID), point, PointStatus::Success, key.to_owned())
}

/// Events waiting in the progress outbox.
fn pending_progress(store: &dyn Ports) -> i64 {
    store.progress_backlog(1_000).unwrap().pending
}

/// The event keys and profile types of every event waiting in the outbox, leased away by the claim.
fn claim_all_progress(store: &dyn Ports) -> Vec<(String, String)> {
    let mut claimed = Vec::new();
    loop {
        let now = rspd::clock::now_ms();
        let entries = store.claim_progress(now, 60_000, 100).unwrap();
        if entries.is_empty() {
            return claimed;
        }
        for entry in entries {
            store.progress_delivered(entry.id, now).unwrap();
            claimed.push((entry.event.event_key, entry.profile_type));
        }
    }
}

fn tid(hex: &str) -> TransactionId {
    TransactionId::from_hex(hex).unwrap()
}

/// Another operator's profile, package, device lock and order answer exactly as unknown ones do, and changing them
/// fails as for unknown ones; only the matchingId is global (ES9+ knows no operator), so it stays unique across
/// operators.
fn another_operators_profile_and_order_answer_like_unknown_ones(store: &dyn Ports) {
    import(store, 60);
    let o = order(store, 60, "TENANT-60", Some("1234"));
    let unknown = iccid(69);
    // Reads.
    assert_eq!(store.find_profile(OP_B, &iccid(60)).unwrap(), store.find_profile(OP_A, &unknown).unwrap());
    assert_eq!(store.find_profile(OP_B, &iccid(60)).unwrap(), None);
    assert_eq!(store.find_order_by_id(OP_A, o.id).unwrap(), Some(o.clone()));
    assert_eq!(store.find_order_by_id(OP_B, o.id).unwrap(), None);
    assert_eq!(store.find_order_by_id(OP_A, o.id + 1_000).unwrap(), None);
    assert!(store.stored_package(OP_A, &iccid(60)).unwrap().is_some());
    assert!(store.stored_package(OP_B, &iccid(60)).unwrap().is_none());
    assert!(store.stored_package(OP_A, &unknown).unwrap().is_none());
    assert!(store.find_profile_package(OP_B, &iccid(60)).unwrap().is_none());
    assert_eq!(store.device_lock(OP_A, &iccid(60)).unwrap(), Default::default());
    assert_eq!(store.device_lock(OP_B, &iccid(60)), Err(RepoError::NotFound));
    assert_eq!(store.device_lock(OP_A, &unknown), Err(RepoError::NotFound));
    assert_eq!(store.orders_of_profile(OP_A, &iccid(60)).unwrap(), vec![o.clone()]);
    assert_eq!(store.orders_of_profile(OP_B, &iccid(60)).unwrap(), Vec::new());
    assert_eq!(store.count_profiles(OP_B, TYPE, ProfileState::Released).unwrap(), 0);
    // Changes.
    let refused = store.transition_profile(OP_B, &iccid(60), ProfileState::Released, ProfileState::Error);
    assert_eq!(refused, Err(RepoError::NotFound));
    assert_eq!(store.reserve_profile(OP_B, &iccid(60), None), Err(RepoError::NotFound));
    assert_eq!(store.record_confirmation_code_failure(OP_B, o.id), Err(RepoError::NotFound));
    assert_eq!(store.record_confirmation_code_failure(OP_A, o.id + 1_000), Err(RepoError::NotFound));
    let tx = session(store, FAR);
    assert_eq!(store.refuse_confirmation_code(&tx, OP_B, o.id, true, &|_| None), Err(RepoError::NotFound));
    assert_eq!(store.find_session(&tx).unwrap().unwrap().state, SessionState::Initiated);
    let unchanged = store.find_order_by_id(OP_A, o.id).unwrap().unwrap();
    assert_eq!((unchanged.cc_attempts_left, unchanged.state), (3, ProfileState::Released));
    // The matchingId is taken for every operator.
    import_for(store, OP_B, 61);
    download_order(store, OP_B, &iccid(61), None).unwrap();
    assert_eq!(
        confirm_order(store, OP_B, &iccid(61), &confirmation("TENANT-60", None, true)),
        Err(es2::OrderError::MatchingIdInUse("TENANT-60".into()))
    );
    assert_eq!(store.find_profile(OP_B, &iccid(61)).unwrap().unwrap().state, ProfileState::Allocated);
    assert_eq!(store.find_order_by_matching_id("TENANT-60").unwrap(), Some(o));
}

/// The redelivery of a download (§3.1.3, issue 11): a session that expires before its BPP gives its order back, and
/// a new session claims it; a session that expires after its BPP keeps it (the BPP is out, a late
/// ProfileInstallationResult still completes it).
fn a_session_expiring_before_its_bpp_hands_the_order_to_a_new_session(store: &dyn Ports) {
    import(store, 70);
    let o = order(store, 70, "REDELIVER", None);
    let first = session(store, 1_000);
    store.bind_session_to_order(&first, &o, &update(&o)).unwrap();
    // Another eUICC's session cannot have it while the first holds it.
    let second = session(store, FAR);
    let other_eid = "89049032123451234512345678910062";
    let taken = store.bind_session_to_order(&second, &o, &update_for(&o, other_eid));
    assert_eq!(taken, Err(BindError::OrderTaken { state: ProfileState::Released }));
    assert_eq!(store.find_session(&second).unwrap().unwrap().state, SessionState::Initiated);
    let expired = store.expire_sessions_reporting(2_000).unwrap();
    assert_eq!(
        expired,
        vec![ExpiredSession {
            transaction_id: first.clone(),
            state: SessionState::Authenticated,
            operator_id: Some(OP_A.into()),
            iccid: Some(iccid(70)),
            eid: Some(EID.into()),
        }]
    );
    assert_eq!(store.find_session(&first).unwrap().unwrap().state, SessionState::Expired);
    assert_eq!(store.find_order_by_id(OP_A, o.id).unwrap().unwrap().session_id, None);
    // Redelivered: the new session claims the order and gets its BPP.
    store.bind_session_to_order(&second, &o, &update_for(&o, other_eid)).unwrap();
    let held = store.find_order_by_id(OP_A, o.id).unwrap().unwrap();
    assert_eq!((held.session_id.as_deref(), held.state), (Some(second.as_str()), ProfileState::Released));
    assert!(store.store_bpp(&second, OP_A, &iccid(70), b"otpk", b"bpp").unwrap());
    assert_eq!(store.find_profile(OP_A, &iccid(70)).unwrap().unwrap().state, ProfileState::Downloaded);

    // Expired after its BPP: the order stays with it, nobody else can claim it.
    import(store, 71);
    let kept = order(store, 71, "KEPT", None);
    let delivered = session(store, 3_000);
    store.bind_session_to_order(&delivered, &kept, &update(&kept)).unwrap();
    assert!(store.store_bpp(&delivered, OP_A, &iccid(71), b"otpk", b"bpp").unwrap());
    let expired = store.expire_sessions_reporting(4_000).unwrap();
    assert_eq!(
        expired.iter().map(|e| (e.transaction_id.as_str(), e.state)).collect::<Vec<_>>(),
        vec![(delivered.as_str(), SessionState::BppDelivered)]
    );
    let held = store.find_order_by_id(OP_A, kept.id).unwrap().unwrap();
    assert_eq!((held.session_id.as_deref(), held.state), (Some(delivered.as_str()), ProfileState::Downloaded));
    let late = session(store, FAR);
    assert_eq!(
        store.bind_session_to_order(&late, &kept, &update(&kept)),
        Err(BindError::OrderTaken { state: ProfileState::Downloaded })
    );
    // The ProfileInstallationResult after the expiry still completes the download, once.
    assert_eq!(store.record_installation(&delivered, true).unwrap(), InstallOutcome::Applied(ProfileState::Installed));
    assert_eq!(store.find_session(&delivered).unwrap().unwrap().state, SessionState::Completed);
    assert_eq!(
        store.record_installation(&delivered, true).unwrap(),
        InstallOutcome::AlreadyFinal(ProfileState::Installed)
    );
    // A session without a BPP has no installation to record.
    assert_eq!(store.record_installation(&first, true), Err(RepoError::NotFound));
}

/// AuthenticateClient's read and write (§5.6.3): two eUICCs' sessions read the same order and race to record the
/// claim; one binds, the other's write loses cleanly — its session cancelled (the serverChallenge is single-use)
/// and the operator's refusal event enqueued in the same step. A refusal cancels the session with its event.
fn authentication_races_for_one_order_bind_one_session_and_report_the_other(store: &dyn Ports) {
    import(store, 80);
    let o = order(store, 80, "AUTH-RACE", None);
    let sessions = [session(store, FAR), session(store, FAR)];
    let eids = [EID, "89049032123451234512345678910062"];
    // The read phase: each session and the order with its profile's facts.
    for tx in &sessions {
        let facts = store.authentication_facts(&tid(tx), Some(OrderKey::MatchingId("AUTH-RACE"))).unwrap();
        assert_eq!(facts.session.map(|s| s.state), Some(SessionState::Initiated));
        let order = facts.order.unwrap();
        assert_eq!(order.order, o);
        assert_eq!(order.device_lock, Default::default());
        let names = ProfileNames {
            iccid: iccid(80),
            service_provider_name: "sp".into(),
            profile_name: "p".into(),
            profile_class: 2,
        };
        assert_eq!(order.names, Some(names));
    }
    let no_order = store.authentication_facts(&tid(&sessions[0]), Some(OrderKey::MatchingId("NONE"))).unwrap();
    assert!(no_order.session.is_some() && no_order.order.is_none());
    let pending = pending_progress(store);
    let results = race(2, |i| {
        let update = update_for(&o, eids[i]);
        let progress = progress_event(&iccid(80), &format!("bound-{i}"));
        let lost = |_: &BindError| Some(progress_event(&iccid(80), &format!("lost-{i}")));
        let outcome =
            AuthenticationOutcome::Bind { order: &o, update: &update, progress: Some(&progress), lost: &lost };
        store.record_authentication(&tid(&sessions[i]), outcome).unwrap()
    });
    let winner = results.iter().position(Result::is_ok).unwrap_or_else(|| panic!("{results:?}"));
    let loser = 1 - winner;
    assert_eq!(results[loser], Err(BindError::OrderTaken { state: ProfileState::Released }), "{results:?}");
    assert_eq!(store.find_session(&sessions[winner]).unwrap().unwrap().state, SessionState::Authenticated);
    assert_eq!(store.find_session(&sessions[loser]).unwrap().unwrap().state, SessionState::Cancelled);
    let held = store.find_order_by_matching_id("AUTH-RACE").unwrap().unwrap();
    assert_eq!(held.session_id.as_deref(), Some(sessions[winner].as_str()));
    // The winner's event and the loser's refusal, each with the profile's type.
    assert_eq!(pending_progress(store), pending + 2);
    let mut claimed = claim_all_progress(store);
    claimed.sort();
    let mut expected = vec![(format!("bound-{winner}"), TYPE.to_owned()), (format!("lost-{loser}"), TYPE.to_owned())];
    expected.sort();
    assert_eq!(claimed, expected);

    // The winner's challenge is used: writing it again loses (session gone) and leaves the session as it is.
    let update = update_for(&o, eids[winner]);
    let again = AuthenticationOutcome::Bind { order: &o, update: &update, progress: None, lost: &|_| None };
    assert_eq!(store.record_authentication(&tid(&sessions[winner]), again).unwrap(), Err(BindError::SessionGone));
    assert_eq!(store.find_session(&sessions[winner]).unwrap().unwrap().state, SessionState::Authenticated);
    // A refusal: the session cancelled and the operator told.
    let refused = session(store, FAR);
    let event = progress_event(&iccid(80), "refused");
    let refusal = AuthenticationOutcome::Refuse { progress: Some(&event) };
    assert_eq!(store.record_authentication(&tid(&refused), refusal).unwrap(), Ok(()));
    assert_eq!(store.find_session(&refused).unwrap().unwrap().state, SessionState::Cancelled);
    assert_eq!(claim_all_progress(store), vec![("refused".to_owned(), TYPE.to_owned())]);
    assert_eq!(store.find_order_by_matching_id("AUTH-RACE").unwrap().unwrap(), held);
}

/// GetBoundProfilePackage's read (§5.6.2) gives the confirmation code hash and the package for an Authenticated
/// session only; a wrong confirmation code (§3.1.3.1) uses an attempt, cancels the session and frees the order, and
/// the last attempt blocks it (profile → Error); a missing code uses none.
fn download_facts_and_confirmation_code_refusals(store: &dyn Ports) {
    import(store, 90);
    let o = order(store, 90, "CC-FACTS", Some("1234"));
    let tx = session(store, FAR);
    let facts = store.download_facts(&tid(&tx)).unwrap();
    assert_eq!(facts.session.map(|s| s.state), Some(SessionState::Initiated));
    assert!(facts.cc_hash.is_none() && facts.package.is_none());
    store.bind_session_to_order(&tx, &o, &update(&o)).unwrap();
    let facts = store.download_facts(&tid(&tx)).unwrap();
    assert_eq!(facts.cc_hash, Some(rspd::smdp::order::confirmation_code_digest("1234").to_vec()));
    let package = facts.package.unwrap();
    assert_eq!((package.operator_id.as_str(), package.iccid.as_str()), (OP_A, iccid(90).as_str()));
    assert!(matches!(&package.source, PackageSource::Prepared(p) if p.package_der == [0xA0, 0x00]));
    assert_eq!(package.to_package().unwrap().profile_name, "p");
    let unknown = store.download_facts(&tid("00112233445566778899AABBCCDDEEFF")).unwrap();
    assert!(unknown.session.is_none() && unknown.cc_hash.is_none() && unknown.package.is_none());

    // A wrong code: one attempt used, the session cancelled, the order free again, the event enqueued.
    let pending = pending_progress(store);
    let left_event = |left: i32| Some(progress_event(&iccid(90), &format!("cc-{left}")));
    assert_eq!(store.refuse_confirmation_code(&tx, OP_A, o.id, true, &left_event).unwrap(), 2);
    assert_eq!(store.find_session(&tx).unwrap().unwrap().state, SessionState::Cancelled);
    let freed = store.find_order_by_id(OP_A, o.id).unwrap().unwrap();
    assert_eq!((freed.session_id, freed.cc_attempts_left, freed.state), (None, 2, ProfileState::Released));
    assert_eq!(pending_progress(store), pending + 1);
    let facts = store.download_facts(&tid(&tx)).unwrap();
    assert!(facts.cc_hash.is_none() && facts.package.is_none(), "a cancelled session reads nothing");
    // A missing code: no attempt used, the session cancelled all the same.
    let missing = session(store, FAR);
    store.bind_session_to_order(&missing, &o, &update(&o)).unwrap();
    assert_eq!(store.refuse_confirmation_code(&missing, OP_A, o.id, false, &|_| None).unwrap(), 2);
    assert_eq!(store.find_session(&missing).unwrap().unwrap().state, SessionState::Cancelled);
    // The last attempts: at 0 the profile is blocked, and no session can claim the order any more.
    for expected_left in [1, 0] {
        let next = session(store, FAR);
        store.bind_session_to_order(&next, &o, &update(&o)).unwrap();
        assert_eq!(store.refuse_confirmation_code(&next, OP_A, o.id, true, &left_event).unwrap(), expected_left);
        assert_eq!(store.find_session(&next).unwrap().unwrap().state, SessionState::Cancelled);
    }
    let blocked = store.find_order_by_id(OP_A, o.id).unwrap().unwrap();
    assert_eq!((blocked.session_id, blocked.cc_attempts_left, blocked.state), (None, 0, ProfileState::Error));
    let late = session(store, FAR);
    let refused = store.bind_session_to_order(&late, &o, &update(&o));
    assert_eq!(refused, Err(BindError::OrderTaken { state: ProfileState::Error }));
    let mut keys: Vec<String> = claim_all_progress(store).into_iter().map(|(key, _)| key).collect();
    keys.sort();
    assert_eq!(keys, ["cc-0", "cc-1", "cc-2"]);

    // Without a confirmation code the read gives no hash; after the BPP it gives no package (a retry needs none).
    import(store, 91);
    let plain = order(store, 91, "NO-CC", None);
    let tx = session(store, FAR);
    store.bind_session_to_order(&tx, &plain, &update(&plain)).unwrap();
    let facts = store.download_facts(&tid(&tx)).unwrap();
    assert!(facts.cc_hash.is_none() && facts.package.is_some());
    assert!(store.store_bpp(&tx, OP_A, &iccid(91), b"otpk", b"bpp").unwrap());
    let facts = store.download_facts(&tid(&tx)).unwrap();
    assert_eq!(facts.session.map(|s| s.state), Some(SessionState::BppDelivered));
    assert!(facts.cc_hash.is_none() && facts.package.is_none());
}
