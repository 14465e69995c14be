//! The GIF metadata stripper, on any bytes.
//!
//! Properties (see `common::strip_properties`): a malformed structure is an error, never a
//! panic; a stripped copy is no longer than the input, sniffs as the input did and strips
//! again to exactly itself.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use winichat_media_parse::strip::gif;

fuzz_target!(|data: &[u8]| {
    common::strip_properties(data, gif::strip);
});
