//! MP4 / M4A (ISO base media): the handler of each track (`moov/trak/mdia/hdlr`: `vide`,
//! `soun`), the duration (`moov/mvhd`, or `moov/mvex/mehd` for a fragmented file), and the
//! boxes holding metadata (where phones write where a video was shot).

use std::io::{self, Read, Seek};

use super::{Probe, be_uint, read_at, to_ms};

/// At most this many boxes are looked at on one level.
const MAX_BOXES_PER_LEVEL: usize = 1024;
/// At most this many tracks.
const MAX_TRACKS: usize = 64;

/// A box: its type and where its payload starts and ends (clamped to its parent).
#[derive(Debug, Clone, Copy)]
struct BoxHeader {
    kind: [u8; 4],
    /// Where the box (its header) starts.
    at: u64,
    start: u64,
    end: u64,
}

/// The boxes inside `[from, to)`, in order; stops at the first malformed header.
fn children<R: Read + Seek>(r: &mut R, from: u64, to: u64) -> io::Result<Vec<BoxHeader>> {
    let mut out = Vec::new();
    let mut pos = from;
    while out.len() < MAX_BOXES_PER_LEVEL && pos.saturating_add(8) <= to {
        let mut head = [0u8; 8];
        if !read_at(r, pos, &mut head)? {
            break;
        }
        let size32 = be_uint(&head[..4]);
        let kind = [head[4], head[5], head[6], head[7]];
        let (header_len, size) = match size32 {
            0 => (8, to - pos),
            1 => {
                let mut large = [0u8; 8];
                if pos.saturating_add(16) > to || !read_at(r, pos + 8, &mut large)? {
                    break;
                }
                (16, be_uint(&large))
            }
            n => (8, n),
        };
        if size < header_len {
            break;
        }
        let end = pos.saturating_add(size).min(to);
        out.push(BoxHeader {
            kind,
            at: pos,
            start: pos + header_len,
            end,
        });
        pos = end;
    }
    Ok(out)
}

/// The first child of type `kind`.
fn child<R: Read + Seek>(
    r: &mut R,
    parent: BoxHeader,
    kind: &[u8; 4],
) -> io::Result<Option<BoxHeader>> {
    Ok(children(r, parent.start, parent.end)?
        .into_iter()
        .find(|b| &b.kind == kind))
}

/// Up to `n` bytes of a box's payload (fewer when the box is shorter).
fn payload<R: Read + Seek>(r: &mut R, b: BoxHeader, n: usize) -> io::Result<Vec<u8>> {
    let available = usize::try_from(b.end - b.start)
        .unwrap_or(usize::MAX)
        .min(n);
    let mut buf = vec![0u8; available];
    if read_at(r, b.start, &mut buf)? {
        Ok(buf)
    } else {
        Ok(Vec::new())
    }
}

