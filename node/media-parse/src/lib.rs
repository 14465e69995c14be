//! The parsers of uploaded media bytes, apart from the node so they can be fuzzed alone: the
//! type of a file sniffed from its first bytes ([`sniff()`]), the tracks and duration of an
//! audio or video container ([`probe`]), and lossless removal of image metadata ([`strip`]).
//!
//! Everything here reads attacker bytes: no input may make it panic, loop or allocate beyond
//! a small bound, and `fuzz/` holds a cargo-fuzz target for each parser. No IO of its own: the
//! probes read through `Read + Seek` (a staged file in the node, a cursor in tests and fuzzing).

use winichat_protocol::media::MediaKind;

pub mod probe;
pub mod sniff;
pub mod strip;

pub use sniff::{SNIFF_LEN, sniff};

/// The type of a file, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    /// Image, audio, video or file (never voice: that is the sender's choice).
    pub kind: MediaKind,
    /// The MIME type served; `application/octet-stream` for a file.
    pub mime: &'static str,
}
