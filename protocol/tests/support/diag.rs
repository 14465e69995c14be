//! CBOR → diagnostic notation (RFC 8949 §8), written from the bytes, independent of the codec.
//!
//! It prints every well-formed item the way the bytes have it, not just the protocol's subset:
//! integers, `h'…'` byte strings, JSON-escaped text strings, arrays, maps, tags `n(…)`, the
//! simple values, floats. Non-shortest heads carry the encoding indicator `_0`…`_3`
//! (`5_0`, `"ab"_0`, `[_1 1]`); indefinite lengths print as `[_ …]`, `{_ …}`, `(_ …)`. Bytes
//! after the first item are printed as a CBOR sequence, `item, item`. Input that is not
//! well-formed CBOR (truncated, reserved encodings, a stray break, text that is not UTF-8) has
//! no diagnostic notation: [`diag`] returns `None`.

use std::fmt::Write as _;

/// The diagnostic notation of the CBOR sequence in `bytes`, or `None` if it is not well-formed.
pub fn diag(bytes: &[u8]) -> Option<String> {
    let mut p = Printer { bytes, pos: 0 };
    let mut out = String::new();
    while p.pos < bytes.len() {
        if !out.is_empty() {
            out.push_str(", ");
        }
        match p.item()? {
            Item::Value(text) => out.push_str(&text),
            Item::Break => return None,
        }
    }
    (!bytes.is_empty()).then_some(out)
}

struct Printer<'a> {
    bytes: &'a [u8],
    pos: usize,
}

enum Item {
    Value(String),
    Break,
}

/// The argument of a head and how it was encoded.
struct Head {
    major: u8,
    info: u8,
    arg: u64,
    /// `Some(n)` when the argument used 2^n bytes but a shorter form would have held it.
    indicator: Option<u8>,
}

impl Printer<'_> {
    fn take(&mut self, n: u64) -> Option<&[u8]> {
        let n = usize::try_from(n).ok()?;
        let end = self.pos.checked_add(n)?;
        let slice = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(slice)
    }

    fn head(&mut self) -> Option<Head> {
        let initial = self.take(1)?[0];
        let (major, info) = (initial >> 5, initial & 0x1f);
        let (arg, indicator) = match info {
            0..=23 => (u64::from(info), None),
            24..=27 => {
                let n = info - 24;
                let arg = self
                    .take(1 << n)?
                    .iter()
                    .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
                let shortest = match arg {
                    0..=23 => None,
                    24..=0xff => Some(0),
                    0x100..=0xffff => Some(1),
                    0x1_0000..=0xffff_ffff => Some(2),
                    _ => Some(3),
                };
                let non_canonical = match shortest {
                    None => true,
                    Some(s) => s < n,
                };
                // For major 7 the argument is a float or simple value, not a length.
                let indicator = (major != 7 && non_canonical).then_some(n);
                (arg, indicator)
            }
            31 => (0, None),
            _ => return None,
        };
        Some(Head {
            major,
            info,
            arg,
            indicator,
        })
    }

    fn item(&mut self) -> Option<Item> {
        let head = self.head()?;
        let ind = |s: &mut String| {
            if let Some(n) = head.indicator {
                let _ = write!(s, "_{n}");
            }
        };
        let indefinite = head.info == 31;
        let text = match head.major {
            0 | 1 if indefinite => return None,
            0 => {
                let mut s = head.arg.to_string();
                ind(&mut s);
                s
            }
            1 => {
                let mut s = (-1i128 - i128::from(head.arg)).to_string();
                ind(&mut s);
                s
            }
            2 | 3 if indefinite => {
                let mut parts = Vec::new();
                loop {
                    match self.item()? {
                        Item::Break => break,
                        Item::Value(v) => parts.push(v),
                    }
                }
                format!("(_ {})", parts.join(", "))
            }
            2 => {
                let data = self.take(head.arg)?;
                let mut s = String::from("h'");
                for b in data {
                    let _ = write!(s, "{b:02x}");
                }
                s.push('\'');
                ind(&mut s);
                s
            }
            3 => {
                let data = self.take(head.arg)?;
                let text = core::str::from_utf8(data).ok()?;
                let mut s = quote(text);
                ind(&mut s);
                s
            }
            4 | 5 => {
                let (open, close) = if head.major == 4 {
                    ('[', ']')
                } else {
                    ('{', '}')
                };
                let mut s = String::from(open);
                if indefinite {
                    s.push_str("_ ");
                } else if let Some(n) = head.indicator {
                    let _ = write!(s, "_{n} ");
                }
                let per_entry = if head.major == 4 { 1 } else { 2 };
                let mut first = true;
                let mut count = 0u64;
                loop {
                    if !indefinite && count == head.arg {
                        break;
                    }
                    let key = match self.item()? {
                        Item::Break if indefinite => break,
                        Item::Break => return None,
                        Item::Value(v) => v,
                    };
                    if !first {
                        s.push_str(", ");
                    }
                    first = false;
                    s.push_str(&key);
                    if per_entry == 2 {
                        let Item::Value(value) = self.item()? else {
                            return None;
                        };
                        s.push_str(": ");
                        s.push_str(&value);
                    }
                    count += 1;
                }
                s.push(close);
                s
            }
            6 => {
                if indefinite {
                    return None;
                }
                let Item::Value(inner) = self.item()? else {
                    return None;
                };
                let mut s = head.arg.to_string();
                ind(&mut s);
                format!("{s}({inner})")
            }
            _ => match head.info {
                20 => "false".to_owned(),
                21 => "true".to_owned(),
                22 => "null".to_owned(),
                23 => "undefined".to_owned(),
                0..=19 => format!("simple({})", head.info),
                24 => format!("simple({})", head.arg),
                25 => float(half_to_f64(head.arg as u16), 1),
                26 => float(f64::from(f32::from_bits(head.arg as u32)), 2),
                27 => float(f64::from_bits(head.arg), 3),
                31 => return Some(Item::Break),
                _ => return None,
            },
        };
        Some(Item::Value(text))
    }
}

