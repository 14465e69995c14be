//! Direct invites and invite links.

use std::time::Duration;

use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::event::EventKind;
use winichat_protocol::gateway::Empty;
use winichat_protocol::gateway::chat::{self as api, method};
use winichat_protocol::group::{Permissions, Visibility};
use winichat_protocol::ids::GroupId;
use winichat_testkit::client::{Client, txn};
use winichat_testkit::node::Backend;

use crate::common::{Chat, Soft, WAIT, group_params, start, target, txn_group, users};

on_both!(
    direct_invites_are_pushed_listed_accepted_and_declined,
    invite_links_expire_run_out_and_are_revoked,
    ten_users_racing_for_a_three_use_link_three_join,
);

fn link(group: &GroupId, expires_in: Option<u64>, max_uses: Option<u32>) -> api::LinkCreateParams {
    api::LinkCreateParams {
        group: group.clone(),
        expires_in,
        max_uses,
    }
}

fn redeem(code: &str) -> api::RedeemParams {
    api::RedeemParams {
        txn: txn(),
        code: code.to_owned(),
        node: None,
    }
}

async fn invites(c: &mut Client) -> Vec<api::InviteInfo> {
    let list: api::InviteList = c.ok(method::INVITES_LIST, &Empty {}).await;
    list.invites
}

async fn direct_invites_are_pushed_listed_accepted_and_declined(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob, mut carol, mut dave] =
        users(&node, ["alice", "bob", "carol", "dave"]).await;
    let group = alice
        .create_group("Club", Visibility::Private, None)
        .await
        .group;

    let _: api::WriteResult = alice
        .ok(method::INVITES_SEND, &target(&group, bob.user()))
        .await;
    let pushed: api::InviteInfo = bob.next_push_as(api::event::INVITE, WAIT).await;
    assert_eq!(pushed.group, group);
    assert_eq!(pushed.name, "Club");
    assert_eq!(&pushed.by, alice.user());
    let listed = invites(&mut bob).await;
    assert_eq!(listed, vec![pushed]);
    let invited = alice.event_until(&group, EventKind::MemberInvite).await;
    assert_eq!(
        crate::common::field(&invited.item.body, "user").and_then(|v| v.as_text()),
        Some(bob.user().to_string().as_str())
    );
    assert_eq!(alice.detail(&group).await.invited, vec![bob.user().clone()]);
    // Inviting again, inviting a member, inviting nobody.
    alice
        .err(
            method::INVITES_SEND,
            &target(&group, bob.user()),
            ErrorCode::Conflict,
        )
        .await;
    let mut soft = Soft::default();
    soft.code(
        alice
            .call_as::<_, api::WriteResult>(method::INVITES_SEND, &target(&group, alice.user()))
            .await,
        ErrorCode::Conflict,
        "invites.send to a member",
    );
    let nobody = winichat_protocol::ids::UserId::new("nobody", node.name()).expect("id");
    alice
        .err(
            method::INVITES_SEND,
            &target(&group, &nobody),
            ErrorCode::NotFound,
        )
        .await;

    // Bob accepts: a member, the invite is gone, everyone is told.
    let joined: api::ChatSummary = bob.ok(method::INVITES_ACCEPT, &txn_group(&group)).await;
    assert_eq!(joined.group, group);
    assert_eq!(joined.members, 2);
    assert!(invites(&mut bob).await.is_empty());
    let join = alice.event_until(&group, EventKind::MemberJoin).await;
    assert_eq!(&join.item.sender, bob.user());
    assert!(alice.detail(&group).await.invited.is_empty());
    bob.err(
        method::INVITES_ACCEPT,
        &txn_group(&group),
        ErrorCode::Conflict,
    )
    .await;

    // A member (everyone may invite by default) invites Carol; she declines.
    let _: api::WriteResult = bob
        .ok(method::INVITES_SEND, &target(&group, carol.user()))
        .await;
    let pushed: api::InviteInfo = carol.next_push_as(api::event::INVITE, WAIT).await;
    assert_eq!(&pushed.by, bob.user());
    let _: api::WriteResult = carol.ok(method::INVITES_DECLINE, &txn_group(&group)).await;
    assert!(invites(&mut carol).await.is_empty());
    // Declined: as if never invited — she learns nothing more and cannot accept.
    carol
        .err(
            method::INVITES_ACCEPT,
            &txn_group(&group),
            ErrorCode::NotFound,
        )
        .await;
    carol
        .err(
            method::CHATS_GET,
            &group_params(&group),
            ErrorCode::NotFound,
        )
        .await;
    assert_eq!(alice.detail(&group).await.chat.members, 2);
    // Declining is not a timeline line.
    let kinds: Vec<EventKind> = alice
        .latest(&group)
        .await
        .items
        .into_iter()
        .map(|i| i.kind)
        .collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::GroupCreate,
            EventKind::MemberInvite,
            EventKind::MemberJoin,
            EventKind::MemberInvite,
        ]
    );

    // Without invite_members nobody invites.
    let _: api::WriteResult = alice
        .ok(
            method::ROLES_UPDATE,
            &api::RoleUpdateParams {
                txn: txn(),
                group: group.clone(),
                role: winichat_protocol::group::EVERYONE,
                name: None,
                colour: None,
                permissions: Some(Permissions::SEND_MESSAGES),
                rank: None,
            },
        )
        .await;
    bob.err(
        method::INVITES_SEND,
        &target(&group, dave.user()),
        ErrorCode::Forbidden,
    )
    .await;
    // Someone with no invite cannot accept or decline (and learns nothing).
    dave.err(
        method::INVITES_ACCEPT,
        &txn_group(&group),
        ErrorCode::NotFound,
    )
    .await;
    dave.err(
        method::INVITES_DECLINE,
        &txn_group(&group),
        ErrorCode::NotFound,
    )
    .await;
    // The invitee of a deleted group no longer sees the invite.
    let _: api::WriteResult = alice
        .ok(method::INVITES_SEND, &target(&group, dave.user()))
        .await;
    assert_eq!(invites(&mut dave).await.len(), 1);
    let _: api::WriteResult = alice.ok(method::GROUPS_DELETE, &txn_group(&group)).await;
    assert!(invites(&mut dave).await.is_empty());
    node.shutdown().await;
    soft.finish();
}

