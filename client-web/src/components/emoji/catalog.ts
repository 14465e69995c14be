/**
 * The emoji the picker offers, with names and keywords for search: Emojibase's English data
 * (emojibase-data, MIT), loaded as its own chunk when a picker first opens, cut to what the
 * bundled Twemoji font draws (Emoji 15.0; the font is in assets/emoji.css).
 * `buildCatalog` and `searchEmoji` are pure (unit-tested).
 */
import { lazyEmojiRegExp } from './emoji-pattern';

/** The newest Emoji version the bundled font draws: newer emoji would show as empty boxes. */
export const FONT_EMOJI_VERSION = 15;
/** A reaction is 1–32 bytes of UTF-8 (spec/protocol.md, `msg.react`). */
export const MAX_REACTION_BYTES = 32;

export interface EmojiEntry {
  readonly emoji: string;
  /** The CLDR name, e.g. "grinning face". */
  readonly label: string;
  /** Search keywords. */
  readonly tags: readonly string[];
  readonly group: number;
}

export interface EmojiGroup {
  readonly id: number;
  readonly label: string;
  /** The emoji on the group's tab. */
  readonly icon: string;
}

export interface EmojiCatalog {
  readonly groups: readonly EmojiGroup[];
  readonly emoji: readonly EmojiEntry[];
}

/** Emojibase's groups, in its order; group 2 (skin tone and hair components) is left out. */
export const EMOJI_GROUPS: readonly EmojiGroup[] = [
  { id: 0, label: 'Smileys & emotion', icon: '😀' },
  { id: 1, label: 'People & body', icon: '👋' },
  { id: 3, label: 'Animals & nature', icon: '🐻' },
  { id: 4, label: 'Food & drink', icon: '🍔' },
  { id: 5, label: 'Travel & places', icon: '🚗' },
  { id: 6, label: 'Activities', icon: '⚽' },
  { id: 7, label: 'Objects', icon: '💡' },
  { id: 8, label: 'Symbols', icon: '❤️' },
  { id: 9, label: 'Flags', icon: '🏁' },
];

/** One entry of Emojibase's `data.json`, as far as it is read here. */
interface RawEmoji {
  readonly emoji?: unknown;
  readonly label?: unknown;
  readonly tags?: unknown;
  readonly group?: unknown;
  readonly order?: unknown;
  readonly version?: unknown;
}

/** The catalog from Emojibase's data: entries of a known group, drawn by the font, in Emojibase's order. */
export function buildCatalog(data: readonly RawEmoji[]): EmojiCatalog {
  const known = new Set(EMOJI_GROUPS.map((g) => g.id));
  const rows: { entry: EmojiEntry; order: number }[] = [];
  for (const e of data) {
    if (typeof e.emoji !== 'string' || typeof e.label !== 'string' || typeof e.group !== 'number' || !known.has(e.group)) continue;
    if (typeof e.version !== 'number' || e.version > FONT_EMOJI_VERSION) continue;
    // Keycaps: Chromium draws the font's keycap ligatures as blanks (see assets/emoji.css).
    if (e.emoji.includes('\u20E3')) continue;
    const tags = Array.isArray(e.tags) ? e.tags.filter((t): t is string => typeof t === 'string') : [];
    rows.push({ entry: { emoji: canonicalEmoji(e.emoji), label: e.label, tags, group: e.group }, order: typeof e.order === 'number' ? e.order : Number.MAX_SAFE_INTEGER });
  }
  rows.sort((a, b) => a.order - b.order);
  return { groups: EMOJI_GROUPS, emoji: rows.map((r) => r.entry) };
}

/** A whole string that is one RGI emoji; built on first use (see emoji-pattern.ts). */
const rgiEmoji = lazyEmojiRegExp('', (p) => `^(?:${p})$`);

/**
 * The form people's keyboards and the quick reactions use: the RGI sequence. Emojibase adds
 * U+FE0F to every emoji that also has a text form (`👍` + FE0F), which as a reaction would count
 * apart from a plain `👍`; it is dropped where the sequence is RGI without it.
 */
export function canonicalEmoji(emoji: string): string {
  const bare = emoji.endsWith('\uFE0F') ? emoji.slice(0, -1) : emoji;
  return bare !== emoji && rgiEmoji().test(bare) ? bare : emoji;
}

let loading: Promise<EmojiCatalog> | null = null;

/** The catalog, loaded once (a separate chunk, fetched on first use). */
export function loadCatalog(): Promise<EmojiCatalog> {
  loading ??= import('emojibase-data/en/data.json').then(
    (m) => buildCatalog((m as unknown as { default: readonly RawEmoji[] }).default),
    (e: unknown) => {
      loading = null;
      throw e;
    },
  );
  return loading;
}

/** Fits as a reaction (1–32 bytes). */
export function fitsReaction(emoji: string): boolean {
  const bytes = new TextEncoder().encode(emoji).length;
  return bytes > 0 && bytes <= MAX_REACTION_BYTES;
}

/**
 * Emoji whose name or keywords match every word of `query` (each word a prefix of a word of the
 * name or of a keyword): names that start with the query first, then other name matches, then
 * keyword matches, each in catalog order.
 */
export function searchEmoji(catalog: EmojiCatalog, query: string, limit = 80): EmojiEntry[] {
  const words = query.toLowerCase().split(/[\s,]+/).filter(Boolean);
  if (words.length === 0) return [];
  const whole = words.join(' ');
  const ranked: { entry: EmojiEntry; rank: number; index: number }[] = [];
  catalog.emoji.forEach((entry, index) => {
    const label = entry.label.toLowerCase();
    const labelWords = label.split(/[\s:,-]+/);
    const tags = entry.tags.map((t) => t.toLowerCase());
    let rank = 0;
    for (const w of words) {
      if (labelWords.some((x) => x.startsWith(w))) continue;
      if (tags.some((t) => t.startsWith(w))) {
        rank = 2;
        continue;
      }
      return;
    }
    if (rank === 0 && !label.startsWith(whole)) rank = 1;
    ranked.push({ entry, rank, index });
  });
  ranked.sort((a, b) => a.rank - b.rank || a.index - b.index);
  return ranked.slice(0, limit).map((r) => r.entry);
}
