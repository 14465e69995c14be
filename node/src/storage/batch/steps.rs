//! The multi-row statements of a [`BatchPlan`], bound and ready for either backend.
//!
//! A backend writes a plan as: [`log_steps`], its own whole chat rows (one by one, in order),
//! [`row_steps`], its own ordered ops (one by one), then [`closing_steps`] — running each
//! [`Step`] and checking it with [`outcome`]. The statements vary with the row count:
//! they are prepared per use rather than kept in the connection's statement cache, where they
//! would push out the reads' statements (one-row statements, a few fixed texts, are kept).

use std::collections::HashMap;

use sqlx::{AssertSqlSafe, Database};
use winichat_protocol::ids::GroupId;

use super::{BatchPlan, MAX_ROWS_PER_STATEMENT};
use crate::storage::sqlite::chats::{handle_key, name_key};
use crate::storage::{StorageError, db_error, to_i64};

/// A query whose values are all bound (owned).
pub(crate) type Query<DB> = sqlx::query::Query<'static, DB, <DB as Database>::Arguments>;

/// What the plan's statements need of a backend: its placeholders, and binding the column
/// types the schema uses.
pub(crate) trait PlanDb: Database + sqlx::database::HasStatementCache {
    /// How parameters are written.
    const PLACEHOLDERS: Placeholders;
    /// Binds an integer.
    fn int(query: Query<Self>, value: i64) -> Query<Self>;
    /// Binds an integer or NULL.
    fn opt_int(query: Query<Self>, value: Option<i64>) -> Query<Self>;
    /// Binds text.
    fn text(query: Query<Self>, value: &str) -> Query<Self>;
    /// Binds text or NULL.
    fn opt_text(query: Query<Self>, value: Option<&str>) -> Query<Self>;
    /// Binds bytes.
    fn bytes(query: Query<Self>, value: &[u8]) -> Query<Self>;
    /// Binds a boolean.
    fn flag(query: Query<Self>, value: bool) -> Query<Self>;
}

macro_rules! plan_db {
    ($db:ty, $placeholders:expr) => {
        impl PlanDb for $db {
            const PLACEHOLDERS: Placeholders = $placeholders;
            fn int(query: Query<Self>, value: i64) -> Query<Self> {
                query.bind(value)
            }
            fn opt_int(query: Query<Self>, value: Option<i64>) -> Query<Self> {
                query.bind(value)
            }
            fn text(query: Query<Self>, value: &str) -> Query<Self> {
                query.bind(value.to_owned())
            }
            fn opt_text(query: Query<Self>, value: Option<&str>) -> Query<Self> {
                query.bind(value.map(str::to_owned))
            }
            fn bytes(query: Query<Self>, value: &[u8]) -> Query<Self> {
                query.bind(value.to_vec())
            }
            fn flag(query: Query<Self>, value: bool) -> Query<Self> {
                query.bind(value)
            }
        }
    };
}
plan_db!(sqlx::Sqlite, Placeholders::Question);
plan_db!(sqlx::Postgres, Placeholders::Numbered);

/// How a backend numbers bound parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placeholders {
    /// `?` (SQLite).
    Question,
    /// `$1`, `$2`… (PostgreSQL).
    Numbered,
}

/// `VALUES (…), (…)…` for `rows` rows of `columns` parameters each.
pub(crate) fn values(placeholders: Placeholders, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(8 + rows * (columns * 5 + 4));
    sql.push_str("VALUES ");
    let mut n = 0usize;
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            n += 1;
            match placeholders {
                Placeholders::Question => sql.push('?'),
                Placeholders::Numbered => {
                    sql.push('$');
                    sql.push_str(&n.to_string());
                }
            }
        }
        sql.push(')');
    }
    sql
}

/// One statement of a plan, and what it must do to count as written.
pub(crate) struct Step<DB: Database> {
    /// The bound statement.
    pub query: Query<DB>,
    /// The rows it must touch (None: any number, e.g. inserts that skip duplicates).
    pub expect: Option<usize>,
    /// What it writes, for errors.
    pub what: &'static str,
}

