//! Chats: the projection of every group log this node holds, materialised for fast reads.
//!
//! The log (`events`) is the truth; these tables are derived from it and written in the same
//! transaction as each event ([`ChatStore::commit`]), so a reader never sees an event without
//! its effects or the reverse:
//! - `chats`: one row per group — settings in columns for listing and the directory, and the
//!   full [`winichat_protocol::group::GroupState`] as a CBOR snapshot (`state`);
//! - `chat_members`: current members with their read position (the "my chats" index);
//! - `direct_pairs`: the one direct chat of each pair of users;
//! - `timeline`: what a chat view shows — every `msg.post` with its current text, and every
//!   admin/membership event as a line; edits, deletions, reactions and pins update rows here
//!   rather than adding their own — except a moderator's deletion of someone else's message,
//!   which adds an admin row (`kind = 'msg.delete'`) for the audit view that every other read
//!   (history pages, `has_item_*`, `last_item`, unread counts) skips;
//! - `reactions`, `chat_invites` (pending direct invites, by invitee), `invite_links`, and
//!   `txns` (each user's transaction ids with the result they produced, for idempotent retries).

use winichat_protocol::Timestamp;
use winichat_protocol::ids::{GroupId, NodeName, UserId};

use super::{NewEvent, StorageError};

/// A chat's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRow {
    /// The group.
    pub group: GroupId,
    /// `direct` or `group`.
    pub kind: String,
    /// The name.
    pub name: String,
    /// The description.
    pub description: String,
    /// `private` or `public`.
    pub visibility: String,
    /// The handle's full text (`#name:node`) when public; unique among chats.
    pub handle: Option<String>,
    /// The owner.
    pub owner: UserId,
    /// How many members.
    pub members: u64,
    /// The seq of the last event.
    pub last_seq: u64,
    /// The time of the last event (orders the chat list).
    pub last_ts: Timestamp,
    /// The CBOR [`winichat_protocol::group::GroupState`] after `state_seq`.
    pub state: Vec<u8>,
    /// True once the group is deleted.
    pub deleted: bool,
}

/// A chat as one member sees it in their list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyChat {
    /// The chat.
    pub chat: ChatRow,
    /// The member's read position.
    pub read_seq: u64,
}

/// A row of a chat's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineRow {
    /// Position in the log.
    pub seq: u64,
    /// The event id's text.
    pub event_id: String,
    /// Home-node time.
    pub ts: Timestamp,
    /// The sender.
    pub sender: UserId,
    /// The event kind.
    pub kind: String,
    /// The CBOR body as shown now (for a message: the latest text; empty map once deleted).
    pub body: Vec<u8>,
    /// True for a `msg.post`.
    pub is_message: bool,
    /// True for an admin event (shown by `audit.list`).
    pub is_admin: bool,
    /// When the message was last edited.
    pub edited_at: Option<Timestamp>,
    /// True once the message was deleted.
    pub deleted: bool,
    /// True while the message is pinned.
    pub pinned: bool,
}

/// One user's reaction on one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionRow {
    /// The message.
    pub seq: u64,
    /// The emoji.
    pub emoji: String,
    /// Who.
    pub user: UserId,
    /// When (orders the users of an emoji, and emojis by first use).
    pub ts: Timestamp,
}

/// A pending direct invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteRow {
    /// The group.
    pub group: GroupId,
    /// The invitee.
    pub user: UserId,
    /// Who invited.
    pub by: UserId,
    /// When.
    pub at: Timestamp,
}

/// An invite link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    /// The secret code.
    pub code: String,
    /// The group.
    pub group: GroupId,
    /// Its creator.
    pub created_by: UserId,
    /// When.
    pub created_at: Timestamp,
    /// Expiry, if any.
    pub expires_at: Option<Timestamp>,
    /// Maximum redemptions, if any.
    pub max_uses: Option<u32>,
    /// Redemptions so far.
    pub uses: u32,
    /// True once revoked.
    pub revoked: bool,
}

/// Why a link cannot be redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// No such code.
    Unknown,
    /// Revoked.
    Revoked,
    /// Past its expiry.
    Expired,
    /// Used `max_uses` times already.
    UsedUp,
}

