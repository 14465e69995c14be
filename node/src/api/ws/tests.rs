//! The connection loop driven through channels, with fake accounts and short timeouts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::Message;
use ciborium::Value;
use futures_channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use futures_util::StreamExt;
use tokio::sync::{Semaphore, mpsc};
use winichat_protocol::Timestamp;
use winichat_protocol::client::{ClientFrame, Request, ServerFrame};
use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::gateway::{self, Cursor, Ready, close};
use winichat_protocol::ids::UserId;

use super::connection::{ReadError, now, run};
use super::{Accounts, GatewaySettings, Hub, origin_allowed};
use crate::auth::{AccessClaims, AuthError, Profile, SessionId};

fn alice() -> UserId {
    UserId::parse("@alice:chat.example.org").expect("user")
}

/// Tokens: `good` (alice, session s1, 10 minutes), `short` (alice, s1, 1 s), `other`
/// (alice, session s2).
struct Fake {
    bio: Arc<Mutex<String>>,
    /// When set, `search` and `update_profile` say they started and then wait for a permit: a
    /// request that stays in flight for as long as a test likes.
    search_gate: Option<SearchGate>,
}

struct SearchGate {
    started: mpsc::UnboundedSender<()>,
    permits: Arc<Semaphore>,
}

impl Fake {
    fn new() -> Fake {
        Fake {
            bio: Arc::new(Mutex::new(String::new())),
            search_gate: None,
        }
    }

    /// A fake whose searches wait for a permit of the returned semaphore; the receiver gets a
    /// message as each search starts waiting.
    fn gated() -> (Fake, mpsc::UnboundedReceiver<()>, Arc<Semaphore>) {
        let (started, started_rx) = mpsc::unbounded_channel();
        let permits = Arc::new(Semaphore::new(0));
        let fake = Fake {
            search_gate: Some(SearchGate {
                started,
                permits: Arc::clone(&permits),
            }),
            ..Fake::new()
        };
        (fake, started_rx, permits)
    }
}

#[async_trait::async_trait]
impl Accounts for Fake {
    async fn authenticate(&self, token: &str) -> Result<AccessClaims, AuthError> {
        let (session, ttl) = match token {
            "good" => ("s1", 600_000),
            "short" => ("s1", 1_000),
            "other" => ("s2", 600_000),
            _ => return Err(AuthError::Unauthenticated("bad token")),
        };
        Ok(AccessClaims {
            user: alice(),
            session: SessionId::from(session.to_owned()),
            expires_at: Timestamp(now().millis() + ttl),
        })
    }
    async fn profile(&self, user: &UserId) -> Result<Profile, AuthError> {
        Ok(Profile {
            user: user.clone(),
            display_name: "Alice".into(),
            bio: self.bio.lock().expect("lock").clone(),
            created_at: Timestamp(0),
            avatar: None,
        })
    }
    async fn update_profile(
        &self,
        user: &UserId,
        _display_name: Option<String>,
        bio: Option<String>,
    ) -> Result<Profile, AuthError> {
        if let Some(gate) = &self.search_gate {
            let _ = gate.started.send(());
            let _permit = gate.permits.acquire().await.expect("gate open");
        }
        if let Some(bio) = bio {
            *self.bio.lock().expect("lock") = bio;
        }
        self.profile(user).await
    }
    async fn set_avatar(
        &self,
        user: &UserId,
        _avatar: Option<&winichat_protocol::ids::MediaId>,
    ) -> Result<Profile, AuthError> {
        self.profile(user).await
    }
    async fn search(
        &self,
        _query: &str,
        _after: Option<&str>,
        _limit: u32,
    ) -> Result<Vec<Profile>, AuthError> {
        if let Some(gate) = &self.search_gate {
            let _ = gate.started.send(());
            let _permit = gate.permits.acquire().await.expect("gate open");
        }
        Ok(vec![self.profile(&alice()).await?])
    }
}

