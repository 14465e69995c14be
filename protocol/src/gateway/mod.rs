//! The gateway's methods and pushes: typed `params`, `result` and `data` for the frames of
//! [`crate::client`], the method and event names, the WebSocket close codes and the resume
//! cursor.
//!
//! A [`crate::client::Request`] carries its `params` as a [`ciborium::Value`]; the node turns it
//! into the method's type with [`decode_params`] and turns a result or push back with
//! [`to_value`]. The prose is `spec/gateway.md`; the CDDL is in `spec/cddl/winichat.cddl`.

use ciborium::Value;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::codec::{self, DecodeError, EncodeError};
use crate::ids::{MediaId, UserId};

pub mod actions;
pub mod chat;
pub mod fit;
pub mod search;

/// The method names a client may call.
pub mod method {
    /// The first frame of every connection: `{token, ?cursor}` → [`super::Ready`].
    pub const AUTH: &str = "auth";
    /// In-band re-authentication: `{token}` → [`super::RefreshResult`].
    pub const AUTH_REFRESH: &str = "auth.refresh";
    /// `{?user}` → [`super::ProfileInfo`].
    pub const PROFILE_GET: &str = "profile.get";
    /// `{?display_name, ?bio, ?avatar}` → [`super::ProfileInfo`]; pushes `profile`.
    pub const PROFILE_UPDATE: &str = "profile.update";
    /// `{query, ?limit}` → [`super::SearchResult`].
    pub const USERS_SEARCH: &str = "users.search";
    /// `{}` → `{}`.
    pub const PING: &str = "ping";
    /// [`super::PresenceGetParams`] → [`super::PresenceList`]: the presence of users who share
    /// a chat with the caller.
    pub const PRESENCE_GET: &str = "presence.get";
    /// [`crate::media::MediaUrlsParams`] → [`crate::media::MediaUrls`]: short-lived signed
    /// download paths for media the caller may see (spec/media.md).
    pub const MEDIA_URLS: &str = "media.urls";
}

/// The push event names.
pub mod event {
    /// [`super::PresencePush`]: someone came online or went offline.
    pub const PRESENCE: &str = "presence";
    /// [`super::ProfilePush`]: someone's profile changed.
    pub const PROFILE: &str = "profile";
}

/// WebSocket close codes the node uses. Codes below 4000 are the standard ones (RFC 6455);
/// 4000–4999 are WiniChat's own. A client reconnects after any of them except 4001, 4003 and
/// 4004, which need the user (or a fresh token) first.
pub mod close {
    /// The client or node closed normally.
    pub const NORMAL: u16 = 1000;
    /// The node is shutting down; reconnect with backoff.
    pub const GOING_AWAY: u16 = 1001;
    /// A text frame was received: the gateway speaks binary CBOR frames only.
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// A frame or message over [`super::MAX_FRAME`].
    pub const TOO_BIG: u16 = 1009;
    /// No valid `auth` as the first frame (missing, invalid token, or not within the timeout).
    pub const UNAUTHENTICATED: u16 = 4001;
    /// The access token expired and was not renewed with `auth.refresh`.
    pub const TOKEN_EXPIRED: u16 = 4002;
    /// The session was revoked (logout, password change, refresh-token reuse, revoke).
    pub const SESSION_REVOKED: u16 = 4003;
    /// The user already has [`super::MAX_CONNECTIONS_PER_USER`] connections.
    pub const TOO_MANY_CONNECTIONS: u16 = 4004;
    /// Requests kept coming faster than the rate limit after the burst was spent.
    pub const RATE_LIMITED: u16 = 4005;
    /// The client did not read: its send queue ([`super::SEND_QUEUE`] frames) filled up.
    pub const TOO_SLOW: u16 = 4006;
    /// No frame and no pong for [`super::IDLE_TIMEOUT_SECS`] seconds.
    pub const IDLE_TIMEOUT: u16 = 4007;
}

