//! Figures for the metrics and the readiness check.

use super::{MIGRATOR, PgStorage};
use crate::storage::stats::PoolStats;
use crate::storage::{StorageError, db_error};

impl PgStorage {
    pub(crate) fn pool_stats(&self) -> PoolStats {
        let open = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        PoolStats {
            in_use: open.saturating_sub(idle),
            idle,
        }
    }

    pub(crate) async fn media_bytes_stored(&self) -> Result<u64, StorageError> {
        let total: i64 =
            sqlx::query_scalar("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM media")
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
        Ok(u64::try_from(total).unwrap_or(0))
    }

    pub(crate) async fn migrations_applied(&self) -> Result<bool, StorageError> {
        let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
        Ok(applied.unwrap_or(0) >= latest)
    }
}
