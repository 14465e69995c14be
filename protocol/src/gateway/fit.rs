//! Server frames that fit the client frame limit (spec/gateway.md §1 "Server frames").
//!
//! Every frame the node sends is at most [`super::MAX_FRAME`] bytes, the limit a client applies
//! to what it decodes. A reply's `result` (or a push's `data`) gets [`REPLY_BUDGET`] bytes: the
//! frame's envelope (`t`, `id` or `event` and `cursor`) always fits in the rest. List replies are
//! cut to the budget and say so (`next`, `more_before`/`more_after`), so no list, however its
//! entries grow, can make a reply that a client would refuse.

use serde::Serialize;

use super::chat;
use crate::codec::Limits;

/// Bytes kept for a frame's envelope around its `result` or `data`: the map head, `t`, `id`
/// (a u64), `event` (a short name) and `cursor` (`<boot>.<seq>`) take well under this.
pub const ENVELOPE_RESERVE: usize = 512;

/// The most bytes a `result` or push `data` may encode to.
pub const REPLY_BUDGET: usize = super::MAX_FRAME - ENVELOPE_RESERVE;

/// The most entries a list in a reply holds: below the decoder's `max_items`, so a long list of
/// tiny entries is cut by count where bytes would not cut it.
pub const MAX_LIST_ITEMS: usize = Limits::CLIENT_FRAME.max_items - 24;

/// The most bytes a timeline item's `reactions` take; the emojis past it are left out and the
/// item says `more_reactions`.
pub const REACTIONS_BUDGET: usize = 8 * 1024;

/// Bytes kept for a `next` cursor (its key and up to [`MAX_CURSOR_BYTES`] of text) when a list
/// is cut, so adding the cursor never pushes the reply over.
pub const CURSOR_RESERVE: usize = MAX_CURSOR_BYTES + 16;

/// The longest `next` cursor the node gives: its keys are ids (at most 255 bytes) and numbers.
pub const MAX_CURSOR_BYTES: usize = 600;

/// The room `chats.get` keeps for members and invitees: several members at their largest.
const DETAIL_MIN_ROOM: usize = 16 * 1024;

/// The largest head of a CBOR array or map (a major type with a 64-bit length).
const MAX_HEAD: usize = 9;

/// Where a page of history is anchored: which of its ends is kept when it is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The page grows toward the past (the newest rows, `before`): keep its newest rows.
    Newest,
    /// The page grows toward the future (`after`): keep its oldest rows.
    Oldest,
    /// `around` a seq: keep the row at (or first after) it and as much around it as fits,
    /// newer rows first.
    Around(u64),
}

/// `chats.list`: keeps the first chats that fit; true when some were cut.
pub fn chat_list(list: &mut chat::ChatList) -> bool {
    keep_first(&mut list.chats, list_budget(&chat::ChatList::default()))
}

/// `groups.directory`: keeps the first groups that fit; true when some were cut.
pub fn directory(result: &mut chat::DirectoryResult) -> bool {
    keep_first(
        &mut result.groups,
        list_budget(&chat::DirectoryResult::default()),
    )
}

/// `invites.list`: keeps the first invites that fit; true when some were cut.
pub fn invite_list(list: &mut chat::InviteList) -> bool {
    keep_first(&mut list.invites, list_budget(&chat::InviteList::default()))
}

/// `links.list`: keeps the first links that fit; true when some were cut.
pub fn link_list(list: &mut chat::LinkList) -> bool {
    keep_first(&mut list.links, list_budget(&chat::LinkList::default()))
}

/// `bans.list`: keeps the first bans that fit; true when some were cut.
pub fn ban_list(list: &mut chat::BanList) -> bool {
    keep_first(&mut list.bans, list_budget(&chat::BanList::default()))
}

/// `msgs.seen_by`: keeps the first users that fit; true when some were cut.
pub fn seen_by(list: &mut chat::SeenBy) -> bool {
    keep_first(&mut list.users, list_budget(&chat::SeenBy::default()))
}

/// `members.list`: keeps the first members that fit; true when some were cut.
pub fn member_list(list: &mut chat::MemberList) -> bool {
    keep_first(&mut list.members, list_budget(&chat::MemberList::default()))
}

/// `users.search`: keeps the first users that fit; true when some were cut.
pub fn search(result: &mut super::SearchResult) -> bool {
    keep_first(
        &mut result.users,
        list_budget(&super::SearchResult::default()),
    )
}

/// `msgs.search`: keeps the first messages that fit; true when some were cut.
pub fn message_search(result: &mut super::search::MsgSearchResult) -> bool {
    keep_first(
        &mut result.results,
        list_budget(&super::search::MsgSearchResult::default()),
    )
}

/// `chats.get`: keeps the chat (without its `last` item when that leaves too little room) and
/// the roles whole, then as many of `invited` as fit in half of
/// what is left (setting `more_invited`), then the first members that fit. True when members
/// were cut (the caller then sets `members_next`).
pub fn chat_detail(detail: &mut chat::ChatDetail) -> bool {
    let mut members = core::mem::take(&mut detail.members);
    let mut invited = core::mem::take(&mut detail.invited);
    // A summary whose last message is at its largest leaves too little for the member list:
    // then the detail goes without `last` (history and the chat list show it).
    if remaining(&*detail) < CURSOR_RESERVE + DETAIL_MIN_ROOM {
        detail.chat.last = None;
    }
    let room = remaining(&*detail).saturating_sub(CURSOR_RESERVE);
    detail.more_invited = keep_first(&mut invited, room / 2);
    detail.invited = invited;
    let room = remaining(&*detail).saturating_sub(CURSOR_RESERVE);
    let cut = keep_first(&mut members, room);
    detail.members = members;
    cut
}

