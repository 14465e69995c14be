//! Argon2id password hashing, off the async runtime, on a few dedicated threads.
//!
//! Each hash takes 19 MiB. Run on tokio's blocking pool, the work spreads over many threads and
//! the allocator keeps a 19 MiB block in each thread's arena: a node was seen at 432 MiB after
//! 200 registrations. A fixed pool of hashing threads bounds that to a few blocks, and its
//! bounded queue turns a flood of logins into quick `rate_limited` answers instead of a
//! backlog that starves the node. Each thread also keeps its Argon2 memory between hashes
//! rather than allocating 19 MiB per hash, which the allocator does not hand back.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use std::cell::RefCell;

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};

use super::AuthError;

/// Minimum password length, in characters.
pub const MIN_LEN: usize = 8;
/// Maximum password length, in bytes (bounds the hashing work a request can ask for).
pub const MAX_LEN: usize = 1024;

/// OWASP's Argon2id recommendation: 19 MiB, 2 passes, 1 lane.
fn params() -> Params {
    Params::new(19 * 1024, 2, 1, None).unwrap_or_default()
}

/// Bytes of random salt per hash.
const SALT_LEN: usize = 16;
/// Bytes of hash output.
const OUTPUT_LEN: usize = 32;

thread_local! {
    /// This hashing thread's Argon2 working memory, reused by every hash it computes.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Computes the raw Argon2 output of `password` with `salt` under `argon`, in this thread's
/// reused memory.
fn compute(
    argon: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
) -> Result<[u8; OUTPUT_LEN], argon2::Error> {
    let mut out = [0u8; OUTPUT_LEN];
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        let blocks = params.block_count();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, &mut out, &mut memory[..blocks])
    })?;
    Ok(out)
}

/// Hashes with fresh salt into a PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
fn hash_now(password: &[u8]) -> Result<String, String> {
    let params = params();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt).map_err(|e| format!("no randomness for a salt: {e}"))?;
    let out = compute(&argon, &params, password, &salt).map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(&salt).map_err(|e| e.to_string())?),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

/// True if `password` hashes to the output stored in `phc`, under the stored parameters.
fn matches(password: &[u8], phc: &str) -> bool {
    let Ok(stored) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(stored.algorithm.as_str()) else {
        return false;
    };
    let version = stored
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or_default();
    let Ok(params) = Params::try_from(&stored) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    match compute(&argon, &params, password, salt) {
        // Output's equality is constant-time.
        Ok(out) => Output::new(&out).is_ok_and(|computed| &computed == expected),
        Err(_) => false,
    }
}

/// Checks the length rules.
pub fn check(password: &str) -> Result<(), AuthError> {
    if password.chars().count() < MIN_LEN {
        return Err(AuthError::BadRequest(format!(
            "the password must have at least {MIN_LEN} characters"
        )));
    }
    if password.len() > MAX_LEN {
        return Err(AuthError::BadRequest(format!(
            "the password must have at most {MAX_LEN} bytes"
        )));
    }
    Ok(())
}

/// Most hashing threads (fewer on a machine with fewer cores).
const MAX_WORKERS: usize = 4;
/// Hash jobs that may wait for a thread; past this, requests are refused at once.
const QUEUE: usize = 64;

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads' queue, started on first use.
fn workers() -> &'static SyncSender<Job> {
    static JOBS: OnceLock<SyncSender<Job>> = OnceLock::new();
    JOBS.get_or_init(|| {
        let (jobs, queue) = sync_channel::<Job>(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        let count = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .min(MAX_WORKERS);
        for index in 0..count {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || work(&queue));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "auth: cannot start a hashing thread");
            }
        }
        jobs
    })
}

fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        // Hold the lock only to take a job, never while hashing.
        let job = queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .recv();
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// Runs `task` on a hashing thread and waits for its result.
async fn on_worker<T: Send + 'static>(
    task: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AuthError> {
    let (reply, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        // The requester may have gone away; nothing to do then.
        let _ = reply.send(task());
    });
    workers().try_send(job).map_err(|e| match e {
        TrySendError::Full(_) => AuthError::RateLimited {
            retry_after: Duration::from_secs(1),
        },
        TrySendError::Disconnected(_) => AuthError::internal("no hashing thread is running"),
    })?;
    result
        .await
        .map_err(|_| AuthError::internal("a hashing thread stopped"))
}

/// Hashes `password` to a PHC string, on a hashing thread.
pub async fn hash(password: String) -> Result<String, AuthError> {
    on_worker(move || {
        hash_now(password.as_bytes()).map_err(|e| AuthError::internal(format!("argon2 hash: {e}")))
    })
    .await?
}

/// A hash of a random password, verified against for unknown users so that a login for a name
/// that does not exist costs the same time as one with a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut pw = [0u8; 16];
        let _ = getrandom::fill(&mut pw);
        hash_now(&pw).unwrap_or_default()
    })
}

/// True if `password` matches `phc` (`None`: check against a dummy hash and return false).
pub async fn verify(password: String, phc: Option<String>) -> Result<bool, AuthError> {
    on_worker(move || {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| dummy_hash().to_owned());
        let ok = matches(password.as_bytes(), &phc);
        known && ok
    })
    .await
}

#[cfg(test)]
mod tests {
    use argon2::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[test]
    fn hashes_are_standard_phc_strings_both_ways() {
        let ours = hash_now(b"correct horse").expect("hashes");
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        // The reference implementation verifies ours, and ours verifies the reference's.
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        assert!(
            reference
                .verify_password(b"correct horse", ours.as_str())
                .is_ok()
        );
        let theirs = reference
            .hash_password(b"battery staple")
            .expect("hashes")
            .to_string();
        assert!(matches(b"battery staple", &theirs));
        assert!(!matches(b"battery stapler", &theirs));
        assert!(!matches(b"correct horse", "not a phc string"));
        assert_ne!(
            hash_now(b"correct horse").expect("hashes"),
            ours,
            "fresh salt"
        );
    }
}
