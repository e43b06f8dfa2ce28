//! A mock operator ES2+ endpoint for the HandleDownloadProgressInfo tests: actix-web on 127.0.0.1 (free port)
//! over TLS that **requires** a client certificate from its own CA (the one rspd is configured to present),
//! recording every call. It can be told to fail (503) for every ICCID or for chosen ICCIDs.
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;

pub const PATH: &str = "/gsma/rsp2/es2plus/handleDownloadProgressInfo";

/// One received call.
#[derive(Debug, Clone)]
pub struct Call {
    pub body: Value,
    pub admin_protocol: Option<String>,
    pub content_type: Option<String>,
    /// Whether the mock answered 204 (false: it answered 503).
    pub accepted: bool,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    fail_all: bool,
    fail_iccids: HashSet<String>,
}

/// The mock and the PEM files rspd needs to call it.
pub struct MockOperator {
    state: Arc<Mutex<State>>,
    pub port: u16,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub server_ca: PathBuf,
    handle: actix_web::dev::ServerHandle,
}

impl MockOperator {
    /// Starts the mock; the certificates are written to `dir`.
    pub async fn start(dir: &Path) -> MockOperator {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "Mock Operator CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);

        let server_key = KeyPair::generate().unwrap();
        let mut server = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        server.distinguished_name.push(DnType::CommonName, "es2.operator.test");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server.signed_by(&server_key, &issuer).unwrap();

        let client_key = KeyPair::generate().unwrap();
        let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
        client.distinguished_name.push(DnType::CommonName, "rspd-smdp");
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client.signed_by(&client_key, &issuer).unwrap();

        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let server_ca = write("mock-ca.pem", ca_cert.pem());
        let client_cert_path = write("rspd-client.pem", client_cert.pem());
        let client_key_path = write("rspd-client.key", client_key.serialize_pem());

        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca_cert.der().clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .unwrap();
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![CertificateDer::from_pem_slice(server_cert.pem().as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(server_key.serialize_pem().as_bytes()).unwrap(),
            )
            .unwrap();

        let state = Arc::new(Mutex::new(State::default()));
        let data = web::Data::new(state.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || App::new().app_data(data.clone()).route(PATH, web::post().to(handle)))
            .workers(1)
            .disable_signals()
            .listen_rustls_0_23(listener, tls)
            .unwrap()
            .run();
        let handle = server.handle();
        tokio::spawn(server);
        MockOperator { state, port, client_cert: client_cert_path, client_key: client_key_path, server_ca, handle }
    }

    /// The `[operator.progress]` config for operator `operator_id` (fast retries for tests).
    pub fn config(&self, operator_id: &str) -> String {
        format!(
            "\n[operator.progress]\npoll_interval_ms = 100\nretry_initial_secs = 1\nretry_max_secs = 2\n\
             alert_after_attempts = 3\n\n[[operator.progress.endpoints]]\noperator_id = \"{operator_id}\"\n\
             url = \"https://localhost:{}\"\nclient_cert = \"{}\"\nclient_key = \"{}\"\nserver_ca = [\"{}\"]\n\
             function_requester_identifier = \"smdp.rspd.test\"\n",
            self.port,
            self.client_cert.display(),
            self.client_key.display(),
            self.server_ca.display()
        )
    }

    pub fn fail_all(&self, fail: bool) {
        self.state.lock().unwrap().fail_all = fail;
    }

    pub fn fail_iccid(&self, iccid: &str, fail: bool) {
        let mut s = self.state.lock().unwrap();
        if fail {
            s.fail_iccids.insert(iccid.to_owned());
        } else {
            s.fail_iccids.remove(iccid);
        }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The accepted calls about `iccid` (ES2+ form, 20 characters), in arrival order.
    pub fn accepted(&self, iccid: &str) -> Vec<Value> {
        self.calls().into_iter().filter(|c| c.accepted && c.body["iccid"] == iccid).map(|c| c.body).collect()
    }

    /// All calls (accepted or not) about `iccid`.
    pub fn attempts(&self, iccid: &str) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.body["iccid"] == iccid).collect()
    }

    /// Waits until `iccid` has `n` accepted calls (deadline 20 s); returns them.
    pub async fn wait_accepted(&self, iccid: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.accepted(iccid);
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "{iccid}: {} of {n} progress calls accepted: {got:#?}", got.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `iccid` has at least `n` calls, accepted or not.
    pub async fn wait_attempts(&self, iccid: &str, n: usize) -> Vec<Call> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.attempts(iccid);
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "{iccid}: {} of {n} progress attempts", got.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

async fn handle(req: HttpRequest, body: web::Bytes, state: web::Data<Arc<Mutex<State>>>) -> HttpResponse {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut s = state.lock().unwrap();
    let iccid = body["iccid"].as_str().unwrap_or("").to_owned();
    let accepted = !s.fail_all && !s.fail_iccids.contains(&iccid);
    s.calls.push(Call {
        body,
        admin_protocol: header("x-admin-protocol"),
        content_type: header("content-type"),
        accepted,
    });
    if accepted {
        HttpResponse::NoContent().finish()
    } else {
        HttpResponse::ServiceUnavailable().finish()
    }
}

/// The ICCID as ES2+ carries it (19 digits padded with F).
pub fn es2_iccid(iccid: &str) -> String {
    if iccid.len() == 19 {
        format!("{iccid}F")
    } else {
        iccid.to_owned()
    }
}

/// `(notificationPointId, status)` of each call.
pub fn points(calls: &[Value]) -> Vec<(u64, String)> {
    calls
        .iter()
        .map(|c| {
            (
                c["notificationPointId"].as_u64().unwrap_or(0),
                c["notificationPointStatus"]["status"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}
