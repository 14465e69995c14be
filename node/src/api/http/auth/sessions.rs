//! `GET /api/auth/sessions`.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::{ApiError, Bearer};
use crate::api::http::AppState;

/// One listed session.
#[derive(Debug, Serialize)]
pub struct SessionJson {
    id: String,
    device: String,
    created_at: u64,
    last_used_at: u64,
    current: bool,
}

/// `200 [{id, device, created_at, last_used_at, current}]`, newest first.
pub async fn get(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
) -> Result<Json<Vec<SessionJson>>, ApiError> {
    let list = state.auth.sessions(&claims).await?;
    Ok(Json(
        list.into_iter()
            .map(|s| SessionJson {
                id: s.id.to_string(),
                device: s.device,
                created_at: s.created_at.0,
                last_used_at: s.last_used_at.0,
                current: s.current,
            })
            .collect(),
    ))
}
