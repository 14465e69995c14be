//! [`Client`]: a gateway test client — a user registered over HTTP, one authenticated
//! WebSocket, requests matched to their replies by id while pushes are buffered.
//!
//! ```no_run
//! # async fn demo() {
//! use std::time::Duration;
//! use winichat_testkit::client::Client;
//! use winichat_testkit::node::{Backend, TestNode};
//! let node = TestNode::start(Backend::Sqlite).await;
//! let mut alice = Client::register(&node, "alice").await;
//! let mut bob = Client::register(&node, "bob").await;
//! let dm = alice
//!     .call("dm.open", winichat_testkit::client::map(vec![("user", bob.user().to_string().into())]))
//!     .await
//!     .expect("dm");
//! let _ = bob.next_push("chat.event", Duration::from_secs(5)).await;
//! # let _ = dm;
//! # }
//! ```
//!
//! A background task reads the socket all the time (so the node never sees a slow reader),
//! and hands frames over through an unbounded channel. Every `Client` is used by one task at
//! a time (`&mut self`); concurrency comes from several clients, each in its own task.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use ciborium::Value;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use winichat_protocol::client::{ClientFrame, Push, Request, ServerFrame};
use winichat_protocol::error_code::{ErrorBody, ErrorCode};
use winichat_protocol::gateway::{self, Ready};
use winichat_protocol::ids::{NodeName, UserId};

use crate::node::TestNode;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long [`Client::call`] waits for a reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// The password every test account gets.
pub const PASSWORD: &str = "correct horse battery";

/// A node as a client reaches it: where its HTTP API and gateway listen, and its name. A
/// [`TestNode`] has one ([`Endpoint::of`]); so has a node run as a separate process.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The HTTP address (API and `/ws`).
    pub http: SocketAddr,
    /// The node's name (the part after `:` in its users' ids).
    pub name: NodeName,
}

impl Endpoint {
    /// Where `node` listens.
    pub fn of(node: &TestNode) -> Endpoint {
        Endpoint {
            http: node.http_addr(),
            name: node.name().clone(),
        }
    }
}

/// A registered user: their id and an access token.
#[derive(Debug, Clone)]
pub struct Account {
    /// The user.
    pub user: UserId,
    /// The username (local part).
    pub username: String,
    /// A valid access token.
    pub token: String,
}

impl Account {
    /// Registers `username` on `node` over `POST /api/auth/register`.
    ///
    /// # Panics
    /// If registration does not answer 201 with an access token.
    pub async fn register(node: &TestNode, username: &str) -> Account {
        Account::register_at(&Endpoint::of(node), username).await
    }

