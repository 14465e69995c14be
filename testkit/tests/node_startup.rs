//! A whole node, started in-process with [`TestNode`] on SQLite and on PostgreSQL: its HTTP
//! endpoints, its QUIC federation endpoint, and its shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::ConnectionError;
use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use winichat_testkit::node::{Backend, TestNode};

const WAIT: Duration = Duration::from_secs(10);

/// A minimal HTTP/1.1 GET over a fresh connection: the status code and the body.
async fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = timeout(WAIT, exchange)
        .await
        .map_err(|_| std::io::Error::other("HTTP timeout"))??;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {response:?}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// `/healthz` answers 200 and the node document describes the node, then shutdown releases
/// the HTTP port.
async fn serves_health_and_node_document(backend: Backend) {
    let node = timeout(Duration::from_secs(60), TestNode::start(backend))
        .await
        .expect("node starts in time");

    let (status, body) = http_get(node.http_addr(), "/healthz")
        .await
        .expect("GET /healthz");
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));

    let (status, body) = http_get(node.http_addr(), "/.well-known/winichat/node")
        .await
        .expect("GET node document");
    assert_eq!(status, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(doc["name"], node.name().to_string());
    assert_eq!(doc["protocol_version"], winichat_protocol::PROTOCOL_VERSION);
    assert_eq!(doc["quic"], node.quic_addr().to_string());
    let key = doc["public_key"].as_str().expect("public_key");
    assert_eq!(key.len(), 43, "32 bytes, unpadded base64url: {key}");
    assert!(
        key.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{key}"
    );

    let (status, _) = http_get(node.http_addr(), "/api/no-such-thing")
        .await
        .expect("GET");
    assert_eq!(status, 404);

    let addr = node.http_addr();
    timeout(WAIT, node.shutdown())
        .await
        .expect("shutdown in time");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "HTTP listener closed after shutdown"
    );
}

#[tokio::test]
async fn sqlite_node_serves_health_and_node_document() {
    serves_health_and_node_document(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_node_serves_health_and_node_document() {
    serves_health_and_node_document(Backend::Postgres).await;
}

/// Accepts exactly one server key (the node's published identity key), as federation peers
/// will; the handshake signature is still checked, so the server must hold the secret key.
#[derive(Debug)]
struct PinnedKey {
    spki: Vec<u8>,
    provider: Arc<CryptoProvider>,
}

impl PinnedKey {
    fn new(public_key: [u8; 32]) -> PinnedKey {
        // DER SubjectPublicKeyInfo of an Ed25519 key (RFC 8410): fixed prefix, then the key.
        let mut spki = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        spki.extend_from_slice(&public_key);
        PinnedKey {
            spki,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        }
    }
}

impl ServerCertVerifier for PinnedKey {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity
            .as_ref()
            .windows(self.spki.len())
            .any(|w| w == self.spki.as_slice())
        {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "certificate does not carry the pinned key".into(),
            ))
        }
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

/// Connects to `addr` with ALPN `winichat-fed/1`, accepting only `public_key`.
async fn quic_connect(addr: SocketAddr, public_key: [u8; 32]) -> Result<quinn::Connection, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedKey::new(public_key)))
        .with_no_client_auth();
    tls.alpn_protocols = vec![winichat_protocol::federation::ALPN.to_vec()];
    let crypto =
        quinn::crypto::rustls::QuicClientConfig::try_from(tls).expect("QUIC client config");
    let mut endpoint =
        quinn::Endpoint::client(SocketAddr::from(([127, 0, 0, 1], 0))).expect("client endpoint");
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    let connecting = endpoint
        .connect(addr, "localhost")
        .map_err(|e| e.to_string())?;
    timeout(WAIT, connecting)
        .await
        .map_err(|_| "handshake timeout".to_owned())?
        .map_err(|e| e.to_string())
}

