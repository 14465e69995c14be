//! "Acknowledged means durable" under group commit, checked against a crash: the real
//! `winichat serve` takes posts from many connections into many groups at once (so batches
//! form), is killed with SIGKILL in the middle of it, and is started again on the same data.
//! Every post that got an OK reply must then be in its group's log, at the seq and with the
//! event id the reply named, and a retry of its txn must answer that same result; posts whose
//! reply never came may be there or not, but never twice.
//!
//! A node that replied before its batch's COMMIT would show here as acknowledged posts missing
//! after the restart. (SIGKILL ends the process, not the machine: what reached the operating
//! system survives it, so this checks the order "commit, then reply", not the fsync itself.)

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ciborium::Value;
use common::Server;
use winichat_protocol::error_code::ErrorBody;
use winichat_protocol::event::EventKind;
use winichat_protocol::gateway::chat::{WriteResult, event, method};
use winichat_protocol::gateway::{self};
use winichat_protocol::ids::{EventId, GroupId};
use winichat_testkit::client::{Account, Client, Endpoint};
use winichat_testkit::postgres::TestDatabase;
use winichat_testkit::users;

const NAME: &str = "durable.test";
/// Test clients call as fast as they can and read pushes only in passing.
const UNTHROTTLED: &[(&str, &str)] = &[
    ("WINICHAT_REQUEST_RATE_BURST", "1000000"),
    ("WINICHAT_REQUEST_RATE_PER_SEC", "1000000"),
    ("WINICHAT_SEND_QUEUE_BYTES", "1073741824"),
];

