//! [`UdpRelay`]: a fault-injecting UDP relay on 127.0.0.1, so that QUIC between two nodes can
//! be disturbed (loss, duplication, reordering, delay, a cut link) without root or `tc`.
//!
//! ```no_run
//! # async fn demo(target: std::net::SocketAddr) {
//! use std::time::Duration;
//! use winichat_testkit::relay::UdpRelay;
//! let relay = UdpRelay::start(target).await;
//! // Dial `relay.addr()` instead of `target`.
//! relay.set_loss(20.0);
//! relay.set_delay(Duration::from_millis(30));
//! relay.cut();
//! relay.heal();
//! println!("{:?}", relay.stats());
//! relay.shutdown().await;
//! # }
//! ```
//!
//! It works like a NAT: every client source address that sends to [`UdpRelay::addr`] gets its
//! own upstream socket (bound to 127.0.0.1:0, connected to the target), and what the target
//! answers on that socket goes back to that client only. Faults apply to both directions, each
//! direction of each client having its own queue; every queue is bounded (a full queue drops,
//! and counts the drop) and every task ends when the relay is shut down or dropped.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// The most client source addresses one relay maps; datagrams from further clients are
/// dropped (and counted).
pub const MAX_CLIENTS: usize = 64;
/// Datagrams waiting between the socket reader and one direction's fault stage.
pub const INBOX_CAPACITY: usize = 1024;
/// Datagrams one direction holds back for a configured delay.
pub const DELAY_QUEUE_CAPACITY: usize = 4096;
/// How long a datagram held back for reordering waits for a successor before it goes alone.
pub const REORDER_HOLD: Duration = Duration::from_millis(10);
/// The largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;
/// Percentages are kept in millionths of the whole (percent × 10 000), so fractions of a
/// percent are expressible.
const SCALE: f64 = 10_000.0;
const WHOLE: u32 = 1_000_000;

/// What a relay has done so far (a snapshot of its counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Datagrams sent on towards the target (copies included).
    pub to_target: u64,
    /// Datagrams sent back to clients (copies included).
    pub to_client: u64,
    /// Datagrams dropped: by configured loss, while cut, or on a full queue.
    pub dropped: u64,
    /// Extra copies sent by configured duplication.
    pub duplicated: u64,
    /// Datagrams held back to be sent after their successor.
    pub reordered: u64,
    /// Client source addresses seen (each with its own upstream socket).
    pub clients: u64,
}

impl RelayStats {
    /// Datagrams sent in both directions.
    pub fn forwarded(&self) -> u64 {
        self.to_target + self.to_client
    }
}

/// The fault settings and counters shared by a relay's tasks and its control handles.
#[derive(Debug, Default)]
struct Shared {
    loss: AtomicU32,
    duplicate: AtomicU32,
    reorder: AtomicU32,
    delay_micros: AtomicU64,
    jitter_micros: AtomicU64,
    cut: AtomicBool,
    to_target: AtomicU64,
    to_client: AtomicU64,
    dropped: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
    clients: AtomicU64,
}

impl Shared {
    fn count_drop(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// A cheap-to-clone handle that changes a relay's faults at run time and reads its counters
/// (for tasks that outlive a borrow of the [`UdpRelay`]). Every setting takes effect for the
/// next datagram.
#[derive(Debug, Clone)]
pub struct RelayControl {
    shared: Arc<Shared>,
}

fn to_millionths(percent: f64) -> u32 {
    if percent.is_nan() {
        return 0;
    }
    // Clamped first, so the cast cannot overflow.
    (percent.clamp(0.0, 100.0) * SCALE).round() as u32
}

fn to_micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

impl RelayControl {
    /// Drops this percentage (0–100, fractions allowed) of datagrams in each direction.
    pub fn set_loss(&self, percent: f64) {
        self.shared
            .loss
            .store(to_millionths(percent), Ordering::Relaxed);
    }

    /// Sends a second copy of this percentage of datagrams.
    pub fn set_duplicate(&self, percent: f64) {
        self.shared
            .duplicate
            .store(to_millionths(percent), Ordering::Relaxed);
    }

    /// Holds back this percentage of datagrams and sends each after the datagram that follows
    /// it (or alone after [`REORDER_HOLD`] when none follows).
    pub fn set_reorder(&self, percent: f64) {
        self.shared
            .reorder
            .store(to_millionths(percent), Ordering::Relaxed);
    }

    /// Delays every datagram by `delay` in each direction.
    pub fn set_delay(&self, delay: Duration) {
        self.shared
            .delay_micros
            .store(to_micros(delay), Ordering::Relaxed);
    }

    /// Adds a uniformly random extra delay of up to `jitter` to each datagram. The queue stays
    /// first in, first out: jitter varies the spacing, reordering is [`Self::set_reorder`]'s.
    pub fn set_jitter(&self, jitter: Duration) {
        self.shared
            .jitter_micros
            .store(to_micros(jitter), Ordering::Relaxed);
    }

    /// No loss, duplication, reordering, delay or jitter; a cut stays cut.
    pub fn clear_faults(&self) {
        self.set_loss(0.0);
        self.set_duplicate(0.0);
        self.set_reorder(0.0);
        self.set_delay(Duration::ZERO);
        self.set_jitter(Duration::ZERO);
    }

    /// Drops everything in both directions (including datagrams already queued) until
    /// [`Self::heal`].
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::Relaxed);
    }

