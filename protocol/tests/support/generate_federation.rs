//! The `federation.json` vectors (spec/federation.md): signed requests and their addressing
//! checks, responses, the params and result of every method, the node document and key
//! rotation; with the decoders the spec tests use for their rules.
//!
//! A method case is the bare map a request carries in `params` or a response in `result`.

use ciborium::Value;
use ed25519_dalek::SigningKey;
use winichat_protocol::Timestamp;
use winichat_protocol::codec::{self, DecodeError, Limits};
use winichat_protocol::cose::Signed;
use winichat_protocol::error_code::{ErrorBody, ErrorCode};
use winichat_protocol::event::{Event, EventKind};
use winichat_protocol::federation::methods::{
    BackfillParams, BackfillResult, DirectParams, DirectResult, DirectoryLookupParams, HelloParams,
    HelloResult, InviteParams, JoinParams, JoinRoute, LinkPreviewParams, MAX_BACKFILL_EVENTS,
    MediaFetchParams, MediaFetchResult, PresenceParams, ProfileChangedParams, ProfileGetParams,
    PushOutcome, PushParams, PushResult, ReadParams, ReadPosition, StateParams, StateResult,
    SubmitParams, TypingParams, TypingSignal, VERSIONS, method,
};
use winichat_protocol::federation::{FedRequest, FedResponse, MAX_CLOCK_SKEW_MS};
use winichat_protocol::gateway::chat::{DirectoryEntry, LinkPreview, WriteResult};
use winichat_protocol::gateway::{Empty, PresencePush, ProfileInfo, Status};
use winichat_protocol::ids::{GroupId, Handle, NodeName, UserId};

use super::generate::{TS0, alice, bob, c, home, other_key, remote, test_key, vmap, vtext};
use super::generate_media::media_id;
use super::model::{Addressed, Case, CddlExpect, Expect, VectorFile};

// ------------------------------------------------------------------------------ rules

/// The CDDL rules of method params and results, each decoded by [`decode`].
pub const RULES: &[&str] = &[
    "fed-hello-params",
    "fed-hello-result",
    "fed-profile-get-params",
    "fed-profile-get-result",
    "fed-directory-lookup-params",
    "fed-directory-lookup-result",
    "fed-join-params",
    "fed-join-result",
    "fed-invite-params",
    "fed-invite-result",
    "fed-submit-params",
    "fed-submit-result",
    "fed-push-params",
    "fed-push-result",
    "fed-backfill-params",
    "fed-backfill-result",
    "fed-state-params",
    "fed-state-result",
    "fed-read-params",
    "fed-read-result",
    "fed-direct-params",
    "fed-direct-result",
    "fed-typing-params",
    "fed-typing-result",
    "fed-profile-changed-params",
    "fed-profile-changed-result",
    "fed-presence-params",
    "fed-presence-result",
    "fed-link-preview-params",
    "fed-link-preview-result",
    "fed-media-fetch-params",
    "fed-media-fetch-result",
    "node-document",
    "key-rotation",
];

fn dec<T: serde::de::DeserializeOwned + serde::Serialize>(
    b: &[u8],
) -> Result<Vec<u8>, DecodeError> {
    let value: T = codec::decode(b, &Limits::FEDERATION_FRAME)?;
    Ok(codec::encode(&value).expect("a decoded value re-encodes"))
}

/// Decodes `b` as the type of `rule` and re-encodes it; `None` for a rule not of this family.
///
/// `node-document` and `key-rotation` have no Rust type in the protocol crate yet: they decode
/// as a CBOR map whose fields [`check_node_document`] and [`check_key_rotation`] check, and
/// re-encode as that map.
pub fn decode(rule: &str, b: &[u8]) -> Option<Result<Vec<u8>, DecodeError>> {
    Some(match rule {
        "fed-hello-params" => dec::<HelloParams>(b),
        "fed-hello-result" => dec::<HelloResult>(b),
        "fed-profile-get-params" => dec::<ProfileGetParams>(b),
        "fed-profile-get-result" => dec::<ProfileInfo>(b),
        "fed-directory-lookup-params" => dec::<DirectoryLookupParams>(b),
        "fed-directory-lookup-result" => dec::<DirectoryEntry>(b),
        "fed-join-params" => dec::<JoinParams>(b),
        "fed-join-result" | "fed-submit-result" => dec::<WriteResult>(b),
        "fed-invite-params" => dec::<InviteParams>(b),
        "fed-invite-result" => dec::<Empty>(b),
        "fed-submit-params" => dec::<SubmitParams>(b),
        "fed-push-params" => dec::<PushParams>(b),
        "fed-push-result" => dec::<PushResult>(b),
        "fed-backfill-params" => dec::<BackfillParams>(b),
        "fed-backfill-result" => dec::<BackfillResult>(b),
        "fed-state-params" => dec::<StateParams>(b),
        "fed-state-result" => dec::<StateResult>(b),
        "fed-read-params" => dec::<ReadParams>(b),
        "fed-read-result"
        | "fed-typing-result"
        | "fed-profile-changed-result"
        | "fed-presence-result" => dec::<Empty>(b),
        "fed-profile-changed-params" => dec::<ProfileChangedParams>(b),
        "fed-presence-params" => dec::<PresenceParams>(b),
        "fed-link-preview-params" => dec::<LinkPreviewParams>(b),
        "fed-link-preview-result" => dec::<LinkPreview>(b),
        "fed-direct-params" => dec::<DirectParams>(b),
        "fed-direct-result" => dec::<DirectResult>(b),
        "fed-typing-params" => dec::<TypingParams>(b),
        "fed-media-fetch-params" => dec::<MediaFetchParams>(b),
        "fed-media-fetch-result" => dec::<MediaFetchResult>(b),
        "node-document" => map_checked(b, check_node_document),
        "key-rotation" => map_checked(b, check_key_rotation),
        _ => return None,
    })
}

