//! Every reply and push the node can send fits the client frame limit (spec/gateway.md §1
//! "Server frames"): for each gateway method a result built from maximal inputs — the longest
//! ids, 4,096-character texts of 4-byte characters, the most mentions, attachments, pins,
//! roles, reactions and list entries — is cut as the node cuts it (`gateway::fit`) and must then
//! encode, inside its `ok` frame, within 64 KiB.
//!
//! The table covers every method and push name the crate declares: a new method without an
//! entry here fails `every_method_and_push_has_an_entry`.

use ciborium::Value;
use proptest::prelude::*;
use serde::Serialize;
use winichat_protocol::Timestamp;
use winichat_protocol::client::{Push, ServerFrame};
use winichat_protocol::codec::MAX_SAFE_INTEGER;
use winichat_protocol::ed25519_dalek::SigningKey;
use winichat_protocol::event::{Event, EventKind, SignedEvent};
use winichat_protocol::gateway::chat::*;
use winichat_protocol::gateway::fit::{self, Anchor, MAX_CURSOR_BYTES};
use winichat_protocol::gateway::{
    self, Empty, MAX_FRAME, MAX_PRESENCE_USERS, MAX_SEARCH_LIMIT, PresenceList, PresencePush,
    ProfileInfo, ProfilePush, Ready, RefreshResult, SearchResult, Status,
};
use winichat_protocol::group::bodies::{Forwarded, MsgPost};
use winichat_protocol::group::{
    GroupKind, MAX_DESCRIPTION_CHARS, MAX_EMOJI_BYTES, MAX_MENTIONS, MAX_NAME_CHARS,
    MAX_REASON_CHARS, MAX_ROLE_NAME_CHARS, MAX_ROLES, MAX_TEXT_CHARS, Permissions, Role,
    Visibility,
};
use winichat_protocol::ids::{EventId, GroupId, Handle, MediaId, NodeName, UserId};
use winichat_protocol::media::{
    Attachment, MAX_ATTACHMENTS, MAX_BLURHASH_CHARS, MAX_FILE_NAME_CHARS, MAX_MIME_CHARS,
    MAX_URL_ITEMS, MAX_WAVEFORM_SAMPLES, MediaKind, MediaUrls,
};

/// The longest display name and bio the node accepts (node `auth`), with room to spare.
const MAX_DISPLAY_NAME_CHARS: usize = 64;
const MAX_BIO_CHARS: usize = 1024;
/// The node refuses a 101st pin.
const MAX_PINS: u64 = 100;
/// The most entries a list can hold before it is cut (more than any list limit).
const MANY: usize = 1100;

/// What a case varies: how many entries a list holds before cutting, and the character every
/// free text is made of (1 to 4 bytes in UTF-8).
#[derive(Debug, Clone, Copy)]
struct Shape {
    entries: usize,
    ch: char,
}

impl Shape {
    fn text(&self, chars: usize) -> String {
        core::iter::repeat_n(self.ch, chars).collect()
    }
}

/// A method (or push) and the results it may produce, already cut as the node cuts them.
type Build = fn(&Shape) -> Vec<Value>;

fn val<T: Serialize>(value: &T) -> Value {
    gateway::to_value(value).expect("to value")
}

// ------------------------------------------------------------------------------ maximal ids

/// A DNS name of exactly `len` bytes (labels of up to 63 characters).
fn node_of(len: usize, tag: usize) -> NodeName {
    let mut labels = Vec::new();
    let mut left = len;
    let mut first = true;
    while left > 0 {
        let take = left.min(63);
        let mut label: String = format!("{tag:x}");
        if !first {
            label.clear();
        }
        first = false;
        while label.len() < take {
            label.push('a');
        }
        label.truncate(take);
        labels.push(label);
        left -= take;
        left = left.saturating_sub(1);
    }
    NodeName::parse(&labels.join(".")).expect("node name")
}

