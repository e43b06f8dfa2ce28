//! A mock SM-DP+ ES9+ HTTPS JSON endpoint (SGP.22 v2.5 §6.5.2) on 127.0.0.1 with a free port, delegating the
//! cryptography to [`ServerSim`]. It records what each request carried (headers, JSON `header`, fields) so tests
//! can check the client's wire behaviour, and can be told to answer one function with a Failed status.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rsp_conformance::euicc::prepare_download::hash_confirmation_code;
use rsp_proto::codec::sgp22::{AuthenticateServerResponse, CtxParams1, PrepareDownloadResponse};
use rsp_proto::codec::{decode, encode};
use rsp_proto::pki::test_pki::TestPkiPaths;
use rsp_proto::pki::Curve;
use rsp_proto::profile::Iccid;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};

use super::{metadata, synthetic_profile, ServerSim};

/// What one request carried.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub function: String,
    pub admin_protocol: Option<String>,
    pub user_agent: Option<String>,
    pub content_type: Option<String>,
    pub json_header: bool,
    pub body: Value,
}

/// The mock's state: the simulator, what the order expects, and what arrived.
pub struct MockState {
    pub sim: ServerSim,
    pub matching_id: String,
    pub iccid: Iccid,
    pub confirmation_code: Option<String>,
    /// Answer this function with Failed (subjectCode, reasonCode, message).
    pub fail_on: Option<(String, String, String, String)>,
    /// Answer this function with this HTTP status (no ES9+ body).
    pub http_status_on: Option<(String, u16)>,
    pub requests: Vec<Recorded>,
    pub notifications: Vec<Vec<u8>>,
    pub cancel_session_responses: Vec<Vec<u8>>,
}

pub struct MockEs9 {
    /// `127.0.0.1:port` (or `localhost:port` when asked): the SM-DP+ address.
    pub address: String,
    pub state: Arc<Mutex<MockState>>,
    handle: actix_web::dev::ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl Drop for MockEs9 {
    fn drop(&mut self) {
        // stop() sends the command at once; the server thread ends when the server has stopped.
        drop(self.handle.stop(false));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn tls_config(paths: &TestPkiPaths) -> rustls::ServerConfig {
    // rustls serves no brainpool TLS: the DP TLS certificate is always the NIST one (INTEROP, TLS).
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(paths.dptls_cert(Curve::NistP256)).unwrap().collect::<Result<_, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_file(paths.dptls_key(Curve::NistP256)).unwrap();
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap()
}

impl MockEs9 {
    /// Starts the mock for an eUICC of `curve`; `host` is `127.0.0.1` or `localhost` (the address is host:port).
    pub fn start(paths: &TestPkiPaths, curve: Curve, host: &str, matching_id: &str, iccid: &str) -> MockEs9 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("{host}:{}", listener.local_addr().unwrap().port());
        let mut sim = ServerSim::from_test_pki(paths, curve);
        sim.address = address.clone();
        let state = Arc::new(Mutex::new(MockState {
            sim,
            matching_id: matching_id.into(),
            iccid: Iccid::new(iccid).unwrap(),
            confirmation_code: None,
            fail_on: None,
            http_status_on: None,
            requests: Vec::new(),
            notifications: Vec::new(),
            cancel_session_responses: Vec::new(),
        }));
        let config = tls_config(paths);
        let shared = web::Data::from(state.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new().app_data(shared.clone()).route("/gsma/rsp2/es9plus/{function}", web::post().to(es9))
                })
                .workers(1)
                .disable_signals()
                .listen_rustls_0_23(listener, config)
                .unwrap()
                .run();
                tx.send(server.handle()).unwrap();
                let _ = server.await;
            })
        });
        let handle = rx.recv().unwrap();
        MockEs9 { address, state, handle, thread: Some(thread) }
    }

    pub fn with_state<R>(&self, f: impl FnOnce(&mut MockState) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }
}

