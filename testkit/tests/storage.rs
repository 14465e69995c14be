//! The storage test suite. Every test in `both_backends!` runs twice: once on SQLite (a file in
//! a temporary directory) and once on PostgreSQL (a database created for the test and dropped
//! after it). PostgreSQL tests fail, never skip, when no server is available.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use winichat_node::storage::{
    self, Database, FaultKind, GroupFault, LogHasher, NewEvent, OutboxStatus, Peer, StorageError,
};
use winichat_protocol::Timestamp;
use winichat_protocol::ids::{EventId, GroupId, NodeName};

use sqlx::Connection as _;
use winichat_testkit::both_backends;
use winichat_testkit::storage::StorageHarness as Harness;

both_backends!(
    migrations_apply_and_reopen_is_idempotent,
    identity_is_recorded_and_a_mismatch_refused,
    identity_follows_a_proven_key_rotation_and_never_goes_back,
    append_then_page_forwards_and_backwards,
    raw_bytes_round_trip_exactly,
    taken_seq_gap_or_wrong_prev_is_a_conflict_and_writes_nothing,
    duplicate_event_id_is_a_conflict,
    groups_are_independent,
    outbox_rows_are_written_with_the_event_in_id_order,
    outbox_ack_defer_and_reset_backoff,
    events_by_ids_come_in_the_order_asked_in_one_read,
    heads_homed_at_lists_one_homes_groups_with_their_heads,
    newest_ts_homed_at_is_the_latest_of_one_homes_events,
    outbox_holds_one_row_per_destination_and_event,
    concurrent_appends_at_one_seq_have_exactly_one_winner,
    corrupt_stored_id_is_reported_not_panicked,
    peers_round_trip,
    peer_contact_failure_and_list,
    outbox_status_and_depth_per_destination,
    event_at_seq,
    log_hash_is_equal_for_equal_logs_and_differs_after_one_event,
    log_hash_pages_through_a_long_log,
    faults_round_trip_and_mark_the_group,
    a_write_after_close_is_refused_and_nothing_is_stored,
);

// ---- helpers ----

fn node(name: &str) -> NodeName {
    name.parse().expect("node name")
}

fn group(local: &str) -> GroupId {
    format!("!{local}:home.example").parse().expect("group id")
}

/// Raw bytes that exercise every byte value class (NUL, high bytes, invalid UTF-8).
fn raw_for(group: &GroupId, seq: u64, salt: u8) -> Vec<u8> {
    let mut raw = vec![0xd2, 0x84, 0x00, 0xff, 0xfe, salt];
    raw.extend_from_slice(group.as_str().as_bytes());
    raw.extend_from_slice(&seq.to_be_bytes());
    raw.push(0x00);
    raw
}

fn event(group: &GroupId, seq: u64, prev: Option<EventId>) -> NewEvent {
    event_salted(group, seq, prev, 0)
}

fn event_salted(group: &GroupId, seq: u64, prev: Option<EventId>, salt: u8) -> NewEvent {
    let raw = raw_for(group, seq, salt);
    NewEvent {
        group: group.clone(),
        seq,
        id: EventId::of_payload(&raw),
        prev,
        ts: Timestamp(1_700_000_000_000 + seq),
        sender: "@alice:home.example".to_owned(),
        kind: "msg.post".to_owned(),
        raw,
    }
}

/// Appends events 1..=n to `group`, each to `destinations`; returns their ids by seq - 1.
async fn append_n(
    db: &Database,
    group: &GroupId,
    n: u64,
    destinations: &[NodeName],
) -> Vec<EventId> {
    let mut ids = Vec::new();
    for seq in 1..=n {
        let e = event(group, seq, ids.last().copied());
        db.events().append(&e, destinations).await.expect("append");
        ids.push(e.id);
    }
    ids
}

const FAR_FUTURE: Timestamp = Timestamp(i64::MAX as u64);

async fn outbox_len(db: &Database, dest: &NodeName) -> usize {
    db.outbox()
        .due(dest, FAR_FUTURE, 10_000)
        .await
        .expect("due")
        .len()
}

// ---- tests run on both backends ----

async fn migrations_apply_and_reopen_is_idempotent(h: Harness) {
    h.db.ping().await.expect("ping");
    let g = group("reopen1");
    append_n(&h.db, &g, 3, &[]).await;
    h.db.close().await;
    for _ in 0..2 {
        let db = h.reopen().await;
        db.ping().await.expect("ping after reopen");
        let (seq, _) = db.events().last(&g).await.expect("last").expect("group");
        assert_eq!(seq, 3, "data survives a reopen");
        db.close().await;
    }
}

async fn identity_is_recorded_and_a_mismatch_refused(h: Harness) {
    let me = node("home.example");
    let key = [7u8; 32];
    assert_eq!(h.db.node_identity().get().await.expect("get"), None);
    h.db.check_identity(&me, &key).await.expect("first start");
    h.db.check_identity(&me, &key).await.expect("second start");
    let stored =
        h.db.node_identity()
            .get()
            .await
            .expect("get")
            .expect("recorded");
    assert_eq!(stored.name, me);
    assert_eq!(stored.public_key, key);

    let other_name = h.db.check_identity(&node("other.example"), &key).await;
    assert!(
        matches!(other_name, Err(StorageError::IdentityMismatch { .. })),
        "{other_name:?}"
    );
    let other_key = h.db.check_identity(&me, &[8u8; 32]).await;
    let Err(e @ StorageError::IdentityMismatch { .. }) = other_key else {
        panic!("expected IdentityMismatch, got {other_key:?}");
    };
    let line = e.to_string();
    assert!(
        line.contains("home.example") && !line.contains('\n'),
        "{line}"
    );

    // The identity is never replaced, and survives a reopen.
    let again = h.db.node_identity().insert(&stored).await;
    assert!(matches!(again, Err(StorageError::Conflict(_))), "{again:?}");
    let db = h.reopen().await;
    db.check_identity(&me, &key).await.expect("after reopen");
}

