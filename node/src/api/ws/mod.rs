//! The WebSocket gateway at `GET /ws` (spec/gateway.md).
//!
//! [`upgrade`] checks the Origin and upgrades with small buffers and the frame limit;
//! [`connection::run`] serves the connection; the [`Hub`] holds every live connection by user
//! for pushes, presence and resume.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, TryStreamExt};
use tokio::sync::broadcast;
use winichat_protocol::gateway::{self, MAX_FRAME, close};
use winichat_protocol::ids::{MediaId, UserId};

use crate::api::http::AppState;
use crate::auth::{AccessClaims, Auth, AuthError, Profile, SessionRevoked};
use crate::connections::LingerOnClose;

mod chat_methods;
pub mod connection;
pub mod hub;
mod methods;
pub mod rate;
pub mod shared_push;

pub use hub::Hub;

#[cfg(test)]
mod tests;

/// WebSocket read buffer per connection. Small: memory per idle connection is a headline
/// figure, and the WebSocket layer fills its whole read buffer (so every byte of it is
/// resident) while requests are a few hundred bytes. A larger frame still arrives whole: room
/// for it is reserved once its header is read, and it is read in pieces of this size.
pub const READ_BUFFER: usize = 1024;
/// WebSocket write buffer per connection (writes larger than this are flushed at once).
pub const WRITE_BUFFER: usize = 4 * 1024;

/// Default bytes of pushes kept per user for resume: 500 ordinary pushes fit, a few dozen
/// maximal ones.
pub const DEFAULT_RESUME_WINDOW_BYTES: usize = 1024 * 1024;
/// Default bytes of frames queued for one connection before it is closed as too slow: 16
/// maximal pushes, hundreds of ordinary ones.
pub const DEFAULT_SEND_QUEUE_BYTES: usize = 1024 * 1024;
/// Default bytes of pushes the hub keeps in all.
pub const DEFAULT_RESUME_TOTAL_BYTES: usize = 128 * 1024 * 1024;

/// The gateway's limits and timeouts. Defaults are the protocol's (winichat_protocol::gateway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySettings {
    /// Origins allowed besides the node's own (`http(s)://<Host>`), e.g. `https://chat.example.org`.
    pub allowed_origins: Vec<String>,
    /// Time a connection has to authenticate.
    pub auth_timeout: Duration,
    /// Time between pings.
    pub ping_interval: Duration,
    /// Time without any frame or pong before closing.
    pub idle_timeout: Duration,
    /// Connections per user.
    pub max_connections_per_user: usize,
    /// Pushes queued per connection before it is dropped as too slow.
    pub send_queue: usize,
    /// Bytes of frames queued per connection before it is dropped as too slow.
    pub send_queue_bytes: usize,
    /// Pushes kept per user for resume.
    pub resume_window: usize,
    /// Bytes kept per user for resume (fewer pushes when they are large): the pushes, a
    /// fixed overhead per kept push and one for the user.
    pub resume_window_bytes: usize,
    /// Bytes the hub keeps for resuming, all users together: each push once (however many
    /// users it went to), with the overheads per kept push and per user; past it the oldest
    /// pushes leave every window. Send queues are bounded apart (`send_queue_bytes`).
    pub resume_total_bytes: usize,
    /// Request burst per connection.
    pub rate_burst: u32,
    /// Sustained requests per second per connection.
    pub rate_per_sec: u32,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            allowed_origins: Vec::new(),
            auth_timeout: Duration::from_secs(gateway::AUTH_TIMEOUT_SECS),
            ping_interval: Duration::from_secs(gateway::PING_INTERVAL_SECS),
            idle_timeout: Duration::from_secs(gateway::IDLE_TIMEOUT_SECS),
            max_connections_per_user: gateway::MAX_CONNECTIONS_PER_USER,
            send_queue: gateway::SEND_QUEUE,
            send_queue_bytes: DEFAULT_SEND_QUEUE_BYTES,
            resume_window: gateway::RESUME_WINDOW,
            resume_window_bytes: DEFAULT_RESUME_WINDOW_BYTES,
            resume_total_bytes: DEFAULT_RESUME_TOTAL_BYTES,
            rate_burst: gateway::RATE_BURST,
            rate_per_sec: gateway::RATE_PER_SEC,
        }
    }
}

