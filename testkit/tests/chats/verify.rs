//! A client can check what it is shown (gateway.md §8.5): `msgs.event` gives each event's
//! signed bytes, the node document gives the key, and the protocol crate's own verification
//! — the spec's rules — accepts every event and the `prev` chain from seq 1 to the head.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use winichat_protocol::codec::Limits;
use winichat_protocol::cose::UnverifiedSign1;
use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::event::{Event, LogHead, check_next};
use winichat_protocol::gateway::chat::{self as api, method};
use winichat_protocol::group::{Permissions, Visibility};
use winichat_protocol::keys::PublicKey;
use winichat_testkit::client::{Client, txn};
use winichat_testkit::node::{Backend, TestNode};

use crate::common::{Chat, history, no_such_group, start, users};

/// `msgs.event` of `seq` as `c` sees it: the bytes, or the error code.
async fn try_event(
    c: &mut Client,
    group: &winichat_protocol::ids::GroupId,
    seq: u64,
) -> Result<Vec<u8>, ErrorCode> {
    c.call_as::<_, api::EventResult>(
        method::MSGS_EVENT,
        &api::EventParams {
            group: group.clone(),
            seq,
        },
    )
    .await
    .map(|r| r.event)
    .map_err(|e| e.code)
}

/// True when `needle` occurs in `bytes`.
fn holds(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

on_both!(
    events_verify_against_the_node_document,
    events_hide_what_history_hides
);

/// The node document's key, read as protocol.md §4.3 says.
async fn node_key(node: &TestNode) -> PublicKey {
    let url = format!("{}/.well-known/winichat/node", node.http_url());
    let doc: serde_json::Value = reqwest::Client::new()
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .expect("GET node document")
        .json()
        .await
        .expect("JSON");
    assert_eq!(doc["name"], node.name().to_string());
    let key = doc["public_key"].as_str().expect("public_key");
    assert_eq!(key.len(), 43, "unpadded base64url of 32 bytes");
    let bytes: [u8; 32] = URL_SAFE_NO_PAD
        .decode(key)
        .expect("base64url")
        .try_into()
        .expect("32 bytes");
    PublicKey::from_bytes(&bytes).expect("a usable Ed25519 key")
}

async fn event_bytes(c: &mut Client, group: &winichat_protocol::ids::GroupId, seq: u64) -> Vec<u8> {
    let result: api::EventResult = c
        .ok(
            method::MSGS_EVENT,
            &api::EventParams {
                group: group.clone(),
                seq,
            },
        )
        .await;
    result.event
}

async fn events_verify_against_the_node_document(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob, mut carol] = users(&node, ["alice", "bob", "carol"]).await;
    let group = alice
        .create_group("Verified", Visibility::Private, None)
        .await
        .group;
    alice.invite_and_join(&group, &mut bob).await;
    let first = alice.post(&group, "first").await;
    bob.post(&group, "second").await;
    let _: api::WriteResult = alice
        .ok(
            method::MSGS_EDIT,
            &api::EditParams {
                txn: txn(),
                group: group.clone(),
                seq: first.seq,
                text: "first, edited".to_owned(),
            },
        )
        .await;
    let key = node_key(&node).await;
    let items = bob.history(history(&group)).await.items;
    let last = alice.summary(&group).await.last_seq;
    assert!(
        last >= 6,
        "create, invite, join, two posts, an edit: {last}"
    );

    // From seq 1 to the head, each event verifies under the node's key, is its home node's,
    // and links to the one before: exactly the checks a receiver makes (protocol.md §5.3).
    let mut head: Option<LogHead> = None;
    for seq in 1..=last {
        let bytes = event_bytes(&mut bob, &group, seq).await;
        let parsed = UnverifiedSign1::parse(&bytes, &Limits::EVENT).expect("a COSE_Sign1");
        assert_eq!(parsed.signer(), node.name(), "kid is the home node");
        let signer = parsed.signer().clone();
        let signed = parsed
            .verify::<Event>(&key, &Limits::EVENT)
            .expect("the signature verifies under the node document's key");
        assert_eq!(signed.raw(), bytes.as_slice(), "the bytes as stored");
        let event = signed.value();
        assert_eq!((event.group.clone(), event.seq), (group.clone(), seq));
        check_next(&group, head.as_ref(), &signer, event).expect("the prev chain holds");
        // What the timeline shows is what was signed.
        if let Some(item) = items.iter().find(|i| i.seq == seq) {
            assert_eq!(
                item.id,
                signed.id(),
                "seq {seq}: the item's id is the event's"
            );
            assert_eq!(
                (item.ts, &item.sender, &item.kind),
                (event.ts, &event.sender, &event.kind)
            );
        }
        head = Some(signed.head());
    }

    // Past the head, seq 0, a chat carol may not know, or none at all: not found.
    for seq in [last + 1, 0] {
        let params = api::EventParams {
            group: group.clone(),
            seq,
        };
        let answer = bob
            .call_as::<_, api::EventResult>(method::MSGS_EVENT, &params)
            .await;
        assert_eq!(
            answer.map_err(|e| e.code),
            Err(ErrorCode::NotFound),
            "seq {seq}"
        );
    }
    for g in [group.clone(), no_such_group(&node)] {
        let answer = carol
            .call_as::<_, api::EventResult>(
                method::MSGS_EVENT,
                &api::EventParams { group: g, seq: 1 },
            )
            .await;
        assert_eq!(answer.map_err(|e| e.code), Err(ErrorCode::NotFound));
    }
    node.shutdown().await;
}

