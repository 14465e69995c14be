//! Properties shared by the fuzz targets. Every target asserts more than "no panic": what a
//! decoder accepts must be well-formed, must re-encode within the same limits, and must decode
//! again to an equal value whose encoding is the same bytes.

#![allow(dead_code)] // each target uses a part of this module

use core::fmt::Debug;
use std::sync::LazyLock;

use coset::{CborSerializable, CoseSign1Builder, HeaderBuilder, iana};
use serde::Serialize;
use serde::de::DeserializeOwned;
use winichat_protocol::codec::{self, DecodeError, EncodeError, Limits};
use winichat_protocol::cose::{Signed, UnverifiedSign1, VerifyError};
use winichat_protocol::ed25519_dalek::{Signer, SigningKey};
use winichat_protocol::ids::NodeName;
use winichat_protocol::keys::PublicKey;

static SIGNING_KEY: LazyLock<SigningKey> = LazyLock::new(|| SigningKey::from_bytes(&[0x42; 32]));
static PUBLIC_KEY: LazyLock<PublicKey> = LazyLock::new(|| PublicKey::of(&SIGNING_KEY));
static OTHER_KEY: LazyLock<PublicKey> =
    LazyLock::new(|| PublicKey::of(&SigningKey::from_bytes(&[0x43; 32])));

/// The fixed key the COSE targets sign and verify with.
pub fn signing_key() -> &'static SigningKey {
    &SIGNING_KEY
}

/// Its public half.
pub fn public_key() -> &'static PublicKey {
    &PUBLIC_KEY
}

/// A key that must never verify what [`signing_key`] signed.
pub fn other_key() -> &'static PublicKey {
    &OTHER_KEY
}

/// The name the COSE targets sign as.
pub fn signer() -> NodeName {
    NodeName::parse("fuzz.example").expect("a valid node name")
}

/// Properties of a frame decoder (`decode`, `encode`) applying `limits`:
/// - it agrees with `check_well_formed`: bytes that fail the walk fail the decoder with the
///   same error; well-formed bytes fail, if at all, only with a schema error;
/// - an accepted frame re-encodes within the limits, no larger than the input, to bytes that
///   decode to an equal value and re-encode to the same bytes (one canonical form).
pub fn frame_properties<T: PartialEq + Debug>(
    data: &[u8],
    limits: &Limits,
    decode: fn(&[u8]) -> Result<T, DecodeError>,
    encode: fn(&T) -> Result<Vec<u8>, EncodeError>,
) {
    let walk = codec::check_well_formed(data, limits);
    let decoded = decode(data);
    match (&walk, &decoded) {
        (Err(walk), Ok(value)) => {
            panic!("decoder accepted {value:?} from bytes check_well_formed refuses: {walk}")
        }
        (Err(walk), Err(error)) => assert_eq!(walk, error, "decoder hid the walk's error"),
        (Ok(()), Err(error)) => assert!(
            matches!(error, DecodeError::Schema(_)),
            "well-formed bytes failed with a non-schema error: {error:?}"
        ),
        (Ok(()), Ok(_)) => {}
    }
    let Ok(value) = decoded else { return };
    let bytes = encode(&value).expect("a decoded frame re-encodes within its limits");
    assert!(
        bytes.len() <= data.len(),
        "re-encoding grew from {} to {} bytes",
        data.len(),
        bytes.len()
    );
    codec::check_well_formed(&bytes, limits).expect("a re-encoded frame is well-formed");
    let again = decode(&bytes).expect("a re-encoded frame decodes");
    assert_eq!(again, value, "decode(encode(x)) != x");
    assert_eq!(
        encode(&again).expect("re-encodes"),
        bytes,
        "two encodings of one value"
    );
}

/// A COSE_Sign1 in the protocol's profile over arbitrary `payload` bytes, signed by the fixed
/// key as `signer()`; reaches the payload decoder behind a valid signature.
pub fn sign_raw_payload(payload: &[u8]) -> Vec<u8> {
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::Ed25519)
        .key_id(signer().as_str().as_bytes().to_vec())
        .build();
    let key = signing_key();
    CoseSign1Builder::new()
        .protected(protected)
        .payload(payload.to_vec())
        .create_signature(&[], |tbs| key.sign(tbs).to_vec())
        .build()
        .to_vec()
        .expect("a COSE_Sign1 encodes")
}

/// Properties of `UnverifiedSign1::parse` then `verify::<T>` with `limits` for both the frame
/// and the payload.
///
/// The first input byte picks the mode: even → the rest is parsed as a COSE_Sign1 as is (it
/// must never verify under another key, and what parses is well-formed); odd → the rest is a
/// payload, validly signed here, so verification must succeed and only the payload decoder
/// can refuse it, with exactly the error `codec::decode` gives. Whatever verifies keeps its
/// bytes, and signing the decoded value again round-trips through parse and verify.
pub fn cose_properties<T>(data: &[u8], limits: &Limits)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug + Clone,
{
    let Some((mode, rest)) = data.split_first() else {
        assert!(UnverifiedSign1::parse(data, limits).is_err());
        return;
    };
    if mode & 1 == 0 {
        let Ok(parsed) = UnverifiedSign1::parse(rest, limits) else {
            return;
        };
        codec::check_well_formed(rest, limits).expect("a parsed COSE_Sign1 is well-formed");
        NodeName::parse(parsed.signer().as_str()).expect("the signer is a valid node name");
        assert!(
            matches!(
                parsed.clone().verify::<T>(other_key(), limits),
                Err(VerifyError::BadSignature)
            ),
            "verified under an unrelated key"
        );
        if let Ok(signed) = parsed.verify::<T>(public_key(), limits) {
            assert_eq!(signed.raw(), rest, "verified bytes differ from the input");
            resign_round_trip(signed.into_value(), limits);
        }
        return;
    }
    let raw = sign_raw_payload(rest);
    let parsed = match UnverifiedSign1::parse(&raw, limits) {
        Ok(parsed) => parsed,
        Err(error) => {
            // Only a payload over the limits may make our own signature unparseable.
            assert!(
                raw.len() > limits.max_frame || rest.len() > limits.max_string,
                "a valid COSE_Sign1 of {} bytes failed to parse: {error:?}",
                raw.len()
            );
            return;
        }
    };
    assert_eq!(parsed.signer(), &signer());
    assert!(matches!(
        parsed.clone().verify::<T>(other_key(), limits),
        Err(VerifyError::BadSignature)
    ));
    let direct = codec::decode::<T>(rest, limits);
    match (parsed.verify::<T>(public_key(), limits), direct) {
        (Ok(signed), Ok(value)) => {
            assert_eq!(signed.value(), &value);
            assert_eq!(signed.raw(), raw.as_slice());
            assert_eq!(signed.payload(), rest);
            assert_eq!(signed.signer(), &signer());
            resign_round_trip(value, limits);
        }
        (Err(VerifyError::Payload(got)), Err(want)) => assert_eq!(got, want),
        (got, want) => panic!("verify gave {got:?}, codec::decode gave {want:?}"),
    }
}

/// `Signed::sign` then parse then verify gives back the same `Signed` (value and bytes).
fn resign_round_trip<T>(value: T, limits: &Limits)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug + Clone,
{
    let signed =
        Signed::sign(value.clone(), &signer(), signing_key()).expect("a decoded value signs");
    assert_eq!(signed.value(), &value);
    let parsed = UnverifiedSign1::parse(signed.raw(), limits).expect("own signature parses");
    let verified = parsed
        .verify::<T>(public_key(), limits)
        .expect("own signature verifies");
    assert_eq!(verified, signed);
}
