//! Groups of other nodes, as this node's users meet them: writes go to the group's home
//! (`submit`, `join`), reads come from the local replica, which [`Chats::sync`] brings up to
//! date by `backfill` when it is behind (spec/federation.md §5).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ciborium::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;
use winichat_protocol::codec::Limits;
use winichat_protocol::cose::UnverifiedSign1;
use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::event::Event;
use winichat_protocol::federation::methods::{
    self, BackfillParams, BackfillResult, DirectParams, DirectResult, DirectoryLookupParams,
    JoinParams, JoinRoute, LinkPreviewParams, PushOutcome, StateParams, StateResult, SubmitParams,
    method,
};
use winichat_protocol::gateway::{self, chat as api};
use winichat_protocol::group::{Body, GroupKind, GroupState};
use winichat_protocol::ids::{GroupId, Handle, NodeName, UserId};

use super::{ChatError, Chats};
use crate::federation::{FedClient, FedError};

/// What the chat service needs of federation: a client for requests, and a way to tell the
/// outbox senders that rows are waiting for a destination.
#[derive(Clone)]
pub struct Federation {
    /// Sends requests to other nodes.
    pub client: Arc<dyn FedClient>,
    /// Wakes the sender of a destination after rows were queued for it.
    pub wake: Arc<dyn Fn(&NodeName) + Send + Sync>,
    /// A peer reached us: retry what waits for it now.
    pub contacted: Arc<dyn Fn(&NodeName) + Send + Sync>,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Federation").finish_non_exhaustive()
    }
}

/// How long a write on a remote group waits for its own event to reach the replica before
/// fetching it.
const OWN_EVENT_WAIT: Duration = Duration::from_secs(2);

/// The gateway writes a node may `submit` for its users (spec/federation.md §5.6).
pub const SUBMITTABLE: [&str; 19] = [
    api::method::GROUPS_UPDATE,
    api::method::GROUPS_DELETE,
    api::method::GROUPS_TRANSFER,
    api::method::GROUPS_LEAVE,
    api::method::INVITES_SEND,
    api::method::INVITES_DECLINE,
    api::method::MEMBERS_KICK,
    api::method::MEMBERS_BAN,
    api::method::MEMBERS_UNBAN,
    api::method::MEMBERS_ROLES,
    api::method::ROLES_CREATE,
    api::method::ROLES_UPDATE,
    api::method::ROLES_DELETE,
    api::method::MSGS_POST,
    api::method::MSGS_EDIT,
    api::method::MSGS_DELETE,
    api::method::MSGS_REACT,
    api::method::MSGS_PIN,
    api::method::MSGS_FORWARD,
];

/// The remote nodes an event of a group homed here goes to: every node with a member or a
/// pending invitee after it, and every node whose member it removed (they learn of the kick
/// or ban). Sorted, without this node.
pub(crate) fn destinations(
    me: &NodeName,
    before: Option<&GroupState>,
    after: &GroupState,
) -> Vec<NodeName> {
    let mut nodes = BTreeSet::new();
    let users = after
        .members
        .keys()
        .chain(after.invites.keys())
        .chain(before.into_iter().flat_map(|b| b.members.keys()))
        .chain(before.into_iter().flat_map(|b| b.invites.keys()));
    for user in users {
        if user.node() != me {
            nodes.insert(user.node().clone());
        }
    }
    nodes.into_iter().collect()
}

