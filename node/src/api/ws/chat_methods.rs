//! The gateway's chat methods (protocol `gateway::chat`): decode params, call [`Chats`],
//! encode the result.

use ciborium::Value;
use winichat_protocol::error_code::{ErrorBody, ErrorCode};
use winichat_protocol::gateway::chat::{self as api, method};
use winichat_protocol::gateway::{self, Empty, search};
use winichat_protocol::ids::GroupId;
use winichat_protocol::media::MediaUrlsParams;

use super::connection::ConnState;
use super::methods::{decode, encode};
use crate::chat::{ChatError, Chats};

/// Answers `name` if it is a chat method; `None` for any other method.
pub async fn call(
    conn: &ConnState,
    chats: Option<&Chats>,
    name: &str,
    params: &Value,
) -> Option<Result<Value, ErrorBody>> {
    if !is_chat_method(name) {
        return None;
    }
    let Some(chats) = chats else {
        return Some(Err(ErrorBody::new(
            ErrorCode::Unavailable,
            "chats are not available",
        )));
    };
    Some(dispatch(conn, chats, name, params).await)
}

fn is_chat_method(name: &str) -> bool {
    name == gateway::method::PRESENCE_GET
        || name == gateway::method::MEDIA_URLS
        || [
            "chats.", "dm.", "groups.", "invites.", "links.", "members.", "bans.", "roles.",
            "msgs.", "audit.",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

async fn dispatch(
    conn: &ConnState,
    chats: &Chats,
    name: &str,
    params: &Value,
) -> Result<Value, ErrorBody> {
    let me = &conn.user;
    if crate::chat::remote::SUBMITTABLE.contains(&name) {
        // Here or at the group's home: one path for local and remote groups.
        return chats.write_method(me, name, params).await.map_err(err);
    }
    match name {
        gateway::method::MEDIA_URLS => {
            let p: MediaUrlsParams = decode(params)?;
            let urls = chats
                .media()
                .map_err(err)?
                .urls(me, &p, crate::chat::now())
                .await
                .map_err(|e| err(e.into()))?;
            encode(&urls)
        }
        method::CHATS_LIST => encode(&chats.list(me, decode(params)?).await.map_err(err)?),
        method::CHATS_GET => {
            let p: api::GroupParams = decode(params)?;
            encode(&chats.detail(me, &p.group).await.map_err(err)?)
        }
        method::DM_OPEN => {
            let p: api::DmOpenParams = decode(params)?;
            let group = chats.open_direct(me, &p.user).await.map_err(err)?;
            summary(chats, conn, &group).await
        }
        method::GROUPS_CREATE => {
            let p: api::GroupCreateParams = decode(params)?;
            let written = chats.create(me, p).await.map_err(err)?;
            summary(chats, conn, &written.group).await
        }
        method::GROUPS_DIRECTORY => {
            let p: api::DirectoryParams = decode(params)?;
            encode(&chats.find_groups(me, p).await.map_err(err)?)
        }
        method::GROUPS_JOIN => {
            let written = chats.join_any(me, decode(params)?).await.map_err(err)?;
            summary(chats, conn, &written.group).await
        }
        method::INVITES_LIST => encode(&chats.invites(me, decode(params)?).await.map_err(err)?),
        method::INVITES_ACCEPT => {
            let written = chats
                .accept_any_invite(me, decode(params)?)
                .await
                .map_err(err)?;
            summary(chats, conn, &written.group).await
        }
        method::LINKS_CREATE => encode(&chats.create_link(me, decode(params)?).await.map_err(err)?),
        method::LINKS_LIST => encode(&chats.links(me, decode(params)?).await.map_err(err)?),
        method::LINKS_REVOKE => {
            chats.revoke_link(me, decode(params)?).await.map_err(err)?;
            encode(&Empty {})
        }
        method::LINKS_PREVIEW => {
            let p: api::CodeParams = decode(params)?;
            encode(&chats.preview_any_link(p).await.map_err(err)?)
        }
        method::LINKS_REDEEM => {
            let written = chats
                .redeem_any_link(me, decode(params)?)
                .await
                .map_err(err)?;
            summary(chats, conn, &written.group).await
        }
        method::BANS_LIST => encode(&chats.bans(me, decode(params)?).await.map_err(err)?),
        method::MEMBERS_LIST => encode(&chats.members(me, decode(params)?).await.map_err(err)?),
        method::MSGS_HISTORY => encode(&chats.history(me, decode(params)?).await.map_err(err)?),
        method::MSGS_READ => {
            chats.mark_read(me, decode(params)?).await.map_err(err)?;
            encode(&Empty {})
        }
        method::MSGS_SEEN_BY => encode(&chats.seen_by(me, decode(params)?).await.map_err(err)?),
        method::MSGS_EVENT => encode(&chats.event(me, decode(params)?).await.map_err(err)?),
        search::MSGS_SEARCH => encode(
            &chats
                .search_messages(me, decode(params)?)
                .await
                .map_err(err)?,
        ),
        method::MSGS_TYPING => {
            let p: api::GroupParams = decode(params)?;
            chats.typing(me, &p.group).await.map_err(err)?;
            encode(&Empty {})
        }
        gateway::method::PRESENCE_GET => {
            let p: gateway::PresenceGetParams = decode(params)?;
            encode(&chats.presence(me, &p.users).await.map_err(err)?)
        }
        method::AUDIT_LIST => encode(&chats.audit(me, decode(params)?).await.map_err(err)?),
        method::CHATS_SETTINGS => encode(
            &chats
                .set_chat_settings(me, decode(params)?)
                .await
                .map_err(err)?,
        ),
        _ => Err(ErrorBody::new(
            ErrorCode::UnknownMethod,
            format!("unknown method {name:?}"),
        )),
    }
}

async fn summary(chats: &Chats, conn: &ConnState, group: &GroupId) -> Result<Value, ErrorBody> {
    encode(&chats.summary_of(&conn.user, group).await.map_err(err)?)
}

fn err(e: ChatError) -> ErrorBody {
    e.body()
}
