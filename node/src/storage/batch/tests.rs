use winichat_protocol::Timestamp;
use winichat_protocol::ids::{EventId, GroupId, NodeName, UserId};

use super::steps::{Placeholders, values};
use super::{BatchPlan, ReadMove, Unplannable};
use crate::storage::NewEvent;
use crate::storage::chats::{ChatRow, Commit, ProjectionOp, TimelineRow, TxnRecord};

fn user(name: &str) -> UserId {
    format!("@{name}:home.example").parse().expect("user id")
}

fn group(local: &str) -> GroupId {
    format!("!{local}:home.example").parse().expect("group id")
}

/// Builds the commits of several groups' logs, each continuing its group's last one.
#[derive(Default)]
struct Logs {
    heads: Vec<(GroupId, u64, Option<EventId>)>,
}

impl Logs {
    /// The next commit of `g` (whose log starts at `from` + 1 the first time).
    fn next(
        &mut self,
        g: &GroupId,
        from: u64,
        state: Option<&[u8]>,
        ops: Vec<ProjectionOp>,
    ) -> Commit {
        let at = match self.heads.iter().position(|(h, ..)| h == g) {
            Some(at) => at,
            None => {
                let prev = (from > 0).then(|| EventId::of_payload(b"earlier"));
                self.heads.push((g.clone(), from, prev));
                self.heads.len() - 1
            }
        };
        let (_, seq, prev) = &mut self.heads[at];
        *seq += 1;
        let raw = format!("{g} {seq}").into_bytes();
        let id = EventId::of_payload(&raw);
        let event = NewEvent {
            group: g.clone(),
            seq: *seq,
            id,
            prev: *prev,
            ts: Timestamp(1_000 + *seq),
            sender: user("alice").to_string(),
            kind: "msg.post".into(),
            raw,
        };
        *prev = Some(id);
        Commit {
            chat: ChatRow {
                group: g.clone(),
                kind: "group".into(),
                name: format!("name at {seq}"),
                description: String::new(),
                visibility: "private".into(),
                handle: None,
                owner: user("alice"),
                members: 1,
                last_seq: *seq,
                last_ts: Timestamp(1_000 + *seq),
                state: state.map(<[u8]>::to_vec).unwrap_or_default(),
                deleted: false,
            },
            state_changed: state.is_some(),
            event,
            ops,
            outbox: Vec::new(),
            txn: None,
        }
    }
}

fn item(seq: u64) -> ProjectionOp {
    ProjectionOp::InsertItem(TimelineRow {
        seq,
        event_id: format!("$e{seq}"),
        ts: Timestamp(seq),
        sender: user("alice"),
        kind: "msg.post".into(),
        body: vec![0xa0],
        is_message: true,
        is_admin: false,
        edited_at: None,
        deleted: false,
        pinned: false,
    })
}

fn read(name: &str, seq: u64) -> ProjectionOp {
    ProjectionOp::Read {
        user: user(name),
        seq,
    }
}

#[test]
fn heads_span_each_groups_run_and_rows_keep_batch_order() {
    let (a, b) = (group("aaaaaa"), group("bbbbbb"));
    let mut logs = Logs::default();
    let mut a1 = logs.next(&a, 4, None, vec![item(5)]);
    a1.outbox = vec!["b.example".parse::<NodeName>().expect("node")];
    a1.txn = Some(TxnRecord {
        user: user("alice"),
        txn: "t1".into(),
        result: vec![1],
        at: Timestamp(1),
    });
    let commits = vec![
        a1,
        logs.next(&b, 0, Some(&[7]), vec![item(1)]),
        logs.next(&a, 0, None, vec![item(6)]),
        logs.next(&b, 0, None, vec![item(2)]),
    ];
    let plan = BatchPlan::of(&commits).expect("plannable");

    let heads: Vec<_> = plan
        .heads
        .iter()
        .map(|h| {
            (
                h.first.group.clone(),
                h.first.seq,
                h.last.seq,
                h.starts_log(),
            )
        })
        .collect();
    assert_eq!(
        heads,
        vec![(a.clone(), 5, 6, false), (b.clone(), 1, 2, true)]
    );
    let events: Vec<_> = plan
        .events
        .iter()
        .map(|e| (e.group.clone(), e.seq))
        .collect();
    assert_eq!(
        events,
        vec![
            (a.clone(), 5),
            (b.clone(), 1),
            (a.clone(), 6),
            (b.clone(), 2)
        ]
    );
    let items: Vec<_> = plan
        .items
        .iter()
        .map(|(g, row)| ((*g).clone(), row.seq))
        .collect();
    assert_eq!(
        items,
        vec![
            (a.clone(), 5),
            (b.clone(), 1),
            (a.clone(), 6),
            (b.clone(), 2)
        ]
    );
    assert_eq!(plan.outbox.len(), 1);
    assert_eq!(plan.outbox[0].event.seq, 5);
    assert_eq!(plan.txns.len(), 1);
    assert!(plan.ordered.is_empty());

    // b's log starts with a state change: its whole row; then each group's last row, in the
    // order of those last commits — a's (6), then b's (2).
    let whole: Vec<_> = plan
        .whole_chats
        .iter()
        .map(|c| (c.group.clone(), c.last_seq))
        .collect();
    assert_eq!(whole, vec![(b.clone(), 1)]);
    let settings: Vec<_> = plan
        .chat_settings
        .iter()
        .map(|c| (c.group.clone(), c.last_seq))
        .collect();
    assert_eq!(settings, vec![(a, 6), (b, 2)]);
}

