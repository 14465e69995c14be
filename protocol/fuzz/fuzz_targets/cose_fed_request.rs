//! `UnverifiedSign1::parse` + `verify::<FedRequest>` with a fixed key, on raw COSE bytes and
//! on arbitrary payloads behind a valid signature (see `common::cose_properties`).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use winichat_protocol::codec::Limits;
use winichat_protocol::federation::FedRequest;

fuzz_target!(|data: &[u8]| {
    common::cose_properties::<FedRequest>(data, &Limits::FEDERATION_FRAME);
});
