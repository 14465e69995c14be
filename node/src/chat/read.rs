//! Reads and ephemeral signals: the chat list, a chat's detail, history, the audit view, read
//! positions, typing, bans, invites and the public directory.

use winichat_protocol::codec::Limits;
use winichat_protocol::cose::UnverifiedSign1;
use winichat_protocol::event::{Event, EventKind};
use winichat_protocol::gateway::fit::{self, Anchor};
use winichat_protocol::gateway::{self, chat as api};
use winichat_protocol::group::{
    Action, Body, EVERYONE_RANK, GroupKind, GroupState, Permissions, authorize,
};
use winichat_protocol::ids::{GroupId, UserId};

use super::{ChatError, Chats, Loaded, pages, view};
use crate::storage::chats::{Page, TimelineRow};

/// Unread counts stop at this (the app shows "999+").
const UNREAD_CAP: u64 = 1000;
/// At most this many users in a `msgs.seen_by` answer.
const SEEN_BY_LIMIT: u32 = 500;

impl Chats {
    /// `chats.list`: a page of the caller's chats, latest activity first, cut to fit a frame.
    pub async fn list(
        &self,
        actor: &UserId,
        p: api::ChatsListParams,
    ) -> Result<api::ChatList, ChatError> {
        let limit = usize::try_from(limit(p.limit, api::MAX_CHATS_LIMIT)?).unwrap_or(usize::MAX);
        let mut mine = self.db().chats().chats_of(actor).await?;
        // The order is decided here, not by the database's collation, so that a cursor's
        // (time, group id) compares the same way on every backend.
        let key = |ts: winichat_protocol::Timestamp, group: &str| {
            (std::cmp::Reverse(ts), group.to_owned())
        };
        mine.sort_by_cached_key(|m| key(m.chat.last_ts, m.chat.group.as_str()));
        let start = match p.after.as_deref() {
            None => 0,
            Some(after) => {
                let (ts, group) = pages::parse_chat(after)?;
                let after = key(ts, &group);
                mine.partition_point(|m| key(m.chat.last_ts, m.chat.group.as_str()) <= after)
            }
        };
        let page: Vec<_> = mine.iter().skip(start).take(limit).collect();
        let mut chats = Vec::with_capacity(page.len());
        for my in &page {
            let state = super::decode_state(&my.chat.state, &my.chat.group)?;
            chats.push(
                self.summary(actor, &state, my.chat.last_seq, my.read_seq)
                    .await?,
            );
        }
        let mut list = api::ChatList { chats, next: None };
        let cut = fit::chat_list(&mut list);
        let kept = list.chats.len();
        if kept == 0 && !page.is_empty() {
            return Err(ChatError::TooLarge);
        }
        if cut || start + kept < mine.len() {
            list.next = page
                .get(kept.wrapping_sub(1))
                .map(|m| pages::chat(m.chat.last_ts, m.chat.group.as_str()));
        }
        Ok(list)
    }

    /// The summary of one chat for `actor`.
    pub async fn summary_of(
        &self,
        actor: &UserId,
        group: &GroupId,
    ) -> Result<api::ChatSummary, ChatError> {
        // The summary's queries run outside the lock, on a copy.
        let loaded = self
            .with_access(actor, group, Action::View, Loaded::clone)
            .await?;
        let read_seq = self.db().chats().read_seq(group, actor).await?.unwrap_or(0);
        self.summary(actor, &loaded.state, loaded.head.seq, read_seq)
            .await
    }