/// The QUIC endpoint presents a certificate over the node's identity key, speaks
/// `winichat-fed/1`, and requires a client certificate (peers authenticate both ways; the
/// federation tests cover authenticated peers).
#[tokio::test]
async fn quic_endpoint_proves_the_identity_key_and_requires_a_client_certificate() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let node = TestNode::start(Backend::Sqlite).await;

    // The server's certificate passes the pinned-key check; without a client certificate the
    // server then ends the handshake (the client may see it fail or the connection close).
    match quic_connect(node.quic_addr(), node.public_key().to_bytes()).await {
        Err(e) => assert!(!e.contains("pinned key"), "{e}"),
        Ok(connection) => {
            let reason = timeout(WAIT, connection.closed())
                .await
                .expect("closed in time");
            assert!(
                matches!(
                    reason,
                    ConnectionError::TransportError(_) | ConnectionError::ConnectionClosed(_)
                ),
                "expected a handshake failure, got {reason}"
            );
        }
    }

    let mut wrong = node.public_key().to_bytes();
    wrong[0] ^= 1;
    let refused = quic_connect(node.quic_addr(), wrong).await;
    assert!(
        refused.is_err(),
        "a client pinning another key must not complete the handshake"
    );

    timeout(WAIT, node.shutdown())
        .await
        .expect("shutdown in time");
}

/// Nodes started side by side never share a name, a key or a port.
#[tokio::test]
async fn two_nodes_get_distinct_names_and_keys() {
    let a = TestNode::start(Backend::Sqlite).await;
    let b = TestNode::start(Backend::Sqlite).await;
    assert_ne!(a.name(), b.name());
    assert_ne!(a.public_key(), b.public_key());
    assert_ne!(a.http_addr(), b.http_addr());
    a.shutdown().await;
    b.shutdown().await;
}

/// A data directory keeps its identity across restarts, and the database refuses to serve
/// under another name (it belongs to the node that created it).
#[tokio::test]
async fn restart_reuses_the_identity_and_refuses_another_name() {
    use winichat_node::config::{Config, LogFormat};
    use winichat_node::server;

    let dir = tempfile::tempdir().expect("tempdir");
    let config = |name: &str| Config {
        name: name.parse().expect("node name"),
        data_dir: dir.path().to_path_buf(),
        http: SocketAddr::from(([127, 0, 0, 1], 0)),
        quic: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: "sqlite".into(),
        log_format: LogFormat::Text,
        name_defaulted: false,
        web_dir: None,
        gateway: Default::default(),
        auth: Default::default(),
        media: Default::default(),
        connections: Default::default(),
        federation: Default::default(),
        listeners: Default::default(),
    };
    let first = server::start(config("restart.test"))
        .await
        .expect("first start");
    let key = first.public_key;
    first.shutdown().await.expect("first shutdown");

    let second = server::start(config("restart.test"))
        .await
        .expect("second start");
    assert_eq!(second.public_key, key, "the key is reused");
    second.shutdown().await.expect("second shutdown");

    let err = server::start(config("other.test"))
        .await
        .expect_err("another name must be refused");
    let message = err.to_string();
    assert!(
        message.contains("restart.test") && message.contains("other.test"),
        "{message}"
    );
}

/// Shutdown drains: a request already on the wire when shutdown starts still gets its answer,
/// while new connections are refused.
#[tokio::test]
async fn shutdown_answers_the_request_in_flight() {
    let node = TestNode::start(Backend::Sqlite).await;
    let addr = node.http_addr();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("first half");
    tokio::time::sleep(Duration::from_millis(100)).await;

    let stopping = tokio::spawn(node.shutdown());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no new connections while draining"
    );

    stream
        .write_all(b"Connection: close\r\n\r\n")
        .await
        .expect("second half");
    let mut response = String::new();
    timeout(WAIT, stream.read_to_string(&mut response))
        .await
        .expect("answered in time")
        .expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response:?}");
    timeout(WAIT, stopping)
        .await
        .expect("stopped in time")
        .expect("shutdown task");
}
