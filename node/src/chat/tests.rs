//! The chat service on a real SQLite database, without sockets: what each write commits and
//! pushes. (The gateway suite in testkit covers the same over WebSockets on both backends.)

use std::sync::{Arc, Mutex};

use ciborium::Value;
use winichat_protocol::Timestamp;
use winichat_protocol::gateway::{self, chat as api};
use winichat_protocol::group::{Permissions, Visibility};
use winichat_protocol::ids::{GroupId, UserId};

use super::{ChatError, Chats, Pusher};
use crate::storage::{self, accounts::NewUser};

#[derive(Default)]
pub(super) struct Recorder(Mutex<Vec<(UserId, String, Value)>>);

impl Pusher for Recorder {
    fn push(&self, users: &[UserId], event: &str, data: &Value) {
        let mut log = self.0.lock().expect("lock");
        for user in users {
            log.push((user.clone(), event.to_owned(), data.clone()));
        }
    }
}

impl Recorder {
    pub(super) fn take(&self) -> Vec<(UserId, String, Value)> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

pub(super) struct Fixture {
    pub(super) chats: Chats,
    pub(super) pushes: Arc<Recorder>,
    pub(super) dir: tempfile::TempDir,
}

pub(super) const NODE: &str = "chat.example.org";

pub(super) fn user(name: &str) -> UserId {
    UserId::parse(&format!("@{name}:{NODE}")).expect("user id")
}

pub(super) async fn fixture(users: &[&str]) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = storage::open("sqlite", dir.path()).await.expect("open");
    for name in users {
        db.accounts()
            .create_user(&NewUser {
                id: user(name),
                password_hash: "x".into(),
                display_name: name.to_string(),
                created_at: Timestamp(1),
            })
            .await
            .expect("user");
    }
    let pushes = Arc::new(Recorder::default());
    let chats = Chats::new(
        db,
        NODE.parse().expect("node"),
        ed25519_dalek::SigningKey::from_bytes(&[9; 32]),
        pushes.clone(),
    );
    Fixture { chats, pushes, dir }
}

pub(super) fn post(group: &GroupId, txn: &str, text: &str) -> api::PostParams {
    api::PostParams {
        txn: txn.into(),
        group: group.clone(),
        text: text.into(),
        reply_to: None,
        mentions: Vec::new(),
        mention_everyone: false,
        attachments: Vec::new(),
    }
}

pub(super) async fn group(
    f: &Fixture,
    owner: &UserId,
    visibility: Visibility,
    handle: Option<&str>,
) -> GroupId {
    f.chats
        .create(
            owner,
            api::GroupCreateParams {
                txn: format!("create-{}", handle.unwrap_or("p")),
                name: "Rustaceans".into(),
                description: String::new(),
                visibility,
                handle: handle.map(Into::into),
            },
        )
        .await
        .expect("create")
        .group
}

#[tokio::test]
async fn a_direct_chat_is_one_per_pair_and_carries_messages_both_ways() {
    let f = fixture(&["ana", "bob"]).await;
    let (ana, bo) = (user("ana"), user("bob"));
    let dm = f.chats.open_direct(&ana, &bo).await.expect("open");
    assert_eq!(f.chats.open_direct(&bo, &ana).await.expect("again"), dm);
    assert!(matches!(
        f.chats.open_direct(&ana, &ana).await,
        Err(ChatError::BadRequest(_))
    ));
    f.pushes.take();

    let first = f
        .chats
        .post(&ana, post(&dm, "t1", "hi bo"))
        .await
        .expect("post");
    let again = f
        .chats
        .post(&ana, post(&dm, "t1", "hi bo"))
        .await
        .expect("retry");
    assert_eq!(first, again, "the same txn answers with the first result");
    let pushes = f.pushes.take();
    assert_eq!(
        pushes.len(),
        2,
        "one chat.event to each member, once: {pushes:?}"
    );
    assert!(
        pushes
            .iter()
            .all(|(_, name, _)| name == api::event::CHAT_EVENT)
    );

    let reply = f
        .chats
        .post(&bo, post(&dm, "t2", "hi ana"))
        .await
        .expect("reply");
    let history = f
        .chats
        .history(
            &ana,
            api::HistoryParams {
                group: dm.clone(),
                before: None,
                after: None,
                around: None,
                limit: None,
            },
        )
        .await
        .expect("history");
    let seqs: Vec<u64> = history.items.iter().map(|i| i.seq).collect();
    assert_eq!(seqs, vec![1, first.seq, reply.seq]);

    let list = f
        .chats
        .list(&ana, api::ChatsListParams::default())
        .await
        .expect("list");
    assert_eq!(list.chats.len(), 1);
    let summary = &list.chats[0];
    assert_eq!(summary.peer.as_ref(), Some(&bo));
    assert_eq!(summary.unread, 1, "bo's message is unread");
    assert_eq!(
        summary.peer_read_seq,
        Some(reply.seq),
        "bo read up to his own post"
    );
}

