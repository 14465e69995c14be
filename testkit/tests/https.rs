//! HTTPS served by the node itself: the configured certificate is presented, HSTS is sent,
//! plain HTTP is redirected, and a SIGHUP reloads the certificate for new connections while
//! an open WebSocket (wss) goes on working; a bad file on reload keeps the certificate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use winichat_node::connections::tls::TlsFiles;
use winichat_protocol::client::{ClientFrame, Request, ServerFrame};
use winichat_protocol::gateway::{self, AuthParams};
use winichat_testkit::node::{Backend, TestNode};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_https_certificate_reload_keeps_open_websockets() {
    https_certificate_reload_keeps_open_websockets(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_https_certificate_reload_keeps_open_websockets() {
    https_certificate_reload_keeps_open_websockets(Backend::Postgres).await;
}

/// A certificate for 127.0.0.1, written as PEM files; its DER is kept to compare.
struct Issued {
    der: Vec<u8>,
    pem: String,
}

fn issue(files: &TlsFiles) -> Issued {
    let issued = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
        .expect("a certificate for 127.0.0.1");
    let pem = issued.cert.pem();
    std::fs::write(&files.cert, &pem).expect("write the certificate");
    std::fs::write(&files.key, issued.signing_key.serialize_pem()).expect("write the key");
    Issued {
        der: issued.cert.der().to_vec(),
        pem,
    }
}

/// A TLS connection to `addr` trusting only `root`.
async fn tls_connect(addr: SocketAddr, root: &Issued) -> std::io::Result<TlsStream<TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(root.der.clone()))
        .expect("a root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await?;
    TlsConnector::from(Arc::new(config))
        .connect(ServerName::from(addr.ip()), tcp)
        .await
}

/// The certificate the node presents to a new connection (which must verify against `root`).
async fn presented(addr: SocketAddr, root: &Issued) -> std::io::Result<Vec<u8>> {
    let stream = tls_connect(addr, root).await?;
    let (_, connection) = stream.get_ref();
    Ok(connection
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|c| c.as_ref().to_vec())
        .unwrap_or_default())
}

fn https_client(root: &Issued) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(root.pem.as_bytes()).expect("pem")])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn hangup() {
    rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::HUP)
        .expect("send SIGHUP to this process");
}

/// Waits (bounded) until a new connection is presented `expected`.
async fn wait_for_certificate(addr: SocketAddr, expected: &Issued) {
    for _ in 0..100 {
        if presented(addr, expected).await.ok().as_deref() == Some(expected.der.as_slice()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the node never presented the new certificate");
}

async fn authenticated_wss(
    addr: SocketAddr,
    root: &Issued,
    token: &str,
) -> WebSocketStream<TlsStream<TcpStream>> {
    let tls = tls_connect(addr, root).await.expect("TLS");
    let (mut ws, _) = tokio_tungstenite::client_async(format!("wss://{addr}/ws"), tls)
        .await
        .expect("WebSocket upgrade over TLS");
    let auth = request(
        1,
        gateway::method::AUTH,
        gateway::to_value(&AuthParams {
            token: token.to_owned(),
            cursor: None,
        })
        .expect("params"),
    );
    ws.send(auth).await.expect("send auth");
    reply(&mut ws, 1).await;
    ws
}

fn request(id: u64, method: &str, params: ciborium::Value) -> Message {
    let frame = ClientFrame::Request(Request {
        id,
        method: method.to_owned(),
        params,
    })
    .encode()
    .expect("encode");
    Message::Binary(frame.into())
}

/// Reads until the reply to `id`, which must be `ok`.
async fn reply(ws: &mut WebSocketStream<TlsStream<TcpStream>>, id: u64) {
    loop {
        match timeout(WAIT, ws.next()).await {
            Ok(Some(Ok(Message::Binary(bytes)))) => match ServerFrame::decode(&bytes) {
                Ok(ServerFrame::Ok { id: got, .. }) if got == id => return,
                Ok(ServerFrame::Err { id: got, error }) if got == id => {
                    panic!("request {id} failed: {error:?}")
                }
                _ => {}
            },
            Ok(Some(Ok(_))) => {}
            other => panic!("no reply to {id}: {other:?}"),
        }
    }
}

async fn https_certificate_reload_keeps_open_websockets(backend: Backend) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let files = TlsFiles {
        cert: dir.path().join("fullchain.pem"),
        key: dir.path().join("privkey.pem"),
    };
    let first = issue(&files);
    let node = TestNode::start_with(backend, |config| {
        config.listeners.tls = Some(files.clone());
        config.listeners.redirect_http = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await;
    let addr = node.http_addr();
    let base = format!("https://{addr}");

    // The configured certificate, verified as the only root; HSTS on every answer.
    assert_eq!(presented(addr, &first).await.expect("TLS"), first.der);
    let client = https_client(&first);
    let health = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("GET /healthz over HTTPS");
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let ready = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("GET /readyz over HTTPS");
    assert_eq!(ready.status(), 200);

    // Plain HTTP on the redirect listener is sent to HTTPS, same path and query.
    let redirect = node.running().redirect_addr.expect("redirect listener");
    let answer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("http://{redirect}/some/path?x=1"))
        .send()
        .await
        .expect("plain HTTP");
    assert_eq!(answer.status(), 308);
    assert_eq!(
        answer.headers()["location"].to_str().expect("text"),
        format!("https://127.0.0.1:{}/some/path?x=1", addr.port())
    );
    // Plain HTTP on the HTTPS port fails the handshake: no answer at all.
    assert!(
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .is_err()
    );

    let registered = client
        .post(format!("{base}/api/auth/register"))
        .json(&serde_json::json!({"username": "tls_user", "password": "correct horse battery"}))
        .send()
        .await
        .expect("register over HTTPS");
    assert_eq!(registered.status(), 201);
    let body: serde_json::Value = registered.json().await.expect("json");
    let token = body["access_token"].as_str().expect("token").to_owned();
    let mut ws = authenticated_wss(addr, &first, &token).await;

    // SIGHUP after the files are renewed: new connections get the new certificate...
    let second = issue(&files);
    hangup();
    wait_for_certificate(addr, &second).await;
    assert!(
        presented(addr, &first).await.is_err(),
        "the old certificate is no longer presented"
    );
    // ... and the open wss connection goes on working.
    ws.send(request(
        2,
        gateway::method::PING,
        ciborium::Value::Map(vec![]),
    ))
    .await
    .expect("send on the open connection");
    reply(&mut ws, 2).await;
    let mut fresh = authenticated_wss(addr, &second, &token).await;
    fresh
        .send(request(
            2,
            gateway::method::PING,
            ciborium::Value::Map(vec![]),
        ))
        .await
        .expect("send");
    reply(&mut fresh, 2).await;

    // A bad file on reload keeps the certificate in force.
    std::fs::write(&files.cert, "-----BEGIN CERTIFICATE-----\nnot base64\n").expect("write");
    hangup();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(presented(addr, &second).await.expect("TLS"), second.der);
    ws.send(request(
        3,
        gateway::method::PING,
        ciborium::Value::Map(vec![]),
    ))
    .await
    .expect("send");
    reply(&mut ws, 3).await;

    drop((ws, fresh));
    node.shutdown().await;
}
