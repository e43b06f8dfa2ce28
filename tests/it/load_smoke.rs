//! The load generator (`rsp_conformance::load`, issue 12 items 1 and 5) against a test server, never timed:
//! 20 full downloads — each its own ES2+ DownloadOrder + ConfirmOrder over mutual TLS and its own newly issued
//! eUICC — 200 ESipa polls from 20 eUICCs registered through the eIM's bulk import, and 20 devices associated by
//! AddInitialEim that each run the package a campaign queued for them and report its result, in both bindings;
//! zero errors, exact counts (the campaign's included), every profile Installed, and the server's CPU time read.
//! On SQLite and PostgreSQL.

use std::time::Duration;

use rsp_conformance::ipa::Binding;
use rsp_conformance::load::{self, EimIdentity, LoadConfig, OperatorTarget};
use rsp_conformance::lpa::TrustAnchors;
use rspd::pki::Curve;
use rspd::smdp::{ProfileRepository, ProfileState};

use crate::common::backends;
use crate::es9_harness::{backend_name, ts48_template, Env};

const DOWNLOADS: u64 = 20;
const POLLS: u64 = 200;
const PACKAGES: u64 = 20;

fn smoke(pg: Option<&str>, template: &[u8], binding: Binding) {
    let backend = backend_name(&pg.map(str::to_owned));
    let env = Env::start(pg);
    // Stock through the bulk path: a template and a personalization batch of one row per download.
    let file = env.dir.path().join("template.der");
    std::fs::write(&file, template).unwrap();
    let out = env.rspd(&["template", "upload", file.to_str().unwrap(), "--type", "load", "--name", "load"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let iccids: Vec<String> = (0..DOWNLOADS).map(|n| crate::es9_harness::iccid(900 + n as u32)).collect();
    let batch = env.dir.path().join("batch.csv");
    std::fs::write(&batch, format!("iccid\n{}\n", iccids.join("\n"))).unwrap();
    let out = env.rspd(&["template", "batch", "load", batch.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let server = env.server.as_ref().unwrap();
    let pki = env.pki();
    let mut anchors = TrustAnchors::new();
    for curve in Curve::ALL {
        anchors.add_file(&pki.ci_cert(curve)).unwrap();
    }
    let eim_identity = EimIdentity::from_key_file("rspd-eim", &env.address, &pki.eim_key(Curve::NistP256)).unwrap();
    let config = LoadConfig {
        operator: Some(OperatorTarget {
            address: format!("localhost:{}", server.operator.port()),
            client_cert: pki.operator_client_cert(),
            client_key: pki.operator_client_key(),
        }),
        pki,
        curve: Curve::NistP256,
        anchors,
        smdp: vec![env.address.clone()],
        profile_type: "load".into(),
        downloads: DOWNLOADS,
        orders_only: false,
        hold_sessions: false,
        eim: vec![format!("https://{}", env.address)],
        binding,
        polls: POLLS,
        poll_devices: 20,
        packages: PACKAGES,
        eim_identity: Some(eim_identity),
        concurrency: 4,
        max_duration: Duration::from_secs(600),
        server_pids: vec![server.pid()],
        database_cpu: pg.is_some(),
        first_serial: 1_000,
        progress: false,
    };
    let report = load::run(&config).unwrap_or_else(|e| panic!("{backend}: {e}"));
    let text = serde_json::to_string_pretty(&report).unwrap();
    assert_eq!(report.failures(), 0, "{backend}: {text}");
    let phases = [
        ("orders", DOWNLOADS),
        ("downloads", DOWNLOADS),
        ("polls", POLLS),
        ("campaign", PACKAGES),
        ("packages", PACKAGES),
    ];
    for (phase, count) in phases {
        let p = report.phase(phase).unwrap_or_else(|| panic!("{backend}: no {phase} phase: {text}"));
        assert_eq!(p.completed, count, "{backend}: {phase}: {text}");
        assert!(p.server_cpu_seconds.is_some_and(|s| s >= 0.0), "{backend}: {phase}: {text}");
    }
    let functions = |phase: &str| report.phase(phase).unwrap().functions.clone();
    let ok = |phase: &str, function: &str| functions(phase).iter().find(|f| f.function == function).map(|f| f.ok);
    assert_eq!(ok("downloads", "ES9+.HandleNotification"), Some(DOWNLOADS), "{backend}: {text}");
    assert_eq!(ok("polls", "ESipa.GetEimPackage"), Some(POLLS), "{backend}: {text}");
    assert_eq!(ok("packages", "ESipa.GetEimPackage"), Some(PACKAGES), "{backend}: {text}");
    assert_eq!(ok("packages", "ESipa.ProvideEimPackageResult"), Some(PACKAGES), "{backend}: {text}");
    // Every profile downloaded once and installed (the notification worker applies the PIR after the 204).
    let store = env.store();
    crate::common::wait_until("every profile Installed", Duration::from_secs(30), || {
        iccids.iter().all(|i| {
            store.find_profile(rspd::pki::test_pki::TEST_OPERATOR_ID, i).unwrap().map(|p| p.state)
                == Some(ProfileState::Installed)
        })
    });
}

#[test]
fn load_generator_smoke_run_has_no_errors_and_exact_counts() {
    let Some(template) = ts48_template() else { return };
    for (pg, binding) in backends().into_iter().zip([Binding::Asn1, Binding::Json]) {
        smoke(pg.as_deref(), &template, binding);
    }
}
