//! The hash-chained audit trail on SQLite and PostgreSQL (issue 5 item 7): state transitions are chained by the
//! database in their own transaction, calls are appended, `verify_audit_chain` / `rspd audit verify` find an edited,
//! deleted, inserted or moved row and a truncated end; appends from several "nodes" at once stay one chain, sealed
//! in batches by any of them (migration `…_audit_sealing`).

use std::time::Duration;

use crate::common::postgres::SchemaGuard;
use crate::common::{backends, database, iccid, TestDir};
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use rspd::audit::{ChainBreak, NewCall};
use rspd::config::DatabaseUrl;
use rspd::smdp::{NewProfile, ProfileRepository, ProfileState};
use rspd::store::{AuditVerifyError, Store};

struct Db {
    dir: TestDir,
    url: DatabaseUrl,
    store: Store,
    _schema: Option<SchemaGuard>,
}

/// The store without a secrets keyring (no profile packages are written here).
fn open_store(url: &DatabaseUrl) -> Store {
    Store::open_for_command(&rspd::config::DatabaseSettings {
        url: url.clone(),
        pool_size: 2,
        connect_timeout: Duration::from_secs(5),
        sqlite_busy_timeout: Duration::from_secs(5),
    })
    .unwrap()
}

fn db(pg: &Option<String>) -> Db {
    let dir = TestDir::new();
    let schema = pg.as_deref().map(SchemaGuard::create);
    let (url, _) = database(&dir, schema.as_ref());
    let store = open_store(&url);
    store.migrate().unwrap();
    Db { dir, url, store, _schema: schema }
}

impl Db {
    fn try_sql(&self, statement: &str) -> Result<usize, diesel::result::Error> {
        match &self.url {
            DatabaseUrl::Sqlite { path } => {
                let mut c = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
                rspd::store::register_sqlite_functions(&mut c).unwrap();
                diesel::sql_query(statement).execute(&mut c)
            }
            DatabaseUrl::Postgres { url } => {
                let mut c = PgConnection::establish(url).unwrap();
                diesel::sql_query(statement).execute(&mut c)
            }
        }
    }

    fn sql(&self, statement: &str) -> usize {
        self.try_sql(statement).unwrap()
    }

    /// What an attacker with DDL rights does first: drop the append-only guards.
    fn drop_guards(&self) {
        match &self.url {
            DatabaseUrl::Sqlite { .. } => {
                self.sql("DROP TRIGGER audit_log_append_only_update");
                self.sql("DROP TRIGGER audit_log_append_only_delete");
            }
            DatabaseUrl::Postgres { .. } => {
                self.sql("DROP TRIGGER audit_log_append_only ON audit_log");
            }
        }
    }

    /// Rows: 3 profile inserts, 2 transitions, 1 call = 6, sealed.
    fn fill(&self) {
        for n in 0..3 {
            self.store
                .insert_profile(&NewProfile {
                    operator_id: "op-a".into(),
                    iccid: iccid("894900", n),
                    profile_type: "iot".into(),
                    state: ProfileState::Available,
                    eid: None,
                })
                .unwrap();
        }
        self.store.reserve_profile("op-a", &iccid("894900", 1), None).unwrap();
        self.store
            .transition_profile("op-a", &iccid("894900", 1), ProfileState::Allocated, ProfileState::Confirmed)
            .unwrap();
        self.store
            .append_call(&NewCall {
                at_ms: 1,
                operator_id: Some("op-a".into()),
                actor_subject: Some("CN=x|y".into()),
                method: "GET".into(),
                path: "/api/v1/profiles".into(),
                status: 200,
                ..NewCall::default()
            })
            .unwrap();
        assert_eq!(self.store.seal_audit_trail().unwrap(), 6);
    }

    fn broken(&self) -> ChainBreak {
        match self.store.verify_audit_chain() {
            Err(AuditVerifyError::Broken { reason, .. }) => reason,
            other => panic!("expected a broken chain, got {other:?}"),
        }
    }
}

#[test]
fn transitions_and_calls_form_one_verified_chain() {
    for pg in backends() {
        let d = db(&pg);
        assert_eq!(d.store.verify_audit_chain().unwrap(), 0, "empty chain");
        d.fill();
        assert_eq!(d.store.verify_audit_chain().unwrap(), 6);
        let rows = d.store.audit_rows_after(0, 100).unwrap();
        let states: Vec<_> =
            rows.iter().filter(|r| r.kind == "state").map(|r| (r.from_state.clone(), r.to_state.clone())).collect();
        assert_eq!(
            states[3..],
            [
                (Some("available".to_owned()), Some("allocated".to_owned())),
                (Some("allocated".to_owned()), Some("confirmed".to_owned()))
            ]
        );
        assert!(rows.iter().all(|r| r.operator_id.as_deref() == Some("op-a")));
        assert_eq!(rows.last().unwrap().kind, "call");
        // A failed compare-and-set changes nothing and records nothing.
        assert!(d.store.reserve_profile("op-a", &iccid("894900", 1), None).is_err());
        assert_eq!(d.store.verify_audit_chain().unwrap(), 6);
        // Every hash the database wrote is the one rspd::audit computes (over the rows as the chain holds them).
        for r in &d.store.audit_chain_rows_after(0, 100).unwrap() {
            assert_eq!(rspd::audit::chain_hash(&r.prev_hash, r), r.hash);
        }
    }
}

