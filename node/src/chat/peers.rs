//! What this node answers other nodes about its chats (spec/federation.md §5): lookups,
//! joins and submitted writes for groups homed here, pushes and invites for its replicas,
//! and the log itself (`backfill`, `state`).

use ciborium::Value;
use winichat_protocol::error_code::{ErrorBody, ErrorCode};
use winichat_protocol::federation::methods::{
    self, BackfillParams, BackfillResult, DirectParams, DirectResult, DirectoryLookupParams,
    HelloParams, HelloResult, InviteParams, JoinParams, JoinRoute, LinkPreviewParams,
    MediaFetchParams, ProfileGetParams, PushOutcome, PushParams, PushResult, StateParams,
    StateResult, SubmitParams, TypingParams, method,
};
use winichat_protocol::gateway::{self, chat as api};
use winichat_protocol::group::Visibility;
use winichat_protocol::ids::{GroupId, NodeName, UserId};

use super::{ChatError, Chats, now};
use crate::federation::FedHandler;

/// Room kept in a `backfill` answer for everything but the events.
const BACKFILL_ENVELOPE: usize = 16 * 1024;

/// Answers other nodes' requests with the chat service.
#[derive(Debug, Clone)]
pub struct PeerService {
    chats: Chats,
}

impl PeerService {
    /// The handler of requests from other nodes.
    pub fn new(chats: Chats) -> PeerService {
        PeerService { chats }
    }
}

#[async_trait::async_trait]
impl FedHandler for PeerService {
    async fn handle(
        &self,
        origin: &NodeName,
        name: &str,
        params: Value,
    ) -> Result<Value, ErrorBody> {
        self.answer(origin, name, &params)
            .await
            .map_err(|e| e.body())
    }

    fn contacted(&self, origin: &NodeName) {
        self.chats.peer_contacted(origin);
    }
}

