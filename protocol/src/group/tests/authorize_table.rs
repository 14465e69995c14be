//! The authorization table: every action against every kind of actor, plus the edge cases of
//! each rule, one named row per case.

use super::*;

/// The group every row runs against.
///
/// | user      | standing                                        | rank |
/// |-----------|-------------------------------------------------|------|
/// | owner     | owner                                           | 0    |
/// | senior    | `admin` (ALL)                                   | 1    |
/// | equal     | `mod` (ALL), same rank as `target`              | 2    |
/// | target    | `mod` (ALL): the member and role acted on       | 2    |
/// | junior    | `helper` (ALL)                                  | 3    |
/// | limited   | `limited` (manage/assign roles, send)           | 4    |
/// | cadet     | `trainee` (kick)                                | 5    |
/// | plain     | no role; `everyone` holds nothing here          | MAX  |
/// | banned    | banned by the owner                             | -    |
/// | shunned   | banned by `equal` (by_rank 2), never a member   | -    |
/// | invitee   | pending invite                                  | -    |
/// | outsider  | nothing                                         | -    |
struct World {
    log: Log,
    owner: UserId,
    senior: UserId,
    equal: UserId,
    target: UserId,
    junior: UserId,
    limited: UserId,
    cadet: UserId,
    plain: UserId,
    banned: UserId,
    shunned: UserId,
    invitee: UserId,
    outsider: UserId,
}

const ADMIN: RoleId = 1;
const MOD: RoleId = 2;
const HELPER: RoleId = 3;
const LIMITED: RoleId = 4;
const TRAINEE: RoleId = 5;
const LIMITED_PERMISSIONS: Permissions = Permissions(
    Permissions::MANAGE_ROLES.0 | Permissions::ASSIGN_ROLES.0 | Permissions::SEND_MESSAGES.0,
);
/// A flag this version does not know.
const FUTURE_FLAG: Permissions = Permissions(1 << 40);

impl World {
    fn new() -> World {
        let owner = user("owner");
        let [senior, equal, target, junior, limited, cadet, plain, banned] = [
            "senior", "equal", "target", "junior", "limited", "cadet", "plain", "banned",
        ]
        .map(user);
        let mut log = Log::group(&owner);
        assert_eq!(log.role(&owner, "admin", 1, Permissions::ALL), ADMIN);
        assert_eq!(log.role(&owner, "mod", 2, Permissions::ALL), MOD);
        assert_eq!(log.role(&owner, "helper", 3, Permissions::ALL), HELPER);
        assert_eq!(log.role(&owner, "limited", 4, LIMITED_PERMISSIONS), LIMITED);
        assert_eq!(
            log.role(&owner, "trainee", 5, Permissions::KICK_MEMBERS),
            TRAINEE
        );
        log.ok(
            &owner,
            Body::RoleUpdate(RoleUpdate {
                role: EVERYONE,
                name: None,
                colour: None,
                permissions: Some(Permissions::NONE),
                rank: None,
            }),
        );
        for (who, roles) in [
            (&senior, &[ADMIN][..]),
            (&equal, &[MOD]),
            (&target, &[MOD]),
            (&junior, &[HELPER]),
            (&limited, &[LIMITED]),
            (&cadet, &[TRAINEE]),
            (&plain, &[]),
            (&banned, &[]),
        ] {
            log.join(who);
            if !roles.is_empty() {
                log.assign(&owner, who, roles);
            }
        }
        let shunned = user("shunned");
        let invitee = user("invitee");
        log.ban(&owner, &banned);
        log.ban(&equal, &shunned);
        log.ok(
            &owner,
            Body::MemberInvite(MemberInvite {
                user: invitee.clone(),
            }),
        );
        World {
            log,
            owner,
            senior,
            equal,
            target,
            junior,
            limited,
            cadet,
            plain,
            banned,
            shunned,
            invitee,
            outsider: user("outsider"),
        }
    }

    fn state(&self) -> &GroupState {
        &self.log.state
    }
}

/// One row: a named case and the answer expected.
struct Case<'a> {
    name: String,
    actor: &'a UserId,
    action: Action<'a>,
    expected: Result<(), Denied>,
}