#[test]
fn state_changes_are_written_in_commit_order_and_messages_after_them_as_settings() {
    let (g, h) = (group("gggggg"), group("hhhhhh"));
    let mut logs = Logs::default();
    // g releases its handle, h takes it, g posts: the whole rows go in that order, so the
    // unique handle is checked as when the commits are written one by one.
    let commits = vec![
        logs.next(&g, 3, Some(&[1]), vec![]),
        logs.next(&h, 7, Some(&[2]), vec![]),
        logs.next(&g, 0, None, vec![item(5)]),
    ];
    let plan = BatchPlan::of(&commits).expect("plannable");
    let whole: Vec<_> = plan
        .whole_chats
        .iter()
        .map(|c| (c.group.clone(), c.state.clone()))
        .collect();
    assert_eq!(whole, vec![(g.clone(), vec![1]), (h.clone(), vec![2])]);
    let settings: Vec<_> = plan
        .chat_settings
        .iter()
        .map(|c| (c.group.clone(), c.last_seq))
        .collect();
    assert_eq!(
        settings,
        vec![(g.clone(), 5)],
        "h's last commit wrote its whole row"
    );

    // Two state changes of one group: both whole rows, the later one last.
    let commits = vec![
        logs.next(&g, 0, Some(&[3]), vec![]),
        logs.next(&g, 0, Some(&[4]), vec![]),
    ];
    let plan = BatchPlan::of(&commits).expect("plannable");
    let states: Vec<_> = plan.whole_chats.iter().map(|c| c.state.clone()).collect();
    assert_eq!(states, vec![vec![3], vec![4]]);
    assert!(plan.chat_settings.is_empty());
}

#[test]
fn reads_merge_per_member_but_never_cross_a_membership_change() {
    let g = group("gggggg");
    let mut logs = Logs::default();
    let commits = vec![
        logs.next(&g, 9, None, vec![item(10), read("bob", 10)]),
        logs.next(&g, 0, None, vec![item(11), read("carol", 11)]),
        logs.next(&g, 0, None, vec![item(12), read("bob", 12)]),
        // dave reads, leaves and comes back: his read lands before he leaves, so it is dropped.
        logs.next(&g, 0, None, vec![item(13), read("dave", 13)]),
        logs.next(
            &g,
            0,
            Some(&[1]),
            vec![ProjectionOp::RemoveMember { user: user("dave") }],
        ),
        logs.next(
            &g,
            0,
            Some(&[2]),
            vec![ProjectionOp::AddMember {
                user: user("dave"),
                read_seq: 15,
            }],
        ),
        // erin reads, then an AddMember of erin (already a member: a no-op) follows — the read
        // is written before it, in order.
        logs.next(&g, 0, None, vec![item(16), read("erin", 16)]),
        logs.next(
            &g,
            0,
            Some(&[3]),
            vec![ProjectionOp::AddMember {
                user: user("erin"),
                read_seq: 17,
            }],
        ),
        logs.next(
            &g,
            0,
            None,
            vec![item(18), read("carol", 18), read("dave", 18)],
        ),
    ];
    let plan = BatchPlan::of(&commits).expect("plannable");
    assert_eq!(
        plan.reads,
        vec![
            ReadMove {
                group: &g,
                user: &user("bob"),
                seq: 12
            },
            ReadMove {
                group: &g,
                user: &user("carol"),
                seq: 18
            },
            ReadMove {
                group: &g,
                user: &user("dave"),
                seq: 18
            },
        ]
    );
    let ordered: Vec<_> = plan.ordered.iter().map(|o| o.op.as_ref().clone()).collect();
    assert_eq!(
        ordered,
        vec![
            ProjectionOp::RemoveMember { user: user("dave") },
            ProjectionOp::AddMember {
                user: user("dave"),
                read_seq: 15
            },
            read("erin", 16),
            ProjectionOp::AddMember {
                user: user("erin"),
                read_seq: 17
            },
        ]
    );
}

#[test]
fn batches_that_do_not_continue_their_logs_are_not_planned() {
    let g = group("gggggg");
    let mut logs = Logs::default();
    let first = logs.next(&g, 0, Some(&[1]), vec![]);
    let second = logs.next(&g, 0, None, vec![]);

    let mut gap = second.clone();
    gap.event.seq += 1;
    assert_eq!(
        BatchPlan::of(&[first.clone(), gap]).err(),
        Some(Unplannable)
    );

    let mut fork = second.clone();
    fork.event.prev = Some(EventId::of_payload(b"other"));
    assert_eq!(
        BatchPlan::of(&[first.clone(), fork]).err(),
        Some(Unplannable)
    );

    let mut twice = vec![first.clone(), second.clone(), second.clone()];
    assert_eq!(BatchPlan::of(&twice).err(), Some(Unplannable));
    twice.pop();
    assert!(BatchPlan::of(&twice).is_ok());

    let mut other_chat = first.clone();
    other_chat.chat.group = group("hhhhhh");
    assert_eq!(BatchPlan::of(&[other_chat]).err(), Some(Unplannable));

    let mut no_prev = second.clone();
    no_prev.event.prev = None;
    assert_eq!(BatchPlan::of(&[no_prev]).err(), Some(Unplannable));

    let mut zero = first.clone();
    zero.event.seq = 0;
    assert_eq!(BatchPlan::of(&[zero]).err(), Some(Unplannable));

    // A log starts with a state to store.
    let mut stateless_start = first;
    stateless_start.state_changed = false;
    assert_eq!(BatchPlan::of(&[stateless_start]).err(), Some(Unplannable));
}

#[test]
fn values_lists_number_parameters_per_dialect() {
    assert_eq!(values(Placeholders::Question, 1, 2), "VALUES (?, ?)");
    assert_eq!(values(Placeholders::Question, 2, 1), "VALUES (?), (?)");
    assert_eq!(
        values(Placeholders::Numbered, 2, 3),
        "VALUES ($1, $2, $3), ($4, $5, $6)"
    );
}
