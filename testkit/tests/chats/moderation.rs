//! Roles and moderation: every action allowed and refused by rank and permission.

use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::event::EventKind;
use winichat_protocol::gateway::chat::{self as api, method};
use winichat_protocol::group::{EVERYONE, EVERYONE_RANK, Permissions, RoleId, Visibility};
use winichat_protocol::ids::GroupId;
use winichat_testkit::client::{Client, txn};
use winichat_testkit::node::{Backend, TestNode};

use crate::common::{Chat, field, group_params, kick, start, target, users};

on_both!(
    kick_follows_rank_and_permission,
    ban_and_unban_follow_rank_and_permission,
    member_roles_grant_only_what_one_holds_below_oneself,
    roles_are_created_updated_reordered_and_deleted,
    manage_messages_deletes_juniors_messages,
    the_audit_log_needs_view_audit_log,
);

const NOT_SENIOR: &str = "you can only act on members and roles ranked below you";
const MISSING: &str = "you lack a permission for this";

/// A group with: owner; admin (role rank 1); mod1 and mod2 (role rank 2); plain and other
/// (no role); and outsider (not a member).
struct Cast {
    node: TestNode,
    group: GroupId,
    owner: Client,
    admin: Client,
    mod1: Client,
    mod2: Client,
    plain: Client,
    other: Client,
    outsider: Client,
    admin_role: RoleId,
    mod_role: RoleId,
}

const ADMIN: Permissions = Permissions(
    Permissions::KICK_MEMBERS.0
        | Permissions::BAN_MEMBERS.0
        | Permissions::MANAGE_ROLES.0
        | Permissions::ASSIGN_ROLES.0
        | Permissions::MANAGE_MESSAGES.0
        | Permissions::VIEW_AUDIT_LOG.0
        | Permissions::PIN_MESSAGES.0,
);
const MODERATOR: Permissions = Permissions(
    Permissions::KICK_MEMBERS.0
        | Permissions::BAN_MEMBERS.0
        | Permissions::ASSIGN_ROLES.0
        | Permissions::MANAGE_MESSAGES.0,
);

async fn cast(backend: Backend) -> Cast {
    let node = start(backend).await;
    let [
        mut owner,
        mut admin,
        mut mod1,
        mut mod2,
        mut plain,
        mut other,
        outsider,
    ] = users(
        &node,
        [
            "owner", "admin", "mod1", "mod2", "plain", "other", "outsider",
        ],
    )
    .await;
    let group = owner
        .create_group("Moderated", Visibility::Private, None)
        .await
        .group;
    for c in [&mut admin, &mut mod1, &mut mod2, &mut plain, &mut other] {
        owner.invite_and_join(&group, c).await;
    }
    let admin_role = owner.create_role(&group, "admin", ADMIN, None).await;
    let mod_role = owner.create_role(&group, "mod", MODERATOR, None).await;
    owner.set_roles(&group, admin.user(), &[admin_role]).await;
    owner.set_roles(&group, mod1.user(), &[mod_role]).await;
    owner.set_roles(&group, mod2.user(), &[mod_role]).await;
    let detail = owner.detail(&group).await;
    let ranks: Vec<(String, u32)> = detail
        .members
        .iter()
        .map(|m| (m.user.name().to_owned(), m.rank))
        .collect();
    assert_eq!(
        ranks,
        vec![
            ("owner".to_owned(), 0),
            ("admin".to_owned(), 1),
            ("mod1".to_owned(), 2),
            ("mod2".to_owned(), 2),
            // Equal ranks in the order they joined.
            ("plain".to_owned(), EVERYONE_RANK),
            ("other".to_owned(), EVERYONE_RANK),
        ]
    );
    Cast {
        node,
        group,
        owner,
        admin,
        mod1,
        mod2,
        plain,
        other,
        outsider,
        admin_role,
        mod_role,
    }
}

