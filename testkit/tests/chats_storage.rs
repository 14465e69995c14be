//! The chat projection storage suite (`ChatStore`). Every test runs on SQLite and on
//! PostgreSQL, as in `storage.rs`. The storage never decodes an event's raw bytes nor a body's
//! CBOR, so both are arbitrary bytes here.

use std::sync::Arc;

use winichat_node::storage::chats::{
    ChatRow, Commit, InviteRow, LinkRefusal, LinkRow, Page, ProjectionOp, TimelineRow, TxnRecord,
};
use winichat_node::storage::media::MediaRecord;
use winichat_node::storage::{Database, NewEvent, StorageError};
use winichat_protocol::Timestamp;
use winichat_protocol::ids::{EventId, GroupId, NodeName, UserId};
use winichat_protocol::media::MediaKind;

use winichat_testkit::both_backends;
use winichat_testkit::storage::StorageHarness as Harness;

both_backends!(
    create_with_members_writes_event_chat_members_and_outbox,
    state_is_written_only_when_changed,
    chats_of_lists_live_chats_by_last_ts,
    mark_read_moves_only_forward_and_seen_by,
    direct_pair_is_unique_and_a_conflict_writes_nothing,
    a_replica_direct_pair_keeps_the_smaller_group_id,
    handle_is_unique_and_directory_searches_public_chats,
    txn_is_remembered_and_a_duplicate_writes_nothing,
    items_page_latest_before_after_ascending,
    edit_delete_react_and_pin_update_rows,
    unread_counts_others_messages_up_to_the_cap,
    invites_are_listed_newest_first_and_cleared,
    links_create_list_revoke_and_redeem,
    concurrent_redemptions_never_exceed_max_uses,
    corrupt_rows_are_reported_not_panicked,
    a_batch_writes_what_its_commits_write_one_by_one,
);

// ---- helpers ----

const NODE: &str = "home.example";

fn user(name: &str) -> UserId {
    format!("@{name}:{NODE}").parse().expect("user id")
}

/// A group id from a readable name: `_` dropped, padded to the 6 characters a local part needs.
fn group(local: &str) -> GroupId {
    let local = format!("{:0<6}", local.replace('_', ""));
    format!("!{local}:{NODE}").parse().expect("group id")
}

fn node(name: &str) -> NodeName {
    name.parse().expect("node name")
}

/// A chat under construction: its current row and log head, building the next commit.
struct Chat {
    row: ChatRow,
    head: Option<EventId>,
    /// The time of the next event.
    now: u64,
}

impl Chat {
    fn new(local: &str, name: &str) -> Chat {
        Chat {
            row: ChatRow {
                group: group(local),
                kind: "group".into(),
                name: name.into(),
                description: String::new(),
                visibility: "private".into(),
                handle: None,
                owner: user("alice"),
                members: 0,
                last_seq: 0,
                last_ts: Timestamp(0),
                state: vec![0xa1, 0x01, 0x01],
                deleted: false,
            },
            head: None,
            now: 1_700_000_000_000,
        }
    }

    fn public(local: &str, name: &str, handle: &str) -> Chat {
        let mut c = Chat::new(local, name);
        c.row.visibility = "public".into();
        c.row.handle = Some(format!("#{handle}:{NODE}"));
        c
    }

    fn g(&self) -> &GroupId {
        &self.row.group
    }

    fn next_seq(&self) -> u64 {
        self.row.last_seq + 1
    }

    /// The next event's commit: `kind` by alice, the chat row advanced, `ops`, state changed.
    fn commit(&self, kind: &str, ops: Vec<ProjectionOp>) -> Commit {
        let seq = self.next_seq();
        let mut raw = vec![0xd2, 0x84, 0x00, 0xff];
        raw.extend_from_slice(self.g().as_str().as_bytes());
        raw.extend_from_slice(&seq.to_be_bytes());
        raw.extend_from_slice(kind.as_bytes());
        let event = NewEvent {
            group: self.g().clone(),
            seq,
            id: EventId::of_payload(&raw),
            prev: self.head,
            ts: Timestamp(self.now),
            sender: user("alice").to_string(),
            kind: kind.into(),
            raw,
        };
        let mut chat = self.row.clone();
        chat.last_seq = seq;
        chat.last_ts = Timestamp(self.now);
        Commit {
            event,
            chat,
            state_changed: true,
            ops,
            outbox: Vec::new(),
            txn: None,
        }
    }

    /// Commits `c`; on success the chat follows it.
    async fn apply(&mut self, db: &Database, c: Commit) -> Result<(), StorageError> {
        db.chats().commit(&c).await?;
        self.advance(&c);
        Ok(())
    }

    /// The chat follows `c` without writing it (for batches written later).
    fn advance(&mut self, c: &Commit) {
        self.head = Some(c.event.id);
        self.row = c.chat.clone();
        self.now += 1_000;
    }

    /// The next commit, and the chat follows it: `state` is the new snapshot, `None` for an
    /// event that leaves the state as it was.
    fn queue(&mut self, kind: &str, state: Option<u8>, ops: Vec<ProjectionOp>) -> Commit {
        if let Some(byte) = state {
            self.row.state = vec![0xa1, 0x01, byte];
        }
        let mut c = self.commit(kind, ops);
        c.state_changed = state.is_some();
        if state.is_none() {
            // As the node writes it: no snapshot with an event that leaves the state as it was.
            c.chat.state = Vec::new();
        }
        self.advance(&c);
        c
    }

    /// Commits `kind` with `ops`, expecting success.
    async fn step(&mut self, db: &Database, kind: &str, ops: Vec<ProjectionOp>) {
        let c = self.commit(kind, ops);
        self.apply(db, c).await.expect("commit");
    }

    /// Creates the chat (seq 1) with these members, all read up to 1.
    async fn create(&mut self, db: &Database, members: &[&str]) {
        let mut ops: Vec<ProjectionOp> = members
            .iter()
            .map(|m| ProjectionOp::AddMember {
                user: user(m),
                read_seq: 1,
            })
            .collect();
        ops.push(ProjectionOp::InsertItem(line(1, "group.create", false)));
        self.step(db, "group.create", ops).await;
    }

    /// Posts a message by `sender` as the next event; returns its seq.
    async fn post(&mut self, db: &Database, sender: &str, text: &str) -> u64 {
        let seq = self.next_seq();
        let item = ProjectionOp::InsertItem(message(seq, sender, text, self.now));
        let mut c = self.commit("msg.post", vec![item]);
        c.state_changed = false;
        self.apply(db, c).await.expect("post");
        seq
    }
}

fn message(seq: u64, sender: &str, text: &str, ts: u64) -> TimelineRow {
    TimelineRow {
        seq,
        event_id: format!("$event{seq}"),
        ts: Timestamp(ts),
        sender: user(sender),
        kind: "msg.post".into(),
        body: text.as_bytes().to_vec(),
        is_message: true,
        is_admin: false,
        edited_at: None,
        deleted: false,
        pinned: false,
    }
}

