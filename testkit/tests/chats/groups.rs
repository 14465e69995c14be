//! Groups: create, update, type and handle, transfer, delete, directory, join and leave.

use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::event::EventKind;
use winichat_protocol::gateway::Empty;
use winichat_protocol::gateway::chat::{self as api, method};
use winichat_protocol::group::{EVERYONE_RANK, GroupKind, OWNER_RANK, Permissions, Visibility};
use winichat_protocol::ids::{GroupId, Handle};
use winichat_testkit::client::{Client, txn};
use winichat_testkit::node::{Backend, TestNode};

use crate::common::{Chat, QUIET, Soft, group_params, start, target, txn_group, users};

on_both!(
    groups_are_created_private_or_public_with_a_unique_handle,
    group_info_is_updated_by_those_allowed,
    public_private_switch_releases_the_handle,
    ownership_is_transferred,
    a_deleted_group_refuses_everything,
    directory_join_and_leave,
);

fn update(group: &GroupId) -> api::GroupUpdateParams {
    api::GroupUpdateParams {
        txn: txn(),
        group: group.clone(),
        name: None,
        description: None,
        visibility: None,
        handle: None,
        photo: None,
    }
}

fn create(name: &str, visibility: Visibility, handle: Option<&str>) -> api::GroupCreateParams {
    api::GroupCreateParams {
        txn: txn(),
        name: name.to_owned(),
        description: String::new(),
        visibility,
        handle: handle.map(str::to_owned),
    }
}

fn handle(node: &TestNode, name: &str) -> Handle {
    Handle::new(name, node.name()).expect("handle")
}

async fn directory(c: &mut Client, query: &str) -> Vec<api::DirectoryEntry> {
    let result: api::DirectoryResult = c
        .ok(
            method::GROUPS_DIRECTORY,
            &api::DirectoryParams {
                query: query.to_owned(),
                limit: None,
                after: None,
            },
        )
        .await;
    result.groups
}

async fn groups_are_created_private_or_public_with_a_unique_handle(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob] = users(&node, ["alice", "bob"]).await;
    let private = alice
        .create_group("Book club", Visibility::Private, None)
        .await;
    assert_eq!(private.kind, GroupKind::Group);
    assert_eq!(private.visibility, Visibility::Private);
    assert_eq!(private.handle, None);
    assert_eq!(&private.owner, alice.user());
    assert_eq!(private.members, 1);
    assert_eq!(private.my_rank, OWNER_RANK);
    assert_eq!(private.my_permissions, Permissions::ALL);
    assert_eq!(private.name, "Book club");
    let created = alice.event_of(EventKind::GroupCreate).await;
    assert_eq!(created.group, private.group);

    let public = alice
        .create_group("Rustaceans", Visibility::Public, Some("rustaceans"))
        .await;
    assert_eq!(public.handle, Some(handle(&node, "rustaceans")));
    assert_eq!(public.visibility, Visibility::Public);

    // A public group needs a handle; a private one has none; a handle is unique.
    alice
        .err(
            method::GROUPS_CREATE,
            &create("no handle", Visibility::Public, None),
            ErrorCode::BadRequest,
        )
        .await;
    alice
        .err(
            method::GROUPS_CREATE,
            &create("handle", Visibility::Private, Some("private_one")),
            ErrorCode::BadRequest,
        )
        .await;
    bob.err(
        method::GROUPS_CREATE,
        &create("again", Visibility::Public, Some("rustaceans")),
        ErrorCode::Conflict,
    )
    .await;
    alice
        .err(
            method::GROUPS_CREATE,
            &create("bad handle", Visibility::Public, Some("not a handle!")),
            ErrorCode::BadRequest,
        )
        .await;
    // Names: 1–64 characters.
    for name in [String::new(), "n".repeat(65)] {
        alice
            .err(
                method::GROUPS_CREATE,
                &create(&name, Visibility::Private, None),
                ErrorCode::BadRequest,
            )
            .await;
    }
    // Two users racing for one handle: one wins.
    let (race_a, race_b) = (
        create("race a", Visibility::Public, Some("contested")),
        create("race b", Visibility::Public, Some("contested")),
    );
    let (a, b) = tokio::join!(
        alice.call_as::<_, api::ChatSummary>(method::GROUPS_CREATE, &race_a),
        bob.call_as::<_, api::ChatSummary>(method::GROUPS_CREATE, &race_b),
    );
    assert!(
        a.is_ok() != b.is_ok(),
        "exactly one gets the handle: {a:?} / {b:?}"
    );
    let loser = if a.is_err() { a } else { b };
    assert_eq!(loser.expect_err("loser").code, ErrorCode::Conflict);

    let detail = alice.detail(&private.group).await;
    assert_eq!(detail.members.len(), 1);
    assert_eq!(detail.members[0].rank, OWNER_RANK);
    assert_eq!(detail.roles.len(), 1, "only everyone");
    assert_eq!(detail.roles[0].rank, EVERYONE_RANK);
    assert_eq!(detail.roles[0].permissions, Permissions::EVERYONE_DEFAULT);
    node.shutdown().await;
}

