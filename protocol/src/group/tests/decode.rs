//! [`Body::decode`]: maps only, limits, unknown kinds, and the round trip through
//! [`Body::to_value`].

use super::*;
use crate::event::EventKind;

/// One body of every kind, with every optional field set.
fn one_of_each() -> Vec<Body> {
    let bob = user("bob");
    vec![
        Body::GroupCreate(GroupCreate {
            kind: GroupKind::Group,
            name: "Crew".to_owned(),
            description: "We sail.".to_owned(),
            visibility: Visibility::Public,
            handle: Some(handle("crew")),
            members: Vec::new(),
        }),
        Body::GroupCreate(GroupCreate {
            kind: GroupKind::Direct,
            name: String::new(),
            description: String::new(),
            visibility: Visibility::Private,
            handle: None,
            members: vec![bob.clone()],
        }),
        Body::GroupUpdate(GroupUpdate {
            name: Some("Crew 2".to_owned()),
            description: Some(String::new()),
            visibility: Some(Visibility::Public),
            handle: Some(handle("crew")),
            photo: None,
        }),
        Body::GroupUpdate(GroupUpdate::default()),
        Body::GroupUpdate(GroupUpdate {
            photo: Some(Some(media_id(1))),
            ..GroupUpdate::default()
        }),
        Body::GroupUpdate(GroupUpdate {
            photo: Some(None),
            ..GroupUpdate::default()
        }),
        Body::GroupDelete,
        Body::MemberInvite(MemberInvite { user: bob.clone() }),
        Body::MemberJoin(MemberJoin {
            via: JoinVia::Public,
        }),
        Body::MemberJoin(MemberJoin {
            via: JoinVia::Invite,
        }),
        Body::MemberJoin(MemberJoin { via: JoinVia::Link }),
        Body::MemberLeave,
        Body::MemberKick(MemberKick {
            user: bob.clone(),
            reason: "spam".to_owned(),
        }),
        Body::MemberBan(MemberBan {
            user: bob.clone(),
            reason: String::new(),
        }),
        Body::MemberUnban(MemberUnban { user: bob.clone() }),
        Body::MemberRoles(MemberRoles {
            user: bob.clone(),
            roles: vec![3, 1],
        }),
        Body::RoleCreate(RoleCreate {
            role: 7,
            name: "mods".to_owned(),
            colour: "#a0b1c2".to_owned(),
            permissions: Permissions::KICK_MEMBERS | Permissions::BAN_MEMBERS,
            rank: 2,
        }),
        Body::RoleUpdate(RoleUpdate {
            role: 7,
            name: Some("moderators".to_owned()),
            colour: Some(String::new()),
            permissions: Some(Permissions::NONE),
            rank: Some(1),
        }),
        Body::RoleUpdate(RoleUpdate {
            role: EVERYONE,
            name: None,
            colour: None,
            permissions: Some(Permissions::ALL),
            rank: None,
        }),
        Body::RoleDelete(RoleDelete { role: 7 }),
        Body::OwnerTransfer(OwnerTransfer { user: bob.clone() }),
        Body::MsgPost(MsgPost {
            text: "hello @bob".to_owned(),
            reply_to: Some(4),
            mentions: vec![bob.clone()],
            mention_everyone: true,
            attachments: Vec::new(),
            forwarded: None,
        }),
        Body::MsgPost(MsgPost {
            text: "plain".to_owned(),
            reply_to: None,
            mentions: Vec::new(),
            mention_everyone: false,
            attachments: Vec::new(),
            forwarded: None,
        }),
        Body::MsgPost(MsgPost {
            text: String::new(),
            reply_to: None,
            mentions: Vec::new(),
            mention_everyone: false,
            attachments: vec![
                crate::media::Attachment {
                    media: media_id(2),
                    kind: crate::media::MediaKind::Voice,
                    mime: "audio/ogg".to_owned(),
                    size: 9_000,
                    name: None,
                    width: None,
                    height: None,
                    duration_ms: Some(3_000),
                    blurhash: None,
                    waveform: Some(vec![128; 64]),
                    poster: None,
                },
                crate::media::Attachment {
                    media: media_id(3),
                    kind: crate::media::MediaKind::Video,
                    mime: "video/webm".to_owned(),
                    size: 90_000,
                    name: Some("clip.webm".to_owned()),
                    width: Some(640),
                    height: Some(360),
                    duration_ms: Some(2_000),
                    blurhash: Some("00TSUA".to_owned()),
                    waveform: None,
                    poster: Some(media_id(4)),
                },
            ],
            forwarded: None,
        }),
        Body::MsgEdit(MsgEdit {
            seq: 5,
            text: "hi".to_owned(),
        }),
        Body::MsgDelete(MsgDelete { seq: 5 }),
        Body::MsgReact(MsgReact {
            seq: 5,
            emoji: "👍🏽".to_owned(),
            on: false,
        }),
        Body::MsgPin(MsgPin { seq: 5, on: true }),
    ]
}