    async fn summary(
        &self,
        actor: &UserId,
        state: &GroupState,
        last_seq: u64,
        read_seq: u64,
    ) -> Result<api::ChatSummary, ChatError> {
        let chats = self.db().chats();
        let group = &state.id;
        let last = match chats.last_item(group).await? {
            Some(row) => Some(self.items_with_reactions(group, vec![row]).await?.remove(0)),
            None => None,
        };
        let unread = chats.unread(group, actor, read_seq, UNREAD_CAP).await?;
        let peer = match state.kind {
            GroupKind::Direct => state.members.keys().find(|u| *u != actor).cloned(),
            GroupKind::Group => None,
        };
        let peer_read_seq = match &peer {
            Some(peer) => chats.read_seq(group, peer).await?,
            None => None,
        };
        // A direct chat shows the peer: its photo is the peer's avatar (gateway.md §8.4).
        let photo = match &peer {
            Some(peer) => self.avatar_now(peer).await?,
            None => state.photo.clone(),
        };
        let settings = self.db().chat_settings().settings(actor, group).await?;
        let settings = super::actions::settings_of(group, settings, super::now());
        Ok(api::ChatSummary {
            group: group.clone(),
            kind: state.kind,
            name: state.name.clone(),
            description: state.description.clone(),
            visibility: state.visibility,
            handle: state.handle.clone(),
            owner: state.owner.clone(),
            peer,
            members: u64::try_from(state.members.len()).unwrap_or(u64::MAX),
            last_seq,
            last,
            read_seq,
            unread,
            peer_read_seq,
            my_rank: state.rank_of(actor).unwrap_or(EVERYONE_RANK),
            my_permissions: state.permissions_of(actor),
            pinned: state.pinned.iter().copied().collect(),
            photo,
            muted_until: settings.muted_until,
            pinned_at: settings.pinned_at,
        })
    }

    /// `chats.get`.
    pub async fn detail(
        &self,
        actor: &UserId,
        group: &GroupId,
    ) -> Result<api::ChatDetail, ChatError> {
        let loaded = self
            .with_access(actor, group, Action::View, Loaded::clone)
            .await?;
        let state = &loaded.state;
        let read_seq = self.db().chats().read_seq(group, actor).await?.unwrap_or(0);
        let chat = self
            .summary(actor, state, loaded.head.seq, read_seq)
            .await?;
        let (members, more) = self
            .members_page(group, state, None, api::MAX_PAGE_LIMIT)
            .await?;
        let mut roles: Vec<_> = state.roles.values().cloned().collect();
        roles.sort_by_key(|r| r.rank);
        let may_invite = state
            .permissions_of(actor)
            .contains(Permissions::INVITE_MEMBERS)
            || state
                .permissions_of(actor)
                .contains(Permissions::MANAGE_INVITES);
        let invited = if may_invite {
            state.invites.keys().cloned().collect()
        } else {
            Vec::new()
        };
        let mut detail = api::ChatDetail {
            chat,
            members,
            roles,
            invited,
            members_next: None,
            more_invited: false,
        };
        let cut = fit::chat_detail(&mut detail);
        if cut || more {
            detail.members_next = detail
                .members
                .last()
                .map(|m| pages::member(m.rank, m.joined_at, &m.user));
        }
        Ok(detail)
    }

    /// `members.list`: the members after `after`, most senior first, cut to fit a frame.
    pub async fn members(
        &self,
        actor: &UserId,
        p: api::PageParams,
    ) -> Result<api::MemberList, ChatError> {
        let limit = limit(p.limit, api::MAX_PAGE_LIMIT)?;
        let loaded = self
            .with_access(actor, &p.group, Action::View, Loaded::clone)
            .await?;
        let (members, more) = self
            .members_page(&p.group, &loaded.state, p.after.as_deref(), limit)
            .await?;
        let asked = members.len();
        let mut list = api::MemberList {
            members,
            next: None,
        };
        let cut = fit::member_list(&mut list);
        if list.members.is_empty() && asked > 0 {
            return Err(ChatError::TooLarge);
        }
        if cut || more {
            list.next = list
                .members
                .last()
                .map(|m| pages::member(m.rank, m.joined_at, &m.user));
        }
        Ok(list)
    }

    /// Up to `limit` members after the cursor `after`, in the member list's order (rank, then
    /// joining time, then id), and whether more follow. Only the page's profiles are read.
    async fn members_page(
        &self,
        group: &GroupId,
        state: &GroupState,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<api::MemberInfo>, bool), ChatError> {
        let after = after.map(pages::parse_member).transpose()?;
        let mut order: Vec<(u32, winichat_protocol::Timestamp, &UserId)> = state
            .members
            .iter()
            .map(|(user, m)| {
                (
                    state.rank_of(user).unwrap_or(EVERYONE_RANK),
                    m.joined_at,
                    user,
                )
            })
            .filter(|(rank, joined, user)| match &after {
                None => true,
                Some((r, j, u)) => (*rank, *joined, user.as_str()) > (*r, *j, u.as_str()),
            })
            .collect();
        order.sort();
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = order.len() > limit;
        order.truncate(limit);
        let reads: std::collections::HashMap<UserId, u64> =
            self.db().chats().reads(group).await?.into_iter().collect();
        let page_users: Vec<&UserId> = order.iter().map(|(_, _, user)| *user).collect();
        self.prefetch_profiles(&page_users).await;
        let mut members = Vec::with_capacity(order.len());
        for (rank, joined_at, user) in order {
            let (display_name, avatar) = self.shown_as(user).await?;
            members.push(api::MemberInfo {
                user: user.clone(),
                display_name,
                roles: state
                    .members
                    .get(user)
                    .map(|m| m.roles.iter().copied().collect())
                    .unwrap_or_default(),
                rank,
                joined_at,
                read_seq: reads.get(user).copied().unwrap_or(0),
                avatar,
            });
        }
        Ok((members, more))
    }

