//! Media: uploads, their processing, storage behind [`store::BlobStore`], signed download URLs
//! and the clean-up of unreferenced uploads.
//!
//! [`Media`] is the service the HTTP layer (`POST /api/media`, `GET /api/media/…`) and the
//! chat layer (attachments, avatars, group photos, `media.urls`) call. An upload is streamed
//! into a staged file while it is hashed and counted — the size limit is enforced and the
//! quota reserved as the bytes arrive ([`quota`]) — then processed ([`process`]: sniffed, for images measured,
//! stripped of metadata and thumbnailed), published under the SHA-256 of the bytes served, and
//! recorded. Identical uploads are stored once.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use futures_util::{Stream, StreamExt as _};
use sha2::{Digest as _, Sha256};
use tokio::sync::{RwLock, Semaphore};
use winichat_protocol::Timestamp;
use winichat_protocol::ids::{MediaId, NodeName, UserId};
use winichat_protocol::media::{MediaKind, MediaUrls, MediaUrlsParams};

use crate::storage::Database;
use crate::storage::media::MediaRecord;

pub mod attach;
pub mod error;
pub mod gc;
pub mod process;
mod quota;
pub mod remote;
pub mod sign;
pub mod store;

pub use error::MediaError;
use process::{ImageLimits, ProcessError};
use sign::{SigError, UrlSigner};
use store::{BlobKey, BlobRead, BlobStore, LocalFs, Variant};

/// The blob store's directory inside the data directory.
pub const MEDIA_DIR: &str = "media";
/// Default largest upload: 100 MiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 100 * 1024 * 1024;
/// Default quota per user: 2 GiB.
pub const DEFAULT_QUOTA_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// Default lifetime of a signed URL: one hour.
pub const DEFAULT_URL_TTL_SECS: u64 = 3600;
/// Default grace before unreferenced media is removed: one day.
pub const DEFAULT_GC_GRACE_SECS: u64 = 86_400;
/// Default uploads one user may have in progress at once.
pub const DEFAULT_MAX_CONCURRENT_UPLOADS: usize = 4;
/// At most this many images are decoded at once (each may take hundreds of MB).
pub const PROCESSING_SLOTS: usize = 2;

/// What the media service may do; `max_upload_bytes`, `quota_bytes`, `url_ttl_secs`,
/// `gc_grace_secs` and `max_concurrent_uploads` come from the config (`media_*` keys), the
/// image limits are built in (tests may change them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSettings {
    /// Largest accepted upload, in bytes.
    pub max_upload_bytes: u64,
    /// Per-user quota: the sum of the sizes of a user's distinct uploads.
    pub quota_bytes: u64,
    /// Lifetime of a signed URL.
    pub url_ttl_secs: u64,
    /// How long an unreferenced upload is kept after its last upload or use.
    pub gc_grace_secs: u64,
    /// Uploads one user may have in progress at once.
    pub max_concurrent_uploads: usize,
    /// Limits that keep a hostile image from hurting the node.
    pub image_limits: ImageLimits,
}

impl Default for MediaSettings {
    fn default() -> Self {
        MediaSettings {
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            quota_bytes: DEFAULT_QUOTA_BYTES,
            url_ttl_secs: DEFAULT_URL_TTL_SECS,
            gc_grace_secs: DEFAULT_GC_GRACE_SECS,
            max_concurrent_uploads: DEFAULT_MAX_CONCURRENT_UPLOADS,
            image_limits: ImageLimits::default(),
        }
    }
}

/// The media service. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Media {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Database,
    node: NodeName,
    store: Arc<dyn BlobStore>,
    signer: UrlSigner,
    settings: MediaSettings,
    /// Image decoding slots.
    processing: Semaphore,
    /// Uploads in progress per user, and their bytes reserved against the quota.
    uploads: quota::Uploads,
    /// Uploads (publish + record) take it shared, the clean-up (delete row + delete blobs)
    /// exclusively: an upload never records a row whose blob the clean-up is removing.
    gc_lock: RwLock<()>,
    /// Uploads decoded as images so far (see [`Media::images_processed`]).
    images_processed: AtomicU64,
    /// Fetching media of other nodes.
    remote: remote::Remote,
}

