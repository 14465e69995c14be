//! `POST /api/auth/logout`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};

use super::{ApiError, Bearer, clear_cookie};
use crate::api::http::AppState;

/// Revokes the caller's session; `204` and the cookie cleared.
pub async fn post(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
) -> Result<Response, ApiError> {
    state.auth.logout(&claims).await?;
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, clear_cookie(&state))]).into_response())
}