/// The node of the longest user and group ids (built once: the cases build thousands of ids).
fn id_node() -> &'static str {
    static NODE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NODE.get_or_init(|| node_of(255 - 34, 0).to_string())
}

fn user(i: usize) -> UserId {
    UserId::parse(&format!("@u{i:031}:{}", id_node())).expect("user id")
}

fn group(i: usize) -> GroupId {
    GroupId::parse(&format!("!g{i:031}:{}", id_node())).expect("group id")
}

fn handle(i: usize) -> Handle {
    let local = format!("h{i:050}");
    Handle::parse(&format!("#{local}:{}", node_of(255 - 53, 0))).expect("handle")
}

fn media(i: usize) -> MediaId {
    MediaId {
        node: node_of(253, i),
        sha256: [0xab; 32],
    }
}

fn event_id(i: usize) -> EventId {
    let mut hash = [0xcd; 32];
    hash[..8].copy_from_slice(&(i as u64).to_be_bytes());
    EventId::from_hash(hash)
}

/// The largest integer a frame carries (codec: integers up to 2^53 − 1).
const BIG: u64 = MAX_SAFE_INTEGER;
const TS: Timestamp = Timestamp(BIG);

fn cursor() -> String {
    "9".repeat(MAX_CURSOR_BYTES)
}

// ------------------------------------------------------------------------------ maximal values

fn attachment(s: &Shape, i: usize) -> Attachment {
    Attachment {
        media: media(i),
        kind: MediaKind::Voice,
        mime: "a".repeat(MAX_MIME_CHARS),
        size: BIG,
        name: Some(s.text(MAX_FILE_NAME_CHARS)),
        width: Some(u32::MAX),
        height: Some(u32::MAX),
        duration_ms: Some(BIG),
        blurhash: Some("L".repeat(MAX_BLURHASH_CHARS)),
        waveform: Some(vec![0xff; MAX_WAVEFORM_SAMPLES]),
        poster: Some(media(i + 1000)),
    }
}

/// A `msg.post` row at its largest: the longest text, every mention, every attachment, more
/// reactions than fit (cut as the node cuts them).
fn item(s: &Shape, seq: u64) -> TimelineItem {
    let body = MsgPost {
        text: s.text(MAX_TEXT_CHARS),
        reply_to: Some(BIG),
        mentions: (0..MAX_MENTIONS).map(user).collect(),
        mention_everyone: true,
        attachments: (0..MAX_ATTACHMENTS).map(|i| attachment(s, i)).collect(),
        forwarded: Some(Forwarded {
            user: user(usize::MAX >> 1),
            group: Some(group(usize::MAX >> 1)),
            ts: TS,
        }),
    };
    let mut item = TimelineItem {
        seq,
        id: event_id(0),
        ts: TS,
        sender: user(0),
        kind: EventKind::MsgPost,
        body: val(&body),
        edited_at: Some(TS),
        deleted: false,
        pinned: true,
        // More emojis than the reactions budget holds (each at most 32 bytes with 20 users).
        reactions: (0..s.entries.min(40))
            .map(|i| Reaction {
                emoji: format!("{i:0width$}", width = MAX_EMOJI_BYTES),
                count: BIG,
                users: (0..MAX_REACTION_USERS).map(user).collect(),
            })
            .collect(),
        more_reactions: false,
    };
    fit::reactions(&mut item);
    item
}

fn summary(s: &Shape, i: usize) -> ChatSummary {
    summary_with(s, i, item(s, BIG))
}

