//! The operator inventory API over mutual TLS (the real `rspd serve`, SQLite and — with `RSPD_TEST_POSTGRES_URL` —
//! PostgreSQL): profile types, bulk upload of prepared SAIP packages (partial and all-or-nothing), templates and
//! CSV/JSON personalization batches with per-row errors, stock per type, isolation between two operators, and no
//! package or key in clear in the database.

use crate::es9_harness::{backends, iccid, ts48_template};
use crate::inventory_support::*;
use serde_json::json;

const KI: &str = "A1B2C3D4E5F60718293A4B5C6D7E8F90";
const OPC: &str = "0F1E2D3C4B5A69788796A5B4C3D2E1F0";

#[tokio::test]
async fn bulk_upload_reports_per_item_partial_and_all_or_nothing() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let env = start(pg.as_deref());
        let ops = Operators::new(&env);
        let (code, t) = ops
            .call(
                &ops.a,
                "PUT",
                "/api/v1/profile-types/iot",
                Some(json!({ "serviceProviderName": "ACME IoT", "profileName": "ACME data",
                    "profileClass": "operational", "lowStockThreshold": 5 })),
            )
            .await;
        assert_eq!(code, 200, "{t}");
        assert_eq!(t["serviceProviderName"], "ACME IoT");

        let (good1, good2, good3) = (iccid(101), iccid(102), iccid(103));
        let body = json!({ "profileType": "iot", "profiles": [
            { "package": b64(&prepared(&template, &good1)) },
            { "package": b64(b"\x30\x03garbage") },
            { "package": "***not base64***" },
            { "package": b64(&prepared(&template, &good2)), "profileName": "override" },
        ]});
        let (code, report) = ops.call(&ops.a, "POST", "/api/v1/profiles", Some(body)).await;
        assert_eq!(code, 200, "{report}");
        assert_eq!((report["written"].as_u64(), report["failed"].as_u64()), (Some(2), Some(2)), "{report}");
        assert_eq!(statuses(&report), ["ok", "error", "error", "ok"]);
        assert_eq!(report["items"][0]["iccid"], good1.as_str());
        assert!(report["items"][1]["reason"].as_str().unwrap().contains("not a valid SAIP"), "{report}");
        assert!(report["items"][2]["reason"].as_str().unwrap().contains("base64"), "{report}");

        // All or nothing: one known ICCID sinks the new one, nothing is written.
        let body = json!({ "profileType": "iot", "allOrNothing": true, "profiles": [
            { "package": b64(&prepared(&template, &good3)) },
            { "package": b64(&prepared(&template, &good1)) },
        ]});
        let (code, report) = ops.call(&ops.a, "POST", "/api/v1/profiles", Some(body)).await;
        assert_eq!(code, 422, "{report}");
        assert_eq!(report["written"], 0);
        assert!(report["items"][0]["reason"].as_str().unwrap().contains("allOrNothing"), "{report}");
        assert!(report["items"][1]["reason"].as_str().unwrap().contains("already exists"), "{report}");
        // And a bad item does too.
        let body = json!({ "profileType": "iot", "allOrNothing": true, "profiles": [
            { "package": b64(&prepared(&template, &good3)) }, { "package": b64(b"junk") } ]});
        let (code, report) = ops.call(&ops.a, "POST", "/api/v1/profiles", Some(body)).await;
        assert_eq!((code, report["written"].as_u64()), (422, Some(0)), "{report}");

        // An undefined type is refused as a whole.
        let body = json!({ "profileType": "nope", "profiles": [{ "package": b64(&prepared(&template, &good3)) }] });
        assert_eq!(ops.call(&ops.a, "POST", "/api/v1/profiles", Some(body)).await.0, 404);

        let (code, stock) = ops.call(&ops.a, "GET", "/api/v1/stock", None).await;
        assert_eq!(code, 200);
        let iot = stock_of(&stock, "iot").unwrap();
        assert_eq!((iot["available"].as_i64(), iot["low"].as_bool()), (Some(2), Some(true)), "{stock}");
        assert_eq!(iot["lowStockThreshold"], 5);

        // The stock gauges follow within the job interval (1 s here). Wait for both: a run of the job between the
        // first and second write already shows the type low (1 available), with the old count.
        let want = "rspd_profile_stock_low{operator=\"test-operator\",profile_type=\"iot\"} 1";
        let available = "rspd_profile_stock{operator=\"test-operator\",profile_type=\"iot\",state=\"available\"} 2";
        let mut metrics = String::new();
        for _ in 0..50 {
            metrics = match ops.call(&ops.a, "GET", "/metrics", None).await.1 {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            if metrics.contains(want) && metrics.contains(available) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(metrics.contains(want), "{metrics}");
        assert!(metrics.contains(available), "{metrics}");

        // The package is sealed: neither its header ICCID nor its bulk appears in the row.
        let header_iccid = &prepared(&template, &good1)[..];
        for sealed in blobs(&env, "profile_packages", "package_der") {
            assert!(!contains(&sealed, &header_iccid[40..80]), "a package is stored in clear");
        }
        // Metadata: the type's, with the package-level override.
        let store = env.store();
        use rspd::smdp::DownloadRepository;
        let p1 = store.find_profile_package(OP_A, &good1).unwrap().unwrap();
        assert_eq!((p1.service_provider_name.as_str(), p1.profile_name.as_str()), ("ACME IoT", "ACME data"));
        assert_eq!(p1.package_der, prepared(&template, &good1));
        let p2 = store.find_profile_package(OP_A, &good2).unwrap().unwrap();
        assert_eq!(p2.profile_name, "override");
    }
}

