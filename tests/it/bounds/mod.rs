//! Issue 10 items 7 and 8 against the real `rspd serve` (SQLite and, with `RSPD_TEST_POSTGRES_URL`, PostgreSQL):
//! - an all-or-nothing upload retried with its `Idempotency-Key` gets its first answer byte for byte (without the
//!   key the retry is the "already exists" 422 of the defect); the same key with another body is refused; keys are
//!   scoped by operator;
//! - a profile package whose `fillFileOffset`s add up past 64 KiB is refused per item with a clear reason, and the
//!   server keeps serving; `[content]` caps the items of one upload;
//! - a handleNotification body that is not a DER PendingNotification is answered 204 and not stored;
//! - the retention sweep deletes only rows that are finished and older than their age.
//!
//! (ePR notifications forwarded only after the result is verified: `tests/eim_relay.rs`.)

use reqwest::header::HeaderMap;
use rspd::codec::tlv::{self, Tag};
use rspd::config::{DatabaseUrl, RetentionAges};
use serde_json::{json, Value};

use crate::es9_harness::{backends, handle_notification, iccid, ts48_template, Env};
use crate::inventory_support::*;

/// Keeps the server's own retention job from touching what a test arranges (every age 0 = keep).
const KEEP_EVERYTHING: &str = "\n[retention]\nprocessed_notification_age_secs = 0\ndelivered_bpp_grace_secs = 0\n\
     finished_eim_package_age_secs = 0\nes2_call_age_secs = 0\ndelivered_outbox_age_secs = 0\n\
     idempotency_key_age_secs = 0\n";

fn start_bounded(pg: Option<&str>, extra: &str) -> Env {
    Env::start_full(pg, |_| String::new(), &format!("{}{KEEP_EVERYTHING}{extra}", identities()))
}

/// One operator call with an optional `Idempotency-Key`: status, headers and the body bytes as sent.
async fn raw_call(
    ops: &Operators,
    client: &reqwest::Client,
    method: &str,
    path: &str,
    body: &Value,
    key: Option<&str>,
) -> (u16, HeaderMap, Vec<u8>) {
    let url = format!("{}{path}", ops.base);
    let mut request = if method == "PUT" { client.put(url) } else { client.post(url) };
    request = request.header("Content-Type", "application/json").body(body.to_string());
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

#[tokio::test]
async fn idempotent_upload_retry_returns_the_first_answer() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let env = start_bounded(pg.as_deref(), "");
        let ops = Operators::new(&env);
        let iot = json!({ "serviceProviderName": "ACME IoT", "profileName": "ACME data" });
        let (code, _, body) = raw_call(&ops, &ops.a, "PUT", "/api/v1/profile-types/iot", &iot, Some("type-1")).await;
        assert_eq!(code, 200, "{}", json_of(&body));

        let upload = json!({ "profileType": "iot", "allOrNothing": true, "profiles": [
            { "package": b64(&prepared(&template, &iccid(201))) },
            { "package": b64(&prepared(&template, &iccid(202))) },
        ]});
        let (code, headers, first) = raw_call(&ops, &ops.a, "POST", "/api/v1/profiles", &upload, Some("up-1")).await;
        assert_eq!(code, 200, "{}", json_of(&first));
        assert_eq!(json_of(&first)["written"], 2);
        assert!(headers.get("idempotent-replayed").is_none());

        // The defect: the committed upload retried without a key is "already exists" for every row.
        let (code, _, again) = raw_call(&ops, &ops.a, "POST", "/api/v1/profiles", &upload, None).await;
        assert_eq!(code, 422, "{}", json_of(&again));
        assert!(json_of(&again)["items"][0]["reason"].as_str().unwrap().contains("already exists"));

        // Fixed: the retry with the key is the first answer, byte for byte.
        let (code, headers, replay) = raw_call(&ops, &ops.a, "POST", "/api/v1/profiles", &upload, Some("up-1")).await;
        assert_eq!((code, replay.as_slice()), (200, first.as_slice()));
        assert_eq!(headers["idempotent-replayed"], "true");
        assert_eq!(headers["content-type"], "application/json");

        // The same key with another body: refused, and nothing written.
        let other =
            json!({ "profileType": "iot", "profiles": [{ "package": b64(&prepared(&template, &iccid(203))) }] });
        let (code, _, refused) = raw_call(&ops, &ops.a, "POST", "/api/v1/profiles", &other, Some("up-1")).await;
        assert_eq!(code, 422, "{}", json_of(&refused));
        assert!(json_of(&refused)["error"].as_str().unwrap().contains("Idempotency-Key"), "{}", json_of(&refused));
        let (_, stock) = ops.call(&ops.a, "GET", "/api/v1/stock", None).await;
        assert_eq!(stock_of(&stock, "iot").unwrap()["available"], 2, "{stock}");

        // Keys are per operator: B's "up-1" is B's own request (B has no type "iot").
        let (code, headers, b_answer) = raw_call(&ops, &ops.b, "POST", "/api/v1/profiles", &upload, Some("up-1")).await;
        assert_eq!(code, 404, "{}", json_of(&b_answer));
        assert!(headers.get("idempotent-replayed").is_none());

        // Other state-changing calls take it too (PUT of a type): replayed.
        let (code, headers, _) = raw_call(&ops, &ops.a, "PUT", "/api/v1/profile-types/iot", &iot, Some("type-1")).await;
        assert_eq!((code, headers["idempotent-replayed"].to_str().unwrap()), (200, "true"));
        // A key that is no key.
        let long = "k".repeat(201);
        let (code, _, _) = raw_call(&ops, &ops.a, "POST", "/api/v1/profiles", &upload, Some(&long)).await;
        assert_eq!(code, 400);
    }
}