fn line(seq: u64, kind: &str, admin: bool) -> TimelineRow {
    TimelineRow {
        seq,
        event_id: format!("$event{seq}"),
        ts: Timestamp(1_000 + seq),
        sender: user("alice"),
        kind: kind.into(),
        body: vec![0xa0],
        is_message: false,
        is_admin: admin,
        edited_at: None,
        deleted: false,
        pinned: false,
    }
}

fn seqs(rows: &[TimelineRow]) -> Vec<u64> {
    rows.iter().map(|r| r.seq).collect()
}

fn link(code: &str, g: &GroupId, at: u64) -> LinkRow {
    LinkRow {
        code: code.into(),
        group: g.clone(),
        created_by: user("alice"),
        created_at: Timestamp(at),
        expires_at: None,
        max_uses: None,
        uses: 0,
        revoked: false,
    }
}

fn is_conflict<T: std::fmt::Debug>(r: &Result<T, StorageError>) -> bool {
    matches!(r, Err(StorageError::Conflict(_)))
}

// ---- tests run on both backends ----

async fn create_with_members_writes_event_chat_members_and_outbox(h: Harness) {
    let mut c = Chat::new("create1", "Team");
    let mut create = c.commit(
        "group.create",
        vec![
            ProjectionOp::AddMember {
                user: user("alice"),
                read_seq: 1,
            },
            ProjectionOp::AddMember {
                user: user("bob"),
                read_seq: 0,
            },
            ProjectionOp::InsertItem(line(1, "group.create", false)),
        ],
    );
    create.outbox = vec![node("remote.example"), node("remote.example")];
    let event_id = create.event.id;
    c.apply(&h.db, create).await.expect("create");

    let row = h.db.chats().chat(c.g()).await.expect("chat").expect("row");
    assert_eq!(row.name, "Team");
    assert_eq!(row.kind, "group");
    assert_eq!(row.owner, user("alice"));
    assert_eq!(row.members, 2, "counted from the member ops");
    assert_eq!(row.last_seq, 1);
    assert_eq!(row.state, vec![0xa1, 0x01, 0x01]);
    assert!(!row.deleted);
    assert_eq!(
        h.db.events().last(c.g()).await.expect("last"),
        Some((1, event_id))
    );
    let due =
        h.db.outbox()
            .due(&node("remote.example"), Timestamp(i64::MAX as u64), 10)
            .await
            .expect("due");
    assert_eq!(due.len(), 1, "one outbox row per destination");
    assert_eq!(due[0].event_id, event_id);

    let chats = h.db.chats();
    assert_eq!(
        chats.read_seq(c.g(), &user("alice")).await.expect("r"),
        Some(1)
    );
    assert_eq!(
        chats.read_seq(c.g(), &user("bob")).await.expect("r"),
        Some(0)
    );
    assert_eq!(
        chats.read_seq(c.g(), &user("carol")).await.expect("r"),
        None
    );
    assert_eq!(
        chats.reads(c.g()).await.expect("reads"),
        vec![(user("alice"), 1), (user("bob"), 0)]
    );

    // A member leaves, another joins, and an existing one is "added" again: counted once.
    c.step(
        &h.db,
        "member.leave",
        vec![
            ProjectionOp::RemoveMember { user: user("bob") },
            ProjectionOp::AddMember {
                user: user("carol"),
                read_seq: 2,
            },
            ProjectionOp::AddMember {
                user: user("dave"),
                read_seq: 2,
            },
            ProjectionOp::AddMember {
                user: user("alice"),
                read_seq: 2,
            },
            ProjectionOp::RemoveMember {
                user: user("nobody"),
            },
        ],
    )
    .await;
    let row = chats.chat(c.g()).await.expect("chat").expect("row");
    assert_eq!(row.members, 3);
    assert_eq!(row.last_seq, 2);
    assert_eq!(chats.read_seq(c.g(), &user("bob")).await.expect("r"), None);
    assert_eq!(
        chats.read_seq(c.g(), &user("alice")).await.expect("r"),
        Some(1),
        "adding an existing member keeps its position"
    );
    assert!(chats.chat(&group("none")).await.expect("chat").is_none());
}

async fn state_is_written_only_when_changed(h: Harness) {
    let mut c = Chat::new("state1", "Before");
    c.create(&h.db, &["alice"]).await;
    c.row.state = vec![0xff];
    c.row.name = "After".into();
    let mut post = c.commit("msg.post", vec![]);
    post.state_changed = false;
    c.apply(&h.db, post).await.expect("post");
    let row = h.db.chats().chat(c.g()).await.expect("chat").expect("row");
    assert_eq!(row.state, vec![0xa1, 0x01, 0x01], "state kept");
    assert_eq!(row.name, "After", "other columns always written");
    assert_eq!(row.last_seq, 2);

    c.step(&h.db, "group.update", vec![]).await;
    let row = h.db.chats().chat(c.g()).await.expect("chat").expect("row");
    assert_eq!(row.state, vec![0xff]);
    assert_eq!(row.last_seq, 3);
}

async fn chats_of_lists_live_chats_by_last_ts(h: Harness) {
    let mut a = Chat::new("list_a", "A");
    let mut b = Chat::new("list_b", "B");
    let mut gone = Chat::new("list_gone", "Gone");
    a.create(&h.db, &["alice", "bob"]).await;
    b.now += 10_000;
    b.create(&h.db, &["alice"]).await;
    gone.now += 20_000;
    gone.create(&h.db, &["alice"]).await;
    gone.row.deleted = true;
    gone.step(&h.db, "group.delete", vec![]).await;

    let mine = h.db.chats().chats_of(&user("alice")).await.expect("chats");
    let names: Vec<&str> = mine.iter().map(|m| m.chat.name.as_str()).collect();
    assert_eq!(names, ["B", "A"], "newest first, deleted left out");

    // A new message in A moves it to the top.
    a.now += 60_000;
    a.post(&h.db, "bob", "hi").await;
    let mine = h.db.chats().chats_of(&user("alice")).await.expect("chats");
    let names: Vec<&str> = mine.iter().map(|m| m.chat.name.as_str()).collect();
    assert_eq!(names, ["A", "B"]);
    assert_eq!(mine[0].read_seq, 1);
    assert_eq!(mine[0].chat.last_seq, 2);

    let bobs = h.db.chats().chats_of(&user("bob")).await.expect("chats");
    assert_eq!(bobs.len(), 1);
    assert!(
        h.db.chats()
            .chats_of(&user("nobody"))
            .await
            .expect("chats")
            .is_empty()
    );
}

