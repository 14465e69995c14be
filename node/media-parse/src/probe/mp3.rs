//! MP3 (MPEG-1/2/2.5 Layer III): the first frame after any ID3v2 tag; the duration from a
//! Xing/Info or VBRI header's frame count, else estimated from the first frame's bit rate
//! (constant bit rate).

use std::io::{self, Read, Seek};

use super::{Probe, read_upto, to_ms};

/// How far after the ID3 tag the first frame is looked for.
const SYNC_WINDOW: usize = 64 * 1024;
/// At most this many ID3v2 tags in a row are skipped.
const MAX_ID3_TAGS: usize = 8;

/// An MPEG audio Layer III frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// MPEG-1 (else 2 or 2.5).
    mpeg1: bool,
    mono: bool,
    /// Bits per second.
    bitrate: u32,
    /// Samples per second.
    sample_rate: u32,
    /// The frame's length in bytes.
    pub len: usize,
}

impl Frame {
    /// The frame header in the first 4 bytes of `b`, if they are one.
    pub fn parse(b: &[u8]) -> Option<Frame> {
        let h = b.get(..4)?;
        if h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
            return None;
        }
        let version = (h[1] >> 3) & 3; // 0: 2.5, 1: reserved, 2: 2, 3: 1
        let layer = (h[1] >> 1) & 3; // 1: Layer III
        if version == 1 || layer != 1 {
            return None;
        }
        let mpeg1 = version == 3;
        const V1: [u32; 16] = [
            0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0,
        ];
        const V2: [u32; 16] = [
            0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0,
        ];
        let kbps = if mpeg1 { V1 } else { V2 }[usize::from(h[2] >> 4)];
        let rate_index = usize::from((h[2] >> 2) & 3);
        let base = [44_100, 48_000, 32_000, 0][rate_index];
        let sample_rate = match version {
            3 => base,
            2 => base / 2,
            _ => base / 4,
        };
        if kbps == 0 || sample_rate == 0 {
            return None;
        }
        let padding = usize::from((h[2] >> 1) & 1);
        let bitrate = kbps * 1000;
        let per_frame = if mpeg1 { 144 } else { 72 };
        let len = (per_frame * bitrate / sample_rate) as usize + padding;
        Some(Frame {
            mpeg1,
            mono: h[3] >> 6 == 3,
            bitrate,
            sample_rate,
            len,
        })
    }

    fn samples(&self) -> u64 {
        if self.mpeg1 { 1152 } else { 576 }
    }

    /// Where a Xing/Info header would start, from the frame's start.
    fn xing_offset(&self) -> usize {
        4 + match (self.mpeg1, self.mono) {
            (true, false) => 32,
            (true, true) | (false, false) => 17,
            (false, true) => 9,
        }
    }
}

/// The length of the ID3v2 tag at the start of `b` (header, body and footer), if there is one.
pub fn id3_len(b: &[u8]) -> Option<usize> {
    let h = b.get(..10)?;
    if &h[..3] != b"ID3" || h[3] == 0xFF || h[4] == 0xFF || h[6..10].iter().any(|x| x & 0x80 != 0) {
        return None;
    }
    let size = h[6..10]
        .iter()
        .fold(0usize, |acc, x| (acc << 7) | usize::from(*x));
    let footer = if h[5] & 0x10 != 0 { 10 } else { 0 };
    Some(10 + size + footer)
}

