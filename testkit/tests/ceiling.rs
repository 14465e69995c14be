//! The benchmarks' ceiling server: a frame reaches every other client of its room, as sent,
//! and no one else; client sockets bound to another loopback source address work.

use std::net::Ipv4Addr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use winichat_testkit::ceiling::CeilingServer;
use winichat_testkit::loadgen::{self, SourceAddrs, Ws};

const WAIT: Duration = Duration::from_secs(10);
/// Long enough for a frame that was going to arrive to have arrived.
const QUIET: Duration = Duration::from_millis(300);

async fn join(ceiling: &CeilingServer, room: &str, source: Ipv4Addr) -> Ws {
    let url = format!("ws://{}/ws/{room}", ceiling.addr());
    loadgen::connect(&url, ceiling.addr(), source)
        .await
        .expect("connect to the ceiling")
}

async fn next_binary(ws: &mut Ws) -> Option<Vec<u8>> {
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await {
            Ok(Some(Ok(Message::Binary(bytes)))) => return Some(bytes.to_vec()),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

async fn nothing_arrives(ws: &mut Ws) -> bool {
    tokio::time::timeout(QUIET, ws.next()).await.is_err()
}

#[tokio::test]
async fn a_frame_reaches_every_other_client_of_its_room_only() {
    let ceiling = CeilingServer::start().await;
    let sources = SourceAddrs::probe(4);
    let mut sender = join(&ceiling, "a", sources.next()).await;
    let mut first = join(&ceiling, "a", sources.next()).await;
    let mut second = join(&ceiling, "a", sources.next()).await;
    let mut elsewhere = join(&ceiling, "b", sources.next()).await;

    let frame = vec![1u8, 2, 3, 250];
    sender
        .send(Message::Binary(frame.clone().into()))
        .await
        .expect("send");

    assert_eq!(next_binary(&mut first).await, Some(frame.clone()));
    assert_eq!(next_binary(&mut second).await, Some(frame));
    assert!(
        nothing_arrives(&mut sender).await,
        "the sender got its own frame"
    );
    assert!(
        nothing_arrives(&mut elsewhere).await,
        "another room got the frame"
    );
    assert_eq!(ceiling.dropped_clients(), 0);
    drop((sender, first, second, elsewhere));
    ceiling.shutdown().await;
}

#[test]
fn source_addresses_always_include_localhost() {
    let sources = SourceAddrs::probe(8);
    assert!(!sources.is_empty());
    assert_eq!(sources.next(), Ipv4Addr::LOCALHOST);
}