/// The tracks and the duration of an MP4 of `len` bytes.
pub fn probe<R: Read + Seek>(r: &mut R, len: u64) -> io::Result<Probe> {
    let Some(moov) = children(r, 0, len)?
        .into_iter()
        .find(|b| &b.kind == b"moov")
    else {
        return Ok(Probe::default());
    };
    let mut probe = Probe::default();
    let boxes = children(r, moov.start, moov.end)?;

    let mut timescale = 0;
    if let Some(mvhd) = boxes.iter().find(|b| &b.kind == b"mvhd") {
        let p = payload(r, *mvhd, 32)?;
        let (scale, duration) = match p.first() {
            Some(0) if p.len() >= 20 => (be_uint(&p[12..16]), be_uint(&p[16..20])),
            Some(1) if p.len() >= 32 => (be_uint(&p[20..24]), be_uint(&p[24..32])),
            _ => (0, 0),
        };
        timescale = scale;
        // 0 is a fragmented file's placeholder; all ones means "unknown".
        if duration != 0 && duration != u64::from(u32::MAX) && duration != u64::MAX {
            probe.duration_ms = to_ms(duration, timescale);
        }
    }
    // A fragmented file: the fragments' total duration.
    if probe.duration_ms.is_none()
        && let Some(mvex) = boxes.iter().find(|b| &b.kind == b"mvex")
        && let Some(mehd) = child(r, *mvex, b"mehd")?
    {
        let p = payload(r, mehd, 12)?;
        let duration = match p.first() {
            Some(0) if p.len() >= 8 => be_uint(&p[4..8]),
            Some(1) if p.len() >= 12 => be_uint(&p[4..12]),
            _ => 0,
        };
        if duration != 0 {
            probe.duration_ms = to_ms(duration, timescale);
        }
    }

    let mut tracks = 0;
    for trak in boxes.iter().filter(|b| &b.kind == b"trak").take(MAX_TRACKS) {
        let Some(mdia) = child(r, *trak, b"mdia")? else {
            continue;
        };
        let Some(hdlr) = child(r, mdia, b"hdlr")? else {
            continue;
        };
        let p = payload(r, hdlr, 12)?;
        let Some(handler) = p.get(8..12) else {
            continue;
        };
        tracks += 1;
        match handler {
            b"vide" => probe.video = Some(true),
            b"soun" => probe.audio = Some(true),
            _ => {}
        }
    }
    if tracks > 0 {
        probe.video.get_or_insert(false);
        probe.audio.get_or_insert(false);
    }
    Ok(probe)
}

/// The UUID of an XMP box.
const XMP_UUID: [u8; 16] = [
    0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC,
];

/// A box to blank: its header starts at `at`, its payload at `start`, it ends at `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blank {
    pub at: u64,
    pub start: u64,
    pub end: u64,
}

