//! What a replica does with a signed event from a group's home node (spec/federation.md §6).
//!
//! The home sequences and signs; a replica trusts neither blindly. [`place`] decides where a
//! verified event falls relative to the replica's head (next, already held, a gap), and
//! [`admit`] re-runs the very rules the home ran — [`authorize`] and [`GroupState::apply`] —
//! so a home cannot make a replica accept what the rules forbid.

use thiserror::Error;

use crate::event::{Event, EventKind, LogError, LogHead, check_next};
use crate::group::{Action, ApplyError, Body, BodyError, Denied, GroupState, authorize};
use crate::ids::{EventId, NodeName, UserId};

/// Where an event falls relative to the replica's head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// It continues the head: admit it.
    Next,
    /// At or before the head: compare its id with the stored event at its seq
    /// ([`same_or_fork`]).
    Held,
    /// Events `from ..= to` are missing before it: backfill them first, never skip.
    Gap {
        /// The first missing seq.
        from: u64,
        /// The last missing seq.
        to: u64,
    },
}

/// Places `event`, signed by `signer`, after `head` in the replica of its group. An error
/// refuses the event alone (wrong group or signer, `prev` or time not continuing the head).
pub fn place(head: Option<&LogHead>, signer: &NodeName, event: &Event) -> Result<Place, LogError> {
    match check_next(&event.group, head, signer, event) {
        Ok(()) => Ok(Place::Next),
        Err(LogError::AlreadyApplied { .. }) => Ok(Place::Held),
        Err(LogError::Gap { expected, got }) => Ok(Place::Gap {
            from: expected,
            to: got - 1,
        }),
        Err(e) => Err(e),
    }
}

/// A held event compared with the one stored at its seq.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// The same event again: ignore it.
    Duplicate,
    /// A different event signed by the home at a seq already taken: the home equivocated.
    Fork,
}

/// Compares a received event's id with the stored one at the same seq.
pub fn same_or_fork(received: &EventId, stored: &EventId) -> Held {
    if received == stored {
        Held::Duplicate
    } else {
        Held::Fork
    }
}

/// Why a replica refuses an event that continues its head.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The body does not decode for its kind.
    #[error("body: {0}")]
    Body(#[from] BodyError),
    /// The first event is not a `group.create` by a user of the home node, or a later one is.
    #[error("a log starts with one group.create by a user of its home node")]
    BadCreate,
    /// The rules forbid the sender's action on the replica's state.
    #[error("the rules forbid it: {0}")]
    Denied(#[from] Denied),
    /// The state cannot take the event (an unknown role, a second owner…).
    #[error("does not apply: {0}")]
    Apply(#[from] ApplyError),
    /// The event refers to a message the replica does not hold.
    #[error("refers to message {0}, which is not a message of this log")]
    NoSuchMessage(u64),
}

/// Decides whether `event` (placed [`Place::Next`]) may join the replica whose state is
/// `state` (`None` before the first event), and returns the decoded body and the state after
/// it. `author_of(seq)` is the sender of the message at `seq` in the replica (`None` when
/// there is no live message there); edits and deletions are authorized against it.
pub fn admit(
    state: Option<&GroupState>,
    event: &Event,
    author_of: impl Fn(u64) -> Option<UserId>,
) -> Result<(Body, GroupState), Refusal> {
    let body = Body::decode_signed(&event.kind, &event.body)?;
    let Some(state) = state else {
        let Body::GroupCreate(create) = &body else {
            return Err(Refusal::BadCreate);
        };
        if event.seq != 1 || event.sender.node() != event.group.home() {
            return Err(Refusal::BadCreate);
        }
        let created = GroupState::create(event.group.clone(), &event.sender, event.ts, create)?;
        return Ok((body, created));
    };
    if event.kind == EventKind::GroupCreate {
        return Err(Refusal::BadCreate);
    }
    let sender = &event.sender;
    let author = |seq: u64| author_of(seq).ok_or(Refusal::NoSuchMessage(seq));
    match &body {
        Body::GroupCreate(_) => return Err(Refusal::BadCreate),
        Body::GroupUpdate(update) => {
            for action in update.actions() {
                authorize(state, sender, &action)?;
            }
        }
        Body::GroupDelete => authorize(state, sender, &Action::DeleteGroup)?,
        Body::MemberInvite(invite) => {
            authorize(state, sender, &Action::Invite { user: &invite.user })?;
        }
        Body::MemberJoin(join) => authorize(state, sender, &Action::Join { via: join.via })?,
        Body::MemberLeave => {
            let action = if state.is_member(sender) {
                Action::Leave
            } else {
                Action::Decline
            };
            authorize(state, sender, &action)?;
        }
        Body::MemberKick(kick) => authorize(state, sender, &Action::Kick { target: &kick.user })?,
        Body::MemberBan(ban) => authorize(state, sender, &Action::Ban { target: &ban.user })?,
        Body::MemberUnban(unban) => {
            authorize(
                state,
                sender,
                &Action::Unban {
                    target: &unban.user,
                },
            )?;
        }
        Body::MemberRoles(roles) => authorize(
            state,
            sender,
            &Action::SetRoles {
                target: &roles.user,
                roles: &roles.roles,
            },
        )?,
        Body::RoleCreate(create) => authorize(
            state,
            sender,
            &Action::CreateRole {
                rank: create.rank,
                permissions: create.permissions,
            },
        )?,
        Body::RoleUpdate(update) => authorize(
            state,
            sender,
            &Action::UpdateRole {
                role: update.role,
                rank: update.rank,
                permissions: update.permissions,
            },
        )?,
        Body::RoleDelete(delete) => {
            authorize(state, sender, &Action::DeleteRole { role: delete.role })?;
        }
        Body::OwnerTransfer(transfer) => authorize(
            state,
            sender,
            &Action::TransferOwnership { to: &transfer.user },
        )?,
        Body::MsgPost(post) => {
            authorize(
                state,
                sender,
                &Action::Post {
                    media: !post.attachments.is_empty(),
                    mention_everyone: post.mention_everyone,
                },
            )?;
            if let Some(reply_to) = post.reply_to {
                author(reply_to)?;
            }
        }
        Body::MsgEdit(edit) => {
            let author = author(edit.seq)?;
            authorize(state, sender, &Action::Edit { author: &author })?;
        }
        Body::MsgDelete(delete) => {
            let author = author(delete.seq)?;
            authorize(state, sender, &Action::DeleteMessage { author: &author })?;
        }
        Body::MsgReact(react) => {
            author(react.seq)?;
            authorize(state, sender, &Action::React)?;
        }
        Body::MsgPin(pin) => {
            if pin.on {
                author(pin.seq)?;
            }
            authorize(state, sender, &Action::Pin)?;
        }
        // A kind this version does not know: kept in the log, ignored by the state; its
        // sender must at least be able to see the group.
        Body::Unknown => authorize(state, sender, &Action::View)?,
    }
    let mut after = state.clone();
    after.apply(event.seq, event.ts, sender, &body)?;
    Ok((body, after))
}

#[cfg(test)]
mod tests;
