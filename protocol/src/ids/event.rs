use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::IdError;

/// An event id: `$` + base64url (no padding) of the SHA-256 of the event's signed payload bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId([u8; 32]);

impl EventId {
    /// The id of an event whose COSE_Sign1 payload is `payload`.
    pub fn of_payload(payload: &[u8]) -> Self {
        Self(Sha256::digest(payload).into())
    }

    /// Wraps a hash that was computed elsewhere (e.g. read from storage).
    pub fn from_hash(hash: [u8; 32]) -> Self {
        Self(hash)
    }

    /// The 32 hash bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses `$` + 43 characters of unpadded base64url.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let b64 = input
            .strip_prefix('$')
            .ok_or(IdError::MissingSigil { expected: '$' })?;
        if b64.len() != 43 {
            return Err(IdError::InvalidEventId);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(b64)
            .map_err(|_| IdError::InvalidEventId)?;
        let hash: [u8; 32] = bytes.try_into().map_err(|_| IdError::InvalidEventId)?;
        let id = Self(hash);
        // Reject non-canonical trailing bits so every id has exactly one text form.
        if id.to_string() != input {
            return Err(IdError::InvalidEventId);
        }
        Ok(id)
    }
}

impl core::fmt::Display for EventId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "${}", URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl core::fmt::Debug for EventId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "EventId({self})")
    }
}

impl core::str::FromStr for EventId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl serde::Serialize for EventId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for EventId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = EventId;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("an event id text string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<EventId, E> {
                EventId::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(Visit)
    }
}
