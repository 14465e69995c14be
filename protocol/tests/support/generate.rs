//! The vector generator: builds every `spec/vectors/*.json` file from Rust values and
//! hand-made bytes. `examples/gen_vectors.rs` writes its output to disk;
//! `tests/spec_vectors.rs` checks that the committed files equal it.
//!
//! Expectations here are written by hand, never computed by running the decoder: the tests
//! then check the crate against them.

use ciborium::Value;
use ed25519_dalek::{Signer as _, SigningKey};
use winichat_protocol::Timestamp;
use winichat_protocol::client::{ClientFrame, Push, Request, ServerFrame};
use winichat_protocol::codec;
use winichat_protocol::cose::Signed;
use winichat_protocol::error_code::{ErrorBody, ErrorCode};
use winichat_protocol::event::{Event, EventKind};
use winichat_protocol::ids::{EventId, GroupId, MediaId, NodeName, UserId};

use super::diag::diag;
use super::model::{Case, CddlExpect, Expect, LogCase, LogStep, VectorFile};

/// The published test key's seed: bytes 0x00, 0x01, … 0x1f (spec/README.md).
pub const TEST_SEED: [u8; 32] = seq_bytes(0);
/// A second key, for "signed under another key": bytes 0x20 … 0x3f.
pub const OTHER_SEED: [u8; 32] = seq_bytes(0x20);
/// A small-order point (the identity, order 1): any signature with R = identity, s = 0
/// "verifies" under it with a non-strict check.
pub const SMALL_ORDER_KEY: [u8; 32] = {
    let mut k = [0u8; 32];
    k[0] = 1;
    k
};
/// 2026-01-01T00:00:00Z in milliseconds.
pub const TS0: u64 = 1_767_225_600_000;

const fn seq_bytes(start: u8) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = start + i as u8;
        i += 1;
    }
    out
}

pub fn test_key() -> SigningKey {
    SigningKey::from_bytes(&TEST_SEED)
}

pub fn other_key() -> SigningKey {
    SigningKey::from_bytes(&OTHER_SEED)
}

pub fn test_public_hex() -> String {
    hex::encode(test_key().verifying_key().to_bytes())
}

pub fn home() -> NodeName {
    NodeName::parse("chat.example.org").expect("node")
}

pub fn remote() -> NodeName {
    NodeName::parse("remote.example.net").expect("node")
}

pub fn group() -> GroupId {
    GroupId::parse("!k3x9q2:chat.example.org").expect("group")
}

pub fn alice() -> UserId {
    UserId::parse("@alice:chat.example.org").expect("user")
}

pub fn bob() -> UserId {
    UserId::parse("@bob:remote.example.net").expect("user")
}

/// A map with text keys.
pub fn vmap(entries: &[(&str, Value)]) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(k, v)| (Value::Text((*k).to_owned()), v.clone()))
            .collect(),
    )
}