    /// `msgs.history`.
    pub async fn history(
        &self,
        actor: &UserId,
        p: api::HistoryParams,
    ) -> Result<api::HistoryResult, ChatError> {
        let limit = limit(p.limit, api::MAX_HISTORY_LIMIT)?;
        self.with_access(actor, &p.group, Action::View, |_| ())
            .await?;
        let chats = self.db().chats();
        let group = &p.group;
        let rows = match (p.before, p.after, p.around) {
            (None, None, None) => chats.items(group, Page::Latest, limit, false).await?,
            (Some(before), None, None) => {
                chats
                    .items(group, Page::Before(before), limit, false)
                    .await?
            }
            (None, Some(after), None) => {
                chats.items(group, Page::After(after), limit, false).await?
            }
            (None, None, Some(around)) => {
                // Up to (limit - 1) / 2 rows below, then the row itself and newer ones.
                let older = (limit - 1) / 2;
                let mut rows = if older > 0 {
                    chats
                        .items(group, Page::Before(around), older, false)
                        .await?
                } else {
                    Vec::new()
                };
                let newer = limit.saturating_sub(u32::try_from(rows.len()).unwrap_or(limit));
                rows.extend(
                    chats
                        .items(group, Page::After(around.saturating_sub(1)), newer, false)
                        .await?,
                );
                rows
            }
            _ => {
                return Err(ChatError::BadRequest(
                    "give at most one of before, after and around".into(),
                ));
            }
        };
        let (more_before, more_after) = match (rows.first(), rows.last()) {
            (Some(first), Some(last)) => (
                chats.has_item_before(group, first.seq, false).await?,
                chats.has_item_after(group, last.seq).await?,
            ),
            _ => match (p.before, p.after) {
                (Some(before), _) => (
                    false,
                    chats
                        .has_item_after(group, before.saturating_sub(1))
                        .await?,
                ),
                (_, Some(after)) => (
                    chats
                        .has_item_before(group, after.saturating_add(1), false)
                        .await?,
                    false,
                ),
                _ => (false, false),
            },
        };
        let anchor = match (p.after, p.around) {
            (Some(_), _) => Anchor::Oldest,
            (_, Some(around)) => Anchor::Around(around),
            _ => Anchor::Newest,
        };
        let asked = rows.len();
        let mut result = api::HistoryResult {
            items: self.items_with_reactions(group, rows).await?,
            more_before,
            more_after,
        };
        fit::history(&mut result, anchor);
        if result.items.is_empty() && asked > 0 {
            return Err(ChatError::TooLarge);
        }
        Ok(result)
    }

    /// `audit.list`.
    pub async fn audit(
        &self,
        actor: &UserId,
        p: api::AuditParams,
    ) -> Result<api::HistoryResult, ChatError> {
        let limit = limit(p.limit, api::MAX_HISTORY_LIMIT)?;
        self.with_access(actor, &p.group, Action::ViewAuditLog, |_| ())
            .await?;
        let page = p.before.map_or(Page::Latest, Page::Before);
        let chats = self.db().chats();
        let rows = chats.items(&p.group, page, limit, true).await?;
        let more_before = match rows.first() {
            Some(first) => chats.has_item_before(&p.group, first.seq, true).await?,
            None => false,
        };
        let asked = rows.len();
        let mut result = api::HistoryResult {
            items: self.items_with_reactions(&p.group, rows).await?,
            more_before,
            more_after: false,
        };
        fit::history(&mut result, Anchor::Newest);
        if result.items.is_empty() && asked > 0 {
            return Err(ChatError::TooLarge);
        }
        Ok(result)
    }

