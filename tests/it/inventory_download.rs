//! Template-backed profiles end to end (SGP.22 v2.5 §3.1.3): a batch row becomes an Available profile, is ordered,
//! and downloads with the soft eUICC exactly like a prepared one — the installed profile carries the row's
//! ICCID, IMSI and Ki and the profile type's StoreMetadata (§5.5.3). Then `rspd keys rotate` while the server runs,
//! another download, and the failure modes of the master key: a wrong key is a clear one-line refusal, and no
//! Ki appears in any log or command output.
//!
//! Each case runs on SQLite and, with `RSPD_TEST_POSTGRES_URL`, on PostgreSQL.

use crate::es9_harness::*;
use crate::inventory_support::*;
use rspd::pki::Curve;
use rspd::profile::ProfilePackage;
use rspd::smdp::ProfileState;
use serde_json::json;

const KI: &str = "C0FFEE00112233445566778899AABBCC";
const OPC: &str = "DEADBEEF0102030405060708090A0B0C";

/// Orders `iccid` through the CLI and downloads it with a fresh soft eUICC; returns the installed profile.
async fn download(env: &Env, iccid: &str) -> rsp_conformance::euicc::InstalledProfile {
    let matching_id = env.create_order(iccid, &[]);
    download_order(env, iccid, &matching_id).await
}

/// ES2+ DownloadOrder by profileType then ConfirmOrder with releaseFlag (SGP.22 §5.3.1–§5.3.2), as an operator
/// back end does; returns the ICCID taken from the pool and the matchingId.
async fn order_over_es2(ops: &Operators, profile_type: &str) -> (String, String) {
    let call = |function: &str, mut body: serde_json::Value| {
        body["header"] = json!({ "functionRequesterIdentifier": "inventory-test", "functionCallIdentifier": function });
        ops.a
            .post(format!("{}/gsma/rsp2/es2plus/{function}", ops.base))
            .header("X-Admin-Protocol", "gsma/rsp/v2.5.0")
            .json(&body)
            .send()
    };
    let r: serde_json::Value =
        call("downloadOrder", json!({ "profileType": profile_type })).await.unwrap().json().await.unwrap();
    assert_eq!(r["header"]["functionExecutionStatus"]["status"], "Executed-Success", "{r}");
    let iccid = r["iccid"].as_str().unwrap().to_owned();
    let r: serde_json::Value =
        call("confirmOrder", json!({ "iccid": iccid, "releaseFlag": true })).await.unwrap().json().await.unwrap();
    assert_eq!(r["header"]["functionExecutionStatus"]["status"], "Executed-Success", "{r}");
    (iccid, r["matchingId"].as_str().unwrap().to_owned())
}

async fn download_order(env: &Env, iccid: &str, matching_id: &str) -> rsp_conformance::euicc::InstalledProfile {
    let matching_id = matching_id.to_owned();
    let mut euicc = env.euicc(Curve::NistP256);
    let (tx, asr) = initiate(env, &mut euicc, &matching_id).await;
    let pdr = prepare(env, &mut euicc, &tx, &asr, None).await;
    let bpp = get_bpp_body(env, &tx, &pdr).await;
    assert_eq!(status(&bpp), "Executed-Success", "{bpp}");
    let installation = euicc.load_bound_profile_package(&crate::es9_harness::b64(&bpp, "boundProfilePackage")).unwrap();
    assert_eq!(installation.result.as_deref().ok(), Some(iccid), "{:?}", installation.result);
    let pending = euicc.pending_notification_der(installation.seq_number).unwrap().to_vec();
    assert_eq!(handle_notification(env, &pending).await.0, 204);
    wait_for_state(env, &matching_id, ProfileState::Installed).await;
    euicc.profiles().iter().find(|p| p.iccid == iccid).unwrap().clone()
}

fn log_text(env: &Env) -> String {
    env.server.as_ref().unwrap().log.lock().unwrap().join("\n")
}

