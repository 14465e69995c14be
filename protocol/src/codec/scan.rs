//! A well-formedness walk over CBOR bytes that enforces the protocol's subset and limits.
//!
//! It recurses at most `max_depth` levels and allocates only a key list per map, bounded by
//! `max_items`, so hostile input costs at most linear time in its length.

use super::{DecodeError, Limits};

/// Largest integer magnitude allowed anywhere: 2^53 − 1, exact in every JSON/JS number.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Checks that `bytes` hold exactly one CBOR item of the protocol's subset within `limits`.
///
/// The subset: definite lengths only; shortest-form heads; integers within ±(2^53 − 1); UTF-8
/// text; no tags, floats, `undefined` or simple values other than `false`, `true`, `null`;
/// no duplicate map keys; map keys are text strings where `limits.text_keys` says so.
pub fn check_well_formed(bytes: &[u8], limits: &Limits) -> Result<(), DecodeError> {
    if bytes.len() > limits.max_frame {
        return Err(DecodeError::FrameTooLarge {
            len: bytes.len(),
            max: limits.max_frame,
        });
    }
    let mut scanner = Scanner {
        bytes,
        pos: 0,
        limits,
    };
    scanner.item(1)?;
    if scanner.pos != bytes.len() {
        return Err(DecodeError::TrailingBytes {
            offset: scanner.pos,
        });
    }
    Ok(())
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
    limits: &'a Limits,
}

/// A decoded head: major type and argument.
struct Head {
    major: u8,
    info: u8,
    arg: u64,
    offset: usize,
}

impl Scanner<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(DecodeError::Truncated {
                offset: self.bytes.len(),
            })?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn head(&mut self) -> Result<Head, DecodeError> {
        let offset = self.pos;
        let initial = self.take(1)?[0];
        let (major, info) = (initial >> 5, initial & 0x1f);
        let arg = match info {
            0..=23 => u64::from(info),
            24..=27 => {
                let len = 1usize << (info - 24);
                let arg = self
                    .take(len)?
                    .iter()
                    .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
                // The shortest form is the only accepted one; for simple values (major 7,
                // info 24) and floats this is checked by their own rules.
                let min = match info {
                    24 => 24,
                    25 => 0x100,
                    26 => 0x1_0000,
                    _ => 0x1_0000_0000,
                };
                if major != 7 && arg < min {
                    return Err(DecodeError::NonCanonical { offset });
                }
                arg
            }
            31 => {
                let what = if major == 7 {
                    "break"
                } else {
                    "indefinite length"
                };
                return Err(DecodeError::Unsupported { offset, what });
            }
            _ => {
                return Err(DecodeError::Unsupported {
                    offset,
                    what: "reserved additional information",
                });
            }
        };
        Ok(Head {
            major,
            info,
            arg,
            offset,
        })
    }

    fn item(&mut self, depth: usize) -> Result<(), DecodeError> {
        let head = self.head()?;
        let offset = head.offset;
        match head.major {
            0 => {
                if head.arg > MAX_SAFE_INTEGER {
                    return Err(DecodeError::IntegerOutOfRange { offset });
                }
            }
            1 => {
                // The value is -1 - arg.
                if head.arg >= MAX_SAFE_INTEGER {
                    return Err(DecodeError::IntegerOutOfRange { offset });
                }
            }
            2 | 3 => {
                let max = self.limits.max_string;
                let len = usize::try_from(head.arg)
                    .ok()
                    .filter(|len| *len <= max)
                    .ok_or(DecodeError::StringTooLong {
                        offset,
                        len: head.arg,
                        max,
                    })?;
                let data = self.take(len)?;
                if head.major == 3 && core::str::from_utf8(data).is_err() {
                    return Err(DecodeError::InvalidUtf8 { offset });
                }
            }
            4 | 5 => {
                let len = self.collection_len(&head)?;
                if depth > self.limits.max_depth {
                    return Err(DecodeError::TooDeep {
                        offset,
                        max: self.limits.max_depth,
                    });
                }
                if head.major == 4 {
                    for _ in 0..len {
                        self.item(depth + 1)?;
                    }
                } else {
                    self.map_entries(len, depth)?;
                }
            }
            6 => {
                return Err(DecodeError::Unsupported {
                    offset,
                    what: "tag",
                });
            }
            _ => match head.info {
                20..=22 => {}
                23 => {
                    return Err(DecodeError::Unsupported {
                        offset,
                        what: "undefined",
                    });
                }
                25..=27 => {
                    return Err(DecodeError::Unsupported {
                        offset,
                        what: "floating-point number",
                    });
                }
                _ => {
                    return Err(DecodeError::Unsupported {
                        offset,
                        what: "simple value",
                    });
                }
            },
        }
        Ok(())
    }

    fn collection_len(&self, head: &Head) -> Result<usize, DecodeError> {
        let max = self.limits.max_items;
        usize::try_from(head.arg)
            .ok()
            .filter(|len| *len <= max)
            .ok_or(DecodeError::TooManyItems {
                offset: head.offset,
                len: head.arg,
                max,
            })
    }

    fn map_entries(&mut self, len: usize, depth: usize) -> Result<(), DecodeError> {
        // Key byte ranges, sorted afterwards to find repeats without hashing.
        let mut keys: Vec<(usize, usize)> = Vec::with_capacity(len);
        for _ in 0..len {
            let start = self.pos;
            if self.limits.text_keys && self.bytes.get(start).is_some_and(|b| b >> 5 != 3) {
                return Err(DecodeError::NonTextKey { offset: start });
            }
            self.item(depth + 1)?;
            keys.push((start, self.pos));
            self.item(depth + 1)?;
        }
        let bytes = self.bytes;
        keys.sort_unstable_by(|a, b| bytes[a.0..a.1].cmp(&bytes[b.0..b.1]));
        for pair in keys.windows(2) {
            if let [a, b] = pair
                && bytes[a.0..a.1] == bytes[b.0..b.1]
            {
                return Err(DecodeError::DuplicateKey {
                    offset: a.0.max(b.0),
                });
            }
        }
        Ok(())
    }
}
