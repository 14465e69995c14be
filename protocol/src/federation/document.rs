//! The node document (spec/federation.md §2): who a node name stands for.
//!
//! A node serves it at `GET /.well-known/winichat/node` as a COSE_Sign1 (kid = its name) of a
//! [`NodeDocument`], signed by its own identity key. A fetcher learns from it the key to
//! require of the node's TLS certificate and where to dial it. A key change is accepted only
//! with a [`KeyRotation`] signed by the key the fetcher already knows.
//!
//! A node that rotated its key publishes every rotation it made, oldest first, each signed by
//! the key before: the chain ([`KeyHistory`]) tells a replica which earlier key signed the
//! home's older events (spec/federation.md §2.5).

use coset::CborSerializable;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use serde::de::DeserializeOwned;

use super::methods::byte_strings;
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

/// The most rotations a node document carries (`rotation` and `earlier_rotations` together).
/// A node that rotated more often drops its oldest ones.
pub const MAX_ROTATIONS: usize = 32;

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
    /// The rotations before `rotation`, oldest first, each a COSE_Sign1 of a [`KeyRotation`]
    /// by the key it replaces: with `rotation` they chain the node's first published key to
    /// `key`. Empty (and not encoded) when the node rotated at most once.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "nonempty_byte_strings"
    )]
    pub earlier_rotations: Vec<Vec<u8>>,
}

/// [`byte_strings`], refusing an empty array: `earlier_rotations` is absent, not empty, when
/// there is nothing in it (the CDDL says `[+ bstr]`).
mod nonempty_byte_strings {
    use serde::de::Error as _;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(items: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        super::byte_strings::serialize(items, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let items = super::byte_strings::deserialize(d)?;
        if items.is_empty() {
            return Err(D::Error::custom(
                "earlier_rotations is absent when empty, never an empty array",
            ));
        }
        Ok(items)
    }
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

/// The keys a node has signed with, as its document's rotations tell: the current key and
/// each earlier one with the time it was replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHistory {
    /// The key the node signs with now.
    pub current: PublicKey,
    /// Earlier keys, oldest first, each with the `ts` of the rotation that replaced it.
    pub earlier: Vec<RetiredKey>,
}

/// A key a node signed with before a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetiredKey {
    /// The key.
    pub key: PublicKey,
    /// When it was replaced: it signed only what is dated before this.
    pub replaced_at: Timestamp,
}

impl KeyHistory {
    /// A node that never rotated: only `current`.
    pub fn only(current: PublicKey) -> KeyHistory {
        KeyHistory {
            current,
            earlier: Vec::new(),
        }
    }

    /// Whether `key` is the current key or one of the earlier ones.
    pub fn knows(&self, key: &PublicKey) -> bool {
        &self.current == key || self.earlier.iter().any(|retired| &retired.key == key)
    }

    /// Verifies a COSE_Sign1 dated by `ts_of` under the key its signer had at that date:
    /// the current key, or an earlier key when the value is dated before that key was
    /// replaced (spec/federation.md §2.5). The signer (kid) is the caller's to check.
    pub fn verify_dated<T: DeserializeOwned>(
        &self,
        unverified: UnverifiedSign1,
        limits: &Limits,
        ts_of: impl Fn(&T) -> Timestamp,
    ) -> Result<Signed<T>, VerifyError> {
        let mut first_error = match unverified.clone().verify::<T>(&self.current, limits) {
            Ok(signed) => return Ok(signed),
            Err(e) => e,
        };
        // Newest first: an event of a group is most likely recent.
        for retired in self.earlier.iter().rev() {
            match unverified.clone().verify::<T>(&retired.key, limits) {
                Ok(signed) if ts_of(signed.value()) < retired.replaced_at => return Ok(signed),
                // Signed by a key after that key was replaced: not the node's word.
                Ok(_) => return Err(VerifyError::BadSignature),
                Err(VerifyError::BadSignature) => {}
                Err(e) => first_error = e,
            }
        }
        Err(first_error)
    }
}

