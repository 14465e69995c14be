//! What each event changes in the projection tables: [`ops`], a pure function of the event
//! and the states before and after it.

use winichat_protocol::Timestamp;
use winichat_protocol::event::EventKind;
use winichat_protocol::group::{Body, GroupKind, GroupState};
use winichat_protocol::ids::{EventId, UserId};

use crate::storage::chats::{ChatRow, ProjectionOp, TimelineRow};

/// The committed event, as the projection needs it.
pub(crate) struct Committed<'a> {
    pub seq: u64,
    pub id: &'a EventId,
    pub ts: Timestamp,
    pub sender: &'a UserId,
    pub body: &'a Body,
    /// The CBOR body as the event carries it.
    pub body_bytes: &'a [u8],
}

/// True for the kinds `audit.list` shows.
pub(crate) fn is_admin(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::GroupUpdate
            | EventKind::GroupDelete
            | EventKind::MemberInvite
            | EventKind::MemberKick
            | EventKind::MemberBan
            | EventKind::MemberUnban
            | EventKind::MemberRoles
            | EventKind::RoleCreate
            | EventKind::RoleUpdate
            | EventKind::RoleDelete
            | EventKind::OwnerTransfer
    )
}

/// True for the kinds that get a row in the timeline (messages and lines); edits, deletions,
/// reactions and pins change rows instead.
pub(crate) fn is_timeline(kind: &EventKind) -> bool {
    !matches!(
        kind,
        EventKind::MsgEdit | EventKind::MsgDelete | EventKind::MsgReact | EventKind::MsgPin
    )
}

