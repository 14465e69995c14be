//! The accounts storage suite (users, sessions, refresh and registration tokens). Every test
//! runs on SQLite and on PostgreSQL, as in `storage.rs`.

use std::sync::Arc;

use winichat_node::storage::StorageError;
use winichat_node::storage::accounts::{NewUser, RefreshOutcome, SessionRecord};
use winichat_protocol::Timestamp;
use winichat_protocol::ids::UserId;

use winichat_testkit::both_backends;
use winichat_testkit::storage::StorageHarness as Harness;

both_backends!(
    users_round_trip_and_names_are_unique,
    profile_update_and_prefix_search,
    registration_tokens_are_counted_and_expire,
    sessions_revoke_one_and_others,
    refresh_rotation_reuse_and_grace,
    concurrent_rotations_have_exactly_one_winner,
);

fn user(name: &str) -> UserId {
    format!("@{name}:chat.example").parse().expect("user id")
}

fn new_user(name: &str, display: &str) -> NewUser {
    NewUser {
        id: user(name),
        password_hash: "$argon2id$fake".into(),
        display_name: display.into(),
        created_at: Timestamp(1_000),
    }
}

fn session(id: &str, owner: &UserId, at: u64) -> SessionRecord {
    SessionRecord {
        id: id.into(),
        user: owner.clone(),
        device: "test".into(),
        created_at: Timestamp(at),
        last_used_at: Timestamp(at),
        revoked_at: None,
    }
}

fn h(n: u8) -> [u8; 32] {
    [n; 32]
}

async fn users_round_trip_and_names_are_unique(h_: Harness) {
    let a = h_.db.accounts();
    a.create_user(&new_user("alice", "Alice"))
        .await
        .expect("create");
    let got = a.user(&user("alice")).await.expect("read").expect("some");
    assert_eq!(got.display_name, "Alice");
    assert_eq!(got.bio, "");
    assert_eq!(got.created_at, Timestamp(1_000));
    assert!(matches!(
        a.create_user(&new_user("alice", "Other")).await,
        Err(StorageError::Conflict(_))
    ));
    a.set_password(&user("alice"), "$argon2id$new")
        .await
        .expect("set");
    assert_eq!(
        a.user(&user("alice"))
            .await
            .expect("r")
            .expect("s")
            .password_hash,
        "$argon2id$new"
    );
    assert!(matches!(
        a.set_password(&user("nobody"), "x").await,
        Err(StorageError::NotFound(_))
    ));
    assert!(a.user(&user("nobody")).await.expect("read").is_none());
}

async fn profile_update_and_prefix_search(h_: Harness) {
    let a = h_.db.accounts();
    a.create_user(&new_user("alice", "Alice Liddell"))
        .await
        .expect("c");
    a.create_user(&new_user("bob", "Zed_%")).await.expect("c");
    a.create_user(&new_user("carol", "")).await.expect("c");
    let u = a
        .update_profile(&user("carol"), Some("Alicia"), Some("hello"))
        .await
        .expect("update");
    assert_eq!(
        (u.display_name.as_str(), u.bio.as_str()),
        ("Alicia", "hello")
    );
    let u = a
        .update_profile(&user("carol"), None, Some("bye"))
        .await
        .expect("update");
    assert_eq!((u.display_name.as_str(), u.bio.as_str()), ("Alicia", "bye"));
    let names = |v: Vec<winichat_node::storage::accounts::UserRecord>| {
        v.into_iter()
            .map(|u| u.id.name().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(a.search_users("ali", None, 50).await.expect("s")),
        ["alice", "carol"]
    );
    assert_eq!(
        names(a.search_users("ali", None, 1).await.expect("s")),
        ["alice"]
    );
    // LIKE wildcards in the query are literal.
    assert_eq!(
        names(a.search_users("zed_%", None, 50).await.expect("s")),
        ["bob"]
    );
    assert!(a.search_users("%", None, 50).await.expect("s").is_empty());
    assert!(a.search_users("z_d", None, 50).await.expect("s").is_empty());
    assert!(matches!(
        a.update_profile(&user("nobody"), Some("x"), None).await,
        Err(StorageError::NotFound(_))
    ));
}

async fn registration_tokens_are_counted_and_expire(h_: Harness) {
    let a = h_.db.accounts();
    a.add_registration_token(&h(1), Some(2), None, Timestamp(0))
        .await
        .expect("add");
    a.add_registration_token(&h(2), None, Some(Timestamp(1_000)), Timestamp(0))
        .await
        .expect("add");
    a.create_user_with_token(&new_user("one", ""), &h(1))
        .await
        .expect("first use");
    // A taken name does not consume the token.
    assert!(matches!(
        a.create_user_with_token(&new_user("one", ""), &h(1)).await,
        Err(StorageError::Conflict(_))
    ));
    a.create_user_with_token(&new_user("two", ""), &h(1))
        .await
        .expect("second use");
    assert!(matches!(
        a.create_user_with_token(&new_user("three", ""), &h(1))
            .await,
        Err(StorageError::NotFound(_))
    ));
    assert!(a.user(&user("three")).await.expect("r").is_none());
    // Expired at created_at (1000).
    assert!(matches!(
        a.create_user_with_token(&new_user("four", ""), &h(2)).await,
        Err(StorageError::NotFound(_))
    ));
    assert!(matches!(
        a.create_user_with_token(&new_user("five", ""), &h(9)).await,
        Err(StorageError::NotFound(_))
    ));
}

async fn sessions_revoke_one_and_others(h_: Harness) {
    let a = h_.db.accounts();
    a.create_user(&new_user("alice", "")).await.expect("c");
    a.create_user(&new_user("bob", "")).await.expect("c");
    let alice = user("alice");
    for (i, id) in ["s1", "s2", "s3"].iter().enumerate() {
        a.create_session(
            &session(id, &alice, 10 + i as u64),
            &h(i as u8),
            Timestamp(9_999),
        )
        .await
        .expect("session");
    }
    a.create_session(&session("b1", &user("bob"), 10), &h(9), Timestamp(9_999))
        .await
        .expect("session");
    let ids = |v: Vec<SessionRecord>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(a.active_sessions(&alice).await.expect("l")),
        ["s3", "s2", "s1"]
    );
    // Not Bob's to revoke.
    assert!(
        !a.revoke_session(&user("bob"), "s1", Timestamp(20))
            .await
            .expect("r")
    );
    assert!(
        a.revoke_session(&alice, "s1", Timestamp(20))
            .await
            .expect("r")
    );
    assert!(
        !a.revoke_session(&alice, "s1", Timestamp(21))
            .await
            .expect("r")
    );
    assert_eq!(
        a.session("s1").await.expect("s").expect("some").revoked_at,
        Some(Timestamp(20))
    );
    let mut revoked = a
        .revoke_other_sessions(&alice, Some("s3"), Timestamp(30))
        .await
        .expect("others");
    revoked.sort();
    assert_eq!(revoked, ["s2"]);
    assert_eq!(ids(a.active_sessions(&alice).await.expect("l")), ["s3"]);
    assert_eq!(
        ids(a.active_sessions(&user("bob")).await.expect("l")),
        ["b1"]
    );
    let all = a
        .revoke_other_sessions(&alice, None, Timestamp(40))
        .await
        .expect("all");
    assert_eq!(all, ["s3"]);
}