fn header_text(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn respond(mut body: Value) -> HttpResponse {
    body["header"] = json!({"functionExecutionStatus": {"status": "Executed-Success"}});
    HttpResponse::Ok()
        .insert_header(("Content-Type", "application/json;charset=UTF-8"))
        .insert_header(("X-Admin-Protocol", "gsma/rsp/v2.5.0"))
        .body(body.to_string())
}

fn failed(subject: &str, reason: &str, message: &str) -> HttpResponse {
    let body = json!({"header": {"functionExecutionStatus": {"status": "Failed",
        "statusCodeData": {"subjectCode": subject, "reasonCode": reason, "message": message}}}});
    HttpResponse::Ok()
        .insert_header(("Content-Type", "application/json;charset=UTF-8"))
        .insert_header(("X-Admin-Protocol", "gsma/rsp/v2.5.0"))
        .body(body.to_string())
}

fn field(body: &Value, name: &str) -> Option<Vec<u8>> {
    body.get(name).and_then(Value::as_str).and_then(|s| BASE64.decode(s).ok())
}

fn b64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

async fn es9(
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
    state: web::Data<Mutex<MockState>>,
) -> HttpResponse {
    let function = path.into_inner();
    let Ok(body) = serde_json::from_slice::<Value>(&bytes) else {
        return HttpResponse::BadRequest().body("not JSON");
    };
    let mut state = state.lock().unwrap();
    state.requests.push(Recorded {
        function: function.clone(),
        admin_protocol: header_text(&req, "X-Admin-Protocol"),
        user_agent: header_text(&req, "User-Agent"),
        content_type: header_text(&req, "Content-Type"),
        json_header: body.get("header").is_some(),
        body: body.clone(),
    });
    if let Some((f, status)) = state.http_status_on.clone() {
        if f == function {
            let status = actix_web::http::StatusCode::from_u16(status).unwrap();
            return HttpResponse::build(status).body("mock: refused at HTTP level");
        }
    }
    if let Some((f, subject, reason, message)) = state.fail_on.clone() {
        if f == function {
            return failed(&subject, &reason, &message);
        }
    }
    let tid_ok = |state: &MockState| {
        body.get("transactionId").and_then(Value::as_str).and_then(|t| hex::decode(t).ok())
            == Some(state.sim.transaction_id.clone())
    };
    match function.as_str() {
        "initiateAuthentication" => {
            let Some(challenge) = field(&body, "euiccChallenge").and_then(|c| <[u8; 16]>::try_from(c).ok()) else {
                return failed("8.1", "2.1", "euiccChallenge missing");
            };
            if field(&body, "euiccInfo1").is_none() {
                return failed("8.1.1", "2.1", "euiccInfo1 missing");
            }
            let address = body.get("smdpAddress").and_then(Value::as_str).unwrap_or_default();
            if !address.eq_ignore_ascii_case(&state.sim.address) {
                return failed("8.8.1", "3.8", "Invalid SM-DP+ Address");
            }
            let ia = state.sim.initiate_authentication(challenge);
            respond(json!({
                "transactionId": hex::encode_upper(&state.sim.transaction_id),
                "serverSigned1": b64(&ia.server_signed1),
                "serverSignature1": b64(&ia.server_signature1),
                "euiccCiPKIdToBeUsed": b64(&ia.euicc_ci_pkid_to_be_used),
                "serverCertificate": b64(&ia.server_certificate),
            }))
        }
        "authenticateClient" => {
            if !tid_ok(&state) {
                return failed("8.10.1", "3.9", "Unknown transactionId");
            }
            let Some(asr) = field(&body, "authenticateServerResponse") else {
                return failed("8.1", "2.1", "authenticateServerResponse missing");
            };
            let Ok(AuthenticateServerResponse::AuthenticateResponseOk(ok)) = decode::<AuthenticateServerResponse>(&asr)
            else {
                return failed("8.1", "6.1", "authenticateServerResponse is not authenticateResponseOk");
            };
            #[allow(unreachable_patterns)]
            let matching = match &ok.euicc_signed1.ctx_params1 {
                CtxParams1::CtxParamsForCommonAuthentication(c) => c.matching_id.as_ref().map(|m| m.to_string()),
                _ => None,
            };
            if matching.as_deref() != Some(state.matching_id.as_str()) {
                return failed("8.2.6", "3.8", "Matching ID refused");
            }
            let cc_required = state.confirmation_code.is_some();
            let ac = state.sim.authenticate_client(&asr, cc_required);
            let profile_metadata = encode(&metadata(&state.iccid)).unwrap();
            respond(json!({
                "transactionId": hex::encode_upper(&state.sim.transaction_id),
                "profileMetadata": b64(&profile_metadata),
                "smdpSigned2": b64(&ac.smdp_signed2),
                "smdpSignature2": b64(&ac.smdp_signature2),
                "smdpCertificate": b64(&ac.smdp_certificate),
            }))
        }
        "getBoundProfilePackage" => {
            if !tid_ok(&state) {
                return failed("8.10.1", "3.9", "Unknown transactionId");
            }
            let Some(pdr) = field(&body, "prepareDownloadResponse") else {
                return failed("8.1", "2.1", "prepareDownloadResponse missing");
            };
            if !matches!(decode::<PrepareDownloadResponse>(&pdr), Ok(PrepareDownloadResponse::DownloadResponseOk(_))) {
                return failed("8.1", "6.1", "prepareDownloadResponse is not downloadResponseOk");
            }
            let (otpk, hash_cc) = state.sim.check_prepare_download(&pdr);
            if let Some(cc) = &state.confirmation_code {
                let expected = hash_confirmation_code(cc, &state.sim.transaction_id).to_vec();
                if hash_cc != Some(expected) {
                    return failed("8.2.7", "2.2", "Confirmation Code mismatch");
                }
            }
            let bpp = state.sim.bound_profile_package(&otpk, &metadata(&state.iccid), &synthetic_profile(&state.iccid));
            respond(json!({
                "transactionId": hex::encode_upper(&state.sim.transaction_id),
                "boundProfilePackage": b64(&bpp),
            }))
        }
        "handleNotification" => match field(&body, "pendingNotification") {
            Some(n) => {
                state.notifications.push(n);
                HttpResponse::NoContent().finish()
            }
            None => failed("8.1", "2.1", "pendingNotification missing"),
        },
        "cancelSession" => {
            if !tid_ok(&state) {
                return failed("8.10.1", "3.9", "Unknown transactionId");
            }
            match field(&body, "cancelSessionResponse") {
                Some(r) => {
                    state.cancel_session_responses.push(r);
                    respond(json!({}))
                }
                None => failed("8.1", "2.1", "cancelSessionResponse missing"),
            }
        }
        _ => HttpResponse::NotFound().finish(),
    }
}
