//! Tenant isolation (issue 10): each defect reproduced as the hostile tester did, and shown fixed, on SQLite and
//! PostgreSQL. Part of the `fleet_api` test binary (no binary of its own: each one links the whole server).

use std::path::{Path, PathBuf};

use rspd::pki::test_pki::TestPkiPaths;
use serde_json::Value;

use crate::common::postgres::SchemaGuard;
use crate::common::{backends, issue_operator_client, ServerProcess, TestDir, TestServer, TestServerBuilder};
use crate::fleet_support::client;

/// A self-signed operator CA `CN=<cn>` (cert, key) written to `dir`.
fn make_ca(dir: &Path, cn: &str) -> (PathBuf, PathBuf) {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::extension::{BasicConstraints, KeyUsage};
    use openssl::x509::{X509Builder, X509NameBuilder};

    let key =
        PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(7).unwrap().to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap()).unwrap();
    b.append_extension(BasicConstraints::new().critical().ca().build().unwrap()).unwrap();
    b.append_extension(KeyUsage::new().critical().key_cert_sign().build().unwrap()).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    let (cert, key_path) = (dir.join(format!("{cn}.ca.pem")), dir.join(format!("{cn}.ca.key")));
    std::fs::write(&cert, b.build().to_pem().unwrap()).unwrap();
    std::fs::write(&key_path, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    (cert, key_path)
}

/// A client certificate `CN=<cn>[, O=<org>]` issued by `ca`, written to `dir` as `<file>.pem/.key`.
fn issue(ca: &(PathBuf, PathBuf), dir: &Path, file: &str, cn: &str, org: Option<&str>) -> (PathBuf, PathBuf) {
    let (cert, key) = issue_operator_client(&ca.0, &ca.1, cn, org);
    let (cert_path, key_path) = (dir.join(format!("{file}.pem")), dir.join(format!("{file}.key")));
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    (cert_path, key_path)
}

/// `rspd serve` with the identities in `identities` (TOML) on `postgres` or SQLite.
struct Tenants {
    dir: TestDir,
    server: ServerProcess,
    pki: TestPkiPaths,
    _schema: Option<SchemaGuard>,
}

impl Tenants {
    fn start(postgres: Option<&str>, identities: impl FnOnce(&Path) -> String) -> Tenants {
        Tenants::start_built(TestServer::builder(), postgres, identities)
    }

    /// As [`Tenants::start`], with the data dir (and its test PKI) created by `rspd serve` itself.
    fn start_fresh(postgres: Option<&str>, identities: impl FnOnce(&Path) -> String) -> Tenants {
        Tenants::start_built(TestServer::builder().generate_test_pki(), postgres, identities)
    }

    fn start_built(
        builder: TestServerBuilder,
        postgres: Option<&str>,
        identities: impl FnOnce(&Path) -> String,
    ) -> Tenants {
        let builder = builder.postgres(postgres);
        let identities = identities(builder.data_dir().parent().unwrap());
        let TestServer { dir, server, schema, .. } = builder.config_extra(&format!("\n{identities}")).start();
        let server = server.unwrap();
        let pki = TestPkiPaths::new(dir.data_dir().join("pki"));
        Tenants { dir, server, pki, _schema: schema }
    }

    fn operator_ca(&self) -> (PathBuf, PathBuf) {
        (self.pki.operator_ca_cert(), self.pki.operator_ca_key())
    }

    fn client(&self, identity: Option<(PathBuf, PathBuf)>) -> reqwest::Client {
        client(&self.pki.ci_cert(rspd::pki::Curve::NistP256), identity, &self.server)
    }

