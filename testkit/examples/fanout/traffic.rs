//! The measured traffic: open-loop senders, receivers that time each delivery from its
//! message's scheduled send time, and one rate step run over them.
//!
//! Every benchmark message carries `b<step>:<scheduled ns>` as its text: a receiver needs no
//! shared table to time it, and a late arrival from an earlier step is recognised and left
//! out.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ciborium::Value;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use winichat_protocol::client::{ClientFrame, Push, Request, ServerFrame};
use winichat_protocol::gateway::chat::{event, method};
use winichat_protocol::gateway::{self};
use winichat_protocol::ids::GroupId;
use winichat_testkit::loadgen::{Ws, cpu_split, percentile};
use winichat_testkit::users;

/// The name of the generator runtime's threads (the servers run on another runtime), so that
/// their CPU time is told apart.
pub const GENERATOR_THREADS: &str = "loadgen";
/// How long a step may run past its scheduled end before its senders give up (the figures then
/// show the step fell behind).
const SEND_GRACE: Duration = Duration::from_secs(10);
/// The longest wait for the last deliveries of a step.
const DRAIN_WAIT: Duration = Duration::from_secs(10);
/// A step's deliveries are over once none arrived for this long.
const DRAIN_QUIET: Duration = Duration::from_millis(1000);
/// How often the drain looks at the counts.
const DRAIN_POLL: Duration = Duration::from_millis(20);

/// The run's clock and the step being measured (0: none; arrivals are not counted).
#[derive(Debug)]
pub struct Traffic {
    base: Instant,
    step: AtomicU32,
}

impl Traffic {
    pub fn new() -> Arc<Traffic> {
        Arc::new(Traffic {
            base: Instant::now(),
            step: AtomicU32::new(0),
        })
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn ns_at(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX)
    }
}

/// What one receiving connection saw in the current step.
#[derive(Debug, Default)]
pub struct Tally {
    count: AtomicU64,
    /// Latency of each delivery, µs from the message's scheduled send time.
    latencies: Mutex<Vec<u32>>,
    /// Latest arrival, ns on the run's clock.
    last_arrival: AtomicU64,
    /// The close code once the server closed this connection (`u32::MAX`: without a code).
    closed: AtomicU32,
}

impl Tally {
    /// The close code, once closed (`Some(None)`: closed without one).
    pub fn closed(&self) -> Option<Option<u16>> {
        match self.closed.load(Ordering::Relaxed) {
            0 => None,
            u32::MAX => Some(None),
            code => Some(u16::try_from(code).ok()),
        }
    }

    fn close(&self, code: Option<u16>) {
        let code = code.map_or(u32::MAX, u32::from).max(1);
        let _ = self
            .closed
            .compare_exchange(0, code, Ordering::Relaxed, Ordering::Relaxed);
    }
}

