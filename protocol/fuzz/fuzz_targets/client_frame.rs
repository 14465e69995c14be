//! `ClientFrame::decode`: agrees with the well-formedness walk, and what it accepts
//! round-trips canonically.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use winichat_protocol::client::ClientFrame;
use winichat_protocol::codec::Limits;

fuzz_target!(|data: &[u8]| {
    common::frame_properties(
        data,
        &Limits::CLIENT_FRAME,
        ClientFrame::decode,
        ClientFrame::encode,
    );
});
