//! The gateway's methods after `auth`: each decodes its params, does its work and returns the
//! `ok` result or the `err` body.

use ciborium::Value;
use serde::Serialize;
use winichat_protocol::error_code::{ErrorBody, ErrorCode};
use winichat_protocol::gateway::{
    self, Empty, MAX_SEARCH_LIMIT, ProfileGetParams, ProfileInfo, ProfilePush, ProfileUpdateParams,
    RefreshParams, RefreshResult, SearchParams, SearchResult, method,
};

use super::Accounts;
use super::chat_methods;
use super::connection::ConnState;
use super::hub::Hub;
use crate::auth::{AuthError, Profile};
use crate::chat::Chats;

/// Calls `method` for the connection `conn`.
pub async fn call<A: Accounts>(
    conn: &mut ConnState,
    accounts: &A,
    chats: Option<&Chats>,
    hub: &Hub,
    name: &str,
    params: &Value,
) -> Result<Value, ErrorBody> {
    if let Some(result) = chat_methods::call(conn, chats, name, params).await {
        return result;
    }
    match name {
        method::PING => {
            let _: Empty = decode(params)?;
            encode(&Empty {})
        }
        method::AUTH_REFRESH => refresh(conn, accounts, decode(params)?).await,
        method::PROFILE_GET => {
            let p: ProfileGetParams = decode(params)?;
            let user = p.user.unwrap_or_else(|| conn.user.clone());
            let profile = accounts.profile(&user).await.map_err(auth_error)?;
            encode(&info(profile))
        }
        method::PROFILE_UPDATE => {
            let p: ProfileUpdateParams = decode(params)?;
            if let Some(Some(avatar)) = &p.avatar {
                let Some(chats) = chats else {
                    return Err(ErrorBody::new(
                        ErrorCode::Unavailable,
                        "media is not available",
                    ));
                };
                chats
                    .check_photo(&conn.user, avatar)
                    .await
                    .map_err(|e| e.body())?;
            }
            let profile = match &p.avatar {
                None => accounts
                    .update_profile(&conn.user, p.display_name, p.bio)
                    .await
                    .map_err(auth_error)?,
                Some(avatar) => {
                    if p.display_name.is_some() || p.bio.is_some() {
                        accounts
                            .update_profile(&conn.user, p.display_name, p.bio)
                            .await
                            .map_err(auth_error)?;
                    }
                    accounts
                        .set_avatar(&conn.user, avatar.as_ref())
                        .await
                        .map_err(auth_error)?
                }
            };
            let push = ProfilePush {
                user: profile.user.clone(),
                display_name: profile.display_name.clone(),
                bio: profile.bio.clone(),
                avatar: profile.avatar.clone(),
            };
            hub.push_about(&conn.user, gateway::event::PROFILE, &encode(&push)?);
            encode(&info(profile))
        }
        method::USERS_SEARCH => {
            let p: SearchParams = decode(params)?;
            let limit = p
                .limit
                .unwrap_or(MAX_SEARCH_LIMIT)
                .clamp(1, MAX_SEARCH_LIMIT);
            let users = accounts
                .search(&p.query, limit)
                .await
                .map_err(auth_error)?
                .into_iter()
                .map(info)
                .collect();
            encode(&SearchResult { users })
        }
        method::AUTH => Err(ErrorBody::new(
            ErrorCode::BadRequest,
            "already authenticated; use auth.refresh",
        )),
        _ => Err(ErrorBody::new(
            ErrorCode::UnknownMethod,
            format!("unknown method {name:?}"),
        )),
    }
}

/// `auth.refresh`: a fresh token of the same user and session extends the connection.
async fn refresh<A: Accounts>(
    conn: &mut ConnState,
    accounts: &A,
    p: RefreshParams,
) -> Result<Value, ErrorBody> {
    let claims = accounts
        .authenticate(&p.token)
        .await
        .map_err(|e| ErrorBody::new(ErrorCode::Unauthenticated, e.to_string()))?;
    if claims.user != conn.user || claims.session != conn.session {
        return Err(ErrorBody::new(
            ErrorCode::Forbidden,
            "the token belongs to another session",
        ));
    }
    conn.expires_at = conn.expires_at.max(claims.expires_at);
    encode(&RefreshResult {
        expires_at: conn.expires_at,
    })
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(params: &Value) -> Result<T, ErrorBody> {
    gateway::decode_params(params).map_err(|e| ErrorBody::new(ErrorCode::BadRequest, e.to_string()))
}

pub(super) fn encode<T: Serialize>(value: &T) -> Result<Value, ErrorBody> {
    gateway::to_value(value).map_err(|e| {
        tracing::error!(error = %e, "gateway: cannot encode a result");
        ErrorBody::new(ErrorCode::Internal, "internal error")
    })
}

fn auth_error(e: AuthError) -> ErrorBody {
    ErrorBody::new(e.code(), e.to_string())
}

fn info(p: Profile) -> ProfileInfo {
    ProfileInfo {
        id: p.user,
        display_name: p.display_name,
        bio: p.bio,
        avatar: p.avatar,
    }
}