impl Chats {
    /// Runs one of the [`SUBMITTABLE`] gateway writes for `actor`: here when the group is
    /// homed here, at its home otherwise. The one path for the gateway and for `submit`.
    pub async fn write_method(
        &self,
        actor: &UserId,
        name: &str,
        params: &Value,
    ) -> Result<Value, ChatError> {
        use api::method as m;
        if name == m::MSGS_FORWARD {
            // Its own way to a remote home: what goes there depends on where the original is.
            let written = self.forward(actor, decode(params)?, None).await?;
            return gateway::to_value(&written).map_err(ChatError::internal);
        }
        let group = super::peers::group_of(params)?;
        if self.is_remote(&group) {
            return self.submit_remote(actor, name, &group, params).await;
        }
        let written = match name {
            m::GROUPS_UPDATE => self.update(actor, decode(params)?).await?,
            m::GROUPS_DELETE => self.delete_group(actor, decode(params)?).await?,
            m::GROUPS_TRANSFER => self.transfer(actor, decode(params)?).await?,
            m::GROUPS_LEAVE => self.leave(actor, decode(params)?).await?,
            m::INVITES_SEND => self.invite(actor, decode(params)?).await?,
            m::INVITES_DECLINE => self.decline_invite(actor, decode(params)?).await?,
            m::MEMBERS_KICK => self.kick(actor, decode(params)?).await?,
            m::MEMBERS_BAN => self.ban(actor, decode(params)?).await?,
            m::MEMBERS_UNBAN => self.unban(actor, decode(params)?).await?,
            m::MEMBERS_ROLES => self.set_roles(actor, decode(params)?).await?,
            m::ROLES_CREATE => self.create_role(actor, decode(params)?).await?,
            m::ROLES_UPDATE => self.update_role(actor, decode(params)?).await?,
            m::ROLES_DELETE => self.delete_role(actor, decode(params)?).await?,
            m::MSGS_POST => self.post(actor, decode(params)?).await?,
            m::MSGS_EDIT => self.edit(actor, decode(params)?).await?,
            m::MSGS_DELETE => self.delete_message(actor, decode(params)?).await?,
            m::MSGS_REACT => self.react(actor, decode(params)?).await?,
            m::MSGS_PIN => self.pin(actor, decode(params)?).await?,
            _ => {
                return Err(ChatError::BadRequest(format!(
                    "{name} is not a write of a group's log"
                )));
            }
        };
        gateway::to_value(&written).map_err(ChatError::internal)
    }

    /// `groups.join`: a public group here, or one of another node (by id or `#handle:node`).
    pub async fn join_any(
        &self,
        actor: &UserId,
        p: api::JoinParams,
    ) -> Result<api::WriteResult, ChatError> {
        let remote_group = p.group.as_ref().filter(|g| self.is_remote(g)).cloned();
        let remote_handle = p
            .handle
            .as_ref()
            .filter(|h| h.node() != self.node())
            .cloned();
        match (remote_group, remote_handle) {
            (Some(group), None) => {
                let home = group.home().clone();
                self.join_remote(actor, &home, Some(group), JoinRoute::Public, None, &p.txn)
                    .await
            }
            (None, Some(handle)) if p.group.is_none() => {
                let entry = self.lookup_remote(&handle).await?;
                if entry.group.home() != handle.node() {
                    return Err(ChatError::Unavailable(format!(
                        "node {} answered with a group of another node",
                        handle.node()
                    )));
                }
                self.join_remote(
                    actor,
                    handle.node(),
                    Some(entry.group),
                    JoinRoute::Public,
                    None,
                    &p.txn,
                )
                .await
            }
            _ => self.join_public(actor, p).await,
        }
    }

    /// `invites.accept`, for a group here or at another node.
    pub async fn accept_any_invite(
        &self,
        actor: &UserId,
        p: api::TxnGroupParams,
    ) -> Result<api::WriteResult, ChatError> {
        if self.is_remote(&p.group) {
            let home = p.group.home().clone();
            return self
                .join_remote(actor, &home, Some(p.group), JoinRoute::Invite, None, &p.txn)
                .await;
        }
        self.accept_invite(actor, p).await
    }

    /// `groups.directory`: this node's public groups; a query that is a whole `#handle:node`
    /// of another node asks that node for the group.
    pub async fn find_groups(
        &self,
        actor: &UserId,
        p: api::DirectoryParams,
    ) -> Result<api::DirectoryResult, ChatError> {
        let query = p.query.trim();
        if let Ok(handle) = Handle::parse(query)
            && handle.node() != self.node()
        {
            let mut entry = self.lookup_remote(&handle).await?;
            entry.joined = self
                .db()
                .chats()
                .read_seq(&entry.group, actor)
                .await?
                .is_some();
            return Ok(api::DirectoryResult {
                groups: vec![entry],
                next: None,
            });
        }
        self.directory(actor, p).await
    }

