//! `winichat federation status` and `winichat federation log-hash`, run as an operator would
//! against a database another process (standing in for the running node) holds open.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use winichat_node::federation::ops;
use winichat_node::identity::NodeIdentity;
use winichat_node::storage::{self, Database, FaultKind, GroupFault, NewEvent, Peer};
use winichat_protocol::Timestamp;
use winichat_protocol::ids::{EventId, GroupId, NodeName};

const BIN: &str = env!("CARGO_BIN_EXE_winichat");
const NAME: &str = "a.example";
/// The command opens and migrates SQLite, then reads: seconds at most on a loaded machine.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `winichat --data-dir DIR --name a.example ARGS…` with no `WINICHAT_*` from the
/// machine, and waits (bounded) for it to exit.
fn winichat(data_dir: &Path, args: &[&str]) -> Output {
    let out_dir = tempfile::tempdir().expect("tempdir");
    let (out, err) = (out_dir.path().join("out"), out_dir.path().join("err"));
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("WINICHAT_") {
            cmd.env_remove(key);
        }
    }
    let data_dir = data_dir.to_str().expect("utf-8 path");
    let mut child = cmd
        .env("RUST_BACKTRACE", "1")
        .args(["--data-dir", data_dir, "--name", NAME])
        .args(args)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).expect("stdout file"))
        .stderr(fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("spawn winichat");
    let deadline = Instant::now() + EXIT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("winichat {args:?} did not exit within {EXIT_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: fs::read(&out).expect("read stdout"),
        stderr: fs::read(&err).expect("read stderr"),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

fn node(name: &str) -> NodeName {
    name.parse().expect("node name")
}

fn group(id: &str) -> GroupId {
    id.parse().expect("group id")
}

async fn append(db: &Database, group: &GroupId, count: u64, destinations: &[NodeName]) {
    let mut prev = None;
    for seq in 1..=count {
        let raw = [
            b"event ".as_slice(),
            group.as_str().as_bytes(),
            &seq.to_be_bytes(),
        ]
        .concat();
        let event = NewEvent {
            group: group.clone(),
            seq,
            id: EventId::of_payload(&raw),
            prev,
            ts: Timestamp(1_000 * seq),
            sender: format!("@alice:{NAME}"),
            kind: "msg.post".to_owned(),
            raw,
        };
        db.events()
            .append(&event, destinations)
            .await
            .expect("append");
        prev = Some(event.id);
    }
}

/// A node's data directory with a key, and its database open (as the running node holds it):
/// one group of 3 events queued for b.example, a known peer c.example, a forked replica.
async fn seeded_node() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().expect("tempdir");
    let identity = NodeIdentity::load_or_create(dir.path()).expect("key");
    let db = storage::open("", dir.path()).await.expect("open");
    db.check_identity(&node(NAME), identity.public_key().as_bytes())
        .await
        .expect("identity");

    append(&db, &group("!local1:a.example"), 3, &[node("b.example")]).await;
    let c = node("c.example");
    db.peers()
        .put(&Peer {
            node: c.clone(),
            public_key: [4u8; 32],
            fetched_at: Timestamp(1),
            failures: 0,
            retry_at: Timestamp(0),
            last_error: None,
            last_contact_at: None,
        })
        .await
        .expect("put peer");
    db.peers()
        .record_contact(&c, Timestamp(5_000))
        .await
        .expect("contact");
    let replica = group("!remote1:c.example");
    append(&db, &replica, 1, &[]).await;
    db.faults()
        .record_fault(&GroupFault {
            group: replica,
            seq: 1,
            kind: FaultKind::Forked,
            reason: "two different events signed at seq 1".into(),
            held_raw: None,
            offending_raw: vec![1, 2, 3],
            at: Timestamp(6_000),
        })
        .await
        .expect("fault");
    (dir, db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_hash_prints_head_and_hash_and_fails_for_an_unknown_group() {
    let (dir, db) = seeded_node().await;
    let g = group("!local1:a.example");
    let expected = ops::log_hash(&db, &g).await.expect("hash").expect("known");
    assert_eq!(expected.head, 3);

    let out = winichat(dir.path(), &["federation", "log-hash", g.as_str()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.trim_end(), ops::format_log_hash(&expected));
    let (head, hash) = stdout.trim_end().split_once(' ').expect("two fields");
    assert_eq!(head, "3");
    assert_eq!(hash.len(), 64);
    assert!(
        hash.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );

    let unknown = winichat(
        dir.path(),
        &["federation", "log-hash", "!nothere:a.example"],
    );
    assert_eq!(unknown.status.code(), Some(1));
    let err = text(&unknown.stderr);
    assert!(
        err.starts_with("error: ")
            && err.contains("!nothere:a.example")
            && err.contains("not known here"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(unknown.stdout.is_empty(), "{}", text(&unknown.stdout));

    let malformed = winichat(dir.path(), &["federation", "log-hash", "not-a-group"]);
    assert_eq!(
        malformed.status.code(),
        Some(2),
        "{}",
        text(&malformed.stderr)
    );
    assert!(text(&malformed.stderr).contains("invalid group id"));
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_peers_backlog_and_faulty_groups_as_table_and_json() {
    let (dir, db) = seeded_node().await;

    let out = winichat(dir.path(), &["federation", "status"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let line_of = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no line for {name} in:\n{table}"))
            .to_owned()
    };
    assert!(table.lines().any(|l| l.starts_with("NODE")), "{table}");
    let b = line_of("b.example");
    assert!(b.contains("(key not stored)") && b.contains("never"), "{b}");
    assert!(b.split_whitespace().any(|cell| cell == "3"), "depth 3: {b}");
    let c = line_of("c.example");
    assert!(c.contains("ago"), "{c}");
    assert!(
        table.contains("!remote1:c.example FORKED at seq 1: two different events"),
        "{table}"
    );

    let out = winichat(dir.path(), &["federation", "status", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let peers = json["peers"].as_array().expect("peers");
    assert_eq!(peers.len(), 2, "{json}");
    assert_eq!(peers[0]["node"], "b.example");
    assert_eq!(peers[0]["outbox_depth"], 3);
    assert_eq!(peers[0]["oldest_entry_at"], 1_000);
    assert_eq!(peers[0]["known"], false);
    assert_eq!(peers[1]["node"], "c.example");
    assert_eq!(peers[1]["last_contact_at"], 5_000);
    assert_eq!(peers[1]["outbox_depth"], 0);
    assert_eq!(json["faulty_groups"][0]["group"], "!remote1:c.example");
    assert_eq!(json["faulty_groups"][0]["fault"], "forked");

    // The library call gives the same view.
    let status = ops::status(&db, Timestamp(10_000)).await.expect("status");
    assert_eq!(status.peers.len(), 2);
    assert_eq!(status.peers[0].oldest_entry_age_ms, Some(9_000));
    db.close().await;
}

#[test]
fn status_without_a_node_key_fails_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = winichat(dir.path(), &["federation", "status"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr).lines().count(), 1);
    assert_eq!(fs::read_dir(dir.path()).expect("read dir").count(), 0);
}