    async fn items_with_reactions(
        &self,
        group: &GroupId,
        rows: Vec<TimelineRow>,
    ) -> Result<Vec<api::TimelineItem>, ChatError> {
        let seqs: Vec<u64> = rows
            .iter()
            .filter(|r| r.is_message)
            .map(|r| r.seq)
            .collect();
        let reactions = if seqs.is_empty() {
            Vec::new()
        } else {
            self.db().chats().reactions(group, &seqs).await?
        };
        rows.into_iter()
            .map(|row| view::item(row, &reactions))
            .collect()
    }

    /// `msgs.read`: moves the caller's read position forward and tells the members.
    pub async fn mark_read(&self, actor: &UserId, p: api::ReadParams) -> Result<(), ChatError> {
        if let Some(seq) = self.record_read(actor, &p.group, p.seq).await? {
            self.share_read(None, &p.group, actor, seq);
        }
        Ok(())
    }

    /// Records that `actor` read `group` up to `seq` (lowered to the head, never lowering the
    /// stored position) and pushes `chat.read` to the local members. The new position when it
    /// moved.
    pub(crate) async fn record_read(
        &self,
        actor: &UserId,
        group: &GroupId,
        seq: u64,
    ) -> Result<Option<u64>, ChatError> {
        let p = api::ReadParams {
            group: group.clone(),
            seq,
        };
        let head = self
            .with_access(actor, &p.group, Action::View, |l| l.head.seq)
            .await?;
        // Only up to what is written: a queued event may yet fail, and its seq go to another.
        let written = self
            .db()
            .events()
            .last(&p.group)
            .await?
            .map_or(0, |(last, _)| last);
        let seq = p.seq.min(head).min(written);
        let before = self
            .db()
            .chats()
            .read_seq(&p.group, actor)
            .await?
            .unwrap_or(0);
        let Some(now) = self.db().chats().mark_read(&p.group, actor, seq).await? else {
            return Err(ChatError::NotFound("no such chat"));
        };
        if now > before {
            let push = api::ReadPush {
                group: p.group.clone(),
                user: actor.clone(),
                seq: now,
            };
            // The members as they are now, not before the writes above.
            let members = self
                .inspect(&p.group, |l| {
                    l.state.members.keys().cloned().collect::<Vec<_>>()
                })
                .await?
                .unwrap_or_default();
            let local: Vec<UserId> = members
                .into_iter()
                .filter(|u| u.node() == self.node())
                .collect();
            if let Ok(data) = gateway::to_value(&push) {
                self.push(&local, api::event::CHAT_READ, &data);
            }
            return Ok(Some(now));
        }
        Ok(None)
    }

    /// `msgs.seen_by`: who (besides the sender) has read up to message `seq`.
    pub async fn seen_by(
        &self,
        actor: &UserId,
        p: api::SeenByParams,
    ) -> Result<api::SeenBy, ChatError> {
        let start = pages::parse_offset(p.after.as_deref())?;
        self.with_access(actor, &p.group, Action::View, |_| ())
            .await?;
        let sender = match self.db().chats().item(&p.group, p.seq).await? {
            Some(row) if row.is_message => row.sender,
            _ => return Err(ChatError::NotFound("no such message")),
        };
        // One more than the page, to know whether another follows.
        let wanted = u32::try_from(start)
            .unwrap_or(u32::MAX)
            .saturating_add(SEEN_BY_LIMIT + 1);
        let users = self
            .db()
            .chats()
            .seen_by(&p.group, p.seq, &sender, wanted)
            .await?;
        page(
            users,
            start,
            SEEN_BY_LIMIT,
            |users| {
                let mut list = api::SeenBy { users, next: None };
                let cut = fit::seen_by(&mut list);
                (list.users.len(), cut, list)
            },
            |list, next| list.next = next,
        )
    }