    /// Ends a [`Self::cut`].
    pub fn heal(&self) {
        self.shared.cut.store(false, Ordering::Relaxed);
    }

    /// Whether the link is cut.
    pub fn is_cut(&self) -> bool {
        self.shared.cut.load(Ordering::Relaxed)
    }

    /// The counters so far.
    pub fn stats(&self) -> RelayStats {
        let s = &self.shared;
        RelayStats {
            to_target: s.to_target.load(Ordering::Relaxed),
            to_client: s.to_client.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            duplicated: s.duplicated.load(Ordering::Relaxed),
            reordered: s.reordered.load(Ordering::Relaxed),
            clients: s.clients.load(Ordering::Relaxed),
        }
    }
}

/// A running relay: listens on 127.0.0.1 (a free port) and forwards to one target. Dropping
/// it stops every task and closes every socket; [`UdpRelay::shutdown`] does so and waits.
#[derive(Debug)]
pub struct UdpRelay {
    addr: SocketAddr,
    target: SocketAddr,
    control: RelayControl,
    task: JoinHandle<()>,
}

impl Drop for UdpRelay {
    fn drop(&mut self) {
        // The front task owns every other task (in its JoinSet), so aborting it ends them all.
        self.task.abort();
    }
}

impl UdpRelay {
    /// Starts a relay towards `target`, with no faults.
    ///
    /// # Panics
    /// If no socket can be bound on 127.0.0.1.
    pub async fn start(target: SocketAddr) -> UdpRelay {
        let front = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap_or_else(|e| panic!("relay: cannot bind 127.0.0.1:0: {e}"));
        let addr = front
            .local_addr()
            .unwrap_or_else(|e| panic!("relay: no local address: {e}"));
        let control = RelayControl {
            shared: Arc::new(Shared::default()),
        };
        let task = tokio::spawn(front_loop(Arc::new(front), target, control.shared.clone()));
        UdpRelay {
            addr,
            target,
            control,
            task,
        }
    }

    /// Where clients send (instead of the target).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the relay forwards to.
    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// A handle for changing faults from elsewhere.
    pub fn control(&self) -> RelayControl {
        self.control.clone()
    }

    /// See [`RelayControl::set_loss`].
    pub fn set_loss(&self, percent: f64) {
        self.control.set_loss(percent);
    }

    /// See [`RelayControl::set_duplicate`].
    pub fn set_duplicate(&self, percent: f64) {
        self.control.set_duplicate(percent);
    }

    /// See [`RelayControl::set_reorder`].
    pub fn set_reorder(&self, percent: f64) {
        self.control.set_reorder(percent);
    }

    /// See [`RelayControl::set_delay`].
    pub fn set_delay(&self, delay: Duration) {
        self.control.set_delay(delay);
    }

    /// See [`RelayControl::set_jitter`].
    pub fn set_jitter(&self, jitter: Duration) {
        self.control.set_jitter(jitter);
    }

    /// See [`RelayControl::clear_faults`].
    pub fn clear_faults(&self) {
        self.control.clear_faults();
    }

