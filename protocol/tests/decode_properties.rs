//! Property tests for every decoder of the protocol crate.
//!
//! (a) Random bytes fed to every decoder never panic and give a typed result that agrees with
//!     the well-formedness walk.
//! (b) Valid encodings of every message type, mutated (bit flips, truncation, byte insertion
//!     and deletion, length-field inflation), fed to every decoder never panic; a mutated
//!     COSE_Sign1 never verifies.
//! (c) Every message type round-trips: encode → decode gives an equal value, the bytes pass
//!     `check_well_formed` and re-encode to the same bytes; signed values round-trip through
//!     `Signed::sign` → `UnverifiedSign1::parse` → `verify` with the same value and bytes.
//! (d) Identifiers: `Display` → `parse` round trip for valid values; arbitrary text never
//!     panics a parser.
//!
//! Plus explicit tests: 10,000 levels of nesting and 4 GiB length headers give typed errors
//! without deep recursion or large allocation.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use ciborium::Value;
use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde::Serialize;
use serde::de::DeserializeOwned;
use winichat_protocol::Timestamp;
use winichat_protocol::client::{ClientFrame, Push, Request, ServerFrame};
use winichat_protocol::codec::{self, DecodeError, Limits, MAX_SAFE_INTEGER};
use winichat_protocol::cose::{Signed, UnverifiedSign1, VerifyError};
use winichat_protocol::error_code::{ErrorBody, ErrorCode};
use winichat_protocol::event::{Event, EventKind};
use winichat_protocol::federation::{FedRequest, FedResponse};
use winichat_protocol::ids::{
    EventId, GroupId, Handle, IdError, MAX_ID_LEN, MediaId, NodeName, UserId,
};
use winichat_protocol::keys::PublicKey;

// ---------------------------------------------------------------------------------------------
// Configuration and keys

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        // No regression files in the shared tree; a failure prints its minimal input.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn public_key() -> PublicKey {
    PublicKey::of(&signing_key())
}

fn other_key() -> PublicKey {
    PublicKey::of(&SigningKey::from_bytes(&[8; 32]))
}

fn test_node() -> NodeName {
    NodeName::parse("props.example").expect("valid node name")
}

// ---------------------------------------------------------------------------------------------
// Strategies: identifiers (valid forms only)

fn dns_label() -> impl Strategy<Value = String> {
    // 1–63 characters of a-z 0-9 '-', not starting or ending with '-'.
    prop_oneof![
        "[a-z0-9]",
        "[a-z0-9][a-z0-9-]{0,8}[a-z0-9]",
        "[a-z0-9][a-z0-9-]{50,61}[a-z0-9]",
    ]
}

fn dns_host() -> impl Strategy<Value = String> {
    // The first label starts with a letter, so the host never looks like an IPv4 address.
    (
        "[a-z][a-z0-9-]{0,10}[a-z0-9]",
        prop::collection::vec(dns_label(), 0..5),
    )
        .prop_map(|(first, rest)| {
            std::iter::once(first)
                .chain(rest)
                .collect::<Vec<_>>()
                .join(".")
        })
        .prop_filter("host at most 253 bytes", |host| host.len() <= 253)
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => dns_host(),
        1 => any::<[u8; 4]>().prop_map(|b| Ipv4Addr::from(b).to_string()),
        1 => any::<[u16; 8]>().prop_map(|s| format!("[{}]", Ipv6Addr::from(s))),
    ]
}

fn node_name() -> impl Strategy<Value = NodeName> {
    (host(), prop::option::of(1u16..=65535)).prop_filter_map("node name too long", |(h, port)| {
        let text = match port {
            Some(port) => format!("{h}:{port}"),
            None => h,
        };
        (text.len() <= MAX_ID_LEN).then(|| NodeName::parse(&text).expect("generated node name"))
    })
}

fn user_id() -> impl Strategy<Value = UserId> {
    ("[a-z0-9_.-]{3,32}", node_name()).prop_filter_map("user id too long", |(name, node)| {
        UserId::new(&name, &node).ok()
    })
}

fn group_id() -> impl Strategy<Value = GroupId> {
    ("[a-z0-9]{6,32}", node_name()).prop_filter_map("group id too long", |(local, node)| {
        GroupId::new(&local, &node).ok()
    })
}

fn handle() -> impl Strategy<Value = Handle> {
    ("[_a-z][_a-z0-9]{2,50}", node_name()).prop_filter_map("handle too long", |(name, node)| {
        Handle::new(&name, &node).ok()
    })
}

fn event_id() -> impl Strategy<Value = EventId> {
    any::<[u8; 32]>().prop_map(EventId::from_hash)
}

