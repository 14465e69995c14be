//! Message search (`msgs.search`, spec/gateway.md §8.9) and user search by any word of the
//! display name: what is found, what never is, hostile queries, paging.

use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::gateway::chat::{self as api, method};
use winichat_protocol::gateway::search::{MSGS_SEARCH, MsgSearchParams, MsgSearchResult};
use winichat_protocol::gateway::{self, ProfileUpdateParams, SearchParams, SearchResult};
use winichat_protocol::group::Visibility;
use winichat_protocol::ids::GroupId;
use winichat_testkit::client::{Client, txn};
use winichat_testkit::node::Backend;

use crate::common::{Chat, kick, start, txn_group, users};

on_both!(
    messages_are_found_only_where_and_as_the_caller_may_read_them,
    hostile_queries_neither_fail_nor_widen_the_search,
    search_results_page_newest_first_without_gaps,
    users_are_found_by_any_word_of_their_display_name,
);

fn params(query: &str, group: Option<&GroupId>) -> MsgSearchParams {
    MsgSearchParams {
        query: query.to_owned(),
        group: group.cloned(),
        limit: None,
        after: None,
    }
}

async fn search(c: &mut Client, query: &str, group: Option<&GroupId>) -> MsgSearchResult {
    c.ok(MSGS_SEARCH, &params(query, group)).await
}

/// The (group, seq) of each result.
async fn found(c: &mut Client, query: &str, group: Option<&GroupId>) -> Vec<(GroupId, u64)> {
    search(c, query, group)
        .await
        .results
        .into_iter()
        .map(|hit| (hit.group, hit.seq))
        .collect()
}

async fn messages_are_found_only_where_and_as_the_caller_may_read_them(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob, mut carol] = users(&node, ["alice", "bob", "carol"]).await;
    let dm = alice.dm_open(bob.user()).await.group;
    let team = alice
        .create_group("Team", Visibility::Private, None)
        .await
        .group;
    alice.invite_and_join(&team, &mut bob).await;
    alice.invite_and_join(&team, &mut carol).await;

    let in_dm = alice.post(&dm, "The kumquat harvest is early").await;
    let in_team = bob.post(&team, "Kumquats for everyone, Ünïcödé too").await;
    let other = alice.post(&team, "nothing to see").await;

    // Across chats, newest first, with a snippet; prefix and case-insensitive.
    assert_eq!(
        found(&mut alice, "KUMQ", None).await,
        [(team.clone(), in_team.seq), (dm.clone(), in_dm.seq)]
    );
    let hit = &search(&mut alice, "kumquat", None).await.results[0];
    assert_eq!(hit.sender, *bob.user());
    assert_eq!(hit.snippet, "Kumquats for everyone, Ünïcödé too");
    // Unicode words, and every word must match.
    assert_eq!(
        found(&mut alice, "ünïcödé", None).await,
        [(team.clone(), in_team.seq)]
    );
    assert!(found(&mut alice, "kumquat absent", None).await.is_empty());
    // Within one chat.
    assert_eq!(
        found(&mut bob, "kumquat", Some(&dm)).await,
        [(dm.clone(), in_dm.seq)]
    );
    // Carol is not in the direct chat: only the group's message.
    assert_eq!(
        found(&mut carol, "kumquat", None).await,
        [(team.clone(), in_team.seq)]
    );
    // …and naming it answers as its history does: she may not know it exists.
    carol
        .err(
            MSGS_SEARCH,
            &params("kumquat", Some(&dm)),
            ErrorCode::NotFound,
        )
        .await;

    // An edit is found by its new text only.
    let _: api::WriteResult = alice
        .ok(
            method::MSGS_EDIT,
            &api::EditParams {
                txn: txn(),
                group: team.clone(),
                seq: other.seq,
                text: "persimmon season".to_owned(),
            },
        )
        .await;
    assert!(found(&mut bob, "nothing", None).await.is_empty());
    assert_eq!(
        found(&mut bob, "persimmon", None).await,
        [(team.clone(), other.seq)]
    );
    // A deleted message is never found.
    let _: api::WriteResult = alice
        .ok(
            method::MSGS_DELETE,
            &api::MsgParams {
                txn: txn(),
                group: dm.clone(),
                seq: in_dm.seq,
            },
        )
        .await;
    assert_eq!(
        found(&mut bob, "kumquat", None).await,
        [(team.clone(), in_team.seq)]
    );

    // Removed from the group: carol finds nothing of it, not what follows either.
    let _: api::WriteResult = alice
        .ok(method::MEMBERS_KICK, &kick(&team, carol.user(), "bye"))
        .await;
    let later = alice.post(&team, "kumquat jam after the kick").await;
    assert!(found(&mut carol, "kumquat", None).await.is_empty());
    carol
        .err(
            MSGS_SEARCH,
            &params("kumquat", Some(&team)),
            ErrorCode::NotFound,
        )
        .await;
    // Leaving is the same; the others still find everything.
    let _: api::WriteResult = bob.ok(method::GROUPS_LEAVE, &txn_group(&team)).await;
    assert!(found(&mut bob, "jam", None).await.is_empty());
    assert_eq!(
        found(&mut alice, "jam", None).await,
        [(team.clone(), later.seq)]
    );
}

