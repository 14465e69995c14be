//! Which transaction ids may have a remembered result, so that a new write does not ask the
//! database first.
//!
//! Nearly every write carries a transaction id never used before, and looking it up was a
//! database round trip on every write's path. This is a Bloom filter over every `(user, txn)`
//! this node has recorded: "absent" is certain, "maybe" means asking the database as before.
//! It only answers once it holds every stored id: ids recorded since start are added as they
//! are queued for writing, and the ones stored before start are read from the database in
//! pages by [`Chats::load_known_txns`]; until then every lookup asks the database.
//!
//! The database forgets an id after [`TXN_RETENTION_MS`]; a Bloom filter cannot forget one
//! id, so there are two generations, the older dropped whole each [`GENERATION_MS`]. An id
//! stays at least one generation, longer than the database keeps it. A filter more full than
//! it was sized for only answers "maybe" more often (more database lookups, never a wrong
//! answer).

use std::hash::BuildHasher;
use std::sync::Mutex as StdMutex;
use std::sync::atomic::{AtomicBool, Ordering};

use winichat_protocol::Timestamp;
use winichat_protocol::ids::UserId;

use super::{ChatError, Chats, TXN_RETENTION_MS};

/// Bits per generation: 8 Mi bits (1 MiB), about 1 % false "maybe" at 870,000 ids (7 hashes).
const BITS: usize = 1 << 23;
/// Bit positions set per id.
const HASHES: usize = 7;
/// How long one generation takes ids before it becomes the older one: an id recorded at `t`
/// is known until at least `t + GENERATION_MS`, an hour past the database's retention (which is
/// pruned every ten minutes).
pub(crate) const GENERATION_MS: u64 = TXN_RETENTION_MS + 3600 * 1000;
/// Stored ids read per page at start.
const LOAD_PAGE: u32 = 10_000;

// An id must outlive the database's copy of it.
const _: () = assert!(GENERATION_MS > TXN_RETENTION_MS);

/// The filter (see the module's documentation).
#[derive(Debug)]
pub(crate) struct KnownTxns {
    hasher: std::collections::hash_map::RandomState,
    /// True once every id stored before start has been added.
    complete: AtomicBool,
    generations: StdMutex<Generations>,
}

#[derive(Debug)]
struct Generations {
    /// When `current` started taking ids.
    started: Timestamp,
    current: Bits,
    older: Bits,
}

#[derive(Debug)]
struct Bits(Vec<u64>);

impl Bits {
    fn empty() -> Bits {
        Bits(vec![0; BITS / 64])
    }

    fn set(&mut self, position: usize) {
        self.0[position / 64] |= 1 << (position % 64);
    }

    fn get(&self, position: usize) -> bool {
        self.0[position / 64] & (1 << (position % 64)) != 0
    }

    fn clear(&mut self) {
        self.0.fill(0);
    }
}

impl KnownTxns {
    pub(crate) fn new(now: Timestamp) -> KnownTxns {
        KnownTxns {
            hasher: std::collections::hash_map::RandomState::new(),
            complete: AtomicBool::new(false),
            generations: StdMutex::new(Generations {
                started: now,
                current: Bits::empty(),
                older: Bits::empty(),
            }),
        }
    }

    fn generations(&self, now: Timestamp) -> std::sync::MutexGuard<'_, Generations> {
        let mut generations = self
            .generations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let elapsed = now.millis().saturating_sub(generations.started.millis());
        if elapsed >= GENERATION_MS {
            let Generations { current, older, .. } = &mut *generations;
            std::mem::swap(current, older);
            current.clear();
            // Idle for two generations: what the older one held is as old as that.
            if elapsed >= 2 * GENERATION_MS {
                older.clear();
            }
            generations.started = now;
        }
        generations
    }

    /// The bit positions of `(user, txn)`, by double hashing one keyed 64-bit hash.
    fn positions(&self, user: &str, txn: &str) -> [usize; HASHES] {
        let hash = self.hasher.hash_one((user, txn));
        let (first, step) = (hash & 0xffff_ffff, (hash >> 32) | 1);
        std::array::from_fn(|i| (first.wrapping_add((i as u64).wrapping_mul(step)) as usize) % BITS)
    }

    /// Records that `(user, txn)` is being (or was) stored.
    pub(crate) fn insert(&self, user: &str, txn: &str, now: Timestamp) {
        let positions = self.positions(user, txn);
        let mut generations = self.generations(now);
        for position in positions {
            generations.current.set(position);
        }
    }

    /// False when `(user, txn)` was certainly never stored (the database need not be asked).
    pub(crate) fn may_contain(&self, user: &str, txn: &str, now: Timestamp) -> bool {
        if !self.complete.load(Ordering::Acquire) {
            return true;
        }
        let positions = self.positions(user, txn);
        let generations = self.generations(now);
        let all = |bits: &Bits| positions.iter().all(|&p| bits.get(p));
        all(&generations.current) || all(&generations.older)
    }

    /// Marks every id stored before start as added: from now on "absent" answers.
    fn mark_complete(&self) {
        self.complete.store(true, Ordering::Release);
    }
}

