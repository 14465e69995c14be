//! The MP4 / M4A probe and the search for metadata boxes, on any bytes.
//!
//! Properties: bounded reads; the node's dispatch agrees with the probe; every box to blank
//! lies inside the file with its header before its payload; once blanked as the node does,
//! no metadata box is left and the tracks and duration read the same.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use winichat_media_parse::probe::mp4;
use winichat_media_parse::sniff::{MP4_AUDIO, MP4_VIDEO};

fuzz_target!(|data: &[u8]| {
    let raw = common::run(data, mp4::probe);
    common::container(data, MP4_VIDEO, raw);
    common::container(data, MP4_AUDIO, raw);

    let blanks = common::run(data, mp4::metadata_boxes);
    let len = data.len() as u64;
    let mut blanked = data.to_vec();
    for b in &blanks {
        assert!(b.at + 8 <= b.start && b.start <= b.end && b.end <= len, "{b:?} in {len}");
        // What the node writes in place: the type becomes `free`, the payload zeros.
        let [at, start, end] =
            [b.at, b.start, b.end].map(|n| usize::try_from(n).expect("inside the input"));
        blanked[at + 4..at + 8].copy_from_slice(b"free");
        blanked[start..end].fill(0);
    }
    assert_eq!(common::run(&blanked, mp4::metadata_boxes), vec![]);
    assert_eq!(common::run(&blanked, mp4::probe), raw);
});
