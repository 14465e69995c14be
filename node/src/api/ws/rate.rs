//! A token bucket, the per-connection request limit.

use tokio::time::Instant;

/// `capacity` tokens, refilled at `per_sec`; each request takes one.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    per_sec: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(capacity: u32, per_sec: u32, now: Instant) -> TokenBucket {
        TokenBucket {
            capacity: f64::from(capacity),
            per_sec: f64::from(per_sec),
            tokens: f64::from(capacity),
            last: now,
        }
    }

    /// Takes a token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
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
    fn burst_then_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(40, 20, t0);
        assert_eq!((0..50).filter(|_| b.take(t0)).count(), 40);
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!((0..50).filter(|_| b.take(t1)).count(), 10);
        let t2 = t1 + Duration::from_secs(100);
        assert_eq!(
            (0..50).filter(|_| b.take(t2)).count(),
            40,
            "capped at the burst"
        );
    }
}
