//! Helpers shared by the spec tests and by `examples/gen_vectors.rs`: the vector file model, a
//! CBOR diagnostic-notation printer, the vector generator and error names.
#![allow(dead_code)]

pub mod diag;
pub mod generate;
pub mod generate_chat;
pub mod generate_federation;
pub mod generate_gateway;
pub mod generate_media;
pub mod model;
pub mod names;

use std::path::PathBuf;

/// The repository's `spec/` directory.
pub fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec")
}
