//! `AccountStore` on SQLite. Keep in step with `postgres/accounts.rs` (same statements, `?`
//! placeholders instead of `$n`, and `BEGIN IMMEDIATE` for read-then-write transactions).

use super::SqliteStorage;
use crate::storage::accounts::{
    AccountStore, NewUser, RefreshOutcome, SessionRecord, SessionRow, UserRecord, UserRow,
    like_prefix, search_key, session_columns, user_columns,
};
use crate::storage::{StorageError, db_error, to_i64};
use sqlx::Connection as _;
use winichat_protocol::Timestamp;
use winichat_protocol::ids::{MediaId, UserId};

type Tx<'a> = sqlx::Transaction<'a, sqlx::Sqlite>;

async fn insert_user(tx: &mut Tx<'_>, user: &NewUser) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO users (id, name, password_hash, display_name, display_name_lower, bio, \
         created_at) VALUES (?, ?, ?, ?, ?, '', ?)",
    )
    .bind(user.id.as_str())
    .bind(user.id.name())
    .bind(&user.password_hash)
    .bind(&user.display_name)
    .bind(search_key(&user.display_name))
    .bind(to_i64(user.created_at.0, "created_at")?)
    .execute(&mut **tx)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn session_in(tx: &mut Tx<'_>, id: &str) -> Result<Option<SessionRecord>, StorageError> {
    sqlx::query_as::<_, SessionRow>(concat!(
        "SELECT ",
        session_columns!(),
        " FROM sessions WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_error)?
    .map(SessionRecord::try_from)
    .transpose()
}

#[async_trait::async_trait]
impl AccountStore for SqliteStorage {
    async fn create_user(&self, user: &NewUser) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        let mut tx = turn.begin().await.map_err(db_error)?;
        insert_user(&mut tx, user).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn create_user_with_token(
        &self,
        user: &NewUser,
        token_hash: &[u8; 32],
    ) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        let mut tx = super::begin_immediate(&mut turn).await?;
        let now = to_i64(user.created_at.0, "created_at")?;
        let used = sqlx::query(
            "UPDATE registration_tokens SET uses_left = uses_left - 1 \
             WHERE token_hash = ? AND (expires_at IS NULL OR expires_at > ?) \
             AND (uses_left IS NULL OR uses_left > 0)",
        )
        .bind(token_hash.as_slice())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?
        .rows_affected();
        if used != 1 {
            return Err(StorageError::NotFound("registration token".into()));
        }
        insert_user(&mut tx, user).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn registration_token_usable(
        &self,
        token_hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<bool, StorageError> {
        let found = sqlx::query(
            "SELECT 1 FROM registration_tokens \
             WHERE token_hash = ? AND (expires_at IS NULL OR expires_at > ?) \
             AND (uses_left IS NULL OR uses_left > 0)",
        )
        .bind(token_hash.as_slice())
        .bind(to_i64(now.0, "now")?)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(found.is_some())
    }

    async fn user(&self, id: &UserId) -> Result<Option<UserRecord>, StorageError> {
        sqlx::query_as::<_, UserRow>(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = ?"
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(UserRecord::try_from)
        .transpose()
    }

    async fn set_password(&self, id: &UserId, password_hash: &str) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        let n = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(id.as_str())
            .execute(&mut *turn)
            .await
            .map_err(db_error)?
            .rows_affected();
        if n == 1 {
            Ok(())
        } else {
            Err(StorageError::NotFound(format!("user {id}")))
        }
    }

    async fn update_profile(
        &self,
        id: &UserId,
        display_name: Option<&str>,
        bio: Option<&str>,
    ) -> Result<UserRecord, StorageError> {
        let mut turn = self.write_turn().await?;
        let row = sqlx::query_as::<_, UserRow>(concat!(
            "UPDATE users SET display_name = COALESCE(?, display_name), \
             display_name_lower = COALESCE(?, display_name_lower), bio = COALESCE(?, bio) \
             WHERE id = ? RETURNING ",
            user_columns!()
        ))
        .bind(display_name)
        .bind(display_name.map(search_key))
        .bind(bio)
        .bind(id.as_str())
        .fetch_optional(&mut *turn)
        .await
        .map_err(db_error)?;
        match row {
            Some(row) => UserRecord::try_from(row),
            None => Err(StorageError::NotFound(format!("user {id}"))),
        }
    }

    async fn set_avatar(
        &self,
        id: &UserId,
        avatar: Option<&MediaId>,
    ) -> Result<UserRecord, StorageError> {
        let mut turn = self.write_turn().await?;
        let mut tx = turn.begin().await.map_err(db_error)?;
        let row = sqlx::query_as::<_, UserRow>(concat!(
            "UPDATE users SET avatar = ? WHERE id = ? RETURNING ",
            user_columns!()
        ))
        .bind(avatar.map(ToString::to_string))
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        let Some(row) = row else {
            return Err(StorageError::NotFound(format!("user {id}")));
        };
        sqlx::query("DELETE FROM media_refs WHERE user_id = ?")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        if let Some(avatar) = avatar {
            sqlx::query(
                "INSERT INTO media_refs (sha256, group_id, seq, user_id, public) \
                 VALUES (?, NULL, NULL, ?, TRUE)",
            )
            .bind(hex::encode(avatar.sha256))
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        UserRecord::try_from(row)
    }

    async fn search_users(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRecord>, StorageError> {
        let pattern = like_prefix(prefix);
        // A later word of the display name: the prefix right after a space.
        let later_word = format!("% {pattern}");
        sqlx::query_as::<_, UserRow>(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE (name LIKE ? ESCAPE '\\' OR display_name_lower LIKE ? ESCAPE '\\' \
             OR display_name_lower LIKE ? ESCAPE '\\') AND name > ? AND deleted_at IS NULL \
             ORDER BY name LIMIT ?"
        ))
        .bind(&pattern)
        .bind(&pattern)
        .bind(&later_word)
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(UserRecord::try_from)
        .collect()
    }

    async fn create_session(
        &self,
        session: &SessionRecord,
        refresh_hash: &[u8; 32],
        refresh_expires_at: Timestamp,
    ) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        let mut tx = turn.begin().await.map_err(db_error)?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, device, created_at, last_used_at, revoked_at) \
             VALUES (?, ?, ?, ?, ?, NULL)",
        )
        .bind(&session.id)
        .bind(session.user.as_str())
        .bind(&session.device)
        .bind(to_i64(session.created_at.0, "created_at")?)
        .bind(to_i64(session.last_used_at.0, "last_used_at")?)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at, \
             rotated_at) VALUES (?, ?, ?, ?, NULL)",
        )
        .bind(refresh_hash.as_slice())
        .bind(&session.id)
        .bind(to_i64(session.created_at.0, "created_at")?)
        .bind(to_i64(refresh_expires_at.0, "expires_at")?)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }

    async fn session(&self, id: &str) -> Result<Option<SessionRecord>, StorageError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let s = session_in(&mut tx, id).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(s)
    }

    async fn active_sessions(&self, user: &UserId) -> Result<Vec<SessionRecord>, StorageError> {
        sqlx::query_as::<_, SessionRow>(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE user_id = ? AND revoked_at IS NULL \
             ORDER BY created_at DESC, id"
        ))
        .bind(user.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(SessionRecord::try_from)
        .collect()
    }

    async fn revoke_session(
        &self,
        user: &UserId,
        id: &str,
        now: Timestamp,
    ) -> Result<bool, StorageError> {
        let mut turn = self.write_turn().await?;
        let n = sqlx::query(
            "UPDATE sessions SET revoked_at = ? \
             WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
        )
        .bind(to_i64(now.0, "now")?)
        .bind(id)
        .bind(user.as_str())
        .execute(&mut *turn)
        .await
        .map_err(db_error)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn revoke_other_sessions(
        &self,
        user: &UserId,
        except: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<String>, StorageError> {
        let mut turn = self.write_turn().await?;
        let rows: Vec<(String,)> = sqlx::query_as(
            "UPDATE sessions SET revoked_at = ? \
             WHERE user_id = ? AND revoked_at IS NULL AND id IS NOT ? RETURNING id",
        )
        .bind(to_i64(now.0, "now")?)
        .bind(user.as_str())
        .bind(except)
        .fetch_all(&mut *turn)
        .await
        .map_err(db_error)?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn rotate_refresh(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        now: Timestamp,
        new_expires_at: Timestamp,
        grace_ms: u64,
    ) -> Result<RefreshOutcome, StorageError> {
        let mut turn = self.write_turn().await?;
        let now_i = to_i64(now.0, "now")?;
        let mut tx = super::begin_immediate(&mut turn).await?;
        // The rotation itself: one conditional update; of two concurrent uses one matches.
        let session_id: Option<(String,)> = sqlx::query_as(
            "UPDATE refresh_tokens SET rotated_at = ? \
             WHERE token_hash = ? AND rotated_at IS NULL AND expires_at > ? \
             AND session_id IN (SELECT id FROM sessions WHERE revoked_at IS NULL) \
             RETURNING session_id",
        )
        .bind(now_i)
        .bind(old_hash.as_slice())
        .bind(now_i)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        if let Some((session_id,)) = session_id {
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at, \
                 rotated_at) VALUES (?, ?, ?, ?, NULL)",
            )
            .bind(new_hash.as_slice())
            .bind(&session_id)
            .bind(now_i)
            .bind(to_i64(new_expires_at.0, "expires_at")?)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
            sqlx::query("UPDATE sessions SET last_used_at = ? WHERE id = ?")
                .bind(now_i)
                .bind(&session_id)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            let session = session_in(&mut tx, &session_id).await?;
            tx.commit().await.map_err(db_error)?;
            return Ok(match session {
                Some(s) => RefreshOutcome::Rotated(s),
                None => RefreshOutcome::Invalid,
            });
        }
        let row: Option<(String, Option<i64>)> = sqlx::query_as(
            "SELECT session_id, rotated_at FROM refresh_tokens WHERE token_hash = ?",
        )
        .bind(old_hash.as_slice())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        let outcome = match row {
            Some((session_id, Some(rotated_at))) => {
                if now_i.saturating_sub(rotated_at) <= to_i64(grace_ms, "grace")? {
                    RefreshOutcome::AlreadyRotated
                } else {
                    let n = sqlx::query(
                        "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    )
                    .bind(now_i)
                    .bind(&session_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?
                    .rows_affected();
                    match session_in(&mut tx, &session_id).await? {
                        Some(s) if n == 1 => RefreshOutcome::Reused(s),
                        _ => RefreshOutcome::Invalid,
                    }
                }
            }
            _ => RefreshOutcome::Invalid,
        };
        tx.commit().await.map_err(db_error)?;
        Ok(outcome)
    }

    async fn add_registration_token(
        &self,
        token_hash: &[u8; 32],
        uses: Option<u32>,
        expires_at: Option<Timestamp>,
        created_at: Timestamp,
    ) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        sqlx::query(
            "INSERT INTO registration_tokens (token_hash, uses_left, expires_at, created_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(token_hash.as_slice())
        .bind(uses.map(i64::from))
        .bind(expires_at.map(|t| to_i64(t.0, "expires_at")).transpose()?)
        .bind(to_i64(created_at.0, "created_at")?)
        .execute(&mut *turn)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}
