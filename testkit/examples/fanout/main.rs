//! Fan-out: how many deliveries a second the node's gateway makes to the members of one group,
//! how late, and at what CPU cost — each figure beside the same workload on a bare broadcast
//! WebSocket server (the ceiling, [`winichat_testkit::ceiling`]) measured in the same run.
//!
//! Prints figures (it is not a test).
//!
//! ```text
//! cargo run --release -p winichat-testkit --example fanout -- \
//!     [--members 10,100,1000] [--senders S] [--rates 10000,20000,…] [--secs T] \
//!     [--unloaded N] [--spread A]
//! cargo run --release -p winichat-testkit --example fanout -- --committed \
//!     [--posters 1000] [--groups 100] [--post-rates 2000,5000,…] [--secs T]
//! # either: [--postgres] [--server-threads 1] [--generator-threads 1]
//! ```
//!
//! One real node in this process (testkit `TestNode`, SQLite with its default
//! `synchronous=FULL`; the per-connection request rate limit raised so that it does not shape
//! the figures, every other gateway setting at its default, the 256-frame send queue included),
//! the ceiling server, and the load generator, all on loopback. With `--postgres` the node runs
//! on a fresh PostgreSQL database instead (`WINICHAT_TEST_DATABASE_URL`, as for the tests). Client sockets are bound to
//! source addresses spread over 127.0.0.1 … 127.0.0.`A` (default 32) before they connect.
//!
//! Workloads:
//!
//! 1. **1→1 unloaded latency**: one sender posts `N` (default 100) messages at 20 a second to
//!    a group of two; the other member's connection receives them. The ceiling: a room of two.
//! 2. **One group of M members** for each `M` in `--members`: `M` users, one receiving gateway
//!    connection each (the node pushes to every member's connection), and `S` (default 16) more
//!    connections of members that post open-loop — message `k` of a step is scheduled at
//!    `k / rate` from the step's start, sent then (or at once when late), and its latency at
//!    each receiver is measured from that scheduled time. Rate steps of `T` (default 3) seconds
//!    at rising target **deliveries** a second (msg/s = target / M); a step passes with ≥ 99 %
//!    delivered, p99 ≤ 1 s, ≥ 90 % of the target sent and no connection closed; the steps stop
//!    after the first that does not pass. The ceiling runs the same steps in a room of `M`
//!    receivers and `S` senders that send real `chat.event` push frames (captured from the
//!    node), so the receivers decode the same frames.
//! 3. `--committed`: **committed posts/s**: `P` (default 1,000) users in `G` (default 100)
//!    groups, each with one connection, all posting open-loop at rising total rates; reports
//!    the posts the node acknowledged (committed) per second and how many posters it closed
//!    with 4006.
//!
//! The servers (node and ceiling) run on one tokio runtime, the generator on another, each
//! with one worker thread by default (`--server-threads`, `--generator-threads`): on a 2-core
//! machine, the node has about one core and the generator the other. CPU seconds per million
//! deliveries during a step and its drain are given for both, from `/proc/self/task/*/stat`:
//! the server's are every thread's but the generator runtime's and the main thread's (so the
//! node's SQLite and hashing threads count as the node's). Every wait is bounded; a step's
//! senders give up 10 s after its scheduled end.

mod committed;
mod report;
mod setup;
mod traffic;

use std::process::ExitCode;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::time::Instant;
use winichat_testkit::ceiling::CeilingServer;
use winichat_testkit::loadgen::{LoadError, SourceAddrs};
use winichat_testkit::node::{Backend, TestNode};

use crate::report::{Ladder, ms, print_header, print_step, print_summary};
use crate::setup::Receivers;
use crate::traffic::{Payload, Plan, Traffic, run_step};

/// The node binary's allocator, so the node runs here as it does in production.
#[global_allocator]
static ALLOCATOR: winichat_node::Allocator = winichat_node::Allocator {};