/// A deleted message's text is gone for everyone (gateway.md §8.5): neither its `msg.post`
/// nor its edits are served; a moderator's deletion of someone else's message is served only
/// to those who may view the audit log, like `audit.list`.
async fn events_hide_what_history_hides(backend: Backend) {
    let node = start(backend).await;
    let [mut owner, mut admin, mut plain, mut author] =
        users(&node, ["owner", "admin", "plain", "author"]).await;
    let group = owner
        .create_group("Withheld", Visibility::Private, None)
        .await
        .group;
    for c in [&mut admin, &mut plain, &mut author] {
        owner.invite_and_join(&group, c).await;
    }
    let auditor = Permissions(Permissions::VIEW_AUDIT_LOG.0 | Permissions::MANAGE_MESSAGES.0);
    let role = owner.create_role(&group, "auditor", auditor, None).await;
    owner.set_roles(&group, admin.user(), &[role]).await;
    let delete = |seq| api::MsgParams {
        txn: txn(),
        group: group.clone(),
        seq,
    };

    // The author posts, edits and deletes their own message.
    let secret = author.post(&group, "secret first draft").await;
    let edit: api::WriteResult = author
        .ok(
            method::MSGS_EDIT,
            &api::EditParams {
                txn: txn(),
                group: group.clone(),
                seq: secret.seq,
                text: "secret second draft".to_owned(),
            },
        )
        .await;
    // Before the deletion both are served, text and all.
    let before = try_event(&mut plain, &group, secret.seq)
        .await
        .expect("served");
    assert!(holds(&before, "secret first draft"));
    let before = try_event(&mut plain, &group, edit.seq)
        .await
        .expect("served");
    assert!(holds(&before, "secret second draft"));
    let own: api::WriteResult = author.ok(method::MSGS_DELETE, &delete(secret.seq)).await;
    for c in [&mut plain, &mut admin, &mut owner, &mut author] {
        for seq in [secret.seq, edit.seq] {
            assert_eq!(
                try_event(c, &group, seq).await,
                Err(ErrorCode::NotFound),
                "{} asks for seq {seq} of a deleted message",
                c.user()
            );
        }
        // The author's own deletion names nobody else: everyone may fetch it.
        let bytes = try_event(c, &group, own.seq).await.expect("own deletion");
        assert!(!holds(&bytes, "secret"));
    }

    // A moderator deletes another member's message: an audit event.
    let spam = plain.post(&group, "spam").await;
    let moderated: api::WriteResult = admin.ok(method::MSGS_DELETE, &delete(spam.seq)).await;
    for c in [&mut plain, &mut author] {
        assert_eq!(
            try_event(c, &group, moderated.seq).await,
            Err(ErrorCode::NotFound),
            "{} may not view the audit log",
            c.user()
        );
    }
    let key = node_key(&node).await;
    let moderator = admin.user().clone();
    for c in [&mut admin, &mut owner] {
        let bytes = try_event(c, &group, moderated.seq)
            .await
            .expect("an auditor sees it");
        let event = UnverifiedSign1::parse(&bytes, &Limits::EVENT)
            .expect("a COSE_Sign1")
            .verify::<Event>(&key, &Limits::EVENT)
            .expect("verifies")
            .into_value();
        assert_eq!(event.seq, moderated.seq);
        assert_eq!(event.sender, moderator);
    }
    // The deleted message's own events stay withheld for the auditors too.
    assert_eq!(
        try_event(&mut admin, &group, spam.seq).await,
        Err(ErrorCode::NotFound)
    );
    node.shutdown().await;
}
