//! The federation transport between real nodes: mutual TLS over QUIC, the peer directory
//! (pins, allow and deny lists, http discovery), signed requests and their checks.

use std::net::SocketAddr;
use std::time::Duration;

use ciborium::Value;
use tokio::time::timeout;
use winichat_node::federation::endpoint;
use winichat_node::federation::incoming::{
    CLOSE_SUPERSEDED, MAX_CONNECTIONS_PER_PEER, REASON_SUPERSEDED,
};
use winichat_node::federation::link::{quic_client_config, server_name};
use winichat_node::federation::{Discovery, FedError, PinnedPeer, clock};
use winichat_node::identity::NodeIdentity;
use winichat_protocol::Timestamp;
use winichat_protocol::codec::Limits;
use winichat_protocol::cose::Signed;
use winichat_protocol::ed25519_dalek::SigningKey;
use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::federation::methods::{HelloParams, HelloResult, VERSIONS, method};
use winichat_protocol::federation::{FedRequest, FedResponse};
use winichat_protocol::ids::NodeName;
use winichat_protocol::keys::PublicKey;
use winichat_testkit::node::{Backend, TestNode};

/// Bound on every step that waits for the network.
const WAIT: Duration = Duration::from_secs(20);

async fn node(discovery: Discovery) -> TestNode {
    timeout(
        WAIT,
        TestNode::start_with(Backend::Sqlite, |config| {
            config.federation.discovery = discovery;
            config.federation.request_timeout = Duration::from_secs(5);
        }),
    )
    .await
    .expect("node starts in time")
}

fn pin(from: &TestNode, to: &TestNode) {
    pin_with_key(from, to, to.public_key().to_bytes());
}

fn pin_with_key(from: &TestNode, to: &TestNode, key: [u8; 32]) {
    from.federation().peers().pin(PinnedPeer {
        name: to.name().clone(),
        quic: to.quic_addr(),
        key,
    });
}

fn hello_params() -> Value {
    Value::serialized(&HelloParams {
        versions: VERSIONS.to_vec(),
    })
    .expect("params")
}

async fn hello(from: &TestNode, to: &TestNode) -> Result<HelloResult, FedError> {
    let result = timeout(
        WAIT,
        from.federation()
            .client()
            .request(to.name(), method::HELLO, hello_params()),
    )
    .await
    .expect("an answer or an error in time")?;
    Ok(result.deserialized().expect("a hello result"))
}