const DEFAULT_MEMBERS: [usize; 3] = [10, 100, 1000];
const DEFAULT_SENDERS: usize = 16;
/// Target deliveries a second of the rate steps.
const DEFAULT_RATES: [u64; 11] = [
    10_000, 20_000, 40_000, 80_000, 120_000, 160_000, 240_000, 320_000, 480_000, 640_000, 960_000,
];
const DEFAULT_SECS: u64 = 3;
const DEFAULT_UNLOADED: u64 = 100;
/// Messages a second of the 1→1 unloaded latency.
const UNLOADED_RATE: f64 = 20.0;
const DEFAULT_SPREAD: u8 = 32;
/// The largest group and the longest step the options allow (bounds the run).
const MAX_MEMBERS: usize = 5000;
const MAX_SECS: u64 = 60;
/// The first scheduled send of a step is this far after the step is set up.
const STEP_LEAD: Duration = Duration::from_millis(50);
/// The name of the servers' runtime threads.
const SERVER_THREADS: &str = "server";
/// Worker threads of each runtime by default: the node on one core, the generator on the
/// other, as on a 2-core machine.
const DEFAULT_THREADS: usize = 1;
/// The longest wait for a runtime's tasks at the end.
const RUNTIME_SHUTDOWN: Duration = Duration::from_secs(5);

/// The options of a run.
#[derive(Debug, Clone)]
pub struct Options {
    members: Vec<usize>,
    senders: usize,
    rates: Vec<u64>,
    secs: u64,
    unloaded: u64,
    spread: u8,
    committed: bool,
    posters: usize,
    groups: usize,
    post_rates: Vec<u64>,
    server_threads: usize,
    generator_threads: usize,
    postgres: bool,
}

