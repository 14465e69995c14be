//! The [`Hub`]: every live gateway connection, by user. It fans pushes out to each tab and
//! device of a user, keeps the recent pushes per user for resuming, tracks presence, and lets
//! the node close connections (revoked session, shutdown, a queue that filled up).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use axum::body::Bytes;
use ciborium::Value;
use tokio::sync::{Notify, mpsc};
use winichat_protocol::Timestamp;
use winichat_protocol::gateway::{self, Cursor, PresencePush, Status, close};
use winichat_protocol::ids::UserId;

use super::GatewaySettings;
use super::shared_push::{PushBody, PushQueue, QueuedPush, cursor_text};
use crate::auth::SessionId;
use crate::chat::Notice;

/// Live connections by user. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("boot", &self.inner.boot)
            .finish_non_exhaustive()
    }
}

struct Inner {
    /// Changes on every start, so a cursor of an earlier run never resumes (pushes are kept in
    /// memory only).
    boot: Arc<str>,
    max_connections: usize,
    send_queue: usize,
    /// Most bytes of frames queued for one connection.
    send_queue_bytes: usize,
    window: usize,
    /// Most bytes one user's window holds (pushes and bookkeeping, see [`window_cost`]).
    window_bytes: usize,
    /// Most bytes the resume windows hold in all (see `held`); past it the oldest pushes
    /// leave every window.
    total_bytes: usize,
    /// Bytes of the pushes alive now, in windows or send queues (each counted once, however
    /// many hold it).
    live: Arc<AtomicUsize>,
    /// What the resume windows hold: each push in at least one window once, plus
    /// [`ENTRY_OVERHEAD`] per window entry and [`USER_OVERHEAD`] per user held. This is the
    /// figure `total_bytes` bounds; send queues are bounded per connection instead, so
    /// cutting windows is never asked to free bytes only a queue holds. Changed only under
    /// the `users` lock.
    held: AtomicUsize,
    /// The pushes in the order they were made, for cutting the oldest first; entries whose
    /// push is gone are dropped as they are met (and in bulk when they pile up).
    /// Locked only while `users` is.
    ages: Mutex<Ages>,
    next_id: AtomicU64,
    closing: AtomicBool,
    // A std Mutex, not a Tokio one: nothing awaits while it is held.
    users: Mutex<HashMap<UserId, UserState>>,
    /// Gateway requests whose work runs now (see [`Hub::requests_running`]).
    requests: Arc<AtomicUsize>,
    /// When users without connections were last swept out (ms), so the sweep runs at most
    /// once per [`SWEEP_EVERY_MS`] however many connections come and go.
    last_sweep: AtomicU64,
    /// Where presence and profile changes go to reach the user's contacts (see
    /// [`Hub::relay_notices`]); `None` until someone listens.
    relay: Mutex<Option<mpsc::Sender<Notice>>>,
}

/// Changes queued for relaying to contacts before new ones are dropped (presence is
/// best-effort: a client asks again with `presence.get` after any reconnect).
const RELAY_QUEUE: usize = 4096;

/// How long the pushes of a user with no connection are kept for resuming.
pub const RESUME_TTL_MS: u64 = 10 * 60 * 1000;
/// How often, at most, idle users are swept out of the hub.
const SWEEP_EVERY_MS: u64 = 60 * 1000;

/// Bytes one window entry costs besides its push: the `(seq, Arc)` pair, doubled for the
/// spare capacity of a `VecDeque` (it grows by doubling and does not shrink), rounded up.
pub const ENTRY_OVERHEAD: usize = (2 * size_of::<(u64, Arc<PushBody>)>()).next_multiple_of(16);
/// Bytes one held user costs besides their window: the map's slot (doubled for its spare
/// capacity) and the user id's text (at most 255 bytes), rounded up.
pub const USER_OVERHEAD: usize = (2 * size_of::<(UserId, UserState)>() + 256).next_multiple_of(64);

/// What one push costs in a window.
fn window_cost(body: &PushBody) -> usize {
    body.size() + ENTRY_OVERHEAD
}

