//! `process` on real files: the rules of the media issue, end to end.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use image::{GenericImageView, ImageEncoder};
use tempfile::TempDir;
use winichat_protocol::media::{MediaKind, THUMB_SIZES};
use winichat_testkit::media_fixtures::{self as fx, contains, fixture};

use super::*;

/// A staged upload in a temporary directory.
struct Staged {
    _dir: TempDir,
    path: PathBuf,
}

impl Staged {
    fn new(bytes: &[u8]) -> Staged {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("upload");
        fs::write(&path, bytes).expect("write");
        Staged { _dir: dir, path }
    }

    fn bytes(&self) -> Vec<u8> {
        fs::read(&self.path).expect("read")
    }

    fn process(&self) -> Result<Processed, ProcessError> {
        process(&self.path, &ImageLimits::default())
    }

    /// Nothing but the staged file is left in its directory (no temporary siblings).
    fn alone(&self) -> bool {
        let dir = self.path.parent().expect("parent");
        fs::read_dir(dir).expect("read_dir").count() == 1
    }
}

fn processed(bytes: &[u8]) -> (Processed, Vec<u8>) {
    let staged = Staged::new(bytes);
    let p = staged.process().expect("process");
    assert!(staged.alone(), "no temporary file left behind");
    (p, staged.bytes())
}

fn assert_too_large(bytes: &[u8], limits: &ImageLimits, expected: (u32, u32)) {
    let staged = Staged::new(bytes);
    let started = Instant::now();
    match process(&staged.path, limits) {
        Err(ProcessError::ImageTooLarge { width, height }) => {
            assert_eq!((width, height), expected)
        }
        other => panic!(
            "{}: expected ImageTooLarge, got {other:?}",
            sniff(bytes).mime
        ),
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused from the header, quickly"
    );
    assert_eq!(staged.bytes(), bytes, "left untouched");
}

#[test]
fn png_bomb_is_refused_from_its_header() {
    let bomb = fx::png_bomb_header(50_000, 50_000);
    assert!(bomb.len() < 100);
    assert_too_large(&bomb, &ImageLimits::default(), (50_000, 50_000));
    // Within the side limit but over the pixel limit.
    assert_too_large(
        &fx::png_bomb_header(10_000, 10_000),
        &ImageLimits::default(),
        (10_000, 10_000),
    );
}

#[test]
fn every_format_is_refused_from_its_header() {
    let limits = ImageLimits::default();
    // JPEG: the SOF0 segment claims 60 000 × 60 000.
    let mut jpeg = fx::jpeg(8, 8);
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("SOF0");
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    assert_too_large(&jpeg, &limits, (60_000, 60_000));
    // GIF: the logical screen claims 65 535 × 65 535.
    let mut gif = fx::gif(8, 8);
    gif[6..10].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    assert_too_large(&gif, &limits, (65_535, 65_535));
    // WebP (lossless): the VP8L header claims 16 383 × 16 383 (14 bits each, minus one).
    let mut webp = fx::webp(8, 8);
    assert_eq!(&webp[12..16], b"VP8L");
    let header = u32::from_le_bytes(webp[21..25].try_into().expect("4 bytes"));
    let claimed = (header & 0xF000_0000) | 0x3FFE | (0x3FFE << 14);
    webp[21..25].copy_from_slice(&claimed.to_le_bytes());
    assert_too_large(&webp, &limits, (16_383, 16_383));
}

#[test]
fn custom_limits_side_pixels_and_allocation() {
    let png = fx::png(100, 40);
    let side = ImageLimits {
        max_side: 99,
        ..ImageLimits::default()
    };
    assert_too_large(&png, &side, (100, 40));
    let pixels = ImageLimits {
        max_pixels: 3_999,
        ..ImageLimits::default()
    };
    assert_too_large(&png, &pixels, (100, 40));
    let alloc = ImageLimits {
        max_alloc: 1_000,
        ..ImageLimits::default()
    };
    assert_too_large(&png, &alloc, (100, 40));
    let exact = ImageLimits {
        max_side: 100,
        max_pixels: 4_000,
        max_alloc: 12_000,
    };
    let staged = Staged::new(&png);
    let p = process(&staged.path, &exact).expect("exactly at the limits");
    assert_eq!((p.width, p.height), (Some(100), Some(40)));
}

