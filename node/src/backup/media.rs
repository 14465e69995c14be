//! The media directory, copied incrementally by content hash.
//!
//! Objects are immutable and named by the SHA-256 of the original's bytes
//! (`ab/cd/<hex>` and thumbnails `ab/cd/<hex>.t<size>`, see [`crate::media::store`]), so an
//! object already at the destination with the same size holds the same bytes and is skipped:
//! a second backup into the same place copies only what is new. An original is hashed as it
//! is copied and must match its name; a thumbnail (whose name is its original's hash) is
//! copied as is.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::BackupError;
use super::files::{self, DirtyDirs, PARTIAL_SUFFIX};
use crate::media::store::TMP_DIR;

/// What a media copy found and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaTotals {
    /// Objects (originals and thumbnails) now at the destination from this source.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Objects copied by this run (the others were there already).
    pub copied_files: u64,
    /// Bytes copied by this run.
    pub copied_bytes: u64,
}

/// One object's name, parsed: the hash (hex) and whether it is a thumbnail.
struct ObjectName<'a> {
    hex: &'a str,
    thumb: bool,
}

/// Parses `ab/cd/<64 hex>[.t<digits>]` (the shard directories given apart); `None` for
/// anything else, which is not media (a staged upload, a stray file) and is not copied.
fn parse_object_name<'a>(shard1: &str, shard2: &str, name: &'a str) -> Option<ObjectName<'a>> {
    let (hex, thumb) = match name.split_once('.') {
        None => (name, false),
        Some((hex, size)) => {
            let digits = size.strip_prefix('t')?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (hex, true)
        }
    };
    let lower_hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    (hex.len() == 64 && lower_hex(hex) && hex[0..2] == *shard1 && hex[2..4] == *shard2)
        .then_some(ObjectName { hex, thumb })
}

/// The subdirectories of `dir` (none when `dir` is missing), sorted.
fn subdirs(dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>, BackupError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(BackupError::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| BackupError::io(dir, e))?;
        let file_type = entry.file_type().map_err(|e| BackupError::io(dir, e))?;
        if let (true, Some(name)) = (file_type.is_dir(), entry.file_name().to_str()) {
            out.push((name.to_owned(), entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Copies every media object under `source` that `target` lacks (or holds with another size),
/// checking each original's hash. Objects that vanish from `source` meanwhile (the node's
/// clean-up) are skipped. Fails on the first damaged original, naming it.
///
/// With `wanted` (the hashes, hex, a database lists), only those objects are copied, and the
/// objects of any other hash are removed from `target`: nothing could ever refer to them, and
/// the node's clean-up works from database rows, so it would never remove them.
pub(super) fn copy_media(
    source: &Path,
    target: &Path,
    wanted: Option<&BTreeSet<String>>,
) -> Result<MediaTotals, BackupError> {
    let mut totals = MediaTotals::default();
    let mut dirty = DirtyDirs::default();
    files::create_private_dir(target)?;
    for (shard1, dir1) in subdirs(source)? {
        if shard1 == TMP_DIR {
            continue;
        }
        for (shard2, dir2) in subdirs(&dir1)? {
            let entries = match fs::read_dir(&dir2) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(BackupError::io(&dir2, e)),
            };
            let target_dir = target.join(&shard1).join(&shard2);
            let mut target_dir_made = false;
            for entry in entries {
                let entry = entry.map_err(|e| BackupError::io(&dir2, e))?;
                let file_name = entry.file_name();
                let Some(name) = file_name.to_str() else {
                    continue;
                };
                let Some(object) = parse_object_name(&shard1, &shard2, name) else {
                    continue;
                };
                if wanted.is_some_and(|wanted| !wanted.contains(object.hex)) {
                    continue;
                }
                let source_len = match entry.metadata() {
                    Ok(meta) if meta.is_file() => meta.len(),
                    Ok(_) => continue,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(BackupError::io(&entry.path(), e)),
                };
                let target_file = target_dir.join(name);
                if fs::metadata(&target_file).is_ok_and(|m| m.is_file() && m.len() == source_len) {
                    totals.files += 1;
                    totals.bytes += source_len;
                    continue;
                }
                if !target_dir_made {
                    files::create_private_dir(&target_dir)?;
                    target_dir_made = true;
                }
                let expect = if object.thumb {
                    None
                } else {
                    let mut sha = [0u8; 32];
                    hex::decode_to_slice(object.hex, &mut sha).map_err(|e| {
                        BackupError::Damaged {
                            path: entry.path(),
                            reason: e.to_string(),
                        }
                    })?;
                    Some(sha)
                };
                let Some(copied) = files::copy_file(&entry.path(), &target_file, expect.as_ref())?
                else {
                    continue;
                };
                dirty.mark(&target_dir);
                totals.files += 1;
                totals.bytes += copied.bytes;
                totals.copied_files += 1;
                totals.copied_bytes += copied.bytes;
            }
            // A copy interrupted by a crash of an earlier run leaves a partial file behind.
            remove_partials(&target_dir)?;
        }
    }
    if let Some(wanted) = wanted {
        prune(target, wanted, &mut dirty)?;
    }
    dirty.sync_all()?;
    Ok(totals)
}

/// Removes the objects under `root` whose hash is not in `wanted` (staged uploads and stray
/// files are left alone).
fn prune(root: &Path, wanted: &BTreeSet<String>, dirty: &mut DirtyDirs) -> Result<(), BackupError> {
    for (shard1, dir1) in subdirs(root)? {
        if shard1 == TMP_DIR {
            continue;
        }
        for (shard2, dir2) in subdirs(&dir1)? {
            let entries = match fs::read_dir(&dir2) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(BackupError::io(&dir2, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| BackupError::io(&dir2, e))?;
                let file_name = entry.file_name();
                let unwanted = file_name
                    .to_str()
                    .and_then(|name| parse_object_name(&shard1, &shard2, name))
                    .is_some_and(|object| !wanted.contains(object.hex));
                if unwanted && entry.file_type().is_ok_and(|t| t.is_file()) {
                    files::remove_if_present(&entry.path())?;
                    dirty.mark(&dir2);
                }
            }
        }
    }
    Ok(())
}

fn remove_partials(dir: &Path) -> Result<(), BackupError> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.ends_with(PARTIAL_SUFFIX))
        {
            files::remove_if_present(&entry.path())?;
        }
    }
    Ok(())
}

