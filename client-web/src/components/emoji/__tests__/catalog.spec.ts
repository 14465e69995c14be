import { describe, expect, it } from 'vitest';

import data from 'emojibase-data/en/data.json';

import { buildCatalog, EMOJI_GROUPS, fitsReaction, FONT_EMOJI_VERSION, searchEmoji } from '../catalog';
import { loadRecent, MAX_RECENT, RECENT_KEY, rememberEmoji, withRecent } from '../recent';

const catalog = buildCatalog(data as unknown as Parameters<typeof buildCatalog>[0]);

describe('emoji catalog', () => {
  it('holds every category, in order, and nothing newer than the font draws', () => {
    expect(catalog.emoji.length).toBeGreaterThan(1800);
    for (const g of EMOJI_GROUPS) expect(catalog.emoji.some((e) => e.group === g.id), g.label).toBe(true);
    expect(catalog.emoji.some((e) => e.group === 2)).toBe(false); // skin tone components
    const newer = (data as unknown as { emoji: string; version: number }[]).filter((e) => e.version > FONT_EMOJI_VERSION).map((e) => e.emoji);
    expect(newer.length).toBeGreaterThan(0);
    expect(catalog.emoji.some((e) => newer.includes(e.emoji))).toBe(false);
    expect(catalog.emoji[0]?.emoji).toBe('😀');
  });

  it('skips malformed entries', () => {
    expect(buildCatalog([{ emoji: 1 }, { emoji: '😀', label: 'x', group: 'a' }, { emoji: '😀', label: 'x', group: 0 }, { emoji: '😀', label: 'grin', group: 0, version: 1, tags: ['a', 3] }]).emoji).toEqual([
      { emoji: '😀', label: 'grin', tags: ['a'], group: 0 },
    ]);
  });

  it('finds emoji by name and by keyword, names first', () => {
    expect(searchEmoji(catalog, 'thumbs up')[0]?.emoji).toBe('👍');
    expect(searchEmoji(catalog, 'octopus').map((e) => e.emoji)).toContain('🐙');
    expect(searchEmoji(catalog, 'PIZZA')[0]?.emoji).toBe('🍕');
    expect(searchEmoji(catalog, 'crab').map((e) => e.emoji)).toContain('🦀');
    expect(searchEmoji(catalog, 'flag fr').map((e) => e.emoji)).toContain('🇫🇷');
    expect(searchEmoji(catalog, 'zzzzqx')).toEqual([]);
    expect(searchEmoji(catalog, '   ')).toEqual([]);
    expect(searchEmoji(catalog, 'face', 5)).toHaveLength(5);
  });

  it('gives emoji in the form keyboards type them (as reactions they must match)', () => {
    const thumbs = catalog.emoji.find((e) => e.label === 'thumbs up');
    expect(thumbs?.emoji).toBe('👍');
    expect(catalog.emoji.find((e) => e.label === 'red heart')?.emoji).toBe('❤️');
    expect(catalog.emoji.some((e) => e.emoji.includes('\u20E3'))).toBe(false); // keycaps: drawn blank by Chromium
    expect(catalog.emoji.every((e) => /^\p{RGI_Emoji}$/v.test(e.emoji))).toBe(true);
  });

  it('knows which emoji fit a reaction (1–32 bytes)', () => {
    expect(fitsReaction('👍')).toBe(true);
    expect(fitsReaction('👨‍👩‍👧‍👦')).toBe(true);
    expect(fitsReaction('')).toBe(false);
    expect(fitsReaction('🧑🏻‍❤️‍💋‍🧑🏼')).toBe(false); // 35 bytes
  });
});

describe('recent emoji', () => {
  it('moves the newest to the front, once, and keeps a bounded list', () => {
    expect(withRecent(['a', 'b', 'c'], 'c')).toEqual(['c', 'a', 'b']);
    const many = Array.from({ length: MAX_RECENT + 5 }, (_, i) => `${i}`);
    expect(withRecent(many, 'x')).toHaveLength(MAX_RECENT);
  });

  it('survives broken or missing storage', () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    expect(rememberEmoji('🐙', storage)).toEqual(['🐙']);
    expect(rememberEmoji('🦀', storage)).toEqual(['🦀', '🐙']);
    expect(loadRecent(storage)).toEqual(['🦀', '🐙']);
    store.set(RECENT_KEY, '{not json');
    expect(loadRecent(storage)).toEqual([]);
    store.set(RECENT_KEY, JSON.stringify([1, '🐙', null, 'x'.repeat(100)]));
    expect(loadRecent(storage)).toEqual(['🐙']);
    const full = { getItem: () => null, setItem: () => { throw new Error('QuotaExceededError'); } };
    expect(rememberEmoji('🐙', full)).toEqual(['🐙']);
    expect(loadRecent(null)).toEqual([]);
  });
});