#[tokio::test]
async fn template_backed_profile_downloads_with_the_rows_values_then_after_key_rotation() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        // Debug logging: the grep below must hold for everything rspd may log.
        let env = Env::start_with(pg.as_deref(), |_| format!("{}\n[log]\nlevel = \"debug\"\n", identities()));
        let ops = Operators::new(&env);
        let metadata = json!({ "serviceProviderName": "Inventory SP", "profileName": "Generated",
            "profileClass": "operational",
            "notificationConfigurationInfo": [{ "profileManagementOperation": ["notificationInstall", "notificationDelete"],
                "notificationAddress": "notify.example.com" }] });
        assert_eq!(ops.call(&ops.a, "PUT", "/api/v1/profile-types/gen", Some(metadata)).await.0, 200);
        let body = json!({ "name": "ts48", "profileType": "gen", "package": crate::inventory_support::b64(&template) });
        assert_eq!(ops.call(&ops.a, "POST", "/api/v1/templates", Some(body)).await.0, 201);
        let (first, second) = (iccid(401), iccid(402));
        let csv = format!(
            "iccid,imsi,ki,opc,pin1,puk1\n{first},001019990000401,{KI},{OPC},4321,87654321\n\
             {second},001019990000402,{KI},{OPC},4321,87654321\n"
        );
        let (code, report) = ops.csv(&ops.a, "/api/v1/templates/ts48/batches?allOrNothing=true", &csv).await;
        assert_eq!((code, report["written"].as_u64()), (200, Some(2)), "{report}");

        // A template is not a profile: it cannot be ordered itself.
        let out = env.rspd(&["order", "create", "--profile", "ts48"]);
        assert!(!out.status.success());

        let installed = download(&env, &first).await;
        let package = ProfilePackage::parse(&installed.profile_package).unwrap();
        assert_eq!(package.iccid().digits(), first);
        assert_eq!(package.imsi().map(|i| i.digits()), Some("001019990000401"));
        assert!(contains(&installed.profile_package, &hex::decode(KI).unwrap()), "Ki of the batch row installed");
        assert!(contains(&installed.profile_package, &hex::decode(OPC).unwrap()), "OPc of the batch row installed");
        assert_eq!(installed.metadata.service_provider_name.as_str(), "Inventory SP");
        assert_eq!(installed.metadata.profile_name.as_str(), "Generated");
        let nci = installed.metadata.notification_configuration_info.as_ref().expect("notification configuration");
        assert_eq!(nci[0].notification_address.as_str(), "notify.example.com");

        // Rotate while the server runs: every sealed row moves to the new key; the server picks it up.
        let key_file = env.dir.data_dir().join("secrets/master.key");
        let before = std::fs::read_to_string(&key_file).unwrap();
        let out = env.rspd(&["keys", "rotate", "--batch-size", "1"]);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("profile_personalizations: 2 row(s) re-encrypted"), "{stdout}");
        assert!(stdout.contains("profile_templates: 1 row(s) re-encrypted"), "{stdout}");
        let after = std::fs::read_to_string(&key_file).unwrap();
        assert_ne!(before, after);
        // Idempotent: a second run finds nothing under an older key, drops the unused old key, adds a new one.
        let out = env.rspd(&["keys", "rotate"]);
        let stdout2 = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success() && stdout2.contains("older key(s) no row uses any more removed"), "{stdout2}");
        assert_eq!(std::fs::read_to_string(&key_file).unwrap().lines().filter(|l| !l.starts_with('#')).count(), 2);

        // ES2+ by profileType takes the template-backed profile from the pool like a prepared one.
        let (taken, matching_id) = order_over_es2(&ops, "gen").await;
        assert_eq!(taken, second);
        let installed = download_order(&env, &second, &matching_id).await;
        let package = ProfilePackage::parse(&installed.profile_package).unwrap();
        assert_eq!(
            (package.iccid().digits(), package.imsi().map(|i| i.digits())),
            (second.clone(), Some("001019990000402"))
        );

        let stock = ops.call(&ops.a, "GET", "/api/v1/stock", None).await.1;
        let gen = stock_of(&stock, "gen").unwrap();
        assert_eq!((gen["installed"].as_i64(), gen["available"].as_i64()), (Some(2), Some(0)), "{stock}");

        // No key in the server's log, the reports or the CLI output.
        let all = format!("{}\n{stdout}\n{stdout2}\n{report}", log_text(&env)).to_uppercase();
        assert!(!all.contains(KI) && !all.contains(OPC), "a key was logged");
    }
}

