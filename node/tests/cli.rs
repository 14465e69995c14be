//! The `winichat` binary, driven as a self-hoster would: flags, files, signals, exit codes.
//!
//! Every wait is bounded, and every spawned server is killed when its guard drops, so a broken
//! binary fails these tests instead of hanging them.

mod common;

use std::fs;
use std::net::{TcpListener, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use common::{Server, free_tcp_addr, free_udp_addr, wait_exit, winichat};

/// Upper bound for a command expected to fail at start-up (an unreachable database takes up
/// to the storage layer's 5 s connect timeout).
const FAIL_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs a command that must end by itself, within [`FAIL_TIMEOUT`].
fn run(mut cmd: Command) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = cmd
        .stdout(fs::File::create(&out).expect("stdout file"))
        .stderr(fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("spawn winichat");
    let status = wait_exit(&mut child, FAIL_TIMEOUT).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("winichat did not exit within {FAIL_TIMEOUT:?}");
    });
    Output {
        status,
        stdout: fs::read(&out).expect("read stdout"),
        stderr: fs::read(&err).expect("read stderr"),
    }
}

/// Checks the contract for failures: the given exit code, and stderr is exactly one line
/// `error: …` holding every one of `facts`, with no panic or backtrace.
fn assert_one_line_error(output: &Output, code: i32, facts: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit status; stderr: {stderr}; stdout: {stdout}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "panic: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "stderr must be exactly one line: {stderr:?}"
    );
    assert!(lines[0].starts_with("error: "), "{stderr}");
    for fact in facts {
        assert!(
            lines[0].contains(fact),
            "error line lacks {fact:?}: {stderr}"
        );
    }
    lines[0].to_owned()
}

#[test]
fn help_lists_the_commands_and_flags() {
    let output = run(winichat(&["--help"]));
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for word in [
        "serve",
        "keys",
        "--config",
        "--data-dir",
        "--http",
        "--quic",
        "--name",
        "--database-url",
        "--log-format",
        "--version",
    ] {
        assert!(help.contains(word), "--help lacks {word}: {help}");
    }
}

#[test]
fn version_prints_the_crate_version() {
    let output = run(winichat(&["--version"]));
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("winichat {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn keys_show_without_a_key_fails_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let output = run(winichat(&[
        "keys",
        "show",
        "--data-dir",
        data.to_str().expect("utf-8"),
    ]));
    assert_one_line_error(
        &output,
        1,
        &["no identity key", "node.key", "winichat serve"],
    );
    assert!(
        !data.exists(),
        "keys show must not create the data directory"
    );
}

/// First start creates a private key; SIGTERM stops the node with status 0; `keys show` prints
/// the published key; a second start reuses the key and stops with status 0 on SIGINT.
#[test]
fn serve_creates_a_key_reuses_it_and_stops_cleanly_on_signals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");

    let mut first = Server::start(&data, "lifecycle.test", &[]);
    let key_file = data.join("node.key");
    let mode = fs::metadata(&key_file)
        .expect("key file exists")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "key file mode");
    let dir_mode = fs::metadata(&data)
        .expect("data dir exists")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700, "data dir mode");
    let key = first.published_key();
    let status = first.signal_and_wait("TERM");
    assert_eq!(
        status.code(),
        Some(0),
        "exit after SIGTERM; stderr: {}",
        first.stderr()
    );
    assert!(
        first.stderr().is_empty(),
        "no error output: {}",
        first.stderr()
    );
    assert!(
        first.stdout().contains("node started"),
        "readable log: {}",
        first.stdout()
    );

    let shown = run(winichat(&[
        "keys",
        "show",
        "--data-dir",
        data.to_str().expect("utf-8"),
        "--name",
        "lifecycle.test",
    ]));
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("lifecycle.test"), "{shown}");
    assert!(
        shown.contains(&key),
        "keys show prints the published key: {shown}"
    );
    let fingerprint = shown
        .lines()
        .find_map(|l| l.strip_prefix("fingerprint:"))
        .expect("fingerprint line")
        .trim();
    assert!(
        fingerprint.len() == 64 && fingerprint.bytes().all(|b| b.is_ascii_hexdigit()),
        "{shown}"
    );

    let mut second = Server::start(&data, "lifecycle.test", &["--log-format", "json"]);
    assert_eq!(second.published_key(), key, "the key is reused");
    let status = second.signal_and_wait("INT");
    assert_eq!(
        status.code(),
        Some(0),
        "exit after SIGINT; stderr: {}",
        second.stderr()
    );
    let stdout = second.stdout();
    let first_line = stdout.lines().next().expect("a log line");
    let line: serde_json::Value = serde_json::from_str(first_line).expect("JSON log lines");
    assert!(line.get("level").is_some(), "{first_line}");
}

