//! Federation with other nodes over QUIC (spec/federation.md).
//!
//! - [`endpoint`] and [`tls`]: the QUIC endpoint with mutually authenticated TLS.
//! - [`settings`]: discovery mode, pinned peers, allow and deny lists.
//! - [`peers`]: what a node name stands for (pinned, or its node document), allow and deny.
//! - [`dial`]: dialling a peer in the background, waited for only briefly.
//! - [`down`]: peers that did not answer a moment ago, refused at once for a while.
//! - [`link`]: outgoing connections, the [`FedClient`] implementation ([`Links`]).
//! - [`incoming`]: the accept loop handing verified requests to a [`FedHandler`].
//! - [`handle`]: [`Federation`], the handle that bundles them.
//!
//! The rest of the node sees federation through two small interfaces: [`FedClient`] (send a
//! request to a peer, get its answer) and [`FedHandler`] (answer a verified request from a
//! peer). Transport implements the first and calls the second; the chat service implements
//! the second and calls the first.

use ciborium::Value;
use winichat_protocol::error_code::ErrorBody;
use winichat_protocol::federation::document::KeyHistory;
use winichat_protocol::ids::NodeName;
use winichat_protocol::keys::PublicKey;

pub mod clock;
pub mod dial;
pub mod down;
pub mod endpoint;
pub mod handle;
pub mod hello;
pub mod incoming;
pub mod link;
pub mod ops;
pub mod outbox;
pub mod peers;
pub mod rate;
mod recent;
pub mod settings;
pub mod tls;

pub use handle::Federation;
pub use incoming::Incoming;
pub use link::Links;
pub use peers::{PeerDirectory, PeerInfo};
pub use settings::{Discovery, FederationSettings, PinnedPeer};
pub use winichat_protocol::federation::ALPN;

/// Why a request to a peer got no successful answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FedError {
    /// The peer could not be reached (no address, handshake failed, connection lost).
    #[error("node {peer} unreachable: {reason}")]
    Unreachable {
        /// The peer.
        peer: NodeName,
        /// What failed.
        reason: String,
    },
    /// The peer answered with an error.
    #[error("node {peer} refused: {} ({})", error.message, error.code.as_str())]
    Refused {
        /// The peer.
        peer: NodeName,
        /// Its answer.
        error: ErrorBody,
    },
    /// No answer in time.
    #[error("node {peer} did not answer in time")]
    Timeout {
        /// The peer.
        peer: NodeName,
    },
    /// The peer's answer broke the protocol (bad frame, wrong id, too large).
    #[error("node {peer} broke the protocol: {reason}")]
    Protocol {
        /// The peer.
        peer: NodeName,
        /// What was wrong.
        reason: String,
    },
    /// Federation with this node is not allowed here (deny list, not on the allow list, or
    /// federation is off).
    #[error("federation with {peer} is not allowed")]
    NotAllowed {
        /// The peer.
        peer: NodeName,
    },
}

/// Sends requests to other nodes.
#[async_trait::async_trait]
pub trait FedClient: Send + Sync + 'static {
    /// Sends `method` with `params` to `peer` as a signed request on a new stream of the one
    /// connection to it, and returns the `result` of an `ok` answer.
    async fn request(
        &self,
        peer: &NodeName,
        method: &str,
        params: Value,
    ) -> Result<Value, FedError>;

    /// The current identity key of `node` (pinned, cached or discovered): what its signed
    /// events and requests verify under.
    async fn key_of(&self, node: &NodeName) -> Result<PublicKey, FedError>;

    /// The keys `node` signed with: the current one and those its published rotations prove
    /// (spec/federation.md §2.5), for verifying its older events. Without discovery, only the
    /// current key.
    async fn keys_of(&self, node: &NodeName) -> Result<KeyHistory, FedError> {
        self.key_of(node).await.map(KeyHistory::only)
    }
}

/// Answers requests from other nodes.
#[async_trait::async_trait]
pub trait FedHandler: Send + Sync + 'static {
    /// Answers `method` from `origin`: the request's signature, addressing and time were
    /// checked, and `origin` is the node the connection authenticated as.
    async fn handle(
        &self,
        origin: &NodeName,
        method: &str,
        params: Value,
    ) -> Result<Value, ErrorBody>;

    /// `origin` just reached us (a verified request arrived): a good moment to retry what
    /// waits for it.
    fn contacted(&self, origin: &NodeName) {
        let _ = origin;
    }
}
