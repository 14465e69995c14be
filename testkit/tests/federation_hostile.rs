//! Hostile and faulty peers between real nodes over real QUIC (issue "Federation": rejected or
//! harmless). The test speaks as a node with that node's own identity key (it owns the node's
//! data directory) over its own QUIC connection, and sends what a broken or malicious peer
//! would: forged, corrupted, misplaced, replayed, equivocating and rule-breaking events, and
//! writes for users it does not host. After each, the next valid event still flows.
//!
//! The transport suite (federation_transport.rs) covers a certificate whose key is not the
//! named node's; over-size requests are checked again here, in the middle of a replica's log.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ciborium::Value;
use winichat_node::federation::link::{MAX_FRAME, quic_client_config, server_name};
use winichat_node::federation::{
    Discovery, FedClient, FedError, FederationSettings, Links, PeerDirectory, PinnedPeer, ops,
};
use winichat_node::identity::NodeIdentity;
use winichat_node::storage::{self, Database, FaultKind, StoredEvent};
use winichat_protocol::Timestamp;
use winichat_protocol::codec::Limits;
use winichat_protocol::cose::{Signed, UnverifiedSign1};
use winichat_protocol::ed25519_dalek::SigningKey;
use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::event::{Event, EventKind};
use winichat_protocol::federation::FedResponse;
use winichat_protocol::federation::methods::{
    JoinParams, JoinRoute, MAX_PUSH_EVENTS, PushOutcome, PushParams, PushResult, SubmitParams,
    method as fed,
};
use winichat_protocol::gateway;
use winichat_protocol::gateway::chat::{self as api, ChatEventPush, WriteResult, event, method};
use winichat_protocol::group::bodies::MsgPost;
use winichat_protocol::ids::{GroupId, NodeName, UserId};
use winichat_protocol::keys::PublicKey;
use winichat_testkit::client::Client;
use winichat_testkit::cluster::{Cluster, ClusterSpec};
use winichat_testkit::node::{Backend, TestNode};
use winichat_testkit::users::{self, post, public_group};

/// Bound on every wait.
const WAIT: Duration = Duration::from_secs(15);
/// Short, so a push stuck in a cut link fails (and is retried) quickly.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

fn fast_federation(config: &mut winichat_node::config::Config) {
    users::unthrottled_gateway(config);
    config.federation.request_timeout = REQUEST_TIMEOUT;
}

/// Outgoing links speaking as `node` (with its own identity key, read from its data
/// directory) to the single peer `to`, over a QUIC connection of their own.
fn speak_as(node: &TestNode, to: &PinnedPeer) -> Links {
    let identity = NodeIdentity::load_or_create(node.data_dir()).expect("the node's identity");
    let settings = FederationSettings {
        discovery: Discovery::Pinned,
        peers: vec![to.clone()],
        request_timeout: WAIT,
        ..FederationSettings::default()
    };
    let peers = PeerDirectory::new(node.name().clone(), &settings).expect("peer directory");
    let endpoint =
        quinn::Endpoint::client(SocketAddr::from(([127, 0, 0, 1], 0))).expect("client endpoint");
    Links::new(
        node.name().clone(),
        identity,
        endpoint,
        Arc::new(peers),
        WAIT,
    )
}

async fn push(links: &Links, to: &NodeName, events: Vec<Vec<u8>>) -> Vec<PushOutcome> {
    let params = gateway::to_value(&PushParams { events }).expect("params");
    let answer = links
        .request(to, fed::PUSH, params)
        .await
        .expect("the push is answered");
    gateway::decode_params::<PushResult>(&answer)
        .expect("a push result")
        .outcomes
}