async fn group_info_is_updated_by_those_allowed(backend: Backend) {
    let node = start(backend).await;
    let [mut owner, mut editor, mut plain] = users(&node, ["owner", "editor", "plain"]).await;
    let group = owner
        .create_group("Before", Visibility::Private, None)
        .await
        .group;
    owner.invite_and_join(&group, &mut editor).await;
    owner.invite_and_join(&group, &mut plain).await;
    let role = owner
        .create_role(&group, "editors", Permissions::EDIT_GROUP_INFO, None)
        .await;
    owner.set_roles(&group, editor.user(), &[role]).await;

    let rename = |name: &str| api::GroupUpdateParams {
        name: Some(name.to_owned()),
        ..update(&group)
    };
    let e = plain
        .err(
            method::GROUPS_UPDATE,
            &rename("plain's"),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, "you lack a permission for this");
    plain.discard_pushes(api::event::CHAT_EVENT);
    let _: api::WriteResult = editor.ok(method::GROUPS_UPDATE, &rename("After")).await;
    let pushed = plain.event_until(&group, EventKind::GroupUpdate).await;
    assert_eq!(&pushed.item.sender, editor.user());
    let _: api::WriteResult = owner
        .ok(
            method::GROUPS_UPDATE,
            &api::GroupUpdateParams {
                description: Some("new words".to_owned()),
                ..update(&group)
            },
        )
        .await;
    let summary = plain.summary(&group).await;
    assert_eq!(summary.name, "After");
    assert_eq!(summary.description, "new words");
    // Type and handle: the owner only.
    let e = editor
        .err(
            method::GROUPS_UPDATE,
            &api::GroupUpdateParams {
                visibility: Some(Visibility::Public),
                handle: Some("editors_choice".to_owned()),
                ..update(&group)
            },
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, "only the owner can do this");
    // Nothing to change; limits.
    owner
        .err(
            method::GROUPS_UPDATE,
            &update(&group),
            ErrorCode::BadRequest,
        )
        .await;
    owner
        .err(
            method::GROUPS_UPDATE,
            &rename(&"n".repeat(65)),
            ErrorCode::BadRequest,
        )
        .await;
    // The audit log shows who did it.
    let audit: api::HistoryResult = owner
        .ok(
            method::AUDIT_LIST,
            &api::AuditParams {
                group: group.clone(),
                before: None,
                limit: None,
            },
        )
        .await;
    let updates: Vec<_> = audit
        .items
        .iter()
        .filter(|i| i.kind == EventKind::GroupUpdate)
        .map(|i| i.sender.clone())
        .collect();
    assert_eq!(updates, vec![editor.user().clone(), owner.user().clone()]);
    node.shutdown().await;
}

