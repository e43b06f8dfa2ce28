//! ES9+ end to end over real HTTPS: the `rspd` binary (test PKI, SQLite or PostgreSQL), operator commands
//! `rspd profile import` / `rspd order create`, and an LPA driven here in JSON (SGP.22 v2.5 §6.5) whose ES10
//! side is the verifying soft eUICC of `rsp-conformance`. NIST and brainpool; the BPP retry; negative cases
//! with their exact status codes; two devices racing for one matchingId.
//!
//! Every case runs on SQLite and, when `RSPD_TEST_POSTGRES_URL` is set, again on PostgreSQL (a throw-away
//! schema per case).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::postgres::SchemaGuard;
use common::{ServerProcess, TestDir};
use rsp_conformance::euicc::{EuiccCredentials, SoftEuicc};
use rspd::codec::encode;
use rspd::codec::sgp22::{CtxParams1, CtxParamsForCommonAuthentication, DeviceCapabilities, DeviceInfo};
use rspd::pki::test_pki::TestPkiPaths;
use rspd::pki::Curve;
use rspd::profile::{Iccid, Personalization, ProfilePackage};
use rspd::smdp::{DownloadRepository, ProfileState};
use rspd::store::{DatabaseSettings, DatabaseUrl, Store};
use serde_json::{json, Value};

const TS48: &str = "TS48v5_SAIP2.3_NoBERTLV.der";

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

struct Env {
    dir: TestDir,
    config: PathBuf,
    _server: ServerProcess,
    /// `localhost:<port>`, the address of activation codes.
    address: String,
    client: reqwest::Client,
    db_url: DatabaseUrl,
    _schema: Option<SchemaGuard>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The backends to run on: SQLite always, PostgreSQL when configured.
fn backends() -> Vec<Option<String>> {
    let mut b = vec![None];
    if let Ok(url) = std::env::var("RSPD_TEST_POSTGRES_URL") {
        b.push(Some(url));
    }
    b
}

impl Env {
    fn start(postgres: Option<&str>) -> Env {
        Env::start_with(postgres, |_| String::new())
    }

