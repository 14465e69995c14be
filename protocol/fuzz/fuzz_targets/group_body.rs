//! Event bodies of every kind, and folding them into a group's state.
//!
//! The first byte picks the kind; the rest is the body's CBOR. Properties: `Body::decode`
//! never panics; a decoded body re-encodes with `to_value` to a map that decodes to the same
//! body; folding it into a sample group's state never panics, and a refused event leaves the
//! state exactly as it was.
#![no_main]

use ciborium::Value;
use libfuzzer_sys::fuzz_target;
use winichat_protocol::Timestamp;
use winichat_protocol::codec::{self, Limits};
use winichat_protocol::event::EventKind;
use winichat_protocol::group::bodies::{GroupCreate, JoinVia, MemberJoin};
use winichat_protocol::group::{Body, GroupKind, GroupState, Visibility};
use winichat_protocol::ids::{GroupId, UserId};

fn user(name: &str) -> UserId {
    UserId::parse(&format!("@{name}:fuzz.test")).expect("a valid user id")
}

/// A group with an owner and one member, at seq 2.
fn sample() -> GroupState {
    let group = GroupId::parse("!fuzzgroup:fuzz.test").expect("a valid group id");
    let create = GroupCreate {
        kind: GroupKind::Group,
        name: "Fuzz".into(),
        description: String::new(),
        visibility: Visibility::Private,
        handle: None,
        members: Vec::new(),
    };
    let mut state =
        GroupState::create(group, &user("owner"), Timestamp(1), &create).expect("creates");
    state
        .apply(
            2,
            Timestamp(2),
            &user("member"),
            &Body::MemberJoin(MemberJoin { via: JoinVia::Link }),
        )
        .expect("joins");
    state
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let kind = &EventKind::KNOWN[usize::from(pick) % EventKind::KNOWN.len()];
    let Ok(value) = codec::decode::<Value>(rest, &Limits::EVENT) else {
        return;
    };
    let Ok(body) = Body::decode(kind, &value) else {
        return;
    };
    assert_eq!(body.kind().as_ref(), Some(kind));
    let again = Body::decode(kind, &body.to_value()).expect("a decoded body re-decodes");
    assert_eq!(again, body, "to_value then decode changed the body");

    let before = sample();
    for sender in [user("owner"), user("member"), user("stranger")] {
        let mut state = before.clone();
        if state.apply(3, Timestamp(3), &sender, &body).is_err() {
            assert_eq!(state, before, "a refused event changed the state");
        }
    }
});
