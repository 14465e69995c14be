//! The database side of a backup: where the configured database is, a consistent SQLite
//! snapshot taken beside a running node, and the facts a manifest records.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sqlx::Connection as _;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use super::BackupError;
use crate::storage::{CONNECT_TIMEOUT, DEFAULT_SQLITE_FILE, StorageError, redact_url};

/// Which database a node uses, as its `database_url` says (the same forms
/// [`crate::storage::open`] accepts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database at this URL.
    Postgres(String),
}

/// The kind of database a backup was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseKind {
    /// SQLite: the backup holds the database file.
    Sqlite,
    /// PostgreSQL: the database is backed up with `pg_dump`, apart.
    Postgres,
}

impl std::fmt::Display for DatabaseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DatabaseKind::Sqlite => "SQLite",
            DatabaseKind::Postgres => "PostgreSQL",
        })
    }
}

impl DatabaseLocation {
    /// Parses `database_url` as [`crate::storage::open`] does.
    pub fn of(database_url: &str, data_dir: &Path) -> Result<DatabaseLocation, StorageError> {
        let trimmed = database_url.trim();
        if trimmed.is_empty() || trimmed == "sqlite" {
            Ok(DatabaseLocation::Sqlite(data_dir.join(DEFAULT_SQLITE_FILE)))
        } else if let Some(path) = trimmed.strip_prefix("sqlite://") {
            if path.is_empty() || path.contains('?') {
                return Err(StorageError::BadUrl {
                    url: redact_url(trimmed),
                });
            }
            Ok(DatabaseLocation::Sqlite(PathBuf::from(path)))
        } else if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
            Ok(DatabaseLocation::Postgres(trimmed.to_owned()))
        } else {
            Err(StorageError::BadUrl {
                url: redact_url(trimmed),
            })
        }
    }

    /// The kind.
    pub fn kind(&self) -> DatabaseKind {
        match self {
            DatabaseLocation::Sqlite(_) => DatabaseKind::Sqlite,
            DatabaseLocation::Postgres(_) => DatabaseKind::Postgres,
        }
    }
}

/// Row counts recorded in the manifest, so an operator can compare a restore with its source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Accounts.
    pub users: u64,
    /// Groups (and direct chats) whose log this node holds.
    pub groups: u64,
    /// Events in all those logs.
    pub events: u64,
    /// Pieces of media recorded.
    pub media: u64,
}

/// What a backup reads from the database it copied.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The node name the database belongs to (`None` for a database never started).
    pub node_name: Option<String>,
    /// The newest schema migration applied.
    pub schema_version: Option<i64>,
    /// Row counts.
    pub counts: Counts,
    /// Media recorded: hash (hex), thumbnail sizes, and whether anything refers to it.
    pub media: Vec<MediaRow>,
}

/// One recorded piece of media.
#[derive(Debug, Clone)]
pub struct MediaRow {
    /// The SHA-256 of the bytes served, hex.
    pub sha256: String,
    /// The thumbnail sizes stored.
    pub thumbs: Vec<u32>,
    /// A message, avatar or group photo refers to it.
    pub referenced: bool,
}

/// Writes a consistent copy of the SQLite database at `source` to `target` (which must not
/// exist, or be empty: SQLite then keeps its mode), with `VACUUM INTO` on a connection of its own: no migration, no file created at
/// `source`, and no data-directory lock. The copy is one read transaction, which in WAL mode
/// never blocks the running node's writers (nor do they disturb it).
pub async fn snapshot_sqlite(source: &Path, target: &Path) -> Result<(), BackupError> {
    if !source.is_file() {
        return Err(BackupError::NoDatabase {
            path: source.to_path_buf(),
        });
    }
    let options = SqliteConnectOptions::new()
        .filename(source)
        .create_if_missing(false)
        .busy_timeout(CONNECT_TIMEOUT);
    let shown = format!("sqlite://{}", source.display());
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| BackupError::database(&shown, e))?;
    let target_text = target.to_str().ok_or_else(|| {
        BackupError::Usage(format!(
            "the backup path {} is not valid UTF-8",
            target.display()
        ))
    })?;
    sqlx::query("VACUUM INTO ?")
        .bind(target_text)
        .execute(&mut conn)
        .await
        .map_err(|e| BackupError::database(&shown, e))?;
    conn.close()
        .await
        .map_err(|e| BackupError::database(&shown, e))
}

/// The same queries on either backend (the tables and columns are the same on both).
macro_rules! read_facts {
    ($conn:expr, $shown:expr) => {{
        let conn = $conn;
        let err = |e| BackupError::database($shown, e);
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let node_name: Option<String> = sqlx::query_scalar("SELECT name FROM node_identity")
            .fetch_optional(&mut *conn)
            .await
            .map_err(err)?;
        let schema_version: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&mut *conn)
                .await
                .map_err(err)?;
        let (users, groups, events, media): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM groups), \
             (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM media)",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(err)?;
        let rows: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT m.sha256, m.thumbs, \
             EXISTS (SELECT 1 FROM media_refs r WHERE r.sha256 = m.sha256) \
             FROM media m ORDER BY m.sha256",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(err)?;
        Facts {
            node_name,
            schema_version,
            counts: Counts {
                users: count(users),
                groups: count(groups),
                events: count(events),
                media: count(media),
            },
            media: rows
                .into_iter()
                .map(|(sha256, thumbs, referenced)| MediaRow {
                    sha256,
                    thumbs: thumbs.split(',').filter_map(|s| s.parse().ok()).collect(),
                    referenced,
                })
                .collect(),
        }
    }};
}

/// Reads the facts of the SQLite file at `path` (a snapshot this run wrote).
pub async fn sqlite_facts(path: &Path) -> Result<Facts, BackupError> {
    let shown = format!("sqlite://{}", path.display());
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .read_only(true)
        .immutable(true);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| BackupError::database(&shown, e))?;
    let facts = read_facts!(&mut conn, &shown);
    conn.close()
        .await
        .map_err(|e| BackupError::database(&shown, e))?;
    Ok(facts)
}

/// Reads the facts of the live PostgreSQL database at `url`.
pub async fn postgres_facts(url: &str) -> Result<Facts, BackupError> {
    let shown = redact_url(url);
    let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(url))
        .await
        .map_err(|_| BackupError::Database {
            url: shown.clone(),
            reason: format!("timed out after {}s", CONNECT_TIMEOUT.as_secs()),
        })?
        .map_err(|e| BackupError::database(&shown, e))?;
    let facts = read_facts!(&mut conn, &shown);
    conn.close()
        .await
        .map_err(|e| BackupError::database(&shown, e))?;
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_follow_the_database_url() {
        let data = Path::new("/data");
        assert_eq!(
            DatabaseLocation::of("sqlite", data).expect("default"),
            DatabaseLocation::Sqlite(data.join(DEFAULT_SQLITE_FILE))
        );
        assert_eq!(
            DatabaseLocation::of("", data).expect("empty"),
            DatabaseLocation::Sqlite(data.join(DEFAULT_SQLITE_FILE))
        );
        assert_eq!(
            DatabaseLocation::of("sqlite:///srv/chat.db", data).expect("path"),
            DatabaseLocation::Sqlite(PathBuf::from("/srv/chat.db"))
        );
        assert_eq!(
            DatabaseLocation::of("postgres://u:p@h/db", data)
                .expect("pg")
                .kind(),
            DatabaseKind::Postgres
        );
        assert!(DatabaseLocation::of("mysql://x", data).is_err());
        assert!(DatabaseLocation::of("sqlite://", data).is_err());
    }
}
