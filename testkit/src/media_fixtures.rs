//! Media for tests: real images encoded on the fly (some carrying the metadata a node must
//! strip), hostile inputs (a decompression-bomb header, HTML, SVG with a script), and the small
//! audio and video files committed in `testkit/fixtures/media/` (see its README for how each
//! was made).
//!
//! Every image has the same picture: a gradient with a red block in the top-left quarter, so a
//! test can tell which way it was rotated.

use std::io::Cursor;
use std::path::PathBuf;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};

/// The latitude written by [`jpeg_with_gps_exif`]: 48° 51′ 29.6″ N (degrees, minutes, seconds).
pub const GPS_LATITUDE: [(u32, u32); 3] = [(48, 1), (51, 1), (296, 10)];
/// The longitude written by [`jpeg_with_gps_exif`]: 2° 17′ 40.2″ E.
pub const GPS_LONGITUDE: [(u32, u32); 3] = [(2, 1), (17, 1), (402, 10)];
/// The camera make written in the EXIF IFD0, so a test can look for it in the output.
pub const CAMERA_MAKE: &str = "WiniCam Spy 3000";

/// The test picture in RGB: a gradient, the top-left quarter red.
pub fn picture(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        if x < w / 2 && y < h / 2 {
            Rgb([255, 0, 0])
        } else {
            let r = u8::try_from(x * 255 / w.max(1)).unwrap_or(255);
            let g = u8::try_from(y * 255 / h.max(1)).unwrap_or(255);
            Rgb([r / 4, g, 200])
        }
    })
}

/// The test picture with transparency: the right half is fully transparent.
pub fn picture_rgba(w: u32, h: u32) -> RgbaImage {
    let rgb = picture(w, h);
    RgbaImage::from_fn(w, h, |x, y| {
        let Rgb([r, g, b]) = *rgb.get_pixel(x, y);
        Rgba([r, g, b, if x >= w / 2 { 0 } else { 255 }])
    })
}

/// A PNG (RGB, 8 bits) of the test picture.
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(picture(w, h).as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .expect("encode png");
    out
}

/// A PNG (RGBA, 8 bits) of the test picture with its right half transparent.
pub fn png_rgba(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(
            picture_rgba(w, h).as_raw(),
            w,
            h,
            image::ExtendedColorType::Rgba8,
        )
        .expect("encode png");
    out
}

/// A PNG carrying metadata chunks: `tEXt` (a location comment), `zTXt`, `iTXt` (XMP), `tIME`
/// and `eXIf` (GPS), plus a private ancillary chunk `prVt`, all before the image data.
pub fn png_with_metadata(w: u32, h: u32) -> Vec<u8> {
    let plain = png(w, h);
    // Signature (8) + IHDR (4 + 4 + 13 + 4).
    let (head, tail) = plain.split_at(33);
    let mut out = head.to_vec();
    out.extend(png_chunk(b"tEXt", b"Comment\0taken at 48.858 N 2.294 E"));
    out.extend(png_chunk(
        b"zTXt",
        b"Author\0\0\x78\x9c\x03\x00\x00\x00\x00\x01",
    ));
    out.extend(png_chunk(
        b"iTXt",
        b"XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta>GPSLatitude</x:xmpmeta>",
    ));
    out.extend(png_chunk(b"tIME", &[0x07, 0xE8, 1, 2, 3, 4, 5]));
    out.extend(png_chunk(b"eXIf", &exif_tiff(1, true)));
    out.extend(png_chunk(b"prVt", b"private data"));
    out.extend_from_slice(tail);
    out
}

/// A PNG whose `eXIf` chunk states orientation `orientation` (1–8).
pub fn png_with_orientation(w: u32, h: u32, orientation: u16) -> Vec<u8> {
    let plain = png(w, h);
    let (head, tail) = plain.split_at(33);
    let mut out = head.to_vec();
    out.extend(png_chunk(b"eXIf", &exif_tiff(orientation, false)));
    out.extend_from_slice(tail);
    out
}

/// A decompression bomb: a valid PNG signature and IHDR claiming `w` × `h` RGB pixels, a tiny
/// IDAT (an empty zlib stream) and IEND. A few dozen bytes.
pub fn png_bomb_header(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    out.extend(png_chunk(b"IHDR", &ihdr));
    out.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    out.extend(png_chunk(b"IEND", &[]));
    out
}

/// One PNG chunk: length, type, data, CRC.
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let len = u32::try_from(data.len()).expect("chunk fits");
    let mut out = Vec::with_capacity(data.len() + 12);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    out
}

