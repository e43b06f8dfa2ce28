//! eIM relaying the indirect download (SGP.32 v1.2 §3.2.3) over HTTPS on localhost, with TWO `rspd serve`
//! processes, each with its own data dir, test PKI and database: `smdp` plays the external SM-DP+ (ES9+), `eim`
//! the eIM the device talks ESipa to. The device is the conformance IPA driving a soft eUICC of the external
//! SM-DP+'s PKI.
//!
//! Cases (each on SQLite and, with `RSPD_TEST_POSTGRES_URL`, PostgreSQL):
//! - the eIM trusts the external SM-DP+'s TLS chain (`eim.smdp_tls_trust`): a ProfileDownloadTriggerRequest with
//!   the external SM-DP+'s activation code, run by the IPA in indirect mode in both bindings → installed, the
//!   eIM order Succeeded, the external order Installed (its PIR relayed by ES9+ HandleNotification), and the
//!   sessions recorded in `eim_relay_sessions`;
//! - the eIM does not trust it (default trust: its own test PKI): the download fails with a readable reason
//!   naming the TLS failure, and the order fails;
//! - learning (`eim.learn_operator`): an unregistered eUICC completing AuthenticateClient through the eIM is
//!   registered under that operator; a ProvideEimPackageResult with ePRAndNotifications whose result cannot be
//!   verified delivers nothing, and the PIR sent by ESipa HandleNotification reaches rspd's own SM-DP+ (in process),
//!   which marks its order Installed;
//! - ePRAndNotifications (issue 10 item 8): its notifications are forwarded only once the EuiccPackageResult is
//!   verified: a forged result forwards nothing, the eUICC's own result forwards the PIR.

use std::cell::RefCell;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::es9_harness::*;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rsp_conformance::euicc::SoftEuicc;
use rsp_conformance::ipa::{Binding, DownloadMode, EsipaClient, IndirectEs9, Ipa, PollOutcome};
use rsp_conformance::lpa::es9_client::{
    AuthenticateClientRequest, AuthenticateClientResponse, CancelSessionRequest, GetBoundProfilePackageRequest,
    GetBoundProfilePackageResponse, HandleNotificationRequest, InitiateAuthenticationRequest,
    InitiateAuthenticationResponse,
};
use rsp_conformance::lpa::{download_profile, DownloadRequest, Es9Error, Es9Transport, TrustAnchors};
use rspd::codec::decode;
use rspd::codec::sgp32::{AddInitialEimOkItem, AddInitialEimResponse};
use rspd::eim::campaign::OperatorEuiccs;
use rspd::eim::{EimRepository, OrderState};
use rspd::pki::Curve;
use rspd::smdp::ProfileState;

