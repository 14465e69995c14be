//! What operators do to chats (spec/admin.md): take a deleted account out of its groups, and
//! purge a group. Every change is an ordinary event: written through [`Chats::write`] for a
//! group homed here, so members see it pushed and replicas on other nodes check and apply it
//! like any other; submitted to the home as the user for a group homed elsewhere, where the
//! home runs its ordinary path and pushes the event back to this node's replica.

use std::collections::BTreeSet;

use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::gateway::{self, chat as api};
use winichat_protocol::group::GroupKind;
use winichat_protocol::ids::{GroupId, NodeName, UserId};

use super::{ChatError, Chats, random_text};

/// Messages of one group read per query while tombstoning a user's messages.
const MESSAGE_PAGE: u32 = 200;
/// Pages read per group at most: a bound on the loop, far above any real group (paging ends
/// earlier, at the first page that is not full).
const MAX_MESSAGE_PAGES: u32 = 100_000;

/// What taking a user out of their groups did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    /// Messages turned into tombstones (`msg.delete`), in groups homed here and elsewhere.
    pub messages_deleted: u64,
    /// Groups homed here left (`member.leave`).
    pub groups_left: u64,
    /// Groups the user owned, handed to the most senior other member, then left.
    pub groups_transferred: u64,
    /// Groups the user owned alone, deleted (`group.delete`).
    pub groups_deleted: u64,
    /// Direct chats kept, wherever homed (a direct chat cannot be left; its messages are
    /// tombstones).
    pub direct_chats: u64,
    /// Groups homed on other nodes the user was a member of (see spec/admin.md §3.2).
    pub remote_groups: u64,
    /// Of those, the groups left (`member.leave` written by their homes).
    pub remote_groups_left: u64,
    /// Of those, the groups whose home could not be reached or refused for now: what the home
    /// did not take stays there.
    pub remote_groups_unreachable: u64,
    /// Of those, the groups the user owned (their homes' rules make that impossible for a user
    /// of this node), left untouched.
    pub remote_groups_owned: u64,
}

/// The empty CBOR map that replaces a deleted message's body (as `msg.delete` does).
pub(crate) const EMPTY_BODY: [u8; 1] = [0xa0];

fn admin_txn() -> Result<String, ChatError> {
    Ok(format!("admin:{}", random_text(16)?))
}

/// Whether a write submitted to a group's home failed for now rather than for good: the home
/// is down, cut off, overloaded or failing. Anything else is the home's answer to this write.
fn is_transient(error: &ChatError) -> bool {
    match error {
        ChatError::Unavailable(_) => true,
        ChatError::Remote(body) => matches!(
            body.code,
            ErrorCode::Unavailable | ErrorCode::RateLimited | ErrorCode::Internal
        ),
        _ => false,
    }
}

/// Why tombstoning a user's messages in a group stopped before its end.
enum RemoteStop {
    /// The home cannot take writes now.
    Unreachable,
    /// This node failed.
    Failed(ChatError),
}

impl Chats {
    /// Takes `user` out of every group they are a member of. In a group homed here each of
    /// their messages becomes a tombstone, then they leave; a group they own passes to its most
    /// senior other member (lowest rank, then smallest user id) before they leave, or is
    /// deleted when they are its only member. The events are written as `user` (the author
    /// deleting their own messages, the owner transferring), which the rules allow, so
    /// replicas accept them unchanged. In a group homed on another node the same deletions and
    /// the leave are submitted to its home as `user` ([`Chats::erase_remote`]).
    pub async fn erase_member(&self, user: &UserId) -> Result<Erased, ChatError> {
        let mut erased = Erased::default();
        // Homes that failed once are not asked again: each would make the operator wait for
        // its refusal once per group.
        let mut unreachable = BTreeSet::new();
        for group in self.db().admin().groups_of(user).await? {
            if group.home() != self.node() {
                erased.remote_groups += 1;
                self.erase_remote(&group, user, &mut erased, &mut unreachable)
                    .await?;
                continue;
            }
            erased.messages_deleted += match self.tombstone_messages(&group, user).await {
                Ok(deleted) => deleted,
                Err(RemoteStop::Failed(e)) => return Err(e),
                Err(RemoteStop::Unreachable) => {
                    return Err(ChatError::Unavailable(format!(
                        "deleting messages of {user} in {group} failed for now"
                    )));
                }
            };
            let Some((kind, owner, successor)) = self
                .inspect(&group, |loaded| {
                    let state = &loaded.state;
                    let successor = state
                        .members
                        .keys()
                        .filter(|m| *m != user)
                        .filter_map(|m| state.rank_of(m).map(|rank| (rank, m.clone())))
                        .min()
                        .map(|(_, m)| m);
                    (state.kind, state.owner.clone(), successor)
                })
                .await?
            else {
                continue;
            };
            let params = |txn: String| api::TxnGroupParams {
                txn,
                group: group.clone(),
            };
            if kind == GroupKind::Direct {
                erased.direct_chats += 1;
                continue;
            }
            if &owner == user {
                match successor {
                    Some(next) => {
                        self.transfer(
                            user,
                            api::TargetParams {
                                txn: admin_txn()?,
                                group: group.clone(),
                                user: next,
                            },
                        )
                        .await?;
                        erased.groups_transferred += 1;
                    }
                    None => {
                        self.delete_group(user, params(admin_txn()?)).await?;
                        erased.groups_deleted += 1;
                        continue;
                    }
                }
            }
            self.leave(user, params(admin_txn()?)).await?;
            erased.groups_left += 1;
        }
        Ok(erased)
    }

