//! The admin HTTP API (`/api/admin/…`, spec/admin.md) against real nodes, on SQLite and
//! PostgreSQL: every action acts (sockets closed, logins refused, tombstones, purge, quota,
//! registration tokens, live deny), and every route is refused without a token (401) and for
//! an account without the admin flag (403). Deleting a user also reaches the groups homed on
//! another node of a two-node cluster, and survives that node being down.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::time::timeout;
use winichat_node::admin::operator;
use winichat_node::auth::{AuthSettings, RegistrationMode};
use winichat_node::federation::{Discovery, FedError, PinnedPeer};
use winichat_protocol::event::EventKind;
use winichat_protocol::federation::methods::method as fed_method;
use winichat_protocol::gateway::chat::{self as api, method};
use winichat_protocol::ids::{GroupId, UserId};
use winichat_testkit::client::{Account, Client, txn};
use winichat_testkit::cluster::{Cluster, ClusterSpec};
use winichat_testkit::node::{Backend, TestNode};
use winichat_testkit::users::{self, chat_events_through, latest_history, post, public_group};

winichat_testkit::on_both!(
    every_route_needs_an_admin,
    disabling_closes_sockets_and_refuses_login_until_enabled,
    deleting_a_user_leaves_tombstones_and_hands_over_their_groups,
    purging_a_group_removes_it_for_its_members,
    a_quota_change_is_enforced_on_the_next_upload,
    registration_tokens_and_password_reset,
    users_and_groups_are_listed_with_their_sizes,
    a_deny_applies_to_the_peers_next_request,
);

const PASSWORD: &str = "correct horse battery";
/// Bound on every wait for the network or a push.
const WAIT: Duration = Duration::from_secs(20);

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(WAIT)
        .build()
        .expect("client")
}

