//! A gateway connection that closes with requests in flight: a request that only waits (here
//! on a node that never answers) is cut short with it, and writes caught by the close are in
//! the log once or not at all — a retry with the same txn finds them or writes them then.

use std::collections::HashMap;
use std::time::Duration;

use ciborium::Value;
use tokio::time::{Instant, sleep};
use winichat_node::federation::PinnedPeer;
use winichat_protocol::ed25519_dalek::SigningKey;
use winichat_protocol::event::EventKind;
use winichat_protocol::gateway;
use winichat_protocol::gateway::chat::{self as api, WriteResult, method};
use winichat_protocol::ids::{EventId, GroupId, NodeName};
use winichat_testkit::client::Client;
use winichat_testkit::node::{Backend, TestNode};
use winichat_testkit::users;

/// How long the node may take to notice closed connections and stop their requests.
const WAIT: Duration = Duration::from_secs(10);

/// Waits (bounded) until the node's gateway has no request at work.
async fn until_no_request_runs(node: &TestNode) {
    let deadline = Instant::now() + WAIT;
    loop {
        let running = node.hub().requests_running();
        if running == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{running} gateway requests still run {WAIT:?} after their connections closed"
        );
        sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_request_waiting_on_another_node_stops_with_its_connection() {
    // A pinned peer whose address swallows every packet: a request to it waits until the
    // QUIC handshake gives up (30 s), well past `WAIT`.
    let black_hole = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let peer = PinnedPeer {
        name: NodeName::parse("black.hole.test").expect("name"),
        quic: black_hole.local_addr().expect("addr"),
        key: SigningKey::from_bytes(&[7; 32]).verifying_key().to_bytes(),
    };
    let node = TestNode::start_with(Backend::Sqlite, move |config| {
        users::unthrottled_gateway(config);
        config.federation.peers.push(peer);
        config.federation.request_timeout = Duration::from_secs(120);
    })
    .await;
    let mut alice = users::register(&node, "alice").await;
    let mut leaving = alice.another(&node).await;
    let lookup = gateway::to_value(&api::DirectoryParams {
        query: "#room:black.hole.test".into(),
        limit: None,
        after: None,
    })
    .expect("params");
    leaving.send(method::GROUPS_DIRECTORY, lookup).await;
    let deadline = Instant::now() + WAIT;
    while node.hub().requests_running() == 0 {
        assert!(Instant::now() < deadline, "the lookup never started");
        sleep(Duration::from_millis(10)).await;
    }
    // The client goes away without a word.
    drop(leaving);
    until_no_request_runs(&node).await;

    // The node serves on.
    let listed: api::DirectoryResult = alice
        .ok(
            method::GROUPS_DIRECTORY,
            &api::DirectoryParams {
                query: String::new(),
                limit: None,
                after: None,
            },
        )
        .await;
    assert!(listed.groups.is_empty(), "{listed:?}");
    drop(alice);
    node.shutdown().await;
}

#[tokio::test]
async fn posts_caught_by_a_close_are_written_once_or_not_at_all_on_sqlite() {
    posts_caught_by_a_close_are_written_once_or_not_at_all(Backend::Sqlite).await;
}

#[tokio::test]
async fn posts_caught_by_a_close_are_written_once_or_not_at_all_on_postgres() {
    posts_caught_by_a_close_are_written_once_or_not_at_all(Backend::Postgres).await;
}

/// Where a post is in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stored {
    seq: u64,
    id: EventId,
}

async fn posts_caught_by_a_close_are_written_once_or_not_at_all(backend: Backend) {
    const POSTERS: usize = 4;
    const ROUNDS: usize = 3;
    const PER_CONNECTION: usize = 3;
    let node = TestNode::start_with(backend, users::unthrottled_gateway).await;
    let mut owner = users::register(&node, "owner").await;
    let group = users::public_group(&mut owner, "closing").await;
    let mut posters = Vec::new();
    for i in 0..POSTERS {
        let mut poster = users::register(&node, &format!("poster{i}")).await;
        users::join_by_handle(&mut poster, &format!("#closing:{}", node.name())).await;
        posters.push(poster);
    }

    // Each connection sends a few posts and closes at once: one is being written, one waits
    // to be read, the rest are unread when the close comes.
    let mut sent = Vec::new();
    for round in 0..ROUNDS {
        for (i, poster) in posters.iter().enumerate() {
            let mut connection = poster.another(&node).await;
            for k in 0..PER_CONNECTION {
                let params = users::post_params(&group, &format!("poster{i} round{round} #{k}"));
                let frame = gateway::to_value(&params).expect("params");
                connection.send(method::MSGS_POST, frame).await;
                sent.push((i, params));
            }
            if round % 2 == 0 {
                connection.close().await;
            } else {
                drop(connection);
            }
        }
    }
    until_no_request_runs(&node).await;

    let before = read_log(&mut owner, &group).await;
    let texts: Vec<&str> = sent.iter().map(|(_, p)| p.text.as_str()).collect();
    for text in before.keys() {
        assert!(texts.contains(&text.as_str()), "{text:?} was never sent");
    }

    // Every post sent again with its txn: one already stored answers where it is, the others
    // are written now; then each is in the log exactly once.
    let mut answered: HashMap<String, Stored> = HashMap::new();
    for (i, params) in &sent {
        let result: WriteResult = posters[*i].ok(method::MSGS_POST, params).await;
        let at = Stored {
            seq: result.seq,
            id: result.id,
        };
        if let Some(stored) = before.get(&params.text) {
            assert_eq!(
                &at, stored,
                "{:?}: the retry answers where the post was stored",
                params.text
            );
        }
        answered.insert(params.text.clone(), at);
    }
    let after = read_log(&mut owner, &group).await;
    assert_eq!(after, answered, "each post once, where its txn says");
    assert_eq!(after.len(), sent.len());

    drop((owner, posters));
    node.shutdown().await;
}

/// The posts of `group`'s log by text, read page by page, checking that the seqs run 1, 2,
/// 3 … with no gap and that no text is there twice.
async fn read_log(client: &mut Client, group: &GroupId) -> HashMap<String, Stored> {
    const MAX_PAGES: usize = 10;
    let mut stored = HashMap::new();
    let mut head = 0;
    for _ in 0..MAX_PAGES {
        let page = users::history_after(client, group, head).await;
        for item in &page.items {
            assert_eq!(item.seq, head + 1, "a gap in the log after seq {head}");
            head = item.seq;
            if item.kind != EventKind::MsgPost {
                continue;
            }
            let text = text_of(&item.body).expect("a post has a text");
            let at = Stored {
                seq: item.seq,
                id: item.id,
            };
            if let Some(first) = stored.insert(text.clone(), at) {
                panic!("{text:?} is in the log twice, at {first:?} and {at:?}");
            }
        }
        if !page.more_after {
            return stored;
        }
    }
    panic!("the log did not end within {MAX_PAGES} pages");
}

fn text_of(body: &Value) -> Option<String> {
    match body {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_text() == Some("text"))
            .and_then(|(_, v)| v.as_text())
            .map(str::to_owned),
        _ => None,
    }
}
