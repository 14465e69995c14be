//! What docs/deployment.md promises about the files in packaging/ and about upgrades:
//! `systemd-analyze verify` accepts the unit (and rejects a broken copy, so the check bites),
//! the Dockerfile copies only paths that exist, and a binary older than its database refuses
//! to start and changes nothing.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Server, wait_exit, winichat};
use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

/// Where packaging/winichat.service expects the binary; the checked copy points at the one
/// this test built, because `systemd-analyze verify` checks that ExecStart is executable.
const INSTALLED_BINARY: &str = "/usr/local/bin/winichat";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `systemd-analyze verify` on `unit` (no man-page lookups, no checks of units it names
/// that this machine lacks) and returns the exit success and the messages.
fn verify(unit: &Path) -> (bool, String) {
    let mut child = Command::new("systemd-analyze")
        .args(["verify", "--man=no", "--recursive-errors=no"])
        .arg(unit)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("systemd-analyze must be installed (.ci/run installs the systemd package)");
    let status = wait_exit(&mut child, Duration::from_secs(60)).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("systemd-analyze verify did not end within 60 s");
    });
    let output = child.wait_with_output().expect("output");
    let messages = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (status.success(), messages)
}

#[test]
fn systemd_analyze_verify_accepts_the_unit() {
    let unit = fs::read_to_string(repo_root().join("packaging/winichat.service")).expect("unit");
    for line in [
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/winichat",
        "StateDirectory=winichat",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "ProtectHome=yes",
        "CapabilityBoundingSet=\n",
        "LimitNOFILE=65536",
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit.contains(line), "the unit lacks {line:?}");
    }
    assert!(unit.contains(&format!("ExecStart={INSTALLED_BINARY} ")));
    let dir = tempfile::tempdir().expect("tempdir");
    let checked = dir.path().join("winichat.service");
    fs::write(&checked, unit.replace(INSTALLED_BINARY, common::BIN)).expect("write unit");
    let (ok, messages) = verify(&checked);
    assert!(
        ok && messages.trim().is_empty(),
        "systemd-analyze verify: {messages}"
    );

    // The same check on a broken copy fails, so a passing check means something.
    let broken = dir.path().join("broken.service");
    fs::write(
        &broken,
        unit.replace(INSTALLED_BINARY, common::BIN)
            .replace("Restart=on-failure", "Restart=sometimes"),
    )
    .expect("write broken unit");
    let (ok, messages) = verify(&broken);
    assert!(
        !ok && messages.contains("sometimes"),
        "a bad Restart= passed: {messages}"
    );
}

#[test]
fn the_dockerfile_copies_only_paths_that_exist() {
    let root = repo_root();
    let dockerfile = fs::read_to_string(root.join("packaging/Dockerfile")).expect("Dockerfile");
    let mut checked = 0;
    for line in dockerfile.lines().map(str::trim) {
        let Some(args) = line.strip_prefix("COPY ") else {
            continue;
        };
        let words: Vec<&str> = args.split_whitespace().collect();
        if words.iter().any(|w| w.starts_with("--from=")) {
            continue; // from an earlier stage, not the build context
        }
        let sources: Vec<&str> = words
            .iter()
            .copied()
            .filter(|w| !w.starts_with("--"))
            .collect();
        let (_target, sources) = sources.split_last().expect("COPY has a target");
        for source in sources {
            assert!(
                root.join(source).exists(),
                "Dockerfile copies {source}, which the repository lacks"
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} COPY sources found");
    for needed in ["HEALTHCHECK", "/healthz", "USER winichat", "VOLUME"] {
        assert!(dockerfile.contains(needed), "the Dockerfile lacks {needed}");
    }
    // The compose file builds that Dockerfile from the repository root.
    let compose = fs::read_to_string(root.join("packaging/compose.yaml")).expect("compose");
    assert!(
        compose.contains("dockerfile: packaging/Dockerfile") && compose.contains("context: ..")
    );
}

async fn migrations_applied(conn: &mut SqliteConnection) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(conn)
        .await
        .expect("count migrations")
}

/// A database migrated by a newer version (here: an applied migration this binary does not
/// have) is refused at start with sqlx's message, and left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_binary_refuses_a_database_with_unknown_migrations() {
    let data = tempfile::tempdir().expect("data dir");
    let mut server = Server::start(data.path(), "upgrade.test", &[]);
    server.signal_and_wait("TERM");
    drop(server);

    let db = data.path().join("winichat.db");
    let options = SqliteConnectOptions::new().filename(&db);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .expect("open");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99999, 'from a newer winichat', TRUE, X'00', 0)",
    )
    .execute(&mut conn)
    .await
    .expect("record a newer migration");
    let before = migrations_applied(&mut conn).await;
    conn.close().await.expect("close");

    let logs = tempfile::tempdir().expect("logs");
    let err_path = logs.path().join("err");
    let mut child = winichat(&[
        "serve",
        "--data-dir",
        data.path().to_str().expect("utf-8"),
        "--http",
        "127.0.0.1:0",
        "--quic",
        "127.0.0.1:0",
        "--name",
        "upgrade.test",
    ])
    .stdout(std::process::Stdio::null())
    .stderr(fs::File::create(&err_path).expect("stderr file"))
    .spawn()
    .expect("spawn");
    let status = wait_exit(&mut child, Duration::from_secs(30)).expect("the node must refuse");
    let stderr = fs::read_to_string(&err_path).expect("stderr");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("migration 99999 was previously applied but is missing"),
        "{stderr}"
    );

    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .expect("reopen");
    assert_eq!(
        migrations_applied(&mut conn).await,
        before,
        "nothing was changed"
    );
    conn.close().await.expect("close");
}
