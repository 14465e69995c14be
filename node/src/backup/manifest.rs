//! `winichat-backup.json`: what a backup holds, written last, so a backup without one is
//! unfinished and `restore` refuses it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::database::{Counts, DatabaseKind};
use super::files::PARTIAL_SUFFIX;
use super::media::MediaTotals;
use super::{BackupError, is_key_file};
use crate::storage::DEFAULT_SQLITE_FILE;

/// File name of the manifest inside a backup.
pub const MANIFEST_FILE: &str = "winichat-backup.json";

/// The manifest format this version writes and reads.
pub const FORMAT: u32 = 1;

/// One file of the backup and the hash it must have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Its name, in the backup and in the data directory (no directory part).
    pub name: String,
    /// Its length.
    pub bytes: u64,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
}

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The `winichat` version that wrote it.
    pub winichat_version: String,
    /// When the backup finished, UTC (`YYYYMMDDTHHMMSSZ`).
    pub created_at: String,
    /// The same, in Unix milliseconds.
    pub created_at_ms: u64,
    /// The node name the database belongs to.
    pub node_name: String,
    /// The node's public identity key, unpadded base64url.
    pub node_public_key: String,
    /// Which database the node uses.
    pub database: DatabaseKind,
    /// The SQLite snapshot (`None` for PostgreSQL, which `pg_dump` backs up).
    pub database_file: Option<FileEntry>,
    /// The newest schema migration the database had.
    pub schema_version: Option<i64>,
    /// Row counts of the database when it was copied.
    pub counts: Counts,
    /// The identity key, the sign-in key, key rotations and retired keys.
    pub keys: Vec<FileEntry>,
    /// The media directory.
    pub media: MediaTotals,
}

/// A key file name a backup may list: one of [`is_key_file`]'s, as one plain name.
fn is_backed_up_key_name(name: &str) -> bool {
    is_key_file(name)
        && !name.ends_with(PARTIAL_SUFFIX)
        && !name.contains(['/', '\\', '\0'])
        && name != "."
        && name != ".."
}

impl Manifest {
    /// Reads and checks the manifest of the backup at `dir`.
    pub fn read(dir: &Path) -> Result<Manifest, BackupError> {
        let path = dir.join(MANIFEST_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BackupError::NotABackup {
                    path: dir.to_path_buf(),
                });
            }
            Err(e) => return Err(BackupError::io(&path, e)),
        };
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| BackupError::BadManifest {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        if manifest.format != FORMAT {
            return Err(BackupError::BadManifest {
                path,
                reason: format!(
                    "format {} is not the format {FORMAT} this version reads",
                    manifest.format
                ),
            });
        }
        // Names come from the file and become paths in the data directory: only the files a
        // backup writes there, so a crafted manifest cannot stage a rotation (`node.key.next`),
        // replace the lock, or put a second database over the restored one.
        let misplaced = manifest
            .keys
            .iter()
            .find(|entry| !is_backed_up_key_name(&entry.name))
            .or(manifest
                .database_file
                .as_ref()
                .filter(|entry| entry.name != DEFAULT_SQLITE_FILE));
        if let Some(entry) = misplaced {
            return Err(BackupError::BadManifest {
                path,
                reason: format!("{:?} is not a file a backup holds there", entry.name),
            });
        }
        Ok(manifest)
    }

    /// Writes the manifest into `dir`, synced.
    pub fn write(&self, dir: &Path) -> Result<(), BackupError> {
        let mut text = serde_json::to_vec_pretty(self)
            .map_err(|e| BackupError::Internal(format!("cannot encode the manifest: {e}")))?;
        text.push(b'\n');
        super::files::write_file(&dir.join(MANIFEST_FILE), &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> FileEntry {
        FileEntry {
            name: name.to_owned(),
            bytes: 1,
            sha256: "00".repeat(32),
        }
    }

    fn manifest(keys: &[&str], database_file: Option<&str>) -> Manifest {
        Manifest {
            format: FORMAT,
            winichat_version: "0".into(),
            created_at: "20260101T000000Z".into(),
            created_at_ms: 0,
            node_name: "a.test".into(),
            node_public_key: "k".into(),
            database: DatabaseKind::Sqlite,
            database_file: database_file.map(entry),
            schema_version: None,
            counts: Counts::default(),
            keys: keys.iter().copied().map(entry).collect(),
            media: MediaTotals::default(),
        }
    }

    fn read_back(m: &Manifest) -> Result<Manifest, BackupError> {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join(MANIFEST_FILE),
            serde_json::to_vec(m).expect("encode"),
        )
        .expect("write");
        Manifest::read(dir.path())
    }

    #[test]
    fn the_files_a_backup_writes_are_accepted() {
        let m = manifest(
            &[
                "auth.key",
                "node.key",
                "node.key.retired-20260101T000000Z",
                "node.rotations",
            ],
            Some("winichat.db"),
        );
        assert_eq!(read_back(&m).expect("read"), m);
        let pg = manifest(&["node.key"], None);
        assert_eq!(read_back(&pg).expect("read"), pg);
    }

    #[test]
    fn a_hostile_manifest_names_nothing_else() {
        let hostile = [
            "../x",
            "/etc/passwd",
            ".x",
            "data.lock",
            "node.key.next",
            "winichat.db",
            "node.key.retired-/../../x",
            "node.key.retired-x.partial",
            "",
        ];
        for name in hostile {
            let err =
                read_back(&manifest(&["node.key", name], Some("winichat.db"))).expect_err(name);
            assert!(
                matches!(err, BackupError::BadManifest { .. }),
                "{name:?}: {err}"
            );
        }
        for name in [
            "node.key",
            "../winichat.db",
            "/tmp/winichat.db",
            "other.db",
            "data.lock",
        ] {
            let err = read_back(&manifest(&["node.key"], Some(name))).expect_err(name);
            assert!(
                matches!(err, BackupError::BadManifest { .. }),
                "{name:?}: {err}"
            );
        }
    }
}
