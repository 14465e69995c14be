//! Delivery of committed events to member nodes (ARCHITECTURE "Delivery guarantees").
//!
//! The home writes one outbox row per destination in the event's own transaction. One sender
//! task per destination drains its rows in order as `push` batches, deletes what the peer
//! applied, already held or refused for good, and on failure defers the whole batch with a
//! capped exponential backoff — reset when the peer contacts us.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use winichat_protocol::Timestamp;
use winichat_protocol::codec::Limits;
use winichat_protocol::federation::methods::{
    MAX_PUSH_EVENTS, PushOutcome, PushParams, PushResult, method,
};
use winichat_protocol::gateway;
use winichat_protocol::ids::{EventId, NodeName};

use super::FedClient;
use crate::storage::{Database, OutboxEntry};

/// The first retry waits this long; each further failure doubles it …
const BACKOFF_START_MS: u64 = 1000;
/// … up to this.
const BACKOFF_MAX_MS: u64 = 5 * 60 * 1000;
/// An idle sender looks again this often (deferred rows fall due without a wake-up).
const IDLE_POLL: Duration = Duration::from_millis(500);
/// Room kept in a push for the request's envelope.
const PUSH_ENVELOPE: usize = 16 * 1024;

/// The outbox senders of this node, one task per destination, started on first need.
#[derive(Clone)]
pub struct Senders {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Senders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Senders").finish_non_exhaustive()
    }
}

struct Inner {
    db: Database,
    client: Arc<dyn FedClient>,
    shutdown: watch::Receiver<bool>,
    tasks: Mutex<HashMap<NodeName, Arc<Notify>>>,
    /// Destinations whose rows may be waiting out a backoff: only for these does a contact
    /// cost a database write.
    backed_off: Mutex<std::collections::HashSet<NodeName>>,
    /// When each peer's last contact was written to the `peers` table (for `federation
    /// status`); written at most every [`CONTACT_RECORD_EVERY_MS`].
    contacts: Mutex<HashMap<NodeName, Timestamp>>,
    clock: fn() -> Timestamp,
}

/// A peer's last contact is written to the database at most this often.
const CONTACT_RECORD_EVERY_MS: u64 = 10_000;

