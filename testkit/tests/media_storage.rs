//! The media storage suite (`MediaStore`). Every test runs on SQLite and on PostgreSQL, as in
//! `storage.rs`. References (`media_refs`) and memberships are written behind the store's back:
//! the chat and account stores own those writes.

use winichat_node::storage::StorageError;
use winichat_node::storage::media::MediaRecord;
use winichat_protocol::Timestamp;
use winichat_protocol::ids::{NodeName, UserId};
use winichat_protocol::media::MediaKind;

use winichat_testkit::both_backends;
use winichat_testkit::storage::StorageHarness as Harness;

both_backends!(
    an_upload_is_new_once_per_user_and_touches_the_row,
    usage_sums_the_distinct_uploads_of_a_user,
    uploaded_as_finds_a_users_media_by_its_bytes_served_or_sent,
    may_view_uploader_public_refs_and_group_members,
    touch_only_moves_forward,
    unreferenced_lists_old_rows_nothing_refers_to,
    delete_unreferenced_is_conditional_and_cascades,
    corrupt_rows_are_reported_not_panicked,
    peer_access_follows_public_refs_members_and_invitees_of_that_node,
    a_remote_copy_counts_for_no_quota_and_becomes_own_when_uploaded,
);

const NODE: &str = "home.example";
const T0: u64 = 1_700_000_000_000;

fn user(name: &str) -> UserId {
    format!("@{name}:{NODE}").parse().expect("user id")
}

fn hex(sha: &[u8; 32]) -> String {
    sha.iter().map(|b| format!("{b:02x}")).collect()
}

fn record(n: u8, kind: MediaKind, size: u64, at: u64) -> MediaRecord {
    let image = kind == MediaKind::Image;
    MediaRecord {
        sha256: [n; 32],
        kind,
        mime: if image {
            "image/png"
        } else {
            "application/pdf"
        }
        .into(),
        size,
        width: image.then_some(640),
        height: image.then_some(480),
        duration_ms: None,
        blurhash: image.then(|| "LEHV6nWB2yk8pyo0adR*.7kCMdnj".to_owned()),
        thumbs: if image { vec![96, 320] } else { Vec::new() },
        created_at: Timestamp(at),
        touched_at: Timestamp(at),
    }
}

/// Runs SQL built at run time behind the store's back.
async fn sql(h: &Harness, text: String) {
    h.tamper(Box::leak(text.into_boxed_str())).await;
}

/// A group with `members`, inserted directly (the projection's tables, minimal columns).
async fn group_with(h: &Harness, group: &str, members: &[&UserId]) {
    let state = if h.db.backend_name() == "sqlite" {
        "X'a0'"
    } else {
        "'\\xa0'::bytea"
    };
    sql(
        h,
        format!("INSERT INTO groups (id, home_node, created_at) VALUES ('{group}', '{NODE}', 0)"),
    )
    .await;
    sql(
        h,
        format!(
            "INSERT INTO chats (group_id, kind, name, name_key, description, visibility, owner, \
             last_seq, last_ts, state) VALUES ('{group}', 'group', 'g', 'g', '', 'private', \
             '@alice:{NODE}', 1, 0, {state})"
        ),
    )
    .await;
    for member in members {
        sql(
            h,
            format!("INSERT INTO chat_members (group_id, user_id) VALUES ('{group}', '{member}')"),
        )
        .await;
    }
}

async fn reference(
    h: &Harness,
    sha: &[u8; 32],
    group: Option<&str>,
    who: Option<&UserId>,
    public: bool,
) {
    let group = group.map_or("NULL".to_owned(), |g| format!("'{g}'"));
    let seq = if group == "NULL" || public {
        "NULL"
    } else {
        "7"
    };
    let who = who.map_or("NULL".to_owned(), |u| format!("'{u}'"));
    let public = match (h.db.backend_name(), public) {
        ("sqlite", p) => u8::from(p).to_string(),
        (_, p) => p.to_string(),
    };
    sql(
        h,
        format!(
            "INSERT INTO media_refs (sha256, group_id, seq, user_id, public) \
             VALUES ('{}', {group}, {seq}, {who}, {public})",
            hex(sha)
        ),
    )
    .await;
}

