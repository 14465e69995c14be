//! The fault-injecting UDP relay, against a UDP echo server on loopback.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};
use winichat_testkit::relay::UdpRelay;

/// How long a test waits for datagrams it expects.
const WAIT: Duration = Duration::from_secs(5);
/// Silence after which no more datagrams are expected.
const QUIET: Duration = Duration::from_millis(300);
/// Datagrams sent between two short pauses, so loopback socket buffers never overflow (a
/// drop there would look like the relay's).
const BURST: usize = 20;

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A UDP server answering every datagram with the same bytes.
async fn echo_server() -> (SocketAddr, JoinHandle<()>) {
    let socket = UdpSocket::bind(loopback()).await.expect("bind echo server");
    let addr = socket.local_addr().expect("echo address");
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        loop {
            let Ok((len, from)) = socket.recv_from(&mut buf).await else {
                continue;
            };
            let _ = socket.send_to(&buf[..len], from).await;
        }
    });
    (addr, task)
}

/// A client socket that talks to `relay`.
async fn client(relay: &UdpRelay) -> UdpSocket {
    let socket = UdpSocket::bind(loopback()).await.expect("bind client");
    socket.connect(relay.addr()).await.expect("connect client");
    socket
}

/// Sends `count` datagrams numbered `first..`, paced in bursts.
async fn send_numbered(socket: &UdpSocket, first: u32, count: u32) {
    for (i, n) in (first..first + count).enumerate() {
        socket.send(&n.to_be_bytes()).await.expect("send");
        if (i + 1) % BURST == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// Sends `count` datagrams numbered `first..` while receiving what comes back (a socket that
/// only reads afterwards would overflow its receive buffer): every datagram received until
/// `QUIET` passes without one, bounded by `limit`.
async fn exchange(socket: &UdpSocket, first: u32, count: u32, limit: usize) -> Vec<u32> {
    let ((), received) = tokio::join!(
        send_numbered(socket, first, count),
        receive_numbered(socket, limit)
    );
    received
}

/// Every datagram received until `QUIET` passes without one (bounded by `limit`).
async fn receive_numbered(socket: &UdpSocket, limit: usize) -> Vec<u32> {
    let mut received = Vec::new();
    let mut buf = [0u8; 64];
    while received.len() < limit {
        match timeout(QUIET, socket.recv(&mut buf)).await {
            Ok(Ok(4)) => received.push(u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]])),
            Ok(Ok(len)) => panic!("unexpected datagram of {len} bytes"),
            Ok(Err(e)) => panic!("receive: {e}"),
            Err(_) => break,
        }
    }
    received
}

#[tokio::test]
async fn without_faults_everything_passes_in_order() {
    let (echo, server) = echo_server().await;
    let relay = UdpRelay::start(echo).await;
    assert_eq!(relay.target(), echo);
    let socket = client(&relay).await;

    let received = exchange(&socket, 0, 500, 1000).await;
    assert_eq!(received, (0..500).collect::<Vec<_>>());

    let stats = relay.stats();
    assert_eq!(stats.to_target, 500);
    assert_eq!(stats.to_client, 500);
    assert_eq!(stats.forwarded(), 1000);
    assert_eq!(
        (
            stats.dropped,
            stats.duplicated,
            stats.reordered,
            stats.clients
        ),
        (0, 0, 0, 1)
    );
    relay.shutdown().await;
    server.abort();
}

#[tokio::test]
async fn loss_drops_about_the_configured_share() {
    let (echo, server) = echo_server().await;
    let relay = UdpRelay::start(echo).await;
    relay.set_loss(30.0);
    let socket = client(&relay).await;

    let received = exchange(&socket, 0, 2000, 4000).await;

    // Each direction loses 30 %: 0.7 × 0.7 = 49 % of 2000 come back, about 980.
    assert!(
        (800..=1160).contains(&received.len()),
        "{} of 2000 came back",
        received.len()
    );
    let stats = relay.stats();
    let offered = stats.dropped + stats.forwarded();
    let share = stats.dropped as f64 / offered as f64;
    assert!((0.25..=0.35).contains(&share), "dropped share {share}");
    assert_eq!(stats.to_client, received.len() as u64);
    // What survives keeps its order and is never duplicated.
    assert!(received.windows(2).all(|w| w[0] < w[1]));
    relay.shutdown().await;
    server.abort();
}

#[tokio::test]
async fn duplication_sends_extra_copies() {
    let (echo, server) = echo_server().await;
    let relay = UdpRelay::start(echo).await;
    relay.set_duplicate(50.0);
    let socket = client(&relay).await;

    let received = exchange(&socket, 0, 200, 2000).await;

    let mut copies = BTreeMap::new();
    for n in &received {
        *copies.entry(*n).or_insert(0u32) += 1;
    }
    assert_eq!(copies.len(), 200, "every datagram arrives at least once");
    let twice = copies.values().filter(|&&c| c > 1).count();
    assert!(twice > 50, "only {twice} of 200 arrived more than once");
    let stats = relay.stats();
    assert!(stats.duplicated > 100, "{stats:?}");
    assert_eq!(stats.dropped, 0);
    assert_eq!(received.len() as u64, stats.to_client);
    relay.shutdown().await;
    server.abort();
}

