//! The `media.json` vectors: media references (spec/media.md) — the attachments a `msg.post`
//! body carries, the attachment inputs of `msgs.post`, `media.urls` — and, as JSON cases, the
//! result of `POST /api/media`; with the decoders the spec tests use for their rules.
//!
//! A case that decodes but breaks a limit the schema does not express (checked by
//! `Attachment::check`, `AttachmentInput::check` or `MediaUrlsParams::check`) is the error
//! `limit`.

use ciborium::Value;
use sha2::{Digest as _, Sha256};
use winichat_protocol::Timestamp;
use winichat_protocol::codec::{self, Limits};
use winichat_protocol::ids::MediaId;
use winichat_protocol::media::{
    Attachment, AttachmentInput, MAX_DURATION_MS, MAX_FILE_NAME_CHARS, MAX_URL_ITEMS,
    MAX_WAVEFORM_SAMPLES, MIN_WAVEFORM_SAMPLES, MediaInfo, MediaKind, MediaUrlRequest, MediaUrls,
    MediaUrlsParams,
};

use super::generate::{TS0, home, vmap, vtext};
use super::model::{Case, CddlExpect, ErrorExpect, Expect, JsonCase, VectorFile};
use super::names;

/// The CDDL rules of this family, each decoded by [`decode`] (`media-info` is JSON: see
/// [`decode_json`]).
pub const RULES: &[&str] = &[
    "media-kind",
    "attachment",
    "attachment-input",
    "media-url-request",
    "media-urls-params",
    "media-urls",
];

fn dec_value<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T, ErrorExpect> {
    codec::decode(b, &Limits::CLIENT_FRAME).map_err(|e| names::decode_expect(&e))
}

fn reenc<T: serde::Serialize>(value: &T) -> Vec<u8> {
    codec::encode(value).expect("a decoded value re-encodes")
}

fn limit<E>(r: Result<(), E>) -> Result<(), ErrorExpect> {
    r.map_err(|_| names::simple("limit"))
}

/// Decodes `b` as the type of `rule`, runs its limit checks and re-encodes it; `None` for a
/// rule not of this family.
pub fn decode(rule: &str, b: &[u8]) -> Option<Result<Vec<u8>, ErrorExpect>> {
    Some(match rule {
        "media-kind" => dec_value::<MediaKind>(b).map(|k| reenc(&k)),
        "attachment" => dec_value::<Attachment>(b).and_then(|a| {
            limit(a.check())?;
            Ok(reenc(&a))
        }),
        "attachment-input" => dec_value::<AttachmentInput>(b).and_then(|a| {
            limit(a.check())?;
            Ok(reenc(&a))
        }),
        "media-url-request" => dec_value::<MediaUrlRequest>(b).and_then(|r| {
            let one = MediaUrlsParams {
                items: vec![r.clone()],
            };
            limit(one.check())?;
            Ok(reenc(&r))
        }),
        "media-urls-params" => dec_value::<MediaUrlsParams>(b).and_then(|p| {
            limit(p.check())?;
            Ok(reenc(&p))
        }),
        "media-urls" => dec_value::<MediaUrls>(b).map(|u| reenc(&u)),
        _ => return None,
    })
}

/// Decodes a JSON case of `rule`; on success, the value it re-serializes to.
pub fn decode_json(
    rule: &str,
    json: &serde_json::Value,
) -> Option<Result<serde_json::Value, ErrorExpect>> {
    Some(match rule {
        "media-info" => serde_json::from_value::<MediaInfo>(json.clone())
            .map(|info| serde_json::to_value(&info).expect("a decoded value re-serializes"))
            .map_err(|_| names::simple("schema")),
        _ => return None,
    })
}

// ------------------------------------------------------------------------------ fixtures

fn enc<T: serde::Serialize>(value: &T) -> Vec<u8> {
    codec::encode(value).expect("encode")
}

fn val<T: serde::Serialize>(value: &T) -> Value {
    Value::serialized(value).expect("value")
}

