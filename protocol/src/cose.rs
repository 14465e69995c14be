//! COSE_Sign1 (RFC 9052) with Ed25519 (COSE algorithm -19).
//!
//! The payload is carried as a byte string and the received bytes are kept, so a signature is
//! always checked over exactly the bytes that were signed, never over a re-encoding.
//!
//! Profile: untagged `COSE_Sign1`; the protected header is exactly `{1: -19, 4: kid}`, where
//! `kid` is the UTF-8 name of the signing node; the unprotected header is empty; the payload is
//! attached; external AAD is empty.

use coset::{CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, iana};
use ed25519_dalek::{Signature, Signer, SigningKey};
use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

use crate::codec::{self, DecodeError, EncodeError, Limits};
use crate::ids::NodeName;
use crate::keys::PublicKey;

/// Why a COSE_Sign1 did not verify.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The signature does not match the payload under the key (wrong key, altered bytes, or a
    /// signature that `verify_strict` refuses).
    #[error("signature does not verify")]
    BadSignature,
    /// The payload is not a valid message of the expected type.
    #[error("signed payload: {0}")]
    Payload(DecodeError),
}

/// A COSE_Sign1 that has been parsed but not yet verified. Read [`signer`](Self::signer) to
/// find which key to check it with, then call [`verify`](Self::verify).
#[derive(Debug, Clone)]
pub struct UnverifiedSign1 {
    raw: Vec<u8>,
    signer: NodeName,
    sign1: CoseSign1,
    signature: Signature,
}

impl UnverifiedSign1 {
    /// Parses a COSE_Sign1 in the protocol's profile.
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Self, DecodeError> {
        codec::check_well_formed(bytes, limits)?;
        check_protected_header_bytes(bytes)?;
        let sign1 = CoseSign1::from_slice(bytes)
            .map_err(|e| DecodeError::Schema(format!("not a COSE_Sign1: {e}")))?;
        let header = &sign1.protected.header;
        let alg_ok = header.alg
            == Some(coset::RegisteredLabelWithPrivate::Assigned(
                iana::Algorithm::Ed25519,
            ));
        if !alg_ok {
            return Err(DecodeError::Schema(
                "COSE_Sign1 algorithm must be Ed25519 (-19)".to_owned(),
            ));
        }
        let only_alg_and_kid = header.crit.is_empty()
            && header.content_type.is_none()
            && header.iv.is_empty()
            && header.partial_iv.is_empty()
            && header.counter_signatures.is_empty()
            && header.rest.is_empty();
        if !only_alg_and_kid || !sign1.unprotected.is_empty() {
            return Err(DecodeError::Schema(
                "COSE_Sign1 headers must be exactly {1: -19, 4: kid} and {}".to_owned(),
            ));
        }
        let signer = core::str::from_utf8(&header.key_id)
            .ok()
            .and_then(|kid| NodeName::parse(kid).ok())
            .ok_or_else(|| DecodeError::Schema("COSE_Sign1 kid is not a node name".to_owned()))?;
        if sign1.payload.is_none() {
            return Err(DecodeError::Schema(
                "COSE_Sign1 payload must be attached".to_owned(),
            ));
        }
        let signature = Signature::from_slice(&sign1.signature)
            .map_err(|_| DecodeError::Schema("COSE_Sign1 signature must be 64 bytes".to_owned()))?;
        Ok(Self {
            raw: bytes.to_vec(),
            signer,
            sign1,
            signature,
        })
    }

    /// The node that claims to have signed this.
    pub fn signer(&self) -> &NodeName {
        &self.signer
    }

    /// Decodes the payload WITHOUT checking the signature: only for bytes the caller itself
    /// verified before storing them (a node reading its own log after its key was rotated,
    /// or a replica's copy of another home's events). Anything received is
    /// [`verify`](Self::verify)ed.
    pub fn decode_stored<T: DeserializeOwned>(
        self,
        payload_limits: &Limits,
    ) -> Result<T, DecodeError> {
        let payload = self.sign1.payload.unwrap_or_default();
        codec::decode(&payload, payload_limits)
    }

    /// Checks the signature with `verify_strict` under `key`, then decodes the payload.
    pub fn verify<T: DeserializeOwned>(
        self,
        key: &PublicKey,
        payload_limits: &Limits,
    ) -> Result<Signed<T>, VerifyError> {
        let to_be_signed = self.sign1.tbs_data(&[]);
        key.verifying_key()
            .verify_strict(&to_be_signed, &self.signature)
            .map_err(|_| VerifyError::BadSignature)?;
        let payload = self.sign1.payload.unwrap_or_default();
        let value = codec::decode(&payload, payload_limits).map_err(VerifyError::Payload)?;
        Ok(Signed {
            raw: self.raw,
            payload,
            signer: self.signer,
            value,
        })
    }
}

