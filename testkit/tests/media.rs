//! The media HTTP API against real nodes (SQLite and PostgreSQL): `POST /api/media` and
//! `GET /api/media/{hex}[/thumb/{size}]` — limits and quota, deduplication, type sniffing and
//! safe serving, a decompression bomb, access (uploader, group members, public references,
//! signed URLs) with one refusal for everything else, Range, path traversal, metadata
//! stripping, thumbnails, and the clean-up of unreferenced uploads.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_RANGE, CONTENT_TYPE, ETAG,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::Connection as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use winichat_node::config::Config;
use winichat_protocol::Timestamp;
use winichat_protocol::gateway::chat::{
    self as api, ChatSummary, GroupCreateParams, TargetParams, TxnGroupParams, method,
};
use winichat_protocol::group::Visibility;
use winichat_protocol::ids::GroupId;
use winichat_testkit::client::{Account, Client, txn};
use winichat_testkit::media_fixtures as fx;
use winichat_testkit::node::{Backend, TestNode};

winichat_testkit::on_both!(
    an_oversize_upload_gets_413_and_nothing_is_stored,
    the_quota_gives_403_and_nothing_is_stored,
    parallel_uploads_never_store_more_than_the_quota,
    a_user_has_at_most_the_configured_uploads_in_progress,
    re_uploading_at_a_full_quota_costs_nothing,
    a_new_image_at_a_full_quota_is_refused_without_decoding,
    the_same_bytes_are_stored_once,
    html_and_svg_claiming_png_are_never_served_inline,
    a_png_bomb_is_refused_and_the_node_keeps_serving,
    outsiders_get_the_same_refusal_as_for_unknown_media,
    group_members_and_public_references_give_access,
    range_requests_return_exactly_the_asked_bytes,
    path_traversal_in_any_parameter_is_rejected,
    a_jpeg_with_gps_exif_is_served_without_it,
    thumbnails_are_served_for_images_only,
    the_clean_up_removes_old_unreferenced_uploads_only,
    uploads_need_a_valid_token,
);

// ---- helpers ----

async fn start(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestNode {
    TestNode::start_with(backend, |c| {
        c.gateway.rate_burst = 1_000_000;
        c.gateway.rate_per_sec = 1_000_000;
        configure(c);
    })
    .await
}

fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis();
    Timestamp(u64::try_from(ms).expect("ms"))
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    getrandom::fill(&mut out).expect("random");
    out
}

fn sha_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes).into())
}

/// Percent-encodes all but unreserved characters.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn hex(sha: &[u8; 32]) -> String {
    sha.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha_of(id: &str) -> [u8; 32] {
    let (_, hex) = id.rsplit_once('/').expect("node/hex");
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

/// `POST /api/media` with a Content-Length, claiming `content_type`.
async fn upload_as(
    node: &TestNode,
    token: &str,
    bytes: Vec<u8>,
    content_type: &str,
    name: Option<&str>,
) -> (StatusCode, Value) {
    let query = name.map_or_else(String::new, |n| format!("?name={}", percent(n)));
    let response = reqwest::Client::new()
        .post(format!("{}/api/media{query}", node.http_url()))
        .bearer_auth(token)
        .header(CONTENT_TYPE, content_type)
        .body(bytes)
        .send()
        .await
        .expect("upload request");
    let status = response.status();
    let text = response.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, json)
}

async fn upload(node: &TestNode, token: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    upload_as(node, token, bytes, "application/octet-stream", None).await
}

/// Uploads and expects 201; returns the id.
async fn uploaded(node: &TestNode, token: &str, bytes: Vec<u8>) -> String {
    let (status, body) = upload(node, token, bytes).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

async fn get(node: &TestNode, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{}{path}", node.http_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("get request")
}

async fn get_with(
    node: &TestNode,
    path: &str,
    token: Option<&str>,
    header: (&str, &str),
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .get(format!("{}{path}", node.http_url()))
        .header(header.0, header.1);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("get request")
}

fn header(response: &reqwest::Response, name: impl reqwest::header::AsHeaderName) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("ascii header").to_owned())
        .unwrap_or_default()
}

/// Every file (not directory) under `<data_dir>/media`, including staged ones.
fn media_files(node: &TestNode) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&node.data_dir().join("media"), &mut out);
    out.sort();
    out
}

/// Runs one SQL statement on the node's database (dialect-neutral SQL only).
async fn execute(node: &TestNode, sql: &str) {
    match node.database_url() {
        Some(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres");
            sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&mut conn)
                .await
                .expect("execute");
        }
        None => {
            let url = format!("sqlite://{}", node.data_dir().join("winichat.db").display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("sqlite");
            sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&mut conn)
                .await
                .expect("execute");
        }
    }
}

