//! WebM (EBML): the track types (`Tracks/TrackEntry/TrackType`: 1 video, 2 audio) and the
//! duration (`Info/Duration` × `Info/TimecodeScale`). A recorder's live WebM (MediaRecorder)
//! states no duration: `None`.

use std::io::{self, Read, Seek};

use super::{Probe, be_uint, read_at};

const EBML: u32 = 0x1A45_DFA3;
const DOC_TYPE: u32 = 0x4282;
const SEGMENT: u32 = 0x1853_8067;
const SEEK_HEAD: u32 = 0x114D_9B74;
const SEEK: u32 = 0x4DBB;
const SEEK_ID: u32 = 0x53AB;
const SEEK_POSITION: u32 = 0x53AC;
const INFO: u32 = 0x1549_A966;
const TIMECODE_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_TYPE: u32 = 0x83;
const CLUSTER: u32 = 0x1F43_B675;

/// At most this many elements are looked at on one level.
const MAX_ELEMENTS_PER_LEVEL: usize = 1024;

/// An element header: its ID and where its data starts and ends (`None`: unknown size).
#[derive(Debug, Clone, Copy)]
struct Element {
    id: u32,
    start: u64,
    end: Option<u64>,
}

/// The element header at `pos`, or `None` when it is malformed or cut off.
fn element<R: Read + Seek>(r: &mut R, pos: u64, len: u64) -> io::Result<Option<Element>> {
    let mut head = [0u8; 12];
    let available = usize::try_from(len.saturating_sub(pos))
        .unwrap_or(usize::MAX)
        .min(12);
    if available < 2 || !read_at(r, pos, &mut head[..available])? {
        return Ok(None);
    }
    let head = &head[..available];
    let Some(id_len) = vint_len(head[0]).filter(|n| *n <= 4) else {
        return Ok(None);
    };
    let Some(id_bytes) = head.get(..id_len) else {
        return Ok(None);
    };
    let id = u32::try_from(be_uint(id_bytes)).unwrap_or(0);
    let Some(&size_first) = head.get(id_len) else {
        return Ok(None);
    };
    let Some(size_len) = vint_len(size_first) else {
        return Ok(None);
    };
    let Some(size_bytes) = head.get(id_len..id_len + size_len) else {
        return Ok(None);
    };
    // The size with its length marker removed; all ones means "unknown".
    let mask = (1u64 << (7 * size_len as u32)) - 1;
    let raw = be_uint(size_bytes) & mask;
    let unknown = raw == mask;
    let start = pos + (id_len + size_len) as u64;
    let end = if unknown {
        None
    } else {
        Some(start.saturating_add(raw))
    };
    Ok(Some(Element { id, start, end }))
}

/// The length of a variable-size integer from its first byte (1–8), or `None` for 0x00.
fn vint_len(first: u8) -> Option<usize> {
    (first != 0).then_some(first.leading_zeros() as usize + 1)
}

/// Visits the children of `[from, to)`; `visit` returns false to stop. Children of unknown
/// size end the walk (only Segment and Cluster may have one, and neither is read here).
fn walk<R: Read + Seek>(
    r: &mut R,
    from: u64,
    to: u64,
    mut visit: impl FnMut(&mut R, Element, u64) -> io::Result<bool>,
) -> io::Result<()> {
    let mut pos = from;
    for _ in 0..MAX_ELEMENTS_PER_LEVEL {
        if pos >= to {
            break;
        }
        let Some(e) = element(r, pos, to)? else {
            break;
        };
        let end = e.end.unwrap_or(to).min(to);
        if !visit(r, e, end)? || e.end.is_none() || end <= pos {
            break;
        }
        pos = end;
    }
    Ok(())
}

/// An element's data, when it is at most 8 bytes (integers and floats).
fn small<R: Read + Seek>(r: &mut R, e: Element, end: u64) -> io::Result<Option<Vec<u8>>> {
    let n = end.saturating_sub(e.start);
    if n == 0 || n > 8 || e.end != Some(end) {
        return Ok(None);
    }
    let mut buf = vec![0u8; n as usize];
    Ok(read_at(r, e.start, &mut buf)?.then_some(buf))
}

/// The DocType in the EBML header (`webm`, `matroska` …), from the first bytes.
pub fn doc_type(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut r = io::Cursor::new(prefix);
    let len = prefix.len() as u64;
    let header = element(&mut r, 0, len).ok()??;
    if header.id != EBML {
        return None;
    }
    let end = header.end?.min(len);
    let mut found = None;
    walk(&mut r, header.start, end, |r, e, end| {
        if e.id == DOC_TYPE && e.end == Some(end) && end - e.start <= 32 {
            let mut buf = vec![0u8; (end - e.start) as usize];
            if read_at(r, e.start, &mut buf)? {
                while buf.last() == Some(&0) {
                    buf.pop();
                }
                found = Some(buf);
            }
            return Ok(false);
        }
        Ok(true)
    })
    .ok()?;
    found
}

