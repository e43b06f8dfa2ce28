//! Black-box tests of `rspd serve` and the other commands: the real binary, free loopback
//! ports, a temporary data dir. Covers the foundation's acceptance: embedded default start with
//! a generated test PKI, server TLS on the device listener, mutual TLS with operator identity on
//! the operator listener, probes and metrics, and one-line start-up failures with exit codes.

use std::net::SocketAddr;
use std::path::Path;

use crate::common::{stderr_line, ServerProcess, TestDir};

fn client(ci_pem: &Path, identity: Option<(&Path, &Path)>, resolve: SocketAddr) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(ci_pem).unwrap()).unwrap())
        .resolve("localhost", resolve);
    if let Some((cert, key)) = identity {
        let mut pem = std::fs::read(cert).unwrap();
        pem.extend(std::fs::read(key).unwrap());
        builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
    }
    builder.build().unwrap()
}

fn pki(dir: &TestDir) -> rspd::pki::test_pki::TestPkiPaths {
    rspd::pki::test_pki::TestPkiPaths::new(dir.data_dir().join("pki"))
}

#[tokio::test]
async fn default_start_generates_test_pki_and_serves_both_listeners() {
    let dir = TestDir::new();
    let config = dir.write_config("");
    let server = ServerProcess::start(&dir, &config, &[]);

    assert!(dir.data_dir().join("rspd.db").is_file(), "SQLite database in the data dir");
    let pki = pki(&dir);
    assert!(pki.exists(), "test PKI generated into the data dir");
    assert!(server.banner.contains("TEST PKI"), "banner announces the test PKI:\n{}", server.banner);
    assert!(server.banner.contains("(generated now)"), "{}", server.banner);
    assert!(server.banner.contains("curl --cacert"), "{}", server.banner);

    let ci = pki.ci_cert(rspd::pki::Curve::NistP256);
    let device = client(&ci, None, server.device);
    let r = device.get(server.device_url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = device.get(server.device_url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["status"], "ready");
    let r = device.get(server.device_url("/no/such/thing")).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // Operator listener: no client certificate → refused.
    let anonymous = client(&ci, None, server.operator);
    let r = anonymous.get(server.operator_url("/api/v1/whoami")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = anonymous.get(server.operator_url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 401);

    // The generated operator certificate → the test operator.
    let operator = client(&ci, Some((&pki.operator_client_cert(), &pki.operator_client_key())), server.operator);
    let r = operator.get(server.operator_url("/api/v1/whoami")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["operatorId"], "test-operator");

    let metrics = operator.get(server.operator_url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("rspd_build_info{database=\"sqlite\""), "{metrics}");
    assert!(metrics.contains("rspd_db_pool_max_connections"), "{metrics}");
    assert!(
        metrics.contains("rspd_http_requests_total{function=\"/healthz\",listener=\"device\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("rspd_http_request_duration_seconds_bucket"), "{metrics}");
    drop(server);

    // A second start reuses the PKI and the database.
    let server = ServerProcess::start(&dir, &config, &[]);
    assert!(!server.banner.contains("(generated now)"), "{}", server.banner);
    let r = client(&ci, None, server.device).get(server.device_url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn operator_listener_refuses_foreign_and_unmapped_certificates() {
    let dir = TestDir::new();
    // Map only some other certificate: the generated client certificate is then unmapped.
    let config = dir.write_config(&format!(
        "[[operator.identities]]\noperator_id = \"acme\"\nfingerprint_sha256 = \"{}\"\n",
        "ab".repeat(32)
    ));
    let server = ServerProcess::start(&dir, &config, &[]);
    let pki = pki(&dir);
    let ci = pki.ci_cert(rspd::pki::Curve::NistP256);

    let unmapped = client(&ci, Some((&pki.operator_client_cert(), &pki.operator_client_key())), server.operator);
    let r = unmapped.get(server.operator_url("/api/v1/whoami")).send().await.unwrap();
    assert_eq!(r.status(), 403);

    // A client certificate from a CA the operator listener does not trust: the handshake fails.
    let (cert_pem, key_pem) = foreign_client_certificate();
    let foreign_dir = tempfile::tempdir().unwrap();
    let (cert, key) = (foreign_dir.path().join("c.pem"), foreign_dir.path().join("k.pem"));
    std::fs::write(&cert, cert_pem).unwrap();
    std::fs::write(&key, key_pem).unwrap();
    let foreign = client(&ci, Some((&cert, &key)), server.operator);
    let result = foreign.get(server.operator_url("/api/v1/whoami")).send().await;
    match result {
        Err(e) => assert!(e.is_connect() || e.is_request(), "{e:?}"),
        Ok(r) => panic!("a foreign client certificate was accepted: {}", r.status()),
    }
}

/// A CA nobody configured, and a client certificate it issued (rcgen, P-256).
fn foreign_client_certificate() -> (String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "Foreign CA");
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, "intruder");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

#[tokio::test]
async fn plain_http_device_listener_for_a_tls_terminator() {
    let dir = TestDir::new();
    let config = dir.write_config("[device]\nplain_http = true\n");
    let server = ServerProcess::start(&dir, &config, &[]);
    assert!(server.banner.contains("plain HTTP"), "{}", server.banner);
    let r = reqwest::get(format!("http://{}/healthz", server.device)).await.unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn a_bad_config_value_exits_2_with_one_line_naming_the_key() {
    let dir = TestDir::new();
    let config = dir.write_config("[database]\npool_size = 0\n");
    let out = dir.run(&["--config", config.to_str().unwrap(), "serve"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let line = stderr_line(&out);
    assert!(line.starts_with("rspd: config: database.pool_size:"), "{line}");

    let out = dir.run(&["serve"], &[("RSPD_DEVICE_LISTEN", "nowhere")]);
    assert_eq!(out.status.code(), Some(2));
    let line = stderr_line(&out);
    assert!(line.contains("device.listen") && line.contains("RSPD_DEVICE_LISTEN"), "{line}");
}

#[test]
fn an_unreadable_key_file_exits_2_naming_it() {
    let dir = TestDir::new();
    let cert = dir.path().join("tls.pem");
    let self_signed = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(&cert, self_signed.cert.pem()).unwrap();
    let config = dir.write_config(&format!(
        "[device]\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
        cert.display(),
        dir.path().join("missing.key").display()
    ));
    let out = dir.run(&["--config", config.to_str().unwrap(), "serve"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let line = stderr_line(&out);
    assert!(line.starts_with("rspd: config: device.tls_key: cannot read"), "{line}");
    assert!(line.contains("missing.key"), "{line}");
}

#[test]
fn an_unreachable_postgres_exits_1_with_one_line() {
    let dir = TestDir::new();
    let config =
        dir.write_config("[database]\nurl = \"postgres://postgres@127.0.0.1:1/rspd\"\nconnect_timeout_secs = 2\n");
    let out = dir.run(&["--config", config.to_str().unwrap(), "serve"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let line = stderr_line(&out);
    assert!(line.starts_with("rspd: database:"), "{line}");
    assert!(line.contains("127.0.0.1"), "{line}");
}

#[test]
fn db_migrate_applies_then_is_a_no_op() {
    let dir = TestDir::new();
    let config = dir.write_config("");
    let out = dir.run(&["--config", config.to_str().unwrap(), "db", "migrate"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let first = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!first.contains(" 0 migration(s)"), "{first}");
    let out = dir.run(&["--config", config.to_str().unwrap(), "db", "migrate"], &[]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(": 0 migration(s) applied"));
}

#[test]
fn version_and_help() {
    let dir = TestDir::new();
    let out = dir.run(&["--version"], &[]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("rspd "));
    for args in [&["--help"][..], &["serve", "--help"], &["pki", "init", "--help"], &["db", "migrate", "--help"]] {
        let out = dir.run(args, &[]);
        assert!(out.status.success(), "{args:?}");
    }
    let out = dir.run(&["no-such-command"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn operator_identity_by_subject() {
    let dir = TestDir::new();
    // The generated client certificate's subject, in another order and spacing.
    let config = dir
        .write_config("[[operator.identities]]\noperator_id = \"acme\"\nsubject = \"O=RSPDTEST,  CN=test-operator\"\n");
    let server = ServerProcess::start(&dir, &config, &[]);
    let pki = pki(&dir);
    let operator = client(
        &pki.ci_cert(rspd::pki::Curve::NistP256),
        Some((&pki.operator_client_cert(), &pki.operator_client_key())),
        server.operator,
    );
    let r = operator.get(server.operator_url("/api/v1/whoami")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["operatorId"], "acme");
}

/// With `RSPD_TEST_POSTGRES_URL` set, the server starts on PostgreSQL (in a throw-away schema),
/// migrates and reports ready.
#[tokio::test]
async fn serve_on_postgres() {
    let Ok(admin_url) = std::env::var("RSPD_TEST_POSTGRES_URL") else {
        println!("serve_on_postgres: skipped (RSPD_TEST_POSTGRES_URL unset)");
        return;
    };
    let schema = crate::common::postgres::SchemaGuard::create(&admin_url);
    let dir = TestDir::new();
    let config = dir.write_config("");
    let server = ServerProcess::start(&dir, &config, &[("RSPD_DATABASE_URL", &schema.url())]);
    assert!(server.banner.contains("database           postgres://"), "{}", server.banner);
    // Every embedded migration applied on the empty schema (their number grows with the slices).
    assert!(server.banner.contains(" migration(s) applied now)"), "{}", server.banner);
    assert!(!server.banner.contains("(0 migration(s) applied now)"), "{}", server.banner);
    let pki = pki(&dir);
    let ci = pki.ci_cert(rspd::pki::Curve::NistP256);
    let r = client(&ci, None, server.device).get(server.device_url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let operator = client(&ci, Some((&pki.operator_client_cert(), &pki.operator_client_key())), server.operator);
    let metrics = operator.get(server.operator_url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("database=\"postgres\""), "{metrics}");
    drop(server);
    println!("serve_on_postgres: ran on postgres (schema {})", schema.name);
}
