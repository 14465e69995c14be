//! `POST /api/auth/register`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::{ApiError, ClientIp, JsonBody, device, issued};
use crate::api::http::AppState;

/// The request body.
#[derive(Debug, Deserialize)]
pub struct RegisterRequest {
    username: String,
    password: String,
    display_name: Option<String>,
    registration_token: Option<String>,
    device: Option<String>,
}

/// `201 {user_id, access_token, expires_at}` and the refresh cookie; `429` when the client's
/// IP registered too many accounts this hour.
pub async fn post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(req): JsonBody<RegisterRequest>,
) -> Result<Response, ApiError> {
    let device = device(req.device.as_deref(), &headers);
    let tokens = state
        .auth
        .register(
            &req.username,
            &req.password,
            req.display_name.as_deref(),
            req.registration_token.as_deref(),
            &device,
            ip,
        )
        .await?;
    Ok(issued(&state, StatusCode::CREATED, tokens, false))
}
