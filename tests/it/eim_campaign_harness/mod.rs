//! Shared set-up of the eIM orders/campaigns tests: an `rspd serve` with two operators (`op-a` = the test
//! PKI's operator client certificate, `op-b` = a second client certificate from the same operator CA), light
//! simulated devices (soft eUICCs with fresh eUICC certificates from the test EUM, all associated with rspd's
//! eIM by one AddInitialEim) and an IPA loop over ESipa's ASN.1 binding.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::{X509Name, X509};
use rasn::types::FixedOctetString;
use rsp_conformance::euicc::profiles::{InstalledProfile, ProfileState};
use rsp_conformance::euicc::{EuiccCredentials, SoftEuicc};
use rspd::codec::encode;
use rspd::codec::sgp32::GetEimPackageRequest;
use rspd::codec::tlv::{self, Tag};
use rspd::config::DatabaseUrl;
use rspd::eim::registry::{add_initial_eim_request, eim_configuration_data};
use rspd::eim::EimContext;
use rspd::pki::test_pki::TestPkiPaths;
use rspd::pki::{Curve, PemKeyStore};
use rspd::server::default_eim_key_path;
use rspd::store::Store;
use serde_json::{json, Value};

use crate::common::postgres::SchemaGuard;
use crate::common::{open_store, test_pki_client, ServerProcess, Setup, TestDir, TestServer};

pub const EIM_ID: &str = "eim.rspd.test";
pub const ICCID_A: &str = "89000123456789012341";
pub const ICCID_B: &str = "89000123456789012358";
pub const ASN1: &str = "application/x-gsma-rsp-asn1";
pub const NO_EIM_PACKAGE_AVAILABLE: [u8; 6] = [0xBF, 0x4F, 0x03, 0x02, 0x01, 0x01];

pub struct Env {
    pub dir: TestDir,
    pub config: PathBuf,
    pub server: ServerProcess,
    pub address: String,
    pub device_client: reqwest::Client,
    pub op_a: reqwest::Client,
    pub op_b: reqwest::Client,
    pub db_url: DatabaseUrl,
    _schema: Option<SchemaGuard>,
}

/// A second operator client certificate (CN=op-b) from the test PKI's operator CA, PEM cert + key.
fn operator_b_identity(pki: &TestPkiPaths) -> Vec<u8> {
    let (mut pem, key) =
        crate::common::issue_operator_client(&pki.operator_ca_cert(), &pki.operator_ca_key(), "op-b", Some("RSPDTEST"));
    pem.extend(key);
    pem
}

fn serial() -> Asn1Integer {
    let mut bn = BigNum::new().unwrap();
    bn.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
    bn.to_asn1_integer().unwrap()
}

fn operator_client(dir: &TestDir, server: &ServerProcess, identity_pem: &[u8]) -> reqwest::Client {
    test_pki_client(&dir.data_dir(), server.operator)
        .identity(reqwest::Identity::from_pem(identity_pem).unwrap())
        .pool_max_idle_per_host(8)
        .build()
        .unwrap()
}

impl Env {
    /// A server on `postgres` (or SQLite) with the orders job every 50 ms.
    pub fn start(postgres: Option<&str>) -> Env {
        // Hundreds of simulated IPAs poll from 127.0.0.1 as fast as they can (a fleet behind one NAT address):
        // the per-address and per-EID rates (issue 10 item 4, tested in es9_negative's `abuse`) are off here.
        // The eIM's FQDN (the SM-DP+ address by default) carries the device port, so the config names it.
        let TestServer { dir, config, server, db_url, device_port: port, schema, .. } = TestServer::builder()
            .postgres(postgres)
            .device_port_in_config()
            .config_with(|s: &Setup| {
                format!(
                    "[eim]\neim_id = \"{EIM_ID}\"\norders_interval_ms = 50\n[device]\nlisten = \"127.0.0.1:{}\"\n\
                     [operator]\n[[operator.identities]]\noperator_id = \"op-a\"\nsubject = \"CN=test-operator, O=RSPDTEST\"\n\
                     [[operator.identities]]\noperator_id = \"op-b\"\nsubject = \"CN=op-b, O=RSPDTEST\"\n\
                     [limits]\nsource_requests_per_sec = 0\neid_requests_per_min = 0\n",
                    s.device_port
                )
            })
            .start();
        let server = server.unwrap();
        let address = format!("localhost:{port}");
        let pki = TestPkiPaths::new(dir.data_dir().join("pki"));
        let mut a = std::fs::read(pki.operator_client_cert()).unwrap();
        a.extend(std::fs::read(pki.operator_client_key()).unwrap());
        let op_a = operator_client(&dir, &server, &a);
        let op_b = operator_client(&dir, &server, &operator_b_identity(&pki));
        let device_client = test_pki_client(&dir.data_dir(), server.device).pool_max_idle_per_host(64).build().unwrap();
        Env { dir, config, server, address, device_client, op_a, op_b, db_url, _schema: schema }
    }

