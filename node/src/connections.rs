//! The HTTP listener's accept loop: how many connections the node holds, for how long a
//! connection may take to send its request headers, and how connections end.
//!
//! axum's own `serve` has no header timeout and no connection caps, so a client that opens
//! connections and sends nothing (or a header a byte at a time) holds a socket and a file
//! descriptor for as long as it likes. Here:
//!
//! - a connection over the total cap or over the cap of its address is answered `503` at
//!   accept and closed, before any request is read;
//! - HTTP/1 is served by hyper with a header-read timeout, which runs from the moment the
//!   connection waits for a request (a fresh or an idle keep-alive connection) until the
//!   request's headers are complete, so silent and trickling connections are closed;
//! - a connection upgraded to the WebSocket gateway keeps its place under the caps until its
//!   socket closes, and when it closes the node first stops writing and reads what the client
//!   still sends (briefly), so the close frame it sent is not lost to a TCP reset.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

use crate::client_addr::{ClientAddr, ClientKey, TrustedProxies};

mod accept;
pub mod tls;

use accept::{AcceptFailure, RateLimitedWarning};

/// Default time a connection has to send complete request headers (also the longest a
/// keep-alive connection may sit idle between requests).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on open HTTP connections (WebSockets included).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default cap on open HTTP connections from one address (an IPv6 /64 counts as one).
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 256;
/// File descriptors kept out of the connection cap for the database, media files, QUIC and
/// the node's own needs.
pub const RESERVED_FDS: u64 = 256;

/// How long a closing WebSocket's remaining input is read and dropped, at most.
const LINGER: Duration = Duration::from_secs(2);
/// How many bytes a closing WebSocket's remaining input may be, at most, before the socket
/// is closed regardless.
const LINGER_BYTES: usize = 1024 * 1024;
/// Refused connections being answered at once; past it a refused socket is just closed.
const MAX_REFUSING: usize = 64;
/// The answer to a connection over a cap.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\n\
content-type: text/plain; charset=utf-8\r\nretry-after: 5\r\ncontent-length: 29\r\n\r\n\
too many connections; retry\r\n";

