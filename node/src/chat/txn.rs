//! Once per transaction id: a client's retry of a write (same user, same `txn`) gets the
//! original's result and never appends a second event.
//!
//! A result is remembered in the database in the event's own transaction, but with group
//! commit a write is sequenced before it is durable: a retry arriving in between would find
//! nothing stored. So a write first claims its `(user, txn)` in memory; a retry of a claimed
//! txn waits for the claim's outcome — the original's result, or its failure, after which the
//! retry runs as a write of its own. The claim is settled by whoever learns the outcome: the
//! commit pipeline once the event is durable (or refused), or the writer when it stops before
//! anything was queued.

use std::collections::HashMap;
use std::sync::Mutex as StdMutex;

use tokio::sync::watch;
use winichat_protocol::gateway::chat as api;
use winichat_protocol::ids::UserId;

use super::{ChatError, Chats};

type Key = (UserId, String);

/// Where a claimed transaction stands.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// Its write is running.
    Running,
    /// Its event is durable, with this result.
    Done(api::WriteResult),
    /// Its write stopped without an event: a retry runs afresh.
    Failed,
}

/// The transaction ids being written now.
#[derive(Debug, Default)]
pub(crate) struct InFlight(StdMutex<HashMap<Key, watch::Receiver<Outcome>>>);

impl InFlight {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Key, watch::Receiver<Outcome>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The claim of one `(user, txn)`: settled exactly once, by [`Claim::settle`] or on drop
/// (as failed).
#[derive(Debug)]
pub(crate) struct Claim {
    chats: Chats,
    key: Key,
    sender: Option<watch::Sender<Outcome>>,
}

impl Claim {
    /// The claimed transaction id.
    pub(crate) fn txn(&self) -> &str {
        &self.key.1
    }

    /// Ends the claim: later retries see `outcome` (then a fresh claim may be taken).
    pub(crate) fn settle(mut self, outcome: Outcome) {
        self.finish(outcome);
    }

    fn finish(&mut self, outcome: Outcome) {
        if let Some(sender) = self.sender.take() {
            // Removed first: a retry woken by the outcome must be able to claim again.
            self.chats.inner.in_flight.map().remove(&self.key);
            sender.send_replace(outcome);
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.finish(Outcome::Failed);
    }
}

impl Chats {
    /// Runs `write` once per `actor`'s `txn`: a txn already written answers with its
    /// remembered result, one being written now waits for it.
    pub(crate) async fn once_per_txn(
        &self,
        actor: &UserId,
        txn: &str,
        write: impl AsyncFnOnce(Claim) -> Result<api::WriteResult, ChatError>,
    ) -> Result<api::WriteResult, ChatError> {
        super::write::check_txn(txn)?;
        let claim = self.claim(actor, txn).await?;
        let claim = match claim {
            Claimed::New(claim) => claim,
            Claimed::Done(result) => return Ok(result),
        };
        if let Some(result) = self.remembered(actor, txn).await? {
            claim.settle(Outcome::Done(result.clone()));
            return Ok(result);
        }
        write(claim).await
    }

    async fn claim(&self, actor: &UserId, txn: &str) -> Result<Claimed, ChatError> {
        let key = (actor.clone(), txn.to_owned());
        // Bounded: each round either claims or waits for a claim that then ends.
        loop {
            let mut waiting = {
                let mut map = self.inner.in_flight.map();
                match map.get(&key) {
                    Some(receiver) => receiver.clone(),
                    None => {
                        let (sender, receiver) = watch::channel(Outcome::Running);
                        map.insert(key.clone(), receiver);
                        return Ok(Claimed::New(Claim {
                            chats: self.clone(),
                            key,
                            sender: Some(sender),
                        }));
                    }
                }
            };
            let outcome = match waiting.wait_for(|o| !matches!(o, Outcome::Running)).await {
                Ok(outcome) => outcome.clone(),
                // The claim went away without a word: it failed.
                Err(_) => Outcome::Failed,
            };
            match outcome {
                Outcome::Done(result) => return Ok(Claimed::Done(result)),
                Outcome::Failed | Outcome::Running => {}
            }
        }
    }
}

enum Claimed {
    New(Claim),
    Done(api::WriteResult),
}