    /// Takes `user` out of `group`, homed on another node, through its home: each of their
    /// messages the replica here holds is deleted by `msgs.delete` submitted as `user`, then
    /// they leave by `groups.leave` (not a direct chat, which cannot be left). A home that
    /// cannot be reached (or is in `unreachable` already) counts the group in
    /// `remote_groups_unreachable` and adds itself to `unreachable`; it does not fail the
    /// deletion. Only a failure of this node does.
    async fn erase_remote(
        &self,
        group: &GroupId,
        user: &UserId,
        erased: &mut Erased,
        unreachable: &mut BTreeSet<NodeName>,
    ) -> Result<(), ChatError> {
        let home = group.home();
        let Some((kind, owner)) = self
            .inspect(group, |loaded| {
                (loaded.state.kind, loaded.state.owner.clone())
            })
            .await?
        else {
            return Ok(());
        };
        if kind == GroupKind::Direct {
            erased.direct_chats += 1;
        }
        if kind != GroupKind::Direct && &owner == user {
            // The owner is always a user of the home; a replica saying otherwise is not ours
            // to act on.
            tracing::warn!(%group, %user, "a group of another node names a user of this node as its owner: left as it is");
            erased.remote_groups_owned += 1;
            return Ok(());
        }
        if unreachable.contains(home) {
            erased.remote_groups_unreachable += 1;
            return Ok(());
        }
        match self.tombstone_messages(group, user).await {
            Ok(deleted) => erased.messages_deleted += deleted,
            Err(RemoteStop::Unreachable) => {
                erased.remote_groups_unreachable += 1;
                unreachable.insert(home.clone());
                return Ok(());
            }
            Err(RemoteStop::Failed(e)) => return Err(e),
        }
        if kind == GroupKind::Direct {
            return Ok(());
        }
        let leave = api::TxnGroupParams {
            txn: admin_txn()?,
            group: group.clone(),
        };
        match self
            .write_method(user, api::method::GROUPS_LEAVE, &params_value(&leave)?)
            .await
        {
            Ok(_) => erased.remote_groups_left += 1,
            Err(e) if is_transient(&e) => {
                erased.remote_groups_unreachable += 1;
                unreachable.insert(home.clone());
            }
            // Left meanwhile, banned or kicked, or the group is gone: nothing to leave.
            Err(e @ (ChatError::NotFound(_) | ChatError::Denied(_) | ChatError::Remote(_))) => {
                tracing::debug!(%group, %user, error = %e, "erasing a user: leave refused by the home");
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Deletes every live message of `user` in `group` that this node holds, as `user`, through
    /// the group's write path ([`Chats::write_method`]: here for a group homed here, at its home
    /// otherwise); returns how many. A replica learns of each deletion only when the home
    /// pushes it, so pages follow the seq past the last one handled rather than rereading what
    /// may still look live. Stops at the first transient failure (`Unreachable`, only ever of a
    /// home elsewhere).
    async fn tombstone_messages(&self, group: &GroupId, user: &UserId) -> Result<u64, RemoteStop> {
        let mut deleted = 0;
        let mut after = 0;
        for _ in 0..MAX_MESSAGE_PAGES {
            let page = self
                .db()
                .admin()
                .live_messages(group, user, after, MESSAGE_PAGE)
                .await
                .map_err(|e| RemoteStop::Failed(e.into()))?;
            let full = page.len() >= MESSAGE_PAGE as usize;
            for seq in page {
                after = seq;
                let params = api::MsgParams {
                    txn: admin_txn().map_err(RemoteStop::Failed)?,
                    group: group.clone(),
                    seq,
                };
                let params = params_value(&params).map_err(RemoteStop::Failed)?;
                match self
                    .write_method(user, api::method::MSGS_DELETE, &params)
                    .await
                {
                    Ok(_) => deleted += 1,
                    Err(e) if is_transient(&e) => return Err(RemoteStop::Unreachable),
                    // Deleted meanwhile, or refused (by the home): the others still go.
                    Err(
                        e @ (ChatError::NotFound(_) | ChatError::Denied(_) | ChatError::Remote(_)),
                    ) => {
                        tracing::debug!(%group, seq, error = %e, "erasing a user: a deletion refused");
                    }
                    Err(e) => return Err(RemoteStop::Failed(e)),
                }
            }
            if !full {
                break;
            }
        }
        Ok(deleted)
    }

    /// Purges `group` (homed here): deleted for everyone through a `group.delete` written as
    /// its owner (members get it pushed, replicas apply it), unless it is deleted already;
    /// then its messages, reactions, media references, invites and memberships here are
    /// erased. A group homed on another node is refused (`conflict`): its log is not ours;
    /// so is a direct chat (the rules let nobody delete one).
    pub async fn purge(&self, group: &GroupId) -> Result<(), ChatError> {
        if group.home() != self.node() {
            return Err(ChatError::Conflict(format!(
                "the group is homed on {}: purge it there (or deny that node)",
                group.home()
            )));
        }
        let Some((kind, owner, deleted)) = self
            .inspect(group, |loaded| {
                let state = &loaded.state;
                (state.kind, state.owner.clone(), state.deleted)
            })
            .await?
        else {
            return Err(ChatError::NotFound("no such chat"));
        };
        if kind == GroupKind::Direct {
            return Err(ChatError::Conflict(
                "a direct chat cannot be purged: delete one of its two users instead".into(),
            ));
        }
        if !deleted {
            self.delete_group(
                &owner,
                api::TxnGroupParams {
                    txn: admin_txn()?,
                    group: group.clone(),
                },
            )
            .await?;
        }
        self.db().admin().purge_group(group, &EMPTY_BODY).await?;
        Ok(())
    }
}

/// `params` as the CBOR value [`Chats::write_method`] takes.
fn params_value(params: &impl serde::Serialize) -> Result<ciborium::Value, ChatError> {
    gateway::to_value(params).map_err(ChatError::internal)
}