async fn mark_read_moves_only_forward_and_seen_by(h: Harness) {
    let mut c = Chat::new("read1", "R");
    c.create(&h.db, &["alice", "bob", "carol", "dave"]).await;
    for i in 0..5 {
        c.post(&h.db, "alice", &format!("m{i}")).await;
    }
    let chats = h.db.chats();
    assert_eq!(
        chats.mark_read(c.g(), &user("bob"), 5).await.expect("m"),
        Some(5)
    );
    assert_eq!(
        chats.mark_read(c.g(), &user("bob"), 3).await.expect("m"),
        Some(5),
        "never back"
    );
    assert_eq!(
        chats.mark_read(c.g(), &user("bob"), 5).await.expect("m"),
        Some(5)
    );
    assert_eq!(
        chats.mark_read(c.g(), &user("zed"), 5).await.expect("m"),
        None,
        "not a member"
    );
    assert_eq!(
        chats.mark_read(c.g(), &user("carol"), 6).await.expect("m"),
        Some(6)
    );

    // A Read op in a commit is forward-only too.
    c.step(
        &h.db,
        "msg.post",
        vec![
            ProjectionOp::Read {
                user: user("bob"),
                seq: 2,
            },
            ProjectionOp::Read {
                user: user("dave"),
                seq: 7,
            },
        ],
    )
    .await;
    assert_eq!(
        chats.read_seq(c.g(), &user("bob")).await.expect("r"),
        Some(5)
    );
    assert_eq!(
        chats.read_seq(c.g(), &user("dave")).await.expect("r"),
        Some(7)
    );

    let seen = chats
        .seen_by(c.g(), 5, &user("alice"), 10)
        .await
        .expect("seen");
    assert_eq!(seen, vec![user("bob"), user("carol"), user("dave")]);
    let seen = chats
        .seen_by(c.g(), 6, &user("carol"), 10)
        .await
        .expect("seen");
    assert_eq!(seen, vec![user("dave")], "except is left out");
    assert_eq!(
        chats
            .seen_by(c.g(), 1, &user("alice"), 2)
            .await
            .expect("seen")
            .len(),
        2,
        "limit"
    );
}

async fn direct_pair_is_unique_and_a_conflict_writes_nothing(h: Harness) {
    let (a, b) = (user("zoe"), user("adam"));
    let mut dm = Chat::new("dm1", "");
    dm.row.kind = "direct".into();
    let mut create = dm.commit(
        "group.create",
        vec![
            ProjectionOp::AddMember {
                user: a.clone(),
                read_seq: 1,
            },
            ProjectionOp::AddMember {
                user: b.clone(),
                read_seq: 1,
            },
            ProjectionOp::DirectPair {
                a: a.clone(),
                b: b.clone(),
                smaller_wins: false,
            },
        ],
    );
    create.txn = Some(TxnRecord {
        user: a.clone(),
        txn: "dm-1".into(),
        result: vec![1],
        at: Timestamp(5),
    });
    dm.apply(&h.db, create).await.expect("dm");
    let chats = h.db.chats();
    assert_eq!(
        chats.direct_between(&a, &b).await.expect("d"),
        Some(dm.g().clone())
    );
    assert_eq!(
        chats.direct_between(&b, &a).await.expect("d"),
        Some(dm.g().clone())
    );
    assert_eq!(
        chats.direct_between(&a, &user("xavier")).await.expect("d"),
        None
    );
    assert_eq!(chats.direct_between(&a, &a).await.expect("d"), None);

    // A second DM of the same pair (given in the other order): refused, nothing written.
    let mut dm2 = Chat::new("dm2", "");
    dm2.row.kind = "direct".into();
    let mut second = dm2.commit(
        "group.create",
        vec![
            ProjectionOp::AddMember {
                user: b.clone(),
                read_seq: 1,
            },
            ProjectionOp::DirectPair {
                a: b.clone(),
                b: a.clone(),
                smaller_wins: false,
            },
        ],
    );
    second.outbox = vec![node("remote.example")];
    second.txn = Some(TxnRecord {
        user: b.clone(),
        txn: "dm-2".into(),
        result: vec![2],
        at: Timestamp(5),
    });
    let r = chats.commit(&second).await;
    assert!(is_conflict(&r), "{r:?}");
    let Err(e) = r else { unreachable!() };
    assert!(e.to_string().contains("direct chat"), "{e}");
    assert_eq!(h.db.events().last(dm2.g()).await.expect("last"), None);
    assert!(chats.chat(dm2.g()).await.expect("chat").is_none());
    assert_eq!(chats.read_seq(dm2.g(), &b).await.expect("r"), None);
    assert_eq!(chats.txn(&b, "dm-2").await.expect("txn"), None);
    assert_eq!(chats.chats_of(&b).await.expect("chats").len(), 1);
    assert!(
        h.db.outbox()
            .due(&node("remote.example"), Timestamp(i64::MAX as u64), 10)
            .await
            .expect("due")
            .is_empty()
    );

    // On an existing group the head does not move either.
    let mut g = Chat::new("dm3", "");
    g.create(&h.db, &["adam"]).await;
    let head = h.db.events().last(g.g()).await.expect("last");
    let r = chats
        .commit(&g.commit(
            "member.join",
            vec![ProjectionOp::DirectPair {
                a: a.clone(),
                b: b.clone(),
                smaller_wins: false,
            }],
        ))
        .await;
    assert!(is_conflict(&r), "{r:?}");
    assert_eq!(h.db.events().last(g.g()).await.expect("last"), head);
    assert_eq!(
        chats
            .chat(g.g())
            .await
            .expect("chat")
            .expect("row")
            .last_seq,
        1
    );
}

/// A direct chat of a pair created on two nodes at once: each node holds both, and the pair's
/// chat is the smaller group id on both (spec/federation.md §5.11).
async fn a_replica_direct_pair_keeps_the_smaller_group_id(h: Harness) {
    let (a, b) = (user("alice"), user("bob"));
    let direct = |local: &str, smaller_wins: bool| {
        let mut chat = Chat::new(local, "");
        chat.row.kind = "direct".into();
        let commit = chat.commit(
            "group.create",
            vec![
                ProjectionOp::AddMember {
                    user: a.clone(),
                    read_seq: 1,
                },
                ProjectionOp::DirectPair {
                    a: a.clone(),
                    b: b.clone(),
                    smaller_wins,
                },
            ],
        );
        (chat, commit)
    };
    let chats = h.db.chats();
    let (middle, create) = direct("mm0000", false);
    chats
        .commit(&create)
        .await
        .expect("the first chat of the pair");

    // A larger id arriving as a replica is kept, but is not the pair's chat.
    let (larger, create) = direct("zz0000", true);
    chats
        .commit(&create)
        .await
        .expect("a replica is never refused");
    assert!(chats.chat(larger.g()).await.expect("chat").is_some());
    assert_eq!(
        chats.direct_between(&a, &b).await.expect("pair"),
        Some(middle.g().clone())
    );

    // A smaller one becomes the pair's chat.
    let (smaller, create) = direct("aa0000", true);
    chats
        .commit(&create)
        .await
        .expect("a replica is never refused");
    assert_eq!(
        chats.direct_between(&b, &a).await.expect("pair"),
        Some(smaller.g().clone())
    );
    assert_eq!(chats.chats_of(&a).await.expect("chats").len(), 3);

    // The home's own creation still refuses a taken pair.
    let (_, create) = direct("bb0000", false);
    let r = chats.commit(&create).await;
    assert!(is_conflict(&r), "{r:?}");
}

