//! Chats over the gateway: the params and results of the `chats.*`, `dm.*`, `groups.*`,
//! `invites.*`, `links.*`, `members.*`, `bans.*`, `roles.*`, `msgs.*` and `audit.*` methods,
//! and the `chat.*` pushes. The prose is `spec/gateway.md` § Chats.
//!
//! Every write carries `txn`, a client-chosen id (1–64 bytes of text, unique per user): the
//! node remembers the result of each `txn` for a day, so a retry returns the first result
//! instead of acting twice. Messages are addressed by their `seq` in the group log.

use ciborium::Value;
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::codec;
use crate::event::EventKind;
use crate::group::{GroupKind, Permissions, Role, RoleId, Visibility};
use crate::ids::{EventId, GroupId, Handle, MediaId, NodeName, UserId};
use crate::media::AttachmentInput;

pub use super::actions::{
    ChatSettings, ChatSettingsParams, ForwardOriginal, ForwardParams, MAX_PINNED_CHATS,
    MUTED_FOREVER, MessageRef,
};

/// The longest `txn`, in bytes.
pub const MAX_TXN_BYTES: usize = 64;
/// The largest `limit` of `msgs.history` and `audit.list`, and their default.
pub const MAX_HISTORY_LIMIT: u32 = 100;
/// The largest `limit` of `groups.directory`, and its default.
pub const MAX_DIRECTORY_LIMIT: u32 = 50;
/// How many reacting users a timeline item lists per emoji (the count is always exact).
pub const MAX_REACTION_USERS: usize = 20;
/// The largest `limit` of `chats.list`, and its default.
pub const MAX_CHATS_LIMIT: u32 = 100;
/// The largest `limit` of `members.list`, `bans.list` and `links.list`, and their default; also
/// the most members `chats.get` lists.
pub const MAX_PAGE_LIMIT: u32 = 100;

