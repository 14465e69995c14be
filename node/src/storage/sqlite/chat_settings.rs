//! `ChatSettingsStore` on SQLite.

use super::SqliteStorage;
use crate::storage::chat_settings::{ChatSettingsRow, ChatSettingsStore};
use crate::storage::{StorageError, db_error, parse_stored, stored_u64, to_i64};
use winichat_protocol::Timestamp;
use winichat_protocol::ids::{GroupId, UserId};

type Row = (Option<i64>, Option<i64>);

fn row_of((muted_until, pinned_at): Row) -> Result<ChatSettingsRow, StorageError> {
    let at = |v: Option<i64>, column| v.map(|v| stored_u64(v, column).map(Timestamp)).transpose();
    Ok(ChatSettingsRow {
        muted_until: at(muted_until, "muted_until")?,
        pinned_at: at(pinned_at, "pinned_at")?,
    })
}

fn column(v: Option<Timestamp>, what: &str) -> Result<Option<i64>, StorageError> {
    v.map(|t| to_i64(t.0, what)).transpose()
}

#[async_trait::async_trait]
impl ChatSettingsStore for SqliteStorage {
    async fn settings(
        &self,
        user: &UserId,
        group: &GroupId,
    ) -> Result<ChatSettingsRow, StorageError> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT muted_until, pinned_at FROM chat_settings WHERE user_id = ? AND group_id = ?",
        )
        .bind(user.as_str())
        .bind(group.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        row.map(row_of).transpose().map(Option::unwrap_or_default)
    }

    async fn settings_of(
        &self,
        user: &UserId,
    ) -> Result<Vec<(GroupId, ChatSettingsRow)>, StorageError> {
        let rows: Vec<(String, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT group_id, muted_until, pinned_at FROM chat_settings WHERE user_id = ?",
        )
        .bind(user.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.into_iter()
            .map(|(group, muted, pinned)| {
                Ok((parse_stored(&group, "group_id")?, row_of((muted, pinned))?))
            })
            .collect()
    }

    async fn put_settings(
        &self,
        user: &UserId,
        group: &GroupId,
        row: ChatSettingsRow,
    ) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        if row == ChatSettingsRow::default() {
            sqlx::query("DELETE FROM chat_settings WHERE user_id = ? AND group_id = ?")
                .bind(user.as_str())
                .bind(group.as_str())
                .execute(&mut *turn)
                .await
                .map_err(db_error)?;
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO chat_settings (user_id, group_id, muted_until, pinned_at) \
             VALUES (?, ?, ?, ?) ON CONFLICT (user_id, group_id) DO UPDATE SET \
             muted_until = excluded.muted_until, pinned_at = excluded.pinned_at",
        )
        .bind(user.as_str())
        .bind(group.as_str())
        .bind(column(row.muted_until, "muted_until")?)
        .bind(column(row.pinned_at, "pinned_at")?)
        .execute(&mut *turn)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}
