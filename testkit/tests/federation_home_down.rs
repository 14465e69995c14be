//! A group's home goes down (stopped, or cut off by the network): a member on another node
//! keeps reading the replica, every write is refused `unavailable` at once rather than left
//! hanging, and the retry with the same txn id posts exactly once when the home is back
//! (issue "Federation in the product", item 6; spec/federation.md §3.4).
//!
//! The nodes keep the default federation request timeout (10 s): the quick refusal must come
//! from the links noticing the home is down, not from a short timeout.

use std::time::Duration;

use tokio::time::timeout;
use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::federation::methods::{HelloParams, VERSIONS, method as fed_method};
use winichat_protocol::gateway::chat::{self as api, method};
use winichat_protocol::ids::GroupId;
use winichat_testkit::client::{Client, txn};
use winichat_testkit::cluster::{Cluster, ClusterSpec};
use winichat_testkit::node::Backend;
use winichat_testkit::users::{self, post, post_params, public_group};

/// How long an answer may take while the home is down: reads, and refusals while the home is
/// stopped (the bound).
const QUICK: Duration = Duration::from_secs(2);
/// How long a refusal may take while the path is cut and the link still looks open: the
/// request must go unanswered for 1.5 s first (spec/federation.md §3.4), plus room for a busy
/// machine.
const CUT_REFUSAL: Duration = Duration::from_secs(3);
/// How long the home may take to be reachable again, and a message to reach everyone.
const WAIT: Duration = Duration::from_secs(30);

/// How the home is taken away.
#[derive(Debug, Clone, Copy)]
enum Outage {
    /// The home node is stopped, then started again on the same data.
    Stopped,
    /// The path between the nodes drops every datagram, then heals (the links stay open on
    /// both sides).
    Cut,
}

async fn history(client: &mut Client, group: &GroupId) -> Vec<api::TimelineItem> {
    let result = timeout(QUICK, users::latest_history(client, group))
        .await
        .expect("the history is read from the replica without waiting for the home");
    result.items
}

fn posts_of(items: &[api::TimelineItem], text: &str) -> usize {
    items
        .iter()
        .filter(|i| i.kind.as_str() == "msg.post")
        .filter(|i| match &i.body {
            ciborium::Value::Map(entries) => entries
                .iter()
                .any(|(k, v)| k.as_text() == Some("text") && v.as_text() == Some(text)),
            _ => false,
        })
        .count()
}

/// Calls `method` and expects `unavailable` within `bound`.
async fn refused_quickly<P: serde::Serialize>(
    client: &mut Client,
    bound: Duration,
    name: &str,
    params: &P,
) {
    let value = winichat_protocol::gateway::to_value(params).expect("params encode");
    let answer = timeout(bound, client.call(name, value))
        .await
        .unwrap_or_else(|_| panic!("{name} to a down home is answered within {bound:?}"));
    match answer {
        Err(e) if e.code == ErrorCode::Unavailable => {}
        other => panic!("{name} to a down home: expected unavailable, got {other:?}"),
    }
}