fn summary_with(s: &Shape, i: usize, last: TimelineItem) -> ChatSummary {
    ChatSummary {
        group: group(i),
        kind: GroupKind::Group,
        name: s.text(MAX_NAME_CHARS),
        description: s.text(MAX_DESCRIPTION_CHARS),
        visibility: Visibility::Public,
        handle: Some(handle(i)),
        owner: user(1),
        peer: Some(user(2)),
        members: BIG,
        last_seq: BIG,
        last: Some(last),
        read_seq: BIG,
        unread: BIG,
        peer_read_seq: Some(BIG),
        my_rank: u32::MAX,
        my_permissions: Permissions(BIG),
        pinned: (BIG - MAX_PINS..BIG).collect(),
        photo: Some(media(i)),
        muted_until: Some(Timestamp(MAX_SAFE_INTEGER)),
        pinned_at: Some(Timestamp(MAX_SAFE_INTEGER)),
    }
}

fn member(s: &Shape, i: usize) -> MemberInfo {
    MemberInfo {
        user: user(i),
        display_name: s.text(MAX_DISPLAY_NAME_CHARS),
        roles: (1..=u32::try_from(MAX_ROLES).expect("roles")).collect(),
        rank: u32::MAX,
        joined_at: TS,
        read_seq: BIG,
        avatar: Some(media(i)),
    }
}

fn role(s: &Shape, i: usize) -> Role {
    Role {
        id: u32::try_from(i).expect("role id"),
        name: s.text(MAX_ROLE_NAME_CHARS),
        colour: "#ffffff".to_owned(),
        permissions: Permissions(BIG),
        rank: u32::MAX,
    }
}

fn profile(s: &Shape, i: usize) -> ProfileInfo {
    ProfileInfo {
        id: user(i),
        display_name: s.text(MAX_DISPLAY_NAME_CHARS),
        bio: s.text(MAX_BIO_CHARS),
        avatar: Some(media(i)),
    }
}

fn write_result(_: &Shape) -> Vec<Value> {
    vec![val(&WriteResult {
        group: group(0),
        seq: BIG,
        id: event_id(0),
        role: Some(u32::MAX),
    })]
}

fn empty(_: &Shape) -> Vec<Value> {
    vec![val(&Empty {})]
}

fn one_summary(s: &Shape) -> Vec<Value> {
    vec![val(&summary(s, 0))]
}

/// A cut list with its `next` set to the longest cursor when something was cut.
fn with_next(cut: bool) -> Option<String> {
    cut.then(cursor)
}

// ------------------------------------------------------------------------------ per method

fn chats_list(s: &Shape) -> Vec<Value> {
    let mut list = ChatList {
        chats: {
            let last = item(s, BIG);
            (0..s.entries.min(MAX_CHATS_LIMIT as usize))
                .map(|i| summary_with(s, i, last.clone()))
                .collect()
        },
        next: None,
    };
    let cut = fit::chat_list(&mut list);
    assert!(s.entries == 0 || !list.chats.is_empty(), "one chat fits");
    list.next = with_next(cut);
    vec![val(&list)]
}

fn chats_get(s: &Shape) -> Vec<Value> {
    let mut detail = ChatDetail {
        chat: summary(s, 0),
        members: (0..s.entries).map(|i| member(s, i)).collect(),
        roles: (0..=MAX_ROLES).map(|i| role(s, i)).collect(),
        invited: (0..s.entries.min(1000)).map(user).collect(),
        members_next: None,
        more_invited: false,
    };
    let cut = fit::chat_detail(&mut detail);
    assert!(
        s.entries == 0 || !detail.members.is_empty(),
        "one member fits"
    );
    detail.members_next = with_next(cut);
    vec![val(&detail)]
}

fn members_list(s: &Shape) -> Vec<Value> {
    let mut list = MemberList {
        members: (0..s.entries.min(MAX_PAGE_LIMIT as usize))
            .map(|i| member(s, i))
            .collect(),
        next: None,
    };
    let cut = fit::member_list(&mut list);
    assert!(
        s.entries == 0 || !list.members.is_empty(),
        "one member fits"
    );
    list.next = with_next(cut || s.entries > MAX_PAGE_LIMIT as usize);
    vec![val(&list)]
}