    pub fn pki(&self) -> TestPkiPaths {
        TestPkiPaths::new(self.dir.data_dir().join("pki"))
    }

    pub fn store(&self) -> Store {
        open_store(&self.db_url, &self.dir.data_dir())
    }

    pub fn eim_context(&self) -> EimContext {
        let curve = Curve::NistP256;
        let keys = PemKeyStore::load(&[(
            EimContext::key(curve),
            default_eim_key_path(&self.pki().root().to_path_buf(), curve),
        )])
        .unwrap();
        EimContext {
            eim_id: EIM_ID.into(),
            eim_fqdn: self.address.clone(),
            keys: Arc::new(keys),
            curves: vec![curve],
            dispatch_timeout: Duration::from_secs(600),
            no_show_timeout: Duration::from_secs(600),
        }
    }

    fn operator_url(&self, path: &str) -> String {
        self.server.operator_url(path)
    }

    /// `(status, JSON body)` of an operator API call.
    pub async fn call(
        &self,
        client: &reqwest::Client,
        method: &str,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> (u16, Value) {
        let url = self.operator_url(path);
        let mut req = match method {
            "GET" => client.get(url),
            _ => client.post(url),
        };
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b.to_string());
        }
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}"));
        (status, value)
    }

    pub async fn get(&self, client: &reqwest::Client, path: &str) -> (u16, Value) {
        self.call(client, "GET", path, None, None).await
    }

    pub async fn post(&self, client: &reqwest::Client, path: &str, body: &Value) -> (u16, Value) {
        self.call(client, "POST", path, Some(body), None).await
    }

    /// Polls `GET path` until `done(body)`, at most `secs` seconds.
    pub async fn wait_for(
        &self,
        client: &reqwest::Client,
        path: &str,
        secs: u64,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let (status, body) = self.get(client, path).await;
            assert_eq!(status, 200, "{path}: {body}");
            if done(&body) {
                return body;
            }
            assert!(std::time::Instant::now() < deadline, "{path} did not reach the expected state: {body}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `n` light devices (profiles: A enabled, and B disabled unless `without_b`), associated with rspd's eIM
    /// and imported for the client's operator through `POST /api/v1/eim/euiccs`.
    pub async fn devices(&self, client: &reqwest::Client, first: u32, n: u32, without_b: &[u32]) -> Vec<Device> {
        let factory = DeviceFactory::new(&self.pki(), &self.eim_context());
        let devices: Vec<Device> = (first..first + n).map(|i| factory.device(i, !without_b.contains(&i))).collect();
        for chunk in devices.chunks(500) {
            let items: Vec<Value> = chunk
                .iter()
                .map(|d| {
                    json!({
                        "certificate": base64::engine::general_purpose::STANDARD.encode(&d.euicc.credentials().euicc_cert_der),
                        "associationToken": d.association_token,
                        "label": "fleet-1",
                    })
                })
                .collect();
            let (status, report) = self.post(client, "/api/v1/eim/euiccs", &json!({ "euiccs": items })).await;
            assert_eq!(status, 200, "{report}");
            assert_eq!(report["registered"], chunk.len(), "{report}");
        }
        devices
    }

    /// ESipa over the ASN.1 binding: the response body.
    pub async fn esipa(&self, body: Vec<u8>) -> Vec<u8> {
        self.device_listener().esipa(body).await
    }

    /// GetEimPackage for `eid`: the package inside the response (`BF51 …`, `BF54 …`, …), or `None`.
    pub async fn get_eim_package(&self, eid: &str) -> Option<Vec<u8>> {
        self.device_listener().get_eim_package(eid).await
    }

    /// ProvideEimPackageResult with one EuiccPackageResult.
    pub async fn provide_result(&self, eid: &str, result: &[u8]) -> Vec<u8> {
        self.device_listener().provide_result(eid, result).await
    }

    /// One IPA poll of `device`: fetch, execute on the eUICC, report. Whether a package was run.
    pub async fn poll(&self, device: &mut Device) -> bool {
        self.device_listener().poll(device).await
    }

    fn device_listener(&self) -> DeviceListener<'_> {
        DeviceListener { client: &self.device_client, address: &self.address }
    }

    /// Another node of this server (PostgreSQL: the same database): `rspd serve` with the same config and data dir
    /// (keys, test PKI) on its own device and operator ports.
    pub fn add_node(&self) -> Node {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let text = std::fs::read_to_string(&self.config).unwrap();
        let own = format!("listen = \"127.0.0.1:{}\"", self.address.rsplit(':').next().unwrap());
        assert!(text.contains(&own), "{text}");
        let text = text.replace(&own, &format!("listen = \"127.0.0.1:{port}\""));
        let config = self.dir.path().join(format!("node-{port}.toml"));
        std::fs::write(&config, text).unwrap();
        let server = ServerProcess::start(&self.dir, &config, &[]);
        let device_client =
            test_pki_client(&self.dir.data_dir(), server.device).pool_max_idle_per_host(64).build().unwrap();
        Node { server, address: format!("localhost:{port}"), device_client }
    }
}

