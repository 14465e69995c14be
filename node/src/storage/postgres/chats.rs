//! `ChatStore` on PostgreSQL. Keep in step with `sqlite/chats.rs` (same statements, `$n`
//! placeholders instead of `?`, `= ANY` instead of `json_each`); the raw rows and their checked
//! conversion are shared from there. The commit needs no explicit locking: see the module docs
//! of `postgres` (the head update's WHERE clause serialises appends to one group).

use super::PgStorage;
use super::batch;
use super::events::append_in;
use crate::storage::batch::BatchPlan;
use crate::storage::chats::{
    ChatRow, ChatStore, Commit, InviteRow, LinkRefusal, LinkRow, MyChat, Page, ProjectionOp,
    ReactionRow, TimelineRow,
};
use crate::storage::sqlite::chats::{
    ChatDbRow, InviteDbRow, LinkDbRow, MyChatDbRow, ReactionDbRow, TimelineDbRow, chat_columns,
    check_commit, handle_key, link_columns, name_key, ordered_pair, refusal, seq_bound, taken,
    timeline_columns,
};
use crate::storage::{StorageError, db_error, parse_stored, stored_u64, to_i64};
use winichat_protocol::Timestamp;
use winichat_protocol::ids::{GroupId, UserId};

type Tx<'a> = sqlx::Transaction<'a, sqlx::Postgres>;

// ---- PostgreSQL ----

/// Writes the chat row: every column but `members` (kept from `chat_members`) and, unless
/// `with_state`, `state`. Inserts the row if it is missing (the state is then always written).
pub(super) async fn upsert_chat(
    tx: &mut Tx<'_>,
    chat: &ChatRow,
    with_state: bool,
) -> Result<(), StorageError> {
    let group = chat.group.as_str();
    let handle_taken = || {
        format!(
            "the handle {} is taken by another chat",
            chat.handle.as_deref().unwrap_or_default()
        )
    };
    if !with_state {
        let n = sqlx::query(
            "UPDATE chats SET kind = $1, name = $2, name_key = $3, description = $4, \
             visibility = $5, handle = $6, handle_key = $7, owner = $8, last_seq = $9, last_ts = $10, \
             deleted = $11 WHERE group_id = $12",
        )
        .bind(&chat.kind)
        .bind(&chat.name)
        .bind(name_key(&chat.name))
        .bind(&chat.description)
        .bind(&chat.visibility)
        .bind(chat.handle.as_deref())
        .bind(handle_key(chat.handle.as_deref()))
        .bind(chat.owner.as_str())
        .bind(to_i64(chat.last_seq, "last_seq")?)
        .bind(to_i64(chat.last_ts.0, "last_ts")?)
        .bind(chat.deleted)
        .bind(group)
        .execute(&mut **tx)
        .await
        .map_err(|e| taken(e, handle_taken))?
        .rows_affected();
        if n == 1 {
            return Ok(());
        }
    }
    sqlx::query(
        "INSERT INTO chats (group_id, kind, name, name_key, description, visibility, handle, \
         handle_key, owner, members, last_seq, last_ts, state, deleted) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11, $12, $13) \
         ON CONFLICT (group_id) DO UPDATE SET kind = excluded.kind, name = excluded.name, \
         name_key = excluded.name_key, description = excluded.description, \
         visibility = excluded.visibility, handle = excluded.handle, \
         handle_key = excluded.handle_key, owner = excluded.owner, \
         last_seq = excluded.last_seq, last_ts = excluded.last_ts, state = excluded.state, \
         deleted = excluded.deleted",
    )
    .bind(group)
    .bind(&chat.kind)
    .bind(&chat.name)
    .bind(name_key(&chat.name))
    .bind(&chat.description)
    .bind(&chat.visibility)
    .bind(chat.handle.as_deref())
    .bind(handle_key(chat.handle.as_deref()))
    .bind(chat.owner.as_str())
    .bind(to_i64(chat.last_seq, "last_seq")?)
    .bind(to_i64(chat.last_ts.0, "last_ts")?)
    .bind(chat.state.as_slice())
    .bind(chat.deleted)
    .execute(&mut **tx)
    .await
    .map_err(|e| taken(e, handle_taken))?;
    Ok(())
}

