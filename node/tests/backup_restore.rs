//! `winichat backup` and `winichat restore` against the real binary: a node under write load is
//! backed up, the backup restored into a new data directory, and a node started on it must
//! hold every post acknowledged before the backup started (with no gap in any log), every
//! account, the same identity key, and every referenced blob with the right hash. On
//! PostgreSQL the database goes through `pg_dump`/`pg_restore`, as docs/backup.md says.
//! A second backup into the same directory copies only new media.

mod common;

use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ciborium::Value;
use common::{Server, wait_exit, winichat};
use sha2::{Digest as _, Sha256};
use winichat_protocol::event::EventKind;
use winichat_protocol::gateway::chat::{WriteResult, method};
use winichat_protocol::ids::{EventId, GroupId, MediaId};
use winichat_protocol::media::AttachmentInput;
use winichat_testkit::client::{Account, Client, Endpoint};
use winichat_testkit::media_fixtures as fx;
use winichat_testkit::postgres::TestDatabase;
use winichat_testkit::users;

const NAME: &str = "backup.test";
const UNTHROTTLED: &[(&str, &str)] = &[
    ("WINICHAT_REQUEST_RATE_BURST", "1000000"),
    ("WINICHAT_REQUEST_RATE_PER_SEC", "1000000"),
    ("WINICHAT_SEND_QUEUE_BYTES", "1073741824"),
];
const USERS: usize = 3;
const POSTERS_PER_USER: usize = 2;
/// Posts acknowledged before the backup starts (so it copies a log with something in it).
const ACKS_BEFORE_BACKUP: usize = 150;
/// A bound on each poster, far above what it reaches before it is stopped.
const POSTS_PER_POSTER: usize = 20_000;
/// How long posting may take to reach [`ACKS_BEFORE_BACKUP`].
const LOAD_WAIT: Duration = Duration::from_secs(60);
/// A backup or restore command must end within this.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_everything_acknowledged_on_sqlite() {
    let dirs = tempfile::tempdir().expect("tempdir");
    back_up_under_load_and_restore(dirs.path(), None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_everything_acknowledged_on_postgres() {
    let dirs = tempfile::tempdir().expect("tempdir");
    let source = TestDatabase::create().await;
    let restored = TestDatabase::create().await;
    back_up_under_load_and_restore(dirs.path(), Some((&source, &restored))).await;
}

/// Runs `winichat ARGS` to its end (bounded) and returns what it printed.
fn run(args: &[&str]) -> Output {
    run_command(winichat(args))
}

/// [`run`] under umask 022 (the usual one, e.g. a systemd timer's without `UMask=`), so a
/// file the command leaves readable to others shows up whatever the test runner's umask is.
fn run_with_umask_022(args: &[&str]) -> Output {
    let mut sh = Command::new("sh");
    sh.args(["-c", "umask 022 && exec \"$0\" \"$@\""])
        .arg(common::BIN)
        .args(args)
        .stdin(std::process::Stdio::null());
    for (key, value) in winichat(args).get_envs() {
        match value {
            Some(value) => sh.env(key, value),
            None => sh.env_remove(key),
        };
    }
    run_command(sh)
}

/// Every file and directory under `dir`, with its permission bits.
fn modes(dir: &Path) -> Vec<(PathBuf, u32)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).expect("meta");
        out.push((path.clone(), meta.mode() & 0o777));
        if meta.is_dir() {
            out.extend(modes(&path));
        }
    }
    out
}

/// Writes `bytes` as a media object under the media directory `root` (no database row).
fn plant_object(root: &Path, bytes: &[u8]) -> PathBuf {
    let hex = hex::encode(Sha256::digest(bytes));
    let dir = root.join(&hex[0..2]).join(&hex[2..4]);
    // Private, as the node and a backup make them (the mode check must see only theirs).
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .expect("mkdir");
    let path = dir.join(&hex);
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut file| file.write_all(bytes))
        .expect("write object");
    path
}

/// Copies the directory tree `from` to `to`.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Flips one byte in the middle of `path`.
fn damage(path: &Path) {
    let mut bytes = fs::read(path).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    fs::write(path, bytes).expect("write");
}

