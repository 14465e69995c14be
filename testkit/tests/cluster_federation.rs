//! The cluster over the real federation transport: pinned peers from config, hello through
//! relays, a cut link, and a restart.

use std::time::Duration;

use ciborium::Value;
use tokio::time::timeout;
use winichat_node::federation::FedError;
use winichat_protocol::federation::methods::{HelloParams, HelloResult, VERSIONS, method};
use winichat_testkit::cluster::{Cluster, ClusterSpec};
use winichat_testkit::node::Backend;

const WAIT: Duration = Duration::from_secs(20);

async fn hello(cluster: &Cluster, from: usize, to: usize) -> Result<HelloResult, FedError> {
    let params = Value::serialized(&HelloParams {
        versions: VERSIONS.to_vec(),
    })
    .expect("params");
    let result = timeout(
        WAIT,
        cluster
            .node(from)
            .federation()
            .client()
            .request(cluster.name(to), method::HELLO, params),
    )
    .await
    .expect("an answer or an error in time")?;
    Ok(result.deserialized().expect("a hello result"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pinned_cluster_says_hello_through_relays_across_cuts_and_restarts() {
    let mut cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Postgres, Backend::Sqlite])
            .relay(0, 1)
            .configure(|c| c.federation.request_timeout = Duration::from_secs(3)),
    )
    .await;
    for (a, b) in [(0, 1), (1, 0), (0, 2), (2, 0), (1, 2), (2, 1)] {
        hello(&cluster, a, b)
            .await
            .unwrap_or_else(|e| panic!("{a} → {b}: {e}"));
    }
    for relay in cluster.link(0, 1).expect("relayed") {
        let stats = relay.stats();
        assert!(stats.to_target > 0 && stats.to_client > 0, "{stats:?}");
    }

    cluster.cut_link(0, 1);
    let err = hello(&cluster, 0, 1).await.expect_err("cut");
    eprintln!("while cut: {err}");
    hello(&cluster, 0, 2).await.expect("0 → 2 is direct");
    cluster.heal_link(0, 1);
    let mut ok = false;
    for _ in 0..20 {
        if hello(&cluster, 0, 1).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(ok, "0 → 1 after heal");

    let relay = cluster.link(0, 1).expect("relayed")[0];
    relay.set_loss(20.0);
    relay.set_duplicate(20.0);
    relay.set_reorder(20.0);
    // QUIC recovers what the relay loses; with the short request timeout of this test a
    // request whose handshake or answer lost several datagrams in a row may time out, so each
    // hello gets three tries — what must hold is that the link keeps working.
    for n in 0..10 {
        let mut answered = false;
        for _ in 0..3 {
            if hello(&cluster, 0, 1).await.is_ok() {
                answered = true;
                break;
            }
        }
        assert!(answered, "hello {n} through a lossy link");
    }
    relay.clear_faults();

    cluster.restart(1).await;
    let mut ok = false;
    for _ in 0..40 {
        if hello(&cluster, 0, 1).await.is_ok() && hello(&cluster, 1, 0).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(ok, "hello both ways after node 1 restarted");
    hello(&cluster, 1, 2).await.expect("1 → 2 after restart");
    cluster.shutdown().await;
}
