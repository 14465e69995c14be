//! Checks every vector in `spec/vectors/` against the crate (spec/README.md, "How it is
//! checked"): each decodes or fails exactly as stated, valid ones re-encode to the same bytes,
//! `diag` is the notation of `hex`, signed ones verify under the given key and re-sign to the
//! same bytes, log sequences give the stated `check_next` outcomes, and the committed files are
//! exactly what the generator writes.

mod support;

use ciborium::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;
use winichat_protocol::Timestamp;
use winichat_protocol::client::{ClientFrame, ServerFrame};
use winichat_protocol::codec::{self, Limits};
use winichat_protocol::cose::{Signed, UnverifiedSign1};
use winichat_protocol::error_code::{ErrorBody, ErrorCode};
use winichat_protocol::event::{Event, EventKind, LogHead, check_next};
use winichat_protocol::federation::{FedRequest, FedResponse};
use winichat_protocol::ids::{EventId, GroupId, Handle, MediaId, NodeName, UserId};
use winichat_protocol::keys::PublicKey;

use support::model::{Case, ErrorExpect, VectorFile};
use support::names;

fn load() -> Vec<(String, VectorFile)> {
    let dir = support::spec_dir().join("vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("spec/vectors")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read vector file");
            let file: VectorFile =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                file,
            )
        })
        .collect()
}

fn bytes(hex_text: &str) -> Vec<u8> {
    hex::decode(hex_text).expect("hex")
}

type Outcome = Result<Vec<u8>, ErrorExpect>;

fn dec<T: DeserializeOwned>(b: &[u8], limits: &Limits) -> Result<T, ErrorExpect> {
    codec::decode(b, limits).map_err(|e| names::decode_expect(&e))
}

fn enc<T: Serialize>(value: &T) -> Vec<u8> {
    codec::encode(value).expect("a decoded value re-encodes")
}

/// Decodes `b` as the identifier type; on a schema error, names the IdError its text fails with.
fn identifier<T>(
    b: &[u8],
    case: &Case,
    parse: impl Fn(&str) -> Result<T, winichat_protocol::ids::IdError>,
) -> Outcome
where
    T: DeserializeOwned + Serialize + ToString,
{
    let text_error = match ciborium::de::from_reader::<Value, _>(b) {
        Ok(Value::Text(text)) => parse(&text).err().map(|e| names::id(&e).to_owned()),
        _ => None,
    };
    let value: T = dec(b, &Limits::CLIENT_FRAME).map_err(|mut e| {
        if e.error == "schema" {
            e.id_error = text_error;
        }
        e
    })?;
    let text: Value = ciborium::de::from_reader(b).expect("cbor");
    assert_eq!(
        Value::Text(value.to_string()),
        text,
        "{}: Display is the wire text",
        case.name
    );
    Ok(enc(&value))
}

fn signed<T>(b: &[u8], case: &Case, limits: &Limits) -> Outcome
where
    T: DeserializeOwned + Serialize + Clone,
{
    let unverified = UnverifiedSign1::parse(b, limits).map_err(|e| names::decode_expect(&e))?;
    let key_bytes: [u8; 32] = bytes(
        case.public_key
            .as_deref()
            .expect("signed case has public_key"),
    )
    .try_into()
    .expect("32-byte key");
    let key = PublicKey::from_bytes(&key_bytes).map_err(|e| names::simple(names::key(&e)))?;
    let signer = unverified.signer().clone();
    let verified: Signed<T> = unverified
        .verify(&key, limits)
        .map_err(|e| names::verify_expect(&e))?;
    assert_eq!(
        verified.raw(),
        b,
        "{}: Signed keeps the received bytes",
        case.name
    );
    // Ed25519 is deterministic: signing the decoded value again gives the same bytes.
    let test_key = support::generate::test_key();
    if key_bytes == test_key.verifying_key().to_bytes() {
        let again = Signed::sign(verified.value().clone(), &signer, &test_key).expect("sign");
        return Ok(again.raw().to_vec());
    }
    Ok(b.to_vec())
}

