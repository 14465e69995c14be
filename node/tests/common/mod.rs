//! A `winichat serve` child process for the tests that drive the real binary: a clean
//! environment, free ports on 127.0.0.1, bounded waits, and a guard that kills it.
//!
//! Each test crate that declares `mod common;` compiles this module and uses a different part
//! of it, hence the allowance below.
#![allow(dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_winichat");
/// Start-up includes creating the key and migrating SQLite; generous for a loaded CI machine.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The node must be gone this soon after SIGTERM/SIGINT.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A `winichat` command with a clean environment: no `WINICHAT_*` from the machine, and
/// `RUST_BACKTRACE=1` so that any panic would show up as a backtrace and fail the checks.
pub fn winichat(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("WINICHAT_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("RUST_BACKTRACE", "1")
        .args(args)
        .stdin(Stdio::null());
    cmd
}

pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        sleep(Duration::from_millis(20));
    }
    None
}

pub fn free_tcp_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free TCP port")
}

pub fn free_udp_addr() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free UDP port")
}

/// A minimal HTTP/1.1 GET: returns the status code and the body.
pub fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {response:?}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// A `winichat serve` child process, killed if the test ends without stopping it.
pub struct Server {
    child: Child,
    http: SocketAddr,
    stdout: PathBuf,
    stderr: PathBuf,
    _logs: tempfile::TempDir,
}

impl Server {
    /// Starts `winichat serve` with `args` and waits until `/healthz` answers 200.
    pub fn start(data_dir: &Path, name: &str, extra: &[&str]) -> Server {
        Server::start_with_env(data_dir, name, extra, &[])
    }

    /// [`Server::start`] with `env` (`WINICHAT_*` settings that have no flag) set for the node.
    pub fn start_with_env(
        data_dir: &Path,
        name: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let http = free_tcp_addr();
        let quic = free_udp_addr();
        let (http_s, quic_s) = (http.to_string(), quic.to_string());
        let data = data_dir.to_str().expect("utf-8 path");
        let mut args = vec![
            "serve",
            "--data-dir",
            data,
            "--http",
            &http_s,
            "--quic",
            &quic_s,
            "--name",
            name,
        ];
        args.extend_from_slice(extra);
        let logs = tempfile::tempdir().expect("tempdir");
        let (stdout, stderr) = (logs.path().join("out"), logs.path().join("err"));
        let child = winichat(&args)
            .envs(env.iter().copied())
            .stdout(fs::File::create(&stdout).expect("stdout file"))
            .stderr(fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("spawn winichat serve");
        let mut server = Server {
            child,
            http,
            stdout,
            stderr,
            _logs: logs,
        };
        server.wait_healthy();
        server
    }

    pub fn wait_healthy(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok((200, body)) = http_get(self.http, "/healthz") {
                assert_eq!(body, r#"{"status":"ok"}"#);
                return;
            }
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!(
                    "winichat serve exited with {status} before answering: {}",
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no healthy /healthz within {START_TIMEOUT:?}"
            );
            sleep(Duration::from_millis(50));
        }
    }

    /// The HTTP address (API, `/ws`, `/healthz`).
    pub fn http(&self) -> SocketAddr {
        self.http
    }

    /// Kills the node with SIGKILL, as a crash or `kill -9` would: no draining, no clean
    /// shutdown. Returns once the process is gone.
    pub fn kill(&mut self) -> ExitStatus {
        // `Child::kill` sends SIGKILL on Unix.
        self.child.kill().expect("SIGKILL the node");
        wait_exit(&mut self.child, STOP_TIMEOUT)
            .unwrap_or_else(|| panic!("winichat still runs {STOP_TIMEOUT:?} after SIGKILL"))
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn stdout(&self) -> String {
        fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// Sends `signal` (e.g. "TERM") and returns the exit status, which must come within
    /// [`STOP_TIMEOUT`].
    pub fn signal_and_wait(&mut self, signal: &str) -> ExitStatus {
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{signal} failed");
        wait_exit(&mut self.child, STOP_TIMEOUT).unwrap_or_else(|| {
            panic!("winichat did not stop within {STOP_TIMEOUT:?} after SIG{signal}")
        })
    }

    /// The `public_key` field of the node document.
    pub fn published_key(&self) -> String {
        let (status, body) =
            http_get(self.http, "/.well-known/winichat/node").expect("GET node document");
        assert_eq!(status, 200, "{body}");
        let doc: serde_json::Value = serde_json::from_str(&body).expect("node document is JSON");
        doc["public_key"]
            .as_str()
            .expect("public_key is a string")
            .to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
