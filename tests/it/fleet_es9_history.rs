//! Fleet API after a real ES9+ download (SGP.22 v2.5 §3.1.3): the profile's and the order's state history come from
//! the audit trail's state rows, the SSE stream reports each step live, and the audit chain verifies afterwards.
//! SQLite and PostgreSQL.

use std::time::Duration;

use crate::es9_harness::*;
use crate::fleet_support::Sse;
use rspd::pki::Curve;
use rspd::smdp::ProfileState;
use serde_json::Value;

fn to_states(history: &Value) -> Vec<String> {
    history.as_array().unwrap().iter().map(|h| h["toState"].as_str().unwrap_or("-").to_owned()).collect()
}

#[tokio::test]
async fn history_and_events_follow_a_download() {
    for pg in backends() {
        let env = Env::start(pg.as_deref());
        let Some(iccid) = env.import_profile(7) else { return };
        let server = env.server.as_ref().unwrap();
        let pki = env.pki();
        let fleet = crate::fleet_support::client(
            &pki.ci_cert(Curve::NistP256),
            Some((pki.operator_client_cert(), pki.operator_client_key())),
            server,
        );
        let mut events = Sse::open(&fleet, &server.operator_url("/api/v1/events"), None).await;

        let matching_id = env.create_order(&iccid, &[]);
        let mut euicc = env.euicc(Curve::NistP256);
        let (tx, asr) = initiate(&env, &mut euicc, &matching_id).await;
        let pdr = prepare(&env, &mut euicc, &tx, &asr, None).await;
        let bpp = get_bpp_body(&env, &tx, &pdr).await;
        assert_eq!(status(&bpp), "Executed-Success", "{bpp}");
        let installation = euicc.load_bound_profile_package(&b64(&bpp, "boundProfilePackage")).unwrap();
        let pending = euicc.pending_notification_der(installation.seq_number).unwrap().to_vec();
        assert_eq!(handle_notification(&env, &pending).await.0, 204);
        wait_for_state(&env, &matching_id, ProfileState::Installed).await;

        // Profile history: import → order → download → installation, in order.
        let r = fleet.get(server.operator_url(&format!("/api/v1/profiles/{iccid}"))).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["profile"]["state"], "installed");
        let states = to_states(&v["history"]);
        assert_eq!(states.first().map(String::as_str), Some("available"), "{states:?}");
        assert_eq!(states[states.len() - 3..], ["released", "downloaded", "installed"], "{states:?}");
        let eid = v["profile"]["eid"].as_str().map(str::to_owned);

        // Order history: created, its sessions and its profile's steps, all naming the matchingId.
        let r =
            fleet.get(server.operator_url(&format!("/api/v1/orders?matchingId={matching_id}"))).send().await.unwrap();
        let list: Value = r.json().await.unwrap();
        let id = list["items"][0]["id"].as_str().unwrap().to_owned();
        let v: Value =
            fleet.get(server.operator_url(&format!("/api/v1/orders/{id}"))).send().await.unwrap().json().await.unwrap();
        assert_eq!(v["order"]["state"], "installed");
        let history = v["history"].as_array().unwrap();
        assert!(history.iter().all(|h| h["matchingId"] == matching_id.as_str()), "{history:?}");
        let kinds: Vec<(&str, &str)> =
            history.iter().map(|h| (h["targetKind"].as_str().unwrap(), h["toState"].as_str().unwrap_or("-"))).collect();
        for step in [
            ("download_session", "authenticated"),
            ("download_session", "bpp_delivered"),
            ("profile", "downloaded"),
            ("download_session", "completed"),
            ("profile", "installed"),
        ] {
            assert!(kinds.contains(&step), "{step:?} missing in {kinds:?}");
        }
        assert!(history.iter().any(|h| h["targetKind"] == "download_session" && h["targetId"] == tx.as_str()));

        // The live stream saw the same steps.
        assert!(events.wait_for("\"toState\":\"installed\"", Duration::from_secs(10)).await, "{}", events.text);
        let live: Vec<Value> = events.events().into_iter().filter(|e| e["iccid"] == iccid.as_str()).collect();
        assert!(live.iter().any(|e| e["toState"] == "downloaded"), "{live:?}");
        if let Some(eid) = eid {
            assert!(live.iter().any(|e| e["eid"] == eid.as_str()));
        }
        assert!(env.store().verify_audit_chain().unwrap() > 5);
    }
}