/// The projection changes of `event`, given the states before (`None` for `group.create`) and
/// after it. `edited_body` is the new CBOR body of the edited message for `msg.edit`;
/// `empty_body` the CBOR of an empty map; `moderated` is true when the sender deletes someone
/// else's message.
pub(crate) fn ops(
    event: &Committed<'_>,
    before: Option<&GroupState>,
    after: &GroupState,
    edited_body: Option<Vec<u8>>,
    empty_body: &[u8],
    moderated: bool,
) -> Vec<ProjectionOp> {
    let mut ops = Vec::new();
    let sender = event.sender;
    match event.body {
        Body::GroupCreate(create) => {
            // Every first member (a direct chat's peer too) starts at the seq that made them
            // a member (gateway.md §8.7): nothing before it is theirs to read.
            for user in after.members.keys() {
                ops.push(ProjectionOp::AddMember {
                    user: user.clone(),
                    read_seq: event.seq,
                });
            }
            if after.kind == GroupKind::Direct
                && let Some(peer) = create.members.first()
            {
                ops.push(ProjectionOp::DirectPair {
                    a: sender.clone(),
                    b: peer.clone(),
                    smaller_wins: false,
                });
            }
        }
        Body::MemberInvite(invite) => ops.push(ProjectionOp::Invite {
            user: invite.user.clone(),
            by: sender.clone(),
            at: event.ts,
        }),
        Body::MemberJoin(_) => {
            ops.push(ProjectionOp::ClearInvite {
                user: sender.clone(),
            });
            ops.push(ProjectionOp::AddMember {
                user: sender.clone(),
                read_seq: event.seq,
            });
        }
        Body::MemberLeave => {
            let was_member = before.is_some_and(|s| s.is_member(sender));
            if was_member {
                ops.push(ProjectionOp::RemoveMember {
                    user: sender.clone(),
                });
            } else {
                ops.push(ProjectionOp::ClearInvite {
                    user: sender.clone(),
                });
            }
        }
        Body::MemberKick(kick) => ops.push(ProjectionOp::RemoveMember {
            user: kick.user.clone(),
        }),
        Body::MemberBan(ban) => {
            if before.is_some_and(|s| s.is_member(&ban.user)) {
                ops.push(ProjectionOp::RemoveMember {
                    user: ban.user.clone(),
                });
            }
            ops.push(ProjectionOp::ClearInvite {
                user: ban.user.clone(),
            });
        }
        Body::MsgPost(post) => {
            ops.push(ProjectionOp::Read {
                user: sender.clone(),
                seq: event.seq,
            });
            let media: Vec<[u8; 32]> = post
                .attachments
                .iter()
                .flat_map(|a| {
                    std::iter::once(a.media.sha256).chain(a.poster.as_ref().map(|p| p.sha256))
                })
                .collect();
            if !media.is_empty() {
                ops.push(ProjectionOp::MediaRefs {
                    seq: event.seq,
                    media,
                });
            }
        }
        Body::GroupUpdate(update) if update.photo.is_some() => {
            ops.push(ProjectionOp::GroupPhoto {
                media: after.photo.as_ref().map(|p| p.sha256),
            });
        }
        Body::MsgEdit(edit) => {
            if let Some(body) = edited_body {
                ops.push(ProjectionOp::EditItem {
                    seq: edit.seq,
                    body,
                    edited_at: event.ts,
                });
            }
        }
        Body::MsgDelete(delete) => {
            ops.push(ProjectionOp::DeleteItem {
                seq: delete.seq,
                body: empty_body.to_vec(),
            });
            if before.is_some_and(|s| s.pinned.contains(&delete.seq)) {
                ops.push(ProjectionOp::Pin {
                    seq: delete.seq,
                    on: false,
                });
            }
        }
        Body::MsgReact(react) => ops.push(ProjectionOp::React {
            seq: react.seq,
            emoji: react.emoji.clone(),
            user: sender.clone(),
            ts: event.ts,
            on: react.on,
        }),
        Body::MsgPin(pin) => ops.push(ProjectionOp::Pin {
            seq: pin.seq,
            on: pin.on,
        }),
        _ => {}
    }
    let kind = event.body.kind();
    // A moderator deleting someone else's message gets a row the audit view reads; history,
    // previews and unread counts skip `msg.delete` rows.
    let audit_only = moderated && matches!(event.body, Body::MsgDelete(_));
    if let Some(kind) = kind
        && (is_timeline(&kind) || audit_only)
        && !is_decline(event, before)
    {
        ops.push(ProjectionOp::InsertItem(TimelineRow {
            seq: event.seq,
            event_id: event.id.to_string(),
            ts: event.ts,
            sender: sender.clone(),
            kind: kind.as_str().to_owned(),
            body: event.body_bytes.to_vec(),
            is_message: kind == EventKind::MsgPost,
            is_admin: is_admin(&kind) || audit_only,
            edited_at: None,
            deleted: false,
            pinned: false,
        }));
    }
    ops
}

/// A `member.leave` by someone who was not a member: declining an invite, which the members'
/// timeline does not show.
fn is_decline(event: &Committed<'_>, before: Option<&GroupState>) -> bool {
    matches!(event.body, Body::MemberLeave) && !before.is_some_and(|s| s.is_member(event.sender))
}

/// The chat row after an event.
pub(crate) fn chat_row(
    state: &GroupState,
    seq: u64,
    last_ts: Timestamp,
    state_bytes: Vec<u8>,
) -> ChatRow {
    ChatRow {
        group: state.id.clone(),
        kind: match state.kind {
            GroupKind::Direct => "direct",
            GroupKind::Group => "group",
        }
        .to_owned(),
        name: state.name.clone(),
        description: state.description.clone(),
        visibility: match state.visibility {
            winichat_protocol::group::Visibility::Private => "private",
            winichat_protocol::group::Visibility::Public => "public",
        }
        .to_owned(),
        // A deleted group releases its handle.
        handle: if state.deleted {
            None
        } else {
            state.handle.as_ref().map(ToString::to_string)
        },
        owner: state.owner.clone(),
        members: u64::try_from(state.members.len()).unwrap_or(u64::MAX),
        last_seq: seq,
        last_ts,
        state: state_bytes,
        deleted: state.deleted,
    }
}
