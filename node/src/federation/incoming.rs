//! Incoming federation links: authenticate the peer, then answer each request stream.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quinn::{Connection, Endpoint, RecvStream, SendStream, VarInt};
use rustls::pki_types::CertificateDer;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use winichat_protocol::codec::Limits;
use winichat_protocol::cose::{UnverifiedSign1, VerifyError};
use winichat_protocol::error_code::{ErrorBody, ErrorCode};
use winichat_protocol::federation::{AddressError, FedRequest, FedResponse};
use winichat_protocol::ids::NodeName;
use winichat_protocol::keys::PublicKey;

use super::link::MAX_FRAME;
use super::peers::PeerDirectory;
use super::rate::RateLimiter;
use super::{FedHandler, clock, tls};

/// Application close code for a peer whose certificate does not match its name's key, or
/// that is denied.
pub const CLOSE_UNKNOWN_KEY: u32 = 2;
/// Reason sent with [`CLOSE_UNKNOWN_KEY`].
pub const REASON_UNKNOWN_KEY: &[u8] = b"unknown or mismatched node key";
/// Application close code for a peer's oldest connection when it opens one more than
/// [`MAX_CONNECTIONS_PER_PEER`].
pub const CLOSE_SUPERSEDED: u32 = 3;
/// Reason sent with [`CLOSE_SUPERSEDED`].
pub const REASON_SUPERSEDED: &[u8] = b"superseded by a newer connection from the same node";
/// The most connections one authenticated peer may hold to us at once. A node needs one (two
/// while it replaces a broken link); each may carry `max_streams_per_peer` requests, so this
/// bounds what one peer can make us hold.
pub const MAX_CONNECTIONS_PER_PEER: usize = 4;
/// The default of `[federation] max_request_memory_mib`, in bytes.
pub const DEFAULT_REQUEST_MEMORY: usize = 64 * 1024 * 1024;
/// The largest piece of a request read at once (and so the finest grain of the byte budget).
const READ_CHUNK: usize = 64 * 1024;
/// How long a peer may take to send one request frame.
pub const FRAME_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long resolving a connecting peer's name may take (it may fetch its node document).
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(15);

/// What the accept loop needs: who we are, who the peers are, who answers.
pub struct Incoming {
    me: NodeName,
    peers: Arc<PeerDirectory>,
    handler: Arc<dyn FedHandler>,
    limiter: RateLimiter,
    accepted: AtomicU64,
    /// The authenticated connections of each peer, oldest first.
    connections: Mutex<HashMap<NodeName, Vec<Connection>>>,
    /// Bytes of incoming requests being read or handled, node-wide: a request takes permits
    /// for what it has received until it is answered.
    request_memory: Arc<Semaphore>,
    request_memory_total: usize,
}