async fn public_private_switch_releases_the_handle(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob] = users(&node, ["alice", "bob"]).await;
    let first = alice
        .create_group("First", Visibility::Public, Some("alpha"))
        .await
        .group;
    assert_eq!(directory(&mut bob, "alpha").await.len(), 1);
    // Public → private: the handle goes.
    let _: api::WriteResult = alice
        .ok(
            method::GROUPS_UPDATE,
            &api::GroupUpdateParams {
                visibility: Some(Visibility::Private),
                ..update(&first)
            },
        )
        .await;
    let summary = alice.summary(&first).await;
    assert_eq!(summary.visibility, Visibility::Private);
    assert_eq!(summary.handle, None);
    assert!(directory(&mut bob, "alpha").await.is_empty());
    // Now private: a non-member learns nothing, cannot join.
    bob.err(
        method::GROUPS_JOIN,
        &api::JoinParams {
            txn: txn(),
            group: Some(first.clone()),
            handle: None,
        },
        ErrorCode::NotFound,
    )
    .await;
    // …and another group may take the handle.
    let second = bob
        .create_group("Second", Visibility::Public, Some("alpha"))
        .await;
    assert_eq!(second.handle, Some(handle(&node, "alpha")));
    // Private → public needs a handle, a free one.
    alice
        .err(
            method::GROUPS_UPDATE,
            &api::GroupUpdateParams {
                visibility: Some(Visibility::Public),
                ..update(&first)
            },
            ErrorCode::BadRequest,
        )
        .await;
    alice
        .err(
            method::GROUPS_UPDATE,
            &api::GroupUpdateParams {
                visibility: Some(Visibility::Public),
                handle: Some("alpha".to_owned()),
                ..update(&first)
            },
            ErrorCode::Conflict,
        )
        .await;
    let _: api::WriteResult = alice
        .ok(
            method::GROUPS_UPDATE,
            &api::GroupUpdateParams {
                visibility: Some(Visibility::Public),
                handle: Some("beta".to_owned()),
                ..update(&first)
            },
        )
        .await;
    let found = directory(&mut bob, "beta").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].group, first);
    // Renaming the handle of a public group frees the old one.
    let _: api::WriteResult = alice
        .ok(
            method::GROUPS_UPDATE,
            &api::GroupUpdateParams {
                handle: Some("gamma".to_owned()),
                ..update(&first)
            },
        )
        .await;
    assert_eq!(
        alice.summary(&first).await.handle,
        Some(handle(&node, "gamma"))
    );
    let third = bob
        .create_group("Third", Visibility::Public, Some("beta"))
        .await;
    assert_eq!(third.handle, Some(handle(&node, "beta")));
    node.shutdown().await;
}

async fn ownership_is_transferred(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob, carol] = users(&node, ["alice", "bob", "carol"]).await;
    let group = alice
        .create_group("Hand over", Visibility::Private, None)
        .await
        .group;
    alice.invite_and_join(&group, &mut bob).await;
    // Only the owner; only to a member; not to oneself.
    bob.err(
        method::GROUPS_TRANSFER,
        &target(&group, bob.user()),
        ErrorCode::Forbidden,
    )
    .await;
    alice
        .err(
            method::GROUPS_TRANSFER,
            &target(&group, carol.user()),
            ErrorCode::Forbidden,
        )
        .await;
    alice
        .err(
            method::GROUPS_TRANSFER,
            &target(&group, alice.user()),
            ErrorCode::Forbidden,
        )
        .await;
    alice
        .err(
            method::GROUPS_LEAVE,
            &txn_group(&group),
            ErrorCode::Forbidden,
        )
        .await;
    bob.discard_pushes(api::event::CHAT_EVENT);
    let _: api::WriteResult = alice
        .ok(method::GROUPS_TRANSFER, &target(&group, bob.user()))
        .await;
    let moved = bob.event_until(&group, EventKind::OwnerTransfer).await;
    assert_eq!(&moved.item.sender, alice.user());
    let summary = bob.summary(&group).await;
    assert_eq!(&summary.owner, bob.user());
    assert_eq!(summary.my_rank, OWNER_RANK);
    assert_eq!(summary.my_permissions, Permissions::ALL);
    let former = alice.summary(&group).await;
    assert_eq!(former.my_rank, EVERYONE_RANK);
    // The former owner is an ordinary member now: no more owner powers, and free to leave.
    alice
        .err(
            method::GROUPS_DELETE,
            &txn_group(&group),
            ErrorCode::Forbidden,
        )
        .await;
    alice
        .err(
            method::MEMBERS_KICK,
            &crate::common::kick(&group, bob.user(), ""),
            ErrorCode::Forbidden,
        )
        .await;
    bob.err(
        method::GROUPS_LEAVE,
        &txn_group(&group),
        ErrorCode::Forbidden,
    )
    .await;
    let _: api::WriteResult = alice.ok(method::GROUPS_LEAVE, &txn_group(&group)).await;
    let left = bob.event_until(&group, EventKind::MemberLeave).await;
    assert_eq!(&left.item.sender, alice.user());
    assert_eq!(bob.summary(&group).await.members, 1);
    node.shutdown().await;
}

