//! Operator tools (spec/admin.md): accounts, groups, quotas, registration tokens and the
//! federation lists, behind one service ([`Admin`]) that the admin HTTP API ([`http`]) calls —
//! and through it the `winichat admin …` commands ([`cli`]), so both do exactly the same.
//!
//! Who may call: an account with the admin flag (its bearer access token), or the operator on
//! the node's own machine, with the token the running node writes into its data directory
//! ([`operator`]).

pub mod cli;
pub mod http;
pub mod operator;

use std::sync::Arc;
use std::time::Duration;

use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::ids::{GroupId, NodeName, UserId};

use crate::auth::{Auth, AuthError};
use crate::chat::admin::Erased;
use crate::chat::{ChatError, Chats};
use crate::federation::PeerDirectory;
use crate::storage::admin::{AdminGroup, AdminUser, FederationList};
use crate::storage::{Database, StorageError};

/// Most users or groups one page lists.
pub const MAX_PAGE: u32 = 200;

/// Who is calling the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An account with the admin flag.
    Admin(UserId),
    /// The operator, with the node's local operator token (`winichat admin …`).
    Operator,
}

/// The federation lists in force: from the config file (fixed until restart) and added at
/// run time (stored, changed through the API).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FederationLists {
    /// Allowed nodes (when any, only these federate).
    pub allow: Vec<ListEntry>,
    /// Denied nodes.
    pub deny: Vec<ListEntry>,
}

/// One node on a federation list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// The node.
    pub node: NodeName,
    /// From the config file (the API cannot remove it).
    pub configured: bool,
}

/// The operator service. Cheap to clone.
#[derive(Clone)]
pub struct Admin {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    auth: Auth,
    chats: Chats,
    peers: Arc<PeerDirectory>,
    configured_allow: Vec<NodeName>,
    configured_deny: Vec<NodeName>,
    /// SHA-256 of the local operator token, when one was issued.
    operator_token: Option<[u8; 32]>,
    /// The media quota of users without their own.
    default_quota: u64,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin").finish_non_exhaustive()
    }
}

/// The pieces [`Admin`] acts through.
pub struct Parts {
    /// The database.
    pub db: Database,
    /// Accounts and sessions (revoking a session closes its sockets).
    pub auth: Auth,
    /// Chats (every group change is an event through their write path).
    pub chats: Chats,
    /// The live federation allow and deny lists.
    pub peers: Arc<PeerDirectory>,
    /// `federation.allow` of the config.
    pub configured_allow: Vec<NodeName>,
    /// `federation.deny` of the config.
    pub configured_deny: Vec<NodeName>,
    /// The local operator token, if one was issued.
    pub operator_token: Option<String>,
    /// `media.quota_bytes` of the config.
    pub default_quota: u64,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("configured_allow", &self.configured_allow)
            .field("configured_deny", &self.configured_deny)
            .finish_non_exhaustive()
    }
}

fn from_chat(e: ChatError) -> AuthError {
    let body = e.body();
    match body.code {
        ErrorCode::BadRequest => AuthError::BadRequest(body.message),
        ErrorCode::NotFound => AuthError::NotFound(body.message),
        ErrorCode::Conflict => AuthError::Conflict(body.message),
        ErrorCode::Forbidden => AuthError::Forbidden(body.message),
        _ => AuthError::Internal,
    }
}

fn from_storage(e: StorageError) -> AuthError {
    match e {
        StorageError::NotFound(_) => AuthError::NotFound("no such user".into()),
        StorageError::Conflict(m) => AuthError::Conflict(m),
        other => AuthError::internal(other),
    }
}

fn now() -> winichat_protocol::Timestamp {
    crate::chat::now()
}

impl Admin {
    /// Builds the service and applies the stored federation lists to `peers`.
    pub async fn start(parts: Parts) -> Result<Admin, StorageError> {
        let admin = Admin {
            inner: Arc::new(Inner {
                db: parts.db,
                auth: parts.auth,
                chats: parts.chats,
                peers: parts.peers,
                configured_allow: parts.configured_allow,
                configured_deny: parts.configured_deny,
                operator_token: parts.operator_token.as_deref().map(crate::auth::token_hash),
                default_quota: parts.default_quota,
            }),
        };
        admin.apply_federation_lists().await?;
        Ok(admin)
    }

    /// The node's name.
    pub fn node(&self) -> &NodeName {
        self.inner.auth.node()
    }

