//! Chats: direct chats and groups on this node, as logs of signed events (ARCHITECTURE "One
//! model for DMs and groups").
//!
//! Every write goes the same way ([`write`]): claim the client's transaction id ([`txn`]),
//! take the group's lock, load its [`GroupState`], decide the event body (checking
//! [`winichat_protocol::group::authorize`]), fold it into a copy of the state, sign it, and
//! queue event, projection and transaction id for the commit pipeline ([`pipeline`]), which
//! writes whatever is queued in one database transaction; only then is the event pushed to
//! the members, in log order, and the write acknowledged. What a client sees is always derived
//! from a committed event.
//!
//! Reads ([`read`]) come from the projection tables; their access checks run on the cached
//! state under the lock ([`Chats::with_access`]) without copying it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{SystemTime, UNIX_EPOCH};

use ciborium::Value;
use ed25519_dalek::SigningKey;
use tokio::sync::{Mutex, OwnedMutexGuard};
use winichat_protocol::Timestamp;
use winichat_protocol::event::LogHead;
use winichat_protocol::gateway::{self, PresenceList, PresencePush, Status};
use winichat_protocol::group::{Action, GroupState, authorize};
use winichat_protocol::ids::{GroupId, MediaId, NodeName, UserId};

use crate::media::Media;
use crate::storage::Database;

mod actions;
pub mod admin;
mod error;
#[cfg(test)]
mod federation_tests;
mod known_txns;
mod links;
mod pages;
pub mod peers;
mod people;
mod pipeline;
#[cfg(test)]
mod pipeline_tests;
mod projection;
pub mod read;
pub mod remote;
pub mod replica;
mod search;
mod signals;
#[cfg(test)]
mod tests;
mod txn;
mod view;
pub mod write;

pub use error::ChatError;

/// How many group states the node keeps in memory when they are not in use.
const CACHED_GROUPS: usize = 4096;

/// Delivers pushes to users' live connections (the gateway's hub).
pub trait Pusher: Send + Sync + 'static {
    /// Pushes `event` with `data` to every connection of each of `users` that is connected or
    /// recently was (for resuming). Never blocks.
    fn push(&self, users: &[UserId], event: &str, data: &Value);

    /// Whether `user` is connected now; when not, since when (if known).
    fn presence_of(&self, user: &UserId) -> (Status, Option<Timestamp>) {
        let _ = user;
        (Status::Offline, None)
    }
}

/// A change about a user (presence, profile) that their contacts should hear of: the hub
/// sends these, [`Chats::relay`] fans them out to everyone who shares a chat with the user.
#[derive(Debug, Clone)]
pub struct Notice {
    /// Whom the change is about.
    pub user: UserId,
    /// The push event name.
    pub event: &'static str,
    /// The push data.
    pub data: Value,
}

/// Groups bigger than this do not carry their members' presence (Telegram and Discord stop
/// showing it in big groups too): the fan-out would dwarf the chat itself.
pub const PRESENCE_MAX_GROUP: u64 = 500;
/// The most contacts one change is relayed to.
const PRESENCE_MAX_CONTACTS: u32 = 5000;

/// The chat service. Cheap to clone.
#[derive(Clone)]
pub struct Chats {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Chats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chats")
            .field("node", &self.inner.node)
            .finish_non_exhaustive()
    }
}

