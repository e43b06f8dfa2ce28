//! Shared by the `inventory_*` tests: an `rspd serve` with two operators on the operator listener (the test PKI's
//! client certificate is operator A; a second certificate from the same operator CA is operator B), JSON calls
//! over mutual TLS, and raw reads of sealed columns.
#![allow(dead_code)]

use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use diesel::sql_types::Binary;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};
use rspd::config::DatabaseUrl;
use rspd::profile::{Iccid, Personalization, ProfilePackage};
use serde_json::Value;

use crate::es9_harness::Env;

pub const OP_A: &str = "test-operator";
pub const OP_B: &str = "operator-b";

/// `[[operator.identities]]` for both operators, by subject; A also administers the server (reads `/metrics`).
pub fn identities() -> String {
    format!(
        "\n[[operator.identities]]\noperator_id = \"{OP_A}\"\nsubject = \"O=RSPDTEST, CN=test-operator\"\nadmin = true\n\
         [[operator.identities]]\noperator_id = \"{OP_B}\"\nsubject = \"CN=operator-b\"\n"
    )
}

/// A server on `postgres` (or SQLite) that knows both operators.
pub fn start(postgres: Option<&str>) -> Env {
    Env::start_with(postgres, |_| identities())
}

/// HTTPS clients of operator A and B on the operator listener.
pub struct Operators {
    pub a: reqwest::Client,
    pub b: reqwest::Client,
    pub base: String,
}

impl Operators {
    pub fn new(env: &Env) -> Operators {
        let pki = env.pki();
        let operator = env.server.as_ref().unwrap().operator;
        let ci = std::fs::read(pki.ci_cert(rspd::pki::Curve::NistP256)).unwrap();
        let client = |identity_pem: Vec<u8>| {
            reqwest::Client::builder()
                .use_rustls_tls()
                .tls_built_in_root_certs(false)
                .add_root_certificate(reqwest::Certificate::from_pem(&ci).unwrap())
                .resolve("localhost", operator)
                .identity(reqwest::Identity::from_pem(&identity_pem).unwrap())
                .build()
                .unwrap()
        };
        let mut a = std::fs::read(pki.operator_client_cert()).unwrap();
        a.extend(std::fs::read(pki.operator_client_key()).unwrap());
        let b = operator_b_identity(&pki.operator_ca_cert(), &pki.operator_ca_key());
        Operators { a: client(a), b: client(b), base: format!("https://localhost:{}", operator.port()) }
    }

    pub async fn call(&self, client: &reqwest::Client, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut request = match method {
            "GET" => client.get(url),
            "PUT" => client.put(url),
            _ => client.post(url),
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn csv(&self, client: &reqwest::Client, path: &str, csv: &str) -> (u16, Value) {
        let r = client
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "text/csv")
            .body(csv.to_owned())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }
}

/// A client certificate `CN=operator-b` from the test PKI's operator CA (PEM certificate + key).
fn operator_b_identity(ca_cert: &Path, ca_key: &Path) -> Vec<u8> {
    let (mut pem, key) = crate::common::issue_operator_client(ca_cert, ca_key, "operator-b", None);
    pem.extend(key);
    pem
}

/// A TS.48 package personalized with `iccid` (prepared profile), DER.
pub fn prepared(template: &[u8], iccid: &str) -> Vec<u8> {
    let p = Personalization { iccid: Some(Iccid::new(iccid).unwrap()), ..Personalization::default() };
    ProfilePackage::parse(template).unwrap().personalize(&p).unwrap().to_der()
}

pub fn b64(der: &[u8]) -> String {
    B64.encode(der)
}

#[derive(QueryableByName)]
struct Blob {
    #[diesel(sql_type = Binary)]
    b: Vec<u8>,
}

/// Every value of a byte column (`SELECT <column> AS b FROM <table>`).
pub fn blobs(env: &Env, table: &str, column: &str) -> Vec<Vec<u8>> {
    let q = format!("SELECT {column} AS b FROM {table}");
    let rows: Vec<Blob> = match &env.db_url {
        DatabaseUrl::Sqlite { path } => {
            let mut c = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            diesel::sql_query(q).load(&mut c).unwrap()
        }
        DatabaseUrl::Postgres { url } => diesel::sql_query(q).load(&mut PgConnection::establish(url).unwrap()).unwrap(),
    };
    rows.into_iter().map(|r| r.b).collect()
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `items[i].status` of a report, in order.
pub fn statuses(report: &Value) -> Vec<String> {
    report["items"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap().to_owned()).collect()
}

/// The stock entry of a profile type in `GET /api/v1/stock`.
pub fn stock_of<'a>(stock: &'a Value, profile_type: &str) -> Option<&'a Value> {
    stock["stock"].as_array().unwrap().iter().find(|s| s["profileType"] == profile_type)
}
