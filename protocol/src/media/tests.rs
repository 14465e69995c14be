use ciborium::Value;

use super::*;
use crate::codec::{self, Limits};
use crate::ids::NodeName;

fn media(n: u8) -> MediaId {
    MediaId {
        node: NodeName::parse("chat.example.org").expect("node"),
        sha256: [n; 32],
    }
}

fn image() -> Attachment {
    Attachment {
        media: media(1),
        kind: MediaKind::Image,
        mime: "image/jpeg".to_owned(),
        size: 123_456,
        name: Some("beach.jpg".to_owned()),
        width: Some(1600),
        height: Some(1200),
        duration_ms: None,
        blurhash: Some("LEHV6nWB2yk8pyo0adR*.7kCMdnj".to_owned()),
        waveform: None,
        poster: None,
    }
}

fn voice() -> Attachment {
    Attachment {
        media: media(2),
        kind: MediaKind::Voice,
        mime: "audio/webm".to_owned(),
        size: 20_000,
        name: None,
        width: None,
        height: None,
        duration_ms: Some(4_200),
        blurhash: None,
        waveform: Some(vec![
            0, 40, 200, 255, 90, 10, 0, 3, 80, 120, 160, 200, 90, 40, 10, 0,
        ]),
        poster: None,
    }
}

fn video() -> Attachment {
    Attachment {
        media: media(3),
        kind: MediaKind::Video,
        mime: "video/mp4".to_owned(),
        size: 2_000_000,
        name: Some("clip.mp4".to_owned()),
        width: Some(1280),
        height: Some(720),
        duration_ms: Some(MAX_DURATION_MS),
        blurhash: None,
        waveform: None,
        poster: Some(media(4)),
    }
}

fn input() -> AttachmentInput {
    AttachmentInput {
        media: media(1),
        name: None,
        voice: false,
        waveform: None,
        duration_ms: None,
        poster: None,
    }
}

#[test]
fn good_attachments_pass() {
    for a in [image(), voice(), video()] {
        assert_eq!(a.check(), Ok(()), "{a:?}");
    }
    let file = Attachment {
        kind: MediaKind::File,
        mime: "application/octet-stream".to_owned(),
        width: None,
        height: None,
        blurhash: None,
        ..image()
    };
    assert_eq!(file.check(), Ok(()));
}

#[test]
fn file_names() {
    let long = "é".repeat(MAX_FILE_NAME_CHARS);
    for ok in [
        "a",
        "report 2026.pdf",
        ".hidden",
        "a.b.c",
        "日本語.txt",
        long.as_str(),
    ] {
        assert_eq!(check_file_name(ok), Ok(()), "{ok:?}");
    }
    let too_long = "é".repeat(MAX_FILE_NAME_CHARS + 1);
    assert_eq!(check_file_name(""), Err(AttachmentError::NameLength));
    assert_eq!(check_file_name(&too_long), Err(AttachmentError::NameLength));
    for bad in [
        "a/b",
        "..\\x",
        "\\",
        "a\nb",
        "a\u{0}b",
        "tab\t",
        "del\u{7f}",
        "c1\u{85}",
        "gpj\u{202E}.exe",
        "iso\u{2066}late",
        ".",
        "..",
        "a..b.txt",
        "..hidden",
    ] {
        assert_eq!(
            check_file_name(bad),
            Err(AttachmentError::NameCharacters),
            "{bad:?}"
        );
    }
    let a = Attachment {
        name: Some("../etc/passwd".to_owned()),
        ..image()
    };
    assert_eq!(a.check(), Err(AttachmentError::NameCharacters));
    let a = AttachmentInput {
        name: Some(too_long),
        ..input()
    };
    assert_eq!(a.check(), Err(AttachmentError::NameLength));
}

