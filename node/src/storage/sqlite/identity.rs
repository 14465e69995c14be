//! `NodeIdentityStore` on SQLite.

use super::SqliteStorage;
use crate::storage::rows::IdentityRow;
use crate::storage::{NodeIdentity, NodeIdentityStore, StorageError, db_error, to_i64};

#[async_trait::async_trait]
impl NodeIdentityStore for SqliteStorage {
    async fn get(&self) -> Result<Option<NodeIdentity>, StorageError> {
        sqlx::query_as::<_, IdentityRow>(
            "SELECT name, public_key, created_at FROM node_identity WHERE singleton = 1",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(NodeIdentity::try_from)
        .transpose()
    }

    async fn insert(&self, identity: &NodeIdentity) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        sqlx::query(
            "INSERT INTO node_identity (singleton, name, public_key, created_at) \
             VALUES (1, ?, ?, ?)",
        )
        .bind(identity.name.as_str())
        .bind(identity.public_key.as_slice())
        .bind(to_i64(identity.created_at.0, "created_at")?)
        .execute(&mut *turn)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn replace_key(&self, public_key: &[u8; 32]) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        let done = sqlx::query("UPDATE node_identity SET public_key = ? WHERE singleton = 1")
            .bind(public_key.as_slice())
            .execute(&mut *turn)
            .await
            .map_err(db_error)?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StorageError::NotFound("node identity".to_owned()))
        }
    }
}
