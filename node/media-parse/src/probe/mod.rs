//! Audio and video containers: which tracks a file has and how long it lasts, read with
//! seeks from the file (never the whole file in memory). Every walk is bounded: a hostile
//! file can make a probe give up, never loop, panic or allocate much.

use std::io::{self, Read, Seek, SeekFrom};

use winichat_protocol::media::{MAX_DURATION_MS, MediaKind};

use crate::Sniffed;

pub mod mp3;
pub mod mp4;
pub mod ogg;
pub mod wav;
pub mod webm;

/// What a probe learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Probe {
    /// The file has at least one video track (`None`: the probe could not tell).
    pub video: Option<bool>,
    /// The file has at least one audio track.
    pub audio: Option<bool>,
    /// The duration the container states.
    pub duration_ms: Option<u64>,
}

/// Reads the tracks and duration of an audio or video file and settles its kind: a WebM or
/// MP4 with no video track is audio, one with a video track is video. When the container
/// cannot be read the sniffed type stands, without a duration.
pub fn probe<R: Read + Seek>(r: &mut R, sniffed: Sniffed) -> io::Result<(Sniffed, Option<u64>)> {
    let len = r.seek(SeekFrom::End(0))?;
    let probe = match sniffed.mime {
        "video/webm" | "audio/webm" => webm::probe(r, len)?,
        "video/mp4" | "audio/mp4" => mp4::probe(r, len)?,
        "audio/ogg" => ogg::probe(r, len)?,
        "audio/wav" => wav::probe(r, len)?,
        "audio/mpeg" => match mp3::probe(r, len)? {
            Some(probe) => probe,
            // No MPEG audio frame where one must be: not an MP3 after all.
            None => return Ok((crate::sniff::FILE, None)),
        },
        _ => Probe::default(),
    };
    let sniffed = match (probe.video, probe.audio, sniffed.mime) {
        (Some(true), _, "video/webm" | "audio/webm") => crate::sniff::WEBM_VIDEO,
        (Some(false), Some(true), "video/webm" | "audio/webm") => crate::sniff::WEBM_AUDIO,
        (Some(true), _, "video/mp4" | "audio/mp4") => crate::sniff::MP4_VIDEO,
        (Some(false), Some(true), "video/mp4" | "audio/mp4") => crate::sniff::MP4_AUDIO,
        _ => sniffed,
    };
    debug_assert!(matches!(
        sniffed.kind,
        MediaKind::Audio | MediaKind::Video | MediaKind::File
    ));
    Ok((
        sniffed,
        // Zero (an empty stream, a sub-millisecond clip) is no duration at all.
        probe
            .duration_ms
            .filter(|ms| (1..=MAX_DURATION_MS).contains(ms)),
    ))
}

/// `units` of `1 / per_second` seconds in milliseconds, when that fits.
pub(crate) fn to_ms(units: u64, per_second: u64) -> Option<u64> {
    if per_second == 0 {
        return None;
    }
    u64::try_from(u128::from(units) * 1000 / u128::from(per_second)).ok()
}

/// Reads `buf.len()` bytes at `pos`. `Ok(false)` when the file ends first.
pub(crate) fn read_at<R: Read + Seek>(r: &mut R, pos: u64, buf: &mut [u8]) -> io::Result<bool> {
    r.seek(SeekFrom::Start(pos))?;
    match r.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads up to `max` bytes at `pos` (fewer at the end of the file).
pub(crate) fn read_upto<R: Read + Seek>(r: &mut R, pos: u64, max: usize) -> io::Result<Vec<u8>> {
    r.seek(SeekFrom::Start(pos))?;
    let mut buf = Vec::with_capacity(max.min(1 << 20));
    r.take(u64::try_from(max).unwrap_or(u64::MAX))
        .read_to_end(&mut buf)?;
    Ok(buf)
}

/// A big-endian unsigned integer from up to 8 bytes.
pub(crate) fn be_uint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

#[cfg(test)]
pub(crate) mod tests_support {
    //! Shared by the probes' tests. The bytes are leaked to `'static` so a probe's generic
    //! function item can be passed directly.

    use std::io::Cursor;

    use super::Probe;

    /// A cursor over bytes that live as long as the test binary.
    pub(crate) type Bytes = Cursor<&'static [u8]>;

    /// Probes every prefix of `bytes` (each length up to 4 KiB, then every `stride`-th) and
    /// the whole: none may panic, loop or fail.
    pub(crate) fn every_prefix<T>(
        bytes: &[u8],
        stride: usize,
        probe: impl Fn(&mut Bytes, u64) -> std::io::Result<T>,
    ) {
        let bytes: &'static [u8] = Vec::leak(bytes.to_vec());
        let mut len = 0;
        while len <= bytes.len() {
            let mut cursor = Cursor::new(&bytes[..len]);
            probe(&mut cursor, len as u64).expect("a cursor never fails");
            len += if len < 4096 { 1 } else { stride };
        }
        let mut cursor = Cursor::new(bytes);
        probe(&mut cursor, bytes.len() as u64).expect("a cursor never fails");
    }

    /// The probe of the whole of `bytes`.
    pub(crate) fn whole(
        bytes: &[u8],
        probe: impl Fn(&mut Bytes, u64) -> std::io::Result<Probe>,
    ) -> Probe {
        let bytes: &'static [u8] = Vec::leak(bytes.to_vec());
        probe(&mut Cursor::new(bytes), bytes.len() as u64).expect("probe")
    }
}