/// The outcome of running a step that touched `ran` rows (or failed): a unique violation or
/// rows not found are a conflict — the batch is then written commit by commit, which finds the
/// commit at fault.
pub(crate) fn outcome(
    expect: Option<usize>,
    what: &str,
    ran: Result<u64, sqlx::Error>,
) -> Result<(), StorageError> {
    let touched = match ran {
        Ok(touched) => touched,
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            return Err(StorageError::Conflict(format!("{what}: {db}")));
        }
        Err(other) => return Err(db_error(other)),
    };
    match expect {
        Some(expected) if usize::try_from(touched).ok() != Some(expected) => Err(
            StorageError::Conflict(format!("{what}: {touched} of {expected} rows written")),
        ),
        _ => Ok(()),
    }
}

/// A multi-row statement being bound, row after row.
struct Rows<DB: PlanDb> {
    query: Query<DB>,
}

impl<DB: PlanDb> Rows<DB> {
    fn new(statement: fn(Placeholders, usize) -> String, rows: usize) -> Self {
        let sql = statement(DB::PLACEHOLDERS, rows);
        Rows {
            query: sqlx::query(AssertSqlSafe(sql)).persistent(rows == 1),
        }
    }
    fn int(self, value: i64) -> Self {
        Rows {
            query: DB::int(self.query, value),
        }
    }
    fn opt_int(self, value: Option<i64>) -> Self {
        Rows {
            query: DB::opt_int(self.query, value),
        }
    }
    fn text(self, value: &str) -> Self {
        Rows {
            query: DB::text(self.query, value),
        }
    }
    fn opt_text(self, value: Option<&str>) -> Self {
        Rows {
            query: DB::opt_text(self.query, value),
        }
    }
    fn bytes(self, value: &[u8]) -> Self {
        Rows {
            query: DB::bytes(self.query, value),
        }
    }
    fn flag(self, value: bool) -> Self {
        Rows {
            query: DB::flag(self.query, value),
        }
    }
    fn step(self, expect: Option<usize>, what: &'static str) -> Step<DB> {
        Step {
            query: self.query,
            expect,
            what,
        }
    }
}

/// The log: every group's head moves (each must still be where the group's first event of the
/// batch expects it — the WHERE clause is the check), the events, the outbox rows.
pub(crate) fn log_steps<DB: PlanDb>(plan: &BatchPlan<'_>) -> Result<Vec<Step<DB>>, StorageError> {
    let mut steps = Vec::new();
    let (new, moving): (Vec<_>, Vec<_>) = plan.heads.iter().partition(|h| h.starts_log());
    for head in new {
        let group = &head.first.group;
        let rows = Rows::<DB>::new(statements::new_head, 1)
            .text(group.as_str())
            .text(group.home().as_str())
            .int(to_i64(head.first.ts.0, "ts")?)
            .int(to_i64(head.last.seq, "seq")?)
            .text(&head.last.id.to_string());
        steps.push(rows.step(Some(1), "a new log's head"));
    }
    for chunk in moving.chunks(MAX_ROWS_PER_STATEMENT) {
        let mut rows = Rows::<DB>::new(statements::heads, chunk.len());
        for head in chunk {
            rows = rows
                .text(head.first.group.as_str())
                .int(to_i64(head.last.seq, "seq")?)
                .text(&head.last.id.to_string())
                .int(to_i64(head.first.seq - 1, "seq")?)
                .opt_text(head.first.prev.map(|p| p.to_string()).as_deref());
        }
        steps.push(rows.step(Some(chunk.len()), "log heads"));
    }
    for chunk in plan.events.chunks(MAX_ROWS_PER_STATEMENT) {
        let mut rows = Rows::<DB>::new(statements::events, chunk.len());
        for event in chunk {
            rows = rows
                .text(event.group.as_str())
                .int(to_i64(event.seq, "seq")?)
                .text(&event.id.to_string())
                .opt_text(event.prev.map(|p| p.to_string()).as_deref())
                .int(to_i64(event.ts.0, "ts")?)
                .text(&event.sender)
                .text(&event.kind)
                .bytes(&event.raw);
        }
        steps.push(rows.step(Some(chunk.len()), "events"));
    }
    for chunk in plan.outbox.chunks(MAX_ROWS_PER_STATEMENT) {
        let mut rows = Rows::<DB>::new(statements::outbox, chunk.len());
        for row in chunk {
            rows = rows
                .text(row.destination.as_str())
                .text(row.event.group.as_str())
                .int(to_i64(row.event.seq, "seq")?)
                .text(&row.event.id.to_string())
                .int(0)
                .int(to_i64(row.event.ts.0, "ts")?);
        }
        // A destination named twice is one row.
        steps.push(rows.step(None, "outbox"));
    }
    Ok(steps)
}