/// IPAs for `devices`: `workers` tasks share them, each poll of a device going to the next of `listeners`
/// (`(client, "localhost:<port>")`; device n starts at listener n) until it has run one package; a device that
/// found nothing goes to the back of the queue. The devices that ran their package; panics after `within`.
pub async fn run_one_package_each(
    devices: Vec<Device>,
    listeners: Vec<(reqwest::Client, String)>,
    workers: usize,
    within: Duration,
) -> Vec<Device> {
    let queue: Arc<tokio::sync::Mutex<std::collections::VecDeque<(usize, Device)>>> =
        Arc::new(tokio::sync::Mutex::new(devices.into_iter().enumerate().collect()));
    let listeners = Arc::new(listeners);
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (queue, listeners) = (queue.clone(), listeners.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let Some((polls, mut device)) = queue.lock().await.pop_front() else { break };
                let (client, address) = &listeners[polls % listeners.len()];
                if DeviceListener::new(client, address).poll(&mut device).await {
                    done.push(device);
                } else {
                    queue.lock().await.push_back((polls + 1, device));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            done
        }));
    }
    let deadline = std::time::Instant::now() + within;
    let mut ran = Vec::new();
    for task in tasks {
        let remaining = deadline.saturating_duration_since(std::time::Instant::now());
        ran.extend(tokio::time::timeout(remaining, task).await.expect("devices polled in time").unwrap());
    }
    ran
}

/// A further `rspd serve` on the same database ([`Env::add_node`]).
pub struct Node {
    pub server: ServerProcess,
    /// `localhost:<device port>`.
    pub address: String,
    pub device_client: reqwest::Client,
}

impl Node {
    /// The ESipa calls of [`Env`], against this node.
    pub fn device_listener(&self) -> DeviceListener<'_> {
        DeviceListener { client: &self.device_client, address: &self.address }
    }
}

/// ESipa (ASN.1 binding) against one node's device listener.
pub struct DeviceListener<'a> {
    client: &'a reqwest::Client,
    address: &'a str,
}

impl<'a> DeviceListener<'a> {
    /// The device listener at `address` (`localhost:<port>`), reached with `client`.
    pub fn new(client: &'a reqwest::Client, address: &'a str) -> Self {
        DeviceListener { client, address }
    }

    /// ESipa over the ASN.1 binding: the response body.
    pub async fn esipa(&self, body: Vec<u8>) -> Vec<u8> {
        let r = self
            .client
            .post(format!("https://{}/gsma/rsp2/asn1", self.address))
            .header("Content-Type", ASN1)
            .header("X-Admin-Protocol", "gsma/rsp/v2.5.0")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        r.bytes().await.unwrap().to_vec()
    }

    /// GetEimPackage for `eid`: the package inside the response (`BF51 …`, `BF54 …`, …), or `None`.
    pub async fn get_eim_package(&self, eid: &str) -> Option<Vec<u8>> {
        let request = GetEimPackageRequest {
            eid_value: FixedOctetString::new(hex::decode(eid).unwrap().try_into().unwrap()),
            notify_state_change: None,
            state_change_cause: None,
            r_plmn: None,
        };
        let body = self.esipa(encode(&request).unwrap()).await;
        if body == NO_EIM_PACKAGE_AVAILABLE {
            return None;
        }
        let top = tlv::parse_single(&body).unwrap().expect_tag(Tag(0xBF4F)).unwrap();
        Some(top.value().to_vec())
    }