/// A signed value together with the exact bytes it arrived in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed<T> {
    raw: Vec<u8>,
    payload: Vec<u8>,
    signer: NodeName,
    value: T,
}

impl<T: Serialize> Signed<T> {
    /// Encodes `value` and signs it as `signer` with `key`. Refuses a payload that no
    /// receiver would accept (outside the protocol's CBOR subset, or over the largest limits).
    pub fn sign(value: T, signer: &NodeName, key: &SigningKey) -> Result<Self, EncodeError> {
        let payload = codec::encode_within(&value, &Limits::FEDERATION_FRAME)?;
        let protected = HeaderBuilder::new()
            .algorithm(iana::Algorithm::Ed25519)
            .key_id(signer.as_str().as_bytes().to_vec())
            .build();
        let sign1 = CoseSign1Builder::new()
            .protected(protected)
            .payload(payload.clone())
            .create_signature(&[], |to_be_signed| key.sign(to_be_signed).to_vec())
            .build();
        let raw = sign1
            .to_vec()
            .map_err(|e| EncodeError::Serialize(e.to_string()))?;
        Ok(Self {
            raw,
            payload,
            signer: signer.clone(),
            value,
        })
    }
}

impl<T> Signed<T> {
    /// The COSE_Sign1 bytes exactly as signed and received.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The payload bytes (the CBOR encoding of the value) exactly as signed.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The node whose key verified the signature.
    pub fn signer(&self) -> &NodeName {
        &self.signer
    }

    /// The decoded value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// Takes the decoded value, dropping the bytes.
    pub fn into_value(self) -> T {
        self.value
    }
}

/// The protected header is a byte string holding CBOR that the COSE library decodes itself, so
/// it gets the same limits walk before that happens.
fn check_protected_header_bytes(bytes: &[u8]) -> Result<(), DecodeError> {
    // An untagged COSE_Sign1 starts with array(4) (0x84), then the protected bstr.
    let rest = match bytes.split_first() {
        Some((0x84, rest)) => rest,
        _ => {
            return Err(DecodeError::Schema(
                "COSE_Sign1 must be an array of 4 items".to_owned(),
            ));
        }
    };
    let (len, header_len) = match rest {
        [b @ 0x40..=0x57, ..] => (usize::from(b - 0x40), 1),
        [0x58, n, ..] => (usize::from(*n), 2),
        [0x59, hi, lo, ..] => (usize::from(u16::from_be_bytes([*hi, *lo])), 3),
        _ => {
            return Err(DecodeError::Schema(
                "COSE_Sign1 protected header must be a byte string".to_owned(),
            ));
        }
    };
    let protected = rest
        .get(header_len..header_len + len)
        .ok_or(DecodeError::Truncated {
            offset: bytes.len(),
        })?;
    codec::check_well_formed(protected, &Limits::PROTECTED_HEADER)
}

#[cfg(test)]
mod tests {
    use ciborium::Value;
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::event::{Event, EventKind};
    use crate::ids::{GroupId, UserId};
    use crate::keys::KeyError;
    use crate::time::Timestamp;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn home() -> NodeName {
        NodeName::parse("chat.example.org").expect("valid")
    }

    fn event() -> Event {
        Event::next(
            GroupId::parse("!k3x9q2:chat.example.org").expect("valid"),
            None,
            Timestamp(1_700_000_000_000),
            UserId::parse("@alice:chat.example.org").expect("valid"),
            EventKind::GroupCreate,
            Value::Map(vec![(Value::from("name"), Value::from("Rust"))]),
        )
    }

    fn signed() -> Signed<Event> {
        Signed::sign(event(), &home(), &key(1)).expect("signs")
    }

    #[test]
    fn sign_parse_verify_round_trip() {
        let signed = signed();
        let parsed = UnverifiedSign1::parse(signed.raw(), &Limits::EVENT).expect("parses");
        assert_eq!(parsed.signer(), &home());
        let verified: Signed<Event> = parsed
            .verify(&PublicKey::of(&key(1)), &Limits::EVENT)
            .expect("verifies");
        assert_eq!(verified, signed);
        assert_eq!(verified.value(), &event());
        // The protected header is exactly {1: -19, 4: kid}.
        assert_eq!(&signed.raw()[..6], &[0x84, 0x55, 0xa2, 0x01, 0x32, 0x04]);
    }