#[derive(Default)]
struct Ages {
    order: VecDeque<(u64, Weak<PushBody>)>,
    next_generation: u64,
    /// The length after the last compaction: compacting again once it doubles keeps the
    /// list within twice the pushes alive, at a constant cost per push.
    compacted_len: usize,
}

#[derive(Default)]
struct UserState {
    conns: Vec<ConnHandle>,
    /// The sequence number of the user's last push (0: none yet).
    seq: u64,
    /// The last pushes, oldest first, with their sequence numbers (the bodies are shared
    /// with the other recipients of each push).
    log: VecDeque<(u64, Arc<PushBody>)>,
    /// What `log` costs: [`window_cost`] of each entry.
    log_bytes: usize,
    /// Since when the user has had no connection (`None` while connected); their state is
    /// dropped [`RESUME_TTL_MS`] later so the hub holds only recently seen users.
    idle_since: Option<Timestamp>,
}

struct ConnHandle {
    id: u64,
    session: SessionId,
    tx: mpsc::Sender<QueuedPush>,
    /// Bytes of the frames in the queue of `tx`.
    queued: Arc<AtomicUsize>,
    kick: Arc<Kick>,
}

impl ConnHandle {
    fn kick(&self, code: u16) {
        self.kick.ask(code);
    }
}

/// The hub's "close now" to one connection: a close code and a wake-up. Lighter than a
/// channel (every connection holds one while idle); the last code asked for wins.
#[derive(Debug, Default)]
pub struct Kick {
    /// The close code asked for; 0 while none.
    code: AtomicU16,
    asked: Notify,
}

impl Kick {
    /// Asks the connection to close with `code` (a WebSocket close code, never 0).
    pub(super) fn ask(&self, code: u16) {
        self.code.store(code, Ordering::SeqCst);
        self.asked.notify_waiters();
    }

    /// The close code asked for, if any.
    pub fn code(&self) -> Option<u16> {
        match self.code.load(Ordering::SeqCst) {
            0 => None,
            code => Some(code),
        }
    }

    /// Waits until a close is asked for (at once when one was already), and gives its code.
    pub async fn asked(&self) -> u16 {
        loop {
            let woken = self.asked.notified();
            tokio::pin!(woken);
            // Registered before the code is read, so an `ask` between the two is not missed.
            woken.as_mut().enable();
            if let Some(code) = self.code() {
                return code;
            }
            woken.await;
        }
    }
}

/// A connection's place in the hub, returned by [`Hub::register`].
#[derive(Debug)]
pub struct Registration {
    /// The connection's id in the hub (for [`Hub::unregister`]).
    pub id: u64,
    /// Pushes for this connection, as frames to send.
    pub pushes: PushQueue,
    /// Set to a close code when the node wants the connection closed.
    pub kick: Arc<Kick>,
    /// The user's cursor now, for `ready`.
    pub cursor: String,
    /// The pushes after the client's cursor when it could be resumed; `None`: resync.
    pub missed: Option<Vec<Bytes>>,
}

/// Why a connection could not join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterError {
    /// The user has the maximum number of connections.
    TooMany,
    /// The node is shutting down.
    Closing,
}

/// One request's work, counted by [`Hub::requests_running`] while it lives.
pub(crate) struct RunningRequest(Arc<AtomicUsize>);

impl Drop for RunningRequest {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Hub {
    /// An empty hub with a fresh boot id.
    pub fn new(settings: &GatewaySettings) -> Hub {
        let mut bytes = [0u8; 9];
        // Without randomness a fixed boot id only weakens resume across restarts; the node
        // cannot start without randomness anyway (keys), so this does not happen in practice.
        let _ = getrandom::fill(&mut bytes);
        use base64::Engine as _;
        let boot = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        Hub {
            inner: Arc::new(Inner {
                boot: Arc::from(boot),
                max_connections: settings.max_connections_per_user,
                send_queue: settings.send_queue.max(1),
                send_queue_bytes: settings.send_queue_bytes,
                window: settings.resume_window,
                window_bytes: settings.resume_window_bytes,
                total_bytes: settings.resume_total_bytes,
                live: Arc::new(AtomicUsize::new(0)),
                held: AtomicUsize::new(0),
                ages: Mutex::new(Ages::default()),
                next_id: AtomicU64::new(1),
                relay: Mutex::new(None),
                closing: AtomicBool::new(false),
                users: Mutex::new(HashMap::new()),
                requests: Arc::new(AtomicUsize::new(0)),
                last_sweep: AtomicU64::new(0),
            }),
        }
    }

