//! TEMPORARY stand-in until the generator lands (replaced at merge).
use std::path::PathBuf;
use super::TestPkiPaths;
use crate::pki::Curve;
pub struct TestPkiRequest { pub out: PathBuf, pub curves: Vec<Curve>, pub addresses: Vec<String>, pub force: bool }
pub struct GeneratedTestPki { pub paths: TestPkiPaths, pub curves: Vec<Curve>, pub eid: String, pub operator_id: String, pub operator_client_fingerprint_sha256: String }
#[derive(Debug, thiserror::Error)]
#[error("stub")]
pub struct TestPkiError;
pub fn generate(_r: &TestPkiRequest) -> Result<GeneratedTestPki, TestPkiError> { Err(TestPkiError) }
