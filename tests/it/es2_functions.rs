//! ES2+ over mutual TLS (SGP.22 v2.5 §5.3, JSON binding §6.1) against the real `rspd serve`, on SQLite and on
//! PostgreSQL (`RSPD_TEST_POSTGRES_URL`): every function's success and main status codes, idempotent retries,
//! isolation between two operators, and two concurrent DownloadOrders for the last profile of a type.

use crate::es2_support::*;
use crate::es9_harness::{backend_name, backends, ts48_template};
use rspd::smdp::{DownloadRepository, ProfileState};
use serde_json::json;

const EID: &str = "89049032123451234512345678901235";
const OTHER_EID: &str = "89049032123451234512345678901146";

fn valid_eid(s: &str) -> String {
    // Rewrites the last two digits into valid EID check digits.
    let body = &s[..30];
    for cd in 0..100 {
        let candidate = format!("{body}{cd:02}");
        if rspd::smdp::Eid::new(&candidate).is_ok() {
            return candidate;
        }
    }
    unreachable!()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_succeeds_and_fails_with_the_spec_codes() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let backend = backend_name(&pg);
        let t = Es2Env::start(pg.as_deref());
        let eid = valid_eid(EID);
        let other_eid = valid_eid(OTHER_EID);
        let iccids = import(&t.env, &template, 100..104, OPERATOR_A, "default");

        // DownloadOrder by ICCID with EID → Linked; again → ICCID not available; unknown ICCID.
        let r = t.a("downloadOrder", json!({ "iccid": iccids[0], "eid": eid })).await;
        assert_success(&r);
        assert_eq!(r["iccid"], iccids[0], "{backend}");
        assert_eq!(state(&t.env, OPERATOR_A, &iccids[0]), ProfileState::Linked);
        assert_failed(&t.a("downloadOrder", json!({ "iccid": iccids[0] })).await, "8.2.1", "3.3");
        let unknown = crate::es9_harness::iccid(999);
        assert_failed(&t.a("downloadOrder", json!({ "iccid": unknown })).await, "8.2.1", "3.9");
        assert_failed(
            &t.a("downloadOrder", json!({ "iccid": iccids[1], "profileType": "other" })).await,
            "8.2.5",
            "3.8",
        );

        // By profile type, no EID → Allocated, the oldest available one.
        let r = t.a("downloadOrder", json!({ "profileType": "default" })).await;
        assert_success(&r);
        let allocated = r["iccid"].as_str().unwrap().to_owned();
        assert_eq!(allocated, iccids[1], "{backend}");
        assert_eq!(state(&t.env, OPERATOR_A, &allocated), ProfileState::Allocated);
        assert_failed(&t.a("downloadOrder", json!({ "profileType": "never-seen" })).await, "8.2.5", "3.9");

        // Malformed requests: spec errors, never a 500.
        assert_failed(&t.a("downloadOrder", json!({ "iccid": iccids[2], "eid": "1234" })).await, "8.1.1", "2.1");
        assert_failed(&t.a("downloadOrder", json!({})).await, "1.6", "2.2");
        assert_failed(&t.a("downloadOrder", json!({ "iccid": 42 })).await, "1.6", "2.1");
        let (_, r) = t.call_raw(&t.a, "downloadOrder", "{not json".into()).await;
        assert_failed(&r, "1.6", "2.1");
        let (_, r) = t.call_raw(&t.a, "downloadOrder", json!({ "iccid": iccids[2] }).to_string()).await;
        assert_failed(&r, "1.6", "2.2");
        assert_eq!(state(&t.env, OPERATOR_A, &iccids[2]), ProfileState::Available, "no header → no change");

        // ConfirmOrder: another EID → invalid association; releaseFlag missing; then matchingId given, CC, SM-DS.
        let confirm = json!({ "iccid": iccids[0], "eid": other_eid, "releaseFlag": false });
        assert_failed(&t.a("confirmOrder", confirm).await, "8.1.1", "3.10");
        assert_failed(&t.a("confirmOrder", json!({ "iccid": iccids[0] })).await, "1.6", "2.2");
        assert_failed(
            &t.a("confirmOrder", json!({ "iccid": iccids[0], "matchingId": "lower-case", "releaseFlag": false })).await,
            "8.2.6",
            "2.1",
        );
        let r = t
            .a(
                "confirmOrder",
                json!({ "iccid": iccids[0], "matchingId": "ES2-MATCH-1", "confirmationCode": "1234",
                        "smdsAddress": "lpa.ds.example.com", "releaseFlag": false }),
            )
            .await;
        assert_success(&r);
        assert_eq!((r["eid"].as_str(), r["matchingId"].as_str()), (Some(eid.as_str()), Some("ES2-MATCH-1")));
        assert_eq!(r["smdpAddress"], t.env.address);
        let order = t.env.order("ES2-MATCH-1");
        assert_eq!(order.state, ProfileState::Confirmed);
        assert_eq!(order.cc_hash.as_deref(), Some(&openssl::sha::sha256(b"1234")[..]), "the code is kept hashed");
        assert_eq!(
            t.env.sql(&format!(
                "UPDATE orders SET smds_address = smds_address WHERE matching_id = 'ES2-MATCH-1' AND smds_address = 'lpa.ds.example.com'"
            )),
            1,
            "smdsAddress stored"
        );
        // The allocated one: the same matchingId → already in use; an SM-DS address without EID → EID missing.
        let dup = json!({ "iccid": allocated, "matchingId": "ES2-MATCH-1", "releaseFlag": true });
        assert_failed(&t.a("confirmOrder", dup).await, "8.2.6", "3.3");
        let no_eid = json!({ "iccid": allocated, "smdsAddress": "lpa.ds.example.com", "releaseFlag": true });
        assert_failed(&t.a("confirmOrder", no_eid).await, "8.1.1", "2.2");
        // Generated matchingId, released at once.
        let r = t.a("confirmOrder", json!({ "iccid": allocated, "releaseFlag": true })).await;
        assert_success(&r);
        let generated = r["matchingId"].as_str().unwrap().to_owned();
        assert!(r.get("eid").is_none(), "{r}");
        assert_eq!(t.env.order_state(&generated), ProfileState::Released);
        assert_failed(&t.a("confirmOrder", json!({ "iccid": iccids[3], "releaseFlag": true })).await, "8.2.1", "3.5");

        // ReleaseProfile: Confirmed → Released; again → invalid transition; unknown ICCID.
        assert_success(&t.a("releaseProfile", json!({ "iccid": iccids[0] })).await);
        assert_eq!(t.env.order_state("ES2-MATCH-1"), ProfileState::Released);
        assert_failed(&t.a("releaseProfile", json!({ "iccid": iccids[0] })).await, "8.2.1", "3.5");
        assert_failed(&t.a("releaseProfile", json!({ "iccid": unknown })).await, "8.2.1", "3.9");

        // CancelOrder: wrong matchingId / EID, bad indicator; → Available (order withdrawn), → Unavailable.
        let cancel = |iccid: &str, extra: serde_json::Value| {
            let mut b = json!({ "iccid": iccid, "finalProfileStatusIndicator": "Available" });
            for (k, v) in extra.as_object().unwrap() {
                b[k] = v.clone();
            }
            b
        };
        assert_failed(&t.a("cancelOrder", cancel(&allocated, json!({ "matchingId": "NOPE" }))).await, "8.2.6", "3.9");
        assert_failed(&t.a("cancelOrder", cancel(&iccids[0], json!({ "eid": other_eid }))).await, "8.1.1", "3.10");
        let bogus = json!({ "iccid": allocated, "finalProfileStatusIndicator": "Gone" });
        assert_failed(&t.a("cancelOrder", bogus).await, "1.6", "2.1");
        assert_success(&t.a("cancelOrder", cancel(&allocated, json!({ "matchingId": generated }))).await);
        assert_eq!(state(&t.env, OPERATOR_A, &allocated), ProfileState::Available);
        assert!(t.env.store().find_order_by_matching_id(&generated).unwrap().is_none(), "the order is withdrawn");
        let retire = json!({ "iccid": iccids[0], "eid": eid, "finalProfileStatusIndicator": "Unavailable" });
        assert_success(&t.a("cancelOrder", retire).await);
        assert_eq!(state(&t.env, OPERATOR_A, &iccids[0]), ProfileState::Unavailable);
        assert_failed(&t.a("cancelOrder", cancel(&iccids[3], json!({}))).await, "8.2.1", "3.5");
        assert_failed(&t.a("cancelOrder", cancel(&unknown, json!({}))).await, "8.2.1", "3.9");
        // The cancelled profile can be ordered again.
        assert_success(&t.a("downloadOrder", json!({ "iccid": allocated })).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_call_returns_the_first_answer_and_changes_nothing() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let backend = backend_name(&pg);
        let t = Es2Env::start(pg.as_deref());
        let iccids = import(&t.env, &template, 200..203, OPERATOR_A, "default");
        let available =
            |t: &Es2Env| iccids.iter().filter(|i| state(&t.env, OPERATOR_A, i) == ProfileState::Available).count();

        let body = json!({ "header": header("retry-1"), "profileType": "default" }).to_string();
        let (first, v) = t.call_raw(&t.a, "downloadOrder", body.clone()).await;
        assert_success(&v);
        let (again, _) = t.call_raw(&t.a, "downloadOrder", body.clone()).await;
        assert_eq!(first, again, "{backend}: byte-for-byte the first answer");
        assert_eq!(available(&t), 2, "{backend}: the retry took no second profile");
        // Same identifiers, other request → a clear error, nothing changed.
        let other = json!({ "header": header("retry-1"), "profileType": "default", "eid": valid_eid(EID) }).to_string();
        let (_, v) = t.call_raw(&t.a, "downloadOrder", other).await;
        assert_failed(&v, "1.6", "3.3");
        let elsewhere = json!({ "header": header("retry-1"), "iccid": iccids[0] }).to_string();
        let (_, v) = t.call_raw(&t.a, "releaseProfile", elsewhere).await;
        assert_failed(&v, "1.6", "3.3");
        assert_eq!(available(&t), 2);

        // ConfirmOrder with a generated matchingId: the retry gets the same matchingId, and one order exists.
        let iccid = v_iccid(&first);
        let confirm = json!({ "header": header("retry-2"), "iccid": iccid, "releaseFlag": true }).to_string();
        let (first, v) = t.call_raw(&t.a, "confirmOrder", confirm.clone()).await;
        assert_success(&v);
        let (again, _) = t.call_raw(&t.a, "confirmOrder", confirm).await;
        assert_eq!(first, again, "{backend}");
        let matching_id = v["matchingId"].as_str().unwrap();
        assert_eq!(t.env.order_state(matching_id), ProfileState::Released);
        let orders = t.env.sql(&format!("UPDATE orders SET iccid = iccid WHERE iccid = '{iccid}'"));
        assert_eq!(orders, 1, "{backend}: one order for the profile");

        // A failure is an answer too: retried, it is repeated even after the state changed.
        let release = json!({ "header": header("retry-3"), "iccid": iccid }).to_string();
        let (first, v) = t.call_raw(&t.a, "releaseProfile", release.clone()).await;
        assert_failed(&v, "8.2.1", "3.5");
        let (again, _) = t.call_raw(&t.a, "releaseProfile", release).await;
        assert_eq!(first, again);

        // The same identifiers from another operator are another call.
        let (_, v) = t
            .call_raw(
                &t.b,
                "downloadOrder",
                json!({ "header": header("retry-1"), "profileType": "default" }).to_string(),
            )
            .await;
        assert_failed(&v, "8.2.5", "3.9");
    }
}

