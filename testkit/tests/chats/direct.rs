//! Direct chats: `dm.open`, messages and their changes, live events, reads, typing, unread.

use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::event::EventKind;
use winichat_protocol::gateway::Empty;
use winichat_protocol::gateway::chat::{self as api, method};
use winichat_protocol::group::{GroupKind, MAX_TEXT_CHARS, Permissions, Visibility};
use winichat_protocol::ids::UserId;
use winichat_testkit::client::txn;
use winichat_testkit::node::Backend;

use crate::common::{
    Chat, QUIET, WAIT, group_params, history, kick, post_params, start, text_of, txn_group, users,
};

on_both!(
    dm_open_is_idempotent_both_ways,
    dm_messages_edits_deletes_reactions_and_pins,
    dm_text_limits_and_replies,
    dm_reads_typing_and_unread,
    a_dm_peer_starts_reading_where_they_became_a_member,
);

async fn dm_open_is_idempotent_both_ways(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob] = users(&node, ["alice", "bob"]).await;
    let first = alice.dm_open(bob.user()).await;
    assert_eq!(first.kind, GroupKind::Direct);
    assert_eq!(first.visibility, Visibility::Private);
    assert_eq!(first.members, 2);
    assert_eq!(first.peer.as_ref(), Some(bob.user()));
    assert_eq!(first.handle, None);
    let again = alice.dm_open(bob.user()).await;
    assert_eq!(again.group, first.group, "same chat when opened again");
    let theirs = bob.dm_open(alice.user()).await;
    assert_eq!(theirs.group, first.group, "same chat from the other side");
    assert_eq!(theirs.peer.as_ref(), Some(alice.user()));
    assert_eq!(theirs.my_permissions, Permissions::DIRECT);

    // Each side has exactly one chat.
    for c in [&mut alice, &mut bob] {
        let list: api::ChatList = c.ok(method::CHATS_LIST, &Empty {}).await;
        assert_eq!(list.chats.len(), 1, "{}: {list:?}", c.user());
        assert_eq!(list.chats[0].group, first.group);
    }
    // Two openings at once from both sides still make one chat.
    let [mut carol, mut dave] = users(&node, ["carol", "dave"]).await;
    let (carol_id, dave_id) = (carol.user().clone(), dave.user().clone());
    let (a, b) = tokio::join!(carol.dm_open(&dave_id), dave.dm_open(&carol_id));
    assert_eq!(a.group, b.group, "concurrent dm.open from both sides");

    // Not with oneself, not with nobody.
    alice
        .err(
            method::DM_OPEN,
            &api::DmOpenParams {
                user: alice.user().clone(),
            },
            ErrorCode::BadRequest,
        )
        .await;
    let nobody = UserId::new("nobody", node.name()).expect("user id");
    alice
        .err(
            method::DM_OPEN,
            &api::DmOpenParams { user: nobody },
            ErrorCode::NotFound,
        )
        .await;
    // Both sides of a direct chat may do the same: the creator is no "owner" of it.
    let mine = alice.summary(&first.group).await.my_permissions;
    assert_eq!(
        mine,
        Permissions::DIRECT,
        "what the creator of a direct chat may do"
    );
    node.shutdown().await;
}

