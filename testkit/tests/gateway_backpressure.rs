//! A connection keeps receiving its pushes while a request of its own waits (spec/gateway.md
//! §3, §6): a sender whose write is slow is not taken for a slow reader.

use std::time::Duration;

use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::gateway::chat::{self as api, method};
use winichat_protocol::gateway::{self, close};
use winichat_protocol::ids::GroupId;
use winichat_testkit::client::Client;
use winichat_testkit::cluster::{Cluster, ClusterSpec};
use winichat_testkit::node::{Backend, TestNode};
use winichat_testkit::users;

/// The bound of every single wait.
const WAIT: Duration = Duration::from_secs(30);
/// Frames a connection's send queue holds here: smaller than the default 256 keeps the test
/// short (and well within the federation link's idle timeout); the mechanism is the same.
const SEND_QUEUE: usize = 32;
/// More pushes than the send queue holds.
const PUSHES: usize = 3 * SEND_QUEUE;

async fn join(user: &mut Client, handle: &str, home: &TestNode, group: &GroupId) {
    let joined = users::join_by_handle(user, &format!("#{handle}:{}", home.name())).await;
    assert_eq!(&joined.group, group);
}

/// Bob posts to a group whose home is cut off, so his request waits on the node (for the
/// federation request timeout) — and meanwhile more pushes than his send queue holds arrive
/// for him from a group of his own node. He reads all the time: he gets every one of them
/// while his request still waits, is not closed, and then gets his reply.
#[tokio::test]
async fn a_sender_whose_request_waits_still_gets_every_push() {
    let cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Sqlite])
            .relay(0, 1)
            .configure(|config| {
                // Carol posts as fast as her node answers.
                config.gateway.rate_burst = 1_000_000;
                config.gateway.rate_per_sec = 1_000_000;
                config.gateway.send_queue = SEND_QUEUE;
                // Longer than the pushes take to arrive: the link is healed before it passes.
                config.federation.request_timeout = Duration::from_secs(120);
            }),
    )
    .await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut alice = users::register(a, "alice").await;
    let [mut bob, mut carol] = users::register_all(b, ["bob", "carol"]).await;
    let far = users::public_group(&mut alice, "far").await;
    join(&mut bob, "far", a, &far).await;
    let near = users::public_group(&mut carol, "near").await;
    join(&mut bob, "near", b, &near).await;

    cluster.cut_link(0, 1);
    let params =
        gateway::to_value(&users::post_params(&far, "towards a home cut off")).expect("params");
    let waiting = bob.send(method::MSGS_POST, params).await;
    let mut posted = Vec::with_capacity(PUSHES);
    for k in 0..PUSHES {
        let written: api::WriteResult = carol
            .ok(
                method::MSGS_POST,
                &users::post_params(&near, &format!("{k}")),
            )
            .await;
        posted.push(written.seq);
    }
    let last = *posted.last().expect("posts");
    let received: Vec<u64> = users::chat_events_through(&mut bob, &near, last, WAIT)
        .await
        .iter()
        .filter(|e| e.item.sender == *carol.user())
        .map(|e| e.item.seq)
        .collect();
    assert_eq!(received, posted, "every push, in order");
    assert!(
        !bob.has_reply(waiting),
        "the pushes came while bob's request still waited"
    );
    assert_eq!(bob.closed(), None, "bob was not closed");

    cluster.heal_link(0, 1);
    match bob.reply(waiting).await {
        Ok(_) => {}
        Err(e) => assert_eq!(e.code, ErrorCode::Unavailable, "{e:?}"),
    }
    bob.call(gateway::method::PING, winichat_testkit::client::map(vec![]))
        .await
        .expect("bob's connection lives on");
    assert_ne!(bob.closed(), Some(Some(close::TOO_SLOW)));
    cluster.shutdown().await;
}
