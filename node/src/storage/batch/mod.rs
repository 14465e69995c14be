//! A batch of [`Commit`]s planned as a few multi-row statements.
//!
//! [`ChatStore::commit_all`](super::chats::ChatStore::commit_all) writes whatever the commit
//! pipeline queued in one transaction. Written commit by commit that is about eight statements
//! per event, each a round trip to the database; planned here, a batch of any size is a handful:
//! one head move per group, the events, outbox rows, timeline rows, read positions and
//! transaction ids each as multi-row inserts or updates, a message-only group's chat row once —
//! and only the rarer writes one by one, in order: the whole chat row of each state change and
//! the projection ops of members, edits, reactions, pins, invites…
//!
//! The plan gives the same rows as writing the commits one by one, or cannot be written: every
//! check a single commit makes (the head it extends, unique handles, pairs and txn ids) is still
//! made by the database, for the batch as a whole. When anything fails, the backend rolls back
//! and writes the batch again commit by commit, which says which commit failed.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use winichat_protocol::ids::{GroupId, NodeName, UserId};

use super::NewEvent;
use super::chats::{ChatRow, Commit, ProjectionOp, TimelineRow, TxnRecord};

/// The most rows one multi-row statement carries: far below SQLite's 32,766 bound variables
/// and PostgreSQL's 65,535 for every table here (at most 12 columns).
pub(crate) const MAX_ROWS_PER_STATEMENT: usize = 256;

/// A group's log head moving over the batch.
#[derive(Debug)]
pub(crate) struct HeadMove<'c> {
    /// The group's first event in the batch: the stored head must be just before it.
    pub first: &'c NewEvent,
    /// The group's last event in the batch: the new head.
    pub last: &'c NewEvent,
}

impl HeadMove<'_> {
    /// True when the batch starts the group's log (its first event is seq 1).
    pub fn starts_log(&self) -> bool {
        self.first.seq == 1
    }
}

/// A projection op kept in commit order.
#[derive(Debug)]
pub(crate) struct OrderedOp<'c> {
    /// The group it applies to.
    pub group: &'c GroupId,
    /// The op (a read position merged from several commits is owned).
    pub op: Cow<'c, ProjectionOp>,
}

/// A member's read position moving forward, merged over the batch.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ReadMove<'c> {
    /// The group.
    pub group: &'c GroupId,
    /// The member.
    pub user: &'c UserId,
    /// The highest position the batch's commits set.
    pub seq: u64,
}

/// An outbox row: deliver `event` to `destination`.
#[derive(Debug)]
pub(crate) struct OutboxRow<'c> {
    /// The remote node.
    pub destination: &'c NodeName,
    /// The event.
    pub event: &'c NewEvent,
}

/// A batch planned for writing, in the order the statements must run (foreign keys: groups,
/// then events, outbox rows, chats, then the projection rows of chats).
#[derive(Debug)]
pub(crate) struct BatchPlan<'c> {
    /// One head move per group, in the order of each group's first commit.
    pub heads: Vec<HeadMove<'c>>,
    /// Every event, in batch order.
    pub events: Vec<&'c NewEvent>,
    /// Every outbox row.
    pub outbox: Vec<OutboxRow<'c>>,
    /// The whole chat row (state included, inserted if missing) of every commit that changed
    /// its group's state, in commit order: handles — part of the state — are taken and released
    /// in the order the commits make those changes, so the unique handle is checked as one by
    /// one.
    pub whole_chats: Vec<&'c ChatRow>,
    /// For each group whose last commit left the state as it was (messages): that commit's row,
    /// of which every column but `state` and `members` is written (the row exists: a log starts
    /// with a state change). In the order of those last commits.
    pub chat_settings: Vec<&'c ChatRow>,
    /// Every new timeline row with its group. They only add rows no other op of the batch can
    /// precede: an op refers to an item of an earlier or the same event.
    pub items: Vec<(&'c GroupId, &'c TimelineRow)>,
    /// Every other op, in commit order.
    pub ordered: Vec<OrderedOp<'c>>,
    /// Read positions that no later membership op of the batch touches, merged per member.
    pub reads: Vec<ReadMove<'c>>,
    /// Every remembered transaction id.
    pub txns: Vec<&'c TxnRecord>,
}

/// Why a batch cannot be planned; the backend then writes it commit by commit, where the same
/// fault is reported against the commit that has it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Unplannable;

