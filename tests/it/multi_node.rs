//! Several rspd nodes on one PostgreSQL database (issue 12 items 4 and 5): three `rspd serve` processes share the
//! database, the keys and the configuration (nothing sticky: any node serves any step), and the devices are spread
//! over them. Never timed; what is checked is that nothing happens twice:
//! - **each profile delivered once** — three load generators take ES2+ DownloadOrder + ConfirmOrder on the three
//!   nodes at once (the claim of SGP.22 v2.5 §5.3.1 under `FOR UPDATE SKIP LOCKED`), and each device downloads on
//!   another node than the one that took its order (§3.1.3): every ICCID ordered, bound and installed exactly once;
//! - **each counterValue used once** — a campaign (SGP.32 v1.2 eIM packages) over devices that poll the three nodes
//!   in turn: every package is handed out and executed once (the soft eUICC refuses a replayed counterValue, which
//!   would show as a failed device), no eUICC has two packages with one counterValue, the counts are exact;
//! - the audit chain, sealed by whichever node gets there first, verifies.
//!
//! PostgreSQL only (SQLite is one process's file); without `RSPD_TEST_POSTGRES_URL` it prints SKIP.

use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use rsp_conformance::euicc::profiles::ProfileState as EuiccProfileState;
use rsp_conformance::ipa::Binding;
use rsp_conformance::load::{self, LoadConfig, OperatorTarget};
use rsp_conformance::lpa::TrustAnchors;
use rspd::config::DatabaseUrl;
use rspd::pki::Curve;
use serde_json::json;

use crate::common::backends;
use crate::eim_campaign_harness::{run_one_package_each, DeviceListener, Env, ICCID_B};
use crate::es9_harness::ts48_template;