/// An accepted upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// `<node>/<hex>`.
    pub id: MediaId,
    /// What is stored.
    pub record: MediaRecord,
    /// True when the upload is new for this user (`201`), false when they had uploaded the
    /// same bytes before (`200`).
    pub created: bool,
}

/// How a download request proves access.
#[derive(Debug, Clone, Copy)]
pub enum Access<'a> {
    /// A signed URL's `exp` and `sig` query values.
    Signed {
        /// Expiry, Unix ms, as text.
        exp: &'a str,
        /// The signature, base64url.
        sig: &'a str,
    },
    /// A signed-in user (Bearer token).
    User(&'a UserId),
}

/// A download the caller may make.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The media.
    pub record: MediaRecord,
    /// The object to read (the original or a thumbnail).
    pub key: BlobKey,
    /// The object's size.
    pub size: u64,
    /// The `Content-Type` to serve.
    pub mime: String,
}

impl Media {
    /// The service over `store`. `identity_secret` is the node identity's secret key; the URL
    /// signing key is derived from it (see [`sign`]).
    pub fn new(
        db: Database,
        node: NodeName,
        store: Arc<dyn BlobStore>,
        identity_secret: &[u8; 32],
        settings: MediaSettings,
    ) -> Media {
        let signer = UrlSigner::new(identity_secret, settings.url_ttl_secs.saturating_mul(1000));
        let uploads = quota::Uploads::new(settings.max_concurrent_uploads);
        Media {
            inner: Arc::new(Inner {
                db,
                node,
                store,
                signer,
                settings,
                processing: Semaphore::new(PROCESSING_SLOTS),
                uploads,
                gc_lock: RwLock::new(()),
                images_processed: AtomicU64::new(0),
                remote: remote::Remote::default(),
            }),
        }
    }

    /// The service over the local file system at `<data_dir>/media/`.
    pub fn local(
        db: Database,
        node: NodeName,
        data_dir: &Path,
        identity_secret: &[u8; 32],
        settings: MediaSettings,
    ) -> std::io::Result<Media> {
        let store = LocalFs::open(data_dir.join(MEDIA_DIR))?;
        Ok(Media::new(
            db,
            node,
            Arc::new(store),
            identity_secret,
            settings,
        ))
    }

    /// This node's name: the node of every media id it stores.
    pub fn node(&self) -> &NodeName {
        &self.inner.node
    }

    /// The settings.
    pub fn settings(&self) -> &MediaSettings {
        &self.inner.settings
    }

    /// How many uploads took an image-processing slot since the start (for monitoring, and
    /// for tests that show an upload was refused without being decoded).
    pub fn images_processed(&self) -> u64 {
        self.inner.images_processed.load(Ordering::Relaxed)
    }

    /// The blob store.
    pub fn store(&self) -> &dyn BlobStore {
        &*self.inner.store
    }

    /// The URL signer.
    pub fn signer(&self) -> &UrlSigner {
        &self.inner.signer
    }

    pub(crate) fn db(&self) -> &Database {
        &self.inner.db
    }

    /// The media id of a hash stored here.
    pub fn id(&self, sha256: [u8; 32]) -> MediaId {
        MediaId {
            node: self.inner.node.clone(),
            sha256,
        }
    }

    /// True when `user` may see the media: they uploaded it, it is an avatar or group photo,
    /// or it was posted in a chat they are a member of.
    pub async fn may_view(&self, user: &UserId, sha256: &[u8; 32]) -> Result<bool, MediaError> {
        Ok(self.db().media().may_view(user, sha256).await?)
    }

