//! Writes: every method that appends an event to a group log goes through [`Chats::write`]
//! (or, for a new group, [`Chats::create_group`]).

use ciborium::Value;
use tokio::sync::OwnedMutexGuard;
use winichat_protocol::codec::{self, Limits};
use winichat_protocol::cose::Signed;
use winichat_protocol::event::{Event, EventKind, LogHead};
use winichat_protocol::gateway::{self, chat as api};
use winichat_protocol::group::bodies::{
    GroupCreate, GroupUpdate, JoinVia, MemberBan, MemberInvite, MemberJoin, MemberKick,
    MemberRoles, MemberUnban, MsgDelete, MsgEdit, MsgPin, MsgPost, MsgReact, OwnerTransfer,
    RoleCreate, RoleDelete, RoleUpdate,
};
use winichat_protocol::group::{
    Action, Body, Denied, EVERYONE, GroupKind, GroupState, Visibility, authorize,
};
use winichat_protocol::ids::{GroupId, Handle, UserId};

use super::pipeline::{AfterCommit, Pending, PushTo};
use super::projection::{self, Committed};
use super::txn::Claim;
use super::{ChatError, Chats, Loaded, now, random_text};
use crate::storage::chats::{Commit, ProjectionOp, TimelineRow, TxnRecord};
use crate::storage::{NewEvent, StorageError};

/// What a write decided to append.
pub(crate) struct Draft {
    /// The event body.
    pub body: Body,
    /// For `roles.create`: the new role's id, returned to the caller.
    pub role: Option<u32>,
    /// For `msg.edit`: the edited message's new CBOR body.
    pub edited_body: Option<Vec<u8>>,
    /// For `msg.delete`: someone else's message (the audit view shows it).
    pub moderated: bool,
}

impl Draft {
    pub(crate) fn of(body: Body) -> Draft {
        Draft {
            body,
            role: None,
            edited_body: None,
            moderated: false,
        }
    }
}

/// What the projection of an event needs beyond the event itself, read from the timeline.
pub(crate) struct Derived {
    /// For `msg.edit`: the edited message's new CBOR body.
    pub edited_body: Option<Vec<u8>>,
    /// For `msg.delete`: someone else's message.
    pub moderated: bool,
}

/// The most messages a chat may have pinned at once.
pub const MAX_PINS: usize = 100;
/// The most direct invites a group may have waiting for an answer.
pub const MAX_PENDING_INVITES: usize = 1000;

/// A message a write refers to, read before the group's lock is taken (who wrote a message
/// never changes; whether it is deleted is checked again through the state's rules).
type Target = Option<TimelineRow>;

impl Chats {
    /// Appends the event `decide` returns for the state of `group`, as `actor`, once per
    /// `txn`.
    pub(crate) async fn write(
        &self,
        actor: &UserId,
        group: &GroupId,
        txn: &str,
        decide: impl FnOnce(&GroupState) -> Result<Draft, ChatError>,
    ) -> Result<api::WriteResult, ChatError> {
        self.write_about(actor, group, txn, None, |state, _| decide(state))
            .await
    }

    /// Like [`Chats::write`], for a write about message `message`: its timeline row is read
    /// under the group's lock, once the group's queued events are written, so a deletion that
    /// was sequenced first is seen.
    pub(crate) async fn write_about(
        &self,
        actor: &UserId,
        group: &GroupId,
        txn: &str,
        message: Option<u64>,
        decide: impl FnOnce(&GroupState, Target) -> Result<Draft, ChatError>,
    ) -> Result<api::WriteResult, ChatError> {
        self.once_per_txn(actor, txn, async |claim| {
            let guard = self.lock(group).await?;
            let Some(loaded) = guard.as_ref() else {
                return Err(ChatError::NotFound("no such chat"));
            };
            let target = match message {
                Some(seq) => {
                    self.durable(Some(loaded)).await;
                    self.db().chats().item(group, seq).await?
                }
                None => None,
            };
            let draft = decide(&loaded.state, target).map_err(|e| hide(e, &loaded.state, actor))?;
            self.commit(guard, actor, group, claim, draft).await
        })
        .await
    }

    /// Creates a group (or direct chat) whose first event is `create`, as `actor`.
    pub(crate) async fn create_group(
        &self,
        actor: &UserId,
        txn: &str,
        create: GroupCreate,
    ) -> Result<api::WriteResult, ChatError> {
        self.once_per_txn(actor, txn, async |claim| {
            let group =
                GroupId::new(&random_text(16)?, self.node()).map_err(ChatError::internal)?;
            let guard = self.lock(&group).await?;
            if guard.is_some() {
                return Err(ChatError::internal(format!(
                    "random group id {group} taken"
                )));
            }
            let draft = Draft::of(Body::GroupCreate(create));
            self.commit(guard, actor, &group, claim, draft).await
        })
        .await
    }