/// The prepared package with `offsets` `fillFileOffset 65535` commands put in front of EF.ICCID's fill commands
/// (PE-MF `B0`, `ef-iccid [4]`).
fn with_offset_bomb(package: &[u8], offsets: usize) -> Vec<u8> {
    let elements = tlv::parse_all(package).unwrap();
    let mut out = Vec::new();
    for element in elements {
        if element.tag() != Tag(0xB0) {
            out.extend_from_slice(element.raw());
            continue;
        }
        let mut value = Vec::new();
        for child in element.children().unwrap() {
            if child.tag() != Tag(0xA4) {
                value.extend_from_slice(child.raw());
                continue;
            }
            let mut file = Vec::new();
            let commands = child.children().unwrap();
            let fill_at = commands.iter().position(|c| c.tag() == Tag(0x82) || c.tag() == Tag(0x83)).unwrap();
            for c in &commands[..fill_at] {
                file.extend_from_slice(c.raw());
            }
            for _ in 0..offsets {
                file.extend_from_slice(&[0x82, 0x03, 0x00, 0xFF, 0xFF]);
            }
            for c in &commands[fill_at..] {
                file.extend_from_slice(c.raw());
            }
            value.extend(tlv::encode(Tag(0xA4), &file));
        }
        out.extend(tlv::encode(Tag(0xB0), &value));
    }
    out
}

#[tokio::test]
async fn fill_file_offset_bomb_is_refused_with_a_clear_error() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let env = start_bounded(pg.as_deref(), "\n[content]\nmax_upload_items = 3\n");
        let ops = Operators::new(&env);
        let (code, t) = ops
            .call(&ops.a, "PUT", "/api/v1/profile-types/iot", Some(json!({ "serviceProviderName": "ACME IoT" })))
            .await;
        assert_eq!(code, 200, "{t}");

        // 20 000 offsets of 65535: 1.3 GB asked of the allocator before the fix (15 million in a 64 MiB body:
        // ~10^12 bytes, the process aborted).
        let bomb = with_offset_bomb(&prepared(&template, &iccid(301)), 20_000);
        let body = json!({ "profileType": "iot", "profiles": [
            { "package": b64(&bomb) },
            { "package": b64(&prepared(&template, &iccid(302))) },
        ]});
        let (code, report) = ops.call(&ops.a, "POST", "/api/v1/profiles", Some(body)).await;
        assert_eq!(code, 200, "{report}");
        assert_eq!(statuses(&report), ["error", "ok"], "{report}");
        let reason = report["items"][0]["reason"].as_str().unwrap();
        assert!(reason.contains("ef-iccid") && reason.contains("65535"), "{reason}");

        // `[content] max_upload_items`: four profiles in one request are refused whole.
        let four: Vec<Value> =
            (0..4).map(|n| json!({ "package": b64(&prepared(&template, &iccid(310 + n))) })).collect();
        let (code, refused) =
            ops.call(&ops.a, "POST", "/api/v1/profiles", Some(json!({ "profileType": "iot", "profiles": four }))).await;
        assert_eq!(code, 400, "{refused}");
        assert!(refused["error"].as_str().unwrap().contains("content.max_upload_items"), "{refused}");

        let (code, stock) = ops.call(&ops.a, "GET", "/api/v1/stock", None).await;
        assert_eq!(code, 200);
        assert_eq!(stock_of(&stock, "iot").unwrap()["available"], 1, "{stock}");
    }
}