/// Method names for chats.
pub mod method {
    /// [`super::ChatsListParams`] → [`super::ChatList`].
    pub const CHATS_LIST: &str = "chats.list";
    /// [`super::GroupParams`] → [`super::ChatDetail`].
    pub const CHATS_GET: &str = "chats.get";
    /// [`super::DmOpenParams`] → [`super::ChatSummary`]: the direct chat with a user, created
    /// on first use.
    pub const DM_OPEN: &str = "dm.open";
    /// [`super::GroupCreateParams`] → [`super::ChatSummary`].
    pub const GROUPS_CREATE: &str = "groups.create";
    /// [`super::GroupUpdateParams`] → [`super::WriteResult`].
    pub const GROUPS_UPDATE: &str = "groups.update";
    /// [`super::TxnGroupParams`] → [`super::WriteResult`] (owner only).
    pub const GROUPS_DELETE: &str = "groups.delete";
    /// [`super::TargetParams`] → [`super::WriteResult`] (owner only).
    pub const GROUPS_TRANSFER: &str = "groups.transfer";
    /// [`super::DirectoryParams`] → [`super::DirectoryResult`].
    pub const GROUPS_DIRECTORY: &str = "groups.directory";
    /// [`super::JoinParams`] → [`super::ChatSummary`] (public groups).
    pub const GROUPS_JOIN: &str = "groups.join";
    /// [`super::TxnGroupParams`] → [`super::WriteResult`].
    pub const GROUPS_LEAVE: &str = "groups.leave";
    /// [`super::TargetParams`] → [`super::WriteResult`]; the invitee gets `invite`.
    pub const INVITES_SEND: &str = "invites.send";
    /// [`super::AfterParams`] → [`super::InviteList`]: the caller's pending invites.
    pub const INVITES_LIST: &str = "invites.list";
    /// [`super::TxnGroupParams`] → [`super::ChatSummary`].
    pub const INVITES_ACCEPT: &str = "invites.accept";
    /// [`super::TxnGroupParams`] → [`super::WriteResult`].
    pub const INVITES_DECLINE: &str = "invites.decline";
    /// [`super::LinkCreateParams`] → [`super::LinkInfo`].
    pub const LINKS_CREATE: &str = "links.create";
    /// [`super::PageParams`] → [`super::LinkList`].
    pub const LINKS_LIST: &str = "links.list";
    /// [`super::LinkParams`] with `group` → `{}`.
    pub const LINKS_REVOKE: &str = "links.revoke";
    /// [`super::CodeParams`] → [`super::LinkPreview`].
    pub const LINKS_PREVIEW: &str = "links.preview";
    /// [`super::RedeemParams`] → [`super::ChatSummary`].
    pub const LINKS_REDEEM: &str = "links.redeem";
    /// [`super::KickParams`] → [`super::WriteResult`].
    pub const MEMBERS_KICK: &str = "members.kick";
    /// [`super::KickParams`] → [`super::WriteResult`].
    pub const MEMBERS_BAN: &str = "members.ban";
    /// [`super::TargetParams`] → [`super::WriteResult`].
    pub const MEMBERS_UNBAN: &str = "members.unban";
    /// [`super::SetRolesParams`] → [`super::WriteResult`].
    pub const MEMBERS_ROLES: &str = "members.roles";
    /// [`super::PageParams`] → [`super::BanList`].
    pub const BANS_LIST: &str = "bans.list";
    /// [`super::PageParams`] → [`super::MemberList`]: a chat's members, a page at a time.
    pub const MEMBERS_LIST: &str = "members.list";
    /// [`super::RoleCreateParams`] → [`super::WriteResult`] (with `role`).
    pub const ROLES_CREATE: &str = "roles.create";
    /// [`super::RoleUpdateParams`] → [`super::WriteResult`].
    pub const ROLES_UPDATE: &str = "roles.update";
    /// [`super::RoleDeleteParams`] → [`super::WriteResult`].
    pub const ROLES_DELETE: &str = "roles.delete";
    /// [`super::PostParams`] → [`super::WriteResult`].
    pub const MSGS_POST: &str = "msgs.post";
    /// [`super::EditParams`] → [`super::WriteResult`].
    pub const MSGS_EDIT: &str = "msgs.edit";
    /// [`super::MsgParams`] → [`super::WriteResult`].
    pub const MSGS_DELETE: &str = "msgs.delete";
    /// [`super::ReactParams`] → [`super::WriteResult`].
    pub const MSGS_REACT: &str = "msgs.react";
    /// [`super::PinParams`] → [`super::WriteResult`].
    pub const MSGS_PIN: &str = "msgs.pin";
    /// [`super::HistoryParams`] → [`super::HistoryResult`].
    pub const MSGS_HISTORY: &str = "msgs.history";
    /// [`super::ReadParams`] → `{}`; members get `chat.read`.
    pub const MSGS_READ: &str = "msgs.read";
    /// [`super::SeenByParams`] → [`super::SeenBy`].
    pub const MSGS_SEEN_BY: &str = "msgs.seen_by";
    /// [`super::GroupParams`] → `{}`; other members get `chat.typing`.
    pub const MSGS_TYPING: &str = "msgs.typing";
    /// [`super::EventParams`] → [`super::EventResult`]: an event's signed bytes, to verify.
    pub const MSGS_EVENT: &str = "msgs.event";
    /// [`super::AuditParams`] → [`super::HistoryResult`] (admin events only).
    pub const AUDIT_LIST: &str = "audit.list";
    /// [`super::ForwardParams`] → [`super::WriteResult`]: a message posted again in another
    /// chat, with `forwarded` written by the node.
    pub const MSGS_FORWARD: &str = "msgs.forward";
    /// [`super::ChatSettingsParams`] → [`super::ChatSettings`]; the caller's sessions get
    /// `chat.settings`.
    pub const CHATS_SETTINGS: &str = "chats.settings";
}

/// Push names for chats.
pub mod event {
    /// [`super::ChatEventPush`]: an event was committed in a chat the user is in (or, for the
    /// event that removes them, was in).
    pub const CHAT_EVENT: &str = "chat.event";
    /// [`super::ReadPush`]: a member's read position moved.
    pub const CHAT_READ: &str = "chat.read";
    /// [`super::TypingPush`]: a member is typing (lasts 6 s unless repeated).
    pub const CHAT_TYPING: &str = "chat.typing";
    /// [`super::InviteInfo`]: the user was invited to a group.
    pub const INVITE: &str = "invite";
    /// [`super::ChatSettings`]: the user muted, unmuted, pinned or unpinned a chat (on any of
    /// their sessions).
    pub const CHAT_SETTINGS: &str = "chat.settings";
}

/// `{group}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupParams {
    /// The chat.
    pub group: GroupId,
}

/// `{txn, group}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnGroupParams {
    /// Transaction id.
    #[serde(deserialize_with = "codec::text")]
    pub txn: String,
    /// The chat.
    pub group: GroupId,
}