fn map_checked(
    b: &[u8],
    check: fn(&Value) -> Result<(), DecodeError>,
) -> Result<Vec<u8>, DecodeError> {
    let value: Value = codec::decode(b, &Limits::EVENT)?;
    check(&value)?;
    Ok(codec::encode(&value).expect("a decoded value re-encodes"))
}

fn schema(why: &str) -> DecodeError {
    DecodeError::Schema(why.to_owned())
}

fn get<'a>(map: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| matches!(k, Value::Text(t) if t == key))
        .map(|(_, v)| v)
}

fn require<'a>(map: &'a [(Value, Value)], key: &str) -> Result<&'a Value, DecodeError> {
    get(map, key).ok_or_else(|| schema(&format!("missing field `{key}`")))
}

fn node_name(v: &Value) -> Result<(), DecodeError> {
    match v {
        Value::Text(t) if NodeName::parse(t).is_ok() => Ok(()),
        _ => Err(schema("expected a node name")),
    }
}

fn key32(v: &Value) -> Result<(), DecodeError> {
    match v {
        Value::Bytes(b) if b.len() == 32 => Ok(()),
        _ => Err(schema("expected a 32-byte key")),
    }
}

fn timestamp(v: &Value) -> Result<(), DecodeError> {
    match v {
        Value::Integer(i) if u64::try_from(*i).is_ok() => Ok(()),
        _ => Err(schema("expected a timestamp")),
    }
}

fn non_empty_array<'a>(v: &'a Value, what: &str) -> Result<&'a [Value], DecodeError> {
    match v {
        Value::Array(items) if !items.is_empty() => Ok(items),
        _ => Err(schema(&format!("expected a non-empty array of {what}"))),
    }
}

/// The shape of `node-document` (spec/federation.md §2).
pub fn check_node_document(v: &Value) -> Result<(), DecodeError> {
    let Value::Map(map) = v else {
        return Err(schema("a node document is a map"));
    };
    if map.iter().any(|(k, _)| !matches!(k, Value::Text(_))) {
        return Err(schema("map keys are text"));
    }
    node_name(require(map, "name")?)?;
    key32(require(map, "key")?)?;
    for address in non_empty_array(require(map, "quic")?, "addresses")? {
        if !matches!(address, Value::Text(_)) {
            return Err(schema("a quic address is text"));
        }
    }
    for version in non_empty_array(require(map, "versions")?, "versions")? {
        let ok = matches!(version, Value::Integer(i) if u32::try_from(*i).is_ok_and(|n| n >= 1));
        if !ok {
            return Err(schema("a version is 1..2^32-1"));
        }
    }
    timestamp(require(map, "valid_until")?)?;
    match get(map, "rotation") {
        None | Some(Value::Bytes(_)) => {}
        Some(_) => return Err(schema("rotation is a byte string")),
    }
    match get(map, "earlier_rotations") {
        None => Ok(()),
        Some(v) => {
            for rotation in non_empty_array(v, "earlier rotations")? {
                if !matches!(rotation, Value::Bytes(_)) {
                    return Err(schema("an earlier rotation is a byte string"));
                }
            }
            Ok(())
        }
    }
}

/// The shape of `key-rotation` (spec/federation.md §2.5).
pub fn check_key_rotation(v: &Value) -> Result<(), DecodeError> {
    let Value::Map(map) = v else {
        return Err(schema("a key rotation is a map"));
    };
    if map.iter().any(|(k, _)| !matches!(k, Value::Text(_))) {
        return Err(schema("map keys are text"));
    }
    node_name(require(map, "name")?)?;
    key32(require(map, "old_key")?)?;
    key32(require(map, "new_key")?)?;
    timestamp(require(map, "ts")?)
}

// ------------------------------------------------------------------------------ values

fn enc<T: serde::Serialize>(value: &T) -> Vec<u8> {
    codec::encode(value).expect("encode")
}

fn valid(name: &str, rule: &str, bytes: &[u8]) -> Case {
    Case::new(name, rule, bytes, Expect::valid())
}

fn error(name: &str, rule: &str, bytes: &[u8], err: &str) -> Case {
    Case::new(name, rule, bytes, Expect::error(err))
}

fn schema_case(name: &str, rule: &str, value: &Value) -> Case {
    Case::new(name, rule, &enc(value), Expect::error("schema"))
}

fn fed_group() -> GroupId {
    GroupId::parse("!r8tx2m:chat.example.org").expect("group")
}

