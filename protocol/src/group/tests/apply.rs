//! Creating a group and folding every kind of event into it.

use super::*;

fn everyone_permissions(s: &GroupState) -> Permissions {
    s.roles[&EVERYONE].permissions
}

#[test]
fn create_group() {
    let owner = user("owner");
    let log = Log::group(&owner);
    let s = &log.state;
    assert_eq!(s.seq, 1);
    assert_eq!(s.kind, GroupKind::Group);
    assert_eq!(s.name, "Crew");
    assert_eq!(s.owner, owner);
    assert_eq!(s.created_at, Timestamp(1000));
    assert_eq!(s.next_role, 1);
    assert!(!s.deleted);
    assert_eq!(s.members.len(), 1);
    assert_eq!(s.members[&owner].joined_at, Timestamp(1000));
    assert!(s.bans.is_empty() && s.invites.is_empty() && s.pinned.is_empty());
    assert_eq!(
        s.roles[&EVERYONE],
        Role {
            id: EVERYONE,
            name: "everyone".to_owned(),
            colour: String::new(),
            permissions: Permissions::EVERYONE_DEFAULT,
            rank: EVERYONE_RANK,
        }
    );
    assert_eq!(s.rank_of(&owner), Some(OWNER_RANK));
    assert_eq!(s.permissions_of(&owner), Permissions::ALL);
    assert_eq!(s.rank_of(&user("nobody")), None);
    assert_eq!(s.permissions_of(&user("nobody")), Permissions::NONE);
}

#[test]
fn create_direct_chat() {
    let a = user("alice");
    let b = user("bob");
    let log = Log::direct(&a, &b);
    let s = &log.state;
    assert_eq!(s.kind, GroupKind::Direct);
    assert_eq!(s.visibility, Visibility::Private);
    assert_eq!(s.members.keys().collect::<Vec<_>>(), vec![&a, &b]);
    assert_eq!(everyone_permissions(s), Permissions::DIRECT);
    assert_eq!(s.permissions_of(&b), Permissions::DIRECT);
    assert_eq!(s.rank_of(&b), Some(EVERYONE_RANK));
}

#[test]
fn create_refuses_contradictions() {
    let a = user("alice");
    let id = GroupId::parse("!abcdef:example.org").expect("group id");
    let direct = |members: Vec<UserId>| GroupCreate {
        kind: GroupKind::Direct,
        name: String::new(),
        description: String::new(),
        visibility: Visibility::Private,
        handle: None,
        members,
    };
    let bad = [
        ("direct chat with oneself", direct(vec![a.clone()])),
        ("direct chat alone", direct(vec![])),
        (
            "direct chat of three",
            direct(vec![user("bob"), user("carol")]),
        ),
        (
            "member listed twice",
            GroupCreate {
                kind: GroupKind::Group,
                ..direct(vec![user("bob"), user("bob")])
            },
        ),
        (
            "public without a handle",
            GroupCreate {
                kind: GroupKind::Group,
                visibility: Visibility::Public,
                ..direct(vec![])
            },
        ),
        (
            "private with a handle",
            GroupCreate {
                kind: GroupKind::Group,
                handle: Some(handle("crew")),
                ..direct(vec![])
            },
        ),
    ];
    for (name, body) in bad {
        assert!(
            GroupState::create(id.clone(), &a, Timestamp(1), &body).is_err(),
            "{name} should be refused"
        );
    }
}

#[test]
fn seq_must_follow() {
    let owner = user("owner");
    let mut log = Log::group(&owner);
    let before = log.state.clone();
    for seq in [0, 1, 3, u64::MAX] {
        assert!(
            log.state
                .apply(seq, Timestamp(5), &owner, &Body::Unknown)
                .is_err(),
            "seq {seq} accepted after 1"
        );
    }
    assert_eq!(log.state, before);
    log.ok(&owner, Body::Unknown);
    assert_eq!(log.state.seq, 2);
    assert_eq!(
        GroupState {
            seq: 1,
            ..log.state.clone()
        },
        before,
        "an unknown kind changes nothing but seq"
    );
}

#[test]
fn a_second_create_is_refused() {
    let owner = user("owner");
    let mut log = Log::group(&owner);
    log.refused(
        &owner,
        Body::GroupCreate(GroupCreate {
            kind: GroupKind::Group,
            name: "Again".to_owned(),
            description: String::new(),
            visibility: Visibility::Private,
            handle: None,
            members: Vec::new(),
        }),
    );
}

