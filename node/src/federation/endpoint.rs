//! The QUIC federation endpoint: binding it, accepting, closing it on shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::QuicServerConfig;
use quinn::{Endpoint, VarInt};
use winichat_protocol::ids::NodeName;

use crate::error::{Listener, NodeError};
use crate::identity::NodeIdentity;

use super::tls;

/// Application close code sent to peers while federation is not implemented.
pub const CLOSE_NOT_ENABLED: u32 = 1;
/// Reason sent with [`CLOSE_NOT_ENABLED`].
pub const REASON_NOT_ENABLED: &[u8] = b"federation not yet enabled";
/// Application close code sent to every peer when the node shuts down.
pub const CLOSE_SHUTDOWN: u32 = 0;

/// How long shutdown waits for peers to acknowledge the close before giving up on them.
const IDLE_TIMEOUT: Duration = Duration::from_secs(3);

/// Binds the federation endpoint on `addr`, with a certificate over the identity key.
pub fn bind(
    addr: SocketAddr,
    identity: &NodeIdentity,
    name: &NodeName,
) -> Result<Endpoint, NodeError> {
    let tls = tls::server_config(identity, name)?;
    let crypto = QuicServerConfig::try_from(tls).map_err(|e| NodeError::Tls(e.to_string()))?;
    let config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    Endpoint::server(config, addr).map_err(|source| NodeError::Bind {
        listener: Listener::Quic,
        addr,
        source,
    })
}

/// Accepts connections until the endpoint is closed, closing each one with
/// [`CLOSE_NOT_ENABLED`] once its handshake completes.
pub async fn accept_loop(endpoint: Endpoint) {
    while let Some(incoming) = endpoint.accept().await {
        let remote = incoming.remote_address();
        // Handshakes run in their own tasks so a slow peer never holds up the others; they are
        // bounded by quinn's idle timeout and end when the endpoint closes.
        tokio::spawn(async move {
            match incoming.await {
                Ok(connection) => {
                    tracing::debug!(%remote, "federation connection refused: not yet enabled");
                    connection.close(VarInt::from_u32(CLOSE_NOT_ENABLED), REASON_NOT_ENABLED);
                }
                Err(e) => tracing::debug!(%remote, error = %e, "federation handshake failed"),
            }
        });
    }
}

/// Stops accepting, closes every connection and waits (bounded) for peers to be told.
pub async fn close(endpoint: &Endpoint) {
    endpoint.close(VarInt::from_u32(CLOSE_SHUTDOWN), b"node shutting down");
    if tokio::time::timeout(IDLE_TIMEOUT, endpoint.wait_idle())
        .await
        .is_err()
    {
        tracing::warn!("QUIC endpoint not idle after {IDLE_TIMEOUT:?}; closing anyway");
    }
}
