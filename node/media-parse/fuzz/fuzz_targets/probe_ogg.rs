//! The Ogg probe, on any bytes.
//!
//! Properties: bounded reads; an Ogg is audio only; the node's dispatch agrees with the probe
//! and states a sane duration or none.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use winichat_media_parse::probe::ogg;
use winichat_media_parse::sniff::OGG;

fuzz_target!(|data: &[u8]| {
    let raw = common::run(data, ogg::probe);
    assert_ne!(raw.video, Some(true));
    if ogg::first_stream(data).is_none() {
        assert_eq!(raw.duration_ms, None, "a duration without a stream");
    }
    common::container(data, OGG, raw);
});
