//! Transaction ids: a retried write acts once.

use winichat_protocol::event::EventKind;
use winichat_protocol::gateway::chat::{self as api, method};
use winichat_protocol::group::Visibility;
use winichat_testkit::client::txn;
use winichat_testkit::node::Backend;

use crate::common::{Chat, QUIET, post_params, start, text_of, users};

on_both!(
    the_same_txn_twice_posts_once,
    a_retry_after_a_restart_gets_the_first_result,
    the_same_txn_from_two_sockets_at_once_posts_once,
);

async fn the_same_txn_twice_posts_once(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob] = users(&node, ["alice", "bob"]).await;
    let dm = alice.dm_open(bob.user()).await.group;
    bob.event_of(EventKind::GroupCreate).await;
    let params = post_params(&dm, "only once");
    let first: api::WriteResult = alice.ok(method::MSGS_POST, &params).await;
    let second: api::WriteResult = alice.ok(method::MSGS_POST, &params).await;
    assert_eq!(first, second, "a retry returns the first result");
    // Even with other params: the txn decides.
    let changed = api::PostParams {
        text: "something else".to_owned(),
        ..params.clone()
    };
    let third: api::WriteResult = alice.ok(method::MSGS_POST, &changed).await;
    assert_eq!(third, first);

    let seen = bob.event_of(EventKind::MsgPost).await;
    assert_eq!(seen.item.seq, first.seq);
    bob.expect_no_push(api::event::CHAT_EVENT, QUIET).await;
    let items = bob.latest(&dm).await.items;
    let posts: Vec<_> = items
        .iter()
        .filter(|i| i.kind == EventKind::MsgPost)
        .collect();
    assert_eq!(posts.len(), 1, "{items:?}");
    assert_eq!(text_of(posts[0]), "only once");

    // The same txn text from another user is another transaction.
    let mut same_txn = post_params(&dm, "bob's");
    same_txn.txn = params.txn.clone();
    let bobs: api::WriteResult = bob.ok(method::MSGS_POST, &same_txn).await;
    assert_ne!(bobs.seq, first.seq);

    // Group writes too: creating with the same txn makes one group.
    let create = api::GroupCreateParams {
        txn: txn(),
        name: "once".to_owned(),
        description: String::new(),
        visibility: Visibility::Private,
        handle: None,
    };
    let a: api::ChatSummary = alice.ok(method::GROUPS_CREATE, &create).await;
    let b: api::ChatSummary = alice.ok(method::GROUPS_CREATE, &create).await;
    assert_eq!(a.group, b.group);
    let list: api::ChatList = alice
        .ok(method::CHATS_LIST, &winichat_protocol::gateway::Empty {})
        .await;
    assert_eq!(list.chats.len(), 2, "the direct chat and one group");
    node.shutdown().await;
}

async fn the_same_txn_from_two_sockets_at_once_posts_once(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob] = users(&node, ["alice", "bob"]).await;
    let mut tab = alice.another(&node).await;
    let dm = alice.dm_open(bob.user()).await.group;
    let rounds = 20;
    for round in 0..rounds {
        let params = post_params(&dm, &format!("round {round}"));
        let (a, b) = tokio::join!(
            alice.call_as::<_, api::WriteResult>(method::MSGS_POST, &params),
            tab.call_as::<_, api::WriteResult>(method::MSGS_POST, &params),
        );
        let a = a.unwrap_or_else(|e| panic!("round {round}, first socket: {e:?}"));
        let b = b.unwrap_or_else(|e| panic!("round {round}, second socket: {e:?}"));
        assert_eq!(a, b, "round {round}: both sockets get the one result");
    }
    let items = bob.latest(&dm).await.items;
    let texts: Vec<String> = items
        .iter()
        .filter(|i| i.kind == EventKind::MsgPost)
        .map(text_of)
        .collect();
    let expected: Vec<String> = (0..rounds).map(|r| format!("round {r}")).collect();
    assert_eq!(texts, expected, "each round posted exactly once");
    // And Bob was told once per round.
    let mut posts = 0;
    while let Some(data) = bob.try_next_push(api::event::CHAT_EVENT, QUIET).await {
        let push: api::ChatEventPush =
            winichat_protocol::gateway::decode_params(&data).expect("chat.event");
        if push.item.kind == EventKind::MsgPost {
            posts += 1;
        }
    }
    assert_eq!(posts, rounds);
    node.shutdown().await;
}

/// The node learns the stored transaction ids after it starts and from then on does not look
/// new ones up: one stored before the restart must still be found.
async fn a_retry_after_a_restart_gets_the_first_result(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, bob] = users(&node, ["alice", "bob"]).await;
    let alice_account = alice.account().clone();
    let dm = alice.dm_open(bob.user()).await.group;
    let params = post_params(&dm, "before the restart");
    let first: api::WriteResult = alice.ok(method::MSGS_POST, &params).await;
    drop((alice, bob));

    // Fresh ports: this test needs the same data, not the same addresses, and the old ones may
    // still be held (or taken by another test) for a moment after the stop.
    let any_port = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let home = node.stop().await.with_http(any_port).with_quic(any_port);
    let node = winichat_testkit::node::TestNode::start_in(home, |_| {}).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !node.running().transaction_ids_known() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stored transaction ids were not learnt within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut alice = winichat_testkit::client::Client::connect(&node, &alice_account).await;
    let again: api::WriteResult = alice.ok(method::MSGS_POST, &params).await;
    assert_eq!(again, first, "the retry gets the first result");
    let items = alice.latest(&dm).await.items;
    let posts = items
        .iter()
        .filter(|i| i.kind == EventKind::MsgPost)
        .count();
    assert_eq!(posts, 1, "{items:?}");
    // A new txn still posts.
    let other: api::WriteResult = alice
        .ok(method::MSGS_POST, &post_params(&dm, "after"))
        .await;
    assert!(other.seq > first.seq);
    node.shutdown().await;
}
