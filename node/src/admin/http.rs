//! `/api/admin/…` (spec/admin.md §2): JSON in and out, errors as `{code, message}` like the
//! other HTTP APIs. Every route needs `Authorization: Bearer <token>` of an admin account (or
//! the operator token): `401` without a valid token, `403` for an account that is not admin.

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower_http::trace::TraceLayer;
use winichat_protocol::ids::{GroupId, NodeName};

use super::{Admin, Caller, FederationLists, ListEntry};
use crate::api::http::auth::{ApiError, JsonBody};
use crate::auth::AuthError;
use crate::chat::admin::Erased;
use crate::storage::admin::{AdminGroup, AdminUser, FederationList};

/// The admin routes, with their state, under `/api/admin`.
pub fn router(admin: Admin) -> Router {
    Router::new()
        .route("/api/admin/users", get(list_users))
        .route("/api/admin/users/{name}", get(get_user).delete(delete_user))
        .route("/api/admin/users/{name}/disable", post(disable))
        .route("/api/admin/users/{name}/enable", post(enable))
        .route("/api/admin/users/{name}/password", post(reset_password))
        .route("/api/admin/users/{name}/admin", put(set_admin))
        .route("/api/admin/users/{name}/quota", put(set_quota))
        .route("/api/admin/groups", get(list_groups))
        .route(
            "/api/admin/groups/{group}",
            axum::routing::delete(purge_group),
        )
        .route("/api/admin/registration-tokens", post(registration_token))
        .route("/api/admin/federation", get(federation))
        .route(
            "/api/admin/federation/{node}",
            put(federation_put).delete(federation_delete),
        )
        .layer(TraceLayer::new_for_http().make_span_with(crate::logging::request_span))
        .with_state(admin)
}

/// The caller, once they may use the admin API.
#[derive(Debug)]
pub struct AdminCaller(pub Caller);

impl FromRequestParts<Admin> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, admin: &Admin) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(ApiError(AuthError::Unauthenticated(
                "missing access token (Authorization: Bearer …)",
            )))?;
        Ok(AdminCaller(admin.caller(token).await?))
    }
}

/// A query string that failed to parse becomes `400 bad_request` in our error shape.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<T, S> FromRequestParts<S> for Params<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Params(v)),
            Err(e) => Err(ApiError(AuthError::BadRequest(format!(
                "invalid query: {}",
                e.body_text()
            )))),
        }
    }
}

/// One account as listed.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserJson {
    /// `@name:node`.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Unix ms.
    pub created_at: u64,
    /// Has the admin flag.
    pub admin: bool,
    /// Disabled.
    pub disabled: bool,
    /// Deleted (a tombstone).
    pub deleted: bool,
    /// Bytes of their distinct uploads.
    pub media_bytes: u64,
    /// The quota in force.
    pub quota_bytes: u64,
    /// True when the quota is the user's own, not the node's default.
    pub quota_custom: bool,
}

fn user_json(admin: &Admin, u: AdminUser) -> UserJson {
    UserJson {
        quota_bytes: admin.quota_of(&u),
        quota_custom: u.user.quota_bytes.is_some(),
        id: u.user.id.to_string(),
        display_name: u.user.display_name,
        created_at: u.user.created_at.0,
        admin: u.user.admin,
        disabled: u.user.disabled,
        deleted: u.user.deleted,
        media_bytes: u.media_bytes,
    }
}

/// `?q=&after=&limit=` of the user listing.
#[derive(Debug, Deserialize)]
pub struct UsersQuery {
    #[serde(default)]
    q: String,
    after: Option<String>,
    limit: Option<u32>,
}

/// A page of accounts; `next` is the `after` of the next page (absent on the last).
#[derive(Debug, Serialize, Deserialize)]
pub struct UsersPage {
    /// The accounts, by name.
    pub users: Vec<UserJson>,
    /// Where the next page starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

const DEFAULT_PAGE: u32 = 50;

/// `GET /api/admin/users?q=&after=&limit=`: accounts by name, those whose name or display
/// name starts with `q` (all when empty), deleted ones included.
async fn list_users(
    State(admin): State<Admin>,
    _: AdminCaller,
    Params(q): Params<UsersQuery>,
) -> Result<Json<UsersPage>, ApiError> {
    let limit = q.limit.unwrap_or(DEFAULT_PAGE).clamp(1, super::MAX_PAGE);
    let users = admin.users(&q.q, q.after.as_deref(), limit).await?;
    let next = (users.len() == limit as usize)
        .then(|| users.last().map(|u| u.user.id.name().to_owned()))
        .flatten();
    Ok(Json(UsersPage {
        users: users.into_iter().map(|u| user_json(&admin, u)).collect(),
        next,
    }))
}

/// `GET /api/admin/users/{name}`: one account.
async fn get_user(
    State(admin): State<Admin>,
    _: AdminCaller,
    Path(name): Path<String>,
) -> Result<Json<UserJson>, ApiError> {
    let found = admin.user(&admin.user_id(&name)?).await?;
    Ok(Json(user_json(&admin, found)))
}

/// `{sessions_revoked}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Disabled {
    /// Sessions revoked (their sockets closed).
    pub sessions_revoked: usize,
}