    /// Registers `username` on the node at `endpoint` (e.g. a `winichat serve` process).
    ///
    /// # Panics
    /// If registration does not answer 201 with an access token.
    pub async fn register_at(endpoint: &Endpoint, username: &str) -> Account {
        let response = http_client()
            .post(format!("http://{}/api/auth/register", endpoint.http))
            .json(&serde_json::json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .expect("register request");
        let status = response.status();
        let body: serde_json::Value = response.json().await.expect("register: json body");
        assert_eq!(status, 201, "register {username}: {body}");
        Account::from_body(endpoint, username, &body)
    }

    /// Logs `username` in again (a new session) over `POST /api/auth/login`.
    ///
    /// # Panics
    /// If login does not answer 200 with an access token.
    pub async fn login(node: &TestNode, username: &str) -> Account {
        Account::login_at(&Endpoint::of(node), username).await
    }

    /// Logs `username` in again on the node at `endpoint`.
    ///
    /// # Panics
    /// If login does not answer 200 with an access token.
    pub async fn login_at(endpoint: &Endpoint, username: &str) -> Account {
        let response = http_client()
            .post(format!("http://{}/api/auth/login", endpoint.http))
            .json(&serde_json::json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .expect("login request");
        let status = response.status();
        let body: serde_json::Value = response.json().await.expect("login: json body");
        assert_eq!(status, 200, "login {username}: {body}");
        Account::from_body(endpoint, username, &body)
    }

    fn from_body(endpoint: &Endpoint, username: &str, body: &serde_json::Value) -> Account {
        let token = body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        let user = match body["user_id"].as_str() {
            Some(id) => id.parse().expect("user_id parses"),
            None => format!("@{username}:{}", endpoint.name)
                .parse()
                .expect("user id"),
        };
        Account {
            user,
            username: username.to_owned(),
            token,
        }
    }
}

/// An HTTP client for the auth API. The crypto provider is installed first: reqwest is built
/// without one, and the process may have started no in-process node (which installs it).
fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// What the reader task hands over.
enum Incoming {
    Frame(ServerFrame),
    /// The socket closed (with the close code, when there was one).
    Closed(Option<u16>),
}

/// One authenticated gateway connection.
pub struct Client {
    account: Account,
    ready: Option<Ready>,
    sink: SplitSink<Ws, Message>,
    incoming: mpsc::UnboundedReceiver<Incoming>,
    reader: tokio::task::JoinHandle<()>,
    next_id: u64,
    /// Pushes received and not yet taken, in arrival order.
    pushes: VecDeque<Push>,
    /// Replies received for requests nobody waits on yet.
    replies: HashMap<u64, Result<Value, ErrorBody>>,
    closed: Option<Option<u16>>,
    /// The cursor of the last push received (what a client resumes from).
    last_cursor: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("user", &self.account.user)
            .field("pushes", &self.pushes.len())
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Client {
    /// Registers `username` and connects as them.
    pub async fn register(node: &TestNode, username: &str) -> Client {
        let account = Account::register(node, username).await;
        Client::connect(node, &account).await
    }

    /// Opens `/ws` and authenticates as `account`.
    ///
    /// # Panics
    /// If the upgrade or `auth` fails.
    pub async fn connect(node: &TestNode, account: &Account) -> Client {
        Client::connect_with_cursor(node, account, None).await
    }

    /// Opens `/ws` and authenticates as `account` with the resume `cursor`, when given; the
    /// pushes the node replays arrive as pushes and [`Ready::resumed`] says whether it did.
    ///
    /// # Panics
    /// If the upgrade or `auth` fails.
    pub async fn connect_with_cursor(
        node: &TestNode,
        account: &Account,
        cursor: Option<String>,
    ) -> Client {
        Client::connect_at(node.http_addr(), account, cursor).await
    }

    /// Opens `/ws` at the HTTP address `http` (e.g. of a `winichat serve` process) and
    /// authenticates as `account`, resuming from `cursor` when given.
    ///
    /// # Panics
    /// If the upgrade or `auth` fails.
    pub async fn connect_at(http: SocketAddr, account: &Account, cursor: Option<String>) -> Client {
        let url = format!("ws://{http}/ws");
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("websocket upgrade");
        let (sink, mut stream) = ws.split();
        let (tx, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            loop {
                let incoming = match stream.next().await {
                    Some(Ok(Message::Binary(bytes))) => match ServerFrame::decode(&bytes) {
                        Ok(frame) => Incoming::Frame(frame),
                        Err(e) => panic!("the node sent a frame that does not decode: {e}"),
                    },
                    Some(Ok(Message::Close(frame))) => {
                        Incoming::Closed(frame.map(|f| u16::from(f.code)))
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => Incoming::Closed(None),
                };
                let last = matches!(incoming, Incoming::Closed(_));
                if tx.send(incoming).is_err() || last {
                    return;
                }
            }
        });
        let mut client = Client {
            account: account.clone(),
            ready: None,
            sink,
            incoming: rx,
            reader,
            next_id: 1,
            pushes: VecDeque::new(),
            replies: HashMap::new(),
            closed: None,
            last_cursor: None,
        };
        let params = gateway::to_value(&gateway::AuthParams {
            token: account.token.clone(),
            cursor,
        })
        .expect("auth params");
        let result = client
            .call(gateway::method::AUTH, params)
            .await
            .unwrap_or_else(|e| panic!("auth as {}: {e:?}", account.user));
        client.ready = Some(gateway::decode_params(&result).expect("ready"));
        client
    }

    /// Another connection of the same user (same session).
    pub async fn another(&self, node: &TestNode) -> Client {
        Client::connect(node, &self.account).await
    }

    /// The user.
    pub fn user(&self) -> &UserId {
        &self.account.user
    }

    /// The account (to connect again).
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// The `auth` result.
    pub fn ready(&self) -> &Ready {
        self.ready.as_ref().expect("authenticated")
    }

    /// Sends a request without waiting; returns its id for [`Client::reply`].
    pub async fn send(&mut self, method: &str, params: Value) -> u64 {
        self.try_send(method, params)
            .await
            .unwrap_or_else(|e| panic!("send {method}: {e}"))
    }

    /// [`Client::send`] that hands back a failure to send (the node gone) instead of
    /// panicking.
    pub async fn try_send(&mut self, method: &str, params: Value) -> Result<u64, WsError> {
        let id = self.next_id;
        self.next_id += 1;
        let frame = ClientFrame::Request(Request {
            id,
            method: method.to_owned(),
            params,
        });
        let bytes = frame.encode().expect("encode a request");
        self.sink.send(Message::Binary(bytes.into())).await?;
        Ok(id)
    }

    /// The reply to request `id` (pushes meanwhile are buffered).
    ///
    /// # Panics
    /// If the reply does not come within [`REPLY_TIMEOUT`] or the socket closes.
    pub async fn reply(&mut self, id: u64) -> Result<Value, ErrorBody> {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            if let Some(reply) = self.replies.remove(&id) {
                return reply;
            }
            if !self.receive_until(deadline).await {
                panic!(
                    "no reply to request {id} for {} within {REPLY_TIMEOUT:?} (closed: {:?})",
                    self.account.user, self.closed
                );
            }
        }
    }

    /// The next reply to any request, with its id (the lowest id first among replies already
    /// received), or `None` once the socket is closed and every received reply taken, or
    /// after `timeout`: for a client keeping several requests in flight.
    pub async fn next_reply(
        &mut self,
        timeout: Duration,
    ) -> Option<(u64, Result<Value, ErrorBody>)> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(&id) = self.replies.keys().min() {
                return self.replies.remove(&id).map(|reply| (id, reply));
            }
            if !self.receive_until(deadline).await {
                return None;
            }
        }
    }

