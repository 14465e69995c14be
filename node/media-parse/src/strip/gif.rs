//! GIF: keeps the header, colour tables, images and graphic control extensions, and the
//! NETSCAPE2.0 / ANIMEXTS1.0 application extension (looping); drops comments, plain text and
//! every other application extension (XMP, ICC …), and anything after the trailer.

use super::{Malformed, Stripped, take};

pub fn strip(input: &[u8]) -> Result<Stripped, Malformed> {
    let header = take(input, 0, 13)?;
    if &header[..6] != b"GIF87a" && &header[..6] != b"GIF89a" {
        return Err(Malformed);
    }
    let mut pos = 13 + color_table(header[10]);
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(take(input, 0, pos)?);
    let mut images = 0usize;
    // Each turn consumes at least one byte: bounded by the input's length.
    loop {
        match take(input, pos, 1)?[0] {
            0x3B => {
                out.push(0x3B);
                return Ok(Stripped {
                    bytes: out,
                    animated: images > 1,
                });
            }
            0x2C => {
                let descriptor = take(input, pos, 10)?;
                // Descriptor, local colour table, LZW minimum code size, data sub-blocks.
                let data = pos + 10 + color_table(descriptor[9]) + 1;
                let end = sub_blocks_end(input, data)?;
                out.extend_from_slice(&input[pos..end]);
                images += 1;
                pos = end;
            }
            0x21 => {
                let label = take(input, pos + 1, 1)?[0];
                let end = sub_blocks_end(input, pos + 2)?;
                let first = input.get(pos + 2..end).unwrap_or(&[]);
                let keep = match label {
                    // Graphic control: delays, transparency, disposal.
                    0xF9 => true,
                    0xFF => {
                        first.starts_with(b"\x0bNETSCAPE2.0")
                            || first.starts_with(b"\x0bANIMEXTS1.0")
                    }
                    _ => false,
                };
                if keep {
                    out.extend_from_slice(&input[pos..end]);
                }
                pos = end;
            }
            _ => return Err(Malformed),
        }
    }
}

/// The size of a colour table announced by `flags` (bit 7: present; bits 0–2: size).
fn color_table(flags: u8) -> usize {
    if flags & 0x80 != 0 {
        3 << ((flags & 0x07) + 1)
    } else {
        0
    }
}

/// Where the data sub-blocks starting at `from` end (after the zero-length terminator).
fn sub_blocks_end(input: &[u8], from: usize) -> Result<usize, Malformed> {
    let mut pos = from;
    loop {
        let n = usize::from(take(input, pos, 1)?[0]);
        pos += 1;
        if n == 0 {
            return Ok(pos);
        }
        take(input, pos, n)?;
        pos += n;
    }
}

#[cfg(test)]
mod tests {
    use winichat_testkit::media_fixtures::{self as fx, contains};

    use super::*;

    #[test]
    fn comments_and_xmp_go_looping_stays() {
        let input = fx::gif_with_metadata(10, 6);
        let out = strip(&input).expect("strip");
        assert!(!out.animated);
        assert!(!contains(&out.bytes, b"taken at"));
        assert!(!contains(&out.bytes, b"second comment"));
        assert!(!contains(&out.bytes, b"XMP Data"));
        assert!(!contains(&out.bytes, b"GPSLatitude"));
        assert!(contains(&out.bytes, b"NETSCAPE2.0"));
        let decoded = fx::decode(&out.bytes).expect("decodes");
        assert_eq!((decoded.width(), decoded.height()), (10, 6));
    }

    #[test]
    fn a_plain_gif_is_unchanged() {
        let plain = fx::gif(5, 5);
        assert_eq!(strip(&plain).expect("strip").bytes, plain);
        let mut trailing = plain.clone();
        trailing.extend_from_slice(b"PK\x03\x04 polyglot");
        assert_eq!(strip(&trailing).expect("strip").bytes, plain);
    }

    #[test]
    fn two_frames_are_animated() {
        let plain = fx::gif(3, 3);
        let start = 13 + color_table(plain[10]);
        let frames = &plain[start..plain.len() - 1];
        let mut input = plain[..start].to_vec();
        input.extend_from_slice(frames);
        input.extend_from_slice(frames);
        input.push(0x3B);
        assert!(strip(&input).expect("strip").animated);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let input = fx::gif_with_metadata(4, 4);
        for len in 0..input.len() {
            assert_eq!(strip(&input[..len]), Err(Malformed), "{len}");
        }
        assert_eq!(strip(b"GIF89a\x01\0\x01\0\0\0\0\x99"), Err(Malformed));
    }
}
