//! One gateway connection, from the first frame to the close.
//!
//! [`run`] is generic over the socket's `Sink` and `Stream`, so the unit tests drive it with
//! channels; the `/ws` handler passes the two halves of an axum `WebSocket`.
//!
//! One task per connection owns the socket: it reads requests and answers each exactly once,
//! forwards the hub's pushes from a bounded queue, pings, and watches the token's expiry and
//! the hub's "close now" signal. Every write races that signal and a timeout, so a client that
//! stops reading cannot hold the task (or the node's memory) forever.
//!
//! Requests and pushes are independent: a request runs on a task of its own while the
//! connection keeps writing pushes. A request may wait long (a busy group, a remote home) and
//! meanwhile others' pushes arrive for its sender; were they not written, the sender's queue
//! would fill and the hub would close it as too slow although it reads fine. One request runs
//! at a time per connection (a frame read meanwhile waits until the reply is sent), so replies
//! keep the order of their requests.
//!
//! The socket is read while a request runs, so a client that goes away is noticed at once:
//! its request is then cut short when [`methods::cancellable`] says that leaves nothing half
//! done (a read, or a write whose event the commit pipeline already owns); any other runs to
//! its end on its own.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::task::{JoinError, JoinHandle};
use tokio::time::{Instant, sleep, sleep_until, timeout};
use winichat_protocol::Timestamp;
use winichat_protocol::client::{ClientFrame, Request, ServerFrame};
use winichat_protocol::codec::{self, DecodeError};
use winichat_protocol::error_code::{ErrorBody, ErrorCode};
use winichat_protocol::gateway::{self, AuthParams, ProfileInfo, Ready, close};
use winichat_protocol::ids::UserId;

use super::hub::{Hub, Kick, RegisterError};
use super::methods;
use super::rate::TokenBucket;
use super::shared_push::PushQueue;
use super::{Accounts, GatewaySettings};
use crate::auth::{AccessClaims, Profile, SessionId};
use crate::chat::Chats;

/// Why reading from the socket failed.
#[derive(Debug)]
pub enum ReadError {
    /// A frame or message over the size limit.
    TooBig,
    /// Anything else (protocol error, connection reset): the connection is gone.
    Broken(String),
}

/// How long a single write may block before the client is considered too slow.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The most pushes written together before one flush (see [`Conn::send_pushes`]).
const PUSHES_PER_WRITE: usize = 64;

/// How long the close frame may take to go out.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Requests refused by the rate limit that a connection may accumulate (refilled at
/// [`STRIKES_PER_SEC`]) before it is closed with 4005.
const STRIKES: u32 = 40;
const STRIKES_PER_SEC: u32 = 4;

/// The authenticated side of a connection, as methods see it.
#[derive(Debug, Clone)]
pub struct ConnState {
    /// Who is connected.
    pub user: UserId,
    /// With which session.
    pub session: SessionId,
    /// When the connection's access token expires.
    pub expires_at: Timestamp,
}