fn valid(name: &str, rule: &str, bytes: &[u8]) -> Case {
    Case::new(name, rule, bytes, Expect::valid())
}

fn schema(name: &str, rule: &str, value: &Value) -> Case {
    Case::new(name, rule, &enc(value), Expect::error("schema"))
}

/// Well-formed, of the right shape, refused by a limit check; `cddl` says whether the schema
/// catches it too.
fn over(name: &str, rule: &str, value: &Value, cddl: CddlExpect) -> Case {
    Case::new(name, rule, &enc(value), Expect::error("limit")).cddl(cddl)
}

/// A media id on the test node: the SHA-256 of `content`.
pub fn media_id(content: &str) -> MediaId {
    MediaId {
        node: home(),
        sha256: Sha256::digest(content.as_bytes()).into(),
    }
}

/// A photo as a `msg.post` body carries it.
pub fn photo() -> Attachment {
    Attachment {
        media: media_id("beach.jpg"),
        kind: MediaKind::Image,
        mime: "image/jpeg".to_owned(),
        size: 284_311,
        name: Some("beach.jpg".to_owned()),
        width: Some(1600),
        height: Some(1200),
        duration_ms: None,
        blurhash: Some("LEHV6nWB2yk8pyo0adR*.7kCMdnj".to_owned()),
        waveform: None,
        poster: None,
    }
}

/// A waveform of `n` samples rising and falling.
pub fn wave(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 37) % 256) as u8).collect()
}

/// A voice message.
pub fn voice() -> Attachment {
    Attachment {
        media: media_id("voice.webm"),
        kind: MediaKind::Voice,
        mime: "audio/webm".to_owned(),
        size: 18_734,
        name: None,
        width: None,
        height: None,
        duration_ms: Some(4_250),
        blurhash: None,
        waveform: Some(wave(32)),
        poster: None,
    }
}

/// A video with its poster frame.
pub fn video() -> Attachment {
    Attachment {
        media: media_id("clip.mp4"),
        kind: MediaKind::Video,
        mime: "video/mp4".to_owned(),
        size: 1_048_576,
        name: Some("clip.mp4".to_owned()),
        width: Some(1280),
        height: Some(720),
        duration_ms: Some(2_000),
        blurhash: Some("00TSUA".to_owned()),
        waveform: None,
        poster: Some(media_id("clip-poster.jpg")),
    }
}

/// A file served only as a download.
pub fn file() -> Attachment {
    Attachment {
        media: media_id("report.pdf"),
        kind: MediaKind::File,
        mime: "application/octet-stream".to_owned(),
        size: 52_000,
        name: Some("report 2026.pdf".to_owned()),
        width: None,
        height: None,
        duration_ms: None,
        blurhash: None,
        waveform: None,
        poster: None,
    }
}

fn input(content: &str) -> AttachmentInput {
    AttachmentInput {
        media: media_id(content),
        name: None,
        voice: false,
        waveform: None,
        duration_ms: None,
        poster: None,
    }
}

/// A voice message as `msgs.post` asks for it.
pub fn voice_input() -> AttachmentInput {
    AttachmentInput {
        voice: true,
        waveform: Some(wave(32)),
        duration_ms: Some(4_250),
        ..input("voice.webm")
    }
}

/// `value` (a map) with `key` set to `new`.
fn with(value: &Value, key: &str, new: Value) -> Value {
    let Value::Map(entries) = value else {
        panic!("a map")
    };
    let mut entries: Vec<(Value, Value)> = entries
        .iter()
        .filter(|(k, _)| k.as_text() != Some(key))
        .cloned()
        .collect();
    entries.push((vtext(key), new));
    Value::Map(entries)
}

/// `value` (a map) without `key`.
fn without(value: &Value, key: &str) -> Value {
    let Value::Map(entries) = value else {
        panic!("a map")
    };
    Value::Map(
        entries
            .iter()
            .filter(|(k, _)| k.as_text() != Some(key))
            .cloned()
            .collect(),
    )
}

// ------------------------------------------------------------------------------ the family

