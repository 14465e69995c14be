//! Reading a request's `id` out of a frame that does not decode.
//!
//! Every decoded request is answered exactly once, and an error for a frame that fails to
//! decode carries the frame's `id` when it can be read (gateway.md §1), so the client can
//! match it to the call it made. A frame can break the protocol's subset anywhere (a float or
//! 2^64 in `params`, a tag, an indefinite length) and still be a CBOR map with a plain `id`,
//! so this walk accepts any well-formed CBOR (RFC 8949) and only skips over what it does not
//! look at. Its cost is linear in the input and its recursion is bounded.

use super::MAX_SAFE_INTEGER;

/// How deep the walk follows nested items before giving up (the subset allows far fewer).
const MAX_DEPTH: usize = 64;

/// The `id` of a client frame: the unsigned integer (at most 2^53 − 1) under the text key
/// `id` of the top-level map, when the input starts with a map holding exactly one such key
/// and the map can be walked up to its end or to the point where it stops being CBOR.
/// `None` otherwise — no map, no `id`, an `id` that is not such an integer, two `id` keys.
pub fn request_id(bytes: &[u8]) -> Option<u64> {
    let mut walk = Walk { bytes, pos: 0 };
    let head = walk.head()?;
    if head.major != 5 {
        return None;
    }
    let mut found: Option<u64> = None;
    let mut entry = 0u64;
    loop {
        match head.len {
            Len::Definite(n) if entry >= n => break,
            Len::Indefinite if walk.at_break() => break,
            _ => {}
        }
        entry += 1;
        let Some(is_id) = walk.key_is_id() else {
            break;
        };
        if is_id {
            if found.is_some() {
                // Two ids: which one the client meant cannot be known.
                return None;
            }
            // An `id` that is not a safe unsigned integer is no id.
            found = Some(walk.unsigned()?);
        } else if walk.skip(1).is_none() {
            break;
        }
    }
    found
}

struct Walk<'a> {
    bytes: &'a [u8],
    pos: usize,
}

#[derive(Clone, Copy)]
enum Len {
    Definite(u64),
    Indefinite,
}

struct Head {
    major: u8,
    /// The argument (a length or a value), or `Indefinite` for additional information 31.
    len: Len,
}

impl Walk<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.bytes.len())?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Some(slice)
    }

    fn at_break(&self) -> bool {
        self.bytes.get(self.pos) == Some(&0xff)
    }

    fn head(&mut self) -> Option<Head> {
        let initial = *self.take(1)?.first()?;
        let (major, info) = (initial >> 5, initial & 0x1f);
        let len = match info {
            0..=23 => Len::Definite(u64::from(info)),
            24..=27 => {
                let n = 1usize << (info - 24);
                let arg = self
                    .take(n)?
                    .iter()
                    .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
                Len::Definite(arg)
            }
            31 if matches!(major, 2..=5) => Len::Indefinite,
            _ => return None,
        };
        Some(Head { major, len })
    }

    /// Reads a map key; `Some(true)` when it is the text `id`.
    fn key_is_id(&mut self) -> Option<bool> {
        let start = self.pos;
        let head = self.head()?;
        if head.major == 3
            && let Len::Definite(2) = head.len
        {
            return Some(self.take(2)? == b"id");
        }
        self.pos = start;
        self.skip(1)?;
        Some(false)
    }

    /// Reads an unsigned integer within the safe range.
    fn unsigned(&mut self) -> Option<u64> {
        let head = self.head()?;
        match (head.major, head.len) {
            (0, Len::Definite(n)) if n <= MAX_SAFE_INTEGER => Some(n),
            _ => None,
        }
    }

    /// Skips one well-formed item.
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        let head = self.head()?;
        match (head.major, head.len) {
            (0 | 1, _) => Some(()),
            // Simple values and floats: their bytes were the head's argument.
            (7, _) => Some(()),
            (2 | 3, Len::Definite(n)) => {
                self.take(usize::try_from(n).ok()?)?;
                Some(())
            }
            (2 | 3, Len::Indefinite) => {
                while !self.at_break() {
                    let chunk = self.head()?;
                    match (chunk.major == head.major, chunk.len) {
                        (true, Len::Definite(n)) => {
                            self.take(usize::try_from(n).ok()?)?;
                        }
                        _ => return None,
                    }
                }
                self.take(1).map(|_| ())
            }
            (4 | 5, Len::Definite(n)) => {
                let items = if head.major == 5 {
                    n.checked_mul(2)?
                } else {
                    n
                };
                // Each item takes at least one byte: a count past the input cannot be real.
                if items > (self.bytes.len() - self.pos) as u64 {
                    return None;
                }
                for _ in 0..items {
                    self.skip(depth + 1)?;
                }
                Some(())
            }
            (4 | 5, Len::Indefinite) => {
                while !self.at_break() {
                    self.skip(depth + 1)?;
                    if head.major == 5 {
                        self.skip(depth + 1)?;
                    }
                }
                self.take(1).map(|_| ())
            }
            (6, _) => self.skip(depth + 1),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::request_id;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).expect("hex")
    }

    #[test]
    fn the_id_is_read_past_what_breaks_the_subset() {
        // {"t": "req", "id": 7, "method": "ping", "params": {"x": 1.5}}
        let float = hex(
            "a4 6174 63726571 626964 07 666d6574686f64 6470696e67 66706172616d73 a1 6178 f93e00",
        );
        assert_eq!(request_id(&float), Some(7));
        // params {"x": 2^64 - 1}
        let big = hex(
            "a4 6174 63726571 626964 182a 666d6574686f64 6470696e67 66706172616d73 a1 6178 1bffffffffffffffff",
        );
        assert_eq!(request_id(&big), Some(42));
        // The id after a tagged item and an indefinite-length array.
        let tagged = hex("a3 6174 c1 1a00000001 6178 9f 01 02 ff 626964 1903e8");
        assert_eq!(request_id(&tagged), Some(1000));
        // An indefinite-length map.
        let indefinite = hex("bf 626964 05 ff");
        assert_eq!(request_id(&indefinite), Some(5));
        // Cut short after the id: the id was read.
        let truncated = hex("a3 626964 09 6174 63 72");
        assert_eq!(request_id(&truncated), Some(9));
    }

    #[test]
    fn no_id_when_it_cannot_be_trusted() {
        for (what, bytes) in [
            ("not a map", "83 01 02 03"),
            ("no id", "a1 6174 63726571"),
            ("negative id", "a1 626964 20"),
            ("id as text", "a1 626964 6131"),
            ("id over 2^53 - 1", "a1 626964 1b0020000000000000"),
            ("two ids", "a2 626964 01 626964 02"),
            ("empty", ""),
            ("reserved head", "a1 626964 1c"),
        ] {
            assert_eq!(request_id(&hex(bytes)), None, "{what}");
        }
    }

    #[test]
    fn hostile_lengths_cost_nothing() {
        // A map claiming 2^64 - 1 entries, an array claiming as many, deep nesting.
        assert_eq!(request_id(&hex("bb ffffffffffffffff 626964 01")), Some(1));
        assert_eq!(
            request_id(&hex("a2 6178 9b ffffffffffffffff 626964 01")),
            None
        );
        let mut deep = hex("a2 6178");
        deep.extend(std::iter::repeat_n(0x81, 10_000));
        deep.push(0x00);
        deep.extend(hex("626964 03"));
        assert_eq!(request_id(&deep), None);
    }
}
