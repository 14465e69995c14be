//! Groups across real nodes over real QUIC (issue "Federation"): a user of one node finds,
//! joins and uses a group homed on another, through their own node's gateway.

use std::time::Duration;

use winichat_protocol::gateway::chat::{self as api, ChatEventPush, method};
use winichat_testkit::client::txn;
use winichat_testkit::cluster::{Cluster, ClusterSpec};
use winichat_testkit::node::Backend;
use winichat_testkit::users::{self, post, public_group};

const WAIT: Duration = Duration::from_secs(15);

fn text_of(push: &ChatEventPush) -> String {
    match &push.item.body {
        ciborium::Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_text() == Some("text"))
            .and_then(|(_, v)| v.as_text())
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

#[tokio::test]
async fn a_user_of_b_finds_joins_and_chats_in_a_group_of_a() {
    let cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Postgres])
            .configure(users::unthrottled_gateway),
    )
    .await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let group = public_group(&mut alice, "rust").await;
    post(&mut alice, &group, "before bob").await;

    let handle = format!("#rust:{}", a.name());
    let found: api::DirectoryResult = bob
        .ok(
            method::GROUPS_DIRECTORY,
            &api::DirectoryParams {
                query: handle.clone(),
                limit: None,
                after: None,
            },
        )
        .await;
    assert_eq!(found.groups.len(), 1, "B finds #rust on A: {found:?}");
    assert_eq!(found.groups[0].group, group);

    let joined = users::join_by_handle(&mut bob, &handle).await;
    assert_eq!(joined.group, group);
    let history: api::HistoryResult = bob
        .ok(
            method::MSGS_HISTORY,
            &api::HistoryParams {
                group: group.clone(),
                before: None,
                after: None,
                around: None,
                limit: None,
            },
        )
        .await;
    assert!(
        history.items.iter().any(|i| i.kind.as_str() == "msg.post"),
        "bob reads the history from B's replica: {history:?}"
    );

    let from_bob = post(&mut bob, &group, "hello from B").await;
    let seen = users::chat_events_through(&mut alice, &group, from_bob.seq, WAIT).await;
    assert!(
        seen.iter().any(|p| text_of(p) == "hello from B"),
        "alice sees bob's message live"
    );
    let from_alice = post(&mut alice, &group, "hello from A").await;
    let seen = users::chat_events_through(&mut bob, &group, from_alice.seq, WAIT).await;
    assert!(
        seen.iter().any(|p| text_of(p) == "hello from A"),
        "bob sees alice's message live"
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_remote_group_stays_readable_while_its_home_is_down() {
    let mut cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Sqlite])
            .configure(users::unthrottled_gateway)
            .configure(|config| {
                config.federation.request_timeout = Duration::from_secs(2);
            }),
    )
    .await;
    let mut alice = users::register(cluster.node(0), "alice").await;
    let mut bob = users::register(cluster.node(1), "bob").await;
    let group = public_group(&mut alice, "offgrid").await;
    let joined = users::join_group(&mut bob, &group).await;
    assert_eq!(joined.group, group);
    let posted = post(&mut alice, &group, "read me later").await;
    users::chat_events_through(&mut bob, &group, posted.seq, WAIT).await;
    drop(alice);

    cluster.stop(0).await;
    let history: api::HistoryResult = bob
        .ok(
            method::MSGS_HISTORY,
            &api::HistoryParams {
                group: group.clone(),
                before: None,
                after: None,
                around: None,
                limit: None,
            },
        )
        .await;
    assert!(
        history.items.iter().any(|i| i.seq == posted.seq),
        "B serves the history of A's group from its replica while A is down"
    );
    let list: api::ChatList = bob
        .ok(method::CHATS_LIST, &api::ChatsListParams::default())
        .await;
    assert!(list.chats.iter().any(|c| c.group == group));

    let started = std::time::Instant::now();
    let refused = bob
        .err(
            method::MSGS_POST,
            &api::PostParams {
                txn: txn(),
                group: group.clone(),
                text: "anyone there?".into(),
                reply_to: None,
                mentions: Vec::new(),
                mention_everyone: false,
                attachments: Vec::new(),
            },
            winichat_protocol::error_code::ErrorCode::Unavailable,
        )
        .await;
    assert!(refused.message.contains("cannot be reached"), "{refused:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the write is refused within the request timeout, not left hanging"
    );
    cluster.shutdown().await;
}
