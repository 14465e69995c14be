/**
 * The pattern of one emoji, built when first used rather than written as a regex literal.
 *
 * `\p{RGI_Emoji}` needs the `v` flag (Chrome 112, Firefox 116, Safari 17), newer than the build
 * target (Safari 16.4, Firefox 115 ESR): there a `v` literal is a SyntaxError while the module
 * loads and the whole app stays blank. So the `v` form is tried at run time, and a browser
 * without it gets an approximation over `u`-flag properties (flags, keycaps, tag sequences,
 * modifiers and ZWJ chains of pictographs) that agrees with RGI on the emoji people type.
 */

/** The exact RGI set, where the browser knows the `v` flag. */
export const RGI_EMOJI_SOURCE = '\\p{RGI_Emoji}';

/**
 * One pictograph of a sequence: one with a skin tone, one that looks like emoji by default (a
 * lone regional indicator does not), or a text-looking one asked to look like emoji.
 */
const PICTOGRAPH =
  '(?:\\p{Emoji_Modifier_Base}\\p{Emoji_Modifier}|(?!\\p{Regional_Indicator})\\p{Emoji_Presentation}|(?!\\p{Emoji_Presentation})\\p{Extended_Pictographic}\\uFE0F)';

/** The `u`-flag approximation of `\p{RGI_Emoji}`, for browsers without the `v` flag. */
export const FALLBACK_EMOJI_SOURCE = [
  // Flags of countries: two regional indicators.
  '\\p{Regional_Indicator}{2}',
  // Keycaps: 1️⃣, #️⃣.
  '[#*0-9]\\uFE0F\\u20E3',
  // Subdivision flags (🏴 then tag characters), then pictographs with skin tones and ZWJ chains.
  `\\u{1F3F4}[\\u{E0020}-\\u{E007E}]+\\u{E007F}`,
  `${PICTOGRAPH}(?:\\u200D${PICTOGRAPH})*`,
].join('|');

/** Builds a RegExp; a parameter so tests can stand in for a browser without the `v` flag. */
export type RegExpMaker = (source: string, flags: string) => RegExp;

const makeRegExp: RegExpMaker = (source, flags) => new RegExp(source, flags);

/**
 * A RegExp matching one emoji, with `flags` added (`y`, `g`…); `wrap` puts anchors around the
 * pattern (`(p) => '^(?:' + p + ')$'`). Uses `\p{RGI_Emoji}` where the `v` flag is known.
 */
export function emojiRegExp(flags = '', wrap: (pattern: string) => string = (p) => p, make: RegExpMaker = makeRegExp): RegExp {
  try {
    return make(wrap(RGI_EMOJI_SOURCE), `v${flags}`);
  } catch {
    return make(wrap(FALLBACK_EMOJI_SOURCE), `u${flags}`);
  }
}

/** A lazily built emoji RegExp: nothing is compiled while the module loads. */
export function lazyEmojiRegExp(flags = '', wrap?: (pattern: string) => string): () => RegExp {
  let built: RegExp | null = null;
  return () => (built ??= emojiRegExp(flags, wrap));
}