async fn invite_links_expire_run_out_and_are_revoked(backend: Backend) {
    let node = start(backend).await;
    let [mut owner, mut plain, mut u1, mut u2, mut u3] =
        users(&node, ["owner", "plain", "user1", "user2", "user3"]).await;
    let group = owner
        .create_group("Linked", Visibility::Private, None)
        .await
        .group;
    owner.invite_and_join(&group, &mut plain).await;

    // Links need manage_invites.
    plain
        .err(
            method::LINKS_CREATE,
            &link(&group, None, None),
            ErrorCode::Forbidden,
        )
        .await;
    plain
        .err(
            method::LINKS_LIST,
            &group_params(&group),
            ErrorCode::Forbidden,
        )
        .await;
    // Bad parameters.
    for bad in [link(&group, Some(0), None), link(&group, None, Some(0))] {
        owner
            .err(method::LINKS_CREATE, &bad, ErrorCode::BadRequest)
            .await;
    }

    // Max uses.
    let two: api::LinkInfo = owner
        .ok(method::LINKS_CREATE, &link(&group, None, Some(2)))
        .await;
    assert_eq!(two.max_uses, Some(2));
    assert_eq!(two.uses, 0);
    assert!(!two.revoked);
    let preview: api::LinkPreview = u1
        .ok(
            method::LINKS_PREVIEW,
            &api::CodeParams {
                code: two.code.clone(),
                node: None,
            },
        )
        .await;
    assert_eq!(preview.group, group);
    assert_eq!(preview.name, "Linked");
    assert_eq!(preview.members, 2);
    let joined: api::ChatSummary = u1.ok(method::LINKS_REDEEM, &redeem(&two.code)).await;
    assert_eq!(joined.group, group);
    assert_eq!(joined.members, 3);
    // A member redeeming again does not spend a use.
    let mut soft = Soft::default();
    soft.code(
        u1.call_as::<_, api::ChatSummary>(method::LINKS_REDEEM, &redeem(&two.code))
            .await,
        ErrorCode::Conflict,
        "links.redeem by a member",
    );
    let _: api::ChatSummary = u2.ok(method::LINKS_REDEEM, &redeem(&two.code)).await;
    let e = u3
        .err(
            method::LINKS_REDEEM,
            &redeem(&two.code),
            ErrorCode::NotFound,
        )
        .await;
    assert_eq!(e.message, "this invite link has been used up");
    u3.err(
        method::LINKS_PREVIEW,
        &api::CodeParams {
            code: two.code.clone(),
            node: None,
        },
        ErrorCode::NotFound,
    )
    .await;

    // Revoked.
    let open: api::LinkInfo = owner
        .ok(method::LINKS_CREATE, &link(&group, Some(3600), None))
        .await;
    assert!(open.expires_at.is_some());
    let _: Empty = owner
        .ok(
            method::LINKS_REVOKE,
            &api::LinkParams {
                group: group.clone(),
                code: open.code.clone(),
            },
        )
        .await;
    let e = u3
        .err(
            method::LINKS_REDEEM,
            &redeem(&open.code),
            ErrorCode::NotFound,
        )
        .await;
    assert_eq!(e.message, "this invite link was revoked");
    owner
        .err(
            method::LINKS_REVOKE,
            &api::LinkParams {
                group: group.clone(),
                code: "no-such-code".to_owned(),
            },
            ErrorCode::NotFound,
        )
        .await;

    // Expired.
    let short: api::LinkInfo = owner
        .ok(method::LINKS_CREATE, &link(&group, Some(1), None))
        .await;
    let until = short.expires_at.expect("expires_at").millis();
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        if now > until + 50 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(until + 60 - now)).await;
    }
    let e = u3
        .err(
            method::LINKS_REDEEM,
            &redeem(&short.code),
            ErrorCode::NotFound,
        )
        .await;
    assert_eq!(e.message, "this invite link has expired");
    u3.err(
        method::LINKS_REDEEM,
        &redeem("unknown-code"),
        ErrorCode::NotFound,
    )
    .await;

    // The list shows them all, newest first, with their uses.
    let list: api::LinkList = owner.ok(method::LINKS_LIST, &group_params(&group)).await;
    let codes: Vec<&str> = list.links.iter().map(|l| l.code.as_str()).collect();
    assert_eq!(codes, vec![&short.code, &open.code, &two.code]);
    assert_eq!(list.links[2].uses, 2);
    assert!(list.links[1].revoked);
    // Joins by link are logged.
    let joins = owner
        .latest(&group)
        .await
        .items
        .into_iter()
        .filter(|i| i.kind == EventKind::MemberJoin)
        .count();
    assert_eq!(joins, 3, "plain by invite, u1 and u2 by link");
    node.shutdown().await;
    soft.finish();
}

