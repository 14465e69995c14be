//! Accounts and authentication: registration, login, access and refresh tokens, sessions,
//! profiles and user search. The HTTP endpoints (`api::http::auth`) and the gateway call
//! [`Auth`]; storage is reached through [`crate::storage::accounts::AccountStore`].
//!
//! Access tokens are EdDSA JWTs (see [`jwt`]); refresh tokens are 32 random bytes, stored as
//! SHA-256, rotated on every use, one family per session. See `spec/auth.md`.

pub mod admin;
pub mod jwt;
pub mod password;
pub mod throttle;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;
use winichat_protocol::Timestamp;
use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::ids::{MediaId, NodeName, UserId, check_user_name};
use winichat_protocol::text::{Lines, check_shown_text};

use crate::client_addr::ClientKey;
use crate::identity::IdentityError;
use crate::storage::accounts::{NewUser, RefreshOutcome, SessionRecord, UserRecord};
use crate::storage::{Database, StorageError};

/// Lifetime of a refresh token (sliding: every rotation starts it again).
pub const REFRESH_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Default access-token lifetime.
pub const DEFAULT_ACCESS_TTL_SECS: u64 = 600;
/// Longest allowed access-token lifetime.
pub const MAX_ACCESS_TTL_SECS: u64 = 900;
/// A rotated refresh token presented again within this time of its rotation is refused
/// without revoking the session: that is two concurrent refreshes (two tabs), not a theft.
pub const REUSE_GRACE: Duration = Duration::from_secs(2);
/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 64;
/// Longest bio, in characters.
pub const MAX_BIO: usize = 500;
/// Longest device description kept, in characters.
pub const MAX_DEVICE: usize = 128;
/// Most results of one search.
pub const MAX_SEARCH: u32 = 50;
/// How long an "active" answer about a session is trusted without asking the database.
/// Revocations made by this node update the cache at once.
const SESSION_CACHE_TTL: Duration = Duration::from_secs(30);

/// The message for every failed login, whatever the cause.
pub const INVALID_LOGIN: &str = "invalid user name or password";

/// Who may register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegistrationMode {
    /// Anyone.
    #[default]
    Open,
    /// Only with an operator-issued registration token.
    Invite,
    /// Nobody (the operator creates accounts with `winichat admin create-user`).
    Closed,
}

impl FromStr for RegistrationMode {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(Self::Open),
            "invite" => Ok(Self::Invite),
            "closed" => Ok(Self::Closed),
            _ => Err("expected \"open\", \"invite\" or \"closed\""),
        }
    }
}

/// Default accounts one client IP may register per hour.
pub const DEFAULT_REGISTRATIONS_PER_IP_PER_HOUR: u32 = 20;

/// Settings of [`Auth`], from the node's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// Who may register.
    pub registration: RegistrationMode,
    /// Access-token lifetime in seconds (at most [`MAX_ACCESS_TTL_SECS`]).
    pub access_token_ttl_secs: u64,
    /// Mark the refresh cookie `Secure` (the node is served over TLS).
    pub secure_cookie: bool,
    /// Accounts one client IP may register per hour (config `registrations_per_ip_per_hour`).
    pub registrations_per_ip_per_hour: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            registration: RegistrationMode::Open,
            access_token_ttl_secs: DEFAULT_ACCESS_TTL_SECS,
            secure_cookie: false,
            registrations_per_ip_per_hour: DEFAULT_REGISTRATIONS_PER_IP_PER_HOUR,
        }
    }
}

/// An opaque session id: 16 random bytes, base64url (22 characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(String);

impl SessionId {
    fn random() -> Result<SessionId, AuthError> {
        Ok(SessionId(URL_SAFE_NO_PAD.encode(random_bytes::<16>()?)))
    }
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for SessionId {
    fn from(s: String) -> Self {
        SessionId(s)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a valid access token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user.
    pub user: UserId,
    /// The session the token belongs to.
    pub session: SessionId,
    /// When the token expires.
    pub expires_at: Timestamp,
}

/// A session was revoked (logout, password change, refresh-token reuse, explicit revoke).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRevoked {
    /// Whose session.
    pub user: UserId,
    /// Which session.
    pub session: SessionId,
}

/// A user's public profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The user.
    pub user: UserId,
    /// Display name (may be empty).
    pub display_name: String,
    /// Bio (may be empty).
    pub bio: String,
    /// When the account was created.
    pub created_at: Timestamp,
    /// The profile photo.
    pub avatar: Option<MediaId>,
}

