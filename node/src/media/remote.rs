//! Media of other nodes (spec/media.md §7, spec/federation.md §5.16).
//!
//! As the **home** of a piece of media, this node answers `media.fetch` from a peer that may
//! see it ([`Media::serve_peer`]): a public reference exists, or a message or group photo of a
//! group where the peer has a member or a pending invitee refers to it.
//!
//! As a **fetching** node, it keeps a *remote copy* of media of another node that one of its
//! users may see, fetched on demand ([`Media::remote_for`], called by `media.urls`) in pieces
//! of at most [`MEDIA_FETCH_CHUNK`] bytes, refused as soon as it is over
//! [`super::MediaSettings::max_upload_bytes`], checked against the media id's SHA-256 before
//! anything is recorded, and stored under that hash as it was received (never rewritten: its
//! hash is fixed), with thumbnails this node makes itself. A remote copy has no upload row, so
//! it counts against no quota, and the clean-up removes it once nothing refers to it.
//! Concurrent requests for the same media fetch it once; a refused or failed fetch is not
//! tried again for [`RETRY_AFTER`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use sha2::{Digest as _, Sha256};
use winichat_protocol::federation::methods::{
    MEDIA_FETCH_CHUNK, MediaFetchParams, MediaFetchResult, method,
};
use winichat_protocol::gateway;
use winichat_protocol::ids::{MediaId, NodeName, UserId};
use winichat_protocol::media::MediaKind;

use super::process::{self, ProcessError};
use super::store::BlobKey;
use super::{Media, MediaError, now};
use crate::federation::FedClient;
use crate::storage::media::MediaRecord;

/// How long a refused or failed fetch of one piece of media is not tried again.
pub const RETRY_AFTER: Duration = Duration::from_secs(10);
/// How long the home of a group may fetch media a user of this node attached to a post there.
pub const GRANT_LIFETIME: Duration = Duration::from_secs(300);

/// Remote avatars noted at most ([`Media::expect_public`]).
const MAX_EXPECTED_PUBLIC: usize = 10_000;

/// The fetching side's state.
#[derive(Default)]
pub(super) struct Remote {
    /// Sends `media.fetch`; unset on a node that does not federate.
    client: OnceLock<Arc<dyn FedClient>>,
    /// One lock per media being fetched: concurrent requests wait for the first fetch.
    fetching: std::sync::Mutex<HashMap<MediaId, Arc<tokio::sync::Mutex<()>>>>,
    /// Media whose fetch was refused or failed, and when.
    failed: std::sync::Mutex<HashMap<MediaId, Instant>>,
    /// Media its origin did not call public, asked for by a user who may not see it here, and
    /// when: not asked again for such users for a while (users who may see it still fetch it).
    hidden: std::sync::Mutex<HashMap<MediaId, Instant>>,
    /// Avatars of users of other nodes, as their profiles name them: the only media a user
    /// who may not see it through a chat here may have fetched (a public reference), so that
    /// no one makes this node download media nothing here refers to.
    expected_public: std::sync::Mutex<std::collections::HashSet<MediaId>>,
    /// Fetches started (first pieces asked for), for monitoring and tests.
    started: AtomicU64,
    /// Media of this node that another node (the home of a group) may fetch until a time:
    /// a user of this node attached it to a post submitted there.
    grants: std::sync::Mutex<HashMap<(NodeName, [u8; 32]), Instant>>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("federates", &self.client.get().is_some())
            .field("started", &self.started.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Why a fetch was given up: logged, never shown beyond "unavailable".
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("the origin did not answer: {0}")]
    Request(String),
    #[error("the origin answered a malformed piece: {0}")]
    Malformed(String),
    #[error("{size} bytes, over this node's limit of {limit}")]
    TooLarge { size: u64, limit: u64 },
    #[error("the bytes do not match the media id's SHA-256")]
    WrongHash,
    #[error("not public, and the user who asked may not see it here")]
    NotVisible,
    #[error(transparent)]
    Media(#[from] MediaError),
}

impl From<std::io::Error> for Refusal {
    fn from(e: std::io::Error) -> Self {
        Refusal::Media(MediaError::Io(e))
    }
}

impl Media {
    /// Lets this node fetch media of other nodes. Called once at start-up; later calls are
    /// ignored.
    pub fn attach_client(&self, client: Arc<dyn FedClient>) {
        let _ = self.inner.remote.client.set(client);
    }

    /// How many fetches of remote media this node started (one per piece of media fetched,
    /// however many users asked for it at once).
    pub fn remote_fetches(&self) -> u64 {
        self.inner.remote.started.load(Ordering::Relaxed)
    }

