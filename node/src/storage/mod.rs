//! Durable storage: the node's identity, the group logs, the federation outbox and known peers.
//!
//! Everything above this module reaches the database only through the per-aggregate traits
//! defined here ([`NodeIdentityStore`], [`EventLog`], [`Outbox`], [`PeerStore`],
//! [`FaultStore`]). There is one
//! implementation per backend — [`sqlite`] (the default: one file in the data directory) and
//! [`postgres`] — and one test suite (`testkit/tests/storage.rs`) runs against both.
//!
//! [`open`] parses the configured URL, connects, applies the migrations in `migrations/sqlite`
//! or `migrations/postgres`, and returns a cheap-to-clone [`Database`] handle.
//!
//! Identifiers are stored as their canonical text and parsed again on every read; a stored
//! value that does not parse is reported as [`StorageError::Corrupt`], never a panic.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest as _, Sha256};
use winichat_protocol::Timestamp;
use winichat_protocol::federation::document::KeyHistory;
use winichat_protocol::ids::{EventId, GroupId, NodeName};

pub mod accounts;
pub mod admin;
pub(crate) mod batch;
pub mod chat_settings;
pub mod chats;
pub mod media;
pub mod postgres;
pub(crate) mod rows;
pub mod search;
pub mod sqlite;
pub mod stats;

/// File name of the default SQLite database inside the data directory.
pub const DEFAULT_SQLITE_FILE: &str = "winichat.db";

/// How long connecting to (or waiting for) the database may take before start-up gives up with
/// [`StorageError::Unreachable`]: long enough for a busy server, short enough that a typo in the
/// URL is reported at once rather than after a minute of silent retries.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a storage operation failed. `Display` is one human-readable line.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database URL is not one of the accepted forms. `url` is redacted (no password).
    #[error(
        "bad database URL {url:?}: expected \"sqlite\" (the default file in the data directory), \
         \"sqlite://PATH\" or \"postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE\""
    )]
    BadUrl {
        /// The URL as given, with any password replaced by `***`.
        url: String,
    },

    /// The database could not be opened or connected to. `url` is redacted (no password).
    #[error("cannot connect to database {url}: {reason}")]
    Unreachable {
        /// The URL as given, with any password replaced by `***`.
        url: String,
        /// What went wrong, e.g. `connection refused`.
        reason: String,
    },

    /// Applying the schema migrations failed (e.g. the database was migrated by a newer
    /// version of WiniChat, or a migration file was edited after it was applied).
    #[error("database migration failed: {0}")]
    Migration(String),

    /// The write collides with what is already stored: a unique key is taken (an event id, a
    /// `(group, seq)` position) or an append does not follow the log's head.
    #[error("storage conflict: {0}")]
    Conflict(String),

    /// The row the operation refers to does not exist.
    #[error("not found: {0}")]
    NotFound(String),

    /// This database was created for another node name or identity key.
    #[error(
        "this database belongs to node {stored_name} with identity key {stored_key}, \
         not to {expected_name} with key {expected_key}; use the right data directory or \
         database URL"
    )]
    IdentityMismatch {
        /// The node name recorded in the database.
        stored_name: String,
        /// The recorded public key, hex.
        stored_key: String,
        /// The node name this process runs as.
        expected_name: String,
        /// This process's public key, hex.
        expected_key: String,
    },

    /// A stored value does not parse (a malformed id, a key of the wrong length, a negative
    /// sequence number …): the database was edited by hand or damaged.
    #[error("corrupt value in database: {0}")]
    Corrupt(String),

    /// Any other database error, or a value that cannot be stored (e.g. a number that does
    /// not fit the column).
    #[error("database error: {0}")]
    Other(String),
}

/// An event to append to a group log. `raw` is the COSE_Sign1 exactly as signed; the other
/// fields are its envelope, duplicated in columns so reads need not decode it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The group whose log this event extends.
    pub group: GroupId,
    /// Position in the log: 1 for the first event, then `last + 1`.
    pub seq: u64,
    /// Hash of the signed payload.
    pub id: EventId,
    /// Id of the event at `seq - 1`; `None` for seq 1.
    pub prev: Option<EventId>,
    /// Home-node time of the event.
    pub ts: Timestamp,
    /// The sender's id, as text (a user, or the node itself for system events).
    pub sender: String,
    /// The event kind, e.g. `msg.post`.
    pub kind: String,
    /// The COSE_Sign1 bytes exactly as signed.
    pub raw: Vec<u8>,
}

