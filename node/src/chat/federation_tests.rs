//! Groups across nodes, in-process: two or three chat services on their own SQLite databases,
//! whose federation requests go straight to each other's [`PeerService`] (no sockets — the
//! QUIC suite in testkit covers the wire). What is checked here is the logic: joins, submits,
//! replicas, the outbox, and what a replica refuses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use ciborium::Value;
use ed25519_dalek::SigningKey;
use winichat_protocol::Timestamp;
use winichat_protocol::cose::Signed;
use winichat_protocol::event::{Event, EventKind};
use winichat_protocol::federation::methods::{
    PushOutcome, PushParams, PushResult, SubmitParams, method,
};
use winichat_protocol::gateway::{self, chat as api};
use winichat_protocol::group::Visibility;
use winichat_protocol::group::bodies::{Forwarded, MsgPost};
use winichat_protocol::ids::{GroupId, NodeName, UserId};
use winichat_protocol::keys::PublicKey;

use super::peers::PeerService;
use super::remote::Federation;
use super::{Chats, Pusher};
use crate::federation::outbox::Senders;
use crate::federation::{FedClient, FedError, FedHandler};
use crate::storage::{self, Database, accounts::NewUser};

#[derive(Default)]
struct Recorder(Mutex<Vec<(UserId, String, Value)>>);

impl Pusher for Recorder {
    fn push(&self, users: &[UserId], event: &str, data: &Value) {
        let mut log = self.0.lock().expect("lock");
        for user in users {
            log.push((user.clone(), event.to_owned(), data.clone()));
        }
    }
}

impl Recorder {
    fn events_for(&self, user: &UserId) -> Vec<api::ChatEventPush> {
        self.0
            .lock()
            .expect("lock")
            .iter()
            .filter(|(u, name, _)| u == user && name == api::event::CHAT_EVENT)
            .map(|(_, _, data)| gateway::decode_params(data).expect("chat.event"))
            .collect()
    }
}

/// A node as the mesh reaches it: its handler and key.
type Reachable = (Arc<dyn FedHandler>, PublicKey);

/// The nodes of one test: each node's handler and key, reachable by name unless cut.
#[derive(Default)]
struct Mesh {
    nodes: RwLock<HashMap<NodeName, Reachable>>,
    down: RwLock<Vec<NodeName>>,
}

struct MeshClient {
    me: NodeName,
    mesh: Arc<Mesh>,
}

#[async_trait::async_trait]
impl FedClient for MeshClient {
    async fn request(&self, peer: &NodeName, name: &str, params: Value) -> Result<Value, FedError> {
        if self.mesh.down.read().expect("lock").contains(peer) {
            return Err(FedError::Unreachable {
                peer: peer.clone(),
                reason: "down".into(),
            });
        }
        let handler = self
            .mesh
            .nodes
            .read()
            .expect("lock")
            .get(peer)
            .map(|(h, _)| h.clone())
            .ok_or_else(|| FedError::Unreachable {
                peer: peer.clone(),
                reason: "unknown".into(),
            })?;
        handler.contacted(&self.me);
        handler
            .handle(&self.me, name, params)
            .await
            .map_err(|error| FedError::Refused {
                peer: peer.clone(),
                error,
            })
    }

    async fn key_of(&self, node: &NodeName) -> Result<PublicKey, FedError> {
        self.mesh
            .nodes
            .read()
            .expect("lock")
            .get(node)
            .map(|(_, k)| *k)
            .ok_or_else(|| FedError::NotAllowed { peer: node.clone() })
    }
}

struct Node {
    name: NodeName,
    chats: Chats,
    db: Database,
    key: SigningKey,
    pushes: Arc<Recorder>,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::watch::Sender<bool>,
}