/// What the gateway needs from accounts: implemented by [`Auth`], and by a fake in the unit
/// tests.
#[async_trait::async_trait]
pub trait Accounts: Send + Sync + 'static {
    /// See [`Auth::authenticate`].
    async fn authenticate(&self, token: &str) -> Result<AccessClaims, AuthError>;
    /// See [`Auth::profile`].
    async fn profile(&self, user: &UserId) -> Result<Profile, AuthError>;
    /// See [`Auth::update_profile`].
    async fn update_profile(
        &self,
        user: &UserId,
        display_name: Option<String>,
        bio: Option<String>,
    ) -> Result<Profile, AuthError>;
    /// See [`Auth::set_avatar`].
    async fn set_avatar(
        &self,
        user: &UserId,
        avatar: Option<&MediaId>,
    ) -> Result<Profile, AuthError>;
    /// See [`Auth::search`].
    async fn search(
        &self,
        query: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Profile>, AuthError>;
}

#[async_trait::async_trait]
impl Accounts for Auth {
    async fn authenticate(&self, token: &str) -> Result<AccessClaims, AuthError> {
        Auth::authenticate(self, token).await
    }
    async fn profile(&self, user: &UserId) -> Result<Profile, AuthError> {
        Auth::profile(self, user).await
    }
    async fn update_profile(
        &self,
        user: &UserId,
        display_name: Option<String>,
        bio: Option<String>,
    ) -> Result<Profile, AuthError> {
        Auth::update_profile(self, user, display_name, bio).await
    }
    async fn set_avatar(
        &self,
        user: &UserId,
        avatar: Option<&MediaId>,
    ) -> Result<Profile, AuthError> {
        Auth::set_avatar(self, user, avatar).await
    }
    async fn search(
        &self,
        query: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Profile>, AuthError> {
        Auth::search(self, query, after, limit).await
    }
}

/// The gateway: its settings and hub. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// Shared by every connection (each holds it for its whole life).
    settings: Arc<GatewaySettings>,
    hub: Hub,
}

impl Gateway {
    /// A gateway with no connections.
    pub fn new(settings: GatewaySettings) -> Gateway {
        let hub = Hub::new(&settings);
        Gateway {
            settings: Arc::new(settings),
            hub,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &GatewaySettings {
        &self.settings
    }

    /// The hub of live connections.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Closes the sockets of every revoked session (4003), in a background task that ends when
    /// the revocation channel closes.
    pub fn watch_revocations(&self, mut revocations: broadcast::Receiver<SessionRevoked>) {
        let hub = self.hub.clone();
        tokio::spawn(async move {
            loop {
                match revocations.recv().await {
                    Ok(r) => hub.kick_session(&r.user, &r.session, close::SESSION_REVOKED),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        // Revocations were lost; the sockets of those sessions live on until
                        // their access tokens expire (at most 15 minutes).
                        tracing::warn!(missed = n, "gateway: revocation notices lost");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
    }

    /// Closes every connection with 1001 and refuses new ones (node shutdown).
    pub fn shutdown(&self) {
        self.hub.close_all(close::GOING_AWAY);
    }
}

/// `GET /ws`: the gateway.
///
/// - 403 before the upgrade when the `Origin` is neither absent, the node's own
///   (`http(s)://<Host>`) nor in `allowed_origins`;
/// - frames and messages up to 64 KiB (larger: close 1009), small read and write buffers;
/// - then [`connection::run`].
pub async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    linger: Option<Extension<LingerOnClose>>,
    ws: WebSocketUpgrade,
) -> Response {
    let gateway = state.gateway.clone();
    if !origin_allowed(&headers, &gateway.settings.allowed_origins) {
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    let auth = state.auth.clone();
    let chats = state.chats.clone();
    ws.max_frame_size(MAX_FRAME)
        .max_message_size(MAX_FRAME)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(2 * MAX_FRAME + WRITE_BUFFER)
        .on_upgrade(move |socket| {
            // The gateway may close while the client is still sending (a message over the
            // limit, the rate limit): the socket then drains that input before it closes, so
            // the close frame reaches the client instead of a reset.
            if let Some(Extension(linger)) = linger {
                linger.enable();
            }
            let (sink, stream) = socket.split();
            let stream = stream.map_err(read_error);
            connection::run(
                sink,
                stream,
                gateway.hub.clone(),
                gateway.settings,
                auth,
                Some(chats),
            )
        })
}

fn read_error(e: axum::Error) -> connection::ReadError {
    let inner = e.into_inner();
    match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => connection::ReadError::TooBig,
        _ => connection::ReadError::Broken(inner.to_string()),
    }
}

/// The Origin rule: absent (not a browser), the node's own origin, or configured.
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    ["http://", "https://"].iter().any(|scheme| {
        origin
            .strip_prefix(scheme)
            .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
    })
}