/// After the chat rows with a new state: the other chat rows — messages only moved
/// `last_seq`/`last_ts`, so every row must be found — and the new timeline rows (with the
/// texts message search indexes).
pub(crate) fn row_steps<DB: PlanDb>(plan: &BatchPlan<'_>) -> Result<Vec<Step<DB>>, StorageError> {
    let mut steps = Vec::new();
    for chunk in plan.chat_settings.chunks(MAX_ROWS_PER_STATEMENT) {
        let mut rows = Rows::<DB>::new(statements::chat_settings, chunk.len());
        for row in chunk {
            rows = rows
                .text(row.group.as_str())
                .text(&row.kind)
                .text(&row.name)
                .text(&name_key(&row.name))
                .text(&row.description)
                .text(&row.visibility)
                .opt_text(row.handle.as_deref())
                .opt_text(handle_key(row.handle.as_deref()).as_deref())
                .text(row.owner.as_str())
                .int(to_i64(row.last_seq, "last_seq")?)
                .int(to_i64(row.last_ts.0, "last_ts")?)
                .flag(row.deleted);
        }
        steps.push(rows.step(Some(chunk.len()), "chat rows"));
    }
    for chunk in plan.items.chunks(MAX_ROWS_PER_STATEMENT) {
        let mut rows = Rows::<DB>::new(statements::items, chunk.len());
        for (group, row) in chunk {
            rows = rows
                .text(group.as_str())
                .int(to_i64(row.seq, "seq")?)
                .text(&row.event_id)
                .int(to_i64(row.ts.0, "ts")?)
                .text(row.sender.as_str())
                .text(&row.kind)
                .bytes(&row.body)
                .flag(row.is_message)
                .flag(row.is_admin)
                .opt_int(
                    row.edited_at
                        .map(|t| to_i64(t.0, "edited_at"))
                        .transpose()?,
                )
                .flag(row.deleted)
                .flag(row.pinned);
        }
        steps.push(rows.step(Some(chunk.len()), "timeline rows"));
    }
    steps.extend(crate::storage::search::item_steps(&plan.items)?);
    Ok(steps)
}

/// After the ordered ops: the member counts they changed (`member_deltas`), the read positions
/// (only forward; a member who is gone is skipped, as one by one), the transaction ids.
pub(crate) fn closing_steps<DB: PlanDb>(
    plan: &BatchPlan<'_>,
    member_deltas: &HashMap<&GroupId, i64>,
) -> Result<Vec<Step<DB>>, StorageError> {
    let mut steps = Vec::new();
    for (group, delta) in member_deltas {
        if *delta != 0 {
            let rows = Rows::<DB>::new(statements::member_count, 1)
                .int(*delta)
                .text(group.as_str());
            steps.push(rows.step(None, "member count"));
        }
    }
    for chunk in plan.reads.chunks(MAX_ROWS_PER_STATEMENT) {
        let mut rows = Rows::<DB>::new(statements::reads, chunk.len());
        for read in chunk {
            rows = rows
                .text(read.group.as_str())
                .text(read.user.as_str())
                .int(to_i64(read.seq, "seq")?);
        }
        steps.push(rows.step(None, "read positions"));
    }
    for chunk in plan.txns.chunks(MAX_ROWS_PER_STATEMENT) {
        let mut rows = Rows::<DB>::new(statements::txns, chunk.len());
        for txn in chunk {
            rows = rows
                .text(txn.user.as_str())
                .text(&txn.txn)
                .bytes(&txn.result)
                .int(to_i64(txn.at.0, "at")?);
        }
        steps.push(rows.step(Some(chunk.len()), "transaction ids"));
    }
    Ok(steps)
}