async fn identity_follows_a_proven_key_rotation_and_never_goes_back(h: Harness) {
    use winichat_protocol::federation::document::{KeyHistory, RetiredKey};
    use winichat_protocol::keys::PublicKey;
    let me = node("home.example");
    let key_of = |seed: u8| {
        PublicKey::of(&winichat_protocol::ed25519_dalek::SigningKey::from_bytes(
            &[seed; 32],
        ))
    };
    let (old, new) = (key_of(1), key_of(2));
    h.db.check_identity(&me, &old.to_bytes())
        .await
        .expect("first start");
    let rotated = KeyHistory {
        current: new,
        earlier: vec![RetiredKey {
            key: old,
            replaced_at: Timestamp(1),
        }],
    };
    // A history that does not contain the recorded key proves nothing.
    let unrelated = KeyHistory {
        current: new,
        earlier: vec![RetiredKey {
            key: key_of(3),
            replaced_at: Timestamp(1),
        }],
    };
    let refused =
        h.db.check_identity_rotated(&me, &new.to_bytes(), Some(&unrelated))
            .await;
    assert!(
        matches!(refused, Err(StorageError::IdentityMismatch { .. })),
        "{refused:?}"
    );
    h.db.check_identity_rotated(&me, &new.to_bytes(), Some(&rotated))
        .await
        .expect("the rotation proves the new key");
    let stored =
        h.db.node_identity()
            .get()
            .await
            .expect("get")
            .expect("recorded");
    assert_eq!(stored.public_key, new.to_bytes(), "the database moved on");
    // The retired key cannot open it any more, and another name never can.
    let back = h.db.check_identity(&me, &old.to_bytes()).await;
    assert!(
        matches!(back, Err(StorageError::IdentityMismatch { .. })),
        "{back:?}"
    );
    let elsewhere =
        h.db.check_identity_rotated(&node("other.example"), &new.to_bytes(), Some(&rotated))
            .await;
    assert!(
        matches!(elsewhere, Err(StorageError::IdentityMismatch { .. })),
        "{elsewhere:?}"
    );
}

async fn append_then_page_forwards_and_backwards(h: Harness) {
    const N: u64 = 1_000;
    const PAGE: u32 = 97;
    let g = group("paging1");
    assert_eq!(h.db.events().last(&g).await.expect("last"), None);
    let ids = append_n(&h.db, &g, N, &[]).await;
    assert_eq!(
        h.db.events().last(&g).await.expect("last"),
        Some((N, ids[N as usize - 1]))
    );

    // Forwards: from 1, next page from last + 1.
    let mut seen = Vec::new();
    let mut from = 1;
    loop {
        let page = h.db.events().range(&g, from, PAGE).await.expect("range");
        assert!(page.len() <= PAGE as usize);
        let Some(last) = page.last() else { break };
        from = last.seq + 1;
        seen.extend(page.into_iter().map(|e| (e.seq, e.id)));
    }
    let expected: Vec<(u64, EventId)> = (1..=N).zip(ids.iter().copied()).collect();
    assert_eq!(
        seen, expected,
        "forward paging returns each event once, in order"
    );

    // Backwards: before N + 1, next page before the last (lowest) seq returned.
    let mut seen = Vec::new();
    let mut before = N + 1;
    loop {
        let page =
            h.db.events()
                .range_back(&g, before, PAGE)
                .await
                .expect("range_back");
        let Some(last) = page.last() else { break };
        before = last.seq;
        seen.extend(page.into_iter().map(|e| (e.seq, e.id)));
    }
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(
        seen, reversed,
        "backward paging returns each event once, newest first"
    );

    // Paging from the middle, as when jumping to a replied-to message.
    let mid = h.db.events().range(&g, 500, 3).await.expect("range");
    assert_eq!(
        mid.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [500, 501, 502]
    );
    let mid =
        h.db.events()
            .range_back(&g, 500, 3)
            .await
            .expect("range_back");
    assert_eq!(
        mid.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [499, 498, 497]
    );
    assert!(
        h.db.events()
            .range(&g, N + 1, 10)
            .await
            .expect("range")
            .is_empty()
    );
    assert!(
        h.db.events()
            .range_back(&g, 1, 10)
            .await
            .expect("range")
            .is_empty()
    );
    let unknown =
        h.db.events()
            .range(&group("nosuch1"), 1, 10)
            .await
            .expect("range");
    assert!(unknown.is_empty());
}

async fn raw_bytes_round_trip_exactly(h: Harness) {
    let g = group("rawbytes");
    let first = event(&g, 1, None);
    h.db.events().append(&first, &[]).await.expect("append");
    let mut second = event(&g, 2, Some(first.id));
    // Every byte value, and a payload larger than a typical page.
    second.raw = (0..=255u8).cycle().take(70_000).collect();
    second.id = EventId::of_payload(&second.raw);
    h.db.events().append(&second, &[]).await.expect("append");

    for e in [&first, &second] {
        let stored =
            h.db.events()
                .by_id(&e.id)
                .await
                .expect("by_id")
                .expect("found");
        assert_eq!(stored.raw, e.raw);
        assert_eq!(
            (&stored.group, stored.seq, stored.id, stored.prev, stored.ts),
            (&e.group, e.seq, e.id, e.prev, e.ts)
        );
        assert_eq!(
            (stored.sender.as_str(), stored.kind.as_str()),
            (e.sender.as_str(), e.kind.as_str())
        );
    }
    let unknown = EventId::of_payload(b"never stored");
    assert_eq!(h.db.events().by_id(&unknown).await.expect("by_id"), None);
}

