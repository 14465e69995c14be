//! The gateway's memory for resuming stays bounded: maximal messages posted to a group of many
//! recently connected members are kept once (not once per member), within the hub's total, and
//! a client whose window was cut resumes with `resumed: false` while one whose window is whole
//! resumes with every push it missed.

use std::time::Duration;

use winichat_protocol::gateway::chat::{self as api, ChatSummary, method};
use winichat_protocol::group::{MAX_TEXT_CHARS, Visibility};
use winichat_protocol::ids::GroupId;
use winichat_testkit::client::{Client, txn};
use winichat_testkit::node::{Backend, TestNode};

const WAIT: Duration = Duration::from_secs(10);
/// More than one maximal post's push takes.
const PUSH_ROOM: usize = 64 * 1024;

/// A maximal message: the most characters, each of four UTF-8 bytes.
fn maximal_text(n: usize) -> String {
    let mut text = format!("{n} ");
    while text.chars().count() < MAX_TEXT_CHARS {
        text.push('😀');
    }
    text
}

async fn node(window_bytes: usize, total_bytes: usize) -> TestNode {
    TestNode::start_with(Backend::Sqlite, |c| {
        c.gateway.rate_burst = 1_000_000;
        c.gateway.rate_per_sec = 1_000_000;
        c.gateway.send_queue = 100_000;
        c.gateway.send_queue_bytes = 1 << 30;
        c.gateway.resume_window_bytes = window_bytes;
        c.gateway.resume_total_bytes = total_bytes;
    })
    .await
}

async fn create_group(owner: &mut Client) -> GroupId {
    let summary: ChatSummary = owner
        .ok(
            method::GROUPS_CREATE,
            &api::GroupCreateParams {
                txn: txn(),
                name: "crowd".to_owned(),
                description: String::new(),
                visibility: Visibility::Private,
                handle: None,
            },
        )
        .await;
    summary.group
}

async fn join(owner: &mut Client, group: &GroupId, member: &mut Client) {
    let _: api::WriteResult = owner
        .ok(
            method::INVITES_SEND,
            &api::TargetParams {
                txn: txn(),
                group: group.clone(),
                user: member.user().clone(),
            },
        )
        .await;
    let _: ChatSummary = member
        .ok(
            method::INVITES_ACCEPT,
            &api::TxnGroupParams {
                txn: txn(),
                group: group.clone(),
            },
        )
        .await;
}

async fn post(owner: &mut Client, group: &GroupId, text: &str) -> api::WriteResult {
    owner
        .ok(
            method::MSGS_POST,
            &api::PostParams {
                txn: txn(),
                group: group.clone(),
                text: text.to_owned(),
                reply_to: None,
                mentions: Vec::new(),
                mention_everyone: false,
                attachments: Vec::new(),
            },
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maximal_posts_to_many_recently_seen_members_stay_within_the_bound() {
    const MEMBERS: usize = 24;
    const POSTS: usize = 60;
    const TOTAL: usize = 512 * 1024;
    // Each member's window could hold every post: only the hub's total bounds them.
    let node = node(64 * 1024 * 1024, TOTAL).await;
    let mut owner = Client::register(&node, "owner").await;
    let group = create_group(&mut owner).await;
    let mut members = Vec::with_capacity(MEMBERS);
    for i in 0..MEMBERS {
        let mut member = Client::register(&node, &format!("member{i}")).await;
        join(&mut owner, &group, &mut member).await;
        members.push(member);
    }
    // Recently seen: they all disconnect, and the hub keeps their windows for resuming.
    for member in members.drain(..) {
        member.close().await;
    }
    let baseline = node.hub().push_bytes();

    let mut largest = 0;
    for n in 0..POSTS {
        post(&mut owner, &group, &maximal_text(n)).await;
        let held = node.hub().push_bytes();
        largest = largest.max(held);
        // A push still in the owner's send queue (sent after the reply) may be counted too.
        assert!(
            held <= TOTAL + baseline + 2 * PUSH_ROOM,
            "after post {n} the hub holds {held} bytes of pushes (bound {TOTAL})"
        );
        // The windows with their bookkeeping (an entry per member and push, each member's
        // own state) stay within the total itself.
        let windows = node.hub().resume_bytes();
        assert!(
            windows <= TOTAL,
            "after post {n} the windows hold {windows} bytes (bound {TOTAL})"
        );
    }
    // The pushes are 16 KiB each and went to 25 users: kept once per recipient they would be
    // 24 MiB; even kept once each, 60 of them are past the bound, which therefore cut them.
    assert!(largest > TOTAL / 2, "the posts were held ({largest} bytes)");
    let one_window = node.hub().window_bytes(owner.user());
    assert!(
        one_window <= TOTAL,
        "the owner's window holds {one_window} bytes"
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_window_resyncs_and_a_whole_one_resumes() {
    // A window holds about three maximal posts.
    let node = node(3 * 17 * 1024, 64 * 1024 * 1024).await;
    let mut owner = Client::register(&node, "owner").await;
    let group = create_group(&mut owner).await;
    let mut away_long = Client::register(&node, "away_long").await;
    let mut away_short = Client::register(&node, "away_short").await;
    join(&mut owner, &group, &mut away_long).await;
    join(&mut owner, &group, &mut away_short).await;
    let long_account = away_long.account().clone();
    let short_account = away_short.account().clone();

    // Each one's last cursor: everything up to now was received.
    let ping = winichat_testkit::client::map(vec![]);
    away_long.call("ping", ping.clone()).await.expect("ping");
    away_short.call("ping", ping).await.expect("ping");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let long_cursor = last_cursor(&mut away_long).await;
    let short_cursor = last_cursor(&mut away_short).await;
    away_long.close().await;
    away_short.close().await;

    // Both miss one maximal post: their windows are whole.
    post(&mut owner, &group, &maximal_text(0)).await;
    let mut back = Client::connect_with_cursor(&node, &short_account, Some(short_cursor)).await;
    assert!(back.ready().resumed, "a whole window resumes");
    let missed = back.take_pushes("chat.event").await;
    let missed = if missed.is_empty() {
        vec![back.next_push("chat.event", WAIT).await]
    } else {
        missed
    };
    assert!(!missed.is_empty(), "the missed post is replayed");

    // The other misses a dozen: its window kept the last three or so.
    for n in 1..12 {
        post(&mut owner, &group, &maximal_text(n)).await;
    }
    let back = Client::connect_with_cursor(&node, &long_account, Some(long_cursor)).await;
    assert!(
        !back.ready().resumed,
        "a window cut past the cursor makes the client resync"
    );
    node.shutdown().await;
}

/// The cursor a client would resume from: the one of its last push, or of `ready`.
async fn last_cursor(client: &mut Client) -> String {
    client
        .last_push_cursor()
        .unwrap_or_else(|| client.ready().cursor.clone())
}
