//! Throttles, in memory: logins per user name and per client ([`Throttle`]), and
//! registrations per client ([`RegistrationThrottle`]). A client is a [`ClientKey`]: its IPv4
//! address or its IPv6 /64, so rotating through the addresses of one /64 gains nothing.
//!
//! Each key may fail [`FREE_FAILURES`] times (the IP key more); after that every further
//! failure locks the key for an exponentially growing delay (1 s, 2 s, 4 s … capped at 15
//! minutes). A locked key is refused with `rate_limited` before any password is checked.
//! Entries are forgotten [`FORGET_AFTER`] after their last failure.
//!
//! The check and the count are one step: [`Throttle::reserve`] counts an attempt as a failure
//! *before* its password is verified (and locks the key if that exhausts the allowance), so
//! requests sent at once cannot all pass the check while the first ones are still being
//! verified. Once the allowance is used up, at most one attempt per key is verified at a time.
//! The [`Attempt`] then says how it ended: a success gives the reservation back (and clears the
//! user name's count), a failure keeps it; an attempt dropped unfinished counts as a failure.

use std::collections::HashMap;

use crate::client_addr::ClientKey;
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
/// What a refused attempt is told to wait when the key is not locked but an attempt that may
/// lock it is still being verified.
const BUSY_RETRY: Duration = Duration::from_secs(1);
/// Entries kept at most; beyond it the oldest-expired are dropped first.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Failures, counting the attempts in flight (each is a failure until it succeeds).
    failures: u32,
    /// Attempts reserved and not yet finished.
    in_flight: u32,
    last: Instant,
    locked_until: Instant,
}

/// The login throttle's key for a client (beside the user name's, `u:NAME`).
pub fn client_key(client: ClientKey) -> String {
    format!("ip:{client}")
}

/// The delay after `failures` failures of a key allowed `free`.
fn delay(failures: u32, free: u32) -> Option<Duration> {
    (failures >= free).then(|| {
        let exp = (failures - free).min(20);
        Duration::from_secs(1u64 << exp).min(MAX_DELAY)
    })
}

/// The throttle state.
#[derive(Debug, Default)]
pub struct Throttle {
    entries: Mutex<HashMap<String, Entry>>,
}

/// A reserved login attempt. Finish it with [`Attempt::succeed`] or [`Attempt::fail`];
/// dropping it unfinished (the request went away mid-verification) counts as a failure.
#[derive(Debug)]
#[must_use = "an attempt counts as a failure unless it is marked as a success"]
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    keys: Vec<(String, u32)>,
    finished: bool,
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reserves one attempt for every `(key, free failures)`, or says how long to wait when
    /// any key is locked (or has used its allowance and has an attempt in flight). Nothing is
    /// counted for a refused attempt.
    pub fn reserve(&self, keys: Vec<(String, u32)>) -> Result<Attempt<'_>, Duration> {
        let now = Instant::now();
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.in_flight > 0 || now.duration_since(e.last) < FORGET_AFTER);
        }
        let wait = keys
            .iter()
            .filter_map(|(key, free)| {
                let e = entries.get(key)?;
                if now.duration_since(e.last) >= FORGET_AFTER && e.in_flight == 0 {
                    return None;
                }
                if e.locked_until > now {
                    Some(e.locked_until - now)
                } else if e.failures >= *free && e.in_flight > 0 {
                    Some(BUSY_RETRY)
                } else {
                    None
                }
            })
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        for (key, free) in &keys {
            let entry = entries.entry(key.clone()).or_insert(Entry {
                failures: 0,
                in_flight: 0,
                last: now,
                locked_until: now,
            });
            if now.duration_since(entry.last) >= FORGET_AFTER && entry.in_flight == 0 {
                entry.failures = 0;
            }
            entry.failures = entry.failures.saturating_add(1);
            entry.in_flight = entry.in_flight.saturating_add(1);
            entry.last = now;
            if let Some(delay) = delay(entry.failures, *free) {
                entry.locked_until = entry.locked_until.max(now + delay);
            }
        }
        Ok(Attempt {
            throttle: self,
            keys,
            finished: false,
        })
    }
}