/// How many rows `SELECT COUNT(*) …` counts.
async fn count(node: &TestNode, sql: &str) -> i64 {
    match node.database_url() {
        Some(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres");
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_one(&mut conn)
                .await
                .expect("count")
        }
        None => {
            let url = format!("sqlite://{}", node.data_dir().join("winichat.db").display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("sqlite");
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_one(&mut conn)
                .await
                .expect("count")
        }
    }
}

async fn media_rows(node: &TestNode) -> i64 {
    count(node, "SELECT COUNT(*) FROM media").await
}

/// A raw HTTP/1.1 exchange (for what reqwest would not send: huge declared lengths, unfinished
/// chunked bodies, unnormalised paths). Writes `head` and then each of `chunks` (stopping at
/// the first write error), then reads the response. Returns the status, the head, the body.
async fn raw(node: &TestNode, head: &str, chunks: &[Vec<u8>]) -> (u16, String, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(node.http_addr())
        .await
        .expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write head");
    for chunk in chunks {
        if stream.write_all(chunk).await.is_err() {
            break;
        }
    }
    read_response(&mut stream).await
}

/// Reads one HTTP/1.1 response (with a Content-Length body): the status, the head, the body.
async fn read_response(stream: &mut tokio::net::TcpStream) -> (u16, String, Vec<u8>) {
    let mut buf = Vec::new();
    let read = async {
        let mut part = [0u8; 16 * 1024];
        loop {
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    return;
                }
            }
            match stream.read(&mut part).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&part[..n]),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("a response in time");
    let end = find(&buf, b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, head, buf[end + 4..].to_vec())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One chunk of a chunked body.
fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

fn post_head(node: &TestNode, token: &str, framing: &str) -> String {
    format!(
        "POST /api/media HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: image/png\r\n{framing}\r\nConnection: close\r\n\r\n",
        node.http_addr()
    )
}

/// A chunked upload left unfinished: the head and a first chunk are sent, the rest waits.
struct HeldUpload {
    stream: tokio::net::TcpStream,
}

impl HeldUpload {
    async fn open(node: &TestNode, token: &str, first: &[u8]) -> HeldUpload {
        let mut stream = tokio::net::TcpStream::connect(node.http_addr())
            .await
            .expect("connect");
        let head = post_head(node, token, "Transfer-Encoding: chunked");
        stream.write_all(head.as_bytes()).await.expect("write head");
        stream.write_all(&chunk(first)).await.expect("first chunk");
        HeldUpload { stream }
    }

    /// Sends `rest` and the end of the body (a node that answered already may have closed the
    /// connection: write errors are ignored), then reads the answer.
    async fn finish(mut self, rest: &[u8]) -> (u16, String, Vec<u8>) {
        let mut tail = chunk(rest);
        tail.extend_from_slice(b"0\r\n\r\n");
        let _ = self.stream.write_all(&tail).await;
        read_response(&mut self.stream).await
    }
}

/// A group created by `owner` that `member` joined.
async fn group_of(owner: &mut Client, member: &mut Client) -> GroupId {
    let chat: ChatSummary = owner
        .ok(
            method::GROUPS_CREATE,
            &GroupCreateParams {
                txn: txn(),
                name: "media".into(),
                description: String::new(),
                visibility: Visibility::Private,
                handle: None,
            },
        )
        .await;
    let _: api::WriteResult = owner
        .ok(
            method::INVITES_SEND,
            &TargetParams {
                txn: txn(),
                group: chat.group.clone(),
                user: member.user().clone(),
            },
        )
        .await;
    let _: ChatSummary = member
        .ok(
            method::INVITES_ACCEPT,
            &TxnGroupParams {
                txn: txn(),
                group: chat.group.clone(),
            },
        )
        .await;
    chat.group
}

// ---- tests ----

async fn an_oversize_upload_gets_413_and_nothing_is_stored(backend: Backend) {
    const LIMIT: u64 = 64 * 1024;
    let node = start(backend, |c| c.media.max_upload_bytes = LIMIT).await;
    let alice = Account::register(&node, "alice").await;

    // A declared length over the limit: refused before a byte is read.
    let (status, _, body) = raw(
        &node,
        &post_head(&node, &alice.token, "Content-Length: 10000000000"),
        &[],
    )
    .await;
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    let json: Value = serde_json::from_slice(&body).expect("json error");
    assert_eq!(json["code"], "too_large");

    // Chunked, no length: refused once the body grows past the limit. The client sends just
    // past the limit and stops, so the server has read everything when it answers.
    let piece = random_bytes(16 * 1024);
    let chunks: Vec<Vec<u8>> = (0..=LIMIT / 16 / 1024).map(|_| chunk(&piece)).collect();
    let (status, _, body) = raw(
        &node,
        &post_head(&node, &alice.token, "Transfer-Encoding: chunked"),
        &chunks,
    )
    .await;
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));

    // One byte over, with an honest length.
    let (status, _) = upload(&node, &alice.token, random_bytes(LIMIT as usize + 1)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    assert_eq!(media_rows(&node).await, 0, "no row");
    assert_eq!(
        media_files(&node),
        Vec::<PathBuf>::new(),
        "no blob, no staged file"
    );

    // Exactly the limit is fine.
    let exact = random_bytes(LIMIT as usize);
    let id = uploaded(&node, &alice.token, exact.clone()).await;
    assert_eq!(media_rows(&node).await, 1);
    let files = media_files(&node);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with(sha_hex(&exact)));
    assert!(id.ends_with(&sha_hex(&exact)));
    node.shutdown().await;
}