    /// Answers `media.fetch` from `peer`: the size, whether a public reference exists, and the
    /// bytes from `offset` (at most [`MEDIA_FETCH_CHUNK`]). Media of another node is
    /// [`MediaError::Invalid`]; unknown media, a remote copy, and media `peer` may not see are
    /// all [`MediaError::NotFound`]; an `offset` past the end is [`MediaError::Invalid`].
    pub async fn serve_peer(
        &self,
        peer: &NodeName,
        params: &MediaFetchParams,
    ) -> Result<MediaFetchResult, MediaError> {
        if params.media.node != *self.node() {
            return Err(MediaError::invalid("that media is not stored by this node"));
        }
        let sha256 = &params.media.sha256;
        let media = self.db().media();
        let public = match media.peer_access(peer, sha256).await? {
            Some(public) => public,
            None if self.granted(peer, sha256) => false,
            None => return Err(MediaError::NotFound),
        };
        if media.is_remote_copy(sha256).await? {
            return Err(MediaError::NotFound);
        }
        let record = media.get(sha256).await?.ok_or(MediaError::NotFound)?;
        let len = MediaFetchResult::expected_len(record.size, params.offset)
            .ok_or_else(|| MediaError::invalid("the offset is past the end of the media"))?;
        let mut data = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        if len > 0 {
            let range = params.offset..params.offset + len;
            let mut read = self.read(&BlobKey::original(*sha256), Some(range)).await?;
            while let Some(chunk) = read.stream.next().await {
                data.extend_from_slice(&chunk?);
            }
            if data.len() as u64 != len {
                tracing::warn!(media = %params.media, "media blob shorter than recorded");
                return Err(MediaError::NotFound);
            }
        }
        Ok(MediaFetchResult {
            size: record.size,
            public,
            data,
        })
    }

    /// Lets `home` fetch the media of this node among `attachments` (and their posters) that
    /// `user` uploaded, for [`GRANT_LIFETIME`]: `user` is submitting a post with them to a
    /// group homed there, whose home must fetch them to attach them. Other media is ignored
    /// (the home refuses it).
    pub async fn grant(
        &self,
        home: &NodeName,
        user: &UserId,
        attachments: &[winichat_protocol::media::AttachmentInput],
    ) -> Result<(), MediaError> {
        let mut ids: Vec<[u8; 32]> = Vec::new();
        for attachment in attachments {
            for id in std::iter::once(&attachment.media).chain(attachment.poster.as_ref()) {
                if id.node == *self.node() {
                    ids.push(id.sha256);
                }
            }
        }
        let mut granted = Vec::new();
        for sha256 in ids {
            if self.db().media().uploaded_by(user, &sha256).await? {
                granted.push(sha256);
            }
        }
        self.grant_for(home, granted);
        Ok(())
    }

    /// Lets `home` fetch the media of this node among `attachments` (and their posters), for
    /// [`GRANT_LIFETIME`], whoever uploaded it: they are the attachments of a message of a
    /// chat homed here that the caller may read, and which this node is forwarding for them
    /// into a group homed there (spec/federation.md §5.6). Other media is ignored.
    pub fn grant_forwarded(
        &self,
        home: &NodeName,
        attachments: &[winichat_protocol::media::Attachment],
    ) {
        let ids = attachments
            .iter()
            .flat_map(|a| std::iter::once(&a.media).chain(a.poster.as_ref()))
            .filter(|id| id.node == *self.node())
            .map(|id| id.sha256)
            .collect();
        self.grant_for(home, ids);
    }

    fn grant_for(&self, home: &NodeName, granted: Vec<[u8; 32]>) {
        let until = Instant::now() + GRANT_LIFETIME;
        let mut grants = self
            .inner
            .remote
            .grants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        grants.retain(|_, at| *at > Instant::now());
        for sha256 in granted {
            grants.insert((home.clone(), sha256), until);
        }
    }

    fn granted(&self, peer: &NodeName, sha256: &[u8; 32]) -> bool {
        self.inner
            .remote
            .grants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(peer.clone(), *sha256))
            .is_some_and(|until| *until > Instant::now())
    }

    /// The record of `media`, of a user's own node, that a post of theirs attaches: a copy
    /// fetched from that node now (which answers only under a grant for this node, or when
    /// this node may see it anyway). A copy already here is checked with the origin by asking
    /// for its last byte's piece; [`MediaError::NotFound`] when the origin refuses or fails.
    pub(crate) async fn granted_copy(&self, media: &MediaId) -> Result<MediaRecord, MediaError> {
        let Some(client) = self.inner.remote.client.get() else {
            return Err(MediaError::NotFound);
        };
        if let Some(row) = self.db().media().get(&media.sha256).await? {
            let params = gateway::to_value(&MediaFetchParams {
                media: media.clone(),
                offset: row.size,
            })
            .map_err(|e| MediaError::Io(std::io::Error::other(e.to_string())))?;
            let answer = client
                .request(&media.node, method::MEDIA_FETCH, params)
                .await
                .map_err(|_| MediaError::NotFound)?;
            let piece: MediaFetchResult =
                gateway::decode_params(&answer).map_err(|_| MediaError::NotFound)?;
            return if piece.size == row.size {
                Ok(row)
            } else {
                Err(MediaError::NotFound)
            };
        }
        // Not a remembered failure: the user may retry at once after their node answers.
        self.inner
            .remote
            .failed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(media);
        self.fetch_once(media, true).await;
        self.db()
            .media()
            .get(&media.sha256)
            .await?
            .ok_or(MediaError::NotFound)
    }