/// The connection limits (config: `http_header_timeout_secs`, `max_connections`,
/// `max_connections_per_ip`, `trusted_proxies`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// Time to send complete request headers, and the longest idle time between requests.
    pub header_timeout: Duration,
    /// Open connections in all.
    pub max_connections: usize,
    /// Open connections from one address.
    pub max_connections_per_ip: usize,
    /// Whether the per-address cap also counts loopback addresses. Off by default: a reverse
    /// proxy on the same host brings every client's connection from loopback, and capping it
    /// per address would cap the whole node (the total cap still applies).
    pub cap_loopback_per_ip: bool,
    /// Reverse proxies: not capped per address (each brings many clients), and believed
    /// about their clients' addresses in `X-Forwarded-For` (see [`crate::client_addr`]).
    pub trusted_proxies: TrustedProxies,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        ConnectionSettings {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            cap_loopback_per_ip: false,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// Set on a connection whose socket should linger when it closes (see [`Counted`]); handed
/// to request handlers as a request extension.
#[derive(Debug, Clone, Default)]
pub struct LingerOnClose(Arc<AtomicBool>);

impl LingerOnClose {
    /// From now on, closing the connection drains the client's input first.
    pub fn enable(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Open connections, in all and by address.
#[derive(Debug)]
struct Caps {
    /// The listener's name in the open-connections metric.
    listener: &'static str,
    max: usize,
    max_per_ip: usize,
    cap_loopback: bool,
    trusted: TrustedProxies,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_ip: HashMap<ClientKey, usize>,
    refusing: usize,
}

/// A connection's place under the caps, given back when dropped.
#[derive(Debug)]
struct Permit {
    caps: Arc<Caps>,
    ip: ClientKey,
}

impl Caps {
    fn open(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<Permit> {
        let ip = ClientKey::of(peer);
        let mut open = self.open();
        let from_ip = open.by_ip.get(&ip).copied().unwrap_or(0);
        // A proxy's clients are only known from their requests' headers, which are not read
        // yet: a trusted proxy is capped only by the total.
        let per_ip_applies =
            (self.cap_loopback || !ip.is_loopback()) && !self.trusted.contains(peer);
        if open.total >= self.max || (per_ip_applies && from_ip >= self.max_per_ip) {
            return None;
        }
        open.total += 1;
        open.by_ip.insert(ip, from_ip + 1);
        metrics::gauge!(crate::telemetry::names::HTTP_CONNECTIONS_OPEN, "listener" => self.listener)
            .increment(1.0);
        Some(Permit {
            caps: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        metrics::gauge!(crate::telemetry::names::HTTP_CONNECTIONS_OPEN, "listener" => self.caps.listener)
            .decrement(1.0);
        let mut open = self.caps.open();
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.by_ip.remove(&self.ip);
            }
        }
    }
}

/// A TCP connection counted under the caps.
#[derive(Debug)]
struct Counted {
    /// `None` only once dropped.
    stream: Option<TcpStream>,
    permit: Option<Permit>,
    linger: LingerOnClose,
}

impl Counted {
    fn stream(&mut self) -> io::Result<&mut TcpStream> {
        self.stream
            .as_mut()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(s) => Pin::new(s).poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().stream() {
            Ok(s) => Pin::new(s).poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(s) => Pin::new(s).poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(s) => Pin::new(s).poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if !self.linger.0.load(Ordering::Relaxed) {
            return;
        }
        let (Some(stream), Ok(runtime)) =
            (self.stream.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        // The connection keeps its place under the caps while it lingers.
        let permit = self.permit.take();
        runtime.spawn(async move {
            linger(stream).await;
            drop(permit);
        });
    }
}

/// Closes a socket gently: stops writing (the client sees the end of what was sent), then
/// reads and drops what the client still sends until it closes too, for at most [`LINGER`]
/// and [`LINGER_BYTES`]. Closing a socket with unread input makes the kernel send a reset,
/// which can destroy the last frames sent before they are read.
async fn linger(mut stream: TcpStream) {
    let _ = tokio::time::timeout(LINGER, async {
        let _ = stream.shutdown().await;
        let mut buf = [0u8; 8192];
        let mut read = 0;
        while read < LINGER_BYTES {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => read += n,
            }
        }
    })
    .await;
}

/// Serves `router` on `listener` under `settings` until `shutdown` resolves, then lets the
/// open requests finish (the caller bounds how long it waits for this future). With `tls`,
/// each connection is HTTPS, under the same caps and timeouts. `name` labels the listener's
/// connections in the metrics.
pub async fn serve(
    listener: TcpListener,
    name: &'static str,
    router: Router,
    settings: ConnectionSettings,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send,
) {
    let caps = Arc::new(Caps {
        listener: name,
        max: settings.max_connections,
        max_per_ip: settings.max_connections_per_ip,
        cap_loopback: settings.cap_loopback_per_ip,
        trusted: settings.trusted_proxies.clone(),
        open: Mutex::new(Open::default()),
    });
    // Every connection task holds a receiver: `stop` tells them to finish, and `closed()`
    // resolves when the last one has.
    let (stop, stopped) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut warning = RateLimitedWarning::new(accept::WARN_EVERY);
    loop {
        let accepted = tokio::select! {
            accepted = accept(&listener) => accepted,
            () = &mut shutdown => break,
        };
        let (tcp, addr) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors (accept fails at once until something closes), or a
                // connection reset before it was accepted: wait rather than spin.
                let failure = AcceptFailure::of(&e);
                match failure {
                    AcceptFailure::Resource => {
                        if let Some(held_back) = warning.allow(std::time::Instant::now()) {
                            tracing::warn!(error = %e, held_back,
                                "http: accept failed; waiting before accepting again");
                        }
                    }
                    AcceptFailure::Transient => {
                        tracing::debug!(error = %e, "http: accept failed");
                    }
                }
                tokio::select! {
                    () = tokio::time::sleep(failure.backoff()) => continue,
                    () = &mut shutdown => break,
                }
            }
        };
        let Some(permit) = caps.admit(addr.ip()) else {
            refuse(&caps, tcp);
            continue;
        };
        let linger = LingerOnClose::default();
        let io = Counted {
            stream: Some(tcp),
            permit: Some(permit),
            linger: linger.clone(),
        };
        let connection = Connection {
            addr,
            router: router.clone(),
            header_timeout: settings.header_timeout,
            trusted: settings.trusted_proxies.clone(),
            linger,
            stop: stopped.clone(),
        };
        match &tls {
            None => tokio::spawn(serve_connection(io, connection)),
            Some(acceptor) => tokio::spawn(serve_tls(acceptor.clone(), io, connection)),
        };
    }
    drop(listener);
    let _ = stop.send(true);
    drop(stopped);
    stop.closed().await;
}

/// Accepts the next connection, with `TCP_NODELAY` set: the node often writes small frames
/// back to back (a reply, then pushes), and with Nagle's algorithm the second would wait for
/// the client's delayed ACK (~40 ms on Linux). Cancel-safe, like `TcpListener::accept`.
async fn accept(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
    let (tcp, addr) = listener.accept().await?;
    if let Err(e) = tcp.set_nodelay(true) {
        // Only a socket already gone fails here; serving it fails soon after anyway.
        tracing::debug!(error = %e, "http: cannot set TCP_NODELAY");
    }
    Ok((tcp, addr))
}

/// Answers a connection over a cap with 503 and closes it, without waiting on the client.
fn refuse(caps: &Arc<Caps>, tcp: TcpStream) {
    {
        let mut open = caps.open();
        if open.refusing >= MAX_REFUSING {
            return;
        }
        open.refusing += 1;
    }
    let caps = Arc::clone(caps);
    tokio::spawn(async move {
        let _ = tcp.try_write(BUSY);
        linger_briefly(tcp).await;
        let mut open = caps.open();
        open.refusing = open.refusing.saturating_sub(1);
    });
}

/// [`linger`], shorter: the refused client gets a moment to read its 503.
async fn linger_briefly(stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_millis(500), linger(stream)).await;
}

/// What serving one accepted connection needs besides its socket.
struct Connection {
    addr: SocketAddr,
    router: Router,
    header_timeout: Duration,
    trusted: TrustedProxies,
    linger: LingerOnClose,
    stop: watch::Receiver<bool>,
}

/// Serves a connection over TLS. The handshake must end within the header timeout: a client
/// that connects and says nothing is closed as soon over HTTPS as over HTTP.
async fn serve_tls(acceptor: tokio_rustls::TlsAcceptor, io: Counted, connection: Connection) {
    match tokio::time::timeout(connection.header_timeout, acceptor.accept(io)).await {
        Ok(Ok(stream)) => serve_connection(stream, connection).await,
        Ok(Err(e)) => tracing::debug!(error = %e, "https: TLS handshake failed"),
        Err(_) => tracing::debug!("https: TLS handshake timed out"),
    }
}

async fn serve_connection<S>(io: S, connection: Connection)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Connection {
        addr,
        router,
        header_timeout,
        trusted,
        linger,
        mut stop,
    } = connection;
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        // What `into_make_service_with_connect_info` would give the handlers, and the
        // connection's linger switch for the gateway.
        let client = trusted.client_address(addr.ip(), request.headers());
        request.extensions_mut().insert(ConnectInfo(addr));
        request.extensions_mut().insert(ClientAddr(client));
        request.extensions_mut().insert(linger.clone());
        let router = router.clone();
        async move {
            let response = router.oneshot(request.map(axum::body::Body::new)).await;
            Ok::<_, Infallible>(match response {
                Ok(response) => response,
                Err(never) => match never {},
            })
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let connection = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "http: connection ended with an error");
                }
                break;
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Raises the soft limit on open files to the hard limit (a node holds a descriptor per
/// connection, and the usual soft limit of 1024 is far below what it serves), logs the
/// figure, and returns the soft limit now in force (`None` where it cannot be read).
pub fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let Some(soft) = limit.current else {
        tracing::info!("open-file limit: unlimited");
        return None;
    };
    if limit.maximum.is_some_and(|hard| hard <= soft) {
        tracing::info!(soft, "open-file limit");
        return Some(soft);
    }
    let raised = rustix::process::Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => {
            let now = getrlimit(Resource::Nofile).current;
            tracing::info!(from = soft, to = ?now, "open-file limit raised to the hard limit");
            now.or(Some(soft))
        }
        Err(e) => {
            tracing::warn!(soft, hard = ?limit.maximum, error = %e,
                "cannot raise the open-file limit");
            Some(soft)
        }
    }
}