/// Sends `frame` as is on a new QUIC connection from `node` (with its own key) to `to`,
/// writing while reading (an over-size frame is answered before it is all sent).
async fn send_raw(node: &TestNode, to: &PinnedPeer, frame: Vec<u8>) -> FedResponse {
    let identity = NodeIdentity::load_or_create(node.data_dir()).expect("the node's identity");
    let key = PublicKey::from_bytes(&to.key).expect("key");
    let config = quic_client_config(&identity, node.name(), key).expect("client config");
    let endpoint =
        quinn::Endpoint::client(SocketAddr::from(([127, 0, 0, 1], 0))).expect("client endpoint");
    let connection = tokio::time::timeout(
        WAIT,
        endpoint
            .connect_with(config, to.quic, &server_name(&to.name))
            .expect("connect"),
    )
    .await
    .expect("handshake in time")
    .expect("handshake");
    let (mut tx, mut rx) = connection.open_bi().await.expect("stream");
    let writer = tokio::spawn(async move {
        if tx.write_all(&frame).await.is_ok() {
            let _ = tx.finish();
        }
    });
    let bytes = tokio::time::timeout(WAIT, rx.read_to_end(MAX_FRAME))
        .await
        .expect("answer in time")
        .expect("an answer");
    writer.abort();
    connection.close(0u32.into(), b"done");
    FedResponse::decode(&bytes).expect("a response frame")
}

/// Opens a running node's database beside it (SQLite in WAL mode allows a second reader).
async fn database(node: &TestNode) -> Database {
    storage::open(node.database_url().unwrap_or("sqlite"), node.data_dir())
        .await
        .expect("open the node's database")
}

async fn log_hash(db: &Database, group: &GroupId) -> Option<String> {
    ops::log_hash(db, group)
        .await
        .expect("log hash")
        .map(|h| ops::format_log_hash(&h))
}

async fn head(db: &Database, group: &GroupId) -> u64 {
    db.events()
        .last(group)
        .await
        .expect("head")
        .map_or(0, |(seq, _)| seq)
}

async fn stored(db: &Database, group: &GroupId, seq: u64) -> StoredEvent {
    db.events()
        .range(group, seq, 1)
        .await
        .expect("range")
        .into_iter()
        .find(|e| e.seq == seq)
        .unwrap_or_else(|| panic!("{group} holds seq {seq}"))
}

/// The event inside a stored signed event of the home `node`.
fn event_of(node: &TestNode, raw: &[u8]) -> Event {
    let key = PublicKey::from_bytes(&node.public_key().to_bytes()).expect("key");
    UnverifiedSign1::parse(raw, &Limits::EVENT)
        .expect("parse")
        .verify::<Event>(&key, &Limits::EVENT)
        .expect("verifies")
        .value()
        .clone()
}

fn post_body(text: &str) -> Value {
    gateway::to_value(&MsgPost {
        text: text.into(),
        reply_to: None,
        mentions: Vec::new(),
        mention_everyone: false,
        attachments: Vec::new(),
        forwarded: None,
    })
    .expect("body")
}

fn sign(event: Event, as_node: &NodeName, key: &SigningKey) -> Vec<u8> {
    Signed::sign(event, as_node, key)
        .expect("signs")
        .raw()
        .to_vec()
}

fn node_key(node: &TestNode) -> SigningKey {
    NodeIdentity::load_or_create(node.data_dir())
        .expect("identity")
        .signing_key()
        .clone()
}

/// A post of `text` to `group` with the txn id `txn` (to send the same write twice).
fn post_with_txn(group: &GroupId, txn: &str, text: &str) -> api::PostParams {
    api::PostParams {
        txn: txn.into(),
        ..users::post_params(group, text)
    }
}

/// `user` (of another node) joins the public group `handle` of `home` through their own node.
async fn join(user: &mut Client, home: &TestNode, handle: &str) -> GroupId {
    users::join_by_handle(user, &format!("#{handle}:{}", home.name()))
        .await
        .group
}