async fn handle_is_unique_and_directory_searches_public_chats(h: Harness) {
    let mut rust = Chat::public("dir_rust", "Rustaceans", "rust");
    rust.create(&h.db, &["alice", "bob", "carol"]).await;
    let mut rusty = Chat::public("dir_rusty", "Old Iron", "rusty");
    rusty.create(&h.db, &["alice", "bob", "carol"]).await;
    let mut cooking = Chat::public("dir_cook", "Rust belt cooking", "cooking");
    cooking.create(&h.db, &["alice"]).await;
    let mut secret = Chat::new("dir_secret", "Rust secret");
    secret
        .create(&h.db, &["alice", "bob", "carol", "dave"])
        .await;
    let mut big = Chat::public("dir_big", "Everyone", "lobby");
    big.create(&h.db, &["alice", "bob", "carol", "dave", "erin"])
        .await;
    let mut dead = Chat::public("dir_dead", "Rust dead", "rustdead");
    dead.create(&h.db, &["alice"]).await;
    dead.row.deleted = true;
    dead.step(&h.db, "group.delete", vec![]).await;

    // The handle is taken: refused, nothing written.
    let mut dup = Chat::public("dir_dup", "Dup", "rust");
    let r =
        h.db.chats()
            .commit(&dup.commit("group.create", vec![]))
            .await;
    assert!(is_conflict(&r), "{r:?}");
    let Err(e) = r else { unreachable!() };
    assert!(e.to_string().contains("#rust:home.example"), "{e}");
    assert_eq!(h.db.events().last(dup.g()).await.expect("last"), None);
    // Taking it by an update of an existing chat is refused too.
    dup.row.handle = None;
    dup.row.visibility = "private".into();
    dup.create(&h.db, &["alice"]).await;
    dup.row.handle = Some(format!("#rusty:{NODE}"));
    let mut upd = dup.commit("group.update", vec![]);
    upd.state_changed = false;
    assert!(is_conflict(&h.db.chats().commit(&upd).await));
    assert_eq!(
        h.db.chats()
            .chat(dup.g())
            .await
            .expect("c")
            .expect("r")
            .handle,
        None
    );

    let by = h.db.chats().chat_by_handle("#rust:home.example").await;
    assert_eq!(by.expect("by").expect("row").group, *rust.g());
    let dead_by = h.db.chats().chat_by_handle("#rustdead:home.example").await;
    assert!(
        dead_by.expect("by").expect("row").deleted,
        "deleted ones too"
    );
    assert!(
        h.db.chats()
            .chat_by_handle("#nope:home.example")
            .await
            .expect("by")
            .is_none()
    );

    let names = |rows: Vec<ChatRow>| rows.into_iter().map(|r| r.name).collect::<Vec<_>>();
    let found = h.db.chats().directory("rust", 10).await.expect("dir");
    assert_eq!(
        names(found),
        ["Rustaceans", "Old Iron", "Rust belt cooking"],
        "handle or name prefix; members desc, then handle"
    );
    let found = h.db.chats().directory("RUST B", 10).await.expect("dir");
    assert_eq!(names(found), ["Rust belt cooking"], "case-insensitive");
    let found = h.db.chats().directory("", 10).await.expect("dir");
    assert_eq!(
        names(found),
        ["Everyone", "Rustaceans", "Old Iron", "Rust belt cooking"]
    );
    let found = h.db.chats().directory("", 2).await.expect("dir");
    assert_eq!(names(found), ["Everyone", "Rustaceans"]);
    assert!(
        h.db.chats()
            .directory("%", 10)
            .await
            .expect("dir")
            .is_empty(),
        "LIKE wildcards are literal"
    );
    assert!(
        h.db.chats()
            .directory("iron", 10)
            .await
            .expect("dir")
            .is_empty(),
        "prefix, not substring"
    );
}

async fn txn_is_remembered_and_a_duplicate_writes_nothing(h: Harness) {
    let mut c = Chat::new("txn1", "T");
    c.create(&h.db, &["alice"]).await;
    let record = |result: u8, at: u64| TxnRecord {
        user: user("alice"),
        txn: "client-42".into(),
        result: vec![result],
        at: Timestamp(at),
    };
    let seq = c.next_seq();
    let mut post = c.commit(
        "msg.post",
        vec![ProjectionOp::InsertItem(message(
            seq, "alice", "one", c.now,
        ))],
    );
    post.txn = Some(record(7, 1_000));
    c.apply(&h.db, post).await.expect("post");
    let chats = h.db.chats();
    assert_eq!(
        chats.txn(&user("alice"), "client-42").await.expect("txn"),
        Some(vec![7])
    );
    assert_eq!(
        chats.txn(&user("bob"), "client-42").await.expect("txn"),
        None
    );

    let head = h.db.events().last(c.g()).await.expect("last");
    let seq = c.next_seq();
    let mut again = c.commit(
        "msg.post",
        vec![ProjectionOp::InsertItem(message(
            seq, "alice", "two", c.now,
        ))],
    );
    again.txn = Some(record(8, 2_000));
    let r = chats.commit(&again).await;
    assert!(is_conflict(&r), "{r:?}");
    assert_eq!(h.db.events().last(c.g()).await.expect("last"), head);
    assert!(chats.item(c.g(), seq).await.expect("item").is_none());
    assert_eq!(
        chats.chat(c.g()).await.expect("c").expect("r").last_seq,
        seq - 1
    );
    assert_eq!(
        chats.txn(&user("alice"), "client-42").await.expect("txn"),
        Some(vec![7]),
        "the first result stays"
    );

    // Another user may use the same txn id.
    let mut other = c.commit("msg.post", vec![]);
    other.txn = Some(TxnRecord {
        user: user("bob"),
        ..record(9, 3_000)
    });
    c.apply(&h.db, other).await.expect("bob's txn");

    // Every key, in key order, page by page.
    let keys = |after: Option<(String, String)>| {
        let chats = h.db.chats();
        async move {
            chats
                .txn_keys(after.as_ref().map(|(u, t)| (u.as_str(), t.as_str())), 1)
                .await
                .expect("txn keys")
        }
    };
    let alice_key = (user("alice").as_str().to_owned(), "client-42".to_owned());
    let bob_key = (user("bob").as_str().to_owned(), "client-42".to_owned());
    assert_eq!(keys(None).await, vec![alice_key.clone()]);
    assert_eq!(keys(Some(alice_key)).await, vec![bob_key.clone()]);
    assert_eq!(keys(Some(bob_key)).await, Vec::new());

    assert_eq!(chats.prune_txns(Timestamp(1_000)).await.expect("prune"), 0);
    assert_eq!(chats.prune_txns(Timestamp(2_000)).await.expect("prune"), 1);
    assert_eq!(
        chats.txn(&user("alice"), "client-42").await.expect("txn"),
        None
    );
    assert_eq!(
        chats.txn(&user("bob"), "client-42").await.expect("txn"),
        Some(vec![9])
    );
}

