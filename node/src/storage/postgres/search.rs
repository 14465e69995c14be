//! Message search on PostgreSQL: a GIN index over `to_tsvector('simple', text)` of
//! `message_texts` (see `storage::search`). Keep in step with `sqlite/search.rs`.

use winichat_protocol::Timestamp;

use super::PgStorage;
use crate::storage::search::{
    BACKFILL_PAGE, FoundMessage, MessageQuery, SearchPosition, SearchStore, body_text, index_text,
    start, tsquery,
};
use crate::storage::{StorageError, db_error, parse_stored, stored_u64};

/// A result row: group, seq, ts, sender, body.
type Row = (String, i64, i64, String, Vec<u8>);

#[async_trait::async_trait]
impl SearchStore for PgStorage {
    async fn search_messages(
        &self,
        query: &MessageQuery<'_>,
    ) -> Result<Vec<FoundMessage>, StorageError> {
        let (ts, group, seq) = start(query.after.as_ref())?;
        let only = query.group.map(|g| g.as_str());
        // The GIN index finds the matches; membership, deletion and the page follow by keys.
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT m.group_id, m.seq, t.ts, t.sender, t.body \
             FROM message_texts m \
             JOIN chat_members cm ON cm.group_id = m.group_id AND cm.user_id = $1 \
             JOIN chats c ON c.group_id = m.group_id \
             JOIN timeline t ON t.group_id = m.group_id AND t.seq = m.seq \
             WHERE to_tsvector('simple', m.text) @@ to_tsquery('simple', $2) \
             AND NOT c.deleted AND NOT t.deleted \
             AND ($3::text IS NULL OR m.group_id = $3) \
             AND (t.ts, m.group_id, m.seq) < ($4, $5, $6) \
             ORDER BY t.ts DESC, m.group_id DESC, m.seq DESC LIMIT $7",
        )
        .bind(query.user.as_str())
        .bind(tsquery(query.words))
        .bind(only)
        .bind(ts)
        .bind(group)
        .bind(seq)
        .bind(i64::from(query.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.into_iter().map(found).collect()
    }
}

fn found((group, seq, ts, sender, body): Row) -> Result<FoundMessage, StorageError> {
    Ok(FoundMessage {
        at: SearchPosition {
            ts: Timestamp(stored_u64(ts, "timeline.ts")?),
            group: parse_stored(&group, "message_texts.group_id")?,
            seq: stored_u64(seq, "message_texts.seq")?,
        },
        sender: parse_stored(&sender, "timeline.sender")?,
        text: body_text(&body).unwrap_or_default(),
    })
}

impl PgStorage {
    /// Indexes the messages posted before message search existed, a page at a time, then
    /// forgets the walk (migration 0009 starts it only when there are such messages). Runs at
    /// start-up before anything is served, so no commit can race it.
    pub(super) async fn backfill_search(&self) -> Result<(), StorageError> {
        loop {
            let mut tx = self.pool.begin().await.map_err(db_error)?;
            let Some((group, seq)): Option<(String, i64)> =
                sqlx::query_as("SELECT group_id, seq FROM search_backfill WHERE id = 1")
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_error)?
            else {
                return Ok(());
            };
            let page: Vec<(String, i64, Vec<u8>)> = sqlx::query_as(
                "SELECT group_id, seq, body FROM timeline \
                 WHERE is_message AND NOT deleted AND (group_id, seq) > ($1, $2) \
                 ORDER BY group_id, seq LIMIT $3",
            )
            .bind(&group)
            .bind(seq)
            .bind(i64::from(BACKFILL_PAGE))
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
            for (group, seq, body) in &page {
                if let Some(text) = index_text(body) {
                    sqlx::query(
                        "INSERT INTO message_texts (group_id, seq, text) VALUES ($1, $2, $3) \
                         ON CONFLICT (group_id, seq) DO NOTHING",
                    )
                    .bind(group)
                    .bind(seq)
                    .bind(text)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                }
            }
            match page.last() {
                Some((group, seq, _)) if page.len() == BACKFILL_PAGE as usize => {
                    sqlx::query("UPDATE search_backfill SET group_id = $1, seq = $2 WHERE id = 1")
                        .bind(group)
                        .bind(seq)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                }
                _ => {
                    sqlx::query("DELETE FROM search_backfill")
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                }
            }
            tx.commit().await.map_err(db_error)?;
        }
    }
}
