//! Media across real nodes over real QUIC (issue 12, item 4; spec/media.md §7,
//! spec/federation.md §5.16): alice on A posts a photo and a voice message in a group homed on
//! A that bob on B joined; bob's `media.urls` on B gives B's own signed URLs, whose bytes, ranges
//! and thumbnails B serves from its own copy, fetched once. A remote avatar likewise. A file
//! over B's size limit, and a hostile peer serving bytes that do not match the media id (or
//! claiming an over-size file), are refused by B: null URL, 404, nothing stored. A node with no
//! member in the chat gets `not_found` from `media.fetch`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ciborium::Value;
use reqwest::StatusCode;
use sha2::{Digest as _, Sha256};
use winichat_node::federation::{
    Discovery, FedError, FedHandler, FederationSettings, PeerDirectory, PinnedPeer, endpoint,
    incoming,
};
use winichat_node::identity::NodeIdentity;
use winichat_node::media::store::BlobKey;
use winichat_protocol::error_code::{ErrorBody, ErrorCode};
use winichat_protocol::federation::methods::{
    MEDIA_FETCH_CHUNK, MediaFetchParams, MediaFetchResult, method as fed,
};
use winichat_protocol::gateway::chat::{self as api, method};
use winichat_protocol::gateway::{self, ProfileUpdateParams};
use winichat_protocol::ids::{GroupId, MediaId, NodeName};
use winichat_protocol::media::{AttachmentInput, MediaUrlRequest, MediaUrls, MediaUrlsParams};
use winichat_testkit::client::Client;
use winichat_testkit::cluster::{Cluster, ClusterSpec};
use winichat_testkit::media_fixtures as fx;
use winichat_testkit::node::{Backend, TestNode};
use winichat_testkit::users::{self, public_group};

/// Bound on every wait.
const WAIT: Duration = Duration::from_secs(15);
/// B's upload limit in the tests: the photo and the voice message fit, the big file does not.
const B_LIMIT: u64 = 256 * 1024;

winichat_testkit::on_both!(
    a_photo_and_a_voice_message_play_for_bob_from_b_s_own_urls,
    a_remote_avatar_gets_a_url_on_b,
    a_node_without_a_member_gets_not_found,
    a_post_that_would_be_refused_makes_the_home_fetch_nothing,
    b_refuses_wrong_bytes_and_over_size_media_from_a_hostile_peer,
    bob_attaches_b_s_media_in_a_group_of_a_and_a_fetches_it_under_a_grant,
    a_file_of_several_pieces_arrives_whole,
);

// ---- helpers ----

async fn upload(node: &TestNode, token: &str, bytes: Vec<u8>) -> MediaId {
    let response = reqwest::Client::new()
        .post(format!("{}/api/media", node.http_url()))
        .bearer_auth(token)
        .body(bytes)
        .send()
        .await
        .expect("upload");
    assert!(response.status().is_success(), "{}", response.status());
    let body: serde_json::Value = response.json().await.expect("json");
    MediaId::parse(body["id"].as_str().expect("id")).expect("media id")
}

async fn get(node: &TestNode, path: &str, range: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{}{path}", node.http_url()));
    if let Some(range) = range {
        request = request.header("range", range);
    }
    tokio::time::timeout(WAIT, request.send())
        .await
        .expect("answer in time")
        .expect("get")
}

async fn get_bearer(node: &TestNode, path: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{path}", node.http_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("get")
}

async fn urls(client: &mut Client, items: &[(&MediaId, Option<u32>)]) -> Vec<Option<String>> {
    let params = MediaUrlsParams {
        items: items
            .iter()
            .map(|(media, thumb)| MediaUrlRequest {
                media: (*media).clone(),
                thumb: *thumb,
            })
            .collect(),
    };
    let answer: MediaUrls = client.ok(gateway::method::MEDIA_URLS, &params).await;
    answer.urls
}

fn attachment(media: &MediaId) -> AttachmentInput {
    AttachmentInput {
        media: media.clone(),
        name: None,
        voice: false,
        waveform: None,
        duration_ms: None,
        poster: None,
    }
}

