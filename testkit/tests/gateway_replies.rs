//! Every decoded request is answered exactly once, with its id: a frame that breaks the CBOR
//! subset but is a map with a readable `id` gets its error under that id, and the `auth` of a
//! connection over the user's limit is answered before the 4004 close.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use winichat_protocol::client::{ClientFrame, Request, ServerFrame};
use winichat_protocol::error_code::{ErrorBody, ErrorCode};
use winichat_protocol::gateway::{self, AuthParams, MAX_CONNECTIONS_PER_USER, close};
use winichat_testkit::client::{Account, Client};
use winichat_testkit::node::{Backend, TestNode};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn open(node: &TestNode) -> Ws {
    tokio_tungstenite::connect_async(format!("ws://{}/ws", node.http_addr()))
        .await
        .expect("upgrade")
        .0
}

async fn send_auth(ws: &mut Ws, account: &Account, id: u64) {
    let frame = ClientFrame::Request(Request {
        id,
        method: gateway::method::AUTH.to_owned(),
        params: gateway::to_value(&AuthParams {
            token: account.token.clone(),
            cursor: None,
        })
        .expect("params"),
    })
    .encode()
    .expect("encode");
    ws.send(Message::Binary(frame.into())).await.expect("send");
}

enum Next {
    Ok(u64),
    Err(u64, ErrorBody),
    Closed(Option<u16>),
}

/// The next reply or close (pushes and pings skipped).
async fn next(ws: &mut Ws) -> Next {
    loop {
        match timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => match ServerFrame::decode(&b).expect("frame") {
                ServerFrame::Ok { id, .. } => return Next::Ok(id),
                ServerFrame::Err { id, error } => return Next::Err(id, error),
                _ => {}
            },
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Next::Closed(frame.map(|f| u16::from(f.code)));
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => return Next::Closed(None),
            Err(_) => panic!("nothing from the node in 10 s"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_for_a_frame_outside_the_subset_carries_its_id() {
    let node = TestNode::start(Backend::Sqlite).await;
    let account = Account::register(&node, "dave").await;
    let mut ws = open(&node).await;
    send_auth(&mut ws, &account, 1).await;
    assert!(matches!(next(&mut ws).await, Next::Ok(1)));
    // {"t": "req", "id": 77, "method": "ping", "params": {"x": 1.5}}: a float.
    let float =
        hex::decode("a4617463726571626964184d666d6574686f646470696e6766706172616d73a16178f93e00")
            .expect("hex");
    // The same with id 78 and 2^64 - 1 in params.
    let big = hex::decode(
        "a4617463726571626964184e666d6574686f646470696e6766706172616d73a161781bffffffffffffffff",
    )
    .expect("hex");
    for (bytes, id) in [(float, 77), (big, 78)] {
        ws.send(Message::Binary(bytes.into())).await.expect("send");
        match next(&mut ws).await {
            Next::Err(got, error) => {
                assert_eq!(got, id, "the error carries the frame's id");
                assert_eq!(error.code, ErrorCode::BadRequest);
            }
            _ => panic!("expected an error for frame {id}"),
        }
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auth_of_a_connection_over_the_limit_is_answered_before_4004() {
    let node = TestNode::start(Backend::Sqlite).await;
    let account = Account::register(&node, "erin").await;
    let mut open_ones = Vec::new();
    for _ in 0..MAX_CONNECTIONS_PER_USER {
        open_ones.push(Client::connect(&node, &account).await);
    }
    let mut ws = open(&node).await;
    send_auth(&mut ws, &account, 5).await;
    match next(&mut ws).await {
        Next::Err(5, error) => assert_eq!(error.code, ErrorCode::RateLimited),
        Next::Ok(_) => panic!("the connection over the limit was accepted"),
        Next::Err(id, error) => panic!("an error for id {id}: {error:?}"),
        Next::Closed(code) => panic!("closed with {code:?} before answering auth"),
    }
    assert!(matches!(
        next(&mut ws).await,
        Next::Closed(Some(close::TOO_MANY_CONNECTIONS))
    ));
    node.shutdown().await;
}
