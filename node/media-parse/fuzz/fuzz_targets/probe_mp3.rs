//! The MP3 probe and the frame-header and ID3 parsers, on any bytes.
//!
//! Properties: bounded reads; a frame header states a length that covers at least itself;
//! an ID3 tag covers at least its header; the node's dispatch turns an MP3 without frames
//! into a file and otherwise states a sane duration or none.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use winichat_media_parse::probe::mp3;
use winichat_media_parse::sniff::MP3;
use winichat_protocol::media::MediaKind;

fuzz_target!(|data: &[u8]| {
    if let Some(frame) = mp3::Frame::parse(data) {
        assert!(frame.len >= 4, "a frame shorter than its header");
    }
    if let Some(n) = mp3::id3_len(data) {
        assert!(n >= 10);
    }
    match common::run(data, mp3::probe) {
        None => {
            let (settled, duration_ms) = common::dispatch(data, MP3);
            assert_eq!((settled.kind, duration_ms), (MediaKind::File, None));
        }
        Some(raw) => {
            assert_eq!((raw.video, raw.audio), (Some(false), Some(true)));
            common::container(data, MP3, raw);
        }
    }
});