/// Serves one connection until it closes.
pub async fn run<S, R, A>(
    mut sink: S,
    mut stream: R,
    hub: Hub,
    settings: Arc<GatewaySettings>,
    accounts: A,
    chats: Option<Chats>,
) where
    S: Sink<Message> + Unpin + Send,
    R: Stream<Item = Result<Message, ReadError>> + Unpin + Send,
    A: Accounts,
{
    serve(&mut sink, &mut stream, hub, settings, accounts, chats).await;
    // The closing handshake: read (and drop) what the client still sends until its close
    // reply, so the socket is not reset under the close frame we sent.
    let _ = timeout(CLOSE_TIMEOUT, async {
        while let Some(Ok(message)) = stream.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

async fn serve<S, R, A>(
    sink: &mut S,
    stream: &mut R,
    hub: Hub,
    settings: Arc<GatewaySettings>,
    accounts: A,
    chats: Option<Chats>,
) where
    S: Sink<Message> + Unpin + Send,
    R: Stream<Item = Result<Message, ReadError>> + Unpin + Send,
    A: Accounts,
{
    let Some(Authed {
        id: auth_id,
        state,
        profile,
        cursor,
    }) = Box::pin(authenticate(sink, stream, &settings, &accounts)).await
    else {
        return;
    };
    let registration = match hub.register(&state.user, &state.session, cursor.as_deref()) {
        Ok(r) => r,
        // `auth` was decoded, so it gets its one reply before the close (gateway.md §2, §3).
        Err(RegisterError::TooMany) => {
            let error =
                ErrorBody::new(ErrorCode::RateLimited, "too many connections for this user");
            let _ = send_now(sink, &ServerFrame::Err { id: auth_id, error }).await;
            close_with(sink, close::TOO_MANY_CONNECTIONS, "too many connections").await;
            return;
        }
        Err(RegisterError::Closing) => {
            let error = ErrorBody::new(ErrorCode::Unavailable, "the node is shutting down");
            let _ = send_now(sink, &ServerFrame::Err { id: auth_id, error }).await;
            close_with(sink, close::GOING_AWAY, "node shutting down").await;
            return;
        }
    };
    let user = state.user.clone();
    let id = registration.id;
    let mut conn = Conn {
        sink,
        kick: registration.kick,
        settings,
        state,
        services: Services {
            accounts: Arc::new(accounts),
            chats,
            hub: hub.clone(),
        },
    };
    let mut pushes = registration.pushes;
    // The greeting is boxed: what it holds (the profile, the missed pushes) is gone before the
    // connection settles into its loop, and the loop's task stays small while idle.
    let greeted =
        Box::pin(conn.greet(auth_id, profile, registration.cursor, registration.missed)).await;
    let end = match greeted {
        Err(end) => end,
        Ok(()) => match conn.serve(&mut pushes, stream).await {
            Err(end) => end,
            Ok(never) => match never {},
        },
    };
    if let Some((code, reason)) = end {
        Box::pin(close_with(conn.sink, code, reason)).await;
    }
    hub.unregister(&user, id, now());
}

/// A connection that passed `auth`.
struct Authed {
    /// The auth request's id, for the `ready` reply.
    id: u64,
    state: ConnState,
    profile: Profile,
    cursor: Option<String>,
}

/// The first frame: `auth` within the timeout. Replies and closes with 4001 on failure.
async fn authenticate<S, R, A>(
    sink: &mut S,
    stream: &mut R,
    settings: &GatewaySettings,
    accounts: &A,
) -> Option<Authed>
where
    S: Sink<Message> + Unpin + Send,
    R: Stream<Item = Result<Message, ReadError>> + Unpin + Send,
    A: Accounts,
{
    let deadline = Instant::now() + settings.auth_timeout;
    let bytes = loop {
        let message = match timeout_at(deadline, stream.next()).await {
            None => {
                close_with(sink, close::UNAUTHENTICATED, "authentication timeout").await;
                return None;
            }
            Some(None) | Some(Some(Err(ReadError::Broken(_)))) => return None,
            Some(Some(Err(ReadError::TooBig))) => {
                close_with(sink, close::TOO_BIG, "frame too large").await;
                return None;
            }
            Some(Some(Ok(m))) => m,
        };
        match message {
            Message::Binary(bytes) => break bytes,
            Message::Text(_) => {
                close_with(sink, close::UNSUPPORTED_DATA, "binary frames only").await;
                return None;
            }
            Message::Close(_) => return None,
            Message::Ping(_) | Message::Pong(_) => {}
        }
    };
    let (id, result) = match ClientFrame::decode(&bytes) {
        Ok(ClientFrame::Request(request)) => (request.id, check_auth(&request, accounts).await),
        Ok(_) => (
            0,
            Err(ErrorBody::new(ErrorCode::BadRequest, "expected a request")),
        ),
        Err(e) => (request_id(&bytes), Err(decode_error(&e))),
    };
    match result {
        Ok((claims, profile, cursor)) => {
            let state = ConnState {
                user: claims.user,
                session: claims.session,
                expires_at: claims.expires_at,
            };
            // The ready reply is sent by `serve`, with the registration's cursor.
            Some(Authed {
                id,
                state,
                profile,
                cursor,
            })
        }
        Err(error) => {
            let _ = send_now(sink, &ServerFrame::Err { id, error }).await;
            close_with(sink, close::UNAUTHENTICATED, "authentication required").await;
            None
        }
    }
}

async fn check_auth<A: Accounts>(
    request: &Request,
    accounts: &A,
) -> Result<(AccessClaims, Profile, Option<String>), ErrorBody> {
    if request.method != gateway::method::AUTH {
        return Err(ErrorBody::new(
            ErrorCode::Unauthenticated,
            "the first request must be auth",
        ));
    }
    let params: AuthParams = gateway::decode_params(&request.params)
        .map_err(|e| ErrorBody::new(ErrorCode::BadRequest, e.to_string()))?;
    let claims = accounts
        .authenticate(&params.token)
        .await
        .map_err(|e| ErrorBody::new(ErrorCode::Unauthenticated, e.to_string()))?;
    let profile = accounts
        .profile(&claims.user)
        .await
        .map_err(|e| ErrorBody::new(e.code(), e.to_string()))?;
    Ok((claims, profile, params.cursor))
}

async fn timeout_at<F: std::future::Future>(deadline: Instant, f: F) -> Option<F::Output> {
    timeout(deadline.saturating_duration_since(Instant::now()), f)
        .await
        .ok()
}

struct Conn<'s, S, A> {
    sink: &'s mut S,
    kick: Arc<Kick>,
    settings: Arc<GatewaySettings>,
    /// The connection's state as of the last answered request (a request in flight works on
    /// a copy and hands it back with its reply).
    state: ConnState,
    services: Services<A>,
}

/// What a request runs with, on its own task.
struct Services<A> {
    accounts: Arc<A>,
    /// The chat service; `None` only in unit tests of the connection loop.
    chats: Option<Chats>,
    hub: Hub,
}

impl<A> Clone for Services<A> {
    fn clone(&self) -> Self {
        Services {
            accounts: Arc::clone(&self.accounts),
            chats: self.chats.clone(),
            hub: self.hub.clone(),
        }
    }
}

/// The request a connection is answering: its id, for an answer should its task fail, and
/// the task, which hands back the connection's state (`auth.refresh` changes the expiry) with
/// the reply. Dropping it (the connection closing) aborts the task when the method is
/// cancellable, and otherwise leaves it to finish on its own, so a change that needs several
/// steps is never cut short halfway.
struct InFlight {
    id: u64,
    task: JoinHandle<(ConnState, ServerFrame)>,
    cancellable: bool,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // A no-op for a task that already ended (the answered request).
        if self.cancellable {
            self.task.abort();
        }
    }
}

/// The end of the request in flight; never, when there is none.
async fn answered(
    in_flight: &mut Option<InFlight>,
) -> (u64, Result<(ConnState, ServerFrame), JoinError>) {
    match in_flight {
        Some(request) => (request.id, (&mut request.task).await),
        None => std::future::pending().await,
    }
}

/// What ends a connection: a close code to send, or nothing (the peer is gone).
type End = Option<(u16, &'static str)>;

impl<S, A> Conn<'_, S, A>
where
    S: Sink<Message> + Unpin + Send,
    A: Accounts,
{
    /// Answers `auth` with `ready`, then sends the pushes missed since the client's cursor.
    async fn greet(
        &mut self,
        auth_id: u64,
        profile: Profile,
        cursor: String,
        missed: Option<Vec<Bytes>>,
    ) -> Result<(), End> {
        let ready = Ready {
            user: profile_info(profile),
            session: self.state.session.as_str().to_owned(),
            cursor,
            resumed: missed.is_some(),
            expires_at: self.state.expires_at,
        };
        let reply = match gateway::to_value(&ready) {
            Ok(result) => ServerFrame::Ok {
                id: auth_id,
                result,
            },
            Err(_) => return Err(Some((1011, "internal error"))),
        };
        self.send_frame(&reply).await?;
        for frame in missed.unwrap_or_default() {
            self.send(Message::Binary(frame)).await?;
        }
        Ok(())
    }

    /// Serves requests and pushes until the connection ends (the `Err`: how).
    async fn serve<R>(&mut self, pushes: &mut PushQueue, stream: &mut R) -> Result<Infallible, End>
    where
        R: Stream<Item = Result<Message, ReadError>> + Unpin + Send,
    {
        let start = Instant::now();
        let mut requests =
            TokenBucket::new(self.settings.rate_burst, self.settings.rate_per_sec, start);
        let mut strikes = TokenBucket::new(STRIKES, STRIKES_PER_SEC, start);
        let mut last_heard = start;
        let mut ping = tokio::time::interval_at(
            start + self.settings.ping_interval,
            self.settings.ping_interval,
        );
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut in_flight: Option<InFlight> = None;
        // A frame read while a request ran: handled once that request is answered (one request
        // at a time), and meanwhile nothing more is read.
        let mut held: Option<Bytes> = None;
        // One timer for the token's expiry, moved only when `auth.refresh` moves the expiry: a
        // timer made afresh on every turn of the loop (every push) costs a registration in the
        // runtime's timer wheel and two clock reads each time.
        let expiry = sleep_until(instant_of(self.state.expires_at));
        tokio::pin!(expiry);
        loop {
            let busy = in_flight.is_some();
            tokio::select! {
                biased;
                code = self.kick.asked() => return Err(Some((code, reason_of(code)))),
                (id, done) = answered(&mut in_flight) => {
                    in_flight = None;
                    // The client waited for this reply, so it was not idle meanwhile (its
                    // pongs stay unread until the next request is read).
                    last_heard = Instant::now();
                    let reply = match done {
                        Ok((state, reply)) => {
                            if state.expires_at != self.state.expires_at {
                                expiry.as_mut().reset(instant_of(state.expires_at));
                            }
                            self.state = state;
                            reply
                        }
                        Err(e) => {
                            tracing::error!(error = %e, id, "gateway: a request's task failed");
                            let error = ErrorBody::new(ErrorCode::Internal, "the request failed");
                            ServerFrame::Err { id, error }
                        }
                    };
                    Box::pin(self.send_frame(&reply)).await?;
                    if let Some(bytes) = held.take() {
                        in_flight = Box::pin(self.request(&bytes, &mut requests, &mut strikes)).await?;
                    }
                }
                message = stream.next(), if held.is_none() => {
                    let message = match message {
                        None | Some(Err(ReadError::Broken(_))) => return Err(None),
                        Some(Err(ReadError::TooBig)) => return Err(Some((close::TOO_BIG, "frame too large"))),
                        Some(Ok(m)) => m,
                    };
                    last_heard = Instant::now();
                    match message {
                        Message::Binary(bytes) if busy => held = Some(bytes),
                        Message::Binary(bytes) => {
                            in_flight = Box::pin(self.request(&bytes, &mut requests, &mut strikes)).await?;
                        }
                        Message::Text(_) => return Err(Some((close::UNSUPPORTED_DATA, "binary frames only"))),
                        Message::Close(_) => return Err(None),
                        Message::Ping(_) | Message::Pong(_) => {}
                    }
                }
                push = pushes.recv() => {
                    match push {
                        Some(frame) => self.send_pushes(frame, pushes).await?,
                        None => return Err(Some((close::GOING_AWAY, "node shutting down"))),
                    }
                }
                _ = ping.tick() => {
                    if !busy && last_heard.elapsed() >= self.settings.idle_timeout {
                        return Err(Some((close::IDLE_TIMEOUT, "idle timeout")));
                    }
                    Box::pin(self.send(Message::Ping(Bytes::new()))).await?;
                }
                // Not while a request runs: an `auth.refresh` in flight may move the expiry,
                // and the reply comes first (the next round sees the new expiry).
                () = &mut expiry, if !busy => {
                    return Err(Some((close::TOKEN_EXPIRED, "access token expired")));
                }
            }
        }
    }

    /// Takes one request frame: refused when over the rate limit (the connection closed when
    /// the refusals pile up), else started on a task of its own (the `Some`), or answered at
    /// once when it is not a request.
    async fn request(
        &mut self,
        bytes: &[u8],
        requests: &mut TokenBucket,
        strikes: &mut TokenBucket,
    ) -> Result<Option<InFlight>, End> {
        let now = Instant::now();
        if !requests.take(now) {
            if !strikes.take(now) {
                return Err(Some((close::RATE_LIMITED, "rate limit exceeded")));
            }
            let id = request_id(bytes);
            let error = ErrorBody::new(ErrorCode::RateLimited, "too many requests; slow down");
            self.send_frame(&ServerFrame::Err { id, error }).await?;
            return Ok(None);
        }
        match self.start(bytes) {
            Ok(request) => Ok(Some(request)),
            Err(refusal) => {
                self.send_frame(&refusal).await?;
                Ok(None)
            }
        }
    }

    /// Decodes a request and starts answering it on a task of its own; a frame that is not a
    /// request is answered at once (the `Err`).
    fn start(&self, bytes: &[u8]) -> Result<InFlight, ServerFrame> {
        let request = match ClientFrame::decode(bytes) {
            Ok(ClientFrame::Request(request)) => request,
            Ok(_) => {
                return Err(ServerFrame::Err {
                    id: request_id(bytes),
                    error: ErrorBody::new(ErrorCode::BadRequest, "expected a request"),
                });
            }
            Err(e) => {
                return Err(ServerFrame::Err {
                    id: request_id(bytes),
                    error: decode_error(&e),
                });
            }
        };
        let services = self.services.clone();
        let mut state = self.state.clone();
        let id = request.id;
        let cancellable = methods::cancellable(&request.method);
        let running = services.hub.request_started();
        let task = tokio::spawn(async move {
            // Counted until the work ends or is cut short.
            let _running = running;
            let result = methods::call(
                &mut state,
                &*services.accounts,
                services.chats.as_ref(),
                &services.hub,
                &request.method,
                &request.params,
            )
            .await;
            crate::telemetry::count_request(&request.method, &result);
            let reply = match result {
                Ok(result) => ServerFrame::Ok { id, result },
                Err(error) => ServerFrame::Err { id, error },
            };
            (state, reply)
        });
        Ok(InFlight {
            id,
            task,
            cancellable,
        })
    }

    async fn send_frame(&mut self, frame: &ServerFrame) -> Result<(), End> {
        match frame.encode() {
            Ok(bytes) => self.send(Message::Binary(Bytes::from(bytes))).await,
            Err(e) => {
                // No reply closes the connection (gateway.md §1): the request gets an error
                // with its id instead, which always encodes.
                tracing::error!(error = %e, "gateway: cannot encode a reply");
                let id = match frame {
                    ServerFrame::Ok { id, .. } | ServerFrame::Err { id, .. } => *id,
                    _ => 0,
                };
                let error = ErrorBody::new(
                    ErrorCode::TooLarge,
                    "the reply would be over the frame limit",
                );
                match (ServerFrame::Err { id, error }).encode() {
                    Ok(bytes) => self.send(Message::Binary(Bytes::from(bytes))).await,
                    Err(_) => Ok(()),
                }
            }
        }
    }

    /// Writes `first` and the pushes queued behind it (at most [`PUSHES_PER_WRITE`]), then
    /// flushes once: a connection that fell behind catches up in a few large writes instead of
    /// a system call per push. Bounded as [`Conn::send`] is.
    async fn send_pushes(&mut self, first: Bytes, pushes: &mut PushQueue) -> Result<(), End> {
        let sink = &mut self.sink;
        let write = async {
            sink.feed(Message::Binary(first)).await?;
            for _ in 1..PUSHES_PER_WRITE {
                let Some(frame) = pushes.try_recv() else {
                    break;
                };
                sink.feed(Message::Binary(frame)).await?;
            }
            sink.flush().await
        };
        bounded(&self.kick, write).await
    }

    /// Writes one message, unless the hub asks to close first or the client does not take it
    /// within [`WRITE_TIMEOUT`].
    async fn send(&mut self, message: Message) -> Result<(), End> {
        bounded(&self.kick, self.sink.send(message)).await
    }
}

/// Runs `write` unless the hub asks to close first or it takes over [`WRITE_TIMEOUT`].
async fn bounded<E>(
    kick: &Kick,
    write: impl std::future::Future<Output = Result<(), E>>,
) -> Result<(), End> {
    tokio::select! {
        sent = write => sent.map_err(|_| None),
        code = kick.asked() => Err(Some((code, reason_of(code)))),
        () = sleep(WRITE_TIMEOUT) => Err(Some((close::TOO_SLOW, "client too slow"))),
    }
}

fn reason_of(code: u16) -> &'static str {
    match code {
        close::GOING_AWAY => "node shutting down",
        close::SESSION_REVOKED => "session revoked",
        close::TOO_SLOW => "client too slow",
        _ => "closed by the node",
    }
}

fn profile_info(p: Profile) -> ProfileInfo {
    ProfileInfo {
        id: p.user,
        display_name: p.display_name,
        bio: p.bio,
        avatar: p.avatar,
    }
}

/// The `id` of an undecodable request, when it can be read (even past values outside the
/// CBOR subset, see [`codec::request_id`]); else 0.
fn request_id(bytes: &[u8]) -> u64 {
    codec::request_id(bytes).unwrap_or(0)
}

fn decode_error(e: &DecodeError) -> ErrorBody {
    match e {
        // protocol.md §3.4: the four limits of §3.2 answer `too_large`.
        DecodeError::FrameTooLarge { .. }
        | DecodeError::StringTooLong { .. }
        | DecodeError::TooManyItems { .. }
        | DecodeError::TooDeep { .. } => ErrorBody::new(ErrorCode::TooLarge, e.to_string()),
        _ => ErrorBody::new(ErrorCode::BadRequest, e.to_string()),
    }
}

/// Sends a frame without the connection's guards (before registration).
async fn send_now<S: Sink<Message> + Unpin>(sink: &mut S, frame: &ServerFrame) -> Result<(), ()> {
    let bytes = frame.encode().map_err(|_| ())?;
    match timeout(
        CLOSE_TIMEOUT,
        sink.send(Message::Binary(Bytes::from(bytes))),
    )
    .await
    {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// Sends a close frame, giving up after [`CLOSE_TIMEOUT`].
async fn close_with<S: Sink<Message> + Unpin>(sink: &mut S, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = timeout(CLOSE_TIMEOUT, async {
        let _ = sink.send(Message::Close(Some(frame))).await;
        let _ = sink.close().await;
    })
    .await;
}

/// The current time.
pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Timestamp(ms)
}

/// The monotonic instant of a wall-clock time (now when it is past).
fn instant_of(at: Timestamp) -> Instant {
    let left = at.millis().saturating_sub(now().millis());
    Instant::now() + Duration::from_millis(left)
}