/// Calls the admin API of `node`: `(status, JSON body or Null)`.
async fn call(
    node: &TestNode,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = http().request(method, format!("{}{path}", node.http_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("admin request");
    let status = response.status();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The operator token the node wrote into its data directory.
fn operator_token(node: &TestNode) -> String {
    operator::read(node.data_dir())
        .expect("the node wrote admin-api.json")
        .token
}

/// Registers `name` and gives them the admin flag with the operator token; returns their
/// access token.
async fn admin_account(node: &TestNode, name: &str) -> String {
    let account = Account::register(node, name).await;
    let (status, body) = call(
        node,
        Method::PUT,
        &format!("/api/admin/users/{name}/admin"),
        Some(&operator_token(node)),
        Some(json!({"admin": true})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    account.token
}

async fn login(node: &TestNode, name: &str, password: &str) -> (StatusCode, Value) {
    let response = http()
        .post(format!("{}/api/auth/login", node.http_url()))
        .json(&json!({"username": name, "password": password}))
        .send()
        .await
        .expect("login request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Waits (bounded) until the node closes `client`'s socket; returns the close code.
async fn closed(client: &mut Client) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + WAIT;
    while client.closed().is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the socket of {} is still open",
            client.user()
        );
        let _ = client
            .try_next_push("none.such", Duration::from_millis(100))
            .await;
    }
    client.closed().flatten()
}

async fn group_of(owner: &mut Client, name: &str) -> GroupId {
    let created: api::ChatSummary = owner
        .ok(
            method::GROUPS_CREATE,
            &api::GroupCreateParams {
                txn: txn(),
                name: name.into(),
                description: String::new(),
                visibility: winichat_protocol::group::Visibility::Private,
                handle: None,
            },
        )
        .await;
    created.group
}

async fn invite_and_join(owner: &mut Client, member: &mut Client, group: &GroupId) {
    let _: api::WriteResult = owner
        .ok(
            method::INVITES_SEND,
            &api::TargetParams {
                txn: txn(),
                group: group.clone(),
                user: member.user().clone(),
            },
        )
        .await;
    let _: api::ChatSummary = member
        .ok(
            method::INVITES_ACCEPT,
            &api::TxnGroupParams {
                txn: txn(),
                group: group.clone(),
            },
        )
        .await;
}

async fn every_route_needs_an_admin(backend: Backend) {
    let node = TestNode::start(backend).await;
    let plain = Account::register(&node, "plain").await;
    let routes: [(Method, &str, Option<Value>); 14] = [
        (Method::GET, "/api/admin/users", None),
        (Method::GET, "/api/admin/users/plain", None),
        (Method::POST, "/api/admin/users/plain/disable", None),
        (Method::POST, "/api/admin/users/plain/enable", None),
        (Method::DELETE, "/api/admin/users/plain", None),
        (
            Method::POST,
            "/api/admin/users/plain/password",
            Some(json!({})),
        ),
        (
            Method::PUT,
            "/api/admin/users/plain/admin",
            Some(json!({"admin": true})),
        ),
        (
            Method::PUT,
            "/api/admin/users/plain/quota",
            Some(json!({"quota_bytes": 1})),
        ),
        (Method::GET, "/api/admin/groups", None),
        (
            Method::DELETE,
            "/api/admin/groups/%21nope%3Aa.example",
            None,
        ),
        (
            Method::POST,
            "/api/admin/registration-tokens",
            Some(json!({})),
        ),
        (Method::GET, "/api/admin/federation", None),
        (
            Method::PUT,
            "/api/admin/federation/b.example",
            Some(json!({"list": "deny"})),
        ),
        (Method::DELETE, "/api/admin/federation/b.example", None),
    ];
    for (verb, path, body) in routes {
        let (status, answer) = call(&node, verb.clone(), path, None, body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{verb} {path}: {answer}");
        assert_eq!(answer["code"], "unauthenticated", "{verb} {path}");
        let (status, answer) =
            call(&node, verb.clone(), path, Some("not.a.token"), body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{verb} {path}: {answer}");
        let (status, answer) = call(&node, verb.clone(), path, Some(&plain.token), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{verb} {path}: {answer}");
        assert_eq!(answer["code"], "forbidden", "{verb} {path}");
    }
    // Nothing was done by the refused calls.
    let (status, _) = login(&node, "plain", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "the plain account is untouched");

    // An admin whose flag is taken (by the operator) is refused from then on.
    let boss = admin_account(&node, "boss").await;
    let (status, _) = call(&node, Method::GET, "/api/admin/users", Some(&boss), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(
        &node,
        Method::PUT,
        "/api/admin/users/boss/admin",
        Some(&boss),
        Some(json!({"admin": false})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "no locking oneself out: {body}"
    );
    let (status, _) = call(
        &node,
        Method::PUT,
        "/api/admin/users/boss/admin",
        Some(&operator_token(&node)),
        Some(json!({"admin": false})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&node, Method::GET, "/api/admin/users", Some(&boss), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    node.shutdown().await;
}

async fn disabling_closes_sockets_and_refuses_login_until_enabled(backend: Backend) {
    let node = TestNode::start(backend).await;
    let admin = admin_account(&node, "boss").await;
    let mut carol = users::register(&node, "carol").await;
    let refresh_before = {
        let response = http()
            .post(format!("{}/api/auth/login", node.http_url()))
            .json(&json!({"username": "carol", "password": PASSWORD}))
            .send()
            .await
            .expect("login");
        assert_eq!(response.status(), StatusCode::OK);
        // Login hands the refresh token over in its cookie only.
        let cookie = response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .expect("a refresh cookie");
        cookie
            .split(';')
            .next()
            .and_then(|pair| pair.strip_prefix("winichat_refresh="))
            .expect("the refresh token")
            .to_owned()
    };

    let (status, body) = call(
        &node,
        Method::POST,
        "/api/admin/users/carol/disable",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["sessions_revoked"].as_u64().expect("count") >= 2,
        "{body}"
    );
    closed(&mut carol).await;

    let (status, body) = login(&node, "carol", PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["message"], "this account is disabled");
    let (status, _) = login(&node, "carol", "wrong password here").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a wrong password says nothing more"
    );
    let response = http()
        .post(format!("{}/api/auth/refresh", node.http_url()))
        .json(&json!({"refresh_token": refresh_before}))
        .send()
        .await
        .expect("refresh");
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "refresh refused"
    );
    let (_, listed) = call(
        &node,
        Method::GET,
        "/api/admin/users/carol",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(listed["disabled"], true, "{listed}");

    let (status, _) = call(
        &node,
        Method::POST,
        "/api/admin/users/carol/enable",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = login(&node, "carol", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "enabled again: {body}");
    let (status, _) = call(
        &node,
        Method::POST,
        "/api/admin/users/nobody/disable",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    node.shutdown().await;
}

async fn deleting_a_user_leaves_tombstones_and_hands_over_their_groups(backend: Backend) {
    let node = TestNode::start_with(backend, users::unthrottled_gateway).await;
    let admin = admin_account(&node, "boss").await;
    let mut dave = users::register(&node, "dave").await;
    let mut erin = users::register(&node, "erin").await;
    // A group dave owns with erin in it, a group dave owns alone, a direct chat.
    let shared = group_of(&mut dave, "Shared").await;
    invite_and_join(&mut dave, &mut erin, &shared).await;
    post(&mut dave, &shared, "first from dave").await;
    post(&mut erin, &shared, "from erin").await;
    post(&mut dave, &shared, "second from dave").await;
    let alone = group_of(&mut dave, "Alone").await;
    post(&mut dave, &alone, "talking to myself").await;
    let dm: api::ChatSummary = dave
        .ok(
            method::DM_OPEN,
            &api::DmOpenParams {
                user: erin.user().clone(),
            },
        )
        .await;
    post(&mut dave, &dm.group, "hello erin").await;

    let (status, body) = call(
        &node,
        Method::DELETE,
        "/api/admin/users/dave",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["messages_deleted"], 4, "{body}");
    assert_eq!(body["groups_transferred"], 1, "{body}");
    assert_eq!(body["groups_left"], 1, "{body}");
    assert_eq!(body["groups_deleted"], 1, "{body}");
    assert_eq!(body["direct_chats"], 1, "{body}");
    closed(&mut dave).await;

    // Erin sees dave's messages as tombstones, hers intact, and owns the group now.
    let history = latest_history(&mut erin, &shared).await;
    let messages: Vec<_> = history
        .items
        .iter()
        .filter(|i| i.kind == EventKind::MsgPost)
        .collect();
    assert_eq!(messages.len(), 3);
    for item in &messages {
        let from_dave = item.sender.name() == "dave";
        assert_eq!(item.deleted, from_dave, "{item:?}");
    }
    let dm_history = latest_history(&mut erin, &dm.group).await;
    assert!(
        dm_history
            .items
            .iter()
            .filter(|i| i.kind == EventKind::MsgPost)
            .all(|i| i.deleted),
        "the direct chat's message is a tombstone"
    );
    /// The part of `chats.get`'s result this test reads.
    #[derive(serde::Deserialize)]
    struct Detail {
        chat: api::ChatSummary,
    }
    let Detail { chat: summary } = erin
        .ok(
            method::CHATS_GET,
            &api::GroupParams {
                group: shared.clone(),
            },
        )
        .await;
    assert_eq!(summary.owner, *erin.user());
    assert_eq!(summary.members, 1);

    // The account is a tombstone: no login, the name is not free again.
    let (status, _) = login(&node, "dave", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let response = http()
        .post(format!("{}/api/auth/register", node.http_url()))
        .json(&json!({"username": "dave", "password": PASSWORD}))
        .send()
        .await
        .expect("register");
    assert_eq!(
        response.status(),
        StatusCode::CONFLICT,
        "the name stays taken"
    );
    let (_, listed) = call(
        &node,
        Method::GET,
        "/api/admin/users/dave",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(listed["deleted"], true, "{listed}");
    let (status, _) = call(
        &node,
        Method::DELETE,
        "/api/admin/users/dave",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "deleted once");
    node.shutdown().await;
}

async fn purging_a_group_removes_it_for_its_members(backend: Backend) {
    let node = TestNode::start_with(backend, users::unthrottled_gateway).await;
    let admin = admin_account(&node, "boss").await;
    let mut frank = users::register(&node, "frank").await;
    let mut gina = users::register(&node, "gina").await;
    let group = group_of(&mut frank, "Doomed").await;
    invite_and_join(&mut frank, &mut gina, &group).await;
    let last = post(&mut frank, &group, "soon gone").await;
    chat_events_through(&mut gina, &group, last.seq, WAIT).await;

    let path = format!("/api/admin/groups/{}", urlencode(group.as_str()));
    let (status, body) = call(&node, Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let pushed = chat_events_through(&mut gina, &group, last.seq + 1, WAIT).await;
    assert_eq!(
        pushed.last().map(|p| p.item.kind.clone()),
        Some(EventKind::GroupDelete),
        "gina is told the group is gone"
    );
    let list: api::ChatList = gina
        .ok(method::CHATS_LIST, &api::ChatsListParams::default())
        .await;
    assert!(
        list.chats.iter().all(|c| c.group != group),
        "gone from gina's chats"
    );
    // Its messages are gone for her: the chat refuses her reads.
    let refused: Result<api::HistoryResult, _> = gina
        .call_as(method::MSGS_HISTORY, &users::history_params(&group, None))
        .await;
    assert!(refused.is_err(), "history of a purged group: {refused:?}");
    let (_, groups) = call(&node, Method::GET, "/api/admin/groups", Some(&admin), None).await;
    let listed = groups["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["id"] == group.as_str())
        .expect("still listed")
        .clone();
    assert_eq!(listed["deleted"], true, "{listed}");
    assert_eq!(listed["members"], 0, "{listed}");
    // Purging again is fine (it is deleted already); a direct chat cannot be purged.
    let (status, _) = call(&node, Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let dm: api::ChatSummary = frank
        .ok(
            method::DM_OPEN,
            &api::DmOpenParams {
                user: gina.user().clone(),
            },
        )
        .await;
    let dm_path = format!("/api/admin/groups/{}", urlencode(dm.group.as_str()));
    let (status, _) = call(&node, Method::DELETE, &dm_path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    node.shutdown().await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn upload(node: &TestNode, token: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    let response = http()
        .post(format!("{}/api/media", node.http_url()))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .expect("upload");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn a_quota_change_is_enforced_on_the_next_upload(backend: Backend) {
    let node = TestNode::start(backend).await;
    let admin = admin_account(&node, "boss").await;
    let hana = Account::register(&node, "hana").await;
    let (status, body) = upload(&node, &hana.token, vec![7u8; 3000]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, _) = call(
        &node,
        Method::PUT,
        "/api/admin/users/hana/quota",
        Some(&admin),
        Some(json!({"quota_bytes": 4000})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, listed) = call(
        &node,
        Method::GET,
        "/api/admin/users/hana",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(listed["quota_bytes"], 4000, "{listed}");
    assert_eq!(listed["quota_custom"], true, "{listed}");
    assert_eq!(listed["media_bytes"], 3000, "{listed}");
    let (status, body) = upload(&node, &hana.token, vec![8u8; 2000]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "over the new quota: {body}");
    assert_eq!(body["code"], "quota_exceeded");

    let (status, _) = call(
        &node,
        Method::PUT,
        "/api/admin/users/hana/quota",
        Some(&admin),
        Some(json!({"quota_bytes": null})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = upload(&node, &hana.token, vec![8u8; 2000]).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the default quota again: {body}"
    );
    node.shutdown().await;
}

async fn registration_tokens_and_password_reset(backend: Backend) {
    let node = TestNode::start_with(backend, |c| {
        c.auth = AuthSettings {
            registration: RegistrationMode::Invite,
            ..AuthSettings::default()
        };
    })
    .await;
    let operator = operator_token(&node);
    let (status, body) = call(
        &node,
        Method::POST,
        "/api/admin/registration-tokens",
        Some(&operator),
        Some(json!({"uses": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["token"].as_str().expect("token").to_owned();
    let register = |name: &'static str, token: Option<String>| {
        let url = format!("{}/api/auth/register", node.http_url());
        async move {
            http()
                .post(url)
                .json(&json!({"username": name, "password": PASSWORD, "registration_token": token}))
                .send()
                .await
                .expect("register")
                .status()
        }
    };
    assert_eq!(
        register("ivan", Some(token.clone())).await,
        StatusCode::CREATED
    );
    assert_eq!(
        register("judy", Some(token)).await,
        StatusCode::FORBIDDEN,
        "a one-use token is used up"
    );
    let (status, _) = call(
        &node,
        Method::POST,
        "/api/admin/registration-tokens",
        Some(&operator),
        Some(json!({"uses": 0})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A reset makes a new password, ends the sessions, and the old password stops working.
    let mut ivan = users::log_in(&node, "ivan").await;
    let (status, body) = call(
        &node,
        Method::POST,
        "/api/admin/users/ivan/password",
        Some(&operator),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let generated = body["password"].as_str().expect("generated").to_owned();
    closed(&mut ivan).await;
    assert_eq!(
        login(&node, "ivan", PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login(&node, "ivan", &generated).await.0, StatusCode::OK);
    let (status, body) = call(
        &node,
        Method::POST,
        "/api/admin/users/ivan/password",
        Some(&operator),
        Some(json!({"password": "a chosen new password"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.get("password").is_none(),
        "a given password is not echoed"
    );
    assert_eq!(
        login(&node, "ivan", "a chosen new password").await.0,
        StatusCode::OK
    );
    let (status, _) = call(
        &node,
        Method::POST,
        "/api/admin/users/ivan/password",
        Some(&operator),
        Some(json!({"password": "short"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the password rules hold");
    node.shutdown().await;
}

async fn users_and_groups_are_listed_with_their_sizes(backend: Backend) {
    let node = TestNode::start_with(backend, users::unthrottled_gateway).await;
    let admin = admin_account(&node, "boss").await;
    let mut kim = users::register(&node, "kim").await;
    for name in ["kate", "karl", "lena"] {
        Account::register(&node, name).await;
    }
    let (_, page) = call(
        &node,
        Method::GET,
        "/api/admin/users?q=k&limit=2",
        Some(&admin),
        None,
    )
    .await;
    let names: Vec<&str> = page["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["id"].as_str().expect("id"))
        .collect();
    assert_eq!(names.len(), 2, "{page}");
    assert!(
        names[0].starts_with("@karl:") && names[1].starts_with("@kate:"),
        "{page}"
    );
    assert_eq!(page["next"], "kate");
    let (_, rest) = call(
        &node,
        Method::GET,
        "/api/admin/users?q=k&limit=2&after=kate",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(rest["users"].as_array().map(Vec::len), Some(1), "{rest}");
    assert!(rest.get("next").is_none(), "{rest}");
    let (_, boss) = call(
        &node,
        Method::GET,
        "/api/admin/users/boss",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(boss["admin"], true, "{boss}");

    let group = group_of(&mut kim, "Sized").await;
    post(&mut kim, &group, "some text").await;
    let (_, groups) = call(&node, Method::GET, "/api/admin/groups", Some(&admin), None).await;
    let listed = groups["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["id"] == group.as_str())
        .expect("listed")
        .clone();
    assert_eq!(listed["members"], 1, "{listed}");
    assert_eq!(listed["events"], 2, "{listed}");
    assert!(listed["bytes"].as_u64().expect("bytes") > 100, "{listed}");
    assert_eq!(listed["local"], true, "{listed}");
    let (status, _) = call(
        &node,
        Method::GET,
        "/api/admin/groups?after=not-a-group",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    node.shutdown().await;
}

async fn federating_node(backend: Backend) -> TestNode {
    timeout(
        WAIT,
        TestNode::start_with(backend, |config| {
            config.federation.discovery = Discovery::Pinned;
            config.federation.request_timeout = Duration::from_secs(5);
        }),
    )
    .await
    .expect("node starts in time")
}

fn pin(from: &TestNode, to: &TestNode) {
    from.federation().peers().pin(PinnedPeer {
        name: to.name().clone(),
        quic: to.quic_addr(),
        key: to.public_key().to_bytes(),
    });
}

async fn hello(from: &TestNode, to: &TestNode) -> Result<(), FedError> {
    timeout(
        WAIT,
        from.federation().client().request(
            to.name(),
            fed_method::HELLO,
            winichat_node::federation::hello::hello_params(),
        ),
    )
    .await
    .expect("an answer or an error in time")
    .map(|_| ())
}

async fn a_deny_applies_to_the_peers_next_request(backend: Backend) {
    let a = federating_node(backend).await;
    let b = federating_node(Backend::Sqlite).await;
    pin(&a, &b);
    pin(&b, &a);
    hello(&b, &a).await.expect("b reaches a before the deny");

    let operator = operator_token(&a);
    let path = format!("/api/admin/federation/{}", urlencode(b.name().as_str()));
    let (status, lists) = call(
        &a,
        Method::PUT,
        &path,
        Some(&operator),
        Some(json!({"list": "deny"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{lists}");
    assert_eq!(
        lists["deny"],
        json!([{"node": b.name().as_str(), "configured": false}])
    );
    hello(&b, &a)
        .await
        .expect_err("b's next request is refused, without a restart");
    let (status, _) = call(
        &a,
        Method::PUT,
        &path,
        Some(&operator),
        Some(json!({"list": "maybe"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, lists) = call(&a, Method::DELETE, &path, Some(&operator), None).await;
    assert_eq!(status, StatusCode::OK, "{lists}");
    assert_eq!(lists["deny"], json!([]));
    users::eventually("b reaches a again", WAIT, async || hello(&b, &a).await.ok()).await;

    a.shutdown().await;
    b.shutdown().await;
}

// Deleting a user of B who is in chats homed on A: the deletions and the leave reach A.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_user_reaches_groups_of_another_node_sqlite() {
    deleting_a_user_reaches_groups_of_another_node(Backend::Sqlite, Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_user_reaches_groups_of_another_node_postgres() {
    deleting_a_user_reaches_groups_of_another_node(Backend::Sqlite, Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_user_with_the_home_down_counts_its_groups_unreachable() {
    let mut cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Sqlite]).configure(users::unthrottled_gateway),
    )
    .await;
    let mut alice = users::register(cluster.node(0), "alice").await;
    let mut bob = users::register(cluster.node(1), "bob").await;
    let group = public_group(&mut alice, "faraway").await;
    users::join_group(&mut bob, &group).await;
    post(&mut bob, &group, "bob in a far group").await;
    let dm = open_direct(&mut alice, bob.user()).await;
    post(&mut bob, &dm, "bob to alice").await;
    drop(alice);
    cluster.stop(0).await;

    let b = cluster.node(1);
    let (status, body) = timeout(
        WAIT,
        call(
            b,
            Method::DELETE,
            "/api/admin/users/bob",
            Some(&operator_token(b)),
            None,
        ),
    )
    .await
    .expect("the deletion does not wait on the down home");
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["remote_groups"], 2, "{body}");
    assert_eq!(body["remote_groups_unreachable"], 2, "{body}");
    assert_eq!(
        body["direct_chats"], 1,
        "the direct chat is kept all the same: {body}"
    );
    assert_eq!(body["remote_groups_left"], 0, "{body}");
    assert_eq!(body["messages_deleted"], 0, "{body}");
    closed(&mut bob).await;
    let (_, listed) = call(
        b,
        Method::GET,
        "/api/admin/users/bob",
        Some(&operator_token(b)),
        None,
    )
    .await;
    assert_eq!(
        listed["deleted"], true,
        "the account is deleted all the same: {listed}"
    );
    cluster.shutdown().await;
}

async fn open_direct(client: &mut Client, peer: &UserId) -> GroupId {
    let opened: api::ChatSummary = client
        .ok(method::DM_OPEN, &api::DmOpenParams { user: peer.clone() })
        .await;
    opened.group
}

/// The `msg.post` items of `history` sent by `sender`, as `(seq, deleted)`.
fn posts_by(history: &api::HistoryResult, sender: &UserId) -> Vec<(u64, bool)> {
    history
        .items
        .iter()
        .filter(|i| i.kind == EventKind::MsgPost && &i.sender == sender)
        .map(|i| (i.seq, i.deleted))
        .collect()
}

async fn deleting_a_user_reaches_groups_of_another_node(home: Backend, member: Backend) {
    let cluster =
        Cluster::start(ClusterSpec::new([home, member]).configure(users::unthrottled_gateway))
            .await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let bob_id = bob.user().clone();
    // A public group of A bob joined and posted in, with one of alice's messages between his.
    let group = public_group(&mut alice, "elsewhere").await;
    users::join_group(&mut bob, &group).await;
    post(&mut bob, &group, "one").await;
    post(&mut alice, &group, "alice stays").await;
    post(&mut bob, &group, "two").await;
    post(&mut bob, &group, "three").await;
    // A direct chat homed on A (alice opened it) with two messages of bob.
    let dm = open_direct(&mut alice, &bob_id).await;
    assert_eq!(dm.home(), a.name(), "the opener's node is the home");
    post(&mut bob, &dm, "hi alice").await;
    let last = post(&mut bob, &dm, "bye alice").await;
    chat_events_through(&mut alice, &dm, last.seq, WAIT).await;

    let (status, body) = call(
        b,
        Method::DELETE,
        "/api/admin/users/bob",
        Some(&operator_token(b)),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["messages_deleted"], 5, "{body}");
    assert_eq!(body["remote_groups"], 2, "{body}");
    assert_eq!(body["remote_groups_left"], 1, "{body}");
    assert_eq!(body["remote_groups_unreachable"], 0, "{body}");
    assert_eq!(body["remote_groups_owned"], 0, "{body}");
    assert_eq!(body["direct_chats"], 1, "{body}");
    assert_eq!(body["groups_left"], 0, "{body}");
    closed(&mut bob).await;

    // At the home, alice sees bob's messages as tombstones, hers intact, and bob gone.
    let history = latest_history(&mut alice, &group).await;
    let bobs = posts_by(&history, &bob_id);
    assert_eq!(bobs.len(), 3, "{history:?}");
    assert!(bobs.iter().all(|&(_, deleted)| deleted), "{bobs:?}");
    let alices = posts_by(&history, alice.user());
    assert_eq!(alices.len(), 1);
    assert!(!alices[0].1, "alice's message stays");
    assert!(
        history
            .items
            .iter()
            .any(|i| i.kind == EventKind::MemberLeave && i.sender == bob_id),
        "bob left: {history:?}"
    );
    #[derive(serde::Deserialize)]
    struct Detail {
        chat: api::ChatSummary,
    }
    let Detail { chat: summary } = alice
        .ok(
            method::CHATS_GET,
            &api::GroupParams {
                group: group.clone(),
            },
        )
        .await;
    assert_eq!(summary.members, 1, "only alice is left");

    // The direct chat stays, with bob's messages as tombstones.
    let dm_history = latest_history(&mut alice, &dm).await;
    let bobs = posts_by(&dm_history, &bob_id);
    assert_eq!(bobs.len(), 2, "{dm_history:?}");
    assert!(bobs.iter().all(|&(_, deleted)| deleted), "{bobs:?}");
    let list: api::ChatList = alice
        .ok(method::CHATS_LIST, &api::ChatsListParams::default())
        .await;
    assert!(
        list.chats.iter().any(|c| c.group == dm),
        "the direct chat stays"
    );
    cluster.shutdown().await;
}
