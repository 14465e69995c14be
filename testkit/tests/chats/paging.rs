//! History paging through 10,000 messages: backwards, forwards and around.

use std::time::Instant;

use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::event::EventKind;
use winichat_protocol::gateway::chat::{self as api, HistoryParams, MAX_HISTORY_LIMIT, method};
use winichat_protocol::gateway::{self};
use winichat_protocol::group::Visibility;
use winichat_protocol::ids::GroupId;
use winichat_testkit::client::Client;
use winichat_testkit::node::Backend;

use crate::common::{Chat, post_params, start, text_of, users};

on_both!(paging_through_ten_thousand_messages_sees_each_once_in_order);

/// How many messages, unless `WINICHAT_PAGING_MESSAGES` says otherwise (for a quick local run).
fn messages() -> u64 {
    std::env::var("WINICHAT_PAGING_MESSAGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| *n >= 200)
        .unwrap_or(10_000)
}
/// Posts in flight per socket.
const WINDOW: usize = 128;
/// Sockets posting at once.
const POSTERS: u64 = 4;

fn page(group: &GroupId) -> HistoryParams {
    crate::common::history(group)
}

/// Posts `text(i)` for `i` in `range` from one socket, `WINDOW` at a time.
async fn post_range(mut c: Client, group: GroupId, range: std::ops::Range<u64>) -> Client {
    let mut in_flight = std::collections::VecDeque::with_capacity(WINDOW);
    for i in range {
        if in_flight.len() == WINDOW {
            let id = in_flight.pop_front().expect("in flight");
            c.reply(id).await.expect("post");
        }
        let params = gateway::to_value(&post_params(&group, &format!("m{i}"))).expect("params");
        in_flight.push_back(c.send(method::MSGS_POST, params).await);
    }
    for id in in_flight {
        c.reply(id).await.expect("post");
    }
    // Its own chat.event pushes are not needed.
    c.discard_pushes(api::event::CHAT_EVENT);
    c
}

async fn paging_through_ten_thousand_messages_sees_each_once_in_order(backend: Backend) {
    let node = start(backend).await;
    let [mut owner] = users(&node, ["owner"]).await;
    let group = owner
        .create_group("Long", Visibility::Private, None)
        .await
        .group;

    let total = messages();
    let started = Instant::now();
    let per = total / POSTERS;
    let mut tasks = Vec::new();
    for p in 0..POSTERS {
        let c = owner.another(&node).await;
        let range = p * per..if p + 1 == POSTERS {
            total
        } else {
            (p + 1) * per
        };
        tasks.push(tokio::spawn(post_range(c, group.clone(), range)));
    }
    for task in tasks {
        task.await.expect("poster");
    }
    eprintln!("{backend:?}: {total} posts in {:.1?}", started.elapsed());
    owner.discard_pushes(api::event::CHAT_EVENT);
    // seq 1 is group.create; the messages are 2 ..= total + 1.
    let last = total + 1;
    let summary = owner.summary(&group).await;
    assert_eq!(summary.last_seq, last);

    // Backwards from the newest.
    let started = Instant::now();
    let mut backwards = Vec::new();
    let mut result = owner.history(page(&group)).await;
    assert!(!result.more_after);
    loop {
        assert!(result.items.len() <= MAX_HISTORY_LIMIT as usize);
        assert!(
            result.items.windows(2).all(|w| w[0].seq < w[1].seq),
            "each page ascending"
        );
        backwards.splice(0..0, result.items.iter().map(|i| i.seq));
        let Some(first) = result.items.first() else {
            break;
        };
        if !result.more_before {
            break;
        }
        let before = first.seq;
        result = owner
            .history(HistoryParams {
                before: Some(before),
                ..page(&group)
            })
            .await;
        assert!(result.more_after, "there is always something newer");
    }
    let all: Vec<u64> = (1..=last).collect();
    assert_eq!(backwards.len(), all.len());
    assert!(backwards == all, "backwards: every item once, in order");

    // Forwards from the start, checking the texts on the way.
    let mut forwards = Vec::new();
    let mut after = 0;
    loop {
        let result = owner
            .history(HistoryParams {
                after: Some(after),
                ..page(&group)
            })
            .await;
        assert!(result.items.len() <= MAX_HISTORY_LIMIT as usize);
        for item in &result.items {
            if item.seq > 1 {
                assert_eq!(item.kind, EventKind::MsgPost);
            }
            forwards.push(item.seq);
        }
        match result.items.last() {
            Some(item) if result.more_after => after = item.seq,
            _ => break,
        }
    }
    assert_eq!(forwards.len(), all.len());
    assert!(forwards == all, "forwards: every item once, in order");
    eprintln!("{backend:?}: paged both ways in {:.1?}", started.elapsed());

    // Texts: each message once (the posters interleave, so compare as sets).
    let mut texts = Vec::with_capacity(total as usize);
    let mut after = 1;
    loop {
        let result = owner
            .history(HistoryParams {
                after: Some(after),
                ..page(&group)
            })
            .await;
        texts.extend(result.items.iter().map(text_of));
        match result.items.last() {
            Some(item) if result.more_after => after = item.seq,
            _ => break,
        }
    }
    texts.sort_unstable_by_key(|t| t.trim_start_matches('m').parse::<u64>().unwrap_or(u64::MAX));
    let expected: Vec<String> = (0..total).map(|i| format!("m{i}")).collect();
    assert!(texts == expected, "every text exactly once");

    // Around a seq: the item in the middle.
    let middle = last / 2;
    for (around, limit) in [(middle, 11), (middle, 100), (2, 10), (last, 10)] {
        let result = owner
            .history(HistoryParams {
                around: Some(around),
                limit: Some(limit),
                ..page(&group)
            })
            .await;
        let seqs: Vec<u64> = result.items.iter().map(|i| i.seq).collect();
        assert!(seqs.contains(&around), "around {around}: {seqs:?}");
        assert!(
            seqs.windows(2).all(|w| w[1] == w[0] + 1),
            "contiguous: {seqs:?}"
        );
        assert!(seqs.len() <= limit as usize);
        if around > u64::from(limit) && around + u64::from(limit) < last {
            assert_eq!(seqs.len(), limit as usize);
            // (limit - 1) / 2 items below it, the item, then newer ones (gateway.md §8.5).
            let below = (limit as usize - 1) / 2;
            assert_eq!(seqs[below], around, "in the middle: {seqs:?}");
            assert!(result.more_before && result.more_after);
        }
    }
    // Edges.
    let oldest = owner
        .history(HistoryParams {
            before: Some(4),
            ..page(&group)
        })
        .await;
    assert_eq!(
        oldest.items.iter().map(|i| i.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(!oldest.more_before);
    let newest = owner
        .history(HistoryParams {
            after: Some(last),
            ..page(&group)
        })
        .await;
    assert!(newest.items.is_empty());
    assert!(!newest.more_after);
    let capped = owner
        .history(HistoryParams {
            limit: Some(10_000),
            ..page(&group)
        })
        .await;
    assert_eq!(capped.items.len(), MAX_HISTORY_LIMIT as usize);
    owner
        .err(
            method::MSGS_HISTORY,
            &HistoryParams {
                before: Some(10),
                after: Some(1),
                ..page(&group)
            },
            ErrorCode::BadRequest,
        )
        .await;
    node.shutdown().await;
}
