//! Uploads in progress, per user: how many there are (capped, so one user cannot fill the
//! staging disk with parallel bodies) and how many of their bytes are reserved against the
//! quota while they stream.
//!
//! The quota itself is the sum of the sizes of a user's distinct stored media (the database
//! knows it). Checking it once per upload lets parallel uploads each see the same room and
//! all be stored; so every upload reserves its bytes here as they arrive, and the bytes of all
//! of a user's uploads in flight count against the room together. An upload whose bytes no
//! longer fit loses its reservation and goes on *over the quota*: it is still read to the end
//! (hashed, no longer staged), because only then is its hash known, and it is answered as
//! soon as it is read, without processing: as media the user already has (which costs
//! nothing) when its hash as received is one of theirs, else refused. The final decision is taken under the user's
//! [`UploadTicket::finalize_lock`], against the usage read again from the database at that
//! moment, so two uploads that both fitted while streaming cannot both be stored past the
//! quota.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use winichat_protocol::ids::UserId;

use super::MediaError;

/// One user's uploads in progress.
#[derive(Debug, Default)]
struct Entry {
    in_flight: usize,
    /// Bytes reserved by those uploads (each upload's share is in its ticket).
    reserved: u64,
    /// Serialises the final quota check and the record of this user's uploads.
    finalize: Arc<tokio::sync::Mutex<()>>,
}

/// Uploads in progress, per user.
#[derive(Debug)]
pub(crate) struct Uploads {
    max_per_user: usize,
    entries: Mutex<HashMap<UserId, Entry>>,
}

impl Uploads {
    /// At most `max_per_user` uploads in progress per user (at least one).
    pub(crate) fn new(max_per_user: usize) -> Uploads {
        Uploads {
            max_per_user: max_per_user.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts an upload by `user`, or refuses it with [`MediaError::TooManyUploads`] when they
    /// have the maximum in progress already.
    pub(crate) fn begin(&self, user: &UserId) -> Result<UploadTicket<'_>, MediaError> {
        let mut entries = self.lock();
        let entry = entries.entry(user.clone()).or_default();
        if entry.in_flight >= self.max_per_user {
            return Err(MediaError::TooManyUploads {
                limit: self.max_per_user,
            });
        }
        entry.in_flight += 1;
        metrics::gauge!(crate::telemetry::names::MEDIA_UPLOADS_IN_FLIGHT).increment(1.0);
        Ok(UploadTicket {
            uploads: self,
            user: user.clone(),
            reserved: 0,
            over_quota: false,
        })
    }

    /// Bytes reserved by `user`'s uploads in progress.
    #[cfg(test)]
    fn reserved(&self, user: &UserId) -> u64 {
        self.lock().get(user).map_or(0, |e| e.reserved)
    }
}

/// One upload in progress. Dropping it (finished, failed, or the request gone) gives its
/// reservation and its place back.
#[derive(Debug)]
pub(crate) struct UploadTicket<'a> {
    uploads: &'a Uploads,
    user: UserId,
    reserved: u64,
    over_quota: bool,
}

impl UploadTicket<'_> {
    /// Grows this upload's reservation to `total` bytes, if the user's stored `used` bytes plus
    /// every reservation of theirs still fit in `quota`. If not, the upload is over the quota
    /// from now on: its reservation is given back (so it does not crowd out uploads that still
    /// fit) and it can only end as a copy of the user's own media. Returns false then.
    pub(crate) fn reserve(&mut self, total: u64, used: u64, quota: u64) -> bool {
        if self.over_quota {
            return false;
        }
        let more = total.saturating_sub(self.reserved);
        if more == 0 {
            return true;
        }
        let mut entries = self.uploads.lock();
        let Some(entry) = entries.get_mut(&self.user) else {
            // Not reachable: the entry lives while a ticket does.
            self.over_quota = true;
            return false;
        };
        let fits = used
            .checked_add(entry.reserved)
            .and_then(|n| n.checked_add(more))
            .is_some_and(|n| n <= quota);
        if fits {
            entry.reserved += more;
            self.reserved += more;
        } else {
            entry.reserved = entry.reserved.saturating_sub(self.reserved);
            self.reserved = 0;
            self.over_quota = true;
        }
        fits
    }

    /// True once the upload's bytes did not fit in the quota.
    pub(crate) fn over_quota(&self) -> bool {
        self.over_quota
    }

    /// The user's lock for the final check and record (hold it across both).
    pub(crate) fn finalize_lock(&self) -> Arc<tokio::sync::Mutex<()>> {
        let entries = self.uploads.lock();
        entries
            .get(&self.user)
            .map(|e| Arc::clone(&e.finalize))
            // Not reachable (see `reserve`); a fresh lock then guards nothing shared.
            .unwrap_or_default()
    }
}

impl Drop for UploadTicket<'_> {
    fn drop(&mut self) {
        metrics::gauge!(crate::telemetry::names::MEDIA_UPLOADS_IN_FLIGHT).decrement(1.0);
        let mut entries = self.uploads.lock();
        if let Some(entry) = entries.get_mut(&self.user) {
            entry.reserved = entry.reserved.saturating_sub(self.reserved);
            entry.in_flight = entry.in_flight.saturating_sub(1);
            if entry.in_flight == 0 {
                entries.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> UserId {
        "@alice:example.org".parse().expect("user id")
    }

    #[test]
    fn uploads_in_flight_share_the_room_and_are_capped() {
        let uploads = Uploads::new(2);
        let user = alice();
        let mut a = uploads.begin(&user).expect("first");
        let mut b = uploads.begin(&user).expect("second");
        assert!(matches!(
            uploads.begin(&user),
            Err(MediaError::TooManyUploads { limit: 2 })
        ));
        // used 40 of 100: 60 left for both.
        assert!(a.reserve(30, 40, 100));
        assert!(b.reserve(20, 40, 100));
        assert!(!b.reserve(40, 40, 100), "30 + 40 > 60");
        assert!(b.over_quota());
        assert_eq!(uploads.reserved(&user), 30, "b gave its bytes back");
        assert!(a.reserve(60, 40, 100), "a may use what b gave back");
        drop(b);
        let c = uploads.begin(&user).expect("a place is free again");
        drop((a, c));
        assert_eq!(uploads.reserved(&user), 0);
        assert!(uploads.lock().is_empty(), "nothing left for an idle user");
    }
}
