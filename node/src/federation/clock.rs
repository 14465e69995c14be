//! The wall clock, for request times and document expiry.

use std::time::{SystemTime, UNIX_EPOCH};

use winichat_protocol::Timestamp;

/// Now, in ms since the epoch (0 if the clock is before 1970).
pub fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    Timestamp(millis)
}