/// A change to the projection, applied in the transaction of the event that causes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectionOp {
    /// `user` becomes a member with read position `read_seq`.
    AddMember { user: UserId, read_seq: u64 },
    /// `user` is no longer a member.
    RemoveMember { user: UserId },
    /// The direct chat of `a` and `b` (in either order) is this group.
    /// [`StorageError::Conflict`] if the pair already has one — unless `smaller_wins` (a
    /// replica of a chat homed elsewhere): then the pair keeps whichever of the two group ids
    /// is smaller, bytewise, so that both nodes of a simultaneous creation agree on one
    /// (spec/federation.md §5.11).
    DirectPair {
        a: UserId,
        b: UserId,
        smaller_wins: bool,
    },
    /// A new timeline row.
    InsertItem(TimelineRow),
    /// Message `seq` has new text.
    EditItem {
        seq: u64,
        body: Vec<u8>,
        edited_at: Timestamp,
    },
    /// Message `seq` is deleted: body replaced by `body` (an empty map), reactions removed.
    DeleteItem { seq: u64, body: Vec<u8> },
    /// A reaction added (`on`) or removed; adding twice or removing an absent one is a no-op.
    React {
        seq: u64,
        emoji: String,
        user: UserId,
        ts: Timestamp,
        on: bool,
    },
    /// Message `seq` pinned or unpinned.
    Pin { seq: u64, on: bool },
    /// A pending invite for `user`.
    Invite {
        user: UserId,
        by: UserId,
        at: Timestamp,
    },
    /// `user`'s pending invite is gone (accepted, declined, banned).
    ClearInvite { user: UserId },
    /// `user`'s read position moves forward to `seq` (never back).
    Read { user: UserId, seq: u64 },
    /// Message `seq` refers to these uploads (SHA-256 of each attachment and poster): members
    /// may fetch them, and they are kept while the message lives ([`Self::DeleteItem`] drops
    /// the references).
    MediaRefs { seq: u64, media: Vec<[u8; 32]> },
    /// The group's photo is now this upload (or none): anyone signed in may fetch it.
    GroupPhoto { media: Option<[u8; 32]> },
}

/// Everything one event changes, written in one transaction: the event (its log head moves),
/// the chat row, the projection ops, the outbox rows, and the transaction id's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The event to append (seq must follow the stored head).
    pub event: NewEvent,
    /// The chat row after the event (inserted on seq 1, replaced after). Its `state` is
    /// written only when `state_changed`.
    pub chat: ChatRow,
    /// False when the event left the [`winichat_protocol::group::GroupState`] as it was
    /// (messages): the stored snapshot is kept, saving the write.
    pub state_changed: bool,
    /// Projection changes.
    pub ops: Vec<ProjectionOp>,
    /// Remote nodes to deliver the event to.
    pub outbox: Vec<NodeName>,
    /// The user's transaction id and the CBOR result to remember for it.
    pub txn: Option<TxnRecord>,
}

/// A remembered transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnRecord {
    /// Whose.
    pub user: UserId,
    /// The client's id.
    pub txn: String,
    /// The CBOR result returned the first time.
    pub result: Vec<u8>,
    /// When.
    pub at: Timestamp,
}

/// Which part of a timeline to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The newest `limit` rows.
    Latest,
    /// The `limit` rows just below seq (exclusive).
    Before(u64),
    /// The `limit` rows just above seq (exclusive).
    After(u64),
}

/// The chat projection.
#[async_trait::async_trait]
pub trait ChatStore: Send + Sync {
    /// Writes `commit` in one transaction. [`StorageError::Conflict`] when the event does not
    /// follow the stored head, the direct pair or the handle is taken, or the txn is known;
    /// nothing is written then.
    async fn commit(&self, commit: &Commit) -> Result<(), StorageError>;

    /// Writes `commits` in order in ONE transaction (one durable commit, one fsync), each in a
    /// savepoint of its own: a commit that fails as [`ChatStore::commit`] would is rolled back
    /// alone and reported in its place, the others are kept. The outer error means the
    /// transaction itself failed: then nothing of the batch was written (or, for a connection
    /// lost at COMMIT, nothing is known).
    async fn commit_all(
        &self,
        commits: &[Commit],
    ) -> Result<Vec<Result<(), StorageError>>, StorageError>;

    /// How many batches [`ChatStore::commit_all`] had to write again commit by commit (one of
    /// their commits failed, or they could not be planned as a whole): for operators and tests.
    fn batches_rewritten(&self) -> u64;

    /// The chat row.
    async fn chat(&self, group: &GroupId) -> Result<Option<ChatRow>, StorageError>;

    /// The chat with this handle text (`#name:node`), deleted or not.
    async fn chat_by_handle(&self, handle: &str) -> Result<Option<ChatRow>, StorageError>;

    /// `user`'s chats (not deleted), most recent `last_ts` first.
    async fn chats_of(&self, user: &UserId) -> Result<Vec<MyChat>, StorageError>;

    /// `user`'s read position in `group`, `None` when not a member.
    async fn read_seq(&self, group: &GroupId, user: &UserId) -> Result<Option<u64>, StorageError>;