/// An event read back from a group log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The group whose log holds this event.
    pub group: GroupId,
    /// Position in the log, from 1.
    pub seq: u64,
    /// Hash of the signed payload.
    pub id: EventId,
    /// Id of the event at `seq - 1`; `None` for seq 1.
    pub prev: Option<EventId>,
    /// Home-node time of the event.
    pub ts: Timestamp,
    /// The sender's id, as text.
    pub sender: String,
    /// The event kind, e.g. `msg.post`.
    pub kind: String,
    /// The COSE_Sign1 bytes exactly as stored.
    pub raw: Vec<u8>,
}

/// One pending delivery of one event to one remote node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Row id; ascending ids are the delivery order for a destination.
    pub id: i64,
    /// The node to deliver to.
    pub destination: NodeName,
    /// The event's group.
    pub group: GroupId,
    /// The event's position in its group log.
    pub seq: u64,
    /// The event to deliver (read it with [`EventLog::by_id`]).
    pub event_id: EventId,
    /// Failed delivery attempts so far.
    pub attempts: u32,
    /// Not due before this time.
    pub next_attempt_at: Timestamp,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the row was written (the event's `ts`).
    pub created_at: Timestamp,
}

/// The identity a database was created for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIdentity {
    /// The node's name.
    pub name: NodeName,
    /// The node's ed25519 public key.
    pub public_key: [u8; 32],
    /// When the identity was first recorded.
    pub created_at: Timestamp,
}

/// What this node knows about another node it federates with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The peer's name.
    pub node: NodeName,
    /// The ed25519 key published for that name.
    pub public_key: [u8; 32],
    /// When the key was fetched.
    pub fetched_at: Timestamp,
    /// Consecutive failed connection attempts (drives the reconnect backoff).
    pub failures: u32,
    /// Do not try to connect before this time.
    pub retry_at: Timestamp,
    /// Why the last connection attempt failed; cleared by [`PeerStore::record_contact`].
    pub last_error: Option<String>,
    /// When the peer last reached us or answered us; `None` if never since it was stored.
    pub last_contact_at: Option<Timestamp>,
}

/// The outbox backlog of one destination, for operators ([`Outbox::status`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxStatus {
    /// The node the rows are for.
    pub destination: NodeName,
    /// How many rows wait for it.
    pub depth: u64,
    /// The `created_at` of its oldest row (the event time of the oldest undelivered event).
    pub oldest_created_at: Timestamp,
    /// The error of the first row (in delivery order) whose last attempt failed: the row the
    /// sender is stuck on, if any.
    pub last_error: Option<String>,
    /// The most failed attempts of any of its rows.
    pub max_attempts: u32,
}

/// A digest of a group's log as held here ([`EventLog::log_hash`]): two nodes with equal
/// `LogHash`es hold the same events, byte for byte, up to `head`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogHash {
    /// The last seq included (the log's head when it was read).
    pub head: u64,
    /// SHA-256 over every event from seq 1 to `head` (see [`LogHasher`]).
    pub hash: [u8; 32],
}

/// The streaming fold behind [`LogHash`]: SHA-256 over, for each event in seq order, the seq
/// as 8 bytes big-endian, the length of the raw COSE_Sign1 as 4 bytes big-endian, then the raw
/// bytes. The length prefix keeps the concatenation unambiguous. Events must be pushed in
/// order from seq 1 without gaps.
#[derive(Debug, Clone, Default)]
pub struct LogHasher {
    digest: Sha256,
    head: u64,
}

impl LogHasher {
    /// An empty fold (no event yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the event at `seq`. [`StorageError::Corrupt`] if `seq` does not follow the last
    /// pushed one, or `raw` is longer than a 4-byte length can say.
    pub fn push(&mut self, seq: u64, raw: &[u8]) -> Result<(), StorageError> {
        if Some(seq) != self.head.checked_add(1) {
            return Err(StorageError::Corrupt(format!(
                "log hash: seq {seq} does not follow seq {}",
                self.head
            )));
        }
        let len = u32::try_from(raw.len()).map_err(|_| {
            StorageError::Corrupt(format!("log hash: event {seq} has {} bytes", raw.len()))
        })?;
        self.digest.update(seq.to_be_bytes());
        self.digest.update(len.to_be_bytes());
        self.digest.update(raw);
        self.head = seq;
        Ok(())
    }

