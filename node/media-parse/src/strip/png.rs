//! PNG: keeps the critical chunks and the ancillary chunks that affect how the image looks
//! (transparency, colour space, gamma, physical size, APNG animation); drops everything else,
//! in particular `eXIf`, `tEXt`, `zTXt`, `iTXt` and `tIME`, private chunks, and anything after
//! IEND. CRCs are copied, not checked (the decoder checked them).

use super::{Malformed, Stripped, take};

const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// The chunks kept.
const KEEP: [&[u8; 4]; 18] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT",
    b"bKGD", b"pHYs", b"hIST", b"cICP", b"mDCV", b"cLLI", b"acTL", b"fcTL",
];

pub fn strip(input: &[u8]) -> Result<Stripped, Malformed> {
    if take(input, 0, 8)? != SIGNATURE {
        return Err(Malformed);
    }
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(SIGNATURE);
    let mut animated = false;
    let mut pos = 8;
    // Each chunk is at least 12 bytes: bounded by the input's length.
    loop {
        let head = take(input, pos, 8)?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        if len > 0x7FFF_FFFF {
            return Err(Malformed);
        }
        let kind = [head[4], head[5], head[6], head[7]];
        let chunk = take(input, pos, 12 + len as usize)?;
        pos += chunk.len();
        if &kind == b"acTL" {
            animated = true;
        }
        if KEEP.contains(&&kind) || &kind == b"fdAT" {
            out.extend_from_slice(chunk);
        }
        if &kind == b"IEND" {
            return Ok(Stripped {
                bytes: out,
                animated,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use winichat_testkit::media_fixtures::{self as fx, contains};

    use super::*;

    #[test]
    fn metadata_chunks_go() {
        let input = fx::png_with_metadata(20, 10);
        let out = strip(&input).expect("strip");
        assert!(!out.animated);
        for kind in [b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME", b"prVt"] {
            assert!(contains(&input, kind));
            assert!(
                !contains(&out.bytes, kind),
                "{}",
                String::from_utf8_lossy(kind)
            );
        }
        assert!(!contains(&out.bytes, fx::CAMERA_MAKE.as_bytes()));
        assert_eq!(out.bytes, fx::png(20, 10), "exactly the plain PNG");
        let decoded = fx::decode(&out.bytes).expect("decodes");
        assert_eq!((decoded.width(), decoded.height()), (20, 10));
    }

    #[test]
    fn a_plain_png_is_unchanged_and_trailing_data_goes() {
        let plain = fx::png_rgba(7, 5);
        assert_eq!(strip(&plain).expect("strip").bytes, plain);
        let mut trailing = plain.clone();
        trailing.extend_from_slice(b"<html>polyglot</html>");
        assert_eq!(strip(&trailing).expect("strip").bytes, plain);
    }

    #[test]
    fn apng_is_animated() {
        let plain = fx::png(4, 4);
        let mut input = plain[..33].to_vec();
        input.extend(fx::png_chunk(b"acTL", &[0, 0, 0, 1, 0, 0, 0, 0]));
        input.extend_from_slice(&plain[33..]);
        let out = strip(&input).expect("strip");
        assert!(out.animated);
        assert_eq!(out.bytes, input);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let input = fx::png_with_metadata(6, 6);
        for len in 0..input.len() {
            assert_eq!(strip(&input[..len]), Err(Malformed), "{len}");
        }
        let mut huge = fx::png(2, 2)[..33].to_vec();
        huge.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xF0, b'I', b'D', b'A', b'T']);
        assert_eq!(strip(&huge), Err(Malformed));
    }
}