    /// Signed URLs for the items `user` may see, in order; `None` for unknown or not visible
    /// media and thumbnails that do not exist. Media of another node is served from this
    /// node's copy, fetched first if need be ([`Media::remote_for`]); `None` when that fails.
    pub async fn urls(
        &self,
        user: &UserId,
        params: &MediaUrlsParams,
        now: Timestamp,
    ) -> Result<MediaUrls, MediaError> {
        params
            .check()
            .map_err(|e| MediaError::invalid(e.to_string()))?;
        let items = &params.items;
        let mut visible: HashMap<[u8; 32], Option<MediaRecord>> = HashMap::new();
        let mut urls = Vec::with_capacity(items.len());
        for item in items {
            let sha = item.media.sha256;
            let row = match visible.get(&sha) {
                Some(row) => row.clone(),
                None if item.media.node != *self.node() => {
                    let row = match self.remote_for(user, &item.media).await {
                        Ok(row) => row,
                        Err(e) => {
                            tracing::warn!(media = %item.media, error = %e, "remote media unavailable");
                            None
                        }
                    };
                    visible.insert(sha, row.clone());
                    row
                }
                None => {
                    let row = if self.may_view(user, &sha).await? {
                        self.db().media().get(&sha).await?
                    } else {
                        None
                    };
                    visible.insert(sha, row.clone());
                    row
                }
            };
            let url = row.and_then(|row| match item.thumb {
                Some(size) if row.kind != MediaKind::Image || !row.thumbs.contains(&size) => None,
                thumb => Some(self.inner.signer.url(&sha, thumb, now)),
            });
            urls.push(url);
        }
        Ok(MediaUrls {
            urls,
            expires_at: self.inner.signer.expiry(now),
        })
    }

    /// Stores an upload by `user`: at most [`MediaSettings::max_concurrent_uploads`] per user
    /// at once ([`MediaError::TooManyUploads`]). Streams `body` into a staged file while
    /// hashing and counting it, refusing it ([`MediaError::TooLarge`]) as soon as it is over
    /// the limit — `declared_len` (Content-Length) is checked before reading — and reserving
    /// its bytes against the user's quota as they arrive (see [`quota`]); once they do not fit,
    /// it is only hashed, no longer staged. An upload over the quota is decided before any
    /// processing: bytes the user already has (as served, or as they sent them before the
    /// node stripped them) are accepted as that media, anything else is refused
    /// ([`MediaError::QuotaExceeded`]), so a user at a full quota cannot keep the node
    /// decoding. Otherwise it is processed (at most [`PROCESSING_SLOTS`] images at once;
    /// [`MediaError::ImageTooLarge`] for a bomb). Finally, under the user's lock: bytes the
    /// user already has are accepted whatever the quota; new bytes are refused if they do not
    /// fit now. Accepted bytes are published under the hash of the bytes served, with their
    /// thumbnails, and recorded (with the hash as sent when stripping changed them). A refused
    /// upload leaves nothing.
    pub async fn upload<S, E>(
        &self,
        user: &UserId,
        declared_len: Option<u64>,
        mut body: S,
    ) -> Result<Uploaded, MediaError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let settings = &self.inner.settings;
        let mut ticket = self.inner.uploads.begin(user)?;
        let limit = settings.max_upload_bytes;
        if declared_len.is_some_and(|len| len > limit) {
            return Err(MediaError::TooLarge { limit });
        }
        let quota = self.quota_of(user).await?;
        let used = self.db().media().usage(user).await?;
        if let Some(len) = declared_len {
            // A declared length over the room puts the upload over the quota at once; it is
            // still read, as it may be a copy of the user's own media.
            ticket.reserve(len, used, quota);
        }

        // Dropping `staged` on any early return below removes the file.
        let mut staged = self.inner.store.stage().await?;
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut prefix = Vec::with_capacity(process::SNIFF_LEN);
        while let Some(chunk) = body.next().await {
            let chunk = chunk
                .map_err(|e| MediaError::invalid(format!("the upload was interrupted: {e}")))?;
            size = size.saturating_add(chunk.len() as u64);
            if size > limit {
                return Err(MediaError::TooLarge { limit });
            }
            hasher.update(&chunk);
            // Over the quota the upload can only be a copy, known by its hash: nothing more
            // is written, so such uploads cannot fill the disk.
            if !ticket.reserve(size, used, quota) {
                continue;
            }
            if prefix.len() < process::SNIFF_LEN {
                let take = (process::SNIFF_LEN - prefix.len()).min(chunk.len());
                prefix.extend_from_slice(&chunk[..take]);
            }
            staged.write(&chunk).await?;
        }
        if size == 0 {
            return Err(MediaError::invalid("the upload is empty"));
        }
        let raw_sha256: [u8; 32] = hasher.finalize().into();
        if ticket.over_quota() {
            return self.copy_of_own(user, &raw_sha256, quota).await;
        }
        staged.finish().await?;