#[test]
fn signed_file_names_keep_the_rule_they_were_signed_under() {
    // Names signed before the shown-text rule (zero-width, format characters) are read back
    // and downloadable; a new attachment refuses them.
    for old in [
        "a\u{200B}b.txt",
        "soft\u{AD}hyphen.pdf",
        "bom\u{FEFF}.png",
        "rtl\u{200F}.jpg",
    ] {
        assert_eq!(check_signed_file_name(old), Ok(()), "{old:?}");
        assert_eq!(
            check_file_name(old),
            Err(AttachmentError::NameCharacters),
            "{old:?}"
        );
        let a = Attachment {
            name: Some(old.to_owned()),
            ..image()
        };
        assert_eq!(a.check_signed(), Ok(()));
        assert_eq!(a.check(), Err(AttachmentError::NameCharacters));
        assert_eq!(check_signed_attachments(std::slice::from_ref(&a)), Ok(()));
        assert_eq!(
            check_attachments(&[a]),
            Err(AttachmentError::NameCharacters)
        );
    }
    // What file names always refused stays refused everywhere.
    for bad in [
        "a/b",
        "a\nb",
        "del\u{7f}",
        "gpj\u{202E}.exe",
        "iso\u{2066}late",
        ".",
        "a..b",
    ] {
        assert_eq!(
            check_signed_file_name(bad),
            Err(AttachmentError::NameCharacters),
            "{bad:?}"
        );
    }
    assert_eq!(check_signed_file_name(""), Err(AttachmentError::NameLength));
}

#[test]
fn waveforms_only_on_voice_and_of_16_to_256_samples() {
    for len in [MIN_WAVEFORM_SAMPLES, MAX_WAVEFORM_SAMPLES] {
        let a = Attachment {
            waveform: Some(vec![7; len]),
            ..voice()
        };
        assert_eq!(a.check(), Ok(()), "{len}");
    }
    for len in [0, MIN_WAVEFORM_SAMPLES - 1, MAX_WAVEFORM_SAMPLES + 1] {
        let a = Attachment {
            waveform: Some(vec![7; len]),
            ..voice()
        };
        assert_eq!(a.check(), Err(AttachmentError::WaveformLength), "{len}");
    }
    let a = Attachment {
        waveform: None,
        ..voice()
    };
    assert_eq!(a.check(), Err(AttachmentError::MissingWaveform));
    let a = Attachment {
        kind: MediaKind::Audio,
        ..voice()
    };
    assert_eq!(a.check(), Err(AttachmentError::UnexpectedWaveform));

    let wave = Some(vec![1; 32]);
    let ok = AttachmentInput {
        voice: true,
        waveform: wave.clone(),
        duration_ms: Some(3_000),
        ..input()
    };
    assert_eq!(ok.check(), Ok(()));
    let short = AttachmentInput {
        waveform: Some(vec![1; MIN_WAVEFORM_SAMPLES - 1]),
        ..ok.clone()
    };
    assert_eq!(short.check(), Err(AttachmentError::WaveformLength));
    let long = AttachmentInput {
        waveform: Some(vec![1; MAX_WAVEFORM_SAMPLES + 1]),
        ..ok.clone()
    };
    assert_eq!(long.check(), Err(AttachmentError::WaveformLength));
    let missing = AttachmentInput {
        waveform: None,
        ..ok.clone()
    };
    assert_eq!(missing.check(), Err(AttachmentError::MissingWaveform));
    let not_voice = AttachmentInput { voice: false, ..ok };
    assert_eq!(not_voice.check(), Err(AttachmentError::UnexpectedWaveform));
}

#[test]
fn posters_only_on_video() {
    for kind in [MediaKind::Image, MediaKind::Audio, MediaKind::File] {
        let a = Attachment { kind, ..video() };
        assert_eq!(a.check(), Err(AttachmentError::UnexpectedPoster), "{kind}");
    }
    let a = Attachment {
        poster: Some(media(9)),
        ..voice()
    };
    assert_eq!(a.check(), Err(AttachmentError::UnexpectedPoster));
    let with_poster = AttachmentInput {
        poster: Some(media(4)),
        ..input()
    };
    assert_eq!(with_poster.check(), Ok(()), "the node checks the kind");
    let voice_with_poster = AttachmentInput {
        voice: true,
        waveform: Some(vec![0; 16]),
        ..with_poster
    };
    assert_eq!(
        voice_with_poster.check(),
        Err(AttachmentError::UnexpectedPoster)
    );
}

