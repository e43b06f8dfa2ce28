//! eIM orders and campaigns over real HTTPS (issue 6 items 5 and 7): the operator API on the mutual-TLS
//! listener, simulated devices polling ESipa's ASN.1 binding (SGP.32 v1.2 §6.3) on the device listener.
//!
//! Cases (each on SQLite and, with `RSPD_TEST_POSTGRES_URL`, on PostgreSQL):
//! - a composite PSMO order (disable A → enable B with rollbackFlag) completes step by step; a composite whose
//!   first step fails ends Failed with that step's reason and never queues the second; a `downloadAndEnable`
//!   order hands the device a ProfileDownloadTriggerRequest with the activation code as its first package
//!   (executing the download is the IPA driver's part, see the README);
//! - operator isolation: op-b cannot see, queue for, import or act on op-a's eUICCs, orders and campaigns, and
//!   a foreign object answers exactly like an unknown one; bad input is a 4xx `{"error"}`; idempotent creates;
//! - campaign pause / resume / cancel (cancel expires packages not yet dispatched, dispatched ones finish);
//! - the release rate, counted per release call (no timing);
//! - a campaign over 1,000 simulated devices completes with exact counts (990 succeeded, 10 failed).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::backends;
use crate::eim_campaign_harness::{run_one_package_each, Env, ICCID_A, ICCID_B};
use rsp_conformance::euicc::profiles::ProfileState;
use rspd::codec::decode;
use rspd::codec::sgp32::{ProfileDownloadData, ProfileDownloadTriggerRequest};
use rspd::eim::campaign::{CampaignRepository, CampaignState, EimOrderRepository, OperatorEuiccs};
use rspd::eim::orders::{create_campaign, CampaignRequest, DeviceSelection};
use serde_json::{json, Value};

async fn composite_orders(postgres: Option<&str>) {
    let env = Env::start(postgres);
    let mut devices = env.devices(&env.op_a, 0, 3, &[]).await;

    // disable A, then enable B (rollback): two packages, the second queued only after the first succeeded.
    let intent = json!({
        "eid": devices[0].eid,
        "intent": "sequence",
        "steps": [{"intent": "disable", "iccid": ICCID_A}, {"intent": "enable", "iccid": ICCID_B, "rollback": true}],
    });
    let (status, order) = env.post(&env.op_a, "/api/v1/eim/orders", &intent).await;
    assert_eq!(status, 201, "{order}");
    let id = order["orderId"].as_str().unwrap().to_owned();
    assert_eq!(order["state"], "queued");
    assert_eq!(order["steps"][0]["kind"], "disable");
    assert_eq!(order["steps"][1]["state"], "pending");
    let path = format!("/api/v1/eim/orders/{id}");
    let device = &mut devices[0];
    assert!(env.poll(device).await, "step 0 queued at create");
    assert_eq!(device.state_of(ICCID_A), Some(ProfileState::Disabled));
    // Step 1 appears after the job saw step 0 succeed.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !env.poll(device).await {
        assert!(Instant::now() < deadline, "step 1 never queued");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(device.state_of(ICCID_B), Some(ProfileState::Enabled));
    let done = env.wait_for(&env.op_a, &path, 20, |o| o["state"] == "succeeded").await;
    assert_eq!(done["steps"][0]["state"], "succeeded");
    assert_eq!(done["steps"][1]["state"], "succeeded");
    assert_eq!(done["steps"][1]["kind"], "enable");
    assert!(done["steps"][1]["counterValue"].as_i64() > done["steps"][0]["counterValue"].as_i64());
    assert_eq!(done["failureReason"], Value::Null);
    let (_, euicc) = env.get(&env.op_a, &format!("/api/v1/eim/euiccs/{}", device.eid)).await;
    let enabled: Vec<&Value> =
        euicc["profiles"].as_array().unwrap().iter().filter(|p| p["state"] == "enabled").collect();
    assert_eq!(enabled.len(), 1);
    assert_eq!(enabled[0]["iccid"], ICCID_B);

    // A failing first step fails the order with that step's reason; the second step is never queued.
    let missing = "89000123456789012366";
    let intent = json!({
        "eid": devices[1].eid,
        "intent": "sequence",
        "steps": [{"intent": "enable", "iccid": missing}, {"intent": "disable", "iccid": ICCID_A}],
    });
    let (status, order) = env.post(&env.op_a, "/api/v1/eim/orders", &intent).await;
    assert_eq!(status, 201, "{order}");
    assert!(env.poll(&mut devices[1]).await);
    let path = format!("/api/v1/eim/orders/{}", order["orderId"].as_str().unwrap());
    let failed = env.wait_for(&env.op_a, &path, 20, |o| o["state"] == "failed").await;
    let reason = failed["failureReason"].as_str().unwrap();
    assert!(reason.starts_with("step 0 (enable): operation_failed:0:enable:"), "{reason}");
    assert_eq!(failed["steps"][0]["state"], "failed");
    assert_eq!(failed["steps"][1]["state"], "skipped");
    assert!(!env.poll(&mut devices[1]).await, "nothing else queued");
    assert_eq!(devices[1].state_of(ICCID_A), Some(ProfileState::Enabled));

    // downloadAndEnable: the first package is the ProfileDownloadTriggerRequest with the activation code.
    let (status, order) = env
        .post(
            &env.op_a,
            "/api/v1/eim/orders",
            &json!({
                "eid": devices[2].eid, "intent": "downloadAndEnable",
                "activationCode": "LPA:1$smdp.example.com$MATCHING-1", "iccid": ICCID_B, "rollback": true,
            }),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["steps"][0]["kind"], "profileDownloadTrigger");
    assert_eq!(order["steps"][1]["kind"], "enable");
    let package = env.get_eim_package(&devices[2].eid).await.expect("the trigger");
    let trigger = decode::<ProfileDownloadTriggerRequest>(&package).unwrap();
    assert_eq!(
        trigger.profile_download_data,
        Some(ProfileDownloadData::ActivationCode("1$smdp.example.com$MATCHING-1".into()))
    );
    let (_, shown) = env.get(&env.op_a, &format!("/api/v1/eim/orders/{}", order["orderId"].as_str().unwrap())).await;
    assert_eq!(shown["state"], "dispatched");
    assert_eq!(shown["steps"][1]["state"], "pending");

    // The audit trail records the eIM orders' and packages' state changes under their operator only.
    let (status, audit) = env.get(&env.op_a, &format!("/api/v1/audit?kind=state&target={id}&limit=500")).await;
    assert_eq!(status, 200, "{audit}");
    let kinds = |audit: &Value, kind: &str| {
        audit["items"].as_array().unwrap().iter().filter(|r| r["targetKind"] == kind).cloned().collect::<Vec<Value>>()
    };
    let order_rows = kinds(&audit, "eim_order");
    assert!(order_rows.iter().any(|r| r["toState"] == "succeeded"), "{audit}");
    assert!(order_rows.iter().all(|r| r["operatorId"] == "op-a"), "{audit}");
    let (_, all) = env.get(&env.op_a, "/api/v1/audit?kind=state&limit=500").await;
    assert!(!kinds(&all, "eim_package").is_empty(), "{all}");
    let (status, foreign) = env.get(&env.op_b, "/api/v1/audit?kind=state&limit=500").await;
    assert_eq!(status, 200, "{foreign}");
    for kind in ["eim_order", "eim_package", "eim_campaign"] {
        assert!(kinds(&foreign, kind).is_empty(), "op-b sees {kind}: {foreign}");
    }
}

