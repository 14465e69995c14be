//! The node document (spec/federation.md §2): who a node name stands for.
//!
//! A node serves it at `GET /.well-known/winichat/node` as a COSE_Sign1 (kid = its name) of a
//! [`NodeDocument`], signed by its own identity key. A fetcher learns from it the key to
//! require of the node's TLS certificate and where to dial it. A key change is accepted only
//! with a [`KeyRotation`] signed by the key the fetcher already knows.

use coset::CborSerializable;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::codec::{self, DecodeError, EncodeError, Limits};
use crate::cose::{Signed, UnverifiedSign1, VerifyError};
use crate::ids::NodeName;
use crate::keys::{KeyError, PublicKey};
use crate::time::Timestamp;

/// Limits of a node document and of the rotation inside it: small, fixed-shape maps.
pub const DOCUMENT_LIMITS: Limits = Limits {
    max_frame: 16 * 1024,
    max_depth: 4,
    max_items: 256,
    max_string: 8 * 1024,
    text_keys: true,
};

/// The signed payload of a node document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeDocument {
    /// The node's name, exactly as in ids.
    pub name: NodeName,
    /// The Ed25519 identity key (32 bytes).
    #[serde(with = "codec::byte_string")]
    pub key: Vec<u8>,
    /// `host:port` addresses of the node's QUIC endpoint.
    pub quic: Vec<String>,
    /// The federation protocol versions the node speaks.
    pub versions: Vec<u32>,
    /// Until when fetchers may cache the document (ms since the epoch).
    pub valid_until: Timestamp,
    /// A COSE_Sign1 of a [`KeyRotation`] by the previous key, when the key changed.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "codec::optional_bytes"
    )]
    pub rotation: Option<Vec<u8>>,
}

/// The old key's statement that a node's key is now `new_key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRotation {
    /// The node whose key changes.
    pub name: NodeName,
    /// The key being replaced (it signs this statement).
    #[serde(with = "codec::byte_string")]
    pub old_key: Vec<u8>,
    /// The key replacing it.
    #[serde(with = "codec::byte_string")]
    pub new_key: Vec<u8>,
    /// When the rotation was made.
    pub ts: Timestamp,
}

/// Why a fetched node document is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// Not a COSE_Sign1 of a node document.
    #[error("not a node document: {0}")]
    Malformed(DecodeError),
    /// The document is for (or signed as) another node.
    #[error("document is for {found}, not {expected}")]
    WrongName {
        /// The name asked for.
        expected: NodeName,
        /// The name in the document or its kid.
        found: NodeName,
    },
    /// The published key is not a usable Ed25519 key.
    #[error("document key: {0}")]
    BadKey(KeyError),
    /// The document does not verify under its own key.
    #[error("document signature: {0}")]
    BadSignature(VerifyError),
    /// `valid_until` has passed.
    #[error("document expired at {valid_until}")]
    Expired {
        /// When it expired.
        valid_until: Timestamp,
    },
    /// The key differs from the known one and no valid rotation vouches for it.
    #[error("key changed without a valid rotation: {0}")]
    UnprovenRotation(String),
}

impl NodeDocument {
    /// Signs the document as its `name` with `key` (which should be the document's key).
    pub fn sign(self, key: &SigningKey) -> Result<Signed<NodeDocument>, EncodeError> {
        let name = self.name.clone();
        Signed::sign(self, &name, key)
    }

    /// The published key.
    pub fn public_key(&self) -> Result<PublicKey, DocumentError> {
        key_from(&self.key).map_err(DocumentError::BadKey)
    }
}

impl KeyRotation {
    /// Signs the rotation with the old key, giving the bytes for [`NodeDocument::rotation`].
    pub fn sign(self, old_key: &SigningKey) -> Result<Vec<u8>, EncodeError> {
        let name = self.name.clone();
        Signed::sign(self, &name, old_key).map(|signed| signed.raw().to_vec())
    }
}

