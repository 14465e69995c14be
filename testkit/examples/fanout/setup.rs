//! Setting up both servers for the same workloads: users, groups and connections on the node;
//! rooms and connections on the ceiling server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::SplitSink;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use winichat_protocol::client::Push;
use winichat_protocol::gateway::chat::{self as api, method};
use winichat_protocol::gateway::{self};
use winichat_protocol::group::Visibility;
use winichat_protocol::ids::GroupId;
use winichat_testkit::client::{Account, txn};
use winichat_testkit::loadgen::{self, LoadError, SourceAddrs, Ws};
use winichat_testkit::node::TestNode;
use winichat_testkit::users;

use crate::traffic::{
    Sender, SenderTally, Tally, Traffic, is_template, receive, sender_replies, stamp_text,
};

/// Registrations in flight at once (the node hashes passwords on a few threads behind a
/// bounded queue).
const REGISTER_CONCURRENCY: usize = 4;
/// Connections opened (and joins sent) at once during set-up.
const CONNECT_CONCURRENCY: usize = 16;
/// The longest wait for the template push.
const TEMPLATE_WAIT: Duration = Duration::from_secs(10);

/// Registers `count` users `u0`, `u1`, … on `node`.
pub async fn register_users(node: &TestNode, count: usize) -> Vec<Account> {
    futures_util::stream::iter(0..count)
        .map(|i| async move { Account::register(node, &format!("user{i}")).await })
        .buffered(REGISTER_CONCURRENCY)
        .collect()
        .await
}

/// Opens an authenticated gateway connection for `account` from the next source address.
pub async fn gateway_connection(
    node: &TestNode,
    account: &Account,
    sources: &SourceAddrs,
) -> Result<Ws, LoadError> {
    let url = format!("ws://{}/ws", node.http_addr());
    let mut ws = loadgen::connect(&url, node.http_addr(), sources.next()).await?;
    loadgen::authenticate(&mut ws, &account.token).await?;
    Ok(ws)
}

/// One authenticated gateway connection for each of `accounts`, in order.
pub async fn connect_all(
    node: &TestNode,
    accounts: &[Account],
    sources: &SourceAddrs,
) -> Result<Vec<Ws>, LoadError> {
    futures_util::stream::iter(accounts)
        .map(|account| gateway_connection(node, account, sources))
        .buffered(CONNECT_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// `owner` creates a public group `handle` over `ws`; request id `id`.
pub async fn create_group(ws: &mut Ws, id: u64, handle: &str) -> Result<GroupId, LoadError> {
    let params = gateway::to_value(&api::GroupCreateParams {
        txn: txn(),
        name: handle.into(),
        description: "fan-out benchmark".into(),
        visibility: Visibility::Public,
        handle: Some(handle.into()),
    })?;
    let result = loadgen::call(ws, id, method::GROUPS_CREATE, params, |_| {}).await?;
    let summary: api::ChatSummary = gateway::decode_params(&result)?;
    Ok(summary.group)
}

/// Each of `accounts` joins each of `groups[g]` it should: `belongs(user, g)` (false for the
/// group's owner, already a member). Over short connections, closed again, so that the joins'
/// own pushes pile up nowhere.
pub async fn join_all(
    node: &TestNode,
    accounts: &[Account],
    groups: &[GroupId],
    sources: &SourceAddrs,
    belongs: impl Fn(usize, usize) -> bool,
) -> Result<(), LoadError> {
    let belongs = &belongs;
    let results: Vec<Result<(), LoadError>> = futures_util::stream::iter(0..accounts.len())
        .map(|user| async move {
            let wanted: Vec<&GroupId> = groups
                .iter()
                .enumerate()
                .filter(|&(g, _)| belongs(user, g))
                .map(|(_, group)| group)
                .collect();
            if wanted.is_empty() {
                return Ok(());
            }
            let mut ws = gateway_connection(node, &accounts[user], sources).await?;
            for (n, group) in wanted.into_iter().enumerate() {
                let params = gateway::to_value(&api::JoinParams {
                    txn: txn(),
                    group: Some(group.clone()),
                    handle: None,
                })?;
                loadgen::call(&mut ws, 2 + n as u64, method::GROUPS_JOIN, params, |_| {}).await?;
            }
            let _ = ws.close(None).await;
            Ok(())
        })
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Posts once to `group` over `ws` and returns the `chat.event` push it brings back: the
/// template of the ceiling's frames.
pub async fn template_push(ws: &mut Ws, id: u64, group: &GroupId) -> Result<Push, LoadError> {
    let mut template = None;
    let params = gateway::to_value(&users::post_params(group, &stamp_text(0, 0)))?;
    loadgen::call(ws, id, method::MSGS_POST, params, |push| {
        if is_template(&push) {
            template.get_or_insert(push);
        }
    })
    .await?;
    let deadline = Instant::now() + TEMPLATE_WAIT;
    let mut next_id = id + 1;
    while template.is_none() && Instant::now() < deadline {
        // A cheap request whose reply comes after the push, if the push is on its way.
        let params = ciborium::Value::Map(Vec::new());
        loadgen::call(ws, next_id, gateway::method::PING, params, |push| {
            if is_template(&push) {
                template.get_or_insert(push);
            }
        })
        .await?;
        next_id += 1;
    }
    template.ok_or_else(|| format!("no chat.event push within {TEMPLATE_WAIT:?}").into())
}

/// Receiving connections whose read halves run [`receive`]; their write halves are kept so
/// that the sockets stay open.
#[derive(Debug, Default)]
pub struct Receivers {
    pub tallies: Vec<Arc<Tally>>,
    sinks: Vec<SplitSink<Ws, Message>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Receivers {
    pub fn add(&mut self, ws: Ws, traffic: &Arc<Traffic>) {
        let (sink, stream) = ws.split();
        let tally = Arc::new(Tally::default());
        self.readers.push(tokio::spawn(receive(
            stream,
            traffic.clone(),
            tally.clone(),
        )));
        self.tallies.push(tally);
        self.sinks.push(sink);
    }

    /// Closes every connection and ends its reader.
    pub async fn close(self) {
        for mut sink in self.sinks {
            let _ = futures_util::SinkExt::close(&mut sink).await;
        }
        for reader in self.readers {
            reader.abort();
        }
    }
}

/// A sending connection whose read half runs [`sender_replies`].
pub fn sender(ws: Ws, traffic: &Arc<Traffic>, first_id: u64) -> Sender {
    let (sink, stream) = ws.split();
    let tally = Arc::new(SenderTally::default());
    let reader = tokio::spawn(sender_replies(stream, traffic.clone(), tally.clone()));
    Sender {
        sink,
        reader,
        next_id: first_id,
        tally,
    }
}

/// Closes the senders' connections and ends their readers.
pub async fn close_senders(senders: Vec<Sender>) {
    for mut sender in senders {
        let _ = futures_util::SinkExt::close(&mut sender.sink).await;
        sender.reader.abort();
    }
}

/// `count` connections to the ceiling's room `room`, from spread source addresses.
pub async fn ceiling_connections(
    ceiling: SocketAddr,
    room: &str,
    count: usize,
    sources: &SourceAddrs,
) -> Result<Vec<Ws>, LoadError> {
    let url = format!("ws://{ceiling}/ws/{room}");
    let url = &url;
    futures_util::stream::iter(0..count)
        .map(|_| async move { loadgen::connect(url, ceiling, sources.next()).await })
        .buffered(CONNECT_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}