#[allow(clippy::too_many_lines)]
fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    // media-kind
    for kind in ["image", "audio", "voice", "video", "file"] {
        cases.push(valid(
            &format!("kind {kind}"),
            "media-kind",
            &enc(&vtext(kind)),
        ));
    }
    cases.push(
        schema("an unknown kind", "media-kind", &vtext("sticker"))
            .note("A kind is one of the five; a reader that meets another refuses the attachment."),
    );
    cases.push(schema("a kind in capitals", "media-kind", &vtext("Image")));

    // attachment
    let p = val(&photo());
    let v = val(&voice());
    let a = val(&Attachment {
        kind: MediaKind::Audio,
        mime: "audio/ogg".to_owned(),
        waveform: None,
        ..voice()
    });
    cases.extend([
        valid("a photo", "attachment", &enc(&photo())),
        valid("a voice message", "attachment", &enc(&voice())),
        valid("a video with a poster", "attachment", &enc(&video())),
        valid("a file", "attachment", &enc(&file())),
        valid(
            "the smallest attachment",
            "attachment",
            &enc(&Attachment {
                name: None,
                ..file()
            }),
        )
        .note("media, kind, mime and size are all a reader needs."),
        valid(
            "a voice message of 16 samples",
            "attachment",
            &enc(&Attachment {
                waveform: Some(wave(MIN_WAVEFORM_SAMPLES)),
                ..voice()
            }),
        ),
        valid(
            "a voice message of 256 samples",
            "attachment",
            &enc(&Attachment {
                waveform: Some(wave(MAX_WAVEFORM_SAMPLES)),
                ..voice()
            }),
        ),
        valid(
            "a name of 255 characters",
            "attachment",
            &enc(&Attachment {
                name: Some("é".repeat(MAX_FILE_NAME_CHARS)),
                ..file()
            }),
        ),
        valid(
            "a video of 24 hours",
            "attachment",
            &enc(&Attachment {
                duration_ms: Some(MAX_DURATION_MS),
                ..video()
            }),
        ),
        valid(
            "an attachment with an unknown field",
            "attachment",
            &enc(&with(&p, "caption", vtext("sunset"))),
        )
        .reencoded(&enc(&photo()))
        .note("Unknown fields are ignored and dropped."),
        schema(
            "a waveform as an array of integers",
            "attachment",
            &with(
                &v,
                "waveform",
                Value::Array((0..16).map(|i| Value::from(i * 10)).collect()),
            ),
        )
        .note("A waveform is a byte string."),
        schema(
            "an attachment without a mime type",
            "attachment",
            &without(&p, "mime"),
        ),
        schema(
            "an attachment of an unknown kind",
            "attachment",
            &with(&p, "kind", vtext("sticker")),
        ),
        schema(
            "a media id in text form",
            "attachment",
            &with(&p, "media", vtext(&media_id("beach.jpg").to_string())),
        )
        .note("In CBOR a media id is the map {node, sha256}; the text form is for URLs and JSON."),
        schema(
            "a negative size",
            "attachment",
            &with(&p, "size", Value::from(-1)),
        ),
        over(
            "a name with a slash",
            "attachment",
            &with(&p, "name", vtext("../../etc/passwd")),
            CddlExpect::Valid,
        )
        .note("prose: a file name has no '/' or '\\'."),
        over(
            "a name with a control character",
            "attachment",
            &with(&p, "name", vtext("beach\u{0}.jpg")),
            CddlExpect::Valid,
        )
        .note("prose: a file name has no control characters."),
        over(
            "a name with a right-to-left override",
            "attachment",
            &with(&p, "name", vtext("photo\u{202E}gpj.exe")),
            CddlExpect::Valid,
        )
        .note("prose: it would show as photoexe.jpg."),
        over(
            "a name with ..",
            "attachment",
            &with(&p, "name", vtext("beach..jpg")),
            CddlExpect::Valid,
        )
        .note("prose: no '..' anywhere in a file name."),
        over(
            "a name of 256 characters",
            "attachment",
            &with(&p, "name", vtext(&"a".repeat(MAX_FILE_NAME_CHARS + 1))),
            CddlExpect::Valid,
        )
        .note("prose: at most 255 characters (the schema bounds the bytes only)."),
        over(
            "an empty name",
            "attachment",
            &with(&p, "name", vtext("")),
            CddlExpect::Invalid,
        ),
        over(
            "a waveform of 15 samples",
            "attachment",
            &with(&v, "waveform", Value::Bytes(wave(MIN_WAVEFORM_SAMPLES - 1))),
            CddlExpect::Invalid,
        ),
        over(
            "a waveform of 257 samples",
            "attachment",
            &with(&v, "waveform", Value::Bytes(wave(MAX_WAVEFORM_SAMPLES + 1))),
            CddlExpect::Invalid,
        ),
        over(
            "a voice message without a waveform",
            "attachment",
            &without(&v, "waveform"),
            CddlExpect::Valid,
        )
        .note("prose: a voice message has a waveform."),
        over(
            "a waveform on audio",
            "attachment",
            &with(&a, "waveform", Value::Bytes(wave(32))),
            CddlExpect::Valid,
        )
        .note("prose: only a voice message has a waveform."),
        over(
            "a poster on audio",
            "attachment",
            &with(&a, "poster", val(&media_id("cover.jpg"))),
            CddlExpect::Valid,
        )
        .note("prose: only a video has a poster."),
        over(
            "a duration over 24 hours",
            "attachment",
            &with(
                &val(&video()),
                "duration_ms",
                Value::from(MAX_DURATION_MS + 1),
            ),
            CddlExpect::Invalid,
        ),
        over(
            "a blurhash with a space",
            "attachment",
            &with(&p, "blurhash", vtext("LEHV6nWB2yk8 yo0adR*.7kCMdnj")),
            CddlExpect::Invalid,
        ),
        over(
            "a blurhash of the wrong length",
            "attachment",
            &with(&p, "blurhash", vtext("LEHV6nWB2yk8pyo0adR*.7kCM")),
            CddlExpect::Valid,
        )
        .note("prose: 'L' means 4×3 components, so 4 + 2·12 = 28 characters."),
        over(
            "a width of 0",
            "attachment",
            &with(&p, "width", Value::from(0)),
            CddlExpect::Invalid,
        ),
        over(
            "an empty mime type",
            "attachment",
            &with(&p, "mime", vtext("")),
            CddlExpect::Invalid,
        ),
    ]);

    // attachment-input
    let vi = val(&voice_input());
    cases.extend([
        valid(
            "attach an upload",
            "attachment-input",
            &enc(&input("beach.jpg")),
        ),
        valid(
            "attach a file with its name",
            "attachment-input",
            &enc(&AttachmentInput {
                name: Some("report 2026.pdf".to_owned()),
                ..input("report.pdf")
            }),
        ),
        valid(
            "attach a voice message",
            "attachment-input",
            &enc(&voice_input()),
        ),
        valid(
            "attach a video with its poster",
            "attachment-input",
            &enc(&AttachmentInput {
                poster: Some(media_id("clip-poster.jpg")),
                duration_ms: Some(2_000),
                ..input("clip.mp4")
            }),
        ),
        valid(
            "voice false written out",
            "attachment-input",
            &enc(&with(
                &val(&input("beach.jpg")),
                "voice",
                Value::Bool(false),
            )),
        )
        .reencoded(&enc(&input("beach.jpg")))
        .note("false is the default; senders omit it."),
        schema(
            "attach without a media id",
            "attachment-input",
            &vmap(&[("name", vtext("beach.jpg"))]),
        ),
        schema(
            "voice as an integer",
            "attachment-input",
            &with(&vi, "voice", Value::from(1)),
        ),
        over(
            "voice without a waveform",
            "attachment-input",
            &without(&vi, "waveform"),
            CddlExpect::Valid,
        )
        .note("prose: voice exactly with a waveform."),
        over(
            "a waveform without voice",
            "attachment-input",
            &without(&vi, "voice"),
            CddlExpect::Valid,
        )
        .note("prose: voice exactly with a waveform."),
        over(
            "voice with a waveform of 15 samples",
            "attachment-input",
            &with(
                &vi,
                "waveform",
                Value::Bytes(wave(MIN_WAVEFORM_SAMPLES - 1)),
            ),
            CddlExpect::Invalid,
        ),
        over(
            "voice with a poster",
            "attachment-input",
            &with(&vi, "poster", val(&media_id("cover.jpg"))),
            CddlExpect::Valid,
        )
        .note("prose: no poster on a voice message."),
        over(
            "a name with a backslash",
            "attachment-input",
            &with(&val(&input("report.pdf")), "name", vtext("..\\boot.ini")),
            CddlExpect::Valid,
        )
        .note("prose: a file name has no '/' or '\\'."),
        over(
            "a duration over 24 hours",
            "attachment-input",
            &with(&vi, "duration_ms", Value::from(MAX_DURATION_MS + 1)),
            CddlExpect::Invalid,
        ),
    ]);

    // media.urls
    let request = |content: &str, thumb: Option<u32>| MediaUrlRequest {
        media: media_id(content),
        thumb,
    };
    cases.extend([
        valid(
            "the original bytes",
            "media-url-request",
            &enc(&request("clip.mp4", None)),
        ),
        valid(
            "a thumbnail of 320 px",
            "media-url-request",
            &enc(&request("beach.jpg", Some(320))),
        ),
        over(
            "a thumbnail of 100 px",
            "media-url-request",
            &val(&request("beach.jpg", Some(100))),
            CddlExpect::Invalid,
        )
        .note("Thumbnails come in 96, 320 and 1280 px only."),
        schema(
            "a thumbnail size as text",
            "media-url-request",
            &with(&val(&request("beach.jpg", None)), "thumb", vtext("320")),
        ),
        valid(
            "media.urls of a thumbnail and an original",
            "media-urls-params",
            &enc(&MediaUrlsParams {
                items: vec![request("beach.jpg", Some(96)), request("beach.jpg", None)],
            }),
        ),
        valid(
            "media.urls of nothing",
            "media-urls-params",
            &enc(&MediaUrlsParams { items: Vec::new() }),
        ),
        valid(
            "media.urls of 100 items",
            "media-urls-params",
            &enc(&MediaUrlsParams {
                items: (0..MAX_URL_ITEMS)
                    .map(|i| request(&format!("photo {i}"), Some(320)))
                    .collect(),
            }),
        ),
        over(
            "media.urls of 101 items",
            "media-urls-params",
            &val(&MediaUrlsParams {
                items: (0..=MAX_URL_ITEMS)
                    .map(|i| request(&format!("photo {i}"), None))
                    .collect(),
            }),
            CddlExpect::Invalid,
        ),
        schema(
            "media.urls with items not in an array",
            "media-urls-params",
            &vmap(&[("items", val(&request("beach.jpg", None)))]),
        ),
        valid(
            "media.urls result: a signed path and a refusal",
            "media-urls",
            &enc(&MediaUrls {
                urls: vec![
                    Some(format!(
                        "/api/media/{}/thumb/96?exp=1767229200000&sig=3q2-7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs",
                        hex::encode(media_id("beach.jpg").sha256)
                    )),
                    None,
                ],
                expires_at: Timestamp(TS0 + 3_600_000),
            }),
        )
        .note("null: the caller may not see that media, it is unknown, or another node stores it."),
        schema(
            "media.urls result with a numeric url",
            "media-urls",
            &vmap(&[
                ("urls", Value::Array(vec![Value::from(1)])),
                ("expires_at", Value::from(TS0)),
            ]),
        ),
        schema(
            "media.urls result without expires_at",
            "media-urls",
            &vmap(&[("urls", Value::Array(Vec::new()))]),
        ),
    ]);
    cases
}

