//! The OpenAPI document `schemas/openapi.json` (issue 5 item 8): it validates (openapi-spec-validator, when
//! installed; `.ci/run` installs it), it parses and every `$ref` resolves (always), it is what the server serves at
//! `GET /api/v1/openapi.json`, and it matches the operator listener: every documented path and method is routed
//! (neither 405 nor the listener's "no such endpoint" 404), and every route path written in the operator listener's
//! sources (`src/http/*.rs` except the device listener's files) is documented.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::common::TestServer;
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];
/// Files of the device listener (ES9+, ESipa bindings): their paths are not the operator listener's.
const DEVICE_LISTENER_FILES: [&str; 3] = ["device", "es9", "esipa"];

fn doc_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/openapi.json")
}

fn document() -> Value {
    serde_json::from_str(&std::fs::read_to_string(doc_path()).unwrap()).expect("schemas/openapi.json is JSON")
}

/// (METHOD, path) of every documented operation.
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            if item.get(m).is_some() {
                ops.push((m.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

#[test]
fn openapi_document_validates_with_openapi_spec_validator() {
    let script =
        "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))\n";
    let probe = Command::new("python3").args(["-c", "import openapi_spec_validator"]).output();
    match probe {
        Ok(out) if out.status.success() => {}
        _ => {
            eprintln!("SKIP: python3 with openapi-spec-validator is not installed (pip install openapi-spec-validator==0.9.0)");
            return;
        }
    }
    let out = Command::new("python3").args(["-c", script, doc_path().to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "openapi-spec-validator: {}", String::from_utf8_lossy(&out.stderr));
}

fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

fn check_refs(doc: &Value, v: &Value, at: &str) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                assert!(resolve(doc, r).is_some(), "{at}: $ref {r} does not resolve");
            }
            for (k, child) in map {
                check_refs(doc, child, &format!("{at}/{k}"));
            }
        }
        Value::Array(items) => items.iter().enumerate().for_each(|(i, c)| check_refs(doc, c, &format!("{at}/{i}"))),
        _ => {}
    }
}

#[test]
fn openapi_document_parses_and_every_reference_resolves() {
    let doc = document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.0."), "OpenAPI 3.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    check_refs(&doc, &doc, "#");
    let mut ids = BTreeSet::new();
    for (method, path) in operations(&doc) {
        let op = &doc["paths"][&path][method.to_lowercase()];
        assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}: responses");
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path}: operationId"));
        assert!(ids.insert(id.to_owned()), "operationId {id} twice");
        // Path parameters are declared.
        for name in path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))) {
            let declared = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == "path" && p["name"] == name && p["required"] == true));
            assert!(declared, "{method} {path}: path parameter {name}");
        }
    }
    // The fleet API is there.
    for path in [
        "/api/v1/profiles",
        "/api/v1/profiles/{iccid}",
        "/api/v1/orders",
        "/api/v1/orders/{id}",
        "/api/v1/audit",
        "/api/v1/events",
    ] {
        assert!(doc["paths"][path]["get"].is_object(), "{path}");
    }
}

/// Route registrations that take a path literal as their first argument (actix-web).
const REGISTRATIONS: [&str; 8] = ["route(", "resource(", "scope(", "get(", "post(", "put(", "delete(", "patch("];

/// Path literals registered as routes (or scopes) in the operator listener's sources.
fn route_literals() -> BTreeSet<String> {
    let http = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut files = Vec::new();
    let mut dirs = vec![http.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let mut found = BTreeSet::new();
    for path in files {
        // A file (or folder) of the device listener, at any depth below src/http.
        let device = path.strip_prefix(&http).unwrap().components().any(|c| {
            let name = c.as_os_str().to_string_lossy();
            DEVICE_LISTENER_FILES.iter().any(|d| name.starts_with(d))
        });
        if path.extension().is_none_or(|e| e != "rs") || device {
            continue;
        }
        let text: String = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut before = String::new();
        for (i, piece) in text.split('"').enumerate() {
            if i % 2 == 1 && piece.starts_with('/') && REGISTRATIONS.iter().any(|r| before.trim_end().ends_with(r)) {
                found.insert(piece.to_owned());
            }
            before = piece.to_owned();
        }
    }
    found
}

#[tokio::test]
async fn openapi_document_matches_the_served_routes() {
    let doc = document();
    let test_server = TestServer::builder().start();
    let server = test_server.server();
    let pki = test_server.pki();
    let client = crate::fleet_support::client(
        &pki.ci_cert(rspd::pki::Curve::NistP256),
        Some((pki.operator_client_cert(), pki.operator_client_key())),
        server,
    );

    // Served document = the file.
    let served = client.get(server.operator_url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.json::<Value>().await.unwrap(), doc);

    // Documented → routed.
    for (method, path) in operations(&doc) {
        // A path parameter takes the first value of its enum, or 0.
        let op = &doc["paths"][&path][method.to_lowercase()];
        let value_of = |segment: &str| -> String {
            let name = segment.trim_start_matches('{').trim_end_matches('}');
            op["parameters"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == name))
                .and_then(|p| p["schema"]["enum"][0].as_str())
                .unwrap_or("0")
                .to_owned()
        };
        let concrete: String = path
            .split('/')
            .map(|s| if s.starts_with('{') { value_of(s) } else { s.to_owned() })
            .collect::<Vec<_>>()
            .join("/");
        let request = client.request(method.parse().unwrap(), server.operator_url(&concrete));
        let request =
            if method == "GET" { request } else { request.header("Content-Type", "application/json").body("{}") };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        assert_ne!(status, 405, "{method} {path}: method not routed");
        if status == 404 && !path.contains('{') {
            panic!("{method} {path}: 404");
        }
        if status == 404 {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert_ne!(body["error"], "no such endpoint", "{method} {path} is not routed");
        }
    }

    // Routed (as written in the sources) → documented.
    let documented: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let literals = route_literals();
    assert!(literals.contains("/api/v1/profiles/{iccid}") && literals.contains("/healthz"), "{literals:?}");
    for literal in literals {
        let known =
            documented.iter().any(|p| p == &literal || p.starts_with(&format!("{literal}/")) || p.ends_with(&literal));
        assert!(known, "the operator listener routes `{literal}` but schemas/openapi.json does not document it");
    }
}
