//! JPEG: keeps the segments needed to decode (DQT, DHT, SOFn, DRI, SOS and the entropy-coded
//! data …), the JFIF APP0 without its embedded thumbnail, the ICC profile (APP2
//! `ICC_PROFILE`: colour, not circumstances) and Adobe's APP14 colour-transform marker (12
//! bytes; without it some CMYK and RGB JPEGs decode with wrong colours). Drops every other
//! APPn (EXIF and its GPS IFD and thumbnail, XMP, MPF secondary images, maker notes …), COM
//! and anything after EOI.

use super::{Malformed, Stripped, take};

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const APP0: u8 = 0xE0;
const APP2: u8 = 0xE2;
const APP14: u8 = 0xEE;
const COM: u8 = 0xFE;

pub fn strip(input: &[u8]) -> Result<Stripped, Malformed> {
    if take(input, 0, 2)? != [0xFF, SOI] {
        return Err(Malformed);
    }
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&[0xFF, SOI]);
    let mut pos = 2;
    // Each turn consumes at least two bytes: bounded by the input's length.
    loop {
        if take(input, pos, 1)? != [0xFF] {
            return Err(Malformed);
        }
        // Fill bytes: any number of 0xFF before the marker code.
        while input.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let marker = take(input, pos, 1)?[0];
        pos += 1;
        match marker {
            EOI => {
                out.extend_from_slice(&[0xFF, EOI]);
                return Ok(Stripped {
                    bytes: out,
                    animated: false,
                });
            }
            // Markers without a length: TEM, RSTn.
            0x01 | 0xD0..=0xD7 => out.extend_from_slice(&[0xFF, marker]),
            0x00 | SOI => return Err(Malformed),
            _ => {
                let len = take(input, pos, 2)?;
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                if len < 2 {
                    return Err(Malformed);
                }
                let segment = take(input, pos - 2, len + 2)?;
                let payload = &segment[4..];
                pos += len;
                match marker {
                    APP0 => {
                        // JFIF: identifier, version, units, densities; the thumbnail set to 0×0.
                        if payload.starts_with(b"JFIF\0") && payload.len() >= 14 {
                            out.extend_from_slice(&[0xFF, APP0, 0, 16]);
                            out.extend_from_slice(&payload[..12]);
                            out.extend_from_slice(&[0, 0]);
                        }
                    }
                    APP2 if payload.starts_with(b"ICC_PROFILE\0") => out.extend_from_slice(segment),
                    APP14 if payload.starts_with(b"Adobe") && payload.len() == 12 => {
                        out.extend_from_slice(segment)
                    }
                    0xE1..=0xEF | COM => {}
                    _ => out.extend_from_slice(segment),
                }
                if marker == SOS {
                    let end = entropy_end(input, pos)?;
                    out.extend_from_slice(&input[pos..end]);
                    pos = end;
                }
            }
        }
    }
}

/// Where the entropy-coded data starting at `from` ends: at the first marker other than a
/// stuffed zero (FF 00) or a restart marker (FF D0–D7).
fn entropy_end(input: &[u8], from: usize) -> Result<usize, Malformed> {
    let mut i = from;
    loop {
        let ff = input
            .get(i..)
            .ok_or(Malformed)?
            .iter()
            .position(|b| *b == 0xFF)
            .ok_or(Malformed)?;
        i += ff;
        match input.get(i + 1) {
            None => return Err(Malformed),
            Some(0x00 | 0xD0..=0xD7) => i += 2,
            // A fill byte: the marker code comes later.
            Some(0xFF) => i += 1,
            Some(_) => return Ok(i),
        }
    }
}

#[cfg(test)]
mod tests {
    use winichat_testkit::media_fixtures::{self as fx, contains, fixture, insert_jpeg_segment};

    use super::*;