impl Senders {
    /// Senders over `db`'s outbox through `client`, until `shutdown` turns true. Destinations
    /// with rows left from before a restart start at once.
    pub fn start(
        db: Database,
        client: Arc<dyn FedClient>,
        shutdown: watch::Receiver<bool>,
        clock: fn() -> Timestamp,
    ) -> Senders {
        let senders = Senders {
            inner: Arc::new(Inner {
                db,
                client,
                shutdown,
                tasks: Mutex::new(HashMap::new()),
                backed_off: Mutex::new(std::collections::HashSet::new()),
                contacts: Mutex::new(HashMap::new()),
                clock,
            }),
        };
        let resume = senders.clone();
        tokio::spawn(async move {
            match resume
                .inner
                .db
                .outbox()
                .destinations_with_due(Timestamp(u64::MAX / 2))
                .await
            {
                Ok(destinations) => {
                    for destination in destinations {
                        // Rows left from before may carry a backoff.
                        resume.inner.note_backoff(&destination);
                        resume.wake(&destination);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "federation: cannot read the outbox"),
            }
        });
        senders
    }

    /// Rows were queued for `destination`: make sure its sender runs and looks now.
    pub fn wake(&self, destination: &NodeName) {
        let notify = {
            let mut tasks = self
                .inner
                .tasks
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(notify) = tasks.get(destination) {
                notify.clone()
            } else {
                let notify = Arc::new(Notify::new());
                tasks.insert(destination.clone(), notify.clone());
                let inner = self.inner.clone();
                let destination = destination.clone();
                let wakeups = notify.clone();
                tokio::spawn(async move { run(inner, destination, wakeups).await });
                notify
            }
        };
        notify.notify_one();
    }

    /// `destination` reached us: it is up, so what waits for it goes now.
    pub fn contacted(&self, destination: &NodeName) {
        self.record_contact(destination);
        let was_backed_off = self
            .inner
            .backed_off
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(destination);
        if !was_backed_off {
            return;
        }
        let senders = self.clone();
        let destination = destination.clone();
        tokio::spawn(async move {
            match senders.inner.db.outbox().reset_backoff(&destination).await {
                Ok(0) => {}
                Ok(_) => senders.wake(&destination),
                Err(e) => {
                    tracing::debug!(%destination, error = %e, "federation: backoff reset failed")
                }
            }
        });
    }
}

impl Senders {
    /// Writes `peer`'s last contact to the `peers` table, at most every
    /// [`CONTACT_RECORD_EVERY_MS`] (with its key, so the row exists for pinned peers too).
    fn record_contact(&self, peer: &NodeName) {
        let now = (self.inner.clock)();
        {
            let mut contacts = self
                .inner
                .contacts
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if contacts.get(peer).is_some_and(|at| {
                now.millis().saturating_sub(at.millis()) < CONTACT_RECORD_EVERY_MS
            }) {
                return;
            }
            if contacts.len() >= 4096 {
                contacts.clear();
            }
            contacts.insert(peer.clone(), now);
        }
        let inner = self.inner.clone();
        let peer = peer.clone();
        tokio::spawn(async move {
            let stored = async {
                if inner.db.peers().get(&peer).await?.is_none() {
                    let Ok(key) = inner.client.key_of(&peer).await else {
                        return Ok(());
                    };
                    inner
                        .db
                        .peers()
                        .put(&crate::storage::Peer {
                            node: peer.clone(),
                            public_key: key.to_bytes(),
                            fetched_at: now,
                            failures: 0,
                            retry_at: Timestamp(0),
                            last_error: None,
                            last_contact_at: Some(now),
                        })
                        .await?;
                }
                inner
                    .db
                    .peers()
                    .record_contact(&peer, now)
                    .await
                    .map(|_| ())
            };
            let stored: Result<(), crate::storage::StorageError> = stored.await;
            if let Err(e) = stored {
                tracing::debug!(%peer, error = %e, "federation: last contact not recorded");
            }
        });
    }
}

impl Inner {
    fn note_backoff(&self, destination: &NodeName) {
        self.backed_off
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(destination.clone());
    }
}

/// The capped exponential backoff after `attempts` failures.
pub fn backoff_ms(attempts: u32) -> u64 {
    let shift = attempts.min(20);
    BACKOFF_START_MS
        .saturating_mul(1u64 << shift)
        .min(BACKOFF_MAX_MS)
}

async fn run(inner: Arc<Inner>, destination: NodeName, wakeups: Arc<Notify>) {
    let mut shutdown = inner.shutdown.clone();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let sent = match deliver_once(&inner, &destination).await {
            Ok(sent) => sent,
            Err(e) => {
                tracing::warn!(%destination, error = %e, "federation: outbox read failed");
                false
            }
        };
        if sent {
            continue;
        }
        tokio::select! {
            _ = wakeups.notified() => {}
            _ = tokio::time::sleep(IDLE_POLL) => {}
            _ = shutdown.wait_for(|&stop| stop) => return,
        }
    }
}

