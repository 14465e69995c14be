//! Folding events into a [`GroupState`].
//!
//! [`GroupState::apply`] checks everything an event refers to before it changes anything, so a
//! refused event leaves the state exactly as it was.

use std::collections::{BTreeMap, BTreeSet};

use thiserror::Error;

use super::bodies::{
    GroupCreate, GroupUpdate, MemberBan, MemberRoles, MsgPin, RoleCreate, RoleUpdate,
};
use super::{
    Ban, Body, EVERYONE, EVERYONE_RANK, GroupKind, GroupState, Invite, MAX_ROLES, Member,
    OWNER_RANK, Permissions, Role, RoleId, Visibility,
};
use crate::Timestamp;
use crate::ids::{GroupId, UserId};

/// An event that cannot be applied to the state (its body contradicts the state: a role that
/// does not exist, a rank out of range …). The home node never sequences such an event; a
/// replica rejects it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot apply event: {0}")]
pub struct ApplyError(pub String);

/// Shorthand for a refusal.
fn refuse<T>(reason: impl Into<String>) -> Result<T, ApplyError> {
    Err(ApplyError(reason.into()))
}

impl GroupState {
    /// The state right after `group.create` (seq 1): the sender owns the group; the members
    /// are the sender and `body.members`; `everyone` holds [`Permissions::EVERYONE_DEFAULT`]
    /// (or [`Permissions::DIRECT`] in a direct chat).
    pub fn create(
        id: GroupId,
        owner: &UserId,
        ts: Timestamp,
        body: &GroupCreate,
    ) -> Result<GroupState, ApplyError> {
        if body.members.contains(owner) {
            return refuse("the creator is listed among the other members");
        }
        let others: BTreeSet<&UserId> = body.members.iter().collect();
        if others.len() != body.members.len() {
            return refuse("a member is listed twice");
        }
        let everyone_permissions = match body.kind {
            GroupKind::Direct => {
                if others.len() != 1 || body.visibility != Visibility::Private {
                    return refuse("a direct chat is private with exactly two members");
                }
                Permissions::DIRECT
            }
            GroupKind::Group => Permissions::EVERYONE_DEFAULT,
        };
        if (body.visibility == Visibility::Public) != body.handle.is_some() {
            return refuse("a handle is present exactly when the group is public");
        }
        let member = || Member {
            roles: BTreeSet::new(),
            joined_at: ts,
        };
        let members = std::iter::once(owner)
            .chain(others)
            .map(|user| (user.clone(), member()))
            .collect();
        let everyone = Role {
            id: EVERYONE,
            name: "everyone".to_owned(),
            colour: String::new(),
            permissions: everyone_permissions,
            rank: EVERYONE_RANK,
        };
        Ok(GroupState {
            id,
            seq: 1,
            kind: body.kind,
            name: body.name.clone(),
            description: body.description.clone(),
            visibility: body.visibility,
            handle: body.handle.clone(),
            photo: None,
            owner: owner.clone(),
            roles: BTreeMap::from([(EVERYONE, everyone)]),
            members,
            bans: BTreeMap::new(),
            invites: BTreeMap::new(),
            pinned: BTreeSet::new(),
            next_role: 1,
            deleted: false,
            created_at: ts,
        })
    }

