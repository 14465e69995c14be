//! Federation delivery, node A → node B over real QUIC: how fast a message posted on A reaches
//! a member on B, and how many messages per second A sustains to B without a growing outbox.
//!
//! Prints figures (it is not a test; the project's speed targets live in benchmarks like this,
//! never in timed unit tests).
//!
//! ```text
//! cargo run --release -p winichat-testkit --example federation_delivery -- \
//!     [--unloaded N] [--rates 500,1000,2000,5000] [--secs S] [--posters P]
//! ```
//!
//! Two real nodes in this process (testkit `Cluster`, both on SQLite, pinned to each other,
//! gateways unthrottled), a public group on A that bob of B joins through B. Then:
//!
//! 1. **Unloaded latency**: `N` (default 500) messages posted one at a time by alice on A; each
//!    waits for the previous one to reach bob. Latency = from alice's `msgs.post` leaving the
//!    client to bob's `chat.event` arriving on B's gateway. Also alice's `msgs.post` reply time
//!    (A's own commit), for the split.
//! 2. **Sustained rate**: open-loop posting on A at each target rate for `S` seconds (default
//!    5) over `P` (default 32) connections: alice's (as many as one user may hold), then other
//!    users of A who join the group (the gateway answers one connection's
//!    requests in order, so one connection is limited by one post's round trip; each connection
//!    keeps at most [`WINDOW`] requests in flight). Per step: the rate A accepted, the rate B
//!    received during the step, A→B latency p50/p99, A's outbox depth towards B (sampled every
//!    [`SAMPLE_EVERY`]) at mid-step and at the end, and how long B took to catch up after the
//!    posting stopped; and the "hop": from the event's `ts` (set by A as it writes the event) to
//!    its arrival on B, which leaves out the time a post queued on A before it was written.
//!    The steps stop after the first one where A or B falls behind.
//!
//! The benchmark client runs in the same process as both nodes, so all three share the
//! machine's cores (the figures include that cost).

use std::collections::VecDeque;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use winichat_protocol::gateway::chat::{self as api, ChatEventPush, event, method};
use winichat_protocol::gateway::{self};
use winichat_protocol::group::Visibility;
use winichat_protocol::ids::{GroupId, NodeName};
use winichat_testkit::client::{Client, txn};
use winichat_testkit::cluster::{Cluster, ClusterSpec};
use winichat_testkit::node::Backend;
use winichat_testkit::users;

/// The node binary's allocator, so the node runs here as it does in production.
#[global_allocator]
static ALLOCATOR: winichat_node::Allocator = winichat_node::Allocator {};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const DEFAULT_UNLOADED: usize = 500;
const DEFAULT_RATES: [u32; 6] = [500, 1000, 2000, 3000, 5000, 7000];
const DEFAULT_SECS: u64 = 5;
const DEFAULT_POSTERS: usize = 32;
/// Groups on A the posters spread over (bob of B is in all of them).
const DEFAULT_GROUPS: usize = 16;
/// Requests one posting connection keeps in flight at most.
const WINDOW: usize = 64;
/// How often A's outbox depth is sampled during a step.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);
/// The longest wait for one unloaded message to reach B.
const UNLOADED_WAIT: Duration = Duration::from_secs(10);
/// The longest wait for B to catch up after a step.
const DRAIN_WAIT: Duration = Duration::from_secs(30);
/// The pause between two unloaded messages (after the first one arrived).
const UNLOADED_GAP: Duration = Duration::from_millis(5);
/// A name no push has: waiting for it reads (and buffers) whatever arrives.
const NO_PUSH: &str = "bench.nothing";
/// Text prefix of the benchmark's messages; the rest is the message's index.
const PREFIX: &str = "bench ";

/// Send and arrival stamps of every message, by index (ns since `base`, plus one; 0 = none).
struct Marks {
    base: Instant,
    sent: Vec<AtomicU64>,
    arrived: Vec<AtomicU64>,
    /// Wall-clock ms from the event's `ts` (stamped by A as it writes the event) to its
    /// arrival on B, plus one; 0 = none. Splits A's own queueing from the hop to B.
    hop: Vec<AtomicU64>,
    duplicates: AtomicU64,
    arrival: Notify,
    stop: AtomicBool,
}

