//! CBOR encoding and decoding with explicit limits.
//!
//! Every decode first walks the bytes with [`check_well_formed`], which allocates nothing that
//! the input can size and rejects anything over the [`Limits`]; only then does serde build the
//! typed value. So a header that claims a 4 GiB string or 10,000 levels of nesting is refused
//! before any work is done for it.

mod limits;
mod peek;
mod scan;

pub use limits::Limits;
pub use peek::request_id;
pub use scan::{MAX_SAFE_INTEGER, check_well_formed};

use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

/// Why bytes could not be decoded. `offset` is the byte position where the problem starts.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input is longer than the frame limit.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    FrameTooLarge { len: usize, max: usize },
    /// The input ends inside an item.
    #[error("truncated input at byte {offset}")]
    Truncated { offset: usize },
    /// Bytes follow the top-level item.
    #[error("trailing bytes after the item, at byte {offset}")]
    TrailingBytes { offset: usize },
    /// Arrays and maps nest deeper than allowed.
    #[error("nesting deeper than {max} levels at byte {offset}")]
    TooDeep { offset: usize, max: usize },
    /// An array or map announces more entries than allowed.
    #[error("collection of {len} entries exceeds the limit of {max} at byte {offset}")]
    TooManyItems { offset: usize, len: u64, max: usize },
    /// A text or byte string is longer than allowed.
    #[error("string of {len} bytes exceeds the limit of {max} at byte {offset}")]
    StringTooLong { offset: usize, len: u64, max: usize },
    /// A text string is not UTF-8.
    #[error("invalid UTF-8 in text string at byte {offset}")]
    InvalidUtf8 { offset: usize },
    /// An integer is outside ±(2^53 − 1), the range every implementation represents exactly.
    #[error("integer out of range at byte {offset}")]
    IntegerOutOfRange { offset: usize },
    /// A head is not in its shortest form, so the bytes have more than one encoding.
    #[error("non-canonical length or integer encoding at byte {offset}")]
    NonCanonical { offset: usize },
    /// A map key is not a text string.
    #[error("map key is not a text string at byte {offset}")]
    NonTextKey { offset: usize },
    /// A map repeats a key.
    #[error("duplicate map key at byte {offset}")]
    DuplicateKey { offset: usize },
    /// A CBOR feature the protocol does not use: indefinite lengths, tags, floats,
    /// `undefined` or other simple values, reserved encodings.
    #[error("unsupported CBOR item ({what}) at byte {offset}")]
    Unsupported { offset: usize, what: &'static str },
    /// Well-formed CBOR that does not have the message's shape: a wrong type, a missing
    /// field, an unknown variant where none is allowed, a malformed identifier.
    #[error("invalid message: {0}")]
    Schema(String),
}

/// Why a value could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The serializer refused the value (a type CBOR cannot carry).
    #[error("cannot encode: {0}")]
    Serialize(String),
    /// The encoding exceeds the limits the receiver will apply.
    #[error("encoded message does not fit the limits: {0}")]
    Limits(DecodeError),
}

/// Decodes one CBOR item into `T`, enforcing `limits` before anything is built.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], limits: &Limits) -> Result<T, DecodeError> {
    check_well_formed(bytes, limits)?;
    ciborium::de::from_reader(bytes).map_err(|e| DecodeError::Schema(schema_message(e)))
}

/// Encodes `value` as CBOR: definite lengths, shortest heads, struct fields in declaration order.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out)
        .map_err(|e| EncodeError::Serialize(e.to_string()))?;
    Ok(out)
}

/// Encodes `value` and checks that a receiver applying `limits` will accept the bytes.
pub fn encode_within<T: Serialize + ?Sized>(
    value: &T,
    limits: &Limits,
) -> Result<Vec<u8>, EncodeError> {
    let bytes = encode(value)?;
    check_well_formed(&bytes, limits).map_err(EncodeError::Limits)?;
    Ok(bytes)
}

fn schema_message<E: core::fmt::Debug>(error: ciborium::de::Error<E>) -> String {
    match error {
        ciborium::de::Error::Semantic(_, msg) => msg,
        ciborium::de::Error::Syntax(at) => format!("syntax error at byte {at}"),
        ciborium::de::Error::Io(e) => format!("{e:?}"),
        ciborium::de::Error::RecursionLimitExceeded => "nesting too deep".to_owned(),
    }
}