impl Options {
    fn backend(&self) -> Backend {
        if self.postgres {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    fn backend_name(&self) -> &'static str {
        if self.postgres {
            "PostgreSQL"
        } else {
            "SQLite, synchronous=FULL"
        }
    }
}

fn parse_options() -> Result<Options, LoadError> {
    let mut options = Options {
        members: DEFAULT_MEMBERS.to_vec(),
        senders: DEFAULT_SENDERS,
        rates: DEFAULT_RATES.to_vec(),
        secs: DEFAULT_SECS,
        unloaded: DEFAULT_UNLOADED,
        spread: DEFAULT_SPREAD,
        committed: false,
        posters: committed::DEFAULT_POSTERS,
        groups: committed::DEFAULT_GROUPS,
        post_rates: committed::DEFAULT_RATES.to_vec(),
        server_threads: DEFAULT_THREADS,
        generator_threads: DEFAULT_THREADS,
        postgres: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--members" => options.members = list(&value()?)?,
            "--senders" => options.senders = value()?.parse()?,
            "--rates" => options.rates = list(&value()?)?,
            "--secs" => options.secs = value()?.parse()?,
            "--unloaded" => options.unloaded = value()?.parse()?,
            "--spread" => options.spread = value()?.parse()?,
            "--committed" => options.committed = true,
            "--postgres" => options.postgres = true,
            "--posters" => options.posters = value()?.parse()?,
            "--groups" => options.groups = value()?.parse()?,
            "--post-rates" => options.post_rates = list(&value()?)?,
            "--server-threads" => options.server_threads = value()?.parse()?,
            "--generator-threads" => options.generator_threads = value()?.parse()?,
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    if options
        .members
        .iter()
        .any(|m| !(2..=MAX_MEMBERS).contains(m))
    {
        return Err(format!("--members: each between 2 and {MAX_MEMBERS}").into());
    }
    let smallest = options.members.iter().copied().min().unwrap_or(2);
    // Each sender is another connection of a member; a user may hold 10 (one receives).
    if options.senders == 0 || options.senders > 9 * smallest {
        return Err(format!("--senders: between 1 and {} (9 per member)", 9 * smallest).into());
    }
    if options.secs == 0 || options.secs > MAX_SECS || options.unloaded == 0 {
        return Err(format!("--secs between 1 and {MAX_SECS}; --unloaded positive").into());
    }
    if !(1..=64).contains(&options.server_threads) || !(1..=64).contains(&options.generator_threads)
    {
        return Err("--server-threads and --generator-threads between 1 and 64".into());
    }
    if options.rates.contains(&0) || options.post_rates.contains(&0) {
        return Err("rates must be positive".into());
    }
    if options.posters == 0
        || options.groups == 0
        || !options.posters.is_multiple_of(options.groups)
        || options.posters > MAX_MEMBERS
    {
        return Err(format!(
            "--posters (at most {MAX_MEMBERS}) must be a positive multiple of --groups"
        )
        .into());
    }
    Ok(options)
}

fn list<T: std::str::FromStr>(text: &str) -> Result<Vec<T>, LoadError>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    Ok(text
        .split(',')
        .map(str::parse)
        .collect::<Result<Vec<T>, _>>()?)
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("fanout: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Two runtimes: the servers' (node and ceiling) and the generator's, so that each one's
    // CPU time is told apart by its threads' names and neither can starve the other's tasks.
    let runtime = |name: &str, threads: usize| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name(name)
            .enable_all()
            .build()
    };
    let (server, generator) = match (
        runtime(SERVER_THREADS, options.server_threads),
        runtime(traffic::GENERATOR_THREADS, options.generator_threads),
    ) {
        (Ok(server), Ok(generator)) => (server, generator),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("fanout: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let servers = server.handle().clone();
    let result = generator.block_on(async {
        if options.committed {
            committed::run(&options, &servers).await
        } else {
            run(&options, &servers).await
        }
    });
    generator.shutdown_timeout(RUNTIME_SHUTDOWN);
    server.shutdown_timeout(RUNTIME_SHUTDOWN);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fanout: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The node of the benchmark, on the servers' runtime: SQLite (or PostgreSQL with
/// `--postgres`), defaults but the request rate limit.
pub async fn start_node(servers: &Handle, options: &Options) -> Result<TestNode, LoadError> {
    let start = TestNode::start_with(options.backend(), |config| {
        config.gateway.rate_burst = 1_000_000;
        config.gateway.rate_per_sec = 1_000_000;
    });
    Ok(servers.spawn(start).await?)
}

/// Stops the node on the servers' runtime.
pub async fn stop_node(servers: &Handle, node: TestNode) -> Result<(), LoadError> {
    Ok(servers.spawn(node.shutdown()).await?)
}

async fn run(options: &Options, servers: &Handle) -> Result<(), LoadError> {
    let sources = SourceAddrs::probe(options.spread);
    let traffic = Traffic::new();
    let ceiling = servers.spawn(CeilingServer::start()).await?;
    let node = start_node(servers, options).await?;
    let most = options.members.iter().copied().max().unwrap_or(2);
    println!(
        "fanout: node {} ({}) and ceiling server {} in this process; {} cores; client \
         sockets from {} source address(es) 127.0.0.1…",
        node.http_addr(),
        options.backend_name(),
        ceiling.addr(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        sources.len(),
    );

    let began = Instant::now();
    let accounts = setup::register_users(&node, most).await;
    println!(
        "set-up: {most} users registered in {:.1} s",
        began.elapsed().as_secs_f64()
    );
    let began = Instant::now();
    // Group 0: the pair of the 1→1 workload; group 1 + j: the group of members[j].
    let mut owner = setup::gateway_connection(&node, &accounts[0], &sources).await?;
    let mut groups = vec![setup::create_group(&mut owner, 2, "pair").await?];
    for (j, &m) in options.members.iter().enumerate() {
        groups.push(setup::create_group(&mut owner, 3 + j as u64, &format!("m{m}_{j}")).await?);
    }
    let members = options.members.clone();
    setup::join_all(&node, &accounts, &groups, &sources, |user, g| {
        user > 0
            && if g == 0 {
                user < 2
            } else {
                user < members[g - 1]
            }
    })
    .await?;
    let template = setup::template_push(&mut owner, 100, &groups[0]).await?;
    let template = Payload::from_push(template)?;
    drop(owner);
    let mut node_receivers = Receivers::default();
    let connections = setup::connect_all(&node, &accounts, &sources).await?;
    for ws in connections {
        node_receivers.add(ws, &traffic);
    }
    println!(
        "set-up: {} groups joined and {most} receiving connections opened in {:.1} s",
        groups.len(),
        began.elapsed().as_secs_f64()
    );

    let mut step = 0;
    // 1. 1→1 unloaded.
    println!();
    println!(
        "1. 1→1 unloaded: {} messages at {UNLOADED_RATE} msg/s, latency from the scheduled send",
        options.unloaded
    );
    let unloaded = |step| Plan {
        step,
        count: options.unloaded,
        rate: UNLOADED_RATE,
        start: Instant::now() + STEP_LEAD,
        precise: true,
    };
    step += 1;
    let ceiling_pair = {
        let mut ws = setup::ceiling_connections(ceiling.addr(), "pair", 2, &sources).await?;
        let sender = setup::sender(ws.pop().ok_or("a ceiling connection")?, &traffic, 1);
        let mut receivers = Receivers::default();
        receivers.add(ws.pop().ok_or("a ceiling connection")?, &traffic);
        let (figures, senders) = run_step(
            &traffic,
            vec![sender],
            std::slice::from_ref(&template),
            &receivers.tallies,
            unloaded(step),
            false,
        )
        .await;
        setup::close_senders(senders).await;
        receivers.close().await;
        figures
    };
    step += 1;
    let node_pair = {
        let ws = setup::gateway_connection(&node, &accounts[0], &sources).await?;
        let sender = setup::sender(ws, &traffic, 2);
        let (figures, senders) = run_step(
            &traffic,
            vec![sender],
            &[Payload::Post(groups[0].clone())],
            &node_receivers.tallies[1..2],
            unloaded(step),
            true,
        )
        .await;
        setup::close_senders(senders).await;
        figures
    };
    println!(
        "   {:<8} {:>9} {:>9} {:>9} {:>10}",
        "", "p50 ms", "p99 ms", "max ms", "delivered"
    );
    for (name, f) in [("ceiling", &ceiling_pair), ("node", &node_pair)] {
        println!(
            "   {name:<8} {:>9} {:>9} {:>9} {:>9.1}%",
            ms(f.p50),
            ms(f.p99),
            ms(f.max),
            f.delivered_fraction() * 100.0
        );
    }

    // 2. One group of M.
    let mut ladders = Vec::new();
    for (j, &m) in options.members.iter().enumerate() {
        println!();
        println!(
            "2. one group of {m}: {} senders, {} s steps at rising target deliveries/s \
             (msg/s = target / {m})",
            options.senders, options.secs
        );
        print_header();
        let mut ladder = Ladder {
            members: m,
            ceiling: Vec::new(),
            node: Vec::new(),
        };
        // The ceiling: a room of M receivers and S senders.
        {
            let room = format!("m{m}");
            let mut receivers = Receivers::default();
            for ws in setup::ceiling_connections(ceiling.addr(), &room, m, &sources).await? {
                receivers.add(ws, &traffic);
            }
            let mut senders: Vec<_> =
                setup::ceiling_connections(ceiling.addr(), &room, options.senders, &sources)
                    .await?
                    .into_iter()
                    .map(|ws| setup::sender(ws, &traffic, 1))
                    .collect();
            for &rate in &options.rates {
                step += 1;
                let plan = ladder_plan(step, rate, m, options.secs);
                let (figures, back) = run_step(
                    &traffic,
                    senders,
                    std::slice::from_ref(&template),
                    &receivers.tallies,
                    plan,
                    false,
                )
                .await;
                senders = back;
                let passed = figures.passed(plan.rate);
                print_step("ceiling", rate, &figures, passed);
                ladder.ceiling.push((rate, figures));
                if !passed {
                    break;
                }
            }
            setup::close_senders(senders).await;
            receivers.close().await;
        }
        // The node: the group's M members' connections, S more connections of members.
        {
            let mut senders = Vec::with_capacity(options.senders);
            for s in 0..options.senders {
                let ws = setup::gateway_connection(&node, &accounts[s % m], &sources).await?;
                senders.push(setup::sender(ws, &traffic, 2));
            }
            let payload = [Payload::Post(groups[1 + j].clone())];
            for &rate in &options.rates {
                step += 1;
                let plan = ladder_plan(step, rate, m, options.secs);
                let (figures, back) = run_step(
                    &traffic,
                    senders,
                    &payload,
                    &node_receivers.tallies[..m],
                    plan,
                    true,
                )
                .await;
                senders = back;
                let passed = figures.passed(plan.rate);
                print_step("node", rate, &figures, passed);
                ladder.node.push((rate, figures));
                if !passed {
                    break;
                }
            }
            setup::close_senders(senders).await;
        }
        ladders.push(ladder);
    }

    print_summary(&ceiling_pair, &node_pair, &ladders);
    if ceiling.dropped_clients() > 0 {
        println!(
            "the ceiling dropped {} slow clients",
            ceiling.dropped_clients()
        );
    }
    node_receivers.close().await;
    servers.spawn(ceiling.shutdown()).await?;
    stop_node(servers, node).await?;
    Ok(())
}

fn ladder_plan(step: u32, deliveries_per_sec: u64, members: usize, secs: u64) -> Plan {
    let rate = deliveries_per_sec as f64 / members as f64;
    Plan {
        step,
        count: ((rate * secs as f64).round() as u64).max(1),
        rate,
        start: Instant::now() + STEP_LEAD,
        precise: false,
    }
}
