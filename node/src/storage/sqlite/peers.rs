//! `PeerStore` on SQLite.

use super::SqliteStorage;
use crate::storage::rows::{PeerRow, peer_columns};
use crate::storage::{Peer, PeerStore, StorageError, db_error, to_i64};
use winichat_protocol::Timestamp;
use winichat_protocol::ids::NodeName;

#[async_trait::async_trait]
impl PeerStore for SqliteStorage {
    async fn get(&self, node: &NodeName) -> Result<Option<Peer>, StorageError> {
        sqlx::query_as::<_, PeerRow>(concat!(
            "SELECT ",
            peer_columns!(),
            " FROM peers WHERE node = ?"
        ))
        .bind(node.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(Peer::try_from)
        .transpose()
    }

    async fn put(&self, peer: &Peer) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        let last_contact_at = peer
            .last_contact_at
            .map(|at| to_i64(at.0, "last_contact_at"))
            .transpose()?;
        sqlx::query(
            "INSERT INTO peers (node, public_key, fetched_at, failures, retry_at, last_error, \
             last_contact_at) VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (node) DO UPDATE SET public_key = excluded.public_key, \
             fetched_at = excluded.fetched_at, failures = excluded.failures, \
             retry_at = excluded.retry_at, last_error = excluded.last_error, \
             last_contact_at = COALESCE(excluded.last_contact_at, peers.last_contact_at)",
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
        .bind(last_contact_at)
        .execute(&mut *turn)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn record_contact(&self, node: &NodeName, at: Timestamp) -> Result<bool, StorageError> {
        let mut turn = self.write_turn().await?;
        let updated = sqlx::query(
            "UPDATE peers SET last_contact_at = ?, failures = 0, retry_at = 0, last_error = NULL \
             WHERE node = ?",
        )
        .bind(to_i64(at.0, "last_contact_at")?)
        .bind(node.as_str())
        .execute(&mut *turn)
        .await
        .map_err(db_error)?
        .rows_affected();
        Ok(updated == 1)
    }

    async fn record_failure(
        &self,
        node: &NodeName,
        error: &str,
        retry_at: Timestamp,
    ) -> Result<bool, StorageError> {
        let mut turn = self.write_turn().await?;
        let updated = sqlx::query(
            "UPDATE peers SET failures = CASE WHEN failures < 2147483647 THEN failures + 1 \
             ELSE failures END, retry_at = ?, last_error = ? WHERE node = ?",
        )
        .bind(to_i64(retry_at.0, "retry_at")?)
        .bind(error)
        .bind(node.as_str())
        .execute(&mut *turn)
        .await
        .map_err(db_error)?
        .rows_affected();
        Ok(updated == 1)
    }

    async fn list(&self) -> Result<Vec<Peer>, StorageError> {
        sqlx::query_as::<_, PeerRow>(concat!(
            "SELECT ",
            peer_columns!(),
            " FROM peers ORDER BY node"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(Peer::try_from)
        .collect()
    }
}