#[test]
fn jpeg_with_gps_is_served_without_it() {
    let input = fx::jpeg_with_gps_exif(64, 48);
    let (p, out) = processed(&input);
    assert_eq!((p.kind, p.mime), (MediaKind::Image, "image/jpeg"));
    assert!(p.rewritten);
    assert!(!contains(&out, b"Exif"));
    assert!(!contains(&out, fx::CAMERA_MAKE.as_bytes()));
    assert!(!contains(&out, &[0x88, 0x25]), "no GPS IFD pointer");
    for (num, den) in fx::GPS_LATITUDE.iter().chain(fx::GPS_LONGITUDE.iter()) {
        let mut rational = num.to_be_bytes().to_vec();
        rational.extend_from_slice(&den.to_be_bytes());
        assert!(!contains(&out, &rational), "no GPS coordinate");
    }
    let decoded = fx::decode(&out).expect("still decodes");
    assert_eq!(decoded.dimensions(), (64, 48));
    assert_eq!((p.width, p.height), (Some(64), Some(48)));
    // Lossless: exactly the JPEG without its Exif segment.
    assert_eq!(out, fx::jpeg(64, 48));
}

#[test]
fn orientation_is_applied_and_the_tag_dropped() {
    for o in 1..=8u16 {
        let (p, out) = processed(&fx::jpeg_with_orientation(40, 20, o));
        let swapped = o >= 5;
        let expected = if swapped { (20, 40) } else { (40, 20) };
        assert_eq!(
            (p.width, p.height),
            (Some(expected.0), Some(expected.1)),
            "orientation {o}"
        );
        assert!(p.rewritten);
        assert!(!contains(&out, b"Exif"), "orientation {o}");
        let decoded = fx::decode(&out).expect("decodes");
        assert_eq!(decoded.dimensions(), expected, "orientation {o}");
        assert_eq!(p.mime, "image/jpeg");
        for t in &p.thumbs {
            let thumb = fx::decode(&t.bytes).expect("thumb decodes");
            assert_eq!(thumb.dimensions(), expected, "never upscaled, rotated too");
        }
    }
    // 6: rotate 90° clockwise: the red top-left quarter ends top-right.
    let (_, out) = processed(&fx::jpeg_with_orientation(40, 20, 6));
    let rgb = fx::decode(&out).expect("decodes").to_rgb8();
    let red = |x: u32, y: u32| {
        let p = rgb.get_pixel(x, y);
        p[0] > 200 && p[1] < 60 && p[2] < 60
    };
    assert!(red(16, 3), "top right is red");
    assert!(!red(3, 3), "top left is not");
    assert!(!red(16, 36), "bottom right is not");
}

#[test]
fn png_orientation_is_applied_too() {
    let (p, out) = processed(&fx::png_with_orientation(30, 10, 8));
    assert_eq!((p.width, p.height), (Some(10), Some(30)));
    assert_eq!(p.mime, "image/png");
    assert!(!contains(&out, b"eXIf"));
    assert_eq!(fx::decode(&out).expect("decodes").dimensions(), (10, 30));
}

#[test]
fn webp_orientation_is_applied_as_png() {
    let (p, out) = processed(&fx::webp_with_orientation(30, 10, 6));
    assert_eq!((p.width, p.height), (Some(10), Some(30)));
    assert_eq!(p.mime, "image/png");
    assert!(p.rewritten);
    assert!(!contains(&out, b"EXIF") && !contains(&out, fx::CAMERA_MAKE.as_bytes()));
    assert_eq!(fx::decode(&out).expect("decodes").dimensions(), (10, 30));
}

