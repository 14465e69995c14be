//! `POST /api/auth/sessions/revoke-others`.

use axum::extract::State;
use axum::http::StatusCode;

use super::{ApiError, Bearer};
use crate::api::http::AppState;

/// Revokes every session of the caller but the current one: `204`.
pub async fn post(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
) -> Result<StatusCode, ApiError> {
    state.auth.revoke_other_sessions(&claims).await?;
    Ok(StatusCode::NO_CONTENT)
}