    /// The hash of the events pushed so far; `None` if there were none.
    pub fn finish(self) -> Option<LogHash> {
        (self.head > 0).then(|| LogHash {
            head: self.head,
            hash: self.digest.finalize().into(),
        })
    }
}

/// Events read per query while hashing a log: bounds memory whatever the log's length.
const LOG_HASH_PAGE: u32 = 256;

/// What is wrong with a group's log as a replica sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// The home node signed two different events at one seq (equivocation).
    Forked,
    /// The home node signed an event the rules forbid; this replica refused it.
    Diverged,
}

impl FaultKind {
    /// The stored and displayed form: `"forked"` or `"diverged"`.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Forked => "forked",
            FaultKind::Diverged => "diverged",
        }
    }
}

impl std::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FaultKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "forked" => Ok(FaultKind::Forked),
            "diverged" => Ok(FaultKind::Diverged),
            other => Err(format!("unknown fault kind {other:?}")),
        }
    }
}

/// Evidence that a group's home misbehaved, kept for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupFault {
    /// The group.
    pub group: GroupId,
    /// The seq the fault is at.
    pub seq: u64,
    /// Fork or divergence.
    pub kind: FaultKind,
    /// Why, in words (e.g. the rule that refused the event).
    pub reason: String,
    /// The event this node holds at `seq`, exactly as stored; `None` if it holds none there
    /// (a refused next event).
    pub held_raw: Option<Vec<u8>>,
    /// The conflicting or refused event, exactly as received.
    pub offending_raw: Vec<u8>,
    /// When the fault was detected.
    pub at: Timestamp,
}

/// The node identity a database belongs to.
#[async_trait::async_trait]
pub trait NodeIdentityStore: Send + Sync {
    /// The recorded identity, or `None` on a fresh database.
    async fn get(&self) -> Result<Option<NodeIdentity>, StorageError>;

    /// Records the identity. [`StorageError::Conflict`] if one is already recorded: an identity
    /// is written once and never replaced.
    async fn insert(&self, identity: &NodeIdentity) -> Result<(), StorageError>;

    /// Replaces the recorded key after a key rotation the caller checked.
    async fn replace_key(&self, public_key: &[u8; 32]) -> Result<(), StorageError>;
}

/// The append-only group logs.
#[async_trait::async_trait]
pub trait EventLog: Send + Sync {
    /// Appends `event` and queues it for each of `outbox_destinations`, in one transaction.
    ///
    /// The event must be the next one: `event.seq == last_seq + 1` (seq 1 creates the group's
    /// row). Otherwise — the position is taken, there is a gap, or the event id is already
    /// stored — nothing is written and [`StorageError::Conflict`] is returned. Of several
    /// concurrent appends at the same position exactly one succeeds. Duplicate destinations
    /// are written once.
    async fn append(
        &self,
        event: &NewEvent,
        outbox_destinations: &[NodeName],
    ) -> Result<(), StorageError>;

    /// The home nodes of the groups stored here, but `me`: whose replicas this node keeps.
    async fn homes_other_than(&self, me: &NodeName) -> Result<Vec<NodeName>, StorageError>;

    /// The groups homed on `home` stored here, each with its head seq here, by group id.
    async fn heads_homed_at(&self, home: &NodeName) -> Result<Vec<(GroupId, u64)>, StorageError>;

    /// The latest `ts` of the events of the groups homed on `home` (the events `home` signed),
    /// or `None` if there are none. Reads every such event: for `keys rotate`, not hot paths.
    async fn newest_ts_homed_at(&self, home: &NodeName) -> Result<Option<Timestamp>, StorageError>;

    /// The head of the group's log, or `None` if no event of the group is stored.
    async fn last(&self, group: &GroupId) -> Result<Option<(u64, EventId)>, StorageError>;