/// Applies one op; returns the change in the member count.
pub(super) async fn apply_op(
    tx: &mut Tx<'_>,
    group: &GroupId,
    op: &ProjectionOp,
) -> Result<i64, StorageError> {
    let g = group.as_str();
    match op {
        ProjectionOp::AddMember { user, read_seq } => {
            let n = sqlx::query(
                "INSERT INTO chat_members (group_id, user_id, read_seq) VALUES ($1, $2, $3) \
                 ON CONFLICT (group_id, user_id) DO NOTHING",
            )
            .bind(g)
            .bind(user.as_str())
            .bind(to_i64(*read_seq, "read_seq")?)
            .execute(&mut **tx)
            .await
            .map_err(db_error)?
            .rows_affected();
            return Ok(i64::from(n == 1));
        }
        ProjectionOp::RemoveMember { user } => {
            let n = sqlx::query("DELETE FROM chat_members WHERE group_id = $1 AND user_id = $2")
                .bind(g)
                .bind(user.as_str())
                .execute(&mut **tx)
                .await
                .map_err(db_error)?
                .rows_affected();
            return Ok(-i64::from(n == 1));
        }
        ProjectionOp::DirectPair { a, b, smaller_wins } => {
            let (low, high) = ordered_pair(a, b)?;
            // Group ids compare bytewise ("C") on every node, whatever the database's collation.
            let sql = if *smaller_wins {
                "INSERT INTO direct_pairs (user_a, user_b, group_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_a, user_b) DO UPDATE SET group_id = excluded.group_id \
                 WHERE excluded.group_id COLLATE \"C\" < direct_pairs.group_id COLLATE \"C\""
            } else {
                "INSERT INTO direct_pairs (user_a, user_b, group_id) VALUES ($1, $2, $3)"
            };
            sqlx::query(sql)
                .bind(low)
                .bind(high)
                .bind(g)
                .execute(&mut **tx)
                .await
                .map_err(|e| taken(e, || format!("{a} and {b} already have a direct chat")))?
        }
        ProjectionOp::InsertItem(row) => sqlx::query(
            "INSERT INTO timeline (group_id, seq, event_id, ts, sender, kind, body, is_message, \
             is_admin, edited_at, deleted, pinned) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(g)
        .bind(to_i64(row.seq, "seq")?)
        .bind(&row.event_id)
        .bind(to_i64(row.ts.0, "ts")?)
        .bind(row.sender.as_str())
        .bind(&row.kind)
        .bind(row.body.as_slice())
        .bind(row.is_message)
        .bind(row.is_admin)
        .bind(row.edited_at.map(|t| to_i64(t.0, "edited_at")).transpose()?)
        .bind(row.deleted)
        .bind(row.pinned)
        .execute(&mut **tx)
        .await
        .map_err(|e| taken(e, || format!("group {group}: timeline row {} exists", row.seq)))?,
        ProjectionOp::EditItem {
            seq,
            body,
            edited_at,
        } => sqlx::query(
            "UPDATE timeline SET body = $1, edited_at = $2 WHERE group_id = $3 AND seq = $4",
        )
        .bind(body.as_slice())
        .bind(to_i64(edited_at.0, "edited_at")?)
        .bind(g)
        .bind(to_i64(*seq, "seq")?)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?,
        ProjectionOp::DeleteItem { seq, body } => {
            let seq = to_i64(*seq, "seq")?;
            sqlx::query("DELETE FROM media_refs WHERE group_id = $1 AND seq = $2")
                .bind(g)
                .bind(seq)
                .execute(&mut **tx)
                .await
                .map_err(db_error)?;
            sqlx::query("DELETE FROM reactions WHERE group_id = $1 AND seq = $2")
                .bind(g)
                .bind(seq)
                .execute(&mut **tx)
                .await
                .map_err(db_error)?;
            sqlx::query(
                "UPDATE timeline SET body = $1, deleted = TRUE WHERE group_id = $2 AND seq = $3",
            )
            .bind(body.as_slice())
            .bind(g)
            .bind(seq)
            .execute(&mut **tx)
            .await
            .map_err(db_error)?
        }
        ProjectionOp::React {
            seq,
            emoji,
            user,
            ts,
            on: true,
        } => sqlx::query(
            "INSERT INTO reactions (group_id, seq, emoji, user_id, ts) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (group_id, seq, emoji, user_id) DO NOTHING",
        )
        .bind(g)
        .bind(to_i64(*seq, "seq")?)
        .bind(emoji)
        .bind(user.as_str())
        .bind(to_i64(ts.0, "ts")?)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?,
        ProjectionOp::React {
            seq,
            emoji,
            user,
            on: false,
            ..
        } => sqlx::query(
            "DELETE FROM reactions WHERE group_id = $1 AND seq = $2 AND emoji = $3 AND user_id = $4",
        )
        .bind(g)
        .bind(to_i64(*seq, "seq")?)
        .bind(emoji)
        .bind(user.as_str())
        .execute(&mut **tx)
        .await
        .map_err(db_error)?,
        ProjectionOp::Pin { seq, on } => {
            sqlx::query("UPDATE timeline SET pinned = $1 WHERE group_id = $2 AND seq = $3")
                .bind(*on)
                .bind(g)
                .bind(to_i64(*seq, "seq")?)
                .execute(&mut **tx)
                .await
                .map_err(db_error)?
        }
        ProjectionOp::Invite { user, by, at } => sqlx::query(
            "INSERT INTO chat_invites (group_id, user_id, by_user, at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (group_id, user_id) DO UPDATE SET by_user = excluded.by_user, \
             at = excluded.at",
        )
        .bind(g)
        .bind(user.as_str())
        .bind(by.as_str())
        .bind(to_i64(at.0, "at")?)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?,
        ProjectionOp::ClearInvite { user } => {
            sqlx::query("DELETE FROM chat_invites WHERE group_id = $1 AND user_id = $2")
                .bind(g)
                .bind(user.as_str())
                .execute(&mut **tx)
                .await
                .map_err(db_error)?
        }
        ProjectionOp::Read { user, seq } => {
            let seq = to_i64(*seq, "seq")?;
            sqlx::query(
                "UPDATE chat_members SET read_seq = $1 \
                 WHERE group_id = $2 AND user_id = $3 AND read_seq < $4",
            )
            .bind(seq)
            .bind(g)
            .bind(user.as_str())
            .bind(seq)
            .execute(&mut **tx)
            .await
            .map_err(db_error)?
        }
        ProjectionOp::MediaRefs { seq, media } => {
            let seq = to_i64(*seq, "seq")?;
            for sha256 in media {
                sqlx::query(
                    "INSERT INTO media_refs (sha256, group_id, seq, user_id, public) \
                     VALUES ($1, $2, $3, NULL, FALSE)",
                )
                .bind(hex::encode(sha256))
                .bind(g)
                .bind(seq)
                .execute(&mut **tx)
                .await
                .map_err(db_error)?;
            }
            return Ok(0);
        }
        ProjectionOp::GroupPhoto { media } => {
            sqlx::query("DELETE FROM media_refs WHERE group_id = $1 AND seq IS NULL")
                .bind(g)
                .execute(&mut **tx)
                .await
                .map_err(db_error)?;
            if let Some(sha256) = media {
                sqlx::query(
                    "INSERT INTO media_refs (sha256, group_id, seq, user_id, public) \
                     VALUES ($1, $2, NULL, NULL, TRUE)",
                )
                .bind(hex::encode(sha256))
                .bind(g)
                .execute(&mut **tx)
                .await
                .map_err(db_error)?;
            }
            return Ok(0);
        }
    };
    // Message search's texts follow the timeline rows they index.
    batch::run(tx, crate::storage::search::op_steps(group, op)?).await?;
    Ok(0)
}

/// The query of [`ChatStore::items`] for one page shape. Every variant walks the
/// `(group_id, seq)` primary key, or `timeline_admin` for admin rows.
fn items_sql(page: Page, admin_only: bool) -> &'static str {
    macro_rules! q {
        ($filter:literal, $order:literal) => {
            concat!(
                "SELECT ",
                timeline_columns!(),
                " FROM timeline WHERE group_id = $1 ",
                $filter,
                " ORDER BY seq ",
                $order,
                " LIMIT $3"
            )
        };
    }
    match (page, admin_only) {
        (Page::Latest, false) => q!("AND seq > $2 AND kind <> 'msg.delete'", "DESC"),
        (Page::Latest, true) => q!("AND is_admin = TRUE AND seq > $2", "DESC"),
        (Page::Before(_), false) => q!("AND seq < $2 AND kind <> 'msg.delete'", "DESC"),
        (Page::Before(_), true) => q!("AND is_admin = TRUE AND seq < $2", "DESC"),
        (Page::After(_), false) => q!("AND seq > $2 AND kind <> 'msg.delete'", "ASC"),
        (Page::After(_), true) => q!("AND is_admin = TRUE AND seq > $2", "ASC"),
    }
}