impl Chats {
    /// Adds every transaction id the database holds to [`KnownTxns`], page by page, then lets
    /// it answer. Ids recorded meanwhile are added by their writes. On a storage error the
    /// filter stays unanswering (every lookup asks the database) and the next start tries again.
    pub(crate) async fn load_known_txns(&self) -> Result<u64, ChatError> {
        let known = &self.inner.known_txns;
        let mut after: Option<(String, String)> = None;
        let mut loaded = 0u64;
        loop {
            let page = self
                .db()
                .chats()
                .txn_keys(
                    after.as_ref().map(|(u, t)| (u.as_str(), t.as_str())),
                    LOAD_PAGE,
                )
                .await?;
            let now = super::now();
            for (user, txn) in &page {
                known.insert(user, txn, now);
            }
            loaded += page.len() as u64;
            if page.len() < LOAD_PAGE as usize {
                break;
            }
            after = page.into_iter().last();
        }
        known.mark_complete();
        Ok(loaded)
    }

    /// True once every stored transaction id is known (see [`Chats::load_known_txns`]).
    pub fn transaction_ids_known(&self) -> bool {
        self.inner.known_txns.complete.load(Ordering::Acquire)
    }

    /// False when `actor`'s `txn` certainly has no remembered result.
    pub(crate) fn may_have_txn(&self, actor: &UserId, txn: &str) -> bool {
        self.inner
            .known_txns
            .may_contain(actor.as_str(), txn, super::now())
    }

    /// Records that `actor`'s `txn` is queued for storing.
    pub(crate) fn note_txn(&self, actor: &UserId, txn: &str) {
        self.inner
            .known_txns
            .insert(actor.as_str(), txn, super::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp(1_000_000);

    #[test]
    fn nothing_is_absent_until_the_stored_ids_are_loaded() {
        let known = KnownTxns::new(T0);
        assert!(known.may_contain("@a:n", "t1", T0), "not loaded yet");
        known.mark_complete();
        assert!(!known.may_contain("@a:n", "t1", T0));
        known.insert("@a:n", "t1", T0);
        assert!(known.may_contain("@a:n", "t1", T0));
        assert!(!known.may_contain("@b:n", "t1", T0), "another user's txn");
        assert!(!known.may_contain("@a:n", "t2", T0), "another txn");
    }

    #[test]
    fn an_id_is_known_for_a_generation_at_least_then_forgotten() {
        let known = KnownTxns::new(T0);
        known.mark_complete();
        // Recorded just before the first generation ends: still known a whole generation on.
        let late = Timestamp(T0.millis() + GENERATION_MS - 1);
        known.insert("@a:n", "t", late);
        let next = Timestamp(late.millis() + GENERATION_MS - 1);
        assert!(known.may_contain("@a:n", "t", next));
        // Two generations after: dropped with the older one.
        let gone = Timestamp(T0.millis() + 3 * GENERATION_MS);
        assert!(!known.may_contain("@a:n", "t", gone));
    }

    #[test]
    fn false_maybes_stay_rare_at_the_sized_load() {
        let known = KnownTxns::new(T0);
        known.mark_complete();
        for i in 0..870_000u32 {
            known.insert("@a:n", &format!("in{i}"), T0);
        }
        let maybes = (0..100_000u32)
            .filter(|i| known.may_contain("@a:n", &format!("out{i}"), T0))
            .count();
        // About 1 % by the formula; far above it would mean the hashing is broken.
        assert!(maybes < 2_000, "{maybes} of 100,000 absent ids said maybe");
        for i in (0..870_000u32).step_by(997) {
            assert!(known.may_contain("@a:n", &format!("in{i}"), T0), "in{i}");
        }
    }
}