#[test]
fn group_update() {
    let owner = user("owner");
    let mut log = Log::group(&owner);
    log.ok(
        &owner,
        Body::GroupUpdate(GroupUpdate {
            name: Some("Crew 2".to_owned()),
            description: Some("We sail.".to_owned()),
            ..GroupUpdate::default()
        }),
    );
    assert_eq!(log.state.name, "Crew 2");
    assert_eq!(log.state.description, "We sail.");

    // Public needs a handle: in the update or kept from before.
    let go_public = GroupUpdate {
        visibility: Some(Visibility::Public),
        ..GroupUpdate::default()
    };
    log.refused(&owner, Body::GroupUpdate(go_public.clone()));
    log.ok(
        &owner,
        Body::GroupUpdate(GroupUpdate {
            handle: Some(handle("crew")),
            ..go_public.clone()
        }),
    );
    assert_eq!(log.state.visibility, Visibility::Public);
    assert_eq!(log.state.handle, Some(handle("crew")));

    // A new handle on a public group.
    log.ok(
        &owner,
        Body::GroupUpdate(GroupUpdate {
            handle: Some(handle("sailors")),
            ..GroupUpdate::default()
        }),
    );
    assert_eq!(log.state.handle, Some(handle("sailors")));
    assert_eq!(log.state.name, "Crew 2", "absent fields are unchanged");

    // Private releases the handle; a handle alone cannot be set on a private group.
    log.ok(
        &owner,
        Body::GroupUpdate(GroupUpdate {
            visibility: Some(Visibility::Private),
            ..GroupUpdate::default()
        }),
    );
    assert_eq!(log.state.visibility, Visibility::Private);
    assert_eq!(log.state.handle, None);
    log.refused(
        &owner,
        Body::GroupUpdate(GroupUpdate {
            handle: Some(handle("crew")),
            ..GroupUpdate::default()
        }),
    );
    log.refused(
        &owner,
        Body::GroupUpdate(GroupUpdate {
            visibility: Some(Visibility::Private),
            handle: Some(handle("crew")),
            ..GroupUpdate::default()
        }),
    );

    // Keeping a handle across a public → public update.
    log.ok(
        &owner,
        Body::GroupUpdate(GroupUpdate {
            handle: Some(handle("crew")),
            ..go_public.clone()
        }),
    );
    log.ok(&owner, Body::GroupUpdate(go_public));
    assert_eq!(log.state.handle, Some(handle("crew")));
}

#[test]
fn group_photos_are_set_kept_and_removed() {
    let owner = user("owner");
    let mut log = Log::group(&owner);
    assert_eq!(log.state.photo, None);
    log.ok(
        &owner,
        Body::GroupUpdate(GroupUpdate {
            photo: Some(Some(media_id(1))),
            ..GroupUpdate::default()
        }),
    );
    assert_eq!(log.state.photo, Some(media_id(1)));
    log.ok(
        &owner,
        Body::GroupUpdate(GroupUpdate {
            name: Some("Renamed".to_owned()),
            ..GroupUpdate::default()
        }),
    );
    assert_eq!(log.state.photo, Some(media_id(1)), "absent: unchanged");
    log.ok(
        &owner,
        Body::GroupUpdate(GroupUpdate {
            photo: Some(Some(media_id(2))),
            ..GroupUpdate::default()
        }),
    );
    assert_eq!(log.state.photo, Some(media_id(2)));
    log.ok(
        &owner,
        Body::GroupUpdate(GroupUpdate {
            photo: Some(None),
            ..GroupUpdate::default()
        }),
    );
    assert_eq!(log.state.photo, None, "null removes it");
    assert_eq!(log.state.name, "Renamed");
}

#[test]
fn snapshots_without_a_photo_still_load() {
    let owner = user("owner");
    let log = Log::group(&owner);
    let value = Value::serialized(&log.state).expect("serializes");
    let Value::Map(entries) = value else {
        panic!("a map")
    };
    let old: Vec<_> = entries
        .into_iter()
        .filter(|(k, _)| k.as_text() != Some("photo"))
        .collect();
    let state: GroupState = Value::Map(old)
        .deserialized()
        .expect("an old snapshot loads");
    assert_eq!(state, log.state);
}