/// Every `chat.event` push up to the one of `group` at `seq`, of any chat, in arrival order.
async fn pushes_through(client: &mut Client, group: &GroupId, seq: u64) -> Vec<ChatEventPush> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(data) = client.try_next_push(event::CHAT_EVENT, left).await else {
            panic!(
                "{}: no chat.event of {group} at seq {seq} within {WAIT:?}; seen {:?}",
                client.user(),
                seen.iter()
                    .map(|p: &ChatEventPush| (p.group.to_string(), p.item.seq))
                    .collect::<Vec<_>>()
            );
        };
        let push: ChatEventPush = gateway::decode_params(&data).expect("chat.event");
        let reached = push.group == *group && push.item.seq >= seq;
        seen.push(push);
        if reached {
            return seen;
        }
    }
}

fn seqs_of(pushes: &[ChatEventPush], group: &GroupId) -> Vec<u64> {
    pushes
        .iter()
        .filter(|p| p.group == *group)
        .map(|p| p.item.seq)
        .collect()
}

/// Forged, corrupted and misplaced events are refused one by one, a replayed push is ignored,
/// a gap is backfilled from the home, an over-size push is refused: and the real events, sent
/// next, are applied each time. A's own deliveries to B are held back (its link to B is cut)
/// while the test speaks as A, and delivered (as duplicates) after.
#[tokio::test]
async fn a_replica_refuses_bad_pushes_backfills_gaps_and_keeps_flowing() {
    let cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Sqlite])
            .relay(0, 1)
            .configure(fast_federation),
    )
    .await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let (a_db, b_db) = (database(a).await, database(b).await);
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let group = public_group(&mut alice, "rust").await;
    assert_eq!(join(&mut bob, a, "rust").await, group);
    let first = post(&mut alice, &group, "before").await;
    users::chat_events_through(&mut bob, &group, first.seq, WAIT).await;
    let h = first.seq;

    // A's pushes to B wait in A's outbox from now on; B still reaches A (for backfill).
    cluster
        .relay(0, 1)
        .expect("A reaches B through a relay")
        .cut();
    let mut real = Vec::new();
    for i in 1..=3 {
        let written = post(&mut alice, &group, &format!("m{i}")).await;
        assert_eq!(written.seq, h + i);
        real.push(stored(&a_db, &group, written.seq).await.raw);
    }
    assert_eq!(head(&b_db, &group).await, h, "A's link to B is cut");

    let as_a = speak_as(a, cluster.peer(1));
    let b_name = b.name().clone();
    let a_key = node_key(a);
    let next = event_of(a, &real[0]);

    // A forged signature: the next event, signed under A's name by another key.
    let forged = sign(next.clone(), a.name(), &SigningKey::from_bytes(&[7; 32]));
    assert_eq!(
        push(&as_a, &b_name, vec![forged]).await,
        [PushOutcome::Rejected]
    );
    // A flipped byte in the real next event (in its payload, so the signature breaks).
    let mut flipped = real[0].clone();
    let at = flipped.len() - 80;
    flipped[at] ^= 0x01;
    assert_eq!(
        push(&as_a, &b_name, vec![flipped]).await,
        [PushOutcome::Rejected]
    );
    // Signed by A, at the right seq, but not continuing B's head.
    let mut misplaced = next.clone();
    misplaced.prev = Some(stored(&a_db, &group, 1).await.id);
    assert_eq!(
        push(&as_a, &b_name, vec![sign(misplaced, a.name(), &a_key)]).await,
        [PushOutcome::Rejected],
        "a prev mismatch is refused"
    );
    // Over-size: a frame over the federation limit (answered too_large on the stream), more
    // events than a push may carry, an event over the event limit: all refused, harmlessly.
    let answer = send_raw(a, cluster.peer(1), vec![0u8; MAX_FRAME + 1024]).await;
    assert!(
        matches!(&answer, FedResponse::Err { error, .. } if error.code == ErrorCode::TooLarge),
        "{answer:?}"
    );
    let err = as_a
        .request(
            &b_name,
            fed::PUSH,
            gateway::to_value(&PushParams {
                events: vec![real[0].clone(); MAX_PUSH_EVENTS + 1],
            })
            .expect("params"),
        )
        .await
        .expect_err("too many events in one push");
    assert!(
        matches!(&err, FedError::Refused { error, .. } if error.code == ErrorCode::BadRequest),
        "{err}"
    );
    let oversize_event = vec![0x41; Limits::EVENT.max_frame + 1];
    assert_eq!(
        push(&as_a, &b_name, vec![oversize_event]).await,
        [PushOutcome::Rejected]
    );
    assert_eq!(head(&b_db, &group).await, h, "nothing refused was applied");

    // The real next event still goes in; pushed again, it is a harmless duplicate.
    assert_eq!(
        push(&as_a, &b_name, vec![real[0].clone()]).await,
        [PushOutcome::Applied]
    );
    assert_eq!(
        push(&as_a, &b_name, vec![real[0].clone()]).await,
        [PushOutcome::Duplicate],
        "a replayed push is harmless"
    );
    // A gap: h+3 while B holds h+1. B backfills h+2 from A first, then applies h+3.
    assert_eq!(
        push(&as_a, &b_name, vec![real[2].clone()]).await,
        [PushOutcome::Applied]
    );
    assert_eq!(head(&b_db, &group).await, h + 3);
    let seen = users::chat_events_through(&mut bob, &group, h + 3, WAIT).await;
    assert_eq!(
        seen.iter().map(|p| p.item.seq).collect::<Vec<_>>(),
        [h + 1, h + 2, h + 3],
        "bob gets each event once, the backfilled one included, in order"
    );

    // The link heals: A's held deliveries arrive as duplicates, and a new post flows live.
    cluster.relay(0, 1).expect("relay").heal();
    let after = post(&mut alice, &group, "after").await;
    let seen = users::chat_events_through(&mut bob, &group, after.seq, WAIT).await;
    assert_eq!(
        seen.iter().map(|p| p.item.seq).collect::<Vec<_>>(),
        [after.seq],
        "each event reaches bob once"
    );
    assert_eq!(
        log_hash(&a_db, &group).await,
        log_hash(&b_db, &group).await,
        "one log on A and B"
    );
    assert!(
        ops::status(&b_db, Timestamp(0))
            .await
            .expect("status")
            .faulty_groups
            .is_empty(),
        "refused pushes from a peer mark no group"
    );
    cluster.shutdown().await;
}

