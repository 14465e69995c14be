//! WAV (RIFF/WAVE): the duration is the `data` chunk's size over the `fmt ` chunk's byte
//! rate.

use std::io::{self, Read, Seek};

use super::{Probe, read_at, to_ms};

/// At most this many chunks are looked at.
const MAX_CHUNKS: usize = 256;

/// The duration of a WAV file of `len` bytes.
pub fn probe<R: Read + Seek>(r: &mut R, len: u64) -> io::Result<Probe> {
    let mut probe = Probe {
        video: Some(false),
        audio: Some(true),
        duration_ms: None,
    };
    let mut byte_rate = None;
    let mut data_len = None;
    let mut pos = 12u64;
    for _ in 0..MAX_CHUNKS {
        let mut head = [0u8; 8];
        if !read_at(r, pos, &mut head)? {
            break;
        }
        let size = u64::from(u32::from_le_bytes([head[4], head[5], head[6], head[7]]));
        let start = pos + 8;
        match &head[..4] {
            b"fmt " => {
                let mut fmt = [0u8; 12];
                if size >= 12 && read_at(r, start, &mut fmt)? {
                    byte_rate = Some(u64::from(u32::from_le_bytes([
                        fmt[8], fmt[9], fmt[10], fmt[11],
                    ])));
                }
            }
            // A streaming writer leaves the size at its maximum: the data runs to the end.
            b"data" => data_len = Some(size.min(len.saturating_sub(start))),
            _ => {}
        }
        if byte_rate.is_some() && data_len.is_some() {
            break;
        }
        // Chunks are padded to an even size.
        pos = start + size + (size & 1);
    }
    if let (Some(rate), Some(data)) = (byte_rate, data_len) {
        probe.duration_ms = to_ms(data, rate);
    }
    Ok(probe)
}

#[cfg(test)]
mod tests {
    use winichat_testkit::media_fixtures::{fixture, riff_chunk};

    use super::super::tests_support::{every_prefix, whole};
    use super::*;

    #[test]
    fn tone_lasts_one_second() {
        let p = whole(&fixture("tone.wav"), probe);
        assert_eq!(p.duration_ms, Some(1000));
        assert_eq!((p.video, p.audio), (Some(false), Some(true)));
    }

    #[test]
    fn chunks_before_fmt_a_streaming_size_and_a_zero_rate() {
        let mut fmt = vec![1, 0, 1, 0];
        fmt.extend_from_slice(&8000u32.to_le_bytes());
        fmt.extend_from_slice(&16_000u32.to_le_bytes());
        fmt.extend_from_slice(&[2, 0, 16, 0]);
        let mut body = b"WAVE".to_vec();
        body.extend(riff_chunk(b"LIST", b"odd"));
        body.extend(riff_chunk(b"fmt ", &fmt));
        body.extend_from_slice(b"data\xff\xff\xff\xff");
        body.extend_from_slice(&[0; 8000]);
        let mut file = b"RIFF\0\0\0\0".to_vec();
        file.extend(body);
        assert_eq!(whole(&file, probe).duration_ms, Some(500));

        let zero_rate = {
            let mut f = file.clone();
            let at = 12 + 8 + 4 + 8 + 8;
            f[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
            f
        };
        assert_eq!(whole(&zero_rate, probe).duration_ms, None);
    }

    #[test]
    fn every_truncation_is_handled() {
        every_prefix(&fixture("tone.wav"), 1, probe);
    }
}
