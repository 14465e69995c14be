//! `sniff` on the first bytes, then the probe the node runs on the whole file for an audio or
//! video type: what the node does with every upload before any image decoding.
//!
//! Properties: the type is on the allowlist and its MIME type matches its kind; an image type
//! depends only on the signature (more bytes after it never change it); the probe keeps the
//! container, and states a duration only within `1..=MAX_DURATION_MS`.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use winichat_media_parse::{SNIFF_LEN, sniff};
use winichat_protocol::media::MediaKind;

fuzz_target!(|data: &[u8]| {
    let prefix = &data[..data.len().min(SNIFF_LEN)];
    let sniffed = sniff(prefix);
    common::assert_consistent(sniffed);
    match sniffed.kind {
        MediaKind::Image => {
            let mut longer = prefix.to_vec();
            longer.extend_from_slice(b"\0\xFF trailing");
            assert_eq!(sniff(&longer), sniffed, "an image type moved with later bytes");
        }
        MediaKind::Audio | MediaKind::Video => {
            common::dispatch(data, sniffed);
        }
        MediaKind::File | MediaKind::Voice => {}
    }
});