async fn dm_messages_edits_deletes_reactions_and_pins(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob] = users(&node, ["alice", "bob"]).await;
    let dm = alice.dm_open(bob.user()).await.group;
    // The group.create line reaches both.
    bob.event_of(EventKind::GroupCreate).await;
    alice.event_of(EventKind::GroupCreate).await;

    let hello = alice.post(&dm, "hello bob").await;
    let seen = bob.event_of(EventKind::MsgPost).await;
    assert_eq!(seen.group, dm);
    assert_eq!(seen.item.seq, hello.seq);
    assert_eq!(seen.item.id, hello.id);
    assert_eq!(&seen.item.sender, alice.user());
    assert_eq!(text_of(&seen.item), "hello bob");
    alice.event_of(EventKind::MsgPost).await; // the author's own sockets get it too

    // Editing: only one's own.
    let edit = |seq, text: &str| api::EditParams {
        txn: txn(),
        group: dm.clone(),
        seq,
        text: text.to_owned(),
    };
    let e = bob
        .err(
            method::MSGS_EDIT,
            &edit(hello.seq, "hijacked"),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, "you can only edit your own messages");
    let _: api::WriteResult = alice
        .ok(method::MSGS_EDIT, &edit(hello.seq, "hello, bob"))
        .await;
    let edited = bob.event_of(EventKind::MsgEdit).await;
    assert_eq!(edited.item.sender, *alice.user());

    // Reacting: both may.
    let react = |on| api::ReactParams {
        txn: txn(),
        group: dm.clone(),
        seq: hello.seq,
        emoji: "👍".to_owned(),
        on,
    };
    let _: api::WriteResult = bob.ok(method::MSGS_REACT, &react(true)).await;
    alice.event_of(EventKind::MsgEdit).await;
    let reacted = alice.event_of(EventKind::MsgReact).await;
    assert_eq!(reacted.item.sender, *bob.user());

    // Pinning: both may in a direct chat.
    let pin = |seq, on| api::PinParams {
        txn: txn(),
        group: dm.clone(),
        seq,
        on,
    };
    let _: api::WriteResult = bob.ok(method::MSGS_PIN, &pin(hello.seq, true)).await;
    alice.event_of(EventKind::MsgPin).await;
    bob.err(method::MSGS_PIN, &pin(hello.seq, true), ErrorCode::Conflict)
        .await;
    assert_eq!(alice.summary(&dm).await.pinned, vec![hello.seq]);

    let items = alice.latest(&dm).await.items;
    let item = items
        .iter()
        .find(|i| i.seq == hello.seq)
        .expect("the message in history");
    assert_eq!(text_of(item), "hello, bob");
    assert!(item.edited_at.is_some());
    assert!(item.pinned);
    assert_eq!(item.reactions.len(), 1);
    assert_eq!(item.reactions[0].emoji, "👍");
    assert_eq!(item.reactions[0].count, 1);
    assert_eq!(item.reactions[0].users, vec![bob.user().clone()]);
    // Edits, reactions and pins are not timeline rows.
    assert_eq!(
        items.iter().map(|i| i.kind.clone()).collect::<Vec<_>>(),
        vec![EventKind::GroupCreate, EventKind::MsgPost]
    );

    // Reaction off.
    let _: api::WriteResult = bob.ok(method::MSGS_REACT, &react(false)).await;
    alice.event_of(EventKind::MsgReact).await;
    let items = alice.latest(&dm).await.items;
    assert!(items[1].reactions.is_empty(), "{:?}", items[1].reactions);

    // Deleting: in a direct chat only one's own.
    let delete = |seq| api::MsgParams {
        txn: txn(),
        group: dm.clone(),
        seq,
    };
    bob.err(
        method::MSGS_DELETE,
        &delete(hello.seq),
        ErrorCode::Forbidden,
    )
    .await;
    let theirs = bob.post(&dm, "my own").await;
    let _: api::WriteResult = bob.ok(method::MSGS_DELETE, &delete(theirs.seq)).await;
    let _: api::WriteResult = alice.ok(method::MSGS_DELETE, &delete(hello.seq)).await;
    let gone = bob.event_until(&dm, EventKind::MsgDelete).await;
    assert_eq!(gone.item.sender, *bob.user());
    let gone = bob.event_until(&dm, EventKind::MsgDelete).await;
    assert_eq!(gone.item.sender, *alice.user());
    let items = bob.latest(&dm).await.items;
    for seq in [hello.seq, theirs.seq] {
        let item = items.iter().find(|i| i.seq == seq).expect("still a row");
        assert!(item.deleted, "{item:?}");
        assert_eq!(text_of(item), "", "a deleted message keeps no text");
    }
    // A deleted message cannot be edited, reacted to, or deleted again.
    alice
        .err(
            method::MSGS_EDIT,
            &edit(hello.seq, "back"),
            ErrorCode::NotFound,
        )
        .await;
    let dead_react = api::ReactParams {
        txn: txn(),
        group: dm.clone(),
        seq: hello.seq,
        emoji: "👍".to_owned(),
        on: true,
    };
    assert!(
        bob.call_as::<_, api::WriteResult>(method::MSGS_REACT, &dead_react)
            .await
            .is_err()
    );
    assert!(
        alice
            .call_as::<_, api::WriteResult>(method::MSGS_DELETE, &delete(hello.seq))
            .await
            .is_err()
    );
    // A message that does not exist.
    alice
        .err(method::MSGS_EDIT, &edit(999, "x"), ErrorCode::NotFound)
        .await;

    // No moderation in a direct chat.
    let e = alice
        .err(
            method::MEMBERS_KICK,
            &kick(&dm, bob.user(), ""),
            ErrorCode::Forbidden,
        )
        .await;
    assert_eq!(e.message, "not possible in a direct chat");
    alice
        .err(method::GROUPS_LEAVE, &txn_group(&dm), ErrorCode::Forbidden)
        .await;
    alice
        .err(
            method::GROUPS_UPDATE,
            &api::GroupUpdateParams {
                txn: txn(),
                group: dm.clone(),
                name: Some("renamed".to_owned()),
                description: None,
                visibility: None,
                handle: None,
                photo: None,
            },
            ErrorCode::Forbidden,
        )
        .await;
    node.shutdown().await;
}