/// `keys rotate` on a stopped node: the old key stays next to the new one (private), the
/// output names both fingerprints and what peers must do, and the node then starts on the new
/// key with its database (which was recorded under the old one).
#[test]
fn keys_rotate_keeps_the_old_key_and_the_node_starts_on_the_new_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data_arg = data.to_str().expect("utf-8");

    let nothing = run(winichat(&["keys", "rotate", "--data-dir", data_arg]));
    assert_one_line_error(&nothing, 1, &["no identity key"]);

    let mut first = Server::start(&data, "rotate.test", &[]);
    let old_key = first.published_key();
    assert_eq!(first.signal_and_wait("TERM").code(), Some(0));

    let rotated = run(winichat(&[
        "keys",
        "rotate",
        "--data-dir",
        data_arg,
        "--name",
        "rotate.test",
    ]));
    let stdout = String::from_utf8_lossy(&rotated.stdout);
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let line = |prefix: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("a {prefix} line: {stdout}"))
            .trim()
            .to_owned()
    };
    let (old_fp, new_fp, new_key) = (
        line("old fingerprint:"),
        line("new fingerprint:"),
        line("new public key:"),
    );
    assert_eq!(old_fp.len(), 64, "{stdout}");
    assert_ne!(old_fp, new_fp, "{stdout}");
    assert_ne!(new_key, old_key, "{stdout}");
    assert!(
        stdout.contains("re-pin"),
        "says what pinning peers do: {stdout}"
    );

    let retired: Vec<PathBuf> = fs::read_dir(&data)
        .expect("ls")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("node.key.retired-"))
        })
        .collect();
    assert_eq!(retired.len(), 1, "the old key is kept: {retired:?}");
    let mode = fs::metadata(&retired[0])
        .expect("stat")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "the old key stays private");
    assert!(data.join("node.rotations").exists());

    let mut second = Server::start(&data, "rotate.test", &[]);
    assert_eq!(
        second.published_key(),
        new_key,
        "the node runs on the new key"
    );
    assert_eq!(second.signal_and_wait("TERM").code(), Some(0));
    let shown = run(winichat(&[
        "keys",
        "show",
        "--data-dir",
        data_arg,
        "--name",
        "rotate.test",
    ]));
    assert!(String::from_utf8_lossy(&shown.stdout).contains(&new_fp));
}

/// A served data directory is locked: `keys rotate` and a second `serve` on it are refused
/// with one line saying so (the key stays the one the node signs with), and once the node
/// stops both work again.
#[test]
fn a_served_data_dir_refuses_keys_rotate_and_a_second_serve() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data_arg = data.to_str().expect("utf-8");
    let rotate = || {
        winichat(&[
            "keys",
            "rotate",
            "--data-dir",
            data_arg,
            "--name",
            "locked.test",
        ])
    };

    let mut first = Server::start(&data, "locked.test", &[]);
    let key = first.published_key();
    let refused = run(rotate());
    assert_one_line_error(&refused, 1, &["in use", data_arg, "stop it first"]);
    assert!(!data.join("node.rotations").exists(), "nothing was rotated");

    let (http, quic) = (free_tcp_addr().to_string(), free_udp_addr().to_string());
    let second = run(winichat(&[
        "serve",
        "--data-dir",
        data_arg,
        "--http",
        &http,
        "--quic",
        &quic,
        "--name",
        "locked.test",
    ]));
    assert_one_line_error(&second, 1, &["in use", data_arg]);
    assert_eq!(first.published_key(), key, "the first node serves on");
    assert_eq!(first.signal_and_wait("TERM").code(), Some(0));

    let rotated = run(rotate());
    assert!(
        rotated.status.success(),
        "a stopped node rotates: {}",
        String::from_utf8_lossy(&rotated.stderr)
    );
}

#[test]
fn http_port_in_use_is_one_line_naming_the_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let quic = free_udp_addr().to_string();
    let data = dir.path().join("d");
    let output = run(winichat(&[
        "serve",
        "--data-dir",
        data.to_str().expect("utf-8"),
        "--http",
        &addr,
        "--quic",
        &quic,
    ]));
    assert_one_line_error(&output, 1, &["HTTP", &addr, "address already in use"]);
}

#[test]
fn quic_port_in_use_is_one_line_naming_the_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let taken = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let http = free_tcp_addr().to_string();
    let data = dir.path().join("d");
    let output = run(winichat(&[
        "serve",
        "--data-dir",
        data.to_str().expect("utf-8"),
        "--http",
        &http,
        "--quic",
        &addr,
    ]));
    assert_one_line_error(&output, 1, &["QUIC", &addr, "address already in use"]);
}

#[test]
fn missing_config_file_is_a_config_error() {
    let output = run(winichat(&[
        "--config",
        "/nonexistent/winichat.toml",
        "serve",
    ]));
    assert_one_line_error(
        &output,
        2,
        &["cannot read config /nonexistent/winichat.toml"],
    );
}

