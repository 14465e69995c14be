//! Removal under fire: a ban racing the banned member's posts, and a kicked member's socket.

use std::sync::Arc;

use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::event::EventKind;
use winichat_protocol::gateway::chat::{self as api, HistoryParams, method};
use winichat_protocol::gateway::{self, Empty};
use winichat_protocol::group::Visibility;
use winichat_testkit::client::{Client, txn};
use winichat_testkit::node::Backend;

use crate::common::{Chat, QUIET, field, group_params, kick, post_params, start, users};

on_both!(
    posts_racing_a_ban_land_before_it_or_fail,
    a_kicked_socket_hears_its_kick_then_nothing,
);

/// Sockets of the member that will be banned, and posts pipelined on each.
const SOCKETS: usize = 5;
const POSTS_PER_SOCKET: usize = 40;

async fn posts_racing_a_ban_land_before_it_or_fail(backend: Backend) {
    let node = start(backend).await;
    let [mut owner, mut member] = users(&node, ["owner", "member"]).await;
    let group = owner
        .create_group("Racing", Visibility::Private, None)
        .await
        .group;
    owner.invite_and_join(&group, &mut member).await;
    owner.discard_pushes(api::event::CHAT_EVENT);

    let mut sockets = vec![member];
    while sockets.len() < SOCKETS {
        let another = sockets[0].another(&node).await;
        sockets.push(another);
    }
    let member_id = sockets[0].user().clone();
    let go = Arc::new(tokio::sync::Barrier::new(SOCKETS + 1));
    let posters: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(s, mut c)| {
            let group = group.clone();
            let go = go.clone();
            tokio::spawn(async move {
                go.wait().await;
                // Pipelined: every post is on the wire before the first reply is read.
                let mut ids = Vec::with_capacity(POSTS_PER_SOCKET);
                for i in 0..POSTS_PER_SOCKET {
                    let params = gateway::to_value(&post_params(&group, &format!("s{s} #{i}")))
                        .expect("params");
                    ids.push(c.send(method::MSGS_POST, params).await);
                }
                let mut results = Vec::with_capacity(POSTS_PER_SOCKET);
                for id in ids {
                    results.push(c.reply(id).await.map(|v| {
                        gateway::decode_params::<api::WriteResult>(&v).expect("write result")
                    }));
                }
                results
            })
        })
        .collect();
    go.wait().await;
    // Ban as soon as the first post is in.
    let first = owner.event_until(&group, EventKind::MsgPost).await;
    assert_eq!(first.item.sender, member_id);
    let ban: api::WriteResult = owner
        .ok(method::MEMBERS_BAN, &kick(&group, &member_id, "flood"))
        .await;

    let mut ok = Vec::new();
    let mut refused = 0;
    for poster in posters {
        // Per socket, replies come in order: once one failed, all later ones fail too.
        let mut failed = false;
        for result in poster.await.expect("poster") {
            match result {
                Ok(written) => {
                    assert!(!failed, "a post succeeded after an earlier one was refused");
                    assert!(
                        written.seq < ban.seq,
                        "post seq {} after the ban at {}",
                        written.seq,
                        ban.seq
                    );
                    ok.push(written.seq);
                }
                Err(e) => {
                    failed = true;
                    assert!(
                        e.code == ErrorCode::NotFound || e.code == ErrorCode::Forbidden,
                        "{e:?}"
                    );
                    refused += 1;
                }
            }
        }
    }
    assert_eq!(ok.len() + refused, SOCKETS * POSTS_PER_SOCKET);
    assert!(refused > 0, "the ban came while posts were still arriving");
    assert!(!ok.is_empty());

    // History: every accepted post is there once, before the ban; nothing of theirs after.
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page = owner
            .history(HistoryParams {
                group: group.clone(),
                before: None,
                after: Some(after),
                around: None,
                limit: None,
            })
            .await;
        for item in &page.items {
            if item.kind == EventKind::MsgPost && item.sender == member_id {
                assert!(item.seq < ban.seq, "a post of the banned at {}", item.seq);
                seen.push(item.seq);
            }
        }
        match page.items.last() {
            Some(last) if page.more_after => after = last.seq,
            _ => break,
        }
    }
    ok.sort_unstable();
    assert_eq!(seen, ok, "history holds exactly the accepted posts");
    node.shutdown().await;
}