fn directory(s: &Shape) -> Vec<Value> {
    let mut result = DirectoryResult {
        groups: (0..s.entries.min(MAX_DIRECTORY_LIMIT as usize))
            .map(|i| DirectoryEntry {
                group: group(i),
                handle: handle(i),
                name: s.text(MAX_NAME_CHARS),
                description: s.text(MAX_DESCRIPTION_CHARS),
                members: BIG,
                joined: true,
                photo: Some(media(i)),
            })
            .collect(),
        next: None,
    };
    let cut = fit::directory(&mut result);
    result.next = with_next(cut);
    vec![val(&result)]
}

fn invites_list(s: &Shape) -> Vec<Value> {
    let mut list = InviteList {
        invites: (0..s.entries)
            .map(|i| InviteInfo {
                group: group(i),
                name: s.text(MAX_NAME_CHARS),
                by: user(i),
                at: TS,
            })
            .collect(),
        next: None,
    };
    let cut = fit::invite_list(&mut list);
    list.next = with_next(cut);
    vec![val(&list)]
}

fn link(i: usize) -> LinkInfo {
    LinkInfo {
        code: "c".repeat(64),
        group: group(i),
        created_by: user(i),
        created_at: TS,
        expires_at: Some(TS),
        max_uses: Some(u32::MAX),
        uses: u32::MAX,
        revoked: true,
    }
}

fn links_create(_: &Shape) -> Vec<Value> {
    vec![val(&link(0))]
}

fn links_list(s: &Shape) -> Vec<Value> {
    let mut list = LinkList {
        links: (0..s.entries).map(link).collect(),
        next: None,
    };
    let cut = fit::link_list(&mut list);
    list.next = with_next(cut);
    vec![val(&list)]
}

fn links_preview(s: &Shape) -> Vec<Value> {
    vec![val(&LinkPreview {
        group: group(0),
        name: s.text(MAX_NAME_CHARS),
        description: s.text(MAX_DESCRIPTION_CHARS),
        members: BIG,
        photo: Some(media(0)),
    })]
}

fn bans_list(s: &Shape) -> Vec<Value> {
    let mut list = BanList {
        bans: (0..s.entries)
            .map(|i| BanInfo {
                user: user(i),
                by: user(i + 1),
                by_rank: u32::MAX,
                reason: s.text(MAX_REASON_CHARS),
                at: TS,
            })
            .collect(),
        next: None,
    };
    let cut = fit::ban_list(&mut list);
    list.next = with_next(cut);
    vec![val(&list)]
}

fn history_with(s: &Shape, anchor: Anchor) -> Value {
    let count = s.entries.min(MAX_HISTORY_LIMIT as usize) as u64;
    let mut result = HistoryResult {
        items: {
            let row = item(s, 0);
            (0..count)
                .map(|seq| TimelineItem {
                    seq: seq + 1,
                    ..row.clone()
                })
                .collect()
        },
        more_before: false,
        more_after: false,
    };
    fit::history(&mut result, anchor);
    assert!(count == 0 || !result.items.is_empty(), "one row fits");
    val(&result)
}

fn msgs_history(s: &Shape) -> Vec<Value> {
    let around = (s.entries as u64 / 2).max(1);
    vec![
        history_with(s, Anchor::Newest),
        history_with(s, Anchor::Oldest),
        history_with(s, Anchor::Around(around)),
    ]
}

fn audit_list(s: &Shape) -> Vec<Value> {
    vec![history_with(s, Anchor::Newest)]
}

fn seen_by(s: &Shape) -> Vec<Value> {
    let mut list = SeenBy {
        users: (0..s.entries).map(user).collect(),
        next: None,
    };
    let cut = fit::seen_by(&mut list);
    list.next = with_next(cut);
    vec![val(&list)]
}