async fn home_down_then_back(home_backend: Backend, member_backend: Backend, outage: Outage) {
    let mut spec =
        ClusterSpec::new([home_backend, member_backend]).configure(users::unthrottled_gateway);
    if matches!(outage, Outage::Cut) {
        spec = spec.relay(0, 1);
    }
    let mut cluster = Cluster::start(spec).await;
    let mut alice = users::register(cluster.node(0), "alice").await;
    let mut bob = users::register(cluster.node(1), "bob").await;
    let group = public_group(&mut alice, "outage").await;
    users::join_group(&mut bob, &group).await;
    let before = post(&mut alice, &group, "before the outage").await;
    users::chat_events_through(&mut bob, &group, before.seq, WAIT).await;
    let from_bob = post(&mut bob, &group, "bob was here").await;

    match outage {
        Outage::Stopped => {
            drop(alice);
            cluster.stop(0).await;
        }
        Outage::Cut => cluster.cut_link(0, 1),
    }

    let bound = match outage {
        Outage::Stopped => QUICK,
        Outage::Cut => CUT_REFUSAL,
    };

    // 1. Reads come from B's replica.
    let items = history(&mut bob, &group).await;
    assert!(
        items.iter().any(|i| i.seq == before.seq),
        "the replica serves the history while the home is away: {items:?}"
    );
    let list: api::ChatList = timeout(
        QUICK,
        bob.ok(method::CHATS_LIST, &api::ChatsListParams::default()),
    )
    .await
    .expect("the chat list is read without waiting for the home");
    assert!(list.chats.iter().any(|c| c.group == group), "{list:?}");

    // 2. A post is refused at once, and so is its retry while the home is still away.
    let pending = post_params(&group, "sent while the home was away");
    refused_quickly(&mut bob, bound, method::MSGS_POST, &pending).await;
    refused_quickly(&mut bob, bound, method::MSGS_POST, &pending).await;

    // 4. Other writes take the same path; typing and read positions never wait for the home.
    refused_quickly(
        &mut bob,
        bound,
        method::MSGS_REACT,
        &api::ReactParams {
            txn: txn(),
            group: group.clone(),
            seq: before.seq,
            emoji: "👍".into(),
            on: true,
        },
    )
    .await;
    refused_quickly(
        &mut bob,
        bound,
        method::MSGS_DELETE,
        &api::MsgParams {
            txn: txn(),
            group: group.clone(),
            seq: from_bob.seq,
        },
    )
    .await;
    let typing: Result<serde::de::IgnoredAny, _> = timeout(
        QUICK,
        bob.call_as(
            method::MSGS_TYPING,
            &api::GroupParams {
                group: group.clone(),
            },
        ),
    )
    .await
    .expect("typing is answered without waiting for the home");
    typing.expect("typing in a replicated group needs nothing of the home");
    let read: Result<serde::de::IgnoredAny, _> = timeout(
        QUICK,
        bob.call_as(
            method::MSGS_READ,
            &api::ReadParams {
                group: group.clone(),
                seq: before.seq,
            },
        ),
    )
    .await
    .expect("a read position is answered without waiting for the home");
    read.expect("the read position is kept on B and shared later");

    // Nothing of the refused writes was recorded on B.
    let items = history(&mut bob, &group).await;
    assert_eq!(
        posts_of(&items, "sent while the home was away"),
        0,
        "{items:?}"
    );
    assert!(
        items.iter().all(|i| i.reactions.is_empty() && !i.deleted),
        "{items:?}"
    );

    match outage {
        Outage::Stopped => cluster.restart(0).await,
        Outage::Cut => cluster.heal_link(0, 1),
    }
    let mut alice = users::log_in(cluster.node(0), "alice").await;

    // 3. The retry with the same txn id posts once, when the home answers again.
    let written: api::WriteResult =
        users::eventually("the home takes the retry", WAIT, async || {
            match bob.call_as(method::MSGS_POST, &pending).await {
                Ok(written) => Some(written),
                Err(e) if e.code == ErrorCode::Unavailable => None,
                Err(e) => panic!("the retry is refused: {e:?}"),
            }
        })
        .await;
    let again: api::WriteResult = bob.ok(method::MSGS_POST, &pending).await;
    assert_eq!(
        (again.seq, &again.id),
        (written.seq, &written.id),
        "a further retry with the same txn id names the same event"
    );

    // It reaches every member, once.
    users::eventually("alice reads the message once", WAIT, async || {
        let items = history(&mut alice, &group).await;
        (posts_of(&items, "sent while the home was away") == 1).then_some(())
    })
    .await;
    users::eventually("bob's replica holds the message once", WAIT, async || {
        let items = history(&mut bob, &group).await;
        (posts_of(&items, "sent while the home was away") == 1
            && items.iter().any(|i| i.seq == written.seq))
        .then_some(())
    })
    .await;
    let items = history(&mut alice, &group).await;
    assert_eq!(
        items
            .iter()
            .filter(|i| i.kind.as_str() == "msg.post")
            .count(),
        3,
        "only the three posts accepted: {items:?}"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_home_refuses_writes_at_once_and_takes_the_retry_once_sqlite() {
    home_down_then_back(Backend::Sqlite, Backend::Sqlite, Outage::Stopped).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_home_refuses_writes_at_once_and_takes_the_retry_once_postgres() {
    home_down_then_back(Backend::Postgres, Backend::Postgres, Outage::Stopped).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_home_cut_off_refuses_writes_at_once_and_takes_the_retry_once() {
    home_down_then_back(Backend::Sqlite, Backend::Sqlite, Outage::Cut).await;
}

/// A dial that outlasts the wait of the request that started it goes on, and its link serves
/// the next request: a peer slow to answer is not dialled over and over, each time given up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dial_given_up_by_its_request_goes_on_and_serves_the_next() {
    let cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Sqlite])
            .relay(0, 1)
            .configure(|c| c.federation.request_timeout = Duration::from_secs(10)),
    )
    .await;
    let client = cluster.node(0).federation().client();
    let links = cluster.node(0).federation().links().clone();
    let to = cluster.name(1).clone();
    let hello = || {
        let params = ciborium::Value::serialized(&HelloParams {
            versions: VERSIONS.to_vec(),
        })
        .expect("params");
        let (client, to) = (client.clone(), to.clone());
        async move { client.request(&to, fed_method::HELLO, params).await }
    };
    users::eventually("node 0 reaches node 1", WAIT, async || hello().await.ok()).await;

    links.disconnect(&to).await;
    cluster.cut_link(0, 1);
    let dials_before = links.connections_opened();
    let started = tokio::time::Instant::now();
    let refused = timeout(QUICK, hello())
        .await
        .expect("the request gives up on the dial in time");
    assert!(refused.is_err(), "nothing answers through a cut link");
    // The handshake's first flight is lost; QUIC sends it again a second or two later, which
    // now gets through.
    tokio::time::sleep_until(started + Duration::from_millis(1700)).await;
    cluster.heal_link(0, 1);
    users::eventually(
        "the dial under way connects after the heal",
        WAIT,
        async || hello().await.ok(),
    )
    .await;
    assert_eq!(
        links.connections_opened() - dials_before,
        1,
        "the first dial went on and its link was used, no second dial"
    );
    cluster.shutdown().await;
}