/// Accepts a node document fetched for `expected` at `now`: it must be a COSE_Sign1 signed as
/// `expected` under the key it publishes, name `expected`, and not be expired. When the
/// fetcher already knows a key for the name (`known_key`, pinned or cached) and the document
/// publishes another, its `rotation` must verify under the known key and say
/// `old_key = known_key, new_key = the document's key`.
pub fn verify_document(
    bytes: &[u8],
    expected: &NodeName,
    known_key: Option<&PublicKey>,
    now: Timestamp,
) -> Result<NodeDocument, DocumentError> {
    // The key to check the signature with is inside the payload, so the payload is read
    // first, untrusted, only to learn that key.
    let parsed =
        UnverifiedSign1::parse(bytes, &DOCUMENT_LIMITS).map_err(DocumentError::Malformed)?;
    if parsed.signer() != expected {
        return Err(DocumentError::WrongName {
            expected: expected.clone(),
            found: parsed.signer().clone(),
        });
    }
    let claimed: NodeDocument = {
        let sign1 = coset::CoseSign1::from_slice(bytes)
            .map_err(|e| DocumentError::Malformed(DecodeError::Schema(e.to_string())))?;
        let payload = sign1.payload.unwrap_or_default();
        codec::decode(&payload, &DOCUMENT_LIMITS).map_err(DocumentError::Malformed)?
    };
    let key = claimed.public_key()?;
    let document = parsed
        .verify::<NodeDocument>(&key, &DOCUMENT_LIMITS)
        .map_err(DocumentError::BadSignature)?
        .into_value();
    if &document.name != expected {
        return Err(DocumentError::WrongName {
            expected: expected.clone(),
            found: document.name,
        });
    }
    if document.valid_until <= now {
        return Err(DocumentError::Expired {
            valid_until: document.valid_until,
        });
    }
    if let Some(known) = known_key
        && known != &key
    {
        check_rotation(&document, expected, known, &key)?;
    }
    Ok(document)
}

/// Checks that `document.rotation` moves `name` from `old` to `new`, signed by `old`.
fn check_rotation(
    document: &NodeDocument,
    name: &NodeName,
    old: &PublicKey,
    new: &PublicKey,
) -> Result<(), DocumentError> {
    let unproven = |why: &str| DocumentError::UnprovenRotation(why.to_owned());
    let bytes = document
        .rotation
        .as_deref()
        .ok_or_else(|| unproven("the document has no rotation"))?;
    let parsed = UnverifiedSign1::parse(bytes, &DOCUMENT_LIMITS)
        .map_err(|e| DocumentError::UnprovenRotation(format!("rotation: {e}")))?;
    if parsed.signer() != name {
        return Err(unproven("rotation signed as another node"));
    }
    let rotation = parsed
        .verify::<KeyRotation>(old, &DOCUMENT_LIMITS)
        .map_err(|_| unproven("rotation does not verify under the known key"))?
        .into_value();
    if &rotation.name != name {
        return Err(unproven("rotation is for another node"));
    }
    if rotation.old_key != old.to_bytes() || rotation.new_key != new.to_bytes() {
        return Err(unproven("rotation names other keys"));
    }
    Ok(())
}

