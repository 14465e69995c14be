//! `DELETE /api/auth/sessions/{id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::{ApiError, Bearer};
use crate::api::http::AppState;

/// Revokes one of the caller's sessions: `204`, or `404` if it is not theirs or already gone.
pub async fn delete(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.auth.revoke_session(&claims, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