/// Sends the due rows of `destination` as one push. True when something was delivered (look
/// again at once), false when nothing was due or the push failed (wait).
async fn deliver_once(
    inner: &Inner,
    destination: &NodeName,
) -> Result<bool, crate::storage::StorageError> {
    let now = (inner.clock)();
    // The oldest rows, due or not: the oldest decides (one backoff per destination), so
    // events never overtake each other.
    let due = inner
        .db
        .outbox()
        .due(
            destination,
            Timestamp(u64::MAX / 2),
            u32::try_from(MAX_PUSH_EVENTS).unwrap_or(256),
        )
        .await?;
    match due.first() {
        None => return Ok(false),
        Some(oldest) if oldest.next_attempt_at > now => return Ok(false),
        Some(_) => {}
    }
    let was_retry = due.iter().any(|row| row.attempts > 0);
    let budget = Limits::FEDERATION_FRAME.max_frame - PUSH_ENVELOPE;
    let mut batch: Vec<&OutboxEntry> = Vec::with_capacity(due.len());
    let mut events = Vec::with_capacity(due.len());
    let mut vanished = Vec::new();
    let mut used = 0;
    // The rows' events in one query, in row order (an event is stored once, so ids are
    // unique in `due`).
    let ids: Vec<EventId> = due.iter().map(|entry| entry.event_id).collect();
    let mut stored = inner.db.events().by_ids(&ids).await?.into_iter().peekable();
    for entry in &due {
        let Some(event) = stored.next_if(|event| event.id == entry.event_id) else {
            vanished.push(entry.event_id);
            continue;
        };
        if !events.is_empty() && used + event.raw.len() + 8 > budget {
            break;
        }
        used += event.raw.len() + 8;
        batch.push(entry);
        events.push(event.raw);
    }
    if !vanished.is_empty() {
        inner.db.outbox().ack(destination, &vanished).await?;
    }
    if batch.is_empty() {
        return Ok(!vanished.is_empty());
    }
    let params = match gateway::to_value(&PushParams { events }) {
        Ok(params) => params,
        Err(e) => {
            tracing::error!(error = %e, "federation: cannot encode a push");
            return Ok(false);
        }
    };
    let answer = inner
        .client
        .request(destination, method::PUSH, params)
        .await
        .map_err(|e| e.to_string())
        .and_then(|value| gateway::decode_params::<PushResult>(&value).map_err(|e| e.to_string()))
        .and_then(|result| {
            if result.outcomes.len() == batch.len() {
                Ok(result.outcomes)
            } else {
                Err(format!(
                    "{} outcomes for {} events",
                    result.outcomes.len(),
                    batch.len()
                ))
            }
        });
    match answer {
        Ok(outcomes) => {
            let mut done: Vec<EventId> = Vec::with_capacity(batch.len());
            let mut retry = Vec::new();
            for (entry, outcome) in batch.iter().zip(&outcomes) {
                match outcome {
                    PushOutcome::Applied | PushOutcome::Duplicate => done.push(entry.event_id),
                    PushOutcome::Rejected => {
                        tracing::warn!(%destination, group = %entry.group, seq = entry.seq, "federation: peer refused an event; dropped from the outbox");
                        done.push(entry.event_id);
                    }
                    PushOutcome::Retry => retry.push(*entry),
                }
            }
            inner.db.outbox().ack(destination, &done).await?;
            if retry.is_empty() && was_retry {
                // The peer answers again: what waited behind the backoff goes now.
                inner.db.outbox().reset_backoff(destination).await?;
            }
            defer(inner, &retry, now, "the peer asked to retry").await?;
            Ok(retry.is_empty())
        }
        Err(reason) => {
            tracing::debug!(%destination, %reason, "federation: push failed; backing off");
            defer(inner, &batch, now, &reason).await?;
            Ok(false)
        }
    }
}

/// Defers `rows` by the backoff of the most-tried one, keeping their order.
async fn defer(
    inner: &Inner,
    rows: &[&OutboxEntry],
    now: Timestamp,
    reason: &str,
) -> Result<(), crate::storage::StorageError> {
    let Some(attempts) = rows.iter().map(|r| r.attempts).max() else {
        return Ok(());
    };
    if let Some(row) = rows.first() {
        inner.note_backoff(&row.destination);
    }
    let at = Timestamp(now.millis().saturating_add(backoff_ms(attempts)));
    for row in rows {
        match inner.db.outbox().defer(row.id, at, reason).await {
            Ok(()) | Err(crate::storage::StorageError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        assert_eq!(backoff_ms(0), 1000);
        assert_eq!(backoff_ms(1), 2000);
        assert_eq!(backoff_ms(5), 32_000);
        assert_eq!(backoff_ms(9), BACKOFF_MAX_MS);
        assert_eq!(backoff_ms(u32::MAX), BACKOFF_MAX_MS);
    }
}