        let processed = {
            // Only images need a decoding slot; sniffing is cheap.
            let _slot = if process::sniff(&prefix).kind == MediaKind::Image {
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
            if _slot.is_some() {
                self.inner.images_processed.fetch_add(1, Ordering::Relaxed);
            }
            let path = staged.path().to_path_buf();
            let limits = settings.image_limits;
            tokio::task::spawn_blocking(move || process::process(&path, &limits))
                .await
                .map_err(|e| {
                    MediaError::Io(std::io::Error::other(format!(
                        "media processing failed: {e}"
                    )))
                })?
                .map_err(|e| match e {
                    ProcessError::ImageTooLarge { width, height } => {
                        MediaError::ImageTooLarge { width, height }
                    }
                    ProcessError::Io(e) => MediaError::Io(e),
                })?
        };

        let (sha256, size) = if processed.rewritten {
            hash_file(staged.path()).await?
        } else {
            (raw_sha256, size)
        };
        let raw = (sha256 != raw_sha256).then_some(raw_sha256);
        // `process` never answers voice (the sender's choice, made when attaching) and gives
        // files `application/octet-stream`.
        let kind = processed.kind;
        let mime = processed.mime.to_owned();
        let mut thumbs: Vec<_> = processed
            .thumbs
            .into_iter()
            .filter_map(|t| BlobKey::thumb(sha256, t.size).map(|key| (key, t.size, t.bytes)))
            .collect();
        thumbs.sort_by_key(|(_, size, _)| *size);
        thumbs.dedup_by_key(|(_, size, _)| *size);
        let now = now();
        let record = MediaRecord {
            sha256,
            kind,
            mime,
            size,
            width: processed.width,
            height: processed.height,
            duration_ms: processed.duration_ms,
            blurhash: processed.blurhash,
            thumbs: thumbs.iter().map(|(_, size, _)| *size).collect(),
            created_at: now,
            touched_at: now,
        };

        let finalize = ticket.finalize_lock();
        let created = {
            // One final decision at a time per user, against the usage as it is now.
            let _one_at_a_time = finalize.lock().await;
            if !self.db().media().uploaded_by(user, &sha256).await? {
                let fits = self
                    .db()
                    .media()
                    .usage(user)
                    .await?
                    .checked_add(size)
                    .is_some_and(|n| n <= quota);
                if !fits {
                    return Err(MediaError::QuotaExceeded { quota });
                }
            }
            let _no_gc = self.inner.gc_lock.read().await;
            self.inner
                .store
                .publish(staged, &BlobKey::original(sha256))
                .await?;
            for (key, _, bytes) in thumbs {
                self.inner.store.put_small(&key, bytes).await?;
            }
            self.db()
                .media()
                .record_upload_raw(&record, user, raw.as_ref(), now)
                .await?
        };
        drop(ticket);
        // Identical bytes were stored before: describe them as stored.
        let record = self.db().media().get(&sha256).await?.unwrap_or(record);
        Ok(Uploaded {
            id: self.id(sha256),
            record,
            created,
        })
    }

    /// The user's own quota (an operator set it) or else the node's.
    async fn quota_of(&self, user: &UserId) -> Result<u64, MediaError> {
        let own = self
            .db()
            .accounts()
            .user(user)
            .await?
            .and_then(|u| u.quota_bytes);
        Ok(own.unwrap_or(self.inner.settings.quota_bytes))
    }

    /// The answer to an upload over the quota whose bytes hash to `raw_sha256`: the user's
    /// media with those bytes (as served or as sent), recorded as uploaded again (200), or
    /// [`MediaError::QuotaExceeded`].
    async fn copy_of_own(
        &self,
        user: &UserId,
        raw_sha256: &[u8; 32],
        quota: u64,
    ) -> Result<Uploaded, MediaError> {
        // Held from the look-up to the record, so the clean-up cannot remove the media
        // between them.
        let _no_gc = self.inner.gc_lock.read().await;
        let media = self.db().media();
        let Some(sha256) = media.uploaded_as(user, raw_sha256).await? else {
            return Err(MediaError::QuotaExceeded { quota });
        };
        let Some(record) = media.get(&sha256).await? else {
            return Err(MediaError::QuotaExceeded { quota });
        };
        let created = media.record_upload_raw(&record, user, None, now()).await?;
        let record = media.get(&sha256).await?.unwrap_or(record);
        Ok(Uploaded {
            id: self.id(sha256),
            record,
            created,
        })
    }