// ---- tests ----

async fn an_upload_is_new_once_per_user_and_touches_the_row(h: Harness) {
    let store = h.db.media();
    let (alice, bob) = (user("alice"), user("bob"));
    let first = record(1, MediaKind::Image, 1000, T0);
    assert_eq!(store.get(&first.sha256).await.expect("get"), None);

    assert!(
        store
            .record_upload(&first, &alice, Timestamp(T0))
            .await
            .expect("first")
    );
    assert_eq!(
        store.get(&first.sha256).await.expect("get"),
        Some(first.clone())
    );
    assert!(store.uploaded_by(&alice, &first.sha256).await.expect("by"));
    assert!(!store.uploaded_by(&bob, &first.sha256).await.expect("by"));

    // The same bytes again, later, described differently: not new; the row keeps its columns
    // and only its touched_at moves.
    let mut again = record(1, MediaKind::File, 1, T0 + 50);
    again.mime = "text/plain".into();
    assert!(
        !store
            .record_upload(&again, &alice, Timestamp(T0 + 50))
            .await
            .expect("again")
    );
    let stored = store.get(&first.sha256).await.expect("get").expect("row");
    assert_eq!(stored.kind, MediaKind::Image);
    assert_eq!(stored.mime, "image/png");
    assert_eq!(stored.size, 1000);
    assert_eq!(stored.thumbs, vec![96, 320]);
    assert_eq!(stored.created_at, Timestamp(T0));
    assert_eq!(stored.touched_at, Timestamp(T0 + 50));

    // Bob's first upload of the same bytes is new for him; an older clock never moves
    // touched_at back.
    assert!(
        store
            .record_upload(&first, &bob, Timestamp(T0 + 10))
            .await
            .expect("bob")
    );
    assert!(store.uploaded_by(&bob, &first.sha256).await.expect("by"));
    let stored = store.get(&first.sha256).await.expect("get").expect("row");
    assert_eq!(stored.touched_at, Timestamp(T0 + 50));
}

async fn uploaded_as_finds_a_users_media_by_its_bytes_served_or_sent(h: Harness) {
    let store = h.db.media();
    let (alice, bob) = (user("alice"), user("bob"));
    let stripped = record(1, MediaKind::Image, 1000, T0);
    let (sent, sent_later) = ([7u8; 32], [8u8; 32]);
    assert!(
        store
            .record_upload_raw(&stripped, &alice, Some(&sent), Timestamp(T0))
            .await
            .expect("record")
    );
    let found = |u: UserId, sha: [u8; 32]| {
        let store = h.db.media();
        async move { store.uploaded_as(&u, &sha).await.expect("uploaded_as") }
    };
    assert_eq!(found(alice.clone(), sent).await, Some(stripped.sha256));
    assert_eq!(
        found(alice.clone(), stripped.sha256).await,
        Some(stripped.sha256)
    );
    assert_eq!(found(bob.clone(), sent).await, None, "per user");
    assert_eq!(found(alice.clone(), sent_later).await, None);

    // The same media from other bytes sent: the latest bytes sent are kept; an upload
    // without a rewrite keeps them too.
    assert!(
        !store
            .record_upload_raw(&stripped, &alice, Some(&sent_later), Timestamp(T0 + 1))
            .await
            .expect("again")
    );
    assert!(
        !store
            .record_upload(&stripped, &alice, Timestamp(T0 + 2))
            .await
            .expect("as served")
    );
    assert_eq!(
        found(alice.clone(), sent_later).await,
        Some(stripped.sha256)
    );

    // Bob's upload of the bytes as served does not give him alice's bytes as sent.
    assert!(
        store
            .record_upload(&stripped, &bob, Timestamp(T0 + 3))
            .await
            .expect("bob")
    );
    assert_eq!(found(bob.clone(), sent_later).await, None);
    assert_eq!(found(bob, stripped.sha256).await, Some(stripped.sha256));
}