/// Two nodes of `backend`; B accepts media up to [`B_LIMIT`].
async fn two_nodes(backend: Backend) -> Cluster {
    Cluster::start(
        ClusterSpec::new([backend, backend])
            .configure(users::unthrottled_gateway)
            .configure_node(1, |c| c.media.max_upload_bytes = B_LIMIT),
    )
    .await
}

/// alice (A) owns a public group on A that bob (B) joined; alice posts `attachments` in it and
/// bob's replica has the post.
async fn posted_in_a_group(
    alice: &mut Client,
    bob: &mut Client,
    a: &TestNode,
    attachments: Vec<AttachmentInput>,
) {
    let group = public_group(alice, "pics").await;
    users::join_by_handle(bob, &format!("#pics:{}", a.name())).await;
    let mut params = users::post_params(&group, "look");
    params.attachments = attachments;
    let written: api::WriteResult = alice.ok(method::MSGS_POST, &params).await;
    users::chat_events_through(bob, &group, written.seq, WAIT).await;
}

// ---- tests ----

async fn a_photo_and_a_voice_message_play_for_bob_from_b_s_own_urls(backend: Backend) {
    let cluster = two_nodes(backend).await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let token = alice.account().token.clone();
    let photo_bytes = fx::jpeg(640, 480);
    let voice_bytes = fx::fixture("tone.ogg");
    let big_bytes: Vec<u8> = (0..B_LIMIT as usize + 1000)
        .map(|i| (i % 251) as u8)
        .collect();
    let photo = upload(a, &token, photo_bytes).await;
    let voice = upload(a, &token, voice_bytes.clone()).await;
    let big = upload(a, &token, big_bytes).await;
    let mut voice_input = attachment(&voice);
    voice_input.voice = true;
    voice_input.waveform = Some(vec![128; 32]);
    posted_in_a_group(
        &mut alice,
        &mut bob,
        a,
        vec![attachment(&photo), voice_input, attachment(&big)],
    )
    .await;

    // The photo as A serves it: what B must serve byte for byte.
    let on_a = urls(&mut alice, &[(&photo, None)]).await;
    let photo_served = get(a, on_a[0].as_deref().expect("alice's URL"), None)
        .await
        .bytes()
        .await
        .expect("body")
        .to_vec();
    assert_eq!(Sha256::digest(&photo_served).as_slice(), photo.sha256);

    // Bob asks twice at once: one fetch per piece of media.
    let items = [
        (&photo, None),
        (&voice, None),
        (&photo, Some(96)),
        (&big, None),
    ];
    let mut bob2 = bob.another(b).await;
    let (first, second) = tokio::join!(urls(&mut bob, &items), urls(&mut bob2, &items));
    assert_eq!(
        b.media().remote_fetches(),
        3,
        "photo, voice and the big file are each fetched once"
    );
    for answer in [&first, &second] {
        let photo_url = answer[0].as_deref().expect("a URL for the photo");
        assert!(
            photo_url.starts_with(&format!("/api/media/{}?", hex::encode(photo.sha256))),
            "B's own signed URL: {photo_url}"
        );
        assert!(answer[1].is_some(), "a URL for the voice message");
        assert!(answer[2].is_some(), "a URL for the photo's thumbnail");
        assert_eq!(answer[3], None, "the file over B's limit is refused");
    }

    let photo_url = first[0].as_deref().expect("photo");
    let whole = get(b, photo_url, None).await;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.bytes().await.expect("body").to_vec(), photo_served);
    let voice_url = first[1].as_deref().expect("voice");
    let whole = get(b, voice_url, None).await;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(
        whole
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("audio/ogg")
    );
    assert_eq!(whole.bytes().await.expect("body").to_vec(), voice_bytes);
    let part = get(b, voice_url, Some("bytes=100-199")).await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok()),
        Some(format!("bytes 100-199/{}", voice_bytes.len()).as_str())
    );
    assert_eq!(
        part.bytes().await.expect("body").to_vec(),
        &voice_bytes[100..200]
    );
    let thumb = get(b, first[2].as_deref().expect("thumb"), None).await;
    assert_eq!(thumb.status(), StatusCode::OK);
    let thumb = fx::decode(&thumb.bytes().await.expect("body")).expect("an image");
    assert_eq!((thumb.width(), thumb.height()), (96, 72), "made by B");

    // Bob's token works on B too (the same rule as for local media); the big file is absent.
    let r = get_bearer(
        b,
        &format!("/api/media/{}", hex::encode(photo.sha256)),
        &bob.account().token,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let big_path = format!("/api/media/{}", hex::encode(big.sha256));
    let r = get_bearer(b, &big_path, &bob.account().token).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        b.media()
            .store()
            .size(&BlobKey::original(big.sha256))
            .await
            .expect("store"),
        None,
        "nothing of the big file is stored on B"
    );
    // Asked again: B's copy answers, and the refused file is not fetched again at once.
    let again = urls(&mut bob, &[(&photo, None), (&big, None)]).await;
    assert_eq!(
        again[0].as_deref(),
        Some(photo_url),
        "same bucket, same URL"
    );
    assert_eq!(again[1], None);
    assert_eq!(b.media().remote_fetches(), 3, "nothing fetched again");
    cluster.shutdown().await;
}

