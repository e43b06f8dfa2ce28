//! Shared by `es9_download.rs`, `es9_negative.rs` and `es9_crash.rs`: the real `rspd serve` binary on SQLite or PostgreSQL, an
//! LPA driven here in JSON (SGP.22 v2.5 §6.5) whose ES10 side is the soft eUICC of `rsp-conformance`, direct
//! database access for what a test must arrange (session expiry) and crafted eUICC/EUM certificates (another
//! EID, a past validity) re-signed with the test PKI's own CI/EUM keys.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use rsp_conformance::euicc::{EuiccCredentials, SoftEuicc};
use rspd::codec::encode;
use rspd::codec::sgp22::{CtxParams1, CtxParamsForCommonAuthentication, DeviceCapabilities, DeviceInfo};
use rspd::codec::tlv::{self, Tag};
use rspd::config::DatabaseUrl;
use rspd::pki::test_pki::TestPkiPaths;
use rspd::pki::Curve;
use rspd::profile::{Iccid, Personalization, ProfilePackage};
use rspd::smdp::{DownloadRepository, OrderRecord, ProfileState};
use rspd::store::Store;
use serde_json::{json, Value};

use crate::common::postgres::SchemaGuard;
use crate::common::{database, open_store, test_pki_client, ServerProcess, TestDir};

pub const TS48: &str = "TS48v5_SAIP2.3_NoBERTLV.der";
pub const ADMIN_PROTOCOL: &str = "gsma/rsp/v2.2.2";

pub use crate::common::{backends, free_port};

pub fn backend_name(pg: &Option<String>) -> &'static str {
    if pg.is_some() {
        "postgres"
    } else {
        "sqlite"
    }
}

/// The TS.48 template of `shared/interop/ts48`, or None (the test skips).
pub fn ts48_template() -> Option<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/interop/ts48").join(TS48);
    match std::fs::read(&path) {
        Ok(t) => Some(t),
        Err(_) => {
            eprintln!("SKIP: {} not found", path.display());
            None
        }
    }
}

/// One `rspd serve` with its data dir (and PostgreSQL schema), restartable on the same data.
pub struct Env {
    pub dir: TestDir,
    pub config: PathBuf,
    pub server: Option<ServerProcess>,
    /// `localhost:<port>`, the address of activation codes.
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub db_url: DatabaseUrl,
    _schema: Option<SchemaGuard>,
}

impl Env {
    pub fn start(postgres: Option<&str>) -> Env {
        Env::start_with(postgres, |_| String::new())
    }

    /// `smdp_extra(data_dir)`: more keys of the `[smdp]` table.
    pub fn start_with(postgres: Option<&str>, smdp_extra: impl Fn(&Path) -> String) -> Env {
        Env::start_full(postgres, smdp_extra, "")
    }

    /// As [`Env::start_with`], with `extra` TOML appended to the config (e.g. `[[operator.identities]]`).
    pub fn start_full(postgres: Option<&str>, smdp_extra: impl Fn(&Path) -> String, extra: &str) -> Env {
        let dir = TestDir::new();
        let port = free_port();
        let address = format!("localhost:{port}");
        let schema = postgres.map(SchemaGuard::create);
        let (db_url, db_line) = database(&dir, schema.as_ref());
        let config = dir.write_config(&format!(
            "{db_line}[smdp]\naddresses = [\"{address}\"]\nexpiry_interval_secs = 1\n{}\n[device]\nlisten = \"127.0.0.1:{port}\"\n{extra}",
            smdp_extra(&dir.data_dir())
        ));
        let server = ServerProcess::start(&dir, &config, &[]);
        let client = test_pki_client(&dir.data_dir(), server.device)
            // No pooled connection outlives a killed server.
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        Env { dir, config, server: Some(server), address, port, client, db_url, _schema: schema }
    }

    /// SIGKILL the server (no shutdown hook runs).
    pub fn kill_9(&mut self) {
        if let Some(server) = self.server.take() {
            server.kill_9();
        }
    }

    /// Starts `rspd serve` again on the same config, data dir and database.
    pub fn restart(&mut self) {
        assert!(self.server.is_none(), "kill the server first");
        self.server = Some(ServerProcess::start(&self.dir, &self.config, &[]));
    }

    pub fn pki(&self) -> TestPkiPaths {
        TestPkiPaths::new(self.dir.data_dir().join("pki"))
    }

