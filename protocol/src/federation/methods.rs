//! The federation methods: what a [`super::FedRequest`]'s `params` and a successful
//! [`super::FedResponse`]'s `result` hold for each `method` (spec/federation.md §5).
//!
//! Signed events travel as the COSE_Sign1 bytes their home node made, never re-encoded, so a
//! receiver verifies exactly what was signed.

use ciborium::Value;
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::gateway::ProfileInfo;
use crate::gateway::chat::{DirectoryEntry, WriteResult};
use crate::ids::{EventId, GroupId, Handle, MediaId, UserId};
use crate::time::Timestamp;

/// Method names.
pub mod method {
    /// Versions and clocks.
    pub const HELLO: &str = "hello";
    /// A user's public profile, asked of the user's own node.
    pub const PROFILE_GET: &str = "profile.get";
    /// A public group by `#handle:node`, asked of the handle's node.
    pub const DIRECTORY_LOOKUP: &str = "directory.lookup";
    /// A user of the origin joins a group of the destination (its home).
    pub const JOIN: &str = "join";
    /// The home tells the invitee's node of a direct invite.
    pub const INVITE: &str = "invite";
    /// A node submits a gateway write of one of its own users to the group's home.
    pub const SUBMIT: &str = "submit";
    /// The home delivers signed events to a member node.
    pub const PUSH: &str = "push";
    /// A replica asks the home for signed events from a seq on.
    pub const BACKFILL: &str = "backfill";
    /// A replica asks the home for the group's current head.
    pub const STATE: &str = "state";
    /// A member's read position, between the home and the member nodes.
    pub const READ: &str = "read";
    /// The direct chat of a user of the origin and a user of the destination, if the
    /// destination homes one.
    pub const DIRECT: &str = "direct";
    /// Who is typing in which chat, between the home and the member nodes.
    pub const TYPING: &str = "typing";
    /// A user's node tells the nodes sharing a chat with them that their profile changed.
    pub const PROFILE_CHANGED: &str = "profile.changed";
    /// A user's node tells the nodes sharing a chat with them that they came online or left.
    pub const PRESENCE: &str = "presence";
    /// What an invite link of the destination leads to.
    pub const LINK_PREVIEW: &str = "link.preview";
    /// A piece of the bytes of a media of the destination, for a node that may see it.
    pub const MEDIA_FETCH: &str = "media.fetch";

    /// Every method, in the spec's order.
    pub const ALL: [&str; 16] = [
        HELLO,
        PROFILE_GET,
        DIRECTORY_LOOKUP,
        JOIN,
        INVITE,
        SUBMIT,
        PUSH,
        BACKFILL,
        STATE,
        READ,
        DIRECT,
        TYPING,
        PROFILE_CHANGED,
        PRESENCE,
        LINK_PREVIEW,
        MEDIA_FETCH,
    ];
}

/// The federation protocol versions this implementation speaks.
pub const VERSIONS: [u32; 1] = [1];

/// The most events one `push` carries.
pub const MAX_PUSH_EVENTS: usize = 256;
/// The most events one `backfill` page returns.
pub const MAX_BACKFILL_EVENTS: u32 = 256;

/// `hello` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloParams {
    /// Protocol versions the origin speaks.
    pub versions: Vec<u32>,
}

/// `hello` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloResult {
    /// Protocol versions the destination speaks.
    pub versions: Vec<u32>,
    /// The destination's clock.
    pub ts: Timestamp,
}

/// `profile.get` params: a user of the destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileGetParams {
    /// Whose profile.
    pub user: UserId,
}

/// `profile.get` result.
pub type ProfileGetResult = ProfileInfo;

/// `directory.lookup` params: a public group's handle on the destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryLookupParams {
    /// `#handle:destination`.
    pub handle: Handle,
}

/// `directory.lookup` result: the group as the directory shows it.
pub type DirectoryLookupResult = DirectoryEntry;

/// How a user joins through `join`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinRoute {
    /// A public group, from the directory.
    Public,
    /// Accepting a pending direct invite.
    Invite,
    /// Redeeming an invite link (`code` is required).
    Link,
}