async fn a_remote_avatar_gets_a_url_on_b(backend: Backend) {
    let cluster = two_nodes(backend).await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let avatar_bytes = fx::png(64, 64);
    let avatar = upload(a, &alice.account().token.clone(), avatar_bytes).await;
    let unused = upload(a, &alice.account().token.clone(), fx::png(48, 48)).await;
    let _: gateway::ProfileInfo = alice
        .ok(
            gateway::method::PROFILE_UPDATE,
            &ProfileUpdateParams {
                display_name: None,
                bio: None,
                avatar: Some(Some(avatar.clone())),
            },
        )
        .await;

    // B learns of the avatar from alice's profile, as her node gives it; before that, B fetches
    // nothing for it (nothing here refers to it).
    let before = urls(&mut bob, &[(&avatar, Some(96))]).await;
    assert_eq!(before, vec![None]);
    assert_eq!(b.media().remote_fetches(), 0);
    let profile: gateway::ProfileInfo = bob
        .ok(
            gateway::method::PROFILE_GET,
            &gateway::ProfileGetParams {
                user: Some(alice.user().clone()),
            },
        )
        .await;
    assert_eq!(profile.avatar.as_ref(), Some(&avatar));
    let got = urls(&mut bob, &[(&avatar, Some(96)), (&unused, None)]).await;
    let url = got[0].as_deref().expect("a URL for alice's avatar on B");
    assert!(url.starts_with(&format!(
        "/api/media/{}/thumb/96?",
        hex::encode(avatar.sha256)
    )));
    let thumb = get(b, url, None).await;
    assert_eq!(thumb.status(), StatusCode::OK);
    let thumb = fx::decode(&thumb.bytes().await.expect("body")).expect("an image");
    assert_eq!((thumb.width(), thumb.height()), (64, 64), "never upscaled");
    assert_eq!(
        got[1], None,
        "an upload nothing refers to is not given to B"
    );
    assert_eq!(
        b.media().remote_fetches(),
        1,
        "the unreferenced upload is not even asked for"
    );
    assert_eq!(
        b.media()
            .store()
            .size(&BlobKey::original(unused.sha256))
            .await
            .expect("store"),
        None
    );
    cluster.shutdown().await;
}

