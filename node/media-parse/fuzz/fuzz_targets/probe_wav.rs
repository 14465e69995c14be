//! The WAV probe, on any bytes.
//!
//! Properties: bounded reads (at most a fixed number of chunks); a WAV is audio only; the
//! node's dispatch agrees with the probe and states a sane duration or none.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use winichat_media_parse::probe::wav;
use winichat_media_parse::sniff::WAV;

fuzz_target!(|data: &[u8]| {
    let raw = common::run(data, wav::probe);
    assert_eq!((raw.video, raw.audio), (Some(false), Some(true)));
    common::container(data, WAV, raw);
});