impl Marks {
    fn new(capacity: usize) -> Marks {
        Marks {
            base: Instant::now(),
            sent: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
            arrived: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
            hop: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
            duplicates: AtomicU64::new(0),
            arrival: Notify::new(),
            stop: AtomicBool::new(false),
        }
    }

    fn stamp(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX - 1) + 1
    }

    fn at(&self, stamp: u64) -> Instant {
        self.base + Duration::from_nanos(stamp - 1)
    }

    /// Arrival − send of message `i`, if it arrived.
    fn latency(&self, i: usize) -> Option<Duration> {
        let sent = self.sent[i].load(Ordering::Relaxed);
        let arrived = self.arrived[i].load(Ordering::Relaxed);
        (sent != 0 && arrived != 0).then(|| Duration::from_nanos(arrived.saturating_sub(sent)))
    }

    /// Event `ts` on A → arrival on B of message `i` (ms resolution), if it arrived.
    fn hop(&self, i: usize) -> Option<Duration> {
        let hop = self.hop[i].load(Ordering::Relaxed);
        (hop != 0).then(|| Duration::from_millis(hop - 1))
    }

    /// The sorted hops of messages `range`.
    fn hops(&self, range: std::ops::Range<usize>) -> Vec<Duration> {
        let mut hops: Vec<Duration> = range.filter_map(|i| self.hop(i)).collect();
        hops.sort();
        hops
    }
}

struct Options {
    unloaded: usize,
    rates: Vec<u32>,
    secs: u64,
    posters: usize,
    groups: usize,
}