impl<'c> BatchPlan<'c> {
    /// Plans `commits`, or [`Unplannable`] when they do not form clean runs of each group's log
    /// (a commit whose chat row is of another group, a seq or prev that does not continue the
    /// group's previous commit in the batch, a log that does not start at seq 1 without prev,
    /// or with an event that leaves no state to store).
    pub fn of(commits: &'c [Commit]) -> Result<Self, Unplannable> {
        let mut plan = BatchPlan {
            heads: Vec::new(),
            events: Vec::with_capacity(commits.len()),
            outbox: Vec::new(),
            whole_chats: Vec::new(),
            chat_settings: Vec::new(),
            items: Vec::with_capacity(commits.len()),
            ordered: Vec::new(),
            reads: Vec::new(),
            txns: Vec::with_capacity(commits.len()),
        };
        // Per group: its head move's index and its last commit's index.
        let mut groups: HashMap<&GroupId, GroupInBatch> = HashMap::new();
        // Reads not yet placed, by (group, user): (order of first appearance, highest seq).
        let mut pending_reads: BTreeMap<(&GroupId, &UserId), (usize, u64)> = BTreeMap::new();
        let mut read_order = 0usize;
        for (index, commit) in commits.iter().enumerate() {
            let event = &commit.event;
            if commit.chat.group != event.group
                || event.seq == 0
                || (event.seq == 1) != event.prev.is_none()
                || (event.seq == 1 && !commit.state_changed)
            {
                return Err(Unplannable);
            }
            match groups.get_mut(&event.group) {
                Some(seen) => {
                    let head = &mut plan.heads[seen.head];
                    if event.seq != head.last.seq + 1 || event.prev != Some(head.last.id) {
                        return Err(Unplannable);
                    }
                    head.last = event;
                    seen.last_commit = index;
                }
                None => {
                    groups.insert(
                        &event.group,
                        GroupInBatch {
                            head: plan.heads.len(),
                            last_commit: index,
                        },
                    );
                    plan.heads.push(HeadMove {
                        first: event,
                        last: event,
                    });
                }
            }
            if commit.state_changed {
                plan.whole_chats.push(&commit.chat);
            }
            plan.events.push(event);
            plan.outbox.extend(
                commit
                    .outbox
                    .iter()
                    .map(|destination| OutboxRow { destination, event }),
            );
            for op in &commit.ops {
                match op {
                    ProjectionOp::InsertItem(row) => plan.items.push((&event.group, row)),
                    ProjectionOp::Read { user, seq } => {
                        let entry =
                            pending_reads
                                .entry((&event.group, user))
                                .or_insert_with(|| {
                                    read_order += 1;
                                    (read_order, 0)
                                });
                        entry.1 = entry.1.max(*seq);
                    }
                    ProjectionOp::AddMember { user, .. } => {
                        // A read merged so far must land before this op: had the member's row
                        // been missing, it matched nothing then, and must not match the new row.
                        if let Some((_, seq)) = pending_reads.remove(&(&event.group, user)) {
                            plan.ordered.push(OrderedOp {
                                group: &event.group,
                                op: Cow::Owned(ProjectionOp::Read {
                                    user: user.clone(),
                                    seq,
                                }),
                            });
                        }
                        plan.ordered.push(OrderedOp {
                            group: &event.group,
                            op: Cow::Borrowed(op),
                        });
                    }
                    ProjectionOp::RemoveMember { user } => {
                        // The row goes, and with it whatever read position an earlier commit
                        // set: such a read has no effect to keep.
                        pending_reads.remove(&(&event.group, user));
                        plan.ordered.push(OrderedOp {
                            group: &event.group,
                            op: Cow::Borrowed(op),
                        });
                    }
                    _ => plan.ordered.push(OrderedOp {
                        group: &event.group,
                        op: Cow::Borrowed(op),
                    }),
                }
            }
            if let Some(txn) = &commit.txn {
                plan.txns.push(txn);
            }
        }
        let mut reads: Vec<_> = pending_reads.into_iter().collect();
        reads.sort_by_key(|(_, (order, _))| *order);
        plan.reads = reads
            .into_iter()
            .map(|((group, user), (_, seq))| ReadMove { group, user, seq })
            .collect();

        let mut last_commits: Vec<usize> = groups.values().map(|seen| seen.last_commit).collect();
        last_commits.sort_unstable();
        plan.chat_settings = last_commits
            .into_iter()
            .map(|i| &commits[i])
            .filter(|last| !last.state_changed)
            .map(|last| &last.chat)
            .collect();
        Ok(plan)
    }
}

/// Where one group stands while a batch is planned.
struct GroupInBatch {
    /// Its [`HeadMove`]'s index.
    head: usize,
    /// Its last commit's index.
    last_commit: usize,
}

mod steps;

pub(crate) use steps::{
    Placeholders, PlanDb, Step, closing_steps, log_steps, outcome, row_steps, values,
};

#[cfg(test)]
mod tests;
