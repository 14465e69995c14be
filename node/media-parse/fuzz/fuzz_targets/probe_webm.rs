//! The WebM probe and the DocType reader, on any bytes.
//!
//! Properties: bounded reads; the node's dispatch agrees with the probe (a WebM with only
//! audio tracks is audio, one with a video track video, the duration sane or absent).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use winichat_media_parse::probe::webm;
use winichat_media_parse::sniff::{WEBM_AUDIO, WEBM_VIDEO};

fuzz_target!(|data: &[u8]| {
    if let Some(doc_type) = webm::doc_type(data) {
        assert!(doc_type.len() <= 32);
    }
    let raw = common::run(data, webm::probe);
    common::container(data, WEBM_VIDEO, raw);
    common::container(data, WEBM_AUDIO, raw);
});
