//! Where media bytes live: the [`BlobStore`] trait and its local file-system implementation,
//! [`LocalFs`].
//!
//! The trait is shaped so an S3-compatible object store fits behind it later: an upload is
//! written to a local staged file first ([`BlobStore::stage`]; an object store would then
//! upload it in [`BlobStore::publish`]), objects are immutable and named by [`BlobKey`]
//! (content-addressed, so publishing a key that exists is a no-op), reads take an optional
//! byte range, and small objects (thumbnails) are written in one call.
//!
//! A key is built only from parsed values — a 32-byte hash and a thumbnail size from
//! [`THUMB_SIZES`] — and formatted here, so no request text ever reaches a file path.

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use axum::body::Bytes;
use futures_util::Stream;
use tokio::io::{AsyncSeekExt as _, AsyncWriteExt as _};
use winichat_protocol::media::THUMB_SIZES;

/// A stream of a blob's bytes.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// Which object of a piece of media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// The bytes as served.
    Original,
    /// A thumbnail; the size is one of [`THUMB_SIZES`].
    Thumb(u32),
}

/// The name of one stored object: a hash and a variant.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlobKey {
    sha256: [u8; 32],
    variant: Variant,
}

impl fmt::Debug for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobKey({})", self.object_name())
    }
}

impl BlobKey {
    /// The original bytes of `sha256`.
    pub fn original(sha256: [u8; 32]) -> BlobKey {
        BlobKey {
            sha256,
            variant: Variant::Original,
        }
    }

    /// The thumbnail of `sha256` at `size`; `None` unless `size` is one of [`THUMB_SIZES`].
    pub fn thumb(sha256: [u8; 32], size: u32) -> Option<BlobKey> {
        THUMB_SIZES.contains(&size).then_some(BlobKey {
            sha256,
            variant: Variant::Thumb(size),
        })
    }

    /// The hash.
    pub fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }

    /// The variant.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The hash as 64 lowercase hex digits.
    pub fn hex(&self) -> String {
        hex::encode(self.sha256)
    }

    /// The object's name, sharded by the hash's first two bytes: `ab/cd/<hex>` for the
    /// original, `ab/cd/<hex>.t320` for a thumbnail. Only hex digits, `/`, `.` and `t`.
    pub fn object_name(&self) -> String {
        let hex = self.hex();
        let base = format!("{}/{}/{hex}", &hex[0..2], &hex[2..4]);
        match self.variant {
            Variant::Original => base,
            Variant::Thumb(size) => format!("{base}.t{size}"),
        }
    }
}

/// An upload being written to a local temporary file. Removed when dropped, unless a store
/// took it over ([`Staged::keep`]).
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    file: Option<tokio::fs::File>,
    armed: bool,
}

impl Staged {
    /// Creates a new, empty staged file with a random name in `dir` (which must exist).
    pub async fn create_in(dir: &Path) -> io::Result<Staged> {
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(io::Error::other)?;
        let path = dir.join(format!("{}.part", hex::encode(random)));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .read(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .await?;
        Ok(Staged {
            path,
            file: Some(file),
            armed: true,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `bytes`.
    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.write_all(bytes).await,
            None => Err(io::Error::other("staged file already finished")),
        }
    }

    /// Flushes and syncs the file and closes it; later changes go through [`Staged::path`].
    pub async fn finish(&mut self) -> io::Result<()> {
        if let Some(mut file) = self.file.take() {
            file.flush().await?;
            file.sync_all().await?;
        }
        Ok(())
    }

    /// Hands the file over: it is no longer removed on drop. Returns its path.
    pub fn keep(mut self) -> PathBuf {
        self.armed = false;
        self.file = None;
        std::mem::take(&mut self.path)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if self.armed {
            self.file = None;
            if let Err(e) = std::fs::remove_file(&self.path)
                && e.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot remove a staged upload");
            }
        }
    }
}

/// Bytes read from a blob.
pub struct BlobRead {
    /// The blob's whole size.
    pub total: u64,
    /// The bytes asked for (the whole blob, or the range).
    pub stream: ByteStream,
}

impl fmt::Debug for BlobRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobRead")
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

/// Immutable, content-addressed objects.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + fmt::Debug {
    /// A new local file to write an upload into.
    async fn stage(&self) -> io::Result<Staged>;