fn rustaceans() -> Handle {
    Handle::parse("#rustaceans:chat.example.org").expect("handle")
}

fn carol() -> UserId {
    UserId::parse("@carol:remote.example.net").expect("user")
}

/// The first events of a public group hosted on chat.example.org, as its home signs them:
/// alice creates it, bob (of remote.example.net) joins, alice posts, alice invites carol (also
/// of remote.example.net).
pub fn group_log() -> Vec<Signed<Event>> {
    let key = test_key();
    let create = vmap(&[
        ("kind", vtext("group")),
        ("name", vtext("Rustaceans")),
        ("description", vtext("")),
        ("visibility", vtext("public")),
        ("handle", vtext(rustaceans().as_str())),
    ]);
    let steps: [(UserId, EventKind, Value); 4] = [
        (alice(), EventKind::GroupCreate, create),
        (
            bob(),
            EventKind::MemberJoin,
            vmap(&[("via", vtext("public"))]),
        ),
        (
            alice(),
            EventKind::MsgPost,
            vmap(&[("text", vtext("Welcome!"))]),
        ),
        (
            alice(),
            EventKind::MemberInvite,
            vmap(&[("user", vtext(carol().as_str()))]),
        ),
    ];
    let mut out: Vec<Signed<Event>> = Vec::new();
    for (i, (sender, kind, body)) in steps.into_iter().enumerate() {
        let event = Event::next(
            fed_group(),
            out.last().map(|e| e.head()).as_ref(),
            Timestamp(TS0 + 1_000 * i as u64),
            sender,
            kind,
            body,
        );
        out.push(Signed::sign(event, &home(), &key).expect("sign"));
    }
    out
}

fn raw(events: &[Signed<Event>]) -> Vec<Vec<u8>> {
    events.iter().map(|e| e.raw().to_vec()).collect()
}

fn write_result(seq: u64, log: &[Signed<Event>]) -> WriteResult {
    WriteResult {
        group: fed_group(),
        seq,
        id: log[seq as usize - 1].id(),
        role: None,
    }
}

/// A request from `origin` to `destination` at `TS0`: a push of the group's first event.
pub fn fed_request(origin: NodeName, destination: NodeName) -> FedRequest {
    let log = group_log();
    FedRequest {
        origin,
        destination,
        id: 7,
        ts: Timestamp(TS0),
        method: method::PUSH.to_owned(),
        params: to_value(&PushParams {
            events: raw(&log[..1]),
        }),
    }
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    codec::decode(&enc(value), &Limits::FEDERATION_FRAME).expect("a map")
}

/// The node document of chat.example.org under `key`, valid for a day from `TS0`.
pub fn node_document(key: &SigningKey, rotation: Option<&[u8]>) -> Value {
    node_document_with_chain(key, rotation, &[])
}

/// [`node_document`] with `earlier_rotations` (when not empty).
pub fn node_document_with_chain(
    key: &SigningKey,
    rotation: Option<&[u8]>,
    earlier: &[&[u8]],
) -> Value {
    let mut fields = vec![
        ("name", vtext(home().as_str())),
        ("key", Value::Bytes(key.verifying_key().to_bytes().to_vec())),
        ("quic", Value::Array(vec![vtext("203.0.113.7:7801")])),
        (
            "versions",
            Value::Array(VERSIONS.iter().map(|v| Value::from(*v)).collect()),
        ),
        ("valid_until", Value::from(TS0 + 86_400_000)),
    ];
    if let Some(rotation) = rotation {
        fields.push(("rotation", Value::Bytes(rotation.to_vec())));
    }
    if !earlier.is_empty() {
        fields.push((
            "earlier_rotations",
            Value::Array(earlier.iter().map(|r| Value::Bytes(r.to_vec())).collect()),
        ));
    }
    vmap(&fields)
}

/// The key chat.example.org moves to after its second rotation (other key → this one).
pub fn third_key() -> SigningKey {
    SigningKey::from_bytes(&[0x33; 32])
}

/// The other key hands chat.example.org over to [`third_key`], an hour after [`key_rotation`].
pub fn second_key_rotation() -> Value {
    vmap(&[
        ("name", vtext(home().as_str())),
        (
            "old_key",
            Value::Bytes(other_key().verifying_key().to_bytes().to_vec()),
        ),
        (
            "new_key",
            Value::Bytes(third_key().verifying_key().to_bytes().to_vec()),
        ),
        ("ts", Value::from(TS0 + 3_600_000)),
    ])
}

/// The test key hands chat.example.org over to the other key.
pub fn key_rotation() -> Value {
    vmap(&[
        ("name", vtext(home().as_str())),
        (
            "old_key",
            Value::Bytes(test_key().verifying_key().to_bytes().to_vec()),
        ),
        (
            "new_key",
            Value::Bytes(other_key().verifying_key().to_bytes().to_vec()),
        ),
        ("ts", Value::from(TS0)),
    ])
}

// ------------------------------------------------------------------------------ cases