/// `join` params: `user` (of the origin) joins a group of the destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinParams {
    /// The joining user; must belong to the origin node.
    pub user: UserId,
    /// The user's transaction id (a retried join answers the first result).
    #[serde(deserialize_with = "codec::text")]
    pub txn: String,
    /// How.
    pub via: JoinRoute,
    /// The group; required unless `via` is `link`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupId>,
    /// The invite link's code, for `via = link`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub code: Option<String>,
}

/// `join` result: the `member.join` event's place in the log. The joiner's node starts its
/// replica by backfilling from seq 1 up to at least `seq`.
pub type JoinResult = WriteResult;

/// `invite` params: the home tells the invitee's node that `user` was invited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InviteParams {
    /// The signed `member.invite` event (COSE_Sign1 by the group's home): the proof.
    #[serde(with = "codec::byte_string")]
    pub event: Vec<u8>,
    /// The group's name when the invite was sent, for the invite list.
    #[serde(deserialize_with = "codec::text")]
    pub name: String,
}

/// `submit` params: a gateway write of `user` (of the origin), run by the home as if the user
/// were local.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmitParams {
    /// The acting user; must belong to the origin node.
    pub user: UserId,
    /// The gateway method, e.g. `msgs.post` (spec/federation.md lists which).
    #[serde(deserialize_with = "codec::text")]
    pub method: String,
    /// The gateway method's params, with the user's `txn`.
    #[serde(deserialize_with = "codec::value_map")]
    pub params: Value,
}

/// `submit` result: the gateway method's result (a `WriteResult` for writes).
pub type SubmitResult = Value;

/// `push` params: signed events of groups the destination has members in, each group's in
/// log order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushParams {
    /// COSE_Sign1 bytes of each event.
    #[serde(with = "byte_strings")]
    pub events: Vec<Vec<u8>>,
}

/// What the receiver did with one pushed event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushOutcome {
    /// Committed to the replica (after backfilling any gap).
    Applied,
    /// Already held: ignored.
    Duplicate,
    /// Refused for good (bad signature, forbidden by the rules, a fork): do not resend.
    Rejected,
    /// Not applied now (e.g. the gap could not be backfilled yet): send again later.
    Retry,
}

/// `push` result: one outcome per event, in the order sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResult {
    /// One per pushed event.
    pub outcomes: Vec<PushOutcome>,
}

/// `backfill` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillParams {
    /// The group (its home is the destination).
    pub group: GroupId,
    /// The first seq wanted (≥ 1).
    pub from: u64,
    /// At most this many events (1 to [`MAX_BACKFILL_EVENTS`]).
    pub limit: u32,
}

/// `backfill` result: consecutive events from `from`, cut to fit the frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillResult {
    /// COSE_Sign1 bytes, seq `from`, `from + 1`, …
    #[serde(with = "byte_strings")]
    pub events: Vec<Vec<u8>>,
    /// The log's head seq at the home.
    pub head: u64,
}

/// `state` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateParams {
    /// The group (its home is the destination).
    pub group: GroupId,
}

/// `state` result: the head of the log at the home, with its signed event as proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateResult {
    /// The head seq.
    pub head: u64,
    /// The head event's id.
    pub id: EventId,
    /// The head event's COSE_Sign1 bytes.
    #[serde(with = "codec::byte_string")]
    pub event: Vec<u8>,
}

/// One read position: `user` has read `group` up to `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadPosition {
    /// The group.
    pub group: GroupId,
    /// The reader.
    pub user: UserId,
    /// The highest seq read.
    pub seq: u64,
}

/// `read` params: read positions batched per peer, at most [`MAX_SIGNALS`], one per group and
/// user. A member node sends its users' reads to the home; the home sends every member's read
/// to the member nodes. Never stored as an event; the result is an empty map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadParams {
    /// The positions, in no particular order.
    pub reads: Vec<ReadPosition>,
}

