//! Message search over the gateway: `msgs.search` (spec/gateway.md §8.9).
//!
//! The node finds messages by the words of their current text, in the chats the caller is a
//! member of, newest first. [`search_words`] is the one rule for which words a query asks for,
//! so a client highlights in a snippet exactly what the node matched.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::codec;
use crate::ids::{GroupId, UserId};

/// `{query, ?group, ?limit, ?after}` → [`MsgSearchResult`].
pub const MSGS_SEARCH: &str = "msgs.search";

/// The largest `limit` of `msgs.search`, and its default.
pub const MAX_MSG_SEARCH_LIMIT: u32 = 50;
/// How much of a query is read, in characters: the rest is ignored (not an error).
pub const MAX_QUERY_CHARS: usize = 256;
/// How many words of a query are matched: later words are ignored.
pub const MAX_QUERY_WORDS: usize = 8;
/// The longest word matched, in characters: a longer word is cut to this.
pub const MAX_WORD_CHARS: usize = 64;
/// The longest snippet, in characters (without the `…` marks at a cut).
pub const SNIPPET_CHARS: usize = 160;

/// `msgs.search` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MsgSearchParams {
    /// Words to find (see [`search_words`]); every word must match the start of a word of
    /// the message.
    #[serde(deserialize_with = "codec::text")]
    pub query: String,
    /// Only this chat; absent: every chat the caller is a member of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupId>,
    /// At most this many (default and maximum [`MAX_MSG_SEARCH_LIMIT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next` of the previous page, to continue.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub after: Option<String>,
}

/// One message found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MsgSearchHit {
    /// The chat.
    pub group: GroupId,
    /// The message's seq (open the chat `around` it).
    pub seq: u64,
    /// When it was posted.
    pub ts: Timestamp,
    /// Its author.
    pub sender: UserId,
    /// Part of its current text around the first word that matched, at most
    /// [`SNIPPET_CHARS`] characters, with `…` where it was cut.
    #[serde(deserialize_with = "codec::text")]
    pub snippet: String,
}

/// `msgs.search` result: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MsgSearchResult {
    /// The messages found, newest first.
    pub results: Vec<MsgSearchHit>,
    /// Present when more may follow: send it back as `after`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::optional_text"
    )]
    pub next: Option<String>,
}

/// The words a query asks for: its first [`MAX_QUERY_CHARS`] characters split at every
/// character that is not alphanumeric, lowercased, each cut to [`MAX_WORD_CHARS`], duplicates
/// dropped, at most [`MAX_QUERY_WORDS`]. Query syntax of any search engine (quotes, `*`, `-`,
/// `OR`, `NEAR(`) is thus plain text: punctuation separates words and `OR` is the word "or".
pub fn search_words(query: &str) -> Vec<String> {
    let head: String = query.chars().take(MAX_QUERY_CHARS).collect();
    let mut words: Vec<String> = Vec::new();
    for word in head.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let word: String = word.to_lowercase().chars().take(MAX_WORD_CHARS).collect();
        if !words.contains(&word) {
            words.push(word);
            if words.len() == MAX_QUERY_WORDS {
                break;
            }
        }
    }
    words
}

/// The snippet of `text` for `words`: [`SNIPPET_CHARS`] characters starting a little before
/// the first word of `text` that starts with one of `words` (the start of `text` when none
/// does), with `…` where text was left out.
pub fn snippet(text: &str, words: &[String]) -> String {
    const LEAD: usize = 40;
    let chars: Vec<char> = text.chars().collect();
    let first_match = word_starts(&chars)
        .into_iter()
        .find(|&(start, end)| {
            let word: String = chars[start..end].iter().collect::<String>().to_lowercase();
            words.iter().any(|w| word.starts_with(w.as_str()))
        })
        .map_or(0, |(start, _)| start);
    let mut from = first_match.saturating_sub(LEAD);
    if chars.len() - from < SNIPPET_CHARS {
        from = chars.len().saturating_sub(SNIPPET_CHARS);
    }
    let to = (from + SNIPPET_CHARS).min(chars.len());
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.extend(&chars[from..to]);
    if to < chars.len() {
        out.push('…');
    }
    out
}

/// The `[start, end)` character ranges of the words of `chars`.
fn word_starts(chars: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in chars.iter().enumerate() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, chars.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_syntax_is_plain_words() {
        assert_eq!(search_words("\"hello\" OR wor*"), ["hello", "or", "wor"]);
        assert_eq!(search_words("NEAR(a b) -c"), ["near", "a", "b", "c"]);
        assert!(search_words("\"*-()^:").is_empty());
        assert_eq!(
            search_words("Ünïcödé 日本語 ÜNÏCÖDÉ"),
            ["ünïcödé", "日本語"]
        );
    }

    #[test]
    fn queries_are_bounded() {
        let long = "x".repeat(10_000);
        assert_eq!(search_words(&long), ["x".repeat(MAX_WORD_CHARS)]);
        let many: String = (0..100).map(|i| format!("w{i} ")).collect();
        assert_eq!(search_words(&many).len(), MAX_QUERY_WORDS);
        let late = format!("{} late", " ".repeat(MAX_QUERY_CHARS));
        assert!(search_words(&late).is_empty());
    }

    #[test]
    fn snippets_start_near_the_first_match() {
        let words = search_words("needle");
        assert_eq!(snippet("short needle text", &words), "short needle text");
        let text = format!("{}needles here{}", "a ".repeat(200), " b".repeat(200));
        let s = snippet(&text, &words);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("needles here"));
        assert_eq!(s.chars().count(), SNIPPET_CHARS + 2);
        let tail = format!("{}needle", "a ".repeat(200));
        assert!(snippet(&tail, &words).ends_with("needle"));
        assert_eq!(snippet("no match", &words), "no match");
    }
}
