use serde::{Deserialize, Serialize};

/// A point in time: milliseconds since the Unix epoch, UTC. The protocol never reads a clock;
/// callers pass the current time in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Milliseconds since the epoch.
    pub fn millis(self) -> u64 {
        self.0
    }

    /// The absolute distance between two times, in milliseconds.
    pub fn distance(self, other: Timestamp) -> u64 {
        self.0.abs_diff(other.0)
    }
}

impl core::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}ms", self.0)
    }
}
