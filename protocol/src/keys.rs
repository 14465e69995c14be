//! Node identity keys (ed25519).

use ed25519_dalek::{SigningKey, VerifyingKey};
use thiserror::Error;

/// Why 32 bytes are not acceptable as a node's public key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The bytes are not the encoding of a point on the curve.
    #[error("not a valid ed25519 public key")]
    Invalid,
    /// The point has small order: any signature could verify under it, so it proves nothing.
    #[error("ed25519 public key has small order")]
    WeakKey,
}

/// A node's public identity key: an ed25519 point that is valid and not of small order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses the 32-byte compressed point, refusing weak (small-order) keys.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::Invalid)?;
        if key.is_weak() {
            return Err(KeyError::WeakKey);
        }
        Ok(Self(key))
    }

    /// The public half of a signing key.
    pub fn of(signing: &SigningKey) -> Self {
        Self(signing.verifying_key())
    }

    /// The 32-byte compressed point.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The verifying key, for `verify_strict`.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }
}
