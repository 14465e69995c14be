//! What the accept loop does when `accept` fails: how long it waits before trying again, and
//! how loudly it says so.
//!
//! Out of file descriptors (`EMFILE`, `ENFILE`) or kernel memory, `accept` fails at once
//! every time it is called until something closes: retrying quickly only burns a core and
//! floods the log. Like hyper's and axum's own loops, the node then waits about a second, and
//! warns, at most once per [`WARN_EVERY`] with the count of failures it did not log. A
//! connection that was aborted or reset before it was taken off the queue is the client's
//! business: try again almost at once, quietly.

use std::io;
use std::time::{Duration, Instant};

use rustix::io::Errno;

/// How long to wait after running out of a resource.
pub const RESOURCE_BACKOFF: Duration = Duration::from_secs(1);
/// How long to wait after a failure of one connection.
pub const TRANSIENT_BACKOFF: Duration = Duration::from_millis(5);
/// Resource failures are logged at most this often.
pub const WARN_EVERY: Duration = Duration::from_secs(30);

/// Kinds of accept failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptFailure {
    /// The node or the system is out of something (descriptors, memory, buffers), or the
    /// error is not known: back off, and warn.
    Resource,
    /// One connection failed before it was accepted: go on.
    Transient,
}

impl AcceptFailure {
    /// The kind of `error`.
    pub fn of(error: &io::Error) -> AcceptFailure {
        match error.kind() {
            io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock => return AcceptFailure::Transient,
            _ => {}
        }
        match Errno::from_io_error(error) {
            // A network error on the pending connection, passed on by accept (accept(2)).
            Some(Errno::PROTO | Errno::NETDOWN | Errno::HOSTUNREACH | Errno::NETUNREACH) => {
                AcceptFailure::Transient
            }
            _ => AcceptFailure::Resource,
        }
    }

    /// How long to wait before the next `accept`.
    pub fn backoff(self) -> Duration {
        match self {
            AcceptFailure::Resource => RESOURCE_BACKOFF,
            AcceptFailure::Transient => TRANSIENT_BACKOFF,
        }
    }
}

/// Lets a warning through at most once per period, counting the ones held back.
#[derive(Debug)]
pub struct RateLimitedWarning {
    every: Duration,
    last: Option<Instant>,
    held_back: u64,
}

impl RateLimitedWarning {
    /// At most one warning per `every`.
    pub fn new(every: Duration) -> RateLimitedWarning {
        RateLimitedWarning {
            every,
            last: None,
            held_back: 0,
        }
    }

    /// Whether to log one more occurrence at `now`: `Some(n)` with the number of occurrences
    /// held back since the last one logged, or `None` to stay quiet.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < self.every => {
                self.held_back = self.held_back.saturating_add(1);
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held_back))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_out_of_descriptors_backs_off_a_reset_does_not() {
        for errno in [Errno::MFILE, Errno::NFILE, Errno::NOBUFS, Errno::NOMEM] {
            let e = io::Error::from_raw_os_error(errno.raw_os_error());
            assert_eq!(AcceptFailure::of(&e), AcceptFailure::Resource, "{e}");
            assert_eq!(AcceptFailure::of(&e).backoff(), RESOURCE_BACKOFF);
        }
        for errno in [
            Errno::CONNABORTED,
            Errno::CONNRESET,
            Errno::INTR,
            Errno::PROTO,
        ] {
            let e = io::Error::from_raw_os_error(errno.raw_os_error());
            assert_eq!(AcceptFailure::of(&e), AcceptFailure::Transient, "{e}");
            assert!(AcceptFailure::of(&e).backoff() < Duration::from_millis(100));
        }
        let unknown = io::Error::other("something else");
        assert_eq!(AcceptFailure::of(&unknown), AcceptFailure::Resource);
    }

    #[test]
    fn warnings_are_rate_limited_and_count_what_they_held_back() {
        let mut warn = RateLimitedWarning::new(Duration::from_secs(30));
        let t0 = Instant::now();
        assert_eq!(warn.allow(t0), Some(0), "the first is logged");
        assert_eq!(warn.allow(t0 + Duration::from_secs(1)), None);
        assert_eq!(warn.allow(t0 + Duration::from_secs(29)), None);
        assert_eq!(warn.allow(t0 + Duration::from_secs(30)), Some(2));
        assert_eq!(warn.allow(t0 + Duration::from_secs(31)), None);
        assert_eq!(warn.allow(t0 + Duration::from_secs(61)), Some(1));
    }
}
