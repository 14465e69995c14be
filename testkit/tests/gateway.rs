//! The WebSocket gateway against a real node, with a real WebSocket client (spec/gateway.md).

use std::time::Duration;

use ciborium::Value;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use winichat_protocol::client::{ClientFrame, Request, ServerFrame};
use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::gateway::{self, Ready, close};
use winichat_testkit::node::{Backend, TestNode};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(10);

struct Account {
    token: String,
    /// The refresh token, from the `winichat_refresh` cookie.
    refresh: Option<String>,
}

async fn register(node: &TestNode, name: &str) -> Account {
    let response = reqwest::Client::new()
        .post(format!("{}/api/auth/register", node.http_url()))
        .json(&serde_json::json!({"username": name, "password": "correct horse battery"}))
        .send()
        .await
        .expect("register request");
    assert_eq!(response.status(), 201, "register {name}");
    let refresh = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("winichat_refresh="))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned());
    let body: serde_json::Value = response.json().await.expect("json");
    Account {
        token: body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned(),
        refresh,
    }
}

fn ws_url(node: &TestNode) -> String {
    format!("ws://{}/ws", node.http_addr())
}

async fn connect(node: &TestNode) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(ws_url(node))
        .await
        .expect("upgrade");
    ws
}

/// A connection whose socket receive buffer is tiny, so that a client that does not read
/// pushes back on the node after a few kilobytes rather than megabytes.
async fn connect_small_buffer(node: &TestNode) -> Ws {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let stream = socket.connect(node.http_addr()).await.expect("connect");
    let (ws, _) = tokio_tungstenite::client_async(ws_url(node), MaybeTlsStream::Plain(stream))
        .await
        .expect("upgrade");
    ws
}

async fn connect_with_origin(node: &TestNode, origin: &str) -> Result<Ws, WsError> {
    let mut request = ws_url(node).into_client_request().expect("request");
    request
        .headers_mut()
        .insert("Origin", HeaderValue::from_str(origin).expect("header"));
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(ws, _)| ws)
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect(),
    )
}

async fn request(ws: &mut Ws, id: u64, method: &str, params: Value) {
    let frame = ClientFrame::Request(Request {
        id,
        method: method.to_owned(),
        params,
    });
    ws.send(Message::Binary(frame.encode().expect("encode").into()))
        .await
        .expect("send");
}

/// The next CBOR frame, skipping pings.
async fn frame(ws: &mut Ws) -> ServerFrame {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("read");
        match message {
            Message::Binary(b) => return ServerFrame::decode(&b).expect("server frame"),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a frame, got {other:?}"),
        }
    }
}