struct Inner {
    db: Database,
    node: NodeName,
    key: SigningKey,
    pusher: Arc<dyn Pusher>,
    /// Uploads that messages, group photos and avatars refer to; `None` where media is not
    /// served (some tests): attachments are then refused.
    media: Option<Media>,
    /// One lock per group: writes to a group are sequenced one at a time. The slot holds the
    /// group's state while it is cached.
    groups: StdMutex<HashMap<GroupId, Arc<Mutex<Option<Loaded>>>>>,
    /// When each member last had a typing signal pushed, per chat (see [`TYPING_EVERY_MS`]).
    typing: StdMutex<HashMap<(GroupId, UserId), Timestamp>>,
    /// Typing signals waiting to be sent to other nodes.
    typing_out: signals::PeerQueue<winichat_protocol::federation::methods::TypingSignal>,
    /// Read positions waiting to be sent to other nodes.
    reads_out: signals::PeerQueue<winichat_protocol::federation::methods::ReadPosition>,
    /// Presence changes of local users waiting to be sent to other nodes.
    presence_out: signals::PeerQueue<gateway::PresencePush>,
    /// Profiles and presence of users of other nodes.
    people: people::RemotePeople,
    /// The link to other nodes, once federation is set up ([`Chats::attach_federation`]).
    federation: std::sync::OnceLock<remote::Federation>,
    /// Groups whose replica stopped taking events from their home.
    faults: StdMutex<HashMap<GroupId, Option<replica::Fault>>>,
    /// Groups of other nodes a local user is joining right now (how many joins each).
    joining: StdMutex<HashMap<GroupId, u32>>,
    /// Bumped after every commit, so a submitter can wait for its replica to catch up.
    advanced: tokio::sync::watch::Sender<u64>,
    /// The group commit queue.
    pipeline: pipeline::Pipeline,
    /// Transaction ids being written now.
    in_flight: txn::InFlight,
    known_txns: known_txns::KnownTxns,
    /// The last [`Loaded::epoch`] handed out.
    epochs: std::sync::atomic::AtomicU64,
}

/// A member's typing signals reach the others at most this often; clients repeat theirs
/// every few seconds and the indicator lasts 6 s, so nothing is lost but the flood.
pub(crate) const TYPING_EVERY_MS: u64 = 2000;

/// A group's state and log head, as cached under its lock.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub state: GroupState,
    pub head: LogHead,
    pub last_ts: Timestamp,
    /// Which load of the group this state comes from: each load from the database starts a
    /// new epoch, so a failed commit drops only the state it was sequenced on.
    pub epoch: u64,
    /// The commit pipeline's ticket of the group's last queued event (0: none).
    pub ticket: u64,
}

impl Chats {
    /// The chat service of node `node`, signing events with `key` and pushing through `pusher`.
    pub fn new(db: Database, node: NodeName, key: SigningKey, pusher: Arc<dyn Pusher>) -> Chats {
        Self::build(db, node, key, pusher, None)
    }

    /// [`Chats::new`], with media: messages may carry attachments, groups a photo.
    pub fn with_media(
        db: Database,
        node: NodeName,
        key: SigningKey,
        pusher: Arc<dyn Pusher>,
        media: Media,
    ) -> Chats {
        Self::build(db, node, key, pusher, Some(media))
    }

    fn build(
        db: Database,
        node: NodeName,
        key: SigningKey,
        pusher: Arc<dyn Pusher>,
        media: Option<Media>,
    ) -> Chats {
        Chats {
            inner: Arc::new(Inner {
                db,
                node,
                key,
                pusher,
                media,
                groups: StdMutex::new(HashMap::new()),
                typing: StdMutex::new(HashMap::new()),
                typing_out: signals::PeerQueue::default(),
                presence_out: signals::PeerQueue::default(),
                reads_out: signals::PeerQueue::default(),
                people: people::RemotePeople::default(),
                federation: std::sync::OnceLock::new(),
                faults: StdMutex::new(HashMap::new()),
                joining: StdMutex::new(HashMap::new()),
                advanced: tokio::sync::watch::Sender::new(0),
                pipeline: pipeline::Pipeline::new(),
                in_flight: txn::InFlight::default(),
                known_txns: known_txns::KnownTxns::new(now()),
                epochs: std::sync::atomic::AtomicU64::new(0),
            }),
        }
    }

    pub(crate) fn db(&self) -> &Database {
        &self.inner.db
    }

    pub(crate) fn node(&self) -> &NodeName {
        &self.inner.node
    }

    /// Checks that `photo` may become `user`'s avatar (an image they uploaded here).
    pub async fn check_photo(&self, user: &UserId, photo: &MediaId) -> Result<(), ChatError> {
        Ok(self.media()?.check_photo(user, photo).await?)
    }

    /// The media service, or [`ChatError::BadRequest`] when this service has none.
    pub(crate) fn media(&self) -> Result<&Media, ChatError> {
        self.inner
            .media
            .as_ref()
            .ok_or_else(|| ChatError::BadRequest("media is not available".into()))
    }