fn parse_options() -> Result<Options, BoxError> {
    let mut options = Options {
        unloaded: DEFAULT_UNLOADED,
        rates: DEFAULT_RATES.to_vec(),
        secs: DEFAULT_SECS,
        posters: DEFAULT_POSTERS,
        groups: DEFAULT_GROUPS,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--unloaded" => options.unloaded = value()?.parse()?,
            "--rates" => {
                options.rates = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
            }
            "--secs" => options.secs = value()?.parse()?,
            "--posters" => options.posters = value()?.parse()?,
            "--groups" => options.groups = value()?.parse()?,
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    if options.unloaded == 0 || options.posters == 0 || options.secs == 0 || options.groups == 0 {
        return Err("--unloaded, --posters, --groups and --secs must be positive".into());
    }
    let per_group = options.posters.div_ceil(options.groups);
    if per_group > winichat_protocol::gateway::MAX_CONNECTIONS_PER_USER {
        return Err(format!(
            "{} posters over {} groups is {per_group} connections per group's owner; at most {}",
            options.posters,
            options.groups,
            winichat_protocol::gateway::MAX_CONNECTIONS_PER_USER
        )
        .into());
    }
    if options.secs > 60 || options.rates.iter().any(|&r| r == 0 || r > 50_000) {
        return Err("--secs at most 60; rates between 1 and 50,000".into());
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("federation_delivery: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BoxError> {
    let options = parse_options()?;
    let capacity = options.unloaded
        + options
            .rates
            .iter()
            .map(|&r| r as usize * options.secs as usize + options.posters)
            .sum::<usize>();

    let cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Sqlite]).configure(users::unthrottled_gateway),
    )
    .await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let outbox_db = winichat_node::storage::open("sqlite", a.data_dir()).await?;
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let group = public_group(&mut alice, "bench").await;
    join_by_handle(&mut bob, &format!("#bench:{}", a.name()), &group).await?;
    bob.discard_pushes(event::CHAT_EVENT);
    alice.discard_pushes(event::CHAT_EVENT);

    println!(
        "federation_delivery: A = {} → B = {}, both SQLite, over loopback QUIC; {} cores",
        a.name(),
        b.name(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let marks = Arc::new(Marks::new(capacity));
    // The other groups of the sustained step, each owned by a user of A; bob joins them all
    // now, so that the receiver knows every group it counts.
    let mut groups = vec![group.clone()];
    let mut owners = Vec::new();
    for g in 1..options.groups {
        let mut owner = users::register(a, &format!("owner{g}")).await;
        let handle = format!("bench{g}");
        let owned = public_group(&mut owner, &handle).await;
        join_by_handle(&mut bob, &format!("#{handle}:{}", a.name()), &owned).await?;
        owner.discard_pushes(event::CHAT_EVENT);
        groups.push(owned);
        owners.push(owner);
    }
    bob.discard_pushes(event::CHAT_EVENT);
    let receiver = tokio::spawn(receive(
        bob,
        groups.iter().cloned().collect(),
        marks.clone(),
    ));

    // 1. Unloaded latency.
    let mut local = Vec::with_capacity(options.unloaded);
    for i in 0..options.unloaded {
        marks.sent[i].store(marks.stamp(), Ordering::Relaxed);
        let id = alice
            .send(
                method::MSGS_POST,
                gateway::to_value(&post_params(&group, i))?,
            )
            .await;
        alice
            .reply(id)
            .await
            .map_err(|e| format!("unloaded post {i}: {e:?}"))?;
        local.push(Duration::from_nanos(
            marks.stamp() - marks.sent[i].load(Ordering::Relaxed),
        ));
        wait_arrived(&marks, i, UNLOADED_WAIT)
            .await
            .ok_or_else(|| format!("unloaded message {i} did not reach B in {UNLOADED_WAIT:?}"))?;
        alice.discard_pushes(event::CHAT_EVENT);
        tokio::time::sleep(UNLOADED_GAP).await;
    }
    let mut remote: Vec<Duration> = (0..options.unloaded)
        .filter_map(|i| marks.latency(i))
        .collect();
    local.sort();
    remote.sort();
    let hops = marks.hops(0..options.unloaded);
    println!();
    println!(
        "1. unloaded: {} messages, one at a time ({} ms pause after each arrival)",
        options.unloaded,
        UNLOADED_GAP.as_millis()
    );
    println!(
        "   {:<38} {:>8} {:>8} {:>8} {:>8}",
        "", "p50", "p90", "p99", "max"
    );
    for (what, sorted) in [
        ("alice's msgs.post reply on A", &local),
        ("A → B (post sent → chat.event on B)", &remote),
        ("event ts on A → on B (ms resolution)", &hops),
    ] {
        println!(
            "   {what:<38} {:>8} {:>8} {:>8} {:>8}",
            ms(percentile(sorted, 0.50)),
            ms(percentile(sorted, 0.90)),
            ms(percentile(sorted, 0.99)),
            ms(sorted.last().copied().unwrap_or_default()),
        );
    }

    // 2. Sustained rate.
    // Poster `p` posts to group `p % G` over a connection of that group's owner (alice owns
    // the first), so a post is pushed to its owner's few connections on A and to bob on B.
    let owners: Vec<Client> = std::iter::once(alice).chain(owners).collect();
    let mut posters = Vec::with_capacity(options.posters);
    for p in 0..options.posters {
        let owner = &owners[p % options.groups];
        posters.push(owner.another(a).await);
    }
    // The owners' own connections are not needed any more (and would only buffer pushes).
    drop(owners);
    println!();
    println!(
        "2. sustained: open-loop posting on A for {} s per step, {} connections over {} groups \
         (≤ {WINDOW} in flight each)",
        options.secs, options.posters, options.groups
    );
    println!(
        "   {:>7} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>8}  verdict",
        "target",
        "A posted",
        "B recv'd",
        "p50",
        "p99",
        "max",
        "hop p50",
        "hop p99",
        "outbox½",
        "outbox",
        "catch-up",
    );
    println!(
        "   {:>7} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>8}",
        "msg/s", "msg/s", "msg/s", "ms", "ms", "ms", "ms", "ms", "mid", "end", "ms"
    );
    let mut next = options.unloaded;
    // (target, rate A posted) of the fastest step B kept up with.
    let mut best: Option<(u32, f64)> = None;
    for &rate in &options.rates {
        let (step, back) = sustained_step(
            posters,
            &groups,
            &marks,
            next,
            rate,
            Duration::from_secs(options.secs),
            &outbox_db,
            b.name(),
        )
        .await?;
        posters = back;
        next += step.sent;
        let a_keeps_pace = step.posted_rate >= 0.9 * f64::from(rate);
        // B keeps up with what A committed: everything arrived, A's outbox towards B stayed
        // under a quarter second of traffic, and the hop after A's write stayed under 1 s.
        let b_keeps_up = step.lost == 0
            && step.depth_mid as f64 <= f64::from(rate) / 4.0
            && step.depth_end as f64 <= f64::from(rate) / 4.0
            && step.hop_p99 <= Duration::from_secs(1);
        let verdict = match (a_keeps_pace, b_keeps_up) {
            (true, true) => "B keeps up".to_owned(),
            (false, true) => "A saturated (posts queue on A); B keeps up".to_owned(),
            (_, false) if step.lost > 0 => format!("B behind ({} not delivered)", step.lost),
            (_, false) => "B behind".to_owned(),
        };
        println!(
            "   {:>7} {:>9.0} {:>9.0} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>8}  {verdict}{}",
            rate,
            step.posted_rate,
            step.received_rate,
            ms(step.p50),
            ms(step.p99),
            ms(step.max),
            step.hop_p50.as_millis(),
            step.hop_p99.as_millis(),
            step.depth_mid,
            step.depth_end,
            step.catch_up.as_millis(),
            if step.errors > 0 {
                format!("; {} posts refused: {}", step.errors, step.first_error)
            } else {
                String::new()
            }
        );
        if b_keeps_up && best.is_none_or(|(_, posted)| step.posted_rate > posted) {
            best = Some((rate, step.posted_rate));
        }
        if !a_keeps_pace || !b_keeps_up {
            break;
        }
    }
    println!();
    match best {
        Some((rate, posted)) => println!(
            "sustained A → B: {posted:.0} msg/s (step {rate} msg/s): all delivered, outbox not \
             growing"
        ),
        None => println!("B kept up with no step"),
    }
    let duplicates = marks.duplicates.load(Ordering::Relaxed);
    if duplicates > 0 {
        println!("duplicate chat.event pushes on B: {duplicates}");
    }

    marks.stop.store(true, Ordering::Relaxed);
    receiver.await?;
    drop(posters);
    cluster.shutdown().await;
    Ok(())
}

struct Step {
    sent: usize,
    errors: usize,
    first_error: String,
    posted_rate: f64,
    received_rate: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    hop_p50: Duration,
    hop_p99: Duration,
    depth_mid: u64,
    depth_end: u64,
    catch_up: Duration,
    lost: usize,
}

struct Posted {
    sent: usize,
    errors: usize,
    first_error: String,
    last_send: Instant,
}

#[allow(clippy::too_many_arguments)]
async fn sustained_step(
    posters: Vec<Client>,
    groups: &[GroupId],
    marks: &Arc<Marks>,
    first: usize,
    rate: u32,
    duration: Duration,
    outbox_db: &winichat_node::storage::Database,
    b_name: &NodeName,
) -> Result<(Step, Vec<Client>), BoxError> {
    let count = posters.len();
    let total = rate as usize * duration.as_secs() as usize;
    let start = Instant::now() + Duration::from_millis(50);
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let db = outbox_db.clone();
        let b_name = b_name.clone();
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            tokio::time::sleep_until(start).await;
            while sampling.load(Ordering::Relaxed) {
                let depth = db.outbox().depth(&b_name).await.unwrap_or(u64::MAX);
                samples.push((start.elapsed(), depth));
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
            samples
        })
    };
    let tasks: Vec<_> = posters
        .into_iter()
        .enumerate()
        .map(|(p, client)| {
            let group = groups[p % groups.len()].clone();
            let marks = marks.clone();
            // Poster `p` sends messages first + p, first + p + count, …
            let mine = (0..total).filter(|k| k % count == p).count();
            let per_sec = f64::from(rate) / count as f64;
            tokio::spawn(post_paced(
                client, group, marks, first, p, count, mine, per_sec, start,
            ))
        })
        .collect();
    let mut back = Vec::with_capacity(count);
    let mut sent = 0;
    let mut errors = 0;
    let mut first_error = String::new();
    let mut last_send = start;
    for task in tasks {
        let (client, posted) = task.await?;
        back.push(client);
        sent += posted.sent;
        errors += posted.errors;
        if first_error.is_empty() {
            first_error = posted.first_error;
        }
        last_send = last_send.max(posted.last_send);
    }
    let posting = last_send
        .saturating_duration_since(start)
        .max(Duration::from_millis(1));
    // The step's depth figures: the sample nearest the middle and the last one while posting.
    sampling.store(false, Ordering::Relaxed);
    let end_depth = outbox_db.outbox().depth(b_name).await?;
    let samples = sampler.await?;
    let depth_mid = samples
        .iter()
        .min_by_key(|(t, _)| t.abs_diff(posting / 2))
        .map_or(0, |s| s.1);

    let range = first..first + sent;
    let deadline = Instant::now() + DRAIN_WAIT;
    for i in range.clone() {
        if wait_arrived(marks, i, deadline.saturating_duration_since(Instant::now()))
            .await
            .is_none()
        {
            break;
        }
    }
    let received_in_step = range
        .clone()
        .filter(|&i| {
            let at = marks.arrived[i].load(Ordering::Relaxed);
            at != 0 && marks.at(at) <= last_send
        })
        .count();
    let last_arrival = range
        .clone()
        .map(|i| marks.arrived[i].load(Ordering::Relaxed))
        .filter(|&at| at != 0)
        .max()
        .map_or(last_send, |at| marks.at(at));
    let mut latencies: Vec<Duration> = range.clone().filter_map(|i| marks.latency(i)).collect();
    latencies.sort();
    let lost = sent - latencies.len();
    let hops = marks.hops(range.clone());
    let step = Step {
        sent,
        errors,
        first_error,
        posted_rate: sent as f64 / posting.as_secs_f64(),
        received_rate: received_in_step as f64 / posting.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        max: latencies.last().copied().unwrap_or_default(),
        hop_p50: percentile(&hops, 0.50),
        hop_p99: percentile(&hops, 0.99),
        depth_mid,
        depth_end: end_depth,
        catch_up: last_arrival.saturating_duration_since(last_send),
        lost,
    };
    Ok((step, back))
}