async fn taken_seq_gap_or_wrong_prev_is_a_conflict_and_writes_nothing(h: Harness) {
    let g = group("conflict1");
    let dest = node("remote.example");
    let ids = append_n(&h.db, &g, 3, std::slice::from_ref(&dest)).await;
    assert_eq!(outbox_len(&h.db, &dest).await, 3);

    let attempts = [
        ("taken seq", event_salted(&g, 3, Some(ids[1]), 1)),
        ("gap", event_salted(&g, 5, Some(ids[2]), 1)),
        ("seq 1 again", event_salted(&g, 1, None, 1)),
        ("wrong prev", event_salted(&g, 4, Some(ids[0]), 1)),
        ("missing prev", event_salted(&g, 4, None, 1)),
        ("seq 0", event_salted(&g, 0, None, 1)),
        (
            "gap in a new group",
            event_salted(&group("conflict2"), 2, Some(ids[0]), 1),
        ),
    ];
    for (what, e) in attempts {
        let result = h.db.events().append(&e, std::slice::from_ref(&dest)).await;
        assert!(
            matches!(result, Err(StorageError::Conflict(_))),
            "{what}: {result:?}"
        );
        assert_eq!(
            h.db.events().by_id(&e.id).await.expect("by_id"),
            None,
            "{what}"
        );
    }
    // Nothing partial: head, log and outbox unchanged.
    assert_eq!(
        h.db.events().last(&g).await.expect("last"),
        Some((3, ids[2]))
    );
    assert_eq!(
        h.db.events().range(&g, 1, 100).await.expect("range").len(),
        3
    );
    assert_eq!(
        h.db.events().last(&group("conflict2")).await.expect("last"),
        None
    );
    assert_eq!(
        outbox_len(&h.db, &dest).await,
        3,
        "a failed append queues nothing"
    );

    // The right next event still goes in.
    h.db.events()
        .append(&event(&g, 4, Some(ids[2])), &[])
        .await
        .expect("append after conflicts");
}

async fn duplicate_event_id_is_a_conflict(h: Harness) {
    let g1 = group("dupid1");
    let g2 = group("dupid2");
    let dest = node("remote.example");
    let e = event(&g1, 1, None);
    h.db.events().append(&e, &[]).await.expect("append");
    // Same id, valid position in another group: the id's uniqueness must reject it, and the
    // second group's head must not move.
    let mut copy = e.clone();
    copy.group = g2.clone();
    let result =
        h.db.events()
            .append(&copy, std::slice::from_ref(&dest))
            .await;
    assert!(
        matches!(result, Err(StorageError::Conflict(_))),
        "{result:?}"
    );
    assert_eq!(h.db.events().last(&g2).await.expect("last"), None);
    assert_eq!(outbox_len(&h.db, &dest).await, 0);
}

async fn groups_are_independent(h: Harness) {
    let a = group("indepa");
    let b = group("indepb");
    let ia = append_n(&h.db, &a, 5, &[]).await;
    let ib = append_n(&h.db, &b, 2, &[]).await;
    assert_eq!(
        h.db.events().last(&a).await.expect("last"),
        Some((5, ia[4]))
    );
    assert_eq!(
        h.db.events().last(&b).await.expect("last"),
        Some((2, ib[1]))
    );
    let events = h.db.events().range(&b, 1, 100).await.expect("range");
    assert!(events.iter().all(|e| e.group == b));
    assert_eq!(events.len(), 2);
}

async fn outbox_rows_are_written_with_the_event_in_id_order(h: Harness) {
    let g1 = group("outbox1");
    let g2 = group("outbox2");
    let b = node("b.example");
    let c = node("c.example");
    let now = Timestamp(1_800_000_000_000);
    assert!(
        h.db.outbox()
            .destinations_with_due(now)
            .await
            .expect("dests")
            .is_empty()
    );

    // Interleave two groups so id order is not just seq order.
    let mut appended = Vec::new();
    let (mut p1, mut p2) = (None, None);
    for seq in 1..=4 {
        let e1 = event(&g1, seq, p1);
        h.db.events()
            .append(&e1, &[b.clone(), c.clone()])
            .await
            .expect("append");
        let e2 = event(&g2, seq, p2);
        h.db.events()
            .append(&e2, std::slice::from_ref(&b))
            .await
            .expect("append");
        p1 = Some(e1.id);
        p2 = Some(e2.id);
        appended.push((g1.clone(), seq, e1.id));
        appended.push((g2.clone(), seq, e2.id));
    }

    let due = h.db.outbox().due(&b, now, 100).await.expect("due");
    let got: Vec<_> = due
        .iter()
        .map(|r| (r.group.clone(), r.seq, r.event_id))
        .collect();
    assert_eq!(got, appended, "due rows come in append order");
    assert!(due.windows(2).all(|w| w[0].id < w[1].id));
    assert!(
        due.iter()
            .all(|r| r.destination == b && r.attempts == 0 && r.last_error.is_none())
    );
    assert_eq!(due[0].created_at, Timestamp(1_700_000_000_001));

    let for_c = h.db.outbox().due(&c, now, 100).await.expect("due");
    assert_eq!(for_c.len(), 4);
    assert!(for_c.iter().all(|r| r.group == g1));
    // The limit takes the oldest rows.
    let first3 = h.db.outbox().due(&b, now, 3).await.expect("due");
    assert_eq!(first3, due[..3].to_vec());

    assert_eq!(
        h.db.outbox()
            .destinations_with_due(now)
            .await
            .expect("dests"),
        vec![b.clone(), c.clone()]
    );
    assert!(
        h.db.outbox()
            .due(&node("nobody.example"), now, 10)
            .await
            .expect("due")
            .is_empty()
    );
}

