//! File copies that are whole or absent: each copy is written beside its target under a
//! temporary name, hashed as it is written, synced, renamed into place, and its directory
//! synced, so an interrupted backup or restore never leaves a truncated file under a real name.

use std::collections::BTreeSet;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::BackupError;

/// Suffix of a copy being written; a leftover one is overwritten by the next run.
pub(super) const PARTIAL_SUFFIX: &str = ".partial";

/// Creates `dir` and its parents (new ones mode 0700: a backup holds secret keys).
pub(super) fn create_private_dir(dir: &Path) -> Result<(), BackupError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| BackupError::io(dir, source))
}

/// Syncs a directory, so the renames into it survive power loss.
pub(super) fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| BackupError::io(dir, source))
}

/// Directories whose entries changed, synced once each at the end of a run.
#[derive(Debug, Default)]
pub(super) struct DirtyDirs(BTreeSet<PathBuf>);

impl DirtyDirs {
    pub(super) fn mark(&mut self, dir: &Path) {
        self.0.insert(dir.to_path_buf());
    }

    pub(super) fn sync_all(self) -> Result<(), BackupError> {
        for dir in &self.0 {
            sync_dir(dir)?;
        }
        Ok(())
    }
}

/// What a copy wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Copied {
    /// Bytes written.
    pub bytes: u64,
    /// SHA-256 of the bytes written.
    pub sha256: [u8; 32],
}

/// The temporary name a copy to `target` is written under.
pub(super) fn partial_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(PARTIAL_SUFFIX);
    target.with_file_name(name)
}

/// Copies `source` to `target` (mode 0600) through a synced temporary file. When `expect` is
/// given and the bytes read do not hash to it, nothing is renamed into place and the copy is
/// reported as [`BackupError::Damaged`]. The caller syncs `target`'s directory (see
/// [`DirtyDirs`]). `Ok(None)` when `source` vanished before it could be opened (media the
/// node's clean-up removed meanwhile).
pub(super) fn copy_file(
    source: &Path,
    target: &Path,
    expect: Option<&[u8; 32]>,
) -> Result<Option<Copied>, BackupError> {
    let Some(staged) = stage_copy(source, target, expect)? else {
        return Ok(None);
    };
    staged.commit().map(Some)
}

/// A copy written, synced and checked under its temporary name, not yet in place.
#[derive(Debug)]
pub(super) struct Staged {
    partial: PathBuf,
    target: PathBuf,
    copied: Copied,
}

impl Staged {
    /// Renames the copy into place.
    pub(super) fn commit(self) -> Result<Copied, BackupError> {
        fs::rename(&self.partial, &self.target).map_err(|e| BackupError::io(&self.target, e))?;
        Ok(self.copied)
    }

    /// Removes the copy, leaving the target as it was.
    pub(super) fn discard(self) {
        let _ = fs::remove_file(&self.partial);
    }
}

/// The first half of [`copy_file`]: everything but the rename, so a caller can check the copy
/// before it changes anything else.
pub(super) fn stage_copy(
    source: &Path,
    target: &Path,
    expect: Option<&[u8; 32]>,
) -> Result<Option<Staged>, BackupError> {
    let mut input = match File::open(source) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source_err) => return Err(BackupError::io(source, source_err)),
    };
    let partial = partial_path(target);
    let written = write_synced(&partial, |out| {
        let mut digest = Sha256::new();
        let mut bytes = 0u64;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ReadOrWrite::Read(e)),
            };
            let chunk = &buf[..n];
            digest.update(chunk);
            out.write_all(chunk).map_err(ReadOrWrite::Write)?;
            bytes += n as u64;
        }
        Ok(Copied {
            bytes,
            sha256: digest.finalize().into(),
        })
    });
    let copied = match written {
        Ok(copied) => copied,
        Err(ReadOrWrite::Read(e)) => {
            let _ = fs::remove_file(&partial);
            return Err(BackupError::io(source, e));
        }
        Err(ReadOrWrite::Write(e)) => {
            let _ = fs::remove_file(&partial);
            return Err(BackupError::io(&partial, e));
        }
    };
    if let Some(expected) = expect
        && copied.sha256 != *expected
    {
        let _ = fs::remove_file(&partial);
        return Err(BackupError::Damaged {
            path: source.to_path_buf(),
            reason: format!(
                "its SHA-256 is {}, expected {}",
                hex::encode(copied.sha256),
                hex::encode(expected)
            ),
        });
    }
    Ok(Some(Staged {
        partial,
        target: target.to_path_buf(),
        copied,
    }))
}

/// Writes `bytes` to `target` (mode 0600) through a synced temporary file and syncs the
/// directory.
pub(super) fn write_file(target: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let partial = partial_path(target);
    write_synced(&partial, |out| {
        out.write_all(bytes).map_err(ReadOrWrite::Write)
    })
    .map_err(|e| {
        let _ = fs::remove_file(&partial);
        match e {
            ReadOrWrite::Read(e) | ReadOrWrite::Write(e) => BackupError::io(&partial, e),
        }
    })?;
    fs::rename(&partial, target).map_err(|e| BackupError::io(target, e))?;
    if let Some(dir) = target.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// SHA-256 and length of a file's bytes.
pub(super) fn hash_file(path: &Path) -> Result<Copied, BackupError> {
    let mut file = File::open(path).map_err(|e| BackupError::io(path, e))?;
    let mut digest = Sha256::new();
    let mut bytes = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                digest.update(&buf[..n]);
                bytes += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(BackupError::io(path, e)),
        }
    }
    Ok(Copied {
        bytes,
        sha256: digest.finalize().into(),
    })
}

/// Creates `path` empty with mode 0600; fails if it exists.
pub(super) fn create_private_file(path: &Path) -> Result<(), BackupError> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(drop)
        .map_err(|e| BackupError::io(path, e))
}

/// Syncs an existing file (one SQLite wrote, which need not have synced it).
pub(super) fn sync_file(path: &Path) -> Result<(), BackupError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| BackupError::io(path, e))
}

/// Removes `path` if it exists.
pub(super) fn remove_if_present(path: &Path) -> Result<(), BackupError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(BackupError::io(path, e)),
        _ => Ok(()),
    }
}

enum ReadOrWrite {
    Read(io::Error),
    Write(io::Error),
}

/// Creates (or truncates) `path` with mode 0600, lets `fill` write it, then syncs it.
fn write_synced<T>(
    path: &Path,
    fill: impl FnOnce(&mut File) -> Result<T, ReadOrWrite>,
) -> Result<T, ReadOrWrite> {
    let mut out = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(ReadOrWrite::Write)?;
    let value = fill(&mut out)?;
    out.sync_all().map_err(ReadOrWrite::Write)?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn a_copy_is_private_hashed_and_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (source, target) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&source, b"hello").expect("write");
        let sha: [u8; 32] = Sha256::digest(b"hello").into();
        let copied = copy_file(&source, &target, Some(&sha))
            .expect("copy")
            .expect("present");
        assert_eq!(
            copied,
            Copied {
                bytes: 5,
                sha256: sha
            }
        );
        assert_eq!(fs::read(&target).expect("read"), b"hello");
        let mode = fs::metadata(&target).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        let other = dir.path().join("c");
        let err = copy_file(&source, &other, Some(&[0; 32])).expect_err("wrong hash");
        assert!(matches!(err, BackupError::Damaged { .. }), "{err}");
        assert!(!other.exists() && !partial_path(&other).exists());

        let gone = copy_file(&dir.path().join("absent"), &other, None).expect("vanished");
        assert_eq!(gone, None);
    }
}
