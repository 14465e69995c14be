//! `POST /api/auth/refresh`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::{ApiError, cookie_token, issued};
use crate::api::http::AppState;
use crate::auth::AuthError;

#[derive(Debug, Deserialize)]
struct RefreshRequest {
    refresh_token: Option<String>,
}

/// The refresh token comes from the body `{refresh_token}` (non-browser clients, who get the
/// new one in the body too) or else from the cookie. `200` with a new access token and a
/// rotated refresh cookie.
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let from_body = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<RefreshRequest>(&body)
            .map_err(|_| AuthError::BadRequest("invalid request body".into()))?
            .refresh_token
    };
    let in_body = from_body.is_some();
    let token = from_body
        .or_else(|| cookie_token(&headers))
        .ok_or(AuthError::Unauthenticated("missing refresh token"))?;
    let tokens = state.auth.refresh(&token).await?;
    Ok(issued(&state, StatusCode::OK, tokens, in_body))
}