/// Runs every row and reports all the wrong answers at once.
fn run(state: &GroupState, cases: &[Case<'_>]) {
    let mut failures = Vec::new();
    for case in cases {
        let got = authorize(state, case.actor, &case.action);
        if got != case.expected {
            failures.push(format!(
                "{}: {} {:?}: expected {:?}, got {:?}",
                case.name, case.actor, case.action, case.expected, got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

const OK: Result<(), Denied> = Ok(());

/// A row of a matrix: what is tried, the action, and the answer for each actor in turn.
type TableRow<'a, const N: usize> = (&'static str, Action<'a>, [Result<(), Denied>; N]);

/// An edge case: its name, the actor's name in [`World`], the action, the answer.
type Row<'a> = (String, &'static str, Action<'a>, Result<(), Denied>);

fn case<'a>(
    name: &str,
    actor: &'static str,
    action: Action<'a>,
    expected: Result<(), Denied>,
) -> Row<'a> {
    (name.to_owned(), actor, action, expected)
}

fn missing(p: Permissions) -> Result<(), Denied> {
    Err(Denied::MissingPermission(p))
}

fn no(d: Denied) -> Result<(), Denied> {
    Err(d)
}

#[test]
fn every_action_by_every_kind_of_actor() {
    use Denied::*;
    let w = World::new();
    let target = &w.target;
    let newcomer = user("newcomer");
    let helper_only = [HELPER];
    let actors: [(&str, &UserId); 7] = [
        ("owner", &w.owner),
        ("senior", &w.senior),
        ("equal", &w.equal),
        ("junior", &w.junior),
        ("lacking", &w.plain),
        ("banned", &w.banned),
        ("non-member", &w.outsider),
    ];
    // Each row: the action, then the answer for owner, senior, equal, junior, a member lacking
    // the permission, a banned user, a non-member.
    let everyone_may = [OK, OK, OK, OK, OK, no(Banned), no(NotMember)];
    let needs = |p: Permissions| [OK, OK, OK, OK, missing(p), no(Banned), no(NotMember)];
    let seniority = |p: Permissions| {
        [
            OK,
            OK,
            no(NotSenior),
            no(NotSenior),
            missing(p),
            no(Banned),
            no(NotMember),
        ]
    };
    let owner_only = [
        OK,
        no(OwnerOnly),
        no(OwnerOnly),
        no(OwnerOnly),
        no(OwnerOnly),
        no(Banned),
        no(NotMember),
    ];
    let already = |outsider: Result<(), Denied>| {
        [
            no(AlreadyMember),
            no(AlreadyMember),
            no(AlreadyMember),
            no(AlreadyMember),
            no(AlreadyMember),
            no(Banned),
            outsider,
        ]
    };
    let table: Vec<TableRow<'_, 7>> = vec![
        ("view", Action::View, everyone_may.clone()),
        (
            "post with media and @everyone",
            Action::Post {
                media: true,
                mention_everyone: true,
            },
            needs(
                Permissions::SEND_MESSAGES
                    | Permissions::SEND_MEDIA
                    | Permissions::MENTION_EVERYONE,
            ),
        ),
        (
            "edit the target's message",
            Action::Edit { author: target },
            [
                no(NotAuthor),
                no(NotAuthor),
                no(NotAuthor),
                no(NotAuthor),
                no(NotAuthor),
                no(Banned),
                no(NotMember),
            ],
        ),
        (
            "delete the target's message",
            Action::DeleteMessage { author: target },
            seniority(Permissions::MANAGE_MESSAGES),
        ),
        ("react", Action::React, needs(Permissions::ADD_REACTIONS)),
        ("pin", Action::Pin, needs(Permissions::PIN_MESSAGES)),
        (
            "edit info",
            Action::EditInfo,
            needs(Permissions::EDIT_GROUP_INFO),
        ),
        (
            "change visibility",
            Action::ChangeVisibility,
            owner_only.clone(),
        ),
        ("delete group", Action::DeleteGroup, owner_only.clone()),
        (
            "transfer ownership to the target",
            Action::TransferOwnership { to: target },
            owner_only.clone(),
        ),
        (
            "invite a newcomer",
            Action::Invite { user: &newcomer },
            needs(Permissions::INVITE_MEMBERS),
        ),
        (
            "manage invites",
            Action::ManageInvites,
            needs(Permissions::MANAGE_INVITES),
        ),
        (
            "join by link",
            Action::Join { via: JoinVia::Link },
            already(OK),
        ),
        (
            "join a private group from the directory",
            Action::Join {
                via: JoinVia::Public,
            },
            already(no(NotInvited)),
        ),
        (
            "join by an invite never sent",
            Action::Join {
                via: JoinVia::Invite,
            },
            already(no(NotInvited)),
        ),
        (
            "decline an invite never sent",
            Action::Decline,
            [
                no(NotInvited),
                no(NotInvited),
                no(NotInvited),
                no(NotInvited),
                no(NotInvited),
                no(Banned),
                no(NotInvited),
            ],
        ),
        (
            "leave",
            Action::Leave,
            [no(TargetIsOwner), OK, OK, OK, OK, no(Banned), no(NotMember)],
        ),
        (
            "kick the target",
            Action::Kick { target },
            seniority(Permissions::KICK_MEMBERS),
        ),
        (
            "ban the target",
            Action::Ban { target },
            seniority(Permissions::BAN_MEMBERS),
        ),
        (
            "unban a user banned at rank 2",
            Action::Unban { target: &w.shunned },
            [
                OK,
                OK,
                OK,
                no(NotSenior),
                missing(Permissions::BAN_MEMBERS),
                no(Banned),
                no(NotMember),
            ],
        ),
        (
            "view bans",
            Action::ViewBans,
            needs(Permissions::BAN_MEMBERS),
        ),
        (
            "create a role at rank 2",
            Action::CreateRole {
                rank: 2,
                permissions: Permissions::SEND_MESSAGES,
            },
            [
                OK,
                OK,
                no(BadRank),
                no(BadRank),
                missing(Permissions::MANAGE_ROLES),
                no(Banned),
                no(NotMember),
            ],
        ),
        (
            "update the target's role",
            Action::UpdateRole {
                role: MOD,
                rank: None,
                permissions: Some(Permissions::SEND_MESSAGES),
            },
            seniority(Permissions::MANAGE_ROLES),
        ),
        (
            "delete the target's role",
            Action::DeleteRole { role: MOD },
            seniority(Permissions::MANAGE_ROLES),
        ),
        (
            "set the target's roles",
            Action::SetRoles {
                target,
                roles: &helper_only,
            },
            seniority(Permissions::ASSIGN_ROLES),
        ),
        (
            "view the audit log",
            Action::ViewAuditLog,
            needs(Permissions::VIEW_AUDIT_LOG),
        ),
    ];
    let mut cases = Vec::new();
    for (what, action, answers) in &table {
        for ((kind, actor), expected) in actors.iter().zip(answers) {
            cases.push(Case {
                name: format!("{what} / {kind}"),
                actor,
                action: action.clone(),
                expected: expected.clone(),
            });
        }
    }
    assert_eq!(cases.len(), 26 * 7, "one row per action and actor kind");
    run(w.state(), &cases);
}

#[test]
fn edge_cases_of_each_rule() {
    use Denied::*;
    let w = World::new();
    let s = w.state();
    let everyone_only = [EVERYONE];
    let unknown_role = [99];
    let admin_only = [ADMIN];
    let trainee_only = [TRAINEE];
    let limited_only = [LIMITED];
    let none: [RoleId; 0] = [];
    #[rustfmt::skip]
    let rows: Vec<Row<'_>> = vec![
        // Messages.
        case("edit one's own message", "target", Action::Edit { author: &w.target }, OK),
        case("delete one's own message needs no permission", "plain", Action::DeleteMessage { author: &w.plain }, OK),
        case("nobody deletes the owner's message", "senior", Action::DeleteMessage { author: &w.owner }, no(NotSenior)),
        case("delete a departed author's message", "junior", Action::DeleteMessage { author: &w.outsider }, OK),
        case("a departed author's message still needs manage_messages", "plain", Action::DeleteMessage { author: &w.outsider }, missing(Permissions::MANAGE_MESSAGES)),
        case("post text only", "limited", Action::Post { media: false, mention_everyone: false }, OK),
        case("post media without send_media", "limited", Action::Post { media: true, mention_everyone: false }, missing(Permissions::SEND_MEDIA)),
        case("mention everyone without the flag", "limited", Action::Post { media: false, mention_everyone: true }, missing(Permissions::MENTION_EVERYONE)),
        // Ownership.
        case("transfer to oneself", "owner", Action::TransferOwnership { to: &w.owner }, no(TargetIsOwner)),
        case("transfer to a non-member", "owner", Action::TransferOwnership { to: &w.outsider }, no(TargetNotMember)),
        // Invites and joining.
        case("invite a member", "owner", Action::Invite { user: &w.target }, no(AlreadyMember)),
        case("invite a banned user", "owner", Action::Invite { user: &w.banned }, no(TargetBanned)),
        case("accept an invite", "invitee", Action::Join { via: JoinVia::Invite }, OK),
        case("decline an invite", "invitee", Action::Decline, OK),
        case("an invitee is not a member yet", "invitee", Action::View, no(NotMember)),
        case("an invitee cannot leave", "invitee", Action::Leave, no(NotMember)),
        case("a banned user cannot join by link", "shunned", Action::Join { via: JoinVia::Link }, no(Banned)),
        // Kick and ban.
        case("kick a non-member", "senior", Action::Kick { target: &w.outsider }, no(TargetNotMember)),
        case("kick the owner", "senior", Action::Kick { target: &w.owner }, no(TargetIsOwner)),
        case("the owner kicks themself", "owner", Action::Kick { target: &w.owner }, no(TargetIsOwner)),
        case("kick oneself", "senior", Action::Kick { target: &w.senior }, no(NotSenior)),
        case("kick a member without roles", "cadet", Action::Kick { target: &w.plain }, OK),
        case("kick a more senior member", "cadet", Action::Kick { target: &w.junior }, no(NotSenior)),
        case("ban the owner", "senior", Action::Ban { target: &w.owner }, no(TargetIsOwner)),
        case("ban a non-member", "junior", Action::Ban { target: &w.outsider }, OK),
        case("ban oneself", "junior", Action::Ban { target: &w.junior }, no(NotSenior)),
        case("unban someone not banned", "owner", Action::Unban { target: &w.outsider }, no(NotBanned)),
        case("unban the owner's ban", "senior", Action::Unban { target: &w.banned }, no(NotSenior)),
        case("the owner unbans their ban", "owner", Action::Unban { target: &w.banned }, OK),
        // Creating roles.
        case("create a role at one's own rank", "senior", Action::CreateRole { rank: 1, permissions: Permissions::NONE }, no(BadRank)),
        case("create a role at rank 0", "owner", Action::CreateRole { rank: 0, permissions: Permissions::NONE }, no(BadRank)),
        case("create a role at n+1", "limited", Action::CreateRole { rank: 6, permissions: Permissions::SEND_MESSAGES }, OK),
        case("create a role past n+1", "owner", Action::CreateRole { rank: 7, permissions: Permissions::NONE }, no(BadRank)),
        case("create a role granting an unheld flag", "limited", Action::CreateRole { rank: 5, permissions: Permissions::KICK_MEMBERS | Permissions::SEND_MESSAGES }, no(CannotGrant(Permissions::KICK_MEMBERS))),
        case("the owner grants an unknown flag", "owner", Action::CreateRole { rank: 1, permissions: FUTURE_FLAG }, OK),
        case("others cannot grant an unknown flag", "senior", Action::CreateRole { rank: 2, permissions: FUTURE_FLAG }, no(CannotGrant(FUTURE_FLAG))),
        // Updating roles.
        case("update a missing role", "owner", Action::UpdateRole { role: 99, rank: None, permissions: None }, no(NoSuchRole)),
        case("update one's own role", "senior", Action::UpdateRole { role: ADMIN, rank: None, permissions: None }, no(NotSenior)),
        case("move a role below oneself", "senior", Action::UpdateRole { role: HELPER, rank: Some(2), permissions: None }, OK),
        case("move a role up to one's own rank", "senior", Action::UpdateRole { role: HELPER, rank: Some(1), permissions: None }, no(BadRank)),
        case("move a role past the last rank", "owner", Action::UpdateRole { role: HELPER, rank: Some(6), permissions: None }, no(BadRank)),
        case("move a role to the last rank", "owner", Action::UpdateRole { role: ADMIN, rank: Some(5), permissions: None }, OK),
        case("everyone's rank cannot change", "owner", Action::UpdateRole { role: EVERYONE, rank: Some(3), permissions: None }, no(BadRank)),
        case("everyone gets a held flag", "limited", Action::UpdateRole { role: EVERYONE, rank: None, permissions: Some(Permissions::SEND_MESSAGES) }, OK),
        case("everyone gets an unheld flag", "limited", Action::UpdateRole { role: EVERYONE, rank: None, permissions: Some(Permissions::PIN_MESSAGES) }, no(CannotGrant(Permissions::PIN_MESSAGES))),
        case("a member with only everyone cannot edit everyone", "plain", Action::UpdateRole { role: EVERYONE, rank: None, permissions: None }, missing(Permissions::MANAGE_ROLES)),
        case("removing an unheld flag needs only seniority", "limited", Action::UpdateRole { role: TRAINEE, rank: None, permissions: Some(Permissions::NONE) }, OK),
        case("keeping an unheld flag while adding another", "limited", Action::UpdateRole { role: TRAINEE, rank: None, permissions: Some(Permissions::KICK_MEMBERS | Permissions::BAN_MEMBERS) }, no(CannotGrant(Permissions::BAN_MEMBERS))),
        // Deleting roles.
        case("delete everyone", "owner", Action::DeleteRole { role: EVERYONE }, no(NoSuchRole)),
        case("delete a missing role", "owner", Action::DeleteRole { role: 99 }, no(NoSuchRole)),
        case("delete a junior role", "limited", Action::DeleteRole { role: TRAINEE }, OK),
        case("delete a senior role", "limited", Action::DeleteRole { role: HELPER }, no(NotSenior)),
        // Assigning roles.
        case("set the owner's roles", "senior", Action::SetRoles { target: &w.owner, roles: &none }, no(TargetIsOwner)),
        case("the owner sets their own roles", "owner", Action::SetRoles { target: &w.owner, roles: &admin_only }, no(TargetIsOwner)),
        case("set one's own roles", "senior", Action::SetRoles { target: &w.senior, roles: &none }, no(NotSenior)),
        case("set a non-member's roles", "owner", Action::SetRoles { target: &w.outsider, roles: &none }, no(TargetNotMember)),
        case("assign everyone", "owner", Action::SetRoles { target: &w.plain, roles: &everyone_only }, no(NoSuchRole)),
        case("assign a missing role", "owner", Action::SetRoles { target: &w.plain, roles: &unknown_role }, no(NoSuchRole)),
        case("assign one's own rank", "senior", Action::SetRoles { target: &w.plain, roles: &admin_only }, no(NotSenior)),
        case("assign a role granting an unheld flag", "limited", Action::SetRoles { target: &w.plain, roles: &trainee_only }, no(CannotGrant(Permissions::KICK_MEMBERS))),
        case("assign a role at one's rank", "limited", Action::SetRoles { target: &w.plain, roles: &limited_only }, no(NotSenior)),
        case("keep a role one could not grant", "limited", Action::SetRoles { target: &w.cadet, roles: &trainee_only }, OK),
        case("take a junior role away", "limited", Action::SetRoles { target: &w.cadet, roles: &none }, OK),
        case("take roles from a junior member", "senior", Action::SetRoles { target: &w.junior, roles: &none }, OK),
    ];
    let actor = |name: &str| -> &UserId {
        match name {
            "owner" => &w.owner,
            "senior" => &w.senior,
            "equal" => &w.equal,
            "target" => &w.target,
            "junior" => &w.junior,
            "limited" => &w.limited,
            "cadet" => &w.cadet,
            "plain" => &w.plain,
            "banned" => &w.banned,
            "shunned" => &w.shunned,
            "invitee" => &w.invitee,
            "outsider" => &w.outsider,
            other => panic!("no actor {other}"),
        }
    };
    let cases: Vec<Case<'_>> = rows
        .into_iter()
        .map(|(name, who, action, expected)| Case {
            name,
            actor: actor(who),
            action,
            expected,
        })
        .collect();
    run(s, &cases);
}

#[test]
fn too_many_roles() {
    let owner = user("owner");
    let mut log = Log::group(&owner);
    for i in 0..MAX_ROLES {
        let rank = u32::try_from(i + 1).expect("small");
        log.role(&owner, &format!("r{i}"), rank, Permissions::NONE);
    }
    let action = Action::CreateRole {
        rank: 1,
        permissions: Permissions::NONE,
    };
    assert_eq!(
        authorize(&log.state, &owner, &action),
        Err(Denied::TooManyRoles)
    );
    // The log refuses a 65th role too.
    let id = log.state.next_role;
    log.refused(
        &owner,
        Body::RoleCreate(RoleCreate {
            role: id,
            name: "one more".to_owned(),
            colour: String::new(),
            permissions: Permissions::NONE,
            rank: 1,
        }),
    );
}

#[test]
fn public_groups_take_anyone_not_banned() {
    let owner = user("owner");
    let mut log = Log::group(&owner);
    log.ok(
        &owner,
        Body::GroupUpdate(GroupUpdate {
            visibility: Some(Visibility::Public),
            handle: Some(handle("crew")),
            ..GroupUpdate::default()
        }),
    );
    let stranger = user("stranger");
    let pariah = user("pariah");
    log.ban(&owner, &pariah);
    let public = Action::Join {
        via: JoinVia::Public,
    };
    assert_eq!(authorize(&log.state, &stranger, &public), Ok(()));
    assert_eq!(authorize(&log.state, &pariah, &public), Err(Denied::Banned));
}

#[test]
fn default_everyone_may_talk_and_invite() {
    let owner = user("owner");
    let mut log = Log::group(&owner);
    let member = user("member");
    log.join(&member);
    let s = &log.state;
    let newcomer = user("newcomer");
    let post = Action::Post {
        media: true,
        mention_everyone: false,
    };
    assert_eq!(authorize(s, &member, &post), Ok(()));
    assert_eq!(authorize(s, &member, &Action::React), Ok(()));
    assert_eq!(
        authorize(s, &member, &Action::Invite { user: &newcomer }),
        Ok(())
    );
    assert_eq!(
        authorize(s, &member, &Action::Pin),
        Err(Denied::MissingPermission(Permissions::PIN_MESSAGES))
    );
}

#[test]
fn direct_chats_allow_only_conversation() {
    use Denied::*;
    let a = user("alice");
    let b = user("bob");
    let c = user("carol");
    let log = Log::direct(&a, &b);
    let none: [RoleId; 0] = [];
    let dc = || [no(DirectChat), no(DirectChat), no(NotMember)];
    #[rustfmt::skip]
    let table: Vec<TableRow<'_, 3>> = vec![
        ("view", Action::View, [OK, OK, no(NotMember)]),
        ("post media", Action::Post { media: true, mention_everyone: false }, [OK, OK, no(NotMember)]),
        ("edit alice's message", Action::Edit { author: &a }, [OK, no(NotAuthor), no(NotMember)]),
        ("delete alice's message", Action::DeleteMessage { author: &a }, [OK, no(DirectChat), no(NotMember)]),
        ("delete bob's message", Action::DeleteMessage { author: &b }, [no(DirectChat), OK, no(NotMember)]),
        ("react", Action::React, [OK, OK, no(NotMember)]),
        ("pin", Action::Pin, [OK, OK, no(NotMember)]),
        ("edit info", Action::EditInfo, dc()),
        ("change visibility", Action::ChangeVisibility, dc()),
        ("delete group", Action::DeleteGroup, dc()),
        ("transfer", Action::TransferOwnership { to: &b }, dc()),
        ("invite", Action::Invite { user: &c }, dc()),
        ("manage invites", Action::ManageInvites, dc()),
        ("join by link", Action::Join { via: JoinVia::Link }, [no(DirectChat), no(DirectChat), no(DirectChat)]),
        ("decline", Action::Decline, [no(DirectChat), no(DirectChat), no(DirectChat)]),
        ("leave", Action::Leave, dc()),
        ("kick", Action::Kick { target: &b }, dc()),
        ("ban", Action::Ban { target: &b }, dc()),
        ("unban", Action::Unban { target: &c }, dc()),
        ("view bans", Action::ViewBans, dc()),
        ("create role", Action::CreateRole { rank: 1, permissions: Permissions::NONE }, dc()),
        ("update everyone", Action::UpdateRole { role: EVERYONE, rank: None, permissions: Some(Permissions::ALL) }, dc()),
        ("delete role", Action::DeleteRole { role: 1 }, dc()),
        ("set roles", Action::SetRoles { target: &b, roles: &none }, dc()),
        ("view audit log", Action::ViewAuditLog, dc()),
    ];
    let actors = [("creator", &a), ("other", &b), ("outsider", &c)];
    let mut cases = Vec::new();
    for (what, action, answers) in &table {
        for ((kind, actor), expected) in actors.iter().zip(answers) {
            cases.push(Case {
                name: format!("direct: {what} / {kind}"),
                actor,
                action: action.clone(),
                expected: expected.clone(),
            });
        }
    }
    run(&log.state, &cases);
}

#[test]
fn a_deleted_group_refuses_everything() {
    let mut w = World::new();
    let owner = w.owner.clone();
    w.log.ok(&owner, Body::GroupDelete);
    let actions = [
        Action::View,
        Action::Join { via: JoinVia::Link },
        Action::Unban { target: &w.banned },
        Action::DeleteGroup,
    ];
    let mut cases = Vec::new();
    for action in &actions {
        for actor in [&w.owner, &w.plain, &w.banned, &w.outsider] {
            cases.push(Case {
                name: format!("deleted: {action:?}"),
                actor,
                action: action.clone(),
                expected: Err(Denied::GroupDeleted),
            });
        }
    }
    run(w.state(), &cases);
}

#[test]
fn group_updates_need_the_actions_of_what_they_change() {
    use Denied::*;
    let photo_only = GroupUpdate {
        photo: Some(Some(media_id(1))),
        ..GroupUpdate::default()
    };
    let remove_photo = GroupUpdate {
        photo: Some(None),
        ..GroupUpdate::default()
    };
    let rename_and_go_public = GroupUpdate {
        name: Some("Crew".to_owned()),
        visibility: Some(Visibility::Public),
        handle: Some(handle("crew")),
        ..GroupUpdate::default()
    };
    assert_eq!(photo_only.actions(), vec![Action::EditInfo]);
    assert_eq!(remove_photo.actions(), vec![Action::EditInfo]);
    assert_eq!(
        rename_and_go_public.actions(),
        vec![Action::EditInfo, Action::ChangeVisibility]
    );
    assert_eq!(GroupUpdate::default().actions(), Vec::<Action<'_>>::new());

    // A photo-only update is authorized like a rename: edit_group_info, whoever's rank.
    let w = World::new();
    let all = |u: &GroupUpdate, who: &UserId| {
        u.actions()
            .iter()
            .try_for_each(|a| authorize(w.state(), who, a))
    };
    #[rustfmt::skip]
    let rows: Vec<(&str, &GroupUpdate, &UserId, Result<(), Denied>)> = vec![
        ("photo by the owner", &photo_only, &w.owner, OK),
        ("photo by a junior admin", &photo_only, &w.junior, OK),
        ("photo by a member without edit_group_info", &photo_only, &w.plain, missing(Permissions::EDIT_GROUP_INFO)),
        ("photo by a banned user", &photo_only, &w.banned, no(Banned)),
        ("photo by an outsider", &photo_only, &w.outsider, no(NotMember)),
        ("photo removed by a member without edit_group_info", &remove_photo, &w.plain, missing(Permissions::EDIT_GROUP_INFO)),
        ("photo removed by a senior", &remove_photo, &w.senior, OK),
        ("rename and go public by a senior", &rename_and_go_public, &w.senior, no(OwnerOnly)),
        ("rename and go public by the owner", &rename_and_go_public, &w.owner, OK),
    ];
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|(name, update, who, want)| {
            let got = all(update, who);
            (got != *want).then(|| format!("{name}: expected {want:?}, got {got:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // In a direct chat nobody sets a photo (the peers' avatars stand in).
    let a = user("alice");
    let b = user("bob");
    let direct = Log::direct(&a, &b);
    for who in [&a, &b] {
        assert_eq!(
            authorize(&direct.state, who, &Action::EditInfo),
            Err(DirectChat)
        );
    }
}
