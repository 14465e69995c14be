//! Federation settings: how peers are found and which are allowed.

use std::net::SocketAddr;
use std::time::Duration;

use winichat_protocol::ids::NodeName;

/// How a peer's key and QUIC address are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Discovery {
    /// `https://NAME/.well-known/winichat/node`, with ordinary certificate validation.
    #[default]
    Https,
    /// `http://NAME/.well-known/winichat/node`: loopback and private addresses only (tests,
    /// closed set-ups); refused for public addresses.
    Http,
    /// Only the pinned peers; nothing is fetched.
    Pinned,
}

/// A peer whose key and address are fixed in configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedPeer {
    /// Its node name.
    pub name: NodeName,
    /// Where its QUIC endpoint listens.
    pub quic: SocketAddr,
    /// Its identity key.
    pub key: [u8; 32],
}

/// Federation settings (`[federation]` in the config file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederationSettings {
    /// How peers are discovered.
    pub discovery: Discovery,
    /// Peers pinned in configuration (`[[federation.peers]]`, `--peer`, `WINICHAT_PEERS`).
    pub peers: Vec<PinnedPeer>,
    /// The QUIC addresses other nodes should dial, published in the node document (needed when
    /// the endpoint binds 0.0.0.0 or sits behind NAT); empty: the bound address.
    pub public_quic: Vec<SocketAddr>,
    /// When non-empty, only these nodes may federate with us.
    pub allow: Vec<NodeName>,
    /// These nodes may never federate with us.
    pub deny: Vec<NodeName>,
    /// How long a request waits for its answer.
    pub request_timeout: Duration,
    /// The most requests one peer may have open at once (QUIC bidirectional streams).
    pub max_streams_per_peer: u32,
    /// The most bytes of incoming requests read or held at once, over all peers; a request
    /// that would go over is answered `unavailable`.
    pub max_request_memory: usize,
}

impl Default for FederationSettings {
    fn default() -> Self {
        FederationSettings {
            discovery: Discovery::default(),
            peers: Vec::new(),
            public_quic: Vec::new(),
            allow: Vec::new(),
            deny: Vec::new(),
            request_timeout: Duration::from_secs(10),
            max_streams_per_peer: 64,
            max_request_memory: super::incoming::DEFAULT_REQUEST_MEMORY,
        }
    }
}
