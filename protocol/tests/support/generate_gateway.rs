//! The `gateway.json` vectors: the params, results and push data of the gateway's methods and
//! events (spec/gateway.md), and the decoder the spec tests use for their rules.
//!
//! Each case is the bare map (what `params`, `result` or `data` holds), not a whole frame.

use ciborium::Value;
use winichat_protocol::Timestamp;
use winichat_protocol::codec::{self, DecodeError, Limits};
use winichat_protocol::gateway::{
    AuthParams, Empty, PresenceGetParams, PresenceList, PresencePush, ProfileGetParams,
    ProfileInfo, ProfilePush, ProfileUpdateParams, Ready, RefreshParams, RefreshResult,
    SearchParams, SearchResult, Status,
};

use super::generate::{TS0, alice, vmap, vtext};
use super::generate_media::media_id;
use super::model::{Case, Expect, VectorFile};

/// The CDDL rules of this family, each decoded by [`decode`].
pub const RULES: &[&str] = &[
    "auth-params",
    "profile-info",
    "ready",
    "refresh-params",
    "refresh-result",
    "profile-get-params",
    "profile-update-params",
    "search-params",
    "search-result",
    "empty-map",
    "presence-data",
    "profile-data",
    "presence-get-params",
    "presence-list",
];

fn dec<T: serde::de::DeserializeOwned + serde::Serialize>(
    b: &[u8],
) -> Result<Vec<u8>, DecodeError> {
    let value: T = codec::decode(b, &Limits::CLIENT_FRAME)?;
    Ok(codec::encode(&value).expect("a decoded value re-encodes"))
}

/// Decodes `b` as the type of `rule` and re-encodes it; `None` for a rule not of this family.
pub fn decode(rule: &str, b: &[u8]) -> Option<Result<Vec<u8>, DecodeError>> {
    Some(match rule {
        "auth-params" => dec::<AuthParams>(b),
        "profile-info" => dec::<ProfileInfo>(b),
        "ready" => dec::<Ready>(b),
        "refresh-params" => dec::<RefreshParams>(b),
        "refresh-result" => dec::<RefreshResult>(b),
        "profile-get-params" => dec::<ProfileGetParams>(b),
        "profile-update-params" => dec::<ProfileUpdateParams>(b),
        "search-params" => dec::<SearchParams>(b),
        "search-result" => dec::<SearchResult>(b),
        "empty-map" => dec::<Empty>(b),
        "presence-data" => dec::<PresencePush>(b),
        "profile-data" => dec::<ProfilePush>(b),
        "presence-get-params" => dec::<PresenceGetParams>(b),
        "presence-list" => dec::<PresenceList>(b),
        _ => return None,
    })
}

fn enc<T: serde::Serialize>(value: &T) -> Vec<u8> {
    codec::encode(value).expect("encode")
}

fn valid(name: &str, rule: &str, bytes: &[u8]) -> Case {
    Case::new(name, rule, bytes, Expect::valid())
}

fn schema(name: &str, rule: &str, value: &Value) -> Case {
    Case::new(name, rule, &enc(value), Expect::error("schema"))
}

fn profile() -> ProfileInfo {
    ProfileInfo {
        id: alice(),
        display_name: "Alice".to_owned(),
        bio: "Likes CBOR.".to_owned(),
        avatar: None,
    }
}

