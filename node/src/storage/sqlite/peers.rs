//! `PeerStore` on SQLite.

use super::SqliteStorage;
use crate::storage::rows::PeerRow;
use crate::storage::{Peer, PeerStore, StorageError, db_error, to_i64};
use winichat_protocol::ids::NodeName;

#[async_trait::async_trait]
impl PeerStore for SqliteStorage {
    async fn get(&self, node: &NodeName) -> Result<Option<Peer>, StorageError> {
        sqlx::query_as::<_, PeerRow>(
            "SELECT node, public_key, fetched_at, failures, retry_at, last_error \
             FROM peers WHERE node = ?",
        )
        .bind(node.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(Peer::try_from)
        .transpose()
    }

    async fn put(&self, peer: &Peer) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO peers (node, public_key, fetched_at, failures, retry_at, last_error) \
             VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (node) DO UPDATE SET public_key = excluded.public_key, \
             fetched_at = excluded.fetched_at, failures = excluded.failures, \
             retry_at = excluded.retry_at, last_error = excluded.last_error",
        )
        .bind(peer.node.as_str())
        .bind(peer.public_key.as_slice())
        .bind(to_i64(peer.fetched_at.0, "fetched_at")?)
        .bind(
            i32::try_from(peer.failures)
                .map_err(|_| StorageError::Other("peer failure count out of range".into()))?,
        )
        .bind(to_i64(peer.retry_at.0, "retry_at")?)
        .bind(peer.last_error.as_deref())
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}