impl From<UserRecord> for Profile {
    fn from(u: UserRecord) -> Self {
        Profile {
            user: u.id,
            display_name: u.display_name,
            bio: u.bio,
            created_at: u.created_at,
            avatar: u.avatar,
        }
    }
}

/// A session as listed to its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session id.
    pub id: SessionId,
    /// Device description.
    pub device: String,
    /// Created.
    pub created_at: Timestamp,
    /// Last refresh.
    pub last_used_at: Timestamp,
    /// True for the session of the asking token.
    pub current: bool,
}

/// Tokens issued by register, login or refresh.
#[derive(Clone, PartialEq, Eq)]
pub struct Issued {
    /// The user.
    pub user: UserId,
    /// The session.
    pub session: SessionId,
    /// The access token (JWT).
    pub access_token: String,
    /// When it expires.
    pub expires_at: Timestamp,
    /// The new refresh token (opaque, base64url).
    pub refresh_token: String,
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("user", &self.user)
            .field("session", &self.session)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Why an auth operation failed. `Display` is the message shown to the client: never internals.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The request is malformed or a field is invalid.
    #[error("{0}")]
    BadRequest(String),
    /// Login failed (unknown user or wrong password: the same message for both).
    #[error("invalid user name or password")]
    InvalidCredentials,
    /// No valid token (missing, malformed, expired, wrong signature, revoked session).
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// Not allowed (e.g. registration closed).
    #[error("{0}")]
    Forbidden(String),
    /// No such thing.
    #[error("{0}")]
    NotFound(String),
    /// Conflicts with the current state (name taken, token already rotated).
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts.
    #[error("too many attempts; retry in {} s", retry_after.as_secs().max(1))]
    RateLimited {
        /// How long to wait.
        retry_after: Duration,
    },
    /// The node failed; the cause was logged.
    #[error("internal error")]
    Internal,
}

impl AuthError {
    /// The protocol error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthError::BadRequest(_) => ErrorCode::BadRequest,
            AuthError::InvalidCredentials | AuthError::Unauthenticated(_) => {
                ErrorCode::Unauthenticated
            }
            AuthError::Forbidden(_) => ErrorCode::Forbidden,
            AuthError::NotFound(_) => ErrorCode::NotFound,
            AuthError::Conflict(_) => ErrorCode::Conflict,
            AuthError::RateLimited { .. } => ErrorCode::RateLimited,
            AuthError::Internal => ErrorCode::Internal,
        }
    }

    /// Logs `cause` and returns [`AuthError::Internal`].
    pub(crate) fn internal(cause: impl fmt::Display) -> AuthError {
        tracing::error!(error = %cause, "auth: internal error");
        AuthError::Internal
    }
}

impl From<StorageError> for AuthError {
    fn from(e: StorageError) -> Self {
        AuthError::internal(e)
    }
}

const BAD_TOKEN: &str = "invalid or expired access token";
const REVOKED: &str = "the session has been revoked";
const BAD_REFRESH: &str = "invalid or expired refresh token";
/// Login and refresh of a disabled account.
pub const ACCOUNT_DISABLED: &str = "this account is disabled";

/// The accounts and token service. Cheap to clone.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    node: NodeName,
    key: jwt::AuthKey,
    settings: AuthSettings,
    revocations: broadcast::Sender<SessionRevoked>,
    /// What is known of recently used sessions, by session id.
    sessions: Mutex<HashMap<String, CachedSession>>,
    throttle: throttle::Throttle,
    registrations: throttle::RegistrationThrottle,
}

/// A session as the token check last saw it.
#[derive(Debug, Clone)]
struct CachedSession {
    /// The user the session belongs to (a token must name the same one).
    owner: UserId,
    revoked: bool,
    checked_at: Instant,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("node", &self.inner.node)
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

fn now() -> Timestamp {
    Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0),
    )
}

fn random_bytes<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| AuthError::internal(format!("getrandom: {e}")))?;
    Ok(b)
}

/// SHA-256 of a token's text, as stored.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub(crate) fn new_secret_token() -> Result<String, AuthError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