async fn items_page_latest_before_after_ascending(h: Harness) {
    let mut c = Chat::new("items1", "I");
    c.create(&h.db, &["alice", "bob"]).await; // seq 1: a line, not admin
    // seqs 2..=13: messages, with admin lines at 5 and 9 and a reaction (no row) at 11.
    for seq in 2..=13u64 {
        match seq {
            5 | 9 => {
                c.step(
                    &h.db,
                    "member.kick",
                    vec![ProjectionOp::InsertItem(line(seq, "member.kick", true))],
                )
                .await
            }
            11 => c.step(&h.db, "msg.react", vec![]).await,
            _ => {
                c.post(&h.db, "bob", &format!("m{seq}")).await;
            }
        }
    }
    let chats = h.db.chats();
    let g = c.g();
    let latest = chats.items(g, Page::Latest, 3, false).await.expect("items");
    assert_eq!(seqs(&latest), [10, 12, 13]);
    assert_eq!(latest[2].body, b"m13");
    assert!(latest[2].is_message && !latest[2].is_admin);
    let before = chats
        .items(g, Page::Before(10), 4, false)
        .await
        .expect("items");
    assert_eq!(seqs(&before), [6, 7, 8, 9]);
    let after = chats
        .items(g, Page::After(4), 3, false)
        .await
        .expect("items");
    assert_eq!(seqs(&after), [5, 6, 7]);
    let all = chats.items(g, Page::After(0), 100, false).await.expect("i");
    assert_eq!(all.len(), 12);
    assert!(
        chats
            .items(g, Page::After(13), 10, false)
            .await
            .expect("i")
            .is_empty()
    );
    assert!(
        chats
            .items(g, Page::Before(1), 10, false)
            .await
            .expect("i")
            .is_empty()
    );

    let audit = chats.items(g, Page::Latest, 10, true).await.expect("audit");
    assert_eq!(seqs(&audit), [5, 9]);
    let audit = chats
        .items(g, Page::Before(9), 10, true)
        .await
        .expect("audit");
    assert_eq!(seqs(&audit), [5]);
    let audit = chats.items(g, Page::After(5), 10, true).await.expect("a");
    assert_eq!(seqs(&audit), [9]);

    assert!(chats.has_item_before(g, 2, false).await.expect("b"));
    assert!(!chats.has_item_before(g, 1, false).await.expect("b"));
    assert!(chats.has_item_before(g, 6, true).await.expect("b"));
    assert!(!chats.has_item_before(g, 5, true).await.expect("b"));
    assert!(chats.has_item_after(g, 12).await.expect("a"));
    assert!(!chats.has_item_after(g, 13).await.expect("a"));
    assert!(chats.has_item_after(g, 10).await.expect("a"));

    assert_eq!(
        chats.last_item(g).await.expect("last").map(|r| r.seq),
        Some(13)
    );
    assert_eq!(chats.last_item(&group("empty")).await.expect("last"), None);
    let one = chats.item(g, 5).await.expect("item").expect("row");
    assert_eq!(one, line(5, "member.kick", true));
    assert!(chats.item(g, 11).await.expect("item").is_none());
}

async fn edit_delete_react_and_pin_update_rows(h: Harness) {
    let mut c = Chat::new("ops1", "O");
    c.create(&h.db, &["alice", "bob"]).await;
    let m = c.post(&h.db, "bob", "hello").await;
    let n = c.post(&h.db, "alice", "world").await;
    let chats = h.db.chats();

    c.step(
        &h.db,
        "msg.edit",
        vec![ProjectionOp::EditItem {
            seq: m,
            body: b"hello!".to_vec(),
            edited_at: Timestamp(77),
        }],
    )
    .await;
    let row = chats.item(c.g(), m).await.expect("item").expect("row");
    assert_eq!(row.body, b"hello!");
    assert_eq!(row.edited_at, Some(Timestamp(77)));

    let react = |seq: u64, emoji: &str, who: &str, ts: u64, on: bool| ProjectionOp::React {
        seq,
        emoji: emoji.into(),
        user: user(who),
        ts: Timestamp(ts),
        on,
    };
    c.step(
        &h.db,
        "msg.react",
        vec![
            react(m, "👍", "bob", 30, true),
            react(m, "👍", "alice", 10, true),
            react(m, "🎉", "alice", 20, true),
            react(n, "👍", "bob", 5, true),
        ],
    )
    .await;
    // Adding twice and removing an absent one are no-ops.
    c.step(
        &h.db,
        "msg.react",
        vec![
            react(m, "👍", "alice", 99, true),
            react(m, "❤", "bob", 1, false),
        ],
    )
    .await;
    let got = chats.reactions(c.g(), &[m, n]).await.expect("reactions");
    let view: Vec<(u64, &str, String, u64)> = got
        .iter()
        .map(|r| (r.seq, r.emoji.as_str(), r.user.name().to_owned(), r.ts.0))
        .collect();
    assert_eq!(
        view,
        [
            (n, "👍", "bob".to_owned(), 5),
            (m, "👍", "alice".to_owned(), 10),
            (m, "🎉", "alice".to_owned(), 20),
            (m, "👍", "bob".to_owned(), 30),
        ],
        "ordered by ts, the first ts kept"
    );
    assert_eq!(chats.reactions(c.g(), &[n]).await.expect("r").len(), 1);
    assert!(chats.reactions(c.g(), &[]).await.expect("r").is_empty());
    c.step(&h.db, "msg.react", vec![react(m, "👍", "bob", 40, false)])
        .await;
    assert_eq!(chats.reactions(c.g(), &[m]).await.expect("r").len(), 2);

    c.step(
        &h.db,
        "msg.pin",
        vec![ProjectionOp::Pin { seq: n, on: true }],
    )
    .await;
    assert!(chats.item(c.g(), n).await.expect("i").expect("r").pinned);
    c.step(
        &h.db,
        "msg.pin",
        vec![ProjectionOp::Pin { seq: n, on: false }],
    )
    .await;
    assert!(!chats.item(c.g(), n).await.expect("i").expect("r").pinned);

    c.step(
        &h.db,
        "msg.delete",
        vec![ProjectionOp::DeleteItem {
            seq: m,
            body: vec![0xa0],
        }],
    )
    .await;
    let row = chats.item(c.g(), m).await.expect("item").expect("row");
    assert!(row.deleted);
    assert_eq!(row.body, vec![0xa0]);
    assert!(
        chats.reactions(c.g(), &[m]).await.expect("r").is_empty(),
        "a deleted message loses its reactions"
    );
    assert_eq!(chats.reactions(c.g(), &[m, n]).await.expect("r").len(), 1);
}

