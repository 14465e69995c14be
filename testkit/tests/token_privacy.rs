//! Tokens stay where they belong: a token naming one user with another user's session is
//! refused and leaves that session alone, and neither access tokens nor media signatures
//! reach the logs, at any level.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use winichat_node::auth::jwt::AuthKey;
use winichat_testkit::client::{Account, Client};
use winichat_testkit::node::{Backend, TestNode};

fn sid_of(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("payload");
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json");
    claims["sid"].as_str().expect("sid").to_owned()
}

async fn sessions(node: &TestNode, token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{}/api/auth/sessions", node.http_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("send")
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_pairing_a_user_with_another_users_session_is_refused() {
    let node = TestNode::start(Backend::Sqlite).await;
    let alice = Account::register(&node, "alice").await;
    let bob = Account::register(&node, "bob").await;
    let mallory = Account::register(&node, "mallory").await;
    // Alice's session is in the cache as active; Bob's is not cached yet.
    assert_eq!(sessions(&node, &alice.token).await, StatusCode::OK);
    let key = AuthKey::load(node.data_dir()).expect("auth key");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let crafted = |sid: &str| {
        key.sign(&json!({
            "iss": node.name().to_string(), "aud": "winichat-client",
            "sub": mallory.user.to_string(), "sid": sid,
            "iat": now, "exp": now + 60, "typ": "access",
        }))
        .expect("sign")
    };
    // Signed by the node's own key, but the session is not Mallory's.
    let with_cached = crafted(&sid_of(&alice.token));
    assert_eq!(
        sessions(&node, &with_cached).await,
        StatusCode::UNAUTHORIZED,
        "a cached session of another user"
    );
    let with_uncached = crafted(&sid_of(&bob.token));
    assert_eq!(
        sessions(&node, &with_uncached).await,
        StatusCode::UNAUTHORIZED,
        "an uncached session of another user"
    );
    // Neither attempt changed what the node knows of those sessions.
    assert_eq!(sessions(&node, &alice.token).await, StatusCode::OK);
    assert_eq!(sessions(&node, &bob.token).await, StatusCode::OK);
    assert_eq!(sessions(&node, &mallory.token).await, StatusCode::OK);
    node.shutdown().await;
}

/// Everything logged, as text.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(
            &self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_media_signatures_and_invite_codes_never_reach_the_logs() {
    let logs = Captured::default();
    let writer = logs.clone();
    // The node's own filter, asking for everything.
    tracing_subscriber::fmt()
        .with_env_filter(winichat_node::logging::filter("trace").expect("filter"))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the only subscriber of this test process");

    let node = TestNode::start(Backend::Sqlite).await;
    let mut carol = Client::register(&node, "carol").await;
    let token = carol.account().token.clone();
    carol
        .call("ping", winichat_testkit::client::map(vec![]))
        .await
        .expect("ping");
    assert_eq!(sessions(&node, &token).await, StatusCode::OK);
    let signature = "c2lnbmF0dXJlLW9mLWEtbWVkaWEtdXJs";
    let media = format!(
        "{}/api/media/{}?exp=4102444800&sig={signature}",
        node.http_url(),
        "ab".repeat(32)
    );
    let status = reqwest::get(&media).await.expect("get").status();
    assert!(status.is_client_error(), "{status}");
    // The web app's page of an invite link carries the link's secret code in its path.
    let invite_code = "Jx7sEcReTiNvItEcOdEq9";
    reqwest::get(format!("{}/join/{invite_code}", node.http_url()))
        .await
        .expect("get");
    tokio::time::sleep(Duration::from_millis(200)).await;
    carol.close().await;
    node.shutdown().await;

    let text = logs.text();
    assert!(
        text.contains("/api/media/"),
        "requests are logged at debug (the test sees the logs)"
    );
    assert!(!text.contains(signature), "a media signature was logged");
    assert!(
        text.contains("/join/"),
        "the invite page's request is logged"
    );
    assert!(!text.contains(invite_code), "an invite code was logged");
    assert!(!text.contains(&token), "an access token was logged");
    let signature_part = token.rsplit('.').next().expect("signature");
    assert!(
        !text.contains(signature_part),
        "an access token's signature was logged"
    );
}
