//! `GET /healthz`: is this node able to serve?

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;

/// How long the database may take to answer before the node is reported unhealthy. Short:
/// a health check that hangs is worse for a load balancer than one that says no.
const DB_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz` — `200 {"status":"ok"}` when the database answers a trivial query within
/// two seconds; otherwise `503 {"status":"unavailable"}`. The cause is logged, never sent.
pub async fn get(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match tokio::time::timeout(DB_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, Json(json!({ "status": "ok" }))),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable" })),
            )
        }
        Err(_) => {
            tracing::warn!(timeout = ?DB_TIMEOUT, "health check: database timed out");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable" })),
            )
        }
    }
}
