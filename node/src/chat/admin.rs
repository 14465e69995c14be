//! What operators do to chats (spec/admin.md): take a deleted account out of the groups homed
//! here, and purge a group. Every change is an ordinary event written through
//! [`Chats::write`], so members see it pushed and replicas on other nodes check and apply it
//! like any other.

use winichat_protocol::gateway::chat as api;
use winichat_protocol::group::GroupKind;
use winichat_protocol::ids::{GroupId, UserId};

use super::{ChatError, Chats, random_text};

/// Messages of one group read per query while tombstoning a user's messages.
const MESSAGE_PAGE: u32 = 200;
/// Pages read per group at most: a bound on the loop, far above any real group (a page that
/// deletes nothing ends it earlier).
const MAX_MESSAGE_PAGES: u32 = 100_000;

/// What taking a user out of this node's groups did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    /// Messages turned into tombstones (`msg.delete`).
    pub messages_deleted: u64,
    /// Groups left (`member.leave`).
    pub groups_left: u64,
    /// Groups the user owned, handed to the most senior other member, then left.
    pub groups_transferred: u64,
    /// Groups the user owned alone, deleted (`group.delete`).
    pub groups_deleted: u64,
    /// Direct chats kept (a direct chat cannot be left; its messages are tombstones).
    pub direct_chats: u64,
    /// Groups homed on other nodes, left as they are (see spec/admin.md §3).
    pub remote_groups: u64,
}

/// The empty CBOR map that replaces a deleted message's body (as `msg.delete` does).
pub(crate) const EMPTY_BODY: [u8; 1] = [0xa0];

fn admin_txn() -> Result<String, ChatError> {
    Ok(format!("admin:{}", random_text(16)?))
}

impl Chats {
    /// Takes `user` out of every group homed here: each of their messages becomes a
    /// tombstone, then they leave; a group they own passes to its most senior other member
    /// (lowest rank, then smallest user id) before they leave, or is deleted when they are its
    /// only member. The events are written as `user` (the author deleting their own messages,
    /// the owner transferring), which the rules allow, so replicas accept them unchanged.
    pub async fn erase_member(&self, user: &UserId) -> Result<Erased, ChatError> {
        let mut erased = Erased::default();
        for group in self.db().admin().groups_of(user).await? {
            if group.home() != self.node() {
                erased.remote_groups += 1;
                continue;
            }
            erased.messages_deleted += self.tombstone_messages(&group, user).await?;
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

    /// Deletes every live message of `user` in `group`, as `user`; returns how many.
    async fn tombstone_messages(&self, group: &GroupId, user: &UserId) -> Result<u64, ChatError> {
        let mut deleted = 0;
        for _ in 0..MAX_MESSAGE_PAGES {
            let page = self
                .db()
                .admin()
                .live_messages(group, user, MESSAGE_PAGE)
                .await?;
            if page.is_empty() {
                break;
            }
            let before = deleted;
            for seq in page {
                let params = api::MsgParams {
                    txn: admin_txn()?,
                    group: group.clone(),
                    seq,
                };
                match self.delete_message(user, params).await {
                    Ok(_) => deleted += 1,
                    // Deleted meanwhile by someone else, or the group is gone: nothing to do.
                    Err(ChatError::NotFound(_) | ChatError::Denied(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            if deleted == before {
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