#[test]
fn every_kind_round_trips() {
    let bodies = one_of_each();
    let kinds: std::collections::BTreeSet<_> = bodies
        .iter()
        .filter_map(|b| b.kind())
        .map(|k| k.as_str().to_owned())
        .collect();
    assert_eq!(
        kinds.len(),
        EventKind::KNOWN.len(),
        "one body of every kind"
    );
    for body in bodies {
        let kind = body.kind().expect("known kind");
        let value = body.to_value();
        assert!(value.is_map(), "{kind:?} encodes as a map");
        // Through bytes too, as an event carries it.
        let bytes = crate::codec::encode(&value).expect("encode");
        let value: Value =
            crate::codec::decode(&bytes, &crate::codec::Limits::EVENT).expect("decode");
        assert_eq!(Body::decode(&kind, &value), Ok(body), "{kind:?}");
    }
}

#[test]
fn unknown_kinds() {
    let kind = EventKind::parse("poll.create").expect("kind");
    let body = map(vec![("question", text("?"))]);
    assert_eq!(Body::decode(&kind, &body), Ok(Body::Unknown));
    assert_eq!(Body::Unknown.kind(), None);
    assert_eq!(Body::Unknown.to_value(), Value::Map(Vec::new()));
    assert!(Body::decode(&kind, &Value::Array(Vec::new())).is_err());
}

#[test]
fn only_maps_decode() {
    let kind = EventKind::MsgPost;
    // The array form serde would accept for a struct: fields by position.
    let as_array = Value::Array(vec![
        text("hello"),
        Value::Null,
        Value::Array(Vec::new()),
        Value::Bool(false),
    ]);
    let err = Body::decode(&kind, &as_array).expect_err("array form");
    assert_eq!(err.kind, "msg.post");
    assert!(err.to_string().contains("map"), "{err}");
    for not_a_map in [text("hello"), Value::Null, Value::Integer(1.into())] {
        assert!(Body::decode(&kind, &not_a_map).is_err());
    }
    // Kinds without fields still want a map.
    assert!(Body::decode(&EventKind::GroupDelete, &Value::Array(Vec::new())).is_err());
    assert_eq!(
        Body::decode(&EventKind::MemberLeave, &map(vec![])),
        Ok(Body::MemberLeave)
    );
    // Field indices as keys (serde's derived visitors take them) are refused.
    let by_index = Value::Map(vec![(Value::Integer(0.into()), text("hello"))]);
    assert!(Body::decode(&kind, &by_index).is_err());
}

#[test]
fn fields_are_typed_and_unknown_ones_ignored() {
    let kind = EventKind::MsgPost;
    assert_eq!(
        Body::decode(
            &kind,
            &map(vec![("text", text("hi")), ("poll", Value::Bool(true))])
        ),
        Ok(Body::MsgPost(MsgPost {
            text: "hi".to_owned(),
            reply_to: None,
            mentions: Vec::new(),
            mention_everyone: false,
            attachments: Vec::new(),
            forwarded: None,
        }))
    );
    let wrong = [
        map(vec![]),
        map(vec![("text", Value::Bytes(b"hi".to_vec()))]),
        map(vec![("text", Value::Integer(5.into()))]),
        map(vec![
            ("text", text("hi")),
            ("mentions", Value::Array(vec![text("bob")])),
        ]),
        map(vec![
            ("text", text("hi")),
            ("reply_to", Value::Integer((-1).into())),
        ]),
    ];
    for body in wrong {
        assert!(Body::decode(&kind, &body).is_err(), "{body:?}");
    }
}

/// Decodes `body` as `kind`.
fn decode(kind: EventKind, body: Value) -> Result<Body, BodyError> {
    Body::decode(&kind, &body)
}

fn post(t: &str) -> Value {
    map(vec![("text", text(t))])
}

