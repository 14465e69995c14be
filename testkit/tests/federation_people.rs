//! People of other nodes, on real nodes over real QUIC (issue "Federation in the product"):
//! profiles asked of the user's own node and cached, changes and presence told to the nodes
//! that share a chat with them, and a search by a whole `@name:node`.

use std::time::Duration;

use winichat_protocol::gateway::chat::{self as api, method as chat};
use winichat_protocol::gateway::{
    PresenceGetParams, PresenceList, PresencePush, ProfileGetParams, ProfileInfo, ProfilePush,
    ProfileUpdateParams, SearchParams, SearchResult, Status, event, method,
};
use winichat_protocol::ids::UserId;
use winichat_testkit::cluster::{Cluster, ClusterSpec};
use winichat_testkit::node::Backend;
use winichat_testkit::users;

const WAIT: Duration = Duration::from_secs(15);

fn search(query: &str) -> SearchParams {
    SearchParams {
        query: query.to_owned(),
        limit: None,
        after: None,
    }
}

#[tokio::test]
async fn profiles_and_presence_of_another_nodes_users_reach_those_who_share_a_chat() {
    let cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Postgres])
            .configure(users::unthrottled_gateway),
    )
    .await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let alice_id = alice.user().clone();
    let _: ProfileInfo = alice
        .ok(
            method::PROFILE_UPDATE,
            &ProfileUpdateParams {
                display_name: Some("Alice of A".into()),
                bio: Some("hosted on A".into()),
                avatar: None,
            },
        )
        .await;

    // Bob, on B, sees her profile as her node gives it, and finds her by her whole id.
    let profile: ProfileInfo = bob
        .ok(
            method::PROFILE_GET,
            &ProfileGetParams {
                user: Some(alice_id.clone()),
            },
        )
        .await;
    assert_eq!(profile.display_name, "Alice of A");
    assert_eq!(profile.bio, "hosted on A");
    let found: SearchResult = bob
        .ok(method::USERS_SEARCH, &search(alice_id.as_str()))
        .await;
    assert_eq!(found.users.len(), 1, "{found:?}");
    assert_eq!(found.users[0].id, alice_id);
    let ghost: UserId = format!("@ghost:{}", a.name()).parse().expect("user");
    let none: SearchResult = bob.ok(method::USERS_SEARCH, &search(ghost.as_str())).await;
    assert!(none.users.is_empty(), "{none:?}");

    // Once they share a chat, a change of hers reaches him at once, and his node's copy.
    let dm: api::ChatSummary = bob
        .ok(
            chat::DM_OPEN,
            &api::DmOpenParams {
                user: alice_id.clone(),
            },
        )
        .await;
    let members: api::MemberList = bob
        .ok(
            chat::MEMBERS_LIST,
            &api::PageParams {
                group: dm.group.clone(),
                after: None,
                limit: None,
            },
        )
        .await;
    let shown = members
        .members
        .iter()
        .find(|m| m.user == alice_id)
        .expect("alice is a member");
    assert_eq!(
        shown.display_name, "Alice of A",
        "the member list shows her name"
    );
    // The direct chat reached A: her node knows they share a chat.
    users::eventually("A holds the direct chat", WAIT, async || {
        let list: api::ChatList = alice
            .ok(chat::CHATS_LIST, &api::ChatsListParams::default())
            .await;
        list.chats.iter().any(|c| c.group == dm.group).then_some(())
    })
    .await;
    bob.discard_pushes(event::PROFILE);
    let _: ProfileInfo = alice
        .ok(
            method::PROFILE_UPDATE,
            &ProfileUpdateParams {
                display_name: Some("Alice, renamed".into()),
                ..ProfileUpdateParams::default()
            },
        )
        .await;
    let pushed: ProfilePush = bob.next_push_as(event::PROFILE, WAIT).await;
    assert_eq!(pushed.user, alice_id);
    assert_eq!(pushed.display_name, "Alice, renamed");
    let profile: ProfileInfo = bob
        .ok(
            method::PROFILE_GET,
            &ProfileGetParams {
                user: Some(alice_id.clone()),
            },
        )
        .await;
    assert_eq!(
        profile.display_name, "Alice, renamed",
        "B's copy was replaced"
    );

    // Her presence too: she leaves, then comes back.
    bob.discard_pushes(event::PRESENCE);
    alice.close().await;
    let gone: PresencePush = bob.next_push_as(event::PRESENCE, WAIT).await;
    assert_eq!(
        (gone.user.clone(), gone.status),
        (alice_id.clone(), Status::Offline)
    );
    let asked: PresenceList = bob
        .ok(
            method::PRESENCE_GET,
            &PresenceGetParams {
                users: vec![alice_id.clone()],
            },
        )
        .await;
    assert_eq!(asked.presence.len(), 1);
    assert_eq!(asked.presence[0].status, Status::Offline);
    let _alice = users::log_in(a, "alice").await;
    let back: PresencePush = bob.next_push_as(event::PRESENCE, WAIT).await;
    assert_eq!((back.user, back.status), (alice_id.clone(), Status::Online));
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_node_that_shares_no_chat_with_a_user_hears_nothing_of_them() {
    let cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Sqlite]).configure(users::unthrottled_gateway),
    )
    .await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    // Bob looked her up, but they share no chat: her changes are not sent to B.
    let _: ProfileInfo = bob
        .ok(
            method::PROFILE_GET,
            &ProfileGetParams {
                user: Some(alice.user().clone()),
            },
        )
        .await;
    let _: ProfileInfo = alice
        .ok(
            method::PROFILE_UPDATE,
            &ProfileUpdateParams {
                display_name: Some("Private Alice".into()),
                ..ProfileUpdateParams::default()
            },
        )
        .await;
    let alice_id = alice.user().clone();
    alice.close().await;
    bob.expect_no_push(event::PROFILE, Duration::from_secs(1))
        .await;
    // Bob's own presence is pushed to him; none about her.
    for push in bob.take_pushes(event::PRESENCE).await {
        let about: PresencePush =
            winichat_protocol::gateway::decode_params(&push).expect("presence");
        assert_ne!(about.user, alice_id, "B was told of her presence");
    }
    cluster.shutdown().await;
}
