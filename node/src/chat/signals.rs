//! Signals across nodes: read positions (spec/federation.md §5.10), typing (§5.12) and
//! presence (§5.14). Never stored as events, never retried, batched per peer; typing at most
//! once per user and chat every 2 s on each node, reads and presence the latest per group and
//! user (per user) in each batch.

use std::collections::HashMap;
use std::sync::Mutex as StdMutex;
use std::time::Duration;

use ciborium::Value;
use winichat_protocol::federation::methods::{
    MAX_SIGNALS, PresenceParams, ReadParams, ReadPosition, TypingParams, TypingSignal, method,
};
use winichat_protocol::gateway::{self, PresencePush, chat as api};
use winichat_protocol::group::Action;
use winichat_protocol::ids::{GroupId, NodeName, UserId};

use super::{ChatError, Chats};

/// How long the first signal for a peer waits for others to share its request.
const BATCH_WINDOW: Duration = Duration::from_millis(100);

/// Signals queued per peer beyond which new ones are dropped (a peer that cannot keep up
/// loses typing indicators and presence changes, nothing else).
const MAX_QUEUED_PER_PEER: usize = 4 * MAX_SIGNALS;

/// Signals waiting for their peer's next request, per peer: typing signals and presences.
/// One sender at a time per peer, so a peer gets them in the order they were queued.
#[derive(Debug)]
pub(crate) struct PeerQueue<T> {
    /// Per peer: what waits, while its sender runs (no entry: no sender).
    queued: StdMutex<HashMap<NodeName, Vec<T>>>,
}

impl<T> Default for PeerQueue<T> {
    fn default() -> Self {
        PeerQueue {
            queued: StdMutex::new(HashMap::new()),
        }
    }
}

impl<T> PeerQueue<T> {
    /// Queues `item` for `peer`, in place of a queued one that is `same` (the later wins);
    /// true when no sender runs for `peer` (the caller then starts one).
    fn queue(&self, peer: &NodeName, item: T, same: impl Fn(&T, &T) -> bool) -> bool {
        let mut queued = self
            .queued
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let start = !queued.contains_key(peer);
        let batch = queued.entry(peer.clone()).or_default();
        if let Some(held) = batch.iter_mut().find(|held| same(held, &item)) {
            *held = item;
        } else if batch.len() < MAX_QUEUED_PER_PEER {
            batch.push(item);
        }
        start
    }

    /// Everything queued for `peer`; when nothing is, the sender is done (the next item
    /// queued starts a new one).
    fn take(&self, peer: &NodeName) -> Vec<T> {
        let mut queued = self
            .queued
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match queued.get_mut(peer) {
            Some(batch) if !batch.is_empty() => std::mem::take(batch),
            _ => {
                queued.remove(peer);
                Vec::new()
            }
        }
    }
}

impl Chats {
    /// A typing signal of `user` in `group`, from the gateway (`from` = `None`) or from the
    /// node `from`: checked against the group's state, pushed to the local members but the
    /// typist, and passed on — a local user's to the home of a remote group, any signal the
    /// home takes to its member nodes but `from`. Dropped (`Ok`) when it comes too soon.
    pub(crate) async fn typing_from(
        &self,
        from: Option<&NodeName>,
        user: &UserId,
        group: &GroupId,
    ) -> Result<(), ChatError> {
        let post = Action::Post {
            media: false,
            mention_everyone: false,
        };
        let me = self.node().clone();
        let (locals, member_nodes) = self
            .with_access(user, group, post, |l| {
                let locals: Vec<UserId> = l
                    .state
                    .members
                    .keys()
                    .filter(|u| *u != user && u.node() == &me)
                    .cloned()
                    .collect();
                // Members' nodes only: a node with just a pending invitee is not in the chat.
                let nodes: std::collections::BTreeSet<NodeName> = l
                    .state
                    .members
                    .keys()
                    .map(|u| u.node().clone())
                    .filter(|n| n != &me)
                    .collect();
                (locals, nodes)
            })
            .await?;
        if !self.typing_due(group, user, super::now()) {
            return Ok(());
        }
        let push = api::TypingPush {
            group: group.clone(),
            user: user.clone(),
        };
        if let Ok(data) = gateway::to_value(&push) {
            self.push(&locals, api::event::CHAT_TYPING, &data);
        }
        let targets: Vec<NodeName> = if self.is_remote(group) {
            // A replica passes on only its own users' signals, to the home.
            if from.is_some() {
                return Ok(());
            }
            vec![group.home().clone()]
        } else {
            member_nodes
                .into_iter()
                .filter(|n| Some(n) != from)
                .collect()
        };
        let signal = TypingSignal {
            group: group.clone(),
            user: user.clone(),
        };
        for target in targets {
            self.send_typing(target, signal.clone());
        }
        Ok(())
    }

