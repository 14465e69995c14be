//! The gateway's methods after `auth`: each decodes its params, does its work and returns the
//! `ok` result or the `err` body.

use ciborium::Value;
use serde::Serialize;
use winichat_protocol::error_code::{ErrorBody, ErrorCode};
use winichat_protocol::gateway::chat::method as chat;
use winichat_protocol::gateway::{
    self, Empty, MAX_SEARCH_LIMIT, ProfileGetParams, ProfileInfo, ProfilePush, ProfileUpdateParams,
    RefreshParams, RefreshResult, SearchParams, SearchResult, fit, method,
};

use super::Accounts;
use super::chat_methods;
use super::connection::ConnState;
use super::hub::Hub;
use crate::auth::{AuthError, Profile};
use crate::chat::Chats;
use winichat_protocol::ids::UserId;

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
            if user.node() != conn.user.node() {
                // A user of another node: their node says (spec/federation.md §5.2).
                let Some(chats) = chats else {
                    return Err(ErrorBody::new(ErrorCode::NotFound, "no such user"));
                };
                return encode(&chats.remote_profile(&user).await.map_err(|e| e.body())?);
            }
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
            // A whole `@name:node` of another node: that node says whether the user exists.
            if let Ok(user) = UserId::parse(p.query.trim())
                && user.node() != conn.user.node()
                && let Some(chats) = chats
            {
                let users = match chats.remote_profile(&user).await {
                    Ok(profile) => vec![profile],
                    Err(crate::chat::ChatError::NotFound(_)) => Vec::new(),
                    Err(e) => return Err(e.body()),
                };
                return encode(&SearchResult { users, next: None });
            }
            let limit = p
                .limit
                .unwrap_or(MAX_SEARCH_LIMIT)
                .clamp(1, MAX_SEARCH_LIMIT);
            // One past the page, to know whether another follows.
            let mut users: Vec<ProfileInfo> = accounts
                .search(&p.query, p.after.as_deref(), limit.saturating_add(1))
                .await
                .map_err(auth_error)?
                .into_iter()
                .map(info)
                .collect();
            let more = users.len() > usize::try_from(limit).unwrap_or(usize::MAX);
            users.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            let asked = users.len();
            let mut result = SearchResult { users, next: None };
            let cut = fit::search(&mut result);
            if result.users.is_empty() && asked > 0 {
                return Err(too_large());
            }
            if cut || more {
                // The cursor is the last listed user's name: the search is by name.
                result.next = result.users.last().map(|u| u.id.name().to_owned());
            }
            encode(&result)
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

/// Whether a request of method `name` may be cut short when its connection closes: it reads,
/// or its one change is an event of a group's log, which the commit pipeline finishes once it
/// is queued whoever waits (a retry with the same `txn` gets its result), or it asks another
/// node, where the same `txn` makes a retry safe. Any other method runs to its end, the safe
/// default: it makes several changes that belong together (`links.redeem` spends a use, then
/// joins), or a change then its push (`profile.update`, `msgs.read`), or holds state for the
/// time it runs (`groups.join` of another node's group).
pub fn cancellable(name: &str) -> bool {
    CANCELLABLE.contains(&name) || crate::chat::remote::SUBMITTABLE.contains(&name)
}

/// The methods that may be cut short, beside the writes of a group's log
/// ([`crate::chat::remote::SUBMITTABLE`]).
const CANCELLABLE: [&str; 22] = [
    method::PING,
    method::AUTH_REFRESH,
    method::PROFILE_GET,
    method::USERS_SEARCH,
    gateway::method::MEDIA_URLS,
    gateway::method::PRESENCE_GET,
    chat::CHATS_LIST,
    chat::CHATS_GET,
    chat::DM_OPEN,
    chat::GROUPS_CREATE,
    chat::GROUPS_DIRECTORY,
    chat::INVITES_LIST,
    chat::LINKS_LIST,
    chat::LINKS_PREVIEW,
    chat::BANS_LIST,
    chat::MEMBERS_LIST,
    chat::MSGS_HISTORY,
    chat::MSGS_SEEN_BY,
    chat::MSGS_EVENT,
    gateway::search::MSGS_SEARCH,
    chat::MSGS_TYPING,
    chat::AUDIT_LIST,
];

pub(super) fn decode<T: serde::de::DeserializeOwned>(params: &Value) -> Result<T, ErrorBody> {
    gateway::decode_params(params).map_err(|e| ErrorBody::new(ErrorCode::BadRequest, e.to_string()))
}

pub(super) fn encode<T: Serialize>(value: &T) -> Result<Value, ErrorBody> {
    // The last guard of gateway.md §1: a result that would not fit a frame is refused as
    // `too_large` (the list replies are cut before they get here, so this is a bug's symptom,
    // not a client's), and the connection stays open.
    if !fit::fits(value) {
        tracing::error!("gateway: a result is over the frame limit");
        return Err(too_large());
    }
    gateway::to_value(value).map_err(|e| {
        tracing::error!(error = %e, "gateway: cannot encode a result");
        ErrorBody::new(ErrorCode::Internal, "internal error")
    })
}

fn too_large() -> ErrorBody {
    ErrorBody::new(
        ErrorCode::TooLarge,
        "the reply would be over the frame limit",
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reads_and_log_writes_are_cut_short_with_their_connection() {
        for name in [
            method::PING,
            method::USERS_SEARCH,
            chat::MSGS_HISTORY,
            chat::GROUPS_DIRECTORY,
            chat::MSGS_POST,
            chat::MEMBERS_KICK,
            chat::GROUPS_CREATE,
        ] {
            assert!(cancellable(name), "{name}");
        }
        for name in [
            method::PROFILE_UPDATE,
            chat::LINKS_REDEEM,
            chat::LINKS_CREATE,
            chat::LINKS_REVOKE,
            chat::MSGS_READ,
            chat::GROUPS_JOIN,
            chat::INVITES_ACCEPT,
            "no.such.method",
        ] {
            assert!(!cancellable(name), "{name}");
        }
    }

    #[test]
    fn a_result_over_the_frame_budget_is_too_large_not_a_close() {
        let big = "😀".repeat(fit::REPLY_BUDGET / 4 + 1);
        let error = encode(&big).expect_err("over the budget");
        assert_eq!(error.code, ErrorCode::TooLarge);
        let small = "😀".repeat(fit::REPLY_BUDGET / 8);
        assert!(encode(&small).is_ok());
    }
}