const USERS: usize = 4;
const GROUPS_PER_USER: usize = 2;
/// A connection answers one request at a time, so concurrent writes (and batches) come from
/// many connections.
const CONNECTIONS_PER_USER: usize = 6;
/// Requests each connection keeps sent ahead of their replies, so it is never idle.
const WINDOW: usize = 8;
/// A bound on each poster; the node is killed long before the posters get there.
const POSTS_PER_POSTER: usize = 5_000;
/// The node is killed once this many posts were acknowledged…
const KILL_AFTER_ACKS: usize = 1_500;
/// …or this long after the posters started, whichever comes first.
const KILL_AT_LATEST: Duration = Duration::from_secs(20);
/// A poster waiting longer than this for a reply gives up (the node is gone).
const REPLY_WAIT: Duration = Duration::from_secs(30);
/// How long the posters have to notice the node is gone.
const POSTERS_END: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_posts_survive_sigkill_on_sqlite() {
    let data = tempfile::tempdir().expect("data dir");
    crash_and_check(data.path(), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_posts_survive_sigkill_on_postgres() {
    let data = tempfile::tempdir().expect("data dir");
    // The throwaway database does not wait for WAL flushes (`synchronous_commit = off`); only
    // the node is killed here, so what PostgreSQL committed stays committed either way.
    let database = TestDatabase::create().await;
    crash_and_check(data.path(), &["--database-url", database.url()]).await;
}

/// One message posted (or maybe posted: its request went out).
#[derive(Debug)]
struct Sent {
    txn: String,
    text: String,
}

/// What one poster (one connection, one group) sent and what it was told.
#[derive(Debug)]
struct PosterLog {
    poster: usize,
    owner: usize,
    group: GroupId,
    /// In order: message `n` is `sent[n]`.
    sent: Vec<Sent>,
    /// The OK replies, by message number.
    acked: BTreeMap<usize, WriteResult>,
    /// The error replies, by message number.
    refused: Vec<(usize, ErrorBody)>,
}

/// A post as the restarted node's log has it.
#[derive(Debug, Clone)]
struct Stored {
    seq: u64,
    id: EventId,
}

fn message_text(poster: usize, n: usize) -> String {
    format!("poster {poster} message {n}")
}

/// The poster and message number of a text made by [`message_text`].
fn parse_message_text(text: &str) -> Option<(usize, usize)> {
    let rest = text.strip_prefix("poster ")?;
    let (poster, n) = rest.split_once(" message ")?;
    Some((poster.parse().ok()?, n.parse().ok()?))
}

fn endpoint(server: &Server) -> Endpoint {
    Endpoint {
        http: server.http(),
        name: NAME.parse().expect("node name"),
    }
}

fn username(owner: usize) -> String {
    format!("poster_{owner}")
}

async fn crash_and_check(data_dir: &Path, extra: &[&str]) {
    // Starting and killing the node block this thread for moments; the clients' tasks run on
    // the runtime's workers meanwhile.
    let mut server = Server::start_with_env(data_dir, NAME, extra, UNTHROTTLED);
    let logs = post_and_kill(&mut server).await;
    drop(server);

    let acked: usize = logs.iter().map(|l| l.acked.len()).sum();
    let sent: usize = logs.iter().map(|l| l.sent.len()).sum();
    println!("posts sent: {sent}, acknowledged before SIGKILL: {acked}");
    assert!(
        acked > 0,
        "no post was acknowledged before the node was killed"
    );
    assert!(
        acked < sent,
        "every post sent was answered before the kill: the kill did not land mid-load"
    );
    for log in &logs {
        assert!(
            log.refused.is_empty(),
            "poster {} had posts refused: {:?}",
            log.poster,
            log.refused
        );
    }

    let server = Server::start_with_env(data_dir, NAME, extra, UNTHROTTLED);
    let endpoint = endpoint(&server);
    let mut owners = Vec::with_capacity(USERS);
    for owner in 0..USERS {
        let account = Account::login_at(&endpoint, &username(owner)).await;
        owners.push(Client::connect_at(endpoint.http, &account, None).await);
    }

    let mut groups: Vec<(usize, GroupId)> =
        logs.iter().map(|l| (l.owner, l.group.clone())).collect();
    groups.sort_by_key(|(_, group)| group.to_string());
    groups.dedup_by(|a, b| a.1 == b.1);
    assert_eq!(groups.len(), USERS * GROUPS_PER_USER);
    let mut present_unacked = 0;
    for (owner, group) in &groups {
        let client = &mut owners[*owner];
        let posters: Vec<&PosterLog> = logs.iter().filter(|l| l.group == *group).collect();
        let (head, stored) = read_log(client, group, sent).await;
        check_group(group, &posters, &stored);
        present_unacked += retry_and_check(client, group, &posters, &stored).await;
        // The retries appended nothing, and the log goes on right after its head.
        let fresh = users::post(client, group, "after the restart").await;
        assert_eq!(
            fresh.seq,
            head + 1,
            "{group}: the first post after the restart follows the head ({head})"
        );
    }
    println!("posts written but unanswered when the node died: {present_unacked}");
}

/// Registers the users, makes their groups, runs every poster, and kills the node with
/// SIGKILL in the middle; returns what each poster sent and was told.
async fn post_and_kill(server: &mut Server) -> Vec<PosterLog> {
    let endpoint = endpoint(server);
    let mut posters = Vec::new();
    let acks = Arc::new(AtomicUsize::new(0));
    for owner in 0..USERS {
        let account = Account::register_at(&endpoint, &username(owner)).await;
        let mut first = Client::connect_at(endpoint.http, &account, None).await;
        let mut groups = Vec::with_capacity(GROUPS_PER_USER);
        for g in 0..GROUPS_PER_USER {
            groups.push(users::public_group(&mut first, &format!("crash_{owner}_{g}")).await);
        }
        drop(first);
        for c in 0..CONNECTIONS_PER_USER {
            let client = Client::connect_at(endpoint.http, &account, None).await;
            let poster = posters.len();
            let group = groups[c % GROUPS_PER_USER].clone();
            posters.push((client, poster, owner, group));
        }
    }
    let started = Instant::now();
    let tasks: Vec<_> = posters
        .into_iter()
        .map(|(client, poster, owner, group)| {
            tokio::spawn(post_until_gone(client, poster, owner, group, acks.clone()))
        })
        .collect();

    while acks.load(Ordering::Relaxed) < KILL_AFTER_ACKS
        && started.elapsed() < KILL_AT_LATEST
        && !tasks.iter().all(|t| t.is_finished())
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();

    let mut logs = Vec::with_capacity(tasks.len());
    for task in tasks {
        let log = tokio::time::timeout(POSTERS_END, task)
            .await
            .expect("a poster did not notice the node was gone")
            .expect("a poster panicked");
        logs.push(log);
    }
    logs
}

/// Posts numbered messages to `group` over `client`, keeping [`WINDOW`] requests in flight,
/// until the connection breaks (or [`POSTS_PER_POSTER`] were answered).
async fn post_until_gone(
    mut client: Client,
    poster: usize,
    owner: usize,
    group: GroupId,
    acks: Arc<AtomicUsize>,
) -> PosterLog {
    let mut log = PosterLog {
        poster,
        owner,
        group,
        sent: Vec::new(),
        acked: BTreeMap::new(),
        refused: Vec::new(),
    };
    // Request id → message number.
    let mut pending: HashMap<u64, usize> = HashMap::new();
    'posting: loop {
        while pending.len() < WINDOW && log.sent.len() < POSTS_PER_POSTER {
            let n = log.sent.len();
            let params = users::post_params(&log.group, &message_text(poster, n));
            let value = gateway::to_value(&params).expect("encode post params");
            // Recorded before it goes out: from then on it may be written, reply or not.
            log.sent.push(Sent {
                txn: params.txn,
                text: params.text,
            });
            match client.try_send(method::MSGS_POST, value).await {
                Ok(id) => {
                    pending.insert(id, n);
                }
                Err(_) => break 'posting,
            }
        }
        if pending.is_empty() {
            break;
        }
        client.discard_pushes(event::CHAT_EVENT);
        let Some((id, reply)) = client.next_reply(REPLY_WAIT).await else {
            break;
        };
        let n = pending
            .remove(&id)
            .unwrap_or_else(|| panic!("poster {poster}: a reply to request {id}, never sent"));
        match reply {
            Ok(value) => {
                let result: WriteResult =
                    gateway::decode_params(&value).expect("msgs.post answers a write result");
                log.acked.insert(n, result);
                acks.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => log.refused.push((n, error)),
        }
    }
    log
}

/// The whole log of `group`, read page by page: its head, and its posts by text. Checks that
/// the seqs run 1, 2, 3 … with no gap and that no text is there twice.
async fn read_log(
    client: &mut Client,
    group: &GroupId,
    posts_sent: usize,
) -> (u64, HashMap<String, Stored>) {
    let mut stored = HashMap::new();
    let mut head = 0;
    // Every post sent plus the group's own events, a page of at most 100 at a time.
    let max_pages = posts_sent / 100 + 10;
    for _ in 0..max_pages {
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
            let text = body_text(&item.body)
                .unwrap_or_else(|| panic!("{group}: post at seq {} has no text", item.seq));
            let again = stored.insert(
                text.clone(),
                Stored {
                    seq: item.seq,
                    id: item.id,
                },
            );
            if let Some(first) = again {
                panic!(
                    "{group}: {text:?} is in the log twice, at seqs {} and {}",
                    first.seq, item.seq
                );
            }
        }
        if !page.more_after {
            return (head, stored);
        }
    }
    panic!("{group}: the log did not end within {max_pages} pages");
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

/// Every acknowledged post of `group` is stored at the seq and with the id its reply named;
/// every stored post was sent by one of the group's posters; and each poster's stored posts
/// are the first ones it sent, in order (a connection sends its next post only after the
/// previous one was answered, so a later post can only be there if every earlier one is).
fn check_group(group: &GroupId, posters: &[&PosterLog], stored: &HashMap<String, Stored>) {
    let mut lost = Vec::new();
    for log in posters {
        for (n, ack) in &log.acked {
            let text = &log.sent[*n].text;
            match stored.get(text) {
                None => lost.push(text.clone()),
                Some(s) => {
                    assert_eq!(ack.group, *group, "{text:?}: the reply named another group");
                    assert_eq!(
                        (s.seq, &s.id),
                        (ack.seq, &ack.id),
                        "{group}: {text:?} is stored elsewhere than its reply said"
                    );
                }
            }
        }
    }
    assert!(
        lost.is_empty(),
        "{group}: {} acknowledged posts are missing after the crash (acknowledged before they \
         were durable), e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );

    for text in stored.keys() {
        let (poster, n) = parse_message_text(text)
            .unwrap_or_else(|| panic!("{group}: a post nobody sent: {text:?}"));
        let log = posters
            .iter()
            .find(|l| l.poster == poster)
            .unwrap_or_else(|| panic!("{group}: {text:?} is from a poster of another group"));
        assert!(n < log.sent.len(), "{group}: {text:?} was never sent");
    }

    for log in posters {
        let present: Vec<(usize, u64)> = (0..log.sent.len())
            .filter_map(|n| stored.get(&log.sent[n].text).map(|s| (n, s.seq)))
            .collect();
        for (i, (n, _)) in present.iter().enumerate() {
            assert_eq!(
                *n, i,
                "{group}: poster {}'s message {n} is stored but message {i} is not",
                log.poster
            );
        }
        assert!(
            present.windows(2).all(|w| w[0].1 < w[1].1),
            "{group}: poster {}'s messages are stored out of order: {present:?}",
            log.poster
        );
    }
}

/// Sends again, with the same txn, every post of `group` that is stored: each retry must
/// answer the stored result (the txn was remembered with the event) instead of posting again.
/// Returns how many of them were stored without their reply having arrived.
async fn retry_and_check(
    client: &mut Client,
    group: &GroupId,
    posters: &[&PosterLog],
    stored: &HashMap<String, Stored>,
) -> usize {
    let mut unacked = 0;
    for log in posters {
        for (n, sent) in log.sent.iter().enumerate() {
            let Some(s) = stored.get(&sent.text) else {
                continue;
            };
            if !log.acked.contains_key(&n) {
                unacked += 1;
            }
            let mut params = users::post_params(group, &sent.text);
            params.txn = sent.txn.clone();
            let again: WriteResult = client.ok(method::MSGS_POST, &params).await;
            assert_eq!(
                (again.seq, &again.id),
                (s.seq, &s.id),
                "{group}: retrying {:?} did not answer the stored post",
                sent.text
            );
        }
    }
    unacked
}