fn group_create(name: &str, visibility: &str, extra: Vec<(&str, Value)>) -> Value {
    let mut entries = vec![
        ("kind", text("group")),
        ("name", text(name)),
        ("description", text("")),
        ("visibility", text(visibility)),
    ];
    entries.extend(extra);
    map(entries)
}

fn role_create(name: &str, colour: &str, permissions: u64, rank: u32) -> Value {
    map(vec![
        ("role", Value::Integer(1.into())),
        ("name", text(name)),
        ("colour", text(colour)),
        ("permissions", Value::Integer(permissions.into())),
        ("rank", Value::Integer(rank.into())),
    ])
}

fn react(emoji: &str) -> Value {
    map(vec![
        ("seq", Value::Integer(1.into())),
        ("emoji", text(emoji)),
        ("on", Value::Bool(true)),
    ])
}

#[test]
fn limits() {
    use EventKind as K;
    let bob = || text("@bob:example.org");
    let users = |n: usize| {
        Value::Array(
            (0..n)
                .map(|i| text(&format!("@user{i}:example.org")))
                .collect(),
        )
    };
    #[rustfmt::skip]
    let cases: Vec<(&str, K, Value, bool)> = vec![
        // Message text.
        ("text of 4096 chars", K::MsgPost, post(&"é".repeat(MAX_TEXT_CHARS)), true),
        ("text of 4097 chars", K::MsgPost, post(&"a".repeat(MAX_TEXT_CHARS + 1)), false),
        ("empty text", K::MsgPost, post(""), false),
        ("blank text", K::MsgPost, post(" \n\t"), false),
        ("edit to blank", K::MsgEdit, map(vec![("seq", Value::Integer(1.into())), ("text", text("  "))]), false),
        ("50 mentions", K::MsgPost, map(vec![("text", text("hi")), ("mentions", users(MAX_MENTIONS))]), true),
        ("51 mentions", K::MsgPost, map(vec![("text", text("hi")), ("mentions", users(MAX_MENTIONS + 1))]), false),
        // Group create.
        ("name of 64 chars", K::GroupCreate, group_create(&"ü".repeat(MAX_NAME_CHARS), "private", vec![]), true),
        ("name of 65 chars", K::GroupCreate, group_create(&"a".repeat(MAX_NAME_CHARS + 1), "private", vec![]), false),
        ("blank group name", K::GroupCreate, group_create("  ", "private", vec![]), false),
        ("public with handle", K::GroupCreate, group_create("Crew", "public", vec![("handle", text("#crew:example.org"))]), true),
        ("public without handle", K::GroupCreate, group_create("Crew", "public", vec![]), false),
        ("private with handle", K::GroupCreate, group_create("Crew", "private", vec![("handle", text("#crew:example.org"))]), false),
        ("group with initial members", K::GroupCreate, group_create("Crew", "private", vec![("members", Value::Array(vec![bob()]))]), false),
        ("description too long", K::GroupCreate, map(vec![("kind", text("group")), ("name", text("Crew")), ("description", text(&"d".repeat(MAX_DESCRIPTION_CHARS + 1))), ("visibility", text("private"))]), false),
        ("unknown visibility", K::GroupCreate, group_create("Crew", "secret", vec![]), false),
        ("direct chat", K::GroupCreate, map(vec![("kind", text("direct")), ("name", text("")), ("description", text("")), ("visibility", text("private")), ("members", Value::Array(vec![bob()]))]), true),
        ("direct chat of three", K::GroupCreate, map(vec![("kind", text("direct")), ("name", text("")), ("description", text("")), ("visibility", text("private")), ("members", users(2))]), false),
        ("direct chat alone", K::GroupCreate, map(vec![("kind", text("direct")), ("name", text("")), ("description", text("")), ("visibility", text("private"))]), false),
        ("named direct chat", K::GroupCreate, map(vec![("kind", text("direct")), ("name", text("us")), ("description", text("")), ("visibility", text("private")), ("members", Value::Array(vec![bob()]))]), false),
        ("public direct chat", K::GroupCreate, map(vec![("kind", text("direct")), ("name", text("")), ("description", text("")), ("visibility", text("public")), ("handle", text("#us:example.org")), ("members", Value::Array(vec![bob()]))]), false),
        // Attachments.
        ("caption-less photo", K::MsgPost, map(vec![("text", text("")), ("attachments", Value::Array(vec![image_value(1)]))]), true),
        ("blank caption", K::MsgPost, map(vec![("text", text(" ")), ("attachments", Value::Array(vec![image_value(1)]))]), true),
        ("caption of 4096 chars", K::MsgPost, map(vec![("text", text(&"é".repeat(MAX_TEXT_CHARS))), ("attachments", Value::Array(vec![image_value(1)]))]), true),
        ("caption of 4097 chars", K::MsgPost, map(vec![("text", text(&"a".repeat(MAX_TEXT_CHARS + 1))), ("attachments", Value::Array(vec![image_value(1)]))]), false),
        ("empty text, empty attachments", K::MsgPost, map(vec![("text", text("")), ("attachments", Value::Array(Vec::new()))]), false),
        ("10 attachments", K::MsgPost, map(vec![("text", text("")), ("attachments", Value::Array((0..10).map(image_value).collect()))]), true),
        ("11 attachments", K::MsgPost, map(vec![("text", text("")), ("attachments", Value::Array((0..11).map(image_value).collect()))]), false),
        ("attachment without mime", K::MsgPost, map(vec![("text", text("x")), ("attachments", Value::Array(vec![map(vec![("media", media_value(1)), ("kind", text("file")), ("size", Value::Integer(1.into()))])]))]), false),
        ("attachment of unknown kind", K::MsgPost, map(vec![("text", text("x")), ("attachments", Value::Array(vec![map(vec![("media", media_value(1)), ("kind", text("sticker")), ("mime", text("image/png")), ("size", Value::Integer(1.into()))])]))]), false),
        ("attachment with a text media id", K::MsgPost, map(vec![("text", text("x")), ("attachments", Value::Array(vec![map(vec![("media", text("example.org/00")), ("kind", text("file")), ("mime", text("a/b")), ("size", Value::Integer(1.into()))])]))]), false),
        ("attachment named ../x", K::MsgPost, map(vec![("text", text("x")), ("attachments", Value::Array(vec![map(vec![("media", media_value(1)), ("kind", text("file")), ("mime", text("a/b")), ("size", Value::Integer(1.into())), ("name", text("../x"))])]))]), false),
        ("waveform as an array", K::MsgPost, map(vec![("text", text("x")), ("attachments", Value::Array(vec![map(vec![("media", media_value(1)), ("kind", text("voice")), ("mime", text("audio/ogg")), ("size", Value::Integer(1.into())), ("waveform", Value::Array(vec![Value::Integer(1.into()); 16]))])]))]), false),
        ("short waveform", K::MsgPost, map(vec![("text", text("x")), ("attachments", Value::Array(vec![map(vec![("media", media_value(1)), ("kind", text("voice")), ("mime", text("audio/ogg")), ("size", Value::Integer(1.into())), ("waveform", Value::Bytes(vec![1; 15]))])]))]), false),
        ("attachment as an array", K::MsgPost, map(vec![("text", text("x")), ("attachments", Value::Array(vec![Value::Array(vec![media_value(1), text("file"), text("a/b"), Value::Integer(1.into())])]))]), false),
        ("attachment media as an array", K::MsgPost, map(vec![("text", text("x")), ("attachments", Value::Array(vec![map(vec![("media", Value::Array(vec![text("example.org"), Value::Bytes(vec![1; 32])])), ("kind", text("file")), ("mime", text("a/b")), ("size", Value::Integer(1.into()))])]))]), false),
        ("poster on audio", K::MsgPost, map(vec![("text", text("x")), ("attachments", Value::Array(vec![map(vec![("media", media_value(1)), ("kind", text("audio")), ("mime", text("audio/ogg")), ("size", Value::Integer(1.into())), ("poster", media_value(2))])]))]), false),
        // Group update.
        ("rename", K::GroupUpdate, map(vec![("name", text("New"))]), true),
        ("set the photo", K::GroupUpdate, map(vec![("photo", media_value(1))]), true),
        ("remove the photo", K::GroupUpdate, map(vec![("photo", Value::Null)]), true),
        ("photo as an array", K::GroupUpdate, map(vec![("photo", Value::Array(vec![text("example.org"), Value::Bytes(vec![1; 32])]))]), false),
        ("photo as text", K::GroupUpdate, map(vec![("photo", text("example.org/0101"))]), false),
        ("rename to blank", K::GroupUpdate, map(vec![("name", text(" "))]), false),
        ("long description", K::GroupUpdate, map(vec![("description", text(&"d".repeat(MAX_DESCRIPTION_CHARS + 1)))]), false),
        ("private with a handle", K::GroupUpdate, map(vec![("visibility", text("private")), ("handle", text("#crew:example.org"))]), false),
        ("malformed handle", K::GroupUpdate, map(vec![("handle", text("#Crew:example.org"))]), false),
        // Reasons.
        ("reason of 512 chars", K::MemberKick, map(vec![("user", bob()), ("reason", text(&"r".repeat(MAX_REASON_CHARS)))]), true),
        ("reason of 513 chars", K::MemberBan, map(vec![("user", bob()), ("reason", text(&"r".repeat(MAX_REASON_CHARS + 1)))]), false),
        ("ban without reason", K::MemberBan, map(vec![("user", bob())]), true),
        ("malformed user", K::MemberInvite, map(vec![("user", text("bob"))]), false),
        // Roles.
        ("role", K::RoleCreate, role_create("mods", "#0a0b0c", 3, 1), true),
        ("role without colour", K::RoleCreate, role_create("mods", "", 3, 1), true),
        ("role name of 32 chars", K::RoleCreate, role_create(&"m".repeat(MAX_ROLE_NAME_CHARS), "", 0, 1), true),
        ("role name of 33 chars", K::RoleCreate, role_create(&"m".repeat(MAX_ROLE_NAME_CHARS + 1), "", 0, 1), false),
        ("blank role name", K::RoleCreate, role_create(" ", "", 0, 1), false),
        ("uppercase colour", K::RoleCreate, role_create("mods", "#ABCDEF", 0, 1), false),
        ("colour without #", K::RoleCreate, role_create("mods", "abcdef", 0, 1), false),
        ("short colour", K::RoleCreate, role_create("mods", "#abc", 0, 1), false),
        ("colour with non-hex", K::RoleCreate, role_create("mods", "#abcdeg", 0, 1), false),
        ("permissions of 2^53", K::RoleCreate, role_create("mods", "", 1 << 53, 1), false),
        ("unknown flag below 2^53", K::RoleCreate, role_create("mods", "", 1 << 52, 1), true),
        ("rank 0", K::RoleCreate, role_create("mods", "", 0, 0), false),
        ("role with the everyone id", K::RoleCreate, map(vec![("role", Value::Integer(0.into())), ("name", text("x")), ("permissions", Value::Integer(0.into())), ("rank", Value::Integer(1.into()))]), false),
        ("rename everyone", K::RoleUpdate, map(vec![("role", Value::Integer(0.into())), ("name", text("all"))]), false),
        ("move everyone", K::RoleUpdate, map(vec![("role", Value::Integer(0.into())), ("rank", Value::Integer(1.into()))]), false),
        ("everyone's permissions", K::RoleUpdate, map(vec![("role", Value::Integer(0.into())), ("permissions", Value::Integer(1.into()))]), true),
        ("bad colour in update", K::RoleUpdate, map(vec![("role", Value::Integer(2.into())), ("colour", text("red"))]), false),
        ("long name in update", K::RoleUpdate, map(vec![("role", Value::Integer(2.into())), ("name", text(&"n".repeat(MAX_ROLE_NAME_CHARS + 1)))]), false),
        ("assign roles", K::MemberRoles, map(vec![("user", bob()), ("roles", Value::Array(vec![Value::Integer(1.into())]))]), true),
        ("assign a role twice", K::MemberRoles, map(vec![("user", bob()), ("roles", Value::Array(vec![Value::Integer(1.into()), Value::Integer(1.into())]))]), false),
        ("assign everyone", K::MemberRoles, map(vec![("user", bob()), ("roles", Value::Array(vec![Value::Integer(0.into())]))]), false),
        ("assign too many roles", K::MemberRoles, map(vec![("user", bob()), ("roles", Value::Array((1..=MAX_ROLES as u64 + 1).map(|i| Value::Integer(i.into())).collect()))]), false),
        // Reactions.
        ("emoji", K::MsgReact, react("👍"), true),
        ("emoji sequence", K::MsgReact, react("👩‍👩‍👧"), true),
        ("emoji of 32 bytes", K::MsgReact, react(&"😀".repeat(8)), true),
        ("emoji of 33 bytes", K::MsgReact, react(&format!("a{}", "😀".repeat(8))), false),
        ("empty emoji", K::MsgReact, react(""), false),
        ("emoji with space", K::MsgReact, react("👍 "), false),
        ("emoji with control", K::MsgReact, react("\u{7}"), false),
        ("emoji with newline", K::MsgReact, react("a\nb"), false),
        ("join by unknown means", K::MemberJoin, map(vec![("via", text("magic"))]), false),
    ];
    let mut failures = Vec::new();
    for (name, kind, body, accepted) in cases {
        let got = Body::decode(&kind, &body);
        if got.is_ok() != accepted {
            failures.push(format!("{name}: expected accepted={accepted}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The error names the kind.
    let err = decode(K::MsgPost, post("")).expect_err("empty text");
    assert_eq!(err.kind, "msg.post");
}

#[test]
fn shown_text_is_a_rule_for_new_bodies_only() {
    use crate::group::Rules;
    type K = EventKind;
    let zw = "ad\u{200B}min";
    let bob = || text("@bob:example.org");
    let role = |name: &str| {
        map(vec![
            ("role", Value::Integer(2.into())),
            ("name", text(name)),
            ("colour", text("")),
            ("permissions", Value::Integer(0.into())),
            ("rank", Value::Integer(1.into())),
        ])
    };
    let file = map(vec![
        ("media", media_value(1)),
        ("kind", text("file")),
        ("mime", text("application/pdf")),
        ("size", Value::Integer(10.into())),
        ("name", text("re\u{200B}port.pdf")),
    ]);
    let cases = [
        (K::GroupCreate, group_create(zw, "private", vec![])),
        (K::GroupUpdate, map(vec![("name", text(zw))])),
        (
            K::GroupUpdate,
            map(vec![("description", text("x\u{202E}y"))]),
        ),
        (
            K::MemberKick,
            map(vec![("user", bob()), ("reason", text(zw))]),
        ),
        (
            K::MemberBan,
            map(vec![("user", bob()), ("reason", text(zw))]),
        ),
        (K::RoleCreate, role(zw)),
        (
            K::RoleUpdate,
            map(vec![("role", Value::Integer(2.into())), ("name", text(zw))]),
        ),
        (
            K::MsgPost,
            map(vec![
                ("text", text("")),
                ("attachments", Value::Array(vec![file])),
            ]),
        ),
    ];
    for (kind, body) in cases {
        assert!(
            Body::decode(&kind, &body).is_err(),
            "{kind:?} new: {body:?}"
        );
        let signed = Body::decode_signed(&kind, &body);
        assert!(signed.is_ok(), "{kind:?} signed: {signed:?}");
        assert_eq!(Body::decode_with(&kind, &body, Rules::Signed), signed);
    }
    // Every other rule still holds for a signed body.
    let long = map(vec![("name", text(&"n".repeat(MAX_NAME_CHARS + 1)))]);
    assert!(Body::decode_signed(&K::GroupUpdate, &long).is_err());
    assert!(Body::decode_signed(&K::MsgPost, &post("")).is_err());
}

#[test]
fn group_photos_are_tri_state() {
    let kind = EventKind::GroupUpdate;
    let absent = decode(kind.clone(), map(vec![("name", text("New"))])).expect("decodes");
    let cleared = decode(kind.clone(), map(vec![("photo", Value::Null)])).expect("decodes");
    let set = decode(kind.clone(), map(vec![("photo", media_value(7))])).expect("decodes");
    let photo = |b: &Body| match b {
        Body::GroupUpdate(u) => u.photo.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(photo(&absent), None);
    assert_eq!(photo(&cleared), Some(None));
    assert_eq!(photo(&set), Some(Some(media_id(7))));
    // null survives the round trip: it is written, not dropped.
    assert_eq!(cleared.to_value(), map(vec![("photo", Value::Null)]));
    assert_eq!(absent.to_value(), map(vec![("name", text("New"))]));
}

#[test]
fn attachment_errors_name_the_reason() {
    let body = map(vec![
        ("text", text("")),
        (
            "attachments",
            Value::Array(vec![map(vec![
                ("media", media_value(1)),
                ("kind", text("audio")),
                ("mime", text("audio/ogg")),
                ("size", Value::Integer(1.into())),
                ("poster", media_value(2)),
            ])]),
        ),
    ]);
    let err = decode(EventKind::MsgPost, body).expect_err("a poster on audio");
    assert_eq!(err.kind, "msg.post");
    assert!(err.reason.contains("poster"), "{err}");
    let err = decode(EventKind::MsgPost, post("")).expect_err("empty");
    assert!(err.reason.contains("empty"), "{err}");
}
