//! `EventKind::parse`, and the same text as a CBOR text string through the decoder.
//!
//! Properties: an accepted kind is its own wire text, parses again to an equal kind, is at
//! most 64 bytes, is `Unknown` only for texts no known kind has, and round-trips through CBOR;
//! the CBOR decoder accepts exactly the texts `parse` accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use winichat_protocol::codec::{self, Limits};
use winichat_protocol::event::EventKind;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = EventKind::parse(&text);
    let as_cbor = codec::encode(text.as_ref()).expect("a text encodes");
    if as_cbor.len() <= Limits::CLIENT_FRAME.max_frame {
        let decoded: Result<EventKind, _> = codec::decode(&as_cbor, &Limits::CLIENT_FRAME);
        assert_eq!(
            decoded.ok(),
            parsed.clone().ok(),
            "decoder and parse disagree"
        );
    }
    let Ok(kind) = parsed else { return };
    assert_eq!(kind.as_str(), text);
    assert!(text.len() <= 64);
    assert_eq!(EventKind::parse(kind.as_str()).as_ref(), Ok(&kind));
    if let EventKind::Unknown(unknown) = &kind {
        assert!(
            !EventKind::KNOWN.iter().any(|k| k.as_str() == unknown),
            "a known kind parsed as Unknown"
        );
    }
    let bytes = codec::encode(&kind).expect("a kind encodes");
    let back: EventKind = codec::decode(&bytes, &Limits::EVENT).expect("a kind decodes");
    assert_eq!(back, kind);
});