fn check_event_id(case: &Case, b: &[u8]) {
    let Some(want) = &case.event_id else {
        return;
    };
    let parsed = UnverifiedSign1::parse(b, &Limits::EVENT).expect("parse");
    let key = PublicKey::of(&support::generate::test_key());
    let event: Signed<Event> = parsed.verify(&key, &Limits::EVENT).expect("verify");
    assert_eq!(&event.id().to_string(), want, "{}: event id", case.name);
    let recomputed = EventId::of_payload(event.payload());
    assert_eq!(
        &recomputed.to_string(),
        want,
        "{}: event id = hash of payload",
        case.name
    );
}

fn check_addressed(case: &Case, b: &[u8]) {
    if case.addressed.is_empty() {
        return;
    }
    let parsed = UnverifiedSign1::parse(b, &Limits::FEDERATION_FRAME).expect("parse");
    let key = PublicKey::of(&support::generate::test_key());
    let request: Signed<FedRequest> = parsed
        .verify(&key, &Limits::FEDERATION_FRAME)
        .expect("verify");
    for at in &case.addressed {
        let me = NodeName::parse(&at.receiver).expect("receiver");
        let got = request
            .value()
            .check_addressed(request.signer(), &me, Timestamp(at.now))
            .map_err(|e| names::simple(names::address(&e)));
        assert_eq!(
            names::as_expect(&got),
            at.expect,
            "{}: addressed at {} {}",
            case.name,
            at.receiver,
            at.now
        );
    }
}

/// Runs the decoder for `case.rule`; on success returns the re-encoded bytes.
fn run(case: &Case) -> Outcome {
    let b = bytes(&case.hex);
    let b = b.as_slice();
    match case.rule.as_str() {
        "client-frame" | "client-request" => Ok(ClientFrame::decode(b)
            .map_err(|e| names::decode_expect(&e))?
            .encode()
            .expect("encode")),
        "server-frame" | "server-ok" | "server-err" | "push" => {
            let frame = ServerFrame::decode(b).map_err(|e| names::decode_expect(&e))?;
            let form = match &frame {
                ServerFrame::Ok { .. } => "server-ok",
                ServerFrame::Err { .. } => "server-err",
                ServerFrame::Push(_) => "push",
                _ => "unknown form",
            };
            assert!(
                case.rule == "server-frame" || case.rule == form,
                "{}: decoded as {form}",
                case.name
            );
            Ok(frame.encode().expect("encode"))
        }
        "fed-response" | "fed-ok" | "fed-err" => {
            let response = FedResponse::decode(b).map_err(|e| names::decode_expect(&e))?;
            let form = match &response {
                FedResponse::Ok { .. } => "fed-ok",
                FedResponse::Err { .. } => "fed-err",
                _ => "unknown form",
            };
            assert!(
                case.rule == "fed-response" || case.rule == form,
                "{}: decoded as {form}",
                case.name
            );
            Ok(response.encode().expect("encode"))
        }
        "fed-request" => Ok(enc(&dec::<FedRequest>(b, &Limits::FEDERATION_FRAME)?)),
        "event" => {
            let event: Event = dec(b, &Limits::EVENT)?;
            check_kind_kept(&event.kind);
            Ok(enc(&event))
        }
        "event-kind" => {
            let kind: EventKind = dec(b, &Limits::CLIENT_FRAME)?;
            check_kind_kept(&kind);
            Ok(enc(&kind))
        }
        "error-body" => {
            let body: ErrorBody = dec(b, &Limits::CLIENT_FRAME)?;
            check_code_kept(&body.code);
            Ok(enc(&body))
        }
        "error-code" => {
            let code: ErrorCode = dec(b, &Limits::CLIENT_FRAME)?;
            check_code_kept(&code);
            Ok(enc(&code))
        }
        "node-name" => identifier::<NodeName>(b, case, NodeName::parse),
        "user-id" => identifier::<UserId>(b, case, UserId::parse),
        "group-id" => identifier::<GroupId>(b, case, GroupId::parse),
        "handle" => identifier::<Handle>(b, case, Handle::parse),
        "event-id" => identifier::<EventId>(b, case, EventId::parse),
        "media-id" => {
            let media: MediaId = dec(b, &Limits::CLIENT_FRAME)?;
            assert_eq!(
                MediaId::parse(&media.to_string()).as_ref(),
                Ok(&media),
                "{}: text form",
                case.name
            );
            Ok(enc(&media))
        }
        "signed-event" => signed::<Event>(b, case, &Limits::EVENT),
        "signed-fed-request" => signed::<FedRequest>(b, case, &Limits::FEDERATION_FRAME),
        "cose-sign1" => signed::<Value>(b, case, &Limits::EVENT),
        "signed-node-document" => signed_map(b, case, "node-document"),
        "signed-key-rotation" => signed_map(b, case, "key-rotation"),
        other => match support::generate_federation::decode(other, b) {
            Some(result) => result.map_err(|e| names::decode_expect(&e)),
            None => gateway_family(other, b, case),
        },
    }
}