    fn users(&self) -> MutexGuard<'_, HashMap<UserId, UserState>> {
        // A panic while holding the lock leaves consistent-enough state (plain collections).
        self.inner
            .users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a connection of `user`. When `cursor` is one of this run and the pushes after it are
    /// still kept, they are returned in [`Registration::missed`]. The user's first connection
    /// makes them online.
    pub fn register(
        &self,
        user: &UserId,
        session: &SessionId,
        cursor: Option<&str>,
    ) -> Result<Registration, RegisterError> {
        if self.inner.closing.load(Ordering::SeqCst) {
            return Err(RegisterError::Closing);
        }
        let mut users = self.users();
        let state = self.user_state(&mut users, user);
        state.idle_since = None;
        if state.conns.len() >= self.inner.max_connections {
            return Err(RegisterError::TooMany);
        }
        let missed = cursor
            .and_then(Cursor::parse)
            .and_then(|c| self.missed_after(state, &c));
        let now_cursor = self.cursor(state.seq);
        let (tx, rx) = mpsc::channel(self.inner.send_queue);
        let kick = Arc::new(Kick::default());
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let queued = Arc::new(AtomicUsize::new(0));
        let pushes = PushQueue::new(rx, Arc::clone(&queued), Arc::clone(&self.inner.boot));
        state.conns.push(ConnHandle {
            id,
            session: session.clone(),
            tx,
            queued,
            kick: Arc::clone(&kick),
        });
        let first = state.conns.len() == 1;
        if first {
            let data = presence(user, Status::Online, None);
            self.push_locked(&mut users, &audience(user), gateway::event::PRESENCE, &data);
            self.relay(user, gateway::event::PRESENCE, data);
        }
        Ok(Registration {
            id,
            pushes,
            kick,
            cursor: now_cursor,
            missed,
        })
    }

    fn missed_after(&self, state: &UserState, cursor: &Cursor) -> Option<Vec<Bytes>> {
        if *cursor.boot != *self.inner.boot || cursor.seq > state.seq {
            return None;
        }
        // The window may have been cut (by count, by its bytes or by the hub's total): a
        // push after the cursor that is no longer kept means the client must resync.
        let oldest_kept = state.log.front().map_or(state.seq + 1, |(seq, _)| *seq);
        if cursor.seq + 1 < oldest_kept {
            return None;
        }
        Some(
            state
                .log
                .iter()
                .filter(|(seq, _)| *seq > cursor.seq)
                .map(|(seq, body)| body.frame(&self.cursor(*seq)))
                .collect(),
        )
    }

    fn cursor(&self, seq: u64) -> String {
        cursor_text(&self.inner.boot, seq)
    }

    /// Removes a connection. The user's last connection closing makes them offline.
    pub fn unregister(&self, user: &UserId, id: u64, now: Timestamp) {
        let mut users = self.users();
        let Some(state) = users.get_mut(user) else {
            return;
        };
        let before = state.conns.len();
        state.conns.retain(|c| c.id != id);
        if before > 0 && state.conns.is_empty() {
            state.idle_since = Some(now);
            let data = presence(user, Status::Offline, Some(now));
            self.push_locked(&mut users, &audience(user), gateway::event::PRESENCE, &data);
            self.relay(user, gateway::event::PRESENCE, data);
        }
        self.sweep_locked(&mut users, now);
    }

    /// Drops users who have had no connection for [`RESUME_TTL_MS`] (their pushes can no
    /// longer be resumed; a later connection resyncs). Runs at most once a minute.
    fn sweep_locked(&self, users: &mut HashMap<UserId, UserState>, now: Timestamp) {
        let last = self.inner.last_sweep.load(Ordering::Relaxed);
        if now.millis().saturating_sub(last) < SWEEP_EVERY_MS {
            return;
        }
        self.inner.last_sweep.store(now.millis(), Ordering::Relaxed);
        users.retain(|_, state| {
            let keep = !state.conns.is_empty()
                || state.idle_since.is_some_and(|since| {
                    now.millis().saturating_sub(since.millis()) < RESUME_TTL_MS
                });
            if !keep {
                while self.pop_oldest(state) {}
                self.inner.held.fetch_sub(USER_OVERHEAD, Ordering::Relaxed);
            }
            keep
        });
    }