    /// `msgs.event`: the signed bytes of event `seq`, for whoever may read the history
    /// (gateway.md §8.5); `not_found` past the log's head, and for what the history does not
    /// show the caller either: a deleted message's `msg.post` and the `msg.edit`s of it (its
    /// text is gone for everyone), and a moderator's `msg.delete` of someone else's message
    /// unless the caller may view the audit log.
    pub async fn event(
        &self,
        actor: &UserId,
        p: api::EventParams,
    ) -> Result<api::EventResult, ChatError> {
        let may_audit = self
            .with_access(actor, &p.group, Action::View, |l| {
                authorize(&l.state, actor, &Action::ViewAuditLog).is_ok()
            })
            .await?;
        let gone = || ChatError::NotFound("no such event");
        if p.seq == 0 {
            return Err(gone());
        }
        let event = match self.db().events().range(&p.group, p.seq, 1).await?.pop() {
            Some(event) if event.seq == p.seq => event,
            _ => return Err(gone()),
        };
        let chats = self.db().chats();
        let withheld = match EventKind::parse(&event.kind) {
            Ok(EventKind::MsgPost) => chats
                .item(&p.group, p.seq)
                .await?
                .is_some_and(|row| row.deleted),
            Ok(EventKind::MsgEdit) => {
                let target = self.edit_target(&event.raw)?;
                chats
                    .item(&p.group, target)
                    .await?
                    .is_some_and(|row| row.deleted)
            }
            // A moderator's deletion of another member's message is the one deletion with a
            // row of its own (kind `msg.delete`, an audit row); the author's own is not.
            Ok(EventKind::MsgDelete) => {
                !may_audit
                    && chats.item(&p.group, p.seq).await?.is_some_and(|row| {
                        row.is_admin && row.kind == EventKind::MsgDelete.as_str()
                    })
            }
            _ => false,
        };
        if withheld {
            return Err(gone());
        }
        Ok(api::EventResult { event: event.raw })
    }

    /// The message a stored `msg.edit` changes; its body is read under the rules it was signed
    /// under. The event was verified before it was stored, and is not verified again: the
    /// node's key may have been rotated since, and a replica's events are signed by their home.
    fn edit_target(&self, raw: &[u8]) -> Result<u64, ChatError> {
        let event: Event = UnverifiedSign1::parse(raw, &Limits::EVENT)
            .map_err(ChatError::internal)?
            .decode_stored(&Limits::EVENT)
            .map_err(ChatError::internal)?;
        match Body::decode_signed(&event.kind, &event.body) {
            Ok(Body::MsgEdit(edit)) => Ok(edit.seq),
            Ok(_) => Err(ChatError::internal("stored msg.edit has another body")),
            Err(e) => Err(ChatError::internal(e)),
        }
    }

    /// `msgs.typing`: tells the other members, here and on other nodes; nothing is stored.
    pub async fn typing(&self, actor: &UserId, group: &GroupId) -> Result<(), ChatError> {
        self.typing_from(None, actor, group).await
    }

    /// `bans.list`.
    pub async fn bans(
        &self,
        actor: &UserId,
        p: api::PageParams,
    ) -> Result<api::BanList, ChatError> {
        let limit = limit(p.limit, api::MAX_PAGE_LIMIT)?;
        let start = pages::parse_offset(p.after.as_deref())?;
        let group = &p.group;
        let mut bans: Vec<api::BanInfo> = self
            .with_access(actor, group, Action::ViewBans, |l| {
                l.state
                    .bans
                    .iter()
                    .map(|(user, ban)| api::BanInfo {
                        user: user.clone(),
                        by: ban.by.clone(),
                        by_rank: ban.by_rank,
                        reason: ban.reason.clone(),
                        at: ban.at,
                    })
                    .collect()
            })
            .await?;
        bans.sort_by(|a, b| (b.at, &a.user).cmp(&(a.at, &b.user)));
        page(
            bans,
            start,
            limit,
            |bans| {
                let mut list = api::BanList { bans, next: None };
                let cut = fit::ban_list(&mut list);
                (list.bans.len(), cut, list)
            },
            |list, next| list.next = next,
        )
    }

    /// `invites.list`.
    pub async fn invites(
        &self,
        actor: &UserId,
        p: api::AfterParams,
    ) -> Result<api::InviteList, ChatError> {
        let start = pages::parse_offset(p.after.as_deref())?;
        let rows = self.db().chats().invites_for(actor).await?;
        let mut invites = Vec::with_capacity(rows.len());
        for row in rows {
            let name = self
                .inspect(&row.group, |l| {
                    (!l.state.deleted).then(|| l.state.name.clone())
                })
                .await?
                .flatten();
            let Some(name) = name else { continue };
            invites.push(api::InviteInfo {
                group: row.group,
                name,
                by: row.by,
                at: row.at,
            });
        }
        page(
            invites,
            start,
            INVITES_LIMIT,
            |invites| {
                let mut list = api::InviteList {
                    invites,
                    next: None,
                };
                let cut = fit::invite_list(&mut list);
                (list.invites.len(), cut, list)
            },
            |list, next| list.next = next,
        )
    }