    /// See [`RelayControl::cut`].
    pub fn cut(&self) {
        self.control.cut();
    }

    /// See [`RelayControl::heal`].
    pub fn heal(&self) {
        self.control.heal();
    }

    /// See [`RelayControl::is_cut`].
    pub fn is_cut(&self) -> bool {
        self.control.is_cut()
    }

    /// See [`RelayControl::stats`].
    pub fn stats(&self) -> RelayStats {
        self.control.stats()
    }

    /// Stops every task, closes every socket, and waits until they are closed.
    pub async fn shutdown(mut self) {
        self.task.abort();
        // Cancelled is the expected outcome; a panic inside the relay is reported.
        if let Err(e) = (&mut self.task).await
            && e.is_panic()
        {
            panic!("relay task panicked: {e}");
        }
    }
}

/// Reads what clients send, creating each client's mapping on its first datagram.
async fn front_loop(front: Arc<UdpSocket>, target: SocketAddr, shared: Arc<Shared>) {
    let mut tasks = JoinSet::new();
    let mut clients: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (len, client) = match front.recv_from(&mut buf).await {
            Ok(received) => received,
            // On Linux an ICMP "port unreachable" for an earlier send to a client that went
            // away shows up as an error here; the socket itself is still fine.
            Err(_) => continue,
        };
        let datagram = buf[..len].to_vec();
        if !clients.contains_key(&client) {
            if clients.len() >= MAX_CLIENTS {
                shared.count_drop();
                continue;
            }
            let Some(inbox) = open_mapping(&mut tasks, &front, client, target, &shared).await
            else {
                shared.count_drop();
                continue;
            };
            shared.clients.fetch_add(1, Ordering::Relaxed);
            clients.insert(client, inbox);
        }
        let Some(inbox) = clients.get(&client) else {
            continue;
        };
        if inbox.try_send(datagram).is_err() {
            shared.count_drop();
        }
    }
}

/// Binds the upstream socket of a new client and starts its two directions; returns the
/// inbox of the client → target direction.
async fn open_mapping(
    tasks: &mut JoinSet<()>,
    front: &Arc<UdpSocket>,
    client: SocketAddr,
    target: SocketAddr,
    shared: &Arc<Shared>,
) -> Option<mpsc::Sender<Vec<u8>>> {
    let upstream = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .ok()?;
    upstream.connect(target).await.ok()?;
    let upstream = Arc::new(upstream);

    let (to_target, to_target_rx) = mpsc::channel(INBOX_CAPACITY);
    tasks.spawn(fault_stage(
        to_target_rx,
        Outlet::Target(upstream.clone()),
        shared.clone(),
    ));

    let (to_client, to_client_rx) = mpsc::channel(INBOX_CAPACITY);
    tasks.spawn(fault_stage(
        to_client_rx,
        Outlet::Client(front.clone(), client),
        shared.clone(),
    ));
    tasks.spawn(upstream_loop(upstream, to_client, shared.clone()));
    Some(to_target)
}

/// Reads what the target answers on one client's upstream socket.
async fn upstream_loop(
    upstream: Arc<UdpSocket>,
    to_client: mpsc::Sender<Vec<u8>>,
    shared: Arc<Shared>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        match upstream.recv(&mut buf).await {
            Ok(len) => {
                if to_client.try_send(buf[..len].to_vec()).is_err() {
                    shared.count_drop();
                }
            }
            // "Connection refused" (the target is not listening, e.g. a node being restarted)
            // is reported on the next receive; the mapping stays for when it is back.
            Err(_) => continue,
        }
    }
}

/// Where one direction's datagrams leave the relay.
enum Outlet {
    /// Towards the target, on the client's connected upstream socket.
    Target(Arc<UdpSocket>),
    /// Back to the client, from the relay's own address.
    Client(Arc<UdpSocket>, SocketAddr),
}

