//! `winichat-backup.json`: what a backup holds, written last, so a backup without one is
//! unfinished and `restore` refuses it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::BackupError;
use super::database::{Counts, DatabaseKind};
use super::media::MediaTotals;

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
        for entry in manifest.keys.iter().chain(&manifest.database_file) {
            // Names come from the file and become paths: one plain name each.
            let plain = !entry.name.is_empty()
                && !entry.name.starts_with('.')
                && !entry.name.contains(['/', '\\', '\0']);
            if !plain {
                return Err(BackupError::BadManifest {
                    path,
                    reason: format!("{:?} is not a plain file name", entry.name),
                });
            }
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
