//! Message and chat actions end to end (gateway.md §8.10), on SQLite and PostgreSQL: forwarding
//! (a readable source required, the origin written by the node, media re-used) and a user's own
//! chat settings (set, listed, pushed to their other sessions, refused for a chat they are not
//! in, bad values refused).

#[allow(dead_code)] // shared with tests/chats.rs, which uses all of it
#[path = "chats/common.rs"]
mod common;

use ciborium::Value;
use winichat_protocol::Timestamp;
use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::event::EventKind;
use winichat_protocol::gateway::chat::{
    self as api, ChatSettings, ChatSettingsParams, ForwardParams, MUTED_FOREVER, MessageRef, method,
};
use winichat_protocol::group::bodies::{Forwarded, MsgPost};
use winichat_protocol::group::{EVERYONE, Permissions, Visibility};
use winichat_protocol::ids::{GroupId, MediaId};
use winichat_protocol::media::{AttachmentInput, MediaUrlRequest, MediaUrls, MediaUrlsParams};
use winichat_testkit::client::{Client, map, txn};
use winichat_testkit::media_fixtures;
use winichat_testkit::node::{Backend, TestNode};

use common::{Chat, QUIET, WAIT, post_params, start, users};

winichat_testkit::on_both!(
    worker_threads = 4;
    forwarding_needs_a_readable_source_and_the_node_writes_the_origin,
    forwarding_reuses_media_and_needs_send_media,
    chat_settings_are_set_listed_and_pushed_to_other_sessions,
    chat_settings_refuse_bad_values_and_foreign_chats,
);

fn forward(group: &GroupId, from: &GroupId, seq: u64) -> ForwardParams {
    ForwardParams {
        txn: txn(),
        group: group.clone(),
        from: MessageRef {
            group: from.clone(),
            seq,
        },
        original: None,
    }
}

