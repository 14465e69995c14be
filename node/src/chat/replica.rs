//! Replicas: applying the signed events of groups homed on other nodes (spec/federation.md §6).
//!
//! Each event is verified under its home's key, placed after the replica's head (a gap is
//! backfilled first, a duplicate ignored, a different event at a held seq is a fork), and
//! admitted only if the same rules the home runs accept it. It is then committed exactly as
//! the home's own events are ([`Chats::store`]), and pushed to this node's members.

use winichat_protocol::codec::Limits;
use winichat_protocol::cose::{Signed, UnverifiedSign1};
use winichat_protocol::event::{Event, LogError};
use winichat_protocol::federation::document::KeyHistory;
use winichat_protocol::federation::methods::{BackfillParams, BackfillResult, PushOutcome, method};
use winichat_protocol::federation::replica::{self, Held, Place};
use winichat_protocol::gateway;
use winichat_protocol::group::{Body, GroupKind};
use winichat_protocol::ids::{GroupId, NodeName, UserId};

use super::{ChatError, Chats};

/// Why a group's replica stopped taking events from its home.
pub use crate::storage::FaultKind as Fault;

impl Chats {
    /// Applies `events` (COSE_Sign1 bytes) from `home` in order and says what became of each.
    /// `fill_gaps`: backfill a gap before an event (a push); a backfill page itself does not.
    pub async fn receive(
        &self,
        home: &NodeName,
        events: &[Vec<u8>],
        fill_gaps: bool,
    ) -> Vec<PushOutcome> {
        let key = match self.home_key(home).await {
            Ok(key) => key,
            Err(e) => {
                tracing::warn!(%home, error = %e, "federation: no key for a pushing node");
                return vec![PushOutcome::Retry; events.len()];
            }
        };
        // Applied events are queued for the commit pipeline as they are placed, so a batch is
        // written in one transaction; the answer waits until they are all durable.
        let mut outcomes = Vec::with_capacity(events.len());
        let mut queued = Vec::new();
        for (index, raw) in events.iter().enumerate() {
            let outcome = match verify(home, &key, raw) {
                Ok(signed) => match self.apply_received(home, signed, fill_gaps).await {
                    Ok(Applied::Now(outcome)) => outcome,
                    Ok(Applied::Queued(pending)) => {
                        queued.push((index, pending));
                        PushOutcome::Applied
                    }
                    Err(e) => {
                        tracing::warn!(%home, error = %e, "federation: event not applied now");
                        PushOutcome::Retry
                    }
                },
                Err(reason) => {
                    tracing::warn!(%home, %reason, "federation: event refused");
                    PushOutcome::Rejected
                }
            };
            outcomes.push(outcome);
        }
        for (index, pending) in queued {
            if let Err(e) = self.settle(pending).await {
                tracing::warn!(%home, error = %e, "federation: event not applied now");
                if let Some(outcome) = outcomes.get_mut(index) {
                    *outcome = PushOutcome::Retry;
                }
            }
        }
        outcomes
    }

    /// The keys `home` signed with: its current key and the earlier ones its rotations prove,
    /// so that events signed before a rotation still verify (a backfill of an old log).
    async fn home_key(&self, home: &NodeName) -> Result<KeyHistory, ChatError> {
        let Some(federation) = self.inner.federation.get() else {
            return Err(ChatError::Unavailable("federation is off".to_owned()));
        };
        federation
            .client
            .keys_of(home)
            .await
            .map_err(|e| ChatError::Unavailable(e.to_string()))
    }

