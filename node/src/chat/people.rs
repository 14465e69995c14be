//! People of other nodes (spec/federation.md §5.2, §5.13, §5.14): their profiles, fetched from
//! their own node and cached for a bounded time, and their presence, as their node tells the
//! nodes that share a chat with them. Neither is ever asked of, or told to, a node that shares
//! no chat with the user.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex as StdMutex;
use std::time::{Duration, Instant};

use ciborium::Value;
use winichat_protocol::Timestamp;
use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::federation::methods::{
    MAX_SIGNALS, PresenceParams, ProfileGetParams, method,
};
use winichat_protocol::gateway::{self, PresencePush, ProfileInfo, ProfilePush, Status};
use winichat_protocol::ids::{NodeName, UserId};

use super::{ChatError, Chats, Notice, PRESENCE_MAX_CONTACTS, PRESENCE_MAX_GROUP};

/// How long a fetched profile is used before it is fetched again (a change their node tells
/// us replaces it at once).
const PROFILE_TTL: Duration = Duration::from_secs(60 * 60);

/// Remote profiles and presences kept at most; past it, the oldest go first.
const MAX_CACHED: usize = 10_000;

/// How long a profile that could not be fetched is not asked for again (a node that does not
/// answer costs one wait, not one per member shown).
const FAILED_FOR: Duration = Duration::from_secs(30);

/// The longest a page of members waits for the profiles it shows.
const PREFETCH_DEADLINE: Duration = Duration::from_secs(2);

/// A presence as the user's node told it, and when it was told.
type Told = (Status, Option<Timestamp>, Instant);

/// What this node knows of users of other nodes.
#[derive(Debug, Default)]
pub(crate) struct RemotePeople {
    profiles: StdMutex<HashMap<UserId, (ProfileInfo, Instant)>>,
    presence: StdMutex<HashMap<UserId, Told>>,
    /// Profiles whose fetch failed, and when.
    failed: StdMutex<HashMap<UserId, Instant>>,
}

impl RemotePeople {
    fn profile(&self, user: &UserId) -> Option<(ProfileInfo, Instant)> {
        lock(&self.profiles).get(user).cloned()
    }

    fn failed_lately(&self, user: &UserId) -> bool {
        lock(&self.failed)
            .get(user)
            .is_some_and(|at| at.elapsed() < FAILED_FOR)
    }

    fn note_failure(&self, user: &UserId) {
        let mut failed = lock(&self.failed);
        evict_oldest(&mut failed, |at| *at);
        failed.insert(user.clone(), Instant::now());
    }

    fn keep_profile(&self, profile: ProfileInfo) {
        let mut profiles = lock(&self.profiles);
        evict_oldest(&mut profiles, |(_, at)| *at);
        profiles.insert(profile.id.clone(), (profile, Instant::now()));
    }

    fn keep_presence(&self, push: &PresencePush) {
        let mut presence = lock(&self.presence);
        evict_oldest(&mut presence, |(_, _, at)| *at);
        presence.insert(
            push.user.clone(),
            (push.status, push.last_seen, Instant::now()),
        );
    }

    /// The presence the user's node last told; offline (since unknown) when it told none.
    pub(crate) fn presence_of(&self, user: &UserId) -> (Status, Option<Timestamp>) {
        lock(&self.presence)
            .get(user)
            .map_or((Status::Offline, None), |(status, last_seen, _)| {
                (*status, *last_seen)
            })
    }
}

fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Makes room for one more entry: drops the oldest tenth when the map is full.
fn evict_oldest<V>(map: &mut HashMap<UserId, V>, at: impl Fn(&V) -> Instant) {
    if map.len() < MAX_CACHED {
        return;
    }
    let mut ages: Vec<(Instant, UserId)> = map.iter().map(|(u, v)| (at(v), u.clone())).collect();
    ages.sort();
    for (_, user) in ages.into_iter().take(MAX_CACHED / 10) {
        map.remove(&user);
    }
}