fn run_command(mut cmd: Command) -> Output {
    let logs = tempfile::tempdir().expect("tempdir");
    let (out, err) = (logs.path().join("out"), logs.path().join("err"));
    let mut child = cmd
        .stdout(fs::File::create(&out).expect("stdout file"))
        .stderr(fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("spawn");
    let status = wait_exit(&mut child, COMMAND_TIMEOUT).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{cmd:?} did not end within {COMMAND_TIMEOUT:?}");
    });
    Output {
        status,
        stdout: fs::read(&out).expect("stdout"),
        stderr: fs::read(&err).expect("stderr"),
    }
}

fn assert_ok(output: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed ({}): {}{stdout}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn assert_refused(output: &Output, fact: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "exit status; stderr: {stderr}"
    );
    assert!(
        stderr.starts_with("error: ") && stderr.contains(fact),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn manifest(backup: &Path) -> serde_json::Value {
    let text = fs::read_to_string(backup.join("winichat-backup.json")).expect("manifest");
    serde_json::from_str(&text).expect("manifest is JSON")
}

fn node_endpoint(server: &Server) -> Endpoint {
    Endpoint {
        http: server.http(),
        name: NAME.parse().expect("node name"),
    }
}

fn username(user: usize) -> String {
    format!("keeper_{user}")
}

/// An uploaded blob: who may read it and the hash of its bytes.
struct Blob {
    token_owner: usize,
    id: MediaId,
}

async fn upload(server: &Server, token: &str, bytes: Vec<u8>) -> MediaId {
    let response = reqwest::Client::new()
        .post(format!("http://{}/api/media", server.http()))
        .bearer_auth(token)
        .body(bytes)
        .send()
        .await
        .expect("upload");
    assert!(response.status().is_success(), "{}", response.status());
    let body: serde_json::Value = response.json().await.expect("json");
    MediaId::parse(body["id"].as_str().expect("id")).expect("media id")
}

async fn download_sha(server: &Server, token: &str, sha: &[u8; 32]) -> [u8; 32] {
    let response = reqwest::Client::new()
        .get(format!(
            "http://{}/api/media/{}",
            server.http(),
            hex::encode(sha)
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("download");
    assert_eq!(response.status(), 200, "blob {}", hex::encode(sha));
    Sha256::digest(response.bytes().await.expect("body")).into()
}

/// Posts a message with `media` attached, so the blob is referenced.
async fn post_with(client: &mut Client, group: &GroupId, media: &MediaId) {
    let mut params = users::post_params(group, "a picture");
    params.attachments = vec![AttachmentInput {
        media: media.clone(),
        name: None,
        voice: false,
        waveform: None,
        duration_ms: None,
        poster: None,
    }];
    let _: WriteResult = client.ok(method::MSGS_POST, &params).await;
}

/// Acknowledged posts of one poster: text → reply, and whether the reply came before the
/// backup started.
#[derive(Default)]
struct Acks {
    before_backup: HashMap<String, WriteResult>,
    after: usize,
}

async fn post_until_stopped(
    mut client: Client,
    poster: usize,
    group: GroupId,
    backup_started: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicUsize>,
) -> Acks {
    let mut acks = Acks::default();
    for n in 0..POSTS_PER_POSTER {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let text = format!("poster {poster} message {n}");
        let result = users::post(&mut client, &group, &text).await;
        // Read after the reply arrived: "false" means the backup had not started yet.
        if backup_started.load(Ordering::SeqCst) {
            acks.after += 1;
        } else {
            acks.before_backup.insert(text, result);
        }
        acked.fetch_add(1, Ordering::SeqCst);
    }
    acks
}

/// The whole log of `group`: its head and its posts by text; the seqs must run without a gap.
async fn read_log(client: &mut Client, group: &GroupId) -> (u64, HashMap<String, (u64, EventId)>) {
    let mut posts = HashMap::new();
    let mut head = 0;
    for _ in 0..(POSTS_PER_POSTER * POSTERS_PER_USER / 50 + 10) {
        let page = users::history_after(client, group, head).await;
        for item in &page.items {
            assert_eq!(
                item.seq,
                head + 1,
                "{group}: a gap in the log after seq {head}"
            );
            head = item.seq;
            if item.kind != EventKind::MsgPost {
                continue;
            }
            if let Some(text) = body_text(&item.body) {
                posts.insert(text, (item.seq, item.id));
            }
        }
        if !page.more_after {
            return (head, posts);
        }
    }
    panic!("{group}: the log did not end");
}

fn body_text(body: &Value) -> Option<String> {
    let Value::Map(entries) = body else {
        return None;
    };
    entries.iter().find_map(|(key, value)| match (key, value) {
        (Value::Text(key), Value::Text(text)) if key == "text" => Some(text.clone()),
        _ => None,
    })
}

async fn back_up_under_load_and_restore(
    dirs: &Path,
    postgres: Option<(&TestDatabase, &TestDatabase)>,
) {
    let (data, backup, restored) = (
        dirs.join("data"),
        dirs.join("backup"),
        dirs.join("restored"),
    );
    let dump = dirs.join("winichat.dump");
    let db_args: Vec<&str> = match postgres {
        Some((source, _)) => vec!["--database-url", source.url()],
        None => Vec::new(),
    };
    let server = Server::start_with_env(&data, NAME, &db_args, UNTHROTTLED);
    let endpoint = node_endpoint(&server);
    let original_key = server.published_key();

    // Accounts, a group each, and two referenced pictures each.
    let mut accounts = Vec::new();
    let mut groups = Vec::new();
    let mut blobs = Vec::new();
    for user in 0..USERS {
        let account = Account::register_at(&endpoint, &username(user)).await;
        let mut client = Client::connect_at(endpoint.http, &account, None).await;
        let group = users::public_group(&mut client, &format!("kept_{user}")).await;
        for size in [40 + user as u32, 400 + user as u32] {
            let id = upload(&server, &account.token, fx::png(size, size / 2 + 1)).await;
            post_with(&mut client, &group, &id).await;
            blobs.push(Blob {
                token_owner: user,
                id,
            });
        }
        accounts.push(account);
        groups.push(group);
    }

    // Load: every poster posts until told to stop, through the backup.
    let backup_started = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for user in 0..USERS {
        for p in 0..POSTERS_PER_USER {
            let client = Client::connect_at(endpoint.http, &accounts[user], None).await;
            tasks.push((
                user,
                tokio::spawn(post_until_stopped(
                    client,
                    user * POSTERS_PER_USER + p,
                    groups[user].clone(),
                    backup_started.clone(),
                    stop.clone(),
                    acked.clone(),
                )),
            ));
        }
    }
    let started = Instant::now();
    while acked.load(Ordering::SeqCst) < ACKS_BEFORE_BACKUP {
        assert!(started.elapsed() < LOAD_WAIT, "the posters are too slow");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Set before the backup starts: posts acknowledged before this are the ones it must hold.
    backup_started.store(true, Ordering::SeqCst);
    let acked_at_start = acked.load(Ordering::SeqCst);
    let data_s = path_str(&data).to_owned();
    let backup_s = path_str(&backup).to_owned();
    let dump_s = path_str(&dump).to_owned();
    let source_url = postgres.map(|(source, _)| source.url().to_owned());
    let (data_c, backup_c, dump_c) = (data_s.clone(), backup_s.clone(), dump_s.clone());
    let backup_out = tokio::task::spawn_blocking(move || {
        if let Some(url) = &source_url {
            // The database first, then keys and media (docs/backup.md).
            let mut pg_dump = Command::new("pg_dump");
            pg_dump.args(["--format=custom", "--file", &dump_c, url]);
            assert_ok(&run_command(pg_dump), "pg_dump");
        }
        let mut args = vec!["--data-dir", data_c.as_str(), "backup", backup_c.as_str()];
        if let Some(url) = &source_url {
            args.extend(["--database-url", url.as_str()]);
        }
        run(&args)
    })
    .await
    .expect("backup task");
    let printed = assert_ok(&backup_out, "winichat backup");
    let acked_during = acked.load(Ordering::SeqCst) - acked_at_start;
    println!("{printed}posts acknowledged while the backup ran: {acked_during}");
    stop.store(true, Ordering::SeqCst);
    let mut acks_by_user: Vec<Vec<Acks>> = (0..USERS).map(|_| Vec::new()).collect();
    for (user, task) in tasks {
        let acks = tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("a poster did not stop")
            .expect("a poster panicked");
        acks_by_user[user].push(acks);
    }

    let after: usize = acks_by_user.iter().flatten().map(|a| a.after).sum();
    println!("posts acknowledged after the backup started: {after}");
    let m = manifest(&backup);
    assert_eq!(m["node_name"], NAME);
    assert_eq!(m["node_public_key"], original_key.as_str());
    assert_eq!(
        m["database"],
        if postgres.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    );
    assert_eq!(m["counts"]["users"], USERS as u64);
    let events_in_backup = m["counts"]["events"].as_u64().expect("events");
    let acked_before: usize = acks_by_user
        .iter()
        .flatten()
        .map(|a| a.before_backup.len())
        .sum();
    assert!(
        events_in_backup >= acked_before as u64,
        "{events_in_backup} events in the backup, {acked_before} posts acknowledged before it"
    );
    let keys: Vec<&str> = m["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["name"].as_str().expect("name"))
        .collect();
    assert!(
        keys.contains(&"node.key") && keys.contains(&"auth.key"),
        "{keys:?}"
    );

    // A restore refuses while a node holds the data directory, even with --force.
    let mut in_use = vec![
        "--data-dir",
        data_s.as_str(),
        "restore",
        backup_s.as_str(),
        "--force",
    ];
    let source_url = postgres.map(|(source, _)| source.url().to_owned());
    if let Some(url) = &source_url {
        in_use.extend(["--database-url", url.as_str()]);
    }
    assert_refused(&run(&in_use), "in use");
    drop(server);

    // Restore into a new data directory (and, on PostgreSQL, a new database).
    let restored_s = path_str(&restored).to_owned();
    let mut restore = vec![
        "--data-dir",
        restored_s.as_str(),
        "restore",
        backup_s.as_str(),
    ];
    let restored_url = postgres.map(|(_, restored)| restored.url().to_owned());
    if let Some(url) = &restored_url {
        let mut pg_restore = Command::new("pg_restore");
        pg_restore.args(["--no-owner", "--exit-on-error", "--dbname", url, &dump_s]);
        assert_ok(&run_command(pg_restore), "pg_restore");
        restore.extend(["--database-url", url.as_str()]);
    }
    assert_ok(&run(&restore), "winichat restore");
    // A second restore into what is now a data directory is refused.
    assert_refused(&run(&restore), "not empty");

    let restored_args: Vec<&str> = match &restored_url {
        Some(url) => vec!["--database-url", url.as_str()],
        None => Vec::new(),
    };
    let server = Server::start_with_env(&restored, NAME, &restored_args, UNTHROTTLED);
    assert_eq!(
        server.published_key(),
        original_key,
        "the node key is the same"
    );
    let endpoint = node_endpoint(&server);
    let mut kept = 0;
    for user in 0..USERS {
        // Every account logs in with its password.
        let account = Account::login_at(&endpoint, &username(user)).await;
        let mut client = Client::connect_at(endpoint.http, &account, None).await;
        let (head, stored) = read_log(&mut client, &groups[user]).await;
        for acks in &acks_by_user[user] {
            for (text, ack) in &acks.before_backup {
                let found = stored
                    .get(text)
                    .unwrap_or_else(|| panic!("{text:?}, acknowledged before the backup, is lost"));
                assert_eq!((found.0, &found.1), (ack.seq, &ack.id), "{text:?} moved");
                kept += 1;
            }
        }
        let fresh = users::post(&mut client, &groups[user], "after the restore").await;
        assert_eq!(fresh.seq, head + 1, "the log goes on after its head");
        accounts[user] = account;
    }
    assert_eq!(kept, acked_before);
    for blob in &blobs {
        let got = download_sha(&server, &accounts[blob.token_owner].token, &blob.id.sha256).await;
        assert_eq!(
            got,
            blob.id.sha256,
            "blob {} has the right bytes",
            hex::encode(got)
        );
    }
    println!("posts acknowledged before the backup and found after the restore: {kept}");
}

/// Every object file under `dir`, with its inode.
fn objects(dir: &Path) -> HashMap<PathBuf, u64> {
    let mut out = HashMap::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(objects(&path));
        } else {
            out.insert(path.clone(), fs::metadata(&path).expect("meta").ino());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_backup_copies_only_new_blobs() {
    let dirs = tempfile::tempdir().expect("tempdir");
    let (data, backup) = (dirs.path().join("data"), dirs.path().join("backup"));
    let server = Server::start_with_env(&data, NAME, &[], UNTHROTTLED);
    let endpoint = node_endpoint(&server);
    let account = Account::register_at(&endpoint, "incremental").await;
    let mut client = Client::connect_at(endpoint.http, &account, None).await;
    let group = users::public_group(&mut client, "increments").await;
    for size in [64, 500] {
        let id = upload(&server, &account.token, fx::png(size, size)).await;
        post_with(&mut client, &group, &id).await;
    }
    let (data_s, backup_s) = (path_str(&data), path_str(&backup));
    let backup_args = ["--data-dir", data_s, "backup", backup_s];

    assert_ok(&run_with_umask_022(&backup_args), "first backup");
    let first = manifest(&backup);
    let media_dir = backup.join("media");
    let before = objects(&media_dir);
    let first_files = first["media"]["files"].as_u64().expect("files");
    assert!(first_files >= 2, "{first}");
    assert_eq!(first["media"]["copied_files"], first_files);
    assert_eq!(before.len() as u64, first_files);

    // Left by an earlier backup, of a blob the node has deleted since: the snapshot does not
    // list it, so the next backup removes it.
    let deleted = plant_object(&media_dir, b"a blob deleted since the last backup");
    assert_ok(&run_with_umask_022(&backup_args), "second backup");
    assert!(
        !deleted.exists(),
        "an object the snapshot does not list is pruned"
    );
    let second = manifest(&backup);
    assert_eq!(second["media"]["files"], first_files);
    assert_eq!(
        second["media"]["copied_files"], 0,
        "nothing new: nothing copied"
    );

    let new = fx::png(300, 200);
    let new_id = upload(&server, &account.token, new).await;
    post_with(&mut client, &group, &new_id).await;
    assert_ok(&run_with_umask_022(&backup_args), "third backup");
    let third = manifest(&backup);
    // The backup holds private keys, password hashes and every message: nothing in it may be
    // readable by anyone but its owner, whatever the umask.
    let backup_modes = modes(&backup);
    assert!(backup_modes.len() > 5, "{backup_modes:?}");
    for (path, mode) in &backup_modes {
        assert_eq!(mode & 0o077, 0, "{} has mode {mode:o}", path.display());
    }
    let after = objects(&media_dir);
    let new_objects: Vec<&PathBuf> = after.keys().filter(|p| !before.contains_key(*p)).collect();
    assert!(!new_objects.is_empty());
    let new_hex = hex::encode(new_id.sha256);
    assert!(
        new_objects.iter().all(|p| p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(&new_hex))),
        "only the new blob and its thumbnails are new: {new_objects:?}"
    );
    assert_eq!(third["media"]["copied_files"], new_objects.len() as u64);
    assert_eq!(
        third["media"]["files"],
        first_files + new_objects.len() as u64
    );
    for (path, inode) in &before {
        assert_eq!(
            after.get(path),
            Some(inode),
            "{} was copied again",
            path.display()
        );
    }
    let original = fs::read(
        media_dir
            .join(&new_hex[0..2])
            .join(&new_hex[2..4])
            .join(&new_hex),
    )
    .expect("the new blob is in the backup");
    assert_eq!(<[u8; 32]>::from(Sha256::digest(&original)), new_id.sha256);

    // A backup is refused inside the data directory, and into a directory of other files.
    let inside = data.join("backup");
    assert_refused(
        &run(&["--data-dir", data_s, "backup", path_str(&inside)]),
        "overlap",
    );
    let foreign = dirs.path().join("foreign");
    fs::create_dir(&foreign).expect("mkdir");
    fs::write(foreign.join("notes.txt"), "mine").expect("write");
    assert_refused(
        &run(&["--data-dir", data_s, "backup", path_str(&foreign)]),
        "not part of a WiniChat backup",
    );
}

/// `restore --force` over a data directory that moved on after the backup (a key rotation, a
/// write-ahead log, media the backup never listed): a damaged backup changes nothing, a good
/// one leaves exactly the backup's keys and listed media, and the node starts on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_restore_replaces_a_moved_on_data_directory_or_changes_nothing() {
    let dirs = tempfile::tempdir().expect("tempdir");
    let (data, backup) = (dirs.path().join("data"), dirs.path().join("backup"));
    let server = Server::start_with_env(&data, NAME, &[], UNTHROTTLED);
    let original_key = server.published_key();
    let endpoint = node_endpoint(&server);
    let account = Account::register_at(&endpoint, "forced").await;
    let mut client = Client::connect_at(endpoint.http, &account, None).await;
    let group = users::public_group(&mut client, "forced").await;
    let picture = upload(&server, &account.token, fx::png(80, 60)).await;
    post_with(&mut client, &group, &picture).await;
    let (data_s, backup_s) = (path_str(&data), path_str(&backup));
    assert_ok(&run(&["--data-dir", data_s, "backup", backup_s]), "backup");
    drop(client);
    drop(server);

    // The data directory moves on: a key rotation, uncheckpointed writes, an orphan object.
    assert_ok(
        &run(&["keys", "rotate", "--data-dir", data_s, "--name", NAME]),
        "keys rotate",
    );
    assert!(data.join("node.rotations").exists());
    let db = data.join("winichat.db");
    let wal = data.join("winichat.db-wal");
    fs::write(&wal, b"transactions not yet checkpointed").expect("wal");
    let db_before = fs::read(&db).expect("db");
    let orphan = plant_object(&data.join("media"), b"an object no row lists");
    // An object in the backup that its database does not list (left by an older version).
    let unlisted = plant_object(&backup.join("media"), b"an object the backup does not list");

    let restore_from =
        |src: &Path| run(&["--data-dir", data_s, "restore", path_str(src), "--force"]);
    for damaged_file in ["winichat.db", "auth.key"] {
        let damaged = dirs.path().join(format!("damaged-{damaged_file}"));
        copy_tree(&backup, &damaged);
        damage(&damaged.join(damaged_file));
        assert_refused(&restore_from(&damaged), "damaged");
        assert_eq!(
            fs::read(&db).expect("db"),
            db_before,
            "{damaged_file}: db kept"
        );
        assert_eq!(
            fs::read(&wal).expect("the write-ahead log is kept"),
            b"transactions not yet checkpointed",
            "{damaged_file}"
        );
        assert!(data.join("node.rotations").exists(), "{damaged_file}");
    }

    assert_ok(&restore_from(&backup), "restore --force");
    assert!(!wal.exists(), "the old write-ahead log is gone");
    let listed: Vec<String> = manifest(&backup)["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["name"].as_str().expect("name").to_owned())
        .collect();
    for entry in fs::read_dir(&data).expect("read_dir").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("node.") || name == "auth.key" {
            assert!(listed.contains(&name), "{name} is not the backup's");
        }
    }
    assert!(
        !orphan.exists(),
        "an object the restored database does not list is removed"
    );
    let restored_media = data.join("media").join(
        unlisted
            .strip_prefix(backup.join("media"))
            .expect("under media"),
    );
    assert!(
        !restored_media.exists(),
        "an unlisted object is not restored"
    );

    let server = Server::start_with_env(&data, NAME, &[], UNTHROTTLED);
    assert_eq!(server.published_key(), original_key);
    let endpoint = node_endpoint(&server);
    let account = Account::login_at(&endpoint, "forced").await;
    let got = download_sha(&server, &account.token, &picture.sha256).await;
    assert_eq!(got, picture.sha256);
}
