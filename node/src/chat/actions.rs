//! Message and chat actions (gateway.md §8.10): `msgs.forward`, where this node — not the
//! client — writes where a forwarded message came from, and `chats.settings`, a user's own
//! mute and pin of a chat, kept here and pushed to their other sessions.

use winichat_protocol::Timestamp;
use winichat_protocol::error_code::{ErrorBody, ErrorCode};
use winichat_protocol::gateway::{self, chat as api};
use winichat_protocol::group::bodies::{Forwarded, MsgPost};
use winichat_protocol::group::{Action, Body, Visibility, authorize};
use winichat_protocol::ids::{GroupId, NodeName, UserId};
use winichat_protocol::media::{AttachmentInput, MediaKind};

use super::write::{Draft, check_params, check_txn, checked_caption, decode_post};
use super::{ChatError, Chats, Loaded, now};
use crate::storage::chat_settings::ChatSettingsRow;

impl Chats {
    /// `msgs.forward`: posts message `from` again in `group`, as the caller, with `forwarded`
    /// naming its author. The caller must be able to read the original (its chat's `View`) and
    /// post in the target (`Post`, with media when it has attachments).
    ///
    /// `submitted_by` is the node that sent the request in a `submit` (spec/federation.md
    /// §5.6), `None` for this node's gateway: only the home of `from.group` may hand over the
    /// copy it read (`original`), because only it holds that chat's log.
    pub async fn forward(
        &self,
        actor: &UserId,
        p: api::ForwardParams,
        submitted_by: Option<&NodeName>,
    ) -> Result<api::WriteResult, ChatError> {
        check_txn(&p.txn)?;
        if p.original.is_some() && submitted_by.is_none() {
            return Err(ChatError::BadRequest(
                "original is given only by the home of the forwarded message's chat, over \
                 federation"
                    .into(),
            ));
        }
        // A retry gets its first result even when the original has gone since (gateway.md
        // §8.1); the write below checks the txn again under the group's lock.
        if let Some(done) = self.remembered(actor, &p.txn).await? {
            return Ok(done);
        }
        if self.is_remote(&p.group) {
            return self.forward_to_remote(actor, p).await;
        }
        let original = match (p.original, submitted_by) {
            (Some(original), Some(origin)) => {
                self.vouched_original(actor, origin, &p.group, &p.from, original)
                    .await?
            }
            _ => self.original_to_forward(actor, &p.from).await?,
        };
        let post = MsgPost {
            text: original.text,
            reply_to: None,
            mentions: Vec::new(),
            mention_everyone: false,
            attachments: original.attachments,
            forwarded: Some(original.forwarded),
        };
        self.write(actor, &p.group, &p.txn, |state| {
            authorize(
                state,
                actor,
                &Action::Post {
                    media: !post.attachments.is_empty(),
                    mention_everyone: false,
                },
            )?;
            Ok(Draft::of(Body::MsgPost(post.clone())))
        })
        .await
    }

    /// Message `from` as a forward copies it, once the caller is found to be allowed to read
    /// it here: its current text, its attachments (media this node stores) and `forwarded`.
    async fn original_to_forward(
        &self,
        actor: &UserId,
        from: &api::MessageRef,
    ) -> Result<api::ForwardOriginal, ChatError> {
        let source = self
            .with_access(actor, &from.group, Action::View, Loaded::clone)
            .await?;
        // The original's row as it is now (latest text), once what was sequenced is written.
        self.durable(Some(&source)).await;
        let row = self
            .db()
            .chats()
            .item(&from.group, from.seq)
            .await?
            .filter(|row| row.is_message)
            .ok_or(ChatError::NotFound("no such message"))?;
        if row.deleted {
            return Err(ChatError::NotFound("that message was deleted"));
        }
        let original = decode_post(&row.body)?;
        // Media is re-used, not copied: only media this node stores can be attached by its
        // groups (media.md §5.2), whichever chat it was first sent in.
        if let Some(foreign) = original.attachments.iter().find(|a| {
            a.media.node != *self.node()
                || a.poster.as_ref().is_some_and(|p| p.node != *self.node())
        }) {
            return Err(ChatError::BadRequest(format!(
                "media of another node ({}) cannot be forwarded yet",
                foreign.media.node
            )));
        }
        // A forward of a forward names the first author.
        let forwarded = original.forwarded.clone().unwrap_or_else(|| Forwarded {
            user: row.sender.clone(),
            group: (source.state.visibility == Visibility::Public).then(|| from.group.clone()),
            ts: row.ts,
        });
        Ok(api::ForwardOriginal {
            text: original.text,
            attachments: original.attachments,
            forwarded,
        })
    }

