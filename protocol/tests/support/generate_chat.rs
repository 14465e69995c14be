//! The `chat.json` and `event-bodies.json` vectors: the params, results and push data of the
//! chat methods (spec/gateway.md § Chats), and the body of each event kind of a group log
//! (spec/protocol.md § 5.5), with the decoders the spec tests use for their rules.
//!
//! A chat case is the bare map a frame carries in `params`, `result` or `data`; a body case is
//! the map an event carries in `body`, decoded with `Body::decode` for the kind its rule names.

use ciborium::Value;
use winichat_protocol::Timestamp;
use winichat_protocol::codec::{self, Limits, MAX_SAFE_INTEGER};
use winichat_protocol::event::EventKind;
use winichat_protocol::gateway::chat::*;
use winichat_protocol::gateway::search::{MsgSearchHit, MsgSearchParams, MsgSearchResult};
use winichat_protocol::group::bodies::*;
use winichat_protocol::group::{
    Body, EVERYONE, EVERYONE_RANK, GroupKind, MAX_DESCRIPTION_CHARS, MAX_EMOJI_BYTES, MAX_MENTIONS,
    MAX_NAME_CHARS, MAX_REASON_CHARS, MAX_ROLE_NAME_CHARS, MAX_TEXT_CHARS, Permissions, Role,
    RoleId, Visibility,
};
use winichat_protocol::ids::{EventId, GroupId, Handle, NodeName, UserId};

use super::generate::{
    TS0, alice, bob, create_event, group, home, post_event, signed, test_key, vmap, vtext,
};
use super::generate_media::{file, media_id, photo, video, voice, voice_input, wave};
use super::model::{Case, CddlExpect, ErrorExpect, Expect, VectorFile};
use super::names;

// ------------------------------------------------------------------------------ rules

/// The CDDL rules of the chat family, each decoded by [`decode`].
pub const CHAT_RULES: &[&str] = &[
    "group-params",
    "txn-group-params",
    "target-params",
    "dm-open-params",
    "group-create-params",
    "group-update-params",
    "directory-params",
    "directory-entry",
    "directory-result",
    "join-params",
    "invite-info",
    "invite-list",
    "link-create-params",
    "link-info",
    "link-list",
    "link-params",
    "code-params",
    "redeem-params",
    "link-preview",
    "kick-params",
    "set-roles-params",
    "ban-info",
    "ban-list",
    "role-info",
    "role-create-params",
    "role-update-params",
    "role-delete-params",
    "post-params",
    "edit-params",
    "msg-params",
    "react-params",
    "pin-params",
    "write-result",
    "history-params",
    "audit-params",
    "reaction",
    "timeline-item",
    "history-result",
    "read-params",
    "seen-by",
    "event-params",
    "event-result",
    "chat-summary",
    "chat-list",
    "member-info",
    "chat-detail",
    "chat-event-data",
    "chat-read-data",
    "chat-typing-data",
    "chats-list-params",
    "after-params",
    "page-params",
    "member-list",
    "seen-by-params",
    "msg-search-params",
    "msg-search-hit",
    "msg-search-result",
    "forward-params",
    "chats-settings-params",
    "chat-settings",
];

/// The event body rules, `<kind with dashes>-body`, each with its kind.
pub const BODY_RULES: &[(&str, &str)] = &[
    ("group-create-body", "group.create"),
    ("group-update-body", "group.update"),
    ("group-delete-body", "group.delete"),
    ("member-invite-body", "member.invite"),
    ("member-join-body", "member.join"),
    ("member-leave-body", "member.leave"),
    ("member-kick-body", "member.kick"),
    ("member-ban-body", "member.ban"),
    ("member-unban-body", "member.unban"),
    ("member-roles-body", "member.roles"),
    ("role-create-body", "role.create"),
    ("role-update-body", "role.update"),
    ("role-delete-body", "role.delete"),
    ("owner-transfer-body", "owner.transfer"),
    ("msg-post-body", "msg.post"),
    ("msg-edit-body", "msg.edit"),
    ("msg-delete-body", "msg.delete"),
    ("msg-react-body", "msg.react"),
    ("msg-pin-body", "msg.pin"),
];

fn dec<T: serde::de::DeserializeOwned + serde::Serialize>(
    b: &[u8],
) -> Result<Vec<u8>, ErrorExpect> {
    let value: T = codec::decode(b, &Limits::CLIENT_FRAME).map_err(|e| names::decode_expect(&e))?;
    Ok(codec::encode(&value).expect("a decoded value re-encodes"))
}

/// Decodes `b` as an event body of `kind` with `Body::decode` and re-encodes it with
/// `Body::to_value`. A body that does not fit its kind is the error `body`.
fn body(kind: &str, b: &[u8]) -> Result<Vec<u8>, ErrorExpect> {
    let value: Value = codec::decode(b, &Limits::EVENT).map_err(|e| names::decode_expect(&e))?;
    let kind = EventKind::parse(kind).expect("a known kind");
    let decoded = Body::decode(&kind, &value).map_err(|_| names::simple("body"))?;
    assert_eq!(decoded.kind(), Some(kind), "Body::kind of a decoded body");
    Ok(codec::encode(&decoded.to_value()).expect("a body re-encodes"))
}

/// Decodes `b` as the type of `rule` and re-encodes it; `None` for a rule of neither family.
pub fn decode(rule: &str, b: &[u8]) -> Option<Result<Vec<u8>, ErrorExpect>> {
    if let Some((_, kind)) = BODY_RULES.iter().find(|(r, _)| *r == rule) {
        return Some(body(kind, b));
    }
    Some(match rule {
        "group-params" => dec::<GroupParams>(b),
        "txn-group-params" => dec::<TxnGroupParams>(b),
        "target-params" => dec::<TargetParams>(b),
        "dm-open-params" => dec::<DmOpenParams>(b),
        "group-create-params" => dec::<GroupCreateParams>(b),
        "group-update-params" => dec::<GroupUpdateParams>(b),
        "directory-params" => dec::<DirectoryParams>(b),
        "directory-entry" => dec::<DirectoryEntry>(b),
        "directory-result" => dec::<DirectoryResult>(b),
        "join-params" => dec::<JoinParams>(b),
        "invite-info" => dec::<InviteInfo>(b),
        "invite-list" => dec::<InviteList>(b),
        "link-create-params" => dec::<LinkCreateParams>(b),
        "link-info" => dec::<LinkInfo>(b),
        "link-list" => dec::<LinkList>(b),
        "link-params" => dec::<LinkParams>(b),
        "code-params" => dec::<CodeParams>(b),
        "redeem-params" => dec::<RedeemParams>(b),
        "link-preview" => dec::<LinkPreview>(b),
        "kick-params" => dec::<KickParams>(b),
        "set-roles-params" => dec::<SetRolesParams>(b),
        "ban-info" => dec::<BanInfo>(b),
        "ban-list" => dec::<BanList>(b),
        "role-info" => dec::<Role>(b),
        "role-create-params" => dec::<RoleCreateParams>(b),
        "role-update-params" => dec::<RoleUpdateParams>(b),
        "role-delete-params" => dec::<RoleDeleteParams>(b),
        "post-params" => dec::<PostParams>(b),
        "edit-params" => dec::<EditParams>(b),
        "msg-params" => dec::<MsgParams>(b),
        "react-params" => dec::<ReactParams>(b),
        "pin-params" => dec::<PinParams>(b),
        "write-result" => dec::<WriteResult>(b),
        "history-params" => dec::<HistoryParams>(b),
        "audit-params" => dec::<AuditParams>(b),
        "reaction" => dec::<Reaction>(b),
        "timeline-item" => dec::<TimelineItem>(b),
        "history-result" => dec::<HistoryResult>(b),
        "read-params" => dec::<ReadParams>(b),
        "seen-by" => dec::<SeenBy>(b),
        "event-params" => dec::<EventParams>(b),
        "event-result" => dec::<EventResult>(b),
        "chat-summary" => dec::<ChatSummary>(b),
        "chat-list" => dec::<ChatList>(b),
        "member-info" => dec::<MemberInfo>(b),
        "chat-detail" => dec::<ChatDetail>(b),
        "chat-event-data" => dec::<ChatEventPush>(b),
        "chat-read-data" => dec::<ReadPush>(b),
        "chat-typing-data" => dec::<TypingPush>(b),
        "chats-list-params" => dec::<ChatsListParams>(b),
        "after-params" => dec::<AfterParams>(b),
        "page-params" => dec::<PageParams>(b),
        "member-list" => dec::<MemberList>(b),
        "seen-by-params" => dec::<SeenByParams>(b),
        "msg-search-params" => dec::<MsgSearchParams>(b),
        "msg-search-hit" => dec::<MsgSearchHit>(b),
        "msg-search-result" => dec::<MsgSearchResult>(b),
        "forward-params" => dec::<ForwardParams>(b),
        "chats-settings-params" => dec::<ChatSettingsParams>(b),
        "chat-settings" => dec::<ChatSettings>(b),
        _ => return None,
    })
}

// ------------------------------------------------------------------------------ fixtures

fn enc<T: serde::Serialize>(value: &T) -> Vec<u8> {
    codec::encode(value).expect("encode")
}

fn val<T: serde::Serialize>(value: &T) -> Value {
    Value::serialized(value).expect("value")
}

fn valid(name: &str, rule: &str, bytes: &[u8]) -> Case {
    Case::new(name, rule, bytes, Expect::valid())
}

fn schema(name: &str, rule: &str, value: &Value) -> Case {
    Case::new(name, rule, &enc(value), Expect::error("schema"))
}

fn bad_body(name: &str, rule: &str, value: &Value) -> Case {
    Case::new(name, rule, &enc(value), Expect::error("body"))
}

fn carol() -> UserId {
    UserId::parse("@carol:chat.example.org").expect("user")
}

fn handle() -> Handle {
    Handle::parse("#rustaceans:chat.example.org").expect("handle")
}

fn public_group() -> GroupId {
    GroupId::parse("!r5t8w1:chat.example.org").expect("group")
}

fn dm_group() -> GroupId {
    GroupId::parse("!d4m0x7:chat.example.org").expect("group")
}

fn event_id(n: u8) -> EventId {
    EventId::of_payload(&[n])
}

fn ts(offset: u64) -> Timestamp {
    Timestamp(TS0 + offset)
}

const TXN: &str = "01JD7Z4X9K2M";

