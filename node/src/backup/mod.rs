//! `winichat backup DEST` and `winichat restore SRC` (docs/backup.md).
//!
//! A backup is a directory laid out like a data directory — the keys, `winichat.db` (SQLite
//! only), `media/` — plus a manifest, [`MANIFEST_FILE`], written last. It is taken while the
//! node runs and without its data-directory lock: the SQLite database is copied by
//! `VACUUM INTO` on a connection of its own (one consistent snapshot), then the media
//! directory incrementally by content hash. Media is copied after the snapshot because the node
//! stores an upload's bytes before it records them, so every object the snapshot refers to is
//! already on disk when the copy starts. With PostgreSQL the database is backed up by
//! `pg_dump` (taken before `winichat backup`, for the same reason), and the backup holds the
//! keys and media.
//!
//! A restore needs the node stopped (it takes the data-directory lock) and an empty data
//! directory unless `--force`; it checks every file against the manifest's hashes (and each
//! media original against its name) as it copies.

pub mod database;
mod files;
pub mod manifest;
pub mod media;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use database::{DatabaseKind, DatabaseLocation, Facts};
pub use manifest::{FileEntry, MANIFEST_FILE, Manifest};
use media::MediaTotals;

use crate::auth::jwt::AUTH_KEY_FILE;
use crate::config::Config;
use crate::data_lock::{DataDirLock, LOCK_FILE};
use crate::error::{NodeError, describe_io};
use crate::federation::clock;
use crate::identity::{self, KEY_FILE, NodeIdentity, RETIRED_KEY_PREFIX, ROTATIONS_FILE};
use crate::media::MEDIA_DIR;
use crate::storage::DEFAULT_SQLITE_FILE;

/// Why a backup or a restore failed. `Display` is one line an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A file could not be read or written.
    #[error("{}: {}", path.display(), describe_io(source))]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The database could not be reached or copied. `url` has no password.
    #[error("cannot back up database {url}: {reason}")]
    Database {
        /// The database, redacted.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The configured SQLite file does not exist.
    #[error(
        "no database at {}: check --data-dir and database_url (a node creates it when it first starts)",
        path.display()
    )]
    NoDatabase {
        /// Where it was expected.
        path: PathBuf,
    },
    /// The source of a restore has no manifest.
    #[error(
        "{} is not a finished WiniChat backup: it has no {MANIFEST_FILE} (an interrupted backup \
         has none either)",
        path.display()
    )]
    NotABackup {
        /// The directory.
        path: PathBuf,
    },
    /// The manifest does not parse or is of another format.
    #[error("backup manifest {}: {reason}", path.display())]
    BadManifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file does not hash to what its name or the manifest says.
    #[error("{} is damaged: {reason}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// How it differs.
        reason: String,
    },
    /// The backup destination holds something a backup does not: refusing to write there
    /// protects a directory given by mistake.
    #[error(
        "{} holds {entry:?}, which is not part of a WiniChat backup: back up into an empty \
         directory or an earlier backup",
        path.display()
    )]
    ForeignDestination {
        /// The destination.
        path: PathBuf,
        /// The unexpected entry.
        entry: String,
    },
    /// The backup directory is inside the data directory or the other way round.
    #[error(
        "the backup directory {} and the data directory {} overlap: use a directory outside \
         the data directory",
        backup.display(),
        data_dir.display()
    )]
    Overlap {
        /// The backup directory.
        backup: PathBuf,
        /// The data directory.
        data_dir: PathBuf,
    },
    /// A restore target holds data already.
    #[error(
        "{} is not empty: restore into a new data directory, or pass --force to overwrite what \
         is there",
        path.display()
    )]
    NotEmpty {
        /// The data directory or database file.
        path: PathBuf,
    },
    /// The backup's database kind is not the configured one.
    #[error(
        "the backup holds a {backup} database but this node is configured for {configured} \
         (database_url)"
    )]
    KindMismatch {
        /// What the backup holds.
        backup: DatabaseKind,
        /// What the configuration says.
        configured: DatabaseKind,
    },
    /// Media the copied database refers to is not in the copy.
    #[error(
        "{count} media objects the database refers to are missing from the backup (e.g. {example}): \
         the node removed them while the backup ran, or they were already missing from {}; run \
         the backup again",
        media_dir.display()
    )]
    MissingMedia {
        /// How many.
        count: usize,
        /// One of them (`<hex>` or `<hex>.t<size>`).
        example: String,
        /// The node's media directory.
        media_dir: PathBuf,
    },
    /// A path that cannot be used.
    #[error("{0}")]
    Usage(String),
    /// A bug.
    #[error("internal error: {0}")]
    Internal(String),
}

