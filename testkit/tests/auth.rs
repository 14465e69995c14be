//! The auth HTTP API against a real node (`/api/auth/…`), on SQLite and PostgreSQL: the happy
//! path, forged and misused tokens, refresh rotation and reuse, sessions, password change,
//! registration modes, login throttling (also under concurrency) and registrations per IP.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use winichat_node::auth::jwt::AuthKey;
use winichat_node::auth::{Auth, AuthSettings, RegistrationMode};
use winichat_node::client_addr::TrustedProxies;
use winichat_node::storage;
use winichat_testkit::node::{Backend, TestNode};

winichat_testkit::on_both!(
    register_login_refresh_logout,
    forged_and_misused_tokens_are_refused,
    reuse_of_a_rotated_refresh_token_revokes_the_session,
    parallel_refreshes_yield_one_pair,
    password_change_revokes_the_other_sessions,
    sessions_list_and_revoke,
    registration_modes,
    login_brute_force_is_throttled,
    concurrent_logins_are_throttled_before_the_password_is_checked,
    registrations_are_throttled_per_ip,
    forwarded_for_is_believed_only_from_a_trusted_proxy,
    profile_and_search,
);

const PASSWORD: &str = "correct horse battery";

struct Api {
    node: TestNode,
    client: Client,
}

struct Tokens {
    user_id: String,
    access: String,
    refresh: String,
    set_cookie: String,
}

impl Api {
    async fn start(backend: Backend) -> Api {
        Api::start_with(backend, AuthSettings::default()).await
    }

    async fn start_with(backend: Backend, auth: AuthSettings) -> Api {
        let node = TestNode::start_with(backend, |c| c.auth = auth).await;
        let client = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Api { node, client }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/auth{path}", self.node.http_url())
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value, Option<String>) {
        let r = self
            .client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("send");
        answer(r).await
    }

    async fn bearer(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let (status, body, _) = answer(req.send().await.expect("send")).await;
        (status, body)
    }

    async fn sessions(&self, access: &str) -> (StatusCode, Value) {
        self.bearer(reqwest::Method::GET, "/sessions", access, None)
            .await
    }