#[test]
fn mp4_location_and_titles_are_blanked_in_place() {
    // clip.mp4 with moov/udta/©xyz appended to moov (the sample offsets move, which the
    // probe does not mind).
    let clip = fixture("clip.mp4");
    let moov = clip.windows(4).position(|w| w == b"moov").expect("moov") - 4;
    let moov_len = u32::from_be_bytes(clip[moov..moov + 4].try_into().expect("4")) as usize;
    let xyz_body = b"\0\x12\x15\xc7+48.8584+002.2945/";
    let mut udta = u32::try_from(8 + 8 + xyz_body.len())
        .expect("small")
        .to_be_bytes()
        .to_vec();
    udta.extend_from_slice(b"udta");
    udta.extend_from_slice(
        &u32::try_from(8 + xyz_body.len())
            .expect("small")
            .to_be_bytes(),
    );
    udta.extend_from_slice(b"\xa9xyz");
    udta.extend_from_slice(xyz_body);
    let mut input = clip[..moov + moov_len].to_vec();
    input.extend_from_slice(&udta);
    input.extend_from_slice(&clip[moov + moov_len..]);
    let new_len = u32::try_from(moov_len + udta.len()).expect("small");
    input[moov..moov + 4].copy_from_slice(&new_len.to_be_bytes());

    let (p, out) = processed(&input);
    assert_eq!(
        (p.kind, p.mime, p.duration_ms),
        (MediaKind::Video, "video/mp4", Some(2000))
    );
    assert!(p.rewritten);
    assert_eq!(out.len(), input.len(), "same size: nothing moved");
    assert!(!contains(&out, b"48.8584"));
    assert!(!contains(&out, b"\xa9xyz"));
    // ffmpeg's own (empty) udta, then ours: both are now free boxes of zeros; nothing else
    // changed.
    let ours = moov + moov_len;
    let ffmpegs = clip.windows(4).position(|w| w == b"udta").expect("udta") - 4;
    for at in [ffmpegs, ours] {
        let len = u32::from_be_bytes(out[at..at + 4].try_into().expect("4")) as usize;
        assert_eq!(&out[at + 4..at + 8], b"free");
        assert!(out[at + 8..at + len].iter().all(|b| *b == 0));
    }
    assert!(out[..ffmpegs] == input[..ffmpegs]);
    assert!(out[ours + udta.len()..] == input[ours + udta.len()..]);
    // Processing again changes nothing.
    let (again, _) = processed(&out);
    assert!(!again.rewritten);
}

#[test]
fn png_webp_and_gif_metadata_go() {
    let (p, out) = processed(&fx::png_with_metadata(20, 10));
    assert!(p.rewritten);
    assert_eq!(out, fx::png(20, 10));

    let (p, out) = processed(&fx::webp_with_metadata(20, 10));
    assert!(p.rewritten);
    assert_eq!(p.mime, "image/webp");
    assert!(!contains(&out, b"EXIF") && !contains(&out, b"GPSLatitude"));
    assert_eq!(fx::decode(&out).expect("decodes").dimensions(), (20, 10));

    let (p, out) = processed(&fx::gif_with_metadata(20, 10));
    assert!(p.rewritten);
    assert_eq!(p.mime, "image/gif");
    assert!(!contains(&out, b"taken at") && !contains(&out, b"GPSLatitude"));
    assert_eq!(fx::decode(&out).expect("decodes").dimensions(), (20, 10));
}

#[test]
fn a_clean_image_is_not_rewritten() {
    for bytes in [
        fx::png(30, 20),
        fx::jpeg(30, 20),
        fx::webp(30, 20),
        fx::gif(30, 20),
    ] {
        let (p, out) = processed(&bytes);
        assert!(!p.rewritten);
        assert_eq!(out, bytes);
        assert_eq!((p.width, p.height), (Some(30), Some(20)));
    }
}

#[test]
fn thumbnails_fit_each_size_and_never_upscale() {
    let (p, _) = processed(&fx::png(1600, 800));
    let sizes: Vec<u32> = p.thumbs.iter().map(|t| t.size).collect();
    assert_eq!(sizes, THUMB_SIZES.to_vec());
    for t in &p.thumbs {
        assert_eq!(t.mime, "image/jpeg");
        let decoded = fx::decode(&t.bytes).expect("thumb decodes");
        assert_eq!(decoded.dimensions(), (t.size, t.size / 2));
    }

    let (p, _) = processed(&fx::jpeg(50, 30));
    for t in &p.thumbs {
        assert_eq!(
            fx::decode(&t.bytes).expect("decodes").dimensions(),
            (50, 30)
        );
    }

    // Longest side 500: the 96 and 320 thumbs shrink, the 1280 one keeps 500.
    let (p, _) = processed(&fx::png(300, 500));
    let dims: Vec<(u32, u32)> = p
        .thumbs
        .iter()
        .map(|t| fx::decode(&t.bytes).expect("decodes").dimensions())
        .collect();
    assert_eq!(dims, vec![(58, 96), (192, 320), (300, 500)]);

    // An extreme aspect ratio keeps at least one pixel.
    let (p, _) = processed(&fx::png(3000, 2));
    for t in &p.thumbs {
        let (w, h) = fx::decode(&t.bytes).expect("decodes").dimensions();
        assert!(w <= t.size && h >= 1);
    }
}

