//! `ChatStore` on SQLite. Keep in step with `postgres/chats.rs` (same statements, `?`
//! placeholders instead of `$n`, `json_each` instead of `= ANY`, and `BEGIN IMMEDIATE` for the
//! commit, which reads the head before it writes).
//!
//! The raw rows and their checked conversion are defined here once and shared with the
//! PostgreSQL backend: every column decodes identically from both (`i64`, `bool`, `Vec<u8>`,
//! `String`).

use super::SqliteStorage;
use super::batch;
use super::events::append_in;
use crate::storage::batch::BatchPlan;
use crate::storage::chats::{
    ChatRow, ChatStore, Commit, InviteRow, LinkRefusal, LinkRow, MyChat, Page, ProjectionOp,
    ReactionRow, TimelineRow,
};
use crate::storage::{StorageError, db_error, parse_stored, stored_u32, stored_u64, to_i64};
use winichat_protocol::Timestamp;
use winichat_protocol::ids::{GroupId, UserId};

type Tx<'a> = sqlx::Transaction<'a, sqlx::Sqlite>;

// ---- rows shared by both backends ----

/// The columns of `chats`, in [`ChatDbRow`] order.
macro_rules! chat_columns {
    () => {
        "c.group_id, c.kind, c.name, c.description, c.visibility, c.handle, c.owner, c.members, \
         c.last_seq, c.last_ts, c.state, c.deleted"
    };
}
pub(in crate::storage) use chat_columns;

/// The columns of `timeline`, in [`TimelineDbRow`] order.
macro_rules! timeline_columns {
    () => {
        "seq, event_id, ts, sender, kind, body, is_message, is_admin, edited_at, deleted, pinned"
    };
}
pub(in crate::storage) use timeline_columns;

/// The columns of `invite_links`, in [`LinkDbRow`] order.
macro_rules! link_columns {
    () => {
        "code, group_id, created_by, created_at, expires_at, max_uses, uses, revoked"
    };
}
pub(in crate::storage) use link_columns;

/// A row of `chats` (selected as `c`).
#[derive(sqlx::FromRow)]
pub(in crate::storage) struct ChatDbRow {
    group_id: String,
    kind: String,
    name: String,
    description: String,
    visibility: String,
    handle: Option<String>,
    owner: String,
    members: i64,
    last_seq: i64,
    last_ts: i64,
    state: Vec<u8>,
    deleted: bool,
}

impl TryFrom<ChatDbRow> for ChatRow {
    type Error = StorageError;
    fn try_from(r: ChatDbRow) -> Result<Self, StorageError> {
        Ok(ChatRow {
            group: parse_stored(&r.group_id, "chats.group_id")?,
            kind: r.kind,
            name: r.name,
            description: r.description,
            visibility: r.visibility,
            handle: r.handle,
            owner: parse_stored(&r.owner, "chats.owner")?,
            members: stored_u64(r.members, "chats.members")?,
            last_seq: stored_u64(r.last_seq, "chats.last_seq")?,
            last_ts: Timestamp(stored_u64(r.last_ts, "chats.last_ts")?),
            state: r.state,
            deleted: r.deleted,
        })
    }
}

/// A chat with one member's read position.
#[derive(sqlx::FromRow)]
pub(in crate::storage) struct MyChatDbRow {
    #[sqlx(flatten)]
    chat: ChatDbRow,
    read_seq: i64,
}

impl TryFrom<MyChatDbRow> for MyChat {
    type Error = StorageError;
    fn try_from(r: MyChatDbRow) -> Result<Self, StorageError> {
        Ok(MyChat {
            chat: ChatRow::try_from(r.chat)?,
            read_seq: stored_u64(r.read_seq, "chat_members.read_seq")?,
        })
    }
}

/// A row of `timeline`.
#[derive(sqlx::FromRow)]
pub(in crate::storage) struct TimelineDbRow {
    seq: i64,
    event_id: String,
    ts: i64,
    sender: String,
    kind: String,
    body: Vec<u8>,
    is_message: bool,
    is_admin: bool,
    edited_at: Option<i64>,
    deleted: bool,
    pinned: bool,
}

impl TryFrom<TimelineDbRow> for TimelineRow {
    type Error = StorageError;
    fn try_from(r: TimelineDbRow) -> Result<Self, StorageError> {
        Ok(TimelineRow {
            seq: stored_u64(r.seq, "timeline.seq")?,
            event_id: r.event_id,
            ts: Timestamp(stored_u64(r.ts, "timeline.ts")?),
            sender: parse_stored(&r.sender, "timeline.sender")?,
            kind: r.kind,
            body: r.body,
            is_message: r.is_message,
            is_admin: r.is_admin,
            edited_at: r
                .edited_at
                .map(|t| stored_u64(t, "timeline.edited_at").map(Timestamp))
                .transpose()?,
            deleted: r.deleted,
            pinned: r.pinned,
        })
    }
}