/// The tracks and the duration of a WebM of `len` bytes.
pub fn probe<R: Read + Seek>(r: &mut R, len: u64) -> io::Result<Probe> {
    let mut probe = Probe::default();
    let Some(header) = element(r, 0, len)? else {
        return Ok(probe);
    };
    let Some(header_end) = header.end.filter(|_| header.id == EBML) else {
        return Ok(probe);
    };
    let Some(segment) = element(r, header_end, len)?.filter(|e| e.id == SEGMENT) else {
        return Ok(probe);
    };
    let segment_end = segment.end.unwrap_or(len).min(len);

    let mut info_at = None;
    let mut tracks_at = None;
    let mut seen_info = false;
    let mut seen_tracks = false;
    walk(r, segment.start, segment_end, |r, e, end| {
        match e.id {
            SEEK_HEAD => {
                // Where Info and Tracks are, should they come after the first Cluster.
                walk(r, e.start, end, |r, seek, seek_end| {
                    if seek.id != SEEK {
                        return Ok(true);
                    }
                    let mut id = None;
                    let mut position = None;
                    walk(r, seek.start, seek_end, |r, f, f_end| {
                        match f.id {
                            SEEK_ID => id = small(r, f, f_end)?.map(|b| be_uint(&b)),
                            SEEK_POSITION => position = small(r, f, f_end)?.map(|b| be_uint(&b)),
                            _ => {}
                        }
                        Ok(true)
                    })?;
                    let at = position.and_then(|p| segment.start.checked_add(p));
                    match id {
                        Some(id) if id == u64::from(INFO) => info_at = at,
                        Some(id) if id == u64::from(TRACKS) => tracks_at = at,
                        _ => {}
                    }
                    Ok(true)
                })?;
            }
            INFO => {
                seen_info = true;
                probe.duration_ms = info(r, e, end)?;
            }
            TRACKS => {
                seen_tracks = true;
                tracks(r, e, end, &mut probe)?;
            }
            CLUSTER => return Ok(false),
            _ => {}
        }
        Ok(!(seen_info && seen_tracks))
    })?;
    if !seen_info && let Some(e) = element_at(r, info_at, INFO, segment_end)? {
        probe.duration_ms = info(r, e, e.end.unwrap_or(segment_end).min(segment_end))?;
    }
    if !seen_tracks && let Some(e) = element_at(r, tracks_at, TRACKS, segment_end)? {
        tracks(
            r,
            e,
            e.end.unwrap_or(segment_end).min(segment_end),
            &mut probe,
        )?;
    }
    Ok(probe)
}

/// The element with ID `id` at `pos`, if there is one.
fn element_at<R: Read + Seek>(
    r: &mut R,
    pos: Option<u64>,
    id: u32,
    len: u64,
) -> io::Result<Option<Element>> {
    let Some(pos) = pos else {
        return Ok(None);
    };
    Ok(element(r, pos, len)?.filter(|e| e.id == id && e.end.is_some()))
}

/// Segment Info: the duration in milliseconds, when stated.
fn info<R: Read + Seek>(r: &mut R, e: Element, end: u64) -> io::Result<Option<u64>> {
    let mut scale = 1_000_000u64;
    let mut duration = None;
    walk(r, e.start, end, |r, f, f_end| {
        match f.id {
            TIMECODE_SCALE => {
                if let Some(b) = small(r, f, f_end)? {
                    scale = be_uint(&b);
                }
            }
            DURATION => {
                duration = small(r, f, f_end)?.and_then(|b| match b.len() {
                    4 => Some(f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]]))),
                    8 => Some(f64::from_bits(be_uint(&b))),
                    _ => None,
                });
            }
            _ => {}
        }
        Ok(true)
    })?;
    // Duration counts TimecodeScale nanoseconds.
    let ms = duration.map(|d| d * scale as f64 / 1e6);
    Ok(ms
        .filter(|ms| ms.is_finite() && *ms > 0.0 && *ms < 1e15)
        .map(|ms| ms.round() as u64))
}

