//! Group commit on a real SQLite file: a batch waits for one transaction and is acknowledged
//! only when durable; a retry of a queued txn gets its result; a failed event fails the events
//! queued on top of it, and the next write starts from the stored head.
//!
//! A second connection to the same file holds SQLite's write lock (`BEGIN IMMEDIATE`) to keep
//! the pipeline's transaction waiting while the test queues events behind it.

use std::time::Duration;

use sqlx::{Connection, SqliteConnection};
use winichat_protocol::gateway::chat as api;
use winichat_protocol::group::Visibility;

use super::ChatError;
use super::tests::{Fixture, fixture, group, post, user};
use crate::storage::DEFAULT_SQLITE_FILE;

/// The longest the tests wait for the node to reach a state (they await it, polling).
const WAIT: Duration = Duration::from_secs(20);

async fn second_connection(f: &Fixture) -> SqliteConnection {
    let path = f.dir.path().join(DEFAULT_SQLITE_FILE);
    SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("second connection")
}

async fn exec(conn: &mut SqliteConnection, sql: &'static str) {
    sqlx::query(sql).execute(&mut *conn).await.expect(sql);
}

/// Waits until `n` events are queued and not written.
async fn until_unwritten(f: &Fixture, n: u64) {
    tokio::time::timeout(WAIT, async {
        while f.chats.unwritten() < n {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{n} events never queued ({} are)", f.chats.unwritten()));
}

fn spawn_post(
    f: &Fixture,
    group: &winichat_protocol::ids::GroupId,
    txn: &str,
) -> tokio::task::JoinHandle<Result<api::WriteResult, ChatError>> {
    let chats = f.chats.clone();
    let params = post(group, txn, txn);
    tokio::spawn(async move { chats.post(&user("ana"), params).await })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_messages_share_one_transaction_and_are_acknowledged_once_durable() {
    let f = fixture(&["ana"]).await;
    let g = group(&f, &user("ana"), Visibility::Public, Some("batch")).await;
    f.pushes.take();
    let batches_before = f.chats.batches_written();

    let mut blocker = second_connection(&f).await;
    exec(&mut blocker, "BEGIN IMMEDIATE").await;
    let posts: Vec<_> = (0..40)
        .map(|i| spawn_post(&f, &g, &format!("m{i}")))
        .collect();
    until_unwritten(&f, 40).await;
    assert!(
        posts.iter().all(|p| !p.is_finished()),
        "no write is acknowledged before its batch is durable"
    );
    assert!(
        f.pushes.take().is_empty(),
        "nothing is pushed before it is durable"
    );
    exec(&mut blocker, "ROLLBACK").await;

    let mut seqs = Vec::new();
    for p in posts {
        seqs.push(p.await.expect("task").expect("post").seq);
    }
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (2..=41).collect::<Vec<u64>>(),
        "one event each, in one log"
    );
    let batches = f.chats.batches_written() - batches_before;
    assert!(
        batches <= 2,
        "40 messages queued behind one transaction take at most two batches, took {batches}"
    );
    let pushes = f.pushes.take();
    assert_eq!(
        pushes.len(),
        40,
        "each message pushed once: {}",
        pushes.len()
    );
    let head = f.chats.db().events().last(&g).await.expect("head");
    assert_eq!(head.map(|(seq, _)| seq), Some(41));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_of_a_queued_txn_waits_for_it_and_gets_its_result() {
    let f = fixture(&["ana"]).await;
    let g = group(&f, &user("ana"), Visibility::Public, Some("retry")).await;

    let mut blocker = second_connection(&f).await;
    exec(&mut blocker, "BEGIN IMMEDIATE").await;
    let first = spawn_post(&f, &g, "same");
    until_unwritten(&f, 1).await;
    let retry = spawn_post(&f, &g, "same");
    // The retry cannot finish while the original is unwritten; give it the chance to try.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!retry.is_finished(), "the retry waits for the original");
    exec(&mut blocker, "ROLLBACK").await;

    let first = first.await.expect("task").expect("post");
    let retry = retry.await.expect("task").expect("retry");
    assert_eq!(first, retry, "the retry answers with the original's result");
    let head = f.chats.db().events().last(&g).await.expect("head");
    assert_eq!(head.map(|(seq, _)| seq), Some(2), "one event for the txn");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_event_fails_those_queued_on_it_and_the_next_write_starts_from_the_stored_head() {
    let f = fixture(&["ana"]).await;
    let g = group(&f, &user("ana"), Visibility::Public, Some("fail")).await;
    f.chats
        .post(&user("ana"), post(&g, "p0", "p0"))
        .await
        .expect("p0");

    // The storage refuses seq 3 once (the trigger is dropped after).
    let mut side = second_connection(&f).await;
    exec(
        &mut side,
        "CREATE TRIGGER refuse_seq_3 BEFORE INSERT ON events WHEN NEW.seq = 3 \
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    )
    .await;
    exec(&mut side, "BEGIN IMMEDIATE").await;
    let p1 = spawn_post(&f, &g, "p1");
    until_unwritten(&f, 1).await;
    let p2 = spawn_post(&f, &g, "p2");
    until_unwritten(&f, 2).await;
    // A change of the group (not a message: its writer waits under the lock) queued on top.
    let rename = {
        let chats = f.chats.clone();
        let params = api::GroupUpdateParams {
            txn: "rename".into(),
            group: g.clone(),
            name: Some("Renamed".into()),
            description: None,
            visibility: None,
            handle: None,
            photo: None,
        };
        tokio::spawn(async move { chats.update(&user("ana"), params).await })
    };
    until_unwritten(&f, 3).await;
    exec(&mut side, "ROLLBACK").await;

    for (name, p) in [("p1", p1), ("p2", p2), ("rename", rename)] {
        let outcome = p.await.expect("task");
        assert!(
            matches!(outcome, Err(ChatError::Unavailable(_))),
            "{name}: sequenced on a refused event, so not stored, and worth sending again: \
             {outcome:?}"
        );
    }
    exec(&mut side, "DROP TRIGGER refuse_seq_3").await;

    let p4 = f
        .chats
        .post(&user("ana"), post(&g, "p4", "p4"))
        .await
        .expect("p4 follows the stored head");
    assert_eq!(p4.seq, 3);
    let p2 = f
        .chats
        .post(&user("ana"), post(&g, "p2", "p2"))
        .await
        .expect("p2 sent again");
    assert_eq!(p2.seq, 4, "a failed txn runs afresh when sent again");
    let head = f.chats.db().events().last(&g).await.expect("head");
    assert_eq!(head.map(|(seq, _)| seq), Some(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_refused_event_in_a_batch_leaves_the_others_written() {
    let f = fixture(&["ana"]).await;
    let refusing = group(&f, &user("ana"), Visibility::Public, Some("refusing")).await;
    let fine = group(&f, &user("ana"), Visibility::Public, Some("fine")).await;

    // The storage refuses any message whose text is "refuse-me".
    let mut side = second_connection(&f).await;
    exec(
        &mut side,
        "CREATE TRIGGER refuse_marked BEFORE INSERT ON timeline \
         WHEN instr(NEW.body, CAST('refuse-me' AS BLOB)) > 0 \
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    )
    .await;
    exec(&mut side, "BEGIN IMMEDIATE").await;
    let before = spawn_post(&f, &fine, "before");
    until_unwritten(&f, 1).await;
    let refused = spawn_post(&f, &refusing, "refuse-me");
    until_unwritten(&f, 2).await;
    let after = spawn_post(&f, &fine, "after");
    until_unwritten(&f, 3).await;
    let batches_before = f.chats.batches_written();
    exec(&mut side, "ROLLBACK").await;

    let before = before
        .await
        .expect("task")
        .expect("the event before is written");
    let refused = refused.await.expect("task");
    let after = after
        .await
        .expect("task")
        .expect("the event after is written");
    assert!(
        matches!(refused, Err(ChatError::Unavailable(_))),
        "the refused event alone fails: {refused:?}"
    );
    assert_eq!((before.seq, after.seq), (2, 3));
    // The refused event shared its batch with `after` (the first batch may have taken
    // `before` alone): the batch was written again event by event, keeping the others.
    assert!(f.chats.batches_written() - batches_before <= 2);
    for (g, expected) in [(&fine, 3), (&refusing, 1)] {
        let head = f.chats.db().events().last(g).await.expect("head");
        assert_eq!(head.map(|(seq, _)| seq), Some(expected), "head of {g}");
    }
}
