//! Invite links across real nodes (issue "Federation in the product"): a user of B previews and
//! redeems, through B, a link of a private group of A, and the two then talk.

use std::time::Duration;

use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::gateway::chat::{self as api, method};
use winichat_protocol::group::Visibility;
use winichat_protocol::ids::NodeName;
use winichat_testkit::client::txn;
use winichat_testkit::cluster::{Cluster, ClusterSpec};
use winichat_testkit::node::Backend;
use winichat_testkit::users::{self, post};

const WAIT: Duration = Duration::from_secs(15);

fn preview(code: &str, node: &NodeName) -> api::CodeParams {
    api::CodeParams {
        code: code.to_owned(),
        node: Some(node.clone()),
    }
}

#[tokio::test]
async fn a_user_of_b_previews_and_redeems_a_link_of_a_private_group_of_a() {
    let cluster = Cluster::start(
        ClusterSpec::new([Backend::Postgres, Backend::Sqlite])
            .configure(users::unthrottled_gateway),
    )
    .await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let created: api::ChatSummary = alice
        .ok(
            method::GROUPS_CREATE,
            &api::GroupCreateParams {
                txn: txn(),
                name: "Back room".into(),
                description: "by invitation".into(),
                visibility: Visibility::Private,
                handle: None,
            },
        )
        .await;
    let group = created.group;
    post(&mut alice, &group, "welcome, whoever has the link").await;
    let link: api::LinkInfo = alice
        .ok(
            method::LINKS_CREATE,
            &api::LinkCreateParams {
                group: group.clone(),
                expires_in: None,
                max_uses: Some(1),
            },
        )
        .await;

    // B asks A what the link leads to; a wrong code is refused as on A itself.
    let shown: api::LinkPreview = bob
        .ok(method::LINKS_PREVIEW, &preview(&link.code, a.name()))
        .await;
    assert_eq!(shown.group, group);
    assert_eq!(shown.name, "Back room");
    assert_eq!(shown.members, 1);
    bob.err(
        method::LINKS_PREVIEW,
        &preview("no-such-code-at-all", a.name()),
        ErrorCode::NotFound,
    )
    .await;

    // He joins through B and reads the history from B's replica.
    let joined: api::ChatSummary = bob
        .ok(
            method::LINKS_REDEEM,
            &api::RedeemParams {
                txn: txn(),
                code: link.code.clone(),
                node: Some(a.name().clone()),
            },
        )
        .await;
    assert_eq!(joined.group, group);
    let history = users::latest_history(&mut bob, &group).await;
    assert!(
        history.items.iter().any(|i| i.kind.as_str() == "msg.post"),
        "{history:?}"
    );

    // The link had one use: it is spent on A for everyone.
    let mut carol = users::register(b, "carol").await;
    carol
        .err(
            method::LINKS_REDEEM,
            &api::RedeemParams {
                txn: txn(),
                code: link.code.clone(),
                node: Some(a.name().clone()),
            },
            ErrorCode::NotFound,
        )
        .await;

    // And they talk.
    let hello = post(&mut bob, &group, "thanks for the link").await;
    users::chat_events_through(&mut alice, &group, hello.seq, WAIT).await;
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_link_of_a_node_that_cannot_be_reached_is_unavailable() {
    let mut cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Sqlite]).configure(users::unthrottled_gateway),
    )
    .await;
    let mut bob = users::register(cluster.node(1), "bob").await;
    let a = cluster.name(0).clone();
    cluster.stop(0).await;
    bob.err(
        method::LINKS_PREVIEW,
        &preview("k7Qm2xVb9LpR4tZa", &a),
        ErrorCode::Unavailable,
    )
    .await;
    bob.err(
        method::LINKS_REDEEM,
        &api::RedeemParams {
            txn: txn(),
            code: "k7Qm2xVb9LpR4tZa".into(),
            node: Some(a),
        },
        ErrorCode::Unavailable,
    )
    .await;
    cluster.shutdown().await;
}