    /// The state of `user`, made (and counted in `held`) if the hub holds none yet; a user
    /// made here without a connection counts as recently seen.
    fn user_state<'a>(
        &self,
        users: &'a mut HashMap<UserId, UserState>,
        user: &UserId,
    ) -> &'a mut UserState {
        users.entry(user.clone()).or_insert_with(|| {
            self.inner.held.fetch_add(USER_OVERHEAD, Ordering::Relaxed);
            UserState {
                idle_since: Some(super::connection::now()),
                ..UserState::default()
            }
        })
    }

    /// Appends a push to a window, counting it in `held` (its bytes only when no other
    /// window held it yet).
    fn log_push(&self, state: &mut UserState, seq: u64, body: &Arc<PushBody>) {
        state.log.push_back((seq, Arc::clone(body)));
        state.log_bytes += window_cost(body);
        let mut added = ENTRY_OVERHEAD;
        if body.windows.fetch_add(1, Ordering::Relaxed) == 0 {
            added += body.size();
        }
        self.inner.held.fetch_add(added, Ordering::Relaxed);
    }

    /// Removes the oldest push of a window (false when it is empty), uncounting it from
    /// `held` (its bytes when it was the last window holding it).
    fn pop_oldest(&self, state: &mut UserState) -> bool {
        let Some((_, old)) = state.log.pop_front() else {
            return false;
        };
        state.log_bytes -= window_cost(&old);
        let mut removed = ENTRY_OVERHEAD;
        if old.windows.fetch_sub(1, Ordering::Relaxed) == 1 {
            removed += old.size();
        }
        self.inner.held.fetch_sub(removed, Ordering::Relaxed);
        true
    }

    /// How many gateway requests are being worked on now, on any connection: a request counts
    /// from its start until its work ends, or is cut short with its closed connection.
    pub fn requests_running(&self) -> usize {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// Counts a request's work as running until the returned guard drops.
    pub(crate) fn request_started(&self) -> RunningRequest {
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        RunningRequest(Arc::clone(&self.inner.requests))
    }

    /// How many users the hub holds state for (connected or recently seen).
    pub fn users_held(&self) -> usize {
        self.users().len()
    }

    /// Bytes of encoded pushes the hub holds now, in resume windows and send queues: each
    /// push once, however many users it went to.
    pub fn push_bytes(&self) -> usize {
        self.inner.live.load(Ordering::Relaxed)
    }

    /// Bytes the resume windows hold now: their pushes (each once), an overhead per entry
    /// and per user. Stays within the configured total; send queues are bounded apart, per
    /// connection.
    pub fn resume_bytes(&self) -> usize {
        let _users = self.users();
        self.inner.held.load(Ordering::Relaxed)
    }

    /// Bytes `user`'s resume window costs: its pushes (shared ones counted in full), an
    /// overhead per entry and the user's own.
    pub fn window_bytes(&self, user: &UserId) -> usize {
        self.users()
            .get(user)
            .map_or(0, |s| USER_OVERHEAD + s.log_bytes)
    }

    fn ages(&self) -> MutexGuard<'_, Ages> {
        self.inner
            .ages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Pushes `event` to everyone who should see what `user` did (see [`audience`]).
    pub fn push_about(&self, user: &UserId, event: &'static str, data: &Value) {
        let mut users = self.users();
        self.push_locked(&mut users, &audience(user), event, data);
        self.relay(user, event, data.clone());
    }

    /// From now on, presence and profile changes are also sent here, for relaying to the
    /// users who share a chat with the user ([`crate::chat::Chats::relay`]).
    pub fn relay_notices(&self) -> mpsc::Receiver<Notice> {
        let (tx, rx) = mpsc::channel(RELAY_QUEUE);
        *self
            .inner
            .relay
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(tx);
        rx
    }

    fn relay(&self, user: &UserId, event: &'static str, data: Value) {
        let relay = self
            .inner
            .relay
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(tx) = relay.as_ref()
            && tx
                .try_send(Notice {
                    user: user.clone(),
                    event,
                    data,
                })
                .is_err()
        {
            tracing::debug!(%user, event, "gateway: relay queue full or closed; change dropped");
        }
    }

    /// Whether `user` is connected; when not, since when (while the hub still remembers).
    pub fn presence_of(&self, user: &UserId) -> (Status, Option<Timestamp>) {
        match self.users().get(user) {
            Some(state) if !state.conns.is_empty() => (Status::Online, None),
            Some(state) => (Status::Offline, state.idle_since),
            None => (Status::Offline, None),
        }
    }

    fn push_locked(
        &self,
        users: &mut HashMap<UserId, UserState>,
        to: &[UserId],
        event: &str,
        data: &Value,
    ) {
        if to.is_empty() {
            return;
        }
        let mut ages = self.ages();
        let generation = ages.next_generation;
        ages.next_generation += 1;
        let body = match PushBody::encode(event, data, generation, &self.inner.live) {
            Ok(body) => Arc::new(body),
            Err(e) => {
                tracing::error!(error = %e, event, "gateway: cannot encode a push");
                return;
            }
        };
        for target in to {
            let state = self.user_state(users, target);
            state.seq += 1;
            let seq = state.seq;
            self.log_push(state, seq, &body);
            while state.log.len() > self.inner.window
                || USER_OVERHEAD + state.log_bytes > self.inner.window_bytes
            {
                if !self.pop_oldest(state) {
                    break;
                }
            }
            for conn in &state.conns {
                let push = QueuedPush::new(Arc::clone(&body), seq);
                let bytes = push.bytes();
                // Counted before it is sent, so the connection never takes off bytes that
                // were not added yet; taken off again when it does not go in.
                let queued = conn.queued.fetch_add(bytes, Ordering::Relaxed) + bytes;
                if queued > self.inner.send_queue_bytes {
                    // Bounded in bytes too: 256 maximal frames would be 16 MiB per reader.
                    conn.queued.fetch_sub(bytes, Ordering::Relaxed);
                    conn.kick(close::TOO_SLOW);
                    continue;
                }
                if let Err(refused) = conn.tx.try_send(push) {
                    conn.queued.fetch_sub(bytes, Ordering::Relaxed);
                    match refused {
                        // The client stopped reading: drop it rather than grow the queue.
                        mpsc::error::TrySendError::Full(_) => conn.kick(close::TOO_SLOW),
                        mpsc::error::TrySendError::Closed(_) => {}
                    }
                }
            }
        }
        ages.order.push_back((generation, Arc::downgrade(&body)));
        drop(body);
        self.keep_total(users, &mut ages);
    }

    /// Keeps what the windows hold (`held`) within the hub's total: past it, the oldest
    /// pushes leave every window (down to 90% of the total, so that this runs once per many
    /// pushes, not on each), and the users whose window lost pushes they had not seen will
    /// resync. Only bytes the windows hold count, so a cut frees what it counts; what is
    /// beyond reach of cutting (the users' own overhead) is left to the resume TTL.
    fn keep_total(&self, users: &mut HashMap<UserId, UserState>, ages: &mut Ages) {
        while ages
            .order
            .front()
            .is_some_and(|(_, body)| body.strong_count() == 0)
        {
            ages.order.pop_front();
        }
        if ages.order.len() > 2 * ages.compacted_len.max(1024) {
            ages.order.retain(|(_, body)| body.strong_count() > 0);
            ages.compacted_len = ages.order.len();
        }
        let held = self.inner.held.load(Ordering::Relaxed);
        if held <= self.inner.total_bytes {
            return;
        }
        let target = self.inner.total_bytes - self.inner.total_bytes / 10;
        let mut freed = 0;
        let mut cutoff = None;
        while held.saturating_sub(freed) > target {
            let Some((generation, body)) = ages.order.pop_front() else {
                break;
            };
            // A push only send queues hold is left to them: cutting frees nothing of it.
            if let Some(body) = body.upgrade() {
                let windows = body.windows.load(Ordering::Relaxed);
                if windows > 0 {
                    freed += body.size() + windows * ENTRY_OVERHEAD;
                    cutoff = Some(generation + 1);
                }
            }
        }
        let Some(cutoff) = cutoff else { return };
        for state in users.values_mut() {
            while state
                .log
                .front()
                .is_some_and(|(_, body)| body.generation < cutoff)
            {
                self.pop_oldest(state);
            }
        }
        tracing::debug!(
            before = held,
            after = self.inner.held.load(Ordering::Relaxed),
            "gateway: resume windows cut to the hub's memory bound"
        );
    }

    /// Closes every connection of one session with `code`.
    pub fn kick_session(&self, user: &UserId, session: &SessionId, code: u16) {
        let users = self.users();
        if let Some(state) = users.get(user) {
            for conn in state.conns.iter().filter(|c| &c.session == session) {
                conn.kick(code);
            }
        }
    }

    /// Closes every connection with `code` and refuses new ones (node shutdown).
    pub fn close_all(&self, code: u16) {
        self.inner.closing.store(true, Ordering::SeqCst);
        let users = self.users();
        for conn in users.values().flat_map(|s| s.conns.iter()) {
            conn.kick(code);
        }
    }

    /// How many connections `user` has.
    pub fn connections(&self, user: &UserId) -> usize {
        self.users().get(user).map_or(0, |s| s.conns.len())
    }

    /// Users with at least one open connection, and open connections in all (for metrics).
    pub fn connected(&self) -> (usize, usize) {
        let users = self.users();
        users
            .values()
            .filter(|s| !s.conns.is_empty())
            .fold((0, 0), |(u, c), s| (u + 1, c + s.conns.len()))
    }
}