    /// True when `user`'s typing signal in `group` should be pushed now (and records it).
    pub(crate) fn typing_due(&self, group: &GroupId, user: &UserId, now: Timestamp) -> bool {
        let mut typing = self
            .inner
            .typing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if typing.len() >= CACHED_GROUPS {
            typing.retain(|_, at| now.millis().saturating_sub(at.millis()) < TYPING_EVERY_MS);
        }
        let key = (group.clone(), user.clone());
        match typing.get(&key) {
            Some(at) if now.millis().saturating_sub(at.millis()) < TYPING_EVERY_MS => false,
            _ => {
                typing.insert(key, now);
                true
            }
        }
    }

    pub(crate) fn push(&self, users: &[UserId], event: &str, data: &Value) {
        self.inner.pusher.push(users, event, data);
    }

    /// Takes the lock of `group` and returns its slot, loaded from the database when not
    /// cached. `None` in the slot: the group does not exist (yet).
    pub(crate) async fn lock(
        &self,
        group: &GroupId,
    ) -> Result<OwnedMutexGuard<Option<Loaded>>, ChatError> {
        let slot = {
            let mut groups = self
                .inner
                .groups
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if groups.len() >= CACHED_GROUPS {
                // Drop the states nobody holds; the ones in use stay.
                groups.retain(|_, slot| Arc::strong_count(slot) > 1);
            }
            groups
                .entry(group.clone())
                .or_insert_with(|| Arc::new(Mutex::new(None)))
                .clone()
        };
        let mut guard = slot.lock_owned().await;
        if guard.is_none() {
            *guard = self.load(group).await?;
        }
        Ok(guard)
    }

    /// Runs `read` on the group's cached state and head under its lock, without copying the
    /// state. `None` when the group does not exist.
    pub(crate) async fn inspect<R>(
        &self,
        group: &GroupId,
        read: impl FnOnce(&Loaded) -> R,
    ) -> Result<Option<R>, ChatError> {
        let guard = self.lock(group).await?;
        Ok(guard.as_ref().map(read))
    }

    /// Runs `read` under the group's lock once `actor` may take `action` there: a member (as
    /// for `View`), then `action` itself. Refusals read like writes' (a private group's
    /// non-members get `not_found`).
    pub(crate) async fn with_access<R>(
        &self,
        actor: &UserId,
        group: &GroupId,
        action: Action<'_>,
        read: impl FnOnce(&Loaded) -> R,
    ) -> Result<R, ChatError> {
        let guard = self.lock(group).await?;
        let loaded = guard.as_ref().ok_or(ChatError::NotFound("no such chat"))?;
        let state = &loaded.state;
        authorize(state, actor, &Action::View).map_err(|e| write::hide(e.into(), state, actor))?;
        if action != Action::View {
            authorize(state, actor, &action)?;
        }
        Ok(read(loaded))
    }

    /// A new [`Loaded::epoch`].
    pub(crate) fn next_epoch(&self) -> u64 {
        self.inner
            .epochs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1
    }

    /// Drops the cached state of `group` if it is still of `epoch`.
    pub(crate) async fn forget_state(&self, group: &GroupId, epoch: u64) {
        let slot = self
            .inner
            .groups
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(group)
            .cloned();
        if let Some(slot) = slot {
            let mut guard = slot.lock().await;
            if guard.as_ref().is_some_and(|l| l.epoch == epoch) {
                *guard = None;
            }
        }
    }

    async fn load(&self, group: &GroupId) -> Result<Option<Loaded>, ChatError> {
        // Events of the group may still be queued from before its state left the cache: the
        // stored head is the real one once they are written.
        self.queued_written().await;
        let Some(row) = self.db().chats().chat(group).await? else {
            return Ok(None);
        };
        let mut state = decode_state(&row.state, group)?;
        let Some((seq, id)) = self.db().events().last(group).await? else {
            return Err(ChatError::internal(format!(
                "{group} has a chat row but no events"
            )));
        };
        let ts = match self.db().events().by_id(&id).await? {
            Some(event) => event.ts,
            None => {
                return Err(ChatError::internal(format!(
                    "head event of {group} missing"
                )));
            }
        };
        // Messages do not change the state, so its snapshot is not rewritten for them: it is
        // the state after the last event either way.
        state.seq = seq;
        Ok(Some(Loaded {
            state,
            head: LogHead { seq, id, ts },
            last_ts: row.last_ts,
            epoch: self.next_epoch(),
            ticket: 0,
        }))
    }
}

