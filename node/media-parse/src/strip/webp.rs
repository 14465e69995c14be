//! WebP: a simple file (`VP8 ` or `VP8L` alone) keeps only its image chunk; an extended one
//! (`VP8X`) keeps ICCP, ANIM, ANMF, ALPH, VP8 and VP8L, drops `EXIF`, `XMP ` and unknown
//! chunks, and clears the EXIF and XMP flags in VP8X. The RIFF size is rewritten; anything
//! after the RIFF chunk goes.

use super::{Malformed, Stripped, take};

/// VP8X flags.
const FLAG_ANIMATION: u8 = 0x02;
const FLAG_XMP: u8 = 0x04;
const FLAG_EXIF: u8 = 0x08;

/// The chunks kept in an extended file.
const KEEP: [&[u8; 4]; 7] = [
    b"VP8X", b"ICCP", b"ANIM", b"ANMF", b"ALPH", b"VP8 ", b"VP8L",
];

/// At most this many chunks.
const MAX_CHUNKS: usize = 1 << 16;

pub fn strip(input: &[u8]) -> Result<Stripped, Malformed> {
    let head = take(input, 0, 12)?;
    if &head[..4] != b"RIFF" || &head[8..12] != b"WEBP" {
        return Err(Malformed);
    }
    let riff_len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
    let end = riff_len.checked_add(8).ok_or(Malformed)?;
    if end > input.len() || end < 12 {
        return Err(Malformed);
    }
    let mut body = Vec::with_capacity(end);
    body.extend_from_slice(b"WEBP");
    let mut animated = false;
    let mut extended = false;
    let mut pos = 12;
    let mut count = 0;
    while pos < end {
        count += 1;
        if count > MAX_CHUNKS {
            return Err(Malformed);
        }
        let chunk_head = take(input, pos, 8)?;
        let kind = [chunk_head[0], chunk_head[1], chunk_head[2], chunk_head[3]];
        let size = u32::from_le_bytes([chunk_head[4], chunk_head[5], chunk_head[6], chunk_head[7]])
            as usize;
        let padded = size.checked_add(size & 1).ok_or(Malformed)?;
        let whole = take(input, pos, 8 + size)?;
        let next = pos.checked_add(8 + padded).ok_or(Malformed)?;
        if next > end && pos + 8 + size != end {
            // A chunk running past the RIFF chunk (a missing last pad byte is tolerated).
            return Err(Malformed);
        }
        if pos == 12 {
            extended = &kind == b"VP8X";
        }
        let keep = if extended {
            KEEP.contains(&&kind)
        } else {
            pos == 12 && matches!(&kind, b"VP8 " | b"VP8L")
        };
        if keep {
            let at = body.len();
            body.extend_from_slice(whole);
            if size & 1 == 1 {
                body.push(0);
            }
            if &kind == b"VP8X" {
                let flags = body.get_mut(at + 8).ok_or(Malformed)?;
                animated = *flags & FLAG_ANIMATION != 0;
                *flags &= !(FLAG_EXIF | FLAG_XMP);
            }
        }
        pos = next;
    }
    if body.len() == 4 {
        return Err(Malformed);
    }
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(
        &u32::try_from(body.len())
            .map_err(|_| Malformed)?
            .to_le_bytes(),
    );
    out.extend(body);
    Ok(Stripped {
        bytes: out,
        animated,
    })
}

#[cfg(test)]
mod tests {
    use winichat_testkit::media_fixtures::{self as fx, contains, riff_chunk};

    use super::*;

    #[test]
    fn exif_and_xmp_go_and_the_flags_follow() {
        let input = fx::webp_with_metadata(12, 8);
        assert_eq!(input[20] & (FLAG_EXIF | FLAG_XMP), FLAG_EXIF | FLAG_XMP);
        let out = strip(&input).expect("strip");
        assert!(!out.animated);
        assert!(!contains(&out.bytes, b"EXIF"));
        assert!(!contains(&out.bytes, b"XMP "));
        assert!(!contains(&out.bytes, b"GPSLatitude"));
        assert!(!contains(&out.bytes, fx::CAMERA_MAKE.as_bytes()));
        assert_eq!(out.bytes[20] & (FLAG_EXIF | FLAG_XMP), 0, "flags cleared");
        let riff = u32::from_le_bytes([out.bytes[4], out.bytes[5], out.bytes[6], out.bytes[7]]);
        assert_eq!(riff as usize + 8, out.bytes.len());
        let decoded = fx::decode(&out.bytes).expect("decodes");
        assert_eq!((decoded.width(), decoded.height()), (12, 8));
    }

    #[test]
    fn a_simple_file_keeps_only_its_image() {
        let plain = fx::webp(9, 9);
        assert_eq!(strip(&plain).expect("strip").bytes, plain);
        // EXIF appended to a simple file (not allowed, but seen): dropped.
        let mut body = plain[8..].to_vec();
        body.extend(riff_chunk(b"EXIF", &fx::exif_tiff(1, true)));
        let mut input = b"RIFF".to_vec();
        input.extend_from_slice(&u32::try_from(body.len()).expect("small").to_le_bytes());
        input.extend(body);
        input.extend_from_slice(b"trailing");
        assert_eq!(strip(&input).expect("strip").bytes, plain);
    }

    #[test]
    fn animation_flag_is_reported() {
        let mut input = fx::webp_with_metadata(4, 4);
        input[20] |= FLAG_ANIMATION;
        assert!(strip(&input).expect("strip").animated);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let input = fx::webp_with_metadata(5, 5);
        for len in 0..input.len() {
            assert_eq!(strip(&input[..len]), Err(Malformed), "{len}");
        }
        let mut lying = input.clone();
        lying[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(strip(&lying), Err(Malformed));
        let mut chunk_lies = input;
        chunk_lies[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(strip(&chunk_lies), Err(Malformed));
    }
}