impl fmt::Debug for Incoming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("me", &self.me)
            .field("accepted", &self.accepted.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Incoming {
    /// Incoming links of node `me`, answered by `handler`, with the default rate limit.
    pub fn new(me: NodeName, peers: Arc<PeerDirectory>, handler: Arc<dyn FedHandler>) -> Self {
        Incoming::with_limiter(me, peers, handler, RateLimiter::default())
    }

    /// [`Incoming::new`] with a chosen rate limit.
    pub fn with_limiter(
        me: NodeName,
        peers: Arc<PeerDirectory>,
        handler: Arc<dyn FedHandler>,
        limiter: RateLimiter,
    ) -> Self {
        Incoming {
            me,
            peers,
            handler,
            limiter,
            accepted: AtomicU64::new(0),
            connections: Mutex::new(HashMap::new()),
            request_memory: Arc::new(Semaphore::new(DEFAULT_REQUEST_MEMORY)),
            request_memory_total: DEFAULT_REQUEST_MEMORY,
        }
    }

    /// Sets how many bytes of incoming requests may be read or held at once, node-wide
    /// (`[federation] max_request_memory_mib`); raised to one frame, so that any request
    /// within the frame limit can be taken when the node is idle.
    #[must_use]
    pub fn with_request_memory(mut self, bytes: usize) -> Self {
        let bytes = bytes.clamp(MAX_FRAME, Semaphore::MAX_PERMITS);
        self.request_memory = Arc::new(Semaphore::new(bytes));
        self.request_memory_total = bytes;
        self
    }

    /// Bytes of incoming requests being read or handled right now.
    pub fn request_memory_in_use(&self) -> usize {
        self.request_memory_total
            .saturating_sub(self.request_memory.available_permits())
    }

    /// How many authenticated connections `peer` holds to us.
    pub fn connections_of(&self, peer: &NodeName) -> usize {
        self.connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(peer)
            .map_or(0, Vec::len)
    }

    /// Records `connection` as one of `peer`'s; over [`MAX_CONNECTIONS_PER_PEER`] the peer's
    /// oldest connection is closed.
    ///
    /// The oldest goes rather than the newest being refused: a node dials a new link when it
    /// believes its old one broken (after a crash or a network change), so its newest
    /// connection is the one it uses, and the oldest is the likeliest to be dead on its side
    /// while still open on ours until the idle timeout. Refusing the newest would lock a
    /// restarted peer out for that long; closing the oldest costs a flooding peer only its own
    /// requests, which it may retry.
    fn register(&self, peer: &NodeName, connection: &Connection) {
        let superseded = {
            let mut connections = self.connections.lock().unwrap_or_else(|e| e.into_inner());
            let held = connections.entry(peer.clone()).or_default();
            held.push(connection.clone());
            let excess = held.len().saturating_sub(MAX_CONNECTIONS_PER_PEER);
            held.drain(..excess).collect::<Vec<_>>()
        };
        for old in superseded {
            tracing::info!(%peer, remote = %old.remote_address(), "federation: a peer's oldest connection closed for a newer one");
            old.close(VarInt::from_u32(CLOSE_SUPERSEDED), REASON_SUPERSEDED);
        }
    }

    /// Forgets `connection` as one of `peer`'s.
    fn unregister(&self, peer: &NodeName, connection: &Connection) {
        let mut connections = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(held) = connections.get_mut(peer) {
            held.retain(|c| c.stable_id() != connection.stable_id());
            if held.is_empty() {
                connections.remove(peer);
            }
        }
    }

    /// How many peers completed the handshake and were authenticated.
    pub fn connections_accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

/// Accepts connections until the endpoint is closed; each one is served in its own task.
pub async fn accept_loop(endpoint: Endpoint, incoming: Arc<Incoming>) {
    while let Some(connecting) = endpoint.accept().await {
        let remote = connecting.remote_address();
        let incoming = incoming.clone();
        // Handshakes and connections run in their own tasks so a slow peer never holds up the
        // others; they end with quinn's idle timeout or when the endpoint closes.
        tokio::spawn(async move {
            match connecting.await {
                Ok(connection) => serve_connection(connection, incoming).await,
                Err(e) => tracing::debug!(%remote, error = %e, "federation handshake failed"),
            }
        });
    }
}

/// The node name and key the peer's certificate claims.
fn claimed_identity(connection: &Connection) -> Option<(NodeName, PublicKey)> {
    let certs = connection
        .peer_identity()?
        .downcast::<Vec<CertificateDer<'static>>>()
        .ok()?;
    let cert = certs.first()?;
    Some((
        tls::certificate_name(cert)?,
        tls::certificate_key(cert).ok()?,
    ))
}

/// Checks the peer's claimed name against the directory, then answers its streams.
async fn serve_connection(connection: Connection, incoming: Arc<Incoming>) {
    let remote = connection.remote_address();
    let refuse = |why: &str| {
        tracing::info!(%remote, reason = why, "federation peer refused");
        connection.close(VarInt::from_u32(CLOSE_UNKNOWN_KEY), REASON_UNKNOWN_KEY);
    };
    let Some((origin, key)) = claimed_identity(&connection) else {
        return refuse("no usable certificate");
    };
    let resolved = tokio::time::timeout(
        RESOLVE_TIMEOUT,
        incoming.peers.resolve_presented(&origin, &key),
    )
    .await;
    match resolved {
        Ok(Ok(info)) if info.key == key => {}
        Ok(Ok(_)) => return refuse("certificate key is not the node's key"),
        Ok(Err(e)) => return refuse(&e.to_string()),
        Err(_) => return refuse("resolving the node took too long"),
    }
    incoming.accepted.fetch_add(1, Ordering::Relaxed);
    // It is up again: our requests to it need not wait for the down time to pass.
    incoming.peers.down().mark_reached(&origin);
    tracing::debug!(%remote, peer = %origin, "federation peer connected");
    incoming.register(&origin, &connection);
    let origin = Arc::new(origin);
    loop {
        let (send, recv) = match connection.accept_bi().await {
            Ok(streams) => streams,
            Err(e) => {
                tracing::debug!(peer = %origin, error = %e, "federation link closed");
                break;
            }
        };
        // A deny added while the link is up ends it.
        if !incoming.peers.is_allowed(&origin) {
            refuse("node denied");
            break;
        }
        // At most `max_concurrent_bidi_streams` of these run per connection: quinn does not
        // let the peer open more until one is finished.
        tokio::spawn(serve_stream(
            send,
            recv,
            origin.clone(),
            key,
            incoming.clone(),
        ));
    }
    incoming.unregister(&origin, &connection);
}

fn error(id: u64, code: ErrorCode, message: impl Into<String>) -> FedResponse {
    FedResponse::Err {
        id,
        error: ErrorBody::new(code, message),
    }
}

/// Reads one request, answers it, finishes the stream.
async fn serve_stream(
    mut send: SendStream,
    mut recv: RecvStream,
    origin: Arc<NodeName>,
    key: PublicKey,
    incoming: Arc<Incoming>,
) {
    let read = read_request(&mut recv, &incoming.request_memory);
    // The permits live as long as the request's bytes: until it is answered.
    let (bytes, _held) = match tokio::time::timeout(FRAME_READ_TIMEOUT, read).await {
        Ok(Ok(read)) => read,
        Ok(Err(ReadFailure::TooLong)) => {
            let answer = error(0, ErrorCode::TooLarge, "request over the 4 MiB frame limit");
            write(&mut send, &answer).await;
            // Tell the peer to stop sending the rest.
            let _ = recv.stop(VarInt::from_u32(0));
            return;
        }
        Ok(Err(ReadFailure::OverBudget)) => {
            tracing::debug!(peer = %origin, "federation: request memory full; request refused");
            let answer = error(
                0,
                ErrorCode::Unavailable,
                "the node is holding too many incoming requests; retry later",
            );
            write(&mut send, &answer).await;
            let _ = recv.stop(VarInt::from_u32(0));
            return;
        }
        Ok(Err(ReadFailure::Stream(e))) => {
            tracing::debug!(peer = %origin, error = %e, "federation request stream failed");
            return;
        }
        Err(_) => {
            let _ = recv.stop(VarInt::from_u32(0));
            let _ = send.reset(VarInt::from_u32(0));
            return;
        }
    };
    let answer = answer(&bytes, &origin, key, &incoming).await;
    // The request is handled: its bytes and permits go now, not when a slow reader of the
    // answer lets go of it, so one peer cannot hold the node-wide budget by not reading.
    drop((bytes, _held));
    if tokio::time::timeout(FRAME_READ_TIMEOUT, write(&mut send, &answer))
        .await
        .is_err()
    {
        let _ = send.reset(VarInt::from_u32(0));
    }
}

/// Why a request frame could not be read.
enum ReadFailure {
    /// Over [`MAX_FRAME`].
    TooLong,
    /// The node-wide request memory is full: the request is refused, not waited for, so a
    /// flood is answered at once and never holds a stream open.
    OverBudget,
    /// The stream or the connection failed.
    Stream(quinn::ReadError),
}

/// Reads a request frame to its end, taking one permit of `budget` per byte as it arrives.
/// Returns the bytes and the permits, which the caller holds as long as it holds the bytes.
async fn read_request(
    recv: &mut RecvStream,
    budget: &Arc<Semaphore>,
) -> Result<(Vec<u8>, Option<OwnedSemaphorePermit>), ReadFailure> {
    let mut bytes = Vec::new();
    let mut held: Option<OwnedSemaphorePermit> = None;
    while let Some(chunk) = recv
        .read_chunk(READ_CHUNK, true)
        .await
        .map_err(ReadFailure::Stream)?
    {
        let size = chunk.bytes.len();
        if bytes.len() + size > MAX_FRAME {
            return Err(ReadFailure::TooLong);
        }
        // A chunk is at most READ_CHUNK bytes, which fits in a u32.
        let permits = u32::try_from(size).map_err(|_| ReadFailure::TooLong)?;
        let more = budget
            .clone()
            .try_acquire_many_owned(permits)
            .map_err(|_| ReadFailure::OverBudget)?;
        match held.as_mut() {
            Some(held) => held.merge(more),
            None => held = Some(more),
        }
        bytes.extend_from_slice(&chunk.bytes);
    }
    Ok((bytes, held))
}

/// Writes an answer and finishes the stream; a peer that went away is not our problem.
async fn write(send: &mut SendStream, answer: &FedResponse) {
    let bytes = match answer.encode() {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(error = %e, "federation answer not encodable");
            let id = match answer {
                FedResponse::Ok { id, .. } | FedResponse::Err { id, .. } => *id,
                _ => 0,
            };
            match error(id, ErrorCode::Internal, "answer too large").encode() {
                Ok(bytes) => bytes,
                Err(_) => return,
            }
        }
    };
    if send.write_all(&bytes).await.is_ok() {
        let _ = send.finish();
    }
}

/// Verifies a request frame from `origin` (whose key `key` the connection proved) and
/// answers it.
async fn answer(
    bytes: &[u8],
    origin: &NodeName,
    key: PublicKey,
    incoming: &Incoming,
) -> FedResponse {
    let parsed = match UnverifiedSign1::parse(bytes, &Limits::FEDERATION_FRAME) {
        Ok(parsed) => parsed,
        Err(e) => {
            return error(
                0,
                ErrorCode::BadRequest,
                format!("not a signed request: {e}"),
            );
        }
    };
    if parsed.signer() != origin {
        return error(
            0,
            ErrorCode::Forbidden,
            format!(
                "request signed as {}, but the connection is {origin}",
                parsed.signer()
            ),
        );
    }
    let request = match parsed.verify::<FedRequest>(&key, &Limits::FEDERATION_FRAME) {
        Ok(signed) => signed.into_value(),
        Err(VerifyError::BadSignature) => {
            return error(0, ErrorCode::Forbidden, "signature does not verify");
        }
        Err(e) => return error(0, ErrorCode::BadRequest, e.to_string()),
    };
    let id = request.id;
    if let Err(e) = request.check_addressed(origin, &incoming.me, clock::now()) {
        let code = match e {
            AddressError::OriginMismatch { .. } => ErrorCode::Forbidden,
            _ => ErrorCode::BadRequest,
        };
        return error(id, code, e.to_string());
    }
    if !incoming.limiter.allow(origin) {
        return error(id, ErrorCode::RateLimited, "too many requests");
    }
    incoming.handler.contacted(origin);
    let FedRequest { method, params, .. } = request;
    match incoming.handler.handle(origin, &method, params).await {
        Ok(result) => FedResponse::Ok { id, result },
        Err(error) => FedResponse::Err { id, error },
    }
}
