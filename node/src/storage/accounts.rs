//! Accounts: users, login sessions, refresh tokens and registration tokens.
//!
//! Secrets are never stored: passwords as Argon2id PHC strings, refresh and registration
//! tokens as the SHA-256 of their bytes. Rotation of a refresh token is one conditional update
//! (`… WHERE token_hash = ? AND rotated_at IS NULL`), so of two concurrent uses of one token
//! exactly one wins.

use winichat_protocol::Timestamp;
use winichat_protocol::ids::{MediaId, UserId};

use super::StorageError;

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// `@name:node`.
    pub id: UserId,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Display name (may be empty).
    pub display_name: String,
    /// Creation time.
    pub created_at: Timestamp,
}

/// A stored user.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// `@name:node`.
    pub id: UserId,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Display name (may be empty).
    pub display_name: String,
    /// Free text about the user.
    pub bio: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// The profile photo: an image on this node.
    pub avatar: Option<MediaId>,
    /// May use the admin API (`/api/admin`).
    pub admin: bool,
    /// Disabled by an operator: no login, no refresh.
    pub disabled: bool,
    /// Deleted by an operator: a tombstone keeping the name from reuse.
    pub deleted: bool,
    /// The user's media quota in bytes; `None`: the node's default.
    pub quota_bytes: Option<u64>,
}

// Hand-written so the password hash never reaches a log line.
impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("display_name", &self.display_name)
            .field("created_at", &self.created_at)
            .field("admin", &self.admin)
            .field("disabled", &self.disabled)
            .field("deleted", &self.deleted)
            .finish_non_exhaustive()
    }
}

/// A login session (one device).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Opaque random id.
    pub id: String,
    /// Whose session.
    pub user: UserId,
    /// What the user logged in with (from the login request or the User-Agent).
    pub device: String,
    /// When the session was created.
    pub created_at: Timestamp,
    /// When a refresh token of the session was last used.
    pub last_used_at: Timestamp,
    /// When the session was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was current: it is now rotated and `new_hash` is the session's token.
    Rotated(SessionRecord),
    /// The token was already rotated, within `grace` of its rotation: rejected, nothing revoked
    /// (two concurrent refreshes with one token: the loser).
    AlreadyRotated,
    /// The token was already rotated, longer ago than `grace`: the session is now revoked.
    Reused(SessionRecord),
    /// Unknown, expired, or its session is revoked.
    Invalid,
}