#[tokio::test]
async fn a_wrong_master_key_is_refused_in_one_line() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let mut env = start(pg.as_deref());
        let ops = Operators::new(&env);
        ops.call(&ops.a, "PUT", "/api/v1/profile-types/t", Some(json!({}))).await;
        let body = json!({ "profileType": "t", "profiles": [{ "package": crate::inventory_support::b64(&prepared(&template, &iccid(501))) }] });
        assert_eq!(ops.call(&ops.a, "POST", "/api/v1/profiles", Some(body)).await.0, 200);
        env.kill_9();

        // Another key in the environment: `serve` refuses to start, naming the key ids, exit code 2.
        let wrong = "11".repeat(32);
        let config = env.config.to_str().unwrap().to_owned();
        let out = env.dir.run(&["--config", &config, "serve"], &[("RSPD_SECRETS_MASTER_KEY", &wrong)]);
        assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = stderr.lines().last().unwrap();
        assert!(line.starts_with("rspd: secrets master key (secrets.master_key):"), "{line}");
        assert!(line.contains("sealed under master key id"), "{line}");
        assert!(!stderr.contains("panicked") && !stderr.contains(&wrong), "{stderr}");
        // A malformed key: one line, the value not repeated.
        let out = env.dir.run(&["--config", &config, "serve"], &[("RSPD_SECRETS_MASTER_KEY", "c0ffee")]);
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("must be 32 bytes") || stderr.contains("neither"), "{stderr}");
        assert!(!stderr.contains("c0ffee"), "{stderr}");
        // The CLI reading a sealed package with the wrong key: an error, never a panic.
        let out = env.dir.run(
            &["--config", &config, "order", "create", "--profile", &iccid(501)],
            &[("RSPD_SECRETS_MASTER_KEY", &wrong)],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");

        // The right key (the file) still works.
        env.restart();
        let store = env.store();
        use rspd::smdp::DownloadRepository;
        let p = store.find_profile_package(OP_A, &iccid(501)).unwrap().unwrap();
        assert_eq!(p.package_der, prepared(&template, &iccid(501)));
    }
}

#[tokio::test]
async fn cli_bulk_import_of_a_directory_and_stock() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let env = start(pg.as_deref());
        let dir = env.dir.path().join("packages");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.der"), prepared(&template, &iccid(601))).unwrap();
        std::fs::write(dir.join("b.der"), b"not a profile").unwrap();
        std::fs::write(dir.join("c.der"), prepared(&template, &iccid(602))).unwrap();
        let out = env.rspd(&["profile", "type", "bulk", "--spn", "Bulk SP", "--low-stock-threshold", "10"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let out = env.rspd(&["profile", "import", "--dir", dir.to_str().unwrap(), "--type", "bulk"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "one bad file fails the command: {stdout}");
        assert!(stdout.contains("2 imported, 1 failed"), "{stdout}");
        assert!(stdout.contains("b.der") && stdout.contains("not a valid SAIP"), "{stdout}");

        // All or nothing: the good file is not written either.
        std::fs::write(dir.join("a.der"), prepared(&template, &iccid(603))).unwrap();
        let out =
            env.rspd(&["profile", "import", "--dir", dir.to_str().unwrap(), "--type", "bulk", "--all-or-nothing"]);
        assert!(String::from_utf8_lossy(&out.stdout).contains("0 imported, 3 failed"));

        let out = env.rspd(&["stock"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().find(|l| l.starts_with("bulk")).unwrap_or_else(|| panic!("{stdout}"));
        assert!(line.split_whitespace().nth(1) == Some("2") && line.contains("LOW (< 10)"), "{stdout}");
    }
}