async fn usage_sums_the_distinct_uploads_of_a_user(h: Harness) {
    let store = h.db.media();
    let (alice, bob) = (user("alice"), user("bob"));
    assert_eq!(store.usage(&alice).await.expect("usage"), 0);
    let one = record(1, MediaKind::Image, 10, T0);
    let two = record(2, MediaKind::File, 20, T0);
    store
        .record_upload(&one, &alice, Timestamp(T0))
        .await
        .expect("one");
    store
        .record_upload(&two, &alice, Timestamp(T0))
        .await
        .expect("two");
    store
        .record_upload(&one, &alice, Timestamp(T0 + 1))
        .await
        .expect("one again");
    store
        .record_upload(&one, &bob, Timestamp(T0 + 1))
        .await
        .expect("bob");
    assert_eq!(store.usage(&alice).await.expect("usage"), 30);
    assert_eq!(store.usage(&bob).await.expect("usage"), 10);
    assert_eq!(store.usage(&user("carol")).await.expect("usage"), 0);
}

async fn may_view_uploader_public_refs_and_group_members(h: Harness) {
    let store = h.db.media();
    let (alice, bob, carol, dave) = (user("alice"), user("bob"), user("carol"), user("dave"));
    let posted = record(1, MediaKind::Image, 10, T0);
    let avatar = record(2, MediaKind::Image, 10, T0);
    let photo = record(3, MediaKind::Image, 10, T0);
    for r in [&posted, &avatar, &photo] {
        store
            .record_upload(r, &alice, Timestamp(T0))
            .await
            .expect("upload");
    }
    for r in [&posted, &avatar, &photo] {
        assert!(
            store.may_view(&alice, &r.sha256).await.expect("view"),
            "the uploader"
        );
        assert!(
            !store.may_view(&bob, &r.sha256).await.expect("view"),
            "nothing refers yet"
        );
    }
    // Unknown media: nobody.
    assert!(!store.may_view(&alice, &[9; 32]).await.expect("view"));

    let group = "!mediagroup:home.example";
    group_with(&h, group, &[&alice, &bob]).await;
    let other = "!othergroup:home.example";
    group_with(&h, other, &[&dave]).await;
    reference(&h, &posted.sha256, Some(group), None, false).await;
    assert!(
        store.may_view(&bob, &posted.sha256).await.expect("view"),
        "a member"
    );
    assert!(
        !store.may_view(&carol, &posted.sha256).await.expect("view"),
        "not a member"
    );
    assert!(
        !store.may_view(&dave, &posted.sha256).await.expect("view"),
        "another group's member"
    );

    // An avatar (public, no group) and a group photo (public): anyone.
    reference(&h, &avatar.sha256, None, Some(&alice), true).await;
    reference(&h, &photo.sha256, Some(group), None, true).await;
    for who in [&bob, &carol, &dave] {
        assert!(store.may_view(who, &avatar.sha256).await.expect("view"));
        assert!(store.may_view(who, &photo.sha256).await.expect("view"));
    }
}

async fn touch_only_moves_forward(h: Harness) {
    let store = h.db.media();
    let r = record(1, MediaKind::File, 10, T0);
    store
        .record_upload(&r, &user("alice"), Timestamp(T0))
        .await
        .expect("upload");
    assert!(
        store
            .touch(&r.sha256, Timestamp(T0 + 100))
            .await
            .expect("touch")
    );
    assert!(
        store
            .touch(&r.sha256, Timestamp(T0 + 5))
            .await
            .expect("touch")
    );
    let stored = store.get(&r.sha256).await.expect("get").expect("row");
    assert_eq!(stored.touched_at, Timestamp(T0 + 100));
    assert!(
        !store
            .touch(&[9; 32], Timestamp(T0))
            .await
            .expect("touch unknown")
    );
}