#[tokio::test]
async fn non_der_notification_is_answered_204_and_not_stored() {
    for pg in backends() {
        let env = start_bounded(pg.as_deref(), "");
        // Not DER; DER of another type (an OCTET STRING); a SEQUENCE that is no OtherSignedNotification.
        for bad in [&b"\xBF\x37\x05garbage"[..], &[0x04, 0x02, 0xAA, 0xBB], &[0x30, 0x03, 0x02, 0x01, 0x05]] {
            let (code, body) = handle_notification(&env, bad).await;
            assert_eq!(code, 204, "{body}");
        }
        assert!(blobs(&env, "notifications", "pending_notification").is_empty(), "nothing stored");
    }
}

/// A byte string literal for the backend.
fn bytes(env: &Env, hex: &str) -> String {
    match env.db_url {
        DatabaseUrl::Sqlite { .. } => format!("X'{hex}'"),
        DatabaseUrl::Postgres { .. } => format!("decode('{hex}', 'hex')"),
    }
}

fn count(env: &Env, table: &str, filter: &str) -> usize {
    blobs(env, &format!("(SELECT {} AS b FROM {table} WHERE {filter}) t", bytes(env, "00")), "b").len()
}

/// One statement on the server's database, through a connection that has rspd's SQL functions (the audit
/// triggers of `download_sessions`, `eim_packages` and `eim_orders` need them on SQLite).
fn exec(env: &Env, statement: &str) {
    use diesel::{Connection, RunQueryDsl};
    match &env.db_url {
        DatabaseUrl::Sqlite { path } => {
            let mut c = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            rspd::store::register_sqlite_functions(&mut c).unwrap();
            diesel::sql_query("PRAGMA busy_timeout = 5000").execute(&mut c).unwrap();
            diesel::sql_query(statement).execute(&mut c).unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        DatabaseUrl::Postgres { url } => {
            let mut c = diesel::PgConnection::establish(url).unwrap();
            diesel::sql_query(statement).execute(&mut c).unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
    }
}

#[tokio::test]
async fn retention_deletes_only_old_finished_rows() {
    const DAY: i64 = 86_400_000;
    for pg in backends() {
        let env = start_bounded(pg.as_deref(), "");
        let now = rspd::clock::now_ms();
        let (old, recent) = (now - 10 * DAY, now - 1000);
        let b = |hex: &str| bytes(&env, hex);

        // Notifications: processed old (goes), processed recent, unprocessed old (stay).
        for (processed, received) in [(Some(old), old), (Some(recent), recent), (None, old)] {
            let processed = processed.map_or("NULL".to_owned(), |p| p.to_string());
            exec(&env, &format!(
                "INSERT INTO notifications (pending_notification, received_at, processed_at) VALUES ({}, {received}, {processed})",
                b("BF3700")
            ));
        }
        // BPPs: finished old sessions lose theirs; an open one and a recent one keep it. Their expiry is far ahead:
        // retention does not look at it, but the server's expiry job (every second) deletes unbound sessions
        // past it, and raced this test for these rows.
        let expires = now + 10 * DAY;
        for (tx, state, at) in [
            ("AA01", "completed", old),
            ("AA02", "expired", old),
            ("AA03", "bpp_delivered", old),
            ("AA04", "completed", recent),
        ] {
            exec(&env, &format!(
                "INSERT INTO download_sessions (transaction_id, state, server_address, curve, ci_pkid, server_challenge, \
                 euicc_challenge, cc_required, bpp, expires_at, created_at, updated_at) VALUES ('{tx}', '{state}', \
                 'localhost', 'nist', {}, {}, {}, FALSE, {}, {expires}, {at}, {at})",
                b("01"), b("02"), b("03"), b("BF36")
            ));
        }
        // ES2+ call records and delivered outbox rows; an undelivered outbox row stays whatever its age.
        for (id, at) in [("c1", old), ("c2", recent)] {
            exec(
                &env,
                &format!(
                    "INSERT INTO es2_calls VALUES ('op', 'req', '{id}', 'ConfirmOrder', {}, '{{}}', {at})",
                    b("00")
                ),
            );
        }
        for (key, delivered, at) in [("e1", Some(old), old), ("e2", Some(recent), recent), ("e3", None, old)] {
            let delivered = delivered.map_or("NULL".to_owned(), |d| d.to_string());
            exec(&env, &format!(
                "INSERT INTO es2_progress_outbox (operator_id, iccid, profile_type, event_key, event, attempts, \
                 next_attempt_at, delivered_at, created_at) VALUES ('op', '89', 't', '{key}', '{{}}', 0, {at}, {delivered}, {at})"
            ));
        }
        for (key, at) in [("k1", old), ("k2", recent)] {
            exec(
                &env,
                &format!(
                "INSERT INTO operator_idempotency (operator_id, idempotency_key, request_digest, status, created_at) \
                 VALUES ('op', '{key}', {}, 200, {at})",
                b("00")
            ),
            );
        }
        // eIM: a finished order (with its package) and a finished package without an order go; a running order's
        // finished package, a queued package and a recent finished one stay.
        let eid = "89049032123451234512345678901235";
        exec(
            &env,
            &format!(
                "INSERT INTO eim_euiccs (eid, euicc_certificate, eim_id, eim_key_curve, counter_value, created_at, \
             updated_at, operator_id) VALUES ('{eid}', {}, 'eim', 'nist', 10, {old}, {old}, 'op')",
                b("30")
            ),
        );
        for (id, state, finished) in [
            (1, "succeeded", Some(old)),
            (2, "succeeded", Some(old)),
            (3, "queued", None),
            (4, "failed", Some(recent)),
            (5, "succeeded", Some(old)),
        ] {
            let finished = finished.map_or("NULL".to_owned(), |f| f.to_string());
            exec(&env, &format!(
                "INSERT INTO eim_packages (id, eid, state, counter_value, eim_transaction_id, package_der, finished_at, \
                 created_at, updated_at) VALUES ({id}, '{eid}', '{state}', {id}, {}, {}, {finished}, {old}, {old})",
                b(&format!("0{id}")),
                b("BF51")
            ));
        }
        for (id, state, finished, package) in [(1, "succeeded", Some(old), 1), (2, "running", None, 5)] {
            let finished = finished.map_or("NULL".to_owned(), |f| f.to_string());
            exec(&env, &format!(
                "INSERT INTO eim_orders (id, operator_id, eid, intent, step_count, state, current_step, \
                 current_package_id, version, created_at, updated_at, finished_at) VALUES ({id}, 'op', '{eid}', '{{}}', 1, \
                 '{state}', 0, {package}, 1, {old}, {old}, {finished})"
            ));
            exec(&env, &format!(
                "INSERT INTO eim_order_steps (order_id, step_index, kind, package_id) VALUES ({id}, 0, 'psmo', {package})"
            ));
        }

        let ages = RetentionAges {
            processed_notifications_ms: Some(DAY),
            delivered_bpps_ms: Some(DAY),
            finished_eim_ms: Some(DAY),
            es2_calls_ms: Some(DAY),
            delivered_outbox_ms: Some(DAY),
            idempotency_keys_ms: Some(DAY),
        };
        // Batches of one row: the sweep repeats until a batch comes back short.
        let report = env.store().run_retention(&ages, now, 1, 100).unwrap();
        assert_eq!(
            (report.notifications, report.bpps, report.es2_calls, report.outbox, report.idempotency_keys),
            (1, 2, 1, 1, 1),
            "{report:?}"
        );
        assert_eq!((report.eim_orders, report.eim_packages), (1, 2), "{report:?}");

        assert_eq!(count(&env, "notifications", "processed_at IS NULL OR processed_at > 0"), 2);
        assert_eq!(count(&env, "notifications", &format!("processed_at = {old}")), 0);
        assert_eq!(count(&env, "download_sessions", "bpp IS NOT NULL"), 2);
        assert_eq!(count(&env, "download_sessions", "bpp IS NOT NULL AND transaction_id IN ('AA03', 'AA04')"), 2);
        assert_eq!(count(&env, "download_sessions", "1 = 1"), 4, "sessions stay, only their BPP goes");
        assert_eq!(count(&env, "es2_calls", "function_call_identifier = 'c2'"), 1);
        assert_eq!(count(&env, "es2_calls", "1 = 1"), 1);
        assert_eq!(count(&env, "es2_progress_outbox", "event_key IN ('e2', 'e3')"), 2);
        assert_eq!(count(&env, "es2_progress_outbox", "1 = 1"), 2);
        assert_eq!(count(&env, "operator_idempotency", "idempotency_key = 'k2'"), 1);
        assert_eq!(count(&env, "operator_idempotency", "1 = 1"), 1);
        assert_eq!(count(&env, "eim_orders", "1 = 1"), 1);
        assert_eq!(count(&env, "eim_orders", "id = 2"), 1);
        assert_eq!(count(&env, "eim_packages", "id IN (3, 4, 5)"), 3);
        assert_eq!(count(&env, "eim_packages", "1 = 1"), 3);

        // A second round finds nothing more.
        assert_eq!(env.store().run_retention(&ages, now, 1, 100).unwrap().total(), 0);
        // And the server is unaffected.
        let ops = Operators::new(&env);
        let (code, _) = ops.call(&ops.a, "GET", "/api/v1/stock", None).await;
        assert_eq!(code, 200);
    }
}
