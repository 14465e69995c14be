//! `PublicKey::from_bytes` on the first 32 bytes.
//!
//! Properties: an accepted key is not weak and gives back the same 32 bytes; a signature by
//! the fuzzers' fixed key verifies under it only if it is that key.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use winichat_protocol::ed25519_dalek::Signer;
use winichat_protocol::keys::PublicKey;

fuzz_target!(|data: &[u8]| {
    let Some(bytes) = data.first_chunk::<32>() else {
        return;
    };
    let Ok(key) = PublicKey::from_bytes(bytes) else {
        return;
    };
    assert_eq!(&key.to_bytes(), bytes);
    assert!(!key.verifying_key().is_weak());
    let signing = common::signing_key();
    let signature = signing.sign(data);
    let verifies = key.verifying_key().verify_strict(data, &signature).is_ok();
    assert_eq!(verifies, &key == common::public_key());
});