async fn dm_text_limits_and_replies(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob] = users(&node, ["alice", "bob"]).await;
    let dm = alice.dm_open(bob.user()).await.group;

    for (text, what) in [
        (String::new(), "empty"),
        ("x".repeat(MAX_TEXT_CHARS + 1), "4,097 characters"),
        ("é".repeat(MAX_TEXT_CHARS + 1), "4,097 two-byte characters"),
    ] {
        let e = alice
            .err(
                method::MSGS_POST,
                &post_params(&dm, &text),
                ErrorCode::BadRequest,
            )
            .await;
        assert!(!e.message.is_empty(), "{what}");
    }
    // The limit counts characters, not bytes.
    let longest = alice.post(&dm, &"é".repeat(MAX_TEXT_CHARS)).await;
    let seen = bob.event_until(&dm, EventKind::MsgPost).await;
    assert_eq!(seen.item.seq, longest.seq);
    assert_eq!(text_of(&seen.item).chars().count(), MAX_TEXT_CHARS);
    // Editing has the same limits.
    for text in [String::new(), "y".repeat(MAX_TEXT_CHARS + 1)] {
        alice
            .err(
                method::MSGS_EDIT,
                &api::EditParams {
                    txn: txn(),
                    group: dm.clone(),
                    seq: longest.seq,
                    text,
                },
                ErrorCode::BadRequest,
            )
            .await;
    }

    // Replies: to a message of this chat only.
    let reply = |to| api::PostParams {
        reply_to: Some(to),
        ..post_params(&dm, "a reply")
    };
    bob.err(method::MSGS_POST, &reply(9999), ErrorCode::NotFound)
        .await;
    // seq 1 is the group.create line, not a message.
    bob.err(method::MSGS_POST, &reply(1), ErrorCode::NotFound)
        .await;
    let answered = bob.post(&dm, "question").await;
    let r: api::WriteResult = alice.ok(method::MSGS_POST, &reply(answered.seq)).await;
    let seen = bob.event_until(&dm, EventKind::MsgPost).await;
    let seen = if seen.item.seq == r.seq {
        seen
    } else {
        bob.event_until(&dm, EventKind::MsgPost).await
    };
    assert_eq!(seen.item.seq, r.seq);
    assert_eq!(
        crate::common::field(&seen.item.body, "reply_to").and_then(|v| v.as_integer()),
        Some(answered.seq.into())
    );
    // txn must be 1–64 bytes.
    for bad in [String::new(), "t".repeat(65)] {
        let mut p = post_params(&dm, "x");
        p.txn = bad;
        alice
            .err(method::MSGS_POST, &p, ErrorCode::BadRequest)
            .await;
    }
    node.shutdown().await;
}

