//! Media in chats: attachments in messages reach the members and only them, the node writes
//! what it knows about each upload into the signed body, deleting a message takes its media's
//! reference away, and group photos and avatars are visible to anyone signed in.

use reqwest::StatusCode;
use winichat_protocol::error_code::ErrorCode;
use winichat_protocol::event::EventKind;
use winichat_protocol::gateway::chat::{self as api, method};
use winichat_protocol::gateway::{ProfileInfo, ProfileUpdateParams, SearchParams, SearchResult};
use winichat_protocol::group::bodies::MsgPost;
use winichat_protocol::group::{EVERYONE, Permissions, Visibility};
use winichat_protocol::ids::{GroupId, MediaId};
use winichat_protocol::media::{
    AttachmentInput, MediaKind, MediaUrlRequest, MediaUrls, MediaUrlsParams,
};
use winichat_testkit::client::{Client, txn};
use winichat_testkit::media_fixtures;
use winichat_testkit::node::{Backend, TestNode};

use crate::common::{Chat, post_params, start, users};

on_both!(
    attachments_reach_members_and_only_members,
    attachments_follow_the_rules,
    group_photos_and_avatars_are_visible_to_anyone_signed_in,
    referenced_media_survives_the_clean_up,
    a_direct_chat_shows_the_peers_avatar,
);

/// Uploads `bytes` as `client` and returns the media id.
async fn upload(node: &TestNode, client: &Client, bytes: Vec<u8>, name: &str) -> MediaId {
    let response = reqwest::Client::new()
        .post(format!("{}/api/media?name={name}", node.http_url()))
        .bearer_auth(&client.account().token)
        .body(bytes)
        .send()
        .await
        .expect("upload");
    assert!(
        response.status().is_success(),
        "upload answered {}",
        response.status()
    );
    let body: serde_json::Value = response.json().await.expect("upload JSON");
    body["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("the id parses")
}

fn attach(media: &MediaId, name: &str) -> AttachmentInput {
    AttachmentInput {
        media: media.clone(),
        name: Some(name.to_owned()),
        voice: false,
        waveform: None,
        duration_ms: None,
        poster: None,
    }
}

fn post_with(group: &GroupId, text: &str, attachments: Vec<AttachmentInput>) -> api::PostParams {
    api::PostParams {
        attachments,
        ..post_params(group, text)
    }
}

/// `media.urls` for `items` as `client`.
async fn urls(client: &mut Client, items: Vec<(MediaId, Option<u32>)>) -> Vec<Option<String>> {
    let params = MediaUrlsParams {
        items: items
            .into_iter()
            .map(|(media, thumb)| MediaUrlRequest { media, thumb })
            .collect(),
    };
    let result: MediaUrls = client.ok("media.urls", &params).await;
    result.urls
}

async fn fetch(node: &TestNode, url: &str) -> (StatusCode, Vec<u8>) {
    let response = reqwest::get(format!("{}{url}", node.http_url()))
        .await
        .expect("GET");
    let status = response.status();
    (status, response.bytes().await.expect("body").to_vec())
}

async fn fetch_as(node: &TestNode, client: &Client, id: &MediaId) -> StatusCode {
    reqwest::Client::new()
        .get(format!(
            "{}/api/media/{}",
            node.http_url(),
            id.sha256
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ))
        .bearer_auth(&client.account().token)
        .send()
        .await
        .expect("GET")
        .status()
}

fn post_of(push: &api::ChatEventPush) -> MsgPost {
    push.item.body.deserialized().expect("a msg.post body")
}

async fn attachments_reach_members_and_only_members(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob, mut carol] = users(&node, ["alice", "bob", "carol"]).await;
    let group = alice
        .create_group("pictures", Visibility::Private, None)
        .await
        .group;
    alice.invite_and_join(&group, &mut bob).await;
    let photo = upload(&node, &alice, media_fixtures::png(64, 48), "cat.png").await;
    let song = upload(
        &node,
        &alice,
        media_fixtures::fixture("tone.ogg"),
        "tone.ogg",
    )
    .await;

    let written: api::WriteResult = alice
        .ok(
            method::MSGS_POST,
            &post_with(
                &group,
                "look",
                vec![attach(&photo, "cat.png"), attach(&song, "tone.ogg")],
            ),
        )
        .await;
    let push = bob.event_at(&group, written.seq).await;
    let post = post_of(&push);
    assert_eq!(post.text, "look");
    assert_eq!(post.attachments.len(), 2);
    let image = &post.attachments[0];
    assert_eq!(image.media, photo);
    assert_eq!(image.kind, MediaKind::Image);
    assert_eq!(image.mime, "image/png");
    assert_eq!((image.width, image.height), (Some(64), Some(48)));
    assert_eq!(image.name.as_deref(), Some("cat.png"));
    assert!(image.blurhash.is_some(), "images carry a placeholder");
    let audio = &post.attachments[1];
    assert_eq!(audio.kind, MediaKind::Audio);
    assert!(
        audio.duration_ms.is_some_and(|d| d > 0),
        "the node reads the duration: {audio:?}"
    );

    // A member gets working URLs for the original and a thumbnail.
    let signed = urls(
        &mut bob,
        vec![(photo.clone(), None), (photo.clone(), Some(320))],
    )
    .await;
    let original = signed[0].as_deref().expect("bob may see the photo");
    let (status, bytes) = fetch(&node, original).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        media_fixtures::decode(&bytes).expect("an image").width(),
        64
    );
    let (status, _) = fetch(&node, signed[1].as_deref().expect("thumbnail URL")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetch_as(&node, &bob, &photo).await, StatusCode::OK);

    // An outsider gets nothing, signed or not.
    assert_eq!(
        urls(&mut carol, vec![(photo.clone(), None)]).await,
        vec![None]
    );
    assert_eq!(fetch_as(&node, &carol, &photo).await, StatusCode::NOT_FOUND);

    // Deleting the message takes the members' access away; the uploader keeps theirs.
    let _: api::WriteResult = alice
        .ok(
            method::MSGS_DELETE,
            &api::MsgParams {
                txn: txn(),
                group: group.clone(),
                seq: written.seq,
            },
        )
        .await;
    bob.event_until(&group, EventKind::MsgDelete).await;
    assert_eq!(
        urls(&mut bob, vec![(photo.clone(), None)]).await,
        vec![None]
    );
    assert_eq!(fetch_as(&node, &bob, &photo).await, StatusCode::NOT_FOUND);
    assert_eq!(fetch_as(&node, &alice, &photo).await, StatusCode::OK);
    node.shutdown().await;
}