async fn node(mesh: &Arc<Mesh>, name: &str, seed: u8, users: &[&str]) -> Node {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = storage::open("sqlite", dir.path()).await.expect("open");
    let name: NodeName = name.parse().expect("node");
    for user in users {
        db.accounts()
            .create_user(&NewUser {
                id: uid(user, &name),
                password_hash: "x".into(),
                display_name: user.to_string(),
                created_at: Timestamp(1),
            })
            .await
            .expect("user");
    }
    let key = SigningKey::from_bytes(&[seed; 32]);
    let pushes = Arc::new(Recorder::default());
    let chats = Chats::new(db.clone(), name.clone(), key.clone(), pushes.clone());
    let client: Arc<dyn FedClient> = Arc::new(MeshClient {
        me: name.clone(),
        mesh: mesh.clone(),
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let senders = Senders::start(db.clone(), client.clone(), stopped, super::now);
    let (wake, contacted) = (senders.clone(), senders);
    chats.attach_federation(Federation {
        client,
        wake: Arc::new(move |n| wake.wake(n)),
        contacted: Arc::new(move |n| contacted.contacted(n)),
    });
    mesh.nodes.write().expect("lock").insert(
        name.clone(),
        (
            Arc::new(PeerService::new(chats.clone())),
            PublicKey::of(&key),
        ),
    );
    Node {
        name,
        chats,
        db,
        key,
        pushes,
        _dir: dir,
        _stop: stop,
    }
}

fn uid(name: &str, node: &NodeName) -> UserId {
    UserId::parse(&format!("@{name}:{node}")).expect("user id")
}

impl Node {
    fn user(&self, name: &str) -> UserId {
        uid(name, &self.name)
    }

    async fn public_group(&self, owner: &str, handle: &str) -> GroupId {
        self.chats
            .create(
                &self.user(owner),
                api::GroupCreateParams {
                    txn: format!("create-{handle}"),
                    name: "Rustaceans".into(),
                    description: String::new(),
                    visibility: Visibility::Public,
                    handle: Some(handle.into()),
                },
            )
            .await
            .expect("create")
            .group
    }

    async fn post(
        &self,
        user: &UserId,
        group: &GroupId,
        txn: &str,
        text: &str,
    ) -> api::WriteResult {
        let params = gateway::to_value(&api::PostParams {
            txn: txn.into(),
            group: group.clone(),
            text: text.into(),
            reply_to: None,
            mentions: Vec::new(),
            mention_everyone: false,
            attachments: Vec::new(),
        })
        .expect("params");
        let value = self
            .chats
            .write_method(user, api::method::MSGS_POST, &params)
            .await
            .expect("post");
        gateway::decode_params(&value).expect("write result")
    }

    async fn head(&self, group: &GroupId) -> u64 {
        self.db
            .events()
            .last(group)
            .await
            .expect("last")
            .map_or(0, |(seq, _)| seq)
    }

    /// Every event id of the group's log, in order.
    async fn log(&self, group: &GroupId) -> Vec<String> {
        self.db
            .events()
            .range(group, 1, 100_000)
            .await
            .expect("range")
            .iter()
            .map(|e| e.id.to_string())
            .collect()
    }

    fn sign(&self, event: Event) -> Vec<u8> {
        Signed::sign(event, &self.name, &self.key)
            .expect("sign")
            .raw()
            .to_vec()
    }
}

/// Waits (bounded) until `check` holds.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn joined_pair() -> (Arc<Mesh>, Node, Node, GroupId) {
    let mesh = Arc::new(Mesh::default());
    let a = node(&mesh, "a.example", 1, &["alice"]).await;
    let b = node(&mesh, "b.example", 2, &["bob"]).await;
    let group = a.public_group("alice", "rust").await;
    let found = b
        .chats
        .find_groups(
            &b.user("bob"),
            api::DirectoryParams {
                query: "#rust:a.example".into(),
                limit: None,
                after: None,
            },
        )
        .await
        .expect("lookup through B");
    assert_eq!(found.groups.len(), 1);
    assert_eq!(found.groups[0].group, group);
    let joined = b
        .chats
        .join_any(
            &b.user("bob"),
            api::JoinParams {
                txn: "join".into(),
                group: None,
                handle: Some("#rust:a.example".parse().expect("handle")),
            },
        )
        .await
        .expect("join through B");
    assert_eq!(joined.group, group);
    assert_eq!(b.head(&group).await, 2, "B's replica holds create and join");
    (mesh, a, b, group)
}

#[tokio::test]
async fn a_user_of_another_node_joins_and_messages_flow_both_ways() {
    let (_mesh, a, b, group) = joined_pair().await;
    let (alice, bob) = (a.user("alice"), b.user("bob"));

    let from_bob = b.post(&bob, &group, "b1", "hello from B").await;
    assert_eq!(from_bob.seq, 3);
    assert_eq!(
        b.head(&group).await,
        3,
        "the write waited for its own event"
    );
    let from_alice = a.post(&alice, &group, "a1", "hello from A").await;
    assert_eq!(from_alice.seq, 4);
    eventually("B has alice's message", async || b.head(&group).await == 4).await;
    assert_eq!(a.log(&group).await, b.log(&group).await, "one log on both");

    let seen_by_bob: Vec<u64> = b
        .pushes
        .events_for(&bob)
        .iter()
        .map(|p| p.item.seq)
        .collect();
    assert_eq!(
        seen_by_bob,
        vec![2, 3, 4],
        "bob's node pushed each event once, in order"
    );
    assert!(
        a.pushes.events_for(&bob).is_empty(),
        "the home does not push to users of other nodes"
    );
    let history = b
        .chats
        .history(
            &bob,
            api::HistoryParams {
                group: group.clone(),
                before: None,
                after: None,
                around: None,
                limit: None,
            },
        )
        .await
        .expect("history from the replica");
    assert_eq!(history.items.len(), 4);

    // A retried submit (same txn) answers the first result and posts nothing.
    let again = b.post(&bob, &group, "b1", "hello from B").await;
    assert_eq!(again, from_bob);
    assert_eq!(a.head(&group).await, 4);
}

#[tokio::test]
async fn the_outbox_keeps_events_for_a_node_that_is_down() {
    let (mesh, a, b, group) = joined_pair().await;
    let alice = a.user("alice");
    mesh.down.write().expect("lock").push(b.name.clone());
    for i in 0..20 {
        a.post(&alice, &group, &format!("down-{i}"), &format!("m{i}"))
            .await;
    }
    assert_eq!(
        b.head(&group).await,
        2,
        "nothing reached B while it was down"
    );
    mesh.down.write().expect("lock").clear();
    // B reaching A (any request) resets A's backoff.
    let _: Result<Value, _> = b
        .chats
        .ask(
            &a.name,
            method::HELLO,
            &winichat_protocol::federation::methods::HelloParams { versions: vec![1] },
        )
        .await;
    eventually("B caught up", async || b.head(&group).await == 22).await;
    assert_eq!(a.log(&group).await, b.log(&group).await);
    let seqs: Vec<u64> = b
        .pushes
        .events_for(&b.user("bob"))
        .iter()
        .map(|p| p.item.seq)
        .collect();
    assert_eq!(seqs, (2..=22).collect::<Vec<_>>(), "each once, in order");
}

#[tokio::test]
async fn a_node_cannot_act_for_another_nodes_user() {
    let (_mesh, a, _b, group) = joined_pair().await;
    let c_name: NodeName = "c.example".parse().expect("node");
    let service = PeerService::new(a.chats.clone());
    let params = gateway::to_value(&SubmitParams {
        user: uid("bob", &"b.example".parse().expect("node")),
        method: api::method::MSGS_POST.into(),
        params: gateway::to_value(&api::PostParams {
            txn: "forged".into(),
            group: group.clone(),
            text: "not from bob".into(),
            reply_to: None,
            mentions: Vec::new(),
            mention_everyone: false,
            attachments: Vec::new(),
        })
        .expect("params"),
    })
    .expect("submit");
    let refused = service
        .handle(&c_name, method::SUBMIT, params)
        .await
        .expect_err("refused");
    assert_eq!(
        refused.code,
        winichat_protocol::error_code::ErrorCode::Forbidden
    );
    assert_eq!(a.head(&group).await, 2);
}

/// The event after `b`'s head, signed by `signer` (the home, unless a test forges).
async fn next_post(
    home: &Node,
    replica: &Node,
    group: &GroupId,
    sender: &UserId,
    text: &str,
) -> Event {
    let (seq, id) = replica
        .db
        .events()
        .last(group)
        .await
        .expect("last")
        .expect("head");
    let ts = replica
        .db
        .events()
        .by_id(&id)
        .await
        .expect("by id")
        .expect("event")
        .ts;
    let _ = home;
    Event {
        group: group.clone(),
        seq: seq + 1,
        prev: Some(id),
        ts: Timestamp(ts.millis() + 1),
        sender: sender.clone(),
        kind: EventKind::MsgPost,
        body: gateway::to_value(&MsgPost {
            text: text.into(),
            reply_to: None,
            mentions: Vec::new(),
            mention_everyone: false,
            attachments: Vec::new(),
            forwarded: None,
        })
        .expect("body"),
    }
}

async fn push(to: &Node, from: &Node, events: Vec<Vec<u8>>) -> Vec<PushOutcome> {
    let service = PeerService::new(to.chats.clone());
    let answer = service
        .handle(
            &from.name,
            method::PUSH,
            gateway::to_value(&PushParams { events }).expect("params"),
        )
        .await
        .expect("push answered");
    gateway::decode_params::<PushResult>(&answer)
        .expect("result")
        .outcomes
}

#[tokio::test]
async fn a_replica_refuses_what_it_cannot_verify_or_the_rules_forbid() {
    let (_mesh, a, b, group) = joined_pair().await;
    let alice = a.user("alice");

    // A forged signature: signed with another key under A's name.
    let event = next_post(&a, &b, &group, &alice, "forged").await;
    let forged = Signed::sign(event.clone(), &a.name, &SigningKey::from_bytes(&[77; 32]))
        .expect("sign")
        .raw()
        .to_vec();
    assert_eq!(
        push(&b, &a, vec![forged]).await,
        vec![PushOutcome::Rejected]
    );

    // A flipped byte in a genuine event.
    let mut flipped = a.sign(event.clone());
    let at = flipped.len() - 70;
    flipped[at] ^= 1;
    assert_eq!(
        push(&b, &a, vec![flipped]).await,
        vec![PushOutcome::Rejected]
    );

    // A post by a non-member, signed by the real home: the rules forbid it.
    let stranger = uid("eve", &a.name);
    let forbidden = next_post(&a, &b, &group, &stranger, "I am not a member").await;
    assert_eq!(
        push(&b, &a, vec![a.sign(forbidden)]).await,
        vec![PushOutcome::Rejected]
    );
    assert_eq!(b.head(&group).await, 2, "nothing refused was applied");
    assert_eq!(
        b.chats.fault_of(&group).await.expect("fault"),
        Some(super::replica::Fault::Diverged)
    );
}

#[tokio::test]
async fn a_home_signing_two_events_at_one_seq_is_a_fork() {
    let (_mesh, a, b, group) = joined_pair().await;
    let alice = a.user("alice");
    let first = next_post(&a, &b, &group, &alice, "one").await;
    let mut second = first.clone();
    second.body = gateway::to_value(&MsgPost {
        text: "two".into(),
        reply_to: None,
        mentions: Vec::new(),
        mention_everyone: false,
        attachments: Vec::new(),
        forwarded: None,
    })
    .expect("body");
    assert_eq!(
        push(&b, &a, vec![a.sign(first.clone())]).await,
        vec![PushOutcome::Applied]
    );
    assert_eq!(
        push(&b, &a, vec![a.sign(first)]).await,
        vec![PushOutcome::Duplicate],
        "a replayed push is harmless"
    );
    assert_eq!(
        push(&b, &a, vec![a.sign(second)]).await,
        vec![PushOutcome::Rejected]
    );
    assert_eq!(
        b.chats.fault_of(&group).await.expect("fault"),
        Some(super::replica::Fault::Forked)
    );
}

#[tokio::test]
async fn a_gap_is_backfilled_and_a_bad_event_does_not_wedge_the_next() {
    let (mesh, a, b, group) = joined_pair().await;
    let alice = a.user("alice");
    // B misses three events while down …
    mesh.down.write().expect("lock").push(b.name.clone());
    for i in 0..3 {
        a.post(&alice, &group, &format!("g{i}"), "x").await;
    }
    mesh.down.write().expect("lock").clear();
    // … then receives only a later one: it backfills 3..=5 from A first.
    a.post(&alice, &group, "g3", "x").await;
    eventually("B backfilled the gap", async || b.head(&group).await == 6).await;
    assert_eq!(a.log(&group).await, b.log(&group).await);
}

#[tokio::test]
async fn read_positions_cross_both_ways() {
    let (_mesh, a, b, group) = joined_pair().await;
    let (alice, bob) = (a.user("alice"), b.user("bob"));
    b.post(&bob, &group, "r1", "read me").await;
    b.chats
        .mark_read(
            &bob,
            api::ReadParams {
                group: group.clone(),
                seq: 3,
            },
        )
        .await
        .expect("bob reads on B");
    eventually("A knows bob's read", async || {
        a.db.chats().read_seq(&group, &bob).await.expect("read") == Some(3)
    })
    .await;
    a.chats
        .mark_read(
            &alice,
            api::ReadParams {
                group: group.clone(),
                seq: 3,
            },
        )
        .await
        .expect("alice reads on A");
    eventually("B knows alice's read", async || {
        b.db.chats().read_seq(&group, &alice).await.expect("read") == Some(3)
    })
    .await;
}

#[tokio::test]
async fn a_home_cannot_plant_a_group_nobody_here_is_in() {
    let mesh = Arc::new(Mesh::default());
    let a = node(&mesh, "a.example", 1, &["alice"]).await;
    let b = node(&mesh, "b.example", 2, &["bob"]).await;
    let group = a.public_group("alice", "lonely").await;
    let first =
        a.db.events()
            .range(&group, 1, 1)
            .await
            .expect("range")
            .remove(0);
    assert_eq!(
        push(&b, &a, vec![first.raw]).await,
        vec![PushOutcome::Rejected],
        "no user of B is in the group: B keeps no copy"
    );
    assert_eq!(b.head(&group).await, 0);
}

#[tokio::test]
async fn a_replica_never_signs_into_a_group_of_another_node() {
    let (_mesh, a, b, group) = joined_pair().await;
    let service = PeerService::new(b.chats.clone());
    let c_name: NodeName = "c.example".parse().expect("node");
    let join = gateway::to_value(&winichat_protocol::federation::methods::JoinParams {
        user: uid("mallory", &c_name),
        txn: "sneak".into(),
        via: winichat_protocol::federation::methods::JoinRoute::Public,
        group: Some(group.clone()),
        code: None,
    })
    .expect("params");
    let refused = service
        .handle(&c_name, method::JOIN, join)
        .await
        .expect_err("a join of A's group sent to B is refused");
    assert_eq!(
        refused.code,
        winichat_protocol::error_code::ErrorCode::BadRequest
    );
    let link = b
        .chats
        .create_link(
            &b.user("bob"),
            api::LinkCreateParams {
                group: group.clone(),
                expires_in: None,
                max_uses: None,
            },
        )
        .await;
    assert!(link.is_err(), "links of A's group are made on A");
    assert_eq!(b.head(&group).await, 2);
    assert_eq!(a.log(&group).await, b.log(&group).await);
}

#[tokio::test]
async fn a_prev_mismatch_that_proves_another_event_at_the_seq_before_is_a_fork() {
    let (mesh, a, b, group) = joined_pair().await;
    let alice = a.user("alice");
    // B holds an event at seq 3 that A's own log never got …
    let planted = next_post(&a, &b, &group, &alice, "planted").await;
    assert_eq!(
        push(&b, &a, vec![a.sign(planted)]).await,
        vec![PushOutcome::Applied]
    );
    // … while A, with B unreachable, writes its own seq 3 and 4.
    mesh.down.write().expect("lock").push(b.name.clone());
    a.post(&alice, &group, "f3", "three").await;
    a.post(&alice, &group, "f4", "four").await;
    mesh.down.write().expect("lock").clear();
    let fourth =
        a.db.events()
            .range(&group, 4, 1)
            .await
            .expect("range")
            .into_iter()
            .next()
            .expect("seq 4");
    // Seq 4 follows B's head in number but names another seq 3: B fetches A's seq 3, finds it
    // differs from its own, and marks the group forked with both as evidence.
    assert_eq!(
        push(&b, &a, vec![fourth.raw]).await,
        vec![PushOutcome::Rejected]
    );
    assert_eq!(
        b.chats.fault_of(&group).await.expect("fault"),
        Some(super::replica::Fault::Forked)
    );
    assert_eq!(b.head(&group).await, 3, "nothing after the fork is applied");
}

/// The pushes of `name` a node's recorder holds for `user`.
fn pushes_named(node: &Node, user: &UserId, name: &str) -> Vec<Value> {
    node.pushes
        .0
        .lock()
        .expect("lock")
        .iter()
        .filter(|(u, n, _)| u == user && n == name)
        .map(|(_, _, data)| data.clone())
        .collect()
}

#[tokio::test]
async fn a_direct_chat_across_nodes_is_one_chat_found_from_either_side() {
    let mesh = Arc::new(Mesh::default());
    let a = node(&mesh, "a.example", 1, &["alice"]).await;
    let b = node(&mesh, "b.example", 2, &["bob"]).await;
    let (alice, bob) = (a.user("alice"), b.user("bob"));
    // A's outbox stands still: B learns of the chat only by asking (`direct`).
    a._stop.send(true).expect("stop A's senders");
    let group = a
        .chats
        .open_direct(&alice, &bob)
        .await
        .expect("alice opens");
    assert_eq!(group.home(), &a.name, "the opener's node is the home");
    assert_eq!(b.head(&group).await, 0, "nothing pushed to B yet");

    let found = b.chats.open_direct(&bob, &alice).await.expect("bob opens");
    assert_eq!(found, group, "bob's side finds alice's chat, not a twin");
    assert_eq!(
        b.head(&group).await,
        1,
        "B started its replica from the home"
    );
    assert_eq!(
        b.chats.open_direct(&bob, &alice).await.expect("again"),
        group
    );
    assert_eq!(
        a.chats.open_direct(&alice, &bob).await.expect("again"),
        group
    );
    assert_eq!(b.db.chats().chats_of(&bob).await.expect("chats").len(), 1);

    // Both write through the one log.
    let from_bob = b.post(&bob, &group, "d1", "hi alice").await;
    assert_eq!(from_bob.seq, 2);
    assert_eq!(a.head(&group).await, 2);

    // Typing crosses, batched, in both directions; never back to the typist's own node.
    b.chats.typing(&bob, &group).await.expect("bob types");
    eventually("alice sees bob typing", async || {
        !pushes_named(&a, &alice, api::event::CHAT_TYPING).is_empty()
    })
    .await;
    a.chats.typing(&alice, &group).await.expect("alice types");
    eventually("bob sees alice typing", async || {
        !pushes_named(&b, &bob, api::event::CHAT_TYPING).is_empty()
    })
    .await;
    assert!(
        pushes_named(&b, &alice, api::event::CHAT_TYPING).is_empty()
            && pushes_named(&a, &bob, api::event::CHAT_TYPING).is_empty(),
        "a typist never gets their own signal"
    );
}

#[tokio::test]
async fn dm_open_with_an_unknown_or_unreachable_user_creates_nothing() {
    let mesh = Arc::new(Mesh::default());
    let a = node(&mesh, "a.example", 1, &["alice"]).await;
    let b = node(&mesh, "b.example", 2, &["bob"]).await;
    let alice = a.user("alice");
    let nobody = b.user("nobody");
    let r = a.chats.open_direct(&alice, &nobody).await;
    assert!(matches!(r, Err(super::ChatError::NotFound(_))), "{r:?}");
    mesh.down.write().expect("lock").push(b.name.clone());
    let r = a.chats.open_direct(&alice, &b.user("bob")).await;
    assert!(matches!(r, Err(super::ChatError::Unavailable(_))), "{r:?}");
    assert!(
        a.db.chats()
            .chats_of(&alice)
            .await
            .expect("chats")
            .is_empty()
    );
}

#[tokio::test]
async fn a_pushed_direct_chat_starts_a_replica_only_for_a_user_of_the_receiver() {
    let mesh = Arc::new(Mesh::default());
    let a = node(&mesh, "a.example", 1, &["alice"]).await;
    let b = node(&mesh, "b.example", 2, &["bob"]).await;
    let group = a
        .chats
        .open_direct(&a.user("alice"), &b.user("bob"))
        .await
        .expect("open");
    eventually("the push starts bob's replica", async || {
        b.head(&group).await == 1
    })
    .await;
    assert_eq!(
        b.db.chats()
            .direct_between(&b.user("bob"), &a.user("alice"))
            .await
            .expect("pair"),
        Some(group.clone())
    );

    // A forged direct chat naming a user B does not have is refused.
    let forged = a.sign(Event {
        group: GroupId::parse("!forged1:a.example").expect("group"),
        seq: 1,
        prev: None,
        ts: super::now(),
        sender: a.user("alice"),
        kind: EventKind::GroupCreate,
        body: direct_create_body(&b.user("ghost")),
    });
    assert_eq!(
        push(&b, &a, vec![forged]).await,
        vec![PushOutcome::Rejected]
    );
}

/// The CBOR body of a direct chat's `group.create` with `peer`.
fn direct_create_body(peer: &UserId) -> Value {
    Value::Map(vec![
        (Value::from("kind"), Value::from("direct")),
        (Value::from("name"), Value::from("")),
        (Value::from("description"), Value::from("")),
        (Value::from("visibility"), Value::from("private")),
        (
            Value::from("members"),
            Value::Array(vec![Value::from(peer.as_str())]),
        ),
    ])
}

#[tokio::test]
async fn a_node_tells_only_of_its_own_users_and_only_those_sharing_a_chat_hear_it() {
    let (_mesh, a, b, _group) = joined_pair().await;
    let (alice, bob) = (a.user("alice"), b.user("bob"));
    let service = PeerService::new(b.chats.clone());
    let profile = |user: &UserId, name: &str| {
        gateway::to_value(&gateway::ProfilePush {
            user: user.clone(),
            display_name: name.into(),
            bio: String::new(),
            avatar: None,
        })
        .expect("params")
    };
    // A speaks for alice only.
    let c_user = uid("carol", &"c.example".parse().expect("node"));
    let refused = service
        .handle(
            &a.name,
            method::PROFILE_CHANGED,
            profile(&c_user, "Mallory"),
        )
        .await
        .expect_err("A cannot speak for a user of C");
    assert_eq!(
        refused.code,
        winichat_protocol::error_code::ErrorCode::Forbidden
    );

    // Alice shares the group with bob: he is told, and B's copy changes.
    service
        .handle(
            &a.name,
            method::PROFILE_CHANGED,
            profile(&alice, "Alice Two"),
        )
        .await
        .expect("taken");
    let told = pushes_named(&b, &bob, gateway::event::PROFILE);
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        b.chats
            .remote_profile(&alice)
            .await
            .expect("cached")
            .display_name,
        "Alice Two"
    );

    // Presence comes in batches, all of the origin's own users, and only sharers hear it.
    let presence = |users: &[&UserId]| {
        gateway::to_value(&winichat_protocol::federation::methods::PresenceParams {
            presence: users
                .iter()
                .map(|u| gateway::PresencePush {
                    user: (*u).clone(),
                    status: gateway::Status::Online,
                    last_seen: None,
                })
                .collect(),
        })
        .expect("params")
    };
    let refused = service
        .handle(&a.name, method::PRESENCE, presence(&[&alice, &c_user]))
        .await
        .expect_err("one user of C spoils the batch");
    assert_eq!(
        refused.code,
        winichat_protocol::error_code::ErrorCode::Forbidden
    );
    let empty = service
        .handle(&a.name, method::PRESENCE, presence(&[]))
        .await
        .expect_err("an empty batch");
    assert_eq!(
        empty.code,
        winichat_protocol::error_code::ErrorCode::BadRequest
    );
    let stranger = a.user("stranger");
    service
        .handle(&a.name, method::PRESENCE, presence(&[&alice, &stranger]))
        .await
        .expect("taken");
    let told = pushes_named(&b, &bob, gateway::event::PRESENCE);
    assert_eq!(told.len(), 1, "only alice's presence reaches bob: {told:?}");
    assert_eq!(b.chats.remote_presence(&alice).0, gateway::Status::Online);

    // Someone of A whom nobody on B shares a chat with: ignored, nobody told.
    service
        .handle(&a.name, method::PROFILE_CHANGED, profile(&stranger, "Who"))
        .await
        .expect("answered");
    assert_eq!(pushes_named(&b, &bob, gateway::event::PROFILE).len(), 1);
}

