//! Checks the CDDL schema (spec/cddl/winichat.cddl) against the vectors and the crate: valid
//! vectors match their rule, shape errors do not, every rule is used, every vector's rule
//! exists, and values of every message type the crate encodes match the schema.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};

use ciborium::Value;
use winichat_protocol::Timestamp;
use winichat_protocol::client::{ClientFrame, Push, Request, ServerFrame};
use winichat_protocol::codec;
use winichat_protocol::cose::Signed;
use winichat_protocol::error_code::{ErrorBody, ErrorCode};
use winichat_protocol::event::{Event, EventKind};
use winichat_protocol::federation::FedResponse;
use winichat_protocol::ids::{EventId, GroupId, Handle, MediaId, NodeName, UserId};

use support::generate::{self as g, vmap, vtext};
use support::model::{CddlExpect, VectorFile};

fn schema() -> String {
    std::fs::read_to_string(support::spec_dir().join("cddl/winichat.cddl")).expect("schema")
}

fn load() -> Vec<(String, VectorFile)> {
    let dir = support::spec_dir().join("vectors");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .expect("vectors")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read");
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, serde_json::from_str(&text).expect("vector file"))
        })
        .collect();
    out.sort_by(|a: &(String, VectorFile), b| a.0.cmp(&b.0));
    out
}

/// Validates `bytes` against `rule`. The cddl crate validates against a document's first rule,
/// so each rule gets the schema with `vector-root = <rule>` prepended; the parsed document is
/// kept per rule, since parsing dominates the cost.
fn validate(schema: &str, rule: &str, bytes: &[u8]) -> Result<(), String> {
    use cddl::validator::Validator as _;
    type Parsed = HashMap<String, &'static cddl::ast::CDDL<'static>>;
    static PARSED: OnceLock<Mutex<Parsed>> = OnceLock::new();
    let parsed = {
        let mut cache = PARSED
            .get_or_init(Default::default)
            .lock()
            .expect("cache lock");
        *cache.entry(format!("{rule}\n{schema}")).or_insert_with(|| {
            let text: &'static str =
                Box::leak(format!("vector-root = {rule}\n{schema}").into_boxed_str());
            Box::leak(Box::new(
                cddl::cddl_from_str(text, false).expect("the schema parses"),
            ))
        })
    };
    let value = cddl::validator::cbor_value::decode_cbor(bytes).map_err(|e| e.to_string())?;
    let mut validator = cddl::validator::cbor::CBORValidator::new(parsed, value, None);
    validator.validate().map_err(|e| e.to_string())
}

/// Validates a JSON document against `rule` (the HTTP API's JSON, `json_cases`).
fn validate_json(schema: &str, rule: &str, json: &serde_json::Value) -> Result<(), String> {
    let text = format!("vector-root = {rule}\n{schema}");
    cddl::validate_json_from_str(&text, &json.to_string(), None).map_err(|e| e.to_string())
}

/// Rule names defined in the schema, with the text of each definition (comments and string
/// literals removed).
fn rules(schema: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in schema.lines() {
        let code = strip(line);
        let starts_rule = !line.starts_with([' ', '\t', ';']) && code.contains('=');
        if starts_rule {
            let (name, body) = code.split_once('=').expect("=");
            out.push((name.trim().to_owned(), body.to_owned()));
        } else if let Some(last) = out.last_mut() {
            last.1.push(' ');
            last.1.push_str(&code);
        }
    }
    out
}

/// A line without its comment and without the contents of string literals.
fn strip(line: &str) -> String {
    let mut out = String::new();
    let mut in_string = false;
    let mut escaped = false;
    for ch in line.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' {
                in_string = false;
                out.push('"');
            }
            continue;
        }
        match ch {
            ';' => break,
            '"' => {
                in_string = true;
                out.push('"');
            }
            c => out.push(c),
        }
    }
    out
}

