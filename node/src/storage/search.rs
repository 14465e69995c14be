//! Message search: the `message_texts` projection and the full-text queries over it
//! (spec/gateway.md §8.9; migrations `0009_search`).
//!
//! `message_texts` holds the current text of each message that has text and is not deleted,
//! lowercased ([`index_text`]); results show the text of the timeline row.
//! It is written in the transaction of the event that changes it, by the same statements on
//! both backends ([`item_steps`] for the new timeline rows of a batch, [`op_steps`] for the
//! projection ops written one at a time), so commits of groups homed here and of replicas,
//! batched or one by one, keep it right. SQLite indexes it with FTS5 (kept by triggers),
//! PostgreSQL with a GIN index over `to_tsvector('simple', text)`.

use ciborium::Value;
use sqlx::AssertSqlSafe;
use winichat_protocol::Timestamp;
use winichat_protocol::codec::{self, Limits};
use winichat_protocol::ids::{GroupId, UserId};

use super::batch::{MAX_ROWS_PER_STATEMENT, Placeholders, PlanDb, Step, values};
use super::chats::{ProjectionOp, TimelineRow};
use super::{StorageError, to_i64};

/// What to look for.
#[derive(Debug, Clone)]
pub struct MessageQuery<'a> {
    /// Whose chats: only those they are a member of, not deleted.
    pub user: &'a UserId,
    /// The words, as `winichat_protocol::gateway::search::search_words` gives them (never
    /// empty): each must be the start of a word of the message.
    pub words: &'a [String],
    /// Only this chat.
    pub group: Option<&'a GroupId>,
    /// Only messages after this position of the newest-first order.
    pub after: Option<SearchPosition>,
    /// At most this many.
    pub limit: u32,
}

/// A message's place in the newest-first order of results: by time, then group, then seq
/// (all descending), so equal times still page exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPosition {
    /// The message's time.
    pub ts: Timestamp,
    /// Its chat.
    pub group: GroupId,
    /// Its seq.
    pub seq: u64,
}

/// A message found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundMessage {
    /// Where it is (also the cursor after it).
    pub at: SearchPosition,
    /// Its author.
    pub sender: UserId,
    /// Its current text (empty should the stored body not hold one).
    pub text: String,
}

/// Message search.
#[async_trait::async_trait]
pub trait SearchStore: Send + Sync {
    /// Messages matching `query`, newest first.
    async fn search_messages(
        &self,
        query: &MessageQuery<'_>,
    ) -> Result<Vec<FoundMessage>, StorageError>;
}

/// The text a message body holds, when it is a message that has text. Bodies are the node's
/// own CBOR (checked when their event was); one that does not decode has no text to index.
pub(crate) fn body_text(body: &[u8]) -> Option<String> {
    let Ok(Value::Map(entries)) = codec::decode::<Value>(body, &Limits::EVENT) else {
        return None;
    };
    entries
        .into_iter()
        .find_map(|(key, value)| match (key, value) {
            (Value::Text(key), Value::Text(text)) if key == "text" && !text.trim().is_empty() => {
                Some(text)
            }
            _ => None,
        })
}

/// The form of a message's text that is indexed: lowercased here rather than by the database,
/// whose case folding of non-ASCII letters depends on its locale (none, under `C`).
pub(crate) fn index_text(body: &[u8]) -> Option<String> {
    body_text(body).map(|text| text.to_lowercase())
}

/// The text of a new timeline row to index: a message, not deleted, with text.
fn row_text(row: &TimelineRow) -> Option<String> {
    (row.is_message && !row.deleted)
        .then(|| index_text(&row.body))
        .flatten()
}

/// The `message_texts` rows of a batch's new timeline rows.
pub(crate) fn item_steps<DB: PlanDb>(
    items: &[(&GroupId, &TimelineRow)],
) -> Result<Vec<Step<DB>>, StorageError> {
    let texts: Vec<(&GroupId, u64, String)> = items
        .iter()
        .filter_map(|(group, row)| row_text(row).map(|text| (*group, row.seq, text)))
        .collect();
    let mut steps = Vec::new();
    for chunk in texts.chunks(MAX_ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO message_texts (group_id, seq, text) {}",
            values(DB::PLACEHOLDERS, chunk.len(), 3)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).persistent(chunk.len() == 1);
        for (group, seq, text) in chunk {
            query = DB::text(query, group.as_str());
            query = DB::int(query, to_i64(*seq, "seq")?);
            query = DB::text(query, text);
        }
        steps.push(Step {
            query,
            expect: Some(chunk.len()),
            what: "message texts",
        });
    }
    Ok(steps)
}