/// Whether the object for `hex` (the original, or the thumbnail of `thumb` pixels) is under
/// `root`.
pub(super) fn has_object(root: &Path, hex: &str, thumb: Option<u32>) -> bool {
    if hex.len() != 64 || !hex.is_ascii() {
        return false;
    }
    let mut path = root.join(&hex[0..2]).join(&hex[2..4]).join(hex);
    if let Some(size) = thumb {
        path.set_extension(format!("t{size}"));
    }
    path.is_file()
}

#[cfg(test)]
mod tests {
    use sha2::{Digest as _, Sha256};

    use super::*;

    fn put(root: &Path, bytes: &[u8], thumb: Option<u32>) -> String {
        let hex = hex::encode(Sha256::digest(bytes));
        let dir = root.join(&hex[0..2]).join(&hex[2..4]);
        fs::create_dir_all(&dir).expect("mkdir");
        let name = match thumb {
            Some(size) => format!("{hex}.t{size}"),
            None => hex.clone(),
        };
        fs::write(dir.join(name), bytes).expect("write");
        hex
    }

    #[test]
    fn a_second_copy_takes_only_new_objects_and_skips_the_rest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (source, target) = (dir.path().join("media"), dir.path().join("backup"));
        let a = put(&source, b"first blob", None);
        put(&source, b"first blob thumb", None);
        let thumb_of_a = source
            .join(&a[0..2])
            .join(&a[2..4])
            .join(format!("{a}.t96"));
        fs::write(&thumb_of_a, b"thumbnail").expect("thumb");
        fs::create_dir_all(source.join(TMP_DIR)).expect("tmp");
        fs::write(source.join(TMP_DIR).join("x.part"), b"staged").expect("staged");
        fs::write(source.join("stray"), b"not media").expect("stray");

        let first = copy_media(&source, &target, None).expect("first copy");
        assert_eq!((first.files, first.copied_files), (3, 3));
        assert!(has_object(&target, &a, None) && has_object(&target, &a, Some(96)));
        assert!(!target.join(TMP_DIR).exists() && !target.join("stray").exists());

        let b = put(&source, b"second blob", None);
        let second = copy_media(&source, &target, None).expect("second copy");
        assert_eq!((second.files, second.copied_files), (4, 1));
        assert_eq!(second.copied_bytes, b"second blob".len() as u64);
        assert!(has_object(&target, &b, None));
    }

    #[test]
    fn an_original_that_does_not_match_its_name_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (source, target) = (dir.path().join("media"), dir.path().join("backup"));
        let hex = put(&source, b"genuine", None);
        fs::write(
            source.join(&hex[0..2]).join(&hex[2..4]).join(&hex),
            b"tampered",
        )
        .expect("tamper");
        let err = copy_media(&source, &target, None).expect_err("damaged");
        assert!(matches!(err, BackupError::Damaged { .. }), "{err}");
        assert!(!has_object(&target, &hex, None));
    }

    #[test]
    fn only_wanted_objects_are_copied_and_the_others_are_removed_from_the_target() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (source, target) = (dir.path().join("media"), dir.path().join("backup"));
        let kept = put(&source, b"listed", None);
        put(&source, b"listed", Some(96));
        let unlisted = put(&source, b"not listed", None);
        // Left in the target by an earlier run: a blob deleted since.
        let deleted = put(&target, b"deleted since", None);
        put(&target, b"deleted since", Some(96));
        fs::create_dir_all(target.join(TMP_DIR)).expect("tmp");
        fs::write(target.join(TMP_DIR).join("x.part"), b"staged").expect("staged");

        let wanted = BTreeSet::from([kept.clone()]);
        let totals = copy_media(&source, &target, Some(&wanted)).expect("copy");
        assert_eq!((totals.files, totals.copied_files), (2, 2));
        assert!(has_object(&target, &kept, None) && has_object(&target, &kept, Some(96)));
        assert!(!has_object(&target, &unlisted, None));
        assert!(!has_object(&target, &deleted, None) && !has_object(&target, &deleted, Some(96)));
        assert!(target.join(TMP_DIR).join("x.part").exists());
        // Without a list, everything is copied and nothing removed.
        let all = copy_media(&source, &target, None).expect("copy all");
        assert_eq!((all.files, all.copied_files), (3, 1));
    }
}
