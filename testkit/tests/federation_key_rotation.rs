//! Node key rotation across real nodes (spec/federation.md §2.5): a home node rotates its key
//! while stopped and keeps federating; a node that joins its group later backfills the whole
//! log, events signed by the old key included; a key change without a rotation signed by the
//! old key is refused.
//!
//! The nodes are named by their HTTP address with `federation.discovery = "http"` on loopback:
//! pinned peers never fetch a document, so only discovery can follow a rotation.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use winichat_node::error::NodeError;
use winichat_node::federation::{Discovery, clock};
use winichat_node::identity;
use winichat_protocol::Timestamp;
use winichat_protocol::codec::Limits;
use winichat_protocol::cose::UnverifiedSign1;
use winichat_protocol::ed25519_dalek::SigningKey;
use winichat_protocol::event::Event;
use winichat_protocol::federation::document::{KeyRotation, NodeDocument};
use winichat_protocol::gateway::chat::{self as api, ChatEventPush, WriteResult, method};
use winichat_protocol::ids::{GroupId, NodeName};
use winichat_protocol::keys::PublicKey;
use winichat_testkit::client::{Client, txn};
use winichat_testkit::node::{Backend, NodeHome, TestNode};
use winichat_testkit::users;

const WAIT: Duration = Duration::from_secs(20);

fn configure(config: &mut winichat_node::config::Config) {
    users::unthrottled_gateway(config);
    config.federation.discovery = Discovery::Http;
    config.federation.request_timeout = Duration::from_secs(5);
}

/// A node named by its HTTP address, so `http://NAME/.well-known/winichat/node` reaches it.
async fn addressed_node(backend: Backend) -> TestNode {
    let http = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let home = NodeHome::new(backend)
        .await
        .with_http(http)
        .with_name(NodeName::parse(&http.to_string()).expect("name"));
    timeout(WAIT, TestNode::start_in(home, configure))
        .await
        .expect("node starts in time")
}

/// Starts `home` again on its ports, retrying while the system still holds them.
async fn restart(mut home: NodeHome) -> TestNode {
    for _ in 0..100 {
        match TestNode::try_start_in(home, configure).await {
            Ok(node) => return node,
            Err((NodeError::Bind { .. }, back)) => {
                home = back;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err((e, _)) => panic!("node failed to restart: {e}"),
        }
    }
    panic!("the node's ports stayed taken");
}

fn text_of(body: &ciborium::Value) -> Option<&str> {
    match body {
        ciborium::Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_text() == Some("text"))
            .and_then(|(_, v)| v.as_text()),
        _ => None,
    }
}

fn pushed_text(push: &ChatEventPush) -> Option<&str> {
    text_of(&push.item.body)
}