async fn unread_counts_others_messages_up_to_the_cap(h: Harness) {
    let mut c = Chat::new("unread1", "U");
    c.create(&h.db, &["alice", "bob"]).await;
    // Many rows in one commit keep the test fast; the storage does not tie items to events.
    let base = c.next_seq();
    let mut ops = Vec::new();
    for i in 0..1_500u64 {
        let sender = if i % 3 == 0 { "alice" } else { "bob" };
        ops.push(ProjectionOp::InsertItem(message(base + i, sender, "x", 1)));
    }
    ops.push(ProjectionOp::InsertItem(line(
        base + 1_500,
        "member.kick",
        true,
    )));
    c.step(&h.db, "msg.post", ops).await;
    let chats = h.db.chats();
    let g = &c.g().clone();
    assert_eq!(
        chats.unread(g, &user("alice"), 0, 10_000).await.expect("u"),
        1_000
    );
    assert_eq!(chats.unread(g, &user("alice"), 0, 99).await.expect("u"), 99);
    assert_eq!(chats.unread(g, &user("alice"), 0, 0).await.expect("u"), 0);
    assert_eq!(
        chats.unread(g, &user("bob"), 0, 10_000).await.expect("u"),
        500
    );
    // Above the last six: seqs base+1494..=base+1499 are a b b a b b → bob wrote 4.
    assert_eq!(
        chats
            .unread(g, &user("alice"), base + 1_493, 100)
            .await
            .expect("u"),
        4
    );
    // Deleted messages do not count.
    c.step(
        &h.db,
        "msg.delete",
        vec![ProjectionOp::DeleteItem {
            seq: base + 1_499,
            body: vec![0xa0],
        }],
    )
    .await;
    assert_eq!(
        chats
            .unread(g, &user("alice"), base + 1_493, 100)
            .await
            .expect("u"),
        3
    );
    assert_eq!(
        chats
            .unread(g, &user("alice"), u64::MAX, 100)
            .await
            .expect("u"),
        0
    );
}

async fn invites_are_listed_newest_first_and_cleared(h: Harness) {
    let mut a = Chat::new("inv_a", "A");
    let mut b = Chat::new("inv_b", "B");
    a.create(&h.db, &["alice"]).await;
    b.create(&h.db, &["alice"]).await;
    let invite = |who: &str, at: u64| ProjectionOp::Invite {
        user: user(who),
        by: user("alice"),
        at: Timestamp(at),
    };
    a.step(&h.db, "member.invite", vec![invite("bob", 100)])
        .await;
    b.step(
        &h.db,
        "member.invite",
        vec![invite("bob", 200), invite("carol", 150)],
    )
    .await;
    let chats = h.db.chats();
    assert_eq!(
        chats.invites_for(&user("bob")).await.expect("inv"),
        vec![
            InviteRow {
                group: b.g().clone(),
                user: user("bob"),
                by: user("alice"),
                at: Timestamp(200),
            },
            InviteRow {
                group: a.g().clone(),
                user: user("bob"),
                by: user("alice"),
                at: Timestamp(100),
            },
        ]
    );
    // Inviting again refreshes the invite.
    a.step(&h.db, "member.invite", vec![invite("bob", 300)])
        .await;
    let got = chats.invites_for(&user("bob")).await.expect("inv");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].group, *a.g());
    b.step(
        &h.db,
        "member.join",
        vec![
            ProjectionOp::ClearInvite { user: user("bob") },
            ProjectionOp::AddMember {
                user: user("bob"),
                read_seq: 3,
            },
        ],
    )
    .await;
    let got = chats.invites_for(&user("bob")).await.expect("inv");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].group, *a.g());
    assert_eq!(chats.invites_for(&user("carol")).await.expect("i").len(), 1);
    assert!(
        chats
            .invites_for(&user("dave"))
            .await
            .expect("i")
            .is_empty()
    );
}

async fn links_create_list_revoke_and_redeem(h: Harness) {
    let mut c = Chat::new("links1", "L");
    c.create(&h.db, &["alice"]).await;
    let mut other = Chat::new("links2", "M");
    other.create(&h.db, &["alice"]).await;
    let chats = h.db.chats();
    let g = c.g().clone();

    let open = link("open", &g, 100);
    let limited = LinkRow {
        max_uses: Some(2),
        ..link("limited", &g, 200)
    };
    let expiring = LinkRow {
        expires_at: Some(Timestamp(1_000)),
        ..link("expiring", &g, 300)
    };
    for l in [&open, &limited, &expiring] {
        chats.create_link(l).await.expect("create");
    }
    chats
        .create_link(&link("elsewhere", other.g(), 400))
        .await
        .expect("create");
    assert!(is_conflict(
        &chats.create_link(&link("open", &g, 500)).await
    ));

    let listed = chats.links(&g).await.expect("links");
    let codes: Vec<&str> = listed.iter().map(|l| l.code.as_str()).collect();
    assert_eq!(codes, ["expiring", "limited", "open"], "newest first");
    assert_eq!(
        chats.link("limited").await.expect("l"),
        Some(limited.clone())
    );
    assert_eq!(chats.link("nope").await.expect("l"), None);

    // Redeem: counted, limited, expiring.
    let now = Timestamp(999);
    let r = chats.redeem_link("open", now).await.expect("redeem");
    assert_eq!(r.map(|l| l.uses), Ok(1));
    for want in [1, 2] {
        let r = chats.redeem_link("limited", now).await.expect("redeem");
        assert_eq!(r.map(|l| l.uses), Ok(want));
    }
    assert_eq!(
        chats.redeem_link("limited", now).await.expect("r"),
        Err(LinkRefusal::UsedUp)
    );
    // A use given back can be taken again, once.
    chats.unredeem_link("limited").await.expect("unredeem");
    assert_eq!(
        chats
            .redeem_link("limited", now)
            .await
            .expect("r")
            .map(|l| l.uses),
        Ok(2)
    );
    assert_eq!(
        chats.redeem_link("limited", now).await.expect("r"),
        Err(LinkRefusal::UsedUp)
    );
    assert!(chats.redeem_link("expiring", now).await.expect("r").is_ok());
    assert_eq!(
        chats
            .redeem_link("expiring", Timestamp(1_000))
            .await
            .expect("r"),
        Err(LinkRefusal::Expired)
    );
    assert_eq!(
        chats.redeem_link("nope", now).await.expect("r"),
        Err(LinkRefusal::Unknown)
    );

    // Revoke: only within its group.
    assert!(!chats.revoke_link(other.g(), "open").await.expect("revoke"));
    assert!(!chats.revoke_link(&g, "nope").await.expect("revoke"));
    assert!(chats.revoke_link(&g, "open").await.expect("revoke"));
    assert_eq!(
        chats.redeem_link("open", now).await.expect("r"),
        Err(LinkRefusal::Revoked)
    );
    let open_now = chats.link("open").await.expect("l").expect("row");
    assert!(open_now.revoked);
    assert_eq!(open_now.uses, 1, "a refused redemption counts nothing");
    // Unredeem never goes below zero.
    chats.unredeem_link("elsewhere").await.expect("unredeem");
    assert_eq!(
        chats.link("elsewhere").await.expect("l").expect("r").uses,
        0
    );
}