#[test]
fn vectors_match_the_schema_as_stated() {
    let schema = schema();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (file, vectors) in load() {
        for case in &vectors.cases {
            let want = case.cddl.or(match case.expect.error_name() {
                None => Some(CddlExpect::Valid),
                // A body that does not fit its kind (event-bodies.json) is a shape error too.
                Some("schema" | "body") => Some(CddlExpect::Invalid),
                Some(_) => None,
            });
            let Some(want) = want else { continue };
            checked += 1;
            let got = validate(&schema, &case.rule, &hex::decode(&case.hex).expect("hex"));
            match (want, got) {
                (CddlExpect::Valid, Err(e)) => failures.push(format!(
                    "{file}: {}: does not match {}: {e}",
                    case.name, case.rule
                )),
                (CddlExpect::Invalid, Ok(())) => failures.push(format!(
                    "{file}: {}: matches {} but should not",
                    case.name, case.rule
                )),
                _ => {}
            }
        }
        for case in &vectors.log_cases {
            for step in &case.steps {
                checked += 1;
                if let Err(e) = validate(&schema, &step.rule, &hex::decode(&step.hex).expect("hex"))
                {
                    failures.push(format!("{file}: {}: {e}", case.name));
                }
            }
        }
        for case in &vectors.json_cases {
            checked += 1;
            let got = validate_json(&schema, &case.rule, &case.json);
            match (case.expect.is_valid(), got) {
                (true, Err(e)) => failures.push(format!(
                    "{file}: {}: does not match {}: {e}",
                    case.name, case.rule
                )),
                (false, Ok(())) => failures.push(format!(
                    "{file}: {}: matches {} but should not",
                    case.name, case.rule
                )),
                _ => {}
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 150, "only {checked} checked");
}

#[test]
fn every_rule_is_used_and_every_vector_rule_exists() {
    let schema = schema();
    let rules = rules(&schema);
    let names: BTreeSet<&str> = rules.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.len() > 25, "parsed only {names:?}");
    let mut used: BTreeSet<String> = BTreeSet::new();
    for (file, vectors) in load() {
        for rule in vectors
            .cases
            .iter()
            .map(|c| &c.rule)
            .chain(
                vectors
                    .log_cases
                    .iter()
                    .flat_map(|c| c.steps.iter().map(|s| &s.rule)),
            )
            .chain(vectors.json_cases.iter().map(|c| &c.rule))
        {
            assert!(
                names.contains(rule.as_str()),
                "{file}: rule {rule} is not in the schema"
            );
            used.insert(rule.clone());
        }
    }
    for (name, _) in &rules {
        let referenced = rules.iter().any(|(other, body)| {
            other != name
                && body
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                    .any(|word| word == name)
        });
        assert!(
            used.contains(name) || referenced,
            "rule {name} is used by no vector and no other rule"
        );
    }
}

#[test]
fn messages_the_crate_encodes_match_the_schema() {
    let schema = schema();
    let key = g::test_key();
    let first = g::signed(g::create_event(), &g::home(), &key);
    let mut samples: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut add = |rule: &'static str, bytes: Vec<u8>| samples.push((rule, bytes));

    for (id, method, params) in [
        (0, "auth", vmap(&[("token", vtext("t"))])),
        (
            (1 << 53) - 1,
            "msg.post",
            vmap(&[("text", vtext("hi")), ("n", Value::Integer((-5).into()))]),
        ),
        (
            9,
            "ping",
            Value::Map(vec![(Value::Text("k".into()), Value::Bytes(vec![1, 2]))]),
        ),
    ] {
        let frame = ClientFrame::Request(Request {
            id,
            method: method.to_owned(),
            params,
        });
        add("client-frame", frame.encode().expect("encode"));
    }
    for frame in [
        ServerFrame::Ok {
            id: 1,
            result: Value::Array(vec![Value::Bool(true), Value::Null]),
        },
        ServerFrame::Ok {
            id: 2,
            result: Value::Integer(3.into()),
        },
        ServerFrame::Err {
            id: 3,
            error: ErrorBody::new(ErrorCode::NotFound, "No such group."),
        },
        ServerFrame::Push(Push {
            event: "event".to_owned(),
            data: Value::Bytes(first.raw().to_vec()),
            cursor: Some("c1".to_owned()),
        }),
        ServerFrame::Push(Push {
            event: "presence".to_owned(),
            data: vmap(&[]),
            cursor: None,
        }),
    ] {
        add("server-frame", frame.encode().expect("encode"));
    }
    for code in ErrorCode::KNOWN
        .iter()
        .cloned()
        .chain([ErrorCode::Unknown("later".to_owned())])
    {
        let body = ErrorBody::new(code.clone(), "message");
        add("error-body", codec::encode(&body).expect("encode"));
        add("error-code", codec::encode(&code).expect("encode"));
        let response = FedResponse::Err { id: 1, error: body };
        add("fed-response", response.encode().expect("encode"));
    }
    add(
        "fed-response",
        FedResponse::Ok {
            id: 0,
            result: Value::Null,
        }
        .encode()
        .expect("encode"),
    );

    let mut head = None;
    for kind in EventKind::KNOWN
        .iter()
        .cloned()
        .chain([EventKind::parse("poll.vote").expect("kind")])
    {
        let event = Event::next(
            g::group(),
            head.as_ref(),
            Timestamp(g::TS0),
            g::bob(),
            kind.clone(),
            g::body(&[("k", "v")]),
        );
        add("event", codec::encode(&event).expect("encode"));
        add("event-kind", codec::encode(&kind).expect("encode"));
        let signed = Signed::sign(event, &g::home(), &key).expect("sign");
        add("signed-event", signed.raw().to_vec());
        add("cose-sign1", signed.raw().to_vec());
        head = Some(signed.head());
    }
    let request = support::generate_federation::fed_request(g::home(), g::remote());
    add("fed-request", codec::encode(&request).expect("encode"));
    let signed_request =
        Signed::sign(request, &NodeName::parse("[::1]:7801").expect("node"), &key).expect("sign");
    add("signed-fed-request", signed_request.raw().to_vec());

    for node in [
        "chat.example.org",
        "127.0.0.1",
        "[2001:db8::1]:443",
        "a-b.c9:1",
    ] {
        add(
            "node-name",
            codec::encode(&NodeName::parse(node).expect("node")).expect("encode"),
        );
    }
    add("user-id", codec::encode(&g::alice()).expect("encode"));
    add(
        "user-id",
        codec::encode(&UserId::parse("@x.y-z_:[::1]").expect("user")).expect("encode"),
    );
    add(
        "group-id",
        codec::encode(&GroupId::new("abc123", &g::remote()).expect("group")).expect("encode"),
    );
    add(
        "handle",
        codec::encode(&Handle::new("_rust", &g::home()).expect("handle")).expect("encode"),
    );
    for payload in [&b""[..], b"a", b"ab", b"abc", first.payload()] {
        add(
            "event-id",
            codec::encode(&EventId::of_payload(payload)).expect("encode"),
        );
    }
    add(
        "media-id",
        codec::encode(&MediaId {
            node: g::home(),
            sha256: [7; 32],
        })
        .expect("encode"),
    );
    add(
        "timestamp",
        codec::encode(&Timestamp(g::TS0)).expect("encode"),
    );
    add(
        "uint-safe",
        codec::encode(&winichat_protocol::codec::MAX_SAFE_INTEGER).expect("encode"),
    );

    samples.extend(support::generate_chat::samples());
    samples.extend(support::generate_media::samples());
    samples.extend(support::generate_federation::samples());

    let failures: Vec<String> = samples
        .iter()
        .filter_map(|(rule, bytes)| {
            validate(&schema, rule, bytes)
                .err()
                .map(|e| format!("{rule} {}: {e}", hex::encode(bytes)))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