async fn a_deleted_group_refuses_everything(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob, mut carol] = users(&node, ["alice", "bob", "carol"]).await;
    let group = alice
        .create_group("Doomed", Visibility::Public, Some("doomed"))
        .await
        .group;
    alice.invite_and_join(&group, &mut bob).await;
    let message = bob.post(&group, "last words").await;
    bob.err(
        method::GROUPS_DELETE,
        &txn_group(&group),
        ErrorCode::Forbidden,
    )
    .await;
    bob.discard_pushes(api::event::CHAT_EVENT);
    let _: api::WriteResult = alice.ok(method::GROUPS_DELETE, &txn_group(&group)).await;
    let deleted = bob.event_until(&group, EventKind::GroupDelete).await;
    assert_eq!(&deleted.item.sender, alice.user());

    // Every write is refused, to the owner and to members.
    for c in [&mut alice, &mut bob] {
        assert!(c.try_post(&group, "anyone?").await.is_err());
        assert!(
            c.call_as::<_, api::WriteResult>(
                method::MSGS_EDIT,
                &api::EditParams {
                    txn: txn(),
                    group: group.clone(),
                    seq: message.seq,
                    text: "edit".to_owned(),
                },
            )
            .await
            .is_err()
        );
        assert!(
            c.call_as::<_, api::WriteResult>(
                method::GROUPS_UPDATE,
                &api::GroupUpdateParams {
                    name: Some("undead".to_owned()),
                    ..update(&group)
                },
            )
            .await
            .is_err()
        );
        assert!(
            c.call_as::<_, api::WriteResult>(method::GROUPS_DELETE, &txn_group(&group))
                .await
                .is_err()
        );
    }
    assert!(
        alice
            .call_as::<_, api::WriteResult>(method::INVITES_SEND, &target(&group, carol.user()))
            .await
            .is_err()
    );
    assert!(
        alice
            .call_as::<_, api::LinkInfo>(
                method::LINKS_CREATE,
                &api::LinkCreateParams {
                    group: group.clone(),
                    expires_in: None,
                    max_uses: None,
                },
            )
            .await
            .is_err()
    );
    assert!(
        bob.call_as::<_, api::WriteResult>(method::GROUPS_LEAVE, &txn_group(&group))
            .await
            .is_err()
    );
    // Nobody joins it, by id or by its (released) handle, and the directory forgets it.
    assert!(
        carol
            .call_as::<_, api::ChatSummary>(
                method::GROUPS_JOIN,
                &api::JoinParams {
                    txn: txn(),
                    group: Some(group.clone()),
                    handle: None,
                },
            )
            .await
            .is_err()
    );
    carol
        .err(
            method::GROUPS_JOIN,
            &api::JoinParams {
                txn: txn(),
                group: None,
                handle: Some(handle(&node, "doomed")),
            },
            ErrorCode::NotFound,
        )
        .await;
    assert!(directory(&mut carol, "doomed").await.is_empty());
    // The handle is free again.
    let reborn = carol
        .create_group("Reborn", Visibility::Public, Some("doomed"))
        .await;
    assert_ne!(reborn.group, group);
    node.shutdown().await;
}

