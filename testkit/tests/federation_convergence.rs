//! Groups across real nodes converge (issue "Federation", "Done when"): many senders on three
//! nodes, a member node down while its home goes on, a lossy and then cut link. Every member
//! gets every event once, in the home's order, and every node ends with the same log
//! (`federation::ops::log_hash`).

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use winichat_node::federation::ops;
use winichat_node::storage::LogHash;
use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::gateway::chat::{
    self as api, ChatEventPush, TimelineItem, WriteResult, method,
};
use winichat_protocol::ids::GroupId;
use winichat_testkit::client::Client;
use winichat_testkit::cluster::{Cluster, ClusterSpec};
use winichat_testkit::node::{Backend, TestNode};
use winichat_testkit::users::{self, post, post_params, public_group};

/// The bound of every single wait.
const WAIT: Duration = Duration::from_secs(30);
/// Federation requests give up after this long in these tests (the default is 10 s), so a
/// user's write towards an unreachable home fails promptly.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// `user` joins the group `#handle:home` through their own node.
async fn join(user: &mut Client, handle: &str, home: &TestNode, group: &GroupId) {
    let joined = users::join_by_handle(user, &format!("#{handle}:{}", home.name())).await;
    assert_eq!(&joined.group, group);
}

/// Posts like a client app does when the group's home is hard to reach: a write answered
/// `unavailable` is sent again with the same txn (never posting twice), a bounded number of
/// times.
async fn post_retrying(client: &mut Client, group: &GroupId, text: &str) -> WriteResult {
    let params = post_params(group, text);
    let mut last = None;
    for _ in 0..10 {
        match client
            .call(
                method::MSGS_POST,
                winichat_protocol::gateway::to_value(&params).expect("params"),
            )
            .await
        {
            Ok(value) => return winichat_protocol::gateway::decode_params(&value).expect("result"),
            Err(e) if e.code == winichat_protocol::error_code::ErrorCode::Unavailable => {
                last = Some(e);
            }
            Err(e) => panic!("msgs.post {text}: {e:?}"),
        }
    }
    panic!("msgs.post {text} still unavailable after 10 tries: {last:?}");
}

/// `count` messages `"{prefix}-{k}"` in order, in a task of their own; the client comes back
/// with the results.
fn spawn_posts(
    mut client: Client,
    group: GroupId,
    prefix: String,
    count: usize,
) -> tokio::task::JoinHandle<(Client, Vec<WriteResult>)> {
    tokio::spawn(async move {
        let mut results = Vec::with_capacity(count);
        for k in 0..count {
            results.push(post_retrying(&mut client, &group, &format!("{prefix}-{k}")).await);
        }
        (client, results)
    })
}