fn key_from(bytes: &[u8]) -> Result<PublicKey, KeyError> {
    let array: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Invalid)?;
    PublicKey::from_bytes(&array)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn name() -> NodeName {
        NodeName::parse("b.example").expect("valid")
    }

    const NOW: Timestamp = Timestamp(1_700_000_000_000);

    fn document(signing: &SigningKey) -> NodeDocument {
        NodeDocument {
            name: name(),
            key: PublicKey::of(signing).to_bytes().to_vec(),
            quic: vec!["127.0.0.1:7801".to_owned()],
            versions: vec![1],
            valid_until: Timestamp(NOW.0 + 1000),
            rotation: None,
        }
    }

    fn signed(doc: NodeDocument, signing: &SigningKey) -> Vec<u8> {
        doc.sign(signing).expect("signs").raw().to_vec()
    }

    #[test]
    fn a_self_signed_document_verifies() {
        let bytes = signed(document(&key(1)), &key(1));
        let doc = verify_document(&bytes, &name(), None, NOW).expect("accepted");
        assert_eq!(doc, document(&key(1)));
        // The same key already known: nothing more needed.
        let known = PublicKey::of(&key(1));
        assert!(verify_document(&bytes, &name(), Some(&known), NOW).is_ok());
    }

    #[test]
    fn wrong_name_expiry_and_foreign_signature_are_refused() {
        let bytes = signed(document(&key(1)), &key(1));
        let other = NodeName::parse("c.example").expect("valid");
        assert!(matches!(
            verify_document(&bytes, &other, None, NOW),
            Err(DocumentError::WrongName { .. })
        ));
        assert!(matches!(
            verify_document(&bytes, &name(), None, Timestamp(NOW.0 + 1000)),
            Err(DocumentError::Expired { .. })
        ));
        // Publishes key 1 but is signed by key 2.
        let forged = signed(document(&key(1)), &key(2));
        assert!(matches!(
            verify_document(&forged, &name(), None, NOW),
            Err(DocumentError::BadSignature(_))
        ));
        assert!(matches!(
            verify_document(b"\xa0", &name(), None, NOW),
            Err(DocumentError::Malformed(_))
        ));
    }

    #[test]
    fn a_key_change_needs_a_rotation_by_the_known_key() {
        let old = key(1);
        let new = key(2);
        let known = PublicKey::of(&old);

        // No rotation: refused.
        let bare = signed(document(&new), &new);
        assert!(matches!(
            verify_document(&bare, &name(), Some(&known), NOW),
            Err(DocumentError::UnprovenRotation(_))
        ));

        let rotation = |signer: &SigningKey, old_key: [u8; 32], new_key: [u8; 32]| {
            KeyRotation {
                name: name(),
                old_key: old_key.to_vec(),
                new_key: new_key.to_vec(),
                ts: NOW,
            }
            .sign(signer)
            .expect("signs")
        };
        let with = |rotation: Vec<u8>| {
            let mut doc = document(&new);
            doc.rotation = Some(rotation);
            signed(doc, &new)
        };
        let old_bytes = known.to_bytes();
        let new_bytes = PublicKey::of(&new).to_bytes();

        // A valid rotation: accepted.
        let good = with(rotation(&old, old_bytes, new_bytes));
        let doc = verify_document(&good, &name(), Some(&known), NOW).expect("rotated");
        assert_eq!(doc.key, new_bytes.to_vec());

        // Signed by the new key instead of the old one: refused.
        let self_vouched = with(rotation(&new, old_bytes, new_bytes));
        assert!(matches!(
            verify_document(&self_vouched, &name(), Some(&known), NOW),
            Err(DocumentError::UnprovenRotation(_))
        ));
        // Naming another new key: refused.
        let elsewhere = with(rotation(&old, old_bytes, PublicKey::of(&key(3)).to_bytes()));
        assert!(matches!(
            verify_document(&elsewhere, &name(), Some(&known), NOW),
            Err(DocumentError::UnprovenRotation(_))
        ));
        // A rotation from a key other than the one known: refused.
        let stranger = PublicKey::of(&key(4));
        assert!(matches!(
            verify_document(&good, &name(), Some(&stranger), NOW),
            Err(DocumentError::UnprovenRotation(_))
        ));
    }

    #[test]
    fn the_document_is_the_cbor_map_of_the_spec() {
        let doc = document(&key(1));
        let value: ciborium::Value =
            ciborium::from_reader(codec::encode(&doc).expect("encodes").as_slice())
                .expect("decodes");
        let keys: Vec<String> = value
            .as_map()
            .expect("a map")
            .iter()
            .filter_map(|(k, _)| k.as_text().map(str::to_owned))
            .collect();
        assert_eq!(keys, ["name", "key", "quic", "versions", "valid_until"]);
        let key_value = &value.as_map().expect("a map")[1].1;
        assert!(key_value.is_bytes(), "key is a byte string");
    }
}