    /// Whether the reply to request `id` has arrived (without waiting, and without taking it).
    pub fn has_reply(&mut self, id: u64) -> bool {
        while let Ok(incoming) = self.incoming.try_recv() {
            self.accept(incoming);
        }
        self.replies.contains_key(&id)
    }

    /// Calls `method` and waits for its reply.
    pub async fn call(&mut self, method: &str, params: Value) -> Result<Value, ErrorBody> {
        let id = self.send(method, params).await;
        self.reply(id).await
    }

    /// [`Client::call`] with typed params and result.
    ///
    /// # Panics
    /// If the params do not encode or a successful result does not decode as `R`.
    pub async fn call_as<P: Serialize, R: DeserializeOwned>(
        &mut self,
        method: &str,
        params: &P,
    ) -> Result<R, ErrorBody> {
        let params = gateway::to_value(params).expect("encode params");
        let value = self.call(method, params).await?;
        Ok(gateway::decode_params(&value)
            .unwrap_or_else(|e| panic!("{method} result does not decode: {e}\n{value:?}")))
    }

    /// [`Client::call_as`], panicking on an error reply.
    pub async fn ok<P: Serialize, R: DeserializeOwned>(&mut self, method: &str, params: &P) -> R {
        match self.call_as(method, params).await {
            Ok(result) => result,
            Err(e) => panic!("{method} by {} failed: {e:?}", self.account.user),
        }
    }

    /// [`Client::call_as`] with a result ignored, expecting an error reply with `code`.
    ///
    /// # Panics
    /// If the call succeeds or fails with another code.
    pub async fn err<P: Serialize>(
        &mut self,
        method: &str,
        params: &P,
        code: ErrorCode,
    ) -> ErrorBody {
        let params_value = gateway::to_value(params).expect("encode params");
        match self.call(method, params_value).await {
            Ok(v) => panic!(
                "{method} by {} succeeded ({v:?}); expected {code}",
                self.account.user
            ),
            Err(e) => {
                assert_eq!(
                    e.code, code,
                    "{method} by {}: expected {code}, got {e:?}",
                    self.account.user
                );
                e
            }
        }
    }

    /// The next push named `name` (other pushes stay buffered), as its data.
    ///
    /// # Panics
    /// If none arrives within `timeout`.
    pub async fn next_push(&mut self, name: &str, timeout: Duration) -> Value {
        match self.try_next_push(name, timeout).await {
            Some(data) => data,
            None => panic!(
                "{}: no {name:?} push within {timeout:?}; buffered: {:?}",
                self.account.user,
                self.pushes.iter().map(|p| &p.event).collect::<Vec<_>>()
            ),
        }
    }

