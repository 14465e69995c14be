//! `EventLog` on SQLite.

use super::SqliteStorage;
use crate::storage::rows::{self, EventRow, event_columns, not_next};
use crate::storage::{
    EventLog, NewEvent, StorageError, StoredEvent, db_error, parse_stored, stored_u64, to_i64,
};
use winichat_protocol::Timestamp;
use winichat_protocol::ids::{EventId, GroupId, NodeName};

type Tx<'a> = sqlx::Transaction<'a, sqlx::Sqlite>;

/// Appends `event` and its outbox rows inside `tx`, with the semantics of [`EventLog::append`]
/// (the head moves only from `seq - 1` / `prev`; [`StorageError::Conflict`] otherwise). Shared
/// with the chat projection, which writes its rows in the same transaction.
pub(super) async fn append_in(
    tx: &mut Tx<'_>,
    event: &NewEvent,
    outbox_destinations: &[NodeName],
) -> Result<(), StorageError> {
    let seq = to_i64(event.seq, "seq")?;
    let ts = to_i64(event.ts.0, "ts")?;
    let group = event.group.as_str();
    let id = event.id.to_string();
    let prev = event.prev.map(|p| p.to_string());
    if event.seq == 0 || (event.seq == 1) != prev.is_none() {
        return Err(StorageError::Conflict(format!(
            "event {id}: seq {} with prev {prev:?} cannot start or extend a log",
            event.seq
        )));
    }

    // Advance the head only if this event follows it; the WHERE clause is the check, so
    // there is no window between reading the head and moving it.
    let advanced = if event.seq == 1 {
        sqlx::query(
            "INSERT INTO groups (id, home_node, created_at, last_seq, last_event_id) \
             VALUES (?, ?, ?, 1, ?) \
             ON CONFLICT (id) DO UPDATE SET last_seq = 1, last_event_id = excluded.last_event_id \
             WHERE groups.last_seq = 0",
        )
        .bind(group)
        .bind(event.group.home().as_str())
        .bind(ts)
        .bind(&id)
        .execute(&mut **tx)
        .await
    } else {
        sqlx::query(
            "UPDATE groups SET last_seq = ?, last_event_id = ? \
             WHERE id = ? AND last_seq = ? AND last_event_id = ?",
        )
        .bind(seq)
        .bind(&id)
        .bind(group)
        .bind(seq - 1)
        .bind(prev.as_deref())
        .execute(&mut **tx)
        .await
    }
    .map_err(db_error)?
    .rows_affected()
        == 1;
    if !advanced {
        let head: Option<(i64, Option<String>)> =
            sqlx::query_as("SELECT last_seq, last_event_id FROM groups WHERE id = ?")
                .bind(group)
                .fetch_optional(&mut **tx)
                .await
                .map_err(db_error)?;
        return Err(not_next(&event.group, event.seq, head));
    }

    sqlx::query(
        "INSERT INTO events (group_id, seq, event_id, prev_id, ts, sender, kind, raw) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(group)
    .bind(seq)
    .bind(&id)
    .bind(prev.as_deref())
    .bind(ts)
    .bind(&event.sender)
    .bind(&event.kind)
    .bind(event.raw.as_slice())
    .execute(&mut **tx)
    .await
    .map_err(db_error)?;

    for destination in outbox_destinations {
        sqlx::query(
            "INSERT INTO outbox (destination, group_id, seq, event_id, next_attempt_at, created_at) \
             VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT (destination, event_id) DO NOTHING",
        )
        .bind(destination.as_str())
        .bind(group)
        .bind(seq)
        .bind(&id)
        .bind(ts)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    }

    Ok(())
}

#[async_trait::async_trait]
impl EventLog for SqliteStorage {
    async fn append(
        &self,
        event: &NewEvent,
        outbox_destinations: &[NodeName],
    ) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        // See the module docs of `sqlite` for why IMMEDIATE.
        let mut tx = super::begin_immediate(&mut turn).await?;

        append_in(&mut tx, event, outbox_destinations).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn last(&self, group: &GroupId) -> Result<Option<(u64, EventId)>, StorageError> {
        let head: Option<(i64, Option<String>)> =
            sqlx::query_as("SELECT last_seq, last_event_id FROM groups WHERE id = ?")
                .bind(group.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        match head {
            Some((seq, id)) => rows::head(seq, id),
            None => Ok(None),
        }
    }

    async fn homes_other_than(&self, me: &NodeName) -> Result<Vec<NodeName>, StorageError> {
        let homes: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT home_node FROM groups WHERE home_node <> ?")
                .bind(me.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
        homes
            .iter()
            .map(|h| parse_stored::<NodeName>(h, "groups.home_node"))
            .collect()
    }

    async fn newest_ts_homed_at(&self, home: &NodeName) -> Result<Option<Timestamp>, StorageError> {
        let newest: Option<i64> = sqlx::query_scalar(concat!(
            "SELECT MAX(e.ts) FROM events e JOIN groups g ON g.id = e.group_id ",
            "WHERE g.home_node = ?"
        ))
        .bind(home.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        newest
            .map(|ts| stored_u64(ts, "events.ts").map(Timestamp))
            .transpose()
    }

    async fn heads_homed_at(&self, home: &NodeName) -> Result<Vec<(GroupId, u64)>, StorageError> {
        let heads: Vec<(String, i64)> =
            sqlx::query_as("SELECT id, last_seq FROM groups WHERE home_node = ? ORDER BY id")
                .bind(home.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
        heads
            .iter()
            .map(|(group, seq)| {
                Ok((
                    parse_stored::<GroupId>(group, "groups.id")?,
                    stored_u64(*seq, "groups.last_seq")?,
                ))
            })
            .collect()
    }

    async fn range(
        &self,
        group: &GroupId,
        from_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StorageError> {
        let rows = sqlx::query_as::<_, EventRow>(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE group_id = ? AND seq >= ? ORDER BY seq ASC LIMIT ?"
        ))
        .bind(group.as_str())
        .bind(to_i64(from_seq, "from_seq")?)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows::events(rows)
    }

    async fn range_back(
        &self,
        group: &GroupId,
        before_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StorageError> {
        // Seqs above i64::MAX cannot be stored, so "before" such a seq means "before the end".
        let before = i64::try_from(before_seq).unwrap_or(i64::MAX);
        let rows = sqlx::query_as::<_, EventRow>(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE group_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?"
        ))
        .bind(group.as_str())
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows::events(rows)
    }

    async fn by_id(&self, id: &EventId) -> Result<Option<StoredEvent>, StorageError> {
        sqlx::query_as::<_, EventRow>(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE event_id = ?"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(StoredEvent::try_from)
        .transpose()
    }

    async fn by_ids(&self, ids: &[EventId]) -> Result<Vec<StoredEvent>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // SQLite has no array parameters: the ids go as one JSON array, so the statement stays
        // fixed (prepared once) whatever the batch size.
        let list = serde_json::Value::from(ids.iter().map(EventId::to_string).collect::<Vec<_>>())
            .to_string();
        let rows = sqlx::query_as::<_, EventRow>(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE event_id IN (SELECT value FROM json_each(?))"
        ))
        .bind(list)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows::events_in_order_of(ids, rows)
    }
}
