//! The type of a file from its first bytes, against an allowlist. The client's claimed type is
//! never consulted: anything not recognised here (HTML, SVG, text, PDF, archives, programs …)
//! is a file, served as `application/octet-stream` and only ever as a download.

use winichat_protocol::media::MediaKind;

use crate::Sniffed;
use crate::probe::{mp3, ogg, webm};

/// How many first bytes [`sniff()`] wants (fewer when the file is shorter).
pub const SNIFF_LEN: usize = 8 * 1024;

/// Anything not on the allowlist: a download.
pub const FILE: Sniffed = Sniffed {
    kind: MediaKind::File,
    mime: "application/octet-stream",
};
pub const JPEG: Sniffed = image("image/jpeg");
pub const PNG: Sniffed = image("image/png");
pub const GIF: Sniffed = image("image/gif");
pub const WEBP: Sniffed = image("image/webp");
pub const WEBM_VIDEO: Sniffed = video("video/webm");
pub const WEBM_AUDIO: Sniffed = audio("audio/webm");
pub const MP4_VIDEO: Sniffed = video("video/mp4");
pub const MP4_AUDIO: Sniffed = audio("audio/mp4");
pub const OGG: Sniffed = audio("audio/ogg");
pub const MP3: Sniffed = audio("audio/mpeg");
pub const WAV: Sniffed = audio("audio/wav");

const fn image(mime: &'static str) -> Sniffed {
    Sniffed {
        kind: MediaKind::Image,
        mime,
    }
}
const fn audio(mime: &'static str) -> Sniffed {
    Sniffed {
        kind: MediaKind::Audio,
        mime,
    }
}
const fn video(mime: &'static str) -> Sniffed {
    Sniffed {
        kind: MediaKind::Video,
        mime,
    }
}

/// MP4 major brands of audio-only files (iTunes audio and audiobooks).
const AUDIO_BRANDS: [&[u8; 4]; 3] = [b"M4A ", b"M4B ", b"F4A "];
/// MP4 brands of the ISO base media and MPEG-4 file formats that browsers play.
const VIDEO_BRANDS: [&[u8; 4]; 16] = [
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41",
    b"mp42", b"avc1", b"M4V ", b"dash", b"mmp4", b"MSNV",
];
/// Brands that mark something else in the same box format: HEIF/AVIF images, QuickTime,
/// 3GPP. These are files even when they list an MP4 brand as compatible.
const OTHER_BRANDS: [&[u8; 4]; 10] = [
    b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif", b"avis", b"qt  ", b"crx ", b"jp2 ",
];

/// Sniffs the type from the first bytes of a file (at least [`SNIFF_LEN`] when the file is
/// longer).
///
/// An allowlist: JPEG, PNG, GIF and WebP images; Ogg (Opus or Vorbis), MP3, M4A, WAV and
/// audio-only WebM; MP4 and WebM video. Anything else, SVG and HTML included, is a
/// [`MediaKind::File`] served as `application/octet-stream`. An MP4 or WebM is video unless
/// the first bytes show only audio tracks; [`probe`](crate::probe::probe) settles it from the
/// whole file.
pub fn sniff(b: &[u8]) -> Sniffed {
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return JPEG;
    }
    // The signature and an IHDR chunk of 13 bytes right after it.
    if b.starts_with(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR") {
        return PNG;
    }
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        return GIF;
    }
    if b.len() >= 16 && b.starts_with(b"RIFF") {
        match &b[8..12] {
            b"WEBP" if matches!(&b[12..16], b"VP8 " | b"VP8L" | b"VP8X") => return WEBP,
            b"WAVE" => return WAV,
            _ => return FILE,
        }
    }
    if b.starts_with(b"OggS") {
        return if ogg::first_stream(b).is_some() {
            OGG
        } else {
            FILE
        };
    }
    if b.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return sniff_webm(b);
    }
    if b.get(4..8) == Some(b"ftyp") {
        return sniff_mp4(b);
    }
    if sniff_mp3(b) {
        return MP3;
    }
    FILE
}