/// A row of `reactions`.
#[derive(sqlx::FromRow)]
pub(in crate::storage) struct ReactionDbRow {
    seq: i64,
    emoji: String,
    user_id: String,
    ts: i64,
}

impl TryFrom<ReactionDbRow> for ReactionRow {
    type Error = StorageError;
    fn try_from(r: ReactionDbRow) -> Result<Self, StorageError> {
        Ok(ReactionRow {
            seq: stored_u64(r.seq, "reactions.seq")?,
            emoji: r.emoji,
            user: parse_stored(&r.user_id, "reactions.user_id")?,
            ts: Timestamp(stored_u64(r.ts, "reactions.ts")?),
        })
    }
}

/// A row of `chat_invites`.
#[derive(sqlx::FromRow)]
pub(in crate::storage) struct InviteDbRow {
    group_id: String,
    user_id: String,
    by_user: String,
    at: i64,
}

impl TryFrom<InviteDbRow> for InviteRow {
    type Error = StorageError;
    fn try_from(r: InviteDbRow) -> Result<Self, StorageError> {
        Ok(InviteRow {
            group: parse_stored(&r.group_id, "chat_invites.group_id")?,
            user: parse_stored(&r.user_id, "chat_invites.user_id")?,
            by: parse_stored(&r.by_user, "chat_invites.by_user")?,
            at: Timestamp(stored_u64(r.at, "chat_invites.at")?),
        })
    }
}

/// A row of `invite_links`.
#[derive(sqlx::FromRow)]
pub(in crate::storage) struct LinkDbRow {
    code: String,
    group_id: String,
    created_by: String,
    created_at: i64,
    expires_at: Option<i64>,
    max_uses: Option<i64>,
    uses: i64,
    revoked: bool,
}

impl TryFrom<LinkDbRow> for LinkRow {
    type Error = StorageError;
    fn try_from(r: LinkDbRow) -> Result<Self, StorageError> {
        Ok(LinkRow {
            code: r.code,
            group: parse_stored(&r.group_id, "invite_links.group_id")?,
            created_by: parse_stored(&r.created_by, "invite_links.created_by")?,
            created_at: Timestamp(stored_u64(r.created_at, "invite_links.created_at")?),
            expires_at: r
                .expires_at
                .map(|t| stored_u64(t, "invite_links.expires_at").map(Timestamp))
                .transpose()?,
            max_uses: r
                .max_uses
                .map(|n| stored_u32(n, "invite_links.max_uses"))
                .transpose()?,
            uses: stored_u32(r.uses, "invite_links.uses")?,
            revoked: r.revoked,
        })
    }
}

/// Why a live-looking redemption failed, judged from the link as it is now (`None`: no row).
pub(in crate::storage) fn refusal(link: Option<LinkRow>, now: Timestamp) -> LinkRefusal {
    match link {
        None => LinkRefusal::Unknown,
        Some(l) if l.revoked => LinkRefusal::Revoked,
        Some(l) if l.expires_at.is_some_and(|t| t <= now) => LinkRefusal::Expired,
        // Used up, or freed again by an `unredeem_link` since: the caller may retry.
        Some(_) => LinkRefusal::UsedUp,
    }
}

/// The directory's search key of a handle: its name part (`#name:node` → `name`), lowercase.
pub(in crate::storage) fn handle_key(handle: Option<&str>) -> Option<String> {
    handle.map(|h| {
        let local = h.strip_prefix('#').unwrap_or(h);
        let name = local.split(':').next().unwrap_or(local);
        name.to_lowercase()
    })
}

/// The directory's search key of a name.
pub(in crate::storage) fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// `a` and `b` ordered as `direct_pairs` stores them (bytewise, `user_a < user_b`).
pub(in crate::storage) fn ordered_pair<'u>(
    a: &'u UserId,
    b: &'u UserId,
) -> Result<(&'u str, &'u str), StorageError> {
    match a.as_str().cmp(b.as_str()) {
        std::cmp::Ordering::Less => Ok((a.as_str(), b.as_str())),
        std::cmp::Ordering::Greater => Ok((b.as_str(), a.as_str())),
        std::cmp::Ordering::Equal => Err(StorageError::Other(format!(
            "a direct chat needs two different users, got {a} twice"
        ))),
    }
}

