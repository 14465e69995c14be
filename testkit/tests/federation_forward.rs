//! `msgs.forward` into a chat homed on another node, over real QUIC (spec/gateway.md §8.10,
//! spec/federation.md §5.6): bob on B forwards a message of a group of A into another group of
//! A (A reads the original itself), and a message with a photo of a group of B into a group of
//! A (B vouches for it, A fetches the photo under B's grant). The "forwarded from" is always
//! backed by the home of the original's log: an original of a third node is refused, a client
//! may not hand over the copy, and a node may only vouch for messages of the chats it homes.

use std::time::Duration;

use reqwest::StatusCode;
use winichat_node::federation::FedError;
use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::federation::methods::{SubmitParams, method as fed};
use winichat_protocol::gateway::chat::{
    self as api, ForwardOriginal, ForwardParams, MessageRef, method,
};
use winichat_protocol::gateway::{self};
use winichat_protocol::group::bodies::{Forwarded, MsgPost};
use winichat_protocol::ids::{GroupId, MediaId};
use winichat_protocol::media::{AttachmentInput, MediaUrlRequest, MediaUrls, MediaUrlsParams};
use winichat_testkit::client::{Client, txn};
use winichat_testkit::cluster::{Cluster, ClusterSpec};
use winichat_testkit::media_fixtures as fx;
use winichat_testkit::node::{Backend, TestNode};
use winichat_testkit::users::{self, public_group};

/// Bound on every wait.
const WAIT: Duration = Duration::from_secs(15);

winichat_testkit::on_both!(
    forward_between_two_groups_of_a_is_checked_by_a,
    forward_of_a_photo_from_a_group_of_b_is_vouched_by_b,
    forward_of_a_third_node_s_message_is_refused,
    only_the_home_of_the_original_s_chat_may_hand_over_its_copy,
);

// ---- helpers ----

async fn nodes(backend: Backend, count: usize) -> Cluster {
    Cluster::start(
        ClusterSpec::new(std::iter::repeat_n(backend, count)).configure(users::unthrottled_gateway),
    )
    .await
}

fn forward(group: &GroupId, from: &GroupId, seq: u64) -> ForwardParams {
    ForwardParams {
        txn: txn(),
        group: group.clone(),
        from: MessageRef {
            group: from.clone(),
            seq,
        },
        original: None,
    }
}

fn post_of(item: &api::TimelineItem) -> MsgPost {
    item.body.deserialized().expect("a msg.post body")
}

/// The item at `seq` of `group` as `client` reads it.
async fn item_at(client: &mut Client, group: &GroupId, seq: u64) -> api::TimelineItem {
    users::latest_history(client, group)
        .await
        .items
        .into_iter()
        .find(|i| i.seq == seq)
        .expect("the message in history")
}

async fn upload(node: &TestNode, token: &str, bytes: Vec<u8>) -> MediaId {
    let response = reqwest::Client::new()
        .post(format!("{}/api/media", node.http_url()))
        .bearer_auth(token)
        .body(bytes)
        .send()
        .await
        .expect("upload");
    assert!(response.status().is_success(), "{}", response.status());
    let body: serde_json::Value = response.json().await.expect("json");
    MediaId::parse(body["id"].as_str().expect("id")).expect("media id")
}

// ---- tests ----

