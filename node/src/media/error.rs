//! Why a media operation failed, and how that is told to a client.

use axum::http::StatusCode;
use winichat_protocol::error_code::ErrorCode;

use crate::storage::StorageError;

/// Why a media operation failed. `Display` is one line fit for the client, except for
/// [`MediaError::Storage`] and [`MediaError::Io`], whose detail is logged and replaced by
/// "internal error" on the wire (see [`MediaError::client_message`]).
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The upload is larger than the node accepts (`413`).
    #[error("the upload is larger than this node accepts ({limit} bytes)")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The upload would take the user over their storage quota (`403`).
    #[error("the upload would exceed your storage quota of {quota} bytes")]
    QuotaExceeded {
        /// The quota, in bytes.
        quota: u64,
    },
    /// The user has the most uploads in progress the node allows (`429 rate_limited`).
    #[error("too many uploads at once: at most {limit} per user; retry when one has finished")]
    TooManyUploads {
        /// Uploads one user may have in progress.
        limit: usize,
    },
    /// An image's dimensions are over the node's limits (`422 image_too_large`).
    #[error("the image is too large: {width} × {height} pixels")]
    ImageTooLarge {
        /// Width the image claims.
        width: u32,
        /// Height the image claims.
        height: u32,
    },
    /// No such media, or the caller may not see it (`404`; the two are never told apart).
    #[error("no such media")]
    NotFound,
    /// The request is malformed (`400`).
    #[error("{0}")]
    Invalid(String),
    /// The database failed (`500`).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The blob store or the staged file failed (`500`).
    #[error("media I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// The wire code of [`MediaError::ImageTooLarge`].
pub const IMAGE_TOO_LARGE: &str = "image_too_large";
/// The wire code of [`MediaError::QuotaExceeded`].
pub const QUOTA_EXCEEDED: &str = "quota_exceeded";

impl MediaError {
    /// A [`MediaError::Invalid`].
    pub fn invalid(reason: impl Into<String>) -> Self {
        MediaError::Invalid(reason.into())
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            MediaError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            MediaError::QuotaExceeded { .. } => StatusCode::FORBIDDEN,
            MediaError::TooManyUploads { .. } => StatusCode::TOO_MANY_REQUESTS,
            MediaError::ImageTooLarge { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            MediaError::NotFound => StatusCode::NOT_FOUND,
            MediaError::Invalid(_) => StatusCode::BAD_REQUEST,
            MediaError::Storage(_) | MediaError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable code (HTTP error bodies and gateway replies).
    pub fn code(&self) -> ErrorCode {
        match self {
            MediaError::TooLarge { .. } => ErrorCode::TooLarge,
            MediaError::QuotaExceeded { .. } => ErrorCode::Unknown(QUOTA_EXCEEDED.to_owned()),
            MediaError::TooManyUploads { .. } => ErrorCode::RateLimited,
            MediaError::ImageTooLarge { .. } => ErrorCode::Unknown(IMAGE_TOO_LARGE.to_owned()),
            MediaError::NotFound => ErrorCode::NotFound,
            MediaError::Invalid(_) => ErrorCode::BadRequest,
            MediaError::Storage(_) | MediaError::Io(_) => ErrorCode::Internal,
        }
    }

    /// The message for the client: never an internal detail.
    pub fn client_message(&self) -> String {
        match self {
            MediaError::Storage(_) | MediaError::Io(_) => "internal error".to_owned(),
            other => other.to_string(),
        }
    }

    /// True for failures of the node rather than of the request (log them).
    pub fn is_internal(&self) -> bool {
        matches!(self, MediaError::Storage(_) | MediaError::Io(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_codes() {
        let cases = [
            (MediaError::TooLarge { limit: 1 }, 413, "too_large"),
            (
                MediaError::QuotaExceeded { quota: 1 },
                403,
                "quota_exceeded",
            ),
            (
                MediaError::ImageTooLarge {
                    width: 50_000,
                    height: 50_000,
                },
                422,
                "image_too_large",
            ),
            (MediaError::TooManyUploads { limit: 4 }, 429, "rate_limited"),
            (MediaError::NotFound, 404, "not_found"),
            (MediaError::invalid("bad"), 400, "bad_request"),
            (
                MediaError::Storage(StorageError::Other("secret detail".into())),
                500,
                "internal",
            ),
            (
                MediaError::Io(std::io::Error::other("disk")),
                500,
                "internal",
            ),
        ];
        for (error, status, code) in cases {
            assert_eq!(error.status().as_u16(), status, "{error:?}");
            assert_eq!(error.code().as_str(), code, "{error:?}");
        }
        let internal = MediaError::Storage(StorageError::Other("secret detail".into()));
        assert_eq!(internal.client_message(), "internal error");
        assert!(internal.is_internal());
    }
}
