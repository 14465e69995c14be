//! The figures as the run prints them: each step's line, and the summary of each workload
//! beside the ceiling's.

use std::time::Duration;

use crate::traffic::StepFigures;

/// What one workload measured on both servers.
pub struct Ladder {
    pub members: usize,
    pub ceiling: Vec<(u64, StepFigures)>,
    pub node: Vec<(u64, StepFigures)>,
}

pub fn print_header() {
    println!(
        "   {:<8} {:>9} {:>8} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7}  verdict",
        "",
        "target",
        "msg/s",
        "deliv'd",
        "deliv/s",
        "p50",
        "p99",
        "max",
        "server",
        "gen.",
        "closed"
    );
    println!(
        "   {:<8} {:>9} {:>8} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7}",
        "", "deliv/s", "sent", "%", "", "ms", "ms", "ms", "CPU-s/1M", "CPU-s/1M", "(4006)"
    );
}

pub fn print_step(name: &str, target: u64, f: &StepFigures, passed: bool) {
    let mut verdict = if passed { "pass" } else { "behind" }.to_owned();
    if f.refused > 0 {
        verdict.push_str(&format!(
            "; {} refused: {}",
            f.refused,
            f.first_refusal.as_deref().unwrap_or("")
        ));
    }
    if f.failed_senders > 0 {
        verdict.push_str(&format!("; {} senders gave up", f.failed_senders));
    }
    println!(
        "   {name:<8} {target:>9} {:>8.0} {:>8.2}% {:>10.0} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7}  {verdict}",
        f.send_rate,
        f.delivered_fraction() * 100.0,
        f.deliveries_per_sec,
        ms(f.p50),
        ms(f.p99),
        ms(f.max),
        f.cpu_per_million.map_or("-".into(), |c| format!("{c:.2}")),
        f.generator_cpu_per_million
            .map_or("-".into(), |c| format!("{c:.2}")),
        format!("{}({})", f.closed, f.closed_too_slow),
    );
}

/// The best passing step of a ladder: (target, figures) with the most deliveries/s.
fn best(
    steps: &[(u64, StepFigures)],
    msg_rate: impl Fn(u64) -> f64,
) -> Option<&(u64, StepFigures)> {
    steps
        .iter()
        .filter(|(rate, f)| f.passed(msg_rate(*rate)))
        .max_by(|a, b| a.1.deliveries_per_sec.total_cmp(&b.1.deliveries_per_sec))
}

pub fn print_summary(ceiling_pair: &StepFigures, node_pair: &StepFigures, ladders: &[Ladder]) {
    println!();
    println!("summary (node / ceiling, same run):");
    println!(
        "   1→1 unloaded p50: {} / {} ms ({}); p99: {} / {} ms ({})",
        ms(node_pair.p50),
        ms(ceiling_pair.p50),
        ratio(node_pair.p50.as_secs_f64(), ceiling_pair.p50.as_secs_f64()),
        ms(node_pair.p99),
        ms(ceiling_pair.p99),
        ratio(node_pair.p99.as_secs_f64(), ceiling_pair.p99.as_secs_f64()),
    );
    for ladder in ladders {
        let m = ladder.members;
        let msg_rate = |rate: u64| rate as f64 / m as f64;
        let node_best = best(&ladder.node, msg_rate);
        let ceiling_best = best(&ladder.ceiling, msg_rate);
        let figure = |b: Option<&(u64, StepFigures)>| b.map_or(0.0, |(_, f)| f.deliveries_per_sec);
        let (node_rate, ceiling_rate) = (figure(node_best), figure(ceiling_best));
        let ceiling_capped = ladder
            .ceiling
            .last()
            .is_some_and(|(r, f)| f.passed(msg_rate(*r)));
        println!(
            "   group of {m}: best passing {node_rate:.0} / {ceiling_rate:.0}{} deliveries/s \
             ({}); node p99 there {} ms",
            if ceiling_capped {
                "+ (every step passed)"
            } else {
                ""
            },
            ratio(node_rate, ceiling_rate),
            node_best.map_or("-".into(), |(_, f)| ms(f.p99)),
        );
        // CPU per delivery at the highest target both passed (the same workload).
        let shared = ladder
            .node
            .iter()
            .filter(|(r, f)| f.passed(msg_rate(*r)))
            .filter_map(|(r, nf)| {
                ladder
                    .ceiling
                    .iter()
                    .find(|(cr, cf)| cr == r && cf.passed(msg_rate(*cr)))
                    .map(|(_, cf)| (*r, nf, cf))
            })
            .next_back();
        if let Some((rate, nf, cf)) = shared {
            let (n, c) = (
                nf.cpu_per_million.unwrap_or(0.0),
                cf.cpu_per_million.unwrap_or(0.0),
            );
            println!(
                "      CPU-s per 1M deliveries at {rate} deliveries/s: {n:.2} / {c:.2} ({})",
                ratio(n, c)
            );
        }
        // The node's p99 at half the ceiling's best, or the nearest passing step below it.
        let half = ceiling_rate / 2.0;
        if let Some((rate, f)) = ladder
            .node
            .iter()
            .rfind(|(r, f)| (*r as f64) <= half && f.passed(msg_rate(*r)))
        {
            println!(
                "      node p99 at {rate} deliveries/s (≤ half the ceiling's best): {} ms",
                ms(f.p99)
            );
        }
        let kicked: usize = ladder.node.iter().map(|(_, f)| f.closed_too_slow).sum();
        println!("      node connections closed with 4006: {kicked}");
    }
}

fn ratio(node: f64, ceiling: f64) -> String {
    if ceiling <= 0.0 {
        return "-".into();
    }
    format!("{:.2} × the ceiling", node / ceiling)
}

pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}
