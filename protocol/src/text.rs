//! Text a person shows to others: which characters names and bios may hold.
//!
//! A name is read by people deciding whom to trust, so it must look like what it is. Controls,
//! format characters (bidirectional overrides and isolates, zero-width spaces and joiners, the
//! BOM, tags …) and the other default-ignorable code points are invisible or reorder what is
//! around them: `\u{202E}SYSTEM` shows as `METSYS`, `ad\u{200B}min` looks like `admin`. Two
//! exceptions keep emoji whole: U+FE0F (emoji presentation) right after an emoji character,
//! and U+200D (zero-width joiner) between two emoji (👨‍👩‍👧, 🏳️‍🌈). The rule is
//! protocol.md §2.1; [`check_shown_text`] is its one implementation, used for display names,
//! bios, group names and descriptions, role names and file names.

use thiserror::Error;
use unicode_properties::{GeneralCategory, UnicodeEmoji, UnicodeGeneralCategory};

#[cfg(test)]
mod tests;

/// Where shown text goes: one line (names) or several (bios, descriptions: `\n` allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// A name: no line break of any kind.
    One,
    /// A bio or a description: `\n` (and only `\n`) breaks lines.
    Many,
}

/// A character shown text may not hold, and where it is (a character index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("it has an invisible, control or direction-changing character (U+{:04X} at position {at})", u32::from(*.ch))]
pub struct RefusedChar {
    /// The character.
    pub ch: char,
    /// Its index in characters (Unicode scalar values), from 0.
    pub at: usize,
}

/// Checks every character of `text` against the shown-text rule (protocol.md §2.1); lengths
/// are the caller's. Refused: controls (general category Cc; `\n` allowed with
/// [`Lines::Many`]), format characters (Cf), line and paragraph separators (Zl, Zp) and the
/// other `Default_Ignorable_Code_Point`s — except U+FE0F right after a character with
/// `Emoji=Yes`, and U+200D between two non-ASCII `Emoji=Yes` characters (the one before may
/// carry its U+FE0F).
pub fn check_shown_text(text: &str, lines: Lines) -> Result<(), RefusedChar> {
    let chars: Vec<char> = text.chars().collect();
    for (at, &ch) in chars.iter().enumerate() {
        let before = |n: usize| at.checked_sub(n).and_then(|i| chars.get(i)).copied();
        let allowed = match ch {
            '\n' => lines == Lines::Many,
            VS16 => before(1).is_some_and(|c| c.is_emoji_char()),
            ZWJ => {
                let left = match before(1) {
                    Some(VS16) => before(2),
                    other => other,
                };
                left.is_some_and(is_pictographic)
                    && chars.get(at + 1).copied().is_some_and(is_pictographic)
            }
            _ => !refused(ch),
        };
        if !allowed {
            return Err(RefusedChar { ch, at });
        }
    }
    Ok(())
}

/// U+FE0F VARIATION SELECTOR-16: show the character before as an emoji.
const VS16: char = '\u{FE0F}';
/// U+200D ZERO WIDTH JOINER.
const ZWJ: char = '\u{200D}';

/// An emoji a joiner may stand next to: `Emoji=Yes` and not ASCII (digits, `#` and `*` have
/// `Emoji=Yes` for keycaps, but a joiner between them would hide in plain text).
fn is_pictographic(c: char) -> bool {
    !c.is_ascii() && c.is_emoji_char()
}

/// Refused anywhere: Cc, Cf, Zl, Zp and `Default_Ignorable_Code_Point`.
fn refused(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    ) || default_ignorable(c)
}

/// `Default_Ignorable_Code_Point` (Unicode DerivedCoreProperties.txt, stable since 6.x): code
/// points that render as nothing when a font has no glyph for them. Most are Cf; the rest
/// (the combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian free
/// variation selectors, variation selectors, reserved ranges) are listed so that no
/// invisible character passes for being in another category.
fn default_ignorable(c: char) -> bool {
    const RANGES: &[(u32, u32)] = &[
        (0x00AD, 0x00AD),
        (0x034F, 0x034F),
        (0x061C, 0x061C),
        (0x115F, 0x1160),
        (0x17B4, 0x17B5),
        (0x180B, 0x180F),
        (0x200B, 0x200F),
        (0x202A, 0x202E),
        (0x2060, 0x206F),
        (0x3164, 0x3164),
        (0xFE00, 0xFE0F),
        (0xFEFF, 0xFEFF),
        (0xFFA0, 0xFFA0),
        (0xFFF0, 0xFFF8),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0000, 0xE0FFF),
    ];
    let n = u32::from(c);
    RANGES.iter().any(|&(lo, hi)| (lo..=hi).contains(&n))
}