async fn isolation_and_bad_input(postgres: Option<&str>) {
    let env = Env::start(postgres);
    let devices = env.devices(&env.op_a, 100, 2, &[]).await;
    let eid = &devices[0].eid;
    let body = "890490320000000000000000999999";
    let unknown = format!("{body}{}", rspd::pki::eid::check_digits(body).unwrap());

    let (status, order) =
        env.post(&env.op_a, "/api/v1/eim/orders", &json!({"eid": eid, "intent": "listProfileInfo"})).await;
    assert_eq!(status, 201, "{order}");
    let order_path = format!("/api/v1/eim/orders/{}", order["orderId"].as_str().unwrap());
    let (status, campaign) = env
        .post(
            &env.op_a,
            "/api/v1/eim/campaigns",
            &json!({"name": "a", "intent": {"intent": "getRAT"}, "filter": {}, "ratePerMinute": 1}),
        )
        .await;
    assert_eq!(status, 201, "{campaign}");
    assert_eq!(campaign["deviceCount"], 2);
    let campaign_path = format!("/api/v1/eim/campaigns/{}", campaign["campaignId"].as_str().unwrap());

    // op-b: a foreign object answers exactly like an unknown one.
    let foreign = env.get(&env.op_b, &format!("/api/v1/eim/euiccs/{eid}")).await;
    let missing = env.get(&env.op_b, &format!("/api/v1/eim/euiccs/{unknown}")).await;
    assert_eq!(foreign.0, 404);
    assert_eq!(foreign, missing);
    let foreign = env.post(&env.op_b, "/api/v1/eim/orders", &json!({"eid": eid, "intent": "getRAT"})).await;
    let missing = env.post(&env.op_b, "/api/v1/eim/orders", &json!({"eid": unknown, "intent": "getRAT"})).await;
    assert_eq!(foreign.0, 404);
    assert_eq!(foreign, missing);
    assert_eq!(env.get(&env.op_b, &order_path).await, env.get(&env.op_b, "/api/v1/eim/orders/999999").await);
    assert_eq!(env.get(&env.op_b, &order_path).await.0, 404);
    assert_eq!(env.get(&env.op_b, &campaign_path).await.0, 404);
    assert_eq!(env.get(&env.op_b, &format!("{campaign_path}/devices")).await.0, 404);
    assert_eq!(env.post(&env.op_b, &format!("{campaign_path}/cancel"), &json!({})).await.0, 404);
    let (_, listed) = env.get(&env.op_b, "/api/v1/eim/euiccs").await;
    assert_eq!(listed["items"], json!([]));
    let (_, listed) = env.get(&env.op_b, "/api/v1/eim/orders").await;
    assert_eq!(listed["items"], json!([]));
    let (status, err) = env
        .post(&env.op_b, "/api/v1/eim/campaigns", &json!({"name": "b", "intent": {"intent": "getRAT"}, "eids": [eid]}))
        .await;
    assert_eq!(status, 400);
    assert!(err["error"].as_str().unwrap().contains("not registered to this operator"), "{err}");
    let (status, _) = env
        .post(&env.op_b, "/api/v1/eim/campaigns", &json!({"name": "b", "intent": {"intent": "getRAT"}, "filter": {}}))
        .await;
    assert_eq!(status, 400, "op-b has no eUICC");
    // op-b importing op-a's eUICC is refused and changes nothing.
    use base64::Engine;
    let cert = base64::engine::general_purpose::STANDARD.encode(&devices[0].euicc.credentials().euicc_cert_der);
    let (status, report) = env
        .post(&env.op_b, "/api/v1/eim/euiccs", &json!({"euiccs": [{"certificate": cert}, {"certificate": "x"}]}))
        .await;
    assert_eq!(status, 200);
    assert_eq!((report["refused"].as_i64(), report["invalid"].as_i64()), (Some(1), Some(1)), "{report}");
    assert_eq!(report["items"][0]["status"], "refused");
    // The refusal names no holder (issue 10 item 3): the same words whoever holds the EID.
    assert_eq!(report["items"][0]["error"], "this EID cannot be registered by this operator", "{report}");
    assert!(!report.to_string().contains("op-a") && !report.to_string().contains("another"), "{report}");
    let (_, again) = env.post(&env.op_a, "/api/v1/eim/euiccs", &json!({"euiccs": [{"certificate": cert}]})).await;
    assert_eq!(again["alreadyRegistered"], 1, "{again}");
    // op-a still sees everything.
    assert_eq!(env.get(&env.op_a, &order_path).await.0, 200);
    let (_, listed) = env.get(&env.op_a, "/api/v1/eim/euiccs?limit=1").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let (_, next) = env
        .get(&env.op_a, &format!("/api/v1/eim/euiccs?limit=1&cursor={}", listed["nextCursor"].as_str().unwrap()))
        .await;
    assert_eq!(next["items"][0]["eid"], devices[1].eid);

    // Bad input: 4xx with {"error"}, never 5xx.
    let explode = format!("{campaign_path}/explode");
    let bad: Vec<(&str, &str, Option<Value>)> = vec![
        ("POST", "/api/v1/eim/orders", Some(json!("not an object"))),
        ("POST", "/api/v1/eim/orders", Some(json!({"eid": eid}))),
        ("POST", "/api/v1/eim/orders", Some(json!({"eid": eid, "intent": "reboot"}))),
        ("POST", "/api/v1/eim/orders", Some(json!({"eid": "123", "intent": "getRAT"}))),
        ("POST", "/api/v1/eim/orders", Some(json!({"eid": eid, "intent": "enable", "iccid": "8900"}))),
        ("POST", "/api/v1/eim/orders", Some(json!({"eid": eid, "intent": "download", "activationCode": "x"}))),
        ("POST", "/api/v1/eim/campaigns", Some(json!({"name": "", "intent": {"intent": "getRAT"}, "filter": {}}))),
        ("POST", "/api/v1/eim/campaigns", Some(json!({"name": "x", "intent": {"intent": "getRAT"}}))),
        (
            "POST",
            "/api/v1/eim/campaigns",
            Some(json!({"name": "x", "intent": {"intent": "getRAT"}, "filter": {}, "ratePerMinute": 0})),
        ),
        (
            "POST",
            "/api/v1/eim/campaigns",
            Some(json!({"name": "x", "intent": {"intent": "getRAT"}, "filter": {"eidPrefix": "8%"}})),
        ),
        ("POST", "/api/v1/eim/euiccs", Some(json!({"euiccs": []}))),
        ("GET", "/api/v1/eim/orders?limit=0", None),
        ("GET", "/api/v1/eim/orders?cursor=abc", None),
        ("GET", "/api/v1/eim/orders?bogus=1", None),
        ("GET", "/api/v1/eim/orders/abc", None),
        ("GET", "/api/v1/eim/campaigns/99999999999999999999", None),
        ("POST", &explode, Some(json!({}))),
    ];
    for (method, path, body) in bad {
        let (status, err) = env.call(&env.op_a, method, path, body.as_ref(), None).await;
        assert!((400..500).contains(&status), "{method} {path}: {status} {err}");
        assert!(err["error"].is_string(), "{method} {path}: {err}");
    }
    let r = env.op_a.post(env.server.operator_url("/api/v1/eim/orders")).body("{").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);

    // Idempotent creates: the same key answers the first campaign / order.
    let body = json!({"name": "idem", "intent": {"intent": "getRAT"}, "eids": [devices[1].eid]});
    let (s1, c1) = env.call(&env.op_a, "POST", "/api/v1/eim/campaigns", Some(&body), Some("key-1")).await;
    let (s2, c2) = env.call(&env.op_a, "POST", "/api/v1/eim/campaigns", Some(&body), Some("key-1")).await;
    assert_eq!((s1, s2), (201, 200));
    assert_eq!(c1["campaignId"], c2["campaignId"]);
    let body = json!({"eid": devices[1].eid, "intent": "getRAT"});
    let (s1, o1) = env.call(&env.op_a, "POST", "/api/v1/eim/orders", Some(&body), Some("key-1")).await;
    let (s2, o2) = env.call(&env.op_a, "POST", "/api/v1/eim/orders", Some(&body), Some("key-1")).await;
    assert_eq!((s1, s2), (201, 200));
    assert_eq!(o1["orderId"], o2["orderId"]);
    // op-b's key space is its own (and it has no eUICC to order for).
    let (s3, _) = env.call(&env.op_b, "POST", "/api/v1/eim/orders", Some(&body), Some("key-1")).await;
    assert_eq!(s3, 404);

    // The command line: rspd eim import / register --operator.
    let factory = crate::eim_campaign_harness::DeviceFactory::new(&env.pki(), &env.eim_context());
    let write = |n: u32| {
        let d = factory.device(n, true);
        let path = env.dir.path().join(format!("euicc-{n}.der"));
        std::fs::write(&path, &d.euicc.credentials().euicc_cert_der).unwrap();
        (d.eid, path.to_str().unwrap().to_owned())
    };
    let ((e1, f1), (e2, f2)) = (write(150), write(151));
    let cfg = env.config.to_str().unwrap();
    let out = env.dir.run(&["--config", cfg, "eim", "import", "--operator", "op-b", "--label", "lab", &f1], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("{e1} registered"));
    let foreign_file = env.dir.path().join("foreign.der");
    std::fs::write(&foreign_file, &devices[0].euicc.credentials().euicc_cert_der).unwrap();
    let out = env
        .dir
        .run(&["--config", cfg, "eim", "import", "--operator", "op-b", &f1, foreign_file.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("{e1} already registered")) && stdout.contains("another operator"), "{stdout}");
    let out = env.dir.run(&["--config", cfg, "eim", "register", "--cert", &f2, "--operator", "op-b"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for eid in [&e1, &e2] {
        assert_eq!(env.get(&env.op_b, &format!("/api/v1/eim/euiccs/{eid}")).await.0, 200);
        assert_eq!(env.get(&env.op_a, &format!("/api/v1/eim/euiccs/{eid}")).await.0, 404);
    }
    let (_, labelled) = env.get(&env.op_b, "/api/v1/eim/euiccs?label=lab").await;
    assert_eq!(labelled["items"].as_array().unwrap().len(), 1);
}

async fn pause_resume_cancel(postgres: Option<&str>) {
    let env = Env::start(postgres);
    let mut devices = env.devices(&env.op_a, 200, 5, &[]).await;
    let eids: Vec<&str> = devices.iter().map(|d| d.eid.as_str()).collect();
    let (status, campaign) = env
        .post(
            &env.op_a,
            "/api/v1/eim/campaigns",
            &json!({"name": "slow", "intent": {"intent": "listProfileInfo"}, "eids": eids, "ratePerMinute": 2}),
        )
        .await;
    assert_eq!(status, 201, "{campaign}");
    let path = format!("/api/v1/eim/campaigns/{}", campaign["campaignId"].as_str().unwrap());
    // Two released this minute, three pending.
    let c = env.wait_for(&env.op_a, &path, 20, |c| c["progress"]["queued"] == 2).await;
    assert_eq!(c["progress"]["pending"], 3, "{c}");

    let (status, paused) = env.post(&env.op_a, &format!("{path}/pause"), &json!({})).await;
    assert_eq!((status, paused["state"].as_str()), (200, Some("paused")));
    assert_eq!(env.post(&env.op_a, &format!("{path}/pause"), &json!({})).await.0, 409);
    let (status, resumed) = env.post(&env.op_a, &format!("{path}/resume"), &json!({})).await;
    assert_eq!((status, resumed["state"].as_str()), (200, Some("running")));

    // The released devices: which two got packages (lowest order ids = first EIDs in sorted order).
    let (_, list) = env.get(&env.op_a, &format!("{path}/devices?limit=2")).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let (_, rest) =
        env.get(&env.op_a, &format!("{path}/devices?limit=10&cursor={}", list["nextCursor"].as_str().unwrap())).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 3);
    assert!(rest["items"].as_array().unwrap().iter().all(|d| d["state"] == "pending"), "{rest}");
    let released: Vec<String> =
        list["items"].as_array().unwrap().iter().map(|d| d["eid"].as_str().unwrap().to_owned()).collect();
    let index = |eid: &str| devices.iter().position(|d| d.eid == eid).unwrap();
    let (first, second) = (index(&released[0]), index(&released[1]));
    // The first completes; the second fetches its package and has not answered when the campaign is cancelled.
    assert!(env.poll(&mut devices[first]).await);
    let package = env.get_eim_package(&devices[second].eid).await.expect("dispatched");
    let c = env.wait_for(&env.op_a, &path, 20, |c| c["progress"]["succeeded"] == 1).await;
    assert_eq!(c["progress"]["dispatched"], 1, "{c}");

    let (status, cancelled) = env.post(&env.op_a, &format!("{path}/cancel"), &json!({})).await;
    assert_eq!((status, cancelled["state"].as_str()), (200, Some("cancelled")), "{cancelled}");
    assert_eq!(cancelled["progress"]["cancelled"], 3, "{cancelled}");
    assert_eq!(cancelled["progress"]["dispatched"], 1, "{cancelled}");
    assert_eq!(env.post(&env.op_a, &format!("{path}/resume"), &json!({})).await.0, 409);
    assert_eq!(env.post(&env.op_a, &format!("{path}/cancel"), &json!({})).await.0, 409);
    // The dispatched package finishes.
    let result = devices[second].euicc.load_euicc_package(&package).unwrap();
    env.provide_result(&devices[second].eid, &result).await;
    let c = env.wait_for(&env.op_a, &path, 20, |c| c["progress"]["succeeded"] == 2).await;
    assert_eq!((c["progress"]["cancelled"].as_i64(), c["progress"]["total"].as_i64()), (Some(3), Some(5)), "{c}");
    for d in devices.iter_mut() {
        assert!(!env.poll(d).await, "no package after cancel");
    }
}