    /// The result remembered for `actor`'s `txn`.
    pub(crate) async fn remembered(
        &self,
        actor: &UserId,
        txn: &str,
    ) -> Result<Option<api::WriteResult>, ChatError> {
        if !self.may_have_txn(actor, txn) {
            return Ok(None);
        }
        let Some(bytes) = self.db().chats().txn(actor, txn).await? else {
            return Ok(None);
        };
        let value: Value = codec::decode(&bytes, &Limits::EVENT).map_err(ChatError::internal)?;
        gateway::decode_params(&value)
            .map(Some)
            .map_err(ChatError::internal)
    }

    /// Sequences, signs and commits `draft` after the state in `guard`, as `actor`'s claimed
    /// transaction; answers once the event is durable (and pushed).
    pub(crate) async fn commit(
        &self,
        mut guard: OwnedMutexGuard<Option<Loaded>>,
        actor: &UserId,
        group: &GroupId,
        claim: Claim,
        draft: Draft,
    ) -> Result<api::WriteResult, ChatError> {
        // Only the home sequences a group: a replica never signs into it, whatever path a
        // write took (remote groups' writes go to their home as `submit`).
        if group.home() != self.node() {
            return Err(ChatError::NotFound("no such chat"));
        }
        let before = guard.as_ref();
        let kind = draft
            .body
            .kind()
            .ok_or_else(|| ChatError::internal("a write drafted an unknown kind"))?;
        let body_value = draft.body.to_value();
        // The drafted body passes the same checks as a received one (lengths, limits).
        Body::decode(&kind, &body_value)?;
        let event = Event::next(
            group.clone(),
            before.map(|l| &l.head),
            now(),
            actor.clone(),
            kind.clone(),
            body_value.clone(),
        );
        let (seq, ts) = (event.seq, event.ts);
        let after = match (before, &draft.body) {
            (None, Body::GroupCreate(create)) => {
                GroupState::create(group.clone(), actor, ts, create)?
            }
            (Some(loaded), body) => {
                let mut state = loaded.state.clone();
                state.apply(seq, ts, actor, body)?;
                state
            }
            (None, _) => return Err(ChatError::NotFound("no such chat")),
        };
        let signed =
            Signed::sign(event, self.node(), &self.inner.key).map_err(ChatError::internal)?;
        let id = signed.id();
        let result = api::WriteResult {
            group: group.clone(),
            seq,
            id,
            role: draft.role,
        };
        let result_bytes = gateway::to_value(&result)
            .and_then(|v| codec::encode(&v))
            .map_err(ChatError::internal)?;
        // Known before it can be stored, so a later retry always looks it up.
        self.note_txn(actor, claim.txn());
        let record = TxnRecord {
            user: actor.clone(),
            txn: claim.txn().to_owned(),
            result: result_bytes,
            at: ts,
        };
        let stored = self
            .store(
                &mut guard,
                &signed,
                &draft.body,
                after,
                Derived {
                    edited_body: draft.edited_body,
                    moderated: draft.moderated,
                },
                Some((record, claim, result.clone())),
            )
            .await;
        drop(guard);
        let written = match stored {
            // A queued message fails only with the storage, or with an event queued before it
            // in its group: either way the write can be sent again.
            Ok(Some(pending)) => match self.settle(pending).await {
                Ok(()) => Ok(()),
                Err(e) => {
                    tracing::warn!(%group, seq, error = %e, "chats: a queued event was not written");
                    return Err(ChatError::Unavailable(
                        "the message could not be stored; send it again with the same txn".into(),
                    ));
                }
            },
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        match written {
            Ok(()) => Ok(result),
            // Sequenced on a queued event that was not written (its group's cached state is
            // dropped now): nothing of this write stands, and sending it again works.
            Err(e) if crate::storage::rows::is_not_next(&e) => {
                tracing::warn!(%group, seq, error = %e, "chats: an event sequenced on an unwritten one");
                Err(ChatError::Unavailable(
                    "the change could not be stored; send it again with the same txn".into(),
                ))
            }
            Err(StorageError::Conflict(reason)) => {
                Err(ChatError::Conflict(conflict_message(&reason)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Queues `signed` (an event this node sequenced, or one its home did, for a replica) with
    /// its projection — and, on the home, one outbox row per remote member node — for the
    /// commit pipeline, which pushes it to the local members once it is durable; caches the
    /// state after it. `after` is the state after the event; `edited_body` and `moderated` as
    /// in [`Draft`]; `txn` the writer's transaction: its record, claim and result.
    ///
    /// Messages are pipelined: the lock is free for the next event at once, and the caller
    /// waits for the returned [`Pending`] after releasing it. Every other event is waited for
    /// here, under the lock (`Ok(None)`): those may fail for reasons of their own (a handle
    /// taken meanwhile), and nothing should be sequenced on top of them until they are known
    /// to stand. On a storage error the cached state is dropped, so the next write reloads the
    /// log's real head (the database may or may not hold the event after a connection lost at
    /// COMMIT).
    pub(crate) async fn store(
        &self,
        guard: &mut OwnedMutexGuard<Option<Loaded>>,
        signed: &Signed<Event>,
        body: &Body,
        after: GroupState,
        derived: Derived,
        txn: Option<(TxnRecord, Claim, api::WriteResult)>,
    ) -> Result<Option<Pending>, StorageError> {
        let Derived {
            edited_body,
            moderated,
        } = derived;
        let before = guard.as_ref();
        let event = signed.value();
        let (group, seq, ts, actor, kind) = (
            &event.group,
            event.seq,
            event.ts,
            &event.sender,
            &event.kind,
        );
        let id = signed.id();
        let body_bytes =
            codec::encode(&event.body).map_err(|e| StorageError::Other(e.to_string()))?;
        // What a deleted message's row keeps: an empty text, nothing else (gateway.md §8.5).
        let empty = codec::encode(&Value::Map(vec![(Value::from("text"), Value::from(""))]))
            .map_err(|e| StorageError::Other(e.to_string()))?;
        let committed = Committed {
            seq,
            id: &id,
            ts,
            sender: actor,
            body,
            body_bytes: &body_bytes,
        };
        let mut ops = projection::ops(
            &committed,
            before.map(|l| &l.state),
            &after,
            edited_body,
            &empty,
            moderated,
        );
        if self.is_remote(group) {
            // A replica's direct chat may meet one this node homes for the same pair (both
            // created at once): the smaller id is the pair's on both nodes.
            for op in &mut ops {
                if let ProjectionOp::DirectPair { smaller_wins, .. } = op {
                    *smaller_wins = true;
                }
            }
        }
        let is_message = matches!(
            body,
            Body::MsgPost(_) | Body::MsgEdit(_) | Body::MsgReact(_) | Body::MsgDelete(_)
        );
        // Messages leave the state as it was (a deletion may unpin): the snapshot is kept.
        let state_changed = match body {
            Body::MsgPost(_) | Body::MsgEdit(_) | Body::MsgReact(_) => false,
            Body::MsgDelete(delete) => before.is_none_or(|l| l.state.pinned.contains(&delete.seq)),
            _ => true,
        };
        let last_ts = if projection::is_timeline(kind) {
            ts
        } else {
            before.map_or(ts, |l| l.last_ts)
        };
        let state_bytes = if state_changed {
            super::encode_state(&after).map_err(|e| StorageError::Other(e.to_string()))?
        } else {
            Vec::new()
        };
        // Only the home delivers; a replica's copy goes nowhere.
        let outbox = if group.home() == self.node() {
            super::remote::destinations(self.node(), before.map(|l| &l.state), &after)
        } else {
            Vec::new()
        };
        let (record, txn) = match txn {
            Some((record, claim, result)) => (Some(record), Some((claim, result))),
            None => (None, None),
        };
        let commit = Commit {
            event: NewEvent {
                group: group.clone(),
                seq,
                id,
                prev: event.prev,
                ts,
                sender: actor.to_string(),
                kind: kind.as_str().to_owned(),
                raw: signed.raw().to_vec(),
            },
            chat: projection::chat_row(&after, seq, last_ts, state_bytes),
            state_changed,
            ops,
            outbox,
            txn: record,
        };
        let pushes = self.pushes_of(signed, body, before.map(|l| &l.state), &after);
        let epoch = before.map_or_else(|| self.next_epoch(), |l| l.epoch);
        let (ticket, pending) = self.enqueue(commit, AfterCommit { pushes, txn }, epoch);
        **guard = Some(Loaded {
            state: after,
            head: LogHead { seq, id, ts },
            last_ts,
            epoch,
            ticket,
        });
        if is_message {
            return Ok(Some(pending));
        }
        self.settle_locked(guard, pending).await?;
        Ok(None)
    }

    /// What the local users hear of `signed`, once it is durable: the event, to the members
    /// before and after it (the invitee alone for a declined invite), and an invite to a
    /// local invitee.
    fn pushes_of(
        &self,
        signed: &Signed<Event>,
        body: &Body,
        before: Option<&GroupState>,
        after: &GroupState,
    ) -> Vec<PushTo> {
        let event = signed.value();
        let (group, actor) = (&event.group, &event.sender);
        let item = api::TimelineItem {
            seq: event.seq,
            id: signed.id(),
            ts: event.ts,
            sender: actor.clone(),
            kind: event.kind.clone(),
            body: event.body.clone(),
            edited_at: None,
            deleted: false,
            pinned: false,
            reactions: Vec::new(),
            more_reactions: false,
        };
        let declined =
            matches!(body, Body::MemberLeave) && !before.is_some_and(|s| s.is_member(actor));
        let mut audience: Vec<UserId> = if declined {
            // Declining an invite is the invitee's business, not the members'.
            vec![actor.clone()]
        } else {
            after.members.keys().cloned().collect()
        };
        if let Some(state) = before {
            audience.extend(
                state
                    .members
                    .keys()
                    .filter(|u| !after.members.contains_key(*u))
                    .cloned(),
            );
        }
        // Users of other nodes hear of it from their own node's replica.
        audience.retain(|u| u.node() == self.node());
        let mut pushes = Vec::with_capacity(2);
        let push = api::ChatEventPush {
            group: group.clone(),
            item,
        };
        match gateway::to_value(&push) {
            Ok(data) => pushes.push(PushTo {
                users: audience,
                event: api::event::CHAT_EVENT,
                data,
            }),
            Err(e) => tracing::error!(error = %e, "chats: cannot encode a push"),
        }
        if let Body::MemberInvite(invite) = body
            && invite.user.node() == self.node()
        {
            let info = api::InviteInfo {
                group: group.clone(),
                name: after.name.clone(),
                by: actor.clone(),
                at: event.ts,
            };
            if let Ok(data) = gateway::to_value(&info) {
                pushes.push(PushTo {
                    users: vec![invite.user.clone()],
                    event: api::event::INVITE,
                    data,
                });
            }
        }
        pushes
    }

    // ---- groups -------------------------------------------------------------------------

    /// `dm.open`: the direct chat of `actor` and `peer`, created on first use.
    pub async fn open_direct(&self, actor: &UserId, peer: &UserId) -> Result<GroupId, ChatError> {
        if actor == peer {
            return Err(ChatError::BadRequest(
                "a direct chat needs another user".into(),
            ));
        }
        if let Some(group) = self.db().chats().direct_between(actor, peer).await? {
            return Ok(group);
        }
        if peer.node() == self.node() {
            self.require_user(peer).await?;
        } else if let Some(group) = self.direct_at_peer(actor, peer).await? {
            return Ok(group);
        }
        let create = GroupCreate {
            kind: GroupKind::Direct,
            name: String::new(),
            description: String::new(),
            visibility: Visibility::Private,
            handle: None,
            members: vec![peer.clone()],
        };
        // A fresh txn per attempt: opening is idempotent through the pair, not the txn.
        let txn = format!("dm.open:{}", random_text(16)?);
        match self.create_group(actor, &txn, create).await {
            Ok(result) => Ok(result.group),
            Err(ChatError::Conflict(_)) => self
                .db()
                .chats()
                .direct_between(actor, peer)
                .await?
                .ok_or(ChatError::Internal),
            Err(e) => Err(e),
        }
    }

    /// `groups.create`.
    pub async fn create(
        &self,
        actor: &UserId,
        p: api::GroupCreateParams,
    ) -> Result<api::WriteResult, ChatError> {
        check_params(&Body::GroupCreate(GroupCreate {
            kind: GroupKind::Group,
            name: p.name.trim().to_owned(),
            description: p.description.trim().to_owned(),
            visibility: Visibility::Private,
            handle: None,
            members: Vec::new(),
        }))?;
        let handle = match (p.visibility, p.handle.as_deref()) {
            (Visibility::Public, Some(name)) => Some(self.free_handle(name, None).await?),
            (Visibility::Public, None) => {
                return Err(ChatError::BadRequest(
                    "a public group needs a handle".into(),
                ));
            }
            (Visibility::Private, Some(_)) => {
                return Err(ChatError::BadRequest(
                    "a private group has no handle".into(),
                ));
            }
            (Visibility::Private, None) => None,
        };
        let create = GroupCreate {
            kind: GroupKind::Group,
            name: p.name.trim().to_owned(),
            description: p.description.trim().to_owned(),
            visibility: p.visibility,
            handle,
            members: Vec::new(),
        };
        self.create_group(actor, &p.txn, create).await
    }

    /// `groups.update`.
    pub async fn update(
        &self,
        actor: &UserId,
        p: api::GroupUpdateParams,
    ) -> Result<api::WriteResult, ChatError> {
        check_params(&Body::GroupUpdate(GroupUpdate {
            name: p.name.as_ref().map(|n| n.trim().to_owned()),
            description: p.description.as_ref().map(|d| d.trim().to_owned()),
            photo: p.photo.clone(),
            ..GroupUpdate::default()
        }))?;
        let handle = match p.handle.as_deref() {
            Some(name) => Some(self.free_handle(name, Some(&p.group)).await?),
            None => None,
        };
        // A new photo must be an image the caller uploaded; checked before the lock.
        if let Some(Some(photo)) = &p.photo {
            self.media()?.check_photo(actor, photo).await?;
        }
        let info = p.name.is_some() || p.description.is_some() || p.photo.is_some();
        let visibility = p.visibility.is_some() || handle.is_some();
        if !info && !visibility {
            return Err(ChatError::BadRequest("nothing to change".into()));
        }
        self.write(actor, &p.group, &p.txn, |state| {
            if info {
                authorize(state, actor, &Action::EditInfo)?;
            }
            if visibility {
                authorize(state, actor, &Action::ChangeVisibility)?;
            }
            let public_after = p.visibility.unwrap_or(state.visibility) == Visibility::Public;
            if public_after && handle.is_none() && state.handle.is_none() {
                return Err(ChatError::BadRequest(
                    "a public group needs a handle".into(),
                ));
            }
            Ok(Draft::of(Body::GroupUpdate(GroupUpdate {
                name: p.name.map(|n| n.trim().to_owned()),
                description: p.description.map(|d| d.trim().to_owned()),
                visibility: p.visibility,
                handle: if public_after { handle } else { None },
                photo: p.photo.clone(),
            })))
        })
        .await
    }

    /// `groups.delete`.
    pub async fn delete_group(
        &self,
        actor: &UserId,
        p: api::TxnGroupParams,
    ) -> Result<api::WriteResult, ChatError> {
        self.write(actor, &p.group, &p.txn, |state| {
            authorize(state, actor, &Action::DeleteGroup)?;
            Ok(Draft::of(Body::GroupDelete))
        })
        .await
    }

    /// `groups.transfer`.
    pub async fn transfer(
        &self,
        actor: &UserId,
        p: api::TargetParams,
    ) -> Result<api::WriteResult, ChatError> {
        self.write(actor, &p.group, &p.txn, |state| {
            authorize(state, actor, &Action::TransferOwnership { to: &p.user })?;
            Ok(Draft::of(Body::OwnerTransfer(OwnerTransfer {
                user: p.user.clone(),
            })))
        })
        .await
    }

    /// `groups.join`: a public group, by id or handle.
    pub async fn join_public(
        &self,
        actor: &UserId,
        p: api::JoinParams,
    ) -> Result<api::WriteResult, ChatError> {
        let group = match (p.group, p.handle) {
            (Some(group), None) => group,
            (None, Some(handle)) => self
                .db()
                .chats()
                .chat_by_handle(handle.as_ref())
                .await?
                .filter(|c| !c.deleted)
                .map(|c| c.group)
                .ok_or(ChatError::NotFound("no group has that handle"))?,
            _ => {
                return Err(ChatError::BadRequest(
                    "give exactly one of group and handle".into(),
                ));
            }
        };
        self.join(actor, &group, &p.txn, JoinVia::Public).await
    }

    /// The actor joins `group` by `via` (a public group, or a pending invite).
    async fn join(
        &self,
        actor: &UserId,
        group: &GroupId,
        txn: &str,
        via: JoinVia,
    ) -> Result<api::WriteResult, ChatError> {
        self.write(actor, group, txn, |state| {
            authorize(state, actor, &Action::Join { via })?;
            Ok(Draft::of(Body::MemberJoin(MemberJoin { via })))
        })
        .await
    }

    /// `groups.leave`.
    pub async fn leave(
        &self,
        actor: &UserId,
        p: api::TxnGroupParams,
    ) -> Result<api::WriteResult, ChatError> {
        self.write(actor, &p.group, &p.txn, |state| {
            authorize(state, actor, &Action::Leave)?;
            Ok(Draft::of(Body::MemberLeave))
        })
        .await
    }

    // ---- invites ------------------------------------------------------------------------

    /// `invites.send`.
    pub async fn invite(
        &self,
        actor: &UserId,
        p: api::TargetParams,
    ) -> Result<api::WriteResult, ChatError> {
        self.require_known_user(&p.user).await?;
        self.write(actor, &p.group, &p.txn, |state| {
            authorize(state, actor, &Action::Invite { user: &p.user })?;
            if state.invites.contains_key(&p.user) {
                return Err(ChatError::Conflict("that user is already invited".into()));
            }
            if state.invites.len() >= MAX_PENDING_INVITES {
                return Err(ChatError::Conflict(format!(
                    "{MAX_PENDING_INVITES} invites are waiting for an answer already"
                )));
            }
            Ok(Draft::of(Body::MemberInvite(MemberInvite {
                user: p.user.clone(),
            })))
        })
        .await
    }

    /// `invites.accept`.
    pub async fn accept_invite(
        &self,
        actor: &UserId,
        p: api::TxnGroupParams,
    ) -> Result<api::WriteResult, ChatError> {
        self.join(actor, &p.group, &p.txn, JoinVia::Invite).await
    }

    /// `invites.decline`.
    pub async fn decline_invite(
        &self,
        actor: &UserId,
        p: api::TxnGroupParams,
    ) -> Result<api::WriteResult, ChatError> {
        self.write(actor, &p.group, &p.txn, |state| {
            authorize(state, actor, &Action::Decline)?;
            Ok(Draft::of(Body::MemberLeave))
        })
        .await
    }

    // ---- moderation ---------------------------------------------------------------------

    /// `members.kick`.
    pub async fn kick(
        &self,
        actor: &UserId,
        p: api::KickParams,
    ) -> Result<api::WriteResult, ChatError> {
        let body = Body::MemberKick(MemberKick {
            user: p.user.clone(),
            reason: p.reason.trim().to_owned(),
        });
        check_params(&body)?;
        self.write(actor, &p.group, &p.txn, |state| {
            authorize(state, actor, &Action::Kick { target: &p.user })?;
            Ok(Draft::of(body))
        })
        .await
    }

    /// `members.ban`.
    pub async fn ban(
        &self,
        actor: &UserId,
        p: api::KickParams,
    ) -> Result<api::WriteResult, ChatError> {
        let body = Body::MemberBan(MemberBan {
            user: p.user.clone(),
            reason: p.reason.trim().to_owned(),
        });
        check_params(&body)?;
        self.require_known_user(&p.user).await?;
        self.write(actor, &p.group, &p.txn, |state| {
            authorize(state, actor, &Action::Ban { target: &p.user })?;
            if state.bans.contains_key(&p.user) {
                return Err(ChatError::Conflict("that user is already banned".into()));
            }
            Ok(Draft::of(body))
        })
        .await
    }

    /// `members.unban`.
    pub async fn unban(
        &self,
        actor: &UserId,
        p: api::TargetParams,
    ) -> Result<api::WriteResult, ChatError> {
        self.write(actor, &p.group, &p.txn, |state| {
            authorize(state, actor, &Action::Unban { target: &p.user })?;
            Ok(Draft::of(Body::MemberUnban(MemberUnban {
                user: p.user.clone(),
            })))
        })
        .await
    }

    /// `members.roles`.
    pub async fn set_roles(
        &self,
        actor: &UserId,
        p: api::SetRolesParams,
    ) -> Result<api::WriteResult, ChatError> {
        let mut roles = p.roles.clone();
        roles.sort_unstable();
        roles.dedup();
        if roles.len() != p.roles.len() {
            return Err(ChatError::BadRequest("a role is listed twice".into()));
        }
        if roles.contains(&EVERYONE) {
            return Err(ChatError::BadRequest(
                "everyone is implied; list custom roles only".into(),
            ));
        }
        check_params(&Body::MemberRoles(MemberRoles {
            user: p.user.clone(),
            roles: roles.clone(),
        }))?;
        self.write(actor, &p.group, &p.txn, |state| {
            authorize(
                state,
                actor,
                &Action::SetRoles {
                    target: &p.user,
                    roles: &roles,
                },
            )?;
            Ok(Draft::of(Body::MemberRoles(MemberRoles {
                user: p.user.clone(),
                roles: roles.clone(),
            })))
        })
        .await
    }

    /// `roles.create`.
    pub async fn create_role(
        &self,
        actor: &UserId,
        p: api::RoleCreateParams,
    ) -> Result<api::WriteResult, ChatError> {
        // The role id and the default rank come from the state; stand-ins that pass their
        // checks take their places here.
        check_params(&Body::RoleCreate(RoleCreate {
            role: 1,
            name: p.name.trim().to_owned(),
            colour: p.colour.clone(),
            permissions: p.permissions,
            rank: p.rank.unwrap_or(1),
        }))?;
        self.write(actor, &p.group, &p.txn, |state| {
            let custom = u32::try_from(state.roles.len().saturating_sub(1)).unwrap_or(u32::MAX);
            let rank = p.rank.unwrap_or(custom.saturating_add(1));
            authorize(
                state,
                actor,
                &Action::CreateRole {
                    rank,
                    permissions: p.permissions,
                },
            )?;
            let role = state.next_role;
            Ok(Draft {
                body: Body::RoleCreate(RoleCreate {
                    role,
                    name: p.name.trim().to_owned(),
                    colour: p.colour.clone(),
                    permissions: p.permissions,
                    rank,
                }),
                role: Some(role),
                edited_body: None,
                moderated: false,
            })
        })
        .await
    }

    /// `roles.update`.
    pub async fn update_role(
        &self,
        actor: &UserId,
        p: api::RoleUpdateParams,
    ) -> Result<api::WriteResult, ChatError> {
        if p.name.is_none() && p.colour.is_none() && p.permissions.is_none() && p.rank.is_none() {
            return Err(ChatError::BadRequest("nothing to change".into()));
        }
        if p.role == EVERYONE && (p.name.is_some() || p.colour.is_some() || p.rank.is_some()) {
            return Err(ChatError::BadRequest(
                "the everyone role takes only permissions".into(),
            ));
        }
        let body = Body::RoleUpdate(RoleUpdate {
            role: p.role,
            name: p.name.map(|n| n.trim().to_owned()),
            colour: p.colour,
            permissions: p.permissions,
            rank: p.rank,
        });
        check_params(&body)?;
        self.write(actor, &p.group, &p.txn, |state| {
            authorize(
                state,
                actor,
                &Action::UpdateRole {
                    role: p.role,
                    rank: p.rank,
                    permissions: p.permissions,
                },
            )?;
            Ok(Draft::of(body))
        })
        .await
    }

    /// `roles.delete`.
    pub async fn delete_role(
        &self,
        actor: &UserId,
        p: api::RoleDeleteParams,
    ) -> Result<api::WriteResult, ChatError> {
        self.write(actor, &p.group, &p.txn, |state| {
            authorize(state, actor, &Action::DeleteRole { role: p.role })?;
            Ok(Draft::of(Body::RoleDelete(RoleDelete { role: p.role })))
        })
        .await
    }

    // ---- messages -----------------------------------------------------------------------

    /// `msgs.post`.
    pub async fn post(
        &self,
        actor: &UserId,
        p: api::PostParams,
    ) -> Result<api::WriteResult, ChatError> {
        // The uploads are looked up before the group's lock is taken: only the caller's own
        // uploads qualify, so nothing about the group is needed yet.
        let mut mentions = p.mentions.clone();
        mentions.sort();
        mentions.dedup();
        // Text and mentions before anything is looked up (gateway.md §8.3); the attachments
        // are checked once resolved. A caption may be blank when attachments come: a
        // stand-in text is checked then.
        let text = checked_caption(&p.text, !p.attachments.is_empty());
        check_params(&Body::MsgPost(MsgPost {
            text,
            reply_to: p.reply_to,
            mentions: mentions.clone(),
            mention_everyone: p.mention_everyone,
            attachments: Vec::new(),
            forwarded: None,
        }))?;
        let attachments = if p.attachments.is_empty() {
            Vec::new()
        } else {
            if actor.node() != self.node() {
                // A user of another node attaches media of their node, which this node then
                // fetches: only once they may post media here at all (the lock's check below
                // still decides), so no one makes this node download for a refused post.
                let media_post = Action::Post {
                    media: true,
                    mention_everyone: p.mention_everyone,
                };
                self.with_access(actor, &p.group, media_post, |_| ())
                    .await?;
            }
            self.media()?.attachments(actor, &p.attachments).await?
        };
        self.write_about(actor, &p.group, &p.txn, p.reply_to, |state, reply| {
            authorize(
                state,
                actor,
                &Action::Post {
                    media: !attachments.is_empty(),
                    mention_everyone: p.mention_everyone,
                },
            )?;
            if p.reply_to.is_some() && !reply.as_ref().is_some_and(|r| r.is_message && !r.deleted) {
                return Err(ChatError::NotFound("the message replied to does not exist"));
            }
            if let Some(stranger) = mentions.iter().find(|u| !state.is_member(u)) {
                return Err(ChatError::BadRequest(format!(
                    "{stranger} is not a member of this chat"
                )));
            }
            Ok(Draft::of(Body::MsgPost(MsgPost {
                text: p.text.clone(),
                reply_to: p.reply_to,
                mentions,
                mention_everyone: p.mention_everyone,
                attachments: attachments.clone(),
                forwarded: None,
            })))
        })
        .await
    }

    /// `msgs.edit`.
    pub async fn edit(
        &self,
        actor: &UserId,
        p: api::EditParams,
    ) -> Result<api::WriteResult, ChatError> {
        check_params(&Body::MsgEdit(MsgEdit {
            seq: p.seq,
            text: p.text.clone(),
        }))?;
        self.write_about(actor, &p.group, &p.txn, Some(p.seq), |state, target| {
            let target = live_message(state, actor, target.as_ref())?;
            authorize(
                state,
                actor,
                &Action::Edit {
                    author: &target.sender,
                },
            )?;
            let mut post: MsgPost = decode_post(&target.body)?;
            post.text = p.text.clone();
            let edited = gateway::to_value(&post)
                .and_then(|v| codec::encode(&v))
                .map_err(ChatError::internal)?;
            Ok(Draft {
                body: Body::MsgEdit(MsgEdit {
                    seq: p.seq,
                    text: p.text.clone(),
                }),
                role: None,
                edited_body: Some(edited),
                moderated: false,
            })
        })
        .await
    }

    /// `msgs.delete`.
    pub async fn delete_message(
        &self,
        actor: &UserId,
        p: api::MsgParams,
    ) -> Result<api::WriteResult, ChatError> {
        self.write_about(actor, &p.group, &p.txn, Some(p.seq), |state, target| {
            let target = live_message(state, actor, target.as_ref())?;
            authorize(
                state,
                actor,
                &Action::DeleteMessage {
                    author: &target.sender,
                },
            )?;
            Ok(Draft {
                moderated: &target.sender != actor,
                ..Draft::of(Body::MsgDelete(MsgDelete { seq: p.seq }))
            })
        })
        .await
    }

    /// `msgs.react`.
    pub async fn react(
        &self,
        actor: &UserId,
        p: api::ReactParams,
    ) -> Result<api::WriteResult, ChatError> {
        let body = Body::MsgReact(MsgReact {
            seq: p.seq,
            emoji: p.emoji.clone(),
            on: p.on,
        });
        check_params(&body)?;
        self.write_about(actor, &p.group, &p.txn, Some(p.seq), |state, target| {
            live_message(state, actor, target.as_ref())?;
            authorize(state, actor, &Action::React)?;
            Ok(Draft::of(body))
        })
        .await
    }

    /// `msgs.pin`.
    pub async fn pin(
        &self,
        actor: &UserId,
        p: api::PinParams,
    ) -> Result<api::WriteResult, ChatError> {
        self.write_about(actor, &p.group, &p.txn, Some(p.seq), |state, target| {
            authorize(state, actor, &Action::View)?;
            if p.on {
                live_message(state, actor, target.as_ref())?;
            } else if !state.pinned.contains(&p.seq) {
                return Err(ChatError::BadRequest("that message is not pinned".into()));
            }
            authorize(state, actor, &Action::Pin)?;
            if p.on && state.pinned.contains(&p.seq) {
                return Err(ChatError::Conflict("already pinned".into()));
            }
            if p.on && state.pinned.len() >= MAX_PINS {
                return Err(ChatError::Conflict(format!(
                    "at most {MAX_PINS} messages can be pinned; unpin one first"
                )));
            }
            Ok(Draft::of(Body::MsgPin(MsgPin {
                seq: p.seq,
                on: p.on,
            })))
        })
        .await
    }

    // ---- helpers ------------------------------------------------------------------------

    /// A handle `#name:<this node>` that no other group holds (`own` may keep its own).
    async fn free_handle(&self, name: &str, own: Option<&GroupId>) -> Result<Handle, ChatError> {
        let handle = Handle::new(name, self.node())
            .map_err(|e| ChatError::BadRequest(format!("handle: {e}")))?;
        if let Some(holder) = self.db().chats().chat_by_handle(handle.as_ref()).await?
            && Some(&holder.group) != own
        {
            return Err(ChatError::Conflict(format!("{handle} is taken")));
        }
        Ok(handle)
    }

    /// Fails with `not_found` unless `user` has an account here or, for a user of another
    /// node, their node knows them (`profile.get`).
    pub(crate) async fn require_known_user(&self, user: &UserId) -> Result<(), ChatError> {
        if user.node() == self.node() {
            return self.require_user(user).await;
        }
        let asked: Result<gateway::ProfileInfo, ChatError> = self
            .ask(
                user.node(),
                winichat_protocol::federation::methods::method::PROFILE_GET,
                &winichat_protocol::federation::methods::ProfileGetParams { user: user.clone() },
            )
            .await;
        match asked {
            Ok(_) => Ok(()),
            Err(ChatError::Remote(body))
                if body.code == winichat_protocol::error_code::ErrorCode::NotFound =>
            {
                Err(ChatError::NotFound("no such user"))
            }
            Err(e) => Err(e),
        }
    }

    /// Fails with `not_found` unless `user` has an account here.
    pub(crate) async fn require_user(&self, user: &UserId) -> Result<(), ChatError> {
        if user.node() != self.node() {
            return Err(ChatError::BadRequest(
                "users of other nodes arrive with federation".into(),
            ));
        }
        match self.db().accounts().user(user).await? {
            Some(_) => Ok(()),
            None => Err(ChatError::NotFound("no such user")),
        }
    }
}

/// The message `target` if the actor may see it and it is a live (not deleted) message.
fn live_message<'a>(
    state: &GroupState,
    actor: &UserId,
    target: Option<&'a TimelineRow>,
) -> Result<&'a TimelineRow, ChatError> {
    authorize(state, actor, &Action::View)?;
    match target {
        Some(row) if row.is_message && !row.deleted => Ok(row),
        Some(row) if row.is_message => Err(ChatError::NotFound("that message was deleted")),
        _ => Err(ChatError::NotFound("no such message")),
    }
}

/// The stored body of a message: signed already, so read under the rules it was signed under
/// (a file name from before the shown-text rule must not make the message uneditable).
pub(crate) fn decode_post(bytes: &[u8]) -> Result<MsgPost, ChatError> {
    let value: Value = codec::decode(bytes, &Limits::EVENT).map_err(ChatError::internal)?;
    match Body::decode_signed(&EventKind::MsgPost, &value) {
        Ok(Body::MsgPost(post)) => Ok(post),
        Ok(_) => Err(ChatError::internal("stored message is not a msg.post")),
        Err(e) => Err(ChatError::internal(e)),
    }
}

/// The text of a `msg.post` as its checks see it before the attachments are resolved: a
/// caption may be blank when attachments come, so a one-character stand-in is checked then.
pub(super) fn checked_caption(text: &str, has_attachments: bool) -> String {
    if has_attachments && text.trim().is_empty() {
        "-".to_owned()
    } else {
        text.to_owned()
    }
}

/// Parameter checks come first (gateway.md §8.3: `bad_request` before `not_found`): the body a
/// write would draft from its params alone passes the checks every body passes (lengths,
/// shown text, colours, emoji, counts) before the group is looked up. The commit checks the
/// final body again.
pub(super) fn check_params(body: &Body) -> Result<(), ChatError> {
    let kind = body
        .kind()
        .ok_or_else(|| ChatError::internal("a write drafted an unknown kind"))?;
    Body::decode(&kind, &body.to_value())?;
    Ok(())
}

/// `txn` must be 1–64 bytes.
pub(crate) fn check_txn(txn: &str) -> Result<(), ChatError> {
    if txn.is_empty() || txn.len() > api::MAX_TXN_BYTES {
        return Err(ChatError::BadRequest(format!(
            "txn must be 1 to {} bytes",
            api::MAX_TXN_BYTES
        )));
    }
    Ok(())
}

/// Non-members learn nothing about a private group: refusals for not being a member (or
/// being banned) read as "not found" unless the group is public or they hold an invite.
pub(crate) fn hide(e: ChatError, state: &GroupState, actor: &UserId) -> ChatError {
    match e {
        ChatError::Denied(Denied::NotMember | Denied::Banned)
            if state.visibility == Visibility::Private && !state.invites.contains_key(actor) =>
        {
            ChatError::NotFound("no such chat")
        }
        // A deleted group, or a direct chat of two others, is nobody else's business.
        ChatError::Denied(Denied::GroupDeleted | Denied::DirectChat) if !state.is_member(actor) => {
            ChatError::NotFound("no such chat")
        }
        ChatError::Denied(Denied::NotInvited)
            if state.visibility == Visibility::Private && !state.is_member(actor) =>
        {
            ChatError::NotFound("no such chat")
        }
        other => other,
    }
}

fn conflict_message(reason: &str) -> String {
    if reason.contains("handle") {
        "that handle is taken".into()
    } else {
        reason.to_owned()
    }
}