#[test]
fn a_direct_chat_stays_private() {
    let a = user("alice");
    let mut log = Log::direct(&a, &user("bob"));
    log.refused(
        &a,
        Body::GroupUpdate(GroupUpdate {
            visibility: Some(Visibility::Public),
            handle: Some(handle("alice_bob")),
            ..GroupUpdate::default()
        }),
    );
}

#[test]
fn group_delete_ends_the_log() {
    let owner = user("owner");
    let mut log = Log::group(&owner);
    log.ok(&owner, Body::GroupDelete);
    assert!(log.state.deleted);
    log.refused(&owner, Body::Unknown);
}

#[test]
fn invite_then_join() {
    let owner = user("owner");
    let guest = user("guest");
    let mut log = Log::group(&owner);
    log.ok(
        &owner,
        Body::MemberInvite(MemberInvite {
            user: guest.clone(),
        }),
    );
    assert_eq!(
        log.state.invites[&guest],
        Invite {
            by: owner.clone(),
            at: Timestamp(1002),
        }
    );
    let seq = log.ok(
        &guest,
        Body::MemberJoin(MemberJoin {
            via: JoinVia::Invite,
        }),
    );
    assert!(log.state.invites.is_empty());
    assert_eq!(
        log.state.members[&guest],
        Member {
            roles: Default::default(),
            joined_at: Timestamp(1000 + seq),
        }
    );
    assert_eq!(log.state.rank_of(&guest), Some(EVERYONE_RANK));
    assert_eq!(
        log.state.permissions_of(&guest),
        Permissions::EVERYONE_DEFAULT
    );
    // Joining twice, or inviting a member, contradicts the state.
    log.refused(&guest, Body::MemberJoin(MemberJoin { via: JoinVia::Link }));
    log.refused(&owner, Body::MemberInvite(MemberInvite { user: guest }));
}

#[test]
fn decline_and_leave() {
    let owner = user("owner");
    let guest = user("guest");
    let member = user("member");
    let mut log = Log::group(&owner);
    log.ok(
        &owner,
        Body::MemberInvite(MemberInvite {
            user: guest.clone(),
        }),
    );
    // Not a member: member.leave declines the invite.
    log.ok(&guest, Body::MemberLeave);
    assert!(log.state.invites.is_empty());
    assert!(!log.state.is_member(&guest));
    // Neither member nor invited.
    log.refused(&guest, Body::MemberLeave);
    // A member leaves.
    log.join(&member);
    log.ok(&member, Body::MemberLeave);
    assert!(!log.state.is_member(&member));
    // The owner cannot.
    log.refused(&owner, Body::MemberLeave);
}

#[test]
fn kick() {
    let owner = user("owner");
    let member = user("member");
    let mut log = Log::group(&owner);
    log.join(&member);
    let kick = |who: &UserId| {
        Body::MemberKick(MemberKick {
            user: who.clone(),
            reason: "spam".to_owned(),
        })
    };
    log.ok(&owner, kick(&member));
    assert!(!log.state.is_member(&member));
    assert!(log.state.bans.is_empty(), "a kicked user may come back");
    log.refused(&owner, kick(&member));
    log.refused(&owner, kick(&owner));
}

#[test]
fn ban_records_the_banner_rank() {
    let owner = user("owner");
    let moderator = user("moderator");
    let helper = user("helper");
    let troll = user("troll");
    let mut log = Log::group(&owner);
    let mods = log.role(&owner, "mods", 1, Permissions::BAN_MEMBERS);
    let helpers = log.role(&owner, "helpers", 2, Permissions::BAN_MEMBERS);
    for who in [&moderator, &helper, &troll] {
        log.join(who);
    }
    log.assign(&owner, &moderator, &[mods]);
    log.assign(&owner, &helper, &[helpers]);
    log.ok(
        &owner,
        Body::MemberInvite(MemberInvite {
            user: user("friend"),
        }),
    );

    let seq = log.ok(
        &moderator,
        Body::MemberBan(MemberBan {
            user: troll.clone(),
            reason: "trolling".to_owned(),
        }),
    );
    assert!(!log.state.is_member(&troll));
    assert_eq!(
        log.state.bans[&troll],
        Ban {
            by: moderator.clone(),
            by_rank: 1,
            reason: "trolling".to_owned(),
            at: Timestamp(1000 + seq),
        }
    );
    // A more junior re-ban keeps the senior ban; a more senior one replaces it.
    log.ban(&helper, &troll);
    assert_eq!(log.state.bans[&troll].by, moderator);
    log.ban(&owner, &troll);
    assert_eq!(log.state.bans[&troll].by_rank, OWNER_RANK);
    // Banning an invitee drops the invite.
    log.ban(&helper, &user("friend"));
    assert!(log.state.invites.is_empty());
    assert_eq!(log.state.bans[&user("friend")].by_rank, 2);
    // A banned user can neither be invited nor join.
    log.refused(
        &owner,
        Body::MemberInvite(MemberInvite {
            user: troll.clone(),
        }),
    );
    log.refused(&troll, Body::MemberJoin(MemberJoin { via: JoinVia::Link }));
    // The owner cannot be banned; a non-member cannot ban.
    log.refused(
        &moderator,
        Body::MemberBan(MemberBan {
            user: owner.clone(),
            reason: String::new(),
        }),
    );
    log.refused(
        &user("stranger"),
        Body::MemberBan(MemberBan {
            user: moderator.clone(),
            reason: String::new(),
        }),
    );

    log.ok(
        &owner,
        Body::MemberUnban(MemberUnban {
            user: troll.clone(),
        }),
    );
    assert!(!log.state.bans.contains_key(&troll));
    log.refused(
        &owner,
        Body::MemberUnban(MemberUnban {
            user: troll.clone(),
        }),
    );
    log.join(&troll);
}