impl Attempt<'_> {
    /// The password was right: `clear` (the user name's key) forgets its failures (attempts
    /// of it still in flight stay counted until they finish), every other key gets this
    /// attempt's reservation back.
    pub fn succeed(self, clear: &str) {
        self.give_back(Some(clear));
    }

    /// No password was verified (the node failed first): every key gets the reservation back.
    pub fn cancel(self) {
        self.give_back(None);
    }

    fn give_back(mut self, clear: Option<&str>) {
        self.finished = true;
        let now = Instant::now();
        let mut entries = self.throttle.lock();
        for (key, free) in &self.keys {
            let Some(entry) = entries.get_mut(key) else {
                continue;
            };
            entry.in_flight = entry.in_flight.saturating_sub(1);
            if clear == Some(key.as_str()) {
                entry.failures = entry.in_flight;
            } else {
                entry.failures = entry.failures.saturating_sub(1);
            }
            if entry.failures < *free {
                entry.locked_until = now;
            }
            if entry.failures == 0 && entry.in_flight == 0 {
                entries.remove(key);
            }
        }
    }

    /// The attempt failed: its reservation stays counted, and the lock runs from now.
    pub fn fail(mut self) {
        self.record_failure();
    }

    fn record_failure(&mut self) {
        self.finished = true;
        let now = Instant::now();
        let mut entries = self.throttle.lock();
        for (key, free) in &self.keys {
            let Some(entry) = entries.get_mut(key) else {
                continue;
            };
            entry.in_flight = entry.in_flight.saturating_sub(1);
            entry.last = now;
            if let Some(delay) = delay(entry.failures, *free) {
                entry.locked_until = entry.locked_until.max(now + delay);
            }
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.record_failure();
        }
    }
}

/// Registrations per client IP: a bucket of `per_hour` accounts per address, refilled evenly
/// over the hour (one every `3600 / per_hour` seconds), so a burst of `per_hour` is allowed
/// and then one account per refill. Kept as the "theoretical arrival time" of the generic cell
/// rate algorithm: one instant per address, forgotten once its bucket is full again.
#[derive(Debug)]
pub struct RegistrationThrottle {
    /// Time between two refills.
    interval: Duration,
    /// How far ahead of now the schedule may run: `(per_hour - 1) × interval`.
    burst: Duration,
    entries: Mutex<HashMap<ClientKey, Instant>>,
}

/// A registration counted against its IP; [`RegistrationSlot::give_back`] returns it when the
/// account was not created. Dropped, it stays counted.
#[derive(Debug)]
#[must_use = "a slot stays counted unless it is given back"]
pub struct RegistrationSlot<'a> {
    throttle: &'a RegistrationThrottle,
    ip: Option<ClientKey>,
}

impl RegistrationThrottle {
    /// At most `per_hour` registrations per IP per hour (at least one).
    pub fn new(per_hour: u32) -> RegistrationThrottle {
        let per_hour = per_hour.max(1);
        let interval = Duration::from_secs(3600) / per_hour;
        RegistrationThrottle {
            interval,
            burst: interval * (per_hour - 1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one registration for `ip`, or says how long to wait. A request without a known
    /// address (not over TCP) is not throttled here.
    pub fn take(&self, ip: Option<ClientKey>) -> Result<RegistrationSlot<'_>, Duration> {
        let Some(addr) = ip else {
            return Ok(RegistrationSlot { throttle: self, ip });
        };
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, tat| *tat > now);
        }
        let tat = entries.get(&addr).copied().unwrap_or(now).max(now);
        let ahead = tat - now;
        if ahead > self.burst {
            return Err(ahead - self.burst);
        }
        entries.insert(addr, tat + self.interval);
        Ok(RegistrationSlot { throttle: self, ip })
    }
}

