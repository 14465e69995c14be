//! `Outbox` on SQLite.

use super::SqliteStorage;
use crate::storage::rows::{OutboxRow, OutboxStatusRow};
use crate::storage::{
    Outbox, OutboxEntry, OutboxStatus, StorageError, db_error, parse_stored, stored_u64, to_i64,
};
use winichat_protocol::Timestamp;
use winichat_protocol::ids::{EventId, GroupId, NodeName};

#[async_trait::async_trait]
impl Outbox for SqliteStorage {
    async fn due(
        &self,
        destination: &NodeName,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, StorageError> {
        // Pinned to the (destination, id, next_attempt_at) index: walking it in id order stops
        // after `limit` rows, where the planner (having no statistics) would otherwise pick the
        // (destination, next_attempt_at) index and sort the whole backlog to return a page.
        sqlx::query_as::<_, OutboxRow>(
            "SELECT id, destination, group_id, seq, event_id, attempts, next_attempt_at, \
             last_error, created_at FROM outbox INDEXED BY outbox_destination_id \
             WHERE destination = ? AND next_attempt_at <= ? ORDER BY id LIMIT ?",
        )
        .bind(destination.as_str())
        .bind(to_i64(now.0, "now")?)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(OutboxEntry::try_from)
        .collect()
    }

    async fn ack(
        &self,
        destination: &NodeName,
        event_ids: &[EventId],
    ) -> Result<u64, StorageError> {
        // One statement whatever the number of ids (SQLite has no array parameters and caps
        // parameters per statement): the ids as a JSON array, unpacked by json_each.
        let ids: Vec<String> = event_ids.iter().map(EventId::to_string).collect();
        let json = serde_json::to_string(&ids).map_err(|e| StorageError::Other(e.to_string()))?;
        let mut turn = self.write_turn().await?;
        let deleted = sqlx::query(
            "DELETE FROM outbox WHERE destination = ? \
             AND event_id IN (SELECT value FROM json_each(?))",
        )
        .bind(destination.as_str())
        .bind(json)
        .execute(&mut *turn)
        .await
        .map_err(db_error)?
        .rows_affected();
        Ok(deleted)
    }

    async fn defer(
        &self,
        id: i64,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        let updated = sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? \
             WHERE id = ?",
        )
        .bind(to_i64(next_attempt_at.0, "next_attempt_at")?)
        .bind(error)
        .bind(id)
        .execute(&mut *turn)
        .await
        .map_err(db_error)?
        .rows_affected();
        if updated == 0 {
            return Err(StorageError::NotFound(format!("outbox row {id}")));
        }
        Ok(())
    }

    async fn destinations_with_due(&self, now: Timestamp) -> Result<Vec<NodeName>, StorageError> {
        // A skip scan over the distinct destinations (there are few; the rows may be many),
        // then one index seek each for a due row: never a walk over the whole backlog.
        let rows: Vec<(String,)> = sqlx::query_as(
            "WITH RECURSIVE d (destination) AS ( \
                 SELECT MIN(destination) FROM outbox \
                 UNION ALL \
                 SELECT (SELECT MIN(o.destination) FROM outbox o WHERE o.destination > d.destination) \
                 FROM d WHERE d.destination IS NOT NULL \
             ) \
             SELECT destination FROM d WHERE destination IS NOT NULL AND EXISTS ( \
                 SELECT 1 FROM outbox o WHERE o.destination = d.destination AND o.next_attempt_at <= ? \
             ) ORDER BY destination",
        )
        .bind(to_i64(now.0, "now")?)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|(d,)| parse_stored(d, "outbox.destination"))
            .collect()
    }

    async fn reset_backoff(&self, destination: &NodeName) -> Result<u64, StorageError> {
        // 0 is "due at any time": no clock is needed to make a row due now.
        let mut turn = self.write_turn().await?;
        let updated = sqlx::query(
            "UPDATE outbox SET next_attempt_at = 0, attempts = 0 WHERE destination = ? \
             AND (next_attempt_at > 0 OR attempts > 0)",
        )
        .bind(destination.as_str())
        .execute(&mut *turn)
        .await
        .map_err(db_error)?
        .rows_affected();
        Ok(updated)
    }

    async fn status(&self) -> Result<Vec<OutboxStatus>, StorageError> {
        // One pass over the outbox (an operator's command, not a hot path); the error shown is
        // that of the first failing row in delivery order, the one the sender is stuck on.
        sqlx::query_as::<_, OutboxStatusRow>(
            "SELECT o.destination, COUNT(*) AS depth, MIN(o.created_at) AS oldest_created_at, \
             (SELECT e.last_error FROM outbox e WHERE e.destination = o.destination \
              AND e.last_error IS NOT NULL ORDER BY e.id LIMIT 1) AS last_error, \
             MAX(o.attempts) AS max_attempts \
             FROM outbox o GROUP BY o.destination ORDER BY o.destination",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(OutboxStatus::try_from)
        .collect()
    }

    async fn depth(&self, destination: &NodeName) -> Result<u64, StorageError> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE destination = ?")
            .bind(destination.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        stored_u64(count, "outbox count")
    }

    async fn has_pending(
        &self,
        destination: &NodeName,
        group: &GroupId,
    ) -> Result<bool, StorageError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM outbox WHERE destination = ? AND group_id = ? LIMIT 1",
        )
        .bind(destination.as_str())
        .bind(group.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(found.is_some())
    }
}
