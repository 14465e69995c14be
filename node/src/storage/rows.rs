//! Raw rows as both backends return them, and their checked conversion to the public types.
//!
//! Column types are chosen to decode identically from SQLite and PostgreSQL (`i64` for
//! BIGINT/INTEGER, `i32` for INTEGER counters, `Vec<u8>` for BLOB/BYTEA), so the conversion —
//! where stored text is parsed back into identifiers — is written once.

use winichat_protocol::Timestamp;
use winichat_protocol::ids::{EventId, GroupId};

use sha2::{Digest as _, Sha256};

use super::{
    GroupFault, NodeIdentity, OutboxEntry, OutboxStatus, Peer, StorageError, StoredEvent,
    parse_stored, stored_key, stored_u32, stored_u64,
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

/// Converts event rows fetched by id (in any order) to the events of `ids`, in the order of
/// `ids`; ids with no row are left out, an id named twice comes once.
pub(crate) fn events_in_order_of(
    ids: &[EventId],
    rows: Vec<EventRow>,
) -> Result<Vec<StoredEvent>, StorageError> {
    let mut by_id: std::collections::HashMap<EventId, StoredEvent> = rows
        .into_iter()
        .map(|row| StoredEvent::try_from(row).map(|event| (event.id, event)))
        .collect::<Result<_, _>>()?;
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
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
    pub last_contact_at: Option<i64>,
}

/// The columns of `peers`, in [`PeerRow`] order.
macro_rules! peer_columns {
    () => {
        "node, public_key, fetched_at, failures, retry_at, last_error, last_contact_at"
    };
}
pub(crate) use peer_columns;

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
            last_contact_at: r
                .last_contact_at
                .map(|at| stored_u64(at, "peers.last_contact_at").map(Timestamp))
                .transpose()?,
        })
    }
}

/// One destination's aggregate over `outbox`.
#[derive(sqlx::FromRow)]
pub(crate) struct OutboxStatusRow {
    pub destination: String,
    pub depth: i64,
    pub oldest_created_at: i64,
    pub last_error: Option<String>,
    pub max_attempts: i32,
}

impl TryFrom<OutboxStatusRow> for OutboxStatus {
    type Error = StorageError;
    fn try_from(r: OutboxStatusRow) -> Result<Self, StorageError> {
        Ok(OutboxStatus {
            destination: parse_stored(&r.destination, "outbox.destination")?,
            depth: stored_u64(r.depth, "outbox count")?,
            oldest_created_at: Timestamp(stored_u64(r.oldest_created_at, "outbox.created_at")?),
            last_error: r.last_error,
            max_attempts: stored_u32(i64::from(r.max_attempts), "outbox.attempts")?,
        })
    }
}

/// The columns of `group_faults`, in [`FaultRow`] order.
macro_rules! fault_columns {
    () => {
        "group_id, seq, kind, reason, held_raw, offending_raw, at"
    };
}
pub(crate) use fault_columns;

/// A row of `group_faults`.
#[derive(sqlx::FromRow)]
pub(crate) struct FaultRow {
    pub group_id: String,
    pub seq: i64,
    pub kind: String,
    pub reason: String,
    pub held_raw: Option<Vec<u8>>,
    pub offending_raw: Vec<u8>,
    pub at: i64,
}

impl TryFrom<FaultRow> for GroupFault {
    type Error = StorageError;
    fn try_from(r: FaultRow) -> Result<Self, StorageError> {
        Ok(GroupFault {
            group: parse_stored(&r.group_id, "group_faults.group_id")?,
            seq: stored_u64(r.seq, "group_faults.seq")?,
            kind: parse_stored(&r.kind, "group_faults.kind")?,
            reason: r.reason,
            held_raw: r.held_raw,
            offending_raw: r.offending_raw,
            at: Timestamp(stored_u64(r.at, "group_faults.at")?),
        })
    }
}

/// Converts a batch of fault rows, failing on the first corrupt one.
pub(crate) fn faults(rows: Vec<FaultRow>) -> Result<Vec<GroupFault>, StorageError> {
    rows.into_iter().map(GroupFault::try_from).collect()
}

/// Converts `(group_id, fault)` rows of `groups`.
pub(crate) fn faulty_groups(
    rows: Vec<(String, String)>,
) -> Result<Vec<(GroupId, super::FaultKind)>, StorageError> {
    rows.into_iter()
        .map(|(g, f)| {
            Ok((
                parse_stored(&g, "groups.id")?,
                parse_stored(&f, "groups.fault")?,
            ))
        })
        .collect()
}

/// The lowercase hex SHA-256 of `bytes`: the dedup key of fault evidence.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The `(last_seq, last_event_id)` head of a group, `None` when no event is stored yet.
pub(crate) fn head(
    last_seq: i64,
    last_event_id: Option<String>,
) -> Result<Option<(u64, EventId)>, StorageError> {
    let seq = stored_u64(last_seq, "groups.last_seq")?;
    match (seq, last_event_id) {
        (0, _) => Ok(None),
        (seq, Some(id)) => Ok(Some((seq, parse_stored(&id, "groups.last_event_id")?))),
        (seq, None) => Err(StorageError::Corrupt(format!(
            "groups.last_seq is {seq} but last_event_id is empty"
        ))),
    }
}

/// What the conflict of [`not_next`] says, for telling it from other conflicts.
pub(crate) const NOT_NEXT: &str = "does not follow the head";

/// Whether `e` is the conflict of an append that did not follow its group's head.
pub(crate) fn is_not_next(e: &StorageError) -> bool {
    matches!(e, StorageError::Conflict(reason) if reason.contains(NOT_NEXT))
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
        "group {group}: seq {seq} (with its prev) {NOT_NEXT}: {head}"
    ))
}
