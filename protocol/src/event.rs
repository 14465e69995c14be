//! The group log: the event envelope and the rules an event must meet to follow its predecessor.
//!
//! Every group is an append-only log kept by its home node. The home node alone assigns `seq`
//! (1, 2, 3 … without gaps), links each event to the previous one by `prev`, stamps `ts` with
//! its own clock, and signs the event. Event bodies are maps whose shape depends on `kind`.

use ciborium::Value;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::cose::Signed;
use crate::ids::{EventId, GroupId, NodeName, UserId};
use crate::time::Timestamp;

/// The payload of a signed event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The group whose log holds the event.
    pub group: GroupId,
    /// Position in the log, from 1, without gaps.
    pub seq: u64,
    /// Id of the event at `seq - 1`; `null` for the first event. Always present.
    #[serde(deserialize_with = "crate::codec::required_option")]
    pub prev: Option<EventId>,
    /// The home node's time when it committed the event; never earlier than `prev`'s.
    pub ts: Timestamp,
    /// The user whose action the event records.
    pub sender: UserId,
    /// What happened; decides the shape of `body`.
    pub kind: EventKind,
    /// Kind-specific content: a map.
    #[serde(deserialize_with = "crate::codec::value_map")]
    pub body: Value,
}

/// A signed event, with its bytes.
pub type SignedEvent = Signed<Event>;

impl Signed<Event> {
    /// The event id: `$` + base64url(sha256(payload bytes)).
    pub fn id(&self) -> EventId {
        EventId::of_payload(self.payload())
    }

    /// Where the log stands after this event.
    pub fn head(&self) -> LogHead {
        LogHead {
            seq: self.value().seq,
            id: self.id(),
            ts: self.value().ts,
        }
    }
}

/// The last event of a log, as the next event must link to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogHead {
    /// Its sequence number.
    pub seq: u64,
    /// Its id.
    pub id: EventId,
    /// Its timestamp.
    pub ts: Timestamp,
}

/// Why an event cannot be appended after a given log head.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LogError {
    /// The event belongs to another group.
    #[error("event is for group {got}, not {expected}")]
    WrongGroup { expected: GroupId, got: GroupId },
    /// Someone other than the group's home node signed it.
    #[error("event signed by {signer}, but only the home node {home} sequences this group")]
    NotSignedByHome { signer: NodeName, home: NodeName },
    /// `seq` is 0; the log starts at 1.
    #[error("seq 0 is not allowed; logs start at 1")]
    ZeroSeq,
    /// The event is at or before the head: already applied (deduplicate, do not re-apply).
    #[error("already have seq {seq} (head is {head})")]
    AlreadyApplied { seq: u64, head: u64 },
    /// Events are missing between the head and this one: backfill first.
    #[error("gap: expected seq {expected}, got {got}")]
    Gap { expected: u64, got: u64 },
    /// `prev` does not name the head event (or is set on the first event, or missing later).
    #[error("prev does not match the previous event")]
    PrevMismatch,
    /// The event's time is earlier than its predecessor's.
    #[error("timestamp {got} is earlier than the previous event's {previous}")]
    TimeWentBack { previous: Timestamp, got: Timestamp },
}

impl Event {
    /// Builds the event that follows `head` in `group`, as the home node does. The timestamp
    /// is `now`, raised to the head's time if the clock stepped back, so logs never go back in
    /// time.
    pub fn next(
        group: GroupId,
        head: Option<&LogHead>,
        now: Timestamp,
        sender: UserId,
        kind: EventKind,
        body: Value,
    ) -> Event {
        Event {
            group,
            seq: head.map_or(1, |h| h.seq + 1),
            prev: head.map(|h| h.id),
            ts: head.map_or(now, |h| now.max(h.ts)),
            sender,
            kind,
            body,
        }
    }
}

/// Checks that `event`, signed by `signer`, may be appended to the log of `group` whose last
/// event is `head` (`None` for an empty log).
///
/// Receivers use the error to decide: `AlreadyApplied` → drop as duplicate; `Gap` → backfill;
/// anything else → reject this event alone.
pub fn check_next(
    group: &GroupId,
    head: Option<&LogHead>,
    signer: &NodeName,
    event: &Event,
) -> Result<(), LogError> {
    if &event.group != group {
        return Err(LogError::WrongGroup {
            expected: group.clone(),
            got: event.group.clone(),
        });
    }
    if signer != group.home() {
        return Err(LogError::NotSignedByHome {
            signer: signer.clone(),
            home: group.home().clone(),
        });
    }
    if event.seq == 0 {
        return Err(LogError::ZeroSeq);
    }
    let head_seq = head.map_or(0, |h| h.seq);
    if event.seq <= head_seq {
        return Err(LogError::AlreadyApplied {
            seq: event.seq,
            head: head_seq,
        });
    }
    if event.seq != head_seq + 1 {
        return Err(LogError::Gap {
            expected: head_seq + 1,
            got: event.seq,
        });
    }
    if event.prev != head.map(|h| h.id) {
        return Err(LogError::PrevMismatch);
    }
    if let Some(head) = head
        && event.ts < head.ts
    {
        return Err(LogError::TimeWentBack {
            previous: head.ts,
            got: event.ts,
        });
    }
    Ok(())
}

