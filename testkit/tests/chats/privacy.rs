//! Non-members learn nothing about a private group: every method answers as for a group
//! that does not exist.

use ciborium::Value;
use winichat_protocol::error_code::{ErrorBody, ErrorCode};
use winichat_protocol::gateway::chat::{self as api, method};
use winichat_protocol::gateway::to_value;
use winichat_protocol::group::{EVERYONE, Permissions, Visibility};
use winichat_protocol::ids::{GroupId, UserId};
use winichat_testkit::client::{Client, txn};
use winichat_testkit::node::Backend;

use crate::common::{Chat, kick, no_such_group, start, target, txn_group, users};

on_both!(a_non_member_learns_nothing_about_a_private_group);

/// Every group-addressed method, with params for `group` (`seq` a message of it, `member` a
/// member of it).
fn probes(group: &GroupId, seq: u64, member: &UserId) -> Vec<(&'static str, Value)> {
    let history = |before, after, around| api::HistoryParams {
        group: group.clone(),
        before,
        after,
        around,
        limit: None,
    };
    vec![
        (
            method::CHATS_GET,
            v(&api::GroupParams {
                group: group.clone(),
            }),
        ),
        (method::MSGS_HISTORY, v(&history(None, None, None))),
        (method::MSGS_HISTORY, v(&history(Some(seq + 1), None, None))),
        (method::MSGS_HISTORY, v(&history(None, Some(0), None))),
        (method::MSGS_HISTORY, v(&history(None, None, Some(seq)))),
        (
            method::MSGS_POST,
            v(&crate::common::post_params(group, "hi")),
        ),
        (
            method::MSGS_POST,
            v(&api::PostParams {
                reply_to: Some(seq),
                ..crate::common::post_params(group, "hi")
            }),
        ),
        (
            method::MSGS_EDIT,
            v(&api::EditParams {
                txn: txn(),
                group: group.clone(),
                seq,
                text: "x".to_owned(),
            }),
        ),
        (
            method::MSGS_DELETE,
            v(&api::MsgParams {
                txn: txn(),
                group: group.clone(),
                seq,
            }),
        ),
        (
            method::MSGS_REACT,
            v(&api::ReactParams {
                txn: txn(),
                group: group.clone(),
                seq,
                emoji: "👀".to_owned(),
                on: true,
            }),
        ),
        (
            method::MSGS_PIN,
            v(&api::PinParams {
                txn: txn(),
                group: group.clone(),
                seq,
                on: true,
            }),
        ),
        (
            method::MSGS_READ,
            v(&api::ReadParams {
                group: group.clone(),
                seq,
            }),
        ),
        (
            method::MSGS_SEEN_BY,
            v(&api::ReadParams {
                group: group.clone(),
                seq,
            }),
        ),
        (
            method::MSGS_TYPING,
            v(&api::GroupParams {
                group: group.clone(),
            }),
        ),
        (
            method::LINKS_LIST,
            v(&api::GroupParams {
                group: group.clone(),
            }),
        ),
        (
            method::LINKS_CREATE,
            v(&api::LinkCreateParams {
                group: group.clone(),
                expires_in: None,
                max_uses: None,
            }),
        ),
        (
            method::LINKS_REVOKE,
            v(&api::LinkParams {
                group: group.clone(),
                code: "whatever".to_owned(),
            }),
        ),
        (method::MEMBERS_KICK, v(&kick(group, member, ""))),
        (method::MEMBERS_BAN, v(&kick(group, member, ""))),
        (method::MEMBERS_UNBAN, v(&target(group, member))),
        (
            method::MEMBERS_ROLES,
            v(&api::SetRolesParams {
                txn: txn(),
                group: group.clone(),
                user: member.clone(),
                roles: vec![],
            }),
        ),
        (
            method::BANS_LIST,
            v(&api::GroupParams {
                group: group.clone(),
            }),
        ),
        (
            method::ROLES_CREATE,
            v(&api::RoleCreateParams {
                txn: txn(),
                group: group.clone(),
                name: "r".to_owned(),
                colour: String::new(),
                permissions: Permissions::NONE,
                rank: None,
            }),
        ),
        (
            method::ROLES_UPDATE,
            v(&api::RoleUpdateParams {
                txn: txn(),
                group: group.clone(),
                role: EVERYONE,
                name: None,
                colour: None,
                permissions: Some(Permissions::ALL),
                rank: None,
            }),
        ),
        (
            method::ROLES_DELETE,
            v(&api::RoleDeleteParams {
                txn: txn(),
                group: group.clone(),
                role: 1,
            }),
        ),
        (
            method::AUDIT_LIST,
            v(&api::AuditParams {
                group: group.clone(),
                before: None,
                limit: None,
            }),
        ),
        (
            method::GROUPS_UPDATE,
            v(&api::GroupUpdateParams {
                txn: txn(),
                group: group.clone(),
                name: Some("mine".to_owned()),
                description: None,
                visibility: None,
                handle: None,
                photo: None,
            }),
        ),
        (method::GROUPS_DELETE, v(&txn_group(group))),
        (method::GROUPS_TRANSFER, v(&target(group, member))),
        (method::GROUPS_LEAVE, v(&txn_group(group))),
        (
            method::GROUPS_JOIN,
            v(&api::JoinParams {
                txn: txn(),
                group: Some(group.clone()),
                handle: None,
            }),
        ),
        (method::INVITES_SEND, v(&target(group, member))),
        (method::INVITES_ACCEPT, v(&txn_group(group))),
        (method::INVITES_DECLINE, v(&txn_group(group))),
    ]
}