    /// ProvideEimPackageResult with one EuiccPackageResult.
    pub async fn provide_result(&self, eid: &str, result: &[u8]) -> Vec<u8> {
        let eid_do = tlv::encode(Tag(0x5A), &hex::decode(eid).unwrap());
        self.esipa(tlv::encode_constructed(Tag(0xBF50), [&eid_do[..], result])).await
    }

    /// One IPA poll of `device`: fetch, execute on the eUICC, report. Whether a package was run.
    pub async fn poll(&self, device: &mut Device) -> bool {
        let Some(package) = self.get_eim_package(&device.eid).await else { return false };
        assert_eq!(&package[..2], [0xBF, 0x51], "a signed EuiccPackageRequest");
        let result = device.euicc.load_euicc_package(&package).unwrap();
        self.provide_result(&device.eid, &result).await;
        true
    }
}

/// A simulated device: the soft eUICC and the association token it issued.
pub struct Device {
    pub eid: String,
    pub euicc: SoftEuicc,
    pub association_token: Option<i64>,
}

impl Device {
    pub fn state_of(&self, iccid: &str) -> Option<ProfileState> {
        self.euicc.profiles().iter().find(|p| p.iccid == iccid).map(|p| p.state)
    }
}

/// Makes devices cheaply: one EUM, one P-256 key generation and certificate per device, one shared
/// AddInitialEim request.
pub struct DeviceFactory {
    base: EuiccCredentials,
    eum_cert: X509,
    eum_key: PKey<Private>,
    add_initial_eim: Vec<u8>,
}

impl DeviceFactory {
    pub fn new(pki: &TestPkiPaths, ctx: &EimContext) -> Self {
        let curve = Curve::NistP256;
        let base = EuiccCredentials::from_test_pki(pki, curve).unwrap();
        let eum_cert = X509::from_pem(&std::fs::read(pki.eum_cert(curve)).unwrap()).unwrap();
        let eum_key = PKey::private_key_from_pem(&std::fs::read(pki.eum_key(curve)).unwrap()).unwrap();
        let config = eim_configuration_data(ctx, curve, 0, true).unwrap();
        DeviceFactory { base, eum_cert, eum_key, add_initial_eim: add_initial_eim_request(config).unwrap() }
    }

    /// Device number `n` (its EID derived from `n`).
    pub fn device(&self, n: u32, with_b: bool) -> Device {
        let body = format!("89049032{n:022}");
        let eid = format!("{body}{}", rspd::pki::eid::check_digits(&body).unwrap());
        let key = EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap();
        let pkey = PKey::from_ec_key(key.clone()).unwrap();
        let mut name = X509Name::builder().unwrap();
        name.append_entry_by_nid(Nid::COUNTRYNAME, "XX").unwrap();
        name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "RSPD Test EUM").unwrap();
        name.append_entry_by_nid(Nid::SERIALNUMBER, &eid).unwrap();
        name.append_entry_by_nid(Nid::COMMONNAME, "RSPD Test eUICC").unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(&serial()).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(self.eum_cert.subject_name()).unwrap();
        b.set_pubkey(&pkey).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
        b.set_not_after(&Asn1Time::days_from_now(365).unwrap()).unwrap();
        b.sign(&self.eum_key, MessageDigest::sha256()).unwrap();
        let cert = b.build();
        let credentials = EuiccCredentials {
            eid: eid.clone(),
            euicc_cert_der: cert.to_der().unwrap(),
            euicc_key: key,
            ..self.base.clone()
        };
        let mut euicc = SoftEuicc::new(credentials);
        euicc.seed_profile(InstalledProfile::seeded(ICCID_A, 0x10, ProfileState::Enabled).unwrap()).unwrap();
        if with_b {
            euicc.seed_profile(InstalledProfile::seeded(ICCID_B, 0x11, ProfileState::Disabled).unwrap()).unwrap();
        }
        let response = euicc.add_initial_eim(&self.add_initial_eim).unwrap();
        let token = association_token(&response);
        Device { eid, euicc, association_token: token }
    }
}

fn association_token(response: &[u8]) -> Option<i64> {
    use rspd::codec::sgp32::{AddInitialEimOkItem, AddInitialEimResponse};
    let AddInitialEimResponse::AddInitialEimOk(items) = rspd::codec::decode::<AddInitialEimResponse>(response).unwrap()
    else {
        panic!("AddInitialEim refused");
    };
    items.iter().find_map(|i| match i {
        AddInitialEimOkItem::AssociationToken(t) => Some(*t),
        _ => None,
    })
}
