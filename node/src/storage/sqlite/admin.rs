//! `AdminStore` on SQLite. Keep in step with `postgres/admin.rs` (same statements, `?`
//! placeholders instead of `$n`).

use sqlx::Connection as _;
use winichat_protocol::Timestamp;
use winichat_protocol::ids::{GroupId, NodeName, UserId};

use super::SqliteStorage;
use crate::storage::accounts::{like_prefix, user_columns};
use crate::storage::admin::{
    AdminGroup, AdminGroupRow, AdminStore, AdminUser, AdminUserRow, FederationList,
    federation_entry,
};
use crate::storage::{StorageError, db_error, parse_stored, stored_u64, to_i64};

/// [`StorageError::NotFound`] unless exactly one account row was changed.
fn one_user(rows: u64, user: &UserId) -> Result<(), StorageError> {
    if rows == 0 {
        Err(StorageError::NotFound(format!("user {user}")))
    } else {
        Ok(())
    }
}

#[async_trait::async_trait]
impl AdminStore for SqliteStorage {
    async fn any_admin(&self) -> Result<bool, StorageError> {
        sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM users WHERE admin AND disabled_at IS NULL \
             AND deleted_at IS NULL)",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)
    }

    async fn list_users(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AdminUser>, StorageError> {
        let pattern = like_prefix(prefix);
        sqlx::query_as::<_, AdminUserRow>(concat!(
            "SELECT ",
            user_columns!(),
            ", (SELECT COALESCE(SUM(m.size), 0) FROM media_uploads u \
               JOIN media m ON m.sha256 = u.sha256 WHERE u.user_id = users.id) AS media_bytes \
             FROM users WHERE (name LIKE ? ESCAPE '\\' OR display_name_lower LIKE ? ESCAPE '\\') \
             AND name > ? ORDER BY name LIMIT ?"
        ))
        .bind(&pattern)
        .bind(&pattern)
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(AdminUser::try_from)
        .collect()
    }

    async fn set_admin(&self, user: &UserId, admin: bool) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        let done = sqlx::query("UPDATE users SET admin = ? WHERE id = ? AND deleted_at IS NULL")
            .bind(admin)
            .bind(user.as_str())
            .execute(&mut *turn)
            .await
            .map_err(db_error)?;
        one_user(done.rows_affected(), user)
    }

    async fn set_disabled(&self, user: &UserId, at: Option<Timestamp>) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        let at = at.map(|t| to_i64(t.0, "disabled_at")).transpose()?;
        let done = sqlx::query(
            "UPDATE users SET disabled_at = CASE WHEN ? IS NULL THEN NULL \
             ELSE COALESCE(disabled_at, ?) END WHERE id = ? AND deleted_at IS NULL",
        )
        .bind(at)
        .bind(at)
        .bind(user.as_str())
        .execute(&mut *turn)
        .await
        .map_err(db_error)?;
        if done.rows_affected() == 0 {
            let exists =
                sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)")
                    .bind(user.as_str())
                    .fetch_one(&mut *turn)
                    .await
                    .map_err(db_error)?;
            return Err(if exists {
                StorageError::Conflict(format!("user {user} is deleted"))
            } else {
                StorageError::NotFound(format!("user {user}"))
            });
        }
        Ok(())
    }

    async fn set_quota(&self, user: &UserId, quota: Option<u64>) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        let quota = quota.map(|q| to_i64(q, "quota_bytes")).transpose()?;
        let done =
            sqlx::query("UPDATE users SET quota_bytes = ? WHERE id = ? AND deleted_at IS NULL")
                .bind(quota)
                .bind(user.as_str())
                .execute(&mut *turn)
                .await
                .map_err(db_error)?;
        one_user(done.rows_affected(), user)
    }

    async fn tombstone_user(&self, user: &UserId, at: Timestamp) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        let at = to_i64(at.0, "deleted_at")?;
        let mut tx = turn.begin().await.map_err(db_error)?;
        let done = sqlx::query(
            "UPDATE users SET deleted_at = ?, disabled_at = COALESCE(disabled_at, ?), \
             admin = FALSE, password_hash = '!', display_name = '', display_name_lower = '', \
             bio = '', avatar = NULL, quota_bytes = NULL WHERE id = ?",
        )
        .bind(at)
        .bind(at)
        .bind(user.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        one_user(done.rows_affected(), user)?;
        for statement in [
            "DELETE FROM media_refs WHERE user_id = ?",
            "DELETE FROM media_uploads WHERE user_id = ?",
        ] {
            sqlx::query(statement)
                .bind(user.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    }

    async fn groups_of(&self, user: &UserId) -> Result<Vec<GroupId>, StorageError> {
        sqlx::query_scalar::<_, String>(
            "SELECT group_id FROM chat_members WHERE user_id = ? ORDER BY group_id",
        )
        .bind(user.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .iter()
        .map(|g| parse_stored(g, "chat_members.group_id"))
        .collect()
    }

    async fn live_messages(
        &self,
        group: &GroupId,
        user: &UserId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<u64>, StorageError> {
        // Past the largest seq storable nothing is stored: an empty page.
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        sqlx::query_scalar::<_, i64>(
            "SELECT seq FROM timeline WHERE group_id = ? AND sender = ? AND seq > ? \
             AND is_message AND NOT deleted ORDER BY seq LIMIT ?",
        )
        .bind(group.as_str())
        .bind(user.as_str())
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|s| stored_u64(s, "timeline.seq"))
        .collect()
    }

    async fn list_groups(
        &self,
        after: Option<&GroupId>,
        limit: u32,
    ) -> Result<Vec<AdminGroup>, StorageError> {
        sqlx::query_as::<_, AdminGroupRow>(
            "SELECT c.group_id, c.kind, c.name, c.members, c.last_seq, c.deleted, \
             (SELECT COALESCE(SUM(LENGTH(e.raw)), 0) FROM events e WHERE e.group_id = c.group_id) \
             AS bytes FROM chats c WHERE c.group_id > ? ORDER BY c.group_id LIMIT ?",
        )
        .bind(after.map_or("", |g| g.as_str()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(AdminGroup::try_from)
        .collect()
    }

    async fn purge_group(&self, group: &GroupId, empty_body: &[u8]) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        let mut tx = turn.begin().await.map_err(db_error)?;
        let deleted = sqlx::query_scalar::<_, bool>("SELECT deleted FROM chats WHERE group_id = ?")
            .bind(group.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        match deleted {
            None => return Err(StorageError::NotFound(format!("group {group}"))),
            Some(false) => {
                return Err(StorageError::Conflict(format!(
                    "group {group} is not deleted"
                )));
            }
            Some(true) => {}
        }
        sqlx::query(
            "UPDATE timeline SET body = ?, deleted = TRUE, pinned = FALSE \
             WHERE group_id = ? AND is_message",
        )
        .bind(empty_body)
        .bind(group.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        for statement in [
            "DELETE FROM reactions WHERE group_id = ?",
            // The search index of the messages (its FTS5 table follows by trigger).
            "DELETE FROM message_texts WHERE group_id = ?",
            "DELETE FROM media_refs WHERE group_id = ?",
            "DELETE FROM chat_invites WHERE group_id = ?",
            "DELETE FROM invite_links WHERE group_id = ?",
            "DELETE FROM chat_members WHERE group_id = ?",
            "UPDATE chats SET members = 0 WHERE group_id = ?",
        ] {
            sqlx::query(statement)
                .bind(group.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    }

    async fn federation_lists(&self) -> Result<Vec<(NodeName, FederationList)>, StorageError> {
        sqlx::query_as::<_, (String, String)>(
            "SELECT node, list FROM federation_lists ORDER BY node",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .iter()
        .map(|(node, list)| federation_entry(node, list))
        .collect()
    }

    async fn set_federation_list(
        &self,
        node: &NodeName,
        list: Option<FederationList>,
        at: Timestamp,
    ) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        match list {
            Some(list) => sqlx::query(
                "INSERT INTO federation_lists (node, list, added_at) VALUES (?, ?, ?) \
                 ON CONFLICT (node) DO UPDATE SET list = excluded.list, added_at = excluded.added_at",
            )
            .bind(node.as_str())
            .bind(list.as_str())
            .bind(to_i64(at.0, "added_at")?),
            None => sqlx::query("DELETE FROM federation_lists WHERE node = ?").bind(node.as_str()),
        }
        .execute(&mut *turn)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}
