//! `/metrics` on the metrics listener parses as Prometheus text with a real parser and moves
//! with traffic; `/readyz` answers on both listeners, and 503 once the database is gone.

use std::net::SocketAddr;

use prometheus_parse::{Scrape, Value};
use winichat_protocol::gateway::chat::method;
use winichat_testkit::node::{Backend, TestNode};
use winichat_testkit::users;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_metrics_move_with_traffic() {
    metrics_move_with_traffic(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_metrics_move_with_traffic() {
    metrics_move_with_traffic(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_readyz_answers_503_when_the_database_is_gone() {
    let node = metrics_node(Backend::Postgres).await;
    let metrics = node.running().metrics_addr.expect("metrics listener");
    assert_eq!(readyz(metrics).await.0, 200);
    assert_eq!(readyz(node.http_addr()).await.0, 200);

    let url = node.database_url().expect("postgres").to_owned();
    let name = url.rsplit('/').next().expect("a database name").to_owned();
    let mut admin =
        <sqlx::PgConnection as sqlx::Connection>::connect(&winichat_testkit::postgres::admin_url())
            .await
            .expect("admin connection");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .expect("drop the node's database");

    for addr in [metrics, node.http_addr()] {
        let (status, body) = readyz(addr).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["status"], "not_ready");
        assert_eq!(body["checks"]["database"], "failing");
        assert_eq!(body["checks"]["listeners"], "ok");
    }
    // The scrape still answers, without the figures it could not read.
    scrape(metrics).await;
    node.shutdown().await;
}

async fn metrics_node(backend: Backend) -> TestNode {
    TestNode::start_with(backend, |config| {
        users::unthrottled_gateway(config);
        config.listeners.metrics = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await
}

async fn readyz(addr: SocketAddr) -> (u16, serde_json::Value) {
    let response = reqwest::get(format!("http://{addr}/readyz"))
        .await
        .expect("GET /readyz");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

async fn scrape(addr: SocketAddr) -> Scrape {
    let response = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("text")
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.expect("body");
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text")
}

/// The value of the sample `metric` whose labels include `labels` (0 when absent); for a
/// histogram, its count.
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets
                .iter()
                .find(|b| b.less_than.is_infinite())
                .map_or(0.0, |b| b.count),
            Value::Summary(_) => 0.0,
        })
        .sum()
}

fn present(scrape: &Scrape, metric: &str) -> bool {
    scrape.samples.iter().any(|s| s.metric == metric)
}

async fn metrics_move_with_traffic(backend: Backend) {
    let node = metrics_node(backend).await;
    let addr = node.running().metrics_addr.expect("metrics listener");
    assert_ne!(addr, node.http_addr(), "a listener of its own");
    let (status, body) = readyz(addr).await;
    assert_eq!(
        (status, &body["status"]),
        (200, &serde_json::json!("ready"))
    );
    let (status, body) = readyz(node.http_addr()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["migrations"], "ok");
    // The metrics are not on the public listener (its web app fallback answers there).
    let public = reqwest::get(format!("http://{}/metrics", node.http_addr()))
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(!public.contains("winichat_"), "{public}");

    let before = scrape(addr).await;
    let posts_before = value(
        &before,
        "winichat_gateway_requests_total",
        &[("method", method::MSGS_POST), ("outcome", "ok")],
    );
    let commits_before = value(&before, "winichat_event_commits_total", &[]);
    let batches_before = value(&before, "winichat_commit_batch_seconds", &[]);

    let mut alice = users::register(&node, "alice").await;
    let mut bob = users::register(&node, "bob").await;
    let group = users::public_group(&mut alice, "metered").await;
    users::join_group(&mut bob, &group).await;
    const POSTS: f64 = 5.0;
    for i in 0..5 {
        users::post(&mut alice, &group, &format!("message {i}")).await;
    }
    let unknown = alice
        .call("no.such.method", ciborium::Value::Map(vec![]))
        .await;
    assert!(unknown.is_err());

    let after = scrape(addr).await;
    let posts = value(
        &after,
        "winichat_gateway_requests_total",
        &[("method", method::MSGS_POST), ("outcome", "ok")],
    );
    assert_eq!(posts - posts_before, POSTS, "every post counted once");
    assert_eq!(
        value(
            &after,
            "winichat_gateway_requests_total",
            &[("method", "unknown"), ("outcome", "unknown_method")]
        ),
        1.0,
        "an unknown method is counted without its name"
    );
    assert!(
        !after
            .samples
            .iter()
            .any(|s| s.labels.get("method") == Some("no.such.method")),
        "no series for a made-up method"
    );
    // Create, two joins (the owner's is part of the create) and the posts, at least.
    let commits = value(&after, "winichat_event_commits_total", &[]);
    assert!(
        commits - commits_before >= POSTS + 2.0,
        "commits {commits_before} -> {commits}"
    );
    assert!(value(&after, "winichat_commit_batch_seconds", &[]) > batches_before);
    assert!(value(&after, "winichat_commit_batch_events", &[]) >= 1.0);
    assert!(value(&after, "winichat_push_fanout_seconds", &[]) >= POSTS);
    assert_eq!(value(&after, "winichat_gateway_connections", &[]), 2.0);
    assert_eq!(
        value(&after, "winichat_gateway_authenticated_users", &[]),
        2.0
    );
    assert!(value(&after, "winichat_resume_window_bytes", &[]) > 0.0);
    assert!(
        value(
            &after,
            "winichat_http_connections_open",
            &[("listener", "http")]
        ) >= 2.0
    );
    assert!(present(&after, "winichat_db_pool_connections"));
    assert!(
        value(&after, "winichat_db_pool_connections", &[("state", "idle")])
            + value(
                &after,
                "winichat_db_pool_connections",
                &[("state", "in_use")]
            )
            >= 1.0
    );
    assert!(present(&after, "winichat_media_stored_bytes"));
    assert!(value(&after, "process_resident_memory_bytes", &[]) > 1_000_000.0);
    assert!(value(&after, "process_open_fds", &[]) >= 3.0);

    drop((alice, bob));
    node.shutdown().await;
}