impl crate::chat::Pusher for Hub {
    /// Chat pushes go only to users the hub holds (connected, or recently so and resumable):
    /// a group's offline members catch up from history, not from the hub.
    fn push(&self, users: &[UserId], event: &str, data: &Value) {
        let mut held = self.users();
        let present: Vec<UserId> = users
            .iter()
            .filter(|u| held.contains_key(*u))
            .cloned()
            .collect();
        self.push_locked(&mut held, &present, event, data);
    }

    fn presence_of(&self, user: &UserId) -> (Status, Option<Timestamp>) {
        Hub::presence_of(self, user)
    }
}

/// Whom the hub itself tells about what `user` does (presence, profile changes): the user's
/// own connections. The people who share a chat with them hear through the relay
/// ([`Hub::relay_notices`]), which needs the database.
pub fn audience(user: &UserId) -> Vec<UserId> {
    vec![user.clone()]
}

fn presence(user: &UserId, status: Status, last_seen: Option<Timestamp>) -> Value {
    let push = PresencePush {
        user: user.clone(),
        status,
        last_seen,
    };
    // A struct of an id, an enum and an integer always serializes.
    gateway::to_value(&push).unwrap_or(Value::Null)
}

#[cfg(test)]
mod eviction_tests {
    use super::*;

    #[tokio::test]
    async fn a_kick_wakes_a_waiting_connection_and_one_asked_before_is_not_missed() {
        let kick = Arc::new(Kick::default());
        assert_eq!(kick.code(), None);
        let waiting = tokio::spawn({
            let kick = Arc::clone(&kick);
            async move { kick.asked().await }
        });
        tokio::task::yield_now().await;
        kick.ask(close::TOO_SLOW);
        let code = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("woken")
            .expect("task");
        assert_eq!(code, close::TOO_SLOW);
        // Asked already: a later wait ends at once, with the last code asked for.
        kick.ask(close::SESSION_REVOKED);
        assert_eq!(kick.asked().await, close::SESSION_REVOKED);
        assert_eq!(kick.code(), Some(close::SESSION_REVOKED));
    }

