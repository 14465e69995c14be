//! Invite links: secret codes that let anyone holding them join a group, with an optional
//! expiry and maximum number of uses. Links are not logged (they are secrets); the joins they
//! lead to are.

use base64::Engine as _;
use winichat_protocol::Timestamp;
use winichat_protocol::gateway::chat as api;
use winichat_protocol::group::bodies::{JoinVia, MemberJoin};
use winichat_protocol::group::{Action, Body, authorize};
use winichat_protocol::ids::UserId;

use super::write::Draft;
use super::{ChatError, Chats, now};
use crate::storage::chats::{LinkRefusal, LinkRow};

/// The longest a link may live: a year.
const MAX_EXPIRES_IN_SECS: u64 = 365 * 24 * 3600;

impl Chats {
    /// `links.create`.
    pub async fn create_link(
        &self,
        actor: &UserId,
        p: api::LinkCreateParams,
    ) -> Result<api::LinkInfo, ChatError> {
        if self.is_remote(&p.group) {
            return Err(ChatError::BadRequest(
                "invite links of a group are made on its home node".into(),
            ));
        }
        self.with_access(actor, &p.group, Action::ManageInvites, |_| ())
            .await?;
        if p.max_uses == Some(0) {
            return Err(ChatError::BadRequest("max_uses must be at least 1".into()));
        }
        let expires_at = match p.expires_in {
            Some(0) => {
                return Err(ChatError::BadRequest(
                    "expires_in must be at least 1".into(),
                ));
            }
            Some(secs) if secs > MAX_EXPIRES_IN_SECS => {
                return Err(ChatError::BadRequest("expires_in is at most a year".into()));
            }
            Some(secs) => Some(Timestamp(now().millis().saturating_add(secs * 1000))),
            None => None,
        };
        let mut secret = [0u8; 16];
        getrandom::fill(&mut secret).map_err(ChatError::internal)?;
        let link = LinkRow {
            code: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
            group: p.group.clone(),
            created_by: actor.clone(),
            created_at: now(),
            expires_at,
            max_uses: p.max_uses,
            uses: 0,
            revoked: false,
        };
        self.db().chats().create_link(&link).await?;
        Ok(link_info(link))
    }

    /// `links.list`.
    pub async fn links(
        &self,
        actor: &UserId,
        p: api::PageParams,
    ) -> Result<api::LinkList, ChatError> {
        let limit = super::read::page_limit(p.limit)?;
        let start = super::pages::parse_offset(p.after.as_deref())?;
        self.with_access(actor, &p.group, Action::ManageInvites, |_| ())
            .await?;
        let links = self.db().chats().links(&p.group).await?;
        super::read::page(
            links.into_iter().map(link_info).collect(),
            start,
            limit,
            |links| {
                let mut list = api::LinkList { links, next: None };
                let cut = winichat_protocol::gateway::fit::link_list(&mut list);
                (list.links.len(), cut, list)
            },
            |list, next| list.next = next,
        )
    }

    /// `links.revoke`.
    pub async fn revoke_link(&self, actor: &UserId, p: api::LinkParams) -> Result<(), ChatError> {
        self.with_access(actor, &p.group, Action::ManageInvites, |_| ())
            .await?;
        if self.db().chats().revoke_link(&p.group, &p.code).await? {
            Ok(())
        } else {
            Err(ChatError::NotFound("no such link"))
        }
    }

    /// `links.preview`: what a live link leads to.
    pub async fn preview_link(&self, code: &str) -> Result<api::LinkPreview, ChatError> {
        let link = self
            .db()
            .chats()
            .link(code)
            .await?
            .ok_or(ChatError::NotFound("no such link"))?;
        live(&link, now()).map_err(refused)?;
        let group = link.group;
        self.inspect(&group, |l| {
            let state = &l.state;
            (!state.deleted).then(|| api::LinkPreview {
                group: group.clone(),
                name: state.name.clone(),
                description: state.description.clone(),
                members: u64::try_from(state.members.len()).unwrap_or(u64::MAX),
                photo: state.photo.clone(),
            })
        })
        .await?
        .flatten()
        .ok_or(ChatError::NotFound("no such link"))
    }

    /// `links.redeem`: joins by link. The use is counted by one conditional update under the
    /// group's lock, and given back if the join is refused.
    pub async fn redeem_link(
        &self,
        actor: &UserId,
        p: api::RedeemParams,
    ) -> Result<api::WriteResult, ChatError> {
        self.once_per_txn(actor, &p.txn, async |claim| {
            let link = self
                .db()
                .chats()
                .link(&p.code)
                .await?
                .ok_or(ChatError::NotFound("no such link"))?;
            let guard = self.lock(&link.group).await?;
            let Some(loaded) = guard.as_ref() else {
                return Err(ChatError::NotFound("no such link"));
            };
            let via = JoinVia::Link;
            // A banned user or a member gets the refusal before a use is spent.
            authorize(&loaded.state, actor, &Action::Join { via })?;
            match self.db().chats().redeem_link(&p.code, now()).await? {
                Ok(_) => {}
                Err(refusal) => return Err(refused(refusal)),
            }
            let draft = Draft {
                body: Body::MemberJoin(MemberJoin { via }),
                role: None,
                edited_body: None,
                moderated: false,
            };
            match self.commit(guard, actor, &link.group, claim, draft).await {
                Ok(result) => Ok(result),
                Err(e) => {
                    self.db().chats().unredeem_link(&p.code).await?;
                    Err(e)
                }
            }
        })
        .await
    }
}

fn live(link: &LinkRow, now: Timestamp) -> Result<(), LinkRefusal> {
    if link.revoked {
        return Err(LinkRefusal::Revoked);
    }
    if link.expires_at.is_some_and(|at| at <= now) {
        return Err(LinkRefusal::Expired);
    }
    if link.max_uses.is_some_and(|max| link.uses >= max) {
        return Err(LinkRefusal::UsedUp);
    }
    Ok(())
}

fn refused(refusal: LinkRefusal) -> ChatError {
    match refusal {
        LinkRefusal::Unknown => ChatError::NotFound("no such link"),
        LinkRefusal::Revoked => ChatError::NotFound("this invite link was revoked"),
        LinkRefusal::Expired => ChatError::NotFound("this invite link has expired"),
        LinkRefusal::UsedUp => ChatError::NotFound("this invite link has been used up"),
    }
}

fn link_info(link: LinkRow) -> api::LinkInfo {
    api::LinkInfo {
        code: link.code,
        group: link.group,
        created_by: link.created_by,
        created_at: link.created_at,
        expires_at: link.expires_at,
        max_uses: link.max_uses,
        uses: link.uses,
        revoked: link.revoked,
    }
}
