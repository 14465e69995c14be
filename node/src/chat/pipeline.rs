//! Group commit: every event this node stores — its own groups' and its replicas' — goes
//! through one queue. Whatever is queued when the database is free is written in ONE
//! transaction ([`crate::storage::chats::ChatStore::commit_all`]: one durable commit, one
//! fsync), each event in a savepoint of its own so that one refused event does not take the
//! others with it.
//!
//! A write is acknowledged only once its batch is durable, so the guarantee is the one a
//! transaction per event gave; only the fsyncs per event change. Events are queued under their
//! group's lock, in log order, and the queue is drained in order, so a group's events commit
//! and are pushed in log order — but the lock is not held while the batch commits: the next
//! write of the group is sequenced on top of the queued one at once.
//!
//! The cached state of a group may therefore run ahead of the database by the events still
//! queued. Each write that reads the projection (a message it acts on) first waits until the
//! group's queued events are durable ([`Chats::durable`]). When a queued event fails, the
//! events sequenced on top of it fail too (they do not follow the stored head), and the first
//! writer to learn of it drops the cached state, so the next write starts from the stored
//! head again ([`Chats::settle`]).

use std::collections::VecDeque;
use std::sync::Mutex as StdMutex;

use ciborium::Value;
use tokio::sync::{oneshot, watch};
use winichat_protocol::ids::{GroupId, UserId};

use winichat_protocol::gateway::chat as api;

use super::txn::{Claim, Outcome};
use super::{Chats, Loaded};
use crate::storage::StorageError;
use crate::storage::chats::Commit;
use crate::telemetry::names;

/// The most events written in one transaction: enough to amortise the fsync many times over,
/// few enough that the first waiter of a batch is not kept long.
const MAX_BATCH: usize = 512;

/// The queue of events waiting to be written.
#[derive(Debug)]
pub(crate) struct Pipeline {
    queue: StdMutex<Queue>,
    /// The highest ticket whose batch has been written (or has failed).
    settled: watch::Sender<u64>,
    /// How many batches were written (successfully or not): for tests and figures.
    batches: std::sync::atomic::AtomicU64,
}

#[derive(Debug, Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// The last ticket handed out; tickets count from 1.
    issued: u64,
    /// Whether a task is draining the queue now.
    draining: bool,
}

#[derive(Debug)]
struct Job {
    ticket: u64,
    commit: Commit,
    after: AfterCommit,
    done: oneshot::Sender<Result<(), StorageError>>,
}

/// What follows an event's durable commit, in log order: pushes to this node's users, and
/// the answer to the writer's transaction id.
#[derive(Debug, Default)]
pub(crate) struct AfterCommit {
    pub pushes: Vec<PushTo>,
    pub txn: Option<(Claim, api::WriteResult)>,
}

/// One push to some of this node's users.
#[derive(Debug)]
pub(crate) struct PushTo {
    pub users: Vec<UserId>,
    pub event: &'static str,
    pub data: Value,
}

/// A queued event: [`Chats::settle`] waits for it.
#[derive(Debug)]
pub(crate) struct Pending {
    group: GroupId,
    /// The cached state the event was sequenced on (see [`Loaded::epoch`]).
    epoch: u64,
    done: oneshot::Receiver<Result<(), StorageError>>,
}

impl Pipeline {
    pub(crate) fn new() -> Pipeline {
        Pipeline {
            queue: StdMutex::new(Queue::default()),
            settled: watch::Sender::new(0),
            batches: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next batch, oldest first; `None` (and the drainer's turn ends) when nothing waits.
    fn next_batch(&self) -> Option<Vec<Job>> {
        let mut queue = self.queue();
        if queue.jobs.is_empty() {
            queue.draining = false;
            return None;
        }
        let n = queue.jobs.len().min(MAX_BATCH);
        Some(queue.jobs.drain(..n).collect())
    }
}

/// Ends a drainer's turn if its task stops early (a panic, or the runtime shutting down):
/// the batch it was writing counts as settled (its writers were answered with an error when
/// their senders dropped), and what is still queued gets a new drainer, so nothing waits for
/// a turn that will not come.
struct DrainTurn {
    chats: Chats,
    /// The last ticket of the batch being written.
    writing: u64,
    /// Set when the turn ended normally (the queue was found empty and `draining` cleared).
    ended: bool,
}

impl Drop for DrainTurn {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let pipeline = &self.chats.inner.pipeline;
        pipeline.settled.send_if_modified(|settled| {
            let moved = self.writing > *settled;
            *settled = (*settled).max(self.writing);
            moved
        });
        let restart = {
            let mut queue = pipeline.queue();
            queue.draining = !queue.jobs.is_empty();
            queue.draining
        };
        if restart && let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(self.chats.clone().drain());
        } else if restart {
            pipeline.queue().draining = false;
        }
    }
}

impl Chats {
    /// Queues `commit` of an event sequenced on `loaded` (the group's state before it; `None`
    /// for a new group), to be written with whatever else is queued. Call it under the group's
    /// lock, in log order. Returns the ticket (for [`Loaded::ticket`]) and the handle to wait
    /// on.
    pub(crate) fn enqueue(&self, commit: Commit, after: AfterCommit, epoch: u64) -> (u64, Pending) {
        let (done, receiver) = oneshot::channel();
        let pipeline = &self.inner.pipeline;
        let group = commit.event.group.clone();
        let (ticket, start) = {
            let mut queue = pipeline.queue();
            queue.issued += 1;
            let ticket = queue.issued;
            queue.jobs.push_back(Job {
                ticket,
                commit,
                after,
                done,
            });
            let start = !queue.draining;
            queue.draining = true;
            (ticket, start)
        };
        if start {
            tokio::spawn(self.clone().drain());
        }
        (
            ticket,
            Pending {
                group,
                epoch,
                done: receiver,
            },
        )
    }