    #[test]
    fn users_without_connections_are_dropped_after_the_resume_ttl() {
        let hub = Hub::new(&GatewaySettings::default());
        let alice = UserId::parse("@alice:node.test").expect("valid");
        let bob = UserId::parse("@bob:node.test").expect("valid");
        let session = SessionId::from("s1".to_owned());
        let a = hub.register(&alice, &session, None).expect("registers");
        let b = hub.register(&bob, &session, None).expect("registers");
        let t0 = Timestamp(SWEEP_EVERY_MS * 10);
        hub.unregister(&alice, a.id, t0);
        assert_eq!(hub.users_held(), 2, "alice is kept for resuming");
        // Bob's connection stays; alice has been gone longer than the TTL.
        let later = Timestamp(t0.millis() + RESUME_TTL_MS + SWEEP_EVERY_MS);
        hub.unregister(&bob, u64::MAX, later);
        assert_eq!(hub.users_held(), 1, "only connected bob remains");
        assert_eq!(hub.connections(&bob), 1);
        drop(b);
    }

    fn text(n: usize) -> Value {
        Value::Map(vec![(Value::from("text"), Value::from("x".repeat(n)))])
    }

    fn user(name: &str) -> UserId {
        UserId::parse(&format!("@{name}:node.test")).expect("valid")
    }