    /// Up to `limit` events with `seq >= from_seq`, ascending. Page forwards with
    /// `from_seq = last returned seq + 1`.
    async fn range(
        &self,
        group: &GroupId,
        from_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StorageError>;

    /// Up to `limit` events with `seq < before_seq`, descending. Page backwards with
    /// `before_seq = last returned seq`.
    async fn range_back(
        &self,
        group: &GroupId,
        before_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StorageError>;

    /// The event with this id, if stored.
    async fn by_id(&self, id: &EventId) -> Result<Option<StoredEvent>, StorageError>;

    /// The stored events among `ids`, in the order of `ids`, read in one query (an outbox
    /// batch); ids with no stored event are left out, an id named twice comes once.
    async fn by_ids(&self, ids: &[EventId]) -> Result<Vec<StoredEvent>, StorageError>;

    /// The event at `seq` of the group, if stored.
    async fn at(&self, group: &GroupId, seq: u64) -> Result<Option<StoredEvent>, StorageError> {
        let page = self.range(group, seq, 1).await?;
        Ok(page.into_iter().next().filter(|e| e.seq == seq))
    }

    /// The [`LogHash`] of the group's log from seq 1 to its current head, read in pages of
    /// bounded size; `None` if no event of the group is stored. Events appended while it runs
    /// are not included (the head is read first). A gap in the stored log is
    /// [`StorageError::Corrupt`].
    async fn log_hash(&self, group: &GroupId) -> Result<Option<LogHash>, StorageError> {
        let Some((head, _)) = self.last(group).await? else {
            return Ok(None);
        };
        let mut hasher = LogHasher::new();
        let mut next = 1;
        while next <= head {
            let limit = u32::try_from(head - next + 1)
                .unwrap_or(u32::MAX)
                .min(LOG_HASH_PAGE);
            let page = self.range(group, next, limit).await?;
            if page.is_empty() {
                return Err(StorageError::Corrupt(format!(
                    "group {group}: head is seq {head} but no event from seq {next} is stored"
                )));
            }
            for event in &page {
                hasher.push(event.seq, &event.raw)?;
                next = event.seq + 1;
            }
        }
        Ok(hasher.finish())
    }
}

/// The durable per-destination federation outbox. Rows are written by [`EventLog::append`].
#[async_trait::async_trait]
pub trait Outbox: Send + Sync {
    /// Up to `limit` rows for `destination` with `next_attempt_at <= now`, in id (delivery)
    /// order. A deferred row is skipped while later ones may be due: a sender that must keep
    /// strict order defers the whole batch, not one row. Cheap when rows are due; ask
    /// [`Outbox::destinations_with_due`] first rather than polling idle destinations.
    async fn due(
        &self,
        destination: &NodeName,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, StorageError>;

    /// Deletes the rows of `destination` for `event_ids` (delivered, or rejected for good).
    /// Returns how many rows were deleted; ids with no row are ignored.
    async fn ack(&self, destination: &NodeName, event_ids: &[EventId])
    -> Result<u64, StorageError>;

    /// Records a failed attempt of row `id`: `attempts + 1`, the error, and when to retry.
    /// [`StorageError::NotFound`] if the row is gone (acknowledged meanwhile).
    async fn defer(
        &self,
        id: i64,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<(), StorageError>;

    /// Destinations with at least one row due at `now`, sorted by name.
    async fn destinations_with_due(&self, now: Timestamp) -> Result<Vec<NodeName>, StorageError>;

    /// Makes every row of `destination` due now and forgets its failed attempts (used when the
    /// peer contacts us or answers again: it is back, so waiting out the backoff would only
    /// delay delivery, and its next failure backs off from the first step). Returns how many
    /// rows changed.
    async fn reset_backoff(&self, destination: &NodeName) -> Result<u64, StorageError>;

    /// One [`OutboxStatus`] per destination that has rows, sorted by destination.
    async fn status(&self) -> Result<Vec<OutboxStatus>, StorageError>;

    /// How many rows wait for `destination` (due or not).
    async fn depth(&self, destination: &NodeName) -> Result<u64, StorageError>;

    /// Whether any row of `group` waits for `destination`.
    async fn has_pending(
        &self,
        destination: &NodeName,
        group: &GroupId,
    ) -> Result<bool, StorageError>;
}

/// Known peers and their keys.
#[async_trait::async_trait]
pub trait PeerStore: Send + Sync {
    /// The stored peer, if any.
    async fn get(&self, node: &NodeName) -> Result<Option<Peer>, StorageError>;

    /// Inserts or replaces the peer. A `last_contact_at` of `None` keeps the stored one, so
    /// refreshing a key does not forget when the peer was last heard from.
    async fn put(&self, peer: &Peer) -> Result<(), StorageError>;

    /// Records that `node` reached us or answered us at `at`: sets `last_contact_at` and
    /// clears the reconnect backoff (`failures`, `retry_at`, `last_error`). Returns `false`,
    /// recording nothing, if the peer is not stored ([`PeerStore::put`] it first).
    async fn record_contact(&self, node: &NodeName, at: Timestamp) -> Result<bool, StorageError>;

    /// Records a failed connection attempt to `node`: `failures + 1`, the error, and when to
    /// try again. Returns `false`, recording nothing, if the peer is not stored.
    async fn record_failure(
        &self,
        node: &NodeName,
        error: &str,
        retry_at: Timestamp,
    ) -> Result<bool, StorageError>;

    /// Every stored peer, sorted by name.
    async fn list(&self) -> Result<Vec<Peer>, StorageError>;
}

/// Forks and divergences of replicated groups: the evidence, and each group's current state.
#[async_trait::async_trait]
pub trait FaultStore: Send + Sync {
    /// Stores `fault` and marks its group (a group already `forked` stays so: a fork is the
    /// graver fault), in one transaction. A group not stored yet gets its row. Returns `false`
    /// if the same evidence (group, seq, kind, offending bytes) was already recorded, so the
    /// operator is told once.
    async fn record_fault(&self, fault: &GroupFault) -> Result<bool, StorageError>;

    /// The evidence recorded for `group`, oldest first.
    async fn faults(&self, group: &GroupId) -> Result<Vec<GroupFault>, StorageError>;

    /// The group's current fault; `None` when its log is consistent (or it is unknown).
    async fn group_fault(&self, group: &GroupId) -> Result<Option<FaultKind>, StorageError>;

    /// Every group marked with a fault, sorted by group id.
    async fn faulty_groups(&self) -> Result<Vec<(GroupId, FaultKind)>, StorageError>;

    /// Up to `limit` recorded faults of all groups, newest first.
    async fn all_faults(&self, limit: u32) -> Result<Vec<GroupFault>, StorageError>;
}

/// A handle to the node's database. Cheap to clone: the connection pool is shared.
#[derive(Debug, Clone)]
pub struct Database {
    backend: Arc<Backend>,
    /// The URL with any password redacted, for logs.
    url: Arc<str>,
}

#[derive(Debug)]
enum Backend {
    Sqlite(sqlite::SqliteStorage),
    Postgres(postgres::PgStorage),
}

impl Database {
    /// The node identity store.
    pub fn node_identity(&self) -> &dyn NodeIdentityStore {
        match &*self.backend {
            Backend::Sqlite(s) => s,
            Backend::Postgres(s) => s,
        }
    }

    /// The group logs.
    pub fn events(&self) -> &dyn EventLog {
        match &*self.backend {
            Backend::Sqlite(s) => s,
            Backend::Postgres(s) => s,
        }
    }

    /// The federation outbox.
    pub fn outbox(&self) -> &dyn Outbox {
        match &*self.backend {
            Backend::Sqlite(s) => s,
            Backend::Postgres(s) => s,
        }
    }

    /// Known peers.
    pub fn peers(&self) -> &dyn PeerStore {
        match &*self.backend {
            Backend::Sqlite(s) => s,
            Backend::Postgres(s) => s,
        }
    }

    /// Forks and divergences of replicated groups.
    pub fn faults(&self) -> &dyn FaultStore {
        match &*self.backend {
            Backend::Sqlite(s) => s,
            Backend::Postgres(s) => s,
        }
    }

    /// Users, sessions, refresh and registration tokens.
    pub fn accounts(&self) -> &dyn accounts::AccountStore {
        match &*self.backend {
            Backend::Sqlite(s) => s,
            Backend::Postgres(s) => s,
        }
    }

    /// What operators change: account flags, listings, tombstones, federation lists.
    pub fn admin(&self) -> &dyn admin::AdminStore {
        match &*self.backend {
            Backend::Sqlite(s) => s,
            Backend::Postgres(s) => s,
        }
    }

    /// Chats: the projection of the group logs.
    pub fn chats(&self) -> &dyn chats::ChatStore {
        match &*self.backend {
            Backend::Sqlite(s) => s,
            Backend::Postgres(s) => s,
        }
    }

    /// Message search.
    pub fn search(&self) -> &dyn search::SearchStore {
        match &*self.backend {
            Backend::Sqlite(s) => s,
            Backend::Postgres(s) => s,
        }
    }

    /// Users' own settings of their chats (mute, pin).
    pub fn chat_settings(&self) -> &dyn chat_settings::ChatSettingsStore {
        match &*self.backend {
            Backend::Sqlite(s) => s,
            Backend::Postgres(s) => s,
        }
    }

    /// Uploaded media, its uploaders and its references.
    pub fn media(&self) -> &dyn media::MediaStore {
        match &*self.backend {
            Backend::Sqlite(s) => s,
            Backend::Postgres(s) => s,
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match &*self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The database URL with any password redacted, fit for logs.
    pub fn display_url(&self) -> &str {
        &self.url
    }

    /// Checks the database answers a trivial query (for `/healthz`).
    pub async fn ping(&self) -> Result<(), StorageError> {
        match &*self.backend {
            Backend::Sqlite(s) => s.ping().await,
            Backend::Postgres(s) => s.ping().await,
        }
    }

    /// Closes the pool, waiting for connections in use to be returned. Later calls on any
    /// clone of this handle fail.
    pub async fn close(&self) {
        match &*self.backend {
            Backend::Sqlite(s) => s.close().await,
            Backend::Postgres(s) => s.close().await,
        }
    }

    /// Records `node` and `public_key` as this database's identity on first start; on later
    /// starts checks they match, and returns [`StorageError::IdentityMismatch`] if not, so a
    /// node never serves another node's data (or its own data under a new key).
    pub async fn check_identity(
        &self,
        node: &NodeName,
        public_key: &[u8; 32],
    ) -> Result<(), StorageError> {
        self.check_identity_rotated(node, public_key, None).await
    }

    /// [`Database::check_identity`] for a node whose key may have been rotated: a database
    /// recorded under an earlier key of `history` (the node's verified rotations, whose
    /// current key is `public_key`) is this node's, and is moved to the current key, so the
    /// retired key can never open it again.
    pub async fn check_identity_rotated(
        &self,
        node: &NodeName,
        public_key: &[u8; 32],
        history: Option<&KeyHistory>,
    ) -> Result<(), StorageError> {
        let store = self.node_identity();
        let stored = match store.get().await? {
            Some(stored) => stored,
            None => {
                let identity = NodeIdentity {
                    name: node.clone(),
                    public_key: *public_key,
                    created_at: now(),
                };
                match store.insert(&identity).await {
                    Ok(()) => return Ok(()),
                    // Another process recorded an identity between our read and our write:
                    // compare against that one.
                    Err(StorageError::Conflict(_)) => store.get().await?.ok_or_else(|| {
                        StorageError::Other("node identity vanished after a conflict".into())
                    })?,
                    Err(e) => return Err(e),
                }
            }
        };
        let rotated_from_stored = history.is_some_and(|history| {
            history.current.to_bytes() == *public_key
                && history
                    .earlier
                    .iter()
                    .any(|retired| retired.key.to_bytes() == stored.public_key)
        });
        if stored.name == *node && stored.public_key == *public_key {
            Ok(())
        } else if stored.name == *node && rotated_from_stored {
            tracing::info!(
                old_key = %hex(&stored.public_key),
                new_key = %hex(public_key),
                "the node key was rotated: the database now belongs to the new key"
            );
            store.replace_key(public_key).await
        } else {
            Err(StorageError::IdentityMismatch {
                stored_name: stored.name.to_string(),
                stored_key: hex(&stored.public_key),
                expected_name: node.to_string(),
                expected_key: hex(public_key),
            })
        }
    }
}

/// Opens the database named by `database_url`, creating and migrating it as needed.
///
/// Accepted forms: `""` or `"sqlite"` (the file `<data_dir>/winichat.db`), `sqlite://PATH`
/// (relative paths are relative to the working directory), and `postgres://…` /
/// `postgresql://…`. Anything else is [`StorageError::BadUrl`]. A database that cannot be
/// reached within [`CONNECT_TIMEOUT`] is [`StorageError::Unreachable`].
pub async fn open(database_url: &str, data_dir: &Path) -> Result<Database, StorageError> {
    let trimmed = database_url.trim();
    let (backend, shown) = if trimmed.is_empty() || trimmed == "sqlite" {
        let path = data_dir.join(DEFAULT_SQLITE_FILE);
        let shown = format!("sqlite://{}", path.display());
        (
            Backend::Sqlite(sqlite::SqliteStorage::open(&path, &shown).await?),
            shown,
        )
    } else if let Some(path) = trimmed.strip_prefix("sqlite://") {
        let shown = redact_url(trimmed);
        // Query parameters are not supported: every pragma that matters is fixed by us.
        if path.is_empty() || path.contains('?') {
            return Err(StorageError::BadUrl { url: shown });
        }
        (
            Backend::Sqlite(sqlite::SqliteStorage::open(Path::new(path), &shown).await?),
            shown,
        )
    } else if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        let shown = redact_url(trimmed);
        (
            Backend::Postgres(postgres::PgStorage::open(trimmed, &shown).await?),
            shown,
        )
    } else {
        return Err(StorageError::BadUrl {
            url: redact_url(trimmed),
        });
    };
    Ok(Database {
        backend: Arc::new(backend),
        url: shown.into(),
    })
}

/// `url` with the password (in the user-info part or a `password=` query parameter) replaced
/// by `***`, so it can be logged and shown in errors.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            // The user-info ends at the *last* '@': a password may itself contain '@'.
            let authority = match authority.rsplit_once('@') {
                Some((userinfo, host)) => match userinfo.split_once(':') {
                    Some((user, _password)) => format!("{user}:***@{host}"),
                    None => format!("{userinfo}@{host}"),
                },
                None => authority.to_owned(),
            };
            format!("{scheme}://{authority}{path}")
        }
        None => base.to_owned(),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// The current time, in the storage layer's only use of the clock (recording when the
/// identity was first seen).
fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    Timestamp(ms)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Maps a sqlx error from a query to a [`StorageError`]: unique violations become
/// [`StorageError::Conflict`], undecodable columns [`StorageError::Corrupt`].
pub(crate) fn db_error(e: sqlx::Error) -> StorageError {
    match e {
        sqlx::Error::Database(ref db) if db.is_unique_violation() => {
            StorageError::Conflict(db.message().to_owned())
        }
        sqlx::Error::RowNotFound => StorageError::NotFound("row".into()),
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            StorageError::Corrupt(e.to_string())
        }
        other => StorageError::Other(other.to_string()),
    }
}

/// A connect-time sqlx error as one line, e.g. `connection refused`.
pub(crate) fn connect_reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".into()
        }
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(db) => db.message().to_owned(),
        sqlx::Error::PoolTimedOut => format!("timed out after {}s", CONNECT_TIMEOUT.as_secs()),
        other => other.to_string(),
    }
}