/// Case 1: the original's chat and the target are both homed on A, which reads the original
/// in its own log and checks there that bob may read it.
async fn forward_between_two_groups_of_a_is_checked_by_a(backend: Backend) {
    let cluster = nodes(backend, 2).await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let source = public_group(&mut alice, "source").await;
    let target = public_group(&mut alice, "target").await;
    users::join_by_handle(&mut bob, &format!("#source:{}", a.name())).await;
    users::join_by_handle(&mut bob, &format!("#target:{}", a.name())).await;
    let original = users::post(&mut alice, &source, "worth sharing").await;
    // Bob's replica holds the original before he forwards it.
    users::eventually("the original reaches B", WAIT, async || {
        let page = users::latest_history(&mut bob, &source).await;
        page.items
            .iter()
            .any(|i| i.seq == original.seq)
            .then_some(())
    })
    .await;

    let written: api::WriteResult = bob
        .ok(
            method::MSGS_FORWARD,
            &forward(&target, &source, original.seq),
        )
        .await;
    assert_eq!(written.group, target);
    let pushed = users::chat_events_through(&mut alice, &target, written.seq, WAIT).await;
    let item = &pushed.last().expect("the forward").item;
    assert_eq!(&item.sender, bob.user(), "the forwarder posts it");
    let post = post_of(item);
    assert_eq!(post.text, "worth sharing");
    let ts = item_at(&mut alice, &source, original.seq).await.ts;
    assert_eq!(
        post.forwarded,
        Some(Forwarded {
            user: alice.user().clone(),
            group: Some(source.clone()),
            ts,
        }),
        "A names the author and the public chat"
    );
    // Bob reads it from B's replica as soon as his forward is answered.
    let on_b = item_at(&mut bob, &target, written.seq).await;
    assert_eq!(post_of(&on_b).forwarded, post.forwarded);

    // A retry with the same txn gets the first result.
    let again = forward(&target, &source, original.seq);
    let first: api::WriteResult = bob.ok(method::MSGS_FORWARD, &again).await;
    let retried: api::WriteResult = bob.ok(method::MSGS_FORWARD, &again).await;
    assert_eq!(first, retried);

    // A message bob may not read (a private group of A he is not in) stays unreadable.
    let private: api::ChatSummary = alice
        .ok(
            method::GROUPS_CREATE,
            &api::GroupCreateParams {
                txn: txn(),
                name: "secret".into(),
                description: String::new(),
                visibility: winichat_protocol::group::Visibility::Private,
                handle: None,
            },
        )
        .await;
    let secret = users::post(&mut alice, &private.group, "not for bob").await;
    bob.err(
        method::MSGS_FORWARD,
        &forward(&target, &private.group, secret.seq),
        ErrorCode::NotFound,
    )
    .await;
    cluster.shutdown().await;
}

/// Case 2: the original's chat is homed on B, bob's node: B reads it for bob and vouches for
/// it; A fetches carol's photo under B's grant and describes it from its copy.
async fn forward_of_a_photo_from_a_group_of_b_is_vouched_by_b(backend: Backend) {
    let cluster = nodes(backend, 2).await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let mut carol = users::register(b, "carol").await;
    let group = public_group(&mut alice, "forum").await;
    users::join_by_handle(&mut bob, &format!("#forum:{}", a.name())).await;
    let local = public_group(&mut carol, "local").await;
    users::join_group(&mut bob, &local).await;
    let bytes = fx::jpeg(320, 240);
    let photo = upload(b, &carol.account().token.clone(), bytes.clone()).await;
    let mut params = users::post_params(&local, "look at this");
    params.attachments = vec![AttachmentInput {
        media: photo.clone(),
        name: Some("view.jpg".into()),
        voice: false,
        waveform: None,
        duration_ms: None,
        poster: None,
    }];
    let original: api::WriteResult = carol.ok(method::MSGS_POST, &params).await;
    let original_item = item_at(&mut bob, &local, original.seq).await;

    let written: api::WriteResult = bob
        .ok(method::MSGS_FORWARD, &forward(&group, &local, original.seq))
        .await;
    let pushed = users::chat_events_through(&mut alice, &group, written.seq, WAIT).await;
    let item = &pushed.last().expect("the forward").item;
    assert_eq!(&item.sender, bob.user());
    let post = post_of(item);
    assert_eq!(post.text, "look at this");
    assert_eq!(
        post.forwarded,
        Some(Forwarded {
            user: carol.user().clone(),
            group: Some(local.clone()),
            ts: original_item.ts,
        }),
        "B's word for its own chat"
    );
    assert_eq!(post.attachments.len(), 1);
    let attached = &post.attachments[0];
    assert_eq!(attached.media, photo, "B's media, re-used");
    assert_eq!(attached.name.as_deref(), Some("view.jpg"));
    assert_eq!(attached.mime, "image/jpeg", "described from A's copy");
    assert_eq!(
        a.media().remote_fetches(),
        1,
        "A fetched it under B's grant"
    );

    // Alice gets A's URL for A's copy, with carol's bytes.
    let urls: MediaUrls = alice
        .ok(
            gateway::method::MEDIA_URLS,
            &MediaUrlsParams {
                items: vec![MediaUrlRequest {
                    media: photo.clone(),
                    thumb: None,
                }],
            },
        )
        .await;
    let url = urls.urls[0].as_deref().expect("a URL on A");
    let response = reqwest::Client::new()
        .get(format!("{}{url}", a.http_url()))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.expect("body").to_vec(), bytes);

    // Bob's replica shows the same forward.
    let on_b = item_at(&mut bob, &group, written.seq).await;
    assert_eq!(post_of(&on_b).forwarded, post.forwarded);
    cluster.shutdown().await;
}