/// The connection cap the open-file limit allows: `configured`, or fewer when the limit
/// would run out first (each connection is a descriptor; [`RESERVED_FDS`] stay for the rest).
pub fn connection_cap(configured: usize, open_files: Option<u64>) -> usize {
    match open_files {
        Some(limit) => {
            let room = usize::try_from(limit.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX);
            configured.min(room.max(1))
        }
        None => configured,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_count_by_address_and_in_all() {
        let caps = Arc::new(Caps {
            listener: "test",
            max: 3,
            max_per_ip: 2,
            cap_loopback: false,
            trusted: TrustedProxies::default(),
            open: Mutex::new(Open::default()),
        });
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.2".parse().expect("ip");
        let a1 = caps.admit(a).expect("first");
        let a2 = caps.admit(a).expect("second");
        assert!(caps.admit(a).is_none(), "a third from one address");
        let b1 = caps.admit(b).expect("another address");
        assert!(caps.admit(b).is_none(), "the total");
        drop(a1);
        let a3 = caps.admit(a).expect("a place was given back");
        drop((a2, a3, b1));
        assert_eq!(caps.open().total, 0);
        assert!(caps.open().by_ip.is_empty());
        // A local reverse proxy is not capped per address, only in all.
        let local: IpAddr = "127.0.0.1".parse().expect("ip");
        let held: Vec<Permit> = (0..3).filter_map(|_| caps.admit(local)).collect();
        assert_eq!(held.len(), 3);
        assert!(caps.admit(local).is_none(), "the total");
    }

    #[test]
    fn an_ipv6_slash_64_is_one_address_and_a_trusted_proxy_is_not_capped_per_address() {
        let proxy: IpAddr = "10.0.0.5".parse().expect("ip");
        let caps = Arc::new(Caps {
            listener: "test",
            max: 10,
            max_per_ip: 2,
            cap_loopback: false,
            trusted: TrustedProxies::new(vec!["10.0.0.0/24".parse().expect("cidr")]),
            open: Mutex::new(Open::default()),
        });
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let two: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        let _held = (caps.admit(one).expect("1"), caps.admit(two).expect("2"));
        assert!(
            caps.admit("2001:db8:1:2:cccc::3".parse().expect("ip"))
                .is_none(),
            "a third address of the same /64"
        );
        assert!(caps.admit("2001:db8:1:3::1".parse().expect("ip")).is_some());
        let from_proxy: Vec<Permit> = (0..5).filter_map(|_| caps.admit(proxy)).collect();
        assert_eq!(from_proxy.len(), 5);
    }

    #[tokio::test]
    async fn accepted_sockets_have_nodelay() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let client = TcpStream::connect(address).await.expect("connect");
        let (accepted, peer) = accept(&listener).await.expect("accept");
        assert_eq!(peer, client.local_addr().expect("client address"));
        assert!(accepted.nodelay().expect("TCP_NODELAY readable"));
    }

    #[test]
    fn the_cap_leaves_room_for_other_descriptors() {
        assert_eq!(connection_cap(10_000, Some(1024)), 768);
        assert_eq!(connection_cap(100, Some(1_048_576)), 100);
        assert_eq!(connection_cap(100, None), 100);
        assert_eq!(connection_cap(100, Some(10)), 1);
    }
}