#[test]
fn durations_at_most_a_day() {
    let a = Attachment {
        duration_ms: Some(MAX_DURATION_MS + 1),
        ..video()
    };
    assert_eq!(a.check(), Err(AttachmentError::DurationTooLong));
    let a = AttachmentInput {
        duration_ms: Some(u64::MAX),
        ..input()
    };
    assert_eq!(a.check(), Err(AttachmentError::DurationTooLong));
    let a = AttachmentInput {
        duration_ms: Some(MAX_DURATION_MS),
        ..input()
    };
    assert_eq!(a.check(), Ok(()));
}

#[test]
fn blurhashes() {
    // 4 + 2·x·y characters: "0" is 1×1 components (6 chars), "L" (21) is 4×3 (28 chars).
    for ok in [
        "00TSUA",
        "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
        "L00000fQfQfQfQfQfQfQfQfQfQfQ",
    ] {
        assert_eq!(check_blurhash(ok), Ok(()), "{ok}");
    }
    // "l" (47) is 3×6 components: 40 characters; a 9×5 hash (94 chars) is the longest allowed.
    let nine_by_five = format!(
        "{}{}",
        BLURHASH_ALPHABET.as_bytes()[4 * 9 + 8] as char,
        "0".repeat(93)
    );
    assert_eq!(nine_by_five.len(), 94);
    assert_eq!(check_blurhash(&nine_by_five), Ok(()));
    let nine_by_nine = format!("|{}", "0".repeat(4 + 2 * 81 - 1));
    let ten_rows = format!("}}{}", "0".repeat(4 + 2 * 10 - 1));
    for bad in [
        "",
        "00TSU",
        "00TSUA0",
        "LEHV6nWB2yk8pyo0adR*.7kCMdn",
        "00TSU\"",
        "00 SUA",
        "00TSUé",
        nine_by_nine.as_str(),
        ten_rows.as_str(),
    ] {
        assert_eq!(
            check_blurhash(bad),
            Err(AttachmentError::Blurhash),
            "{bad:?}"
        );
    }
    let a = Attachment {
        blurhash: Some("not a blurhash".to_owned()),
        ..image()
    };
    assert_eq!(a.check(), Err(AttachmentError::Blurhash));
}

#[test]
fn dimensions_and_mime() {
    for (w, h) in [(Some(0), Some(1)), (Some(1), Some(0))] {
        let a = Attachment {
            width: w,
            height: h,
            ..image()
        };
        assert_eq!(a.check(), Err(AttachmentError::ZeroDimension));
    }
    assert_eq!(check_mime("audio/ogg; codecs=opus"), Ok(()));
    assert_eq!(check_mime(&"a".repeat(MAX_MIME_CHARS)), Ok(()));
    for bad in ["", " image/png", "image/png\n", "image/pngé"] {
        assert_eq!(check_mime(bad), Err(AttachmentError::Mime), "{bad:?}");
    }
    let long = "a".repeat(MAX_MIME_CHARS + 1);
    let a = Attachment {
        mime: long,
        ..image()
    };
    assert_eq!(a.check(), Err(AttachmentError::Mime));
}

#[test]
fn lists_hold_at_most_ten() {
    let ten = vec![image(); MAX_ATTACHMENTS];
    assert_eq!(check_attachments(&ten), Ok(()));
    let eleven = vec![image(); MAX_ATTACHMENTS + 1];
    assert_eq!(check_attachments(&eleven), Err(AttachmentError::TooMany));
    let bad = vec![
        image(),
        Attachment {
            width: Some(0),
            ..image()
        },
    ];
    assert_eq!(check_attachments(&bad), Err(AttachmentError::ZeroDimension));
    assert_eq!(check_inputs(&vec![input(); MAX_ATTACHMENTS]), Ok(()));
    assert_eq!(
        check_inputs(&vec![input(); MAX_ATTACHMENTS + 1]),
        Err(AttachmentError::TooMany)
    );
}

