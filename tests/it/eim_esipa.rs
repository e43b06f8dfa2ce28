//! eIM end to end over real HTTPS (SGP.32 v1.2): the `rspd` binary serves ESipa's ASN.1 binding
//! (`POST /gsma/rsp2/asn1`, §6.3) on its device listener; this test plays the operator (registers the test PKI
//! eUICC and queues signed packages through the library, as the later fleet API will), the device factory
//! (AddInitialEim with rspd's EimConfigurationData on the verifying soft eUICC of `rsp-conformance`) and the
//! IPA (GetEimPackage → ES10b.LoadEuiccPackage → ProvideEimPackageResult → acknowledge).
//!
//! Cases: a PSMO package (disable, enable, listProfileInfo) ends Succeeded with its result verified and the
//! device's profile inventory updated, on both curves; a tampered result is refused and changes nothing; a package whose counterValue the eUICC has
//! already passed ends Failed with replay_error; an IPA that never answers lets the order expire; the same flow
//! driven by `rspd eim` commands; header and empty-queue answers. Every case runs on SQLite
//! and, when `RSPD_TEST_POSTGRES_URL` is set, on PostgreSQL.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::common::postgres::SchemaGuard;
use crate::common::{backends, open_store, test_pki_client, ServerProcess, Setup, TestDir, TestServer};
use rasn::types::FixedOctetString;
use rsp_conformance::euicc::profiles::{InstalledProfile, ProfileState};
use rsp_conformance::euicc::{EuiccCredentials, SoftEuicc};
use rspd::codec::sgp22::Iccid;
use rspd::codec::sgp32::{
    AddInitialEimOkItem, AddInitialEimResponse, EuiccPackage, GetEimPackageRequest, ProfileInfoListRequest, Psmo,
    PsmoEnable, PsmoIccid,
};
use rspd::codec::tlv::{self, Tag};
use rspd::codec::{decode, encode};
use rspd::config::DatabaseUrl;
use rspd::eim::registry::{add_initial_eim_request, eim_configuration_data};
use rspd::eim::{service, EimContext, EimRepository, NewEuicc, OrderState, PackageOrder};
use rspd::pki::test_pki::TestPkiPaths;
use rspd::pki::{Curve, PemKeyStore};
use rspd::server::default_eim_key_path;
use rspd::store::Store;

const EIM_ID: &str = "eim.rspd.test";
const ICCID_A: &str = "89000123456789012341";
const ICCID_B: &str = "89000123456789012358";
const ASN1: &str = "application/x-gsma-rsp-asn1";
const NO_EIM_PACKAGE_AVAILABLE: [u8; 6] = [0xBF, 0x4F, 0x03, 0x02, 0x01, 0x01];

struct Env {
    dir: TestDir,
    config: PathBuf,
    _server: ServerProcess,
    address: String,
    client: reqwest::Client,
    db_url: DatabaseUrl,
    _schema: Option<SchemaGuard>,
}

impl Env {
    fn start(postgres: Option<&str>) -> Env {
        Env::start_with(postgres, "")
    }

    /// `eim_extra`: more keys of the `[eim]` table.
    fn start_with(postgres: Option<&str>, eim_extra: &str) -> Env {
        // The eIM's FQDN (the SM-DP+ address by default) carries the device port, so the config names it.
        let eim_extra = eim_extra.to_owned();
        let TestServer { dir, config, server, db_url, device_port: port, schema, .. } = TestServer::builder()
            .postgres(postgres)
            .device_port_in_config()
            .config_with(move |s: &Setup| {
                format!(
                    "[eim]\neim_id = \"{EIM_ID}\"\n{eim_extra}\n[device]\nlisten = \"127.0.0.1:{}\"\n",
                    s.device_port
                )
            })
            .start();
        let server = server.unwrap();
        let address = format!("localhost:{port}");
        let client = test_pki_client(&dir.data_dir(), server.device).build().unwrap();
        Env { dir, config, _server: server, address, client, db_url, _schema: schema }
    }

