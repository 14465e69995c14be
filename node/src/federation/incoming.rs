//! Incoming federation links: authenticate the peer, then answer each request stream.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use quinn::{Connection, Endpoint, RecvStream, SendStream, VarInt};
use rustls::pki_types::CertificateDer;
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
    tracing::debug!(%remote, peer = %origin, "federation peer connected");
    let origin = Arc::new(origin);
    loop {
        let (send, recv) = match connection.accept_bi().await {
            Ok(streams) => streams,
            Err(e) => {
                tracing::debug!(peer = %origin, error = %e, "federation link closed");
                return;
            }
        };
        // A deny added while the link is up ends it.
        if !incoming.peers.is_allowed(&origin) {
            return refuse("node denied");
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
    let bytes = match tokio::time::timeout(FRAME_READ_TIMEOUT, recv.read_to_end(MAX_FRAME)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(quinn::ReadToEndError::TooLong)) => {
            let answer = error(0, ErrorCode::TooLarge, "request over the 4 MiB frame limit");
            write(&mut send, &answer).await;
            // Tell the peer to stop sending the rest.
            let _ = recv.stop(VarInt::from_u32(0));
            return;
        }
        Ok(Err(e)) => {
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
    write(&mut send, &answer).await;
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