async fn dm_reads_typing_and_unread(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob] = users(&node, ["alice", "bob"]).await;
    let dm = alice.dm_open(bob.user()).await.group;
    let mut last = 0;
    for i in 0..3 {
        last = alice.post(&dm, &format!("unread {i}")).await.seq;
    }
    let mine = alice.summary(&dm).await;
    assert_eq!(mine.unread, 0, "one's own messages are never unread");
    assert_eq!(mine.read_seq, last, "posting reads up to one's message");
    assert_eq!(mine.last_seq, last);
    let theirs = bob.summary(&dm).await;
    assert_eq!(theirs.unread, 3);
    assert_eq!(
        theirs.read_seq, 1,
        "the peer starts at the create that made them a member"
    );
    assert_eq!(
        theirs.last.as_ref().map(text_of).as_deref(),
        Some("unread 2"),
        "the preview line"
    );
    let list: api::ChatList = bob.ok(method::CHATS_LIST, &Empty {}).await;
    assert_eq!(list.chats[0].unread, 3);

    // Bob reads the first two: Alice sees ✓✓ move.
    alice.discard_pushes(api::event::CHAT_READ);
    let read = |seq| api::ReadParams {
        group: dm.clone(),
        seq,
    };
    let _: Empty = bob.ok(method::MSGS_READ, &read(last - 1)).await;
    let push: api::ReadPush = alice.next_push_as(api::event::CHAT_READ, WAIT).await;
    assert_eq!(push.group, dm);
    assert_eq!(&push.user, bob.user());
    assert_eq!(push.seq, last - 1);
    assert_eq!(bob.summary(&dm).await.unread, 1);
    assert_eq!(alice.summary(&dm).await.peer_read_seq, Some(last - 1));
    let seen: api::SeenBy = alice.ok(method::MSGS_SEEN_BY, &read(last - 1)).await;
    assert_eq!(seen.users, vec![bob.user().clone()]);
    let seen: api::SeenBy = alice.ok(method::MSGS_SEEN_BY, &read(last)).await;
    assert!(seen.users.is_empty());

    // Reading never moves back, and a read past the end stops at the end.
    let _: Empty = bob.ok(method::MSGS_READ, &read(1)).await;
    let _: Empty = bob.ok(method::MSGS_READ, &read(last + 1000)).await;
    let push: api::ReadPush = alice.next_push_as(api::event::CHAT_READ, WAIT).await;
    assert_eq!(push.seq, last, "clamped to the last event");
    let theirs = bob.summary(&dm).await;
    assert_eq!((theirs.unread, theirs.read_seq), (0, last));
    alice.expect_no_push(api::event::CHAT_READ, QUIET).await;

    // Typing reaches the other, not oneself.
    let _: Empty = bob.ok(method::MSGS_TYPING, &group_params(&dm)).await;
    let typing: api::TypingPush = alice.next_push_as(api::event::CHAT_TYPING, WAIT).await;
    assert_eq!(typing.group, dm);
    assert_eq!(&typing.user, bob.user());
    bob.expect_no_push(api::event::CHAT_TYPING, QUIET).await;

    // A deleted message is not unread.
    let extra = alice.post(&dm, "soon gone").await;
    assert_eq!(bob.summary(&dm).await.unread, 1);
    let _: api::WriteResult = alice
        .ok(
            method::MSGS_DELETE,
            &api::MsgParams {
                txn: txn(),
                group: dm.clone(),
                seq: extra.seq,
            },
        )
        .await;
    assert_eq!(bob.summary(&dm).await.unread, 0);
    // History reads the same for both.
    let a = alice.history(history(&dm)).await;
    let b = bob.history(history(&dm)).await;
    assert_eq!(a, b);
    node.shutdown().await;
}

/// The peer of a direct chat becomes a member with its `group.create` (seq 1): their read
/// position starts there, as the opener's does (gateway.md §8.7), not at 0.
async fn a_dm_peer_starts_reading_where_they_became_a_member(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob] = users(&node, ["alice", "bob"]).await;
    let dm = alice.dm_open(bob.user()).await;
    assert_eq!(dm.last_seq, 1);
    assert_eq!(dm.read_seq, 1);
    assert_eq!(
        dm.peer_read_seq,
        Some(1),
        "the peer's position starts at the create"
    );
    let theirs = bob.summary(&dm.group).await;
    assert_eq!((theirs.read_seq, theirs.unread), (1, 0));
    assert_eq!(theirs.peer_read_seq, Some(1));
    let detail = alice.detail(&dm.group).await;
    for member in &detail.members {
        assert_eq!(member.read_seq, 1, "{}", member.user);
    }
    node.shutdown().await;
}