/// `{txn, group, user}`: an action on one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetParams {
    /// Transaction id.
    #[serde(deserialize_with = "codec::text")]
    pub txn: String,
    /// The chat.
    pub group: GroupId,
    /// The user acted on.
    pub user: UserId,
}

/// `dm.open` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmOpenParams {
    /// The other user (not the caller).
    pub user: UserId,
}

/// `groups.create` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCreateParams {
    /// Transaction id.
    #[serde(deserialize_with = "codec::text")]
    pub txn: String,
    /// 1–64 characters.
    #[serde(deserialize_with = "codec::text")]
    pub name: String,
    /// Up to 1,024 characters.
    #[serde(default, deserialize_with = "codec::text")]
    pub description: String,
    /// Private or public.
    pub visibility: Visibility,
    /// The handle's local part (`rustaceans`), required when public, unique on the node.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub handle: Option<String>,
}

/// `groups.update` params; absent fields are unchanged. Visibility and handle: owner only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupUpdateParams {
    /// Transaction id.
    #[serde(deserialize_with = "codec::text")]
    pub txn: String,
    /// The group.
    pub group: GroupId,
    /// A new name.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub name: Option<String>,
    /// A new description.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub description: Option<String>,
    /// A new visibility; `public` needs `handle` (or a kept one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    /// A new handle local part.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub handle: Option<String>,
    /// The group photo (`edit_group_info`): `None` (absent) unchanged, `Some(None)` (`null`)
    /// removed, `Some(Some(id))` set to an image the caller uploaded to this node.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::nullable"
    )]
    pub photo: Option<Option<MediaId>>,
}

/// `groups.directory` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryParams {
    /// Matches handles and names (prefix, case-insensitive); empty lists the biggest groups.
    #[serde(deserialize_with = "codec::text")]
    pub query: String,
    /// At most this many (default and maximum [`MAX_DIRECTORY_LIMIT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next` of the previous page, to continue.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub after: Option<String>,
}

/// One public group in the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryEntry {
    /// The group.
    pub group: GroupId,
    /// Its handle.
    pub handle: Handle,
    /// Its name.
    #[serde(deserialize_with = "codec::text")]
    pub name: String,
    /// Its description.
    #[serde(deserialize_with = "codec::text")]
    pub description: String,
    /// How many members it has.
    pub members: u64,
    /// True when the caller is a member.
    pub joined: bool,
    /// Its photo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<MediaId>,
}

/// `groups.directory` result.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DirectoryResult {
    /// Matching public groups.
    pub groups: Vec<DirectoryEntry>,
    /// Present when the list goes on: send it back as `after` for the next page.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub next: Option<String>,
}

/// `groups.join` params: by id or by handle (exactly one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinParams {
    /// Transaction id.
    #[serde(deserialize_with = "codec::text")]
    pub txn: String,
    /// The group by id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupId>,
    /// The group by handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<Handle>,
}

/// A pending direct invite (`invites.list`, the `invite` push).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteInfo {
    /// The group.
    pub group: GroupId,
    /// Its name.
    #[serde(deserialize_with = "codec::text")]
    pub name: String,
    /// Who invited.
    pub by: UserId,
    /// When.
    pub at: Timestamp,
}

/// `invites.list` result.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InviteList {
    /// Pending invites, newest first.
    pub invites: Vec<InviteInfo>,
    /// Present when the list goes on: send it back as `after` for the next page.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub next: Option<String>,
}

/// `links.create` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkCreateParams {
    /// The group.
    pub group: GroupId,
    /// Seconds until the link expires; absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// How many times it may be redeemed; absent: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
}

/// An invite link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkInfo {
    /// The secret code (URL-safe text) the link carries.
    #[serde(deserialize_with = "codec::text")]
    pub code: String,
    /// The group.
    pub group: GroupId,
    /// Who created it.
    pub created_by: UserId,
    /// When.
    pub created_at: Timestamp,
    /// When it expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// Maximum redemptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
    /// Redemptions so far.
    pub uses: u32,
    /// True once revoked.
    pub revoked: bool,
}

/// `links.list` result.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LinkList {
    /// The group's links, newest first.
    pub links: Vec<LinkInfo>,
    /// Present when the list goes on: send it back as `after` for the next page.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub next: Option<String>,
}