async fn directory_join_and_leave(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob, mut carol] = users(&node, ["alice", "bob", "carol"]).await;
    let rust = alice
        .create_group("Rust Lang", Visibility::Public, Some("rust_lang"))
        .await
        .group;
    let crabs = alice
        .create_group("Crab Club", Visibility::Public, Some("crabs"))
        .await
        .group;
    let secret = alice
        .create_group("Rust secret", Visibility::Private, None)
        .await
        .group;

    // By handle prefix, by name prefix, case-insensitively; never a private group.
    let found = directory(&mut bob, "rust").await;
    assert_eq!(
        found.iter().map(|e| &e.group).collect::<Vec<_>>(),
        vec![&rust]
    );
    assert_eq!(found[0].handle, handle(&node, "rust_lang"));
    assert_eq!(found[0].name, "Rust Lang");
    assert_eq!(found[0].members, 1);
    assert!(!found[0].joined);
    let found = directory(&mut bob, "CRAB").await;
    assert_eq!(
        found.iter().map(|e| &e.group).collect::<Vec<_>>(),
        vec![&crabs],
        "by name or handle, any case"
    );
    let found = directory(&mut bob, "#crabs").await;
    assert_eq!(found.len(), 1, "a leading # is ignored");
    let found = directory(&mut bob, "Crab C").await;
    assert_eq!(found.len(), 1, "by name prefix");
    let all = directory(&mut bob, "").await;
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|e| e.group != secret));
    assert!(directory(&mut bob, "secret").await.is_empty());
    assert!(directory(&mut bob, "zebra").await.is_empty());

    // Join by id and by handle.
    alice.discard_pushes(api::event::CHAT_EVENT);
    let joined: api::ChatSummary = bob
        .ok(
            method::GROUPS_JOIN,
            &api::JoinParams {
                txn: txn(),
                group: Some(rust.clone()),
                handle: None,
            },
        )
        .await;
    assert_eq!(joined.group, rust);
    assert_eq!(joined.members, 2);
    assert_eq!(joined.my_rank, EVERYONE_RANK);
    let pushed = alice.event_until(&rust, EventKind::MemberJoin).await;
    assert_eq!(&pushed.item.sender, bob.user());
    let joined: api::ChatSummary = carol
        .ok(
            method::GROUPS_JOIN,
            &api::JoinParams {
                txn: txn(),
                group: None,
                handle: Some(handle(&node, "rust_lang")),
            },
        )
        .await;
    assert_eq!(joined.group, rust);
    let found = directory(&mut bob, "rust").await;
    assert!(found[0].joined);
    assert_eq!(found[0].members, 3);
    // Not twice (contract: conflict, "already a member"); not with both or neither of group
    // and handle; not a private group.
    let mut soft = Soft::default();
    soft.code(
        bob.call_as::<_, api::ChatSummary>(
            method::GROUPS_JOIN,
            &api::JoinParams {
                txn: txn(),
                group: Some(rust.clone()),
                handle: None,
            },
        )
        .await,
        ErrorCode::Conflict,
        "groups.join by a member",
    );
    bob.err(
        method::GROUPS_JOIN,
        &api::JoinParams {
            txn: txn(),
            group: None,
            handle: None,
        },
        ErrorCode::BadRequest,
    )
    .await;
    bob.err(
        method::GROUPS_JOIN,
        &api::JoinParams {
            txn: txn(),
            group: Some(secret.clone()),
            handle: None,
        },
        ErrorCode::NotFound,
    )
    .await;
    bob.err(
        method::GROUPS_JOIN,
        &api::JoinParams {
            txn: txn(),
            group: None,
            handle: Some(handle(&node, "nope")),
        },
        ErrorCode::NotFound,
    )
    .await;
    // Before joining, a public group shows through the directory only: its messages and
    // members are for members (gateway.md §8.2).
    let [mut dave] = users(&node, ["dave"]).await;
    for method in [method::CHATS_GET, method::MSGS_HISTORY] {
        dave.err(method, &group_params(&crabs), ErrorCode::Forbidden)
            .await;
    }

    // Leave: the leaver is told, then the group is gone from their list.
    bob.discard_pushes(api::event::CHAT_EVENT);
    let _: api::WriteResult = bob.ok(method::GROUPS_LEAVE, &txn_group(&rust)).await;
    let left = bob.event_until(&rust, EventKind::MemberLeave).await;
    assert_eq!(&left.item.sender, bob.user());
    let list: api::ChatList = bob.ok(method::CHATS_LIST, &Empty {}).await;
    assert!(list.chats.iter().all(|c| c.group != rust), "{list:?}");
    assert!(!directory(&mut bob, "rust").await[0].joined);
    let _ = bob.try_post(&rust, "still here?").await.expect_err("left");
    // Leaving twice, or a group one is not in.
    assert!(
        bob.call_as::<_, api::WriteResult>(method::GROUPS_LEAVE, &txn_group(&rust))
            .await
            .is_err()
    );
    // The owner cannot leave.
    let e = alice
        .err(
            method::GROUPS_LEAVE,
            &txn_group(&rust),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(
        e.message,
        "the owner cannot be removed; transfer ownership first"
    );
    // Public groups can be joined again after leaving.
    let again: api::ChatSummary = bob
        .ok(
            method::GROUPS_JOIN,
            &api::JoinParams {
                txn: txn(),
                group: Some(rust.clone()),
                handle: None,
            },
        )
        .await;
    assert_eq!(again.members, 3);
    carol.expect_no_push(api::event::INVITE, QUIET).await;
    node.shutdown().await;
    soft.finish();
}