impl BackupError {
    pub(crate) fn io(path: &Path, source: io::Error) -> BackupError {
        BackupError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn database(shown: &str, e: sqlx::Error) -> BackupError {
        BackupError::Database {
            url: shown.to_owned(),
            reason: crate::storage::connect_reason(&e),
        }
    }
}

/// What `backup` did.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// The manifest written.
    pub manifest: Manifest,
    /// Recorded media whose objects were gone (nothing referred to them: the clean-up's).
    pub unreferenced_missing: usize,
}

/// What `restore` did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// Where the SQLite database went (`None` for PostgreSQL).
    pub database_file: Option<PathBuf>,
    /// Media now in the data directory from the backup.
    pub media: MediaTotals,
}

/// Is `name` one of the key or secret files of a data directory?
pub(super) fn is_key_file(name: &str) -> bool {
    name == KEY_FILE
        || name == AUTH_KEY_FILE
        || name == ROTATIONS_FILE
        || name.starts_with(RETIRED_KEY_PREFIX)
}

/// The key and secret files in `data_dir`, sorted.
fn key_files(data_dir: &Path) -> Result<Vec<String>, BackupError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(data_dir).map_err(|e| BackupError::io(data_dir, e))? {
        let entry = entry.map_err(|e| BackupError::io(data_dir, e))?;
        if let Some(name) = entry.file_name().to_str()
            && is_key_file(name)
            && !name.ends_with(files::PARTIAL_SUFFIX)
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Refuses when one of the directories lies inside the other (both exist).
fn check_apart(backup: &Path, data_dir: &Path) -> Result<(), BackupError> {
    let canonical = |p: &Path| fs::canonicalize(p).map_err(|e| BackupError::io(p, e));
    let (b, d) = (canonical(backup)?, canonical(data_dir)?);
    if b.starts_with(&d) || d.starts_with(&b) {
        return Err(BackupError::Overlap {
            backup: backup.to_path_buf(),
            data_dir: data_dir.to_path_buf(),
        });
    }
    Ok(())
}

/// Refuses a destination with entries a backup never writes.
fn check_destination(dest: &Path) -> Result<(), BackupError> {
    for entry in fs::read_dir(dest).map_err(|e| BackupError::io(dest, e))? {
        let entry = entry.map_err(|e| BackupError::io(dest, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let base = name.strip_suffix(files::PARTIAL_SUFFIX).unwrap_or(&name);
        let ours = base == MANIFEST_FILE
            || base == DEFAULT_SQLITE_FILE
            || base == MEDIA_DIR
            || is_key_file(base);
        if !ours {
            return Err(BackupError::ForeignDestination {
                path: dest.to_path_buf(),
                entry: name,
            });
        }
    }
    Ok(())
}

fn file_entry(name: &str, copied: files::Copied) -> FileEntry {
    FileEntry {
        name: name.to_owned(),
        bytes: copied.bytes,
        sha256: hex::encode(copied.sha256),
    }
}

fn parse_sha(path: &Path, entry: &FileEntry) -> Result<[u8; 32], BackupError> {
    let mut sha = [0u8; 32];
    hex::decode_to_slice(&entry.sha256, &mut sha).map_err(|_| BackupError::BadManifest {
        path: path.to_path_buf(),
        reason: format!("the hash of {:?} is not 64 hex digits", entry.name),
    })?;
    Ok(sha)
}

/// Backs up the node of `config` into `dest` (created if missing; an earlier backup there is
/// updated, its media incrementally). Safe while the node runs.
pub async fn backup(config: &Config, dest: &Path) -> Result<BackupReport, NodeError> {
    let data_dir = &config.data_dir;
    let identity = NodeIdentity::load(data_dir)?;
    let location = DatabaseLocation::of(&config.database_url, data_dir)?;
    files::create_private_dir(dest)?;
    check_apart(dest, data_dir)?;
    check_destination(dest)?;
    // From here until the new manifest is written, the backup is unfinished.
    files::remove_if_present(&dest.join(MANIFEST_FILE))?;
    files::sync_dir(dest)?;

    let mut keys = Vec::new();
    for name in key_files(data_dir)? {
        if let Some(copied) = files::copy_file(&data_dir.join(&name), &dest.join(&name), None)? {
            keys.push(file_entry(&name, copied));
        }
    }

    let (facts, database_file) = match &location {
        DatabaseLocation::Sqlite(source) => {
            let target = dest.join(DEFAULT_SQLITE_FILE);
            let partial = files::partial_path(&target);
            // VACUUM INTO would create the file with the default mode (0644 under the usual
            // umask); it also writes into an existing empty file and keeps its mode, so the
            // file is made first, private.
            files::remove_if_present(&partial)?;
            files::create_private_file(&partial)?;
            database::snapshot_sqlite(source, &partial).await?;
            files::sync_file(&partial)?;
            let facts = database::sqlite_facts(&partial).await?;
            let hashed = files::hash_file(&partial)?;
            fs::rename(&partial, &target).map_err(|e| BackupError::io(&target, e))?;
            (facts, Some(file_entry(DEFAULT_SQLITE_FILE, hashed)))
        }
        DatabaseLocation::Postgres(url) => (database::postgres_facts(url).await?, None),
    };
    files::sync_dir(dest)?;

    let media_dir = data_dir.join(MEDIA_DIR);
    let (media, unreferenced_missing) = match location {
        DatabaseLocation::Sqlite(_) => {
            // Only what the snapshot lists: a blob deleted since an earlier backup into DEST
            // leaves it, and one uploaded after the snapshot has no row in it.
            let listed = facts.media.iter().map(|row| row.sha256.clone()).collect();
            let media = media::copy_media(&media_dir, &dest.join(MEDIA_DIR), Some(&listed))?;
            (
                media,
                check_media(&facts, &dest.join(MEDIA_DIR), &media_dir)?,
            )
        }
        // The dump was taken apart, at another moment: nothing to check it against here.
        DatabaseLocation::Postgres(_) => (
            media::copy_media(&media_dir, &dest.join(MEDIA_DIR), None)?,
            0,
        ),
    };

    let now = clock::now();
    let manifest = Manifest {
        format: manifest::FORMAT,
        winichat_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: identity::utc_stamp(now),
        created_at_ms: now.0,
        node_name: facts.node_name.unwrap_or_else(|| config.name.to_string()),
        node_public_key: identity.public_key_base64url(),
        database: location.kind(),
        database_file,
        schema_version: facts.schema_version,
        counts: facts.counts,
        keys,
        media,
    };
    manifest.write(dest)?;
    Ok(BackupReport {
        manifest,
        unreferenced_missing,
    })
}

/// The objects (`<hex>` or `<hex>.t<size>`) of recorded media that something refers to and
/// that are not under `root`, and how many unreferenced rows lack an object there.
fn missing_media(facts: &Facts, root: &Path) -> (Vec<String>, usize) {
    let mut missing = Vec::new();
    let mut unreferenced_missing = 0;
    for row in &facts.media {
        let absent = std::iter::once(None)
            .chain(row.thumbs.iter().copied().map(Some))
            .find(|thumb| !media::has_object(root, &row.sha256, *thumb));
        match absent {
            None => {}
            Some(_) if !row.referenced => unreferenced_missing += 1,
            Some(None) => missing.push(row.sha256.clone()),
            Some(Some(size)) => missing.push(format!("{}.t{size}", row.sha256)),
        }
    }
    (missing, unreferenced_missing)
}

/// Every recorded piece of media that something refers to must be in the backup, original and
/// thumbnails; returns how many unreferenced ones were missing (the clean-up removes those).
fn check_media(facts: &Facts, backup_media: &Path, media_dir: &Path) -> Result<usize, BackupError> {
    let (missing, unreferenced_missing) = missing_media(facts, backup_media);
    match missing.first() {
        None => Ok(unreferenced_missing),
        Some(example) => Err(BackupError::MissingMedia {
            count: missing.len(),
            example: example.clone(),
            media_dir: media_dir.to_path_buf(),
        }),
    }
}

/// Restores the backup at `src` into the data directory (and database) of `config`. The node
/// must be stopped; the data directory must be empty unless `force`.
pub async fn restore(config: &Config, src: &Path, force: bool) -> Result<RestoreReport, NodeError> {
    let manifest = Manifest::read(src)?;
    let data_dir = &config.data_dir;
    let location = DatabaseLocation::of(&config.database_url, data_dir)?;
    if location.kind() != manifest.database {
        return Err(BackupError::KindMismatch {
            backup: manifest.database,
            configured: location.kind(),
        }
        .into());
    }
    identity::prepare_data_dir(data_dir)?;
    check_apart(src, data_dir)?;
    // Held until the restore is done: no node starts on half a data directory.
    let _lock = DataDirLock::acquire(data_dir)?;
    if !force {
        for entry in fs::read_dir(data_dir).map_err(|e| BackupError::io(data_dir, e))? {
            let entry = entry.map_err(|e| BackupError::io(data_dir, e))?;
            if entry.file_name() != LOCK_FILE {
                return Err(BackupError::NotEmpty {
                    path: data_dir.clone(),
                }
                .into());
            }
        }
        if let DatabaseLocation::Sqlite(path) = &location
            && path.exists()
        {
            return Err(BackupError::NotEmpty { path: path.clone() }.into());
        }
    }

    // The keys are small: check them all before anything is written.
    let manifest_path = src.join(MANIFEST_FILE);
    let mut key_shas = Vec::new();
    for entry in &manifest.keys {
        let sha = parse_sha(&manifest_path, entry)?;
        let found = files::hash_file(&src.join(&entry.name))?;
        if found.sha256 != sha {
            return Err(BackupError::Damaged {
                path: src.join(&entry.name),
                reason: "its SHA-256 is not the one in the manifest".into(),
            }
            .into());
        }
        key_shas.push((entry, sha));
    }

    let database_file = match (&location, &manifest.database_file) {
        (DatabaseLocation::Sqlite(target), Some(entry)) => {
            let sha = parse_sha(&manifest_path, entry)?;
            if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
                files::create_private_dir(dir)?;
            }
            // Copied and checked beside the old database first: a damaged backup leaves the
            // old database and its write-ahead log as they were.
            let staged = files::stage_copy(&src.join(&entry.name), target, Some(&sha))?
                .ok_or_else(|| BackupError::Damaged {
                    path: src.to_path_buf(),
                    reason: format!("{} is missing", entry.name),
                })?;
            // A write-ahead log left by another database would be replayed into this one.
            for suffix in ["-wal", "-shm", "-journal"] {
                let mut side = target.clone().into_os_string();
                side.push(suffix);
                if let Err(e) = files::remove_if_present(Path::new(&side)) {
                    staged.discard();
                    return Err(e.into());
                }
            }
            staged.commit()?;
            if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
                files::sync_dir(dir)?;
            }
            Some(target.clone())
        }
        (DatabaseLocation::Sqlite(_), None) => {
            return Err(BackupError::BadManifest {
                path: manifest_path,
                reason: "a SQLite backup without its database file".into(),
            }
            .into());
        }
        (DatabaseLocation::Postgres(_), _) => None,
    };

    // A rotation under way in the old contents would be finished with the wrong key.
    files::remove_if_present(&data_dir.join("node.key.next"))?;
    // Key files the backup lacks belong to the old contents: a `node.rotations` that ends at a
    // later key than the restored `node.key` would stop the node from starting.
    for name in key_files(data_dir)? {
        if !manifest.keys.iter().any(|entry| entry.name == name) {
            files::remove_if_present(&data_dir.join(&name))?;
        }
    }
    for (entry, sha) in key_shas {
        files::copy_file(
            &src.join(&entry.name),
            &data_dir.join(&entry.name),
            Some(&sha),
        )?
        .ok_or_else(|| BackupError::Damaged {
            path: src.to_path_buf(),
            reason: format!("{} is missing", entry.name),
        })?;
    }
    files::sync_dir(data_dir)?;

    let media = match &database_file {
        Some(restored) => {
            // Only the media the restored database lists: the node never removes an object
            // without a row, so anything else would stay in the data directory for good.
            let facts = database::sqlite_facts(restored).await?;
            let listed = facts.media.iter().map(|row| row.sha256.clone()).collect();
            let media_dir = data_dir.join(MEDIA_DIR);
            let media = media::copy_media(&src.join(MEDIA_DIR), &media_dir, Some(&listed))?;
            let (missing, _) = missing_media(&facts, &media_dir);
            if let Some(example) = missing.first() {
                return Err(BackupError::Damaged {
                    path: src.join(MEDIA_DIR),
                    reason: format!(
                        "it lacks {} media objects the database refers to (e.g. {example})",
                        missing.len()
                    ),
                }
                .into());
            }
            media
        }
        None => media::copy_media(&src.join(MEDIA_DIR), &data_dir.join(MEDIA_DIR), None)?,
    };
    if database_file.is_none() && media.files < manifest.media.files {
        return Err(BackupError::Damaged {
            path: src.join(MEDIA_DIR),
            reason: format!(
                "it holds {} media objects, the manifest says {}",
                media.files, manifest.media.files
            ),
        }
        .into());
    }
    Ok(RestoreReport {
        manifest,
        database_file,
        media,
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, NodeError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| NodeError::Internal(format!("cannot start the async runtime: {e}")))
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// `winichat backup DEST`: backs up and prints what it did.
pub fn run_backup(config: &Config, dest: &Path) -> Result<(), NodeError> {
    let report = runtime()?.block_on(backup(config, dest))?;
    let m = &report.manifest;
    println!("backup of {} written to {}", m.node_name, dest.display());
    println!("database:  {}", m.database);
    println!(
        "counts:    {} users, {} groups, {} events, {} media",
        m.counts.users, m.counts.groups, m.counts.events, m.counts.media
    );
    println!(
        "keys:      {}",
        m.keys
            .iter()
            .map(|k| k.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "media:     {} objects ({}); copied now: {} ({})",
        m.media.files,
        mib(m.media.bytes),
        m.media.copied_files,
        mib(m.media.copied_bytes)
    );
    if report.unreferenced_missing > 0 {
        println!(
            "note:      {} unused uploads were removed by the node's clean-up during the backup",
            report.unreferenced_missing
        );
    }
    if m.database == DatabaseKind::Postgres {
        println!(
            "PostgreSQL is not in this directory: dump it with pg_dump before running this \
             command, e.g. pg_dump --format=custom --file=winichat.dump \"$DATABASE_URL\" \
             (docs/backup.md)"
        );
    }
    Ok(())
}

/// `winichat restore SRC`: restores and prints what to do next.
pub fn run_restore(config: &Config, src: &Path, force: bool) -> Result<(), NodeError> {
    let report = runtime()?.block_on(restore(config, src, force))?;
    let m = &report.manifest;
    println!(
        "restored the backup of {} made {} into {}",
        m.node_name,
        m.created_at,
        config.data_dir.display()
    );
    if let Some(path) = &report.database_file {
        println!("database:  {}", path.display());
    }
    println!(
        "media:     {} objects ({}); copied now: {}",
        report.media.files,
        mib(report.media.bytes),
        report.media.copied_files
    );
    if m.database == DatabaseKind::Postgres {
        println!(
            "PostgreSQL: restore the dump taken with this backup before starting the node, e.g. \
             pg_restore --clean --if-exists --no-owner --dbname=\"$DATABASE_URL\" winichat.dump \
             (docs/backup.md)"
        );
    }
    if config.name.as_str() != m.node_name {
        println!(
            "Start the node with --name {} (the database belongs to that name).",
            m.node_name
        );
    }
    Ok(())
}
