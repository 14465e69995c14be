//! A user's own settings of their chats (mute, pin to top): kept on the user's node only,
//! never federated (spec/gateway.md §8.10).

use winichat_protocol::Timestamp;
use winichat_protocol::ids::{GroupId, UserId};

use super::StorageError;

/// One user's settings of one chat. Both `None` is the same as no row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChatSettingsRow {
    /// Muted until then.
    pub muted_until: Option<Timestamp>,
    /// Pinned to the top of the list then.
    pub pinned_at: Option<Timestamp>,
}

/// Per-user chat settings.
#[async_trait::async_trait]
pub trait ChatSettingsStore: Send + Sync {
    /// `user`'s settings of `group` (the default when none are stored).
    async fn settings(
        &self,
        user: &UserId,
        group: &GroupId,
    ) -> Result<ChatSettingsRow, StorageError>;

    /// Every chat `user` has settings for.
    async fn settings_of(
        &self,
        user: &UserId,
    ) -> Result<Vec<(GroupId, ChatSettingsRow)>, StorageError>;

    /// Stores `user`'s settings of `group` (removes the row when both are `None`).
    async fn put_settings(
        &self,
        user: &UserId,
        group: &GroupId,
        row: ChatSettingsRow,
    ) -> Result<(), StorageError>;
}