fn rspd_ok(env: &Env, args: &[&str]) -> String {
    let out = env.rspd(args);
    assert!(out.status.success(), "rspd {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn ci(env: &Env) -> String {
    env.pki().ci_cert(Curve::NistP256).display().to_string()
}

/// The eIM: trusts the external SM-DP+'s CI for eUICC chains (`smdp.trusted_ci`) and, when `trust_tls`, for the
/// external SM-DP+'s TLS certificate (`eim.smdp_tls_trust`).
fn start_eim(pg: Option<&str>, external: &Env, trust_tls: bool, eim_extra: &str) -> Env {
    let external_ci = ci(external);
    let own_ci = |data_dir: &Path| {
        rspd::pki::test_pki::TestPkiPaths::new(data_dir.join("pki")).ci_cert(Curve::NistP256).display().to_string()
    };
    let tls = if trust_tls { format!("smdp_tls_trust = [\"{external_ci}\"]\n") } else { String::new() };
    let allowed = if eim_extra.contains("smdp_allowed_addresses") {
        String::new()
    } else {
        format!("smdp_allowed_addresses = [\"{}\"]\n", external.address)
    };
    // A PKI of its own: the external SM-DP+'s certificates must not be the eIM's.
    Env::start_with_own_pki(
        pg,
        |d| format!("trusted_ci = [\"{}\", \"{external_ci}\"]", own_ci(d)),
        &format!("[eim]\nsmdp_timeout_secs = 10\n{tls}{allowed}{eim_extra}"),
    )
}

/// Registers `euicc` with the eIM (chain checked against `ci_cert`) and associates it (AddInitialEim).
fn associate(eim: &Env, euicc: &mut SoftEuicc, ci_cert: &str) -> String {
    let cert = eim.dir.path().join("euicc.der");
    std::fs::write(&cert, &euicc.credentials().euicc_cert_der).unwrap();
    let eum = eim.dir.path().join("eum.der");
    std::fs::write(&eum, &euicc.credentials().eum_cert_der).unwrap();
    let eid = rspd_ok(
        eim,
        &[
            "eim",
            "register",
            "--cert",
            cert.to_str().unwrap(),
            "--eum-cert",
            eum.to_str().unwrap(),
            "--ci-cert",
            ci_cert,
        ],
    )
    .trim()
    .to_owned();
    let cfg = eim.dir.path().join("cfg.der");
    rspd_ok(eim, &["eim", "config", "--eid", &eid, "--out", cfg.to_str().unwrap()]);
    let response = euicc.add_initial_eim(&std::fs::read(&cfg).unwrap()).unwrap();
    let AddInitialEimResponse::AddInitialEimOk(items) = decode::<AddInitialEimResponse>(&response).unwrap() else {
        panic!("AddInitialEim refused");
    };
    let token = items
        .iter()
        .find_map(|i| match i {
            AddInitialEimOkItem::AssociationToken(t) => Some(*t),
            _ => None,
        })
        .unwrap();
    rspd_ok(eim, &["eim", "associate", "--eid", &eid, "--association-token", &token.to_string()]);
    eid
}

fn queue_download(eim: &Env, eid: &str, code: &str) -> i64 {
    let out = rspd_ok(eim, &["eim", "queue", "--eid", eid, "--download", code]);
    out.split_whitespace().nth(1).and_then(|id| id.parse().ok()).unwrap_or_else(|| panic!("{out}"))
}

fn esipa(eim: &Env, binding: Binding) -> EsipaClient {
    let mut anchors = TrustAnchors::new();
    anchors.add_file(&eim.pki().ci_cert(Curve::NistP256)).unwrap();
    EsipaClient::new(&format!("https://{}", eim.address), &anchors, binding).unwrap()
}

fn wait_installed(smdp: &Env, matching_id: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while smdp.order_state(matching_id) != ProfileState::Installed {
        assert!(Instant::now() < deadline, "the PIR reached the SM-DP+: {:?}", smdp.order_state(matching_id));
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn indirect_download_relayed_to_a_trusted_external_smdp_installs_in_both_bindings() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let smdp = Env::start(pg.as_deref());
        let eim = start_eim(pg.as_deref(), &smdp, true, "");
        let iccids = smdp.import_profiles(&template, 1..3);
        let mut euicc = smdp.euicc(Curve::NistP256);
        let eid = associate(&eim, &mut euicc, &ci(&smdp));
        for (iccid, binding) in [(&iccids[0], Binding::Json), (&iccids[1], Binding::Asn1)] {
            let matching_id = smdp.create_order(iccid, &[]);
            let order = queue_download(&eim, &eid, &format!("LPA:1${}${matching_id}", smdp.address));
            let mut device = Ipa::new(euicc, esipa(&eim, binding), TrustAnchors::new(), DownloadMode::Indirect);
            let outcomes = device.run(5).unwrap();
            assert_eq!(outcomes, vec![PollOutcome::Download { iccid: Ok(iccid.clone()) }], "{binding:?}");
            let o = eim.store().find_order(order).unwrap().unwrap();
            assert_eq!(o.state, OrderState::Succeeded, "{binding:?}: {:?}", o.failure_reason);
            wait_installed(&smdp, &matching_id);
            euicc = device.into_euicc();
        }
        assert_eq!(euicc.profiles().len(), 2);
        // Each session's transactionId → the external SM-DP+, shared by every eIM node.
        assert_eq!(
            eim.sql(&format!(
                "UPDATE eim_relay_sessions SET smdp_address = smdp_address WHERE smdp_address = '{}'",
                smdp.address
            )),
            2
        );
    }
}

#[test]
fn indirect_download_to_an_untrusted_external_smdp_fails_with_a_clear_reason() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let smdp = Env::start(pg.as_deref());
        // Default TLS trust: the eIM's own test PKI, which did not issue the external SM-DP+'s certificate.
        let eim = start_eim(pg.as_deref(), &smdp, false, "");
        let iccid = smdp.import_profiles(&template, 1..2).remove(0);
        let mut euicc = smdp.euicc(Curve::NistP256);
        let eid = associate(&eim, &mut euicc, &ci(&smdp));
        let matching_id = smdp.create_order(&iccid, &[]);
        let order = queue_download(&eim, &eid, &format!("LPA:1${}${matching_id}", smdp.address));
        let mut device = Ipa::new(euicc, esipa(&eim, Binding::Json), TrustAnchors::new(), DownloadMode::Indirect);
        let outcomes = device.run(3).unwrap();
        let [PollOutcome::Download { iccid: Err(reason) }] = &outcomes[..] else { panic!("{outcomes:?}") };
        assert!(reason.contains("unreachable") && reason.contains("certificate"), "{reason}");
        let o = eim.store().find_order(order).unwrap().unwrap();
        assert_eq!(o.state, OrderState::Failed, "{:?}", o.failure_reason);
        assert_eq!(smdp.order_state(&matching_id), ProfileState::Released, "the external SM-DP+ saw no session");
        assert!(device.into_euicc().profiles().is_empty());
    }
}