    #[test]
    fn one_push_to_many_users_is_held_once() {
        let hub = Hub::new(&GatewaySettings::default());
        let users: Vec<UserId> = (0..50).map(|i| user(&format!("user{i}"))).collect();
        let mut held = hub.users();
        hub.push_locked(&mut held, &users, "chat.event", &text(10_000));
        drop(held);
        let bytes = hub.push_bytes();
        assert!(
            (10_000..11_000).contains(&bytes),
            "one copy for 50 users: {bytes}"
        );
        assert!(hub.window_bytes(&users[49]) >= 10_000);
    }

    #[test]
    fn a_window_cut_by_its_bytes_cannot_resume_from_before_the_cut() {
        let settings = GatewaySettings {
            resume_window_bytes: USER_OVERHEAD + 2_500,
            ..GatewaySettings::default()
        };
        let hub = Hub::new(&settings);
        let alice = user("alice");
        let session = SessionId::from("s1".to_owned());
        let first = hub.register(&alice, &session, None).expect("registers");
        let start = Cursor::parse(&first.cursor).expect("cursor");
        hub.unregister(&alice, first.id, Timestamp(1));
        // seq 1 online, 2 offline; then three pushes of 1 KB (seq 3..=5): two fit.
        for _ in 0..3 {
            hub.push_about(&alice, "profile", &text(1_000));
        }
        assert!(hub.window_bytes(&alice) <= USER_OVERHEAD + 2_500);
        let before_cut = format!("{}.{}", start.boot, 2);
        let cut = hub
            .register(&alice, &session, Some(&before_cut))
            .expect("registers");
        assert!(cut.missed.is_none(), "a push after the cursor is gone");
        let after_cut = format!("{}.{}", start.boot, 3);
        let whole = hub
            .register(&alice, &session, Some(&after_cut))
            .expect("registers");
        let missed = whole.missed.expect("resumes");
        // The cut registration went online (seq 6): the pushes after 3 are 4, 5 and 6.
        assert_eq!(missed.len(), 3);
        assert_eq!(cursor_of(&missed[1]), format!("{}.{}", start.boot, 5));
    }

    #[test]
    fn the_hub_total_cuts_the_oldest_pushes_of_every_window() {
        let total = 10 * USER_OVERHEAD + 20_000;
        let settings = GatewaySettings {
            resume_total_bytes: total,
            ..GatewaySettings::default()
        };
        let hub = Hub::new(&settings);
        let users: Vec<UserId> = (0..10).map(|i| user(&format!("user{i}"))).collect();
        for _ in 0..100 {
            let mut held = hub.users();
            hub.push_locked(&mut held, &users, "chat.event", &text(1_000));
            drop(held);
            assert!(hub.resume_bytes() <= total, "{}", hub.resume_bytes());
            assert!(hub.push_bytes() <= total, "{}", hub.push_bytes());
        }
        for u in &users {
            let window = hub.window_bytes(u);
            assert!((10_000..=total).contains(&window), "{window}");
        }
    }