#[test]
fn member_roles() {
    let owner = user("owner");
    let member = user("member");
    let mut log = Log::group(&owner);
    let a = log.role(&owner, "a", 1, Permissions::PIN_MESSAGES);
    let b = log.role(&owner, "b", 2, Permissions::KICK_MEMBERS);
    log.join(&member);
    log.assign(&owner, &member, &[b, a]);
    assert_eq!(log.state.members[&member].roles, [a, b].into());
    assert_eq!(log.state.rank_of(&member), Some(1));
    assert_eq!(
        log.state.permissions_of(&member),
        Permissions::EVERYONE_DEFAULT | Permissions::PIN_MESSAGES | Permissions::KICK_MEMBERS
    );
    log.assign(&owner, &member, &[b]);
    assert_eq!(log.state.rank_of(&member), Some(2));
    let set = |who: &UserId, roles: Vec<RoleId>| {
        Body::MemberRoles(MemberRoles {
            user: who.clone(),
            roles,
        })
    };
    log.refused(&owner, set(&member, vec![EVERYONE]));
    log.refused(&owner, set(&member, vec![99]));
    log.refused(&owner, set(&user("stranger"), vec![a]));
    log.assign(&owner, &member, &[]);
    assert_eq!(log.state.rank_of(&member), Some(EVERYONE_RANK));
}

#[test]
fn ban_ranks_follow_the_roles_when_ranks_are_renumbered() {
    let owner = user("owner");
    let moderator = user("moderator");
    let helper = user("helper");
    let troll = user("troll");
    let mut log = Log::group(&owner);
    let top = log.role(&owner, "top", 1, Permissions::NONE);
    let mods = log.role(&owner, "mods", 2, Permissions::BAN_MEMBERS);
    let helpers = log.role(&owner, "helpers", 3, Permissions::BAN_MEMBERS);
    for who in [&moderator, &helper, &troll] {
        log.join(who);
    }
    log.assign(&owner, &moderator, &[mods]);
    log.assign(&owner, &helper, &[helpers]);
    log.ban(&moderator, &troll);
    assert_eq!(log.state.bans[&troll].by_rank, 2);

    // Deleting a role above: the moderators move up to 1 and so does the ban.
    log.ok(&owner, Body::RoleDelete(RoleDelete { role: top }));
    assert_eq!(log.rank(mods), 1);
    assert_eq!(log.state.bans[&troll].by_rank, 1);
    assert!(
        authorize(&log.state, &helper, &Action::Unban { target: &troll }).is_err(),
        "the helper is still junior to the ban"
    );
    // A new role above the moderators pushes them and the ban down together.
    let _new_top = log.role(&owner, "new top", 1, Permissions::NONE);
    assert_eq!((log.rank(mods), log.state.bans[&troll].by_rank), (2, 2));
    assert!(authorize(&log.state, &moderator, &Action::Unban { target: &troll }).is_ok());
    // Moving the moderators below the helpers carries the ban along.
    log.ok(
        &owner,
        Body::RoleUpdate(RoleUpdate {
            role: mods,
            name: None,
            colour: None,
            permissions: None,
            rank: Some(3),
        }),
    );
    assert_eq!((log.rank(helpers), log.rank(mods)), (2, 3));
    assert_eq!(log.state.bans[&troll].by_rank, 3);
    // Deleting the banner's own role: the ban needs the rank just above.
    log.ok(&owner, Body::RoleDelete(RoleDelete { role: mods }));
    assert_eq!(log.state.bans[&troll].by_rank, 2);
    assert!(authorize(&log.state, &helper, &Action::Unban { target: &troll }).is_ok());
}