    /// Notes that `media` is named as the avatar of a user of its node (their profile, as
    /// that node gave it): users here may have it fetched though no chat here refers to it.
    pub fn expect_public(&self, media: &MediaId) {
        let mut expected = self
            .inner
            .remote
            .expected_public
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Bounded: past the cap the oldest notes are forgotten wholesale (a forgotten avatar
        // is noted again when its profile is next fetched).
        if expected.len() >= MAX_EXPECTED_PUBLIC {
            expected.clear();
        }
        expected.insert(media.clone());
    }

    fn expects_public(&self, media: &MediaId) -> bool {
        self.inner
            .remote
            .expected_public
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(media)
    }

    /// The stored record of `media` (of another node) if `user` may see it, fetching a copy
    /// from its node first when none is here. `None` when the user may not see it, or the
    /// fetch failed or was refused (logged): such media is never served.
    pub async fn remote_for(
        &self,
        user: &UserId,
        media: &MediaId,
    ) -> Result<Option<MediaRecord>, MediaError> {
        let sha256 = &media.sha256;
        if let Some(row) = self.db().media().get(sha256).await? {
            return Ok(self.may_view(user, sha256).await?.then_some(row));
        }
        let visible = self.may_view(user, sha256).await?;
        if !visible && !self.expects_public(media) {
            return Ok(None);
        }
        self.fetch_once(media, visible).await;
        let Some(row) = self.db().media().get(sha256).await? else {
            return Ok(None);
        };
        Ok(self.may_view(user, sha256).await?.then_some(row))
    }

    /// Fetches `media` unless a copy arrived meanwhile or a recent fetch of it failed; one
    /// fetch per media at a time, the others wait for it.
    async fn fetch_once(&self, media: &MediaId, visible: bool) {
        let remote = &self.inner.remote;
        // Keyed by the whole id: another node naming the same hash does not stand in the way
        // of the genuine media's fetch.
        let key = media.clone();
        let lock = {
            let mut fetching = remote
                .fetching
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            fetching.entry(key.clone()).or_default().clone()
        };
        {
            let _turn = lock.lock().await;
            let recent = |map: &std::sync::Mutex<HashMap<MediaId, Instant>>| {
                map.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get(&key)
                    .is_some_and(|at| at.elapsed() < RETRY_AFTER)
            };
            let skip = recent(&remote.failed) || (!visible && recent(&remote.hidden));
            let stored = matches!(self.db().media().get(&media.sha256).await, Ok(Some(_)));
            if !skip
                && !stored
                && let Err(e) = self.fetch(media, visible).await
            {
                let map = if matches!(e, Refusal::NotVisible) {
                    tracing::debug!(media = %media, "remote media not visible to the asking user");
                    &remote.hidden
                } else {
                    tracing::warn!(media = %media, reason = %e, "remote media refused");
                    &remote.failed
                };
                let mut map = map
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                map.retain(|_, at| at.elapsed() < RETRY_AFTER);
                map.insert(key.clone(), Instant::now());
            }
        }
        let mut fetching = remote
            .fetching
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Ours and the map's: nobody else waits for this fetch.
        if Arc::strong_count(&lock) <= 2 {
            fetching.remove(&key);
        }
    }

    /// Fetches `media` from its node piece by piece into a staged file, checks its size and
    /// hash, makes thumbnails, publishes and records it. `visible`: the user who asked may see
    /// it through this node's own references; otherwise only a public one (the origin's
    /// `public`) lets it be kept. Nothing is recorded unless every check passed.
    async fn fetch(&self, media: &MediaId, visible: bool) -> Result<(), Refusal> {
        let Some(client) = self.inner.remote.client.get() else {
            return Ok(());
        };
        self.inner.remote.started.fetch_add(1, Ordering::Relaxed);
        let limit = self.settings().max_upload_bytes;
        // Dropping `staged` on any early return removes the file.
        let mut staged = self.store().stage().await?;
        let mut hasher = Sha256::new();
        let mut prefix = Vec::with_capacity(process::SNIFF_LEN);
        let mut offset = 0u64;
        let mut known: Option<(u64, bool)> = None;
        loop {
            let params = gateway::to_value(&MediaFetchParams {
                media: media.clone(),
                offset,
            })
            .map_err(|e| Refusal::Malformed(e.to_string()))?;
            let answer = client
                .request(&media.node, method::MEDIA_FETCH, params)
                .await
                .map_err(|e| Refusal::Request(e.to_string()))?;
            let piece: MediaFetchResult =
                gateway::decode_params(&answer).map_err(|e| Refusal::Malformed(e.to_string()))?;
            let (size, public) = match known {
                None => {
                    if piece.size > limit {
                        return Err(Refusal::TooLarge {
                            size: piece.size,
                            limit,
                        });
                    }
                    if piece.size == 0 {
                        return Err(Refusal::Malformed("empty media".into()));
                    }
                    if !visible && !piece.public {
                        // The user who asked may not see it: nothing is kept.
                        return Err(Refusal::NotVisible);
                    }
                    known = Some((piece.size, piece.public));
                    (piece.size, piece.public)
                }
                Some((size, public)) if size == piece.size => (size, public),
                Some(_) => return Err(Refusal::Malformed("the size changed".into())),
            };
            let want = MediaFetchResult::expected_len(size, offset)
                .ok_or_else(|| Refusal::Malformed("past the end".into()))?;
            if piece.data.len() as u64 != want || want > MEDIA_FETCH_CHUNK {
                return Err(Refusal::Malformed(format!(
                    "{} bytes at offset {offset}, expected {want}",
                    piece.data.len()
                )));
            }
            hasher.update(&piece.data);
            if prefix.len() < process::SNIFF_LEN {
                let take = (process::SNIFF_LEN - prefix.len()).min(piece.data.len());
                prefix.extend_from_slice(&piece.data[..take]);
            }
            staged.write(&piece.data).await?;
            offset += want;
            if offset == size {
                let sha256: [u8; 32] = hasher.finalize().into();
                if sha256 != media.sha256 {
                    return Err(Refusal::WrongHash);
                }
                staged.finish().await?;
                return self.keep(media, staged, size, public, &prefix).await;
            }
        }
    }

    /// Processes a checked remote copy (without changing its bytes), then publishes and
    /// records it.
    async fn keep(
        &self,
        media: &MediaId,
        staged: super::store::Staged,
        size: u64,
        public: bool,
        prefix: &[u8],
    ) -> Result<(), Refusal> {
        let sniffed = process::sniff(prefix);
        let processed = {
            let _slot = if sniffed.kind == MediaKind::Image {
                Some(
                    self.inner
                        .processing
                        .acquire()
                        .await
                        .map_err(|e| MediaError::Io(std::io::Error::other(e)))?,
                )
            } else {
                None
            };
            let path = staged.path().to_path_buf();
            let limits = self.settings().image_limits;
            tokio::task::spawn_blocking(move || process::inspect(&path, &limits))
                .await
                .map_err(|e| MediaError::Io(std::io::Error::other(e)))?
        };
        let sha256 = media.sha256;
        let now = now();
        let (record, thumbs) = match processed {
            Ok(processed) => {
                let mut thumbs: Vec<_> = processed
                    .thumbs
                    .into_iter()
                    .filter_map(|t| {
                        BlobKey::thumb(sha256, t.size).map(|key| (key, t.size, t.bytes))
                    })
                    .collect();
                thumbs.sort_by_key(|(_, size, _)| *size);
                thumbs.dedup_by_key(|(_, size, _)| *size);
                let record = MediaRecord {
                    sha256,
                    kind: processed.kind,
                    mime: processed.mime.to_owned(),
                    size,
                    width: processed.width,
                    height: processed.height,
                    duration_ms: processed.duration_ms,
                    blurhash: processed.blurhash,
                    thumbs: thumbs.iter().map(|(_, size, _)| *size).collect(),
                    created_at: now,
                    touched_at: now,
                };
                (record, thumbs)
            }
            // Kept without thumbnails: its home accepted it, this node only cannot shrink it.
            Err(ProcessError::ImageTooLarge { .. }) => (
                MediaRecord {
                    sha256,
                    kind: sniffed.kind,
                    mime: sniffed.mime.to_owned(),
                    size,
                    width: None,
                    height: None,
                    duration_ms: None,
                    blurhash: None,
                    thumbs: Vec::new(),
                    created_at: now,
                    touched_at: now,
                },
                Vec::new(),
            ),
            Err(ProcessError::Io(e)) => return Err(e.into()),
        };
        let _no_gc = self.inner.gc_lock.read().await;
        self.store()
            .publish(staged, &BlobKey::original(sha256))
            .await?;
        for (key, _, bytes) in thumbs {
            self.store().put_small(&key, bytes).await?;
        }
        self.db()
            .media()
            .record_remote(&record, &media.node, public)
            .await
            .map_err(MediaError::from)?;
        Ok(())
    }
}