fn v<T: serde::Serialize>(params: &T) -> Value {
    to_value(params).expect("params encode")
}

async fn probe_all(
    c: &mut Client,
    group: &GroupId,
    seq: u64,
    member: &UserId,
) -> Vec<(String, ErrorBody)> {
    let mut out = Vec::new();
    for (name, params) in probes(group, seq, member) {
        match c.call(name, params).await {
            Ok(v) => panic!("{name} on {group} by {} succeeded: {v:?}", c.user()),
            Err(e) => out.push((name.to_owned(), e)),
        }
    }
    out
}

async fn a_non_member_learns_nothing_about_a_private_group(backend: Backend) {
    let node = start(backend).await;
    let [mut owner, mut member, mut stranger, mut banned] =
        users(&node, ["owner", "member", "stranger", "banned"]).await;
    let group = owner
        .create_group("Secret", Visibility::Private, None)
        .await
        .group;
    owner.invite_and_join(&group, &mut member).await;
    owner.invite_and_join(&group, &mut banned).await;
    let _ = owner
        .create_role(&group, "r", Permissions::NONE, None)
        .await;
    let seq = member.post(&group, "for members only").await.seq;
    let _: api::WriteResult = owner
        .ok(method::MEMBERS_BAN, &kick(&group, banned.user(), ""))
        .await;
    let missing = no_such_group(&node);

    let member_id = member.user().clone();
    for c in [&mut stranger, &mut banned] {
        let real = probe_all(c, &group, seq, &member_id).await;
        let fake = probe_all(c, &missing, seq, &member_id).await;
        assert_eq!(real.len(), fake.len());
        for ((name, real), (_, fake)) in real.iter().zip(&fake) {
            assert_eq!(
                real.code,
                ErrorCode::NotFound,
                "{name} by {}: {real:?}",
                c.user()
            );
            assert_eq!(
                real,
                fake,
                "{name} by {}: a private group answers like a missing one",
                c.user()
            );
        }
    }
    // The directory does not list it, and the group's members were not disturbed.
    let found: api::DirectoryResult = stranger
        .ok(
            method::GROUPS_DIRECTORY,
            &api::DirectoryParams {
                query: "secret".to_owned(),
                limit: None,
                after: None,
            },
        )
        .await;
    assert!(found.groups.is_empty());
    let detail = owner.detail(&group).await;
    assert_eq!(detail.members.len(), 2);
    assert_eq!(
        owner.latest(&group).await.items.last().map(|i| i.seq),
        Some(seq + 1)
    );
    node.shutdown().await;
}