    /// Folds event `seq` (by `sender` at `ts`) into the state. Does not authorize: call
    /// [`super::authorize`] first.
    ///
    /// Refuses (and changes nothing) when `seq` is not the next one, when the group was
    /// deleted, or when the body contradicts the state: a user or role that does not exist, a
    /// rank out of range, a second `group.create`.
    pub fn apply(
        &mut self,
        seq: u64,
        ts: Timestamp,
        sender: &UserId,
        body: &Body,
    ) -> Result<(), ApplyError> {
        if self.seq.checked_add(1) != Some(seq) {
            return refuse(format!("expected seq {} + 1, got {seq}", self.seq));
        }
        if self.deleted {
            return refuse("the group was deleted");
        }
        match body {
            Body::GroupCreate(_) => return refuse("group.create only starts a log"),
            Body::GroupUpdate(update) => self.update_info(update)?,
            Body::GroupDelete => self.deleted = true,
            Body::MemberInvite(invite) => {
                self.check_can_become_member(&invite.user)?;
                self.invites.insert(
                    invite.user.clone(),
                    Invite {
                        by: sender.clone(),
                        at: ts,
                    },
                );
            }
            Body::MemberJoin(_) => {
                self.check_can_become_member(sender)?;
                self.invites.remove(sender);
                self.members.insert(
                    sender.clone(),
                    Member {
                        roles: BTreeSet::new(),
                        joined_at: ts,
                    },
                );
            }
            Body::MemberLeave => {
                if self.is_member(sender) {
                    if *sender == self.owner {
                        return refuse("the owner cannot leave");
                    }
                    self.members.remove(sender);
                } else if self.invites.remove(sender).is_none() {
                    return refuse("the sender is neither a member nor invited");
                }
            }
            Body::MemberKick(kick) => {
                self.check_removable(&kick.user)?;
                if !self.is_member(&kick.user) {
                    return refuse("the kicked user is not a member");
                }
                self.members.remove(&kick.user);
            }
            Body::MemberBan(ban) => self.ban(ts, sender, ban)?,
            Body::MemberUnban(unban) => {
                if self.bans.remove(&unban.user).is_none() {
                    return refuse("the user is not banned");
                }
            }
            Body::MemberRoles(assignment) => self.set_roles(assignment)?,
            Body::RoleCreate(create) => self.create_role(create)?,
            Body::RoleUpdate(update) => self.update_role(update)?,
            Body::RoleDelete(delete) => self.delete_role(delete.role)?,
            Body::OwnerTransfer(transfer) => {
                if !self.is_member(&transfer.user) {
                    return refuse("the new owner is not a member");
                }
                if transfer.user == self.owner {
                    return refuse("the new owner is already the owner");
                }
                self.owner = transfer.user.clone();
            }
            Body::MsgPost(post) => {
                if let Some(reply_to) = post.reply_to {
                    check_earlier(reply_to, seq)?;
                }
            }
            Body::MsgEdit(edit) => check_earlier(edit.seq, seq)?,
            Body::MsgDelete(delete) => {
                check_earlier(delete.seq, seq)?;
                // A deleted message is no longer pinned.
                self.pinned.remove(&delete.seq);
            }
            Body::MsgReact(react) => check_earlier(react.seq, seq)?,
            Body::MsgPin(MsgPin { seq: message, on }) => {
                check_earlier(*message, seq)?;
                if *on {
                    self.pinned.insert(*message);
                } else {
                    self.pinned.remove(message);
                }
            }
            Body::Unknown => {}
        }
        self.seq = seq;
        Ok(())
    }

    /// The rank of `user`: 0 for the owner, their most senior role's rank for a member
    /// ([`super::EVERYONE_RANK`] with no custom role), `None` for a non-member.
    pub fn rank_of(&self, user: &UserId) -> Option<u32> {
        if *user == self.owner {
            return Some(OWNER_RANK);
        }
        let member = self.members.get(user)?;
        Some(
            member
                .roles
                .iter()
                .filter_map(|id| self.roles.get(id))
                .map(|role| role.rank)
                .min()
                .unwrap_or(EVERYONE_RANK),
        )
    }

    /// What `user` may do: everything for the owner, the union of `everyone` and their roles
    /// for a member, nothing for anyone else. In a direct chat both members hold exactly the
    /// `everyone` set ([`Permissions::DIRECT`]).
    pub fn permissions_of(&self, user: &UserId) -> Permissions {
        // In a direct chat both people are equals: whoever opened it holds no more.
        if self.kind == GroupKind::Direct {
            return if self.is_member(user) {
                self.roles
                    .get(&EVERYONE)
                    .map_or(Permissions::DIRECT, |role| role.permissions)
            } else {
                Permissions::NONE
            };
        }
        if *user == self.owner {
            return Permissions::ALL;
        }
        let Some(member) = self.members.get(user) else {
            return Permissions::NONE;
        };
        std::iter::once(&EVERYONE)
            .chain(&member.roles)
            .filter_map(|id| self.roles.get(id))
            .fold(Permissions::NONE, |all, role| all | role.permissions)
    }