    /// A forward into a chat homed elsewhere goes to that chat's home, which must be able to
    /// trust where the message came from (federation.md §5.6): it reads the original itself
    /// when it homes the original's chat; when this node does, it reads it for the caller and
    /// vouches for the copy. A chat of a third node is neither's to vouch for.
    async fn forward_to_remote(
        &self,
        actor: &UserId,
        p: api::ForwardParams,
    ) -> Result<api::WriteResult, ChatError> {
        let group = p.group.clone();
        let home = group.home().clone();
        let params = if p.from.group.home() == &home {
            p
        } else if !self.is_remote(&p.from.group) {
            let original = self.original_to_forward(actor, &p.from).await?;
            if let Ok(media) = self.media() {
                // The home fetches the copy's media from this node, which has just checked
                // that the caller may read the message they are attached to.
                media.grant_forwarded(&home, &original.attachments);
            }
            api::ForwardParams {
                original: Some(original),
                ..p
            }
        } else {
            return Err(ChatError::BadRequest(format!(
                "a message of a chat of {} cannot be forwarded into a chat of {home}: neither \
                 {home} nor this node holds that chat's log, so neither can vouch for who wrote \
                 it",
                p.from.group.home()
            )));
        };
        let params = gateway::to_value(&params).map_err(ChatError::internal)?;
        let written = self
            .submit_remote(actor, api::method::MSGS_FORWARD, &group, &params)
            .await?;
        gateway::decode_params(&written).map_err(|e| {
            ChatError::Unavailable(format!(
                "node {home} answered the forward in a way this node cannot use: {e}"
            ))
        })
    }

    /// The copy of message `from` that `origin`, the home of its chat, read for `actor` and
    /// sends with a forward into `group` (homed here): taken on that node's word, which is
    /// the word of the log it keeps. Its attachments must be media of that node, fetched
    /// under the grant it made (media.fetch), as for a `msgs.post` it submits.
    async fn vouched_original(
        &self,
        actor: &UserId,
        origin: &NodeName,
        group: &GroupId,
        from: &api::MessageRef,
        original: api::ForwardOriginal,
    ) -> Result<api::ForwardOriginal, ChatError> {
        if from.group.home() != origin {
            return Err(ChatError::Remote(ErrorBody::new(
                ErrorCode::Forbidden,
                format!(
                    "node {origin} cannot vouch for a message of {}: only the chat's home can",
                    from.group
                ),
            )));
        }
        // The same checks as for a body this node signs: a text that fits, a valid origin.
        check_params(&Body::MsgPost(MsgPost {
            text: checked_caption(&original.text, !original.attachments.is_empty()),
            reply_to: None,
            mentions: Vec::new(),
            mention_everyone: false,
            attachments: Vec::new(),
            forwarded: Some(original.forwarded.clone()),
        }))?;
        if original.attachments.is_empty() {
            return Ok(original);
        }
        // Fetched only once the caller may post media here at all (the write still decides),
        // so no one makes this node download for a refused forward.
        let media_post = Action::Post {
            media: true,
            mention_everyone: false,
        };
        self.with_access(actor, group, media_post, |_| ()).await?;
        let inputs: Vec<AttachmentInput> = original
            .attachments
            .iter()
            .map(|a| AttachmentInput {
                media: a.media.clone(),
                name: a.name.clone(),
                voice: a.kind == MediaKind::Voice,
                waveform: a.waveform.clone(),
                duration_ms: a.duration_ms,
                poster: a.poster.clone(),
            })
            .collect();
        // Described from this node's copy, as any attachment a user of that node sends.
        let attachments = self.media()?.attachments(actor, &inputs).await?;
        Ok(api::ForwardOriginal {
            attachments,
            ..original
        })
    }

    /// `chats.settings`: sets the caller's mute and pin of a chat they are a member of, and
    /// pushes the result to every session of theirs.
    pub async fn set_chat_settings(
        &self,
        actor: &UserId,
        p: api::ChatSettingsParams,
    ) -> Result<api::ChatSettings, ChatError> {
        let now = now();
        if p.muted_until.is_none() && p.pinned.is_none() {
            return Err(ChatError::BadRequest(
                "chats.settings changes nothing: give muted_until or pinned".into(),
            ));
        }
        if let Some(Some(until)) = p.muted_until
            && until <= now
        {
            return Err(ChatError::BadRequest(
                "muted_until must be in the future (null unmutes)".into(),
            ));
        }
        // Only for a chat the caller is in (a private one they are not in is "not found").
        self.with_access(actor, &p.group, Action::View, |_| ())
            .await?;
        let store = self.db().chat_settings();
        let mut row = store.settings(actor, &p.group).await?;
        if let Some(muted_until) = p.muted_until {
            row.muted_until = muted_until;
        }
        match p.pinned {
            Some(true) if row.pinned_at.is_none() => {
                let pinned = store
                    .settings_of(actor)
                    .await?
                    .iter()
                    .filter(|(group, s)| s.pinned_at.is_some() && *group != p.group)
                    .count();
                if pinned >= api::MAX_PINNED_CHATS {
                    return Err(ChatError::Conflict(format!(
                        "at most {} chats can be pinned",
                        api::MAX_PINNED_CHATS
                    )));
                }
                row.pinned_at = Some(now);
            }
            Some(false) => row.pinned_at = None,
            _ => {}
        }
        store.put_settings(actor, &p.group, row).await?;
        let settings = settings_of(&p.group, row, now);
        let data = gateway::to_value(&settings).map_err(ChatError::internal)?;
        self.push(
            std::slice::from_ref(actor),
            api::event::CHAT_SETTINGS,
            &data,
        );
        Ok(settings)
    }
}

/// What a client is told of stored settings at `now`: a mute that has run out is no mute.
pub(crate) fn settings_of(
    group: &GroupId,
    row: ChatSettingsRow,
    now: Timestamp,
) -> api::ChatSettings {
    api::ChatSettings {
        group: group.clone(),
        muted_until: row.muted_until.filter(|until| *until > now),
        pinned_at: row.pinned_at,
    }
}
