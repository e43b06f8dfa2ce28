//! Errors of the test PKI generator (`rspd pki init`). Each message is one line naming the
//! problem and, where there is one, the file or directory concerned.

use std::io;
use std::path::PathBuf;

/// Why a test PKI could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum TestPkiError {
    /// A complete test PKI (its marker file exists) is already in the output directory.
    #[error("test PKI already exists at {} (use --force to replace it)", dir.display())]
    AlreadyExists { dir: PathBuf },

    /// The output directory holds something else; even `--force` does not delete it.
    #[error(
        "{} exists, is not empty and is not a test PKI (no TEST-PKI.txt); refusing to replace it",
        dir.display()
    )]
    NotATestPki { dir: PathBuf },

    /// The request named no curve.
    #[error("no curve requested (expected nist, brainpool or both)")]
    NoCurve,

    /// An SM-DP+ address is not `host` or `host:port`.
    #[error("invalid SM-DP+ address `{address}`: {reason}")]
    BadAddress { address: String, reason: String },

    /// A certificate profile names a malformed object identifier (a bug in rspd).
    #[error("invalid object identifier `{oid}` in the certificate profile")]
    InvalidOid { oid: String },

    /// A file system operation failed.
    #[error("cannot {action} {}: {}", path.display(), io_reason(source))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// OpenSSL failed while building a key or certificate of the SGP.22 hierarchy.
    #[error("cannot build the {what}: OpenSSL: {}", one_line(&source.to_string()))]
    OpenSsl {
        what: String,
        #[source]
        source: openssl::error::ErrorStack,
    },

    /// rcgen failed while building the operator CA or client certificate.
    #[error("cannot build the {what}: {source}")]
    Rcgen {
        what: &'static str,
        #[source]
        source: rcgen::Error,
    },
}

impl TestPkiError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        TestPkiError::Io { action, path: path.into(), source }
    }

    pub(crate) fn openssl(what: impl Into<String>) -> impl FnOnce(openssl::error::ErrorStack) -> Self {
        let what = what.into();
        move |source| TestPkiError::OpenSsl { what, source }
    }
}

/// `Permission denied (os error 13)` → `Permission denied`: the OS error number helps nobody.
fn io_reason(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_string(),
        _ => text,
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_is_one_line_without_os_error_number() {
        let e = TestPkiError::io("write", "/x/nist/ci.key", io::Error::from_raw_os_error(13));
        assert_eq!(e.to_string(), "cannot write /x/nist/ci.key: Permission denied");
    }

    #[test]
    fn already_exists_mentions_force() {
        let e = TestPkiError::AlreadyExists { dir: "/tmp/pki".into() };
        assert_eq!(e.to_string(), "test PKI already exists at /tmp/pki (use --force to replace it)");
    }
}