fn json_case(name: &str, json: serde_json::Value, expect: Expect) -> JsonCase {
    JsonCase {
        name: name.to_owned(),
        rule: "media-info".to_owned(),
        note: None,
        json,
        expect,
    }
}

fn json_cases() -> Vec<JsonCase> {
    use serde_json::json;
    let hex_id = |content: &str| media_id(content).to_string();
    vec![
        json_case(
            "an uploaded photo",
            json!({
                "id": hex_id("beach.jpg"),
                "kind": "image",
                "mime": "image/jpeg",
                "size": 284_311,
                "width": 1600,
                "height": 1200,
                "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
            }),
            Expect::valid(),
        ),
        json_case(
            "an uploaded recording",
            json!({
                "id": hex_id("voice.webm"),
                "kind": "audio",
                "mime": "audio/webm",
                "size": 18_734,
            }),
            Expect::valid(),
        ),
        JsonCase {
            note: Some(
                "The duration is absent when the container does not state one (a recorder's \
                 WebM); the client then sends the one it measured."
                    .to_owned(),
            ),
            ..json_case(
                "an uploaded video",
                json!({
                    "id": hex_id("clip.mp4"),
                    "kind": "video",
                    "mime": "video/mp4",
                    "size": 1_048_576,
                    "duration_ms": 2_000,
                }),
                Expect::valid(),
            )
        },
        json_case(
            "an uploaded file",
            json!({
                "id": hex_id("report.pdf"),
                "kind": "file",
                "mime": "application/octet-stream",
                "size": 52_000,
            }),
            Expect::valid(),
        ),
        json_case(
            "an id in upper-case hex",
            json!({
                "id": hex_id("report.pdf").to_uppercase().replace("CHAT.EXAMPLE.ORG", "chat.example.org"),
                "kind": "file",
                "mime": "application/octet-stream",
                "size": 52_000,
            }),
            Expect::error("schema"),
        ),
        json_case(
            "an id as the CBOR map",
            json!({
                "id": {"node": "chat.example.org", "sha256": hex::encode(media_id("report.pdf").sha256)},
                "kind": "file",
                "mime": "application/octet-stream",
                "size": 52_000,
            }),
            Expect::error("schema"),
        ),
        json_case(
            "a result without a size",
            json!({
                "id": hex_id("report.pdf"),
                "kind": "file",
                "mime": "application/octet-stream",
            }),
            Expect::error("schema"),
        ),
    ]
}