async fn hostile_queries_neither_fail_nor_widen_the_search(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob] = users(&node, ["alice", "bob"]).await;
    let dm = alice.dm_open(bob.user()).await.group;
    let plain = alice.post(&dm, "alpha beta gamma").await;
    let quoted = alice
        .post(&dm, "say \"alpha\" OR NEAR(beta) -gamma *")
        .await;
    let private = alice
        .create_group("Mine", Visibility::Private, None)
        .await
        .group;
    alice.post(&private, "alpha secret").await;

    let long = "alpha ".repeat(2_000);
    let huge_word = "é".repeat(5_000);
    for query in [
        "\"",
        "\"\"",
        "*",
        "alpha*",
        "NEAR(",
        "NEAR(alpha beta",
        "OR",
        "AND",
        "NOT",
        "-",
        "-alpha",
        "alpha OR secret",
        "(",
        ")",
        ":",
        "^",
        "{alpha}",
        "'",
        "\\",
        "%",
        "_",
        "a'b\\c",
        "\0",
        "\u{202e}",
        "\u{301}\u{301}",
        "🙂",
        "日本語",
        &long,
        &huge_word,
    ] {
        let result: Result<MsgSearchResult, _> =
            bob.call_as(MSGS_SEARCH, &params(query, None)).await;
        let result = result.unwrap_or_else(|e| panic!("query {query:?} failed: {e:?}"));
        // Bob is not in "Mine": whatever the query, nothing of it comes back.
        assert!(
            result.results.iter().all(|hit| hit.group == dm),
            "query {query:?} leaked {result:?}"
        );
    }
    // Syntax is plain words: `OR` is the word "or", so nothing matches alpha-or-secret.
    assert!(found(&mut bob, "alpha OR secret", None).await.is_empty());
    assert_eq!(
        found(&mut bob, "alpha OR", None).await,
        [(dm.clone(), quoted.seq)]
    );
    assert_eq!(
        found(&mut bob, "\"alpha\" -gamma", None).await,
        [(dm.clone(), quoted.seq), (dm.clone(), plain.seq)]
    );
    // A query without a word finds nothing, and is no error.
    assert!(found(&mut bob, " \"*-() ", None).await.is_empty());
    // Bad params are refused.
    let mut zero = params("alpha", None);
    zero.limit = Some(0);
    bob.err(MSGS_SEARCH, &zero, ErrorCode::BadRequest).await;
    let mut forged = params("alpha", None);
    forged.after = Some("not a cursor".to_owned());
    bob.err(MSGS_SEARCH, &forged, ErrorCode::BadRequest).await;
}

async fn search_results_page_newest_first_without_gaps(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, bob] = users(&node, ["alice", "bob"]).await;
    let dm = alice.dm_open(bob.user()).await.group;
    let team = alice
        .create_group("Pages", Visibility::Private, None)
        .await
        .group;
    let mut posted = Vec::new();
    for i in 0..23u32 {
        let group = if i % 2 == 0 { &dm } else { &team };
        let w = alice.post(group, &format!("ledger entry {i}")).await;
        posted.push((group.clone(), w.seq));
        alice.post(group, "unrelated").await;
    }
    let mut seen = Vec::new();
    let mut after = None;
    for _ in 0..10 {
        let page: MsgSearchResult = alice
            .ok(
                MSGS_SEARCH,
                &MsgSearchParams {
                    query: "ledger".to_owned(),
                    group: None,
                    limit: Some(5),
                    after: after.clone(),
                },
            )
            .await;
        assert!(page.results.len() <= 5);
        seen.extend(page.results.into_iter().map(|hit| (hit.group, hit.seq)));
        after = page.next;
        if after.is_none() {
            break;
        }
    }
    assert!(after.is_none(), "paging ended");
    posted.reverse();
    assert_eq!(seen, posted, "every match once, newest first");
    // In one chat: only its matches.
    let in_dm: Vec<_> = posted.iter().filter(|(g, _)| *g == dm).cloned().collect();
    assert_eq!(found(&mut alice, "ledger", Some(&dm)).await, in_dm);
}

async fn users_are_found_by_any_word_of_their_display_name(backend: Backend) {
    let node = start(backend).await;
    let [mut anna, mut other] = users(&node, ["anna", "other"]).await;
    let _: gateway::ProfileInfo = anna
        .ok(
            gateway::method::PROFILE_UPDATE,
            &ProfileUpdateParams {
                display_name: Some("Anna Maria Smith".to_owned()),
                bio: None,
                avatar: None,
            },
        )
        .await;
    let ids = |r: SearchResult| r.users.into_iter().map(|u| u.id).collect::<Vec<_>>();
    for query in ["anna", "Maria", "smi", "maria smith"] {
        let r: SearchResult = other
            .ok(
                gateway::method::USERS_SEARCH,
                &SearchParams {
                    query: query.to_owned(),
                    limit: None,
                    after: None,
                },
            )
            .await;
        assert_eq!(ids(r), [anna.user().clone()], "query {query:?}");
    }
    // Not the middle of a word, and LIKE wildcards are text.
    for query in ["aria", "mith", "%", "_nna"] {
        let r: SearchResult = other
            .ok(
                gateway::method::USERS_SEARCH,
                &SearchParams {
                    query: query.to_owned(),
                    limit: None,
                    after: None,
                },
            )
            .await;
        assert!(ids(r).is_empty(), "query {query:?}");
    }
}
