//! Shared by the `es2_*` tests: an `rspd serve` (es9_harness) whose operator listener knows two operators —
//! `test-operator` (the test PKI's client certificate) and `operator-b` (a client certificate issued here by the
//! test PKI's operator CA) — and an ES2+ client for each (SGP.22 v2.5 §6.1 JSON binding, mutual TLS).
#![allow(dead_code)]

use std::path::Path;

use serde_json::{json, Value};

use crate::es9_harness::Env;

pub const OPERATOR_A: &str = "test-operator";
pub const OPERATOR_B: &str = "operator-b";

/// Both operators, mapped by certificate subject.
const IDENTITIES: &str =
    "[[operator.identities]]\noperator_id = \"test-operator\"\nsubject = \"CN=test-operator,O=RSPDTEST\"\n\
[[operator.identities]]\noperator_id = \"operator-b\"\nsubject = \"CN=operator-b,O=RSPDTEST\"\n";

pub struct Es2Env {
    pub env: Env,
    /// ES2+ client of `test-operator`.
    pub a: reqwest::Client,
    /// ES2+ client of `operator-b`.
    pub b: reqwest::Client,
}

impl Es2Env {
    pub fn start(postgres: Option<&str>) -> Es2Env {
        Es2Env::start_with(postgres, |_| String::new())
    }

    /// `extra(data_dir)`: more config after the `[smdp]` keys (e.g. `[operator.progress]` tables).
    pub fn start_with(postgres: Option<&str>, extra: impl Fn(&std::path::Path) -> String) -> Es2Env {
        let env = Env::start_full(postgres, extra, IDENTITIES);
        let pki = env.pki();
        let a = client(
            &env,
            &std::fs::read(pki.operator_client_cert()).unwrap(),
            &std::fs::read(pki.operator_client_key()).unwrap(),
        );
        let (cert, key) = issue_client_certificate(&pki.operator_ca_cert(), &pki.operator_ca_key(), OPERATOR_B);
        let b = client(&env, &cert, &key);
        Es2Env { env, a, b }
    }

    pub fn operator_url(&self, function: &str) -> String {
        let port = self.env.server.as_ref().unwrap().operator.port();
        format!("https://localhost:{port}/gsma/rsp2/es2plus/{function}")
    }

    /// POSTs an ES2+ function; returns the raw answer text and its JSON. Asserts HTTP 200 and the headers.
    pub async fn call_raw(&self, client: &reqwest::Client, function: &str, body: String) -> (String, Value) {
        let r = client
            .post(self.operator_url(function))
            .header("Content-Type", "application/json")
            .header("X-Admin-Protocol", "gsma/rsp/v2.5.0")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "ES2+ answers HTTP 200 even when the function fails");
        assert_eq!(r.headers()["content-type"], "application/json;charset=UTF-8");
        assert!(r.headers()["x-admin-protocol"].to_str().unwrap().starts_with("gsma/rsp/v2"));
        let text = r.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap();
        (text, value)
    }

    /// Operator A calls `function` with `body` + a header with a fresh functionCallIdentifier.
    pub async fn a(&self, function: &str, body: Value) -> Value {
        self.call(&self.a, function, body).await
    }

    pub async fn b(&self, function: &str, body: Value) -> Value {
        self.call(&self.b, function, body).await
    }

    pub async fn call(&self, client: &reqwest::Client, function: &str, mut body: Value) -> Value {
        body["header"] = header(&fresh_call_id());
        self.call_raw(client, function, body.to_string()).await.1
    }
}

/// An ES2+ request header (§6.1).
pub fn header(call_id: &str) -> Value {
    json!({ "functionRequesterIdentifier": "es2-test-backend", "functionCallIdentifier": call_id })
}

pub fn fresh_call_id() -> String {
    let mut r = [0u8; 8];
    openssl::rand::rand_bytes(&mut r).unwrap();
    format!("call-{}", hex::encode(r))
}

pub fn status(v: &Value) -> &str {
    v["header"]["functionExecutionStatus"]["status"].as_str().unwrap_or("")
}

/// `(subjectCode, reasonCode)` of a Failed answer.
pub fn codes(v: &Value) -> (String, String) {
    let s = &v["header"]["functionExecutionStatus"]["statusCodeData"];
    (s["subjectCode"].as_str().unwrap_or("").to_owned(), s["reasonCode"].as_str().unwrap_or("").to_owned())
}

pub fn assert_success(v: &Value) {
    assert_eq!(status(v), "Executed-Success", "{v}");
}

pub fn assert_failed(v: &Value, subject: &str, reason: &str) {
    assert_eq!(status(v), "Failed", "{v}");
    assert_eq!(codes(v), (subject.to_owned(), reason.to_owned()), "{v}");
}

fn client(env: &Env, cert_pem: &[u8], key_pem: &[u8]) -> reqwest::Client {
    let operator = env.server.as_ref().unwrap().operator;
    let mut pem = cert_pem.to_vec();
    pem.extend_from_slice(key_pem);
    crate::common::test_pki_client(&env.dir.data_dir(), operator)
        .identity(reqwest::Identity::from_pem(&pem).unwrap())
        .build()
        .unwrap()
}

/// A P-256 TLS client certificate `CN=<cn>, O=RSPDTEST` issued by the operator CA.
pub fn issue_client_certificate(ca_cert: &Path, ca_key: &Path, cn: &str) -> (Vec<u8>, Vec<u8>) {
    crate::common::issue_operator_client(ca_cert, ca_key, cn, Some("RSPDTEST"))
}

/// Imports TS.48 profiles with ICCID numbers `numbers` for `operator` as `profile_type`; returns the ICCIDs.
pub fn import(
    env: &Env,
    template: &[u8],
    numbers: std::ops::Range<u32>,
    operator: &str,
    profile_type: &str,
) -> Vec<String> {
    env.import_profiles_with(template, numbers, &["--operator", operator, "--profile-type", profile_type])
}

/// The state of a profile, read directly from the store.
pub fn state(env: &Env, operator: &str, iccid: &str) -> rspd::smdp::ProfileState {
    use rspd::smdp::ProfileRepository;
    env.store().find_profile(operator, iccid).unwrap().unwrap().state
}