fn users_search(s: &Shape) -> Vec<Value> {
    let mut result = SearchResult {
        users: (0..s.entries.min(MAX_SEARCH_LIMIT as usize))
            .map(|i| profile(s, i))
            .collect(),
        next: None,
    };
    let cut = fit::search(&mut result);
    result.next = with_next(cut);
    vec![val(&result)]
}

fn presence_get(s: &Shape) -> Vec<Value> {
    // Not cut: at most 100 users are asked, and 100 entries always fit.
    vec![val(&PresenceList {
        presence: (0..s.entries.min(MAX_PRESENCE_USERS))
            .map(|i| PresencePush {
                user: user(i),
                status: Status::Offline,
                last_seen: Some(TS),
            })
            .collect(),
    })]
}

fn media_urls(s: &Shape) -> Vec<Value> {
    // Not cut: one URL per asked item, at most 100. A URL is the media's path with its
    // signature: `/api/media/<node>/<64 hex>?thumb=1280&exp=<ms>&sig=<43>` (media.md §4.4);
    // 600 bytes is more than any.
    vec![val(&MediaUrls {
        urls: (0..s.entries.min(MAX_URL_ITEMS))
            .map(|_| Some("u".repeat(600)))
            .collect(),
        expires_at: TS,
    })]
}

fn profile_one(s: &Shape) -> Vec<Value> {
    vec![val(&profile(s, 0))]
}

fn refresh(_: &Shape) -> Vec<Value> {
    vec![val(&RefreshResult { expires_at: TS })]
}

fn ready(s: &Shape) -> Vec<Value> {
    vec![val(&Ready {
        user: profile(s, 0),
        session: "s".repeat(64),
        cursor: cursor(),
        resumed: true,
        expires_at: TS,
    })]
}

// ------------------------------------------------------------------------------ pushes

fn push_chat_event(s: &Shape) -> Vec<Value> {
    // A new message is pushed as history shows it; edits, deletes, reactions and pins as
    // their own (smaller) event.
    vec![val(&ChatEventPush {
        group: group(0),
        item: item(s, BIG),
    })]
}

/// `msgs.event`: the largest signed event a client asks for, the maximal `msg.post` above.
fn msgs_event(s: &Shape) -> Vec<Value> {
    let body = MsgPost {
        text: s.text(MAX_TEXT_CHARS),
        reply_to: Some(BIG),
        mentions: (0..MAX_MENTIONS).map(user).collect(),
        mention_everyone: true,
        attachments: (0..MAX_ATTACHMENTS).map(|i| attachment(s, i)).collect(),
        forwarded: Some(Forwarded {
            user: user(usize::MAX >> 1),
            group: Some(group(usize::MAX >> 1)),
            ts: TS,
        }),
    };
    let event = Event {
        group: group(0),
        seq: BIG,
        prev: Some(event_id(1)),
        ts: TS,
        sender: user(0),
        kind: EventKind::MsgPost,
        body: val(&body),
    };
    let key = SigningKey::from_bytes(&[7; 32]);
    let signed = SignedEvent::sign(event, group(0).home(), &key).expect("signs");
    vec![val(&EventResult {
        event: signed.raw().to_vec(),
    })]
}

fn push_read(_: &Shape) -> Vec<Value> {
    vec![val(&ReadPush {
        group: group(0),
        user: user(0),
        seq: BIG,
    })]
}

fn push_typing(_: &Shape) -> Vec<Value> {
    vec![val(&TypingPush {
        group: group(0),
        user: user(0),
    })]
}

fn push_invite(s: &Shape) -> Vec<Value> {
    vec![val(&InviteInfo {
        group: group(0),
        name: s.text(MAX_NAME_CHARS),
        by: user(0),
        at: TS,
    })]
}

fn push_presence(_: &Shape) -> Vec<Value> {
    vec![val(&PresencePush {
        user: user(0),
        status: Status::Offline,
        last_seen: Some(TS),
    })]
}

