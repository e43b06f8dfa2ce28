//! Black-box tests of how `rspd pki init`'s generator treats the disk: refuse to overwrite,
//! `force`, never replace a foreign directory, all-or-nothing writes, key file modes, the marker.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use crate::test_pki_support::{fresh, request, sgp22_paths, siblings};
use rsp_proto::pki::test_pki::{generate, TestPkiError, TestPkiRequest};
use rsp_proto::pki::Curve;

#[test]
fn refuses_to_overwrite_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pki");
    let first = generate(&request(&out)).unwrap();
    let ci_before = std::fs::read(first.paths.ci_cert(Curve::NistP256)).unwrap();

    let err = generate(&request(&out)).unwrap_err();
    assert!(matches!(err, TestPkiError::AlreadyExists { .. }), "{err}");
    assert_eq!(err.to_string(), format!("test PKI already exists at {} (use --force to replace it)", out.display()));
    assert!(!err.to_string().contains('\n'));
    assert_eq!(std::fs::read(first.paths.ci_cert(Curve::NistP256)).unwrap(), ci_before);

    let second = generate(&TestPkiRequest { force: true, curves: vec![Curve::NistP256], ..request(&out) }).unwrap();
    assert_ne!(std::fs::read(second.paths.ci_cert(Curve::NistP256)).unwrap(), ci_before);
    assert!(second.paths.exists());
    assert!(!second.paths.curve_dir(Curve::BrainpoolP256r1).exists(), "old tree replaced whole");
    assert_eq!(siblings(dir.path()), ["pki"], "no staging or old directory left behind");
}

#[test]
fn never_replaces_a_directory_that_is_not_a_test_pki() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("precious");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "keep me").unwrap();
    for force in [false, true] {
        let err = generate(&TestPkiRequest { force, ..request(&out) }).unwrap_err();
        assert!(matches!(err, TestPkiError::NotATestPki { .. }), "{err}");
    }
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "keep me");
    assert_eq!(siblings(dir.path()), ["precious"]);

    // An existing empty directory is fine.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(generate(&request(&empty)).unwrap().paths.exists());
}

#[test]
fn a_failed_write_leaves_nothing_that_looks_complete() {
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path().join("readonly");
    std::fs::create_dir(&parent).unwrap();
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = parent.join("pki");
    let result = generate(&request(&out));
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o755)).unwrap();
    match result {
        // Running as root ignores directory permissions: nothing to test then.
        Ok(_) => println!("skipped: permissions are not enforced for this user"),
        Err(err) => {
            let text = err.to_string();
            assert_eq!(text, format!("cannot create directory {}: Permission denied", out.display()));
            assert!(!out.exists());
            assert!(siblings(&parent).is_empty());
        }
    }
}

#[test]
fn a_missing_parent_is_reported_with_the_requested_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("missing").join("pki");
    let err = generate(&request(&out)).unwrap_err();
    assert_eq!(err.to_string(), format!("cannot create directory {}: No such file or directory", out.display()));
    assert_eq!(siblings(dir.path()), Vec::<String>::new());
}

#[test]
fn private_keys_are_readable_by_the_owner_only() {
    let (_dir, pki) = fresh();
    let mut keys: Vec<PathBuf> = Curve::ALL.iter().flat_map(|&c| sgp22_paths(&pki, c).map(|(_, _, key)| key)).collect();
    keys.push(pki.paths.operator_ca_key());
    keys.push(pki.paths.operator_client_key());
    assert_eq!(keys.len(), 14);
    for key in keys {
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", key.display());
    }
}

#[test]
fn marker_says_test_and_records_the_request() {
    let (_dir, pki) = fresh();
    let text = std::fs::read_to_string(pki.paths.marker()).unwrap();
    assert!(text.starts_with("TEST PKI"));
    assert!(text.contains("NEVER use it in production"));
    assert!(text.contains(&pki.eid));
    assert!(text.contains("smdp.example.com:8443"));
    assert!(text.contains("NIST P-256") && text.contains("brainpoolP256r1"));
}

#[test]
fn rejects_bad_requests_before_touching_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pki");
    let err = generate(&TestPkiRequest { curves: vec![], ..request(&out) }).unwrap_err();
    assert!(matches!(err, TestPkiError::NoCurve), "{err}");
    let err = generate(&TestPkiRequest { addresses: vec!["bad host:1".into()], ..request(&out) }).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid SM-DP+ address `bad host:1`: host name may hold only letters, digits, `-` and `.`"
    );
    assert!(siblings(dir.path()).is_empty());
}
