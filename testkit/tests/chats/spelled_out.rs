//! What the spec spells out for an implementer and the node does: mention order and
//! duplicates, `users.search` limits, `msgs.seen_by` on a seq that is not a message.

use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::gateway::chat::{self as api, method};
use winichat_protocol::gateway::{SearchParams, SearchResult};
use winichat_protocol::group::Visibility;
use winichat_protocol::ids::UserId;
use winichat_testkit::node::Backend;

use crate::common::{Chat, field, history, post_params, start, users};

on_both!(mentions_limits_and_seen_by_as_spelled_out);

async fn mentions_limits_and_seen_by_as_spelled_out(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob, mut carol] = users(&node, ["alice", "bob", "carol"]).await;
    let group = alice
        .create_group("Spelled out", Visibility::Private, None)
        .await
        .group;
    alice.invite_and_join(&group, &mut bob).await;
    alice.invite_and_join(&group, &mut carol).await;

    // gateway.md §8.4: mentions are written sorted by their text form, each once.
    let (b, c) = (bob.user().clone(), carol.user().clone());
    let post = api::PostParams {
        mentions: vec![c.clone(), b.clone(), c.clone()],
        ..post_params(&group, "hi both")
    };
    let written: api::WriteResult = alice.ok(method::MSGS_POST, &post).await;
    let items = alice.history(history(&group)).await.items;
    let item = items
        .iter()
        .find(|i| i.seq == written.seq)
        .expect("the post");
    let mentions: Vec<UserId> = field(&item.body, "mentions")
        .and_then(|v| v.as_array())
        .expect("mentions")
        .iter()
        .map(|v| v.as_text().expect("text").parse().expect("user id"))
        .collect();
    let mut want = vec![b, c];
    want.sort_by(|x, y| x.as_str().cmp(y.as_str()));
    assert_eq!(mentions, want);

    // gateway.md §3: users.search takes limit 0 as 1 and anything over 50 as 50, no error.
    for (limit, most) in [(0, 1), (1, 1), (500, 50)] {
        let found: SearchResult = alice
            .ok(
                "users.search",
                &SearchParams {
                    query: "a".to_owned(),
                    limit: Some(limit),
                    after: None,
                },
            )
            .await;
        assert!(
            !found.users.is_empty() && found.users.len() <= most,
            "limit {limit}: {}",
            found.users.len()
        );
    }

    // gateway.md §8.7: msgs.seen_by needs a msg.post; seq 1 (group.create) is not_found.
    let seq_one = api::ReadParams {
        group: group.clone(),
        seq: 1,
    };
    alice
        .err(method::MSGS_SEEN_BY, &seq_one, ErrorCode::NotFound)
        .await;
    node.shutdown().await;
}