/// Accepts a node document fetched for `expected` at `now`: it must be a COSE_Sign1 signed as
/// `expected` under the key it publishes, name `expected`, and not be expired; its rotations,
/// if any, must chain (see [`key_history`]). When the fetcher already knows a key for the
/// name (`known_key`, pinned or cached) and the document publishes another, the known key
/// must be one the chain replaced: the rotation from it is signed by it, and each later one by
/// the key before, up to the document's key.
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
    let claimed: NodeDocument = unverified_payload(bytes).map_err(DocumentError::Malformed)?;
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
    let history = key_history(&document)?;
    if let Some(known) = known_key
        && known != &key
    {
        if document.rotation.is_none() {
            return Err(DocumentError::UnprovenRotation(
                "the document has no rotation".to_owned(),
            ));
        }
        if !history.earlier.iter().any(|retired| &retired.key == known) {
            return Err(DocumentError::UnprovenRotation(
                "no rotation is signed by the known key".to_owned(),
            ));
        }
    }
    Ok(document)
}

/// The key history a document's rotations prove (spec/federation.md §2.5): `earlier_rotations`
/// then `rotation`, each a COSE_Sign1 as the document's name by its `old_key`, for that name,
/// the first's `new_key` the next one's `old_key`, dated in order, the last one's `new_key`
/// the document's `key`; at most [`MAX_ROTATIONS`]. Any break refuses the whole document.
pub fn key_history(document: &NodeDocument) -> Result<KeyHistory, DocumentError> {
    let current = document.public_key()?;
    if document.rotation.is_none() && !document.earlier_rotations.is_empty() {
        return Err(DocumentError::UnprovenRotation(
            "earlier_rotations without a rotation".to_owned(),
        ));
    }
    let links: Vec<&[u8]> = document
        .earlier_rotations
        .iter()
        .map(Vec::as_slice)
        .chain(document.rotation.as_deref())
        .collect();
    rotation_chain(&document.name, &links, current)
}

/// The key history of `name` whose key is now `current`, from its signed rotations oldest
/// first (`links`): the rules of [`key_history`], for a node checking its own rotations.
pub fn rotation_chain(
    name: &NodeName,
    links: &[&[u8]],
    current: PublicKey,
) -> Result<KeyHistory, DocumentError> {
    let unproven = DocumentError::UnprovenRotation;
    if links.len() > MAX_ROTATIONS {
        return Err(unproven(format!(
            "{} rotations, more than {MAX_ROTATIONS}",
            links.len()
        )));
    }
    let mut earlier: Vec<RetiredKey> = Vec::with_capacity(links.len());
    let mut expected_old: Option<[u8; 32]> = None;
    for (index, bytes) in links.iter().enumerate() {
        let rotation = verified_rotation(bytes, name)
            .map_err(|why| unproven(format!("rotation {index}: {why}")))?;
        if let Some(expected) = expected_old
            && rotation.old_key != expected
        {
            return Err(unproven(format!(
                "rotation {index} does not start from the key the one before named"
            )));
        }
        if let Some(last) = earlier.last()
            && rotation.ts < last.replaced_at
        {
            return Err(unproven(format!(
                "rotation {index} is dated before the one before"
            )));
        }
        let old = key_from(&rotation.old_key)
            .map_err(|e| unproven(format!("rotation {index}: old key: {e}")))?;
        let new: [u8; 32] = rotation
            .new_key
            .as_slice()
            .try_into()
            .map_err(|_| unproven(format!("rotation {index}: new key is not 32 bytes")))?;
        if new == old.to_bytes() {
            return Err(unproven(format!("rotation {index} keeps the same key")));
        }
        earlier.push(RetiredKey {
            key: old,
            replaced_at: rotation.ts,
        });
        expected_old = Some(new);
    }
    if let Some(last_new) = expected_old
        && last_new != current.to_bytes()
    {
        return Err(unproven(
            "the last rotation names another key than the document's".to_owned(),
        ));
    }
    Ok(KeyHistory { current, earlier })
}

