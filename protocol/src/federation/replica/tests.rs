//! The replica rules: placement, duplicates and forks, and re-authorization of every kind the
//! home could sign.

use ciborium::Value;

use super::*;
use crate::Timestamp;
use crate::group::bodies::{
    GroupCreate, JoinVia, MemberBan, MemberJoin, MemberKick, MsgDelete, MsgEdit, MsgPost,
};
use crate::group::{GroupKind, Visibility};
use crate::ids::{GroupId, Handle};

fn node(name: &str) -> NodeName {
    NodeName::parse(name).expect("node name")
}

fn user(name: &str, at: &str) -> UserId {
    UserId::parse(&format!("@{name}:{at}")).expect("user id")
}

fn group() -> GroupId {
    GroupId::parse("!abcdefgh12345678:a.example").expect("group id")
}

fn event(seq: u64, prev: Option<EventId>, sender: &UserId, body: &Body) -> Event {
    Event {
        group: group(),
        seq,
        prev,
        ts: Timestamp(1_000 + seq),
        sender: sender.clone(),
        kind: body.kind().expect("known kind"),
        body: body.to_value(),
    }
}

fn public_create() -> Body {
    Body::GroupCreate(GroupCreate {
        kind: GroupKind::Group,
        name: "Rust".to_owned(),
        description: String::new(),
        visibility: Visibility::Public,
        handle: Some(Handle::parse("#rust:a.example").expect("handle")),
        members: Vec::new(),
    })
}

fn post(text: &str) -> Body {
    Body::MsgPost(MsgPost {
        text: text.to_owned(),
        reply_to: None,
        mentions: Vec::new(),
        mention_everyone: false,
        attachments: Vec::new(),
        forwarded: None,
    })
}

fn join() -> Body {
    Body::MemberJoin(MemberJoin {
        via: JoinVia::Public,
    })
}

/// The state after `group.create` by `owner` and a public join by each of `members`.
fn state_with(owner: &UserId, members: &[&UserId]) -> GroupState {
    let (_, mut state) =
        admit(None, &event(1, None, owner, &public_create()), |_| None).expect("create");
    for (i, m) in members.iter().enumerate() {
        let seq = 2 + i as u64;
        let (_, after) = admit(Some(&state), &event(seq, None, m, &join()), |_| None)
            .expect("public join is allowed");
        state = after;
    }
    state
}

fn head(seq: u64, id_byte: u8) -> LogHead {
    LogHead {
        seq,
        id: EventId::of_payload(&[id_byte; 32]),
        ts: Timestamp(1_000 + seq),
    }
}

#[test]
fn placement_follows_the_head() {
    let home = node("a.example");
    let alice = user("alice", "a.example");
    let h = head(3, 7);
    let next = event(4, Some(h.id), &alice, &post("hi"));
    assert_eq!(place(Some(&h), &home, &next), Ok(Place::Next));
    let old = event(2, Some(h.id), &alice, &post("hi"));
    assert_eq!(place(Some(&h), &home, &old), Ok(Place::Held));
    let far = event(9, Some(h.id), &alice, &post("hi"));
    assert_eq!(
        place(Some(&h), &home, &far),
        Ok(Place::Gap { from: 4, to: 8 })
    );
    let first = event(1, None, &alice, &public_create());
    assert_eq!(place(None, &home, &first), Ok(Place::Next));
    assert_eq!(
        place(None, &home, &event(3, None, &alice, &post("x"))),
        Ok(Place::Gap { from: 1, to: 2 })
    );
}

#[test]
fn placement_refuses_a_wrong_prev_signer_or_time() {
    let alice = user("alice", "a.example");
    let h = head(3, 7);
    let wrong_prev = event(4, Some(EventId::of_payload(&[8; 32])), &alice, &post("x"));
    assert_eq!(
        place(Some(&h), &node("a.example"), &wrong_prev),
        Err(LogError::PrevMismatch)
    );
    let next = event(4, Some(h.id), &alice, &post("x"));
    assert!(matches!(
        place(Some(&h), &node("b.example"), &next),
        Err(LogError::NotSignedByHome { .. })
    ));
    let mut back = next.clone();
    back.ts = Timestamp(10);
    assert!(matches!(
        place(Some(&h), &node("a.example"), &back),
        Err(LogError::TimeWentBack { .. })
    ));
}

#[test]
fn a_different_event_at_a_held_seq_is_a_fork() {
    let a = EventId::of_payload(&[1; 32]);
    let b = EventId::of_payload(&[2; 32]);
    assert_eq!(same_or_fork(&a, &a), Held::Duplicate);
    assert_eq!(same_or_fork(&a, &b), Held::Fork);
}

