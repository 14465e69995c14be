//! Memory and set-up cost of idle, authenticated WebSocket gateway connections.
//!
//! Prints figures (it is not a test). The node runs as a **separate process** (the `winichat`
//! binary), so that its resident memory is measured alone; this program is only the client.
//!
//! ```text
//! cargo build --release -p winichat-node --bin winichat
//! ulimit -n 65536   # if `ulimit -n` is below N + 256
//! cargo run --release -p winichat-testkit --example idle_connections -- [N]
//! ```
//!
//! - `N`: how many connections to open (default 2000, at most 20000).
//! - `WINICHAT_BIN`: the node binary; by default `$CARGO_TARGET_DIR/release/winichat`, else
//!   `target/release/winichat` of the workspace.
//!
//! Steps: start `winichat serve` on free 127.0.0.1 ports with a temporary data directory and
//! wait for `/healthz`; register `ceil(N / 10)` users (a user may hold at most 10 connections);
//! read the node's `VmRSS` (before); open `N` connections, each sending `auth` and waiting for
//! its `ok`; let them sit idle; read `VmRSS` again (after). Everything stays on 127.0.0.1, every
//! wait is bounded (the whole run at most 120 s) and the node is stopped with SIGTERM at the end.
//!
//! Both processes need about `N` file descriptors (the node inherits this process's limit): the
//! program checks the soft `RLIMIT_NOFILE` at start and exits with a message when it is too low.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ciborium::Value;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use winichat_protocol::client::{ClientFrame, Request, ServerFrame};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const DEFAULT_N: usize = 2000;
const MAX_N: usize = 20_000;
/// A user may hold at most 10 gateway connections (spec/gateway.md §2).
const PER_USER: usize = 10;
/// File descriptors beyond `N` each process needs (database, listeners, runtime, HTTP client).
const FD_MARGIN: u64 = 256;
const OVERALL: Duration = Duration::from_secs(120);
const HEALTH_WAIT: Duration = Duration::from_secs(30);
const STEP_WAIT: Duration = Duration::from_secs(15);
const IDLE: Duration = Duration::from_secs(3);
/// Connections being opened at once.
const CONNECT_CONCURRENCY: usize = 64;
/// Registrations at once (each is an Argon2id hash of 19 MiB on the node).
const REGISTER_CONCURRENCY: usize = 2;
const PASSWORD: &str = "correct horse battery staple";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idle_connections: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BoxError> {
    // reqwest is built without a default crypto provider; "already installed" is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let n = parse_n()?;
    let soft = soft_nofile_limit()?;
    if soft < n as u64 + FD_MARGIN {
        return Err(format!(
            "the open-files soft limit is {soft}, too low for N = {n} (needs at least {}); \
             run `ulimit -n 65536` first, or pass a smaller N (at most {})",
            n as u64 + FD_MARGIN,
            soft.saturating_sub(FD_MARGIN)
        )
        .into());
    }
    let bin = node_binary()?;
    let data_dir = tempfile::tempdir()?;
    let http = free_tcp_port()?;
    let quic = free_udp_port()?;
    let log_path = data_dir.path().join("node.log");
    let mut node = NodeProcess::spawn(&bin, data_dir.path(), http, quic, &log_path)?;
    let outcome = tokio::time::timeout(OVERALL, measure(n, http, node.pid())).await;
    let stopped = node.stop();
    let result = match outcome {
        Ok(result) => result,
        Err(_) => Err(format!("gave up after {} s", OVERALL.as_secs()).into()),
    };
    if result.is_err() {
        eprintln!("idle_connections: node log: {}", log_tail(&log_path));
    }
    result?;
    stopped.map_err(|e| format!("stopping the node: {e}"))?;
    Ok(())
}