const NODES: usize = 3;
const DOWNLOADS_PER_NODE: u64 = 8;
const CAMPAIGN_DEVICES: u32 = 45;

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(url: &DatabaseUrl, sql: &str) -> i64 {
    let DatabaseUrl::Postgres { url } = url else { panic!("PostgreSQL only") };
    let mut c = PgConnection::establish(url).unwrap();
    diesel::sql_query(sql).get_result::<Count>(&mut c).unwrap().n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_on_one_database_deliver_each_profile_and_each_package_once() {
    let Some(pg) = backends().into_iter().flatten().next() else {
        eprintln!("SKIP three nodes: PostgreSQL only (RSPD_TEST_POSTGRES_URL unset)");
        return;
    };
    let Some(template) = ts48_template() else { return };
    let env = Env::start(Some(&pg));
    let others = [env.add_node(), env.add_node()];
    let servers = [&env.server, &others[0].server, &others[1].server];
    let device_addresses: Vec<String> =
        std::iter::once(env.address.clone()).chain(others.iter().map(|n| n.address.clone())).collect();

    // Stock for op-a (the test PKI's operator certificate): a template and one personalization batch.
    let file = env.dir.path().join("template.der");
    std::fs::write(&file, &template).unwrap();
    let cli = |args: &[&str]| {
        let mut all = vec!["--config", env.config.to_str().unwrap()];
        all.extend_from_slice(args);
        let out = env.dir.run(&all, &[]);
        assert!(out.status.success(), "rspd {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    cli(&["template", "upload", file.to_str().unwrap(), "--type", "load", "--name", "load", "--operator", "op-a"]);
    let total = DOWNLOADS_PER_NODE * NODES as u64;
    let iccids: Vec<String> = (0..total as u32).map(|n| crate::common::iccid("8988239000077", n)).collect();
    let batch = env.dir.path().join("batch.csv");
    std::fs::write(&batch, format!("iccid\n{}\n", iccids.join("\n"))).unwrap();
    cli(&["template", "batch", "load", batch.to_str().unwrap(), "--operator", "op-a"]);

    // Downloads: one load generator per node takes its orders there, and its devices download on the other
    // nodes in turn, all at once.
    let pki = env.pki();
    let mut anchors = TrustAnchors::new();
    for curve in Curve::ALL {
        anchors.add_file(&pki.ci_cert(curve)).unwrap();
    }
    let pids: Vec<u32> = servers.iter().map(|s| s.pid()).collect();
    let configs: Vec<LoadConfig> = (0..NODES)
        .map(|k| LoadConfig {
            operator: Some(OperatorTarget {
                address: format!("localhost:{}", servers[k].operator.port()),
                client_cert: pki.operator_client_cert(),
                client_key: pki.operator_client_key(),
            }),
            pki: pki.clone(),
            curve: Curve::NistP256,
            anchors: anchors.clone(),
            smdp: (1..NODES).map(|d| device_addresses[(k + d) % NODES].clone()).collect(),
            profile_type: "load".into(),
            downloads: DOWNLOADS_PER_NODE,
            orders_only: false,
            hold_sessions: false,
            eim: Vec::new(),
            binding: Binding::Asn1,
            polls: 0,
            poll_devices: 0,
            packages: 0,
            eim_identity: None,
            concurrency: 3,
            max_duration: Duration::from_secs(300),
            server_pids: pids.clone(),
            database_cpu: false,
            first_serial: 50_000 + 1_000 * k as u64,
            progress: false,
        })
        .collect();
    let reports = tokio::task::spawn_blocking(move || {
        std::thread::scope(|s| {
            let runs: Vec<_> = configs.iter().map(|c| s.spawn(move || load::run(c))).collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect::<Vec<_>>()
        })
    })
    .await
    .unwrap();
    for report in reports {
        let report = report.unwrap();
        let text = serde_json::to_string(&report).unwrap();
        assert_eq!(report.failures(), 0, "{text}");
        assert_eq!(report.phase("downloads").map(|p| p.completed), Some(DOWNLOADS_PER_NODE), "{text}");
    }
    let url = &env.db_url;
    let listed = iccids.iter().map(|i| format!("'{i}'")).collect::<Vec<_>>().join(",");
    // Each ICCID: one order, one session that delivered its BPP, and Installed once the PIRs are applied.
    let per_iccid = |table_filter: &str| {
        count(
            url,
            &format!(
                "SELECT COUNT(*) AS n FROM (SELECT iccid FROM {table_filter} AND iccid IN ({listed}) \
                 GROUP BY iccid HAVING COUNT(*) = 1) once"
            ),
        )
    };
    assert_eq!(per_iccid("orders WHERE TRUE"), total as i64, "one order per profile");
    assert_eq!(
        per_iccid("download_sessions WHERE state IN ('bpp_delivered', 'completed')"),
        total as i64,
        "one BPP per profile"
    );
    let installed = format!("SELECT COUNT(*) AS n FROM profiles WHERE state = 'installed' AND iccid IN ({listed})");
    crate::common::wait_until("every profile Installed", Duration::from_secs(60), || {
        count(url, &installed) == total as i64
    });

    // A campaign over devices that poll the three nodes in turn.
    let devices = env.devices(&env.op_a, 5_000, CAMPAIGN_DEVICES, &[]).await;
    let (status, campaign) = env
        .post(
            &env.op_a,
            "/api/v1/eim/campaigns",
            &json!({"name": "three-nodes", "intent": {"intent": "enable", "iccid": ICCID_B},
                    "filter": {"label": "fleet-1"}, "ratePerMinute": 100000, "maxInFlight": 1000}),
        )
        .await;
    assert_eq!(status, 201, "{campaign}");
    assert_eq!(campaign["deviceCount"], CAMPAIGN_DEVICES);
    let path = format!("/api/v1/eim/campaigns/{}", campaign["campaignId"].as_str().unwrap());
    let listeners: Vec<(reqwest::Client, String)> = std::iter::once((env.device_client.clone(), env.address.clone()))
        .chain(others.iter().map(|n| (n.device_client.clone(), n.address.clone())))
        .collect();
    let ran = run_one_package_each(devices, listeners.clone(), 6, Duration::from_secs(240)).await;
    assert_eq!(ran.len(), CAMPAIGN_DEVICES as usize);
    assert!(ran.iter().all(|d| d.state_of(ICCID_B) == Some(EuiccProfileState::Enabled)), "every package ran once");
    let c = env.wait_for(&env.op_a, &path, 60, |c| c["state"] == "completed").await;
    let p = &c["progress"];
    assert_eq!(
        (p["total"].as_i64(), p["succeeded"].as_i64(), p["failed"].as_i64()),
        (Some(CAMPAIGN_DEVICES as i64), Some(CAMPAIGN_DEVICES as i64), Some(0)),
        "{c}"
    );
    // No further package is waiting for any device on any node, and no counterValue was used twice.
    for (client, address) in &listeners {
        for d in ran.iter().take(5) {
            assert!(DeviceListener::new(client, address).get_eim_package(&d.eid).await.is_none());
        }
    }
    let reused = "SELECT COUNT(*) AS n FROM (SELECT eid, counter_value FROM eim_packages \
                  GROUP BY eid, counter_value HAVING COUNT(*) > 1) twice";
    assert_eq!(count(url, reused), 0, "a counterValue used twice");

    // The audit trail, sealed by all three nodes and this reader, is one intact chain.
    let store = env.store();
    let rows = store.verify_audit_chain().unwrap();
    assert!(rows > total as i64 * 4, "{rows} audit rows");
}