    /// Stores the staged file (finished with [`Staged::finish`]) as `key`. If `key` exists
    /// already the staged file is discarded: objects are content-addressed, so it holds the
    /// same bytes. Durable once this returns.
    async fn publish(&self, staged: Staged, key: &BlobKey) -> io::Result<()>;

    /// Reads `key` — all of it, or `range` (which must lie within the blob, else
    /// [`io::ErrorKind::InvalidInput`]). `None` when there is no such object.
    async fn open(&self, key: &BlobKey, range: Option<Range<u64>>) -> io::Result<Option<BlobRead>>;

    /// The object's size; `None` when there is no such object.
    async fn size(&self, key: &BlobKey) -> io::Result<Option<u64>>;

    /// Removes the object; removing one that does not exist is not an error.
    async fn delete(&self, key: &BlobKey) -> io::Result<()>;

    /// Stores a small object (a thumbnail) whole, replacing any earlier one atomically.
    async fn put_small(&self, key: &BlobKey, bytes: Vec<u8>) -> io::Result<()>;
}

/// The local file system: objects under `root` as `ab/cd/<hex>[.t<size>]`, staged uploads in
/// `root/tmp`. Every write lands in a temporary file that is synced and then renamed into
/// place, and the directory is synced after, so an object is either whole or absent.
#[derive(Debug, Clone)]
pub struct LocalFs {
    root: PathBuf,
    tmp: PathBuf,
}

/// The directory for staged files, inside the root.
pub const TMP_DIR: &str = "tmp";

impl LocalFs {
    /// Opens the store at `root`, creating it (mode 0700) if missing, and removes staged
    /// files a crash left behind.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<LocalFs> {
        let root = root.into();
        let tmp = root.join(TMP_DIR);
        create_dirs(&tmp)?;
        for entry in std::fs::read_dir(&tmp)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                std::fs::remove_file(entry.path())?;
            }
        }
        Ok(LocalFs { root, tmp })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.object_name())
    }
}