impl PeerService {
    async fn answer(
        &self,
        origin: &NodeName,
        name: &str,
        params: &Value,
    ) -> Result<Value, ChatError> {
        let chats = &self.chats;
        match name {
            method::MEDIA_FETCH => {
                let p: MediaFetchParams = decode(params)?;
                encode(&chats.media()?.serve_peer(origin, &p).await?)
            }
            method::HELLO => {
                let _: HelloParams = decode(params)?;
                encode(&HelloResult {
                    versions: methods::VERSIONS.to_vec(),
                    ts: now(),
                })
            }
            method::PROFILE_GET => {
                let p: ProfileGetParams = decode(params)?;
                chats.require_user(&p.user).await?;
                let profile = chats
                    .db()
                    .accounts()
                    .user(&p.user)
                    .await?
                    .ok_or(ChatError::NotFound("no such user"))?;
                encode(&gateway::ProfileInfo {
                    id: p.user,
                    display_name: profile.display_name,
                    bio: profile.bio,
                    avatar: profile.avatar,
                })
            }
            method::DIRECTORY_LOOKUP => {
                let p: DirectoryLookupParams = decode(params)?;
                encode(&chats.directory_entry(&p.handle).await?)
            }
            method::JOIN => {
                let p: JoinParams = decode(params)?;
                speaks_for(origin, &p.user)?;
                if p.group.as_ref().is_some_and(|g| chats.is_remote(g)) {
                    return Err(ChatError::BadRequest(
                        "that group is not homed on this node".into(),
                    ));
                }
                let written = match p.via {
                    JoinRoute::Public => {
                        chats
                            .join_public(
                                &p.user,
                                api::JoinParams {
                                    txn: p.txn,
                                    group: Some(required(p.group)?),
                                    handle: None,
                                },
                            )
                            .await?
                    }
                    JoinRoute::Invite => {
                        chats
                            .accept_invite(
                                &p.user,
                                api::TxnGroupParams {
                                    txn: p.txn,
                                    group: required(p.group)?,
                                },
                            )
                            .await?
                    }
                    JoinRoute::Link => {
                        let code = p.code.ok_or_else(|| {
                            ChatError::BadRequest("a link join needs the code".into())
                        })?;
                        chats
                            .redeem_link(
                                &p.user,
                                api::RedeemParams {
                                    txn: p.txn,
                                    code,
                                    node: None,
                                },
                            )
                            .await?
                    }
                };
                encode(&written)
            }
            method::SUBMIT => {
                let p: SubmitParams = decode(params)?;
                speaks_for(origin, &p.user)?;
                let group = group_of(&p.params)?;
                if chats.is_remote(&group) {
                    return Err(ChatError::NotFound("no such chat"));
                }
                if p.method == api::method::MSGS_FORWARD {
                    // The one write whose params the submitting node may vouch for (the
                    // original it homes): `forward` needs to know who sent it.
                    let forward = decode(&p.params)?;
                    return encode(&chats.forward(&p.user, forward, Some(origin)).await?);
                }
                chats.write_method(&p.user, &p.method, &p.params).await
            }
            method::PUSH | method::INVITE => {
                let events = if name == method::PUSH {
                    let p: PushParams = decode(params)?;
                    p.events
                } else {
                    let p: InviteParams = decode(params)?;
                    vec![p.event]
                };
                if events.len() > methods::MAX_PUSH_EVENTS {
                    return Err(ChatError::BadRequest(format!(
                        "at most {} events per push",
                        methods::MAX_PUSH_EVENTS
                    )));
                }
                let outcomes = chats.receive(origin, &events, true).await;
                if name == method::PUSH {
                    return encode(&PushResult { outcomes });
                }
                // An invite is answered `{}` only once it is taken: a refusal or a retry is
                // an error, so the home keeps it (or drops it) knowingly.
                match outcomes.first() {
                    Some(PushOutcome::Applied | PushOutcome::Duplicate) => {
                        encode(&gateway::Empty {})
                    }
                    Some(PushOutcome::Retry) => Err(ChatError::Unavailable(
                        "the invite cannot be taken now; try again later".into(),
                    )),
                    _ => Err(ChatError::Remote(ErrorBody::new(
                        ErrorCode::Forbidden,
                        "the invite event was refused",
                    ))),
                }
            }
            method::BACKFILL => {
                let p: BackfillParams = decode(params)?;
                encode(&chats.backfill(origin, &p).await?)
            }
            method::STATE => {
                let p: StateParams = decode(params)?;
                encode(&chats.state_of(origin, &p.group).await?)
            }
            method::READ => {
                chats.reads_received(origin, decode(params)?).await?;
                encode(&gateway::Empty {})
            }
            method::DIRECT => {
                let p: DirectParams = decode(params)?;
                speaks_for(origin, &p.user)?;
                if p.peer.node() != chats.node() {
                    return Err(ChatError::BadRequest(
                        "the peer is not a user of this node".into(),
                    ));
                }
                chats.require_user(&p.peer).await?;
                // Only a chat this node homes: the origin knows its own.
                let group = chats
                    .db()
                    .chats()
                    .direct_between(&p.user, &p.peer)
                    .await?
                    .filter(|g| !chats.is_remote(g));
                encode(&DirectResult { group })
            }
            method::LINK_PREVIEW => {
                let p: LinkPreviewParams = decode(params)?;
                encode(&chats.preview_link(&p.code).await?)
            }
            method::PROFILE_CHANGED => {
                chats.profile_changed(origin, decode(params)?).await?;
                encode(&gateway::Empty {})
            }
            method::PRESENCE => {
                chats.presence_received(origin, decode(params)?).await?;
                encode(&gateway::Empty {})
            }
            method::TYPING => {
                let p: TypingParams = decode(params)?;
                chats.typing_received(origin, p).await?;
                encode(&gateway::Empty {})
            }
            _ => Err(ChatError::Remote(ErrorBody::new(
                ErrorCode::UnknownMethod,
                format!("unknown method {name:?}"),
            ))),
        }
    }
}

impl Chats {
    /// One public group of this node by its handle, as the directory shows it.
    pub(crate) async fn directory_entry(
        &self,
        handle: &winichat_protocol::ids::Handle,
    ) -> Result<api::DirectoryEntry, ChatError> {
        if handle.node() != self.node() {
            return Err(ChatError::NotFound("no group has that handle"));
        }
        let row = self
            .db()
            .chats()
            .chat_by_handle(handle.as_ref())
            .await?
            .filter(|c| !c.deleted && c.visibility == "public")
            .ok_or(ChatError::NotFound("no group has that handle"))?;
        let photo = super::decode_state(&row.state, &row.group)?.photo;
        Ok(api::DirectoryEntry {
            group: row.group,
            handle: handle.clone(),
            name: row.name,
            description: row.description,
            members: row.members,
            joined: false,
            photo,
        })
    }