async fn measure(n: usize, http: SocketAddr, pid: u32) -> Result<(), BoxError> {
    let base = format!("http://{http}");
    wait_healthy(&base).await?;
    let rss_start = rss_bytes(pid)?;

    let users = n.div_ceil(PER_USER);
    let started = Instant::now();
    let tokens = register_users(&base, users).await?;
    let register_time = started.elapsed();

    // Let the registrations' work settle before the baseline.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = rss_bytes(pid)?;

    let started = Instant::now();
    let connections = open_connections(http, &tokens, n).await?;
    let open_time = started.elapsed();

    tokio::time::sleep(IDLE).await;
    let rss_after = rss_bytes(pid)?;
    let open = connections.len();

    drop(connections);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_closed = rss_bytes(pid)?;

    let delta = rss_after as i64 - rss_before as i64;
    println!("nproc:                          {}", nproc());
    println!("node:                           separate process, pid {pid}, SQLite");
    println!("N (connections open):           {open}");
    println!(
        "users registered:               {users} ({:.1} s)",
        register_time.as_secs_f64()
    );
    // Argon2id (19 MiB a hash) runs on blocking threads; the allocator keeps much of that
    // memory, so the baseline is taken after registering, not at start.
    println!("node RSS at start (healthy):    {}", human(rss_start));
    println!("node RSS before connecting:     {}", human(rss_before));
    println!(
        "node RSS after {} s idle:        {}",
        IDLE.as_secs(),
        human(rss_after)
    );
    println!("node RSS delta:                 {delta} bytes");
    println!(
        "bytes per idle connection:      {} (≈ {:.1} KiB)",
        delta / open as i64,
        delta as f64 / open as f64 / 1024.0
    );
    println!(
        "time to open all connections:   {:.3} s (connect + upgrade + auth, {} at once)",
        open_time.as_secs_f64(),
        CONNECT_CONCURRENCY
    );
    println!(
        "connections per second:         {:.0}",
        open as f64 / open_time.as_secs_f64()
    );
    println!("node RSS 2 s after closing all: {}", human(rss_closed));
    Ok(())
}

fn parse_n() -> Result<usize, BoxError> {
    let Some(arg) = std::env::args().nth(1) else {
        return Ok(DEFAULT_N);
    };
    match arg.parse::<usize>() {
        Ok(n) if (1..=MAX_N).contains(&n) => Ok(n),
        _ => Err(format!("N must be a number from 1 to {MAX_N}, got {arg:?}").into()),
    }
}

/// The soft `Max open files` limit of this process, from /proc/self/limits.
fn soft_nofile_limit() -> Result<u64, BoxError> {
    let limits = std::fs::read_to_string("/proc/self/limits")?;
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .ok_or("no `Max open files` in /proc/self/limits")?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()
        .ok_or("unreadable `Max open files` line")?;
    if soft == "unlimited" {
        return Ok(u64::MAX);
    }
    Ok(soft.parse()?)
}

fn node_binary() -> Result<PathBuf, BoxError> {
    if let Some(bin) = std::env::var_os("WINICHAT_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(dir).join("release/winichat"));
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    candidates.push(workspace.join("target/release/winichat"));
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            format!(
                "no node binary at {candidates:?}; run \
                 `cargo build --release -p winichat-node --bin winichat` or set WINICHAT_BIN"
            )
            .into()
        })
}

fn free_tcp_port() -> std::io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

fn free_udp_port() -> std::io::Result<SocketAddr> {
    UdpSocket::bind("127.0.0.1:0")?.local_addr()
}

/// The node process; stopped (SIGTERM, then SIGKILL) when dropped if not stopped before.
struct NodeProcess {
    child: Option<Child>,
}