/// A node acts only for its own users: C cannot submit or join for a user of B. A `submit`
/// replayed (same txn) answers the first result and appends nothing.
#[tokio::test]
async fn a_node_speaks_only_for_its_users_and_a_replayed_submit_is_harmless() {
    let cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Sqlite, Backend::Sqlite])
            .configure(fast_federation),
    )
    .await;
    let (a, b, c) = (cluster.node(0), cluster.node(1), cluster.node(2));
    let a_db = database(a).await;
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let group = public_group(&mut alice, "rust").await;
    assert_eq!(join(&mut bob, a, "rust").await, group);
    let bob_id: UserId = bob.user().clone();
    let before = head(&a_db, &group).await;

    // C, over its own real link to A, speaks for bob of B.
    let forged_post = gateway::to_value(&SubmitParams {
        user: bob_id.clone(),
        method: method::MSGS_POST.into(),
        params: gateway::to_value(&post_with_txn(&group, "forged", "not from bob")).expect("p"),
    })
    .expect("submit");
    let err = c
        .federation()
        .client()
        .request(a.name(), fed::SUBMIT, forged_post)
        .await
        .expect_err("C cannot submit for bob");
    assert!(
        matches!(&err, FedError::Refused { error, .. } if error.code == ErrorCode::Forbidden),
        "{err}"
    );
    let forged_join = gateway::to_value(&JoinParams {
        user: format!("@mallory:{}", b.name()).parse().expect("user id"),
        txn: "forged-join".into(),
        via: JoinRoute::Public,
        group: Some(group.clone()),
        code: None,
    })
    .expect("join");
    let err = c
        .federation()
        .client()
        .request(a.name(), fed::JOIN, forged_join)
        .await
        .expect_err("C cannot join for a user of B");
    assert!(
        matches!(&err, FedError::Refused { error, .. } if error.code == ErrorCode::Forbidden),
        "{err}"
    );
    assert_eq!(head(&a_db, &group).await, before, "nothing was appended");

    // Nor can C push events of A's group to B: neither A's own (relayed), nor its own.
    let b_db = database(b).await;
    let genuine = stored(&a_db, &group, before).await.raw;
    let mut next = event_of(a, &genuine);
    next.seq += 1;
    next.prev = Some(stored(&a_db, &group, before).await.id);
    next.body = post_body("C speaking for A");
    let by_c = sign(next, c.name(), &node_key(c));
    for events in [vec![genuine], vec![by_c]] {
        let answer = c
            .federation()
            .client()
            .request(
                b.name(),
                fed::PUSH,
                gateway::to_value(&PushParams { events }).expect("params"),
            )
            .await
            .expect("the push is answered");
        let outcomes = gateway::decode_params::<PushResult>(&answer)
            .expect("a push result")
            .outcomes;
        assert_eq!(outcomes, [PushOutcome::Rejected], "only the home pushes");
    }
    assert_eq!(head(&b_db, &group).await, before);

    // Bob posts through B; B's submit is then replayed twice, straight over B's link to A.
    let first: WriteResult = bob
        .ok(
            method::MSGS_POST,
            &post_with_txn(&group, "once", "only once"),
        )
        .await;
    assert_eq!(first.seq, before + 1);
    let replay = gateway::to_value(&SubmitParams {
        user: bob_id.clone(),
        method: method::MSGS_POST.into(),
        params: gateway::to_value(&post_with_txn(&group, "once", "only once")).expect("p"),
    })
    .expect("submit");
    for _ in 0..2 {
        let again = b
            .federation()
            .client()
            .request(a.name(), fed::SUBMIT, replay.clone())
            .await
            .expect("a replayed submit is answered");
        let again: WriteResult = gateway::decode_params(&again).expect("write result");
        assert_eq!(again, first, "the replay answers the first result");
    }
    let again: WriteResult = bob
        .ok(
            method::MSGS_POST,
            &post_with_txn(&group, "once", "only once"),
        )
        .await;
    assert_eq!(again, first, "and so does a retry through the gateway");
    assert_eq!(head(&a_db, &group).await, first.seq, "one event in A's log");

    // Messages still flow both ways.
    let from_alice = post(&mut alice, &group, "still here").await;
    let seen = users::chat_events_through(&mut bob, &group, from_alice.seq, WAIT).await;
    let seqs = seqs_of(&seen, &group);
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]) && seqs.contains(&first.seq),
        "bob's post once, then alice's: {seqs:?}"
    );
    let from_bob = post(&mut bob, &group, "me too").await;
    users::chat_events_through(&mut alice, &group, from_bob.seq, WAIT).await;
    cluster.shutdown().await;
}