/// Parses a stored identifier, reporting failure as corruption (never a panic).
pub(crate) fn parse_stored<T: FromStr>(text: &str, column: &str) -> Result<T, StorageError>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| StorageError::Corrupt(format!("{column} {text:?}: {e}")))
}

/// A stored integer that must be non-negative, as `u64`.
pub(crate) fn stored_u64(v: i64, column: &str) -> Result<u64, StorageError> {
    u64::try_from(v).map_err(|_| StorageError::Corrupt(format!("{column} is negative: {v}")))
}

/// A stored integer that must fit `u32`.
pub(crate) fn stored_u32(v: i64, column: &str) -> Result<u32, StorageError> {
    u32::try_from(v).map_err(|_| StorageError::Corrupt(format!("{column} out of range: {v}")))
}

/// A stored key that must be 32 bytes.
pub(crate) fn stored_key(v: Vec<u8>, column: &str) -> Result<[u8; 32], StorageError> {
    <[u8; 32]>::try_from(v.as_slice())
        .map_err(|_| StorageError::Corrupt(format!("{column} has {} bytes, expected 32", v.len())))
}

/// A value to store in a signed 64-bit column (both backends use `i64`).
pub(crate) fn to_i64(v: u64, what: &str) -> Result<i64, StorageError> {
    i64::try_from(v).map_err(|_| StorageError::Other(format!("{what} {v} does not fit in i64")))
}