async fn attachments_follow_the_rules(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob] = users(&node, ["alice", "bob"]).await;
    let group = alice
        .create_group("rules", Visibility::Private, None)
        .await
        .group;
    alice.invite_and_join(&group, &mut bob).await;
    let photo = upload(&node, &alice, media_fixtures::png(20, 20), "a.png").await;
    let voice = upload(&node, &bob, media_fixtures::fixture("voice.webm"), "v.webm").await;

    // Someone else's upload cannot be attached: it reads as unknown media.
    bob.err(
        method::MSGS_POST,
        &post_with(&group, "mine?", vec![attach(&photo, "a.png")]),
        ErrorCode::NotFound,
    )
    .await;

    // A voice message needs a waveform; an image cannot be one.
    let mut input = attach(&voice, "v.webm");
    input.voice = true;
    bob.err(
        method::MSGS_POST,
        &post_with(&group, "", vec![input.clone()]),
        ErrorCode::BadRequest,
    )
    .await;
    let mut image_voice = attach(&photo, "a.png");
    image_voice.voice = true;
    image_voice.waveform = Some(vec![10; 32]);
    image_voice.duration_ms = Some(1000);
    alice
        .err(
            method::MSGS_POST,
            &post_with(&group, "", vec![image_voice]),
            ErrorCode::BadRequest,
        )
        .await;

    // With its waveform and a measured duration, a caption-less voice message goes out.
    input.waveform = Some((0..64).map(|i| (i * 4) as u8).collect());
    input.duration_ms = Some(1500);
    let written: api::WriteResult = bob
        .ok(method::MSGS_POST, &post_with(&group, "", vec![input]))
        .await;
    let post = post_of(&alice.event_at(&group, written.seq).await);
    assert_eq!(post.text, "");
    assert_eq!(post.attachments[0].kind, MediaKind::Voice);
    assert_eq!(
        post.attachments[0].waveform.as_ref().map(Vec::len),
        Some(64)
    );
    assert!(post.attachments[0].duration_ms.is_some());

    // Empty text with no attachment is still refused.
    alice
        .err(
            method::MSGS_POST,
            &post_params(&group, ""),
            ErrorCode::BadRequest,
        )
        .await;

    // Without send_media, text still goes but media does not.
    let _: api::WriteResult = alice
        .ok(
            method::ROLES_UPDATE,
            &api::RoleUpdateParams {
                txn: txn(),
                group: group.clone(),
                role: EVERYONE,
                name: None,
                colour: None,
                permissions: Some(Permissions(
                    Permissions::EVERYONE_DEFAULT.0 & !Permissions::SEND_MEDIA.0,
                )),
                rank: None,
            },
        )
        .await;
    let own = upload(&node, &bob, media_fixtures::png(8, 8), "b.png").await;
    bob.err(
        method::MSGS_POST,
        &post_with(&group, "pic", vec![attach(&own, "b.png")]),
        ErrorCode::Forbidden,
    )
    .await;
    bob.post(&group, "text is fine").await;
    node.shutdown().await;
}