    /// `smdp_extra(data_dir)`: more keys of the `[smdp]` table.
    fn start_with(postgres: Option<&str>, smdp_extra: impl Fn(&Path) -> String) -> Env {
        let dir = TestDir::new();
        let port = free_port();
        let address = format!("localhost:{port}");
        let schema = postgres.map(SchemaGuard::create);
        let db_url = match &schema {
            Some(s) => DatabaseUrl::Postgres { url: s.url() },
            None => DatabaseUrl::Sqlite { path: dir.data_dir().join("rspd.db") },
        };
        let db_line = match &schema {
            Some(s) => format!("[database]\nurl = \"{}\"\n", s.url()),
            None => String::new(),
        };
        let config = dir.write_config(&format!(
            "{db_line}[smdp]\naddresses = [\"{address}\"]\nexpiry_interval_secs = 1\n{}\n[device]\nlisten = \"127.0.0.1:{port}\"\n",
            smdp_extra(&dir.data_dir())
        ));
        let server = ServerProcess::start(&dir, &config, &[]);
        let ci = TestPkiPaths::new(dir.data_dir().join("pki")).ci_cert(Curve::NistP256);
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(ci).unwrap()).unwrap())
            .resolve("localhost", server.device)
            .build()
            .unwrap();
        Env { dir, config, _server: server, address, client, db_url, _schema: schema }
    }

    fn pki(&self) -> TestPkiPaths {
        TestPkiPaths::new(self.dir.data_dir().join("pki"))
    }

    fn euicc(&self, curve: Curve) -> SoftEuicc {
        SoftEuicc::new(EuiccCredentials::from_test_pki(&self.pki(), curve).unwrap())
    }

    fn rspd(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["--config", self.config.to_str().unwrap()];
        all.extend_from_slice(args);
        self.dir.run(&all, &[])
    }

    /// Imports a TS.48 profile personalized with ICCID number `n`; returns the ICCID.
    fn import_profile(&self, n: u32) -> Option<String> {
        let ts48 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/interop/ts48").join(TS48);
        let Ok(template) = std::fs::read(&ts48) else {
            eprintln!("SKIP: {} not found", ts48.display());
            return None;
        };
        let iccid = iccid(n);
        let package = ProfilePackage::parse(&template)
            .unwrap()
            .personalize(&Personalization {
                iccid: Some(Iccid::new(&iccid).unwrap()),
                imsi: None,
                ki: None,
                opc: None,
                pins: BTreeMap::new(),
                puks: BTreeMap::new(),
            })
            .unwrap();
        let file = self.dir.path().join(format!("{iccid}.der"));
        std::fs::write(&file, package.to_der()).unwrap();
        let out = self.rspd(&["profile", "import", file.to_str().unwrap(), "--spn", "rspd test"]);
        assert!(
            out.status.success(),
            "profile import ({:?}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Some(iccid)
    }

    /// `rspd order create`; returns the matchingId of the printed activation code.
    fn create_order(&self, iccid: &str, extra: &[&str]) -> String {
        let mut args = vec!["order", "create", "--profile", iccid];
        args.extend_from_slice(extra);
        let out = self.rspd(&args);
        assert!(out.status.success(), "order create: {}", String::from_utf8_lossy(&out.stderr));
        let code = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let prefix = format!("LPA:1${}$", self.address);
        assert!(code.starts_with(&prefix), "{code}");
        code[prefix.len()..].to_owned()
    }

    fn store(&self) -> Store {
        Store::open_for_command(&DatabaseSettings {
            url: self.db_url.clone(),
            pool_size: 2,
            connect_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
        })
        .unwrap()
    }

    fn order_state(&self, matching_id: &str) -> ProfileState {
        self.store().find_order_by_matching_id(matching_id).unwrap().unwrap().state
    }

    /// POST an ES9+ function as lpac does: `X-Admin-Protocol: gsma/rsp/v2.2.2`, no JSON `header`.
    async fn post(&self, function: &str, body: Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("https://{}/gsma/rsp2/es9plus/{function}", self.address))
            .header("Content-Type", "application/json")
            .header("X-Admin-Protocol", "gsma/rsp/v2.2.2")
            .header("User-Agent", "gsma-rsp-lpad")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        if status == 200 {
            assert_eq!(r.headers()["content-type"], "application/json;charset=UTF-8");
            assert!(r.headers()["x-admin-protocol"].to_str().unwrap().starts_with("gsma/rsp/v2"));
        }
        let text = r.text().await.unwrap();
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
    }
}