impl RegistrationSlot<'_> {
    /// The registration was refused before any work it asked for was done: it does not
    /// count.
    pub fn give_back(self) {
        let Some(addr) = self.ip else { return };
        let now = Instant::now();
        let mut entries = self
            .throttle
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(tat) = entries.get_mut(&addr) {
            *tat = tat.checked_sub(self.throttle.interval).unwrap_or(now);
            if *tat <= now {
                entries.remove(&addr);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn user(name: &str) -> Vec<(String, u32)> {
        vec![(format!("u:{name}"), FREE_FAILURES)]
    }

    #[test]
    fn locks_after_the_free_failures() {
        let t = Throttle::default();
        for _ in 0..FREE_FAILURES {
            t.reserve(user("alice")).expect("free attempt").fail();
        }
        assert!(t.reserve(user("alice")).is_err(), "locked");
        assert!(t.reserve(user("bob")).is_ok(), "per key");
    }

    #[test]
    fn attempts_in_flight_count_before_they_finish() {
        let t = Throttle::default();
        let pending: Vec<_> = (0..FREE_FAILURES)
            .map(|_| t.reserve(user("alice")).expect("within the allowance"))
            .collect();
        // None has finished, yet the allowance is used up: a sixth is refused.
        let wait = t.reserve(user("alice")).expect_err("over the allowance");
        assert!(wait > Duration::ZERO);
        drop(pending);
        assert!(
            t.reserve(user("alice")).is_err(),
            "dropped attempts are failures"
        );
    }

    #[test]
    fn a_success_clears_the_name_and_refunds_the_ip() {
        let t = Throttle::default();
        let keys = |name: &str| {
            let mut k = user(name);
            k.push(("ip:1".to_owned(), 2));
            k
        };
        t.reserve(keys("alice")).expect("first").fail();
        // One IP failure so far; a success must not add one.
        t.reserve(keys("alice")).expect("second").succeed("u:alice");
        t.reserve(keys("bob")).expect("IP still has room").fail();
        assert!(t.reserve(keys("carol")).is_err(), "IP: 2 failures, locked");
        for _ in 0..FREE_FAILURES - 1 {
            t.reserve(user("alice"))
                .expect("alice's count was cleared")
                .fail();
        }
    }

    #[test]
    fn registrations_per_ip_refill_over_the_hour() {
        let t = RegistrationThrottle::new(3);
        let a = Some(ClientKey::of(IpAddr::from([192, 0, 2, 1])));
        let b = Some(ClientKey::of(IpAddr::from([192, 0, 2, 2])));
        let _one = t.take(a).expect("1");
        let two = t.take(a).expect("2");
        let _three = t.take(a).expect("3");
        let wait = t.take(a).expect_err("a fourth within the hour");
        // The next refill is 20 minutes after the first.
        assert!(wait > Duration::from_secs(19 * 60) && wait <= Duration::from_secs(20 * 60));
        assert!(t.take(b).is_ok(), "per address");
        assert!(t.take(None).is_ok(), "no address, no throttle");
        two.give_back();
        let _again = t.take(a).expect("a failed registration does not count");
        assert!(t.take(a).is_err());
    }

    #[test]
    fn addresses_of_one_ipv6_slash_64_share_one_budget() {
        let t = RegistrationThrottle::new(3);
        let key = |s: &str| Some(ClientKey::of(s.parse::<IpAddr>().expect("ip")));
        for (i, addr) in ["2001:db8:5:6::1", "2001:db8:5:6::2", "2001:db8:5:6:ffff::3"]
            .iter()
            .enumerate()
        {
            let _taken = t.take(key(addr)).unwrap_or_else(|_| panic!("{i}"));
        }
        assert!(
            t.take(key("2001:db8:5:6:1234:5678:9abc:def0")).is_err(),
            "a fourth address of the same /64"
        );
        let _other = t.take(key("2001:db8:5:7::1")).expect("another /64");
        // Logins, too, count the /64.
        let logins = Throttle::default();
        let ip = |s: &str| vec![(client_key(ClientKey::of(s.parse().expect("ip"))), 2)];
        logins.reserve(ip("2001:db8:5:6::1")).expect("1").fail();
        logins.reserve(ip("2001:db8:5:6::2")).expect("2").fail();
        assert!(logins.reserve(ip("2001:db8:5:6::3")).is_err());
    }
}