#[tokio::test]
async fn csv_and_json_batches_validate_every_row() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let env = start(pg.as_deref());
        let ops = Operators::new(&env);
        ops.call(&ops.a, "PUT", "/api/v1/profile-types/gen", Some(json!({ "serviceProviderName": "Gen" }))).await;
        let (code, t) = ops
            .call(
                &ops.a,
                "POST",
                "/api/v1/templates",
                Some(json!({ "name": "ts48", "profileType": "gen",
                "package": b64(&template) })),
            )
            .await;
        assert_eq!(code, 201, "{t}");
        let again = json!({ "name": "ts48", "profileType": "gen", "package": b64(&template) });
        assert_eq!(ops.call(&ops.a, "POST", "/api/v1/templates", Some(again)).await.0, 409);
        let junk = json!({ "name": "junk", "profileType": "gen", "package": b64(b"junk") });
        assert_eq!(ops.call(&ops.a, "POST", "/api/v1/templates", Some(junk)).await.0, 400);

        let (ok1, ok2) = (iccid(201), iccid(202));
        let bad_luhn = format!("{}{}", &ok1[..18], (ok1.as_bytes()[18] - b'0' + 1) % 10);
        let csv = format!(
            "iccid,imsi,ki,opc,pin1,puk1,adm1\n\
             {ok1},001010000000201,{KI},{OPC},1234,12345678,87654321\n\
             {bad_luhn},001010000000202,{KI},{OPC},1234,12345678,87654321\n\
             {ok2},00101ABC,{KI},{OPC},1234,12345678,87654321\n\
             {ok2},001010000000203,{},{OPC},1234,12345678,87654321\n\
             {ok1},001010000000204,{KI},{OPC},1234,12345678,87654321\n\
             {ok2},001010000000205,{KI},{OPC},12,12345678,87654321\n\
             {ok2},001010000000206,{KI},{OPC},1234,12345678,87654321\n",
            &KI[..30]
        );
        let (code, report) = ops.csv(&ops.a, "/api/v1/templates/ts48/batches", &csv).await;
        assert_eq!(code, 200, "{report}");
        assert_eq!(statuses(&report), ["ok", "error", "error", "error", "error", "error", "ok"], "{report}");
        let reason = |i: usize| report["items"][i]["reason"].as_str().unwrap().to_owned();
        assert!(reason(1).contains("Luhn"), "{report}");
        assert!(reason(2).contains("imsi"), "{report}");
        assert!(reason(3).starts_with("ki"), "{report}");
        assert!(reason(4).contains("duplicate"), "{report}");
        assert!(reason(5).contains("pin1"), "{report}");
        assert_eq!(report["items"][0]["row"], 2, "CSV rows are numbered by line");
        assert_eq!(report["batchId"].as_str().map(str::len), Some(22), "an opaque batch id: {report}");
        let text = report.to_string().to_uppercase();
        assert!(!text.contains(KI) && !text.contains(&KI[..30]) && !text.contains(OPC), "a key in the report");

        // JSON, all or nothing: one bad row, nothing written.
        let ok3 = iccid(203);
        let rows = json!({ "allOrNothing": true, "rows": [
            { "iccid": ok3, "imsi": "001010000000207", "ki": KI, "opc": OPC },
            { "iccid": ok3.replace("89", "88"), "ki": KI, "opc": OPC },
        ]});
        let (code, report) = ops.call(&ops.a, "POST", "/api/v1/templates/ts48/batches", Some(rows)).await;
        assert_eq!((code, report["written"].as_u64()), (422, Some(0)), "{report}");
        let rows = json!({ "rows": [{ "iccid": ok3, "imsi": "001010000000207", "ki": KI, "opc": OPC }] });
        let (code, report) = ops.call(&ops.a, "POST", "/api/v1/templates/ts48/batches", Some(rows)).await;
        assert_eq!((code, report["written"].as_u64()), (200, Some(1)), "{report}");
        // An unknown field is refused by name, never echoing values.
        let rows = json!({ "rows": [{ "iccid": iccid(204), "colour": KI }] });
        let (code, report) = ops.call(&ops.a, "POST", "/api/v1/templates/ts48/batches", Some(rows)).await;
        assert_eq!(code, 400, "{report}");
        assert!(!report.to_string().contains(KI), "{report}");

        let (_, stock) = ops.call(&ops.a, "GET", "/api/v1/stock", None).await;
        assert_eq!(stock_of(&stock, "gen").unwrap()["available"], 3, "{stock}");
        let (_, list) = ops.call(&ops.a, "GET", "/api/v1/templates", None).await;
        assert_eq!(list["templates"][0]["name"], "ts48");

        // Sealed at rest: no Ki (binary or hex), no template bytes in clear.
        let ki = hex::decode(KI).unwrap();
        for sealed in blobs(&env, "profile_personalizations", "data_sealed") {
            assert!(!contains(&sealed, &ki) && !contains(&sealed, KI.as_bytes()), "Ki in clear");
            assert!(!contains(&sealed, KI.to_lowercase().as_bytes()), "Ki in clear");
        }
        for sealed in blobs(&env, "profile_templates", "package_sealed") {
            assert!(!contains(&sealed, &template[..64]), "template in clear");
        }
    }
}