/// The texts of `group`'s messages as `client`'s node holds them, oldest first.
async fn texts(client: &mut Client, group: &GroupId) -> Vec<String> {
    let history = users::latest_history(client, group).await;
    let mut items: Vec<_> = history.items.iter().collect();
    items.sort_by_key(|item| item.seq);
    items
        .into_iter()
        .filter_map(|item| text_of(&item.body).map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_home_that_rotated_its_key_keeps_federating_and_later_members_backfill_its_old_events() {
    let a = addressed_node(Backend::Sqlite).await;
    let b = addressed_node(Backend::Postgres).await;
    let mut alice = users::register(&a, "alice").await;
    let mut bob = users::register(&b, "bob").await;
    let handle = format!("#keys:{}", a.name());
    let group = users::public_group(&mut alice, "keys").await;
    let first = users::post(&mut alice, &group, "signed by the old key").await;
    let edit: WriteResult = alice
        .ok(
            method::MSGS_EDIT,
            &api::EditParams {
                txn: txn(),
                group: group.clone(),
                seq: first.seq,
                text: "signed by the old key, edited".into(),
            },
        )
        .await;
    assert_eq!(users::join_by_handle(&mut bob, &handle).await.group, group);
    let old_key = a.public_key();

    // A stops, rotates its key (what `winichat keys rotate` does), and starts again.
    drop(alice);
    let home = a.stop().await;
    let rotated = identity::rotate(home.data_dir(), home.name(), clock::now()).expect("rotates");
    assert_eq!(rotated.old.public_key(), old_key);
    assert_ne!(rotated.new.public_key(), old_key);
    let a = restart(home).await;
    assert_eq!(
        a.public_key(),
        rotated.new.public_key(),
        "A runs on the new key"
    );

    // New events, signed by the new key, reach B, which follows the rotation when A's
    // certificate shows the new key.
    let mut alice = users::log_in(&a, "alice").await;
    let after = users::post(&mut alice, &group, "signed by the new key").await;
    let seen = users::chat_events_through(&mut bob, &group, after.seq, WAIT).await;
    assert!(
        seen.iter()
            .any(|p| pushed_text(p) == Some("signed by the new key")),
        "bob sees alice's message after the rotation: {seen:?}"
    );
    let held = b
        .federation()
        .peers()
        .key_history(a.name())
        .await
        .expect("B knows A");
    assert_eq!(held.current.to_bytes(), a.public_key().to_bytes());
    assert!(
        held.earlier
            .iter()
            .any(|retired| retired.key.to_bytes() == old_key.to_bytes()),
        "B holds A's old key as retired"
    );
    // Stored events signed by the old key are still served as they are, on A and on B's
    // replica.
    for client in [&mut alice, &mut bob] {
        let event: api::EventResult = client
            .ok(
                method::MSGS_EVENT,
                &api::EventParams {
                    group: group.clone(),
                    seq: edit.seq,
                },
            )
            .await;
        let signed = UnverifiedSign1::parse(&event.event, &Limits::EVENT).expect("signed");
        signed
            .verify::<Event>(
                &PublicKey::from_bytes(&old_key.to_bytes()).expect("key"),
                &Limits::EVENT,
            )
            .expect("the old key signed the edit");
    }
    // And B's user still acts through A.
    let reply = users::post(&mut bob, &group, "bob, after the rotation").await;
    users::chat_events_through(&mut alice, &group, reply.seq, WAIT).await;

    // A third node, which never knew the old key, joins afterwards and backfills the whole
    // log: the first events verify under the old key from A's published chain.
    let c = addressed_node(Backend::Sqlite).await;
    let mut carol = users::register(&c, "carol").await;
    assert_eq!(
        users::join_by_handle(&mut carol, &handle).await.group,
        group
    );
    let on_c = texts(&mut carol, &group).await;
    assert!(
        on_c.first()
            .is_some_and(|t| t.starts_with("signed by the old key"))
            && on_c.ends_with(&[
                "signed by the new key".to_owned(),
                "bob, after the rotation".to_owned()
            ]),
        "carol reads the whole history from C's replica: {on_c:?}"
    );
    assert_eq!(
        texts(&mut bob, &group).await,
        on_c,
        "B and C hold the same log"
    );

    drop((alice, bob, carol));
    a.shutdown().await;
    b.shutdown().await;
    c.shutdown().await;
}

/// `keys rotate` on a machine whose clock is behind the log (the node wrote events with a
/// clock that was ahead, or the clock was set back): the rotation is still dated after the
/// newest event the old key signed, so a node that joins later backfills the whole log.
#[tokio::test]
async fn a_rotation_with_a_clock_behind_the_log_is_dated_after_its_newest_event() {
    let a = addressed_node(Backend::Sqlite).await;
    let mut alice = users::register(&a, "alice").await;
    let handle = format!("#behind:{}", a.name());
    let group = users::public_group(&mut alice, "behind").await;
    users::post(&mut alice, &group, "signed by the old key").await;
    let history = users::latest_history(&mut alice, &group).await;
    let newest = history
        .items
        .iter()
        .map(|item| item.ts)
        .max()
        .expect("the group has events");

    drop(alice);
    let home = a.stop().await;
    // A clock far behind: the rotation must still come after every event the old key signed.
    let behind = Timestamp(1);
    let rotated = identity::rotate_stopped_node(
        home.data_dir(),
        home.database_url().unwrap_or("sqlite"),
        home.name(),
        behind,
    )
    .await
    .expect("rotates");
    assert!(
        rotated.ts > newest,
        "the rotation ({:?}) is dated after the newest event ({newest:?})",
        rotated.ts
    );
    let a = restart(home).await;
    assert_eq!(a.public_key(), rotated.new.public_key());

    // C never knew the old key: it verifies the old events through A's chain, which vouches
    // for what the old key signed before the rotation's date.
    let c = addressed_node(Backend::Sqlite).await;
    let mut carol = users::register(&c, "carol").await;
    assert_eq!(
        users::join_by_handle(&mut carol, &handle).await.group,
        group
    );
    let on_c = texts(&mut carol, &group).await;
    assert_eq!(on_c, ["signed by the old key"], "C holds the whole log");

    drop(carol);
    a.shutdown().await;
    c.shutdown().await;
}

/// Serves whatever document bytes `document` holds at the moment, as a node's HTTP listener
/// would, on a loopback port; the returned name is that address. At most `MAX_FETCHES`
/// requests are answered.
async fn document_server(document: Arc<Mutex<Vec<u8>>>) -> (NodeName, tokio::task::JoinHandle<()>) {
    const MAX_FETCHES: usize = 16;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let name = NodeName::parse(&listener.local_addr().expect("addr").to_string()).expect("name");
    let task = tokio::spawn(async move {
        for _ in 0..MAX_FETCHES {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            // One request per connection; its head fits in one read for this test's client.
            let mut request = vec![0u8; 4096];
            if stream.read(&mut request).await.is_err() {
                continue;
            }
            let body = document.lock().expect("document").clone();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/cose\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&body).await;
            let _ = stream.shutdown().await;
        }
    });
    (name, task)
}

fn signed_document(
    name: &NodeName,
    key: &SigningKey,
    rotation: Option<Vec<u8>>,
    now: Timestamp,
) -> Vec<u8> {
    NodeDocument {
        name: name.clone(),
        key: PublicKey::of(key).to_bytes().to_vec(),
        quic: vec!["127.0.0.1:9".to_owned()],
        versions: vec![1],
        valid_until: Timestamp(now.0 + 3_600_000),
        rotation,
        earlier_rotations: Vec::new(),
    }
    .sign(key)
    .expect("signs")
    .raw()
    .to_vec()
}

#[tokio::test]
async fn a_new_key_whose_rotation_is_not_signed_by_the_old_key_is_refused() {
    let b = addressed_node(Backend::Sqlite).await;
    let old = SigningKey::from_bytes(&[0x41; 32]);
    let new = SigningKey::from_bytes(&[0x42; 32]);
    let document = Arc::new(Mutex::new(Vec::new()));
    let (name, server) = document_server(document.clone()).await;
    let now = clock::now();
    *document.lock().expect("document") = signed_document(&name, &old, None, now);
    let peers = b.federation().peers();
    let first = peers.resolve(&name).await.expect("B discovers the old key");
    assert_eq!(first.key, PublicKey::of(&old));

    // The document now publishes a new key, with a "rotation" signed by the new key itself.
    let self_vouched = KeyRotation {
        name: name.clone(),
        old_key: PublicKey::of(&old).to_bytes().to_vec(),
        new_key: PublicKey::of(&new).to_bytes().to_vec(),
        ts: now,
    }
    .sign(&new)
    .expect("signs");
    *document.lock().expect("document") = signed_document(&name, &new, Some(self_vouched), now);
    // A peer presenting the new key makes B fetch again at once, and refuse it.
    let refused = peers
        .resolve_presented(&name, &PublicKey::of(&new))
        .await
        .expect_err("the new key is not proven");
    assert!(
        refused.to_string().contains("not the node's key"),
        "{refused}"
    );
    let held = peers.key_history(&name).await.expect("the cached document");
    assert_eq!(held.current, PublicKey::of(&old), "B keeps the old key");

    // Another mismatch within the minute does not fetch again (a peer cannot make B fetch
    // at will): the key stays the old one.
    let again = peers
        .resolve_presented(&name, &PublicKey::of(&new))
        .await
        .expect_err("at most one refetch a minute per name");
    assert!(again.to_string().contains("a moment ago"), "{again}");
    server.abort();
    b.shutdown().await;
}