/// A text string in JSON escaping (RFC 8949 §8 uses JSON's string syntax).
fn quote(text: &str) -> String {
    let mut s = String::from('"');
    for c in text.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", u32::from(c));
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// A float with its encoding indicator (`_1` half, `_2` single, `_3` double), always shown so
/// the notation pins the bytes.
fn float(value: f64, indicator: u8) -> String {
    let text = if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        format!("{value:?}")
    };
    format!("{text}_{indicator}")
}

fn half_to_f64(bits: u16) -> f64 {
    let exp = i32::from((bits >> 10) & 0x1f);
    let mant = f64::from(bits & 0x3ff);
    let magnitude = match exp {
        0 => mant * 2f64.powi(-24),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (mant + 1024.0) * 2f64.powi(exp - 25),
    };
    if bits & 0x8000 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::diag;

    #[test]
    fn rfc_8949_appendix_a_samples() {
        let cases: &[(&str, &str)] = &[
            ("00", "0"),
            ("17", "23"),
            ("1818", "24"),
            ("1b001fffffffffffff", "9007199254740991"),
            ("20", "-1"),
            ("3903e7", "-1000"),
            ("f90001", "5.960464477539063e-8_1"),
            ("f93e00", "1.5_1"),
            ("fb3ff199999999999a", "1.1_3"),
            ("f4", "false"),
            ("f6", "null"),
            ("f7", "undefined"),
            ("f0", "simple(16)"),
            ("c11a514b67b0", "1(1363896240)"),
            ("4401020304", "h'01020304'"),
            ("6449455446", "\"IETF\""),
            ("62225c", "\"\\\"\\\\\""),
            ("83010203", "[1, 2, 3]"),
            ("a201020304", "{1: 2, 3: 4}"),
            ("a26161016162820203", "{\"a\": 1, \"b\": [2, 3]}"),
            ("9f018202039f0405ffff", "[_ 1, [2, 3], [_ 4, 5]]"),
            ("5f42010243030405ff", "(_ h'0102', h'030405')"),
            ("1805", "5_0"),
            ("780161", "\"a\"_0"),
            ("990001f5", "[_1 true]"),
            ("0102", "1, 2"),
        ];
        for (hex, want) in cases {
            let bytes = hex::decode(hex).expect("hex");
            assert_eq!(diag(&bytes).as_deref(), Some(*want), "{hex}");
        }
        for bad in [
            "",
            "18",
            "62c328",
            "ff",
            "1c",
            "7a000000ff",
            "9b0000000100000000",
        ] {
            let bytes = hex::decode(bad).expect("hex");
            assert_eq!(diag(&bytes), None, "{bad}");
        }
    }
}