/// `links.revoke` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkParams {
    /// The group.
    pub group: GroupId,
    /// The link's code.
    #[serde(deserialize_with = "codec::text")]
    pub code: String,
}

/// `links.preview` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeParams {
    /// The link's code.
    #[serde(deserialize_with = "codec::text")]
    pub code: String,
    /// The node whose link it is (the host of the link's address); absent: this node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeName>,
}

/// `links.redeem` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeemParams {
    /// Transaction id.
    #[serde(deserialize_with = "codec::text")]
    pub txn: String,
    /// The link's code.
    #[serde(deserialize_with = "codec::text")]
    pub code: String,
    /// The node whose link it is (the host of the link's address); absent: this node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeName>,
}

/// `links.preview` result: what a link leads to, before joining.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkPreview {
    /// The group.
    pub group: GroupId,
    /// Its name.
    #[serde(deserialize_with = "codec::text")]
    pub name: String,
    /// Its description.
    #[serde(deserialize_with = "codec::text")]
    pub description: String,
    /// How many members it has.
    pub members: u64,
    /// Its photo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<MediaId>,
}

/// `members.kick` and `members.ban` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KickParams {
    /// Transaction id.
    #[serde(deserialize_with = "codec::text")]
    pub txn: String,
    /// The group.
    pub group: GroupId,
    /// Who.
    pub user: UserId,
    /// Why (shown to members).
    #[serde(default, deserialize_with = "codec::text")]
    pub reason: String,
}

/// `members.roles` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetRolesParams {
    /// Transaction id.
    #[serde(deserialize_with = "codec::text")]
    pub txn: String,
    /// The group.
    pub group: GroupId,
    /// Whose roles.
    pub user: UserId,
    /// Their custom roles from now on.
    pub roles: Vec<RoleId>,
}

/// A ban, as `bans.list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanInfo {
    /// Who is banned.
    pub user: UserId,
    /// Who banned them.
    pub by: UserId,
    /// The rank the ban was made at: lifting it needs this rank or a more senior one.
    pub by_rank: u32,
    /// Why.
    #[serde(deserialize_with = "codec::text")]
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

/// `bans.list` result.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BanList {
    /// Current bans, newest first.
    pub bans: Vec<BanInfo>,
    /// Present when the list goes on: send it back as `after` for the next page.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub next: Option<String>,
}

/// `roles.create` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleCreateParams {
    /// Transaction id.
    #[serde(deserialize_with = "codec::text")]
    pub txn: String,
    /// The group.
    pub group: GroupId,
    /// 1–32 characters.
    #[serde(deserialize_with = "codec::text")]
    pub name: String,
    /// `#rrggbb` or empty.
    #[serde(default, deserialize_with = "codec::text")]
    pub colour: String,
    /// What it grants (only flags the caller holds).
    pub permissions: Permissions,
    /// Where it goes (below the caller); absent: the most junior custom role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
}

/// `roles.update` params; absent fields are unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleUpdateParams {
    /// Transaction id.
    #[serde(deserialize_with = "codec::text")]
    pub txn: String,
    /// The group.
    pub group: GroupId,
    /// Which role ([`crate::group::EVERYONE`] takes only `permissions`).
    pub role: RoleId,
    /// A new name.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub name: Option<String>,
    /// A new colour.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub colour: Option<String>,
    /// New permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
    /// A new rank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
}

/// `roles.delete` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDeleteParams {
    /// Transaction id.
    #[serde(deserialize_with = "codec::text")]
    pub txn: String,
    /// The group.
    pub group: GroupId,
    /// Which role.
    pub role: RoleId,
}

/// `msgs.post` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostParams {
    /// Transaction id.
    #[serde(deserialize_with = "codec::text")]
    pub txn: String,
    /// The chat.
    pub group: GroupId,
    /// 1–4,096 characters; with attachments, the caption: 0–4,096 characters.
    #[serde(deserialize_with = "codec::text")]
    pub text: String,
    /// The message answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<u64>,
    /// Users mentioned (members).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<UserId>,
    /// Mentions @everyone (needs `mention_everyone`).
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub mention_everyone: bool,
    /// Media the caller uploaded to this node, at most [`crate::media::MAX_ATTACHMENTS`]
    /// (needs `send_media`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentInput>,
}

/// `msgs.edit` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditParams {
    /// Transaction id.
    #[serde(deserialize_with = "codec::text")]
    pub txn: String,
    /// The chat.
    pub group: GroupId,
    /// The message.
    pub seq: u64,
    /// The new text.
    #[serde(deserialize_with = "codec::text")]
    pub text: String,
}