#[test]
fn error_codes_are_distinct() {
    let all = [
        AttachmentError::TooMany,
        AttachmentError::NameLength,
        AttachmentError::NameCharacters,
        AttachmentError::WaveformLength,
        AttachmentError::UnexpectedWaveform,
        AttachmentError::MissingWaveform,
        AttachmentError::UnexpectedPoster,
        AttachmentError::DurationTooLong,
        AttachmentError::Blurhash,
        AttachmentError::ZeroDimension,
        AttachmentError::Mime,
    ];
    let codes: std::collections::BTreeSet<_> = all.iter().map(|e| e.code()).collect();
    assert_eq!(codes.len(), all.len());
}

#[test]
fn kinds_have_wire_names() {
    for kind in MediaKind::ALL {
        assert_eq!(MediaKind::parse(kind.as_str()), Some(kind));
        let bytes = codec::encode(&kind).expect("encode");
        assert_eq!(
            codec::decode::<Value>(&bytes, &Limits::CLIENT_FRAME).expect("cbor"),
            Value::Text(kind.as_str().to_owned())
        );
    }
    assert_eq!(MediaKind::parse("sticker"), None);
    assert!(
        codec::decode::<MediaKind>(
            &codec::encode("sticker").expect("encode"),
            &Limits::CLIENT_FRAME
        )
        .is_err()
    );
}

#[test]
fn attachments_round_trip_with_byte_string_waveforms() {
    for a in [image(), voice(), video()] {
        let bytes = codec::encode(&a).expect("encode");
        assert_eq!(
            codec::decode::<Attachment>(&bytes, &Limits::EVENT).expect("decode"),
            a
        );
    }
    let value = Value::serialized(&voice()).expect("value");
    let Value::Map(entries) = value else {
        panic!("a map")
    };
    let waveform = entries
        .iter()
        .find(|(k, _)| k.as_text() == Some("waveform"))
        .map(|(_, v)| v.clone());
    assert!(matches!(waveform, Some(Value::Bytes(b)) if b.len() == 16));
    let absent = codec::encode(&image()).expect("encode");
    let text = format!(
        "{:?}",
        codec::decode::<Value>(&absent, &Limits::EVENT).expect("cbor")
    );
    assert!(
        !text.contains("waveform") && !text.contains("poster"),
        "absent fields are omitted: {text}"
    );
}

#[test]
fn media_urls_params() {
    let item = |thumb| MediaUrlRequest {
        media: media(1),
        thumb,
    };
    let ok = MediaUrlsParams {
        items: vec![
            item(None),
            item(Some(96)),
            item(Some(320)),
            item(Some(1280)),
        ],
    };
    assert_eq!(ok.check(), Ok(()));
    let bad = MediaUrlsParams {
        items: vec![item(Some(100))],
    };
    assert_eq!(bad.check(), Err(MediaUrlsError::ThumbSize));
    let many = MediaUrlsParams {
        items: vec![item(None); MAX_URL_ITEMS + 1],
    };
    assert_eq!(many.check(), Err(MediaUrlsError::TooMany));
    assert_eq!(
        MediaUrlsParams {
            items: vec![item(None); MAX_URL_ITEMS]
        }
        .check(),
        Ok(())
    );
}

#[test]
fn upload_results_are_json_with_a_text_id() {
    let info = MediaInfo {
        id: media(0xab),
        kind: MediaKind::Image,
        mime: "image/png".to_owned(),
        size: 42,
        width: Some(2),
        height: Some(3),
        duration_ms: None,
        blurhash: None,
    };
    let json = serde_json::to_string(&info).expect("json");
    assert_eq!(
        json,
        format!(
            "{{\"id\":\"chat.example.org/{}\",\"kind\":\"image\",\"mime\":\"image/png\",\"size\":42,\"width\":2,\"height\":3}}",
            "ab".repeat(32)
        )
    );
    assert_eq!(
        serde_json::from_str::<MediaInfo>(&json).expect("parse"),
        info
    );
    assert!(serde_json::from_str::<MediaInfo>(&json.replace("/ab", "/AB")).is_err());
}
