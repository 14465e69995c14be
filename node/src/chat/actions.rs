//! Message and chat actions (gateway.md §8.10): `msgs.forward`, where this node — not the
//! client — writes where a forwarded message came from, and `chats.settings`, a user's own
//! mute and pin of a chat, kept here and pushed to their other sessions.

use winichat_protocol::Timestamp;
use winichat_protocol::gateway::{self, chat as api};
use winichat_protocol::group::bodies::{Forwarded, MsgPost};
use winichat_protocol::group::{Action, Body, Visibility, authorize};
use winichat_protocol::ids::{GroupId, UserId};

use super::write::{Draft, check_txn, decode_post};
use super::{ChatError, Chats, Loaded, now};
use crate::storage::chat_settings::ChatSettingsRow;

impl Chats {
    /// `msgs.forward`: posts message `from` again in `group`, as the caller, with `forwarded`
    /// naming its author. The caller must be able to read the original (its chat's `View`) and
    /// post in the target (`Post`, with media when it has attachments).
    pub async fn forward(
        &self,
        actor: &UserId,
        p: api::ForwardParams,
    ) -> Result<api::WriteResult, ChatError> {
        check_txn(&p.txn)?;
        // A retry gets its first result even when the original has gone since (gateway.md
        // §8.1); the write below checks the txn again under the group's lock.
        if let Some(done) = self.remembered(actor, &p.txn).await? {
            return Ok(done);
        }
        if self.is_remote(&p.group) {
            // The home of the target could not check that the caller may read the original:
            // the "from" would be this node's word alone (gateway.md §8.10).
            return Err(ChatError::BadRequest(
                "messages cannot be forwarded into a chat of another node yet".into(),
            ));
        }
        let source = self
            .with_access(actor, &p.from.group, Action::View, Loaded::clone)
            .await?;
        // The original's row as it is now (latest text), once what was sequenced is written.
        self.durable(Some(&source)).await;
        let row = self
            .db()
            .chats()
            .item(&p.from.group, p.from.seq)
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
            group: (source.state.visibility == Visibility::Public).then(|| p.from.group.clone()),
            ts: row.ts,
        });
        let post = MsgPost {
            text: original.text,
            reply_to: None,
            mentions: Vec::new(),
            mention_everyone: false,
            attachments: original.attachments,
            forwarded: Some(forwarded),
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
