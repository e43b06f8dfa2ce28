//! Putting a generated test PKI on disk without ever leaving a half PKI that looks complete.
//!
//! Everything is written into a hidden sibling directory (`.NAME.partial-…`), the marker
//! `TEST-PKI.txt` last, and that directory is then renamed onto the output path. Private keys
//! are created with mode 0600, certificates 0644. An existing test PKI is replaced only with
//! `force`; a non-empty directory that is not a test PKI is never replaced.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use openssl::error::ErrorStack;

use super::operator::OperatorPki;
use super::sgp22_hierarchy::{Issued, Sgp22Hierarchy};
use super::{TestPkiError, TestPkiPaths};
use crate::pki::Curve;

const KEY_MODE: u32 = 0o600;
const CERT_MODE: u32 = 0o644;
const DIR_MODE: u32 = 0o755;

/// What is at the output path before generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Destination {
    Missing,
    EmptyDir,
    /// A complete test PKI (its marker exists), to be replaced (`force` was given).
    TestPki,
}

/// Decide whether generation may proceed into `out`.
pub(crate) fn check_destination(out: &Path, force: bool) -> Result<Destination, TestPkiError> {
    let meta = match fs::symlink_metadata(out) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Destination::Missing),
        Err(e) => return Err(TestPkiError::io("read", out, e)),
    };
    if !meta.is_dir() {
        return Err(TestPkiError::NotATestPki { dir: out.into() });
    }
    if TestPkiPaths::new(out).exists() {
        return if force { Ok(Destination::TestPki) } else { Err(TestPkiError::AlreadyExists { dir: out.into() }) };
    }
    let mut entries = fs::read_dir(out).map_err(|e| TestPkiError::io("read", out, e))?;
    if entries.next().is_some() {
        return Err(TestPkiError::NotATestPki { dir: out.into() });
    }
    Ok(Destination::EmptyDir)
}

/// The files of a test PKI, ready to be written.
pub(crate) struct Contents<'a> {
    pub hierarchies: &'a [(Curve, Sgp22Hierarchy)],
    pub operator: &'a OperatorPki,
    pub marker: String,
}

/// Write `contents` to `out`, which was found to be `destination`.
pub(crate) fn write_pki(out: &Path, destination: Destination, contents: &Contents<'_>) -> Result<(), TestPkiError> {
    let staging = sibling(out, "partial")?;
    let result =
        write_tree(&TestPkiPaths::new(&staging), contents).and_then(|()| swap_into_place(&staging, out, destination));
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging); // best effort; the error that matters is `result`
    }
    result.map_err(|e| name_final_path(e, &staging, out))
}

/// Errors name the path the user asked for, not the hidden staging directory.
fn name_final_path(e: TestPkiError, staging: &Path, out: &Path) -> TestPkiError {
    match e {
        TestPkiError::Io { action, path, source } => {
            let path = match path.strip_prefix(staging) {
                Ok(rel) if rel.as_os_str().is_empty() => out.to_path_buf(),
                Ok(rel) => out.join(rel),
                Err(_) => path,
            };
            TestPkiError::Io { action, path, source }
        }
        other => other,
    }
}

fn write_tree(paths: &TestPkiPaths, contents: &Contents<'_>) -> Result<(), TestPkiError> {
    create_dir(paths.root())?;
    for (curve, h) in contents.hierarchies {
        let curve = *curve;
        create_dir(&paths.curve_dir(curve))?;
        let files: [(&Issued, PathBuf, PathBuf); 6] = [
            (&h.ci, paths.ci_cert(curve), paths.ci_key(curve)),
            (&h.eum, paths.eum_cert(curve), paths.eum_key(curve)),
            (&h.euicc, paths.euicc_cert(curve), paths.euicc_key(curve)),
            (&h.dpauth, paths.dpauth_cert(curve), paths.dpauth_key(curve)),
            (&h.dppb, paths.dppb_cert(curve), paths.dppb_key(curve)),
            (&h.dptls, paths.dptls_cert(curve), paths.dptls_key(curve)),
        ];
        for (issued, cert_path, key_path) in files {
            let (cert_pem, key_pem) =
                pem_pair(issued).map_err(TestPkiError::openssl(format!("PEM encoding of {}", cert_path.display())))?;
            write_file(&cert_path, &cert_pem, CERT_MODE)?;
            write_file(&key_path, &key_pem, KEY_MODE)?;
        }
    }
    let op = contents.operator;
    create_dir(&paths.operator_dir())?;
    write_file(&paths.operator_ca_cert(), op.ca_cert_pem.as_bytes(), CERT_MODE)?;
    write_file(&paths.operator_ca_key(), op.ca_key_pem.as_bytes(), KEY_MODE)?;
    write_file(&paths.operator_client_cert(), op.client_cert_pem.as_bytes(), CERT_MODE)?;
    write_file(&paths.operator_client_key(), op.client_key_pem.as_bytes(), KEY_MODE)?;
    // Last: its presence is what marks the PKI complete.
    write_file(&paths.marker(), contents.marker.as_bytes(), CERT_MODE)
}

fn pem_pair(issued: &Issued) -> Result<(Vec<u8>, Vec<u8>), ErrorStack> {
    Ok((issued.cert.to_pem()?, issued.key.private_key_to_pem_pkcs8()?))
}

fn swap_into_place(staging: &Path, out: &Path, destination: Destination) -> Result<(), TestPkiError> {
    match destination {
        Destination::Missing => rename(staging, out),
        Destination::EmptyDir => {
            fs::remove_dir(out).map_err(|e| TestPkiError::io("replace", out, e))?;
            rename(staging, out)
        }
        Destination::TestPki => {
            let old = sibling(out, "old")?;
            rename(out, &old)?;
            if let Err(e) = rename(staging, out) {
                let _ = fs::rename(&old, out); // put the previous PKI back
                return Err(e);
            }
            fs::remove_dir_all(&old).map_err(|e| TestPkiError::io("remove", &old, e))
        }
    }
}

/// A fresh hidden path next to `out`: `.NAME.KIND-PID-RANDOM`.
fn sibling(out: &Path, kind: &str) -> Result<PathBuf, TestPkiError> {
    let name = out.file_name().ok_or_else(|| TestPkiError::NotATestPki { dir: out.into() })?.to_string_lossy();
    let mut random = [0u8; 4];
    openssl::rand::rand_bytes(&mut random).map_err(TestPkiError::openssl("temporary directory name"))?;
    let file = format!(".{name}.{kind}-{}-{}", std::process::id(), hex::encode(random));
    Ok(match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.join(file),
        _ => PathBuf::from(file),
    })
}

fn create_dir(path: &Path) -> Result<(), TestPkiError> {
    DirBuilder::new().mode(DIR_MODE).create(path).map_err(|e| TestPkiError::io("create directory", path, e))
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TestPkiError> {
    let err = |e| TestPkiError::io("write", path, e);
    let mut file = OpenOptions::new().write(true).create_new(true).mode(mode).open(path).map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.sync_all().map_err(err)
}

fn rename(from: &Path, to: &Path) -> Result<(), TestPkiError> {
    fs::rename(from, to).map_err(|e| TestPkiError::io("move the new test PKI to", to, e))
}
