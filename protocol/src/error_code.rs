//! Error codes shared by client replies and federation responses.

use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ($($variant:ident => $text:literal, $doc:literal;)*) => {
        /// A machine-readable error code. Unknown codes from newer nodes are kept as
        /// [`ErrorCode::Unknown`] so a client can still show the message.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $(#[doc = $doc] $variant,)*
            /// A code this version does not know.
            Unknown(String),
        }

        impl ErrorCode {
            /// Every code this version knows.
            pub const KNOWN: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The wire text of the code.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                    ErrorCode::Unknown(text) => text,
                }
            }

            /// Parses wire text; unknown text becomes [`ErrorCode::Unknown`].
            pub fn parse(text: &str) -> Self {
                match text {
                    $($text => ErrorCode::$variant,)*
                    other => ErrorCode::Unknown(other.to_owned()),
                }
            }
        }
    };
}

error_codes! {
    BadRequest => "bad_request", "The request is malformed: wrong types, missing or invalid fields.";
    UnknownMethod => "unknown_method", "No such method in this protocol version.";
    Unauthenticated => "unauthenticated", "No valid credentials (missing, expired or revoked token).";
    Forbidden => "forbidden", "Authenticated, but not allowed to do this.";
    NotFound => "not_found", "No such thing, or the caller may not know it exists.";
    Conflict => "conflict", "The request conflicts with current state (taken name, wrong seq).";
    TooLarge => "too_large", "A frame, field or upload is over its limit.";
    RateLimited => "rate_limited", "Too many requests; retry later.";
    Unavailable => "unavailable", "Temporarily unable to serve (shutting down, overloaded, peer down).";
    Internal => "internal", "The node failed; the cause is logged on the node, not sent.";
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::codec::text(d).map(|s| ErrorCode::parse(&s))
    }
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as sent on the wire: a code for programs and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for programs.
    pub code: ErrorCode,
    /// What went wrong, for people. Never holds internal details.
    #[serde(deserialize_with = "crate::codec::text")]
    pub message: String,
}

impl ErrorBody {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}