fn post_of(item: &api::TimelineItem) -> MsgPost {
    item.body.deserialized().expect("a msg.post body")
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

async fn forwarding_needs_a_readable_source_and_the_node_writes_the_origin(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob, mut carol] = users(&node, ["alice", "bob", "carol"]).await;
    // A private group of alice and bob, and a public one of alice.
    let private = alice
        .create_group("secret", Visibility::Private, None)
        .await
        .group;
    alice.invite_and_join(&private, &mut bob).await;
    let public = alice
        .create_group("open", Visibility::Public, Some("open_group"))
        .await
        .group;
    let original = alice.post(&private, "the plan").await;
    let edited: api::WriteResult = alice
        .ok(
            method::MSGS_EDIT,
            &api::EditParams {
                txn: txn(),
                group: private.clone(),
                seq: original.seq,
                text: "the real plan".into(),
            },
        )
        .await;
    assert!(edited.seq > original.seq);
    let in_public = alice.post(&public, "news for all").await;

    // bob forwards alice's message into his direct chat with carol.
    let dm = bob.dm_open(carol.user()).await.group;
    let written: api::WriteResult = bob
        .ok(method::MSGS_FORWARD, &forward(&dm, &private, original.seq))
        .await;
    let push = carol.event_at(&dm, written.seq).await;
    assert_eq!(push.item.kind, EventKind::MsgPost);
    assert_eq!(&push.item.sender, bob.user(), "the forwarder posts it");
    let post = post_of(&push.item);
    assert_eq!(post.text, "the real plan", "the original's current text");
    assert_eq!(
        post.forwarded,
        Some(Forwarded {
            user: alice.user().clone(),
            group: None,
            ts: post_ts(&mut alice, &private, original.seq).await,
        }),
        "the node names the author; a private chat stays unnamed"
    );
    // History shows the same.
    let latest = carol.latest(&dm).await;
    let row = latest.items.last().expect("the forward");
    assert_eq!(post_of(row).forwarded, post.forwarded);

    // From a public group, its id is given.
    bob.ok::<_, api::ChatSummary>(
        method::GROUPS_JOIN,
        &api::JoinParams {
            txn: txn(),
            group: Some(public.clone()),
            handle: None,
        },
    )
    .await;
    let written: api::WriteResult = bob
        .ok(method::MSGS_FORWARD, &forward(&dm, &public, in_public.seq))
        .await;
    let push = carol.event_at(&dm, written.seq).await;
    assert_eq!(
        post_of(&push.item).forwarded.and_then(|f| f.group),
        Some(public.clone())
    );

    // A forward of the forward keeps the first author.
    let again: api::WriteResult = carol
        .ok(method::MSGS_FORWARD, &forward(&dm, &dm, written.seq))
        .await;
    let push = carol.event_at(&dm, again.seq).await;
    let origin = post_of(&push.item).forwarded.expect("forwarded");
    assert_eq!(&origin.user, alice.user());

    // carol cannot read the private group: forwarding from it is refused like reading it.
    carol
        .err(
            method::MSGS_FORWARD,
            &forward(&dm, &private, original.seq),
            ErrorCode::NotFound,
        )
        .await;
    // Nor into a chat she is not in.
    carol
        .err(
            method::MSGS_FORWARD,
            &forward(&private, &dm, again.seq),
            ErrorCode::NotFound,
        )
        .await;
    // Not a message, and a deleted one.
    bob.err(
        method::MSGS_FORWARD,
        &forward(&dm, &private, 1),
        ErrorCode::NotFound,
    )
    .await;
    let doomed = alice.post(&private, "soon gone").await;
    let _: api::WriteResult = alice
        .ok(
            method::MSGS_DELETE,
            &api::MsgParams {
                txn: txn(),
                group: private.clone(),
                seq: doomed.seq,
            },
        )
        .await;
    bob.err(
        method::MSGS_FORWARD,
        &forward(&dm, &private, doomed.seq),
        ErrorCode::NotFound,
    )
    .await;
    bob.err(
        method::MSGS_FORWARD,
        &ForwardParams {
            txn: String::new(),
            ..forward(&dm, &private, original.seq)
        },
        ErrorCode::BadRequest,
    )
    .await;

    // A client cannot write `forwarded` itself: msgs.post ignores such a field.
    let mut forged = match api_value(&post_params(&dm, "trust me")) {
        Value::Map(entries) => entries,
        _ => unreachable!("params are a map"),
    };
    forged.push((
        Value::from("forwarded"),
        map(vec![
            ("user", Value::from(alice.user().as_str())),
            ("ts", Value::from(1u64)),
        ]),
    ));
    let reply = bob
        .call(method::MSGS_POST, Value::Map(forged))
        .await
        .expect("posted");
    let seq = field_u64(&reply, "seq");
    let push = carol.event_at(&dm, seq).await;
    assert_eq!(
        post_of(&push.item).forwarded,
        None,
        "a client's forwarded is ignored"
    );
}

async fn forwarding_reuses_media_and_needs_send_media(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob, mut carol] = users(&node, ["alice", "bob", "carol"]).await;
    let source = alice
        .create_group("photos", Visibility::Private, None)
        .await
        .group;
    alice.invite_and_join(&source, &mut bob).await;
    let photo = upload(&node, &alice, media_fixtures::png(64, 48), "p.png").await;
    let shared: api::WriteResult = alice
        .ok(
            method::MSGS_POST,
            &api::PostParams {
                attachments: vec![AttachmentInput {
                    media: photo.clone(),
                    name: Some("p.png".into()),
                    voice: false,
                    waveform: None,
                    duration_ms: None,
                    poster: None,
                }],
                ..post_params(&source, "look")
            },
        )
        .await;
    // carol cannot see the photo before it is forwarded to her.
    assert_eq!(urls(&mut carol, &photo).await, vec![None]);

    let dm = bob.dm_open(carol.user()).await.group;
    let written: api::WriteResult = bob
        .ok(method::MSGS_FORWARD, &forward(&dm, &source, shared.seq))
        .await;
    let push = carol.event_at(&dm, written.seq).await;
    let post = post_of(&push.item);
    assert_eq!(post.attachments.len(), 1);
    assert_eq!(
        post.attachments[0].media, photo,
        "the same media, not a copy"
    );
    assert_eq!(post.text, "look");
    assert!(
        urls(&mut carol, &photo).await[0].is_some(),
        "the forward makes the media visible to the target's members"
    );

    // A target where members may post text but not media.
    let text_only = bob
        .create_group("text only", Visibility::Private, None)
        .await
        .group;
    bob.invite_and_join(&text_only, &mut carol).await;
    let _: api::WriteResult = bob
        .ok(
            method::ROLES_UPDATE,
            &api::RoleUpdateParams {
                txn: txn(),
                group: text_only.clone(),
                role: EVERYONE,
                name: None,
                colour: None,
                permissions: Some(Permissions::SEND_MESSAGES),
                rank: None,
            },
        )
        .await;
    carol
        .err(
            method::MSGS_FORWARD,
            &forward(&text_only, &dm, written.seq),
            ErrorCode::Forbidden,
        )
        .await;
    // Text alone still goes.
    let text = bob.post(&dm, "plain").await;
    let _: api::WriteResult = carol
        .ok(method::MSGS_FORWARD, &forward(&text_only, &dm, text.seq))
        .await;
}