/// Maps a unique violation to [`StorageError::Conflict`] with `what` as its message (which
/// key was taken), any other error as [`db_error`] does.
pub(in crate::storage) fn taken(e: sqlx::Error, what: impl FnOnce() -> String) -> StorageError {
    match e {
        sqlx::Error::Database(ref db) if db.is_unique_violation() => StorageError::Conflict(what()),
        other => db_error(other),
    }
}

/// Checks the parts of a commit agree with each other before anything is written.
pub(in crate::storage) fn check_commit(commit: &Commit) -> Result<(), StorageError> {
    if commit.chat.group != commit.event.group {
        return Err(StorageError::Other(format!(
            "commit of an event of {} carries the chat row of {}",
            commit.event.group, commit.chat.group
        )));
    }
    Ok(())
}

/// A seq bound for a comparison: seqs above `i64::MAX` cannot be stored, so such a bound is the
/// end of the log.
pub(in crate::storage) fn seq_bound(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

// ---- SQLite ----

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
            "UPDATE chats SET kind = ?, name = ?, name_key = ?, description = ?, \
             visibility = ?, handle = ?, handle_key = ?, owner = ?, last_seq = ?, last_ts = ?, \
             deleted = ? WHERE group_id = ?",
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
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?) \
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
                "INSERT INTO chat_members (group_id, user_id, read_seq) VALUES (?, ?, ?) \
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
            let n = sqlx::query("DELETE FROM chat_members WHERE group_id = ? AND user_id = ?")
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
            let sql = if *smaller_wins {
                "INSERT INTO direct_pairs (user_a, user_b, group_id) VALUES (?, ?, ?) \
                     ON CONFLICT (user_a, user_b) DO UPDATE SET group_id = excluded.group_id \
                     WHERE excluded.group_id < direct_pairs.group_id"
            } else {
                "INSERT INTO direct_pairs (user_a, user_b, group_id) VALUES (?, ?, ?)"
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
             is_admin, edited_at, deleted, pinned) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .bind(
            row.edited_at
                .map(|t| to_i64(t.0, "edited_at"))
                .transpose()?,
        )
        .bind(row.deleted)
        .bind(row.pinned)
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            taken(e, || {
                format!("group {group}: timeline row {} exists", row.seq)
            })
        })?,
        ProjectionOp::EditItem {
            seq,
            body,
            edited_at,
        } => sqlx::query(
            "UPDATE timeline SET body = ?, edited_at = ? WHERE group_id = ? AND seq = ?",
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
            sqlx::query("DELETE FROM media_refs WHERE group_id = ? AND seq = ?")
                .bind(g)
                .bind(seq)
                .execute(&mut **tx)
                .await
                .map_err(db_error)?;
            sqlx::query("DELETE FROM reactions WHERE group_id = ? AND seq = ?")
                .bind(g)
                .bind(seq)
                .execute(&mut **tx)
                .await
                .map_err(db_error)?;
            sqlx::query(
                "UPDATE timeline SET body = ?, deleted = TRUE WHERE group_id = ? AND seq = ?",
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
            "INSERT INTO reactions (group_id, seq, emoji, user_id, ts) VALUES (?, ?, ?, ?, ?) \
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
            "DELETE FROM reactions WHERE group_id = ? AND seq = ? AND emoji = ? AND user_id = ?",
        )
        .bind(g)
        .bind(to_i64(*seq, "seq")?)
        .bind(emoji)
        .bind(user.as_str())
        .execute(&mut **tx)
        .await
        .map_err(db_error)?,
        ProjectionOp::Pin { seq, on } => {
            sqlx::query("UPDATE timeline SET pinned = ? WHERE group_id = ? AND seq = ?")
                .bind(*on)
                .bind(g)
                .bind(to_i64(*seq, "seq")?)
                .execute(&mut **tx)
                .await
                .map_err(db_error)?
        }
        ProjectionOp::Invite { user, by, at } => sqlx::query(
            "INSERT INTO chat_invites (group_id, user_id, by_user, at) VALUES (?, ?, ?, ?) \
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
            sqlx::query("DELETE FROM chat_invites WHERE group_id = ? AND user_id = ?")
                .bind(g)
                .bind(user.as_str())
                .execute(&mut **tx)
                .await
                .map_err(db_error)?
        }
        ProjectionOp::Read { user, seq } => {
            let seq = to_i64(*seq, "seq")?;
            sqlx::query(
                "UPDATE chat_members SET read_seq = ? \
                 WHERE group_id = ? AND user_id = ? AND read_seq < ?",
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
                     VALUES (?, ?, ?, NULL, FALSE)",
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
            sqlx::query("DELETE FROM media_refs WHERE group_id = ? AND seq IS NULL")
                .bind(g)
                .execute(&mut **tx)
                .await
                .map_err(db_error)?;
            if let Some(sha256) = media {
                sqlx::query(
                    "INSERT INTO media_refs (sha256, group_id, seq, user_id, public) \
                     VALUES (?, ?, NULL, NULL, TRUE)",
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
                " FROM timeline WHERE group_id = ? ",
                $filter,
                " ORDER BY seq ",
                $order,
                " LIMIT ?"
            )
        };
    }
    match (page, admin_only) {
        (Page::Latest, false) => q!("AND seq > ? AND kind <> 'msg.delete'", "DESC"),
        (Page::Latest, true) => q!("AND is_admin = TRUE AND seq > ?", "DESC"),
        (Page::Before(_), false) => q!("AND seq < ? AND kind <> 'msg.delete'", "DESC"),
        (Page::Before(_), true) => q!("AND is_admin = TRUE AND seq < ?", "DESC"),
        (Page::After(_), false) => q!("AND seq > ? AND kind <> 'msg.delete'", "ASC"),
        (Page::After(_), true) => q!("AND is_admin = TRUE AND seq > ?", "ASC"),
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
        sqlx::query("UPDATE chats SET members = members + ? WHERE group_id = ?")
            .bind(delta)
            .bind(commit.chat.group.as_str())
            .execute(&mut **tx)
            .await
            .map_err(db_error)?;
    }
    if let Some(t) = &commit.txn {
        sqlx::query("INSERT INTO txns (user_id, txn, result, at) VALUES (?, ?, ?, ?)")
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
impl ChatStore for SqliteStorage {
    async fn commit(&self, commit: &Commit) -> Result<(), StorageError> {
        check_commit(commit)?;
        // IMMEDIATE: see the module docs of `sqlite`. Every early return drops `tx`, which
        // rolls back: nothing is written unless everything is.
        let mut turn = self.write_turn().await?;
        let mut tx = super::begin_immediate(&mut turn).await?;
        commit_in(&mut tx, commit).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn commit_all(
        &self,
        commits: &[Commit],
    ) -> Result<Vec<Result<(), StorageError>>, StorageError> {
        let mut turn = self.write_turn().await?;
        // Every commit usually succeeds: write the batch as a plan of a few multi-row
        // statements first. Only when that fails is it written again commit by commit, each in
        // a savepoint of its own, to keep the others and say which one failed.
        if let Ok(plan) = BatchPlan::of(commits) {
            let mut tx = super::begin_immediate(&mut turn).await?;
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
        let mut tx = super::begin_immediate(&mut turn).await?;
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
            " FROM chats c WHERE c.group_id = ?"
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
            " FROM chats c WHERE c.handle = ?"
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
             WHERE m.user_id = ? AND NOT c.deleted ORDER BY c.last_ts DESC, c.group_id"
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
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT read_seq FROM chat_members WHERE group_id = ? AND user_id = ?")
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
            "SELECT user_id, read_seq FROM chat_members WHERE group_id = ? ORDER BY user_id",
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
        let mut turn = self.write_turn().await?;
        let moved: Option<(i64,)> = sqlx::query_as(
            "UPDATE chat_members SET read_seq = ? \
             WHERE group_id = ? AND user_id = ? AND read_seq < ? RETURNING read_seq",
        )
        .bind(to)
        .bind(group.as_str())
        .bind(user.as_str())
        .bind(to)
        .fetch_optional(&mut *turn)
        .await
        .map_err(db_error)?;
        drop(turn);
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
             WHERE group_id = ? AND read_seq >= ? AND user_id <> ? ORDER BY user_id LIMIT ?",
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
            sqlx::query_as("SELECT group_id FROM direct_pairs WHERE user_a = ? AND user_b = ?")
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
             AND (c.handle_key LIKE ? ESCAPE '\\' OR c.name_key LIKE ? ESCAPE '\\') \
             ORDER BY c.members DESC, c.handle LIMIT ?"
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
            " FROM timeline WHERE group_id = ? AND seq = ?"
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
            "SELECT seq FROM timeline WHERE group_id = ? AND is_admin = TRUE AND seq < ? \
             ORDER BY seq DESC LIMIT 1"
        } else {
            "SELECT seq FROM timeline WHERE group_id = ? AND seq < ? AND kind <> 'msg.delete' \
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
            "SELECT seq FROM timeline WHERE group_id = ? AND seq > ? AND kind <> 'msg.delete' \
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
            " FROM timeline WHERE group_id = ? AND kind <> 'msg.delete' ORDER BY seq DESC LIMIT 1"
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
            "SELECT COUNT(*) FROM (SELECT 1 FROM timeline WHERE group_id = ? AND seq > ? \
             AND is_message = TRUE AND NOT deleted AND sender <> ? ORDER BY seq LIMIT ?) AS t",
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
        // One bound parameter whatever the number of seqs (SQLite caps parameters per
        // statement): the seqs as a JSON array, unpacked by json_each.
        let list: Vec<String> = seqs
            .iter()
            .filter_map(|s| i64::try_from(*s).ok())
            .map(|s| s.to_string())
            .collect();
        let json = format!("[{}]", list.join(","));
        sqlx::query_as::<_, ReactionDbRow>(
            "SELECT seq, emoji, user_id, ts FROM reactions \
             WHERE group_id = ? AND seq IN (SELECT value FROM json_each(?)) \
             ORDER BY ts, seq, emoji, user_id",
        )
        .bind(group.as_str())
        .bind(json)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(ReactionRow::try_from)
        .collect()
    }

    async fn txn(&self, user: &UserId, txn: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let row: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT result FROM txns WHERE user_id = ? AND txn = ?")
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
                "SELECT user_id, txn FROM txns WHERE (user_id, txn) > (?, ?) \
                 ORDER BY user_id, txn LIMIT ?",
            )
            .bind(user)
            .bind(txn),
            None => sqlx::query_as("SELECT user_id, txn FROM txns ORDER BY user_id, txn LIMIT ?"),
        };
        query
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)
    }

    async fn prune_txns(&self, before: Timestamp) -> Result<u64, StorageError> {
        let mut turn = self.write_turn().await?;
        Ok(sqlx::query("DELETE FROM txns WHERE at < ?")
            .bind(seq_bound(before.0))
            .execute(&mut *turn)
            .await
            .map_err(db_error)?
            .rows_affected())
    }

    async fn invites_for(&self, user: &UserId) -> Result<Vec<InviteRow>, StorageError> {
        sqlx::query_as::<_, InviteDbRow>(
            "SELECT group_id, user_id, by_user, at FROM chat_invites WHERE user_id = ? \
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
        let mut turn = self.write_turn().await?;
        sqlx::query(
            "INSERT INTO invite_links (code, group_id, created_by, created_at, expires_at, \
             max_uses, uses, revoked) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
        .execute(&mut *turn)
        .await
        .map_err(|e| taken(e, || "an invite link with this code exists".to_owned()))?;
        Ok(())
    }

    async fn links(&self, group: &GroupId) -> Result<Vec<LinkRow>, StorageError> {
        sqlx::query_as::<_, LinkDbRow>(concat!(
            "SELECT ",
            link_columns!(),
            " FROM invite_links WHERE group_id = ? ORDER BY created_at DESC, code"
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
            " FROM invite_links WHERE code = ?"
        ))
        .bind(code)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(LinkRow::try_from)
        .transpose()
    }

    async fn revoke_link(&self, group: &GroupId, code: &str) -> Result<bool, StorageError> {
        let mut turn = self.write_turn().await?;
        let n =
            sqlx::query("UPDATE invite_links SET revoked = TRUE WHERE group_id = ? AND code = ?")
                .bind(group.as_str())
                .bind(code)
                .execute(&mut *turn)
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
        let mut turn = self.write_turn().await?;
        // The WHERE clause is the whole check, evaluated under the row's write lock: of
        // concurrent redemptions at most `max_uses - uses` match.
        let row = sqlx::query_as::<_, LinkDbRow>(concat!(
            "UPDATE invite_links SET uses = uses + 1 \
             WHERE code = ? AND NOT revoked AND (expires_at IS NULL OR expires_at > ?) \
             AND (max_uses IS NULL OR uses < max_uses) RETURNING ",
            link_columns!()
        ))
        .bind(code)
        .bind(seq_bound(now.0))
        .fetch_optional(&mut *turn)
        .await
        .map_err(db_error)?;
        match row {
            Some(row) => Ok(Ok(LinkRow::try_from(row)?)),
            None => Ok(Err(refusal(self.link(code).await?, now))),
        }
    }

    async fn unredeem_link(&self, code: &str) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        sqlx::query("UPDATE invite_links SET uses = uses - 1 WHERE code = ? AND uses > 0")
            .bind(code)
            .execute(&mut *turn)
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
             WHERE mine.user_id = ? AND other.user_id <> ? AND c.deleted = 0 \
             AND (c.kind = 'direct' OR c.members <= ?) \
             ORDER BY other.user_id LIMIT ?",
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
