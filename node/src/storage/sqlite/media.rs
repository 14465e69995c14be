//! `MediaStore` on SQLite. Keep in step with `postgres/media.rs` (same statements, `?`
//! placeholders instead of `$n`, and `BEGIN IMMEDIATE` for the upload, which reads before it
//! writes).

use super::SqliteStorage;
use crate::storage::media::{
    MediaDbRow, MediaRecord, MediaStore, kind_text, media_columns, node_suffix, records,
    sha_from_text, sha_text, thumbs_text, to_i32,
};
use crate::storage::{StorageError, db_error, stored_u64, to_i64};
use winichat_protocol::Timestamp;
use winichat_protocol::ids::{NodeName, UserId};

#[async_trait::async_trait]
impl MediaStore for SqliteStorage {
    async fn record_upload_raw(
        &self,
        media: &MediaRecord,
        user: &UserId,
        raw: Option<&[u8; 32]>,
        at: Timestamp,
    ) -> Result<bool, StorageError> {
        let mut turn = self.write_turn().await?;
        let raw = raw.map(sha_text);
        let sha = sha_text(&media.sha256);
        let at = to_i64(at.0, "uploaded_at")?;
        let mut tx = super::begin_immediate(&mut turn).await?;
        sqlx::query(
            "INSERT INTO media (sha256, kind, mime, size, width, height, duration_ms, blurhash, \
             thumbs, created_at, touched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (sha256) DO UPDATE SET touched_at = MAX(touched_at, excluded.touched_at), \
             origin = NULL, origin_public = 0",
        )
        .bind(&sha)
        .bind(kind_text(media.kind))
        .bind(&media.mime)
        .bind(to_i64(media.size, "size")?)
        .bind(media.width.map(|v| to_i32(v, "width")).transpose()?)
        .bind(media.height.map(|v| to_i32(v, "height")).transpose()?)
        .bind(
            media
                .duration_ms
                .map(|v| to_i64(v, "duration_ms"))
                .transpose()?,
        )
        .bind(media.blurhash.as_deref())
        .bind(thumbs_text(&media.thumbs))
        .bind(at)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        let inserted = sqlx::query(
            "INSERT INTO media_uploads (user_id, sha256, uploaded_at, raw_sha256) \
             VALUES (?, ?, ?, ?) ON CONFLICT (user_id, sha256) DO NOTHING",
        )
        .bind(user.as_str())
        .bind(&sha)
        .bind(at)
        .bind(raw.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?
        .rows_affected()
            == 1;
        if !inserted {
            sqlx::query(
                "UPDATE media_uploads SET uploaded_at = ?, \
                 raw_sha256 = COALESCE(?, raw_sha256) WHERE user_id = ? AND sha256 = ?",
            )
            .bind(at)
            .bind(raw.as_deref())
            .bind(user.as_str())
            .bind(&sha)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(inserted)
    }

    async fn uploaded_as(
        &self,
        user: &UserId,
        sha256: &[u8; 32],
    ) -> Result<Option<[u8; 32]>, StorageError> {
        let sha = sha_text(sha256);
        sqlx::query_scalar::<_, String>(
            "SELECT sha256 FROM media_uploads \
             WHERE user_id = ? AND (sha256 = ? OR raw_sha256 = ?) LIMIT 1",
        )
        .bind(user.as_str())
        .bind(&sha)
        .bind(&sha)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(|text| sha_from_text(&text))
        .transpose()
    }

    async fn get(&self, sha256: &[u8; 32]) -> Result<Option<MediaRecord>, StorageError> {
        sqlx::query_as::<_, MediaDbRow>(concat!(
            "SELECT ",
            media_columns!(),
            " FROM media WHERE sha256 = ?"
        ))
        .bind(sha_text(sha256))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(MediaRecord::try_from)
        .transpose()
    }

    async fn uploaded_by(&self, user: &UserId, sha256: &[u8; 32]) -> Result<bool, StorageError> {
        sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM media_uploads WHERE user_id = ? AND sha256 = ?)",
        )
        .bind(user.as_str())
        .bind(sha_text(sha256))
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)
    }

    async fn usage(&self, user: &UserId) -> Result<u64, StorageError> {
        let total = sqlx::query_scalar::<_, i64>(
            "SELECT COALESCE(SUM(m.size), 0) FROM media_uploads u \
             JOIN media m ON m.sha256 = u.sha256 WHERE u.user_id = ?",
        )
        .bind(user.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        stored_u64(total, "sum of media.size")
    }

    async fn may_view(&self, user: &UserId, sha256: &[u8; 32]) -> Result<bool, StorageError> {
        let sha = sha_text(sha256);
        sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM media_uploads WHERE user_id = ? AND sha256 = ?) \
             OR EXISTS (SELECT 1 FROM media_refs WHERE sha256 = ? AND public) \
             OR EXISTS (SELECT 1 FROM media WHERE sha256 = ? AND origin IS NOT NULL \
                        AND origin_public) \
             OR EXISTS (SELECT 1 FROM media_refs r \
                        JOIN chat_members m ON m.group_id = r.group_id \
                        WHERE r.sha256 = ? AND m.user_id = ?)",
        )
        .bind(user.as_str())
        .bind(&sha)
        .bind(&sha)
        .bind(&sha)
        .bind(&sha)
        .bind(user.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)
    }

    async fn record_remote(
        &self,
        media: &MediaRecord,
        origin: &NodeName,
        public: bool,
    ) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        let at = to_i64(media.touched_at.0, "touched_at")?;
        sqlx::query(
            "INSERT INTO media (sha256, kind, mime, size, width, height, duration_ms, blurhash, \
             thumbs, created_at, touched_at, origin, origin_public) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (sha256) DO UPDATE SET touched_at = MAX(touched_at, excluded.touched_at)",
        )
        .bind(sha_text(&media.sha256))
        .bind(kind_text(media.kind))
        .bind(&media.mime)
        .bind(to_i64(media.size, "size")?)
        .bind(media.width.map(|v| to_i32(v, "width")).transpose()?)
        .bind(media.height.map(|v| to_i32(v, "height")).transpose()?)
        .bind(
            media
                .duration_ms
                .map(|v| to_i64(v, "duration_ms"))
                .transpose()?,
        )
        .bind(media.blurhash.as_deref())
        .bind(thumbs_text(&media.thumbs))
        .bind(to_i64(media.created_at.0, "created_at")?)
        .bind(at)
        .bind(origin.as_str())
        .bind(public)
        .execute(&mut *turn)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn is_remote_copy(&self, sha256: &[u8; 32]) -> Result<bool, StorageError> {
        sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM media WHERE sha256 = ? AND origin IS NOT NULL)",
        )
        .bind(sha_text(sha256))
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)
    }

    async fn peer_access(
        &self,
        peer: &NodeName,
        sha256: &[u8; 32],
    ) -> Result<Option<bool>, StorageError> {
        let sha = sha_text(sha256);
        let (suffix, len) = node_suffix(peer);
        let (public, member) = sqlx::query_as::<_, (bool, bool)>(
            "SELECT EXISTS (SELECT 1 FROM media_refs WHERE sha256 = ?1 AND public), \
             EXISTS (SELECT 1 FROM media_refs r JOIN chat_members m ON m.group_id = r.group_id \
                     WHERE r.sha256 = ?1 AND substr(m.user_id, -?2) = ?3) \
             OR EXISTS (SELECT 1 FROM media_refs r JOIN chat_invites i ON i.group_id = r.group_id \
                        WHERE r.sha256 = ?1 AND substr(i.user_id, -?2) = ?3)",
        )
        .bind(&sha)
        .bind(len)
        .bind(&suffix)
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        Ok((public || member).then_some(public))
    }

    async fn touch(&self, sha256: &[u8; 32], at: Timestamp) -> Result<bool, StorageError> {
        let mut turn = self.write_turn().await?;
        let sha = sha_text(sha256);
        let at = to_i64(at.0, "touched_at")?;
        let changed =
            sqlx::query("UPDATE media SET touched_at = MAX(touched_at, ?) WHERE sha256 = ?")
                .bind(at)
                .bind(&sha)
                .execute(&mut *turn)
                .await
                .map_err(db_error)?
                .rows_affected();
        Ok(changed == 1)
    }

    async fn unreferenced(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<MediaRecord>, StorageError> {
        let rows = sqlx::query_as::<_, MediaDbRow>(concat!(
            "SELECT ",
            media_columns!(),
            " FROM media m WHERE touched_at < ? \
             AND NOT EXISTS (SELECT 1 FROM media_refs r WHERE r.sha256 = m.sha256) \
             ORDER BY touched_at, sha256 LIMIT ?"
        ))
        .bind(to_i64(before.0, "before")?)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        records(rows)
    }

    async fn delete_unreferenced(
        &self,
        sha256: &[u8; 32],
        before: Timestamp,
    ) -> Result<bool, StorageError> {
        let mut turn = self.write_turn().await?;
        let deleted = sqlx::query(
            "DELETE FROM media WHERE sha256 = ? AND touched_at < ? \
             AND NOT EXISTS (SELECT 1 FROM media_refs r WHERE r.sha256 = media.sha256)",
        )
        .bind(sha_text(sha256))
        .bind(to_i64(before.0, "before")?)
        .execute(&mut *turn)
        .await
        .map_err(db_error)?
        .rows_affected();
        Ok(deleted == 1)
    }
}