async fn group_photos_and_avatars_are_visible_to_anyone_signed_in(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob, mut carol] = users(&node, ["alice", "bob", "carol"]).await;
    let group = alice
        .create_group("club", Visibility::Private, None)
        .await
        .group;
    alice.invite_and_join(&group, &mut bob).await;
    let photo = upload(&node, &alice, media_fixtures::png(100, 100), "club.png").await;
    let text = upload(&node, &alice, media_fixtures::html_document(), "x.html").await;
    let bobs = upload(&node, &bob, media_fixtures::png(30, 30), "bob.png").await;

    let update = |photo: Option<Option<MediaId>>| api::GroupUpdateParams {
        txn: txn(),
        group: group.clone(),
        name: None,
        description: None,
        visibility: None,
        handle: None,
        photo,
    };
    // Only an image of one's own.
    alice
        .err(
            method::GROUPS_UPDATE,
            &update(Some(Some(text.clone()))),
            ErrorCode::BadRequest,
        )
        .await;
    alice
        .err(
            method::GROUPS_UPDATE,
            &update(Some(Some(bobs.clone()))),
            ErrorCode::NotFound,
        )
        .await;

    let _: api::WriteResult = alice
        .ok(method::GROUPS_UPDATE, &update(Some(Some(photo.clone()))))
        .await;
    bob.event_until(&group, EventKind::GroupUpdate).await;
    assert_eq!(bob.summary(&group).await.photo, Some(photo.clone()));
    // Not a member, yet the photo shows (as in an invite preview).
    assert!(urls(&mut carol, vec![(photo.clone(), Some(96))]).await[0].is_some());

    // Removing it: the summary has none, and outsiders lose it.
    let _: api::WriteResult = alice.ok(method::GROUPS_UPDATE, &update(Some(None))).await;
    bob.event_until(&group, EventKind::GroupUpdate).await;
    assert_eq!(bob.summary(&group).await.photo, None);
    assert_eq!(
        urls(&mut carol, vec![(photo.clone(), None)]).await,
        vec![None]
    );

    // Avatars.
    alice
        .err(
            "profile.update",
            &ProfileUpdateParams {
                avatar: Some(Some(bobs.clone())),
                ..Default::default()
            },
            ErrorCode::NotFound,
        )
        .await;
    let me: ProfileInfo = alice
        .ok(
            "profile.update",
            &ProfileUpdateParams {
                avatar: Some(Some(photo.clone())),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(me.avatar, Some(photo.clone()));
    let found: SearchResult = carol
        .ok(
            "users.search",
            &SearchParams {
                query: "alice".into(),
                limit: None,
                after: None,
            },
        )
        .await;
    assert_eq!(found.users[0].avatar, Some(photo.clone()));
    assert!(urls(&mut carol, vec![(photo.clone(), Some(96))]).await[0].is_some());
    let detail = bob.detail(&group).await;
    let listed = detail
        .members
        .iter()
        .find(|m| &m.user == alice.user())
        .expect("alice is listed");
    assert_eq!(listed.avatar, Some(photo.clone()));

    let me: ProfileInfo = alice
        .ok(
            "profile.update",
            &ProfileUpdateParams {
                avatar: Some(None),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(me.avatar, None);
    assert_eq!(urls(&mut carol, vec![(photo, None)]).await, vec![None]);
    node.shutdown().await;
}

async fn referenced_media_survives_the_clean_up(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob] = users(&node, ["alice", "bob"]).await;
    let dm = alice.dm_open(bob.user()).await.group;
    let kept = upload(&node, &alice, media_fixtures::png(12, 12), "kept.png").await;
    let dropped = upload(&node, &alice, media_fixtures::png(13, 13), "dropped.png").await;
    let written: api::WriteResult = alice
        .ok(
            method::MSGS_POST,
            &post_with(&dm, "keep this", vec![attach(&kept, "kept.png")]),
        )
        .await;
    bob.event_at(&dm, written.seq).await;

    // Two days on, past any grace period.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis();
    let later =
        winichat_protocol::Timestamp(u64::try_from(now).expect("ms") + 2 * 24 * 3600 * 1000);
    let removed = node.media().gc(later).await.expect("clean-up");
    assert_eq!(removed, 1, "only the unreferenced upload goes");
    assert_eq!(fetch_as(&node, &bob, &kept).await, StatusCode::OK);
    assert_eq!(
        fetch_as(&node, &alice, &dropped).await,
        StatusCode::NOT_FOUND
    );
    node.shutdown().await;
}

/// A direct chat has no photo of its own: its summary's `photo` is the peer's avatar, for each
/// side (gateway.md §8.4), and follows the avatar when it changes.
async fn a_direct_chat_shows_the_peers_avatar(backend: Backend) {
    let node = start(backend).await;
    let [mut alice, mut bob] = users(&node, ["alice", "bob"]).await;
    let face = upload(&node, &bob, media_fixtures::png(32, 32), "face.png").await;
    let dm = alice.dm_open(bob.user()).await;
    assert_eq!(dm.photo, None, "bob has no avatar yet");
    let _: ProfileInfo = bob
        .ok(
            "profile.update",
            &ProfileUpdateParams {
                avatar: Some(Some(face.clone())),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(alice.summary(&dm.group).await.photo, Some(face.clone()));
    let list: api::ChatList = alice
        .ok(method::CHATS_LIST, &winichat_protocol::gateway::Empty {})
        .await;
    assert_eq!(list.chats[0].photo, Some(face.clone()));
    assert_eq!(alice.detail(&dm.group).await.chat.photo, Some(face));
    // Alice has no avatar: Bob's side shows none.
    assert_eq!(bob.summary(&dm.group).await.photo, None);
    node.shutdown().await;
}