/// Deserializes a CBOR byte string of exactly `N` bytes (serde's arrays are CBOR arrays).
pub(crate) fn bytes_n<'de, const N: usize, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<[u8; N], D::Error> {
    struct Visit<const N: usize>;
    impl<const N: usize> serde::de::Visitor<'_> for Visit<N> {
        type Value = [u8; N];
        fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            write!(f, "a byte string of {N} bytes")
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<[u8; N], E> {
            v.try_into().map_err(|_| E::invalid_length(v.len(), &self))
        }
    }
    d.deserialize_bytes(Visit::<N>)
}

#[cfg(test)]
mod tests;

/// Deserializes a CBOR map as a [`ciborium::Value`], refusing any other type.
pub(crate) fn value_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<ciborium::Value, D::Error> {
    let value = <ciborium::Value as serde::Deserialize>::deserialize(d)?;
    if value.is_map() {
        Ok(value)
    } else {
        Err(serde::de::Error::custom("expected a map"))
    }
}

/// Deserializes a CBOR text string only. Inside `#[serde(tag = "t")]` frames serde buffers
/// values and would hand a byte string to `String`; this refuses it as the spec requires.
pub(crate) fn text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct Visit;
    impl serde::de::Visitor<'_> for Visit {
        type Value = String;
        fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("a text string")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_string<E: serde::de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
    }
    d.deserialize_str(Visit)
}

/// [`text`] for an optional field: `null` or absent is `None`.
pub(crate) fn optional_text<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    struct Wrap(String);
    impl<'de> serde::Deserialize<'de> for Wrap {
        fn deserialize<D2: serde::Deserializer<'de>>(d: D2) -> Result<Self, D2::Error> {
            text(d).map(Wrap)
        }
    }
    Ok(<Option<Wrap> as serde::Deserialize>::deserialize(d)?.map(|w| w.0))
}

/// A field that must be present but may be `null` (serde reads an absent `Option` as `None`).
pub(crate) fn required_option<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d)
}

/// A tri-state field (`Option<Option<T>>`): absent is `None` (with `#[serde(default)]`),
/// `null` is `Some(None)` and a value is `Some(Some(value))`. Serde alone reads `null` as
/// absent. Serialize with `skip_serializing_if = "Option::is_none"`: `Some(None)` is written as
/// `null`.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// Deserializes a struct from a CBOR map only. Serde's derived structs also accept an array
/// (fields by position), a second encoding the spec does not allow.
pub(crate) fn map_only<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = value_map(d)?;
    deserialize_value(&value).map_err(serde::de::Error::custom)
}

/// Deserializes `T` from a decoded [`ciborium::Value`] (structs from maps only, as every
/// decoder here: protocol.md §3.3); the error is a sentence for people.
pub fn deserialize_value<T: DeserializeOwned>(value: &ciborium::Value) -> Result<T, String> {
    value.deserialized().map_err(value_error)
}

/// The message of an error from [`ciborium::Value::deserialized`]: the text serde produced ("missing
/// field `text`"), without the `Custom(…)` wrapper its `Display` shows (it prints `Debug`).
fn value_error(error: ciborium::value::Error) -> String {
    let ciborium::value::Error::Custom(message) = error;
    message
}

/// Decodes a frame: like [`decode`], and the top-level item must be a map (serde's tagged
/// enums would also take an array with the tag first).
pub(crate) fn decode_frame<T: DeserializeOwned>(
    bytes: &[u8],
    limits: &Limits,
) -> Result<T, DecodeError> {
    check_well_formed(bytes, limits)?;
    if bytes.first().is_none_or(|b| b >> 5 != 5) {
        return Err(DecodeError::Schema("a frame must be a map".to_owned()));
    }
    ciborium::de::from_reader(bytes).map_err(|e| DecodeError::Schema(schema_message(e)))
}

/// Serde for a CBOR byte string (`Vec<u8>` alone would be an array of integers).
pub(crate) mod byte_string {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Self::Value, E> {
                Ok(v)
            }
        }
        d.deserialize_bytes(Visit)
    }
}

/// Serde for an optional CBOR byte string (`Vec<u8>` alone would be an array of integers).
pub(crate) mod optional_bytes {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_bytes(b),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Option<Vec<u8>>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a byte string or null")
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                d.deserialize_bytes(self)
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                Ok(Some(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Self::Value, E> {
                Ok(Some(v))
            }
        }
        d.deserialize_option(Visit)
    }
}