async fn the_quota_gives_403_and_nothing_is_stored(backend: Backend) {
    const QUOTA: u64 = 100 * 1024;
    let node = start(backend, |c| c.media.quota_bytes = QUOTA).await;
    let alice = Account::register(&node, "alice").await;
    let bob = Account::register(&node, "bob").await;

    uploaded(&node, &alice.token, random_bytes(60 * 1024)).await;
    // Declared: 60 + 60 > 100.
    let (status, body) = upload(&node, &alice.token, random_bytes(60 * 1024)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "quota_exceeded");
    // Streamed without a length: read to the end (it might be a copy), then refused.
    let piece = random_bytes(8 * 1024);
    let mut chunks: Vec<Vec<u8>> = (0..6).map(|_| chunk(&piece)).collect();
    chunks.push(b"0\r\n\r\n".to_vec());
    let (status, _, _) = raw(
        &node,
        &post_head(&node, &alice.token, "Transfer-Encoding: chunked"),
        &chunks,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(media_rows(&node).await, 1);
    assert_eq!(media_files(&node).len(), 1, "only the first upload");

    // What still fits is accepted; the quota is per user.
    uploaded(&node, &alice.token, random_bytes(30 * 1024)).await;
    uploaded(&node, &bob.token, random_bytes(90 * 1024)).await;
    assert_eq!(media_rows(&node).await, 3);
    node.shutdown().await;
}

async fn parallel_uploads_never_store_more_than_the_quota(backend: Backend) {
    const QUOTA: u64 = 200 * 1024;
    const PART: usize = 30 * 1024;
    let node = start(backend, |c| {
        c.media.quota_bytes = QUOTA;
        c.media.max_concurrent_uploads = 10;
    })
    .await;
    let alice = Account::register(&node, "alice").await;
    // Ten uploads of 60 KiB, all in progress at once: each has sent half of its bytes before
    // any has finished. Each alone fits in the quota; together they are three times over it.
    let bodies: Vec<Vec<u8>> = (0..10).map(|_| random_bytes(2 * PART)).collect();
    let mut held = Vec::new();
    for body in &bodies {
        held.push(HeldUpload::open(&node, &alice.token, &body[..PART]).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let answers = futures_util::future::join_all(
        held.into_iter()
            .zip(&bodies)
            .map(|(upload, body)| upload.finish(&body[PART..])),
    )
    .await;
    let mut stored = 0u64;
    for (status, head, body) in &answers {
        match status {
            201 => stored += 2 * PART as u64,
            403 => assert!(
                String::from_utf8_lossy(body).contains("quota_exceeded"),
                "{head}"
            ),
            other => panic!("unexpected {other}: {head}"),
        }
    }
    assert!(stored > 0, "some fit");
    assert!(
        stored <= QUOTA,
        "{stored} bytes stored under a quota of {QUOTA}"
    );
    let rows = media_rows(&node).await;
    assert_eq!(
        u64::try_from(rows).expect("count") * 2 * PART as u64,
        stored
    );
    assert_eq!(
        media_files(&node).len(),
        usize::try_from(rows).expect("count"),
        "no blob or staged file of a refused upload is left"
    );
    // The reservations are all given back: what is left of the quota can be used.
    let room = QUOTA - stored;
    uploaded(
        &node,
        &alice.token,
        random_bytes(usize::try_from(room).expect("room")),
    )
    .await;
    node.shutdown().await;
}

async fn a_user_has_at_most_the_configured_uploads_in_progress(backend: Backend) {
    /// The default of `media_max_concurrent_uploads`.
    const CAP: usize = 4;
    let node = start(backend, |_| {}).await;
    let alice = Account::register(&node, "alice").await;
    let bob = Account::register(&node, "bob").await;
    let bodies: Vec<Vec<u8>> = (0..CAP + 2).map(|_| random_bytes(2000)).collect();
    let mut held = Vec::new();
    for body in &bodies {
        held.push(HeldUpload::open(&node, &alice.token, &body[..1000]).await);
    }
    // Another user is not affected.
    uploaded(&node, &bob.token, random_bytes(100)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut created = 0;
    let mut refused = 0;
    for (upload, body) in held.into_iter().zip(&bodies) {
        let (status, head, body) = upload.finish(&body[1000..]).await;
        match status {
            201 => created += 1,
            429 => {
                refused += 1;
                assert!(
                    head.to_ascii_lowercase().contains("\r\nretry-after: 1"),
                    "{head}"
                );
                let json: Value = serde_json::from_slice(&body).expect("json");
                assert_eq!(json["code"], "rate_limited", "{json}");
            }
            other => panic!("unexpected {other}: {head}"),
        }
    }
    assert_eq!((created, refused), (CAP, 2));
    assert_eq!(
        media_rows(&node).await,
        i64::try_from(CAP + 1).expect("count")
    );
    // Finished uploads give their places back.
    for _ in 0..CAP + 1 {
        uploaded(&node, &alice.token, random_bytes(100)).await;
    }
    node.shutdown().await;
}

async fn a_new_image_at_a_full_quota_is_refused_without_decoding(backend: Backend) {
    const QUOTA: u64 = 20 * 1024;
    let node = start(backend, |c| c.media.quota_bytes = QUOTA).await;
    let alice = Account::register(&node, "alice").await;
    uploaded(&node, &alice.token, random_bytes(QUOTA as usize)).await;
    let decoded = node.media().images_processed();

    // With a Content-Length over the room, and streamed without one.
    let image = fx::png(64, 48);
    let (status, body) = upload_as(&node, &alice.token, image.clone(), "image/png", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "quota_exceeded");
    let (status, head, _) = raw(
        &node,
        &post_head(&node, &alice.token, "Transfer-Encoding: chunked"),
        &[chunk(&image), b"0\r\n\r\n".to_vec()],
    )
    .await;
    assert_eq!(status, 403, "{head}");
    assert_eq!(
        node.media().images_processed(),
        decoded,
        "refused before any decoding"
    );
    assert_eq!(media_rows(&node).await, 1);
    assert_eq!(media_files(&node).len(), 1, "nothing staged is left");
    node.shutdown().await;
}

async fn re_uploading_at_a_full_quota_costs_nothing(backend: Backend) {
    let photo = fx::jpeg_with_gps_exif(64, 48);
    let first = random_bytes(20 * 1024);
    let node = start(backend, |_| {}).await;
    let alice = Account::register(&node, "alice").await;
    let (status, stored_photo) =
        upload_as(&node, &alice.token, photo.clone(), "image/jpeg", None).await;
    assert_eq!(status, StatusCode::CREATED, "{stored_photo}");
    let photo_size = stored_photo["size"].as_u64().expect("size");
    node.shutdown().await;

    // A node whose quota is exactly what alice stores: her photo (stripped) and 20 KiB.
    let quota = photo_size + 20 * 1024;
    let node = start(backend, |c| c.media.quota_bytes = quota).await;
    let alice = Account::register(&node, "alice").await;
    let (status, photo_info) =
        upload_as(&node, &alice.token, photo.clone(), "image/jpeg", None).await;
    assert_eq!(status, StatusCode::CREATED, "{photo_info}");
    let first_id = uploaded(&node, &alice.token, first.clone()).await;
    let (status, body) = upload(&node, &alice.token, vec![1]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "full: {body}");
    assert_eq!(body["code"], "quota_exceeded");

    // The same bytes again, with a Content-Length over the room: 200, nothing stored.
    let (status, again) = upload(&node, &alice.token, first.clone()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["id"], first_id.as_str());
    // Chunked, without a length.
    let (status, head, _) = raw(
        &node,
        &post_head(&node, &alice.token, "Transfer-Encoding: chunked"),
        &[
            chunk(&first[..10_000]),
            chunk(&first[10_000..]),
            b"0\r\n\r\n".to_vec(),
        ],
    )
    .await;
    assert_eq!(status, 200, "{head}");
    // The photo with its metadata again: its served bytes differ from those sent, which
    // the node remembers, so it answers without decoding the photo again.
    let decoded = node.media().images_processed();
    let (status, again) = upload_as(&node, &alice.token, photo, "image/jpeg", None).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["id"], photo_info["id"]);
    assert_eq!(
        node.media().images_processed(),
        decoded,
        "not decoded again"
    );
    // Another user may store the same bytes (new for them).
    let bob = Account::register(&node, "bob").await;
    let (status, _) = upload(&node, &bob.token, first).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(media_rows(&node).await, 2);
    let names: Vec<String> = media_files(&node)
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(
        names.iter().filter(|n| !n.contains('.')).count(),
        2,
        "two originals: {names:?}"
    );
    assert!(!names.iter().any(|n| n.ends_with(".part")), "{names:?}");
    node.shutdown().await;
}

async fn the_same_bytes_are_stored_once(backend: Backend) {
    let node = start(backend, |_| {}).await;
    let alice = Account::register(&node, "alice").await;
    let bob = Account::register(&node, "bob").await;
    let bytes = random_bytes(5000);

    let (status, first) = upload(&node, &alice.token, bytes.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(
        first["id"],
        format!("{}/{}", node.name(), sha_hex(&bytes)),
        "the id is node/sha256"
    );
    assert_eq!(first["kind"], "file");
    assert_eq!(first["mime"], "application/octet-stream");
    assert_eq!(first["size"], 5000);

    let (status, again) = upload(&node, &alice.token, bytes.clone()).await;
    assert_eq!(status, StatusCode::OK, "already uploaded by alice");
    assert_eq!(again, first);
    let (status, by_bob) = upload(&node, &bob.token, bytes.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "new for bob");
    assert_eq!(by_bob["id"], first["id"]);

    assert_eq!(media_rows(&node).await, 1);
    assert_eq!(media_files(&node).len(), 1, "one blob");
    assert_eq!(count(&node, "SELECT COUNT(*) FROM media_uploads").await, 2);
    node.shutdown().await;
}

async fn html_and_svg_claiming_png_are_never_served_inline(backend: Backend) {
    let node = start(backend, |_| {}).await;
    let alice = Account::register(&node, "alice").await;
    for bytes in [fx::html_document(), fx::svg_with_script()] {
        let (status, body) = upload_as(
            &node,
            &alice.token,
            bytes.clone(),
            "image/png",
            Some("cat.png"),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["kind"], "file");
        assert_eq!(body["mime"], "application/octet-stream");
        assert!(body.get("width").is_none());
        let hex = sha_hex(&bytes);

        for path in [
            format!("/api/media/{hex}"),
            format!("/api/media/{hex}?name=cat.png"),
        ] {
            let response = get(&node, &path, Some(&alice.token)).await;
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(header(&response, CONTENT_TYPE), "application/octet-stream");
            let disposition = header(&response, CONTENT_DISPOSITION);
            assert!(disposition.starts_with("attachment"), "{disposition}");
            assert_eq!(header(&response, "x-content-type-options"), "nosniff");
            assert_eq!(header(&response, "content-security-policy"), "sandbox");
            assert_eq!(
                header(&response, CACHE_CONTROL),
                "private, max-age=31536000, immutable"
            );
            assert_eq!(header(&response, ETAG), format!("\"{hex}\""));
            assert_eq!(header(&response, ACCEPT_RANGES), "bytes");
            assert_eq!(response.bytes().await.expect("body").to_vec(), bytes);
        }
        let named = get(
            &node,
            &format!("/api/media/{hex}?name=cat.png"),
            Some(&alice.token),
        )
        .await;
        assert_eq!(
            header(&named, CONTENT_DISPOSITION),
            "attachment; filename*=UTF-8''cat.png"
        );
        // No thumbnail for a file.
        let thumb = get(
            &node,
            &format!("/api/media/{hex}/thumb/96"),
            Some(&alice.token),
        )
        .await;
        assert_eq!(thumb.status(), StatusCode::NOT_FOUND);
    }

    // An image is inline, unless dl=1.
    let png = fx::png(40, 30);
    let id = uploaded(&node, &alice.token, png).await;
    let hex = hex(&sha_of(&id));
    let inline = get(&node, &format!("/api/media/{hex}"), Some(&alice.token)).await;
    assert_eq!(header(&inline, CONTENT_TYPE), "image/png");
    assert_eq!(header(&inline, CONTENT_DISPOSITION), "inline");
    assert_eq!(header(&inline, "content-security-policy"), "sandbox");
    let download = get(
        &node,
        &format!("/api/media/{hex}?dl=1&name=r%C3%A9sum%C3%A9%20%231.png"),
        Some(&alice.token),
    )
    .await;
    assert_eq!(
        header(&download, CONTENT_DISPOSITION),
        "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9%20#1.png"
    );
    // A name signed before the shown-text rule (a zero-width space, a soft hyphen) still
    // downloads under its name: the URL's name follows the rule for signed names.
    let old = get(
        &node,
        &format!("/api/media/{hex}?dl=1&name=re%E2%80%8Bport%C2%AD.png"),
        Some(&alice.token),
    )
    .await;
    assert_eq!(old.status(), StatusCode::OK);
    assert_eq!(
        header(&old, CONTENT_DISPOSITION),
        "attachment; filename*=UTF-8''re%E2%80%8Bport%C2%AD.png"
    );
    // An override was never allowed in a file name, and still is not.
    let rlo = get(
        &node,
        &format!("/api/media/{hex}?dl=1&name=gpj%E2%80%AE.exe"),
        Some(&alice.token),
    )
    .await;
    assert_eq!(rlo.status(), StatusCode::BAD_REQUEST);
    node.shutdown().await;
}

async fn a_png_bomb_is_refused_and_the_node_keeps_serving(backend: Backend) {
    let node = start(backend, |_| {}).await;
    let alice = Account::register(&node, "alice").await;
    let bomb = fx::png_bomb_header(50_000, 50_000);
    let (status, body) = upload_as(&node, &alice.token, bomb.clone(), "image/png", None).await;
    match status {
        StatusCode::UNPROCESSABLE_ENTITY => {
            assert_eq!(body["code"], "image_too_large", "{body}");
            assert_eq!(media_rows(&node).await, 0, "nothing stored");
            assert_eq!(media_files(&node), Vec::<PathBuf>::new());
        }
        StatusCode::CREATED => {
            let hex = hex(&sha_of(body["id"].as_str().expect("id")));
            for size in [96, 320, 1280] {
                let thumb = get(
                    &node,
                    &format!("/api/media/{hex}/thumb/{size}"),
                    Some(&alice.token),
                )
                .await;
                assert_eq!(thumb.status(), StatusCode::NOT_FOUND, "no thumbnail");
            }
        }
        other => panic!("a bomb got {other}: {body}"),
    }

    let health = get(&node, "/healthz", None).await;
    assert_eq!(health.status(), StatusCode::OK);
    let (status, body) = upload(&node, &alice.token, fx::png(64, 64)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["kind"], "image");
    assert_eq!(body["width"], 64);
    node.shutdown().await;
}

async fn outsiders_get_the_same_refusal_as_for_unknown_media(backend: Backend) {
    let node = start(backend, |_| {}).await;
    let alice = Account::register(&node, "alice").await;
    let bob = Account::register(&node, "bob").await;
    let bytes = random_bytes(3000);
    let id = uploaded(&node, &alice.token, bytes.clone()).await;
    let sha = sha_of(&id);
    let hex = hex(&sha);
    let unknown = "ab".repeat(32);

    async fn refusal(response: reqwest::Response) -> (StatusCode, String) {
        (response.status(), response.text().await.expect("body"))
    }
    let reference =
        refusal(get(&node, &format!("/api/media/{unknown}"), Some(&bob.token)).await).await;
    assert_eq!(reference.0, StatusCode::NOT_FOUND);

    let signer = node.media().signer();
    let good = signer.url(&sha, None, now());
    let (good_path, good_query) = good.split_once('?').expect("query");
    let good_exp = good_query
        .split('&')
        .find_map(|p| p.strip_prefix("exp="))
        .expect("exp");
    let past = Timestamp(now().0 - 60_000);
    let expired_sig = signer.sign(&sha, None, past);
    let other_sig = signer.sign(&[1; 32], None, signer.expiry(now()));
    let thumb_sig = signer.sign(&sha, Some(96), signer.expiry(now()));

    let refused = [
        (format!("/api/media/{hex}"), Some(bob.token.as_str())),
        (format!("/api/media/{hex}"), None),
        (
            format!("/api/media/{hex}?exp={}&sig={expired_sig}", past.0),
            None,
        ),
        (
            format!("/api/media/{hex}?exp={good_exp}&sig={other_sig}"),
            None,
        ),
        (
            format!("/api/media/{hex}?exp={good_exp}&sig={thumb_sig}"),
            None,
        ),
        (
            format!("/api/media/{unknown}?exp={good_exp}&sig={other_sig}"),
            None,
        ),
        (
            format!("/api/media/{hex}/thumb/96"),
            Some(bob.token.as_str()),
        ),
        (format!("{good_path}/thumb/96?{good_query}"), None),
    ];
    for (path, token) in refused {
        let got = refusal(get(&node, &path, token).await).await;
        assert_eq!(got, reference, "{path} must be refused like unknown media");
    }

    // A malformed signature is a bad request; a bad token is unauthenticated.
    let malformed = get(&node, &format!("/api/media/{hex}?exp=soon&sig=x"), None).await;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let half = get(&node, &format!("/api/media/{hex}?exp={good_exp}"), None).await;
    assert_eq!(half.status(), StatusCode::BAD_REQUEST);
    let bad_token = get(&node, &format!("/api/media/{hex}"), Some("not-a-token")).await;
    assert_eq!(bad_token.status(), StatusCode::UNAUTHORIZED);

    // The uploader, and anyone with a valid signed URL.
    let mine = get(&node, &format!("/api/media/{hex}"), Some(&alice.token)).await;
    assert_eq!(mine.status(), StatusCode::OK);
    assert_eq!(mine.bytes().await.expect("body").to_vec(), bytes);
    let signed = get(&node, &good, None).await;
    assert_eq!(signed.status(), StatusCode::OK);
    assert_eq!(header(&signed, "x-content-type-options"), "nosniff");
    assert_eq!(signed.bytes().await.expect("body").to_vec(), bytes);
    node.shutdown().await;
}

async fn group_members_and_public_references_give_access(backend: Backend) {
    let node = start(backend, |_| {}).await;
    let mut alice = Client::register(&node, "alice").await;
    let mut bob = Client::register(&node, "bob").await;
    let carol = Account::register(&node, "carol").await;
    let group = group_of(&mut alice, &mut bob).await;
    let alice_token = alice.account().token.clone();
    let bob_token = bob.account().token.clone();

    let posted = uploaded(&node, &alice_token, random_bytes(2000)).await;
    let avatar = uploaded(&node, &alice_token, fx::png(32, 32)).await;
    let posted_hex = hex(&sha_of(&posted));
    let avatar_hex = hex(&sha_of(&avatar));
    for hex in [&posted_hex, &avatar_hex] {
        for token in [&bob_token, &carol.token] {
            let r = get(&node, &format!("/api/media/{hex}"), Some(token)).await;
            assert_eq!(
                r.status(),
                StatusCode::NOT_FOUND,
                "nothing refers to it yet"
            );
        }
    }

    // Posted in the group (the chat layer writes this row with the message).
    execute(
        &node,
        &format!(
            "INSERT INTO media_refs (sha256, group_id, seq, user_id, public) \
             VALUES ('{posted_hex}', '{group}', 3, NULL, FALSE)"
        ),
    )
    .await;
    // Alice's avatar.
    execute(
        &node,
        &format!(
            "INSERT INTO media_refs (sha256, group_id, seq, user_id, public) \
             VALUES ('{avatar_hex}', NULL, NULL, '{}', TRUE)",
            alice.user()
        ),
    )
    .await;

    let member = get(&node, &format!("/api/media/{posted_hex}"), Some(&bob_token)).await;
    assert_eq!(member.status(), StatusCode::OK, "a member of the group");
    let outsider = get(
        &node,
        &format!("/api/media/{posted_hex}"),
        Some(&carol.token),
    )
    .await;
    assert_eq!(outsider.status(), StatusCode::NOT_FOUND, "not a member");
    for token in [&bob_token, &carol.token] {
        let r = get(&node, &format!("/api/media/{avatar_hex}"), Some(token)).await;
        assert_eq!(r.status(), StatusCode::OK, "an avatar is public");
        let t = get(
            &node,
            &format!("/api/media/{avatar_hex}/thumb/96"),
            Some(token),
        )
        .await;
        assert_eq!(t.status(), StatusCode::OK, "and so are its thumbnails");
    }
    node.shutdown().await;
}

async fn range_requests_return_exactly_the_asked_bytes(backend: Backend) {
    let node = start(backend, |_| {}).await;
    let alice = Account::register(&node, "alice").await;
    let bytes = random_bytes(1000);
    let id = uploaded(&node, &alice.token, bytes.clone()).await;
    let path = format!("/api/media/{}", hex(&sha_of(&id)));
    let token = Some(alice.token.as_str());

    for (range, want, content_range) in [
        ("bytes=0-9", &bytes[0..10], "bytes 0-9/1000"),
        ("bytes=10-", &bytes[10..], "bytes 10-999/1000"),
        ("bytes=-5", &bytes[995..], "bytes 995-999/1000"),
        ("bytes=990-5000", &bytes[990..], "bytes 990-999/1000"),
        ("bytes=999-999", &bytes[999..], "bytes 999-999/1000"),
    ] {
        let r = get_with(&node, &path, token, ("range", range)).await;
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(header(&r, CONTENT_RANGE), content_range, "{range}");
        assert_eq!(header(&r, "content-length"), want.len().to_string());
        assert_eq!(header(&r, "content-security-policy"), "sandbox");
        assert_eq!(r.bytes().await.expect("body").to_vec(), want, "{range}");
    }
    for range in ["bytes=1000-", "bytes=5000-6000", "bytes=-0"] {
        let r = get_with(&node, &path, token, ("range", range)).await;
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(header(&r, CONTENT_RANGE), "bytes */1000");
    }
    for range in ["bytes=0-1,5-6", "bytes=9-2", "lines=1-2"] {
        let r = get_with(&node, &path, token, ("range", range)).await;
        assert_eq!(r.status(), StatusCode::OK, "{range}: the whole body");
        assert_eq!(r.bytes().await.expect("body").to_vec(), bytes);
    }
    // A signed URL works with ranges too (a <video> seeking).
    let signed = node.media().signer().url(&sha_of(&id), None, now());
    let r = get_with(&node, &signed, None, ("range", "bytes=100-199")).await;
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes().await.expect("body").to_vec(), &bytes[100..200]);
    // A cached copy is revalidated by its ETag.
    let r = get_with(
        &node,
        &path,
        token,
        ("if-none-match", &format!("\"{}\"", hex(&sha_of(&id)))),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    node.shutdown().await;
}

async fn path_traversal_in_any_parameter_is_rejected(backend: Backend) {
    let node = start(backend, |_| {}).await;
    let alice = Account::register(&node, "alice").await;
    let id = uploaded(&node, &alice.token, fx::png(50, 50)).await;
    let hex = hex(&sha_of(&id));
    let upper = hex.to_uppercase();
    let short = &hex[..63];
    let long = format!("{hex}0");
    let paths = [
        "/api/media/..%2F..%2Fwinichat.db".to_owned(),
        "/api/media/..%2F..%2Fnode.key".to_owned(),
        "/api/media/%2e%2e".to_owned(),
        "/api/media/%2e%2e/%2e%2e/node.key".to_owned(),
        "/api/media/../../node.key".to_owned(),
        "/api/media/..%5C..%5Cnode.key".to_owned(),
        "/api/media/not-hex".to_owned(),
        format!("/api/media/{upper}"),
        format!("/api/media/{short}"),
        format!("/api/media/{long}"),
        format!("/api/media/{}%00", &hex),
        format!("/api/media/{hex}/thumb/97"),
        format!("/api/media/{hex}/thumb/0096"),
        format!("/api/media/{hex}/thumb/..%2F..%2F..%2Fnode.key"),
        format!("/api/media/{hex}/thumb/%2e%2e"),
        format!("/api/media/{hex}?name=../../node.key"),
        format!("/api/media/{hex}?name=..%2F..%2Fnode.key"),
        format!("/api/media/{hex}?name=a%5Cb"),
        format!("/api/media/{hex}?name=a%0Ab"),
        format!("/api/media/{hex}?name=..&dl=1"),
        format!("/api/media/{hex}?dl=../x"),
    ];
    for path in paths {
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            node.http_addr(),
            alice.token
        );
        let (status, _, body) = raw(&node, &head, &[]).await;
        assert!(status == 400 || status == 404, "{path}: {status}");
        assert!(!fx::contains(&body, b"SQLite format 3"), "{path}");
        assert!(!fx::contains(&body, b"PRIVATE KEY"), "{path}");
        assert!(!fx::contains(&body, b"\x89PNG"), "{path}");
    }
    // The upload's name is checked too.
    let (status, _) = upload_as(
        &node,
        &alice.token,
        random_bytes(10),
        "text/plain",
        Some("../../etc/passwd"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The layout of the store never holds anything but hashes.
    for file in media_files(&node) {
        let rel = file
            .strip_prefix(node.data_dir().join("media"))
            .expect("inside the media dir");
        let name = rel.to_string_lossy();
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_hexdigit() || b"/.t".contains(&b)),
            "{name}"
        );
    }
    node.shutdown().await;
}

async fn a_jpeg_with_gps_exif_is_served_without_it(backend: Backend) {
    let node = start(backend, |_| {}).await;
    let alice = Account::register(&node, "alice").await;
    let original = fx::jpeg_with_gps_exif(64, 48);
    assert!(fx::contains(&original, b"Exif"));
    assert!(fx::contains(&original, fx::CAMERA_MAKE.as_bytes()));
    let (status, body) = upload_as(&node, &alice.token, original.clone(), "image/jpeg", None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["kind"], "image");
    assert_eq!(body["mime"], "image/jpeg");
    assert_eq!(body["width"], 64);
    assert_eq!(body["height"], 48);
    let id = body["id"].as_str().expect("id");
    assert_ne!(
        sha_of(id),
        <[u8; 32]>::from(Sha256::digest(&original)),
        "rewritten"
    );

    let served = get(
        &node,
        &format!("/api/media/{}", hex(&sha_of(id))),
        Some(&alice.token),
    )
    .await
    .bytes()
    .await
    .expect("body")
    .to_vec();
    assert!(!fx::contains(&served, b"Exif"), "no Exif segment");
    assert!(!fx::contains(&served, fx::CAMERA_MAKE.as_bytes()));
    assert_eq!(
        <[u8; 32]>::from(Sha256::digest(&served)),
        sha_of(id),
        "the id is the hash of the bytes served"
    );
    assert_eq!(body["size"], served.len());
    let decoded = fx::decode(&served).expect("still a JPEG");
    assert_eq!((decoded.width(), decoded.height()), (64, 48));
    // Every thumbnail is clean as well.
    for size in [96, 320] {
        let r = get(
            &node,
            &format!("/api/media/{}/thumb/{size}", hex(&sha_of(id))),
            Some(&alice.token),
        )
        .await;
        if r.status() == StatusCode::OK {
            let t = r.bytes().await.expect("thumb").to_vec();
            assert!(!fx::contains(&t, b"Exif"));
        }
    }
    // Uploading the original again dedupes to the same stripped copy.
    let (status, again) = upload_as(&node, &alice.token, original, "image/jpeg", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], id);
    node.shutdown().await;
}

async fn thumbnails_are_served_for_images_only(backend: Backend) {
    let node = start(backend, |_| {}).await;
    let alice = Account::register(&node, "alice").await;
    let (status, body) = upload(&node, &alice.token, fx::png(800, 600)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["width"], 800);
    assert_eq!(body["height"], 600);
    assert!(
        body["blurhash"].as_str().is_some_and(|b| !b.is_empty()),
        "{body}"
    );
    let hex = hex(&sha_of(body["id"].as_str().expect("id")));
    for size in [96u32, 320] {
        let path = format!("/api/media/{hex}/thumb/{size}");
        let r = get(&node, &path, Some(&alice.token)).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let mime = header(&r, CONTENT_TYPE);
        assert!(mime == "image/jpeg" || mime == "image/png", "{mime}");
        assert_eq!(header(&r, CONTENT_DISPOSITION), "inline");
        assert_eq!(header(&r, ETAG), format!("\"{hex}-{size}\""));
        assert_eq!(header(&r, "x-content-type-options"), "nosniff");
        assert_eq!(header(&r, "content-security-policy"), "sandbox");
        let thumb = fx::decode(&r.bytes().await.expect("thumb")).expect("an image");
        assert_eq!(thumb.width().max(thumb.height()), size);
        // Signed thumbnail URLs.
        let signed =
            node.media()
                .signer()
                .url(&sha_of(body["id"].as_str().expect("id")), Some(size), now());
        assert_eq!(get(&node, &signed, None).await.status(), StatusCode::OK);
    }
    let bad = get(
        &node,
        &format!("/api/media/{hex}/thumb/100"),
        Some(&alice.token),
    )
    .await;
    assert_eq!(
        bad.status(),
        StatusCode::BAD_REQUEST,
        "not a thumbnail size"
    );
    let file = uploaded(&node, &alice.token, random_bytes(100)).await;
    let r = get(
        &node,
        &format!("/api/media/{}/thumb/96", self::hex(&sha_of(&file))),
        Some(&alice.token),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "no thumbnail for a file");
    node.shutdown().await;
}

async fn the_clean_up_removes_old_unreferenced_uploads_only(backend: Backend) {
    let node = start(backend, |_| {}).await;
    let alice = Account::register(&node, "alice").await;
    let kept = uploaded(&node, &alice.token, fx::png(120, 90)).await;
    let dropped = uploaded(&node, &alice.token, fx::png(90, 120)).await;
    let fresh_files = media_files(&node).len();
    assert!(fresh_files >= 2);
    let kept_hex = hex(&sha_of(&kept));
    let dropped_hex = hex(&sha_of(&dropped));
    execute(
        &node,
        &format!(
            "INSERT INTO media_refs (sha256, group_id, seq, user_id, public) \
             VALUES ('{kept_hex}', NULL, NULL, '{}', TRUE)",
            alice.user
        ),
    )
    .await;

    // Within the grace period nothing goes.
    assert_eq!(node.media().gc(now()).await.expect("gc"), 0);
    assert_eq!(media_files(&node).len(), fresh_files);

    // Two days later the unreferenced upload goes, with its thumbnails and its upload row.
    let later = Timestamp(now().0 + 2 * 86_400_000);
    assert_eq!(node.media().gc(later).await.expect("gc"), 1);
    assert_eq!(media_rows(&node).await, 1);
    assert_eq!(count(&node, "SELECT COUNT(*) FROM media_uploads").await, 1);
    let files = media_files(&node);
    assert!(
        files
            .iter()
            .all(|f| !f.to_string_lossy().contains(&dropped_hex)),
        "{files:?}"
    );
    assert!(files.iter().any(|f| f.ends_with(&kept_hex)));
    let gone = get(
        &node,
        &format!("/api/media/{dropped_hex}"),
        Some(&alice.token),
    )
    .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let still = get(&node, &format!("/api/media/{kept_hex}"), Some(&alice.token)).await;
    assert_eq!(still.status(), StatusCode::OK);

    // Uploading the removed bytes again brings them back.
    let (status, _) = upload(&node, &alice.token, fx::png(90, 120)).await;
    assert_eq!(status, StatusCode::CREATED);
    node.shutdown().await;
}

async fn uploads_need_a_valid_token(backend: Backend) {
    let node = start(backend, |_| {}).await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/media", node.http_url()))
        .body(random_bytes(10))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = upload(&node, "forged", random_bytes(10)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "unauthenticated");
    let alice = Account::register(&node, "alice").await;
    let (status, body) = upload(&node, &alice.token, Vec::new()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(media_rows(&node).await, 0);
    node.shutdown().await;
}