macro_rules! event_kinds {
    ($($variant:ident => $text:literal, $doc:literal;)*) => {
        /// What an event records. Unknown kinds from newer nodes are kept as
        /// [`EventKind::Unknown`]: stored and relayed, ignored by projections.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum EventKind {
            $(#[doc = $doc] $variant,)*
            /// A kind this version does not know.
            Unknown(String),
        }

        impl EventKind {
            /// Every kind this version knows.
            pub const KNOWN: &'static [EventKind] = &[$(EventKind::$variant),*];

            /// The wire text of the kind.
            pub fn as_str(&self) -> &str {
                match self {
                    $(EventKind::$variant => $text,)*
                    EventKind::Unknown(text) => text,
                }
            }

            /// Parses wire text; any text of the right shape is accepted.
            pub fn parse(text: &str) -> Result<Self, InvalidKind> {
                Ok(match text {
                    $($text => EventKind::$variant,)*
                    other if is_kind_shaped(other) => EventKind::Unknown(other.to_owned()),
                    _ => return Err(InvalidKind),
                })
            }
        }
    };
}

event_kinds! {
    GroupCreate => "group.create", "The group came to be; the first event of every log.";
    GroupUpdate => "group.update", "Name, description, photo, type or handle changed.";
    GroupDelete => "group.delete", "The owner deleted the group.";
    MemberInvite => "member.invite", "A user was invited.";
    MemberJoin => "member.join", "A user joined.";
    MemberLeave => "member.leave", "A member left.";
    MemberKick => "member.kick", "A member was removed.";
    MemberBan => "member.ban", "A user was banned.";
    MemberUnban => "member.unban", "A ban was lifted.";
    MemberRoles => "member.roles", "A member's roles were set.";
    RoleCreate => "role.create", "A role was created.";
    RoleUpdate => "role.update", "A role's name, colour, permissions or rank changed.";
    RoleDelete => "role.delete", "A role was deleted.";
    OwnerTransfer => "owner.transfer", "Ownership moved to another member.";
    MsgPost => "msg.post", "A message was posted.";
    MsgEdit => "msg.edit", "A message was edited.";
    MsgDelete => "msg.delete", "A message was deleted.";
    MsgReact => "msg.react", "A reaction was added or removed.";
    MsgPin => "msg.pin", "A message was pinned or unpinned.";
}

/// A kind text that is not `segment.segment` of `a-z 0-9 _`, at most 64 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("event kind must be 'word.word' of a-z, 0-9, '_' and at most 64 bytes")]
pub struct InvalidKind;

