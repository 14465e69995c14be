use thiserror::Error;

/// Why a text could not be parsed as an identifier.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum IdError {
    /// The text is longer than any identifier may be.
    #[error("identifier is longer than {max} bytes")]
    TooLong { max: usize },
    /// The leading sigil (`@`, `!`, `#`, `$`) is missing or wrong.
    #[error("identifier must start with '{expected}'")]
    MissingSigil { expected: char },
    /// A qualified identifier has no `:node` part.
    #[error("identifier has no ':node' part")]
    MissingNode,
    /// The node name is not a DNS name or IP address with an optional port.
    #[error("invalid node name: {0}")]
    InvalidNode(&'static str),
    /// The local part of a user id breaks the user name rules.
    #[error("invalid user name: must be 3 to 32 characters of a-z, 0-9, '_', '.', '-'")]
    InvalidUserName,
    /// The random part of a group id is malformed.
    #[error("invalid group id: the part after '!' must be 6 to 32 characters of a-z, 0-9")]
    InvalidGroupLocal,
    /// A public handle breaks `^[_a-z][_a-z0-9]{{2,50}}$`.
    #[error("invalid handle: must match ^[_a-z][_a-z0-9]{{2,50}}$")]
    InvalidHandle,
    /// An event id is not `$` followed by 43 characters of unpadded base64url.
    #[error("invalid event id: must be '$' and the unpadded base64url of 32 bytes")]
    InvalidEventId,
    /// A media id's hash is not 32 bytes (64 lowercase hex digits in text form).
    #[error("invalid media id: expected node/sha256 with 64 lowercase hex digits")]
    InvalidMediaId,
}