#[tokio::test]
async fn operators_cannot_see_or_use_each_others_inventory() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let env = start(pg.as_deref());
        let ops = Operators::new(&env);
        ops.call(&ops.a, "PUT", "/api/v1/profile-types/shared-name", Some(json!({ "serviceProviderName": "A" }))).await;
        let body = json!({ "name": "tpl", "profileType": "shared-name", "package": b64(&template) });
        assert_eq!(ops.call(&ops.a, "POST", "/api/v1/templates", Some(body)).await.0, 201);
        let rows = json!({ "rows": [{ "iccid": iccid(301) }] });
        assert_eq!(ops.call(&ops.a, "POST", "/api/v1/templates/tpl/batches", Some(rows)).await.0, 200);

        // B sees none of it.
        let (code, types) = ops.call(&ops.b, "GET", "/api/v1/profile-types", None).await;
        assert_eq!((code, types["profileTypes"].as_array().map(Vec::len)), (200, Some(0)), "{types}");
        assert_eq!(ops.call(&ops.b, "GET", "/api/v1/profile-types/shared-name", None).await.0, 404);
        let (_, templates) = ops.call(&ops.b, "GET", "/api/v1/templates", None).await;
        assert_eq!(templates["templates"].as_array().map(Vec::len), Some(0));
        let (_, stock) = ops.call(&ops.b, "GET", "/api/v1/stock", None).await;
        assert_eq!(stock["stock"].as_array().map(Vec::len), Some(0), "{stock}");
        // B cannot use A's template or type.
        let rows = json!({ "rows": [{ "iccid": iccid(302) }] });
        assert_eq!(ops.call(&ops.b, "POST", "/api/v1/templates/tpl/batches", Some(rows)).await.0, 404);
        let body = json!({ "profileType": "shared-name", "profiles": [{ "package": b64(&prepared(&template, &iccid(303))) }] });
        assert_eq!(ops.call(&ops.b, "POST", "/api/v1/profiles", Some(body)).await.0, 404);
        // B's own type of the same name is B's alone.
        ops.call(&ops.b, "PUT", "/api/v1/profile-types/shared-name", Some(json!({ "serviceProviderName": "B" }))).await;
        let (_, a_type) = ops.call(&ops.a, "GET", "/api/v1/profile-types/shared-name", None).await;
        assert_eq!(a_type["serviceProviderName"], "A");
        // Nor can B order A's template-backed profile (the CLI acts for one operator at a time).
        let out = env.rspd(&["order", "create", "--profile", &iccid(301), "--operator", OP_B]);
        assert!(!out.status.success());
        let (_, stock) = ops.call(&ops.a, "GET", "/api/v1/stock", None).await;
        assert_eq!(stock_of(&stock, "shared-name").unwrap()["available"], 1);
    }
}