async fn outbox_ack_defer_and_reset_backoff(h: Harness) {
    let g = group("outbox3");
    let b = node("b.example");
    let c = node("c.example");
    let now = Timestamp(1_800_000_000_000);
    let ids = append_n(&h.db, &g, 5, &[b.clone(), c.clone()]).await;

    // ack deletes only the named rows of that destination.
    let acked = h.db.outbox().ack(&b, &ids[..2]).await.expect("ack");
    assert_eq!(acked, 2);
    assert_eq!(
        h.db.outbox().ack(&b, &ids[..2]).await.expect("ack again"),
        0
    );
    assert_eq!(h.db.outbox().ack(&b, &[]).await.expect("ack none"), 0);
    let due = h.db.outbox().due(&b, now, 100).await.expect("due");
    assert_eq!(due.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 4, 5]);
    assert_eq!(
        outbox_len(&h.db, &c).await,
        5,
        "other destinations untouched"
    );

    // defer: attempts + 1, error recorded, hidden until due.
    let head = due[0].clone();
    let later = Timestamp(now.0 + 60_000);
    h.db.outbox()
        .defer(head.id, later, "connection refused")
        .await
        .expect("defer");
    h.db.outbox()
        .defer(head.id, later, "timed out")
        .await
        .expect("defer");
    let due_now = h.db.outbox().due(&b, now, 100).await.expect("due");
    assert_eq!(due_now.iter().map(|r| r.seq).collect::<Vec<_>>(), [4, 5]);
    let due_later = h.db.outbox().due(&b, later, 100).await.expect("due");
    assert_eq!(due_later[0].id, head.id);
    assert_eq!(due_later[0].attempts, 2);
    assert_eq!(due_later[0].last_error.as_deref(), Some("timed out"));
    assert_eq!(due_later[0].next_attempt_at, later);
    let gone = h.db.outbox().defer(i64::MAX, later, "x").await;
    assert!(matches!(gone, Err(StorageError::NotFound(_))), "{gone:?}");

    // Defer everything for b: b has nothing due now, c still does.
    for r in &due_now {
        h.db.outbox()
            .defer(r.id, later, "down")
            .await
            .expect("defer");
    }
    assert!(
        h.db.outbox()
            .due(&b, now, 100)
            .await
            .expect("due")
            .is_empty()
    );
    assert_eq!(
        h.db.outbox()
            .destinations_with_due(now)
            .await
            .expect("dests"),
        vec![c.clone()]
    );
    assert_eq!(
        h.db.outbox()
            .destinations_with_due(later)
            .await
            .expect("dests"),
        vec![b.clone(), c.clone()]
    );

    // The peer contacts us: everything of b is due again, in order, and its failed attempts
    // are forgotten, so a next failure backs off from the first step again.
    assert_eq!(h.db.outbox().reset_backoff(&b).await.expect("reset"), 3);
    let due = h.db.outbox().due(&b, now, 100).await.expect("due");
    assert_eq!(due.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 4, 5]);
    assert!(
        due.iter()
            .all(|r| r.attempts == 0 && r.next_attempt_at == Timestamp(0)),
        "{due:?}"
    );
    assert_eq!(h.db.outbox().reset_backoff(&b).await.expect("reset"), 0);

    // A row that failed but is due anyway (deferred to the past) still has its attempts reset.
    h.db.outbox()
        .defer(due[0].id, Timestamp(0), "refused")
        .await
        .expect("defer");
    assert_eq!(h.db.outbox().reset_backoff(&b).await.expect("reset"), 1);
    let due = h.db.outbox().due(&b, now, 100).await.expect("due");
    assert_eq!(due[0].attempts, 0);
}

async fn heads_homed_at_lists_one_homes_groups_with_their_heads(h: Harness) {
    let home = node("home.example");
    let (g1, g2) = (group("heads2"), group("heads1"));
    let elsewhere: GroupId = "!heads3:elsewhere.example".parse().expect("group id");
    append_n(&h.db, &g1, 3, &[]).await;
    append_n(&h.db, &g2, 1, &[]).await;
    append_n(&h.db, &elsewhere, 2, &[]).await;
    assert_eq!(
        h.db.events().heads_homed_at(&home).await.expect("heads"),
        vec![(g2, 1), (g1, 3)],
        "by group id"
    );
    assert!(
        h.db.events()
            .heads_homed_at(&node("nobody.example"))
            .await
            .expect("heads")
            .is_empty()
    );
}

async fn newest_ts_homed_at_is_the_latest_of_one_homes_events(h: Harness) {
    let home = node("home.example");
    assert_eq!(
        h.db.events()
            .newest_ts_homed_at(&home)
            .await
            .expect("newest"),
        None,
        "no events yet"
    );
    // A clock that went back: the newest event is not the head of its log.
    let g = group("newest1");
    let mut prev = None;
    for (seq, ts) in [(1, 5_000), (2, 9_000), (3, 7_000)] {
        let e = NewEvent {
            ts: Timestamp(ts),
            ..event(&g, seq, prev)
        };
        h.db.events().append(&e, &[]).await.expect("append");
        prev = Some(e.id);
    }
    // Another home's events, later still, are not this home's.
    let elsewhere: GroupId = "!newest2:elsewhere.example".parse().expect("group id");
    h.db.events()
        .append(
            &NewEvent {
                ts: Timestamp(50_000),
                ..event(&elsewhere, 1, None)
            },
            &[],
        )
        .await
        .expect("append");
    assert_eq!(
        h.db.events()
            .newest_ts_homed_at(&home)
            .await
            .expect("newest"),
        Some(Timestamp(9_000))
    );
}

