//! Media: one row per distinct upload (content-addressed by SHA-256), who uploaded it, and
//! what refers to it.
//!
//! The bytes are not here: they live in the blob store ([`crate::media::store`]) under the same
//! hash. `media_refs` rows are written by the chat and account stores in the transaction of the
//! change that makes the reference; this store only reads them (for [`MediaStore::may_view`] and
//! the clean-up of unreferenced media). The clean-up is a conditional delete
//! ([`MediaStore::delete_unreferenced`]), so a reference written meanwhile always wins.

use winichat_protocol::Timestamp;
use winichat_protocol::ids::{NodeName, UserId};
use winichat_protocol::media::MediaKind;

use super::{StorageError, parse_stored, stored_u32, stored_u64};

/// A piece of media as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRecord {
    /// SHA-256 of the bytes served.
    pub sha256: [u8; 32],
    /// What the node sniffed: image, audio, video or file (never voice).
    pub kind: MediaKind,
    /// The MIME type served.
    pub mime: String,
    /// Size of the bytes served.
    pub size: u64,
    /// Image width in pixels.
    pub width: Option<u32>,
    /// Image height in pixels.
    pub height: Option<u32>,
    /// Audio or video duration, when the container states it.
    pub duration_ms: Option<u64>,
    /// Image placeholder.
    pub blurhash: Option<String>,
    /// The thumbnail sizes stored, ascending.
    pub thumbs: Vec<u32>,
    /// The first upload.
    pub created_at: Timestamp,
    /// The last upload or use; the clean-up's grace counts from it.
    pub touched_at: Timestamp,
}

/// The media store.
#[async_trait::async_trait]
pub trait MediaStore: Send + Sync {
    /// Records that `user` uploaded `media` at `at`, in one transaction: the media row is
    /// inserted, or (already stored) its `touched_at` moves to `at` — its other columns are
    /// kept, the bytes being the same — and the user's upload row is inserted or its
    /// `uploaded_at` refreshed. Returns true when the upload is new for this user.
    async fn record_upload(
        &self,
        media: &MediaRecord,
        user: &UserId,
        at: Timestamp,
    ) -> Result<bool, StorageError> {
        self.record_upload_raw(media, user, None, at).await
    }

    /// [`MediaStore::record_upload`] of bytes the node rewrote (metadata stripped): `raw` is
    /// the SHA-256 of the bytes as sent, kept on the user's upload row (replacing an earlier
    /// one; `None` keeps it) for [`MediaStore::uploaded_as`].
    async fn record_upload_raw(
        &self,
        media: &MediaRecord,
        user: &UserId,
        raw: Option<&[u8; 32]>,
        at: Timestamp,
    ) -> Result<bool, StorageError>;

    /// The media `user` uploaded whose bytes, as served or as sent, have this SHA-256.
    async fn uploaded_as(
        &self,
        user: &UserId,
        sha256: &[u8; 32],
    ) -> Result<Option<[u8; 32]>, StorageError>;

    /// The media row, if stored.
    async fn get(&self, sha256: &[u8; 32]) -> Result<Option<MediaRecord>, StorageError>;

    /// True when `user` uploaded this media.
    async fn uploaded_by(&self, user: &UserId, sha256: &[u8; 32]) -> Result<bool, StorageError>;

    /// The sum of the sizes of the distinct media `user` uploaded (their quota use).
    async fn usage(&self, user: &UserId) -> Result<u64, StorageError>;

    /// True when `user` may see this media: they uploaded it, or a public reference (avatar,
    /// group photo) exists, or a message or group-photo reference exists in a group they are
    /// a member of, or it is a remote copy its origin called public.
    async fn may_view(&self, user: &UserId, sha256: &[u8; 32]) -> Result<bool, StorageError>;

    /// Records a remote copy of `media` (spec/media.md §7), fetched from `origin` and checked:
    /// a media row with `origin` set and no upload row (so it counts against no quota), and
    /// `public` as the origin answered. A row already there (the same bytes) is kept, its
    /// `touched_at` moved to the record's.
    async fn record_remote(
        &self,
        media: &MediaRecord,
        origin: &NodeName,
        public: bool,
    ) -> Result<(), StorageError>;

    /// True when this media is stored here as a remote copy (fetched from another node), not
    /// uploaded here.
    async fn is_remote_copy(&self, sha256: &[u8; 32]) -> Result<bool, StorageError>;

    /// What node `peer` may fetch of this media (spec/federation.md §5.16): `Some(public)` when
    /// a public reference exists (`public` true) or a message or group photo of a group where
    /// `peer` has a member or a pending invitee refers to it (`public` false); `None` when
    /// neither.
    async fn peer_access(
        &self,
        peer: &NodeName,
        sha256: &[u8; 32],
    ) -> Result<Option<bool>, StorageError>;