    /// Places and applies one verified event of a group homed on `home`.
    async fn apply_received(
        &self,
        home: &NodeName,
        signed: Signed<Event>,
        fill_gaps: bool,
    ) -> Result<Applied, ChatError> {
        let group = signed.value().group.clone();
        if self.fault_of(&group).await?.is_some() {
            return Ok(Applied::Now(PushOutcome::Rejected));
        }
        // Two rounds at most: a gap is backfilled (without the lock) and the event placed
        // again.
        for _ in 0..2 {
            let mut guard = self.lock(&group).await?;
            // A push may start a replica only for a local user's sake (a backfill this node
            // asked for is its own doing).
            if guard.is_none() && fill_gaps && !self.wants(&signed).await {
                tracing::warn!(%group, %home, "federation: events of a group no user here is in; refused");
                return Ok(Applied::Now(PushOutcome::Rejected));
            }
            let head = guard.as_ref().map(|l| l.head);
            let place = match replica::place(head.as_ref(), home, signed.value()) {
                Ok(place) => place,
                Err(e) => {
                    tracing::warn!(%group, seq = signed.value().seq, error = %e, "federation: event does not continue the log");
                    if matches!(e, LogError::PrevMismatch) {
                        // The home vouches for another event before this one: see which.
                        self.durable(guard.as_ref()).await;
                        drop(guard);
                        self.check_predecessor(home, &signed).await;
                    }
                    return Ok(Applied::Now(PushOutcome::Rejected));
                }
            };
            match place {
                Place::Held => {
                    // The held event may still be queued: compare with the stored one.
                    self.durable(guard.as_ref()).await;
                    return Ok(Applied::Now(self.compare_held(&group, &signed).await?));
                }
                Place::Gap { to, .. } => {
                    drop(guard);
                    if !fill_gaps {
                        return Ok(Applied::Now(PushOutcome::Retry));
                    }
                    self.sync(&group, to).await?;
                    continue;
                }
                Place::Next => {}
            }
            let event = signed.value();
            let referenced = referenced_message(event);
            let target = match referenced {
                Some(seq) => {
                    self.durable(guard.as_ref()).await;
                    self.db().chats().item(&group, seq).await?
                }
                None => None,
            };
            let author = target
                .as_ref()
                .filter(|row| row.is_message && !row.deleted)
                .map(|row| row.sender.clone());
            let state = guard.as_ref().map(|l| &l.state);
            let admitted = replica::admit(state, event, |seq| {
                (Some(seq) == referenced).then(|| author.clone()).flatten()
            });
            let (body, after) = match admitted {
                Ok(admitted) => admitted,
                Err(refusal) => {
                    drop(guard);
                    self.mark_fault(
                        &group,
                        Fault::Diverged,
                        event.seq,
                        &refusal.to_string(),
                        None,
                        signed.raw(),
                    )
                    .await;
                    return Ok(Applied::Now(PushOutcome::Rejected));
                }
            };
            let edited_body = match (&body, &target) {
                (Body::MsgEdit(edit), Some(row)) => {
                    let mut post = super::write::decode_post(&row.body)?;
                    post.text = edit.text.clone();
                    Some(
                        gateway::to_value(&post)
                            .and_then(|v| winichat_protocol::codec::encode(&v))
                            .map_err(ChatError::internal)?,
                    )
                }
                _ => None,
            };
            let moderated = matches!(body, Body::MsgDelete(_))
                && author.as_ref().is_some_and(|a| a != &event.sender);
            let stored = self
                .store(
                    &mut guard,
                    &signed,
                    &body,
                    after,
                    super::write::Derived {
                        edited_body,
                        moderated,
                    },
                    None,
                )
                .await?;
            return Ok(match stored {
                Some(pending) => Applied::Queued(pending),
                None => Applied::Now(PushOutcome::Applied),
            });
        }
        Ok(Applied::Now(PushOutcome::Retry))
    }

    /// Whether a home may start a replica of an event's group here: only for a local user —
    /// one with an account here invited by that very event or named the peer of a direct chat
    /// it creates, or one whose join (or direct chat) this node is starting.
    async fn wants(&self, signed: &Signed<Event>) -> bool {
        let event = signed.value();
        if self.joining_contains(&event.group) {
            return true;
        }
        match Body::decode_signed(&event.kind, &event.body) {
            Ok(Body::MemberInvite(invite)) => self.has_account(&invite.user).await,
            // A direct chat opened with one of this node's users (spec/federation.md §5.11).
            Ok(Body::GroupCreate(create)) if create.kind == GroupKind::Direct => {
                match create.members.first() {
                    Some(peer) => self.has_account(peer).await,
                    None => false,
                }
            }
            _ => false,
        }
    }

    /// True when `user` is a user of this node with an account.
    async fn has_account(&self, user: &UserId) -> bool {
        user.node() == self.node()
            && self
                .db()
                .accounts()
                .user(user)
                .await
                .is_ok_and(|record| record.is_some())
    }

    /// A received event at a seq the replica holds: the same event (ignore) or a fork.
    async fn compare_held(
        &self,
        group: &GroupId,
        signed: &Signed<Event>,
    ) -> Result<PushOutcome, ChatError> {
        let seq = signed.value().seq;
        let stored = self.db().events().range(group, seq, 1).await?;
        let Some(stored) = stored.into_iter().find(|e| e.seq == seq) else {
            return Err(ChatError::internal(format!(
                "{group} has no stored event at held seq {seq}"
            )));
        };
        match replica::same_or_fork(&signed.id(), &stored.id) {
            Held::Duplicate => Ok(PushOutcome::Duplicate),
            Held::Fork => {
                self.mark_fault(
                    group,
                    Fault::Forked,
                    seq,
                    "the home signed two different events at one seq",
                    Some(&stored.raw),
                    signed.raw(),
                )
                .await;
                Ok(PushOutcome::Rejected)
            }
        }
    }