/// A custom role: moderators.
fn moderator() -> Role {
    Role {
        id: 1,
        name: "Moderators".to_owned(),
        colour: "#2e86de".to_owned(),
        permissions: Permissions::PIN_MESSAGES
            | Permissions::MANAGE_MESSAGES
            | Permissions::KICK_MEMBERS
            | Permissions::BAN_MEMBERS
            | Permissions::VIEW_AUDIT_LOG,
        rank: 1,
    }
}

fn everyone() -> Role {
    Role {
        id: EVERYONE,
        name: "everyone".to_owned(),
        colour: String::new(),
        permissions: Permissions::EVERYONE_DEFAULT,
        rank: EVERYONE_RANK,
    }
}

/// `msg.post` 7 by bob, edited, pinned, with reactions.
fn post_item() -> TimelineItem {
    TimelineItem {
        seq: 7,
        id: event_id(7),
        ts: ts(70_000),
        sender: bob(),
        kind: EventKind::MsgPost,
        body: val(&MsgPost {
            text: "Hello, rustaceans!".to_owned(),
            reply_to: Some(5),
            mentions: vec![alice()],
            mention_everyone: false,
            attachments: Vec::new(),
            forwarded: None,
        }),
        edited_at: Some(ts(75_000)),
        deleted: false,
        pinned: true,
        reactions: vec![Reaction {
            emoji: "👍".to_owned(),
            count: 2,
            users: vec![alice(), carol()],
        }],
        more_reactions: false,
    }
}

/// `member.join` 6 by carol.
fn join_item() -> TimelineItem {
    TimelineItem {
        seq: 6,
        id: event_id(6),
        ts: ts(60_000),
        sender: carol(),
        kind: EventKind::MemberJoin,
        body: val(&MemberJoin { via: JoinVia::Link }),
        edited_at: None,
        deleted: false,
        pinned: false,
        reactions: Vec::new(),
        more_reactions: false,
    }
}

/// A deleted `msg.post`: empty text, `deleted`.
fn deleted_item() -> TimelineItem {
    TimelineItem {
        seq: 8,
        id: event_id(8),
        ts: ts(80_000),
        sender: carol(),
        kind: EventKind::MsgPost,
        body: val(&MsgPost {
            text: String::new(),
            reply_to: None,
            mentions: Vec::new(),
            mention_everyone: false,
            attachments: Vec::new(),
            forwarded: None,
        }),
        edited_at: None,
        deleted: true,
        pinned: false,
        reactions: Vec::new(),
        more_reactions: false,
    }
}

fn group_summary() -> ChatSummary {
    ChatSummary {
        group: public_group(),
        kind: GroupKind::Group,
        name: "Rustaceans".to_owned(),
        description: "Talk about Rust.".to_owned(),
        visibility: Visibility::Public,
        handle: Some(handle()),
        owner: alice(),
        peer: None,
        members: 3,
        last_seq: 8,
        last: Some(deleted_item()),
        read_seq: 6,
        unread: 1,
        peer_read_seq: None,
        my_rank: 1,
        my_permissions: Permissions::EVERYONE_DEFAULT | moderator().permissions,
        pinned: vec![7],
        photo: None,
        muted_until: None,
        pinned_at: None,
    }
}

fn dm_summary() -> ChatSummary {
    ChatSummary {
        group: dm_group(),
        kind: GroupKind::Direct,
        name: String::new(),
        description: String::new(),
        visibility: Visibility::Private,
        handle: None,
        owner: alice(),
        peer: Some(bob()),
        members: 2,
        last_seq: 1,
        last: None,
        read_seq: 1,
        unread: 0,
        peer_read_seq: Some(1),
        my_rank: 0,
        my_permissions: Permissions::DIRECT,
        pinned: Vec::new(),
        photo: None,
        muted_until: None,
        pinned_at: None,
    }
}

fn link() -> LinkInfo {
    LinkInfo {
        code: "Xk3_9qLm2PzA".to_owned(),
        group: group(),
        created_by: alice(),
        created_at: ts(0),
        expires_at: Some(ts(86_400_000)),
        max_uses: Some(10),
        uses: 3,
        revoked: false,
    }
}

fn invite() -> InviteInfo {
    InviteInfo {
        group: group(),
        name: "Book club".to_owned(),
        by: alice(),
        at: ts(1_000),
    }
}

/// `2^53`: one more than a receiver accepts.
const TOO_BIG: u64 = MAX_SAFE_INTEGER + 1;

// ------------------------------------------------------------------------------ chat.json