fn v_iccid(answer: &str) -> String {
    serde_json::from_str::<serde_json::Value>(answer).unwrap()["iccid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_cannot_order_confirm_cancel_or_release_another_operators_profile() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let backend = backend_name(&pg);
        let t = Es2Env::start(pg.as_deref());
        let a = import(&t.env, &template, 300..302, OPERATOR_A, "a-type");
        let b = import(&t.env, &template, 302..303, OPERATOR_B, "b-type");
        let unknown = crate::es9_harness::iccid(399);

        // B sees A's ICCID exactly as an ICCID that does not exist (same codes, same message shape).
        let theirs = t.b("downloadOrder", json!({ "iccid": a[0] })).await;
        let nobodys = t.b("downloadOrder", json!({ "iccid": unknown })).await;
        assert_failed(&theirs, "8.2.1", "3.9");
        assert_eq!(
            theirs["header"]["functionExecutionStatus"]["statusCodeData"]["message"]
                .as_str()
                .unwrap()
                .replace(&a[0], "X"),
            nobodys["header"]["functionExecutionStatus"]["statusCodeData"]["message"]
                .as_str()
                .unwrap()
                .replace(&unknown, "X"),
            "{backend}"
        );
        assert_failed(&t.b("downloadOrder", json!({ "profileType": "a-type" })).await, "8.2.5", "3.9");

        assert_success(&t.a("downloadOrder", json!({ "iccid": a[0] })).await);
        assert_failed(&t.b("confirmOrder", json!({ "iccid": a[0], "releaseFlag": true })).await, "8.2.1", "3.9");
        assert_success(
            &t.a("confirmOrder", json!({ "iccid": a[0], "matchingId": "ISO-A-1", "releaseFlag": false })).await,
        );
        assert_failed(&t.b("releaseProfile", json!({ "iccid": a[0] })).await, "8.2.1", "3.9");
        let cancel = json!({ "iccid": a[0], "finalProfileStatusIndicator": "Unavailable" });
        assert_failed(&t.b("cancelOrder", cancel).await, "8.2.1", "3.9");
        assert_eq!(state(&t.env, OPERATOR_A, &a[0]), ProfileState::Confirmed, "{backend}: untouched by B");

        // A cannot take B's either; B's own profile works for B.
        assert_failed(&t.a("downloadOrder", json!({ "iccid": b[0] })).await, "8.2.1", "3.9");
        assert_failed(&t.a("downloadOrder", json!({ "profileType": "b-type" })).await, "8.2.5", "3.9");
        let r = t.b("downloadOrder", json!({ "profileType": "b-type" })).await;
        assert_success(&r);
        assert_eq!(r["iccid"], b[0]);
        assert_eq!(state(&t.env, OPERATOR_A, &a[1]), ProfileState::Available);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_orders_for_the_last_profile_get_one_profile_and_one_stock_error() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let backend = backend_name(&pg);
        let t = Es2Env::start(pg.as_deref());
        let only = import(&t.env, &template, 400..401, OPERATOR_A, "scarce");
        for round in 0..3 {
            let body = json!({ "profileType": "scarce" });
            let (x, y) = tokio::join!(t.a("downloadOrder", body.clone()), t.a("downloadOrder", body));
            let (won, lost) = if status(&x) == "Executed-Success" { (x, y) } else { (y, x) };
            assert_success(&won);
            assert_eq!(won["iccid"], only[0], "{backend}");
            assert_failed(&lost, "8.2.5", "3.7");
            // Put it back for the next round.
            let cancel = json!({ "iccid": only[0], "finalProfileStatusIndicator": "Available" });
            assert_success(&t.a("cancelOrder", cancel).await);
            assert_eq!(state(&t.env, OPERATOR_A, &only[0]), ProfileState::Available, "round {round}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_call_sent_twice_at_once_has_one_effect_and_one_answer() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let backend = backend_name(&pg);
        let t = Es2Env::start(pg.as_deref());
        let iccids = import(&t.env, &template, 700..703, OPERATOR_A, "default");
        for round in 0..3 {
            let body = json!({ "header": header(&format!("twin-{round}")), "profileType": "default" }).to_string();
            let ((x, _), (y, _)) =
                tokio::join!(t.call_raw(&t.a, "downloadOrder", body.clone()), t.call_raw(&t.a, "downloadOrder", body));
            assert_eq!(x, y, "{backend}: both copies get the one answer");
            assert!(x.contains("Executed-Success"), "{backend}: {x}");
        }
        let taken = iccids.iter().filter(|i| state(&t.env, OPERATOR_A, i) == ProfileState::Allocated).count();
        assert_eq!(taken, 3, "{backend}: one profile per call, not per copy");
    }
}