fn requests() -> Vec<Case> {
    let key = test_key();
    let request = fed_request(home(), remote());
    let signed_request = Signed::sign(request.clone(), &home(), &key).expect("sign");
    let spoofed = Signed::sign(fed_request(remote(), remote()), &home(), &key).expect("sign");
    let forged = Signed::sign(request.clone(), &home(), &other_key()).expect("sign");
    let hello = FedRequest {
        origin: remote(),
        destination: home(),
        id: 1,
        ts: Timestamp(TS0),
        method: method::HELLO.to_owned(),
        params: to_value(&HelloParams {
            versions: VERSIONS.to_vec(),
        }),
    };
    let signed_hello = Signed::sign(hello, &remote(), &key).expect("sign");
    let at = |receiver: &NodeName, now: u64, expect: Expect| Addressed {
        receiver: receiver.to_string(),
        now,
        expect,
    };
    let mut signed_case =
        valid("signed request", "signed-fed-request", signed_request.raw()).test_key();
    signed_case.addressed = vec![
        at(&remote(), TS0, Expect::valid()),
        at(&remote(), TS0 + MAX_CLOCK_SKEW_MS, Expect::valid()),
        at(&remote(), TS0 - MAX_CLOCK_SKEW_MS, Expect::valid()),
        at(
            &remote(),
            TS0 + MAX_CLOCK_SKEW_MS + 1,
            Expect::error("stale"),
        ),
        at(
            &remote(),
            TS0 - MAX_CLOCK_SKEW_MS - 1,
            Expect::error("stale"),
        ),
        at(&home(), TS0, Expect::error("wrong_destination")),
    ];
    let mut hello_case = valid(
        "signed hello from remote.example.net",
        "signed-fed-request",
        signed_hello.raw(),
    )
    .test_key()
    .note("kid remote.example.net; every node in the vectors uses the test key.");
    hello_case.addressed = vec![
        at(&home(), TS0 + 1_000, Expect::valid()),
        at(&home(), TS0 + 3_600_000, Expect::error("stale")),
    ];
    let mut spoofed_case = valid(
        "signed request claiming another origin",
        "signed-fed-request",
        spoofed.raw(),
    )
    .test_key()
    .note("Signed by chat.example.org (the kid) but claiming origin remote.example.net.");
    spoofed_case.addressed = vec![at(&remote(), TS0, Expect::error("origin_mismatch"))];
    let fields = |origin: Vec<u8>, params: Vec<u8>| {
        c::tmap(&[
            ("origin", origin),
            ("destination", c::t(remote().as_str())),
            ("id", c::u(7)),
            ("ts", c::u(TS0)),
            ("method", c::t("hello")),
            ("params", params),
        ])
    };
    vec![
        valid("request payload", "fed-request", &enc(&request)),
        valid(
            "minimal request payload",
            "fed-request",
            &fields(c::t(home().as_str()), c::map(&[])),
        ),
        error(
            "request with a malformed origin",
            "fed-request",
            &fields(c::t("Chat"), c::map(&[])),
            "schema",
        ),
        error(
            "request with method as a byte string",
            "fed-request",
            &c::tmap(&[
                ("origin", c::t(home().as_str())),
                ("destination", c::t(remote().as_str())),
                ("id", c::u(7)),
                ("ts", c::u(TS0)),
                ("method", c::b(b"hello")),
                ("params", c::map(&[])),
            ]),
            "schema",
        ),
        error(
            "request with params as an array",
            "fed-request",
            &fields(c::t(home().as_str()), c::arr(&[])),
            "schema",
        ),
        signed_case,
        hello_case,
        spoofed_case,
        error(
            "signed request under another key",
            "signed-fed-request",
            forged.raw(),
            "bad_signature",
        )
        .test_key()
        .note(
            "kid chat.example.org, but signed with the other key: the receiver answers \
             forbidden and does not act.",
        ),
    ]
}

fn responses() -> Vec<Case> {
    let resp = |r: FedResponse| r.encode().expect("encode");
    let log = group_log();
    vec![
        valid(
            "ok response",
            "fed-ok",
            &resp(FedResponse::Ok {
                id: 7,
                result: to_value(&PushResult {
                    outcomes: vec![PushOutcome::Applied],
                }),
            }),
        ),
        valid(
            "ok response to join",
            "fed-ok",
            &resp(FedResponse::Ok {
                id: 8,
                result: to_value(&write_result(2, &log)),
            }),
        ),
        valid(
            "err response",
            "fed-err",
            &resp(FedResponse::Err {
                id: 7,
                error: ErrorBody::new(ErrorCode::Forbidden, "you are not a member of this group"),
            }),
        ),
        valid(
            "err response to an unknown method",
            "fed-err",
            &resp(FedResponse::Err {
                id: 9,
                error: ErrorBody::new(ErrorCode::UnknownMethod, "no such method"),
            }),
        ),
        valid(
            "err response to a request that did not decode",
            "fed-err",
            &resp(FedResponse::Err {
                id: 0,
                error: ErrorBody::new(ErrorCode::BadRequest, "not a signed request"),
            }),
        )
        .note("id 0: the request's id could not be read (federation.md §4)."),
        valid(
            "err response with an unknown code",
            "fed-response",
            &resp(FedResponse::Err {
                id: 8,
                error: ErrorBody::new(ErrorCode::Unknown("retry_elsewhere".to_owned()), "Moved."),
            }),
        ),
        error(
            "response with t push",
            "fed-response",
            &c::tmap(&[
                ("t", c::t("push")),
                ("event", c::t("x")),
                ("data", vec![c::NULL]),
            ]),
            "schema",
        )
        .note("Federation responses have no push form."),
        error(
            "response without id",
            "fed-response",
            &c::tmap(&[("t", c::t("ok")), ("result", vec![c::NULL])]),
            "schema",
        ),
    ]
}