/// The boxes holding metadata, none needed to play the file: user data (`udta`: `©xyz` and
/// 3GPP `loci` locations, titles, maker boxes …) and `meta` (QuickTime and iTunes metadata)
/// in `moov` and in each `trak`, and top-level `meta` and XMP `uuid` boxes. Turning each into a
/// `free` box of the same size with a zeroed payload removes the data without moving any
/// other byte, so the sample offsets stay right.
pub fn metadata_boxes<R: Read + Seek>(r: &mut R, len: u64) -> io::Result<Vec<Blank>> {
    let blank = |b: &BoxHeader| Blank {
        at: b.at,
        start: b.start,
        end: b.end,
    };
    let mut out = Vec::new();
    for top in children(r, 0, len)? {
        match &top.kind {
            b"meta" => out.push(blank(&top)),
            b"uuid" if payload(r, top, 16)? == XMP_UUID => out.push(blank(&top)),
            b"moov" => {
                for b in children(r, top.start, top.end)? {
                    match &b.kind {
                        b"udta" | b"meta" => out.push(blank(&b)),
                        b"trak" => out.extend(
                            children(r, b.start, b.end)?
                                .iter()
                                .filter(|t| matches!(&t.kind, b"udta" | b"meta"))
                                .map(blank),
                        ),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use winichat_testkit::media_fixtures::fixture;

    use super::super::tests_support::{every_prefix, whole};
    use super::*;

    #[test]
    fn video_clip_has_video_and_audio_and_lasts_two_seconds() {
        let p = whole(&fixture("clip.mp4"), probe);
        assert_eq!(p.video, Some(true));
        assert_eq!(p.audio, Some(true));
        assert_eq!(p.duration_ms, Some(2000));
    }

    #[test]
    fn m4a_is_audio_only() {
        let p = whole(&fixture("tone.m4a"), probe);
        assert_eq!(p.video, Some(false));
        assert_eq!(p.audio, Some(true));
        // 1.5 s of AAC, plus the encoder's priming frame.
        let ms = p.duration_ms.expect("duration");
        assert!((1500..=1550).contains(&ms), "{ms}");
    }

    #[test]
    fn version_1_mvhd_and_fragmented_mehd() {
        // moov { mvhd v1 (timescale 1000, duration 0), mvex { mehd v1 (duration 4321) } }
        let mut mvhd = vec![1, 0, 0, 0];
        mvhd.extend_from_slice(&[0; 16]);
        mvhd.extend_from_slice(&1000u32.to_be_bytes());
        mvhd.extend_from_slice(&0u64.to_be_bytes());
        let mut mehd = vec![1, 0, 0, 0];
        mehd.extend_from_slice(&4321u64.to_be_bytes());
        let mvex = mp4_box(b"mvex", &mp4_box(b"mehd", &mehd));
        let mut moov_body = mp4_box(b"mvhd", &mvhd);
        moov_body.extend(mvex);
        let mut file = mp4_box(b"ftyp", b"isom\0\0\0\0isom");
        file.extend(mp4_box(b"moov", &moov_body));
        let p = whole(&file, probe);
        assert_eq!(p.duration_ms, Some(4321));
        assert_eq!(p.video, None, "no tracks: cannot tell");
    }

    #[test]
    fn hostile_boxes_end_the_walk() {
        // A box claiming to be smaller than its header, a 64-bit size beyond the file, a
        // size-0 box: each ends the walk without error.
        for body in [
            vec![0, 0, 0, 4, b'm', b'o', b'o', b'v'],
            vec![
                0, 0, 0, 1, b'm', b'o', b'o', b'v', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            ],
            vec![
                0, 0, 0, 0, b'm', b'o', b'o', b'v', 0, 0, 0, 0, b't', b'r', b'a', b'k',
            ],
        ] {
            let p = whole(&body, probe);
            assert_eq!(p, Probe::default());
        }
        // Thousands of empty boxes: bounded.
        let many: Vec<u8> = std::iter::repeat_n(mp4_box(b"free", &[]), 100_000)
            .flatten()
            .collect();
        assert_eq!(whole(&many, probe), Probe::default());
    }

    #[test]
    fn every_truncation_is_handled() {
        every_prefix(&fixture("tone.m4a"), 1, probe);
        every_prefix(&fixture("clip.mp4"), 7, probe);
        every_prefix(&fixture("clip.mp4"), 7, metadata_boxes);
    }

    #[test]
    fn metadata_boxes_are_found_where_phones_write_them() {
        let location = mp4_box(b"\xa9xyz", b"\0\x12\x15\xc7+48.8584+002.2945/");
        let mut trak = mp4_box(b"tkhd", &[0; 84]);
        trak.extend(mp4_box(b"udta", &mp4_box(b"loci", b"48N 2E")));
        let mut moov = mp4_box(b"mvhd", &[0; 100]);
        moov.extend(mp4_box(b"trak", &trak));
        moov.extend(mp4_box(b"udta", &location));
        moov.extend(mp4_box(b"meta", b"\0\0\0\0keys"));
        let mut xmp = XMP_UUID.to_vec();
        xmp.extend_from_slice(b"<x:xmpmeta/>");
        let mut other_uuid = [7u8; 16].to_vec();
        other_uuid.extend_from_slice(b"keep");
        let mut file = mp4_box(b"ftyp", b"isom\0\0\0\0isom");
        file.extend(mp4_box(b"moov", &moov));
        file.extend(mp4_box(b"uuid", &xmp));
        file.extend(mp4_box(b"uuid", &other_uuid));
        file.extend(mp4_box(b"mdat", b"frames"));
        let bytes: &'static [u8] = Vec::leak(file);
        let found =
            metadata_boxes(&mut std::io::Cursor::new(bytes), bytes.len() as u64).expect("walk");
        let kinds: Vec<&[u8]> = found
            .iter()
            .map(|b| &bytes[b.at as usize + 4..b.at as usize + 8])
            .collect();
        assert_eq!(kinds, vec![&b"udta"[..], b"udta", b"meta", b"uuid"]);
        for b in &found {
            assert_eq!(b.start, b.at + 8);
            assert!(b.end <= bytes.len() as u64);
        }
        assert!(found.iter().any(|b| {
            bytes[b.start as usize..b.end as usize]
                .windows(7)
                .any(|w| w == b"48.8584")
        }));
    }

    fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = u32::try_from(body.len() + 8)
            .expect("small")
            .to_be_bytes()
            .to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }
}