async fn chat_settings_are_set_listed_and_pushed_to_other_sessions(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, bob] = users(&node, ["alice", "bob"]).await;
    let mut phone = alice.another(&node).await;
    let dm = alice.dm_open(bob.user()).await.group;
    let until = Timestamp(now_ms() + 3_600_000);

    let set: ChatSettings = alice
        .ok(
            method::CHATS_SETTINGS,
            &ChatSettingsParams {
                group: dm.clone(),
                muted_until: Some(Some(until)),
                pinned: None,
            },
        )
        .await;
    assert_eq!(set.muted_until, Some(until));
    assert_eq!(set.pinned_at, None);
    let pushed: ChatSettings = phone.next_push_as(api::event::CHAT_SETTINGS, WAIT).await;
    assert_eq!(pushed, set, "the other session follows");
    let own: ChatSettings = alice.next_push_as(api::event::CHAT_SETTINGS, WAIT).await;
    assert_eq!(own, set, "the writing session is told too");

    // Pinning keeps the mute; the list and the detail carry both.
    let set: ChatSettings = phone
        .ok(
            method::CHATS_SETTINGS,
            &ChatSettingsParams {
                group: dm.clone(),
                muted_until: None,
                pinned: Some(true),
            },
        )
        .await;
    assert_eq!(set.muted_until, Some(until));
    let pinned_at = set.pinned_at.expect("pinned");
    let pushed: ChatSettings = alice.next_push_as(api::event::CHAT_SETTINGS, WAIT).await;
    assert_eq!(pushed, set);
    let list: api::ChatList = alice
        .ok(method::CHATS_LIST, &api::ChatsListParams::default())
        .await;
    let listed = list.chats.iter().find(|c| c.group == dm).expect("listed");
    assert_eq!(listed.muted_until, Some(until));
    assert_eq!(listed.pinned_at, Some(pinned_at));
    assert_eq!(alice.summary(&dm).await.pinned_at, Some(pinned_at));
    // Settings are the user's own: bob's summary shows none.
    let mut bob = bob;
    let theirs = bob.summary(&dm).await;
    assert_eq!((theirs.muted_until, theirs.pinned_at), (None, None));
    bob.expect_no_push(api::event::CHAT_SETTINGS, QUIET).await;

    // Pinning again keeps the time; forever, then unmute.
    let set: ChatSettings = alice
        .ok(
            method::CHATS_SETTINGS,
            &ChatSettingsParams {
                group: dm.clone(),
                muted_until: Some(Some(MUTED_FOREVER)),
                pinned: Some(true),
            },
        )
        .await;
    assert_eq!(set.pinned_at, Some(pinned_at));
    assert_eq!(set.muted_until, Some(MUTED_FOREVER));
    let set: ChatSettings = alice
        .ok(
            method::CHATS_SETTINGS,
            &ChatSettingsParams {
                group: dm.clone(),
                muted_until: Some(None),
                pinned: Some(false),
            },
        )
        .await;
    assert_eq!((set.muted_until, set.pinned_at), (None, None));
    let summary = alice.summary(&dm).await;
    assert_eq!((summary.muted_until, summary.pinned_at), (None, None));

    // At most five pinned chats.
    let mut groups = Vec::new();
    for i in 0..=api::MAX_PINNED_CHATS {
        groups.push(
            alice
                .create_group(&format!("g{i}"), Visibility::Private, None)
                .await
                .group,
        );
    }
    let pin = |group: &GroupId| ChatSettingsParams {
        group: group.clone(),
        muted_until: None,
        pinned: Some(true),
    };
    for group in &groups[..api::MAX_PINNED_CHATS] {
        let _: ChatSettings = alice.ok(method::CHATS_SETTINGS, &pin(group)).await;
    }
    alice
        .err(
            method::CHATS_SETTINGS,
            &pin(&groups[api::MAX_PINNED_CHATS]),
            ErrorCode::Conflict,
        )
        .await;
}