/// The release rate without a clock and without a server: the job's release step called at chosen times.
async fn release_rate(postgres: Option<&str>) {
    let dir = crate::common::TestDir::new();
    let schema = postgres.map(crate::common::postgres::SchemaGuard::create);
    let (url, _) = crate::common::database(&dir, schema.as_ref());
    std::fs::create_dir_all(dir.data_dir()).unwrap();
    let store = rspd::store::Store::open(&rspd::config::DatabaseSettings {
        url,
        pool_size: 2,
        connect_timeout: Duration::from_secs(5),
        sqlite_busy_timeout: Duration::from_secs(5),
    })
    .unwrap();
    store.migrate().unwrap();
    let eids: Vec<String> = (0..30).map(|n| import_self_signed(&store, 300 + n)).collect();
    let request = CampaignRequest {
        name: "rate".into(),
        intent: json!({"intent": "getRAT"}),
        devices: DeviceSelection::Eids(eids),
        rate_per_minute: 10,
        max_in_flight: 25,
        idempotency_key: None,
    };
    let t0 = 1_000_000_000;
    let (campaign, _) = create_campaign(&store, "op-a", request, t0).unwrap();
    let released_at = |t: i64| -> i64 {
        store.release_campaigns(t).unwrap().into_iter().filter(|(id, _)| *id == campaign.id).map(|(_, n)| n).sum()
    };
    assert_eq!(released_at(t0), 10, "one minute's worth");
    assert_eq!(released_at(t0 + 1), 0, "same window");
    assert_eq!(released_at(t0 + 59_999), 0, "same window");
    assert_eq!(released_at(t0 + 60_000), 10, "next window");
    assert_eq!(released_at(t0 + 120_000), 5, "max in flight 25");
    assert_eq!(released_at(t0 + 180_000), 0, "still 25 running");
    // 25 released; no package built for them yet (the orders job does that), so all 30 still show pending.
    assert_eq!(store.orders_to_queue(100).unwrap().len(), 25);
    let counts = store.campaign_counts(campaign.id).unwrap();
    assert_eq!((counts.pending, counts.queued, counts.total), (30, 0, 30));
    // Paused: nothing released; another operator cannot touch it.
    assert!(store
        .set_campaign_state("op-b", campaign.id, &[CampaignState::Running], CampaignState::Paused, t0)
        .unwrap()
        .is_none());
    store
        .set_campaign_state("op-a", campaign.id, &[CampaignState::Running], CampaignState::Paused, t0)
        .unwrap()
        .unwrap();
    assert_eq!(released_at(t0 + 10_000_000), 0, "paused");
}

