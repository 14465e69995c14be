//! The cluster harness: real nodes on their own databases, pinned to each other, some links
//! through relays; stopping and restarting a node on the same data, name, key and ports.
//!
//! Federation itself is not exercised here (its transport is separate work): what is checked
//! is what the harness promises — every node is pinned to every other with the right name,
//! key and address, and a relay really leads to its node's QUIC endpoint (a QUIC handshake
//! through it meets that node's identity key).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::time::timeout;
use winichat_testkit::cluster::{Cluster, ClusterSpec};
use winichat_testkit::node::Backend;
use winichat_testkit::users;

const WAIT: Duration = Duration::from_secs(10);
/// How long a handshake through a cut link is given before it counts as not answered.
const CUT_WAIT: Duration = Duration::from_secs(2);

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the key's 32 bytes follow.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Accepts any server certificate and records the Ed25519 key it carries (the handshake
/// signature is still checked, so the server holds that key's secret).
#[derive(Debug)]
struct KeyRecorder {
    seen: Mutex<Option<[u8; 32]>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for KeyRecorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let der = end_entity.as_ref();
        let key = der
            .windows(ED25519_SPKI_PREFIX.len())
            .position(|w| w == ED25519_SPKI_PREFIX)
            .and_then(|at| der.get(at + ED25519_SPKI_PREFIX.len()..)?.get(..32))
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok());
        *self.seen.lock().expect("recorder lock") = key;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("TLS 1.2 is not used by QUIC".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Starts a QUIC handshake with `addr` (ALPN `winichat-fed/1`, no client certificate) and
/// returns the identity key the server presented, or `None` when none answered within
/// `patience`. Whether the node then completes the handshake (it will require a client
/// certificate once federation links exist) does not matter: its certificate came first.
async fn server_key(addr: SocketAddr, patience: Duration) -> Option<[u8; 32]> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let recorder = Arc::new(KeyRecorder {
        seen: Mutex::new(None),
        provider: provider.clone(),
    });
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    tls.alpn_protocols = vec![winichat_protocol::federation::ALPN.to_vec()];
    let crypto =
        quinn::crypto::rustls::QuicClientConfig::try_from(tls).expect("QUIC client config");
    let endpoint =
        quinn::Endpoint::client(SocketAddr::from(([127, 0, 0, 1], 0))).expect("client endpoint");
    let connecting = endpoint
        .connect_with(
            quinn::ClientConfig::new(Arc::new(crypto)),
            addr,
            "localhost",
        )
        .expect("connect");
    if let Ok(Ok(connection)) = timeout(patience, connecting).await {
        connection.close(quinn::VarInt::from_u32(0), b"done");
    }
    endpoint.close(quinn::VarInt::from_u32(0), b"done");
    *recorder.seen.lock().expect("recorder lock")
}

async fn healthz(url: &str) -> u16 {
    reqwest::get(format!("{url}/healthz"))
        .await
        .expect("GET /healthz")
        .status()
        .as_u16()
}

/// Three nodes on SQLite and PostgreSQL, the link 0↔1 relayed: every node runs, each is
/// pinned to the two others under their real names and keys, at their QUIC address or, on the
/// relayed link, at the relay that leads there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_start_pinned_to_each_other() {
    let cluster = timeout(
        Duration::from_secs(120),
        Cluster::start(
            ClusterSpec::new([Backend::Sqlite, Backend::Postgres, Backend::Sqlite]).relay(0, 1),
        ),
    )
    .await
    .expect("cluster starts in time");
    assert_eq!(cluster.len(), 3);
    assert!(
        cluster.node(1).database_url().is_some(),
        "node 1 on PostgreSQL"
    );
    assert!(cluster.node(0).database_url().is_none());

    for i in 0..3 {
        let node = cluster.node(i);
        assert_eq!(node.name(), cluster.name(i));
        assert_eq!(node.public_key().to_bytes(), cluster.peer(i).key);
        assert_eq!(node.quic_addr(), cluster.peer(i).quic, "the reserved port");
        assert_eq!(healthz(node.http_url()).await, 200);

        let pinned = cluster.pinned(i);
        assert_eq!(pinned.len(), 2, "node {i} pins the two others");
        for j in (0..3).filter(|&j| j != i) {
            let entry = pinned
                .iter()
                .find(|p| &p.name == cluster.name(j))
                .unwrap_or_else(|| panic!("node {i} does not pin node {j}"));
            assert_eq!(entry.key, cluster.node(j).public_key().to_bytes());
            let expected = match cluster.relay(i, j) {
                Some(relay) => relay.addr(),
                None => cluster.node(j).quic_addr(),
            };
            assert_eq!(entry.quic, expected, "node {i}'s address for node {j}");
        }
    }
    assert_ne!(cluster.name(0), cluster.name(1));
    assert_ne!(cluster.name(1), cluster.name(2));

    let relay_01 = cluster.relay(0, 1).expect("0 → 1 relayed");
    let relay_10 = cluster.relay(1, 0).expect("1 → 0 relayed");
    assert_eq!(relay_01.target(), cluster.node(1).quic_addr());
    assert_eq!(relay_10.target(), cluster.node(0).quic_addr());
    assert!(cluster.relay(0, 2).is_none() && cluster.relay(2, 1).is_none());
    assert!(cluster.link(1, 2).is_none());
    let [there, back] = cluster.link(1, 0).expect("the link 0↔1 is relayed");
    assert_eq!(
        (there.addr(), back.addr()),
        (relay_10.addr(), relay_01.addr())
    );

    cluster.shutdown().await;
}