/// A baseline JPEG (quality 90) of the test picture, as `image` writes it: SOI, APP0 JFIF, …
pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(picture(w, h).as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .expect("encode jpeg");
    out
}

/// A real JPEG with an APP1 Exif segment right after APP0: IFD0 holds the camera make, the
/// orientation 1 and a pointer to a GPS IFD with latitude and longitude.
pub fn jpeg_with_gps_exif(w: u32, h: u32) -> Vec<u8> {
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend(exif_tiff(1, true));
    insert_jpeg_segment(&jpeg(w, h), 0xE1, &payload)
}

/// A real JPEG whose Exif states orientation `orientation` (1–8), with a GPS IFD too. The
/// pixels are stored as [`picture`]`(w, h)`: a viewer that honours the tag shows them rotated.
pub fn jpeg_with_orientation(w: u32, h: u32, orientation: u16) -> Vec<u8> {
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend(exif_tiff(orientation, true));
    insert_jpeg_segment(&jpeg(w, h), 0xE1, &payload)
}

/// Inserts a segment (`marker` 0xE0–0xFE, `payload` without the length) into `jpeg` after
/// SOI and any APP0 segments.
pub fn insert_jpeg_segment(jpeg: &[u8], marker: u8, payload: &[u8]) -> Vec<u8> {
    assert!(jpeg.starts_with(&[0xFF, 0xD8]), "not a JPEG");
    let mut at = 2;
    while jpeg.get(at) == Some(&0xFF) && jpeg.get(at + 1) == Some(&0xE0) {
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        at += 2 + len;
    }
    let len = u16::try_from(payload.len() + 2).expect("segment fits");
    let mut out = jpeg[..at].to_vec();
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[at..]);
    out
}