/// `msgs.delete` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MsgParams {
    /// Transaction id.
    #[serde(deserialize_with = "codec::text")]
    pub txn: String,
    /// The chat.
    pub group: GroupId,
    /// The message.
    pub seq: u64,
}

/// `msgs.react` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactParams {
    /// Transaction id.
    #[serde(deserialize_with = "codec::text")]
    pub txn: String,
    /// The chat.
    pub group: GroupId,
    /// The message.
    pub seq: u64,
    /// The emoji.
    #[serde(deserialize_with = "codec::text")]
    pub emoji: String,
    /// Add (true) or remove (false).
    pub on: bool,
}

/// `msgs.pin` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinParams {
    /// Transaction id.
    #[serde(deserialize_with = "codec::text")]
    pub txn: String,
    /// The chat.
    pub group: GroupId,
    /// The message.
    pub seq: u64,
    /// Pin (true) or unpin (false).
    pub on: bool,
}

/// The result of every logged write: the event it committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteResult {
    /// The chat.
    pub group: GroupId,
    /// The event's seq.
    pub seq: u64,
    /// The event's id.
    pub id: EventId,
    /// For `roles.create`: the new role's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleId>,
}

/// `msgs.history` params. With neither `before`, `after` nor `around`: the newest items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryParams {
    /// The chat.
    pub group: GroupId,
    /// Items with seq below this, newest first in the walk, returned oldest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
    /// Items with seq above this, oldest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// Items around this seq (half before, the item and half after): jumping to a reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub around: Option<u64>,
    /// At most this many (default and maximum [`MAX_HISTORY_LIMIT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `audit.list` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditParams {
    /// The group.
    pub group: GroupId,
    /// Admin events with seq below this; absent: the newest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
    /// At most this many (default and maximum [`MAX_HISTORY_LIMIT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The reactions of one emoji on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    /// The emoji.
    #[serde(deserialize_with = "codec::text")]
    pub emoji: String,
    /// How many users reacted with it.
    pub count: u64,
    /// The first [`MAX_REACTION_USERS`] of them, earliest first.
    pub users: Vec<UserId>,
}

/// One event of a chat's timeline, with the current state of a message (after edits,
/// deletion, reactions and pins) when it is a `msg.post`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineItem {
    /// Position in the log.
    pub seq: u64,
    /// The event id.
    pub id: EventId,
    /// Home-node time.
    pub ts: Timestamp,
    /// Who acted.
    pub sender: UserId,
    /// The event kind.
    pub kind: EventKind,
    /// The event body; for a `msg.post` the text is the latest edit, and empty when deleted.
    #[serde(deserialize_with = "codec::value_map")]
    pub body: Value,
    /// When the message was last edited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Timestamp>,
    /// True when the message was deleted.
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub deleted: bool,
    /// True when the message is pinned.
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub pinned: bool,
    /// Reactions, by first use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// True when more emojis were used than `reactions` lists (it is cut to
    /// [`crate::gateway::fit::REACTIONS_BUDGET`] bytes).
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub more_reactions: bool,
}

/// `msgs.history` and `audit.list` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryResult {
    /// Items in ascending seq.
    pub items: Vec<TimelineItem>,
    /// True when older items exist before the first.
    pub more_before: bool,
    /// True when newer items exist after the last.
    pub more_after: bool,
}

/// `msgs.read` and `msgs.seen_by` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadParams {
    /// The chat.
    pub group: GroupId,
    /// The seq read up to (`msgs.read`: never moves back), or asked about (`msgs.seen_by`).
    pub seq: u64,
}

/// `msgs.event` params: which event of which chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventParams {
    /// The chat.
    pub group: GroupId,
    /// The event's seq (any kind, not only messages).
    pub seq: u64,
}

/// `msgs.event` result: the event exactly as its home node signed and stores it, so a client
/// can check the signature and the `prev` chain itself (protocol.md §4.2, §5.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventResult {
    /// The COSE_Sign1 (`signed-event`), byte for byte as stored.
    #[serde(with = "codec::byte_string")]
    pub event: Vec<u8>,
}

/// `msgs.seen_by` result.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SeenBy {
    /// Members other than the sender whose read position is at or past the message.
    pub users: Vec<UserId>,
    /// Present when the list goes on: send it back as `after` for the next page.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub next: Option<String>,
}

