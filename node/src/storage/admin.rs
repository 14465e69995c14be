//! What operators act on (`winichat admin …`, `/api/admin`): account flags, the listing of
//! users and groups with their sizes, account tombstones, purged groups' content, and the
//! federation lists added at run time.

use winichat_protocol::Timestamp;
use winichat_protocol::ids::{GroupId, NodeName, UserId};

use super::StorageError;
use super::accounts::UserRecord;

/// A user as an operator lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUser {
    /// The account.
    pub user: UserRecord,
    /// Bytes of the distinct media they uploaded (what their quota counts).
    pub media_bytes: u64,
}

/// A chat as an operator lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminGroup {
    /// The group.
    pub group: GroupId,
    /// `direct` or `group`.
    pub kind: String,
    /// Its name (empty for direct chats).
    pub name: String,
    /// Its current member count.
    pub members: u64,
    /// The seq of its last event.
    pub events: u64,
    /// Bytes of its signed events stored here.
    pub bytes: u64,
    /// Deleted (or purged).
    pub deleted: bool,
}

/// Which federation list a node is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FederationList {
    /// Allowed (when the allow list is not empty, only these federate).
    Allow,
    /// Denied.
    Deny,
}

impl FederationList {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            FederationList::Allow => "allow",
            FederationList::Deny => "deny",
        }
    }

    fn parse(text: &str) -> Result<Self, StorageError> {
        match text {
            "allow" => Ok(FederationList::Allow),
            "deny" => Ok(FederationList::Deny),
            other => Err(StorageError::Corrupt(format!(
                "federation_lists.list = {other:?}"
            ))),
        }
    }
}

/// Storage of what operators change.
#[async_trait::async_trait]
pub trait AdminStore: Send + Sync {
    /// True if some account that is neither disabled nor deleted has the admin flag.
    async fn any_admin(&self) -> Result<bool, StorageError>;

    /// Up to `limit` accounts by name after `after`, whose name or lowercased display name
    /// starts with `prefix` (lowercase; empty: all), deleted ones included.
    async fn list_users(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AdminUser>, StorageError>;

    /// Sets or clears the admin flag. [`StorageError::NotFound`] if there is no such account.
    async fn set_admin(&self, user: &UserId, admin: bool) -> Result<(), StorageError>;

    /// Disables the account at `at` (`Some`), or enables it (`None`). Enabling a deleted
    /// account is [`StorageError::Conflict`]; [`StorageError::NotFound`] if there is none.
    async fn set_disabled(&self, user: &UserId, at: Option<Timestamp>) -> Result<(), StorageError>;

    /// Sets the user's media quota (`None`: the node's default).
    async fn set_quota(&self, user: &UserId, quota: Option<u64>) -> Result<(), StorageError>;

    /// Turns the account into a tombstone at `at`: deleted and disabled, no admin flag,
    /// password and profile wiped, its avatar reference and its uploads' ownership dropped (so
    /// media nothing else refers to is collected), its refresh tokens expired. In one
    /// transaction.
    async fn tombstone_user(&self, user: &UserId, at: Timestamp) -> Result<(), StorageError>;

    /// The groups `user` is a member of, by id.
    async fn groups_of(&self, user: &UserId) -> Result<Vec<GroupId>, StorageError>;

    /// Up to `limit` seqs of `user`'s messages in `group` that are not deleted, after the seq
    /// `after`, ascending.
    async fn live_messages(
        &self,
        group: &GroupId,
        user: &UserId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<u64>, StorageError>;

    /// Up to `limit` chats by id after `after`, deleted ones included.
    async fn list_groups(
        &self,
        after: Option<&GroupId>,
        limit: u32,
    ) -> Result<Vec<AdminGroup>, StorageError>;

    /// Erases what a deleted group still shows here: every message's text (as tombstones),
    /// reactions, media references (so its attachments are collected), invites, invite links
    /// and memberships. The signed event log stays (see spec/admin.md §4). Only for a group
    /// marked deleted: [`StorageError::Conflict`] otherwise.
    async fn purge_group(&self, group: &GroupId, empty_body: &[u8]) -> Result<(), StorageError>;

    /// The nodes on the run-time allow and deny lists.
    async fn federation_lists(&self) -> Result<Vec<(NodeName, FederationList)>, StorageError>;

    /// Puts `node` on `list` (moving it from the other one), or off both (`None`).
    async fn set_federation_list(
        &self,
        node: &NodeName,
        list: Option<FederationList>,
        at: Timestamp,
    ) -> Result<(), StorageError>;
}

/// A row of the user listing: the user's columns and the sum of their media.
#[derive(sqlx::FromRow)]
pub(crate) struct AdminUserRow {
    #[sqlx(flatten)]
    pub user: super::accounts::UserRow,
    pub media_bytes: i64,
}

impl TryFrom<AdminUserRow> for AdminUser {
    type Error = StorageError;
    fn try_from(r: AdminUserRow) -> Result<Self, StorageError> {
        Ok(AdminUser {
            user: r.user.try_into()?,
            media_bytes: super::stored_u64(r.media_bytes, "sum of media.size")?,
        })
    }
}

/// A row of the group listing.
#[derive(sqlx::FromRow)]
pub(crate) struct AdminGroupRow {
    pub group_id: String,
    pub kind: String,
    pub name: String,
    pub members: i64,
    pub last_seq: i64,
    pub bytes: i64,
    pub deleted: bool,
}

impl TryFrom<AdminGroupRow> for AdminGroup {
    type Error = StorageError;
    fn try_from(r: AdminGroupRow) -> Result<Self, StorageError> {
        Ok(AdminGroup {
            group: super::parse_stored(&r.group_id, "chats.group_id")?,
            kind: r.kind,
            name: r.name,
            members: super::stored_u64(r.members, "chats.members")?,
            events: super::stored_u64(r.last_seq, "chats.last_seq")?,
            bytes: super::stored_u64(r.bytes, "sum of events.raw")?,
            deleted: r.deleted,
        })
    }
}

/// A row of `federation_lists`.
pub(crate) fn federation_entry(
    node: &str,
    list: &str,
) -> Result<(NodeName, FederationList), StorageError> {
    Ok((
        super::parse_stored(node, "federation_lists.node")?,
        FederationList::parse(list)?,
    ))
}