    /// Checks a download: `access` must be a valid signature for this media (and thumbnail)
    /// or a user who may see it; the media must exist (and, for a thumbnail, be an image with
    /// one of that size). Every refusal is [`MediaError::NotFound`], like unknown media; a
    /// malformed signature or a thumbnail size not in [`winichat_protocol::media::THUMB_SIZES`] is
    /// [`MediaError::Invalid`].
    pub async fn open(
        &self,
        access: Access<'_>,
        sha256: &[u8; 32],
        thumb: Option<u32>,
        now: Timestamp,
    ) -> Result<Opened, MediaError> {
        let key = match thumb {
            Some(size) => BlobKey::thumb(*sha256, size)
                .ok_or_else(|| MediaError::invalid("no such thumbnail size"))?,
            None => BlobKey::original(*sha256),
        };
        match access {
            Access::Signed { exp, sig } => {
                self.inner
                    .signer
                    .verify(sha256, thumb, exp, sig, now)
                    .map_err(|e| match e {
                        SigError::Malformed => MediaError::invalid("malformed signature"),
                        SigError::Refused => MediaError::NotFound,
                    })?;
            }
            Access::User(user) => {
                if !self.may_view(user, sha256).await? {
                    return Err(MediaError::NotFound);
                }
            }
        }
        let record = self
            .db()
            .media()
            .get(sha256)
            .await?
            .ok_or(MediaError::NotFound)?;
        if let Some(size) = thumb
            && (record.kind != MediaKind::Image || !record.thumbs.contains(&size))
        {
            return Err(MediaError::NotFound);
        }
        let Some(size) = self.inner.store.size(&key).await? else {
            tracing::warn!(?key, "media is recorded but its blob is missing");
            return Err(MediaError::NotFound);
        };
        let mime = match key.variant() {
            Variant::Thumb(_) => self.thumb_mime(&key, size).await?,
            Variant::Original if record.kind == MediaKind::File => {
                "application/octet-stream".to_owned()
            }
            Variant::Original => record.mime.clone(),
        };
        Ok(Opened {
            record,
            key,
            size,
            mime,
        })
    }

    /// Reads an opened object, whole or a range (within its size).
    pub async fn read(
        &self,
        key: &BlobKey,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<BlobRead, MediaError> {
        self.inner
            .store
            .open(key, range)
            .await?
            .ok_or(MediaError::NotFound)
    }

    /// A thumbnail's type, from its first bytes (thumbnails are JPEG, or PNG with alpha).
    async fn thumb_mime(&self, key: &BlobKey, size: u64) -> Result<String, MediaError> {
        let mut head = Vec::new();
        if let Some(mut read) = self.inner.store.open(key, Some(0..size.min(12))).await? {
            while let Some(chunk) = read.stream.next().await {
                head.extend_from_slice(&chunk?);
            }
        }
        let mime = if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            "image/png"
        } else if head.starts_with(&[0xff, 0xd8, 0xff]) {
            "image/jpeg"
        } else if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            "image/webp"
        } else {
            "application/octet-stream"
        };
        Ok(mime.to_owned())
    }
}

/// The SHA-256 and size of a file, read on a blocking thread.
async fn hash_file(path: &Path) -> Result<([u8; 32], u64), MediaError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || -> std::io::Result<([u8; 32], u64)> {
        use std::io::Read as _;
        let mut file = std::fs::File::open(&path)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            size += n as u64;
            hasher.update(&buf[..n]);
        }
        Ok((hasher.finalize().into(), size))
    })
    .await
    .map_err(|e| MediaError::Io(std::io::Error::other(e)))?
    .map_err(MediaError::Io)
}

/// The current time.
pub(crate) fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Timestamp(millis)
}