    async fn register(&self, name: &str) -> Tokens {
        let (status, body, cookie) = self
            .post(
                "/register",
                json!({"username": name, "password": PASSWORD, "display_name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        tokens(body, cookie)
    }

    async fn login(&self, name: &str, device: &str) -> Tokens {
        let (status, body, cookie) = self
            .post(
                "/login",
                json!({"username": name, "password": PASSWORD, "device": device}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        tokens(body, cookie)
    }

    /// Refresh with the token in the body (the non-browser way).
    async fn refresh(&self, refresh: &str) -> (StatusCode, Value) {
        let (status, body, _) = self
            .post("/refresh", json!({ "refresh_token": refresh }))
            .await;
        (status, body)
    }

    fn key(&self) -> AuthKey {
        AuthKey::load(self.node.data_dir()).expect("auth key")
    }

    /// An `Auth` over the node's own database (a second pool), for what only the operator can do.
    async fn operator(&self) -> Auth {
        let url = self.node.database_url().unwrap_or("sqlite");
        let db = storage::open(url, self.node.data_dir())
            .await
            .expect("open");
        Auth::new(
            db,
            self.node.name().clone(),
            self.node.data_dir(),
            AuthSettings::default(),
        )
        .expect("auth")
    }
}

async fn answer(r: reqwest::Response) -> (StatusCode, Value, Option<String>) {
    let status = r.status();
    let cookie = r
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().expect("ascii").to_owned());
    let text = r.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, body, cookie)
}

fn tokens(body: Value, cookie: Option<String>) -> Tokens {
    let set_cookie = cookie.expect("a refresh cookie");
    let refresh = set_cookie
        .strip_prefix("winichat_refresh=")
        .and_then(|v| v.split(';').next())
        .expect("cookie value")
        .to_owned();
    Tokens {
        user_id: body["user_id"].as_str().expect("user_id").to_owned(),
        access: body["access_token"].as_str().expect("token").to_owned(),
        refresh,
        set_cookie,
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn assert_unauthenticated(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "unauthenticated", "{body}");
}

fn b64(v: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .to_vec()
}

// ---- tests ----

async fn register_login_refresh_logout(backend: Backend) {
    let api = Api::start(backend).await;
    let t = api.register("alice").await;
    assert_eq!(t.user_id, format!("@alice:{}", api.node.name()));
    for attr in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/api/auth",
        "Max-Age=2592000",
    ] {
        assert!(t.set_cookie.contains(attr), "{attr} in {}", t.set_cookie);
    }
    assert!(!t.set_cookie.contains("Secure"), "{}", t.set_cookie);
    let (status, list) = api.sessions(&t.access).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list.as_array().expect("array").len(), 1);

    // Refresh from the cookie (browser style): a new cookie, no refresh token in the body.
    let r = api
        .client
        .post(api.url("/refresh"))
        .header("cookie", format!("winichat_refresh={}", t.refresh))
        .send()
        .await
        .expect("send");
    let (status, body, cookie) = answer(r).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let t2 = tokens(body, cookie);
    assert_ne!(t2.refresh, t.refresh);
    assert_eq!(api.sessions(&t2.access).await.0, StatusCode::OK);

    // Body style: the new refresh token comes back in the body.
    let (status, body) = api.refresh(&t2.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let r3 = body["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned();
    let a3 = body["access_token"].as_str().expect("access").to_owned();

    // Login works with the registered password.
    let l = api.login("alice", "laptop").await;
    assert_eq!(api.sessions(&l.access).await.0, StatusCode::OK);

    // Logout: 204, cookie cleared, the access token and the refresh token stop working.
    let r = api
        .client
        .post(api.url("/logout"))
        .bearer_auth(&a3)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let cleared = r
        .headers()
        .get("set-cookie")
        .expect("cookie")
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(cleared.starts_with("winichat_refresh=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let (status, body) = api.sessions(&a3).await;
    assert_unauthenticated(status, &body);
    let (status, body) = api.refresh(&r3).await;
    assert_unauthenticated(status, &body);
    // The other session is untouched.
    assert_eq!(api.sessions(&l.access).await.0, StatusCode::OK);
    api.node.shutdown().await;
}

async fn forged_and_misused_tokens_are_refused(backend: Backend) {
    let api = Api::start(backend).await;
    let t = api.register("mallory").await;
    let key = api.key();
    let (status, _) = api.sessions(&t.access).await;
    assert_eq!(status, StatusCode::OK);
    let sid = {
        let payload = t.access.split('.').nth(1).expect("payload");
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json");
        claims["sid"].as_str().expect("sid").to_owned()
    };
    let now = now_secs();
    let claims = |exp: u64| {
        json!({
            "iss": api.node.name().to_string(), "aud": "winichat-client", "sub": t.user_id,
            "sid": sid, "iat": now, "exp": exp, "typ": "access",
        })
    };
    // Sanity: a token we mint the same way is accepted.
    let good = key.sign(&claims(now + 60)).expect("sign");
    assert_eq!(api.sessions(&good).await.0, StatusCode::OK);

    let payload = b64(claims(now + 60).to_string().as_bytes());
    let mut forged: Vec<(&str, String)> = Vec::new();
    // alg: none, no signature.
    forged.push((
        "alg none",
        format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"JWT"}"#)),
    ));
    // HS256 with the public key bytes as the HMAC secret (key confusion).
    let header = b64(br#"{"alg":"HS256","typ":"JWT"}"#);
    let signing_input = format!("{header}.{payload}");
    let mac = hmac_sha256(key.public_key().as_bytes(), signing_input.as_bytes());
    forged.push(("HS256", format!("{signing_input}.{}", b64(&mac))));
    // Expired by leeway (5 s) + 1 s.
    forged.push(("expired", key.sign(&claims(now - 6)).expect("sign")));
    let mut no_aud = claims(now + 60);
    no_aud.as_object_mut().expect("obj").remove("aud");
    forged.push(("no aud", key.sign(&no_aud).expect("sign")));
    let mut no_iss = claims(now + 60);
    no_iss.as_object_mut().expect("obj").remove("iss");
    forged.push(("no iss", key.sign(&no_iss).expect("sign")));
    let mut other_iss = claims(now + 60);
    other_iss["iss"] = json!("evil.example");
    forged.push(("wrong iss", key.sign(&other_iss).expect("sign")));
    let mut other_aud = claims(now + 60);
    other_aud["aud"] = json!("someone-else");
    forged.push(("wrong aud", key.sign(&other_aud).expect("sign")));
    let mut refresh_typ = claims(now + 60);
    refresh_typ["typ"] = json!("refresh");
    forged.push(("typ refresh", key.sign(&refresh_typ).expect("sign")));
    let mut no_typ = claims(now + 60);
    no_typ.as_object_mut().expect("obj").remove("typ");
    forged.push(("no typ", key.sign(&no_typ).expect("sign")));
    // Tampered payload: the real token's signature over another user's claims.
    let mut parts: Vec<String> = t.access.split('.').map(str::to_owned).collect();
    let mut tampered = claims(now + 60);
    tampered["sub"] = json!(format!("@admin:{}", api.node.name()));
    parts[1] = b64(tampered.to_string().as_bytes());
    forged.push(("tampered", parts.join(".")));
    // The refresh token used as an access token.
    forged.push(("refresh as access", t.refresh.clone()));
    forged.push(("garbage", "not.a.jwt".to_owned()));
    for (what, token) in forged {
        let (status, body) = api.sessions(&token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_eq!(body["code"], "unauthenticated", "{what}: {body}");
    }
    // Within the leeway an expired token still passes.
    let recent = key.sign(&claims(now - 2)).expect("sign");
    assert_eq!(api.sessions(&recent).await.0, StatusCode::OK);
    // No Authorization header at all.
    let r = api
        .client
        .get(api.url("/sessions"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    api.node.shutdown().await;
}

async fn reuse_of_a_rotated_refresh_token_revokes_the_session(backend: Backend) {
    let api = Api::start(backend).await;
    let t = api.register("bob").await;
    let (status, body) = api.refresh(&t.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access2 = body["access_token"].as_str().expect("a").to_owned();
    let refresh2 = body["refresh_token"].as_str().expect("r").to_owned();
    assert_eq!(api.sessions(&access2).await.0, StatusCode::OK);
    // Past the concurrent-refresh grace, the old token is a replay.
    tokio::time::sleep(winichat_node::auth::REUSE_GRACE + Duration::from_millis(200)).await;
    let (status, body) = api.refresh(&t.refresh).await;
    assert_unauthenticated(status, &body);
    // The whole session is revoked at once: its access token and its current refresh token.
    let (status, body) = api.sessions(&access2).await;
    assert_unauthenticated(status, &body);
    let (status, body) = api.refresh(&refresh2).await;
    assert_unauthenticated(status, &body);
    api.node.shutdown().await;
}

async fn parallel_refreshes_yield_one_pair(backend: Backend) {
    let api = Api::start(backend).await;
    let t = api.register("carol").await;
    let (a, b) = tokio::join!(api.refresh(&t.refresh), api.refresh(&t.refresh));
    let ok: Vec<&(StatusCode, Value)> = [&a, &b]
        .into_iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .collect();
    assert_eq!(ok.len(), 1, "{a:?} {b:?}");
    let loser = if a.0 == StatusCode::OK { &b } else { &a };
    assert_eq!(loser.0, StatusCode::CONFLICT, "{loser:?}");
    // The one new pair works.
    let access = ok[0].1["access_token"].as_str().expect("a").to_owned();
    let refresh = ok[0].1["refresh_token"].as_str().expect("r").to_owned();
    assert_eq!(api.sessions(&access).await.0, StatusCode::OK);
    assert_eq!(api.refresh(&refresh).await.0, StatusCode::OK);
    api.node.shutdown().await;
}

async fn password_change_revokes_the_other_sessions(backend: Backend) {
    let api = Api::start(backend).await;
    let one = api.register("dave").await;
    let two = api.login("dave", "phone").await;
    let new_password = "a much better password";
    // Wrong current password.
    let (status, body) = api
        .bearer(
            reqwest::Method::POST,
            "/password",
            &one.access,
            Some(json!({"current_password": "wrong password", "new_password": new_password})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // Too short.
    let (status, body) = api
        .bearer(
            reqwest::Method::POST,
            "/password",
            &one.access,
            Some(json!({"current_password": PASSWORD, "new_password": "short"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = api
        .bearer(
            reqwest::Method::POST,
            "/password",
            &one.access,
            Some(json!({"current_password": PASSWORD, "new_password": new_password})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // The other session is gone (access and refresh); this one stays.
    let (status, body) = api.sessions(&two.access).await;
    assert_unauthenticated(status, &body);
    let (status, body) = api.refresh(&two.refresh).await;
    assert_unauthenticated(status, &body);
    assert_eq!(api.sessions(&one.access).await.0, StatusCode::OK);
    // Old password refused, new one accepted.
    let (status, _, _) = api
        .post("/login", json!({"username": "dave", "password": PASSWORD}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = api
        .post(
            "/login",
            json!({"username": "dave", "password": new_password}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    api.node.shutdown().await;
}

async fn sessions_list_and_revoke(backend: Backend) {
    let api = Api::start(backend).await;
    let one = api.register("erin").await;
    let two = api.login("erin", "phone").await;
    let three = api.login("erin", "tablet").await;
    let other = api.register("frank").await;
    let (status, list) = api.sessions(&one.access).await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().expect("array").clone();
    assert_eq!(list.len(), 3);
    assert_eq!(
        list.iter().filter(|s| s["current"] == json!(true)).count(),
        1
    );
    assert!(list.iter().any(|s| s["device"] == "phone"));
    for s in &list {
        assert_eq!(s["id"].as_str().expect("id").len(), 22);
        assert!(s["created_at"].as_u64().is_some() && s["last_used_at"].as_u64().is_some());
    }
    let phone = list.iter().find(|s| s["device"] == "phone").expect("phone")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // Frank cannot revoke Erin's session.
    let (status, _) = api
        .bearer(
            reqwest::Method::DELETE,
            &format!("/sessions/{phone}"),
            &other.access,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(api.sessions(&two.access).await.0, StatusCode::OK);
    let (status, _) = api
        .bearer(
            reqwest::Method::DELETE,
            &format!("/sessions/{phone}"),
            &one.access,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_unauthenticated(
        api.sessions(&two.access).await.0,
        &json!({"code": "unauthenticated"}),
    );
    let (status, _) = api
        .bearer(
            reqwest::Method::POST,
            "/sessions/revoke-others",
            &one.access,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.sessions(&three.access).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, list) = api.sessions(&one.access).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().expect("array").len(), 1);
    assert_eq!(api.sessions(&other.access).await.0, StatusCode::OK);
    api.node.shutdown().await;
}

async fn registration_modes(backend: Backend) {
    // Closed.
    let api = Api::start_with(
        backend,
        AuthSettings {
            registration: RegistrationMode::Closed,
            ..AuthSettings::default()
        },
    )
    .await;
    let (status, body, _) = api
        .post(
            "/register",
            json!({"username": "gina", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "forbidden");
    // The operator can still create accounts, and they can log in.
    api.operator()
        .await
        .create_user("gina", PASSWORD, None, None)
        .await
        .expect("create");
    api.login("gina", "cli").await;
    api.node.shutdown().await;

    // Invite.
    let api = Api::start_with(
        backend,
        AuthSettings {
            registration: RegistrationMode::Invite,
            ..AuthSettings::default()
        },
    )
    .await;
    let (status, body, _) = api
        .post(
            "/register",
            json!({"username": "hank", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body, _) = api
        .post(
            "/register",
            json!({"username": "hank", "password": PASSWORD, "registration_token": "nope"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let token = api
        .operator()
        .await
        .create_registration_token(Some(1), Some(Duration::from_secs(3600)))
        .await
        .expect("token");
    let (status, body, _) = api
        .post(
            "/register",
            json!({"username": "hank", "password": PASSWORD, "registration_token": token}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Single use.
    let (status, body, _) = api
        .post(
            "/register",
            json!({"username": "ida", "password": PASSWORD, "registration_token": token}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    api.node.shutdown().await;

    // Open: validation of names and passwords, taken names.
    let api = Api::start(backend).await;
    for (body, want) in [
        (
            json!({"username": "Bad Name", "password": PASSWORD}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"username": "ab", "password": PASSWORD}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"username": "jack", "password": "short"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"username": "jack", "password": "x".repeat(1025)}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"username": "jack", "password": PASSWORD, "display_name": "x".repeat(65)}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"username": 5}), StatusCode::BAD_REQUEST),
        (
            json!({"username": "jack", "password": PASSWORD}),
            StatusCode::CREATED,
        ),
        (
            json!({"username": "jack", "password": PASSWORD}),
            StatusCode::CONFLICT,
        ),
    ] {
        let (status, answer, _) = api.post("/register", body.clone()).await;
        assert_eq!(status, want, "{body} → {answer}");
        if !status.is_success() {
            assert!(answer["code"].is_string() && answer["message"].is_string());
        }
    }
    api.node.shutdown().await;
}

async fn login_brute_force_is_throttled(backend: Backend) {
    let api = Api::start(backend).await;
    api.register("kate").await;
    let (s1, unknown, _) = api
        .post(
            "/login",
            json!({"username": "nobody", "password": "whatever1"}),
        )
        .await;
    let (s2, wrong, _) = api
        .post(
            "/login",
            json!({"username": "kate", "password": "whatever1"}),
        )
        .await;
    assert_eq!(s1, StatusCode::UNAUTHORIZED);
    assert_eq!(s2, StatusCode::UNAUTHORIZED);
    assert_eq!(
        unknown, wrong,
        "same answer for an unknown user and a wrong password"
    );
    assert_eq!(wrong["message"], "invalid user name or password");
    // Four more failures reach the limit (5); then even the right password is refused.
    for _ in 0..4 {
        let (s, _, _) = api
            .post(
                "/login",
                json!({"username": "kate", "password": "whatever1"}),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let r = api
        .client
        .post(api.url("/login"))
        .json(&json!({"username": "kate", "password": PASSWORD}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(retry >= 1);
    let (_, body, _) = answer(r).await;
    assert_eq!(body["code"], "rate_limited");
    // After the delay, the right password works again.
    tokio::time::sleep(Duration::from_secs(retry) + Duration::from_millis(100)).await;
    api.login("kate", "again").await;
    api.node.shutdown().await;
}

/// One login; the status, the `Retry-After` seconds if any, and the body.
async fn login_attempt(api: &Api, name: &str, password: &str) -> (StatusCode, Option<u64>, Value) {
    let r = api
        .client
        .post(api.url("/login"))
        .json(&json!({"username": name, "password": password}))
        .send()
        .await
        .expect("send");
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().expect("ascii").parse().expect("seconds"));
    let (status, body, _) = answer(r).await;
    (status, retry, body)
}

async fn concurrent_logins_are_throttled_before_the_password_is_checked(backend: Backend) {
    /// The free failures per user name (auth.md §4).
    const ALLOWANCE: usize = 5;
    let api = Api::start(backend).await;
    api.register("nina").await;
    // 30 wrong passwords at once, then — while those are still being checked — the right one
    // in the middle of 29 more wrong ones: 60 logins in flight together.
    let wrong = || login_attempt(&api, "nina", "not the password");
    let first = futures_util::future::join_all((0..30).map(|_| wrong()));
    let second = async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let right = login_attempt(&api, "nina", PASSWORD);
        let more = futures_util::future::join_all((0..29).map(|_| wrong()));
        tokio::join!(right, more)
    };
    let (first, (right, more)) = tokio::join!(first, second);
    let mut evaluated = 0;
    for (status, retry, body) in first.iter().chain(&more) {
        match *status {
            StatusCode::UNAUTHORIZED => evaluated += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(body["code"], "rate_limited", "{body}");
                assert!(retry.is_some_and(|s| s >= 1), "Retry-After: {retry:?}");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(
        evaluated <= ALLOWANCE,
        "{evaluated} wrong passwords were checked, the allowance is {ALLOWANCE}"
    );
    let (status, retry, body) = right;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the right password among throttled attempts: {body}"
    );
    assert!(retry.is_some_and(|s| s >= 1));
    // Once the lock has run out, the right password works.
    let wait = retry.unwrap_or(1);
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(100)).await;
        if login_attempt(&api, "nina", PASSWORD).await.0 == StatusCode::OK {
            api.node.shutdown().await;
            return;
        }
    }
    panic!("the right password never worked again");
}

async fn registrations_are_throttled_per_ip(backend: Backend) {
    let register = |api: &Api, name: String| {
        let body = json!({"username": name, "password": PASSWORD});
        let request = api.client.post(api.url("/register")).json(&body).send();
        async move {
            let r = request.await.expect("send");
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().expect("ascii").parse::<u64>().expect("seconds"));
            let (status, body, _) = answer(r).await;
            (status, retry, body)
        }
    };
    let limited = |per_hour| AuthSettings {
        registrations_per_ip_per_hour: per_hour,
        ..AuthSettings::default()
    };

    // Three per hour: of ten sent at once from one address, three accounts are made.
    let api = Api::start_with(backend, limited(3)).await;
    let answers =
        futures_util::future::join_all((0..10).map(|i| register(&api, format!("flood{i}")))).await;
    let created = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 3, "{answers:?}");
    for (status, retry, body) in &answers {
        if *status != StatusCode::CREATED {
            assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS, "{body}");
            assert_eq!(body["code"], "rate_limited");
            // The next account is allowed when a third of the hour has passed.
            assert!(
                retry.is_some_and(|s| (1..=1200).contains(&s)),
                "Retry-After: {retry:?}"
            );
        }
    }
    // Logging in is not affected. Which three were let through depends on arrival order.
    let first = answers
        .iter()
        .position(|(s, _, _)| *s == StatusCode::CREATED)
        .expect("one was created");
    api.login(&format!("flood{first}"), "after").await;
    api.node.shutdown().await;

    // A request refused by the checks of its fields is not counted; one for a taken name is
    // (it reaches the database, and may cost a password hash), so of N + 1 the last is 429.
    let api = Api::start_with(backend, limited(3)).await;
    api.operator()
        .await
        .create_user("taken", PASSWORD, None, None)
        .await
        .expect("the operator creates an account");
    for _ in 0..5 {
        let body = json!({"username": "fresh", "password": "short"});
        let (status, body, _) = api.post("/register", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    for _ in 0..3 {
        let (status, _, body) = register(&api, "taken".into()).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
    }
    let (status, retry, body) = register(&api, "taken".into()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(retry.is_some());
    api.node.shutdown().await;

    // A higher limit allows more.
    let api = Api::start_with(backend, limited(12)).await;
    for i in 0..12 {
        let (status, _, body) = register(&api, format!("many{i}")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, retry, _) = register(&api, "many12".into()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry.is_some());
    api.node.shutdown().await;
}

/// `X-Forwarded-For` names the client only when the TCP peer is a trusted proxy; otherwise
/// the peer (here 127.0.0.1) is the client, whatever the header says.
async fn forwarded_for_is_believed_only_from_a_trusted_proxy(backend: Backend) {
    async fn register(api: &Api, name: &str, forwarded_for: &str) -> StatusCode {
        let body = json!({"username": name, "password": PASSWORD});
        let r = api
            .client
            .post(api.url("/register"))
            .header("x-forwarded-for", forwarded_for)
            .json(&body)
            .send()
            .await
            .expect("send");
        answer(r).await.0
    }
    let start = |trusted: &'static [&'static str]| async move {
        let node = TestNode::start_with(backend, |c| {
            c.auth = AuthSettings {
                registrations_per_ip_per_hour: 2,
                ..AuthSettings::default()
            };
            c.connections.trusted_proxies = TrustedProxies::new(
                trusted
                    .iter()
                    .map(|p| p.parse().expect("a block"))
                    .collect(),
            );
        })
        .await;
        let client = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Api { node, client }
    };

    // Nothing trusted: three "clients" behind 127.0.0.1 share its allowance of two.
    let api = start(&[]).await;
    assert_eq!(
        register(&api, "xa1", "198.51.100.1").await,
        StatusCode::CREATED
    );
    assert_eq!(
        register(&api, "xa2", "198.51.100.2").await,
        StatusCode::CREATED
    );
    assert_eq!(
        register(&api, "xa3", "198.51.100.3").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the header of an untrusted peer is ignored"
    );
    api.node.shutdown().await;

    // 127.0.0.1 trusted: each forwarded client has its own allowance.
    let api = start(&["127.0.0.1"]).await;
    assert_eq!(
        register(&api, "xb1", "198.51.100.1").await,
        StatusCode::CREATED
    );
    assert_eq!(
        register(&api, "xb2", "198.51.100.1").await,
        StatusCode::CREATED
    );
    assert_eq!(
        register(&api, "xb3", "198.51.100.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // What the client wrote left of the proxy's entry is not believed.
    assert_eq!(
        register(&api, "xb4", "203.0.113.50, 198.51.100.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        register(&api, "xb5", "198.51.100.2").await,
        StatusCode::CREATED
    );
    // The addresses of one IPv6 /64 are one client.
    assert_eq!(
        register(&api, "xb6", "2001:db8:7:7::1").await,
        StatusCode::CREATED
    );
    assert_eq!(
        register(&api, "xb7", "2001:db8:7:7:aaaa::2").await,
        StatusCode::CREATED
    );
    assert_eq!(
        register(&api, "xb8", "2001:db8:7:7:bbbb::3").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    api.node.shutdown().await;
}

async fn profile_and_search(backend: Backend) {
    let api = Api::start(backend).await;
    api.register("liam").await;
    api.register("lily").await;
    let auth = api.operator().await;
    let liam = format!("@liam:{}", api.node.name()).parse().expect("id");
    let p = auth
        .update_profile(&liam, Some("Captain Liam".into()), Some("hi".into()))
        .await
        .expect("update");
    assert_eq!(
        (p.display_name.as_str(), p.bio.as_str()),
        ("Captain Liam", "hi")
    );
    assert_eq!(auth.profile(&liam).await.expect("profile"), p);
    let found: Vec<String> = auth
        .search("LI", None, 10)
        .await
        .expect("search")
        .into_iter()
        .map(|p| p.user.name().to_owned())
        .collect();
    assert_eq!(found, ["liam", "lily"]);
    let found = auth.search("capt", None, 10).await.expect("search");
    assert_eq!(found.len(), 1);
    assert!(
        auth.update_profile(&liam, None, Some("x".repeat(501)))
            .await
            .is_err()
    );
    api.node.shutdown().await;
}

/// Revocations are broadcast to subscribers (the gateway closes sockets on them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_are_broadcast() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = storage::open("sqlite", dir.path()).await.expect("open");
    let auth = Auth::new(
        db,
        "chat.example".parse().expect("name"),
        dir.path(),
        AuthSettings::default(),
    )
    .expect("auth");
    let mut rx = auth.subscribe_revocations();
    let a = auth
        .register("mona", PASSWORD, None, None, "test", None)
        .await
        .expect("register");
    let b = auth
        .login("mona", PASSWORD, "two", None)
        .await
        .expect("login");
    let c = auth
        .login("mona", PASSWORD, "three", None)
        .await
        .expect("login");
    let claims_a = auth.authenticate(&a.access_token).await.expect("auth");
    // Logout.
    auth.logout(&claims_a).await.expect("logout");
    let ev = rx.recv().await.expect("event");
    assert_eq!(
        (ev.user.clone(), ev.session.clone()),
        (a.user.clone(), a.session.clone())
    );
    assert!(auth.authenticate(&a.access_token).await.is_err());
    // Password change revokes the others.
    let claims_b = auth.authenticate(&b.access_token).await.expect("auth");
    auth.change_password(&claims_b, PASSWORD, "another password")
        .await
        .expect("change");
    let ev = rx.recv().await.expect("event");
    assert_eq!(ev.session, c.session);
    // Reuse detection.
    let rotated = auth.refresh(&b.refresh_token).await.expect("refresh");
    tokio::time::sleep(winichat_node::auth::REUSE_GRACE + Duration::from_millis(100)).await;
    assert!(auth.refresh(&b.refresh_token).await.is_err());
    let ev = rx.recv().await.expect("event");
    assert_eq!(ev.session, b.session);
    assert!(auth.authenticate(&rotated.access_token).await.is_err());
    assert!(rx.try_recv().is_err());
}

/// Display names and bios are shown text (protocol.md §2.1): registration and profile changes
/// refuse bidirectional overrides, zero-width and other invisible characters with
/// `400 bad_request`, and keep emoji sequences whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_refuse_invisible_and_direction_changing_characters() {
    let api = Api::start(Backend::Sqlite).await;
    for (n, name) in [
        "\u{202E}SYSTEM",
        "ad\u{200B}min",
        "ad\u{200D}min",
        "iso\u{2066}late",
        "\u{FEFF}bom",
        "tag\u{E0041}",
        "rlm\u{200F}",
    ]
    .into_iter()
    .enumerate()
    {
        let body =
            json!({"username": format!("spoof{n}"), "password": PASSWORD, "display_name": name});
        let (status, answer, _) = api.post("/register", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name:?} → {answer}");
        assert_eq!(answer["code"], "bad_request", "{answer}");
        let message = answer["message"].as_str().expect("message");
        assert!(message.contains("display name"), "{message}");
    }
    let family = "Dad 👨\u{200D}👩\u{200D}👧 🏳\u{FE0F}\u{200D}🌈";
    let (status, answer, _) = api
        .post(
            "/register",
            json!({"username": "dad", "password": PASSWORD, "display_name": family}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");

    let auth = api.operator().await;
    let dad = format!("@dad:{}", api.node.name()).parse().expect("id");
    for (display_name, bio) in [
        (Some("\u{202E}SYSTEM".to_owned()), None),
        (None, Some("see\u{2067}below".to_owned())),
        (None, Some("zero\u{200B}width".to_owned())),
    ] {
        let err = auth
            .update_profile(&dad, display_name.clone(), bio.clone())
            .await
            .expect_err("refused");
        assert_eq!(
            err.code(),
            winichat_protocol::error_code::ErrorCode::BadRequest,
            "{display_name:?} {bio:?}"
        );
    }
    let p = auth
        .update_profile(&dad, None, Some("line one\nline two ❤\u{FE0F}".into()))
        .await
        .expect("a bio on two lines with an emoji");
    assert_eq!(p.display_name, family);
    api.node.shutdown().await;
}