    #[test]
    fn gps_exif_goes_the_picture_stays() {
        let input = fx::jpeg_with_gps_exif(64, 48);
        assert!(contains(&input, b"Exif\0\0"));
        let out = strip(&input).expect("strip").bytes;
        assert!(!contains(&out, b"Exif"));
        assert!(!contains(&out, fx::CAMERA_MAKE.as_bytes()));
        // The GPS IFD tag (0x8825) and its latitude rational 296/10.
        assert!(!contains(&out, &[0x88, 0x25]));
        assert!(!contains(&out, &[0, 0, 1, 0x28, 0, 0, 0, 10]));
        // The same picture as the plain JPEG: only metadata went.
        assert_eq!(out, strip(&fx::jpeg(64, 48)).expect("strip").bytes);
        let decoded = fx::decode(&out).expect("decodes");
        assert_eq!((decoded.width(), decoded.height()), (64, 48));
    }

    #[test]
    fn xmp_comments_mpf_and_trailers_go_icc_and_adobe_stay() {
        let plain = fx::jpeg(16, 16);
        let mut input = insert_jpeg_segment(
            &plain,
            0xE1,
            b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>GPS</x:xmpmeta>",
        );
        input = insert_jpeg_segment(&input, 0xFE, b"shot at home");
        input = insert_jpeg_segment(&input, 0xE2, b"MPF\0secondary image");
        input = insert_jpeg_segment(&input, 0xE2, b"ICC_PROFILE\0\x01\x01fake profile");
        input = insert_jpeg_segment(&input, 0xEE, b"Adobe\0\x64\0\0\0\0\x01");
        input = insert_jpeg_segment(&input, 0xED, b"Photoshop 3.0\08BIM location");
        input.extend_from_slice(b"\xFF\xD8 appended second image with Exif");
        let out = strip(&input).expect("strip").bytes;
        for gone in [
            &b"xmpmeta"[..],
            b"shot at home",
            b"MPF",
            b"8BIM",
            b"appended",
            b"Exif",
        ] {
            assert!(!contains(&out, gone), "{}", String::from_utf8_lossy(gone));
        }
        assert!(contains(&out, b"ICC_PROFILE\0"));
        assert!(contains(&out, b"Adobe\0"));
        assert!(out.ends_with(&[0xFF, EOI]));
        fx::decode(&out).expect("decodes");
    }

    #[test]
    fn jfif_thumbnail_is_dropped() {
        let plain = fx::jpeg(8, 8);
        // Replace APP0 with a JFIF carrying a 2×1 RGB thumbnail.
        let app0_len = usize::from(u16::from_be_bytes([plain[4], plain[5]]));
        let mut jfif = b"JFIF\0\x01\x02\0\0\x01\0\x01\x02\x01".to_vec();
        jfif.extend_from_slice(&[0xAB, 0xCD, 0xEF, 0xBA, 0xDC, 0xFE]);
        let mut input = vec![0xFF, SOI];
        input.extend(insert_jpeg_segment(&[0xFF, SOI], 0xE0, &jfif)[2..].iter());
        input.extend_from_slice(&plain[4 + app0_len..]);
        let out = strip(&input).expect("strip").bytes;
        assert_eq!(
            &out[..20],
            b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x02\0\0\x01\0\x01\0\0"
        );
        assert!(!contains(&out, &[0xAB, 0xCD, 0xEF, 0xBA, 0xDC, 0xFE]));
        fx::decode(&out).expect("decodes");
    }

    #[test]
    fn a_plain_jpeg_is_unchanged() {
        let plain = fixture("poster.jpg");
        let out = strip(&plain).expect("strip").bytes;
        // ffmpeg writes a COM segment ("Lavc…"): that goes, the rest is the same.
        assert!(out.len() <= plain.len());
        assert_eq!(strip(&out).expect("strip").bytes, out, "idempotent");
        let jpeg = fx::jpeg(10, 10);
        assert_eq!(strip(&jpeg).expect("strip").bytes, jpeg);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let input = fx::jpeg_with_gps_exif(24, 24);
        for len in 0..input.len() {
            assert_eq!(strip(&input[..len]), Err(Malformed), "{len}");
        }
        for bad in [
            &b"\xFF\xD8\x00"[..],
            b"\xFF\xD8\xFF\xE1\x00\x01",
            b"\xFF\xD8\xFF\x00",
            b"\xFF\xD8\xFF\xD8",
        ] {
            assert_eq!(strip(bad), Err(Malformed));
        }
    }
}
