//! Permission flags: an extensible bit set carried as one unsigned integer.
//!
//! Bits this version does not know are kept (a newer node may define them) and never granted
//! by accident: [`Permissions::known`] masks them out where a check needs it.

use serde::{Deserialize, Serialize};

/// A set of permission flags. On the wire: an unsigned integer below 2^53 (so JavaScript
/// holds it exactly).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Permissions(pub u64);

macro_rules! flags {
    ($($name:ident = $bit:literal, $text:literal, $doc:literal;)*) => {
        impl Permissions {
            $(#[doc = $doc] pub const $name: Permissions = Permissions(1 << $bit);)*

            /// Every flag this version knows, with its wire name, in bit order.
            pub const NAMED: &'static [(&'static str, Permissions)] = &[$(($text, Permissions::$name)),*];

            /// Every flag this version knows.
            pub const ALL: Permissions = Permissions(0 $(| (1 << $bit))*);
        }
    };
}

flags! {
    SEND_MESSAGES = 0, "send_messages", "Post text messages.";
    SEND_MEDIA = 1, "send_media", "Post photos, audio, video and files.";
    ADD_REACTIONS = 2, "add_reactions", "React to messages.";
    PIN_MESSAGES = 3, "pin_messages", "Pin and unpin messages.";
    MANAGE_MESSAGES = 4, "manage_messages", "Delete other people's messages.";
    INVITE_MEMBERS = 5, "invite_members", "Invite users directly.";
    MANAGE_INVITES = 6, "manage_invites", "Create, list and revoke invite links.";
    KICK_MEMBERS = 7, "kick_members", "Remove more junior members.";
    BAN_MEMBERS = 8, "ban_members", "Ban and unban users.";
    MANAGE_ROLES = 9, "manage_roles", "Create, edit, reorder and delete more junior roles.";
    ASSIGN_ROLES = 10, "assign_roles", "Give and take more junior roles.";
    EDIT_GROUP_INFO = 11, "edit_group_info", "Change the name, description and photo.";
    MENTION_EVERYONE = 12, "mention_everyone", "Mention @everyone.";
    VIEW_AUDIT_LOG = 13, "view_audit_log", "Read the log of admin actions.";
}

impl Permissions {
    /// No permission.
    pub const NONE: Permissions = Permissions(0);

    /// What the `everyone` role of a new group holds.
    pub const EVERYONE_DEFAULT: Permissions = Permissions(
        Self::SEND_MESSAGES.0 | Self::SEND_MEDIA.0 | Self::ADD_REACTIONS.0 | Self::INVITE_MEMBERS.0,
    );

    /// What each member of a direct chat holds.
    pub const DIRECT: Permissions = Permissions(
        Self::SEND_MESSAGES.0 | Self::SEND_MEDIA.0 | Self::ADD_REACTIONS.0 | Self::PIN_MESSAGES.0,
    );

    /// True when every flag of `other` is in `self`.
    pub fn contains(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }

    /// The flags of `self` that are not in `other`.
    pub fn minus(self, other: Permissions) -> Permissions {
        Permissions(self.0 & !other.0)
    }

    /// The flags this version knows.
    pub fn known(self) -> Permissions {
        Permissions(self.0 & Self::ALL.0)
    }

    /// True when no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The wire names of the known flags that are set.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMED
            .iter()
            .filter(move |(_, p)| self.contains(*p))
            .map(|(name, _)| *name)
    }

    /// The flag with this wire name.
    pub fn by_name(name: &str) -> Option<Permissions> {
        Self::NAMED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| *p)
    }
}

impl core::ops::BitOr for Permissions {
    type Output = Permissions;
    fn bitor(self, rhs: Permissions) -> Permissions {
        Permissions(self.0 | rhs.0)
    }
}

impl core::ops::BitOrAssign for Permissions {
    fn bitor_assign(&mut self, rhs: Permissions) {
        self.0 |= rhs.0;
    }
}