/// Reads `stream` until it closes (its task is aborted when its connection is closed),
/// timing every benchmark message of the current step. Everything else (replies, other
/// pushes) is read and dropped, so the server never sees a slow reader. No timer per frame:
/// a read waits for the socket alone.
pub async fn receive(mut stream: SplitStream<Ws>, traffic: Arc<Traffic>, tally: Arc<Tally>) {
    loop {
        let bytes = match stream.next().await {
            Some(Ok(Message::Binary(bytes))) => bytes,
            Some(Ok(Message::Close(close))) => {
                tally.close(close.map(|c| u16::from(c.code)));
                return;
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => {
                tally.close(None);
                return;
            }
        };
        let step = traffic.step.load(Ordering::Relaxed);
        if step == 0 {
            continue;
        }
        let Ok(ServerFrame::Push(push)) = ServerFrame::decode(&bytes) else {
            continue;
        };
        let Some((of_step, scheduled)) = bench_stamp(&push) else {
            continue;
        };
        if of_step != step {
            continue;
        }
        let now = traffic.now_ns();
        let micros = now.saturating_sub(scheduled) / 1000;
        tally.count.fetch_add(1, Ordering::Relaxed);
        tally.last_arrival.fetch_max(now, Ordering::Relaxed);
        tally
            .latencies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(u32::try_from(micros).unwrap_or(u32::MAX));
    }
}

/// The `(step, scheduled ns)` of a benchmark message's `chat.event` push.
fn bench_stamp(push: &Push) -> Option<(u32, u64)> {
    if push.event != event::CHAT_EVENT {
        return None;
    }
    let body = field(field(&push.data, "item")?, "body")?;
    let text = field(body, "text")?.as_text()?;
    let (step, scheduled) = text.strip_prefix('b')?.split_once(':')?;
    Some((step.parse().ok()?, scheduled.parse().ok()?))
}

fn field<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

fn field_mut<'a>(map: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    map.as_map_mut()?
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

/// Whether `push` is the `chat.event` of the set-up's post (`b0:0`), the ceiling's template.
pub fn is_template(push: &Push) -> bool {
    bench_stamp(push) == Some((0, 0))
}

pub fn stamp_text(step: u32, scheduled_ns: u64) -> String {
    format!("b{step}:{scheduled_ns}")
}

/// What a sender sends: a node post, or for the ceiling a copy of a real `chat.event` push
/// frame (so that its receivers decode the same frames as the node's).
#[derive(Debug, Clone)]
pub enum Payload {
    /// `msgs.post` requests to the group.
    Post(GroupId),
    /// The push frame with its text replaced.
    Push(Box<Push>),
}

impl Payload {
    /// A ceiling payload from a real `chat.event` push of the node.
    pub fn from_push(push: Push) -> Result<Payload, String> {
        let mut template = Box::new(push);
        text_of(&mut template).ok_or("the template push has no item.body.text")?;
        Ok(Payload::Push(template))
    }

    fn frame(&self, id: u64, text: String) -> Vec<u8> {
        let frame = match self {
            Payload::Post(group) => ClientFrame::Request(Request {
                id,
                method: method::MSGS_POST.to_owned(),
                params: gateway::to_value(&users::post_params(group, &text))
                    .expect("post params encode"),
            })
            .encode(),
            Payload::Push(template) => {
                let mut push = (**template).clone();
                if let Some(slot) = text_of(&mut push) {
                    *slot = Value::Text(text);
                }
                ServerFrame::Push(push).encode()
            }
        };
        frame.expect("a benchmark frame encodes")
    }
}

fn text_of(push: &mut Push) -> Option<&mut Value> {
    let body = field_mut(field_mut(&mut push.data, "item")?, "body")?;
    field_mut(body, "text")
}

/// What came back on a sender's own connection.
#[derive(Debug, Default)]
pub struct SenderTally {
    pub ok: AtomicU64,
    /// Latest reply, ns on the run's clock.
    pub last_reply: AtomicU64,
    pub refused: AtomicU64,
    pub first_refusal: Mutex<Option<String>>,
    pub closed: Tally,
}

/// Reads a sender's connection until it closes (its task is aborted when its connection is
/// closed): counts its replies, drops pushes, notes a close.
pub async fn sender_replies(
    mut stream: SplitStream<Ws>,
    traffic: Arc<Traffic>,
    tally: Arc<SenderTally>,
) {
    loop {
        match stream.next().await {
            Some(Ok(Message::Binary(bytes))) => match ServerFrame::decode(&bytes) {
                Ok(ServerFrame::Ok { .. }) => {
                    tally.ok.fetch_add(1, Ordering::Relaxed);
                    tally
                        .last_reply
                        .fetch_max(traffic.now_ns(), Ordering::Relaxed);
                }
                Ok(ServerFrame::Err { error, .. }) => {
                    tally.refused.fetch_add(1, Ordering::Relaxed);
                    tally
                        .last_reply
                        .fetch_max(traffic.now_ns(), Ordering::Relaxed);
                    let mut first = tally
                        .first_refusal
                        .lock()
                        .unwrap_or_else(|e| e.into_inner());
                    first.get_or_insert_with(|| format!("{error:?}"));
                }
                _ => {}
            },
            Some(Ok(Message::Close(close))) => {
                tally.closed.close(close.map(|c| u16::from(c.code)));
                return;
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => {
                tally.closed.close(None);
                return;
            }
        }
    }
}

/// One sending connection: its write half, the next request id, and what came back.
#[derive(Debug)]
pub struct Sender {
    pub sink: SplitSink<Ws, Message>,
    /// The task reading the connection.
    pub reader: tokio::task::JoinHandle<()>,
    pub next_id: u64,
    pub tally: Arc<SenderTally>,
}

/// A step's plan: `count` messages scheduled evenly at `rate` a second from `start`.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub step: u32,
    pub count: u64,
    pub rate: f64,
    pub start: Instant,
    /// Wait for each scheduled time precisely (spinning its last 2 ms) rather than to the
    /// timer's millisecond: for the unloaded latency, where a message is due every 50 ms.
    pub precise: bool,
}

impl Plan {
    fn scheduled(&self, k: u64) -> Instant {
        self.start + Duration::from_secs_f64(k as f64 / self.rate)
    }

    fn end(&self) -> Instant {
        self.scheduled(self.count)
    }
}

/// What a sender did in a step.
#[derive(Debug, Default, Clone, Copy)]
struct Sent {
    sent: u64,
    last_send: Option<Instant>,
    failed: bool,
}

/// Sends messages `index`, `index + of`, … of `plan`, each at its scheduled time or at once
/// when late (open loop: a slow server delays the sends and the latency counts it).
async fn send_share(
    mut sender: Sender,
    payload: Payload,
    plan: Plan,
    traffic: Arc<Traffic>,
    index: u64,
    of: u64,
) -> (Sender, Sent) {
    let mut sent = Sent::default();
    let give_up = plan.end() + SEND_GRACE;
    let mut k = index;
    while k < plan.count {
        let scheduled = plan.scheduled(k);
        let now = Instant::now();
        if now >= give_up {
            break;
        }
        if scheduled > now {
            if plan.precise {
                wait_precisely(scheduled).await;
            } else {
                tokio::time::sleep_until(scheduled).await;
            }
        }
        let text = stamp_text(plan.step, traffic.ns_at(scheduled));
        let frame = payload.frame(sender.next_id, text);
        sender.next_id += 1;
        let write =
            tokio::time::timeout_at(give_up, sender.sink.send(Message::Binary(frame.into())));
        match write.await {
            Ok(Ok(())) => {
                sent.sent += 1;
                sent.last_send = Some(Instant::now());
            }
            Ok(Err(_)) | Err(_) => {
                sent.failed = true;
                break;
            }
        }
        k += of;
    }
    (sender, sent)
}

/// Sleeps to 2 ms before `until`, then yields until it (bounded: the 2 ms are a few thousand
/// turns at most).
async fn wait_precisely(until: Instant) {
    let coarse = until.checked_sub(Duration::from_millis(2));
    if let Some(coarse) = coarse.filter(|&c| c > Instant::now()) {
        tokio::time::sleep_until(coarse).await;
    }
    for _ in 0..1_000_000 {
        if Instant::now() >= until {
            return;
        }
        tokio::task::yield_now().await;
    }
}

/// The figures of one step.
#[derive(Debug, Clone, Default)]
pub struct StepFigures {
    /// Messages sent, and the rate they went out at (msg/s).
    pub sent: u64,
    pub send_rate: f64,
    /// Deliveries expected (sent × receivers) and seen.
    pub expected: u64,
    pub delivered: u64,
    /// Deliveries per second, over the step from its start to the last delivery.
    pub deliveries_per_sec: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// CPU seconds per million deliveries during the step and its drain: of the server (every
    /// thread but the generator's), and of the generator.
    pub cpu_per_million: Option<f64>,
    pub generator_cpu_per_million: Option<f64>,
    /// Connections (receivers and senders) the server closed during the step.
    pub closed: usize,
    /// Of which with 4006 (too slow).
    pub closed_too_slow: usize,
    /// Requests the node acknowledged (committed), and at what rate from the step's start to
    /// the last reply (node only).
    pub acked: u64,
    pub acked_per_sec: f64,
    /// Requests the server refused (node only).
    pub refused: u64,
    pub first_refusal: Option<String>,
    /// Senders whose writes failed or gave up.
    pub failed_senders: usize,
}

impl StepFigures {
    pub fn delivered_fraction(&self) -> f64 {
        if self.expected == 0 {
            return 0.0;
        }
        self.delivered as f64 / self.expected as f64
    }

    /// A step passes when ≥ 99 % was delivered with p99 ≤ 1 s, at ≥ 90 % of the target rate,
    /// and no connection was closed.
    pub fn passed(&self, target_msgs_per_sec: f64) -> bool {
        self.delivered_fraction() >= 0.99
            && self.p99 <= Duration::from_secs(1)
            && self.send_rate >= 0.9 * target_msgs_per_sec
            && self.closed == 0
    }
}

/// Runs one step: the senders send `plan` (sender `i` every `len`-th message, its payload
/// `payloads[i % payloads.len()]`), the receivers count; then waits (bounded) for the last
/// deliveries, and with `await_replies` for the replies to every request. Returns the figures
/// and the senders.
pub async fn run_step(
    traffic: &Arc<Traffic>,
    senders: Vec<Sender>,
    payloads: &[Payload],
    receivers: &[Arc<Tally>],
    plan: Plan,
    await_replies: bool,
) -> (StepFigures, Vec<Sender>) {
    let closed_before = closed_count(receivers, &senders);
    let refused_before = sum(&senders, |t| &t.refused);
    let ok_before = sum(&senders, |t| &t.ok);
    for tally in receivers {
        tally.count.store(0, Ordering::Relaxed);
        tally.last_arrival.store(0, Ordering::Relaxed);
        tally
            .latencies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
    traffic.step.store(plan.step, Ordering::Relaxed);
    let cpu_before = cpu_split(GENERATOR_THREADS);

    let of = senders.len() as u64;
    let tasks: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(i, sender)| {
            tokio::spawn(send_share(
                sender,
                payloads[i % payloads.len()].clone(),
                plan,
                traffic.clone(),
                i as u64,
                of,
            ))
        })
        .collect();
    let mut senders = Vec::with_capacity(tasks.len());
    let mut figures = StepFigures::default();
    let mut last_send = plan.start;
    for task in tasks {
        let (sender, sent) = task.await.expect("a sender task");
        senders.push(sender);
        figures.sent += sent.sent;
        figures.failed_senders += usize::from(sent.failed);
        last_send = last_send.max(sent.last_send.unwrap_or(plan.start));
    }
    let sending = last_send
        .saturating_duration_since(plan.start)
        .max(plan.end().saturating_duration_since(plan.start))
        .max(Duration::from_millis(1));
    figures.send_rate = figures.sent as f64 / sending.as_secs_f64();
    figures.expected = figures.sent * receivers.len() as u64;

    // The drain: until all arrived, nothing arrived for a while, or the bound.
    let deadline = Instant::now() + DRAIN_WAIT;
    let mut seen = 0;
    let mut quiet_since = Instant::now();
    while Instant::now() < deadline {
        let now_seen: u64 = receivers
            .iter()
            .map(|t| t.count.load(Ordering::Relaxed))
            .sum();
        let replies = sum(&senders, |t| &t.ok) + sum(&senders, |t| &t.refused);
        let now_seen = now_seen + if await_replies { replies } else { 0 };
        let replies_due = if await_replies {
            ok_before + refused_before + figures.sent
        } else {
            0
        };
        if now_seen >= figures.expected + replies_due {
            break;
        }
        if now_seen != seen {
            seen = now_seen;
            quiet_since = Instant::now();
        } else if quiet_since.elapsed() >= DRAIN_QUIET {
            break;
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
    traffic.step.store(0, Ordering::Relaxed);
    let cpu_after = cpu_split(GENERATOR_THREADS);

    let mut latencies = Vec::new();
    let mut last_arrival = 0;
    for tally in receivers {
        figures.delivered += tally.count.load(Ordering::Relaxed);
        last_arrival = last_arrival.max(tally.last_arrival.load(Ordering::Relaxed));
        latencies.append(&mut tally.latencies.lock().unwrap_or_else(|e| e.into_inner()));
    }
    latencies.sort_unstable();
    let micros = |q| Duration::from_micros(u64::from(percentile(&latencies, q)));
    figures.p50 = micros(0.5);
    figures.p99 = micros(0.99);
    figures.max = micros(1.0);
    let window_ns = last_arrival
        .max(traffic.ns_at(last_send))
        .saturating_sub(traffic.ns_at(plan.start))
        .max(1);
    figures.deliveries_per_sec = figures.delivered as f64 / (window_ns as f64 / 1e9);
    if let (Some(before), Some(after)) = (cpu_before, cpu_after)
        && figures.delivered > 0
    {
        let per_million = |spent: Duration| spent.as_secs_f64() / figures.delivered as f64 * 1e6;
        figures.generator_cpu_per_million = Some(per_million(after.0.saturating_sub(before.0)));
        figures.cpu_per_million = Some(per_million(after.1.saturating_sub(before.1)));
    }
    let closed_after = closed_count(receivers, &senders);
    figures.closed = closed_after.0 - closed_before.0;
    figures.closed_too_slow = closed_after.1 - closed_before.1;
    figures.refused = sum(&senders, |t| &t.refused) - refused_before;
    figures.acked = sum(&senders, |t| &t.ok) - ok_before;
    let last_reply = senders
        .iter()
        .map(|s| s.tally.last_reply.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    let reply_window_ns = last_reply.saturating_sub(traffic.ns_at(plan.start)).max(1);
    figures.acked_per_sec = figures.acked as f64 / (reply_window_ns as f64 / 1e9);
    figures.first_refusal = senders.iter().find_map(|s| {
        s.tally
            .first_refusal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    });
    (figures, senders)
}

/// The sum of one counter over the senders.
fn sum(senders: &[Sender], counter: impl Fn(&SenderTally) -> &AtomicU64) -> u64 {
    senders
        .iter()
        .map(|s| counter(&s.tally).load(Ordering::Relaxed))
        .sum()
}

/// (closed connections, of which with 4006) among `receivers` and `senders`.
fn closed_count(receivers: &[Arc<Tally>], senders: &[Sender]) -> (usize, usize) {
    let codes = receivers
        .iter()
        .map(|t| t.closed())
        .chain(senders.iter().map(|s| s.tally.closed.closed()))
        .flatten();
    let mut closed = 0;
    let mut too_slow = 0;
    for code in codes {
        closed += 1;
        too_slow += usize::from(code == Some(gateway::close::TOO_SLOW));
    }
    (closed, too_slow)
}
