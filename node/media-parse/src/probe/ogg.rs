//! Ogg (Opus or Vorbis): the codec from the first packet, the duration from the granule
//! position of the stream's last page: `(granule − pre-skip) / 48 000` for Opus,
//! `granule / sample rate` for Vorbis.

use std::io::{self, Read, Seek};

use super::{Probe, read_upto, to_ms};

/// An Ogg page is at most 27 + 255 + 255 × 255 bytes.
const MAX_PAGE: usize = 27 + 255 + 255 * 255;

/// The codec of an Ogg stream, from its first packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Opus; the pre-skip in 48 kHz samples.
    Opus { pre_skip: u64 },
    /// Vorbis; the sample rate.
    Vorbis { rate: u64 },
}

/// A page header.
#[derive(Debug, Clone, Copy)]
struct Page {
    granule: u64,
    serial: u32,
    /// Header plus segment table.
    header_len: usize,
    /// Header, segment table and data.
    len: usize,
}

/// The page header at the start of `bytes`, when complete (the data may be cut off).
fn page(bytes: &[u8]) -> Option<Page> {
    let h = bytes.get(..27)?;
    if &h[..4] != b"OggS" || h[4] != 0 {
        return None;
    }
    let granule = u64::from_le_bytes(h[6..14].try_into().ok()?);
    let serial = u32::from_le_bytes(h[14..18].try_into().ok()?);
    let segments = usize::from(h[26]);
    let table = bytes.get(27..27 + segments)?;
    let data: usize = table.iter().map(|n| usize::from(*n)).sum();
    Some(Page {
        granule,
        serial,
        header_len: 27 + segments,
        len: 27 + segments + data,
    })
}

/// The first stream's serial number and codec, from the first page (first bytes).
pub fn first_stream(prefix: &[u8]) -> Option<(u32, Codec)> {
    let p = page(prefix)?;
    let packet = prefix.get(p.header_len..)?;
    if packet.starts_with(b"OpusHead") {
        let pre_skip = u16::from_le_bytes(packet.get(10..12)?.try_into().ok()?);
        return Some((
            p.serial,
            Codec::Opus {
                pre_skip: u64::from(pre_skip),
            },
        ));
    }
    if packet.starts_with(b"\x01vorbis") {
        let rate = u32::from_le_bytes(packet.get(12..16)?.try_into().ok()?);
        return (rate > 0).then_some((
            p.serial,
            Codec::Vorbis {
                rate: u64::from(rate),
            },
        ));
    }
    None
}

/// The codec and duration of an Ogg file of `len` bytes.
pub fn probe<R: Read + Seek>(r: &mut R, len: u64) -> io::Result<Probe> {
    let mut probe = Probe {
        video: Some(false),
        ..Probe::default()
    };
    let first = read_upto(r, 0, 512)?;
    let Some((serial, codec)) = first_stream(&first) else {
        return Ok(Probe::default());
    };
    probe.audio = Some(true);

    // The last complete page of the stream lies in the last MAX_PAGE bytes.
    let tail_at = len.saturating_sub(MAX_PAGE as u64);
    let tail = read_upto(r, tail_at, MAX_PAGE)?;
    let mut last = None;
    let mut at = tail.len();
    while let Some(found) = rfind(&tail[..at], b"OggS") {
        at = found;
        let Some(p) = page(&tail[found..]) else {
            continue;
        };
        let complete = tail.get(found..found + p.len);
        let granule_known = p.granule != u64::MAX;
        if p.serial == serial && granule_known && complete.is_some_and(crc_ok) {
            last = Some(p.granule);
            break;
        }
    }
    probe.duration_ms = last.and_then(|granule| match codec {
        Codec::Opus { pre_skip } => to_ms(granule.checked_sub(pre_skip)?, 48_000),
        Codec::Vorbis { rate } => to_ms(granule, rate),
    });
    Ok(probe)
}

