//! [`ChatError`]: why a chat operation failed, mapped onto the gateway's error codes.

use winichat_protocol::error_code::{ErrorBody, ErrorCode};
use winichat_protocol::group::{ApplyError, BodyError, Denied};

use crate::storage::StorageError;

/// Why a chat operation failed. `Display` is the message the client sees.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The request is malformed or over a limit.
    #[error("{0}")]
    BadRequest(String),
    /// No such chat, message or link — or the caller may not learn that it exists.
    #[error("{0}")]
    NotFound(&'static str),
    /// [`winichat_protocol::group::authorize`] refused.
    #[error("{0}")]
    Denied(#[from] Denied),
    /// The request conflicts with the current state (a handle taken …).
    #[error("{0}")]
    Conflict(String),
    /// The node failed; the cause is logged, not sent.
    #[error("internal error")]
    Internal,
    /// Not even one entry of the answer fits in a frame (gateway.md §1): the request is
    /// refused, the connection stays open.
    #[error("the reply would be over the frame limit")]
    TooLarge,
    /// Another node that must take part (the group's home) cannot be reached now. A request
    /// given up on is abandoned, but one that reached the home just before may still have
    /// been applied: a retry with the same txn is safe either way.
    #[error("{0}")]
    Unavailable(String),
    /// The group's home node refused; its answer is passed on as it came.
    #[error("{}", .0.message)]
    Remote(ErrorBody),
}

impl ChatError {
    /// Logs `cause` and returns [`ChatError::Internal`].
    pub(crate) fn internal(cause: impl std::fmt::Display) -> ChatError {
        tracing::error!(error = %cause, "chats: internal error");
        ChatError::Internal
    }

    /// The error body a client gets.
    pub fn body(&self) -> ErrorBody {
        let code = match self {
            ChatError::BadRequest(_) => ErrorCode::BadRequest,
            ChatError::NotFound(_) => ErrorCode::NotFound,
            ChatError::Denied(Denied::AlreadyMember) => ErrorCode::Conflict,
            ChatError::Denied(_) => ErrorCode::Forbidden,
            ChatError::Conflict(_) => ErrorCode::Conflict,
            ChatError::Internal => ErrorCode::Internal,
            ChatError::TooLarge => ErrorCode::TooLarge,
            ChatError::Unavailable(_) => ErrorCode::Unavailable,
            ChatError::Remote(body) => return body.clone(),
        };
        ErrorBody::new(code, self.to_string())
    }
}

impl From<StorageError> for ChatError {
    fn from(e: StorageError) -> ChatError {
        ChatError::internal(e)
    }
}

impl From<BodyError> for ChatError {
    fn from(e: BodyError) -> ChatError {
        ChatError::BadRequest(e.to_string())
    }
}

impl From<ApplyError> for ChatError {
    fn from(e: ApplyError) -> ChatError {
        ChatError::BadRequest(e.to_string())
    }
}

impl From<crate::media::MediaError> for ChatError {
    fn from(e: crate::media::MediaError) -> Self {
        use crate::media::MediaError;
        match e {
            MediaError::NotFound => ChatError::NotFound("no such media"),
            MediaError::Invalid(reason) => ChatError::BadRequest(reason),
            e @ (MediaError::TooLarge { .. }
            | MediaError::QuotaExceeded { .. }
            | MediaError::ImageTooLarge { .. }) => ChatError::BadRequest(e.to_string()),
            MediaError::Storage(e) => ChatError::internal(e),
            MediaError::Io(e) => ChatError::internal(e),
            // Only uploads are counted, and the chat layer never uploads.
            e @ MediaError::TooManyUploads { .. } => ChatError::internal(e),
        }
    }
}
