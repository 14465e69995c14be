//! The HTTP API: one file per endpoint, assembled by [`app`].
//!
//! `app` takes its state and returns a plain [`Router`], so tests can drive it with
//! `tower::ServiceExt::oneshot` without a socket; the server binds it to the HTTP listener.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use tower_http::trace::TraceLayer;

use crate::storage::Database;

pub mod auth;
pub mod healthz;
pub mod media;
pub mod node_document;
pub mod web;

pub use node_document::NodeDocument;

/// What every HTTP handler can reach. Cheap to clone (one `Arc` and a pool handle).
#[derive(Debug, Clone)]
pub struct AppState {
    /// The node's database.
    pub db: Database,
    /// The node document served at `/.well-known/winichat/node` as JSON, fixed at start-up.
    pub node: Arc<NodeDocument>,
    /// Signs the node document served at `/.well-known/winichat/node` to peers.
    pub node_document: Arc<node_document::DocumentSigner>,
    /// The built web app served at `/` (the router's fallback).
    pub web: web::WebDir,
    /// Accounts, tokens and sessions (see [`crate::auth`]).
    pub auth: crate::auth::Auth,
    /// The WebSocket gateway at `/ws` (see [`crate::api::ws`]).
    pub gateway: crate::api::ws::Gateway,
    /// Direct chats and groups (see [`crate::chat`]).
    pub chats: crate::chat::Chats,
    /// Uploads, downloads and signed URLs (see [`crate::media`]).
    pub media: crate::media::Media,
}

/// The HTTP router with every endpoint and the request-tracing layer.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz::get))
        .route("/.well-known/winichat/node", get(node_document::get))
        .route("/ws", get(crate::api::ws::upgrade))
        .nest("/api/auth", auth_routes())
        .merge(media_routes())
        .fallback(web::fallback)
        .layer(TraceLayer::new_for_http().make_span_with(crate::logging::request_span))
        .with_state(state)
}

/// `/api/media…` (see [`media`]). Uploads are streamed and limited by the media settings, so
/// axum's default body limit is off for that route alone.
fn media_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/media",
            post(media::post).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/media/{hex}", get(media::get))
        .route("/api/media/{hex}/thumb/{size}", get(media::get_thumb))
}

/// `/api/auth/…` (see [`auth`]).
fn auth_routes() -> Router<AppState> {
    Router::new()
        .route("/register", post(auth::register::post))
        .route("/login", post(auth::login::post))
        .route("/refresh", post(auth::refresh::post))
        .route("/logout", post(auth::logout::post))
        .route("/password", post(auth::password::post))
        .route("/sessions", get(auth::sessions::get))
        .route("/sessions/revoke-others", post(auth::revoke_others::post))
        .route("/sessions/{id}", delete(auth::revoke_session::delete))
}

#[cfg(test)]
mod tests;
