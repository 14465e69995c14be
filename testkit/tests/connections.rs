//! Connection-level limits of the HTTP listener: slow and silent connections are closed
//! within the header timeout, connections over the caps (in all, per address) are answered
//! 503 at once, the open-file limit is raised at start, and a WebSocket message over 64 KiB
//! gets a 1009 close the client can read (not a reset).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;
use winichat_protocol::client::{ClientFrame, Request, ServerFrame};
use winichat_protocol::gateway::{self, AuthParams, close};
use winichat_testkit::client::Account;
use winichat_testkit::node::{Backend, TestNode};

/// The header timeout the tests configure.
const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
/// How long past the timeout a close may come (scheduling on a busy machine).
const SLACK: Duration = Duration::from_secs(3);

async fn node(configure: impl FnOnce(&mut winichat_node::config::Config)) -> TestNode {
    TestNode::start_with(Backend::Sqlite, configure).await
}

/// Reads until the node closes the connection; the bytes read (a reset also ends it).
async fn read_until_closed(tcp: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// A connection to `to` from the loopback address `from` (127.0.0.x are all local).
async fn connect_from(from: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from((from, 0)))
        .expect("bind a loopback address");
    socket.connect(to).await.expect("connect")
}

/// Sends `GET /healthz` and reads the status line.
async fn healthz(tcp: &mut TcpStream) -> String {
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nhost: node\r\n\r\n")
        .await
        .expect("write");
    let mut buf = vec![0u8; 1024];
    let n = timeout(Duration::from_secs(10), tcp.read(&mut buf))
        .await
        .expect("an answer in time")
        .expect("read");
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_idle_connections_are_closed_within_the_header_timeout() {
    let node = node(|c| c.connections.header_timeout = HEADER_TIMEOUT).await;
    // A connection that never sends a byte.
    let mut silent = TcpStream::connect(node.http_addr()).await.expect("connect");
    // A keep-alive connection that goes quiet after one request.
    let mut idle = TcpStream::connect(node.http_addr()).await.expect("connect");
    assert!(healthz(&mut idle).await.contains("200"));
    let started = Instant::now();
    let (silent_closed, idle_closed) = tokio::join!(
        timeout(HEADER_TIMEOUT + SLACK, read_until_closed(&mut silent)),
        timeout(HEADER_TIMEOUT + SLACK, read_until_closed(&mut idle)),
    );
    assert!(silent_closed.is_ok(), "the silent connection is still open");
    assert!(idle_closed.is_ok(), "the idle connection is still open");
    assert!(
        started.elapsed() >= HEADER_TIMEOUT / 2,
        "closed before the timeout ({:?})",
        started.elapsed()
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_of_partial_headers_is_closed_within_the_header_timeout() {
    let node = node(|c| c.connections.header_timeout = HEADER_TIMEOUT).await;
    let tcp = TcpStream::connect(node.http_addr()).await.expect("connect");
    let (mut read, mut write) = tcp.into_split();
    // One header line every 200 ms: always sending, never finishing.
    let trickle = tokio::spawn(async move {
        let _ = write
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: node\r\n")
            .await;
        for i in 0..100 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let line = format!("x-slow-{i}: 1\r\n");
            if write.write_all(line.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    let started = Instant::now();
    let closed = timeout(HEADER_TIMEOUT + SLACK, async {
        let mut buf = [0u8; 1024];
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "a trickle of headers kept the connection open for {:?}",
        started.elapsed()
    );
    trickle.abort();
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_of_an_address_get_503_at_once() {
    let node = node(|c| {
        c.connections.header_timeout = Duration::from_secs(60);
        c.connections.max_connections_per_ip = 3;
        c.connections.cap_loopback_per_ip = true;
    })
    .await;
    let addr = node.http_addr();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from([127, 0, 0, 1], addr).await);
    }
    // The three are open (one answers a request).
    assert!(healthz(&mut held[0]).await.contains("200"));
    let mut fourth = connect_from([127, 0, 0, 1], addr).await;
    let answer = timeout(Duration::from_secs(5), read_until_closed(&mut fourth))
        .await
        .expect("the refusal comes at once");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    // Another address has its own count.
    let mut other = connect_from([127, 0, 0, 2], addr).await;
    assert!(healthz(&mut other).await.contains("200"));
    // A place given back is taken again.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = connect_from([127, 0, 0, 1], addr).await;
        if healthz_or_closed(&mut again).await {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed connection's place never freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_total_cap_get_503_at_once() {
    let node = node(|c| {
        c.connections.header_timeout = Duration::from_secs(60);
        c.connections.max_connections = 2;
    })
    .await;
    let addr = node.http_addr();
    let mut first = connect_from([127, 0, 0, 1], addr).await;
    let _second = connect_from([127, 0, 0, 2], addr).await;
    assert!(healthz(&mut first).await.contains("200"));
    let mut third = connect_from([127, 0, 0, 3], addr).await;
    let answer = timeout(Duration::from_secs(5), read_until_closed(&mut third))
        .await
        .expect("the refusal comes at once");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    node.shutdown().await;
}

/// True when `GET /healthz` is answered 200 (false when refused).
async fn healthz_or_closed(tcp: &mut TcpStream) -> bool {
    let _ = tcp
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: node\r\n\r\n")
        .await;
    let mut buf = vec![0u8; 1024];
    match timeout(Duration::from_secs(5), tcp.read(&mut buf)).await {
        Ok(Ok(n)) => String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_file_limit_is_raised_to_the_hard_limit_at_start() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let Some(hard) = limit.maximum else {
        // Unlimited: nothing to raise to. The node must still start.
        let node = node(|_| {}).await;
        node.shutdown().await;
        return;
    };
    // Start from the usual low soft limit (this test runs in its own process).
    let low = hard.min(1024);
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(low),
            maximum: Some(hard),
        },
    )
    .expect("lower the soft limit");
    let node = node(|_| {}).await;
    assert_eq!(getrlimit(Resource::Nofile).current, Some(hard));
    node.shutdown().await;
}

/// A socket that writes at most [`CHUNK`] bytes at a time, [`PAUSE`] apart: a client on a
/// slow link, still sending its message when the node decides to close.
struct SlowWriter {
    tcp: TcpStream,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

const CHUNK: usize = 4096;
const PAUSE: Duration = Duration::from_millis(20);

impl AsyncRead for SlowWriter {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for SlowWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if let Some(pause) = self.pause.as_mut() {
            ready!(pause.as_mut().poll(cx));
            self.pause = None;
        }
        let n = buf.len().min(CHUNK);
        let written = ready!(Pin::new(&mut self.tcp).poll_write(cx, &buf[..n]));
        self.pause = Some(Box::pin(tokio::time::sleep(PAUSE)));
        Poll::Ready(written)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_64_kib_gets_a_1009_close_not_a_reset() {
    let node = node(|_| {}).await;
    let account = Account::register(&node, "big").await;
    let tcp = TcpStream::connect(node.http_addr()).await.expect("connect");
    let slow = SlowWriter { tcp, pause: None };
    let (mut ws, _) =
        tokio_tungstenite::client_async(format!("ws://{}/ws", node.http_addr()), slow)
            .await
            .expect("upgrade");
    let auth = ClientFrame::Request(Request {
        id: 1,
        method: gateway::method::AUTH.to_owned(),
        params: gateway::to_value(&AuthParams {
            token: account.token.clone(),
            cursor: None,
        })
        .expect("params"),
    })
    .encode()
    .expect("encode");
    ws.send(Message::Binary(auth.into())).await.expect("send");
    loop {
        match timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => {
                if let Ok(ServerFrame::Ok { id: 1, .. }) = ServerFrame::decode(&b) {
                    break;
                }
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("no ready: {other:?}"),
        }
    }
    // The node refuses the message at its header and closes while the rest is still coming:
    // the client must be able to finish sending and then read the close.
    ws.send(Message::Binary(vec![0u8; 70 * 1024].into()))
        .await
        .expect("the message is sent whole, not cut by a reset");
    let code = loop {
        match timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Close(Some(frame))))) => break u16::from(frame.code),
            Ok(Some(Ok(_))) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(code, close::TOO_BIG);
    node.shutdown().await;
}