#[test]
fn indirect_download_to_an_smdp_not_listed_is_refused_before_any_connection() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let smdp = Env::start(pg.as_deref());
        // TLS would be trusted, but the operator did not list the SM-DP+ (the default: no external relay).
        let eim = start_eim(pg.as_deref(), &smdp, true, "smdp_allowed_addresses = []\n");
        let iccid = smdp.import_profiles(&template, 1..2).remove(0);
        let mut euicc = smdp.euicc(Curve::NistP256);
        let eid = associate(&eim, &mut euicc, &ci(&smdp));
        let matching_id = smdp.create_order(&iccid, &[]);
        let order = queue_download(&eim, &eid, &format!("LPA:1${}${matching_id}", smdp.address));
        let mut device = Ipa::new(euicc, esipa(&eim, Binding::Json), TrustAnchors::new(), DownloadMode::Indirect);
        let outcomes = device.run(3).unwrap();
        let [PollOutcome::Download { iccid: Err(reason) }] = &outcomes[..] else { panic!("{outcomes:?}") };
        assert!(reason.contains("not an SM-DP+ this eIM relays to"), "{reason}");
        let o = eim.store().find_order(order).unwrap().unwrap();
        assert_eq!(o.state, OrderState::Failed, "{:?}", o.failure_reason);
        assert_eq!(smdp.order_state(&matching_id), ProfileState::Released, "the external SM-DP+ saw no session");
    }
}

/// An indirect ES9+ transport that keeps the notification instead of sending it (to send it another way).
struct KeepNotification<'a> {
    inner: IndirectEs9<'a>,
    kept: RefCell<Option<Vec<u8>>>,
}

impl Es9Transport for KeepNotification<'_> {
    fn smdp_address(&self) -> &str {
        self.inner.smdp_address()
    }
    fn initiate_authentication(
        &self,
        request: &InitiateAuthenticationRequest,
    ) -> Result<InitiateAuthenticationResponse, Es9Error> {
        self.inner.initiate_authentication(request)
    }
    fn authenticate_client(&self, request: &AuthenticateClientRequest) -> Result<AuthenticateClientResponse, Es9Error> {
        self.inner.authenticate_client(request)
    }
    fn get_bound_profile_package(
        &self,
        request: &GetBoundProfilePackageRequest,
    ) -> Result<GetBoundProfilePackageResponse, Es9Error> {
        self.inner.get_bound_profile_package(request)
    }
    fn handle_notification(&self, request: &HandleNotificationRequest) -> Result<(), Es9Error> {
        *self.kept.borrow_mut() = Some(request.pending_notification.clone());
        Ok(())
    }
    fn cancel_session(&self, request: &CancelSessionRequest) -> Result<(), Es9Error> {
        self.inner.cancel_session(request)
    }
}