/// What a projection op written on its own changes in `message_texts`: a new message's text,
/// an edit's new text (or none left), a deletion's removal.
pub(crate) fn op_steps<DB: PlanDb>(
    group: &GroupId,
    op: &ProjectionOp,
) -> Result<Vec<Step<DB>>, StorageError> {
    match op {
        ProjectionOp::InsertItem(row) => item_steps(&[(group, row)]),
        ProjectionOp::EditItem { seq, body, .. } => Ok(vec![match index_text(body) {
            Some(text) => {
                let query = sqlx::query(AssertSqlSafe(statements::upsert(DB::PLACEHOLDERS)));
                let query = DB::text(query, group.as_str());
                let query = DB::int(query, to_i64(*seq, "seq")?);
                Step {
                    query: DB::text(query, &text),
                    expect: None,
                    what: "an edited message's text",
                }
            }
            None => remove::<DB>(group, *seq)?,
        }]),
        ProjectionOp::DeleteItem { seq, .. } => Ok(vec![remove::<DB>(group, *seq)?]),
        _ => Ok(Vec::new()),
    }
}

fn remove<DB: PlanDb>(group: &GroupId, seq: u64) -> Result<Step<DB>, StorageError> {
    let query = sqlx::query(AssertSqlSafe(statements::remove(DB::PLACEHOLDERS)));
    let query = DB::text(query, group.as_str());
    Ok(Step {
        query: DB::int(query, to_i64(seq, "seq")?),
        expect: None,
        what: "a deleted message's text",
    })
}

mod statements {
    use super::Placeholders;

    /// Group, seq, text.
    pub(super) fn upsert(p: Placeholders) -> String {
        match p {
            Placeholders::Question => {
                "INSERT INTO message_texts (group_id, seq, text) \
                 VALUES (?, ?, ?) ON CONFLICT (group_id, seq) DO UPDATE SET text = excluded.text"
            }
            Placeholders::Numbered => {
                "INSERT INTO message_texts (group_id, seq, text) \
                 VALUES ($1, $2, $3) ON CONFLICT (group_id, seq) DO UPDATE SET text = excluded.text"
            }
        }
        .to_owned()
    }

    /// Group, seq.
    pub(super) fn remove(p: Placeholders) -> String {
        match p {
            Placeholders::Question => "DELETE FROM message_texts WHERE group_id = ? AND seq = ?",
            Placeholders::Numbered => "DELETE FROM message_texts WHERE group_id = $1 AND seq = $2",
        }
        .to_owned()
    }
}

/// The FTS5 query of `words`: each a quoted phrase (its `"` doubled, so nothing in it is
/// syntax) matched as a prefix, all required.
pub(crate) fn fts5_query(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The `to_tsquery('simple', …)` text of `words`: each a quoted lexeme (its `'` and `\`
/// escaped) matched as a prefix, all required.
pub(crate) fn tsquery(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("'{}':*", w.replace('\\', "\\\\").replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// The position to start after: none means before everything (the newest first).
pub(crate) fn start(after: Option<&SearchPosition>) -> Result<(i64, &str, i64), StorageError> {
    Ok(match after {
        Some(p) => (
            to_i64(p.ts.0, "ts")?,
            p.group.as_str(),
            to_i64(p.seq, "seq")?,
        ),
        None => (i64::MAX, "", 0),
    })
}

/// Messages per page of the start-up walk that indexes messages posted before search existed.
pub(crate) const BACKFILL_PAGE: u32 = 500;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_words_are_never_syntax() {
        let words = vec!["a\"b".to_owned(), "or".to_owned()];
        assert_eq!(fts5_query(&words), "\"a\"\"b\"* AND \"or\"*");
        let words = vec!["it's".to_owned(), "a\\".to_owned()];
        assert_eq!(tsquery(&words), "'it''s':* & 'a\\\\':*");
    }

    #[test]
    fn only_message_text_is_indexed() {
        let body = codec::encode(&Value::Map(vec![(
            Value::Text("text".into()),
            Value::Text("hello".into()),
        )]))
        .expect("encode");
        assert_eq!(body_text(&body).as_deref(), Some("hello"));
        let blank = codec::encode(&Value::Map(vec![(
            Value::Text("text".into()),
            Value::Text("  ".into()),
        )]))
        .expect("encode");
        assert_eq!(body_text(&blank), None);
        assert_eq!(body_text(&[0xff]), None);
    }
}
