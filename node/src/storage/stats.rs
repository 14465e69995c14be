//! Figures about the database itself, for `/metrics` and `/readyz`.

use super::{Backend, Database, StorageError};

/// The connection pool's connections now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections lent out to a query or a transaction.
    pub in_use: u32,
    /// Open connections waiting in the pool.
    pub idle: u32,
}

impl Database {
    /// The pool's connections in use and idle.
    pub fn pool_stats(&self) -> PoolStats {
        match &*self.backend {
            Backend::Sqlite(s) => s.pool_stats(),
            Backend::Postgres(s) => s.pool_stats(),
        }
    }

    /// The bytes of every stored media file (originals; thumbnails are not counted).
    pub async fn media_bytes_stored(&self) -> Result<u64, StorageError> {
        match &*self.backend {
            Backend::Sqlite(s) => s.media_bytes_stored().await,
            Backend::Postgres(s) => s.media_bytes_stored().await,
        }
    }

    /// Whether every migration this build knows has been applied to the database.
    pub async fn migrations_applied(&self) -> Result<bool, StorageError> {
        match &*self.backend {
            Backend::Sqlite(s) => s.migrations_applied().await,
            Backend::Postgres(s) => s.migrations_applied().await,
        }
    }
}