async fn a_kicked_socket_hears_its_kick_then_nothing(backend: Backend) {
    let node = start(backend).await;
    let [mut owner, mut kicked, mut stays] = users(&node, ["owner", "kicked", "stays"]).await;
    let group = owner
        .create_group("Quiet now", Visibility::Private, None)
        .await
        .group;
    owner.invite_and_join(&group, &mut kicked).await;
    owner.invite_and_join(&group, &mut stays).await;
    let mut second_tab = kicked.another(&node).await;
    let before = kicked.post(&group, "hi all").await;
    stays.event_until(&group, EventKind::MsgPost).await;

    let kick_result: api::WriteResult = owner
        .ok(method::MEMBERS_KICK, &kick(&group, kicked.user(), "bye"))
        .await;
    for socket in [&mut kicked, &mut second_tab] {
        let told = socket.event_until(&group, EventKind::MemberKick).await;
        assert_eq!(told.item.seq, kick_result.seq);
        assert_eq!(
            field(&told.item.body, "user").and_then(|v| v.as_text()),
            Some(socket.user().to_string().as_str())
        );
    }

    // The others go on: messages, edits, reactions, reads, typing, renames, joins.
    let said = stays.post(&group, "they're gone").await;
    let _ = owner.post(&group, "indeed").await;
    let _: api::WriteResult = owner
        .ok(
            method::MSGS_REACT,
            &api::ReactParams {
                txn: txn(),
                group: group.clone(),
                seq: said.seq,
                emoji: "👋".to_owned(),
                on: true,
            },
        )
        .await;
    let _: api::WriteResult = stays
        .ok(
            method::MSGS_EDIT,
            &api::EditParams {
                txn: txn(),
                group: group.clone(),
                seq: said.seq,
                text: "they are gone".to_owned(),
            },
        )
        .await;
    let _: api::WriteResult = owner
        .ok(
            method::MSGS_DELETE,
            &api::MsgParams {
                txn: txn(),
                group: group.clone(),
                seq: before.seq,
            },
        )
        .await;
    let _: Empty = stays.ok(method::MSGS_TYPING, &group_params(&group)).await;
    let _: Empty = stays
        .ok(
            method::MSGS_READ,
            &api::ReadParams {
                group: group.clone(),
                seq: said.seq + 10,
            },
        )
        .await;
    let _: api::WriteResult = owner
        .ok(
            method::GROUPS_UPDATE,
            &api::GroupUpdateParams {
                txn: txn(),
                group: group.clone(),
                name: Some("Renamed".to_owned()),
                description: None,
                visibility: None,
                handle: None,
                photo: None,
            },
        )
        .await;
    let mut newcomer = Client::register(&node, "newcomer").await;
    owner.invite_and_join(&group, &mut newcomer).await;
    // The last of those reached the members still in the group…
    let _ = owner
        .next_push(api::event::CHAT_TYPING, crate::common::WAIT)
        .await;
    let last_seq = owner.summary(&group).await.last_seq;
    let joined = owner.event_at(&group, last_seq).await;
    assert_eq!(joined.item.kind, EventKind::MemberJoin);
    assert_eq!(joined.item.sender, *newcomer.user());
    stays.event_at(&group, last_seq).await;
    // …and nothing of it reached the kicked user's sockets.
    for socket in [&mut kicked, &mut second_tab] {
        socket
            .expect_no_push_where(|event| event.starts_with("chat."), QUIET)
            .await;
    }
    // Their own attempts to listen in are refused.
    kicked
        .err(
            method::CHATS_GET,
            &group_params(&group),
            ErrorCode::NotFound,
        )
        .await;
    kicked
        .err(
            method::MSGS_HISTORY,
            &crate::common::history(&group),
            ErrorCode::NotFound,
        )
        .await;
    kicked
        .err(
            method::MSGS_READ,
            &api::ReadParams {
                group: group.clone(),
                seq: 1,
            },
            ErrorCode::NotFound,
        )
        .await;
    node.shutdown().await;
}
