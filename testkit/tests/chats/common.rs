//! What every chat test uses: a node with generous gateway limits, typed calls, and waiting
//! for the pushes of a chat.

use std::time::Duration;

use ciborium::Value;
use winichat_protocol::error_code::ErrorBody;
use winichat_protocol::event::EventKind;
use winichat_protocol::gateway::chat::{
    self as api, ChatDetail, ChatEventPush, ChatSummary, HistoryParams, HistoryResult, method,
};
use winichat_protocol::group::{Permissions, RoleId, Visibility};
use winichat_protocol::ids::{GroupId, UserId};
use winichat_testkit::client::{Client, txn};
use winichat_testkit::node::{Backend, TestNode};

/// How long a push may take.
pub const WAIT: Duration = Duration::from_secs(5);
/// How long "nothing arrives" is watched.
pub const QUIET: Duration = Duration::from_secs(1);

/// A node whose gateway lets tests call as fast as they like.
pub async fn start(backend: Backend) -> TestNode {
    TestNode::start_with(backend, |c| {
        c.gateway.rate_burst = 1_000_000;
        c.gateway.rate_per_sec = 1_000_000;
        // Test clients read only while they wait for a reply, so a burst queues many pushes.
        c.gateway.send_queue = 100_000;
        c.gateway.send_queue_bytes = 1 << 30;
        c.gateway.resume_window = 100;
    })
    .await
}

/// Registers and connects each of `names`.
pub async fn users<const N: usize>(node: &TestNode, names: [&str; N]) -> [Client; N] {
    let mut out = Vec::with_capacity(N);
    for name in names {
        out.push(Client::register(node, name).await);
    }
    match out.try_into() {
        Ok(array) => array,
        Err(_) => unreachable!("N clients"),
    }
}

/// A group id that no group has.
pub fn no_such_group(node: &TestNode) -> GroupId {
    GroupId::new("doesnotexist0000", node.name()).expect("group id")
}

/// The typed chat calls tests make all the time.
pub trait Chat {
    async fn dm_open(&mut self, peer: &UserId) -> ChatSummary;
    async fn create_group(
        &mut self,
        name: &str,
        visibility: Visibility,
        handle: Option<&str>,
    ) -> ChatSummary;
    async fn post(&mut self, group: &GroupId, text: &str) -> api::WriteResult;
    async fn try_post(
        &mut self,
        group: &GroupId,
        text: &str,
    ) -> Result<api::WriteResult, ErrorBody>;
    async fn history(&mut self, p: HistoryParams) -> HistoryResult;
    async fn latest(&mut self, group: &GroupId) -> HistoryResult;
    async fn detail(&mut self, group: &GroupId) -> ChatDetail;
    async fn summary(&mut self, group: &GroupId) -> ChatSummary;
    async fn invite_and_join(&mut self, group: &GroupId, invitee: &mut Client);
    async fn create_role(
        &mut self,
        group: &GroupId,
        name: &str,
        permissions: Permissions,
        rank: Option<u32>,
    ) -> RoleId;
    async fn set_roles(&mut self, group: &GroupId, user: &UserId, roles: &[RoleId]);
    /// The next `chat.event` (of any chat), within [`WAIT`].
    async fn event(&mut self) -> ChatEventPush;
    /// The next `chat.event`, asserting its kind.
    async fn event_of(&mut self, kind: EventKind) -> ChatEventPush;
    /// Skips `chat.event`s until one of `kind` in `group` arrives.
    async fn event_until(&mut self, group: &GroupId, kind: EventKind) -> ChatEventPush;
    /// Skips `chat.event`s until the one of `group` at `seq` arrives.
    async fn event_at(&mut self, group: &GroupId, seq: u64) -> ChatEventPush;
}

impl Chat for Client {
    async fn dm_open(&mut self, peer: &UserId) -> ChatSummary {
        self.ok(method::DM_OPEN, &api::DmOpenParams { user: peer.clone() })
            .await
    }

    async fn create_group(
        &mut self,
        name: &str,
        visibility: Visibility,
        handle: Option<&str>,
    ) -> ChatSummary {
        self.ok(
            method::GROUPS_CREATE,
            &api::GroupCreateParams {
                txn: txn(),
                name: name.to_owned(),
                description: format!("about {name}"),
                visibility,
                handle: handle.map(str::to_owned),
            },
        )
        .await
    }

    async fn post(&mut self, group: &GroupId, text: &str) -> api::WriteResult {
        match self.try_post(group, text).await {
            Ok(r) => r,
            Err(e) => panic!("{} could not post {text:?}: {e:?}", self.user()),
        }
    }

    async fn try_post(
        &mut self,
        group: &GroupId,
        text: &str,
    ) -> Result<api::WriteResult, ErrorBody> {
        self.call_as(method::MSGS_POST, &post_params(group, text))
            .await
    }

    async fn history(&mut self, p: HistoryParams) -> HistoryResult {
        self.ok(method::MSGS_HISTORY, &p).await
    }

    async fn latest(&mut self, group: &GroupId) -> HistoryResult {
        self.history(history(group)).await
    }

