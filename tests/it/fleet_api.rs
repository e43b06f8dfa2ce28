//! The fleet API over mutual TLS (issue 5 items 3 and 8), on SQLite and PostgreSQL: operator isolation through every
//! endpoint (an unknown id looks exactly like another operator's), filters and keyset pagination, 400 (never 500)
//! for bad input, the SSE stream of state changes scoped to the caller, and audit rows for every call including
//! refused ones.

use std::time::Duration;

use crate::common::{backends, iccid};
use crate::fleet_support::{FleetEnv, Sse};
use rspd::smdp::{ProfileRepository, ProfileState};
use serde_json::Value;

const EID: &str = "89049032123451234512345678901235";

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().unwrap_or_else(|| panic!("no items in {v}")).clone()
}

fn strings(list: &[Value], field: &str) -> Vec<String> {
    list.iter().map(|i| i[field].as_str().unwrap_or_default().to_owned()).collect()
}

/// op-a: 5 × iot + 2 × m2m profiles, one order (AAA-1); op-b: 2 × iot profiles, one order (BBB-1).
fn seed(env: &FleetEnv) -> (Vec<String>, Vec<String>, i64, i64) {
    let a: Vec<String> = (0..7).map(|n| iccid("894910", n)).collect();
    let b: Vec<String> = (0..2).map(|n| iccid("894920", n)).collect();
    for (n, i) in a.iter().enumerate() {
        env.profile("op-a", i, if n < 5 { "iot" } else { "m2m" });
    }
    for i in &b {
        env.profile("op-b", i, "iot");
    }
    let order_a = env.order("op-a", &a[0], "AAA-1", Some(EID));
    let order_b = env.order("op-b", &b[0], "BBB-1", None);
    (a, b, order_a, order_b)
}

#[tokio::test]
async fn operators_see_only_their_own_and_foreign_looks_unknown() {
    for pg in backends() {
        let env = FleetEnv::start(pg.as_deref());
        let (a, b, _, _) = seed(&env);

        let (s, v) = env.get(&env.b, "/api/v1/profiles?limit=500").await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(strings(&items(&v), "iccid"), b);
        let (_, v) = env.get(&env.a, "/api/v1/profiles?limit=500").await;
        assert_eq!(strings(&items(&v), "iccid"), a);

        // Another operator's ICCID answers exactly like an unknown one.
        let foreign = env.get(&env.b, &format!("/api/v1/profiles/{}", a[0])).await;
        let unknown = env.get(&env.b, &format!("/api/v1/profiles/{}", iccid("894999", 1))).await;
        assert_eq!(foreign.0, 404);
        assert_eq!(foreign, unknown);
        let (s, own) = env.get(&env.a, &format!("/api/v1/profiles/{}", a[0])).await;
        assert_eq!(s, 200);
        assert_eq!(own["profile"]["state"], "confirmed");
        assert_eq!(own["profile"]["eid"], EID);

        // Orders: list, by id, filters on another operator's values.
        let (_, v) = env.get(&env.b, "/api/v1/orders").await;
        assert_eq!(strings(&items(&v), "matchingId"), ["BBB-1"]);
        // Order ids are opaque tokens (issue 10): each operator learns its own from its list.
        let order_b = strings(&items(&v), "id")[0].clone();
        let (_, v) = env.get(&env.a, "/api/v1/orders?matchingId=AAA-1").await;
        let order_a = strings(&items(&v), "id")[0].clone();
        let foreign = env.get(&env.b, &format!("/api/v1/orders/{order_a}")).await;
        let unknown = env.get(&env.b, "/api/v1/orders/999999").await;
        assert_eq!(foreign.0, 404);
        assert_eq!(foreign, unknown);
        assert_eq!(env.get(&env.b, "/api/v1/orders/not-a-number").await, unknown);
        assert_eq!(env.get(&env.b, "/api/v1/orders/-9223372036854775808").await, unknown);
        let weird = env.get(&env.b, "/api/v1/profiles/%F0%28%8C%28").await;
        assert!(weird.0 == 404 && weird.1["error"].is_string(), "{weird:?}");
        let (s, v) = env.get(&env.b, &format!("/api/v1/orders/{order_b}")).await;
        assert_eq!(s, 200);
        assert_eq!(v["order"]["matchingId"], "BBB-1");
        assert!(v["order"].get("ccHash").is_none() && v["order"].get("cc_hash").is_none());
        let (_, v) = env.get(&env.b, "/api/v1/orders?matchingId=AAA-1").await;
        assert!(items(&v).is_empty());
        let (_, v) = env.get(&env.b, &format!("/api/v1/profiles?iccid={}", a[1])).await;
        assert!(items(&v).is_empty());

        // Audit: only op-b's rows, whatever the filter names (op-b's own calls that named op-a's ids are op-b's).
        let (_, v) = env.get(&env.b, "/api/v1/audit?limit=500").await;
        assert!(!items(&v).is_empty());
        assert!(items(&v).iter().all(|r| r["operatorId"] == "op-b"), "{v}");
        let (_, v) = env.get(&env.b, &format!("/api/v1/audit?kind=state&target={}", a[0])).await;
        assert!(items(&v).is_empty(), "{v}");
        let (_, v) = env.get(&env.b, "/api/v1/audit?kind=state&target=AAA-1").await;
        assert!(items(&v).is_empty(), "{v}");
        let (_, v) = env.get(&env.b, "/api/v1/audit?target=BBB-1").await;
        assert!(!items(&v).is_empty(), "{v}");
    }
}