fn push_profile(s: &Shape) -> Vec<Value> {
    vec![val(&ProfilePush {
        user: user(0),
        display_name: s.text(MAX_DISPLAY_NAME_CHARS),
        bio: s.text(MAX_BIO_CHARS),
        avatar: Some(media(0)),
    })]
}

fn chat_settings(_: &Shape) -> Vec<Value> {
    vec![val(&ChatSettings {
        group: group(0),
        muted_until: Some(MUTED_FOREVER),
        pinned_at: Some(TS),
    })]
}

// ------------------------------------------------------------------------------ the tables

/// Every method's results.
const METHODS: &[(&str, Build)] = &[
    (gateway::method::AUTH, ready),
    (gateway::method::AUTH_REFRESH, refresh),
    (gateway::method::PROFILE_GET, profile_one),
    (gateway::method::PROFILE_UPDATE, profile_one),
    (gateway::method::USERS_SEARCH, users_search),
    (gateway::method::PING, empty),
    (gateway::method::PRESENCE_GET, presence_get),
    (gateway::method::MEDIA_URLS, media_urls),
    (method::CHATS_LIST, chats_list),
    (method::CHATS_GET, chats_get),
    (method::DM_OPEN, one_summary),
    (method::GROUPS_CREATE, one_summary),
    (method::GROUPS_UPDATE, write_result),
    (method::GROUPS_DELETE, write_result),
    (method::GROUPS_TRANSFER, write_result),
    (method::GROUPS_DIRECTORY, directory),
    (method::GROUPS_JOIN, one_summary),
    (method::GROUPS_LEAVE, write_result),
    (method::INVITES_SEND, write_result),
    (method::INVITES_LIST, invites_list),
    (method::INVITES_ACCEPT, one_summary),
    (method::INVITES_DECLINE, write_result),
    (method::LINKS_CREATE, links_create),
    (method::LINKS_LIST, links_list),
    (method::LINKS_REVOKE, empty),
    (method::LINKS_PREVIEW, links_preview),
    (method::LINKS_REDEEM, one_summary),
    (method::MEMBERS_KICK, write_result),
    (method::MEMBERS_BAN, write_result),
    (method::MEMBERS_UNBAN, write_result),
    (method::MEMBERS_ROLES, write_result),
    (method::MEMBERS_LIST, members_list),
    (method::BANS_LIST, bans_list),
    (method::ROLES_CREATE, write_result),
    (method::ROLES_UPDATE, write_result),
    (method::ROLES_DELETE, write_result),
    (method::MSGS_POST, write_result),
    (method::MSGS_EDIT, write_result),
    (method::MSGS_DELETE, write_result),
    (method::MSGS_REACT, write_result),
    (method::MSGS_PIN, write_result),
    (method::MSGS_HISTORY, msgs_history),
    (method::MSGS_READ, empty),
    (method::MSGS_SEEN_BY, seen_by),
    (method::MSGS_EVENT, msgs_event),
    (method::MSGS_TYPING, empty),
    (method::AUDIT_LIST, audit_list),
    (method::MSGS_FORWARD, write_result),
    (method::CHATS_SETTINGS, chat_settings),
];

/// Every push's data.
const PUSHES: &[(&str, Build)] = &[
    (gateway::event::PRESENCE, push_presence),
    (gateway::event::PROFILE, push_profile),
    (event::CHAT_EVENT, push_chat_event),
    (event::CHAT_READ, push_read),
    (event::CHAT_TYPING, push_typing),
    (event::INVITE, push_invite),
    (event::CHAT_SETTINGS, chat_settings),
];

/// The names of the constants inside `pub mod <module> { … }` of a source file.
fn declared(source: &str, module: &str) -> Vec<String> {
    let start = source
        .find(&format!("pub mod {module} {{"))
        .unwrap_or_else(|| panic!("no module {module}"));
    let block = &source[start..];
    let end = block.find("\n}").expect("module end");
    block[..end]
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line.strip_prefix("pub const ")?;
            let (_, value) = rest.split_once("&str = \"")?;
            Some(value.trim_end_matches("\";").to_owned())
        })
        .collect()
}