/// Case 3: an original homed on C, forwarded by bob (B) into a group of A: neither A nor B
/// holds that chat's log, so B refuses without asking A.
async fn forward_of_a_third_node_s_message_is_refused(backend: Backend) {
    let cluster = nodes(backend, 3).await;
    let (a, b, c) = (cluster.node(0), cluster.node(1), cluster.node(2));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let mut dave = users::register(c, "dave").await;
    let group = public_group(&mut alice, "forum").await;
    users::join_by_handle(&mut bob, &format!("#forum:{}", a.name())).await;
    let elsewhere = public_group(&mut dave, "elsewhere").await;
    users::join_by_handle(&mut bob, &format!("#elsewhere:{}", c.name())).await;
    let original = users::post(&mut dave, &elsewhere, "from C").await;
    users::eventually("the original reaches B", WAIT, async || {
        let page = users::latest_history(&mut bob, &elsewhere).await;
        page.items
            .iter()
            .any(|i| i.seq == original.seq)
            .then_some(())
    })
    .await;

    let refused = bob
        .err(
            method::MSGS_FORWARD,
            &forward(&group, &elsewhere, original.seq),
            ErrorCode::BadRequest,
        )
        .await;
    assert!(refused.message.contains("vouch"), "{}", refused.message);
    let latest = users::latest_history(&mut alice, &group).await;
    assert!(
        latest
            .items
            .iter()
            .all(|i| post_of_opt(i).is_none_or(|p| p.forwarded.is_none())),
        "nothing forwarded in A's group"
    );
    cluster.shutdown().await;
}

fn post_of_opt(item: &api::TimelineItem) -> Option<MsgPost> {
    item.body.deserialized().ok()
}

/// The copy (`original`) comes only from the home of the original's chat: a gateway client
/// sending it gets `bad_request`, and a node vouching for a chat of another node `forbidden`.
async fn only_the_home_of_the_original_s_chat_may_hand_over_its_copy(backend: Backend) {
    let cluster = nodes(backend, 2).await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let group = public_group(&mut alice, "forum").await;
    let other = public_group(&mut alice, "other").await;
    users::join_by_handle(&mut bob, &format!("#forum:{}", a.name())).await;
    users::join_by_handle(&mut bob, &format!("#other:{}", a.name())).await;
    let real = users::post(&mut alice, &other, "what alice said").await;
    let forged = ForwardOriginal {
        text: "words alice never wrote".into(),
        attachments: Vec::new(),
        forwarded: Forwarded {
            user: alice.user().clone(),
            group: Some(other.clone()),
            ts: winichat_protocol::Timestamp(1),
        },
    };
    let with_copy = || ForwardParams {
        original: Some(forged.clone()),
        ..forward(&group, &other, real.seq)
    };

    // Clients: bob into a group of A (through B), alice into her own node's group.
    let params = with_copy();
    bob.err(method::MSGS_FORWARD, &params, ErrorCode::BadRequest)
        .await;
    let params = with_copy();
    alice
        .err(method::MSGS_FORWARD, &params, ErrorCode::BadRequest)
        .await;

    // B, speaking for bob, vouching for a message of a chat of A: A refuses.
    let submit = SubmitParams {
        user: bob.user().clone(),
        method: method::MSGS_FORWARD.to_owned(),
        params: gateway::to_value(&with_copy()).expect("params"),
    };
    let answer = b
        .federation()
        .client()
        .request(
            a.name(),
            fed::SUBMIT,
            gateway::to_value(&submit).expect("submit"),
        )
        .await;
    assert!(
        matches!(&answer, Err(FedError::Refused { error, .. }) if error.code == ErrorCode::Forbidden),
        "{answer:?}"
    );
    let latest = users::latest_history(&mut alice, &group).await;
    assert!(
        latest
            .items
            .iter()
            .all(|i| post_of_opt(i).is_none_or(|p| p.text != "words alice never wrote")),
        "nothing forged in A's group"
    );
    cluster.shutdown().await;
}