impl Chats {
    /// The profile of a user of another node: cached while fresh, else asked of their node
    /// (`profile.get`); a stale copy is kept when their node cannot be reached.
    pub async fn remote_profile(&self, user: &UserId) -> Result<ProfileInfo, ChatError> {
        let cached = self.inner.people.profile(user);
        if let Some((profile, at)) = &cached
            && (at.elapsed() < PROFILE_TTL || self.inner.people.failed_lately(user))
        {
            return Ok(profile.clone());
        }
        if self.inner.people.failed_lately(user) {
            return Err(ChatError::Unavailable(format!(
                "node {} did not give this profile a moment ago",
                user.node()
            )));
        }
        let asked: Result<ProfileInfo, ChatError> = self
            .ask(
                user.node(),
                method::PROFILE_GET,
                &ProfileGetParams { user: user.clone() },
            )
            .await;
        match asked {
            Ok(profile) if &profile.id == user => {
                check_profile(&profile.display_name, &profile.bio).map_err(|e| {
                    tracing::warn!(%user, error = %e, "federation: a profile breaking the limits");
                    self.inner.people.note_failure(user);
                    ChatError::Unavailable(format!(
                        "node {} gave a profile this node cannot show",
                        user.node()
                    ))
                })?;
                self.expect_avatar(&profile);
                self.inner.people.keep_profile(profile.clone());
                Ok(profile)
            }
            Ok(_) => Err(ChatError::Unavailable(format!(
                "node {} answered with another user's profile",
                user.node()
            ))),
            Err(ChatError::Remote(body)) if body.code == ErrorCode::NotFound => {
                Err(ChatError::NotFound("no such user"))
            }
            Err(e) => {
                self.inner.people.note_failure(user);
                cached.map(|(profile, _)| profile).ok_or(e)
            }
        }
    }

    /// The display name and avatar to show for `user` now: their account here, or their
    /// cached profile (fetched ahead by [`Chats::prefetch_profiles`]); empty when none is.
    pub(crate) async fn shown_as(
        &self,
        user: &UserId,
    ) -> Result<(String, Option<winichat_protocol::ids::MediaId>), ChatError> {
        if user.node() == self.node() {
            return Ok(match self.db().accounts().user(user).await? {
                Some(record) => (record.display_name, record.avatar),
                None => (String::new(), None),
            });
        }
        Ok(self
            .inner
            .people
            .profile(user)
            .map_or((String::new(), None), |(profile, _)| {
                (profile.display_name, profile.avatar)
            }))
    }

    /// The avatar to show for `user` without waiting on another node: their account here, or
    /// their cached profile (fetched in the background when none is, for the next time).
    pub(crate) async fn avatar_now(
        &self,
        user: &UserId,
    ) -> Result<Option<winichat_protocol::ids::MediaId>, ChatError> {
        if user.node() == self.node() {
            return Ok(self
                .db()
                .accounts()
                .user(user)
                .await?
                .and_then(|record| record.avatar));
        }
        match self.inner.people.profile(user) {
            Some((profile, at)) => {
                if at.elapsed() >= PROFILE_TTL {
                    self.refresh_in_background(user);
                }
                Ok(profile.avatar)
            }
            None => {
                self.refresh_in_background(user);
                Ok(None)
            }
        }
    }

    fn refresh_in_background(&self, user: &UserId) {
        if self.inner.federation.get().is_none() {
            return;
        }
        let (chats, user) = (self.clone(), user.clone());
        tokio::spawn(async move {
            if let Err(e) = chats.remote_profile(&user).await {
                tracing::debug!(%user, error = %e, "federation: profile not fetched");
            }
        });
    }

    /// Fetches, all at once, the profiles of `users` of other nodes that are not freshly
    /// cached, so that showing them one by one then waits on no one.
    pub(crate) async fn prefetch_profiles(&self, users: &[&UserId]) {
        let missing: Vec<&UserId> = users
            .iter()
            .copied()
            .filter(|u| {
                u.node() != self.node()
                    && self
                        .inner
                        .people
                        .profile(u)
                        .is_none_or(|(_, at)| at.elapsed() >= PROFILE_TTL)
            })
            .collect();
        let all =
            futures_util::future::join_all(missing.into_iter().map(|u| self.remote_profile(u)));
        if tokio::time::timeout(PREFETCH_DEADLINE, all).await.is_err() {
            tracing::debug!("federation: profiles of a member page not all fetched in time");
        }
    }

    /// The presence of a user of another node, as their node last told it.
    pub(crate) fn remote_presence(&self, user: &UserId) -> (Status, Option<Timestamp>) {
        self.inner.people.presence_of(user)
    }