/// The largest WebSocket frame or message, in bytes (the client frame limit).
pub const MAX_FRAME: usize = 64 * 1024;
/// Seconds a new connection has to send its `auth` frame.
pub const AUTH_TIMEOUT_SECS: u64 = 10;
/// Seconds between the node's pings.
pub const PING_INTERVAL_SECS: u64 = 20;
/// Seconds without any frame or pong after which the node closes with 4007.
pub const IDLE_TIMEOUT_SECS: u64 = 60;
/// Connections one user may hold at once.
pub const MAX_CONNECTIONS_PER_USER: usize = 10;
/// Requests a connection may send at once before the rate applies.
pub const RATE_BURST: u32 = 40;
/// Requests per second a connection may sustain.
pub const RATE_PER_SEC: u32 = 20;
/// Frames the node queues for one connection before it gives up on it (close 4006).
pub const SEND_QUEUE: usize = 256;
/// Pushes per user the node keeps for resuming.
pub const RESUME_WINDOW: usize = 500;
/// The largest `limit` of `users.search`, and its default.
pub const MAX_SEARCH_LIMIT: u32 = 50;

/// Turns a request's `params` into the method's parameter type.
pub fn decode_params<T: DeserializeOwned>(params: &Value) -> Result<T, DecodeError> {
    crate::codec::deserialize_value(params).map_err(DecodeError::Schema)
}

/// Turns a result or push payload into the [`Value`] a frame carries.
pub fn to_value<T: Serialize>(value: &T) -> Result<Value, EncodeError> {
    Value::serialized(value).map_err(|e| EncodeError::Serialize(e.to_string()))
}

/// `auth` params: the first frame of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthParams {
    /// An access token (never put in the URL).
    #[serde(deserialize_with = "codec::text")]
    pub token: String,
    /// The cursor of the last push the client saw, to resume.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub cursor: Option<String>,
}

/// A user's public profile, as results and `ready` carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileInfo {
    /// The user.
    pub id: UserId,
    /// The name shown for them.
    #[serde(deserialize_with = "codec::text")]
    pub display_name: String,
    /// A short text about them (may be empty).
    #[serde(deserialize_with = "codec::text")]
    pub bio: String,
    /// Their avatar: an image on their home node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<MediaId>,
}

/// The `ok` result of `auth`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    /// The authenticated user's profile.
    pub user: ProfileInfo,
    /// The session id the token belongs to.
    #[serde(deserialize_with = "codec::text")]
    pub session: String,
    /// The user's current cursor: what to send back on reconnect if no push arrives first.
    #[serde(deserialize_with = "codec::text")]
    pub cursor: String,
    /// True when the missed pushes follow this reply; false when the client must resync.
    pub resumed: bool,
    /// When the access token expires (Unix ms); renew before with `auth.refresh`.
    pub expires_at: Timestamp,
}

/// `auth.refresh` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshParams {
    /// A fresh access token for the same user and session.
    #[serde(deserialize_with = "codec::text")]
    pub token: String,
}

/// The `ok` result of `auth.refresh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshResult {
    /// The connection's new expiry (Unix ms).
    pub expires_at: Timestamp,
}

/// `profile.get` params.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProfileGetParams {
    /// Whose profile; absent means the caller's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserId>,
}

/// `profile.update` params; an absent field is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProfileUpdateParams {
    /// A new display name.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub display_name: Option<String>,
    /// A new bio.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub bio: Option<String>,
    /// The avatar: `None` (absent) unchanged, `Some(None)` (`null`) removed, `Some(Some(id))`
    /// set to an image the caller uploaded to this node.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::nullable"
    )]
    pub avatar: Option<Option<MediaId>>,
}

/// `users.search` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchParams {
    /// Text to match against user names and display names.
    #[serde(deserialize_with = "codec::text")]
    pub query: String,
    /// At most this many results (default and maximum [`MAX_SEARCH_LIMIT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next` of the previous page, to continue.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub after: Option<String>,
}