/// Two "nodes" (threads with their own pools) run the orders job at once over one campaign: every device
/// gets exactly one package, no counterValue is reused, the rate holds across both, and both finish.
async fn two_nodes_race(postgres: Option<&str>) {
    use rspd::eim::orders::tick;
    let dir = crate::common::TestDir::new();
    let schema = postgres.map(crate::common::postgres::SchemaGuard::create);
    let (url, _) = crate::common::database(&dir, schema.as_ref());
    std::fs::create_dir_all(dir.data_dir()).unwrap();
    let open = || {
        rspd::store::Store::open(&rspd::config::DatabaseSettings {
            url: url.clone(),
            pool_size: 3,
            connect_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(10),
        })
        .unwrap()
    };
    let store = open();
    store.migrate().unwrap();
    let eids: Vec<String> = (0..120).map(|n| import_self_signed(&store, 500 + n)).collect();
    // The eIM key, as rspd would load it.
    let key_path = dir.path().join("eim.pem");
    let key = openssl::ec::EcKey::generate(
        &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
    )
    .unwrap();
    std::fs::write(&key_path, key.private_key_to_pem().unwrap()).unwrap();
    let keys =
        rspd::pki::PemKeyStore::load(&[(rspd::eim::EimContext::key(rspd::pki::Curve::NistP256), &key_path)]).unwrap();
    let ctx = rspd::eim::EimContext {
        eim_id: "eim.rspd.test".into(),
        eim_fqdn: "localhost".into(),
        keys: Arc::new(keys),
        curves: vec![rspd::pki::Curve::NistP256],
        dispatch_timeout: Duration::from_secs(600),
        no_show_timeout: Duration::from_secs(600),
    };
    let request = CampaignRequest {
        name: "race".into(),
        intent: json!({"intent": "sequence", "steps": [{"intent": "getRAT"}, {"intent": "listEim"}]}),
        devices: DeviceSelection::Eids(eids.clone()),
        rate_per_minute: 100,
        max_in_flight: 1000,
        idempotency_key: None,
    };
    let t0 = 2_000_000_000;
    let (campaign, _) = create_campaign(&store, "op-a", request, t0).unwrap();
    let nodes: Vec<_> = (0..2)
        .map(|_| {
            let (store, ctx) = (open(), ctx.clone());
            std::thread::spawn(move || {
                let mut released = 0;
                let mut queued = 0;
                for i in 0..6 {
                    let r = tick(&store, &ctx, t0 + i).unwrap();
                    released += r.released.iter().map(|(_, n)| n).sum::<i64>();
                    queued += r.queued;
                }
                (released, queued)
            })
        })
        .collect();
    let results: Vec<(i64, usize)> = nodes.into_iter().map(|n| n.join().unwrap()).collect();
    assert_eq!(results.iter().map(|r| r.0).sum::<i64>(), 100, "the rate holds across nodes: {results:?}");
    assert_eq!(results.iter().map(|r| r.1).sum::<usize>(), 100, "each released order queued once: {results:?}");
    let counts = store.campaign_counts(campaign.id).unwrap();
    assert_eq!((counts.queued, counts.pending), (100, 20));
    // Exactly one package per released device, counterValue 1 each.
    let orders = store.list_orders("op-a", Some(campaign.id), None, 1000).unwrap();
    let mut with_package = 0;
    for (o, _) in &orders {
        let steps = store.order_steps(o.id).unwrap();
        assert!(steps.len() <= 1, "order {} has {} packages", o.id, steps.len());
        if let Some(s) = steps.first() {
            with_package += 1;
            assert_eq!(s.package.counter_value, 1, "no counterValue burnt or reused");
        }
    }
    assert_eq!(with_package, 100);
}

