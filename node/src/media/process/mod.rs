//! What the node learns from an upload's bytes, and the safe copy it serves: the type sniffed
//! from the bytes, image dimensions, thumbnails and a blurhash, metadata (EXIF, GPS …)
//! stripped, audio and video durations. Blocking code: callers run it on `spawn_blocking`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use winichat_media_parse::probe;
use winichat_protocol::media::MediaKind;

mod picture;

pub use winichat_media_parse::{SNIFF_LEN, Sniffed, sniff};

/// Limits that keep a hostile image from hurting the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    /// Longest side accepted, in pixels.
    pub max_side: u32,
    /// Most pixels accepted (width × height).
    pub max_pixels: u64,
    /// Most bytes the decoder may allocate.
    pub max_alloc: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        Self {
            max_side: 16_384,
            max_pixels: 50_000_000,
            max_alloc: 512 * 1024 * 1024,
        }
    }
}

/// One thumbnail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumb {
    /// Longest side, one of [`winichat_protocol::media::THUMB_SIZES`].
    pub size: u32,
    /// `image/jpeg`, or `image/png` when the image has transparency.
    pub mime: &'static str,
    /// The encoded thumbnail.
    pub bytes: Vec<u8>,
}

/// What processing found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    /// The kind (a corrupt image becomes a file).
    pub kind: MediaKind,
    /// The MIME type to serve.
    pub mime: &'static str,
    /// Image width.
    pub width: Option<u32>,
    /// Image height.
    pub height: Option<u32>,
    /// Audio or video duration, when the container states it.
    pub duration_ms: Option<u64>,
    /// Image blurhash (4×3 components).
    pub blurhash: Option<String>,
    /// Thumbnails, one per size of `THUMB_SIZES` (images only).
    pub thumbs: Vec<Thumb>,
    /// True when the file was rewritten in place (metadata stripped or orientation applied):
    /// its hash must be computed again.
    pub rewritten: bool,
}

/// Why an upload cannot be accepted.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The image's dimensions exceed [`ImageLimits`] (a decompression bomb or simply too big).
    #[error("image too large: {width} × {height} pixels")]
    ImageTooLarge {
        /// Width the header claims.
        width: u32,
        /// Height the header claims.
        height: u32,
    },
    /// Reading or writing the staged file failed.
    #[error("media processing I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Processes the staged file at `path`: sniffs it, and for an image checks its dimensions
/// against `limits` before decoding, strips metadata (rewriting the file), applies EXIF
/// orientation, makes thumbnails and a blurhash; for audio and video reads the duration and
/// tells audio-only WebM/MP4 from video.
///
/// An image is read whole into memory (its decoded pixels are far larger anyway) and its
/// metadata stripped losslessly, except that a photo with an EXIF orientation is re-encoded
/// upright (JPEG quality 90, or PNG for other formats; an animation keeps its frames and loses
/// the tag). Audio and video are read with seeks; the metadata boxes of an MP4 or M4A (user
/// data, QuickTime and iTunes metadata, XMP: where phones write the location) are blanked in
/// place. An image that sniffs as one but does not decode, or an MP3 without audio frames, is
/// a file. A duration over 24 hours is not believed (`None`).
pub fn process(path: &Path, limits: &ImageLimits) -> Result<Processed, ProcessError> {
    process_with(path, limits, true)
}

/// [`process`] without changing the file: what the node learns from bytes it must serve as
/// they are (a remote copy, whose hash is fixed by its media id): the kind, type, dimensions,
/// duration, thumbnails and blurhash. `rewritten` is always false.
pub fn inspect(path: &Path, limits: &ImageLimits) -> Result<Processed, ProcessError> {
    process_with(path, limits, false)
}

fn process_with(
    path: &Path,
    limits: &ImageLimits,
    rewrite: bool,
) -> Result<Processed, ProcessError> {
    let mut file = File::open(path)?;
    let mut prefix = Vec::with_capacity(SNIFF_LEN);
    (&mut file)
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut prefix)?;
    let sniffed = sniff(&prefix);
    match sniffed.kind {
        MediaKind::Image => {
            drop(file);
            let bytes = fs::read(path)?;
            let Some(picture) = picture::process(&bytes, sniffed.mime, limits)? else {
                return Ok(Processed::plain(winichat_media_parse::sniff::FILE, None));
            };
            let rewritten = match &picture.served {
                Some(served) if rewrite => {
                    replace(path, served)?;
                    true
                }
                _ => false,
            };
            Ok(Processed {
                kind: MediaKind::Image,
                mime: picture.mime,
                width: Some(picture.width),
                height: Some(picture.height),
                duration_ms: None,
                blurhash: picture.blurhash,
                thumbs: picture.thumbs,
                rewritten,
            })
        }
        MediaKind::Audio | MediaKind::Video => {
            let (sniffed, duration_ms) = probe::probe(&mut file, sniffed)?;
            let mut processed = Processed::plain(sniffed, duration_ms);
            if rewrite && matches!(sniffed.mime, "video/mp4" | "audio/mp4") {
                let len = file.seek(SeekFrom::End(0))?;
                let blanks = probe::mp4::metadata_boxes(&mut file, len)?;
                drop(file);
                if !blanks.is_empty() {
                    blank_in_place(path, &blanks)?;
                    processed.rewritten = true;
                }
            }
            Ok(processed)
        }
        MediaKind::Voice | MediaKind::File => {
            Ok(Processed::plain(winichat_media_parse::sniff::FILE, None))
        }
    }
}

impl Processed {
    /// A file, or audio or video: no image fields, not rewritten.
    fn plain(sniffed: Sniffed, duration_ms: Option<u64>) -> Processed {
        Processed {
            kind: sniffed.kind,
            mime: sniffed.mime,
            width: None,
            height: None,
            duration_ms,
            blurhash: None,
            thumbs: Vec::new(),
            rewritten: false,
        }
    }
}

/// Replaces the file at `path` with `bytes`: written to a sibling temporary file, synced, then
/// renamed over it, so the path never holds a half-written file.
fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = sibling(path)?;
    let written = (|| {
        // Owner-only, like the staged upload it replaces.
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    let renamed = written.and_then(|()| fs::rename(&tmp, path));
    if renamed.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    renamed
}

/// Turns MP4 metadata boxes into `free` boxes with zeroed payloads, in place: a video may be
/// large, and no byte outside those boxes changes (the staged upload is not yet visible to
/// anyone, so a failure half-way only loses the upload).
fn blank_in_place(path: &Path, blanks: &[probe::mp4::Blank]) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).open(path)?;
    let zeros = [0u8; 64 * 1024];
    for b in blanks {
        f.seek(SeekFrom::Start(b.at + 4))?;
        f.write_all(b"free")?;
        f.seek(SeekFrom::Start(b.start))?;
        let mut left = b.end.saturating_sub(b.start);
        while left > 0 {
            let n = usize::try_from(left).unwrap_or(usize::MAX).min(zeros.len());
            f.write_all(&zeros[..n])?;
            left -= n as u64;
        }
    }
    f.sync_all()
}

/// A fresh name next to `path`: `.<name>.<random>.strip`.
fn sibling(path: &Path) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(io::Error::other)?;
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".{}.strip", hex::encode(random)));
    Ok(path.with_file_name(tmp))
}

#[cfg(test)]
mod tests;