#[test]
fn the_log_starts_with_a_create_by_a_home_user() {
    let alice = user("alice", "a.example");
    let mallory = user("mallory", "b.example");
    assert!(admit(None, &event(1, None, &alice, &public_create()), |_| None).is_ok());
    assert_eq!(
        admit(None, &event(1, None, &mallory, &public_create()), |_| None).err(),
        Some(Refusal::BadCreate),
        "a group of a.example is created by a user of a.example"
    );
    assert_eq!(
        admit(None, &event(1, None, &alice, &post("x")), |_| None).err(),
        Some(Refusal::BadCreate)
    );
    let state = state_with(&alice, &[]);
    assert_eq!(
        admit(
            Some(&state),
            &event(2, None, &alice, &public_create()),
            |_| None
        )
        .err(),
        Some(Refusal::BadCreate),
        "a second create is refused"
    );
}

#[test]
fn members_post_and_strangers_do_not() {
    let alice = user("alice", "a.example");
    let bob = user("bob", "b.example");
    let eve = user("eve", "c.example");
    let state = state_with(&alice, &[&bob]);
    assert!(admit(Some(&state), &event(3, None, &bob, &post("hi")), |_| None).is_ok());
    assert_eq!(
        admit(Some(&state), &event(3, None, &eve, &post("hi")), |_| None).err(),
        Some(Refusal::Denied(Denied::NotMember)),
        "the home signed a post by a non-member: the replica refuses it"
    );
}

#[test]
fn moderation_is_checked_by_rank() {
    let alice = user("alice", "a.example");
    let bob = user("bob", "b.example");
    let carol = user("carol", "c.example");
    let state = state_with(&alice, &[&bob, &carol]);
    let kick = |target: &UserId| {
        Body::MemberKick(MemberKick {
            user: target.clone(),
            reason: String::new(),
        })
    };
    assert!(admit(Some(&state), &event(4, None, &alice, &kick(&bob)), |_| None).is_ok());
    assert!(matches!(
        admit(Some(&state), &event(4, None, &bob, &kick(&carol)), |_| None),
        Err(Refusal::Denied(_))
    ));
    let ban = Body::MemberBan(MemberBan {
        user: alice.clone(),
        reason: String::new(),
    });
    assert!(matches!(
        admit(Some(&state), &event(4, None, &bob, &ban), |_| None),
        Err(Refusal::Denied(_))
    ));
}

#[test]
fn edits_and_deletions_are_checked_against_the_author() {
    let alice = user("alice", "a.example");
    let bob = user("bob", "b.example");
    let state = state_with(&alice, &[&bob]);
    let (_, state) =
        admit(Some(&state), &event(3, None, &bob, &post("typo")), |_| None).expect("post");
    let authors = |seq: u64| (seq == 3).then(|| bob.clone());
    let edit = Body::MsgEdit(MsgEdit {
        seq: 3,
        text: "fixed".to_owned(),
    });
    assert!(admit(Some(&state), &event(4, None, &bob, &edit), authors).is_ok());
    assert_eq!(
        admit(Some(&state), &event(4, None, &alice, &edit), authors).err(),
        Some(Refusal::Denied(Denied::NotAuthor)),
        "only the author edits, even the owner cannot"
    );
    let delete = Body::MsgDelete(MsgDelete { seq: 3 });
    assert!(
        admit(Some(&state), &event(4, None, &alice, &delete), authors).is_ok(),
        "the owner may delete others' messages"
    );
    let missing = Body::MsgDelete(MsgDelete { seq: 2 });
    assert_eq!(
        admit(Some(&state), &event(4, None, &bob, &missing), authors).err(),
        Some(Refusal::NoSuchMessage(2))
    );
}

#[test]
fn a_body_that_does_not_decode_is_refused() {
    let alice = user("alice", "a.example");
    let state = state_with(&alice, &[]);
    let mut bad = event(2, None, &alice, &post("x"));
    bad.body = Value::Map(vec![(Value::from("text"), Value::from(5))]);
    assert!(matches!(
        admit(Some(&state), &bad, |_| None),
        Err(Refusal::Body(_))
    ));
}

#[test]
fn a_state_that_cannot_take_the_event_refuses_it() {
    let alice = user("alice", "a.example");
    let state = state_with(&alice, &[]);
    // The owner cannot leave: authorize refuses first.
    assert!(
        admit(
            Some(&state),
            &event(2, None, &alice, &Body::MemberLeave),
            |_| None
        )
        .is_err()
    );
    // A join of someone already a member is refused.
    let bob = user("bob", "b.example");
    let state = state_with(&alice, &[&bob]);
    assert!(admit(Some(&state), &event(3, None, &bob, &join()), |_| None).is_err());
}
