//! A per-peer token bucket for incoming requests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use winichat_protocol::ids::NodeName;

/// Requests per second a peer may sustain.
pub const DEFAULT_RATE: f64 = 2000.0;
/// Requests a peer may send at once after a quiet spell.
pub const DEFAULT_BURST: f64 = 4000.0;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets keyed by peer: all connections of one peer share its bucket.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<NodeName, Bucket>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(DEFAULT_RATE, DEFAULT_BURST)
    }
}

impl RateLimiter {
    /// `rate` tokens per second, at most `burst` saved up.
    pub fn new(rate: f64, burst: f64) -> Self {
        RateLimiter {
            rate,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token of `peer`'s bucket; false when it is empty.
    pub fn allow(&self, peer: &NodeName) -> bool {
        self.allow_at(peer, Instant::now())
    }

    fn allow_at(&self, peer: &NodeName, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(peer.clone()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let limiter = RateLimiter::new(10.0, 3.0);
        let peer = NodeName::parse("b.example").expect("valid");
        let other = NodeName::parse("c.example").expect("valid");
        let start = Instant::now();
        assert!((0..3).all(|_| limiter.allow_at(&peer, start)));
        assert!(!limiter.allow_at(&peer, start));
        assert!(limiter.allow_at(&other, start), "buckets are per peer");
        assert!(limiter.allow_at(&peer, start + Duration::from_millis(100)));
        assert!(!limiter.allow_at(&peer, start + Duration::from_millis(100)));
    }
}
