//! Validated identifiers (ARCHITECTURE "Names"): parse, don't validate.
//!
//! Every identifier is a newtype that can only hold a well-formed value, so code that receives
//! one never re-checks it. On the wire each is a CBOR text string in the form shown by its
//! `Display` implementation, except [`MediaId`], which is a map.

mod error;
mod event;
mod group;
mod handle;
mod media;
mod node;
mod user;

pub use error::IdError;
pub use event::EventId;
pub use group::GroupId;
pub use handle::{Handle, check_handle_name};
pub use media::MediaId;
pub use node::NodeName;
pub use user::{UserId, check_user_name};

/// Longest text form of any identifier, in bytes.
pub const MAX_ID_LEN: usize = 255;

/// Splits `sigil local ':' node` at the first colon; the node part may itself hold a port.
fn split_qualified(input: &str, sigil: char) -> Result<(&str, NodeName), IdError> {
    if input.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { max: MAX_ID_LEN });
    }
    let rest = input
        .strip_prefix(sigil)
        .ok_or(IdError::MissingSigil { expected: sigil })?;
    let (local, node) = rest.split_once(':').ok_or(IdError::MissingNode)?;
    Ok((local, node.parse()?))
}

/// Implements `Display`, `FromStr`, `as_str`, and serde as a text string for a newtype over
/// `String` whose constructor is `fn parse(&str) -> Result<Self, IdError>`.
macro_rules! text_identifier {
    ($ty:ident) => {
        impl $ty {
            /// The identifier's text form.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl ::core::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl ::core::str::FromStr for $ty {
            type Err = $crate::ids::IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
        impl ::core::convert::TryFrom<&str> for $ty {
            type Error = $crate::ids::IdError;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }
        impl ::core::convert::AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Visit;
                impl ::serde::de::Visitor<'_> for Visit {
                    type Value = $ty;
                    fn expecting(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                        f.write_str(concat!("a ", stringify!($ty), " text string"))
                    }
                    fn visit_str<E: ::serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        $ty::parse(v).map_err(E::custom)
                    }
                }
                d.deserialize_str(Visit)
            }
        }
    };
}
pub(crate) use text_identifier;

#[cfg(test)]
mod tests;