struct Client {
    tx: UnboundedSender<Result<Message, ReadError>>,
    rx: UnboundedReceiver<Message>,
}

fn connect(hub: &Hub, settings: &GatewaySettings) -> Client {
    connect_to(hub, settings, Fake::new())
}

fn connect_to(hub: &Hub, settings: &GatewaySettings, accounts: Fake) -> Client {
    let (tx, stream) = unbounded();
    let (sink, rx) = unbounded();
    tokio::spawn(run(
        sink,
        stream,
        hub.clone(),
        Arc::new(settings.clone()),
        accounts,
        None,
    ));
    Client { tx, rx }
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect(),
    )
}

impl Client {
    fn send_raw(&self, message: Message) {
        self.tx.unbounded_send(Ok(message)).expect("node reads");
    }

    fn request(&self, id: u64, method: &str, params: Value) {
        let frame = ClientFrame::Request(Request {
            id,
            method: method.into(),
            params,
        });
        let bytes = frame.encode().expect("encodes");
        self.send_raw(Message::Binary(Bytes::from(bytes)));
    }

    async fn next(&mut self) -> Message {
        tokio::time::timeout(Duration::from_secs(10), self.rx.next())
            .await
            .expect("a message in time")
            .expect("connection open")
    }

    async fn frame(&mut self) -> ServerFrame {
        loop {
            match self.next().await {
                Message::Binary(b) => return ServerFrame::decode(&b).expect("a server frame"),
                Message::Ping(_) => {}
                other => panic!("expected a frame, got {other:?}"),
            }
        }
    }

    async fn closed_with(&mut self) -> u16 {
        loop {
            match self.next().await {
                Message::Close(Some(frame)) => return frame.code,
                Message::Close(None) => panic!("close without a code"),
                _ => {}
            }
        }
    }

    async fn auth(&mut self, token: &str, cursor: Option<&str>) -> Ready {
        let mut params = vec![("token", Value::from(token))];
        if let Some(c) = cursor {
            params.push(("cursor", Value::from(c)));
        }
        self.request(1, "auth", map(params));
        match self.frame().await {
            ServerFrame::Ok { id: 1, result } => gateway::decode_params(&result).expect("ready"),
            other => panic!("expected ready, got {other:?}"),
        }
    }