async fn ten_users_racing_for_a_three_use_link_three_join(backend: Backend) {
    let node = start(backend).await;
    let [mut owner] = users(&node, ["owner"]).await;
    let group = owner
        .create_group("Scarce", Visibility::Private, None)
        .await
        .group;
    let three: api::LinkInfo = owner
        .ok(method::LINKS_CREATE, &link(&group, None, Some(3)))
        .await;
    let mut racers = Vec::new();
    for i in 0..10 {
        racers.push(Client::register(&node, &format!("racer{i}")).await);
    }
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(racers.len()));
    let tasks: Vec<_> = racers
        .into_iter()
        .map(|mut c| {
            let code = three.code.clone();
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                let result = c
                    .call_as::<_, api::ChatSummary>(method::LINKS_REDEEM, &redeem(&code))
                    .await;
                (c.user().clone(), result)
            })
        })
        .collect();
    let mut joined = Vec::new();
    for task in tasks {
        let (user, result) = task.await.expect("racer");
        match result {
            Ok(summary) => {
                assert_eq!(summary.group, group);
                joined.push(user);
            }
            Err(e) => {
                assert_eq!(e.code, ErrorCode::NotFound, "{user}: {e:?}");
                assert_eq!(e.message, "this invite link has been used up");
            }
        }
    }
    assert_eq!(joined.len(), 3, "exactly three joined: {joined:?}");
    let detail = owner.detail(&group).await;
    assert_eq!(detail.members.len(), 4);
    for user in &joined {
        assert!(detail.members.iter().any(|m| &m.user == user));
    }
    let list: api::LinkList = owner.ok(method::LINKS_LIST, &group_params(&group)).await;
    assert_eq!(list.links[0].uses, 3);
    node.shutdown().await;
}