/// The chat family.
pub fn chat() -> VectorFile {
    let g = || vtext(group().as_ref());
    let cases = vec![
        // the small params
        valid(
            "chats.get",
            "group-params",
            &enc(&GroupParams { group: group() }),
        ),
        schema(
            "chats.get of a user id",
            "group-params",
            &vmap(&[("group", vtext("@alice:chat.example.org"))]),
        ),
        valid(
            "groups.leave",
            "txn-group-params",
            &enc(&TxnGroupParams {
                txn: TXN.to_owned(),
                group: group(),
            }),
        ),
        valid(
            "groups.leave with an unknown field",
            "txn-group-params",
            &enc(&vmap(&[
                ("txn", vtext(TXN)),
                ("group", g()),
                ("silent", Value::Bool(true)),
            ])),
        )
        .reencoded(&enc(&vmap(&[("txn", vtext(TXN)), ("group", g())])))
        .note("Unknown fields are ignored."),
        schema(
            "groups.leave without a txn",
            "txn-group-params",
            &vmap(&[("group", g())]),
        ),
        schema(
            "groups.leave with a numeric txn",
            "txn-group-params",
            &vmap(&[("txn", Value::from(17)), ("group", g())]),
        )
        .note("txn is text (1-64 bytes); a number is refused, not converted."),
        schema(
            "groups.leave with a byte-string txn",
            "txn-group-params",
            &vmap(&[("txn", Value::Bytes(TXN.as_bytes().to_vec())), ("group", g())]),
        ),
        valid(
            "invites.send",
            "target-params",
            &enc(&TargetParams {
                txn: TXN.to_owned(),
                group: group(),
                user: bob(),
            }),
        ),
        valid(
            "dm.open",
            "dm-open-params",
            &enc(&DmOpenParams { user: bob() }),
        ),
        schema(
            "dm.open with a malformed user",
            "dm-open-params",
            &vmap(&[("user", vtext("@Bob:remote.example.net"))]),
        ),
        // groups
        valid(
            "groups.create, private",
            "group-create-params",
            &enc(&GroupCreateParams {
                txn: TXN.to_owned(),
                name: "Book club".to_owned(),
                description: String::new(),
                visibility: Visibility::Private,
                handle: None,
            }),
        ),
        valid(
            "groups.create, public with a handle",
            "group-create-params",
            &enc(&GroupCreateParams {
                txn: TXN.to_owned(),
                name: "Rustaceans".to_owned(),
                description: "Talk about Rust.".to_owned(),
                visibility: Visibility::Public,
                handle: Some("rustaceans".to_owned()),
            }),
        ),
        valid(
            "groups.create without a description",
            "group-create-params",
            &enc(&vmap(&[
                ("txn", vtext(TXN)),
                ("name", vtext("Book club")),
                ("visibility", vtext("private")),
            ])),
        )
        .reencoded(&enc(&vmap(&[
            ("txn", vtext(TXN)),
            ("name", vtext("Book club")),
            ("description", vtext("")),
            ("visibility", vtext("private")),
        ])))
        .note("An absent description is empty."),
        schema(
            "groups.create with an unknown visibility",
            "group-create-params",
            &vmap(&[
                ("txn", vtext(TXN)),
                ("name", vtext("Book club")),
                ("visibility", vtext("secret")),
            ]),
        ),
        schema(
            "groups.create with visibility direct",
            "group-create-params",
            &vmap(&[
                ("txn", vtext(TXN)),
                ("name", vtext("Book club")),
                ("visibility", vtext("direct")),
            ]),
        )
        .note("direct is a kind, not a visibility; direct chats are made by dm.open."),
        valid(
            "groups.update of the name",
            "group-update-params",
            &enc(&GroupUpdateParams {
                txn: TXN.to_owned(),
                group: group(),
                name: Some("Book club (2026)".to_owned()),
                description: None,
                visibility: None,
                handle: None,
                photo: None,
            }),
        ),
        valid(
            "groups.update to public",
            "group-update-params",
            &enc(&GroupUpdateParams {
                txn: TXN.to_owned(),
                group: group(),
                name: None,
                description: Some(String::new()),
                visibility: Some(Visibility::Public),
                handle: Some("bookclub".to_owned()),
                photo: None,
            }),
        ),
        valid(
            "groups.update of the photo",
            "group-update-params",
            &enc(&GroupUpdateParams {
                txn: TXN.to_owned(),
                group: group(),
                name: None,
                description: None,
                visibility: None,
                handle: None,
                photo: Some(Some(media_id("crew.png"))),
            }),
        ),
        valid(
            "groups.update removing the photo",
            "group-update-params",
            &enc(&GroupUpdateParams {
                txn: TXN.to_owned(),
                group: group(),
                name: None,
                description: None,
                visibility: None,
                handle: None,
                photo: Some(None),
            }),
        )
        .note("null removes the photo; an absent photo is unchanged."),
        schema(
            "groups.update with a photo in text form",
            "group-update-params",
            &vmap(&[
                ("txn", vtext(TXN)),
                ("group", g()),
                ("photo", vtext(&media_id("crew.png").to_string())),
            ]),
        ),
        valid(
            "groups.directory",
            "directory-params",
            &enc(&DirectoryParams {
                query: "rust".to_owned(),
                limit: Some(20),
                after: None,
            }),
        ),
        valid(
            "groups.directory of the biggest groups",
            "directory-params",
            &enc(&DirectoryParams {
                query: String::new(),
                limit: None,
                after: None,
            }),
        ),
        schema(
            "groups.directory with a negative limit",
            "directory-params",
            &vmap(&[("query", vtext("")), ("limit", Value::from(-1))]),
        ),
        valid(
            "a directory entry",
            "directory-entry",
            &enc(&DirectoryEntry {
                group: public_group(),
                handle: handle(),
                name: "Rustaceans".to_owned(),
                description: "Talk about Rust.".to_owned(),
                members: 3,
                joined: false,
                photo: None,
            }),
        ),
        valid(
            "a directory entry with a photo",
            "directory-entry",
            &enc(&DirectoryEntry {
                group: public_group(),
                handle: handle(),
                name: "Rustaceans".to_owned(),
                description: "Talk about Rust.".to_owned(),
                members: 3,
                joined: false,
                photo: Some(media_id("ferris.png")),
            }),
        ),
        valid(
            "groups.directory result",
            "directory-result",
            &enc(&DirectoryResult {
                groups: vec![DirectoryEntry {
                    group: public_group(),
                    handle: handle(),
                    name: "Rustaceans".to_owned(),
                    description: String::new(),
                    members: 3,
                    joined: true,
                    photo: None,
                }],
                next: None,
            }),
        ),
        valid(
            "groups.directory with no match",
            "directory-result",
            &enc(&DirectoryResult::default()),
        ),
        valid(
            "groups.join by handle",
            "join-params",
            &enc(&JoinParams {
                txn: TXN.to_owned(),
                group: None,
                handle: Some(handle()),
            }),
        ),
        valid(
            "groups.join by id",
            "join-params",
            &enc(&JoinParams {
                txn: TXN.to_owned(),
                group: Some(public_group()),
                handle: None,
            }),
        ),
        schema(
            "groups.join by a handle without its node",
            "join-params",
            &vmap(&[("txn", vtext(TXN)), ("handle", vtext("#rustaceans"))]),
        ),
        // invites
        valid("an invite", "invite-info", &enc(&invite())),
        valid(
            "invites.list result",
            "invite-list",
            &enc(&InviteList {
                invites: vec![invite()],
                next: None,
            }),
        ),
        valid(
            "invites.list with none",
            "invite-list",
            &enc(&InviteList::default()),
        ),
        // links
        valid(
            "links.create, limited",
            "link-create-params",
            &enc(&LinkCreateParams {
                group: group(),
                expires_in: Some(86_400),
                max_uses: Some(10),
            }),
        ),
        valid(
            "links.create, unlimited",
            "link-create-params",
            &enc(&LinkCreateParams {
                group: group(),
                expires_in: None,
                max_uses: None,
            }),
        ),
        schema(
            "links.create with max_uses over 2^32-1",
            "link-create-params",
            &vmap(&[("group", g()), ("max_uses", Value::from(1u64 << 32))]),
        ),
        valid("a link", "link-info", &enc(&link())),
        valid(
            "links.list result",
            "link-list",
            &enc(&LinkList {
                links: vec![
                    link(),
                    LinkInfo {
                        code: "b7Qw0-ZrT1uE".to_owned(),
                        expires_at: None,
                        max_uses: None,
                        uses: 0,
                        revoked: true,
                        ..link()
                    },
                ],
                next: None,
            }),
        ),
        valid(
            "links.revoke",
            "link-params",
            &enc(&LinkParams {
                group: group(),
                code: link().code,
            }),
        ),
        valid(
            "links.preview",
            "code-params",
            &enc(&CodeParams {
                code: link().code,
                node: None,
            }),
        ),
        schema(
            "links.preview with a numeric code",
            "code-params",
            &vmap(&[("code", Value::from(42))]),
        ),
        valid(
            "links.redeem",
            "redeem-params",
            &enc(&RedeemParams {
                txn: TXN.to_owned(),
                code: link().code,
                node: None,
            }),
        ),
        valid(
            "links.redeem of another node's link",
            "redeem-params",
            &enc(&RedeemParams {
                txn: TXN.to_owned(),
                code: link().code,
                node: Some(NodeName::parse("remote.example.net").expect("node")),
            }),
        ),
        valid(
            "links.preview result",
            "link-preview",
            &enc(&LinkPreview {
                group: group(),
                name: "Book club".to_owned(),
                description: String::new(),
                members: 5,
                photo: None,
            }),
        ),
        valid(
            "links.preview result with a photo",
            "link-preview",
            &enc(&LinkPreview {
                group: group(),
                name: "Book club".to_owned(),
                description: String::new(),
                members: 5,
                photo: Some(media_id("crew.png")),
            }),
        ),
        // members and bans
        valid(
            "members.kick with a reason",
            "kick-params",
            &enc(&KickParams {
                txn: TXN.to_owned(),
                group: group(),
                user: bob(),
                reason: "spam".to_owned(),
            }),
        ),
        valid(
            "members.ban without a reason",
            "kick-params",
            &enc(&vmap(&[
                ("txn", vtext(TXN)),
                ("group", g()),
                ("user", vtext(bob().as_ref())),
            ])),
        )
        .reencoded(&enc(&KickParams {
            txn: TXN.to_owned(),
            group: group(),
            user: bob(),
            reason: String::new(),
        }))
        .note("An absent reason is empty."),
        valid(
            "members.roles",
            "set-roles-params",
            &enc(&SetRolesParams {
                txn: TXN.to_owned(),
                group: group(),
                user: bob(),
                roles: vec![1, 3],
            }),
        ),
        valid(
            "members.roles to none",
            "set-roles-params",
            &enc(&SetRolesParams {
                txn: TXN.to_owned(),
                group: group(),
                user: bob(),
                roles: Vec::new(),
            }),
        ),
        schema(
            "members.roles with a role name",
            "set-roles-params",
            &vmap(&[
                ("txn", vtext(TXN)),
                ("group", g()),
                ("user", vtext(bob().as_ref())),
                ("roles", Value::Array(vec![vtext("Moderators")])),
            ]),
        ),
        valid(
            "a ban",
            "ban-info",
            &enc(&BanInfo {
                user: bob(),
                by: alice(),
                by_rank: 0,
                reason: "spam".to_owned(),
                at: ts(2_000),
            }),
        ),
        valid(
            "bans.list result",
            "ban-list",
            &enc(&BanList {
                bans: vec![BanInfo {
                    user: bob(),
                    by: alice(),
                    by_rank: 2,
                    reason: String::new(),
                    at: ts(2_000),
                }],
                next: None,
            }),
        ),
        // roles
        valid("a custom role", "role-info", &enc(&moderator())),
        valid("the everyone role", "role-info", &enc(&everyone()))
            .note("everyone: id 0, rank 2^32-1, no colour."),
        valid(
            "a role with every bit set",
            "role-info",
            &enc(&Role {
                permissions: Permissions(MAX_SAFE_INTEGER),
                ..moderator()
            }),
        )
        .note("Bits this version does not name are kept (a newer node may define them) and grant nothing here."),
        Case::new(
            "a role with permissions over 2^53-1",
            "role-info",
            &enc(&vmap(&[
                ("id", Value::from(1)),
                ("name", vtext("Moderators")),
                ("colour", vtext("")),
                ("permissions", Value::from(TOO_BIG)),
                ("rank", Value::from(1)),
            ])),
            Expect::error("integer_out_of_range"),
        )
        .cddl(CddlExpect::Invalid)
        .note("Permissions are below 2^53 so JavaScript holds them exactly."),
        valid(
            "roles.create",
            "role-create-params",
            &enc(&RoleCreateParams {
                txn: TXN.to_owned(),
                group: group(),
                name: "Moderators".to_owned(),
                colour: "#2e86de".to_owned(),
                permissions: moderator().permissions,
                rank: Some(1),
            }),
        ),
        valid(
            "roles.create, most junior, no colour",
            "role-create-params",
            &enc(&RoleCreateParams {
                txn: TXN.to_owned(),
                group: group(),
                name: "Helpers".to_owned(),
                colour: String::new(),
                permissions: Permissions::PIN_MESSAGES,
                rank: None,
            }),
        ),
        Case::new(
            "roles.create with permissions over 2^53-1",
            "role-create-params",
            &enc(&vmap(&[
                ("txn", vtext(TXN)),
                ("group", g()),
                ("name", vtext("Moderators")),
                ("permissions", Value::from(TOO_BIG)),
            ])),
            Expect::error("integer_out_of_range"),
        )
        .cddl(CddlExpect::Invalid),
        schema(
            "roles.create with permissions as flag names",
            "role-create-params",
            &vmap(&[
                ("txn", vtext(TXN)),
                ("group", g()),
                ("name", vtext("Moderators")),
                ("permissions", Value::Array(vec![vtext("kick_members")])),
            ]),
        ),
        valid(
            "roles.update of everyone's permissions",
            "role-update-params",
            &enc(&RoleUpdateParams {
                txn: TXN.to_owned(),
                group: group(),
                role: EVERYONE,
                name: None,
                colour: None,
                permissions: Some(Permissions::SEND_MESSAGES | Permissions::ADD_REACTIONS),
                rank: None,
            }),
        ),
        valid(
            "roles.update, every field",
            "role-update-params",
            &enc(&RoleUpdateParams {
                txn: TXN.to_owned(),
                group: group(),
                role: 1,
                name: Some("Mods".to_owned()),
                colour: Some(String::new()),
                permissions: Some(Permissions::KICK_MEMBERS),
                rank: Some(2),
            }),
        ),
        valid(
            "roles.delete",
            "role-delete-params",
            &enc(&RoleDeleteParams {
                txn: TXN.to_owned(),
                group: group(),
                role: 1,
            }),
        ),
        schema(
            "roles.delete with a negative role",
            "role-delete-params",
            &vmap(&[("txn", vtext(TXN)), ("group", g()), ("role", Value::from(-1))]),
        ),
        // messages
        valid(
            "msgs.post",
            "post-params",
            &enc(&PostParams {
                txn: TXN.to_owned(),
                group: group(),
                text: "Hi!".to_owned(),
                reply_to: None,
                mentions: Vec::new(),
                mention_everyone: false,
                attachments: Vec::new(),
            }),
        ),
        valid(
            "msgs.post, a reply with mentions",
            "post-params",
            &enc(&PostParams {
                txn: TXN.to_owned(),
                group: group(),
                text: "@bob @everyone see above".to_owned(),
                reply_to: Some(7),
                mentions: vec![bob()],
                mention_everyone: true,
                attachments: Vec::new(),
            }),
        ),
        valid(
            "msgs.post with the defaults written out",
            "post-params",
            &enc(&vmap(&[
                ("txn", vtext(TXN)),
                ("group", g()),
                ("text", vtext("Hi!")),
                ("mentions", Value::Array(Vec::new())),
                ("mention_everyone", Value::Bool(false)),
            ])),
        )
        .reencoded(&enc(&vmap(&[
            ("txn", vtext(TXN)),
            ("group", g()),
            ("text", vtext("Hi!")),
        ])))
        .note("Empty mentions and mention_everyone false are the defaults; senders omit them."),
        valid(
            "msgs.post with attachments and a caption",
            "post-params",
            &enc(&PostParams {
                txn: TXN.to_owned(),
                group: group(),
                text: "Holiday, day 1".to_owned(),
                reply_to: None,
                mentions: Vec::new(),
                mention_everyone: false,
                attachments: vec![
                    winichat_protocol::media::AttachmentInput {
                        media: media_id("beach.jpg"),
                        name: Some("beach.jpg".to_owned()),
                        voice: false,
                        waveform: None,
                        duration_ms: None,
                        poster: None,
                    },
                    winichat_protocol::media::AttachmentInput {
                        media: media_id("clip.mp4"),
                        name: None,
                        voice: false,
                        waveform: None,
                        duration_ms: Some(2_000),
                        poster: Some(media_id("clip-poster.jpg")),
                    },
                ],
            }),
        ),
        valid(
            "msgs.post of a voice message without text",
            "post-params",
            &enc(&PostParams {
                txn: TXN.to_owned(),
                group: group(),
                text: String::new(),
                reply_to: None,
                mentions: Vec::new(),
                mention_everyone: false,
                attachments: vec![voice_input()],
            }),
        )
        .note("With attachments the text is the caption and may be empty; without, the node answers bad_request."),
        schema(
            "msgs.post with attachments not in an array",
            "post-params",
            &vmap(&[
                ("txn", vtext(TXN)),
                ("group", g()),
                ("text", vtext("")),
                ("attachments", val(&voice_input())),
            ]),
        ),
        schema(
            "msgs.post with a byte-string text",
            "post-params",
            &vmap(&[
                ("txn", vtext(TXN)),
                ("group", g()),
                ("text", Value::Bytes(b"Hi!".to_vec())),
            ]),
        ),
        schema(
            "msgs.post with a boolean txn",
            "post-params",
            &vmap(&[
                ("txn", Value::Bool(true)),
                ("group", g()),
                ("text", vtext("Hi!")),
            ]),
        ),
        valid(
            "msgs.edit",
            "edit-params",
            &enc(&EditParams {
                txn: TXN.to_owned(),
                group: group(),
                seq: 7,
                text: "Hello, rustaceans!".to_owned(),
            }),
        ),
        valid(
            "msgs.delete",
            "msg-params",
            &enc(&MsgParams {
                txn: TXN.to_owned(),
                group: group(),
                seq: 7,
            }),
        ),
        schema(
            "msgs.delete by event id",
            "msg-params",
            &vmap(&[
                ("txn", vtext(TXN)),
                ("group", g()),
                ("seq", vtext(&event_id(7).to_string())),
            ]),
        )
        .note("Messages are addressed by their seq in the group log."),
        valid(
            "msgs.react",
            "react-params",
            &enc(&ReactParams {
                txn: TXN.to_owned(),
                group: group(),
                seq: 7,
                emoji: "👍".to_owned(),
                on: true,
            }),
        ),
        schema(
            "msgs.react with on as 1",
            "react-params",
            &vmap(&[
                ("txn", vtext(TXN)),
                ("group", g()),
                ("seq", Value::from(7)),
                ("emoji", vtext("👍")),
                ("on", Value::from(1)),
            ]),
        ),
        valid(
            "msgs.pin off",
            "pin-params",
            &enc(&PinParams {
                txn: TXN.to_owned(),
                group: group(),
                seq: 7,
                on: false,
            }),
        ),
        valid(
            "a write result",
            "write-result",
            &enc(&WriteResult {
                group: group(),
                seq: 9,
                id: event_id(9),
                role: None,
            }),
        ),
        valid(
            "roles.create result",
            "write-result",
            &enc(&WriteResult {
                group: group(),
                seq: 10,
                id: event_id(10),
                role: Some(2),
            }),
        ),
        // history
        valid(
            "msgs.history, the newest",
            "history-params",
            &enc(&HistoryParams {
                group: group(),
                before: None,
                after: None,
                around: None,
                limit: None,
            }),
        ),
        valid(
            "msgs.history before",
            "history-params",
            &enc(&HistoryParams {
                group: group(),
                before: Some(120),
                after: None,
                around: None,
                limit: Some(50),
            }),
        ),
        valid(
            "msgs.history around",
            "history-params",
            &enc(&HistoryParams {
                group: group(),
                before: None,
                after: None,
                around: Some(7),
                limit: Some(21),
            }),
        ),
        schema(
            "msgs.history with a negative before",
            "history-params",
            &vmap(&[("group", g()), ("before", Value::from(-5))]),
        ),
        valid(
            "audit.list",
            "audit-params",
            &enc(&AuditParams {
                group: group(),
                before: Some(40),
                limit: Some(100),
            }),
        ),
        valid(
            "a reaction",
            "reaction",
            &enc(&Reaction {
                emoji: "🎉".to_owned(),
                count: 25,
                users: vec![alice(), bob()],
            }),
        )
        .note("count is exact; users lists at most the first 20, earliest first."),
        valid("a message", "timeline-item", &enc(&post_item())),
        valid("a membership line", "timeline-item", &enc(&join_item())),
        valid("a deleted message", "timeline-item", &enc(&deleted_item())),
        valid(
            "an event of an unknown kind",
            "timeline-item",
            &enc(&TimelineItem {
                seq: 9,
                id: event_id(9),
                ts: ts(90_000),
                sender: bob(),
                kind: EventKind::parse("poll.create").expect("kind"),
                body: vmap(&[("question", vtext("Tabs or spaces?"))]),
                ..join_item()
            }),
        )
        .note("Kept and shown as an unknown event."),
        schema(
            "a timeline item with an array body",
            "timeline-item",
            &vmap(&[
                ("seq", Value::from(6)),
                ("id", vtext(&event_id(6).to_string())),
                ("ts", Value::from(TS0)),
                ("sender", vtext(carol().as_ref())),
                ("kind", vtext("member.join")),
                ("body", Value::Array(vec![vtext("link")])),
            ]),
        ),
        valid(
            "msgs.history result",
            "history-result",
            &enc(&HistoryResult {
                items: vec![join_item(), post_item(), deleted_item()],
                more_before: true,
                more_after: false,
            }),
        ),
        valid(
            "msgs.history of an empty page",
            "history-result",
            &enc(&HistoryResult {
                items: Vec::new(),
                more_before: false,
                more_after: false,
            }),
        ),
        // read positions
        valid(
            "msgs.read",
            "read-params",
            &enc(&ReadParams {
                group: group(),
                seq: 8,
            }),
        ),
        valid(
            "msgs.seen_by result",
            "seen-by",
            &enc(&SeenBy {
                users: vec![alice(), carol()],
                next: None,
            }),
        ),
        // signed events
        valid(
            "msgs.event",
            "event-params",
            &enc(&EventParams {
                group: group(),
                seq: 2,
            }),
        ),
        valid(
            "msgs.event of a group's first event",
            "event-result",
            &enc(&EventResult {
                event: signed(create_event(), &home(), &test_key()).raw().to_vec(),
            }),
        )
        .note(
            "event is the signed-event (COSE_Sign1) as stored, as a byte string: verify it as \
             protocol.md §4.2 says, with the key of the group's home node from its node \
             document (§4.3); it is the first event of events.json's log.",
        ),
        valid(
            "msgs.event of a message",
            "event-result",
            &enc(&EventResult {
                event: {
                    let first = signed(create_event(), &home(), &test_key());
                    signed(post_event(&first, TS0 + 1000, "hello"), &home(), &test_key())
                        .raw()
                        .to_vec()
                },
            }),
        )
        .note("Its payload's prev is the id of the event at seq 1 (the case above)."),
        schema(
            "msgs.event result with the event as an array of bytes",
            "event-result",
            &vmap(&[("event", Value::Array(vec![Value::from(0x84)]))]),
        ),
        schema(
            "msgs.event without a seq",
            "event-params",
            &vmap(&[("group", vtext(group().as_ref()))]),
        ),
        // chats
        valid("a group in the chat list", "chat-summary", &enc(&group_summary())),
        valid("a direct chat in the chat list", "chat-summary", &enc(&dm_summary())),
        valid(
            "a group with a photo in the chat list",
            "chat-summary",
            &enc(&ChatSummary {
                photo: Some(media_id("crew.png")),
                ..group_summary()
            }),
        ),
        valid(
            "a direct chat showing the peer's avatar",
            "chat-summary",
            &enc(&ChatSummary {
                photo: Some(media_id("bob.jpg")),
                ..dm_summary()
            }),
        )
        .note("For a direct chat, photo is the peer's avatar."),
        schema(
            "a chat summary with an unknown kind",
            "chat-summary",
            &{
                let mut v = val(&dm_summary());
                if let Value::Map(entries) = &mut v {
                    for (k, value) in entries.iter_mut() {
                        if k == &vtext("kind") {
                            *value = vtext("channel");
                        }
                    }
                }
                v
            },
        ),
        valid(
            "chats.list result",
            "chat-list",
            &enc(&ChatList {
                chats: vec![group_summary(), dm_summary()],
                next: None,
            }),
        ),
        valid(
            "a member with an avatar",
            "member-info",
            &enc(&MemberInfo {
                user: bob(),
                display_name: "Bob".to_owned(),
                roles: Vec::new(),
                rank: EVERYONE_RANK,
                joined_at: ts(10_000),
                read_seq: 7,
                avatar: Some(media_id("bob.jpg")),
            }),
        ),
        schema(
            "a member with an avatar in text form",
            "member-info",
            &vmap(&[
                ("user", val(&bob())),
                ("display_name", vtext("Bob")),
                ("roles", Value::Array(Vec::new())),
                ("rank", Value::from(EVERYONE_RANK)),
                ("joined_at", Value::from(TS0)),
                ("read_seq", Value::from(7)),
                ("avatar", vtext(&media_id("bob.jpg").to_string())),
            ]),
        ),
        valid(
            "a member",
            "member-info",
            &enc(&MemberInfo {
                user: bob(),
                display_name: "Bob".to_owned(),
                roles: vec![1],
                rank: 1,
                joined_at: ts(10_000),
                read_seq: 7,
                avatar: None,
            }),
        ),
        valid(
            "chats.get result",
            "chat-detail",
            &enc(&ChatDetail {
                chat: group_summary(),
                members: vec![
                    MemberInfo {
                        user: alice(),
                        display_name: "Alice".to_owned(),
                        roles: Vec::new(),
                        rank: 0,
                        joined_at: ts(0),
                        read_seq: 8,
                        avatar: None,
                    },
                    MemberInfo {
                        user: bob(),
                        display_name: "Bob".to_owned(),
                        roles: vec![1],
                        rank: 1,
                        joined_at: ts(10_000),
                        read_seq: 7,
                        avatar: None,
                    },
                    MemberInfo {
                        user: carol(),
                        display_name: "Carol".to_owned(),
                        roles: Vec::new(),
                        rank: EVERYONE_RANK,
                        joined_at: ts(60_000),
                        read_seq: 6,
                        avatar: None,
                    },
                ],
                roles: vec![moderator(), everyone()],
                invited: vec![UserId::parse("@dave:remote.example.net").expect("user")],
                members_next: None,
                more_invited: false,
            }),
        ),
        // pages (spec/gateway.md §8.8)
        valid(
            "chats.list, first page",
            "chats-list-params",
            &enc(&ChatsListParams::default()),
        )
        .note("{} is the first page of at most 100 chats."),
        valid(
            "chats.list, next page",
            "chats-list-params",
            &enc(&ChatsListParams {
                after: Some("1700000070000.!k3x9q2:chat.example.org".to_owned()),
                limit: Some(20),
            }),
        ),
        schema(
            "chats.list with a numeric after",
            "chats-list-params",
            &vmap(&[("after", Value::from(3))]),
        ),
        valid(
            "chats.list result with more to come",
            "chat-list",
            &enc(&ChatList {
                chats: vec![group_summary()],
                next: Some("1700000070000.!k3x9q2:chat.example.org".to_owned()),
            }),
        )
        .note("next is opaque: send it back as after."),
        valid(
            "invites.list, next page",
            "after-params",
            &enc(&AfterParams {
                after: Some("1".to_owned()),
            }),
        ),
        valid(
            "members.list, first page",
            "page-params",
            &enc(&PageParams {
                group: group(),
                after: None,
                limit: None,
            }),
        ),
        valid(
            "members.list, next page",
            "page-params",
            &enc(&PageParams {
                group: group(),
                after: Some("1.1700000010000.@bob:chat.example.org".to_owned()),
                limit: Some(50),
            }),
        ),
        valid(
            "members.list result",
            "member-list",
            &enc(&MemberList {
                members: vec![MemberInfo {
                    user: bob(),
                    display_name: "Bob".to_owned(),
                    roles: vec![1],
                    rank: 1,
                    joined_at: ts(10_000),
                    read_seq: 7,
                    avatar: None,
                }],
                next: Some("1.1700000010000.@bob:chat.example.org".to_owned()),
            }),
        ),
        valid(
            "members.list, last page",
            "member-list",
            &enc(&MemberList::default()),
        ),
        valid(
            "msgs.seen_by, next page",
            "seen-by-params",
            &enc(&SeenByParams {
                group: group(),
                seq: 8,
                after: Some("2".to_owned()),
            }),
        ),
        valid(
            "chats.get result with more members",
            "chat-detail",
            &enc(&ChatDetail {
                chat: group_summary(),
                members: vec![MemberInfo {
                    user: alice(),
                    display_name: "Alice".to_owned(),
                    roles: Vec::new(),
                    rank: 0,
                    joined_at: ts(0),
                    read_seq: 8,
                    avatar: None,
                }],
                roles: vec![moderator(), everyone()],
                invited: Vec::new(),
                members_next: Some("0.1700000000000.@alice:chat.example.org".to_owned()),
                more_invited: true,
            }),
        )
        .note("members_next continues with members.list; more_invited: invited was cut."),
        valid(
            "a message with more reactions than listed",
            "timeline-item",
            &enc(&TimelineItem {
                more_reactions: true,
                ..post_item()
            }),
        ),
        // pushes
        valid(
            "chat.event push",
            "chat-event-data",
            &enc(&ChatEventPush {
                group: public_group(),
                item: post_item(),
            }),
        ),
        valid(
            "chat.read push",
            "chat-read-data",
            &enc(&ReadPush {
                group: public_group(),
                user: bob(),
                seq: 8,
            }),
        ),
        valid(
            "chat.typing push",
            "chat-typing-data",
            &enc(&TypingPush {
                group: public_group(),
                user: bob(),
            }),
        ),
        schema(
            "chat.typing push without a user",
            "chat-typing-data",
            &vmap(&[("group", vtext(public_group().as_ref()))]),
        ),
        // message search
        valid(
            "msgs.search in every chat",
            "msg-search-params",
            &enc(&MsgSearchParams {
                query: "rust \"async\" OR -tokio*".to_owned(),
                group: None,
                limit: None,
                after: None,
            }),
        )
        .note(
            "nothing in query is syntax: its words are rust, async, or, tokio (gateway.md \
             §8.9)",
        ),
        valid(
            "msgs.search in one chat, next page",
            "msg-search-params",
            &enc(&MsgSearchParams {
                query: "hello".to_owned(),
                group: Some(public_group()),
                limit: Some(20),
                after: Some("1700000070000.7.!r5t8w1:chat.example.org".to_owned()),
            }),
        ),
        schema(
            "msgs.search without a query",
            "msg-search-params",
            &vmap(&[("group", vtext(public_group().as_ref()))]),
        ),
        valid(
            "msgs.search hit",
            "msg-search-hit",
            &enc(&search_hit()),
        ),
        schema(
            "msgs.search hit without a snippet",
            "msg-search-hit",
            &without(&val(&search_hit()), "snippet"),
        ),
        valid(
            "msgs.search result with more",
            "msg-search-result",
            &enc(&MsgSearchResult {
                results: vec![
                    search_hit(),
                    MsgSearchHit {
                        group: dm_group(),
                        seq: 3,
                        ts: ts(30_000),
                        sender: alice(),
                        snippet: "…the rustaceans meet on Tuesday".to_owned(),
                    },
                ],
                next: Some("1700000030000.3.!d4m0x7:chat.example.org".to_owned()),
            }),
        )
        .note("newest first; next continues with after"),
        valid(
            "msgs.search result, nothing found",
            "msg-search-result",
            &enc(&MsgSearchResult::default()),
        ),
        // message and chat actions (gateway.md §8.10)
        valid(
            "msgs.forward",
            "forward-params",
            &enc(&ForwardParams {
                txn: TXN.to_owned(),
                group: public_group(),
                from: MessageRef {
                    group: group(),
                    seq: 7,
                },
                original: None,
            }),
        ),
        valid(
            "msgs.forward submitted by the home of the original's chat, with the copy it read",
            "forward-params",
            &enc(&ForwardParams {
                txn: TXN.to_owned(),
                group: public_group(),
                from: MessageRef {
                    group: group(),
                    seq: 7,
                },
                original: Some(ForwardOriginal {
                    text: "the plan".to_owned(),
                    attachments: vec![photo()],
                    forwarded: Forwarded {
                        user: bob(),
                        group: None,
                        ts: ts(40_000),
                    },
                }),
            }),
        )
        .note("federation only (submit, federation.md §5.6): a gateway client never sends original"),
        schema(
            "msgs.forward with the source as an array",
            "forward-params",
            &vmap(&[
                ("txn", vtext(TXN)),
                ("group", vtext(public_group().as_ref())),
                (
                    "from",
                    Value::Array(vec![vtext(group().as_ref()), Value::from(7)]),
                ),
            ]),
        ),
        schema(
            "msgs.forward without a source",
            "forward-params",
            &vmap(&[("txn", vtext(TXN)), ("group", vtext(public_group().as_ref()))]),
        ),
        valid(
            "chats.settings: mute for an hour and pin",
            "chats-settings-params",
            &enc(&ChatSettingsParams {
                group: group(),
                muted_until: Some(Some(ts(3_600_000))),
                pinned: Some(true),
            }),
        ),
        valid(
            "chats.settings: unmute",
            "chats-settings-params",
            &enc(&ChatSettingsParams {
                group: group(),
                muted_until: Some(None),
                pinned: None,
            }),
        )
        .note("null unmutes; an absent muted_until leaves the mute as it is."),
        schema(
            "chats.settings with muted_until as text",
            "chats-settings-params",
            &vmap(&[
                ("group", vtext(group().as_ref())),
                ("muted_until", vtext("1h")),
            ]),
        ),
        valid(
            "chats.settings result: muted until unmuted, pinned",
            "chat-settings",
            &enc(&ChatSettings {
                group: group(),
                muted_until: Some(MUTED_FOREVER),
                pinned_at: Some(ts(90_000)),
            }),
        )
        .note("muted_until 2^53-1 means muted until unmuted."),
        valid(
            "chat.settings push: nothing set",
            "chat-settings",
            &enc(&ChatSettings {
                group: group(),
                muted_until: None,
                pinned_at: None,
            }),
        ),
        valid(
            "a muted chat pinned to the top of the list",
            "chat-summary",
            &enc(&ChatSummary {
                muted_until: Some(ts(3_600_000)),
                pinned_at: Some(ts(90_000)),
                ..group_summary()
            }),
        ),
        valid(
            "a forwarded message in the timeline",
            "timeline-item",
            &enc(&TimelineItem {
                body: val(&MsgPost {
                    forwarded: Some(Forwarded {
                        user: bob(),
                        group: Some(public_group()),
                        ts: ts(40_000),
                    }),
                    ..post("see this")
                }),
                edited_at: None,
                ..post_item()
            }),
        ),
    ];
    VectorFile {
        family: "chat".to_owned(),
        description: "The chat methods' params, results and push data (spec/gateway.md, \
                      Chats): each case is the bare map a frame carries in params, result or \
                      data."
            .to_owned(),
        cases,
        log_cases: Vec::new(),
        json_cases: Vec::new(),
    }
}