#[test]
fn unknown_config_key_names_the_key_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    fs::write(
        &path,
        "# comment\nquic = \"127.0.0.1:7801\"\nhtp = \"127.0.0.1:1\"\n",
    )
    .expect("write");
    let output = run(winichat(&[
        "--config",
        path.to_str().expect("utf-8"),
        "serve",
    ]));
    assert_one_line_error(
        &output,
        2,
        &[
            path.to_str().expect("utf-8"),
            "unknown key \"htp\" at line 3",
        ],
    );
}

#[test]
fn invalid_config_value_names_the_key_and_what_is_wrong() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    fs::write(&path, "http = \"nope\"\n").expect("write");
    let output = run(winichat(&[
        "--config",
        path.to_str().expect("utf-8"),
        "serve",
    ]));
    assert_one_line_error(
        &output,
        2,
        &["http (line 1) = \"nope\"", "invalid socket address"],
    );

    let mut cmd = winichat(&["serve"]);
    cmd.env("WINICHAT_QUIC", "somewhere");
    assert_one_line_error(
        &run(cmd),
        2,
        &["WINICHAT_QUIC = \"somewhere\"", "invalid socket address"],
    );

    let output = run(winichat(&["serve", "--name", "Bad Name!"]));
    assert_one_line_error(&output, 2, &["--name \"Bad Name!\""]);
}

#[test]
fn unknown_flag_is_a_one_line_usage_error() {
    let output = run(winichat(&["serve", "--htp", "x"]));
    assert_one_line_error(&output, 2, &["--htp"]);
}

#[test]
fn bad_database_url_is_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d");
    let (http, quic) = (free_tcp_addr().to_string(), free_udp_addr().to_string());
    let output = run(winichat(&[
        "serve",
        "--data-dir",
        data.to_str().expect("utf-8"),
        "--http",
        &http,
        "--quic",
        &quic,
        "--database-url",
        "mysql://user:hunter2@db/chat",
    ]));
    let line = assert_one_line_error(&output, 1, &["bad database URL", "mysql://"]);
    assert!(
        !line.contains("hunter2"),
        "the password must not be shown: {line}"
    );
}

#[test]
fn unreachable_database_is_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d");
    // A port nothing listens on: connection refused at once.
    let closed = free_tcp_addr();
    let (http, quic) = (free_tcp_addr().to_string(), free_udp_addr().to_string());
    let url = format!("postgres://winichat:hunter2@{closed}/chat");
    let output = run(winichat(&[
        "serve",
        "--data-dir",
        data.to_str().expect("utf-8"),
        "--http",
        &http,
        "--quic",
        &quic,
        "--database-url",
        &url,
    ]));
    let line = assert_one_line_error(
        &output,
        1,
        &["cannot connect to database", &closed.to_string()],
    );
    assert!(
        !line.contains("hunter2"),
        "the password must not be shown: {line}"
    );
}

#[test]
fn data_dir_below_a_regular_file_is_one_line() {
    // Root may write anywhere, but nobody can make a directory below a regular file.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("file");
    fs::write(&file, b"not a directory").expect("write");
    let data = file.join("data");
    let (http, quic) = (free_tcp_addr().to_string(), free_udp_addr().to_string());
    let output = run(winichat(&[
        "serve",
        "--data-dir",
        data.to_str().expect("utf-8"),
        "--http",
        &http,
        "--quic",
        &quic,
    ]));
    assert_one_line_error(
        &output,
        1,
        &[
            "data directory",
            data.to_str().expect("utf-8"),
            "not writable",
        ],
    );
}

#[test]
fn world_readable_key_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut server = Server::start(&data, "perm.test", &[]);
    assert_eq!(server.signal_and_wait("TERM").code(), Some(0));
    let key = data.join("node.key");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).expect("chmod");
    let (http, quic) = (free_tcp_addr().to_string(), free_udp_addr().to_string());
    let output = run(winichat(&[
        "serve",
        "--data-dir",
        data.to_str().expect("utf-8"),
        "--http",
        &http,
        "--quic",
        &quic,
        "--name",
        "perm.test",
    ]));
    assert_one_line_error(
        &output,
        1,
        &[key.to_str().expect("utf-8"), "0644", "chmod 600"],
    );
}

#[test]
fn missing_subcommand_and_bad_log_filter_are_usage_errors() {
    let output = run(winichat(&[]));
    assert_eq!(output.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));

    let mut cmd = winichat(&["keys", "show"]);
    cmd.env("WINICHAT_LOG", "winichat=[");
    assert_one_line_error(&run(cmd), 2, &["WINICHAT_LOG = \"winichat=[\""]);
}
