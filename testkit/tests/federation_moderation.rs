//! Message actions, read positions and moderation across real nodes over real QUIC (issue
//! "Federation"): edits, deletions, reactions and pins cross both ways; a moderator of the home
//! gives a remote member a role, kicks and bans them; a private group invites a user of a
//! third node, who accepts through their own node.

use std::time::Duration;

use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::event::EventKind;
use winichat_protocol::gateway::chat::{self as api, ChatEventPush, WriteResult, event, method};
use winichat_protocol::group::{EVERYONE, Permissions, RoleId, Visibility};
use winichat_protocol::ids::{GroupId, UserId};
use winichat_testkit::client::{Client, txn};
use winichat_testkit::cluster::{Cluster, ClusterSpec};
use winichat_testkit::node::Backend;
use winichat_testkit::users::{self, eventually, post, post_params};

const WAIT: Duration = Duration::from_secs(15);

async fn create_group(owner: &mut Client, visibility: Visibility, handle: Option<&str>) -> GroupId {
    let summary: api::ChatSummary = owner
        .ok(
            method::GROUPS_CREATE,
            &api::GroupCreateParams {
                txn: txn(),
                name: "Rustaceans".into(),
                description: "all things Rust".into(),
                visibility,
                handle: handle.map(Into::into),
            },
        )
        .await;
    summary.group
}

async fn history(client: &mut Client, group: &GroupId) -> api::HistoryResult {
    client
        .ok(
            method::MSGS_HISTORY,
            &api::HistoryParams {
                group: group.clone(),
                before: None,
                after: None,
                around: None,
                limit: None,
            },
        )
        .await
}

async fn item(client: &mut Client, group: &GroupId, seq: u64) -> api::TimelineItem {
    let history = history(client, group).await;
    history
        .items
        .into_iter()
        .find(|i| i.seq == seq)
        .unwrap_or_else(|| panic!("{}: no item {seq} in the history of {group}", client.user()))
}

async fn chat(client: &mut Client, group: &GroupId) -> api::ChatDetail {
    client
        .ok(
            method::CHATS_GET,
            &api::GroupParams {
                group: group.clone(),
            },
        )
        .await
}

async fn create_role(
    client: &mut Client,
    group: &GroupId,
    name: &str,
    permissions: Permissions,
) -> RoleId {
    let created: WriteResult = client
        .ok(
            method::ROLES_CREATE,
            &api::RoleCreateParams {
                txn: txn(),
                group: group.clone(),
                name: name.into(),
                colour: "#ff8800".into(),
                permissions,
                rank: None,
            },
        )
        .await;
    created.role.expect("roles.create names the role")
}

async fn chat_list(client: &mut Client) -> Vec<GroupId> {
    let list: api::ChatList = client
        .ok(method::CHATS_LIST, &api::ChatsListParams::default())
        .await;
    list.chats.into_iter().map(|c| c.group).collect()
}

/// Waits for the `chat.event` of `group` at `written.seq` on `client`'s gateway and checks its
/// kind.
async fn sees(client: &mut Client, written: &WriteResult, kind: &str) -> ChatEventPush {
    let pushes = users::chat_events_through(client, &written.group, written.seq, WAIT).await;
    let push = pushes
        .into_iter()
        .last()
        .expect("at least the one waited for");
    assert_eq!(
        push.item.seq,
        written.seq,
        "{}: the event itself",
        client.user()
    );
    assert_eq!(
        push.item.id,
        written.id,
        "{}: the same event",
        client.user()
    );
    assert_eq!(push.item.kind.as_str(), kind, "{}: {push:?}", client.user());
    push
}

