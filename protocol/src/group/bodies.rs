//! The body of each event kind: what the home node writes into `Event::body` and what every
//! reader decodes from it. Bodies are maps; fields a kind does not know are ignored, so newer
//! nodes may add optional fields.
//!
//! Messages are referred to by their `seq` in the same group log.

use serde::{Deserialize, Serialize};

use super::permissions::Permissions;
use super::{GroupKind, RoleId, Visibility};
use crate::Timestamp;
use crate::codec;
use crate::ids::{GroupId, Handle, MediaId, UserId};
use crate::media::Attachment;

/// `group.create`: the first event of every log. The sender is the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCreate {
    /// Direct chat or group.
    pub kind: GroupKind,
    /// The group's name (empty for a direct chat).
    #[serde(deserialize_with = "codec::text")]
    pub name: String,
    /// The group's description (empty for a direct chat).
    #[serde(deserialize_with = "codec::text")]
    pub description: String,
    /// Private or public; a direct chat is private.
    pub visibility: Visibility,
    /// The public handle; present exactly when the group is public.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<Handle>,
    /// The members besides the sender: the other user of a direct chat; empty for a group.
    #[serde(default)]
    pub members: Vec<UserId>,
}

/// `group.update`: an absent field is unchanged. `handle: null` releases the handle;
/// `photo: null` removes the photo.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GroupUpdate {
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
    /// A new visibility (owner only): public needs a handle, private releases it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    /// A new handle (owner only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<Handle>,
    /// The group photo: `None` (absent) unchanged, `Some(None)` (`null`) removed,
    /// `Some(Some(id))` set to an image on the group's home node.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::nullable"
    )]
    pub photo: Option<Option<MediaId>>,
}

impl GroupUpdate {
    /// True when it changes what `edit_group_info` covers: name, description or photo.
    pub fn changes_info(&self) -> bool {
        self.name.is_some() || self.description.is_some() || self.photo.is_some()
    }

    /// True when it changes what only the owner may: visibility or handle.
    pub fn changes_visibility(&self) -> bool {
        self.visibility.is_some() || self.handle.is_some()
    }
}

/// `group.delete`, `member.leave`: no fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NoFields {}

/// `member.invite`: the sender invites `user`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInvite {
    /// Who is invited.
    pub user: UserId,
}

/// How a user joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JoinVia {
    /// From the public directory (public groups only).
    Public,
    /// By accepting a direct invite.
    Invite,
    /// By redeeming an invite link.
    Link,
}

/// `member.join`: the sender joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberJoin {
    /// How.
    pub via: JoinVia,
}

/// `member.leave`: the sender leaves, or (when not a member) declines their invite.
pub type MemberLeave = NoFields;

/// `member.kick`: the sender removes `user`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberKick {
    /// Who is removed.
    pub user: UserId,
    /// Why (may be empty).
    #[serde(default, deserialize_with = "codec::text")]
    pub reason: String,
}

/// `member.ban`: the sender bans `user` (a member or not); a member is removed too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberBan {
    /// Who is banned.
    pub user: UserId,
    /// Why (may be empty).
    #[serde(default, deserialize_with = "codec::text")]
    pub reason: String,
}

/// `member.unban`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberUnban {
    /// Whose ban is lifted.
    pub user: UserId,
}

/// `member.roles`: `user`'s custom roles become exactly `roles` (`everyone` is implied).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRoles {
    /// Whose roles.
    pub user: UserId,
    /// The custom roles they hold now.
    pub roles: Vec<RoleId>,
}

/// `role.create`: a new custom role at `rank` (the roles at and below move one down).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleCreate {
    /// The new role's id, chosen by the home node: never reused in the group.
    pub role: RoleId,
    /// Its name.
    #[serde(deserialize_with = "codec::text")]
    pub name: String,
    /// Its colour, `#rrggbb`, or empty for none.
    #[serde(default, deserialize_with = "codec::text")]
    pub colour: String,
    /// What it grants.
    pub permissions: Permissions,
    /// Where it goes: 1 is the most senior custom role.
    pub rank: u32,
}

/// `role.update`: an absent field is unchanged. The `everyone` role takes only `permissions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleUpdate {
    /// Which role.
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
    /// A new rank: the role moves there and the roles between shift by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
}

/// `role.delete`: members holding it fall back to their other roles (or `everyone`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDelete {
    /// Which role.
    pub role: RoleId,
}

/// `owner.transfer`: `user`, a member, becomes the owner; the old owner stays a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerTransfer {
    /// The new owner.
    pub user: UserId,
}

/// `msg.post`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MsgPost {
    /// The text, 1 to [`super::MAX_TEXT_CHARS`] characters; with attachments it is their
    /// caption and may be empty.
    #[serde(deserialize_with = "codec::text")]
    pub text: String,
    /// The message this one answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<u64>,
    /// Users mentioned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<UserId>,
    /// True when the message mentions @everyone.
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub mention_everyone: bool,
    /// Photos, audio, voice, video and files, written by the home node (at most
    /// [`crate::media::MAX_ATTACHMENTS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// Set by the home node alone when the message was forwarded (`msgs.forward`): whose
    /// message it was. Clients never write it (`msgs.post` has no such param).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded: Option<Forwarded>,
}

/// Where a forwarded message came from (protocol.md §5.5): written by the node that checked
/// the caller could read the original, so the "from" cannot be forged by a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forwarded {
    /// Who wrote the original message.
    pub user: UserId,
    /// The chat it was in, only when that chat is public (a private chat's id is not shown to
    /// the members of another chat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupId>,
    /// When the original was posted.
    pub ts: Timestamp,
}

/// `msg.edit`: the author replaces the text of message `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MsgEdit {
    /// Which message.
    pub seq: u64,
    /// The new text.
    #[serde(deserialize_with = "codec::text")]
    pub text: String,
}

/// `msg.delete`: message `seq` is deleted for everyone (a mark remains).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MsgDelete {
    /// Which message.
    pub seq: u64,
}

/// `msg.react`: the sender adds (`on`) or removes a reaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MsgReact {
    /// Which message.
    pub seq: u64,
    /// The emoji: 1 to [`super::MAX_EMOJI_BYTES`] bytes of text.
    #[serde(deserialize_with = "codec::text")]
    pub emoji: String,
    /// Add (true) or remove (false).
    pub on: bool,
}

/// `msg.pin`: message `seq` is pinned (`on`) or unpinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MsgPin {
    /// Which message.
    pub seq: u64,
    /// Pin (true) or unpin (false).
    pub on: bool,
}