/// The statements' texts for `rows` rows, in either placeholder style. The binding order is
/// the column order named in each.
pub(crate) mod statements {
    use super::{Placeholders, values};

    /// Starts a log: group, home node, created at, last seq, last id.
    pub(crate) fn new_head(p: Placeholders, rows: usize) -> String {
        format!(
            "INSERT INTO groups (id, home_node, created_at, last_seq, last_event_id) {} \
             ON CONFLICT (id) DO UPDATE SET last_seq = excluded.last_seq, \
             last_event_id = excluded.last_event_id WHERE groups.last_seq = 0",
            values(p, rows, 5)
        )
    }

    /// Moves heads: group, new last seq, new last id, expected seq, expected id. Touches one
    /// row per group whose head is where expected.
    pub(crate) fn heads(p: Placeholders, rows: usize) -> String {
        format!(
            "UPDATE groups SET last_seq = v.column2, last_event_id = v.column3 FROM ({}) AS v \
             WHERE groups.id = v.column1 AND groups.last_seq = v.column4 \
             AND groups.last_event_id = v.column5",
            values(p, rows, 5)
        )
    }

    /// Group, seq, event id, prev id, ts, sender, kind, raw.
    pub(crate) fn events(p: Placeholders, rows: usize) -> String {
        format!(
            "INSERT INTO events (group_id, seq, event_id, prev_id, ts, sender, kind, raw) {}",
            values(p, rows, 8)
        )
    }

    /// Destination, group, seq, event id, next attempt, created at.
    pub(crate) fn outbox(p: Placeholders, rows: usize) -> String {
        format!(
            "INSERT INTO outbox (destination, group_id, seq, event_id, next_attempt_at, \
             created_at) {} ON CONFLICT (destination, event_id) DO NOTHING",
            values(p, rows, 6)
        )
    }

    /// Every column of `chats` but `members` and `state`: group, kind, name, name key,
    /// description, visibility, handle, handle key, owner, last seq, last ts, deleted.
    pub(crate) fn chat_settings(p: Placeholders, rows: usize) -> String {
        format!(
            "UPDATE chats SET kind = v.column2, name = v.column3, name_key = v.column4, \
             description = v.column5, visibility = v.column6, handle = v.column7, \
             handle_key = v.column8, owner = v.column9, last_seq = v.column10, \
             last_ts = v.column11, deleted = v.column12 FROM ({}) AS v \
             WHERE chats.group_id = v.column1",
            values(p, rows, 12)
        )
    }

    /// Group, seq, event id, ts, sender, kind, body, is message, is admin, edited at, deleted,
    /// pinned.
    pub(crate) fn items(p: Placeholders, rows: usize) -> String {
        format!(
            "INSERT INTO timeline (group_id, seq, event_id, ts, sender, kind, body, is_message, \
             is_admin, edited_at, deleted, pinned) {}",
            values(p, rows, 12)
        )
    }

    /// One group's member count changes by: delta, group.
    pub(crate) fn member_count(p: Placeholders, _rows: usize) -> String {
        match p {
            Placeholders::Question => "UPDATE chats SET members = members + ? WHERE group_id = ?",
            Placeholders::Numbered => "UPDATE chats SET members = members + $1 WHERE group_id = $2",
        }
        .to_owned()
    }

    /// Moves read positions forward: group, user, seq.
    pub(crate) fn reads(p: Placeholders, rows: usize) -> String {
        format!(
            "UPDATE chat_members SET read_seq = v.column3 FROM ({}) AS v \
             WHERE chat_members.group_id = v.column1 AND chat_members.user_id = v.column2 \
             AND chat_members.read_seq < v.column3",
            values(p, rows, 3)
        )
    }

    /// User, txn, result, at.
    pub(crate) fn txns(p: Placeholders, rows: usize) -> String {
        format!(
            "INSERT INTO txns (user_id, txn, result, at) {}",
            values(p, rows, 4)
        )
    }
}