/// `direct` params: the direct chat of `user` (of the origin) and `peer` (of the destination).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectParams {
    /// The user of the origin who opens the chat.
    pub user: UserId,
    /// The user of the destination they open it with.
    pub peer: UserId,
}

/// `direct` result: the pair's direct chat homed on the destination, absent when it homes
/// none (the origin then creates it). An unknown `peer` is `not_found` instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectResult {
    /// The direct chat, a group of the destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupId>,
}

/// The most signals one `typing`, `presence` or `read` request carries.
pub const MAX_SIGNALS: usize = 64;

/// One typing signal: `user` is typing in `group`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TypingSignal {
    /// The chat.
    pub group: GroupId,
    /// Who is typing.
    pub user: UserId,
}

/// `typing` params: signals batched per peer, at most [`MAX_SIGNALS`]. Never stored;
/// the result is an empty map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypingParams {
    /// The signals, in no particular order.
    pub signals: Vec<TypingSignal>,
}

/// `profile.changed` params: the user's profile now, as the gateway's `profile` push carries
/// it (the user of the origin). The result is an empty map.
pub type ProfileChangedParams = crate::gateway::ProfilePush;

/// `presence` params: users of the origin came online or went offline, each as the gateway's
/// `presence` push carries it; batched per peer, at most [`MAX_SIGNALS`]. The result is an
/// empty map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceParams {
    /// One presence per user, in no particular order.
    pub presence: Vec<crate::gateway::PresencePush>,
}

/// `link.preview` params: an invite link's code, of the destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkPreviewParams {
    /// The link's code.
    #[serde(deserialize_with = "codec::text")]
    pub code: String,
}

/// `link.preview` result: the group as the link's preview shows it.
pub type LinkPreviewResult = crate::gateway::chat::LinkPreview;

/// The most bytes one `media.fetch` answer carries (1 MiB): a piece of media is fetched in
/// consecutive pieces of this size (the last one shorter), each well within the frame.
pub const MEDIA_FETCH_CHUNK: u64 = 1024 * 1024;

/// `media.fetch` params: the bytes of `media` (of the destination) from `offset` on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaFetchParams {
    /// The media; its node is the destination.
    pub media: MediaId,
    /// The first byte wanted (0 for the start; at most the size).
    pub offset: u64,
}

/// `media.fetch` result: the media's size, whether the destination holds a public reference to
/// it (an avatar, a group photo), and its bytes from `offset`: exactly
/// `min(MEDIA_FETCH_CHUNK, size - offset)` of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaFetchResult {
    /// The size of the whole media, in bytes.
    pub size: u64,
    /// True when a public reference to it exists at the destination.
    pub public: bool,
    /// The bytes from `offset` on.
    #[serde(with = "codec::byte_string")]
    pub data: Vec<u8>,
}

impl MediaFetchResult {
    /// How many bytes an answer for `offset` must carry for media of `size` bytes, or `None`
    /// when `offset` is past the end.
    pub fn expected_len(size: u64, offset: u64) -> Option<u64> {
        size.checked_sub(offset)
            .map(|left| left.min(MEDIA_FETCH_CHUNK))
    }
}

/// Serde for an array of CBOR byte strings.
pub(crate) mod byte_strings {
    use serde::de::{SeqAccess, Visitor};
    use serde::ser::SerializeSeq;
    use serde::{Deserializer, Serializer};

    struct Bytes(Vec<u8>);

    impl<'de> serde::Deserialize<'de> for Bytes {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            crate::codec::byte_string::deserialize(d).map(Bytes)
        }
    }

    /// One byte string, borrowed.
    struct BytesOut<'a>(&'a [u8]);

    impl serde::Serialize for BytesOut<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }

    pub fn serialize<S: Serializer>(items: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(items.len()))?;
        for item in items {
            seq.serialize_element(&BytesOut(item))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Vec<Vec<u8>>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("an array of byte strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(Bytes(item)) = seq.next_element()? {
                    out.push(item);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(Visit)
    }
}