fn methods() -> Vec<Case> {
    let log = group_log();
    let versions = Value::Array(vec![Value::from(1)]);
    vec![
        // hello
        valid(
            "hello params",
            "fed-hello-params",
            &enc(&HelloParams {
                versions: VERSIONS.to_vec(),
            }),
        ),
        schema_case(
            "hello params with versions as an integer",
            "fed-hello-params",
            &vmap(&[("versions", Value::from(1))]),
        ),
        valid(
            "hello result",
            "fed-hello-result",
            &enc(&HelloResult {
                versions: VERSIONS.to_vec(),
                ts: Timestamp(TS0 + 42),
            }),
        ),
        schema_case(
            "hello result without ts",
            "fed-hello-result",
            &vmap(&[("versions", versions.clone())]),
        ),
        // profile.get
        valid(
            "profile.get params",
            "fed-profile-get-params",
            &enc(&ProfileGetParams { user: bob() }),
        )
        .note("Asked of remote.example.net, bob's node."),
        schema_case(
            "profile.get params with a malformed user",
            "fed-profile-get-params",
            &vmap(&[("user", vtext("bob"))]),
        ),
        valid(
            "profile.get result",
            "fed-profile-get-result",
            &enc(&ProfileInfo {
                id: bob(),
                display_name: "Bob".to_owned(),
                bio: "".to_owned(),
                avatar: None,
            }),
        ),
        // directory.lookup
        valid(
            "directory.lookup params",
            "fed-directory-lookup-params",
            &enc(&DirectoryLookupParams {
                handle: rustaceans(),
            }),
        ),
        schema_case(
            "directory.lookup params with a handle without '#'",
            "fed-directory-lookup-params",
            &vmap(&[("handle", vtext("rustaceans:chat.example.org"))]),
        ),
        valid(
            "directory.lookup result",
            "fed-directory-lookup-result",
            &enc(&DirectoryEntry {
                group: fed_group(),
                handle: rustaceans(),
                name: "Rustaceans".to_owned(),
                description: "".to_owned(),
                members: 1,
                joined: false,
                photo: None,
            }),
        )
        .note("`joined` is always false: the home answers a node, not a user."),
        // join
        valid(
            "join params, public group",
            "fed-join-params",
            &enc(&JoinParams {
                user: bob(),
                txn: "01JH8Z6Q4W3E2R1T0Y9U8I7O6P".to_owned(),
                via: JoinRoute::Public,
                group: Some(fed_group()),
                code: None,
            }),
        ),
        valid(
            "join params, accepting an invite",
            "fed-join-params",
            &enc(&JoinParams {
                user: carol(),
                txn: "t-2".to_owned(),
                via: JoinRoute::Invite,
                group: Some(fed_group()),
                code: None,
            }),
        ),
        valid(
            "join params, redeeming a link",
            "fed-join-params",
            &enc(&JoinParams {
                user: bob(),
                txn: "t-3".to_owned(),
                via: JoinRoute::Link,
                group: None,
                code: Some("Qm9vLWxpbmstY29kZS0x".to_owned()),
            }),
        ),
        schema_case(
            "join params with an unknown route",
            "fed-join-params",
            &vmap(&[
                ("user", vtext(bob().as_str())),
                ("txn", vtext("t-4")),
                ("via", vtext("door")),
                ("group", vtext(fed_group().as_str())),
            ]),
        ),
        schema_case(
            "join params with txn as an integer",
            "fed-join-params",
            &vmap(&[
                ("user", vtext(bob().as_str())),
                ("txn", Value::from(4)),
                ("via", vtext("public")),
                ("group", vtext(fed_group().as_str())),
            ]),
        ),
        valid(
            "join result",
            "fed-join-result",
            &enc(&write_result(2, &log)),
        )
        .note("The member.join event is seq 2: the joiner's node backfills from 1 to at least 2."),
        // invite
        valid(
            "invite params",
            "fed-invite-params",
            &enc(&InviteParams {
                event: log[3].raw().to_vec(),
                name: "Rustaceans".to_owned(),
            }),
        )
        .note("The member.invite of carol, seq 4, as the home signed it."),
        schema_case(
            "invite params with the event as text",
            "fed-invite-params",
            &vmap(&[("event", vtext("x")), ("name", vtext("Rustaceans"))]),
        ),
        valid("invite result", "fed-invite-result", &enc(&Empty {})),
        // submit
        valid(
            "submit params, msgs.post",
            "fed-submit-params",
            &enc(&SubmitParams {
                user: bob(),
                method: "msgs.post".to_owned(),
                params: vmap(&[
                    ("txn", vtext("01JH8Z7A0B1C2D3E4F5G6H7J8K")),
                    ("group", vtext(fed_group().as_str())),
                    ("text", vtext("Hello from remote!")),
                ]),
            }),
        ),
        valid(
            "submit params, members.kick",
            "fed-submit-params",
            &enc(&SubmitParams {
                user: bob(),
                method: "members.kick".to_owned(),
                params: vmap(&[
                    ("txn", vtext("t-5")),
                    ("group", vtext(fed_group().as_str())),
                    ("user", vtext(alice().as_str())),
                    ("reason", vtext("")),
                ]),
            }),
        )
        .note("Decodes; the home's authorize refuses it (forbidden) unless bob outranks alice."),
        valid(
            "submit params of a method outside the list",
            "fed-submit-params",
            &enc(&SubmitParams {
                user: bob(),
                method: "groups.create".to_owned(),
                params: vmap(&[("txn", vtext("t-6")), ("name", vtext("Mine"))]),
            }),
        )
        .cddl(CddlExpect::Invalid)
        .note(
            "Decodes, but the home answers unknown_method: a user creates groups on their own \
             node (federation.md §5.6).",
        ),
        schema_case(
            "submit params with params as an array",
            "fed-submit-params",
            &vmap(&[
                ("user", vtext(bob().as_str())),
                ("method", vtext("msgs.post")),
                ("params", Value::Array(vec![])),
            ]),
        ),
        valid(
            "submit result, roles.create",
            "fed-submit-result",
            &enc(&WriteResult {
                role: Some(1),
                ..write_result(3, &log)
            }),
        ),
        // push
        valid(
            "push params",
            "fed-push-params",
            &enc(&PushParams {
                events: raw(&log[1..3]),
            }),
        )
        .note("Seq 2 and 3 of one group, in seq order."),
        schema_case(
            "push params with an event as text",
            "fed-push-params",
            &vmap(&[("events", Value::Array(vec![vtext("x")]))]),
        ),
        valid(
            "push result",
            "fed-push-result",
            &enc(&PushResult {
                outcomes: vec![
                    PushOutcome::Applied,
                    PushOutcome::Duplicate,
                    PushOutcome::Rejected,
                    PushOutcome::Retry,
                ],
            }),
        ),
        schema_case(
            "push result with an unknown outcome",
            "fed-push-result",
            &vmap(&[("outcomes", Value::Array(vec![vtext("maybe")]))]),
        ),
        // backfill
        valid(
            "backfill params",
            "fed-backfill-params",
            &enc(&BackfillParams {
                group: fed_group(),
                from: 1,
                limit: MAX_BACKFILL_EVENTS,
            }),
        ),
        schema_case(
            "backfill params with a negative from",
            "fed-backfill-params",
            &vmap(&[
                ("group", vtext(fed_group().as_str())),
                ("from", Value::from(-1)),
                ("limit", Value::from(10)),
            ]),
        ),
        valid(
            "backfill result",
            "fed-backfill-result",
            &enc(&BackfillResult {
                events: raw(&log[..2]),
                head: 4,
            }),
        )
        .note("Asked from 1 with limit 2: seq 1 and 2; the head is 4."),
        valid(
            "backfill result past the head",
            "fed-backfill-result",
            &enc(&BackfillResult {
                events: vec![],
                head: 4,
            }),
        )
        .note("Asked from 5: nothing yet."),
        // state
        valid(
            "state params",
            "fed-state-params",
            &enc(&StateParams { group: fed_group() }),
        ),
        valid(
            "state result",
            "fed-state-result",
            &enc(&StateResult {
                head: 4,
                id: log[3].id(),
                event: log[3].raw().to_vec(),
            }),
        ),
        schema_case(
            "state result with a malformed id",
            "fed-state-result",
            &vmap(&[
                ("head", Value::from(4)),
                ("id", vtext("$abc")),
                ("event", Value::Bytes(log[3].raw().to_vec())),
            ]),
        ), // read
        valid(
            "read params",
            "fed-read-params",
            &enc(&ReadParams {
                reads: vec![ReadPosition {
                    group: fed_group(),
                    user: carol(),
                    seq: 3,
                }],
            }),
        ),
        valid("read result", "fed-read-result", &enc(&Empty {})),
        // direct
        valid(
            "direct params",
            "fed-direct-params",
            &enc(&DirectParams {
                user: carol(),
                peer: alice(),
            }),
        )
        .note("carol (of the origin) opens a direct chat with alice (of the destination)."),
        valid(
            "direct result with the chat",
            "fed-direct-result",
            &enc(&DirectResult {
                group: Some(fed_group()),
            }),
        ),
        valid(
            "direct result without a chat",
            "fed-direct-result",
            &enc(&DirectResult { group: None }),
        )
        .note("The destination homes no direct chat of the pair: the origin creates one."),
        schema_case(
            "direct params with a malformed peer",
            "fed-direct-params",
            &vmap(&[("user", vtext(carol().as_str())), ("peer", vtext("bob"))]),
        ),
        // typing
        valid(
            "typing params",
            "fed-typing-params",
            &enc(&TypingParams {
                signals: vec![TypingSignal {
                    group: fed_group(),
                    user: carol(),
                }],
            }),
        ),
        valid("typing result", "fed-typing-result", &enc(&Empty {})),
        // profile.changed and presence
        valid(
            "profile changed params",
            "fed-profile-changed-params",
            &enc(&ProfileChangedParams {
                user: carol(),
                display_name: "Carol".into(),
                bio: "On the other node".into(),
                avatar: None,
            }),
        ),
        valid(
            "profile changed result",
            "fed-profile-changed-result",
            &enc(&Empty {}),
        ),
        valid(
            "presence params",
            "fed-presence-params",
            &enc(&PresenceParams {
                presence: vec![
                    PresencePush {
                        user: carol(),
                        status: Status::Offline,
                        last_seen: Some(Timestamp(TS0)),
                    },
                    PresencePush {
                        user: UserId::parse("@dave:remote.example.net").expect("user"),
                        status: Status::Online,
                        last_seen: None,
                    },
                ],
            }),
        )
        .note("Two users of the origin, batched: carol went offline, dave came online."),
        valid("presence result", "fed-presence-result", &enc(&Empty {})),
        // link.preview
        valid(
            "link preview params",
            "fed-link-preview-params",
            &enc(&LinkPreviewParams {
                code: "k7Qm2xVb9LpR4tZa".into(),
            }),
        ),
        valid(
            "link preview result",
            "fed-link-preview-result",
            &enc(&LinkPreview {
                group: fed_group(),
                name: "Rustaceans".into(),
                description: String::new(),
                members: 3,
                photo: None,
            }),
        ),
        // media.fetch
        valid(
            "media fetch params",
            "fed-media-fetch-params",
            &enc(&MediaFetchParams {
                media: media_id("beach.jpg"),
                offset: 0,
            }),
        )
        .note("The first piece of a photo of chat.example.org."),
        valid(
            "media fetch result",
            "fed-media-fetch-result",
            &enc(&MediaFetchResult {
                size: 9,
                public: false,
                data: b"beach.jpg".to_vec(),
            }),
        )
        .note(
            "The whole of a 9-byte media (as in the vectors, its bytes are the SHA-256 input \
             of its id) in one piece: size - offset is under 1 MiB. Not public: the asking \
             node may see it through a chat it has a member in.",
        ),
        valid(
            "media fetch result past the end",
            "fed-media-fetch-result",
            &enc(&MediaFetchResult {
                size: 9,
                public: true,
                data: vec![],
            }),
        )
        .note("Asked from offset 9 (the size): no bytes. An avatar, so public."),
        schema_case(
            "media fetch params without an offset",
            "fed-media-fetch-params",
            &vmap(&[(
                "media",
                vmap(&[
                    ("node", vtext("chat.example.org")),
                    ("sha256", Value::Bytes(vec![7; 32])),
                ]),
            )]),
        ),
        schema_case(
            "media fetch params with a 31-byte hash",
            "fed-media-fetch-params",
            &vmap(&[
                (
                    "media",
                    vmap(&[
                        ("node", vtext("chat.example.org")),
                        ("sha256", Value::Bytes(vec![7; 31])),
                    ]),
                ),
                ("offset", Value::from(0)),
            ]),
        ),
        schema_case(
            "media fetch result with text data",
            "fed-media-fetch-result",
            &vmap(&[
                ("size", Value::from(9)),
                ("public", Value::Bool(false)),
                ("data", vtext("beach.jpg")),
            ]),
        ),
    ]
}