/// The gateway, chat and media families.
fn gateway_family(rule: &str, b: &[u8], case: &Case) -> Outcome {
    if let Some(result) = support::generate_gateway::decode(rule, b) {
        return result.map_err(|e| names::decode_expect(&e));
    }
    if let Some(result) = support::generate_chat::decode(rule, b) {
        return result;
    }
    match support::generate_media::decode(rule, b) {
        Some(result) => result,
        None => panic!("{}: no decoder for rule {rule}", case.name),
    }
}

/// A COSE_Sign1 whose payload is a map of `payload_rule` (the node document and key rotation,
/// which have no type in the crate yet): verified like any signed case, then the payload's
/// shape is checked; a payload of the wrong shape is `payload` with cause `schema`.
fn signed_map(b: &[u8], case: &Case, payload_rule: &str) -> Outcome {
    let out = signed::<Value>(b, case, &Limits::EVENT)?;
    let payload = UnverifiedSign1::parse(b, &Limits::EVENT)
        .expect("parsed above")
        .verify::<Value>(&case_key(case), &Limits::EVENT)
        .expect("verified above")
        .payload()
        .to_vec();
    match support::generate_federation::decode(payload_rule, &payload) {
        Some(Ok(reencoded)) => {
            assert_eq!(reencoded, payload, "{}: payload re-encodes", case.name);
            Ok(out)
        }
        Some(Err(e)) => Err(support::model::ErrorExpect {
            error: "payload".to_owned(),
            cause: Some(names::decode(&e).to_owned()),
            id_error: None,
        }),
        None => panic!("{}: no decoder for {payload_rule}", case.name),
    }
}

fn case_key(case: &Case) -> PublicKey {
    let key_bytes: [u8; 32] = bytes(case.public_key.as_deref().expect("public_key"))
        .try_into()
        .expect("32-byte key");
    PublicKey::from_bytes(&key_bytes).expect("key")
}

/// An unknown kind is kept as `Unknown` with its text; a known one is never `Unknown`.
fn check_kind_kept(kind: &EventKind) {
    let known = EventKind::KNOWN.iter().any(|k| k.as_str() == kind.as_str());
    assert_eq!(matches!(kind, EventKind::Unknown(_)), !known, "{kind:?}");
}

fn check_code_kept(code: &ErrorCode) {
    let known = ErrorCode::KNOWN.iter().any(|k| k.as_str() == code.as_str());
    assert_eq!(matches!(code, ErrorCode::Unknown(_)), !known, "{code:?}");
}