#[test]
fn unknown_euicc_is_learned_and_epr_notifications_reach_rspds_own_smdp() {
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let env = Env::start_full(pg.as_deref(), |_| String::new(), "[eim]\nlearn_operator = \"fleet-a\"\n");
        let iccid = env.import_profiles(&template, 1..2).remove(0);
        let matching_id = env.create_order(&iccid, &[]);
        let mut euicc = env.euicc(Curve::NistP256);
        let eid = euicc.eid().to_owned();
        assert!(env.store().find_euicc(&eid).unwrap().is_none());

        let client = esipa(&env, Binding::Json);
        let transport = KeepNotification {
            inner: IndirectEs9 { esipa: &client, smdp_address: env.address.clone() },
            kept: RefCell::new(None),
        };
        let request = DownloadRequest { matching_id: matching_id.clone(), ..DownloadRequest::default() };
        let report = download_profile(&mut euicc, &transport, &request).unwrap();
        assert_eq!(report.iccid, iccid);

        // Learned at AuthenticateClient, under eim.learn_operator, with its certificate.
        let learned = env.store().owned_euicc("fleet-a", &eid).unwrap().expect("learned under fleet-a");
        assert_eq!(learned.eid, eid);
        assert_eq!(
            env.store().find_euicc(&eid).unwrap().unwrap().euicc_certificate,
            euicc.credentials().euicc_cert_der
        );

        // The PIR comes back in an ePRAndNotifications (30 { BF51 …, A0 { PIR } }) whose result is empty: nothing
        // verifies it, so nothing is forwarded (issue 10 item 8; it used to go to the SM-DP+ all the same).
        let pir = transport.kept.borrow().clone().expect("the PIR was kept");
        assert_eq!(env.order_state(&matching_id), ProfileState::Downloaded);
        let status = provide_epr_and_notifications(&env, &eid, &[], &pir);
        assert!(status.is_success(), "{status}");
        assert_eq!(stored_notifications(&env), 0, "an unverified result forwards no notification");
        assert_eq!(env.order_state(&matching_id), ProfileState::Downloaded);
        // The IPA's own HandleNotification delivers it.
        client.handle_notification(&pir).unwrap();
        wait_installed(&env, &matching_id);
    }
}

/// ESipa ProvideEimPackageResult (JSON) with `30 { euicc_package_result, A0 { notification } }`: the HTTP status.
fn provide_epr_and_notifications(
    env: &Env,
    eid: &str,
    euicc_package_result: &[u8],
    notification: &[u8],
) -> reqwest::StatusCode {
    use rspd::codec::tlv::{encode, Tag};
    let result = if euicc_package_result.is_empty() { encode(Tag(0xBF51), &[]) } else { euicc_package_result.to_vec() };
    let epr_and_notifications = encode(Tag(0x30), &[result, encode(Tag(0xA0), notification)].concat());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        env.client
            .post(format!("https://{}/gsma/rsp2/esipa/provideEimPackageResult", env.address))
            .header("Content-Type", "application/json")
            .header("X-Admin-Protocol", ADMIN_PROTOCOL)
            .body(
                serde_json::json!({ "eidValue": eid, "eimPackageResult": B64.encode(&epr_and_notifications) })
                    .to_string(),
            )
            .send()
            .await
            .unwrap()
            .status()
    })
}

/// Rows in the SM-DP+'s notification inbox, processed or not (counted by deleting them: the inbox is empty after).
fn stored_notifications(env: &Env) -> usize {
    env.sql("DELETE FROM notifications WHERE 1 = 1")
}