async fn a_node_without_a_member_gets_not_found(backend: Backend) {
    let cluster = Cluster::start(
        ClusterSpec::new([backend, backend, backend]).configure(users::unthrottled_gateway),
    )
    .await;
    let (a, b, c) = (cluster.node(0), cluster.node(1), cluster.node(2));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let bytes = fx::fixture("tone.ogg");
    let voice = upload(a, &alice.account().token.clone(), bytes.clone()).await;
    posted_in_a_group(&mut alice, &mut bob, a, vec![attachment(&voice)]).await;

    let ask = |node: &TestNode, offset: u64| {
        let client = node.federation().client();
        let params = gateway::to_value(&MediaFetchParams {
            media: voice.clone(),
            offset,
        })
        .expect("params");
        let to = a.name().clone();
        async move { client.request(&to, fed::MEDIA_FETCH, params).await }
    };
    // B has a member: it gets the bytes.
    let answer: MediaFetchResult =
        gateway::decode_params(&ask(b, 0).await.expect("B may fetch")).expect("a result");
    assert_eq!(answer.size, bytes.len() as u64);
    assert!(!answer.public);
    assert_eq!(answer.data, bytes);
    let past = ask(b, bytes.len() as u64 + 1).await;
    assert!(
        matches!(&past, Err(FedError::Refused { error, .. }) if error.code == ErrorCode::BadRequest),
        "{past:?}"
    );
    // C has none: the same answer as for unknown media.
    let refused = ask(c, 0).await;
    assert!(
        matches!(&refused, Err(FedError::Refused { error, .. }) if error.code == ErrorCode::NotFound),
        "{refused:?}"
    );
    let unknown = {
        let client = c.federation().client();
        let params = gateway::to_value(&MediaFetchParams {
            media: MediaId {
                node: a.name().clone(),
                sha256: [7; 32],
            },
            offset: 0,
        })
        .expect("params");
        client.request(a.name(), fed::MEDIA_FETCH, params).await
    };
    assert!(
        matches!(&unknown, Err(FedError::Refused { error, .. }) if error.code == ErrorCode::NotFound),
        "{unknown:?}"
    );
    cluster.shutdown().await;
}

/// What the hostile peer serves.
struct Hostile {
    /// Bytes served for any media id, whatever its hash.
    bytes: Vec<u8>,
    /// The size claimed.
    size: u64,
    /// `media.fetch` requests answered.
    asked: AtomicU64,
}

#[async_trait::async_trait]
impl FedHandler for Hostile {
    async fn handle(
        &self,
        _origin: &NodeName,
        method: &str,
        params: Value,
    ) -> Result<Value, ErrorBody> {
        if method != fed::MEDIA_FETCH {
            return Err(ErrorBody::new(ErrorCode::UnknownMethod, "not here"));
        }
        self.asked.fetch_add(1, Ordering::SeqCst);
        let p: MediaFetchParams = gateway::decode_params(&params)
            .map_err(|e| ErrorBody::new(ErrorCode::BadRequest, e.to_string()))?;
        let from = usize::try_from(p.offset).unwrap_or(usize::MAX);
        let len = MediaFetchResult::expected_len(self.size, p.offset).unwrap_or(0);
        let mut data: Vec<u8> = self.bytes.iter().skip(from).copied().collect();
        data.resize(usize::try_from(len).unwrap_or(0), 0);
        gateway::to_value(&MediaFetchResult {
            size: self.size,
            public: true,
            data,
        })
        .map_err(|e| ErrorBody::new(ErrorCode::Internal, e.to_string()))
    }
}

/// A peer named `evil.test` speaking real QUIC with its own key, answering `media.fetch` as
/// `hostile` says; B (started after it) pins it.
async fn hostile_peer(
    hostile: Arc<Hostile>,
    backend: Backend,
) -> (TestNode, NodeName, quinn::Endpoint, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let identity = NodeIdentity::load_or_create(dir.path()).expect("identity");
    let name = NodeName::parse("evil.test").expect("name");
    let endpoint =
        endpoint::bind(SocketAddr::from(([127, 0, 0, 1], 0)), &identity, &name, 16).expect("bind");
    let evil = PinnedPeer {
        name: name.clone(),
        quic: endpoint.local_addr().expect("addr"),
        key: identity.public_key().to_bytes(),
    };
    let b = TestNode::start_with(backend, move |c| {
        users::unthrottled_gateway(c);
        c.federation.discovery = Discovery::Pinned;
        c.federation.peers.push(evil.clone());
    })
    .await;
    let settings = FederationSettings {
        discovery: Discovery::Pinned,
        peers: vec![PinnedPeer {
            name: b.name().clone(),
            quic: b.quic_addr(),
            key: b.public_key().to_bytes(),
        }],
        ..FederationSettings::default()
    };
    let peers = Arc::new(PeerDirectory::new(name.clone(), &settings).expect("peers"));
    let incoming = Arc::new(incoming::Incoming::new(name.clone(), peers, hostile));
    tokio::spawn(incoming::accept_loop(endpoint.clone(), incoming));
    (b, name, endpoint, dir)
}