/// Vectors the crate does not yet meet, as `(file, case name, why)`. Each is reported in
/// spec/protocol.md ("Known gaps"); the test fails as soon as the crate meets one, so the entry
/// is removed together with the fix.
const KNOWN_DEVIATIONS: &[(&str, &str, &str)] = &[];

#[test]
fn every_vector_decodes_or_fails_as_stated() {
    let mut count = 0;
    let mut failures = Vec::new();
    for (file, vectors) in load() {
        for case in &vectors.cases {
            count += 1;
            let outcome = run(case);
            let got = names::as_expect(&outcome);
            let deviation = KNOWN_DEVIATIONS
                .iter()
                .any(|(f, n, _)| *f == file && *n == case.name);
            if deviation {
                if got == case.expect {
                    failures.push(format!(
                        "{file}: {}: now meets the spec; remove it from KNOWN_DEVIATIONS",
                        case.name
                    ));
                }
                continue;
            }
            if got != case.expect {
                failures.push(format!(
                    "{file}: {}: expected {:?}, got {got:?}",
                    case.name, case.expect
                ));
                continue;
            }
            if let Ok(reencoded) = outcome {
                let want = case.reencoded_hex.as_deref().unwrap_or(&case.hex);
                if hex::encode(&reencoded) != want {
                    failures.push(format!(
                        "{file}: {}: re-encodes to {}, not {want}",
                        case.name,
                        hex::encode(&reencoded)
                    ));
                }
                let b = bytes(&case.hex);
                check_event_id(case, &b);
                check_addressed(case, &b);
            } else if case.reencoded_hex.is_some()
                || !case.addressed.is_empty()
                || case.event_id.is_some()
            {
                failures.push(format!(
                    "{file}: {}: success-only fields on an error case",
                    case.name
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} vector(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(count > 150, "only {count} vectors");
}

#[test]
fn json_vectors_decode_or_fail_as_stated() {
    let mut count = 0;
    let mut failures = Vec::new();
    for (file, vectors) in load() {
        for case in &vectors.json_cases {
            count += 1;
            let outcome = support::generate_media::decode_json(&case.rule, &case.json)
                .unwrap_or_else(|| panic!("{file}: {}: no decoder for {}", case.name, case.rule));
            let got = names::as_expect(&outcome);
            if got != case.expect {
                failures.push(format!(
                    "{file}: {}: expected {:?}, got {got:?}",
                    case.name, case.expect
                ));
            } else if let Ok(again) = outcome
                && again != case.json
            {
                failures.push(format!(
                    "{file}: {}: re-serializes to {again}, not {}",
                    case.name, case.json
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(count >= 5, "only {count} JSON vectors");
}

#[test]
fn every_diag_is_the_notation_of_its_bytes() {
    for (file, vectors) in load() {
        for case in &vectors.cases {
            let computed = support::diag::diag(&bytes(&case.hex));
            assert_eq!(computed, case.diag, "{file}: {}", case.name);
        }
        for case in &vectors.log_cases {
            for step in &case.steps {
                assert_eq!(
                    support::diag::diag(&bytes(&step.hex)),
                    step.diag,
                    "{file}: {}",
                    case.name
                );
            }
        }
    }
}

#[test]
fn log_sequences_give_the_stated_outcomes() {
    let mut count = 0;
    for (file, vectors) in load() {
        for case in &vectors.log_cases {
            let group = GroupId::parse(&case.group).expect("group");
            let key_bytes: [u8; 32] = bytes(&case.public_key).try_into().expect("32 bytes");
            let key = PublicKey::from_bytes(&key_bytes).expect("key");
            let mut head: Option<LogHead> = None;
            for (i, step) in case.steps.iter().enumerate() {
                count += 1;
                let raw = bytes(&step.hex);
                let event: Signed<Event> = UnverifiedSign1::parse(&raw, &Limits::EVENT)
                    .expect("parse")
                    .verify(&key, &Limits::EVENT)
                    .expect("every log step is validly signed");
                assert_eq!(
                    event.id().to_string(),
                    step.event_id,
                    "{file}: {} step {i}: id",
                    case.name
                );
                let got = check_next(&group, head.as_ref(), event.signer(), event.value())
                    .map_err(|e| names::simple(names::log(&e)));
                assert_eq!(
                    names::as_expect(&got),
                    step.expect,
                    "{file}: {} step {i}",
                    case.name
                );
                if got.is_ok() {
                    head = Some(event.head());
                }
            }
        }
    }
    assert!(count >= 20, "only {count} log steps");
}

#[test]
fn committed_vectors_are_the_generator_output() {
    let dir = support::spec_dir().join("vectors");
    let generated = support::generate::files();
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("spec/vectors")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    on_disk.sort();
    let mut names: Vec<String> = generated.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    assert_eq!(
        on_disk, names,
        "spec/vectors holds exactly the generated files"
    );
    for (name, text) in generated {
        let committed = std::fs::read_to_string(dir.join(&name)).expect("read");
        assert!(
            committed == text,
            "spec/vectors/{name} differs from the generator output; if the change is intended, \
             run `cargo run -p winichat-protocol --example gen_vectors` (spec/README.md)"
        );
    }
}

#[test]
fn the_published_test_key_is_the_one_in_the_readme() {
    let readme = std::fs::read_to_string(support::spec_dir().join("README.md")).expect("README");
    let seed = hex::encode(support::generate::TEST_SEED);
    let public = support::generate::test_public_hex();
    assert!(readme.contains(&seed), "README publishes the seed {seed}");
    assert!(
        readme.contains(&public),
        "README publishes the public key {public}"
    );
}

fn federation_md() -> String {
    let text = std::fs::read_to_string(support::spec_dir().join("federation.md")).expect("read");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// spec/federation.md §8 prints the `federation log-hash` of the vectors' group log; it is the
/// hash this computes from the generator's events.
#[test]
fn the_log_hash_example_in_federation_md_is_right() {
    use sha2::{Digest, Sha256};
    let log = support::generate_federation::group_log();
    let mut hasher = Sha256::new();
    for (seq, event) in (1u64..).zip(&log) {
        hasher.update(seq.to_be_bytes());
        hasher.update(
            u32::try_from(event.raw().len())
                .expect("fits")
                .to_be_bytes(),
        );
        hasher.update(event.raw());
    }
    let line = format!("`{} {}`", log.len(), hex::encode(hasher.finalize()));
    assert!(
        federation_md().contains(&line),
        "federation.md §8 gives the log hash {line}"
    );
}

/// spec/federation.md §5 has one section per method, in the crate's order, and §5.6 lists
/// exactly the gateway writes `submit` carries (as the CDDL's `fed-submit-method` does).
#[test]
fn federation_md_names_every_method_and_submit_write() {
    let spec = federation_md();
    let mut at = 0;
    for (n, name) in (1..).zip(winichat_protocol::federation::methods::method::ALL) {
        let heading = format!("### 5.{n} `{name}`");
        let found = spec[at..]
            .find(&heading)
            .unwrap_or_else(|| panic!("federation.md has `{heading}` after the previous method"));
        at += found;
    }
    let list = support::generate_federation::SUBMIT_METHODS
        .iter()
        .map(|m| format!("`{m}`"))
        .collect::<Vec<_>>()
        .join(", ");
    assert!(
        spec.contains(&format!("{list}.")),
        "federation.md §5.6 lists {list}"
    );
    let schema = std::fs::read_to_string(support::spec_dir().join("cddl/winichat.cddl"))
        .expect("schema")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let alternatives = support::generate_federation::SUBMIT_METHODS
        .iter()
        .map(|m| format!("\"{m}\""))
        .collect::<Vec<_>>()
        .join(" / ");
    assert!(
        schema.contains(&format!("fed-submit-method = {alternatives} ")),
        "the CDDL's fed-submit-method is {alternatives}"
    );
}