    async fn reply(&mut self, id: u64) -> Result<Value, ErrorCode> {
        loop {
            match self.frame().await {
                ServerFrame::Ok { id: got, result } if got == id => return Ok(result),
                ServerFrame::Err { id: got, error } if got == id => return Err(error.code),
                ServerFrame::Push(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

fn setup() -> (Hub, GatewaySettings) {
    let settings = GatewaySettings {
        auth_timeout: Duration::from_millis(200),
        ..GatewaySettings::default()
    };
    (Hub::new(&settings), settings)
}

#[tokio::test]
async fn no_auth_within_the_timeout_closes_4001() {
    let (hub, settings) = setup();
    let mut c = connect(&hub, &settings);
    assert_eq!(c.closed_with().await, close::UNAUTHENTICATED);
}

#[tokio::test]
async fn a_bad_token_or_another_method_first_closes_4001() {
    let (hub, settings) = setup();
    let mut c = connect(&hub, &settings);
    c.request(3, "auth", map(vec![("token", Value::from("nope"))]));
    assert_eq!(c.reply(3).await, Err(ErrorCode::Unauthenticated));
    assert_eq!(c.closed_with().await, close::UNAUTHENTICATED);

    let mut c = connect(&hub, &settings);
    c.request(4, "ping", map(vec![]));
    assert_eq!(c.reply(4).await, Err(ErrorCode::Unauthenticated));
    assert_eq!(c.closed_with().await, close::UNAUTHENTICATED);
}

#[tokio::test]
async fn text_and_oversize_frames_close() {
    let (hub, settings) = setup();
    let mut c = connect(&hub, &settings);
    c.send_raw(Message::Text("hi".into()));
    assert_eq!(c.closed_with().await, close::UNSUPPORTED_DATA);

    let mut c = connect(&hub, &settings);
    c.auth("good", None).await;
    c.tx.unbounded_send(Err(ReadError::TooBig)).expect("send");
    assert_eq!(c.closed_with().await, close::TOO_BIG);
}

#[tokio::test]
async fn requests_get_exactly_one_reply() {
    let (hub, settings) = setup();
    let mut c = connect(&hub, &settings);
    let ready = c.auth("good", None).await;
    assert_eq!(ready.user.id, alice());
    assert_eq!(ready.session, "s1");
    assert!(!ready.resumed);

    c.request(2, "ping", map(vec![]));
    assert_eq!(c.reply(2).await, Ok(map(vec![])));
    c.request(3, "nope", map(vec![]));
    assert_eq!(c.reply(3).await, Err(ErrorCode::UnknownMethod));
    c.request(4, "profile.get", map(vec![("user", Value::from(5))]));
    assert_eq!(c.reply(4).await, Err(ErrorCode::BadRequest));
    // Undecodable, but the id is readable.
    let bytes = winichat_protocol::codec::encode(&map(vec![
        ("t", Value::from("req")),
        ("id", Value::from(7)),
    ]))
    .expect("encodes");
    c.send_raw(Message::Binary(Bytes::from(bytes)));
    assert_eq!(c.reply(7).await, Err(ErrorCode::BadRequest));
    c.send_raw(Message::Binary(Bytes::from_static(b"\xff")));
    assert_eq!(c.reply(0).await, Err(ErrorCode::BadRequest));
    c.request(8, "users.search", map(vec![("query", Value::from("al"))]));
    assert!(c.reply(8).await.is_ok());
}

#[tokio::test]
async fn profile_updates_reach_every_tab_and_resume_replays_them() {
    let (hub, settings) = setup();
    let mut a = connect(&hub, &settings);
    a.auth("good", None).await;
    // The first connection makes alice online.
    let ServerFrame::Push(online) = a.frame().await else {
        panic!("expected presence")
    };
    assert_eq!(online.event, "presence");
    let mut b = connect(&hub, &settings);
    let ready_b = b.auth("good", None).await;
    assert_eq!(hub.connections(&alice()), 2);

    a.request(2, "profile.update", map(vec![("bio", Value::from("hi"))]));
    assert!(a.reply(2).await.is_ok());
    let ServerFrame::Push(push) = b.frame().await else {
        panic!("expected a push")
    };
    assert_eq!(push.event, "profile");
    let after_one = push.cursor.clone().expect("cursor");
    a.request(3, "profile.update", map(vec![("bio", Value::from("ho"))]));
    assert!(a.reply(3).await.is_ok());

    // b reconnects from its ready cursor: it missed the two profile pushes.
    let mut b2 = connect(&hub, &settings);
    let ready = b2.auth("good", Some(&ready_b.cursor)).await;
    assert!(ready.resumed);
    for _ in 0..2 {
        let ServerFrame::Push(p) = b2.frame().await else {
            panic!("expected a missed push")
        };
        assert_eq!(p.event, "profile");
    }
    // From the cursor of the first push, only the second is missed.
    let mut b3 = connect(&hub, &settings);
    assert!(b3.auth("good", Some(&after_one)).await.resumed);
    let ServerFrame::Push(p) = b3.frame().await else {
        panic!("expected a missed push")
    };
    assert_eq!(p.data.as_map().map(Vec::len), Some(3));
    b3.request(9, "ping", map(vec![]));
    assert!(b3.reply(9).await.is_ok());

    // Unknown and stale cursors resync.
    let mut c = connect(&hub, &settings);
    assert!(!c.auth("good", Some("other-boot.1")).await.resumed);
    let mut d = connect(&hub, &settings);
    assert!(!d.auth("good", Some("junk")).await.resumed);
}

#[tokio::test]
async fn expiry_closes_4002_unless_refreshed() {
    let (hub, settings) = setup();
    let mut c = connect(&hub, &settings);
    c.auth("short", None).await;
    c.request(2, "auth.refresh", map(vec![("token", Value::from("good"))]));
    assert!(c.reply(2).await.is_ok());
    c.request(
        3,
        "auth.refresh",
        map(vec![("token", Value::from("other"))]),
    );
    assert_eq!(c.reply(3).await, Err(ErrorCode::Forbidden));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.request(4, "ping", map(vec![]));
    assert!(c.reply(4).await.is_ok(), "refreshed: still open");

    let mut d = connect(&hub, &settings);
    d.auth("short", None).await;
    assert_eq!(d.closed_with().await, close::TOKEN_EXPIRED);
}

#[tokio::test]
async fn idle_connections_close_4007() {
    let (hub, settings) = setup();
    let settings = GatewaySettings {
        ping_interval: Duration::from_millis(100),
        idle_timeout: Duration::from_millis(300),
        ..settings
    };
    let mut c = connect(&hub, &settings);
    c.auth("good", None).await;
    // Never answers pings (the channel client sends no pongs).
    assert_eq!(c.closed_with().await, close::IDLE_TIMEOUT);
}

#[tokio::test]
async fn rate_limit_refuses_then_closes_4005() {
    let (hub, settings) = setup();
    let mut c = connect(&hub, &settings);
    c.auth("good", None).await;
    for id in 0..200 {
        c.request(100 + id, "ping", map(vec![]));
    }
    let mut ok = 0;
    let mut limited = 0;
    let code = loop {
        match c.next().await {
            Message::Binary(b) => match ServerFrame::decode(&b).expect("frame") {
                ServerFrame::Ok { .. } => ok += 1,
                ServerFrame::Err { error, .. } => {
                    assert_eq!(error.code, ErrorCode::RateLimited);
                    limited += 1;
                }
                ServerFrame::Push(_) => {}
                other => panic!("unexpected {other:?}"),
            },
            Message::Close(Some(f)) => break f.code,
            _ => {}
        }
    };
    assert_eq!(code, close::RATE_LIMITED);
    // Real time passes while they are handled: a few more may be let through.
    assert!((40..50).contains(&ok), "the burst: {ok}");
    assert!(
        (40..50).contains(&limited),
        "refused before the close: {limited}"
    );
}

#[tokio::test]
async fn revocation_shutdown_and_too_many() {
    let (hub, settings) = setup();
    let mut s1 = connect(&hub, &settings);
    s1.auth("good", None).await;
    let mut s2 = connect(&hub, &settings);
    s2.auth("other", None).await;
    hub.kick_session(
        &alice(),
        &SessionId::from("s1".to_owned()),
        close::SESSION_REVOKED,
    );
    assert_eq!(s1.closed_with().await, close::SESSION_REVOKED);
    s2.request(2, "ping", map(vec![]));
    assert!(s2.reply(2).await.is_ok(), "the other session stays");

    let mut more = Vec::new();
    for _ in 0..9 {
        let mut c = connect(&hub, &settings);
        c.auth("good", None).await;
        more.push(c);
    }
    let mut eleventh = connect(&hub, &settings);
    eleventh.request(1, "auth", map(vec![("token", Value::from("good"))]));
    // Its `auth` is answered (once) before the close.
    assert_eq!(eleventh.reply(1).await, Err(ErrorCode::RateLimited));
    assert_eq!(eleventh.closed_with().await, close::TOO_MANY_CONNECTIONS);

    hub.close_all(close::GOING_AWAY);
    assert_eq!(s2.closed_with().await, close::GOING_AWAY);
}

#[tokio::test]
async fn a_full_queue_kicks_with_4006() {
    let settings = GatewaySettings {
        send_queue: 4,
        ..GatewaySettings::default()
    };
    let hub = Hub::new(&settings);
    let session = SessionId::from("s1".to_owned());
    let reg = hub.register(&alice(), &session, None).expect("registers");
    // The online presence is queued already; three more fit, the fifth overflows.
    for _ in 0..4 {
        hub.push_about(&alice(), "profile", &map(vec![]));
    }
    assert_eq!(reg.kick.code(), Some(close::TOO_SLOW));
}

#[tokio::test]
async fn pushes_keep_flowing_while_a_request_is_in_flight() {
    let settings = GatewaySettings {
        send_queue: 4,
        ..GatewaySettings::default()
    };
    let hub = Hub::new(&settings);
    let (accounts, mut started, permits) = Fake::gated();
    let mut c = connect_to(&hub, &settings, accounts);
    c.auth("good", None).await;
    c.request(2, "users.search", map(vec![("query", Value::from("al"))]));
    started.recv().await.expect("the search starts");
    // Four times the queue, each push taken before the next: the queue never holds more than
    // one, so only a connection that stopped writing while the search waits would be kicked.
    for k in 0..16u64 {
        hub.push_about(&alice(), "profile", &map(vec![("k", Value::from(k))]));
        let push = loop {
            match c.frame().await {
                // The user's own "online", queued at registration.
                ServerFrame::Push(push) if push.event == "presence" => {}
                ServerFrame::Push(push) => break push,
                other => panic!("expected push {k} while the search waits, got {other:?}"),
            }
        };
        assert_eq!(push.data, map(vec![("k", Value::from(k))]));
    }
    permits.add_permits(1);
    assert!(c.reply(2).await.is_ok(), "the search is answered");
    c.request(3, "ping", map(vec![]));
    assert_eq!(
        c.reply(3).await,
        Ok(map(vec![])),
        "and the connection lives on"
    );
}

/// A sink that counts its flushes (each is a write to the socket in the node).
struct CountingFlushes {
    inner: UnboundedSender<Message>,
    flushes: Arc<std::sync::atomic::AtomicUsize>,
}

impl futures_util::Sink<Message> for CountingFlushes {
    type Error = futures_channel::mpsc::SendError;

    fn poll_ready(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::pin::Pin::new(&mut self.inner).poll_ready(cx)
    }

    fn start_send(mut self: std::pin::Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
        std::pin::Pin::new(&mut self.inner).start_send(item)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.flushes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::pin::Pin::new(&mut self.inner).poll_close(cx)
    }
}

#[tokio::test]
async fn pushes_queued_together_go_out_in_one_write_in_order() {
    let (hub, settings) = setup();
    let (tx, stream) = unbounded();
    let (sink, rx) = unbounded();
    let flushes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    tokio::spawn(run(
        CountingFlushes {
            inner: sink,
            flushes: Arc::clone(&flushes),
        },
        stream,
        hub.clone(),
        Arc::new(settings.clone()),
        Fake::new(),
        None,
    ));
    let mut c = Client { tx, rx };
    c.auth("good", None).await;
    // The user's own "online", queued at registration, goes out first.
    match c.frame().await {
        ServerFrame::Push(push) => assert_eq!(push.event, "presence"),
        other => panic!("expected the presence push, got {other:?}"),
    }
    let before = flushes.load(std::sync::atomic::Ordering::SeqCst);
    // Queued while the connection's task cannot run (this test's runtime has one thread).
    for k in 0..20u64 {
        hub.push_about(&alice(), "profile", &map(vec![("k", Value::from(k))]));
    }
    for k in 0..20u64 {
        match c.frame().await {
            ServerFrame::Push(push) => assert_eq!(push.data, map(vec![("k", Value::from(k))])),
            other => panic!("expected push {k}, got {other:?}"),
        }
    }
    let written = flushes.load(std::sync::atomic::Ordering::SeqCst) - before;
    assert_eq!(written, 1, "20 queued pushes, {written} writes");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_4006_though_its_request_waits() {
    let settings = GatewaySettings {
        send_queue: 4,
        ..GatewaySettings::default()
    };
    let hub = Hub::new(&settings);
    let (accounts, mut started, _permits) = Fake::gated();
    let (tx, stream) = unbounded();
    // A socket whose client stopped reading: a write waits until the test takes the one
    // message the channel holds.
    let (sink, mut rx) = futures_channel::mpsc::channel::<Message>(0);
    tokio::spawn(run(
        sink,
        stream,
        hub.clone(),
        Arc::new(settings),
        accounts,
        None,
    ));
    let c = Client {
        tx,
        rx: unbounded().1,
    };
    c.request(1, "auth", map(vec![("token", Value::from("good"))]));
    let ready = tokio::time::timeout(Duration::from_secs(10), rx.next())
        .await
        .expect("ready in time");
    assert!(matches!(ready, Some(Message::Binary(_))), "{ready:?}");
    c.request(2, "users.search", map(vec![("query", Value::from("al"))]));
    started.recv().await.expect("the search starts");
    let pushed = 16;
    for k in 0..pushed {
        hub.push_about(&alice(), "profile", &map(vec![("k", Value::from(k))]));
        // The connection writes what it can before the next push.
        tokio::task::yield_now().await;
    }
    let mut pushes = 0;
    let code = loop {
        let message = tokio::time::timeout(Duration::from_secs(10), rx.next())
            .await
            .expect("a message in time");
        match message {
            Some(Message::Binary(b)) => match ServerFrame::decode(&b).expect("a server frame") {
                ServerFrame::Push(_) => pushes += 1,
                other => panic!("the search is still waiting, yet: {other:?}"),
            },
            Some(Message::Close(Some(frame))) => break frame.code,
            other => panic!("expected pushes then a close, got {other:?}"),
        }
    };
    assert_eq!(code, close::TOO_SLOW);
    assert!(pushes < pushed, "the queue stayed bounded: {pushes} pushes");
}

#[tokio::test]
async fn requests_are_answered_in_order_one_at_a_time() {
    let (hub, settings) = setup();
    let (accounts, mut started, permits) = Fake::gated();
    let mut c = connect_to(&hub, &settings, accounts);
    c.auth("good", None).await;
    c.request(2, "users.search", map(vec![("query", Value::from("al"))]));
    c.request(3, "ping", map(vec![]));
    started.recv().await.expect("the search starts");
    permits.add_permits(1);
    // The ping, quick as it is, is read only once the search is answered.
    let mut replies = Vec::new();
    while replies.len() < 2 {
        match c.frame().await {
            ServerFrame::Ok { id, .. } => replies.push(id),
            // The user's own "online", queued at registration.
            ServerFrame::Push(_) => {}
            other => panic!("expected a reply, got {other:?}"),
        }
    }
    assert_eq!(replies, [2, 3]);
}

#[tokio::test]
async fn a_kick_closes_a_connection_whose_request_waits() {
    let (hub, settings) = setup();
    let (accounts, mut started, _permits) = Fake::gated();
    let mut c = connect_to(&hub, &settings, accounts);
    c.auth("good", None).await;
    c.request(2, "users.search", map(vec![("query", Value::from("al"))]));
    started.recv().await.expect("the search starts");
    hub.kick_session(
        &alice(),
        &SessionId::from("s1".to_owned()),
        close::SESSION_REVOKED,
    );
    assert_eq!(c.closed_with().await, close::SESSION_REVOKED);
}

/// Waits (bounded) until the hub counts no request at work.
async fn no_request_runs(hub: &Hub) -> bool {
    for _ in 0..200 {
        if hub.requests_running() == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn a_closed_connection_cuts_its_waiting_read_short() {
    let (hub, settings) = setup();
    let (accounts, mut started, permits) = Fake::gated();
    let mut c = connect_to(&hub, &settings, accounts);
    c.auth("good", None).await;
    c.request(2, "users.search", map(vec![("query", Value::from("al"))]));
    started.recv().await.expect("the search starts");
    assert_eq!(hub.requests_running(), 1);
    // The client goes away while the search waits (and would wait forever).
    c.send_raw(Message::Close(None));
    assert!(
        no_request_runs(&hub).await,
        "the search was cut short with its connection"
    );
    assert_eq!(
        permits.available_permits(),
        0,
        "without ever getting its permit"
    );
    assert_eq!(hub.connections(&alice()), 0);
}

#[tokio::test]
async fn a_closed_connection_lets_a_change_of_several_steps_finish() {
    let (hub, settings) = setup();
    let (accounts, mut started, permits) = Fake::gated();
    let bio = Arc::clone(&accounts.bio);
    let (tx, stream) = unbounded();
    let (sink, rx) = unbounded();
    let connection = tokio::spawn(run(
        sink,
        stream,
        hub.clone(),
        Arc::new(settings),
        accounts,
        None,
    ));
    let mut c = Client { tx, rx };
    c.auth("good", None).await;
    // profile.update writes, then pushes to every tab: it is not cut in between.
    c.request(2, "profile.update", map(vec![("bio", Value::from("kept"))]));
    started.recv().await.expect("the update starts");
    drop(c);
    tokio::time::timeout(Duration::from_secs(10), connection)
        .await
        .expect("the connection ends at once")
        .expect("cleanly");
    assert_eq!(hub.requests_running(), 1, "the update still runs");
    permits.add_permits(1);
    assert!(no_request_runs(&hub).await, "and then ends");
    assert_eq!(*bio.lock().expect("lock"), "kept", "having made its change");
}

#[test]
fn resume_window_and_cursors() {
    let settings = GatewaySettings {
        resume_window: 3,
        ..GatewaySettings::default()
    };
    let hub = Hub::new(&settings);
    let session = SessionId::from("s1".to_owned());
    let first = hub.register(&alice(), &session, None).expect("registers");
    let start = Cursor::parse(&first.cursor).expect("cursor");
    assert_eq!(start.seq, 0);
    hub.unregister(&alice(), first.id, Timestamp(9));
    // seq 1 online, seq 2 offline. Resume from 0: both.
    let again = hub
        .register(&alice(), &session, Some(&first.cursor))
        .expect("registers");
    assert_eq!(again.missed.as_ref().map(Vec::len), Some(2));
    hub.unregister(&alice(), again.id, Timestamp(10));
    // seq 3 online, 4 offline; window 3 keeps 2..=4, so a cursor at 0 cannot resume.
    let stale = hub
        .register(&alice(), &session, Some(&first.cursor))
        .expect("registers");
    assert!(stale.missed.is_none());
    let current = format!("{}.{}", start.boot, 5);
    let later = hub
        .register(&alice(), &session, Some(&current))
        .expect("registers");
    assert_eq!(later.missed.map(|m| m.len()), Some(0));
    let ahead = format!("{}.{}", start.boot, 99);
    assert!(
        hub.register(&alice(), &session, Some(&ahead))
            .expect("registers")
            .missed
            .is_none()
    );
}

#[test]
fn origins() {
    use axum::http::{HeaderMap, HeaderValue, header};
    let headers = |origin: Option<&'static str>| {
        let mut h = HeaderMap::new();
        h.insert(
            header::HOST,
            HeaderValue::from_static("chat.example.org:8443"),
        );
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_static(o));
        }
        h
    };
    let allowed = vec!["https://app.example.net".to_owned()];
    assert!(origin_allowed(&headers(None), &allowed));
    assert!(origin_allowed(
        &headers(Some("https://chat.example.org:8443")),
        &allowed
    ));
    assert!(origin_allowed(
        &headers(Some("http://chat.example.org:8443")),
        &allowed
    ));
    assert!(origin_allowed(
        &headers(Some("https://app.example.net")),
        &allowed
    ));
    assert!(!origin_allowed(
        &headers(Some("https://evil.example")),
        &allowed
    ));
    assert!(!origin_allowed(
        &headers(Some("https://chat.example.org")),
        &allowed
    ));
    assert!(!origin_allowed(&headers(Some("null")), &allowed));
}