    /// Moves `touched_at` to `at` if it is earlier (a use restarts the clean-up's grace).
    /// Returns false when no such media is stored.
    async fn touch(&self, sha256: &[u8; 32], at: Timestamp) -> Result<bool, StorageError>;

    /// Up to `limit` media rows touched before `before` that nothing refers to, oldest first:
    /// candidates for the clean-up.
    async fn unreferenced(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<MediaRecord>, StorageError>;

    /// Deletes the media row (and its upload rows) if it is still touched before `before` and
    /// still unreferenced, in one statement. Returns true when it was deleted.
    async fn delete_unreferenced(
        &self,
        sha256: &[u8; 32],
        before: Timestamp,
    ) -> Result<bool, StorageError>;
}

/// The columns of `media`, in [`MediaDbRow`] order.
macro_rules! media_columns {
    () => {
        "sha256, kind, mime, size, width, height, duration_ms, blurhash, thumbs, created_at, \
         touched_at"
    };
}
pub(in crate::storage) use media_columns;

/// A row of `media`, as both backends return it.
#[derive(sqlx::FromRow)]
pub(in crate::storage) struct MediaDbRow {
    sha256: String,
    kind: String,
    mime: String,
    size: i64,
    width: Option<i32>,
    height: Option<i32>,
    duration_ms: Option<i64>,
    blurhash: Option<String>,
    thumbs: String,
    created_at: i64,
    touched_at: i64,
}

impl TryFrom<MediaDbRow> for MediaRecord {
    type Error = StorageError;
    fn try_from(r: MediaDbRow) -> Result<Self, StorageError> {
        let thumbs = if r.thumbs.is_empty() {
            Vec::new()
        } else {
            r.thumbs
                .split(',')
                .map(|s| parse_stored::<u32>(s, "media.thumbs"))
                .collect::<Result<_, _>>()?
        };
        Ok(MediaRecord {
            sha256: sha_from_text(&r.sha256)?,
            kind: kind_from_text(&r.kind)?,
            mime: r.mime,
            size: stored_u64(r.size, "media.size")?,
            width: r
                .width
                .map(|v| stored_u32(i64::from(v), "media.width"))
                .transpose()?,
            height: r
                .height
                .map(|v| stored_u32(i64::from(v), "media.height"))
                .transpose()?,
            duration_ms: r
                .duration_ms
                .map(|v| stored_u64(v, "media.duration_ms"))
                .transpose()?,
            blurhash: r.blurhash,
            thumbs,
            created_at: Timestamp(stored_u64(r.created_at, "media.created_at")?),
            touched_at: Timestamp(stored_u64(r.touched_at, "media.touched_at")?),
        })
    }
}

/// The suffix of the user ids of `node`'s users: `:<node>`, and its length in characters.
pub(in crate::storage) fn node_suffix(node: &NodeName) -> (String, i32) {
    let suffix = format!(":{node}");
    let len = i32::try_from(suffix.chars().count()).unwrap_or(i32::MAX);
    (suffix, len)
}

/// Converts a batch of rows, failing on the first corrupt one.
pub(in crate::storage) fn records(rows: Vec<MediaDbRow>) -> Result<Vec<MediaRecord>, StorageError> {
    rows.into_iter().map(MediaRecord::try_from).collect()
}

/// The stored text of a hash: 64 lowercase hex digits.
pub(in crate::storage) fn sha_text(sha256: &[u8; 32]) -> String {
    super::hex(sha256)
}

pub(in crate::storage) fn sha_from_text(text: &str) -> Result<[u8; 32], StorageError> {
    let bytes = hex::decode(text)
        .map_err(|e| StorageError::Corrupt(format!("media.sha256 {text:?}: {e}")))?;
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(StorageError::Corrupt(format!(
            "media.sha256 {text:?} is not lowercase"
        )));
    }
    super::stored_key(bytes, "media.sha256")
}

/// The stored text of a kind.
pub(in crate::storage) fn kind_text(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "image",
        MediaKind::Audio => "audio",
        MediaKind::Voice => "voice",
        MediaKind::Video => "video",
        MediaKind::File => "file",
    }
}

fn kind_from_text(text: &str) -> Result<MediaKind, StorageError> {
    Ok(match text {
        "image" => MediaKind::Image,
        "audio" => MediaKind::Audio,
        "voice" => MediaKind::Voice,
        "video" => MediaKind::Video,
        "file" => MediaKind::File,
        other => return Err(StorageError::Corrupt(format!("media.kind {other:?}"))),
    })
}

/// The stored text of a thumbnail list: `"96,320,1280"`.
pub(in crate::storage) fn thumbs_text(thumbs: &[u32]) -> String {
    thumbs
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A value for an `INTEGER` (32-bit in PostgreSQL) column.
pub(in crate::storage) fn to_i32(v: u32, what: &str) -> Result<i32, StorageError> {
    i32::try_from(v).map_err(|_| StorageError::Other(format!("{what} {v} does not fit in i32")))
}