/// Posts `mine` messages at `per_sec` from `start`, catching up in bursts when late, with at
/// most [`WINDOW`] replies outstanding.
#[allow(clippy::too_many_arguments)]
async fn post_paced(
    mut client: Client,
    group: GroupId,
    marks: Arc<Marks>,
    first: usize,
    p: usize,
    count: usize,
    mine: usize,
    per_sec: f64,
    start: Instant,
) -> (Client, Posted) {
    let mut posted = Posted {
        sent: 0,
        errors: 0,
        first_error: String::new(),
        last_send: start,
    };
    let mut outstanding = VecDeque::with_capacity(WINDOW);
    tokio::time::sleep_until(start).await;
    let mut k = 0;
    while k < mine {
        let due = ((start.elapsed().as_secs_f64() * per_sec) as usize + 1).min(mine);
        while k < due {
            if outstanding.len() >= WINDOW {
                let id = outstanding.pop_front().expect("a request in flight");
                note_reply(&mut client, id, &mut posted).await;
            }
            let i = first + p + k * count;
            let params = gateway::to_value(&post_params(&group, i)).expect("post params");
            marks.sent[i].store(marks.stamp(), Ordering::Relaxed);
            outstanding.push_back(client.send(method::MSGS_POST, params).await);
            posted.sent += 1;
            k += 1;
        }
        posted.last_send = Instant::now();
        client.discard_pushes(event::CHAT_EVENT);
        if k < mine {
            let next = start + Duration::from_secs_f64(k as f64 / per_sec);
            let wait = next.saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                // Reads (and buffers) replies while it waits.
                let _ = client.try_next_push(NO_PUSH, wait).await;
            }
        }
    }
    while let Some(id) = outstanding.pop_front() {
        note_reply(&mut client, id, &mut posted).await;
    }
    client.discard_pushes(event::CHAT_EVENT);
    (client, posted)
}