/// A big-endian TIFF structure as found in an Exif block (without the `Exif\0\0` prefix):
/// IFD0 with Make ([`CAMERA_MAKE`]) and Orientation, and when `gps` a GPS IFD with
/// [`GPS_LATITUDE`] N and [`GPS_LONGITUDE`] E.
pub fn exif_tiff(orientation: u16, gps: bool) -> Vec<u8> {
    // Layout: header (8) | IFD0 | GPS IFD | data (make string, rationals).
    let ifd0_entries: u16 = if gps { 3 } else { 2 };
    let ifd0_len = 2 + 12 * u32::from(ifd0_entries) + 4;
    let gps_at = 8 + ifd0_len;
    let gps_len = if gps { 2 + 12 * 4 + 4 } else { 0 };
    let data_at = gps_at + gps_len;
    let make = format!("{CAMERA_MAKE}\0");
    let make_len = u32::try_from(make.len()).expect("short");
    let lat_at = data_at + make_len;
    let lon_at = lat_at + 24;

    let mut out = b"MM\0\x2a".to_vec();
    out.extend_from_slice(&8u32.to_be_bytes());
    let entry = |out: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        out.extend_from_slice(&tag.to_be_bytes());
        out.extend_from_slice(&kind.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        out.extend_from_slice(&value);
    };
    // IFD0 (tags in ascending order).
    out.extend_from_slice(&ifd0_entries.to_be_bytes());
    entry(&mut out, 0x010F, 2, make_len, data_at.to_be_bytes());
    let o = orientation.to_be_bytes();
    entry(&mut out, 0x0112, 3, 1, [o[0], o[1], 0, 0]);
    if gps {
        entry(&mut out, 0x8825, 4, 1, gps_at.to_be_bytes());
    }
    out.extend_from_slice(&0u32.to_be_bytes());
    if gps {
        out.extend_from_slice(&4u16.to_be_bytes());
        entry(&mut out, 0x0001, 2, 2, *b"N\0\0\0");
        entry(&mut out, 0x0002, 5, 3, lat_at.to_be_bytes());
        entry(&mut out, 0x0003, 2, 2, *b"E\0\0\0");
        entry(&mut out, 0x0004, 5, 3, lon_at.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
    }
    out.extend_from_slice(make.as_bytes());
    if gps {
        for (num, den) in GPS_LATITUDE.iter().chain(GPS_LONGITUDE.iter()) {
            out.extend_from_slice(&num.to_be_bytes());
            out.extend_from_slice(&den.to_be_bytes());
        }
    }
    out
}

/// A lossless WebP (simple format: a single `VP8L` chunk) of the test picture.
pub fn webp(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    WebPEncoder::new_lossless(&mut out)
        .write_image(picture(w, h).as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .expect("encode webp");
    out
}

/// An extended WebP (`VP8X` with the EXIF and XMP flags set) holding the lossless image, an
/// `EXIF` chunk with GPS and an `XMP ` chunk.
pub fn webp_with_metadata(w: u32, h: u32) -> Vec<u8> {
    webp_extended(w, h, &exif_tiff(1, true), true)
}

/// An extended WebP whose `EXIF` chunk states orientation `orientation` (1–8).
pub fn webp_with_orientation(w: u32, h: u32, orientation: u16) -> Vec<u8> {
    webp_extended(w, h, &exif_tiff(orientation, false), false)
}

fn webp_extended(w: u32, h: u32, exif: &[u8], xmp: bool) -> Vec<u8> {
    let simple = webp(w, h);
    let image_chunk = &simple[12..];
    let mut vp8x = vec![0x08 | if xmp { 0x04 } else { 0 }, 0, 0, 0];
    vp8x.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
    let mut body = b"WEBP".to_vec();
    body.extend(riff_chunk(b"VP8X", &vp8x));
    body.extend_from_slice(image_chunk);
    body.extend(riff_chunk(b"EXIF", exif));
    if xmp {
        body.extend(riff_chunk(
            b"XMP ",
            b"<x:xmpmeta>GPSLatitude 48.858</x:xmpmeta>",
        ));
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&u32::try_from(body.len()).expect("small").to_le_bytes());
    out.extend(body);
    out
}

/// One RIFF chunk: FourCC, little-endian size, data, a pad byte when the size is odd.
pub fn riff_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = kind.to_vec();
    out.extend_from_slice(&u32::try_from(data.len()).expect("small").to_le_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// A GIF (one frame) of the test picture.
pub fn gif(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut out);
        enc.encode_frame(image::Frame::new(
            DynamicImage::ImageRgb8(picture(w, h)).to_rgba8(),
        ))
        .expect("encode gif");
    }
    out
}

/// A GIF with, before its first image, a comment extension, an XMP application extension and
/// a NETSCAPE2.0 looping extension, and a comment after the image data.
pub fn gif_with_metadata(w: u32, h: u32) -> Vec<u8> {
    let plain = gif(w, h);
    // Header (6) + logical screen descriptor (7) + the global colour table, if any.
    let flags = plain[10];
    let gct = if flags & 0x80 != 0 {
        3 * (1usize << ((flags & 0x07) + 1))
    } else {
        0
    };
    let at = 13 + gct;
    let mut out = plain[..at].to_vec();
    out.extend(gif_extension(0xFE, &[b"taken at 48.858 N 2.294 E"]));
    out.extend(gif_extension(
        0xFF,
        &[b"XMP DataXMP", b"<x:xmpmeta>GPSLatitude</x:xmpmeta>"],
    ));
    out.extend(gif_extension(0xFF, &[b"NETSCAPE2.0", &[1, 0, 0]]));
    // Keep any extension image's encoder wrote (e.g. its own NETSCAPE block) and the image.
    let trailer = plain.len() - 1;
    out.extend_from_slice(&plain[at..trailer]);
    out.extend(gif_extension(0xFE, &[b"second comment"]));
    out.push(0x3B);
    out
}

/// A GIF extension block: introducer, `label`, the data sub-blocks, terminator.
pub fn gif_extension(label: u8, blocks: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![0x21, label];
    for block in blocks {
        for piece in block.chunks(255) {
            out.push(u8::try_from(piece.len()).expect("≤ 255"));
            out.extend_from_slice(piece);
        }
    }
    out.push(0);
    out
}

/// An HTML document with a script: must never be served inline.
pub fn html_document() -> Vec<u8> {
    b"<!DOCTYPE html>\n<html><head><title>hi</title></head>\
      <body><script>fetch('/api/steal?c=' + document.cookie)</script></body></html>\n"
        .to_vec()
}

/// An SVG image with a script: must never be classified as an image.
pub fn svg_with_script() -> Vec<u8> {
    br#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">
  <rect width="100" height="100" fill="red"/>
  <script type="text/javascript">alert(document.domain)</script>
</svg>
"#
    .to_vec()
}

/// The bytes of `testkit/fixtures/media/<name>` (clip.webm, clip.mp4, poster.jpg, tone.ogg,
/// tone.mp3, tone-cbr.mp3, tone.m4a, tone.wav, voice.webm).
pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixture_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The path of `testkit/fixtures/media/<name>`.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/media")
        .join(name)
}

/// Decodes an image (any format `image` knows), for assertions on a processed file.
pub fn decode(bytes: &[u8]) -> image::ImageResult<DynamicImage> {
    image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()?
        .decode()
}

/// True when `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// CRC-32 (ISO-HDLC, as PNG uses).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}