#[test]
fn transparent_images_get_png_thumbnails() {
    let (p, _) = processed(&fx::png_rgba(200, 100));
    for t in &p.thumbs {
        assert_eq!(t.mime, "image/png");
        let decoded = fx::decode(&t.bytes).expect("decodes").to_rgba8();
        assert!(decoded.pixels().any(|px| px[3] == 0), "transparency kept");
    }
    // An alpha channel that is fully opaque: JPEG.
    let opaque = {
        let rgba = image::DynamicImage::ImageRgb8(fx::picture(40, 40)).to_rgba8();
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(rgba.as_raw(), 40, 40, image::ExtendedColorType::Rgba8)
            .expect("encode");
        out
    };
    let (p, _) = processed(&opaque);
    assert!(p.thumbs.iter().all(|t| t.mime == "image/jpeg"));
}

#[test]
fn blurhash_is_present_and_decodable() {
    for bytes in [
        fx::png(64, 32),
        fx::jpeg(10, 10),
        fx::gif(5, 9),
        fx::webp(7, 7),
    ] {
        let (p, _) = processed(&bytes);
        let hash = p.blurhash.expect("a blurhash");
        // 4 × 3 components: 1 + 1 + 4 + 2 × 11 characters.
        assert_eq!(hash.len(), 28, "{hash}");
        blurhash::decode(&hash, 8, 8, 1.0).expect("valid");
    }
}

#[test]
fn an_undecodable_image_is_a_file() {
    for bytes in [
        fx::png_bomb_header(10, 10),
        b"\xFF\xD8\xFF\xE0 not really a jpeg".to_vec(),
        b"GIF89a\x05\0\x05\0".to_vec(),
        b"RIFF\x10\0\0\0WEBPVP8L\x04\0\0\0\x2f\0\0\0".to_vec(),
    ] {
        let (p, out) = processed(&bytes);
        assert_eq!(
            (p.kind, p.mime),
            (MediaKind::File, "application/octet-stream")
        );
        assert_eq!(
            (p.width, p.blurhash.as_deref(), p.thumbs.len()),
            (None, None, 0)
        );
        assert!(!p.rewritten);
        assert_eq!(out, bytes);
    }
}

#[test]
fn html_and_svg_are_files_untouched() {
    for bytes in [fx::html_document(), fx::svg_with_script(), Vec::new()] {
        let (p, out) = processed(&bytes);
        assert_eq!(
            (p.kind, p.mime),
            (MediaKind::File, "application/octet-stream")
        );
        assert!(!p.rewritten);
        assert_eq!(out, bytes);
    }
}

#[test]
fn audio_and_video_fixtures() {
    let cases: [(&str, MediaKind, &str, Option<u64>); 8] = [
        ("clip.webm", MediaKind::Video, "video/webm", Some(2008)),
        ("voice.webm", MediaKind::Audio, "audio/webm", None),
        ("clip.mp4", MediaKind::Video, "video/mp4", Some(2000)),
        ("tone.m4a", MediaKind::Audio, "audio/mp4", Some(1500)),
        ("tone.ogg", MediaKind::Audio, "audio/ogg", Some(1500)),
        ("tone.mp3", MediaKind::Audio, "audio/mpeg", Some(1541)),
        ("tone-cbr.mp3", MediaKind::Audio, "audio/mpeg", Some(1541)),
        ("tone.wav", MediaKind::Audio, "audio/wav", Some(1000)),
    ];
    for (name, kind, mime, duration) in cases {
        let bytes = fixture(name);
        assert!(bytes.len() < 60 * 1024, "{name} is small");
        let (p, out) = processed(&bytes);
        assert_eq!(
            (p.kind, p.mime, p.duration_ms),
            (kind, mime, duration),
            "{name}"
        );
        if mime.ends_with("/mp4") {
            // ffmpeg writes an (empty) moov/udta/meta/ilst: blanked, same size.
            assert!(p.rewritten, "{name}");
            assert_eq!(out.len(), bytes.len());
            assert!(
                contains(&bytes, b"udta") && !contains(&out, b"udta"),
                "{name}"
            );
            let (again, _) = processed(&out);
            assert_eq!(
                (again.mime, again.duration_ms, again.rewritten),
                (mime, duration, false)
            );
        } else {
            assert!(!p.rewritten && out == bytes, "{name} untouched");
        }
        assert_eq!(
            (p.width, p.blurhash.as_deref(), p.thumbs.len()),
            (None, None, 0)
        );
    }
    let (p, _) = processed(&fixture("poster.jpg"));
    assert_eq!(
        (p.kind, p.width, p.height),
        (MediaKind::Image, Some(160), Some(120))
    );
}

