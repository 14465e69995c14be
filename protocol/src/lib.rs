//! The WiniChat protocol, sans IO: identifiers, the CBOR codec with limits, COSE signing, the
//! group log rules, and the client and federation frames.
//!
//! Nothing here does IO or reads a clock; time is passed in. The normative description is
//! `spec/protocol.md`; the CDDL schema and test vectors in `spec/` are checked against this
//! crate by its tests.

pub mod client;
pub mod codec;
pub mod cose;
pub mod error_code;
pub mod event;
pub mod federation;
pub mod gateway;
pub mod group;
pub mod ids;
pub mod keys;
pub mod media;
pub mod text;
mod time;

pub use ed25519_dalek;
pub use time::Timestamp;

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 1;
