//! Direct chats across real nodes over real QUIC (issue "Federation in the product"): a direct
//! chat of `@alice:A` and `@bob:B` is one chat whichever side opens it, and everything a local
//! direct chat does — ticks, typing, edits, deletions, reactions, pins — works across.

use std::time::{Duration, Instant};

use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::gateway::chat::{self as api, ChatEventPush, event, method};
use winichat_protocol::group::GroupKind;
use winichat_protocol::ids::{GroupId, UserId};
use winichat_testkit::client::{Client, txn};
use winichat_testkit::cluster::{Cluster, ClusterSpec};
use winichat_testkit::node::Backend;
use winichat_testkit::users::{self, post};

const WAIT: Duration = Duration::from_secs(15);

async fn open_direct(client: &mut Client, peer: &UserId) -> api::ChatSummary {
    client
        .ok(method::DM_OPEN, &api::DmOpenParams { user: peer.clone() })
        .await
}

/// The next push `name` of `group` about `user`, skipping others.
async fn next_about(
    client: &mut Client,
    name: &str,
    group: &GroupId,
    user: &UserId,
) -> ciborium::Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(data) = client.try_next_push(name, left).await else {
            panic!(
                "{}: no {name} of {user} in {group} within {WAIT:?}",
                client.user()
            );
        };
        let about: api::TypingPush = winichat_protocol::gateway::decode_params(&data)
            .unwrap_or_else(|e| panic!("{name} does not decode: {e}"));
        if &about.group == group && &about.user == user {
            return data;
        }
    }
}

fn kinds(events: &[ChatEventPush]) -> Vec<&str> {
    events.iter().map(|e| e.item.kind.as_str()).collect()
}

#[tokio::test]
async fn a_direct_chat_of_two_nodes_is_one_chat_with_ticks_typing_edits_and_reactions() {
    let cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Postgres])
            .configure(users::unthrottled_gateway),
    )
    .await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let (alice_id, bob_id) = (alice.user().clone(), bob.user().clone());

    let opened = open_direct(&mut alice, &bob_id).await;
    assert_eq!(opened.kind, GroupKind::Direct);
    let group = opened.group;
    assert_eq!(group.home(), a.name(), "the opener's node is the home");
    let from_b = open_direct(&mut bob, &alice_id).await;
    assert_eq!(from_b.group, group, "bob's side is the same chat");
    assert_eq!(open_direct(&mut alice, &bob_id).await.group, group);
    let listed: api::ChatList = bob
        .ok(method::CHATS_LIST, &api::ChatsListParams::default())
        .await;
    assert_eq!(
        listed
            .chats
            .iter()
            .filter(|c| c.kind == GroupKind::Direct)
            .count(),
        1,
        "one direct chat in bob's list: {listed:?}"
    );

    // ✓ then ✓✓: bob receives alice's message, then reads it.
    let first = post(&mut alice, &group, "hello bob").await;
    users::chat_events_through(&mut bob, &group, first.seq, WAIT).await;
    let _: ciborium::Value = bob
        .ok(
            method::MSGS_READ,
            &api::ReadParams {
                group: group.clone(),
                seq: first.seq,
            },
        )
        .await;
    let read = next_about(&mut alice, event::CHAT_READ, &group, &bob_id).await;
    let read: api::ReadPush = winichat_protocol::gateway::decode_params(&read).expect("chat.read");
    assert_eq!(read.seq, first.seq, "alice sees ✓✓");

    // Typing, both ways.
    let _: ciborium::Value = bob
        .ok(
            method::MSGS_TYPING,
            &api::GroupParams {
                group: group.clone(),
            },
        )
        .await;
    next_about(&mut alice, event::CHAT_TYPING, &group, &bob_id).await;
    let _: ciborium::Value = alice
        .ok(
            method::MSGS_TYPING,
            &api::GroupParams {
                group: group.clone(),
            },
        )
        .await;
    next_about(&mut bob, event::CHAT_TYPING, &group, &alice_id).await;

    // A reply from B, an edit from A, a reaction, a pin and the reply's deletion from B.
    let reply = bob
        .ok::<_, api::WriteResult>(
            method::MSGS_POST,
            &api::PostParams {
                reply_to: Some(first.seq),
                ..users::post_params(&group, "hi alice")
            },
        )
        .await;
    let edited: api::WriteResult = alice
        .ok(
            method::MSGS_EDIT,
            &api::EditParams {
                txn: txn(),
                group: group.clone(),
                seq: first.seq,
                text: "hello bob (edited)".into(),
            },
        )
        .await;
    let reacted: api::WriteResult = bob
        .ok(
            method::MSGS_REACT,
            &api::ReactParams {
                txn: txn(),
                group: group.clone(),
                seq: first.seq,
                emoji: "👍".into(),
                on: true,
            },
        )
        .await;
    let pinned: api::WriteResult = bob
        .ok(
            method::MSGS_PIN,
            &api::PinParams {
                txn: txn(),
                group: group.clone(),
                seq: first.seq,
                on: true,
            },
        )
        .await;
    let deleted: api::WriteResult = bob
        .ok(
            method::MSGS_DELETE,
            &api::MsgParams {
                txn: txn(),
                group: group.clone(),
                seq: reply.seq,
            },
        )
        .await;
    assert!(reply.seq < edited.seq && edited.seq < reacted.seq);
    assert!(reacted.seq < pinned.seq && pinned.seq < deleted.seq);
    let on_a = users::chat_events_through(&mut alice, &group, deleted.seq, WAIT).await;
    let on_b = users::chat_events_through(&mut bob, &group, deleted.seq, WAIT).await;
    for (who, seen) in [("alice", &on_a), ("bob", &on_b)] {
        for kind in ["msg.edit", "msg.react", "msg.pin", "msg.delete"] {
            assert!(
                kinds(seen).contains(&kind),
                "{who} sees {kind}: {:?}",
                kinds(seen)
            );
        }
    }

    // Both read the same history from their own node.
    let on_a = users::latest_history(&mut alice, &group).await;
    let on_b = users::latest_history(&mut bob, &group).await;
    assert_eq!(on_a.items, on_b.items, "one log, the same on both nodes");
    let original = on_b
        .items
        .iter()
        .find(|i| i.seq == first.seq)
        .expect("the first message");
    assert!(original.edited_at.is_some() && original.pinned);
    assert_eq!(original.reactions.len(), 1);
    assert!(on_b.items.iter().any(|i| i.seq == reply.seq && i.deleted));
    cluster.shutdown().await;
}