#[test]
fn epr_notifications_are_forwarded_only_after_the_result_is_verified() {
    use rsp_conformance::ipa::EimPackage;
    let Some(template) = ts48_template() else { return };
    for pg in backends() {
        let env = Env::start(pg.as_deref());
        let iccid = env.import_profiles(&template, 1..2).remove(0);
        let matching_id = env.create_order(&iccid, &[]);
        let mut euicc = env.euicc(Curve::NistP256);
        let eid = associate(&env, &mut euicc, &ci(&env));
        let client = esipa(&env, Binding::Json);
        let transport = KeepNotification {
            inner: IndirectEs9 { esipa: &client, smdp_address: env.address.clone() },
            kept: RefCell::new(None),
        };
        let request = DownloadRequest { matching_id: matching_id.clone(), ..DownloadRequest::default() };
        download_profile(&mut euicc, &transport, &request).unwrap();
        let pir = transport.kept.borrow().clone().expect("the PIR was kept");

        // An eIM package for the eUICC; its signed EuiccPackageResult carries the PIR back.
        rspd_ok(&env, &["eim", "queue", "--eid", &eid, "--psmo", "list-profiles"]);
        let Some(EimPackage::EuiccPackageRequest(package)) = client.get_eim_package(&eid).unwrap() else {
            panic!("an EuiccPackageRequest was queued")
        };
        let result = euicc.load_euicc_package(&package).unwrap();

        // Forged: the result with its last signature byte changed. Refused, and the PIR is not forwarded.
        let mut forged = result.clone();
        let last = forged.len() - 1;
        forged[last] ^= 0x01;
        let status = provide_epr_and_notifications(&env, &eid, &forged, &pir);
        assert!(status.is_success(), "{status}");
        assert_eq!(stored_notifications(&env), 0, "a forged result forwards nothing");
        assert_eq!(env.order_state(&matching_id), ProfileState::Downloaded);

        // The eUICC's own result: verified, recorded, then the PIR goes to the SM-DP+.
        let status = provide_epr_and_notifications(&env, &eid, &result, &pir);
        assert!(status.is_success(), "{status}");
        wait_installed(&env, &matching_id);
    }
}

#[test]
fn relay_sessions_and_notification_outbox_in_the_store() {
    use rspd::eim::indirect::RelaySessions;
    use rspd::eim::notification_outbox::{NotificationOutbox, CLAIM_LEASE_MS};
    for pg in backends() {
        let mut env = Env::start(pg.as_deref());
        // The store alone is under test: the server's forwarding job would claim the due notifications below.
        env.kill_9();
        let store = env.store();
        store.record_relay_session("00AA", "smdp.example.com", 1).unwrap();
        store.record_relay_session("00AA", "smdp.example.com", 2).unwrap(); // a retry: no error
        assert_eq!(store.relay_session("00AA").unwrap().as_deref(), Some("smdp.example.com"));
        assert_eq!(store.relay_session("00BB").unwrap(), None);
        store.record_relay_session("00CC", "smdp.example.com", 10).unwrap();
        assert_eq!(store.purge_relay_sessions(5).unwrap(), 1, "only the session older than 5 ms");
        assert_eq!(store.relay_session("00AA").unwrap(), None);
        assert!(store.relay_session("00CC").unwrap().is_some());

        store.enqueue_notification("smdp.example.com", &[0xBF, 0x37, 0x00], 1_000).unwrap();
        store.enqueue_notification("other.example.com", &[0x30, 0x00], 5_000).unwrap();
        let due = store.claim_due_notifications(2_000, 10).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(
            (due[0].smdp_address.as_str(), due[0].pending_notification.as_slice()),
            ("smdp.example.com", &[0xBF, 0x37, 0x00][..])
        );
        // Claimed: hidden from another node until the lease ends.
        assert!(store.claim_due_notifications(2_000, 10).unwrap().is_empty());
        store.notification_attempt_failed(due[0].id, "unreachable", 3_000).unwrap();
        let again = store.claim_due_notifications(5_000, 10).unwrap();
        assert_eq!(again.len(), 2);
        assert_eq!(again.iter().find(|n| n.id == due[0].id).unwrap().attempts, 1);
        for n in &again {
            store.remove_notification(n.id).unwrap();
        }
        assert!(store.claim_due_notifications(5_000 + CLAIM_LEASE_MS + 1, 10).unwrap().is_empty());
    }
}