/// Tracks: whether there is a video track and an audio track.
fn tracks<R: Read + Seek>(r: &mut R, e: Element, end: u64, probe: &mut Probe) -> io::Result<()> {
    let mut video = false;
    let mut audio = false;
    let mut any = false;
    walk(r, e.start, end, |r, entry, entry_end| {
        if entry.id == TRACK_ENTRY {
            walk(r, entry.start, entry_end, |r, f, f_end| {
                if f.id == TRACK_TYPE {
                    match small(r, f, f_end)?.map(|b| be_uint(&b)) {
                        Some(1) => video = true,
                        Some(2) => audio = true,
                        _ => {}
                    }
                    any = true;
                    return Ok(false);
                }
                Ok(true)
            })?;
        }
        Ok(true)
    })?;
    if any {
        probe.video = Some(video);
        probe.audio = Some(audio);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use winichat_testkit::media_fixtures::fixture;

    use super::super::tests_support::{every_prefix, whole};
    use super::*;

    #[test]
    fn clip_has_video_audio_and_its_duration() {
        let p = whole(&fixture("clip.webm"), probe);
        assert_eq!(p.video, Some(true));
        assert_eq!(p.audio, Some(true));
        assert_eq!(p.duration_ms, Some(2008));
    }

    #[test]
    fn recorder_voice_is_audio_only_without_duration() {
        let p = whole(&fixture("voice.webm"), probe);
        assert_eq!(p.video, Some(false));
        assert_eq!(p.audio, Some(true));
        assert_eq!(p.duration_ms, None);
    }

    #[test]
    fn doc_type_from_the_first_bytes() {
        assert_eq!(
            doc_type(&fixture("clip.webm")[..64]),
            Some(b"webm".to_vec())
        );
        assert_eq!(doc_type(&fixture("voice.webm")), Some(b"webm".to_vec()));
        assert_eq!(doc_type(b"\x1a\x45\xdf\xa3"), None);
        assert_eq!(doc_type(b"not ebml at all"), None);
    }

    #[test]
    fn tracks_found_through_the_seek_head_after_a_cluster() {
        // Segment { SeekHead { Seek { SeekID Tracks, SeekPosition → Tracks } }, Cluster {}, Tracks {…} }
        let tracks = el(&[0x16, 0x54, 0xAE, 0x6B], &el(&[0xAE], &el(&[0x83], &[2])));
        let cluster = el(&[0x1F, 0x43, 0xB6, 0x75], &[]);
        let seek_for = |position: u8| {
            let mut seek = el(&[0x53, 0xAB], &[0x16, 0x54, 0xAE, 0x6B]);
            seek.extend(el(&[0x53, 0xAC], &[position]));
            el(&[0x11, 0x4D, 0x9B, 0x74], &el(&[0x4D, 0xBB], &seek))
        };
        let head_len = u8::try_from(seek_for(0).len() + cluster.len()).expect("small");
        let mut body = seek_for(head_len);
        body.extend(cluster);
        body.extend(tracks);
        let mut file = el(&[0x1A, 0x45, 0xDF, 0xA3], &el(&[0x42, 0x82], b"webm"));
        file.extend(el(&[0x18, 0x53, 0x80, 0x67], &body));
        let p = whole(&file, probe);
        assert_eq!((p.video, p.audio), (Some(false), Some(true)));
    }

    #[test]
    fn hostile_sizes_and_durations() {
        // Negative, NaN and infinite durations are ignored; a huge size is clamped.
        for duration in [-5.0f64, f64::NAN, f64::INFINITY, 1e300] {
            let info = el(
                &[0x15, 0x49, 0xA9, 0x66],
                &el(&[0x44, 0x89], &duration.to_be_bytes()),
            );
            let mut file = el(&[0x1A, 0x45, 0xDF, 0xA3], &el(&[0x42, 0x82], b"webm"));
            file.extend(el(&[0x18, 0x53, 0x80, 0x67], &info));
            assert_eq!(whole(&file, probe).duration_ms, None, "{duration}");
        }
        let mut file = el(&[0x1A, 0x45, 0xDF, 0xA3], &el(&[0x42, 0x82], b"webm"));
        file.extend_from_slice(&[
            0x18, 0x53, 0x80, 0x67, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
        ]);
        file.extend(std::iter::repeat_n(0xECu8, 5000));
        assert_eq!(whole(&file, probe), Probe::default());
        assert_eq!(whole(&[0u8; 64], probe), Probe::default());
    }

    #[test]
    fn every_truncation_is_handled() {
        every_prefix(&fixture("voice.webm"), 1, probe);
        every_prefix(&fixture("clip.webm"), 13, probe);
        for len in 0..200 {
            let _ = doc_type(&fixture("clip.webm")[..len]);
        }
    }

    /// An element with a 1-byte size.
    fn el(id: &[u8], body: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        out.push(0x80 | u8::try_from(body.len()).expect("< 127"));
        out.extend_from_slice(body);
        out
    }
}