fn identity() -> Vec<Case> {
    let old = test_key();
    let new = other_key();
    let rotation = Signed::sign(key_rotation(), &home(), &old).expect("sign");
    let document = node_document(&old, None);
    let rotated = node_document(&new, Some(rotation.raw()));
    let signed_document = Signed::sign(document.clone(), &home(), &old).expect("sign");
    let signed_rotated = Signed::sign(rotated.clone(), &home(), &new).expect("sign");
    let third = third_key();
    let second_rotation = Signed::sign(second_key_rotation(), &home(), &new).expect("sign");
    let twice_rotated =
        node_document_with_chain(&third, Some(second_rotation.raw()), &[rotation.raw()]);
    let signed_twice_rotated = Signed::sign(twice_rotated.clone(), &home(), &third).expect("sign");
    let with = |field: &str, value: Value| {
        let Value::Map(mut entries) = document.clone() else {
            unreachable!("a map")
        };
        for (k, v) in entries.iter_mut() {
            if matches!(k, Value::Text(t) if t == field) {
                *v = value.clone();
            }
        }
        Value::Map(entries)
    };
    vec![
        valid("node document", "node-document", &enc(&document)),
        valid(
            "node document after a key rotation",
            "node-document",
            &enc(&rotated),
        )
        .note("Its key is the other key; `rotation` is the signed key rotation below."),
        schema_case(
            "node document with a 31-byte key",
            "node-document",
            &with("key", Value::Bytes(vec![3; 31])),
        ),
        schema_case(
            "node document without addresses",
            "node-document",
            &with("quic", Value::Array(vec![])),
        ),
        schema_case(
            "node document with a malformed name",
            "node-document",
            &with("name", vtext("Chat.Example.org")),
        ),
        valid(
            "signed node document",
            "signed-node-document",
            signed_document.raw(),
        )
        .test_key()
        .note("What GET /.well-known/winichat/node answers (Content-Type: application/cose)."),
        valid(
            "signed node document after a key rotation",
            "signed-node-document",
            signed_rotated.raw(),
        )
        .key(&new.verifying_key().to_bytes())
        .note(
            "Signed by the new (other) key. A fetcher that holds the test key for \
             chat.example.org accepts it: `rotation` verifies under the test key and names \
             old_key = the test key, new_key = this document's key.",
        ),
        valid(
            "node document after two key rotations",
            "node-document",
            &enc(&twice_rotated),
        )
        .note(
            "Its key is a third key (seed 32 bytes of 0x33); `rotation` hands the other key \
             over to it, `earlier_rotations` holds the first rotation (test key → other key).",
        ),
        schema_case(
            "node document with an empty earlier_rotations",
            "node-document",
            &{
                let Value::Map(mut entries) = rotated.clone() else {
                    unreachable!("a map")
                };
                entries.push((vtext("earlier_rotations"), Value::Array(vec![])));
                Value::Map(entries)
            },
        ),
        valid(
            "signed node document after two key rotations",
            "signed-node-document",
            signed_twice_rotated.raw(),
        )
        .key(&third.verifying_key().to_bytes())
        .note(
            "Signed by the third key. The chain (federation.md §2.2 rule 5): the earlier \
             rotation, signed by the test key, names test key → other key at TS0; `rotation`, \
             signed by the other key, names other key → third key an hour later. A fetcher \
             holding the test key or the other key accepts it; a replica verifies the node's \
             events dated before TS0 under the test key, those before TS0 + 1 h under the \
             other key, and any under the third key.",
        ),
        error(
            "signed node document under another key",
            "signed-node-document",
            Signed::sign(document.clone(), &home(), &new)
                .expect("sign")
                .raw(),
            "bad_signature",
        )
        .test_key()
        .note("Its `key` is the test key, but the other key signed it: refused."),
        valid("key rotation", "key-rotation", &enc(&key_rotation())),
        schema_case(
            "key rotation without new_key",
            "key-rotation",
            &vmap(&[
                ("name", vtext(home().as_str())),
                (
                    "old_key",
                    Value::Bytes(old.verifying_key().to_bytes().to_vec()),
                ),
                ("ts", Value::from(TS0)),
            ]),
        ),
        valid("signed key rotation", "signed-key-rotation", rotation.raw())
            .test_key()
            .note("Signed by the old key (the test key), kid chat.example.org."),
    ]
}