async fn events_by_ids_come_in_the_order_asked_in_one_read(h: Harness) {
    let g = group("byids1");
    let other = group("byids2");
    let ids = append_n(&h.db, &g, 6, &[]).await;
    let other_ids = append_n(&h.db, &other, 2, &[]).await;
    let unknown = EventId::of_payload(b"never stored");

    // Asked out of log order, across groups, with an unknown and a repeated id.
    let asked = [ids[4], other_ids[1], ids[0], unknown, ids[2], ids[4]];
    let got = h.db.events().by_ids(&asked).await.expect("by_ids");
    assert_eq!(
        got.iter().map(|e| e.id).collect::<Vec<_>>(),
        [ids[4], other_ids[1], ids[0], ids[2]]
    );
    for event in &got {
        let one = h.db.events().by_id(&event.id).await.expect("by_id");
        assert_eq!(one.as_ref(), Some(event), "same event as by_id");
    }
    assert!(h.db.events().by_ids(&[]).await.expect("none").is_empty());
    assert!(
        h.db.events()
            .by_ids(&[unknown])
            .await
            .expect("unknown")
            .is_empty()
    );

    // More ids than one push batch carries come whole, in order.
    let many = append_n(&h.db, &group("byids3"), 300, &[]).await;
    let got = h.db.events().by_ids(&many).await.expect("by_ids");
    assert_eq!(got.iter().map(|e| e.id).collect::<Vec<_>>(), many);
}

async fn outbox_holds_one_row_per_destination_and_event(h: Harness) {
    let g = group("outbox4");
    let b = node("b.example");
    let e = event(&g, 1, None);
    h.db.events()
        .append(&e, &[b.clone(), b.clone(), node("c.example")])
        .await
        .expect("append with a repeated destination");
    // One row for b despite the repeat (the unique (destination, event_id) key), one for c.
    let rows = h.db.outbox().due(&b, FAR_FUTURE, 10).await.expect("due");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].event_id, e.id);
    assert_eq!(outbox_len(&h.db, &node("c.example")).await, 1);
}

async fn concurrent_appends_at_one_seq_have_exactly_one_winner(h: Harness) {
    const RACERS: u8 = 8;
    let g = group("racing1");
    let dest = node("remote.example");
    let first = event(&g, 1, None);
    h.db.events().append(&first, &[]).await.expect("append");
    let mut head = first.id;
    for seq in 2..=6u64 {
        let barrier = Arc::new(tokio::sync::Barrier::new(RACERS as usize));
        let mut tasks = Vec::new();
        for salt in 0..RACERS {
            let db = h.db.clone();
            let barrier = barrier.clone();
            let e = event_salted(&g, seq, Some(head), salt);
            let dest = dest.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let result = db.events().append(&e, &[dest]).await;
                (e.id, result)
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            let (id, result) = task.await.expect("task");
            match result {
                Ok(()) => winners.push(id),
                Err(StorageError::Conflict(_)) => {}
                Err(other) => panic!("seq {seq}: loser got {other:?}, expected Conflict"),
            }
        }
        assert_eq!(winners.len(), 1, "seq {seq}: exactly one append wins");
        head = winners[0];
        assert_eq!(
            h.db.events().last(&g).await.expect("last"),
            Some((seq, head))
        );
    }
    assert_eq!(
        h.db.events().range(&g, 1, 100).await.expect("range").len(),
        6
    );
    assert_eq!(
        outbox_len(&h.db, &dest).await,
        5,
        "only winners queued deliveries"
    );
}

async fn corrupt_stored_id_is_reported_not_panicked(h: Harness) {
    let g: GroupId = "!corrupt1:home.example".parse().expect("group");
    append_n(&h.db, &g, 2, &[]).await;
    h.tamper("UPDATE events SET event_id = 'not-an-event-id' WHERE group_id = '!corrupt1:home.example' AND seq = 2")
        .await;
    let range = h.db.events().range(&g, 1, 10).await;
    assert!(matches!(range, Err(StorageError::Corrupt(_))), "{range:?}");
    let back = h.db.events().range_back(&g, 10, 10).await;
    assert!(matches!(back, Err(StorageError::Corrupt(_))), "{back:?}");
    // The intact event is still readable on its own.
    assert_eq!(h.db.events().range(&g, 1, 1).await.expect("seq 1").len(), 1);

    h.tamper("UPDATE groups SET last_event_id = '$short' WHERE id = '!corrupt1:home.example'")
        .await;
    let last = h.db.events().last(&g).await;
    let Err(e @ StorageError::Corrupt(_)) = last else {
        panic!("expected Corrupt, got {last:?}");
    };
    assert!(e.to_string().contains("groups.last_event_id"), "{e}");

    h.tamper("UPDATE events SET sender = 'x', group_id = '!corrupt1:home.example', prev_id = 'garbage' WHERE seq = 1 AND group_id = '!corrupt1:home.example'")
        .await;
    let first = h.db.events().range(&g, 1, 1).await;
    assert!(matches!(first, Err(StorageError::Corrupt(_))), "{first:?}");
}

async fn peers_round_trip(h: Harness) {
    let b = node("b.example:7801");
    assert_eq!(h.db.peers().get(&b).await.expect("get"), None);
    let mut peer = Peer {
        node: b.clone(),
        public_key: [3u8; 32],
        fetched_at: Timestamp(1_000),
        failures: 0,
        retry_at: Timestamp(0),
        last_error: None,
        last_contact_at: None,
    };
    h.db.peers().put(&peer).await.expect("put");
    assert_eq!(h.db.peers().get(&b).await.expect("get"), Some(peer.clone()));
    peer.failures = 3;
    peer.retry_at = Timestamp(9_000);
    peer.last_error = Some("connection refused".into());
    h.db.peers().put(&peer).await.expect("put again");
    assert_eq!(h.db.peers().get(&b).await.expect("get"), Some(peer));
}

fn stored_peer(name: &str) -> Peer {
    Peer {
        node: node(name),
        public_key: [5u8; 32],
        fetched_at: Timestamp(1_000),
        failures: 0,
        retry_at: Timestamp(0),
        last_error: None,
        last_contact_at: None,
    }
}