/// `POST /api/admin/users/{name}/disable`: no login or refresh; sessions revoked, sockets
/// closed at once.
async fn disable(
    State(admin): State<Admin>,
    _: AdminCaller,
    Path(name): Path<String>,
) -> Result<Json<Disabled>, ApiError> {
    let id = admin.user_id(&name)?;
    let sessions_revoked = admin.disable(&id).await?;
    Ok(Json(Disabled { sessions_revoked }))
}

/// `POST /api/admin/users/{name}/enable`.
async fn enable(
    State(admin): State<Admin>,
    _: AdminCaller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    admin.enable(&admin.user_id(&name)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What deleting an account did.
#[derive(Debug, Serialize, Deserialize)]
pub struct DeletedJson {
    /// Messages turned into tombstones.
    pub messages_deleted: u64,
    /// Groups left.
    pub groups_left: u64,
    /// Groups handed to another member before leaving.
    pub groups_transferred: u64,
    /// Groups deleted (the user was their only member).
    pub groups_deleted: u64,
    /// Direct chats kept (here and on other nodes), with the user's messages as tombstones.
    pub direct_chats: u64,
    /// Groups homed on other nodes the user was a member of.
    pub remote_groups: u64,
    /// Of those, the groups left through their homes.
    pub remote_groups_left: u64,
    /// Of those, the groups whose home could not be reached: the user's messages and
    /// membership there stay.
    pub remote_groups_unreachable: u64,
    /// Of those, the groups the user owned (their homes should never allow it): untouched.
    pub remote_groups_owned: u64,
}

impl From<Erased> for DeletedJson {
    fn from(e: Erased) -> Self {
        DeletedJson {
            messages_deleted: e.messages_deleted,
            groups_left: e.groups_left,
            groups_transferred: e.groups_transferred,
            groups_deleted: e.groups_deleted,
            direct_chats: e.direct_chats,
            remote_groups: e.remote_groups,
            remote_groups_left: e.remote_groups_left,
            remote_groups_unreachable: e.remote_groups_unreachable,
            remote_groups_owned: e.remote_groups_owned,
        }
    }
}

/// `DELETE /api/admin/users/{name}`: deletes the account with its data (spec/admin.md §3).
async fn delete_user(
    State(admin): State<Admin>,
    _: AdminCaller,
    Path(name): Path<String>,
) -> Result<Json<DeletedJson>, ApiError> {
    let id = admin.user_id(&name)?;
    Ok(Json(admin.delete_user(&id).await?.into()))
}

/// `{password?}` of a reset.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct PasswordBody {
    /// The new password; absent: a random one is made and returned.
    #[serde(default)]
    pub password: Option<String>,
}

/// `{password}`: the generated password (absent when the caller gave one).
#[derive(Debug, Serialize, Deserialize)]
pub struct PasswordJson {
    /// The generated password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// `POST /api/admin/users/{name}/password`: sets a new password, revokes every session.
async fn reset_password(
    State(admin): State<Admin>,
    _: AdminCaller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Result<Json<PasswordJson>, ApiError> {
    let id = admin.user_id(&name)?;
    let given = body.password.is_some();
    let password = admin.reset_password(&id, body.password).await?;
    Ok(Json(PasswordJson {
        password: (!given).then_some(password),
    }))
}

/// `{admin}`.
#[derive(Debug, Deserialize, Serialize)]
pub struct AdminFlag {
    /// Give (true) or take (false) the admin flag.
    pub admin: bool,
}

/// `PUT /api/admin/users/{name}/admin`.
async fn set_admin(
    State(admin): State<Admin>,
    caller: AdminCaller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<AdminFlag>,
) -> Result<StatusCode, ApiError> {
    let id = admin.user_id(&name)?;
    // An admin cannot lock themself out by mistake; another admin or the operator can.
    if !body.admin && caller.0 == Caller::Admin(id.clone()) {
        return Err(AuthError::Conflict("you cannot take your own admin flag".into()).into());
    }
    admin.set_admin(&id, body.admin).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `{quota_bytes}`: `null` for the node's default.
#[derive(Debug, Deserialize, Serialize)]
pub struct QuotaBody {
    /// The quota in bytes, or null.
    pub quota_bytes: Option<u64>,
}

/// `PUT /api/admin/users/{name}/quota`.
async fn set_quota(
    State(admin): State<Admin>,
    _: AdminCaller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<QuotaBody>,
) -> Result<StatusCode, ApiError> {
    admin
        .set_quota(&admin.user_id(&name)?, body.quota_bytes)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One chat as listed.
#[derive(Debug, Serialize, Deserialize)]
pub struct GroupJson {
    /// `!id:home`.
    pub id: String,
    /// `direct` or `group`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Current members.
    pub members: u64,
    /// Events in its log.
    pub events: u64,
    /// Bytes of its signed events here.
    pub bytes: u64,
    /// Deleted or purged.
    pub deleted: bool,
    /// Homed on this node.
    pub local: bool,
}

/// A page of chats.
#[derive(Debug, Serialize, Deserialize)]
pub struct GroupsPage {
    /// The chats, by id.
    pub groups: Vec<GroupJson>,
    /// The `after` of the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `?after=&limit=`.
#[derive(Debug, Deserialize)]
pub struct GroupsQuery {
    after: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/admin/groups?after=&limit=`: chats by id with member counts and sizes.
async fn list_groups(
    State(admin): State<Admin>,
    _: AdminCaller,
    Params(q): Params<GroupsQuery>,
) -> Result<Json<GroupsPage>, ApiError> {
    let after = match q.after.as_deref() {
        Some(a) => Some(
            GroupId::parse(a).map_err(|_| AuthError::BadRequest("after: not a group id".into()))?,
        ),
        None => None,
    };
    let limit = q.limit.unwrap_or(DEFAULT_PAGE).clamp(1, super::MAX_PAGE);
    let groups = admin.groups(after.as_ref(), limit).await?;
    let next = (groups.len() == limit as usize)
        .then(|| groups.last().map(|g| g.group.to_string()))
        .flatten();
    let node = admin.node().clone();
    Ok(Json(GroupsPage {
        groups: groups
            .into_iter()
            .map(|g: AdminGroup| GroupJson {
                local: g.group.home() == &node,
                id: g.group.to_string(),
                kind: g.kind,
                name: g.name,
                members: g.members,
                events: g.events,
                bytes: g.bytes,
                deleted: g.deleted,
            })
            .collect(),
        next,
    }))
}

/// `DELETE /api/admin/groups/{group}`: purges a group homed here (spec/admin.md §4).
async fn purge_group(
    State(admin): State<Admin>,
    _: AdminCaller,
    Path(group): Path<String>,
) -> Result<StatusCode, ApiError> {
    let group = GroupId::parse(&group).map_err(|_| AuthError::NotFound("no such chat".into()))?;
    admin.purge_group(&group).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `{uses?, expires_in_hours?}`.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct TokenBody {
    /// Registrations it allows; absent: 1.
    #[serde(default)]
    pub uses: Option<u32>,
    /// Hours until it expires; absent: never.
    #[serde(default)]
    pub expires_in_hours: Option<u64>,
}

/// `{token}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenJson {
    /// The registration token (shown once).
    pub token: String,
}

/// `POST /api/admin/registration-tokens`.
async fn registration_token(
    State(admin): State<Admin>,
    _: AdminCaller,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<(StatusCode, Json<TokenJson>), ApiError> {
    let token = admin
        .registration_token(Some(body.uses.unwrap_or(1)), body.expires_in_hours)
        .await?;
    Ok((StatusCode::CREATED, Json(TokenJson { token })))
}

/// One listed node.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EntryJson {
    /// The node name.
    pub node: String,
    /// From the config file (not removable here).
    pub configured: bool,
}

/// `{allow, deny}`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ListsJson {
    /// Allowed nodes (when any, only these federate).
    pub allow: Vec<EntryJson>,
    /// Denied nodes.
    pub deny: Vec<EntryJson>,
}

impl From<FederationLists> for ListsJson {
    fn from(l: FederationLists) -> Self {
        let entries = |v: Vec<ListEntry>| {
            v.into_iter()
                .map(|e| EntryJson {
                    node: e.node.to_string(),
                    configured: e.configured,
                })
                .collect()
        };
        ListsJson {
            allow: entries(l.allow),
            deny: entries(l.deny),
        }
    }
}

/// `GET /api/admin/federation`.
async fn federation(
    State(admin): State<Admin>,
    _: AdminCaller,
) -> Result<Json<ListsJson>, ApiError> {
    Ok(Json(admin.federation_lists().await?.into()))
}

/// `{list}`: `"allow"` or `"deny"`.
#[derive(Debug, Deserialize, Serialize)]
pub struct ListBody {
    /// Which list.
    pub list: String,
}

fn node_name(text: &str) -> Result<NodeName, AuthError> {
    text.parse()
        .map_err(|_| AuthError::BadRequest("not a node name".into()))
}

/// `PUT /api/admin/federation/{node}` `{list}`: applied at once.
async fn federation_put(
    State(admin): State<Admin>,
    _: AdminCaller,
    Path(node): Path<String>,
    JsonBody(body): JsonBody<ListBody>,
) -> Result<Json<ListsJson>, ApiError> {
    let list = match body.list.as_str() {
        "allow" => FederationList::Allow,
        "deny" => FederationList::Deny,
        _ => {
            return Err(AuthError::BadRequest("list must be \"allow\" or \"deny\"".into()).into());
        }
    };
    let lists = admin
        .set_federation_list(&node_name(&node)?, Some(list))
        .await?;
    Ok(Json(lists.into()))
}

/// `DELETE /api/admin/federation/{node}`: off both lists, at once.
async fn federation_delete(
    State(admin): State<Admin>,
    _: AdminCaller,
    Path(node): Path<String>,
) -> Result<Json<ListsJson>, ApiError> {
    let lists = admin.set_federation_list(&node_name(&node)?, None).await?;
    Ok(Json(lists.into()))
}