fn media_id() -> impl Strategy<Value = MediaId> {
    (node_name(), any::<[u8; 32]>()).prop_map(|(node, sha256)| MediaId { node, sha256 })
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        Just(Timestamp(0)),
        Just(Timestamp(MAX_SAFE_INTEGER)),
        (0..=MAX_SAFE_INTEGER).prop_map(Timestamp),
    ]
}

fn safe_u64() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0), Just(MAX_SAFE_INTEGER), 0..=MAX_SAFE_INTEGER]
}

// ---------------------------------------------------------------------------------------------
// Strategies: kinds, codes, CBOR values, messages

fn event_kind() -> impl Strategy<Value = EventKind> {
    let unknown = "[a-z0-9_]{1,20}\\.[a-z0-9_]{1,20}(\\.[a-z0-9_]{1,20})?".prop_filter_map(
        "a known kind",
        |text| match EventKind::parse(&text) {
            Ok(kind @ EventKind::Unknown(_)) => Some(kind),
            _ => None,
        },
    );
    prop_oneof![select(EventKind::KNOWN), unknown]
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    let unknown =
        "(?s).{0,24}".prop_filter_map("a known code", |text| match ErrorCode::parse(&text) {
            code @ ErrorCode::Unknown(_) => Some(code),
            _ => None,
        });
    prop_oneof![select(ErrorCode::KNOWN), unknown]
}

fn error_body() -> impl Strategy<Value = ErrorBody> {
    (error_code(), "(?s).{0,40}").prop_map(|(code, message)| ErrorBody::new(code, message))
}

fn text() -> impl Strategy<Value = String> {
    "(?s).{0,24}"
}

fn cbor_leaf() -> impl Strategy<Value = Value> {
    let max = i64::try_from(MAX_SAFE_INTEGER).expect("2^53 - 1 fits i64");
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-max..=max).prop_map(|n| Value::Integer(n.into())),
        prop_oneof![
            Just(-max),
            Just(max),
            Just(23),
            Just(24),
            Just(-24),
            Just(-25)
        ]
        .prop_map(|n| Value::Integer(n.into())),
        text().prop_map(Value::Text),
        prop::collection::vec(any::<u8>(), 0..24).prop_map(Value::Bytes),
    ]
}

/// Map entries with distinct keys (keys are equal exactly when their encodings are).
fn distinct_keys(entries: Vec<(Value, Value)>) -> Vec<(Value, Value)> {
    let mut seen = HashSet::new();
    entries
        .into_iter()
        .filter(|(key, _)| seen.insert(codec::encode(key).expect("a key encodes")))
        .collect()
}

/// Any CBOR value of the protocol's subset (no floats, tags or undefined; text map keys), a
/// few levels deep.
fn cbor_value() -> impl Strategy<Value = Value> {
    cbor_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((text().prop_map(Value::Text), inner), 0..6)
                .prop_map(|entries| Value::Map(distinct_keys(entries))),
        ]
    })
}

/// As [`cbor_value`], with map keys of any type (the protected header's rule).
fn cbor_value_any_keys() -> impl Strategy<Value = Value> {
    cbor_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((inner.clone(), inner), 0..6)
                .prop_map(|entries| Value::Map(distinct_keys(entries))),
        ]
    })
}

/// The client-frame sizes with any map keys.
const ANY_KEYS: Limits = Limits {
    text_keys: false,
    ..Limits::CLIENT_FRAME
};

/// A CBOR map (what `params` and `body` must be).
fn cbor_map() -> impl Strategy<Value = Value> {
    prop::collection::vec((text().prop_map(Value::Text), cbor_value()), 0..6)
        .prop_map(|entries| Value::Map(distinct_keys(entries)))
}

fn event() -> impl Strategy<Value = Event> {
    (
        group_id(),
        safe_u64(),
        prop::option::of(event_id()),
        timestamp(),
        user_id(),
        event_kind(),
        cbor_map(),
    )
        .prop_map(|(group, seq, prev, ts, sender, kind, body)| Event {
            group,
            seq,
            prev,
            ts,
            sender,
            kind,
            body,
        })
}

fn client_frame() -> impl Strategy<Value = ClientFrame> {
    (safe_u64(), text(), cbor_map())
        .prop_map(|(id, method, params)| ClientFrame::Request(Request { id, method, params }))
}

fn server_frame() -> impl Strategy<Value = ServerFrame> {
    prop_oneof![
        (safe_u64(), cbor_value()).prop_map(|(id, result)| ServerFrame::Ok { id, result }),
        (safe_u64(), error_body()).prop_map(|(id, error)| ServerFrame::Err { id, error }),
        (text(), cbor_value(), prop::option::of(text())).prop_map(|(event, data, cursor)| {
            ServerFrame::Push(Push {
                event,
                data,
                cursor,
            })
        }),
    ]
}