/// The writes of one [`Commit`] inside `tx` (see [`ChatStore::commit`]).
async fn commit_in(tx: &mut Tx<'_>, commit: &Commit) -> Result<(), StorageError> {
    append_in(tx, &commit.event, &commit.outbox).await?;
    upsert_chat(tx, &commit.chat, commit.state_changed).await?;
    let mut delta = 0i64;
    for op in &commit.ops {
        delta += apply_op(tx, &commit.chat.group, op).await?;
    }
    if delta != 0 {
        sqlx::query("UPDATE chats SET members = members + $1 WHERE group_id = $2")
            .bind(delta)
            .bind(commit.chat.group.as_str())
            .execute(&mut **tx)
            .await
            .map_err(db_error)?;
    }
    if let Some(t) = &commit.txn {
        sqlx::query("INSERT INTO txns (user_id, txn, result, at) VALUES ($1, $2, $3, $4)")
            .bind(t.user.as_str())
            .bind(&t.txn)
            .bind(t.result.as_slice())
            .bind(to_i64(t.at.0, "at")?)
            .execute(&mut **tx)
            .await
            .map_err(|e| {
                taken(e, || {
                    format!("transaction {:?} of {} is already recorded", t.txn, t.user)
                })
            })?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl ChatStore for PgStorage {
    async fn commit(&self, commit: &Commit) -> Result<(), StorageError> {
        check_commit(commit)?;
        // Every early return drops `tx`, which rolls back: nothing is written unless
        // everything is.
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        commit_in(&mut tx, commit).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn commit_all(
        &self,
        commits: &[Commit],
    ) -> Result<Vec<Result<(), StorageError>>, StorageError> {
        // Every commit usually succeeds: write the batch as a plan of a few multi-row
        // statements first. Only when that fails is it written again commit by commit, each in
        // a savepoint of its own, to keep the others and say which one failed.
        if let Ok(plan) = BatchPlan::of(commits) {
            let mut tx = self.pool.begin().await.map_err(db_error)?;
            match batch::write_plan(&mut tx, &plan).await {
                Ok(()) => {
                    tx.commit().await.map_err(db_error)?;
                    return Ok(commits.iter().map(|_| Ok(())).collect());
                }
                Err(e) => {
                    tracing::info!(error = %e, commits = commits.len(), "batch written again commit by commit");
                    // A rollback that fails (the database may have rolled back by itself after
                    // the error) leaves nothing to keep: the rewrite starts a new transaction,
                    // which reports a connection that is really gone.
                    let _ = tx.rollback().await;
                }
            }
        }
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        self.batches_rewritten
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut outcomes = Vec::with_capacity(commits.len());
        for commit in commits {
            // A savepoint per commit: a failed one is rolled back alone.
            let mut savepoint = sqlx::Acquire::begin(&mut tx).await.map_err(db_error)?;
            let outcome = match check_commit(commit) {
                Ok(()) => commit_in(&mut savepoint, commit).await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => savepoint.commit().await.map_err(db_error)?,
                Err(_) => savepoint.rollback().await.map_err(db_error)?,
            }
            outcomes.push(outcome);
        }
        tx.commit().await.map_err(db_error)?;
        Ok(outcomes)
    }

    fn batches_rewritten(&self) -> u64 {
        self.batches_rewritten
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn chat(&self, group: &GroupId) -> Result<Option<ChatRow>, StorageError> {
        sqlx::query_as::<_, ChatDbRow>(concat!(
            "SELECT ",
            chat_columns!(),
            " FROM chats c WHERE c.group_id = $1"
        ))
        .bind(group.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(ChatRow::try_from)
        .transpose()
    }

    async fn chat_by_handle(&self, handle: &str) -> Result<Option<ChatRow>, StorageError> {
        sqlx::query_as::<_, ChatDbRow>(concat!(
            "SELECT ",
            chat_columns!(),
            " FROM chats c WHERE c.handle = $1"
        ))
        .bind(handle)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(ChatRow::try_from)
        .transpose()
    }

    async fn chats_of(&self, user: &UserId) -> Result<Vec<MyChat>, StorageError> {
        sqlx::query_as::<_, MyChatDbRow>(concat!(
            "SELECT ",
            chat_columns!(),
            ", m.read_seq FROM chat_members m JOIN chats c ON c.group_id = m.group_id \
             WHERE m.user_id = $1 AND NOT c.deleted ORDER BY c.last_ts DESC, c.group_id"
        ))
        .bind(user.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(MyChat::try_from)
        .collect()
    }

    async fn read_seq(&self, group: &GroupId, user: &UserId) -> Result<Option<u64>, StorageError> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT read_seq FROM chat_members WHERE group_id = $1 AND user_id = $2",
        )
        .bind(group.as_str())
        .bind(user.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        row.map(|(s,)| stored_u64(s, "chat_members.read_seq"))
            .transpose()
    }

    async fn reads(&self, group: &GroupId) -> Result<Vec<(UserId, u64)>, StorageError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT user_id, read_seq FROM chat_members WHERE group_id = $1 ORDER BY user_id",
        )
        .bind(group.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.into_iter()
            .map(|(u, s)| {
                Ok((
                    parse_stored(&u, "chat_members.user_id")?,
                    stored_u64(s, "chat_members.read_seq")?,
                ))
            })
            .collect()
    }

    async fn mark_read(
        &self,
        group: &GroupId,
        user: &UserId,
        seq: u64,
    ) -> Result<Option<u64>, StorageError> {
        let to = to_i64(seq, "seq")?;
        let moved: Option<(i64,)> = sqlx::query_as(
            "UPDATE chat_members SET read_seq = $1 \
             WHERE group_id = $2 AND user_id = $3 AND read_seq < $4 RETURNING read_seq",
        )
        .bind(to)
        .bind(group.as_str())
        .bind(user.as_str())
        .bind(to)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        match moved {
            Some((s,)) => Ok(Some(stored_u64(s, "chat_members.read_seq")?)),
            // Already at or past `seq`, or not a member.
            None => self.read_seq(group, user).await,
        }
    }

    async fn seen_by(
        &self,
        group: &GroupId,
        seq: u64,
        except: &UserId,
        limit: u32,
    ) -> Result<Vec<UserId>, StorageError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT user_id FROM chat_members \
             WHERE group_id = $1 AND read_seq >= $2 AND user_id <> $3 ORDER BY user_id LIMIT $4",
        )
        .bind(group.as_str())
        .bind(seq_bound(seq))
        .bind(except.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.into_iter()
            .map(|(u,)| parse_stored(&u, "chat_members.user_id"))
            .collect()
    }

    async fn direct_between(
        &self,
        a: &UserId,
        b: &UserId,
    ) -> Result<Option<GroupId>, StorageError> {
        let Ok((low, high)) = ordered_pair(a, b) else {
            return Ok(None);
        };
        let row: Option<(String,)> =
            sqlx::query_as("SELECT group_id FROM direct_pairs WHERE user_a = $1 AND user_b = $2")
                .bind(low)
                .bind(high)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        row.map(|(g,)| parse_stored(&g, "direct_pairs.group_id"))
            .transpose()
    }

    async fn directory(&self, query: &str, limit: u32) -> Result<Vec<ChatRow>, StorageError> {
        let pattern = crate::storage::accounts::like_prefix(&name_key(query));
        sqlx::query_as::<_, ChatDbRow>(concat!(
            "SELECT ",
            chat_columns!(),
            " FROM chats c WHERE c.visibility = 'public' AND NOT c.deleted \
             AND (c.handle_key LIKE $1 ESCAPE '\\' OR c.name_key LIKE $2 ESCAPE '\\') \
             ORDER BY c.members DESC, c.handle LIMIT $3"
        ))
        .bind(&pattern)
        .bind(&pattern)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(ChatRow::try_from)
        .collect()
    }

    async fn item(&self, group: &GroupId, seq: u64) -> Result<Option<TimelineRow>, StorageError> {
        sqlx::query_as::<_, TimelineDbRow>(concat!(
            "SELECT ",
            timeline_columns!(),
            " FROM timeline WHERE group_id = $1 AND seq = $2"
        ))
        .bind(group.as_str())
        .bind(seq_bound(seq))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(TimelineRow::try_from)
        .transpose()
    }

    async fn items(
        &self,
        group: &GroupId,
        page: Page,
        limit: u32,
        admin_only: bool,
    ) -> Result<Vec<TimelineRow>, StorageError> {
        let bound = match page {
            Page::Latest => 0,
            Page::Before(s) | Page::After(s) => seq_bound(s),
        };
        let mut rows = sqlx::query_as::<_, TimelineDbRow>(items_sql(page, admin_only))
            .bind(group.as_str())
            .bind(bound)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(TimelineRow::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        if !matches!(page, Page::After(_)) {
            rows.reverse();
        }
        Ok(rows)
    }

    async fn has_item_before(
        &self,
        group: &GroupId,
        seq: u64,
        admin_only: bool,
    ) -> Result<bool, StorageError> {
        let sql = if admin_only {
            "SELECT seq FROM timeline WHERE group_id = $1 AND is_admin = TRUE AND seq < $2 \
             ORDER BY seq DESC LIMIT 1"
        } else {
            "SELECT seq FROM timeline WHERE group_id = $1 AND seq < $2 AND kind <> 'msg.delete' \
             ORDER BY seq DESC LIMIT 1"
        };
        let row: Option<(i64,)> = sqlx::query_as(sql)
            .bind(group.as_str())
            .bind(seq_bound(seq))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(row.is_some())
    }

    async fn has_item_after(&self, group: &GroupId, seq: u64) -> Result<bool, StorageError> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT seq FROM timeline WHERE group_id = $1 AND seq > $2 AND kind <> 'msg.delete' \
             ORDER BY seq LIMIT 1",
        )
        .bind(group.as_str())
        .bind(seq_bound(seq))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(row.is_some())
    }

    async fn last_item(&self, group: &GroupId) -> Result<Option<TimelineRow>, StorageError> {
        sqlx::query_as::<_, TimelineDbRow>(concat!(
            "SELECT ",
            timeline_columns!(),
            " FROM timeline WHERE group_id = $1 AND kind <> 'msg.delete' ORDER BY seq DESC LIMIT 1"
        ))
        .bind(group.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(TimelineRow::try_from)
        .transpose()
    }

    async fn unread(
        &self,
        group: &GroupId,
        user: &UserId,
        after: u64,
        cap: u64,
    ) -> Result<u64, StorageError> {
        // The LIMIT inside bounds the walk of the primary key to `cap` matching rows, however
        // long the log. ORDER BY seq keeps PostgreSQL on that key: without it, when one group
        // fills the table, it may scan the table from the start instead (~190 ms at 1M rows).
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM (SELECT 1 FROM timeline WHERE group_id = $1 AND seq > $2 \
             AND is_message = TRUE AND NOT deleted AND sender <> $3 ORDER BY seq LIMIT $4) AS t",
        )
        .bind(group.as_str())
        .bind(seq_bound(after))
        .bind(user.as_str())
        .bind(seq_bound(cap))
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        stored_u64(n, "unread count")
    }

    async fn reactions(
        &self,
        group: &GroupId,
        seqs: &[u64],
    ) -> Result<Vec<ReactionRow>, StorageError> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        let seqs: Vec<i64> = seqs.iter().filter_map(|s| i64::try_from(*s).ok()).collect();
        sqlx::query_as::<_, ReactionDbRow>(
            "SELECT seq, emoji, user_id, ts FROM reactions \
             WHERE group_id = $1 AND seq = ANY($2) ORDER BY ts, seq, emoji, user_id",
        )
        .bind(group.as_str())
        .bind(seqs)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(ReactionRow::try_from)
        .collect()
    }

    async fn txn(&self, user: &UserId, txn: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let row: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT result FROM txns WHERE user_id = $1 AND txn = $2")
                .bind(user.as_str())
                .bind(txn)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        Ok(row.map(|(r,)| r))
    }

    async fn txn_keys(
        &self,
        after: Option<(&str, &str)>,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StorageError> {
        let query = match after {
            Some((user, txn)) => sqlx::query_as(
                "SELECT user_id, txn FROM txns WHERE (user_id, txn) > ($1, $2) \
                 ORDER BY user_id, txn LIMIT $3",
            )
            .bind(user)
            .bind(txn),
            None => sqlx::query_as("SELECT user_id, txn FROM txns ORDER BY user_id, txn LIMIT $1"),
        };
        query
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)
    }

    async fn prune_txns(&self, before: Timestamp) -> Result<u64, StorageError> {
        Ok(sqlx::query("DELETE FROM txns WHERE at < $1")
            .bind(seq_bound(before.0))
            .execute(&self.pool)
            .await
            .map_err(db_error)?
            .rows_affected())
    }

    async fn invites_for(&self, user: &UserId) -> Result<Vec<InviteRow>, StorageError> {
        sqlx::query_as::<_, InviteDbRow>(
            "SELECT group_id, user_id, by_user, at FROM chat_invites WHERE user_id = $1 \
             ORDER BY at DESC, group_id",
        )
        .bind(user.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(InviteRow::try_from)
        .collect()
    }

    async fn create_link(&self, link: &LinkRow) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO invite_links (code, group_id, created_by, created_at, expires_at, \
             max_uses, uses, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&link.code)
        .bind(link.group.as_str())
        .bind(link.created_by.as_str())
        .bind(to_i64(link.created_at.0, "created_at")?)
        .bind(
            link.expires_at
                .map(|t| to_i64(t.0, "expires_at"))
                .transpose()?,
        )
        .bind(link.max_uses.map(i64::from))
        .bind(i64::from(link.uses))
        .bind(link.revoked)
        .execute(&self.pool)
        .await
        .map_err(|e| taken(e, || "an invite link with this code exists".to_owned()))?;
        Ok(())
    }

    async fn links(&self, group: &GroupId) -> Result<Vec<LinkRow>, StorageError> {
        sqlx::query_as::<_, LinkDbRow>(concat!(
            "SELECT ",
            link_columns!(),
            " FROM invite_links WHERE group_id = $1 ORDER BY created_at DESC, code"
        ))
        .bind(group.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(LinkRow::try_from)
        .collect()
    }

    async fn link(&self, code: &str) -> Result<Option<LinkRow>, StorageError> {
        sqlx::query_as::<_, LinkDbRow>(concat!(
            "SELECT ",
            link_columns!(),
            " FROM invite_links WHERE code = $1"
        ))
        .bind(code)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(LinkRow::try_from)
        .transpose()
    }

    async fn revoke_link(&self, group: &GroupId, code: &str) -> Result<bool, StorageError> {
        let n =
            sqlx::query("UPDATE invite_links SET revoked = TRUE WHERE group_id = $1 AND code = $2")
                .bind(group.as_str())
                .bind(code)
                .execute(&self.pool)
                .await
                .map_err(db_error)?
                .rows_affected();
        Ok(n == 1)
    }

    async fn redeem_link(
        &self,
        code: &str,
        now: Timestamp,
    ) -> Result<Result<LinkRow, LinkRefusal>, StorageError> {
        // The WHERE clause is the whole check, evaluated under the row's write lock: of
        // concurrent redemptions at most `max_uses - uses` match.
        let row = sqlx::query_as::<_, LinkDbRow>(concat!(
            "UPDATE invite_links SET uses = uses + 1 \
             WHERE code = $1 AND NOT revoked AND (expires_at IS NULL OR expires_at > $2) \
             AND (max_uses IS NULL OR uses < max_uses) RETURNING ",
            link_columns!()
        ))
        .bind(code)
        .bind(seq_bound(now.0))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        match row {
            Some(row) => Ok(Ok(LinkRow::try_from(row)?)),
            None => Ok(Err(refusal(self.link(code).await?, now))),
        }
    }

    async fn unredeem_link(&self, code: &str) -> Result<(), StorageError> {
        sqlx::query("UPDATE invite_links SET uses = uses - 1 WHERE code = $1 AND uses > 0")
            .bind(code)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn contacts(
        &self,
        user: &UserId,
        max_group: u64,
        limit: u32,
    ) -> Result<Vec<UserId>, StorageError> {
        // From the user's memberships (chat_members_user) to each chat's members (the primary
        // key); big groups are left out, so the walk is bounded by what presence may reach.
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT other.user_id FROM chat_members mine \
             JOIN chats c ON c.group_id = mine.group_id \
             JOIN chat_members other ON other.group_id = mine.group_id \
             WHERE mine.user_id = $1 AND other.user_id <> $2 AND NOT c.deleted \
             AND (c.kind = 'direct' OR c.members <= $3) \
             ORDER BY other.user_id LIMIT $4",
        )
        .bind(user.as_str())
        .bind(user.as_str())
        .bind(to_i64(max_group, "max_group")?)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.into_iter()
            .map(|(u,)| parse_stored(&u, "chat_members.user_id"))
            .collect()
    }
}
