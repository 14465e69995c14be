//! The SQLite backend: one file, WAL, foreign keys on, `synchronous=FULL`.
//!
//! Writers that read before they write (an append checks the log's head) begin with
//! `BEGIN IMMEDIATE`, taking the write lock up front. A deferred transaction would instead
//! fail with "database is locked" when two of them try to upgrade at once (SQLite does not
//! wait on a stale snapshot), which would turn an ordinary race into an error.

mod accounts;
mod admin;
mod batch;
mod chat_settings;
pub(super) mod chats; // its row types are shared with the PostgreSQL backend
mod events;
mod faults;
mod identity;
mod media;
mod outbox;
mod peers;
mod search;
mod stats;

use std::path::Path;

use sqlx::ConnectOptions;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};

use super::{CONNECT_TIMEOUT, StorageError, connect_reason, db_error};

/// The schema, embedded at build time (see `node/build.rs`).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// How long a writer waits for another writer's lock before failing. Writes are short; this
/// only has to cover bursts.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How much of the database file is mapped into memory for reads (SQLite's `mmap_size`), per
/// connection: address space, and page cache the kernel may reclaim, not memory of its own.
const MMAP_SIZE: u64 = 256 << 20;

/// WAL pages (4 KiB each) after which a commit checkpoints (SQLite's default is 1,000).
const WAL_CHECKPOINT_PAGES: u32 = 10_000;

/// The size the WAL file is truncated back to after a checkpoint (bytes).
const WAL_SIZE_LIMIT: u64 = 64 << 20;

/// SQLite implementation of every storage trait.
#[derive(Debug)]
pub struct SqliteStorage {
    pool: SqlitePool,
    /// The one connection that writes, taken in turns (event commits, read positions, the
    /// outbox, accounts…). Waiting here is first come, first served; waiting in SQLite's
    /// busy handler is by sleeping and polling (1, 2, 5 … 100 ms), which starves a writer
    /// whenever the commit pipeline writes back to back. One connection rather than any of
    /// the pool's: its page cache survives its own commits (a commit by another connection
    /// empties it), and the statements it runs stay prepared on it. `None` once closed.
    writer: tokio::sync::Mutex<Option<SqliteConnection>>,
    /// Commit batches written again commit by commit after their plan failed.
    batches_rewritten: std::sync::atomic::AtomicU64,
}

/// Begins a transaction on the writer that takes SQLite's write lock at once (see the module
/// docs: another process, e.g. an admin command, may write to the same file).
async fn begin_immediate(
    writer: &mut SqliteConnection,
) -> Result<sqlx::Transaction<'_, sqlx::Sqlite>, StorageError> {
    sqlx::Connection::begin_with(writer, "BEGIN IMMEDIATE")
        .await
        .map_err(db_error)
}

impl SqliteStorage {
    /// Opens (creating if missing) and migrates the database file at `path`. `shown` is the
    /// URL used in error messages.
    pub(crate) async fn open(path: &Path, shown: &str) -> Result<Self, StorageError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            // Acknowledged writes must survive power loss, not just a process crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            // Every commit makes the other connections drop their page caches; with the file
            // mapped, they read pages in place instead of copying them in with a syscall each.
            // Reads only: writes still go through the WAL and its fsync.
            .pragma("mmap_size", MMAP_SIZE.to_string())
            // A checkpoint runs inside the commit that crosses the threshold and holds up the
            // write lock meanwhile: fewer, larger ones move each hot page (a group's head, its
            // chat row) once instead of again and again. The WAL file is cut back to
            // `WAL_SIZE_LIMIT` after one that reset it.
            .pragma("wal_autocheckpoint", WAL_CHECKPOINT_PAGES.to_string())
            .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string())
            // A statement that may have to be undone alone inside a transaction (the commit
            // batch's multi-row inserts) keeps a statement journal; past 64 KiB SQLite spills
            // it to a temporary file: an open, writes and an unlink per batch. In memory it
            // costs only the pages the statement changes. It never serves crash recovery (the
            // WAL does), so durability is unchanged.
            .pragma("temp_store", "MEMORY");
        let unreachable = |e: sqlx::Error| StorageError::Unreachable {
            url: shown.to_owned(),
            reason: connect_reason(&e),
        };
        let pool = SqlitePoolOptions::new()
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(unreachable)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StorageError::Migration(e.to_string()))?;
        let writer = options.connect().await.map_err(unreachable)?;
        let storage = Self {
            pool,
            writer: tokio::sync::Mutex::new(Some(writer)),
            batches_rewritten: std::sync::atomic::AtomicU64::new(0),
        };
        storage.backfill_search().await?;
        Ok(storage)
    }

    /// Waits for this process's turn to write (see [`SqliteStorage::writer`]) and hands over
    /// the writing connection; an error once the storage is closed.
    pub(super) async fn write_turn(
        &self,
    ) -> Result<tokio::sync::MappedMutexGuard<'_, SqliteConnection>, StorageError> {
        tokio::sync::MutexGuard::try_map(self.writer.lock().await, Option::as_mut)
            .map_err(|_| db_error(sqlx::Error::PoolClosed))
    }

    pub(crate) async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(db_error)
    }

    pub(crate) async fn close(&self) {
        if let Some(writer) = self.writer.lock().await.take() {
            let _ = sqlx::Connection::close(writer).await;
        }
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::SqliteStorage;

    /// The per-connection settings every connection must carry, the writer's above all:
    /// durable commits, and statement journals that never spill to temporary files.
    #[tokio::test]
    async fn every_connection_is_durable_and_keeps_statement_journals_in_memory() {
        async fn check(conn: &mut sqlx::SqliteConnection, which: &str) {
            let (synchronous,): (i64,) = sqlx::query_as("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await
                .expect("synchronous");
            let (temp_store,): (i64,) = sqlx::query_as("PRAGMA temp_store")
                .fetch_one(&mut *conn)
                .await
                .expect("temp_store");
            assert_eq!(synchronous, 2, "{which}: synchronous=FULL");
            assert_eq!(temp_store, 2, "{which}: temp_store=MEMORY");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = SqliteStorage::open(&dir.path().join("w.db"), "test")
            .await
            .expect("open");
        check(&mut storage.write_turn().await.expect("writer"), "writer").await;
        // Several connections at once, so more than the first one opened is checked.
        let mut held = Vec::new();
        for _ in 0..3 {
            let mut conn = storage.pool.acquire().await.expect("connection");
            check(&mut conn, "pooled").await;
            held.push(conn);
        }
        drop(held);
        storage.close().await;
    }
}
