//! `POST /api/auth/login`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::{ApiError, ClientIp, JsonBody, device, issued};
use crate::api::http::AppState;

/// The request body.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    username: String,
    password: String,
    device: Option<String>,
}

/// `200 {user_id, access_token, expires_at}` and the refresh cookie; `401` with the same
/// message for an unknown user and a wrong password; `429` when throttled.
pub async fn post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    let device = device(req.device.as_deref(), &headers);
    let tokens = state
        .auth
        .login(&req.username, &req.password, &device, ip)
        .await?;
    Ok(issued(&state, StatusCode::OK, tokens, false))
}