/// Registers a self-signed eUICC certificate (EID from `n`) for op-a directly in the store.
fn import_self_signed(store: &rspd::store::Store, n: u32) -> String {
    use openssl::{ec, hash, nid::Nid, pkey, x509};
    let body = format!("89049032{n:022}");
    let eid = format!("{body}{}", rspd::pki::eid::check_digits(&body).unwrap());
    let key = pkey::PKey::from_ec_key(
        ec::EcKey::generate(&ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
    )
    .unwrap();
    let mut name = x509::X509Name::builder().unwrap();
    name.append_entry_by_nid(Nid::SERIALNUMBER, &eid).unwrap();
    let name = name.build();
    let mut b = x509::X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(1).unwrap()).unwrap();
    b.sign(&key, hash::MessageDigest::sha256()).unwrap();
    let new = rspd::eim::NewEuicc::from_certificate(&b.build().to_der().unwrap(), "eim.rspd.test", 0).unwrap();
    assert_eq!(store.import_euicc(&new, "op-a", None).unwrap(), rspd::eim::campaign::ImportOutcome::Registered);
    eid
}

/// Reads `response` until `done(text so far)`, at most `secs`; the text.
async fn read_sse(response: &mut reqwest::Response, secs: u64, done: impl Fn(&str) -> bool) -> String {
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done(&text) {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, response.chunk()).await {
            Ok(chunk) => text.push_str(&String::from_utf8_lossy(&chunk.unwrap().expect("stream open"))),
            Err(_) => break,
        }
    }
    text
}

