/**
 * Shown text (spec/protocol.md §2.1): what display names, bios, group names and descriptions,
 * role names and file names may hold. The same rule as `winichat_protocol::text` on the node.
 */

/** Controls, format characters, line/paragraph separators and other default-ignorables. */
const REFUSED = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;
const EMOJI = /\p{Emoji}/u;
const VS16 = '\uFE0F';
const ZWJ = '\u200D';

const isEmoji = (c: string | undefined): boolean => c !== undefined && EMOJI.test(c);
/** An emoji a joiner may stand next to: `Emoji=Yes` and not ASCII (digits, `#`, `*` are). */
const isPictographic = (c: string | undefined): boolean => c !== undefined && (c.codePointAt(0) ?? 0) > 0x7f && isEmoji(c);

/** Whether the character at `at` of `chars` is allowed there. */
function allowedAt(chars: readonly string[], at: number, lines: 'one' | 'many'): boolean {
  const c = chars[at] ?? '';
  if (c === '\n') return lines === 'many';
  if (c === VS16) return isEmoji(chars[at - 1]);
  if (c === ZWJ) {
    const left = chars[at - 1] === VS16 ? chars[at - 2] : chars[at - 1];
    return isPictographic(left) && isPictographic(chars[at + 1]);
  }
  return !REFUSED.test(c);
}

/** The index (in code points) of the first refused character, or null when the text is fine. */
export function refusedCharAt(text: string, lines: 'one' | 'many' = 'one'): number | null {
  const chars = Array.from(text);
  const at = chars.findIndex((_, i) => !allowedAt(chars, i, lines));
  return at < 0 ? null : at;
}

/** `text` without the characters shown text may not hold (emoji sequences stay whole). */
export function withoutRefusedChars(text: string, lines: 'one' | 'many' = 'one'): string {
  const chars = Array.from(text);
  return chars.filter((_, i) => allowedAt(chars, i, lines)).join('');
}