#[test]
fn a_webm_sniffed_as_video_is_audio_when_its_tracks_say_so() {
    // Only the EBML header and the Segment start in the first bytes: sniffing guesses video.
    let voice = fixture("voice.webm");
    let tracks = voice
        .windows(4)
        .position(|w| w == [0x16, 0x54, 0xAE, 0x6B])
        .expect("Tracks");
    assert_eq!(sniff(&voice[..tracks]).mime, "video/webm");
    let (p, _) = processed(&voice);
    assert_eq!(p.mime, "audio/webm");
}

#[test]
fn an_mp3_without_frames_is_a_file() {
    let mut bytes = b"ID3\x04\0\0\0\0\0\x05hello".to_vec();
    bytes.extend(std::iter::repeat_n(b'a', 100));
    let (p, _) = processed(&bytes);
    assert_eq!(p.kind, MediaKind::File);
    let mut long_tag = b"ID3\x04\0\0\0\x01\0\0".to_vec();
    long_tag.extend(std::iter::repeat_n(0u8, 20_000));
    long_tag.extend_from_slice(b"<html>");
    let (p, _) = processed(&long_tag);
    assert_eq!(p.kind, MediaKind::File);
}

#[test]
fn absurd_durations_are_not_believed() {
    // A WAV claiming 4 GB of data at 1 byte per second (its data runs to the end: 100 bytes).
    let mut fmt = vec![1, 0, 1, 0];
    fmt.extend_from_slice(&1u32.to_le_bytes());
    fmt.extend_from_slice(&1u32.to_le_bytes());
    fmt.extend_from_slice(&[1, 0, 8, 0]);
    let mut body = b"WAVE".to_vec();
    body.extend(fx::riff_chunk(b"fmt ", &fmt));
    body.extend(fx::riff_chunk(b"data", &[0x80; 100]));
    let mut wav = b"RIFF".to_vec();
    wav.extend_from_slice(&u32::try_from(body.len()).expect("small").to_le_bytes());
    wav.extend(body);
    let (p, _) = processed(&wav);
    assert_eq!(p.duration_ms, Some(100_000));
    // The same with an mvhd of 30 days.
    let mp4 = fixture("clip.mp4");
    let mvhd = mp4.windows(4).position(|w| w == b"mvhd").expect("mvhd") + 4;
    let mut long = mp4.clone();
    let timescale = u32::from_be_bytes(long[mvhd + 12..mvhd + 16].try_into().expect("4"));
    let days30 = u32::try_from(u64::from(timescale) * 30 * 86_400).unwrap_or(u32::MAX - 1);
    long[mvhd + 16..mvhd + 20].copy_from_slice(&days30.to_be_bytes());
    let (p, _) = processed(&long);
    assert_eq!((p.kind, p.duration_ms), (MediaKind::Video, None));
}

#[test]
fn truncated_images_never_panic_nor_leak_metadata() {
    let inputs = [
        fx::jpeg_with_gps_exif(16, 16),
        fx::png_with_metadata(8, 8),
        fx::webp_with_metadata(8, 8),
        fx::gif_with_metadata(8, 8),
    ];
    for input in inputs {
        for len in 0..=input.len() {
            let staged = Staged::new(&input[..len]);
            let p = staged.process().expect("no error");
            let out = staged.bytes();
            assert!(staged.alone());
            if p.kind == MediaKind::Image {
                for marker in [
                    &b"Exif"[..],
                    b"EXIF",
                    b"GPSLatitude",
                    b"taken at",
                    fx::CAMERA_MAKE.as_bytes(),
                ] {
                    assert!(!contains(&out, marker), "prefix {len}");
                }
                assert_eq!(p.thumbs.len(), THUMB_SIZES.len());
                fx::decode(&out).expect("what is served decodes");
            } else {
                assert_eq!(p.kind, MediaKind::File, "prefix {len}");
            }
        }
    }
}

#[test]
fn truncated_audio_and_video_never_panic() {
    for name in [
        "clip.webm",
        "voice.webm",
        "clip.mp4",
        "tone.m4a",
        "tone.ogg",
        "tone.mp3",
        "tone.wav",
    ] {
        let bytes = fixture(name);
        let staged = Staged::new(&[]);
        let mut len = 0;
        while len <= bytes.len() {
            fs::write(&staged.path, &bytes[..len]).expect("write");
            let p = staged.process().expect("no error");
            // Only an MP4's metadata boxes are rewritten, in place: never past the end.
            assert!(!p.rewritten || p.mime.ends_with("/mp4"), "{name} {len}");
            assert_eq!(staged.bytes().len(), len, "{name} {len}");
            // Every length through the headers, then ever sparser (the probes' own tests
            // cover every length without the file system).
            len += (len / 16).max(1);
        }
    }
}
