//! Raw rows as both backends return them, and their checked conversion to the public types.
//!
//! Column types are chosen to decode identically from SQLite and PostgreSQL (`i64` for
//! BIGINT/INTEGER, `i32` for INTEGER counters, `Vec<u8>` for BLOB/BYTEA), so the conversion —
//! where stored text is parsed back into identifiers — is written once.

use winichat_protocol::Timestamp;
use winichat_protocol::ids::GroupId;

use super::{
    NodeIdentity, OutboxEntry, Peer, StorageError, StoredEvent, parse_stored, stored_key,
    stored_u32, stored_u64,
};

/// The columns of `events`, in [`EventRow`] order, as a literal so queries stay `&'static str`.
macro_rules! event_columns {
    () => {
        "group_id, seq, event_id, prev_id, ts, sender, kind, raw"
    };
}
pub(crate) use event_columns;

/// A row of `events`.
#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    pub group_id: String,
    pub seq: i64,
    pub event_id: String,
    pub prev_id: Option<String>,
    pub ts: i64,
    pub sender: String,
    pub kind: String,
    pub raw: Vec<u8>,
}

impl TryFrom<EventRow> for StoredEvent {
    type Error = StorageError;
    fn try_from(r: EventRow) -> Result<Self, StorageError> {
        Ok(StoredEvent {
            group: parse_stored(&r.group_id, "events.group_id")?,
            seq: stored_u64(r.seq, "events.seq")?,
            id: parse_stored(&r.event_id, "events.event_id")?,
            prev: r
                .prev_id
                .as_deref()
                .map(|p| parse_stored(p, "events.prev_id"))
                .transpose()?,
            ts: Timestamp(stored_u64(r.ts, "events.ts")?),
            sender: r.sender,
            kind: r.kind,
            raw: r.raw,
        })
    }
}

/// Converts a batch of event rows, failing on the first corrupt one.
pub(crate) fn events(rows: Vec<EventRow>) -> Result<Vec<StoredEvent>, StorageError> {
    rows.into_iter().map(StoredEvent::try_from).collect()
}

/// A row of `outbox`.
#[derive(sqlx::FromRow)]
pub(crate) struct OutboxRow {
    pub id: i64,
    pub destination: String,
    pub group_id: String,
    pub seq: i64,
    pub event_id: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
}

impl TryFrom<OutboxRow> for OutboxEntry {
    type Error = StorageError;
    fn try_from(r: OutboxRow) -> Result<Self, StorageError> {
        Ok(OutboxEntry {
            id: r.id,
            destination: parse_stored(&r.destination, "outbox.destination")?,
            group: parse_stored(&r.group_id, "outbox.group_id")?,
            seq: stored_u64(r.seq, "outbox.seq")?,
            event_id: parse_stored(&r.event_id, "outbox.event_id")?,
            attempts: stored_u32(i64::from(r.attempts), "outbox.attempts")?,
            next_attempt_at: Timestamp(stored_u64(r.next_attempt_at, "outbox.next_attempt_at")?),
            last_error: r.last_error,
            created_at: Timestamp(stored_u64(r.created_at, "outbox.created_at")?),
        })
    }
}

/// A row of `node_identity`.
#[derive(sqlx::FromRow)]
pub(crate) struct IdentityRow {
    pub name: String,
    pub public_key: Vec<u8>,
    pub created_at: i64,
}

impl TryFrom<IdentityRow> for NodeIdentity {
    type Error = StorageError;
    fn try_from(r: IdentityRow) -> Result<Self, StorageError> {
        Ok(NodeIdentity {
            name: parse_stored(&r.name, "node_identity.name")?,
            public_key: stored_key(r.public_key, "node_identity.public_key")?,
            created_at: Timestamp(stored_u64(r.created_at, "node_identity.created_at")?),
        })
    }
}

/// A row of `peers`.
#[derive(sqlx::FromRow)]
pub(crate) struct PeerRow {
    pub node: String,
    pub public_key: Vec<u8>,
    pub fetched_at: i64,
    pub failures: i32,
    pub retry_at: i64,
    pub last_error: Option<String>,
}

impl TryFrom<PeerRow> for Peer {
    type Error = StorageError;
    fn try_from(r: PeerRow) -> Result<Self, StorageError> {
        Ok(Peer {
            node: parse_stored(&r.node, "peers.node")?,
            public_key: stored_key(r.public_key, "peers.public_key")?,
            fetched_at: Timestamp(stored_u64(r.fetched_at, "peers.fetched_at")?),
            failures: stored_u32(i64::from(r.failures), "peers.failures")?,
            retry_at: Timestamp(stored_u64(r.retry_at, "peers.retry_at")?),
            last_error: r.last_error,
        })
    }
}

/// The `(last_seq, last_event_id)` head of a group, `None` when no event is stored yet.
pub(crate) fn head(
    last_seq: i64,
    last_event_id: Option<String>,
) -> Result<Option<(u64, winichat_protocol::ids::EventId)>, StorageError> {
    let seq = stored_u64(last_seq, "groups.last_seq")?;
    match (seq, last_event_id) {
        (0, _) => Ok(None),
        (seq, Some(id)) => Ok(Some((seq, parse_stored(&id, "groups.last_event_id")?))),
        (seq, None) => Err(StorageError::Corrupt(format!(
            "groups.last_seq is {seq} but last_event_id is empty"
        ))),
    }
}

/// The conflict reported when an append does not follow the head `head` of `group`.
pub(crate) fn not_next(
    group: &GroupId,
    seq: u64,
    head: Option<(i64, Option<String>)>,
) -> StorageError {
    let head = match head {
        Some((last, Some(id))) => format!("the log ends at seq {last} ({id})"),
        Some((last, None)) => format!("the log ends at seq {last}"),
        None => "the group has no events".to_owned(),
    };
    StorageError::Conflict(format!(
        "group {group}: seq {seq} (with its prev) does not follow the head: {head}"
    ))
}