fn truncate_chars(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// A display name: at most [`MAX_DISPLAY_NAME`] characters of shown text on one line
/// (protocol.md §2.1: no control, invisible or direction-changing character).
pub(crate) fn check_display_name(s: &str) -> Result<(), AuthError> {
    if s.chars().count() > MAX_DISPLAY_NAME {
        return Err(AuthError::BadRequest(format!(
            "the display name must have at most {MAX_DISPLAY_NAME} characters"
        )));
    }
    check_shown_text(s, Lines::One)
        .map_err(|e| AuthError::BadRequest(format!("the display name is refused: {e}")))
}

/// A bio: at most [`MAX_BIO`] characters of shown text, `\n` allowed.
pub(crate) fn check_bio(s: &str) -> Result<(), AuthError> {
    if s.chars().count() > MAX_BIO {
        return Err(AuthError::BadRequest(format!(
            "the bio must have at most {MAX_BIO} characters"
        )));
    }
    check_shown_text(s, Lines::Many)
        .map_err(|e| AuthError::BadRequest(format!("the bio is refused: {e}")))
}

impl Auth {
    /// Loads (or creates) the auth key in `data_dir` and builds the service.
    pub fn new(
        db: Database,
        node: NodeName,
        data_dir: &Path,
        mut settings: AuthSettings,
    ) -> Result<Auth, IdentityError> {
        let key = jwt::AuthKey::load_or_create(data_dir)?;
        settings.access_token_ttl_secs =
            settings.access_token_ttl_secs.clamp(1, MAX_ACCESS_TTL_SECS);
        let (revocations, _) = broadcast::channel(256);
        let registrations =
            throttle::RegistrationThrottle::new(settings.registrations_per_ip_per_hour);
        Ok(Auth {
            inner: Arc::new(Inner {
                db,
                node,
                key,
                settings,
                revocations,
                sessions: Mutex::new(HashMap::new()),
                throttle: throttle::Throttle::default(),
                registrations,
            }),
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &AuthSettings {
        &self.inner.settings
    }

    /// The node's name (the `iss` of its tokens).
    pub fn node(&self) -> &NodeName {
        &self.inner.node
    }

    /// Checks signature/alg/iss/aud/exp(+leeway 5 s)/typ, then that the session is not revoked.
    pub async fn authenticate(&self, access_token: &str) -> Result<AccessClaims, AuthError> {
        let claims = self
            .inner
            .key
            .verify(access_token, self.inner.node.as_str())
            .map_err(|_| AuthError::Unauthenticated(BAD_TOKEN))?;
        let user = UserId::parse(&claims.sub).map_err(|_| AuthError::Unauthenticated(BAD_TOKEN))?;
        if user.node() != &self.inner.node {
            return Err(AuthError::Unauthenticated(BAD_TOKEN));
        }
        let cached = {
            let cache = self
                .inner
                .sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            cache.get(&claims.sid).cloned()
        };
        let revoked = match cached {
            // A session belongs to one user: a token pairing a user with someone else's
            // session is refused, and changes nothing about that session.
            Some(entry) if entry.owner != user => true,
            Some(entry) if entry.revoked => true,
            Some(entry) if entry.checked_at.elapsed() < SESSION_CACHE_TTL => false,
            _ => match self.inner.db.accounts().session(&claims.sid).await? {
                Some(s) => {
                    let revoked = s.revoked_at.is_some();
                    let owned = s.user == user;
                    self.cache_session(&s.user, &claims.sid, revoked);
                    revoked || !owned
                }
                None => true,
            },
        };
        if revoked {
            return Err(AuthError::Unauthenticated(REVOKED));
        }
        Ok(AccessClaims {
            user,
            session: SessionId(claims.sid),
            expires_at: Timestamp(claims.exp.saturating_mul(1000)),
        })
    }

    /// Fires for every revoked session (logout, password change, reuse detection, revoke).
    pub fn subscribe_revocations(&self) -> broadcast::Receiver<SessionRevoked> {
        self.inner.revocations.subscribe()
    }

    /// Records what the database says of session `id` of `owner` (only ever the session's
    /// real owner, so a token naming another user cannot change the entry).
    fn cache_session(&self, owner: &UserId, id: &str, revoked: bool) {
        let mut cache = self
            .inner
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if cache.len() > 100_000 {
            cache.retain(|_, s| s.revoked || s.checked_at.elapsed() < SESSION_CACHE_TTL);
        }
        cache.insert(
            id.to_owned(),
            CachedSession {
                owner: owner.clone(),
                revoked,
                checked_at: Instant::now(),
            },
        );
    }

    fn revoked(&self, user: &UserId, session: String) {
        self.cache_session(user, &session, true);
        // No receiver is fine: nobody is connected.
        let _ = self.inner.revocations.send(SessionRevoked {
            user: user.clone(),
            session: SessionId(session),
        });
    }

    fn mint(&self, user: &UserId, session: &str) -> Result<(String, Timestamp), AuthError> {
        let now_s = now().0 / 1000;
        let exp = now_s + self.inner.settings.access_token_ttl_secs;
        let claims = jwt::Claims {
            iss: self.inner.node.to_string(),
            aud: jwt::AUDIENCE.to_owned(),
            sub: user.to_string(),
            sid: session.to_owned(),
            iat: now_s,
            exp,
            typ: jwt::TYP_ACCESS.to_owned(),
        };
        let token = self.inner.key.sign(&claims).map_err(AuthError::internal)?;
        Ok((token, Timestamp(exp * 1000)))
    }

    async fn new_session(&self, user: &UserId, device: &str) -> Result<Issued, AuthError> {
        let session = SessionId::random()?;
        let refresh = new_secret_token()?;
        let t = now();
        let record = SessionRecord {
            id: session.0.clone(),
            user: user.clone(),
            device: truncate_chars(device, MAX_DEVICE),
            created_at: t,
            last_used_at: t,
            revoked_at: None,
        };
        self.inner
            .db
            .accounts()
            .create_session(&record, &token_hash(&refresh), refresh_expiry(t))
            .await?;
        let (access_token, expires_at) = self.mint(user, &session.0)?;
        Ok(Issued {
            user: user.clone(),
            session,
            access_token,
            expires_at,
            refresh_token: refresh,
        })
    }

    fn user_id(&self, username: &str) -> Result<UserId, AuthError> {
        check_user_name(username).map_err(|_| {
            AuthError::BadRequest(
                "the user name must be 3 to 32 characters of a-z, 0-9, '_', '.' or '-'".into(),
            )
        })?;
        UserId::new(username, &self.inner.node)
            .map_err(|_| AuthError::BadRequest("invalid user name".into()))
    }

    /// Creates an account (no session). Used by registration and the operator command.
    pub async fn create_user(
        &self,
        username: &str,
        password: &str,
        display_name: Option<&str>,
        registration_token: Option<&str>,
    ) -> Result<UserId, AuthError> {
        let account = self.check_new_user(username, password, display_name)?;
        self.insert_user(account, registration_token).await
    }

    /// The checks of a new account that need neither the database nor the hash
    /// (`bad_request`).
    fn check_new_user(
        &self,
        username: &str,
        password: &str,
        display_name: Option<&str>,
    ) -> Result<NewAccount, AuthError> {
        let id = self.user_id(username)?;
        password::check(password)?;
        let display_name = display_name.unwrap_or("").trim().to_owned();
        check_display_name(&display_name)?;
        Ok(NewAccount {
            id,
            password: password.to_owned(),
            display_name,
        })
    }

    /// The checks of a new account that ask the database, before the password is hashed: the
    /// registration token is usable (`forbidden`), then the name is free (`conflict`). Both are
    /// checked again, atomically, by the insert (two registrations may race).
    async fn precheck_new_user(
        &self,
        account: &NewAccount,
        registration_token: Option<&str>,
    ) -> Result<(), AuthError> {
        let accounts = self.inner.db.accounts();
        if let Some(token) = registration_token
            && !accounts
                .registration_token_usable(&token_hash(token), now())
                .await?
        {
            return Err(bad_registration_token());
        }
        if accounts.user(&account.id).await?.is_some() {
            return Err(name_taken());
        }
        Ok(())
    }

    /// Hashes the password and inserts the account, consuming a use of the token if given.
    async fn insert_user(
        &self,
        account: NewAccount,
        registration_token: Option<&str>,
    ) -> Result<UserId, AuthError> {
        let NewAccount {
            id,
            password,
            display_name,
        } = account;
        let password_hash = password::hash(password).await?;
        let user = NewUser {
            id: id.clone(),
            password_hash,
            display_name,
            created_at: now(),
        };
        let result = match registration_token {
            Some(token) => {
                self.inner
                    .db
                    .accounts()
                    .create_user_with_token(&user, &token_hash(token))
                    .await
            }
            None => self.inner.db.accounts().create_user(&user).await,
        };
        match result {
            Ok(()) => Ok(id),
            Err(StorageError::Conflict(_)) => Err(name_taken()),
            Err(StorageError::NotFound(_)) => Err(bad_registration_token()),
            Err(e) => Err(e.into()),
        }
    }

    /// `POST /api/auth/register`. `ip` is the client (address or IPv6 /64): each may register
    /// [`AuthSettings::registrations_per_ip_per_hour`] accounts per hour (`rate_limited`
    /// beyond). A registration refused by the checks of its fields (`bad_request`) is not
    /// counted; one that reached the database (a name taken, a bad token) is, so probing
    /// names or tokens is throttled like registering.
    pub async fn register(
        &self,
        username: &str,
        password: &str,
        display_name: Option<&str>,
        registration_token: Option<&str>,
        device: &str,
        ip: Option<ClientKey>,
    ) -> Result<Issued, AuthError> {
        let token = match self.inner.settings.registration {
            RegistrationMode::Closed => {
                return Err(AuthError::Forbidden(
                    "registration is closed on this node".into(),
                ));
            }
            RegistrationMode::Invite => match registration_token {
                Some(t) if !t.is_empty() => Some(t),
                _ => {
                    return Err(AuthError::Forbidden(
                        "registration on this node needs a registration token".into(),
                    ));
                }
            },
            // In open mode a token is not needed, and not consumed.
            RegistrationMode::Open => None,
        };
        // Checked before the slot is taken: a malformed request costs nothing to refuse.
        let account = self.check_new_user(username, password, display_name)?;
        // Taken before the database and the Argon2 work, so concurrent registrations are
        // counted at once.
        let slot = self
            .inner
            .registrations
            .take(ip)
            .map_err(|retry_after| AuthError::RateLimited { retry_after })?;
        // A taken name or a bad token is found without hashing the password (the insert
        // checks both again); either still counts against the client.
        match self.precheck_new_user(&account, token).await {
            Ok(()) => {}
            Err(e @ (AuthError::Conflict(_) | AuthError::Forbidden(_))) => {
                drop(slot);
                return Err(e);
            }
            Err(e) => {
                // The node failed before doing the work: not the client's doing.
                slot.give_back();
                return Err(e);
            }
        }
        // From here the password is hashed: the slot stays counted whatever the outcome,
        // unless the hashing queue was full and nothing was hashed.
        let id = match self.insert_user(account, token).await {
            Ok(id) => id,
            Err(e @ AuthError::RateLimited { .. }) => {
                slot.give_back();
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        drop(slot);
        self.new_session(&id, device).await
    }

    /// `POST /api/auth/login`. `ip` is the client (address or IPv6 /64), for throttling.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        device: &str,
        ip: Option<ClientKey>,
    ) -> Result<Issued, AuthError> {
        let name = username.trim().to_lowercase();
        let user_key = format!("u:{name}");
        let mut keys = vec![(user_key.clone(), throttle::FREE_FAILURES)];
        keys.extend(ip.map(|ip| (throttle::client_key(ip), throttle::FREE_FAILURES_IP)));
        // Reserved before the Argon2 work, so concurrent attempts are counted at once.
        let attempt = self
            .inner
            .throttle
            .reserve(keys)
            .map_err(|retry_after| AuthError::RateLimited { retry_after })?;
        let verdict = async {
            let user = match UserId::new(&name, &self.inner.node) {
                Ok(id) => self.inner.db.accounts().user(&id).await?,
                Err(_) => None,
            };
            let ok = password::verify(
                password.to_owned(),
                user.as_ref().map(|u| u.password_hash.clone()),
            )
            .await?;
            Ok::<_, AuthError>((user, ok))
        }
        .await;
        let (user, ok) = match verdict {
            Ok(verdict) => verdict,
            Err(e) => {
                // Nothing was verified (the database or the hashing queue failed).
                attempt.cancel();
                return Err(e);
            }
        };
        match user {
            // Said only to whoever knows the password: it tells nothing to a guesser.
            Some(user) if ok && password.len() <= password::MAX_LEN && user.disabled => {
                attempt.succeed(&user_key);
                Err(AuthError::Forbidden(ACCOUNT_DISABLED.into()))
            }
            Some(user) if ok && password.len() <= password::MAX_LEN => {
                attempt.succeed(&user_key);
                self.new_session(&user.id, device).await
            }
            _ => {
                attempt.fail();
                Err(AuthError::InvalidCredentials)
            }
        }
    }

    /// `POST /api/auth/refresh`: rotates the refresh token and issues a new access token.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Issued, AuthError> {
        if refresh_token.is_empty() || refresh_token.len() > 256 {
            return Err(AuthError::Unauthenticated(BAD_REFRESH));
        }
        let new_refresh = new_secret_token()?;
        let t = now();
        let outcome = self
            .inner
            .db
            .accounts()
            .rotate_refresh(
                &token_hash(refresh_token),
                &token_hash(&new_refresh),
                t,
                refresh_expiry(t),
                u64::try_from(REUSE_GRACE.as_millis()).unwrap_or(u64::MAX),
            )
            .await?;
        match outcome {
            RefreshOutcome::Rotated(session) => {
                // Disabling revokes every session; this catches a session created while the
                // account was being disabled.
                let usable = self
                    .inner
                    .db
                    .accounts()
                    .user(&session.user)
                    .await?
                    .is_some_and(|u| !u.disabled);
                if !usable {
                    return Err(AuthError::Forbidden(ACCOUNT_DISABLED.into()));
                }
                let (access_token, expires_at) = self.mint(&session.user, &session.id)?;
                Ok(Issued {
                    user: session.user,
                    session: SessionId(session.id),
                    access_token,
                    expires_at,
                    refresh_token: new_refresh,
                })
            }
            RefreshOutcome::AlreadyRotated => Err(AuthError::Conflict(
                "this refresh token was just used by another request".into(),
            )),
            RefreshOutcome::Reused(session) => {
                tracing::warn!(user = %session.user, session = %session.id,
                    "a rotated refresh token was reused; session revoked");
                self.revoked(&session.user, session.id);
                Err(AuthError::Unauthenticated(REVOKED))
            }
            RefreshOutcome::Invalid => Err(AuthError::Unauthenticated(BAD_REFRESH)),
        }
    }

    /// `POST /api/auth/logout`: revokes the caller's session.
    pub async fn logout(&self, claims: &AccessClaims) -> Result<(), AuthError> {
        self.revoke_session(claims, claims.session.as_str()).await
    }

    /// Revokes one of the caller's sessions. [`AuthError::NotFound`] if it is not theirs or
    /// already revoked.
    pub async fn revoke_session(&self, claims: &AccessClaims, id: &str) -> Result<(), AuthError> {
        if self
            .inner
            .db
            .accounts()
            .revoke_session(&claims.user, id, now())
            .await?
        {
            self.revoked(&claims.user, id.to_owned());
            Ok(())
        } else {
            Err(AuthError::NotFound("no such session".into()))
        }
    }

    /// Revokes every session of `user` (an operator disabled or deleted the account, or reset
    /// its password): their tokens stop working and their open connections are closed.
    pub async fn revoke_all_sessions(&self, user: &UserId) -> Result<usize, AuthError> {
        let ids = self
            .inner
            .db
            .accounts()
            .revoke_other_sessions(user, None, now())
            .await?;
        let count = ids.len();
        for id in ids {
            self.revoked(user, id);
        }
        Ok(count)
    }

    /// Sets `user`'s password (an operator's reset) and revokes every session of theirs.
    pub async fn reset_password(&self, user: &UserId, new: &str) -> Result<(), AuthError> {
        password::check(new)?;
        let hash = password::hash(new.to_owned()).await?;
        match self.inner.db.accounts().set_password(user, &hash).await {
            Ok(()) => {}
            Err(StorageError::NotFound(_)) => {
                return Err(AuthError::NotFound("no such user".into()));
            }
            Err(e) => return Err(e.into()),
        }
        self.revoke_all_sessions(user).await.map(|_| ())
    }

    /// Revokes every session of the caller except the current one.
    pub async fn revoke_other_sessions(&self, claims: &AccessClaims) -> Result<(), AuthError> {
        let ids = self
            .inner
            .db
            .accounts()
            .revoke_other_sessions(&claims.user, Some(claims.session.as_str()), now())
            .await?;
        for id in ids {
            self.revoked(&claims.user, id);
        }
        Ok(())
    }

    /// The caller's active sessions.
    pub async fn sessions(&self, claims: &AccessClaims) -> Result<Vec<SessionInfo>, AuthError> {
        Ok(self
            .inner
            .db
            .accounts()
            .active_sessions(&claims.user)
            .await?
            .into_iter()
            .map(|s| SessionInfo {
                current: s.id == claims.session.0,
                id: SessionId(s.id),
                device: s.device,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
            })
            .collect())
    }

    /// Changes the caller's password and revokes every other session.
    pub async fn change_password(
        &self,
        claims: &AccessClaims,
        current: &str,
        new: &str,
    ) -> Result<(), AuthError> {
        password::check(new)?;
        let user = self
            .inner
            .db
            .accounts()
            .user(&claims.user)
            .await?
            .ok_or(AuthError::Unauthenticated(BAD_TOKEN))?;
        if !password::verify(current.to_owned(), Some(user.password_hash)).await? {
            return Err(AuthError::Forbidden(
                "the current password is not correct".into(),
            ));
        }
        let hash = password::hash(new.to_owned()).await?;
        self.inner
            .db
            .accounts()
            .set_password(&claims.user, &hash)
            .await?;
        self.revoke_other_sessions(claims).await
    }

    /// A user's profile.
    pub async fn profile(&self, user: &UserId) -> Result<Profile, AuthError> {
        self.inner
            .db
            .accounts()
            .user(user)
            .await?
            .map(Profile::from)
            .ok_or_else(|| AuthError::NotFound("no such user".into()))
    }

    /// Changes the given fields of a user's profile.
    pub async fn update_profile(
        &self,
        user: &UserId,
        display_name: Option<String>,
        bio: Option<String>,
    ) -> Result<Profile, AuthError> {
        let display_name = display_name.map(|d| d.trim().to_owned());
        if let Some(d) = &display_name {
            check_display_name(d)?;
        }
        if let Some(b) = &bio {
            check_bio(b)?;
        }
        match self
            .inner
            .db
            .accounts()
            .update_profile(user, display_name.as_deref(), bio.as_deref())
            .await
        {
            Ok(u) => Ok(u.into()),
            Err(StorageError::NotFound(_)) => Err(AuthError::NotFound("no such user".into())),
            Err(e) => Err(e.into()),
        }
    }

    /// Sets or removes a user's avatar. The caller has checked that the media is an image the
    /// user uploaded (see [`crate::media::Media::check_photo`]).
    pub async fn set_avatar(
        &self,
        user: &UserId,
        avatar: Option<&MediaId>,
    ) -> Result<Profile, AuthError> {
        match self.inner.db.accounts().set_avatar(user, avatar).await {
            Ok(u) => Ok(u.into()),
            Err(StorageError::NotFound(_)) => Err(AuthError::NotFound("no such user".into())),
            Err(e) => Err(e.into()),
        }
    }

    /// Users of this node whose name or display name starts with `query` (case-insensitive),
    /// by name, after the user named `after` when given.
    pub async fn search(
        &self,
        query: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Profile>, AuthError> {
        let query = query.trim().trim_start_matches('@').to_lowercase();
        if query.is_empty() || query.chars().count() > MAX_DISPLAY_NAME {
            return Ok(Vec::new());
        }
        let limit = limit.clamp(1, MAX_SEARCH);
        Ok(self
            .inner
            .db
            .accounts()
            .search_users(&query, after, limit)
            .await?
            .into_iter()
            .map(Profile::from)
            .collect())
    }

    /// Issues a registration token (returned once; only its hash is stored).
    pub async fn create_registration_token(
        &self,
        uses: Option<u32>,
        expires_in: Option<Duration>,
    ) -> Result<String, AuthError> {
        let token = new_secret_token()?;
        let t = now();
        let expires_at = expires_in.map(|d| {
            Timestamp(t.0.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)))
        });
        self.inner
            .db
            .accounts()
            .add_registration_token(&token_hash(&token), uses, expires_at, t)
            .await?;
        Ok(token)
    }
}

/// A new account's fields, checked (see [`Auth::check_new_user`]), before the password is
/// hashed.
struct NewAccount {
    id: UserId,
    password: String,
    display_name: String,
}

fn name_taken() -> AuthError {
    AuthError::Conflict("this user name is taken".into())
}

fn bad_registration_token() -> AuthError {
    AuthError::Forbidden("invalid, expired or used-up registration token".into())
}

fn refresh_expiry(t: Timestamp) -> Timestamp {
    Timestamp(t.0 + u64::try_from(REFRESH_TTL.as_millis()).unwrap_or(u64::MAX))
}