#[tokio::test]
async fn only_the_pairs_own_direct_chat_may_start_a_replica_through_dm_open() {
    let mesh = Arc::new(Mesh::default());
    let a = node(&mesh, "a.example", 1, &["alice"]).await;
    let b = node(&mesh, "b.example", 2, &["bob"]).await;
    let (alice, bob) = (a.user("alice"), b.user("bob"));
    let group = GroupId::parse("!pair01:a.example").expect("group");
    let create = |sender: &UserId, body: Value| {
        a.sign(Event {
            group: group.clone(),
            seq: 1,
            prev: None,
            ts: super::now(),
            sender: sender.clone(),
            kind: EventKind::GroupCreate,
            body,
        })
    };
    let check = super::remote::creates_direct_chat;
    assert!(check(
        &create(&alice, direct_create_body(&bob)),
        &group,
        &alice,
        &bob
    ));
    assert!(
        !check(
            &create(&alice, direct_create_body(&bob)),
            &group,
            &alice,
            &alice
        ),
        "a direct chat with someone else"
    );
    assert!(
        !check(
            &create(&a.user("mallory"), direct_create_body(&bob)),
            &group,
            &alice,
            &bob
        ),
        "created by another user of A"
    );
    let mut public = direct_create_body(&bob);
    if let Value::Map(entries) = &mut public {
        for (k, v) in entries.iter_mut() {
            if k.as_text() == Some("kind") {
                *v = Value::from("group");
            }
        }
    }
    assert!(
        !check(&create(&alice, public), &group, &alice, &bob),
        "a group is not a direct chat"
    );
    let other = GroupId::parse("!other1:a.example").expect("group");
    assert!(!check(
        &create(&alice, direct_create_body(&bob)),
        &other,
        &alice,
        &bob
    ));
    assert!(!check(b"not cose", &group, &alice, &bob));
}