fn text_of(body: &ciborium::Value) -> String {
    match body {
        ciborium::Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_text() == Some("text"))
            .and_then(|(_, v)| v.as_text())
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

fn reacted(item: &api::TimelineItem, emoji: &str, user: &UserId) -> bool {
    item.reactions
        .iter()
        .any(|r| r.emoji == emoji && r.users.contains(user))
}

async fn edit(client: &mut Client, group: &GroupId, seq: u64, text: &str) -> WriteResult {
    client
        .ok(
            method::MSGS_EDIT,
            &api::EditParams {
                txn: txn(),
                group: group.clone(),
                seq,
                text: text.into(),
            },
        )
        .await
}

async fn react(client: &mut Client, group: &GroupId, seq: u64, emoji: &str) -> WriteResult {
    client
        .ok(
            method::MSGS_REACT,
            &api::ReactParams {
                txn: txn(),
                group: group.clone(),
                seq,
                emoji: emoji.into(),
                on: true,
            },
        )
        .await
}

async fn pin(client: &mut Client, group: &GroupId, seq: u64) -> WriteResult {
    client
        .ok(
            method::MSGS_PIN,
            &api::PinParams {
                txn: txn(),
                group: group.clone(),
                seq,
                on: true,
            },
        )
        .await
}

async fn delete(client: &mut Client, group: &GroupId, seq: u64) -> WriteResult {
    client
        .ok(
            method::MSGS_DELETE,
            &api::MsgParams {
                txn: txn(),
                group: group.clone(),
                seq,
            },
        )
        .await
}

async fn read(client: &mut Client, group: &GroupId, seq: u64) {
    let _: ciborium::Value = client
        .ok(
            method::MSGS_READ,
            &api::ReadParams {
                group: group.clone(),
                seq,
            },
        )
        .await;
}

async fn seen_by(client: &mut Client, group: &GroupId, seq: u64) -> Vec<UserId> {
    let seen: api::SeenBy = client
        .ok(
            method::MSGS_SEEN_BY,
            &api::SeenByParams {
                group: group.clone(),
                seq,
                after: None,
            },
        )
        .await;
    seen.users
}

/// The next `chat.read` push of `group` about `user` at `seq` or later.
async fn read_push(client: &mut Client, group: &GroupId, user: &UserId, seq: u64) -> api::ReadPush {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let push: api::ReadPush = client.next_push_as(event::CHAT_READ, left).await;
        if push.group == *group && push.user == *user && push.seq >= seq {
            return push;
        }
    }
}

/// A post through a node that must refuse it: a non-member gets `forbidden` or `not_found`.
async fn refused_post(client: &mut Client, group: &GroupId, text: &str) {
    let result: Result<WriteResult, _> = client
        .call_as(method::MSGS_POST, &post_params(group, text))
        .await;
    match result {
        Err(e) if e.code == ErrorCode::Forbidden || e.code == ErrorCode::NotFound => {}
        other => panic!(
            "{}: msgs.post after removal must be refused: {other:?}",
            client.user()
        ),
    }
}