    /// Logs how to make an admin when no account is one (the first run, typically).
    pub async fn hint_if_no_admin(&self) {
        match self.inner.db.admin().any_admin().await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                "no admin account exists yet: make one with `winichat admin make-admin NAME` \
                 (create the account first with `winichat admin create-user NAME` if needed)"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot tell whether an admin account exists"),
        }
    }

    /// Who `token` is, if they may use the admin API: `unauthenticated` for a bad token,
    /// `forbidden` for an account without the admin flag.
    pub async fn caller(&self, token: &str) -> Result<Caller, AuthError> {
        if let Some(expected) = &self.inner.operator_token
            && constant_time_eq(&crate::auth::token_hash(token), expected)
        {
            return Ok(Caller::Operator);
        }
        let claims = self.inner.auth.authenticate(token).await?;
        let user = self.inner.db.accounts().user(&claims.user).await?;
        match user {
            Some(u) if u.admin && !u.disabled && !u.deleted => Ok(Caller::Admin(u.id)),
            _ => Err(AuthError::Forbidden("this needs an admin account".into())),
        }
    }

    /// A local user by name (`alice` or `@alice:node`).
    pub fn user_id(&self, name: &str) -> Result<UserId, AuthError> {
        let node = self.inner.auth.node();
        let parsed = match name.strip_prefix('@') {
            Some(_) => UserId::parse(name).ok(),
            None => UserId::new(name, node).ok(),
        };
        match parsed {
            Some(id) if id.node() == node => Ok(id),
            _ => Err(AuthError::NotFound("no such user".into())),
        }
    }

    async fn existing(
        &self,
        user: &UserId,
    ) -> Result<crate::storage::accounts::UserRecord, AuthError> {
        self.inner
            .db
            .accounts()
            .user(user)
            .await?
            .ok_or_else(|| AuthError::NotFound("no such user".into()))
    }

    /// Users whose name or display name starts with `query` (all when empty), by name.
    pub async fn users(
        &self,
        query: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AdminUser>, AuthError> {
        let query = query.trim().trim_start_matches('@').to_lowercase();
        Ok(self
            .inner
            .db
            .admin()
            .list_users(&query, after, limit.clamp(1, MAX_PAGE))
            .await?)
    }

    /// One account, deleted or not.
    pub async fn user(&self, user: &UserId) -> Result<AdminUser, AuthError> {
        let record = self.existing(user).await?;
        let media_bytes = self.inner.db.media().usage(user).await?;
        Ok(AdminUser {
            user: record,
            media_bytes,
        })
    }

    /// The quota in force for `user`.
    pub fn quota_of(&self, user: &AdminUser) -> u64 {
        user.user.quota_bytes.unwrap_or(self.inner.default_quota)
    }

    /// Disables an account: no login or refresh, every session revoked (its sockets close at
    /// once). Returns how many sessions were revoked.
    pub async fn disable(&self, user: &UserId) -> Result<usize, AuthError> {
        self.inner
            .db
            .admin()
            .set_disabled(user, Some(now()))
            .await
            .map_err(from_storage)?;
        let revoked = self.inner.auth.revoke_all_sessions(user).await?;
        tracing::info!(%user, revoked, "account disabled");
        Ok(revoked)
    }

    /// Enables a disabled account again.
    pub async fn enable(&self, user: &UserId) -> Result<(), AuthError> {
        self.inner
            .db
            .admin()
            .set_disabled(user, None)
            .await
            .map_err(from_storage)?;
        tracing::info!(%user, "account enabled");
        Ok(())
    }

    /// Deletes an account with its data: disabled first (sessions revoked, sockets closed),
    /// then taken out of its groups, here and through their homes elsewhere
    /// ([`Chats::erase_member`]), then turned into a tombstone (profile and password wiped,
    /// its uploads no longer its own, so media nothing refers to is collected).
    pub async fn delete_user(&self, user: &UserId) -> Result<Erased, AuthError> {
        let record = self.existing(user).await?;
        if record.deleted {
            return Err(AuthError::Conflict(
                "this account is deleted already".into(),
            ));
        }
        self.disable(user).await?;
        let erased = self
            .inner
            .chats
            .erase_member(user)
            .await
            .map_err(from_chat)?;
        self.inner
            .db
            .admin()
            .tombstone_user(user, now())
            .await
            .map_err(from_storage)?;
        tracing::info!(%user, ?erased, "account deleted");
        Ok(erased)
    }

    /// Sets a new password (`None`: a random one, returned) and revokes every session.
    pub async fn reset_password(
        &self,
        user: &UserId,
        password: Option<String>,
    ) -> Result<String, AuthError> {
        let record = self.existing(user).await?;
        if record.deleted {
            return Err(AuthError::Conflict("this account is deleted".into()));
        }
        let password = match password {
            Some(p) => p,
            None => crate::auth::new_secret_token()?,
        };
        self.inner.auth.reset_password(user, &password).await?;
        tracing::info!(%user, "password reset");
        Ok(password)
    }

    /// Gives or takes the admin flag.
    pub async fn set_admin(&self, user: &UserId, admin: bool) -> Result<(), AuthError> {
        self.inner
            .db
            .admin()
            .set_admin(user, admin)
            .await
            .map_err(from_storage)?;
        tracing::info!(%user, admin, "admin flag changed");
        Ok(())
    }

    /// Sets a user's media quota (`None`: the node's default). Uploads check it from the next
    /// one on.
    pub async fn set_quota(&self, user: &UserId, quota: Option<u64>) -> Result<(), AuthError> {
        self.inner
            .db
            .admin()
            .set_quota(user, quota)
            .await
            .map_err(from_storage)?;
        tracing::info!(%user, ?quota, "media quota changed");
        Ok(())
    }

    /// Chats stored here, by id.
    pub async fn groups(
        &self,
        after: Option<&GroupId>,
        limit: u32,
    ) -> Result<Vec<AdminGroup>, AuthError> {
        Ok(self
            .inner
            .db
            .admin()
            .list_groups(after, limit.clamp(1, MAX_PAGE))
            .await?)
    }

    /// Purges a group homed here (see [`Chats::purge`]).
    pub async fn purge_group(&self, group: &GroupId) -> Result<(), AuthError> {
        self.inner.chats.purge(group).await.map_err(from_chat)?;
        tracing::info!(%group, "group purged");
        Ok(())
    }

    /// Issues a registration token.
    pub async fn registration_token(
        &self,
        uses: Option<u32>,
        expires_in_hours: Option<u64>,
    ) -> Result<String, AuthError> {
        if uses == Some(0) {
            return Err(AuthError::BadRequest("uses must be at least 1".into()));
        }
        let expires = expires_in_hours.map(|h| Duration::from_secs(h.saturating_mul(3600)));
        self.inner
            .auth
            .create_registration_token(uses, expires)
            .await
    }

    /// The federation lists in force.
    pub async fn federation_lists(&self) -> Result<FederationLists, AuthError> {
        let stored = self.inner.db.admin().federation_lists().await?;
        Ok(self.merge_lists(&stored))
    }

    fn merge_lists(&self, stored: &[(NodeName, FederationList)]) -> FederationLists {
        let mut lists = FederationLists::default();
        let entries = |configured: &[NodeName], list: FederationList| {
            let mut out: Vec<ListEntry> = configured
                .iter()
                .map(|n| ListEntry {
                    node: n.clone(),
                    configured: true,
                })
                .collect();
            for (node, _) in stored.iter().filter(|(_, l)| *l == list) {
                if !configured.contains(node) {
                    out.push(ListEntry {
                        node: node.clone(),
                        configured: false,
                    });
                }
            }
            out.sort_by(|a, b| a.node.cmp(&b.node));
            out
        };
        lists.allow = entries(&self.inner.configured_allow, FederationList::Allow);
        lists.deny = entries(&self.inner.configured_deny, FederationList::Deny);
        lists
    }

    /// Puts `node` on a list (moving it off the other), or off both (`None`), and applies the
    /// lists at once: a denied node's open link is closed and its next request refused.
    pub async fn set_federation_list(
        &self,
        node: &NodeName,
        list: Option<FederationList>,
    ) -> Result<FederationLists, AuthError> {
        if node == self.inner.auth.node() {
            return Err(AuthError::BadRequest("that is this node".into()));
        }
        let configured =
            self.inner.configured_allow.contains(node) || self.inner.configured_deny.contains(node);
        if configured {
            return Err(AuthError::Conflict(
                "that node is listed in the config file; change it there".into(),
            ));
        }
        self.inner
            .db
            .admin()
            .set_federation_list(node, list, now())
            .await?;
        self.apply_federation_lists().await?;
        tracing::info!(%node, list = list.map_or("none", FederationList::as_str), "federation list changed");
        self.federation_lists().await
    }

    async fn apply_federation_lists(&self) -> Result<(), StorageError> {
        let stored = self.inner.db.admin().federation_lists().await?;
        let lists = self.merge_lists(&stored);
        self.inner
            .peers
            .set_allow(lists.allow.into_iter().map(|e| e.node).collect());
        self.inner
            .peers
            .set_deny(lists.deny.into_iter().map(|e| e.node).collect());
        Ok(())
    }
}