/// `msgs.history` and `audit.list`: cuts the page to fit, keeping the rows nearest its
/// anchor, and sets `more_before`/`more_after` for what was cut.
pub fn history(result: &mut chat::HistoryResult, anchor: Anchor) {
    let mut items = core::mem::take(&mut result.items);
    let room = remaining(&*result);
    match anchor {
        Anchor::Newest => result.more_before |= keep_last(&mut items, room),
        Anchor::Oldest => result.more_after |= keep_first(&mut items, room),
        Anchor::Around(seq) => {
            let split = items.partition_point(|item| item.seq < seq);
            let mut newer = items.split_off(split);
            result.more_after |= keep_first(&mut newer, room);
            let used = encoded_len(&newer).saturating_sub(MAX_HEAD);
            result.more_before |= keep_last(&mut items, room.saturating_sub(used));
            items.append(&mut newer);
        }
    }
    result.items = items;
}

/// A timeline item's reactions: keeps the first emojis that fit [`REACTIONS_BUDGET`] and sets
/// `more_reactions` when some were left out.
pub fn reactions(item: &mut chat::TimelineItem) {
    item.more_reactions |= keep_first(&mut item.reactions, REACTIONS_BUDGET);
}

/// What a list may take in a reply whose other fields are `empty`, with room for `next`.
fn list_budget<T: Serialize>(empty: &T) -> usize {
    remaining(empty).saturating_sub(CURSOR_RESERVE)
}

/// Counts bytes without keeping them.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How many bytes `value` encodes to; `usize::MAX` when it does not encode (it then fits
/// nothing).
pub fn encoded_len<T: Serialize + ?Sized>(value: &T) -> usize {
    let mut counter = Counter(0);
    match ciborium::ser::into_writer(value, &mut counter) {
        Ok(()) => counter.0,
        Err(_) => usize::MAX,
    }
}

/// True when `value` encodes within [`REPLY_BUDGET`].
pub fn fits<T: Serialize + ?Sized>(value: &T) -> bool {
    encoded_len(value) <= REPLY_BUDGET
}

/// What is left of [`REPLY_BUDGET`] once `rest` (the reply with its cut lists empty) is
/// encoded; 0 when `rest` alone does not fit.
pub fn remaining<T: Serialize + ?Sized>(rest: &T) -> usize {
    REPLY_BUDGET.saturating_sub(encoded_len(rest))
}

/// Keeps the longest prefix of `items` that encodes, as an array, within `budget` bytes and
/// holds at most [`MAX_LIST_ITEMS`] entries. Returns true when something was cut.
pub fn keep_first<T: Serialize>(items: &mut Vec<T>, budget: usize) -> bool {
    let kept = fitting(items.iter(), budget);
    let cut = kept < items.len();
    items.truncate(kept);
    cut
}

/// Keeps the longest suffix of `items` within `budget` (as [`keep_first`], from the end): for
/// pages that grow toward the past, whose newest entries matter most. Returns true when
/// something was cut.
pub fn keep_last<T: Serialize>(items: &mut Vec<T>, budget: usize) -> bool {
    let kept = fitting(items.iter().rev(), budget);
    let cut = kept < items.len();
    items.drain(..items.len() - kept);
    cut
}

/// How many of `items`, in order, fit `budget` bytes as one array.
fn fitting<'a, T: Serialize + 'a>(items: impl Iterator<Item = &'a T>, budget: usize) -> usize {
    let mut used = MAX_HEAD;
    let mut kept = 0;
    for item in items {
        used = used.saturating_add(encoded_len(item));
        if used > budget || kept == MAX_LIST_ITEMS {
            break;
        }
        kept += 1;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_len_matches_the_encoding() {
        let value = vec!["😀".repeat(100), String::new()];
        assert_eq!(
            encoded_len(&value),
            crate::codec::encode(&value).expect("encodes").len()
        );
    }

    #[test]
    fn keep_first_and_last_cut_at_the_budget() {
        // Each entry is a 1,000-byte text: 3 bytes of head + 1,000.
        let items: Vec<String> = (0..10u8)
            .map(|i| char::from(b'a' + i).to_string().repeat(1000))
            .collect();
        let mut first = items.clone();
        assert!(keep_first(&mut first, 3 * 1003 + MAX_HEAD));
        assert_eq!(first, items[..3]);
        let mut last = items.clone();
        assert!(keep_last(&mut last, 3 * 1003 + MAX_HEAD + 1002));
        assert_eq!(last, items[7..]);
        let mut all = items.clone();
        assert!(!keep_first(&mut all, REPLY_BUDGET));
        assert_eq!(all, items);
    }

    #[test]
    fn keep_first_cuts_by_count() {
        let mut many = vec![0u8; MAX_LIST_ITEMS + 10];
        assert!(keep_first(&mut many, REPLY_BUDGET));
        assert_eq!(many.len(), MAX_LIST_ITEMS);
    }

    #[test]
    fn remaining_is_zero_when_the_rest_is_too_big() {
        assert_eq!(remaining(&"x".repeat(REPLY_BUDGET + 1)), 0);
        assert!(remaining(&"x") > REPLY_BUDGET - 16);
    }
}
