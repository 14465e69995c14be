//! Outgoing federation links: one QUIC connection per peer, one stream per request.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ciborium::Value;
use quinn::crypto::rustls::QuicClientConfig;
use quinn::{Connection, ConnectionError, Endpoint, TransportConfig, VarInt};
use tokio::sync::watch;
use winichat_protocol::codec::Limits;
use winichat_protocol::cose::Signed;
use winichat_protocol::federation::document::KeyHistory;
use winichat_protocol::federation::{FedRequest, FedResponse};
use winichat_protocol::ids::NodeName;
use winichat_protocol::keys::PublicKey;

use crate::error::NodeError;
use crate::identity::NodeIdentity;

use super::dial::{self, Dialer, Pending};
use super::peers::{PeerDirectory, PeerInfo};
use super::{FedClient, FedError, clock, tls};

/// How often an idle link is pinged so that NATs and the peer keep it open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// How long a link may stay silent before it is dropped.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a request, once sent, may go without the peer sending anything at all on the link.
/// A live peer acknowledges the request within a round trip (plus its ack delay), and QUIC
/// resends lost packets well within this; a peer that stopped or a path that broke stays
/// silent, and the link is given up then instead of after the idle timeout. The answer itself
/// may take longer: only silence is cut short.
pub const ACK_PATIENCE: Duration = Duration::from_millis(1500);
/// The largest frame in either direction.
pub const MAX_FRAME: usize = Limits::FEDERATION_FRAME.max_frame;

/// The flow-control window of one stream: a whole frame and its length prefix, with room.
const STREAM_WINDOW: u32 = {
    let frame = Limits::FEDERATION_FRAME.max_frame;
    assert!(frame <= (u32::MAX as usize) / 8);
    frame as u32 + 64 * 1024
};

/// QUIC transport settings of federation links. `incoming_streams` bounds the requests the
/// other side may have open at once; 0 on our outgoing links, whose peer has its own link to
/// send us requests.
pub fn transport_config(incoming_streams: u32) -> TransportConfig {
    let mut transport = TransportConfig::default();
    transport
        .keep_alive_interval(Some(KEEP_ALIVE))
        .max_concurrent_bidi_streams(VarInt::from_u32(incoming_streams))
        .max_concurrent_uni_streams(VarInt::from_u32(0))
        // What quinn itself buffers for a peer (data not yet read, or out of order) is bounded
        // too: one frame per stream, four frames per connection, not quinn's defaults.
        .stream_receive_window(VarInt::from_u32(STREAM_WINDOW))
        .receive_window(VarInt::from_u32(STREAM_WINDOW.saturating_mul(4)));
    if let Ok(idle) = quinn::IdleTimeout::try_from(IDLE_TIMEOUT) {
        transport.max_idle_timeout(Some(idle));
    }
    transport
}