async fn note_reply(client: &mut Client, id: u64, posted: &mut Posted) {
    if let Err(e) = client.reply(id).await {
        posted.errors += 1;
        if posted.first_error.is_empty() {
            posted.first_error = format!("{e:?}");
        }
    }
}

/// Bob's side: stamps every benchmark message's first `chat.event` on B.
async fn receive(mut bob: Client, groups: std::collections::HashSet<GroupId>, marks: Arc<Marks>) {
    while !marks.stop.load(Ordering::Relaxed) {
        let Some(data) = bob
            .try_next_push(event::CHAT_EVENT, Duration::from_millis(100))
            .await
        else {
            continue;
        };
        let stamp = marks.stamp();
        let wall_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX - 1));
        let Ok(push) = gateway::decode_params::<ChatEventPush>(&data) else {
            continue;
        };
        if !groups.contains(&push.group) {
            continue;
        }
        let Some(i) = index_of(&push) else { continue };
        let Some(slot) = marks.arrived.get(i) else {
            continue;
        };
        if slot
            .compare_exchange(0, stamp, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            marks.duplicates.fetch_add(1, Ordering::Relaxed);
        } else {
            marks.hop[i].store(
                wall_ms.saturating_sub(push.item.ts.0) + 1,
                Ordering::Relaxed,
            );
        }
        marks.arrival.notify_waiters();
    }
}