async fn b_refuses_wrong_bytes_and_over_size_media_from_a_hostile_peer(backend: Backend) {
    // Wrong bytes: the peer serves the bytes of another file under the id of this one.
    let wanted = fx::png(40, 30);
    let served = fx::png(30, 40);
    let hostile = Arc::new(Hostile {
        size: served.len() as u64,
        bytes: served,
        asked: AtomicU64::new(0),
    });
    let (b, evil, endpoint, _dir) = hostile_peer(hostile.clone(), backend).await;
    let mut bob = users::register(&b, "bob").await;
    let id = MediaId {
        node: evil.clone(),
        sha256: Sha256::digest(&wanted).into(),
    };
    // As if a profile of evil.test named it as an avatar: B may fetch it for bob.
    b.media().expect_public(&id);
    let got = urls(&mut bob, &[(&id, None), (&id, Some(96))]).await;
    assert_eq!(got, vec![None, None], "refused: the hash does not match");
    assert!(hostile.asked.load(Ordering::SeqCst) >= 1, "B did ask");
    assert_eq!(
        b.media()
            .store()
            .size(&BlobKey::original(id.sha256))
            .await
            .expect("store"),
        None,
        "nothing stored"
    );
    let r = get_bearer(
        &b,
        &format!("/api/media/{}", hex::encode(id.sha256)),
        &bob.account().token,
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    endpoint.close(0u32.into(), b"done");
    b.shutdown().await;

    // Over the limit: the peer claims 100 MiB + 1 byte; B stops after the first piece.
    let hostile = Arc::new(Hostile {
        size: 100 * 1024 * 1024 + 1,
        bytes: vec![0x42; 4096],
        asked: AtomicU64::new(0),
    });
    let (b, evil, endpoint, _dir) = hostile_peer(hostile.clone(), backend).await;
    let mut bob = users::register(&b, "bob").await;
    let id = MediaId {
        node: evil,
        sha256: [9; 32],
    };
    b.media().expect_public(&id);
    let got = urls(&mut bob, &[(&id, None)]).await;
    assert_eq!(got, vec![None], "refused: over B's limit");
    assert_eq!(
        hostile.asked.load(Ordering::SeqCst),
        1,
        "B read one piece of at most {MEDIA_FETCH_CHUNK} bytes, then stopped"
    );
    assert_eq!(
        b.media()
            .store()
            .size(&BlobKey::original(id.sha256))
            .await
            .expect("store"),
        None
    );
    // Asked again at once: not fetched again (a refused fetch waits before a retry).
    let got = urls(&mut bob, &[(&id, None)]).await;
    assert_eq!(got, vec![None]);
    assert_eq!(hostile.asked.load(Ordering::SeqCst), 1);
    endpoint.close(0u32.into(), b"done");
    b.shutdown().await;
}

async fn bob_attaches_b_s_media_in_a_group_of_a_and_a_fetches_it_under_a_grant(backend: Backend) {
    let cluster = two_nodes(backend).await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let group = public_group(&mut alice, "pics").await;
    users::join_by_handle(&mut bob, &format!("#pics:{}", a.name())).await;
    let photo = upload(b, &bob.account().token.clone(), fx::jpeg(320, 240)).await;
    assert_eq!(&photo.node, b.name());

    // Before bob posts it, A may not fetch it.
    let ask = || {
        let client = a.federation().client();
        let params = gateway::to_value(&MediaFetchParams {
            media: photo.clone(),
            offset: 0,
        })
        .expect("params");
        let to = b.name().clone();
        async move { client.request(&to, fed::MEDIA_FETCH, params).await }
    };
    let refused = ask().await;
    assert!(
        matches!(&refused, Err(FedError::Refused { error, .. }) if error.code == ErrorCode::NotFound),
        "{refused:?}"
    );

    let mut params = users::post_params(&group, "from B");
    params.attachments = vec![attachment(&photo)];
    let written: api::WriteResult = bob.ok(method::MSGS_POST, &params).await;
    users::chat_events_through(&mut alice, &group, written.seq, WAIT).await;
    assert_eq!(a.media().remote_fetches(), 1, "A fetched it to attach it");

    // Bob's bytes as B serves them; alice gets A's URL for A's copy of the same bytes.
    let on_b = urls(&mut bob, &[(&photo, None)]).await;
    let bytes = get(b, on_b[0].as_deref().expect("bob's URL"), None)
        .await
        .bytes()
        .await
        .expect("body")
        .to_vec();
    let on_a = urls(&mut alice, &[(&photo, None), (&photo, Some(96))]).await;
    let url = on_a[0].as_deref().expect("a URL on A");
    let r = get(a, url, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.expect("body").to_vec(), bytes);
    let thumb = get(a, on_a[1].as_deref().expect("thumb"), None).await;
    assert_eq!(thumb.status(), StatusCode::OK);
    assert_eq!(a.media().remote_fetches(), 1, "fetched once");
    // The message in A's log names B's media and the attachment A described from its copy.
    let history = users::latest_history(&mut alice, &group).await;
    let body = format!("{:?}", history.items.last().expect("the post").body);
    assert!(body.contains("image/jpeg"), "{body}");
    cluster.shutdown().await;
}

async fn a_post_that_would_be_refused_makes_the_home_fetch_nothing(backend: Backend) {
    let cluster = two_nodes(backend).await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    let photo = upload(b, &bob.account().token.clone(), fx::jpeg(320, 240)).await;

    // A group that does not exist, and one bob is not in: refused before A fetches anything.
    let missing: GroupId = format!("!nosuch:{}", a.name()).parse().expect("group");
    let mut params = users::post_params(&missing, "from B");
    params.attachments = vec![attachment(&photo)];
    bob.err(method::MSGS_POST, &params, ErrorCode::NotFound)
        .await;
    let group = public_group(&mut alice, "closed").await;
    let mut params = users::post_params(&group, "from B");
    params.attachments = vec![attachment(&photo)];
    bob.err(method::MSGS_POST, &params, ErrorCode::Forbidden)
        .await;
    assert_eq!(a.media().remote_fetches(), 0, "A downloaded nothing");

    // Nor may bob set a group photo of B's media on a group of A, even as its owner's peer.
    users::join_group(&mut bob, &group).await;
    let photo_update = api::GroupUpdateParams {
        txn: winichat_testkit::client::txn(),
        group: group.clone(),
        name: None,
        description: None,
        photo: Some(Some(photo.clone())),
        visibility: None,
        handle: None,
    };
    bob.err(method::GROUPS_UPDATE, &photo_update, ErrorCode::BadRequest)
        .await;
    assert_eq!(a.media().remote_fetches(), 0, "A downloaded nothing");
    cluster.shutdown().await;
}

async fn a_file_of_several_pieces_arrives_whole(backend: Backend) {
    let cluster =
        Cluster::start(ClusterSpec::new([backend, backend]).configure(users::unthrottled_gateway))
            .await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut alice = users::register(a, "alice").await;
    let mut bob = users::register(b, "bob").await;
    // Two whole pieces and a part of a third.
    let len = 2 * MEDIA_FETCH_CHUNK as usize + 12_345;
    let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 253) as u8).collect();
    let file = upload(a, &alice.account().token.clone(), bytes.clone()).await;
    posted_in_a_group(&mut alice, &mut bob, a, vec![attachment(&file)]).await;

    let got = urls(&mut bob, &[(&file, None)]).await;
    let url = got[0].as_deref().expect("a URL on B");
    let whole = get(b, url, None).await;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.bytes().await.expect("body").to_vec(), bytes);
    // A range across the first piece's end.
    let from = MEDIA_FETCH_CHUNK as usize - 10;
    let part = get(b, url, Some(&format!("bytes={from}-{}", from + 19))).await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.bytes().await.expect("body").to_vec(),
        &bytes[from..from + 20]
    );
    assert_eq!(b.media().remote_fetches(), 1);
    cluster.shutdown().await;
}
