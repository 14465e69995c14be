//! Tests of the group rules: the authorization table, folding every kind, and body decoding.
//!
//! This file holds the fixtures the submodules share.

use ciborium::Value;

use super::bodies::*;
use super::*;
use crate::Timestamp;
use crate::ids::{GroupId, Handle, UserId};

mod apply;
mod authorize_table;
mod decode;

/// `@name:example.org`.
fn user(name: &str) -> UserId {
    UserId::parse(&format!("@{name}:example.org")).expect("test user id")
}

/// `#name:example.org`.
fn handle(name: &str) -> Handle {
    Handle::parse(&format!("#{name}:example.org")).expect("test handle")
}

/// A CBOR map with text keys.
fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::Text(k.to_owned()), v))
            .collect(),
    )
}

/// A text value.
fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// A media id on `example.org` whose hash is `n` repeated.
fn media_id(n: u8) -> crate::ids::MediaId {
    crate::ids::MediaId {
        node: crate::ids::NodeName::parse("example.org").expect("test node"),
        sha256: [n; 32],
    }
}

/// The wire map of [`media_id`].
fn media_value(n: u8) -> Value {
    Value::serialized(&media_id(n)).expect("a media id serializes")
}

/// An image attachment's wire map.
fn image_value(n: u8) -> Value {
    map(vec![
        ("media", media_value(n)),
        ("kind", text("image")),
        ("mime", text("image/png")),
        ("size", Value::Integer(1000.into())),
        ("width", Value::Integer(64.into())),
        ("height", Value::Integer(48.into())),
    ])
}

/// A group log under test: the state and the clock of its next event.
#[derive(Debug, Clone)]
struct Log {
    state: GroupState,
}

impl Log {
    /// A private group "Crew" owned by `owner`.
    fn group(owner: &UserId) -> Log {
        Log::create(
            owner,
            &GroupCreate {
                kind: GroupKind::Group,
                name: "Crew".to_owned(),
                description: String::new(),
                visibility: Visibility::Private,
                handle: None,
                members: Vec::new(),
            },
        )
    }

    /// A direct chat between `a` (its creator) and `b`.
    fn direct(a: &UserId, b: &UserId) -> Log {
        Log::create(
            a,
            &GroupCreate {
                kind: GroupKind::Direct,
                name: String::new(),
                description: String::new(),
                visibility: Visibility::Private,
                handle: None,
                members: vec![b.clone()],
            },
        )
    }

    fn create(owner: &UserId, body: &GroupCreate) -> Log {
        let id = GroupId::parse("!abcdef:example.org").expect("test group id");
        let state = GroupState::create(id, owner, Timestamp(1000), body).expect("create");
        Log { state }
    }

    /// The seq and time the next event gets.
    fn next(&self) -> (u64, Timestamp) {
        let seq = self.state.seq + 1;
        (seq, Timestamp(1000 + seq))
    }

    /// Applies the next event, which must succeed; returns its seq.
    fn ok(&mut self, sender: &UserId, body: Body) -> u64 {
        let (seq, ts) = self.next();
        if let Err(e) = self.state.apply(seq, ts, sender, &body) {
            panic!("applying {body:?} by {sender}: {e}");
        }
        seq
    }

    /// Applies the next event, which must fail and leave the state as it was.
    fn refused(&mut self, sender: &UserId, body: Body) -> ApplyError {
        let before = self.state.clone();
        let (seq, ts) = self.next();
        let err = match self.state.apply(seq, ts, sender, &body) {
            Ok(()) => panic!("applying {body:?} by {sender} should fail"),
            Err(e) => e,
        };
        assert_eq!(self.state, before, "a refused event changed the state");
        err
    }

    fn join(&mut self, who: &UserId) {
        self.ok(who, Body::MemberJoin(MemberJoin { via: JoinVia::Link }));
    }

    /// Creates a role at `rank` with the next id; returns the id.
    fn role(&mut self, by: &UserId, name: &str, rank: u32, permissions: Permissions) -> RoleId {
        let id = self.state.next_role;
        self.ok(
            by,
            Body::RoleCreate(RoleCreate {
                role: id,
                name: name.to_owned(),
                colour: String::new(),
                permissions,
                rank,
            }),
        );
        id
    }

    fn assign(&mut self, by: &UserId, who: &UserId, roles: &[RoleId]) {
        self.ok(
            by,
            Body::MemberRoles(MemberRoles {
                user: who.clone(),
                roles: roles.to_vec(),
            }),
        );
    }

    fn ban(&mut self, by: &UserId, who: &UserId) {
        self.ok(
            by,
            Body::MemberBan(MemberBan {
                user: who.clone(),
                reason: String::new(),
            }),
        );
    }

    /// The rank of role `id`.
    fn rank(&self, id: RoleId) -> u32 {
        self.state.roles[&id].rank
    }
}
