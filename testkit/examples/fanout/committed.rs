//! Committed posts a second: many posters over many groups, each post acknowledged only once
//! it is durable (SQLite, `synchronous=FULL`); and whether the node closes any poster with
//! 4006 while they all keep reading.

use tokio::runtime::Handle;
use winichat_testkit::loadgen::{LoadError, SourceAddrs};

use crate::traffic::{Payload, Plan, Traffic, run_step};
use crate::{Options, STEP_LEAD, setup, start_node, stop_node};

pub const DEFAULT_POSTERS: usize = 1000;
pub const DEFAULT_GROUPS: usize = 100;
/// Target posts a second (all posters together) of the rate steps.
pub const DEFAULT_RATES: [u64; 6] = [2_000, 5_000, 10_000, 20_000, 30_000, 40_000];

pub async fn run(options: &Options, servers: &Handle) -> Result<(), LoadError> {
    let sources = SourceAddrs::probe(options.spread);
    let traffic = Traffic::new();
    let node = start_node(servers, options).await?;
    let per_group = options.posters / options.groups;
    println!(
        "committed posts/s: node {} ({}) in this process; {} cores; {} \
         posters in {} groups of {per_group}, one connection each, from {} source address(es)",
        node.http_addr(),
        options.backend_name(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        options.posters,
        options.groups,
        sources.len(),
    );
    let began = tokio::time::Instant::now();
    let accounts = setup::register_users(&node, options.posters).await;
    println!(
        "set-up: {} users registered in {:.1} s",
        options.posters,
        began.elapsed().as_secs_f64()
    );
    let began = tokio::time::Instant::now();
    let mut groups = Vec::with_capacity(options.groups);
    for g in 0..options.groups {
        let mut ws = setup::gateway_connection(&node, &accounts[g * per_group], &sources).await?;
        groups.push(setup::create_group(&mut ws, 2, &format!("posts{g}")).await?);
        let _ = ws.close(None).await;
    }
    setup::join_all(&node, &accounts, &groups, &sources, |user, g| {
        user / per_group == g && user % per_group != 0
    })
    .await?;
    let connections = setup::connect_all(&node, &accounts, &sources).await?;
    let mut senders = Vec::with_capacity(connections.len());
    for ws in connections {
        senders.push(setup::sender(ws, &traffic, 2));
    }
    let payloads: Vec<Payload> = (0..options.posters)
        .map(|p| Payload::Post(groups[p / per_group].clone()))
        .collect();
    println!(
        "set-up: groups created and joined, {} connections opened in {:.1} s",
        senders.len(),
        began.elapsed().as_secs_f64()
    );

    println!();
    println!(
        "   {:>8} {:>8} {:>9} {:>9} {:>8} {:>7}  verdict",
        "target", "sent", "acked", "acked", "refused", "closed"
    );
    println!(
        "   {:>8} {:>8} {:>9} {:>9} {:>8} {:>7}",
        "posts/s", "posts/s", "", "posts/s", "", "(4006)"
    );
    let mut best: Option<(u64, f64)> = None;
    let mut peak = 0.0f64;
    let mut kicked = 0;
    for (step, &rate) in (1..).zip(&options.post_rates) {
        let plan = Plan {
            step,
            count: rate * options.secs,
            rate: rate as f64,
            start: tokio::time::Instant::now() + STEP_LEAD,
            precise: false,
        };
        let (f, back) = run_step(&traffic, senders, &payloads, &[], plan, true).await;
        senders = back;
        kicked += f.closed_too_slow;
        peak = peak.max(f.acked_per_sec);
        // Kept up: (nearly) every post acknowledged, at ≥ 90 % of the target rate.
        let passed = f.acked as f64 >= 0.99 * f.sent as f64
            && f.acked_per_sec >= 0.9 * rate as f64
            && f.closed == 0;
        if passed && best.is_none_or(|(_, b)| f.acked_per_sec > b) {
            best = Some((rate, f.acked_per_sec));
        }
        let mut verdict = if passed { "keeps up" } else { "behind" }.to_owned();
        if let Some(first) = &f.first_refusal {
            verdict.push_str(&format!("; first refusal: {first}"));
        }
        println!(
            "   {rate:>8} {:>8.0} {:>9} {:>9.0} {:>8} {:>7}  {verdict}",
            f.send_rate,
            f.acked,
            f.acked_per_sec,
            f.refused,
            format!("{}({})", f.closed, f.closed_too_slow),
        );
        if !passed {
            break;
        }
    }
    println!();
    match best {
        Some((rate, acked)) => println!(
            "committed posts/s: peak {peak:.0}; {acked:.0} at the best step that kept up \
             (target {rate}); posters closed with 4006: {kicked}"
        ),
        None => println!(
            "committed posts/s: peak {peak:.0}; no step kept up; posters closed with 4006: \
             {kicked}"
        ),
    }
    setup::close_senders(senders).await;
    stop_node(servers, node).await?;
    Ok(())
}