/// The last position of `needle` in `hay`.
fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// Whether a whole page's CRC (over the page with the CRC field zeroed) matches.
fn crc_ok(page: &[u8]) -> bool {
    let Some(stated) = page.get(22..26) else {
        return false;
    };
    let stated = u32::from_le_bytes([stated[0], stated[1], stated[2], stated[3]]);
    let mut crc = 0u32;
    for (i, byte) in page.iter().enumerate() {
        let byte = if (22..26).contains(&i) { 0 } else { *byte };
        crc = (crc << 8) ^ CRC_TABLE[usize::from((crc >> 24) as u8 ^ byte)];
    }
    crc == stated
}

/// CRC-32 with polynomial 0x04C11DB7, not reflected, as Ogg uses.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use winichat_testkit::media_fixtures::fixture;

    use super::super::tests_support::{every_prefix, whole};
    use super::*;

    #[test]
    fn opus_tone_lasts_its_length() {
        let bytes = fixture("tone.ogg");
        assert!(matches!(
            first_stream(&bytes),
            Some((_, Codec::Opus { .. }))
        ));
        let p = whole(&bytes, probe);
        assert_eq!((p.video, p.audio), (Some(false), Some(true)));
        // 1.5 s of sound (ffprobe says 1.5065 s: it counts the 312-sample pre-skip too).
        assert_eq!(p.duration_ms, Some(1500));
    }

    #[test]
    fn vorbis_uses_the_sample_rate() {
        // A Vorbis identification page at 44.1 kHz whose last page has granule 88 200.
        let mut ident = b"\x01vorbis".to_vec();
        ident.extend_from_slice(&0u32.to_le_bytes());
        ident.push(1);
        ident.extend_from_slice(&44_100u32.to_le_bytes());
        ident.extend_from_slice(&[0; 14]);
        let mut file = ogg_page(7, 0, &ident);
        file.extend(ogg_page(7, 88_200, b"audio"));
        let p = whole(&file, probe);
        assert_eq!(p.duration_ms, Some(2000));
    }

    #[test]
    fn a_page_with_a_bad_crc_or_another_stream_is_skipped() {
        let mut head = b"OpusHead\x01\x01".to_vec();
        head.extend_from_slice(&312u16.to_le_bytes());
        head.extend_from_slice(&48_000u32.to_le_bytes());
        head.extend_from_slice(&[0, 0, 0]);
        let mut file = ogg_page(1, 0, &head);
        file.extend(ogg_page(1, 48_312, b"x"));
        file.extend(ogg_page(2, 960_000, b"another stream"));
        let mut corrupt = ogg_page(1, 9_600_000, b"y");
        corrupt[28] ^= 0xFF;
        file.extend(corrupt);
        assert_eq!(whole(&file, probe).duration_ms, Some(1000));
    }

    #[test]
    fn not_opus_or_vorbis() {
        assert_eq!(first_stream(&ogg_page(1, 0, b"\x80theora")), None);
        assert_eq!(whole(&ogg_page(1, 0, b"\x7fFLAC"), probe), Probe::default());
    }

    #[test]
    fn every_truncation_is_handled() {
        every_prefix(&fixture("tone.ogg"), 1, probe);
    }

    fn ogg_page(serial: u32, granule: u64, data: &[u8]) -> Vec<u8> {
        let mut page = b"OggS\0\0".to_vec();
        page.extend_from_slice(&granule.to_le_bytes());
        page.extend_from_slice(&serial.to_le_bytes());
        page.extend_from_slice(&[0; 8]);
        page.push(1);
        page.push(u8::try_from(data.len()).expect("short"));
        page.extend_from_slice(data);
        let mut crc = 0u32;
        for byte in &page {
            crc = (crc << 8) ^ CRC_TABLE[usize::from((crc >> 24) as u8 ^ byte)];
        }
        page[22..26].copy_from_slice(&crc.to_le_bytes());
        page
    }
}