async fn unreferenced_lists_old_rows_nothing_refers_to(h: Harness) {
    let store = h.db.media();
    let alice = user("alice");
    // 1, 2, 3 old (oldest first); 4 old but referenced; 5 new.
    for (n, at) in [
        (3u8, T0 + 3),
        (1, T0 + 1),
        (2, T0 + 2),
        (4, T0),
        (5, T0 + 1000),
    ] {
        let r = record(n, MediaKind::File, 10, at);
        store
            .record_upload(&r, &alice, Timestamp(at))
            .await
            .expect("upload");
    }
    reference(&h, &[4; 32], Some("!mediagroup:home.example"), None, false).await;
    let before = Timestamp(T0 + 500);
    let all: Vec<[u8; 32]> = store
        .unreferenced(before, 100)
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.sha256)
        .collect();
    assert_eq!(all, vec![[1; 32], [2; 32], [3; 32]]);
    let two = store.unreferenced(before, 2).await.expect("list");
    assert_eq!(two.len(), 2);
    assert_eq!(two[0].sha256, [1; 32]);
    assert!(
        store
            .unreferenced(Timestamp(T0), 100)
            .await
            .expect("list")
            .is_empty()
    );
}

async fn delete_unreferenced_is_conditional_and_cascades(h: Harness) {
    let store = h.db.media();
    let alice = user("alice");
    let old = record(1, MediaKind::File, 10, T0);
    let referenced = record(2, MediaKind::File, 20, T0);
    let touched = record(3, MediaKind::File, 40, T0);
    for r in [&old, &referenced, &touched] {
        store
            .record_upload(r, &alice, Timestamp(T0))
            .await
            .expect("upload");
    }
    assert_eq!(store.usage(&alice).await.expect("usage"), 70);
    let before = Timestamp(T0 + 500);
    let candidates = store.unreferenced(before, 100).await.expect("list");
    assert_eq!(candidates.len(), 3);

    // Between listing and deleting, one gets a reference and one is used again: both win.
    reference(
        &h,
        &referenced.sha256,
        Some("!mediagroup:home.example"),
        None,
        false,
    )
    .await;
    store
        .touch(&touched.sha256, Timestamp(T0 + 600))
        .await
        .expect("touch");
    let mut deleted = Vec::new();
    for c in candidates {
        if store
            .delete_unreferenced(&c.sha256, before)
            .await
            .expect("delete")
        {
            deleted.push(c.sha256);
        }
    }
    assert_eq!(deleted, vec![old.sha256]);
    assert_eq!(store.get(&old.sha256).await.expect("get"), None);
    assert!(
        !store.uploaded_by(&alice, &old.sha256).await.expect("by"),
        "cascaded"
    );
    assert_eq!(store.usage(&alice).await.expect("usage"), 60);
    assert!(store.get(&referenced.sha256).await.expect("get").is_some());
    assert!(store.get(&touched.sha256).await.expect("get").is_some());
    assert!(
        !store
            .delete_unreferenced(&old.sha256, before)
            .await
            .expect("again")
    );

    // Uploading deleted bytes again makes them new for the user again.
    assert!(
        store
            .record_upload(&old, &alice, Timestamp(T0 + 700))
            .await
            .expect("re-upload")
    );
}

async fn corrupt_rows_are_reported_not_panicked(h: Harness) {
    let store = h.db.media();
    let r = record(1, MediaKind::Image, 10, T0);
    store
        .record_upload(&r, &user("alice"), Timestamp(T0))
        .await
        .expect("upload");
    let sha = hex(&r.sha256);
    sql(
        &h,
        format!("UPDATE media SET kind = 'hologram' WHERE sha256 = '{sha}'"),
    )
    .await;
    assert!(matches!(
        store.get(&r.sha256).await,
        Err(StorageError::Corrupt(_))
    ));
    sql(
        &h,
        format!("UPDATE media SET kind = 'image', thumbs = '96,big' WHERE sha256 = '{sha}'"),
    )
    .await;
    assert!(matches!(
        store.get(&r.sha256).await,
        Err(StorageError::Corrupt(_))
    ));
    assert!(matches!(
        store.unreferenced(Timestamp(T0 + 1), 10).await,
        Err(StorageError::Corrupt(_))
    ));
}

