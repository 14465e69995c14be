//! One process at a time per data directory.
//!
//! `winichat serve` holds an exclusive lock on `<data_dir>/winichat.lock` for as long as it
//! runs, and `winichat keys rotate` takes the same lock, so a key is never replaced under a
//! running node (which would keep signing with the key it loaded) and two nodes never serve
//! one data directory. The lock is an advisory `flock` (std's `File::try_lock`): the kernel
//! releases it when the process exits, however it exits, so a crash never leaves it stale.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::NodeError;

/// File name of the lock inside the data directory.
pub const LOCK_FILE: &str = "winichat.lock";

/// The exclusive lock on a data directory; released when dropped.
#[derive(Debug)]
pub struct DataDirLock {
    // Held only for its lock: closing the file releases it.
    _file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// Takes the lock on `data_dir` (which must exist), creating the lock file if needed.
    /// Fails at once with [`NodeError::DataDirInUse`] when another holder has it.
    pub fn acquire(data_dir: &Path) -> Result<DataDirLock, NodeError> {
        let path = data_dir.join(LOCK_FILE);
        let io_err = |source: io::Error| NodeError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io_err)?;
        match file.try_lock() {
            Ok(()) => Ok(DataDirLock { _file: file, path }),
            Err(TryLockError::WouldBlock) => Err(NodeError::DataDirInUse {
                path: data_dir.to_path_buf(),
            }),
            Err(TryLockError::Error(source)) => Err(io_err(source)),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_refuses_a_second_holder_until_it_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = DataDirLock::acquire(dir.path()).expect("first lock");
        assert_eq!(first.path(), dir.path().join(LOCK_FILE));
        let err = DataDirLock::acquire(dir.path()).expect_err("held");
        assert!(matches!(err, NodeError::DataDirInUse { .. }), "{err}");
        assert!(err.to_string().contains("in use"), "{err}");
        drop(first);
        DataDirLock::acquire(dir.path()).expect("free again");
    }

    #[test]
    fn a_missing_data_dir_is_an_error_not_a_lock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = DataDirLock::acquire(&dir.path().join("absent")).expect_err("no dir");
        assert!(matches!(err, NodeError::DataDir { .. }), "{err}");
    }
}
