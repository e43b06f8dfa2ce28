//! Files and directories that hold subscriber data or keys are created readable by their owner only (issue 10
//! item 9): the data directory 0700, the SQLite database 0600 (SQLite gives its `-wal` and `-shm` files the
//! database file's mode). Existing paths keep the mode their administrator chose; [`warn_if_shared`] says so
//! when others can read them.

use std::fs::{DirBuilder, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// `mkdir -p` where every directory created is mode 0700.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(path)
}

/// Creates `path` empty with mode 0600 unless it exists.
pub fn create_private_file_if_missing(path: &Path) -> io::Result<()> {
    match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// A warning when group or others may read `path` (what: its role, for the message).
pub fn warn_if_shared(path: &Path, what: &str) {
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"),
                "{what} is readable by other users; it holds subscriber data: chmod go-rwx");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_private() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        create_private_dir(&nested).unwrap();
        assert_eq!(std::fs::metadata(&nested).unwrap().permissions().mode() & 0o777, 0o700);
        let file = nested.join("rspd.db");
        create_private_file_if_missing(&file).unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::write(&file, b"x").unwrap();
        create_private_file_if_missing(&file).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"x", "an existing file is left alone");
    }
}