async fn peer_access_follows_public_refs_members_and_invitees_of_that_node(h: Harness) {
    let store = h.db.media();
    let alice = user("alice");
    let node = |n: &str| -> NodeName { n.parse().expect("node") };
    let remote = |name: &str, n: &str| -> UserId { format!("@{name}:{n}").parse().expect("user") };
    let (b, ab, c) = (
        node("b.example"),
        node("ab.example"),
        node("c.example:7801"),
    );
    let posted = record(1, MediaKind::Image, 10, T0);
    let avatar = record(2, MediaKind::Image, 10, T0);
    let invited = record(3, MediaKind::File, 10, T0);
    for r in [&posted, &avatar, &invited] {
        store
            .record_upload(r, &alice, Timestamp(T0))
            .await
            .expect("upload");
    }
    let group = "!peergroup:home.example";
    group_with(&h, group, &[&alice, &remote("bob", "b.example")]).await;
    reference(&h, &posted.sha256, Some(group), None, false).await;
    assert_eq!(
        store.peer_access(&b, &posted.sha256).await.expect("access"),
        Some(false),
        "b has a member in the chat"
    );
    for other in [&ab, &c] {
        assert_eq!(
            store
                .peer_access(other, &posted.sha256)
                .await
                .expect("access"),
            None,
            "{other} has none (ab.example is not b.example)"
        );
    }
    // A pending invitee of c.example:7801 in another group that attaches `invited`.
    let other = "!invitegroup:home.example";
    group_with(&h, other, &[&alice]).await;
    sql(
        &h,
        format!(
            "INSERT INTO chat_invites (group_id, user_id, by_user, at) \
             VALUES ('{other}', '{}', '{alice}', 0)",
            remote("carol", "c.example:7801")
        ),
    )
    .await;
    reference(&h, &invited.sha256, Some(other), None, false).await;
    assert_eq!(
        store
            .peer_access(&c, &invited.sha256)
            .await
            .expect("access"),
        Some(false)
    );
    assert_eq!(
        store
            .peer_access(&b, &invited.sha256)
            .await
            .expect("access"),
        None
    );
    // An avatar: any node, and it is public.
    reference(&h, &avatar.sha256, None, Some(&alice), true).await;
    for n in [&b, &ab, &c] {
        assert_eq!(
            store.peer_access(n, &avatar.sha256).await.expect("access"),
            Some(true)
        );
    }
    assert_eq!(store.peer_access(&b, &[9; 32]).await.expect("access"), None);
}

async fn a_remote_copy_counts_for_no_quota_and_becomes_own_when_uploaded(h: Harness) {
    let store = h.db.media();
    let (alice, bob) = (user("alice"), user("bob"));
    let origin: NodeName = "a.example".parse().expect("node");
    let copy = record(4, MediaKind::Image, 1000, T0);
    let public = record(5, MediaKind::Image, 10, T0);
    store
        .record_remote(&copy, &origin, false)
        .await
        .expect("copy");
    store
        .record_remote(&public, &origin, true)
        .await
        .expect("copy");
    assert_eq!(
        store.get(&copy.sha256).await.expect("get"),
        Some(copy.clone())
    );
    assert!(store.is_remote_copy(&copy.sha256).await.expect("copy?"));
    assert_eq!(store.usage(&alice).await.expect("usage"), 0, "no quota");
    assert!(!store.uploaded_by(&alice, &copy.sha256).await.expect("by"));
    assert!(
        !store.may_view(&bob, &copy.sha256).await.expect("view"),
        "a copy alone gives no access"
    );
    assert!(
        store.may_view(&bob, &public.sha256).await.expect("view"),
        "its origin called it public"
    );
    assert_eq!(
        store
            .peer_access(&"c.example".parse().expect("node"), &public.sha256)
            .await
            .expect("access"),
        None,
        "a copy is never public here: no reference"
    );
    // Unreferenced, it is collected like an upload.
    let old = store
        .unreferenced(Timestamp(T0 + 1), 10)
        .await
        .expect("unreferenced");
    assert!(old.iter().any(|r| r.sha256 == copy.sha256));

    // Alice uploads the same bytes: the media is this node's own from now on.
    assert!(
        store
            .record_upload(&copy, &alice, Timestamp(T0 + 5))
            .await
            .expect("upload")
    );
    assert!(!store.is_remote_copy(&copy.sha256).await.expect("copy?"));
    assert_eq!(store.usage(&alice).await.expect("usage"), 1000);
}
