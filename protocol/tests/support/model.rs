//! The JSON shape of `spec/vectors/*.json` (described in spec/README.md).

use serde::{Deserialize, Serialize};

/// One file of vectors: one message family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorFile {
    pub family: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cases: Vec<Case>,
    /// Only in `log.json`: sequences of signed events fed to `check_next`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_cases: Vec<LogCase>,
    /// Only in `media.json`: JSON documents of the HTTP API (the upload result).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub json_cases: Vec<JsonCase>,
}

/// A JSON document (not CBOR) and what a receiver must make of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonCase {
    pub name: String,
    /// The CDDL rule the document is meant as.
    pub rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub json: serde_json::Value,
    /// `"valid"` (and it re-serializes to `json` exactly) or `{"error": "schema"}`.
    pub expect: Expect,
}

/// One message and what a receiver must make of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// The CDDL rule (spec/cddl/winichat.cddl) the bytes are meant as.
    pub rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub hex: String,
    /// RFC 8949 diagnostic notation; `null` when the bytes are not well-formed CBOR.
    pub diag: Option<String>,
    pub expect: Expect,
    /// For a valid case whose decoded value re-encodes to other bytes (unknown fields dropped,
    /// fields put in canonical order): those bytes. Absent: re-encodes to `hex` exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reencoded_hex: Option<String>,
    /// Whether the bytes match the CDDL rule, where that differs from the default
    /// (valid → matches; `schema` error → does not; other errors → not checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cddl: Option<CddlExpect>,
    /// Signed cases: the Ed25519 public key (32 bytes, hex) to verify with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Valid signed events: the event id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Valid signed federation requests: the addressing check at a receiver.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addressed: Vec<Addressed>,
}

/// `"valid"` or `{"error": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Expect {
    Valid(ValidTag),
    Error(ErrorExpect),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValidTag {
    Valid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorExpect {
    /// The error variant in snake_case (DecodeError, VerifyError, KeyError, LogError).
    pub error: String,
    /// For `payload` (a signed payload that does not decode): the DecodeError variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// For a malformed identifier: the IdError variant its text form fails with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CddlExpect {
    Valid,
    Invalid,
}

/// `FedRequest::check_addressed` at receiver `receiver` whose clock reads `now`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Addressed {
    pub receiver: String,
    pub now: u64,
    pub expect: Expect,
}

/// A sequence of signed events offered, in order, to a receiver holding an empty log of
/// `group`; after each accepted event the log head moves to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogCase {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub group: String,
    pub public_key: String,
    pub steps: Vec<LogStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogStep {
    pub rule: String,
    pub hex: String,
    pub diag: Option<String>,
    pub event_id: String,
    /// `"valid"` (appended) or the LogError variant.
    pub expect: Expect,
}

impl Expect {
    pub fn valid() -> Self {
        Expect::Valid(ValidTag::Valid)
    }
    pub fn error(name: &str) -> Self {
        Expect::Error(ErrorExpect {
            error: name.to_owned(),
            cause: None,
            id_error: None,
        })
    }
    pub fn id(id_error: &str) -> Self {
        Expect::Error(ErrorExpect {
            error: "schema".to_owned(),
            cause: None,
            id_error: Some(id_error.to_owned()),
        })
    }
    pub fn payload(cause: &str) -> Self {
        Expect::Error(ErrorExpect {
            error: "payload".to_owned(),
            cause: Some(cause.to_owned()),
            id_error: None,
        })
    }
    pub fn is_valid(&self) -> bool {
        matches!(self, Expect::Valid(_))
    }
    pub fn error_name(&self) -> Option<&str> {
        match self {
            Expect::Valid(_) => None,
            Expect::Error(e) => Some(&e.error),
        }
    }
}
