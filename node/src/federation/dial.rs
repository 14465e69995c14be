//! Dialling peers. A dial runs in its own task for as long as a handshake may reasonably take
//! ([`DIAL_LIMIT`]), while the requests that need it wait for it only briefly
//! ([`DIAL_PATIENCE`]): a stopped peer is answered `unreachable` in a moment, and a slow but
//! live one still gets its link, which the next request then uses.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use quinn::{Connection, ConnectionError, Endpoint};
use tokio::sync::watch;
use winichat_protocol::ids::NodeName;

use crate::identity::NodeIdentity;

use super::FedError;
use super::link::{quic_client_config, server_name};
use super::peers::{PeerDirectory, PeerInfo};

/// How long a request waits for a dial of its peer. A handshake takes one round trip (two
/// when the first flight is lost), far less than this; a stopped peer never answers, and QUIC
/// alone would wait for the whole idle timeout. Kept under two seconds so that a user's write
/// to a group whose home is down is refused in that time (spec/federation.md §3.4); the dial
/// itself goes on.
pub const DIAL_PATIENCE: Duration = Duration::from_millis(1000);

/// The longest a dial goes on in the background (or the request timeout, if shorter). QUIC
/// resends a lost handshake at growing intervals; a dial that ran on for long would keep a
/// peer that came back waiting for its next resend, so a fresh dial starts instead.
pub const DIAL_LIMIT: Duration = Duration::from_secs(4);

/// A dial under way: its result, once it is known.
pub(super) type Pending = watch::Receiver<Option<Result<Connection, FedError>>>;

/// Dials peers from the federation endpoint. Cheap to clone.
#[derive(Clone)]
pub(super) struct Dialer {
    me: NodeName,
    identity: NodeIdentity,
    endpoint: Endpoint,
    peers: Arc<PeerDirectory>,
    /// Connections attempted so far.
    dials: Arc<AtomicU64>,
    /// The longest one dial (all of a peer's addresses) may go on.
    limit: Duration,
}

impl Dialer {
    pub(super) fn new(
        me: NodeName,
        identity: NodeIdentity,
        endpoint: Endpoint,
        peers: Arc<PeerDirectory>,
        limit: Duration,
    ) -> Self {
        Dialer {
            me,
            identity,
            endpoint,
            peers,
            dials: Arc::new(AtomicU64::new(0)),
            limit,
        }
    }

    /// Connections attempted so far.
    pub(super) fn attempts(&self) -> u64 {
        self.dials.load(Ordering::Relaxed)
    }

    /// Dials `peer` at `info`, for at most the dialler's limit (meant to run in a task of its
    /// own, which callers wait for with [`wait`]).
    pub(super) async fn dial(
        &self,
        peer: &NodeName,
        info: &PeerInfo,
    ) -> Result<Connection, FedError> {
        match tokio::time::timeout(self.limit, self.try_addresses(peer, info)).await {
            Ok(result) => result,
            Err(_) => {
                self.peers.down().mark_down(peer);
                Err(FedError::Unreachable {
                    peer: peer.clone(),
                    reason: format!("no answer in {:?}", self.limit),
                })
            }
        }
    }

    /// Tries each of `info`'s addresses in turn.
    async fn try_addresses(
        &self,
        peer: &NodeName,
        info: &PeerInfo,
    ) -> Result<Connection, FedError> {
        let unreachable = |reason: String| FedError::Unreachable {
            peer: peer.clone(),
            reason,
        };
        let config = quic_client_config(&self.identity, &self.me, info.key)
            .map_err(|e| unreachable(e.to_string()))?;
        let host = server_name(peer);
        let mut last = "no address".to_owned();
        // Whether every address stayed silent: only then is the peer known down (one that
        // refused the handshake is up, and may have rotated its key).
        let mut silent = true;
        for addr in &info.addrs {
            self.dials.fetch_add(1, Ordering::Relaxed);
            match self.endpoint.connect_with(config.clone(), *addr, &host) {
                Ok(connecting) => match connecting.await {
                    Ok(connection) => {
                        self.peers.down().mark_reached(peer);
                        return Ok(connection);
                    }
                    Err(e) => {
                        // A refused handshake may be a peer that rotated its key: have its
                        // document fetched again before the next dial (at most once a minute).
                        if matches!(e, ConnectionError::TransportError(_)) {
                            self.peers.suspect_rotation(peer);
                        }
                        silent &= matches!(e, ConnectionError::TimedOut);
                        last = format!("{addr}: {e}");
                    }
                },
                Err(e) => {
                    silent = false;
                    last = format!("{addr}: {e}");
                }
            }
        }
        if silent && !info.addrs.is_empty() {
            self.peers.down().mark_down(peer);
        }
        Err(unreachable(last))
    }
}

/// Waits up to [`DIAL_PATIENCE`] for `pending`. A dial that is not done by then leaves `peer`
/// known down (and goes on: if it succeeds, the peer is up again and its link kept).
pub(super) async fn wait(
    peers: &PeerDirectory,
    peer: &NodeName,
    mut pending: Pending,
) -> Result<Connection, FedError> {
    let unreachable = |reason: String| FedError::Unreachable {
        peer: peer.clone(),
        reason,
    };
    match tokio::time::timeout(DIAL_PATIENCE, pending.wait_for(Option::is_some)).await {
        Ok(Ok(done)) => match &*done {
            Some(result) => result.clone(),
            None => Err(unreachable("the dial ended without a result".to_owned())),
        },
        Ok(Err(_)) => Err(unreachable("the dial was abandoned".to_owned())),
        Err(_) => {
            tracing::info!(%peer, "federation: peer does not answer; refusing requests to it for a moment");
            peers.down().mark_down(peer);
            Err(unreachable(format!("no answer in {DIAL_PATIENCE:?}")))
        }
    }
}