#[tokio::test]
async fn reordering_swaps_datagrams_but_loses_none() {
    let (echo, server) = echo_server().await;
    let relay = UdpRelay::start(echo).await;
    relay.set_reorder(30.0);
    let socket = client(&relay).await;

    let received = exchange(&socket, 0, 500, 1000).await;

    let mut sorted = received.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..500).collect::<Vec<_>>(), "none lost or doubled");
    let inversions = received.windows(2).filter(|w| w[0] > w[1]).count();
    assert!(inversions > 10, "only {inversions} inversions");
    assert!(relay.stats().reordered > 50, "{:?}", relay.stats());
    relay.shutdown().await;
    server.abort();
}

#[tokio::test]
async fn delay_holds_each_direction_back() {
    let (echo, server) = echo_server().await;
    let relay = UdpRelay::start(echo).await;
    relay.set_delay(Duration::from_millis(100));
    relay.set_jitter(Duration::from_millis(20));
    let socket = client(&relay).await;

    let sent = Instant::now();
    socket.send(&7u32.to_be_bytes()).await.expect("send");
    let mut buf = [0u8; 16];
    let len = timeout(WAIT, socket.recv(&mut buf))
        .await
        .expect("echo in time")
        .expect("receive");
    let round_trip = sent.elapsed();
    assert_eq!(&buf[..len], &7u32.to_be_bytes());
    assert!(
        (Duration::from_millis(200)..Duration::from_secs(2)).contains(&round_trip),
        "{round_trip:?}"
    );

    // Cleared faults apply to the next datagram.
    relay.clear_faults();
    let sent = Instant::now();
    socket.send(&8u32.to_be_bytes()).await.expect("send");
    timeout(WAIT, socket.recv(&mut buf))
        .await
        .expect("echo in time")
        .expect("receive");
    assert!(
        sent.elapsed() < Duration::from_millis(200),
        "{:?}",
        sent.elapsed()
    );
    relay.shutdown().await;
    server.abort();
}

#[tokio::test]
async fn a_cut_drops_everything_until_healed() {
    let (echo, server) = echo_server().await;
    let relay = UdpRelay::start(echo).await;
    let socket = client(&relay).await;
    send_numbered(&socket, 0, 10).await;
    assert_eq!(receive_numbered(&socket, 100).await.len(), 10);

    relay.cut();
    assert!(relay.is_cut());
    send_numbered(&socket, 10, 100).await;
    assert_eq!(receive_numbered(&socket, 100).await, Vec::<u32>::new());
    let stats = relay.stats();
    assert_eq!(stats.dropped, 100);
    assert_eq!(stats.to_target, 10);

    // A datagram queued behind a delay when the cut comes is dropped too.
    relay.heal();
    relay.set_delay(Duration::from_millis(200));
    send_numbered(&socket, 110, 5).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    relay.cut();
    assert_eq!(receive_numbered(&socket, 100).await, Vec::<u32>::new());

    relay.heal();
    relay.clear_faults();
    send_numbered(&socket, 200, 20).await;
    assert_eq!(
        receive_numbered(&socket, 100).await,
        (200..220).collect::<Vec<_>>()
    );
    relay.shutdown().await;
    server.abort();
}

#[tokio::test]
async fn each_client_gets_only_its_own_replies() {
    let (echo, server) = echo_server().await;
    let relay = UdpRelay::start(echo).await;
    let first = client(&relay).await;
    let second = client(&relay).await;

    // Interleaved, so both mappings are busy at once.
    for n in 0..100u32 {
        first.send(&n.to_be_bytes()).await.expect("send");
        second.send(&(1000 + n).to_be_bytes()).await.expect("send");
    }
    let (a, b) = tokio::join!(
        receive_numbered(&first, 500),
        receive_numbered(&second, 500)
    );
    assert_eq!(a, (0..100).collect::<Vec<_>>());
    assert_eq!(b, (1000..1100).collect::<Vec<_>>());
    assert_eq!(relay.stats().clients, 2);
    relay.shutdown().await;
    server.abort();
}

#[tokio::test]
async fn the_control_handle_reaches_a_relay_from_another_task() {
    let (echo, server) = echo_server().await;
    let relay = UdpRelay::start(echo).await;
    let control = relay.control();
    let socket = client(&relay).await;
    tokio::spawn(async move { control.cut() })
        .await
        .expect("control task");
    send_numbered(&socket, 0, 5).await;
    assert!(receive_numbered(&socket, 10).await.is_empty());
    assert_eq!(relay.stats().dropped, 5);
    relay.shutdown().await;
    server.abort();
}

#[tokio::test]
async fn shutdown_closes_the_relay_socket() {
    let (echo, server) = echo_server().await;
    let relay = UdpRelay::start(echo).await;
    let addr = relay.addr();
    let socket = client(&relay).await;
    send_numbered(&socket, 0, 3).await;
    assert_eq!(receive_numbered(&socket, 10).await.len(), 3);
    relay.shutdown().await;

    // The port is free again: the relay's socket, and so its tasks, are gone.
    let rebound = UdpSocket::bind(addr).await;
    assert!(rebound.is_ok(), "relay port still taken: {rebound:?}");

    // Dropping a relay (instead of shutting it down) frees its port too, shortly after.
    let dropped = UdpRelay::start(echo).await;
    let dropped_addr = dropped.addr();
    drop(dropped);
    let deadline = Instant::now() + WAIT;
    let mut seen = HashSet::new();
    loop {
        match UdpSocket::bind(dropped_addr).await {
            Ok(_) => break,
            Err(e) => {
                seen.insert(e.kind());
                assert!(Instant::now() < deadline, "port still taken: {seen:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    server.abort();
}
