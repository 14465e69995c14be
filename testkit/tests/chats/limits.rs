//! No reply kills a connection (gateway.md §1 "Server frames"): lists that would encode over
//! 64 KiB come back cut, with a cursor to continue, and following the cursors yields every
//! entry once. Each case fails on a node that answers such a list in one frame (it used to
//! close the socket with 1011).

use std::collections::BTreeSet;

use winichat_protocol::gateway::chat::{self as api, method};
use winichat_protocol::gateway::{self, ProfileInfo, ProfileUpdateParams, SearchParams};
use winichat_protocol::group::{
    MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_REASON_CHARS, MAX_TEXT_CHARS, Visibility,
};
use winichat_protocol::ids::GroupId;
use winichat_testkit::client::{Client, txn};
use winichat_testkit::node::{Backend, TestNode};

use crate::common::{Chat, history, start, users};

on_both!(
    chats_list_of_direct_chats_with_maximal_emoji_messages_is_paged,
    history_of_maximal_messages_is_cut_to_fit,
    directory_of_long_group_names_is_paged,
    a_group_of_200_long_names_pages_its_members_and_search_pages_long_bios,
    a_user_in_300_groups_pages_the_chat_list,
    bans_with_long_reasons_and_many_invites_are_paged,
);

/// `n` characters of a 4-byte emoji.
fn emoji(n: usize) -> String {
    "😀".repeat(n)
}

/// The connection is still open and answering.
async fn still_open(c: &mut Client) {
    let _: gateway::Empty = c.ok(gateway::method::PING, &gateway::Empty {}).await;
    assert_eq!(c.closed(), None, "the connection stays open");
}

/// Every chat of `c`, following `next`; also how many pages it took.
async fn all_chats(c: &mut Client) -> (Vec<api::ChatSummary>, usize) {
    let mut chats = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page: api::ChatList = c
            .ok(
                method::CHATS_LIST,
                &api::ChatsListParams { after, limit: None },
            )
            .await;
        pages += 1;
        assert!(!page.chats.is_empty() || page.next.is_none(), "progress");
        chats.extend(page.chats);
        match page.next {
            Some(next) => after = Some(next),
            None => return (chats, pages),
        }
        assert!(pages < 100, "the pages end");
    }
}

async fn chats_list_of_direct_chats_with_maximal_emoji_messages_is_paged(backend: Backend) {
    let node = start(backend).await;
    let [mut victim, mut a, mut b, mut c, mut d, mut e] = users(
        &node,
        ["victim", "peer_a", "peer_b", "peer_c", "peer_d", "peer_e"],
    )
    .await;
    for peer in [&mut a, &mut b, &mut c, &mut d, &mut e] {
        let dm = peer.dm_open(victim.user()).await;
        peer.post(&dm.group, &emoji(MAX_TEXT_CHARS)).await;
    }
    let first: api::ChatList = victim
        .ok(method::CHATS_LIST, &api::ChatsListParams::default())
        .await;
    assert!(
        first.chats.len() < 5,
        "five 16 KiB previews do not fit one frame"
    );
    assert!(first.next.is_some());
    let (chats, pages) = all_chats(&mut victim).await;
    assert!(pages >= 2);
    let groups: BTreeSet<GroupId> = chats.iter().map(|s| s.group.clone()).collect();
    assert_eq!(groups.len(), 5, "each direct chat once");
    assert!(chats.iter().all(|s| s.last.is_some()));
    still_open(&mut victim).await;
    // A reconnect lists them again without being closed.
    let mut again = victim.another(&node).await;
    let (chats, _) = all_chats(&mut again).await;
    assert_eq!(chats.len(), 5);
}

