//! [`Federation`]: the handle the rest of the node (and tests) hold on federation.

use std::sync::Arc;

use super::FedClient;
use super::incoming::Incoming;
use super::link::Links;
use super::peers::PeerDirectory;

/// The node's federation: its peer directory and its outgoing links. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Federation {
    peers: Arc<PeerDirectory>,
    links: Arc<Links>,
    incoming: Arc<Incoming>,
}

impl Federation {
    /// Bundles the parts built at start-up.
    pub fn new(peers: Arc<PeerDirectory>, links: Arc<Links>, incoming: Arc<Incoming>) -> Self {
        Federation {
            peers,
            links,
            incoming,
        }
    }

    /// Pinned peers, allow and deny lists, discovery.
    pub fn peers(&self) -> &Arc<PeerDirectory> {
        &self.peers
    }

    /// The client for requests to peers.
    pub fn client(&self) -> Arc<dyn FedClient> {
        self.links.clone()
    }

    /// The outgoing links themselves (connection statistics).
    pub fn links(&self) -> &Arc<Links> {
        &self.links
    }

    /// The incoming side (connection statistics).
    pub fn incoming(&self) -> &Arc<Incoming> {
        &self.incoming
    }
}