#[tokio::test]
async fn filters_pagination_and_bad_input() {
    for pg in backends() {
        let env = FleetEnv::start(pg.as_deref());
        let (a, _, _, _) = seed(&env);

        // Keyset pages of 2 walk all 7 profiles once, in order.
        let mut seen = Vec::new();
        let mut path = "/api/v1/profiles?limit=2".to_owned();
        loop {
            let (s, v) = env.get(&env.a, &path).await;
            assert_eq!(s, 200, "{v}");
            seen.extend(strings(&items(&v), "iccid"));
            match v["nextCursor"].as_str() {
                Some(c) => path = format!("/api/v1/profiles?limit=2&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(seen, a);

        let (_, v) = env.get(&env.a, "/api/v1/profiles?profileType=m2m").await;
        assert_eq!(strings(&items(&v), "iccid"), a[5..]);
        let (_, v) = env.get(&env.a, "/api/v1/profiles?state=confirmed").await;
        assert_eq!(strings(&items(&v), "iccid"), [a[0].clone()]);
        let (_, v) = env.get(&env.a, &format!("/api/v1/profiles?eid={EID}")).await;
        assert_eq!(strings(&items(&v), "iccid"), [a[0].clone()]);
        let (_, v) = env.get(&env.a, "/api/v1/profiles?state=available&profileType=iot&limit=500").await;
        assert_eq!(items(&v).len(), 4);
        let (_, v) = env.get(&env.a, &format!("/api/v1/orders?state=confirmed&eid={EID}")).await;
        assert_eq!(strings(&items(&v), "matchingId"), ["AAA-1"]);
        let (_, v) = env.get(&env.a, "/api/v1/orders?state=installed").await;
        assert!(items(&v).is_empty());
        let (_, v) = env.get(&env.a, "/api/v1/audit?kind=state&limit=3").await;
        assert_eq!(items(&v).len(), 3);
        assert!(v["nextCursor"].is_string());
        let (_, v) = env.get(&env.a, "/api/v1/audit?from=0&to=1").await;
        assert!(items(&v).is_empty());

        for bad in [
            "/api/v1/profiles?cursor=abc",
            "/api/v1/profiles?cursor=-5",
            "/api/v1/profiles?limit=0",
            "/api/v1/profiles?limit=501",
            "/api/v1/profiles?limit=x",
            "/api/v1/profiles?state=flying",
            "/api/v1/profiles?colour=red",
            "/api/v1/orders?cursor=%FF",
            "/api/v1/orders?state=",
            "/api/v1/audit?kind=other",
            "/api/v1/audit?from=yesterday",
            "/api/v1/audit?cursor=1.5",
            "/api/v1/events?lastEventId=x",
        ] {
            let (s, v) = env.get(&env.a, bad).await;
            assert_eq!(s, 400, "{bad}: {v}");
            assert!(v["error"].is_string(), "{bad}: {v}");
        }
    }
}

#[tokio::test]
async fn events_stream_carries_own_state_changes_only() {
    for pg in backends() {
        let env = FleetEnv::start(pg.as_deref());
        let (a, b, _, _) = seed(&env);
        let mut stream_a = Sse::open(&env.a, &env.url("/api/v1/events"), None).await;
        let mut stream_b = Sse::open(&env.b, &env.url("/api/v1/events"), None).await;
        assert!(stream_a.wait_for("retry:", Duration::from_secs(5)).await);

        env.store.reserve_profile("op-a", &a[3], Some(EID)).unwrap();
        assert!(stream_a.wait_for(&a[3], Duration::from_secs(10)).await, "op-a got: {}", stream_a.text);
        let event = stream_a.events().into_iter().find(|e| e["iccid"] == a[3].as_str()).unwrap();
        assert_eq!((event["fromState"].as_str(), event["toState"].as_str()), (Some("available"), Some("linked")));
        assert!(stream_a.text.contains("event: state"));
        // op-b hears nothing of it (and nothing from before it subscribed).
        assert!(!stream_b.wait_for(&a[3], Duration::from_secs(2)).await, "op-b got: {}", stream_b.text);
        assert!(stream_b.events().is_empty(), "{}", stream_b.text);
        // op-b's own change reaches op-b.
        env.store.transition_profile("op-b", &b[1], ProfileState::Available, ProfileState::Unavailable).unwrap();
        assert!(stream_b.wait_for(&b[1], Duration::from_secs(10)).await, "op-b got: {}", stream_b.text);
        assert!(!stream_a.wait_for(&b[1], Duration::from_secs(1)).await);

        // Resume from the start: every earlier op-a change is replayed in order, with its id.
        let mut replay = Sse::open(&env.a, &env.url("/api/v1/events"), Some("0")).await;
        assert!(replay.wait_for("\"toState\":\"linked\"", Duration::from_secs(10)).await, "{}", replay.text);
        let events = replay.events();
        assert!(events.iter().all(|e| e["targetKind"] != "download_session" || e["iccid"].is_string()));
        // Event ids are opaque (not the global audit sequence), distinct, and come in trail order.
        let seqs: Vec<String> = events.iter().map(|e| e["seq"].as_str().unwrap().to_owned()).collect();
        assert!(seqs.iter().all(|s| s.len() == 22 && s.parse::<i64>().is_err()), "{seqs:?}");
        assert_eq!(seqs.iter().collect::<std::collections::HashSet<_>>().len(), seqs.len(), "{seqs:?}");
        let times: Vec<i64> = events.iter().map(|e| e["atMs"].as_i64().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
        assert!(events.iter().any(|e| e["iccid"] == a[6].as_str() && e["toState"] == "available"));
        assert!(!replay.text.contains(&b[0]));
        // Resume after the last seen id: nothing old again.
        let last = seqs.last().unwrap().clone();
        let mut resumed = Sse::open(&env.a, &env.url("/api/v1/events"), Some(&last)).await;
        assert!(!resumed.wait_for("event: state", Duration::from_secs(2)).await, "{}", resumed.text);
    }
}

#[tokio::test]
async fn every_call_is_audited_refusals_included() {
    for pg in backends() {
        let env = FleetEnv::start(pg.as_deref());
        let (a, _, _, _) = seed(&env);
        let head = env.store.audit_head().unwrap().seq;

        let (s, _) = env.get(&env.anonymous, "/api/v1/profiles").await;
        assert_eq!(s, 401);
        let (s, _) = env.get(&env.stranger, &format!("/api/v1/profiles/{}", a[2])).await;
        assert_eq!(s, 403);
        let (s, _) = env.get(&env.a, &format!("/api/v1/profiles/{}", a[2])).await;
        assert_eq!(s, 200);
        let (s, _) = env.get(&env.a, "/no/such/route").await;
        assert_eq!(s, 404);
        // An ES2+-style JSON call: identifiers are taken from the body, the body itself (a secret) never.
        let r = env
            .a
            .post(env.url("/gsma/rsp2/es2plus/noSuchFunction"))
            .header("Content-Type", "application/json")
            .body(format!(r#"{{"iccid":"{}","matchingId":"AAA-1","confirmationCode":"S3CRET-CC"}}"#, a[2]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);

        let rows = env.store.audit_rows_after(head, 100).unwrap();
        let calls: Vec<_> = rows.iter().filter(|r| r.kind == "call").collect();
        assert_eq!(calls.len(), 5, "{calls:#?}");
        let (anon, stranger, own, missing, es2) = (calls[0], calls[1], calls[2], calls[3], calls[4]);
        assert_eq!((es2.method.as_deref(), es2.status), (Some("POST"), Some(404)));
        assert_eq!((es2.iccid.as_deref(), es2.matching_id.as_deref()), (Some(a[2].as_str()), Some("AAA-1")));
        assert!(!format!("{rows:?}").contains("S3CRET"), "a body secret reached the audit trail");
        assert_eq!((anon.status, anon.operator_id.as_deref()), (Some(401), None));
        assert_eq!(anon.outcome.as_deref(), Some("refused: no client certificate"));
        assert_eq!(anon.actor_fingerprint, None);
        assert!(anon.peer.as_deref().unwrap().starts_with("127.0.0.1:"));
        assert_eq!((stranger.status, stranger.operator_id.as_deref()), (Some(403), None));
        assert!(stranger.actor_subject.as_deref().unwrap().contains("CN=stranger"), "{stranger:?}");
        assert_eq!(stranger.actor_fingerprint.as_deref().map(str::len), Some(64));
        assert_eq!(stranger.iccid.as_deref(), None, "a refused call never reaches routing");
        assert_eq!((own.status, own.operator_id.as_deref()), (Some(200), Some("op-a")));
        assert_eq!(own.method.as_deref(), Some("GET"));
        assert_eq!(own.path.as_deref(), Some(format!("/api/v1/profiles/{}", a[2]).as_str()));
        assert_eq!(own.iccid.as_deref(), Some(a[2].as_str()));
        assert!(own.actor_subject.as_deref().unwrap().contains("CN=test-operator"));
        assert_eq!(missing.status, Some(404));

        // The operator sees its own calls through the API, by actor and by target.
        let fingerprint = own.actor_fingerprint.clone().unwrap();
        let (_, v) = env.get(&env.a, &format!("/api/v1/audit?kind=call&actor={fingerprint}&target={}", a[2])).await;
        let listed = items(&v);
        assert_eq!(listed.iter().map(|r| r["status"].as_i64().unwrap()).collect::<Vec<_>>(), [200, 404], "{v}");
        assert_eq!(listed[1]["matchingId"], "AAA-1");
        assert_eq!(listed[0]["hash"].as_str().map(str::len), Some(64));

        // The whole trail still verifies.
        assert!(env.store.verify_audit_chain().unwrap() > 10);
    }
}

/// POST an ES2+ function as op-a; the answer's functionExecutionStatus.status.
async fn es2(env: &FleetEnv, function: &str, body: Value) -> String {
    let v = crate::fleet_support::es2_call(env, &env.a, function, body).await;
    v["header"]["functionExecutionStatus"]["status"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn es2_calls_are_audited_with_their_outcome_and_state_changes_follow() {
    for pg in backends() {
        let env = FleetEnv::start(pg.as_deref());
        // ES2+ wants 19 or 20 digits.
        let a = vec![iccid("894930000000", 0); 5];
        env.profile("op-a", &a[4], "iot");
        let head = env.store.audit_head().unwrap().seq;
        let header =
            |id: &str| serde_json::json!({ "functionRequesterIdentifier": "backend", "functionCallIdentifier": id });

        let ok = es2(&env, "downloadOrder", serde_json::json!({ "header": header("c-1"), "iccid": a[4] })).await;
        assert_eq!(ok, "Executed-Success");
        let unknown = iccid("894999000000", 9);
        let failed = es2(&env, "downloadOrder", serde_json::json!({ "header": header("c-2"), "iccid": unknown })).await;
        assert_eq!(failed, "Failed");

        let rows = env.store.audit_rows_after(head, 100).unwrap();
        let calls: Vec<_> = rows.iter().filter(|r| r.kind == "call").collect();
        assert_eq!(calls.len(), 2, "{rows:#?}");
        assert_eq!(calls[0].path.as_deref(), Some("/gsma/rsp2/es2plus/downloadOrder"));
        assert_eq!(
            (calls[0].outcome.as_deref(), calls[0].iccid.as_deref()),
            (Some("Executed-Success"), Some(a[4].as_str()))
        );
        assert_eq!((calls[1].outcome.as_deref(), calls[1].iccid.as_deref()), (Some("Failed"), Some(unknown.as_str())));
        // The state change the call made is in the trail too, before the call's own row (same order as commits).
        let change = rows.iter().find(|r| r.kind == "state" && r.iccid.as_deref() == Some(a[4].as_str())).unwrap();
        assert_eq!((change.from_state.as_deref(), change.to_state.as_deref()), (Some("available"), Some("allocated")));
        assert!(change.seq < calls[0].seq);
        let (_, v) = env.get(&env.a, &format!("/api/v1/profiles/{}", a[4])).await;
        assert_eq!(v["profile"]["state"], "allocated");
        assert_eq!(env.store.verify_audit_chain().unwrap(), env.store.audit_head().unwrap().seq);
    }
}