/// The `ok` result of `users.search`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SearchResult {
    /// Matching users of this node.
    pub users: Vec<ProfileInfo>,
    /// Present when the list goes on: send it back as `after` for the next page.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub next: Option<String>,
}

/// Params or result with no fields: `{}` (`ping`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Empty {}

/// Whether a user is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// At least one connection is open.
    Online,
    /// None is.
    Offline,
}

/// The `presence` push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresencePush {
    /// Whose presence.
    pub user: UserId,
    /// Online or offline.
    pub status: Status,
    /// When they were last connected (with `offline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Timestamp>,
}

/// The most users one `presence.get` may ask about.
pub const MAX_PRESENCE_USERS: usize = 100;

/// `presence.get` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceGetParams {
    /// Whose presence (at most [`MAX_PRESENCE_USERS`]).
    pub users: Vec<UserId>,
}

/// The `ok` result of `presence.get`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PresenceList {
    /// One entry per asked user who shares a chat with the caller (or is the caller), in the
    /// order asked; other users are left out.
    pub presence: Vec<PresencePush>,
}

/// The `profile` push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfilePush {
    /// Whose profile changed.
    pub user: UserId,
    /// Their display name now.
    #[serde(deserialize_with = "codec::text")]
    pub display_name: String,
    /// Their bio now.
    #[serde(deserialize_with = "codec::text")]
    pub bio: String,
    /// Their avatar now (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<MediaId>,
}

/// A resume cursor: `<boot>.<seq>`, the node's boot id and the user's push sequence number.
///
/// The boot id changes every time the node starts, so a cursor from before a restart is never
/// mistaken for one of this run (pushes are kept in memory).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor {
    /// The node run the cursor belongs to.
    pub boot: String,
    /// The sequence number of the last push seen (0: none yet).
    pub seq: u64,
}

impl Cursor {
    /// Parses `<boot>.<seq>`; `None` when the text is not a cursor.
    pub fn parse(text: &str) -> Option<Cursor> {
        let (boot, seq) = text.rsplit_once('.')?;
        if boot.is_empty() || seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Cursor {
            boot: boot.to_owned(),
            seq: seq.parse().ok()?,
        })
    }
}