/// A home that signs two different events at one seq (a fork), or an event the rules forbid
/// (a divergence), gets that group's replica stopped and marked, with the evidence, for the
/// operator (`winichat federation status`); its other groups keep flowing.
#[tokio::test]
async fn a_forking_or_rule_breaking_home_stops_only_that_group() {
    // B on PostgreSQL: the evidence goes to its fault store there.
    let cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Postgres]).configure(fast_federation),
    )
    .await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let (a_db, b_db) = (database(a).await, database(b).await);
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let forked = public_group(&mut alice, "forked").await;
    let diverged = public_group(&mut alice, "diverged").await;
    let healthy = public_group(&mut alice, "healthy").await;
    for handle in ["forked", "diverged", "healthy"] {
        join(&mut bob, a, handle).await;
    }
    let held = post(&mut alice, &forked, "the real one").await;
    let seen = pushes_through(&mut bob, &forked, held.seq).await;
    assert!(!seen.is_empty());
    let diverged_head = head(&a_db, &diverged).await;
    eventually_head(&b_db, &diverged, diverged_head).await;

    let as_a = speak_as(a, cluster.peer(1));
    let b_name = b.name().clone();
    let a_key = node_key(a);

    // A second, different event at the seq B holds, signed by A: a fork.
    let held_raw = stored(&a_db, &forked, held.seq).await.raw;
    let mut other = event_of(a, &held_raw);
    other.body = post_body("a different one");
    let equivocation = sign(other, a.name(), &a_key);
    assert_eq!(
        push(&as_a, &b_name, vec![equivocation.clone()]).await,
        [PushOutcome::Rejected]
    );
    // A post by someone who is not a member, signed by A: the rules forbid it.
    let last = stored(&a_db, &diverged, diverged_head).await;
    let forbidden = sign(
        Event {
            group: diverged.clone(),
            seq: diverged_head + 1,
            prev: Some(last.id),
            ts: Timestamp(last.ts.0 + 1),
            sender: format!("@eve:{}", a.name()).parse().expect("user id"),
            kind: EventKind::MsgPost,
            body: post_body("I am not a member"),
        },
        a.name(),
        &a_key,
    );
    assert_eq!(
        push(&as_a, &b_name, vec![forbidden.clone()]).await,
        [PushOutcome::Rejected]
    );

    // The evidence is kept and the operator sees both groups.
    let faults = b_db.faults().faults(&forked).await.expect("faults");
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert_eq!(faults[0].kind, FaultKind::Forked);
    assert_eq!(faults[0].seq, held.seq);
    assert_eq!(faults[0].held_raw.as_deref(), Some(held_raw.as_slice()));
    assert_eq!(faults[0].offending_raw, equivocation);
    let faults = b_db.faults().faults(&diverged).await.expect("faults");
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert_eq!(faults[0].kind, FaultKind::Diverged);
    assert_eq!(faults[0].seq, diverged_head + 1);
    assert_eq!(faults[0].held_raw, None);
    assert_eq!(faults[0].offending_raw, forbidden);
    let status = ops::status(&b_db, Timestamp(0)).await.expect("status");
    let marked: Vec<(String, String, Option<u64>)> = status
        .faulty_groups
        .iter()
        .map(|g| (g.group.clone(), g.fault.clone(), g.seq))
        .collect();
    let mut expected = vec![
        (forked.to_string(), "forked".to_owned(), Some(held.seq)),
        (
            diverged.to_string(),
            "diverged".to_owned(),
            Some(diverged_head + 1),
        ),
    ];
    expected.sort();
    assert_eq!(marked, expected);
    let shown = ops::render_status(&status);
    assert!(
        shown.contains(&format!("{forked} FORKED at seq {}", held.seq)),
        "{shown}"
    );
    assert!(shown.contains(&format!("{diverged} DIVERGED")), "{shown}");

    // A keeps posting in all three groups: the stopped ones take nothing more, and the
    // refused events do not hold up the healthy group's, queued after them.
    post(&mut alice, &forked, "after the fork").await;
    post(&mut alice, &diverged, "after the divergence").await;
    let live = post(&mut alice, &healthy, "still flowing").await;
    let seen = pushes_through(&mut bob, &healthy, live.seq).await;
    assert!(
        !seen
            .iter()
            .any(|p| (p.group == forked && p.item.seq > held.seq)
                || (p.group == diverged && p.item.seq > diverged_head)),
        "nothing more of the stopped groups reaches bob: {:?}",
        seen.iter()
            .map(|p| (p.group.to_string(), p.item.seq))
            .collect::<Vec<_>>()
    );
    assert_eq!(head(&b_db, &forked).await, held.seq);
    assert_eq!(head(&b_db, &diverged).await, diverged_head);
    assert_eq!(
        head(&b_db, &healthy).await,
        live.seq,
        "the healthy group is up to date"
    );
    cluster.shutdown().await;
}

async fn eventually_head(db: &Database, group: &GroupId, seq: u64) {
    users::eventually("the replica catches up", WAIT, async || {
        (head(db, group).await >= seq).then_some(())
    })
    .await;
}