    /// `backfill` for `origin`: consecutive signed events of a group homed here.
    async fn backfill(
        &self,
        origin: &NodeName,
        p: &BackfillParams,
    ) -> Result<BackfillResult, ChatError> {
        if p.from == 0 || p.limit == 0 {
            return Err(ChatError::BadRequest("from and limit start at 1".into()));
        }
        let limit = p.limit.min(methods::MAX_BACKFILL_EVENTS);
        let head = self.check_peer_reads(origin, &p.group).await?;
        let stored = self.db().events().range(&p.group, p.from, limit).await?;
        let budget =
            winichat_protocol::codec::Limits::FEDERATION_FRAME.max_frame - BACKFILL_ENVELOPE;
        let mut used = 0;
        let mut events = Vec::with_capacity(stored.len());
        for (expected, event) in (p.from..).zip(stored) {
            if event.seq != expected || used + event.raw.len() + 8 > budget {
                break;
            }
            used += event.raw.len() + 8;
            events.push(event.raw);
        }
        Ok(BackfillResult { events, head })
    }

    /// `state` for `origin`: the head of a group homed here, with its signed event.
    async fn state_of(&self, origin: &NodeName, group: &GroupId) -> Result<StateResult, ChatError> {
        self.check_peer_reads(origin, group).await?;
        let (seq, id) = self
            .db()
            .events()
            .last(group)
            .await?
            .ok_or(ChatError::NotFound("no such chat"))?;
        let event = self
            .db()
            .events()
            .by_id(&id)
            .await?
            .ok_or(ChatError::NotFound("no such chat"))?;
        Ok(StateResult {
            head: seq,
            id,
            event: event.raw,
        })
    }

    /// May `origin` read the log of `group`? Yes for a public group, when one of its users is
    /// a member or invitee, or while events of the group still wait for it in the outbox.
    /// Returns the head.
    async fn check_peer_reads(&self, origin: &NodeName, group: &GroupId) -> Result<u64, ChatError> {
        if self.is_remote(group) {
            return Err(ChatError::NotFound("no such chat"));
        }
        let allowed = self
            .inspect(group, |loaded| {
                let state = &loaded.state;
                let has_user = state
                    .members
                    .keys()
                    .chain(state.invites.keys())
                    .any(|u| u.node() == origin);
                (
                    state.visibility == Visibility::Public || has_user,
                    loaded.head.seq,
                )
            })
            .await?;
        match allowed {
            Some((true, head)) => Ok(head),
            // A node whose last user just left or was removed still gets the events queued
            // for it, and may need to backfill to apply them.
            Some((false, head)) if self.db().outbox().has_pending(origin, group).await? => Ok(head),
            _ => Err(ChatError::NotFound("no such chat")),
        }
    }

    /// A peer reached us: what waits for it goes now.
    pub(crate) fn peer_contacted(&self, origin: &NodeName) {
        if let Some(federation) = self.inner.federation.get() {
            (federation.contacted)(origin);
        }
    }
}

/// A node speaks only for its own users.
pub(crate) fn speaks_for(origin: &NodeName, user: &UserId) -> Result<(), ChatError> {
    if user.node() == origin {
        Ok(())
    } else {
        Err(ChatError::Remote(ErrorBody::new(
            ErrorCode::Forbidden,
            format!("node {origin} cannot act for {user}"),
        )))
    }
}

fn required(group: Option<GroupId>) -> Result<GroupId, ChatError> {
    group.ok_or_else(|| ChatError::BadRequest("the group is required".into()))
}

/// The `group` field of a gateway write's params.
pub(crate) fn group_of(params: &Value) -> Result<GroupId, ChatError> {
    #[derive(serde::Deserialize)]
    struct Group {
        group: GroupId,
    }
    gateway::decode_params::<Group>(params)
        .map(|g| g.group)
        .map_err(|e| ChatError::BadRequest(e.to_string()))
}

fn decode<T: serde::de::DeserializeOwned>(params: &Value) -> Result<T, ChatError> {
    gateway::decode_params(params).map_err(|e| ChatError::BadRequest(e.to_string()))
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Value, ChatError> {
    gateway::to_value(value).map_err(ChatError::internal)
}