/// The reply to `id`, skipping pushes.
async fn reply(ws: &mut Ws, id: u64) -> Result<Value, ErrorCode> {
    loop {
        match frame(ws).await {
            ServerFrame::Ok { id: got, result } if got == id => return Ok(result),
            ServerFrame::Err { id: got, error } if got == id => return Err(error.code),
            ServerFrame::Push(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The close code the node sends, skipping anything before it.
async fn close_code(ws: &mut Ws) -> u16 {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("closed in time");
        match message {
            Some(Ok(Message::Close(Some(CloseFrame { code, .. })))) => return code.into(),
            Some(Ok(Message::Close(None))) | None => panic!("closed without a code"),
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("closed without a close frame: {e}"),
        }
    }
}

async fn auth(ws: &mut Ws, token: &str, cursor: Option<&str>) -> Ready {
    let mut params = vec![("token", Value::from(token))];
    if let Some(c) = cursor {
        params.push(("cursor", Value::from(c)));
    }
    request(ws, 1, "auth", map(params)).await;
    match frame(ws).await {
        ServerFrame::Ok { id: 1, result } => gateway::decode_params(&result).expect("ready"),
        other => panic!("expected ready, got {other:?}"),
    }
}

/// The next push (skipping nothing else: a reply here is a failure).
async fn push(ws: &mut Ws) -> winichat_protocol::client::Push {
    match frame(ws).await {
        ServerFrame::Push(p) => p,
        other => panic!("expected a push, got {other:?}"),
    }
}

#[tokio::test]
async fn an_upgrade_without_authentication_is_closed_4001() {
    let node = TestNode::start_with(Backend::Sqlite, |c| {
        c.gateway.auth_timeout = Duration::from_millis(300);
    })
    .await;
    let mut ws = connect(&node).await;
    assert_eq!(close_code(&mut ws).await, close::UNAUTHENTICATED);

    let mut ws = connect(&node).await;
    request(
        &mut ws,
        5,
        "auth",
        map(vec![("token", Value::from("not.a.jwt"))]),
    )
    .await;
    assert_eq!(reply(&mut ws, 5).await, Err(ErrorCode::Unauthenticated));
    assert_eq!(close_code(&mut ws).await, close::UNAUTHENTICATED);
    node.shutdown().await;
}

#[tokio::test]
async fn origins_are_checked_before_the_upgrade() {
    let node = TestNode::start(Backend::Sqlite).await;
    match connect_with_origin(&node, "https://evil.example").await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
    let own = format!("http://{}", node.http_addr());
    let mut ws = connect_with_origin(&node, &own)
        .await
        .expect("same origin accepted");
    let alice = register(&node, "alice").await;
    let ready = auth(&mut ws, &alice.token, None).await;
    assert_eq!(ready.user.id.to_string(), format!("@alice:{}", node.name()));
    node.shutdown().await;
}

#[tokio::test]
async fn oversize_and_text_frames_close() {
    let node = TestNode::start(Backend::Sqlite).await;
    let alice = register(&node, "alice").await;
    let mut ws = connect(&node).await;
    auth(&mut ws, &alice.token, None).await;
    ws.send(Message::Binary(vec![0u8; 70 * 1024].into()))
        .await
        .expect("send");
    assert_eq!(close_code(&mut ws).await, close::TOO_BIG);

    let mut ws = connect(&node).await;
    ws.send(Message::Text("hello".into())).await.expect("send");
    assert_eq!(close_code(&mut ws).await, close::UNSUPPORTED_DATA);
    node.shutdown().await;
}

#[tokio::test]
async fn every_tab_gets_every_push_and_presence_follows_connections() {
    let node = TestNode::start(Backend::Sqlite).await;
    let alice = register(&node, "alice").await;
    let mut first = connect(&node).await;
    let ready = auth(&mut first, &alice.token, None).await;
    assert!(!ready.resumed);
    let online = push(&mut first).await;
    assert_eq!(online.event, "presence");
    assert_eq!(
        gateway::decode_params::<gateway::PresencePush>(&online.data)
            .expect("presence")
            .status,
        gateway::Status::Online
    );
    let mut tabs = Vec::new();
    for _ in 0..2 {
        let mut ws = connect(&node).await;
        auth(&mut ws, &alice.token, None).await;
        tabs.push(ws);
    }
    request(
        &mut first,
        2,
        "profile.update",
        map(vec![("bio", Value::from("tabs"))]),
    )
    .await;
    assert!(reply(&mut first, 2).await.is_ok());
    for ws in tabs.iter_mut().chain(std::iter::once(&mut first)) {
        let p = push(ws).await;
        assert_eq!(p.event, "profile");
        let data: gateway::ProfilePush = gateway::decode_params(&p.data).expect("profile");
        assert_eq!(data.bio, "tabs");
    }

    // All close: offline. A reconnect from the last cursor sees it, then online again.
    let cursor = {
        request(&mut first, 3, "ping", map(vec![])).await;
        assert!(reply(&mut first, 3).await.is_ok());
        ready.cursor.clone()
    };
    for mut ws in tabs.into_iter().chain(std::iter::once(first)) {
        ws.close(None).await.expect("close");
        while let Some(Ok(_)) = ws.next().await {}
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = connect(&node).await;
    let ready = auth(&mut again, &alice.token, Some(&cursor)).await;
    assert!(ready.resumed);
    let events: Vec<(String, Option<gateway::Status>)> = {
        let mut out = Vec::new();
        for _ in 0..4 {
            let p = push(&mut again).await;
            let status = gateway::decode_params::<gateway::PresencePush>(&p.data)
                .ok()
                .map(|p| p.status);
            out.push((p.event, status));
        }
        out
    };
    assert_eq!(
        events,
        vec![
            ("presence".to_owned(), Some(gateway::Status::Online)),
            ("profile".to_owned(), None),
            ("presence".to_owned(), Some(gateway::Status::Offline)),
            ("presence".to_owned(), Some(gateway::Status::Online)),
        ]
    );
    node.shutdown().await;
}

#[tokio::test]
async fn resume_gets_exactly_the_missed_pushes() {
    let node = TestNode::start(Backend::Sqlite).await;
    let alice = register(&node, "alice").await;
    let mut stays = connect(&node).await;
    auth(&mut stays, &alice.token, None).await;
    let mut leaves = connect(&node).await;
    auth(&mut leaves, &alice.token, None).await;
    request(
        &mut stays,
        2,
        "profile.update",
        map(vec![("bio", Value::from("1"))]),
    )
    .await;
    assert!(reply(&mut stays, 2).await.is_ok());
    // `leaves` reads its pushes up to the first profile push, and keeps that cursor.
    let cursor = loop {
        let p = push(&mut leaves).await;
        if p.event == "profile" {
            break p.cursor.expect("cursor");
        }
    };
    leaves.close(None).await.expect("close");
    for bio in ["2", "3"] {
        request(
            &mut stays,
            3,
            "profile.update",
            map(vec![("bio", Value::from(bio))]),
        )
        .await;
        assert!(reply(&mut stays, 3).await.is_ok());
    }
    let mut back = connect(&node).await;
    let ready = auth(&mut back, &alice.token, Some(&cursor)).await;
    assert!(ready.resumed);
    for bio in ["2", "3"] {
        let p = push(&mut back).await;
        let data: gateway::ProfilePush = gateway::decode_params(&p.data).expect("profile");
        assert_eq!(data.bio, bio);
    }
    request(&mut back, 4, "ping", map(vec![])).await;
    assert!(
        matches!(frame(&mut back).await, ServerFrame::Ok { id: 4, .. }),
        "exactly the missed pushes, nothing more"
    );

    let mut stale = connect(&node).await;
    assert!(
        !auth(&mut stale, &alice.token, Some("unknown-boot.3"))
            .await
            .resumed
    );
    node.shutdown().await;
}

#[tokio::test]
async fn a_client_that_never_reads_is_disconnected() {
    // A smaller queue than the default 256 keeps the test short; the mechanism is the same.
    let node = TestNode::start_with(Backend::Sqlite, |c| {
        c.gateway.rate_burst = 1_000_000;
        c.gateway.rate_per_sec = 1_000_000;
        c.gateway.send_queue = 32;
    })
    .await;
    let alice = register(&node, "alice").await;
    let mut writer = connect(&node).await;
    auth(&mut writer, &alice.token, None).await;
    request(
        &mut writer,
        2,
        "profile.update",
        map(vec![("bio", Value::from("😀".repeat(500)))]),
    )
    .await;
    assert!(reply(&mut writer, 2).await.is_ok());

    let mut sleeper = connect_small_buffer(&node).await;
    auth(&mut sleeper, &alice.token, None).await;
    let (mut sleeper_out, mut sleeper_in) = sleeper.split();
    // The sleeper asks for its ~2 KB profile again and again and never reads the replies, so
    // the socket between it and the node fills up (kernel buffers are megabytes on loopback)…
    let asking = tokio::spawn(async move {
        for id in 0..4_000u64 {
            let frame = ClientFrame::Request(Request {
                id: 100 + id,
                method: "profile.get".to_owned(),
                params: map(vec![]),
            });
            let message = Message::Binary(frame.encode().expect("encode").into());
            match tokio::time::timeout(Duration::from_secs(2), sleeper_out.send(message)).await {
                Ok(Ok(())) => {}
                _ => break,
            }
        }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    // …then pushes for it pile up in its queue until the node gives up on it.
    let updates = 100u64;
    for id in 0..updates {
        request(
            &mut writer,
            10 + id,
            "profile.update",
            map(vec![("bio", Value::from(format!("{id}")))]),
        )
        .await;
        assert!(reply(&mut writer, 10 + id).await.is_ok());
    }
    // The sleeper now reads what was buffered, then the end: far from every push.
    let mut pushes = 0u64;
    let ended = loop {
        match tokio::time::timeout(WAIT, sleeper_in.next()).await {
            Err(_) => break false,
            Ok(None | Some(Err(_))) => break true,
            Ok(Some(Ok(Message::Close(frame)))) => {
                if let Some(f) = frame {
                    assert_eq!(u16::from(f.code), close::TOO_SLOW);
                }
                break true;
            }
            Ok(Some(Ok(Message::Binary(b)))) => {
                if matches!(ServerFrame::decode(&b), Ok(ServerFrame::Push(_))) {
                    pushes += 1;
                }
            }
            Ok(Some(Ok(_))) => {}
        }
    };
    asking.abort();
    assert!(ended, "the sleeper was disconnected");
    assert!(
        pushes < updates,
        "received {pushes} of {updates} pushes: the node stopped queueing"
    );
    node.shutdown().await;
}

#[tokio::test]
async fn logout_closes_the_sessions_sockets_with_4003() {
    let node = TestNode::start(Backend::Sqlite).await;
    let alice = register(&node, "alice").await;
    let mut ws = connect(&node).await;
    auth(&mut ws, &alice.token, None).await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/auth/logout", node.http_url()))
        .bearer_auth(&alice.token)
        .send()
        .await
        .expect("logout");
    assert_eq!(response.status(), 204);
    let code = tokio::time::timeout(Duration::from_secs(1), close_code(&mut ws))
        .await
        .expect("closed within a second");
    assert_eq!(code, close::SESSION_REVOKED);
    node.shutdown().await;
}

#[tokio::test]
async fn too_many_connections_close_4004() {
    let node = TestNode::start(Backend::Sqlite).await;
    let alice = register(&node, "alice").await;
    let mut open = Vec::new();
    for _ in 0..gateway::MAX_CONNECTIONS_PER_USER {
        let mut ws = connect(&node).await;
        auth(&mut ws, &alice.token, None).await;
        open.push(ws);
    }
    let mut one_more = connect(&node).await;
    request(
        &mut one_more,
        1,
        "auth",
        map(vec![("token", Value::from(alice.token.as_str()))]),
    )
    .await;
    assert_eq!(close_code(&mut one_more).await, close::TOO_MANY_CONNECTIONS);
    node.shutdown().await;
}

#[tokio::test]
async fn requests_over_the_rate_are_refused_then_closed_4005() {
    let node = TestNode::start(Backend::Sqlite).await;
    let alice = register(&node, "alice").await;
    let mut ws = connect(&node).await;
    auth(&mut ws, &alice.token, None).await;
    for id in 0..120 {
        request(&mut ws, 100 + id, "ping", map(vec![])).await;
    }
    let mut limited = 0;
    let code = loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("read");
        match message {
            Message::Binary(b) => {
                if let ServerFrame::Err { error, .. } = ServerFrame::decode(&b).expect("frame") {
                    assert_eq!(error.code, ErrorCode::RateLimited);
                    limited += 1;
                }
            }
            Message::Close(Some(f)) => break u16::from(f.code),
            _ => {}
        }
    };
    assert!(limited > 0);
    assert_eq!(code, close::RATE_LIMITED);
    node.shutdown().await;
}

#[tokio::test]
async fn node_shutdown_closes_1001() {
    let node = TestNode::start(Backend::Sqlite).await;
    let alice = register(&node, "alice").await;
    let mut ws = connect(&node).await;
    auth(&mut ws, &alice.token, None).await;
    let stopping = tokio::spawn(node.shutdown());
    assert_eq!(close_code(&mut ws).await, close::GOING_AWAY);
    stopping.await.expect("stopped");
}

#[tokio::test]
async fn auth_refresh_extends_the_connection_and_expiry_closes_4002() {
    let node = TestNode::start_with(Backend::Sqlite, |c| {
        c.auth.access_token_ttl_secs = 3;
    })
    .await;
    let alice = register(&node, "alice").await;
    let mut refreshed = connect(&node).await;
    let ready = auth(&mut refreshed, &alice.token, None).await;
    let mut expires = connect(&node).await;
    auth(&mut expires, &alice.token, None).await;

    // Token expiry has a one-second grain (a 3 s token lives 2 to 3 s): wait so that the new
    // token outlives the first.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/auth/refresh", node.http_url()))
        .json(&serde_json::json!({"refresh_token": alice.refresh.as_deref().expect("cookie")}))
        .send()
        .await
        .expect("refresh");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    let fresh = body["access_token"].as_str().expect("access_token");
    request(
        &mut refreshed,
        2,
        "auth.refresh",
        map(vec![("token", Value::from(fresh))]),
    )
    .await;
    let result: gateway::RefreshResult =
        gateway::decode_params(&reply(&mut refreshed, 2).await.expect("refreshed"))
            .expect("result");
    assert!(result.expires_at > ready.expires_at);

    assert_eq!(close_code(&mut expires).await, close::TOKEN_EXPIRED);
    request(&mut refreshed, 3, "ping", map(vec![])).await;
    assert!(
        reply(&mut refreshed, 3).await.is_ok(),
        "the refreshed one lives on"
    );
    node.shutdown().await;
}

/// protocol.md §3.4: a frame over a limit of §3.2 — nesting depth included — is answered
/// `too_large`, not `bad_request`; the connection stays open.
#[tokio::test]
async fn a_frame_nested_too_deep_is_too_large() {
    let node = TestNode::start(Backend::Sqlite).await;
    let alice = register(&node, "alice").await;
    let mut ws = connect(&node).await;
    auth(&mut ws, &alice.token, None).await;
    // params: {"a": [[[…]]]} nested past the 16 levels a client frame may have.
    let mut deep = Value::Array(Vec::new());
    for _ in 0..20 {
        deep = Value::Array(vec![deep]);
    }
    // Encoded without the limit check a well-behaved client would apply.
    let frame_bytes = winichat_protocol::codec::encode(&ClientFrame::Request(Request {
        id: 7,
        method: "ping".to_owned(),
        params: map(vec![("a", deep)]),
    }))
    .expect("encodes");
    ws.send(Message::Binary(frame_bytes.into()))
        .await
        .expect("send");
    let code = loop {
        match frame(&mut ws).await {
            ServerFrame::Err { error, .. } => break error.code,
            ServerFrame::Push(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(code, ErrorCode::TooLarge);
    request(&mut ws, 8, "ping", map(vec![])).await;
    assert!(reply(&mut ws, 8).await.is_ok(), "the connection stays open");
    node.shutdown().await;
}