fn create_dirs(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Syncs a directory, so a rename into it survives power loss.
fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Renames `from` to `to` (creating `to`'s directory) and syncs the directory.
fn move_into_place(from: &Path, to: &Path) -> io::Result<()> {
    let dir = to
        .parent()
        .ok_or_else(|| io::Error::other("object path without a directory"))?;
    create_dirs(dir)?;
    std::fs::rename(from, to)?;
    sync_dir(dir)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| io::Error::other(format!("blob store task failed: {e}")))?
}

#[async_trait::async_trait]
impl BlobStore for LocalFs {
    async fn stage(&self) -> io::Result<Staged> {
        Staged::create_in(&self.tmp).await
    }

    async fn publish(&self, mut staged: Staged, key: &BlobKey) -> io::Result<()> {
        staged.finish().await?;
        let target = self.path(key);
        blocking(move || {
            if target.try_exists()? {
                // Same key, same bytes: the staged copy is dropped (and removed).
                return Ok(());
            }
            move_into_place(staged.path(), &target)?;
            staged.keep();
            Ok(())
        })
        .await
    }

    async fn open(&self, key: &BlobKey, range: Option<Range<u64>>) -> io::Result<Option<BlobRead>> {
        let mut file = match tokio::fs::File::open(self.path(key)).await {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let total = file.metadata().await?.len();
        let range = range.unwrap_or(0..total);
        if range.start > range.end || range.end > total {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("range {range:?} outside a blob of {total} bytes"),
            ));
        }
        if range.start > 0 {
            file.seek(io::SeekFrom::Start(range.start)).await?;
        }
        let reader = tokio::io::AsyncReadExt::take(file, range.end - range.start);
        let stream = tokio_util::io::ReaderStream::with_capacity(reader, 64 * 1024);
        Ok(Some(BlobRead {
            total,
            stream: Box::pin(stream),
        }))
    }

    async fn size(&self, key: &BlobKey) -> io::Result<Option<u64>> {
        match tokio::fs::metadata(self.path(key)).await {
            Ok(meta) if meta.is_file() => Ok(Some(meta.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn delete(&self, key: &BlobKey) -> io::Result<()> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    async fn put_small(&self, key: &BlobKey, bytes: Vec<u8>) -> io::Result<()> {
        let mut staged = self.stage().await?;
        staged.write(&bytes).await?;
        staged.finish().await?;
        let target = self.path(key);
        blocking(move || {
            move_into_place(staged.path(), &target)?;
            staged.keep();
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt as _;

    use super::*;

    async fn read_all(read: BlobRead) -> Vec<u8> {
        let mut out = Vec::new();
        let mut stream = read.stream;
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.expect("chunk"));
        }
        out
    }

    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                out.extend(files_under(&path));
            } else {
                out.push(path);
            }
        }
        out.sort();
        out
    }

    #[test]
    fn keys_are_sharded_hex_and_thumb_sizes_are_checked() {
        let mut sha = [0u8; 32];
        sha[0] = 0xab;
        sha[1] = 0xcd;
        let hex = hex::encode(sha);
        assert_eq!(BlobKey::original(sha).object_name(), format!("ab/cd/{hex}"));
        assert_eq!(
            BlobKey::thumb(sha, 320)
                .expect("a thumb size")
                .object_name(),
            format!("ab/cd/{hex}.t320")
        );
        assert!(BlobKey::thumb(sha, 321).is_none());
        assert!(BlobKey::thumb(sha, 0).is_none());
    }

    #[tokio::test]
    async fn publish_open_range_size_delete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalFs::open(dir.path().join("media")).expect("open");
        let key = BlobKey::original([7; 32]);
        assert!(store.open(&key, None).await.expect("open").is_none());
        assert_eq!(store.size(&key).await.expect("size"), None);

        let mut staged = store.stage().await.expect("stage");
        staged.write(b"hello, ").await.expect("write");
        staged.write(b"world").await.expect("write");
        store.publish(staged, &key).await.expect("publish");
        assert_eq!(store.size(&key).await.expect("size"), Some(12));
        let whole = store.open(&key, None).await.expect("open").expect("exists");
        assert_eq!(whole.total, 12);
        assert_eq!(read_all(whole).await, b"hello, world");
        let part = store
            .open(&key, Some(7..12))
            .await
            .expect("open")
            .expect("exists");
        assert_eq!(part.total, 12);
        assert_eq!(read_all(part).await, b"world");
        let empty = store.open(&key, Some(12..12)).await.expect("open");
        assert_eq!(read_all(empty.expect("exists")).await, b"");
        let err = store
            .open(&key, Some(5..13))
            .await
            .expect_err("past the end");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);

        // Publishing the same key again keeps the first object and removes the staged file.
        let mut again = store.stage().await.expect("stage");
        again.write(b"hello, world").await.expect("write");
        store.publish(again, &key).await.expect("publish again");
        assert_eq!(
            files_under(store.root()),
            vec![store.root().join(key.object_name())],
            "one object, no staged file left"
        );

        let thumb = BlobKey::thumb([7; 32], 96).expect("thumb");
        store
            .put_small(&thumb, b"thumb".to_vec())
            .await
            .expect("put");
        assert_eq!(store.size(&thumb).await.expect("size"), Some(5));

        store.delete(&key).await.expect("delete");
        store.delete(&key).await.expect("deleting twice is fine");
        store.delete(&thumb).await.expect("delete");
        assert!(files_under(store.root()).is_empty());
    }

    #[tokio::test]
    async fn a_dropped_staged_file_is_removed_and_leftovers_are_cleaned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("media");
        let store = LocalFs::open(&root).expect("open");
        let mut staged = store.stage().await.expect("stage");
        staged.write(b"partial").await.expect("write");
        let path = staged.path().to_path_buf();
        assert!(path.exists());
        drop(staged);
        assert!(!path.exists());

        let staged = store.stage().await.expect("stage");
        let leftover = staged.keep();
        assert!(leftover.exists());
        let _reopened = LocalFs::open(&root).expect("reopen");
        assert!(!leftover.exists(), "a crash's leftover is removed at start");
    }
}