    /// Tells the other nodes that share a chat with a local user of a change of their profile
    /// (at once) or presence (batched per peer): best effort, in the background.
    pub(crate) fn share_notice(&self, notice: &Notice, contacts: &[UserId]) {
        if self.inner.federation.get().is_none() || notice.user.node() != self.node() {
            return;
        }
        let nodes: HashSet<NodeName> = contacts
            .iter()
            .map(|u| u.node().clone())
            .filter(|n| n != self.node())
            .collect();
        match notice.event {
            gateway::event::PROFILE => {
                for node in nodes {
                    let chats = self.clone();
                    let data = notice.data.clone();
                    tokio::spawn(async move {
                        let sent: Result<Value, ChatError> =
                            chats.ask_value(&node, method::PROFILE_CHANGED, &data).await;
                        if let Err(e) = sent {
                            tracing::debug!(%node, error = %e, "federation: profile change not sent");
                        }
                    });
                }
            }
            gateway::event::PRESENCE => {
                let Ok(presence) = decode::<PresencePush>(&notice.data) else {
                    return;
                };
                for node in nodes {
                    self.send_presence(node, presence.clone());
                }
            }
            _ => {}
        }
    }

    /// A `profile.changed` from `origin` about one of its users: kept, and pushed to the local
    /// users who share a chat with them. About a user no one here shares a chat with, it is
    /// ignored.
    pub(crate) async fn profile_changed(
        &self,
        origin: &NodeName,
        changed: ProfilePush,
    ) -> Result<(), ChatError> {
        super::peers::speaks_for(origin, &changed.user)?;
        check_profile(&changed.display_name, &changed.bio)?;
        let locals = self.local_contacts(&changed.user).await?;
        if locals.is_empty() {
            return Ok(());
        }
        let data = gateway::to_value(&changed).map_err(ChatError::internal)?;
        let profile = ProfileInfo {
            id: changed.user,
            display_name: changed.display_name,
            bio: changed.bio,
            avatar: changed.avatar,
        };
        self.expect_avatar(&profile);
        self.inner.people.keep_profile(profile);
        self.push(&locals, gateway::event::PROFILE, &data);
        Ok(())
    }

    /// A `presence` batch from `origin` about its users: each kept and pushed to the local
    /// users who share a chat with that user; one about a user no one here shares a chat with
    /// is ignored.
    pub(crate) async fn presence_received(
        &self,
        origin: &NodeName,
        p: PresenceParams,
    ) -> Result<(), ChatError> {
        if p.presence.is_empty() || p.presence.len() > MAX_SIGNALS {
            return Err(ChatError::BadRequest(format!(
                "1 to {MAX_SIGNALS} presences"
            )));
        }
        for presence in &p.presence {
            super::peers::speaks_for(origin, &presence.user)?;
        }
        for presence in p.presence {
            let locals = self.local_contacts(&presence.user).await?;
            if locals.is_empty() {
                continue;
            }
            self.inner.people.keep_presence(&presence);
            if let Ok(data) = gateway::to_value(&presence) {
                self.push(&locals, gateway::event::PRESENCE, &data);
            }
        }
        Ok(())
    }

    /// Lets this node's users have `profile`'s avatar fetched from its node.
    fn expect_avatar(&self, profile: &ProfileInfo) {
        if let (Ok(media), Some(avatar)) = (self.media(), &profile.avatar)
            && avatar.node == *profile.id.node()
        {
            media.expect_public(avatar);
        }
    }

    /// The users of this node who share a chat with `user`.
    async fn local_contacts(&self, user: &UserId) -> Result<Vec<UserId>, ChatError> {
        Ok(self
            .db()
            .chats()
            .contacts(user, PRESENCE_MAX_GROUP, PRESENCE_MAX_CONTACTS)
            .await?
            .into_iter()
            .filter(|u| u.node() == self.node())
            .collect())
    }
}

/// The rules a profile of this node's own users meets (`profile.update`), for one of another
/// node: what is cached and shown of it is bounded and safe to show.
fn check_profile(display_name: &str, bio: &str) -> Result<(), ChatError> {
    crate::auth::check_display_name(display_name)
        .and_then(|()| crate::auth::check_bio(bio))
        .map_err(|e| ChatError::BadRequest(e.to_string()))
}

fn decode<T: serde::de::DeserializeOwned>(params: &Value) -> Result<T, ChatError> {
    gateway::decode_params(params).map_err(|e| ChatError::BadRequest(e.to_string()))
}