/// A WebM (not any Matroska): audio when the tracks in the first bytes are all audio,
/// else video (processing reads the tracks from the whole file).
fn sniff_webm(b: &[u8]) -> Sniffed {
    if webm::doc_type(b).as_deref() != Some(b"webm") {
        return FILE;
    }
    let mut cursor = std::io::Cursor::new(b);
    match webm::probe(&mut cursor, b.len() as u64) {
        Ok(p) if p.video == Some(false) && p.audio == Some(true) => WEBM_AUDIO,
        _ => WEBM_VIDEO,
    }
}

/// An MP4 by its brands: the major brand, else the compatible ones.
fn sniff_mp4(b: &[u8]) -> Sniffed {
    let size = b
        .get(..4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
        .unwrap_or(0);
    let Some(major) = b.get(8..12) else {
        return FILE;
    };
    // Major brand, minor version, then the compatible brands to the end of the box.
    let compatible: Vec<&[u8]> = b
        .get(16..size.min(b.len()).max(16))
        .unwrap_or(&[])
        .chunks_exact(4)
        .take(64)
        .collect();
    let is = |brands: &[&[u8; 4]], brand: &[u8]| brands.iter().any(|x| x.as_slice() == brand);
    if is(&OTHER_BRANDS, major) || (major.starts_with(b"3g")) {
        return FILE;
    }
    if is(&AUDIO_BRANDS, major) {
        return MP4_AUDIO;
    }
    if is(&VIDEO_BRANDS, major) {
        return MP4_VIDEO;
    }
    if compatible.iter().any(|c| is(&OTHER_BRANDS, c)) {
        return FILE;
    }
    if compatible.iter().any(|c| is(&AUDIO_BRANDS, c)) {
        return MP4_AUDIO;
    }
    if compatible.iter().any(|c| is(&VIDEO_BRANDS, c)) {
        return MP4_VIDEO;
    }
    FILE
}

/// An ID3v2 tag followed by a Layer III frame, or a frame at the very start confirmed by the
/// next one when the first bytes reach it.
fn sniff_mp3(b: &[u8]) -> bool {
    let mut at = 0usize;
    let mut tagged = false;
    while let Some(n) = b.get(at..).and_then(mp3::id3_len) {
        at = at.saturating_add(n);
        tagged = true;
    }
    let Some(rest) = b.get(at..) else {
        // The tag runs past the first bytes: judged by the tag alone (processing checks).
        return tagged;
    };
    if rest.is_empty() {
        return tagged && at > b.len();
    }
    let Some(frame) = mp3::Frame::parse(rest) else {
        return false;
    };
    match rest.get(frame.len..) {
        Some(next) if next.len() >= 4 => mp3::Frame::parse(next).is_some(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use winichat_testkit::media_fixtures::{self as fx, fixture};

    use super::*;

    #[test]
    fn the_table() {
        let cases: Vec<(&str, Vec<u8>, Sniffed)> = vec![
            ("png", fx::png(4, 3), PNG),
            ("jpeg", fx::jpeg(4, 3), JPEG),
            ("gif", fx::gif(4, 3), GIF),
            ("webp", fx::webp(4, 3), WEBP),
            ("webp vp8x", fx::webp_with_metadata(4, 3), WEBP),
            ("poster", fixture("poster.jpg"), JPEG),
            ("clip.webm", fixture("clip.webm"), WEBM_VIDEO),
            ("voice.webm", fixture("voice.webm"), WEBM_AUDIO),
            ("clip.mp4", fixture("clip.mp4"), MP4_VIDEO),
            ("tone.m4a", fixture("tone.m4a"), MP4_AUDIO),
            ("tone.ogg", fixture("tone.ogg"), OGG),
            ("tone.mp3", fixture("tone.mp3"), MP3),
            ("tone-cbr.mp3", fixture("tone-cbr.mp3"), MP3),
            ("tone.wav", fixture("tone.wav"), WAV),
            ("empty", vec![], FILE),
            ("html", fx::html_document(), FILE),
            ("svg with script", fx::svg_with_script(), FILE),
            (
                "svg without xml decl",
                b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
                FILE,
            ),
            ("text", b"hello, world\n".to_vec(), FILE),
            (
                "png as base64 text",
                b"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4".to_vec(),
                FILE,
            ),
            (
                "png signature then html",
                b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>".to_vec(),
                FILE,
            ),
            (
                "html claiming gif in text",
                b"GIF89 is not a GIF <html>".to_vec(),
                FILE,
            ),
            ("pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec(), FILE),
            ("zip", b"PK\x03\x04\x14\0\0\0\x08\0".to_vec(), FILE),
            (
                "exe",
                b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff".to_vec(),
                FILE,
            ),
            ("elf", b"\x7fELF\x02\x01\x01\0".to_vec(), FILE),
            ("riff avi", b"RIFF\0\0\0\0AVI LIST".to_vec(), FILE),
            (
                "webp with a bad chunk",
                b"RIFF\0\0\0\0WEBPABCD".to_vec(),
                FILE,
            ),
            ("riff too short", b"RIFF\0\0\0\0WEBP".to_vec(), FILE),
            ("heic", ftyp(b"heic", &[b"mif1", b"heic"]), FILE),
            ("avif", ftyp(b"avif", &[b"avif", b"mif1", b"miaf"]), FILE),
            ("quicktime", ftyp(b"qt  ", &[b"qt  "]), FILE),
            ("3gp", ftyp(b"3gp4", &[b"isom", b"3gp4"]), FILE),
            (
                "unknown brand, mp4 compatible",
                ftyp(b"XYZ1", &[b"isom", b"mp42"]),
                MP4_VIDEO,
            ),
            (
                "unknown brand, heif compatible",
                ftyp(b"XYZ1", &[b"mif1", b"isom"]),
                FILE,
            ),
            ("m4v", ftyp(b"M4V ", &[b"M4V ", b"mp42"]), MP4_VIDEO),
            ("ftyp cut short", b"\0\0\0\x18ftyp".to_vec(), FILE),
            ("matroska", matroska(), FILE),
            (
                "ogg theora",
                b"OggS\0\x02\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\x01\x2a\x80theora".to_vec(),
                FILE,
            ),
            (
                "id3 then html",
                b"ID3\x04\0\0\0\0\0\x02ab<html>".to_vec(),
                FILE,
            ),
            ("lone 0xFF", vec![0xFF], FILE),
        ];
        for (name, bytes, expected) in cases {
            let prefix = &bytes[..bytes.len().min(SNIFF_LEN)];
            assert_eq!(sniff(prefix), expected, "{name}");
        }
    }

    #[test]
    fn svg_and_html_are_never_images_whatever_precedes_them() {
        for prefix in [&b""[..], b"\xef\xbb\xbf", b"   \n", b"<!-- x -->"] {
            for doc in [fx::svg_with_script(), fx::html_document()] {
                let mut bytes = prefix.to_vec();
                bytes.extend(doc);
                assert_eq!(sniff(&bytes), FILE);
            }
        }
    }

    #[test]
    fn a_short_prefix_never_panics() {
        for name in [
            "clip.webm",
            "voice.webm",
            "clip.mp4",
            "tone.m4a",
            "tone.ogg",
            "tone.mp3",
            "tone.wav",
            "poster.jpg",
        ] {
            let bytes = fixture(name);
            for len in 0..bytes.len().min(600) {
                let s = sniff(&bytes[..len]);
                assert!(matches!(
                    s.kind,
                    MediaKind::File | MediaKind::Image | MediaKind::Audio | MediaKind::Video
                ));
            }
        }
    }

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let mut body = major.to_vec();
        body.extend_from_slice(&[0, 0, 0, 0]);
        for c in compatible {
            body.extend_from_slice(*c);
        }
        let mut out = u32::try_from(body.len() + 8)
            .expect("small")
            .to_be_bytes()
            .to_vec();
        out.extend_from_slice(b"ftyp");
        out.extend(body);
        out
    }

    fn matroska() -> Vec<u8> {
        let mut out = vec![0x1A, 0x45, 0xDF, 0xA3, 0x80 | 11, 0x42, 0x82, 0x80 | 8];
        out.extend_from_slice(b"matroska");
        out
    }
}