    async fn detail(&mut self, group: &GroupId) -> ChatDetail {
        self.ok(
            method::CHATS_GET,
            &api::GroupParams {
                group: group.clone(),
            },
        )
        .await
    }

    async fn summary(&mut self, group: &GroupId) -> ChatSummary {
        self.detail(group).await.chat
    }

    async fn invite_and_join(&mut self, group: &GroupId, invitee: &mut Client) {
        let _: api::WriteResult = self
            .ok(
                method::INVITES_SEND,
                &api::TargetParams {
                    txn: txn(),
                    group: group.clone(),
                    user: invitee.user().clone(),
                },
            )
            .await;
        let _: ChatSummary = invitee
            .ok(
                method::INVITES_ACCEPT,
                &api::TxnGroupParams {
                    txn: txn(),
                    group: group.clone(),
                },
            )
            .await;
    }

    async fn create_role(
        &mut self,
        group: &GroupId,
        name: &str,
        permissions: Permissions,
        rank: Option<u32>,
    ) -> RoleId {
        let written: api::WriteResult = self
            .ok(
                method::ROLES_CREATE,
                &api::RoleCreateParams {
                    txn: txn(),
                    group: group.clone(),
                    name: name.to_owned(),
                    colour: String::new(),
                    permissions,
                    rank,
                },
            )
            .await;
        written.role.expect("roles.create returns the role id")
    }

    async fn set_roles(&mut self, group: &GroupId, user: &UserId, roles: &[RoleId]) {
        let _: api::WriteResult = self
            .ok(
                method::MEMBERS_ROLES,
                &api::SetRolesParams {
                    txn: txn(),
                    group: group.clone(),
                    user: user.clone(),
                    roles: roles.to_vec(),
                },
            )
            .await;
    }

    async fn event(&mut self) -> ChatEventPush {
        self.next_push_as(api::event::CHAT_EVENT, WAIT).await
    }

    async fn event_of(&mut self, kind: EventKind) -> ChatEventPush {
        let push = self.event().await;
        assert_eq!(
            push.item.kind,
            kind,
            "{}: expected a {kind:?} chat.event, got {:?}",
            self.user(),
            push.item
        );
        push
    }

    async fn event_until(&mut self, group: &GroupId, kind: EventKind) -> ChatEventPush {
        loop {
            let push = self.event().await;
            if push.group == *group && push.item.kind == kind {
                return push;
            }
        }
    }

    async fn event_at(&mut self, group: &GroupId, seq: u64) -> ChatEventPush {
        loop {
            let push = self.event().await;
            if push.group == *group && push.item.seq == seq {
                return push;
            }
        }
    }
}

/// `msgs.post` params with a fresh txn.
pub fn post_params(group: &GroupId, text: &str) -> api::PostParams {
    api::PostParams {
        txn: txn(),
        group: group.clone(),
        text: text.to_owned(),
        reply_to: None,
        mentions: Vec::new(),
        mention_everyone: false,
        attachments: Vec::new(),
    }
}

/// `msgs.history` params for the newest items.
pub fn history(group: &GroupId) -> HistoryParams {
    HistoryParams {
        group: group.clone(),
        before: None,
        after: None,
        around: None,
        limit: None,
    }
}

/// `{txn, group, user}`.
pub fn target(group: &GroupId, user: &UserId) -> api::TargetParams {
    api::TargetParams {
        txn: txn(),
        group: group.clone(),
        user: user.clone(),
    }
}

/// `{txn, group, user, reason}`.
pub fn kick(group: &GroupId, user: &UserId, reason: &str) -> api::KickParams {
    api::KickParams {
        txn: txn(),
        group: group.clone(),
        user: user.clone(),
        reason: reason.to_owned(),
    }
}

/// `{txn, group}`.
pub fn txn_group(group: &GroupId) -> api::TxnGroupParams {
    api::TxnGroupParams {
        txn: txn(),
        group: group.clone(),
    }
}

/// `{group}`.
pub fn group_params(group: &GroupId) -> api::GroupParams {
    api::GroupParams {
        group: group.clone(),
    }
}

/// The text of a `msg.post` item.
pub fn text_of(item: &api::TimelineItem) -> String {
    field(&item.body, "text")
        .and_then(|v| v.as_text().map(str::to_owned))
        .unwrap_or_default()
}

/// A field of a CBOR map.
pub fn field<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

/// Deviations from the contract that a test notes and keeps going past, so that one known
/// node bug does not hide what the rest of the test would find; [`Soft::finish`] fails the
/// test with all of them.
#[derive(Debug, Default)]
pub struct Soft(Vec<String>);

impl Soft {
    /// Notes unless `result` failed with `code`.
    pub fn code<T: std::fmt::Debug>(
        &mut self,
        result: Result<T, ErrorBody>,
        code: winichat_protocol::error_code::ErrorCode,
        what: &str,
    ) {
        match result {
            Err(e) if e.code == code => {}
            other => self
                .0
                .push(format!("{what}: expected {code}, got {other:?}")),
        }
    }

    /// Fails the test if anything was noted.
    pub fn finish(self) {
        assert!(
            self.0.is_empty(),
            "contract deviations:\n- {}",
            self.0.join("\n- ")
        );
    }
}