async fn event_stream(postgres: Option<&str>) {
    let env = Env::start(postgres);
    let mut devices = env.devices(&env.op_a, 400, 1, &[]).await;
    let url = env.server.operator_url("/api/v1/eim/events");
    let mut a = env.op_a.get(&url).send().await.unwrap();
    assert_eq!(a.status().as_u16(), 200);
    assert_eq!(a.headers()["content-type"], "text/event-stream");
    let mut b = env.op_b.get(&url).send().await.unwrap();
    let (status, order) =
        env.post(&env.op_a, "/api/v1/eim/orders", &json!({"eid": devices[0].eid, "intent": "listProfileInfo"})).await;
    assert_eq!(status, 201);
    // Events are state snapshots read every 250 ms: wait for "queued" before the device polls.
    let queued = read_sse(&mut a, 20, |t| {
        t.contains("event: step") && t.contains(r#""state":"queued""#) && t.contains("event: order")
    })
    .await;
    assert!(env.poll(&mut devices[0]).await);
    let done = read_sse(&mut a, 20, |t| t.contains("event: order") && t.contains(r#""state":"succeeded""#)).await;
    let text = format!("{queued}{done}");
    assert!(text.contains(&format!(r#""orderId":{}"#, order["orderId"])), "{text}");
    assert!(done.contains("event: step") && done.contains(r#""kind":"listProfileInfo""#), "{done}");
    // op-b's stream carries nothing of op-a's.
    let other = read_sse(&mut b, 1, |t| t.contains("event:")).await;
    assert!(!other.contains("event:"), "{other}");
    // Resume after the first event: the later ones come again.
    let first_id = text.lines().find_map(|l| l.strip_prefix("id: ")).unwrap().to_owned();
    let mut resumed = env.op_a.get(&url).header("Last-Event-ID", &first_id).send().await.unwrap();
    let again = read_sse(&mut resumed, 20, |t| t.contains(r#""state":"succeeded""#)).await;
    assert!(!again.contains(&format!("id: {first_id}\n")), "{again}");
    assert!(again.contains("event: "), "{again}");
    let bad = env.op_a.get(&url).header("Last-Event-ID", "nonsense").send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 400);
}

/// 1,000 simulated devices, 10 of them without profile B: the campaign "enable B" ends with exactly 990
/// succeeded and 10 failed (iccidOrAidNotFound).
async fn thousand_devices(postgres: Option<&str>) {
    let started = Instant::now();
    let env = Env::start(postgres);
    let without_b: Vec<u32> = (0..10).map(|i| 1000 + i * 97).collect();
    let devices = env.devices(&env.op_a, 1000, 1000, &without_b).await;
    eprintln!("1000 devices made and imported in {:?}", started.elapsed());
    let (status, campaign) = env
        .post(
            &env.op_a,
            "/api/v1/eim/campaigns",
            &json!({"name": "fleet", "intent": {"intent": "enable", "iccid": ICCID_B},
                    "filter": {"label": "fleet-1"}, "ratePerMinute": 100000, "maxInFlight": 1000}),
        )
        .await;
    assert_eq!(status, 201, "{campaign}");
    assert_eq!(campaign["deviceCount"], 1000);
    let path = format!("/api/v1/eim/campaigns/{}", campaign["campaignId"].as_str().unwrap());

    // IPAs: 16 workers share the devices; a device leaves the queue once it ran its package.
    let listener = vec![(env.device_client.clone(), env.address.clone())];
    let ran = run_one_package_each(devices, listener, 16, Duration::from_secs(240)).await;
    assert_eq!(ran.len(), 1000);
    let enabled = ran.iter().filter(|d| d.state_of(ICCID_B) == Some(ProfileState::Enabled)).count();
    assert_eq!(enabled, 990);

    let c = env.wait_for(&env.op_a, &path, 60, |c| c["state"] == "completed").await;
    let p = &c["progress"];
    assert_eq!(
        (p["total"].as_i64(), p["succeeded"].as_i64(), p["failed"].as_i64()),
        (Some(1000), Some(990), Some(10)),
        "{c}"
    );
    assert_eq!((p["pending"].as_i64(), p["queued"].as_i64(), p["dispatched"].as_i64()), (Some(0), Some(0), Some(0)));
    // Per-device outcome: the 10 failures carry the enable error, walking all pages.
    let mut failed = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen = 0;
    loop {
        let q = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let (_, page) = env.get(&env.op_a, &format!("{path}/devices?limit=300{q}")).await;
        for d in page["items"].as_array().unwrap() {
            seen += 1;
            if d["state"] == "failed" {
                failed.push(d["failureReason"].as_str().unwrap().to_owned());
            }
        }
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, 1000);
    assert_eq!(failed.len(), 10);
    assert!(failed.iter().all(|r| r.starts_with("step 0 (enable): operation_failed:0:enable:")), "{failed:?}");
    eprintln!("1000-device campaign done in {:?}", started.elapsed());
}

/// Each poll records when the eUICC was last seen and what its IPA reported (rPLMN, stateChangeCause), in both
/// bindings; the operator reads it with the eUICC.
async fn device_contact(postgres: Option<&str>) {
    use rspd::codec::encode;
    use rspd::codec::sgp32::GetEimPackageRequest;
    let env = Env::start(postgres);
    let devices = env.devices(&env.op_a, 500, 2, &[]).await;
    let path = |eid: &str| format!("/api/v1/eim/euiccs/{eid}");
    let (_, before) = env.get(&env.op_a, &path(&devices[0].eid)).await;
    assert_eq!(before["lastSeen"], Value::Null, "{before}");
    // ASN.1: rPLMN 310/410 (BCD 13 00 14), notifyStateChange with stateChangeCause fallback(1).
    let request = GetEimPackageRequest {
        eid_value: rasn::types::FixedOctetString::new(hex::decode(&devices[0].eid).unwrap().try_into().unwrap()),
        notify_state_change: Some(()),
        state_change_cause: Some(1),
        r_plmn: Some(rasn::types::FixedOctetString::new([0x13, 0x00, 0x14])),
    };
    env.esipa(encode(&request).unwrap()).await;
    let (status, seen) = env.get(&env.op_a, &path(&devices[0].eid)).await;
    assert_eq!(status, 200, "{seen}");
    assert!(seen["lastSeen"].as_i64().is_some(), "{seen}");
    assert_eq!(seen["rPlmn"], json!({"hex": "130014", "mcc": "310", "mnc": "410"}));
    assert_eq!(seen["stateChangeCause"], 1);
    // JSON binding: rPLMN 262/01 (two-digit MNC: 62 F2 10) as hex.
    let url = format!("https://{}/gsma/rsp2/esipa/getEimPackage", env.address);
    let body = json!({"eidValue": devices[1].eid, "rPLMN": "62F210"});
    let r = env.device_client.post(&url).header("Content-Type", "application/json").json(&body).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (_, seen) = env.get(&env.op_a, &path(&devices[1].eid)).await;
    assert_eq!(seen["rPlmn"], json!({"hex": "62F210", "mcc": "262", "mnc": "01"}));
    assert_eq!(seen["stateChangeCause"], Value::Null);
    // A malformed rPLMN is the binding's 1.6/2.1, never a 500.
    let body = json!({"eidValue": devices[1].eid, "rPLMN": "zz"});
    let r = env.device_client.post(&url).header("Content-Type", "application/json").json(&body).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["header"]["functionExecutionStatus"]["statusCodeData"]["subjectCode"], "1.6", "{v}");
    // Another operator does not see the device at all.
    let (status, _) = env.get(&env.op_b, &path(&devices[0].eid)).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_record_last_seen_rplmn_and_state_change_cause() {
    for backend in backends() {
        device_contact(backend.as_deref()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn composite_intent_orders_run_step_by_step() {
    for backend in backends() {
        composite_orders(backend.as_deref()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_are_isolated_and_bad_input_is_a_4xx() {
    for backend in backends() {
        isolation_and_bad_input(backend.as_deref()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_stream_follows_orders_for_its_operator_only() {
    for backend in backends() {
        event_stream(backend.as_deref()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_running_the_job_release_and_queue_once() {
    for backend in backends() {
        two_nodes_race(backend.as_deref()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_pause_resume_cancel() {
    for backend in backends() {
        pause_resume_cancel(backend.as_deref()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_release_respects_the_rate_and_in_flight_cap() {
    for backend in backends() {
        release_rate(backend.as_deref()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_over_1000_devices_completes_with_exact_counts() {
    for backend in backends() {
        thousand_devices(backend.as_deref()).await;
    }
}