#[test]
fn the_trail_refuses_updates_and_deletes() {
    for pg in backends() {
        let d = db(&pg);
        d.fill();
        for statement in [
            "UPDATE audit_log SET to_state = 'installed' WHERE seq = 4",
            "DELETE FROM audit_log WHERE seq = 6",
            "UPDATE audit_head SET seq = 5",
            "UPDATE audit_head SET seq = 9",
            "UPDATE audit_head SET seq = 7, hash = 'x'",
            "DELETE FROM audit_head",
        ] {
            let e = d.try_sql(statement).expect_err(statement).to_string();
            assert!(e.contains("append-only") || e.contains("only moves forward"), "{statement}: {e}");
        }
        if pg.is_some() {
            assert!(d.try_sql("TRUNCATE audit_log").is_err());
        }
        // Only the sealer chains a row: an INSERT that brings its own chain position is refused (SQLite) or has
        // it cleared (PostgreSQL); on PostgreSQL an unsealed row cannot be changed before it is sealed either.
        let forged = "INSERT INTO audit_log (at_ms, kind, seq, prev_hash, hash) VALUES (1, 'call', 7, 'a', 'b')";
        match &pg {
            None => {
                let e = d.try_sql(forged).unwrap_err().to_string();
                assert!(e.contains("chained by rspd"), "{e}");
            }
            Some(_) => {
                d.sql(forged);
                assert_eq!(d.sql("UPDATE audit_log SET hash = NULL WHERE seq = 7"), 0, "not chained at insert");
                let e = d.try_sql("UPDATE audit_log SET kind = 'state' WHERE seq IS NULL").unwrap_err();
                assert!(e.to_string().contains("append-only"), "{e}");
            }
        }
        let expected = if pg.is_some() { 7 } else { 6 };
        assert_eq!(d.store.verify_audit_chain().unwrap(), expected);
    }
}

#[test]
fn edited_deleted_moved_inserted_and_truncated_rows_are_found() {
    for pg in backends() {
        let d = db(&pg);
        d.fill();
        d.drop_guards();
        d.sql("UPDATE audit_log SET to_state = 'installed' WHERE seq = 4");
        assert_eq!(d.broken(), ChainBreak::Edited { seq: 4 });

        let d = db(&pg);
        d.fill();
        d.drop_guards();
        d.sql("DELETE FROM audit_log WHERE seq = 2");
        assert_eq!(d.broken(), ChainBreak::Sequence { expected: 2, found: 3 });

        let d = db(&pg);
        d.fill();
        d.drop_guards();
        d.sql("UPDATE audit_log SET seq = -1 WHERE seq = 2");
        d.sql("UPDATE audit_log SET seq = 2 WHERE seq = 3");
        d.sql("UPDATE audit_log SET seq = 3 WHERE seq = -1");
        assert_eq!(d.broken(), ChainBreak::Relinked { seq: 2 });

        // A row slipped in between: a new (validly appended) row renumbered into position 3.
        let d = db(&pg);
        d.fill();
        d.store.append_call(&NewCall { method: "POST".into(), path: "/forged".into(), ..NewCall::default() }).unwrap();
        d.store.seal_audit_trail().unwrap();
        d.drop_guards();
        d.sql("UPDATE audit_log SET seq = -seq WHERE seq >= 3 AND seq <= 6");
        d.sql("UPDATE audit_log SET seq = 3 WHERE seq = 7");
        d.sql("UPDATE audit_log SET seq = 1 - seq WHERE seq < 0");
        assert_eq!(d.broken(), ChainBreak::Relinked { seq: 3 });

        let d = db(&pg);
        d.fill();
        d.drop_guards();
        d.sql("DELETE FROM audit_log WHERE seq = 6");
        assert_eq!(d.broken(), ChainBreak::Head { last: 5, head_seq: 6 });
    }
}

#[test]
fn rspd_audit_verify_exit_codes() {
    for pg in backends() {
        let d = db(&pg);
        d.fill();
        let (_, db_line) = database(&d.dir, d._schema.as_ref());
        let config = d.dir.write_config(&db_line);
        let out = d.dir.run(&["--config", config.to_str().unwrap(), "audit", "verify"], &[]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("intact: 6 row(s)"));
        d.drop_guards();
        d.sql("UPDATE audit_log SET peer = '10.0.0.66:4242' WHERE seq = 6");
        let out = d.dir.run(&["--config", config.to_str().unwrap(), "audit", "verify"], &[]);
        assert_eq!(out.status.code(), Some(3));
        let line = crate::common::stderr_line(&out);
        assert!(line.contains("row seq 6") && line.contains("edited"), "{line}");
        let out = d.dir.run(&["--config", config.to_str().unwrap(), "audit", "list", "--after", "5"], &[]);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("\"path\":\"/api/v1/profiles\""));
    }
}

#[test]
fn concurrent_appends_from_several_nodes_stay_one_chain() {
    for pg in backends() {
        let d = db(&pg);
        // Two pools on one database: two rspd nodes.
        let nodes = [open_store(&d.url), open_store(&d.url)];
        std::thread::scope(|s| {
            for t in 0..6u32 {
                let node = nodes[t as usize % 2].clone();
                s.spawn(move || {
                    for n in 0..10u32 {
                        let id = iccid("894901", t * 100 + n);
                        node.insert_profile(&NewProfile {
                            operator_id: format!("op-{}", t % 2),
                            iccid: id.clone(),
                            profile_type: "iot".into(),
                            state: ProfileState::Available,
                            eid: None,
                        })
                        .unwrap();
                        node.reserve_profile(&format!("op-{}", t % 2), &id, None).unwrap();
                        node.append_call(&NewCall {
                            method: "GET".into(),
                            path: format!("/t{t}"),
                            ..NewCall::default()
                        })
                        .unwrap();
                        // Both nodes seal while the others write.
                        if n % 3 == t % 3 {
                            node.seal_audit_trail().unwrap();
                        }
                    }
                });
            }
        });
        // `thread::scope` returned: every writer has finished.
        assert_eq!(d.store.verify_audit_chain().unwrap(), 6 * 10 * 3);
    }
}