#[test]
fn role_create_shifts_ranks() {
    let owner = user("owner");
    let mut log = Log::group(&owner);
    let a = log.role(&owner, "a", 1, Permissions::NONE);
    let b = log.role(&owner, "b", 1, Permissions::NONE);
    assert_eq!((log.rank(b), log.rank(a)), (1, 2));
    let c = log.role(&owner, "c", 2, Permissions::NONE);
    assert_eq!((log.rank(b), log.rank(c), log.rank(a)), (1, 2, 3));
    let d = log.role(&owner, "d", 4, Permissions::NONE);
    assert_eq!(log.rank(d), 4, "n+1 appends");
    assert_eq!((a, b, c, d), (1, 2, 3, 4));
    assert_eq!(log.state.next_role, 5);
    assert_eq!(log.rank(EVERYONE), EVERYONE_RANK, "everyone never moves");

    let create = |role: RoleId, rank: u32| {
        Body::RoleCreate(RoleCreate {
            role,
            name: "x".to_owned(),
            colour: "#00ff00".to_owned(),
            permissions: Permissions::NONE,
            rank,
        })
    };
    log.refused(&owner, create(5, 0));
    log.refused(&owner, create(5, 6));
    log.refused(&owner, create(4, 1)); // an id in use
    log.refused(&owner, create(6, 1)); // not the next id
    log.ok(&owner, create(5, 5));
    assert_eq!(log.state.roles[&5].colour, "#00ff00");
}

#[test]
fn role_update_moves_and_edits() {
    let owner = user("owner");
    let mut log = Log::group(&owner);
    let [a, b, c, d] = ["a", "b", "c", "d"].map(|n| {
        let rank = log.state.roles.len() as u32;
        log.role(&owner, n, rank, Permissions::NONE)
    });
    let ranks = |log: &Log| [a, b, c, d].map(|r| log.rank(r));
    assert_eq!(ranks(&log), [1, 2, 3, 4]);
    let mv = |role: RoleId, rank: u32| {
        Body::RoleUpdate(RoleUpdate {
            role,
            name: None,
            colour: None,
            permissions: None,
            rank: Some(rank),
        })
    };
    // d up to 2: b and c move down.
    log.ok(&owner, mv(d, 2));
    assert_eq!(ranks(&log), [1, 3, 4, 2]);
    // a down to 3: d and b move up.
    log.ok(&owner, mv(a, 3));
    assert_eq!(ranks(&log), [3, 2, 4, 1]);
    // In place: nothing moves.
    log.ok(&owner, mv(a, 3));
    assert_eq!(ranks(&log), [3, 2, 4, 1]);
    log.refused(&owner, mv(a, 0));
    log.refused(&owner, mv(a, 5));
    log.refused(&owner, mv(99, 1));
    log.refused(&owner, mv(EVERYONE, 1));

    log.ok(
        &owner,
        Body::RoleUpdate(RoleUpdate {
            role: b,
            name: Some("bees".to_owned()),
            colour: Some("#123abc".to_owned()),
            permissions: Some(Permissions::KICK_MEMBERS),
            rank: None,
        }),
    );
    let role = &log.state.roles[&b];
    assert_eq!(
        (
            role.name.as_str(),
            role.colour.as_str(),
            role.permissions,
            role.rank
        ),
        ("bees", "#123abc", Permissions::KICK_MEMBERS, 2)
    );

    // everyone takes permissions only.
    log.ok(
        &owner,
        Body::RoleUpdate(RoleUpdate {
            role: EVERYONE,
            name: None,
            colour: None,
            permissions: Some(Permissions::SEND_MESSAGES),
            rank: None,
        }),
    );
    assert_eq!(everyone_permissions(&log.state), Permissions::SEND_MESSAGES);
    log.refused(
        &owner,
        Body::RoleUpdate(RoleUpdate {
            role: EVERYONE,
            name: Some("all".to_owned()),
            colour: None,
            permissions: None,
            rank: None,
        }),
    );
}