async fn history_of_maximal_messages_is_cut_to_fit(backend: Backend) {
    let node = start(backend).await;
    let [mut owner] = users(&node, ["owner"]).await;
    let group = owner
        .create_group("Long", Visibility::Private, None)
        .await
        .group;
    let mut seqs = Vec::new();
    for _ in 0..6 {
        seqs.push(owner.post(&group, &emoji(MAX_TEXT_CHARS)).await.seq);
    }
    // Newest first: a page of 6 is cut, keeps the newest and says more lie before.
    let page = owner
        .history(api::HistoryParams {
            limit: Some(6),
            ..history(&group)
        })
        .await;
    assert!((1..6).contains(&page.items.len()));
    assert_eq!(page.items.last().map(|i| i.seq), seqs.last().copied());
    assert!(page.more_before && !page.more_after);
    // Walking back with `before` reaches every message once.
    let mut seen: Vec<u64> = page.items.iter().map(|i| i.seq).collect();
    let mut before = page.items.first().map(|i| i.seq);
    while let Some(b) = before {
        let older = owner
            .history(api::HistoryParams {
                before: Some(b),
                limit: Some(100),
                ..history(&group)
            })
            .await;
        seen.extend(older.items.iter().map(|i| i.seq));
        before = older
            .more_before
            .then(|| older.items.first().map(|i| i.seq))
            .flatten();
    }
    seen.sort_unstable();
    assert_eq!(seen.len(), 7, "group.create and six messages, each once");
    // Forward: keeps the oldest, says more lie after.
    let forward = owner
        .history(api::HistoryParams {
            after: Some(0),
            limit: Some(100),
            ..history(&group)
        })
        .await;
    assert_eq!(forward.items.first().map(|i| i.seq), Some(1));
    assert!(forward.more_after);
    // Around a message: keeps it.
    let around = owner
        .history(api::HistoryParams {
            around: Some(seqs[3]),
            limit: Some(100),
            ..history(&group)
        })
        .await;
    assert!(around.items.iter().any(|i| i.seq == seqs[3]));
    assert!(around.more_before || around.more_after);
    still_open(&mut owner).await;
}

async fn directory_of_long_group_names_is_paged(backend: Backend) {
    let node = start(backend).await;
    let [mut owner] = users(&node, ["owner"]).await;
    for i in 0..30 {
        let _: api::ChatSummary = owner
            .ok(
                method::GROUPS_CREATE,
                &api::GroupCreateParams {
                    txn: txn(),
                    name: emoji(MAX_NAME_CHARS),
                    description: emoji(MAX_DESCRIPTION_CHARS),
                    visibility: Visibility::Public,
                    handle: Some(format!("long_{i:02}")),
                },
            )
            .await;
    }
    let mut found = BTreeSet::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page: api::DirectoryResult = owner
            .ok(
                method::GROUPS_DIRECTORY,
                &api::DirectoryParams {
                    query: String::new(),
                    limit: None,
                    after,
                },
            )
            .await;
        pages += 1;
        assert!(!page.groups.is_empty());
        for g in page.groups {
            assert!(found.insert(g.group), "each group once");
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
        assert!(pages < 30);
    }
    assert!(pages >= 2, "30 groups of 4 KiB do not fit one frame");
    assert_eq!(found.len(), 30);
    still_open(&mut owner).await;
}

/// Registers `n` users named `<prefix>NNN`.
async fn many(node: &TestNode, prefix: &str, n: usize) -> Vec<Client> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(Client::register(node, &format!("{prefix}{i:03}")).await);
    }
    out
}

async fn a_group_of_200_long_names_pages_its_members_and_search_pages_long_bios(backend: Backend) {
    let node = start(backend).await;
    let [mut owner] = users(&node, ["owner"]).await;
    let group = owner
        .create_group("Crowd", Visibility::Public, Some("crowd"))
        .await
        .group;
    for mut m in many(&node, "member", 200).await {
        let _: ProfileInfo = m
            .ok(
                gateway::method::PROFILE_UPDATE,
                &ProfileUpdateParams {
                    display_name: Some(emoji(64)),
                    bio: Some(emoji(500)),
                    avatar: None,
                },
            )
            .await;
        let _: api::ChatSummary = m
            .ok(
                method::GROUPS_JOIN,
                &api::JoinParams {
                    txn: txn(),
                    group: Some(group.clone()),
                    handle: None,
                },
            )
            .await;
        m.close().await;
    }
    // chats.get: the first page of members and a cursor.
    let detail = owner.detail(&group).await;
    assert!(!detail.members.is_empty() && detail.members.len() < 201);
    assert_eq!(detail.chat.members, 201);
    let mut seen: Vec<_> = detail.members.iter().map(|m| m.user.clone()).collect();
    let mut after = detail.members_next.clone();
    assert!(after.is_some(), "201 members are more than one page");
    while let Some(cursor) = after {
        let page: api::MemberList = owner
            .ok(
                method::MEMBERS_LIST,
                &api::PageParams {
                    group: group.clone(),
                    after: Some(cursor),
                    limit: None,
                },
            )
            .await;
        assert!(!page.members.is_empty());
        seen.extend(page.members.iter().map(|m| m.user.clone()));
        after = page.next;
    }
    let distinct: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), 201, "every member once");
    assert_eq!(distinct.len(), 201);
    assert_eq!(seen.first(), Some(owner.user()), "the owner first");
    // users.search: 50 bios of 2 KiB are cut, and the cursor continues by name.
    let mut found = BTreeSet::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page: gateway::SearchResult = owner
            .ok(
                gateway::method::USERS_SEARCH,
                &SearchParams {
                    query: "member".to_owned(),
                    limit: None,
                    after,
                },
            )
            .await;
        pages += 1;
        assert!(!page.users.is_empty());
        for u in page.users {
            assert!(found.insert(u.id), "each user once");
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
        assert!(pages < 100);
    }
    assert_eq!(found.len(), 200);
    assert!(pages >= 5, "at most 50 a page, fewer with long bios");
    still_open(&mut owner).await;
}

