//! Which check answers first (gateway.md §8.3): parameter checks (`bad_request`) run before the
//! group is looked up (`not_found`), so a request that is wrong in itself gets the same answer
//! for every group, known or not.

use ciborium::Value;
use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::gateway::chat::method;
use winichat_protocol::group::{MAX_MENTIONS, MAX_REASON_CHARS, MAX_ROLES};
use winichat_testkit::client::txn;
use winichat_testkit::node::Backend;

use crate::common::{Chat, Soft, no_such_group, start, users};

on_both!(parameter_checks_come_before_the_group_lookup);

fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect(),
    )
}

fn text(s: &str) -> Value {
    Value::from(s)
}

/// For every write whose params can break a limit on their own: the method, a name for the
/// case, and params for `group` that break it.
fn cases(group: &str, user: &str) -> Vec<(&'static str, &'static str, Value)> {
    let g = || ("group", text(group));
    let t = || ("txn", text(&txn()));
    let u = || ("user", text(user));
    let long_reason = "x".repeat(MAX_REASON_CHARS + 1);
    let many_mentions: Vec<Value> = (0..=MAX_MENTIONS)
        .map(|i| {
            text(&format!(
                "@user{i:03}:{}",
                user.split(':').nth(1).unwrap_or("")
            ))
        })
        .collect();
    let many_roles: Vec<Value> = (1..=u64::try_from(MAX_ROLES).unwrap_or(64) + 1)
        .map(Value::from)
        .collect();
    vec![
        (
            method::MSGS_POST,
            "empty text",
            map(vec![t(), g(), ("text", text(" "))]),
        ),
        (
            method::MSGS_POST,
            "too many mentions",
            map(vec![
                t(),
                g(),
                ("text", text("hi")),
                ("mentions", Value::Array(many_mentions)),
            ]),
        ),
        (
            method::MSGS_EDIT,
            "empty text",
            map(vec![t(), g(), ("seq", Value::from(1)), ("text", text(""))]),
        ),
        (
            method::MSGS_REACT,
            "an emoji with a space",
            map(vec![
                t(),
                g(),
                ("seq", Value::from(1)),
                ("emoji", text("a b")),
                ("on", Value::from(true)),
            ]),
        ),
        (
            method::GROUPS_UPDATE,
            "a blank name",
            map(vec![t(), g(), ("name", text("  "))]),
        ),
        (
            method::GROUPS_UPDATE,
            "a name with an override",
            map(vec![t(), g(), ("name", text("\u{202E}SYSTEM"))]),
        ),
        (
            method::ROLES_CREATE,
            "a bad colour",
            map(vec![
                t(),
                g(),
                ("name", text("Mods")),
                ("colour", text("red")),
                ("permissions", Value::from(1)),
            ]),
        ),
        (
            method::ROLES_UPDATE,
            "a bad colour",
            map(vec![
                t(),
                g(),
                ("role", Value::from(1)),
                ("colour", text("red")),
            ]),
        ),
        (
            method::MEMBERS_KICK,
            "a long reason",
            map(vec![t(), g(), u(), ("reason", text(&long_reason))]),
        ),
        (
            method::MEMBERS_BAN,
            "a long reason",
            map(vec![t(), g(), u(), ("reason", text(&long_reason))]),
        ),
        (
            method::MEMBERS_ROLES,
            "too many roles",
            map(vec![t(), g(), u(), ("roles", Value::Array(many_roles))]),
        ),
    ]
}

async fn parameter_checks_come_before_the_group_lookup(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, bob] = users(&node, ["alice", "bob"]).await;
    // A group alice is not in and cannot see: its answer must not differ from no group at all.
    let mut bob = bob;
    let private = bob
        .create_group(
            "Hidden",
            winichat_protocol::group::Visibility::Private,
            None,
        )
        .await
        .group;
    let unknown = no_such_group(&node);
    let mut soft = Soft::default();
    for group in [unknown.to_string(), private.to_string()] {
        for (m, what, params) in cases(&group, bob.user().as_ref()) {
            let answer = alice.call(m, params).await;
            soft.code(
                answer,
                ErrorCode::BadRequest,
                &format!("{m} with {what} to {group}"),
            );
        }
    }
    soft.finish();
    node.shutdown().await;
}
