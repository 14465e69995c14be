//! Presence: who shares a chat with a user hears when they come and go, and may ask; nobody
//! else learns anything.

use std::time::Duration;

use winichat_protocol::gateway::{self, PresenceGetParams, PresenceList, PresencePush, Status};
use winichat_testkit::client::Client;
use winichat_testkit::node::Backend;

use crate::common::{Chat, QUIET, start, users};

on_both!(contacts_hear_presence_and_strangers_learn_nothing);

const WAIT: Duration = Duration::from_secs(5);

async fn ask(client: &mut Client, users: &[&winichat_protocol::ids::UserId]) -> PresenceList {
    client
        .ok(
            gateway::method::PRESENCE_GET,
            &PresenceGetParams {
                users: users.iter().map(|u| (*u).clone()).collect(),
            },
        )
        .await
}

async fn contacts_hear_presence_and_strangers_learn_nothing(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, bob, mut carol] = users(&node, ["alice", "bob", "carol"]).await;
    let bob_user = bob.user().clone();
    let bob_account = bob.account().clone();
    alice.dm_open(&bob_user).await;

    // Asking: bob shares a chat with alice, not with carol.
    let seen = ask(&mut alice, &[&bob_user, carol.user()]).await;
    assert_eq!(
        seen.presence.len(),
        1,
        "carol shares no chat with alice: {seen:?}"
    );
    assert_eq!(seen.presence[0].user, bob_user);
    assert_eq!(seen.presence[0].status, Status::Online);
    let nothing = ask(&mut carol, &[&bob_user, alice.user()]).await;
    assert!(nothing.presence.is_empty(), "{nothing:?}");
    carol
        .err(
            gateway::method::PRESENCE_GET,
            &PresenceGetParams { users: Vec::new() },
            winichat_protocol::error_code::ErrorCode::BadRequest,
        )
        .await;

    // Bob leaves: alice hears it with a last-seen time; carol hears nothing.
    alice.discard_pushes(gateway::event::PRESENCE);
    carol.discard_pushes(gateway::event::PRESENCE);
    bob.close().await;
    // Bob's "online" from when he connected goes out through the relay, which reads his
    // contacts later: if that read came after the direct chat was made, alice hears it now,
    // before the "offline" (the relay keeps their order). It is true, and no more than once.
    let mut gone: PresencePush = alice.next_push_as(gateway::event::PRESENCE, WAIT).await;
    if (&gone.user, gone.status) == (&bob_user, Status::Online) {
        gone = alice.next_push_as(gateway::event::PRESENCE, WAIT).await;
    }
    assert_eq!((&gone.user, gone.status), (&bob_user, Status::Offline));
    assert!(gone.last_seen.is_some());
    let asked = ask(&mut alice, &[&bob_user]).await;
    assert_eq!(asked.presence[0].status, Status::Offline);
    assert_eq!(asked.presence[0].last_seen, gone.last_seen);

    // Bob returns: alice hears it.
    let _bob = Client::connect(&node, &bob_account).await;
    let back: PresencePush = alice.next_push_as(gateway::event::PRESENCE, WAIT).await;
    assert_eq!((&back.user, back.status), (&bob_user, Status::Online));
    carol.expect_no_push(gateway::event::PRESENCE, QUIET).await;
}