/// A QUIC handshake through each relay of a link meets the node at its far end, the relay
/// counts the datagrams both ways, and a cut link carries nothing until healed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn relays_lead_to_their_nodes_quic_endpoints() {
    let cluster =
        Cluster::start(ClusterSpec::new([Backend::Sqlite, Backend::Sqlite]).relay(1, 0)).await;
    let key_0 = cluster.node(0).public_key().to_bytes();
    let key_1 = cluster.node(1).public_key().to_bytes();
    let relay_01 = cluster.relay(0, 1).expect("0 → 1 relayed");
    let relay_10 = cluster.relay(1, 0).expect("1 → 0 relayed");

    assert_eq!(server_key(relay_01.addr(), WAIT).await, Some(key_1));
    assert_eq!(server_key(relay_10.addr(), WAIT).await, Some(key_0));
    for relay in [relay_01, relay_10] {
        let stats = relay.stats();
        assert!(stats.to_target > 0 && stats.to_client > 0, "{stats:?}");
        assert_eq!(stats.dropped, 0, "{stats:?}");
    }

    relay_01.cut();
    assert_eq!(server_key(relay_01.addr(), CUT_WAIT).await, None);
    assert!(relay_01.stats().dropped > 0);
    // The other direction is its own relay and still open.
    assert_eq!(server_key(relay_10.addr(), WAIT).await, Some(key_0));

    relay_01.heal();
    assert_eq!(server_key(relay_01.addr(), WAIT).await, Some(key_1));

    // A partition cuts both directions; healing it restores both.
    cluster.cut_link(1, 0);
    let (to_1, to_0) = tokio::join!(
        server_key(relay_01.addr(), CUT_WAIT),
        server_key(relay_10.addr(), CUT_WAIT)
    );
    assert_eq!((to_1, to_0), (None, None));
    cluster.heal_link(0, 1);
    assert!(
        cluster
            .link(0, 1)
            .expect("relayed")
            .iter()
            .all(|r| !r.is_cut())
    );
    let (to_1, to_0) = tokio::join!(
        server_key(relay_01.addr(), WAIT),
        server_key(relay_10.addr(), WAIT)
    );
    assert_eq!((to_1, to_0), (Some(key_1), Some(key_0)));

    // A QUIC handshake survives a lossy, duplicating, reordering, slow link.
    relay_01.set_loss(10.0);
    relay_01.set_duplicate(10.0);
    relay_01.set_reorder(10.0);
    relay_01.set_delay(Duration::from_millis(5));
    assert_eq!(
        server_key(relay_01.addr(), Duration::from_secs(20)).await,
        Some(key_1)
    );
    cluster.shutdown().await;
}

