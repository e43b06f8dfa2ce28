//! Shared by the fleet API tests: `rspd serve` with two operators mapped by certificate subject (`op-a` = the test
//! PKI's client certificate, `op-b` = a second certificate issued here by the test operator CA) and one certificate
//! of the same CA that is mapped to no operator; HTTPS clients for each; data seeded through the store.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use rspd::config::DatabaseUrl;
use rspd::pki::test_pki::TestPkiPaths;
use rspd::smdp::{DownloadRepository, MatchingId, NewOrder, NewProfile, ProfileRepository, ProfileState};
use rspd::store::Store;
use serde_json::Value;

use crate::common::postgres::SchemaGuard;
use crate::common::{open_store, ServerProcess, TestDir, TestServer};

pub struct FleetEnv {
    pub dir: TestDir,
    pub server: ServerProcess,
    pub db_url: DatabaseUrl,
    pub store: Store,
    pub a: reqwest::Client,
    pub b: reqwest::Client,
    pub stranger: reqwest::Client,
    pub anonymous: reqwest::Client,
    _schema: Option<SchemaGuard>,
}

impl FleetEnv {
    pub fn start(postgres: Option<&str>) -> FleetEnv {
        let TestServer { dir, server, db_url, schema, .. } = TestServer::builder()
            .postgres(postgres)
            .config_extra(
                "[[operator.identities]]\noperator_id = \"op-a\"\nsubject = \"CN=test-operator, O=RSPDTEST\"\n\
                 [[operator.identities]]\noperator_id = \"op-b\"\nsubject = \"CN=op-b, O=RSPDTEST\"\n",
            )
            .start();
        let server = server.unwrap();
        let pki = TestPkiPaths::new(dir.data_dir().join("pki"));
        let ci = pki.ci_cert(rspd::pki::Curve::NistP256);
        let a = client(&ci, Some((pki.operator_client_cert(), pki.operator_client_key())), &server);
        let b = client(&ci, Some(issue_client(&pki, dir.path(), "op-b")), &server);
        let stranger = client(&ci, Some(issue_client(&pki, dir.path(), "stranger")), &server);
        let anonymous = client(&ci, None, &server);
        let store = open_store(&db_url, &dir.data_dir());
        FleetEnv { dir, server, db_url, store, a, b, stranger, anonymous, _schema: schema }
    }

    pub fn url(&self, path: &str) -> String {
        self.server.operator_url(path)
    }

    pub async fn get(&self, client: &reqwest::Client, path: &str) -> (u16, Value) {
        let r = client.get(self.url(path)).send().await.unwrap();
        let status = r.status().as_u16();
        let body = r.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// A profile of `operator` in state Available.
    pub fn profile(&self, operator: &str, iccid: &str, profile_type: &str) {
        self.store
            .insert_profile(&NewProfile {
                operator_id: operator.into(),
                iccid: iccid.into(),
                profile_type: profile_type.into(),
                state: ProfileState::Available,
                eid: None,
            })
            .unwrap();
    }

    /// An order (Confirmed) for an Available profile of `operator`; its id.
    pub fn order(&self, operator: &str, iccid: &str, matching_id: &str, eid: Option<&str>) -> i64 {
        self.store.reserve_profile(operator, iccid, None).unwrap();
        let order = NewOrder {
            operator_id: operator.into(),
            iccid: iccid.into(),
            matching_id: MatchingId::new(matching_id).unwrap(),
            eid: eid.map(|e| rspd::smdp::Eid::new(e).unwrap()),
            cc_hash: None,
            cc_attempts: 3,
        };
        self.store.confirm_order(&order, ProfileState::Allocated).unwrap().id
    }
}

/// An HTTPS client for the operator listener.
pub fn client(ci: &Path, identity: Option<(PathBuf, PathBuf)>, server: &ServerProcess) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(ci).unwrap()).unwrap())
        .resolve("localhost", server.operator)
        .timeout(Duration::from_secs(30));
    if let Some((cert, key)) = identity {
        let mut pem = std::fs::read(cert).unwrap();
        pem.extend(std::fs::read(key).unwrap());
        builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
    }
    builder.build().unwrap()
}

/// A client certificate `CN=<cn>, O=RSPDTEST` issued by the test operator CA; (cert, key) PEM paths.
pub fn issue_client(pki: &TestPkiPaths, dir: &Path, cn: &str) -> (PathBuf, PathBuf) {
    let (cert, key) =
        crate::common::issue_operator_client(&pki.operator_ca_cert(), &pki.operator_ca_key(), cn, Some("RSPDTEST"));
    let (cert_path, key_path) = (dir.join(format!("{cn}.pem")), dir.join(format!("{cn}.key")));
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    (cert_path, key_path)
}

/// An open SSE stream: collects text until a predicate holds or the time runs out.
pub struct Sse {
    response: reqwest::Response,
    pub text: String,
}

impl Sse {
    pub async fn open(client: &reqwest::Client, url: &str, last_event_id: Option<&str>) -> Sse {
        let mut request = client.get(url).header("Accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Sse { response, text: String::new() }
    }

    /// Reads until `text` contains `needle` (true) or `within` passes (false).
    pub async fn wait_for(&mut self, needle: &str, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while !self.text.contains(needle) {
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return false,
            }
        }
        true
    }

    /// The `data:` JSON of every event received so far.
    pub fn events(&self) -> Vec<Value> {
        self.text.lines().filter_map(|l| l.strip_prefix("data: ")).map(|d| serde_json::from_str(d).unwrap()).collect()
    }
}

/// One ES2+ call (JSON binding) as `client`: the whole answer (always HTTP 200).
pub async fn es2_call(env: &FleetEnv, client: &reqwest::Client, function: &str, body: Value) -> Value {
    let r = client
        .post(env.url(&format!("/gsma/rsp2/es2plus/{function}")))
        .header("Content-Type", "application/json")
        .header("X-Admin-Protocol", "gsma/rsp/v2.5.0")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}
