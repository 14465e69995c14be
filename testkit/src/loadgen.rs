//! Pieces of an open-loop load generator over loopback WebSockets: client sockets bound to
//! spread 127.0.0.x source addresses, the gateway's `auth` and request/reply over a bare
//! socket (no buffering client in between), the process's CPU time, and percentiles.
//!
//! The benchmarks (`examples/fanout`) build on these; [`crate::client::Client`] remains the
//! client for tests, which buffers every frame and is too heavy to receive at full rate.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ciborium::Value;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use winichat_protocol::client::{ClientFrame, Push, Request, ServerFrame};
use winichat_protocol::gateway;

/// A client WebSocket over a plain loopback TCP socket.
pub type Ws = WebSocketStream<TcpStream>;

/// An error of the load generator (set-up failures; the measured traffic counts its own).
pub type LoadError = Box<dyn std::error::Error + Send + Sync>;

/// The longest a connect, an `auth` or a set-up request may take.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Loopback source addresses for client sockets, handed out in turn, so that the server sees
/// clients from many addresses (as it would in the field, and so that per-address limits and
/// the ephemeral ports of one address do not shape the figures).
#[derive(Debug)]
pub struct SourceAddrs {
    addrs: Vec<Ipv4Addr>,
    next: AtomicUsize,
}

impl SourceAddrs {
    /// 127.0.0.1 up to 127.0.0.`count`, keeping those this machine lets a socket bind (Linux
    /// routes all of 127.0.0.0/8 to loopback; other systems may have only 127.0.0.1).
    pub fn probe(count: u8) -> SourceAddrs {
        let addrs = (1..=count.max(1))
            .map(|last| Ipv4Addr::new(127, 0, 0, last))
            .filter(|&ip| std::net::TcpListener::bind(SocketAddr::from((ip, 0))).is_ok())
            .collect::<Vec<_>>();
        let addrs = if addrs.is_empty() {
            vec![Ipv4Addr::LOCALHOST]
        } else {
            addrs
        };
        SourceAddrs {
            addrs,
            next: AtomicUsize::new(0),
        }
    }

    /// How many addresses there are.
    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    /// Whether there are none (never: at least 127.0.0.1).
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }

    /// The next address in turn.
    pub fn next(&self) -> Ipv4Addr {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        self.addrs[i % self.addrs.len()]
    }
}

/// Opens a WebSocket to `url` (served at `server`) from a socket bound to `source`, with
/// `TCP_NODELAY` set.
pub async fn connect(url: &str, server: SocketAddr, source: Ipv4Addr) -> Result<Ws, LoadError> {
    let open = async {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
        let tcp = socket.connect(server).await?;
        tcp.set_nodelay(true)?;
        let (ws, _) =
            tokio_tungstenite::client_async_with_config(url, tcp, Some(client_config())).await?;
        Ok::<Ws, LoadError>(ws)
    };
    tokio::time::timeout(SETUP_TIMEOUT, open)
        .await
        .map_err(|_| format!("connecting to {url} from {source} took over {SETUP_TIMEOUT:?}"))?
}

/// The generator's WebSocket settings: a 4 KiB read buffer instead of the default 128 KiB.
/// The library zeroes the free part of its buffer before every read, which at 128 KiB was a
/// twentieth of the generator's CPU; its frames are small, and larger ones still arrive whole.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4 << 10)
}

/// Sends request `id` (`method`, `params`) and waits for its reply; pushes meanwhile are
/// handed to `on_push`. For set-up, not for the measured traffic.
pub async fn call(
    ws: &mut Ws,
    id: u64,
    method: &str,
    params: Value,
    mut on_push: impl FnMut(Push),
) -> Result<Value, LoadError> {
    let frame = ClientFrame::Request(Request {
        id,
        method: method.to_owned(),
        params,
    })
    .encode()?;
    ws.send(Message::Binary(frame.into())).await?;
    let deadline = Instant::now() + SETUP_TIMEOUT;
    loop {
        let message = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| format!("no reply to {method} within {SETUP_TIMEOUT:?}"))?;
        let bytes = match message {
            Some(Ok(Message::Binary(bytes))) => bytes,
            Some(Ok(Message::Close(close))) => {
                return Err(format!("closed while waiting for {method}: {close:?}").into());
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => return Err(format!("closed while waiting for {method}").into()),
        };
        match ServerFrame::decode(&bytes)? {
            ServerFrame::Ok { id: got, result } if got == id => return Ok(result),
            ServerFrame::Err { id: got, error } if got == id => {
                return Err(format!("{method}: {error:?}").into());
            }
            ServerFrame::Push(push) => on_push(push),
            _ => {}
        }
    }
}

/// Authenticates a fresh gateway connection with `token` (request id 1).
pub async fn authenticate(ws: &mut Ws, token: &str) -> Result<(), LoadError> {
    let params = gateway::to_value(&gateway::AuthParams {
        token: token.to_owned(),
        cursor: None,
    })?;
    call(ws, 1, gateway::method::AUTH, params, |_| {}).await?;
    Ok(())
}

/// CPU time (user + system) this process has used so far, from `/proc/self/stat` (Linux; in
/// clock ticks of 10 ms, the `USER_HZ` of every mainstream Linux); `None` elsewhere.
pub fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    Some(stat_cpu(&stat)?.1)
}

/// The CPU time this process has used so far, split between its threads whose name starts
/// with `prefix` (with the main thread, which drives the generator's top-level future) and
/// all the others: `(generator, rest)`. From `/proc/self/task/*/stat`; `None` where that is
/// missing. Threads that ended are not counted, so name the generator's threads (a tokio
/// runtime's `thread_name`) and keep them alive across a measurement.
pub fn cpu_split(prefix: &str) -> Option<(Duration, Duration)> {
    let main_tid = std::process::id().to_string();
    let mut generator = Duration::ZERO;
    let mut rest = Duration::ZERO;
    for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue; // the thread ended meanwhile
        };
        let Some((name, cpu)) = stat_cpu(&stat) else {
            continue;
        };
        if name.starts_with(prefix) || entry.file_name().to_str() == Some(main_tid.as_str()) {
            generator += cpu;
        } else {
            rest += cpu;
        }
    }
    Some((generator, rest))
}

/// The name and utime + stime of a `stat` line of `/proc`.
fn stat_cpu(stat: &str) -> Option<(&str, Duration)> {
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?;
    let mut fields = stat.get(close + 1..)?.split_whitespace();
    // After the name: state is field 3, utime field 14, stime field 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((name, Duration::from_millis((utime + stime) * 10)))
}

/// The `q`-quantile (0..=1) of `sorted`, by nearest rank; 0 when empty.
pub fn percentile<T: Copy + Default>(sorted: &[T], q: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