    /// Sends a read position on (best effort, batched per peer): a local reader's to the home
    /// of a remote group; on the home, any member's to the member nodes (but `from`, the node
    /// it came from, and the reader's own).
    pub(crate) fn share_read(
        &self,
        from: Option<&NodeName>,
        group: &GroupId,
        user: &UserId,
        seq: u64,
    ) {
        if self.inner.federation.get().is_none() {
            return;
        }
        let chats = self.clone();
        let (group, user, from) = (group.clone(), user.clone(), from.cloned());
        tokio::spawn(async move {
            let targets: Vec<NodeName> = if chats.is_remote(&group) {
                vec![group.home().clone()]
            } else {
                chats
                    .inspect(&group, |l| destinations(chats.node(), None, &l.state))
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|n| Some(n) != from.as_ref() && n != user.node())
                    .collect()
            };
            let read = methods::ReadPosition { group, user, seq };
            for target in targets {
                chats.send_read(target, read.clone());
            }
        });
    }

    /// The nodes homing groups this node keeps replicas of.
    pub async fn replicated_homes(&self) -> Result<Vec<NodeName>, ChatError> {
        Ok(self.db().events().homes_other_than(self.node()).await?)
    }

    /// Notes (or forgets) that a local user is joining `group` of another node, whose events
    /// may then start a replica here.
    fn joining(&self, group: &GroupId, on: bool) {
        let mut joining = self
            .inner
            .joining
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if on {
            *joining.entry(group.clone()).or_insert(0) += 1;
        } else if let Some(count) = joining.get_mut(group) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                joining.remove(group);
            }
        }
    }

    pub(crate) fn joining_contains(&self, group: &GroupId) -> bool {
        self.inner
            .joining
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains_key(group)
    }

    /// Connects the chat service to other nodes. Called once at start-up; later calls are
    /// ignored.
    pub fn attach_federation(&self, federation: Federation) {
        let _ = self.inner.federation.set(federation);
    }

    /// True when `group` is homed on another node.
    pub fn is_remote(&self, group: &GroupId) -> bool {
        group.home() != self.node()
    }

    pub(crate) fn wake_outbox(&self, destinations: &[NodeName]) {
        if let Some(federation) = self.inner.federation.get() {
            for destination in destinations {
                (federation.wake)(destination);
            }
        }
    }

    pub(crate) fn replica_advanced(&self) {
        self.inner.advanced.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Sends `method` to `peer` and decodes its result.
    pub(crate) async fn ask<T: DeserializeOwned>(
        &self,
        peer: &NodeName,
        name: &str,
        params: &impl Serialize,
    ) -> Result<T, ChatError> {
        let value = self.ask_value(peer, name, params).await?;
        gateway::decode_params(&value).map_err(|e| {
            tracing::warn!(%peer, method = name, error = %e, "federation: malformed answer");
            ChatError::Unavailable(format!("node {peer} gave a malformed answer"))
        })
    }

    pub(crate) async fn ask_value(
        &self,
        peer: &NodeName,
        name: &str,
        params: &impl Serialize,
    ) -> Result<Value, ChatError> {
        let Some(federation) = self.inner.federation.get() else {
            return Err(ChatError::Unavailable(
                "this node does not federate".to_owned(),
            ));
        };
        let params = gateway::to_value(params).map_err(ChatError::internal)?;
        federation
            .client
            .request(peer, name, params)
            .await
            .map_err(fed_error)
    }

    /// Runs a gateway write of `actor` on a group homed elsewhere: `submit` to the home, then
    /// waits until the replica holds the event, so what the user reads next includes it.
    pub async fn submit_remote(
        &self,
        actor: &UserId,
        name: &str,
        group: &GroupId,
        params: &Value,
    ) -> Result<Value, ChatError> {
        if !SUBMITTABLE.contains(&name) {
            return Err(ChatError::BadRequest(format!(
                "{name} is not available for groups of other nodes yet"
            )));
        }
        if name == gateway::chat::method::MSGS_POST
            && let Ok(media) = self.media()
            && let Ok(post) = gateway::decode_params::<gateway::chat::PostParams>(params)
        {
            // The home fetches the attached media from this node (media.fetch): let it.
            media
                .grant(group.home(), actor, &post.attachments)
                .await
                .map_err(ChatError::from)?;
        }
        let submit = SubmitParams {
            user: actor.clone(),
            method: name.to_owned(),
            params: params.clone(),
        };
        let result = self
            .ask_value(group.home(), method::SUBMIT, &submit)
            .await?;
        if let Ok(written) = gateway::decode_params::<api::WriteResult>(&result) {
            self.await_replica(group, written.seq).await;
        }
        Ok(result)
    }

    /// `groups.join` of a group homed elsewhere (by id or `#handle:node`), or accepting an
    /// invite to one: `join` at the home, then the replica is brought up to the join.
    pub async fn join_remote(
        &self,
        actor: &UserId,
        home: &NodeName,
        group: Option<GroupId>,
        via: JoinRoute,
        code: Option<String>,
        txn: &str,
    ) -> Result<api::WriteResult, ChatError> {
        super::write::check_txn(txn)?;
        let join = JoinParams {
            user: actor.clone(),
            txn: txn.to_owned(),
            via,
            group,
            code,
        };
        // Pushes of the group may arrive before the join's answer: expect them.
        let expected = join.group.clone();
        if let Some(group) = &expected {
            self.joining(group, true);
        }
        let outcome = async {
            let written: api::WriteResult = self.ask(home, method::JOIN, &join).await?;
            if written.group.home() != home
                || join.group.as_ref().is_some_and(|g| g != &written.group)
            {
                return Err(ChatError::Unavailable(format!(
                    "node {home} answered the join with another group"
                )));
            }
            self.joining(&written.group, true);
            let synced = self.sync(&written.group, written.seq).await;
            self.joining(&written.group, false);
            synced.map(|()| written)
        }
        .await;
        if let Some(group) = &expected {
            self.joining(group, false);
        }
        outcome
    }

    /// `dm.open` with a user of another node, when this node holds no chat of the pair: asks
    /// the peer's node for one it homes (spec/federation.md §5.11) and, if it names one,
    /// starts the replica. `None`: the peer exists and no chat does; create it here.
    pub(crate) async fn direct_at_peer(
        &self,
        actor: &UserId,
        peer: &UserId,
    ) -> Result<Option<GroupId>, ChatError> {
        let asked: Result<DirectResult, ChatError> = self
            .ask(
                peer.node(),
                method::DIRECT,
                &DirectParams {
                    user: actor.clone(),
                    peer: peer.clone(),
                },
            )
            .await;
        let found = match asked {
            Ok(found) => found,
            Err(ChatError::Remote(body)) if body.code == ErrorCode::NotFound => {
                return Err(ChatError::NotFound("no such user"));
            }
            Err(e) => return Err(e),
        };
        let Some(group) = found.group else {
            return Ok(None);
        };
        if group.home() != peer.node() {
            return Err(ChatError::Unavailable(format!(
                "node {} answered with a chat of another node",
                peer.node()
            )));
        }
        // Only the pair's own chat may start a replica here (spec §6 (a)): its first event must
        // be the peer's `group.create` of a direct chat with the user, checked before anything
        // is kept (the replica verifies its signature as it applies it).
        let first: BackfillResult = self
            .ask(
                peer.node(),
                method::BACKFILL,
                &BackfillParams {
                    group: group.clone(),
                    from: 1,
                    limit: 1,
                },
            )
            .await?;
        if !first
            .events
            .first()
            .is_some_and(|raw| creates_direct_chat(raw, &group, peer, actor))
        {
            return Err(ChatError::Unavailable(format!(
                "node {} named a chat that is not a direct chat of the two",
                peer.node()
            )));
        }
        // Apply the event just checked (its `group.create` may be on its way here as a push
        // too: expect it), rather than asking the home for it a second time.
        self.joining(&group, true);
        let outcomes = self.receive(peer.node(), &first.events, false).await;
        self.joining(&group, false);
        if !matches!(
            outcomes.first(),
            Some(PushOutcome::Applied | PushOutcome::Duplicate)
        ) {
            return Err(ChatError::Unavailable(format!(
                "the direct chat {group} from {} could not be applied",
                peer.node()
            )));
        }
        // The replica holds the pair now (or a smaller twin of this node's own does); a chat
        // that is not the pair's never becomes the answer.
        match self.db().chats().direct_between(actor, peer).await? {
            Some(pair) => Ok(Some(pair)),
            None => Err(ChatError::Unavailable(format!(
                "node {} named a chat that is not a direct chat of the two",
                peer.node()
            ))),
        }
    }

    /// `links.preview`: a link of this node, or of the node it names (`link.preview`).
    pub async fn preview_any_link(
        &self,
        p: api::CodeParams,
    ) -> Result<api::LinkPreview, ChatError> {
        match p.node.filter(|n| n != self.node()) {
            Some(node) => {
                let preview: api::LinkPreview = self
                    .ask(
                        &node,
                        method::LINK_PREVIEW,
                        &LinkPreviewParams { code: p.code },
                    )
                    .await?;
                if preview.group.home() != &node {
                    return Err(ChatError::Unavailable(format!(
                        "node {node} answered with a group of another node"
                    )));
                }
                Ok(preview)
            }
            None => self.preview_link(&p.code).await,
        }
    }

    /// `links.redeem`: a link of this node, or of the node it names (`join` by link there).
    pub async fn redeem_any_link(
        &self,
        actor: &UserId,
        p: api::RedeemParams,
    ) -> Result<api::WriteResult, ChatError> {
        match p.node.clone().filter(|n| n != self.node()) {
            Some(node) => {
                self.join_remote(actor, &node, None, JoinRoute::Link, Some(p.code), &p.txn)
                    .await
            }
            None => self.redeem_link(actor, p).await,
        }
    }

    /// `#handle:node` of another node, as its directory shows it.
    pub async fn lookup_remote(&self, handle: &Handle) -> Result<api::DirectoryEntry, ChatError> {
        self.ask(
            handle.node(),
            method::DIRECTORY_LOOKUP,
            &DirectoryLookupParams {
                handle: handle.clone(),
            },
        )
        .await
    }

    /// Waits (bounded) for the replica of `group` to reach `seq`; fetches it from the home if
    /// the push is late.
    async fn await_replica(&self, group: &GroupId, seq: u64) {
        let mut advanced = self.inner.advanced.subscribe();
        let deadline = tokio::time::Instant::now() + OWN_EVENT_WAIT;
        loop {
            if self.replica_head(group).await >= seq {
                return;
            }
            if tokio::time::timeout_at(deadline, advanced.changed())
                .await
                .is_err()
            {
                break;
            }
        }
        if let Err(e) = self.sync(group, seq).await {
            tracing::debug!(%group, error = %e, "federation: replica not caught up after a write");
        }
    }

    async fn replica_head(&self, group: &GroupId) -> u64 {
        match self.db().events().last(group).await {
            Ok(last) => last.map_or(0, |(seq, _)| seq),
            Err(_) => 0,
        }
    }

    /// Asks `home` for the head of every replica homed there (`state`) and backfills each that
    /// is behind: an event whose push never arrived (dropped from the home's outbox, or refused
    /// while this node was down) is repaired now, not only when the group's next event shows
    /// the gap. Stops at the first group the home cannot answer for now.
    pub async fn check_replicas_of(&self, home: &NodeName) -> Result<(), ChatError> {
        for (group, seq) in self.db().events().heads_homed_at(home).await? {
            let asked = StateParams {
                group: group.clone(),
            };
            let state: StateResult = match self.ask(home, method::STATE, &asked).await {
                Ok(state) => state,
                Err(e @ ChatError::Unavailable(_)) => return Err(e),
                Err(e) => {
                    // Not ours to read any more (left, banned) or gone: nothing to repair.
                    tracing::debug!(%group, %home, error = %e, "federation: state not given");
                    continue;
                }
            };
            if state.head > seq {
                tracing::info!(%group, %home, behind = state.head - seq, "federation: replica behind its home; backfilling");
                // One group that cannot catch up (marked faulty, say) does not stop the others.
                if let Err(e) = self.sync(&group, state.head).await {
                    tracing::warn!(%group, %home, error = %e, "federation: replica not caught up");
                }
            }
        }
        Ok(())
    }

    /// Brings the replica of `group` up to at least `seq` by backfilling from its home.
    pub async fn sync(&self, group: &GroupId, seq: u64) -> Result<(), ChatError> {
        let home = group.home().clone();
        // Bounded: each round either advances the head or ends.
        for _ in 0..10_000 {
            let head = self.replica_head(group).await;
            if head >= seq {
                return Ok(());
            }
            let page: BackfillResult = self
                .ask(
                    &home,
                    method::BACKFILL,
                    &BackfillParams {
                        group: group.clone(),
                        from: head + 1,
                        // Up to `seq` only: a pushed event after a gap is then applied by its
                        // push (`applied`), not already held from the page (spec §6).
                        limit: u32::try_from(seq - head)
                            .unwrap_or(u32::MAX)
                            .min(methods::MAX_BACKFILL_EVENTS),
                    },
                )
                .await?;
            if page.events.is_empty() {
                return Err(ChatError::Unavailable(format!(
                    "node {home} has no events after {head} of {group}"
                )));
            }
            // Boxed: receiving may itself backfill (a push with a gap), which lands here.
            let outcomes = Box::pin(self.receive(&home, &page.events, false)).await;
            // A concurrent push may have applied these first (duplicates): progress is
            // judged by the head.
            if self.replica_head(group).await <= head {
                tracing::warn!(%group, %home, ?outcomes, "federation: backfilled events not applied");
                return Err(ChatError::Unavailable(format!(
                    "the events of {group} from {home} could not be applied"
                )));
            }
        }
        Err(ChatError::internal("backfill did not converge"))
    }
}