/// How long a transaction id's result is remembered for retries.
pub const TXN_RETENTION_MS: u64 = 24 * 3600 * 1000;
/// How often remembered transactions are pruned.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

impl Chats {
    /// Background upkeep until `shutdown` turns true: first learns the stored transaction ids
    /// (so that new writes need not look theirs up), then forgets those older than
    /// [`TXN_RETENTION_MS`].
    pub async fn maintain(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        match self.load_known_txns().await {
            Ok(n) => tracing::debug!(loaded = n, "chats: stored transaction ids known"),
            Err(e) => {
                tracing::warn!(error = %e, "chats: cannot read the stored transaction ids; each write asks the database")
            }
        }
        loop {
            let cutoff = Timestamp(now().millis().saturating_sub(TXN_RETENTION_MS));
            match self.db().chats().prune_txns(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(pruned = n, "chats: old transaction ids forgotten"),
                Err(e) => tracing::warn!(error = %e, "chats: pruning transaction ids failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(PRUNE_EVERY) => {}
                _ = shutdown.wait_for(|&stop| stop) => return,
            }
        }
    }
}

/// The stored snapshot of a group's state: plain CBOR of [`GroupState`]. It is the node's own
/// record, never sent or received (role ids are integer map keys, which the wire subset
/// refuses), so it is written and read with ciborium directly.
pub(crate) fn encode_state(state: &GroupState) -> Result<Vec<u8>, ChatError> {
    let mut bytes = Vec::new();
    ciborium::into_writer(state, &mut bytes).map_err(ChatError::internal)?;
    Ok(bytes)
}

/// Reads a snapshot written by [`encode_state`].
pub(crate) fn decode_state(bytes: &[u8], group: &GroupId) -> Result<GroupState, ChatError> {
    ciborium::from_reader(bytes)
        .map_err(|e| ChatError::internal(format!("stored state of {group} does not decode: {e}")))
}

impl Chats {
    /// Fans each [`Notice`] out to the contacts of its user until `shutdown` turns true.
    pub async fn relay(
        self,
        mut notices: tokio::sync::mpsc::Receiver<Notice>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            let notice = tokio::select! {
                notice = notices.recv() => match notice {
                    Some(notice) => notice,
                    None => return,
                },
                _ = shutdown.wait_for(|&stop| stop) => return,
            };
            match self
                .db()
                .chats()
                .contacts(&notice.user, PRESENCE_MAX_GROUP, PRESENCE_MAX_CONTACTS)
                .await
            {
                Ok(contacts) if !contacts.is_empty() => {
                    self.push(&contacts, notice.event, &notice.data);
                    self.share_notice(&notice, &contacts);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "chats: cannot relay a presence change"),
            }
        }
    }

    /// `presence.get`: the presence of the asked users who share a chat with `actor` (or are
    /// `actor`), in the order asked.
    pub async fn presence(
        &self,
        actor: &UserId,
        users: &[UserId],
    ) -> Result<PresenceList, ChatError> {
        if users.is_empty() || users.len() > gateway::MAX_PRESENCE_USERS {
            return Err(ChatError::BadRequest(format!(
                "ask about 1 to {} users",
                gateway::MAX_PRESENCE_USERS
            )));
        }
        let contacts: std::collections::HashSet<UserId> = self
            .db()
            .chats()
            .contacts(actor, PRESENCE_MAX_GROUP, PRESENCE_MAX_CONTACTS)
            .await?
            .into_iter()
            .collect();
        let mut seen = std::collections::HashSet::new();
        let presence = users
            .iter()
            .filter(|u| (*u == actor || contacts.contains(*u)) && seen.insert(*u))
            .map(|user| {
                let (status, last_seen) = if user.node() == self.node() {
                    self.inner.pusher.presence_of(user)
                } else {
                    self.remote_presence(user)
                };
                PresencePush {
                    user: user.clone(),
                    status,
                    last_seen: if status == Status::Offline {
                        last_seen
                    } else {
                        None
                    },
                }
            })
            .collect();
        Ok(PresenceList { presence })
    }
}

/// The current time.
pub(crate) fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Timestamp(millis)
}

/// `n` random characters of `a-z0-9`.
pub(crate) fn random_text(n: usize) -> Result<String, ChatError> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(ChatError::internal)?;
    // 256 % 36 = 4: the first four letters are a little likelier; harmless for ids.
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}