    /// Writes batches until the queue is empty.
    async fn drain(self) {
        let pipeline = &self.inner.pipeline;
        let mut turn = DrainTurn {
            chats: self.clone(),
            writing: 0,
            ended: false,
        };
        while let Some(batch) = pipeline.next_batch() {
            let last = batch.last().map_or(0, |job| job.ticket);
            turn.writing = last;
            let (commits, rest): (Vec<Commit>, Vec<_>) = batch
                .into_iter()
                .map(|job| (job.commit, (job.after, job.done)))
                .unzip();
            let started = std::time::Instant::now();
            let outcomes = match self.db().chats().commit_all(&commits).await {
                Ok(outcomes) => outcomes,
                Err(e) => {
                    tracing::warn!(error = %e, events = commits.len(), "chats: a batch of events was not written");
                    commits.iter().map(|_| Err(batch_failed(&e))).collect()
                }
            };
            metrics::histogram!(names::COMMIT_SECONDS).record(started.elapsed().as_secs_f64());
            metrics::histogram!(names::COMMIT_BATCH_EVENTS).record(commits.len() as f64);
            // Counted before anyone is answered, so a writer that sees its answer sees its batch
            // counted.
            pipeline
                .batches
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut any = false;
            for ((commit, (after, done)), outcome) in commits.iter().zip(rest).zip(outcomes) {
                if outcome.is_ok() {
                    any = true;
                    metrics::counter!(names::EVENT_COMMITS).increment(1);
                    self.wake_outbox(&commit.outbox);
                    if !after.pushes.is_empty() {
                        let fanout = std::time::Instant::now();
                        for push in &after.pushes {
                            self.push(&push.users, push.event, &push.data);
                        }
                        metrics::histogram!(names::PUSH_FANOUT_SECONDS)
                            .record(fanout.elapsed().as_secs_f64());
                    }
                    if let Some((claim, result)) = after.txn {
                        claim.settle(Outcome::Done(result));
                    }
                }
                // On failure the claim (if any) is dropped here: a retry runs afresh.
                // The writer may have given up waiting; the event stands either way.
                let _ = done.send(outcome);
            }
            pipeline.settled.send_replace(last);
            if any {
                self.replica_advanced();
            }
        }
        turn.ended = true;
    }

    /// Waits for `pending` to be written. On failure, drops the group's cached state if it
    /// still is the one the event was sequenced on (later events sequenced on top of it fail
    /// too; the next write reloads the stored head).
    pub(crate) async fn settle(&self, pending: Pending) -> Result<(), StorageError> {
        let outcome = written(pending.done).await;
        if outcome.is_err() {
            self.forget_state(&pending.group, pending.epoch).await;
        }
        outcome
    }

    /// [`Chats::settle`] for a writer that still holds the group's lock (`guard`).
    pub(crate) async fn settle_locked(
        &self,
        guard: &mut Option<Loaded>,
        pending: Pending,
    ) -> Result<(), StorageError> {
        let outcome = written(pending.done).await;
        if outcome.is_err() && guard.as_ref().is_some_and(|l| l.epoch == pending.epoch) {
            *guard = None;
        }
        outcome
    }

    /// Waits until every event queued so far is written (or failed).
    pub(crate) async fn queued_written(&self) {
        let issued = self.inner.pipeline.queue().issued;
        let mut settled = self.inner.pipeline.settled.subscribe();
        let _ = settled.wait_for(|&done| done >= issued).await;
    }

    /// Waits until every queued event of the group in `loaded` is written (or failed), so
    /// that the projection shows them.
    pub(crate) async fn durable(&self, loaded: Option<&Loaded>) {
        let Some(ticket) = loaded.map(|l| l.ticket) else {
            return;
        };
        let mut settled = self.inner.pipeline.settled.subscribe();
        // The sender lives as long as `self`: waiting cannot fail.
        let _ = settled.wait_for(|&done| done >= ticket).await;
    }
}

#[cfg(test)]
impl Chats {
    /// How many queued events are not written yet (waiting, or in the batch being written).
    pub(crate) fn unwritten(&self) -> u64 {
        let pipeline = &self.inner.pipeline;
        let issued = pipeline.queue().issued;
        issued.saturating_sub(*pipeline.settled.borrow())
    }

    /// How many batches the pipeline wrote so far.
    pub(crate) fn batches_written(&self) -> u64 {
        self.inner
            .pipeline
            .batches
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// What became of a queued event; a drainer that stopped without a word means not written.
async fn written(done: oneshot::Receiver<Result<(), StorageError>>) -> Result<(), StorageError> {
    done.await.unwrap_or_else(|_| {
        Err(StorageError::Other(
            "the event was not written: the node is stopping".into(),
        ))
    })
}

/// The error each event of a batch whose transaction failed is answered with.
fn batch_failed(e: &StorageError) -> StorageError {
    match e {
        StorageError::Unreachable { url, reason } => StorageError::Unreachable {
            url: url.clone(),
            reason: reason.clone(),
        },
        other => StorageError::Other(other.to_string()),
    }
}