fn fed_request() -> impl Strategy<Value = FedRequest> {
    (
        node_name(),
        node_name(),
        safe_u64(),
        timestamp(),
        text(),
        cbor_map(),
    )
        .prop_map(|(origin, destination, id, ts, method, params)| FedRequest {
            origin,
            destination,
            id,
            ts,
            method,
            params,
        })
}

fn fed_response() -> impl Strategy<Value = FedResponse> {
    prop_oneof![
        (safe_u64(), cbor_value()).prop_map(|(id, result)| FedResponse::Ok { id, result }),
        (safe_u64(), error_body()).prop_map(|(id, error)| FedResponse::Err { id, error }),
    ]
}

/// The valid encoding of some message of any type (signed ones as COSE_Sign1 bytes).
fn valid_encoding() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        client_frame().prop_map(|f| f.encode().expect("encodes")),
        server_frame().prop_map(|f| f.encode().expect("encodes")),
        fed_response().prop_map(|f| f.encode().expect("encodes")),
        fed_request().prop_map(|r| codec::encode(&r).expect("encodes")),
        event().prop_map(|e| codec::encode(&e).expect("encodes")),
        error_body().prop_map(|b| codec::encode(&b).expect("encodes")),
        media_id().prop_map(|m| codec::encode(&m).expect("encodes")),
        user_id().prop_map(|u| codec::encode(&u).expect("encodes")),
        event().prop_map(signed_raw),
        fed_request().prop_map(signed_raw),
    ]
}

fn signed_raw<T: Serialize>(value: T) -> Vec<u8> {
    Signed::sign(value, &test_node(), &signing_key())
        .expect("signs")
        .raw()
        .to_vec()
}

// ---------------------------------------------------------------------------------------------
// Feeding bytes to every decoder

/// `codec::decode::<T>` agrees with the walk: refused bytes fail with the walk's error,
/// accepted bytes fail (if at all) only with a schema error.
fn typed<T: DeserializeOwned + core::fmt::Debug>(bytes: &[u8], limits: &Limits) -> Option<T> {
    let walk = codec::check_well_formed(bytes, limits);
    let decoded = codec::decode::<T>(bytes, limits);
    match (&walk, &decoded) {
        (Err(walk), Err(error)) => assert_eq!(walk, error),
        (Err(walk), Ok(value)) => panic!("decoded {value:?} from bytes the walk refuses: {walk}"),
        (Ok(()), Err(error)) => {
            assert!(matches!(error, DecodeError::Schema(_)), "{error:?}");
        }
        (Ok(()), Ok(_)) => {}
    }
    decoded.ok()
}

/// Feeds `bytes` to every decoder of the crate and checks the results are typed and
/// consistent.
fn feed_all(bytes: &[u8]) {
    for limits in [
        Limits::CLIENT_FRAME,
        Limits::EVENT,
        Limits::FEDERATION_FRAME,
        Limits::PROTECTED_HEADER,
    ] {
        typed::<Value>(bytes, &limits);
    }
    let client = ClientFrame::decode(bytes);
    assert_eq!(
        client.as_ref().ok(),
        typed::<ClientFrame>(bytes, &Limits::CLIENT_FRAME).as_ref()
    );
    let server = ServerFrame::decode(bytes);
    assert_eq!(
        server.as_ref().ok(),
        typed::<ServerFrame>(bytes, &Limits::CLIENT_FRAME).as_ref()
    );
    let fed = FedResponse::decode(bytes);
    assert_eq!(
        fed.as_ref().ok(),
        typed::<FedResponse>(bytes, &Limits::FEDERATION_FRAME).as_ref()
    );
    typed::<FedRequest>(bytes, &Limits::FEDERATION_FRAME);
    typed::<Event>(bytes, &Limits::EVENT);
    typed::<ErrorBody>(bytes, &Limits::CLIENT_FRAME);
    typed::<MediaId>(bytes, &Limits::CLIENT_FRAME);
    typed::<NodeName>(bytes, &Limits::CLIENT_FRAME);
    typed::<UserId>(bytes, &Limits::CLIENT_FRAME);
    typed::<GroupId>(bytes, &Limits::CLIENT_FRAME);
    typed::<Handle>(bytes, &Limits::CLIENT_FRAME);
    typed::<EventId>(bytes, &Limits::CLIENT_FRAME);
    typed::<EventKind>(bytes, &Limits::EVENT);

    feed_cose::<Event>(bytes, &Limits::EVENT);
    feed_cose::<FedRequest>(bytes, &Limits::FEDERATION_FRAME);

    if let Some(first) = bytes.first_chunk::<32>()
        && let Ok(key) = PublicKey::from_bytes(first)
    {
        assert_eq!(&key.to_bytes(), first);
        assert!(!key.verifying_key().is_weak());
    }
    feed_text(&String::from_utf8_lossy(bytes));
}