    /// A validly signed event whose `prev` is not the replica's event before it shows that
    /// its home holds another event at that seq: fetch it (spec §6 (b)) and, when it differs
    /// from the stored one, mark the group forked with both as evidence. Best effort: a
    /// fetch that fails leaves the event refused, and the next push or backfill tries again.
    async fn check_predecessor(&self, home: &NodeName, signed: &Signed<Event>) {
        let event = signed.value();
        let Some(seq) = event.seq.checked_sub(1).filter(|&seq| seq > 0) else {
            return;
        };
        let group = &event.group;
        let fetched: Result<BackfillResult, ChatError> = self
            .ask(
                home,
                method::BACKFILL,
                &BackfillParams {
                    group: group.clone(),
                    from: seq,
                    limit: 1,
                },
            )
            .await;
        let raw = match fetched {
            Ok(page) => match page.events.into_iter().next() {
                Some(raw) => raw,
                None => return,
            },
            Err(e) => {
                tracing::debug!(%group, seq, error = %e, "federation: cannot fetch an event to compare");
                return;
            }
        };
        let Ok(key) = self.home_key(home).await else {
            return;
        };
        let Ok(theirs) = verify(home, &key, &raw) else {
            tracing::warn!(%group, seq, %home, "federation: the home sent an event that does not verify");
            return;
        };
        if theirs.value().group != *group || theirs.value().seq != seq {
            return;
        }
        let Ok(stored) = self.db().events().range(group, seq, 1).await else {
            return;
        };
        let Some(ours) = stored.into_iter().find(|e| e.seq == seq) else {
            return;
        };
        if replica::same_or_fork(&theirs.id(), &ours.id) == Held::Fork {
            self.mark_fault(
                group,
                Fault::Forked,
                seq,
                "the home signed two different events at one seq",
                Some(&ours.raw),
                theirs.raw(),
            )
            .await;
        }
    }

    /// Records that `group` stopped taking events, with the evidence, and tells the operator.
    async fn mark_fault(
        &self,
        group: &GroupId,
        fault: Fault,
        seq: u64,
        reason: &str,
        held: Option<&[u8]>,
        received: &[u8],
    ) {
        tracing::error!(
            %group,
            seq,
            fault = fault.as_str(),
            %reason,
            "federation: the home of a group sent an event this node refuses; the group's \
             replica is marked and keeps the evidence (see `winichat federation status`)"
        );
        if let Err(e) = self
            .record_fault(group, fault, seq, reason, held, received)
            .await
        {
            tracing::error!(%group, error = %e, "federation: cannot record a group fault");
        }
    }
}

/// What became of one received event.
enum Applied {
    /// Settled: applied and durable, or not applied.
    Now(PushOutcome),
    /// Applied and queued for the commit pipeline: applied once durable.
    Queued(super::pipeline::Pending),
}

/// Parses and verifies one pushed or backfilled event of a group homed on `home`.
/// Checks that `raw` is an event of `home`, signed by the key `home` had at the event's `ts`
/// (spec/federation.md §6 (a), §2.5).
fn verify(home: &NodeName, keys: &KeyHistory, raw: &[u8]) -> Result<Signed<Event>, String> {
    let unverified = UnverifiedSign1::parse(raw, &Limits::EVENT).map_err(|e| e.to_string())?;
    if unverified.signer() != home {
        return Err(format!(
            "event signed by {}, sent by {home}",
            unverified.signer()
        ));
    }
    let signed: Signed<Event> = keys
        .verify_dated(unverified, &Limits::EVENT, |event: &Event| event.ts)
        .map_err(|e| e.to_string())?;
    if signed.value().group.home() != home {
        return Err(format!(
            "event of {} sent by {home}, not its home",
            signed.value().group
        ));
    }
    Ok(signed)
}

/// The message an event acts on or replies to, whose author the rules need.
fn referenced_message(event: &Event) -> Option<u64> {
    let body = Body::decode_signed(&event.kind, &event.body).ok()?;
    match body {
        Body::MsgPost(post) => post.reply_to,
        Body::MsgEdit(edit) => Some(edit.seq),
        Body::MsgDelete(delete) => Some(delete.seq),
        Body::MsgReact(react) => Some(react.seq),
        Body::MsgPin(pin) => Some(pin.seq),
        _ => None,
    }
}

impl Chats {
    /// The fault `group`'s replica is marked with, if any.
    pub async fn fault_of(&self, group: &GroupId) -> Result<Option<Fault>, ChatError> {
        let cached = self
            .inner
            .faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(group)
            .copied();
        if let Some(known) = cached {
            return Ok(known);
        }
        // Only replicas of other nodes' groups are ever marked.
        if !self.is_remote(group) {
            return Ok(None);
        }
        let stored = self.db().faults().group_fault(group).await?;
        self.remember_fault(group, stored);
        Ok(stored)
    }

    /// Caches what is known of `group`'s fault (`None`: checked, none).
    fn remember_fault(&self, group: &GroupId, fault: Option<Fault>) {
        let mut faults = self
            .inner
            .faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if faults.len() >= super::CACHED_GROUPS {
            // Faults are rare: keep them, forget the groups checked clean.
            faults.retain(|_, fault| fault.is_some());
        }
        faults.insert(group.clone(), fault);
    }

    async fn record_fault(
        &self,
        group: &GroupId,
        fault: Fault,
        seq: u64,
        reason: &str,
        held: Option<&[u8]>,
        received: &[u8],
    ) -> Result<(), ChatError> {
        self.remember_fault(group, Some(fault));
        self.db()
            .faults()
            .record_fault(&crate::storage::GroupFault {
                group: group.clone(),
                seq,
                kind: fault,
                reason: reason.to_owned(),
                held_raw: held.map(<[u8]>::to_vec),
                offending_raw: received.to_vec(),
                at: super::now(),
            })
            .await?;
        Ok(())
    }
}