fn text_of(item: &TimelineItem) -> String {
    match &item.body {
        ciborium::Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_text() == Some("text"))
            .and_then(|(_, v)| v.as_text())
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

fn is_post(item: &TimelineItem) -> bool {
    item.kind.as_str() == "msg.post"
}

/// The hash of `node`'s copy of `group`'s log, read through a second handle on its database
/// (SQLite in WAL mode and PostgreSQL both allow one beside the running node).
async fn log_hash(node: &TestNode, group: &GroupId) -> Option<LogHash> {
    let db = winichat_node::storage::open(node.database_url().unwrap_or("sqlite"), node.data_dir())
        .await
        .unwrap_or_else(|e| panic!("open {}'s database: {e}", node.name()));
    let hash = ops::log_hash(&db, group)
        .await
        .unwrap_or_else(|e| panic!("log hash on {}: {e}", node.name()));
    db.close().await;
    hash
}

/// Waits until every running node of `nodes` holds `group`'s log up to `head`, with one hash.
async fn converged(nodes: &[&TestNode], group: &GroupId, head: u64) -> LogHash {
    users::eventually(
        &format!("every node holds {group} up to seq {head}, with equal hashes"),
        WAIT,
        async || {
            let mut hashes = Vec::with_capacity(nodes.len());
            for node in nodes {
                hashes.push(log_hash(node, group).await?);
            }
            let first = hashes[0];
            (first.head == head && hashes.iter().all(|h| *h == first)).then_some(first)
        },
    )
    .await
}

/// `user`'s whole history of `group` (ascending seq), page by page.
async fn full_history(user: &mut Client, group: &GroupId) -> Vec<TimelineItem> {
    let mut items: Vec<TimelineItem> = Vec::new();
    loop {
        let page: api::HistoryResult = user
            .ok(
                method::MSGS_HISTORY,
                &api::HistoryParams {
                    group: group.clone(),
                    before: None,
                    after: Some(items.last().map_or(0, |i| i.seq)),
                    around: None,
                    limit: None,
                },
            )
            .await;
        let done = page.items.is_empty() || !page.more_after;
        items.extend(page.items);
        if done {
            return items;
        }
    }
}

/// Checks what a member received: seqs strictly increasing (no duplicate, none out of order);
/// returns the messages as `(seq, id, text)`.
fn received_posts(who: &str, events: &[ChatEventPush]) -> Vec<(u64, String, String)> {
    for pair in events.windows(2) {
        assert!(
            pair[0].item.seq < pair[1].item.seq,
            "{who}: seq {} then {} (a duplicate or out of order)",
            pair[0].item.seq,
            pair[1].item.seq
        );
    }
    events
        .iter()
        .filter(|e| is_post(&e.item))
        .map(|e| (e.item.seq, e.item.id.to_string(), text_of(&e.item)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_senders_on_three_nodes_one_log_everywhere() {
    const PER_SENDER: usize = 50;
    let cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Postgres, Backend::Sqlite])
            .configure(users::unthrottled_gateway),
    )
    .await;
    let nodes = [cluster.node(0), cluster.node(1), cluster.node(2)];
    let [mut a1, mut a2] = users::register_all(nodes[0], ["ann", "abe"]).await;
    let [mut b1, mut b2] = users::register_all(nodes[1], ["bea", "bob"]).await;
    let [mut c1, mut c2] = users::register_all(nodes[2], ["cal", "cyd"]).await;
    let group = public_group(&mut a1, "crowd").await;
    for user in [&mut a2, &mut b1, &mut b2, &mut c1, &mut c2] {
        join(user, "crowd", nodes[0], &group).await;
    }
    // Every member's own node knows them as a member before the burst starts.
    for user in [&mut b1, &mut b2, &mut c1, &mut c2] {
        let _: api::HistoryResult = user
            .ok(
                method::MSGS_HISTORY,
                &api::HistoryParams {
                    group: group.clone(),
                    before: None,
                    after: None,
                    around: None,
                    limit: Some(1),
                },
            )
            .await;
    }

    let senders = [a1, a2, b1, b2, c1, c2];
    let names: Vec<String> = senders.iter().map(|c| c.user().to_string()).collect();
    let tasks: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(i, client)| spawn_posts(client, group.clone(), format!("s{i}"), PER_SENDER))
        .collect();
    let mut members = Vec::new();
    let mut written: BTreeSet<(u64, String, String)> = BTreeSet::new();
    for (i, task) in tasks.into_iter().enumerate() {
        let (client, results) = task.await.expect("a sender task");
        for pair in results.windows(2) {
            assert!(
                pair[0].seq < pair[1].seq,
                "{}'s messages are sequenced in the order sent",
                names[i]
            );
        }
        for (k, r) in results.iter().enumerate() {
            written.insert((r.seq, r.id.to_string(), format!("s{i}-{k}")));
        }
        members.push(client);
    }
    assert_eq!(written.len(), 6 * PER_SENDER, "300 distinct events");
    let last = written.iter().map(|w| w.0).max().expect("messages");

    let mut seen: Vec<Vec<(u64, String, String)>> = Vec::new();
    for (member, name) in members.iter_mut().zip(&names) {
        let events = users::chat_events_through(member, &group, last, WAIT).await;
        let posts = received_posts(name, &events);
        assert_eq!(
            posts.len(),
            6 * PER_SENDER,
            "{name} gets every message once"
        );
        assert_eq!(
            posts.iter().cloned().collect::<BTreeSet<_>>(),
            written,
            "{name} gets exactly the messages written, each at the seq its home gave it"
        );
        seen.push(posts);
    }
    for (posts, name) in seen.iter().zip(&names).skip(1) {
        assert_eq!(posts, &seen[0], "{name} sees the order {} sees", names[0]);
    }

    let hash = converged(&nodes, &group, last).await;
    assert_eq!(hash.head, last);

    // Nothing arrives twice later on.
    for (member, name) in members.iter_mut().zip(&names) {
        let late: Vec<_> = member
            .take_pushes(winichat_protocol::gateway::chat::event::CHAT_EVENT)
            .await;
        assert!(
            late.is_empty(),
            "{name}: no chat.event after the last message: {late:?}"
        );
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_pushes_were_lost_asks_the_home_for_its_state_at_start() {
    const LOST: usize = 5;
    let mut cluster = Cluster::start(
        ClusterSpec::new([Backend::Postgres, Backend::Sqlite])
            .configure(users::unthrottled_gateway),
    )
    .await;
    let mut alice = users::register(cluster.node(0), "alice").await;
    let mut bob = users::register(cluster.node(1), "bob").await;
    let group = public_group(&mut alice, "repair").await;
    join(&mut bob, "repair", cluster.node(0), &group).await;
    let before = post(&mut alice, &group, "before").await;
    converged(&[cluster.node(0), cluster.node(1)], &group, before.seq).await;
    bob.close().await;

    // B is down while A posts, and A's pushes for B are lost: gone from A's outbox.
    cluster.stop(1).await;
    let mut last = before.seq;
    for k in 0..LOST {
        last = post(&mut alice, &group, &format!("lost-{k}")).await.seq;
    }
    let b_name = cluster.name(1).clone();
    let a = cluster.node(0);
    let db = winichat_node::storage::open(a.database_url().unwrap_or("sqlite"), a.data_dir())
        .await
        .expect("a second handle on A's database");
    let queued: Vec<_> = db
        .outbox()
        .due(
            &b_name,
            winichat_protocol::Timestamp(i64::MAX as u64),
            10_000,
        )
        .await
        .expect("A's outbox")
        .iter()
        .map(|row| row.event_id)
        .collect();
    assert_eq!(queued.len(), LOST, "one row per lost event");
    db.outbox()
        .ack(&b_name, &queued)
        .await
        .expect("rows dropped");
    assert_eq!(db.outbox().depth(&b_name).await.expect("depth"), 0);
    db.close().await;

    // Nothing is pushed and nobody posts again: B repairs its replica by itself at start.
    cluster.restart(1).await;
    converged(&[cluster.node(0), cluster.node(1)], &group, last).await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_node_down_gets_everything_from_the_outbox_after_restart() {
    const WHILE_DOWN: usize = 200;
    let mut cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Postgres])
            .configure(users::unthrottled_gateway),
    )
    .await;
    let mut alice = users::register(cluster.node(0), "alice").await;
    let mut bob = users::register(cluster.node(1), "bob").await;
    let group = public_group(&mut alice, "outage").await;
    join(&mut bob, "outage", cluster.node(0), &group).await;
    let before = post(&mut alice, &group, "before the outage").await;
    users::chat_events_through(&mut bob, &group, before.seq, WAIT).await;
    bob.close().await;

    cluster.stop(1).await;
    let mut written = Vec::with_capacity(WHILE_DOWN);
    for k in 0..WHILE_DOWN {
        written.push(post(&mut alice, &group, &format!("down-{k}")).await);
    }
    let last = written.last().expect("messages").seq;
    cluster.restart(1).await;

    // Bob only connects and reads.
    let started = Instant::now();
    let mut bob = users::log_in(cluster.node(1), "bob").await;
    let history = users::eventually(
        "bob's node holds every message posted while it was down",
        WAIT,
        async || {
            let items = full_history(&mut bob, &group).await;
            (items.last().map(|i| i.seq) == Some(last)).then_some(items)
        },
    )
    .await;
    eprintln!("B caught up {:?} after its restart", started.elapsed());
    let posts: Vec<(u64, String)> = history
        .iter()
        .filter(|i| is_post(i) && i.seq > before.seq)
        .map(|i| (i.seq, text_of(i)))
        .collect();
    let expected: Vec<(u64, String)> = written
        .iter()
        .enumerate()
        .map(|(k, w)| (w.seq, format!("down-{k}")))
        .collect();
    assert_eq!(posts, expected, "bob reads all 200 once each, in order");
    for pair in history.windows(2) {
        assert!(pair[0].seq < pair[1].seq, "history holds each seq once");
    }

    // What bob's gateway pushed since he connected: each event once, in order.
    let pushed: Vec<ChatEventPush> = bob
        .take_pushes(winichat_protocol::gateway::chat::event::CHAT_EVENT)
        .await
        .iter()
        .map(|v| winichat_protocol::gateway::decode_params(v).expect("chat.event"))
        .collect();
    received_posts("bob", &pushed);

    converged(&[cluster.node(0), cluster.node(1)], &group, last).await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lossy_then_cut_link_converges() {
    /// How long the link stays cut: the 30 s, as long as the QUIC idle timeout, so the
    /// link dies on both sides and the outbox backs off several times before the heal.
    const CUT: Duration = Duration::from_secs(30);
    let cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Postgres])
            .relay(0, 1)
            .configure(users::unthrottled_gateway)
            .configure(|config| config.federation.request_timeout = REQUEST_TIMEOUT),
    )
    .await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let group = public_group(&mut alice, "lossy").await;
    join(&mut bob, "lossy", a, &group).await;

    for relay in cluster.link(0, 1).expect("relayed link") {
        relay.set_loss(20.0);
        relay.set_reorder(20.0);
        relay.set_duplicate(20.0);
    }
    let from_a = spawn_posts(alice, group.clone(), "a".into(), 100);
    let from_b = spawn_posts(bob, group.clone(), "b".into(), 50);
    let (mut alice, mut written) = from_a.await.expect("alice's task");
    let (mut bob, from_bob) = from_b.await.expect("bob's task");
    let mut texts: Vec<(u64, String)> = written
        .iter()
        .enumerate()
        .map(|(k, w)| (w.seq, format!("a-{k}")))
        .chain(
            from_bob
                .iter()
                .enumerate()
                .map(|(k, w)| (w.seq, format!("b-{k}"))),
        )
        .collect();
    written.extend(from_bob);
    let last = written.iter().map(|w| w.seq).max().expect("messages");
    converged(&[a, b], &group, last).await;
    let stats = cluster.relay(0, 1).expect("relay").stats();
    eprintln!("A→B relay under faults: {stats:?}");

    cluster.cut_link(0, 1);
    let cut_at = Instant::now();
    for k in 0..20 {
        let w = post(&mut alice, &group, &format!("cut-{k}")).await;
        texts.push((w.seq, format!("cut-{k}")));
        written.push(w);
    }
    let asked = Instant::now();
    let attempt = post_params(&group, "from the far side of the cut");
    let refused = bob
        .err(method::MSGS_POST, &attempt, ErrorCode::Unavailable)
        .await;
    let took = asked.elapsed();
    assert!(
        took < REQUEST_TIMEOUT + Duration::from_secs(2),
        "bob's write towards a cut-off home fails within the request timeout, not {took:?}: {refused:?}"
    );
    if let Some(rest) = CUT.checked_sub(cut_at.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    cluster.heal_link(0, 1);
    let healed = Instant::now();
    // "unavailable" leaves the outcome open: the request may still reach the home once the
    // link heals (QUIC retransmits it). A client retries with the same txn id, and the write
    // lands once either way.
    let retried: WriteResult = users::eventually(
        "bob's retry with the same txn id succeeds after the heal",
        WAIT,
        async || bob.call_as(method::MSGS_POST, &attempt).await.ok(),
    )
    .await;
    texts.push((retried.seq, "from the far side of the cut".into()));
    written.push(retried);
    let last = written.iter().map(|w| w.seq).max().expect("messages");
    converged(&[a, b], &group, last).await;
    eprintln!("converged {:?} after the heal", healed.elapsed());

    let history = full_history(&mut bob, &group).await;
    for pair in history.windows(2) {
        assert!(pair[0].seq < pair[1].seq, "history holds each seq once");
    }
    let mut read: Vec<(u64, String)> = history
        .iter()
        .filter(|i| is_post(i))
        .map(|i| (i.seq, text_of(i)))
        .collect();
    read.sort();
    texts.sort();
    assert_eq!(read, texts, "bob has every message once, at its seq");
    let distinct: HashSet<&str> = read.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(distinct.len(), 171);

    // Bob's gateway pushed each event at most once, in order.
    let pushed: Vec<ChatEventPush> = users::chat_events_through(&mut bob, &group, last, WAIT).await;
    received_posts("bob", &pushed);
    let _ = &mut alice;
    cluster.shutdown().await;
}