async fn concurrent_redemptions_never_exceed_max_uses(h: Harness) {
    const RACERS: usize = 20;
    let mut c = Chat::new("race1", "R");
    c.create(&h.db, &["alice"]).await;
    h.db.chats()
        .create_link(&LinkRow {
            max_uses: Some(5),
            ..link("race", c.g(), 1)
        })
        .await
        .expect("create");
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = Vec::new();
    for _ in 0..RACERS {
        let db = h.db.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            db.chats().redeem_link("race", Timestamp(2)).await
        }));
    }
    let mut uses = Vec::new();
    let mut refused = 0;
    for t in tasks {
        match t.await.expect("task").expect("redeem") {
            Ok(l) => uses.push(l.uses),
            Err(LinkRefusal::UsedUp) => refused += 1,
            Err(other) => panic!("unexpected refusal {other:?}"),
        }
    }
    uses.sort_unstable();
    assert_eq!(uses, [1, 2, 3, 4, 5], "each winner saw its own count");
    assert_eq!(refused, RACERS - 5);
    assert_eq!(
        h.db.chats().link("race").await.expect("l").expect("r").uses,
        5
    );
}

async fn corrupt_rows_are_reported_not_panicked(h: Harness) {
    let mut c = Chat::new("corrupt1", "C");
    c.create(&h.db, &["alice"]).await;
    let m = c.post(&h.db, "alice", "x").await;
    h.tamper("UPDATE chats SET owner = 'not a user' WHERE group_id = '!corrupt1:home.example'")
        .await;
    let r = h.db.chats().chat(c.g()).await;
    assert!(matches!(r, Err(StorageError::Corrupt(_))), "{r:?}");
    let r = h.db.chats().chats_of(&user("alice")).await;
    assert!(matches!(r, Err(StorageError::Corrupt(_))), "{r:?}");
    h.tamper("UPDATE timeline SET sender = 'bad' WHERE group_id = '!corrupt1:home.example'")
        .await;
    let r = h.db.chats().item(c.g(), m).await;
    assert!(matches!(r, Err(StorageError::Corrupt(_))), "{r:?}");
    h.tamper("UPDATE chat_members SET user_id = 'bad' WHERE group_id = '!corrupt1:home.example'")
        .await;
    let r = h.db.chats().reads(c.g()).await;
    assert!(matches!(r, Err(StorageError::Corrupt(_))), "{r:?}");
}

/// The tables a commit writes.
const COMMIT_TABLES: [&str; 11] = [
    "groups",
    "events",
    "outbox",
    "chats",
    "chat_members",
    "direct_pairs",
    "timeline",
    "reactions",
    "chat_invites",
    "media_refs",
    "txns",
];

async fn upload(db: &Database, n: u8) -> [u8; 32] {
    let record = MediaRecord {
        sha256: [n; 32],
        kind: MediaKind::File,
        mime: "application/pdf".into(),
        size: 10,
        width: None,
        height: None,
        duration_ms: None,
        blurhash: None,
        thumbs: Vec::new(),
        created_at: Timestamp(1),
        touched_at: Timestamp(1),
    };
    db.media()
        .record_upload(&record, &user("alice"), Timestamp(1))
        .await
        .expect("upload");
    record.sha256
}