/// The QUIC client configuration for dialling a peer whose certificate must carry
/// `expected_key`, presenting `identity`'s certificate for `name`.
pub fn quic_client_config(
    identity: &NodeIdentity,
    name: &NodeName,
    expected_key: PublicKey,
) -> Result<quinn::ClientConfig, NodeError> {
    let tls = tls::client_config(identity, name, expected_key)?;
    let crypto = QuicClientConfig::try_from(tls).map_err(|e| NodeError::Tls(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(Arc::new(transport_config(0)));
    Ok(config)
}

/// The name to give TLS for a node: its host (rustls wants a DNS name or an IP address; our
/// verifier checks the key, not the name).
pub fn server_name(name: &NodeName) -> String {
    name.host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned()
}

#[derive(Debug)]
struct Link {
    connection: Connection,
    key: PublicKey,
}

/// A dial under way to a peer.
#[derive(Debug)]
struct Dialling {
    /// Tells this dial from a later one (which replaces it when the peer's key changed).
    generation: u64,
    /// The key it expects.
    key: PublicKey,
    result: Pending,
}

/// A peer's link, and the dial under way to it.
#[derive(Debug, Default)]
struct SlotState {
    link: Option<Link>,
    dialling: Option<Dialling>,
    next_generation: u64,
}

type Slot = Arc<tokio::sync::Mutex<SlotState>>;

/// The outgoing links of this node: the [`FedClient`] the rest of the node uses.
pub struct Links {
    me: NodeName,
    identity: NodeIdentity,
    peers: Arc<PeerDirectory>,
    dialer: Dialer,
    request_timeout: Duration,
    slots: Mutex<HashMap<NodeName, Slot>>,
    next_id: AtomicU64,
}

impl fmt::Debug for Links {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Links")
            .field("me", &self.me)
            .field("dials", &self.dialer.attempts())
            .finish_non_exhaustive()
    }
}

/// Why one exchange on a link failed.
enum Failure {
    /// The connection is gone before the request could have been read: worth one redial.
    Lost(ConnectionError),
    /// The peer acknowledged nothing for [`ACK_PATIENCE`]: it or the path is gone.
    Silent,
    /// Anything else.
    Fatal(FedError),
}

impl Links {
    /// Links of node `me` dialling from `endpoint` (the federation endpoint itself, so peers
    /// see our packets come from the bound port), resolving peers through `peers`.
    pub fn new(
        me: NodeName,
        identity: NodeIdentity,
        endpoint: Endpoint,
        peers: Arc<PeerDirectory>,
        request_timeout: Duration,
    ) -> Self {
        // Ids only need to be unique per origin for a while; starting from the clock keeps
        // them from repeating after a restart.
        let first_id = clock::now().0.saturating_mul(1000);
        let dialer = Dialer::new(
            me.clone(),
            identity.clone(),
            endpoint,
            peers.clone(),
            request_timeout.min(dial::DIAL_LIMIT),
        );
        Links {
            me,
            identity,
            peers,
            dialer,
            request_timeout,
            slots: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(first_id),
        }
    }

    /// How many connections these links have opened (a reused link opens none).
    pub fn connections_opened(&self) -> u64 {
        self.dialer.attempts()
    }

    /// Closes the link to `peer`, if any; the next request dials again.
    pub async fn disconnect(&self, peer: &NodeName) {
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(peer);
        if let Some(slot) = slot
            && let Some(link) = slot.lock().await.link.take()
        {
            link.connection.close(VarInt::from_u32(0), b"closed");
        }
    }

    fn slot(&self, peer: &NodeName) -> Slot {
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(peer.clone())
            .or_default()
            .clone()
    }

    /// The live link to `peer` carrying `info.key`, dialled if there is none. `lost` is the
    /// [`Connection::stable_id`] of a link the caller saw fail: that one is replaced, but a link
    /// another request has dialled since is reused — closing it would fail that request and
    /// make concurrent redials replace each other's links.
    async fn connection(
        &self,
        peer: &NodeName,
        info: &PeerInfo,
        lost: Option<usize>,
    ) -> Result<Connection, FedError> {
        let slot = self.slot(peer);
        let pending = {
            let mut state = slot.lock().await;
            if let Some(current) = state.link.as_ref()
                && lost != Some(current.connection.stable_id())
                && current.connection.close_reason().is_none()
                && current.key == info.key
            {
                return Ok(current.connection.clone());
            }
            if let Some(old) = state.link.take() {
                old.connection.close(VarInt::from_u32(0), b"replaced");
            }
            // Before joining a dial under way: requests that come while the peer is known
            // down are answered at once rather than each waiting for the dial again.
            if self.peers.down().is_down(peer) {
                return Err(FedError::Unreachable {
                    peer: peer.clone(),
                    reason: "it did not answer a moment ago".to_owned(),
                });
            }
            match &state.dialling {
                // One dial at a time per peer: concurrent requests share it and its link.
                Some(dialling) if dialling.key == info.key => dialling.result.clone(),
                _ => self.start_dial(&slot, &mut state, peer, info),
            }
        };
        dial::wait(&self.peers, peer, pending).await
    }

    /// Starts dialling `peer` in a task of its own, which keeps the new link in `slot` (unless
    /// a later dial replaced this one meanwhile).
    fn start_dial(
        &self,
        slot: &Slot,
        state: &mut SlotState,
        peer: &NodeName,
        info: &PeerInfo,
    ) -> Pending {
        let (tx, rx) = watch::channel(None);
        let generation = state.next_generation;
        state.next_generation = generation.wrapping_add(1);
        state.dialling = Some(Dialling {
            generation,
            key: info.key,
            result: rx.clone(),
        });
        let (dialer, slot, peer, info) = (
            self.dialer.clone(),
            slot.clone(),
            peer.clone(),
            info.clone(),
        );
        tokio::spawn(async move {
            let result = dialer.dial(&peer, &info).await;
            {
                let mut state = slot.lock().await;
                if state
                    .dialling
                    .as_ref()
                    .is_some_and(|d| d.generation == generation)
                {
                    state.dialling = None;
                    if let Ok(connection) = &result
                        && let Some(old) = state.link.replace(Link {
                            connection: connection.clone(),
                            key: info.key,
                        })
                    {
                        old.connection.close(VarInt::from_u32(0), b"replaced");
                    }
                }
            }
            // Nobody waiting any more is fine: the link is kept all the same.
            let _ = tx.send(Some(result));
        });
        rx
    }

    async fn exchange(
        &self,
        peer: &NodeName,
        info: &PeerInfo,
        frame: &[u8],
        id: u64,
    ) -> Result<Value, FedError> {
        let mut lost_link = None;
        loop {
            let connection = self.connection(peer, info, lost_link).await?;
            match send(peer, &connection, frame).await {
                Ok(bytes) => return answer(peer, &bytes, id),
                Err(Failure::Lost(_)) if lost_link.is_none() => {
                    lost_link = Some(connection.stable_id());
                }
                Err(Failure::Lost(e)) => return Err(lost(peer, &e)),
                Err(Failure::Silent) => {
                    tracing::info!(%peer, "federation: peer went silent on its link; refusing requests to it for a moment");
                    // Known down first: a request retrying meanwhile must not dial again.
                    self.peers.down().mark_down(peer);
                    self.drop_link(peer, &connection).await;
                    return Err(FedError::Unreachable {
                        peer: peer.clone(),
                        reason: format!("acknowledged nothing in {ACK_PATIENCE:?}"),
                    });
                }
                Err(Failure::Fatal(e)) => {
                    if let FedError::Unreachable { .. } = e {
                        self.drop_link(peer, &connection).await;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// Closes `failed` and forgets it as `peer`'s link — only if it still is that link: a
    /// link another request dialled meanwhile stays.
    async fn drop_link(&self, peer: &NodeName, failed: &Connection) {
        let slot = self.slot(peer);
        let mut state = slot.lock().await;
        if state
            .link
            .as_ref()
            .is_some_and(|current| current.connection.stable_id() == failed.stable_id())
        {
            state.link = None;
        }
        failed.close(VarInt::from_u32(0), b"failed");
    }
}

fn lost(peer: &NodeName, e: &ConnectionError) -> FedError {
    FedError::Unreachable {
        peer: peer.clone(),
        reason: e.to_string(),
    }
}

/// UDP datagrams received on `connection` so far: anything at all the peer sends — ACKs, other
/// streams' data, its own requests — shows it is there.
fn datagrams_received(connection: &Connection) -> u64 {
    connection.stats().udp_rx.datagrams
}

/// Writes `frame` on a new stream of `connection` and reads the answer; gives up when the peer
/// sent nothing at all for [`ACK_PATIENCE`] after the request went out (a live peer at least
/// acknowledges it within a round trip).
async fn send(peer: &NodeName, connection: &Connection, frame: &[u8]) -> Result<Vec<u8>, Failure> {
    // Waiting for a stream (the peer allows so many at once) is not silence: nothing of this
    // request is out yet, so nothing is owed an acknowledgement.
    let (tx, rx) = connection.open_bi().await.map_err(Failure::Lost)?;
    let heard_before = datagrams_received(connection);
    let exchange = exchange_on_stream(peer, tx, rx, frame);
    tokio::pin!(exchange);
    tokio::select! {
        result = &mut exchange => return result,
        () = tokio::time::sleep(ACK_PATIENCE) => {}
    }
    // A starved runtime may wake this task before the endpoint read what already arrived: let
    // it run once before judging.
    tokio::task::yield_now().await;
    if datagrams_received(connection) == heard_before {
        // Dropping the exchange resets its stream.
        return Err(Failure::Silent);
    }
    exchange.await
}

async fn exchange_on_stream(
    peer: &NodeName,
    tx: quinn::SendStream,
    mut rx: quinn::RecvStream,
    frame: &[u8],
) -> Result<Vec<u8>, Failure> {
    let mut tx = AbandonOnDrop(Some(tx));
    let tx_stream = tx.0.as_mut().ok_or_else(|| {
        Failure::Fatal(FedError::Protocol {
            peer: peer.clone(),
            reason: "stream gone".to_owned(),
        })
    })?;
    let unreachable = |reason: String| {
        Failure::Fatal(FedError::Unreachable {
            peer: peer.clone(),
            reason,
        })
    };
    if let Err(e) = tx_stream.write_all(frame).await {
        return Err(match e {
            quinn::WriteError::ConnectionLost(e) => Failure::Lost(e),
            other => unreachable(other.to_string()),
        });
    }
    // Finishing fails only when the stream is already gone, which the read reports.
    let _ = tx_stream.finish();
    match rx.read_to_end(MAX_FRAME).await {
        Ok(bytes) => {
            // Answered: the request was fully received, nothing to abandon.
            tx.0 = None;
            Ok(bytes)
        }
        Err(quinn::ReadToEndError::TooLong) => Err(Failure::Fatal(FedError::Protocol {
            peer: peer.clone(),
            reason: "answer over the frame limit".to_owned(),
        })),
        Err(e) => Err(unreachable(e.to_string())),
    }
}

/// A request stream that is reset when the request is given up (a timeout drops the future
/// that holds it): without the reset QUIC would still deliver a finished request once the
/// path heals, and a write the caller was told had failed would land later.
struct AbandonOnDrop(Option<quinn::SendStream>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        if let Some(mut stream) = self.0.take() {
            // Fails only when the stream is already closed: then there is nothing to stop.
            let _ = stream.reset(quinn::VarInt::from_u32(0));
        }
    }
}

/// Decodes the answer to request `id`.
fn answer(peer: &NodeName, bytes: &[u8], id: u64) -> Result<Value, FedError> {
    let protocol = |reason: String| FedError::Protocol {
        peer: peer.clone(),
        reason,
    };
    match FedResponse::decode(bytes).map_err(|e| protocol(format!("bad answer: {e}")))? {
        FedResponse::Ok { id: got, result } if got == id => Ok(result),
        FedResponse::Err { id: got, error } if got == id || got == 0 => Err(FedError::Refused {
            peer: peer.clone(),
            error,
        }),
        FedResponse::Ok { id: got, .. } | FedResponse::Err { id: got, .. } => {
            Err(protocol(format!("answer to request {got}, not {id}")))
        }
        _ => Err(protocol("unknown answer".to_owned())),
    }
}

#[async_trait::async_trait]
impl FedClient for Links {
    async fn request(
        &self,
        peer: &NodeName,
        method: &str,
        params: Value,
    ) -> Result<Value, FedError> {
        let work = async {
            let info = self.peers.resolve(peer).await?;
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let request = FedRequest {
                origin: self.me.clone(),
                destination: peer.clone(),
                id,
                ts: clock::now(),
                method: method.to_owned(),
                params,
            };
            let frame =
                Signed::sign(request, &self.me, self.identity.signing_key()).map_err(|e| {
                    FedError::Protocol {
                        peer: peer.clone(),
                        reason: format!("request not sendable: {e}"),
                    }
                })?;
            self.exchange(peer, &info, frame.raw(), id).await
        };
        match tokio::time::timeout(self.request_timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(FedError::Timeout { peer: peer.clone() }),
        }
    }

    async fn key_of(&self, node: &NodeName) -> Result<PublicKey, FedError> {
        match tokio::time::timeout(self.request_timeout, self.peers.resolve(node)).await {
            Ok(info) => Ok(info?.key),
            Err(_) => Err(FedError::Timeout { peer: node.clone() }),
        }
    }

    async fn keys_of(&self, node: &NodeName) -> Result<KeyHistory, FedError> {
        match tokio::time::timeout(self.request_timeout, self.peers.key_history(node)).await {
            Ok(history) => history,
            Err(_) => Err(FedError::Timeout { peer: node.clone() }),
        }
    }
}
