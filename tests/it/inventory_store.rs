//! Sealed rows in the store, below the API (SQLite and, with `RSPD_TEST_POSTGRES_URL`, PostgreSQL): key rotation
//! resumes where it stopped (rows sealed under the old key after a pass, rows from before sealing existed), a
//! sealed value moved to another row does not open, and a store without the key refuses with a clear error.

use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use rspd::config::{DatabaseSettings, DatabaseUrl};
use rspd::secrets::{Keyring, MasterKey};
use rspd::smdp::{DownloadRepository, ProfilePackageRecord};
use rspd::store::Store;

const OP: &str = "op-a";

fn settings(url: DatabaseUrl) -> DatabaseSettings {
    DatabaseSettings {
        url,
        pool_size: 2,
        connect_timeout: Duration::from_secs(10),
        sqlite_busy_timeout: Duration::from_secs(10),
    }
}

fn ring(keys: &[u8]) -> Keyring {
    Keyring::new(keys.iter().map(|b| MasterKey::new([*b; 32])).collect()).unwrap()
}

fn iccid(n: u32) -> String {
    crate::common::iccid("8988239000009", n)
}

fn package(n: u32) -> ProfilePackageRecord {
    ProfilePackageRecord {
        iccid: iccid(n),
        operator_id: OP.into(),
        // Not parsed by the store: a recognisable plaintext is enough here.
        package_der: format!("PLAINTEXT-PACKAGE-{n:04}").into_bytes(),
        service_provider_name: "sp".into(),
        profile_name: "p".into(),
        profile_class: 2,
    }
}

fn sql(url: &DatabaseUrl, statement: &str) -> usize {
    match url {
        DatabaseUrl::Sqlite { path } => {
            diesel::sql_query(statement).execute(&mut SqliteConnection::establish(path.to_str().unwrap()).unwrap())
        }
        DatabaseUrl::Postgres { url } => {
            diesel::sql_query(statement).execute(&mut PgConnection::establish(url).unwrap())
        }
    }
    .unwrap()
}

fn case(url: DatabaseUrl) {
    let open = |keys: &[u8]| Store::open(&settings(url.clone())).unwrap().with_keyring(ring(keys));
    let old = open(&[1]);
    old.migrate().unwrap();
    for n in 1..=3 {
        old.import_profile_package(&package(n), "t").unwrap();
    }
    // A row from before sealing existed: in clear, no key id.
    old.import_profile_package(&package(4), "t").unwrap();
    let clear = format!(
        "UPDATE profile_packages SET key_id = NULL, package_der = {} WHERE iccid = '{}'",
        match &url {
            DatabaseUrl::Sqlite { .. } => format!("X'{}'", hex::encode(&package(4).package_der)),
            DatabaseUrl::Postgres { .. } => format!("'\\x{}'::bytea", hex::encode(&package(4).package_der)),
        },
        iccid(4)
    );
    assert_eq!(sql(&url, &clear), 1);
    assert_eq!(old.find_profile_package(OP, &iccid(4)).unwrap().unwrap().package_der, package(4).package_der);

    // Rotation pass 1 under [old, new], one row per transaction.
    let both = open(&[1, 2]);
    let report = both.reseal_all(1).unwrap();
    assert_eq!(report.resealed[0], ("profile_packages", 4), "{report:?}");
    // Meanwhile a server still on the old key seals another row: pass 2 picks up only that one.
    old.import_profile_package(&package(5), "t").unwrap();
    assert_eq!(both.reseal_all(10).unwrap().total(), 1);
    assert_eq!(both.reseal_all(10).unwrap().total(), 0, "nothing left: idempotent");
    let in_use = both.key_ids_in_use().unwrap();
    assert_eq!(in_use.len(), 1);
    assert!(in_use.contains(MasterKey::new([2; 32]).id().as_str()));

    // Only the new key is needed now.
    let new = open(&[2]);
    for n in 1..=5 {
        assert_eq!(new.find_profile_package(OP, &iccid(n)).unwrap().unwrap().package_der, package(n).package_der);
    }
    // Only the old key: a clear error naming the key, never a panic.
    let err = old.find_profile_package(OP, &iccid(1)).unwrap_err().to_string();
    assert!(err.contains("not configured") && err.contains(MasterKey::new([2; 32]).id().as_str()), "{err}");
    // No key at all.
    let none = Store::open(&settings(url.clone())).unwrap();
    assert!(none.find_profile_package(OP, &iccid(1)).unwrap_err().to_string().contains("no secrets master key"));

    // A sealed value copied into another row does not open there (the AAD binds table and primary key).
    let swap = format!(
        "UPDATE profile_packages SET package_der = (SELECT package_der FROM profile_packages WHERE iccid = '{}') \
         WHERE iccid = '{}'",
        iccid(1),
        iccid(2)
    );
    assert_eq!(sql(&url, &swap), 1);
    let err = new.find_profile_package(OP, &iccid(2)).unwrap_err().to_string();
    assert!(err.contains("altered or belongs to another row"), "{err}");
    assert!(!err.contains("PLAINTEXT"), "{err}");
    // No plaintext anywhere in the table.
    let rows = sql(&url, "UPDATE profile_packages SET profile_name = profile_name WHERE key_id IS NULL");
    assert_eq!(rows, 0, "every package sealed");
}

#[test]
fn rotation_resumes_and_sealed_rows_stay_bound_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    case(DatabaseUrl::Sqlite { path: dir.path().join("rspd.db") });
}

#[test]
fn rotation_resumes_and_sealed_rows_stay_bound_on_postgres() {
    let Ok(admin) = std::env::var("RSPD_TEST_POSTGRES_URL") else { return };
    let schema = crate::common::postgres::SchemaGuard::create(&admin);
    case(DatabaseUrl::Postgres { url: schema.url() });
}
