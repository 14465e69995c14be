//! The PostgreSQL backend.
//!
//! Appends need no explicit locking: the head update's `WHERE last_seq = seq - 1` takes the
//! group row's lock, and under READ COMMITTED a concurrent append waits for it, re-evaluates the
//! condition against the committed head, matches nothing, and reports a conflict.

mod accounts;
mod admin;
mod batch;
mod chat_settings;
mod chats;
mod events;
mod faults;
mod identity;
mod media;
mod outbox;
mod peers;
mod search;
mod stats;

use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};

use super::{CONNECT_TIMEOUT, StorageError, connect_reason, db_error};

/// The schema, embedded at build time (see `node/build.rs`).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Pool size: enough for the API and the federation senders to overlap, small enough to leave
/// the server's connection limit to other users of a shared PostgreSQL.
/// Connections kept open even when idle.
const MIN_CONNECTIONS: u32 = 2;
const MAX_CONNECTIONS: u32 = 10;

/// PostgreSQL implementation of every storage trait.
#[derive(Debug)]
pub struct PgStorage {
    /// Every read and write. Unlike SQLite's backend there is no connection kept for writing:
    /// the server's buffer cache is shared by all connections (a commit empties nobody's), and
    /// its row locks let writes of different groups run at once. After [`PgStorage::close`]
    /// every use fails, as with SQLite.
    pool: PgPool,
    /// Commit batches written again commit by commit after their plan failed.
    batches_rewritten: std::sync::atomic::AtomicU64,
}

impl PgStorage {
    /// Connects to `url` and migrates the database. `shown` is the redacted URL used in error
    /// messages.
    pub(crate) async fn open(url: &str, shown: &str) -> Result<Self, StorageError> {
        let options: PgConnectOptions = url.parse().map_err(|_| StorageError::BadUrl {
            url: shown.to_owned(),
        })?;
        let unreachable = |reason: String| StorageError::Unreachable {
            url: shown.to_owned(),
            reason,
        };

        // Probe with one plain connection first: the pool retries "connection refused" until
        // its acquire timeout and then reports only "timed out", losing the actual reason.
        match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
            Err(_) => {
                return Err(unreachable(format!(
                    "no answer within {}s",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
            Ok(Err(e)) => return Err(unreachable(connect_reason(&e))),
            // The probe has done its job; a failure to close it politely changes nothing.
            Ok(Ok(probe)) => drop(probe.close().await),
        }

        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            // Opening a PostgreSQL connection costs ~100 ms: keep a few open ahead of demand so
            // a request never pays for one (the pool replaces expired ones in the background).
            .min_connections(MIN_CONNECTIONS)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| unreachable(connect_reason(&e)))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StorageError::Migration(e.to_string()))?;
        let storage = Self {
            pool,
            batches_rewritten: std::sync::atomic::AtomicU64::new(0),
        };
        storage.backfill_search().await?;
        Ok(storage)
    }

    pub(crate) async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(db_error)
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}