pub fn vtext(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// CBOR byte builders for hand-made (often broken) inputs. Heads are shortest unless a
/// function says otherwise.
pub mod c {
    pub fn head(major: u8, arg: u64) -> Vec<u8> {
        let m = major << 5;
        match arg {
            0..=23 => vec![m | arg as u8],
            24..=0xff => vec![m | 24, arg as u8],
            0x100..=0xffff => [&[m | 25][..], &(arg as u16).to_be_bytes()].concat(),
            0x1_0000..=0xffff_ffff => [&[m | 26][..], &(arg as u32).to_be_bytes()].concat(),
            _ => [&[m | 27][..], &arg.to_be_bytes()].concat(),
        }
    }
    pub fn u(n: u64) -> Vec<u8> {
        head(0, n)
    }
    /// The negative integer -1 - n.
    pub fn neg(n: u64) -> Vec<u8> {
        head(1, n)
    }
    pub fn t(s: &str) -> Vec<u8> {
        [head(3, s.len() as u64), s.as_bytes().to_vec()].concat()
    }
    pub fn b(bytes: &[u8]) -> Vec<u8> {
        [head(2, bytes.len() as u64), bytes.to_vec()].concat()
    }
    pub fn arr(items: &[Vec<u8>]) -> Vec<u8> {
        let mut out = head(4, items.len() as u64);
        items.iter().for_each(|i| out.extend_from_slice(i));
        out
    }
    pub fn map(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        let mut out = head(5, entries.len() as u64);
        for (k, v) in entries {
            out.extend_from_slice(k);
            out.extend_from_slice(v);
        }
        out
    }
    /// A map with text keys.
    pub fn tmap(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let owned: Vec<_> = entries.iter().map(|(k, v)| (t(k), v.clone())).collect();
        map(&owned)
    }
    pub const NULL: u8 = 0xf6;
    pub const TRUE: u8 = 0xf5;
}

fn enc<T: serde::Serialize>(value: &T) -> Vec<u8> {
    codec::encode(value).expect("encode")
}

impl Case {
    pub fn new(name: &str, rule: &str, bytes: &[u8], expect: Expect) -> Case {
        Case {
            name: name.to_owned(),
            rule: rule.to_owned(),
            note: None,
            hex: hex::encode(bytes),
            diag: diag(bytes),
            expect,
            reencoded_hex: None,
            cddl: None,
            public_key: None,
            event_id: None,
            addressed: Vec::new(),
        }
    }
    pub fn note(mut self, note: &str) -> Case {
        self.note = Some(note.to_owned());
        self
    }
    pub fn reencoded(mut self, bytes: &[u8]) -> Case {
        self.reencoded_hex = Some(hex::encode(bytes));
        self
    }
    pub fn cddl(mut self, cddl: CddlExpect) -> Case {
        self.cddl = Some(cddl);
        self
    }
    pub fn key(mut self, public: &[u8]) -> Case {
        self.public_key = Some(hex::encode(public));
        self
    }
    pub fn test_key(self) -> Case {
        let public = test_key().verifying_key().to_bytes();
        self.key(&public)
    }
}

fn valid(name: &str, rule: &str, bytes: &[u8]) -> Case {
    Case::new(name, rule, bytes, Expect::valid())
}

fn error(name: &str, rule: &str, bytes: &[u8], err: &str) -> Case {
    Case::new(name, rule, bytes, Expect::error(err))
}

fn file(family: &str, description: &str, cases: Vec<Case>) -> VectorFile {
    VectorFile {
        family: family.to_owned(),
        description: description.to_owned(),
        cases,
        log_cases: Vec::new(),
        json_cases: Vec::new(),
    }
}

/// Every vector file: `(file name, JSON text)`.
pub fn files() -> Vec<(String, String)> {
    [
        ("identifiers.json", identifiers()),
        ("encoding.json", encoding()),
        ("client.json", client()),
        ("server.json", server()),
        ("errors.json", errors()),
        ("events.json", events()),
        ("signing.json", signing()),
        ("federation.json", super::generate_federation::federation()),
        ("log.json", log()),
        ("gateway.json", super::generate_gateway::gateway()),
        ("chat.json", super::generate_chat::chat()),
        ("event-bodies.json", super::generate_chat::event_bodies()),
        ("media.json", super::generate_media::media()),
    ]
    .into_iter()
    .map(|(name, f)| {
        let mut text = serde_json::to_string_pretty(&f).expect("json");
        text.push('\n');
        (name.to_owned(), text)
    })
    .collect()
}

// ------------------------------------------------------------------------------ identifiers

fn identifiers() -> VectorFile {
    let ok = |rule: &str, text: &str| valid(&format!("{rule} {text:?}"), rule, &c::t(text));
    let bad = |rule: &str, text: &str, id_error: &str, why: &str| {
        Case::new(
            &format!("{rule} {why}"),
            rule,
            &c::t(text),
            Expect::id(id_error),
        )
    };
    let long_host = format!("{}.example", vec!["a".repeat(63); 4].join("."));
    let event_id = EventId::of_payload(b"").to_string();
    let mut cases = vec![
        ok("node-name", "chat.example.org"),
        ok("node-name", "localhost"),
        ok("node-name", "127.0.0.1:7801"),
        ok("node-name", "[::1]:7801"),
        ok("node-name", "xn--bcher-kva.example:65535"),
        bad(
            "node-name",
            "Chat.Example.org",
            "invalid_node",
            "with upper case",
        ),
        bad(
            "node-name",
            "chat.example.org.",
            "invalid_node",
            "with a trailing dot",
        ),
        bad(
            "node-name",
            "-chat.example.org",
            "invalid_node",
            "with a label starting with '-'",
        ),
        bad("node-name", "", "invalid_node", "empty"),
        bad(
            "node-name",
            "chat.example.org:0",
            "invalid_node",
            "with port 0",
        ),
        bad(
            "node-name",
            "chat.example.org:07801",
            "invalid_node",
            "with a leading zero in the port",
        ),
        bad("node-name", "chat_example.org", "invalid_node", "with '_'"),
        bad("node-name", "[::1", "invalid_node", "with an unclosed '['"),
        bad(
            "node-name",
            "chat.example.org:65536",
            "invalid_node",
            "with port 65536",
        )
        .cddl(CddlExpect::Valid)
        .note("The port range is prose only; the CDDL regexp accepts 1 to 5 digits."),
        bad(
            "node-name",
            "256.1.1.1",
            "invalid_node",
            "that is not an IPv4 address",
        )
        .cddl(CddlExpect::Valid)
        .note("An all-digit host must be a canonical IPv4 address: prose only."),
        bad(
            "node-name",
            "[0:0::1]",
            "invalid_node",
            "with a non-canonical IPv6 address",
        )
        .cddl(CddlExpect::Valid)
        .note("IPv6 must be in RFC 5952 form: prose only."),
        bad("node-name", &long_host, "too_long", "longer than 255 bytes")
            .cddl(CddlExpect::Valid)
            .note("Total length is prose only."),
        ok("user-id", "@alice:chat.example.org"),
        ok("user-id", "@a_b.c-d:127.0.0.1:7801"),
        ok("user-id", &format!("@{}:[::1]", "z".repeat(32))),
        bad(
            "user-id",
            "alice:chat.example.org",
            "missing_sigil",
            "without '@'",
        ),
        bad("user-id", "@alice", "missing_node", "without a node"),
        bad(
            "user-id",
            "@al:chat.example.org",
            "invalid_user_name",
            "with a 2-character name",
        ),
        bad(
            "user-id",
            &format!("@{}:chat.example.org", "a".repeat(33)),
            "invalid_user_name",
            "with a 33-character name",
        ),
        bad(
            "user-id",
            "@Alice:chat.example.org",
            "invalid_user_name",
            "with upper case",
        ),
        bad(
            "user-id",
            "@alice:Chat.example.org",
            "invalid_node",
            "with a bad node",
        ),
        ok("group-id", "!k3x9q2:chat.example.org"),
        ok("group-id", &format!("!{}:chat.example.org", "0".repeat(32))),
        bad(
            "group-id",
            "k3x9q2:chat.example.org",
            "missing_sigil",
            "without '!'",
        ),
        bad(
            "group-id",
            "!k3x9q:chat.example.org",
            "invalid_group_local",
            "with a 5-character local part",
        ),
        bad(
            "group-id",
            "!K3X9Q2:chat.example.org",
            "invalid_group_local",
            "with upper case",
        ),
        bad(
            "group-id",
            "!k3x_q2:chat.example.org",
            "invalid_group_local",
            "with '_'",
        ),
        bad("group-id", "!k3x9q2", "missing_node", "without a node"),
        ok("handle", "#rustaceans:chat.example.org"),
        ok("handle", "#_a1:chat.example.org"),
        ok("handle", &format!("#{}:chat.example.org", "h".repeat(51))),
        bad(
            "handle",
            "rustaceans:chat.example.org",
            "missing_sigil",
            "without '#'",
        ),
        bad(
            "handle",
            "#1rust:chat.example.org",
            "invalid_handle",
            "starting with a digit",
        ),
        bad(
            "handle",
            "#ab:chat.example.org",
            "invalid_handle",
            "of 2 characters",
        ),
        bad(
            "handle",
            &format!("#{}:chat.example.org", "h".repeat(52)),
            "invalid_handle",
            "of 52 characters",
        ),
        bad(
            "handle",
            "#rust-aceans:chat.example.org",
            "invalid_handle",
            "with '-'",
        ),
        ok("event-id", &event_id),
        bad("event-id", &event_id[1..], "missing_sigil", "without '$'"),
        bad(
            "event-id",
            &event_id[..43],
            "invalid_event_id",
            "of 42 base64 characters",
        ),
        bad(
            "event-id",
            &format!("{event_id}="),
            "invalid_event_id",
            "with padding",
        ),
        bad(
            "event-id",
            &format!("${}", "+".repeat(43)),
            "invalid_event_id",
            "in standard (not url-safe) base64",
        ),
        bad(
            "event-id",
            &format!("${}B", "A".repeat(42)),
            "invalid_event_id",
            "with non-zero trailing bits",
        ),
    ];
    let sha = seq_bytes(0xa0);
    let media = MediaId {
        node: home(),
        sha256: sha,
    };
    cases.push(
        valid("media-id", "media-id", &enc(&media))
            .note("Text form (URLs): chat.example.org/a0a1…bf, 64 lowercase hex digits."),
    );
    cases.push(error(
        "media-id with a 31-byte hash",
        "media-id",
        &c::tmap(&[
            ("node", c::t("chat.example.org")),
            ("sha256", c::b(&sha[..31])),
        ]),
        "schema",
    ));
    cases.push(error(
        "media-id with the hash as hex text",
        "media-id",
        &c::tmap(&[
            ("node", c::t("chat.example.org")),
            ("sha256", c::t(&hex::encode(sha))),
        ]),
        "schema",
    ));
    cases.push(error(
        "media-id with a bad node",
        "media-id",
        &c::tmap(&[("node", c::t("Chat")), ("sha256", c::b(&sha))]),
        "schema",
    ));
    file(
        "identifiers",
        "Identifiers as CBOR text strings (media ids as maps). Invalid cases name the IdError \
         their text form fails with.",
        cases,
    )
}

// ------------------------------------------------------------------------------ encoding

/// `{"t": "req", "id": id, "method": method, "params": params}` from raw parts.
fn req(id: &[u8], method: &[u8], params: &[u8]) -> Vec<u8> {
    c::map(&[
        (c::t("t"), c::t("req")),
        (c::t("id"), id.to_vec()),
        (c::t("method"), method.to_vec()),
        (c::t("params"), params.to_vec()),
    ])
}

/// params `{"a": <inner>}`.
fn params_a(inner: &[u8]) -> Vec<u8> {
    c::tmap(&[("a", inner.to_vec())])
}

/// `levels` arrays nested inside each other, innermost empty.
fn nested(levels: usize) -> Vec<u8> {
    let mut out = vec![0x81; levels - 1];
    out.push(0x80);
    out
}

fn auth_request() -> Vec<u8> {
    ClientFrame::Request(Request {
        id: 1,
        method: "auth".to_owned(),
        params: vmap(&[("token", vtext("access-token"))]),
    })
    .encode()
    .expect("encode")
}

fn encoding() -> VectorFile {
    let r = "client-frame";
    let frame = auth_request();
    let empty = c::map(&[]);
    let m = c::t("m");
    let cases = vec![
        error("empty input", r, &[], "truncated"),
        error(
            "truncated: last byte missing",
            r,
            &frame[..frame.len() - 1],
            "truncated",
        ),
        error(
            "truncated inside a head",
            r,
            &[
                &[0xa4][..],
                &c::t("t"),
                &c::t("req"),
                &c::t("id"),
                &[0x19, 0x01],
            ]
            .concat(),
            "truncated",
        ),
        error(
            "text string claiming 4 GiB",
            r,
            &[
                &[0xa4][..],
                &c::t("t"),
                &c::t("req"),
                &c::t("id"),
                &c::u(1),
                &c::t("method"),
                &c::head(3, 1 << 32),
            ]
            .concat(),
            "string_too_long",
        )
        .note("Refused from the head alone, before anything is read or allocated."),
        error(
            "byte string claiming 4 GiB - 1",
            r,
            &[
                &[0xa4][..],
                &c::t("t"),
                &c::t("req"),
                &c::t("id"),
                &c::u(1),
                &c::t("method"),
                &c::head(2, 0xffff_ffff),
            ]
            .concat(),
            "string_too_long",
        ),
        error(
            "text string one byte over the limit",
            r,
            &[
                &[0xa4][..],
                &c::t("t"),
                &c::t("req"),
                &c::t("id"),
                &c::u(1),
                &c::t("method"),
                &c::head(3, 65_537),
            ]
            .concat(),
            "string_too_long",
        ),
        error(
            "array claiming 4 Gi items",
            r,
            &[
                &[0xa4][..],
                &c::t("t"),
                &c::t("req"),
                &c::t("id"),
                &c::u(1),
                &c::t("method"),
                &m,
                &c::t("params"),
                &[0xa1],
                &c::t("a"),
                &c::head(4, 1 << 32),
            ]
            .concat(),
            "too_many_items",
        ),
        error(
            "map claiming 4 Gi - 1 entries",
            r,
            &c::head(5, 0xffff_ffff),
            "too_many_items",
        ),
        error(
            "array one item over the limit",
            r,
            &[
                &[0xa4][..],
                &c::t("t"),
                &c::t("req"),
                &c::t("id"),
                &c::u(1),
                &c::t("method"),
                &m,
                &c::t("params"),
                &[0xa1],
                &c::t("a"),
                &c::head(4, 1025),
            ]
            .concat(),
            "too_many_items",
        ),
        valid(
            "nesting at the depth limit (16)",
            r,
            &req(&c::u(1), &m, &params_a(&nested(14))),
        )
        .note("frame map (1) > params map (2) > 14 arrays (3..16)."),
        error(
            "nesting one level over the depth limit",
            r,
            &req(&c::u(1), &m, &params_a(&nested(15))),
            "too_deep",
        ),
        error(
            "invalid UTF-8 in a text string",
            r,
            &req(&c::u(1), &[0x62, 0xc3, 0x28], &empty),
            "invalid_utf8",
        ),
        valid(
            "largest safe integer",
            r,
            &req(&c::u((1 << 53) - 1), &m, &empty),
        ),
        error(
            "integer 2^53",
            r,
            &req(&c::u(1 << 53), &m, &empty),
            "integer_out_of_range",
        ),
        error(
            "integer 2^64 - 1",
            r,
            &req(&c::u(u64::MAX), &m, &empty),
            "integer_out_of_range",
        ),
        valid(
            "smallest safe integer",
            r,
            &req(&c::u(1), &m, &params_a(&c::neg((1 << 53) - 2))),
        ),
        error(
            "negative integer -2^53",
            r,
            &req(&c::u(1), &m, &params_a(&c::neg((1 << 53) - 1))),
            "integer_out_of_range",
        ),
        error(
            "non-canonical integer head (5 in 2 bytes)",
            r,
            &req(&[0x18, 0x05], &m, &empty),
            "non_canonical",
        ),
        error(
            "non-canonical integer head (5 in 9 bytes)",
            r,
            &req(&[0x1b, 0, 0, 0, 0, 0, 0, 0, 5], &m, &empty),
            "non_canonical",
        ),
        error(
            "non-canonical length head",
            r,
            &req(&c::u(1), &[0x78, 0x01, b'm'], &empty),
            "non_canonical",
        ),
        error(
            "duplicate key",
            r,
            &c::map(&[
                (c::t("t"), c::t("req")),
                (c::t("id"), c::u(1)),
                (c::t("id"), c::u(2)),
                (c::t("method"), m.clone()),
                (c::t("params"), empty.clone()),
            ]),
            "duplicate_key",
        ),
        error(
            "duplicate key inside params",
            r,
            &req(
                &c::u(1),
                &m,
                &c::map(&[(c::t("a"), c::u(1)), (c::t("a"), c::u(2))]),
            ),
            "duplicate_key",
        ),
        error(
            "integer map key inside params",
            r,
            &req(&c::u(1), &m, &c::map(&[(c::u(1), c::u(1))])),
            "non_text_key",
        ),
        error(
            "integer keys for fields (positional)",
            r,
            &c::map(&[
                (c::u(0), c::t("req")),
                (c::u(1), c::u(1)),
                (c::u(2), m.clone()),
                (c::u(3), empty.clone()),
            ]),
            "non_text_key",
        ),
        error(
            "indefinite-length map",
            r,
            &[
                &[0xbf][..],
                &c::t("t"),
                &c::t("req"),
                &c::t("id"),
                &c::u(1),
                &c::t("method"),
                &m,
                &c::t("params"),
                &empty,
                &[0xff],
            ]
            .concat(),
            "unsupported",
        ),
        error(
            "indefinite-length text string",
            r,
            &req(
                &c::u(1),
                &[&[0x7f][..], &c::t("m"), &[0xff]].concat(),
                &empty,
            ),
            "unsupported",
        ),
        error(
            "a tag",
            r,
            &req(&[&[0xc1][..], &c::u(5)].concat(), &m, &empty),
            "unsupported",
        ),
        error(
            "self-described CBOR tag 55799",
            r,
            &[&[0xd9, 0xd9, 0xf7][..], &frame].concat(),
            "unsupported",
        ),
        error(
            "a half-precision float",
            r,
            &req(&[0xf9, 0x3c, 0x00], &m, &empty),
            "unsupported",
        ),
        error(
            "a double-precision float in params",
            r,
            &req(
                &c::u(1),
                &m,
                &params_a(&[0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]),
            ),
            "unsupported",
        ),
        error(
            "undefined",
            r,
            &req(&c::u(1), &m, &params_a(&[0xf7])),
            "unsupported",
        ),
        error(
            "simple value 16",
            r,
            &req(&c::u(1), &m, &params_a(&[0xf0])),
            "unsupported",
        ),
        error(
            "reserved additional information 28",
            r,
            &[0x1c],
            "unsupported",
        ),
        error("a stray break", r, &[0xff], "unsupported"),
        error(
            "trailing byte",
            r,
            &[&frame[..], &[0x00]].concat(),
            "trailing_bytes",
        ),
        error(
            "two frames in one message",
            r,
            &[&frame[..], &frame].concat(),
            "trailing_bytes",
        ),
    ];
    file(
        "encoding",
        "The CBOR subset and the limits (Limits::CLIENT_FRAME), exercised through client \
         frames. Every receiver applies the same walk before decoding any message.",
        cases,
    )
}

// ------------------------------------------------------------------------------ client

fn client() -> VectorFile {
    let r = "client-frame";
    let m = c::t("m");
    let empty = c::map(&[]);
    let frame = |id: u64, method: &str, params: Value| {
        ClientFrame::Request(Request {
            id,
            method: method.to_owned(),
            params,
        })
        .encode()
        .expect("encode")
    };
    let canonical = req(&c::u(7), &c::t("ping"), &empty);
    let cases = vec![
        valid("auth request", r, &auth_request()),
        valid("request with empty params", "client-request", &frame(0, "ping", vmap(&[]))),
        valid(
            "request naming a group",
            "client-request",
            &frame(42, "group.get", vmap(&[("group", vtext(group().as_str()))])),
        ),
        valid("unknown method", r, &frame(3, "frobnicate", vmap(&[])))
            .note("Decodes; the node answers err with code unknown_method."),
        valid(
            "unknown field",
            r,
            &c::map(&[
                (c::t("t"), c::t("req")),
                (c::t("id"), c::u(7)),
                (c::t("method"), c::t("ping")),
                (c::t("params"), empty.clone()),
                (c::t("x-later"), vec![c::TRUE]),
            ]),
        )
        .reencoded(&canonical)
        .note("Unknown fields are ignored (and dropped on re-encoding)."),
        valid(
            "fields in another order",
            r,
            &c::map(&[
                (c::t("params"), empty.clone()),
                (c::t("method"), c::t("ping")),
                (c::t("id"), c::u(7)),
                (c::t("t"), c::t("req")),
            ]),
        )
        .reencoded(&canonical)
        .note("Receivers accept any field order; senders emit the order of the CDDL."),
        error("unknown frame type t", r, &c::tmap(&[("t", c::t("sub")), ("id", c::u(1))]), "schema")
            .note("An unknown t is a bad frame: the node answers err bad_request, echoing id 1 (protocol.md 3.4)."),
        error(
            "missing t",
            r,
            &c::tmap(&[("id", c::u(1)), ("method", m.clone()), ("params", empty.clone())]),
            "schema",
        ),
        error(
            "t as a number",
            r,
            &c::tmap(&[("t", c::u(1)), ("id", c::u(1)), ("method", m.clone()), ("params", empty.clone())]),
            "schema",
        ),
        error(
            "a server frame sent by a client",
            r,
            &c::tmap(&[("t", c::t("ok")), ("id", c::u(1)), ("result", vec![c::NULL])]),
            "schema",
        ),
        error(
            "missing method",
            r,
            &c::tmap(&[("t", c::t("req")), ("id", c::u(1)), ("params", empty.clone())]),
            "schema",
        ),
        error(
            "missing params",
            r,
            &c::tmap(&[("t", c::t("req")), ("id", c::u(1)), ("method", m.clone())]),
            "schema",
        ),
        error("id as text (wrong type)", r, &req(&c::t("1"), &m, &empty), "schema"),
        error("negative id", r, &req(&c::neg(0), &m, &empty), "schema"),
        error("method as a byte string", r, &req(&c::u(1), &c::b(b"m"), &empty), "schema"),
        error("params as an array", r, &req(&c::u(1), &m, &c::arr(&[])), "schema"),
        error("params null", r, &req(&c::u(1), &m, &[c::NULL]), "schema"),
        error("a frame that is an array", r, &c::arr(&[c::t("req"), c::u(1)]), "schema"),
    ];
    file(
        "client",
        "Frames from a browser to its node (WebSocket, binary, one CBOR map per message).",
        cases,
    )
}

// ------------------------------------------------------------------------------ server

fn server() -> VectorFile {
    let r = "server-frame";
    let encode = |f: ServerFrame| f.encode().expect("encode");
    let push = |cursor: Option<&str>| {
        encode(ServerFrame::Push(Push {
            event: "presence".to_owned(),
            data: vmap(&[
                ("user", vtext(alice().as_str())),
                ("state", vtext("online")),
            ]),
            cursor: cursor.map(str::to_owned),
        }))
    };
    let err_body = c::tmap(&[("code", c::t("forbidden")), ("message", c::t("no"))]);
    let cases = vec![
        valid(
            "ok with a map result",
            "server-ok",
            &encode(ServerFrame::Ok {
                id: 1,
                result: vmap(&[("user", vtext(alice().as_str()))]),
            }),
        ),
        valid(
            "ok with a null result",
            r,
            &encode(ServerFrame::Ok {
                id: 2,
                result: Value::Null,
            }),
        ),
        valid(
            "err",
            "server-err",
            &encode(ServerFrame::Err {
                id: 3,
                error: ErrorBody::new(ErrorCode::Forbidden, "You cannot post in this group."),
            }),
        ),
        valid(
            "err with an unknown code",
            "server-err",
            &encode(ServerFrame::Err {
                id: 4,
                error: ErrorBody::new(
                    ErrorCode::Unknown("quota_exceeded".to_owned()),
                    "Quota exceeded.",
                ),
            }),
        )
        .note("Unknown codes are kept; a client shows the message."),
        valid("push with a cursor", "push", &push(Some("c:17"))),
        valid("push without a cursor", "push", &push(None)),
        valid(
            "push with an unknown field",
            r,
            &c::tmap(&[
                ("t", c::t("push")),
                ("event", c::t("presence")),
                ("data", vec![c::NULL]),
                ("x-later", c::u(1)),
            ]),
        )
        .reencoded(&c::tmap(&[
            ("t", c::t("push")),
            ("event", c::t("presence")),
            ("data", vec![c::NULL]),
        ])),
        error(
            "unknown frame type t",
            r,
            &c::tmap(&[("t", c::t("ack")), ("id", c::u(1))]),
            "schema",
        )
        .note("A client ignores (and logs) a frame with an unknown t."),
        error(
            "ok without id",
            r,
            &c::tmap(&[("t", c::t("ok")), ("result", vec![c::NULL])]),
            "schema",
        ),
        error(
            "err whose error is text",
            r,
            &c::tmap(&[
                ("t", c::t("err")),
                ("id", c::u(1)),
                ("error", c::t("forbidden")),
            ]),
            "schema",
        ),
        error(
            "err without message",
            r,
            &c::tmap(&[
                ("t", c::t("err")),
                ("id", c::u(1)),
                ("error", c::tmap(&[("code", c::t("forbidden"))])),
            ]),
            "schema",
        ),
        error(
            "err with the error body as an array (fields by position)",
            r,
            &c::tmap(&[
                ("t", c::t("err")),
                ("id", c::u(1)),
                ("error", c::arr(&[c::t("forbidden"), c::t("no")])),
            ]),
            "schema",
        ),
        error(
            "frame as an array with the tag first",
            r,
            &c::arr(&[c::t("ok"), c::u(1), vec![c::NULL]]),
            "schema",
        ),
        error(
            "push with event as a byte string",
            r,
            &c::tmap(&[
                ("t", c::t("push")),
                ("event", c::b(b"presence")),
                ("data", vec![c::NULL]),
            ]),
            "schema",
        ),
        error(
            "push with a numeric cursor",
            r,
            &c::tmap(&[
                ("t", c::t("push")),
                ("event", c::t("presence")),
                ("data", vec![c::NULL]),
                ("cursor", c::u(17)),
            ]),
            "schema",
        ),
        error(
            "a request sent by a node",
            r,
            &req(&c::u(1), &c::t("m"), &c::map(&[])),
            "schema",
        ),
        valid(
            "err with id 0 (reply to a frame that did not decode)",
            "server-err",
            &c::tmap(&[("t", c::t("err")), ("id", c::u(0)), ("error", err_body)]),
        ),
    ];
    file(
        "server",
        "Frames from a node to a browser: ok, err (one per request) and push.",
        cases,
    )
}

// ------------------------------------------------------------------------------ errors

fn errors() -> VectorFile {
    let mut cases: Vec<Case> = ErrorCode::KNOWN
        .iter()
        .map(|code| {
            valid(
                &format!("error body {code}"),
                "error-body",
                &enc(&ErrorBody::new(code.clone(), "Something went wrong.")),
            )
        })
        .collect();
    cases.extend([
        valid(
            "error body with an unknown code",
            "error-body",
            &enc(&ErrorBody::new(
                ErrorCode::Unknown("teapot".to_owned()),
                "I am a teapot.",
            )),
        )
        .note("Kept as an unknown code; treated like internal by programs."),
        valid("known code", "error-code", &c::t("not_found")),
        valid("unknown code", "error-code", &c::t("teapot")),
        error("code as a number", "error-code", &c::u(404), "schema"),
        error(
            "error body with a numeric code",
            "error-body",
            &c::tmap(&[("code", c::u(404)), ("message", c::t("Not found."))]),
            "schema",
        ),
        error(
            "error body with message as a byte string",
            "error-body",
            &c::tmap(&[
                ("code", c::t("not_found")),
                ("message", c::b(b"Not found.")),
            ]),
            "schema",
        ),
        error(
            "error body without message",
            "error-body",
            &c::tmap(&[("code", c::t("not_found"))]),
            "schema",
        ),
    ]);
    file(
        "errors",
        "Error bodies (in client err frames and federation err responses) and error codes.",
        cases,
    )
}

// ------------------------------------------------------------------------------ events

pub fn body(entries: &[(&str, &str)]) -> Value {
    Value::Map(entries.iter().map(|(k, v)| (vtext(k), vtext(v))).collect())
}

pub fn create_event() -> Event {
    Event::next(
        group(),
        None,
        Timestamp(TS0),
        alice(),
        EventKind::GroupCreate,
        body(&[("name", "Rustaceans"), ("type", "public")]),
    )
}

pub fn signed(event: Event, signer: &NodeName, key: &SigningKey) -> Signed<Event> {
    Signed::sign(event, signer, key).expect("sign")
}

pub fn post_event(after: &Signed<Event>, ts: u64, text: &str) -> Event {
    Event::next(
        group(),
        Some(&after.head()),
        Timestamp(ts),
        alice(),
        EventKind::MsgPost,
        body(&[("text", text)]),
    )
}

/// An event map from parts, fields in canonical order, for hand-made variants.
fn event_map(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    c::tmap(entries)
}

fn events() -> VectorFile {
    let r = "event";
    let first = signed(create_event(), &home(), &test_key());
    let second = post_event(&first, TS0 + 1000, "hello");
    let parts = |seq: Vec<u8>, kind: Vec<u8>, body: Vec<u8>| {
        vec![
            ("group", c::t(group().as_str())),
            ("seq", seq),
            ("prev", vec![c::NULL]),
            ("ts", c::u(TS0)),
            ("sender", c::t(alice().as_str())),
            ("kind", kind),
            ("body", body),
        ]
    };
    let body_map = || c::tmap(&[("name", c::t("x"))]);
    let with = |key: &str, value: Vec<u8>| {
        let mut p = parts(c::u(1), c::t("group.create"), body_map());
        for entry in &mut p {
            if entry.0 == key {
                entry.1 = value.clone();
            }
        }
        event_map(&p)
    };
    let canonical = event_map(&parts(c::u(1), c::t("group.create"), body_map()));
    let mut unknown_field = parts(c::u(1), c::t("group.create"), body_map());
    unknown_field.push(("x-later", c::t("?")));
    let mut no_prev = parts(c::u(1), c::t("group.create"), body_map());
    no_prev.retain(|e| e.0 != "prev");
    let mut no_group = parts(c::u(1), c::t("group.create"), body_map());
    no_group.retain(|e| e.0 != "group");
    let mut unknown_kind = create_event();
    unknown_kind.kind = EventKind::parse("poll.create").expect("kind");

    let mut cases = vec![
        valid("first event (group.create, prev null)", r, &enc(&create_event())),
        valid("msg.post after it", r, &enc(&second)).note(
            "prev is the id of the signed group.create in signing.json (\"signed event\").",
        ),
        valid("unknown kind", r, &enc(&unknown_kind))
            .note("Kept as an unknown kind: stored, relayed, ignored by projections."),
        valid("unknown field", r, &event_map(&unknown_field))
            .reencoded(&canonical)
            .note("Ignored by the decoder, but kept in the signed bytes, which are what is stored, relayed and hashed."),
        error("prev absent", r, &event_map(&no_prev), "schema")
            .note("prev is required: null for the first event, an event id after it."),
        valid("seq 0 (decodes; refused by the log rules)", r, &with("seq", c::u(0))),
        error("kind without a dot", r, &with("kind", c::t("message")), "schema"),
        error("kind in upper case", r, &with("kind", c::t("Msg.post")), "schema"),
        error("kind as a number", r, &with("kind", c::u(1)), "schema"),
        error("body as an array", r, &with("body", c::arr(&[])), "schema"),
        error("body as text", r, &with("body", c::t("hello")), "schema"),
        error("negative seq", r, &with("seq", c::neg(0)), "schema"),
        error("seq 2^53", r, &with("seq", c::u(1 << 53)), "integer_out_of_range"),
        error("ts as text", r, &with("ts", c::t("2026-01-01T00:00:00Z")), "schema"),
        error("sender is a group id", r, &with("sender", c::t(group().as_str())), "schema"),
        error("malformed group", r, &with("group", c::t("!K3:chat.example.org")), "schema"),
        error("malformed prev", r, &with("prev", c::t("$abc")), "schema"),
        error("prev as bytes", r, &with("prev", c::b(&[0; 32])), "schema"),
        error("missing group", r, &event_map(&no_group), "schema"),
    ];
    for kind in EventKind::KNOWN {
        cases.push(valid(
            &format!("kind {kind:?}", kind = kind.as_str()),
            "event-kind",
            &c::t(kind.as_str()),
        ));
    }
    let long_ok = format!("a.{}", "b".repeat(62));
    let too_long = format!("a.{}", "b".repeat(63));
    cases.extend([
        valid(
            "unknown kind poll.create",
            "event-kind",
            &c::t("poll.create"),
        ),
        valid(
            "unknown kind with three segments",
            "event-kind",
            &c::t("x.y_2.z"),
        ),
        valid("unknown kind of 64 bytes", "event-kind", &c::t(&long_ok)),
        error("kind of 65 bytes", "event-kind", &c::t(&too_long), "schema")
            .cddl(CddlExpect::Valid)
            .note("The 64-byte limit is prose only."),
        error(
            "kind with an empty segment",
            "event-kind",
            &c::t("msg."),
            "schema",
        ),
        error(
            "kind with a space",
            "event-kind",
            &c::t("msg.po st"),
            "schema",
        ),
        error("empty kind", "event-kind", &c::t(""), "schema"),
    ]);
    file(
        "events",
        "Event payloads (the CBOR inside a signed event's COSE_Sign1) and event kinds.",
        cases,
    )
}

// ------------------------------------------------------------------------------ signing

/// The protected header `{1: alg, 4: kid}` as bytes.
pub fn protected(alg: i64, kid: &str) -> Vec<u8> {
    let alg = if alg < 0 {
        c::neg((-1 - alg) as u64)
    } else {
        c::u(alg as u64)
    };
    c::map(&[(c::u(1), alg), (c::u(4), c::b(kid.as_bytes()))])
}

/// A COSE_Sign1 signature over `protected` and `payload` with empty external AAD.
pub fn signature(protected: &[u8], payload: &[u8], key: &SigningKey) -> Vec<u8> {
    let tbs = c::arr(&[
        c::t("Signature1"),
        c::b(protected),
        c::b(&[]),
        c::b(payload),
    ]);
    key.sign(&tbs).to_bytes().to_vec()
}

/// `[bstr protected, unprotected, payload, bstr signature]`.
pub fn sign1(protected: &[u8], unprotected: &[u8], payload: &[u8], signature: &[u8]) -> Vec<u8> {
    c::arr(&[
        c::b(protected),
        unprotected.to_vec(),
        payload.to_vec(),
        c::b(signature),
    ])
}

/// The whole COSE_Sign1 of `payload`, properly signed, with a given protected header.
fn signed_with_header(header: &[u8], payload: &[u8], key: &SigningKey) -> Vec<u8> {
    sign1(
        header,
        &c::map(&[]),
        &c::b(payload),
        &signature(header, payload, key),
    )
}

fn signed_event_case(name: &str, s: &Signed<Event>) -> Case {
    let mut case = valid(name, "signed-event", s.raw()).test_key();
    case.event_id = Some(s.id().to_string());
    case
}

fn signing() -> VectorFile {
    let key = test_key();
    let first = signed(create_event(), &home(), &key);
    let payload = first.payload().to_vec();
    let header = protected(-19, home().as_str());
    let raw = first.raw().to_vec();
    let generic = Signed::sign(vmap(&[("hello", vtext("world"))]), &home(), &key).expect("sign");
    let hello_payload = generic.payload().to_vec();

    // One flipped payload byte: "Rustaceans" becomes "Rustaceant" (still a valid event).
    let mut flipped_payload = payload.clone();
    let at = flipped_payload
        .windows(10)
        .position(|w| w == b"Rustaceans")
        .expect("name in payload")
        + 9;
    flipped_payload[at] ^= 0x07;
    let sig = signature(&header, &payload, &key);
    let flipped = sign1(&header, &c::map(&[]), &c::b(&flipped_payload), &sig);
    let mut bad_sig = sig.clone();
    bad_sig[10] ^= 0x01;
    // s + L: the same signature with a non-reduced scalar, refused by verify_strict.
    let l: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut unreduced = sig.clone();
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(unreduced[32 + i]) + u16::from(l[i]) + carry;
        unreduced[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    let mut identity_sig = vec![0u8; 64];
    identity_sig[0] = 1;

    let cases = vec![
        signed_event_case("signed event", &first),
        valid("signed payload of any type", "cose-sign1", generic.raw())
            .test_key()
            .note("The profile with a payload that is no message: {\"hello\": \"world\"}."),
        Case::new(
            "signed under another key",
            "signed-event",
            signed(create_event(), &home(), &other_key()).raw(),
            Expect::error("bad_signature"),
        )
        .test_key()
        .cddl(CddlExpect::Valid)
        .note("Signed with the key of seed 0x20..0x3f; checked with the test key."),
        Case::new("one payload byte flipped", "signed-event", &flipped, Expect::error("bad_signature"))
            .test_key()
            .cddl(CddlExpect::Valid),
        Case::new(
            "one signature byte flipped",
            "signed-event",
            &sign1(&header, &c::map(&[]), &c::b(&payload), &bad_sig),
            Expect::error("bad_signature"),
        )
        .test_key()
        .cddl(CddlExpect::Valid),
        Case::new(
            "signature scalar not reduced (s + L)",
            "signed-event",
            &sign1(&header, &c::map(&[]), &c::b(&payload), &unreduced),
            Expect::error("bad_signature"),
        )
        .test_key()
        .cddl(CddlExpect::Valid),
        Case::new(
            "small-order public key",
            "cose-sign1",
            &sign1(&header, &c::map(&[]), &c::b(&hello_payload), &identity_sig),
            Expect::error("weak_key"),
        )
        .key(&SMALL_ORDER_KEY)
        .cddl(CddlExpect::Valid)
        .note("The key is the identity point; R = identity, s = 0 would pass a non-strict check. The key is refused before any verification."),
        Case::new(
            "a validly signed payload that is not an event",
            "signed-event",
            generic.raw(),
            Expect::payload("schema"),
        )
        .test_key()
        .cddl(CddlExpect::Invalid),
        error(
            "algorithm EdDSA (-8) instead of Ed25519 (-19)",
            "cose-sign1",
            &signed_with_header(&protected(-8, home().as_str()), &payload, &key),
            "schema",
        ),
        error(
            "protected header with a content type",
            "cose-sign1",
            &signed_with_header(
                &c::map(&[(c::u(1), c::neg(18)), (c::u(3), c::t("application/cbor")), (c::u(4), c::b(home().as_str().as_bytes()))]),
                &payload,
                &key,
            ),
            "schema",
        ),
        error(
            "kid that is not a node name",
            "cose-sign1",
            &signed_with_header(&protected(-19, "Not A Node"), &payload, &key),
            "schema",
        )
        .cddl(CddlExpect::Valid)
        .note("That the kid is a node name is prose only."),
        error(
            "unprotected header not empty",
            "cose-sign1",
            &sign1(&header, &c::map(&[(c::t("kid"), c::b(b"x"))]), &c::b(&payload), &sig),
            "schema",
        ),
        error(
            "unprotected header with an integer label",
            "cose-sign1",
            &sign1(&header, &c::map(&[(c::u(4), c::b(b"x"))]), &c::b(&payload), &sig),
            "non_text_key",
        ),
        error(
            "detached payload (null)",
            "cose-sign1",
            &sign1(&header, &c::map(&[]), &[c::NULL], &sig),
            "schema",
        ),
        error(
            "signature of 63 bytes",
            "cose-sign1",
            &sign1(&header, &c::map(&[]), &c::b(&payload), &sig[..63]),
            "schema",
        ),
        error(
            "array of 3",
            "cose-sign1",
            &c::arr(&[c::b(&header), c::map(&[]), c::b(&payload)]),
            "schema",
        ),
        error(
            "tagged COSE_Sign1 (tag 18)",
            "cose-sign1",
            &[&[0xd2][..], &raw].concat(),
            "unsupported",
        )
        .note("The profile is untagged; tags are outside the CBOR subset."),
    ];
    file(
        "signing",
        "The COSE_Sign1 profile. Signed cases give the public key to verify with; the test \
         key is the one whose seed is published in spec/README.md.",
        cases,
    )
}

// ------------------------------------------------------------------------------ log

fn step(s: &Signed<Event>, expect: Expect) -> LogStep {
    LogStep {
        rule: "signed-event".to_owned(),
        hex: hex::encode(s.raw()),
        diag: diag(s.raw()),
        event_id: s.id().to_string(),
        expect,
    }
}

fn log() -> VectorFile {
    let key = test_key();
    let sign = |e: Event| signed(e, &home(), &key);
    let e1 = sign(create_event());
    let e2 = sign(post_event(&e1, TS0 + 1000, "hello"));
    let e3 = sign(post_event(&e2, TS0 + 2000, "again"));
    let ok = Expect::valid;
    let case = |name: &str, note: Option<&str>, steps: Vec<LogStep>| LogCase {
        name: name.to_owned(),
        note: note.map(str::to_owned),
        group: group().to_string(),
        public_key: test_public_hex(),
        steps,
    };
    let mut wrong_prev = post_event(&e1, TS0 + 1000, "hello");
    wrong_prev.prev = Some(EventId::of_payload(b"not the head"));
    let mut first_with_prev = create_event();
    first_with_prev.prev = Some(EventId::of_payload(b"nothing"));
    let mut other_group = post_event(&e1, TS0 + 1000, "hello");
    other_group.group = GroupId::parse("!zzzzzz:chat.example.org").expect("group");
    let mut zero = create_event();
    zero.seq = 0;
    let same_time = sign(post_event(&e1, TS0, "same millisecond"));
    // Event::next never goes back in time, so set the time by hand.
    let mut back_in_time = post_event(&e1, TS0, "from the past");
    back_in_time.ts = Timestamp(TS0 - 1);
    let log_cases = vec![
        case(
            "in order",
            None,
            vec![step(&e1, ok()), step(&e2, ok()), step(&e3, ok())],
        ),
        case(
            "duplicate",
            Some("Drop as a duplicate; do not re-apply."),
            vec![
                step(&e1, ok()),
                step(&e2, ok()),
                step(&e2, Expect::error("already_applied")),
            ],
        ),
        case(
            "older event again",
            None,
            vec![
                step(&e1, ok()),
                step(&e2, ok()),
                step(&e1, Expect::error("already_applied")),
            ],
        ),
        case(
            "gap",
            Some("Backfill seq 2 from the home node, then apply seq 3."),
            vec![
                step(&e1, ok()),
                step(&e3, Expect::error("gap")),
                step(&e2, ok()),
                step(&e3, ok()),
            ],
        ),
        case(
            "gap before the first event",
            None,
            vec![step(&e2, Expect::error("gap"))],
        ),
        case(
            "prev mismatch",
            None,
            vec![
                step(&e1, ok()),
                step(&sign(wrong_prev), Expect::error("prev_mismatch")),
            ],
        ),
        case(
            "first event with a prev",
            None,
            vec![step(&sign(first_with_prev), Expect::error("prev_mismatch"))],
        ),
        case(
            "wrong group",
            None,
            vec![
                step(&e1, ok()),
                step(&sign(other_group), Expect::error("wrong_group")),
            ],
        ),
        case(
            "not signed by the home node",
            Some(
                "Signed with the test key but by kid remote.example.net; the group's home is chat.example.org.",
            ),
            vec![step(
                &signed(create_event(), &remote(), &key),
                Expect::error("not_signed_by_home"),
            )],
        ),
        case(
            "seq 0",
            None,
            vec![step(&sign(zero), Expect::error("zero_seq"))],
        ),
        case(
            "time going back",
            None,
            vec![
                step(&e1, ok()),
                step(&sign(back_in_time), Expect::error("time_went_back")),
            ],
        ),
        case(
            "same timestamp",
            Some("Equal times are allowed."),
            vec![step(&e1, ok()), step(&same_time, ok())],
        ),
    ];
    VectorFile {
        family: "log".to_owned(),
        description: "Sequences of signed events offered in order to a receiver with an empty \
                      log of `group`; each step gives the check_next outcome, and an accepted \
                      event becomes the head."
            .to_owned(),
        cases: Vec::new(),
        log_cases,
        json_cases: Vec::new(),
    }
}
