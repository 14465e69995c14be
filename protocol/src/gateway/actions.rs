//! Message and chat actions over the gateway: `msgs.forward` (a message of one chat posted
//! again in another, its origin written by the node) and `chats.settings` (a user's own mute
//! and pin of a chat, kept on their node and synced to their other sessions with the
//! `chat.settings` push). The prose is `spec/gateway.md` §8.10.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::codec;
use crate::group::bodies::Forwarded;
use crate::ids::GroupId;
use crate::media::Attachment;

/// `muted_until` meaning "until unmuted": the largest timestamp the CBOR subset carries.
pub const MUTED_FOREVER: Timestamp = Timestamp((1 << 53) - 1);
/// The most chats a user may pin to the top of their list.
pub const MAX_PINNED_CHATS: usize = 5;

/// A message named by its chat and seq.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRef {
    /// The chat the message is in.
    pub group: GroupId,
    /// Its seq in that chat's log.
    pub seq: u64,
}

/// `msgs.forward` params: post message `from` again in `group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardParams {
    /// Transaction id.
    #[serde(deserialize_with = "codec::text")]
    pub txn: String,
    /// The chat to post in.
    pub group: GroupId,
    /// The message to forward: one the caller may read.
    pub from: MessageRef,
    /// Federation only (`submit` from the home of `from.group`, spec/federation.md §5.6): the
    /// copy that node read for the caller. A gateway client never sends it (`bad_request`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<ForwardOriginal>,
}

/// What the home of a forwarded message's chat vouches for when it forwards it into a chat of
/// another node: the message as it is now, and who wrote it first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardOriginal {
    /// The original's current text (after edits); a caption when attachments come.
    #[serde(deserialize_with = "codec::text")]
    pub text: String,
    /// Its attachments, as its signed `msg.post` describes them (media of the sending node).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// Who wrote it (the first author, for a forward of a forward), its chat when public, and
    /// when.
    pub forwarded: Forwarded,
}

/// `chats.settings` params: absent fields are unchanged; at least one is present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatSettingsParams {
    /// The chat.
    pub group: GroupId,
    /// Mute until this time (Unix ms, in the future; [`MUTED_FOREVER`] for "until unmuted");
    /// `null` unmutes.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::nullable"
    )]
    pub muted_until: Option<Option<Timestamp>>,
    /// Pin the chat to the top of the list (true) or unpin it (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
}

/// A user's own settings of a chat: the `chats.settings` result and the `chat.settings` push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatSettings {
    /// The chat.
    pub group: GroupId,
    /// Muted until then (absent: not muted; [`MUTED_FOREVER`]: until unmuted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted_until: Option<Timestamp>,
    /// When the chat was pinned to the top (absent: not pinned); pinned chats are listed
    /// first, the most recently pinned on top.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_at: Option<Timestamp>,
}