impl Outlet {
    async fn send(&self, datagram: &[u8], shared: &Shared) {
        // A failed send is a lost datagram, as on a real network.
        let (sent, counter) = match self {
            Outlet::Target(socket) => (socket.send(datagram).await, &shared.to_target),
            Outlet::Client(socket, client) => {
                (socket.send_to(datagram, client).await, &shared.to_client)
            }
        };
        match sent {
            Ok(_) => counter.fetch_add(1, Ordering::Relaxed),
            Err(_) => shared.dropped.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// One direction of one client: applies loss, duplication, reordering and delay, then sends.
async fn fault_stage(mut inbox: mpsc::Receiver<Vec<u8>>, outlet: Outlet, shared: Arc<Shared>) {
    let mut rng = XorShift::from_entropy();
    let mut held: Option<(Vec<u8>, Instant)> = None;
    let mut delayed: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    loop {
        let held_until = held.as_ref().map(|(_, until)| *until);
        let next_due = delayed.front().map(|(due, _)| *due);
        tokio::select! {
            received = inbox.recv() => {
                let Some(datagram) = received else { return };
                if shared.cut.load(Ordering::Relaxed) || rng.chance(&shared.loss) {
                    shared.count_drop();
                    continue;
                }
                let copies = if rng.chance(&shared.duplicate) {
                    shared.duplicated.fetch_add(1, Ordering::Relaxed);
                    2
                } else {
                    1
                };
                if held.is_none() && rng.chance(&shared.reorder) {
                    shared.reordered.fetch_add(1, Ordering::Relaxed);
                    // A held datagram's extra copy goes out now, so the copies differ in order too.
                    if copies == 2 {
                        emit(datagram.clone(), &outlet, &shared, &mut delayed, &mut rng).await;
                    }
                    held = Some((datagram, Instant::now() + REORDER_HOLD));
                    continue;
                }
                for _ in 1..copies {
                    emit(datagram.clone(), &outlet, &shared, &mut delayed, &mut rng).await;
                }
                emit(datagram, &outlet, &shared, &mut delayed, &mut rng).await;
                if let Some((late, _)) = held.take() {
                    emit(late, &outlet, &shared, &mut delayed, &mut rng).await;
                }
            }
            () = sleep_until_some(held_until) => {
                if let Some((late, _)) = held.take() {
                    emit(late, &outlet, &shared, &mut delayed, &mut rng).await;
                }
            }
            () = sleep_until_some(next_due) => {
                while let Some((due, _)) = delayed.front() {
                    if *due > Instant::now() {
                        break;
                    }
                    if let Some((_, datagram)) = delayed.pop_front() {
                        send_unless_cut(&datagram, &outlet, &shared).await;
                    }
                }
            }
        }
    }
}

/// Sends now, or queues behind the configured delay (first in, first out).
async fn emit(
    datagram: Vec<u8>,
    outlet: &Outlet,
    shared: &Shared,
    delayed: &mut VecDeque<(Instant, Vec<u8>)>,
    rng: &mut XorShift,
) {
    let delay = shared.delay_micros.load(Ordering::Relaxed);
    let jitter = shared.jitter_micros.load(Ordering::Relaxed);
    if delay == 0 && jitter == 0 && delayed.is_empty() {
        send_unless_cut(&datagram, outlet, shared).await;
        return;
    }
    if delayed.len() >= DELAY_QUEUE_CAPACITY {
        shared.count_drop();
        return;
    }
    let extra = if jitter == 0 {
        0
    } else {
        rng.next() % jitter.saturating_add(1)
    };
    let mut due = Instant::now() + Duration::from_micros(delay.saturating_add(extra));
    if let Some((last, _)) = delayed.back() {
        due = due.max(*last);
    }
    delayed.push_back((due, datagram));
}

async fn send_unless_cut(datagram: &[u8], outlet: &Outlet, shared: &Shared) {
    if shared.cut.load(Ordering::Relaxed) {
        shared.count_drop();
    } else {
        outlet.send(datagram, shared).await;
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// xorshift64*: fast, and good enough to decide which datagram to disturb.
struct XorShift(u64);

impl XorShift {
    fn from_entropy() -> XorShift {
        let mut seed = [0u8; 8];
        // Without entropy a fixed seed still disturbs datagrams, just predictably.
        let _ = getrandom::fill(&mut seed);
        XorShift(u64::from_le_bytes(seed) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// True with the probability held in `millionths`.
    fn chance(&mut self, millionths: &AtomicU32) -> bool {
        let p = millionths.load(Ordering::Relaxed);
        p > 0 && (p >= WHOLE || self.next() % u64::from(WHOLE) < u64::from(p))
    }
}