async fn peer_contact_failure_and_list(h: Harness) {
    let peers = h.db.peers();
    assert_eq!(peers.list().await.expect("list"), vec![]);
    let unknown = node("nobody.example");
    assert!(
        !peers
            .record_contact(&unknown, Timestamp(5))
            .await
            .expect("contact")
    );
    assert!(
        !peers
            .record_failure(&unknown, "refused", Timestamp(6))
            .await
            .expect("failure")
    );
    assert_eq!(
        peers.get(&unknown).await.expect("get"),
        None,
        "nothing invented"
    );

    let c = stored_peer("c.example");
    let b = stored_peer("b.example");
    peers.put(&c).await.expect("put c");
    peers.put(&b).await.expect("put b");

    assert!(
        peers
            .record_failure(&b.node, "connection refused", Timestamp(9_000))
            .await
            .expect("failure")
    );
    assert!(
        peers
            .record_failure(&b.node, "handshake failed", Timestamp(12_000))
            .await
            .expect("failure")
    );
    let failing = peers.get(&b.node).await.expect("get").expect("b");
    assert_eq!(failing.failures, 2);
    assert_eq!(failing.retry_at, Timestamp(12_000));
    assert_eq!(failing.last_error.as_deref(), Some("handshake failed"));
    assert_eq!(failing.last_contact_at, None);

    assert!(
        peers
            .record_contact(&b.node, Timestamp(20_000))
            .await
            .expect("contact")
    );
    let back = peers.get(&b.node).await.expect("get").expect("b");
    assert_eq!(back.last_contact_at, Some(Timestamp(20_000)));
    assert_eq!(
        (back.failures, back.retry_at, back.last_error),
        (0, Timestamp(0), None)
    );

    // Refreshing the key with no contact time keeps the recorded one; an explicit one wins.
    let mut refreshed = stored_peer("b.example");
    refreshed.public_key = [6u8; 32];
    peers.put(&refreshed).await.expect("refresh");
    let kept = peers.get(&b.node).await.expect("get").expect("b");
    assert_eq!(kept.public_key, [6u8; 32]);
    assert_eq!(kept.last_contact_at, Some(Timestamp(20_000)));
    refreshed.last_contact_at = Some(Timestamp(30_000));
    peers.put(&refreshed).await.expect("put with contact");

    let listed = peers.list().await.expect("list");
    let names: Vec<&str> = listed.iter().map(|p| p.node.as_str()).collect();
    assert_eq!(names, ["b.example", "c.example"], "sorted by name");
    assert_eq!(listed[0].last_contact_at, Some(Timestamp(30_000)));
    assert_eq!(listed[1], c);
}

async fn outbox_status_and_depth_per_destination(h: Harness) {
    assert_eq!(h.db.outbox().status().await.expect("status"), vec![]);
    let (b, c, d) = (node("b.example"), node("c.example"), node("d.example"));
    assert_eq!(h.db.outbox().depth(&b).await.expect("depth"), 0);

    let g1 = group("status1");
    let g2 = group("status2");
    append_n(&h.db, &g1, 3, &[c.clone(), b.clone()]).await;
    append_n(&h.db, &g2, 2, std::slice::from_ref(&b)).await;
    assert_eq!(h.db.outbox().depth(&b).await.expect("depth"), 5);
    assert_eq!(h.db.outbox().depth(&c).await.expect("depth"), 3);
    assert_eq!(h.db.outbox().depth(&d).await.expect("depth"), 0);

    // c's second row fails twice, then its third once: the error shown is the first failing
    // row's, the attempts the most of any row.
    let rows = h.db.outbox().due(&c, FAR_FUTURE, 10).await.expect("due");
    h.db.outbox()
        .defer(rows[1].id, Timestamp(50), "timed out")
        .await
        .expect("defer");
    h.db.outbox()
        .defer(rows[1].id, Timestamp(60), "still timed out")
        .await
        .expect("defer");
    h.db.outbox()
        .defer(rows[2].id, Timestamp(70), "refused")
        .await
        .expect("defer");

    let status = h.db.outbox().status().await.expect("status");
    assert_eq!(
        status,
        vec![
            OutboxStatus {
                destination: b.clone(),
                depth: 5,
                oldest_created_at: Timestamp(1_700_000_000_001),
                last_error: None,
                max_attempts: 0,
            },
            OutboxStatus {
                destination: c.clone(),
                depth: 3,
                oldest_created_at: Timestamp(1_700_000_000_001),
                last_error: Some("still timed out".into()),
                max_attempts: 2,
            },
        ]
    );

    // Delivered rows leave the status; an emptied destination leaves it altogether.
    let ids: Vec<EventId> = rows.iter().map(|r| r.event_id).collect();
    h.db.outbox().ack(&c, &ids).await.expect("ack");
    let status = h.db.outbox().status().await.expect("status");
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].destination, b);
    assert_eq!(h.db.outbox().depth(&c).await.expect("depth"), 0);
}

async fn event_at_seq(h: Harness) {
    let g = group("eventat1");
    let ids = append_n(&h.db, &g, 3, &[]).await;
    let second = h.db.events().at(&g, 2).await.expect("at").expect("seq 2");
    assert_eq!((second.seq, second.id), (2, ids[1]));
    assert_eq!(h.db.events().at(&g, 4).await.expect("at"), None);
    assert_eq!(h.db.events().at(&g, 0).await.expect("at"), None);
    assert_eq!(
        h.db.events().at(&group("eventat2"), 1).await.expect("at"),
        None
    );
}