/// A message found by `msgs.search`: bob's post 7.
fn search_hit() -> MsgSearchHit {
    MsgSearchHit {
        group: public_group(),
        seq: 7,
        ts: ts(70_000),
        sender: bob(),
        snippet: "Hello, rustaceans!".to_owned(),
    }
}

// ------------------------------------------------------------------------------ event-bodies.json

fn post(text: &str) -> MsgPost {
    MsgPost {
        text: text.to_owned(),
        reply_to: None,
        mentions: Vec::new(),
        mention_everyone: false,
        attachments: Vec::new(),
        forwarded: None,
    }
}

fn role_create() -> RoleCreate {
    RoleCreate {
        role: 1,
        name: "Moderators".to_owned(),
        colour: "#2e86de".to_owned(),
        permissions: moderator().permissions,
        rank: 1,
    }
}

fn with(value: &Value, key: &str, new: Value) -> Value {
    let Value::Map(entries) = value else {
        panic!("a map")
    };
    let mut entries = entries.clone();
    match entries.iter_mut().find(|(k, _)| k == &vtext(key)) {
        Some((_, v)) => *v = new,
        None => entries.push((vtext(key), new)),
    }
    Value::Map(entries)
}

fn without(value: &Value, key: &str) -> Value {
    let Value::Map(entries) = value else {
        panic!("a map")
    };
    Value::Map(
        entries
            .iter()
            .filter(|(k, _)| k != &vtext(key))
            .cloned()
            .collect(),
    )
}