impl KeyRotation {
    /// Reads a signed rotation WITHOUT verifying it: for a node looking at what it wrote
    /// itself (which rotation an interrupted `keys rotate` recorded). Anything received is
    /// checked with [`key_history`] instead.
    pub fn read_unverified(bytes: &[u8]) -> Result<KeyRotation, DecodeError> {
        UnverifiedSign1::parse(bytes, &DOCUMENT_LIMITS)?;
        unverified_payload(bytes)
    }
}

/// One signed rotation of `name`, verified under the `old_key` it names.
fn verified_rotation(bytes: &[u8], name: &NodeName) -> Result<KeyRotation, String> {
    let parsed = UnverifiedSign1::parse(bytes, &DOCUMENT_LIMITS).map_err(|e| e.to_string())?;
    if parsed.signer() != name {
        return Err("signed as another node".to_owned());
    }
    // As for the document: the key to check is inside the payload.
    let claimed: KeyRotation = unverified_payload(bytes).map_err(|e| e.to_string())?;
    let old = key_from(&claimed.old_key).map_err(|e| format!("old key: {e}"))?;
    let rotation = parsed
        .verify::<KeyRotation>(&old, &DOCUMENT_LIMITS)
        .map_err(|_| "does not verify under the old key it names".to_owned())?
        .into_value();
    if &rotation.name != name {
        return Err("for another node".to_owned());
    }
    Ok(rotation)
}