fn is_kind_shaped(text: &str) -> bool {
    let word = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    text.len() <= 64
        && text
            .split_once('.')
            .is_some_and(|(a, b)| word(a) && b.split('.').all(word))
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = EventKind;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("an event kind")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<EventKind, E> {
                EventKind::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(Visit)
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::codec::{self, Limits};

    fn group() -> GroupId {
        GroupId::parse("!k3x9q2:chat.example.org").expect("valid")
    }

    fn alice() -> UserId {
        UserId::parse("@alice:chat.example.org").expect("valid")
    }

    fn body() -> Value {
        Value::Map(vec![])
    }

    fn signed(event: Event) -> Signed<Event> {
        Signed::sign(event, group().home(), &SigningKey::from_bytes(&[7; 32])).expect("signs")
    }

    /// A log of three events, built the way a home node builds them.
    fn log() -> Vec<Signed<Event>> {
        let mut events: Vec<Signed<Event>> = Vec::new();
        for (i, now) in [1_000u64, 2_000, 1_500].into_iter().enumerate() {
            let head = events.last().map(Signed::head);
            let kind = if i == 0 {
                EventKind::GroupCreate
            } else {
                EventKind::MsgPost
            };
            events.push(signed(Event::next(
                group(),
                head.as_ref(),
                Timestamp(now),
                alice(),
                kind,
                body(),
            )));
        }
        events
    }

    #[test]
    fn next_links_and_never_goes_back_in_time() {
        let log = log();
        assert_eq!(log[0].value().seq, 1);
        assert_eq!(log[0].value().prev, None);
        assert_eq!(log[1].value().prev, Some(log[0].id()));
        assert_eq!(log[2].value().seq, 3);
        assert_eq!(
            log[2].value().ts,
            Timestamp(2_000),
            "clock stepped back; ts held"
        );
        let mut head = None;
        for event in &log {
            assert_eq!(
                check_next(&group(), head.as_ref(), event.signer(), event.value()),
                Ok(())
            );
            head = Some(event.head());
        }
    }

    #[test]
    fn check_next_table() {
        let log = log();
        let h1 = log[0].head();
        let h2 = log[1].head();
        let home = group().home().clone();
        let other_node = NodeName::parse("evil.example").expect("valid");
        let other_group = GroupId::parse("!zzzzzz:chat.example.org").expect("valid");
        let e2 = log[1].value().clone();
        let e3 = log[2].value().clone();
        let with = |f: &dyn Fn(&mut Event)| {
            let mut e = e3.clone();
            f(&mut e);
            e
        };
        type Case<'a> = (
            &'a str,
            Option<LogHead>,
            &'a NodeName,
            Event,
            Result<(), LogError>,
        );
        let cases: Vec<Case> = vec![
            ("follows", Some(h2), &home, e3.clone(), Ok(())),
            (
                "duplicate",
                Some(h2),
                &home,
                e2.clone(),
                Err(LogError::AlreadyApplied { seq: 2, head: 2 }),
            ),
            (
                "gap",
                Some(h1),
                &home,
                e3.clone(),
                Err(LogError::Gap {
                    expected: 2,
                    got: 3,
                }),
            ),
            (
                "first with gap",
                None,
                &home,
                e2.clone(),
                Err(LogError::Gap {
                    expected: 1,
                    got: 2,
                }),
            ),
            (
                "prev mismatch",
                Some(h2),
                &home,
                with(&|e| e.prev = Some(h1.id)),
                Err(LogError::PrevMismatch),
            ),
            (
                "prev missing",
                Some(h2),
                &home,
                with(&|e| e.prev = None),
                Err(LogError::PrevMismatch),
            ),
            (
                "zero seq",
                None,
                &home,
                with(&|e| e.seq = 0),
                Err(LogError::ZeroSeq),
            ),
            (
                "first has prev",
                None,
                &home,
                with(&|e| {
                    e.seq = 1;
                }),
                Err(LogError::PrevMismatch),
            ),
            (
                "time went back",
                Some(h2),
                &home,
                with(&|e| e.ts = Timestamp(1_999)),
                Err(LogError::TimeWentBack {
                    previous: Timestamp(2_000),
                    got: Timestamp(1_999),
                }),
            ),
            (
                "wrong group",
                Some(h2),
                &home,
                with(&|e| e.group = other_group.clone()),
                Err(LogError::WrongGroup {
                    expected: group(),
                    got: other_group.clone(),
                }),
            ),
            (
                "not the home node",
                Some(h2),
                &other_node,
                e3.clone(),
                Err(LogError::NotSignedByHome {
                    signer: other_node.clone(),
                    home: home.clone(),
                }),
            ),
        ];
        for (name, head, signer, event, want) in cases {
            assert_eq!(
                check_next(&group(), head.as_ref(), signer, &event),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn event_id_is_the_hash_of_the_payload_bytes() {
        let event = &log()[0];
        assert_eq!(event.id(), EventId::of_payload(event.payload()));
        assert_eq!(
            event.payload(),
            codec::encode(event.value()).expect("encodes")
        );
    }

    #[test]
    fn kinds_known_unknown_and_malformed() {
        for kind in EventKind::KNOWN {
            assert_eq!(&EventKind::parse(kind.as_str()).expect("known"), kind);
        }
        assert_eq!(
            EventKind::parse("poll.vote"),
            Ok(EventKind::Unknown("poll.vote".to_owned()))
        );
        for bad in [
            "",
            "msg",
            "msg.",
            ".post",
            "Msg.post",
            "msg post",
            &format!("a.{}", "b".repeat(63)),
        ] {
            assert_eq!(EventKind::parse(bad), Err(InvalidKind), "{bad:?}");
        }
    }

    #[test]
    fn unknown_kinds_survive_a_round_trip() {
        let event = Event {
            kind: EventKind::Unknown("poll.vote".to_owned()),
            ..log()[0].value().clone()
        };
        let bytes = codec::encode(&event).expect("encodes");
        assert_eq!(codec::decode::<Event>(&bytes, &Limits::EVENT), Ok(event));
    }

    #[test]
    fn body_must_be_a_map() {
        let event = Event {
            body: Value::from(1),
            ..log()[0].value().clone()
        };
        let bytes = codec::encode(&event).expect("encodes");
        assert!(matches!(
            codec::decode::<Event>(&bytes, &Limits::EVENT),
            Err(codec::DecodeError::Schema(m)) if m.contains("map")
        ));
    }
}