impl core::fmt::Display for Cursor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{}", self.boot, self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::from(k), v))
                .collect(),
        )
    }

    fn alice() -> UserId {
        UserId::parse("@alice:chat.example.org").expect("user")
    }

    #[test]
    fn auth_params_decode_with_and_without_cursor() {
        let p: AuthParams =
            decode_params(&map(vec![("token", Value::from("t"))])).expect("decodes");
        assert_eq!(p.token, "t");
        assert_eq!(p.cursor, None);
        let p: AuthParams = decode_params(&map(vec![
            ("token", Value::from("t")),
            ("cursor", Value::from("b.3")),
        ]))
        .expect("decodes");
        assert_eq!(p.cursor.as_deref(), Some("b.3"));
        assert!(decode_params::<AuthParams>(&map(vec![])).is_err());
        assert!(decode_params::<AuthParams>(&map(vec![("token", Value::from(3))])).is_err());
        assert!(
            decode_params::<AuthParams>(&map(vec![("token", Value::Bytes(b"t".to_vec()))]))
                .is_err(),
            "a byte string is not text"
        );
    }

    #[test]
    fn results_and_pushes_round_trip() {
        let ready = Ready {
            user: ProfileInfo {
                id: alice(),
                display_name: "Alice".into(),
                bio: String::new(),
                avatar: None,
            },
            session: "s".into(),
            cursor: "b.0".into(),
            resumed: false,
            expires_at: Timestamp(5),
        };
        let v = to_value(&ready).expect("encodes");
        assert_eq!(decode_params::<Ready>(&v).expect("decodes"), ready);

        let push = PresencePush {
            user: alice(),
            status: Status::Offline,
            last_seen: Some(Timestamp(7)),
        };
        let v = to_value(&push).expect("encodes");
        assert_eq!(
            v,
            map(vec![
                ("user", Value::from("@alice:chat.example.org")),
                ("status", Value::from("offline")),
                ("last_seen", Value::from(7)),
            ])
        );
        assert_eq!(decode_params::<PresencePush>(&v).expect("decodes"), push);

        let v = to_value(&Empty {}).expect("encodes");
        assert_eq!(v, map(vec![]));
        let _: Empty = decode_params(&map(vec![])).expect("decodes");
    }

    #[test]
    fn optional_params() {
        let p: ProfileGetParams = decode_params(&map(vec![])).expect("decodes");
        assert_eq!(p.user, None);
        assert!(decode_params::<ProfileGetParams>(&map(vec![("user", Value::from("x"))])).is_err());
        let p: ProfileUpdateParams =
            decode_params(&map(vec![("bio", Value::from("hi"))])).expect("decodes");
        assert_eq!(p.bio.as_deref(), Some("hi"));
        assert_eq!(p.display_name, None);
        assert_eq!(p.avatar, None, "absent: unchanged");
        let p: ProfileUpdateParams =
            decode_params(&map(vec![("avatar", Value::Null)])).expect("decodes");
        assert_eq!(p.avatar, Some(None), "null: removed");
        let media = MediaId {
            node: crate::ids::NodeName::parse("chat.example.org").expect("node"),
            sha256: [5; 32],
        };
        let p: ProfileUpdateParams =
            decode_params(&map(vec![("avatar", to_value(&media).expect("encodes"))]))
                .expect("decodes");
        assert_eq!(p.avatar, Some(Some(media.clone())), "an id: set");
        for avatar in [None, Some(None), Some(Some(media))] {
            let p = ProfileUpdateParams {
                avatar,
                ..ProfileUpdateParams::default()
            };
            let v = to_value(&p).expect("encodes");
            assert_eq!(
                decode_params::<ProfileUpdateParams>(&v).expect("decodes"),
                p
            );
        }
        assert!(
            decode_params::<ProfileUpdateParams>(&map(vec![("avatar", Value::from("x/y"))]))
                .is_err(),
            "an avatar is a media id map"
        );
        let p: SearchParams =
            decode_params(&map(vec![("query", Value::from("al"))])).expect("decodes");
        assert_eq!(p.limit, None);
        assert!(
            decode_params::<SearchParams>(&map(vec![
                ("query", Value::from("al")),
                ("limit", Value::from(-1)),
            ]))
            .is_err()
        );
    }

    /// Error messages are for people: serde's words, not the Rust debug form of the error
    /// (`Custom("missing field …")`), at the top level and inside nested maps alike.
    #[test]
    fn decode_errors_read_as_sentences() {
        let err = decode_params::<SearchParams>(&map(vec![])).expect_err("no query");
        assert_eq!(err.to_string(), "invalid message: missing field `query`");
        let err = decode_params::<ProfileUpdateParams>(&map(vec![("avatar", map(vec![]))]))
            .expect_err("an empty media id");
        let text = err.to_string();
        assert!(text.contains("missing field `node`"), "{text}");
        assert!(!text.contains("Custom"), "{text}");
        let err = decode_params::<chat::PostParams>(&map(vec![
            ("txn", Value::from("t")),
            ("group", Value::from("!abcdef:chat.example.org")),
        ]))
        .expect_err("no text");
        assert_eq!(err.to_string(), "invalid message: missing field `text`");
    }

    #[test]
    fn cursors_parse_and_print() {
        let c = Cursor::parse("AbC-_9.42").expect("cursor");
        assert_eq!(
            c,
            Cursor {
                boot: "AbC-_9".into(),
                seq: 42
            }
        );
        assert_eq!(c.to_string(), "AbC-_9.42");
        for bad in ["", "42", ".42", "b.", "b.x", "b.-1", "b.+1"] {
            assert_eq!(Cursor::parse(bad), None, "{bad:?}");
        }
    }
}