#[tokio::test]
async fn a_profile_breaking_the_limits_is_neither_kept_nor_shown() {
    let (_mesh, a, b, _group) = joined_pair().await;
    let (alice, bob) = (a.user("alice"), b.user("bob"));
    let service = PeerService::new(b.chats.clone());
    for (name, bio) in [
        ("x".repeat(65), String::new()),
        ("Alice".to_owned(), "y".repeat(501)),
        ("Ali\u{202e}ce".to_owned(), String::new()),
    ] {
        let refused = service
            .handle(
                &a.name,
                method::PROFILE_CHANGED,
                gateway::to_value(&gateway::ProfilePush {
                    user: alice.clone(),
                    display_name: name,
                    bio,
                    avatar: None,
                })
                .expect("params"),
            )
            .await
            .expect_err("refused");
        assert_eq!(
            refused.code,
            winichat_protocol::error_code::ErrorCode::BadRequest
        );
    }
    assert!(pushes_named(&b, &bob, gateway::event::PROFILE).is_empty());
    // What B shows is what A's own profile.get gives (a valid one).
    assert_eq!(
        b.chats
            .remote_profile(&alice)
            .await
            .expect("fetched")
            .display_name,
        "alice"
    );
}

#[tokio::test]
async fn read_positions_come_in_batches_and_one_that_does_not_hold_is_dropped_alone() {
    let (_mesh, a, b, group) = joined_pair().await;
    let (alice, bob) = (a.user("alice"), b.user("bob"));
    b.post(&bob, &group, "r1", "read me").await;
    let service = PeerService::new(a.chats.clone());
    let reads =
        |reads: Vec<(GroupId, UserId, u64)>| {
            gateway::to_value(&winichat_protocol::federation::methods::ReadParams {
                reads: reads
                    .into_iter()
                    .map(|(group, user, seq)| {
                        winichat_protocol::federation::methods::ReadPosition { group, user, seq }
                    })
                    .collect(),
            })
            .expect("params")
        };
    // B speaks for bob only: a position of alice's (of A) spoils the batch.
    let refused = service
        .handle(
            &b.name,
            method::READ,
            reads(vec![
                (group.clone(), bob.clone(), 3),
                (group.clone(), alice.clone(), 3),
            ]),
        )
        .await
        .expect_err("B cannot move alice's read");
    assert_eq!(
        refused.code,
        winichat_protocol::error_code::ErrorCode::Forbidden
    );
    assert_eq!(
        a.db.chats().read_seq(&group, &alice).await.expect("read"),
        Some(1)
    );
    let empty = service
        .handle(&b.name, method::READ, reads(Vec::new()))
        .await
        .expect_err("an empty batch");
    assert_eq!(
        empty.code,
        winichat_protocol::error_code::ErrorCode::BadRequest
    );

    // A position about a group A does not know is dropped; bob's own is taken.
    let unknown = GroupId::parse("!nosuch:b.example").expect("group");
    service
        .handle(
            &b.name,
            method::READ,
            reads(vec![
                (unknown, bob.clone(), 9),
                (group.clone(), bob.clone(), 3),
            ]),
        )
        .await
        .expect("taken");
    assert_eq!(
        a.db.chats().read_seq(&group, &bob).await.expect("read"),
        Some(3)
    );
}