    /// `groups.directory`.
    pub async fn directory(
        &self,
        actor: &UserId,
        p: api::DirectoryParams,
    ) -> Result<api::DirectoryResult, ChatError> {
        let limit = limit(p.limit, api::MAX_DIRECTORY_LIMIT)?;
        let start = pages::parse_offset(p.after.as_deref())?;
        let query = p.query.trim().trim_start_matches('#').to_lowercase();
        // The rows before the page and one past it (to know whether another page follows).
        let wanted = u32::try_from(start)
            .unwrap_or(u32::MAX)
            .saturating_add(limit)
            .saturating_add(1);
        let rows = self.db().chats().directory(&query, wanted).await?;
        let more = rows.len() > start + usize::try_from(limit).unwrap_or(usize::MAX);
        let mut groups = Vec::with_capacity(rows.len());
        // The offset (from `start`) of the row after each listed group.
        let mut ends = Vec::with_capacity(rows.len());
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut taken = 0;
        for (at, row) in rows.into_iter().skip(start).take(limit).enumerate() {
            taken = at + 1;
            let Some(handle) = row.handle.as_deref().and_then(|h| h.parse().ok()) else {
                continue;
            };
            let joined = self
                .db()
                .chats()
                .read_seq(&row.group, actor)
                .await?
                .is_some();
            // The photo lives in the state snapshot; a directory page is small.
            let photo = super::decode_state(&row.state, &row.group)?.photo;
            groups.push(api::DirectoryEntry {
                group: row.group,
                handle,
                name: row.name,
                description: row.description,
                members: row.members,
                joined,
                photo,
            });
            ends.push(at + 1);
        }
        let listed = groups.len();
        let mut result = api::DirectoryResult { groups, next: None };
        let cut = fit::directory(&mut result);
        let kept = result.groups.len();
        if kept == 0 && listed > 0 {
            return Err(ChatError::TooLarge);
        }
        // The offset counts rows, listed or skipped (a row without a handle is skipped).
        if cut {
            let consumed = ends.get(kept.wrapping_sub(1)).copied().unwrap_or(0);
            result.next = Some(pages::offset(start + consumed));
        } else if more {
            result.next = Some(pages::offset(start + taken));
        }
        Ok(result)
    }
}

/// The most pending invites one `invites.list` page holds.
const INVITES_LIMIT: u32 = 100;

/// The page of `all` from `start`: at most `limit` entries, cut to fit a frame by `build`
/// (which returns how many it kept, whether it cut, and the reply), with a `next` offset
/// (set by `set_next`) when more follow. Not even one entry fitting is [`ChatError::TooLarge`].
pub(super) fn page<T, R>(
    all: Vec<T>,
    start: usize,
    limit: u32,
    build: impl FnOnce(Vec<T>) -> (usize, bool, R),
    set_next: impl FnOnce(&mut R, Option<String>),
) -> Result<R, ChatError> {
    let total = all.len();
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let entries: Vec<T> = all.into_iter().skip(start).take(limit).collect();
    let asked = entries.len();
    let (kept, cut, mut reply) = build(entries);
    if kept == 0 && asked > 0 {
        return Err(ChatError::TooLarge);
    }
    if cut || start + kept < total {
        set_next(&mut reply, Some(pages::offset(start + kept)));
    }
    Ok(reply)
}

/// The `limit` of `members.list`, `bans.list` and `links.list`.
pub(super) fn page_limit(asked: Option<u32>) -> Result<u32, ChatError> {
    limit(asked, api::MAX_PAGE_LIMIT)
}

/// A `limit` param: absent → `max`; above `max` → `max`; 0 → bad request.
fn limit(asked: Option<u32>, max: u32) -> Result<u32, ChatError> {
    match asked {
        Some(0) => Err(ChatError::BadRequest("limit must be at least 1".into())),
        Some(n) => Ok(n.min(max)),
        None => Ok(max),
    }
}