/// Issue 10 item 3 (existence oracles): ICCIDs are unique across the server, so an upload of an ICCID someone
/// holds must be refused — but with the same words whether operator B itself or operator A holds it, naming no
/// holder, in partial and all-or-nothing uploads and in personalization batches alike.
#[tokio::test]
async fn a_taken_iccid_is_refused_alike_whoever_holds_it() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let env = start(pg.as_deref());
        let ops = Operators::new(&env);
        for client in [&ops.a, &ops.b] {
            ops.call(client, "PUT", "/api/v1/profile-types/iot", Some(json!({ "serviceProviderName": "X" }))).await;
        }
        let (held_by_a, held_by_b) = (iccid(301), iccid(302));
        for (client, i) in [(&ops.a, &held_by_a), (&ops.b, &held_by_b)] {
            let body = json!({ "profileType": "iot", "profiles": [{ "package": b64(&prepared(&template, i)) }] });
            assert_eq!(ops.call(client, "POST", "/api/v1/profiles", Some(body)).await.0, 200);
        }
        let reason_for = |report: &serde_json::Value, i: &str| {
            report["items"][0]["reason"].as_str().unwrap_or_else(|| panic!("{report}")).replace(i, "<ICCID>")
        };
        for all_or_nothing in [false, true] {
            let upload = |i: &str| {
                json!({ "profileType": "iot", "allOrNothing": all_or_nothing,
                    "profiles": [{ "package": b64(&prepared(&template, i)) }] })
            };
            let (_, foreign) = ops.call(&ops.b, "POST", "/api/v1/profiles", Some(upload(&held_by_a))).await;
            let (_, own) = ops.call(&ops.b, "POST", "/api/v1/profiles", Some(upload(&held_by_b))).await;
            assert_eq!(reason_for(&foreign, &held_by_a), reason_for(&own, &held_by_b), "{foreign} vs {own}");
            assert!(!foreign.to_string().contains(OP_A) && !foreign.to_string().contains("another"), "{foreign}");
        }
        // Personalization batches: the same.
        let tpl = json!({ "name": "b-tpl", "profileType": "iot", "package": b64(&template) });
        assert_eq!(ops.call(&ops.b, "POST", "/api/v1/templates", Some(tpl)).await.0, 201);
        let row = |i: &str| json!({ "rows": [{ "iccid": i, "imsi": "001010000000301", "ki": KI, "opc": OPC }] });
        let (_, foreign) = ops.call(&ops.b, "POST", "/api/v1/templates/b-tpl/batches", Some(row(&held_by_a))).await;
        let (_, own) = ops.call(&ops.b, "POST", "/api/v1/templates/b-tpl/batches", Some(row(&held_by_b))).await;
        assert_eq!(reason_for(&foreign, &held_by_a), reason_for(&own, &held_by_b), "{foreign} vs {own}");
        // Batch ids are opaque: not the global batch sequence.
        let fresh = iccid(303);
        let (code, report) = ops.call(&ops.b, "POST", "/api/v1/templates/b-tpl/batches", Some(row(&fresh))).await;
        assert_eq!(code, 200, "{report}");
        let batch = report["batchId"].as_str().unwrap_or_else(|| panic!("{report}"));
        assert!(batch.len() == 22 && batch.parse::<i64>().is_err(), "{report}");
    }
}