    /// What the windows really hold, counted apart from the hub's own figure: every distinct
    /// push once, and each entry's `(seq, Arc)` pair.
    fn measured_window_memory(hub: &Hub) -> usize {
        let users = hub.users();
        let mut seen = std::collections::HashSet::new();
        let mut bytes = 0;
        for state in users.values() {
            bytes += size_of::<(UserId, UserState)>();
            for (_, body) in &state.log {
                bytes += size_of::<(u64, Arc<PushBody>)>();
                if seen.insert(Arc::as_ptr(body)) {
                    bytes += body.size();
                }
            }
        }
        bytes
    }

    #[test]
    fn many_users_with_small_pushes_stay_within_the_total_with_their_overhead() {
        const TOTAL: usize = 256 * 1024;
        let settings = GatewaySettings {
            resume_total_bytes: TOTAL,
            ..GatewaySettings::default()
        };
        let hub = Hub::new(&settings);
        let users: Vec<UserId> = (0..200).map(|i| user(&format!("user{i}"))).collect();
        // 600 tiny pushes to 200 users: the pushes themselves are a few KiB, the window
        // entries pointing at them (200 × 500) most of the memory.
        for _ in 0..600 {
            let mut held = hub.users();
            hub.push_locked(&mut held, &users, "chat.typing", &text(1));
            drop(held);
            let measured = measured_window_memory(&hub);
            assert!(measured <= TOTAL, "windows hold {measured} bytes");
            assert!(hub.resume_bytes() <= TOTAL, "{}", hub.resume_bytes());
            assert!(
                measured <= hub.resume_bytes(),
                "the figure covers what is held"
            );
        }
        assert!(
            hub.window_bytes(&users[199]) > USER_OVERHEAD,
            "recent pushes are still kept"
        );
    }

    #[test]
    fn a_slow_reader_is_closed_when_its_queue_passes_its_bytes() {
        let settings = GatewaySettings {
            send_queue_bytes: 10_000,
            ..GatewaySettings::default()
        };
        let hub = Hub::new(&settings);
        let alice = user("alice");
        let session = SessionId::from("s1".to_owned());
        // Never read: every push stays queued.
        let reg = hub.register(&alice, &session, None).expect("registers");
        for _ in 0..8 {
            hub.push_about(&alice, "profile", &text(1_000));
        }
        assert_eq!(reg.kick.code(), None, "8 KiB queued is within the bound");
        for _ in 0..4 {
            hub.push_about(&alice, "profile", &text(1_000));
        }
        assert_eq!(reg.kick.code(), Some(close::TOO_SLOW));
        // The frames refused did not join the queue.
        let queued: usize = {
            let users = hub.users();
            let state = users.get(&alice).expect("held");
            state.conns[0].queued.load(Ordering::Relaxed)
        };
        assert!(queued <= 10_000, "{queued}");
    }

    #[test]
    fn bytes_only_send_queues_hold_do_not_empty_the_windows() {
        let settings = GatewaySettings {
            send_queue: 100_000,
            send_queue_bytes: usize::MAX,
            resume_window_bytes: USER_OVERHEAD + 3_000,
            resume_total_bytes: USER_OVERHEAD + 20_000,
            ..GatewaySettings::default()
        };
        let hub = Hub::new(&settings);
        let alice = user("alice");
        let session = SessionId::from("s1".to_owned());
        // A connection that does not read holds 100 pushes in its queue, far past the total;
        // the window keeps only the last two.
        let reg = hub.register(&alice, &session, None).expect("registers");
        for _ in 0..100 {
            hub.push_about(&alice, "profile", &text(1_000));
            assert!(
                hub.window_bytes(&alice) > USER_OVERHEAD + 1_000,
                "the window keeps its recent pushes"
            );
        }
        assert!(hub.push_bytes() > 100_000, "the queue holds them all");
        assert!(hub.resume_bytes() <= USER_OVERHEAD + 20_000);
        drop(reg);
    }

    /// The cursor of an encoded push frame.
    fn cursor_of(bytes: &[u8]) -> String {
        use winichat_protocol::client::ServerFrame;
        match ServerFrame::decode(bytes).expect("a frame") {
            ServerFrame::Push(push) => push.cursor.expect("a cursor"),
            other => panic!("not a push: {other:?}"),
        }
    }
}
