//! Login throttling, in memory: per user name and per client IP.
//!
//! Each key may fail [`FREE_FAILURES`] times (the IP key more); after that every further
//! failure locks the key for an exponentially growing delay (1 s, 2 s, 4 s … capped at 15
//! minutes). A locked key is refused with `rate_limited` before any password is checked.
//! Entries are forgotten [`FORGET_AFTER`] after their last failure.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per user name before the delay starts.
pub const FREE_FAILURES: u32 = 5;
/// Failures allowed per IP before the delay starts (one IP may be many users behind a NAT).
pub const FREE_FAILURES_IP: u32 = 20;
/// The longest lock.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// How long an entry lives after its last failure.
pub const FORGET_AFTER: Duration = Duration::from_secs(30 * 60);
/// Entries kept at most; beyond it the oldest-expired are dropped first.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
    locked_until: Instant,
}

/// The throttle state.
#[derive(Debug, Default)]
pub struct Throttle {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Throttle {
    /// How long `keys` must still wait, if any of them is locked.
    pub fn check(&self, keys: &[String]) -> Option<Duration> {
        let now = Instant::now();
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter_map(|k| entries.get(k))
            .filter(|e| e.locked_until > now)
            .map(|e| e.locked_until - now)
            .max()
    }

    /// Records a failure for each `(key, free failures)`.
    pub fn fail(&self, keys: &[(String, u32)]) {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| now.duration_since(e.last) < FORGET_AFTER);
        }
        for (key, free) in keys {
            let entry = entries.entry(key.clone()).or_insert(Entry {
                failures: 0,
                last: now,
                locked_until: now,
            });
            if now.duration_since(entry.last) >= FORGET_AFTER {
                entry.failures = 0;
            }
            entry.failures = entry.failures.saturating_add(1);
            entry.last = now;
            if entry.failures >= *free {
                let exp = (entry.failures - free).min(20);
                let delay = Duration::from_secs(1u64 << exp).min(MAX_DELAY);
                entry.locked_until = now + delay;
            }
        }
    }

    /// Forgets the failures of `key` (after a successful login).
    pub fn succeed(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_free_failures() {
        let t = Throttle::default();
        let key = vec![("u:alice".to_owned(), FREE_FAILURES)];
        for _ in 0..FREE_FAILURES - 1 {
            t.fail(&key);
            assert!(t.check(&["u:alice".to_owned()]).is_none());
        }
        t.fail(&key);
        assert!(t.check(&["u:alice".to_owned()]).is_some());
        t.succeed("u:alice");
        assert!(t.check(&["u:alice".to_owned()]).is_none());
    }
}