    pub fn credentials(&self, curve: Curve) -> EuiccCredentials {
        EuiccCredentials::from_test_pki(&self.pki(), curve).unwrap()
    }

    pub fn euicc(&self, curve: Curve) -> SoftEuicc {
        SoftEuicc::new(self.credentials(curve))
    }

    pub fn rspd(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["--config", self.config.to_str().unwrap()];
        all.extend_from_slice(args);
        self.dir.run(&all, &[])
    }

    /// Imports TS.48 profiles personalized with ICCID numbers `numbers`, in one `rspd profile import`.
    pub fn import_profiles(&self, template: &[u8], numbers: std::ops::Range<u32>) -> Vec<String> {
        self.import_profiles_with(template, numbers, &["--spn", "rspd test"])
    }

    /// Like [`Env::import_profiles`], with `extra` arguments for `rspd profile import` (operator, type, …).
    pub fn import_profiles_with(&self, template: &[u8], numbers: std::ops::Range<u32>, extra: &[&str]) -> Vec<String> {
        let base = ProfilePackage::parse(template).unwrap();
        let mut files = Vec::new();
        let mut iccids = Vec::new();
        for n in numbers {
            let iccid = iccid(n);
            let package = base
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
            files.push(file.to_str().unwrap().to_owned());
            iccids.push(iccid);
        }
        let mut args = vec!["profile", "import"];
        args.extend(files.iter().map(String::as_str));
        args.extend(extra);
        let out = self.rspd(&args);
        assert!(
            out.status.success(),
            "profile import ({:?}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        iccids
    }

    /// Imports a TS.48 profile personalized with ICCID number `n`; returns the ICCID, or None (the test skips)
    /// without the TS.48 template.
    pub fn import_profile(&self, n: u32) -> Option<String> {
        let template = ts48_template()?;
        Some(self.import_profiles(&template, n..n + 1).remove(0))
    }

    /// `rspd order create`; returns the matchingId of the printed activation code.
    pub fn create_order(&self, iccid: &str, extra: &[&str]) -> String {
        let mut args = vec!["order", "create", "--profile", iccid];
        args.extend_from_slice(extra);
        let out = self.rspd(&args);
        assert!(out.status.success(), "order create: {}", String::from_utf8_lossy(&out.stderr));
        let code = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let prefix = format!("LPA:1${}$", self.address);
        assert!(code.starts_with(&prefix), "{code}");
        code[prefix.len()..].to_owned()
    }

    pub fn store(&self) -> Store {
        open_store(&self.db_url, &self.dir.data_dir())
    }

    pub fn order(&self, matching_id: &str) -> OrderRecord {
        self.store().find_order_by_matching_id(matching_id).unwrap().unwrap()
    }

    pub fn order_state(&self, matching_id: &str) -> ProfileState {
        self.order(matching_id).state
    }

    /// One SQL statement on the server's database (what a test arranges that no API offers).
    pub fn sql(&self, statement: &str) -> usize {
        match &self.db_url {
            DatabaseUrl::Sqlite { path } => {
                let mut c = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
                diesel::sql_query("PRAGMA busy_timeout = 5000").execute(&mut c).unwrap();
                diesel::sql_query(statement).execute(&mut c).unwrap()
            }
            DatabaseUrl::Postgres { url } => {
                diesel::sql_query(statement).execute(&mut PgConnection::establish(url).unwrap()).unwrap()
            }
        }
    }

    /// Moves a session's expiry into the past, as if its timeout had run out.
    pub fn expire_session(&self, tx: &str) {
        let n = self.sql(&format!("UPDATE download_sessions SET expires_at = 1 WHERE transaction_id = '{tx}'"));
        assert_eq!(n, 1, "session {tx}");
    }

    pub fn url(&self, function: &str) -> String {
        format!("https://{}/gsma/rsp2/es9plus/{function}", self.address)
    }

    /// POST an ES9+ function as lpac does: `X-Admin-Protocol: gsma/rsp/v2.2.2`, no JSON `header`.
    pub async fn post(&self, function: &str, body: Value) -> (u16, Value) {
        self.post_raw(function, body.to_string(), Some("application/json"), Some(ADMIN_PROTOCOL)).await
    }

    /// POST any body with the given Content-Type and X-Admin-Protocol (None: header absent).
    pub async fn post_raw(
        &self,
        function: &str,
        body: String,
        content_type: Option<&str>,
        admin_protocol: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self.client.post(self.url(function)).header("User-Agent", "gsma-rsp-lpad").body(body);
        if let Some(ct) = content_type {
            request = request.header("Content-Type", ct);
        }
        if let Some(ap) = admin_protocol {
            request = request.header("X-Admin-Protocol", ap);
        }
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        if status == 200 {
            assert_eq!(r.headers()["content-type"], "application/json;charset=UTF-8");
            assert!(r.headers()["x-admin-protocol"].to_str().unwrap().starts_with("gsma/rsp/v2"));
        }
        let text = r.text().await.unwrap();
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
    }
}

pub fn iccid(n: u32) -> String {
    crate::common::iccid("8988239000001", n)
}

pub fn b64(v: &Value, field: &str) -> Vec<u8> {
    B64.decode(v[field].as_str().unwrap_or_else(|| panic!("no {field} in {v}"))).unwrap()
}

pub fn status(v: &Value) -> &str {
    v["header"]["functionExecutionStatus"]["status"].as_str().unwrap_or("")
}

/// `(subjectCode, reasonCode)` of a Failed response (with a readable message).
pub fn codes(v: &Value) -> (String, String) {
    assert_eq!(status(v), "Failed", "{v}");
    let d = &v["header"]["functionExecutionStatus"]["statusCodeData"];
    assert!(!d["message"].as_str().unwrap_or("").is_empty(), "a readable message: {v}");
    (d["subjectCode"].as_str().unwrap().to_owned(), d["reasonCode"].as_str().unwrap().to_owned())
}

/// What a response says, as one comparable string: `Executed-Success`, `Failed s/r`, `HTTP n`.
pub fn outcome(code: u16, v: &Value) -> String {
    if code != 200 {
        return format!("HTTP {code}");
    }
    match status(v) {
        "Failed" => {
            let d = &v["header"]["functionExecutionStatus"]["statusCodeData"];
            assert!(!d["message"].as_str().unwrap_or("").is_empty(), "a readable message: {v}");
            format!("Failed {}/{}", d["subjectCode"].as_str().unwrap_or("?"), d["reasonCode"].as_str().unwrap_or("?"))
        }
        other => other.to_owned(),
    }
}

pub fn ctx_params1(matching_id: &str) -> Vec<u8> {
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

/// InitiateAuthentication's request body for this eUICC.
pub fn initiate_body(euicc: &mut SoftEuicc, address: &str) -> Value {
    let challenge = euicc.get_euicc_challenge().unwrap();
    let info1 = euicc.get_euicc_info1().unwrap();
    json!({ "euiccChallenge": B64.encode(challenge), "euiccInfo1": B64.encode(info1), "smdpAddress": address })
}

/// The LPA up to AuthenticateServer: returns (transactionId, AuthenticateServerResponse DER).
pub async fn initiate(env: &Env, euicc: &mut SoftEuicc, matching_id: &str) -> (String, Vec<u8>) {
    let (code, ia) = env.post("initiateAuthentication", initiate_body(euicc, &env.address)).await;
    assert_eq!((code, status(&ia)), (200, "Executed-Success"), "{ia}");
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

pub async fn authenticate_client(env: &Env, tx: &str, asr: &[u8]) -> (u16, Value) {
    env.post("authenticateClient", json!({ "transactionId": tx, "authenticateServerResponse": B64.encode(asr) })).await
}

/// AuthenticateClient's answer body, whatever its HTTP status.
pub async fn authenticate_client_body(env: &Env, tx: &str, asr: &[u8]) -> Value {
    authenticate_client(env, tx, asr).await.1
}

/// PrepareDownload on an AuthenticateClient answer → the PrepareDownloadResponse DER.
pub fn prepare_with(euicc: &mut SoftEuicc, ac: &Value, cc: Option<&str>) -> Vec<u8> {
    euicc
        .prepare_download(&b64(ac, "smdpSigned2"), &b64(ac, "smdpSignature2"), &b64(ac, "smdpCertificate"), cc)
        .unwrap()
}

/// AuthenticateClient (must succeed) → PrepareDownload → the PrepareDownloadResponse DER.
pub async fn prepare(env: &Env, euicc: &mut SoftEuicc, tx: &str, asr: &[u8], cc: Option<&str>) -> Vec<u8> {
    let (_, ac) = authenticate_client(env, tx, asr).await;
    assert_eq!(status(&ac), "Executed-Success", "{ac}");
    assert_eq!(ac["transactionId"], tx);
    prepare_with(euicc, &ac, cc)
}

pub async fn get_bpp(env: &Env, tx: &str, pdr: &[u8]) -> (u16, Value) {
    env.post("getBoundProfilePackage", json!({ "transactionId": tx, "prepareDownloadResponse": B64.encode(pdr) })).await
}

/// GetBoundProfilePackage's answer body, whatever its HTTP status.
pub async fn get_bpp_body(env: &Env, tx: &str, pdr: &[u8]) -> Value {
    get_bpp(env, tx, pdr).await.1
}

pub async fn handle_notification(env: &Env, pending: &[u8]) -> (u16, Value) {
    env.post("handleNotification", json!({ "pendingNotification": B64.encode(pending) })).await
}

pub async fn cancel(env: &Env, tx: &str, csr: &[u8]) -> (u16, Value) {
    env.post("cancelSession", json!({ "transactionId": tx, "cancelSessionResponse": B64.encode(csr) })).await
}

/// Polls the order until it is in `want` (deadline 15 s).
pub async fn wait_for_state(env: &Env, matching_id: &str, want: ProfileState) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let state = env.order_state(matching_id);
        if state == want {
            return;
        }
        assert!(Instant::now() < deadline, "order {matching_id} stayed {state}, expected {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---- crafted certificates ----

pub fn private_key(pem_path: &Path) -> PKey<Private> {
    PKey::private_key_from_pem(&std::fs::read(pem_path).unwrap()).unwrap()
}

/// Rebuilds the certificate `der` with its TBSCertificate elements edited by `edit` (version, serial, signature,
/// issuer, validity, subject, spki, extensions) and signs it with `issuer_key` (ECDSA-SHA256).
pub fn resign(der: &[u8], issuer_key: &PKey<Private>, edit: impl FnOnce(&mut Vec<Vec<u8>>)) -> Vec<u8> {
    let cert = tlv::parse_single(der).unwrap();
    let parts = cert.children().unwrap();
    let mut tbs: Vec<Vec<u8>> = parts[0].children().unwrap().iter().map(|t| t.raw().to_vec()).collect();
    edit(&mut tbs);
    let tbs = tlv::encode_constructed(Tag(0x30), tbs.iter().map(Vec::as_slice));
    let mut signer = Signer::new(MessageDigest::sha256(), issuer_key).unwrap();
    let mut signature = vec![0u8];
    signature.extend(signer.sign_oneshot_to_vec(&tbs).unwrap());
    let signature = tlv::encode(Tag(0x03), &signature);
    tlv::encode_constructed(Tag(0x30), [tbs.as_slice(), parts[1].raw(), signature.as_slice()])
}

/// Index of `validity` among the TBSCertificate elements (after [0] version, serial, signature, issuer).
pub const TBS_VALIDITY: usize = 4;
pub const TBS_SUBJECT: usize = 5;

/// A validity that ended in 2001.
pub fn past_validity() -> Vec<u8> {
    let not_before = tlv::encode(Tag(0x17), b"000101000000Z");
    let not_after = tlv::encode(Tag(0x17), b"010101000000Z");
    tlv::encode_constructed(Tag(0x30), [not_before.as_slice(), not_after.as_slice()])
}

/// A 32-digit EID with check digits from a 30-digit body.
pub fn eid_from_body(body: &str) -> String {
    format!("{body}{}", rspd::pki::eid::check_digits(body).unwrap())
}

/// The test PKI's eUICC of `curve` with another EID (same key), its certificate re-signed by the test EUM.
pub fn euicc_with_eid(pki: &TestPkiPaths, curve: Curve, eid: &str) -> EuiccCredentials {
    let mut creds = EuiccCredentials::from_test_pki(pki, curve).unwrap();
    let old = creds.eid.clone();
    assert_eq!(old.len(), eid.len());
    creds.euicc_cert_der = resign(&creds.euicc_cert_der, &private_key(&pki.eum_key(curve)), |tbs| {
        let subject = &mut tbs[TBS_SUBJECT];
        let at = subject.windows(old.len()).position(|w| w == old.as_bytes()).expect("EID in subject");
        subject[at..at + old.len()].copy_from_slice(eid.as_bytes());
    });
    creds.eid = eid.to_owned();
    creds
}

/// The test PKI's eUICC of `curve` whose eUICC certificate (or, `eum`, EUM certificate) expired in 2001.
pub fn euicc_with_expired(pki: &TestPkiPaths, curve: Curve, eum: bool) -> EuiccCredentials {
    let mut creds = EuiccCredentials::from_test_pki(pki, curve).unwrap();
    let set_past = |tbs: &mut Vec<Vec<u8>>| tbs[TBS_VALIDITY] = past_validity();
    if eum {
        creds.eum_cert_der = resign(&creds.eum_cert_der, &private_key(&pki.ci_key(curve)), set_past);
    } else {
        creds.euicc_cert_der = resign(&creds.euicc_cert_der, &private_key(&pki.eum_key(curve)), set_past);
    }
    creds
}

/// A PrepareDownloadResponse as a misbehaving eUICC could send it: a fresh otPK.EUICC.ECKA and `hash_cc` as
/// given (None: no hashCc although a code is required), correctly signed with the eUICC key.
pub fn crafted_pdr(creds: &EuiccCredentials, tx: &str, smdp_signature2: &[u8], hash_cc: Option<[u8; 32]>) -> Vec<u8> {
    use openssl::bn::BigNumContext;
    use openssl::ec::{EcGroup, EcKey, PointConversionForm};
    use rasn::types::{FixedOctetString, OctetString};
    use rspd::codec::sgp22::{
        EuiccSigned2, Otpk, PrepareDownloadResponse, PrepareDownloadResponseOk, Signature, TransactionId,
    };
    let group = EcGroup::from_curve_name(creds.curve.nid()).unwrap();
    let otsk = EcKey::generate(&group).unwrap();
    let otpk = otsk
        .public_key()
        .to_bytes(&group, PointConversionForm::UNCOMPRESSED, &mut BigNumContext::new().unwrap())
        .unwrap();
    let signed2 = EuiccSigned2 {
        transaction_id: TransactionId(OctetString::from(hex::decode(tx).unwrap())),
        euicc_otpk: Otpk(OctetString::from(otpk)),
        hash_cc: hash_cc.map(FixedOctetString::from),
    };
    let mut to_sign = encode(&signed2).unwrap();
    to_sign.extend_from_slice(smdp_signature2);
    let signature = rspd::pki::ecdsa::sign(&creds.euicc_key, &to_sign).unwrap();
    encode(&PrepareDownloadResponse::DownloadResponseOk(PrepareDownloadResponseOk {
        euicc_signed2: signed2,
        euicc_signature2: Signature(OctetString::from(signature.0.to_vec())),
    }))
    .unwrap()
}

/// Flips one bit in the first `5F37 40` signature value of `der`.
pub fn flip_signature(der: &[u8]) -> Vec<u8> {
    let mut out = der.to_vec();
    let at = out.windows(3).position(|w| w == [0x5F, 0x37, 0x40]).expect("a 5F3740 signature") + 3;
    out[at] ^= 1;
    out
}

/// An AuthenticateServerResponse whose euiccSigned1 carries another serverChallenge, correctly re-signed with
/// the eUICC key: a replayed or forged challenge that only the SM-DP+'s session state can catch.
pub fn asr_with_other_challenge(asr: &[u8], creds: &EuiccCredentials) -> Vec<u8> {
    let top = tlv::parse_single(asr).unwrap();
    let ok = top.child(Tag(0xA0)).unwrap().expect("authenticateResponseOk");
    let children = ok.children().unwrap();
    let signed1 = &children[0];
    let challenge = signed1.child(Tag(0x84)).unwrap().expect("serverChallenge").value().to_vec();
    let mut new_signed1 = signed1.raw().to_vec();
    let at = new_signed1.windows(challenge.len()).position(|w| w == challenge.as_slice()).unwrap();
    for b in &mut new_signed1[at..at + challenge.len()] {
        *b ^= 0x5A;
    }
    let signature = rspd::pki::ecdsa::sign(&creds.euicc_key, &new_signed1).unwrap();
    let mut out = asr.to_vec();
    let start = out.windows(signed1.raw().len()).position(|w| w == signed1.raw()).unwrap();
    out[start..start + new_signed1.len()].copy_from_slice(&new_signed1);
    let sig_at = out.windows(3).position(|w| w == [0x5F, 0x37, 0x40]).unwrap() + 3;
    out[sig_at..sig_at + 64].copy_from_slice(&signature.0);
    out
}