    #[test]
    fn another_key_fails() {
        let parsed = UnverifiedSign1::parse(signed().raw(), &Limits::EVENT).expect("parses");
        assert_eq!(
            parsed
                .verify::<Event>(&PublicKey::of(&key(2)), &Limits::EVENT)
                .map(|_| ()),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn every_flipped_byte_fails() {
        let raw = signed().raw().to_vec();
        let key = PublicKey::of(&key(1));
        for index in 0..raw.len() {
            let mut bytes = raw.clone();
            bytes[index] ^= 0x01;
            let outcome = UnverifiedSign1::parse(&bytes, &Limits::EVENT)
                .map_err(|_| ())
                .and_then(|p| p.verify::<Event>(&key, &Limits::EVENT).map_err(|_| ()));
            assert!(outcome.is_err(), "flipping byte {index} still verified");
        }
    }

    #[test]
    fn small_order_public_keys_are_refused() {
        // The identity point and a point of order 8: any signature "verifies" under a weak
        // key with lax checks.
        let identity = {
            let mut b = [0u8; 32];
            b[0] = 1;
            b
        };
        let order_eight: [u8; 32] = [
            0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10,
            0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77,
            0x92, 0xac, 0x03, 0x7a,
        ];
        for weak in [identity, order_eight] {
            assert_eq!(PublicKey::from_bytes(&weak), Err(KeyError::WeakKey));
            // verify_strict itself refuses a weak key as well.
            let vk = ed25519_dalek::VerifyingKey::from_bytes(&weak).expect("a curve point");
            let sig = ed25519_dalek::Signature::from_bytes(&[0u8; 64]);
            assert!(vk.verify_strict(b"anything", &sig).is_err());
        }
    }

    #[test]
    fn profile_is_enforced() {
        // A COSE_Sign1 with the deprecated EdDSA (-8) algorithm is refused.
        let protected = HeaderBuilder::new()
            .algorithm(iana::Algorithm::EdDSA)
            .key_id(b"chat.example.org".to_vec())
            .build();
        let sign1 = CoseSign1Builder::new()
            .protected(protected)
            .payload(vec![0xa0])
            .create_signature(&[], |m| key(1).sign(m).to_vec())
            .build();
        let bytes = sign1.to_vec().expect("encodes");
        assert!(matches!(
            UnverifiedSign1::parse(&bytes, &Limits::EVENT),
            Err(DecodeError::Schema(m)) if m.contains("Ed25519")
        ));
        // A kid that is not a node name is refused.
        let protected = HeaderBuilder::new()
            .algorithm(iana::Algorithm::Ed25519)
            .key_id(b"Not A Node".to_vec())
            .build();
        let sign1 = CoseSign1Builder::new()
            .protected(protected)
            .payload(vec![0xa0])
            .create_signature(&[], |m| key(1).sign(m).to_vec())
            .build();
        let bytes = sign1.to_vec().expect("encodes");
        assert!(matches!(
            UnverifiedSign1::parse(&bytes, &Limits::EVENT),
            Err(DecodeError::Schema(m)) if m.contains("kid")
        ));
        // The tagged form (tag 18) is not the profile.
        let tagged = [&[0xd2][..], signed().raw()].concat();
        assert!(matches!(
            UnverifiedSign1::parse(&tagged, &Limits::EVENT),
            Err(DecodeError::Unsupported { what: "tag", .. })
        ));
    }

    #[test]
    fn a_valid_signature_over_a_bad_payload_is_a_payload_error() {
        let signed = Signed::sign(Value::from("not an event"), &home(), &key(1)).expect("signs");
        let parsed = UnverifiedSign1::parse(signed.raw(), &Limits::EVENT).expect("parses");
        assert!(matches!(
            parsed.verify::<Event>(&PublicKey::of(&key(1)), &Limits::EVENT),
            Err(VerifyError::Payload(DecodeError::Schema(_)))
        ));
    }

    #[test]
    fn stored_bytes_decode_without_a_key_but_only_in_the_profile() {
        let signed = Signed::sign(Value::from("stored"), &home(), &key(1)).expect("signs");
        let parsed = UnverifiedSign1::parse(signed.raw(), &Limits::EVENT).expect("parses");
        let value: Value = parsed.decode_stored(&Limits::EVENT).expect("decodes");
        assert_eq!(value, Value::from("stored"));
        // The payload limits still apply.
        let parsed = UnverifiedSign1::parse(signed.raw(), &Limits::EVENT).expect("parses");
        assert!(parsed.decode_stored::<Event>(&Limits::EVENT).is_err());
    }
}
