//! Rows of the projection turned into what the gateway sends.

use ciborium::Value;
use winichat_protocol::codec::{self, Limits};
use winichat_protocol::event::EventKind;
use winichat_protocol::gateway::chat::{MAX_REACTION_USERS, Reaction, TimelineItem};
use winichat_protocol::gateway::fit;
use winichat_protocol::ids::EventId;

use super::ChatError;
use crate::storage::chats::{ReactionRow, TimelineRow};

/// A timeline row with its reactions (`reactions` may hold other messages' too).
pub(crate) fn item(row: TimelineRow, reactions: &[ReactionRow]) -> Result<TimelineItem, ChatError> {
    let body: Value = codec::decode(&row.body, &Limits::EVENT).map_err(|e| {
        ChatError::internal(format!(
            "stored body of seq {} does not decode: {e}",
            row.seq
        ))
    })?;
    let kind = EventKind::parse(&row.kind).map_err(ChatError::internal)?;
    let id: EventId = row.event_id.parse().map_err(ChatError::internal)?;
    let mut grouped: Vec<Reaction> = Vec::new();
    for r in reactions.iter().filter(|r| r.seq == row.seq) {
        match grouped.iter_mut().find(|g| g.emoji == r.emoji) {
            Some(g) => {
                g.count += 1;
                if g.users.len() < MAX_REACTION_USERS {
                    g.users.push(r.user.clone());
                }
            }
            None => grouped.push(Reaction {
                emoji: r.emoji.clone(),
                count: 1,
                users: vec![r.user.clone()],
            }),
        }
    }
    let mut item = TimelineItem {
        seq: row.seq,
        id,
        ts: row.ts,
        sender: row.sender,
        kind,
        body,
        edited_at: row.edited_at,
        deleted: row.deleted,
        pinned: row.pinned,
        reactions: grouped,
        more_reactions: false,
    };
    // However many emojis a message collects, its row stays small enough to send.
    fit::reactions(&mut item);
    Ok(item)
}
