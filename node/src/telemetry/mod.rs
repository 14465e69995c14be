//! Metrics in Prometheus' text format (`GET /metrics` on the `metrics_listen` listener) and
//! readiness (`GET /readyz`, on that listener and the main one).
//!
//! Counters and histograms are recorded where things happen, through the `metrics` facade: it
//! does nothing until a recorder is installed, so a node without `metrics_listen` pays nothing
//! for them. Gauges of state the node holds anyway (connections, resume windows, the pool, the
//! outbox, stored media, the process) are read when scraped instead of being kept up to date.
//! The recorder is process-wide, like the facade: a deployment runs one node per process (nodes
//! started together in one test process share it).

pub mod names;
mod process;
mod ready;

use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics::{Unit, describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::sync::watch;

pub use ready::{Readiness, ReadyChecks};

use crate::api::ws::Hub;
use crate::storage::Database;

/// Histogram buckets of latencies, in seconds: 0.5 ms to 5 s.
const LATENCY_BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// Histogram buckets of commit batch sizes, in events.
const BATCH_BUCKETS: [f64; 11] = [
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];
/// How often histograms are compacted between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);
/// How long a scrape waits for each database figure before leaving it out.
const DB_TIMEOUT: Duration = Duration::from_secs(2);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's metrics recorder (once; later calls return the same handle).
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(names::COMMIT_BATCH_EVENTS.into()),
                        &BATCH_BUCKETS,
                    )
                })
                // Both bucket lists are non-empty constants, so this does not fail; if it
                // did, histograms would be rendered as summaries, which still parse.
                .unwrap_or_else(|_| PrometheusBuilder::new())
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("metrics: another recorder is installed; /metrics stays empty");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use names::*;
    describe_gauge!(HTTP_CONNECTIONS_OPEN, "TCP connections open, by listener");
    describe_gauge!(GATEWAY_CONNECTIONS, "Open WebSocket gateway connections");
    describe_gauge!(GATEWAY_USERS, "Users with an open gateway connection");
    describe_counter!(
        GATEWAY_REQUESTS,
        "Gateway requests answered, by method and outcome"
    );
    describe_counter!(EVENT_COMMITS, "Events durably committed");
    describe_histogram!(
        COMMIT_SECONDS,
        Unit::Seconds,
        "Time to write a commit batch"
    );
    describe_histogram!(COMMIT_BATCH_EVENTS, "Events per commit batch");
    describe_histogram!(
        PUSH_FANOUT_SECONDS,
        Unit::Seconds,
        "Time to queue a committed event's pushes for its local recipients"
    );
    describe_gauge!(
        RESUME_WINDOW_BYTES,
        Unit::Bytes,
        "Bytes held in resume windows"
    );
    describe_gauge!(DB_POOL_CONNECTIONS, "Database pool connections, by state");
    describe_gauge!(MEDIA_STORED_BYTES, Unit::Bytes, "Bytes of stored media");
    describe_gauge!(MEDIA_UPLOADS_IN_FLIGHT, "Media uploads streaming now");
    describe_gauge!(OUTBOX_DEPTH, "Events waiting for a peer, by peer");
    describe_gauge!(
        OUTBOX_OLDEST_AGE_SECONDS,
        Unit::Seconds,
        "Age of the oldest event waiting for a peer, by peer"
    );
    describe_gauge!(PROCESS_RSS_BYTES, Unit::Bytes, "Resident memory");
    describe_gauge!(PROCESS_OPEN_FDS, "Open file descriptors");
}

/// Counts a gateway request answered with `result`. A method name the node does not know is
/// counted as `unknown`, so a client cannot make up new series.
pub fn count_request(
    method: &str,
    result: &Result<ciborium::Value, winichat_protocol::error_code::ErrorBody>,
) {
    use winichat_protocol::error_code::ErrorCode;
    let (method, outcome) = match result {
        Ok(_) => (method.to_owned(), "ok".to_owned()),
        Err(e) if e.code == ErrorCode::UnknownMethod => {
            ("unknown".to_owned(), e.code.as_str().to_owned())
        }
        Err(e) => (method.to_owned(), e.code.as_str().to_owned()),
    };
    metrics::counter!(names::GATEWAY_REQUESTS, "method" => method, "outcome" => outcome)
        .increment(1);
}

/// What a scrape reads besides the recorder.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The recorder's handle.
    pub handle: PrometheusHandle,
    /// The database (pool, stored media, outbox).
    pub db: Database,
    /// The gateway's hub (connections, resume windows).
    pub hub: Hub,
}