/// The gateway family.
pub fn gateway() -> VectorFile {
    let cursor = "q3Vd8xk0PwA.17";
    let cases = vec![
        // auth
        valid(
            "auth with a token",
            "auth-params",
            &enc(&AuthParams {
                token: "eyJhbGciOiJFZERTQSJ9.e30.sig".to_owned(),
                cursor: None,
            }),
        ),
        valid(
            "auth with a cursor to resume from",
            "auth-params",
            &enc(&AuthParams {
                token: "eyJhbGciOiJFZERTQSJ9.e30.sig".to_owned(),
                cursor: Some(cursor.to_owned()),
            }),
        ),
        valid(
            "auth with an unknown field",
            "auth-params",
            &enc(&vmap(&[("token", vtext("t")), ("device", vtext("laptop"))])),
        )
        .reencoded(&enc(&vmap(&[("token", vtext("t"))])))
        .note("Unknown fields are ignored."),
        schema("auth without a token", "auth-params", &vmap(&[])),
        schema(
            "auth with a byte-string token",
            "auth-params",
            &vmap(&[("token", Value::Bytes(b"t".to_vec()))]),
        ),
        schema(
            "auth with a numeric cursor",
            "auth-params",
            &vmap(&[("token", vtext("t")), ("cursor", Value::from(17))]),
        ),
        // ready and profiles
        valid("a profile", "profile-info", &enc(&profile())),
        schema(
            "a profile with a malformed user id",
            "profile-info",
            &vmap(&[
                ("id", vtext("alice")),
                ("display_name", vtext("Alice")),
                ("bio", vtext("")),
            ]),
        ),
        valid(
            "ready, resumed",
            "ready",
            &enc(&Ready {
                user: profile(),
                session: "R2x3c0tFcGhYbW9kZXN0cQ".to_owned(),
                cursor: cursor.to_owned(),
                resumed: true,
                expires_at: Timestamp(TS0 + 600_000),
            }),
        ),
        schema(
            "ready with resumed as an integer",
            "ready",
            &vmap(&[
                ("user", Value::serialized(&profile()).expect("value")),
                ("session", vtext("s")),
                ("cursor", vtext(cursor)),
                ("resumed", Value::from(1)),
                ("expires_at", Value::from(TS0)),
            ]),
        ),
        // auth.refresh
        valid(
            "refresh",
            "refresh-params",
            &enc(&RefreshParams {
                token: "eyJhbGciOiJFZERTQSJ9.e30.sig".to_owned(),
            }),
        ),
        schema("refresh without a token", "refresh-params", &vmap(&[])),
        valid(
            "refresh result",
            "refresh-result",
            &enc(&RefreshResult {
                expires_at: Timestamp(TS0 + 600_000),
            }),
        ),
        // profile.get / profile.update
        valid(
            "profile.get of the caller",
            "profile-get-params",
            &enc(&ProfileGetParams { user: None }),
        ),
        valid(
            "profile.get of a user",
            "profile-get-params",
            &enc(&ProfileGetParams {
                user: Some(alice()),
            }),
        ),
        schema(
            "profile.get of a number",
            "profile-get-params",
            &vmap(&[("user", Value::from(1))]),
        ),
        valid(
            "profile.update of both fields",
            "profile-update-params",
            &enc(&ProfileUpdateParams {
                display_name: Some("Alice A.".to_owned()),
                bio: Some(String::new()),
                avatar: None,
            }),
        ),
        valid(
            "profile.update of nothing",
            "profile-update-params",
            &enc(&ProfileUpdateParams::default()),
        ),
        valid(
            "profile.update of the avatar",
            "profile-update-params",
            &enc(&ProfileUpdateParams {
                avatar: Some(Some(media_id("alice.jpg"))),
                ..ProfileUpdateParams::default()
            }),
        )
        .note("An image the caller uploaded to this node (spec/media.md)."),
        valid(
            "profile.update removing the avatar",
            "profile-update-params",
            &enc(&ProfileUpdateParams {
                avatar: Some(None),
                ..ProfileUpdateParams::default()
            }),
        )
        .note("null removes the avatar; an absent avatar is unchanged."),
        schema(
            "profile.update with an avatar in text form",
            "profile-update-params",
            &vmap(&[("avatar", vtext(&media_id("alice.jpg").to_string()))]),
        ),
        schema(
            "profile.update with a numeric bio",
            "profile-update-params",
            &vmap(&[("bio", Value::from(3))]),
        ),
        // users.search
        valid(
            "users.search",
            "search-params",
            &enc(&SearchParams {
                query: "ali".to_owned(),
                limit: Some(10),
                after: None,
            }),
        ),
        valid(
            "users.search, next page",
            "search-params",
            &enc(&SearchParams {
                query: "ali".to_owned(),
                limit: Some(10),
                after: Some("alice".to_owned()),
            }),
        ),
        schema(
            "users.search with a negative limit",
            "search-params",
            &vmap(&[("query", vtext("ali")), ("limit", Value::from(-1))]),
        ),
        valid(
            "a profile with an avatar",
            "profile-info",
            &enc(&ProfileInfo {
                avatar: Some(media_id("alice.jpg")),
                ..profile()
            }),
        ),
        valid(
            "users.search result",
            "search-result",
            &enc(&SearchResult {
                users: vec![profile()],
                next: None,
            }),
        ),
        valid(
            "users.search result with more to come",
            "search-result",
            &enc(&SearchResult {
                users: vec![profile()],
                next: Some("alice".to_owned()),
            }),
        )
        .note("next is opaque: send it back as after for the next page."),
        valid(
            "users.search with no match",
            "search-result",
            &enc(&SearchResult::default()),
        ),
        // ping
        valid("ping", "empty-map", &enc(&Empty {})),
        // pushes
        valid(
            "presence online",
            "presence-data",
            &enc(&PresencePush {
                user: alice(),
                status: Status::Online,
                last_seen: None,
            }),
        ),
        valid(
            "presence offline with last seen",
            "presence-data",
            &enc(&PresencePush {
                user: alice(),
                status: Status::Offline,
                last_seen: Some(Timestamp(TS0)),
            }),
        ),
        schema(
            "presence with an unknown status",
            "presence-data",
            &vmap(&[
                ("user", vtext("@alice:chat.example.org")),
                ("status", vtext("away")),
            ]),
        ),
        valid(
            "profile push with an avatar",
            "profile-data",
            &enc(&ProfilePush {
                user: alice(),
                display_name: "Alice".to_owned(),
                bio: String::new(),
                avatar: Some(media_id("alice.jpg")),
            }),
        ),
        valid(
            "profile push",
            "profile-data",
            &enc(&ProfilePush {
                user: alice(),
                display_name: "Alice".to_owned(),
                bio: String::new(),
                avatar: None,
            }),
        ),
        // presence.get
        valid(
            "presence.get about one user",
            "presence-get-params",
            &enc(&PresenceGetParams {
                users: vec![alice()],
            }),
        ),
        schema(
            "presence.get with users not in an array",
            "presence-get-params",
            &vmap(&[("users", vtext("@alice:chat.example.org"))]),
        ),
        valid(
            "presence.get result: one online, one offline",
            "presence-list",
            &enc(&PresenceList {
                presence: vec![
                    PresencePush {
                        user: alice(),
                        status: Status::Online,
                        last_seen: None,
                    },
                    PresencePush {
                        user: winichat_protocol::ids::UserId::parse("@bob:chat.example.org")
                            .expect("valid"),
                        status: Status::Offline,
                        last_seen: Some(Timestamp(TS0)),
                    },
                ],
            }),
        ),
        valid(
            "presence.get result: nobody shares a chat",
            "presence-list",
            &enc(&PresenceList::default()),
        ),
    ];
    VectorFile {
        family: "gateway".to_owned(),
        description: "The gateway's method params, results and push data (spec/gateway.md): \
                      each case is the bare map a frame carries in params, result or data."
            .to_owned(),
        cases,
        log_cases: Vec::new(),
        json_cases: Vec::new(),
    }
}