#[tokio::test]
async fn hello_both_ways_over_one_reused_connection_each() {
    let a = node(Discovery::Pinned).await;
    let b = node(Discovery::Pinned).await;
    pin(&a, &b);
    pin(&b, &a);
    for _ in 0..3 {
        let result = hello(&a, &b).await.expect("a → b");
        assert_eq!(result.versions, VERSIONS);
        assert!(result.ts.distance(clock::now()) < 60_000);
        hello(&b, &a).await.expect("b → a");
    }
    assert_eq!(
        a.federation().links().connections_opened(),
        1,
        "a dialled once"
    );
    assert_eq!(
        b.federation().links().connections_opened(),
        1,
        "b dialled once"
    );
    assert_eq!(a.federation().incoming().connections_accepted(), 1);
    assert_eq!(b.federation().incoming().connections_accepted(), 1);

    // An unknown method is answered, not dropped.
    let err = a
        .federation()
        .client()
        .request(b.name(), "no.such.method", Value::Map(vec![]))
        .await
        .expect_err("unknown");
    assert!(
        matches!(&err, FedError::Refused { error, .. } if error.code == ErrorCode::UnknownMethod),
        "{err}"
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_certificate_without_the_expected_key_is_refused() {
    let a = node(Discovery::Pinned).await;
    let b = node(Discovery::Pinned).await;
    let c = node(Discovery::Pinned).await;
    pin(&b, &a);

    // a expects c's key of b: its verifier refuses b's certificate.
    pin_with_key(&a, &b, c.public_key().to_bytes());
    let err = hello(&a, &b).await.expect_err("wrong server key");
    assert!(matches!(err, FedError::Unreachable { .. }), "{err}");

    // b expects c's key of a: b closes the connection after the handshake.
    pin(&a, &b);
    pin_with_key(&b, &a, c.public_key().to_bytes());
    let err = hello(&a, &b).await.expect_err("wrong client key");
    assert!(matches!(err, FedError::Unreachable { .. }), "{err}");
    // A name b does not know at all (discovery off) is refused the same way.
    assert!(b.federation().peers().unpin(a.name()));
    let err = hello(&a, &b).await.expect_err("unknown client");
    assert!(matches!(err, FedError::Unreachable { .. }), "{err}");

    // Meanwhile a valid peer works, and so does b once it knows a's real key.
    pin(&a, &c);
    pin(&c, &a);
    hello(&a, &c).await.expect("a → c");
    pin(&b, &a);
    hello(&a, &b).await.expect("a → b after the fix");
    a.shutdown().await;
    b.shutdown().await;
    c.shutdown().await;
}

#[tokio::test]
async fn the_deny_and_allow_lists_refuse_both_ways() {
    let a = node(Discovery::Pinned).await;
    let b = node(Discovery::Pinned).await;
    pin(&a, &b);
    pin(&b, &a);
    hello(&a, &b).await.expect("before the deny");

    b.federation().peers().set_deny(vec![a.name().clone()]);
    let err = hello(&a, &b).await.expect_err("denied by b");
    assert!(
        matches!(err, FedError::Unreachable { .. } | FedError::Refused { .. }),
        "{err}"
    );
    let err = hello(&b, &a)
        .await
        .expect_err("b does not call a denied node");
    assert!(matches!(err, FedError::NotAllowed { .. }), "{err}");

    b.federation().peers().set_deny(vec![]);
    b.federation()
        .peers()
        .set_allow(vec![NodeName::parse("someone.else").expect("name")]);
    let err = hello(&b, &a).await.expect_err("not on b's allow list");
    assert!(matches!(err, FedError::NotAllowed { .. }), "{err}");
    let err = hello(&a, &b).await.expect_err("not on b's allow list");
    assert!(matches!(err, FedError::Unreachable { .. }), "{err}");

    b.federation().peers().set_allow(vec![a.name().clone()]);
    hello(&a, &b).await.expect("allowed again");
    hello(&b, &a).await.expect("allowed again");
    a.shutdown().await;
    b.shutdown().await;
}

/// A peer driven by hand: its own identity and QUIC client, pinned on the node under test.
struct RawPeer {
    name: NodeName,
    key: SigningKey,
    identity: NodeIdentity,
    connection: quinn::Connection,
    endpoint: quinn::Endpoint,
    _dir: tempfile::TempDir,
}

impl RawPeer {
    async fn connect(to: &TestNode) -> RawPeer {
        let dir = tempfile::tempdir().expect("tempdir");
        let identity = NodeIdentity::load_or_create(dir.path()).expect("identity");
        let name = NodeName::parse("raw-peer.test").expect("name");
        to.federation().peers().pin(PinnedPeer {
            name: name.clone(),
            quic: SocketAddr::from(([127, 0, 0, 1], 9)),
            key: identity.public_key().to_bytes(),
        });
        let endpoint = quinn::Endpoint::client(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("client endpoint");
        let connection = dial(&endpoint, &identity, &name, to).await;
        RawPeer {
            name,
            key: identity.signing_key().clone(),
            identity,
            connection,
            endpoint,
            _dir: dir,
        }
    }

    /// One more connection to `to`, as the same node.
    async fn dial(&self, to: &TestNode) -> quinn::Connection {
        dial(&self.endpoint, &self.identity, &self.name, to).await
    }

    fn request(&self, to: &TestNode, id: u64, ts: Timestamp) -> FedRequest {
        FedRequest {
            origin: self.name.clone(),
            destination: to.name().clone(),
            id,
            ts,
            method: method::HELLO.to_owned(),
            params: hello_params(),
        }
    }

    /// Sends `frame` on a new stream (writing while reading, as a too-large frame is
    /// answered before it is all sent) and decodes the answer.
    async fn send(&self, frame: Vec<u8>) -> FedResponse {
        send_on(&self.connection, frame).await
    }

    /// A signed `hello` with id `id` on `connection`, and its answer.
    async fn hello_on(
        &self,
        connection: &quinn::Connection,
        to: &TestNode,
        id: u64,
    ) -> FedResponse {
        let request = self.request(to, id, clock::now());
        let frame = Signed::sign(request, &self.name, &self.key).expect("signs");
        send_on(connection, frame.raw().to_vec()).await
    }
    async fn send_signed(
        &self,
        request: FedRequest,
        signer: &NodeName,
        key: &SigningKey,
    ) -> FedResponse {
        let frame = Signed::sign(request, signer, key).expect("signs");
        self.send(frame.raw().to_vec()).await
    }
}

/// A connection from `endpoint` to `to`, as node `name` with `identity`.
async fn dial(
    endpoint: &quinn::Endpoint,
    identity: &NodeIdentity,
    name: &NodeName,
    to: &TestNode,
) -> quinn::Connection {
    let expected = PublicKey::from_bytes(&to.public_key().to_bytes()).expect("key");
    let config = quic_client_config(identity, name, expected).expect("client config");
    timeout(
        WAIT,
        endpoint
            .connect_with(config, to.quic_addr(), &server_name(to.name()))
            .expect("connect"),
    )
    .await
    .expect("handshake in time")
    .expect("handshake")
}

/// Sends `frame` on a new stream of `connection` (writing while reading, as a refused frame
/// is answered before it is all sent) and decodes the answer.
async fn send_on(connection: &quinn::Connection, frame: Vec<u8>) -> FedResponse {
    let (mut tx, mut rx) = connection.open_bi().await.expect("stream");
    let writer = tokio::spawn(async move {
        if tx.write_all(&frame).await.is_ok() {
            let _ = tx.finish();
        }
    });
    let bytes = timeout(WAIT, rx.read_to_end(Limits::FEDERATION_FRAME.max_frame))
        .await
        .expect("answer in time")
        .expect("an answer");
    writer.abort();
    FedResponse::decode(&bytes).expect("a response frame")
}

fn error_code(response: &FedResponse) -> Option<ErrorCode> {
    match response {
        FedResponse::Err { error, .. } => Some(error.code.clone()),
        _ => None,
    }
}

#[tokio::test]
async fn requests_are_checked_against_the_connection_and_the_clock() {
    let b = node(Discovery::Pinned).await;
    let peer = RawPeer::connect(&b).await;
    let now = clock::now();

    // A correct request.
    let answer = peer
        .send_signed(peer.request(&b, 7, now), &peer.name, &peer.key)
        .await;
    assert!(
        matches!(answer, FedResponse::Ok { id: 7, .. }),
        "{answer:?}"
    );

    // Signed as another node than the connection's.
    let other = NodeName::parse("other.test").expect("name");
    let mut request = peer.request(&b, 8, now);
    request.origin = other.clone();
    let answer = peer.send_signed(request, &other, &peer.key).await;
    assert_eq!(
        error_code(&answer),
        Some(ErrorCode::Forbidden),
        "{answer:?}"
    );

    // Signed as the connection's node, by another key.
    let stranger = SigningKey::from_bytes(&[9; 32]);
    let answer = peer
        .send_signed(peer.request(&b, 9, now), &peer.name, &stranger)
        .await;
    assert_eq!(
        error_code(&answer),
        Some(ErrorCode::Forbidden),
        "{answer:?}"
    );

    // Claims another origin than its signer.
    let mut request = peer.request(&b, 10, now);
    request.origin = other;
    let answer = peer.send_signed(request, &peer.name, &peer.key).await;
    assert_eq!(
        error_code(&answer),
        Some(ErrorCode::Forbidden),
        "{answer:?}"
    );

    // For another node.
    let mut request = peer.request(&b, 11, now);
    request.destination = NodeName::parse("elsewhere.test").expect("name");
    let answer = peer.send_signed(request, &peer.name, &peer.key).await;
    assert_eq!(
        error_code(&answer),
        Some(ErrorCode::BadRequest),
        "{answer:?}"
    );

    // Ten minutes old.
    let stale = Timestamp(now.0 - 10 * 60 * 1000);
    let answer = peer
        .send_signed(peer.request(&b, 12, stale), &peer.name, &peer.key)
        .await;
    assert_eq!(
        error_code(&answer),
        Some(ErrorCode::BadRequest),
        "{answer:?}"
    );
    assert!(matches!(answer, FedResponse::Err { id: 12, .. }));

    // Garbage.
    let answer = peer.send(b"not cbor at all".to_vec()).await;
    assert_eq!(
        error_code(&answer),
        Some(ErrorCode::BadRequest),
        "{answer:?}"
    );

    // Over 4 MiB: too_large, and the node (and this very connection) keeps serving.
    let answer = peer.send(vec![0u8; 5 * 1024 * 1024]).await;
    assert_eq!(error_code(&answer), Some(ErrorCode::TooLarge), "{answer:?}");
    let answer = peer
        .send_signed(peer.request(&b, 13, clock::now()), &peer.name, &peer.key)
        .await;
    assert!(
        matches!(answer, FedResponse::Ok { id: 13, .. }),
        "{answer:?}"
    );
    b.shutdown().await;
}

#[tokio::test]
async fn a_peer_holds_at_most_four_connections_and_a_fifth_closes_its_oldest() {
    let b = node(Discovery::Pinned).await;
    let peer = RawPeer::connect(&b).await;
    let oldest = &peer.connection;
    let answer = peer.hello_on(oldest, &b, 1).await;
    assert!(
        matches!(answer, FedResponse::Ok { id: 1, .. }),
        "{answer:?}"
    );

    let mut newer = Vec::new();
    for id in 2..=u64::try_from(MAX_CONNECTIONS_PER_PEER).expect("small") + 1 {
        let connection = peer.dial(&b).await;
        // Answered: the connection is authenticated and counted.
        let answer = peer.hello_on(&connection, &b, id).await;
        assert!(matches!(answer, FedResponse::Ok { .. }), "{answer:?}");
        newer.push(connection);
    }

    // The oldest was closed with its own code; the newer ones all still serve.
    let reason = timeout(WAIT, oldest.closed())
        .await
        .expect("the oldest connection closed in time");
    assert!(
        matches!(&reason, quinn::ConnectionError::ApplicationClosed(close)
            if close.error_code == quinn::VarInt::from_u32(CLOSE_SUPERSEDED)
                && close.reason.as_ref() == REASON_SUPERSEDED),
        "{reason:?}"
    );
    for (id, connection) in (100..).zip(&newer) {
        let answer = peer.hello_on(connection, &b, id).await;
        assert!(matches!(answer, FedResponse::Ok { .. }), "{answer:?}");
    }
    assert_eq!(
        b.federation().incoming().connections_of(&peer.name),
        MAX_CONNECTIONS_PER_PEER
    );

    // A closed connection is no longer counted.
    let last = newer.pop().expect("four");
    last.close(quinn::VarInt::from_u32(0), b"done");
    timeout(WAIT, async {
        while b.federation().incoming().connections_of(&peer.name) != MAX_CONNECTIONS_PER_PEER - 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the closed connection forgotten in time");
    b.shutdown().await;
}

#[tokio::test]
async fn requests_over_the_node_wide_request_memory_are_answered_unavailable() {
    const MIB: usize = 1024 * 1024;
    let b = timeout(
        WAIT,
        TestNode::start_with(Backend::Sqlite, |config| {
            config.federation.discovery = Discovery::Pinned;
            config.federation.max_request_memory = 4 * MIB;
        }),
    )
    .await
    .expect("node starts in time");
    let incoming = b.federation().incoming();
    let peer = RawPeer::connect(&b).await;
    let wait_for_memory = |enough: fn(usize) -> bool| async move {
        timeout(WAIT, async {
            while !enough(incoming.request_memory_in_use()) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("request memory reached in time");
    };

    // A 3 MiB request not yet finished: b holds its bytes while it waits for the rest.
    let (mut held, _held_answer) = peer.connection.open_bi().await.expect("stream");
    held.write_all(&vec![0u8; 3 * MIB]).await.expect("written");
    wait_for_memory(|used| used >= 3 * MIB).await;

    // A 2 MiB request does not fit beside it: refused at once, as transient.
    let answer = peer.send(vec![0u8; 2 * MIB]).await;
    assert_eq!(
        error_code(&answer),
        Some(ErrorCode::Unavailable),
        "{answer:?}"
    );
    // A small one still fits.
    let answer = peer.hello_on(&peer.connection, &b, 1).await;
    assert!(
        matches!(answer, FedResponse::Ok { id: 1, .. }),
        "{answer:?}"
    );

    // The held request given up, its bytes are free again and the 2 MiB request is read
    // (and refused for what it is: not a signed request).
    held.reset(quinn::VarInt::from_u32(0)).expect("reset");
    wait_for_memory(|used| used == 0).await;
    let answer = peer.send(vec![0u8; 2 * MIB]).await;
    assert_eq!(
        error_code(&answer),
        Some(ErrorCode::BadRequest),
        "{answer:?}"
    );
    b.shutdown().await;
}

#[tokio::test]
async fn requests_that_lose_their_link_together_redial_one_connection() {
    let a = node(Discovery::Pinned).await;
    // A peer that authenticates like a node but grants one request stream per connection and
    // never answers it: further requests wait to open theirs.
    let dir = tempfile::tempdir().expect("tempdir");
    let identity = NodeIdentity::load_or_create(dir.path()).expect("identity");
    let name = NodeName::parse("silent.test").expect("name");
    let silent =
        endpoint::bind(SocketAddr::from(([127, 0, 0, 1], 0)), &identity, &name, 1).expect("bind");
    a.federation().peers().pin(PinnedPeer {
        name: name.clone(),
        quic: silent.local_addr().expect("addr"),
        key: identity.public_key().to_bytes(),
    });
    let (streams_tx, mut streams_rx) = tokio::sync::mpsc::unbounded_channel();
    let server = silent.clone();
    let accepting = tokio::spawn(async move {
        while let Some(incoming) = server.accept().await {
            let streams_tx = streams_tx.clone();
            tokio::spawn(async move {
                let Ok(connection) = incoming.await else {
                    return;
                };
                if let Ok(stream) = connection.accept_bi().await {
                    let _ = streams_tx.send(connection.clone());
                    // Held, unanswered, until the connection ends.
                    let reason = connection.closed().await;
                    drop((stream, reason));
                }
            });
        }
    });

    const REQUESTS: usize = 6;
    let client = a.federation().client();
    let requests: Vec<_> = (0..REQUESTS)
        .map(|_| {
            let client = client.clone();
            let name = name.clone();
            tokio::spawn(async move {
                client
                    .request(&name, method::HELLO, hello_params())
                    .await
                    .expect_err("never answered")
            })
        })
        .collect();

    // One request holds the only stream; the others wait to open theirs. The link is lost.
    let first = timeout(WAIT, streams_rx.recv())
        .await
        .expect("a stream in time")
        .expect("a connection");
    first.close(quinn::VarInt::from_u32(7), b"lost");

    // Every waiting request saw the link fail: they redial one connection and share it.
    for request in requests {
        let error = timeout(WAIT, request)
            .await
            .expect("the request ends in time")
            .expect("joined");
        assert!(
            matches!(
                error,
                FedError::Timeout { .. } | FedError::Unreachable { .. }
            ),
            "{error}"
        );
    }
    assert_eq!(
        a.federation().links().connections_opened(),
        2,
        "the first link and one redial"
    );
    let second = streams_rx.try_recv().expect("the redialled link");
    assert_ne!(second.stable_id(), first.stable_id());
    assert!(
        streams_rx.try_recv().is_err(),
        "no link replaced a link just redialled"
    );
    accepting.abort();
    silent.close(quinn::VarInt::from_u32(0), b"done");
    a.shutdown().await;
}

/// A node named by its HTTP address (so `http://NAME/.well-known/winichat/node` reaches it).
async fn addressed_node(discovery: Discovery) -> TestNode {
    let http = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    timeout(
        WAIT,
        TestNode::start_with(Backend::Sqlite, |config| {
            config.http = http;
            config.name = NodeName::parse(&http.to_string()).expect("name");
            config.federation.discovery = discovery;
            config.federation.request_timeout = Duration::from_secs(5);
        }),
    )
    .await
    .expect("node starts in time")
}

#[tokio::test]
async fn http_discovery_finds_keys_and_addresses_from_node_documents() {
    let a = addressed_node(Discovery::Http).await;
    let b = addressed_node(Discovery::Http).await;
    // Nothing pinned: a fetches b's document, b fetches a's when a connects.
    hello(&a, &b).await.expect("a → b by discovery");
    hello(&b, &a).await.expect("b → a by discovery");
    let info = a
        .federation()
        .peers()
        .resolve(b.name())
        .await
        .expect("cached");
    assert_eq!(info.key.to_bytes(), b.public_key().to_bytes());
    assert_eq!(info.addrs, [b.quic_addr()]);

    // A pinned node never fetches: without a pin there is nobody to talk to.
    let c = node(Discovery::Pinned).await;
    let err = hello(&c, &a).await.expect_err("c does not discover");
    assert!(matches!(err, FedError::Unreachable { .. }), "{err}");
    a.shutdown().await;
    b.shutdown().await;
    c.shutdown().await;
}