/// Parses and verifies as a COSE_Sign1; returns whether it verified under the test key.
fn feed_cose<T: DeserializeOwned + core::fmt::Debug>(bytes: &[u8], limits: &Limits) -> bool {
    let Ok(parsed) = UnverifiedSign1::parse(bytes, limits) else {
        return false;
    };
    codec::check_well_formed(bytes, limits).expect("a parsed COSE_Sign1 is well-formed");
    assert!(matches!(
        parsed.clone().verify::<T>(&other_key(), limits),
        Err(VerifyError::BadSignature)
    ));
    match parsed.verify::<T>(&public_key(), limits) {
        Ok(signed) => {
            assert_eq!(signed.raw(), bytes);
            true
        }
        Err(_) => false,
    }
}

/// Every text parser on `text`; they must not panic, and what they accept must display as
/// `text`.
fn feed_text(text: &str) {
    fn check<T: core::fmt::Display>(text: &str, parsed: Result<T, impl core::fmt::Debug>) {
        if let Ok(id) = parsed {
            assert_eq!(id.to_string(), text);
        }
    }
    check(text, NodeName::parse(text));
    check(text, UserId::parse(text));
    check(text, GroupId::parse(text));
    check(text, Handle::parse(text));
    check(text, EventId::parse(text));
    check(text, MediaId::parse(text));
    if let Ok(kind) = EventKind::parse(text) {
        assert_eq!(kind.as_str(), text);
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(Index, u8),
    Truncate(Index),
    Insert(Index, u8),
    Delete(Index),
    /// Rewrite the length of a string, array or map head: `Index` picks the head, the
    /// `u64` is the new length (written in shortest form).
    Inflate(Index, u64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let huge = prop_oneof![
        Just(u64::from(u32::MAX)),
        Just(u64::MAX),
        Just(1 << 32),
        1u64..64,
        any::<u64>(),
    ];
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => any::<Index>().prop_map(Mutation::Delete),
        3 => (any::<Index>(), huge).prop_map(|(i, n)| Mutation::Inflate(i, n)),
    ]
}

/// A CBOR head for `major` with argument `arg`, in shortest form.
fn head(major: u8, arg: u64) -> Vec<u8> {
    let m = major << 5;
    match arg {
        0..=23 => vec![m | u8::try_from(arg).expect("small")],
        24..=0xff => vec![m | 24, u8::try_from(arg).expect("u8")],
        0x100..=0xffff => {
            let mut v = vec![m | 25];
            v.extend(u16::try_from(arg).expect("u16").to_be_bytes());
            v
        }
        0x1_0000..=0xffff_ffff => {
            let mut v = vec![m | 26];
            v.extend(u32::try_from(arg).expect("u32").to_be_bytes());
            v
        }
        _ => {
            let mut v = vec![m | 27];
            v.extend(arg.to_be_bytes());
            v
        }
    }
}

/// Offsets and lengths of the string, array and map heads in `bytes`, as far as they can be
/// found (the bytes may already be damaged).
fn length_heads(bytes: &[u8]) -> Vec<(usize, usize, u8)> {
    fn walk(
        bytes: &[u8],
        pos: &mut usize,
        depth: usize,
        out: &mut Vec<(usize, usize, u8)>,
    ) -> Option<()> {
        if depth > 32 {
            return None;
        }
        let start = *pos;
        let initial = *bytes.get(start)?;
        let (major, info) = (initial >> 5, initial & 0x1f);
        let extra = match info {
            0..=23 => 0,
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            _ => return None,
        };
        let arg = if extra == 0 {
            u64::from(info)
        } else {
            bytes
                .get(start + 1..start + 1 + extra)?
                .iter()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
        };
        *pos = start + 1 + extra;
        match major {
            2 | 3 => {
                out.push((start, 1 + extra, major));
                *pos = pos.checked_add(usize::try_from(arg).ok()?)?;
            }
            4 | 5 => {
                out.push((start, 1 + extra, major));
                let items = if major == 5 { arg.checked_mul(2)? } else { arg };
                for _ in 0..items {
                    walk(bytes, pos, depth + 1, out)?;
                }
            }
            _ => {}
        }
        Some(())
    }
    let mut out = Vec::new();
    let mut pos = 0;
    let _ = walk(bytes, &mut pos, 0, &mut out);
    out
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    match mutation {
        Mutation::FlipBit(at, bit) if !bytes.is_empty() => {
            let at = at.index(bytes.len());
            bytes[at] ^= 1 << bit;
        }
        Mutation::Truncate(keep) => {
            let keep = keep.index(bytes.len() + 1);
            bytes.truncate(keep);
        }
        Mutation::Insert(at, byte) => {
            let at = at.index(bytes.len() + 1);
            bytes.insert(at, *byte);
        }
        Mutation::Delete(at) if !bytes.is_empty() => {
            let at = at.index(bytes.len());
            bytes.remove(at);
        }
        Mutation::Inflate(which, len) => {
            let heads = length_heads(bytes);
            if !heads.is_empty() {
                let (at, old_len, major) = heads[which.index(heads.len())];
                bytes.splice(at..at + old_len, head(major, *len));
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Round-trip helpers

/// encode → bytes within `limits` → decode gives an equal value → encoding again gives the
/// same bytes.
fn round_trip<T>(
    value: &T,
    bytes: Vec<u8>,
    limits: &Limits,
    decode: fn(&[u8]) -> Result<T, DecodeError>,
) where
    T: PartialEq + core::fmt::Debug + Serialize,
{
    codec::check_well_formed(&bytes, limits).expect("the encoding is well-formed");
    let back = decode(&bytes).expect("the encoding decodes");
    assert_eq!(&back, value);
    assert_eq!(codec::encode(&back).expect("re-encodes"), bytes);
}

fn signed_round_trip<T>(value: T, signer: &NodeName, limits: &Limits)
where
    T: PartialEq + Clone + core::fmt::Debug + Serialize + DeserializeOwned,
{
    let signed = Signed::sign(value.clone(), signer, &signing_key()).expect("signs");
    assert_eq!(signed.value(), &value);
    assert_eq!(
        signed.payload(),
        codec::encode(&value).expect("encodes").as_slice()
    );
    let parsed = UnverifiedSign1::parse(signed.raw(), limits).expect("own signature parses");
    assert_eq!(parsed.signer(), signer);
    assert!(matches!(
        parsed.clone().verify::<T>(&other_key(), limits),
        Err(VerifyError::BadSignature)
    ));
    let verified = parsed.verify::<T>(&public_key(), limits).expect("verifies");
    assert_eq!(verified.raw(), signed.raw());
    assert_eq!(verified.payload(), signed.payload());
    assert_eq!(verified, signed);
}

// ---------------------------------------------------------------------------------------------
// (a) random bytes, (b) mutated encodings

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes_never_panic_any_decoder(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        feed_all(&bytes);
    }

    /// Bytes that start like CBOR maps and arrays reach deeper than uniformly random ones.
    #[test]
    fn random_cbor_shaped_bytes_never_panic_any_decoder(
        start in select(vec![0x84u8, 0xa2, 0xa3, 0xa4, 0xa6, 0xa7, 0x9f, 0xbf]),
        rest in prop::collection::vec(
            prop_oneof![any::<u8>(), select(vec![0x61u8, 0x74, 0x62, 0x69, 0x64, 0x40, 0xa0, 0xf6])],
            0..128,
        ),
    ) {
        let mut bytes = vec![start];
        bytes.extend(rest);
        feed_all(&bytes);
    }

    #[test]
    fn mutated_encodings_never_panic_any_decoder(
        original in valid_encoding(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut bytes = original.clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        feed_all(&bytes);
        // A signed message has exactly one encoding; any change breaks the signature.
        if bytes != original {
            prop_assert!(!feed_cose::<Event>(&bytes, &Limits::EVENT));
            prop_assert!(!feed_cose::<FedRequest>(&bytes, &Limits::FEDERATION_FRAME));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (c) round trips

proptest! {
    #![proptest_config(config())]

    #[test]
    fn client_frame_round_trips(frame in client_frame()) {
        let bytes = frame.encode().expect("encodes");
        round_trip(&frame, bytes, &Limits::CLIENT_FRAME, ClientFrame::decode);
    }

    #[test]
    fn server_frame_round_trips(frame in server_frame()) {
        let bytes = frame.encode().expect("encodes");
        round_trip(&frame, bytes, &Limits::CLIENT_FRAME, ServerFrame::decode);
    }

    #[test]
    fn fed_response_round_trips(response in fed_response()) {
        let bytes = response.encode().expect("encodes");
        round_trip(&response, bytes, &Limits::FEDERATION_FRAME, FedResponse::decode);
    }

    #[test]
    fn fed_request_round_trips(request in fed_request()) {
        let bytes = codec::encode(&request).expect("encodes");
        round_trip(&request, bytes, &Limits::FEDERATION_FRAME, |b| {
            codec::decode(b, &Limits::FEDERATION_FRAME)
        });
    }

    #[test]
    fn event_round_trips(event in event()) {
        let bytes = codec::encode(&event).expect("encodes");
        round_trip(&event, bytes, &Limits::EVENT, |b| codec::decode(b, &Limits::EVENT));
    }

    #[test]
    fn error_body_round_trips(body in error_body()) {
        let bytes = codec::encode(&body).expect("encodes");
        round_trip(&body, bytes, &Limits::CLIENT_FRAME, |b| codec::decode(b, &Limits::CLIENT_FRAME));
    }

    #[test]
    fn media_id_round_trips(media in media_id()) {
        let bytes = codec::encode(&media).expect("encodes");
        round_trip(&media, bytes, &Limits::CLIENT_FRAME, |b| codec::decode(b, &Limits::CLIENT_FRAME));
        prop_assert_eq!(MediaId::parse(&media.to_string()), Ok(media));
    }

    #[test]
    fn cbor_value_round_trips(value in cbor_value(), any_keys in cbor_value_any_keys()) {
        let bytes = codec::encode(&value).expect("encodes");
        round_trip(&value, bytes, &Limits::CLIENT_FRAME, |b| codec::decode(b, &Limits::CLIENT_FRAME));
        let bytes = codec::encode(&any_keys).expect("encodes");
        round_trip(&any_keys, bytes, &ANY_KEYS, |b| codec::decode(b, &ANY_KEYS));
    }

    #[test]
    fn identifiers_round_trip_through_cbor(
        node in node_name(),
        user in user_id(),
        group in group_id(),
        handle in handle(),
        id in event_id(),
        kind in event_kind(),
        ts in timestamp(),
    ) {
        let limits = Limits::CLIENT_FRAME;
        round_trip(&node, codec::encode(&node).expect("encodes"), &limits, |b| codec::decode(b, &Limits::CLIENT_FRAME));
        round_trip(&user, codec::encode(&user).expect("encodes"), &limits, |b| codec::decode(b, &Limits::CLIENT_FRAME));
        round_trip(&group, codec::encode(&group).expect("encodes"), &limits, |b| codec::decode(b, &Limits::CLIENT_FRAME));
        round_trip(&handle, codec::encode(&handle).expect("encodes"), &limits, |b| codec::decode(b, &Limits::CLIENT_FRAME));
        round_trip(&id, codec::encode(&id).expect("encodes"), &limits, |b| codec::decode(b, &Limits::CLIENT_FRAME));
        round_trip(&kind, codec::encode(&kind).expect("encodes"), &limits, |b| codec::decode(b, &Limits::CLIENT_FRAME));
        round_trip(&ts, codec::encode(&ts).expect("encodes"), &limits, |b| codec::decode(b, &Limits::CLIENT_FRAME));
    }
}

proptest! {
    // Signing and verifying are slow without optimisation: fewer cases.
    #![proptest_config(ProptestConfig { cases: 64, ..config() })]

    #[test]
    fn signed_event_round_trips(event in event(), signer in node_name()) {
        signed_round_trip(event, &signer, &Limits::EVENT);
    }

    #[test]
    fn signed_fed_request_round_trips(request in fed_request(), signer in node_name()) {
        signed_round_trip(request, &signer, &Limits::FEDERATION_FRAME);
    }
}

// ---------------------------------------------------------------------------------------------
// (d) identifiers as text

proptest! {
    #![proptest_config(config())]

    #[test]
    fn identifiers_display_parse_round_trip(
        node in node_name(),
        user in user_id(),
        group in group_id(),
        handle in handle(),
        id in event_id(),
        media in media_id(),
        kind in event_kind(),
    ) {
        prop_assert_eq!(NodeName::parse(&format!("{node}")), Ok(node.clone()));
        prop_assert_eq!(UserId::parse(&format!("{user}")), Ok(user.clone()));
        prop_assert_eq!(UserId::new(user.name(), user.node()), Ok(user.clone()));
        prop_assert_eq!(GroupId::parse(&format!("{group}")), Ok(group.clone()));
        prop_assert_eq!(Handle::parse(&format!("{handle}")), Ok(handle.clone()));
        prop_assert_eq!(Handle::new(handle.name(), handle.node()), Ok(handle.clone()));
        prop_assert_eq!(EventId::parse(&id.to_string()), Ok(id));
        prop_assert_eq!(MediaId::parse(&media.to_string()), Ok(media.clone()));
        prop_assert_eq!(EventKind::parse(kind.as_str()), Ok(kind.clone()));
        if let Some(port) = node.port() {
            prop_assert_eq!(node.to_string(), format!("{}:{port}", node.host()));
        }
    }

    #[test]
    fn arbitrary_text_never_panics_a_parser(text in any::<String>()) {
        feed_text(&text);
    }

    /// Text shaped like identifiers: sigils, colons, brackets, dots, digits.
    #[test]
    fn identifier_shaped_text_never_panics_a_parser(
        text in "[@!#$]?[a-z0-9_.:/\\[\\]-]{0,48}(:[0-9]{0,6})?",
    ) {
        feed_text(&text);
    }

    #[test]
    fn mutated_identifiers_never_panic_a_parser(
        user in user_id(),
        at in any::<Index>(),
        replacement in any::<char>(),
    ) {
        let mut chars: Vec<char> = user.to_string().chars().collect();
        let at = at.index(chars.len());
        chars[at] = replacement;
        feed_text(&chars.into_iter().collect::<String>());
    }
}

// ---------------------------------------------------------------------------------------------
// Explicit hostile inputs

const ALL_LIMITS: [Limits; 4] = [
    Limits::CLIENT_FRAME,
    Limits::EVENT,
    Limits::FEDERATION_FRAME,
    Limits::PROTECTED_HEADER,
];

/// Runs `f` on a thread with a small stack, so deep recursion would crash the test.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .expect("spawns")
        .join()
        .expect("no panic or stack overflow");
}

fn assert_too_deep(bytes: Vec<u8>) {
    on_small_stack(move || {
        let error = codec::check_well_formed(&bytes, &Limits::PROTECTED_HEADER).expect_err("big");
        assert!(
            matches!(error, DecodeError::FrameTooLarge { .. }),
            "{error:?}"
        );
        for limits in [
            Limits::CLIENT_FRAME,
            Limits::EVENT,
            Limits::FEDERATION_FRAME,
        ] {
            let error = codec::check_well_formed(&bytes, &limits).expect_err("refused");
            assert!(matches!(error, DecodeError::TooDeep { .. }), "{error:?}");
            let error = codec::decode::<Value>(&bytes, &limits).expect_err("refused");
            assert!(matches!(error, DecodeError::TooDeep { .. }), "{error:?}");
        }
        for error in [
            ClientFrame::decode(&bytes).expect_err("refused"),
            ServerFrame::decode(&bytes).expect_err("refused"),
            FedResponse::decode(&bytes).expect_err("refused"),
            codec::decode::<Event>(&bytes, &Limits::EVENT).expect_err("refused"),
            codec::decode::<FedRequest>(&bytes, &Limits::FEDERATION_FRAME).expect_err("refused"),
            UnverifiedSign1::parse(&bytes, &Limits::EVENT).expect_err("refused"),
        ] {
            assert!(matches!(error, DecodeError::TooDeep { .. }), "{error:?}");
        }
    });
}

#[test]
fn ten_thousand_nested_arrays_are_too_deep() {
    let mut bytes = vec![0x81; 10_000];
    bytes.push(0x00);
    assert_too_deep(bytes);
}

#[test]
fn ten_thousand_nested_maps_are_too_deep() {
    // {"k": {"k": … {"k": 0} …}}
    let mut bytes = [0xa1, 0x61, b'k'].repeat(10_000);
    bytes.push(0x00);
    assert_too_deep(bytes);
}

#[test]
fn ten_thousand_nested_items_inside_a_frame_are_too_deep() {
    // {"t": "req", "id": 1, "method": "m", "params": {"x": [[[…]]]}}
    let mut bytes = vec![
        0xa4, 0x61, b't', 0x63, b'r', b'e', b'q', 0x62, b'i', b'd', 0x01,
    ];
    bytes.extend([0x66, b'm', b'e', b't', b'h', b'o', b'd', 0x61, b'm']);
    bytes.extend([0x66, b'p', b'a', b'r', b'a', b'm', b's', 0xa1, 0x61, b'x']);
    bytes.extend(std::iter::repeat_n(0x81, 10_000));
    bytes.push(0x00);
    assert_too_deep(bytes);
}

#[test]
fn deeply_nested_signed_payload_is_too_deep() {
    // A valid signature over a payload nested 10,000 deep: only the payload decoder sees it.
    let mut payload = vec![0x81; 10_000];
    payload.push(0x00);
    let raw = {
        use coset::{CborSerializable, CoseSign1Builder, HeaderBuilder, iana};
        use ed25519_dalek::Signer;
        let key = signing_key();
        CoseSign1Builder::new()
            .protected(
                HeaderBuilder::new()
                    .algorithm(iana::Algorithm::Ed25519)
                    .key_id(test_node().as_str().as_bytes().to_vec())
                    .build(),
            )
            .payload(payload)
            .create_signature(&[], |tbs| key.sign(tbs).to_vec())
            .build()
            .to_vec()
            .expect("encodes")
    };
    on_small_stack(move || {
        let parsed = UnverifiedSign1::parse(&raw, &Limits::EVENT).expect("the envelope is fine");
        let error = parsed
            .verify::<Event>(&public_key(), &Limits::EVENT)
            .expect_err("refused");
        assert!(
            matches!(error, VerifyError::Payload(DecodeError::TooDeep { .. })),
            "{error:?}"
        );
    });
}

/// Heads announcing 4 GiB (and 2^64 − 1) of string or collection, alone and inside a frame.
#[test]
fn four_gib_headers_fail_fast_with_a_typed_error() {
    let heads: Vec<(Vec<u8>, bool)> = [2u8, 3, 4, 5]
        .into_iter()
        .flat_map(|major| {
            let is_string = major < 4;
            [
                (head(major, u64::from(u32::MAX)), is_string),
                (head(major, 1 << 32), is_string),
                (head(major, u64::MAX), is_string),
            ]
        })
        .collect();
    for (head_bytes, is_string) in heads {
        // Alone, and as the `params` value of a client request with a little data after it.
        let mut in_frame = vec![
            0xa4, 0x61, b't', 0x63, b'r', b'e', b'q', 0x62, b'i', b'd', 0x01,
        ];
        in_frame.extend([0x66, b'm', b'e', b't', b'h', b'o', b'd', 0x61, b'm']);
        in_frame.extend([0x66, b'p', b'a', b'r', b'a', b'm', b's']);
        in_frame.extend(&head_bytes);
        in_frame.extend([0u8; 16]);
        for bytes in [head_bytes.clone(), in_frame] {
            let started = Instant::now();
            let mut errors = Vec::new();
            for limits in ALL_LIMITS {
                errors.push(codec::check_well_formed(&bytes, &limits).expect_err("refused"));
                errors.push(codec::decode::<Value>(&bytes, &limits).expect_err("refused"));
            }
            errors.push(ClientFrame::decode(&bytes).expect_err("refused"));
            errors.push(ServerFrame::decode(&bytes).expect_err("refused"));
            errors.push(FedResponse::decode(&bytes).expect_err("refused"));
            errors.push(codec::decode::<Event>(&bytes, &Limits::EVENT).expect_err("refused"));
            errors.push(
                codec::decode::<FedRequest>(&bytes, &Limits::FEDERATION_FRAME)
                    .expect_err("refused"),
            );
            for error in errors {
                let expected = if is_string {
                    matches!(error, DecodeError::StringTooLong { .. })
                } else {
                    matches!(error, DecodeError::TooManyItems { .. })
                };
                assert!(expected, "{head_bytes:02x?}: {error:?}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "took {:?}",
                started.elapsed()
            );
        }
    }
}

#[test]
fn four_gib_signed_payload_header_fails_fast() {
    // An untagged COSE_Sign1 whose payload byte string claims 4 GiB.
    let mut bytes = vec![0x84, 0x40, 0xa0];
    bytes.extend(head(2, u64::from(u32::MAX)));
    bytes.extend([0u8; 64]);
    for limits in [Limits::EVENT, Limits::FEDERATION_FRAME] {
        let error = UnverifiedSign1::parse(&bytes, &limits).expect_err("refused");
        assert!(
            matches!(error, DecodeError::StringTooLong { .. }),
            "{error:?}"
        );
    }
}

/// Node names up to the 255-byte limit sign and verify: the protected header then needs a
/// two-byte length, which the parser must accept.
#[test]
fn longest_node_names_sign_and_verify() {
    let label = "a".repeat(63);
    for len in [249, 250, 253, 255] {
        let mut name = [label.as_str(); 4].join(".");
        name.truncate(len.min(253));
        if len > 253 {
            name.push_str(":1"); // 253 + 2 = 255 bytes
        }
        let signer = NodeName::parse(&name).expect("valid node name");
        assert_eq!(signer.as_str().len(), len);
        let event = Event::next(
            GroupId::new("abcdef", &test_node()).expect("valid"),
            None,
            Timestamp(1),
            UserId::new("alice", &test_node()).expect("valid"),
            EventKind::MsgPost,
            Value::Map(vec![]),
        );
        let signed = Signed::sign(event, &signer, &signing_key()).expect("signs");
        let verified = UnverifiedSign1::parse(signed.raw(), &Limits::EVENT)
            .expect("parses")
            .verify::<Event>(&public_key(), &Limits::EVENT)
            .expect("verifies");
        assert_eq!(verified, signed, "signer of {len} bytes");
    }
}

#[test]
fn empty_text_is_a_typed_error_for_every_parser() {
    // Every parser reports a typed IdError on empty input.
    let errors: Vec<IdError> = vec![
        NodeName::parse("").expect_err("empty"),
        UserId::parse("").expect_err("empty"),
        GroupId::parse("").expect_err("empty"),
        Handle::parse("").expect_err("empty"),
        EventId::parse("").expect_err("empty"),
        MediaId::parse("").expect_err("empty"),
    ];
    assert_eq!(errors.len(), 6);
}
