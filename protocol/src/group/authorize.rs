//! [`authorize`]: may this actor take this action in this group now?

use std::collections::BTreeSet;

use thiserror::Error;

use super::bodies::{GroupUpdate, JoinVia};
use super::{
    EVERYONE, EVERYONE_RANK, GroupKind, GroupState, MAX_ROLES, Permissions, RoleId, Visibility,
};
use crate::ids::UserId;

/// Something a user wants to do in a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<'a> {
    /// Read history, members and settings; mark read; typing.
    View,
    /// Post a message (`media`: with attachments; `mention_everyone`: mentions @everyone).
    Post { media: bool, mention_everyone: bool },
    /// Edit a message by `author` (only one's own).
    Edit { author: &'a UserId },
    /// Delete a message by `author` (one's own, or anyone's with `manage_messages`).
    DeleteMessage { author: &'a UserId },
    /// Add or remove one's reaction.
    React,
    /// Pin or unpin.
    Pin,
    /// Change name, description or photo.
    EditInfo,
    /// Change visibility or handle (owner only).
    ChangeVisibility,
    /// Delete the group (owner only).
    DeleteGroup,
    /// Make member `to` the owner (owner only).
    TransferOwnership { to: &'a UserId },
    /// Invite `user` directly.
    Invite { user: &'a UserId },
    /// Create, list or revoke invite links.
    ManageInvites,
    /// The actor, not a member, joins.
    Join { via: JoinVia },
    /// The actor declines their pending invite.
    Decline,
    /// The actor leaves (not the owner).
    Leave,
    /// Remove member `target`.
    Kick { target: &'a UserId },
    /// Ban `target` (member or not).
    Ban { target: &'a UserId },
    /// Lift `target`'s ban.
    Unban { target: &'a UserId },
    /// See the ban list.
    ViewBans,
    /// Create a role at `rank` granting `permissions`.
    CreateRole { rank: u32, permissions: Permissions },
    /// Change `role`: a new rank and/or permissions (name and colour need only seniority).
    UpdateRole {
        role: RoleId,
        rank: Option<u32>,
        permissions: Option<Permissions>,
    },
    /// Delete `role`.
    DeleteRole { role: RoleId },
    /// Set `target`'s custom roles to `roles`.
    SetRoles {
        target: &'a UserId,
        roles: &'a [RoleId],
    },
    /// Read the admin events.
    ViewAuditLog,
}

/// Why an action is refused. `Display` is a short sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Denied {
    /// The group was deleted.
    #[error("the group was deleted")]
    GroupDeleted,
    /// The actor is not a member.
    #[error("you are not a member of this group")]
    NotMember,
    /// The actor is banned.
    #[error("you are banned from this group")]
    Banned,
    /// The actor lacks a permission.
    #[error("you lack a permission for this")]
    MissingPermission(Permissions),
    /// The target (member or role) is not strictly more junior than the actor.
    #[error("you can only act on members and roles ranked below you")]
    NotSenior,
    /// The actor would grant permissions they do not hold.
    #[error("you cannot grant permissions you do not have")]
    CannotGrant(Permissions),
    /// Only the owner may do this.
    #[error("only the owner can do this")]
    OwnerOnly,
    /// The owner cannot be kicked, banned, demoted, or leave.
    #[error("the owner cannot be removed; transfer ownership first")]
    TargetIsOwner,
    /// Only the author may edit a message.
    #[error("you can only edit your own messages")]
    NotAuthor,
    /// The role does not exist (or is `everyone` where a custom role is needed).
    #[error("no such role")]
    NoSuchRole,
    /// The target is not a member.
    #[error("that user is not a member")]
    TargetNotMember,
    /// The target is already a member.
    #[error("already a member")]
    AlreadyMember,
    /// The target is banned (cannot be invited).
    #[error("that user is banned from this group")]
    TargetBanned,
    /// The target is not banned.
    #[error("that user is not banned")]
    NotBanned,
    /// Joining needs an invite.
    #[error("this group is invite only")]
    NotInvited,
    /// The action makes no sense in a direct chat.
    #[error("not possible in a direct chat")]
    DirectChat,
    /// A rank outside the actor's reach or the role list.
    #[error("that rank is not available to you")]
    BadRank,
    /// The group has the maximum number of roles.
    #[error("too many roles")]
    TooManyRoles,
}

impl GroupUpdate {
    /// What a `group.update` needs, each authorized in turn: [`Action::EditInfo`] when it
    /// changes the name, description or photo (a photo alone included), and
    /// [`Action::ChangeVisibility`] when it changes the visibility or handle. Empty for an
    /// update that changes nothing.
    pub fn actions(&self) -> Vec<Action<'static>> {
        let mut out = Vec::new();
        if self.changes_info() {
            out.push(Action::EditInfo);
        }
        if self.changes_visibility() {
            out.push(Action::ChangeVisibility);
        }
        out
    }
}

/// May `actor` take `action` in the group `state` now?
///
/// The rules (ARCHITECTURE "Permissions: ranked roles"): act on a member or role only when
/// strictly more senior; grant only permissions you hold; create or move roles only below
/// your own rank; unban only when at least as senior as whoever banned; the owner cannot be
/// kicked, banned or demoted and ownership moves only by transfer; only the owner changes the
/// group's type or handle, or deletes it. A deleted group refuses everything.
pub fn authorize(state: &GroupState, actor: &UserId, action: &Action<'_>) -> Result<(), Denied> {
    if state.deleted {
        return Err(Denied::GroupDeleted);
    }
    if state.bans.contains_key(actor) {
        return Err(Denied::Banned);
    }
    let Some(actor_rank) = state.rank_of(actor) else {
        return match action {
            Action::Join { .. } | Action::Decline if state.kind == GroupKind::Direct => {
                Err(Denied::DirectChat)
            }
            Action::Join { via } => check_join(state, actor, *via),
            Action::Decline => check_decline(state, actor),
            _ => Err(Denied::NotMember),
        };
    };
    let me = Actor {
        state,
        user: actor,
        rank: actor_rank,
        permissions: state.permissions_of(actor),
        grantable: if *actor == state.owner {
            Permissions(u64::MAX)
        } else {
            state.permissions_of(actor)
        },
    };
    if state.kind == GroupKind::Direct {
        check_direct(actor, action)?;
    }
    match action {
        Action::View => Ok(()),
        Action::Post {
            media,
            mention_everyone,
        } => {
            let mut needed = Permissions::SEND_MESSAGES;
            if *media {
                needed |= Permissions::SEND_MEDIA;
            }
            if *mention_everyone {
                needed |= Permissions::MENTION_EVERYONE;
            }
            me.need(needed)
        }
        Action::Edit { author } => {
            if *author == actor {
                Ok(())
            } else {
                Err(Denied::NotAuthor)
            }
        }
        Action::DeleteMessage { author } => {
            if *author == actor {
                return Ok(());
            }
            me.need(Permissions::MANAGE_MESSAGES)?;
            match state.rank_of(author) {
                Some(author_rank) => me.senior_to(author_rank),
                None => Ok(()),
            }
        }
        Action::React => me.need(Permissions::ADD_REACTIONS),
        Action::Pin => me.need(Permissions::PIN_MESSAGES),
        Action::EditInfo => me.need(Permissions::EDIT_GROUP_INFO),
        Action::ChangeVisibility | Action::DeleteGroup => me.owner_only(),
        Action::TransferOwnership { to } => {
            me.owner_only()?;
            if *to == &state.owner {
                Err(Denied::TargetIsOwner)
            } else if !state.is_member(to) {
                Err(Denied::TargetNotMember)
            } else {
                Ok(())
            }
        }
        Action::Invite { user } => {
            me.need(Permissions::INVITE_MEMBERS)?;
            if state.is_member(user) {
                Err(Denied::AlreadyMember)
            } else if state.bans.contains_key(*user) {
                Err(Denied::TargetBanned)
            } else {
                Ok(())
            }
        }
        Action::ManageInvites => me.need(Permissions::MANAGE_INVITES),
        Action::Join { .. } => Err(Denied::AlreadyMember),
        // A member has no pending invite (joining consumes it).
        Action::Decline => Err(Denied::NotInvited),
        Action::Leave => {
            if *actor == state.owner {
                Err(Denied::TargetIsOwner)
            } else {
                Ok(())
            }
        }
        Action::Kick { target } => {
            me.need(Permissions::KICK_MEMBERS)?;
            let Some(target_rank) = state.rank_of(target) else {
                return Err(Denied::TargetNotMember);
            };
            if *target == &state.owner {
                return Err(Denied::TargetIsOwner);
            }
            me.senior_to(target_rank)
        }
        Action::Ban { target } => {
            me.need(Permissions::BAN_MEMBERS)?;
            if *target == &state.owner {
                return Err(Denied::TargetIsOwner);
            }
            match state.rank_of(target) {
                Some(target_rank) => me.senior_to(target_rank),
                None => Ok(()),
            }
        }
        Action::Unban { target } => {
            me.need(Permissions::BAN_MEMBERS)?;
            let Some(ban) = state.bans.get(*target) else {
                return Err(Denied::NotBanned);
            };
            if actor_rank <= ban.by_rank {
                Ok(())
            } else {
                Err(Denied::NotSenior)
            }
        }
        Action::ViewBans => me.need(Permissions::BAN_MEMBERS),
        Action::CreateRole { rank, permissions } => {
            me.need(Permissions::MANAGE_ROLES)?;
            let count = state.custom_role_count();
            if count >= MAX_ROLES {
                return Err(Denied::TooManyRoles);
            }
            me.check_new_rank(*rank, count.saturating_add(1))?;
            me.grant(*permissions)
        }
        Action::UpdateRole {
            role,
            rank,
            permissions,
        } => {
            me.need(Permissions::MANAGE_ROLES)?;
            let Some(current) = state.roles.get(role) else {
                return Err(Denied::NoSuchRole);
            };
            me.senior_to(current.rank)?;
            if let Some(rank) = rank {
                if *role == EVERYONE {
                    return Err(Denied::BadRank);
                }
                me.check_new_rank(*rank, state.custom_role_count())?;
            }
            match permissions {
                Some(permissions) => me.grant(permissions.minus(current.permissions)),
                None => Ok(()),
            }
        }
        Action::DeleteRole { role } => {
            me.need(Permissions::MANAGE_ROLES)?;
            let Some(current) = state.roles.get(role).filter(|r| r.id != EVERYONE) else {
                return Err(Denied::NoSuchRole);
            };
            me.senior_to(current.rank)
        }
        Action::SetRoles { target, roles } => me.set_roles(target, roles),
        Action::ViewAuditLog => me.need(Permissions::VIEW_AUDIT_LOG),
    }
}

/// In a direct chat only conversation is possible: no settings, members, roles or
/// moderation, and only one's own messages can be deleted.
fn check_direct(actor: &UserId, action: &Action<'_>) -> Result<(), Denied> {
    match action {
        Action::View | Action::Post { .. } | Action::Edit { .. } | Action::React | Action::Pin => {
            Ok(())
        }
        Action::DeleteMessage { author } if *author == actor => Ok(()),
        _ => Err(Denied::DirectChat),
    }
}

/// A non-member joins: from the directory of a public group, with a pending invite, or
/// with a link (the node has checked the link).
fn check_join(state: &GroupState, actor: &UserId, via: JoinVia) -> Result<(), Denied> {
    let allowed = match via {
        JoinVia::Public => state.visibility == Visibility::Public,
        JoinVia::Invite => state.invites.contains_key(actor),
        JoinVia::Link => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(Denied::NotInvited)
    }
}

/// A non-member declines their pending invite.
fn check_decline(state: &GroupState, actor: &UserId) -> Result<(), Denied> {
    if state.invites.contains_key(actor) {
        Ok(())
    } else {
        Err(Denied::NotInvited)
    }
}

/// A member about to act, with what the checks need.
struct Actor<'s> {
    state: &'s GroupState,
    user: &'s UserId,
    rank: u32,
    /// What they may do.
    permissions: Permissions,
    /// What they may grant: their permissions, or every bit (known or not) for the owner.
    grantable: Permissions,
}

impl Actor<'_> {
    /// Requires every flag of `needed`.
    fn need(&self, needed: Permissions) -> Result<(), Denied> {
        let missing = needed.minus(self.permissions);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Denied::MissingPermission(missing))
        }
    }

    /// Requires the actor to be the owner.
    fn owner_only(&self) -> Result<(), Denied> {
        if *self.user == self.state.owner {
            Ok(())
        } else {
            Err(Denied::OwnerOnly)
        }
    }

    /// Requires the actor to be strictly more senior than `rank`.
    fn senior_to(&self, rank: u32) -> Result<(), Denied> {
        if self.rank < rank {
            Ok(())
        } else {
            Err(Denied::NotSenior)
        }
    }

    /// Requires a custom role rank below the actor's and within `1..=max`.
    fn check_new_rank(&self, rank: u32, max: usize) -> Result<(), Denied> {
        let in_list = rank >= 1 && usize::try_from(rank).is_ok_and(|r| r <= max);
        if in_list && rank > self.rank {
            Ok(())
        } else {
            Err(Denied::BadRank)
        }
    }

    /// Requires the actor to hold every flag they would grant.
    fn grant(&self, granted: Permissions) -> Result<(), Denied> {
        let missing = granted.minus(self.grantable);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Denied::CannotGrant(missing))
        }
    }

    /// `member.roles`: the target is a member more junior than the actor (so never the owner
    /// and never the actor), and every role given or taken is a custom role more junior than
    /// the actor; the roles given grant only what the actor holds.
    fn set_roles(&self, target: &UserId, roles: &[RoleId]) -> Result<(), Denied> {
        let state = self.state;
        self.need(Permissions::ASSIGN_ROLES)?;
        let Some(member) = state.members.get(target) else {
            return Err(Denied::TargetNotMember);
        };
        if *target == state.owner {
            return Err(Denied::TargetIsOwner);
        }
        self.senior_to(state.rank_of(target).unwrap_or(EVERYONE_RANK))?;
        let new: BTreeSet<RoleId> = roles.iter().copied().collect();
        let mut granted = Permissions::NONE;
        for id in &new {
            let Some(role) = state.roles.get(id).filter(|r| r.id != EVERYONE) else {
                return Err(Denied::NoSuchRole);
            };
            self.senior_to(role.rank)?;
            if !member.roles.contains(id) {
                granted |= role.permissions;
            }
        }
        for id in member.roles.difference(&new) {
            let Some(role) = state.roles.get(id) else {
                return Err(Denied::NoSuchRole);
            };
            self.senior_to(role.rank)?;
        }
        self.grant(granted)
    }
}