/// A stopped node comes back on the same data (its users can log in), under the same name
/// and key, on the same HTTP and QUIC ports, pinned to the same peers; its relays still lead
/// to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restart_keeps_data_name_key_ports_and_peers() {
    let mut cluster = Cluster::start(
        ClusterSpec::new([Backend::Postgres, Backend::Sqlite])
            .relay(0, 1)
            .configure(users::unthrottled_gateway),
    )
    .await;
    let alice = users::register(cluster.node(0), "alice").await;
    let bob = users::register(cluster.node(1), "bob").await;
    drop((alice, bob));

    for i in [0, 1] {
        let before = cluster.node(i);
        let (name, key, http, quic) = (
            before.name().clone(),
            before.public_key(),
            before.http_addr(),
            before.quic_addr(),
        );
        let pinned = cluster.pinned(i).to_vec();

        cluster.stop(i).await;
        assert!(!cluster.is_running(i));
        assert!(cluster.try_node(i).is_none());
        assert_eq!(cluster.name(i), &name, "the name is known while stopped");
        assert!(
            reqwest::get(format!("http://{http}/healthz"))
                .await
                .is_err(),
            "node {i} is down"
        );
        // Stopping again is harmless.
        cluster.stop(i).await;

        cluster.restart(i).await;
        let after = cluster.node(i);
        assert_eq!(after.name(), &name);
        assert_eq!(after.public_key(), key);
        assert_eq!(after.http_addr(), http);
        assert_eq!(after.quic_addr(), quic);
        assert_eq!(cluster.pinned(i), pinned.as_slice());
        assert_eq!(healthz(after.http_url()).await, 200);
    }

    // The accounts survived on both backends.
    let alice = users::log_in(cluster.node(0), "alice").await;
    let bob = users::log_in(cluster.node(1), "bob").await;
    assert_eq!(
        alice.user().to_string(),
        format!("@alice:{}", cluster.name(0))
    );
    assert_eq!(bob.user().to_string(), format!("@bob:{}", cluster.name(1)));

    // Restarting a running node stops it first.
    cluster.restart(1).await;
    assert_eq!(
        server_key(cluster.relay(0, 1).expect("relayed").addr(), WAIT).await,
        Some(cluster.peer(1).key)
    );
    assert_eq!(
        server_key(cluster.relay(1, 0).expect("relayed").addr(), WAIT).await,
        Some(cluster.peer(0).key)
    );
    cluster.shutdown().await;
}

/// The user helpers: users registered on a cluster node talk, one collects the chat's pushes
/// in order, and a condition polled with `eventually` comes true.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn user_helpers_register_collect_and_wait() {
    use winichat_protocol::event::EventKind;
    use winichat_protocol::gateway::chat::{
        ChatSummary, DmOpenParams, HistoryParams, HistoryResult, PostParams, WriteResult, method,
    };
    use winichat_testkit::client::txn;

    let cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Sqlite]).configure(users::unthrottled_gateway),
    )
    .await;
    let node = cluster.node(1);
    let [mut alice, mut bob] = users::register_all(node, ["alice", "bob"]).await;
    let dm: ChatSummary = alice
        .ok(
            method::DM_OPEN,
            &DmOpenParams {
                user: bob.user().clone(),
            },
        )
        .await;
    let mut last = 0;
    for n in 0..5 {
        let written: WriteResult = alice
            .ok(
                method::MSGS_POST,
                &PostParams {
                    txn: txn(),
                    group: dm.group.clone(),
                    text: format!("message {n}"),
                    reply_to: None,
                    mentions: Vec::new(),
                    mention_everyone: false,
                    attachments: Vec::new(),
                },
            )
            .await;
        last = written.seq;
    }

    let through = users::chat_events_through(&mut bob, &dm.group, last, WAIT).await;
    assert_eq!(through.last().map(|e| e.item.seq), Some(last));
    let posts: Vec<u64> = through
        .iter()
        .filter(|e| e.item.kind == EventKind::MsgPost)
        .map(|e| e.item.seq)
        .collect();
    assert_eq!(posts, (last - 4..=last).collect::<Vec<_>>());

    // A new session of Alice's reads the five posts; her first connection got the chat's
    // events too, in order.
    let mut again = users::log_in(node, "alice").await;
    let history = users::eventually("five posts in the history", WAIT, async || {
        let page: HistoryResult = again
            .ok(
                method::MSGS_HISTORY,
                &HistoryParams {
                    group: dm.group.clone(),
                    before: None,
                    after: None,
                    around: None,
                    limit: None,
                },
            )
            .await;
        let posts = page
            .items
            .iter()
            .filter(|i| i.kind == EventKind::MsgPost)
            .count();
        (posts == 5).then_some(page)
    })
    .await;
    assert_eq!(history.items.last().map(|i| i.seq), Some(last));
    let first = users::chat_events(&mut alice, &dm.group, 2, WAIT).await;
    assert!(first[0].item.seq < first[1].item.seq);
    cluster.shutdown().await;
}
