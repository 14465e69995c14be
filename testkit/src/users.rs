//! Users on test nodes in one line each, for tests that span several nodes: register and
//! connect, log in again after a restart, collect a chat's pushes, wait for a condition.
//!
//! ```no_run
//! # async fn demo() {
//! use std::time::Duration;
//! use winichat_testkit::cluster::{Cluster, ClusterSpec};
//! use winichat_testkit::node::Backend;
//! use winichat_testkit::users;
//! let cluster = Cluster::start(
//!     ClusterSpec::new([Backend::Sqlite, Backend::Postgres]).configure(users::unthrottled_gateway),
//! )
//! .await;
//! let [mut alice] = users::register_all(cluster.node(0), ["alice"]).await;
//! let [mut bob, mut carol] = users::register_all(cluster.node(1), ["bob", "carol"]).await;
//! # let _ = (&mut alice, &mut bob, &mut carol);
//! # }
//! ```

use std::time::Duration;

use tokio::time::Instant;
use winichat_node::config::Config;
use winichat_protocol::gateway::chat::{self as api, ChatEventPush, WriteResult, event, method};
use winichat_protocol::group::Visibility;
use winichat_protocol::ids::GroupId;

use crate::client::{Account, Client, txn};
use crate::node::TestNode;

/// Creates a public group named and found by `handle`, owned by `owner`.
pub async fn public_group(owner: &mut Client, handle: &str) -> GroupId {
    let summary: api::ChatSummary = owner
        .ok(
            method::GROUPS_CREATE,
            &api::GroupCreateParams {
                txn: txn(),
                name: handle.into(),
                description: String::new(),
                visibility: Visibility::Public,
                handle: Some(handle.into()),
            },
        )
        .await;
    summary.group
}

/// `user` joins the public group `handle` (`#name:node`) through their own node, as a
/// client does (panics if refused); returns the node's answer.
pub async fn join_by_handle(user: &mut Client, handle: &str) -> api::ChatSummary {
    user.ok(
        method::GROUPS_JOIN,
        &api::JoinParams {
            txn: txn(),
            group: None,
            handle: Some(handle.parse().expect("a group handle")),
        },
    )
    .await
}

/// `user` joins `group` by its id (a public group, or one they are invited to); panics if
/// refused.
pub async fn join_group(user: &mut Client, group: &GroupId) -> api::ChatSummary {
    user.ok(
        method::GROUPS_JOIN,
        &api::JoinParams {
            txn: txn(),
            group: Some(group.clone()),
            handle: None,
        },
    )
    .await
}

/// The params of a plain post of `text` to `group`, with a fresh txn id.
pub fn post_params(group: &GroupId, text: &str) -> api::PostParams {
    api::PostParams {
        txn: txn(),
        group: group.clone(),
        text: text.into(),
        reply_to: None,
        mentions: Vec::new(),
        mention_everyone: false,
        attachments: Vec::new(),
    }
}

/// Posts `text` to `group` as `client` (panics if the post is refused).
pub async fn post(client: &mut Client, group: &GroupId, text: &str) -> WriteResult {
    client
        .ok(method::MSGS_POST, &post_params(group, text))
        .await
}

/// `group`'s newest page of history as `client` reads it (the node's default page size).
pub async fn latest_history(client: &mut Client, group: &GroupId) -> api::HistoryResult {
    client
        .ok(method::MSGS_HISTORY, &history_params(group, None))
        .await
}

/// The page of `group`'s history just after `seq`, as long as a page may be: for walking a
/// whole log from `seq` 0.
pub async fn history_after(client: &mut Client, group: &GroupId, seq: u64) -> api::HistoryResult {
    client
        .ok(method::MSGS_HISTORY, &history_params(group, Some(seq)))
        .await
}

/// `msgs.history` params: the newest page, or the longest page after `after`.
pub fn history_params(group: &GroupId, after: Option<u64>) -> api::HistoryParams {
    api::HistoryParams {
        group: group.clone(),
        before: None,
        after,
        around: None,
        limit: after.map(|_| api::MAX_HISTORY_LIMIT),
    }
}