    /// Every member's read position.
    async fn reads(&self, group: &GroupId) -> Result<Vec<(UserId, u64)>, StorageError>;

    /// Moves `user`'s read position forward to `seq` (never back). Returns the position now,
    /// or `None` when `user` is not a member.
    async fn mark_read(
        &self,
        group: &GroupId,
        user: &UserId,
        seq: u64,
    ) -> Result<Option<u64>, StorageError>;

    /// Members other than `except` whose read position is at least `seq`, up to `limit`.
    async fn seen_by(
        &self,
        group: &GroupId,
        seq: u64,
        except: &UserId,
        limit: u32,
    ) -> Result<Vec<UserId>, StorageError>;

    /// The direct chat of `a` and `b`, in either order.
    async fn direct_between(&self, a: &UserId, b: &UserId)
    -> Result<Option<GroupId>, StorageError>;

    /// Public, not deleted chats whose handle name or name starts with `query`
    /// (case-insensitive; empty matches all), most members first, then by handle.
    async fn directory(&self, query: &str, limit: u32) -> Result<Vec<ChatRow>, StorageError>;

    /// One timeline row.
    async fn item(&self, group: &GroupId, seq: u64) -> Result<Option<TimelineRow>, StorageError>;

    /// Up to `limit` timeline rows of `page`, in ascending seq; `admin_only` keeps admin rows.
    async fn items(
        &self,
        group: &GroupId,
        page: Page,
        limit: u32,
        admin_only: bool,
    ) -> Result<Vec<TimelineRow>, StorageError>;

    /// True when a timeline row exists below `seq` (`admin_only`: an admin row).
    async fn has_item_before(
        &self,
        group: &GroupId,
        seq: u64,
        admin_only: bool,
    ) -> Result<bool, StorageError>;

    /// True when a timeline row exists above `seq`.
    async fn has_item_after(&self, group: &GroupId, seq: u64) -> Result<bool, StorageError>;

    /// The newest timeline row, if any.
    async fn last_item(&self, group: &GroupId) -> Result<Option<TimelineRow>, StorageError>;

    /// Messages (not deleted) by others than `user` above `after`, counted up to `cap`.
    async fn unread(
        &self,
        group: &GroupId,
        user: &UserId,
        after: u64,
        cap: u64,
    ) -> Result<u64, StorageError>;

    /// The reactions on messages `seqs`, ordered by `ts`.
    async fn reactions(
        &self,
        group: &GroupId,
        seqs: &[u64],
    ) -> Result<Vec<ReactionRow>, StorageError>;

    /// The result remembered for `user`'s transaction `txn`.
    async fn txn(&self, user: &UserId, txn: &str) -> Result<Option<Vec<u8>>, StorageError>;

    /// Up to `limit` remembered transactions' `(user, txn)`, in key order, after `after`.
    async fn txn_keys(
        &self,
        after: Option<(&str, &str)>,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StorageError>;

    /// Forgets transactions recorded before `before`. Returns how many.
    async fn prune_txns(&self, before: Timestamp) -> Result<u64, StorageError>;

    /// `user`'s pending invites, newest first.
    async fn invites_for(&self, user: &UserId) -> Result<Vec<InviteRow>, StorageError>;

    /// Stores a new link. [`StorageError::Conflict`] if the code exists.
    async fn create_link(&self, link: &LinkRow) -> Result<(), StorageError>;

    /// A group's links, newest first.
    async fn links(&self, group: &GroupId) -> Result<Vec<LinkRow>, StorageError>;

    /// One link.
    async fn link(&self, code: &str) -> Result<Option<LinkRow>, StorageError>;

    /// Revokes a link of `group`. False when there is no such link in the group.
    async fn revoke_link(&self, group: &GroupId, code: &str) -> Result<bool, StorageError>;

    /// Counts one use of the link if it is live at `now` — one conditional update, so
    /// concurrent redemptions never exceed `max_uses` — and returns it with the new count.
    async fn redeem_link(
        &self,
        code: &str,
        now: Timestamp,
    ) -> Result<Result<LinkRow, LinkRefusal>, StorageError>;

    /// Gives back a use counted by [`ChatStore::redeem_link`] when the join then failed.
    async fn unredeem_link(&self, code: &str) -> Result<(), StorageError>;

    /// The users who share a live chat with `user` — direct-chat peers and members of groups
    /// of at most `max_group` members — without `user`, up to `limit`: who sees their
    /// presence.
    async fn contacts(
        &self,
        user: &UserId,
        max_group: u64,
        limit: u32,
    ) -> Result<Vec<UserId>, StorageError>;
}
