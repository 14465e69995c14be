//! The router driven without a socket.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use tower::ServiceExt as _;

use super::{AppState, NodeDocument, app};
use crate::storage;

pub(super) async fn state(dir: &std::path::Path) -> AppState {
    let db = storage::open("sqlite", dir).await.expect("open sqlite");
    let gateway = crate::api::ws::Gateway::new(Default::default());
    AppState {
        db: db.clone(),
        node: Arc::new(NodeDocument {
            name: "chat.example.org".parse().expect("name"),
            protocol_version: winichat_protocol::PROTOCOL_VERSION,
            public_key: "A".repeat(43),
            quic: "127.0.0.1:7801".parse().expect("addr"),
        }),
        node_document: Arc::new(super::node_document::DocumentSigner::new(
            "chat.example.org".parse().expect("name"),
            ed25519_dalek::SigningKey::from_bytes(&[7; 32]),
            vec!["127.0.0.1:7801".to_owned()],
        )),
        web: super::web::WebDir::new(Some(dir.join("web"))),
        auth: crate::auth::Auth::new(
            db.clone(),
            "chat.example.org".parse().expect("name"),
            dir,
            crate::auth::AuthSettings::default(),
        )
        .expect("auth"),
        gateway: gateway.clone(),
        chats: crate::chat::Chats::new(
            db.clone(),
            "chat.example.org".parse().expect("name"),
            ed25519_dalek::SigningKey::from_bytes(&[7; 32]),
            Arc::new(gateway.hub().clone()),
        ),
        media: crate::media::Media::local(
            db.clone(),
            "chat.example.org".parse().expect("name"),
            dir,
            &[7; 32],
            Default::default(),
        )
        .expect("media"),
    }
}

async fn get(state: &AppState, path: &str) -> (StatusCode, String) {
    let request = Request::get(path).body(Body::empty()).expect("request");
    let response = app(state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let body = to_bytes(response.into_body(), 64 * 1024)
        .await
        .expect("body");
    (status, String::from_utf8(body.to_vec()).expect("utf-8"))
}

#[tokio::test]
async fn healthz_is_ok_while_the_database_answers_and_503_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = state(dir.path()).await;
    assert_eq!(
        get(&state, "/healthz").await,
        (StatusCode::OK, r#"{"status":"ok"}"#.into())
    );

    state.db.close().await;
    let (status, body) = get(&state, "/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body, r#"{"status":"unavailable"}"#,
        "no internal detail is sent"
    );
}

#[tokio::test]
async fn node_document_is_served_as_json_to_people() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = state(dir.path()).await;
    let response = app(state.clone())
        .oneshot(
            Request::get("/.well-known/winichat/node")
                .header("accept", "application/json")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let body = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    let doc: NodeDocument = serde_json::from_slice(&body).expect("a node document");
    assert_eq!(doc, *state.node);
    let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(json["name"], "chat.example.org");
    assert_eq!(json["quic"], "127.0.0.1:7801");
}

#[tokio::test]
async fn node_document_is_served_signed_to_peers() {
    use winichat_protocol::federation::document::verify_document;
    use winichat_protocol::keys::PublicKey;

    let dir = tempfile::tempdir().expect("tempdir");
    let state = state(dir.path()).await;
    let response = app(state.clone())
        .oneshot(
            Request::get("/.well-known/winichat/node")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/cose"[..])
    );
    let body = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    let name = "chat.example.org".parse().expect("name");
    let now = crate::federation::clock::now();
    let key = PublicKey::of(&ed25519_dalek::SigningKey::from_bytes(&[7; 32]));
    let doc = verify_document(&body, &name, Some(&key), now).expect("verifies");
    assert_eq!(doc.key, key.to_bytes().to_vec());
    assert_eq!(doc.quic, ["127.0.0.1:7801"]);
    assert_eq!(doc.versions, [1]);
    let day = super::node_document::DOCUMENT_LIFETIME_MS;
    assert!(doc.valid_until.0 > now.0 + day - 60_000 && doc.valid_until.0 <= now.0 + day);
}