fn luhn(body: &str) -> u32 {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

fn iccid(n: u32) -> String {
    let body = format!("8988239000000{n:06}");
    format!("{body}{}", luhn(&body))
}

fn b64(v: &Value, field: &str) -> Vec<u8> {
    B64.decode(v[field].as_str().unwrap_or_else(|| panic!("no {field} in {v}"))).unwrap()
}

fn status(v: &Value) -> &str {
    v["header"]["functionExecutionStatus"]["status"].as_str().unwrap_or("")
}

/// `(subjectCode, reasonCode)` of a Failed response.
fn codes(v: &Value) -> (String, String) {
    assert_eq!(status(v), "Failed", "{v}");
    let d = &v["header"]["functionExecutionStatus"]["statusCodeData"];
    assert!(!d["message"].as_str().unwrap_or("").is_empty(), "a readable message: {v}");
    (d["subjectCode"].as_str().unwrap().to_owned(), d["reasonCode"].as_str().unwrap().to_owned())
}

fn ctx_params1(matching_id: &str) -> Vec<u8> {
    encode(&CtxParams1::CtxParamsForCommonAuthentication(CtxParamsForCommonAuthentication {
        matching_id: Some(matching_id.into()),
        device_info: DeviceInfo {
            tac: [0x35, 0x29, 0x06, 0x11].into(),
            device_capabilities: DeviceCapabilities::default(),
            imei: None,
        },
    }))
    .unwrap()
}

/// The LPA up to AuthenticateServer: returns (transactionId, AuthenticateServerResponse DER).
async fn initiate(env: &Env, euicc: &mut SoftEuicc, matching_id: &str) -> (String, Vec<u8>) {
    let challenge = euicc.get_euicc_challenge().unwrap();
    let info1 = euicc.get_euicc_info1().unwrap();
    let (code, ia) = env
        .post(
            "initiateAuthentication",
            json!({ "euiccChallenge": B64.encode(challenge), "euiccInfo1": B64.encode(info1), "smdpAddress": env.address }),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(status(&ia), "Executed-Success", "{ia}");
    let asr = euicc
        .authenticate_server(
            &b64(&ia, "serverSigned1"),
            &b64(&ia, "serverSignature1"),
            &b64(&ia, "euiccCiPKIdToBeUsed"),
            &b64(&ia, "serverCertificate"),
            &ctx_params1(matching_id),
            &env.address,
        )
        .unwrap();
    (ia["transactionId"].as_str().unwrap().to_owned(), asr)
}

async fn authenticate_client(env: &Env, tx: &str, asr: &[u8]) -> Value {
    env.post("authenticateClient", json!({ "transactionId": tx, "authenticateServerResponse": B64.encode(asr) }))
        .await
        .1
}

/// AuthenticateClient (must succeed) → PrepareDownload → the PrepareDownloadResponse DER.
async fn prepare(env: &Env, euicc: &mut SoftEuicc, tx: &str, asr: &[u8], cc: Option<&str>) -> Vec<u8> {
    let ac = authenticate_client(env, tx, asr).await;
    assert_eq!(status(&ac), "Executed-Success", "{ac}");
    assert_eq!(ac["transactionId"], tx);
    euicc
        .prepare_download(&b64(&ac, "smdpSigned2"), &b64(&ac, "smdpSignature2"), &b64(&ac, "smdpCertificate"), cc)
        .unwrap()
}

async fn get_bpp(env: &Env, tx: &str, pdr: &[u8]) -> Value {
    env.post("getBoundProfilePackage", json!({ "transactionId": tx, "prepareDownloadResponse": B64.encode(pdr) }))
        .await
        .1
}

async fn wait_for_state(env: &Env, matching_id: &str, want: ProfileState) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let state = env.order_state(matching_id);
        if state == want {
            return;
        }
        assert!(Instant::now() < deadline, "order {matching_id} stayed {state}, expected {want}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// A whole download on `curve`: the profile ends installed on the eUICC and Installed at the SM-DP+; a
/// retried GetBoundProfilePackage returns the same BPP.
async fn full_download(curve: Curve, postgres: Option<&str>) {
    let env = Env::start(postgres);
    let Some(iccid) = env.import_profile(1) else { return };
    let matching_id = env.create_order(&iccid, &[]);
    assert_eq!(env.order_state(&matching_id), ProfileState::Released);

    let mut euicc = env.euicc(curve);
    let (tx, asr) = initiate(&env, &mut euicc, &matching_id).await;
    let pdr = prepare(&env, &mut euicc, &tx, &asr, None).await;
    let first = get_bpp(&env, &tx, &pdr).await;
    assert_eq!(status(&first), "Executed-Success", "{first}");
    assert_eq!(env.order_state(&matching_id), ProfileState::Downloaded);
    // The LPA retries (lost answer): same otPK.EUICC → byte-identical BPP, never a second binding.
    let retry = get_bpp(&env, &tx, &pdr).await;
    assert_eq!(retry["boundProfilePackage"], first["boundProfilePackage"]);

    let installation = euicc.load_bound_profile_package(&b64(&first, "boundProfilePackage")).unwrap();
    assert_eq!(installation.result.as_deref().ok(), Some(iccid.as_str()), "{:?}", installation.result);
    let pending = euicc.pending_notification_der(installation.seq_number).unwrap().to_vec();
    let (code, body) = env.post("handleNotification", json!({ "pendingNotification": B64.encode(&pending) })).await;
    assert_eq!((code, body), (204, Value::Null));
    wait_for_state(&env, &matching_id, ProfileState::Installed).await;

    // A repeated notification changes nothing.
    let (code, _) = env.post("handleNotification", json!({ "pendingNotification": B64.encode(&pending) })).await;
    assert_eq!(code, 204);
    // The finished session is gone for the LPA.
    assert_eq!(codes(&get_bpp(&env, &tx, &pdr).await), ("8.10.1".into(), "3.9".into()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.order_state(&matching_id), ProfileState::Installed);
}

#[tokio::test]
async fn nist_download_end_to_end() {
    for pg in backends() {
        full_download(Curve::NistP256, pg.as_deref()).await;
    }
}

#[tokio::test]
async fn brainpool_download_end_to_end() {
    for pg in backends() {
        full_download(Curve::BrainpoolP256r1, pg.as_deref()).await;
    }
}

#[tokio::test]
async fn negative_cases_have_their_status_codes() {
    for pg in backends() {
        let env = Env::start(pg.as_deref());
        let Some(iccid) = env.import_profile(2) else { return };
        let matching_id = env.create_order(&iccid, &[]);
        let mut euicc = env.euicc(Curve::NistP256);

        // Wrong SM-DP+ address (port is significant).
        let challenge = euicc.get_euicc_challenge().unwrap();
        let info1 = B64.encode(euicc.get_euicc_info1().unwrap());
        let (_, r) = env
            .post(
                "initiateAuthentication",
                json!({ "euiccChallenge": B64.encode(challenge), "euiccInfo1": info1, "smdpAddress": "localhost:1" }),
            )
            .await;
        assert_eq!(codes(&r), ("8.8.1".into(), "3.8".into()));
        // Host case does not matter.
        let (_, r) = env
            .post(
                "initiateAuthentication",
                json!({ "euiccChallenge": B64.encode(challenge), "euiccInfo1": info1,
                        "smdpAddress": env.address.to_uppercase() }),
            )
            .await;
        assert_eq!(status(&r), "Executed-Success", "{r}");

        // Unknown transactionId.
        let r = authenticate_client(&env, "00112233445566778899AABBCCDDEEFF", b"\x30\x00").await;
        assert_eq!(codes(&r), ("8.10.1".into(), "3.9".into()));

        // Garbage base64 / JSON: Failed, never a 500.
        let (code, r) =
            env.post("authenticateClient", json!({ "transactionId": "00", "authenticateServerResponse": "%%%" })).await;
        assert_eq!(code, 200);
        assert_eq!(codes(&r).1, "2.1");
        let (code, r) = env.post("getBoundProfilePackage", json!("not an object")).await;
        assert_eq!(code, 200);
        assert_eq!(status(&r), "Failed");

        // Truncated and garbage payloads at every function: a Failed status, never a 500.
        for function in [
            "initiateAuthentication",
            "authenticateClient",
            "getBoundProfilePackage",
            "handleNotification",
            "cancelSession",
        ] {
            for body in [
                json!({ "transactionId": "AABB", "euiccChallenge": "AAAA", "euiccInfo1": "vyA=", "smdpAddress": env.address,
                        "authenticateServerResponse": "vzg=", "prepareDownloadResponse": "vyE=",
                        "pendingNotification": "!!", "cancelSessionResponse": "v0E=" }),
                json!([1, 2, 3]),
            ] {
                let (code, r) = env.post(function, body).await;
                assert_eq!(code, 200, "{function}: {r}");
                assert_eq!(status(&r), "Failed", "{function}: {r}");
            }
        }

        // Bad euiccSignature1: flip one bit of the signature value; the session is then used up.
        let (tx, mut asr) = initiate(&env, &mut euicc, &matching_id).await;
        let at = asr.windows(3).position(|w| w == [0x5F, 0x37, 0x40]).unwrap() + 3;
        asr[at] ^= 1;
        assert_eq!(codes(&authenticate_client(&env, &tx, &asr).await), ("8.1".into(), "6.1".into()));
        asr[at] ^= 1;
        assert_eq!(codes(&authenticate_client(&env, &tx, &asr).await), ("8.10.1".into(), "3.9".into()));

        // Unknown matchingId.
        let (tx, asr) = initiate(&env, &mut euicc, "NO-SUCH-ORDER").await;
        assert_eq!(codes(&authenticate_client(&env, &tx, &asr).await), ("8.2.6".into(), "3.8".into()));

        // An order bound to another EID: "EID doesn't match".
        let other_body = "890490320000000000000000000001";
        let other_eid = format!("{other_body}{}", rspd::pki::eid::check_digits(other_body).unwrap());
        let iccid3 = env.import_profile(3).unwrap();
        let bound = env.create_order(&iccid3, &["--eid", &other_eid]);
        let (tx, asr) = initiate(&env, &mut euicc, &bound).await;
        let r = authenticate_client(&env, &tx, &asr).await;
        assert_eq!(codes(&r), ("8.1.1".into(), "3.8".into()));
        assert!(r.to_string().contains("EID doesn't match"), "{r}");

        // Confirmation code: wrong, then right.
        let iccid4 = env.import_profile(4).unwrap();
        let with_cc = env.create_order(&iccid4, &["--confirmation-code", "1234"]);
        let (tx, asr) = initiate(&env, &mut euicc, &with_cc).await;
        let pdr = prepare(&env, &mut euicc, &tx, &asr, Some("9999")).await;
        assert_eq!(codes(&get_bpp(&env, &tx, &pdr).await), ("8.2.7".into(), "3.8".into()));
        let mut euicc = env.euicc(Curve::NistP256);
        let (tx, asr) = initiate(&env, &mut euicc, &with_cc).await;
        let pdr = prepare(&env, &mut euicc, &tx, &asr, Some("1234")).await;
        assert_eq!(status(&get_bpp(&env, &tx, &pdr).await), "Executed-Success");
        assert_eq!(env.order_state(&with_cc), ProfileState::Downloaded);

        // The first order was never downloaded and is still offered.
        assert_eq!(env.order_state(&matching_id), ProfileState::Released);
        drop(env);
    }
}

/// Two different eUICCs (the SGP.26 NIST eUICC and the test PKI's brainpool one: two EIDs) race for one
/// matchingId: exactly one gets it.
#[tokio::test]
async fn two_devices_racing_for_one_matching_id_one_wins() {
    let sgp26 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/interop/sgp26");
    if !sgp26.join("CertificateIssuer").is_dir() {
        eprintln!("SKIP: SGP.26 certificates not found at {}", sgp26.display());
        return;
    }
    let g = sgp26.display().to_string();
    for pg in backends() {
        // NIST: the SGP.26 DPauth/DPpb and CI; brainpool: the test PKI's.
        let env = Env::start_with(pg.as_deref(), |data| {
            format!(
                "trusted_ci = [\"{g}/CertificateIssuer/CERT_CI_ECDSA_NIST.der\", \"{}\"]\n\
                 nist = {{ dpauth_cert = \"{g}/DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der\", \
                 dpauth_key = \"{g}/DPauth/SK_S_SM_DPauth_ECDSA_NIST.pem\", \
                 dppb_cert = \"{g}/DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der\", \
                 dppb_key = \"{g}/DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem\" }}",
                TestPkiPaths::new(data.join("pki")).ci_cert(Curve::BrainpoolP256r1).display()
            )
        });
        let Some(iccid) = env.import_profile(5) else { return };
        let matching_id = env.create_order(&iccid, &[]);
        let mut a = SoftEuicc::new(EuiccCredentials::from_sgp26_dir(&sgp26, Curve::NistP256).unwrap());
        let mut b = env.euicc(Curve::BrainpoolP256r1);
        assert_ne!(a.eid(), b.eid());
        let (tx_a, asr_a) = initiate(&env, &mut a, &matching_id).await;
        let (tx_b, asr_b) = initiate(&env, &mut b, &matching_id).await;
        let (ra, rb) = tokio::join!(authenticate_client(&env, &tx_a, &asr_a), authenticate_client(&env, &tx_b, &asr_b));
        let wins = [&ra, &rb].iter().filter(|r| status(r) == "Executed-Success").count();
        assert_eq!(wins, 1, "exactly one winner:\n{ra}\n{rb}");
        let loser = if status(&ra) == "Executed-Success" { &rb } else { &ra };
        assert_eq!(codes(loser), ("8.2".into(), "1.2".into()));
    }
}

/// An LPA that lost its session starts over at once; a second otPK for a bound profile is refused;
/// cancelSession before the BPP re-offers the order.
#[tokio::test]
async fn restart_other_otpk_and_cancel_session() {
    for pg in backends() {
        let env = Env::start(pg.as_deref());
        let Some(iccid) = env.import_profile(6) else { return };
        let matching_id = env.create_order(&iccid, &[]);
        let mut euicc = env.euicc(Curve::NistP256);

        // Session 1 gets as far as AuthenticateClient, then the LPA loses it.
        let (tx1, asr1) = initiate(&env, &mut euicc, &matching_id).await;
        let _ = prepare(&env, &mut euicc, &tx1, &asr1, None).await;
        // Session 2 of the same eUICC takes the order over.
        let (tx2, asr2) = initiate(&env, &mut euicc, &matching_id).await;
        let ac = authenticate_client(&env, &tx2, &asr2).await;
        assert_eq!(status(&ac), "Executed-Success", "{ac}");
        let fields = (b64(&ac, "smdpSigned2"), b64(&ac, "smdpSignature2"), b64(&ac, "smdpCertificate"));
        let pdr = euicc.prepare_download(&fields.0, &fields.1, &fields.2, None).unwrap();
        assert_eq!(status(&get_bpp(&env, &tx2, &pdr).await), "Executed-Success");
        // The abandoned session is over.
        assert_eq!(codes(&get_bpp(&env, &tx1, &pdr).await), ("8.10.1".into(), "3.9".into()));
        // A second PrepareDownload (new otPK.EUICC) for the same transaction: never a second binding.
        if let Ok(pdr2) = euicc.prepare_download(&fields.0, &fields.1, &fields.2, None) {
            assert_ne!(pdr2, pdr);
            assert_eq!(codes(&get_bpp(&env, &tx2, &pdr2).await), ("8.2".into(), "3.7".into()));
        }

        // cancelSession (postponed) after AuthenticateClient: the order is offered again.
        let iccid7 = env.import_profile(7).unwrap();
        let second = env.create_order(&iccid7, &[]);
        let mut euicc = env.euicc(Curve::BrainpoolP256r1);
        let (tx, asr) = initiate(&env, &mut euicc, &second).await;
        let _ = prepare(&env, &mut euicc, &tx, &asr, None).await;
        let csr = euicc.cancel_session(&hex::decode(&tx).unwrap(), 1).unwrap();
        let (_, r) =
            env.post("cancelSession", json!({ "transactionId": tx, "cancelSessionResponse": B64.encode(&csr) })).await;
        assert_eq!(status(&r), "Executed-Success", "{r}");
        let order = env.store().find_order_by_matching_id(&second).unwrap().unwrap();
        assert_eq!((order.state, order.session_id), (ProfileState::Released, None));
        let (_, r) =
            env.post("cancelSession", json!({ "transactionId": tx, "cancelSessionResponse": B64.encode(&csr) })).await;
        assert_eq!(codes(&r), ("8.10.1".into(), "3.9".into()));
        // And it downloads afterwards.
        let mut euicc = env.euicc(Curve::NistP256);
        let (tx, asr) = initiate(&env, &mut euicc, &second).await;
        let pdr = prepare(&env, &mut euicc, &tx, &asr, None).await;
        assert_eq!(status(&get_bpp(&env, &tx, &pdr).await), "Executed-Success");
    }
}