    /// The next push named `name` decoded as `T`.
    ///
    /// # Panics
    /// If none arrives within `timeout` or it does not decode.
    pub async fn next_push_as<T: DeserializeOwned>(&mut self, name: &str, timeout: Duration) -> T {
        let data = self.next_push(name, timeout).await;
        gateway::decode_params(&data)
            .unwrap_or_else(|e| panic!("{name} push does not decode: {e}\n{data:?}"))
    }

    /// The next push named `name`, or `None` after `timeout`.
    pub async fn try_next_push(&mut self, name: &str, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(at) = self.pushes.iter().position(|p| p.event == name) {
                return self.pushes.remove(at).map(|p| p.data);
            }
            if !self.receive_until(deadline).await {
                return None;
            }
        }
    }

    /// Asserts that no push named `name` is buffered or arrives within `duration`.
    ///
    /// # Panics
    /// If one does.
    pub async fn expect_no_push(&mut self, name: &str, duration: Duration) {
        self.expect_no_push_where(|event| event == name, duration)
            .await;
    }

    /// Asserts that no push whose name satisfies `matches` is buffered or arrives within
    /// `duration`.
    ///
    /// # Panics
    /// If one does.
    pub async fn expect_no_push_where(
        &mut self,
        matches: impl Fn(&str) -> bool,
        duration: Duration,
    ) {
        let deadline = Instant::now() + duration;
        loop {
            if let Some(p) = self.pushes.iter().find(|p| matches(&p.event)) {
                panic!(
                    "{}: unexpected push {:?}: {:?}",
                    self.account.user, p.event, p.data
                );
            }
            if !self.receive_until(deadline).await {
                return;
            }
        }
    }

    /// Drops the pushes named `name` received so far; returns how many there were.
    pub fn discard_pushes(&mut self, name: &str) -> usize {
        // Whatever already arrived on the socket counts as received.
        while let Ok(incoming) = self.incoming.try_recv() {
            self.accept(incoming);
        }
        let before = self.pushes.len();
        self.pushes.retain(|p| p.event != name);
        before - self.pushes.len()
    }

    /// Takes every push named `name` received so far (without waiting).
    pub async fn take_pushes(&mut self, name: &str) -> Vec<Value> {
        // Whatever already arrived on the socket.
        while let Ok(incoming) = self.incoming.try_recv() {
            self.accept(incoming);
        }
        let mut out = Vec::new();
        let mut rest = VecDeque::with_capacity(self.pushes.len());
        for p in self.pushes.drain(..) {
            if p.event == name {
                out.push(p.data);
            } else {
                rest.push_back(p);
            }
        }
        self.pushes = rest;
        out
    }

    /// The cursor of the last push received so far (`None` before any push).
    pub fn last_push_cursor(&mut self) -> Option<String> {
        while let Ok(incoming) = self.incoming.try_recv() {
            self.accept(incoming);
        }
        self.last_cursor.clone()
    }

    /// The close code once the node closed the socket (`Some(None)`: closed without a code).
    pub fn closed(&self) -> Option<Option<u16>> {
        self.closed
    }

    /// Closes the socket.
    pub async fn close(mut self) {
        let _ = self.sink.close().await;
    }

    /// Receives one frame into the buffers; false at the deadline or once closed.
    async fn receive_until(&mut self, deadline: Instant) -> bool {
        if self.closed.is_some() {
            return false;
        }
        match tokio::time::timeout_at(deadline, self.incoming.recv()).await {
            Err(_) => false,
            Ok(None) => {
                self.closed.get_or_insert(None);
                false
            }
            Ok(Some(incoming)) => {
                self.accept(incoming);
                true
            }
        }
    }

    fn accept(&mut self, incoming: Incoming) {
        match incoming {
            Incoming::Frame(ServerFrame::Ok { id, result }) => {
                self.replies.insert(id, Ok(result));
            }
            Incoming::Frame(ServerFrame::Err { id, error }) => {
                self.replies.insert(id, Err(error));
            }
            Incoming::Frame(ServerFrame::Push(push)) => {
                if let Some(cursor) = &push.cursor {
                    self.last_cursor = Some(cursor.clone());
                }
                self.pushes.push_back(push);
            }
            Incoming::Frame(other) => panic!("unexpected frame {other:?}"),
            Incoming::Closed(code) => self.closed = Some(code),
        }
    }
}

/// A CBOR map with text keys, for hand-written params.
pub fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect(),
    )
}

/// A fresh transaction id.
pub fn txn() -> String {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).expect("randomness for a txn");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
