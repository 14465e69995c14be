//! The QUIC federation endpoint: binding it and closing it on shutdown (accepting is in
//! [`super::incoming`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::QuicServerConfig;
use quinn::{Endpoint, VarInt};
use winichat_protocol::ids::NodeName;

use crate::error::{Listener, NodeError};
use crate::identity::NodeIdentity;

use super::{link, tls};

/// Application close code sent to every peer when the node shuts down.
pub const CLOSE_SHUTDOWN: u32 = 0;

/// How long shutdown waits for peers to acknowledge the close before giving up on them.
const IDLE_TIMEOUT: Duration = Duration::from_secs(3);

/// Binds the federation endpoint on `addr`, with a certificate over the identity key, client
/// certificates required, and at most `max_streams_per_peer` requests open per connection.
/// The same endpoint dials peers (see [`super::link::Links`]), so they see our packets come
/// from the bound port.
pub fn bind(
    addr: SocketAddr,
    identity: &NodeIdentity,
    name: &NodeName,
    max_streams_per_peer: u32,
) -> Result<Endpoint, NodeError> {
    let tls = tls::server_config(identity, name)?;
    let crypto = QuicServerConfig::try_from(tls).map_err(|e| NodeError::Tls(e.to_string()))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(Arc::new(link::transport_config(max_streams_per_peer)));
    Endpoint::server(config, addr).map_err(|source| NodeError::Bind {
        listener: Listener::Quic,
        addr,
        source,
    })
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