impl Sources {
    /// Sets the gauges read at scrape time. A database figure that cannot be read in time
    /// keeps its last value (and is logged): the rest of the scrape still answers.
    async fn refresh(&self) {
        use names::*;
        let (users, connections) = self.hub.connected();
        gauge!(GATEWAY_CONNECTIONS).set(connections as f64);
        gauge!(GATEWAY_USERS).set(users as f64);
        gauge!(RESUME_WINDOW_BYTES).set(self.hub.resume_bytes() as f64);
        let pool = self.db.pool_stats();
        gauge!(DB_POOL_CONNECTIONS, "state" => "in_use").set(f64::from(pool.in_use));
        gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(f64::from(pool.idle));
        match tokio::time::timeout(DB_TIMEOUT, self.db.media_bytes_stored()).await {
            Ok(Ok(bytes)) => gauge!(MEDIA_STORED_BYTES).set(bytes as f64),
            Ok(Err(e)) => tracing::debug!(error = %e, "metrics: stored media not read"),
            Err(_) => tracing::debug!("metrics: stored media not read in time"),
        }
        let now = crate::federation::clock::now();
        match tokio::time::timeout(DB_TIMEOUT, crate::federation::ops::status(&self.db, now)).await
        {
            Ok(Ok(status)) => {
                for peer in status.peers {
                    let age = peer.oldest_entry_age_ms.unwrap_or(0) as f64 / 1000.0;
                    gauge!(OUTBOX_DEPTH, "peer" => peer.node.clone()).set(peer.outbox_depth as f64);
                    gauge!(OUTBOX_OLDEST_AGE_SECONDS, "peer" => peer.node).set(age);
                }
            }
            Ok(Err(e)) => tracing::debug!(error = %e, "metrics: outbox not read"),
            Err(_) => tracing::debug!("metrics: outbox not read in time"),
        }
        if let Some(rss) = process::resident_bytes() {
            gauge!(PROCESS_RSS_BYTES).set(rss as f64);
        }
        if let Some(fds) = process::open_fds() {
            gauge!(PROCESS_OPEN_FDS).set(fds as f64);
        }
    }
}

/// `GET /metrics` — every metric in Prometheus' text exposition format (0.0.4).
async fn metrics(State(sources): State<Sources>) -> impl IntoResponse {
    sources.refresh().await;
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        sources.handle.render(),
    )
}

/// `/readyz` alone, for the main listener.
pub fn ready_router(readiness: Readiness) -> Router {
    Router::new()
        .route("/readyz", get(ready::get))
        .with_state(readiness)
}

/// The metrics listener's router: `/metrics` and `/readyz`.
pub fn metrics_router(sources: Sources, readiness: Readiness) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(sources)
        .merge(ready_router(readiness))
}

/// Compacts histograms every few seconds until `stop` turns true, so their memory stays
/// bounded between scrapes.
pub async fn upkeep(handle: PrometheusHandle, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(UPKEEP_EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => handle.run_upkeep(),
            _ = stop.wait_for(|&stop| stop) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::names::*;

    const NAMES: [&str; 17] = [
        HTTP_CONNECTIONS_OPEN,
        GATEWAY_CONNECTIONS,
        GATEWAY_USERS,
        GATEWAY_REQUESTS,
        EVENT_COMMITS,
        COMMIT_SECONDS,
        COMMIT_BATCH_EVENTS,
        PUSH_FANOUT_SECONDS,
        RESUME_WINDOW_BYTES,
        DB_POOL_CONNECTIONS,
        MEDIA_STORED_BYTES,
        MEDIA_UPLOADS_IN_FLIGHT,
        OUTBOX_DEPTH,
        OUTBOX_OLDEST_AGE_SECONDS,
        PROCESS_RSS_BYTES,
        PROCESS_OPEN_FDS,
        // Histograms' series.
        "le",
    ];

    /// Every series the dashboard queries is one the node exports, and every one the node
    /// exports is on the dashboard.
    #[test]
    fn the_grafana_dashboard_uses_the_node_s_series() {
        let dashboard: serde_json::Value =
            serde_json::from_str(include_str!("../../../docs/grafana/winichat.json"))
                .expect("the dashboard is JSON");
        let mut used = std::collections::BTreeSet::new();
        for panel in dashboard["panels"].as_array().expect("panels") {
            for target in panel["targets"].as_array().expect("targets") {
                let expr = target["expr"].as_str().expect("expr");
                let words = expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
                for word in
                    words.filter(|w| w.starts_with("winichat_") || w.starts_with("process_"))
                {
                    let base = ["_bucket", "_sum", "_count"]
                        .iter()
                        .find_map(|suffix| word.strip_suffix(suffix))
                        .filter(|base| NAMES.contains(base))
                        .unwrap_or(word);
                    assert!(NAMES.contains(&base), "the dashboard queries {word}");
                    used.insert(base.to_owned());
                }
            }
        }
        for name in NAMES.iter().filter(|n| **n != "le") {
            assert!(used.contains(*name), "{name} is not on the dashboard");
        }
    }
}
