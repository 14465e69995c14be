//! Groups (direct chats included): the state projected from a group log, the typed event
//! bodies, the permission flags, and [`authorize`] — the one rule book every node uses.
//!
//! The home node checks each action with [`authorize`] against the state before it sequences
//! the event, then folds the event into the state with [`GroupState::apply`]; a replica does
//! the same with the events it receives. Both functions are pure. A new body is decoded with
//! [`Body::decode`] (every rule, shown text included); a body its home node already signed —
//! received, or read back from a log — with [`Body::decode_signed`], which leaves shown text
//! out so that history signed before that rule still folds (protocol.md §5.5).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::codec;
use crate::ids::{GroupId, Handle, MediaId, UserId};

mod authorize;
pub mod bodies;
mod body;
mod permissions;
mod state;
#[cfg(test)]
mod tests;

pub use authorize::{Action, Denied, authorize};
pub use body::{Body, BodyError, Rules};
pub use permissions::Permissions;
pub use state::ApplyError;

/// The longest message text, in characters (Unicode scalar values).
pub const MAX_TEXT_CHARS: usize = 4096;
/// The longest group name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// The longest group description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// The longest role name, in characters.
pub const MAX_ROLE_NAME_CHARS: usize = 32;
/// The longest ban or kick reason, in characters.
pub const MAX_REASON_CHARS: usize = 512;
/// The longest reaction emoji, in bytes of UTF-8.
pub const MAX_EMOJI_BYTES: usize = 32;
/// The most custom roles a group may have.
pub const MAX_ROLES: usize = 64;
/// The most users one message may mention.
pub const MAX_MENTIONS: usize = 50;

/// A role's id within its group. [`EVERYONE`] is the `everyone` role; custom roles get ids
/// from 1 up, never reused.
pub type RoleId = u32;

/// The id of the `everyone` role every member holds.
pub const EVERYONE: RoleId = 0;
/// The owner's rank: the most senior.
pub const OWNER_RANK: u32 = 0;
/// The `everyone` role's rank: the most junior.
pub const EVERYONE_RANK: u32 = u32::MAX;

/// A direct chat between two users, or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupKind {
    /// Exactly two members, one per pair of users; no roles, invites or moderation.
    Direct,
    /// Any number of members with roles.
    Group,
}

/// Who can find and join a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Invite only (direct invites and invite links); direct chats are private.
    Private,
    /// Listed in the directory under a unique handle; anyone not banned may join.
    Public,
}

/// A role of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Its id.
    pub id: RoleId,
    /// Its name (`everyone` for [`EVERYONE`]).
    #[serde(deserialize_with = "codec::text")]
    pub name: String,
    /// `#rrggbb`, or empty.
    #[serde(deserialize_with = "codec::text")]
    pub colour: String,
    /// What it grants.
    pub permissions: Permissions,
    /// Its rank: custom roles are numbered 1, 2, 3 … without gaps (1 most senior);
    /// `everyone` is [`EVERYONE_RANK`].
    pub rank: u32,
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Custom roles held (never [`EVERYONE`], which every member holds implicitly).
    pub roles: BTreeSet<RoleId>,
    /// When they joined (or were made a member at creation).
    pub joined_at: Timestamp,
}

/// A ban.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    /// Who banned.
    pub by: UserId,
    /// The banner's rank when they banned: lifting the ban needs this rank or more senior.
    pub by_rank: u32,
    /// Why.
    #[serde(deserialize_with = "codec::text")]
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

/// A direct invite waiting for an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// Who invited.
    pub by: UserId,
    /// When.
    pub at: Timestamp,
}

/// A group's current state: the projection of its log up to `seq`.
///
/// Messages are not part of it (they live in the node's timeline tables); pins are, since
/// they are few and shown in the group header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    /// The group.
    pub id: GroupId,
    /// The seq of the last event applied.
    pub seq: u64,
    /// Direct chat or group.
    pub kind: GroupKind,
    /// Name (empty for direct chats).
    #[serde(deserialize_with = "codec::text")]
    pub name: String,
    /// Description.
    #[serde(deserialize_with = "codec::text")]
    pub description: String,
    /// Private or public.
    pub visibility: Visibility,
    /// The public handle, exactly when public.
    pub handle: Option<Handle>,
    /// The group photo (`group.update` sets and removes it). Absent in snapshots written
    /// before photos existed.
    #[serde(default)]
    pub photo: Option<MediaId>,
    /// The owner (rank 0, every permission).
    pub owner: UserId,
    /// Roles by id, `everyone` included.
    pub roles: BTreeMap<RoleId, Role>,
    /// Current members, the owner included.
    pub members: BTreeMap<UserId, Member>,
    /// Banned users.
    pub bans: BTreeMap<UserId, Ban>,
    /// Pending direct invites.
    pub invites: BTreeMap<UserId, Invite>,
    /// Pinned messages, by seq.
    pub pinned: BTreeSet<u64>,
    /// The id the next custom role gets.
    pub next_role: RoleId,
    /// Set by `group.delete`: nothing more may happen.
    pub deleted: bool,
    /// When the group was created.
    pub created_at: Timestamp,
}