    /// True when `user` is a member.
    pub fn is_member(&self, user: &UserId) -> bool {
        self.members.contains_key(user)
    }

    /// The number of custom roles (`everyone` not counted).
    pub(super) fn custom_role_count(&self) -> usize {
        self.roles.keys().filter(|id| **id != EVERYONE).count()
    }

    /// `group.update`: name, description, photo, visibility and handle.
    fn update_info(&mut self, update: &GroupUpdate) -> Result<(), ApplyError> {
        let visibility = update.visibility.unwrap_or(self.visibility);
        let handle = match visibility {
            Visibility::Private if update.handle.is_some() => {
                return refuse("a private group has no handle");
            }
            Visibility::Private => None,
            Visibility::Public => match &update.handle {
                Some(handle) => Some(handle.clone()),
                None => self.handle.clone(),
            },
        };
        if visibility == Visibility::Public && handle.is_none() {
            return refuse("a public group needs a handle");
        }
        if self.kind == GroupKind::Direct && visibility != Visibility::Private {
            return refuse("a direct chat is private");
        }
        if let Some(name) = &update.name {
            self.name.clone_from(name);
        }
        if let Some(description) = &update.description {
            self.description.clone_from(description);
        }
        if let Some(photo) = &update.photo {
            self.photo.clone_from(photo);
        }
        self.visibility = visibility;
        self.handle = handle;
        Ok(())
    }

    /// Refuses a user who may not be invited or join: a member already, or banned.
    fn check_can_become_member(&self, user: &UserId) -> Result<(), ApplyError> {
        if self.is_member(user) {
            return refuse("the user is already a member");
        }
        if self.bans.contains_key(user) {
            return refuse("the user is banned");
        }
        Ok(())
    }

    /// Refuses the owner as the target of a kick or ban.
    fn check_removable(&self, user: &UserId) -> Result<(), ApplyError> {
        if *user == self.owner {
            return refuse("the owner cannot be removed");
        }
        Ok(())
    }

    /// `member.ban`: remove the user (member or invitee) and record the ban with the banner's
    /// rank. A second ban of the same user keeps whichever ban is the more senior, so a junior
    /// re-ban never makes a senior ban liftable by juniors.
    fn ban(&mut self, ts: Timestamp, sender: &UserId, ban: &MemberBan) -> Result<(), ApplyError> {
        self.check_removable(&ban.user)?;
        let Some(by_rank) = self.rank_of(sender) else {
            return refuse("the banner is not a member");
        };
        self.members.remove(&ban.user);
        self.invites.remove(&ban.user);
        let keep_old = self
            .bans
            .get(&ban.user)
            .is_some_and(|old| old.by_rank < by_rank);
        if !keep_old {
            self.bans.insert(
                ban.user.clone(),
                Ban {
                    by: sender.clone(),
                    by_rank,
                    reason: ban.reason.clone(),
                    at: ts,
                },
            );
        }
        Ok(())
    }

    /// `member.roles`: the member's custom roles become exactly the given ones.
    fn set_roles(&mut self, assignment: &MemberRoles) -> Result<(), ApplyError> {
        let roles: BTreeSet<RoleId> = assignment.roles.iter().copied().collect();
        if let Some(bad) = roles
            .iter()
            .find(|id| **id == EVERYONE || !self.roles.contains_key(id))
        {
            return refuse(format!("no custom role {bad}"));
        }
        let Some(member) = self.members.get_mut(&assignment.user) else {
            return refuse("the user is not a member");
        };
        member.roles = roles;
        Ok(())
    }

    /// `role.create`: insert at `rank`, moving the roles at and below it one down.
    fn create_role(&mut self, create: &RoleCreate) -> Result<(), ApplyError> {
        if create.role != self.next_role {
            return refuse(format!(
                "the new role must have id {}, not {}",
                self.next_role, create.role
            ));
        }
        let count = self.custom_role_count();
        if count >= MAX_ROLES {
            return refuse("too many roles");
        }
        if !(1..=rank_of_count(count) + 1).contains(&create.rank) {
            return refuse(format!("rank {} is out of range", create.rank));
        }
        let Some(next_role) = self.next_role.checked_add(1) else {
            return refuse("role ids are exhausted");
        };
        for role in self.custom_roles_mut() {
            if role.rank >= create.rank {
                role.rank += 1;
            }
        }
        self.remap_ban_ranks(|rank| if rank >= create.rank { rank + 1 } else { rank });
        self.roles.insert(
            create.role,
            Role {
                id: create.role,
                name: create.name.clone(),
                colour: create.colour.clone(),
                permissions: create.permissions,
                rank: create.rank,
            },
        );
        self.next_role = next_role;
        Ok(())
    }