/// The federation family.
pub fn federation() -> VectorFile {
    let mut cases = requests();
    cases.extend(responses());
    cases.extend(methods());
    cases.extend(identity());
    VectorFile {
        family: "federation".to_owned(),
        description: "Federation (spec/federation.md): requests (payloads and signed), their \
                      addressing checks, responses, the params and result of every method, \
                      the node document and key rotation."
            .to_owned(),
        cases,
        log_cases: Vec::new(),
        json_cases: Vec::new(),
    }
}

/// Values the crate encodes, for the schema check of `spec_cddl.rs`.
pub fn samples() -> Vec<(&'static str, Vec<u8>)> {
    let log = group_log();
    let mut out: Vec<(&'static str, Vec<u8>)> = vec![
        (
            "fed-hello-params",
            enc(&HelloParams {
                versions: vec![1, 2, u32::MAX],
            }),
        ),
        (
            "fed-backfill-result",
            enc(&BackfillResult {
                events: raw(&log),
                head: 4,
            }),
        ),
        (
            "fed-state-result",
            enc(&StateResult {
                head: 1,
                id: log[0].id(),
                event: log[0].raw().to_vec(),
            }),
        ),
    ];
    for via in [JoinRoute::Public, JoinRoute::Invite] {
        out.push((
            "fed-join-params",
            enc(&JoinParams {
                user: bob(),
                txn: "x".repeat(64),
                via,
                group: Some(fed_group()),
                code: None,
            }),
        ));
    }
    for outcome in [
        PushOutcome::Applied,
        PushOutcome::Duplicate,
        PushOutcome::Rejected,
        PushOutcome::Retry,
    ] {
        out.push(("fed-push-outcome", enc(&outcome)));
    }
    for name in SUBMIT_METHODS {
        out.push((
            "fed-submit-params",
            enc(&SubmitParams {
                user: bob(),
                method: name.to_owned(),
                params: vmap(&[("txn", vtext("t"))]),
            }),
        ));
    }
    for name in method::ALL {
        let request = FedRequest {
            method: name.to_owned(),
            ..fed_request(remote(), home())
        };
        out.push(("fed-request", enc(&request)));
    }
    out
}

/// The gateway write methods `submit` carries (spec/federation.md §5.6), in the spec's order.
pub const SUBMIT_METHODS: [&str; 19] = [
    "groups.update",
    "groups.delete",
    "groups.transfer",
    "groups.leave",
    "invites.send",
    "invites.decline",
    "members.kick",
    "members.ban",
    "members.unban",
    "members.roles",
    "roles.create",
    "roles.update",
    "roles.delete",
    "msgs.post",
    "msgs.edit",
    "msgs.delete",
    "msgs.react",
    "msgs.pin",
    "msgs.forward",
];