#[tokio::test]
async fn opening_at_once_from_both_sides_agrees_on_one_chat() {
    let cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Sqlite]).configure(users::unthrottled_gateway),
    )
    .await;
    let mut alice = users::register(cluster.node(0), "alice").await;
    let mut bob = users::register(cluster.node(1), "bob").await;
    let (alice_id, bob_id) = (alice.user().clone(), bob.user().clone());
    let (from_a, from_b) = tokio::join!(
        open_direct(&mut alice, &bob_id),
        open_direct(&mut bob, &alice_id)
    );
    // Both may have created one; once each holds both, both name the smaller.
    let agreed = users::eventually("both sides name one chat", WAIT, async || {
        let a = open_direct(&mut alice, &bob_id).await.group;
        let b = open_direct(&mut bob, &alice_id).await.group;
        (a == b).then_some(a)
    })
    .await;
    assert!(agreed == from_a.group || agreed == from_b.group);
    assert!(
        agreed <= from_a.group && agreed <= from_b.group,
        "the smaller id wins"
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn dm_open_with_a_user_of_a_stopped_node_is_unavailable_at_once() {
    let mut cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Sqlite]).configure(users::unthrottled_gateway),
    )
    .await;
    let mut bob = users::register(cluster.node(1), "bob").await;
    let missing: UserId = format!("@nobody:{}", cluster.name(0))
        .parse()
        .expect("user");
    bob.err(
        method::DM_OPEN,
        &api::DmOpenParams { user: missing },
        ErrorCode::NotFound,
    )
    .await;

    let alice: UserId = format!("@alice:{}", cluster.name(0)).parse().expect("user");
    let _ = users::register(cluster.node(0), "alice").await;
    cluster.stop(0).await;
    let started = Instant::now();
    bob.err(
        method::DM_OPEN,
        &api::DmOpenParams { user: alice },
        ErrorCode::Unavailable,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered in {:?}",
        started.elapsed()
    );
    let listed: api::ChatList = bob
        .ok(method::CHATS_LIST, &api::ChatsListParams::default())
        .await;
    assert!(listed.chats.is_empty(), "nothing created: {listed:?}");
    cluster.shutdown().await;
}