/// The log hash defined independently of the storage code: sha256 over
/// seq (8 bytes BE) || len(raw) (4 bytes BE) || raw, in seq order.
fn expected_log_hash(raws: &[Vec<u8>]) -> [u8; 32] {
    use sha2::Digest as _;
    let mut sha = sha2::Sha256::new();
    for (i, raw) in raws.iter().enumerate() {
        sha.update((i as u64 + 1).to_be_bytes());
        sha.update((raw.len() as u32).to_be_bytes());
        sha.update(raw);
    }
    sha.finalize().into()
}

/// A second, empty database on the same backend as `h` (as a second node would have).
async fn another_like(h: &Harness) -> Harness {
    match h.db.backend_name() {
        "postgres" => Harness::postgres().await,
        _ => Harness::sqlite().await,
    }
}

/// Appends events with exactly these raw bytes as seq 1, 2, … of `group`.
async fn append_raws(db: &Database, group: &GroupId, raws: &[Vec<u8>]) {
    let mut prev = None;
    for (i, raw) in raws.iter().enumerate() {
        let e = NewEvent {
            group: group.clone(),
            seq: i as u64 + 1,
            id: EventId::of_payload(raw),
            prev,
            ts: Timestamp(1_700_000_000_000 + i as u64),
            sender: "@alice:home.example".to_owned(),
            kind: "msg.post".to_owned(),
            raw: raw.clone(),
        };
        db.events().append(&e, &[]).await.expect("append");
        prev = Some(e.id);
    }
}

async fn log_hash_is_equal_for_equal_logs_and_differs_after_one_event(h: Harness) {
    let g = group("loghash1");
    assert_eq!(
        h.db.events().log_hash(&g).await.expect("hash"),
        None,
        "unknown group"
    );

    // Two databases holding the same log, as two nodes would.
    let raws: Vec<Vec<u8>> = (1..=5).map(|seq| raw_for(&g, seq, 9)).collect();
    append_raws(&h.db, &g, &raws).await;
    let other_harness = another_like(&h).await;
    let other = &other_harness.db;
    append_raws(other, &g, &raws).await;

    let here =
        h.db.events()
            .log_hash(&g)
            .await
            .expect("hash")
            .expect("some");
    let there = other
        .events()
        .log_hash(&g)
        .await
        .expect("hash")
        .expect("some");
    assert_eq!(here, there, "equal logs hash equal");
    assert_eq!(here.head, 5);
    assert_eq!(here.hash, expected_log_hash(&raws), "the documented fold");

    // One differing event at the end: same head, different hash.
    let mut forked = raws.clone();
    forked.push(raw_for(&g, 6, 1));
    let mut mine = raws.clone();
    mine.push(raw_for(&g, 6, 2));
    append_raws_from(&h.db, &g, &mine, 5).await;
    append_raws_from(other, &g, &forked, 5).await;
    let here =
        h.db.events()
            .log_hash(&g)
            .await
            .expect("hash")
            .expect("some");
    let there = other
        .events()
        .log_hash(&g)
        .await
        .expect("hash")
        .expect("some");
    assert_eq!((here.head, there.head), (6, 6));
    assert_ne!(
        here.hash, there.hash,
        "one differing event changes the hash"
    );
    assert_eq!(here.hash, expected_log_hash(&mine));
    other.close().await;

    // The streaming fold, fed directly, refuses a gap.
    let mut hasher = LogHasher::new();
    hasher.push(1, b"a").expect("seq 1");
    assert!(matches!(
        hasher.push(3, b"c"),
        Err(StorageError::Corrupt(_))
    ));
    assert_eq!(LogHasher::new().finish(), None);
}

/// Appends `raws[from..]` (seq from + 1 onwards) after the existing head.
async fn append_raws_from(db: &Database, group: &GroupId, raws: &[Vec<u8>], from: usize) {
    let (head, mut prev) = db.events().last(group).await.expect("last").expect("head");
    assert_eq!(head, from as u64);
    for (i, raw) in raws.iter().enumerate().skip(from) {
        let e = NewEvent {
            group: group.clone(),
            seq: i as u64 + 1,
            id: EventId::of_payload(raw),
            prev: Some(prev),
            ts: Timestamp(1_700_000_000_000 + i as u64),
            sender: "@alice:home.example".to_owned(),
            kind: "msg.post".to_owned(),
            raw: raw.clone(),
        };
        db.events().append(&e, &[]).await.expect("append");
        prev = e.id;
    }
}

async fn log_hash_pages_through_a_long_log(h: Harness) {
    // More than one page (256 events) and not a multiple of it.
    let g = group("loghash2");
    let raws: Vec<Vec<u8>> = (1..=600).map(|seq| raw_for(&g, seq, 3)).collect();
    append_raws(&h.db, &g, &raws).await;
    let hash =
        h.db.events()
            .log_hash(&g)
            .await
            .expect("hash")
            .expect("some");
    assert_eq!(hash.head, 600);
    assert_eq!(hash.hash, expected_log_hash(&raws));
}