    /// Runs `rspd --config … ARGS`; its standard output.
    fn rspd(&self, args: &[&str]) -> String {
        let mut all = vec!["--config", self.config.to_str().unwrap()];
        all.extend_from_slice(args);
        let out = self.dir.run(&all, &[]);
        assert!(out.status.success(), "rspd {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn pki_dir(&self) -> PathBuf {
        self.dir.data_dir().join("pki")
    }

    fn store(&self) -> Store {
        open_store(&self.db_url, &self.dir.data_dir())
    }

    /// The operator side's view of rspd's eIM: the same eimId and the key rspd generated at start.
    fn eim_context(&self, curve: Curve) -> EimContext {
        let keys =
            PemKeyStore::load(&[(EimContext::key(curve), default_eim_key_path(&self.pki_dir(), curve))]).unwrap();
        EimContext {
            eim_id: EIM_ID.into(),
            eim_fqdn: self.address.clone(),
            keys: Arc::new(keys),
            curves: vec![curve],
            dispatch_timeout: Duration::from_secs(600),
            no_show_timeout: Duration::from_secs(600),
        }
    }

    /// A soft eUICC (test PKI credentials of `curve`) with profile A enabled and B disabled, registered with
    /// rspd (counterValue 0) and associated by AddInitialEim carrying `euicc_counter_value` — equal to rspd's
    /// for a healthy device, higher to model a device that has seen later packages.
    fn device(&self, curve: Curve, euicc_counter_value: i64) -> (SoftEuicc, String) {
        let mut euicc =
            SoftEuicc::new(EuiccCredentials::from_test_pki(&TestPkiPaths::new(self.pki_dir()), curve).unwrap());
        euicc.seed_profile(InstalledProfile::seeded(ICCID_A, 0x10, ProfileState::Enabled).unwrap()).unwrap();
        euicc.seed_profile(InstalledProfile::seeded(ICCID_B, 0x11, ProfileState::Disabled).unwrap()).unwrap();
        let store = self.store();
        let new = NewEuicc::from_certificate(&euicc.credentials().euicc_cert_der, EIM_ID, 0).unwrap();
        let eid = new.eid.clone();
        assert_eq!(eid, euicc.eid());
        store.register_euicc(&new).unwrap();

        let config = eim_configuration_data(&self.eim_context(curve), curve, euicc_counter_value, true).unwrap();
        let response = euicc.add_initial_eim(&add_initial_eim_request(config).unwrap()).unwrap();
        let AddInitialEimResponse::AddInitialEimOk(items) = decode::<AddInitialEimResponse>(&response).unwrap() else {
            panic!("AddInitialEim refused");
        };
        let token = items.iter().find_map(|i| match i {
            AddInitialEimOkItem::AssociationToken(t) => Some(*t),
            _ => None,
        });
        assert!(token.is_some(), "the eUICC issued an associationToken");
        store.set_association_token(&eid, token).unwrap();
        (euicc, eid)
    }

    fn queue(&self, curve: Curve, eid: &str, package: EuiccPackage) -> PackageOrder {
        service::queue_euicc_package(&self.store(), &self.eim_context(curve), eid, package, rspd::clock::now_ms())
            .unwrap()
    }

    fn order(&self, id: i64) -> PackageOrder {
        self.store().find_order(id).unwrap().unwrap()
    }

    async fn post(&self, body: Vec<u8>, admin_protocol: Option<&str>) -> (u16, Vec<u8>) {
        let mut request = self
            .client
            .post(format!("https://{}/gsma/rsp2/asn1", self.address))
            .header("Content-Type", ASN1)
            .body(body);
        if let Some(p) = admin_protocol {
            request = request.header("X-Admin-Protocol", p);
        }
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        if status == 200 {
            assert_eq!(r.headers()["content-type"], ASN1);
        }
        (status, r.bytes().await.unwrap().to_vec())
    }

    /// ESipa.GetEimPackage: the EuiccPackageRequest `BF51 …` inside the response, or `None`.
    async fn get_eim_package(&self, eid: &str) -> Option<Vec<u8>> {
        let request = GetEimPackageRequest {
            eid_value: FixedOctetString::new(hex::decode(eid).unwrap().try_into().unwrap()),
            notify_state_change: None,
            state_change_cause: None,
            r_plmn: None,
        };
        let (status, body) = self.post(encode(&request).unwrap(), Some("gsma/rsp/v2.5.0")).await;
        assert_eq!(status, 200);
        if body == NO_EIM_PACKAGE_AVAILABLE {
            return None;
        }
        let top = tlv::parse_single(&body).unwrap().expect_tag(Tag(0xBF4F)).unwrap();
        Some(top.required_child(Tag(0xBF51)).unwrap().raw().to_vec())
    }

    /// ESipa.ProvideEimPackageResult with one EuiccPackageResult; the response body.
    async fn provide_result(&self, eid: &str, euicc_package_result: &[u8]) -> Vec<u8> {
        let eid_do = tlv::encode(Tag(0x5A), &hex::decode(eid).unwrap());
        let body = tlv::encode_constructed(Tag(0xBF50), [&eid_do[..], euicc_package_result]);
        let (status, response) = self.post(body, Some("gsma/rsp/v2.5.0")).await;
        assert_eq!(status, 200);
        response
    }

    /// The same without the OPTIONAL eidValue.
    async fn provide_result_without_eid(&self, euicc_package_result: &[u8]) -> Vec<u8> {
        let body = tlv::encode(Tag(0xBF50), euicc_package_result);
        let (status, response) = self.post(body, Some("gsma/rsp/v2.5.0")).await;
        assert_eq!(status, 200);
        response
    }
}

fn iccid(digits: &str) -> Iccid {
    Iccid(FixedOctetString::new(rspd::profile::Iccid::new(digits).unwrap().to_ef_iccid()))
}

fn switch_to_b() -> EuiccPackage {
    EuiccPackage::PsmoList(vec![
        Psmo::Disable(PsmoIccid { iccid: iccid(ICCID_A) }),
        Psmo::Enable(PsmoEnable { iccid: iccid(ICCID_B), rollback_flag: None }),
        Psmo::ListProfileInfo(ProfileInfoListRequest::default()),
    ])
}

fn state_of(euicc: &SoftEuicc, digits: &str) -> Option<ProfileState> {
    euicc.profiles().iter().find(|p| p.iccid == digits).map(|p| p.state)
}

/// `BF50 { BF53 { 80 01 seq } }`: EimAcknowledgements of one seqNumber.
fn acknowledgement_of(response: &[u8]) -> Vec<u8> {
    let top = tlv::parse_single(response).unwrap().expect_tag(Tag(0xBF50)).unwrap();
    top.required_child(Tag(0xBF53)).unwrap_or_else(|e| panic!("{e}: {}", hex::encode(response))).raw().to_vec()
}

async fn succeeded_and_tampered(postgres: Option<&str>, curve: Curve) {
    let env = Env::start(postgres);
    let (mut euicc, eid) = env.device(curve, 0);
    assert_eq!(env.get_eim_package(&eid).await, None, "nothing queued yet");

    let order = env.queue(curve, &eid, switch_to_b());
    assert_eq!((order.state, order.counter_value), (OrderState::Queued, 1));

    // IPA loop, with one tampered report first.
    let package = env.get_eim_package(&eid).await.expect("the queued package");
    assert_eq!(package, order.package_der, "sent exactly as signed");
    assert_eq!(env.order(order.id).state, OrderState::Dispatched);
    assert_eq!(env.get_eim_package(&eid).await, None, "never dispatched twice");
    let result = euicc.load_euicc_package(&package).unwrap();
    assert_eq!(state_of(&euicc, ICCID_B), Some(ProfileState::Enabled));

    let mut tampered = result.clone();
    let n = tampered.len();
    tampered[n - 70] ^= 0x01; // inside euiccPackageResultDataSigned, before the 64-byte signature
    let refused = env.provide_result(&eid, &tampered).await;
    assert_eq!(refused, [0xBF, 0x50, 0x03, 0x02, 0x01, 0x7F], "provideEimPackageResultError undefinedError");
    assert_eq!(env.order(order.id).state, OrderState::Dispatched, "a tampered result changes nothing");

    let response = env.provide_result(&eid, &result).await;
    let ack = acknowledgement_of(&response);
    assert_eq!(euicc.acknowledge(&ack).unwrap(), 1, "the eUICC deletes the acknowledged result");
    let done = env.order(order.id);
    assert_eq!((done.state, done.failure_reason.as_deref()), (OrderState::Succeeded, None));
    assert_eq!(done.result_der.as_deref(), Some(&result[..]));
    // The inventory follows the verified result (listProfileInfo replaced it with the eUICC's list).
    assert_eq!(inventory(&env, &eid), [(ICCID_A.to_owned(), "disabled"), (ICCID_B.to_owned(), "enabled")]);
    // An IPA retry of the same report is answered the same way and changes nothing.
    assert_eq!(env.provide_result(&eid, &result).await, response);
    assert_eq!(env.get_eim_package(&eid).await, None);

    // The next package carries the next counterValue and succeeds too (enable A back).
    let back = env.queue(
        curve,
        &eid,
        EuiccPackage::PsmoList(vec![
            Psmo::Disable(PsmoIccid { iccid: iccid(ICCID_B) }),
            Psmo::Enable(PsmoEnable { iccid: iccid(ICCID_A), rollback_flag: None }),
        ]),
    );
    assert_eq!(back.counter_value, 2);
    let package = env.get_eim_package(&eid).await.unwrap();
    let result = euicc.load_euicc_package(&package).unwrap();
    // This IPA leaves out the OPTIONAL eidValue: the eimTransactionId finds the order.
    acknowledgement_of(&env.provide_result_without_eid(&result).await);
    assert_eq!(env.order(back.id).state, OrderState::Succeeded);
    assert_eq!(state_of(&euicc, ICCID_A), Some(ProfileState::Enabled));
    assert_eq!(inventory(&env, &eid), [(ICCID_A.to_owned(), "enabled"), (ICCID_B.to_owned(), "disabled")]);
}

/// (ICCID, state) of the profiles rspd knows on the eUICC.
fn inventory(env: &Env, eid: &str) -> Vec<(String, &'static str)> {
    env.store()
        .known_profiles(eid)
        .unwrap()
        .into_iter()
        .map(|p| (p.iccid, if p.state == "enabled" { "enabled" } else { "disabled" }))
        .collect()
}

async fn replayed_counter_fails_the_order(postgres: Option<&str>) {
    let env = Env::start(postgres);
    // The eUICC already accepted counterValue 5; rspd's next package carries 1.
    let (mut euicc, eid) = env.device(Curve::NistP256, 5);
    let order = env.queue(Curve::NistP256, &eid, switch_to_b());
    let package = env.get_eim_package(&eid).await.unwrap();
    let result = euicc.load_euicc_package(&package).unwrap();
    assert_eq!(state_of(&euicc, ICCID_A), Some(ProfileState::Enabled), "nothing ran");
    let response = env.provide_result(&eid, &result).await;
    assert_eq!(response, [0xBF, 0x50, 0x02, 0x30, 0x00], "emptyResponse: a signed error has no seqNumber");
    let failed = env.order(order.id);
    assert_eq!((failed.state, failed.failure_reason.as_deref()), (OrderState::Failed, Some("replay_error")));
    assert!(inventory(&env, &eid).is_empty(), "a refused package changes no inventory");
}

async fn binding_rules(postgres: Option<&str>) {
    let env = Env::start(postgres);
    let (mut euicc, eid) = env.device(Curve::NistP256, 0);
    let request = encode(&GetEimPackageRequest {
        eid_value: FixedOctetString::new(hex::decode(&eid).unwrap().try_into().unwrap()),
        notify_state_change: None,
        state_change_cause: None,
        r_plmn: None,
    })
    .unwrap();
    assert_eq!(env.post(request.clone(), None).await.0, 400, "X-Admin-Protocol is required");
    assert_eq!(env.post(vec![0x30, 0x00], Some("gsma/rsp/v2.5.0")).await.0, 400, "not an ESipa message");
    assert_eq!(env.post(vec![0xBF, 0x4F, 0x05], Some("gsma/rsp/v2.5.0")).await.0, 400, "truncated");
    assert_eq!(env.post(request, Some("gsma/rsp/v2.2.0")).await, (200, NO_EIM_PACKAGE_AVAILABLE.to_vec()));
    // Every truncation of a real request, and flipped bytes: a 400 or an ESipa error, never a 5xx.
    let order = env.queue(Curve::NistP256, &eid, switch_to_b());
    let package = env.get_eim_package(&eid).await.unwrap();
    let result = euicc.load_euicc_package(&package).unwrap();
    let eid_do = tlv::encode(Tag(0x5A), &hex::decode(&eid).unwrap());
    let body = tlv::encode_constructed(Tag(0xBF50), [&eid_do[..], &result[..]]);
    let mut variants: Vec<Vec<u8>> = (0..body.len()).map(|n| body[..n].to_vec()).collect();
    variants.extend((0..body.len()).step_by(7).map(|i| {
        let mut v = body.clone();
        v[i] ^= 0xA5;
        v
    }));
    for v in variants {
        let (status, _) = env.post(v.clone(), Some("gsma/rsp/v2.5.0")).await;
        assert!(status == 200 || status == 400, "{status} for {}", hex::encode(&v));
    }
    assert_eq!(env.order(order.id).state, OrderState::Dispatched, "no damaged report was accepted");

    // An EID with wrong check digits: invalidEid(3); a valid unknown one: eidNotFound(2).
    let body = "890490321234512345123456789012";
    let valid = format!("{body}{}", rspd::pki::eid::check_digits(body).unwrap());
    let wrong = format!("{body}{}", if valid.ends_with("00") { "01" } else { "00" });
    for (eid, code) in [(wrong, 3u8), (valid, 2u8)] {
        let request = encode(&GetEimPackageRequest {
            eid_value: FixedOctetString::new(hex::decode(&eid).unwrap().try_into().unwrap()),
            notify_state_change: None,
            state_change_cause: None,
            r_plmn: None,
        })
        .unwrap();
        assert_eq!(
            env.post(request, Some("gsma/rsp/v2.5.0")).await,
            (200, vec![0xBF, 0x4F, 0x03, 0x02, 0x01, code]),
            "{eid}"
        );
    }
}

/// The operator flow with `rspd eim …` only: register, AddInitialEim from `rspd eim config`, associate, queue,
/// then the IPA loop and `rspd eim show`.
async fn command_line_flow(postgres: Option<&str>) {
    let env = Env::start(postgres);
    let pki = TestPkiPaths::new(env.pki_dir());
    let (euicc_cert, eum_cert) = (pki.euicc_cert(Curve::NistP256), pki.eum_cert(Curve::NistP256));
    // An EUM that did not issue the certificate: refused (exit 2), nothing registered.
    let wrong_eum = pki.eum_cert(Curve::BrainpoolP256r1);
    let out = env.dir.run(
        &[
            "--config",
            env.config.to_str().unwrap(),
            "eim",
            "register",
            "--cert",
            euicc_cert.to_str().unwrap(),
            "--eum-cert",
            wrong_eum.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("eUICC certificate chain"));
    let eid = env.rspd(&[
        "eim",
        "register",
        "--cert",
        euicc_cert.to_str().unwrap(),
        "--eum-cert",
        eum_cert.to_str().unwrap(),
    ]);
    let eid = eid.trim().to_owned();
    let mut euicc = SoftEuicc::new(EuiccCredentials::from_test_pki(&pki, Curve::NistP256).unwrap());
    assert_eq!(eid, euicc.eid());
    euicc.seed_profile(InstalledProfile::seeded(ICCID_A, 0x10, ProfileState::Enabled).unwrap()).unwrap();
    euicc.seed_profile(InstalledProfile::seeded(ICCID_B, 0x11, ProfileState::Disabled).unwrap()).unwrap();

    let file = env.dir.path().join("add_initial_eim.der");
    env.rspd(&["eim", "config", "--eid", &eid, "--out", file.to_str().unwrap()]);
    let response = euicc.add_initial_eim(&std::fs::read(&file).unwrap()).unwrap();
    let Ok(AddInitialEimResponse::AddInitialEimOk(items)) = decode::<AddInitialEimResponse>(&response) else {
        panic!("AddInitialEim refused: {}", hex::encode(&response));
    };
    let Some(AddInitialEimOkItem::AssociationToken(token)) = items.first() else { panic!("no associationToken") };
    env.rspd(&["eim", "associate", "--eid", &eid, "--association-token", &token.to_string()]);

    let queued = env.rspd(&[
        "eim",
        "queue",
        "--eid",
        &eid,
        "--psmo",
        &format!("disable:{ICCID_A}"),
        "--psmo",
        &format!("enable:{ICCID_B}"),
        "--psmo",
        "list-profiles",
    ]);
    assert_eq!(queued.trim(), "order 1 counterValue 1");
    let package = env.get_eim_package(&eid).await.unwrap();
    let result = euicc.load_euicc_package(&package).unwrap();
    acknowledgement_of(&env.provide_result(&eid, &result).await);
    assert_eq!(state_of(&euicc, ICCID_B), Some(ProfileState::Enabled));
    let shown = env.rspd(&["eim", "show", "--order", "1"]);
    assert_eq!(shown.trim(), format!("order 1 eid {eid} state succeeded counterValue 1 reason -"));
}

/// An IPA that fetches a package and never reports: the no-show timeout expires the order; a late result is
/// refused and the order stays Expired.
async fn no_show_expires_the_order(postgres: Option<&str>) {
    let env = Env::start_with(postgres, "no_show_timeout_secs = 1\nexpiry_interval_secs = 1");
    let (mut euicc, eid) = env.device(Curve::NistP256, 0);
    let order = env.queue(Curve::NistP256, &eid, switch_to_b());
    let package = env.get_eim_package(&eid).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while env.order(order.id).state != OrderState::Expired {
        assert!(std::time::Instant::now() < deadline, "the order did not expire");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(env.order(order.id).failure_reason.as_deref(), Some("no_result"));
    let late = euicc.load_euicc_package(&package).unwrap();
    assert_eq!(env.provide_result(&eid, &late).await, [0xBF, 0x50, 0x03, 0x02, 0x01, 0x7F]);
    assert_eq!(env.order(order.id).state, OrderState::Expired);
    assert_eq!(env.get_eim_package(&eid).await, None, "an expired package is not sent again");
}

#[tokio::test]
async fn operator_flow_with_rspd_eim_commands() {
    for backend in backends() {
        command_line_flow(backend.as_deref()).await;
    }
}

#[tokio::test]
async fn ipa_that_never_answers_expires_the_order() {
    for backend in backends() {
        no_show_expires_the_order(backend.as_deref()).await;
    }
}

#[tokio::test]
async fn psmo_package_succeeds_and_tampered_result_is_refused_nist() {
    for backend in backends() {
        succeeded_and_tampered(backend.as_deref(), Curve::NistP256).await;
    }
}

#[tokio::test]
async fn psmo_package_succeeds_and_tampered_result_is_refused_brainpool() {
    for backend in backends() {
        succeeded_and_tampered(backend.as_deref(), Curve::BrainpoolP256r1).await;
    }
}

#[tokio::test]
async fn replayed_counter_value_fails_the_order_with_replay_error() {
    for backend in backends() {
        replayed_counter_fails_the_order(backend.as_deref()).await;
    }
}

#[tokio::test]
async fn asn1_binding_headers_and_empty_queue() {
    for backend in backends() {
        binding_rules(backend.as_deref()).await;
    }
}