/// The payload of a parsed COSE_Sign1, not yet verified: read only to learn which key to
/// verify it with.
fn unverified_payload<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let sign1 =
        coset::CoseSign1::from_slice(bytes).map_err(|e| DecodeError::Schema(e.to_string()))?;
    let payload = sign1.payload.unwrap_or_default();
    codec::decode(&payload, &DOCUMENT_LIMITS)
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
            earlier_rotations: Vec::new(),
        }
    }

    fn signed(doc: NodeDocument, signing: &SigningKey) -> Vec<u8> {
        doc.sign(signing).expect("signs").raw().to_vec()
    }

    #[test]
    fn an_empty_earlier_rotations_array_is_refused() {
        let mut value = crate::gateway::to_value(&document(&key(1))).expect("value");
        if let ciborium::Value::Map(entries) = &mut value {
            entries.push((
                ciborium::Value::from("earlier_rotations"),
                ciborium::Value::Array(Vec::new()),
            ));
        }
        assert!(
            crate::gateway::decode_params::<NodeDocument>(&value).is_err(),
            "absent when empty, never []"
        );
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

    fn rotation_of(old: &SigningKey, new: &SigningKey, ts: u64) -> Vec<u8> {
        KeyRotation {
            name: name(),
            old_key: PublicKey::of(old).to_bytes().to_vec(),
            new_key: PublicKey::of(new).to_bytes().to_vec(),
            ts: Timestamp(ts),
        }
        .sign(old)
        .expect("signs")
    }

    /// A document under key 3 after rotations 1 → 2 (at ts 100) and 2 → 3 (at ts 200).
    fn twice_rotated() -> NodeDocument {
        let mut doc = document(&key(3));
        doc.earlier_rotations = vec![rotation_of(&key(1), &key(2), 100)];
        doc.rotation = Some(rotation_of(&key(2), &key(3), 200));
        doc
    }

    #[test]
    fn a_chain_of_rotations_gives_each_earlier_key_and_when_it_was_replaced() {
        let doc = twice_rotated();
        let history = key_history(&doc).expect("chains");
        assert_eq!(history.current, PublicKey::of(&key(3)));
        assert_eq!(
            history.earlier,
            vec![
                RetiredKey {
                    key: PublicKey::of(&key(1)),
                    replaced_at: Timestamp(100)
                },
                RetiredKey {
                    key: PublicKey::of(&key(2)),
                    replaced_at: Timestamp(200)
                },
            ]
        );
        assert!(history.knows(&PublicKey::of(&key(1))));
        assert!(!history.knows(&PublicKey::of(&key(4))));
        // A fetcher that knew either earlier key follows the chain to key 3.
        let bytes = signed(doc, &key(3));
        for known in [key(1), key(2), key(3)] {
            let known = PublicKey::of(&known);
            assert!(verify_document(&bytes, &name(), Some(&known), NOW).is_ok());
        }
        let stranger = PublicKey::of(&key(4));
        assert!(matches!(
            verify_document(&bytes, &name(), Some(&stranger), NOW),
            Err(DocumentError::UnprovenRotation(_))
        ));
        // No rotation at all: the current key alone.
        let plain = document(&key(1));
        assert_eq!(
            key_history(&plain).expect("no chain"),
            KeyHistory::only(PublicKey::of(&key(1)))
        );
    }

    #[test]
    fn a_broken_chain_refuses_the_document() {
        let refused = |doc: NodeDocument| {
            let signer = key(3);
            let bytes = signed(doc, &signer);
            matches!(
                verify_document(&bytes, &name(), None, NOW),
                Err(DocumentError::UnprovenRotation(_))
            )
        };
        // A missing link: 1 → 2 then 4 → 3.
        let mut gap = twice_rotated();
        gap.rotation = Some(rotation_of(&key(4), &key(3), 200));
        assert!(refused(gap));
        // An earlier link not signed by its old key.
        let mut forged = twice_rotated();
        forged.earlier_rotations = vec![{
            let mut bytes = rotation_of(&key(1), &key(2), 100);
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
            bytes
        }];
        assert!(refused(forged));
        // Out of order in time.
        let mut backwards = twice_rotated();
        backwards.earlier_rotations = vec![rotation_of(&key(1), &key(2), 300)];
        assert!(refused(backwards));
        // Earlier rotations without the latest one.
        let mut headless = twice_rotated();
        headless.rotation = None;
        assert!(refused(headless));
        // The last rotation naming another key than the document's.
        let mut elsewhere = twice_rotated();
        elsewhere.rotation = Some(rotation_of(&key(2), &key(5), 200));
        assert!(refused(elsewhere));
        // Too many links.
        let mut long = document(&key(3));
        long.earlier_rotations = vec![rotation_of(&key(1), &key(2), 100); MAX_ROTATIONS];
        long.rotation = Some(rotation_of(&key(2), &key(3), 200));
        assert!(refused(long));
    }

    #[test]
    fn values_verify_under_the_key_of_their_date() {
        #[derive(Debug, Serialize, Deserialize)]
        struct Dated {
            ts: Timestamp,
        }
        let history = key_history(&twice_rotated()).expect("chains");
        let sign = |signer: &SigningKey, ts: u64| {
            let raw = Signed::sign(Dated { ts: Timestamp(ts) }, &name(), signer)
                .expect("signs")
                .raw()
                .to_vec();
            UnverifiedSign1::parse(&raw, &DOCUMENT_LIMITS).expect("parses")
        };
        let check = |signer: &SigningKey, ts: u64| {
            history.verify_dated::<Dated>(sign(signer, ts), &DOCUMENT_LIMITS, |d| d.ts)
        };
        // The current key signs whatever the date.
        assert!(check(&key(3), 50).is_ok());
        assert!(check(&key(3), 500).is_ok());
        // Key 1 until 100, key 2 until 200.
        assert!(check(&key(1), 99).is_ok());
        assert_eq!(check(&key(1), 100).err(), Some(VerifyError::BadSignature));
        assert!(check(&key(2), 150).is_ok());
        assert!(check(&key(2), 10).is_ok());
        assert_eq!(check(&key(2), 250).err(), Some(VerifyError::BadSignature));
        // A stranger's key never.
        assert_eq!(check(&key(4), 10).err(), Some(VerifyError::BadSignature));
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
