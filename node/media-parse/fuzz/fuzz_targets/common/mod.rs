//! Properties shared by the fuzz targets. Every target asserts more than "no panic": a probe
//! reads a bounded amount through small buffers and states only sane durations, a stripper's
//! output strips again to itself and still sniffs as the same image type.

#![allow(dead_code)] // each target uses a part of this module

use std::io::{self, Cursor, Read, Seek, SeekFrom};

use winichat_media_parse::probe::{self, Probe};
use winichat_media_parse::strip::{Malformed, Stripped};
use winichat_media_parse::{Sniffed, sniff};
use winichat_protocol::media::{MAX_DURATION_MS, MediaKind};

/// The largest buffer a probe may read into at once (its largest window is an Ogg page,
/// 65 307 bytes): a bigger one means a size taken from the file was trusted.
const MAX_READ: usize = 128 * 1024;

/// A cursor that counts what a probe does with it: how often it reads and seeks and how many
/// bytes it reads, and checks that no single read asks for more than [`MAX_READ`] bytes.
pub struct Tracked<'a> {
    inner: Cursor<&'a [u8]>,
    pub reads: u64,
    pub seeks: u64,
    pub bytes: u64,
}

impl<'a> Tracked<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Tracked {
            inner: Cursor::new(data),
            reads: 0,
            seeks: 0,
            bytes: 0,
        }
    }

    /// The walk was bounded: every structure visited costs a read and a seek of at least one
    /// byte of the file, and each walk crosses the file a few times at most (nested levels,
    /// a seek head pointing back), plus the fixed windows (an MP3 sync window, an Ogg tail).
    pub fn assert_bounded(&self) {
        let len = self.inner.get_ref().len() as u64;
        let calls = 8 * len + 4096;
        assert!(
            self.reads <= calls && self.seeks <= calls,
            "{} reads and {} seeks over {len} bytes",
            self.reads,
            self.seeks
        );
        let bytes = 16 * len + 512 * 1024;
        assert!(self.bytes <= bytes, "{} bytes read of {len}", self.bytes);
    }
}

impl Read for Tracked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        assert!(buf.len() <= MAX_READ, "a read of {} bytes", buf.len());
        self.reads += 1;
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

impl Seek for Tracked<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.seeks += 1;
        self.inner.seek(pos)
    }
}

/// Runs one container probe over `data` and returns what it found. A cursor never fails, so
/// neither may the probe.
pub fn run<'a, T>(data: &'a [u8], probe: impl Fn(&mut Tracked<'a>, u64) -> io::Result<T>) -> T {
    let mut r = Tracked::new(data);
    let found = probe(&mut r, data.len() as u64).expect("a probe over a cursor fails");
    r.assert_bounded();
    found
}

/// The probe the node runs for a sniffed audio or video type, with its properties: it keeps
/// the container (only an MP3 without frames becomes a file), settles WebM and MP4 by their
/// tracks, and states a duration only within `1..=MAX_DURATION_MS`.
pub fn dispatch(data: &[u8], sniffed: Sniffed) -> (Sniffed, Option<u64>) {
    let (settled, duration_ms) = run(data, |r, _| probe::probe(r, sniffed));
    assert!(matches!(
        settled.kind,
        MediaKind::Audio | MediaKind::Video | MediaKind::File
    ));
    let family = |s: Sniffed| s.mime.rsplit('/').next().unwrap_or_default();
    if settled.kind == MediaKind::File {
        assert_eq!(sniffed.mime, "audio/mpeg", "only an MP3 can turn out a file");
        assert_eq!(duration_ms, None);
    } else {
        assert_eq!(family(settled), family(sniffed), "the container changed");
        assert_consistent(settled);
    }
    if let Some(ms) = duration_ms {
        assert!((1..=MAX_DURATION_MS).contains(&ms), "duration {ms} ms");
    }
    (settled, duration_ms)
}

/// A container probe and the node's dispatch agree: the dispatch keeps the probe's duration
/// when it is sane and the kind follows the tracks found.
pub fn container(data: &[u8], sniffed: Sniffed, raw: Probe) {
    let (settled, duration_ms) = dispatch(data, sniffed);
    assert_eq!(
        duration_ms,
        raw.duration_ms
            .filter(|ms| (1..=MAX_DURATION_MS).contains(ms))
    );
    if raw.video == Some(true) {
        assert_eq!(settled.kind, MediaKind::Video);
    }
    if sniffed.mime.ends_with("webm") || sniffed.mime.ends_with("mp4") {
        if raw.video == Some(false) && raw.audio == Some(true) {
            assert_eq!(settled.kind, MediaKind::Audio);
        }
    }
}

/// The MIME type matches the kind, and is one of the allowlist's.
pub fn assert_consistent(s: Sniffed) {
    let family = match s.kind {
        MediaKind::Image => "image/",
        MediaKind::Audio => "audio/",
        MediaKind::Video => "video/",
        MediaKind::File => "application/octet-stream",
        MediaKind::Voice => panic!("sniffing never says voice"),
    };
    assert!(s.mime.starts_with(family), "{s:?}");
}

/// A stripper's properties: a walk that fails says so, one that succeeds gives bytes no
/// longer than the input (one pad byte aside), that sniff as the input did, and that strip
/// again to exactly themselves (nothing left to remove, the animation flag the same).
pub fn strip_properties(data: &[u8], strip: fn(&[u8]) -> Result<Stripped, Malformed>) {
    let Ok(stripped) = strip(data) else {
        return;
    };
    assert!(
        stripped.bytes.len() <= data.len() + 1,
        "{} bytes out of {}",
        stripped.bytes.len(),
        data.len()
    );
    let before = sniff(data);
    if before.kind == MediaKind::Image {
        assert_eq!(sniff(&stripped.bytes), before, "the served copy changed type");
    }
    let again = strip(&stripped.bytes).expect("a stripped image strips again");
    assert_eq!(again, stripped, "stripping is not idempotent");
}