async fn edit(
    f: &Fixture,
    who: &UserId,
    group: &GroupId,
    seq: u64,
    txn: &str,
) -> Result<api::WriteResult, ChatError> {
    let params = api::EditParams {
        txn: txn.into(),
        group: group.clone(),
        seq,
        text: "hello".into(),
    };
    f.chats.edit(who, params).await
}

async fn delete(
    f: &Fixture,
    who: &UserId,
    group: &GroupId,
    seq: u64,
    txn: &str,
) -> Result<api::WriteResult, ChatError> {
    let params = api::MsgParams {
        txn: txn.into(),
        group: group.clone(),
        seq,
    };
    f.chats.delete_message(who, params).await
}

#[tokio::test]
async fn edits_deletes_reactions_and_pins_change_the_message() {
    let f = fixture(&["ana", "bob"]).await;
    let (ana, bo) = (user("ana"), user("bob"));
    let dm = f.chats.open_direct(&ana, &bo).await.expect("open");
    let msg = f
        .chats
        .post(&ana, post(&dm, "p", "helo"))
        .await
        .expect("post");
    assert!(matches!(
        edit(&f, &bo, &dm, msg.seq, "e0").await,
        Err(ChatError::Denied(_))
    ));
    edit(&f, &ana, &dm, msg.seq, "e1").await.expect("own edit");
    f.chats
        .react(
            &bo,
            api::ReactParams {
                txn: "r".into(),
                group: dm.clone(),
                seq: msg.seq,
                emoji: "👍".into(),
                on: true,
            },
        )
        .await
        .expect("react");
    f.chats
        .pin(
            &bo,
            api::PinParams {
                txn: "pin".into(),
                group: dm.clone(),
                seq: msg.seq,
                on: true,
            },
        )
        .await
        .expect("pin");
    let item = f
        .chats
        .history(
            &bo,
            api::HistoryParams {
                group: dm.clone(),
                before: None,
                after: None,
                around: Some(msg.seq),
                limit: Some(1),
            },
        )
        .await
        .expect("history")
        .items
        .into_iter()
        .find(|i| i.seq == msg.seq)
        .expect("the message");
    let post: api::PostParams = gateway::decode_params(&{
        let mut body = item.body.clone();
        if let Value::Map(entries) = &mut body {
            entries.push((Value::from("txn"), Value::from("x")));
            entries.push((Value::from("group"), Value::from(dm.to_string())));
        }
        body
    })
    .expect("a message body");
    assert_eq!(post.text, "hello");
    assert!(item.edited_at.is_some());
    assert!(item.pinned);
    assert_eq!(item.reactions.len(), 1);
    assert_eq!(item.reactions[0].users, vec![bo.clone()]);

    assert!(matches!(
        delete(&f, &bo, &dm, msg.seq, "d0").await,
        Err(ChatError::Denied(_))
    ));
    delete(&f, &ana, &dm, msg.seq, "d1")
        .await
        .expect("own delete");
    assert!(matches!(
        edit(&f, &ana, &dm, msg.seq, "e2").await,
        Err(ChatError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_kicked_member_gets_the_kick_and_nothing_after() {
    let f = fixture(&["ana", "bob", "cyd"]).await;
    let (ana, bo, cy) = (user("ana"), user("bob"), user("cyd"));
    let g = group(&f, &ana, Visibility::Public, Some("rust")).await;
    for who in [&bo, &cy] {
        f.chats
            .join_public(
                who,
                api::JoinParams {
                    txn: "join".into(),
                    group: Some(g.clone()),
                    handle: None,
                },
            )
            .await
            .expect("join");
    }
    f.pushes.take();
    f.chats
        .kick(
            &ana,
            api::KickParams {
                txn: "k".into(),
                group: g.clone(),
                user: bo.clone(),
                reason: "spam".into(),
            },
        )
        .await
        .expect("kick");
    let kick_pushes = f.pushes.take();
    assert!(
        kick_pushes.iter().any(|(u, _, _)| u == &bo),
        "bo learns of his kick"
    );
    f.chats
        .post(&cy, post(&g, "c", "bye bo"))
        .await
        .expect("post");
    let later = f.pushes.take();
    assert!(
        later.iter().all(|(u, _, _)| u != &bo),
        "nothing after the kick: {later:?}"
    );
    assert!(matches!(
        f.chats.post(&bo, post(&g, "b", "let me in")).await,
        Err(ChatError::Denied(_))
    ));
}

#[tokio::test]
async fn non_members_learn_nothing_about_private_groups() {
    let f = fixture(&["ana", "eve"]).await;
    let (ana, eve) = (user("ana"), user("eve"));
    let g = group(&f, &ana, Visibility::Private, None).await;
    let missing = GroupId::new("nosuchgroup", &NODE.parse().expect("node")).expect("id");
    for target in [&g, &missing] {
        let err = f.chats.detail(&eve, target).await.expect_err("hidden");
        assert!(
            matches!(err, ChatError::NotFound("no such chat")),
            "{err:?}"
        );
        let err = f
            .chats
            .post(&eve, post(target, "x", "hi"))
            .await
            .expect_err("hidden");
        assert!(
            matches!(err, ChatError::NotFound("no such chat")),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn roles_grant_permissions_live() {
    let f = fixture(&["ana", "bob"]).await;
    let (ana, bo) = (user("ana"), user("bob"));
    let g = group(&f, &ana, Visibility::Public, Some("rust")).await;
    f.chats
        .join_public(
            &bo,
            api::JoinParams {
                txn: "j".into(),
                group: None,
                handle: Some(format!("#rust:{NODE}").parse().expect("handle")),
            },
        )
        .await
        .expect("join by handle");
    let role = f
        .chats
        .create_role(
            &ana,
            api::RoleCreateParams {
                txn: "r".into(),
                group: g.clone(),
                name: "Pinners".into(),
                colour: "#aa00ff".into(),
                permissions: Permissions::PIN_MESSAGES,
                rank: None,
            },
        )
        .await
        .expect("role")
        .role
        .expect("role id");
    let before = f.chats.summary_of(&bo, &g).await.expect("summary");
    assert!(!before.my_permissions.contains(Permissions::PIN_MESSAGES));
    f.chats
        .set_roles(
            &ana,
            api::SetRolesParams {
                txn: "a".into(),
                group: g.clone(),
                user: bo.clone(),
                roles: vec![role],
            },
        )
        .await
        .expect("assign");
    let after = f.chats.summary_of(&bo, &g).await.expect("summary");
    assert!(after.my_permissions.contains(Permissions::PIN_MESSAGES));
    assert_eq!(after.my_rank, 1);
    let audit = f
        .chats
        .audit(
            &ana,
            api::AuditParams {
                group: g.clone(),
                before: None,
                limit: None,
            },
        )
        .await
        .expect("audit");
    let kinds: Vec<&str> = audit.items.iter().map(|i| i.kind.as_str()).collect();
    assert_eq!(kinds, vec!["role.create", "member.roles"]);
    assert!(matches!(
        f.chats
            .audit(
                &bo,
                api::AuditParams {
                    group: g,
                    before: None,
                    limit: None
                }
            )
            .await,
        Err(ChatError::Denied(_))
    ));
}

/// A message signed before the shown-text rule — here an attachment whose name holds a
/// zero-width space — is read back under the rules it was signed under: its author can still
/// edit it (the stored body is decoded again to write the edited text).
#[tokio::test]
async fn a_message_signed_before_the_shown_text_rule_stays_editable() {
    use winichat_protocol::codec;
    use winichat_protocol::group::bodies::MsgPost;
    use winichat_protocol::ids::{MediaId, NodeName};
    use winichat_protocol::media::{Attachment, MediaKind};

    let f = fixture(&["ana", "bob"]).await;
    let (ana, bo) = (user("ana"), user("bob"));
    let dm = f.chats.open_direct(&ana, &bo).await.expect("open");
    let msg = f
        .chats
        .post(&ana, post(&dm, "p", "the report"))
        .await
        .expect("post");
    // The body as a node signed it before the rule: no way to post it today, so it is written
    // into the projection the way an older node left it.
    let old = MsgPost {
        text: "the report".into(),
        reply_to: None,
        mentions: Vec::new(),
        mention_everyone: false,
        attachments: vec![Attachment {
            media: MediaId {
                node: NodeName::parse(NODE).expect("node"),
                sha256: [7; 32],
            },
            kind: MediaKind::File,
            mime: "application/pdf".into(),
            size: 10,
            name: Some("re\u{200B}port.pdf".into()),
            width: None,
            height: None,
            duration_ms: None,
            blurhash: None,
            waveform: None,
            poster: None,
        }],
        forwarded: None,
    };
    let body = gateway::to_value(&old)
        .and_then(|v| codec::encode(&v))
        .expect("encodes");
    let url = format!(
        "sqlite://{}",
        f.dir
            .path()
            .join(crate::storage::DEFAULT_SQLITE_FILE)
            .display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await.expect("connect");
    let updated = sqlx::query("UPDATE timeline SET body = ? WHERE group_id = ? AND seq = ?")
        .bind(body)
        .bind(dm.as_str())
        .bind(i64::try_from(msg.seq).expect("seq"))
        .execute(&pool)
        .await
        .expect("update");
    assert_eq!(updated.rows_affected(), 1);
    pool.close().await;

    edit(&f, &ana, &dm, msg.seq, "e-old")
        .await
        .expect("the old message is editable");
    let items = f
        .chats
        .history(
            &ana,
            api::HistoryParams {
                group: dm.clone(),
                before: None,
                after: None,
                around: None,
                limit: None,
            },
        )
        .await
        .expect("history")
        .items;
    let item = items
        .iter()
        .find(|i| i.seq == msg.seq)
        .expect("the message");
    let shown = codec::encode(&item.body).expect("encodes");
    let holds = |s: &str| shown.windows(s.len()).any(|w| w == s.as_bytes());
    assert!(holds("hello"), "the edited text");
    assert!(holds("re\u{200B}port.pdf"), "the name as signed");
}