/// Storage of accounts and sessions.
#[async_trait::async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates a user. [`StorageError::Conflict`] if the id is taken.
    async fn create_user(&self, user: &NewUser) -> Result<(), StorageError>;

    /// Creates a user and consumes one use of the registration token with hash `token_hash`,
    /// in one transaction. [`StorageError::NotFound`] if the token is unknown, expired at
    /// `user.created_at` or used up (nothing is written); [`StorageError::Conflict`] if the id is
    /// taken (the token is not consumed).
    async fn create_user_with_token(
        &self,
        user: &NewUser,
        token_hash: &[u8; 32],
    ) -> Result<(), StorageError>;

    /// True if the registration token with hash `token_hash` exists, is not expired at `now`
    /// and has a use left. Only a hint taken before the costly part of a registration:
    /// [`AccountStore::create_user_with_token`] checks and consumes the use atomically.
    async fn registration_token_usable(
        &self,
        token_hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<bool, StorageError>;

    /// The user with this id.
    async fn user(&self, id: &UserId) -> Result<Option<UserRecord>, StorageError>;

    /// Replaces the password hash. [`StorageError::NotFound`] if there is no such user.
    async fn set_password(&self, id: &UserId, password_hash: &str) -> Result<(), StorageError>;

    /// Changes the given profile fields and returns the user. [`StorageError::NotFound`] if
    /// there is no such user.
    async fn update_profile(
        &self,
        id: &UserId,
        display_name: Option<&str>,
        bio: Option<&str>,
    ) -> Result<UserRecord, StorageError>;

    /// Sets (`Some`) or removes the user's avatar and returns the user; the avatar's media
    /// reference (which keeps the upload from being collected) changes in the same
    /// transaction. [`StorageError::NotFound`] if there is no such user.
    async fn set_avatar(
        &self,
        id: &UserId,
        avatar: Option<&MediaId>,
    ) -> Result<UserRecord, StorageError>;

    /// Up to `limit` users whose name, lowercased display name, or a word of it after a space
    /// starts with `prefix` (which must be lowercase), ordered by name.
    async fn search_users(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRecord>, StorageError>;

    /// Creates a session and its first refresh token (hash, expiry), in one transaction.
    async fn create_session(
        &self,
        session: &SessionRecord,
        refresh_hash: &[u8; 32],
        refresh_expires_at: Timestamp,
    ) -> Result<(), StorageError>;

    /// The session with this id, revoked or not.
    async fn session(&self, id: &str) -> Result<Option<SessionRecord>, StorageError>;

    /// The user's sessions that are not revoked, newest first.
    async fn active_sessions(&self, user: &UserId) -> Result<Vec<SessionRecord>, StorageError>;

    /// Revokes one session of `user`. Returns false if it does not exist, belongs to someone
    /// else or was already revoked.
    async fn revoke_session(
        &self,
        user: &UserId,
        id: &str,
        now: Timestamp,
    ) -> Result<bool, StorageError>;

    /// Revokes every active session of `user` except `except`; returns the revoked ids.
    async fn revoke_other_sessions(
        &self,
        user: &UserId,
        except: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<String>, StorageError>;

    /// Presents the refresh token with hash `old_hash`: if it is current, not expired and its
    /// session is active, rotates it to `new_hash` (expiring at `new_expires_at`) and marks
    /// the session used. See [`RefreshOutcome`] for the other cases.
    async fn rotate_refresh(
        &self,
        old_hash: &[u8; 32],
        new_hash: &[u8; 32],
        now: Timestamp,
        new_expires_at: Timestamp,
        grace_ms: u64,
    ) -> Result<RefreshOutcome, StorageError>;

    /// Stores a registration token (by hash). `uses`: `None` is unlimited.
    async fn add_registration_token(
        &self,
        token_hash: &[u8; 32],
        uses: Option<u32>,
        expires_at: Option<Timestamp>,
        created_at: Timestamp,
    ) -> Result<(), StorageError>;
}

/// The columns of `users`, in [`UserRow`] order.
macro_rules! user_columns {
    () => {
        "id, password_hash, display_name, bio, created_at, avatar, admin, disabled_at, deleted_at, \
         quota_bytes"
    };
}
pub(crate) use user_columns;

/// The columns of `sessions`, in [`SessionRow`] order.
macro_rules! session_columns {
    () => {
        "id, user_id, device, created_at, last_used_at, revoked_at"
    };
}
pub(crate) use session_columns;

/// A row of `users`.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub id: String,
    pub password_hash: String,
    pub display_name: String,
    pub bio: String,
    pub created_at: i64,
    pub avatar: Option<String>,
    pub admin: bool,
    pub disabled_at: Option<i64>,
    pub deleted_at: Option<i64>,
    pub quota_bytes: Option<i64>,
}

impl TryFrom<UserRow> for UserRecord {
    type Error = StorageError;
    fn try_from(r: UserRow) -> Result<Self, StorageError> {
        Ok(UserRecord {
            id: super::parse_stored(&r.id, "users.id")?,
            password_hash: r.password_hash,
            display_name: r.display_name,
            bio: r.bio,
            created_at: Timestamp(super::stored_u64(r.created_at, "users.created_at")?),
            avatar: r
                .avatar
                .map(|a| super::parse_stored(&a, "users.avatar"))
                .transpose()?,
            admin: r.admin,
            disabled: r.disabled_at.is_some(),
            deleted: r.deleted_at.is_some(),
            quota_bytes: r
                .quota_bytes
                .map(|q| super::stored_u64(q, "users.quota_bytes"))
                .transpose()?,
        })
    }
}

/// A row of `sessions`.
#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub device: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub revoked_at: Option<i64>,
}

impl TryFrom<SessionRow> for SessionRecord {
    type Error = StorageError;
    fn try_from(r: SessionRow) -> Result<Self, StorageError> {
        Ok(SessionRecord {
            id: r.id,
            user: super::parse_stored(&r.user_id, "sessions.user_id")?,
            device: r.device,
            created_at: Timestamp(super::stored_u64(r.created_at, "sessions.created_at")?),
            last_used_at: Timestamp(super::stored_u64(r.last_used_at, "sessions.last_used_at")?),
            revoked_at: r
                .revoked_at
                .map(|t| super::stored_u64(t, "sessions.revoked_at").map(Timestamp))
                .transpose()?,
        })
    }
}

/// `prefix` as a LIKE pattern matching everything that starts with it (escape char `\`).
pub(crate) fn like_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The lowercase form of a display name that search compares against.
pub fn search_key(display_name: &str) -> String {
    display_name.to_lowercase()
}
