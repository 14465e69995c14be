//! `POST /api/auth/password`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::{ApiError, Bearer, JsonBody};
use crate::api::http::AppState;

/// The request body.
#[derive(Debug, Deserialize)]
pub struct PasswordRequest {
    current_password: String,
    new_password: String,
}

/// Changes the password and revokes every other session of the user: `204`; `403` if the
/// current password is wrong.
pub async fn post(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    JsonBody(req): JsonBody<PasswordRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .auth
        .change_password(&claims, &req.current_password, &req.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