/// The media family.
pub fn media() -> VectorFile {
    VectorFile {
        family: "media".to_owned(),
        description: "Media references (spec/media.md): media kinds, the attachments of msg.post \
                      bodies, the attachment inputs of msgs.post, media.urls params and result; \
                      `limit` is a well-formed value a limit check refuses. json_cases: the JSON \
                      result of POST /api/media."
            .to_owned(),
        cases: cases(),
        log_cases: Vec::new(),
        json_cases: json_cases(),
    }
}

/// Values of every media type, built in Rust and encoded by the crate, with the rule each must
/// match (spec_cddl.rs).
pub fn samples() -> Vec<(&'static str, Vec<u8>)> {
    let mut out: Vec<(&'static str, Vec<u8>)> = MediaKind::ALL
        .iter()
        .map(|k| ("media-kind", enc(k)))
        .collect();
    for a in [photo(), voice(), video(), file()] {
        out.push(("attachment", enc(&a)));
    }
    for a in [
        input("beach.jpg"),
        voice_input(),
        AttachmentInput {
            name: Some("clip.mp4".to_owned()),
            poster: Some(media_id("clip-poster.jpg")),
            duration_ms: Some(MAX_DURATION_MS),
            ..input("clip.mp4")
        },
    ] {
        out.push(("attachment-input", enc(&a)));
    }
    out.push((
        "media-urls-params",
        enc(&MediaUrlsParams {
            items: winichat_protocol::media::THUMB_SIZES
                .iter()
                .map(|&t| MediaUrlRequest {
                    media: media_id("beach.jpg"),
                    thumb: Some(t),
                })
                .collect(),
        }),
    ));
    out.push((
        "media-urls",
        enc(&MediaUrls {
            urls: vec![None, Some("/api/media/x".to_owned())],
            expires_at: Timestamp(TS0),
        }),
    ));
    out
}