impl NodeProcess {
    fn spawn(
        bin: &Path,
        data_dir: &Path,
        http: SocketAddr,
        quic: SocketAddr,
        log: &Path,
    ) -> Result<NodeProcess, BoxError> {
        let log = std::fs::File::create(log)?;
        let child = Command::new(bin)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--http")
            .arg(http.to_string())
            .arg("--quic")
            .arg(quic.to_string())
            .arg("--name")
            .arg(quic.to_string())
            // Every account of the benchmark registers from 127.0.0.1; the default allowance
            // (20 an hour per address) would refuse the 21st.
            .env("WINICHAT_REGISTRATIONS_PER_IP_PER_HOUR", "1000000")
            // The default cap (10,000 connections) would answer 503 past it; N goes to MAX_N.
            .env(
                "WINICHAT_MAX_CONNECTIONS",
                (MAX_N as u64 + FD_MARGIN).to_string(),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        Ok(NodeProcess { child: Some(child) })
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// SIGTERM, then up to 15 s for the node to exit, then SIGKILL.
    fn stop(&mut self) -> Result<(), BoxError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + STEP_WAIT;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!("the node exited with {status}").into())
                };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.kill()?;
        child.wait()?;
        Err("the node did not stop within 15 s of SIGTERM; killed".into())
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

async fn wait_healthy(base: &str) -> Result<(), BoxError> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + HEALTH_WAIT;
    loop {
        let ok = client
            .get(format!("{base}/healthz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("the node was not healthy within {HEALTH_WAIT:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Registers `users` users and returns their access tokens.
async fn register_users(base: &str, users: usize) -> Result<Vec<String>, BoxError> {
    let client = reqwest::Client::new();
    let permits = Arc::new(Semaphore::new(REGISTER_CONCURRENCY));
    let mut tasks = JoinSet::new();
    for i in 0..users {
        let client = client.clone();
        let url = format!("{base}/api/auth/register");
        let permits = Arc::clone(&permits);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            let name = format!("bench{i:05}");
            let response = client
                .post(url)
                .json(&serde_json::json!({"username": name, "password": PASSWORD}))
                .timeout(STEP_WAIT)
                .send()
                .await?;
            if response.status() != 201 {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                return Err(format!("register {name}: {status} {body}").into());
            }
            let body: serde_json::Value = response.json().await?;
            let token = body["access_token"]
                .as_str()
                .ok_or("register: no access_token")?
                .to_owned();
            Ok::<_, BoxError>((i, token))
        });
    }
    let mut tokens = vec![String::new(); users];
    while let Some(joined) = tasks.join_next().await {
        let (i, token) = joined??;
        tokens[i] = token;
    }
    Ok(tokens)
}

/// Opens `n` authenticated connections, `PER_USER` per token.
async fn open_connections(
    http: SocketAddr,
    tokens: &[String],
    n: usize,
) -> Result<Vec<Ws>, BoxError> {
    let url = format!("ws://{http}/ws");
    let permits = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut tasks: JoinSet<Result<Ws, BoxError>> = JoinSet::new();
    for i in 0..n {
        let url = url.clone();
        let token = tokens[i / PER_USER].clone();
        let permits = Arc::clone(&permits);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            tokio::time::timeout(STEP_WAIT, connect_and_auth(&url, &token))
                .await
                .map_err(|_| format!("connection {i}: no ready within {STEP_WAIT:?}"))?
                .map_err(|e| format!("connection {i}: {e}").into())
        });
    }
    let mut connections = Vec::with_capacity(n);
    while let Some(joined) = tasks.join_next().await {
        connections.push(joined??);
    }
    Ok(connections)
}

async fn connect_and_auth(url: &str, token: &str) -> Result<Ws, BoxError> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let params = Value::Map(vec![(Value::from("token"), Value::from(token))]);
    let frame = ClientFrame::Request(Request {
        id: 1,
        method: "auth".to_owned(),
        params,
    });
    ws.send(Message::Binary(frame.encode()?.into())).await?;
    loop {
        let message = ws.next().await.ok_or("closed before ready")??;
        match message {
            Message::Binary(bytes) => match ServerFrame::decode(&bytes)? {
                ServerFrame::Ok { id: 1, .. } => return Ok(ws),
                ServerFrame::Push(_) => {}
                other => return Err(format!("expected ready, got {other:?}").into()),
            },
            Message::Ping(_) | Message::Pong(_) => {}
            other => return Err(format!("expected ready, got {other:?}").into()),
        }
    }
}

/// The node's resident set (`VmRSS`), in bytes.
fn rss_bytes(pid: u32) -> Result<u64, BoxError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .ok_or("no VmRSS in /proc/<pid>/status")?
        .parse::<u64>()?;
    Ok(kib * 1024)
}

fn nproc() -> String {
    Command::new("nproc")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| {
            std::thread::available_parallelism().map_or_else(|_| "?".into(), |n| n.to_string())
        })
}

fn human(bytes: u64) -> String {
    format!(
        "{bytes} bytes ({:.1} MiB)",
        bytes as f64 / (1024.0 * 1024.0)
    )
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}