async fn chat_settings_refuse_bad_values_and_foreign_chats(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut carol] = users(&node, ["alice", "carol"]).await;
    let private = alice
        .create_group("mine", Visibility::Private, None)
        .await
        .group;
    let mute = |group: &GroupId, until: u64| ChatSettingsParams {
        group: group.clone(),
        muted_until: Some(Some(Timestamp(until))),
        pinned: None,
    };
    // Not her chat: as if it did not exist.
    carol
        .err(
            method::CHATS_SETTINGS,
            &mute(&private, now_ms() + 60_000),
            ErrorCode::NotFound,
        )
        .await;
    // In the past, nothing to change, a text time, a time past the CBOR subset.
    alice
        .err(
            method::CHATS_SETTINGS,
            &mute(&private, 1),
            ErrorCode::BadRequest,
        )
        .await;
    alice
        .err(
            method::CHATS_SETTINGS,
            &ChatSettingsParams {
                group: private.clone(),
                muted_until: None,
                pinned: None,
            },
            ErrorCode::BadRequest,
        )
        .await;
    let text_time = map(vec![
        ("group", Value::from(private.as_str())),
        ("muted_until", Value::from("tomorrow")),
    ]);
    let e = alice
        .call(method::CHATS_SETTINGS, text_time)
        .await
        .expect_err("refused");
    assert_eq!(e.code, ErrorCode::BadRequest);
    let pinned_text = map(vec![
        ("group", Value::from(private.as_str())),
        ("pinned", Value::from("yes")),
    ]);
    let e = alice
        .call(method::CHATS_SETTINGS, pinned_text)
        .await
        .expect_err("refused");
    assert_eq!(e.code, ErrorCode::BadRequest);
    // Nothing was stored by the refusals.
    let summary = alice.summary(&private).await;
    assert_eq!((summary.muted_until, summary.pinned_at), (None, None));
    alice.expect_no_push(api::event::CHAT_SETTINGS, QUIET).await;
}

// ---- helpers -----------------------------------------------------------------------------

fn api_value<T: serde::Serialize>(value: &T) -> Value {
    winichat_protocol::gateway::to_value(value).expect("encode")
}

fn field_u64(map: &Value, key: &str) -> u64 {
    common::field(map, key)
        .and_then(|v| v.as_integer())
        .and_then(|i| u64::try_from(i).ok())
        .unwrap_or_else(|| panic!("no {key} in {map:?}"))
}

/// The `ts` of message `seq` as `client` sees it.
async fn post_ts(client: &mut Client, group: &GroupId, seq: u64) -> Timestamp {
    let page = client
        .history(api::HistoryParams {
            group: group.clone(),
            before: None,
            after: None,
            around: Some(seq),
            limit: Some(1),
        })
        .await;
    page.items
        .iter()
        .find(|i| i.seq == seq)
        .map(|i| i.ts)
        .expect("the message")
}

/// Uploads `bytes` as `client` and returns the media id.
async fn upload(node: &TestNode, client: &Client, bytes: Vec<u8>, name: &str) -> MediaId {
    let response = reqwest::Client::new()
        .post(format!("{}/api/media?name={name}", node.http_url()))
        .bearer_auth(&client.account().token)
        .body(bytes)
        .send()
        .await
        .expect("upload");
    assert!(
        response.status().is_success(),
        "upload: {}",
        response.status()
    );
    let body: serde_json::Value = response.json().await.expect("upload JSON");
    body["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("the id parses")
}

/// `media.urls` of one media as `client`.
async fn urls(client: &mut Client, media: &MediaId) -> Vec<Option<String>> {
    let result: MediaUrls = client
        .ok(
            "media.urls",
            &MediaUrlsParams {
                items: vec![MediaUrlRequest {
                    media: media.clone(),
                    thumb: None,
                }],
            },
        )
        .await;
    result.urls
}