async fn faults_round_trip_and_mark_the_group(h: Harness) {
    let g = group("faultone");
    let unknown = group("faultnone");
    append_n(&h.db, &g, 2, &[]).await;
    let faults = h.db.faults();
    assert_eq!(faults.group_fault(&g).await.expect("fault"), None);
    assert_eq!(faults.group_fault(&unknown).await.expect("fault"), None);
    assert_eq!(faults.faulty_groups().await.expect("faulty"), vec![]);
    assert_eq!(faults.all_faults(10).await.expect("all"), vec![]);

    let diverged = GroupFault {
        group: g.clone(),
        seq: 3,
        kind: FaultKind::Diverged,
        reason: "member.kick: actor does not outrank the target".into(),
        held_raw: None,
        offending_raw: vec![0xd2, 0x00, 0xff, 1],
        at: Timestamp(1_000),
    };
    assert!(faults.record_fault(&diverged).await.expect("record"));
    assert!(
        !faults.record_fault(&diverged).await.expect("record again"),
        "the same evidence is recorded once"
    );
    assert_eq!(
        faults.group_fault(&g).await.expect("fault"),
        Some(FaultKind::Diverged)
    );

    let held =
        h.db.events()
            .at(&g, 2)
            .await
            .expect("at")
            .expect("seq 2")
            .raw;
    let forked = GroupFault {
        group: g.clone(),
        seq: 2,
        kind: FaultKind::Forked,
        reason: "two different events signed at seq 2".into(),
        held_raw: Some(held),
        offending_raw: vec![0xd2, 0x00, 0xff, 2],
        at: Timestamp(2_000),
    };
    assert!(faults.record_fault(&forked).await.expect("record fork"));
    assert_eq!(
        faults.group_fault(&g).await.expect("fault"),
        Some(FaultKind::Forked)
    );
    // A later divergence does not downgrade a fork.
    let later = GroupFault {
        seq: 3,
        offending_raw: vec![3],
        at: Timestamp(3_000),
        ..diverged.clone()
    };
    assert!(faults.record_fault(&later).await.expect("record later"));
    assert_eq!(
        faults.group_fault(&g).await.expect("fault"),
        Some(FaultKind::Forked)
    );

    assert_eq!(
        faults.faults(&g).await.expect("faults"),
        vec![diverged.clone(), forked.clone(), later.clone()],
        "oldest first, bytes exact"
    );
    assert_eq!(faults.faults(&unknown).await.expect("faults"), vec![]);

    // A fault for a group with no stored events gives the group its row.
    let elsewhere = GroupFault {
        group: group("faulttwo"),
        ..diverged.clone()
    };
    assert!(faults.record_fault(&elsewhere).await.expect("record"));
    assert_eq!(
        faults.faulty_groups().await.expect("faulty"),
        vec![
            (g.clone(), FaultKind::Forked),
            (group("faulttwo"), FaultKind::Diverged)
        ]
    );
    assert_eq!(
        h.db.events().last(&group("faulttwo")).await.expect("last"),
        None
    );

    let recent = faults.all_faults(2).await.expect("all");
    assert_eq!(recent, vec![later, forked], "newest first, limited");
}

// ---- tests that need no backend, or a specific failure ----

#[tokio::test]
async fn bad_urls_are_rejected_with_the_accepted_forms() {
    let dir = tempfile::tempdir().expect("tempdir");
    for url in [
        "mysql://root:hunter2@localhost/db",
        "sqlite:",
        "sqlite://",
        "postgres",
        "winichat.db",
        "http://example.org",
    ] {
        let result = storage::open(url, dir.path()).await;
        let Err(e @ StorageError::BadUrl { .. }) = result else {
            panic!("{url}: expected BadUrl, got {result:?}");
        };
        let line = e.to_string();
        assert!(
            line.contains("sqlite://PATH") && line.contains("postgres://"),
            "{line}"
        );
        assert!(!line.contains("hunter2") && !line.contains('\n'), "{line}");
    }
}

#[tokio::test]
async fn default_url_is_a_file_in_the_data_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    for url in ["", "sqlite"] {
        let db = storage::open(url, dir.path()).await.expect("open default");
        assert_eq!(db.backend_name(), "sqlite");
        db.ping().await.expect("ping");
        db.close().await;
        assert!(dir.path().join(storage::DEFAULT_SQLITE_FILE).is_file());
    }
}

#[tokio::test]
async fn unreachable_postgres_fails_fast_without_leaking_the_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let result = storage::open("postgres://postgres:hunter2@127.0.0.1:1/x", dir.path()).await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    let Err(e @ StorageError::Unreachable { .. }) = result else {
        panic!("expected Unreachable, got {result:?}");
    };
    let line = e.to_string();
    assert_eq!(
        line,
        "cannot connect to database postgres://postgres:***@127.0.0.1:1/x: connection refused"
    );
}

#[tokio::test]
async fn unopenable_sqlite_file_is_unreachable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing: &Path = &dir.path().join("no/such/dir/x.db");
    let result = storage::open(&format!("sqlite://{}", missing.display()), dir.path()).await;
    assert!(
        matches!(result, Err(StorageError::Unreachable { .. })),
        "{result:?}"
    );
}

#[test]
fn passwords_are_redacted() {
    use storage::redact_url;
    assert_eq!(redact_url("postgres://u:p@h/db"), "postgres://u:***@h/db");
    assert_eq!(
        redact_url("postgres://u:p@ss@h:5/db"),
        "postgres://u:***@h:5/db"
    );
    assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    assert_eq!(
        redact_url("postgres://h/db?user=u&password=p&sslmode=require"),
        "postgres://h/db?user=u&password=***&sslmode=require"
    );
    assert_eq!(
        redact_url("sqlite:///var/lib/w.db"),
        "sqlite:///var/lib/w.db"
    );
}

#[tokio::test]
async fn sqlite_file_is_in_wal_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = storage::open("sqlite", dir.path()).await.expect("open");
    db.close().await;
    // journal_mode=WAL is persistent in the file, so a fresh connection sees it.
    let path = dir.path().join(storage::DEFAULT_SQLITE_FILE);
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("connect");
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
}

/// Once the node closed its storage (shutdown), a write fails at once with an error; it neither
/// waits nor reaches the database.
async fn a_write_after_close_is_refused_and_nothing_is_stored(h: Harness) {
    let g = group("closed");
    h.db.close().await;
    let refused = tokio::time::timeout(
        Duration::from_secs(5),
        h.db.events().append(&event(&g, 1, None), &[]),
    )
    .await
    .expect("refused at once, not after a wait");
    assert!(refused.is_err(), "a write after close: {refused:?}");
    let reopened = h.reopen().await;
    assert_eq!(reopened.events().last(&g).await.expect("last"), None);
}