    /// `role.update`: name, colour, permissions, and a move to another rank (the roles in
    /// between shift by one). `everyone` takes only permissions.
    fn update_role(&mut self, update: &RoleUpdate) -> Result<(), ApplyError> {
        let count = self.custom_role_count();
        let Some(role) = self.roles.get(&update.role) else {
            return refuse(format!("no role {}", update.role));
        };
        let old_rank = role.rank;
        if update.role == EVERYONE
            && (update.name.is_some() || update.colour.is_some() || update.rank.is_some())
        {
            return refuse("the everyone role takes only permissions");
        }
        if let Some(rank) = update.rank {
            if !(1..=rank_of_count(count)).contains(&rank) {
                return refuse(format!("rank {rank} is out of range"));
            }
            let moved = |other: u32| {
                if other == old_rank {
                    rank
                } else if rank < old_rank && (rank..old_rank).contains(&other) {
                    other + 1
                } else if rank > old_rank && (old_rank + 1..=rank).contains(&other) {
                    other - 1
                } else {
                    other
                }
            };
            for other in self.custom_roles_mut() {
                if other.rank != old_rank {
                    other.rank = moved(other.rank);
                }
            }
            self.remap_ban_ranks(moved);
        }
        let Some(role) = self.roles.get_mut(&update.role) else {
            return refuse(format!("no role {}", update.role));
        };
        if let Some(rank) = update.rank {
            role.rank = rank;
        }
        if let Some(name) = &update.name {
            role.name.clone_from(name);
        }
        if let Some(colour) = &update.colour {
            role.colour.clone_from(colour);
        }
        if let Some(permissions) = update.permissions {
            role.permissions = permissions;
        }
        Ok(())
    }

    /// `role.delete`: remove the role from the group and from every member; the roles below
    /// move one up so ranks stay contiguous.
    fn delete_role(&mut self, id: RoleId) -> Result<(), ApplyError> {
        if id == EVERYONE {
            return refuse("the everyone role cannot be deleted");
        }
        let Some(deleted) = self.roles.remove(&id) else {
            return refuse(format!("no role {id}"));
        };
        for role in self.custom_roles_mut() {
            if role.rank > deleted.rank {
                role.rank -= 1;
            }
        }
        // A ban made at the deleted role's rank now needs the rank just above it (the owner
        // for the top role): never a role that was junior to the banner.
        self.remap_ban_ranks(|rank| if rank >= deleted.rank { rank - 1 } else { rank });
        for member in self.members.values_mut() {
            member.roles.remove(&id);
        }
        Ok(())
    }

    /// Moves the ranks recorded in bans the way the roles moved, so a ban stays liftable by
    /// the same roles however the ranks are renumbered. Only custom ranks move: the owner's
    /// (0) and `everyone`'s stay.
    fn remap_ban_ranks(&mut self, remap: impl Fn(u32) -> u32) {
        for ban in self.bans.values_mut() {
            if ban.by_rank != OWNER_RANK && ban.by_rank != EVERYONE_RANK {
                ban.by_rank = remap(ban.by_rank);
            }
        }
    }

    /// The custom roles, for rank shifting.
    fn custom_roles_mut(&mut self) -> impl Iterator<Item = &mut Role> {
        self.roles
            .iter_mut()
            .filter(|(id, _)| **id != EVERYONE)
            .map(|(_, role)| role)
    }
}

/// The rank of the most junior of `count` custom roles (they are ranked 1..=count).
fn rank_of_count(count: usize) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX - 1)
}

/// A message reference must name an earlier event of the log.
fn check_earlier(message: u64, seq: u64) -> Result<(), ApplyError> {
    if message == 0 || message >= seq {
        return refuse(format!("message {message} is not an earlier event"));
    }
    Ok(())
}
