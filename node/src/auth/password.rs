//! Argon2id password hashing, off the async runtime.

use std::sync::OnceLock;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

use super::AuthError;

/// Minimum password length, in characters.
pub const MIN_LEN: usize = 8;
/// Maximum password length, in bytes (bounds the hashing work a request can ask for).
pub const MAX_LEN: usize = 1024;

/// OWASP's Argon2id recommendation: 19 MiB, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
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

/// Hashes `password` to a PHC string, on a blocking thread.
pub async fn hash(password: String) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || {
        hasher()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AuthError::internal(format!("argon2 hash: {e}")))
    })
    .await
    .map_err(|e| AuthError::internal(format!("hash task: {e}")))?
}

/// A hash of a random password, verified against for unknown users so that a login for a name
/// that does not exist costs the same time as one with a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut pw = [0u8; 16];
        let _ = getrandom::fill(&mut pw);
        hasher()
            .hash_password(&pw)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// True if `password` matches `phc` (`None`: check against a dummy hash and return false).
pub async fn verify(password: String, phc: Option<String>) -> Result<bool, AuthError> {
    tokio::task::spawn_blocking(move || {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| dummy_hash().to_owned());
        let ok = hasher()
            .verify_password(password.as_bytes(), phc.as_str())
            .is_ok();
        known && ok
    })
    .await
    .map_err(|e| AuthError::internal(format!("verify task: {e}")))
}
