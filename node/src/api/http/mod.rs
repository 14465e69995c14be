//! The HTTP API: one file per endpoint, assembled by [`app`].
//!
//! `app` takes its state and returns a plain [`Router`], so tests can drive it with
//! `tower::ServiceExt::oneshot` without a socket; the server binds it to the HTTP listener.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tower_http::trace::TraceLayer;

use crate::storage::Database;

pub mod healthz;
pub mod node_document;

pub use node_document::NodeDocument;

/// What every HTTP handler can reach. Cheap to clone (one `Arc` and a pool handle).
#[derive(Debug, Clone)]
pub struct AppState {
    /// The node's database.
    pub db: Database,
    /// The node document served at `/.well-known/winichat/node`, fixed at start-up.
    pub node: Arc<NodeDocument>,
}

/// The HTTP router with every endpoint and the request-tracing layer.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz::get))
        .route("/.well-known/winichat/node", get(node_document::get))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

#[cfg(test)]
mod tests;