/// Waits until message `i` has arrived on B; `None` after `timeout`.
async fn wait_arrived(marks: &Marks, i: usize, timeout: Duration) -> Option<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let notified = marks.arrival.notified();
        if marks.arrived[i].load(Ordering::Relaxed) != 0 {
            return Some(());
        }
        // Bounded wake-ups also cover an arrival between the check and the wait.
        let until = deadline.min(Instant::now() + Duration::from_millis(20));
        let _ = tokio::time::timeout_at(until, notified).await;
        if Instant::now() >= deadline {
            return (marks.arrived[i].load(Ordering::Relaxed) != 0).then_some(());
        }
    }
}

fn index_of(push: &ChatEventPush) -> Option<usize> {
    let ciborium::Value::Map(entries) = &push.item.body else {
        return None;
    };
    let text = entries
        .iter()
        .find(|(k, _)| k.as_text() == Some("text"))
        .and_then(|(_, v)| v.as_text())?;
    text.strip_prefix(PREFIX)?.parse().ok()
}

fn post_params(group: &GroupId, i: usize) -> api::PostParams {
    api::PostParams {
        txn: txn(),
        group: group.clone(),
        text: format!("{PREFIX}{i}"),
        reply_to: None,
        mentions: Vec::new(),
        mention_everyone: false,
        attachments: Vec::new(),
    }
}

/// Bob (of B) joins the group `handle` of A, which must be `group`.
async fn join_by_handle(bob: &mut Client, handle: &str, group: &GroupId) -> Result<(), BoxError> {
    let joined = users::join_by_handle(bob, handle).await;
    if &joined.group != group {
        return Err(format!("bob joined {} instead of {group}", joined.group).into());
    }
    Ok(())
}

async fn public_group(owner: &mut Client, handle: &str) -> GroupId {
    let summary: api::ChatSummary = owner
        .ok(
            method::GROUPS_CREATE,
            &api::GroupCreateParams {
                txn: txn(),
                name: "Bench".into(),
                description: "federation delivery benchmark".into(),
                visibility: Visibility::Public,
                handle: Some(handle.into()),
            },
        )
        .await;
    summary.group
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}