/// How often [`eventually`] looks again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Lets test clients call as fast as they like and queue as many pushes as they leave unread
/// (they read only while they wait): for [`TestNode::start_with`] or
/// [`crate::cluster::ClusterSpec::configure`].
pub fn unthrottled_gateway(config: &mut Config) {
    config.gateway.rate_burst = 1_000_000;
    config.gateway.rate_per_sec = 1_000_000;
    config.gateway.send_queue = 100_000;
    config.gateway.send_queue_bytes = 1 << 30;
    config.gateway.resume_window = 100;
}

/// Registers `username` on `node` and connects them to its gateway.
///
/// # Panics
/// If registration or the gateway's `auth` fails.
pub async fn register(node: &TestNode, username: &str) -> Client {
    Client::register(node, username).await
}

/// Registers and connects each of `usernames` on `node`, in order.
///
/// # Panics
/// If a registration or an `auth` fails.
pub async fn register_all<const N: usize>(node: &TestNode, usernames: [&str; N]) -> [Client; N] {
    let mut clients = Vec::with_capacity(N);
    for username in usernames {
        clients.push(Client::register(node, username).await);
    }
    match clients.try_into() {
        Ok(clients) => clients,
        Err(_) => unreachable!("one client per username"),
    }
}

/// Logs `username` in on `node` (a new session, e.g. after the node restarted) and connects.
///
/// # Panics
/// If login or `auth` fails.
pub async fn log_in(node: &TestNode, username: &str) -> Client {
    let account = Account::login(node, username).await;
    Client::connect(node, &account).await
}

/// The next `count` `chat.event` pushes of `group`, in arrival order; `chat.event`s of other
/// chats that arrive meanwhile are skipped (and gone), other pushes stay buffered.
///
/// # Panics
/// If fewer than `count` arrive within `timeout` (saying how many did), or a push does not
/// decode.
pub async fn chat_events(
    client: &mut Client,
    group: &GroupId,
    count: usize,
    timeout: Duration,
) -> Vec<ChatEventPush> {
    let deadline = Instant::now() + timeout;
    let mut events = Vec::with_capacity(count);
    while events.len() < count {
        let Some(push) = next_chat_event(client, deadline).await else {
            panic!(
                "{}: {} of {count} chat.event pushes of {group} within {timeout:?}",
                client.user(),
                events.len()
            );
        };
        if push.group == *group {
            events.push(push);
        }
    }
    events
}

/// `chat.event` pushes of `group` until the one at `seq` (included); earlier ones are
/// returned too, in arrival order. Other chats' `chat.event`s are skipped.
///
/// # Panics
/// If the one at `seq` does not arrive within `timeout`.
pub async fn chat_events_through(
    client: &mut Client,
    group: &GroupId,
    seq: u64,
    timeout: Duration,
) -> Vec<ChatEventPush> {
    let deadline = Instant::now() + timeout;
    let mut events = Vec::new();
    loop {
        let Some(push) = next_chat_event(client, deadline).await else {
            panic!(
                "{}: no chat.event of {group} at seq {seq} within {timeout:?} (last seen: {:?})",
                client.user(),
                events.last().map(|e: &ChatEventPush| e.item.seq)
            );
        };
        if push.group == *group {
            let reached = push.item.seq >= seq;
            events.push(push);
            if reached {
                return events;
            }
        }
    }
}

async fn next_chat_event(client: &mut Client, deadline: Instant) -> Option<ChatEventPush> {
    let left = deadline.saturating_duration_since(Instant::now());
    let data = client.try_next_push(event::CHAT_EVENT, left).await?;
    Some(
        winichat_protocol::gateway::decode_params(&data)
            .unwrap_or_else(|e| panic!("chat.event push does not decode: {e}\n{data:?}")),
    )
}

/// Calls `check` every [`POLL_INTERVAL`] until it returns `Some`, and returns that: for state
/// that converges (a replica catching up, a counter rising). `check` is an async closure, so it
/// may borrow a [`Client`] mutably: `eventually("…", WAIT, async || client.call(…).await.ok())`.
///
/// # Panics
/// If it still returns `None` after `timeout`, naming `what`.
pub async fn eventually<T>(
    what: &str,
    timeout: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("{what}: not so within {timeout:?}");
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