const GATEWAY_SOURCE: &str = include_str!("../src/gateway/mod.rs");
const CHAT_SOURCE: &str = include_str!("../src/gateway/chat.rs");

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

#[test]
fn every_method_and_push_has_an_entry() {
    let mut methods = declared(GATEWAY_SOURCE, "method");
    methods.extend(declared(CHAT_SOURCE, "method"));
    let table: Vec<String> = METHODS.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(
        sorted(table),
        sorted(methods),
        "METHODS covers every method"
    );
    let mut pushes = declared(GATEWAY_SOURCE, "event");
    pushes.extend(declared(CHAT_SOURCE, "event"));
    let table: Vec<String> = PUSHES.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(sorted(table), sorted(pushes), "PUSHES covers every push");
}

fn assert_reply_fits(name: &str, result: Value) {
    let frame = ServerFrame::Ok { id: BIG, result };
    let bytes = frame
        .encode()
        .unwrap_or_else(|e| panic!("{name}: the reply does not fit: {e}"));
    assert!(bytes.len() <= MAX_FRAME, "{name}: {} bytes", bytes.len());
}

fn assert_push_fits(name: &str, data: Value) {
    let frame = ServerFrame::Push(Push {
        event: name.to_owned(),
        data,
        cursor: Some(cursor()),
    });
    let bytes = frame
        .encode()
        .unwrap_or_else(|e| panic!("{name}: the push does not fit: {e}"));
    assert!(bytes.len() <= MAX_FRAME, "{name}: {} bytes", bytes.len());
}

/// The largest case of all: every list longer than any page, every text of 4-byte characters.
#[test]
fn maximal_replies_and_pushes_fit() {
    let shape = Shape {
        entries: MANY,
        ch: '😀',
    };
    for (name, build) in METHODS {
        for result in build(&shape) {
            assert_reply_fits(name, result);
        }
    }
    for (name, build) in PUSHES {
        for data in build(&shape) {
            assert_push_fits(name, data);
        }
    }
}

/// A list cut by bytes says so: a maximal chat list is cut, and keeps at least one chat.
#[test]
fn a_cut_list_has_a_next() {
    let shape = Shape {
        entries: 5,
        ch: '😀',
    };
    let mut list = ChatList {
        chats: (0..5).map(|i| summary(&shape, i)).collect(),
        next: None,
    };
    assert!(fit::chat_list(&mut list));
    assert!((1..5).contains(&list.chats.len()));
    let mut history = HistoryResult {
        items: (1..=8).map(|seq| item(&shape, seq)).collect(),
        more_before: false,
        more_after: false,
    };
    fit::history(&mut history, Anchor::Newest);
    assert!(history.more_before && !history.more_after);
    assert_eq!(history.items.last().map(|i| i.seq), Some(8));
    let mut history = HistoryResult {
        items: (1..=8).map(|seq| item(&shape, seq)).collect(),
        more_before: false,
        more_after: false,
    };
    fit::history(&mut history, Anchor::Around(5));
    assert!(history.items.iter().any(|i| i.seq == 5));
    assert!(history.more_before || history.more_after);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Any number of entries, any character width: every reply and push fits.
    #[test]
    fn replies_and_pushes_fit(
        entries in prop_oneof![0usize..8, 8usize..400],
        ch in prop::sample::select(vec!['a', 'é', '€', '😀']),
    ) {
        let shape = Shape { entries, ch };
        for (name, build) in METHODS {
            for result in build(&shape) {
                assert_reply_fits(name, result);
            }
        }
        for (name, build) in PUSHES {
            for data in build(&shape) {
                assert_push_fits(name, data);
            }
        }
    }
}