#[tokio::test]
async fn edits_deletions_reactions_pins_and_reads_cross_both_ways() {
    let cluster = Cluster::start(
        ClusterSpec::new([Backend::Postgres, Backend::Sqlite])
            .configure(users::unthrottled_gateway),
    )
    .await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let group = create_group(&mut alice, Visibility::Public, Some("rust")).await;
    // Everyone may pin, so that bob can.
    let everyone_pins: WriteResult = alice
        .ok(
            method::ROLES_UPDATE,
            &api::RoleUpdateParams {
                txn: txn(),
                group: group.clone(),
                role: EVERYONE,
                name: None,
                colour: None,
                permissions: Some(Permissions::EVERYONE_DEFAULT | Permissions::PIN_MESSAGES),
                rank: None,
            },
        )
        .await;
    assert!(everyone_pins.seq > 1);
    let joined = users::join_by_handle(&mut bob, &format!("#rust:{}", a.name())).await;
    assert_eq!(joined.group, group);
    assert!(
        joined.my_permissions.contains(Permissions::PIN_MESSAGES),
        "B's replica knows the role update made before bob joined: {joined:?}"
    );

    let (alice_id, bob_id) = (alice.user().clone(), bob.user().clone());
    let by_alice = post(&mut alice, &group, "from alice").await;
    let by_bob = post(&mut bob, &group, "from bob").await;
    let alice_gone = post(&mut alice, &group, "alice regrets this").await;
    let bob_gone = post(&mut bob, &group, "bob regrets this").await;
    for client in [&mut alice, &mut bob] {
        users::chat_events_through(client, &group, bob_gone.seq, WAIT).await;
    }

    // Each action, by each side: both gateways get the event.
    let mut actions = Vec::new();
    let e = edit(&mut bob, &group, by_bob.seq, "from bob, edited").await;
    actions.push((e, "msg.edit"));
    let e = edit(&mut alice, &group, by_alice.seq, "from alice, edited").await;
    actions.push((e, "msg.edit"));
    let e = react(&mut bob, &group, by_alice.seq, "👍").await;
    actions.push((e, "msg.react"));
    let e = react(&mut alice, &group, by_bob.seq, "🎉").await;
    actions.push((e, "msg.react"));
    let e = pin(&mut bob, &group, by_alice.seq).await;
    actions.push((e, "msg.pin"));
    let e = pin(&mut alice, &group, by_bob.seq).await;
    actions.push((e, "msg.pin"));
    let e = delete(&mut bob, &group, bob_gone.seq).await;
    actions.push((e, "msg.delete"));
    let e = delete(&mut alice, &group, alice_gone.seq).await;
    actions.push((e, "msg.delete"));
    for client in [&mut alice, &mut bob] {
        let last = &actions.last().expect("actions").0;
        let pushes = users::chat_events_through(client, &group, last.seq, WAIT).await;
        for (written, kind) in &actions {
            let push = pushes
                .iter()
                .find(|p| p.item.seq == written.seq)
                .unwrap_or_else(|| {
                    panic!(
                        "{}: no chat.event for the {kind} at {}",
                        client.user(),
                        written.seq
                    )
                });
            assert_eq!(push.item.id, written.id, "{}: {push:?}", client.user());
            assert_eq!(
                push.item.kind.as_str(),
                *kind,
                "{}: {push:?}",
                client.user()
            );
        }
    }

    // History on each node shows the result.
    for client in [&mut alice, &mut bob] {
        let who = client.user().clone();
        let from_alice = item(client, &group, by_alice.seq).await;
        assert_eq!(text_of(&from_alice.body), "from alice, edited", "{who}");
        assert!(from_alice.edited_at.is_some(), "{who}: {from_alice:?}");
        assert!(reacted(&from_alice, "👍", &bob_id), "{who}: {from_alice:?}");
        assert!(from_alice.pinned, "{who}: {from_alice:?}");
        let from_bob = item(client, &group, by_bob.seq).await;
        assert_eq!(text_of(&from_bob.body), "from bob, edited", "{who}");
        assert!(from_bob.edited_at.is_some(), "{who}: {from_bob:?}");
        assert!(reacted(&from_bob, "🎉", &alice_id), "{who}: {from_bob:?}");
        assert!(from_bob.pinned, "{who}: {from_bob:?}");
        for gone in [alice_gone.seq, bob_gone.seq] {
            let gone = item(client, &group, gone).await;
            assert!(gone.deleted, "{who}: {gone:?}");
            assert_eq!(text_of(&gone.body), "", "{who}: {gone:?}");
        }
        let pinned = chat(client, &group).await.chat.pinned;
        assert!(
            pinned.contains(&by_alice.seq) && pinned.contains(&by_bob.seq),
            "{who}: pinned {pinned:?}"
        );
    }

    // Read positions cross both ways (sent in the background).
    let head = actions.last().expect("actions").0.seq;
    read(&mut bob, &group, head).await;
    let push = read_push(&mut alice, &group, &bob_id, head).await;
    assert_eq!(push.seq, head);
    eventually("A knows bob read alice's message", WAIT, async || {
        seen_by(&mut alice, &group, by_alice.seq)
            .await
            .contains(&bob_id)
            .then_some(())
    })
    .await;
    read(&mut alice, &group, head).await;
    let push = read_push(&mut bob, &group, &alice_id, head).await;
    assert_eq!(push.seq, head);
    eventually("B knows alice read bob's message", WAIT, async || {
        seen_by(&mut bob, &group, by_bob.seq)
            .await
            .contains(&alice_id)
            .then_some(())
    })
    .await;
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_moderator_of_a_gives_a_role_to_kicks_and_bans_a_user_of_b() {
    let cluster = Cluster::start(
        ClusterSpec::new([Backend::Sqlite, Backend::Postgres])
            .configure(users::unthrottled_gateway),
    )
    .await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let group = create_group(&mut alice, Visibility::Public, Some("rust")).await;
    let handle = format!("#rust:{}", a.name());
    users::join_by_handle(&mut bob, &handle).await;
    let bob_id = bob.user().clone();

    // Dave, a member on A, moderates: the owner gives him a role that may assign roles,
    // kick and ban (and holds what it grants), above a role for bob.
    let mut dave = users::register(a, "dave").await;
    let dave_id = dave.user().clone();
    users::join_group(&mut dave, &group).await;
    let mods = create_role(
        &mut alice,
        &group,
        "mods",
        Permissions::KICK_MEMBERS
            | Permissions::BAN_MEMBERS
            | Permissions::ASSIGN_ROLES
            | Permissions::PIN_MESSAGES,
    )
    .await;
    let role = create_role(&mut alice, &group, "pinners", Permissions::PIN_MESSAGES).await;
    let _: WriteResult = alice
        .ok(
            method::MEMBERS_ROLES,
            &api::SetRolesParams {
                txn: txn(),
                group: group.clone(),
                user: dave_id.clone(),
                roles: vec![mods],
            },
        )
        .await;
    let given: WriteResult = dave
        .ok(
            method::MEMBERS_ROLES,
            &api::SetRolesParams {
                txn: txn(),
                group: group.clone(),
                user: bob_id.clone(),
                roles: vec![role],
            },
        )
        .await;
    let push = sees(&mut bob, &given, "member.roles").await;
    assert_eq!(push.item.sender, dave_id, "the moderator gave the role");
    let detail = chat(&mut bob, &group).await;
    assert!(
        detail
            .roles
            .iter()
            .any(|r| r.id == role && r.name == "pinners"),
        "B knows the role: {:?}",
        detail.roles
    );
    let me = detail
        .members
        .iter()
        .find(|m| m.user == bob_id)
        .expect("bob is a member on B");
    assert_eq!(me.roles, vec![role], "B shows bob's role");
    assert!(
        detail
            .chat
            .my_permissions
            .contains(Permissions::PIN_MESSAGES),
        "bob may pin now: {:?}",
        detail.chat.my_permissions
    );
    let by_bob = post(&mut bob, &group, "pin me").await;
    pin(&mut bob, &group, by_bob.seq).await;

    // Kicked.
    let kicked: WriteResult = dave
        .ok(
            method::MEMBERS_KICK,
            &api::KickParams {
                txn: txn(),
                group: group.clone(),
                user: bob_id.clone(),
                reason: "cool off".into(),
            },
        )
        .await;
    let push = sees(&mut bob, &kicked, EventKind::MemberKick.as_str()).await;
    assert_eq!(push.item.sender, dave_id, "the moderator kicked");
    assert!(
        !chat_list(&mut bob).await.contains(&group),
        "the group left bob's chat list"
    );
    refused_post(&mut bob, &group, "still here?").await;

    // Alice goes on while bob is out; B no longer gets the group's events.
    let while_out = post(&mut alice, &group, "while bob is out").await;

    // Back (public), then banned.
    let rejoined = users::join_group(&mut bob, &group).await;
    assert_eq!(rejoined.group, group);
    assert!(chat_list(&mut bob).await.contains(&group), "bob is back");
    let missed = item(&mut bob, &group, while_out.seq).await;
    assert_eq!(
        text_of(&missed.body),
        "while bob is out",
        "B's replica caught up with what it missed"
    );
    let back = post(&mut bob, &group, "I'm back").await;
    sees(&mut alice, &back, "msg.post").await;
    let banned: WriteResult = dave
        .ok(
            method::MEMBERS_BAN,
            &api::KickParams {
                txn: txn(),
                group: group.clone(),
                user: bob_id.clone(),
                reason: "enough".into(),
            },
        )
        .await;
    let push = sees(&mut bob, &banned, EventKind::MemberBan.as_str()).await;
    assert_eq!(push.item.sender, dave_id, "the moderator banned");
    let head_before = chat(&mut alice, &group).await.chat.last_seq;
    assert_eq!(head_before, banned.seq, "the ban is A's head");
    refused_post(&mut bob, &group, "banned but posting").await;
    let _ = bob
        .err(
            method::GROUPS_JOIN,
            &api::JoinParams {
                txn: txn(),
                group: Some(group.clone()),
                handle: None,
            },
            ErrorCode::Forbidden,
        )
        .await;
    assert!(
        !chat_list(&mut bob).await.contains(&group),
        "the group left bob's chat list"
    );
    let head_after = chat(&mut alice, &group).await.chat.last_seq;
    assert_eq!(head_after, head_before, "nothing was added to A's log");
    let on_a = history(&mut alice, &group).await;
    assert!(
        on_a.items
            .iter()
            .all(|i| text_of(&i.body) != "banned but posting"),
        "A's history has no post of the banned user"
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_user_of_c_accepts_an_invite_to_a_private_group_of_a_and_b_hears_her() {
    let cluster = Cluster::start(
        ClusterSpec::new([Backend::Postgres, Backend::Sqlite, Backend::Sqlite])
            .configure(users::unthrottled_gateway),
    )
    .await;
    let (a, b, c) = (cluster.node(0), cluster.node(1), cluster.node(2));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let mut carol = users::register(c, "carol").await;
    let carol_id = UserId::new("carol", c.name()).expect("user id");
    assert_eq!(carol.user(), &carol_id);
    let group = create_group(&mut alice, Visibility::Private, None).await;
    // Bob of B is already in: what carol does reaches him through A.
    let _: WriteResult = alice
        .ok(
            method::INVITES_SEND,
            &api::TargetParams {
                txn: txn(),
                group: group.clone(),
                user: bob.user().clone(),
            },
        )
        .await;
    let _: api::InviteInfo = bob.next_push_as(event::INVITE, WAIT).await;
    let _: api::ChatSummary = bob
        .ok(
            method::INVITES_ACCEPT,
            &api::TxnGroupParams {
                txn: txn(),
                group: group.clone(),
            },
        )
        .await;
    let before = post(&mut alice, &group, "before carol").await;

    let invited: WriteResult = alice
        .ok(
            method::INVITES_SEND,
            &api::TargetParams {
                txn: txn(),
                group: group.clone(),
                user: carol_id.clone(),
            },
        )
        .await;
    assert!(invited.seq > before.seq);
    let invite: api::InviteInfo = carol.next_push_as(event::INVITE, WAIT).await;
    assert_eq!(invite.group, group);
    assert_eq!(invite.by, *alice.user());
    assert_eq!(invite.name, "Rustaceans");
    let list: api::InviteList = carol
        .ok(method::INVITES_LIST, &api::AfterParams::default())
        .await;
    assert!(
        list.invites.iter().any(|i| i.group == group),
        "C lists the invite: {list:?}"
    );

    let accepted: api::ChatSummary = carol
        .ok(
            method::INVITES_ACCEPT,
            &api::TxnGroupParams {
                txn: txn(),
                group: group.clone(),
            },
        )
        .await;
    assert_eq!(accepted.group, group);
    let on_c = history(&mut carol, &group).await;
    assert!(
        on_c.items
            .iter()
            .any(|i| i.seq == before.seq && text_of(&i.body) == "before carol"),
        "carol reads the history from C's replica: {on_c:?}"
    );
    let list: api::InviteList = carol
        .ok(method::INVITES_LIST, &api::AfterParams::default())
        .await;
    assert!(
        list.invites.iter().all(|i| i.group != group),
        "the invite is no longer pending: {list:?}"
    );

    let by_carol = post(&mut carol, &group, "hello from C").await;
    for client in [&mut alice, &mut bob] {
        let push = sees(client, &by_carol, "msg.post").await;
        assert_eq!(push.item.sender, carol_id);
        assert_eq!(text_of(&push.item.body), "hello from C");
    }

    // Carol's read position reaches A, and B through A (posting moved it to her own post;
    // reading alice's answer moves it on).
    let answer = post(&mut alice, &group, "welcome, carol").await;
    sees(&mut carol, &answer, "msg.post").await;
    read(&mut carol, &group, answer.seq).await;
    for client in [&mut alice, &mut bob] {
        read_push(client, &group, &carol_id, answer.seq).await;
    }
    eventually("B knows carol read alice's answer", WAIT, async || {
        seen_by(&mut bob, &group, answer.seq)
            .await
            .contains(&carol_id)
            .then_some(())
    })
    .await;
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_read_that_outruns_its_events_is_not_lost_on_a_lagging_replica() {
    let cluster = Cluster::start(
        ClusterSpec::new([Backend::Postgres, Backend::Sqlite, Backend::Sqlite])
            .relay(0, 1)
            .configure(|config| {
                users::unthrottled_gateway(config);
                config.federation.request_timeout = Duration::from_secs(1);
            }),
    )
    .await;
    let (a, b, c) = (cluster.node(0), cluster.node(1), cluster.node(2));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let mut carol = users::register(c, "carol").await;
    let carol_id = carol.user().clone();
    let group = create_group(&mut alice, Visibility::Public, Some("rust")).await;
    let handle = format!("#rust:{}", a.name());
    users::join_by_handle(&mut bob, &handle).await;
    users::join_by_handle(&mut carol, &handle).await;

    // A's pushes to B fail while the link is cut, and its outbox backs off past the heal: B's
    // replica lags when carol's read of the message comes through A.
    cluster.cut_link(0, 1);
    let message = post(&mut alice, &group, "read me").await;
    sees(&mut carol, &message, "msg.post").await;
    // Long enough for two timed-out pushes (1 s each) and their backoff: a fault, not a wait.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    cluster.heal_link(0, 1);
    read(&mut carol, &group, message.seq).await;
    read_push(&mut alice, &group, &carol_id, message.seq).await;

    let push = read_push(&mut bob, &group, &carol_id, message.seq).await;
    assert_eq!(push.seq, message.seq, "B has carol's whole read");
    let seen = seen_by(&mut bob, &group, message.seq).await;
    assert!(seen.contains(&carol_id), "B knows carol read it: {seen:?}");
    cluster.shutdown().await;
}
