//! Cursors of list replies cut by count or by bytes (spec/gateway.md §8.8). A client treats a
//! `next` as opaque text and sends it back as `after`; the node reads it here. A cursor that
//! does not parse is `bad_request`.

use winichat_protocol::Timestamp;
use winichat_protocol::ids::{GroupId, UserId};

use super::ChatError;

/// The furthest an offset cursor may point: offsets page lists the node builds in memory (bans,
/// links, invites, seen-by, the directory, user search), none of which a client needs to page
/// past this.
pub(crate) const MAX_OFFSET: usize = 100_000;

fn bad_cursor() -> ChatError {
    ChatError::BadRequest("after is not a cursor this node gave".into())
}

/// The cursor after `n` entries of a list.
pub(crate) fn offset(n: usize) -> String {
    n.to_string()
}

/// Where a list continues: 0 without a cursor.
pub(crate) fn parse_offset(after: Option<&str>) -> Result<usize, ChatError> {
    match after {
        None => Ok(0),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if n <= MAX_OFFSET && text == n.to_string() => Ok(n),
            _ => Err(bad_cursor()),
        },
    }
}

/// A chat's place in `chats.list`: latest activity first, then by group id.
pub(crate) fn chat(last_ts: Timestamp, group: &str) -> String {
    format!("{}.{group}", last_ts.0)
}

/// Parses [`chat`].
pub(crate) fn parse_chat(text: &str) -> Result<(Timestamp, String), ChatError> {
    let (ts, group) = text.split_once('.').ok_or_else(bad_cursor)?;
    let ts = ts.parse::<u64>().map_err(|_| bad_cursor())?;
    Ok((Timestamp(ts), group.to_owned()))
}

/// A message's place in `msgs.search`: newest first, then by group id and seq.
pub(crate) fn message(ts: Timestamp, group: &GroupId, seq: u64) -> String {
    format!("{}.{seq}.{group}", ts.0)
}

/// Parses [`message`].
pub(crate) fn parse_message(text: &str) -> Result<(Timestamp, GroupId, u64), ChatError> {
    let mut parts = text.splitn(3, '.');
    let (Some(ts), Some(seq), Some(group)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad_cursor());
    };
    let ts = ts.parse::<u64>().map_err(|_| bad_cursor())?;
    let seq = seq.parse::<u64>().map_err(|_| bad_cursor())?;
    let group = GroupId::parse(group).map_err(|_| bad_cursor())?;
    Ok((Timestamp(ts), group, seq))
}

/// A member's place in the member list: rank, then joining time, then user id.
pub(crate) fn member(rank: u32, joined_at: Timestamp, user: &UserId) -> String {
    format!("{rank}.{}.{user}", joined_at.0)
}

/// Parses [`member`].
pub(crate) fn parse_member(text: &str) -> Result<(u32, Timestamp, String), ChatError> {
    let mut parts = text.splitn(3, '.');
    let (Some(rank), Some(joined), Some(user)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad_cursor());
    };
    let rank = rank.parse::<u32>().map_err(|_| bad_cursor())?;
    let joined = joined.parse::<u64>().map_err(|_| bad_cursor())?;
    Ok((rank, Timestamp(joined), user.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        assert_eq!(parse_offset(Some(&offset(42))).ok(), Some(42));
        assert_eq!(parse_offset(None).ok(), Some(0));
        for bad in ["", "-1", "01", "x", "100001"] {
            assert!(parse_offset(Some(bad)).is_err(), "{bad}");
        }
        let group = "!abcdef:chat.example.org";
        assert_eq!(
            parse_chat(&chat(Timestamp(7), group)).ok(),
            Some((Timestamp(7), group.to_owned()))
        );
        assert!(parse_chat("x.!a:b").is_err());
        let user: UserId = "@bob:chat.example.org".parse().expect("user");
        assert_eq!(
            parse_member(&member(3, Timestamp(9), &user)).ok(),
            Some((3, Timestamp(9), user.to_string()))
        );
        assert!(parse_member("3.9").is_err());
    }
}