    async fn get(&self, client: &reqwest::Client, path: &str) -> (u16, String) {
        let r = client.get(self.server.operator_url(path)).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn whoami(&self, client: &reqwest::Client) -> (u16, Value) {
        let (status, text) = self.get(client, "/api/v1/whoami").await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// Defect 1: a certificate whose single CN reads `acme-es2-backend, O=ACME Mobile` was accepted as the operator
/// mapped to `CN=acme-es2-backend,O=ACME Mobile`. Names are now compared RDN by RDN; an identity with its own
/// `client_ca` only accepts certificates that CA issued.
#[tokio::test]
async fn a_subject_spelled_inside_one_attribute_is_not_the_operator() {
    for postgres in backends() {
        let own_ca_dir = tempfile::tempdir().unwrap();
        let own_ca = make_ca(own_ca_dir.path(), "op-c-ca");
        let own_ca_cert = own_ca.0.display().to_string();
        let env = Tenants::start(postgres.as_deref(), |_| {
            format!(
                "[[operator.identities]]\noperator_id = \"op-a\"\nsubject = \"CN=acme-es2-backend,O=ACME Mobile\"\n\
                 [[operator.identities]]\noperator_id = \"op-c\"\nsubject = \"CN=op-c\"\nclient_ca = \"{own_ca_cert}\"\n"
            )
        });
        let ca = env.operator_ca();
        let genuine = env.client(Some(issue(&ca, env.dir.path(), "genuine", "acme-es2-backend", Some("ACME Mobile"))));
        let spoof = env.client(Some(issue(&ca, env.dir.path(), "spoof", "acme-es2-backend, O=ACME Mobile", None)));

        let (status, body) = env.whoami(&genuine).await;
        assert_eq!((status, body["operatorId"].as_str()), (200, Some("op-a")), "{body}");
        let (status, body) = env.whoami(&spoof).await;
        assert_eq!(status, 403, "the spoofed subject must not be op-a: {body}");
        assert!(body["operatorId"].is_null(), "{body}");
        let log = env.server.log_with("no identity matches its subject", std::time::Duration::from_secs(10)).join("\n");
        assert!(log.contains("no identity matches its subject"), "the refusal is logged with its reason:\n{log}");

        // op-c names its own CA: the same subject from the shared operator CA is refused, from its CA accepted.
        let other_ca = env.client(Some(issue(&ca, env.dir.path(), "op-c-wrong-ca", "op-c", None)));
        let right_ca = env.client(Some(issue(&own_ca, env.dir.path(), "op-c-own-ca", "op-c", None)));
        assert_eq!(env.whoami(&other_ca).await.0, 403);
        let (status, body) = env.whoami(&right_ca).await;
        assert_eq!((status, body["operatorId"].as_str()), (200, Some("op-c")), "{body}");
        println!("impersonation refused on {}", if postgres.is_some() { "postgres" } else { "sqlite" });
    }
}

/// Defect 2: `/metrics` on the operator listener showed every operator's series to any operator. Only identities
/// marked `admin = true` may read it there now.
#[tokio::test]
async fn only_administrators_read_metrics_on_the_operator_listener() {
    for postgres in backends() {
        let env = Tenants::start(postgres.as_deref(), |_| {
            "[[operator.identities]]\noperator_id = \"op-a\"\nsubject = \"CN=op-a,O=RSPDTEST\"\n\
             [[operator.identities]]\noperator_id = \"ops\"\nsubject = \"CN=noc,O=RSPDTEST\"\nadmin = true\n"
                .to_owned()
        });
        let ca = env.operator_ca();
        let operator = env.client(Some(issue(&ca, env.dir.path(), "op-a", "op-a", Some("RSPDTEST"))));
        let admin = env.client(Some(issue(&ca, env.dir.path(), "noc", "noc", Some("RSPDTEST"))));

        let (status, text) = env.get(&operator, "/metrics").await;
        assert_eq!(status, 403, "{text}");
        assert!(!text.contains("rspd_"), "no series in the refusal: {text}");
        assert_eq!(env.whoami(&operator).await.1["admin"], false);

        let (status, text) = env.get(&admin, "/metrics").await;
        assert_eq!(status, 200);
        assert!(text.contains("rspd_build_info"), "{text}");
        assert_eq!(env.whoami(&admin).await.1["admin"], true);
    }
}

/// Defect 3: ids an operator saw were global sequences (order ids, audit `seq`, event ids, cursors) that told one
/// operator how busy the others were, and an id could be tried across kinds. They are opaque tokens now: not numbers,
/// unrelated between neighbours, and a token of one operator's order reads as "not found" to another, exactly
/// like garbage.
#[tokio::test]
async fn ids_an_operator_sees_are_opaque() {
    use crate::fleet_support::FleetEnv;
    for postgres in backends() {
        let env = FleetEnv::start(postgres.as_deref());
        let iccids: Vec<String> = (0..4).map(|n| crate::common::iccid("894977", n)).collect();
        for (n, i) in iccids.iter().enumerate() {
            env.profile(if n % 2 == 0 { "op-a" } else { "op-b" }, i, "iot");
        }
        env.order("op-a", &iccids[0], "ISO-A-1", None);
        env.order("op-b", &iccids[1], "ISO-B-1", None);
        env.order("op-a", &iccids[2], "ISO-A-2", None);
        env.order("op-b", &iccids[3], "ISO-B-2", None);

        let (status, page) = env.get(&env.b, "/api/v1/orders?limit=1").await;
        assert_eq!(status, 200, "{page}");
        let first = page["items"][0]["id"].as_str().unwrap_or_else(|| panic!("an opaque order id: {page}")).to_owned();
        let cursor = page["nextCursor"].as_str().unwrap().to_owned();
        let (_, next) = env.get(&env.b, &format!("/api/v1/orders?limit=1&cursor={cursor}")).await;
        let second = next["items"][0]["id"].as_str().unwrap().to_owned();
        for token in [&first, &second, &cursor] {
            assert!(token.len() == 22 && token.parse::<i64>().is_err(), "not a sequence number: {token}");
        }
        assert_eq!(next["items"][0]["matchingId"], "ISO-B-2", "the cursor still pages: {next}");

        // op-b's own token works for op-b; for op-a it is as unknown as garbage or a bare number.
        assert_eq!(env.get(&env.b, &format!("/api/v1/orders/{first}")).await.0, 200);
        let foreign = env.get(&env.a, &format!("/api/v1/orders/{first}")).await;
        assert_eq!(foreign.0, 404);
        assert_eq!(foreign, env.get(&env.a, "/api/v1/orders/AAAAAAAAAAAAAAAAAAAAAA").await);
        assert_eq!(foreign, env.get(&env.a, "/api/v1/orders/1").await);
        // A token of one kind is no id of another (an order token is not a campaign id).
        assert_eq!(env.get(&env.b, &format!("/api/v1/eim/campaigns/{first}")).await.0, 404);

        // The audit trail and the event stream: `seq`, event ids and cursors are tokens too.
        let (_, audit) = env.get(&env.b, "/api/v1/audit?kind=state&limit=2").await;
        let rows = audit["items"].as_array().unwrap();
        assert!(!rows.is_empty(), "{audit}");
        for r in rows {
            let seq = r["seq"].as_str().unwrap_or_else(|| panic!("an opaque seq: {r}"));
            assert!(seq.len() == 22 && seq.parse::<i64>().is_err(), "{r}");
            if r["targetKind"] == "order" {
                assert!(r["targetId"].as_str().unwrap().parse::<i64>().is_err(), "order target ids are opaque: {r}");
            }
        }
        assert!(audit["nextCursor"].as_str().is_some_and(|c| c.parse::<i64>().is_err()), "{audit}");
        // The order's history (its creation row) names it by the same token.
        let (_, shown) = env.get(&env.b, &format!("/api/v1/orders/{first}")).await;
        assert_eq!(shown["order"]["id"], first.as_str(), "{shown}");
    }
}

/// Defect 9 (part): `rspd.db` was created mode 0644 and the data directory 0755, so any local user could read
/// subscriber data. Both are created private now (0600 / 0700; SQLite's -wal/-shm files take the database's mode).
#[tokio::test]
async fn the_data_directory_and_database_are_private() {
    use std::os::unix::fs::PermissionsExt;
    for postgres in backends() {
        let env = Tenants::start_fresh(postgres.as_deref(), |_| String::new());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let data = env.dir.data_dir();
        assert_eq!(mode(&data), 0o700, "data_dir");
        assert_eq!(mode(&data.join("secrets/master.key")), 0o600);
        if postgres.is_none() {
            assert_eq!(mode(&data.join("rspd.db")), 0o600, "the SQLite database");
            let wal = data.join("rspd.db-wal");
            if wal.exists() {
                assert_eq!(mode(&wal), 0o600, "its WAL");
            }
        }
        assert!(env.whoami(&env.client(None)).await.0 == 401, "the server runs");
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// `SELECT COUNT(*) AS n …` straight from the database (no rspd code in between).
fn count(url: &rspd::config::DatabaseUrl, sql: &str) -> i64 {
    use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
    let rows: Vec<Count> = match url {
        rspd::config::DatabaseUrl::Sqlite { path } => {
            diesel::sql_query(sql).load(&mut SqliteConnection::establish(path.to_str().unwrap()).unwrap()).unwrap()
        }
        rspd::config::DatabaseUrl::Postgres { url } => {
            diesel::sql_query(sql).load(&mut PgConnection::establish(url).unwrap()).unwrap()
        }
    };
    rows[0].n
}

/// Defect 9 (audit): matchingIds, ICCIDs and EIDs sat inside the hash-chained audit trail, where they could never be
/// erased. The chain now hashes keyed digests; the clear values sit beside it, and an erasure blanks them while
/// `audit verify` still holds and the rows can still be found by the identifier.
#[tokio::test]
async fn audit_identifiers_are_erasable_without_breaking_the_chain() {
    use crate::fleet_support::FleetEnv;
    for postgres in backends() {
        let env = FleetEnv::start(postgres.as_deref());
        let iccid = crate::common::iccid("894988", 1);
        env.profile("op-a", &iccid, "iot");
        env.order("op-a", &iccid, "GDPR-1", Some("89049032123451234512345678901235"));
        let naming = |table: &str, value: &str| {
            count(
                &env.db_url,
                &format!(
                    "SELECT COUNT(*) AS n FROM {table} WHERE iccid = '{value}' OR eid = '{value}' \
                          OR matching_id = '{value}' OR target_id = '{value}' OR path LIKE '%{value}%'"
                ),
            )
        };
        let in_chain = |value: &str| naming("audit_log", value);
        let beside = |value: &str| naming("audit_identifiers", value);
        // A call that names the ICCID in its path, too.
        assert_eq!(env.get(&env.a, &format!("/api/v1/profiles/{iccid}")).await.0, 200);
        for value in [iccid.as_str(), "GDPR-1", "89049032123451234512345678901235"] {
            assert_eq!(in_chain(value), 0, "{value} in clear inside the hash chain");
            assert!(beside(value) > 0, "{value} kept beside the chain");
        }
        let (_, found) = env.get(&env.a, &format!("/api/v1/audit?target={iccid}")).await;
        let rows = found["items"].as_array().unwrap().clone();
        assert!(rows.iter().any(|r| r["iccid"] == iccid.as_str()), "shown in clear to its operator: {found}");
        assert!(rows.iter().any(|r| r["path"] == format!("/api/v1/profiles/{iccid}").as_str()), "{found}");

        // Another operator erases nothing of op-a's; op-a erases its rows.
        let erase = |client: &reqwest::Client, value: &str| {
            client.post(env.url("/api/v1/audit/erasures")).json(&serde_json::json!({ "identifier": value })).send()
        };
        let r = erase(&env.b, &iccid).await.unwrap();
        assert_eq!(r.json::<Value>().await.unwrap()["erased"], 0);
        let r = erase(&env.a, &iccid).await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.json::<Value>().await.unwrap()["erased"].as_i64().unwrap() >= 3, "profile, order and call rows");
        assert_eq!(beside(&iccid), 0, "the ICCID is gone");
        let (_, after) = env.get(&env.a, &format!("/api/v1/audit?target={iccid}")).await;
        let rows = after["items"].as_array().unwrap();
        assert_eq!(rows.len(), found["items"].as_array().unwrap().len(), "the rows stay, found by digest");
        assert!(rows.iter().all(|r| r["iccid"].is_null()), "{after}");
        assert!(!after.to_string().contains(&iccid), "{after}");
        assert!(env.store.verify_audit_chain().is_ok(), "the chain still verifies");

        // The administrator's command erases the rest (the EID, every operator).
        let config = env.dir.path().join("rspd.toml");
        let out = env
            .dir
            .run(&["--config", config.to_str().unwrap(), "audit", "erase", "89049032123451234512345678901235"], &[]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(!String::from_utf8_lossy(&out.stdout).contains("8904903212345"), "no EID echoed in clear");
        assert_eq!(beside("89049032123451234512345678901235"), 0);
        assert!(env.store.verify_audit_chain().is_ok());
    }
}

/// Defect 3 (matchingId): ConfirmOrder with a matchingId another operator uses must be refused (matchingIds are
/// global: the LPA presents nothing else), with exactly the answer an operator gets for a matchingId of its own
/// that is in use — nothing says whose it is.
#[tokio::test]
async fn a_matching_id_in_use_is_refused_alike_whoever_uses_it() {
    use crate::fleet_support::FleetEnv;
    use serde_json::json;
    for postgres in backends() {
        let env = FleetEnv::start(postgres.as_deref());
        let iccids: Vec<String> = (0..3).map(|n| crate::common::iccid("8949660000000", n)).collect();
        env.profile("op-a", &iccids[0], "iot");
        env.profile("op-b", &iccids[1], "iot");
        env.profile("op-b", &iccids[2], "iot");
        env.order("op-a", &iccids[0], "USED-BY-A", None);
        env.order("op-b", &iccids[1], "USED-BY-B", None);
        let header = |id: &str| json!({ "functionRequesterIdentifier": "backend-b", "functionCallIdentifier": id });
        let ordered = crate::fleet_support::es2_call(
            &env,
            &env.b,
            "downloadOrder",
            json!({ "header": header("d-1"), "iccid": iccids[2] }),
        )
        .await;
        assert_eq!(ordered["header"]["functionExecutionStatus"]["status"], "Executed-Success", "{ordered}");
        let confirm = |call: &'static str, matching_id: &'static str| json!({ "header": header(call), "iccid": iccids[2], "matchingId": matching_id, "releaseFlag": true });
        let foreign = crate::fleet_support::es2_call(&env, &env.b, "confirmOrder", confirm("c-1", "USED-BY-A")).await;
        let own = crate::fleet_support::es2_call(&env, &env.b, "confirmOrder", confirm("c-2", "USED-BY-B")).await;
        let data = |v: &Value, id: &str| {
            let mut d = v["header"]["functionExecutionStatus"].clone();
            d["statusCodeData"]["message"] =
                json!(d["statusCodeData"]["message"].as_str().unwrap_or("").replace(id, "<ID>"));
            d
        };
        assert_eq!(foreign["header"]["functionExecutionStatus"]["status"], "Failed", "{foreign}");
        assert_eq!(data(&foreign, "USED-BY-A"), data(&own, "USED-BY-B"), "{foreign} vs {own}");
        assert!(!foreign.to_string().contains("op-a"), "{foreign}");
    }
}