/// A forward's `original` is taken only from the home of the original's chat
/// (federation.md §5.6): B may vouch for a message of its own chat, never for one of A's.
#[tokio::test]
async fn only_the_home_of_a_forwarded_message_s_chat_vouches_for_it() {
    let (_mesh, a, b, group) = joined_pair().await;
    let service = PeerService::new(a.chats.clone());
    let b_group = b.public_group("bob", "local").await;
    let submit = |from: &GroupId, txn: &str| {
        gateway::to_value(&SubmitParams {
            user: b.user("bob"),
            method: api::method::MSGS_FORWARD.into(),
            params: gateway::to_value(&api::ForwardParams {
                txn: txn.into(),
                group: group.clone(),
                from: api::MessageRef {
                    group: from.clone(),
                    seq: 1,
                },
                original: Some(api::ForwardOriginal {
                    text: "quoted".into(),
                    attachments: Vec::new(),
                    forwarded: Forwarded {
                        user: a.user("alice"),
                        group: None,
                        ts: Timestamp(1),
                    },
                }),
            })
            .expect("params"),
        })
        .expect("submit")
    };
    // A message of A's own chat: A reads it itself; B's copy is refused.
    let refused = service
        .handle(&b.name, method::SUBMIT, submit(&group, "forged"))
        .await
        .expect_err("refused");
    assert_eq!(
        refused.code,
        winichat_protocol::error_code::ErrorCode::Forbidden
    );
    assert_eq!(a.head(&group).await, 2, "nothing written");
    // A message of B's chat: taken on B's word.
    let answer = service
        .handle(&b.name, method::SUBMIT, submit(&b_group, "vouched"))
        .await
        .expect("accepted");
    let written: api::WriteResult = gateway::decode_params(&answer).expect("write result");
    assert_eq!(written.seq, 3);
    let pushed = a.pushes.events_for(&a.user("alice"));
    let post: MsgPost = pushed
        .last()
        .expect("alice's chat.event")
        .item
        .body
        .deserialized()
        .expect("a msg.post");
    assert_eq!(post.text, "quoted");
    assert_eq!(post.forwarded.map(|f| f.user), Some(a.user("alice")));
}