    /// The signals of a `typing` request from `origin` (spec/federation.md §5.12). A signal
    /// that does not hold (not a member, a replica not kept, too soon) is dropped alone.
    pub(crate) async fn typing_received(
        &self,
        origin: &NodeName,
        p: TypingParams,
    ) -> Result<(), ChatError> {
        if p.signals.is_empty() || p.signals.len() > MAX_SIGNALS {
            return Err(ChatError::BadRequest(format!(
                "1 to {MAX_SIGNALS} typing signals"
            )));
        }
        // A node speaks for its own users only: one signal about another's spoils the request
        // before any is acted on.
        for signal in p.signals.iter().filter(|s| !self.is_remote(&s.group)) {
            super::peers::speaks_for(origin, &signal.user)?;
        }
        for signal in p.signals {
            // About a group homed elsewhere: only its home says who types there.
            let allowed = !self.is_remote(&signal.group) || signal.group.home() == origin;
            if !allowed {
                continue;
            }
            if let Err(e) = self
                .typing_from(Some(origin), &signal.user, &signal.group)
                .await
            {
                tracing::debug!(group = %signal.group, %origin, error = %e, "federation: typing signal dropped");
            }
        }
        Ok(())
    }

    /// Queues `signal` for `peer`; the first of a batch sends it after the window.
    fn send_typing(&self, peer: NodeName, signal: TypingSignal) {
        if self.inner.federation.get().is_none()
            || !self.inner.typing_out.queue(&peer, signal, PartialEq::eq)
        {
            return;
        }
        let chats = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(BATCH_WINDOW).await;
                let signals = chats.inner.typing_out.take(&peer);
                if signals.is_empty() {
                    return;
                }
                chats
                    .send_batches(&peer, method::TYPING, &signals, |chunk| TypingParams {
                        signals: chunk.to_vec(),
                    })
                    .await;
            }
        });
    }

    /// Queues `presence` (of a local user) for `peer`, replacing one of the same user still
    /// queued; the first of a batch sends it after the window.
    pub(crate) fn send_presence(&self, peer: NodeName, presence: PresencePush) {
        if self.inner.federation.get().is_none()
            || !self
                .inner
                .presence_out
                .queue(&peer, presence, |a, b| a.user == b.user)
        {
            return;
        }
        let chats = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(BATCH_WINDOW).await;
                let presence = chats.inner.presence_out.take(&peer);
                if presence.is_empty() {
                    return;
                }
                chats
                    .send_batches(&peer, method::PRESENCE, &presence, |chunk| PresenceParams {
                        presence: chunk.to_vec(),
                    })
                    .await;
            }
        });
    }

    /// Queues a read position for `peer`, replacing a queued one of the same group and
    /// user (positions only move forward: the later is the higher); the first of a batch
    /// sends it after the window.
    pub(crate) fn send_read(&self, peer: NodeName, read: ReadPosition) {
        if self.inner.federation.get().is_none()
            || !self
                .inner
                .reads_out
                .queue(&peer, read, |a, b| a.group == b.group && a.user == b.user)
        {
            return;
        }
        let chats = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(BATCH_WINDOW).await;
                let reads = chats.inner.reads_out.take(&peer);
                if reads.is_empty() {
                    return;
                }
                chats
                    .send_batches(&peer, method::READ, &reads, |chunk| ReadParams {
                        reads: chunk.to_vec(),
                    })
                    .await;
            }
        });
    }

    /// The read positions of a `read` request from `origin` (spec/federation.md §5.10). One
    /// that does not hold (a group homed elsewhere than `origin` from a node that is not its
    /// home, a replica not kept, not a member) is dropped alone; one about a user of another
    /// node than `origin`, for a group homed here, refuses the whole request.
    pub(crate) async fn reads_received(
        &self,
        origin: &NodeName,
        p: ReadParams,
    ) -> Result<(), ChatError> {
        if p.reads.is_empty() || p.reads.len() > MAX_SIGNALS {
            return Err(ChatError::BadRequest(format!(
                "1 to {MAX_SIGNALS} read positions"
            )));
        }
        for read in p.reads.iter().filter(|r| !self.is_remote(&r.group)) {
            super::peers::speaks_for(origin, &read.user)?;
        }
        for read in p.reads {
            if let Err(e) = self.read_received(origin, &read).await {
                tracing::debug!(group = %read.group, %origin, error = %e, "federation: read position dropped");
            }
        }
        Ok(())
    }

    async fn read_received(&self, origin: &NodeName, read: &ReadPosition) -> Result<(), ChatError> {
        let ReadPosition { group, user, seq } = read;
        if !self.is_remote(group) {
            if let Some(seq) = self.record_read(user, group, *seq).await? {
                self.share_read(Some(origin), group, user, seq);
            }
            return Ok(());
        }
        // A replica takes reads from the group's home only, and only for a replica it keeps:
        // a read never starts one.
        if group.home() != origin || self.inspect(group, |_| ()).await?.is_none() {
            return Ok(());
        }
        // The read can outrun the events it covers (they come through the outbox): catch up
        // first, or it is cut to a stale head and lost.
        if let Err(e) = self.sync(group, *seq).await {
            tracing::debug!(%group, error = %e, "federation: replica behind a read");
        }
        self.record_read(user, group, *seq).await?;
        Ok(())
    }

    /// Sends `items` to `peer` in requests of at most [`MAX_SIGNALS`]; stops at the first
    /// that fails (signals are never retried).
    async fn send_batches<T, P: serde::Serialize>(
        &self,
        peer: &NodeName,
        name: &str,
        items: &[T],
        params: impl Fn(&[T]) -> P,
    ) {
        for chunk in items.chunks(MAX_SIGNALS) {
            let sent: Result<Value, ChatError> = self.ask_value(peer, name, &params(chunk)).await;
            if let Err(e) = sent {
                tracing::debug!(node = %peer, error = %e, "federation: {name} not sent");
                break;
            }
        }
    }
}