async fn refresh_rotation_reuse_and_grace(h_: Harness) {
    let a = h_.db.accounts();
    a.create_user(&new_user("alice", "")).await.expect("c");
    let alice = user("alice");
    a.create_session(&session("s1", &alice, 100), &h(1), Timestamp(10_000))
        .await
        .expect("session");
    // Rotate 1 → 2.
    match a
        .rotate_refresh(&h(1), &h(2), Timestamp(200), Timestamp(20_000), 1_000)
        .await
        .expect("rotate")
    {
        RefreshOutcome::Rotated(s) => {
            assert_eq!(s.id, "s1");
            assert_eq!(s.last_used_at, Timestamp(200));
        }
        other => panic!("expected a rotation, got {other:?}"),
    }
    // Token 1 again within the grace: refused, nothing revoked.
    assert_eq!(
        a.rotate_refresh(&h(1), &h(3), Timestamp(700), Timestamp(20_000), 1_000)
            .await
            .expect("r"),
        RefreshOutcome::AlreadyRotated
    );
    assert!(
        a.session("s1")
            .await
            .expect("s")
            .expect("s")
            .revoked_at
            .is_none()
    );
    // Unknown token.
    assert_eq!(
        a.rotate_refresh(&h(7), &h(8), Timestamp(700), Timestamp(20_000), 1_000)
            .await
            .expect("r"),
        RefreshOutcome::Invalid
    );
    // Token 1 after the grace: reuse, the session is revoked.
    assert!(matches!(
        a.rotate_refresh(&h(1), &h(4), Timestamp(5_000), Timestamp(20_000), 1_000)
            .await
            .expect("r"),
        RefreshOutcome::Reused(_)
    ));
    assert_eq!(
        a.session("s1").await.expect("s").expect("s").revoked_at,
        Some(Timestamp(5_000))
    );
    // The current token of a revoked session is dead too.
    assert_eq!(
        a.rotate_refresh(&h(2), &h(5), Timestamp(5_001), Timestamp(20_000), 1_000)
            .await
            .expect("r"),
        RefreshOutcome::Invalid
    );
    // An expired token.
    a.create_session(&session("s2", &alice, 100), &h(10), Timestamp(1_000))
        .await
        .expect("session");
    assert_eq!(
        a.rotate_refresh(&h(10), &h(11), Timestamp(1_000), Timestamp(20_000), 1_000)
            .await
            .expect("r"),
        RefreshOutcome::Invalid
    );
}

async fn concurrent_rotations_have_exactly_one_winner(h_: Harness) {
    let a = h_.db.accounts();
    a.create_user(&new_user("alice", "")).await.expect("c");
    a.create_session(
        &session("s1", &user("alice"), 100),
        &h(1),
        Timestamp(10_000),
    )
    .await
    .expect("session");
    let db = Arc::new(h_.db.clone());
    let tasks: Vec<_> = (0..8u8)
        .map(|i| {
            let db = Arc::clone(&db);
            tokio::spawn(async move {
                db.accounts()
                    .rotate_refresh(
                        &h(1),
                        &h(100 + i),
                        Timestamp(200),
                        Timestamp(20_000),
                        60_000,
                    )
                    .await
                    .expect("rotate")
            })
        })
        .collect();
    let mut rotated = 0;
    for t in tasks {
        match t.await.expect("join") {
            RefreshOutcome::Rotated(_) => rotated += 1,
            RefreshOutcome::AlreadyRotated => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(rotated, 1);
    assert!(
        a.session("s1")
            .await
            .expect("s")
            .expect("s")
            .revoked_at
            .is_none()
    );
}