async fn kick_follows_rank_and_permission(backend: Backend) {
    let Cast {
        node,
        group,
        mut owner,
        mut admin,
        mut mod1,
        mod2,
        mut plain,
        other,
        mut outsider,
        ..
    } = cast(backend).await;
    let g = &group;
    let e = plain
        .err(
            method::MEMBERS_KICK,
            &kick(g, other.user(), ""),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, MISSING, "lacking kick_members");
    let e = mod1
        .err(
            method::MEMBERS_KICK,
            &kick(g, mod2.user(), ""),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, NOT_SENIOR, "equal rank");
    let e = mod1
        .err(
            method::MEMBERS_KICK,
            &kick(g, admin.user(), ""),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, NOT_SENIOR, "a senior");
    let e = admin
        .err(
            method::MEMBERS_KICK,
            &kick(g, owner.user(), ""),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(
        e.message,
        "the owner cannot be removed; transfer ownership first"
    );
    mod1.err(
        method::MEMBERS_KICK,
        &kick(g, mod1.user(), ""),
        ErrorCode::Forbidden,
    )
    .await;
    let e = mod1
        .err(
            method::MEMBERS_KICK,
            &kick(g, outsider.user(), ""),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, "that user is not a member");
    // A non-member cannot even tell the group exists.
    outsider
        .err(
            method::MEMBERS_KICK,
            &kick(g, plain.user(), ""),
            ErrorCode::NotFound,
        )
        .await;

    // Junior by a moderator, with a reason; the kicked one is told.
    plain.discard_pushes(api::event::CHAT_EVENT);
    let _: api::WriteResult = mod1
        .ok(method::MEMBERS_KICK, &kick(g, plain.user(), "  be nice  "))
        .await;
    let told = plain.event_until(g, EventKind::MemberKick).await;
    assert_eq!(told.item.sender, *mod1.user());
    assert_eq!(
        field(&told.item.body, "user").and_then(|v| v.as_text()),
        Some(plain.user().to_string().as_str())
    );
    assert_eq!(
        field(&told.item.body, "reason").and_then(|v| v.as_text()),
        Some("be nice")
    );
    // Gone: no longer a member, and the private group is now unknown to them.
    plain
        .err(method::CHATS_GET, &group_params(g), ErrorCode::NotFound)
        .await;
    assert!(plain.try_post(g, "let me back").await.is_err());
    // Kicking is not banning: an invite brings them back.
    owner.invite_and_join(g, &mut plain).await;
    // Seniors kick juniors of any kind.
    let _: api::WriteResult = admin
        .ok(method::MEMBERS_KICK, &kick(g, mod2.user(), ""))
        .await;
    let _: api::WriteResult = owner
        .ok(method::MEMBERS_KICK, &kick(g, admin.user(), ""))
        .await;
    let _: api::WriteResult = mod1
        .ok(method::MEMBERS_KICK, &kick(g, other.user(), ""))
        .await;
    assert_eq!(owner.detail(g).await.members.len(), 3, "owner, mod1, plain");
    node.shutdown().await;
}

async fn ban_and_unban_follow_rank_and_permission(backend: Backend) {
    let Cast {
        node,
        group,
        mut owner,
        mut admin,
        mut mod1,
        mut mod2,
        mut plain,
        mut other,
        outsider,
        ..
    } = cast(backend).await;
    let g = &group;
    let e = plain
        .err(
            method::MEMBERS_BAN,
            &kick(g, other.user(), ""),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, MISSING);
    let e = mod1
        .err(
            method::MEMBERS_BAN,
            &kick(g, mod2.user(), ""),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, NOT_SENIOR);
    mod1.err(
        method::MEMBERS_BAN,
        &kick(g, admin.user(), ""),
        ErrorCode::Forbidden,
    )
    .await;
    admin
        .err(
            method::MEMBERS_BAN,
            &kick(g, owner.user(), ""),
            ErrorCode::Forbidden,
        )
        .await;
    plain
        .err(method::BANS_LIST, &group_params(g), ErrorCode::Forbidden)
        .await;

    // A moderator bans a member, with a reason: the banned one is told, then gone.
    plain.discard_pushes(api::event::CHAT_EVENT);
    let _: api::WriteResult = mod1
        .ok(method::MEMBERS_BAN, &kick(g, plain.user(), "spam"))
        .await;
    let told = plain.event_until(g, EventKind::MemberBan).await;
    assert_eq!(
        field(&told.item.body, "reason").and_then(|v| v.as_text()),
        Some("spam")
    );
    mod1.err(
        method::MEMBERS_BAN,
        &kick(g, plain.user(), "again"),
        ErrorCode::Conflict,
    )
    .await;
    // Anyone may be banned before they ever join.
    let _: api::WriteResult = admin
        .ok(
            method::MEMBERS_BAN,
            &kick(g, outsider.user(), "pre-emptive"),
        )
        .await;
    let bans: api::BanList = mod2.ok(method::BANS_LIST, &group_params(g)).await;
    // Each ban with the rank it counts at (admin 1, moderators 2).
    let listed: Vec<(String, String, u32, String)> = bans
        .bans
        .iter()
        .map(|b| {
            (
                b.user.name().to_owned(),
                b.by.name().to_owned(),
                b.by_rank,
                b.reason.clone(),
            )
        })
        .collect();
    assert!(
        listed.contains(&("plain".to_owned(), "mod1".to_owned(), 2, "spam".to_owned())),
        "{listed:?}"
    );
    assert!(
        listed.contains(&(
            "outsider".to_owned(),
            "admin".to_owned(),
            1,
            "pre-emptive".to_owned()
        )),
        "{listed:?}"
    );
    assert_eq!(listed.len(), 2);
    assert!(bans.bans[0].at >= bans.bans[1].at, "newest first");

    // The banned cannot come back: not by invite, not by link; they learn nothing.
    let e = owner
        .err(
            method::INVITES_SEND,
            &target(g, plain.user()),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, "that user is banned from this group");
    let link: api::LinkInfo = owner
        .ok(
            method::LINKS_CREATE,
            &api::LinkCreateParams {
                group: g.clone(),
                expires_in: None,
                max_uses: Some(5),
            },
        )
        .await;
    let redeemed = plain
        .call_as::<_, api::ChatSummary>(
            method::LINKS_REDEEM,
            &api::RedeemParams {
                txn: txn(),
                code: link.code.clone(),
                node: None,
            },
        )
        .await;
    assert!(
        redeemed.is_err(),
        "a banned user redeems a link: {redeemed:?}"
    );
    let list: api::LinkList = owner.ok(method::LINKS_LIST, &group_params(g)).await;
    assert_eq!(list.links[0].uses, 0, "a refused redemption spends no use");
    plain
        .err(method::CHATS_GET, &group_params(g), ErrorCode::NotFound)
        .await;

    // Unban: at least as senior as whoever banned.
    let e = plain
        .err(
            method::MEMBERS_UNBAN,
            &target(g, other.user()),
            ErrorCode::NotFound,
        )
        .await;
    assert_eq!(e.message, "no such chat");
    let e = other
        .err(
            method::MEMBERS_UNBAN,
            &target(g, plain.user()),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, MISSING);
    let e = mod1
        .err(
            method::MEMBERS_UNBAN,
            &target(g, outsider.user()),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, NOT_SENIOR, "banned by a senior");
    let e = mod1
        .err(
            method::MEMBERS_UNBAN,
            &target(g, other.user()),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, "that user is not banned");
    // An equal (mod2, like mod1 who banned) may lift it.
    let _: api::WriteResult = mod2
        .ok(method::MEMBERS_UNBAN, &target(g, plain.user()))
        .await;
    let _: api::WriteResult = owner
        .ok(method::MEMBERS_UNBAN, &target(g, outsider.user()))
        .await;
    let bans: api::BanList = admin.ok(method::BANS_LIST, &group_params(g)).await;
    assert!(bans.bans.is_empty());
    // Unbanned is not re-admitted: they may be invited again.
    plain
        .err(method::CHATS_GET, &group_params(g), ErrorCode::NotFound)
        .await;
    owner.invite_and_join(g, &mut plain).await;
    let _ = outsider;
    node.shutdown().await;
}

async fn member_roles_grant_only_what_one_holds_below_oneself(backend: Backend) {
    let Cast {
        node,
        group,
        mut owner,
        mut admin,
        mut mod1,
        mod2,
        mut plain,
        mut other,
        outsider,
        admin_role,
        mod_role,
    } = cast(backend).await;
    let g = &group;
    let roles = |user: &winichat_protocol::ids::UserId, roles: Vec<RoleId>| api::SetRolesParams {
        txn: txn(),
        group: g.clone(),
        user: user.clone(),
        roles,
    };
    // A role that grants pin_messages, which moderators lack, at rank 3.
    let pinner = owner
        .create_role(g, "pinner", Permissions::PIN_MESSAGES, None)
        .await;

    let e = plain
        .err(
            method::MEMBERS_ROLES,
            &roles(other.user(), vec![pinner]),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, MISSING);
    let e = mod1
        .err(
            method::MEMBERS_ROLES,
            &roles(plain.user(), vec![mod_role]),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, NOT_SENIOR, "a role of one's own rank");
    mod1.err(
        method::MEMBERS_ROLES,
        &roles(plain.user(), vec![admin_role]),
        ErrorCode::Forbidden,
    )
    .await;
    let e = mod1
        .err(
            method::MEMBERS_ROLES,
            &roles(plain.user(), vec![pinner]),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, "you cannot grant permissions you do not have");
    let e = mod1
        .err(
            method::MEMBERS_ROLES,
            &roles(mod2.user(), vec![]),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, NOT_SENIOR, "an equal's roles");
    mod1.err(
        method::MEMBERS_ROLES,
        &roles(admin.user(), vec![]),
        ErrorCode::Forbidden,
    )
    .await;
    admin
        .err(
            method::MEMBERS_ROLES,
            &roles(owner.user(), vec![mod_role]),
            ErrorCode::Forbidden,
        )
        .await;
    admin
        .err(
            method::MEMBERS_ROLES,
            &roles(outsider.user(), vec![mod_role]),
            ErrorCode::Forbidden,
        )
        .await;
    let e = admin
        .err(
            method::MEMBERS_ROLES,
            &roles(plain.user(), vec![99]),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, "no such role");
    admin
        .err(
            method::MEMBERS_ROLES,
            &roles(plain.user(), vec![EVERYONE]),
            ErrorCode::BadRequest,
        )
        .await;

    // Allowed: admin (rank 1, holds pin_messages) gives plain mod + pinner.
    let given: api::WriteResult = admin
        .ok(
            method::MEMBERS_ROLES,
            &roles(plain.user(), vec![mod_role, pinner]),
        )
        .await;
    let pushed = plain.event_at(g, given.seq).await;
    assert_eq!(pushed.item.kind, EventKind::MemberRoles);
    assert_eq!(pushed.item.sender, *admin.user());
    let me = plain.summary(g).await;
    assert_eq!(me.my_rank, 2);
    assert!(
        me.my_permissions
            .contains(MODERATOR | Permissions::PIN_MESSAGES)
    );
    // Plain (now rank 2) can kick other (everyone) but not mod1 (rank 2).
    let _: api::WriteResult = plain
        .ok(method::MEMBERS_KICK, &kick(g, other.user(), ""))
        .await;
    plain
        .err(
            method::MEMBERS_KICK,
            &kick(g, mod1.user(), ""),
            ErrorCode::Forbidden,
        )
        .await;
    // Taking a role away needs seniority over it too.
    mod1.err(
        method::MEMBERS_ROLES,
        &roles(plain.user(), vec![pinner]),
        ErrorCode::Forbidden,
    )
    .await;
    // The owner grants anything.
    let _: api::WriteResult = owner
        .ok(
            method::MEMBERS_ROLES,
            &roles(plain.user(), vec![admin_role]),
        )
        .await;
    assert_eq!(plain.summary(g).await.my_rank, 1);
    let _: api::WriteResult = owner
        .ok(method::MEMBERS_ROLES, &roles(plain.user(), vec![]))
        .await;
    let me = plain.summary(g).await;
    assert_eq!(me.my_rank, EVERYONE_RANK);
    assert_eq!(me.my_permissions, Permissions::EVERYONE_DEFAULT);
    let _ = &mut other;
    node.shutdown().await;
}

fn role_update(group: &GroupId, role: RoleId) -> api::RoleUpdateParams {
    api::RoleUpdateParams {
        txn: txn(),
        group: group.clone(),
        role,
        name: None,
        colour: None,
        permissions: None,
        rank: None,
    }
}

fn role_create(
    group: &GroupId,
    name: &str,
    permissions: Permissions,
    rank: Option<u32>,
) -> api::RoleCreateParams {
    api::RoleCreateParams {
        txn: txn(),
        group: group.clone(),
        name: name.to_owned(),
        colour: "#336699".to_owned(),
        permissions,
        rank,
    }
}

async fn role_ranks(c: &mut Client, group: &GroupId) -> Vec<(String, u32)> {
    c.detail(group)
        .await
        .roles
        .into_iter()
        .map(|r| (r.name, r.rank))
        .collect()
}

async fn roles_are_created_updated_reordered_and_deleted(backend: Backend) {
    let Cast {
        node,
        group,
        mut owner,
        mut admin,
        mut mod1,
        mut mod2,
        mut plain,
        mod_role,
        admin_role,
        ..
    } = cast(backend).await;
    let g = &group;
    // Creating: manage_roles, below oneself, granting only what one holds.
    let e = mod1
        .err(
            method::ROLES_CREATE,
            &role_create(g, "x", Permissions::NONE, None),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, MISSING);
    let e = admin
        .err(
            method::ROLES_CREATE,
            &role_create(g, "x", Permissions::NONE, Some(1)),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, "that rank is not available to you");
    admin
        .err(
            method::ROLES_CREATE,
            &role_create(g, "x", Permissions::NONE, Some(9)),
            ErrorCode::Forbidden,
        )
        .await;
    let e = admin
        .err(
            method::ROLES_CREATE,
            &role_create(g, "x", Permissions::EDIT_GROUP_INFO, None),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, "you cannot grant permissions you do not have");
    for name in ["", &"r".repeat(33)] {
        owner
            .err(
                method::ROLES_CREATE,
                &role_create(g, name, Permissions::NONE, None),
                ErrorCode::BadRequest,
            )
            .await;
    }
    // Admin creates "helper" right below themself: the others move down.
    let helper: api::WriteResult = admin
        .ok(
            method::ROLES_CREATE,
            &role_create(g, "helper", Permissions::PIN_MESSAGES, Some(2)),
        )
        .await;
    let helper = helper.role.expect("role id");
    assert_eq!(
        role_ranks(&mut owner, g).await,
        vec![
            ("admin".to_owned(), 1),
            ("helper".to_owned(), 2),
            ("mod".to_owned(), 3),
            ("everyone".to_owned(), EVERYONE_RANK),
        ]
    );
    assert_eq!(
        mod1.summary(g).await.my_rank,
        3,
        "mod moved down with its role"
    );

    // Updating: seniority over the role; granting only what one holds.
    let e = admin
        .err(
            method::ROLES_UPDATE,
            &api::RoleUpdateParams {
                name: Some("boss".to_owned()),
                ..role_update(g, admin_role)
            },
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, NOT_SENIOR, "one's own role");
    admin
        .err(
            method::ROLES_UPDATE,
            &api::RoleUpdateParams {
                permissions: Some(MODERATOR | Permissions::EDIT_GROUP_INFO),
                ..role_update(g, mod_role)
            },
            ErrorCode::Forbidden,
        )
        .await;
    let _: api::WriteResult = admin
        .ok(
            method::ROLES_UPDATE,
            &api::RoleUpdateParams {
                name: Some("moderator".to_owned()),
                colour: Some("#ff0000".to_owned()),
                permissions: Some(MODERATOR | Permissions::PIN_MESSAGES),
                ..role_update(g, mod_role)
            },
        )
        .await;
    let detail = mod2.detail(g).await;
    let role = detail
        .roles
        .iter()
        .find(|r| r.id == mod_role)
        .expect("mod role");
    assert_eq!(role.name, "moderator");
    assert_eq!(role.colour, "#ff0000");
    assert!(
        mod2.summary(g)
            .await
            .my_permissions
            .contains(Permissions::PIN_MESSAGES)
    );
    // everyone takes only permissions; only someone senior to it changes them (everyone is).
    owner
        .err(
            method::ROLES_UPDATE,
            &api::RoleUpdateParams {
                name: Some("all".to_owned()),
                ..role_update(g, EVERYONE)
            },
            ErrorCode::BadRequest,
        )
        .await;
    plain
        .err(
            method::ROLES_UPDATE,
            &api::RoleUpdateParams {
                permissions: Some(Permissions::NONE),
                ..role_update(g, EVERYONE)
            },
            ErrorCode::Forbidden,
        )
        .await;

    // Reorder: admin may move roles below itself only.
    let e = admin
        .err(
            method::ROLES_UPDATE,
            &api::RoleUpdateParams {
                rank: Some(1),
                ..role_update(g, mod_role)
            },
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, "that rank is not available to you");
    let _: api::WriteResult = admin
        .ok(
            method::ROLES_UPDATE,
            &api::RoleUpdateParams {
                rank: Some(2),
                ..role_update(g, mod_role)
            },
        )
        .await;
    assert_eq!(
        role_ranks(&mut owner, g).await,
        vec![
            ("admin".to_owned(), 1),
            ("moderator".to_owned(), 2),
            ("helper".to_owned(), 3),
            ("everyone".to_owned(), EVERYONE_RANK),
        ]
    );
    // The owner moves a role to the top.
    let _: api::WriteResult = owner
        .ok(
            method::ROLES_UPDATE,
            &api::RoleUpdateParams {
                rank: Some(1),
                ..role_update(g, helper)
            },
        )
        .await;
    assert_eq!(
        role_ranks(&mut owner, g).await,
        vec![
            ("helper".to_owned(), 1),
            ("admin".to_owned(), 2),
            ("moderator".to_owned(), 3),
            ("everyone".to_owned(), EVERYONE_RANK),
        ]
    );
    assert_eq!(admin.summary(g).await.my_rank, 2);
    // Now admin is below helper: cannot touch it.
    admin
        .err(
            method::ROLES_DELETE,
            &api::RoleDeleteParams {
                txn: txn(),
                group: g.clone(),
                role: helper,
            },
            ErrorCode::Forbidden,
        )
        .await;
    owner
        .err(
            method::ROLES_UPDATE,
            &api::RoleUpdateParams {
                rank: Some(4),
                ..role_update(g, helper)
            },
            ErrorCode::Forbidden,
        )
        .await;

    // Delete: members of the role fall back to everyone.
    let delete = |role| api::RoleDeleteParams {
        txn: txn(),
        group: g.clone(),
        role,
    };
    mod1.err(
        method::ROLES_DELETE,
        &delete(mod_role),
        ErrorCode::Forbidden,
    )
    .await;
    owner
        .err(
            method::ROLES_DELETE,
            &delete(EVERYONE),
            ErrorCode::Forbidden,
        )
        .await;
    owner
        .err(method::ROLES_DELETE, &delete(77), ErrorCode::Forbidden)
        .await;
    mod1.discard_pushes(api::event::CHAT_EVENT);
    let _: api::WriteResult = admin.ok(method::ROLES_DELETE, &delete(mod_role)).await;
    let pushed = mod1.event_until(g, EventKind::RoleDelete).await;
    assert_eq!(pushed.item.sender, *admin.user());
    let me = mod1.summary(g).await;
    assert_eq!(me.my_rank, EVERYONE_RANK);
    assert_eq!(me.my_permissions, Permissions::EVERYONE_DEFAULT);
    let detail = owner.detail(g).await;
    assert!(
        detail
            .members
            .iter()
            .filter(|m| m.user == *mod1.user() || m.user == *mod2.user())
            .all(|m| m.roles.is_empty() && m.rank == EVERYONE_RANK)
    );
    assert_eq!(
        role_ranks(&mut owner, g).await,
        vec![
            ("helper".to_owned(), 1),
            ("admin".to_owned(), 2),
            ("everyone".to_owned(), EVERYONE_RANK),
        ]
    );
    let e = mod1
        .err(
            method::MEMBERS_KICK,
            &kick(g, plain.user(), ""),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, MISSING, "the role's powers went with it");
    node.shutdown().await;
}

async fn manage_messages_deletes_juniors_messages(backend: Backend) {
    let Cast {
        node,
        group,
        mut owner,
        mut admin,
        mut mod1,
        mut mod2,
        mut plain,
        mut other,
        ..
    } = cast(backend).await;
    let g = &group;
    let delete = |seq| api::MsgParams {
        txn: txn(),
        group: g.clone(),
        seq,
    };
    let by_plain = plain.post(g, "junior's").await;
    let by_admin = admin.post(g, "senior's").await;
    let by_mod2 = mod2.post(g, "equal's").await;
    let by_owner = owner.post(g, "owner's").await;
    let e = other
        .err(
            method::MSGS_DELETE,
            &delete(by_plain.seq),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, MISSING);
    for seq in [by_admin.seq, by_mod2.seq, by_owner.seq] {
        let e = mod1
            .err(method::MSGS_DELETE, &delete(seq), ErrorCode::Forbidden)
            .await;
        assert_eq!(e.message, NOT_SENIOR);
    }
    // Editing someone else's: never, whatever the rank.
    owner
        .err(
            method::MSGS_EDIT,
            &api::EditParams {
                txn: txn(),
                group: g.clone(),
                seq: by_plain.seq,
                text: "owner's words".to_owned(),
            },
            ErrorCode::Forbidden,
        )
        .await;
    plain.discard_pushes(api::event::CHAT_EVENT);
    let _: api::WriteResult = mod1.ok(method::MSGS_DELETE, &delete(by_plain.seq)).await;
    let pushed = plain.event_until(g, EventKind::MsgDelete).await;
    assert_eq!(pushed.item.sender, *mod1.user());
    let _: api::WriteResult = owner.ok(method::MSGS_DELETE, &delete(by_admin.seq)).await;
    let _: api::WriteResult = admin.ok(method::MSGS_DELETE, &delete(by_mod2.seq)).await;
    let items = other.latest(g).await.items;
    for seq in [by_plain.seq, by_admin.seq, by_mod2.seq] {
        assert!(items.iter().any(|i| i.seq == seq && i.deleted), "seq {seq}");
    }
    assert!(items.iter().any(|i| i.seq == by_owner.seq && !i.deleted));
    // Pin: needs pin_messages (admin has it, mod1 does not).
    let pin = |seq, on| api::PinParams {
        txn: txn(),
        group: g.clone(),
        seq,
        on,
    };
    mod1.err(
        method::MSGS_PIN,
        &pin(by_owner.seq, true),
        ErrorCode::Forbidden,
    )
    .await;
    let _: api::WriteResult = admin.ok(method::MSGS_PIN, &pin(by_owner.seq, true)).await;
    assert_eq!(other.summary(g).await.pinned, vec![by_owner.seq]);
    mod1.err(
        method::MSGS_PIN,
        &pin(by_owner.seq, false),
        ErrorCode::Forbidden,
    )
    .await;
    let _: api::WriteResult = admin.ok(method::MSGS_PIN, &pin(by_owner.seq, false)).await;
    assert!(other.summary(g).await.pinned.is_empty());
    // Without send_messages on everyone, plain members cannot post (roles can give it back).
    let _: api::WriteResult = owner
        .ok(
            method::ROLES_UPDATE,
            &api::RoleUpdateParams {
                permissions: Some(Permissions::ADD_REACTIONS),
                ..role_update(g, EVERYONE)
            },
        )
        .await;
    let e = plain.try_post(g, "hello?").await.expect_err("muted");
    assert_eq!(e.code, ErrorCode::Forbidden);
    assert_eq!(e.message, MISSING);
    let e = plain
        .call_as::<_, winichat_protocol::gateway::Empty>(method::MSGS_TYPING, &group_params(g))
        .await
        .expect_err("no typing without send_messages");
    assert_eq!(e.code, ErrorCode::Forbidden);
    node.shutdown().await;
}

async fn the_audit_log_needs_view_audit_log(backend: Backend) {
    let Cast {
        node,
        group,
        mut owner,
        mut admin,
        mut mod1,
        mut plain,
        mut other,
        mut outsider,
        ..
    } = cast(backend).await;
    let g = &group;
    let audit = |before| api::AuditParams {
        group: g.clone(),
        before,
        limit: None,
    };
    let msg = plain.post(g, "to be removed").await;
    let _ = other.post(g, "chatter").await;
    let _: api::WriteResult = mod1
        .ok(method::MEMBERS_KICK, &kick(g, other.user(), "noise"))
        .await;

    let e = mod1
        .err(method::AUDIT_LIST, &audit(None), ErrorCode::Forbidden)
        .await;
    assert_eq!(e.message, MISSING);
    plain
        .err(method::AUDIT_LIST, &audit(None), ErrorCode::Forbidden)
        .await;
    outsider
        .err(method::AUDIT_LIST, &audit(None), ErrorCode::NotFound)
        .await;
    let seen_by_admin: api::HistoryResult = admin.ok(method::AUDIT_LIST, &audit(None)).await;
    let seen_by_owner: api::HistoryResult = owner.ok(method::AUDIT_LIST, &audit(None)).await;
    assert_eq!(seen_by_admin, seen_by_owner);
    let kinds: Vec<EventKind> = seen_by_owner.items.iter().map(|i| i.kind.clone()).collect();
    // Five invites; joins, messages and the create line are not admin events.
    let mut expected = vec![EventKind::MemberInvite; 5];
    expected.extend([
        EventKind::RoleCreate,
        EventKind::RoleCreate,
        EventKind::MemberRoles,
        EventKind::MemberRoles,
        EventKind::MemberRoles,
        EventKind::MemberKick,
    ]);
    assert_eq!(kinds, expected);
    assert!(!seen_by_owner.more_before);
    assert!(seen_by_owner.items.windows(2).all(|w| w[0].seq < w[1].seq));
    // Paging back.
    let last_two: api::HistoryResult = owner
        .ok(
            method::AUDIT_LIST,
            &api::AuditParams {
                group: g.clone(),
                before: None,
                limit: Some(2),
            },
        )
        .await;
    assert_eq!(last_two.items.len(), 2);
    assert!(last_two.more_before);
    let earlier: api::HistoryResult = owner
        .ok(method::AUDIT_LIST, &audit(Some(last_two.items[0].seq)))
        .await;
    assert_eq!(earlier.items.len(), kinds.len() - 2);

    // A moderator deleting someone else's message is an admin action (ARCHITECTURE / contract).
    let _: api::WriteResult = mod1
        .ok(
            method::MSGS_DELETE,
            &api::MsgParams {
                txn: txn(),
                group: g.clone(),
                seq: msg.seq,
            },
        )
        .await;
    let after: api::HistoryResult = owner.ok(method::AUDIT_LIST, &audit(None)).await;
    assert_eq!(
        after.items.last().map(|i| i.kind.clone()),
        Some(EventKind::MsgDelete),
        "msg.delete of someone else's message belongs in the audit log"
    );
    node.shutdown().await;
}
