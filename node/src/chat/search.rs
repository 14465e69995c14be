//! `msgs.search`: messages found by the words of their current text, in the chats the caller
//! is a member of (spec/gateway.md §8.9).

use winichat_protocol::gateway::fit;
use winichat_protocol::gateway::search::{
    MAX_MSG_SEARCH_LIMIT, MsgSearchHit, MsgSearchParams, MsgSearchResult, search_words, snippet,
};
use winichat_protocol::group::Action;
use winichat_protocol::ids::UserId;

use super::{ChatError, Chats, pages};
use crate::storage::search::{MessageQuery, SearchPosition};

impl Chats {
    /// `msgs.search`: a page of the messages of the caller's chats (or of `group`, which the
    /// caller must be allowed to view) whose current text has every word of the query as the
    /// start of one of its words, newest first, cut to fit a frame. A query without a word
    /// finds nothing.
    pub async fn search_messages(
        &self,
        actor: &UserId,
        p: MsgSearchParams,
    ) -> Result<MsgSearchResult, ChatError> {
        let limit = match p.limit {
            Some(0) => return Err(ChatError::BadRequest("limit must be at least 1".into())),
            Some(n) => n.min(MAX_MSG_SEARCH_LIMIT),
            None => MAX_MSG_SEARCH_LIMIT,
        };
        let after = p
            .after
            .as_deref()
            .map(pages::parse_message)
            .transpose()?
            .map(|(ts, group, seq)| SearchPosition { ts, group, seq });
        if let Some(group) = &p.group {
            // The same answers as the chat's history: not_found, or forbidden.
            self.with_access(actor, group, Action::View, |_| ()).await?;
        }
        let words = search_words(&p.query);
        if words.is_empty() {
            return Ok(MsgSearchResult::default());
        }
        // One past the page, to know whether another follows.
        let found = self
            .db()
            .search()
            .search_messages(&MessageQuery {
                user: actor,
                words: &words,
                group: p.group.as_ref(),
                after,
                limit: limit.saturating_add(1),
            })
            .await?;
        let page = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = found.len() > page;
        let results: Vec<MsgSearchHit> = found
            .into_iter()
            .take(page)
            .map(|m| MsgSearchHit {
                group: m.at.group,
                seq: m.at.seq,
                ts: m.at.ts,
                sender: m.sender,
                snippet: snippet(&m.text, &words),
            })
            .collect();
        let asked = results.len();
        let mut result = MsgSearchResult {
            results,
            next: None,
        };
        let cut = fit::message_search(&mut result);
        if result.results.is_empty() && asked > 0 {
            return Err(ChatError::TooLarge);
        }
        if cut || more {
            result.next = result
                .results
                .last()
                .map(|hit| pages::message(hit.ts, &hit.group, hit.seq));
        }
        Ok(result)
    }
}