#[test]
fn role_delete_closes_the_gap_and_falls_back_to_everyone() {
    let owner = user("owner");
    let member = user("member");
    let mut log = Log::group(&owner);
    let a = log.role(&owner, "a", 1, Permissions::NONE);
    let b = log.role(&owner, "b", 2, Permissions::KICK_MEMBERS);
    let c = log.role(&owner, "c", 3, Permissions::NONE);
    log.join(&member);
    log.assign(&owner, &member, &[b]);
    assert_eq!(log.state.rank_of(&member), Some(2));

    log.ok(&owner, Body::RoleDelete(RoleDelete { role: b }));
    assert!(!log.state.roles.contains_key(&b));
    assert_eq!((log.rank(a), log.rank(c)), (1, 2));
    assert!(log.state.members[&member].roles.is_empty());
    assert_eq!(log.state.rank_of(&member), Some(EVERYONE_RANK));
    assert_eq!(
        log.state.permissions_of(&member),
        Permissions::EVERYONE_DEFAULT
    );

    log.refused(&owner, Body::RoleDelete(RoleDelete { role: b }));
    log.refused(&owner, Body::RoleDelete(RoleDelete { role: EVERYONE }));
    // Ids are never reused.
    let d = log.role(&owner, "d", 3, Permissions::NONE);
    assert_eq!(d, 4);
}

#[test]
fn owner_transfer() {
    let owner = user("owner");
    let heir = user("heir");
    let mut log = Log::group(&owner);
    log.join(&heir);
    let transfer = |who: &UserId| Body::OwnerTransfer(OwnerTransfer { user: who.clone() });
    log.refused(&owner, transfer(&user("stranger")));
    log.refused(&owner, transfer(&owner));
    log.ok(&owner, transfer(&heir));
    assert_eq!(log.state.owner, heir);
    assert_eq!(log.state.rank_of(&heir), Some(OWNER_RANK));
    assert_eq!(log.state.permissions_of(&heir), Permissions::ALL);
    assert!(log.state.is_member(&owner), "the old owner stays a member");
    assert_eq!(log.state.rank_of(&owner), Some(EVERYONE_RANK));
    assert_eq!(
        log.state.permissions_of(&owner),
        Permissions::EVERYONE_DEFAULT
    );
}

#[test]
fn pins_and_messages() {
    let owner = user("owner");
    let mut log = Log::group(&owner);
    let post = log.ok(
        &owner,
        Body::MsgPost(MsgPost {
            text: "hello".to_owned(),
            reply_to: None,
            mentions: Vec::new(),
            mention_everyone: false,
            attachments: Vec::new(),
            forwarded: None,
        }),
    );
    let before = log.state.clone();
    let bodies = [
        Body::MsgPost(MsgPost {
            text: "again".to_owned(),
            reply_to: Some(post),
            mentions: vec![owner.clone()],
            mention_everyone: true,
            attachments: Vec::new(),
            forwarded: None,
        }),
        Body::MsgEdit(MsgEdit {
            seq: post,
            text: "hi".to_owned(),
        }),
        Body::MsgReact(MsgReact {
            seq: post,
            emoji: "👍".to_owned(),
            on: true,
        }),
        Body::MsgDelete(MsgDelete { seq: post }),
    ];
    let count = bodies.len() as u64;
    for body in bodies {
        log.ok(&owner, body);
    }
    assert_eq!(
        GroupState {
            seq: before.seq,
            ..log.state.clone()
        },
        before,
        "other msg.* kinds change nothing but seq"
    );
    assert_eq!(log.state.seq, before.seq + count);

    let pin = |seq: u64, on: bool| Body::MsgPin(MsgPin { seq, on });
    log.ok(&owner, pin(post, true));
    assert_eq!(log.state.pinned, [post].into());
    log.ok(&owner, pin(post, true));
    assert_eq!(log.state.pinned.len(), 1);
    log.ok(&owner, pin(post, false));
    assert!(log.state.pinned.is_empty());
    // References to events that do not precede this one.
    let next = log.state.seq + 1;
    log.refused(&owner, pin(next, true));
    log.refused(&owner, pin(0, true));
    log.refused(
        &owner,
        Body::MsgEdit(MsgEdit {
            seq: next + 5,
            text: "x".to_owned(),
        }),
    );
}
