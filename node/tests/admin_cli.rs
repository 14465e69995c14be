//! `winichat admin …` run as an operator would: on a stopped node's data directory (the
//! command answers in process), and next to a running `winichat serve` (the command goes to the
//! node's admin API with the operator token, so a disable closes sockets there at once).

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{Server, wait_exit, winichat};

const NAME: &str = "a.example";
/// Opening and migrating SQLite, then one request: seconds at most on a loaded machine.
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `winichat --data-dir DIR --name a.example admin ARGS…`, feeding `stdin`, bounded.
fn admin(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, err, input) = (
        dir.path().join("out"),
        dir.path().join("err"),
        dir.path().join("in"),
    );
    fs::write(&input, stdin.unwrap_or("")).expect("stdin file");
    let data = data_dir.to_str().expect("utf-8 path");
    let mut full = vec!["--data-dir", data, "--name", NAME, "admin"];
    full.extend_from_slice(args);
    let mut cmd: Command = winichat(&full);
    let mut child = cmd
        .stdin(Stdio::from(fs::File::open(&input).expect("stdin")))
        .stdout(fs::File::create(&out).expect("stdout file"))
        .stderr(fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("spawn winichat");
    let status = wait_exit(&mut child, EXIT_TIMEOUT).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("winichat admin {args:?} did not exit within {EXIT_TIMEOUT:?}");
    });
    Output {
        status,
        stdout: fs::read(&out).expect("stdout"),
        stderr: fs::read(&err).expect("stderr"),
    }
}

/// Runs an admin command that must succeed; returns its stdout.
fn ok(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let output = admin(data_dir, args, stdin);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "admin {args:?}: {}; stdout: {stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs an admin command that must fail with `code`; returns its one stderr line.
fn fails(data_dir: &Path, args: &[&str], code: i32) -> String {
    let output = admin(data_dir, args, None);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "admin {args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

fn users_json(data_dir: &Path) -> serde_json::Value {
    let out = ok(data_dir, &["list-users", "--json"], None);
    serde_json::from_str(out.trim()).expect("list-users --json prints JSON")
}

fn user<'a>(list: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    list["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["id"] == format!("@{name}:{NAME}"))
        .unwrap_or_else(|| panic!("{name} is not listed: {list}"))
}

/// A minimal HTTP/1.1 POST of a JSON body: the status code and the body.
fn post_json(addr: SocketAddr, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("an HTTP status");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn login(addr: SocketAddr, name: &str, password: &str) -> u16 {
    let body = serde_json::json!({"username": name, "password": password}).to_string();
    post_json(addr, "/api/auth/login", &body).0
}

#[test]
fn admin_commands_on_a_stopped_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    ok(
        data,
        &["create-user", "alice", "--password-stdin"],
        Some("alice's password\n"),
    );
    ok(
        data,
        &["create-user", "bob", "--password-stdin"],
        Some("bob's long password\n"),
    );

    let out = ok(data, &["make-admin", "alice"], None);
    assert!(out.contains("alice is an admin"), "{out}");
    let out = ok(data, &["set-quota", "bob", "5000"], None);
    assert!(out.contains("5000"), "{out}");
    let list = users_json(data);
    assert_eq!(user(&list, "alice")["admin"], true);
    assert_eq!(user(&list, "bob")["quota_bytes"], 5000);
    assert_eq!(user(&list, "bob")["quota_custom"], true);
    let table = ok(data, &["list-users", "b"], None);
    assert!(
        table.contains(&format!("@bob:{NAME}")) && !table.contains("alice"),
        "{table}"
    );

    ok(data, &["disable-user", "bob"], None);
    assert_eq!(user(&users_json(data), "bob")["disabled"], true);
    ok(data, &["enable-user", "bob"], None);
    assert_eq!(user(&users_json(data), "bob")["disabled"], false);
    ok(data, &["unmake-admin", "alice"], None);
    assert_eq!(user(&users_json(data), "alice")["admin"], false);
    ok(data, &["set-quota", "bob", "default"], None);
    assert_eq!(user(&users_json(data), "bob")["quota_custom"], false);

    let out = ok(data, &["reset-password", "bob"], None);
    assert!(out.lines().any(|l| l.starts_with("password: ")), "{out}");
    let out = ok(
        data,
        &["reset-password", "bob", "--password-stdin"],
        Some("a chosen password\n"),
    );
    assert!(
        !out.contains("password: "),
        "a given password is not printed: {out}"
    );

    let out = ok(data, &["federation-deny", "b.example"], None);
    assert!(out.contains("deny\tb.example"), "{out}");
    let out = ok(data, &["federation-lists"], None);
    assert!(out.contains("deny\tb.example"), "{out}");
    let out = ok(data, &["federation-unlist", "b.example"], None);
    // (Log lines may name it too; the lists printed must not.)
    assert!(
        !out.lines()
            .any(|l| l.starts_with("deny\t") || l.starts_with("allow\t")),
        "{out}"
    );

    let out = ok(data, &["list-groups"], None);
    assert_eq!(out, "", "no chats yet");

    let err = fails(data, &["delete-user", "bob"], 2);
    assert!(err.contains("--yes"), "{err}");
    let out = ok(data, &["delete-user", "bob", "--yes"], None);
    assert!(out.contains("deleted bob"), "{out}");
    assert_eq!(user(&users_json(data), "bob")["deleted"], true);
    let err = fails(data, &["disable-user", "nobody"], 2);
    assert!(err.contains("no such user") && err.contains("404"), "{err}");
    let err = fails(data, &["set-quota", "alice", "lots"], 2);
    assert!(err.contains("bytes"), "{err}");
}

#[test]
fn admin_commands_reach_the_running_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let mut server = Server::start(data, NAME, &[]);
    // The first run says how to make an admin.
    let log = server.stdout();
    assert!(log.contains("no admin account exists yet"), "{log}");
    assert!(log.contains("winichat admin make-admin"), "{log}");

    // create-user works on the database; make-admin goes to the node.
    ok(
        data,
        &["create-user", "carol", "--password-stdin"],
        Some("carol's password\n"),
    );
    assert_eq!(login(server.http(), "carol", "carol's password"), 200);
    ok(data, &["make-admin", "carol"], None);
    assert_eq!(user(&users_json(data), "carol")["admin"], true);

    // A disable through the running node refuses the next login at once.
    let out = ok(data, &["disable-user", "carol"], None);
    assert!(out.contains("1 sessions ended"), "{out}");
    assert_eq!(login(server.http(), "carol", "carol's password"), 403);
    ok(data, &["enable-user", "carol"], None);
    assert_eq!(login(server.http(), "carol", "carol's password"), 200);

    ok(data, &["federation-deny", "b.example"], None);
    let out = ok(data, &["federation-lists"], None);
    assert!(out.contains("deny\tb.example"), "{out}");

    let status = server.signal_and_wait("TERM");
    assert!(status.success(), "{}", server.stderr());
    assert!(
        !data.join("admin-api.json").exists(),
        "the operator token goes with the node"
    );
    // Stopped again: the stored deny is still there, answered in process.
    let out = ok(data, &["federation-lists"], None);
    assert!(out.contains("deny\tb.example"), "{out}");
}