/// The event-bodies family.
pub fn event_bodies() -> VectorFile {
    let long = |n: usize| "x".repeat(n);
    let empty = enc(&vmap(&[]));
    let cases = vec![
        // group.*
        valid(
            "group.create of a private group",
            "group-create-body",
            &enc(&GroupCreate {
                kind: GroupKind::Group,
                name: "Book club".to_owned(),
                description: String::new(),
                visibility: Visibility::Private,
                handle: None,
                members: Vec::new(),
            }),
        ),
        valid(
            "group.create of a public group",
            "group-create-body",
            &enc(&GroupCreate {
                kind: GroupKind::Group,
                name: "Rustaceans".to_owned(),
                description: "Talk about Rust.".to_owned(),
                visibility: Visibility::Public,
                handle: Some(handle()),
                members: Vec::new(),
            }),
        ),
        valid(
            "group.create of a direct chat",
            "group-create-body",
            &enc(&GroupCreate {
                kind: GroupKind::Direct,
                name: String::new(),
                description: String::new(),
                visibility: Visibility::Private,
                handle: None,
                members: vec![bob()],
            }),
        ),
        valid(
            "group.create with a name of 64 characters",
            "group-create-body",
            &enc(&GroupCreate {
                kind: GroupKind::Group,
                name: "é".repeat(MAX_NAME_CHARS),
                description: long(MAX_DESCRIPTION_CHARS),
                visibility: Visibility::Private,
                handle: None,
                members: Vec::new(),
            }),
        )
        .note("Limits count characters (Unicode scalar values), not bytes: 64 × é is 128 bytes."),
        bad_body(
            "group.create with a name of 65 characters",
            "group-create-body",
            &val(&GroupCreate {
                kind: GroupKind::Group,
                name: "é".repeat(MAX_NAME_CHARS + 1),
                description: String::new(),
                visibility: Visibility::Private,
                handle: None,
                members: Vec::new(),
            }),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: the schema does not count characters."),
        bad_body(
            "group.create with a description of 1,025 characters",
            "group-create-body",
            &val(&GroupCreate {
                kind: GroupKind::Group,
                name: "Book club".to_owned(),
                description: long(MAX_DESCRIPTION_CHARS + 1),
                visibility: Visibility::Private,
                handle: None,
                members: Vec::new(),
            }),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: the schema does not count characters."),
        bad_body(
            "group.create without a kind",
            "group-create-body",
            &without(
                &val(&GroupCreate {
                    kind: GroupKind::Group,
                    name: "Book club".to_owned(),
                    description: String::new(),
                    visibility: Visibility::Private,
                    handle: None,
                    members: Vec::new(),
                }),
                "kind",
            ),
        ),
        bad_body(
            "group.create of a direct chat with a name",
            "group-create-body",
            &val(&GroupCreate {
                kind: GroupKind::Direct,
                name: "Alice and Bob".to_owned(),
                description: String::new(),
                visibility: Visibility::Private,
                handle: None,
                members: vec![bob()],
            }),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: a direct chat has an empty name and description, is private and lists exactly one other member."),
        bad_body(
            "group.create of a public group without a handle",
            "group-create-body",
            &val(&GroupCreate {
                kind: GroupKind::Group,
                name: "Rustaceans".to_owned(),
                description: String::new(),
                visibility: Visibility::Public,
                handle: None,
                members: Vec::new(),
            }),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: the handle is present exactly when the group is public."),
        bad_body(
            "group.create of a group with other members",
            "group-create-body",
            &val(&GroupCreate {
                kind: GroupKind::Group,
                name: "Book club".to_owned(),
                description: String::new(),
                visibility: Visibility::Private,
                handle: None,
                members: vec![bob()],
            }),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: a group starts with its owner alone; others are invited or join."),
        valid(
            "group.update of the name",
            "group-update-body",
            &enc(&GroupUpdate {
                name: Some("Book club (2026)".to_owned()),
                ..GroupUpdate::default()
            }),
        ),
        valid(
            "group.update to public with a handle",
            "group-update-body",
            &enc(&GroupUpdate {
                visibility: Some(Visibility::Public),
                handle: Some(handle()),
                ..GroupUpdate::default()
            }),
        ),
        valid(
            "group.update to private",
            "group-update-body",
            &enc(&GroupUpdate {
                visibility: Some(Visibility::Private),
                ..GroupUpdate::default()
            }),
        )
        .note("Going private releases the handle."),
        bad_body(
            "group.update to private with a handle",
            "group-update-body",
            &val(&GroupUpdate {
                visibility: Some(Visibility::Private),
                handle: Some(handle()),
                ..GroupUpdate::default()
            }),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: a private group has no handle."),
        bad_body(
            "group.update with a numeric name",
            "group-update-body",
            &vmap(&[("name", Value::from(5))]),
        ),
        valid(
            "group.update of a name with a family emoji",
            "group-update-body",
            &enc(&GroupUpdate {
                name: Some("Family 👨\u{200D}👩\u{200D}👧".to_owned()),
                ..GroupUpdate::default()
            }),
        )
        .note("U+200D between two emoji joins them (protocol.md §2.1)."),
        valid(
            "group.update of a name with a rainbow flag",
            "group-update-body",
            &enc(&GroupUpdate {
                name: Some("Pride 🏳\u{FE0F}\u{200D}🌈".to_owned()),
                ..GroupUpdate::default()
            }),
        )
        .note("U+FE0F after an emoji, then U+200D before the next emoji."),
        valid(
            "group.update of a name with a keycap",
            "group-update-body",
            &enc(&GroupUpdate {
                name: Some("Team 1\u{FE0F}\u{20E3}".to_owned()),
                ..GroupUpdate::default()
            }),
        )
        .note("U+FE0F is allowed after any Emoji=Yes character, ASCII digits included."),
        valid(
            "group.update of a right-to-left name",
            "group-update-body",
            &enc(&GroupUpdate {
                name: Some("מועדון ספרים".to_owned()),
                ..GroupUpdate::default()
            }),
        )
        .note("Right-to-left letters carry their own direction; no mark is needed."),
        bad_body(
            "group.update of a name with a right-to-left override",
            "group-update-body",
            &vmap(&[("name", vtext("\u{202E}SYSTEM"))]),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: shown text (protocol.md §2.1). U+202E makes the text after it show reversed."),
        bad_body(
            "group.update of a name with an isolate",
            "group-update-body",
            &vmap(&[("name", vtext("Book\u{2066} club"))]),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: shown text (protocol.md §2.1). Bidirectional isolates U+2066–U+2069 are refused."),
        bad_body(
            "group.update of a name with a right-to-left mark",
            "group-update-body",
            &vmap(&[("name", vtext("Book club\u{200F}"))]),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: shown text (protocol.md §2.1). Bidirectional marks U+200E, U+200F and U+061C are refused."),
        bad_body(
            "group.update of a name with a zero-width space",
            "group-update-body",
            &vmap(&[("name", vtext("ad\u{200B}min"))]),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: shown text (protocol.md §2.1). Zero-width characters hide in plain sight."),
        bad_body(
            "group.update of a name with a joiner between letters",
            "group-update-body",
            &vmap(&[("name", vtext("ad\u{200D}min"))]),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: shown text (protocol.md §2.1). U+200D only between two emoji."),
        bad_body(
            "group.update of a name ending in a joiner",
            "group-update-body",
            &vmap(&[("name", vtext("Family 👨\u{200D}"))]),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: shown text (protocol.md §2.1). U+200D needs an emoji on both sides."),
        bad_body(
            "group.update of a name with a BOM",
            "group-update-body",
            &vmap(&[("name", vtext("\u{FEFF}Book club"))]),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: shown text (protocol.md §2.1). U+FEFF is a format character."),
        bad_body(
            "group.update of a name with a tag character",
            "group-update-body",
            &vmap(&[("name", vtext("Book club\u{E0041}"))]),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: shown text (protocol.md §2.1). Tag characters U+E0000–U+E007F are refused (and with them subdivision flags)."),
        bad_body(
            "group.update of a name with a selector after a letter",
            "group-update-body",
            &vmap(&[("name", vtext("Book\u{FE0F} club"))]),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: shown text (protocol.md §2.1). U+FE0F only after an Emoji=Yes character."),
        bad_body(
            "group.update of a name with a Hangul filler",
            "group-update-body",
            &vmap(&[("name", vtext("\u{3164}"))]),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: shown text (protocol.md §2.1). A default-ignorable letter: shows as nothing."),
        bad_body(
            "group.update of a name on two lines",
            "group-update-body",
            &vmap(&[("name", vtext("Book\nclub"))]),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: shown text (protocol.md §2.1). A name is one line: \\n is refused in names."),
        valid(
            "group.update of a description on two lines",
            "group-update-body",
            &enc(&GroupUpdate {
                description: Some("Books.\nEvery Monday.".to_owned()),
                ..GroupUpdate::default()
            }),
        )
        .note("A description is shown text on several lines: \\n is allowed there."),
        bad_body(
            "group.update of a description with an override",
            "group-update-body",
            &vmap(&[("description", vtext("Rules: \u{202E}exe.txt"))]),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: shown text (protocol.md §2.1)."),
        valid(
            "group.update of the photo",
            "group-update-body",
            &enc(&GroupUpdate {
                photo: Some(Some(media_id("crew.png"))),
                ..GroupUpdate::default()
            }),
        ),
        valid(
            "group.update removing the photo",
            "group-update-body",
            &enc(&GroupUpdate {
                photo: Some(None),
                ..GroupUpdate::default()
            }),
        )
        .note("null removes the photo; an absent photo is unchanged."),
        bad_body(
            "group.update with a photo in text form",
            "group-update-body",
            &vmap(&[("photo", vtext(&media_id("crew.png").to_string()))]),
        )
        .note("A media id in CBOR is the map {node, sha256}."),
        bad_body(
            "group.update with the photo as an array",
            "group-update-body",
            &vmap(&[(
                "photo",
                Value::Array(vec![
                    vtext("chat.example.org"),
                    Value::Bytes(media_id("crew.png").sha256.to_vec()),
                ]),
            )]),
        )
        .note("A media id is the map {node, sha256}; the array of its fields is refused."),
        valid("group.delete", "group-delete-body", &empty),
        valid(
            "group.delete with an unknown field",
            "group-delete-body",
            &enc(&vmap(&[("reason", vtext("done"))])),
        )
        .reencoded(&empty)
        .note("Fields a kind does not define are ignored."),
        bad_body(
            "group.delete with an array body",
            "group-delete-body",
            &Value::Array(Vec::new()),
        )
        .note("Every body is a map, even an empty one."),
        // member.*
        valid(
            "member.invite",
            "member-invite-body",
            &enc(&MemberInvite { user: bob() }),
        ),
        valid(
            "member.join by link",
            "member-join-body",
            &enc(&MemberJoin {
                via: JoinVia::Link,
            }),
        ),
        valid(
            "member.join from the directory",
            "member-join-body",
            &enc(&MemberJoin {
                via: JoinVia::Public,
            }),
        ),
        bad_body(
            "member.join via an unknown way",
            "member-join-body",
            &vmap(&[("via", vtext("magic"))]),
        ),
        valid("member.leave", "member-leave-body", &empty),
        valid(
            "member.kick",
            "member-kick-body",
            &enc(&MemberKick {
                user: bob(),
                reason: "spam".to_owned(),
            }),
        ),
        valid(
            "member.kick without a reason",
            "member-kick-body",
            &enc(&vmap(&[("user", vtext(bob().as_ref()))])),
        )
        .reencoded(&enc(&MemberKick {
            user: bob(),
            reason: String::new(),
        }))
        .note("An absent reason is empty; the reason is always written."),
        bad_body(
            "member.kick with a reason of 513 characters",
            "member-kick-body",
            &val(&MemberKick {
                user: bob(),
                reason: long(MAX_REASON_CHARS + 1),
            }),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: the schema does not count characters."),
        valid(
            "member.ban",
            "member-ban-body",
            &enc(&MemberBan {
                user: bob(),
                reason: long(MAX_REASON_CHARS),
            }),
        ),
        bad_body(
            "member.ban of a malformed user",
            "member-ban-body",
            &vmap(&[("user", vtext("bob")), ("reason", vtext(""))]),
        ),
        valid(
            "member.unban",
            "member-unban-body",
            &enc(&MemberUnban { user: bob() }),
        ),
        valid(
            "member.roles",
            "member-roles-body",
            &enc(&MemberRoles {
                user: bob(),
                roles: vec![1, 2],
            }),
        ),
        valid(
            "member.roles to none",
            "member-roles-body",
            &enc(&MemberRoles {
                user: bob(),
                roles: Vec::new(),
            }),
        ),
        bad_body(
            "member.roles with roles as a map",
            "member-roles-body",
            &vmap(&[
                ("user", vtext(bob().as_ref())),
                ("roles", vmap(&[("1", Value::Bool(true))])),
            ]),
        ),
        bad_body(
            "member.roles with the everyone role",
            "member-roles-body",
            &val(&MemberRoles {
                user: bob(),
                roles: vec![EVERYONE, 1],
            }),
        )
        .note("everyone is implied, never assigned."),
        bad_body(
            "member.roles with a role twice",
            "member-roles-body",
            &val(&MemberRoles {
                user: bob(),
                roles: vec![1, 1],
            }),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: each role at most once (the schema cannot say the items differ)."),
        // role.*
        valid("role.create", "role-create-body", &enc(&role_create())),
        valid(
            "role.create without a colour",
            "role-create-body",
            &enc(&RoleCreate {
                name: "é".repeat(MAX_ROLE_NAME_CHARS),
                colour: String::new(),
                ..role_create()
            }),
        ),
        bad_body(
            "role.create with a bad colour",
            "role-create-body",
            &with(&val(&role_create()), "colour", vtext("red")),
        )
        .note("A colour is #rrggbb (lowercase hex digits) or empty."),
        bad_body(
            "role.create with an uppercase colour",
            "role-create-body",
            &with(&val(&role_create()), "colour", vtext("#2E86DE")),
        )
        .note("One text form per colour: lowercase hex digits."),
        bad_body(
            "member.kick with a reason with an override",
            "member-kick-body",
            &vmap(&[
                ("user", vtext(bob().as_ref())),
                ("reason", vtext("spam \u{202E}txt.exe")),
            ]),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: a reason is shown text (protocol.md §2.1)."),
        bad_body(
            "role.create with a name with a zero-width joiner between letters",
            "role-create-body",
            &with(&val(&role_create()), "name", vtext("Mod\u{200D}s")),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: a role name is shown text on one line (protocol.md §2.1)."),
        bad_body(
            "role.create with a name of 33 characters",
            "role-create-body",
            &with(
                &val(&role_create()),
                "name",
                vtext(&long(MAX_ROLE_NAME_CHARS + 1)),
            ),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: the schema does not count characters."),
        bad_body(
            "role.create with an empty name",
            "role-create-body",
            &with(&val(&role_create()), "name", vtext("")),
        )
        .note("A role name has 1 to 32 characters."),
        Case::new(
            "role.create with permissions over 2^53-1",
            "role-create-body",
            &enc(&with(&val(&role_create()), "permissions", Value::from(TOO_BIG))),
            Expect::error("integer_out_of_range"),
        )
        .cddl(CddlExpect::Invalid)
        .note("Refused by the CBOR subset (protocol.md §3.1) before the body is looked at."),
        bad_body(
            "role.create of the everyone role",
            "role-create-body",
            &with(&val(&role_create()), "role", Value::from(EVERYONE)),
        )
        .note("Custom roles have ids from 1 up; 0 is everyone."),
        valid(
            "role.update of a rank",
            "role-update-body",
            &enc(&RoleUpdate {
                role: 2,
                name: None,
                colour: None,
                permissions: None,
                rank: Some(1),
            }),
        ),
        valid(
            "role.update of everyone's permissions",
            "role-update-body",
            &enc(&RoleUpdate {
                role: EVERYONE,
                name: None,
                colour: None,
                permissions: Some(Permissions::SEND_MESSAGES),
                rank: None,
            }),
        ),
        valid(
            "role.update, every field",
            "role-update-body",
            &enc(&RoleUpdate {
                role: 1,
                name: Some("Mods".to_owned()),
                colour: Some(String::new()),
                permissions: Some(Permissions::ALL),
                rank: Some(2),
            }),
        ),
        bad_body(
            "role.update of everyone's name",
            "role-update-body",
            &val(&RoleUpdate {
                role: EVERYONE,
                name: Some("all".to_owned()),
                colour: None,
                permissions: None,
                rank: None,
            }),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: the everyone role takes only permissions."),
        bad_body(
            "role.update to rank 0",
            "role-update-body",
            &val(&RoleUpdate {
                role: 1,
                name: None,
                colour: None,
                permissions: None,
                rank: Some(0),
            }),
        )
        .note("Rank 0 is the owner's; custom roles start at 1."),
        bad_body(
            "role.update with a bad colour",
            "role-update-body",
            &vmap(&[("role", Value::from(1)), ("colour", vtext("#12345"))]),
        ),
        valid(
            "role.delete",
            "role-delete-body",
            &enc(&RoleDelete { role: 3 }),
        ),
        bad_body(
            "role.delete without a role",
            "role-delete-body",
            &vmap(&[]),
        ),
        valid(
            "owner.transfer",
            "owner-transfer-body",
            &enc(&OwnerTransfer { user: bob() }),
        ),
        // msg.*
        valid("msg.post", "msg-post-body", &enc(&post("Hi!"))),
        valid(
            "msg.post, a reply with mentions",
            "msg-post-body",
            &enc(&MsgPost {
                text: "@bob @everyone see above".to_owned(),
                reply_to: Some(7),
                mentions: vec![bob()],
                mention_everyone: true,
                attachments: Vec::new(),
                forwarded: None,
            }),
        ),
        valid(
            "msg.post of 4,096 characters",
            "msg-post-body",
            &enc(&post(&"é".repeat(MAX_TEXT_CHARS))),
        )
        .note("4,096 characters, 8,192 bytes: the limit counts characters."),
        bad_body(
            "msg.post of 4,097 characters",
            "msg-post-body",
            &val(&post(&long(MAX_TEXT_CHARS + 1))),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: the schema does not count characters."),
        bad_body(
            "msg.post with an empty text",
            "msg-post-body",
            &val(&post("")),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: a posted text has 1 to 4,096 characters unless the message has attachments (a deleted message shows empty text in the timeline, but its event keeps the text)."),
        bad_body(
            "msg.post of whitespace only",
            "msg-post-body",
            &val(&post(" \n\u{3000}")),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: a text that is only white space (Unicode White_Space) is empty."),
        bad_body(
            "msg.post with 51 mentions",
            "msg-post-body",
            &val(&MsgPost {
                mentions: (0..=MAX_MENTIONS)
                    .map(|i| UserId::parse(&format!("@user{i:03}:chat.example.org")).expect("user"))
                    .collect(),
                ..post("everyone, look")
            }),
        )
        .note("At most 50 mentions."),
        bad_body(
            "msg.post as an array",
            "msg-post-body",
            &Value::Array(vec![vtext("Hi!")]),
        )
        .note("Every body is a map; an array of the fields in order is refused."),
        bad_body(
            "msg.post with a byte-string text",
            "msg-post-body",
            &vmap(&[("text", Value::Bytes(b"Hi!".to_vec()))]),
        ),
        valid(
            "msg.post with an unknown field",
            "msg-post-body",
            &enc(&vmap(&[
                ("text", vtext("Hi!")),
                ("stickers", Value::Array(Vec::new())),
            ])),
        )
        .reencoded(&enc(&post("Hi!")))
        .note("Fields a kind does not define are ignored (a newer node may add optional fields)."),
        // msg.post with attachments (spec/media.md)
        valid(
            "msg.post of an album with a caption",
            "msg-post-body",
            &enc(&MsgPost {
                attachments: vec![photo(), video(), file()],
                ..post("Holiday, day 1")
            }),
        ),
        valid(
            "msg.post of a voice message without text",
            "msg-post-body",
            &enc(&MsgPost {
                attachments: vec![voice()],
                ..post("")
            }),
        )
        .note("With attachments the text is a caption and may be empty."),
        valid(
            "msg.post of ten photos",
            "msg-post-body",
            &enc(&MsgPost {
                attachments: vec![photo(); 10],
                ..post("")
            }),
        ),
        valid(
            "msg.post with empty attachments written out",
            "msg-post-body",
            &enc(&vmap(&[
                ("text", vtext("Hi!")),
                ("attachments", Value::Array(Vec::new())),
            ])),
        )
        .reencoded(&enc(&post("Hi!")))
        .note("No attachments is the default; senders omit the field."),
        bad_body(
            "msg.post of eleven photos",
            "msg-post-body",
            &val(&MsgPost {
                attachments: vec![photo(); 11],
                ..post("")
            }),
        )
        .note("At most 10 attachments."),
        bad_body(
            "msg.post without text or attachments",
            "msg-post-body",
            &vmap(&[
                ("text", vtext("")),
                ("attachments", Value::Array(Vec::new())),
            ]),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: the text may be empty only when there is at least one attachment."),
        bad_body(
            "msg.post with a caption of 4,097 characters",
            "msg-post-body",
            &val(&MsgPost {
                attachments: vec![photo()],
                ..post(&long(MAX_TEXT_CHARS + 1))
            }),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: a caption has at most 4,096 characters."),
        bad_body(
            "msg.post of a voice message with a waveform of 15 samples",
            "msg-post-body",
            &val(&MsgPost {
                attachments: vec![winichat_protocol::media::Attachment {
                    waveform: Some(wave(15)),
                    ..voice()
                }],
                ..post("")
            }),
        )
        .note("A waveform has 16 to 256 samples."),
        bad_body(
            "msg.post of audio with a poster",
            "msg-post-body",
            &val(&MsgPost {
                attachments: vec![winichat_protocol::media::Attachment {
                    kind: winichat_protocol::media::MediaKind::Audio,
                    mime: "audio/mpeg".to_owned(),
                    waveform: None,
                    poster: Some(media_id("cover.jpg")),
                    ..voice()
                }],
                ..post("Track 1")
            }),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: only a video has a poster."),
        bad_body(
            "msg.post of a file named with a path",
            "msg-post-body",
            &val(&MsgPost {
                attachments: vec![winichat_protocol::media::Attachment {
                    name: Some("../../.ssh/authorized_keys".to_owned()),
                    ..file()
                }],
                ..post("see attached")
            }),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: a file name has no '/' or '\\'."),
        bad_body(
            "msg.post with an attachment as an array",
            "msg-post-body",
            &vmap(&[
                ("text", vtext("")),
                (
                    "attachments",
                    Value::Array(vec![Value::Array(vec![
                        val(&media_id("report.pdf")),
                        vtext("file"),
                        vtext("application/octet-stream"),
                        Value::from(52_000),
                    ])]),
                ),
            ]),
        )
        .note("An attachment is a map, as every struct; the array of its fields in order is refused."),
        valid(
            "msg.post forwarded from a public group",
            "msg-post-body",
            &enc(&MsgPost {
                forwarded: Some(Forwarded {
                    user: bob(),
                    group: Some(group()),
                    ts: Timestamp(TS0),
                }),
                ..post("worth reading")
            }),
        )
        .note("forwarded is written by the home node alone (msgs.forward, gateway.md §8.10)."),
        valid(
            "msg.post forwarded from a private chat, with a photo",
            "msg-post-body",
            &enc(&MsgPost {
                attachments: vec![photo()],
                forwarded: Some(Forwarded {
                    user: bob(),
                    group: None,
                    ts: Timestamp(TS0),
                }),
                ..post("")
            }),
        )
        .note("The group of a private chat is left out."),
        bad_body(
            "msg.post forwarded without a user",
            "msg-post-body",
            &vmap(&[
                ("text", vtext("worth reading")),
                ("forwarded", vmap(&[("ts", Value::from(TS0))])),
            ]),
        ),
        bad_body(
            "msg.post with forwarded as an array",
            "msg-post-body",
            &vmap(&[
                ("text", vtext("worth reading")),
                (
                    "forwarded",
                    Value::Array(vec![vtext(bob().as_ref()), Value::from(TS0)]),
                ),
            ]),
        )
        .note("forwarded is a map, as every struct."),
        valid(
            "msg.edit",
            "msg-edit-body",
            &enc(&MsgEdit {
                seq: 7,
                text: "Hello, rustaceans!".to_owned(),
            }),
        ),
        bad_body(
            "msg.edit of 4,097 characters",
            "msg-edit-body",
            &val(&MsgEdit {
                seq: 7,
                text: long(MAX_TEXT_CHARS + 1),
            }),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: the schema does not count characters."),
        valid(
            "msg.delete",
            "msg-delete-body",
            &enc(&MsgDelete { seq: 7 }),
        ),
        bad_body(
            "msg.delete with a negative seq",
            "msg-delete-body",
            &vmap(&[("seq", Value::from(-7))]),
        ),
        valid(
            "msg.react",
            "msg-react-body",
            &enc(&MsgReact {
                seq: 7,
                emoji: "👍🏽".to_owned(),
                on: true,
            }),
        ),
        valid(
            "msg.react removed",
            "msg-react-body",
            &enc(&MsgReact {
                seq: 7,
                emoji: "🎉".to_owned(),
                on: false,
            }),
        ),
        bad_body(
            "msg.react with an emoji of 33 bytes",
            "msg-react-body",
            &val(&MsgReact {
                seq: 7,
                emoji: "x".repeat(MAX_EMOJI_BYTES + 1),
                on: true,
            }),
        )
        .note("An emoji is 1 to 32 bytes of UTF-8."),
        bad_body(
            "msg.react with a space in the emoji",
            "msg-react-body",
            &val(&MsgReact {
                seq: 7,
                emoji: "👍 ".to_owned(),
                on: true,
            }),
        )
        .cddl(CddlExpect::Valid)
        .note("prose: an emoji holds no white space or control characters."),
        bad_body(
            "msg.react with an empty emoji",
            "msg-react-body",
            &val(&MsgReact {
                seq: 7,
                emoji: String::new(),
                on: true,
            }),
        ),
        valid(
            "msg.pin",
            "msg-pin-body",
            &enc(&MsgPin { seq: 7, on: true }),
        ),
        bad_body(
            "msg.pin with on as 1",
            "msg-pin-body",
            &vmap(&[("seq", Value::from(7)), ("on", Value::from(1))]),
        ),
    ];
    VectorFile {
        family: "event-bodies".to_owned(),
        description: "The body of each event kind of a group log (spec/protocol.md §5.5): \
                      each case is the map an event carries in body, decoded for the kind its \
                      rule names. A body that does not fit its kind is the error body."
            .to_owned(),
        cases,
        log_cases: Vec::new(),
        json_cases: Vec::new(),
    }
}

// ------------------------------------------------------------------------------ samples

/// Values of every chat type and every event body, built in Rust and encoded by the crate,
/// with the rule each must match (spec_cddl.rs).
pub fn samples() -> Vec<(&'static str, Vec<u8>)> {
    let mut out: Vec<(&'static str, Vec<u8>)> = vec![
        ("chat-summary", enc(&group_summary())),
        ("chat-summary", enc(&dm_summary())),
        ("role-info", enc(&everyone())),
        (
            "role-info",
            enc(&Role {
                permissions: Permissions::ALL,
                ..moderator()
            }),
        ),
        ("timeline-item", enc(&post_item())),
        (
            "write-result",
            enc(&WriteResult {
                group: group(),
                seq: MAX_SAFE_INTEGER,
                id: event_id(0),
                role: Some(RoleId::MAX),
            }),
        ),
        ("empty-map", enc(&vmap(&[]))),
    ];
    let bodies = [
        Body::GroupCreate(GroupCreate {
            kind: GroupKind::Direct,
            name: String::new(),
            description: String::new(),
            visibility: Visibility::Private,
            handle: None,
            members: vec![bob()],
        }),
        Body::GroupUpdate(GroupUpdate {
            name: Some("n".to_owned()),
            description: Some("d".to_owned()),
            visibility: Some(Visibility::Public),
            handle: Some(handle()),
            photo: None,
        }),
        Body::GroupUpdate(GroupUpdate {
            photo: Some(Some(media_id("crew.png"))),
            ..GroupUpdate::default()
        }),
        Body::GroupUpdate(GroupUpdate {
            photo: Some(None),
            ..GroupUpdate::default()
        }),
        Body::MsgPost(MsgPost {
            text: String::new(),
            reply_to: None,
            mentions: Vec::new(),
            mention_everyone: false,
            attachments: vec![photo(), voice(), video(), file()],
            forwarded: None,
        }),
        Body::GroupDelete,
        Body::MemberInvite(MemberInvite { user: bob() }),
        Body::MemberJoin(MemberJoin {
            via: JoinVia::Invite,
        }),
        Body::MemberLeave,
        Body::MemberKick(MemberKick {
            user: bob(),
            reason: String::new(),
        }),
        Body::MemberBan(MemberBan {
            user: bob(),
            reason: "r".to_owned(),
        }),
        Body::MemberUnban(MemberUnban { user: bob() }),
        Body::MemberRoles(MemberRoles {
            user: bob(),
            roles: vec![1],
        }),
        Body::RoleCreate(role_create()),
        Body::RoleUpdate(RoleUpdate {
            role: 1,
            name: None,
            colour: Some("#000000".to_owned()),
            permissions: Some(Permissions(MAX_SAFE_INTEGER)),
            rank: None,
        }),
        Body::RoleDelete(RoleDelete { role: 1 }),
        Body::OwnerTransfer(OwnerTransfer { user: bob() }),
        Body::MsgPost(MsgPost {
            text: "t".to_owned(),
            reply_to: Some(1),
            mentions: vec![alice()],
            mention_everyone: true,
            attachments: Vec::new(),
            forwarded: None,
        }),
        Body::MsgEdit(MsgEdit {
            seq: 2,
            text: "t".to_owned(),
        }),
        Body::MsgDelete(MsgDelete { seq: 2 }),
        Body::MsgReact(MsgReact {
            seq: 2,
            emoji: "👍".to_owned(),
            on: false,
        }),
        Body::MsgPin(MsgPin { seq: 2, on: true }),
    ];
    for b in bodies {
        let kind = b.kind().expect("a known kind");
        let rule = BODY_RULES
            .iter()
            .find(|(_, k)| *k == kind.as_str())
            .map(|(r, _)| *r)
            .expect("a rule per kind");
        out.push((rule, enc(&b.to_value())));
        out.push(("params", enc(&b.to_value())));
    }
    out
}