/// True when `raw` is a `group.create` of `group` by `creator` making a direct chat with
/// `peer` alone (not yet verified: the replica checks the signature when it applies it).
pub(super) fn creates_direct_chat(
    raw: &[u8],
    group: &GroupId,
    creator: &UserId,
    peer: &UserId,
) -> bool {
    let Some(event) = UnverifiedSign1::parse(raw, &Limits::EVENT)
        .ok()
        .and_then(|sign1| sign1.decode_stored::<Event>(&Limits::EVENT).ok())
    else {
        return false;
    };
    if event.seq != 1 || &event.group != group || &event.sender != creator {
        return false;
    }
    matches!(
        Body::decode_signed(&event.kind, &event.body),
        Ok(Body::GroupCreate(create))
            if create.kind == GroupKind::Direct && create.members.as_slice() == [peer.clone()]
    )
}

fn decode<T: DeserializeOwned>(params: &Value) -> Result<T, ChatError> {
    gateway::decode_params(params).map_err(|e| ChatError::BadRequest(e.to_string()))
}

/// A failed request to another node, as the user sees it.
fn fed_error(e: FedError) -> ChatError {
    match e {
        FedError::Refused { error, .. } => match error.code {
            // The peer's own trouble is not the user's request's fault: say it is unavailable.
            ErrorCode::Internal => ChatError::Unavailable(error.message),
            _ => ChatError::Remote(error),
        },
        FedError::Unreachable { peer, .. } | FedError::Timeout { peer } => {
            ChatError::Unavailable(format!("node {peer} cannot be reached right now"))
        }
        FedError::Protocol { peer, reason } => {
            tracing::warn!(%peer, %reason, "federation: protocol error");
            ChatError::Unavailable(format!(
                "node {peer} answered in a way this node cannot use"
            ))
        }
        FedError::NotAllowed { peer } => {
            ChatError::Remote(winichat_protocol::error_code::ErrorBody::new(
                ErrorCode::Forbidden,
                format!("this node does not federate with {peer}"),
            ))
        }
    }
}