/// The admin service of a starting node: issues the operator token and writes it with the
/// HTTP address into the data directory ([`operator`]), applies the stored federation lists,
/// and logs how to make an admin when there is none.
pub async fn for_node(
    config: &crate::config::Config,
    db: &Database,
    auth: &Auth,
    chats: &Chats,
    peers: Arc<PeerDirectory>,
    http_addr: std::net::SocketAddr,
) -> Result<Admin, crate::error::NodeError> {
    let token = crate::auth::new_secret_token()
        .map_err(|_| crate::error::NodeError::Internal("no randomness for a token".into()))?;
    let admin = Admin::start(Parts {
        db: db.clone(),
        auth: auth.clone(),
        chats: chats.clone(),
        peers,
        configured_allow: config.federation.allow.clone(),
        configured_deny: config.federation.deny.clone(),
        operator_token: Some(token.clone()),
        default_quota: config.media.quota_bytes,
    })
    .await?;
    let access = operator::OperatorAccess {
        url: operator::local_url(http_addr),
        token,
    };
    operator::write(&config.data_dir, &access).map_err(|source| {
        crate::error::NodeError::DataDir {
            path: operator::path(&config.data_dir),
            source,
        }
    })?;
    admin.hint_if_no_admin().await;
    Ok(admin)
}

/// Compares two hashes without an early exit.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