/// The duration of an MP3 file of `len` bytes; `None` when no frame follows the tags.
pub fn probe<R: Read + Seek>(r: &mut R, len: u64) -> io::Result<Option<Probe>> {
    let mut start = 0u64;
    for _ in 0..MAX_ID3_TAGS {
        let head = read_upto(r, start, 10)?;
        match id3_len(&head) {
            Some(n) => start += n as u64,
            None => break,
        }
    }
    // The first frame: at the start, or after some junk, confirmed by the next frame.
    let window = read_upto(r, start, SYNC_WINDOW)?;
    let mut found = None;
    for i in 0..window.len() {
        let Some(frame) = Frame::parse(&window[i..]) else {
            continue;
        };
        let next = window.get(i + frame.len..);
        let confirmed = match next {
            Some(rest) if rest.len() >= 4 => Frame::parse(rest).is_some(),
            // The file (or window) ends within this frame.
            _ => i == 0 || start + window.len() as u64 >= len,
        };
        if confirmed {
            found = Some((i, frame));
            break;
        }
    }
    let Some((offset, frame)) = found else {
        return Ok(None);
    };
    let frame_at = start + offset as u64;
    let body = &window[offset..];

    let mut frames = None;
    let xing = frame.xing_offset();
    if let Some(tag) = body.get(xing..xing + 12)
        && (&tag[..4] == b"Xing" || &tag[..4] == b"Info")
        // Flag 1: the frame count is present.
        && tag[7] & 1 != 0
    {
        frames = Some(u64::from(u32::from_be_bytes([
            tag[8], tag[9], tag[10], tag[11],
        ])));
    }
    if let Some(tag) = body.get(36..36 + 18)
        && &tag[..4] == b"VBRI"
    {
        frames = Some(u64::from(u32::from_be_bytes([
            tag[14], tag[15], tag[16], tag[17],
        ])));
    }
    let duration_ms = match frames {
        Some(n) if n > 0 => to_ms(n * frame.samples(), u64::from(frame.sample_rate)),
        _ => {
            // Constant bit rate: the audio bytes (less an ID3v1 tag at the end) over the rate.
            let tail = read_upto(r, len.saturating_sub(128), 3)?;
            let id3v1 = if tail == b"TAG" { 128 } else { 0 };
            let bytes = len.saturating_sub(frame_at).saturating_sub(id3v1);
            to_ms(bytes * 8, u64::from(frame.bitrate))
        }
    };
    Ok(Some(Probe {
        video: Some(false),
        audio: Some(true),
        duration_ms,
    }))
}

#[cfg(test)]
mod tests {
    use winichat_testkit::media_fixtures::fixture;

    use super::super::tests_support::every_prefix;
    use super::*;

    fn run(bytes: &[u8]) -> Option<Probe> {
        probe(&mut std::io::Cursor::new(bytes), bytes.len() as u64).expect("cursor")
    }

    #[test]
    fn info_header_frame_count() {
        let p = run(&fixture("tone.mp3")).expect("an mp3");
        // 59 frames of 1152 samples at 44.1 kHz (ffprobe: 1.541224 s).
        assert_eq!(p.duration_ms, Some(1541));
        assert_eq!((p.video, p.audio), (Some(false), Some(true)));
    }

    #[test]
    fn constant_bit_rate_estimate() {
        let bytes = fixture("tone-cbr.mp3");
        assert!(id3_len(&bytes).is_none(), "no tag");
        let ms = run(&bytes).expect("an mp3").duration_ms.expect("duration");
        // 12 329 bytes at 64 kb/s.
        assert_eq!(ms, 12_329 * 8 / 64);
    }

    #[test]
    fn frame_header_table() {
        // MPEG-1 Layer III 128 kb/s 44.1 kHz: 417 bytes.
        assert_eq!(
            Frame::parse(&[0xFF, 0xFB, 0x90, 0x00]).map(|f| f.len),
            Some(417)
        );
        // With padding: 418.
        assert_eq!(
            Frame::parse(&[0xFF, 0xFB, 0x92, 0x00]).map(|f| f.len),
            Some(418)
        );
        // MPEG-2 Layer III 64 kb/s 22.05 kHz: 208 bytes.
        assert_eq!(
            Frame::parse(&[0xFF, 0xF3, 0x80, 0x00]).map(|f| f.len),
            Some(208)
        );
        // Bad bit rate, bad sample rate, reserved version, layer II, ADTS AAC, text.
        for h in [
            [0xFF, 0xFB, 0xF0, 0x00],
            [0xFF, 0xFB, 0x0C, 0x00],
            [0xFF, 0xFB, 0x9C, 0x00],
            [0xFF, 0xEB, 0x90, 0x00],
            [0xFF, 0xFD, 0x90, 0x00],
            [0xFF, 0xF1, 0x50, 0x80],
            *b"<htm",
        ] {
            assert_eq!(Frame::parse(&h), None, "{h:02x?}");
        }
    }

    #[test]
    fn a_tag_followed_by_no_audio_is_not_an_mp3() {
        let mut bytes = b"ID3\x04\0\0\0\0\0\x05hello".to_vec();
        bytes.extend_from_slice(b"<html>not audio</html>");
        assert_eq!(run(&bytes), None);
        // A tag claiming a size beyond the file.
        assert_eq!(run(b"ID3\x04\0\0\x7f\x7f\x7f\x7f"), None);
    }

    #[test]
    fn every_truncation_is_handled() {
        every_prefix(&fixture("tone.mp3"), 1, probe);
        every_prefix(&fixture("tone-cbr.mp3"), 11, probe);
    }
}