async fn a_user_in_300_groups_pages_the_chat_list(backend: Backend) {
    let node = start(backend).await;
    let [mut busy] = users(&node, ["busy"]).await;
    for i in 0..300 {
        busy.create_group(&format!("group {i}"), Visibility::Private, None)
            .await;
    }
    let (chats, pages) = all_chats(&mut busy).await;
    assert!(pages >= 3, "at most 100 chats a page");
    let groups: BTreeSet<GroupId> = chats.iter().map(|s| s.group.clone()).collect();
    assert_eq!(groups.len(), 300, "each group once");
    // Most recent activity first, across pages.
    assert!(
        chats
            .windows(2)
            .all(|w| w[0].last.as_ref().map(|i| i.ts) >= w[1].last.as_ref().map(|i| i.ts))
    );
    still_open(&mut busy).await;
}

async fn bans_with_long_reasons_and_many_invites_are_paged(backend: Backend) {
    let node = start(backend).await;
    let [mut owner, mut guest] = users(&node, ["owner", "guest"]).await;
    let group = owner
        .create_group("Strict", Visibility::Private, None)
        .await
        .group;
    // 40 bans with 2 KiB reasons: 80 KiB of bans.
    let banned = many(&node, "banned", 40).await;
    for b in banned {
        let _: api::WriteResult = owner
            .ok(
                method::MEMBERS_BAN,
                &api::KickParams {
                    txn: txn(),
                    group: group.clone(),
                    user: b.user().clone(),
                    reason: emoji(MAX_REASON_CHARS),
                },
            )
            .await;
        b.close().await;
    }
    let mut bans = BTreeSet::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page: api::BanList = owner
            .ok(
                method::BANS_LIST,
                &api::PageParams {
                    group: group.clone(),
                    after,
                    limit: None,
                },
            )
            .await;
        pages += 1;
        assert!(!page.bans.is_empty());
        for ban in page.bans {
            assert!(bans.insert(ban.user), "each ban once");
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
        assert!(pages < 40);
    }
    assert!(pages >= 2, "80 KiB of bans do not fit one frame");
    assert_eq!(bans.len(), 40);
    // 300 invites to groups with long names: one page cannot hold them.
    for _ in 0..300 {
        let g = owner
            .create_group(&emoji(MAX_NAME_CHARS), Visibility::Private, None)
            .await
            .group;
        let _: api::WriteResult = owner
            .ok(
                method::INVITES_SEND,
                &api::TargetParams {
                    txn: txn(),
                    group: g,
                    user: guest.user().clone(),
                },
            )
            .await;
    }
    let mut invites = BTreeSet::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page: api::InviteList = guest
            .ok(method::INVITES_LIST, &api::AfterParams { after })
            .await;
        pages += 1;
        assert!(!page.invites.is_empty());
        for invite in page.invites {
            assert!(invites.insert(invite.group), "each invite once");
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
        assert!(pages < 300);
    }
    assert!(pages >= 3);
    assert_eq!(invites.len(), 300);
    still_open(&mut guest).await;
    still_open(&mut owner).await;
}