/// `commit_all` writes a batch as a few multi-row statements: the rows must be exactly those
/// of the same commits written one by one — for every kind of op, several groups interleaved,
/// logs started and continued, reads merged around members leaving and coming back, state
/// snapshots followed by messages — and a batch with a refused commit keeps the others.
async fn a_batch_writes_what_its_commits_write_one_by_one(h: Harness) {
    let one_by_one = h.fresh_like().await;
    let mut media = Vec::new();
    for db in [&h.db, &one_by_one.db] {
        media = vec![upload(db, 1).await, upload(db, 2).await];
    }
    let txn = |name: &str, n: u32| TxnRecord {
        user: user(name),
        txn: format!("txn-{n}"),
        result: vec![0x82, 0x01, 0x02],
        at: Timestamp(u64::from(n)),
    };
    let joined = |name: &str, seq: u64| ProjectionOp::AddMember {
        user: user(name),
        read_seq: seq,
    };
    let read = |name: &str, seq: u64| ProjectionOp::Read {
        user: user(name),
        seq,
    };

    let mut a = Chat::public("batcha", "A", "batcha");
    let mut b = Chat::new("batchb", "B");
    let mut d = Chat::new("batchd", "D");
    d.row.kind = "direct".into();
    let mut first = Vec::new();
    let mut create = a.queue(
        "group.create",
        Some(1),
        vec![
            joined("alice", 1),
            joined("bob", 0),
            joined("carol", 0),
            ProjectionOp::InsertItem(line(1, "group.create", false)),
        ],
    );
    create.outbox = vec![node("b.example"), node("c.example")];
    create.txn = Some(txn("alice", 1));
    first.push(create);
    first.push(b.queue(
        "group.create",
        Some(1),
        vec![
            joined("alice", 1),
            joined("dave", 0),
            ProjectionOp::InsertItem(line(1, "group.create", false)),
        ],
    ));
    let mut post = a.queue(
        "msg.post",
        None,
        vec![
            ProjectionOp::InsertItem(message(2, "bob", "hi", a.now)),
            read("bob", 2),
        ],
    );
    post.outbox = vec![node("b.example")];
    post.txn = Some(txn("bob", 2));
    first.push(post);
    first.push(b.queue(
        "msg.post",
        None,
        vec![
            ProjectionOp::InsertItem(message(2, "alice", "file", b.now)),
            ProjectionOp::MediaRefs {
                seq: 2,
                media: vec![media[0]],
            },
            read("alice", 2),
        ],
    ));
    first.push(a.queue(
        "msg.post",
        None,
        vec![
            ProjectionOp::InsertItem(message(3, "carol", "yo", a.now)),
            read("carol", 3),
        ],
    ));
    first.push(d.queue(
        "group.create",
        Some(1),
        vec![
            ProjectionOp::DirectPair {
                a: user("alice"),
                b: user("erin"),
                smaller_wins: false,
            },
            joined("alice", 1),
            joined("erin", 0),
            ProjectionOp::InsertItem(line(1, "group.create", false)),
        ],
    ));

    let mut second = Vec::new();
    for (n, (who, on)) in [("bob", true), ("carol", true), ("bob", false)]
        .into_iter()
        .enumerate()
    {
        second.push(a.queue(
            "msg.react",
            None,
            vec![ProjectionOp::React {
                seq: 2,
                emoji: "👍".into(),
                user: user(who),
                ts: Timestamp(10 + n as u64),
                on,
            }],
        ));
    }
    second.push(a.queue(
        "msg.edit",
        None,
        vec![ProjectionOp::EditItem {
            seq: 2,
            body: b"hi!".to_vec(),
            edited_at: Timestamp(20),
        }],
    ));
    second.push(a.queue(
        "msg.pin",
        Some(2),
        vec![ProjectionOp::Pin { seq: 2, on: true }],
    ));
    second.push(b.queue(
        "msg.delete",
        None,
        vec![ProjectionOp::DeleteItem {
            seq: 2,
            body: vec![0xa0],
        }],
    ));
    // carol reads, leaves, comes back with a position of her own, and reads again.
    second.push(a.queue(
        "msg.post",
        None,
        vec![
            ProjectionOp::InsertItem(message(9, "carol", "bye", a.now)),
            read("carol", 9),
        ],
    ));
    second.push(a.queue(
        "member.leave",
        Some(3),
        vec![
            ProjectionOp::RemoveMember {
                user: user("carol"),
            },
            ProjectionOp::InsertItem(line(10, "member.leave", false)),
        ],
    ));
    second.push(a.queue(
        "member.invite",
        Some(4),
        vec![ProjectionOp::Invite {
            user: user("frank"),
            by: user("alice"),
            at: Timestamp(30),
        }],
    ));
    second.push(a.queue(
        "member.join",
        Some(5),
        vec![
            ProjectionOp::ClearInvite {
                user: user("frank"),
            },
            joined("frank", 12),
            joined("carol", 11),
            ProjectionOp::InsertItem(line(12, "member.join", false)),
        ],
    ));
    second.push(a.queue(
        "group.edit",
        Some(6),
        vec![ProjectionOp::GroupPhoto {
            media: Some(media[1]),
        }],
    ));
    let mut last = a.queue(
        "msg.post",
        None,
        vec![
            ProjectionOp::InsertItem(message(14, "carol", "back", a.now)),
            read("carol", 14),
            read("bob", 14),
        ],
    );
    last.txn = Some(txn("carol", 3));
    second.push(last);
    second.push(d.queue(
        "msg.post",
        None,
        vec![
            ProjectionOp::InsertItem(message(2, "erin", "psst", d.now)),
            read("erin", 2),
        ],
    ));

    for batch in [&first, &second] {
        let outcomes = h.db.chats().commit_all(batch).await.expect("batch");
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
        for c in batch.iter() {
            one_by_one.db.chats().commit(c).await.expect("commit");
        }
    }
    for table in COMMIT_TABLES {
        assert_eq!(
            h.dump(table).await,
            one_by_one.dump(table).await,
            "table {table} differs"
        );
    }
    assert_eq!(
        h.db.chats().batches_rewritten(),
        0,
        "both batches were written as planned, not commit by commit"
    );
    let row = h.db.chats().chat(a.g()).await.expect("chat").expect("row");
    assert_eq!(row.members, 4, "alice, bob, frank and carol again");
    assert_eq!(
        row.state,
        vec![0xa1, 0x01, 6],
        "the last snapshot, not the message's"
    );

    // A batch whose second commit repeats a remembered txn id: that commit alone is refused.
    let ok = b.queue(
        "msg.post",
        None,
        vec![ProjectionOp::InsertItem(message(4, "dave", "ok", b.now))],
    );
    let mut repeated = d.queue(
        "msg.post",
        None,
        vec![ProjectionOp::InsertItem(message(3, "erin", "again", d.now))],
    );
    repeated.txn = Some(txn("alice", 1));
    let batch = [ok, repeated];
    let outcomes = h.db.chats().commit_all(&batch).await.expect("batch");
    assert!(
        outcomes[0].is_ok() && is_conflict(&outcomes[1]),
        "{outcomes:?}"
    );
    one_by_one
        .db
        .chats()
        .commit(&batch[0])
        .await
        .expect("commit");
    assert!(is_conflict(&one_by_one.db.chats().commit(&batch[1]).await));
    assert_eq!(h.db.chats().batches_rewritten(), 1);

    // A handle moves between groups: taken by b while a still holds it (refused), then
    // released by a; in the next batch b takes it and both post. Handles are checked in the
    // order the commits change them, as one by one.
    let handle = a.row.handle.clone();
    let mut early_take = b.commit("group.edit", vec![]);
    early_take.chat.handle = handle.clone();
    early_take.chat.visibility = "public".into();
    early_take.chat.state = vec![0xa1, 0x01, 7];
    a.row.handle = None;
    a.row.visibility = "private".into();
    let release = a.queue("group.edit", Some(7), vec![]);
    let after_release = a.queue(
        "msg.post",
        None,
        vec![ProjectionOp::InsertItem(message(
            16, "alice", "free", a.now,
        ))],
    );
    let batch = [early_take, release, after_release];
    let outcomes = h.db.chats().commit_all(&batch).await.expect("batch");
    assert!(
        is_conflict(&outcomes[0]) && outcomes[1].is_ok() && outcomes[2].is_ok(),
        "{outcomes:?}"
    );
    assert!(is_conflict(&one_by_one.db.chats().commit(&batch[0]).await));
    for c in &batch[1..] {
        one_by_one.db.chats().commit(c).await.expect("commit");
    }
    b.row.handle = handle;
    b.row.visibility = "public".into();
    let take = b.queue("group.edit", Some(8), vec![]);
    let posts = [
        b.queue(
            "msg.post",
            None,
            vec![ProjectionOp::InsertItem(message(6, "dave", "mine", b.now))],
        ),
        a.queue(
            "msg.post",
            None,
            vec![ProjectionOp::InsertItem(message(17, "bob", "ok", a.now))],
        ),
    ];
    let batch = [take, posts[0].clone(), posts[1].clone()];
    let outcomes = h.db.chats().commit_all(&batch).await.expect("batch");
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    for c in &batch {
        one_by_one.db.chats().commit(c).await.expect("commit");
    }
    assert_eq!(
        h.db.chats().batches_rewritten(),
        2,
        "only the batch with the refused take was written commit by commit"
    );
    for table in COMMIT_TABLES {
        assert_eq!(
            h.dump(table).await,
            one_by_one.dump(table).await,
            "table {table} differs after handles moved"
        );
    }
}
