//! Groups of other nodes, as this node's users meet them: writes go to the group's home
//! (`submit`, `join`), reads come from the local replica, which [`Chats::sync`] brings up to
//! date by `backfill` when it is behind (spec/federation.md §5).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ciborium::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;
use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::federation::methods::{
    self, BackfillParams, BackfillResult, DirectoryLookupParams, JoinParams, JoinRoute,
    SubmitParams, method,
};
use winichat_protocol::gateway::{self, chat as api};
use winichat_protocol::group::GroupState;
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
pub const SUBMITTABLE: [&str; 18] = [
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

    async fn ask_value(
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
        let written: api::WriteResult = self.ask(home, method::JOIN, &join).await?;
        self.sync(&written.group, written.seq).await?;
        Ok(written)
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
                        limit: methods::MAX_BACKFILL_EVENTS,
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
            if !outcomes.iter().any(|o| *o == methods::PushOutcome::Applied) {
                return Err(ChatError::Unavailable(format!(
                    "the events of {group} from {home} could not be applied"
                )));
            }
        }
        Err(ChatError::internal("backfill did not converge"))
    }
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