/// A chat as the chat list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatSummary {
    /// The chat.
    pub group: GroupId,
    /// Direct or group.
    pub kind: GroupKind,
    /// The name (empty for a direct chat: show the peer).
    #[serde(deserialize_with = "codec::text")]
    pub name: String,
    /// The description.
    #[serde(deserialize_with = "codec::text")]
    pub description: String,
    /// Private or public.
    pub visibility: Visibility,
    /// The handle when public.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<Handle>,
    /// The owner.
    pub owner: UserId,
    /// For a direct chat: the other user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<UserId>,
    /// How many members.
    pub members: u64,
    /// The seq of the last event.
    pub last_seq: u64,
    /// The last message (or event), for the preview line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<TimelineItem>,
    /// The caller's read position.
    pub read_seq: u64,
    /// Messages by others after `read_seq`, not deleted.
    pub unread: u64,
    /// For a direct chat: the peer's read position (✓✓ up to here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_read_seq: Option<u64>,
    /// The caller's rank.
    pub my_rank: u32,
    /// What the caller may do.
    pub my_permissions: Permissions,
    /// Pinned messages.
    pub pinned: Vec<u64>,
    /// The group photo; for a direct chat, the peer's avatar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<MediaId>,
    /// The caller muted the chat until then (`chats.settings`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted_until: Option<Timestamp>,
    /// The caller pinned the chat to the top of their list then (`chats.settings`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_at: Option<Timestamp>,
}

/// `chats.list` result.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatList {
    /// The caller's chats, most recent activity first.
    pub chats: Vec<ChatSummary>,
    /// Present when the list goes on: send it back as `after` for the next page.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub next: Option<String>,
}

/// A member, with what the group panel shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// The user.
    pub user: UserId,
    /// Their display name.
    #[serde(deserialize_with = "codec::text")]
    pub display_name: String,
    /// Their custom roles.
    pub roles: Vec<RoleId>,
    /// Their rank (0: owner).
    pub rank: u32,
    /// When they joined.
    pub joined_at: Timestamp,
    /// Their read position.
    pub read_seq: u64,
    /// Their avatar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<MediaId>,
}

/// `chats.get` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatDetail {
    /// The summary.
    pub chat: ChatSummary,
    /// The members, most senior first: the first page (`members.list` gives the rest).
    pub members: Vec<MemberInfo>,
    /// The roles, most senior first, `everyone` last.
    pub roles: Vec<Role>,
    /// Users with a pending invite (visible to members who may invite).
    pub invited: Vec<UserId>,
    /// Present when there are more members: `after` for `members.list`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub members_next: Option<String>,
    /// True when `invited` was cut to fit the reply.
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub more_invited: bool,
}

/// The `chat.event` push.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatEventPush {
    /// The chat.
    pub group: GroupId,
    /// The committed event (for `msg.post`: as history would show it).
    pub item: TimelineItem,
}

/// The `chat.read` push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadPush {
    /// The chat.
    pub group: GroupId,
    /// Whose position.
    pub user: UserId,
    /// Their read position now.
    pub seq: u64,
}

/// The `chat.typing` push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypingPush {
    /// The chat.
    pub group: GroupId,
    /// Who is typing.
    pub user: UserId,
}

/// `chats.list` params (all optional: `{}` is the first page).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChatsListParams {
    /// The `next` of the previous page, to continue.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub after: Option<String>,
    /// At most this many (default and maximum [`MAX_CHATS_LIMIT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `invites.list` params: `{}` or the `next` of the previous page.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AfterParams {
    /// The `next` of the previous page, to continue.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub after: Option<String>,
}

/// `members.list`, `bans.list` and `links.list` params: a group and a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageParams {
    /// The group.
    pub group: GroupId,
    /// The `next` of the previous page (or `members_next` of `chats.get`), to continue.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub after: Option<String>,
    /// At most this many (default and maximum [`MAX_PAGE_LIMIT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `members.list` result.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MemberList {
    /// Members, most senior first (as `chats.get`).
    pub members: Vec<MemberInfo>,
    /// Present when the list goes on: send it back as `after` for the next page.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub next: Option<String>,
}

/// `msgs.seen_by` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenByParams {
    /// The chat.
    pub group: GroupId,
    /// The message asked about.
    pub seq: u64,
    /// The `next` of the previous page, to continue.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub after: Option<String>,
}
